//! Describing a computation without running it: `explain` (text) and `visualize` (Graphviz).
//!
//! Both prepare the plan exactly as a run would ([`super::prepare_many`]), with the
//! realigning copies planned but not written ([`Copies::Describe`]), so what they show is
//! the plan that runs: the copies first, each with its own stages and peak, then the
//! computation reading them.

use std::fmt::Write as _;
use std::path::Path;

use super::{Copies, Prepared, prepare_many};
use crate::config::ComputeOptions;
use crate::error::Result;
use crate::expr::ExprRef;
use crate::grid::fmt_shape;
use crate::plan::OutputWrite;
use crate::schedule::dot;
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
    let mut peak = 0;
    for (k, copy) in p.described.iter().enumerate() {
        let _ = writeln!(s, "copy {k}, before the computation: {}", copy.what);
        describe_stages(&mut s, &copy.prepared);
        let f = &copy.prepared.scheduled.footprint;
        let copy_peak = f.peak + copy.prepared.held();
        let _ = writeln!(
            s,
            "  memory: predicted peak {} (largest task {})",
            format_bytes(copy_peak),
            format_bytes(f.largest_task)
        );
        peak = peak.max(copy_peak);
    }
    let f = &p.scheduled.footprint;
    peak = peak.max(f.peak + p.held());
    let _ = writeln!(
        s,
        "tasks: {} before culling, {} after culling and fusion, in {} stage(s)",
        p.plan.naive_tasks,
        p.scheduled.graph.len(),
        p.plan.stages.len()
    );
    describe_stages(&mut s, &p);
    let refused = p
        .described
        .iter()
        .map(|c| c.prepared.check_fits())
        .chain([p.check_fits()])
        .find_map(Result::err);
    let _ = writeln!(
        s,
        "memory: predicted peak {} (largest task {}; the task graph {}) of a {} limit ({}){}",
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
    if p.plan.inline_reads {
        s += "  source chunks are read by each task that needs them \
              (holding them between uses would not fit)\n";
    }
    Ok(s)
}

/// One line per stage of `p`'s plan.
fn describe_stages(s: &mut String, p: &Prepared) {
    for (i, st) in p.plan.stages.iter().enumerate() {
        let _ = writeln!(
            s,
            "  stage {i}: {} -> shape {} in {} block(s) of up to {}, {} task(s) after culling",
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
