//! Arrays joined along an axis: each block is a block of one of the parts.

use super::{Recompute, StageOp, TaskRun};
use crate::block::Block;
use crate::error::Result;
use crate::grid::Region;
use crate::kernel::Datum;
use crate::plan::bytes::tile_bytes;
use crate::plan::program::Program;
use crate::plan::stage::Stage;

/// Arrays joined along `axis`: block `b` evaluates the program of the part holding it,
/// over the part's block `b - offsets[part]` along the axis.
#[derive(Debug)]
pub struct Concat {
    /// The parts, fused.
    pub parts: Vec<Program>,
    /// The axis joined along.
    pub axis: usize,
    /// Per part, the index along `axis` of its first block in the stage grid.
    pub offsets: Vec<usize>,
}

impl StageOp for Concat {
    fn op_name(&self) -> &'static str {
        "map"
    }

    fn programs(&self) -> Vec<&Program> {
        self.parts.iter().collect()
    }

    /// The part holding the block, over its own block; none when no part does.
    fn program_regions(&self, block: &[usize]) -> Vec<(&Program, Region)> {
        let axis = self.axis;
        let part = self.offsets.iter().rposition(|&o| o <= block[axis]);
        let Some((p, program)) = part.map(|p| (p, &self.parts[p])) else {
            return vec![];
        };
        let mut local = block.to_vec();
        local[axis] -= self.offsets[p];
        if local[axis] >= program.grid.axes()[axis].nchunks() || program.grid.nblocks() == 0 {
            return vec![];
        }
        vec![(program, program.grid.region(&local))]
    }

    /// The part's tiles.
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
        let Some((program, region)) = self.program_regions(task.block).pop() else {
            let stage = task.stage();
            return Ok(Datum::Block(Block::zeros(
                stage.dtype,
                &stage.grid.block_shape(task.block),
            )));
        };
        Ok(Datum::Block(task.eval(program, &region)?))
    }
}
