//! Figures about one computation ([`Metrics`]): what every executor reports, and what the
//! file conversions of `crate::io` report too.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use crate::units::format_bytes;

/// Figures about one computation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Tasks run (not counting recomputations).
    pub tasks: u64,
    /// Bytes of chunks read from stores (decoded), re-reads included.
    pub bytes_read: u64,
    /// Bytes of output blocks handed to the sink.
    pub bytes_output: u64,
    /// Peak bytes of task outputs held in memory at once.
    pub peak_held_bytes: u64,
    /// Peak bytes reserved at once: held outputs plus the output, scratch and read-back
    /// reservations of running tasks. Never above `memory_limit`.
    pub peak_reserved_bytes: u64,
    /// The peak predicted before running (sequential priority order, nothing spilled).
    pub predicted_peak_bytes: u64,
    /// The memory limit in force.
    pub memory_limit: u64,
    /// Bytes of intermediates written to the spill store.
    pub bytes_spilled: u64,
    /// Blocks written to the spill store.
    pub blocks_spilled: u64,
    /// Bytes read back from the spill store.
    pub bytes_read_back: u64,
    /// Blocks dropped under memory pressure to be re-read or recomputed.
    pub blocks_dropped: u64,
    /// Blocks recomputed (or source chunks re-read) after being dropped.
    pub blocks_recomputed: u64,
    /// Seconds spent per kind of operation, summed over workers: `read`, `map`, `reduce`,
    /// `combine`, `write` (the sink), `spill`, `read back`, `recompute`.
    pub op_seconds: BTreeMap<&'static str, f64>,
    /// Wall-clock seconds of execution (excluding planning).
    pub seconds: f64,
    /// Inputs fetched from another worker of a cluster ([`crate::Scheduler::Cluster`]).
    pub transfers: u64,
    /// Bytes of those inputs.
    pub bytes_transferred: u64,
}

/// What memory is reserved for, as the executor names it in refusal messages
/// ([`crate::Error::ResourcesExhausted`]), in [`MemoryUse`] and on the dashboard.
///
/// The consumers are disjoint: their bytes add up to what a run has in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Consumer {
    /// Finished tasks' outputs kept in memory for the tasks that still use them.
    Outputs,
    /// Outputs being written to the spill store (freed when the write ends).
    Spilling,
    /// Running tasks: each one's output and scratch.
    Tasks,
    /// Inputs of running tasks brought back first: read from the spill store, recomputed,
    /// or fetched from another worker of a cluster.
    Inputs,
    /// The task graph, its schedule and the executor's table of every task's state, held
    /// for the whole run (tens of bytes per task: a graph of 10^7 tasks holds about half a
    /// GiB).
    Plan,
}

impl Consumer {
    /// Every consumer, in the order [`MemoryUse`] lists them.
    pub const ALL: [Consumer; 5] = [
        Consumer::Outputs,
        Consumer::Spilling,
        Consumer::Tasks,
        Consumer::Inputs,
        Consumer::Plan,
    ];

    /// The consumer's name in messages and on the dashboard.
    pub fn name(self) -> &'static str {
        match self {
            Consumer::Outputs => "outputs kept for their users",
            Consumer::Spilling => "outputs being spilled",
            Consumer::Tasks => "running tasks",
            Consumer::Inputs => "inputs brought back",
            Consumer::Plan => "the task graph",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Bytes in use at one moment, by [`Consumer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryUse {
    bytes: [u64; Consumer::ALL.len()],
}

impl MemoryUse {
    /// Bytes reserved for `consumer`.
    pub fn get(&self, consumer: Consumer) -> u64 {
        self.bytes[consumer.index()]
    }

    /// Sets the bytes of `consumer`.
    pub fn set(&mut self, consumer: Consumer, bytes: u64) {
        self.bytes[consumer.index()] = bytes;
    }

    /// Bytes in use by every consumer together.
    pub fn total(&self) -> u64 {
        self.bytes.iter().sum()
    }

    /// Bytes of finished tasks' outputs in memory ([`Consumer::Outputs`] and
    /// [`Consumer::Spilling`]).
    pub fn held(&self) -> u64 {
        self.get(Consumer::Outputs) + self.get(Consumer::Spilling)
    }

    /// The sum of two figures (the workers of a cluster together).
    pub fn plus(&self, other: &MemoryUse) -> MemoryUse {
        let mut sum = *self;
        for (a, b) in sum.bytes.iter_mut().zip(other.bytes) {
            *a += b;
        }
        sum
    }
}

/// `running tasks 4.00 MiB, outputs kept for their users 12.0 MiB` (consumers with bytes
/// only, largest first; `nothing` when none has any).
impl fmt::Display for MemoryUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut by: Vec<(Consumer, u64)> = Consumer::ALL
            .iter()
            .map(|&c| (c, self.get(c)))
            .filter(|&(_, b)| b > 0)
            .collect();
        if by.is_empty() {
            return f.write_str("nothing");
        }
        by.sort_by_key(|&(_, b)| std::cmp::Reverse(b));
        for (i, (c, b)) in by.into_iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{} {}", c.name(), format_bytes(b))?;
        }
        Ok(())
    }
}

impl Metrics {
    /// The figures of this run followed by `next` (counts add up, peaks take the maximum).
    pub fn then(&self, next: &Metrics) -> Metrics {
        let mut m = self.clone();
        m.absorb(next);
        m.peak_held_bytes = self.peak_held_bytes.max(next.peak_held_bytes);
        m.peak_reserved_bytes = self.peak_reserved_bytes.max(next.peak_reserved_bytes);
        m.predicted_peak_bytes = self.predicted_peak_bytes.max(next.predicted_peak_bytes);
        m.memory_limit = self.memory_limit.max(next.memory_limit);
        m.seconds = self.seconds + next.seconds;
        m
    }

    /// Adds `other`'s counts and operation times to these.
    pub(crate) fn absorb(&mut self, other: &Metrics) {
        self.tasks += other.tasks;
        self.bytes_read += other.bytes_read;
        self.bytes_output += other.bytes_output;
        self.bytes_spilled += other.bytes_spilled;
        self.blocks_spilled += other.blocks_spilled;
        self.bytes_read_back += other.bytes_read_back;
        self.blocks_dropped += other.blocks_dropped;
        self.blocks_recomputed += other.blocks_recomputed;
        self.transfers += other.transfers;
        self.bytes_transferred += other.bytes_transferred;
        for (k, v) in &other.op_seconds {
            *self.op_seconds.entry(k).or_default() += v;
        }
    }

    /// Why a run whose predicted peak was above its memory limit went ahead, and what that
    /// cost; `None` when the prediction fit. The prediction assumes nothing is spilled: a
    /// run is refused only when a task cannot fit on its own, and otherwise stays within the
    /// limit by spilling, dropping and recomputing blocks ([`Metrics::peak_reserved_bytes`]
    /// never exceeds the limit). `brickwork --stats` prints it as `over_limit`.
    pub fn over_limit(&self) -> Option<String> {
        if self.memory_limit == 0 || self.predicted_peak_bytes <= self.memory_limit {
            return None;
        }
        Some(format!(
            "the predicted peak {} (nothing spilled) is above the {} limit, and every task fits \
             on its own: the run kept within the limit (peak reserved {}) by spilling {} in {} \
             block(s) ({} read back) and dropping {} block(s) ({} recomputed or re-read)",
            format_bytes(self.predicted_peak_bytes),
            format_bytes(self.memory_limit),
            format_bytes(self.peak_reserved_bytes),
            format_bytes(self.bytes_spilled),
            self.blocks_spilled,
            format_bytes(self.bytes_read_back),
            self.blocks_dropped,
            self.blocks_recomputed
        ))
    }

    /// The figures as JSON, keyed as `brickwork --stats` prints them (`bytes_written` for
    /// [`Metrics::bytes_output`], `spilled_bytes`, `execute_seconds` for
    /// [`Metrics::seconds`], ...).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "tasks": self.tasks,
            "bytes_read": self.bytes_read,
            "bytes_written": self.bytes_output,
            "peak_reserved_bytes": self.peak_reserved_bytes,
            "peak_held_bytes": self.peak_held_bytes,
            "predicted_peak_bytes": self.predicted_peak_bytes,
            "memory_limit": self.memory_limit,
            "spilled_bytes": self.bytes_spilled,
            "spilled_blocks": self.blocks_spilled,
            "read_back_bytes": self.bytes_read_back,
            "dropped_blocks": self.blocks_dropped,
            "recomputed_blocks": self.blocks_recomputed,
            "op_seconds": self.op_seconds,
            "execute_seconds": self.seconds,
            "transfers": self.transfers,
            "transferred_bytes": self.bytes_transferred,
            "over_limit": self.over_limit(),
        })
    }

    pub(crate) fn time(&mut self, op: &'static str, since: Instant) {
        *self.op_seconds.entry(op).or_default() += since.elapsed().as_secs_f64();
    }
}

impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "tasks:            {}", self.tasks)?;
        writeln!(f, "read from stores: {}", format_bytes(self.bytes_read))?;
        writeln!(f, "output:           {}", format_bytes(self.bytes_output))?;
        writeln!(
            f,
            "memory:           peak reserved {} (held {}), predicted {}, limit {}",
            format_bytes(self.peak_reserved_bytes),
            format_bytes(self.peak_held_bytes),
            format_bytes(self.predicted_peak_bytes),
            format_bytes(self.memory_limit)
        )?;
        writeln!(
            f,
            "spill:            {} in {} block(s) written, {} read back; {} block(s) dropped, {} recomputed",
            format_bytes(self.bytes_spilled),
            self.blocks_spilled,
            format_bytes(self.bytes_read_back),
            self.blocks_dropped,
            self.blocks_recomputed
        )?;
        if self.transfers > 0 {
            writeln!(
                f,
                "transfers:        {} in {} input(s) fetched from other workers",
                format_bytes(self.bytes_transferred),
                self.transfers
            )?;
        }
        let ops: Vec<String> = self
            .op_seconds
            .iter()
            .map(|(k, v)| format!("{k} {v:.3}"))
            .collect();
        writeln!(f, "seconds by op:    {}", ops.join(", "))?;
        if let Some(why) = self.over_limit() {
            writeln!(f, "over the limit:   {why}")?;
        }
        write!(f, "wall seconds:     {:.3}", self.seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_use_names_its_consumers_largest_first() {
        let mut u = MemoryUse::default();
        assert_eq!(u.to_string(), "nothing");
        u.set(Consumer::Tasks, 4 << 20);
        u.set(Consumer::Outputs, 12 << 20);
        assert_eq!(
            u.to_string(),
            "outputs kept for their users 12.00 MiB, running tasks 4.00 MiB"
        );
        assert_eq!((u.total(), u.held()), (16 << 20, 12 << 20));
    }
}
