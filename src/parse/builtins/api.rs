//! The array API standard's functions and NumPy's everyday extras ([`Api`]): the adapters
//! from bound arguments to the `Array` methods that compute them.

use super::args::{Arg, Bound};
use super::creation::auto_chunks;
use super::elementwise::weak;
use super::structure::arrays;
use super::table::Api;
use crate::array::{Array, NormOrder};
use crate::dtype::{DType, Kind, Scalar};
use crate::error::{Error, Result};
use crate::expr::{BinaryOp, ScanOp, UnaryOp};
use crate::parse::syntax_error;
use crate::parse::value::{Value, binary, into_array, scalar_dtype};

/// Runs an [`Api`] builtin.
pub(super) fn run(api: Api, b: &Bound) -> Result<Value> {
    let one = |a: Array| Ok(Value::Array(a));
    let tuple =
        |arrays: Vec<Array>| Ok(Value::Tuple(arrays.into_iter().map(Value::Array).collect()));
    let first = || b.array(b.first());
    match api {
        Api::Logical(op) => {
            let (x, y) = (
                bool_value(b.value("x1")?, b)?,
                bool_value(b.value("x2")?, b)?,
            );
            Ok(binary(op, x, y, b.col)?)
        }
        Api::LogicalNot => one(first()?.astype(DType::Bool)?.unary(UnaryOp::Not)?),
        Api::Square => Ok(binary(BinaryOp::Mul, b.value("x")?, b.value("x")?, b.col)?),
        Api::Reciprocal => {
            let x = first()?;
            one(x.binary_scalar(BinaryOp::Div, Scalar::Int(1), true)?)
        }
        Api::Positive => one(first()?),
        Api::IsClose | Api::AllClose => {
            let (a, o) = (b.required("a")?, b.required("b")?);
            let (x, y) = (weak(a, &o.value)?, weak(o, &a.value)?);
            let (rtol, atol) = (b.float("rtol", 1e-5)?, b.float("atol", 1e-8)?);
            let equal_nan = b.bool("equal_nan", false)?;
            if matches!(api, Api::IsClose) {
                one(x.isclose(&y, rtol, atol, equal_nan)?)
            } else {
                one(x.allclose(&y, rtol, atol, equal_nan)?)
            }
        }
        Api::Eye | Api::Tri => {
            let n = b.count("N")?.ok_or_else(|| b.none_error("N"))?;
            let m = if b.has("M") {
                b.count("M")?.unwrap_or(n)
            } else {
                n
            };
            let k = b.int("k")?.unwrap_or(0);
            let dtype = b.dtype(DType::F64)?;
            let chunks = b.chunks(&[n, m], dtype)?;
            if matches!(api, Api::Eye) {
                one(Array::eye(n, m, k, dtype, &chunks)?)
            } else {
                one(Array::tri(n, m, k, dtype, &chunks)?)
            }
        }
        Api::Tril => one(b.array("m")?.tril(b.int("k")?.unwrap_or(0))?),
        Api::Triu => one(b.array("m")?.triu(b.int("k")?.unwrap_or(0))?),
        Api::Diag => {
            let v = b.array("v")?;
            let k = b.int("k")?.unwrap_or(0);
            match v.ndim() {
                2 => one(v.diagonal(k, 0, 1)?),
                _ => one(v.diag(k)?),
            }
        }
        Api::Diagonal | Api::Trace => {
            let x = first()?;
            let offset = b.int("offset")?.unwrap_or(0);
            let (a1, a2) = if b.has("axis1") {
                (b.int("axis1")?.unwrap_or(0), b.int("axis2")?.unwrap_or(1))
            } else {
                (-2, -1)
            };
            if matches!(api, Api::Diagonal) {
                one(x.diagonal(offset, a1 as isize, a2 as isize)?)
            } else {
                one(x.trace(offset, a1 as isize, a2 as isize)?)
            }
        }
        Api::ZerosLike | Api::OnesLike | Api::FullLike => {
            let x = first()?;
            let value = match api {
                Api::ZerosLike => Scalar::Int(0),
                Api::OnesLike => Scalar::Int(1),
                _ => b.required_scalar("fill_value")?,
            };
            let dtype = b.dtype(x.dtype())?;
            one(Array::full(&x.shape(), &chunk_shape(&x)?, value, dtype)?)
        }
        Api::Asarray => one(asarray(b)?),
        Api::Meshgrid => tuple(meshgrid(b)?),
        Api::Roll => one(roll(b)?),
        Api::Tile => {
            let reps = b.sizes("reps")?.ok_or_else(|| b.none_error("reps"))?;
            one(b.array("A")?.tile(&reps)?)
        }
        Api::Repeat => one(repeat(b)?),
        Api::Hstack | Api::Vstack | Api::Dstack | Api::ColumnStack => {
            let arrays = sequence(b, "tup")?;
            let refs: Vec<&Array> = arrays.iter().collect();
            one(match api {
                Api::Hstack => Array::hstack(&refs)?,
                Api::Vstack => Array::vstack(&refs)?,
                Api::Dstack => Array::dstack(&refs)?,
                _ => Array::column_stack(&refs)?,
            })
        }
        Api::Swapaxes => {
            let (a1, a2) = (required_int(b, "axis1")?, required_int(b, "axis2")?);
            one(b.array("a")?.swapaxes(a1 as isize, a2 as isize)?)
        }
        Api::PermuteDims => {
            let axes = b.sizes("axes")?.ok_or_else(|| b.none_error("axes"))?;
            one(b.array("x")?.permuted_axes(&axes)?)
        }
        Api::MatrixTranspose => one(first()?.swapaxes(-2, -1)?),
        Api::Unstack => {
            let axis = b.int("axis")?.unwrap_or(0) as isize;
            tuple(b.array("x")?.unstack(axis)?)
        }
        Api::Concat => {
            let arrays = arrays(b)?;
            let flat;
            let (parts, axis) = match b.int("axis")? {
                Some(axis) => (arrays, axis as isize),
                None => {
                    flat = arrays
                        .iter()
                        .map(Array::ravel)
                        .collect::<Result<Vec<_>>>()?;
                    (flat, 0)
                }
            };
            let refs: Vec<&Array> = parts.iter().collect();
            one(Array::concatenate(&refs, axis)?)
        }
        Api::Atleast(n) => {
            let items = match b.value("arys")? {
                Value::Tuple(items) => items,
                other => vec![other],
            };
            let lifted = items
                .into_iter()
                .map(|v| into_array(v, b.col)?.atleast(n))
                .collect::<Result<Vec<_>>>()?;
            match <[Array; 1]>::try_from(lifted) {
                Ok([a]) => one(a),
                Err(many) => tuple(many),
            }
        }
        Api::Percentile => one(quantile(b, 0.01, false)?),
        Api::NanQuantile => one(quantile(b, 1.0, true)?),
        Api::NanPercentile => one(quantile(b, 0.01, true)?),
        Api::NanMedian => one(median(b, true)?),
        Api::Cov => {
            let y = optional_array(b, "y")?;
            let ddof = b.int("ddof")?;
            one(b.array("m")?.cov(
                y.as_ref(),
                b.bool("rowvar", true)?,
                ddof,
                b.bool("bias", false)?,
            )?)
        }
        Api::Corrcoef => {
            let y = optional_array(b, "y")?;
            one(b
                .array("x")?
                .corrcoef(y.as_ref(), b.bool("rowvar", true)?)?)
        }
        Api::Average => {
            let w = optional_array(b, "weights")?;
            one(b.array("a")?.average(
                b.axes()?.as_deref(),
                w.as_ref(),
                b.bool("keepdims", false)?,
            )?)
        }
        Api::Ptp => one(b
            .array("a")?
            .ptp(b.axes()?.as_deref(), b.bool("keepdims", false)?)?),
        Api::CountNonzero => one(b
            .array("a")?
            .count_nonzero(b.axes()?.as_deref(), b.bool("keepdims", false)?)?),
        Api::NanScan(op) => {
            let x = b.array("a")?;
            let axis = b.axis_of_1d(&x, "scans")?;
            one(match op {
                ScanOp::Cumsum => x.nancumsum(axis)?,
                ScanOp::Cumprod => x.nancumprod(axis)?,
            })
        }
        Api::NanArgMin | Api::NanArgMax => {
            let x = b.array("a")?;
            let axis = b.int("axis")?.map(|a| a as isize);
            let keepdims = b.bool("keepdims", false)?;
            one(if matches!(api, Api::NanArgMin) {
                x.nanargmin(axis, keepdims)?
            } else {
                x.nanargmax(axis, keepdims)?
            })
        }
        Api::CumulativeSum | Api::CumulativeProd => one(cumulative(api, b)?),
        Api::Argwhere => one(b.array("a")?.argwhere_with(&b.opts)?),
        Api::Nonzero => tuple(b.array("a")?.nonzero_with(&b.opts)?),
        Api::Flatnonzero => {
            let x = b.array("a")?.ravel()?;
            let mut found = x.nonzero_with(&b.opts)?;
            one(found.remove(0))
        }
        Api::Searchsorted => {
            let right = match string(b, "side")?.as_str() {
                "left" => false,
                "right" => true,
                other => {
                    return Err(syntax_error(
                        b.col,
                        format!("searchsorted() side must be 'left' or 'right', got {other:?}"),
                    ));
                }
            };
            let v = b.array("v")?;
            one(b.array("a")?.searchsorted_with(&v, right, &b.opts)?)
        }
        Api::Digitize => {
            let bins = b.array("bins")?;
            one(b
                .array("x")?
                .digitize_with(&bins, b.bool("right", false)?, &b.opts)?)
        }
        Api::Isin => {
            let test = b.array("test_elements")?;
            one(b
                .array("element")?
                .isin_with(&test, b.bool("invert", false)?, &b.opts)?)
        }
        Api::Unique => one(first()?.unique_with(&b.opts)?),
        Api::UniqueValues => one(b.array("x")?.unique_values_with(&b.opts)?),
        Api::UniqueCounts => {
            let u = b.array("x")?.unique_counts_with(&b.opts)?;
            tuple(vec![u.values, u.counts])
        }
        Api::UniqueInverse => {
            let u = b.array("x")?.unique_inverse_with(&b.opts)?;
            tuple(vec![u.values, u.inverse_indices])
        }
        Api::UniqueAll => {
            let u = b.array("x")?.unique_all_with(&b.opts)?;
            tuple(vec![u.values, u.indices, u.inverse_indices, u.counts])
        }
        Api::Sort | Api::Argsort => {
            let axis = b.int("axis")?.unwrap_or(-1) as isize;
            let descending = b.bool("descending", false)?;
            b.bool("stable", true)?;
            let x = b.array("x")?;
            one(if matches!(api, Api::Sort) {
                x.sort_axis_with(axis, descending, &b.opts)?
            } else {
                x.argsort_with(axis, descending, &b.opts)?
            })
        }
        Api::TakeAlongAxis => {
            let axis = required_int(b, "axis")? as isize;
            let indices = b.array("indices")?;
            one(b
                .array("arr")?
                .take_along_axis_with(&indices, axis, &b.opts)?)
        }
        Api::Norm => one(norm(b)?),
        Api::VectorNorm => {
            let ord = norm_order(b)?.unwrap_or(NormOrder::P(2.0));
            one(b
                .array("x")?
                .vector_norm(b.axes()?.as_deref(), b.bool("keepdims", false)?, ord)?)
        }
        Api::MatrixNorm => {
            let ord = norm_order(b)?.unwrap_or(NormOrder::Fro);
            one(b
                .array("x")?
                .matrix_norm([-2, -1], b.bool("keepdims", false)?, ord)?)
        }
        Api::ResultType => result_type(b),
        Api::CanCast => {
            let from = dtype_of(b, b.required("from_")?)?;
            let to = dtype_of(b, b.required("to")?)?;
            Ok(Value::Scalar(Scalar::Bool(DType::promote(from, to) == to)))
        }
        Api::Finfo | Api::Iinfo => info(api, b),
    }
}

/// A value as bool: arrays cast, scalars by Python's truth.
fn bool_value(v: Value, b: &Bound) -> Result<Value> {
    Ok(match v {
        Value::Array(a) => Value::Array(a.astype(DType::Bool)?),
        Value::Scalar(s) => Value::Scalar(Scalar::Bool(s.as_f64() != 0.0)),
        other => {
            return Err(syntax_error(
                b.col,
                format!(
                    "{}() takes arrays or numbers, got {}",
                    b.name,
                    other.type_name()
                ),
            ));
        }
    })
}

/// The chunk shape of `x` (its largest chunk), for arrays made like it.
fn chunk_shape(x: &Array) -> Result<Vec<usize>> {
    Ok(x.chunks()?
        .max_chunk_shape()
        .iter()
        .map(|&c| c.max(1))
        .collect())
}

fn required_int(b: &Bound, param: &str) -> Result<i64> {
    b.int(param)?.ok_or_else(|| b.none_error(param))
}

fn optional_array(b: &Bound, param: &str) -> Result<Option<Array>> {
    b.get(param).map(|_| b.array(param)).transpose()
}

fn string(b: &Bound, param: &str) -> Result<String> {
    let arg = b.required(param)?;
    match &arg.value {
        Value::Str(s) => Ok(s.clone()),
        _ => Err(b.bad(arg, param, "a string")),
    }
}

/// The arrays of a sequence argument (a tuple or list of arrays, or one array).
fn sequence(b: &Bound, param: &str) -> Result<Vec<Array>> {
    let arg = b.required(param)?;
    match &arg.value {
        Value::Tuple(items) if !items.is_empty() => items
            .iter()
            .map(|v| into_array(v.clone(), arg.col))
            .collect(),
        Value::Array(a) => a.unstack(0),
        _ => Err(b.bad(arg, param, "a non-empty sequence of arrays, e.g. (a, b)")),
    }
}

/// `quantile`, `percentile` (`scale` 0.01) and their NaN-ignoring forms: `q` a number or
/// a list (each a leading axis of the result, as NumPy), `keepdims`.
pub(super) fn quantile(b: &Bound, scale: f64, nan: bool) -> Result<Array> {
    let x = b.array("a")?;
    let axis = b.axis_of_1d(&x, "takes the quantile of")?;
    let arg = b.required("q")?;
    let (qs, listed) = match &arg.value {
        Value::Scalar(s) => (vec![s.as_f64()], false),
        Value::Tuple(items) => (
            items
                .iter()
                .map(|v| match v {
                    Value::Scalar(s) => Ok(s.as_f64()),
                    _ => Err(b.bad(arg, "q", "a number or a list of numbers")),
                })
                .collect::<Result<Vec<f64>>>()?,
            true,
        ),
        _ => return Err(b.bad(arg, "q", "a number or a list of numbers")),
    };
    let keepdims = b.bool("keepdims", false)?;
    let each = qs
        .iter()
        .map(|&q| {
            let q = q * scale;
            let r = if nan {
                x.nanquantile(q, axis)?
            } else {
                x.quantile(q, axis)?
            };
            if keepdims { r.expand_dims(axis) } else { Ok(r) }
        })
        .collect::<Result<Vec<_>>>()?;
    if !listed {
        return Ok(each.into_iter().next().unwrap_or_else(|| x.clone()));
    }
    let refs: Vec<&Array> = each.iter().collect();
    Array::stack(&refs, 0)
}

/// `median` and `nanmedian` along an axis, with `keepdims`.
pub(super) fn median(b: &Bound, nan: bool) -> Result<Array> {
    let x = b.array("a")?;
    let axis = b.axis_of_1d(&x, "takes the median of")?;
    let r = if nan {
        x.nanmedian(axis)?
    } else {
        x.median(axis)?
    };
    if b.bool("keepdims", false)? {
        r.expand_dims(axis)
    } else {
        Ok(r)
    }
}

/// The array API's `cumulative_sum` and `cumulative_prod`, with `include_initial`.
fn cumulative(api: Api, b: &Bound) -> Result<Array> {
    let x = b.array("x")?;
    let axis = b.axis_of_1d(&x, "scans")?;
    let (scanned, initial) = if matches!(api, Api::CumulativeSum) {
        (x.cumsum(axis)?, Scalar::Int(0))
    } else {
        (x.cumprod(axis)?, Scalar::Int(1))
    };
    if !b.bool("include_initial", false)? {
        return Ok(scanned);
    }
    let at = crate::expr::normalize_axes(&[axis], x.ndim())?[0];
    let mut shape = x.shape();
    shape[at] = 1;
    let mut chunks = chunk_shape(&scanned)?;
    chunks[at] = 1;
    let first = Array::full(&shape, &chunks, initial, scanned.dtype())?;
    Array::concatenate(&[&first, &scanned], axis)
}

fn roll(b: &Bound) -> Result<Array> {
    let x = b.array("a")?;
    let shifts = b.ints("shift")?.ok_or_else(|| b.none_error("shift"))?;
    let Some(axes) = b.axes()? else {
        return match shifts.as_slice() {
            [s] => x.roll_flat(*s),
            _ => Err(syntax_error(
                b.col,
                "roll() without an axis takes one shift",
            )),
        };
    };
    let shifts = match shifts.len() {
        1 => vec![shifts[0]; axes.len()],
        n if n == axes.len() => shifts,
        _ => {
            return Err(syntax_error(
                b.col,
                "roll() takes one shift, or one per axis",
            ));
        }
    };
    axes.iter()
        .zip(shifts)
        .try_fold(x, |x, (&axis, s)| x.roll(s, axis))
}

fn repeat(b: &Bound) -> Result<Array> {
    let mut x = b.array("a")?;
    let axis = match b.int("axis")? {
        Some(a) => a as isize,
        None => {
            x = x.ravel()?;
            0
        }
    };
    let counts = b.sizes("repeats")?.ok_or_else(|| b.none_error("repeats"))?;
    match (counts.as_slice(), &b.required("repeats")?.value) {
        ([r], Value::Scalar(_)) => x.repeat(*r, axis),
        (_, _) => x.repeat_each(&counts, axis),
    }
}

/// `asarray(obj, dtype)`: an array as it is (converted to `dtype`), or a number or nested
/// lists (see [`literal_array`]).
fn asarray(b: &Bound) -> Result<Array> {
    let param = b.first();
    let arg = b.required(param)?;
    let dtype = match b.get("dtype") {
        Some(_) => Some(b.dtype(DType::F64)?),
        None => None,
    };
    if let Value::Array(a) = &arg.value {
        return match dtype {
            Some(d) => a.astype(d),
            None => Ok(a.clone()),
        };
    }
    let chunks = b.sizes("chunks")?;
    literal_array(&arg.value, dtype, chunks.as_deref())?.ok_or_else(|| {
        b.bad(
            arg,
            param,
            "a number or (nested) lists of numbers of a regular shape",
        )
    })
}

/// A number or nested lists (tuples) of numbers as an array, as NumPy builds one (bools
/// stay bool, ints give int64, a float anywhere float64) unless `dtype` is given; chunks
/// automatic unless given (one length for every axis, or one per axis). `None` for other
/// values and ragged lists.
pub(super) fn literal_array(
    value: &Value,
    dtype: Option<DType>,
    chunks: Option<&[usize]>,
) -> Result<Option<Array>> {
    let mut shape = Vec::new();
    let mut level = value;
    while let Value::Tuple(items) = level {
        shape.push(items.len());
        match items.first() {
            Some(first) => level = first,
            None => break,
        }
    }
    let mut flat = Vec::new();
    if flatten(value, &shape, &mut flat).is_none() {
        return Ok(None);
    }
    let natural = flat
        .iter()
        .map(|s| scalar_dtype(*s))
        .reduce(DType::promote)
        .unwrap_or(DType::F64);
    let dtype = dtype.unwrap_or(natural);
    let chunks: Vec<usize> = match chunks {
        Some(c) if c.len() == shape.len() => c.to_vec(),
        Some(c) if !c.is_empty() => vec![c[0]; shape.len()],
        _ => auto_chunks(&shape, 8),
    };
    let chunks: Vec<usize> = chunks.iter().map(|&c| c.max(1)).collect();
    let exact: Option<Vec<i64>> = flat
        .iter()
        .map(|s| match s {
            Scalar::Int(i) => Some(*i),
            Scalar::Bool(v) => Some(i64::from(*v)),
            Scalar::Float(_) | Scalar::Complex(..) => None,
        })
        .collect();
    let block = match exact {
        Some(ints) if !dtype.is_float() => {
            let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&shape), ints)
                .map_err(|e| Error::internal_from("a literal array", e))?;
            crate::block::Block::from(a).cast(dtype)
        }
        _ if natural.is_complex() => {
            let values: Vec<crate::Complex128> = flat.iter().map(|s| s.as_complex()).collect();
            let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&shape), values)
                .map_err(|e| Error::internal_from("a literal array", e))?;
            crate::block::Block::C128(a).cast(dtype)
        }
        _ => {
            let values: Vec<f64> = flat.iter().map(|s| s.as_f64()).collect();
            let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&shape), values)
                .map_err(|e| Error::internal_from("a literal array", e))?;
            crate::block::Block::from(a).cast(dtype)
        }
    };
    Array::from_ndarray(block, &chunks).map(Some)
}

/// The numbers of nested tuples of `shape`, in C order; `None` when ragged or not numbers.
fn flatten(v: &Value, shape: &[usize], out: &mut Vec<Scalar>) -> Option<()> {
    match (v, shape) {
        (Value::Scalar(s), []) => {
            out.push(*s);
            Some(())
        }
        (Value::Tuple(items), [n, rest @ ..]) if items.len() == *n => {
            items.iter().try_for_each(|i| flatten(i, rest, out))
        }
        _ => None,
    }
}

/// `meshgrid(*xi, indexing='xy')`: each 1-d input broadcast along the others' axes.
fn meshgrid(b: &Bound) -> Result<Vec<Array>> {
    let xs = match b.value("xi")? {
        Value::Tuple(items) => items
            .into_iter()
            .map(|v| into_array(v, b.col))
            .collect::<Result<Vec<_>>>()?,
        _ => Vec::new(),
    };
    let xy = match string(b, "indexing")?.as_str() {
        "xy" => true,
        "ij" => false,
        other => {
            return Err(syntax_error(
                b.col,
                format!("meshgrid() indexing must be 'xy' or 'ij', got {other:?}"),
            ));
        }
    };
    let mut shape: Vec<usize> = xs.iter().map(Array::len).collect();
    if xy && shape.len() >= 2 {
        shape.swap(0, 1);
    }
    xs.iter()
        .enumerate()
        .map(|(i, x)| {
            let axis = match (xy, i) {
                (true, 0) if shape.len() >= 2 => 1,
                (true, 1) => 0,
                _ => i,
            };
            let mut along = vec![1isize; shape.len()];
            along[axis] = x.len() as isize;
            x.ravel()?.reshape(&along)?.broadcast_to(&shape)
        })
        .collect()
}

/// A norm's `ord`: a number, `inf`/`-inf` (floats), or `'fro'`; `None` when not given.
fn norm_order(b: &Bound) -> Result<Option<NormOrder>> {
    let Some(arg) = b.get("ord") else {
        return Ok(None);
    };
    Ok(Some(match &arg.value {
        Value::Str(s) if s == "fro" => NormOrder::Fro,
        Value::Str(s) if s == "nuc" => NormOrder::Nuc,
        Value::Scalar(s) => {
            let p = s.as_f64();
            if p == f64::INFINITY {
                NormOrder::Inf
            } else if p == f64::NEG_INFINITY {
                NormOrder::NegInf
            } else {
                NormOrder::P(p)
            }
        }
        _ => return Err(b.bad(arg, "ord", "a number, inf, -inf, 'fro' or 'nuc'")),
    }))
}

/// NumPy's `linalg.norm(x, ord, axis, keepdims)`: a vector norm over one axis (or of a
/// 1-d array), a matrix norm over two (or of a 2-d array with `ord`), the 2-norm of the
/// flattened array otherwise.
fn norm(b: &Bound) -> Result<Array> {
    let x = b.array("x")?;
    let ord = norm_order(b)?;
    let keepdims = b.bool("keepdims", false)?;
    let axes = b.axes()?;
    match (axes.as_deref(), ord) {
        (None, None) => x.vector_norm(None, keepdims, NormOrder::P(2.0)),
        (None, Some(ord)) if x.ndim() == 1 => x.vector_norm(None, keepdims, ord),
        (None, Some(ord)) if x.ndim() == 2 => x.matrix_norm([0, 1], keepdims, ord),
        (Some([a]), ord) => x.vector_norm(Some(&[*a]), keepdims, ord.unwrap_or(NormOrder::P(2.0))),
        (Some([a, c]), ord) => x.matrix_norm([*a, *c], keepdims, ord.unwrap_or(NormOrder::Fro)),
        _ => Err(syntax_error(
            b.col,
            "norm() takes one axis (a vector norm) or two (a matrix norm); an array of more \
             than 2 dimensions needs axis",
        )),
    }
}

/// The dtype an argument names: a dtype string, or an array's dtype.
fn dtype_of(b: &Bound, arg: &Arg) -> Result<DType> {
    match &arg.value {
        Value::Str(name) => {
            DType::from_name(name).ok_or_else(|| Error::UnknownDType { name: name.clone() })
        }
        Value::Array(a) => Ok(a.dtype()),
        _ => Err(b.bad(arg, "dtype", "a dtype name or an array")),
    }
}

/// `result_type(*arrays_and_dtypes)`: NumPy 2's promotion, numbers weak (NEP 50); the
/// dtype's name.
fn result_type(b: &Bound) -> Result<Value> {
    let Value::Tuple(items) = b.value("arrays_and_dtypes")? else {
        return Err(Error::internal("result_type's arguments are a tuple"));
    };
    let mut strong: Option<DType> = None;
    let mut weak: Vec<Scalar> = Vec::new();
    for v in &items {
        match v {
            Value::Scalar(s) => weak.push(*s),
            other => {
                let arg = Arg {
                    value: other.clone(),
                    col: b.col,
                };
                let d = dtype_of(b, &arg)?;
                strong = Some(strong.map_or(d, |s| DType::promote(s, d)));
            }
        }
    }
    let dtype = match strong {
        Some(d) => weak.iter().fold(d, DType::promote_scalar),
        None => weak
            .iter()
            .map(|s| scalar_dtype(*s))
            .reduce(DType::promote)
            .ok_or_else(|| syntax_error(b.col, "result_type() needs at least one argument"))?,
    };
    Ok(Value::Str(dtype.to_string()))
}

/// `finfo(type)` and `iinfo(type)`: the limits of a dtype, as a record of attributes.
fn info(api: Api, b: &Bound) -> Result<Value> {
    let dtype = dtype_of(b, b.required("type")?)?;
    let bits = Value::Scalar(Scalar::Int(dtype.size() as i64 * 8));
    let name = Value::Str(dtype.to_string());
    let float = |x: f64| Value::Scalar(Scalar::Float(x));
    let int = |x: i64| Value::Scalar(Scalar::Int(x));
    let fields: Vec<(&'static str, Value)> = match (api, dtype.kind(), dtype) {
        (Api::Finfo, Kind::Float, DType::F32) => vec![
            ("bits", bits),
            ("eps", float(f64::from(f32::EPSILON))),
            ("max", float(f64::from(f32::MAX))),
            ("min", float(f64::from(f32::MIN))),
            ("smallest_normal", float(f64::from(f32::MIN_POSITIVE))),
            ("tiny", float(f64::from(f32::MIN_POSITIVE))),
            ("resolution", float(1e-6)),
            ("dtype", name),
        ],
        (Api::Finfo, Kind::Float, _) => vec![
            ("bits", bits),
            ("eps", float(f64::EPSILON)),
            ("max", float(f64::MAX)),
            ("min", float(f64::MIN)),
            ("smallest_normal", float(f64::MIN_POSITIVE)),
            ("tiny", float(f64::MIN_POSITIVE)),
            ("resolution", float(1e-15)),
            ("dtype", name),
        ],
        (Api::Iinfo, Kind::Signed | Kind::Unsigned, _) => {
            let (lo, hi) = integer_range(dtype);
            let hi = match i64::try_from(hi) {
                Ok(h) => int(h),
                Err(_) => float(hi as f64),
            };
            vec![
                ("bits", bits),
                ("max", hi),
                ("min", int(lo)),
                ("dtype", name),
            ]
        }
        _ => {
            return Err(syntax_error(
                b.col,
                format!(
                    "{}() of {dtype}: not a {} dtype",
                    b.name,
                    if matches!(api, Api::Finfo) {
                        "float"
                    } else {
                        "integer"
                    }
                ),
            ));
        }
    };
    Ok(Value::Record {
        kind: if matches!(api, Api::Finfo) {
            "finfo"
        } else {
            "iinfo"
        },
        fields,
    })
}

/// The smallest and largest values of an integer dtype.
fn integer_range(dtype: DType) -> (i64, u64) {
    match dtype {
        DType::I8 => (i8::MIN.into(), i8::MAX as u64),
        DType::I16 => (i16::MIN.into(), i16::MAX as u64),
        DType::I32 => (i32::MIN.into(), i32::MAX as u64),
        DType::I64 => (i64::MIN, i64::MAX as u64),
        DType::U8 => (0, u8::MAX.into()),
        DType::U16 => (0, u16::MAX.into()),
        DType::U32 => (0, u32::MAX.into()),
        _ => (0, u64::MAX),
    }
}
