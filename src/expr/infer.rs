//! Node constructors: shape, dtype and chunk-grid inference, and the checks that report user
//! mistakes before anything is planned.

use std::sync::Arc;

use super::kind::{BinaryOp, ContractSpec, ExprKind, Generator, ReduceSpec, ScanOp, UnaryOp};
use super::map::{BlockFunction, Boundary, MapSpec, Overlap};
use super::{Expr, ExprRef};
use crate::block::Block;
use crate::dtype::{DType, Kind};
use crate::error::{Error, Result};
use crate::grid::{AxisChunks, ChunkGrid, MAX_BLOCKS, fmt_shape};
use crate::store::BlockRead;

/// One axis of a resolved basic index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AxisIndex {
    /// Elements `start, start + step, …` (`len` of them); `step` may be negative.
    Slice {
        /// First selected element.
        start: usize,
        /// Distance between selected elements (never 0).
        step: isize,
        /// Number of selected elements.
        len: usize,
    },
    /// One element; the axis is dropped.
    Index(usize),
}

impl AxisIndex {
    /// Resolves ndarray's `s![]` element semantics on an axis of length `len`: `start..end`
    /// with negative values counted from the end; a negative step walks the range backwards
    /// from `end - 1`. Out-of-range bounds are an error, as in ndarray.
    ///
    /// # Errors
    /// [`Error::ZeroStep`] for a step of 0, [`Error::IndexOutOfBounds`] for bounds outside
    /// the axis.
    pub fn from_ndarray(
        elem: &ndarray::SliceInfoElem,
        axis: usize,
        shape: &[usize],
    ) -> Result<Option<AxisIndex>> {
        let len = shape[axis];
        let oob = |index: isize| Error::IndexOutOfBounds {
            index,
            axis,
            len,
            shape: shape.to_vec(),
        };
        let abs = |i: isize| -> Result<usize> {
            let a = if i < 0 { len as isize + i } else { i };
            if a < 0 || a as usize > len {
                return Err(oob(i));
            }
            Ok(a as usize)
        };
        match *elem {
            ndarray::SliceInfoElem::Index(i) => {
                let a = abs(i)?;
                if a >= len {
                    return Err(oob(i));
                }
                Ok(Some(AxisIndex::Index(a)))
            }
            ndarray::SliceInfoElem::Slice { start, end, step } => {
                if step == 0 {
                    return Err(Error::ZeroStep { axis });
                }
                let s = abs(start)?;
                let e = abs(end.unwrap_or(len as isize))?.max(s);
                let n = (e - s).div_ceil(step.unsigned_abs());
                let first = if step > 0 || n == 0 { s } else { e - 1 };
                Ok(Some(AxisIndex::Slice {
                    start: first,
                    step: normalized_step(step, n),
                    len: n,
                }))
            }
            ndarray::SliceInfoElem::NewAxis => Ok(None),
        }
    }

    /// Resolves a Python/NumPy slice `start:stop:step` (any part optional) on an axis of
    /// length `len`, clipping out-of-range bounds as Python does.
    ///
    /// # Errors
    /// [`Error::ZeroStep`] for a step of 0.
    pub fn from_numpy_slice(
        start: Option<isize>,
        stop: Option<isize>,
        step: Option<isize>,
        len: usize,
        axis: usize,
    ) -> Result<AxisIndex> {
        let step = step.unwrap_or(1);
        if step == 0 {
            return Err(Error::ZeroStep { axis });
        }
        let n = len as isize;
        let clip = |v: isize, lo: isize, hi: isize| {
            let v = if v < 0 { v + n } else { v };
            v.clamp(lo, hi)
        };
        let (s, e) = if step > 0 {
            (
                start.map_or(0, |v| clip(v, 0, n)),
                stop.map_or(n, |v| clip(v, 0, n)),
            )
        } else {
            (
                start.map_or(n - 1, |v| clip(v, -1, n - 1)),
                stop.map_or(-1, |v| clip(v, -1, n - 1)),
            )
        };
        let (s128, e128, st) = (s as i128, e as i128, step as i128);
        let count = if step > 0 {
            if e128 > s128 {
                (e128 - s128 + st - 1) / st
            } else {
                0
            }
        } else if s128 > e128 {
            (s128 - e128 - st - 1) / -st
        } else {
            0
        };
        Ok(AxisIndex::Slice {
            start: if count == 0 { 0 } else { s as usize },
            step: normalized_step(step, count as usize),
            len: count as usize,
        })
    }

    /// Resolves a Python integer index (negative counts from the end).
    ///
    /// # Errors
    /// [`Error::IndexOutOfBounds`] outside the axis.
    pub fn from_numpy_index(index: isize, axis: usize, shape: &[usize]) -> Result<AxisIndex> {
        let len = shape[axis];
        let a = if index < 0 {
            len as isize + index
        } else {
            index
        };
        if a < 0 || a as usize >= len {
            return Err(Error::IndexOutOfBounds {
                index,
                axis,
                len,
                shape: shape.to_vec(),
            });
        }
        Ok(AxisIndex::Index(a as usize))
    }

    /// The input element of output position `k` along this axis.
    pub fn element(&self, k: usize) -> usize {
        match *self {
            AxisIndex::Slice { start, step, .. } => (start as isize + step * k as isize) as usize,
            AxisIndex::Index(i) => i,
        }
    }
}

/// A step that selects at most one element only matters by its sign; keeping it small
/// keeps composed views free of overflow (`x[::2**62][::2**62]`).
fn normalized_step(step: isize, len: usize) -> isize {
    if len <= 1 { step.signum() } else { step }
}

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

/// Normalizes axes (negative counts from the end), sorts them, and rejects repeats.
///
/// # Errors
/// [`Error::InvalidAxis`] for an axis out of range or repeated.
pub fn normalize_axes(axes: &[isize], ndim: usize) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = if a < 0 { a + ndim as isize } else { a };
        if n < 0 || n as usize >= ndim {
            return Err(Error::InvalidAxis {
                axis: a,
                ndim,
                hint: String::new(),
            });
        }
        if out.contains(&(n as usize)) {
            return Err(Error::InvalidAxis {
                axis: a,
                ndim,
                hint: "repeated axis".into(),
            });
        }
        out.push(n as usize);
    }
    out.sort_unstable();
    Ok(out)
}

/// Checks user-given chunk sizes against a shape and builds the regular grid.
///
/// # Errors
/// [`Error::RankMismatch`] for chunks of another rank; [`Error::InvalidArgument`] for a zero
/// chunk on a non-empty axis.
pub fn regular_grid(shape: &[usize], chunks: &[usize]) -> Result<ChunkGrid> {
    if shape.len() != chunks.len() {
        return Err(Error::RankMismatch {
            op: "chunks".into(),
            what: format!("chunks {}", fmt_shape(chunks)),
            expected: shape.len(),
            found: chunks.len(),
            hint: format!("the shape is {}", fmt_shape(shape)),
        });
    }
    if let Some(axis) = (0..shape.len()).find(|&i| chunks[i] == 0 && shape[i] > 0) {
        return Err(Error::invalid(format!(
            "chunk size 0 on axis {axis} of shape {} (chunk sizes must be at least 1)",
            fmt_shape(shape)
        )));
    }
    let blocks = shape.iter().zip(chunks).try_fold(1u64, |acc, (&n, &c)| {
        acc.checked_mul(n.div_ceil(c.max(1)).max(1) as u64)
    });
    if blocks.is_none_or(|b| b > MAX_BLOCKS) {
        return Err(Error::invalid(format!(
            "shape {} in chunks of {} makes more than {MAX_BLOCKS} blocks; use larger chunks",
            fmt_shape(shape),
            fmt_shape(chunks)
        )));
    }
    Ok(ChunkGrid::regular(shape, chunks))
}

/// A Zarr array source.
pub(crate) fn source(source: Arc<dyn BlockRead>) -> ExprRef {
    let grid = ChunkGrid::regular(source.shape(), source.chunk_shape());
    let dtype = source.dtype();
    Expr::new(ExprKind::Source { source }, dtype, grid)
}

/// An in-memory array cut into `grid`.
pub(crate) fn memory(data: Block, grid: ChunkGrid) -> ExprRef {
    let dtype = data.dtype();
    Expr::new(
        ExprKind::Memory {
            data: Arc::new(data.into_standard_layout()),
        },
        dtype,
        grid,
    )
}

/// A generator of `dtype` values on `grid`.
pub(crate) fn generator(generator: Generator, dtype: DType, grid: ChunkGrid) -> ExprRef {
    Expr::new(ExprKind::Generator { generator }, dtype, grid)
}

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
fn float_dtype(dtype: DType) -> DType {
    match dtype {
        DType::F32 | DType::F64 => dtype,
        DType::Bool | DType::I8 | DType::U8 | DType::I16 | DType::U16 => DType::F32,
        _ => DType::F64,
    }
}

/// The dtype a binary op computes in, and its result dtype.
fn binary_dtypes(op: BinaryOp, a: DType, b: DType) -> Result<(DType, DType)> {
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
        op if op.is_bitwise() && common.is_float() => {
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

/// The grid of a broadcast result: per output axis, the common refinement of the chunkings
/// of the operands that span that axis (dask's `unify_chunks`).
fn broadcast_grid(shape: &[usize], operands: &[&ExprRef]) -> ChunkGrid {
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

/// The chunks of a strided selection: per input chunk (in the order the selection walks
/// them), how many selected elements it holds; empty chunks are dropped (as dask does).
fn sliced_chunks(axis: &AxisChunks, start: usize, step: isize, len: usize) -> AxisChunks {
    if len == 0 {
        return AxisChunks::from_sizes(&[0]);
    }
    let (s, st) = (start as i128, step as i128);
    let mut sizes = Vec::new();
    if step > 0 {
        // count of k in [0, len) with start + k*step < x
        let below = |x: i128| ((x - s + st - 1).div_euclid(st)).clamp(0, len as i128);
        for c in 0..axis.nchunks() {
            let n = below((axis.start(c) + axis.size(c)) as i128) - below(axis.start(c) as i128);
            sizes.push(n as usize);
        }
    } else {
        // count of k in [0, len) with start + k*step >= x
        let at_least = |x: i128| ((s - x).div_euclid(-st) + 1).clamp(0, len as i128);
        for c in (0..axis.nchunks()).rev() {
            let n =
                at_least(axis.start(c) as i128) - at_least((axis.start(c) + axis.size(c)) as i128);
            sizes.push(n as usize);
        }
    }
    AxisChunks::from_sizes(&sizes)
}

/// Basic indexing with resolved per-axis indices (one per input axis).
pub(crate) fn index(input: &ExprRef, axes: Vec<AxisIndex>) -> Result<ExprRef> {
    if axes.len() != input.ndim() {
        return Err(Error::invalid(format!(
            "{} indices given for an array of shape {}",
            axes.len(),
            fmt_shape(&input.shape())
        )));
    }
    let shape = input.shape();
    let identity = axes
        .iter()
        .zip(&shape)
        .all(|(ix, &n)| matches!(ix, AxisIndex::Slice { start: 0, step: 1, len } if *len == n));
    if identity {
        return Ok(input.clone());
    }
    let mut out_axes = Vec::new();
    for (d, ix) in axes.iter().enumerate() {
        match *ix {
            AxisIndex::Index(_) => {}
            AxisIndex::Slice { start, step, len } => {
                out_axes.push(sliced_chunks(&input.grid().axes()[d], start, step, len));
            }
        }
    }
    Ok(Expr::new(
        ExprKind::Index {
            input: input.clone(),
            axes,
        },
        input.dtype(),
        ChunkGrid::from_axes(out_axes),
    ))
}

/// A reduction; `spec.axes` must already be normalized.
pub(crate) fn reduce(input: &ExprRef, spec: ReduceSpec) -> Result<ExprRef> {
    if spec.split_every < 2 {
        return Err(Error::invalid(format!(
            "split_every must be at least 2, got {}",
            spec.split_every
        )));
    }
    let dtype = spec.op.result_dtype(input.dtype());
    let mut out_axes = Vec::new();
    for (d, ax) in input.grid().axes().iter().enumerate() {
        if !spec.axes.contains(&d) {
            out_axes.push(ax.clone());
        } else if spec.keepdims {
            out_axes.push(AxisChunks::regular(1, 1));
        }
    }
    Ok(Expr::new(
        ExprKind::Reduce {
            input: input.clone(),
            spec,
        },
        dtype,
        ChunkGrid::from_axes(out_axes),
    ))
}

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

/// Refuses a grid of more than [`MAX_BLOCKS`] blocks.
pub(super) fn check_blocks(grid: &ChunkGrid) -> Result<()> {
    if grid.nblocks() as u64 > MAX_BLOCKS {
        return Err(Error::invalid(format!(
            "an array of shape {} in {} blocks exceeds {MAX_BLOCKS} blocks; use larger chunks",
            fmt_shape(&grid.shape()),
            grid.nblocks()
        )));
    }
    Ok(())
}

/// A cumulative sum or product along `axis` (already normalized); the operand is cast to
/// the result dtype.
pub(crate) fn scan(input: &ExprRef, op: ScanOp, axis: usize) -> Result<ExprRef> {
    if axis >= input.ndim() {
        return Err(Error::InvalidAxis {
            axis: axis as isize,
            ndim: input.ndim(),
            hint: op.name().into(),
        });
    }
    let dtype = op.result_dtype(input.dtype());
    let operand = cast(input, dtype);
    let grid = operand.grid().clone();
    Ok(Expr::new(
        ExprKind::Scan {
            input: operand,
            op,
            axis,
        },
        dtype,
        grid,
    ))
}

/// The output side of a `map_blocks` node: its dtype, axes and chunks.
pub(crate) struct MapOutput<'a> {
    /// The function.
    pub(crate) func: BlockFunction,
    /// The dtype the function returns.
    pub(crate) dtype: DType,
    /// Input axes the output drops (normalized).
    pub(crate) drop_axis: &'a [usize],
    /// Output axes that are new (normalized in the output's numbering).
    pub(crate) new_axis: &'a [usize],
    /// The output's chunks per axis; by default those of the loop axes, and one element
    /// per new axis.
    pub(crate) chunks: Option<&'a [Vec<usize>]>,
    /// The halo of a `map_overlap`.
    pub(crate) overlap: Option<Overlap>,
}

/// A user function applied block by block to aligned inputs. The inputs are chunked alike
/// (common refinement) along every axis where their lengths agree; an input of length 1
/// along an axis broadcasts (its one block goes with every block along the axis); axes the
/// output drops are made one block.
pub(crate) fn map_blocks(inputs: &[ExprRef], out: MapOutput<'_>) -> Result<ExprRef> {
    let what = |msg: String| Error::invalid(format!("{} '{}': {msg}", op_of(&out), out.func.name));
    let first = inputs
        .first()
        .ok_or_else(|| what("needs at least one input array".into()))?;
    let ndim = first.ndim();
    if let Some(x) = inputs.iter().find(|x| x.ndim() != ndim) {
        return Err(Error::ShapeMismatch {
            op: op_of(&out).into(),
            lhs: first.shape(),
            rhs: x.shape(),
            hint: "the input arrays must have the same number of dimensions".into(),
        });
    }
    // The loop grid: per axis, the length every input has or broadcasts to, and the common
    // refinement of the chunks of the inputs of that length.
    let mut loop_axes = Vec::with_capacity(ndim);
    for d in 0..ndim {
        let len = inputs.iter().map(|x| x.shape()[d]).max().unwrap_or(0);
        let full: Vec<&ExprRef> = inputs.iter().filter(|x| x.shape()[d] == len).collect();
        if let Some(x) = inputs
            .iter()
            .find(|x| x.shape()[d] != len && x.shape()[d] != 1)
        {
            return Err(Error::ShapeMismatch {
                op: op_of(&out).into(),
                lhs: full[0].shape(),
                rhs: x.shape(),
                hint: format!("axis {d} neither matches nor broadcasts (length 1)"),
            });
        }
        if out.overlap.is_some() && full.len() != inputs.len() {
            return Err(what(format!(
                "the inputs must have the same shape (axis {d} broadcasts)"
            )));
        }
        let axis = if out.drop_axis.contains(&d) {
            AxisChunks::regular(len, len.max(1))
        } else {
            full.iter()
                .map(|x| x.grid().axes()[d].clone())
                .reduce(|a, b| a.refine(&b))
                .unwrap_or_else(|| AxisChunks::regular(len, len.max(1)))
        };
        loop_axes.push(axis);
    }
    let aligned: Vec<ExprRef> = inputs
        .iter()
        .map(|x| {
            let axes = (0..ndim)
                .map(|d| match x.shape()[d] == loop_axes[d].len() {
                    true => loop_axes[d].clone(),
                    false => AxisChunks::regular(1, 1),
                })
                .collect();
            rechunk(x, ChunkGrid::from_axes(axes))
        })
        .collect::<Result<_>>()?;
    // Output axes: new ones, and the loop axes not dropped, in order.
    let out_ndim = ndim + out.new_axis.len() - out.drop_axis.len();
    if let Some(&a) = out.new_axis.iter().find(|&&a| a >= out_ndim) {
        return Err(Error::InvalidAxis {
            axis: a as isize,
            ndim: out_ndim,
            hint: "new_axis (in the output's numbering)".into(),
        });
    }
    let mut kept = (0..ndim).filter(|d| !out.drop_axis.contains(d));
    let out_axes: Vec<Option<usize>> = (0..out_ndim)
        .map(|o| match out.new_axis.contains(&o) {
            true => None,
            false => kept.next(),
        })
        .collect();
    let mut kept_blocks = vec![None; out_ndim];
    let axes: Vec<AxisChunks> = match out.chunks {
        None => out_axes
            .iter()
            .map(|a| match a {
                Some(d) => loop_axes[*d].clone(),
                None => AxisChunks::regular(1, 1),
            })
            .collect(),
        Some(chunks) => {
            if chunks.len() != out_ndim {
                return Err(what(format!(
                    "chunks has {} axes, the output has {out_ndim}",
                    chunks.len()
                )));
            }
            let mut axes = Vec::with_capacity(out_ndim);
            for (o, (sizes, a)) in chunks.iter().zip(&out_axes).enumerate() {
                let want = a.map_or(1, |d| loop_axes[d].nchunks());
                if sizes.len() != want {
                    return Err(what(format!(
                        "chunks of output axis {o} has {} blocks, the inputs have {want} along it",
                        sizes.len()
                    )));
                }
                // Blocks declared empty are not computed (the grid has no empty chunks).
                let kept: Vec<usize> = (0..sizes.len()).filter(|&i| sizes[i] > 0).collect();
                if !kept.is_empty() && kept.len() < sizes.len() {
                    kept_blocks[o] = Some(kept.into());
                }
                axes.push(AxisChunks::from_sizes(sizes));
            }
            axes
        }
    };
    let grid = ChunkGrid::from_axes(axes);
    check_blocks(&grid)?;
    if let Some(overlap) = &out.overlap {
        check_overlap(overlap, &first.shape(), &what)?;
        if out_ndim != ndim || out.chunks.is_some() {
            return Err(what(
                "map_overlap keeps the blocks' shapes (no new, dropped or re-chunked axes)".into(),
            ));
        }
    }
    Ok(Expr::new(
        ExprKind::MapBlocks {
            inputs: aligned,
            spec: MapSpec {
                func: out.func,
                out_axes,
                overlap: out.overlap,
                kept_blocks,
            },
        },
        out.dtype,
        grid,
    ))
}

fn op_of(out: &MapOutput<'_>) -> &'static str {
    match out.overlap {
        Some(_) => "map_overlap",
        None => "map_blocks",
    }
}

/// The halo must fit the array where the boundary rule takes it from the array itself.
fn check_overlap(overlap: &Overlap, shape: &[usize], what: &dyn Fn(String) -> Error) -> Result<()> {
    if overlap.depth.len() != shape.len() {
        return Err(Error::RankMismatch {
            op: "map_overlap".into(),
            what: "depth".into(),
            expected: shape.len(),
            found: overlap.depth.len(),
            hint: format!("the arrays' shape is {}", fmt_shape(shape)),
        });
    }
    for (d, (&depth, &len)) in overlap.depth.iter().zip(shape).enumerate() {
        let most = match overlap.boundary {
            Boundary::Reflect | Boundary::Periodic => len,
            Boundary::Mirror => len.saturating_sub(1),
            // The edge element repeated: there must be one.
            Boundary::Nearest if len == 0 => 0,
            Boundary::None | Boundary::Constant(_) | Boundary::Nearest => usize::MAX,
        };
        if depth > most {
            return Err(what(format!(
                "a depth of {depth} on axis {d} exceeds what boundary '{}' can take from an axis of length {len} (at most {most})",
                overlap.boundary.name()
            )));
        }
    }
    Ok(())
}

/// The same values on another grid.
pub(crate) fn rechunk(input: &ExprRef, grid: ChunkGrid) -> Result<ExprRef> {
    if grid.shape() != input.shape() {
        return Err(Error::ShapeMismatch {
            op: "rechunk".into(),
            lhs: input.shape(),
            rhs: grid.shape(),
            hint: "the new chunks must cover the same shape".into(),
        });
    }
    if &grid == input.grid() {
        return Ok(input.clone());
    }
    Ok(Expr::new(
        ExprKind::Rechunk {
            input: input.clone(),
        },
        input.dtype(),
        grid,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_slices_match_python() {
        // list(range(10))[::-3] == [9, 6, 3, 0]
        let ix = AxisIndex::from_numpy_slice(None, None, Some(-3), 10, 0).unwrap();
        assert_eq!(
            ix,
            AxisIndex::Slice {
                start: 9,
                step: -3,
                len: 4
            }
        );
        // list(range(10))[8:2:-2] == [8, 6, 4]
        let ix = AxisIndex::from_numpy_slice(Some(8), Some(2), Some(-2), 10, 0).unwrap();
        assert_eq!(
            ix,
            AxisIndex::Slice {
                start: 8,
                step: -2,
                len: 3
            }
        );
        // list(range(10))[-3:100] == [7, 8, 9]
        let ix = AxisIndex::from_numpy_slice(Some(-3), Some(100), None, 10, 0).unwrap();
        assert_eq!(
            ix,
            AxisIndex::Slice {
                start: 7,
                step: 1,
                len: 3
            }
        );
        let ix = AxisIndex::from_numpy_slice(Some(5), Some(2), None, 10, 0).unwrap();
        assert_eq!(
            ix,
            AxisIndex::Slice {
                start: 0,
                step: 1,
                len: 0
            }
        );
    }

    #[test]
    fn ndarray_slices_match_ndarray() {
        use ndarray::SliceInfoElem;
        let e = SliceInfoElem::Slice {
            start: 2,
            end: Some(8),
            step: -2,
        };
        // ndarray: elements 7, 5, 3
        let ix = AxisIndex::from_ndarray(&e, 0, &[10]).unwrap().unwrap();
        assert_eq!(
            ix,
            AxisIndex::Slice {
                start: 7,
                step: -2,
                len: 3
            }
        );
    }

    #[test]
    fn sliced_chunk_sizes() {
        let ax = AxisChunks::regular(10, 4); // [4, 4, 2]
        assert_eq!(sliced_chunks(&ax, 0, 2, 5).sizes(), vec![2, 2, 1]);
        assert_eq!(sliced_chunks(&ax, 9, -1, 10).sizes(), vec![2, 4, 4]);
        assert_eq!(sliced_chunks(&ax, 5, 1, 5).sizes(), vec![3, 2]);
    }
}
