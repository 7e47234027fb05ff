//! The driver: the one place that sequences a computation, from an expression to blocks in a
//! sink.
//!
//! ```text
//! expr ──lower──► plan ──passes──► plan' ──schedule──► Scheduled ──Executor──► Sink
//!                  (plan::lower)    (realign: copy     (schedule::plan:       (exec::Local:
//!                                   misread sources)   order, footprint)      synchronous,
//!                                                                             threads)
//! ```
//!
//! The array API ([`crate::Array::compute_with`], [`crate::Array::to_zarr_with`], ...) asks
//! the driver for a result; the driver lowers, runs the plan passes, schedules, checks that
//! every task fits, and hands the scheduled plan to the executor the options choose
//! ([`crate::exec::Executor`]). Strategies that need side computations, a realigning copy of a
//! source read against its chunking ([`realign`]) and the two-pass bounded rechunk through
//! an intermediate store ([`rechunk`]), are driver decisions too: they run their side
//! computations through the same driver, so on the same executor as the result.
//!
//! The driver owns no data structure of its own; it must not evaluate blocks (that is
//! `exec`) nor know how a store lays out bytes (that is `store`).

pub(crate) mod realign;
pub(crate) mod rechunk;
mod region;
mod write;

use std::path::Path;

pub(crate) use region::write_region;
pub(crate) use write::{WriteStart, refuse_reading_target, write_start, write_zarr};

use crate::config::ComputeOptions;
use crate::error::{Error, Result};
use crate::exec::{self, Executor, Metrics};
use crate::expr::ExprRef;
use crate::plan::{self, OutputWrite, Plan};
use crate::schedule::{self, Scheduled};
use crate::store::Sink;

/// A plan ready to run: lowered, through its passes, scheduled.
pub(crate) struct Prepared {
    pub(crate) plan: Plan,
    pub(crate) scheduled: Scheduled,
    /// The figures of the side computations the passes ran (realigning copies).
    pub(crate) copies: Metrics,
}

/// Lowers `e`, copies sources its consumers read against their chunking into better
/// chunks (see [`realign`]; this writes to a temporary store), and schedules the plan for
/// the output blocks in `output_blocks` (all when `None`; see [`plan::Output::blocks`]).
pub(crate) fn prepare(
    e: &ExprRef,
    opts: &ComputeOptions,
    write: OutputWrite,
    realign: bool,
    output_blocks: Option<Vec<bool>>,
) -> Result<Prepared> {
    prepare_many(
        std::slice::from_ref(e),
        opts,
        vec![(write, output_blocks)],
        realign,
    )
}

/// [`prepare`] for several results: one plan with an output per root, each written as
/// `outputs[i]` says.
pub(crate) fn prepare_many(
    roots: &[ExprRef],
    opts: &ComputeOptions,
    outputs: Vec<(OutputWrite, Option<Vec<bool>>)>,
    realign: bool,
) -> Result<Prepared> {
    let mut plan = plan::lower_many(roots)?;
    for (out, (write, blocks)) in plan.outputs.iter_mut().zip(outputs) {
        out.write = write;
        out.blocks = blocks;
    }
    // Under MPI each rank would make its own copy in its own temporary directory: the
    // sources are read as they are chunked instead.
    let realign = realign && opts.scheduler != crate::Scheduler::Mpi;
    let copies = if realign {
        realign::realign(&mut plan, opts)?
    } else {
        Metrics::default()
    };
    let scheduled = schedule::plan(&mut plan, opts.effective_memory_limit())?;
    Ok(Prepared {
        plan,
        scheduled,
        copies,
    })
}

impl Prepared {
    /// Checks, without running anything, that every task fits in `opts`' memory limit.
    ///
    /// # Errors
    /// [`Error::PlanExceedsMemory`] naming the task and what would fit.
    pub(crate) fn check_fits(&self, opts: &ComputeOptions) -> Result<()> {
        exec::check_fits(&self.plan, &self.scheduled, opts)
    }

    /// Runs the plan on the executor `opts` choose, output `i`'s blocks into `sinks[i]`;
    /// returns the figures of the side computations followed by the run's.
    ///
    /// # Errors
    /// As [`Executor::execute`].
    pub(crate) fn execute(&self, opts: &ComputeOptions, sinks: &[&dyn Sink]) -> Result<Metrics> {
        let metrics = executor(opts).execute(&self.plan, &self.scheduled, opts, sinks)?;
        Ok(self.copies.then(&metrics))
    }
}

/// Refuses `what` (a write that several processes would each make) on more than one MPI
/// rank.
///
/// # Errors
/// [`Error::InvalidArgument`] naming `what` under [`crate::Scheduler::Mpi`] with several
/// ranks; MPI not initialized.
pub(crate) fn refuse_ranks(opts: &ComputeOptions, what: &str) -> Result<()> {
    #[cfg(feature = "mpi")]
    if exec::mpi::ranks(opts)?.is_some() {
        return Err(Error::invalid(format!(
            "{what} does not run on several MPI ranks yet: write each result with to_zarr, \
             or use another scheduler"
        )));
    }
    let _ = (opts, what);
    Ok(())
}

/// The executor for `opts`' scheduler.
fn executor(opts: &ComputeOptions) -> &'static dyn Executor {
    match opts.scheduler {
        crate::Scheduler::Synchronous
        | crate::Scheduler::Threads
        | crate::Scheduler::Cluster { .. }
        | crate::Scheduler::Processes(_)
        | crate::Scheduler::Mpi => &exec::Local,
    }
}

/// A temporary directory beside `path` (same filesystem, so the intermediate store of a
/// two-pass write is not put on a small /tmp), removed when dropped.
pub(crate) fn intermediate_dir(path: &Path, prefix: &str) -> Result<tempfile::TempDir> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let kind = prefix
        .trim_start_matches(".brickwork-")
        .trim_end_matches('-');
    tempfile::Builder::new()
        .prefix(&crate::store::temp::prefix(kind, path, true))
        .tempdir_in(&parent)
        .map_err(|source| Error::Io {
            path: parent,
            source,
        })
}
