//! The library's error type.
//!
//! One public [`Error`], grouped by who must act: the caller (bad arguments, shapes, dtypes,
//! indices), the environment (stores, files), or us (`Internal`). Messages are lower-case and
//! name the arrays, shapes, chunk keys or paths involved.
//!
//! Errors caused by another error (an I/O error, a zarrs error) keep it as their
//! [`source`](std::error::Error::source) and do not repeat its message: print the chain
//! (`{:#}` with anyhow, which the `brickwork` binary does) to see both, and use
//! [`Error::io_error`] to match the operating system's error (`NotFound`, `StorageFull`, …).
//!
//! Errors are matched by variant: an operator's error (`&a + &b` of shapes that do not
//! broadcast) is returned by the first fallible method called on its result as the variant
//! it was raised as (the array keeps it, and hands out a [`Clone`] of it). A user kernel's
//! error is [`Error::Kernel`], naming the kernel and the block and keeping the kernel's
//! error as its source; a kernel's panic is [`Error::KernelPanicked`].

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::dtype::DType;
use crate::grid::fmt_shape;
use crate::metrics::MemoryUse;
use crate::units::format_bytes;

/// A brickwork error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument is out of its domain (a chunk size of 0, a bad option value, …).
    #[error("invalid argument: {detail}")]
    InvalidArgument {
        /// What was wrong, and what would be right.
        detail: String,
    },

    /// Two shapes cannot be combined by an operation (broadcasting, matmul, …).
    #[error(
        "{op}: shapes {} and {} are not compatible{}",
        fmt_shape(lhs),
        fmt_shape(rhs),
        hint_suffix(hint)
    )]
    ShapeMismatch {
        /// The operation.
        op: String,
        /// Shape of the left operand.
        lhs: Vec<usize>,
        /// Shape of the right operand.
        rhs: Vec<usize>,
        /// Why, when it helps.
        hint: String,
    },

    /// An operation does not support an operand's dtype.
    #[error("{op} is not supported for dtype {dtype}{}", hint_suffix(hint))]
    UnsupportedDType {
        /// The operation.
        op: String,
        /// The offending dtype.
        dtype: DType,
        /// What to do instead, when there is something.
        hint: String,
    },

    /// A dtype name that brickwork does not know.
    #[error(
        "unknown dtype {name:?} (expected one of bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64)"
    )]
    UnknownDType {
        /// The name given.
        name: String,
    },

    /// An index or axis outside an array's bounds.
    #[error(
        "index {index} is out of bounds for axis {axis} with size {len} (array shape {})",
        fmt_shape(shape)
    )]
    IndexOutOfBounds {
        /// The index as given (may be negative).
        index: isize,
        /// The axis.
        axis: usize,
        /// The axis length.
        len: usize,
        /// The whole array shape.
        shape: Vec<usize>,
    },

    /// An axis number outside the array's rank, or repeated.
    #[error(
        "axis {axis} is invalid for an array of {ndim} dimension(s){}",
        hint_suffix(hint)
    )]
    InvalidAxis {
        /// The axis as given.
        axis: isize,
        /// The array's rank.
        ndim: usize,
        /// Further detail (e.g. "repeated").
        hint: String,
    },

    /// A slice step of zero.
    #[error("slice step cannot be zero (axis {axis})")]
    ZeroStep {
        /// The axis whose slice had step 0.
        axis: usize,
    },

    /// An expression given as text could not be parsed.
    #[error("{message} at column {column}\n  {input}\n  {caret}", caret = caret(*column))]
    Parse {
        /// The whole input.
        input: String,
        /// 1-based column of the problem.
        column: usize,
        /// What was expected.
        message: String,
    },

    /// A Zarr store or array could not be opened, read or written.
    #[error("zarr store {}{}: {detail}", path.display(), key_suffix(key))]
    Store {
        /// Path of the store (or array inside it).
        path: PathBuf,
        /// The chunk key or metadata key involved, if any.
        key: Option<String>,
        /// What went wrong.
        detail: String,
        /// The error that caused it (an I/O error, a zarrs error), if any.
        #[source]
        source: Option<BoxError>,
    },

    /// A Zarr array that brickwork marked incomplete: a write to it was interrupted (or is
    /// still running), so chunks it did not write yet would read as the fill value.
    #[error(
        "zarr array {} is incomplete: a brickwork write to it did not finish ({missing} of {total} chunks missing); rerun that write with resume (--resume), or allow incomplete arrays (--allow-incomplete) to read missing chunks as the fill value",
        path.display()
    )]
    IncompleteArray {
        /// The array.
        path: PathBuf,
        /// Chunk objects (shards) not stored. Chunks that are all fill value are never
        /// stored, so some of these may not be lost.
        missing: u64,
        /// Chunk objects (shards) in the array's grid.
        total: u64,
    },

    /// Another process is writing the array (it holds the array's write lock, see
    /// `store/lock.rs`): two writers of one array would mix their chunks.
    #[error(
        "zarr store {} is being written by another brickwork process: {holder}; wait for it to finish or stop it (the lock of a process that has ended is taken over)",
        path.display()
    )]
    Locked {
        /// The array.
        path: PathBuf,
        /// Who holds the lock: pid, host, since when, command.
        holder: String,
    },

    /// A Zarr array read by a computation was replaced (overwritten by another write) or
    /// written into (a region write) while the computation read it: its result would mix
    /// two generations of the array.
    #[error(
        "zarr array {} was replaced or written into while it was being read ({detail}); the result would mix old and new data, so none is given: run the computation again",
        path.display()
    )]
    SourceChanged {
        /// The array.
        path: PathBuf,
        /// What changed.
        detail: String,
    },

    /// A region write into a Zarr array ([`crate::Array::to_zarr_region`], CLI `eval
    /// --region`) is running, or was interrupted: the region may hold part old, part new
    /// values. Opening the array for reading fails until that write has finished (or has
    /// been run again to completion) unless incomplete arrays are allowed
    /// ([`crate::store::ReadOptions::allow_incomplete`]).
    #[error("{}", region_unfinished(path, region, holder.as_deref()))]
    RegionWriteUnfinished {
        /// The array.
        path: PathBuf,
        /// The region being written, as `[0..10, 5..30]`.
        region: String,
        /// Who is writing it (pid, host, since when, command), when that process still
        /// runs; `None` when the write was interrupted.
        holder: Option<String>,
    },

    /// A file could not be read or written.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },

    /// A file's content does not match its format.
    #[error("{}: {detail}", file.display())]
    Format {
        /// The file.
        file: PathBuf,
        /// What is malformed.
        detail: String,
    },

    /// Refused before running: the plan cannot fit in the memory limit.
    #[error("{what} needs {} but the memory limit is {}; {hint}", format_bytes(*needed), format_bytes(*limit))]
    PlanExceedsMemory {
        /// The operation and block (or the whole plan) that does not fit.
        what: String,
        /// Bytes it needs.
        needed: u64,
        /// The limit.
        limit: u64,
        /// What would fit (a chunk shape, a larger limit).
        hint: String,
    },

    /// While running: a task could not get the memory it needs.
    #[error("memory limit of {} reached: {consumer} needs {} while {} are in use ({in_use}); {hint}", format_bytes(*limit), format_bytes(*requested), format_bytes(*held))]
    ResourcesExhausted {
        /// The task that asked.
        consumer: String,
        /// Bytes it asked for.
        requested: u64,
        /// Bytes in use by other blocks at that moment (`in_use.total()`).
        held: u64,
        /// Those bytes by consumer: outputs kept for their users, running tasks, ...
        in_use: MemoryUse,
        /// The limit.
        limit: u64,
        /// What to do about it.
        hint: String,
    },

    /// Intermediates could not be spilled to disk or read back (a full disk among others).
    /// The spill directory is removed; no output is marked complete.
    #[error("spill store {}: {detail}", path.display())]
    Spill {
        /// The spill directory or file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
        /// The I/O error that caused it.
        #[source]
        source: std::io::Error,
    },

    /// A temporary store could not be created or written: the intermediate store of a
    /// two-pass write (bounded rechunk) or a realigned copy of a source (a full disk among
    /// others). It is removed; no output is marked complete. `detail` says where else to
    /// put it ([`crate::ComputeOptions::tmp_dir`], CLI `--tmp-dir`).
    #[error("temporary store {}: {detail}", path.display())]
    Temporary {
        /// The temporary directory, or the directory it was to be created in.
        path: PathBuf,
        /// What went wrong, and what to do.
        detail: String,
        /// The I/O error that caused it.
        #[source]
        source: std::io::Error,
    },

    /// A worker process of [`crate::Scheduler::Processes`] failed: its task returned an
    /// error (`detail` is that error with its causes), panicked, or the process died
    /// (killed by a signal, the out-of-memory killer among others). Nothing was marked
    /// complete.
    #[error("worker process {worker} (pid {pid}): {detail}")]
    Worker {
        /// The worker's number, from 0.
        worker: usize,
        /// Its process id.
        pid: u32,
        /// What went wrong.
        detail: String,
    },

    /// Another rank of an MPI job ([`crate::Scheduler::Mpi`]) failed: a task it ran
    /// returned an error or panicked (`detail` with its causes), it planned a different
    /// computation, or (seen from the other ranks) rank 0 stopped the computation.
    #[error("MPI rank {rank}: {detail}")]
    Rank {
        /// The rank that failed.
        rank: i32,
        /// What went wrong.
        detail: String,
    },

    /// The computation was cancelled (Ctrl-C in the `brickwork` binary) before it finished.
    #[error("cancelled before the computation finished; nothing was marked complete")]
    Cancelled,

    /// An array's dtype is not the one an operation needs: `compute_as::<f64>()` of a
    /// float32 array, a typed kernel (`map_blocks(|b: ArrayViewD<f64>| ..)`) over int32
    /// blocks. Convert with [`crate::Array::astype`] first.
    #[error(
        "{op}: expected dtype {expected}, the array is {found}{}",
        hint_suffix(hint)
    )]
    DTypeMismatch {
        /// The operation (`compute_as::<float64>`, `map_blocks`, …).
        op: String,
        /// The dtype the operation needs.
        expected: DType,
        /// The array's dtype.
        found: DType,
        /// What to do instead, when there is something.
        hint: String,
    },

    /// An argument has another number of dimensions than the operation needs (a filter
    /// size or a `map_overlap` depth with one value per axis, a 1-d operand, …).
    #[error(
        "{op}: {what} has rank {found}, expected rank {expected}{}",
        hint_suffix(hint)
    )]
    RankMismatch {
        /// The operation.
        op: String,
        /// Which argument (`size`, `depth`, `operand`, …).
        what: String,
        /// The number of dimensions needed.
        expected: usize,
        /// The number given.
        found: usize,
        /// Further detail, when it helps.
        hint: String,
    },

    /// More indices than the array has dimensions (`x.index_numpy(&[0, 0, 0])` of a 2-d
    /// array, `s![0, 0, 0]`).
    #[error(
        "too many indices: {given} given for an array of shape {}",
        fmt_shape(shape)
    )]
    TooManyIndices {
        /// Indices given (not counting new axes).
        given: usize,
        /// The array's shape.
        shape: Vec<usize>,
    },

    /// A path holds no array brickwork can read: not a Zarr array (no `zarr.json` or
    /// `.zarray`), a Zarr node of an unknown kind or format version.
    #[error("{}: unknown store format: {found}", path.display())]
    UnknownStoreFormat {
        /// The path given.
        path: PathBuf,
        /// What is there instead.
        found: String,
    },

    /// A user kernel ([`crate::map_blocks`], [`crate::map_overlap`],
    /// [`crate::Array::map_blocks`], …) returned an error; it is kept as the
    /// [`source`](std::error::Error::source) (downcast it to the kernel's own error type).
    #[error("kernel '{op}' failed on block {}", fmt_shape(block))]
    Kernel {
        /// The kernel's name ([`crate::MapBlocks::new`]; `map_blocks` / `map_overlap` for
        /// the typed methods).
        op: String,
        /// The output block's index in the block grid ([`crate::BlockInfo::block`]).
        block: Vec<usize>,
        /// The kernel's error.
        #[source]
        source: BoxError,
    },

    /// A user kernel panicked: the computation stops with this error (the panic is not
    /// printed by the default panic hook).
    #[error("kernel '{op}' panicked on block {}: {message}", fmt_shape(block))]
    KernelPanicked {
        /// The kernel's name, as for [`Error::Kernel`].
        op: String,
        /// The output block's index in the block grid.
        block: Vec<usize>,
        /// The panic's message, and where it was raised when known.
        message: String,
    },

    /// A bug in brickwork: please report it.
    #[error("internal error (a bug in brickwork, please report it): {detail}")]
    Internal {
        /// What invariant broke.
        detail: String,
        /// The error that revealed it, when another library's or the system's.
        #[source]
        source: Option<BoxError>,
    },
}

/// A boxed error from another library, kept as the source of a brickwork [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with brickwork's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn hint_suffix(hint: &str) -> String {
    if hint.is_empty() {
        String::new()
    } else {
        format!(" ({hint})")
    }
}

fn key_suffix(key: &Option<String>) -> String {
    key.as_ref()
        .map(|k| format!(", key {k:?}"))
        .unwrap_or_default()
}

fn region_unfinished(path: &std::path::Path, region: &str, holder: Option<&str>) -> String {
    match holder {
        Some(holder) => format!(
            "zarr array {} is being written into (region {region}) by another brickwork process: {holder}; read it once that write has finished",
            path.display()
        ),
        None => format!(
            "zarr array {}: a write into its region {region} did not finish, so the region may hold part old, part new values; run that write again to complete it, or allow incomplete arrays (--allow-incomplete) to read it as it is",
            path.display()
        ),
    }
}

fn caret(column: usize) -> String {
    format!("{}^", " ".repeat(column.saturating_sub(1)))
}

impl Error {
    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(detail: impl Into<String>) -> Self {
        Error::InvalidArgument {
            detail: detail.into(),
        }
    }

    /// The operating system's error behind this one, if there is one (for example
    /// `ErrorKind::NotFound` for a missing chunk file, `ErrorKind::StorageFull` for a full
    /// disk): the first [`std::io::Error`] in the chain of sources, including those zarrs
    /// wraps.
    pub fn io_error(&self) -> Option<&std::io::Error> {
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = next {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                return Some(io);
            }
            if let Some(io) = e.downcast_ref::<std::sync::Arc<std::io::Error>>() {
                return Some(io);
            }
            next = e.source();
        }
        None
    }

    /// The same error with `more` added to its hint when it is a
    /// [`Error::PlanExceedsMemory`]; any other error unchanged.
    pub(crate) fn with_memory_hint(self, more: &str) -> Self {
        match self {
            Error::PlanExceedsMemory {
                what,
                needed,
                limit,
                hint,
            } => Error::PlanExceedsMemory {
                what,
                needed,
                limit,
                hint: format!("{hint}{more}"),
            },
            other => other,
        }
    }

    /// Shorthand for [`Error::Internal`].
    pub fn internal(detail: impl Into<String>) -> Self {
        Error::Internal {
            detail: detail.into(),
            source: None,
        }
    }

    /// An internal error revealed by `source` (kept as the
    /// [`source`](std::error::Error::source), not flattened into the message).
    pub fn internal_from(detail: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Internal {
            detail: detail.into(),
            source: Some(source.into()),
        }
    }
}

impl From<crate::units::ParseSizeError> for Error {
    fn from(e: crate::units::ParseSizeError) -> Self {
        Error::invalid(e.to_string())
    }
}

/// A copy of an error that is not `Clone` (a source of another library): its message and
/// chain of sources; an [`std::io::Error`] stays one, with its kind (and OS code), so
/// [`Error::io_error`] still finds it.
fn clone_source(e: &(dyn std::error::Error + 'static)) -> BoxError {
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        return Box::new(clone_io(io));
    }
    if let Some(io) = e.downcast_ref::<Arc<std::io::Error>>() {
        return Box::new(clone_io(io));
    }
    if let Some(err) = e.downcast_ref::<Error>() {
        return Box::new(err.clone());
    }
    Box::new(ClonedSource {
        message: e.to_string(),
        source: e.source().map(clone_source),
    })
}

/// An [`std::io::Error`] with the same OS code, or the same kind and message.
fn clone_io(io: &std::io::Error) -> std::io::Error {
    match io.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::new(io.kind(), io.to_string()),
    }
}

/// What [`clone_source`] keeps of an error that cannot be cloned.
#[derive(Debug)]
struct ClonedSource {
    message: String,
    source: Option<BoxError>,
}

impl std::fmt::Display for ClonedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ClonedSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as _)
    }
}

/// Every variant with the same fields. Sources of other libraries that are not `Clone`
/// (the boxed source of [`Error::Store`] and [`Error::Kernel`]) are copied as their
/// messages and chains: the copy no longer downcasts to the original type, but an
/// [`std::io::Error`] among them stays one, of the same kind.
impl Clone for Error {
    fn clone(&self) -> Self {
        match self {
            Error::InvalidArgument { detail } => Error::InvalidArgument {
                detail: detail.clone(),
            },
            Error::ShapeMismatch { op, lhs, rhs, hint } => Error::ShapeMismatch {
                op: op.clone(),
                lhs: lhs.clone(),
                rhs: rhs.clone(),
                hint: hint.clone(),
            },
            Error::UnsupportedDType { op, dtype, hint } => Error::UnsupportedDType {
                op: op.clone(),
                dtype: *dtype,
                hint: hint.clone(),
            },
            Error::UnknownDType { name } => Error::UnknownDType { name: name.clone() },
            Error::DTypeMismatch {
                op,
                expected,
                found,
                hint,
            } => Error::DTypeMismatch {
                op: op.clone(),
                expected: *expected,
                found: *found,
                hint: hint.clone(),
            },
            Error::RankMismatch {
                op,
                what,
                expected,
                found,
                hint,
            } => Error::RankMismatch {
                op: op.clone(),
                what: what.clone(),
                expected: *expected,
                found: *found,
                hint: hint.clone(),
            },
            Error::IndexOutOfBounds {
                index,
                axis,
                len,
                shape,
            } => Error::IndexOutOfBounds {
                index: *index,
                axis: *axis,
                len: *len,
                shape: shape.clone(),
            },
            Error::TooManyIndices { given, shape } => Error::TooManyIndices {
                given: *given,
                shape: shape.clone(),
            },
            Error::InvalidAxis { axis, ndim, hint } => Error::InvalidAxis {
                axis: *axis,
                ndim: *ndim,
                hint: hint.clone(),
            },
            Error::ZeroStep { axis } => Error::ZeroStep { axis: *axis },
            Error::Parse {
                input,
                column,
                message,
            } => Error::Parse {
                input: input.clone(),
                column: *column,
                message: message.clone(),
            },
            Error::Store {
                path,
                key,
                detail,
                source,
            } => Error::Store {
                path: path.clone(),
                key: key.clone(),
                detail: detail.clone(),
                source: source.as_deref().map(|s| clone_source(s)),
            },
            Error::UnknownStoreFormat { path, found } => Error::UnknownStoreFormat {
                path: path.clone(),
                found: found.clone(),
            },
            Error::IncompleteArray {
                path,
                missing,
                total,
            } => Error::IncompleteArray {
                path: path.clone(),
                missing: *missing,
                total: *total,
            },
            Error::Locked { path, holder } => Error::Locked {
                path: path.clone(),
                holder: holder.clone(),
            },
            Error::SourceChanged { path, detail } => Error::SourceChanged {
                path: path.clone(),
                detail: detail.clone(),
            },
            Error::Io { path, source } => Error::Io {
                path: path.clone(),
                source: clone_io(source),
            },
            Error::Format { file, detail } => Error::Format {
                file: file.clone(),
                detail: detail.clone(),
            },
            Error::PlanExceedsMemory {
                what,
                needed,
                limit,
                hint,
            } => Error::PlanExceedsMemory {
                what: what.clone(),
                needed: *needed,
                limit: *limit,
                hint: hint.clone(),
            },
            Error::ResourcesExhausted {
                consumer,
                requested,
                held,
                in_use,
                limit,
                hint,
            } => Error::ResourcesExhausted {
                consumer: consumer.clone(),
                requested: *requested,
                held: *held,
                in_use: *in_use,
                limit: *limit,
                hint: hint.clone(),
            },
            Error::Spill {
                path,
                detail,
                source,
            } => Error::Spill {
                path: path.clone(),
                detail: detail.clone(),
                source: clone_io(source),
            },
            Error::Temporary {
                path,
                detail,
                source,
            } => Error::Temporary {
                path: path.clone(),
                detail: detail.clone(),
                source: clone_io(source),
            },
            Error::RegionWriteUnfinished {
                path,
                region,
                holder,
            } => Error::RegionWriteUnfinished {
                path: path.clone(),
                region: region.clone(),
                holder: holder.clone(),
            },
            Error::Worker {
                worker,
                pid,
                detail,
            } => Error::Worker {
                worker: *worker,
                pid: *pid,
                detail: detail.clone(),
            },
            Error::Rank { rank, detail } => Error::Rank {
                rank: *rank,
                detail: detail.clone(),
            },
            Error::Cancelled => Error::Cancelled,
            Error::Kernel { op, block, source } => Error::Kernel {
                op: op.clone(),
                block: block.clone(),
                source: clone_source(source.as_ref()),
            },
            Error::KernelPanicked { op, block, message } => Error::KernelPanicked {
                op: op.clone(),
                block: block.clone(),
                message: message.clone(),
            },
            Error::Internal { detail, source } => Error::Internal {
                detail: detail.clone(),
                source: source.as_deref().map(|s| clone_source(s)),
            },
        }
    }
}

/// A user kernel's error raised in another process (a worker process of
/// [`crate::Scheduler::Processes`], an MPI rank): the [`source`](std::error::Error::source)
/// of the [`Error::Kernel`] the caller gets, as the kernel error's message and causes and
/// where it ran. The kernel's own error type stays in that process, so it cannot be
/// downcast to; `op` and `block` are in the [`Error::Kernel`] itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError(String);

impl RemoteError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        RemoteError(message.into())
    }

    /// The message: the kernel error's, its causes', and where it ran.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RemoteError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_keep_their_source_and_clones_keep_its_message() {
        let shape = ndarray::ArrayD::<f64>::from_shape_vec(vec![2, 2], vec![1.0]).unwrap_err();
        let e = Error::internal_from("block assembly", shape);
        let source = std::error::Error::source(&e).expect("a source");
        assert!(source.downcast_ref::<ndarray::ShapeError>().is_some());
        assert!(!e.to_string().contains(&source.to_string()), "{e}");
        let copy = e.clone();
        let copied = std::error::Error::source(&copy).expect("a source");
        assert_eq!(copied.to_string(), source.to_string());
    }
}
