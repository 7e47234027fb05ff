//! User functions (`map_blocks`, `map_overlap`): their input blocks, with halos, the call,
//! and the checks of what they return.

use super::inputs::Inputs;
use super::program::single_chunk;
use super::tiles::eval_whole;
use crate::block::{Block, BlockRef};
use crate::error::{Error, Result};
use crate::expr::{BlockInfo, Boundary, MapSpec};
use crate::grid::{Region, fmt_shape};
use crate::kernel::overlap::{self, Halo};
use crate::plan::{PNode, Plan, Program};

/// Runs a user function over block `block` of a `map_blocks` stage: evaluates each input's
/// block (whole, with its halo for `map_overlap`), calls the function, checks what it
/// returned against the declared dtype and shape, and trims the halo.
pub(super) fn map_blocks(
    plan: &Plan,
    stage: &crate::plan::Stage,
    programs: &[Program],
    spec: &MapSpec,
    block: &[usize],
    inputs: &mut Inputs,
) -> Result<Block> {
    let cores: Vec<Region> = programs
        .iter()
        .map(|p| p.grid.region(&stage.input_block(spec, p, block)))
        .collect();
    let halos: Vec<Option<Halo>> = programs
        .iter()
        .zip(&cores)
        .map(|(p, core)| {
            spec.overlap
                .as_ref()
                .map(|o| Halo::of(core, &p.grid.shape(), o))
        })
        .collect();
    for (p, (core, halo)) in programs.iter().zip(cores.iter().zip(&halos)) {
        match halo {
            None => inputs.read_inline(plan, p, core)?,
            Some(h) => {
                for r in h.pieces.iter().filter_map(|piece| piece.region.as_ref()) {
                    inputs.read_inline(plan, p, r)?;
                }
            }
        }
    }
    let inputs = &*inputs;
    let mut args: Vec<MapArg<'_>> = Vec::with_capacity(programs.len());
    for (p, (core, halo)) in programs.iter().zip(cores.iter().zip(&halos)) {
        args.push(match halo.as_ref().map(|h| (h, h.plain_region())) {
            None => map_arg(plan, p, core, inputs)?,
            Some((_, Some(region))) => map_arg(plan, p, region, inputs)?,
            Some((h, None)) => {
                let boundary = spec.overlap.as_ref().map_or(Boundary::None, |o| o.boundary);
                MapArg::Owned(overlap::assemble(h, p.dtype, boundary, &mut |r| {
                    eval_whole(plan, p, r, inputs)
                })?)
            }
        });
    }
    let refs: Vec<BlockRef<'_>> = args.iter().map(MapArg::get).collect();
    let ranges = |r: &Region| -> Vec<std::ops::Range<usize>> {
        r.start
            .iter()
            .zip(&r.shape)
            .map(|(&s, &n)| s..s + n)
            .collect()
    };
    let out = stage.grid.region(block);
    let halo = match halos.first() {
        Some(Some(h)) => h.halo.clone(),
        _ => vec![(0, 0); programs.first().map_or(0, |p| p.grid.ndim())],
    };
    let info = BlockInfo {
        block: block.to_vec(),
        num_blocks: stage.grid.grid_shape(),
        location: ranges(&out),
        shape: stage.grid.shape(),
        input_locations: cores.iter().map(ranges).collect(),
        halo: halo.clone(),
    };
    let result = spec.func.call(&refs, &info)?;
    drop(args);
    let expected: Vec<usize> = match &spec.overlap {
        Some(_) => out
            .shape
            .iter()
            .zip(&halo)
            .map(|(n, (a, b))| n + a + b)
            .collect(),
        None => out.shape.clone(),
    };
    // A map_overlap function may also return the block's own elements, trimmed already.
    let trimmed = spec.overlap.is_some() && result.shape() == out.shape.as_slice();
    if result.dtype() != stage.dtype || !(trimmed || result.shape() == expected.as_slice()) {
        let op = if spec.overlap.is_some() {
            "map_overlap"
        } else {
            "map_blocks"
        };
        return Err(Error::invalid(format!(
            "{op} '{}': block {} returned a {} block of shape {}; expected {} of shape {}{}",
            spec.func.name,
            fmt_shape(block),
            result.dtype(),
            fmt_shape(result.shape()),
            stage.dtype,
            fmt_shape(&expected),
            if spec.overlap.is_some() {
                " (its input's shape, halo included, trimmed after; or the block's own shape)"
            } else {
                " (declare the output's dtype and chunks)"
            }
        )));
    }
    if trimmed {
        return Ok(result.into_standard_layout());
    }
    Ok(overlap::trim(result, &halo).into_standard_layout())
}

/// An input block of a user function: borrowed from the task's inputs when the program
/// reads one whole block as it is, else evaluated.
pub(super) enum MapArg<'a> {
    Ref(BlockRef<'a>),
    Owned(Block),
}

impl MapArg<'_> {
    pub(super) fn get(&self) -> BlockRef<'_> {
        match self {
            MapArg::Ref(r) => *r,
            MapArg::Owned(b) => BlockRef::Block(b),
        }
    }
}

pub(super) fn map_arg<'a>(
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
