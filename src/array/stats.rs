//! NumPy's statistics and comparisons built from reductions, scans and products: `ptp`,
//! `count_nonzero`, `average`, `cov`, `corrcoef`, `isclose`/`allclose`, the NaN-ignoring
//! scans and `nanargmin`/`nanargmax`.
//!
//! Each is a composition of blocked operations (tree reductions, block-by-block scans, a
//! blocked matrix product for `cov`), so it keeps the planner's properties: lazy, culled,
//! fused where elementwise, within the memory limit.

use super::axis::AxisArg;
use super::{Array, ReduceOptions};
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::expr::{BinaryOp, ReduceOp, UnaryOp};

/// The options of a reduction that keeps (or not) its axes.
fn keep(keepdims: bool) -> ReduceOptions {
    ReduceOptions {
        keepdims,
        ..ReduceOptions::default()
    }
}

/// A 0-d array of `value` as `dtype`.
fn scalar(value: Scalar, dtype: DType) -> Result<Array> {
    Array::full(&[], &[], value, dtype)
}

/// The float dtype NumPy computes a statistic of `dtype` in: floats keep theirs, others
/// give float64.
fn float_of(dtype: DType) -> DType {
    if dtype.is_float() { dtype } else { DType::F64 }
}

impl Array {
    /// NumPy's `ptp` (peak to peak): `max - min` over `axes` (all when `None`), in the
    /// array's dtype.
    ///
    /// # Errors
    /// Axes out of range; an empty axis.
    pub fn ptp(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        let opts = keep(keepdims);
        let hi = self.reduce(ReduceOp::Max, axes, &opts)?;
        let lo = self.reduce(ReduceOp::Min, axes, &opts)?;
        if self.dtype() == DType::Bool {
            return hi.binary(BinaryOp::Xor, &lo);
        }
        hi.binary(BinaryOp::Sub, &lo)
    }

    /// NumPy's `count_nonzero`: how many elements are not zero (not false), as int64.
    ///
    /// # Errors
    /// Axes out of range.
    pub fn count_nonzero(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        self.astype(DType::Bool)?
            .reduce(ReduceOp::Sum, axes, &keep(keepdims))?
            .astype(DType::I64)
    }

    /// NumPy's `average(a, axis, weights)`: `sum(a * w) / sum(w)` over `axes`, the weights
    /// of `a`'s shape or 1-d along the one axis reduced. Without weights, the mean. The
    /// result is float (float64 for integers).
    ///
    /// # Errors
    /// Weights of another shape, or 1-d weights with other than one axis or of another
    /// length than that axis.
    pub fn average(
        &self,
        axes: Option<&[isize]>,
        weights: Option<&Array>,
        keepdims: bool,
    ) -> Result<Array> {
        let opts = keep(keepdims);
        let Some(w) = weights else {
            return self.reduce(ReduceOp::Mean, axes, &opts);
        };
        let shape = self.try_shape()?;
        let dtype = float_of(DType::promote(self.dtype(), w.dtype()));
        let w = if w.try_shape()? == shape {
            w.astype(dtype)?
        } else {
            let axis = match axes {
                Some([a]) if w.ndim() == 1 => crate::expr::normalize_axes(&[*a], shape.len())?[0],
                _ => {
                    return Err(Error::invalid(format!(
                        "average: weights of shape {} differ from the array's {}; 1-d weights \
                         need one axis",
                        crate::grid::fmt_shape(&w.shape()),
                        crate::grid::fmt_shape(&shape)
                    )));
                }
            };
            if w.len() != shape[axis] {
                return Err(Error::invalid(format!(
                    "average: {} weights for axis {axis} of length {}",
                    w.len(),
                    shape[axis]
                )));
            }
            let mut along = vec![1isize; shape.len()];
            along[axis] = shape[axis] as isize;
            w.astype(dtype)?.reshape(&along)?
        };
        let x = self.astype(dtype)?;
        let num = x
            .binary(BinaryOp::Mul, &w)?
            .reduce(ReduceOp::Sum, axes, &opts)?;
        let den = w.broadcast_to(&shape)?.reduce(ReduceOp::Sum, axes, &opts)?;
        num.binary(BinaryOp::Div, &den)
    }

    /// NumPy's `cov(m, y, rowvar, bias, ddof)`: the covariance of the variables (rows of
    /// `m`, or columns without `rowvar`), by the blocked product of the centred data with
    /// its transpose. float64, as NumPy; a single variable gives a 0-d array.
    ///
    /// # Errors
    /// An array of more than two axes; `y` of another number of observations.
    pub fn cov(
        &self,
        y: Option<&Array>,
        rowvar: bool,
        ddof: Option<i64>,
        bias: bool,
    ) -> Result<Array> {
        let rows = |a: &Array| -> Result<Array> {
            if a.ndim() > 2 {
                return Err(Error::invalid(format!(
                    "cov: expected a 1-d or 2-d array, got shape {}",
                    crate::grid::fmt_shape(&a.shape())
                )));
            }
            a.real_only("cov")?;
            let a = a.atleast(2)?.astype(DType::F64)?;
            if rowvar || a.shape()[0] == 1 {
                Ok(a)
            } else {
                Ok(a.t())
            }
        };
        let mut x = rows(self)?;
        if let Some(y) = y {
            x = Array::concatenate(&[&x, &rows(y)?], 0)?;
        }
        let n = x.shape()[1] as i64;
        let ddof = ddof.unwrap_or(if bias { 0 } else { 1 });
        let centred = x.binary(
            BinaryOp::Sub,
            &x.reduce(ReduceOp::Mean, Some(&[1]), &keep(true))?,
        )?;
        let c = centred.matmul(&centred.t())?.binary_scalar(
            BinaryOp::Div,
            Scalar::Float((n - ddof) as f64),
            false,
        )?;
        if c.shape() == [1, 1] {
            return c.reshape(&[]);
        }
        Ok(c)
    }

    /// NumPy's `corrcoef(x, y, rowvar)`: the covariance divided by the product of the
    /// standard deviations, clipped to [-1, 1].
    ///
    /// # Errors
    /// As [`Array::cov`].
    pub fn corrcoef(&self, y: Option<&Array>, rowvar: bool) -> Result<Array> {
        let c = self.cov(y, rowvar, None, false)?;
        if c.ndim() == 0 {
            return c.binary(BinaryOp::Div, &c);
        }
        let d = c.diagonal(0, 0, 1)?.unary(UnaryOp::Sqrt)?;
        let n = d.len() as isize;
        let r = c
            .binary(BinaryOp::Div, &d.reshape(&[n, 1])?)?
            .binary(BinaryOp::Div, &d.reshape(&[1, n])?)?;
        r.binary_scalar(BinaryOp::Maximum, Scalar::Float(-1.0), false)?
            .binary_scalar(BinaryOp::Minimum, Scalar::Float(1.0), false)
    }

    /// NumPy 2's `isclose(a, b, rtol, atol, equal_nan)`: `|a - b| <= atol + rtol |b|` where
    /// `b` is finite, or `a == b`; NaNs equal each other with `equal_nan`.
    ///
    /// # Errors
    /// Shapes that do not broadcast.
    pub fn isclose(&self, other: &Array, rtol: f64, atol: f64, equal_nan: bool) -> Result<Array> {
        let dtype = float_of(DType::promote(self.dtype(), other.dtype()));
        let (x, y) = (self.astype(dtype)?, other.astype(dtype)?);
        let diff = x.binary(BinaryOp::Sub, &y)?.unary(UnaryOp::Abs)?;
        let bound = y
            .unary(UnaryOp::Abs)?
            .binary_scalar(BinaryOp::Mul, Scalar::Float(rtol), false)?
            .binary_scalar(BinaryOp::Add, Scalar::Float(atol), false)?;
        let close = diff
            .binary(BinaryOp::Le, &bound)?
            .binary(BinaryOp::And, &y.unary(UnaryOp::IsFinite)?)?
            .binary(BinaryOp::Or, &x.binary(BinaryOp::Eq, &y)?)?;
        if !equal_nan {
            return Ok(close);
        }
        let both_nan = x
            .unary(UnaryOp::IsNan)?
            .binary(BinaryOp::And, &y.unary(UnaryOp::IsNan)?)?;
        close.binary(BinaryOp::Or, &both_nan)
    }

    /// NumPy's `allclose`: whether [`Array::isclose`] holds everywhere (a 0-d bool).
    ///
    /// # Errors
    /// As [`Array::isclose`].
    pub fn allclose(&self, other: &Array, rtol: f64, atol: f64, equal_nan: bool) -> Result<Array> {
        self.isclose(other, rtol, atol, equal_nan)?.all(None, false)
    }

    /// The array with NaN replaced by `value` (integers and bool unchanged).
    fn nan_as(&self, value: f64) -> Result<Array> {
        if !self.dtype().is_float() {
            return Ok(self.clone());
        }
        Array::where_(
            &self.unary(UnaryOp::IsNan)?,
            &scalar(Scalar::Float(value), self.dtype())?,
            self,
        )
    }

    /// NumPy's `nancumsum(a, axis)`: the cumulative sum counting NaN as zero.
    ///
    /// # Errors
    /// As [`Array::cumsum`].
    pub fn nancumsum(&self, axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        self.nan_as(0.0)?.cumsum(axis)
    }

    /// NumPy's `nancumprod(a, axis)`: the cumulative product counting NaN as one.
    ///
    /// # Errors
    /// As [`Array::cumprod`].
    pub fn nancumprod(&self, axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        self.nan_as(1.0)?.cumprod(axis)
    }

    /// NumPy's `nanargmin`: the index of the minimum ignoring NaN (a lane of NaN only gives
    /// 0, where NumPy raises).
    ///
    /// # Errors
    /// As [`Array::argmin`].
    pub fn nanargmin(&self, axis: Option<isize>, keepdims: bool) -> Result<Array> {
        self.nan_as(f64::INFINITY)?.argmin(axis, keepdims)
    }

    /// NumPy's `nanargmax`: the index of the maximum ignoring NaN (see
    /// [`Array::nanargmin`]).
    ///
    /// # Errors
    /// As [`Array::argmax`].
    pub fn nanargmax(&self, axis: Option<isize>, keepdims: bool) -> Result<Array> {
        self.nan_as(f64::NEG_INFINITY)?.argmax(axis, keepdims)
    }
}
