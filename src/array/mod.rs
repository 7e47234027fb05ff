//! The front door: [`Array`], a lazy handle on a chunked n-dimensional array.
//!
//! Operations build an expression graph and return new handles immediately; nothing is
//! read or computed until [`Array::compute`] or [`Array::to_zarr`]. Names follow ndarray
//! where ndarray has the concept (`t()`, `slice(s![..])`, `sum_axis`, `mean_axis`) and
//! dask/NumPy where it does not (`rechunk`, `to_zarr`, `compute`, `astype`).

mod creation;
mod filter;
mod histogram;
mod index;
mod linalg;
mod many;
mod map;
mod mask;
mod nanreduce;
mod ops;
mod quantile;
mod realign;
mod rechunk;
mod reduce;
mod region;
mod structure;
mod tsqr;
mod vindex;
mod visualize;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

pub use histogram::Bins;
pub use index::NumpyIndex;
pub use many::{compute_many, explain_many_with, to_zarr_many, to_zarr_many_with, visualize_many};
pub use map::{MapBlocks, map_blocks, map_overlap};
pub use reduce::ReduceOptions;
pub use structure::PadMode;
pub use tsqr::Lstsq;
pub(crate) use visualize::stage_dot;

use crate::block::{Block, BlockElement};
use crate::config::ComputeOptions;
use crate::dashboard;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::exec::{self, CollectSink, Metrics, ZarrWriteSink};
use crate::expr::{self, ExprRef};
use crate::grid::{ChunkGrid, fmt_shape};
use crate::plan::{self, OutputWrite, Plan};
use crate::schedule::TaskGraph;
use crate::store::{WriteOptions, ZarrSink};
use crate::units::format_bytes;

/// A lazy chunked n-dimensional array.
///
/// Cloning is cheap (a reference count). Arithmetic operators (`+ - * / % & | ^`, unary `-`
/// and `!`) are infallible to keep expressions readable; when one fails (shapes that do not
/// broadcast, an unsupported dtype) the error is kept and returned by the next fallible
/// method (`compute`, `slice`, `sum_axis`, …). Every named method returns a `Result`.
#[derive(Clone)]
pub struct Array {
    inner: std::result::Result<ExprRef, Arc<Error>>,
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

impl Array {
    pub(crate) fn from_expr(expr: ExprRef) -> Self {
        Array { inner: Ok(expr) }
    }

    pub(crate) fn from_result(r: Result<ExprRef>) -> Self {
        match r {
            Ok(e) => Array::from_expr(e),
            Err(Error::Deferred { source }) => Array { inner: Err(source) },
            Err(e) => Array {
                inner: Err(Arc::new(e)),
            },
        }
    }

    /// The expression node, or the error an operator left behind.
    ///
    /// # Errors
    /// [`Error::Deferred`] when an operator that built this array failed.
    pub fn expr(&self) -> Result<&ExprRef> {
        self.inner
            .as_ref()
            .map_err(|e| Error::Deferred { source: e.clone() })
    }

    /// Returns the deferred error of a failed operator, if any.
    ///
    /// # Errors
    /// The error an operator left behind.
    pub fn check(&self) -> Result<()> {
        self.expr().map(|_| ())
    }

    /// The shape (empty for an array holding an error).
    pub fn shape(&self) -> Vec<usize> {
        self.inner.as_ref().map(|e| e.shape()).unwrap_or_default()
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

    /// The element type (bool for an array holding an error).
    pub fn dtype(&self) -> DType {
        self.inner.as_ref().map_or(DType::Bool, |e| e.dtype())
    }

    /// The chunk grid.
    ///
    /// # Errors
    /// [`Error::Deferred`] for an array holding an error.
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
        let graph = TaskGraph::build(&plan)?;
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
    /// As [`Array::compute`], and [`Error::InvalidArgument`] when `T` is not the array's
    /// dtype (use [`Array::astype`] to convert).
    pub fn compute_as<T: BlockElement>(&self) -> Result<ndarray::ArrayD<T>> {
        if T::DTYPE != self.dtype() {
            self.check()?;
            return Err(Error::invalid(format!(
                "compute_as::<{}> on an array of dtype {}; call astype({}) first",
                T::DTYPE,
                self.dtype(),
                T::DTYPE
            )));
        }
        T::unwrap(self.compute()?)
            .map_err(|_| Error::internal("computed block has the wrong dtype"))
    }

    /// Computes the array into memory with `opts`, returning the result and run figures.
    ///
    /// # Errors
    /// As [`Array::compute`].
    pub fn compute_with(&self, opts: &ComputeOptions) -> Result<(Block, Metrics)> {
        dashboard::scoped(
            opts,
            || self.title(),
            || {
                let e = self.expr()?;
                let (plan, scheduled, copies) = prepare(e, opts, OutputWrite::Memory, true, None)?;
                let sink = CollectSink::new(e.grid(), e.dtype());
                let metrics = exec::execute(&plan, &scheduled, opts, &sink)?;
                Ok((sink.into_block(), copies.then(&metrics)))
            },
        )
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
        dashboard::scoped(
            opts,
            || self.title(),
            || self.write_zarr(path.as_ref(), options, opts, true, None),
        )
    }

    /// [`Array::to_zarr_with`], copying misaligned sources first when `realign` (the copies
    /// themselves are written with `realign` false). `fingerprint` identifies the
    /// computation for a resumed write (default: this array's own; the second pass of a
    /// rechunk through an intermediate store passes the original's).
    pub(crate) fn write_zarr(
        &self,
        path: &Path,
        options: &WriteOptions,
        opts: &ComputeOptions,
        realign: bool,
        fingerprint: Option<&str>,
    ) -> Result<Metrics> {
        let e = self.expr()?;
        refuse_reading_target(e, path)?;
        if options.resume && options.overwrite {
            return Err(Error::invalid(format!(
                "writing {}: resume and overwrite exclude each other (resume keeps what an interrupted write left, overwrite deletes it)",
                path.display()
            )));
        }
        let Some(WriteStart {
            chunks,
            write_shape,
            target,
            fingerprint,
            missing,
            sink: resumed,
        }) = write_start(e, path, options, fingerprint)?
        else {
            return Ok(Metrics::default());
        };
        let (plan, scheduled, copies) =
            prepare(&target, opts, OutputWrite::Encode, realign, missing)?;
        match exec::check_fits(&plan, &scheduled, opts) {
            Ok(()) => {}
            Err(err @ Error::PlanExceedsMemory { .. }) => {
                return self.to_zarr_via_intermediate(
                    path,
                    options,
                    opts,
                    &write_shape,
                    err,
                    &fingerprint,
                );
            }
            Err(other) => return Err(other),
        }
        let sink = match resumed {
            Some(sink) => sink,
            None => ZarrSink::create_for(
                path,
                &e.shape(),
                e.dtype(),
                &chunks,
                options,
                Some(&fingerprint),
            )?,
        };
        let metrics = exec::execute(&plan, &scheduled, opts, &ZarrWriteSink::new(&sink))?;
        sink.finish()?;
        Ok(copies.then(&metrics))
    }

    /// Bounded-memory rechunk (the rechunker/Cubed algorithm): when writing in `chunks`
    /// directly would need too much memory (each output chunk needing many input chunks,
    /// as in a rows → columns rechunk), write first to a temporary Zarr array with
    /// intermediate chunks (the largest both of whose passes fit the limit, see
    /// [`rechunk::choose`]; at worst the elementwise minimum of the array's chunks and
    /// `chunks`), then from that to the target. Each pass reads every chunk once; the
    /// intermediate lives in a temporary directory next to `path`, removed afterwards (also
    /// on error).
    fn to_zarr_via_intermediate(
        &self,
        path: &Path,
        options: &WriteOptions,
        opts: &ComputeOptions,
        chunks: &[usize],
        direct_error: Error,
        fingerprint: &str,
    ) -> Result<Metrics> {
        let e = self.expr()?;
        if !rechunk::two_passes_help(&e.grid().max_chunk_shape(), chunks) {
            return Err(direct_error);
        }
        let inter = rechunk::choose(e, chunks, opts)?;
        let tmp = intermediate_dir(path, ".brickwork-rechunk-")?;
        let inter_path = tmp.path().join("intermediate.zarr");
        let inter_opts = WriteOptions {
            chunks: Some(inter),
            codec: crate::store::Codec::None,
            overwrite: true,
            // Read back at once: keep it in the page cache.
            direct_io: false,
            ..WriteOptions::default()
        };
        // The intermediate is the realignment: neither pass copies its source again.
        let first = self.write_zarr(&inter_path, &inter_opts, opts, false, None)?;
        let second = Array::from_zarr(&inter_path)?.write_zarr(
            path,
            options,
            opts,
            false,
            Some(fingerprint),
        )?;
        Ok(first.then(&second))
    }

    /// Computes the array and hands every output block, as it is produced, to `sink`
    /// (blocks of the array's own grid; see [`Array::rechunk`] to change it).
    ///
    /// # Errors
    /// A deferred operator error, or any error while computing or in the sink.
    pub fn compute_into(&self, sink: &dyn exec::Sink, opts: &ComputeOptions) -> Result<Metrics> {
        dashboard::scoped(
            opts,
            || self.title(),
            || {
                let (plan, scheduled, copies) =
                    prepare(self.expr()?, opts, OutputWrite::Memory, true, None)?;
                Ok(copies.then(&exec::execute(&plan, &scheduled, opts, sink)?))
            },
        )
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
        explain_plan(self.plan()?, format!("{self}\n"), opts)
    }

    /// Writes the task graph as Graphviz DOT to `path`, or as SVG when `path` ends in
    /// `.svg` and Graphviz's `dot` is installed. Graphs of more than 500 tasks are drawn at
    /// the stage level, each stage labelled with its block and task counts.
    ///
    /// # Errors
    /// A deferred operator error, an unwritable path, or `.svg` without `dot`.
    pub fn visualize(&self, path: impl AsRef<Path>) -> Result<()> {
        let plan = self.plan()?;
        let graph = TaskGraph::build(&plan)?;
        visualize::write(&plan, &graph, path.as_ref())
    }
}

/// The text of [`Array::explain_with`] for `plan`, after `header` (what it computes).
fn explain_plan(mut plan: Plan, header: String, opts: &ComputeOptions) -> Result<String> {
    let exec::Scheduled {
        graph, footprint, ..
    } = exec::plan_tasks(&mut plan, opts)?;
    let limit = opts.effective_memory_limit();
    let mut s = header;
    s += &format!(
        "tasks: {} before culling, {} after culling and fusion, in {} stage(s)\n",
        plan.naive_tasks,
        graph.len(),
        plan.stages.len()
    );
    for (i, st) in plan.stages.iter().enumerate() {
        s += &format!(
            "  stage {i}: {} -> shape {} in {} block(s) of up to {}, {} task(s) after culling\n",
            st.name,
            fmt_shape(&st.grid.shape()),
            st.grid.nblocks(),
            format_bytes(st.max_block_bytes() as u64),
            graph.stage_tasks[i]
        );
    }
    s += &format!(
        "memory: predicted peak {} (largest task {}) of a {} limit{}\n",
        format_bytes(footprint.peak),
        format_bytes(footprint.largest_task),
        format_bytes(limit),
        if footprint.peak > limit {
            ": intermediates will be spilled to disk or recomputed"
        } else {
            ""
        }
    );
    if plan.inline_reads {
        s += "  source chunks are read by each task that needs them \
                  (holding them between uses would not fit)\n";
    }
    for (stage, chunks) in realign::misaligned(&plan, limit) {
        s += &format!(
            "  stage {stage} is read against its chunking: it is first copied into \
                 chunks of {} (a temporary store)\n",
            fmt_shape(&chunks)
        );
    }
    Ok(s)
}

/// Refuses to write into a store that the computation reads: overwriting would delete the
/// input before it is read, and the result would silently be made of fill values.
/// Where a write to Zarr starts (for [`Array::to_zarr`] and [`to_zarr_many`]).
pub(super) struct WriteStart {
    /// The output's chunk shape.
    pub(super) chunks: Vec<usize>,
    /// The blocks the sink takes (the shard shape when sharded).
    pub(super) write_shape: Vec<usize>,
    /// The array rechunked to `write_shape`.
    pub(super) target: ExprRef,
    /// The computation's fingerprint, kept with the output while it is written.
    pub(super) fingerprint: String,
    /// For a resumed write, per write block, true where it is still missing.
    pub(super) missing: Option<Vec<bool>>,
    /// For a resumed write, the array opened to write the missing blocks.
    pub(super) sink: Option<ZarrSink>,
}

/// The chunks, write grid, fingerprint (`fingerprint`, or the target's) and, with
/// `options.resume` and something at `path`, what an interrupted write left there; `None`
/// when there is nothing to write (an earlier write completed, or wrote its last chunk and
/// is now finished).
pub(super) fn write_start(
    e: &ExprRef,
    path: &Path,
    options: &WriteOptions,
    fingerprint: Option<&str>,
) -> Result<Option<WriteStart>> {
    let chunks = match &options.chunks {
        Some(c) => c.clone(),
        None => e.grid().max_chunk_shape(),
    };
    let write_shape = options.write_shape(&chunks)?;
    let target = expr::rechunk_node(e, expr::regular_grid(&e.shape(), &write_shape)?)?;
    let fingerprint = fingerprint.map_or_else(|| expr::fingerprint(&target), str::to_owned);
    let (mut missing, mut sink) = (None, None);
    if options.resume && (path.exists() || path.is_symlink()) {
        let r = ZarrSink::resume(
            path,
            &e.shape(),
            e.dtype(),
            &chunks,
            options,
            Some(&fingerprint),
        )?;
        if r.complete {
            return Ok(None);
        }
        if !r.written.contains(&false) {
            // Interrupted after its last chunk, before `finish`.
            r.sink.finish()?;
            return Ok(None);
        }
        missing = Some(r.written.iter().map(|w| !w).collect());
        sink = Some(r.sink);
    }
    Ok(Some(WriteStart {
        chunks,
        write_shape,
        target,
        fingerprint,
        missing,
        sink,
    }))
}

fn refuse_reading_target(e: &ExprRef, target: &Path) -> Result<()> {
    let Ok(target) = target.canonicalize() else {
        return Ok(()); // does not exist yet, so nothing reads it
    };
    for node in expr::Expr::post_order(e) {
        if let expr::ExprKind::Source { source } = node.kind() {
            let src = source
                .path()
                .canonicalize()
                .unwrap_or_else(|_| source.path().to_path_buf());
            if src.starts_with(&target) || target.starts_with(&src) {
                return Err(Error::invalid(format!(
                    "cannot write to {}: the computation reads from {}; write to another path and rename it afterwards",
                    target.display(),
                    src.display()
                )));
            }
        }
    }
    Ok(())
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

/// Lowers `e`, copies sources its consumers read against their chunking into better
/// chunks (see `realign`; this writes to a temporary store), and schedules the plan for
/// the output blocks in `output_blocks` (all when `None`; see [`plan::Output::blocks`]).
/// Returns the plan, its schedule and the figures of the copies.
fn prepare(
    e: &ExprRef,
    opts: &ComputeOptions,
    write: OutputWrite,
    realign: bool,
    output_blocks: Option<Vec<bool>>,
) -> Result<(Plan, exec::Scheduled, Metrics)> {
    prepare_many(
        std::slice::from_ref(e),
        opts,
        vec![(write, output_blocks)],
        realign,
    )
}

/// [`prepare`] for several results: one plan with an output per root, each written as
/// `outputs[i]` says.
fn prepare_many(
    roots: &[ExprRef],
    opts: &ComputeOptions,
    outputs: Vec<(OutputWrite, Option<Vec<bool>>)>,
    realign: bool,
) -> Result<(Plan, exec::Scheduled, Metrics)> {
    let mut plan = plan::lower_many(roots)?;
    for (out, (write, blocks)) in plan.outputs.iter_mut().zip(outputs) {
        out.write = write;
        out.blocks = blocks;
    }
    let copies = if realign {
        realign::realign(&mut plan, opts)?
    } else {
        Metrics::default()
    };
    let scheduled = exec::plan_tasks(&mut plan, opts)?;
    Ok((plan, scheduled, copies))
}

/// A temporary directory beside `path` (same filesystem, so the intermediate store of a
/// two-pass write is not put on a small /tmp), removed when dropped.
pub(super) fn intermediate_dir(path: &Path, prefix: &str) -> Result<tempfile::TempDir> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&parent)
        .map_err(|source| Error::Io {
            path: parent,
            source,
        })
}
