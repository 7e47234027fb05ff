//! The static priority order: depth-first post-order from the output tasks.

use super::{TaskGraph, TaskId};

/// Returns `position[t]`, the priority of every task (0 runs first). Inputs always come
/// before their users, so running tasks by ascending position is a valid sequential order.
///
/// The walk starts from the output stage's tasks in block order and descends into inputs
/// in id order; a task is placed right after its last unplaced input. This completes one
/// output block (or one reduction group) before starting the next, which keeps the number
/// of live intermediate blocks near the depth of the graph rather than its width.
pub fn order(graph: &TaskGraph, output_stage: u32) -> Vec<u32> {
    let n = graph.len();
    let mut position = vec![u32::MAX; n];
    let mut next = 0u32;
    let mut stack: Vec<(TaskId, usize)> = Vec::new();
    let roots = (0..n as TaskId).filter(|&t| graph.stage[t as usize] == output_stage);
    for root in roots {
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
    }
    position
}
