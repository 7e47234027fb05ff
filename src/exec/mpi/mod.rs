//! The MPI scheduler ([`crate::Scheduler::Mpi`], cargo feature `mpi`): the ranks of an MPI
//! job run one computation (rsmpi over the system's Open MPI or MPICH). The design is
//! dask.distributed's, on MPI: rank 0 is a scheduler that holds metadata only, the other
//! ranks are workers that hold the data and send it to each other directly.
//!
//! Every rank runs the same program, so every rank plans the same computation; the plans
//! are compared (rank 0's digest against each rank's) before anything runs. Then:
//!
//! - **Placement** is a pure function of the plan, so every rank computes the same one:
//!   the cluster scheduler's ([`super::cluster::place`]: in priority order, each task on
//!   the worker rank holding most of its input bytes unless that rank is too far ahead of
//!   the least loaded one). Rank 0 uses it to send each task to its rank; a worker uses it
//!   to know which rank holds each input and how many ranks will fetch each of its outputs.
//! - **Sources never travel.** A task that reads one stored chunk and nothing else (not an
//!   output itself) is not placed: each worker that needs the chunk reads it from the
//!   shared store itself (mapped in place when it is uncompressed), as a dropped chunk is
//!   re-read ([`Residency::mark_unread`]).
//! - **Intermediates stay where they are computed.** Each worker keeps its tasks' outputs in
//!   its own [`Residency`] under its own memory limit, evicting, spilling (to its own spill
//!   directory) and recomputing as the threads scheduler does. A task whose input another
//!   worker holds fetches it from that worker when it is admitted (`worker.rs`: a request,
//!   then the block in pieces of at most 1 GiB; the bytes are reserved first, as for a
//!   block read back from the spill store). The holder keeps an output until its own users
//!   have run and every other rank that uses it has fetched it.
//! - **Rank 0 holds the plan, the placement and per-task counters** (`root.rs`): it sends
//!   each task's id to its rank as soon as its inputs are computed, so workers have a queue
//!   of ready tasks and never wait on a round trip, and counts the `DONE`s. Its memory is
//!   O(tasks) integers; it reserves nothing in the residency.
//! - **One progress loop per rank** (`link.rs`): non-blocking sends and receives, polled
//!   with a growing pause; a worker computes on one thread of its own while its loop serves
//!   fetches, so MPI is only called from the thread that runs the computation.
//! - **Results kept in memory** reach every rank by broadcast from the rank that computed
//!   each block, once the run is over, so that every rank returns the same result.
//!
//! Writes to a Zarr store: rank 0 decides where the write starts (what a `--resume` keeps)
//! and tells the others, creates the array, and marks it complete once every block has
//! been written; each worker writes the blocks it computes ([`ZarrWriter::attach`]) before it
//! reports them done.
//!
//! [`ZarrWriter::attach`]: crate::store::ZarrWriter::attach
//!
//! A rank that dies takes the job down: `mpirun` aborts the others (and the `brickwork`
//! binary aborts the job when a rank fails outside a computation, so nobody waits
//! forever). The intermediates it held are lost with it; what was written to the output
//! store is kept, and `--resume` computes only the chunks that are missing.

mod link;
mod root;
mod worker;

use std::hash::{DefaultHasher, Hash, Hasher};

use mpi::collective::SystemOperation;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::{CommunicatorCollectives, Root};

use super::residency::Residency;
use super::spill::{decode, encode};
use super::task::Ctx;
use super::threads::run_threads;
use crate::block::Block;
use crate::config::{ComputeOptions, Scheduler};
use crate::error::{Error, Result};
use crate::kernel::Datum;
use crate::metrics::Metrics;
use crate::plan::Plan;
use crate::plan::stage::Recompute;
use crate::schedule::{Footprint, TaskGraph, TaskId};

/// This rank and the number of ranks, when `opts` runs on MPI with more than one rank.
///
/// # Errors
/// MPI is not initialized, or only with `MPI_THREAD_SINGLE`.
pub(crate) fn ranks(opts: &ComputeOptions) -> Result<Option<(i32, i32)>> {
    if opts.scheduler != Scheduler::Mpi {
        return Ok(None);
    }
    let world = world()?;
    Ok((world.size() > 1).then(|| (world.rank(), world.size())))
}

fn world() -> Result<SimpleCommunicator> {
    if !mpi::environment::is_initialized() || mpi::environment::is_finalized() {
        return Err(Error::invalid(
            "the mpi scheduler needs MPI initialized: call brickwork::mpi::initialize() \
             first, and run the program with mpirun",
        ));
    }
    if mpi::environment::threading_support() == mpi::Threading::Single {
        return Err(Error::invalid(
            "the mpi scheduler needs MPI initialized with MPI_THREAD_FUNNELED or more (each \
             rank computes on threads that never call MPI): use brickwork::mpi::initialize() \
             or mpi::initialize_with_threading(Threading::Funneled)",
        ));
    }
    Ok(SimpleCommunicator::world())
}

/// Sends rank 0's `value` (an outcome encoded as bytes) to every rank; returns it.
fn share(bytes: Vec<u8>) -> Result<Vec<u8>> {
    let world = world()?;
    let root = world.process_at_rank(0);
    let mut len = bytes.len() as u64;
    root.broadcast_into(&mut len);
    let mut buf = if world.rank() == 0 {
        bytes
    } else {
        vec![0u8; len as usize]
    };
    if len > 0 {
        root.broadcast_into(&mut buf[..]);
    }
    Ok(buf)
}

/// Shares rank 0's outcome of a step every rank must agree on before going on: `Ok` with
/// bytes on rank 0 gives every rank those bytes; an error on rank 0 gives every other
/// rank an [`Error::Rank`] that says so (rank 0 returns its own).
pub(crate) fn share_outcome(outcome: Result<Vec<u8>>) -> Result<Vec<u8>> {
    let world = world()?;
    let mut msg = Vec::new();
    if world.rank() == 0 {
        match &outcome {
            Ok(bytes) => {
                msg.push(0);
                msg.extend_from_slice(bytes);
            }
            Err(e) => {
                msg.push(1);
                msg.extend_from_slice(super::remote::with_causes(e).as_bytes());
            }
        }
    }
    let msg = share(msg)?;
    if world.rank() == 0 {
        return outcome;
    }
    match msg.split_first() {
        Some((0, rest)) => Ok(rest.to_vec()),
        Some((_, rest)) => Err(Error::Rank {
            rank: 0,
            detail: String::from_utf8_lossy(rest).into_owned(),
        }),
        None => Err(Error::internal("an empty message from rank 0")),
    }
}

/// Runs `ctx`'s plan on the ranks: rank 0 schedules, the others compute.
pub(super) fn run(
    ctx: Ctx<'_>,
    residency: Residency<'_>,
    footprint: &Footprint,
) -> Result<Metrics> {
    let world = world()?;
    let (rank, size) = (world.rank(), world.size());
    if size == 1 {
        let threads = ctx.opts.effective_threads();
        return run_threads(&ctx, residency, threads);
    }
    drop(residency);
    agree(&world, digest(ctx.plan, ctx.graph, ctx.position))?;
    let layout = Layout::new(&ctx, footprint, size);
    let link = link::Link::new(&world);
    if rank == 0 {
        let metrics = root::run(&ctx, &layout, link)?;
        share_results(&world, &ctx, &layout, Vec::new())?;
        return Ok(metrics);
    }
    let (outcome, held) = worker::run(&ctx, &layout, footprint, link);
    let metrics = outcome?;
    share_results(&world, &ctx, &layout, held)?;
    Ok(metrics)
}

/// Checks that every rank planned the computation rank 0 did (`mine` is this rank's
/// digest of it).
fn agree(world: &SimpleCommunicator, mine: u64) -> Result<()> {
    let mut theirs = mine;
    world.process_at_rank(0).broadcast_into(&mut theirs);
    let odd = if theirs == mine {
        world.size()
    } else {
        world.rank()
    };
    let mut first = odd;
    world.all_reduce_into(&odd, &mut first, SystemOperation::min());
    if first == world.size() {
        return Ok(());
    }
    Err(Error::Rank {
        rank: first,
        detail: format!(
            "rank {first} planned another computation than rank 0 (every rank must run the \
             same program on the same inputs)"
        ),
    })
}

/// Where every task runs, as every rank works it out from the plan.
pub(super) struct Layout {
    /// Per task: a source chunk read by each rank that uses it, not placed.
    pub(super) local: Vec<bool>,
    /// Per task: the rank that runs it and holds its output (1 to size - 1).
    pub(super) rank: Vec<i32>,
}

impl Layout {
    fn new(ctx: &Ctx<'_>, footprint: &Footprint, size: i32) -> Layout {
        let (plan, graph) = (ctx.plan, ctx.graph);
        let local: Vec<bool> = (0..graph.len() as TaskId)
            .map(|t| {
                let stage = graph.stage[t as usize] as usize;
                graph.deps(t).is_empty()
                    && plan.stages[stage].op.recompute() == Recompute::Reread
                    && !plan.is_output(stage)
            })
            .collect();
        // Chunks read where they are used add no load; each follows its first user, and
        // draws its later users to the same rank, which then reads it once.
        let need: Vec<u64> = footprint
            .need
            .iter()
            .zip(&local)
            .map(|(&b, &l)| if l { 0 } else { b })
            .collect();
        let owner = super::cluster::place_following(
            graph,
            ctx.position,
            &need,
            &footprint.output,
            (size - 1) as usize,
            &local,
        );
        Layout {
            local,
            rank: owner.into_iter().map(|w| i32::from(w) + 1).collect(),
        }
    }

    /// For worker rank `me`: how many times each task's output is used there before it can
    /// go (its users there; for an output it holds, also one fetch per other rank using it).
    fn uses_on(&self, graph: &TaskGraph, me: i32) -> Vec<u32> {
        let mut uses = vec![0u32; graph.len()];
        let mut fetchers = Vec::new();
        for t in 0..graph.len() as TaskId {
            let holder = self.rank[t as usize];
            fetchers.clear();
            for &u in graph.users(t) {
                let at = self.rank[u as usize];
                if at == me {
                    uses[t as usize] += 1;
                }
                if holder == me && at != me && !self.local[t as usize] {
                    fetchers.push(at);
                }
            }
            fetchers.sort_unstable();
            fetchers.dedup();
            uses[t as usize] += fetchers.len() as u32;
        }
        uses
    }
}

/// An output block of an in-memory result that a worker computed: (the output's index,
/// the block's index, the block), kept until the run ends and then broadcast.
pub(super) type Held = (usize, Vec<usize>, Block);

/// Gives every rank's in-memory sinks every block of their results, each broadcast from
/// the rank that computed it (`held`: this rank's), in task order.
fn share_results(
    world: &SimpleCommunicator,
    ctx: &Ctx<'_>,
    layout: &Layout,
    held: Vec<Held>,
) -> Result<()> {
    let (plan, graph) = (ctx.plan, ctx.graph);
    let mut held: std::collections::HashMap<(usize, Vec<usize>), Block> = held
        .into_iter()
        .map(|(i, index, block)| ((i, index), block))
        .collect();
    for (i, sink) in ctx.sinks.iter().enumerate() {
        if !sink.in_memory() {
            continue;
        }
        let stage = plan.outputs[i].stage;
        for t in (0..graph.len() as TaskId).filter(|&t| graph.stage[t as usize] as usize == stage) {
            let index = graph.block_index(plan, t);
            let root = layout.rank[t as usize];
            let mut bytes = Vec::new();
            if world.rank() == root {
                let block = held.remove(&(i, index.clone())).ok_or_else(|| {
                    Error::internal(format!("block {index:?} of result {i} is not held here"))
                })?;
                encode(&Datum::Block(block), &mut bytes)
                    .map_err(|e| Error::internal_from("encoding a result block", e))?;
            }
            let bytes = broadcast(world, root, bytes);
            let value = decode(&mut &bytes[..])
                .map_err(|e| Error::internal_from("decoding a result block", e))?;
            let Datum::Block(block) = value else {
                return Err(Error::internal("a result block that is not a block"));
            };
            sink.consume(&index, block)?;
        }
    }
    Ok(())
}

/// Rank `root`'s `bytes` on every rank (in pieces of at most 1 GiB).
fn broadcast(world: &SimpleCommunicator, root: i32, mut bytes: Vec<u8>) -> Vec<u8> {
    let from = world.process_at_rank(root);
    let mut len = bytes.len() as u64;
    from.broadcast_into(&mut len);
    bytes.resize(len as usize, 0);
    for piece in bytes.chunks_mut(link::PIECE) {
        from.broadcast_into(piece);
    }
    bytes
}

/// A digest of the plan every rank must share.
fn digest(plan: &Plan, graph: &TaskGraph, position: &[u32]) -> u64 {
    let mut h = DefaultHasher::new();
    graph.len().hash(&mut h);
    graph.stage.hash(&mut h);
    graph.block.hash(&mut h);
    position.hash(&mut h);
    for s in &plan.stages {
        s.name.hash(&mut h);
        s.grid.shape().hash(&mut h);
    }
    h.finish()
}
