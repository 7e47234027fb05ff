//! Running tasks in another process: the messages the scheduler and a worker process
//! exchange over a Unix socket (`processes.rs`), and how a task's failure is written and
//! read, which MPI ranks use too (`mpi/`).
//!
//! A request is the task's id, the number of inputs, and each input as (task id, value);
//! the reply is `DONE`, the bytes the task read from stores and its value, or `FAILED`
//! with the task's error and its causes, or `PANICKED` with the panic's message. A user
//! kernel's error or panic travels as `KERNEL_FAILED` / `KERNEL_PANICKED` with the kernel's
//! name and block, so the caller still gets [`Error::Kernel`] / [`Error::KernelPanicked`]
//! (the kernel's error as text: its type stays in the worker). Values use the spill store's
//! block format (`spill.rs`).

use std::io::{Read, Write};
use std::sync::Arc;

use super::eval;
use super::spill::{decode, encode, get_u64, put_u64};
use crate::error::{Error, RemoteError, Result};
use crate::kernel::Datum;
use crate::plan::Plan;
use crate::schedule::{TaskGraph, TaskId};

const DONE: u64 = 0;
const FAILED: u64 = 1;
const PANICKED: u64 = 2;
const WRITTEN: u64 = 3;
/// The value is a source chunk mapped in place: the receiver maps it too.
const MAPPED: u64 = 4;
const KERNEL_FAILED: u64 = 5;
const KERNEL_PANICKED: u64 = 6;

/// How an input travels: its bytes, or (a mapped source chunk) the task that maps it.
const BYTES: u64 = 0;
const MAP_IT: u64 = 1;

/// What running a task elsewhere gave (returned once per task and taken apart at once:
/// not worth boxing the value).
#[allow(clippy::large_enum_variant)]
pub(super) enum Ran {
    /// Its value and the bytes it read from stores.
    Datum(Datum, u64),
    /// It was an output block, and the worker wrote it to the output itself: the bytes it
    /// read and the bytes it wrote.
    Written {
        /// Bytes read from stores.
        read: u64,
        /// Bytes of the block written.
        bytes: u64,
    },
}

/// How a task failed in another process.
#[derive(Debug)]
pub(super) enum Failure {
    /// Its error (with its causes) or panic, as text.
    Text(String),
    /// A user kernel returned an error (`message`: it and its causes) or panicked.
    Kernel {
        op: String,
        block: Vec<usize>,
        message: String,
        panicked: bool,
    },
}

impl Failure {
    /// The error to fail the computation with: `Error::Kernel` / `Error::KernelPanicked`
    /// for a kernel's failure (saying `where` it ran), else `text(message)`.
    pub(super) fn into_error(self, place: &str, text: impl FnOnce(String) -> Error) -> Error {
        match self {
            Failure::Text(message) => text(message),
            Failure::Kernel {
                op,
                block,
                message,
                panicked: false,
            } => Error::Kernel {
                op,
                block,
                source: Box::new(RemoteError::new(format!("{message} (in {place})"))),
            },
            Failure::Kernel {
                op,
                block,
                message,
                panicked: true,
            } => Error::KernelPanicked {
                op,
                block,
                message: format!("{message} (in {place})"),
            },
        }
    }
}

/// Writes an output block where the worker is (a store every process can open): returns
/// the bytes written.
pub(super) type WriteHere<'a> = &'a dyn Fn(Datum) -> Result<u64>;

/// Runs tasks somewhere else: worker thread `row` of the scheduler has its own worker.
pub(super) trait RunTasks: Sync {
    /// Runs task `t` on `inputs` in worker `row`: its value and the bytes it read from
    /// stores, as [`eval::run_counted`] gives them here, or, for an output block the worker
    /// could write itself, what it wrote.
    ///
    /// # Errors
    /// The task's error or panic in the worker, or the worker cannot be reached.
    fn run(
        &self,
        plan: &Plan,
        graph: &TaskGraph,
        row: usize,
        t: TaskId,
        inputs: &[(TaskId, Arc<Datum>)],
    ) -> Result<Ran>;
}

/// Writes the request to run `t` on `inputs`.
pub(super) fn write_request(
    w: &mut impl Write,
    t: TaskId,
    inputs: &[(TaskId, Arc<Datum>)],
) -> std::io::Result<()> {
    put_u64(w, u64::from(t))?;
    put_u64(w, inputs.len() as u64)?;
    for (d, v) in inputs {
        put_u64(w, u64::from(*d))?;
        if let Datum::Mapped(_) = v.as_ref() {
            // The worker maps the chunk file itself: nothing to copy.
            put_u64(w, MAP_IT)?;
        } else {
            put_u64(w, BYTES)?;
            encode(v, w)?;
        }
    }
    Ok(())
}

/// Reads a reply to the request for task `t`: the value and bytes read (or what the worker
/// wrote), or how the task failed.
pub(super) fn read_reply(
    r: &mut impl Read,
    plan: &Plan,
    graph: &TaskGraph,
    t: TaskId,
) -> std::io::Result<std::result::Result<Ran, Failure>> {
    match get_u64(r)? {
        DONE => {
            let read = get_u64(r)?;
            Ok(Ok(Ran::Datum(decode(r)?, read)))
        }
        MAPPED => {
            let read = get_u64(r)?;
            // Map the same chunk here (a page-cache mapping, no copy).
            Ok(eval::run_counted(plan, graph, t, &[])
                .map(|(value, _)| Ran::Datum(value, read))
                .map_err(|e| Failure::Text(with_causes(&e))))
        }
        WRITTEN => {
            let read = get_u64(r)?;
            let bytes = get_u64(r)?;
            Ok(Ok(Ran::Written { read, bytes }))
        }
        kind @ (FAILED | PANICKED | KERNEL_FAILED | KERNEL_PANICKED) => {
            get_failure(kind, r, graph, t).map(Err)
        }
        other => Err(invalid(format!("unknown reply {other}"))),
    }
}

/// Reads how task `t` failed, after its `kind` of failure (written by [`put_error`] or
/// for a panic).
fn get_failure(
    kind: u64,
    r: &mut impl Read,
    graph: &TaskGraph,
    t: TaskId,
) -> std::io::Result<Failure> {
    match kind {
        FAILED => Ok(Failure::Text(get_string(r)?)),
        PANICKED => Ok(Failure::Text(format!(
            "task {t} (stage {}) panicked: {}",
            graph.stage[t as usize],
            get_string(r)?
        ))),
        KERNEL_FAILED | KERNEL_PANICKED => {
            let op = get_string(r)?;
            let n = get_u64(r)?;
            if n > 64 {
                return Err(invalid(format!("a block index of {n} dimensions")));
            }
            let block = (0..n)
                .map(|_| get_u64(r).map(|i| i as usize))
                .collect::<std::io::Result<_>>()?;
            Ok(Failure::Kernel {
                op,
                block,
                message: get_string(r)?,
                panicked: kind == KERNEL_PANICKED,
            })
        }
        other => Err(invalid(format!("unknown failure {other}"))),
    }
}

/// Reads what [`put_error`] wrote about task `t`.
#[cfg(feature = "mpi")]
pub(super) fn read_error(
    r: &mut impl Read,
    graph: &TaskGraph,
    t: TaskId,
) -> std::io::Result<Failure> {
    let kind = get_u64(r)?;
    get_failure(kind, r, graph, t)
}

/// Writes task error `e`: a user kernel's failure with its kernel and block, anything else
/// as text with its causes.
pub(super) fn put_error(w: &mut impl Write, e: Error) -> std::io::Result<()> {
    match e {
        Error::Kernel { op, block, source } => {
            let message = with_causes_of(source.as_ref());
            put_kernel_failure(w, KERNEL_FAILED, &op, &block, &message)
        }
        Error::KernelPanicked { op, block, message } => {
            put_kernel_failure(w, KERNEL_PANICKED, &op, &block, &message)
        }
        e => {
            put_u64(w, FAILED)?;
            put_string(w, &with_causes(&e))
        }
    }
}

/// Reads a request for a task whose id was already read (`t`), runs it, and writes the
/// reply. `refuse` answers with that error instead of running the task (a worker that
/// cannot run this plan); `write` writes the task's value to the output here instead of
/// sending it back.
pub(super) fn serve_request(
    plan: &Plan,
    graph: &TaskGraph,
    t: TaskId,
    r: &mut impl Read,
    w: &mut impl Write,
    refuse: Option<&str>,
    write: Option<WriteHere<'_>>,
) -> std::io::Result<()> {
    let n = get_u64(r)?;
    let mut inputs = Vec::with_capacity(n.min(1 << 16) as usize);
    let mut map = Vec::new();
    for _ in 0..n {
        let d = get_u64(r)? as TaskId;
        match get_u64(r)? {
            MAP_IT => map.push(d),
            BYTES => inputs.push((d, Arc::new(decode(r)?))),
            other => return Err(invalid(format!("unknown input kind {other}"))),
        }
    }
    if let Some(why) = refuse {
        put_u64(w, FAILED)?;
        return put_string(w, why);
    }
    let known = |x: TaskId| (x as usize) < graph.len();
    if !known(t) || !map.iter().all(|&d| known(d)) {
        put_u64(w, FAILED)?;
        return put_string(w, &format!("a task beyond the plan's {}", graph.len()));
    }
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // Inputs that are source chunks: mapped here, as the sender mapped them.
        for &d in &map {
            let (value, _) = eval::run_counted(plan, graph, d, &[])?;
            inputs.push((d, Arc::new(value)));
        }
        if !map.is_empty() {
            let deps = graph.deps(t);
            inputs.sort_by_key(|(d, _)| deps.iter().position(|x| x == d));
        }
        let (value, read) = eval::run_counted(plan, graph, t, &inputs)?;
        match write {
            Some(write) => Ok(Ran::Written {
                read,
                bytes: write(value)?,
            }),
            None => Ok(Ran::Datum(value, read)),
        }
    }));
    drop(inputs);
    match outcome {
        Ok(Ok(Ran::Datum(Datum::Mapped(_), read))) if graph.deps(t).is_empty() => {
            put_u64(w, MAPPED)?;
            put_u64(w, read)
        }
        Ok(Ok(Ran::Datum(value, read))) => {
            put_u64(w, DONE)?;
            put_u64(w, read)?;
            encode(&value, w)
        }
        Ok(Ok(Ran::Written { read, bytes })) => {
            put_u64(w, WRITTEN)?;
            put_u64(w, read)?;
            put_u64(w, bytes)
        }
        Ok(Err(e)) => put_error(w, e),
        Err(payload) => {
            put_u64(w, PANICKED)?;
            put_string(w, &super::task::panic_message(payload.as_ref()))
        }
    }
}

fn put_kernel_failure(
    w: &mut impl Write,
    kind: u64,
    op: &str,
    block: &[usize],
    message: &str,
) -> std::io::Result<()> {
    put_u64(w, kind)?;
    put_string(w, op)?;
    put_u64(w, block.len() as u64)?;
    for &i in block {
        put_u64(w, i as u64)?;
    }
    put_string(w, message)
}

/// An error's message followed by its causes', as `{:#}` prints them with anyhow.
pub(super) fn with_causes(e: &Error) -> String {
    with_causes_of(e)
}

fn with_causes_of(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
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
