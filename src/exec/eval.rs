//! Running one task: reading a chunk, evaluating a fused program, reducing.

use std::sync::Arc;

use crate::block::{Block, BlockElement, BlockRef};
use crate::error::{Error, Result};
use crate::expr::{BlockInfo, Boundary, MapSpec, ReduceSpec};
use crate::grid::{ChunkGrid, Region, fmt_shape};
use crate::kernel::generate::{AffineIndex, generate};
use crate::kernel::overlap::{self, Halo};
use crate::kernel::reduce::Partial;
use crate::kernel::{Value, contract, elementwise, gather, reduce, scan};
use crate::plan::{PNode, Plan, Program, Reads, StageId, StageKind};
use crate::schedule::{TaskGraph, TaskId};
use crate::store::BlockRead;

/// The blocks a task reads, looked up by (stage, linear block): the outputs of its input
/// tasks, and the source chunks it reads itself when the plan reads sources inline.
pub(crate) struct Inputs {
    entries: Vec<(StageId, usize, Arc<Value>)>,
    /// Bytes of source chunks read inline.
    pub(crate) read_bytes: u64,
}

impl Inputs {
    pub(crate) fn new(graph: &TaskGraph, deps: &[(TaskId, Arc<Value>)]) -> Self {
        Inputs {
            entries: deps
                .iter()
                .map(|(d, v)| {
                    let (stage, block) = (graph.stage[*d as usize], graph.block[*d as usize]);
                    (stage as StageId, block as usize, v.clone())
                })
                .collect(),
            read_bytes: 0,
        }
    }

    fn block(&self, stage: StageId, linear: usize) -> Result<BlockRef<'_>> {
        match self
            .entries
            .iter()
            .find(|(s, l, _)| *s == stage && *l == linear)
        {
            Some((_, _, v)) => v
                .as_block()
                .ok_or_else(|| Error::internal("expected a block, got a partial")),
            None => Err(Error::internal(format!(
                "input block {linear} of stage {stage} is missing"
            ))),
        }
    }

    fn values(&self) -> impl Iterator<Item = &Value> + '_ {
        self.entries.iter().map(|(_, _, v)| v.as_ref())
    }

    /// Reads the source chunks that `program` needs over `region` from the stages the plan
    /// reads inline.
    fn read_inline(&mut self, plan: &Plan, program: &Program, region: &Region) -> Result<()> {
        let mut chunks = Vec::new();
        plan.for_each_leaf_chunk(program, region, Reads::Inline, |s, _, c| {
            chunks.push((s, c.to_vec()));
        });
        for (s, c) in chunks {
            let StageKind::Read { source } = &plan.stages[s].kind else {
                continue;
            };
            let lin = plan.stages[s].grid.linear(&c);
            if self.entries.iter().any(|(st, l, _)| *st == s && *l == lin) {
                continue;
            }
            let value = read_chunk(source.as_ref(), &c)?;
            self.read_bytes += value.nbytes() as u64;
            self.entries.push((s, lin, Arc::new(value)));
        }
        Ok(())
    }
}

/// Runs task `t` on `inputs` (the outputs of its input tasks) and returns its value with
/// the bytes it read from stores: its chunk for a read task, the chunks read inline
/// otherwise.
pub(crate) fn run_counted(
    plan: &Plan,
    graph: &TaskGraph,
    t: TaskId,
    inputs: &[(TaskId, Arc<Value>)],
) -> Result<(Value, u64)> {
    let mut task_inputs = Inputs::new(graph, inputs);
    let value = run_task(plan, graph, t, &mut task_inputs)?;
    let read = task_inputs.read_bytes
        + match plan.stages[graph.stage[t as usize] as usize].kind {
            StageKind::Read { .. } => value.nbytes() as u64,
            _ => 0,
        };
    Ok((value, read))
}

/// Reads a source chunk: memory-mapped where the source allows it, else into memory.
fn read_chunk(source: &dyn BlockRead, chunk: &[usize]) -> Result<Value> {
    Ok(match source.map_chunk(chunk)? {
        Some(m) => Value::Mapped(m),
        None => Value::Block(source.read_chunk(chunk)?),
    })
}

/// Runs task `t` on its inputs.
pub(crate) fn run_task(
    plan: &Plan,
    graph: &TaskGraph,
    t: TaskId,
    inputs: &mut Inputs,
) -> Result<Value> {
    let stage = &plan.stages[graph.stage[t as usize] as usize];
    let block = graph.block_index(plan, t);
    match &stage.kind {
        StageKind::Read { source } => read_chunk(source.as_ref(), &block),
        StageKind::Map { program } => {
            let region = program.grid.region(&block);
            inputs.read_inline(plan, program, &region)?;
            Ok(Value::Block(eval_tiled(plan, program, &region, inputs)?))
        }
        StageKind::ReducePartial { program, spec } => {
            let region = program.grid.region(&block);
            inputs.read_inline(plan, program, &region)?;
            Ok(Value::Partial(reduce_tiled(
                plan, program, spec, &region, inputs,
            )?))
        }
        StageKind::Concat { .. } => {
            let Some((program, region)) = stage.program_regions(&block).pop() else {
                return Ok(Value::Block(Block::zeros(
                    stage.dtype,
                    &stage.grid.block_shape(&block),
                )));
            };
            inputs.read_inline(plan, program, &region)?;
            Ok(Value::Block(eval_tiled(plan, program, &region, inputs)?))
        }
        StageKind::Reshape { program, map } => {
            let region = program.grid.region(&map.input_block(&block));
            inputs.read_inline(plan, program, &region)?;
            let value = eval_tiled(plan, program, &region, inputs)?;
            Ok(Value::Block(
                value.into_shape(&stage.grid.block_shape(&block))?,
            ))
        }
        StageKind::Scan { program, op, axis } => {
            let region = program.grid.region(&block);
            inputs.read_inline(plan, program, &region)?;
            let mut out = eval_tiled(plan, program, &region, inputs)?;
            let own = graph.stage[t as usize] as StageId;
            let before = match block[*axis] {
                0 => None,
                i => {
                    let mut b = block.clone();
                    b[*axis] = i - 1;
                    Some(inputs.block(own, stage.grid.linear(&b))?)
                }
            };
            scan::scan(*op, &mut out, *axis, before)?;
            Ok(Value::Block(out))
        }
        StageKind::Contract { spec, .. } => {
            let regions = stage.program_regions(&block);
            for (program, region) in &regions {
                inputs.read_inline(plan, program, region)?;
            }
            // Operands that are whole blocks of an earlier stage are multiplied in place.
            let inputs = &*inputs;
            let mut operands = Vec::with_capacity(2);
            for (program, region) in &regions {
                operands.push(map_arg(plan, program, region, inputs)?);
            }
            let product = contract::contract_refs(spec, operands[0].get(), operands[1].get())?;
            let terms = operands[0].get().shape().iter().product::<usize>() / product.len().max(1);
            drop(operands);
            if stage.grid.ndim() == spec.out.len() {
                return Ok(Value::Block(product));
            }
            // A partial of the sum over the contracted blocks: length-1 contracted axes.
            let shape = stage.grid.block_shape(&block);
            let acc = crate::dispatch_block!(product, a => BlockElement::wrap(
                a.into_shape_with_order(ndarray::IxDyn(&shape))
                    .map_err(|e| Error::internal(format!("contraction partial: {e}")))?));
            Ok(Value::Partial(Partial {
                count: terms as u64,
                acc,
                m2: None,
            }))
        }
        StageKind::MapBlocks {
            inputs: programs,
            spec,
        } => Ok(Value::Block(map_blocks(
            plan, stage, programs, spec, &block, inputs,
        )?)),
        StageKind::ReduceCombine { spec, finalize, .. } => {
            let mut parts = inputs.values().map(|v| match v {
                Value::Partial(p) => Ok(p),
                Value::Block(_) | Value::Mapped(_) => {
                    Err(Error::internal("expected a partial, got a block"))
                }
            });
            let first = parts
                .next()
                .ok_or_else(|| Error::internal("combine task without inputs"))??;
            let mut acc = first.clone();
            for p in parts {
                acc = reduce::combine(spec, acc, p?)?;
            }
            Ok(if *finalize {
                Value::Block(reduce::finalize(spec, acc, stage.dtype))
            } else {
                Value::Partial(acc)
            })
        }
    }
}

/// Runs a user function over block `block` of a `map_blocks` stage: evaluates each input's
/// block (whole, with its halo for `map_overlap`), calls the function, checks what it
/// returned against the declared dtype and shape, and trims the halo.
fn map_blocks(
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
enum MapArg<'a> {
    Ref(BlockRef<'a>),
    Owned(Block),
}

impl MapArg<'_> {
    fn get(&self) -> BlockRef<'_> {
        match self {
            MapArg::Ref(r) => *r,
            MapArg::Owned(b) => BlockRef::Block(b),
        }
    }
}

fn map_arg<'a>(
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

/// Evaluates a program over a whole region into one block: a program that only reads an
/// earlier stage's blocks gathers them straight into the result (one copy, no tiles);
/// others run tile by tile.
fn eval_whole(plan: &Plan, program: &Program, region: &Region, inputs: &Inputs) -> Result<Block> {
    if let [PNode::Blocks { stage, view }] = program.nodes.as_slice() {
        return Ok(match blocks_leaf(plan, *stage, view, region, inputs)? {
            Operand::Borrowed(b) => b.clone(),
            Operand::Owned(b) => b,
        });
    }
    eval_tiled(plan, program, region, inputs)
}

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
const IN_PLACE_TILE_ELEMS: usize = 8 * TILE_ELEMS;

/// Splits `region` along `axis` into consecutive tiles of about `elems` elements.
fn tiles(region: &Region, axis: usize, elems: usize) -> Vec<Region> {
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
fn eval_tiled(plan: &Plan, program: &Program, region: &Region, inputs: &Inputs) -> Result<Block> {
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
fn reduce_tiled(
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
fn reduce_region(
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
fn reads_in_place(program: &Program) -> bool {
    matches!(program.nodes.as_slice(), [PNode::Blocks { view, .. }] if view.is_identity())
}

/// An operand during evaluation: an input block used as is, or a computed one.
enum Operand<'a> {
    Borrowed(&'a Block),
    Owned(Block),
}

impl Operand<'_> {
    fn get(&self) -> &Block {
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
fn single_chunk(
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
fn blocks_leaf<'a>(
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
