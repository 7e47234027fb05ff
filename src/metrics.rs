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
        write!(f, "wall seconds:     {:.3}", self.seconds)
    }
}
