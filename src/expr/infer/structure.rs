//! Nodes that rearrange blocks: `transpose` and `concat`.

use super::elementwise::cast;
use super::grid::{check_blocks, rechunk};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr::kind::ExprKind;
use crate::expr::{Expr, ExprRef};
use crate::grid::{AxisChunks, ChunkGrid, fmt_shape};

/// Permutes axes: output axis `d` is input axis `perm[d]`.
pub(crate) fn transpose(input: &ExprRef, perm: &[usize]) -> Result<ExprRef> {
    let n = input.ndim();
    let mut seen = vec![false; n];
    let valid = perm.len() == n
        && perm.iter().all(|&p| {
            let ok = p < n && !seen[p];
            if ok {
                seen[p] = true;
            }
            ok
        });
    if !valid {
        return Err(Error::invalid(format!(
            "transpose axes {perm:?} are not a permutation of the {n} axes of an array of shape {}",
            fmt_shape(&input.shape())
        )));
    }
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return Ok(input.clone());
    }
    let axes = perm
        .iter()
        .map(|&p| input.grid().axes()[p].clone())
        .collect();
    Ok(Expr::new(
        ExprKind::Transpose {
            input: input.clone(),
            perm: perm.to_vec(),
        },
        input.dtype(),
        ChunkGrid::from_axes(axes),
    ))
}

/// `inputs` joined along `axis` (already normalized): they must have the same rank and
/// shapes off the axis; they are promoted to their common dtype and chunked alike off the
/// axis (common refinement); along the axis each keeps its chunks.
pub(crate) fn concat(inputs: &[ExprRef], axis: usize) -> Result<ExprRef> {
    let first = inputs
        .first()
        .ok_or_else(|| Error::invalid("concatenate needs at least one array"))?;
    let ndim = first.ndim();
    if axis >= ndim {
        return Err(Error::InvalidAxis {
            axis: axis as isize,
            ndim,
            hint: "concatenate".into(),
        });
    }
    for x in &inputs[1..] {
        let (a, b) = (first.shape(), x.shape());
        let off_axis_differs = a.len() != b.len() || (0..ndim).any(|d| d != axis && a[d] != b[d]);
        if off_axis_differs {
            return Err(Error::ShapeMismatch {
                op: "concatenate".into(),
                lhs: a,
                rhs: b,
                hint: format!("all axes but axis {axis} must have the same length"),
            });
        }
    }
    let dtype = inputs
        .iter()
        .map(|x| x.dtype())
        .reduce(DType::promote)
        .unwrap_or(DType::F64);
    // Off the concatenation axis every part is rechunked to the common refinement; along
    // it each keeps its own chunks (the entry for `axis` is a placeholder).
    let off_axis: Vec<AxisChunks> = (0..ndim)
        .map(|d| {
            if d == axis {
                return AxisChunks::regular(0, 0);
            }
            inputs
                .iter()
                .map(|x| x.grid().axes()[d].clone())
                .reduce(|a, b| a.refine(&b))
                .unwrap_or_else(|| AxisChunks::regular(0, 0))
        })
        .collect();
    let mut parts = Vec::with_capacity(inputs.len());
    let mut sizes = Vec::new();
    for x in inputs {
        let mut axes = off_axis.clone();
        axes[axis] = x.grid().axes()[axis].clone();
        if x.shape()[axis] > 0 {
            sizes.extend(axes[axis].sizes());
        }
        parts.push(rechunk(&cast(x, dtype), ChunkGrid::from_axes(axes))?);
    }
    if parts.len() == 1 {
        return Ok(parts.remove(0));
    }
    let mut axes = off_axis;
    axes[axis] = AxisChunks::from_sizes(&sizes);
    let grid = ChunkGrid::from_axes(axes);
    check_blocks(&grid)?;
    Ok(Expr::new(
        ExprKind::Concat {
            inputs: parts,
            axis,
        },
        dtype,
        grid,
    ))
}
