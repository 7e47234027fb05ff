//! Stage 3, *when*: the block-level task graph, culled, and the order to run it in.
//!
//! *Internal*: public only for the CLI, the Python package and the benchmarks of this
//! repository; no stability promise (see the crate's map).
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

pub(crate) mod dot;
mod fits;
mod order;
mod simulate;

pub use fits::check_fits;
pub use order::{RootOrder, order};
pub use simulate::{Footprint, simulate};

use crate::config::CancelToken;
use crate::error::{Error, Result};
use crate::grid::ChunkGrid;
use crate::plan::Plan;

/// Lets the long loops of scheduling (over every task of a graph that may have millions)
/// notice a cancelled computation ([`crate::ComputeOptions::cancel`]): they look at it
/// every few thousand steps and return [`Error::Cancelled`], so that a signal during
/// planning is answered at once rather than when planning ends.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cancel<'a>(Option<&'a CancelToken>);

impl<'a> Cancel<'a> {
    /// Never cancelled.
    pub const NEVER: Cancel<'static> = Cancel(None);

    /// Cancelled by `token`, when there is one.
    pub fn by(token: Option<&'a CancelToken>) -> Self {
        Cancel(token)
    }

    /// At step `i` of a loop: [`Error::Cancelled`] once cancelled (looked at every 4096
    /// steps).
    ///
    /// # Errors
    /// [`Error::Cancelled`].
    #[inline]
    pub fn check(self, i: usize) -> Result<()> {
        if i.is_multiple_of(4096) && self.0.is_some_and(CancelToken::is_cancelled) {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

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

impl TaskGraph {
    /// Builds the culled task graph of `plan`, refusing one whose planning alone would not
    /// fit in `limit` bytes (see [`BYTES_PER_TASK`]) before it is allocated.
    ///
    /// # Errors
    /// [`Error::PlanExceedsMemory`] for a graph too large for `limit`;
    /// [`Error::InvalidArgument`] when the graph would exceed 2^32 tasks;
    /// [`Error::Cancelled`] once `cancel` is.
    pub fn build(plan: &Plan, limit: u64, cancel: Cancel<'_>) -> Result<TaskGraph> {
        let n_stages = plan.stages.len();
        // Every block of every stage has an entry while culling, needed or not.
        let blocks = plan
            .stages
            .iter()
            .fold(0u64, |n, s| n.saturating_add(s.grid.nblocks() as u64));
        let marks = blocks.saturating_mul(4);
        refuse_large_graph(plan, marks, Tasks::Unknown, limit)?;
        // Culling refuses as soon as the blocks it has marked needed would take twice the
        // limit to plan, rather than after marking them all (10^8 blocks took 9 s); a graph
        // between once and twice the limit is counted whole and refused below.
        let most = limit.saturating_mul(2).saturating_sub(marks) / BYTES_PER_TASK;
        let mut marked = 0u64;
        // Pass 1: mark needed blocks, consumers before producers.
        let mut id_of: Vec<Vec<u32>> = plan
            .stages
            .iter()
            .map(|s| vec![NOT_NEEDED; s.grid.nblocks()])
            .collect();
        for out in &plan.outputs {
            let ids = &mut id_of[out.stage];
            match &out.blocks {
                None => {
                    marked += ids.iter().filter(|&&id| id == NOT_NEEDED).count() as u64;
                    ids.fill(0);
                }
                Some(wanted) if wanted.len() == ids.len() => {
                    for (id, &want) in ids.iter_mut().zip(wanted) {
                        if want && *id == NOT_NEEDED {
                            *id = 0;
                            marked += 1;
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
                cancel.check(lin)?;
                if own[lin] == NOT_NEEDED {
                    continue;
                }
                plan.for_each_input(s, &stage.grid.unlinear(lin), |u, b| {
                    let id = if u == s {
                        &mut own[b]
                    } else {
                        &mut before[u][b]
                    };
                    if *id == NOT_NEEDED {
                        *id = 0;
                        marked += 1;
                    }
                });
                if marked > most {
                    refuse_large_graph(
                        plan,
                        marks.saturating_add(marked.saturating_mul(BYTES_PER_TASK)),
                        Tasks::AtLeast(marked),
                        limit,
                    )?;
                }
            }
        }
        // Every block marked needed was counted once, as it was marked.
        let needed = marked;
        refuse_large_graph(
            plan,
            marks.saturating_add(needed.saturating_mul(BYTES_PER_TASK)),
            Tasks::Exactly(needed),
            limit,
        )?;
        // Pass 2: ids in stage order, so inputs always have smaller ids.
        let mut stage_v = Vec::new();
        let mut block_v = Vec::new();
        let mut stage_tasks = vec![0u64; n_stages];
        for (s, ids) in id_of.iter_mut().enumerate() {
            for (lin, id) in ids.iter_mut().enumerate() {
                cancel.check(lin)?;
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
            cancel.check(t)?;
            let s = stage_v[t] as usize;
            let block = plan.stages[s].grid.unlinear(block_v[t] as usize);
            let first = deps.len();
            plan.for_each_input(s, &block, |u, b| deps.push(id_of[u][b]));
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
        cancel.check(0)?;
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

/// What planning holds per task at least, besides culling's 4 bytes per block: the graph
/// (stage, block, one edge each way: 28 bytes), the priority (4) and the footprint (16).
/// The run itself adds the executor's state of every task (see [`Scheduled::bytes`] and
/// `exec::run_state_bytes`), counted against the limit by the fit check.
pub const BYTES_PER_TASK: u64 = 48;

/// How many tasks a graph being refused has, as far as culling got.
#[derive(Clone, Copy, Debug)]
enum Tasks {
    /// Not counted yet.
    Unknown,
    /// At least this many (culling stopped as soon as they did not fit).
    AtLeast(u64),
    /// This many once culled.
    Exactly(u64),
}

/// Refuses a task graph whose planning needs `bytes` (`tasks` of them once culled, as far
/// as known) over `limit`, naming the stage with the most blocks.
fn refuse_large_graph(plan: &Plan, bytes: u64, tasks: Tasks, limit: u64) -> Result<()> {
    if bytes <= limit {
        return Ok(());
    }
    let blocks: u64 = plan.stages.iter().map(|s| s.grid.nblocks() as u64).sum();
    let largest = plan.stages.iter().max_by_key(|s| s.grid.nblocks());
    let what = match tasks {
        Tasks::Exactly(n) => format!("planning {n} tasks ({blocks} blocks in all)"),
        Tasks::AtLeast(n) => format!("planning at least {n} tasks ({blocks} blocks in all)"),
        Tasks::Unknown => format!("planning {blocks} blocks"),
    };
    let hint = match largest {
        Some(s) => format!(
            "planning holds tens of bytes per block, and {} alone has {} blocks (a grid of \
             {}): chunks twice as large along every axis make {}x fewer, or raise the limit",
            s.name,
            s.grid.nblocks(),
            crate::grid::fmt_shape(&s.grid.grid_shape()),
            1u64 << s.grid.shape().len().min(63),
        ),
        None => "raise the limit".to_string(),
    };
    Err(Error::PlanExceedsMemory {
        what,
        needed: bytes,
        limit,
        hint,
    })
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
    /// What tasks reserve when it differs from `footprint` (see
    /// [`Scheduled::reservations`]).
    reservations: Option<Footprint>,
}

impl Scheduled {
    fn of(plan: &Plan, roots: RootOrder, limit: u64, cancel: Cancel<'_>) -> Result<Scheduled> {
        let graph = TaskGraph::build(plan, limit, cancel)?;
        let outputs: Vec<u32> = plan.outputs.iter().map(|o| o.stage as u32).collect();
        let position = order(&graph, &outputs, roots, cancel)?;
        let footprint = simulate(plan, &graph, &position, cancel)?;
        Ok(Scheduled {
            graph,
            position,
            footprint,
            reservations: None,
        })
    }

    /// What each task reserves before it runs: its output and scratch, and with worker
    /// processes also the worker's copies (see [`Residence::WorkerProcess`]).
    pub fn reservations(&self) -> &Footprint {
        self.reservations.as_ref().unwrap_or(&self.footprint)
    }

    /// Bytes this schedule holds: the graph, the priorities and the per-task figures.
    pub fn bytes(&self) -> u64 {
        let g = &self.graph;
        let vec_bytes = |len: usize, size: usize| (len * size) as u64;
        let footprints = std::iter::once(&self.footprint).chain(&self.reservations);
        vec_bytes(g.stage.capacity(), 4)
            + vec_bytes(g.block.capacity(), 8)
            + vec_bytes(g.dep_start.capacity() + g.deps.capacity(), 4)
            + vec_bytes(g.user_start.capacity() + g.users.capacity(), 4)
            + vec_bytes(g.stage_tasks.capacity(), 8)
            + vec_bytes(self.position.capacity(), 4)
            + footprints
                .map(|f| vec_bytes(f.need.capacity() + f.output.capacity(), 8))
                .sum::<u64>()
    }

    /// True when the predicted peak fits in `limit` (nothing spilled, nothing re-read).
    pub fn fits_without_spilling(&self, limit: u64) -> bool {
        self.footprint.peak <= limit
    }
}

/// Where a running task's inputs, output and scratch live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Residence {
    /// In this process only.
    InProcess,
    /// Here and, a second time, in the worker process that runs the task.
    WorkerProcess,
}

/// Builds and schedules the task graph of `plan` under a memory limit of `limit` bytes:
/// the culled graph, the priority order (for several results, the order that uses what
/// they share while it is resident; when that does not fit, the one finishing siblings
/// first if it peaks lower; see [`RootOrder`]) and the predicted footprint, with each task's reservation as
/// `residence` makes it.
///
/// # Errors
/// A graph over 2^32 tasks; [`Error::Cancelled`] once `cancel` is.
pub fn schedule(
    plan: &Plan,
    limit: u64,
    residence: Residence,
    cancel: Cancel<'_>,
) -> Result<Scheduled> {
    let first = match plan.outputs.len() {
        0 | 1 => RootOrder::Blocks,
        _ => RootOrder::Consumers,
    };
    let mut scheduled = Scheduled::of(plan, first, limit, cancel)?;
    if scheduled.footprint.peak > limit {
        // That order does not fit: try finishing what shares inputs first.
        let siblings = Scheduled::of(plan, RootOrder::Siblings, limit, cancel)?;
        if siblings.footprint.peak < scheduled.footprint.peak {
            scheduled = siblings;
        }
    }
    if residence == Residence::WorkerProcess {
        scheduled.reservations = Some(scheduled.footprint.with_worker_copies(&scheduled.graph));
    }
    Ok(scheduled)
}
