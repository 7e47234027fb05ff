//! Rank 0: the scheduler. It holds the plan, the placement ([`Layout`]) and one counter
//! per task (inputs not yet computed), never a block: it sends each task's id to the rank
//! placed to run it as soon as its inputs are computed (batched per rank), counts the
//! `DONE`s, and stops every rank when all tasks are done, one failed, or the computation
//! was cancelled. The figures of the run are the workers' (sent at the end).

use std::time::Instant;

use super::Layout;
use super::link::{Link, Received, tag};
use crate::error::{Error, Result};
use crate::exec::remote::{read_error, with_causes};
use crate::exec::spill::{get_u64, put_u64};
use crate::exec::task::Ctx;
use crate::metrics::{MemoryUse, Metrics};
use crate::observe::TaskDone;
use crate::schedule::TaskId;

/// Schedules `ctx`'s tasks on the worker ranks; returns the figures of all of them.
pub(super) fn run(ctx: &Ctx<'_>, layout: &Layout, mut link: Link) -> Result<Metrics> {
    let graph = ctx.graph;
    let n = graph.len();
    let size = link.size() as usize;
    let mut deps_left: Vec<u32> = (0..n as TaskId)
        .map(|t| {
            graph
                .deps(t)
                .iter()
                .filter(|&&d| !layout.local[d as usize])
                .count() as u32
        })
        .collect();
    let total = layout.local.iter().filter(|&&l| !l).count();
    let mut batches: Vec<Vec<u8>> = vec![Vec::new(); size];
    for t in 0..n as TaskId {
        if !layout.local[t as usize] && deps_left[t as usize] == 0 {
            put(&mut batches[layout.rank[t as usize] as usize], u64::from(t));
        }
    }
    // For the observers' timelines (a row per worker rank): when each task was sent, and
    // when each rank finished its last task. A rank computes one task at a time, so a task
    // ran from the later of the two until its DONE arrived (within a poll's pause).
    let watched = !ctx.opts.observers.is_empty();
    let start = Instant::now();
    let mut sent = vec![start; if watched { n } else { 0 }];
    let mut free = vec![start; size];
    let mut progress = Metrics::default();
    let mut done = 0;
    let mut error = None;
    while error.is_none() && done < total {
        for (r, batch) in batches.iter_mut().enumerate() {
            if !batch.is_empty() {
                if watched {
                    let now = Instant::now();
                    for id in batch.chunks_exact(8) {
                        let t = u64::from_ne_bytes(id.try_into().unwrap_or_default());
                        sent[t as usize] = now;
                    }
                }
                link.send(r as i32, tag::TASKS, std::mem::take(batch));
            }
        }
        if let Err(e) = ctx.check_cancel() {
            error = Some(e);
            break;
        }
        let mut any = false;
        while let Some(m) = link.poll() {
            any = true;
            match m.tag {
                tag::DONE => {
                    let t = done_task(&m, &mut progress)?;
                    done += 1;
                    if watched && m.from > 0 {
                        let (r, finished) = (m.from as usize, Instant::now());
                        let task = TaskDone {
                            row: r - 1,
                            stage: graph.stage[t as usize] as usize,
                            started: sent[t as usize].max(free[r]),
                            finished,
                        };
                        free[r] = finished;
                        ctx.opts.observers.each(|o| o.task_done(&task));
                    }
                    for &u in graph.users(t) {
                        let left = &mut deps_left[u as usize];
                        *left -= 1;
                        if *left == 0 {
                            put(&mut batches[layout.rank[u as usize] as usize], u64::from(u));
                        }
                    }
                    ctx.report(&progress, &MemoryUse::default());
                }
                tag::FAILED => {
                    error = Some(failure(ctx, &m));
                    break;
                }
                other => {
                    error = Some(Error::internal(format!(
                        "message {other} from rank {} to rank 0",
                        m.from
                    )));
                    break;
                }
            }
        }
        link.reap();
        if !any {
            std::thread::sleep(link.idle());
        }
    }
    let text = error.as_ref().map(with_causes).unwrap_or_default();
    for r in 1..size {
        link.send(r as i32, tag::STOP, text.clone().into_bytes());
    }
    let mut metrics = Metrics::default();
    let mut unreadable = None;
    link.finish(|m| {
        if m.tag == tag::METRICS {
            match get_metrics(&m.bytes) {
                Ok(theirs) => metrics = metrics.then(&theirs),
                Err(e) => unreadable = Some(e),
            }
        }
    });
    if let Some(e) = error {
        return Err(e);
    }
    if let Some(e) = unreadable {
        return Err(Error::internal_from("an unreadable message from a rank", e));
    }
    Ok(metrics)
}

fn put(batch: &mut Vec<u8>, v: u64) {
    batch.extend_from_slice(&v.to_ne_bytes());
}

/// Reads a `DONE`: the task, and its bytes read and written into `progress`.
fn done_task(m: &Received, progress: &mut Metrics) -> Result<TaskId> {
    let mut r = &m.bytes[..];
    let mut word = || {
        get_u64(&mut r).map_err(|e| Error::Rank {
            rank: m.from,
            detail: format!("an unreadable message: {e}"),
        })
    };
    let t = word()? as TaskId;
    progress.bytes_read += word()?;
    progress.bytes_output += word()?;
    progress.tasks += 1;
    Ok(t)
}

/// The error a `FAILED` from a rank carries.
fn failure(ctx: &Ctx<'_>, m: &Received) -> Error {
    let rank = m.from;
    let mut r = &m.bytes[..];
    let read = get_u64(&mut r).and_then(|t| {
        let t = (t as usize).min(ctx.graph.len().saturating_sub(1)) as TaskId;
        read_error(&mut r, ctx.graph, t)
    });
    match read {
        Ok(failure) => failure.into_error(&format!("MPI rank {rank}"), |detail| Error::Rank {
            rank,
            detail,
        }),
        Err(e) => Error::Rank {
            rank,
            detail: format!("an unreadable message: {e}"),
        },
    }
}

/// The figures a worker sends at the end, as `put_metrics` wrote them.
fn get_metrics(bytes: &[u8]) -> std::io::Result<Metrics> {
    let mut r = bytes;
    let mut m = Metrics::default();
    for field in fields(&mut m) {
        *field = get_u64(&mut r)?;
    }
    Ok(m)
}

/// Writes a worker's figures for rank 0 (the counters and peaks; not the times per kind
/// of operation).
pub(super) fn put_metrics(m: &Metrics) -> Vec<u8> {
    let mut m = m.clone();
    let mut bytes = Vec::new();
    for field in fields(&mut m) {
        put_u64(&mut bytes, *field).expect("writing to memory");
    }
    bytes
}

fn fields(m: &mut Metrics) -> [&mut u64; 13] {
    [
        &mut m.tasks,
        &mut m.bytes_read,
        &mut m.bytes_output,
        &mut m.peak_held_bytes,
        &mut m.peak_reserved_bytes,
        &mut m.bytes_spilled,
        &mut m.blocks_spilled,
        &mut m.bytes_read_back,
        &mut m.blocks_dropped,
        &mut m.blocks_recomputed,
        &mut m.transfers,
        &mut m.bytes_transferred,
        &mut m.memory_limit,
    ]
}
