//! The timeline of one monitored session: what the live page streams and the report embeds.
//!
//! Workers append under one short lock per task; readers (the page's event stream, the
//! report) take deltas from a [`Cursor`]. Times are seconds since the session started.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::metrics::{Consumer, MemoryUse, Metrics};
use crate::observe::RunInfo;

/// Task bars kept at most; a longer session keeps its progress, memory and I/O panels but
/// stops drawing bars (the report says how many were left out).
const MAX_TASKS: usize = 500_000;

/// Seconds between two memory / I/O samples (a sample is also taken at every run's end).
const SAMPLE_EVERY: f32 = 0.002;

/// One stage as the progress and plan panels show it.
struct StageRow {
    name: String,
    op: &'static str,
    /// Tasks after culling.
    total: u64,
    done: u64,
    /// Blocks of the stage's grid (its tasks before culling).
    before: u64,
    /// Stages whose blocks this one reads (session-wide ids).
    deps: Vec<usize>,
}

/// One plan run in the session (a computation may run several: realigning copies, the two
/// passes of a bounded rechunk).
struct RunRow {
    tasks_before: u64,
    tasks_after: u64,
    predicted_peak: u64,
    dot: String,
}

#[derive(Default)]
struct State {
    title: String,
    scheduler: String,
    workers: Vec<String>,
    memory_limit: u64,
    stages: Vec<StageRow>,
    /// Session-wide id of the current run's first stage.
    offset: usize,
    runs: Vec<RunRow>,
    /// `(row, stage, t0, t1)`.
    tasks: Vec<(u16, u32, f32, f32)>,
    tasks_left_out: u64,
    /// `(t, in use by consumer)`.
    memory: Vec<(f32, MemoryUse)>,
    marks: Vec<(f32, &'static str, u64)>,
    /// `(t, read total, written total)`.
    io: Vec<(f32, u64, u64)>,
    /// `(t, worker, bytes in use)`, cluster scheduler only.
    workers_memory: Vec<(f32, u16, u64)>,
    /// When each cluster worker's memory was last sampled.
    worker_sampled: Vec<f32>,
    /// `(t, from worker, to worker, bytes)`, cluster scheduler only.
    transfers: Vec<(f32, u16, u16, u64)>,
    /// Bytes read and written by the session's finished runs.
    io_base: (u64, u64),
    last_sample: Option<f32>,
    /// The most in use since the last sample (a sample shows the peak of its interval, so
    /// the chart's peak is the run's).
    pending: MemoryUse,
    /// Blocks dropped so far in the current run (to mark new drops).
    dropped: u64,
    /// Figures of the finished runs.
    metrics: Option<Metrics>,
    finished: bool,
    error: Option<String>,
    seconds: f64,
}

/// Where a reader of the timeline stands.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Cursor {
    tasks: usize,
    memory: usize,
    marks: usize,
    io: usize,
    workers_memory: usize,
    transfers: usize,
}

impl Cursor {
    /// A cursor from a `/events?tasks=..&memory=..&marks=..&io=..` query (the counts the page
    /// already has from `/state`); missing or malformed fields count from the start.
    pub(crate) fn from_query(query: &str) -> Cursor {
        let mut c = Cursor::default();
        for pair in query.split('&') {
            let Some((k, v)) = pair.split_once('=') else {
                continue;
            };
            let Ok(v) = v.parse::<usize>() else { continue };
            match k {
                "tasks" => c.tasks = v,
                "memory" => c.memory = v,
                "marks" => c.marks = v,
                "io" => c.io = v,
                "workers_memory" => c.workers_memory = v,
                "transfers" => c.transfers = v,
                _ => {}
            }
        }
        c
    }
}

/// The timeline of a session.
pub(crate) struct Recorder {
    start: Instant,
    started_unix_ms: u64,
    state: Mutex<State>,
    /// Signalled when the session finishes (wakes the event streams at once).
    finished: Condvar,
}

impl Recorder {
    pub(crate) fn new(title: &str) -> Recorder {
        Recorder {
            start: Instant::now(),
            started_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            state: Mutex::new(State {
                title: title.to_string(),
                ..State::default()
            }),
            finished: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seconds since the session started.
    pub(crate) fn now(&self) -> f32 {
        self.start.elapsed().as_secs_f32()
    }

    fn at(&self, t: Instant) -> f32 {
        t.saturating_duration_since(self.start).as_secs_f32()
    }

    /// Registers a run's stages; the stages its tasks name are numbered from here.
    pub(crate) fn begin_run(&self, run: &RunInfo) {
        let mut s = self.lock();
        let offset = s.stages.len();
        s.offset = offset;
        s.scheduler.clone_from(&run.scheduler);
        s.memory_limit = s.memory_limit.max(run.memory_limit);
        if run.rows.len() > s.workers.len() || s.workers.is_empty() {
            s.workers.clone_from(&run.rows);
        }
        for st in &run.stages {
            s.stages.push(StageRow {
                name: st.name.clone(),
                op: st.op,
                total: st.tasks,
                done: 0,
                before: st.blocks,
                deps: st.inputs.iter().map(|d| d + offset).collect(),
            });
        }
        s.runs.push(RunRow {
            tasks_before: run.tasks_before,
            tasks_after: run.tasks_after,
            predicted_peak: run.predicted_peak,
            dot: run.dot.clone(),
        });
        s.dropped = 0;
    }

    /// A task of stage `stage` of the current run ran on worker `row` from `t0` to `t1`.
    pub(crate) fn task(&self, row: usize, stage: usize, t0: Instant, t1: Instant) {
        let (t0, t1) = (self.at(t0), self.at(t1));
        let mut s = self.lock();
        let stage = stage + s.offset;
        if let Some(st) = s.stages.get_mut(stage) {
            st.done += 1;
        }
        if s.tasks.len() < MAX_TASKS {
            s.tasks.push((row as u16, stage as u32, t0, t1));
        } else {
            s.tasks_left_out += 1;
        }
    }

    /// Memory in use and the run's I/O counters, when a task starts or ends (recorded at
    /// most every [`SAMPLE_EVERY`] seconds unless `force`, each sample with the most in use
    /// since the previous one).
    pub(crate) fn sample(&self, usage: &MemoryUse, m: &Metrics, force: bool) {
        let t = self.now();
        let mut s = self.lock();
        if m.blocks_dropped > s.dropped {
            s.dropped = m.blocks_dropped;
            s.marks.push((t, "drop", 0));
        }
        if usage.total() >= s.pending.total() {
            s.pending = *usage;
        }
        if !force && s.last_sample.is_some_and(|last| t - last < SAMPLE_EVERY) {
            return;
        }
        s.last_sample = Some(t);
        let usage = std::mem::take(&mut s.pending);
        s.memory.push((t, usage));
        let (r, w) = s.io_base;
        s.io.push((t, r + m.bytes_read, w + m.bytes_output));
    }

    /// Cluster worker `worker` holds and reserves `bytes` (sampled at most every
    /// [`SAMPLE_EVERY`] seconds per worker).
    pub(crate) fn worker_memory(&self, worker: usize, bytes: u64) {
        let t = self.now();
        let mut s = self.lock();
        if s.worker_sampled.len() <= worker {
            s.worker_sampled.resize(worker + 1, f32::NEG_INFINITY);
        }
        if t - s.worker_sampled[worker] < SAMPLE_EVERY {
            return;
        }
        s.worker_sampled[worker] = t;
        s.workers_memory.push((t, worker as u16, bytes));
    }

    /// Cluster worker `to` fetched `bytes` held by worker `from`.
    pub(crate) fn transfer(&self, from: usize, to: usize, bytes: u64) {
        let t = self.now();
        self.lock()
            .transfers
            .push((t, from as u16, to as u16, bytes));
    }

    /// A spill, read-back or recomputation of `bytes`.
    pub(crate) fn mark(&self, kind: &'static str, bytes: u64) {
        let t = self.now();
        self.lock().marks.push((t, kind, bytes));
    }

    /// A run ended with `metrics` (its own figures, not the session's).
    pub(crate) fn end_run(&self, metrics: &Metrics) {
        let mut s = self.lock();
        s.io_base.0 += metrics.bytes_read;
        s.io_base.1 += metrics.bytes_output;
        s.metrics = Some(match &s.metrics {
            Some(before) => before.then(metrics),
            None => metrics.clone(),
        });
    }

    /// The session ended (with `error` when it failed).
    pub(crate) fn finish(&self, error: Option<String>) {
        let t = self.now();
        let mut s = self.lock();
        s.finished = true;
        s.error = error;
        s.seconds = f64::from(t);
        if let Some(&(_, r, w)) = s.io.last() {
            s.io.push((t, r, w));
        }
        drop(s);
        self.finished.notify_all();
    }

    /// Waits up to `timeout` for the session to finish; true once finished.
    pub(crate) fn wait_finished(&self, timeout: std::time::Duration) -> bool {
        let s = self.lock();
        let (s, _) = self
            .finished
            .wait_timeout_while(s, timeout, |s| !s.finished)
            .unwrap_or_else(|p| p.into_inner());
        s.finished
    }

    /// The figures of the session's runs so far.
    pub(crate) fn metrics(&self) -> Option<Metrics> {
        self.lock().metrics.clone()
    }

    /// The whole state: what `/state` serves and the report embeds (with the plan and the
    /// figures). Moves `cursor` to the end.
    pub(crate) fn state(&self, cursor: &mut Cursor) -> Value {
        *cursor = Cursor::default();
        let s = self.lock();
        let mut v = delta(&s, cursor, self.started_unix_ms);
        v["version"] = json!(1);
        v["plan"] = json!({
            "stages": s.stages.iter().enumerate().map(|(i, st)| json!({
                "id": i, "name": st.name, "op": st.op, "before": st.before,
                "after": st.total, "deps": st.deps,
            })).collect::<Vec<_>>(),
            "runs": s.runs.len(),
            "tasks_before": s.runs.iter().map(|r| r.tasks_before).sum::<u64>(),
            "tasks_after": s.runs.iter().map(|r| r.tasks_after).sum::<u64>(),
            "predicted_peak": s.runs.iter().map(|r| r.predicted_peak).max().unwrap_or(0),
            "measured_peak": s.metrics.as_ref().map_or(0, |m| m.peak_reserved_bytes),
            "tasks_left_out": s.tasks_left_out,
            "dot": s.runs.iter().map(|r| r.dot.as_str()).collect::<Vec<_>>().join("\n"),
        });
        v
    }

    /// What happened since `cursor` (moved forward); `finished` tells the stream to end.
    pub(crate) fn delta(&self, cursor: &mut Cursor) -> (Value, bool) {
        let s = self.lock();
        (delta(&s, cursor, self.started_unix_ms), s.finished)
    }
}

fn delta(s: &State, c: &mut Cursor, started_unix_ms: u64) -> Value {
    fn from<T>(v: &[T], at: &mut usize) -> std::ops::Range<usize> {
        let r = (*at).min(v.len())..v.len();
        *at = v.len();
        r
    }
    let tasks: Vec<Value> = s.tasks[from(&s.tasks, &mut c.tasks)]
        .iter()
        .map(|&(row, stage, t0, t1)| json!([row, stage, round(t0), round(t1)]))
        .collect();
    let memory: Vec<Value> = s.memory[from(&s.memory, &mut c.memory)]
        .iter()
        .map(|(t, u)| {
            let mut row = vec![json!(round(*t)), json!(u.total()), json!(u.held())];
            row.extend(Consumer::ALL.iter().map(|&c| json!(u.get(c))));
            Value::Array(row)
        })
        .collect();
    let marks: Vec<Value> = s.marks[from(&s.marks, &mut c.marks)]
        .iter()
        .map(|&(t, kind, b)| json!([round(t), kind, b]))
        .collect();
    let io: Vec<Value> = s.io[from(&s.io, &mut c.io)]
        .iter()
        .map(|&(t, r, w)| json!([round(t), r, w]))
        .collect();
    let workers_memory: Vec<Value> = s.workers_memory
        [from(&s.workers_memory, &mut c.workers_memory)]
    .iter()
    .map(|&(t, w, b)| json!([round(t), format!("worker {w}"), b]))
    .collect();
    let transfers: Vec<Value> = s.transfers[from(&s.transfers, &mut c.transfers)]
        .iter()
        .map(|&(t, a, b, n)| json!([round(t), format!("worker {a}"), format!("worker {b}"), n]))
        .collect();
    json!({
        "meta": {
            "title": s.title,
            "scheduler": s.scheduler,
            "workers": s.workers,
            "memory_limit": s.memory_limit,
            "started_unix_ms": started_unix_ms,
        },
        "stages": s.stages.iter().enumerate().map(|(i, st)| json!({
            "id": i, "name": st.name, "op": st.op, "total": st.total, "done": st.done,
            "deps": st.deps,
        })).collect::<Vec<_>>(),
        "tasks": tasks,
        "memory": memory,
        "marks": marks,
        "io": io,
        "workers_memory": workers_memory,
        "transfers": transfers,
        "finished": s.finished,
        "seconds": if s.finished { s.seconds } else { f64::from(s.last_sample.unwrap_or(0.0)) },
        "error": s.error,
        "stats": s.metrics.as_ref().map(Metrics::to_json),
    })
}

/// Microsecond precision is plenty for a drawing, and keeps the JSON short.
fn round(t: f32) -> f64 {
    (f64::from(t) * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rec: &Recorder) -> usize {
        let stage = |name: &str, op, inputs| crate::observe::StageInfo {
            name: name.into(),
            op,
            tasks: 2,
            blocks: 4,
            inputs,
        };
        rec.begin_run(&RunInfo {
            scheduler: "threads".into(),
            rows: vec!["worker 0".into(), "worker 1".into()],
            memory_limit: 1000,
            stages: vec![
                stage("read x", "read", vec![]),
                stage("x + 1", "map", vec![0]),
            ],
            tasks_before: 8,
            tasks_after: 4,
            predicted_peak: 100,
            dot: "digraph {}".into(),
        });
        rec.lock().offset
    }

    #[test]
    fn deltas_carry_only_what_is_new() {
        let rec = Recorder::new("x + 1");
        assert_eq!(run(&rec), 0);
        let now = Instant::now();
        rec.task(0, 0, now, now);
        let mut usage = MemoryUse::default();
        usage.set(Consumer::Outputs, 5);
        usage.set(Consumer::Tasks, 5);
        rec.sample(&usage, &Metrics::default(), true);
        let mut c = Cursor::default();
        let (first, finished) = rec.delta(&mut c);
        assert!(!finished);
        // [t, reserved, held, then by consumer in Consumer::ALL's order].
        assert_eq!(
            first["memory"][0].as_array().unwrap()[1..],
            [10, 5, 5, 0, 5, 0, 0]
        );
        assert_eq!(first["tasks"].as_array().unwrap().len(), 1);
        assert_eq!(first["stages"][0]["done"], 1);
        rec.task(1, 1, now, now);
        rec.mark("spill", 64);
        let (second, _) = rec.delta(&mut c);
        assert_eq!(second["tasks"].as_array().unwrap().len(), 1);
        assert_eq!(second["tasks"][0][0], 1);
        assert_eq!(second["memory"].as_array().unwrap().len(), 0);
        assert_eq!(second["marks"][0][1], "spill");
        // A second run's stages are numbered after the first's.
        assert_eq!(run(&rec), 2);
        let m = Metrics {
            tasks: 4,
            bytes_read: 7,
            ..Metrics::default()
        };
        rec.end_run(&m);
        rec.finish(None);
        let (last, finished) = rec.delta(&mut c);
        assert!(finished);
        assert_eq!(last["stats"]["tasks"], 4);
        assert_eq!(last["stages"][3]["deps"][0], 2);
        let state = rec.state(&mut Cursor::default());
        assert_eq!(state["plan"]["tasks_before"], 16);
        assert_eq!(state["tasks"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn query_cursor() {
        let c = Cursor::from_query("tasks=3&memory=x&io=2&other=1");
        assert_eq!((c.tasks, c.memory, c.marks, c.io), (3, 0, 0, 2));
    }

    /// The page lists memory samples' consumers by name, in [`Consumer::ALL`]'s order.
    #[test]
    fn the_page_knows_every_memory_consumer_in_order() {
        let names: Vec<String> = Consumer::ALL
            .iter()
            .map(|c| format!("{:?}", c.name()))
            .collect();
        let list = format!("const CONSUMERS = [{}];", names.join(", "));
        assert!(super::super::server::PAGE.contains(&list), "{list}");
    }
}
