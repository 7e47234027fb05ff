//! Residency: which task outputs are resident, what is reserved, and what to evict.
//!
//! Every byte the engine holds for a block is a [`MemoryReservation`] of a named consumer
//! (see `super::memory`): *held* by a task output waiting for its users (or being spilled),
//! or *reserved* for the output, scratch and brought-back inputs of a running task. The
//! reservations live in the slots and admissions that own the bytes, so emptying a slot or
//! dropping an admission gives them back. A task is admitted only when its reservation fits
//! under the limit. When it does not, resident
//! outputs are evicted in least-recently-used order (crate `lru`), those that leave without
//! a write before those that must be spilled, skipping those a running task uses (they are
//! *pinned* until it finishes) and the admitted task's own inputs:
//!
//! - a value already in the spill store (read back earlier) is simply dropped;
//! - a *recomputable* value is dropped and recomputed when a user needs it: a task with no
//!   task inputs (a source chunk, a generator block, a fused elementwise chain over source
//!   chunks read inline: what its stage kind's [`Recompute`] allows) whose source reads are
//!   at most twice its output. Spilling costs a write and a read of the output's bytes;
//!   recomputing costs its source reads and a pass of arithmetic, which here (≥ 1 GB/s per
//!   core for fused chains) is cheaper than the disk;
//! - anything else (reduction partials, blocks of stages with task inputs) is written to the
//!   spill store and read back when a user needs it.
//!
//! Spills run outside the scheduler's lock: the victim stays counted as held until its file
//! is written, and tasks that need it wait. A task whose inputs were spilled or dropped
//! reserves their bytes too and brings them back itself before it runs.

use std::sync::Arc;

use lru::LruCache;

use super::eval;
use super::memory::{MemoryPool, MemoryReservation};
use super::spill::{self, SpillFile};
use super::task::exhausted;
use crate::error::{Error, Result};
use crate::kernel::Datum;
use crate::metrics::{Consumer, MemoryUse, Metrics};
use crate::plan::Plan;
use crate::plan::stage::Recompute;
use crate::schedule::{TaskGraph, TaskId};

/// Where a task's output is.
enum Slot {
    /// Not computed yet, or released after its last use.
    Empty,
    /// In memory; `file` is a copy in the spill store, if it was read back from there.
    Resident {
        value: Arc<Datum>,
        file: Option<SpillFile>,
        mem: MemoryReservation,
    },
    /// In memory and being written to the spill store.
    Spilling(Arc<Datum>, MemoryReservation),
    /// In the spill store only.
    Spilled(SpillFile),
    /// Dropped: recomputed from its sources when needed.
    Dropped,
    /// Being read back or recomputed by the task that needs it.
    Loading,
    /// Held by another worker of a cluster (see `super::cluster`): fetched from there.
    Remote,
    /// A source chunk not read here yet: every MPI rank reads the chunks its tasks use
    /// itself (see `super::mpi`).
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    Unread,
}

/// Where another worker's task output is, for a worker about to fetch it.
pub(super) enum Held {
    /// In memory (possibly being spilled): the value.
    Datum(Arc<Datum>),
    /// In that worker's spill store.
    File,
    /// Dropped; recomputed from its sources by whoever needs it.
    Dropped,
    /// Being brought back by that worker: ask again later.
    Busy,
    /// Not there (a bug: it was released before all its users ran).
    Gone,
}

/// An input a task must bring back before it runs.
pub(super) enum Missing {
    /// Read it from the spill store.
    Spilled(SpillFile),
    /// Run its task again.
    Recompute,
    /// Held by another worker of a cluster; resolved to `Fetched`, `Recompute` or read
    /// from that worker's spill store before the task runs (see `super::cluster`).
    Remote,
    /// Fetched from another worker.
    Fetched(Arc<Datum>),
    /// Read from its store for the first time here ([`Slot::Unread`]).
    Read,
}

/// A task admitted to run, with its inputs and its reservations (given back when the
/// admission is dropped: after the task finished or failed).
pub(super) struct Admission {
    /// The task.
    pub(super) task: TaskId,
    /// Inputs in memory.
    pub(super) resident: Vec<(TaskId, Arc<Datum>)>,
    /// Inputs to bring back first.
    pub(super) missing: Vec<(TaskId, Missing)>,
    /// The task's output and scratch ([`Consumer::Tasks`]).
    _task: MemoryReservation,
    /// The missing inputs, and the scratch of recomputing one ([`Consumer::Inputs`]).
    _inputs: MemoryReservation,
}

/// What the scheduler should do about a task.
pub(super) enum Decision {
    /// Run it.
    Run(Admission),
    /// Write these values to the spill store (see [`Residency::spilled`]), then ask again.
    Spill(Vec<(TaskId, Arc<Datum>)>),
    /// Wait for a running task or a spill to finish, then ask again.
    Wait,
}

/// An input brought back by [`Residency::bring_back`].
pub(super) struct Restored {
    task: TaskId,
    value: Arc<Datum>,
    file: Option<SpillFile>,
}

/// The share of the limit (numerator, denominator) that fetches running ahead of the
/// computing tasks may fill ([`Residency::try_admit_ahead`]).
pub(super) const AHEAD_SHARE: (u64, u64) = (3, 4);

/// Residency and reservations of one computation.
pub(super) struct Residency<'a> {
    plan: &'a Plan,
    graph: &'a TaskGraph,
    need: &'a [u64],
    output: &'a [u64],
    limit: u64,
    slots: Vec<Slot>,
    users_left: Vec<u32>,
    /// Running tasks using each value (pinned values are never evicted).
    pins: Vec<u32>,
    lru: LruCache<TaskId, ()>,
    memory: Arc<MemoryPool>,
    /// What the run holds from start to end (the graph, the schedule, this residency's tables).
    _plan: MemoryReservation,
    /// Tasks running (admitted and not finished).
    pub(super) running: usize,
    /// Figures so far.
    pub(super) metrics: Metrics,
}

/// The residency's own state per task: its slot, users left and pins.
pub(super) const TASK_STATE_BYTES: u64 = (size_of::<Slot>() + 2 * size_of::<u32>()) as u64;

impl<'a> Residency<'a> {
    /// A residency for running `graph` under `limit`, `plan_bytes` of which the run holds from
    /// start to end (see [`super::run_state_bytes`]).
    pub(super) fn new(
        plan: &'a Plan,
        graph: &'a TaskGraph,
        need: &'a [u64],
        output: &'a [u64],
        limit: u64,
        plan_bytes: u64,
    ) -> Self {
        let users = (0..graph.len() as TaskId)
            .map(|t| graph.users(t).len() as u32)
            .collect();
        Self::with_users(plan, graph, need, output, limit, plan_bytes, users)
    }

    /// A residency in which task `t`'s output is kept until `users[t]` of its users have
    /// finished (a cluster worker's residency counts the users it runs, and for outputs it
    /// computed, all of them).
    pub(super) fn with_users(
        plan: &'a Plan,
        graph: &'a TaskGraph,
        need: &'a [u64],
        output: &'a [u64],
        limit: u64,
        plan_bytes: u64,
        users: Vec<u32>,
    ) -> Self {
        let memory = MemoryPool::new();
        Residency {
            _plan: memory.reserve(Consumer::Plan, plan_bytes),
            plan,
            graph,
            need,
            output,
            limit,
            slots: (0..graph.len()).map(|_| Slot::Empty).collect(),
            users_left: users,
            pins: vec![0; graph.len()],
            lru: LruCache::unbounded(),
            memory,
            running: 0,
            metrics: Metrics::default(),
        }
    }

    /// Bytes in use now, by consumer.
    pub(super) fn usage(&self) -> MemoryUse {
        self.memory.usage()
    }

    /// Bytes held and reserved now.
    pub(super) fn in_use(&self) -> u64 {
        self.memory.in_use()
    }

    /// Decides whether task `t` can run now, evicting resident values to make room.
    ///
    /// # Errors
    /// [`Error::ResourcesExhausted`] when `t` cannot fit even with everything evictable
    /// evicted and nothing else running; an internal error if an input was never computed.
    pub(super) fn try_admit(&mut self, t: TaskId) -> Result<Decision> {
        let deps = self.graph.deps(t);
        // Missing inputs come back one at a time: their outputs add up, the scratch of a
        // recomputation is needed for one at a time.
        let (mut extra, mut scratch) = (0, 0);
        for &d in deps {
            match &self.slots[d as usize] {
                Slot::Resident { .. } => {}
                Slot::Spilling(..) | Slot::Loading => return Ok(Decision::Wait),
                Slot::Spilled(_) | Slot::Remote => extra += self.output[d as usize],
                Slot::Dropped | Slot::Unread => {
                    extra += self.output[d as usize];
                    scratch = scratch.max(self.need[d as usize] - self.output[d as usize]);
                }
                Slot::Empty => {
                    return Err(Error::internal(format!(
                        "task {t} ran before its input {d}"
                    )));
                }
            }
        }
        let total = self.need[t as usize] + extra + scratch;
        let in_use = self.in_use() + total;
        if in_use > self.limit {
            let shortfall = in_use - self.limit;
            let spilling = self.usage().get(Consumer::Spilling);
            if shortfall > spilling {
                let Some(victims) = self.victims(t, shortfall - spilling) else {
                    if self.running == 0 && spilling == 0 {
                        return Err(exhausted(
                            self.plan,
                            self.graph,
                            t,
                            total,
                            self.usage(),
                            self.limit,
                        ));
                    }
                    return Ok(Decision::Wait);
                };
                let mut writes = Vec::new();
                for v in victims {
                    self.evict(v, &mut writes);
                }
                if !writes.is_empty() {
                    return Ok(Decision::Spill(writes));
                }
            }
            if self.in_use() + total > self.limit {
                // Spills in flight will make the room.
                return Ok(Decision::Wait);
            }
        }
        Ok(Decision::Run(self.admit(t, extra + scratch)))
    }

    /// Admits `t`, a task that fetches source chunks ahead of the computing tasks, only when
    /// its reservation fits as things are within [`AHEAD_SHARE`] of the limit: it evicts
    /// nothing, so fetching ahead never pushes out what computing tasks are about to use,
    /// and leaves them room for their outputs.
    pub(super) fn try_admit_ahead(&mut self, t: TaskId) -> Result<Decision> {
        if !self.graph.deps(t).is_empty() {
            return self.try_admit(t);
        }
        let cap = self.limit / AHEAD_SHARE.1 * AHEAD_SHARE.0;
        if self.in_use() + self.need[t as usize] > cap {
            return Ok(Decision::Wait);
        }
        Ok(Decision::Run(self.admit(t, 0)))
    }

    /// Resident values, not in use and not inputs of `t`, whose bytes add up to at least
    /// `bytes`; `None` if there are not enough. Values that leave without a write (in the
    /// spill store already, or recomputable) go first, least recently used first; values
    /// that must be spilled only when those are not enough. A source chunk used by many
    /// tasks (the right operand of `x @ y`, memory-mapped) is re-mapped in no time, while
    /// spilling a product partial writes and reads back its bytes.
    fn victims(&self, t: TaskId, bytes: u64) -> Option<Vec<TaskId>> {
        let deps = self.graph.deps(t);
        let mut chosen = Vec::new();
        let mut freed = 0;
        for without_write in [true, false] {
            for (&v, ()) in self.lru.iter().rev() {
                if freed >= bytes {
                    return Some(chosen);
                }
                let Slot::Resident { value, file, .. } = &self.slots[v as usize] else {
                    continue;
                };
                if self.pins[v as usize] > 0 || deps.contains(&v) {
                    continue;
                }
                if (file.is_some() || self.recomputable(v)) != without_write {
                    continue;
                }
                freed += value.nbytes() as u64;
                chosen.push(v);
            }
        }
        (freed >= bytes).then_some(chosen)
    }

    /// Evicts resident value `v`: drops it when it is on disk already or recomputable,
    /// otherwise marks it as spilling and adds it to `writes`.
    fn evict(&mut self, v: TaskId, writes: &mut Vec<(TaskId, Arc<Datum>)>) {
        self.lru.pop(&v);
        let slot = std::mem::replace(&mut self.slots[v as usize], Slot::Empty);
        let Slot::Resident { value, file, mem } = slot else {
            self.slots[v as usize] = slot;
            return;
        };
        self.slots[v as usize] = match file {
            Some(f) => Slot::Spilled(f),
            None if self.recomputable(v) => {
                self.metrics.blocks_dropped += 1;
                Slot::Dropped
            }
            None => {
                writes.push((v, value.clone()));
                Slot::Spilling(value, mem.into_consumer(Consumer::Spilling))
            }
        };
    }

    /// Whether dropping `v` and running it again is cheaper than spilling it (see the
    /// module doc).
    fn recomputable(&self, v: TaskId) -> bool {
        if !self.graph.deps(v).is_empty() {
            return false;
        }
        let stage = self.graph.stage[v as usize] as usize;
        let st = &self.plan.stages[stage];
        let reads = match st.op.recompute() {
            Recompute::Reread => return true,
            Recompute::FromSources => self
                .plan
                .stage_inline_read_bytes(stage, &self.graph.block_index(self.plan, v)),
            Recompute::Never => return false,
        };
        reads <= 2 * self.output[v as usize]
    }

    /// Admits `t`, reserving its output and scratch and `inputs` bytes for the inputs it
    /// brings back.
    fn admit(&mut self, t: TaskId, inputs: u64) -> Admission {
        let mut resident = Vec::new();
        let mut missing = Vec::new();
        for &d in self.graph.deps(t) {
            self.pins[d as usize] += 1;
            let slot = &mut self.slots[d as usize];
            match std::mem::replace(slot, Slot::Loading) {
                resident_slot @ Slot::Resident { .. } => {
                    if let Slot::Resident { value, .. } = &resident_slot {
                        resident.push((d, value.clone()));
                    }
                    *slot = resident_slot;
                    self.lru.promote(&d);
                }
                Slot::Spilled(f) => missing.push((d, Missing::Spilled(f))),
                Slot::Dropped => missing.push((d, Missing::Recompute)),
                Slot::Remote => missing.push((d, Missing::Remote)),
                Slot::Unread => missing.push((d, Missing::Read)),
                other => *slot = other,
            }
        }
        let task = self.memory.reserve(Consumer::Tasks, self.need[t as usize]);
        let inputs = self.memory.reserve(Consumer::Inputs, inputs);
        self.running += 1;
        self.metrics.peak_reserved_bytes = self.metrics.peak_reserved_bytes.max(self.in_use());
        Admission {
            task: t,
            resident,
            missing,
            _task: task,
            _inputs: inputs,
        }
    }

    /// Records that `v` was written to the spill store (or that writing it failed).
    pub(super) fn spilled(&mut self, v: TaskId, file: Result<SpillFile>) -> Result<()> {
        let slot = std::mem::replace(&mut self.slots[v as usize], Slot::Empty);
        let Slot::Spilling(value, mem) = slot else {
            let state = match slot {
                Slot::Empty => "empty",
                Slot::Resident { .. } => "resident",
                Slot::Spilled(_) => "spilled",
                Slot::Dropped => "dropped",
                Slot::Loading => "loading",
                Slot::Spilling(..) => "spilling",
                Slot::Remote => "remote",
                Slot::Unread => "unread",
            };
            return Err(Error::internal(format!(
                "task {v} was not being spilled but {state}"
            )));
        };
        match file {
            Ok(f) => {
                self.metrics.bytes_spilled += mem.bytes();
                self.metrics.blocks_spilled += 1;
                self.slots[v as usize] = Slot::Spilled(f);
                Ok(())
            }
            Err(e) => {
                self.slots[v as usize] = Slot::Resident {
                    value,
                    file: None,
                    mem: mem.into_consumer(Consumer::Outputs),
                };
                self.lru.put(v, ());
                Err(e)
            }
        }
    }

    /// Records a batch of spill writes (see [`Residency::spilled`]); returns the first failure
    /// after recording them all.
    pub(super) fn spills_written(&mut self, files: Vec<(TaskId, Result<SpillFile>)>) -> Result<()> {
        let mut first = Ok(());
        for (v, file) in files {
            if let Err(e) = self.spilled(v, file) {
                first = first.and(Err(e));
            }
        }
        first
    }

    /// Records that `adm`'s task finished with `value` (None for output blocks sent to the
    /// sink) after bringing back `restored`, and releases inputs whose last user it was.
    /// The admission's reservations are given back; what stays in memory (`value`, the
    /// inputs brought back) is reserved as outputs kept for their users.
    pub(super) fn finish(&mut self, adm: Admission, restored: Vec<Restored>, value: Option<Datum>) {
        let t = adm.task;
        drop(adm);
        self.running -= 1;
        for r in restored {
            self.keep(r.task, r.value, r.file);
        }
        self.metrics.tasks += 1;
        if let Some(v) = value {
            self.keep(t, Arc::new(v), None);
        }
        self.metrics.peak_held_bytes = self.metrics.peak_held_bytes.max(self.usage().held());
        for &d in self.graph.deps(t) {
            self.pins[d as usize] -= 1;
            let left = &mut self.users_left[d as usize];
            *left -= 1;
            if *left == 0 {
                if matches!(self.slots[d as usize], Slot::Resident { .. }) {
                    self.slots[d as usize] = Slot::Empty;
                }
                self.lru.pop(&d);
            }
        }
    }

    /// Keeps `value`, task `t`'s output, in memory for its users.
    fn keep(&mut self, t: TaskId, value: Arc<Datum>, file: Option<SpillFile>) {
        let mem = self
            .memory
            .reserve(Consumer::Outputs, value.nbytes() as u64);
        self.slots[t as usize] = Slot::Resident { value, file, mem };
        self.lru.put(t, ());
    }

    /// True when `d` is not here and must come from another worker: never computed here
    /// nor fetched, or fetched and released since.
    pub(super) fn lacks(&self, d: TaskId) -> bool {
        matches!(self.slots[d as usize], Slot::Empty | Slot::Remote)
    }

    /// Marks source chunk `d` as read where it is used, by each MPI rank that uses it (see
    /// [`Slot::Unread`]).
    #[cfg(feature = "mpi")]
    pub(super) fn mark_unread(&mut self, d: TaskId) {
        self.slots[d as usize] = Slot::Unread;
    }

    /// Marks `d` as held by another worker (see [`Slot::Remote`]).
    pub(super) fn mark_remote(&mut self, d: TaskId) {
        self.slots[d as usize] = Slot::Remote;
    }

    /// Where this residency's output `d` is, for another worker that needs it.
    pub(super) fn where_is(&self, d: TaskId) -> Held {
        match &self.slots[d as usize] {
            Slot::Resident { value, .. } | Slot::Spilling(value, _) => Held::Datum(value.clone()),
            Slot::Spilled(_) => Held::File,
            Slot::Dropped | Slot::Unread => Held::Dropped,
            Slot::Loading => Held::Busy,
            Slot::Empty | Slot::Remote => Held::Gone,
        }
    }

    /// Reads this residency's spilled output `d` back for another worker (leaving it spilled).
    ///
    /// # Errors
    /// Reading the spill file failed, or `d` is not spilled.
    pub(super) fn read_spilled(&mut self, d: TaskId) -> Result<Datum> {
        let Slot::Spilled(f) = &self.slots[d as usize] else {
            return Err(Error::internal(format!("task {d} is not spilled")));
        };
        let v = spill::read(f)?;
        self.metrics.bytes_read_back += f.bytes;
        Ok(v)
    }

    /// A task on another worker that used this residency's output `d` finished: releases `d`
    /// after its last user.
    pub(super) fn remote_use_done(&mut self, d: TaskId) {
        let left = &mut self.users_left[d as usize];
        *left -= 1;
        if *left == 0 && self.pins[d as usize] == 0 {
            match std::mem::replace(&mut self.slots[d as usize], Slot::Empty) {
                Slot::Resident { .. } => {}
                spilling @ Slot::Spilling(..) => {
                    // Its write finishes later; keep it until then.
                    self.slots[d as usize] = spilling;
                    return;
                }
                _ => {}
            }
            self.lru.pop(&d);
        }
    }

    /// Gives up an admission whose task failed (the computation stops anyway); dropping it
    /// gives its reservations back.
    pub(super) fn abandon(&mut self, adm: Admission) {
        for &d in self.graph.deps(adm.task) {
            self.pins[d as usize] -= 1;
        }
        self.running -= 1;
    }
}

/// Brings back the inputs of `adm` that were spilled or dropped (outside the lock).
///
/// # Errors
/// Reading a spill file or recomputing a task failed.
pub(super) fn bring_back(
    plan: &Plan,
    graph: &TaskGraph,
    adm: &mut Admission,
    metrics: &mut Metrics,
) -> Result<Vec<Restored>> {
    let mut restored = Vec::with_capacity(adm.missing.len());
    for (d, m) in adm.missing.drain(..) {
        let (value, file) = match m {
            Missing::Spilled(f) => {
                let v = spill::read(&f)?;
                metrics.bytes_read_back += f.bytes;
                (v, Some(f))
            }
            Missing::Recompute => {
                let (v, read) = eval::run_counted(plan, graph, d, &[])?;
                metrics.blocks_recomputed += 1;
                metrics.bytes_read += read;
                (v, None)
            }
            Missing::Read => {
                let (v, read) = eval::run_counted(plan, graph, d, &[])?;
                metrics.bytes_read += read;
                (v, None)
            }
            Missing::Fetched(v) => {
                restored.push(Restored {
                    task: d,
                    value: v,
                    file: None,
                });
                continue;
            }
            Missing::Remote => {
                return Err(Error::internal(format!(
                    "input {d} of task {} was not fetched from its worker",
                    adm.task
                )));
            }
        };
        restored.push(Restored {
            task: d,
            value: Arc::new(value),
            file,
        });
    }
    Ok(restored)
}

impl Restored {
    /// The value, to pass to the task as an input.
    pub(super) fn input(&self) -> (TaskId, Arc<Datum>) {
        (self.task, self.value.clone())
    }
}
