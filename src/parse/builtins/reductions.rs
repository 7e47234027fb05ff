//! Reductions, scans and `histogram`: axes, `keepdims`, `split_every` and `ddof`.

use super::args::{Arg, Bound};
use crate::array::{Array, Bins, ReduceOptions};
use crate::dtype::Scalar;
use crate::error::Result;
use crate::expr::{ReduceOp, ScanOp};
use crate::parse::value::Value;

pub(super) fn reduce_options(b: &Bound) -> Result<ReduceOptions> {
    let defaults = ReduceOptions::default();
    Ok(ReduceOptions {
        keepdims: b.bool("keepdims", false)?,
        ddof: match b.scalar("correction")? {
            Some(c) => c.as_f64(),
            None => b.float("ddof", defaults.ddof)?,
        },
        split_every: b.count("split_every")?.unwrap_or(defaults.split_every),
    })
}

pub(super) fn reduce(op: ReduceOp, b: &Bound) -> Result<Array> {
    let x = b.array("a")?;
    if b.get("dtype").is_none() {
        return x.reduce(op, b.axes()?.as_deref(), &reduce_options(b)?);
    }
    // NumPy's dtype=: the elements are taken in it and so is the result (integers wrap
    // as NumPy's accumulators do: sums modulo 2^bits agree however they are grouped).
    let dtype = b.dtype(x.dtype())?;
    x.astype(dtype)?
        .reduce(op, b.axes()?.as_deref(), &reduce_options(b)?)?
        .astype(dtype)
}

/// `cumsum(a, axis)`, `cumprod(a, axis)`; without an axis NumPy scans the flattened array,
/// which is the same for 1-d arrays.
pub(super) fn scan(op: ScanOp, b: &Bound) -> Result<Array> {
    let x = b.array("a")?;
    let axis = b.axis_of_1d(&x, "scans")?;
    match op {
        ScanOp::Cumsum => x.cumsum(axis),
        ScanOp::Cumprod => x.cumprod(axis),
    }
}

/// NumPy's `histogram`: the tuple `(counts, edges)`.
pub(super) fn histogram(b: &Bound) -> Result<Value> {
    let x = b.array("a")?;
    let numbers = |param: &str, arg: &Arg| -> Result<Vec<f64>> {
        match &arg.value {
            Value::Tuple(items) => items
                .iter()
                .map(|v| match v {
                    Value::Scalar(s) => Ok(s.as_f64()),
                    _ => Err(b.bad(arg, param, "numbers")),
                })
                .collect(),
            _ => Err(b.bad(arg, param, "a tuple of numbers")),
        }
    };
    let range = match b.get("range") {
        None => None,
        Some(arg) => match numbers("range", arg)?.as_slice() {
            [lo, hi] => Some((*lo, *hi)),
            _ => return Err(b.bad(arg, "range", "a (min, max) pair")),
        },
    };
    let bins = match b.get("bins") {
        None => Bins::Count { n: 10, range },
        Some(Arg {
            value: Value::Scalar(Scalar::Int(n)),
            ..
        }) if *n > 0 => Bins::Count {
            n: *n as usize,
            range,
        },
        Some(
            arg @ Arg {
                value: Value::Tuple(_),
                ..
            },
        ) => Bins::Edges(numbers("bins", arg)?),
        Some(arg) => {
            return Err(b.bad(arg, "bins", "a positive int or a tuple of increasing edges"));
        }
    };
    let weights = b.get("weights").map(|_| b.array("weights")).transpose()?;
    let (counts, edges) = x.histogram(&bins, weights.as_ref(), b.bool("density", false)?)?;
    let n = edges.len();
    let edges = Array::from_ndarray(ndarray::Array1::from(edges).into_dyn(), &[n.max(1)])?;
    Ok(Value::Tuple(vec![
        Value::Array(counts),
        Value::Array(edges),
    ]))
}
