//! Inline reads: source chunks read by each task that needs them.
//!
//! Source chunks are read by one task each and shared by their users. When holding them
//! between uses would not fit in the memory limit (a chunk read for `x.mean(axis=0)` and
//! used again by `x - mean`), tasks read the chunks they need themselves, so re-reading
//! replaces holding. The driver applies this pass when the schedule of the plan as lowered
//! is predicted to exceed the limit.

use crate::plan::Plan;

/// Switches `plan` to inline reads; false (and `plan` unchanged) when it already reads
/// inline or has no source read that is not itself a result.
pub fn inline_reads(plan: &mut Plan) -> bool {
    let has_reads = plan
        .stages
        .iter()
        .enumerate()
        .any(|(i, s)| !plan.is_output(i) && s.as_read().is_some());
    if plan.inline_reads || !has_reads {
        return false;
    }
    plan.inline_reads = true;
    true
}
