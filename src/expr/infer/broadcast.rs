//! Broadcasting: NumPy's rules for shapes, the grid of a broadcast result (the common
//! refinement of the operands' chunks), and `broadcast_to`.

use super::grid::check_blocks;
use crate::error::{Error, Result};
use crate::expr::kind::ExprKind;
use crate::expr::{Expr, ExprRef};
use crate::grid::{AxisChunks, ChunkGrid};

/// NumPy broadcasting of two shapes (right-aligned; size 1 stretches).
///
/// # Errors
/// [`Error::ShapeMismatch`] naming both shapes and `op`.
pub fn broadcast_shapes(op: &str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(Error::ShapeMismatch {
                    op: op.to_string(),
                    lhs: a.to_vec(),
                    rhs: b.to_vec(),
                    hint: format!("cannot broadcast: axis {i} has sizes {da} and {db}"),
                });
            }
        };
    }
    Ok(out)
}

/// The grid of a broadcast result: per output axis, the common refinement of the chunkings
/// of the operands that span that axis (dask's `unify_chunks`).
pub(super) fn broadcast_grid(shape: &[usize], operands: &[&ExprRef]) -> ChunkGrid {
    let n = shape.len();
    let axes = (0..n)
        .map(|d| {
            let mut acc: Option<AxisChunks> = None;
            for x in operands {
                let xs = x.grid();
                let off = n - xs.ndim();
                if d < off || xs.axes()[d - off].len() != shape[d] {
                    continue;
                }
                let ax = &xs.axes()[d - off];
                acc = Some(match acc {
                    None => ax.clone(),
                    Some(a) => a.refine(ax),
                });
            }
            acc.unwrap_or_else(|| AxisChunks::regular(shape[d], shape[d]))
        })
        .collect();
    ChunkGrid::from_axes(axes)
}

/// `input` broadcast to `shape` (NumPy's rules: axes aligned at the right, length-1 axes
/// stretch). Axes that exist in `input` keep its chunks; new and stretched axes are one
/// chunk (as dask's `broadcast_to`), so rechunk the result to cut them.
pub(crate) fn broadcast_to(input: &ExprRef, shape: &[usize]) -> Result<ExprRef> {
    let from = input.shape();
    let fits = shape.len() >= from.len()
        && from
            .iter()
            .zip(&shape[shape.len() - from.len()..])
            .all(|(&a, &b)| a == b || a == 1);
    if !fits {
        return Err(Error::ShapeMismatch {
            op: "broadcast_to".into(),
            lhs: from,
            rhs: shape.to_vec(),
            hint: "axes align at the right; each must match or be 1 in the array".into(),
        });
    }
    if shape == from.as_slice() {
        return Ok(input.clone());
    }
    let off = shape.len() - from.len();
    let axes = (0..shape.len())
        .map(|d| match d.checked_sub(off) {
            Some(j) if from[j] == shape[d] => input.grid().axes()[j].clone(),
            _ => AxisChunks::regular(shape[d], shape[d]),
        })
        .collect();
    let grid = ChunkGrid::from_axes(axes);
    check_blocks(&grid)?;
    Ok(Expr::new(
        ExprKind::BroadcastTo {
            input: input.clone(),
        },
        input.dtype(),
        grid,
    ))
}
