//! Stage kinds: what a stage does with one block, one file per kind.
//!
//! A [`Stage`] holds its kind as a [`StageOp`], the way DataFusion's operators are
//! `ExecutionPlan`s and zarrs' codecs implement a codec trait: every question the planner,
//! the scheduler and the executor ask of a kind is a method, answered in that kind's file.
//!
//! | question | method | asked by |
//! |---|---|---|
//! | which input blocks does task `b` read | [`StageOp::for_each_input`] (over [`StageOp::program_regions`]) | the task graph's edges, inline reads, byte estimates, realign |
//! | which stages does it read | [`StageOp::input_stages`], [`StageOp::programs`] | the stage graph (DOT, dashboard), realign |
//! | how many bytes | [`StageOp::output_bytes`], [`StageOp::scratch_bytes`] | the simulated peak, the fit check, admission |
//! | how is a block computed | [`StageOp::run`] | the executor, worker processes and MPI ranks |
//! | dropped under pressure: recompute or spill | [`StageOp::recompute`] | the executor's residency (`exec::residency`) |
//! | what do later tasks keep of an output block | [`StageOp::kept_for_users`] | output routing (a scan's next block) |
//! | what is it called | [`StageOp::op_name`] | statistics, the dashboard |
//!
//! The description `explain` and the DOT pictures print is [`Stage::name`], written by
//! lowering, which knows what each program fused.
//!
//! **Adding a kind** (say, an FFT) is one new file here implementing [`StageOp`], its two
//! lines in the registration below (`mod` and `pub use`), and the case of
//! [`lower`](super::lower()) that builds it from its expression node. Nothing in `schedule` or `exec` changes. A pass that
//! is about one kind in particular asks for it by type ([`Stage::as_read`]: realignment and
//! inline reads concern source reads only).
//!
//! **Why `run` lives in `plan`.** Running a block needs the program interpreter
//! (`plan::eval`: fused programs, tiles, the blocks a task reads). It depends only on
//! the plan's own types, the kernels and the stores, all at or below `plan` in the
//! pipeline order, so it moved down from `exec` beside the stage kinds that call it. The
//! alternative, a narrow context trait defined here and implemented in `exec`, would have
//! had to carry the interpreter's whole surface (evaluate, reduce, borrow an operand, read
//! inline) for its one implementation. The executor keeps what is its own: which task runs
//! when, and which resident values are its inputs ([`TaskRun`] receives them).

mod combine;
mod concat;
mod contract;
mod map;
mod map_blocks;
mod read;
mod reduce;
mod reshape;
mod scan;

// The registration: a `mod` and a `pub use` per kind.
pub use combine::ReduceCombine;
pub use concat::Concat;
pub use contract::Contract;
pub use map::Map;
pub use map_blocks::MapBlocks;
pub use read::Read;
pub use reduce::ReducePartial;
pub use reshape::Reshape;
pub use scan::Scan;

use std::any::Any;
use std::fmt::Debug;

use super::eval::{Inputs, eval_tiled};
use super::program::Program;
use super::{Plan, Reads, StageId};
use crate::block::Block;
use crate::dtype::DType;
use crate::error::Result;
use crate::grid::ChunkGrid;
use crate::grid::Region;
use crate::kernel::Datum;

/// How a stage computes one block, and what planning and running it need to know.
///
/// Implemented once per stage kind, each in its own file of this module. The methods take
/// the stage holding the kind (`stage`) or the plan and the stage's id where they need its
/// grid, dtype or the stages it reads.
pub trait StageOp: Any + Debug + Send + Sync {
    /// The kind of operation, as execution statistics and the dashboard name it: `read`,
    /// `map`, `reduce`, `combine`...
    fn op_name(&self) -> &'static str;

    /// The fused programs a task of this stage evaluates: none by default.
    fn programs(&self) -> Vec<&Program> {
        Vec::new()
    }

    /// The fused programs block `block` of this stage evaluates, each with the region of
    /// its grid it evaluates over: none by default.
    fn program_regions(&self, _block: &[usize]) -> Vec<(&Program, Region)> {
        Vec::new()
    }

    /// The stages whose blocks this stage's tasks read: by default those its programs'
    /// leaves read, sorted.
    fn input_stages(&self) -> Vec<StageId> {
        let mut v: Vec<StageId> = self
            .programs()
            .into_iter()
            .flat_map(|p| p.block_leaves().map(|(s, _)| s))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The input blocks of the task computing block `block` of stage `s` (this one):
    /// calls `f(stage, linear_block)` for each. By default the blocks of earlier stages
    /// that its programs read over their regions ([`StageOp::program_regions`]), except
    /// the source chunks the task reads itself ([`Plan::inline_reads`]).
    fn for_each_input(
        &self,
        plan: &Plan,
        s: StageId,
        block: &[usize],
        f: &mut dyn FnMut(StageId, usize),
    ) {
        program_inputs(plan, s, self.program_regions(block), f);
    }

    /// Bytes of the output of block `block` of `stage` (the stage holding this kind): by
    /// default the block at the stage's dtype.
    fn output_bytes(&self, stage: &Stage, block: &[usize]) -> u64 {
        block_bytes(stage, block)
    }

    /// Scratch bytes one task of `stage` needs while it runs, besides its inputs, its
    /// output and the source chunks it reads inline (decode buffers, tile temporaries,
    /// accumulators).
    fn scratch_bytes(&self, stage: &Stage, block: &[usize]) -> u64;

    /// Whether a block of this stage, dropped under memory pressure, may be computed again
    /// instead of being spilled: never by default.
    fn recompute(&self) -> Recompute {
        Recompute::Never
    }

    /// What later tasks of this same stage read of `block` when it is also a result handed
    /// to sinks: all of it by default.
    fn kept_for_users(&self, block: &Block) -> Block {
        block.clone()
    }

    /// Computes the block `task` names from the blocks it reads.
    ///
    /// # Errors
    /// A store's error reading a chunk, a kernel's, or a user function's.
    fn run(&self, task: &mut TaskRun<'_>) -> Result<Datum>;
}

/// Whether a dropped block can be computed again instead of spilled ([`StageOp::recompute`]).
/// The executor decides; this says what computing it again costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recompute {
    /// No: running again costs more than spilling (a contraction, a user function), or the
    /// task reads blocks of other tasks (a scan, a combine).
    Never,
    /// Evaluates fused programs over source chunks and generators only: worth it when the
    /// chunks it reads are not much larger than its output.
    FromSources,
    /// Reads one stored chunk: reading it again is never worse than spilling it.
    Reread,
}

/// One task being run ([`StageOp::run`]): block `block` of stage `stage` of `plan`, with
/// the blocks it reads.
pub struct TaskRun<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) stage: StageId,
    pub(crate) block: &'a [usize],
    pub(crate) inputs: &'a mut Inputs,
}

impl<'a> TaskRun<'a> {
    /// Block `block` of stage `stage` of `plan`, reading `inputs`.
    pub(crate) fn new(
        plan: &'a Plan,
        stage: StageId,
        block: &'a [usize],
        inputs: &'a mut Inputs,
    ) -> Self {
        TaskRun {
            plan,
            stage,
            block,
            inputs,
        }
    }

    /// The stage the task belongs to.
    pub(crate) fn stage(&self) -> &'a Stage {
        &self.plan.stages[self.stage]
    }

    /// Evaluates `program` over `region`, tile by tile, after reading the source chunks it
    /// reads inline.
    pub(crate) fn eval(&mut self, program: &Program, region: &Region) -> Result<Block> {
        self.inputs
            .read_inline(self.plan, self.stage, program, region)?;
        eval_tiled(self.plan, program, region, self.inputs)
    }
}

/// Calls `f(stage, linear_block)` for the blocks of earlier stages (not read inline) that
/// each program of stage `consumer` reads over its region: the inputs of a task that
/// evaluates programs.
fn program_inputs(
    plan: &Plan,
    consumer: StageId,
    regions: Vec<(&Program, Region)>,
    f: &mut dyn FnMut(StageId, usize),
) {
    for (program, region) in regions {
        plan.for_each_leaf_chunk(consumer, program, &region, Reads::Tasks, |s, _, c| {
            f(s, plan.stages[s].grid.linear(c));
        });
    }
}

/// Bytes of block `block` of `stage` at its dtype.
fn block_bytes(stage: &Stage, block: &[usize]) -> u64 {
    let elems = stage.grid.block_shape(block).iter().product::<usize>() as u64;
    elems * stage.dtype.size() as u64
}

/// One materialization point: produces the blocks of `grid`.
#[derive(Debug)]
pub struct Stage {
    /// The blocks this stage produces.
    pub grid: ChunkGrid,
    /// Their dtype (for partial reductions: the dtype of the final result).
    pub dtype: DType,
    /// How a block is computed: the stage's kind (this module has one file per kind).
    pub op: Box<dyn StageOp>,
    /// A short description for `explain` and graphs.
    pub name: String,
}

impl Stage {
    /// The stages whose blocks this stage's tasks read ([`StageOp::input_stages`]).
    pub fn inputs(&self) -> Vec<StageId> {
        self.op.input_stages()
    }

    /// The fused programs a task of this stage evaluates ([`StageOp::programs`]).
    pub fn programs(&self) -> Vec<&Program> {
        self.op.programs()
    }

    /// The fused programs block `block` of this stage evaluates, each with the region of
    /// its grid it evaluates over ([`StageOp::program_regions`]).
    pub fn program_regions(&self, block: &[usize]) -> Vec<(&Program, Region)> {
        self.op.program_regions(block)
    }

    /// The kind of operation, as execution statistics name it ([`StageOp::op_name`]).
    pub fn op_name(&self) -> &'static str {
        self.op.op_name()
    }

    /// The source read, when this stage reads a stored chunk per block (its kind is
    /// [`Read`]): for the passes about source reads.
    pub fn as_read(&self) -> Option<&Read> {
        (self.op.as_ref() as &dyn Any).downcast_ref()
    }

    /// Bytes of the largest block this stage outputs.
    pub fn max_block_bytes(&self) -> usize {
        self.grid.max_chunk_shape().iter().product::<usize>() * self.dtype.size()
    }
}
