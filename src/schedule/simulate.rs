//! Replays a sequential run of the task graph in priority order, counting the bytes held,
//! to predict the peak before anything runs. Block sizes are known in advance, so this is
//! exact for the synchronous scheduler (up to the estimates of scratch space).

use super::{Cancel, TaskGraph, TaskId};
use crate::error::Result;
use crate::plan::Plan;

/// What a run needs, predicted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Peak bytes held at once (task outputs waiting for their users, plus the running
    /// task's output and scratch) when tasks run one at a time in priority order.
    pub peak: u64,
    /// The largest single-task requirement: inputs + output + scratch (+ the scratch to
    /// recompute one input).
    pub largest_task: u64,
    /// The task with that requirement.
    pub largest_task_id: TaskId,
    /// Output and scratch bytes per task (what the executor reserves before running it).
    pub need: Vec<u64>,
    /// Output bytes per task.
    pub output: Vec<u64>,
}

/// Simulates running `graph` by ascending `position`.
///
/// # Errors
/// [`crate::Error::Cancelled`] once `cancel` is.
pub fn simulate(
    plan: &Plan,
    graph: &TaskGraph,
    position: &[u32],
    cancel: Cancel<'_>,
) -> Result<Footprint> {
    let n = graph.len();
    let mut output = vec![0u64; n];
    let mut need = vec![0u64; n];
    for t in 0..n as TaskId {
        cancel.check(t as usize)?;
        let stage = &plan.stages[graph.stage[t as usize] as usize];
        let block = graph.block_index(plan, t);
        let out = stage.output_bytes(&block);
        output[t as usize] = out;
        // Output blocks written to a store also need buffers while they are encoded.
        let s = graph.stage[t as usize] as usize;
        let write = plan.write_bytes(s, graph.block[t as usize] as usize, out);
        need[t as usize] = out + write + plan.scratch_bytes(s, &block);
    }
    let mut seq = vec![0 as TaskId; n];
    for (t, &p) in position.iter().enumerate() {
        seq[p as usize] = t as TaskId;
    }
    let mut users_left: Vec<u32> = (0..n as TaskId)
        .map(|t| graph.users(t).len() as u32)
        .collect();
    let mut f = Footprint::default();
    let mut live = 0u64;
    for (i, &t) in seq.iter().enumerate() {
        cancel.check(i)?;
        // Inputs, plus the scratch of the largest input task that may have to be recomputed
        // (see `exec::residency`).
        let inputs: u64 = graph.deps(t).iter().map(|&d| output[d as usize]).sum();
        let recompute = graph
            .deps(t)
            .iter()
            .filter(|&&d| graph.deps(d).is_empty())
            .map(|&d| need[d as usize] - output[d as usize])
            .max()
            .unwrap_or(0);
        let task = inputs + need[t as usize] + recompute;
        if task > f.largest_task {
            f.largest_task = task;
            f.largest_task_id = t;
        }
        f.peak = f.peak.max(live + need[t as usize]);
        // Output blocks go to the sink, unless a user needs them (a scan's next block).
        if !plan.is_output(graph.stage[t as usize] as usize) || !graph.users(t).is_empty() {
            live += output[t as usize];
        }
        for &d in graph.deps(t) {
            users_left[d as usize] -= 1;
            if users_left[d as usize] == 0 {
                live -= output[d as usize];
            }
        }
    }
    f.need = need;
    f.output = output;
    Ok(f)
}

impl Footprint {
    /// What tasks reserve when they run in worker processes: besides their output and
    /// scratch here, the worker's copy of their inputs, output and scratch.
    pub fn with_worker_copies(&self, graph: &TaskGraph) -> Footprint {
        let need = (0..graph.len() as TaskId)
            .map(|t| {
                let inputs: u64 = graph.deps(t).iter().map(|&d| self.output[d as usize]).sum();
                2 * self.need[t as usize] + inputs
            })
            .collect();
        Footprint {
            peak: self.peak,
            // The largest task's inputs, output and scratch, once here and once in a worker.
            largest_task: 2 * self.largest_task,
            largest_task_id: self.largest_task_id,
            need,
            output: self.output.clone(),
        }
    }
}
