//! Stencils built on [`map_overlap`](super::map_overlap): scipy.ndimage's
//! `uniform_filter`, `minimum_filter` and `maximum_filter`, NumPy's `gradient`; and NumPy's
//! `diff`, built on slicing.

use super::axis::AxisArg;
use ndarray::ArrayViewD;

use super::map::map_overlap_internal;
use super::{Array, MapBlocks, NumpyIndex};
use crate::block::{Block, BlockElement};
use crate::dtype::{DType, Kind};
use crate::error::{Error, Result};
use crate::expr::{self, BinaryOp, Boundary};
use crate::kernel::filter::{self, WindowOp};

impl Array {
    /// The mean over a window of `size[d]` elements along each axis `d` around every
    /// element (scipy.ndimage's `uniform_filter` with `origin=0`: element `i` sees
    /// `[i - size/2, i - size/2 + size)`), the array extended at its edges by `boundary`.
    /// Computed in float64; float32 input gives float32, integers and bool give float64.
    ///
    /// # Errors
    /// `size` not one per axis, a size of 0, [`Boundary::None`] (scipy has no such mode),
    /// a window larger than the array where the boundary reads the array itself.
    pub fn uniform_filter(&self, size: &[usize], boundary: Boundary) -> Result<Array> {
        let out = match self.dtype() {
            DType::F32 => DType::F32,
            _ => DType::F64,
        };
        self.real_only("uniform_filter")?;
        let x = self.astype(DType::F64)?;
        x.window(size, boundary, WindowOp::Mean, "uniform_filter")?
            .astype(out)
    }

    /// The least element over a window of `size[d]` elements along each axis around every
    /// element (scipy.ndimage's `minimum_filter`; see [`Array::uniform_filter`] for the
    /// window and the errors). The dtype is kept; a NaN in the window gives NaN.
    ///
    /// # Errors
    /// As [`Array::uniform_filter`].
    pub fn minimum_filter(&self, size: &[usize], boundary: Boundary) -> Result<Array> {
        self.window(size, boundary, WindowOp::Min, "minimum_filter")
    }

    /// The greatest element over a window around every element (scipy.ndimage's
    /// `maximum_filter`; see [`Array::minimum_filter`]).
    ///
    /// # Errors
    /// As [`Array::uniform_filter`].
    pub fn maximum_filter(&self, size: &[usize], boundary: Boundary) -> Result<Array> {
        self.window(size, boundary, WindowOp::Max, "maximum_filter")
    }

    fn window(
        &self,
        size: &[usize],
        boundary: Boundary,
        op: WindowOp,
        name: &str,
    ) -> Result<Array> {
        let ndim = self.try_shape()?.len();
        if size.len() != ndim {
            return Err(Error::RankMismatch {
                op: name.into(),
                what: "size".into(),
                expected: ndim,
                found: size.len(),
                hint: String::new(),
            });
        }
        if size.contains(&0) {
            return Err(Error::invalid(format!("{name}: a size of 0 in {size:?}")));
        }
        if boundary == Boundary::None {
            return Err(Error::invalid(format!(
                "{name}: boundary 'none' leaves edge windows short; use reflect, mirror, nearest, constant or wrap"
            )));
        }
        let depth: Vec<usize> = size.iter().map(|&k| k / 2).collect();
        let size = size.to_vec();
        map_overlap_internal(
            &[self],
            &depth,
            boundary,
            &MapBlocks::new(name).temporaries(2),
            move |blocks, _info| {
                let b = blocks[0];
                Ok(crate::dispatch_dtype!(b.dtype(), T => {
                    let v: ArrayViewD<'_, T> = b.view::<T>().ok_or_else(|| Error::internal("a block of another dtype"))?;
                    T::wrap(filter::window_filter(v, &size, op))
                }))
            },
        )
    }

    /// NumPy's `gradient` along `axis` with unit spacing: `(x[i+1] - x[i-1]) / 2` inside,
    /// one-sided differences at the two ends. float32 stays float32; other dtypes give
    /// float64.
    ///
    /// # Errors
    /// An axis out of range, or fewer than 2 elements along it (as NumPy).
    pub fn gradient(&self, axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        let axis = expr::normalize_axes(&[axis], self.ndim())?[0];
        if self.shape()[axis] < 2 {
            return Err(Error::invalid(format!(
                "gradient: axis {axis} of an array of shape {} has fewer than 2 elements",
                crate::grid::fmt_shape(&self.shape())
            )));
        }
        self.real_only("gradient")?;
        let x = match self.dtype() {
            DType::F32 | DType::F64 => self.clone(),
            _ => self.astype(DType::F64)?,
        };
        let mut depth = vec![0; self.ndim()];
        depth[axis] = 1;
        map_overlap_internal(
            &[&x],
            &depth,
            Boundary::None,
            &MapBlocks::new("gradient"),
            move |blocks, _info| {
                let b = blocks[0];
                match b.dtype() {
                    DType::F32 => Ok(Block::from(filter::gradient(
                        b.view::<f32>().ok_or_else(|| Error::internal("float32"))?,
                        axis,
                    ))),
                    _ => Ok(Block::from(filter::gradient(
                        b.view::<f64>().ok_or_else(|| Error::internal("float64"))?,
                        axis,
                    ))),
                }
            },
        )
    }

    /// NumPy's `diff`: the `n`-th difference along `axis`, `x[1:] - x[:-1]` applied `n`
    /// times (for bool, `x[1:] != x[:-1]`). The axis shrinks by `n` (to 0 at most).
    ///
    /// # Errors
    /// An axis out of range.
    pub fn diff(&self, n: usize, axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        let axis = expr::normalize_axes(&[axis], self.ndim())?[0];
        let mut x = self.clone();
        for _ in 0..n {
            let len = x.shape()[axis];
            if len == 0 {
                break;
            }
            let part = |from: usize, to: usize| -> Result<Array> {
                let mut index = vec![NumpyIndex::FULL; x.ndim()];
                index[axis] = NumpyIndex::Slice {
                    start: Some(from as isize),
                    stop: Some(to as isize),
                    step: None,
                };
                x.index_numpy(&index)
            };
            let (hi, lo) = (part(1, len)?, part(0, len - 1)?);
            x = match x.dtype().kind() {
                Kind::Bool => hi.not_equal(&lo)?,
                _ => hi.binary(BinaryOp::Sub, &lo)?,
            };
        }
        Ok(x)
    }
}
