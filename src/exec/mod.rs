//! Stage 4, *run*: executes a scheduled plan and hands output blocks to a [`Sink`].
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
mod eval;
#[cfg(feature = "mpi")]
pub(crate) mod mpi;
mod pool;
#[cfg(target_os = "linux")]
mod processes;
mod remote;
mod spill;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use crate::config::{ComputeOptions, Scheduler};
use crate::error::{Error, Result};
use crate::kernel::Value;
use crate::metrics::Metrics;
use crate::observe::{Mark, ProgressEvent, RunInfo, StageInfo, TaskDone};
use crate::plan::{Plan, StageKind};
use crate::schedule::{Scheduled, TaskGraph, TaskId};
use crate::store::Sink;
use pool::{Admission, Decision, Pool};
use spill::{SpillFile, SpillStore};

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
        execute_many(plan, scheduled, opts, sinks)
    }
}

/// Runs a scheduled plan (already checked to fit by the driver) with several results
/// ([`Plan::outputs`]) and feeds the blocks of output `i` to `sinks[i]`.
///
/// # Errors
/// The first error any task returns (reading a store, a kernel error, spilling, the sink)
/// or [`Error::Cancelled`]; remaining tasks are not started, and the spill directory is
/// removed. [`Error::Internal`] when there is not one sink per output.
fn execute_many(
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
    let io_workers = opts.scheduler == Scheduler::Threads && sinks.iter().any(|s| s.waits_on_io());
    let workers = match opts.scheduler {
        Scheduler::Synchronous => 1,
        // Twice the workers; those beyond `threads` only run while others wait for their
        // writes.
        Scheduler::Threads if io_workers => 2 * opts.effective_threads(),
        Scheduler::Threads | Scheduler::Cluster { .. } | Scheduler::Processes(_) => {
            opts.effective_threads()
        }
        // One scheduling thread per other rank on rank 0.
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
        spill: &spill,
        cpu: None,
        remote: None,
    };
    let reserved = scheduled.reservations();
    let pool = Pool::new(plan, graph, &reserved.need, &reserved.output, limit);
    let mut metrics = match opts.scheduler {
        Scheduler::Synchronous => run_sync(&ctx, pool)?,
        Scheduler::Threads if io_workers => {
            let ctx = Ctx {
                cpu: Some(CpuSlots::new(opts.effective_threads())),
                ..ctx
            };
            run_threads(&ctx, pool, workers)?
        }
        Scheduler::Threads => run_threads(&ctx, pool, workers)?,
        Scheduler::Cluster {
            workers,
            threads_per_worker,
        } => {
            drop(pool);
            cluster::run(&ctx, footprint, workers.max(1), threads_per_worker.max(1))?
        }
        #[cfg(target_os = "linux")]
        Scheduler::Processes(_) => {
            let remote = processes::Workers::start(plan, graph, workers)?;
            let ctx = Ctx {
                remote: Some(&remote),
                ..ctx
            };
            run_threads(&ctx, pool, workers)?
        }
        #[cfg(feature = "mpi")]
        Scheduler::Mpi => mpi::run(ctx, pool)?,
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
    metrics.predicted_peak_bytes = footprint.peak;
    metrics.memory_limit = limit;
    opts.observers.each(|o| o.run_end(&metrics));
    Ok(metrics)
}

/// What observers are told of a plan about to run on `workers` worker rows.
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
                op: st.kind.op_name(),
                tasks: graph.stage_tasks[i],
                blocks: st.grid.nblocks() as u64,
                inputs: st.inputs(),
            })
            .collect(),
        tasks_before: plan.naive_tasks,
        tasks_after: graph.len() as u64,
        predicted_peak: scheduled.footprint.peak,
        dot: crate::schedule::dot::stage_dot(plan, graph),
    }
}

/// What every worker needs to run tasks.
struct Ctx<'a> {
    plan: &'a Plan,
    graph: &'a TaskGraph,
    position: &'a [u32],
    /// One per output of the plan.
    sinks: &'a [&'a dyn Sink],
    opts: &'a ComputeOptions,
    total: u64,
    limit: u64,
    spill: &'a SpillStore,
    /// The compute slots, when the threads scheduler runs more workers than threads
    /// (see [`CpuSlots`]).
    cpu: Option<CpuSlots>,
    /// Where tasks run when not on the worker threads themselves: worker processes
    /// ([`Scheduler::Processes`]) or MPI ranks; worker thread `row` runs its tasks on
    /// worker `row` there.
    remote: Option<&'a dyn remote::RunTasks>,
}

/// At most `threads` tasks compute at once. The threads scheduler may run more workers than
/// that when the sink waits on I/O ([`Sink::waits_on_io`]): a task holds a slot while it
/// computes and gives it up while its output is written, so the disk always has writes
/// queued while every thread computes.
struct CpuSlots {
    free: Mutex<usize>,
    freed: Condvar,
}

impl CpuSlots {
    fn new(n: usize) -> CpuSlots {
        CpuSlots {
            free: Mutex::new(n),
            freed: Condvar::new(),
        }
    }

    /// Waits for a free slot; it is given back when the guard drops.
    fn acquire(&self) -> CpuSlot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        CpuSlot(self)
    }
}

/// A held compute slot.
struct CpuSlot<'a>(&'a CpuSlots);

impl Drop for CpuSlot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

impl Ctx<'_> {
    fn report(&self, m: &Metrics, in_use: u64, held: u64) {
        self.opts.observers.each(|o| o.memory(in_use, held, m));
        if let Some(p) = &self.opts.progress {
            (p.0)(&ProgressEvent {
                tasks_done: m.tasks,
                tasks_total: self.total,
                bytes_output: m.bytes_output,
                reserved_bytes: in_use,
                memory_limit: self.limit,
            });
        }
    }

    /// A task was admitted: memory in use peaks now, with its reservation.
    fn admitted(&self, pool: &Pool<'_>) {
        self.opts
            .observers
            .each(|o| o.memory(pool.in_use(), pool.held(), &pool.metrics));
    }

    /// Whether the workers should stop: a task failed (`error`), the computation was
    /// cancelled (recorded into `error`), or all `n` tasks are `done`.
    fn stopping(&self, error: &mut Option<Error>, done: usize, n: usize) -> bool {
        if error.is_none()
            && let Err(e) = self.check_cancel()
        {
            *error = Some(e);
        }
        error.is_some() || done == n
    }

    /// Runs an admitted task on a worker thread: a panicking task (a bug) fails the
    /// computation instead of leaving the other workers waiting forever for it.
    fn run_guarded(
        &self,
        adm: &mut Admission,
        local: &mut Metrics,
        row: usize,
    ) -> Result<(Vec<pool::Restored>, Option<Value>)> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run(adm, local, row)))
            .unwrap_or_else(|payload| Err(panicked(self.graph, adm.task, payload.as_ref())))
    }

    /// Runs task `t` here, or in worker process `row` under the processes scheduler.
    fn run_task(
        &self,
        t: TaskId,
        inputs: &[(TaskId, Arc<Value>)],
        row: usize,
    ) -> Result<remote::Ran> {
        match self.remote {
            Some(workers) => workers.run(self.plan, self.graph, row, t, inputs),
            None => eval::run_counted(self.plan, self.graph, t, inputs)
                .map(|(value, read)| remote::Ran::Value(value, read)),
        }
    }

    fn check_cancel(&self) -> Result<()> {
        if self.opts.is_cancelled() {
            return Err(Error::Cancelled);
        }
        Ok(())
    }

    /// Writes spill victims (outside any lock), timing it.
    fn write_spills(
        &self,
        victims: &[(TaskId, Arc<Value>)],
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
    fn run(
        &self,
        adm: &mut Admission,
        local: &mut Metrics,
        row: usize,
    ) -> Result<(Vec<pool::Restored>, Option<Value>)> {
        let slot = self.cpu.as_ref().map(CpuSlots::acquire);
        let since = Instant::now();
        let started = since;
        let read_back = local.bytes_read_back;
        let mark = if adm
            .missing
            .iter()
            .any(|(_, m)| matches!(m, pool::Missing::Recompute))
        {
            Some(Mark::Recompute)
        } else if adm
            .missing
            .iter()
            .any(|(_, m)| matches!(m, pool::Missing::Spilled(_)))
        {
            Some(Mark::ReadBack)
        } else {
            None
        };
        let restored = pool::bring_back(self.plan, self.graph, adm, local)?;
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
            remote::Ran::Value(value, read) => (value, read),
            remote::Ran::Written { read, bytes } => {
                // An output block the worker wrote itself (MPI ranks writing their chunks).
                local.bytes_read += read;
                local.bytes_output += bytes;
                local.time(stage.kind.op_name(), since);
                self.task_done(row, stage_id, started);
                return Ok((restored, None));
            }
        };
        local.bytes_read += read;
        local.time(stage.kind.op_name(), since);
        drop(inputs);
        if !self.plan.is_output(stage_id) {
            self.task_done(row, stage_id, started);
            return Ok((restored, Some(value)));
        }
        let block = output_block(value)?;
        drop(slot);
        // An output block with users (a scan's next block along its axis) keeps what they
        // read of it.
        let kept = (!self.graph.users(t).is_empty()).then(|| kept_for_users(stage, &block));
        let since = Instant::now();
        let index = self.graph.block_index(self.plan, t);
        local.bytes_output += to_sinks(self.plan, self.sinks, stage_id, &index, block)?;
        local.time("write", since);
        self.task_done(row, stage_id, started);
        Ok((restored, kept.map(Value::Block)))
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

/// What the users of an output block read of it: for a scan, its last slice along the
/// scanned axis (where the next block starts from); otherwise all of it.
fn kept_for_users(stage: &crate::plan::Stage, block: &crate::block::Block) -> crate::block::Block {
    let StageKind::Scan { axis, .. } = stage.kind else {
        return block.clone();
    };
    let n = block.shape()[axis];
    crate::dispatch_block!(block, a => crate::block::BlockElement::wrap(
        a.slice_axis(ndarray::Axis(axis), ndarray::Slice::from(n.saturating_sub(1)..n)).to_owned()))
}

fn exhausted(
    plan: &Plan,
    graph: &TaskGraph,
    t: TaskId,
    requested: u64,
    held: u64,
    limit: u64,
) -> Error {
    Error::ResourcesExhausted {
        consumer: format!(
            "{} block {:?}",
            plan.stages[graph.stage[t as usize] as usize].name,
            graph.block_index(plan, t)
        ),
        requested,
        held,
        limit,
        hint: "its inputs, output and scratch cannot be resident together with the blocks \
               other tasks are using; use smaller chunks or a larger limit"
            .into(),
    }
}

fn run_sync(ctx: &Ctx<'_>, mut pool: Pool<'_>) -> Result<Metrics> {
    let mut seq: Vec<TaskId> = vec![0; ctx.graph.len()];
    for (t, &p) in ctx.position.iter().enumerate() {
        seq[p as usize] = t as TaskId;
    }
    for t in seq {
        ctx.check_cancel()?;
        let mut local = Metrics::default();
        let mut adm = loop {
            match pool.try_admit(t)? {
                Decision::Run(adm) => break adm,
                Decision::Spill(victims) => {
                    pool.spills_written(ctx.write_spills(&victims, &mut local))?;
                }
                Decision::Wait => {
                    return Err(Error::internal("the synchronous scheduler has to wait"));
                }
            }
        };
        ctx.admitted(&pool);
        let (restored, value) = ctx.run(&mut adm, &mut local, 0)?;
        pool.finish(&adm, restored, value);
        pool.metrics.absorb(&local);
        ctx.report(&pool.metrics, pool.in_use(), pool.held());
    }
    Ok(pool.metrics)
}

struct Shared<'a> {
    pool: Pool<'a>,
    ready: BinaryHeap<Reverse<(u32, TaskId)>>,
    deps_left: Vec<u32>,
    done: usize,
    error: Option<Error>,
}

/// Runs the tasks on `threads` workers (at most `ctx.cpu` of them compute at once).
fn run_threads(ctx: &Ctx<'_>, pool: Pool<'_>, threads: usize) -> Result<Metrics> {
    let graph = ctx.graph;
    let deps_left: Vec<u32> = (0..graph.len() as TaskId)
        .map(|t| graph.deps(t).len() as u32)
        .collect();
    let ready = (0..graph.len() as TaskId)
        .filter(|&t| deps_left[t as usize] == 0)
        .map(|t| Reverse((ctx.position[t as usize], t)))
        .collect();
    let shared = Mutex::new(Shared {
        pool,
        ready,
        deps_left,
        done: 0,
        error: None,
    });
    let wake = Condvar::new();
    let workers = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("brickwork-worker-{i}"))
        .build()
        .map_err(|e| Error::internal(format!("cannot start the worker pool: {e}")))?;
    workers.scope(|s| {
        for row in 0..threads {
            let (shared, wake) = (&shared, &wake);
            s.spawn(move |_| worker(ctx, shared, wake, row));
        }
    });
    let shared = shared
        .into_inner()
        .map_err(|_| Error::internal("a worker panicked"))?;
    match shared.error {
        Some(e) => Err(e),
        None => Ok(shared.pool.metrics),
    }
}

/// An output stage's value as the block its sinks take.
fn output_block(value: Value) -> Result<crate::block::Block> {
    match value {
        Value::Block(b) => Ok(b),
        Value::Mapped(m) => Ok(m.to_block()),
        Value::Partial(_) => Err(Error::internal("the output stage produced a partial")),
    }
}

/// Hands output block `index` of stage `stage` to every sink of that stage (usually one;
/// the same array asked for twice gets a copy); returns the bytes handed over.
fn to_sinks(
    plan: &Plan,
    sinks: &[&dyn Sink],
    stage: usize,
    index: &[usize],
    block: crate::block::Block,
) -> Result<u64> {
    let mut bytes = 0;
    let mut sinks = plan
        .outputs
        .iter()
        .zip(sinks)
        .filter(|(o, _)| o.stage == stage)
        .map(|(_, s)| s)
        .peekable();
    while let Some(sink) = sinks.next() {
        bytes += block.nbytes() as u64;
        if sinks.peek().is_some() {
            sink.consume(index, block.clone())?;
        } else {
            sink.consume(index, block)?;
            break;
        }
    }
    Ok(bytes)
}

/// The message a panic carried.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// The error for task `t` that panicked with `payload`.
fn panicked(graph: &TaskGraph, t: TaskId, payload: &(dyn std::any::Any + Send)) -> Error {
    let message = panic_message(payload);
    Error::internal(format!(
        "task {t} (stage {}) panicked: {message}",
        graph.stage[t as usize]
    ))
}

fn worker(ctx: &Ctx<'_>, shared: &Mutex<Shared<'_>>, wake: &Condvar, row: usize) {
    let n = ctx.graph.len();
    let mut guard = shared.lock().expect("scheduler lock");
    loop {
        let done = guard.done;
        if ctx.stopping(&mut guard.error, done, n) {
            wake.notify_all();
            return;
        }
        let Some(&Reverse((_, t))) = guard.ready.peek() else {
            if guard.pool.running == 0 {
                guard.error = Some(Error::internal("no task is ready and none is running"));
                continue;
            }
            guard = wake.wait(guard).expect("scheduler lock");
            continue;
        };
        // Admission: a task starts only when its reservation fits under the limit, after
        // evicting what it must.
        let mut local = Metrics::default();
        let mut adm = match guard.pool.try_admit(t) {
            Err(e) => {
                guard.error = Some(e);
                continue;
            }
            Ok(Decision::Wait) => {
                guard = wake.wait(guard).expect("scheduler lock");
                continue;
            }
            Ok(Decision::Spill(victims)) => {
                drop(guard);
                let files = ctx.write_spills(&victims, &mut local);
                guard = shared.lock().expect("scheduler lock");
                if let Err(e) = guard.pool.spills_written(files) {
                    guard.error.get_or_insert(e);
                }
                guard.pool.metrics.absorb(&local);
                wake.notify_all();
                continue;
            }
            Ok(Decision::Run(adm)) => adm,
        };
        ctx.admitted(&guard.pool);
        guard.ready.pop();
        drop(guard);
        let result = ctx.run_guarded(&mut adm, &mut local, row);
        guard = shared.lock().expect("scheduler lock");
        match result {
            Err(e) => {
                guard.pool.abandon(&adm);
                guard.error.get_or_insert(e);
            }
            Ok((restored, value)) => {
                guard.pool.finish(&adm, restored, value);
                guard.pool.metrics.absorb(&local);
                guard.done += 1;
                ctx.report(&guard.pool.metrics, guard.pool.in_use(), guard.pool.held());
                let t = adm.task;
                for &u in ctx.graph.users(t) {
                    let left = &mut guard.deps_left[u as usize];
                    *left -= 1;
                    if *left == 0 {
                        guard.ready.push(Reverse((ctx.position[u as usize], u)));
                    }
                }
            }
        }
        // Wake everyone: besides newly ready tasks, memory was released.
        wake.notify_all();
    }
}
