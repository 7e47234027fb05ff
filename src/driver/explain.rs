//! Describing a computation without running it: `explain` (text) and `visualize` (Graphviz).
//!
//! Both prepare the plan exactly as a run would ([`super::prepare_many`]), with the
//! realigning copies planned but not written ([`Copies::Describe`]), so what they show is
//! the plan that runs: the copies first, each with its own stages and peak, then the
//! computation reading them.

use std::fmt::Write as _;
use std::path::Path;

use super::{Copies, Prepared, prepare_many, rechunk, write};
use crate::config::{ComputeOptions, MemoryLimit};
use crate::error::{Error, Result};
use crate::expr::ExprRef;
use crate::grid::fmt_shape;
use crate::plan::{InlineReads, OutputWrite};
use crate::schedule::dot;
use crate::store::WriteOptions;
use crate::units::format_bytes;

/// The plan of `roots` computed into memory, as a run would prepare it.
fn prepared(roots: &[ExprRef], opts: &ComputeOptions) -> Result<Prepared> {
    let outputs = vec![(OutputWrite::Memory, None); roots.len()];
    prepare_many(roots, opts, outputs, Copies::Describe)
}

/// A text description of the plan that computing `roots` runs, after `header` (what it
/// computes): the realigning copies, the stages, their tasks, and the predicted peak memory
/// against the limit of `opts`, with whether the run would be refused.
///
/// # Errors
/// A planning error.
pub(crate) fn explain(roots: &[ExprRef], header: String, opts: &ComputeOptions) -> Result<String> {
    let limit = opts.resolved_memory_limit();
    let opts = opts.clone().with_memory_limit(limit.bytes).resolved();
    let p = prepared(roots, &opts)?;
    let mut s = header;
    describe(&mut s, &p, &limit, "");
    Ok(s)
}

/// [`explain`] for writing `e` to a new Zarr array at `path` with `options`: the plan the
/// write runs, its encode buffers included, and, when one pass cannot fit, the two passes
/// through an intermediate store that the write takes instead (or the refusal it makes).
///
/// # Errors
/// A planning error; chunks or shards that do not fit the array.
pub(crate) fn explain_write(
    e: &ExprRef,
    path: &Path,
    options: &WriteOptions,
    header: String,
    opts: &ComputeOptions,
) -> Result<String> {
    let limit = opts.resolved_memory_limit();
    let opts = opts.clone().with_memory_limit(limit.bytes).resolved();
    let (chunks, write_shape, target) = write::write_target(e, options)?;
    let mut s = header;
    let _ = writeln!(
        s,
        "written to {} in chunks {}{}",
        path.display(),
        fmt_shape(&chunks),
        match &options.shards {
            Some(_) => format!(" (shards {})", fmt_shape(&write_shape)),
            None => String::new(),
        }
    );
    let remote = crate::store::is_remote(path);
    let write = write::encode_write(options, e.dtype(), &write_shape, remote);
    let p = prepare_many(
        std::slice::from_ref(&target),
        &opts,
        vec![(write, None)],
        Copies::Describe,
    )?;
    let one_pass = write::without_rechunk(e);
    let two = match p.check_fits() {
        Err(err @ Error::PlanExceedsMemory { .. })
            if rechunk::two_passes_help(&one_pass.grid().max_chunk_shape(), &write_shape) =>
        {
            Some(err)
        }
        _ => None,
    };
    let Some(err) = two else {
        describe(&mut s, &p, &limit, "");
        return Ok(s);
    };
    let inter = rechunk::choose(one_pass, &write_shape, options, remote, &opts)?;
    let _ = writeln!(
        s,
        "in one pass the write would be refused ({err}); it goes through an intermediate \
         store in chunks {} instead (two passes, each reading every chunk once):",
        fmt_shape(&inter)
    );
    let pass2 = rechunk::Pass2 {
        grid: crate::expr::regular_grid(&e.shape(), &write_shape)?,
        write: write::encode_write(options, e.dtype(), &write_shape, remote),
    };
    for (k, (node, write)) in rechunk::passes(one_pass, &inter, &pass2)?
        .into_iter()
        .enumerate()
    {
        let _ = writeln!(
            s,
            "pass {}: {}",
            k + 1,
            if k == 0 {
                "into the intermediate store"
            } else {
                "from the intermediate store into the output"
            }
        );
        let copies = if k == 0 {
            Copies::Describe
        } else {
            Copies::Skip
        };
        let p = prepare_many(
            std::slice::from_ref(&node),
            &opts,
            vec![(write, None)],
            copies,
        )?;
        describe(&mut s, &p, &limit, "  ");
    }
    Ok(s)
}

/// Appends the description of the run `p` prepares under `limit` to `s`, each line after
/// `indent`: its realigning copies, tasks, stages and predicted peak against the limit,
/// with whether the run would be refused.
fn describe(s: &mut String, p: &Prepared, limit: &MemoryLimit, indent: &str) {
    let mut peak = 0;
    for (k, copy) in p.described.iter().enumerate() {
        let _ = writeln!(s, "{indent}copy {k}, before the computation: {}", copy.what);
        describe_stages(s, &copy.prepared, indent);
        let f = &copy.prepared.scheduled.footprint;
        let copy_peak = f.peak + copy.prepared.held();
        let _ = writeln!(
            s,
            "{indent}  memory: predicted peak {} (largest task {})",
            format_bytes(copy_peak),
            format_bytes(f.largest_task)
        );
        peak = peak.max(copy_peak);
    }
    let f = &p.scheduled.footprint;
    peak = peak.max(f.peak + p.held());
    let _ = writeln!(
        s,
        "{indent}tasks: {} before culling, {} after culling and fusion, in {} stage(s)",
        p.plan.naive_tasks,
        p.scheduled.graph.len(),
        p.plan.stages.len()
    );
    describe_stages(s, p, indent);
    let refused = p
        .described
        .iter()
        .map(|c| c.prepared.check_fits())
        .chain([p.check_fits()])
        .find_map(Result::err);
    let _ = writeln!(
        s,
        "{indent}memory: predicted peak {} (largest task {}; the task graph {}) of a {} limit ({}){}",
        format_bytes(peak),
        format_bytes(f.largest_task),
        format_bytes(p.held()),
        format_bytes(limit.bytes),
        limit.source,
        match &refused {
            Some(e) => format!(": the run is refused: {e}"),
            None if peak > limit.bytes => {
                ": intermediates will be spilled to disk or recomputed".to_string()
            }
            None => String::new(),
        }
    );
    match &p.plan.inline_reads {
        InlineReads::None => {}
        InlineReads::Late(_) => {
            let _ = writeln!(
                s,
                "{indent}  source chunks are read again by the tasks that also need a reduction \
                 of them (holding them until then would not fit); their other users share one read"
            );
        }
        InlineReads::All => {
            let _ = writeln!(
                s,
                "{indent}  source chunks are read by each task that needs them \
                 (holding them between uses would not fit)"
            );
        }
    }
}

/// One line per stage of `p`'s plan.
fn describe_stages(s: &mut String, p: &Prepared, indent: &str) {
    for (i, st) in p.plan.stages.iter().enumerate() {
        let _ = writeln!(
            s,
            "{indent}  stage {i}: {} -> shape {} in {} block(s) of up to {}, {} task(s) after culling",
            st.name,
            fmt_shape(&st.grid.shape()),
            st.grid.nblocks(),
            format_bytes(st.max_block_bytes() as u64),
            p.scheduled.graph.stage_tasks[i]
        );
    }
}

/// Writes the task graph of the plan that computing `roots` under `opts` runs as Graphviz
/// DOT to `path`, or as SVG when `path` ends in `.svg` (see [`dot::write`]).
///
/// # Errors
/// A planning error, an unwritable path, or `.svg` without Graphviz's `dot`.
pub(crate) fn visualize(roots: &[ExprRef], path: &Path, opts: &ComputeOptions) -> Result<()> {
    let p = prepared(roots, &opts.resolved())?;
    dot::write(&p.plan, &p.scheduled.graph, path)
}
