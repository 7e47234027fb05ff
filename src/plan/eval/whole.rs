//! Operands evaluated whole: a program over a whole region as one block, or the input block
//! itself when the program reads one whole block as it is (contractions and user functions
//! take their operands whole).

use super::inputs::Inputs;
use super::program::{Operand, blocks_leaf, single_chunk};
use super::tiles::eval_tiled;
use crate::block::{Block, BlockRef};
use crate::error::Result;
use crate::grid::Region;
use crate::plan::Plan;
use crate::plan::program::{PNode, Program};

/// Evaluates a program over a whole region into one block: a program that only reads an
/// earlier stage's blocks gathers them straight into the result (one copy, no tiles);
/// others run tile by tile.
pub(crate) fn eval_whole(
    plan: &Plan,
    program: &Program,
    region: &Region,
    inputs: &Inputs,
) -> Result<Block> {
    if let [PNode::Blocks { stage, view }] = program.nodes.as_slice() {
        return Ok(match blocks_leaf(plan, *stage, view, region, inputs)? {
            Operand::Borrowed(b) => b.clone(),
            Operand::Owned(b) => b,
        });
    }
    eval_tiled(plan, program, region, inputs)
}

/// An operand taken whole (by a user function or a contraction): borrowed from the task's
/// inputs when the program reads one whole block as it is, else evaluated.
pub(crate) enum MapArg<'a> {
    Ref(BlockRef<'a>),
    Owned(Block),
}

impl MapArg<'_> {
    /// The operand as a block.
    pub(crate) fn get(&self) -> BlockRef<'_> {
        match self {
            MapArg::Ref(r) => *r,
            MapArg::Owned(b) => BlockRef::Block(b),
        }
    }
}

/// Operand `program` over `region`: the input block itself when the program reads one
/// whole block as it is, else evaluated whole.
pub(crate) fn map_arg<'a>(
    plan: &Plan,
    program: &Program,
    region: &Region,
    inputs: &'a Inputs,
) -> Result<MapArg<'a>> {
    if let [PNode::Blocks { stage, view }] = program.nodes.as_slice() {
        let grid = &plan.stages[*stage].grid;
        if let Some(chunk) = single_chunk(grid, view, region)
            && grid.region(&chunk) == *region
        {
            return Ok(MapArg::Ref(inputs.block(*stage, grid.linear(&chunk))?));
        }
    }
    Ok(MapArg::Owned(eval_whole(plan, program, region, inputs)?))
}
