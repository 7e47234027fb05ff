//! The task context [`Ctx`]: what every worker loop needs to run a task (the plan, the
//! graph, the sinks, the options, the spill store), and running one admitted task on it:
//! bringing back its missing inputs, running it here or on a remote worker, routing its
//! output, writing spill victims and reporting to the observers. Also the errors a task
//! fails with when it does not fit or panics.

use std::sync::Arc;
use std::time::Instant;

use crate::config::ComputeOptions;
use crate::error::{Error, Result};
use crate::kernel::Datum;
use crate::metrics::{MemoryUse, Metrics};
use crate::observe::{Mark, ProgressEvent, TaskDone};
use crate::plan::Plan;
use crate::schedule::{TaskGraph, TaskId};
use crate::store::Sink;

use super::output::{output_block, to_sinks};
use super::residency::{self, Admission};
use super::slots::CpuSlots;
use super::spill::{SpillFile, SpillStore};
use super::{eval, remote};

/// What every worker needs to run tasks.
pub(super) struct Ctx<'a> {
    pub(super) plan: &'a Plan,
    pub(super) graph: &'a TaskGraph,
    pub(super) position: &'a [u32],
    /// One per output of the plan.
    pub(super) sinks: &'a [&'a dyn Sink],
    pub(super) opts: &'a ComputeOptions,
    pub(super) total: u64,
    pub(super) limit: u64,
    /// Bytes of the limit the schedule takes for the whole run (see
    /// [`super::run_state_bytes`]): a residency of this process reserves them.
    pub(super) schedule_bytes: u64,
    pub(super) spill: &'a SpillStore,
    /// The compute slots, when the threads scheduler runs more workers than threads
    /// (see [`CpuSlots`]).
    pub(super) cpu: Option<CpuSlots>,
    /// Where tasks run when not on the worker threads themselves: worker processes
    /// ([`Scheduler::Processes`]) or MPI ranks; worker thread `row` runs its tasks on
    /// worker `row` there.
    pub(super) remote: Option<&'a dyn remote::RunTasks>,
}

impl Ctx<'_> {
    pub(super) fn report(&self, m: &Metrics, usage: &MemoryUse) {
        self.opts.observers.each(|o| o.memory(usage, m));
        if let Some(p) = &self.opts.progress {
            (p.0)(&ProgressEvent {
                tasks_done: m.tasks,
                tasks_total: self.total,
                bytes_output: m.bytes_output,
                reserved_bytes: usage.total(),
                memory_limit: self.limit,
            });
        }
    }

    /// A task was admitted: memory in use (`usage`) peaks now, with its reservation.
    pub(super) fn admitted(&self, usage: &MemoryUse, metrics: &Metrics) {
        self.opts.observers.each(|o| o.memory(usage, metrics));
    }

    /// Whether the workers should stop: a task failed (`error`), the computation was
    /// cancelled (recorded into `error`), or all `n` tasks are `done`.
    pub(super) fn stopping(&self, error: &mut Option<Error>, done: usize, n: usize) -> bool {
        if error.is_none()
            && let Err(e) = self.check_cancel()
        {
            *error = Some(e);
        }
        error.is_some() || done == n
    }

    /// Runs an admitted task on a worker thread: a panicking task (a bug) fails the
    /// computation instead of leaving the other workers waiting forever for it.
    pub(super) fn run_guarded(
        &self,
        adm: &mut Admission,
        local: &mut Metrics,
        row: usize,
    ) -> Result<(Vec<residency::Restored>, Option<Datum>)> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run(adm, local, row)))
            .unwrap_or_else(|payload| Err(panicked(self.graph, adm.task, payload.as_ref())))
    }

    /// Runs task `t` here, or in worker process `row` under the processes scheduler.
    fn run_task(
        &self,
        t: TaskId,
        inputs: &[(TaskId, Arc<Datum>)],
        row: usize,
    ) -> Result<remote::Ran> {
        match self.remote {
            Some(workers) => workers.run(self.plan, self.graph, row, t, inputs),
            None => eval::run_counted(self.plan, self.graph, t, inputs)
                .map(|(value, read)| remote::Ran::Datum(value, read)),
        }
    }

    pub(super) fn check_cancel(&self) -> Result<()> {
        if self.opts.is_cancelled() {
            return Err(Error::Cancelled);
        }
        Ok(())
    }

    /// Writes spill victims (outside any lock), timing it.
    pub(super) fn write_spills(
        &self,
        victims: &[(TaskId, Arc<Datum>)],
        local: &mut Metrics,
    ) -> Vec<(TaskId, Result<SpillFile>)> {
        let since = Instant::now();
        let files = victims
            .iter()
            .map(|(v, value)| (*v, self.spill.write(*v, value)))
            .collect();
        local.time("spill", since);
        if !self.opts.observers.is_empty() {
            let bytes = victims.iter().map(|(_, v)| v.nbytes() as u64).sum();
            self.opts.observers.each(|o| o.mark(Mark::Spill, bytes));
        }
        files
    }

    /// Brings back an admitted task's missing inputs, runs it and routes its output
    /// (output-stage blocks go to the sink). Returns what was brought back and the value to
    /// keep, with the task's figures in `local`.
    pub(super) fn run(
        &self,
        adm: &mut Admission,
        local: &mut Metrics,
        row: usize,
    ) -> Result<(Vec<residency::Restored>, Option<Datum>)> {
        let slot = self
            .cpu
            .as_ref()
            .and_then(|c| c.acquire_for(self.graph.stage[adm.task as usize] as usize));
        let since = Instant::now();
        let started = since;
        let read_back = local.bytes_read_back;
        let mark = if adm
            .missing
            .iter()
            .any(|(_, m)| matches!(m, residency::Missing::Recompute))
        {
            Some(Mark::Recompute)
        } else if adm
            .missing
            .iter()
            .any(|(_, m)| matches!(m, residency::Missing::Spilled(_)))
        {
            Some(Mark::ReadBack)
        } else {
            None
        };
        let restored = residency::bring_back(self.plan, self.graph, adm, local)?;
        if !restored.is_empty() {
            local.time(mark.map_or("transfer", Mark::name), since);
            if let Some(mark) = mark {
                let bytes = local.bytes_read_back - read_back;
                self.opts.observers.each(|o| o.mark(mark, bytes));
            }
        }
        let t = adm.task;
        let mut inputs = std::mem::take(&mut adm.resident);
        if !restored.is_empty() {
            // Reductions combine their inputs in dependency order, whatever came back.
            inputs.extend(restored.iter().map(|r| r.input()));
            let deps = self.graph.deps(t);
            inputs.sort_by_key(|(d, _)| deps.iter().position(|x| x == d));
        }
        let stage_id = self.graph.stage[t as usize] as usize;
        let stage = &self.plan.stages[stage_id];
        let since = Instant::now();
        let (value, read) = match self.run_task(t, &inputs, row)? {
            remote::Ran::Datum(value, read) => (value, read),
            remote::Ran::Written { read, bytes } => {
                // An output block the worker wrote itself (MPI ranks writing their chunks).
                local.bytes_read += read;
                local.bytes_output += bytes;
                local.time(stage.op_name(), since);
                self.task_done(row, stage_id, started);
                return Ok((restored, None));
            }
        };
        local.bytes_read += read;
        local.time(stage.op_name(), since);
        drop(inputs);
        if !self.plan.is_output(stage_id) {
            self.task_done(row, stage_id, started);
            return Ok((restored, Some(value)));
        }
        let block = output_block(value)?;
        drop(slot);
        // An output block with users (a scan's next block along its axis) keeps what they
        // read of it.
        let kept = (!self.graph.users(t).is_empty()).then(|| stage.op.kept_for_users(&block));
        let since = Instant::now();
        let index = self.graph.block_index(self.plan, t);
        local.bytes_output += to_sinks(self.plan, self.sinks, stage_id, &index, block)?;
        local.time("write", since);
        self.task_done(row, stage_id, started);
        Ok((restored, kept.map(Datum::Block)))
    }

    /// Tells the observers that a task of `stage` ran on worker `row` from `started` on.
    fn task_done(&self, row: usize, stage: usize, started: Instant) {
        if self.opts.observers.is_empty() {
            return;
        }
        let done = TaskDone {
            row,
            stage,
            started,
            finished: Instant::now(),
        };
        self.opts.observers.each(|o| o.task_done(&done));
    }
}

/// The refusal of task `t`, which needs `requested` bytes while `in_use` are reserved.
pub(super) fn exhausted(
    plan: &Plan,
    graph: &TaskGraph,
    t: TaskId,
    requested: u64,
    in_use: MemoryUse,
    limit: u64,
) -> Error {
    Error::ResourcesExhausted {
        consumer: format!(
            "{} block {:?}",
            plan.stages[graph.stage[t as usize] as usize].name,
            graph.block_index(plan, t)
        ),
        requested,
        held: in_use.total(),
        in_use,
        limit,
        hint: "its inputs, output and scratch cannot be resident together with the blocks \
               other tasks are using; use smaller chunks or a larger limit"
            .into(),
    }
}

/// The message a panic carried.
pub(super) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// The error for task `t` that panicked with `payload`.
pub(super) fn panicked(
    graph: &TaskGraph,
    t: TaskId,
    payload: &(dyn std::any::Any + Send),
) -> Error {
    let message = panic_message(payload);
    Error::internal(format!(
        "task {t} (stage {}) panicked: {message}",
        graph.stage[t as usize]
    ))
}
