//! The one fit check: before any work, refuse a scheduled plan with a task that cannot fit
//! in the memory limit on its own (tasks that fit one at a time can always run; what does
//! not fit together is spilled or recomputed).

use super::{Scheduled, TaskGraph};
use crate::error::{Error, Result};
use crate::grid::fmt_shape;
use crate::plan::Plan;
use crate::units::format_bytes;

/// Checks, without running anything, that every task of `scheduled` (a schedule of `plan`)
/// fits in `limit` bytes on its own beside `held`, what the run holds from start to end
/// (the graph, the schedule and the executor's tables).
///
/// # Errors
/// [`Error::PlanExceedsMemory`] naming the largest task, what it needs and a chunk shape
/// that would fit; or the task graph, when it is what leaves too little.
pub fn check_fits(plan: &Plan, scheduled: &Scheduled, limit: u64, held: u64) -> Result<()> {
    let f = scheduled.reservations();
    let graph: &TaskGraph = &scheduled.graph;
    if graph.is_empty() || f.largest_task.saturating_add(held) <= limit {
        return Ok(());
    }
    if held >= f.largest_task {
        return Err(Error::PlanExceedsMemory {
            what: format!("the task graph of {} tasks", graph.len()),
            needed: held.saturating_add(f.largest_task),
            limit,
            hint: format!(
                "the graph, its schedule and the executor's state of every task take {} \
                 and the largest task {}: larger chunks make fewer tasks, or raise the limit",
                format_bytes(held),
                format_bytes(f.largest_task)
            ),
        });
    }
    // What is left for a task beside what the run holds.
    let avail = limit - held.min(limit);
    let t = f.largest_task_id;
    let stage = &plan.stages[graph.stage[t as usize] as usize];
    let block = graph.block_index(plan, t);
    let chunk = stage.grid.max_chunk_shape();
    let scale = (avail as f64 / f.largest_task as f64).powf(1.0 / chunk.len().max(1) as f64) * 0.9;
    let suggested: Vec<usize> = chunk
        .iter()
        .map(|&c| ((c as f64 * scale) as usize).max(1))
        .collect();
    let output = stage.output_bytes(&block);
    // Smaller result chunks help only where the block itself is most of the task.
    let hint = if 2 * output < f.largest_task {
        format!(
            "the block is {} and what it reads the rest: smaller chunks of the arrays it \
             reads would fit, or raise the limit",
            format_bytes(output)
        )
    } else if suggested == chunk {
        "raise the limit".to_string()
    } else {
        format!(
            "chunks of about {} instead of {} would fit, or raise the limit",
            fmt_shape(&suggested),
            fmt_shape(&chunk)
        )
    };
    let error = Error::PlanExceedsMemory {
        what: format!("{} block {:?}", stage.name, block),
        needed: f.largest_task + held,
        limit,
        hint,
    };
    Err(if scheduled.reservations.is_some() {
        error.with_memory_hint(
            "; with worker processes a task's inputs, output and scratch are held twice, \
             here and in the worker process",
        )
    } else {
        error
    })
}
