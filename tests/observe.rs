//! Observers: a caller's own observer sees every task of a run, under every scheduler.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use brickwork::metrics::Consumer;
use brickwork::observe::{Mark, RunInfo, TaskDone};
use brickwork::{Array, ComputeOptions, MemoryUse, Metrics, Observer};

/// Counts what it is told.
#[derive(Default)]
struct Counter {
    sessions: AtomicU64,
    ended: AtomicU64,
    runs: Mutex<Vec<RunInfo>>,
    tasks: Mutex<Vec<TaskDone>>,
    samples: AtomicU64,
    /// The most in use in one sample, and whether some sample had each consumer.
    peak: AtomicU64,
    consumers_seen: Mutex<Vec<Consumer>>,
    marks: AtomicU64,
    finished: Mutex<Vec<Metrics>>,
}

impl Observer for Counter {
    fn session_begin(&self, _title: &str) -> brickwork::Result<()> {
        self.sessions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    fn session_end(&self, _error: Option<&str>) -> brickwork::Result<()> {
        self.ended.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    fn run_begin(&self, run: &RunInfo) {
        self.runs.lock().unwrap().push(run.clone());
    }
    fn task_done(&self, task: &TaskDone) {
        self.tasks.lock().unwrap().push(*task);
    }
    fn memory(&self, usage: &MemoryUse, _metrics: &Metrics) {
        self.samples.fetch_add(1, Ordering::Relaxed);
        self.peak.fetch_max(usage.total(), Ordering::Relaxed);
        let mut seen = self.consumers_seen.lock().unwrap();
        for c in Consumer::ALL {
            if usage.get(c) > 0 && !seen.contains(&c) {
                seen.push(c);
            }
        }
    }
    fn mark(&self, _mark: Mark, _bytes: u64) {
        self.marks.fetch_add(1, Ordering::Relaxed);
    }
    fn run_end(&self, metrics: &Metrics) {
        self.finished.lock().unwrap().push(metrics.clone());
    }
}

fn schedulers() -> Vec<ComputeOptions> {
    let mut all = vec![
        ComputeOptions::synchronous(),
        ComputeOptions::threads(2),
        ComputeOptions::cluster(2, 2, 1 << 30),
    ];
    if cfg!(target_os = "linux") {
        all.push(ComputeOptions::processes(2));
    }
    all
}

#[test]
fn an_observer_of_ones_own_sees_every_task_under_each_scheduler() -> brickwork::Result<()> {
    let x = Array::random(&[300, 300], &[70, 70], 3)?;
    let y = (&x + &x.t()).sum_axis(brickwork::Axis(0))?;
    let (want, _) = y.compute_with(&ComputeOptions::synchronous())?;
    for opts in schedulers() {
        let name = opts.scheduler.to_string();
        let counter = std::sync::Arc::new(Counter::default());
        let mut opts = opts;
        opts.observers.push(counter.clone());
        let (got, m) = y.compute_with(&opts)?;
        assert_eq!(got, want, "{name}");
        assert_eq!(counter.sessions.load(Ordering::Relaxed), 1, "{name}");
        assert_eq!(counter.ended.load(Ordering::Relaxed), 1, "{name}");
        let runs = counter.runs.lock().unwrap();
        assert_eq!(runs.len(), 1, "{name}");
        let run = &runs[0];
        assert_eq!(run.scheduler, name);
        assert!(run.dot.starts_with("digraph"), "{name}");
        let tasks = counter.tasks.lock().unwrap();
        // Every task, once: as many as the run says it ran, per stage as planned.
        assert_eq!(tasks.len() as u64, m.tasks, "{name}");
        assert_eq!(tasks.len() as u64, run.tasks_after, "{name}");
        for (i, stage) in run.stages.iter().enumerate() {
            let seen = tasks.iter().filter(|t| t.stage == i).count() as u64;
            assert_eq!(seen, stage.tasks, "{name}: stage {i} {}", stage.name);
        }
        assert!(tasks.iter().all(|t| t.row < run.rows.len()), "{name}");
        assert!(counter.samples.load(Ordering::Relaxed) > 0, "{name}");
        // Memory by consumer: what the run reports as its peak, with running tasks and the
        // outputs kept for the sum's users among the consumers.
        // (A cluster's samples add up its 2 workers; its peak is the largest worker's.)
        let workers = if name == "cluster" { 2 } else { 1 };
        let peak = counter.peak.load(Ordering::Relaxed);
        assert!(peak <= workers * m.peak_reserved_bytes, "{name}");
        let seen = counter.consumers_seen.lock().unwrap();
        assert!(seen.contains(&Consumer::Tasks), "{name}: {seen:?}");
        assert!(seen.contains(&Consumer::Outputs), "{name}: {seen:?}");
        assert_eq!(
            counter.finished.lock().unwrap().as_slice(),
            std::slice::from_ref(&m)
        );
    }
    Ok(())
}

#[test]
fn a_write_is_one_session_with_a_run_per_plan() -> brickwork::Result<()> {
    let dir = tempfile::tempdir().map_err(|e| brickwork::Error::invalid(e.to_string()))?;
    let rows = dir.path().join("rows.zarr");
    Array::random(&[200, 200], &[20, 200], 5)?
        .to_zarr(&rows, &brickwork::WriteOptions::default())?;
    let x = Array::from_zarr(&rows)?;
    let counter = std::sync::Arc::new(Counter::default());
    let mut opts = ComputeOptions::threads(2).with_memory_limit(300_000);
    opts.observers.push(counter.clone());
    // Rows into columns under a small limit: two passes through an intermediate store.
    let options = brickwork::WriteOptions {
        chunks: Some(vec![200, 20]),
        ..brickwork::WriteOptions::default()
    };
    let m = x.to_zarr_with(dir.path().join("cols.zarr"), &options, &opts)?;
    assert_eq!(counter.sessions.load(Ordering::Relaxed), 1);
    assert_eq!(counter.ended.load(Ordering::Relaxed), 1);
    assert_eq!(counter.runs.lock().unwrap().len(), 2, "one run per pass");
    assert_eq!(counter.tasks.lock().unwrap().len() as u64, m.tasks);
    Ok(())
}
