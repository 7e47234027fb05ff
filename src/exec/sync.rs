//! The synchronous scheduler's loop: every task in schedule order on the calling thread.

use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::schedule::TaskId;

use super::residency::{Decision, Residency};
use super::task::Ctx;

pub(super) fn run_sync(ctx: &Ctx<'_>, mut residency: Residency<'_>) -> Result<Metrics> {
    let mut seq: Vec<TaskId> = vec![0; ctx.graph.len()];
    for (t, &p) in ctx.position.iter().enumerate() {
        seq[p as usize] = t as TaskId;
    }
    for t in seq {
        ctx.check_cancel()?;
        let mut local = Metrics::default();
        let mut adm = loop {
            match residency.try_admit(t)? {
                Decision::Run(adm) => break adm,
                Decision::Spill(victims) => {
                    residency.spills_written(ctx.write_spills(&victims, &mut local))?;
                }
                Decision::Wait => {
                    return Err(Error::internal("the synchronous scheduler has to wait"));
                }
            }
        };
        ctx.admitted(&residency.usage(), &residency.metrics);
        let (restored, value) = ctx.run(&mut adm, &mut local, 0)?;
        residency.finish(adm, restored, value);
        residency.metrics.absorb(&local);
        ctx.report(&residency.metrics, &residency.usage());
    }
    Ok(residency.metrics)
}
