//! Structure: joining arrays (`concatenate`, `stack`), inserting, removing and moving axes
//! (`expand_dims`, `squeeze`, `moveaxis`), `broadcast_to`, `flip` and `pad`. All are views
//! or joins that the planner fuses into the consumers' programs: each block reads only the
//! elements it needs, and nothing is materialized at full size.

use super::axis::AxisArg;
use super::{Array, NumpyIndex};
use crate::dtype::Scalar;
use crate::error::{Error, Result};
use crate::expr;

/// How [`Array::pad`] fills the border.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PadMode {
    /// A constant value (NumPy's `mode="constant"`).
    Constant(Scalar),
    /// The edge value repeated (`mode="edge"`).
    Edge,
    /// The values mirrored about the edge, the edge not repeated (`mode="reflect"`).
    Reflect,
}

impl Array {
    /// The arrays joined along `axis` (negative counts from the end), as NumPy's
    /// `concatenate`: the other axes must match; dtypes promote; each input keeps its chunks
    /// along the axis.
    ///
    /// # Errors
    /// No arrays, ranks or off-axis lengths that differ, an axis out of range.
    pub fn concatenate(arrays: &[&Array], axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        let exprs = arrays
            .iter()
            .map(|a| a.expr().cloned())
            .collect::<Result<Vec<_>>>()?;
        let ndim = exprs
            .first()
            .ok_or_else(|| Error::invalid("concatenate needs at least one array"))?
            .ndim();
        if ndim == 0 {
            return Err(Error::invalid(
                "zero-dimensional arrays cannot be concatenated",
            ));
        }
        let axis = expr::normalize_axes(&[axis], ndim)?[0];
        Ok(Array::from_expr(expr::concat(&exprs, axis)?))
    }

    /// The arrays joined along a new axis `axis` of the result, as NumPy's `stack`.
    ///
    /// # Errors
    /// No arrays, arrays of different shapes, an axis out of range.
    pub fn stack(arrays: &[&Array], axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        let first = arrays
            .first()
            .ok_or_else(|| Error::invalid("stack needs at least one array"))?;
        let shape = first.shape();
        if let Some(other) = arrays.iter().find(|a| a.shape() != shape) {
            return Err(Error::ShapeMismatch {
                op: "stack".into(),
                lhs: shape,
                rhs: other.shape(),
                hint: "all arrays must have the same shape".into(),
            });
        }
        let expanded = arrays
            .iter()
            .map(|a| a.expand_dims(axis))
            .collect::<Result<Vec<_>>>()?;
        let refs: Vec<&Array> = expanded.iter().collect();
        Array::concatenate(&refs, axis)
    }

    /// A new axis of length 1 at position `axis` of the result (negative counts from the
    /// end of the result), as NumPy's `expand_dims` or `x[None]`.
    ///
    /// # Errors
    /// An axis out of range.
    pub fn expand_dims(&self, axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        let e = self.expr()?;
        let n = e.ndim() + 1;
        let at = expr::normalize_axes(&[axis], n)?[0];
        let mut shape = vec![1];
        shape.extend(e.shape());
        let lifted = expr::broadcast_to(e, &shape)?;
        let mut perm: Vec<usize> = (1..n).collect();
        perm.insert(at, 0);
        Ok(Array::from_expr(expr::transpose(&lifted, &perm)?))
    }

    /// The array with length-1 axes removed: `axes` (negative counts from the end), or all
    /// of them when `None`, as NumPy's `squeeze`.
    ///
    /// # Errors
    /// An axis out of range, or one whose length is not 1.
    pub fn squeeze(&self, axes: Option<&[isize]>) -> Result<Array> {
        let shape = self.shape();
        let drop = match axes {
            Some(a) => {
                let a = expr::normalize_axes(a, shape.len())?;
                if let Some(&bad) = a.iter().find(|&&d| shape[d] != 1) {
                    return Err(Error::InvalidAxis {
                        axis: bad as isize,
                        ndim: shape.len(),
                        hint: format!("cannot squeeze an axis of length {}", shape[bad]),
                    });
                }
                a
            }
            None => (0..shape.len()).filter(|&d| shape[d] == 1).collect(),
        };
        let index: Vec<NumpyIndex> = (0..shape.len())
            .map(|d| {
                if drop.contains(&d) {
                    NumpyIndex::Int(0)
                } else {
                    NumpyIndex::FULL
                }
            })
            .collect();
        self.index_numpy(&index)
    }

    /// The elements in the same C order under `shape`, as NumPy's `reshape`; one length may
    /// be -1 (inferred from the others).
    ///
    /// Blocks stay near the input's largest block, not whole trailing axes (dask#8110):
    /// the input is read in blocks that are rectangles on both sides (axes before a pivot
    /// cut into single elements, the pivot cut evenly, axes after it whole; see
    /// `expr::reshape`) and each becomes one block of the result, so the result's chunks
    /// are those rectangles. `(20000, 20000)` in 1000² chunks reshaped to `(40000, 10000)`
    /// gives `(100, 10000)` chunks of 8 MB; rechunk the result for other chunks. Input
    /// already cut that way (rows whole, say) is not rechunked.
    ///
    /// # Errors
    /// A shape with another number of elements, more than one -1, another negative length.
    pub fn reshape(&self, shape: &[isize]) -> Result<Array> {
        let from = self.shape();
        let size: usize = from.iter().product();
        let shape = resolve_shape(&from, shape)?;
        if shape == from {
            return Ok(self.clone());
        }
        if size == 0 {
            let chunks: Vec<usize> = shape.iter().map(|&n| n.max(1)).collect();
            return Array::zeros(&shape, &chunks, self.dtype());
        }
        let inner: Vec<usize> = shape.iter().copied().filter(|&n| n != 1).collect();
        let squeezed = self.squeeze(None)?;
        let mut out = Array::from_expr(expr::reshape(squeezed.expr()?, &inner)?);
        for (d, _) in shape.iter().enumerate().filter(|&(_, &n)| n == 1) {
            out = out.expand_dims(d as isize)?;
        }
        Ok(out)
    }

    /// The elements as one axis in C order, as NumPy's `ravel` (`reshape(&[-1])`).
    ///
    /// # Errors
    /// None in practice (as [`Array::reshape`]).
    pub fn ravel(&self) -> Result<Array> {
        self.reshape(&[-1])
    }

    /// The array broadcast to `shape` (NumPy's rules: axes align at the right, length-1
    /// axes stretch), as a view. New and stretched axes are one chunk each, as in dask;
    /// rechunk the result to cut them.
    ///
    /// # Errors
    /// A shape the array does not broadcast to.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Array> {
        Ok(Array::from_expr(expr::broadcast_to(self.expr()?, shape)?))
    }

    /// The elements in reverse order along `axis` (negative counts from the end), as
    /// NumPy's `flip`.
    ///
    /// # Errors
    /// An axis out of range.
    pub fn flip(&self, axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        let n = self.ndim();
        let at = expr::normalize_axes(&[axis], n)?[0];
        let index: Vec<NumpyIndex> = (0..n)
            .map(|d| {
                if d == at {
                    NumpyIndex::Slice {
                        start: None,
                        stop: None,
                        step: Some(-1),
                    }
                } else {
                    NumpyIndex::FULL
                }
            })
            .collect();
        self.index_numpy(&index)
    }

    /// Axis `source` moved to position `destination`, the others in order, as NumPy's
    /// `moveaxis` (negative values count from the end).
    ///
    /// # Errors
    /// Axes out of range.
    pub fn moveaxis(&self, source: isize, destination: isize) -> Result<Array> {
        let n = self.ndim();
        let s = expr::normalize_axes(&[source], n)?[0];
        let d = expr::normalize_axes(&[destination], n)?[0];
        let mut perm: Vec<usize> = (0..n).filter(|&a| a != s).collect();
        perm.insert(d, s);
        self.permuted_axes(&perm)
    }

    /// The array padded with `widths[axis] = (before, after)` elements on each axis, as
    /// NumPy's `pad` with modes constant, edge and reflect. Built from slices, flips and
    /// constants joined by [`Array::concatenate`]: no copy of the array is made.
    ///
    /// # Errors
    /// `widths` of the wrong length; `edge` or `reflect` of an empty axis; `reflect` wider
    /// than the axis minus one (NumPy repeats the reflection then; not supported).
    pub fn pad(&self, widths: &[(usize, usize)], mode: PadMode) -> Result<Array> {
        let shape = self.try_shape()?;
        if widths.len() != shape.len() {
            return Err(Error::RankMismatch {
                op: "pad".into(),
                what: "widths".into(),
                expected: shape.len(),
                found: widths.len(),
                hint: "one (before, after) pair per axis".into(),
            });
        }
        let mut x = self.clone();
        for (axis, &(before, after)) in widths.iter().enumerate() {
            if before == 0 && after == 0 {
                continue;
            }
            x = pad_axis(&x, axis, before, after, mode)?;
        }
        Ok(x)
    }
}

/// Chunks for a border of `shape` next to `x`: `x`'s chunks, clipped to the border.
fn border_chunks(x: &Array, shape: &[usize]) -> Result<Vec<usize>> {
    Ok(x.chunks()?
        .max_chunk_shape()
        .iter()
        .zip(shape)
        .map(|(&c, &n)| c.min(n).max(1))
        .collect())
}

/// `x` padded along one axis.
fn pad_axis(x: &Array, axis: usize, before: usize, after: usize, mode: PadMode) -> Result<Array> {
    let len = x.shape()[axis];
    let ax = axis as isize;
    let take = |start: usize, stop: usize| -> Result<Array> {
        x.index_numpy(&NumpyIndex::range_along(x.ndim(), axis, start, stop))
    };
    let border = |width: usize, at_start: bool| -> Result<Option<Array>> {
        if width == 0 {
            return Ok(None);
        }
        let mut shape = x.shape();
        shape[axis] = width;
        Ok(Some(match mode {
            // NumPy keeps the array's dtype: the value is converted to it.
            PadMode::Constant(value) => {
                Array::full(&shape, &border_chunks(x, &shape)?, value, x.dtype())?
            }
            _ if len == 0 => {
                return Err(Error::invalid(format!(
                    "pad: cannot extend an empty axis {axis} with mode edge or reflect"
                )));
            }
            PadMode::Edge => {
                let edge = if at_start {
                    take(0, 1)?
                } else {
                    take(len - 1, len)?
                };
                edge.broadcast_to(&shape)?
                    .rechunk(&border_chunks(x, &shape)?)?
            }
            PadMode::Reflect => {
                if width >= len {
                    return Err(Error::invalid(format!(
                        "pad: reflect by {width} on axis {axis} of length {len} (at most {})",
                        len.saturating_sub(1)
                    )));
                }
                let part = if at_start {
                    take(1, width + 1)?
                } else {
                    take(len - 1 - width, len - 1)?
                };
                part.flip(ax)?
            }
        }))
    };
    let mut pieces: Vec<Array> = Vec::new();
    pieces.extend(border(before, true)?);
    pieces.push(x.clone());
    pieces.extend(border(after, false)?);
    let refs: Vec<&Array> = pieces.iter().collect();
    Array::concatenate(&refs, ax)
}

impl Array {
    /// The elements at `indices` along `axis` (negative indices count from the end), as
    /// NumPy's `take` with an axis, in the order given (repeats allowed).
    ///
    /// The indices are grouped into runs with a constant step (`[3, 4, 5, 9, 7, 5]` is two
    /// runs, `3:6` and `9:4:-2`); each run is a strided view and the runs are joined with
    /// [`Array::concatenate`], so each output block reads only what it needs and nothing is
    /// materialized. Past 64 runs (a random index set) it gathers per block instead, as
    /// [`Array::vindex`]: sorted indices from each block along the axis, then one task
    /// restoring the order asked for (it holds the result's whole length along the axis).
    ///
    /// # Errors
    /// An index out of range (naming it and the axis length), an axis out of range, a 0-d
    /// array.
    pub fn take(&self, indices: &[i64], axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        let e = self.expr()?;
        let shape = e.shape();
        if shape.is_empty() {
            return Err(Error::invalid(
                "take: a 0-d array has no axis to take along",
            ));
        }
        let axis = expr::normalize_axes(&[axis], shape.len())?[0];
        let resolved = indices
            .iter()
            .map(|&i| super::mask::resolve_index(i, &shape, axis))
            .collect::<Result<Vec<usize>>>()?;
        if resolved.is_empty() {
            let mut out = shape.clone();
            out[axis] = 0;
            return super::empty(&out, self.dtype());
        }
        let mut parts = Vec::new();
        let mut start = 0;
        while start < resolved.len() {
            if parts.len() == MAX_TAKE_RUNS {
                // Many short runs (a random index set): gather per block instead.
                let idx: Vec<i64> = resolved.iter().map(|&i| i as i64).collect();
                return self
                    .moveaxis(axis as isize, 0)?
                    .vindex(&[&idx])?
                    .moveaxis(0, axis as isize);
            }
            // The longest run from `start` with one non-zero step.
            let mut end = start + 1;
            let step = resolved
                .get(start + 1)
                .map(|&b| b as isize - resolved[start] as isize)
                .filter(|&s| s != 0);
            if let Some(step) = step {
                while end < resolved.len()
                    && resolved[end] as isize - resolved[end - 1] as isize == step
                {
                    end += 1;
                }
            }
            let mut axes: Vec<expr::AxisIndex> = shape
                .iter()
                .map(|&n| expr::AxisIndex::Slice {
                    start: 0,
                    step: 1,
                    len: n,
                })
                .collect();
            axes[axis] = expr::AxisIndex::Slice {
                start: resolved[start],
                step: step.unwrap_or(1),
                len: end - start,
            };
            parts.push(Array::from_expr(expr::index(e, axes)?));
            start = end;
        }
        let refs: Vec<&Array> = parts.iter().collect();
        Array::concatenate(&refs, axis as isize)
    }
}

/// Runs of [`Array::take`] joined by `concatenate` before it gathers per block instead.
const MAX_TAKE_RUNS: usize = 64;

/// `shape` with its -1 (at most one) inferred, checked to hold as many elements as `from`.
fn resolve_shape(from: &[usize], shape: &[isize]) -> Result<Vec<usize>> {
    let size: usize = from.iter().product();
    let mismatch = |hint: String| Error::ShapeMismatch {
        op: "reshape".into(),
        lhs: from.to_vec(),
        rhs: shape.iter().map(|&n| n.max(0) as usize).collect(),
        hint,
    };
    if shape.iter().filter(|&&n| n == -1).count() > 1 {
        return Err(mismatch("only one length can be -1".into()));
    }
    if let Some(&bad) = shape.iter().find(|&&n| n < -1) {
        return Err(mismatch(format!("negative length {bad}")));
    }
    let known: usize = shape
        .iter()
        .filter(|&&n| n >= 0)
        .map(|&n| n as usize)
        .product();
    let out: Vec<usize> = match shape.iter().position(|&n| n == -1) {
        Some(at) => {
            if known == 0 || !size.is_multiple_of(known) {
                return Err(mismatch(format!(
                    "cannot reshape an array of size {size} into a shape with -1 and {known} \
                     other elements"
                )));
            }
            let mut v: Vec<usize> = shape.iter().map(|&n| n.max(0) as usize).collect();
            v[at] = size / known;
            v
        }
        None => shape.iter().map(|&n| n as usize).collect(),
    };
    if out.iter().product::<usize>() != size {
        return Err(mismatch(format!(
            "cannot reshape an array of size {size} into shape {}",
            crate::grid::fmt_shape(&out)
        )));
    }
    Ok(out)
}
