//! The MPI scheduler ([`crate::Scheduler::Mpi`], cargo feature `mpi`): the ranks of an MPI
//! job run one computation, blocks travelling between them in MPI messages (rsmpi over the
//! system's OpenMPI or MPICH; no protocol of our own on the network).
//!
//! Every rank runs the same program, so every rank plans the same computation; the plans
//! are compared (a digest broadcast from rank 0) before anything runs. Rank 0 schedules as
//! the processes scheduler's parent does: it runs the threads scheduler's loop with one
//! thread per other rank, owns the memory pool under the limit, the spill store and the
//! in-memory results, and sends each task with its input blocks to that thread's rank,
//! which runs it (reading its own source chunks from the shared filesystem) and sends the
//! value back (the request and reply of `remote.rs`; a source chunk mapped in place is not
//! sent: the receiver maps the same file). A block of an output going to a store is
//! written by the rank that computed it, which replies with the bytes written. Blocks of
//! an in-memory result are also sent to every other rank, so that all ranks return it.
//! When the run ends, rank 0 tells every rank how it ended (`STOP`, with the error if it
//! failed); the other ranks return that.
//!
//! Writes to a Zarr store: rank 0 decides where the write starts (what a `--resume` keeps)
//! and tells the others, creates the array, and marks it complete once every block has
//! been written; the other ranks open it to write their blocks ([`ZarrSink::attach`]).
//!
//! [`ZarrSink::attach`]: crate::store::ZarrSink::attach
//!
//! A rank that dies takes the job down: `mpirun` aborts the others (and the `brickwork`
//! binary aborts the job when a rank fails outside a computation, so nobody waits
//! forever).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mpi::topology::Process;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::{Destination, MatchedReceiveVec, Root, Source};

use super::output::{output_block, to_sinks};
use super::pool::Pool;
use super::remote::{
    Ran, RunTasks, get_string, put_string, read_reply, serve_request, write_request,
};
use super::spill::{decode, encode, get_u64, put_u64};
use super::task::Ctx;
use super::threads::run_threads;
use crate::block::Block;
use crate::config::{ComputeOptions, Scheduler};
use crate::error::{Error, Result};
use crate::kernel::Value;
use crate::metrics::Metrics;
use crate::plan::Plan;
use crate::schedule::{TaskGraph, TaskId};
use crate::store::Sink;

/// Messages from rank 0 to the others.
const TO_WORKER: i32 = 71;
/// Replies to rank 0.
const TO_ROOT: i32 = 72;

/// Kinds of message to a worker rank.
const TASK: u64 = 0;
const OUTPUT: u64 = 1;
const STOP: u64 = 2;

/// This rank and the number of ranks, when `opts` runs on MPI with more than one rank.
///
/// # Errors
/// MPI is not initialized, or not with `MPI_THREAD_MULTIPLE`.
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
            "the mpi scheduler needs MPI initialized (with MPI_THREAD_MULTIPLE): call \
             brickwork::mpi::initialize() first, and run the program with mpirun",
        ));
    }
    if mpi::environment::threading_support() != mpi::Threading::Multiple {
        return Err(Error::invalid(
            "the mpi scheduler needs MPI initialized with MPI_THREAD_MULTIPLE (rank 0 talks \
             to every rank from its own thread): use brickwork::mpi::initialize() or \
             mpi::initialize_with_threading(Threading::Multiple)",
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

/// Runs `ctx`'s plan on the ranks: rank 0 schedules, the others serve tasks.
pub(super) fn run(ctx: Ctx<'_>, pool: Pool<'_>) -> Result<Metrics> {
    let world = world()?;
    let (rank, size) = (world.rank(), world.size());
    if size == 1 {
        let threads = ctx.opts.effective_threads();
        return run_threads(&ctx, pool, threads);
    }
    let mine = digest(ctx.plan, ctx.graph, ctx.position);
    let mut theirs = mine;
    world.process_at_rank(0).broadcast_into(&mut theirs);
    if rank != 0 {
        drop(pool);
        let refuse = (theirs != mine).then(|| {
            format!(
                "rank {rank} planned another computation than rank 0 (every rank must run \
                 the same program on the same inputs)"
            )
        });
        return serve(&world, ctx.plan, ctx.graph, ctx.sinks, refuse.as_deref());
    }
    // The ranks write the blocks of outputs that go to stores themselves.
    let writes_there = (0..ctx.plan.stages.len())
        .map(|s| {
            let mut sinks = ctx
                .plan
                .outputs
                .iter()
                .zip(ctx.sinks)
                .filter(|(o, _)| o.stage == s)
                .map(|(_, sink)| sink)
                .peekable();
            sinks.peek().is_some() && sinks.all(|sink| !sink.in_memory())
        })
        .collect();
    let workers = Ranks {
        forwarded: (1..size).map(|_| AtomicU64::new(0)).collect(),
        writes_there,
    };
    let forwards: Vec<Forward<'_>> = ctx
        .sinks
        .iter()
        .enumerate()
        .map(|(index, inner)| Forward {
            inner: *inner,
            index,
            ranks: &workers,
        })
        .collect();
    let sinks: Vec<&dyn Sink> = forwards.iter().map(|f| f as &dyn Sink).collect();
    let ctx = Ctx {
        sinks: &sinks,
        remote: Some(&workers),
        ..ctx
    };
    let result = run_threads(&ctx, pool, (size - 1) as usize);
    // Every rank learns how it ended, after every block sent to it.
    for (i, sent) in workers.forwarded.iter().enumerate() {
        let mut msg = Vec::new();
        put_u64(&mut msg, STOP).expect("writing to memory");
        put_u64(&mut msg, sent.load(Ordering::SeqCst)).expect("writing to memory");
        let error = match &result {
            Ok(_) => String::new(),
            Err(e) => super::remote::with_causes(e),
        };
        put_string(&mut msg, &error).expect("writing to memory");
        world
            .process_at_rank(i as i32 + 1)
            .send_with_tag(&msg[..], TO_WORKER);
    }
    result
}

/// Receives the next message with `tag` from `peer`, polling with a growing pause (up to a
/// millisecond) instead of MPI's busy wait: ranks wait most of the time (rank 0's threads
/// for replies, the others for tasks), and a spinning wait would take the cores from the
/// ranks computing when there are more ranks than cores.
fn receive(peer: &Process<'_>, tag: i32) -> Vec<u8> {
    let mut pause = std::time::Duration::from_micros(20);
    loop {
        if let Some(matched) = peer.immediate_matched_probe_with_tag(tag) {
            return matched.matched_receive_vec::<u8>().0;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(1));
    }
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

/// Rank 0's view of the other ranks: scheduling thread `row` sends its tasks to rank
/// `row + 1`.
struct Ranks {
    /// Output blocks sent to each other rank.
    forwarded: Vec<AtomicU64>,
    /// Per stage: its blocks go to stores only, which the rank computing a block writes
    /// (when nothing else reads the block).
    writes_there: Vec<bool>,
}

impl RunTasks for Ranks {
    fn run(
        &self,
        plan: &Plan,
        graph: &TaskGraph,
        row: usize,
        t: TaskId,
        inputs: &[(TaskId, Arc<Value>)],
    ) -> Result<Ran> {
        let world = SimpleCommunicator::world();
        let rank = row as i32 + 1;
        let write_there =
            self.writes_there[graph.stage[t as usize] as usize] && graph.users(t).is_empty();
        let mut msg = Vec::new();
        put_u64(&mut msg, TASK).expect("writing to memory");
        put_u64(&mut msg, u64::from(write_there)).expect("writing to memory");
        write_request(&mut msg, t, inputs).expect("writing to memory");
        let peer = world.process_at_rank(rank);
        peer.send_with_tag(&msg[..], TO_WORKER);
        drop(msg);
        let reply = receive(&peer, TO_ROOT);
        match read_reply(&mut &reply[..], plan, graph, t) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(failure)) => {
                Err(
                    failure.into_error(&format!("MPI rank {rank}"), |detail| Error::Rank {
                        rank,
                        detail,
                    }),
                )
            }
            Err(e) => Err(Error::Rank {
                rank,
                detail: format!("an unreadable reply: {e}"),
            }),
        }
    }
}

/// A sink of rank 0 that also sends the blocks of an in-memory result to every other rank.
struct Forward<'a> {
    inner: &'a dyn Sink,
    index: usize,
    ranks: &'a Ranks,
}

impl Sink for Forward<'_> {
    fn consume(&self, block: &[usize], value: Block) -> Result<()> {
        if self.inner.in_memory() {
            let mut msg = Vec::new();
            let encoded = (|| -> std::io::Result<()> {
                put_u64(&mut msg, OUTPUT)?;
                put_u64(&mut msg, self.index as u64)?;
                put_u64(&mut msg, block.len() as u64)?;
                for &b in block {
                    put_u64(&mut msg, b as u64)?;
                }
                encode(&Value::Block(value.clone()), &mut msg)
            })();
            encoded.map_err(|e| Error::internal_from("encoding an output block", e))?;
            let world = SimpleCommunicator::world();
            for (i, sent) in self.ranks.forwarded.iter().enumerate() {
                world
                    .process_at_rank(i as i32 + 1)
                    .send_with_tag(&msg[..], TO_WORKER);
                sent.fetch_add(1, Ordering::SeqCst);
            }
        }
        self.inner.consume(block, value)
    }

    fn waits_on_io(&self) -> bool {
        self.inner.waits_on_io()
    }

    fn in_memory(&self) -> bool {
        self.inner.in_memory()
    }
}

/// A rank other than 0: runs the tasks rank 0 sends, takes the output blocks it forwards,
/// until it says how the run ended.
fn serve(
    world: &SimpleCommunicator,
    plan: &Plan,
    graph: &TaskGraph,
    sinks: &[&dyn Sink],
    refuse: Option<&str>,
) -> Result<Metrics> {
    let root = world.process_at_rank(0);
    let mut metrics = Metrics::default();
    let mut received = 0u64;
    let mut end: Option<(u64, String)> = None;
    let broken = |e: std::io::Error| Error::Rank {
        rank: 0,
        detail: format!("an unreadable message: {e}"),
    };
    loop {
        if let Some((expected, error)) = &end
            && received >= *expected
        {
            if error.is_empty() {
                return Ok(metrics);
            }
            return Err(Error::Rank {
                rank: 0,
                detail: error.clone(),
            });
        }
        let msg = receive(&root, TO_WORKER);
        let mut r = &msg[..];
        match get_u64(&mut r).map_err(broken)? {
            TASK => {
                let write_here = get_u64(&mut r).map_err(broken)? != 0;
                let t = get_u64(&mut r).map_err(broken)? as TaskId;
                let write = |value: Value| write_block(plan, graph, sinks, t, value);
                let mut reply = Vec::new();
                serve_request(
                    plan,
                    graph,
                    t,
                    &mut r,
                    &mut reply,
                    refuse,
                    write_here.then_some(&write as &dyn Fn(Value) -> Result<u64>),
                )
                .map_err(broken)?;
                reply.flush().map_err(broken)?;
                root.send_with_tag(&reply[..], TO_ROOT);
                metrics.tasks += 1;
            }
            OUTPUT => {
                let (index, block, value) = (|| -> std::io::Result<_> {
                    let index = get_u64(&mut r)? as usize;
                    let n = get_u64(&mut r)? as usize;
                    let block = (0..n)
                        .map(|_| get_u64(&mut r).map(|b| b as usize))
                        .collect::<std::io::Result<Vec<usize>>>()?;
                    Ok((index, block, decode(&mut r)?))
                })()
                .map_err(broken)?;
                let Value::Block(value) = value else {
                    return Err(Error::internal("an output that is not a block"));
                };
                let sink = sinks
                    .get(index)
                    .ok_or_else(|| Error::internal(format!("no sink {index} on this rank")))?;
                sink.consume(&block, value)?;
                received += 1;
            }
            STOP => {
                let expected = get_u64(&mut r).map_err(broken)?;
                let error = get_string(&mut r).map_err(broken)?;
                end = Some((expected, error));
            }
            other => {
                return Err(Error::internal(format!(
                    "unknown message {other} from rank 0"
                )));
            }
        }
    }
}

/// Writes output block `t` (`value`) to this rank's sinks of its stage; returns the bytes
/// written.
fn write_block(
    plan: &Plan,
    graph: &TaskGraph,
    sinks: &[&dyn Sink],
    t: TaskId,
    value: Value,
) -> Result<u64> {
    let stage = graph.stage[t as usize] as usize;
    let index = graph.block_index(plan, t);
    to_sinks(plan, sinks, stage, &index, output_block(value)?)
}
