//! Elementwise functions with arguments of their own: `where`, `clip`, `round`,
//! `nan_to_num`, and NEP 50 weak scalars.

use super::args::{Arg, Bound};
use crate::array::Array;
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::expr::BinaryOp;
use crate::parse::syntax_error;
use crate::parse::value::{Value, binary, into_array, scalar_dtype};

pub(super) fn where_(b: &Bound) -> Result<Array> {
    let (x, y) = (b.required("x")?, b.required("y")?);
    let (xa, ya) = (weak(x, &y.value)?, weak(y, &x.value)?);
    Array::where_(&b.array("condition")?, &xa, &ya)
}

/// An operand as an array; a scalar next to an array takes the array's dtype when it
/// fits (NEP 50 weak scalars), otherwise its default dtype.
pub(super) fn weak(arg: &Arg, other: &Value) -> Result<Array> {
    match (&arg.value, other) {
        (Value::Scalar(s), Value::Array(o)) => {
            let dtype = DType::promote_scalar(o.dtype(), s);
            let dtype = if s.fits(dtype) {
                dtype
            } else {
                scalar_dtype(*s)
            };
            Array::full(&[], &[], *s, dtype)
        }
        (v, _) => into_array(v.clone(), arg.col),
    }
}

/// `clip(a, a_min, a_max)`, or with the array API's `min=` and `max=`.
pub(super) fn clip(b: &Bound) -> Result<Value> {
    let mut x = b.value("a")?;
    for (param, alias, op) in [
        ("a_min", "min", BinaryOp::Maximum),
        ("a_max", "max", BinaryOp::Minimum),
    ] {
        let bound = if b.get(param).is_some() { param } else { alias };
        if b.get(bound).is_some() {
            x = binary(op, x, b.value(bound)?, b.col)?;
        }
    }
    Ok(x)
}

/// `round(a, decimals=0)`.
pub(super) fn round(b: &Bound) -> Result<Array> {
    let decimals = b.int("decimals")?.unwrap_or(0);
    let decimals = i32::try_from(decimals).map_err(|_| {
        let col = b.get("decimals").map_or(b.col, |a| a.col);
        syntax_error(
            col,
            format!("round() argument 'decimals' is too large: {decimals}"),
        )
    })?;
    b.array("a")?.round(decimals)
}

/// `nan_to_num(x, nan=0.0, posinf=None, neginf=None)`.
pub(super) fn nan_to_num(b: &Bound) -> Result<Array> {
    let posinf = b.scalar("posinf")?.map(Scalar::as_f64);
    let neginf = b.scalar("neginf")?.map(Scalar::as_f64);
    b.array("x")?
        .nan_to_num(b.float("nan", 0.0)?, posinf, neginf)
}
