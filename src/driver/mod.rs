//! The driver: the one place that sequences a computation, from expressions to blocks in
//! sinks. Every run enters here.
//!
//! ```text
//! expr ──lower──► plan ──passes──────────────► plan' ──schedule──► Scheduled ──check_fits──► Executor ──► Sink
//!       (plan::    (realign: copy misread        (inline reads     (order,       (once)        (exec::Local:
//!        lower)     sources first; inline reads   when sharing      footprint)                  synchronous,
//!                   when holding would not fit)   does not fit)                                 threads, ...)
//! ```
//!
//! The entry points are what the front door ([`crate::Array`], [`crate::compute_many`], ...)
//! calls, one line each: [`compute`], [`compute_into`], [`write`] (N results to N new Zarr
//! arrays; one is its N = 1 case), [`write_region`], [`explain`] and [`visualize`]. Each
//! resolves the options once ([`ComputeOptions::resolved`]: the memory limit and the
//! threads, so nothing below looks at the machine again) and runs as one observed session
//! ([`crate::observe`]). Strategies that need side computations, a realigning copy of a
//! source read against its chunking ([`realign`]) and the two-pass bounded rechunk through
//! an intermediate store ([`rechunk`]), are driver decisions too: they run their side
//! computations through the same functions, so on the same executor as the result, and
//! `explain` describes them from the same code.
//!
//! The driver owns no data structure of its own; it must not evaluate blocks (that is
//! `exec`) nor know how a store lays out bytes (that is `store`).

mod compute;
mod explain;
pub(crate) mod external;
mod leftover;
mod persist;
pub(crate) mod realign;
pub(crate) mod rechunk;
mod region;
mod write;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) use compute::{compute, compute_into};
pub(crate) use explain::{explain, explain_write, visualize};
pub(crate) use persist::{Kept, persist};
pub(crate) use region::write_region;
pub(crate) use write::write;

use crate::config::{ComputeOptions, Scheduler};
use crate::error::{Error, Result};
use crate::exec::{self, Executor};
use crate::expr::ExprRef;
use crate::metrics::Metrics;
use crate::plan::{self, OutputWrite, Plan};
use crate::schedule::{self, Residence, Scheduled};
use crate::store::Sink;

/// What to do with the sources a plan reads against their chunking (see [`realign`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Copies {
    /// Read them as they are chunked (the second pass of a rechunk, which is the
    /// realignment; the copies themselves; MPI ranks).
    Skip,
    /// Copy them into better chunks first.
    Make,
    /// Plan the copies without writing them (explain, visualize).
    Describe,
}

/// A plan ready to run: lowered, through its passes, scheduled.
pub(crate) struct Prepared {
    pub(crate) plan: Plan,
    pub(crate) scheduled: Scheduled,
    /// The memory limit it was scheduled for.
    pub(crate) limit: u64,
    /// The figures of the side computations the passes ran (realigning copies).
    pub(crate) copies: Metrics,
    /// The realigning copies planned but not made ([`Copies::Describe`]).
    pub(crate) described: Vec<realign::Described>,
}

/// Runs `body` as one session of `opts`' observers, with `opts` resolved: the shape of
/// every entry point.
fn session<T>(
    opts: &ComputeOptions,
    title: impl FnOnce() -> String,
    body: impl FnOnce(&ComputeOptions) -> Result<T>,
) -> Result<T> {
    let opts = opts.resolved();
    opts.observers.session(title, || body(&opts))
}

/// Lowers `e`, runs the plan passes and schedules it for the output blocks in
/// `output_blocks` (all when `None`; see [`plan::Output::blocks`]).
pub(crate) fn prepare(
    e: &ExprRef,
    opts: &ComputeOptions,
    write: OutputWrite,
    copies: Copies,
    output_blocks: Option<Vec<bool>>,
) -> Result<Prepared> {
    prepare_many(
        std::slice::from_ref(e),
        opts,
        vec![(write, output_blocks)],
        copies,
    )
}

/// [`prepare`] for several results: one plan with an output per root, each written as
/// `outputs[i]` says. The passes, in order: realigning copies of misread sources (as
/// `copies` says), then inline reads when the schedule's predicted peak does not fit.
pub(crate) fn prepare_many(
    roots: &[ExprRef],
    opts: &ComputeOptions,
    outputs: Vec<(OutputWrite, Option<Vec<bool>>)>,
    copies: Copies,
) -> Result<Prepared> {
    let limit = opts.effective_memory_limit();
    // A signal while planning a large graph is answered at once: each step looks at the
    // cancel token, and scheduling's loops every few thousand tasks.
    let cancelled = || -> Result<()> {
        if opts.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    };
    let cancel = schedule::Cancel::by(opts.cancel.as_ref());
    cancelled()?;
    let mut plan = plan::lower_many(roots)?;
    cancelled()?;
    for (out, (write, blocks)) in plan.outputs.iter_mut().zip(outputs) {
        out.write = write;
        out.blocks = blocks;
    }
    let mut described = Vec::new();
    // Roots that only read a store (a copy into other chunks, a rechunk at the root of a
    // write) are the bounded rechunk's: no realigned copy for blocks that read strips.
    let strips = !roots.iter().all(|r| {
        matches!(
            write::without_rechunk(r).kind(),
            crate::expr::ExprKind::Source { .. }
        )
    });
    let copied = realign::realign(&mut plan, opts, copies, &mut described, strips)?;
    cancelled()?;
    let residence = match opts.scheduler {
        Scheduler::Processes(_) => Residence::WorkerProcess,
        _ => Residence::InProcess,
    };
    let mut scheduled = schedule::schedule(&plan, limit, residence, cancel)?;
    // When holding source chunks between their uses does not fit, the users a pass later
    // read them again; when that is not enough, every user does (`plan::passes::inline`).
    for pass in [plan::passes::inline_late_reads, plan::passes::inline_reads] {
        let avail = limit.saturating_sub(exec::run_state_bytes(&scheduled));
        if scheduled.fits_without_spilling(avail) || !pass(&mut plan) {
            continue;
        }
        scheduled = schedule::schedule(&plan, limit, residence, cancel)?;
    }
    Ok(Prepared {
        plan,
        scheduled,
        limit,
        copies: copied,
        described,
    })
}

impl Prepared {
    /// Checks, without running anything, that every task fits in the memory limit (the one
    /// fit check of a run: [`schedule::check_fits`]).
    ///
    /// # Errors
    /// [`Error::PlanExceedsMemory`] naming the task and what would fit.
    pub(crate) fn check_fits(&self) -> Result<()> {
        schedule::check_fits(&self.plan, &self.scheduled, self.limit, self.held())
    }

    /// What the run holds from start to end besides its blocks (the task graph, its
    /// schedule, the executor's tables): [`exec::run_state_bytes`].
    pub(crate) fn held(&self) -> u64 {
        exec::run_state_bytes(&self.scheduled)
    }

    /// Runs the plan, checked with [`Prepared::check_fits`], on the executor `opts` choose,
    /// output `i`'s blocks into `sinks[i]`; returns the figures of the side computations
    /// followed by the run's.
    ///
    /// # Errors
    /// As [`Executor::execute`].
    pub(crate) fn execute(&self, opts: &ComputeOptions, sinks: &[&dyn Sink]) -> Result<Metrics> {
        let metrics = executor(opts).execute(&self.plan, &self.scheduled, opts, sinks)?;
        Ok(self.copies.then(&metrics))
    }

    /// [`Prepared::check_fits`], then [`Prepared::execute`].
    ///
    /// # Errors
    /// As both.
    pub(crate) fn run(&self, opts: &ComputeOptions, sinks: &[&dyn Sink]) -> Result<Metrics> {
        self.check_fits()?;
        self.execute(opts, sinks)
    }
}

/// This process's rank when `opts` runs on several MPI ranks; `None` otherwise.
///
/// # Errors
/// MPI not initialized (see [`exec::mpi::ranks`]).
pub(crate) fn mpi_rank(opts: &ComputeOptions) -> Result<Option<i32>> {
    #[cfg(feature = "mpi")]
    return Ok(exec::mpi::ranks(opts)?.map(|(rank, _)| rank));
    #[cfg(not(feature = "mpi"))]
    {
        let _ = opts;
        Ok(None)
    }
}

/// For a step that rank 0 of an MPI run takes alone: every rank waits for it and gets its
/// outcome (`outcome` is rank 0's; the others pass `Ok(())`).
///
/// # Errors
/// Rank 0's error (as [`Error::Rank`] on the other ranks).
pub(crate) fn rank_0_did(outcome: Result<()>) -> Result<()> {
    #[cfg(feature = "mpi")]
    return exec::mpi::share_outcome(outcome.map(|()| Vec::new())).map(|_| ());
    #[cfg(not(feature = "mpi"))]
    outcome
}

/// The executor for `opts`' scheduler.
fn executor(opts: &ComputeOptions) -> &'static dyn Executor {
    match opts.scheduler {
        Scheduler::Synchronous
        | Scheduler::Threads
        | Scheduler::Cluster { .. }
        | Scheduler::Processes(_)
        | Scheduler::Mpi => &exec::Local,
    }
}

/// Where the temporary stores of a write to `path` go: `opts.tmp_dir`, else beside `path`
/// (the same file system, so that the intermediate store of a two-pass write is not put on
/// a small /tmp); for an object-store target, the system's temporary directory.
pub(crate) fn temp_parent(path: &Path, opts: &ComputeOptions) -> std::path::PathBuf {
    if let Some(dir) = &opts.tmp_dir {
        return dir.clone();
    }
    if crate::store::is_remote(path) {
        // Temporaries stay on local disk, whatever the target.
        return std::env::temp_dir();
    }
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

/// A temporary directory of `kind` (`rechunk`, `region`: see `store::temp`) for the
/// intermediate store of a two-pass write to `path`, in [`temp_parent`] (hidden when beside
/// the output), removed when dropped; shared by the ranks of an MPI run ([`SharedDir`]).
pub(crate) fn intermediate_dir(
    path: &Path,
    kind: &str,
    opts: &ComputeOptions,
) -> Result<SharedDir> {
    let made = shared_dir(opts, || {
        let parent = temp_parent(path, opts);
        tempfile::Builder::new()
            .prefix(&crate::store::temp::prefix(
                kind,
                path,
                opts.tmp_dir.is_none(),
            ))
            .tempdir_in(&parent)
            .map(Some)
            .map_err(|source| Error::Temporary {
                detail: format!(
                    "cannot create a directory there for the intermediate store of a two-pass \
                     write to {}; put it elsewhere with tmp_dir (--tmp-dir)",
                    path.display()
                ),
                path: parent,
                source,
            })
    })?;
    made.ok_or_else(|| Error::internal("no intermediate directory was made"))
}

/// A temporary directory that every rank of an MPI run uses (the intermediate store of a
/// two-pass write, a realigned copy: each rank writes its blocks there and reads the
/// others'): rank 0 creates it, on storage every rank sees, and removes it when dropped,
/// after the collective steps that use it; the other ranks are told its path. Outside MPI
/// it is a plain temporary directory.
#[derive(Debug)]
pub(crate) enum SharedDir {
    /// Made by this process: removed when dropped.
    Own(tempfile::TempDir),
    /// Made by rank 0 of this MPI run.
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    OfRank0(PathBuf),
}

impl SharedDir {
    /// Its path.
    pub(crate) fn path(&self) -> &Path {
        match self {
            SharedDir::Own(d) => d.path(),
            SharedDir::OfRank0(p) => p,
        }
    }
}

/// A Zarr store in a temporary directory (a realigned copy of a source, a persisted
/// array), read like any source and removed with its directory when the last plan or array
/// reading it is dropped.
#[derive(Debug)]
pub(crate) struct TempSource<S = crate::store::ZarrSource> {
    source: S,
    /// What messages name: the original of a copy, or the store itself.
    shown: PathBuf,
    _dir: Arc<SharedDir>,
}

impl<S: crate::store::BlockRead> TempSource<S> {
    /// The store `source` in `dir`, named `shown` in messages.
    pub(crate) fn new(source: S, shown: PathBuf, dir: impl Into<Arc<SharedDir>>) -> Self {
        TempSource {
            source,
            shown,
            _dir: dir.into(),
        }
    }
}

impl<S: crate::store::BlockRead> crate::store::BlockRead for TempSource<S> {
    fn path(&self) -> &Path {
        &self.shown
    }
    fn shape(&self) -> &[usize] {
        self.source.shape()
    }
    fn dtype(&self) -> crate::dtype::DType {
        self.source.dtype()
    }
    fn chunk_shape(&self) -> &[usize] {
        self.source.chunk_shape()
    }
    fn read_chunk(&self, chunk: &[usize]) -> Result<crate::block::Block> {
        self.source.read_chunk(chunk)
    }
    fn map_chunk(&self, chunk: &[usize]) -> Result<Option<crate::block::MappedBlock>> {
        self.source.map_chunk(chunk)
    }
    fn maps_chunk(&self, chunk: &[usize]) -> bool {
        self.source.maps_chunk(chunk)
    }
    fn decoded_chunk_bytes(&self) -> u64 {
        self.source.decoded_chunk_bytes()
    }
}

/// The directory `make` creates (`None`: none is made, and the caller does without), made
/// on rank 0 alone under MPI and shared with the other ranks ([`SharedDir`]); every rank
/// gets the same answer, rank 0's error included.
///
/// # Errors
/// `make`'s; under MPI, the broadcast's.
pub(crate) fn shared_dir(
    opts: &ComputeOptions,
    make: impl FnOnce() -> Result<Option<tempfile::TempDir>>,
) -> Result<Option<SharedDir>> {
    #[cfg(feature = "mpi")]
    if let Some((rank, _)) = exec::mpi::ranks(opts)? {
        let (mine, told) = if rank == 0 {
            match make() {
                Ok(Some(d)) => {
                    let bytes = d.path().as_os_str().as_encoded_bytes().to_vec();
                    (Some(d), Ok(bytes))
                }
                Ok(None) => (None, Ok(Vec::new())),
                Err(e) => (None, Err(e)),
            }
        } else {
            (None, Ok(Vec::new()))
        };
        let told = exec::mpi::share_outcome(told)?;
        return Ok(match mine {
            Some(d) => Some(SharedDir::Own(d)),
            None if told.is_empty() => None,
            None => {
                use std::os::unix::ffi::OsStringExt;
                Some(SharedDir::OfRank0(PathBuf::from(
                    std::ffi::OsString::from_vec(told),
                )))
            }
        });
    }
    let _ = opts;
    Ok(make()?.map(SharedDir::Own))
}

/// `err`, when it is a full disk while writing `what` (a temporary store), with where else
/// to put it: tmp_dir (--tmp-dir).
pub(crate) fn full_disk_hint(err: Error, what: &str) -> Error {
    let full = err
        .io_error()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::StorageFull);
    if !full {
        return err;
    }
    let hint = format!(
        "the disk holding {what} is full: free space there, or put it elsewhere with tmp_dir \
         (--tmp-dir)"
    );
    match err {
        Error::Store {
            path,
            key,
            detail,
            source,
        } => Error::Store {
            path,
            key,
            detail: format!("{detail} ({hint})"),
            source,
        },
        Error::Io { path, source } => Error::Temporary {
            path,
            detail: hint,
            source,
        },
        other => other,
    }
}
