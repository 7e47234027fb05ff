//! The static priority order: depth-first post-order from the output tasks.

use super::{TaskGraph, TaskId};

/// How [`order`] picks the next output task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootOrder {
    /// Output tasks in block order (row-major).
    Blocks,
    /// After an output task, the other output tasks that share one of its inputs, first:
    /// `x - x.mean(axis=0)` then finishes one column (its mean and chunks) before the next,
    /// and `x + x.T` runs block (j, i) right after (i, j), while their chunks are resident.
    Siblings,
}

/// Returns `position[t]`, the priority of every task (0 runs first). Inputs always come
/// before their users, so running tasks by ascending position is a valid sequential order.
///
/// The walk starts from the output stage's tasks (in the order `roots` says) and descends
/// into inputs in id order; a task is placed right after its last unplaced input. This
/// completes one output block (or one reduction group) before starting the next, which
/// keeps the number of live intermediate blocks near the depth of the graph rather than its
/// width.
pub fn order(graph: &TaskGraph, output_stage: u32, roots: RootOrder) -> Vec<u32> {
    let n = graph.len();
    let mut position = vec![u32::MAX; n];
    let mut next = 0u32;
    let mut stack: Vec<(TaskId, usize)> = Vec::new();
    let is_root = |t: TaskId| graph.stage[t as usize] == output_stage;
    // Inputs whose users were already queued (each input is expanded once).
    let mut expanded = vec![false; if roots == RootOrder::Siblings { n } else { 0 }];
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
                    position[t as usize] = next;
                    next += 1;
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
    position
}
