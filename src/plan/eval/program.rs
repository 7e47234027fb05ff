//! The program interpreter: evaluates a fused program over a region, its leaves read from
//! earlier stages' blocks (borrowed when a leaf is exactly one block).

use super::inputs::Inputs;
use crate::block::{Block, BlockRef};
use crate::error::{Error, Result};
use crate::grid::{ChunkGrid, Region};
use crate::kernel::generate::{AffineIndex, generate};
use crate::kernel::{elementwise, gather};
use crate::plan::program::{PNode, Program};
use crate::plan::{Plan, StageId};

/// An operand during evaluation: an input block used as is, or a computed one.
pub(crate) enum Operand<'a> {
    Borrowed(&'a Block),
    Owned(Block),
}

impl Operand<'_> {
    pub(crate) fn get(&self) -> &Block {
        match self {
            Operand::Borrowed(b) => b,
            Operand::Owned(b) => b,
        }
    }
}

/// Evaluates a fused program over `region` of its grid.
pub(crate) fn eval_program(
    plan: &Plan,
    program: &Program,
    region: &Region,
    inputs: &Inputs,
) -> Result<Block> {
    let mut vals: Vec<Operand<'_>> = Vec::with_capacity(program.nodes.len());
    for node in &program.nodes {
        let v = match node {
            PNode::Generator {
                generator,
                dtype,
                shape,
                view,
            } => {
                let (base, coef) = view.affine(shape, region);
                let ix = AffineIndex {
                    shape: view.gathered_shape(region),
                    base,
                    coef,
                };
                Operand::Owned(generate(
                    generator,
                    *dtype,
                    &ix,
                    shape.first().copied().unwrap_or(1),
                ))
            }
            PNode::Memory { data, view } => {
                let grid = ChunkGrid::regular(data.shape(), data.shape());
                Operand::Owned(gather::gather(view, &grid, region, data.dtype(), &|_| {
                    BlockRef::Block(data.as_ref())
                }))
            }
            PNode::Blocks { stage, view } => blocks_leaf(plan, *stage, view, region, inputs)?,
            PNode::Unary { op, input } => {
                Operand::Owned(elementwise::unary(*op, vals[*input].get())?)
            }
            PNode::Binary { op, lhs, rhs } => Operand::Owned(elementwise::binary(
                *op,
                vals[*lhs].get(),
                vals[*rhs].get(),
            )?),
            PNode::Where { cond, x, y } => Operand::Owned(elementwise::where_(
                vals[*cond].get(),
                vals[*x].get(),
                vals[*y].get(),
            )?),
            PNode::Cast { input, dtype } => Operand::Owned(vals[*input].get().clone().cast(*dtype)),
        };
        vals.push(v);
    }
    let root = match vals.pop() {
        Some(Operand::Owned(b)) => b,
        Some(Operand::Borrowed(b)) => b.clone(),
        None => return Err(Error::internal("empty program")),
    };
    Ok(elementwise::expand(root, &region.shape))
}

/// The block of `grid` holding all of `region` when `view` reads the stage as it is
/// (no slicing, transposing or broadcasting); `None` otherwise.
pub(crate) fn single_chunk(
    grid: &ChunkGrid,
    view: &crate::kernel::gather::ViewMap,
    region: &Region,
) -> Option<Vec<usize>> {
    if !view.is_identity() {
        return None;
    }
    let touched = view.touched_chunks(grid, region);
    touched
        .iter()
        .all(|t| t.len() == 1)
        .then(|| touched.iter().map(|t| t[0]).collect())
}

/// A leaf reading an earlier stage's blocks: the block itself when the view selects
/// exactly one whole block, else a gathered copy.
pub(crate) fn blocks_leaf<'a>(
    plan: &Plan,
    stage: StageId,
    view: &crate::kernel::gather::ViewMap,
    region: &Region,
    inputs: &'a Inputs,
) -> Result<Operand<'a>> {
    let grid = &plan.stages[stage].grid;
    if let Some(chunk) = single_chunk(grid, view, region)
        && grid.region(&chunk) == *region
    {
        return Ok(match inputs.block(stage, grid.linear(&chunk))? {
            BlockRef::Block(b) => Operand::Borrowed(b),
            BlockRef::Mapped(m) => Operand::Owned(m.to_block()),
        });
    }
    let touched = view.touched_chunks(grid, region);
    let mut found: Vec<(usize, BlockRef<'a>)> = Vec::new();
    let mut err = None;
    gather::for_each_chunk(&touched, |c| {
        let lin = grid.linear(c);
        match inputs.block(stage, lin) {
            Ok(b) => found.push((lin, b)),
            Err(e) => err = Some(e),
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    let lookup = |c: &[usize]| -> BlockRef<'a> {
        let lin = grid.linear(c);
        found
            .iter()
            .find(|(l, _)| *l == lin)
            .map(|(_, b)| *b)
            .expect("every touched chunk was resolved above")
    };
    let dtype = plan.stages[stage].dtype;
    Ok(Operand::Owned(gather::gather(
        view, grid, region, dtype, &lookup,
    )))
}
