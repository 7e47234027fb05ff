//! Stage 3, *when*: the block-level task graph, culled, and the order to run it in.
//!
//! [`TaskGraph::build`] enumerates the tasks of a [`Plan`]: starting from every block of the
//! output stages, it walks back through each task's inputs and keeps only the blocks that are
//! needed (culling). Task ids are assigned stage by stage, so every task's inputs have
//! smaller ids. Edges are stored compactly (CSR), about 20 bytes per task plus 8 per edge,
//! so a 10^6-block graph costs tens of megabytes.
//!
//! [`order`] gives each task a priority: a depth-first post-order from the output blocks,
//! which finishes each output (and each reduction group) before starting the next, so
//! partials are combined, and inputs freed, as early as possible.

mod order;
mod simulate;

pub use order::{RootOrder, order};
pub use simulate::{Footprint, simulate};

use crate::error::{Error, Result};
use crate::grid::ChunkGrid;
use crate::kernel::gather::for_each_chunk;
use crate::plan::{Plan, StageId, StageKind};

/// A task id: an index into [`TaskGraph`]'s arrays.
pub type TaskId = u32;

const NOT_NEEDED: u32 = u32::MAX;

/// The culled block-level task graph of a plan.
#[derive(Debug)]
pub struct TaskGraph {
    /// Stage of each task.
    pub stage: Vec<u32>,
    /// Linear block number (in the stage grid) of each task.
    pub block: Vec<u64>,
    dep_start: Vec<u32>,
    deps: Vec<TaskId>,
    user_start: Vec<u32>,
    users: Vec<TaskId>,
    /// Tasks per stage after culling.
    pub stage_tasks: Vec<u64>,
}

/// Calls `f(stage, linear_block)` for every input block of block `block` of stage `s`.
pub fn for_each_input(plan: &Plan, s: StageId, block: &[usize], mut f: impl FnMut(StageId, usize)) {
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
                for (s, view) in program.block_leaves() {
                    if plan.reads_inline(s) {
                        continue;
                    }
                    let grid = &plan.stages[s].grid;
                    let touched = view.touched_chunks(grid, &region);
                    for_each_chunk(&touched, |c| f(s, grid.linear(c)));
                }
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

impl TaskGraph {
    /// Builds the culled task graph of `plan`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the graph would exceed 2^32 tasks.
    pub fn build(plan: &Plan) -> Result<TaskGraph> {
        let n_stages = plan.stages.len();
        // Pass 1: mark needed blocks, consumers before producers.
        let mut id_of: Vec<Vec<u32>> = plan
            .stages
            .iter()
            .map(|s| vec![NOT_NEEDED; s.grid.nblocks()])
            .collect();
        for out in &plan.outputs {
            let ids = &mut id_of[out.stage];
            match &out.blocks {
                None => ids.fill(0),
                Some(wanted) if wanted.len() == ids.len() => {
                    for (id, &want) in ids.iter_mut().zip(wanted) {
                        if want {
                            *id = 0;
                        }
                    }
                }
                Some(wanted) => {
                    return Err(Error::internal(format!(
                        "output block mask of {} blocks for an output of {}",
                        wanted.len(),
                        ids.len()
                    )));
                }
            }
        }
        // A scan reads the block before it in its own stage, which has a smaller linear
        // index: visiting blocks from the last marks it before it is visited.
        for s in (0..n_stages).rev() {
            let stage = &plan.stages[s];
            let (before, rest) = id_of.split_at_mut(s);
            let own = &mut rest[0];
            for lin in (0..own.len()).rev() {
                if own[lin] == NOT_NEEDED {
                    continue;
                }
                for_each_input(plan, s, &stage.grid.unlinear(lin), |u, b| {
                    if u == s {
                        own[b] = 0;
                    } else {
                        before[u][b] = 0;
                    }
                });
            }
        }
        // Pass 2: ids in stage order, so inputs always have smaller ids.
        let mut stage_v = Vec::new();
        let mut block_v = Vec::new();
        let mut stage_tasks = vec![0u64; n_stages];
        for (s, ids) in id_of.iter_mut().enumerate() {
            for (lin, id) in ids.iter_mut().enumerate() {
                if *id == NOT_NEEDED {
                    continue;
                }
                let next = u32::try_from(stage_v.len())
                    .ok()
                    .filter(|&n| n != NOT_NEEDED)
                    .ok_or_else(|| {
                        Error::invalid("the task graph exceeds 2^32 tasks; use larger chunks")
                    })?;
                *id = next;
                stage_v.push(s as u32);
                block_v.push(lin as u64);
                stage_tasks[s] += 1;
            }
        }
        // Pass 3: edges.
        let n = stage_v.len();
        let mut dep_start = Vec::with_capacity(n + 1);
        let mut deps = Vec::new();
        dep_start.push(0u32);
        for t in 0..n {
            let s = stage_v[t] as usize;
            let block = plan.stages[s].grid.unlinear(block_v[t] as usize);
            let first = deps.len();
            for_each_input(plan, s, &block, |u, b| deps.push(id_of[u][b]));
            deps[first..].sort_unstable();
            let mut w = first;
            for r in first..deps.len() {
                if r == first || deps[r] != deps[w - 1] {
                    deps[w] = deps[r];
                    w += 1;
                }
            }
            deps.truncate(w);
            dep_start.push(deps.len() as u32);
        }
        let (user_start, users) = invert(n, &dep_start, &deps);
        Ok(TaskGraph {
            stage: stage_v,
            block: block_v,
            dep_start,
            deps,
            user_start,
            users,
            stage_tasks,
        })
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.stage.len()
    }

    /// True when there are no tasks.
    pub fn is_empty(&self) -> bool {
        self.stage.is_empty()
    }

    /// The tasks whose outputs `t` reads (sorted, distinct).
    pub fn deps(&self, t: TaskId) -> &[TaskId] {
        &self.deps[self.dep_start[t as usize] as usize..self.dep_start[t as usize + 1] as usize]
    }

    /// The tasks that read `t`'s output.
    pub fn users(&self, t: TaskId) -> &[TaskId] {
        &self.users[self.user_start[t as usize] as usize..self.user_start[t as usize + 1] as usize]
    }

    /// The block index of task `t` in its stage's grid.
    pub fn block_index(&self, plan: &Plan, t: TaskId) -> Vec<usize> {
        self.grid(plan, t).unlinear(self.block[t as usize] as usize)
    }

    /// The grid of task `t`'s stage.
    pub fn grid<'a>(&self, plan: &'a Plan, t: TaskId) -> &'a ChunkGrid {
        &plan.stages[self.stage[t as usize] as usize].grid
    }

    /// Number of edges.
    pub fn n_edges(&self) -> usize {
        self.deps.len()
    }
}

/// Reverses CSR edges.
fn invert(n: usize, start: &[u32], edges: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let mut count = vec![0u32; n + 1];
    for &e in edges {
        count[e as usize + 1] += 1;
    }
    for i in 0..n {
        count[i + 1] += count[i];
    }
    let mut fill = count.clone();
    let mut out = vec![0u32; edges.len()];
    for t in 0..n {
        for &e in &edges[start[t] as usize..start[t + 1] as usize] {
            out[fill[e as usize] as usize] = t as u32;
            fill[e as usize] += 1;
        }
    }
    (count, out)
}

/// A plan's culled task graph with its priority order and predicted footprint, computed
/// once and shared by the fit check, `explain` and the executor.
#[derive(Debug)]
pub struct Scheduled {
    /// The culled task graph.
    pub graph: TaskGraph,
    /// Priority of every task (see [`order`]).
    pub position: Vec<u32>,
    /// Bytes per task and the predicted peak (see [`simulate`]).
    pub footprint: Footprint,
}

impl Scheduled {
    fn of(plan: &Plan, roots: RootOrder) -> Result<Scheduled> {
        let graph = TaskGraph::build(plan)?;
        let outputs: Vec<u32> = plan.outputs.iter().map(|o| o.stage as u32).collect();
        let position = order(&graph, &outputs, roots);
        let footprint = simulate(plan, &graph, &position);
        Ok(Scheduled {
            graph,
            position,
            footprint,
        })
    }
}

/// Builds and schedules the task graph for `plan` under a memory limit of `limit` bytes. Source chunks
/// are read by one task each and shared by their users; when holding them between uses
/// would not fit in the limit (a chunk read for `x.mean(axis=0)` and used again by
/// `x - mean`), the plan switches to reading sources inline: each task reads the chunks it
/// needs, so re-reading replaces holding.
///
/// # Errors
/// A graph over 2^32 tasks.
pub fn plan(plan: &mut Plan, limit: u64) -> Result<Scheduled> {
    // Several results: use what they share while it is resident (see `RootOrder`).
    let first = match plan.outputs.len() {
        0 | 1 => RootOrder::Blocks,
        _ => RootOrder::Consumers,
    };
    let mut scheduled = Scheduled::of(plan, first)?;
    if scheduled.footprint.peak > limit {
        // That order does not fit: try finishing what shares inputs first.
        let siblings = Scheduled::of(plan, RootOrder::Siblings)?;
        if siblings.footprint.peak < scheduled.footprint.peak {
            scheduled = siblings;
        }
    }
    let has_reads = plan
        .stages
        .iter()
        .enumerate()
        .any(|(i, s)| !plan.is_output(i) && matches!(s.kind, StageKind::Read { .. }));
    if plan.inline_reads || !has_reads || scheduled.footprint.peak <= limit {
        return Ok(scheduled);
    }
    plan.inline_reads = true;
    Scheduled::of(plan, first)
}
