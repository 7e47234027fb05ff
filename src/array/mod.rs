//! The front door: [`Array`], a lazy handle on a chunked n-dimensional array.
//!
//! Operations build an expression graph and return new handles immediately; nothing is
//! read or computed until [`Array::compute`] or [`Array::to_zarr`]. Names follow ndarray
//! where ndarray has the concept (`t()`, `slice(s![..])`, `sum_axis`, `mean_axis`) and
//! dask/NumPy where it does not (`rechunk`, `to_zarr`, `compute`, `astype`).

mod axis;
mod creation;
mod dense;
mod external;
mod factor;
mod fft;
mod files;
mod filter;
mod histogram;
mod index;
mod linalg;
mod manipulation;
mod many;
mod map;
mod mask;
mod matrix;
mod nanreduce;
mod norm;
mod ops;
mod quantile;
mod reduce;
mod region;
mod scatter;
mod search;
mod sort;
mod stats;
mod structure;
mod tri;
mod tsqr;
mod unique;
mod vindex;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

pub use axis::AxisArg;
pub use fft::FftNorm;
pub use histogram::Bins;
pub use index::NumpyIndex;
pub use many::{compute_many, explain_many_with, to_zarr_many, to_zarr_many_with, visualize_many};
pub use map::{MapBlocks, map_blocks, map_overlap};
pub use norm::NormOrder;
pub use reduce::ReduceOptions;
pub use structure::PadMode;
pub use tsqr::Lstsq;
pub use unique::{UniqueAll, UniqueCounts, UniqueInverse};

use crate::block::{Block, BlockElement};
use crate::config::ComputeOptions;
use crate::driver;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr::ExprRef;
use crate::grid::{ChunkGrid, fmt_shape};
use crate::metrics::Metrics;
use crate::plan::{self, Plan};
use crate::schedule::{Cancel, TaskGraph};
use crate::store::{Sink, WriteOptions};
use crate::units::format_bytes;

/// A lazy chunked n-dimensional array.
///
/// Cloning is cheap (a reference count). Arithmetic operators (`+ - * / % & | ^`, unary `-`
/// and `!`) are infallible to keep expressions readable; when one fails (shapes that do not
/// broadcast, an unsupported dtype) the error is kept and returned, as the variant it was
/// raised as ([`Error::ShapeMismatch`], [`Error::UnsupportedDType`], …), by the next
/// fallible method (`compute`, `slice`, `sum_axis`, [`Array::check`], [`Array::try_shape`],
/// [`Array::try_dtype`], …). Every named method returns a `Result`.
///
/// ```
/// use brickwork::{Array, DType, Error};
/// let a = Array::zeros(&[3, 4], &[2, 2], DType::F64)?;
/// let b = Array::zeros(&[5], &[5], DType::F64)?;
/// let c = &a + &b; // no error yet
/// match c.compute() {
///     Err(Error::ShapeMismatch { lhs, rhs, .. }) => assert_eq!((lhs, rhs), (vec![3, 4], vec![5])),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), brickwork::Error>(())
/// ```
#[derive(Clone)]
pub struct Array {
    inner: std::result::Result<ExprRef, Arc<Error>>,
}

/// Where [`Array::persist_with`] kept an array, with the figures of its computation.
#[derive(Clone, Debug)]
pub enum Persisted {
    /// In memory.
    Memory {
        /// Its bytes.
        bytes: u64,
        /// The computation's figures.
        metrics: Metrics,
    },
    /// In a temporary Zarr store, removed when the last array reading it is dropped.
    Store {
        /// The store.
        path: std::path::PathBuf,
        /// The computation's and the write's figures.
        metrics: Metrics,
    },
}

/// Task counts of a computation, before and after culling and fusion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskCounts {
    /// One task per block per operation, plus reduction trees: what a dask graph has.
    pub before: u64,
    /// Tasks that actually run, after culling unneeded blocks and fusing elementwise chains.
    pub after: u64,
    /// Number of stages (materialization points) after fusion.
    pub stages: usize,
}

/// An array of `shape` that holds no element (some axis has length 0), of `dtype`: what
/// an operation that selects or repeats nothing gives, as NumPy's empty results.
pub(super) fn empty(shape: &[usize], dtype: DType) -> Result<Array> {
    let chunks: Vec<usize> = shape.iter().map(|&n| n.max(1)).collect();
    Array::zeros(shape, &chunks, dtype)
}

impl Array {
    /// Refuses complex input to `op`, which computes in real arithmetic (rather than
    /// dropping the imaginary parts).
    pub(crate) fn real_only(&self, op: &str) -> Result<()> {
        let dtype = self.dtype();
        if dtype.is_complex() {
            return Err(Error::UnsupportedDType {
                op: op.into(),
                dtype,
                hint: "brickwork computes it for real arrays only (take .real, .imag or abs \
                       first)"
                    .into(),
            });
        }
        Ok(())
    }

    pub(crate) fn from_expr(expr: ExprRef) -> Self {
        Array { inner: Ok(expr) }
    }

    pub(crate) fn from_result(r: Result<ExprRef>) -> Self {
        match r {
            Ok(e) => Array::from_expr(e),
            Err(e) => Array {
                inner: Err(Arc::new(e)),
            },
        }
    }

    /// The expression node, or the error an operator left behind.
    ///
    /// # Errors
    /// The error of the operator that built this array, as it was raised (for example
    /// [`Error::ShapeMismatch`] for `&a + &b` of shapes that do not broadcast).
    pub fn expr(&self) -> Result<&ExprRef> {
        self.inner.as_ref().map_err(|e| Error::clone(e))
    }

    /// Returns the deferred error of a failed operator, if any.
    ///
    /// # Errors
    /// The error an operator left behind.
    pub fn check(&self) -> Result<()> {
        self.expr().map(|_| ())
    }

    /// The shape.
    ///
    /// An array whose operator failed (see [`Array`]) has no shape: this returns `[]`
    /// for it. [`Array::try_shape`] returns its error instead.
    pub fn shape(&self) -> Vec<usize> {
        self.inner.as_ref().map(|e| e.shape()).unwrap_or_default()
    }

    /// The shape, or the error of the operator that built this array.
    ///
    /// ```
    /// use brickwork::{Array, Error};
    /// let a = Array::zeros(&[3, 4], &[2, 2], brickwork::DType::F64)?;
    /// let b = Array::zeros(&[5], &[5], brickwork::DType::F64)?;
    /// assert_eq!(a.try_shape()?, [3, 4]);
    /// assert!(matches!((&a + &b).try_shape(), Err(Error::ShapeMismatch { .. })));
    /// # Ok::<(), brickwork::Error>(())
    /// ```
    ///
    /// # Errors
    /// The error an operator left behind (as [`Array::check`]).
    pub fn try_shape(&self) -> Result<Vec<usize>> {
        Ok(self.expr()?.shape())
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape().len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type.
    ///
    /// An array whose operator failed (see [`Array`]) has no dtype: this returns `bool`
    /// for it. [`Array::try_dtype`] returns its error instead.
    pub fn dtype(&self) -> DType {
        self.inner.as_ref().map_or(DType::Bool, |e| e.dtype())
    }

    /// The element type, or the error of the operator that built this array.
    ///
    /// # Errors
    /// The error an operator left behind (as [`Array::check`]).
    pub fn try_dtype(&self) -> Result<DType> {
        Ok(self.expr()?.dtype())
    }

    /// The chunk grid.
    ///
    /// # Errors
    /// The error an operator left behind.
    pub fn chunks(&self) -> Result<&ChunkGrid> {
        Ok(self.expr()?.grid())
    }

    /// Total bytes of the array's elements.
    pub fn nbytes(&self) -> u64 {
        self.len() as u64 * self.dtype().size() as u64
    }

    /// Lowers the array to a plan (stages after fusion and pushdown).
    ///
    /// # Errors
    /// A deferred operator error.
    pub fn plan(&self) -> Result<Plan> {
        plan::lower(self.expr()?)
    }

    /// Task counts before and after culling and fusion (builds the task graph).
    ///
    /// # Errors
    /// A deferred operator error.
    pub fn task_counts(&self) -> Result<TaskCounts> {
        let plan = self.plan()?;
        let graph = TaskGraph::build(&plan, u64::MAX, Cancel::NEVER)?;
        Ok(TaskCounts {
            before: plan.naive_tasks,
            after: graph.len() as u64,
            stages: plan.stages.len(),
        })
    }

    /// Computes the array into memory with default options (threads, all cores).
    ///
    /// # Errors
    /// A deferred operator error, or any error while reading or computing.
    pub fn compute(&self) -> Result<Block> {
        Ok(self.compute_with(&ComputeOptions::default())?.0)
    }

    /// Computes the array into memory and returns its elements as `ArrayD<T>`.
    ///
    /// # Errors
    /// As [`Array::compute`], and [`Error::DTypeMismatch`] when `T` is not the array's
    /// dtype (use [`Array::astype`] to convert).
    pub fn compute_as<T: BlockElement>(&self) -> Result<ndarray::ArrayD<T>> {
        let dtype = self.try_dtype()?;
        if T::DTYPE != dtype {
            return Err(Error::DTypeMismatch {
                op: format!("compute_as::<{}>", T::DTYPE),
                expected: T::DTYPE,
                found: dtype,
                hint: format!("call astype({}) first", T::DTYPE),
            });
        }
        T::unwrap(self.compute()?)
            .map_err(|_| Error::internal("computed block has the wrong dtype"))
    }

    /// Computes the array into memory with `opts`, returning the result and run figures.
    ///
    /// # Errors
    /// As [`Array::compute`].
    pub fn compute_with(&self, opts: &ComputeOptions) -> Result<(Block, Metrics)> {
        let (mut blocks, metrics) =
            driver::compute(std::slice::from_ref(self.expr()?), opts, || self.title())?;
        Ok((blocks.remove(0), metrics))
    }

    /// [`Array::explain_with`] for writing the array to a new Zarr array at `path` with
    /// `options` ([`Array::to_zarr_with`]): the plan the write runs, the encode buffers of
    /// its chunks counted, and when one pass cannot fit, the two passes through an
    /// intermediate store that the write takes instead, each with its predicted peak; or
    /// the refusal the write would make. Nothing is written.
    ///
    /// # Errors
    /// A deferred operator error, a planning error, chunks or shards that do not fit.
    pub fn explain_zarr_with(
        &self,
        path: impl AsRef<Path>,
        options: &WriteOptions,
        opts: &ComputeOptions,
    ) -> Result<String> {
        driver::explain_write(
            self.expr()?,
            path.as_ref(),
            options,
            format!("{self}\n"),
            opts,
        )
    }

    /// Computes the array once and keeps the result for reuse, like dask's `persist`:
    /// computations built on the returned array read what was kept instead of computing it
    /// again. With default options; see [`Array::persist_with`].
    ///
    /// ```
    /// use brickwork::{Array, Axis, Persisted};
    /// let x = Array::random(&[400, 300], &[100, 100], 1)?;
    /// let mean = x.mean_axis(Axis(0))?.persist()?; // computed once
    /// let anomaly = (&x - &mean).compute()?; // reads the kept mean
    /// let (again, kept) = x.mean_axis(Axis(0))?.persist_with(&Default::default())?;
    /// assert!(matches!(kept, Persisted::Memory { bytes: 2400, .. }));
    /// # let _ = (anomaly, again);
    /// # Ok::<(), brickwork::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Array::compute`], and writing the temporary store.
    pub fn persist(&self) -> Result<Array> {
        Ok(self.persist_with(&ComputeOptions::default())?.0)
    }

    /// [`Array::persist`] with `opts`, saying where the array was kept: in memory when it
    /// takes at most a quarter of the memory limit (it then stays resident beside later
    /// computations, which still get the whole limit), else in a temporary uncompressed Zarr
    /// store in `opts.tmp_dir`, else `opts.spill_dir`, else the system's temporary
    /// directory, removed when the last array reading it is dropped. The observers of
    /// `opts` are told which ([`crate::Observer::notice`]).
    ///
    /// # Errors
    /// As [`Array::persist`].
    pub fn persist_with(&self, opts: &ComputeOptions) -> Result<(Array, Persisted)> {
        let (e, kept, metrics) = driver::persist(self.expr()?, opts, || self.title())?;
        let persisted = match kept {
            driver::Kept::Memory(bytes) => Persisted::Memory { bytes, metrics },
            driver::Kept::Store(path) => Persisted::Store { path, metrics },
        };
        Ok((Array::from_expr(e), persisted))
    }

    /// What a dashboard or report calls a computation of this array.
    pub(crate) fn title(&self) -> String {
        let mut s = self.to_string();
        if s.len() > 300 {
            let end = (0..=300)
                .rev()
                .find(|&i| s.is_char_boundary(i))
                .unwrap_or(0);
            s.truncate(end);
            s.push_str("...");
        }
        s
    }

    /// Writes the array to a new Zarr array at `path` (v3 unless `options.zarr_format` says
    /// 2), chunk by chunk (shard by shard when `options.shards` is set), each written
    /// atomically. Chunks default to the array's own (the largest chunk per axis when
    /// slicing made them irregular); the codec defaults to zstd.
    ///
    /// # Errors
    /// A deferred operator error, an existing path without `options.overwrite`, shards that
    /// do not fit the chunks ([`WriteOptions::write_shape`]), or any error while computing
    /// or writing.
    pub fn to_zarr(&self, path: impl AsRef<Path>, options: &WriteOptions) -> Result<Metrics> {
        self.to_zarr_with(path, options, &ComputeOptions::default())
    }

    /// [`Array::to_zarr`] with explicit compute options.
    ///
    /// # Errors
    /// As [`Array::to_zarr`].
    pub fn to_zarr_with(
        &self,
        path: impl AsRef<Path>,
        options: &WriteOptions,
        opts: &ComputeOptions,
    ) -> Result<Metrics> {
        driver::write(
            &[(self.expr()?.clone(), path.as_ref())],
            options,
            opts,
            || self.title(),
        )
    }

    /// Computes the array and hands every output block, as it is produced, to `sink`
    /// (blocks of the array's own grid; see [`Array::rechunk`] to change it).
    ///
    /// # Errors
    /// A deferred operator error, or any error while computing or in the sink.
    pub fn compute_into(&self, sink: &dyn Sink, opts: &ComputeOptions) -> Result<Metrics> {
        driver::compute_into(self.expr()?, sink, opts, || self.title())
    }

    /// A text description of the plan: stages, their tasks, task counts, and the predicted
    /// peak memory against the default limit.
    ///
    /// # Errors
    /// A deferred operator error.
    pub fn explain(&self) -> Result<String> {
        self.explain_with(&ComputeOptions::default())
    }

    /// [`Array::explain`] against the memory limit of `opts`.
    ///
    /// # Errors
    /// A deferred operator error.
    pub fn explain_with(&self, opts: &ComputeOptions) -> Result<String> {
        driver::explain(
            std::slice::from_ref(self.expr()?),
            format!("{self}\n"),
            opts,
        )
    }

    /// Writes the task graph as Graphviz DOT to `path`, or as SVG when `path` ends in
    /// `.svg` and Graphviz's `dot` is installed. Graphs of more than 500 tasks are drawn at
    /// the stage level, each stage labelled with its block and task counts.
    ///
    /// # Errors
    /// A deferred operator error, an unwritable path, or `.svg` without `dot`.
    pub fn visualize(&self, path: impl AsRef<Path>) -> Result<()> {
        let roots = std::slice::from_ref(self.expr()?);
        driver::visualize(roots, path.as_ref(), &ComputeOptions::default())
    }
}

impl fmt::Display for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = match &self.inner {
            Ok(e) => e,
            Err(err) => return write!(f, "brickwork.Array<error: {err}>"),
        };
        let grid = e.grid();
        let chunk = grid.max_chunk_shape();
        let chunk_bytes = chunk.iter().product::<usize>() as u64 * e.dtype().size() as u64;
        write!(
            f,
            "brickwork.Array<{}, shape={}, dtype={}, chunksize={}, chunks={}, nbytes={} ({} per chunk), tasks={}>",
            e.op_name(),
            fmt_shape(&e.shape()),
            e.dtype(),
            fmt_shape(&chunk),
            grid.nblocks(),
            format_bytes(self.nbytes()),
            format_bytes(chunk_bytes),
            plan::naive_task_count(e)
        )
    }
}

impl fmt::Debug for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
