//! Linear algebra: the factorizations (`qr`, `svd`, `lstsq`, `solve`, `inv`, `det`,
//! `slogdet`, `cholesky`), `tensordot` and `einsum`.

use super::args::Bound;
use super::table::Op;
use crate::array::Array;
use crate::dtype::Scalar;
use crate::error::{Error, Result};
use crate::parse::syntax_error;
use crate::parse::value::{Value, into_array};

/// NumPy's `linalg.qr`, `svd`, `svdvals` and `lstsq` (tall-skinny, see `Array::qr`), and
/// the blocked `solve`, `inv`, `det`, `slogdet` and `cholesky` (see `Array::solve`): the
/// tuples some give are indexed by a program (`qr(a)[1]`); `None` for other ops.
pub(super) fn linalg(op: Op, b: &Bound) -> Result<Option<Value>> {
    let tuple =
        |arrays: Vec<Array>| Some(Value::Tuple(arrays.into_iter().map(Value::Array).collect()));
    Ok(match op {
        Op::Qr => {
            let a = b.array("a")?;
            match b.get("mode").map(|a| &a.value) {
                None => {
                    let (q, r) = a.qr()?;
                    tuple(vec![q, r])
                }
                Some(Value::Str(m)) if m == "reduced" => {
                    let (q, r) = a.qr()?;
                    tuple(vec![q, r])
                }
                Some(Value::Str(m)) if m == "complete" => {
                    let (q, r) = a.qr_complete()?;
                    tuple(vec![q, r])
                }
                Some(Value::Str(m)) if m == "r" => Some(Value::Array(a.qr()?.1)),
                Some(_) => {
                    let arg = b.required("mode")?;
                    return Err(b.bad(arg, "mode", "\"reduced\", \"complete\" or \"r\""));
                }
            }
        }
        Op::Svd => {
            // `linalg.svd` (the standard's: full by default) names its operand x; `svd`
            // (dask's: reduced) a.
            let (a, full) = match b.get("x") {
                Some(_) => (b.array("x")?, b.bool("full_matrices", true)?),
                None => (b.array("a")?, b.bool("full_matrices", false)?),
            };
            let (u, s, vh) = if full { a.svd_full()? } else { a.svd()? };
            tuple(vec![u, s, vh])
        }
        Op::Eigh => {
            let (w, v) = b.array("x")?.eigh()?;
            tuple(vec![w, v])
        }
        Op::Eigvalsh => Some(Value::Array(b.array("x")?.eigvalsh()?)),
        Op::Lu => {
            let (p, l, u) = b.array("a")?.lu()?;
            tuple(vec![p, l, u])
        }
        Op::Svdvals => Some(Value::Array(b.array("x")?.svdvals()?)),
        Op::Lstsq => {
            let rcond = b.scalar("rcond")?.map(Scalar::as_f64);
            let fit = b.array("a")?.lstsq(&b.array("b")?, rcond)?;
            tuple(vec![fit.x, fit.residuals, fit.rank, fit.s])
        }
        Op::Solve => Some(Value::Array(b.array("x1")?.solve(&b.array("x2")?)?)),
        Op::Inv => Some(Value::Array(b.array("x")?.inv()?)),
        Op::Det => Some(Value::Array(b.array("x")?.det()?)),
        Op::Slogdet => {
            let (sign, log) = b.array("x")?.slogdet()?;
            tuple(vec![sign, log])
        }
        Op::Cholesky => Some(Value::Array(
            b.array("x")?.cholesky(b.bool("upper", false)?)?,
        )),
        Op::MatrixPower => {
            let n = b
                .int("n")?
                .ok_or_else(|| Error::invalid("matrix_power() needs the exponent n"))?;
            Some(Value::Array(b.array("x")?.matrix_power(n)?))
        }
        Op::MatrixRank | Op::Pinv => {
            let x = b.array("x")?;
            let rank = matches!(op, Op::MatrixRank);
            Some(Value::Array(match b.get("rtol").map(|a| &a.value) {
                Some(Value::Array(r)) if rank => x.matrix_rank_rtol(r)?,
                Some(Value::Array(r)) => x.pinv_rtol(r)?,
                _ => {
                    let rtol = b.scalar("rtol")?.map(Scalar::as_f64);
                    if rank {
                        x.matrix_rank(rtol)?
                    } else {
                        x.pinv(rtol)?
                    }
                }
            }))
        }
        Op::Cross => {
            let axis = b.int("axis")?.unwrap_or(-1) as isize;
            Some(Value::Array(b.array("x1")?.cross(&b.array("x2")?, axis)?))
        }
        _ => None,
    })
}

/// `tensordot(a, b, axes)`: `axes` an int N (the last N axes of `a` with the first N of
/// `b`, default 2) or a pair of axis lists (or of single axes).
pub(super) fn tensordot(b: &Bound) -> Result<Array> {
    let (x, y) = (b.array("a")?, b.array("b")?);
    let (pa, pb): (Vec<isize>, Vec<isize>) = match b.get("axes").map(|a| &a.value) {
        None => pairs_last_first(&x, 2),
        Some(Value::Scalar(Scalar::Int(n))) if *n >= 0 => pairs_last_first(&x, *n as usize),
        Some(Value::Tuple(two)) if two.len() == 2 => {
            let list = |v: &Value| -> Option<Vec<isize>> {
                match v {
                    Value::Scalar(Scalar::Int(i)) => Some(vec![*i as isize]),
                    Value::Tuple(items) => items
                        .iter()
                        .map(|i| match i {
                            Value::Scalar(Scalar::Int(i)) => Some(*i as isize),
                            _ => None,
                        })
                        .collect(),
                    _ => None,
                }
            };
            match (list(&two[0]), list(&two[1])) {
                (Some(a), Some(c)) => (a, c),
                _ => return Err(bad_axes(b)),
            }
        }
        Some(_) => return Err(bad_axes(b)),
    };
    x.tensordot(&y, &pa, &pb)
}

/// The last `n` axes of `x` paired with the first `n` of the other operand.
pub(super) fn pairs_last_first(x: &Array, n: usize) -> (Vec<isize>, Vec<isize>) {
    let nd = x.ndim() as isize;
    let n = n as isize;
    ((nd - n..nd).collect(), (0..n).collect())
}

pub(super) fn bad_axes(b: &Bound) -> Error {
    let arg = b.get("axes").map_or(b.col, |a| a.col);
    syntax_error(
        arg,
        "tensordot() argument 'axes' must be an int or a pair of axis lists, e.g. ((1, 0), (0, 1))",
    )
}

pub(super) fn einsum(b: &Bound) -> Result<Array> {
    let arg = b.required("subscripts")?;
    let Value::Str(subscripts) = &arg.value else {
        return Err(b.bad(arg, "subscripts", "a string such as \"ij,jk->ik\""));
    };
    let operands = match &b.required("operands")?.value {
        Value::Tuple(items) => items.clone(),
        _ => Vec::new(),
    };
    let arrays = operands
        .into_iter()
        .map(|v| into_array(v, arg.col))
        .collect::<Result<Vec<_>>>()?;
    match arrays.as_slice() {
        [a] => Array::einsum_one(subscripts, a),
        [a, c] => Array::einsum(subscripts, a, c),
        _ => Err(syntax_error(
            b.col,
            format!("einsum() takes one or two operands, got {}", arrays.len()),
        )),
    }
}
