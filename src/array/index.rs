//! Basic indexing (slices with steps, negative indices, integer indices) and transposes.

use ndarray::SliceInfoElem;

use super::Array;
use crate::error::{Error, Result};
use crate::expr::{self, AxisIndex};

/// One axis of a NumPy-style index: `start:stop:step` or an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumpyIndex {
    /// `start:stop:step`, each part optional, Python semantics (negative values count from
    /// the end, out-of-range bounds clip, a negative step walks backwards from `start`).
    Slice {
        /// Start, or `None` for the default.
        start: Option<isize>,
        /// Stop, or `None` for the default.
        stop: Option<isize>,
        /// Step, or `None` for 1.
        step: Option<isize>,
    },
    /// A single element; the axis is dropped. Negative counts from the end.
    Int(isize),
}

impl NumpyIndex {
    /// The index of the slice `start..stop` along `axis` of an `ndim`-d array, full along
    /// the others.
    pub fn range_along(ndim: usize, axis: usize, start: usize, stop: usize) -> Vec<NumpyIndex> {
        (0..ndim)
            .map(|d| {
                if d == axis {
                    NumpyIndex::Slice {
                        start: Some(start as isize),
                        stop: Some(stop as isize),
                        step: None,
                    }
                } else {
                    NumpyIndex::FULL
                }
            })
            .collect()
    }

    /// `:` (the whole axis).
    pub const FULL: NumpyIndex = NumpyIndex::Slice {
        start: None,
        stop: None,
        step: None,
    };
}

impl Array {
    fn too_many_indices(&self, n: usize) -> Error {
        Error::TooManyIndices {
            given: n,
            shape: self.shape(),
        }
    }

    /// Slices with ndarray's `s![]` semantics: `s![..;2, 5000..]`, negative bounds from the
    /// end, a negative step walking the range backwards from its end, an integer dropping
    /// the axis, `NewAxis` inserting one of length 1. Missing trailing axes are taken whole.
    /// Bounds outside the axis are an error
    /// (as ndarray panics); use [`Array::index_numpy`] for NumPy's clipping.
    ///
    /// # Errors
    /// Out-of-range bounds or indices, a step of 0.
    pub fn slice<I: AsRef<[SliceInfoElem]>>(&self, info: I) -> Result<Array> {
        let e = self.expr()?;
        let shape = e.shape();
        let elems = info.as_ref();
        let new_axis = |el: &SliceInfoElem| matches!(el, SliceInfoElem::NewAxis);
        if elems.iter().filter(|el| !new_axis(el)).count() > shape.len() {
            return Err(self.too_many_indices(elems.len()));
        }
        let mut axes = Vec::with_capacity(shape.len());
        // A NewAxis inserts an axis of length 1 where it stands in the result.
        let (mut new_axes, mut kept) = (Vec::new(), 0);
        for elem in elems {
            if new_axis(elem) {
                new_axes.push(kept as isize);
                kept += 1;
                continue;
            }
            let d = axes.len();
            let ix = AxisIndex::from_ndarray(elem, d, &shape)?
                .ok_or_else(|| Error::internal("NewAxis handled above"))?;
            kept += usize::from(matches!(ix, AxisIndex::Slice { .. }));
            axes.push(ix);
        }
        for &len in &shape[axes.len()..] {
            axes.push(AxisIndex::Slice {
                start: 0,
                step: 1,
                len,
            });
        }
        let mut out = Array::from_expr(expr::index(e, axes)?);
        for axis in new_axes {
            out = out.expand_dims(axis)?;
        }
        Ok(out)
    }

    /// Indexes with NumPy/Python semantics, one [`NumpyIndex`] per leading axis
    /// (`x[::2, 5000:]` is `[Slice{step: 2}, Slice{start: 5000}]`).
    ///
    /// # Errors
    /// An integer index out of range, a step of 0, more indices than axes.
    pub fn index_numpy(&self, index: &[NumpyIndex]) -> Result<Array> {
        let e = self.expr()?;
        let shape = e.shape();
        if index.len() > shape.len() {
            return Err(self.too_many_indices(index.len()));
        }
        let mut axes = Vec::with_capacity(shape.len());
        for (d, ix) in index.iter().enumerate() {
            axes.push(match *ix {
                NumpyIndex::Int(i) => AxisIndex::from_numpy_index(i, d, &shape)?,
                NumpyIndex::Slice { start, stop, step } => {
                    AxisIndex::from_numpy_slice(start, stop, step, shape[d], d)?
                }
            });
        }
        for &len in &shape[index.len()..] {
            axes.push(AxisIndex::Slice {
                start: 0,
                step: 1,
                len,
            });
        }
        Ok(Array::from_expr(expr::index(e, axes)?))
    }

    /// The transpose (axes reversed), like ndarray's `t()`. An array holding an error stays
    /// one.
    pub fn t(&self) -> Array {
        let n = self.ndim();
        let perm: Vec<usize> = (0..n).rev().collect();
        Array::from_result(self.expr().and_then(|e| expr::transpose(e, &perm)))
    }

    /// Permutes the axes: output axis `i` is input axis `perm[i]` (NumPy's
    /// `transpose(axes)`, ndarray's `permuted_axes`).
    ///
    /// # Errors
    /// `perm` not a permutation of the axes.
    pub fn permuted_axes(&self, perm: &[usize]) -> Result<Array> {
        Ok(Array::from_expr(expr::transpose(self.expr()?, perm)?))
    }
}
