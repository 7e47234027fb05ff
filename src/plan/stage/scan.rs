//! Cumulative sums and products along an axis: each block starts from the one before it.

use super::{StageOp, TaskRun, program_inputs};
use crate::block::Block;
use crate::error::Result;
use crate::expr::ScanOp;
use crate::grid::Region;
use crate::kernel::{Datum, scan};
use crate::plan::bytes::tile_bytes;
use crate::plan::program::Program;
use crate::plan::stage::Stage;
use crate::plan::{Plan, StageId};

/// A cumulative sum or product along `axis`: each block evaluates `program` over its region
/// and accumulates along `axis` starting from the last slice of the block before it along
/// `axis` (a block of this same stage, the only kind that reads its own blocks); the first
/// block along the axis starts from nothing.
#[derive(Debug)]
pub struct Scan {
    /// The operand, fused.
    pub program: Program,
    /// Sum or product.
    pub op: ScanOp,
    /// The axis scanned.
    pub axis: usize,
}

impl Scan {
    /// The block before `block` along the scanned axis, if any.
    fn before(&self, block: &[usize]) -> Option<Vec<usize>> {
        let i = block[self.axis].checked_sub(1)?;
        let mut before = block.to_vec();
        before[self.axis] = i;
        Some(before)
    }
}

impl StageOp for Scan {
    fn op_name(&self) -> &'static str {
        "scan"
    }

    fn programs(&self) -> Vec<&Program> {
        vec![&self.program]
    }

    fn program_regions(&self, block: &[usize]) -> Vec<(&Program, Region)> {
        vec![(&self.program, self.program.grid.region(block))]
    }

    /// The block before this one along the axis, then what the program reads.
    fn for_each_input(
        &self,
        plan: &Plan,
        s: StageId,
        block: &[usize],
        f: &mut dyn FnMut(StageId, usize),
    ) {
        if let Some(before) = self.before(block) {
            f(s, plan.stages[s].grid.linear(&before));
        }
        program_inputs(plan, s, self.program_regions(block), f);
    }

    /// The program's tiles: the scan accumulates in its output block.
    fn scratch_bytes(&self, _stage: &Stage, block: &[usize]) -> u64 {
        let elems = self.program.grid.block_shape(block).iter().product();
        tile_bytes(self.program.nodes.len(), elems)
    }

    /// The last slice along the axis, where the next block starts from.
    fn kept_for_users(&self, block: &Block) -> Block {
        let axis = self.axis;
        let n = block.shape()[axis];
        crate::dispatch_block!(block, a => crate::block::BlockElement::wrap(
            a.slice_axis(ndarray::Axis(axis), ndarray::Slice::from(n.saturating_sub(1)..n)).to_owned()))
    }

    fn run(&self, task: &mut TaskRun<'_>) -> Result<Datum> {
        let region = self.program.grid.region(task.block);
        let mut out = task.eval(&self.program, &region)?;
        let before = match self.before(task.block) {
            None => None,
            Some(b) => Some(
                task.inputs
                    .block(task.stage, task.stage().grid.linear(&b))?,
            ),
        };
        scan::scan(self.op, &mut out, self.axis, before)?;
        Ok(Datum::Block(out))
    }
}
