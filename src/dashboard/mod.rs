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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::{CancelToken, ComputeOptions};
use crate::error::Result;
use crate::metrics::{MemoryUse, Metrics};
use crate::observe::{Mark, Observer, RunInfo, TaskDone};
use record::Recorder;
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
    cancel: Option<CancelToken>,
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
    pub fn with_cancel(settings: MonitorSettings, cancel: Option<CancelToken>) -> Monitor {
        Monitor(Arc::new(Shared {
            settings,
            session: Mutex::new(None),
            cancel,
        }))
    }

    /// The monitor among `opts`' observers, if there is one.
    pub fn of(opts: &ComputeOptions) -> Option<Monitor> {
        opts.observers
            .iter()
            .find_map(|o| o.as_any()?.downcast_ref::<Monitor>())
            .cloned()
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
        // Computations inside `body` begin and end sessions of their own; they join this
        // one (sessions nest).
        self.enter(title)?;
        let result = body();
        let ended = self.exit(result.as_ref().err().map(ToString::to_string));
        let value = result?;
        ended?;
        Ok(value)
    }

    /// Opens a session titled `title` that lasts until the returned guard is closed or
    /// dropped: every computation run meanwhile with options carrying this monitor shows on
    /// the same dashboard (served from now on: [`Monitor::url`] gives its address) and in
    /// the same report. For a caller whose session is not one closure (the Python
    /// package's `Client`, a context manager); [`Monitor::session`] otherwise.
    ///
    /// # Errors
    /// The dashboard's address cannot be used, or the report's path is refused.
    pub fn open_session(&self, title: &str) -> Result<SessionGuard> {
        self.enter(title)?;
        Ok(SessionGuard(Some(self.clone())))
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
            server.stop(self.0.settings.linger, self.0.cancel.as_ref());
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

/// A session of a [`Monitor`] held open (see [`Monitor::open_session`]); it ends when
/// closed or dropped.
#[derive(Debug)]
pub struct SessionGuard(Option<Monitor>);

impl SessionGuard {
    /// Ends the session: the report is written, the dashboard stops after its linger.
    ///
    /// # Errors
    /// The report cannot be written.
    pub fn close(mut self) -> Result<()> {
        self.0.take().map_or(Ok(()), |m| m.exit(None))
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if let Some(m) = self.0.take() {
            // Dropped without close (a panic, an early return): the report is best-effort.
            let _ = m.exit(None);
        }
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

impl Observer for Monitor {
    fn session_begin(&self, title: &str) -> Result<()> {
        self.enter(title)
    }

    fn session_end(&self, error: Option<&str>) -> Result<()> {
        self.exit(error.map(str::to_string))
    }

    fn run_begin(&self, run: &RunInfo) {
        if let Some(rec) = self.recorder() {
            rec.begin_run(run);
        }
    }

    fn task_done(&self, task: &TaskDone) {
        if let Some(rec) = self.recorder() {
            rec.task(task.row, task.stage, task.started, task.finished);
        }
    }

    fn memory(&self, usage: &MemoryUse, metrics: &Metrics) {
        if let Some(rec) = self.recorder() {
            rec.sample(usage, metrics, false);
        }
    }

    fn worker_memory(&self, worker: usize, bytes: u64) {
        if let Some(rec) = self.recorder() {
            rec.worker_memory(worker, bytes);
        }
    }

    fn transfer(&self, from: usize, to: usize, bytes: u64) {
        if let Some(rec) = self.recorder() {
            rec.transfer(from, to, bytes);
        }
    }

    fn mark(&self, mark: Mark, bytes: u64) {
        if let Some(rec) = self.recorder() {
            rec.mark(mark.name(), bytes);
        }
    }

    fn run_end(&self, metrics: &Metrics) {
        if let Some(rec) = self.recorder() {
            rec.sample(&MemoryUse::default(), metrics, true);
            rec.end_run(metrics);
        }
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// The dashboard and report options of [`ComputeOptions`]: each adds (or changes) the
/// options' [`Monitor`], one of their observers.
impl ComputeOptions {
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

    /// The same options with a new monitor of `settings` in place of the one they had
    /// (none when the settings ask for nothing); its linger ends early once
    /// [`ComputeOptions::cancel`] (as set now) is.
    pub fn monitor_with(mut self, settings: MonitorSettings) -> Self {
        self.observers
            .retain(|o| o.as_any().is_none_or(|a| !a.is::<Monitor>()));
        if settings.dashboard.is_some() || settings.report.is_some() {
            let monitor = Monitor::with_cancel(settings, self.cancel.clone());
            self.observers.push(Arc::new(monitor));
        }
        self
    }

    fn monitor_settings(&self) -> MonitorSettings {
        Monitor::of(self)
            .map(|m| m.settings().clone())
            .unwrap_or_default()
    }
}
