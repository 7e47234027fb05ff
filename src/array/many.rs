//! Several results in one pass: [`compute_many`] and [`to_zarr_many`], dask's
//! `dask.compute(a, b)` and `da.store([a, b], [ta, tb])`.
//!
//! The arrays are lowered together into one plan with an output per array. Lowering is
//! memoized per expression node, so whatever the arrays share (a Zarr source, a random
//! generator's blocks that feed a reduction, an intermediate reduction) is one stage:
//! shared source chunks are read once and shared intermediates computed once. The
//! priority order then runs, after each task, the other tasks that read its inputs (see
//! [`crate::schedule::RootOrder::Consumers`]), so a chunk both `x.sum()` and `x.mean()` need
//! is used by both before the next chunk is read.

use std::path::{Path, PathBuf};

use super::Array;
use crate::block::Block;
use crate::config::ComputeOptions;
use crate::driver::{self, WriteStart, refuse_reading_target, write_start};
use crate::error::{Error, Result};
use crate::exec::Metrics;
use crate::expr::ExprRef;
use crate::plan::{OutputWrite, Plan};
use crate::schedule::TaskGraph;
use crate::store::{CollectSink, Sink, WriteOptions, ZarrSink, ZarrWriteSink};

/// Computes several arrays in one pass and returns their values, in order, with the figures
/// of the run. What the arrays share is read or computed once: `compute_many(&[&x.sum()?,
/// &x.mean()?], ..)` over a Zarr array `x` reads every chunk of `x` once, where computing
/// them one after the other reads it twice (dask's `dask.compute(a, b)`).
///
/// The same array may appear more than once (each gets its own copy of the values). An
/// empty list computes nothing.
///
/// # Errors
/// A deferred operator error of any of the arrays, or any error while reading or computing
/// (the first one; nothing is returned then).
pub fn compute_many(arrays: &[&Array], opts: &ComputeOptions) -> Result<(Vec<Block>, Metrics)> {
    crate::dashboard::scoped(
        opts,
        || titles(arrays.iter().copied()),
        || compute_many_run(arrays, opts),
    )
}

/// A text description of the one plan [`compute_many`] runs for `arrays`, as
/// [`Array::explain_with`] gives for one: the arrays, one line each, then the stages (what
/// the arrays share is one stage), their tasks, and the predicted peak memory against the
/// limit of `opts`.
///
/// # Errors
/// An empty list, or a deferred operator error of any of the arrays.
pub fn explain_many_with(arrays: &[&Array], opts: &ComputeOptions) -> Result<String> {
    let plan = plan_many(arrays, "explain_many_with")?;
    let mut header = format!("{} outputs, computed in one pass:\n", arrays.len());
    for (i, a) in arrays.iter().enumerate() {
        header += &format!("  output {i}: {a}\n");
    }
    super::explain_plan(plan, header, opts)
}

/// Writes the task graph of the one plan [`compute_many`] runs for `arrays` as Graphviz DOT
/// to `path`, or as SVG when `path` ends in `.svg`, as [`Array::visualize`] does for one.
///
/// # Errors
/// An empty list, a deferred operator error of any of the arrays, an unwritable path, or
/// `.svg` without Graphviz's `dot`.
pub fn visualize_many(arrays: &[&Array], path: impl AsRef<Path>) -> Result<()> {
    let plan = plan_many(arrays, "visualize_many")?;
    let graph = TaskGraph::build(&plan)?;
    super::visualize::write(&plan, &graph, path.as_ref())
}

/// The plan of several arrays, lowered together; `what` names the caller in errors.
fn plan_many(arrays: &[&Array], what: &str) -> Result<Plan> {
    if arrays.is_empty() {
        return Err(Error::invalid(format!(
            "{what}: no arrays given; pass at least one"
        )));
    }
    let roots = arrays
        .iter()
        .map(|a| a.expr().cloned())
        .collect::<Result<Vec<ExprRef>>>()?;
    crate::plan::lower_many(&roots)
}

/// What a dashboard or report calls a computation of several arrays.
fn titles<'a>(arrays: impl Iterator<Item = &'a Array>) -> String {
    arrays.map(Array::title).collect::<Vec<_>>().join("; ")
}

fn compute_many_run(arrays: &[&Array], opts: &ComputeOptions) -> Result<(Vec<Block>, Metrics)> {
    let roots = arrays
        .iter()
        .map(|a| a.expr().cloned())
        .collect::<Result<Vec<ExprRef>>>()?;
    if roots.is_empty() {
        return Ok((Vec::new(), Metrics::default()));
    }
    let outputs = vec![(OutputWrite::Memory, None); roots.len()];
    let prepared = driver::prepare_many(&roots, opts, outputs, true)?;
    let sinks: Vec<CollectSink> = roots
        .iter()
        .map(|e| CollectSink::new(e.grid(), e.dtype()))
        .collect();
    let dyn_sinks: Vec<&dyn Sink> = sinks.iter().map(|s| s as &dyn Sink).collect();
    let metrics = prepared.execute(opts, &dyn_sinks)?;
    let blocks = sinks.into_iter().map(CollectSink::into_block).collect();
    Ok((blocks, metrics))
}

/// Writes several arrays to new Zarr arrays in one pass, `outputs[i].0` to the path
/// `outputs[i].1`, each as [`Array::to_zarr`] would write it alone (chunks, codec, format,
/// shards and the other settings of `options` apply to every one of them). What the arrays
/// share is read or computed once, as in [`compute_many`]. With the default compute options.
///
/// # Errors
/// As [`to_zarr_many_with`].
pub fn to_zarr_many<P: AsRef<Path>>(
    outputs: &[(&Array, P)],
    options: &WriteOptions,
) -> Result<Metrics> {
    to_zarr_many_with(outputs, options, &ComputeOptions::default())
}

/// [`to_zarr_many`] with explicit compute options.
///
/// With [`WriteOptions::resume`], each output resumes on its own (an output already
/// complete is left as it is). When the arrays together cannot be written within the
/// memory limit in one pass (a task that does not fit on its own, as in a rows → columns
/// rechunk), each is written on its own, as [`Array::to_zarr_with`] does (through an
/// intermediate store where it must): the results are the same, shared inputs are then
/// read once per array.
///
/// # Errors
/// A deferred operator error; the same path given twice; an output path that one of the
/// computations reads; an existing path without `options.overwrite` (or
/// `options.resume`); options that do not fit an array ([`WriteOptions::write_shape`]); or
/// any error while computing or writing (the outputs written so far stay marked incomplete).
pub fn to_zarr_many_with<P: AsRef<Path>>(
    outputs: &[(&Array, P)],
    options: &WriteOptions,
    opts: &ComputeOptions,
) -> Result<Metrics> {
    crate::dashboard::scoped(
        opts,
        || titles(outputs.iter().map(|(a, _)| *a)),
        || to_zarr_many_run(outputs, options, opts),
    )
}

fn to_zarr_many_run<P: AsRef<Path>>(
    outputs: &[(&Array, P)],
    options: &WriteOptions,
    opts: &ComputeOptions,
) -> Result<Metrics> {
    driver::refuse_ranks(opts, "to_zarr_many")?;
    let exprs = outputs
        .iter()
        .map(|(a, _)| a.expr().cloned())
        .collect::<Result<Vec<ExprRef>>>()?;
    let paths: Vec<&Path> = outputs.iter().map(|(_, p)| p.as_ref()).collect();
    check_distinct(&paths)?;
    for path in &paths {
        for e in &exprs {
            refuse_reading_target(e, path)?;
        }
    }
    if options.resume && options.overwrite {
        return Err(Error::invalid(
            "writing several arrays: resume and overwrite exclude each other (resume keeps what an interrupted write left, overwrite deletes it)",
        ));
    }
    // Per output: the node to write (the array on its write grid), its chunks, its
    // fingerprint, and what a resumed write found.
    let mut pending = Vec::new();
    for (e, path) in exprs.iter().zip(&paths) {
        let Some(WriteStart {
            chunks,
            target,
            fingerprint,
            missing,
            sink,
            ..
        }) = write_start(e, path, options, None)?
        else {
            continue;
        };
        pending.push(Pending {
            expr: e.clone(),
            path: path.to_path_buf(),
            chunks,
            target,
            fingerprint,
            missing,
            sink,
        });
    }
    if pending.is_empty() {
        return Ok(Metrics::default());
    }
    let roots: Vec<ExprRef> = pending.iter().map(|p| p.target.clone()).collect();
    let writes = pending
        .iter_mut()
        .map(|p| (OutputWrite::Encode, p.missing.take()))
        .collect();
    let prepared = driver::prepare_many(&roots, opts, writes, true)?;
    match prepared.check_fits(opts) {
        Ok(()) => {}
        Err(Error::PlanExceedsMemory { .. }) => {
            // One at a time, each with its own fallback (an intermediate store).
            let mut metrics = prepared.copies;
            for p in pending {
                drop(p.sink);
                let one = driver::write_zarr(&p.expr, &p.path, options, opts, true, None)?;
                metrics = metrics.then(&one);
            }
            return Ok(metrics);
        }
        Err(other) => return Err(other),
    }
    let mut sinks = Vec::with_capacity(pending.len());
    for p in &mut pending {
        let sink = match p.sink.take() {
            Some(s) => s,
            None => ZarrSink::create_for(
                &p.path,
                &p.expr.shape(),
                p.expr.dtype(),
                &p.chunks,
                options,
                Some(&p.fingerprint),
            )?,
        };
        sinks.push(sink);
    }
    let writers: Vec<ZarrWriteSink<'_>> = sinks.iter().map(ZarrWriteSink::new).collect();
    let dyn_sinks: Vec<&dyn Sink> = writers.iter().map(|s| s as &dyn Sink).collect();
    let metrics = prepared.execute(opts, &dyn_sinks)?;
    drop(dyn_sinks);
    drop(writers);
    for sink in sinks {
        sink.finish()?;
    }
    Ok(metrics)
}

/// One array of [`to_zarr_many_with`] still to write.
struct Pending {
    expr: ExprRef,
    path: PathBuf,
    chunks: Vec<usize>,
    target: ExprRef,
    fingerprint: String,
    missing: Option<Vec<bool>>,
    sink: Option<ZarrSink>,
}

/// Refuses the same output path twice (as written, or the same directory by another name).
fn check_distinct(paths: &[&Path]) -> Result<()> {
    let key = |p: &Path| {
        p.canonicalize()
            .or_else(|_| std::path::absolute(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let keys: Vec<PathBuf> = paths.iter().map(|p| key(p)).collect();
    for (i, k) in keys.iter().enumerate() {
        if let Some(j) = keys[..i].iter().position(|o| o == k) {
            return Err(Error::invalid(format!(
                "writing several arrays: outputs {j} and {i} are both {}; give each array its own path",
                paths[i].display()
            )));
        }
    }
    Ok(())
}
