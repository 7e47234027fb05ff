//! The cluster scheduler ([`crate::Scheduler::Cluster`]): `W` workers in this process, each
//! with `T` threads, its own memory limit and its own spill store (dask.distributed's
//! `LocalCluster(processes=False, n_workers=W, threads_per_worker=T, memory_limit=M)`).
//!
//! Tasks are placed before the run, in priority order, on the worker that holds most of
//! their input bytes, unless that worker is ahead of the least loaded one by more than the
//! bytes the move would transfer (load counted in the bytes tasks touch), so chains stay on
//! one worker and independent work spreads out. Each worker keeps the outputs of the tasks
//! it ran in its own [`Residency`] under its own limit, evicting, spilling and recomputing as the
//! threads scheduler does. A task whose input another worker holds *fetches* it when it is
//! admitted: the input's bytes are reserved on the fetching worker like a read-back, the
//! value is shared in memory (or read from the holder's spill store, or recomputed when the
//! holder dropped it), and the worker keeps it until its own last user of it has run; the
//! holder keeps it until every user on every worker has. Each fetch is counted
//! ([`Metrics::transfers`], [`Metrics::bytes_transferred`]).
//!
//! Tasks are pure and reductions combine their inputs in dependency order, so results are
//! bit-identical to the other schedulers'.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::residency::{Admission, Decision, Held, Missing, Residency};
use super::spill::SpillStore;
use super::task::Ctx;
use crate::error::{Error, Result};
use crate::metrics::{MemoryUse, Metrics};
use crate::schedule::{Footprint, TaskGraph, TaskId};

/// What the workers share, under one lock.
struct State<'a> {
    residencies: Vec<Residency<'a>>,
    /// Ready tasks of each worker by priority.
    ready: Vec<BinaryHeap<Reverse<(u32, TaskId)>>>,
    deps_left: Vec<u32>,
    done: usize,
    /// Tasks running on all workers.
    running: usize,
    error: Option<Error>,
}

impl State<'_> {
    /// The figures of all workers so far (peaks: the largest worker's).
    fn metrics(&self) -> Metrics {
        self.residencies
            .iter()
            .fold(Metrics::default(), |m, p| m.then(&p.metrics))
    }

    /// Memory in use by all workers together.
    fn usage(&self) -> MemoryUse {
        self.residencies
            .iter()
            .fold(MemoryUse::default(), |u, p| u.plus(&p.usage()))
    }
}

/// Runs `ctx`'s plan on `workers` workers of `threads` threads each.
///
/// # Errors
/// As the threads scheduler: the first error a task returns, [`Error::Cancelled`], or
/// [`Error::ResourcesExhausted`] when a worker cannot fit a task it was given.
pub(super) fn run(
    ctx: &Ctx<'_>,
    footprint: &Footprint,
    workers: usize,
    threads: usize,
) -> Result<Metrics> {
    let graph = ctx.graph;
    let owner = place(
        graph,
        ctx.position,
        &footprint.need,
        &footprint.output,
        workers,
    );
    let users = users_per_worker(graph, &owner, workers);
    let residencies = users
        .into_iter()
        .enumerate()
        .map(|(w, u)| {
            // Each worker has its own table of every task's state; the schedule is the
            // process's one copy, counted in the first worker's residency.
            let tables = graph.len() as u64 * super::residency::TASK_STATE_BYTES;
            let held = if w == 0 {
                tables + ctx.schedule_bytes
            } else {
                tables
            };
            Residency::with_users(
                ctx.plan,
                graph,
                &footprint.need,
                &footprint.output,
                ctx.limit,
                held,
                u,
            )
        })
        .collect();
    let deps_left: Vec<u32> = (0..graph.len() as TaskId)
        .map(|t| graph.deps(t).len() as u32)
        .collect();
    let mut ready: Vec<BinaryHeap<Reverse<(u32, TaskId)>>> =
        (0..workers).map(|_| BinaryHeap::new()).collect();
    for t in (0..graph.len() as TaskId).filter(|&t| deps_left[t as usize] == 0) {
        ready[owner[t as usize] as usize].push(Reverse((ctx.position[t as usize], t)));
    }
    let shared = Mutex::new(State {
        residencies,
        ready,
        deps_left,
        done: 0,
        running: 0,
        error: None,
    });
    let wake = Condvar::new();
    // Each worker spills into its own directory.
    let spills: Vec<SpillStore> = (0..workers)
        .map(|_| SpillStore::new(ctx.opts.spill_dir.clone()))
        .collect();
    let ctxs: Vec<Ctx<'_>> = spills
        .iter()
        .map(|spill| Ctx {
            plan: ctx.plan,
            graph,
            position: ctx.position,
            sinks: ctx.sinks,
            opts: ctx.opts,
            total: ctx.total,
            limit: ctx.limit,
            schedule_bytes: ctx.schedule_bytes,
            spill,
            cpu: None,
            remote: None,
        })
        .collect();
    // Plain OS threads (see `super::threads`: a worker loop run as a rayon job can be
    // stolen onto the stack of a task waiting in rayon, and wait for it forever).
    std::thread::scope(|s| -> Result<()> {
        for (w, wctx) in ctxs.iter().enumerate() {
            for i in 0..threads {
                let (shared, wake, owner) = (&shared, &wake, &owner);
                let row = w * threads + i;
                std::thread::Builder::new()
                    .name(format!("brickwork-cluster-{row}"))
                    .spawn_scoped(s, move || worker(wctx, w, row, owner, shared, wake))
                    .map_err(|e| Error::internal_from("cannot start the cluster's threads", e))?;
            }
        }
        Ok(())
    })?;
    let state = shared
        .into_inner()
        .map_err(|_| Error::internal("a cluster worker panicked"))?;
    match state.error {
        Some(e) => Err(e),
        None => Ok(state.metrics()),
    }
}

/// The worker of every task: in priority order, the one holding most of its input bytes,
/// unless it is ahead of the least loaded worker by more than the bytes moving would
/// transfer. Deterministic (the MPI scheduler's ranks each compute the same placement).
pub(super) fn place(
    graph: &TaskGraph,
    position: &[u32],
    need: &[u64],
    output: &[u64],
    workers: usize,
) -> Vec<u16> {
    place_following(graph, position, need, output, workers, &[])
}

/// [`place`], except that the tasks marked in `follow` (source chunks that every worker
/// reads itself rather than fetching) are not placed on their own: each goes where its
/// first user (in priority order) goes, so that its later users are drawn to the same
/// worker, which then reads the chunk once for all of them (`x + x.T`: block (j, i) joins
/// block (i, j), both reading chunks (i, j) and (j, i)).
pub(super) fn place_following(
    graph: &TaskGraph,
    position: &[u32],
    need: &[u64],
    output: &[u64],
    workers: usize,
    follow: &[bool],
) -> Vec<u16> {
    let n = graph.len();
    let mut seq: Vec<TaskId> = vec![0; n];
    for (t, &p) in position.iter().enumerate() {
        seq[p as usize] = t as TaskId;
    }
    let follows = |t: TaskId| follow.get(t as usize).copied().unwrap_or(false);
    let mut owner = vec![0u16; n];
    // Whether a task's owner is decided: a follower's once its first user is placed.
    let mut placed: Vec<bool> = (0..n as TaskId).map(|t| !follows(t)).collect();
    let mut load = vec![0u64; workers];
    let mut local = vec![0u64; workers];
    for t in seq {
        if follows(t) {
            continue;
        }
        local.iter_mut().for_each(|b| *b = 0);
        for &d in graph.deps(t) {
            if placed[d as usize] {
                local[owner[d as usize] as usize] += output[d as usize];
            }
        }
        let inputs: u64 = local.iter().sum();
        let least = load.iter().copied().min().unwrap_or(0);
        let best = (0..workers)
            .min_by_key(|&w| ((inputs - local[w]) + (load[w] - least), w))
            .unwrap_or(0);
        owner[t as usize] = best as u16;
        load[best] += need[t as usize].max(1);
        for &d in graph.deps(t) {
            if !placed[d as usize] {
                owner[d as usize] = best as u16;
                placed[d as usize] = true;
            }
        }
    }
    owner
}

/// For each worker, how many users of each task's output will read it there: the users it
/// runs, and for the outputs it computes, every user (those on other workers fetch it).
fn users_per_worker(graph: &TaskGraph, owner: &[u16], workers: usize) -> Vec<Vec<u32>> {
    let n = graph.len();
    let mut users = vec![vec![0u32; n]; workers];
    for t in 0..n as TaskId {
        let holder = owner[t as usize] as usize;
        for &u in graph.users(t) {
            let at = owner[u as usize] as usize;
            users[at][t as usize] += 1;
            if at != holder {
                users[holder][t as usize] += 1;
            }
        }
    }
    users
}

fn lock<'s, 'a>(m: &'s Mutex<State<'a>>) -> MutexGuard<'s, State<'a>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Marks the inputs of `t` that other workers hold as remote on worker `w`; false when one
/// of them is being brought back by its holder (wait and ask again).
fn find_remote(
    state: &mut State<'_>,
    graph: &TaskGraph,
    owner: &[u16],
    w: usize,
    t: TaskId,
) -> Result<bool> {
    for &d in graph.deps(t) {
        let holder = owner[d as usize] as usize;
        if holder == w || !state.residencies[w].lacks(d) {
            continue;
        }
        match state.residencies[holder].where_is(d) {
            Held::Busy => return Ok(false),
            Held::Gone => {
                return Err(Error::internal(format!(
                    "input {d} of task {t} was released by worker {holder} before its users ran"
                )));
            }
            Held::Datum(_) | Held::File | Held::Dropped => state.residencies[w].mark_remote(d),
        }
    }
    Ok(true)
}

/// Fetches the remote inputs of an admitted task from their holders (under the lock, which
/// keeps them where [`find_remote`] saw them).
fn fetch(
    ctx: &Ctx<'_>,
    state: &mut State<'_>,
    owner: &[u16],
    w: usize,
    adm: &mut Admission,
    local: &mut Metrics,
) -> Result<()> {
    for (d, m) in adm.missing.iter_mut() {
        if !matches!(m, Missing::Remote) {
            continue;
        }
        let holder = owner[*d as usize] as usize;
        *m = match state.residencies[holder].where_is(*d) {
            Held::Datum(v) => Missing::Fetched(v),
            Held::File => Missing::Fetched(Arc::new(state.residencies[holder].read_spilled(*d)?)),
            Held::Dropped => {
                // Recomputed here from its sources: not a transfer.
                *m = Missing::Recompute;
                continue;
            }
            Held::Busy | Held::Gone => {
                return Err(Error::internal(format!(
                    "input {d} moved while task {} was admitted",
                    adm.task
                )));
            }
        };
        let bytes = graph_output(ctx, *d);
        local.transfers += 1;
        local.bytes_transferred += bytes;
        ctx.opts.observers.each(|o| o.transfer(holder, w, bytes));
    }
    Ok(())
}

fn worker(
    ctx: &Ctx<'_>,
    w: usize,
    row: usize,
    owner: &[u16],
    shared: &Mutex<State<'_>>,
    wake: &Condvar,
) {
    let graph = ctx.graph;
    let n = graph.len();
    let mut guard = lock(shared);
    loop {
        let done = guard.done;
        if ctx.stopping(&mut guard.error, done, n) {
            wake.notify_all();
            return;
        }
        let Some(&Reverse((_, t))) = guard.ready[w].peek() else {
            if guard.running == 0 && guard.ready.iter().all(BinaryHeap::is_empty) {
                guard.error = Some(Error::internal("no task is ready and none is running"));
                continue;
            }
            guard = wake.wait(guard).unwrap_or_else(|p| p.into_inner());
            continue;
        };
        match find_remote(&mut guard, graph, owner, w, t) {
            Ok(true) => {}
            Ok(false) => {
                guard = wake.wait(guard).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            Err(e) => {
                guard.error = Some(e);
                continue;
            }
        }
        let mut local = Metrics::default();
        let mut adm = match guard.residencies[w].try_admit(t) {
            Err(e) => {
                guard.error = Some(e);
                continue;
            }
            Ok(Decision::Wait) => {
                guard = wake.wait(guard).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            Ok(Decision::Spill(victims)) => {
                drop(guard);
                let files = ctx.write_spills(&victims, &mut local);
                guard = lock(shared);
                if let Err(e) = guard.residencies[w].spills_written(files) {
                    guard.error.get_or_insert(e);
                }
                guard.residencies[w].metrics.absorb(&local);
                wake.notify_all();
                continue;
            }
            Ok(Decision::Run(adm)) => adm,
        };
        ctx.admitted(&guard.usage(), &guard.metrics());
        guard.ready[w].pop();
        if let Err(e) = fetch(ctx, &mut guard, owner, w, &mut adm, &mut local) {
            guard.residencies[w].abandon(adm);
            guard.error.get_or_insert(e);
            continue;
        }
        guard.running += 1;
        drop(guard);
        let result = ctx.run_guarded(&mut adm, &mut local, row);
        guard = lock(shared);
        guard.running -= 1;
        match result {
            Err(e) => {
                guard.residencies[w].abandon(adm);
                guard.error.get_or_insert(e);
            }
            Ok((restored, value)) => {
                guard.residencies[w].finish(adm, restored, value);
                guard.residencies[w].metrics.absorb(&local);
                for &d in graph.deps(t) {
                    let holder = owner[d as usize] as usize;
                    if holder != w {
                        guard.residencies[holder].remote_use_done(d);
                    }
                }
                guard.done += 1;
                let bytes = guard.residencies[w].in_use();
                ctx.opts.observers.each(|o| o.worker_memory(w, bytes));
                ctx.report(&guard.metrics(), &guard.usage());
                for &u in graph.users(t) {
                    let left = &mut guard.deps_left[u as usize];
                    *left -= 1;
                    if *left == 0 {
                        let at = owner[u as usize] as usize;
                        guard.ready[at].push(Reverse((ctx.position[u as usize], u)));
                    }
                }
            }
        }
        wake.notify_all();
    }
}

/// Bytes of task `d`'s output block.
fn graph_output(ctx: &Ctx<'_>, d: TaskId) -> u64 {
    let stage = &ctx.plan.stages[ctx.graph.stage[d as usize] as usize];
    stage.output_bytes(&ctx.graph.block_index(ctx.plan, d))
}
