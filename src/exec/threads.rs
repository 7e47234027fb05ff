//! The threads scheduler's loop: `n` worker threads share one lock over the residency
//! and the ready queue; each takes the highest-priority ready task whose reservation fits,
//! runs it without holding the lock, and publishes its output, waking the others.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Condvar, Mutex};

use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::schedule::TaskId;

use super::residency::{Decision, Residency};
use super::task::Ctx;

struct Shared<'a> {
    residency: Residency<'a>,
    ready: BinaryHeap<Reverse<(u32, TaskId)>>,
    deps_left: Vec<u32>,
    done: usize,
    error: Option<Error>,
}

/// Runs the tasks on `threads` workers (at most `ctx.cpu` of them compute at once).
pub(super) fn run_threads(
    ctx: &Ctx<'_>,
    residency: Residency<'_>,
    threads: usize,
) -> Result<Metrics> {
    let graph = ctx.graph;
    let deps_left: Vec<u32> = (0..graph.len() as TaskId)
        .map(|t| graph.deps(t).len() as u32)
        .collect();
    let ready = (0..graph.len() as TaskId)
        .filter(|&t| deps_left[t as usize] == 0)
        .map(|t| Reverse((ctx.position[t as usize], t)))
        .collect();
    let shared = Mutex::new(Shared {
        residency,
        ready,
        deps_left,
        done: 0,
        error: None,
    });
    let wake = Condvar::new();
    // Plain OS threads, not jobs of a rayon pool: a task that calls into rayon (zarrs
    // encodes and decodes with it) may, while it waits, run other jobs of its pool on its
    // own stack — a worker loop not yet started among them, which then waits for the task
    // below it forever. Rayon calls made by tasks go to the global pool instead.
    std::thread::scope(|s| -> Result<()> {
        for row in 0..threads {
            let (shared, wake) = (&shared, &wake);
            std::thread::Builder::new()
                .name(format!("brickwork-worker-{row}"))
                .spawn_scoped(s, move || worker(ctx, shared, wake, row))
                .map_err(|e| Error::internal_from("cannot start a worker thread", e))?;
        }
        Ok(())
    })?;
    let shared = shared
        .into_inner()
        .map_err(|_| Error::internal("a worker panicked"))?;
    match shared.error {
        Some(e) => Err(e),
        None => Ok(shared.residency.metrics),
    }
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
            if guard.residency.running == 0 {
                guard.error = Some(Error::internal("no task is ready and none is running"));
                continue;
            }
            guard = wake.wait(guard).expect("scheduler lock");
            continue;
        };
        // Admission: a task starts only when its reservation fits under the limit, after
        // evicting what it must. A fetch from an object store beyond the computing tasks
        // runs ahead of them: it is admitted only into free memory, and evicts nothing.
        let ahead = ctx
            .cpu
            .as_ref()
            .is_some_and(|c| c.fetches(ctx.graph.stage[t as usize] as usize))
            && guard.residency.running >= ctx.opts.effective_threads();
        let decision = if ahead {
            guard.residency.try_admit_ahead(t)
        } else {
            guard.residency.try_admit(t)
        };
        let mut local = Metrics::default();
        let mut adm = match decision {
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
                if let Err(e) = guard.residency.spills_written(files) {
                    guard.error.get_or_insert(e);
                }
                guard.residency.metrics.absorb(&local);
                wake.notify_all();
                continue;
            }
            Ok(Decision::Run(adm)) => adm,
        };
        ctx.admitted(&guard.residency.usage(), &guard.residency.metrics);
        guard.ready.pop();
        drop(guard);
        let result = ctx.run_guarded(&mut adm, &mut local, row);
        guard = shared.lock().expect("scheduler lock");
        match result {
            Err(e) => {
                guard.residency.abandon(adm);
                guard.error.get_or_insert(e);
            }
            Ok((restored, value)) => {
                let t = adm.task;
                guard.residency.finish(adm, restored, value);
                guard.residency.metrics.absorb(&local);
                guard.done += 1;
                ctx.report(&guard.residency.metrics, &guard.residency.usage());
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
