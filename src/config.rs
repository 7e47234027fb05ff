//! Options for a computation, passed in explicitly (there is no global configuration).
//!
//! [`ComputeOptions`] reads like a builder: a constructor for the scheduler, then the
//! options that differ from their defaults.
//!
//! ```
//! use brickwork::{CancelToken, ComputeOptions};
//! let token = CancelToken::new();
//! let opts = ComputeOptions::threads(2)
//!     .memory_limit(256 << 20)
//!     .progress(|ev| eprintln!("{}/{} tasks", ev.tasks_done, ev.tasks_total))
//!     .cancel(token.clone());
//! assert_eq!(opts.memory_limit, Some(256 << 20));
//! token.cancel(); // from any thread, or a signal handler
//! assert!(opts.is_cancelled());
//! ```

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Error;
use crate::observe::{Observer, Observers, Progress, ProgressEvent};

/// Cancels the computations run with options that carry it ([`ComputeOptions::cancel`]):
/// once [`CancelToken::cancel`] is called, no new task starts, and the computation returns
/// [`Error::Cancelled`] after removing its temporaries (outputs are not marked complete).
///
/// Clones share the flag, so keep one and give a clone to the options. Cancelling is one
/// atomic store: safe from any thread and from a signal handler.
///
/// ```
/// use brickwork::{Array, CancelToken, ComputeOptions, DType, Error};
/// let token = CancelToken::new();
/// let opts = ComputeOptions::threads(2).cancel(token.clone());
/// token.cancel();
/// let x = Array::zeros(&[100], &[10], DType::F64)?;
/// assert!(matches!(x.compute_with(&opts), Err(Error::Cancelled)));
/// # Ok::<(), brickwork::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not cancelled yet.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancels every computation run with this token (or a clone of it); cannot be undone.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// True once [`CancelToken::cancel`] was called on this token or a clone of it.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Which scheduler runs the tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Scheduler {
    /// One thread, tasks in priority order: deterministic and easy to debug.
    Synchronous,
    /// A rayon pool of worker threads dispatching ready tasks by priority (the default).
    #[default]
    Threads,
    /// A cluster of workers in this process (dask.distributed's `LocalCluster` with
    /// `processes=False`): `workers` workers of `threads_per_worker` threads, each with its
    /// own memory limit ([`ComputeOptions::memory_limit`] is per worker) and spill store;
    /// tasks are placed on the worker holding most of their input bytes, and inputs held
    /// by another worker are transferred (counted in [`crate::Metrics::transfers`]). See
    /// [`ComputeOptions::cluster`].
    Cluster {
        /// Workers.
        workers: usize,
        /// Threads per worker.
        threads_per_worker: usize,
    },
    /// `n` worker OS processes on this machine (dask's `scheduler='processes'`), forked
    /// from this one after planning: they inherit the plan, user kernels included, so
    /// nothing is serialized but blocks. This process stays the scheduler: it holds the
    /// memory budget and the spill store, and hands each worker a task with its input
    /// blocks over a Unix socket; the worker sends back the task's value. Results are
    /// bit-identical to [`Scheduler::Synchronous`]'s. The limit covers the worker's copies
    /// too: a running task reserves its inputs, output and scratch a second time. Linux only.
    /// See [`ComputeOptions::processes`].
    Processes(usize),
    /// The ranks of an MPI job (`mpirun -n N ...`; cargo feature `mpi`): every rank runs
    /// the same program and plans the same computation (checked); rank 0 schedules and holds
    /// no block; the other ranks run the tasks, each holding its outputs under its own
    /// memory limit (and spill directory), reading source chunks from the shared store
    /// itself and fetching the intermediates it needs directly from the rank holding them.
    /// Every rank returns the same result. MPI must be initialized with `MPI_THREAD_FUNNELED` (or more)
    /// first (`brickwork::mpi::initialize`, or the user's own
    /// `mpi::initialize_with_threading`); only the thread computing calls MPI.
    /// With one rank, the threads scheduler runs.
    Mpi,
}

impl FromStr for Scheduler {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "synchronous" | "sync" | "single-threaded" => Ok(Scheduler::Synchronous),
            "threads" | "threaded" => Ok(Scheduler::Threads),
            // The size is given apart (the CLI's --workers and --threads-per-worker).
            "cluster" => Ok(Scheduler::Cluster {
                workers: 1,
                threads_per_worker: 1,
            }),
            // One worker per core unless given (the CLI's --workers).
            "processes" | "multiprocessing" => Ok(Scheduler::Processes(cores())),
            "mpi" => Ok(Scheduler::Mpi),
            other => Err(Error::invalid(format!(
                "unknown scheduler {other:?} (expected synchronous, threads, cluster, \
                 processes or mpi)"
            ))),
        }
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheduler::Synchronous => "synchronous",
            Scheduler::Threads => "threads",
            Scheduler::Cluster { .. } => "cluster",
            Scheduler::Processes(_) => "processes",
            Scheduler::Mpi => "mpi",
        })
    }
}

/// Requests to object stores in flight at most, by default (see
/// [`ComputeOptions::max_requests`](struct@ComputeOptions#structfield.max_requests)).
pub const DEFAULT_MAX_REQUESTS: usize = 64;

/// How to run a computation.
///
/// Start from a constructor ([`ComputeOptions::default`] for the threads scheduler on all
/// cores, [`ComputeOptions::threads`], [`ComputeOptions::synchronous`],
/// [`ComputeOptions::cluster`], [`ComputeOptions::processes`], [`ComputeOptions::mpi`])
/// and chain what differs from the defaults ([`ComputeOptions::memory_limit`],
/// [`ComputeOptions::progress`], [`ComputeOptions::cancel`],
/// [`ComputeOptions::spill_dir`], [`ComputeOptions::tmp_dir`], [`ComputeOptions::observe`]);
/// the fields are public too.
#[derive(Clone, Debug, Default)]
pub struct ComputeOptions {
    /// The scheduler. Default: [`Scheduler::Threads`].
    pub scheduler: Scheduler,
    /// Worker threads for [`Scheduler::Threads`]: at most this many tasks compute at once.
    /// When the output is written as raw chunks, twice as many workers run so that writes
    /// overlap the computation (see [`crate::store::Sink::waits_on_io`]). Default (`None`):
    /// one per core.
    pub threads: Option<usize>,
    /// Bytes the engine may hold at once (blocks read, intermediates, outputs waiting to be
    /// written, scratch). Default (`None`): half of the memory available when the
    /// computation starts. A task that cannot fit on its own is refused before any work;
    /// intermediates that do not fit together are spilled to disk (see `spill_dir`).
    pub memory_limit: Option<u64>,
    /// Called after every task with where the computation stands. Default: none. The
    /// library never draws; the `brickwork` binary turns these into a progress bar.
    pub progress: Option<Progress>,
    /// Where the spill directory is created when intermediates must be spilled. Default
    /// (`None`): the system temporary directory (`$TMPDIR`, else `/tmp`). CLI:
    /// `--spill-dir`.
    pub spill_dir: Option<PathBuf>,
    /// Where temporary stores go: the intermediate store of a two-pass write (a bounded
    /// rechunk, [`crate::Array::to_zarr`]) and realigned copies of sources read against
    /// their chunking. Default (`None`): intermediate stores beside the output (same file
    /// system), realigned copies under `spill_dir`, else the system temporary directory.
    /// Temporaries are named for their owner (`crate::store::temp`) and removed when the
    /// computation ends, also on error and cancellation. CLI: `--tmp-dir`.
    pub tmp_dir: Option<PathBuf>,
    /// Cancel it (from another thread or a signal handler) to cancel the computation: no
    /// new task starts, and it returns [`Error::Cancelled`] after cleaning up. Default:
    /// none.
    pub cancel: Option<CancelToken>,
    /// Requests to object stores kept in flight at most by the threads scheduler (reading
    /// or writing `s3://`, `gs://`, `az://` or `http(s)://` arrays): tasks that only fetch
    /// source chunks, and tasks waiting for their output's upload, run beside the
    /// `threads` computing ones, up to this many, each with its bytes reserved in the
    /// memory limit before its request is sent. Object stores answer each request after
    /// tens of milliseconds, so one request per thread leaves the network idle. Default
    /// (`None`): [`DEFAULT_MAX_REQUESTS`]. CLI: `--max-requests`.
    pub max_requests: Option<usize>,
    /// Who watches the computation: the live dashboard and the HTML report
    /// ([`ComputeOptions::dashboard`], [`ComputeOptions::report`]) or observers of the
    /// caller's own ([`ComputeOptions::observe`]). Default: none (costs nothing).
    pub observers: Observers,
}

impl ComputeOptions {
    /// Options for the synchronous scheduler.
    pub fn synchronous() -> Self {
        ComputeOptions {
            scheduler: Scheduler::Synchronous,
            threads: Some(1),
            ..ComputeOptions::default()
        }
    }

    /// Options for the threads scheduler with `n` threads.
    pub fn threads(n: usize) -> Self {
        ComputeOptions {
            scheduler: Scheduler::Threads,
            threads: Some(n),
            ..ComputeOptions::default()
        }
    }

    /// Options for a cluster of `workers` workers with `threads_per_worker` threads each
    /// and a memory limit of `memory_limit_per_worker` bytes each (see
    /// [`Scheduler::Cluster`]).
    pub fn cluster(
        workers: usize,
        threads_per_worker: usize,
        memory_limit_per_worker: u64,
    ) -> Self {
        ComputeOptions {
            scheduler: Scheduler::Cluster {
                workers: workers.max(1),
                threads_per_worker: threads_per_worker.max(1),
            },
            memory_limit: Some(memory_limit_per_worker),
            ..ComputeOptions::default()
        }
    }

    /// Options for `n` worker processes (see [`Scheduler::Processes`]).
    pub fn processes(n: usize) -> Self {
        ComputeOptions {
            scheduler: Scheduler::Processes(n.max(1)),
            ..ComputeOptions::default()
        }
    }

    /// Options for the ranks of an MPI job (see [`Scheduler::Mpi`]).
    pub fn mpi() -> Self {
        ComputeOptions {
            scheduler: Scheduler::Mpi,
            ..ComputeOptions::default()
        }
    }

    /// The same options with a memory limit in bytes (per worker for a cluster). Default:
    /// half of the memory available when the computation starts (see
    /// [`MemoryLimit::of_machine`]).
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// The same options with at most `n` requests to object stores in flight (see
    /// [`ComputeOptions::max_requests`](struct@ComputeOptions#structfield.max_requests)).
    /// Default: [`DEFAULT_MAX_REQUESTS`].
    pub fn max_requests(mut self, n: usize) -> Self {
        self.max_requests = Some(n.max(1));
        self
    }

    /// The requests to object stores these options keep in flight at most.
    pub fn effective_max_requests(&self) -> usize {
        self.max_requests.unwrap_or(DEFAULT_MAX_REQUESTS).max(1)
    }

    /// The same as [`ComputeOptions::memory_limit`] (the older name).
    pub fn with_memory_limit(self, bytes: u64) -> Self {
        self.memory_limit(bytes)
    }

    /// The same options with `f` called after every task with where the computation
    /// stands (from worker threads: keep it cheap). Default: none.
    pub fn progress(mut self, f: impl Fn(&ProgressEvent) + Send + Sync + 'static) -> Self {
        self.progress = Some(Progress(Arc::new(f)));
        self
    }

    /// The same options cancelled by `token` (see [`CancelToken`]). Default: none (the
    /// computation runs to its end or its first error).
    pub fn cancel(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// The same options spilling intermediates under `dir` when they do not fit in the
    /// memory limit. Default: the system temporary directory (`$TMPDIR`, else `/tmp`).
    pub fn spill_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spill_dir = Some(dir.into());
        self
    }

    /// The same options putting temporary stores (a two-pass write's intermediate store,
    /// realigned copies of sources) under `dir` (see the field of the same name). Default:
    /// intermediate stores beside the output, realigned copies under the spill directory.
    pub fn tmp_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.tmp_dir = Some(dir.into());
        self
    }

    /// The same options with `observer` watching every computation run with them (see
    /// [`crate::observe`]).
    pub fn observe(mut self, observer: impl Observer + 'static) -> Self {
        self.observers.push(std::sync::Arc::new(observer));
        self
    }

    /// True once the [`CancelToken`] of these options has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(CancelToken::is_cancelled)
    }

    /// The memory limit in force (per worker for a cluster): the one given, or else the
    /// machine's (see [`MemoryLimit::of_machine`]) divided among a cluster's workers.
    ///
    /// The driver calls this once per library call and hands the result down
    /// ([`ComputeOptions::resolved`]); it reads `/proc` and the cgroup files when no limit
    /// is given.
    pub fn effective_memory_limit(&self) -> u64 {
        self.resolved_memory_limit().bytes
    }

    /// [`ComputeOptions::effective_memory_limit`] with where it came from.
    pub fn resolved_memory_limit(&self) -> MemoryLimit {
        if let Some(bytes) = self.memory_limit {
            return MemoryLimit {
                bytes,
                source: LimitSource::Given,
            };
        }
        let workers = match self.scheduler {
            Scheduler::Cluster { workers, .. } => workers.max(1) as u64,
            _ => 1,
        };
        let machine = MemoryLimit::of_machine();
        MemoryLimit {
            bytes: machine.bytes / workers,
            ..machine
        }
    }

    /// These options with the memory limit and the worker threads resolved (see
    /// [`ComputeOptions::effective_memory_limit`] and
    /// [`ComputeOptions::effective_threads`]), so that nothing below the caller looks at
    /// the machine again.
    pub fn resolved(&self) -> ComputeOptions {
        let mut opts = self.clone();
        if opts.memory_limit.is_none() {
            opts.memory_limit = Some(self.effective_memory_limit());
        }
        if opts.threads.is_none() && self.scheduler != Scheduler::Mpi {
            opts.threads = Some(self.effective_threads());
        }
        opts
    }

    /// The number of worker threads these options give (for a cluster, all its workers';
    /// for processes, one per worker process).
    pub fn effective_threads(&self) -> usize {
        match self.scheduler {
            Scheduler::Synchronous => 1,
            Scheduler::Processes(n) => n.max(1),
            // Rank 0 runs one scheduling thread per other rank; one rank alone runs the
            // threads scheduler.
            Scheduler::Mpi => self.threads.unwrap_or_else(cores).max(1),
            Scheduler::Cluster {
                workers,
                threads_per_worker,
            } => workers.max(1) * threads_per_worker.max(1),
            Scheduler::Threads => self.threads.unwrap_or_else(cores).max(1),
        }
    }
}

/// The cores this process may use (1 when unknown).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A memory limit and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryLimit {
    /// Bytes the engine may hold at once.
    pub bytes: u64,
    /// Where the figure came from.
    pub source: LimitSource,
}

/// Where a memory limit came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitSource {
    /// [`ComputeOptions::memory_limit`] (the CLI's `--memory-limit`).
    Given,
    /// Half of the process's cgroup limit (the smallest `memory.max` of cgroup v2, or
    /// `memory.limit_in_bytes` of v1, on the way from the process's cgroup to the root):
    /// what a container, Slurm or Kubernetes gave the job.
    Cgroup {
        /// The file the limit was read from.
        file: PathBuf,
    },
    /// Half of the memory available when the computation starts (`MemAvailable` in
    /// `/proc/meminfo`).
    Available,
    /// 4 GiB: neither the cgroup nor `/proc/meminfo` could be read.
    Fallback,
}

impl fmt::Display for LimitSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitSource::Given => f.write_str("given"),
            LimitSource::Cgroup { file } => write!(f, "half of the cgroup's {}", file.display()),
            LimitSource::Available => f.write_str("half of MemAvailable"),
            LimitSource::Fallback => f.write_str("default, the machine's memory is unknown"),
        }
    }
}

impl MemoryLimit {
    /// The limit when none is given: half of the smaller of the memory available
    /// (`MemAvailable`) and the process's cgroup limit, so that a job in a container or
    /// under a batch system stays within what it was given; 4 GiB where neither can be
    /// read.
    pub fn of_machine() -> MemoryLimit {
        let available = available_memory();
        let cgroup = cgroup_limit();
        match (available, cgroup) {
            (Some(a), Some((c, _))) if a <= c => MemoryLimit {
                bytes: a / 2,
                source: LimitSource::Available,
            },
            (_, Some((c, file))) => MemoryLimit {
                bytes: c / 2,
                source: LimitSource::Cgroup { file },
            },
            (Some(a), None) => MemoryLimit {
                bytes: a / 2,
                source: LimitSource::Available,
            },
            (None, None) => MemoryLimit {
                bytes: 4 << 30,
                source: LimitSource::Fallback,
            },
        }
    }
}

/// Bytes of memory available to new allocations, from `/proc/meminfo`.
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The smallest memory limit of this process's cgroup and its ancestors, with the file it
/// was read from: cgroup v2's `memory.max` (line `0::/path` of `/proc/self/cgroup`), else
/// v1's `memory.limit_in_bytes` (the `memory` controller's line). `None` when unlimited or
/// unreadable.
fn cgroup_limit() -> Option<(u64, PathBuf)> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mut best: Option<(u64, PathBuf)> = None;
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let (root, file) = if controllers.is_empty() {
            ("/sys/fs/cgroup", "memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            ("/sys/fs/cgroup/memory", "memory.limit_in_bytes")
        } else {
            continue;
        };
        let mut dir = PathBuf::from(root).join(path.trim_start_matches('/'));
        loop {
            let f = dir.join(file);
            if let Some(bytes) = read_limit(&f)
                && best.as_ref().is_none_or(|(b, _)| bytes < *b)
            {
                best = Some((bytes, f));
            }
            if dir.as_path() == std::path::Path::new(root) || !dir.pop() {
                break;
            }
        }
    }
    best
}

/// A cgroup limit file's bytes; `None` for `max`, v1's "unlimited" (close to 2^63) or an
/// unreadable file.
fn read_limit(file: &std::path::Path) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let bytes: u64 = text.trim().parse().ok()?;
    (bytes < 1 << 60).then_some(bytes)
}
