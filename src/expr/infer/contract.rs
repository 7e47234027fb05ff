//! Contractions of two operands (`tensordot`, `einsum`, `matmul`): labels, lengths, dtypes
//! and chunks that pair up.

use super::elementwise::cast;
use super::grid::rechunk;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr::kind::{ContractSpec, ExprKind};
use crate::expr::{Expr, ExprRef};
use crate::grid::{AxisChunks, ChunkGrid};

/// A contraction of two operands (see [`ContractSpec`]): checks the labels and lengths,
/// promotes both operands to their common dtype, and chunks them alike along shared labels
/// (the common refinement, as dask's `unify_chunks`), so that their blocks pair up.
pub(crate) fn contract(lhs: &ExprRef, rhs: &ExprRef, spec: ContractSpec) -> Result<ExprRef> {
    let mismatch = |hint: String| Error::ShapeMismatch {
        op: spec.name.into(),
        lhs: lhs.shape(),
        rhs: rhs.shape(),
        hint,
    };
    if spec.lhs.len() != lhs.ndim() || spec.rhs.len() != rhs.ndim() {
        return Err(Error::internal(format!(
            "{}: labels {:?} and {:?} for operands of {} and {} dimensions",
            spec.name,
            spec.lhs,
            spec.rhs,
            lhs.ndim(),
            rhs.ndim()
        )));
    }
    let mut chunks: std::collections::HashMap<u32, AxisChunks> = Default::default();
    for (labels, x, side) in [(&spec.lhs, lhs, "left"), (&spec.rhs, rhs, "right")] {
        for (d, &label) in labels.iter().enumerate() {
            if labels.iter().filter(|&&l| l == label).count() > 1 {
                return Err(Error::invalid(format!(
                    "{}: an axis label repeated in one operand (a diagonal) is not supported",
                    spec.name
                )));
            }
            let contracted = spec.lhs.contains(&label) && spec.rhs.contains(&label);
            if !spec.out.contains(&label) && !contracted {
                return Err(Error::invalid(format!(
                    "{}: axis {d} of the {side} operand is neither kept nor contracted",
                    spec.name
                )));
            }
            let ax = &x.grid().axes()[d];
            let unified = match chunks.get(&label) {
                None => ax.clone(),
                Some(prev) if prev.len() == ax.len() => prev.refine(ax),
                Some(prev) => {
                    return Err(mismatch(format!(
                        "axis {d} of the {side} operand has length {} where the other has {}",
                        ax.len(),
                        prev.len()
                    )));
                }
            };
            chunks.insert(label, unified);
        }
    }
    if let Some(l) = spec.out.iter().find(|l| !chunks.contains_key(l)) {
        return Err(Error::internal(format!(
            "{}: result label {l} is in no operand",
            spec.name
        )));
    }
    let dtype = DType::promote(lhs.dtype(), rhs.dtype());
    if dtype == DType::Bool {
        return Err(Error::UnsupportedDType {
            op: spec.name.into(),
            dtype,
            hint: "convert with astype(\"int64\") or astype(\"float64\") first".into(),
        });
    }
    let grid =
        |labels: &[u32]| ChunkGrid::from_axes(labels.iter().map(|l| chunks[l].clone()).collect());
    let lhs = rechunk(&cast(lhs, dtype), grid(&spec.lhs))?;
    let rhs = rechunk(&cast(rhs, dtype), grid(&spec.rhs))?;
    let out = grid(&spec.out);
    Ok(Expr::new(ExprKind::Contract { lhs, rhs, spec }, dtype, out))
}
