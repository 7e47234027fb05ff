//! Options for a computation, passed in explicitly (there is no global configuration).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::dashboard::{Monitor, MonitorSettings};
use crate::error::Error;

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
    /// the same program and plans the same computation (checked); rank 0 schedules, holds
    /// the intermediates under the memory limit and writes the output, and the other ranks
    /// run the tasks it sends them, blocks travelling in MPI messages. Every rank returns
    /// the same result. MPI must be initialized with `MPI_THREAD_MULTIPLE` first
    /// (`brickwork::mpi::initialize`, or the user's own `mpi::initialize_with_threading`).
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

/// Where a computation stands, reported after every task.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProgressEvent {
    /// Tasks finished.
    pub tasks_done: u64,
    /// Tasks in the (culled) graph.
    pub tasks_total: u64,
    /// Bytes of output blocks produced so far.
    pub bytes_output: u64,
    /// Bytes held and reserved right now.
    pub reserved_bytes: u64,
    /// The memory limit.
    pub memory_limit: u64,
}

/// A progress callback; called from worker threads, so it must be cheap and thread-safe.
#[derive(Clone)]
pub struct Progress(pub Arc<dyn Fn(&ProgressEvent) + Send + Sync>);

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Progress(..)")
    }
}

/// How to run a computation.
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
    /// (`None`): the system temporary directory (`$TMPDIR`, else `/tmp`).
    pub spill_dir: Option<PathBuf>,
    /// Set to `true` (from another thread or a signal handler) to cancel the computation:
    /// no new task starts, and it returns [`Error::Cancelled`]
    /// after cleaning up. Default: none.
    pub cancel: Option<Arc<AtomicBool>>,
    /// A live dashboard and/or an HTML report of the computation (see [`crate::dashboard`]).
    /// Default: none (costs nothing). Set with [`ComputeOptions::dashboard`] and
    /// [`ComputeOptions::report`].
    pub monitor: Option<Monitor>,
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

    /// The same options with a memory limit in bytes.
    pub fn with_memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// The same options serving a live dashboard on `addr` (`HOST:PORT`, e.g.
    /// `127.0.0.1:8787`; port 0 picks a free port) while each computation runs; its URL is
    /// printed on standard error (`Dashboard: http://...`) when it starts. A non-loopback
    /// address is refused unless [`MonitorSettings::allow_remote`] is set (see
    /// [`ComputeOptions::monitor_with`]).
    pub fn dashboard(self, addr: impl Into<String>) -> Self {
        let mut settings = self.monitor_settings();
        settings.dashboard = Some(addr.into());
        self.monitor_with(settings)
    }

    /// The same options writing an HTML report of each computation to `path` when it ends
    /// (overwritten by the next one): the dashboard's panels with the whole run, the plan,
    /// and the figures of [`crate::Metrics`].
    pub fn report(self, path: impl Into<PathBuf>) -> Self {
        let mut settings = self.monitor_settings();
        settings.report = Some(path.into());
        self.monitor_with(settings)
    }

    /// The same options with a new monitor of `settings` (none when they ask for nothing);
    /// its linger ends early once [`ComputeOptions::cancel`] (as set now) is.
    pub fn monitor_with(mut self, settings: MonitorSettings) -> Self {
        self.monitor = (settings.dashboard.is_some() || settings.report.is_some())
            .then(|| Monitor::with_cancel(settings, self.cancel.clone()));
        self
    }

    fn monitor_settings(&self) -> MonitorSettings {
        self.monitor
            .as_ref()
            .map(|m| m.settings().clone())
            .unwrap_or_default()
    }

    /// True once [`ComputeOptions::cancel`] has been set.
    pub fn is_cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// The memory limit in force (per worker for a cluster): the one given, or half of the
    /// available memory (`MemAvailable` in `/proc/meminfo`; 4 GiB where that cannot be
    /// read), divided among a cluster's workers.
    pub fn effective_memory_limit(&self) -> u64 {
        let workers = match self.scheduler {
            Scheduler::Cluster { workers, .. } => workers.max(1) as u64,
            _ => 1,
        };
        self.memory_limit
            .unwrap_or_else(|| available_memory().map_or(4 << 30, |b| b / 2) / workers)
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

/// Bytes of memory available to new allocations, from `/proc/meminfo`.
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
