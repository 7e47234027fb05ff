//! A fused elementwise program: every elementwise op, cast, transpose, index, rechunk and
//! generator between two materialization points, evaluated in one pass per block.

use super::{Recompute, StageOp, TaskRun};
use crate::error::Result;
use crate::grid::Region;
use crate::kernel::Datum;
use crate::plan::bytes::tile_bytes;
use crate::plan::program::Program;
use crate::plan::stage::Stage;

/// Evaluates a fused elementwise program over the block's region.
#[derive(Debug)]
pub struct Map {
    /// The program (its grid is the stage grid).
    pub program: Program,
}

impl StageOp for Map {
    fn op_name(&self) -> &'static str {
        "map"
    }

    fn programs(&self) -> Vec<&Program> {
        vec![&self.program]
    }

    fn program_regions(&self, block: &[usize]) -> Vec<(&Program, Region)> {
        vec![(&self.program, self.program.grid.region(block))]
    }

    /// One tile per program node.
    fn scratch_bytes(&self, _stage: &Stage, block: &[usize]) -> u64 {
        let elems = self.program.grid.block_shape(block).iter().product();
        tile_bytes(self.program.nodes.len(), elems)
    }

    fn recompute(&self) -> Recompute {
        Recompute::FromSources
    }

    fn run(&self, task: &mut TaskRun<'_>) -> Result<Datum> {
        let region = self.program.grid.region(task.block);
        Ok(Datum::Block(task.eval(&self.program, &region)?))
    }
}
