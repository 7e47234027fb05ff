//! Starting a run: the one entry point [`execute_many`] checks the sinks, works out how many
//! worker rows the scheduler runs, tells the observers what is about to run, and hands the
//! task context to the scheduler's loop.

use std::time::Instant;

use crate::config::{ComputeOptions, Scheduler};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::observe::{RunInfo, StageInfo};
use crate::plan::Plan;
use crate::schedule::Scheduled;
use crate::store::Sink;

use super::cluster;
#[cfg(feature = "mpi")]
use super::mpi;
#[cfg(target_os = "linux")]
use super::processes;
use super::residency::Residency;
use super::slots::CpuSlots;
use super::spill::SpillStore;
use super::sync::run_sync;
use super::task::Ctx;
use super::threads::run_threads;

/// Runs a scheduled plan (already checked to fit by the driver) with several results
/// ([`Plan::outputs`]) and feeds the blocks of output `i` to `sinks[i]`.
///
/// # Errors
/// The first error any task returns (reading a store, a kernel error, spilling, the sink)
/// or [`Error::Cancelled`]; remaining tasks are not started, and the spill directory is
/// removed. [`Error::Internal`] when there is not one sink per output.
pub(super) fn execute_many(
    plan: &Plan,
    scheduled: &Scheduled,
    opts: &ComputeOptions,
    sinks: &[&dyn Sink],
) -> Result<Metrics> {
    if sinks.len() != plan.outputs.len() {
        return Err(Error::internal(format!(
            "{} sink(s) for a plan with {} output(s)",
            sinks.len(),
            plan.outputs.len()
        )));
    }
    let start = Instant::now();
    let Scheduled {
        graph,
        position,
        footprint,
        ..
    } = scheduled;
    let limit = opts.effective_memory_limit();
    let spill = SpillStore::new(opts.spill_dir.clone());
    let threads_io = opts.scheduler == Scheduler::Threads;
    // Workers beyond `threads` that only run while others wait on I/O: as many again for
    // raw chunks written to disk; up to `max_requests` for object stores, whose requests
    // each wait for a round trip (fetches of source chunks, uploads of output chunks).
    let remote = threads_io && (plan.reads_remote() || sinks.iter().any(|s| s.writes_remote()));
    let disk = threads_io && sinks.iter().any(|s| s.waits_on_io());
    let io_workers = match (remote, disk) {
        (true, _) => opts
            .effective_max_requests()
            .min(requests_that_fit(plan, scheduled, sinks, limit)),
        (false, true) => opts.effective_threads(),
        (false, false) => 0,
    };
    let workers = match opts.scheduler {
        Scheduler::Synchronous => 1,
        Scheduler::Threads if io_workers > 0 => opts.effective_threads() + io_workers,
        Scheduler::Threads | Scheduler::Cluster { .. } | Scheduler::Processes(_) => {
            opts.effective_threads()
        }
        // One row per worker rank (rank 0 only schedules).
        #[cfg(feature = "mpi")]
        Scheduler::Mpi => match mpi::ranks(opts)? {
            Some((_, size)) => (size - 1) as usize,
            None => opts.effective_threads(),
        },
        #[cfg(not(feature = "mpi"))]
        Scheduler::Mpi => {
            return Err(Error::invalid(
                "the mpi scheduler needs brickwork built with the `mpi` feature (cargo build \
                 --features mpi, with an MPI installed)",
            ));
        }
    };
    if !opts.observers.is_empty() {
        let info = run_info(opts, plan, scheduled, workers);
        opts.observers.each(|o| o.run_begin(&info));
    }
    let ctx = Ctx {
        plan,
        graph,
        position,
        sinks,
        opts,
        total: graph.len() as u64,
        limit,
        schedule_bytes: scheduled.bytes(),
        spill: &spill,
        cpu: None,
        remote: None,
    };
    let reserved = scheduled.reservations();
    let residency = Residency::new(
        plan,
        graph,
        &reserved.need,
        &reserved.output,
        limit,
        ctx.schedule_bytes + graph.len() as u64 * super::residency::TASK_STATE_BYTES,
    );
    let mut metrics = match opts.scheduler {
        Scheduler::Synchronous => run_sync(&ctx, residency)?,
        Scheduler::Threads if io_workers > 0 => {
            let ctx = Ctx {
                cpu: Some(CpuSlots::new(opts.effective_threads(), plan)),
                ..ctx
            };
            run_threads(&ctx, residency, workers)?
        }
        Scheduler::Threads => run_threads(&ctx, residency, workers)?,
        Scheduler::Cluster {
            workers,
            threads_per_worker,
        } => {
            drop(residency);
            cluster::run(&ctx, footprint, workers.max(1), threads_per_worker.max(1))?
        }
        #[cfg(target_os = "linux")]
        Scheduler::Processes(_) => {
            let remote = processes::Workers::start(plan, graph, workers)?;
            let ctx = Ctx {
                remote: Some(&remote),
                ..ctx
            };
            run_threads(&ctx, residency, workers)?
        }
        #[cfg(feature = "mpi")]
        Scheduler::Mpi => mpi::run(ctx, residency, footprint)?,
        #[cfg(not(feature = "mpi"))]
        Scheduler::Mpi => unreachable!("refused above"),
        #[cfg(not(target_os = "linux"))]
        Scheduler::Processes(_) => {
            return Err(Error::invalid(
                "the processes scheduler needs Linux (use threads or cluster)",
            ));
        }
    };
    metrics.seconds = start.elapsed().as_secs_f64();
    metrics.predicted_peak_bytes = footprint.peak + super::run_state_bytes(scheduled);
    metrics.memory_limit = limit;
    opts.observers.each(|o| o.run_end(&metrics));
    Ok(metrics)
}

/// What observers are told of a plan about to run on `workers` worker rows.
/// How many requests to object stores can be in flight at once under `limit`: those of
/// the smallest fetch or upload, within the share of the limit fetches may fill
/// ([`super::residency::AHEAD_SHARE`]), at least 1. More workers than that would wait for
/// memory, idle, each keeping memory its allocator has not reclaimed (mimalloc reclaims a
/// block freed by another thread only when the owning thread allocates again).
fn requests_that_fit(plan: &Plan, scheduled: &Scheduled, sinks: &[&dyn Sink], limit: u64) -> usize {
    let graph = &scheduled.graph;
    let need = &scheduled.reservations().need;
    let uploads = sinks.iter().any(|s| s.writes_remote());
    let smallest = (0..graph.len())
        .filter(|&t| {
            let s = graph.stage[t] as usize;
            plan.fetches_remote(s) || (uploads && plan.is_output(s))
        })
        .map(|t| need[t])
        .min()
        .unwrap_or(1)
        .max(1);
    let (num, den) = super::residency::AHEAD_SHARE;
    usize::try_from(limit / den * num / smallest)
        .unwrap_or(usize::MAX)
        .max(1)
}

fn run_info(opts: &ComputeOptions, plan: &Plan, scheduled: &Scheduled, workers: usize) -> RunInfo {
    let rows = match opts.scheduler {
        Scheduler::Cluster {
            workers,
            threads_per_worker,
        } => (0..workers)
            .flat_map(|w| (0..threads_per_worker).map(move |i| format!("worker {w} · thread {i}")))
            .collect(),
        Scheduler::Processes(_) => (0..workers)
            .map(|i| format!("worker process {i}"))
            .collect(),
        _ => (0..workers).map(|i| format!("worker {i}")).collect(),
    };
    let graph = &scheduled.graph;
    RunInfo {
        scheduler: opts.scheduler.to_string(),
        rows,
        memory_limit: opts.effective_memory_limit(),
        stages: plan
            .stages
            .iter()
            .enumerate()
            .map(|(i, st)| StageInfo {
                name: st.name.clone(),
                op: st.op_name(),
                tasks: graph.stage_tasks[i],
                blocks: st.grid.nblocks() as u64,
                inputs: st.inputs(),
            })
            .collect(),
        tasks_before: plan.naive_tasks,
        tasks_after: graph.len() as u64,
        predicted_peak: scheduled.footprint.peak + super::run_state_bytes(scheduled),
        dot: crate::schedule::dot::stage_dot(plan, graph),
    }
}
