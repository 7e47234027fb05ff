//! Computing into memory or into a caller's sink: one result, or several in one pass.
//!
//! Several arrays are lowered together into one plan with an output per array. Lowering is
//! memoized per expression node, so whatever the arrays share (a Zarr source, a random
//! generator's blocks that feed a reduction, an intermediate reduction) is one stage:
//! shared source chunks are read once and shared intermediates computed once. The priority
//! order then runs, after each task, the other tasks that read its inputs (see
//! [`crate::schedule::RootOrder::Consumers`]), so a chunk both `x.sum()` and `x.mean()`
//! need is used by both before the next chunk is read.

use super::{Copies, prepare_many, session};
use crate::block::Block;
use crate::config::ComputeOptions;
use crate::error::Result;
use crate::expr::ExprRef;
use crate::metrics::Metrics;
use crate::plan::OutputWrite;
use crate::store::{CollectSink, Sink};

/// Computes `roots` into memory in one pass, in order, with the figures of the run; a
/// session titled by `title`. No roots compute nothing.
///
/// # Errors
/// The first error while planning, reading or computing.
pub(crate) fn compute(
    roots: &[ExprRef],
    opts: &ComputeOptions,
    title: impl FnOnce() -> String,
) -> Result<(Vec<Block>, Metrics)> {
    if roots.is_empty() {
        return Ok((Vec::new(), Metrics::default()));
    }
    session(opts, title, |opts| {
        let outputs = vec![(OutputWrite::Memory, None); roots.len()];
        let prepared = prepare_many(roots, opts, outputs, Copies::Make)?;
        let sinks: Vec<CollectSink> = roots
            .iter()
            .map(|e| CollectSink::new(e.grid(), e.dtype()))
            .collect();
        let dyn_sinks: Vec<&dyn Sink> = sinks.iter().map(|s| s as &dyn Sink).collect();
        let metrics = prepared.run(opts, &dyn_sinks)?;
        let blocks = sinks.into_iter().map(CollectSink::into_block).collect();
        Ok((blocks, metrics))
    })
}

/// Computes `e` and hands every output block, as it is produced, to `sink`.
///
/// # Errors
/// The first error while planning, reading, computing or in the sink.
pub(crate) fn compute_into(
    e: &ExprRef,
    sink: &dyn Sink,
    opts: &ComputeOptions,
    title: impl FnOnce() -> String,
) -> Result<Metrics> {
    session(opts, title, |opts| {
        let outputs = vec![(OutputWrite::Memory, None)];
        prepare_many(std::slice::from_ref(e), opts, outputs, Copies::Make)?.run(opts, &[sink])
    })
}
