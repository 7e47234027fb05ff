//! `brickwork eval`: evaluate a NumPy-like program over Zarr arrays.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use brickwork::Array;

use super::{compute_options, open_zarr, write_options};
use crate::cli::{EvalArgs, ExecArgs, usage};
use crate::output::{print_block, print_stats};

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
    let opts = compute_options(&args.exec)?;
    write_options(&args.write, None)?;
    let inputs = bind_inputs(&args.inputs, &args.exec)?;
    let start = Instant::now();
    let result = brickwork::parse::evaluate(&args.expr, &inputs)?;
    result.check()?;
    if let Some(graph) = &args.graph {
        result
            .visualize(graph)
            .with_context(|| format!("cannot write the graph to {}", graph.display()))?;
    }
    if args.explain {
        let text = result.explain_with(&opts)?;
        print!("{text}");
        println!("planning took {:.3} s", start.elapsed().as_secs_f64());
        return Ok(());
    }
    let metrics = match &args.output {
        Some(path) => {
            let w = write_options(&args.write, Some(result.ndim()))?;
            result
                .to_zarr_with(path, &w, &opts)
                .with_context(|| format!("cannot write {}", path.display()))?
        }
        None => {
            if result.len() > MAX_PRINTED {
                bail!(
                    "the result has {} elements (shape {}), too many to print; write it with --output PATH",
                    result.len(),
                    brickwork::grid::fmt_shape(&result.shape())
                );
            }
            let (block, metrics) = result.compute_with(&opts)?;
            print_block(&block)?;
            metrics
        }
    };
    if args.stats {
        print_stats(&metrics, start.elapsed().as_secs_f64());
    }
    Ok(())
}
