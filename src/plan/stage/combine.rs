//! The upper levels of a tree reduction: partials combined, the last level finalized.

use super::StageOp;
use super::TaskRun;
use crate::error::{Error, Result};
use crate::expr::ReduceSpec;
use crate::kernel::gather::for_each_chunk;
use crate::kernel::{Datum, reduce};
use crate::plan::bytes::partial_elem_bytes;
use crate::plan::stage::Stage;
use crate::plan::{Plan, StageId};

/// Combines up to `split_every` partials per reduced axis from `input`; the last level
/// also finalizes into the result's blocks.
#[derive(Debug)]
pub struct ReduceCombine {
    /// The previous level.
    pub input: StageId,
    /// The reduction.
    pub spec: ReduceSpec,
    /// True for the last level, which outputs the result blocks (reduced axes dropped
    /// unless `keepdims`).
    pub finalize: bool,
}

impl StageOp for ReduceCombine {
    fn op_name(&self) -> &'static str {
        "combine"
    }

    fn input_stages(&self) -> Vec<StageId> {
        vec![self.input]
    }

    /// The partials of the previous level under this block: up to `split_every` per
    /// reduced axis.
    fn for_each_input(
        &self,
        plan: &Plan,
        _s: StageId,
        block: &[usize],
        f: &mut dyn FnMut(StageId, usize),
    ) {
        let spec = &self.spec;
        let in_grid = &plan.stages[self.input].grid;
        let full = full_rank_index(
            block,
            &spec.axes,
            in_grid.ndim(),
            self.finalize && !spec.keepdims,
        );
        let ranges: Vec<Vec<usize>> = full
            .iter()
            .enumerate()
            .map(|(d, &b)| {
                if spec.axes.contains(&d) {
                    let n = in_grid.axes()[d].nchunks();
                    (b * spec.split_every..((b + 1) * spec.split_every).min(n)).collect()
                } else {
                    vec![b]
                }
            })
            .collect();
        for_each_chunk(&ranges, |c| f(self.input, in_grid.linear(c)));
    }

    /// A partial below the last level, the result's block at the last.
    fn output_bytes(&self, stage: &Stage, block: &[usize]) -> u64 {
        let elems = stage.grid.block_shape(block).iter().product::<usize>() as u64;
        if self.finalize {
            elems * stage.dtype.size() as u64
        } else {
            elems * partial_elem_bytes(self.spec.op)
        }
    }

    /// A copy of the accumulator.
    fn scratch_bytes(&self, stage: &Stage, block: &[usize]) -> u64 {
        self.output_bytes(stage, block)
    }

    fn run(&self, task: &mut TaskRun<'_>) -> Result<Datum> {
        let mut parts = task.inputs.values().map(|v| match v {
            Datum::Partial(p) => Ok(p),
            Datum::Block(_) | Datum::Mapped(_) => {
                Err(Error::internal("expected a partial, got a block"))
            }
        });
        let first = parts
            .next()
            .ok_or_else(|| Error::internal("combine task without inputs"))??;
        let mut acc = first.clone();
        for p in parts {
            acc = reduce::combine(&self.spec, acc, p?)?;
        }
        Ok(if self.finalize {
            Datum::Block(reduce::finalize(&self.spec, acc, task.stage().dtype))
        } else {
            Datum::Partial(acc)
        })
    }
}

/// A combine task's block index with the reduced axes put back (as 0) when they were
/// dropped from its grid.
fn full_rank_index(block: &[usize], axes: &[usize], ndim: usize, dropped: bool) -> Vec<usize> {
    if !dropped {
        return block.to_vec();
    }
    let mut it = block.iter();
    (0..ndim)
        .map(|d| {
            if axes.contains(&d) {
                0
            } else {
                *it.next().unwrap_or(&0)
            }
        })
        .collect()
}
