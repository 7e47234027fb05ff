//! Watching a computation: the [`Observer`] trait, and the progress events.
//!
//! The engine reports what happens through this one trait and never names who listens: the
//! driver opens and closes a *session* (one library call, with every plan it runs), the
//! executor and its schedulers (threads, cluster, worker processes, MPI ranks) report each
//! run's stages, every finished task, memory samples and marks (spills, read-backs,
//! recomputations, transfers between cluster workers). The dashboard and the HTML report
//! (`crate::dashboard`) are observers; so is anything a caller plugs in with
//! [`crate::ComputeOptions::observe`].
//!
//! Observers are called from worker threads while tasks run, so every method must be cheap
//! and thread-safe; all of them default to doing nothing. With no observer a run pays one
//! check of an empty list per task.
//!
//! This module is a leaf: it names plain data (stage names, counts, bytes, times) and
//! [`Metrics`], never the plan or the schedule, so that observers depend on nothing above
//! them.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use crate::error::Result;
use crate::metrics::{MemoryUse, Metrics};

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

/// One stage of a run, as an observer sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageInfo {
    /// What the stage computes (e.g. `add`, `read a.zarr`).
    pub name: String,
    /// The kind of operation (`read`, `map`, `reduce`, ...), as in [`Metrics::op_seconds`].
    pub op: &'static str,
    /// Tasks after culling.
    pub tasks: u64,
    /// Blocks of the stage's grid (its tasks before culling).
    pub blocks: u64,
    /// Stages (indexes into [`RunInfo::stages`]) whose blocks this one reads.
    pub inputs: Vec<usize>,
}

/// A plan about to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunInfo {
    /// The scheduler's name (`threads`, `cluster`, ...).
    pub scheduler: String,
    /// One label per worker row that tasks run on (a thread, a worker process, a rank).
    pub rows: Vec<String>,
    /// The memory limit in force (per worker for a cluster).
    pub memory_limit: u64,
    /// The plan's stages; [`TaskDone::stage`] indexes this.
    pub stages: Vec<StageInfo>,
    /// Tasks before culling and fusion.
    pub tasks_before: u64,
    /// Tasks that will run.
    pub tasks_after: u64,
    /// The peak memory predicted for the run.
    pub predicted_peak: u64,
    /// The stage graph in Graphviz DOT.
    pub dot: String,
}

/// A task that finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskDone {
    /// The worker row it ran on ([`RunInfo::rows`]).
    pub row: usize,
    /// Its stage ([`RunInfo::stages`]).
    pub stage: usize,
    /// When it started.
    pub started: Instant,
    /// When it finished.
    pub finished: Instant,
}

/// Something worth marking on a timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Intermediates written to the spill store.
    Spill,
    /// Spilled intermediates read back.
    ReadBack,
    /// Dropped intermediates recomputed (or source chunks re-read).
    Recompute,
}

impl Mark {
    /// Its name, as the dashboard and [`Metrics::op_seconds`] spell it.
    pub fn name(self) -> &'static str {
        match self {
            Mark::Spill => "spill",
            Mark::ReadBack => "read back",
            Mark::Recompute => "recompute",
        }
    }
}

/// Watches computations. Every method has a default that does nothing; see the module doc
/// for when each is called.
pub trait Observer: Send + Sync {
    /// A session titled `title` begins (one library call: a compute, a write, ...).
    ///
    /// # Errors
    /// The observer cannot start (e.g. a dashboard address in use): the call fails before
    /// any work.
    fn session_begin(&self, title: &str) -> Result<()> {
        let _ = title;
        Ok(())
    }

    /// The session ends, with the error that ended it, if any.
    ///
    /// # Errors
    /// The observer could not finish (e.g. a report it could not write).
    fn session_end(&self, error: Option<&str>) -> Result<()> {
        let _ = error;
        Ok(())
    }

    /// A plan begins to run (a session may run several: realigning copies, the passes of a
    /// bounded rechunk).
    fn run_begin(&self, run: &RunInfo) {
        let _ = run;
    }

    /// A task finished.
    fn task_done(&self, task: &TaskDone) {
        let _ = task;
    }

    /// Memory in use, by consumer ([`MemoryUse::total`] reserved, of which
    /// [`MemoryUse::held`] by finished tasks' outputs), and the run's figures so far.
    fn memory(&self, usage: &MemoryUse, metrics: &Metrics) {
        let _ = (usage, metrics);
    }

    /// Cluster worker `worker` holds and reserves `bytes` now.
    fn worker_memory(&self, worker: usize, bytes: u64) {
        let _ = (worker, bytes);
    }

    /// Cluster worker `to` fetched `bytes` held by worker `from`.
    fn transfer(&self, from: usize, to: usize, bytes: u64) {
        let _ = (from, to, bytes);
    }

    /// A spill, read-back or recomputation of `bytes`.
    fn mark(&self, mark: Mark, bytes: u64) {
        let _ = (mark, bytes);
    }

    /// The plan finished with `metrics`.
    fn run_end(&self, metrics: &Metrics) {
        let _ = metrics;
    }

    /// Something the user may want to know that is not an error, as one sentence: a
    /// leftover temporary of an ended process reused or removed. The `brickwork` binary
    /// prints these on stderr.
    fn notice(&self, text: &str) {
        let _ = text;
    }

    /// This observer as [`std::any::Any`], for callers that look for an observer of their
    /// own type among a computation's (the dashboard's [`crate::Monitor::of`]). Default:
    /// none.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// The observers of a computation (cheap to clone: they are shared).
#[derive(Clone, Default)]
pub struct Observers(Vec<Arc<dyn Observer>>);

impl fmt::Debug for Observers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Observers({})", self.0.len())
    }
}

impl Observers {
    /// No observer.
    pub fn none() -> Observers {
        Observers(Vec::new())
    }

    /// Adds `observer`.
    pub fn push(&mut self, observer: Arc<dyn Observer>) {
        self.0.push(observer);
    }

    /// Removes the observers for which `keep` is false.
    pub fn retain(&mut self, keep: impl FnMut(&Arc<dyn Observer>) -> bool) {
        self.0.retain(keep);
    }

    /// True when there is none (nothing to report to).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each observer.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Observer>> {
        self.0.iter()
    }

    /// Runs `body` as one session titled by `title` (called only when someone observes):
    /// every observer's session begins before and ends after it, also when it fails.
    ///
    /// # Errors
    /// An observer that cannot begin (nothing runs then), `body`'s error, or an observer
    /// that cannot end.
    pub(crate) fn session<T>(
        &self,
        title: impl FnOnce() -> String,
        body: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        if self.0.is_empty() {
            return body();
        }
        let title = title();
        for (i, o) in self.0.iter().enumerate() {
            if let Err(e) = o.session_begin(&title) {
                for begun in &self.0[..i] {
                    let _ = begun.session_end(Some(&e.to_string()));
                }
                return Err(e);
            }
        }
        let result = body();
        let error = result.as_ref().err().map(ToString::to_string);
        let mut ended = Ok(());
        for o in &self.0 {
            let e = o.session_end(error.as_deref());
            if ended.is_ok() {
                ended = e;
            }
        }
        let value = result?;
        ended?;
        Ok(value)
    }

    /// Tells every observer `text` ([`Observer::notice`]).
    pub(crate) fn notice(&self, text: &str) {
        self.each(|o| o.notice(text));
    }

    /// Tells every observer.
    pub(crate) fn each(&self, f: impl Fn(&dyn Observer)) {
        for o in &self.0 {
            f(o.as_ref());
        }
    }
}
