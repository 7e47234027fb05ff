//! Seeing a computation: a live dashboard served while it runs, and an HTML report after.
//!
//! [`ComputeOptions::dashboard`] serves a page (like dask's dashboard) while a computation
//! runs: a task stream with one row per worker and bars coloured by operation, progress per
//! stage, memory in use against the limit over time with spills and read-backs marked, and
//! bytes read and written per second. It updates four times a second through server-sent
//! events. [`ComputeOptions::report`] writes the same panels, plus the plan (stages, task
//! counts before and after culling, predicted against measured peak) and the run's figures,
//! to one self-contained HTML file afterwards (like dask's `performance_report`). The page
//! is bundled: it works offline.
//!
//! A *session* is what one dashboard shows and one report describes: one library call
//! ([`crate::Array::compute_with`], [`crate::Array::to_zarr_with`], ...) with every plan it
//! runs (copies of misaligned sources, the passes of a bounded rechunk), or several calls
//! grouped with [`Monitor::session`]. The server starts with the session (printing
//! `Dashboard: http://...` on standard error) and stops when it ends, after
//! [`MonitorSettings::linger`].
//!
//! Off (the default), it costs one branch per task.
//!
//! [`ComputeOptions::dashboard`]: crate::ComputeOptions::dashboard
//! [`ComputeOptions::report`]: crate::ComputeOptions::report

mod record;
mod report;
mod server;

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::ComputeOptions;
use crate::error::Result;
use crate::exec::Metrics;
use crate::plan::Plan;
use crate::schedule::Scheduled;
use record::{Recorder, RunStages};
pub use server::check_address;

/// What to show and where.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MonitorSettings {
    /// Serve the live dashboard on this address (`HOST:PORT`; port 0 picks a free one).
    pub dashboard: Option<String>,
    /// Allow a dashboard address other than loopback (it would be reachable from other
    /// machines). Default: refused.
    pub allow_remote: bool,
    /// Keep serving this long after the session ends (the page shows the finished run).
    pub linger: Duration,
    /// Write the report to this file when the session ends (also when it failed).
    pub report: Option<PathBuf>,
}

/// A dashboard and/or report for computations run with options that carry it; cheap to
/// clone (clones share the session).
#[derive(Clone)]
pub struct Monitor(Arc<Shared>);

struct Shared {
    settings: MonitorSettings,
    session: Mutex<Option<Session>>,
    /// Ends the linger early when set (the cancel flag of the options it was made for).
    cancel: Option<Arc<AtomicBool>>,
}

struct Session {
    /// Nested library calls in this session.
    depth: usize,
    rec: Arc<Recorder>,
    server: Option<server::Server>,
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Monitor").field(&self.0.settings).finish()
    }
}

impl Monitor {
    /// A monitor with `settings`; nothing starts until a computation does.
    pub fn new(settings: MonitorSettings) -> Monitor {
        Monitor::with_cancel(settings, None)
    }

    /// A monitor whose linger after a session ends early once `cancel` is set (Ctrl-C).
    pub fn with_cancel(settings: MonitorSettings, cancel: Option<Arc<AtomicBool>>) -> Monitor {
        Monitor(Arc::new(Shared {
            settings,
            session: Mutex::new(None),
            cancel,
        }))
    }

    /// Its settings.
    pub fn settings(&self) -> &MonitorSettings {
        &self.0.settings
    }

    /// The dashboard's address while a session serves one.
    pub fn url(&self) -> Option<String> {
        let s = self.0.session.lock().unwrap_or_else(|p| p.into_inner());
        s.as_ref()?.server.as_ref().map(|s| s.url().to_string())
    }

    /// Runs `body` as one session titled `title`: every computation it runs with options
    /// carrying this monitor shows on the same dashboard and in the same report. Sessions
    /// nest (an inner one joins the outer).
    ///
    /// # Errors
    /// The dashboard's address cannot be used (see [`MonitorSettings::dashboard`]),
    /// `body`'s error, or the report cannot be written.
    pub fn session<T, E>(&self, title: &str, body: impl FnOnce() -> Result<T, E>) -> Result<T, E>
    where
        E: From<crate::Error> + fmt::Display,
    {
        self.enter(title)?;
        let result = body();
        let ended = self.exit(result.as_ref().err().map(ToString::to_string));
        let value = result?;
        ended?;
        Ok(value)
    }

    fn enter(&self, title: &str) -> Result<()> {
        let mut s = self.0.session.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(session) = s.as_mut() {
            session.depth += 1;
            return Ok(());
        }
        if let Some(path) = &self.0.settings.report {
            check_report_path(path)?;
        }
        let rec = Arc::new(Recorder::new(title));
        let server = match &self.0.settings.dashboard {
            Some(addr) => {
                let server =
                    server::Server::start(addr, self.0.settings.allow_remote, Arc::clone(&rec))?;
                eprintln!("Dashboard: {}", server.url());
                Some(server)
            }
            None => None,
        };
        *s = Some(Session {
            depth: 1,
            rec,
            server,
        });
        Ok(())
    }

    fn exit(&self, error: Option<String>) -> Result<()> {
        let session = {
            let mut s = self.0.session.lock().unwrap_or_else(|p| p.into_inner());
            let Some(session) = s.as_mut() else {
                return Ok(());
            };
            session.depth -= 1;
            if session.depth > 0 {
                return Ok(());
            }
            s.take().expect("a session")
        };
        session.rec.finish(error);
        let written = match &self.0.settings.report {
            Some(path) => report::write(path, &session.rec),
            None => Ok(()),
        };
        if let Some(server) = session.server {
            server.stop(self.0.settings.linger, self.0.cancel.as_deref());
        }
        written
    }

    /// The recorder of the current session.
    fn recorder(&self) -> Option<Arc<Recorder>> {
        let s = self.0.session.lock().unwrap_or_else(|p| p.into_inner());
        s.as_ref().map(|s| Arc::clone(&s.rec))
    }

    /// The figures of the current session's finished runs.
    pub fn metrics(&self) -> Option<Metrics> {
        self.recorder()?.metrics()
    }
}

/// Refuses, before any work, a report path whose directory does not exist or that names a
/// directory.
///
/// # Errors
/// [`crate::Error::InvalidArgument`] naming the path.
pub fn check_report_path(path: &std::path::Path) -> Result<()> {
    let bad = |why: &str| crate::Error::invalid(format!("report {}: {why}", path.display()));
    if path.is_dir() {
        return Err(bad("is a directory"));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        return Err(bad("its directory does not exist"));
    }
    Ok(())
}

/// Runs `body` as a session of `opts`' monitor, if it has one (titled by `title`, called
/// only then).
pub(crate) fn scoped<T>(
    opts: &ComputeOptions,
    title: impl FnOnce() -> String,
    body: impl FnOnce() -> Result<T>,
) -> Result<T> {
    match &opts.monitor {
        Some(m) => m.session(&title(), body),
        None => body(),
    }
}

/// The executor's handle on the session while one plan runs.
pub(crate) struct RunHook {
    rec: Arc<Recorder>,
    /// Session-wide id of the plan's first stage.
    offset: usize,
}

impl RunHook {
    /// Registers a plan about to run on `workers` workers (`None` without a monitor or a
    /// session).
    pub(crate) fn begin(
        opts: &ComputeOptions,
        plan: &Plan,
        scheduled: &Scheduled,
        workers: usize,
    ) -> Option<RunHook> {
        let rows = match opts.scheduler {
            crate::Scheduler::Cluster {
                workers,
                threads_per_worker,
            } => (0..workers)
                .flat_map(|w| {
                    (0..threads_per_worker).map(move |i| format!("worker {w} · thread {i}"))
                })
                .collect(),
            crate::Scheduler::Processes(_) => (0..workers)
                .map(|i| format!("worker process {i}"))
                .collect(),
            _ => (0..workers).map(|i| format!("worker {i}")).collect(),
        };
        let rec = opts.monitor.as_ref()?.recorder()?;
        let graph = &scheduled.graph;
        let dot = crate::array::stage_dot(plan, graph);
        let offset = rec.begin_run(RunStages {
            scheduler: opts.scheduler.to_string(),
            rows,
            memory_limit: opts.effective_memory_limit(),
            stages: plan
                .stages
                .iter()
                .enumerate()
                .map(|(i, st)| {
                    (
                        st.name.clone(),
                        st.kind.op_name(),
                        graph.stage_tasks[i],
                        st.grid.nblocks() as u64,
                        st.inputs(),
                    )
                })
                .collect(),
            tasks_before: plan.naive_tasks,
            tasks_after: graph.len() as u64,
            predicted_peak: scheduled.footprint.peak,
            dot: &dot,
        });
        Some(RunHook { rec, offset })
    }

    /// Task of plan stage `stage` ran on worker `row` from `t0` until now.
    pub(crate) fn task(&self, row: usize, stage: usize, t0: Instant) {
        self.rec.task(row, self.offset + stage, t0, Instant::now());
    }

    /// Memory in use and the run's figures so far, after a task.
    pub(crate) fn sample(&self, reserved: u64, held: u64, m: &Metrics) {
        self.rec.sample(reserved, held, m, false);
    }

    /// Cluster worker `worker` holds and reserves `bytes` now.
    pub(crate) fn worker_memory(&self, worker: usize, bytes: u64) {
        self.rec.worker_memory(worker, bytes);
    }

    /// Cluster worker `to` fetched `bytes` held by worker `from`.
    pub(crate) fn transfer(&self, from: usize, to: usize, bytes: u64) {
        self.rec.transfer(from, to, bytes);
    }

    /// A spill, read-back or recomputation.
    pub(crate) fn mark(&self, kind: &'static str, bytes: u64) {
        self.rec.mark(kind, bytes);
    }

    /// The plan finished with `metrics`.
    pub(crate) fn end(&self, metrics: &Metrics) {
        self.rec.sample(0, 0, metrics, true);
        self.rec.end_run(metrics);
    }
}
