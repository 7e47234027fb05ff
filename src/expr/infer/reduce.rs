//! Reductions and scans along axes.

use super::elementwise::cast;
use crate::error::{Error, Result};
use crate::expr::kind::{ExprKind, ReduceSpec, ScanOp};
use crate::expr::{Expr, ExprRef};
use crate::grid::{AxisChunks, ChunkGrid};

/// A reduction; `spec.axes` must already be normalized.
pub(crate) fn reduce(input: &ExprRef, spec: ReduceSpec) -> Result<ExprRef> {
    if spec.split_every < 2 {
        return Err(Error::invalid(format!(
            "split_every must be at least 2, got {}",
            spec.split_every
        )));
    }
    let dtype = spec.op.result_dtype(input.dtype());
    let mut out_axes = Vec::new();
    for (d, ax) in input.grid().axes().iter().enumerate() {
        if !spec.axes.contains(&d) {
            out_axes.push(ax.clone());
        } else if spec.keepdims {
            out_axes.push(AxisChunks::regular(1, 1));
        }
    }
    Ok(Expr::new(
        ExprKind::Reduce {
            input: input.clone(),
            spec,
        },
        dtype,
        ChunkGrid::from_axes(out_axes),
    ))
}

/// A cumulative sum or product along `axis` (already normalized); the operand is cast to
/// the result dtype.
pub(crate) fn scan(input: &ExprRef, op: ScanOp, axis: usize) -> Result<ExprRef> {
    if axis >= input.ndim() {
        return Err(Error::InvalidAxis {
            axis: axis as isize,
            ndim: input.ndim(),
            hint: op.name().into(),
        });
    }
    let dtype = op.result_dtype(input.dtype());
    let operand = cast(input, dtype);
    let grid = operand.grid().clone();
    Ok(Expr::new(
        ExprKind::Scan {
            input: operand,
            op,
            axis,
        },
        dtype,
        grid,
    ))
}
