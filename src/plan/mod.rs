//! Stage 2, *how* per block: lowering the expression graph to stages.
//!
//! A [`Plan`] is a list of [`Stage`]s, inputs before consumers. A stage produces the blocks
//! of one chunk grid; a task is a (stage, block) pair, enumerated on demand by
//! [`crate::schedule`], so a plan stays O(operations) however many blocks there are.
//!
//! [`lower`] applies, in one walk over the expression graph:
//! - **fusion**: every elementwise op, cast, transpose, index, rechunk and generator between
//!   two materialization points becomes one [`Program`], evaluated in one pass per block;
//! - **pushdown**: slices, integer indices, transposes and broadcasts are composed into a
//!   [`ViewMap`] per leaf, so a block reads (or draws, for generators) only the elements it
//!   needs, and no full-size intermediate of `(x + x.T)[::2, 5000:]` ever exists;
//! - **tree reductions**: a partial per input block, then combines of at most
//!   `split_every` partials per reduced axis, level by level, then a finalize;
//! - **sharing**: a Zarr source or reduction used twice is one stage.
//!
//! Culling (only blocks the output needs) happens when the task graph is built: a strided
//! slice of a source only touches the chunks holding selected elements.

pub mod bytes;
mod lower;
pub mod passes;

use std::sync::Arc;

pub use lower::{lower, lower_many, naive_task_count};

use crate::block::Block;
use crate::dtype::DType;
use crate::expr::{
    BinaryOp, ContractSpec, Generator, MapSpec, ReduceSpec, ReshapeMap, ScanOp, UnaryOp,
};
use crate::grid::{ChunkGrid, Region};
use crate::kernel::gather::{ViewMap, for_each_chunk};
use crate::kernel::overlap::Halo;
use crate::store::BlockRead;

/// Index of a stage in [`Plan::stages`].
pub type StageId = usize;

/// The lowered computation.
#[derive(Debug)]
pub struct Plan {
    /// Stages, every stage after the stages it reads.
    pub stages: Vec<Stage>,
    /// The results, in the order they were asked for: one for `compute` and `to_zarr`,
    /// several for [`crate::compute_many`] (whose arrays share the stages they have in
    /// common, so shared inputs are read and computed once). Two results may be the same
    /// stage (the same array asked for twice).
    pub outputs: Vec<Output>,
    /// Tasks a one-task-per-block-per-operation lowering (dask's) would have, before
    /// culling and fusion.
    pub naive_tasks: u64,
    /// When true, tasks read the source chunks they need themselves instead of sharing one
    /// read task per chunk: a chunk used by several tasks is read again for each instead of
    /// being held in between. Set by [`passes::inline_reads`] when sharing would not fit
    /// in the memory limit.
    pub inline_reads: bool,
}

/// One result of a [`Plan`]: a stage whose blocks go to a sink.
#[derive(Clone, Debug)]
pub struct Output {
    /// The stage whose blocks are the result.
    pub stage: StageId,
    /// The blocks to compute, by linear index in the stage grid; `None` for all. A resumed
    /// write leaves out the chunks already written, and culling then leaves out every task
    /// only they needed.
    pub blocks: Option<Vec<bool>>,
    /// What writing a block costs in memory besides the block.
    pub write: OutputWrite,
}

impl Output {
    /// All blocks of `stage`, kept in memory.
    pub fn new(stage: StageId) -> Output {
        Output {
            stage,
            blocks: None,
            write: OutputWrite::Memory,
        }
    }
}

/// How an output block is written, for the bytes it holds while being written
/// ([`Plan::write_bytes`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum OutputWrite {
    /// Handed over as it is (`compute`): nothing more.
    #[default]
    Memory,
    /// Encoded for a Zarr store ([`EncodeCost`]).
    Encode(EncodeCost),
    /// Written into a region of an existing Zarr array ([`crate::Array::to_zarr_region`]):
    /// each block is the part of one stored chunk (shard) inside the region. A block that
    /// covers its chunk is encoded from a chunk-sized buffer; one that covers it partly is
    /// read, modified and written: the chunk's encoded bytes, the decoded chunk, the updated
    /// chunk and its encoding.
    Region {
        /// Bytes of one decoded stored chunk (shard).
        chunk_bytes: u64,
        /// Per block (linear index in the stage grid), true when it covers only part of
        /// its chunk.
        partial: Vec<bool>,
    },
}
/// What encoding one block for a Zarr store holds besides the block, measured on this
/// machine by sampling `RssAnon` while one task at a time writes (issue 24): a block that
/// fills its stored chunk (shard) is encoded from the block's own memory; an edge block is
/// first copied into a chunk-sized buffer padded with the fill value; the codecs then
/// produce the encoded bytes (zstd, gzip and Blosc write into one buffer of their bound,
/// about the decoded size for incompressible data; a shard also assembles its encoded
/// inner chunks into the shard object). A raw chunk (uncompressed, native order, not
/// sharded) of full size is written from the block itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncodeCost {
    /// Bytes of one stored chunk (shard, for a sharded array), decoded at its full shape.
    /// 0 when unknown: the block's own size is taken.
    pub chunk_bytes: u64,
    /// Chunk-sized buffers the codecs hold while encoding, besides the padded copy of an
    /// edge block: 0 for raw chunks, 1 for compressed chunks (the encoded bytes), 2 for
    /// shards (the inner chunks' encoded bytes and the shard assembled from them).
    pub buffers: u64,
}

impl EncodeCost {
    /// Bytes writing a block of `block_bytes` holds besides the block.
    pub fn bytes(&self, block_bytes: u64) -> u64 {
        let chunk = self.chunk_bytes.max(block_bytes);
        let padded = if block_bytes < chunk { chunk } else { 0 };
        // A codec's bound on its output exceeds its input by a little (zstd: 1/256).
        let encoded = self.buffers.saturating_mul(chunk + chunk / 128);
        padded.saturating_add(encoded)
    }
}

/// One materialization point: produces the blocks of `grid`.
#[derive(Debug)]
pub struct Stage {
    /// The blocks this stage produces.
    pub grid: ChunkGrid,
    /// Their dtype (for partial reductions: the dtype of the final result).
    pub dtype: DType,
    /// How a block is computed.
    pub kind: StageKind,
    /// A short description for `explain` and graphs.
    pub name: String,
}

/// How a stage computes one block.
#[derive(Debug)]
pub enum StageKind {
    /// Reads the chunk of a Zarr array (`grid` is the array's chunk grid).
    Read {
        /// The array.
        source: Arc<dyn BlockRead>,
    },
    /// Evaluates a fused elementwise program over the block's region.
    Map {
        /// The program (its grid is the stage grid).
        program: Program,
    },
    /// Evaluates a program over block `b` of `program.grid` and reduces it to a partial;
    /// the stage grid has the same block counts with reduced axes of length 1 per block.
    ReducePartial {
        /// The reduction's input, fused.
        program: Program,
        /// The reduction.
        spec: ReduceSpec,
    },
    /// The product of a block of `lhs` and a block of `rhs`, summed over their contracted
    /// axes: one task per result block per block of the contracted axes. The stage grid is
    /// the result grid followed by one axis per contracted label with one element per
    /// block; [`StageKind::ReduceCombine`] stages sum the partial products over those axes.
    /// Without contracted labels (an outer product) the stage grid is the result grid and
    /// tasks output blocks instead of partials.
    Contract {
        /// The left operand, fused.
        lhs: Program,
        /// The right operand, fused.
        rhs: Program,
        /// For each axis of `lhs`, the stage-grid axis its block index is taken from.
        lhs_axes: Vec<usize>,
        /// For each axis of `rhs`, likewise.
        rhs_axes: Vec<usize>,
        /// The labels of the contraction.
        spec: ContractSpec,
    },
    /// A cumulative sum or product along `axis`: each block evaluates `program` over its
    /// region and accumulates along `axis` starting from the last slice of the block
    /// before it along `axis` (a block of this same stage, the only stage that reads its
    /// own blocks); the first block along the axis starts from nothing.
    Scan {
        /// The operand, fused.
        program: Program,
        /// Sum or product.
        op: ScanOp,
        /// The axis scanned.
        axis: usize,
    },
    /// Arrays joined along `axis`: block `b` evaluates the program of the part holding it,
    /// over the part's block `b - offsets[part]` along the axis.
    Concat {
        /// The parts, fused.
        parts: Vec<Program>,
        /// The axis joined along.
        axis: usize,
        /// Per part, the index along `axis` of its first block in the stage grid.
        offsets: Vec<usize>,
    },
    /// The elements of block [`ReshapeMap::input_block`] of `program`'s grid, in the same C
    /// order under this block's shape.
    Reshape {
        /// The operand, fused.
        program: Program,
        /// Which input block each block is.
        map: Arc<ReshapeMap>,
    },
    /// A user function over the aligned blocks of `inputs` (extended by a halo and trimmed
    /// after, for `map_overlap`): block `b` evaluates each input program over the block
    /// [`MapSpec::input_block`] names.
    MapBlocks {
        /// The inputs, fused.
        inputs: Vec<Program>,
        /// The function and the axes' correspondence.
        spec: MapSpec,
    },
    /// Combines up to `split_every` partials per reduced axis from `input`; the last level
    /// also finalizes into the result's blocks.
    ReduceCombine {
        /// The previous level.
        input: StageId,
        /// The reduction.
        spec: ReduceSpec,
        /// True for the last level, which outputs the result blocks (reduced axes dropped
        /// unless `keepdims`).
        finalize: bool,
    },
}

impl StageKind {
    /// The kind of operation, as execution statistics name it: `read`, `map`, `reduce` or
    /// `combine`.
    pub fn op_name(&self) -> &'static str {
        match self {
            StageKind::Read { .. } => "read",
            StageKind::Map { .. } => "map",
            StageKind::ReducePartial { .. } => "reduce",
            StageKind::Contract { .. } => "contract",
            StageKind::Scan { .. } => "scan",
            StageKind::Concat { .. } => "map",
            StageKind::Reshape { .. } => "reshape",
            StageKind::MapBlocks { .. } => "map_blocks",
            StageKind::ReduceCombine { .. } => "combine",
        }
    }
}

/// A fused elementwise computation over one block: a small DAG of [`PNode`]s.
#[derive(Debug, Clone)]
pub struct Program {
    /// The grid the program's output is cut into.
    pub grid: ChunkGrid,
    /// The output dtype.
    pub dtype: DType,
    /// Nodes, inputs before consumers; the last is the output.
    pub nodes: Vec<PNode>,
}

/// One node of a [`Program`]. Operand indices point to earlier nodes.
#[derive(Debug, Clone)]
pub enum PNode {
    /// Values drawn from a generator through a view.
    Generator {
        /// What to draw.
        generator: Generator,
        /// The dtype of the generated array.
        dtype: DType,
        /// The full shape of the generated array.
        shape: Vec<usize>,
        /// How the block addresses it.
        view: ViewMap,
    },
    /// Values from an in-memory array through a view.
    Memory {
        /// The array.
        data: Arc<Block>,
        /// How the block addresses it.
        view: ViewMap,
    },
    /// Values from the blocks of an earlier stage through a view.
    Blocks {
        /// The stage.
        stage: StageId,
        /// How the block addresses it.
        view: ViewMap,
    },
    /// A unary function.
    Unary {
        /// The function.
        op: UnaryOp,
        /// Operand.
        input: usize,
    },
    /// A binary function (operands share a dtype).
    Binary {
        /// The function.
        op: BinaryOp,
        /// Left operand.
        lhs: usize,
        /// Right operand.
        rhs: usize,
    },
    /// `where(cond, x, y)`.
    Where {
        /// Condition.
        cond: usize,
        /// Where true.
        x: usize,
        /// Where false.
        y: usize,
    },
    /// Conversion to `dtype`.
    Cast {
        /// Operand.
        input: usize,
        /// Target dtype.
        dtype: DType,
    },
}

impl Program {
    /// The stages this program reads blocks from, with their views, in node order.
    pub fn block_leaves(&self) -> impl Iterator<Item = (StageId, &ViewMap)> {
        self.nodes.iter().filter_map(|n| match n {
            PNode::Blocks { stage, view } => Some((*stage, view)),
            _ => None,
        })
    }
}

/// Which leaves of a program [`Plan::for_each_leaf_chunk`] walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reads {
    /// Leaves whose blocks come from tasks (the task's inputs).
    Tasks,
    /// Leaves whose source chunks the task reads itself ([`Plan::inline_reads`]).
    Inline,
}

impl Plan {
    /// Calls `f(stage, view, chunk)` for every block (chunk index) of every leaf stage that
    /// `program` reads over `region`, among the leaves `reads` selects, in leaf order.
    pub fn for_each_leaf_chunk(
        &self,
        program: &Program,
        region: &Region,
        reads: Reads,
        mut f: impl FnMut(StageId, &ViewMap, &[usize]),
    ) {
        for (s, view) in program.block_leaves() {
            if self.reads_inline(s) != (reads == Reads::Inline) {
                continue;
            }
            let touched = view.touched_chunks(&self.stages[s].grid, region);
            for_each_chunk(&touched, |c| f(s, view, c));
        }
    }

    /// The input blocks of the task computing block `block` of stage `s`: calls
    /// `f(stage, linear_block)` for each. The one answer to that question, for the task
    /// graph (its edges), and through [`Plan::for_each_leaf_chunk`] for the executor's
    /// inline reads and the byte estimates.
    pub fn for_each_input(&self, s: StageId, block: &[usize], mut f: impl FnMut(StageId, usize)) {
        let plan = self;
        let stage = &plan.stages[s];
        match &stage.kind {
            StageKind::Read { .. } => {}
            StageKind::Map { .. }
            | StageKind::ReducePartial { .. }
            | StageKind::Contract { .. }
            | StageKind::Concat { .. }
            | StageKind::Reshape { .. }
            | StageKind::MapBlocks { .. }
            | StageKind::Scan { .. } => {
                if let StageKind::Scan { axis, .. } = stage.kind
                    && block[axis] > 0
                {
                    let mut before = block.to_vec();
                    before[axis] -= 1;
                    f(s, stage.grid.linear(&before));
                }
                for (program, region) in stage.program_regions(block) {
                    plan.for_each_leaf_chunk(program, &region, Reads::Tasks, |s, _, c| {
                        f(s, plan.stages[s].grid.linear(c));
                    });
                }
            }
            StageKind::ReduceCombine {
                input,
                spec,
                finalize,
            } => {
                let in_grid = &plan.stages[*input].grid;
                let full = full_rank_index(
                    block,
                    &spec.axes,
                    in_grid.ndim(),
                    *finalize && !spec.keepdims,
                );
                let ranges: Vec<Vec<usize>> = full
                    .iter()
                    .enumerate()
                    .map(|(d, &b)| {
                        if spec.axes.contains(&d) {
                            let n = in_grid.axes()[d].nchunks();
                            (b * spec.split_every..((b + 1) * spec.split_every).min(n)).collect()
                        } else {
                            vec![b]
                        }
                    })
                    .collect();
                for_each_chunk(&ranges, |c| f(*input, in_grid.linear(c)));
            }
        }
    }

    /// True when leaves reading `stage` read its chunks inline rather than from tasks.
    pub fn reads_inline(&self, stage: StageId) -> bool {
        self.inline_reads && matches!(self.stages[stage].kind, StageKind::Read { .. })
    }

    /// True when the blocks of `stage` are (one of) the results.
    pub fn is_output(&self, stage: StageId) -> bool {
        self.outputs.iter().any(|o| o.stage == stage)
    }

    /// The output stages (one per result, in order; possibly repeated).
    pub fn output_stages(&self) -> Vec<StageId> {
        self.outputs.iter().map(|o| o.stage).collect()
    }
}

impl Stage {
    /// The stages whose blocks this stage's tasks read.
    pub fn inputs(&self) -> Vec<StageId> {
        match &self.kind {
            StageKind::ReduceCombine { input, .. } => vec![*input],
            _ => {
                let mut v: Vec<StageId> = self
                    .programs()
                    .into_iter()
                    .flat_map(|p| p.block_leaves().map(|(s, _)| s))
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            }
        }
    }

    /// The fused programs a task of this stage evaluates.
    pub fn programs(&self) -> Vec<&Program> {
        match &self.kind {
            StageKind::Map { program }
            | StageKind::ReducePartial { program, .. }
            | StageKind::Scan { program, .. }
            | StageKind::Reshape { program, .. } => vec![program],
            StageKind::Contract { lhs, rhs, .. } => vec![lhs, rhs],
            StageKind::Concat { parts, .. } => parts.iter().collect(),
            StageKind::MapBlocks { inputs, .. } => inputs.iter().collect(),
            StageKind::Read { .. } | StageKind::ReduceCombine { .. } => vec![],
        }
    }

    /// The fused programs block `block` of this stage evaluates, each with the region of
    /// its grid it evaluates over.
    pub fn program_regions(&self, block: &[usize]) -> Vec<(&Program, Region)> {
        let pick = |axes: &[usize]| -> Vec<usize> { axes.iter().map(|&a| block[a]).collect() };
        match &self.kind {
            StageKind::Map { program }
            | StageKind::ReducePartial { program, .. }
            | StageKind::Scan { program, .. } => vec![(program, program.grid.region(block))],
            StageKind::Contract {
                lhs,
                rhs,
                lhs_axes,
                rhs_axes,
                ..
            } => vec![
                (lhs, lhs.grid.region(&pick(lhs_axes))),
                (rhs, rhs.grid.region(&pick(rhs_axes))),
            ],
            StageKind::Concat {
                parts,
                axis,
                offsets,
            } => {
                let part = offsets.iter().rposition(|&o| o <= block[*axis]);
                let Some((p, program)) = part.map(|p| (p, &parts[p])) else {
                    return vec![];
                };
                let mut local = block.to_vec();
                local[*axis] -= offsets[p];
                if local[*axis] >= program.grid.axes()[*axis].nchunks()
                    || program.grid.nblocks() == 0
                {
                    return vec![];
                }
                vec![(program, program.grid.region(&local))]
            }
            StageKind::Reshape { program, map } => {
                vec![(program, program.grid.region(&map.input_block(block)))]
            }
            StageKind::MapBlocks { inputs, spec } => {
                let mut out = Vec::with_capacity(inputs.len());
                for program in inputs {
                    let core = program.grid.region(&self.input_block(spec, program, block));
                    match &spec.overlap {
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
            StageKind::Read { .. } | StageKind::ReduceCombine { .. } => vec![],
        }
    }

    /// The block of input `program` of a [`StageKind::MapBlocks`] stage that block `block`
    /// is computed from.
    pub fn input_block(&self, spec: &MapSpec, program: &Program, block: &[usize]) -> Vec<usize> {
        spec.input_block(block, &program.grid.grid_shape())
    }

    /// Bytes of the largest block this stage outputs.
    pub fn max_block_bytes(&self) -> usize {
        self.grid.max_chunk_shape().iter().product::<usize>() * self.dtype.size()
    }
}

/// A combine task's block index with the reduced axes put back (as 0) when they were
/// dropped from its grid.
fn full_rank_index(block: &[usize], axes: &[usize], ndim: usize, dropped: bool) -> Vec<usize> {
    if !dropped {
        return block.to_vec();
    }
    let mut it = block.iter();
    (0..ndim)
        .map(|d| {
            if axes.contains(&d) {
                0
            } else {
                *it.next().unwrap_or(&0)
            }
        })
        .collect()
}
