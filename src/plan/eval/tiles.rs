//! Tiling: programs and reductions run tile by tile over a region, so their temporaries stay
//! cache-sized; reductions of blocks read as they are run in place.

use super::inputs::Inputs;
use super::program::{eval_program, single_chunk};
use crate::block::Block;
use crate::error::{Error, Result};
use crate::expr::ReduceSpec;
use crate::grid::Region;
use crate::kernel::reduce;
use crate::kernel::reduce::Partial;
use crate::plan::Plan;
use crate::plan::program::{PNode, Program};

// Programs run tile by tile so that their temporaries (gathered leaves, intermediate
// results) are at most `TILE_ELEMS` elements: they stay in the L2 cache and are recycled by
// the allocator instead of being faulted in fresh for every block (measured: with
// whole-block temporaries half the tutorial's time went to page faults).
use crate::plan::bytes::TILE_ELEMS;

/// Tile size of reductions that read their input in place (see [`reduce_region`]): they
/// make no tile-sized temporaries (bar the squares of a variance over other axes than the
/// first, and casts of non-float64 input), so larger tiles only cut the number of tile
/// partials to combine. Measured on 1000 x 1000 float64 chunks (20000^2, 2 threads):
/// x.std(axis=0) 0.52 s -> 0.39 s, x.sum() 0.28 s -> 0.26 s; 32x was no better.
pub(crate) const IN_PLACE_TILE_ELEMS: usize = 8 * TILE_ELEMS;

/// Splits `region` along `axis` into consecutive tiles of about `elems` elements.
pub(crate) fn tiles(region: &Region, axis: usize, elems: usize) -> Vec<Region> {
    let len = region.shape[axis];
    let inner: usize = region
        .shape
        .iter()
        .enumerate()
        .filter(|&(d, _)| d != axis)
        .map(|(_, &n)| n)
        .product();
    let step = (elems / inner.max(1)).max(1);
    (0..len)
        .step_by(step)
        .map(|s| {
            let mut t = region.clone();
            t.start[axis] += s;
            t.shape[axis] = step.min(len - s);
            t
        })
        .collect()
}

/// Evaluates a program over `region`, tile by tile along axis 0, into one output block.
pub(crate) fn eval_tiled(
    plan: &Plan,
    program: &Program,
    region: &Region,
    inputs: &Inputs,
) -> Result<Block> {
    if region.len() <= TILE_ELEMS || region.shape.is_empty() {
        return eval_program(plan, program, region, inputs);
    }
    let mut out = Block::zeros(program.dtype, &region.shape);
    for tile in tiles(region, 0, TILE_ELEMS) {
        let part = eval_program(plan, program, &tile, inputs)?;
        crate::kernel::place(&mut out, 0, tile.start[0] - region.start[0], &part)?;
    }
    Ok(out)
}

/// Evaluates a program over `region` and reduces it, tile by tile. Tiles split a kept axis
/// when there is one, so each tile's partial fills its own slice of the result; otherwise
/// (a reduction over every axis) tile partials are combined.
pub(crate) fn reduce_tiled(
    plan: &Plan,
    program: &Program,
    spec: &ReduceSpec,
    region: &Region,
    inputs: &Inputs,
) -> Result<Partial> {
    let elems = if reads_in_place(program) {
        IN_PLACE_TILE_ELEMS
    } else {
        TILE_ELEMS
    };
    if region.len() <= elems || region.shape.is_empty() {
        return reduce_region(plan, program, spec, region, inputs);
    }
    // Tiles along a reduced first axis are contiguous slabs whose partials combine
    // elementwise; that needs the slab across the other axes to fit in a tile. Otherwise
    // tile along a kept axis and place each tile's partial.
    // Only the first axis longer than 1 gives contiguous tiles.
    let first = (0..region.shape.len())
        .find(|&d| region.shape[d] > 1)
        .unwrap_or(0);
    let slab = (spec.axes.contains(&first) && region.len() / region.shape[first].max(1) <= elems)
        .then_some(first);
    let kept = match slab {
        Some(_) => None,
        None => (0..region.shape.len()).find(|d| !spec.axes.contains(d)),
    };
    let axis = slab.or(kept).unwrap_or(0);
    let mut acc: Option<Partial> = None;
    for tile in tiles(region, axis, elems) {
        let part = reduce_region(plan, program, spec, &tile, inputs)?;
        acc = Some(match (acc, kept) {
            (None, None) => part,
            (Some(a), None) => reduce::combine(spec, a, &part)?,
            (a, Some(k)) => {
                let mut a = match a {
                    Some(a) => a,
                    None => reduce::Partial::empty_like(&part, k, region.shape[k]),
                };
                a.place(k, tile.start[k] - region.start[k], &part)?;
                a
            }
        });
    }
    acc.ok_or_else(|| Error::internal("reduction over an empty tile list"))
}

/// Evaluates a program over `region` and reduces it. A program that only reads one earlier
/// stage's blocks, over a region inside one of them, is reduced in place: no copy of the
/// input is made (for a memory-mapped source chunk, the reduction reads the page cache).
pub(crate) fn reduce_region(
    plan: &Plan,
    program: &Program,
    spec: &ReduceSpec,
    region: &Region,
    inputs: &Inputs,
) -> Result<Partial> {
    if let [PNode::Blocks { stage, view }] = program.nodes.as_slice() {
        let grid = &plan.stages[*stage].grid;
        if let Some(chunk) = single_chunk(grid, view, region) {
            let within = grid.region(&chunk);
            let block = inputs.block(*stage, grid.linear(&chunk))?;
            if block.shape() == within.shape.as_slice() {
                return Ok(crate::dispatch_dtype!(block.dtype(), T => {
                    let view = block
                        .view::<T>()
                        .ok_or_else(|| Error::internal("block of another dtype"))?;
                    let tile = view.slice_each_axis(|ax| {
                        let d = ax.axis.index();
                        let s = region.start[d] - within.start[d];
                        ndarray::Slice::from(s..s + region.shape[d])
                    });
                    reduce::partial_view(spec, tile)
                }));
            }
        }
    }
    Ok(reduce::partial(
        spec,
        &eval_program(plan, program, region, inputs)?,
    ))
}

/// True when a program only reads one earlier stage's blocks as they are: reductions of it
/// read the blocks in place (see [`reduce_region`]).
pub(crate) fn reads_in_place(program: &Program) -> bool {
    matches!(program.nodes.as_slice(), [PNode::Blocks { view, .. }] if view.is_identity())
}
