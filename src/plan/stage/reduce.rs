//! The first level of a tree reduction: a partial per input block.

use super::{Recompute, StageOp, TaskRun};
use crate::error::Result;
use crate::expr::ReduceSpec;
use crate::grid::Region;
use crate::kernel::Datum;
use crate::plan::bytes::{TILE_ELEMS, partial_elem_bytes, tile_bytes};
use crate::plan::eval::reduce_tiled;
use crate::plan::program::Program;
use crate::plan::stage::Stage;

/// Evaluates a program over block `b` of `program.grid` and reduces it to a partial; the
/// stage grid has the same block counts with reduced axes of length 1 per block.
/// [`super::ReduceCombine`] stages combine the partials.
#[derive(Debug)]
pub struct ReducePartial {
    /// The reduction's input, fused.
    pub program: Program,
    /// The reduction.
    pub spec: ReduceSpec,
}

impl StageOp for ReducePartial {
    fn op_name(&self) -> &'static str {
        "reduce"
    }

    fn programs(&self) -> Vec<&Program> {
        vec![&self.program]
    }

    fn program_regions(&self, block: &[usize]) -> Vec<(&Program, Region)> {
        vec![(&self.program, self.program.grid.region(block))]
    }

    /// A partial: its accumulators.
    fn output_bytes(&self, stage: &Stage, block: &[usize]) -> u64 {
        let elems = stage.grid.block_shape(block).iter().product::<usize>() as u64;
        elems * partial_elem_bytes(self.spec.op)
    }

    /// One tile per program node and two more for the reduction, and a tile's partial.
    fn scratch_bytes(&self, stage: &Stage, block: &[usize]) -> u64 {
        let elems = self.program.grid.block_shape(block).iter().product();
        tile_bytes(self.program.nodes.len() + 2, elems)
            + self
                .output_bytes(stage, block)
                .min(TILE_ELEMS as u64 * partial_elem_bytes(self.spec.op))
    }

    fn recompute(&self) -> Recompute {
        Recompute::FromSources
    }

    fn run(&self, task: &mut TaskRun<'_>) -> Result<Datum> {
        let region = self.program.grid.region(task.block);
        task.inputs
            .read_inline(task.plan, task.stage, &self.program, &region)?;
        Ok(Datum::Partial(reduce_tiled(
            task.plan,
            &self.program,
            &self.spec,
            &region,
            task.inputs,
        )?))
    }
}
