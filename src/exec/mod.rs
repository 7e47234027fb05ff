//! Stage 4, *run*: executes a task graph in priority order and hands output blocks to a
//! [`Sink`].
//!
//! Each task's output is kept only until its last user has run, then dropped; output blocks
//! go straight to the sink and are not kept at all. The synchronous scheduler runs tasks by
//! ascending priority on the calling thread. The threads scheduler runs `n` workers in a
//! rayon pool; each takes the highest-priority ready task, runs it without holding the lock,
//! and publishes its output. Because every task is a pure function of its inputs and
//! reductions combine in a fixed order, both give bit-identical results.

mod eval;
mod sink;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

pub use sink::{CollectSink, Sink, ZarrWriteSink};

use crate::config::{ComputeOptions, Progress, ProgressEvent, Scheduler};
use crate::error::{Error, Result};
use crate::grid::fmt_shape;
use crate::kernel::Value;
use crate::plan::{Plan, StageKind};
use crate::schedule::{Footprint, TaskGraph, TaskId, order, simulate};

/// Figures about one computation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Tasks run.
    pub tasks: u64,
    /// Bytes of chunks read from stores (decoded).
    pub bytes_read: u64,
    /// Bytes of output blocks handed to the sink.
    pub bytes_output: u64,
    /// Peak bytes of task outputs held at once.
    pub peak_held_bytes: u64,
    /// Peak bytes reserved at once: held outputs plus the output and scratch reservations of
    /// running tasks. Never above `memory_limit`.
    pub peak_reserved_bytes: u64,
    /// The peak predicted before running (sequential priority order).
    pub predicted_peak_bytes: u64,
    /// The memory limit in force.
    pub memory_limit: u64,
    /// Wall-clock seconds of execution (excluding planning).
    pub seconds: f64,
}

/// Runs a scheduled plan and feeds the output stage's blocks to `sink`.
///
/// # Errors
/// [`Error::PlanExceedsMemory`] before any work when the plan cannot fit; otherwise the
/// first error any task returns (reading a store, a kernel error, the sink); remaining
/// tasks are not started.
pub fn execute(
    plan: &Plan,
    scheduled: &Scheduled,
    opts: &ComputeOptions,
    sink: &dyn Sink,
) -> Result<Metrics> {
    let start = Instant::now();
    check_fits(plan, scheduled, opts)?;
    let Scheduled {
        graph,
        position,
        footprint,
    } = scheduled;
    let limit = opts.effective_memory_limit();
    let budget = Budget {
        limit,
        need: &footprint.need,
        progress: opts.progress.as_ref(),
        total: graph.len() as u64,
    };
    let mut metrics = match opts.scheduler {
        Scheduler::Synchronous => run_sync(plan, graph, position, sink, &budget)?,
        Scheduler::Threads => run_threads(
            plan,
            graph,
            position,
            sink,
            &budget,
            opts.effective_threads(),
        )?,
    };
    metrics.seconds = start.elapsed().as_secs_f64();
    metrics.predicted_peak_bytes = footprint.peak;
    metrics.memory_limit = limit;
    Ok(metrics)
}

/// Checks, without running anything, that a scheduled plan fits in `opts`' memory limit.
///
/// # Errors
/// [`Error::PlanExceedsMemory`] as [`execute`] would return it.
pub fn check_fits(plan: &Plan, scheduled: &Scheduled, opts: &ComputeOptions) -> Result<()> {
    preflight(
        plan,
        &scheduled.graph,
        &scheduled.footprint,
        opts.effective_memory_limit(),
    )
}

impl Metrics {
    /// The figures of this run followed by `next` (counts add up, peaks take the maximum).
    pub fn then(&self, next: &Metrics) -> Metrics {
        Metrics {
            tasks: self.tasks + next.tasks,
            bytes_read: self.bytes_read + next.bytes_read,
            bytes_output: self.bytes_output + next.bytes_output,
            peak_held_bytes: self.peak_held_bytes.max(next.peak_held_bytes),
            peak_reserved_bytes: self.peak_reserved_bytes.max(next.peak_reserved_bytes),
            predicted_peak_bytes: self.predicted_peak_bytes.max(next.predicted_peak_bytes),
            memory_limit: self.memory_limit.max(next.memory_limit),
            seconds: self.seconds + next.seconds,
        }
    }
}

/// The memory limit, what each task reserves (output + scratch) before it runs, and whom
/// to tell about progress.
struct Budget<'a> {
    limit: u64,
    need: &'a [u64],
    progress: Option<&'a Progress>,
    total: u64,
}

impl Budget<'_> {
    fn report(&self, m: &Metrics, reserved: u64) {
        if let Some(p) = self.progress {
            (p.0)(&ProgressEvent {
                tasks_done: m.tasks,
                tasks_total: self.total,
                bytes_output: m.bytes_output,
                reserved_bytes: reserved,
                memory_limit: self.limit,
            });
        }
    }
}

/// Refuses, before any work, a plan with a task that cannot fit at all, or whose simulated
/// peak exceeds the limit (intermediates cannot be spilled yet).
fn preflight(plan: &Plan, graph: &TaskGraph, f: &Footprint, limit: u64) -> Result<()> {
    if graph.is_empty() {
        return Ok(());
    }
    if f.largest_task > limit {
        let t = f.largest_task_id;
        let stage = &plan.stages[graph.stage[t as usize] as usize];
        let chunk = stage.grid.max_chunk_shape();
        let scale =
            (limit as f64 / f.largest_task as f64).powf(1.0 / chunk.len().max(1) as f64) * 0.9;
        let suggested: Vec<usize> = chunk
            .iter()
            .map(|&c| ((c as f64 * scale) as usize).max(1))
            .collect();
        return Err(Error::PlanExceedsMemory {
            what: format!("{} block {:?}", stage.name, graph.block_index(plan, t)),
            needed: f.largest_task,
            limit,
            hint: format!(
                "chunks of about {} instead of {} would fit, or raise the limit",
                fmt_shape(&suggested),
                fmt_shape(&chunk)
            ),
        });
    }
    if f.peak > limit {
        return Err(Error::PlanExceedsMemory {
            what: "the plan, run in priority order,".into(),
            needed: f.peak,
            limit,
            hint: "spilling intermediates to disk is not implemented yet: use smaller chunks \
                   or a larger limit"
                .into(),
        });
    }
    Ok(())
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
        hint: "intermediates cannot be spilled yet; the synchronous scheduler runs in the \
               order whose peak was checked before starting"
            .into(),
    }
}

/// Bookkeeping shared by both schedulers.
struct State {
    results: Vec<Option<Arc<Value>>>,
    users_left: Vec<u32>,
    held: u64,
    metrics: Metrics,
}

impl State {
    fn new(graph: &TaskGraph) -> Self {
        State {
            results: vec![None; graph.len()],
            users_left: (0..graph.len() as TaskId)
                .map(|t| graph.users(t).len() as u32)
                .collect(),
            held: 0,
            metrics: Metrics::default(),
        }
    }

    /// Records the peak of held plus `running` reserved bytes.
    fn note_reserved(&mut self, running: u64) {
        self.metrics.peak_reserved_bytes =
            self.metrics.peak_reserved_bytes.max(self.held + running);
    }

    fn inputs(&self, graph: &TaskGraph, t: TaskId) -> Result<Vec<(TaskId, Arc<Value>)>> {
        graph
            .deps(t)
            .iter()
            .map(|&d| {
                self.results[d as usize]
                    .clone()
                    .map(|v| (d, v))
                    .ok_or_else(|| Error::internal(format!("task {t} ran before its input {d}")))
            })
            .collect()
    }

    /// Records that `t` finished with `value` (None for output blocks sent to the sink) and
    /// releases inputs whose last user this was.
    fn finish(&mut self, graph: &TaskGraph, t: TaskId, value: Option<Value>, read: u64) {
        self.metrics.tasks += 1;
        self.metrics.bytes_read += read;
        if let Some(v) = value {
            self.held += v.nbytes() as u64;
            self.results[t as usize] = Some(Arc::new(v));
        }
        self.metrics.peak_held_bytes = self.metrics.peak_held_bytes.max(self.held);
        for &d in graph.deps(t) {
            let left = &mut self.users_left[d as usize];
            *left -= 1;
            if *left == 0
                && let Some(v) = self.results[d as usize].take()
            {
                self.held -= v.nbytes() as u64;
            }
        }
    }
}

/// Runs one task and routes its output: output-stage blocks go to the sink.
/// Returns the value to keep (if any) and the bytes it read from a store.
fn run_one(
    plan: &Plan,
    graph: &TaskGraph,
    t: TaskId,
    inputs: &[(TaskId, Arc<Value>)],
    sink: &dyn Sink,
) -> Result<(Option<Value>, u64, u64)> {
    let stage_id = graph.stage[t as usize] as usize;
    let mut task_inputs = eval::Inputs::new(graph, inputs);
    let value = eval::run_task(plan, graph, t, &mut task_inputs)?;
    let read = task_inputs.read_bytes
        + match plan.stages[stage_id].kind {
            StageKind::Read { .. } => value.nbytes() as u64,
            _ => 0,
        };
    if stage_id != plan.output {
        return Ok((Some(value), read, 0));
    }
    let Value::Block(block) = value else {
        return Err(Error::internal("the output stage produced a partial"));
    };
    let bytes = block.nbytes() as u64;
    sink.consume(&graph.block_index(plan, t), block)?;
    Ok((None, read, bytes))
}

fn run_sync(
    plan: &Plan,
    graph: &TaskGraph,
    position: &[u32],
    sink: &dyn Sink,
    budget: &Budget<'_>,
) -> Result<Metrics> {
    let mut seq: Vec<TaskId> = vec![0; graph.len()];
    for (t, &p) in position.iter().enumerate() {
        seq[p as usize] = t as TaskId;
    }
    let mut state = State::new(graph);
    for t in seq {
        let need = budget.need[t as usize];
        if state.held + need > budget.limit {
            return Err(exhausted(plan, graph, t, need, state.held, budget.limit));
        }
        state.note_reserved(need);
        let inputs = state.inputs(graph, t)?;
        let (value, read, out) = run_one(plan, graph, t, &inputs, sink)?;
        drop(inputs);
        state.metrics.bytes_output += out;
        state.finish(graph, t, value, read);
        budget.report(&state.metrics, state.held);
    }
    Ok(state.metrics)
}

struct Shared {
    state: State,
    reserved: u64,
    ready: BinaryHeap<Reverse<(u32, TaskId)>>,
    deps_left: Vec<u32>,
    running: usize,
    done: usize,
    error: Option<Error>,
}

fn run_threads(
    plan: &Plan,
    graph: &TaskGraph,
    position: &[u32],
    sink: &dyn Sink,
    budget: &Budget<'_>,
    threads: usize,
) -> Result<Metrics> {
    let deps_left: Vec<u32> = (0..graph.len() as TaskId)
        .map(|t| graph.deps(t).len() as u32)
        .collect();
    let ready = (0..graph.len() as TaskId)
        .filter(|&t| deps_left[t as usize] == 0)
        .map(|t| Reverse((position[t as usize], t)))
        .collect();
    let shared = Mutex::new(Shared {
        state: State::new(graph),
        reserved: 0,
        ready,
        deps_left,
        running: 0,
        done: 0,
        error: None,
    });
    let wake = Condvar::new();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("brickwork-worker-{i}"))
        .build()
        .map_err(|e| Error::internal(format!("cannot start the worker pool: {e}")))?;
    pool.scope(|s| {
        for _ in 0..threads {
            s.spawn(|_| worker(plan, graph, position, sink, budget, &shared, &wake));
        }
    });
    let shared = shared
        .into_inner()
        .map_err(|_| Error::internal("a worker panicked"))?;
    match shared.error {
        Some(e) => Err(e),
        None => Ok(shared.state.metrics),
    }
}

fn worker(
    plan: &Plan,
    graph: &TaskGraph,
    position: &[u32],
    sink: &dyn Sink,
    budget: &Budget<'_>,
    shared: &Mutex<Shared>,
    wake: &Condvar,
) {
    let n = graph.len();
    let mut guard = shared.lock().expect("scheduler lock");
    loop {
        if guard.error.is_some() || guard.done == n {
            wake.notify_all();
            return;
        }
        let Some(&Reverse((_, t))) = guard.ready.peek() else {
            if guard.running == 0 {
                guard.error = Some(Error::internal("no task is ready and none is running"));
                continue;
            }
            guard = wake.wait(guard).expect("scheduler lock");
            continue;
        };
        // Admission: a task starts only when its output and scratch fit under the limit.
        let need = budget.need[t as usize];
        if guard.state.held + guard.reserved + need > budget.limit {
            if guard.running == 0 {
                let held = guard.state.held;
                guard.error = Some(exhausted(plan, graph, t, need, held, budget.limit));
                continue;
            }
            guard = wake.wait(guard).expect("scheduler lock");
            continue;
        }
        guard.ready.pop();
        guard.reserved += need;
        let reserved = guard.reserved;
        guard.state.note_reserved(reserved);
        let inputs = match guard.state.inputs(graph, t) {
            Ok(i) => i,
            Err(e) => {
                guard.error = Some(e);
                continue;
            }
        };
        guard.running += 1;
        drop(guard);
        let result = run_one(plan, graph, t, &inputs, sink);
        drop(inputs);
        guard = shared.lock().expect("scheduler lock");
        guard.running -= 1;
        guard.reserved -= need;
        match result {
            Err(e) => {
                guard.error.get_or_insert(e);
            }
            Ok((value, read, out)) => {
                guard.state.metrics.bytes_output += out;
                guard.state.finish(graph, t, value, read);
                guard.done += 1;
                budget.report(&guard.state.metrics, guard.state.held + guard.reserved);
                for &u in graph.users(t) {
                    let left = &mut guard.deps_left[u as usize];
                    *left -= 1;
                    if *left == 0 {
                        guard.ready.push(Reverse((position[u as usize], u)));
                    }
                }
                // Wake everyone: besides newly ready tasks, memory was released.
                wake.notify_all();
            }
        }
    }
}

/// A plan's culled task graph with its priority order and predicted footprint, computed
/// once and shared by the fit check, `explain` and the executor.
#[derive(Debug)]
pub struct Scheduled {
    /// The culled task graph.
    pub graph: TaskGraph,
    /// Priority of every task (see [`order`]).
    pub position: Vec<u32>,
    /// Bytes per task and the predicted peak (see [`simulate`]).
    pub footprint: Footprint,
}

impl Scheduled {
    fn of(plan: &Plan) -> Result<Scheduled> {
        let graph = TaskGraph::build(plan)?;
        let position = order(&graph, plan.output as u32);
        let footprint = simulate(plan, &graph, &position);
        Ok(Scheduled {
            graph,
            position,
            footprint,
        })
    }
}

/// Builds and schedules the task graph for `plan` under `opts`' memory limit. Source chunks
/// are read by one task each and shared by their users; when holding them between uses
/// would not fit in the limit (a chunk read for `x.mean(axis=0)` and used again by
/// `x - mean`), the plan switches to reading sources inline: each task reads the chunks it
/// needs, so re-reading replaces holding.
///
/// # Errors
/// A graph over 2^32 tasks.
pub fn plan_tasks(plan: &mut Plan, opts: &ComputeOptions) -> Result<Scheduled> {
    let scheduled = Scheduled::of(plan)?;
    let has_reads = plan
        .stages
        .iter()
        .enumerate()
        .any(|(i, s)| i != plan.output && matches!(s.kind, StageKind::Read { .. }));
    if plan.inline_reads || !has_reads || scheduled.footprint.peak <= opts.effective_memory_limit()
    {
        return Ok(scheduled);
    }
    plan.inline_reads = true;
    Scheduled::of(plan)
}

/// Runs a whole plan: schedules it (see [`plan_tasks`]) and executes it.
///
/// # Errors
/// As [`execute`].
pub fn run_plan(plan: &mut Plan, opts: &ComputeOptions, sink: &dyn Sink) -> Result<Metrics> {
    let scheduled = plan_tasks(plan, opts)?;
    execute(plan, &scheduled, opts, sink)
}
