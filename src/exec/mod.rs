//! Stage 4, *run*: executes a scheduled plan and hands output blocks to a [`Sink`].
//!
//! *Internal*: public only for the CLI, the Python package and the benchmarks of this
//! repository; no stability promise (see the crate's map).
//!
//! [`Executor`] is the seam between the schedule and the backends: every backend runs the
//! same [`Scheduled`] plan (the driver, `crate::driver`, prepares it and chooses the
//! backend from the options). [`Local`] runs it on this machine, with the synchronous,
//! threads, cluster or processes scheduler (the last runs tasks in forked worker processes,
//! see `processes.rs`).
//!
//! Each task's output is kept only until its last user has run, then dropped; output blocks
//! go straight to the sink and are not kept at all. The synchronous scheduler runs tasks by
//! ascending priority on the calling thread. The threads scheduler runs `n` workers in a
//! rayon pool; each takes the highest-priority ready task, runs it without holding the lock,
//! and publishes its output. Because every task is a pure function of its inputs and
//! reductions combine in a fixed order, both give bit-identical results.

mod cluster;
mod dispatch;
mod eval;
mod memory;
#[cfg(feature = "mpi")]
pub(crate) mod mpi;
mod output;
#[cfg(target_os = "linux")]
mod processes;
mod remote;
mod residency;
mod slots;
mod spill;
mod sync;
mod task;
mod threads;

use crate::config::ComputeOptions;
#[cfg(doc)]
use crate::config::Scheduler;
#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;
use crate::metrics::Metrics;
use crate::plan::Plan;
use crate::schedule::Scheduled;
use crate::store::Sink;

/// Bytes a run of `scheduled` holds from start to end besides its blocks: the schedule
/// ([`Scheduled::bytes`]) and the executor's state of every task. The residency reserves them
/// ([`crate::metrics::Consumer::Plan`]) and the fit check counts them.
pub fn run_state_bytes(scheduled: &Scheduled) -> u64 {
    scheduled.bytes() + scheduled.graph.len() as u64 * residency::TASK_STATE_BYTES
}

/// Runs scheduled plans: the seam between the schedule and the backends (in this process;
/// later a cluster of workers or MPI ranks). A backend runs the plan it is given as it is,
/// so every backend computes the same blocks.
pub trait Executor: Sync {
    /// Runs `scheduled` (a schedule of `plan`) under `opts` and feeds the blocks of output
    /// `i` to `sinks[i]`.
    ///
    /// # Errors
    /// The first error a task returns, [`Error::Cancelled`], or [`Error::Internal`] when
    /// there is not one sink per output. (Whether every task fits is the driver's check,
    /// made before: [`crate::schedule::check_fits`].)
    fn execute(
        &self,
        plan: &Plan,
        scheduled: &Scheduled,
        opts: &ComputeOptions,
        sinks: &[&dyn Sink],
    ) -> Result<Metrics>;
}

/// The executor of this process: [`Scheduler::Synchronous`] runs tasks in priority order on
/// the calling thread, [`Scheduler::Threads`] on a pool of worker threads,
/// [`Scheduler::Cluster`] on workers of their own threads, memory limit and spill store, and
/// [`Scheduler::Processes`] in worker processes forked from this one, which stays the
/// scheduler.
#[derive(Clone, Copy, Debug, Default)]
pub struct Local;

impl Executor for Local {
    fn execute(
        &self,
        plan: &Plan,
        scheduled: &Scheduled,
        opts: &ComputeOptions,
        sinks: &[&dyn Sink],
    ) -> Result<Metrics> {
        dispatch::execute_many(plan, scheduled, opts, sinks)
    }
}
