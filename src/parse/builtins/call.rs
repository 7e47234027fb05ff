//! A call: finding the builtin, binding its arguments, and running its [`Op`] through the
//! adapters.

use super::args::{Arg, Bound, KeywordArg};
use super::creation::{arange, fill, full, linspace};
use super::elementwise::{clip, nan_to_num, round, where_};
use super::filters::filter;
use super::linalg::{einsum, linalg, tensordot};
use super::random::{binomial, exponential, integers, poisson, random, random_normal, uniform};
use super::reductions::{histogram, reduce, reduce_options, scan};
use super::structure::{arrays, pad, transpose};
use super::table::{Op, builtins, find};
use crate::array::Array;
use crate::config::ComputeOptions;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::parse::syntax_error;
use crate::parse::value::{Value, binary};

/// A call `name(args, keywords)` at `col`; a method call passes its receiver first.
pub(in crate::parse) fn call(
    name: &str,
    col: usize,
    receiver: Option<Arg>,
    args: Vec<Arg>,
    keywords: Vec<KeywordArg>,
    opts: &ComputeOptions,
) -> Result<Value> {
    let found = find(name);
    let builtin = match (found, &receiver) {
        (Some(b), None) => b,
        (Some(b), Some(_)) if b.method => b,
        (Some(_), Some(_)) => {
            return Err(syntax_error(
                col,
                format!("arrays have no method '{name}'; call it as a function: {name}(x)"),
            ));
        }
        (None, _) => {
            return Err(syntax_error(
                col,
                unknown_function(name, receiver.is_some()),
            ));
        }
    };
    let args = receiver.into_iter().chain(args).collect();
    let bound = Bound::new(builtin, col, args, keywords, opts)?;
    run(builtin.op, &bound)
}

pub(super) fn unknown_function(name: &str, method: bool) -> String {
    let mut known: Vec<&str> = builtins()
        .filter(|b| b.method || !method)
        .map(|b| b.name)
        .collect();
    known.sort_unstable();
    let what = if method { "method" } else { "function" };
    format!(
        "unknown {what} '{name}'; known {what}s: {}",
        known.join(", ")
    )
}

pub(super) fn run(op: Op, b: &Bound) -> Result<Value> {
    if let Some(tuple) = linalg(op, b)? {
        return Ok(tuple);
    }
    if let Op::Api(api) = op {
        return super::api::run(api, b);
    }
    if let Op::Fft(f) = op {
        return super::fft::fft(f, b);
    }
    let array = match op {
        Op::Reduce(r) => reduce(r, b)?,
        Op::NanReduce(r) => {
            b.array("a")?
                .nan_reduce(r, b.axes()?.as_deref(), &reduce_options(b)?)?
        }
        Op::ArgMin | Op::ArgMax => {
            let x = b.array("a")?;
            let axis = b.int("axis")?.map(|a| a as isize);
            let keepdims = b.bool("keepdims", false)?;
            if matches!(op, Op::ArgMin) {
                x.argmin(axis, keepdims)?
            } else {
                x.argmax(axis, keepdims)?
            }
        }
        Op::Any => b
            .array("a")?
            .any(b.axes()?.as_deref(), b.bool("keepdims", false)?)?,
        Op::All => b
            .array("a")?
            .all(b.axes()?.as_deref(), b.bool("keepdims", false)?)?,
        Op::Unary(u) => b.array("x")?.unary(u)?,
        Op::Binary(f) => return binary(f, b.value("x1")?, b.value("x2")?, b.col),
        Op::Where => where_(b)?,
        Op::Clip => return clip(b),
        Op::Round => round(b)?,
        Op::NanToNum => nan_to_num(b)?,
        Op::Astype => b.array("x")?.astype(b.required_dtype()?)?,
        Op::Transpose => transpose(b)?,
        Op::Rechunk => {
            let x = b.array("x")?;
            x.rechunk(&b.chunks(&x.shape(), x.dtype())?)?
        }
        Op::Random => random(b)?,
        Op::RandomNormal => random_normal(b)?,
        Op::Uniform => uniform(b)?,
        Op::Exponential => exponential(b)?,
        Op::Poisson => poisson(b)?,
        Op::Binomial => binomial(b)?,
        Op::Integers => integers(b)?,
        Op::Fill(v) => fill(b, Scalar::Int(v))?,
        Op::Full => full(b)?,
        Op::Arange => arange(b)?,
        Op::Linspace => linspace(b)?,
        Op::Scan(s) => scan(s, b)?,
        Op::Matmul => b.array("x1")?.matmul(&b.array("x2")?)?,
        Op::Dot => b.array("a")?.dot(&b.array("b")?)?,
        Op::Inner => b.array("a")?.tensordot(&b.array("b")?, &[-1], &[-1])?,
        Op::Tensordot => tensordot(b)?,
        Op::Outer => b.array("a")?.outer(&b.array("b")?)?,
        Op::Vecdot => {
            let axis = b.int("axis")?.unwrap_or(-1) as isize;
            b.array("x1")?.vecdot(&b.array("x2")?, axis)?
        }
        Op::Einsum => einsum(b)?,
        Op::Concatenate => {
            let arrays = arrays(b)?;
            let refs: Vec<&Array> = arrays.iter().collect();
            Array::concatenate(&refs, b.int("axis")?.unwrap_or(0) as isize)?
        }
        Op::Stack => {
            let arrays = arrays(b)?;
            let refs: Vec<&Array> = arrays.iter().collect();
            Array::stack(&refs, b.int("axis")?.unwrap_or(0) as isize)?
        }
        Op::ExpandDims => {
            let mut x = b.array("a")?;
            let mut axes = b.axes()?.ok_or_else(|| b.none_error("axis"))?;
            // NumPy places every new axis in the result's numbering: insert in order.
            let ndim = (x.ndim() + axes.len()) as isize;
            for a in &mut axes {
                if *a < 0 {
                    *a += ndim;
                }
            }
            axes.sort_unstable();
            for a in axes {
                x = x.expand_dims(a)?;
            }
            x
        }
        Op::Squeeze => b.array("a")?.squeeze(b.axes()?.as_deref())?,
        Op::Reshape => {
            let shape: Vec<isize> = b
                .ints("shape")?
                .ok_or_else(|| b.none_error("shape"))?
                .into_iter()
                .map(|i| i as isize)
                .collect();
            b.array("a")?.reshape(&shape)?
        }
        Op::Ravel => b.array("a")?.ravel()?,
        Op::Extract => {
            let (cond, arr) = (b.array("condition")?, b.array("arr")?);
            arr.ravel()?
                .boolean_index_with(&cond.astype(DType::Bool)?.ravel()?, &b.opts)?
        }
        Op::Vindex => {
            let x = b.array("x")?;
            let arg = b.required("indices")?;
            let items = match &arg.value {
                Value::Tuple(items) if !items.is_empty() => items.clone(),
                _ => return Err(b.bad(arg, "indices", "a tuple of index arrays, e.g. (i, j)")),
            };
            let mut values: Vec<Vec<i64>> = Vec::with_capacity(items.len());
            for item in &items {
                values.push(match item {
                    Value::Array(a) if a.dtype().is_integer() && a.ndim() == 1 => {
                        let (v, _) = a.astype(DType::I64)?.compute_with(&b.opts)?;
                        v.into_typed::<i64>().iter().copied().collect()
                    }
                    Value::Tuple(ints) => ints
                        .iter()
                        .map(|v| match v {
                            Value::Scalar(Scalar::Int(i)) => Ok(*i),
                            _ => Err(b.bad(arg, "indices", "tuples of ints or 1-d integer arrays")),
                        })
                        .collect::<Result<_>>()?,
                    _ => return Err(b.bad(arg, "indices", "tuples of ints or 1-d integer arrays")),
                });
            }
            let refs: Vec<&[i64]> = values.iter().map(Vec::as_slice).collect();
            x.vindex(&refs)?
        }
        Op::Compress => {
            let (cond, a) = (b.array("condition")?.astype(DType::Bool)?, b.array("a")?);
            match b.int("axis")? {
                Some(axis) => a.compress_with(&cond, axis as isize, &b.opts)?,
                None => a.ravel()?.compress_with(&cond, 0, &b.opts)?,
            }
        }
        Op::BroadcastTo => {
            let shape = b.sizes("shape")?.ok_or_else(|| b.none_error("shape"))?;
            b.array("array")?.broadcast_to(&shape)?
        }
        Op::Flip => {
            let mut x = b.array("m")?;
            let axes = b
                .axes()?
                .unwrap_or_else(|| (0..x.ndim() as isize).collect());
            for a in axes {
                x = x.flip(a)?;
            }
            x
        }
        Op::Moveaxis => {
            let (src, dst) = (b.ints("source")?, b.ints("destination")?);
            match (src.as_deref(), dst.as_deref()) {
                (Some([s]), Some([d])) => b.array("a")?.moveaxis(*s as isize, *d as isize)?,
                _ => {
                    return Err(syntax_error(
                        b.col,
                        "moveaxis() takes one source and one destination axis (ints)",
                    ));
                }
            }
        }
        Op::Pad => pad(b)?,
        Op::Filter(kind) => filter(kind, b)?,
        Op::Gradient => {
            let x = b.array("f")?;
            let axis = b.axis_of_1d(&x, "returns one gradient per axis of")?;
            x.gradient(axis)?
        }
        Op::Histogram => return histogram(b),
        Op::Quantile => super::api::quantile(b, 1.0, false)?,
        Op::Median => super::api::median(b, false)?,
        Op::Qr
        | Op::Svd
        | Op::Svdvals
        | Op::Lstsq
        | Op::Solve
        | Op::Inv
        | Op::Det
        | Op::Slogdet
        | Op::Cholesky
        | Op::Eigh
        | Op::Eigvalsh
        | Op::Lu
        | Op::MatrixPower
        | Op::MatrixRank
        | Op::Pinv
        | Op::Cross
        | Op::Fft(_)
        | Op::Api(_) => {
            return Err(Error::internal(
                "the linalg, fft and api builtins are run by linalg(), fft() and api::run()",
            ));
        }
        Op::Bincount => {
            let weights = b.get("weights").map(|_| b.array("weights")).transpose()?;
            let minlength = b.count("minlength")?.unwrap_or(0);
            b.array("x")?.bincount(weights.as_ref(), minlength)?
        }
        Op::Diff => {
            let n = b.count("n")?.unwrap_or(1);
            let axis = b.int("axis")?.unwrap_or(-1) as isize;
            b.array("a")?.diff(n, axis)?
        }
        Op::Take => {
            let x = b.array("a")?;
            let indices = match b.get("indices").map(|a| &a.value) {
                // An integer array: its values, computed now.
                Some(Value::Array(i)) if i.dtype().is_integer() => {
                    let (v, _) = i.ravel()?.astype(DType::I64)?.compute_with(&b.opts)?;
                    v.into_typed::<i64>().iter().copied().collect()
                }
                _ => b.ints("indices")?.ok_or_else(|| b.none_error("indices"))?,
            };
            let axis = b.axis_of_1d(&x, "takes from")?;
            let taken = x.take(&indices, axis)?;
            // A scalar index drops the axis, as in NumPy.
            match b.get("indices").map(|a| &a.value) {
                Some(Value::Scalar(_)) => taken.squeeze(Some(&[axis]))?,
                _ => taken,
            }
        }
    };
    Ok(Value::Array(array))
}
