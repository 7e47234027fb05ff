//! Reshapes whose blocks are blocks of the input read in C order under another shape.

use std::sync::Arc;

use super::{Recompute, StageOp, TaskRun};
use crate::error::Result;
use crate::expr::ReshapeMap;
use crate::grid::Region;
use crate::kernel::Datum;
use crate::plan::bytes::tile_bytes;
use crate::plan::program::Program;
use crate::plan::stage::Stage;

/// The elements of block [`ReshapeMap::input_block`] of `program`'s grid, in the same C
/// order under this block's shape.
#[derive(Debug)]
pub struct Reshape {
    /// The operand, fused.
    pub program: Program,
    /// Which input block each block is.
    pub map: Arc<ReshapeMap>,
}

impl StageOp for Reshape {
    fn op_name(&self) -> &'static str {
        "reshape"
    }

    fn programs(&self) -> Vec<&Program> {
        vec![&self.program]
    }

    fn program_regions(&self, block: &[usize]) -> Vec<(&Program, Region)> {
        let input = self.map.input_block(block);
        vec![(&self.program, self.program.grid.region(&input))]
    }

    /// The program's tiles: the block is evaluated in the input's shape and reshaped in
    /// place.
    fn scratch_bytes(&self, _stage: &Stage, block: &[usize]) -> u64 {
        self.program_regions(block)
            .iter()
            .map(|(p, r)| tile_bytes(p.nodes.len(), r.len()))
            .sum()
    }

    fn recompute(&self) -> Recompute {
        Recompute::FromSources
    }

    fn run(&self, task: &mut TaskRun<'_>) -> Result<Datum> {
        let region = self.program.grid.region(&self.map.input_block(task.block));
        let value = task.eval(&self.program, &region)?;
        let shape = task.stage().grid.block_shape(task.block);
        Ok(Datum::Block(value.into_shape(&shape)?))
    }
}
