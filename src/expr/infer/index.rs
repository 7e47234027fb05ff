//! Index semantics: NumPy's basic indexing resolved per axis ([`AxisIndex`]), negative axes
//! normalized, and the chunks and node of a strided selection.

use crate::error::{Error, Result};
use crate::expr::kind::ExprKind;
use crate::expr::{Expr, ExprRef};
use crate::grid::{AxisChunks, ChunkGrid, fmt_shape};

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
pub(super) fn normalized_step(step: isize, len: usize) -> isize {
    if len <= 1 { step.signum() } else { step }
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

/// The chunks of a strided selection: per input chunk (in the order the selection walks
/// them), how many selected elements it holds; empty chunks are dropped (as dask does).
pub(super) fn sliced_chunks(
    axis: &AxisChunks,
    start: usize,
    step: isize,
    len: usize,
) -> AxisChunks {
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
