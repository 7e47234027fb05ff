//! The static priority order: depth-first post-order from the output tasks.

use super::{Cancel, TaskGraph, TaskId};
use crate::error::Result;

/// How [`order`] picks the next output task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootOrder {
    /// Output tasks in block order (row-major).
    Blocks,
    /// After an output task, the other output tasks that share one of its inputs, first:
    /// `x - x.mean(axis=0)` then finishes one column (its mean and chunks) before the next,
    /// and `x + x.T` runs block (j, i) right after (i, j), while their chunks are resident.
    Siblings,
    /// Output tasks in block order, and after each task, every task that reads one of its
    /// inputs and whose inputs are now all placed: an input several results need (a chunk
    /// read for both `x.sum()` and `x.mean()` in [`crate::compute_many`]) is used by all of
    /// them before the next one is read, instead of being held until the walk reaches the
    /// other results.
    Consumers,
}

/// Returns `position[t]`, the priority of every task (0 runs first). Inputs always come
/// before their users, so running tasks by ascending position is a valid sequential order.
///
/// The walk starts from the tasks of the output stages `outputs` (in the order `roots`
/// says) and descends into inputs in id order; a task is placed right after its last
/// unplaced input. This completes one output block (or one reduction group) before starting
/// the next, which keeps the number of live intermediate blocks near the depth of the graph
/// rather than its width.
///
/// # Errors
/// [`crate::Error::Cancelled`] once `cancel` is.
pub fn order(
    graph: &TaskGraph,
    outputs: &[u32],
    roots: RootOrder,
    cancel: Cancel<'_>,
) -> Result<Vec<u32>> {
    let n = graph.len();
    let mut position = vec![u32::MAX; n];
    let mut next = 0u32;
    let mut stack: Vec<(TaskId, usize)> = Vec::new();
    let is_root = |t: TaskId| outputs.contains(&graph.stage[t as usize]);
    // Inputs whose users were already queued (each input is expanded once).
    let mut expanded = vec![false; if roots == RootOrder::Siblings { n } else { 0 }];
    // For `Consumers`: inputs not yet placed, per task, and the tasks to place eagerly.
    let mut unplaced: Vec<u32> = match roots {
        RootOrder::Consumers => (0..n as TaskId)
            .map(|t| graph.deps(t).len() as u32)
            .collect(),
        RootOrder::Blocks | RootOrder::Siblings => Vec::new(),
    };
    let mut eager: Vec<TaskId> = Vec::new();
    let mut queue: Vec<TaskId> = Vec::new();
    for first in (0..n as TaskId).filter(|&t| is_root(t)) {
        queue.push(first);
        while let Some(root) = queue.pop() {
            if position[root as usize] != u32::MAX {
                continue;
            }
            stack.push((root, 0));
            while let Some(&mut (t, ref mut i)) = stack.last_mut() {
                let deps = graph.deps(t);
                if let Some(&d) = deps.get(*i) {
                    *i += 1;
                    if position[d as usize] == u32::MAX {
                        stack.push((d, 0));
                    }
                    continue;
                }
                stack.pop();
                if position[t as usize] == u32::MAX {
                    cancel.check(next as usize)?;
                    position[t as usize] = next;
                    next += 1;
                    if roots == RootOrder::Consumers {
                        eager.push(t);
                        place_consumers(graph, &mut position, &mut next, &mut unplaced, &mut eager);
                    }
                }
            }
            if roots == RootOrder::Siblings {
                let start = queue.len();
                for &d in graph.deps(root) {
                    if std::mem::replace(&mut expanded[d as usize], true) {
                        continue;
                    }
                    queue.extend(
                        graph
                            .users(d)
                            .iter()
                            .filter(|&&u| is_root(u) && position[u as usize] == u32::MAX),
                    );
                }
                // The stack pops from the end: keep block order among the siblings.
                queue[start..].reverse();
            }
        }
    }
    Ok(position)
}

/// [`RootOrder::Consumers`]: the tasks in `eager` were just placed; places every task that
/// reads one of their inputs and has all its inputs placed, and so on from those.
fn place_consumers(
    graph: &TaskGraph,
    position: &mut [u32],
    next: &mut u32,
    unplaced: &mut [u32],
    eager: &mut Vec<TaskId>,
) {
    while let Some(p) = eager.pop() {
        for &u in graph.users(p) {
            unplaced[u as usize] -= 1;
        }
        for &d in graph.deps(p) {
            for &u in graph.users(d) {
                if position[u as usize] == u32::MAX && unplaced[u as usize] == 0 {
                    position[u as usize] = *next;
                    *next += 1;
                    eager.push(u);
                }
            }
        }
    }
}
