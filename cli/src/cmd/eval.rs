//! `brickwork eval`: evaluate a NumPy-like program over Zarr arrays.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use brickwork::Array;

use super::{compute_options, open_zarr, write_options};
use crate::cli::{EvalArgs, ExecArgs, usage};
use crate::output::{print_block, print_blocks, print_stats};

/// Results with more elements than this are not printed; use `--output`.
const MAX_PRINTED: usize = 100_000;

fn bind_inputs(specs: &[String], exec: &ExecArgs) -> Result<HashMap<String, Array>> {
    let mut inputs = HashMap::new();
    for spec in specs {
        let (name, path) = spec
            .split_once('=')
            .ok_or_else(|| usage(format!("--input {spec:?}: expected NAME=PATH")))?;
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(usage(format!(
                "--input {spec:?}: {name:?} is not a valid name"
            )));
        }
        inputs.insert(
            name.to_string(),
            open_zarr(std::path::Path::new(path), exec)?,
        );
    }
    Ok(inputs)
}

pub(crate) fn run(args: &EvalArgs) -> Result<()> {
    refuse_file_outputs(&args.output)?;
    let opts = compute_options(&args.exec)?;
    write_options(&args.write, &args.exec.storage, None)?;
    let inputs = bind_inputs(&args.inputs, &args.exec)?;
    super::session(&opts, &args.expr, || evaluate(args, &opts, &inputs))
}

/// `--output` writes Zarr arrays: a path named like a file format (`out.npy`) would become a
/// Zarr directory of that name, so it is refused with the way to get that file.
fn refuse_file_outputs(outputs: &[std::path::PathBuf]) -> Result<()> {
    for out in outputs {
        let ext = out
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        if let Some(ext) =
            ext.filter(|e| ["npy", "csv", "tsv", "txt", "raw", "bin"].contains(&e.as_str()))
        {
            let zarr = out.with_extension("zarr");
            return Err(crate::cli::usage(format!(
                "--output {}: eval writes a Zarr array (a directory), not a .{ext} file; write \
                 --output {} and then `brickwork export {} {}`",
                out.display(),
                zarr.display(),
                zarr.display(),
                out.display()
            )));
        }
    }
    Ok(())
}

/// Evaluates the program and computes, writes or explains its result, or its several
/// results in one pass.
fn evaluate(
    args: &EvalArgs,
    opts: &brickwork::ComputeOptions,
    inputs: &HashMap<String, Array>,
) -> Result<()> {
    let start = Instant::now();
    // What evaluating computes (boolean index counts, index arrays) runs under the same
    // scheduler and memory limit, without the progress bar.
    let eager = brickwork::ComputeOptions {
        progress: None,
        ..opts.clone()
    };
    let results = brickwork::parse::evaluate_all(&args.expr, inputs, &eager)?;
    check_result_count(args, results.len())?;
    for r in &results {
        r.check()?;
    }
    let metrics = match results.as_slice() {
        [result] => evaluate_one(args, opts, result, start)?,
        several => evaluate_several(args, opts, several, start)?,
    };
    if let (true, Some(metrics)) = (args.stats, metrics) {
        let source = opts.resolved_memory_limit().source;
        print_stats(&metrics, &source, start.elapsed().as_secs_f64());
    }
    Ok(())
}

/// "1 result", "2 results".
fn counted(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Refuses --region with several results, and --output given other than once per result
/// (or not at all).
fn check_result_count(args: &EvalArgs, n: usize) -> Result<()> {
    if n > 1 && args.region.is_some() {
        return Err(usage(format!(
            "--region writes one result into an existing array, but the program gives {}",
            counted(n, "result")
        )));
    }
    let k = args.output.len();
    if k > 0 && k != n {
        return Err(usage(format!(
            "the program gives {} but --output is given {}; give --output once per result, in order (or not at all, to print {})",
            counted(n, "result"),
            counted(k, "time"),
            if n == 1 { "it" } else { "them" }
        )));
    }
    Ok(())
}

/// One result: explained, written (into a region) or printed. The figures of the run, or
/// `None` when only explained.
fn evaluate_one(
    args: &EvalArgs,
    opts: &brickwork::ComputeOptions,
    result: &Array,
    start: Instant,
) -> Result<Option<brickwork::Metrics>> {
    if let Some(graph) = &args.graph {
        result
            .visualize(graph)
            .with_context(|| format!("cannot write the graph to {}", graph.display()))?;
    }
    if args.explain {
        // A plain write is explained as the write it is (its encode buffers, two passes).
        let text = match (args.output.first(), &args.region) {
            (Some(path), None) => {
                let w = write_options(&args.write, &args.exec.storage, Some(result.ndim()))?;
                result.explain_zarr_with(path, &w, opts)?
            }
            _ => result.explain_with(opts)?,
        };
        print!("{text}");
        println!("planning took {:.3} s", start.elapsed().as_secs_f64());
        return Ok(None);
    }
    let metrics = match (args.output.first(), &args.region) {
        (Some(path), Some(text)) => {
            // Its shape only: whether it may be written into is the library's to say (an
            // array whose last region write did not finish may, to complete it).
            let any = brickwork::ReadOptions {
                allow_incomplete: true,
                storage: args.exec.storage.options(),
            };
            let target = brickwork::store::ZarrSource::open_with(path, &any)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let region = parse_write_region(text, target.shape())?;
            drop(target);
            result
                .to_zarr_region_with(
                    path,
                    &region,
                    &brickwork::WriteOptions {
                        storage: args.exec.storage.options(),
                        ..brickwork::WriteOptions::default()
                    },
                    opts,
                )
                .with_context(|| format!("cannot write into {}", path.display()))?
        }
        (Some(path), None) => {
            let w = write_options(&args.write, &args.exec.storage, Some(result.ndim()))?;
            result
                .to_zarr_with(path, &w, opts)
                .with_context(|| format!("cannot write {}", path.display()))?
        }
        (None, _) => {
            if result.len() > MAX_PRINTED {
                bail!(
                    "the result has {} elements (shape {}), too many to print; write it with --output PATH",
                    result.len(),
                    brickwork::grid::fmt_shape(&result.shape())
                );
            }
            let (block, metrics) = result.compute_with(opts)?;
            print_block(&block)?;
            metrics
        }
    };
    Ok(Some(metrics))
}

/// Several results, in one pass: their combined plan explained, or all of them written
/// (`--output` once each, checked) or printed. The figures of the run, or `None` when only
/// explained.
fn evaluate_several(
    args: &EvalArgs,
    opts: &brickwork::ComputeOptions,
    results: &[Array],
    start: Instant,
) -> Result<Option<brickwork::Metrics>> {
    let arrays: Vec<&Array> = results.iter().collect();
    let n = arrays.len();
    if let Some(graph) = &args.graph {
        brickwork::visualize_many(&arrays, graph)
            .with_context(|| format!("cannot write the graph to {}", graph.display()))?;
    }
    if args.explain {
        let text = brickwork::explain_many_with(&arrays, opts)?;
        print!("{text}");
        println!("planning took {:.3} s", start.elapsed().as_secs_f64());
        return Ok(None);
    }
    if args.output.is_empty() {
        for (i, r) in results.iter().enumerate() {
            if r.len() > MAX_PRINTED {
                bail!(
                    "result {i} (of {n}, counting from 0) has {} elements (shape {}), too many to print; write the results with --output PATH, once per result",
                    r.len(),
                    brickwork::grid::fmt_shape(&r.shape())
                );
            }
        }
        let (blocks, metrics) = brickwork::compute_many(&arrays, opts)?;
        print_blocks(&blocks)?;
        return Ok(Some(metrics));
    }
    // The same options for every output: --chunks and --shards must fit each one's rank.
    for (i, r) in results.iter().enumerate() {
        write_options(&args.write, &args.exec.storage, Some(r.ndim())).with_context(|| {
            format!(
                "result {i} (of {n}, counting from 0; shape {})",
                brickwork::grid::fmt_shape(&r.shape())
            )
        })?;
    }
    let w = write_options(&args.write, &args.exec.storage, None)?;
    let outputs: Vec<(&Array, &std::path::Path)> = arrays
        .iter()
        .copied()
        .zip(args.output.iter().map(std::path::PathBuf::as_path))
        .collect();
    let metrics = brickwork::to_zarr_many_with(&outputs, &w, opts).with_context(|| {
        let paths: Vec<String> = args
            .output
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        format!("cannot write {}", paths.join(", "))
    })?;
    Ok(Some(metrics))
}

/// Parses `--region` for a write into an array of `shape`: `START:STOP` per axis (empty
/// parts are the axis' ends, negative numbers count from the end, no steps).
fn parse_write_region(text: &str, shape: &[usize]) -> Result<Vec<std::ops::Range<usize>>> {
    let parts: Vec<&str> = if text.trim().is_empty() {
        Vec::new()
    } else {
        text.split(',').collect()
    };
    if parts.len() != shape.len() {
        return Err(usage(format!(
            "--region {text:?} has {} part(s) but the output array has {} axis(es) (shape {}); give START:STOP for every axis",
            parts.len(),
            shape.len(),
            brickwork::grid::fmt_shape(shape)
        )));
    }
    parts
        .iter()
        .zip(shape)
        .map(|(part, &n)| {
            let bad = |why: &str| {
                usage(format!(
                    "--region: {part:?} {why} (expected START:STOP per axis, e.g. 0:100,200:300)"
                ))
            };
            let fields: Vec<&str> = part.split(':').map(str::trim).collect();
            let [start, stop] = fields.as_slice() else {
                return Err(bad(if fields.len() > 2 {
                    "has a step; a region takes no steps"
                } else {
                    "is not a range START:STOP"
                }));
            };
            let resolve = |s: &str, default: usize| -> Result<usize> {
                if s.is_empty() {
                    return Ok(default);
                }
                let v: i64 = s.parse().map_err(|_| bad("is not a range of integers"))?;
                if v < 0 {
                    let from_end = v.unsigned_abs();
                    usize::try_from(from_end)
                        .ok()
                        .and_then(|k| n.checked_sub(k))
                        .ok_or_else(|| {
                            bad(&format!(
                                "reaches before the start of an axis of length {n}"
                            ))
                        })
                } else {
                    usize::try_from(v).map_err(|_| bad("is too large"))
                }
            };
            Ok(resolve(start, 0)?..resolve(stop, n)?)
        })
        .collect()
}
