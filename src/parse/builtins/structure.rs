//! Functions of an array's structure: `transpose`, the `arrays` of `concatenate` and
//! `stack`, and `pad`.

use super::args::Bound;
use crate::array::{Array, PadMode};
use crate::dtype::Scalar;
use crate::error::Result;
use crate::parse::syntax_error;
use crate::parse::value::{Value, into_array};

pub(super) fn transpose(b: &Bound) -> Result<Array> {
    let x = b.array("a")?;
    match b.sizes("axes")? {
        None => Ok(x.t()),
        Some(perm) => x.permuted_axes(&perm),
    }
}

/// The `arrays` argument of `concatenate` and `stack`: a tuple of arrays.
pub(super) fn arrays(b: &Bound) -> Result<Vec<Array>> {
    let arg = b.required("arrays")?;
    match &arg.value {
        Value::Tuple(items) if !items.is_empty() => items
            .iter()
            .map(|v| into_array(v.clone(), arg.col))
            .collect(),
        _ => Err(b.bad(arg, "arrays", "a non-empty tuple of arrays, e.g. (a, b)")),
    }
}

/// `pad(array, pad_width, mode="constant", constant_values=0)`: `pad_width` an int (every
/// side), a pair `(before, after)` for every axis, or one pair per axis.
pub(super) fn pad(b: &Bound) -> Result<Array> {
    let x = b.array("array")?;
    let arg = b.required("pad_width")?;
    let bad = || {
        b.bad(
            arg,
            "pad_width",
            "an int, a (before, after) pair, or one pair per axis, of non-negative ints",
        )
    };
    let count = |v: &Value| match v {
        Value::Scalar(Scalar::Int(i)) => usize::try_from(*i).ok(),
        _ => None,
    };
    let pair = |v: &Value| match v {
        Value::Tuple(two) if two.len() == 2 => Some((count(&two[0])?, count(&two[1])?)),
        Value::Tuple(one) if one.len() == 1 => count(&one[0]).map(|n| (n, n)),
        v => count(v).map(|n| (n, n)),
    };
    let widths: Vec<(usize, usize)> = match &arg.value {
        Value::Tuple(items) if items.iter().all(|i| matches!(i, Value::Tuple(_))) => {
            let pairs: Option<Vec<_>> = items.iter().map(pair).collect();
            let pairs = pairs.ok_or_else(bad)?;
            match pairs.len() {
                1 => vec![pairs[0]; x.ndim()],
                n if n == x.ndim() => pairs,
                _ => return Err(bad()),
            }
        }
        v => vec![pair(v).ok_or_else(bad)?; x.ndim()],
    };
    let mode = match b.get("mode").map(|a| &a.value) {
        None => "constant",
        Some(Value::Str(m)) => m.as_str(),
        Some(_) => {
            let arg = b.required("mode")?;
            return Err(b.bad(arg, "mode", "\"constant\", \"edge\" or \"reflect\""));
        }
    };
    let mode = match mode {
        "constant" => PadMode::Constant(b.scalar("constant_values")?.unwrap_or(Scalar::Int(0))),
        "edge" => PadMode::Edge,
        "reflect" => PadMode::Reflect,
        other => {
            return Err(syntax_error(
                b.get("mode").map_or(b.col, |a| a.col),
                format!("pad() mode must be \"constant\", \"edge\" or \"reflect\", got {other:?}"),
            ));
        }
    };
    x.pad(&widths, mode)
}
