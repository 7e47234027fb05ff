//! Running tasks in another process: the messages the scheduler and a worker exchange,
//! whatever carries them (a Unix socket to a forked worker, `processes.rs`; MPI messages to
//! another rank, `mpi.rs`).
//!
//! A request is the task's id, the number of inputs, and each input as (task id, value);
//! the reply is `DONE`, the bytes the task read from stores and its value, or `FAILED`
//! with the task's error and its causes, or `PANICKED` with the panic's message. Values use
//! the spill store's block format (`spill.rs`).

use std::io::{Read, Write};
use std::sync::Arc;

use super::eval;
use super::spill::{decode, encode, get_u64, put_u64};
use crate::error::{Error, Result};
use crate::kernel::Value;
use crate::plan::Plan;
use crate::schedule::{TaskGraph, TaskId};

const DONE: u64 = 0;
const FAILED: u64 = 1;
const PANICKED: u64 = 2;

/// Runs tasks somewhere else: worker thread `row` of the scheduler has its own worker.
pub(super) trait RunTasks: Sync {
    /// Runs task `t` on `inputs` in worker `row`: its value and the bytes it read from
    /// stores, as [`eval::run_counted`] gives them here.
    ///
    /// # Errors
    /// The task's error or panic in the worker, or the worker cannot be reached.
    fn run(
        &self,
        plan: &Plan,
        graph: &TaskGraph,
        row: usize,
        t: TaskId,
        inputs: &[(TaskId, Arc<Value>)],
    ) -> Result<(Value, u64)>;
}

/// Writes the request to run `t` on `inputs`.
pub(super) fn write_request(
    w: &mut impl Write,
    t: TaskId,
    inputs: &[(TaskId, Arc<Value>)],
) -> std::io::Result<()> {
    put_u64(w, u64::from(t))?;
    put_u64(w, inputs.len() as u64)?;
    for (d, v) in inputs {
        put_u64(w, u64::from(*d))?;
        encode(v, w)?;
    }
    Ok(())
}

/// Reads a reply to the request for task `t`: the value and bytes read, or the message of
/// the task's error or panic.
pub(super) fn read_reply(
    r: &mut impl Read,
    graph: &TaskGraph,
    t: TaskId,
) -> std::io::Result<std::result::Result<(Value, u64), String>> {
    match get_u64(r)? {
        DONE => {
            let read = get_u64(r)?;
            Ok(Ok((decode(r)?, read)))
        }
        FAILED => Ok(Err(get_string(r)?)),
        PANICKED => Ok(Err(format!(
            "task {t} (stage {}) panicked: {}",
            graph.stage[t as usize],
            get_string(r)?
        ))),
        other => Err(invalid(format!("unknown reply {other}"))),
    }
}

/// Reads a request for a task whose id was already read (`t`), runs it, and writes the
/// reply. `refuse` answers with that error instead of running the task (a worker that
/// cannot run this plan).
pub(super) fn serve_request(
    plan: &Plan,
    graph: &TaskGraph,
    t: TaskId,
    r: &mut impl Read,
    w: &mut impl Write,
    refuse: Option<&str>,
) -> std::io::Result<()> {
    let n = get_u64(r)?;
    let mut inputs = Vec::with_capacity(n.min(1 << 16) as usize);
    for _ in 0..n {
        let d = get_u64(r)? as TaskId;
        inputs.push((d, Arc::new(decode(r)?)));
    }
    if let Some(why) = refuse {
        put_u64(w, FAILED)?;
        return put_string(w, why);
    }
    if t as usize >= graph.len() {
        put_u64(w, FAILED)?;
        return put_string(w, &format!("no task {t} in a plan of {}", graph.len()));
    }
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        eval::run_counted(plan, graph, t, &inputs)
    }));
    drop(inputs);
    match outcome {
        Ok(Ok((value, read))) => {
            put_u64(w, DONE)?;
            put_u64(w, read)?;
            encode(&value, w)
        }
        Ok(Err(e)) => {
            put_u64(w, FAILED)?;
            put_string(w, &with_causes(&e))
        }
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            put_u64(w, PANICKED)?;
            put_string(w, &message)
        }
    }
}

/// An error's message followed by its causes', as `{:#}` prints them with anyhow.
pub(super) fn with_causes(e: &Error) -> String {
    let mut text = e.to_string();
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

pub(super) fn invalid(what: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what)
}

pub(super) fn put_string(w: &mut impl Write, s: &str) -> std::io::Result<()> {
    put_u64(w, s.len() as u64)?;
    w.write_all(s.as_bytes())
}

pub(super) fn get_string(r: &mut impl Read) -> std::io::Result<String> {
    let n = get_u64(r)?;
    if n > 1 << 24 {
        return Err(invalid("a message of more than 16 MiB".into()));
    }
    let mut bytes = vec![0; n as usize];
    r.read_exact(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
