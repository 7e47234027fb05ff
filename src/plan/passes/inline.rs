//! Inline reads: source chunks read by each task that needs them.
//!
//! Source chunks are read by one task each and shared by their users. When holding them
//! between uses would not fit in the memory limit, tasks read the chunks they need
//! themselves, so re-reading replaces holding. The driver tries the two passes of this file
//! in turn when the schedule of the plan as lowered is predicted to exceed the limit:
//!
//! 1. [`inline_late_reads`]: only the users that also need a reduction of the same source
//!    read it again. A chunk of `x` read for `x.mean(axis=0)` and `x.std(axis=0)` is
//!    shared by the two partial sums, which run in the same pass, while `x - mean`, which
//!    can run only once the whole mean is known, reads the chunk again in the next pass:
//!    two reads of `x` instead of three.
//! 2. [`inline_reads`]: every task reads the chunks it needs itself (`x + x.T`, whose two
//!    users of a chunk are far apart in any order).

use std::collections::HashSet;

use crate::plan::{InlineReads, Plan, StageId};

/// The (consumer, read stage) pairs of `plan` whose consumer also needs a reduction (or any
/// other stage) of the same source: consumer `c` reads read stage `r` and another of its
/// inputs depends on `r`.
fn late_pairs(plan: &Plan) -> Vec<(StageId, StageId)> {
    let inputs: Vec<Vec<StageId>> = plan.stages.iter().map(|s| s.op.input_stages()).collect();
    // Stages come after their inputs, so one forward sweep finds every stage's ancestors.
    let mut ancestors: Vec<HashSet<StageId>> = Vec::with_capacity(plan.stages.len());
    for ins in &inputs {
        let mut set = HashSet::new();
        for &d in ins {
            set.insert(d);
            if let Some(a) = ancestors.get(d) {
                set.extend(a.iter().copied());
            }
        }
        ancestors.push(set);
    }
    let mut pairs = Vec::new();
    for (c, ins) in inputs.iter().enumerate() {
        for &r in ins {
            let is_read = plan.stages[r].as_read().is_some() && !plan.is_output(r);
            let late = is_read
                && ins
                    .iter()
                    .any(|&d| d != r && ancestors.get(d).is_some_and(|a| a.contains(&r)));
            if late {
                pairs.push((c, r));
            }
        }
    }
    pairs
}

/// Switches `plan` to inline reads for the users that need a reduction of the source they
/// read (see the module doc); false (and `plan` unchanged) when it already reads some
/// chunks inline or no user is such.
pub fn inline_late_reads(plan: &mut Plan) -> bool {
    if plan.inline_reads != InlineReads::None {
        return false;
    }
    let pairs = late_pairs(plan);
    if pairs.is_empty() {
        return false;
    }
    plan.inline_reads = InlineReads::Late(pairs);
    true
}

/// Switches `plan` to inline reads for every task; false (and `plan` unchanged) when it
/// already reads inline or has no source read that is not itself a result.
pub fn inline_reads(plan: &mut Plan) -> bool {
    let has_reads = plan
        .stages
        .iter()
        .enumerate()
        .any(|(i, s)| !plan.is_output(i) && s.as_read().is_some());
    if plan.inline_reads == InlineReads::All || !has_reads {
        return false;
    }
    plan.inline_reads = InlineReads::All;
    true
}
