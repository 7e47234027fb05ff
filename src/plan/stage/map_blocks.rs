//! User functions (`map_blocks`, `map_overlap`): their input blocks, with halos, the call,
//! and the checks of what they return.

use super::{StageOp, TaskRun};
use crate::block::{Block, BlockRef};
use crate::error::{Error, Result};
use crate::expr::{BlockInfo, Boundary, MapSpec};
use crate::grid::{Region, fmt_shape};
use crate::kernel::Datum;
use crate::kernel::overlap::{self, Halo};
use crate::plan::bytes::tile_bytes;
use crate::plan::eval::{Inputs, MapArg, eval_whole, map_arg};
use crate::plan::program::Program;
use crate::plan::stage::Stage;
use crate::plan::{Plan, StageId};

/// A user function over the aligned blocks of `inputs` (extended by a halo and trimmed
/// after, for `map_overlap`): block `b` evaluates each input program over the block
/// [`MapSpec::input_block`] names.
#[derive(Debug)]
pub struct MapBlocks {
    /// The inputs, fused.
    pub inputs: Vec<Program>,
    /// The function and the axes' correspondence.
    pub spec: MapSpec,
}

impl MapBlocks {
    /// The block of input `program` that block `block` is computed from.
    pub fn input_block(&self, program: &Program, block: &[usize]) -> Vec<usize> {
        self.spec.input_block(block, &program.grid.grid_shape())
    }
}

impl StageOp for MapBlocks {
    fn op_name(&self) -> &'static str {
        "map_blocks"
    }

    fn programs(&self) -> Vec<&Program> {
        self.inputs.iter().collect()
    }

    /// Each input's block, or for `map_overlap` the pieces of it and of its neighbours
    /// that its halo covers.
    fn program_regions(&self, block: &[usize]) -> Vec<(&Program, Region)> {
        let mut out = Vec::with_capacity(self.inputs.len());
        for program in &self.inputs {
            let core = program.grid.region(&self.input_block(program, block));
            match &self.spec.overlap {
                None => out.push((program, core)),
                Some(overlap) => {
                    let halo = Halo::of(&core, &program.grid.shape(), overlap);
                    out.extend(
                        halo.pieces
                            .into_iter()
                            .filter_map(|p| Some((program, p.region?))),
                    );
                }
            }
        }
        out
    }

    /// Each input block assembled whole (with its halo), the function's result (extended,
    /// for `map_overlap`, before it is trimmed into the output) and the temporaries the
    /// function declares, each as large as its result.
    fn scratch_bytes(&self, stage: &Stage, block: &[usize]) -> u64 {
        let spec = &self.spec;
        let mut bytes = 0;
        let mut extended = stage.grid.block_shape(block).iter().product::<usize>() as u64;
        for program in &self.inputs {
            let core = program.grid.region(&self.input_block(program, block));
            let elems = match &spec.overlap {
                Some(o) => Halo::of(&core, &program.grid.shape(), o)
                    .shape
                    .iter()
                    .product(),
                None => core.len(),
            };
            bytes +=
                elems as u64 * program.dtype.size() as u64 + tile_bytes(program.nodes.len(), elems);
            if spec.overlap.is_some() {
                extended = elems as u64;
            }
        }
        let result = extended * stage.dtype.size() as u64;
        let trimmed = if spec.overlap.is_some() { result } else { 0 };
        bytes + trimmed + result * spec.func.temporaries as u64
    }

    fn run(&self, task: &mut TaskRun<'_>) -> Result<Datum> {
        let stage = task.stage();
        Ok(Datum::Block(map_blocks(
            task.plan,
            task.stage,
            stage,
            self,
            task.block,
            task.inputs,
        )?))
    }
}

/// Runs a user function over block `block` of a `map_blocks` stage: evaluates each input's
/// block (whole, with its halo for `map_overlap`), calls the function, checks what it
/// returned against the declared dtype and shape, and trims the halo.
fn map_blocks(
    plan: &Plan,
    stage_id: StageId,
    stage: &Stage,
    op: &MapBlocks,
    block: &[usize],
    inputs: &mut Inputs,
) -> Result<Block> {
    let (programs, spec) = (&op.inputs, &op.spec);
    let cores: Vec<Region> = programs
        .iter()
        .map(|p| p.grid.region(&op.input_block(p, block)))
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
            None => inputs.read_inline(plan, stage_id, p, core)?,
            Some(h) => {
                for r in h.pieces.iter().filter_map(|piece| piece.region.as_ref()) {
                    inputs.read_inline(plan, stage_id, p, r)?;
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
