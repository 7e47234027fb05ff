//! Running a computation from Python: the options, the GIL released while it runs, and
//! Ctrl-C.
//!
//! The computation runs on a thread of its own while the calling thread, detached from the
//! interpreter, waits for it and every 50 ms attaches briefly to run Python's signal
//! handlers (`check_signals`). A pending `KeyboardInterrupt` (or any exception a handler
//! raises) cancels the computation through its `CancelToken`: no new task starts, the
//! temporaries are removed, a Zarr output stays marked incomplete, and the exception is
//! raised once the computation has stopped. Other Python threads run meanwhile, and Python
//! kernels (`map_blocks`) take the GIL per block on the worker threads.

use std::sync::mpsc;
use std::time::Duration;

use brickwork::{CancelToken, ComputeOptions, MemoryLimit, Monitor, MonitorSettings, Scheduler};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::error::to_py;

/// How often the waiting thread looks at Python's signals.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// How to run, as the Python keywords give it (`scheduler=`, `num_workers=`, ...).
#[pyclass(name = "Options", module = "brickwork._brickwork", frozen)]
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub(crate) opts: ComputeOptions,
    /// The dashboard session a `Client` holds open, shared by its computations.
    monitor: Option<Monitor>,
    session: std::sync::Arc<std::sync::Mutex<Option<brickwork::SessionGuard>>>,
}

#[pymethods]
impl Options {
    /// Options of `scheduler` ('threads', 'synchronous', 'processes', 'cluster'),
    /// `num_workers` (threads, processes or the cluster's workers), `threads_per_worker`
    /// (cluster), `memory_limit` (bytes; per worker for a cluster), `dashboard` (an
    /// address `HOST:PORT` to serve the live dashboard on; port 0 picks one) and
    /// `max_requests` (requests to object stores in flight at most; default 64).
    #[new]
    #[pyo3(signature = (scheduler=None, num_workers=None, threads_per_worker=None, memory_limit=None, dashboard=None, max_requests=None))]
    fn new(
        scheduler: Option<&str>,
        num_workers: Option<usize>,
        threads_per_worker: Option<usize>,
        memory_limit: Option<u64>,
        dashboard: Option<String>,
        max_requests: Option<usize>,
    ) -> PyResult<Options> {
        let scheduler = scheduler.unwrap_or("threads");
        if num_workers == Some(0) || threads_per_worker == Some(0) || max_requests == Some(0) {
            return Err(PyValueError::new_err(
                "num_workers, threads_per_worker and max_requests must be at least 1",
            ));
        }
        let mut opts = match scheduler {
            "threads" | "threading" => ComputeOptions {
                scheduler: Scheduler::Threads,
                threads: num_workers,
                ..ComputeOptions::default()
            },
            "synchronous" | "sync" | "single-threaded" => ComputeOptions::synchronous(),
            "processes" | "multiprocessing" => {
                ComputeOptions::processes(num_workers.unwrap_or_else(cores))
            }
            "cluster" | "distributed" => {
                let workers = num_workers.unwrap_or(1);
                let limit = memory_limit
                    .unwrap_or_else(|| MemoryLimit::of_machine().bytes / workers as u64);
                ComputeOptions::cluster(workers, threads_per_worker.unwrap_or_else(cores), limit)
            }
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown scheduler {other:?}: use 'threads', 'synchronous', 'processes' or \
                     'cluster' (brickwork.distributed.Client)"
                )));
            }
        };
        if let Some(bytes) = memory_limit {
            opts = opts.memory_limit(bytes);
        }
        if let Some(n) = max_requests {
            opts = opts.max_requests(n);
        }
        let monitor = match dashboard {
            Some(addr) => {
                opts = opts.monitor_with(MonitorSettings {
                    dashboard: Some(addr),
                    ..MonitorSettings::default()
                });
                Monitor::of(&opts)
            }
            None => None,
        };
        Ok(Options {
            opts,
            monitor,
            session: Default::default(),
        })
    }

    /// The scheduler's name.
    #[getter]
    fn scheduler(&self) -> String {
        match self.opts.scheduler {
            Scheduler::Cluster { .. } => "cluster".into(),
            Scheduler::Processes(_) => "processes".into(),
            other => other.to_string(),
        }
    }

    /// Worker threads (processes, for 'processes'; all workers' threads for a cluster).
    #[getter]
    fn num_workers(&self) -> usize {
        self.opts.effective_threads()
    }

    /// The memory limit in bytes (per worker for a cluster), resolved.
    #[getter]
    fn memory_limit(&self) -> u64 {
        self.opts.effective_memory_limit()
    }

    /// Starts the dashboard session these options' computations share (a `Client`), and
    /// returns its address; `None` without a dashboard.
    fn open_dashboard(&self, title: &str) -> PyResult<Option<String>> {
        let Some(monitor) = &self.monitor else {
            return Ok(None);
        };
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        if session.is_none() {
            *session = Some(monitor.open_session(title).map_err(to_py)?);
        }
        Ok(monitor.url())
    }

    /// Ends the dashboard session (the `Client` closes).
    fn close(&self) -> PyResult<()> {
        let guard = self
            .session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        guard.map_or(Ok(()), |g| g.close().map_err(to_py))
    }

    fn __repr__(&self) -> String {
        format!(
            "Options(scheduler={:?}, num_workers={}, memory_limit={})",
            self.scheduler(),
            self.num_workers(),
            self.opts
                .memory_limit
                .map_or("None".to_string(), |b| b.to_string())
        )
    }
}

/// The cores this process may use.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `work` with `opts` (a cancel token added) on a thread of its own, the GIL released,
/// Python's signal handlers run every [`SIGNAL_POLL`]: an exception they raise cancels the
/// work and is returned once it has stopped.
pub(crate) fn run<T: Send>(
    py: Python<'_>,
    opts: &ComputeOptions,
    work: impl FnOnce(&ComputeOptions) -> brickwork::Result<T> + Send,
) -> PyResult<T> {
    let token = CancelToken::new();
    let opts = opts.clone().cancel(token.clone());
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        let opts = &opts;
        scope.spawn(move || {
            // The receiver waits until this is sent (or the sender dropped by a panic).
            let _ = tx.send(work(opts));
        });
        let mut interrupt: Option<PyErr> = None;
        let mut rx = rx;
        loop {
            // The receiver is Send but not Sync: moved into the detached closure and back.
            let (received, back) = py.detach(move || (rx.recv_timeout(SIGNAL_POLL), rx));
            rx = back;
            match received {
                Ok(result) => {
                    return match (interrupt, result) {
                        (Some(err), Ok(_) | Err(brickwork::Error::Cancelled)) => Err(err),
                        (Some(_), Err(e)) | (None, Err(e)) => Err(to_py(e)),
                        (None, Ok(v)) => Ok(v),
                    };
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if interrupt.is_none()
                        && let Err(err) = py.check_signals()
                    {
                        token.cancel();
                        interrupt = Some(err);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(pyo3::exceptions::PyRuntimeError::new_err(
                        "brickwork: the computation's thread panicked (a bug: please report it)",
                    ));
                }
            }
        }
    })
}
