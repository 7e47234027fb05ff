//! Reductions: whole-array and per-axis, by tree reduction with a configurable fan-in.

use super::axis::AxisArg;

use super::Array;
use crate::error::Result;
use crate::expr::{self, ReduceOp, ReduceSpec, ScanOp};

/// Options of a reduction.
#[derive(Clone, Debug, PartialEq)]
pub struct ReduceOptions {
    /// Keep reduced axes as length 1. Default: false.
    pub keepdims: bool,
    /// Delta degrees of freedom for `var`/`std`. Default: 0.
    pub ddof: f64,
    /// Partials combined per reduced axis at each tree level (dask's `split_every`).
    /// Default: 4, at least 2.
    pub split_every: usize,
}

impl Default for ReduceOptions {
    fn default() -> Self {
        ReduceOptions {
            keepdims: false,
            ddof: 0.0,
            split_every: 4,
        }
    }
}

impl Array {
    /// Reduces over `axes` (all axes when `None`; negative axes count from the end).
    ///
    /// # Errors
    /// An axis out of range or repeated; `min`/`max` of an empty array; `split_every < 2`.
    pub fn reduce(
        &self,
        op: ReduceOp,
        axes: Option<&[isize]>,
        opts: &ReduceOptions,
    ) -> Result<Array> {
        let e = self.expr()?;
        let axes = match axes {
            Some(a) => expr::normalize_axes(a, e.ndim())?,
            None => (0..e.ndim()).collect(),
        };
        let shape = e.shape();
        if matches!(op, ReduceOp::Min | ReduceOp::Max) && axes.iter().any(|&a| shape[a] == 0) {
            return Err(crate::Error::invalid(format!(
                "zero-size array to reduction operation {} which has no identity (shape {})",
                op.name(),
                crate::grid::fmt_shape(&shape)
            )));
        }
        let spec = ReduceSpec {
            op,
            axes,
            keepdims: opts.keepdims,
            ddof: opts.ddof,
            split_every: opts.split_every,
        };
        Ok(Array::from_expr(expr::reduce(e, spec)?))
    }

    fn reduce_all(&self, op: ReduceOp, ddof: f64) -> Result<Array> {
        self.reduce(
            op,
            None,
            &ReduceOptions {
                ddof,
                ..ReduceOptions::default()
            },
        )
    }

    fn reduce_axis(&self, op: ReduceOp, axis: AxisArg, ddof: f64) -> Result<Array> {
        let a = [axis.get()];
        self.reduce(
            op,
            Some(&a),
            &ReduceOptions {
                ddof,
                ..ReduceOptions::default()
            },
        )
    }

    /// Sum of all elements (a 0-d array).
    ///
    /// # Errors
    /// As [`Array::reduce`].
    pub fn sum(&self) -> Result<Array> {
        self.reduce_all(ReduceOp::Sum, 0.0)
    }

    /// Sum along `axis`.
    ///
    /// # Errors
    /// As [`Array::reduce`].
    pub fn sum_axis(&self, axis: impl Into<AxisArg>) -> Result<Array> {
        self.reduce_axis(ReduceOp::Sum, axis.into(), 0.0)
    }

    /// Product of all elements.
    ///
    /// # Errors
    /// As [`Array::reduce`].
    pub fn prod(&self) -> Result<Array> {
        self.reduce_all(ReduceOp::Prod, 0.0)
    }

    /// Product along `axis`.
    ///
    /// # Errors
    /// As [`Array::reduce`].
    pub fn prod_axis(&self, axis: impl Into<AxisArg>) -> Result<Array> {
        self.reduce_axis(ReduceOp::Prod, axis.into(), 0.0)
    }

    /// Mean of all elements.
    ///
    /// # Errors
    /// As [`Array::reduce`].
    pub fn mean(&self) -> Result<Array> {
        self.reduce_all(ReduceOp::Mean, 0.0)
    }

    /// Mean along `axis`.
    ///
    /// # Errors
    /// As [`Array::reduce`].
    pub fn mean_axis(&self, axis: impl Into<AxisArg>) -> Result<Array> {
        self.reduce_axis(ReduceOp::Mean, axis.into(), 0.0)
    }

    /// Minimum of all elements (NaN if any is NaN).
    ///
    /// # Errors
    /// As [`Array::reduce`].
    pub fn min(&self) -> Result<Array> {
        self.reduce_all(ReduceOp::Min, 0.0)
    }

    /// Minimum along `axis`.
    ///
    /// # Errors
    /// As [`Array::reduce`].
    pub fn min_axis(&self, axis: impl Into<AxisArg>) -> Result<Array> {
        self.reduce_axis(ReduceOp::Min, axis.into(), 0.0)
    }

    /// Maximum of all elements (NaN if any is NaN).
    ///
    /// # Errors
    /// As [`Array::reduce`].
    pub fn max(&self) -> Result<Array> {
        self.reduce_all(ReduceOp::Max, 0.0)
    }

    /// Maximum along `axis`.
    ///
    /// # Errors
    /// As [`Array::reduce`].
    pub fn max_axis(&self, axis: impl Into<AxisArg>) -> Result<Array> {
        self.reduce_axis(ReduceOp::Max, axis.into(), 0.0)
    }

    /// Variance of all elements with `ddof` delta degrees of freedom.
    ///
    /// # Errors
    /// As [`Array::reduce`].
    pub fn var(&self, ddof: f64) -> Result<Array> {
        self.reduce_all(ReduceOp::Var, ddof)
    }

    /// Variance along `axis`.
    ///
    /// # Errors
    /// As [`Array::reduce`].
    pub fn var_axis(&self, axis: impl Into<AxisArg>, ddof: f64) -> Result<Array> {
        self.reduce_axis(ReduceOp::Var, axis.into(), ddof)
    }

    /// Standard deviation of all elements with `ddof` delta degrees of freedom.
    ///
    /// # Errors
    /// As [`Array::reduce`].
    pub fn std(&self, ddof: f64) -> Result<Array> {
        self.reduce_all(ReduceOp::Std, ddof)
    }

    /// Standard deviation along `axis`.
    ///
    /// # Errors
    /// As [`Array::reduce`].
    pub fn std_axis(&self, axis: impl Into<AxisArg>, ddof: f64) -> Result<Array> {
        self.reduce_axis(ReduceOp::Std, axis.into(), ddof)
    }

    /// Cumulative sum along `axis` (negative counts from the end), as NumPy's `cumsum`:
    /// bool and small integers accumulate in int64 (unsigned in uint64), floats in their
    /// own dtype, in NumPy's order (bit-identical results). Computed block after block
    /// along the axis, in parallel across the other axes; each element is read once.
    ///
    /// # Errors
    /// An axis out of range.
    pub fn cumsum(&self, axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        self.scan(ScanOp::Cumsum, axis)
    }

    /// Cumulative product along `axis`, as NumPy's `cumprod` (see [`Array::cumsum`]).
    ///
    /// # Errors
    /// An axis out of range.
    pub fn cumprod(&self, axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        self.scan(ScanOp::Cumprod, axis)
    }

    fn scan(&self, op: ScanOp, axis: isize) -> Result<Array> {
        let e = self.expr()?;
        let axis = expr::normalize_axes(&[axis], e.ndim())?[0];
        Ok(Array::from_expr(expr::scan(e, op, axis)?))
    }
}
