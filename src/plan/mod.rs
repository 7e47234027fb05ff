//! Stage 2, *how* per block: lowering the expression graph to stages.
//!
//! *Internal*: public only for the CLI, the Python package and the benchmarks of this
//! repository; no stability promise (see the crate's map).
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
//!
//! What a stage does with a block is its kind, a [`stage::StageOp`]: one file per kind in
//! [`stage`] (with [`Stage`] itself), each answering which input blocks a task reads, its
//! bytes, how a block is computed and whether it can be recomputed. The fused programs are
//! in [`program`], their evaluation (`plan::eval`) beside them; [`bytes`] sums the estimates per task and [`passes`] rewrite a plan before
//! it is scheduled.

pub mod bytes;
pub(crate) mod eval;
mod lower;
pub mod passes;
pub mod program;
pub mod stage;

pub use lower::{lower, lower_many, naive_task_count};

use crate::grid::Region;
use crate::kernel::gather::{ViewMap, for_each_chunk};
use program::Program;
use stage::Stage;

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
    /// Which tasks read the source chunks they need themselves instead of sharing one read
    /// task per chunk: a chunk used by several tasks is then read again for each instead of
    /// being held in between. Set by the passes of [`passes::inline`] when sharing would not
    /// fit in the memory limit.
    pub inline_reads: InlineReads,
}

/// Which tasks of a plan read source chunks themselves ([`Plan::inline_reads`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum InlineReads {
    /// None: every source chunk is read by one task and shared by its users.
    #[default]
    None,
    /// The tasks of these (consumer stage, read stage) pairs read that source's chunks
    /// themselves; the other users of each chunk share one read. The pairs are the users
    /// that also need a reduction of the same source (`x - x.mean(axis=0)`): they run a
    /// pass later, so sharing the chunk with them would hold it for the whole first pass,
    /// while the users of the first pass (the mean's and the std's partial sums) share it.
    Late(Vec<(StageId, StageId)>),
    /// Every task reads the source chunks it needs itself.
    All,
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
    /// Bytes the write's request holds besides its buffers: [`crate::store::REQUEST_BYTES`]
    /// for an object store, 0 for a local disk.
    pub request: u64,
}

impl EncodeCost {
    /// Bytes writing a block of `block_bytes` holds besides the block.
    pub fn bytes(&self, block_bytes: u64) -> u64 {
        let chunk = self.chunk_bytes.max(block_bytes);
        let padded = if block_bytes < chunk { chunk } else { 0 };
        // A codec's bound on its output exceeds its input by a little (zstd: 1/256).
        let encoded = self.buffers.saturating_mul(chunk + chunk / 128);
        padded.saturating_add(encoded).saturating_add(self.request)
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
    /// `program` (of stage `consumer`) reads over `region`, among the leaves `reads`
    /// selects, in leaf order.
    pub fn for_each_leaf_chunk(
        &self,
        consumer: StageId,
        program: &Program,
        region: &Region,
        reads: Reads,
        mut f: impl FnMut(StageId, &ViewMap, &[usize]),
    ) {
        for (s, view) in program.block_leaves() {
            if self.reads_inline(consumer, s) != (reads == Reads::Inline) {
                continue;
            }
            let touched = view.touched_chunks(&self.stages[s].grid, region);
            for_each_chunk(&touched, |c| f(s, view, c));
        }
    }

    /// The input blocks of the task computing block `block` of stage `s`: calls
    /// `f(stage, linear_block)` for each. The one answer to that question, for the task
    /// graph (its edges), and through [`Plan::for_each_leaf_chunk`] for the executor's
    /// inline reads and the byte estimates; each stage kind answers it
    /// ([`stage::StageOp::for_each_input`]).
    pub fn for_each_input(&self, s: StageId, block: &[usize], mut f: impl FnMut(StageId, usize)) {
        self.stages[s].op.for_each_input(self, s, block, &mut f);
    }

    /// True when the tasks of stage `consumer` read the chunks of leaf `stage` themselves
    /// rather than take them from read tasks.
    pub fn reads_inline(&self, consumer: StageId, stage: StageId) -> bool {
        match &self.inline_reads {
            InlineReads::None => false,
            InlineReads::All => self.stages[stage].as_read().is_some(),
            InlineReads::Late(pairs) => pairs.contains(&(consumer, stage)),
        }
    }

    /// True when the tasks of `stage` only fetch chunks from an object store (a read of an
    /// `s3://`, `gs://`, `az://` or `http(s)://` array): they wait on the network rather
    /// than compute, so the threads scheduler runs them beside the computing tasks.
    pub fn fetches_remote(&self, stage: StageId) -> bool {
        self.stages[stage]
            .as_read()
            .is_some_and(|r| r.source.is_remote())
    }

    /// True when any task only fetches chunks from an object store
    /// ([`Plan::fetches_remote`]).
    pub fn reads_remote(&self) -> bool {
        (0..self.stages.len()).any(|s| self.fetches_remote(s))
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
