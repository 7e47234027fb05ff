//! Several results in one pass: [`compute_many`] and [`to_zarr_many`], dask's
//! `dask.compute(a, b)` and `da.store([a, b], [ta, tb])`. Each is one call into the driver,
//! which lowers the arrays together into one plan (see `crate::driver`): what they share is
//! read or computed once.

use std::path::Path;

use super::Array;
use crate::block::Block;
use crate::config::ComputeOptions;
use crate::driver;
use crate::error::{Error, Result};
use crate::expr::ExprRef;
use crate::metrics::Metrics;
use crate::store::WriteOptions;

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
    driver::compute(&roots(arrays)?, opts, || titles(arrays.iter().copied()))
}

/// A text description of the one plan [`compute_many`] runs for `arrays`, as
/// [`Array::explain_with`] gives for one: the arrays, one line each, then the stages (what
/// the arrays share is one stage), their tasks, and the predicted peak memory against the
/// limit of `opts`.
///
/// # Errors
/// An empty list, or a deferred operator error of any of the arrays.
pub fn explain_many_with(arrays: &[&Array], opts: &ComputeOptions) -> Result<String> {
    let roots = some_roots(arrays, "explain_many_with")?;
    let mut header = format!("{} outputs, computed in one pass:\n", arrays.len());
    for (i, a) in arrays.iter().enumerate() {
        header += &format!("  output {i}: {a}\n");
    }
    driver::explain(&roots, header, opts)
}

/// Writes the task graph of the one plan [`compute_many`] runs for `arrays` as Graphviz DOT
/// to `path`, or as SVG when `path` ends in `.svg`, as [`Array::visualize`] does for one.
///
/// # Errors
/// An empty list, a deferred operator error of any of the arrays, an unwritable path, or
/// `.svg` without Graphviz's `dot`.
pub fn visualize_many(arrays: &[&Array], path: impl AsRef<Path>) -> Result<()> {
    let roots = some_roots(arrays, "visualize_many")?;
    driver::visualize(&roots, path.as_ref(), &ComputeOptions::default())
}

/// The expressions of `arrays`.
fn roots(arrays: &[&Array]) -> Result<Vec<ExprRef>> {
    arrays.iter().map(|a| a.expr().cloned()).collect()
}

/// [`roots`] of at least one array; `what` names the caller in errors.
fn some_roots(arrays: &[&Array], what: &str) -> Result<Vec<ExprRef>> {
    if arrays.is_empty() {
        return Err(Error::invalid(format!(
            "{what}: no arrays given; pass at least one"
        )));
    }
    roots(arrays)
}

/// What a dashboard or report calls a computation of several arrays.
fn titles<'a>(arrays: impl Iterator<Item = &'a Array>) -> String {
    arrays.map(Array::title).collect::<Vec<_>>().join("; ")
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
    let targets = outputs
        .iter()
        .map(|(a, p)| Ok((a.expr()?.clone(), p.as_ref())))
        .collect::<Result<Vec<_>>>()?;
    driver::write(&targets, options, opts, || {
        titles(outputs.iter().map(|(a, _)| *a))
    })
}
