//! Running one task of the graph: its input tasks' values handed to its stage's kind
//! ([`StageOp::run`](crate::plan::stage::StageOp::run)), counting the bytes it read.

use std::sync::Arc;

use crate::error::Result;
use crate::kernel::Datum;
use crate::plan::Plan;
use crate::plan::eval::Inputs;
use crate::plan::stage::TaskRun;
use crate::schedule::{TaskGraph, TaskId};

/// Runs task `t` on `inputs` (the outputs of its input tasks) and returns its value with
/// the bytes it read from stores: its chunk for a read task, the chunks read inline
/// otherwise.
pub(crate) fn run_counted(
    plan: &Plan,
    graph: &TaskGraph,
    t: TaskId,
    inputs: &[(TaskId, Arc<Datum>)],
) -> Result<(Datum, u64)> {
    let mut task_inputs = Inputs::new(
        inputs
            .iter()
            .map(|(d, v)| {
                let (stage, block) = (graph.stage[*d as usize], graph.block[*d as usize]);
                (stage as usize, block as usize, v.clone())
            })
            .collect(),
    );
    let stage = graph.stage[t as usize] as usize;
    let block = graph.block_index(plan, t);
    let mut task = TaskRun::new(plan, stage, &block, &mut task_inputs);
    let value = plan.stages[stage].op.run(&mut task)?;
    Ok((value, task_inputs.read_bytes()))
}
