//! Elementwise nodes: casts, unary and binary functions with NumPy's dtype promotion, and
//! `where`.

use super::broadcast::{broadcast_grid, broadcast_shapes};
use crate::dtype::{DType, Kind};
use crate::error::{Error, Result};
use crate::expr::kind::{BinaryOp, ExprKind, UnaryOp};
use crate::expr::{Expr, ExprRef};

/// `astype(dtype)`; returns the input itself when the dtype already matches.
pub(crate) fn cast(input: &ExprRef, dtype: DType) -> ExprRef {
    if input.dtype() == dtype {
        return input.clone();
    }
    let grid = input.grid().clone();
    Expr::new(
        ExprKind::Cast {
            input: input.clone(),
        },
        dtype,
        grid,
    )
}

/// An elementwise function of one operand.
pub(crate) fn unary(op: UnaryOp, input: &ExprRef) -> Result<ExprRef> {
    let dt = input.dtype();
    let compute = match (op, dt.kind()) {
        (UnaryOp::Neg, Kind::Bool) => {
            return Err(Error::UnsupportedDType {
                op: "negative".into(),
                dtype: dt,
                hint: "use `~` (invert) for bool arrays".into(),
            });
        }
        (op, Kind::Complex) if op.is_real_only() => {
            return Err(Error::UnsupportedDType {
                op: op.name().into(),
                dtype: dt,
                hint: "it is not defined for complex numbers".into(),
            });
        }
        (UnaryOp::Not, Kind::Float) => {
            return Err(Error::UnsupportedDType {
                op: "invert (~)".into(),
                dtype: dt,
                hint: "`~` is defined for bool and integer arrays".into(),
            });
        }
        (UnaryOp::Sign, Kind::Bool) => {
            return Err(Error::UnsupportedDType {
                op: "sign".into(),
                dtype: dt,
                hint: "NumPy's sign is not defined for bool; convert with astype(\"int8\")".into(),
            });
        }
        (op, _) if op.is_float_only() => float_dtype(dt),
        _ => dt,
    };
    let result = if op.is_predicate() {
        DType::Bool
    } else if op.is_complex_to_real() {
        compute.real_dtype()
    } else {
        compute
    };
    let operand = cast(input, compute);
    let grid = operand.grid().clone();
    Ok(Expr::new(
        ExprKind::Unary { op, input: operand },
        result,
        grid,
    ))
}

/// The dtype a float-only function computes in for operands of `dtype`: floats keep theirs,
/// 16-bit integers get float32 and wider ones float64, as in NumPy. NumPy would give
/// float16 for bool and 8-bit integers; brickwork has no float16, so float32.
pub(super) fn float_dtype(dtype: DType) -> DType {
    match dtype {
        DType::F32 | DType::F64 | DType::C64 | DType::C128 => dtype,
        DType::Bool | DType::I8 | DType::U8 | DType::I16 | DType::U16 => DType::F32,
        _ => DType::F64,
    }
}

/// The dtype a binary op computes in, and its result dtype.
pub(super) fn binary_dtypes(op: BinaryOp, a: DType, b: DType) -> Result<(DType, DType)> {
    let common = DType::promote(a, b);
    let unsupported = |hint: &str| Error::UnsupportedDType {
        op: format!("{} ({})", op.name(), op.symbol()),
        dtype: if a.kind() == common.kind() { a } else { b },
        hint: hint.to_string(),
    };
    let compute = match op {
        BinaryOp::Div => common.true_divide_dtype(),
        BinaryOp::Sub if common == DType::Bool => {
            return Err(unsupported(
                "NumPy does not subtract booleans; use `^` (xor) instead",
            ));
        }
        BinaryOp::FloorDiv | BinaryOp::Rem | BinaryOp::Pow if common == DType::Bool => DType::I8,
        BinaryOp::FloorDiv | BinaryOp::Rem if common.is_complex() => {
            return Err(unsupported(
                "`//` and `%` are not defined for complex numbers",
            ));
        }
        op if op.is_float_only() && common.is_complex() => {
            return Err(unsupported("it is defined for real arrays"));
        }
        op if op.is_shift() && common == DType::Bool => DType::I8,
        op if op.is_shift() && common.is_inexact() => {
            return Err(unsupported("`<< >>` are defined for integer arrays"));
        }
        op if op.is_bitwise() && common.is_inexact() => {
            return Err(unsupported(
                "`& | ^` are defined for bool and integer arrays",
            ));
        }
        op if op.is_float_only() => float_dtype(common),
        _ => common,
    };
    let result = if op.is_comparison() {
        DType::Bool
    } else {
        compute
    };
    Ok((compute, result))
}

/// An elementwise function of two operands with NumPy broadcasting and promotion.
pub(crate) fn binary(op: BinaryOp, lhs: &ExprRef, rhs: &ExprRef) -> Result<ExprRef> {
    let shape = broadcast_shapes(op.name(), &lhs.shape(), &rhs.shape())?;
    let (compute, result) = binary_dtypes(op, lhs.dtype(), rhs.dtype())?;
    let grid = broadcast_grid(&shape, &[lhs, rhs]);
    Ok(Expr::new(
        ExprKind::Binary {
            op,
            lhs: cast(lhs, compute),
            rhs: cast(rhs, compute),
        },
        result,
        grid,
    ))
}

/// `where(cond, x, y)` with broadcasting; `x` and `y` are promoted together.
pub(crate) fn where_(cond: &ExprRef, x: &ExprRef, y: &ExprRef) -> Result<ExprRef> {
    let s = broadcast_shapes("where", &cond.shape(), &x.shape())?;
    let shape = broadcast_shapes("where", &s, &y.shape())?;
    let dtype = DType::promote(x.dtype(), y.dtype());
    let grid = broadcast_grid(&shape, &[cond, x, y]);
    Ok(Expr::new(
        ExprKind::Where {
            cond: cast(cond, DType::Bool),
            x: cast(x, dtype),
            y: cast(y, dtype),
        },
        dtype,
        grid,
    ))
}
