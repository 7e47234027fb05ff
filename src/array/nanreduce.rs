//! `any`/`all` and the NaN-ignoring reductions (`nansum nanprod nanmin nanmax nanmean
//! nanvar nanstd`), composed from the blocked reductions and elementwise operations, so
//! every planner property (fusion, culling, the memory bound, spill) holds unchanged.
//!
//! As NumPy: a NaN counts as missing; `nansum`/`nanprod` of an all-NaN slice are 0 and 1;
//! `nanmin`/`nanmax`/`nanmean` of an all-NaN slice are NaN (NumPy also warns);
//! `nanvar`/`nanstd` are NaN where the count of non-NaN elements minus `ddof` is not
//! positive. For integer and bool arrays (which hold no NaN) each is the plain reduction.
//! `nanvar` is two-pass like NumPy's (the mean, then the squared deviations), so the input
//! is read twice; `nanmin`/`nanmax`/`nanmean` count the non-NaN elements in a second
//! reduction over the same input.

use super::{Array, ReduceOptions};
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::expr::{BinaryOp, ReduceOp, UnaryOp};

impl Array {
    /// True where any element along `axes` (all axes when `None`) is nonzero, as NumPy's
    /// `any`: a bool array; `False` over an empty axis.
    ///
    /// # Errors
    /// An axis out of range or repeated.
    pub fn any(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        self.logical(ReduceOp::Max, axes, keepdims, false)
    }

    /// True where every element along `axes` (all axes when `None`) is nonzero, as NumPy's
    /// `all`: a bool array; `True` over an empty axis.
    ///
    /// # Errors
    /// An axis out of range or repeated.
    pub fn all(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        self.logical(ReduceOp::Min, axes, keepdims, true)
    }

    /// `any` (`Max` of the truth values) or `all` (`Min`); `empty` over empty axes.
    fn logical(
        &self,
        op: ReduceOp,
        axes: Option<&[isize]>,
        keepdims: bool,
        empty: bool,
    ) -> Result<Array> {
        let truth = self.as_truth()?;
        let opts = ReduceOptions {
            keepdims,
            ..ReduceOptions::default()
        };
        // min/max refuse empty axes (no identity); any/all have one. Reduce a sum to learn
        // the result's shape and chunks, then fill it.
        let shape = self.shape();
        let reduced = match axes {
            Some(a) => crate::expr::normalize_axes(a, shape.len())?,
            None => (0..shape.len()).collect(),
        };
        if reduced.iter().any(|&a| shape[a] == 0) {
            let like = truth.reduce(ReduceOp::Sum, axes, &opts)?;
            let chunks = like.chunks()?.max_chunk_shape();
            return Array::full(&like.shape(), &chunks, Scalar::Bool(empty), DType::Bool);
        }
        truth.reduce(op, axes, &opts)
    }

    /// The array as bool: nonzero (and NaN) is true, as NumPy's truth value.
    fn as_truth(&self) -> Result<Array> {
        if self.dtype() == DType::Bool {
            return Ok(self.clone());
        }
        self.binary_scalar(BinaryOp::Ne, Scalar::Int(0), false)
    }

    /// The NaN-ignoring form of `op` (NumPy's `nansum`, `nanprod`, `nanmin`, `nanmax`,
    /// `nanmean`, `nanvar`, `nanstd`), with the options of [`Array::reduce`]. See the
    /// module docs for all-NaN slices.
    ///
    /// # Errors
    /// As [`Array::reduce`]; `nanmin`/`nanmax` over an empty axis.
    pub fn nan_reduce(
        &self,
        op: ReduceOp,
        axes: Option<&[isize]>,
        opts: &ReduceOptions,
    ) -> Result<Array> {
        let dtype = self.dtype();
        if !dtype.is_float() {
            return self.reduce(op, axes, opts);
        }
        let nan = self.is_nan()?;
        let filled = |value: f64| -> Result<Array> {
            let fill = Array::full(&[], &[], Scalar::Float(value), dtype)?;
            Array::where_(&nan, &fill, self)
        };
        // Non-NaN elements per output element (int64), and NaN where it is 0.
        let count = |keepdims: bool| -> Result<Array> {
            let kept = nan.unary(UnaryOp::Not)?;
            let opts = ReduceOptions {
                keepdims,
                ..opts.clone()
            };
            kept.reduce(ReduceOp::Sum, axes, &opts)
        };
        let nan_where_empty = |r: &Array, count: &Array| -> Result<Array> {
            let none = count.binary_scalar(BinaryOp::Eq, Scalar::Int(0), false)?;
            let nan = Array::full(&[], &[], Scalar::Float(f64::NAN), r.dtype())?;
            Array::where_(&none, &nan, r)
        };
        match op {
            ReduceOp::Sum => filled(0.0)?.reduce(op, axes, opts),
            ReduceOp::Prod => filled(1.0)?.reduce(op, axes, opts),
            ReduceOp::Min | ReduceOp::Max => {
                let identity = if op == ReduceOp::Min {
                    f64::INFINITY
                } else {
                    f64::NEG_INFINITY
                };
                let r = filled(identity)?.reduce(op, axes, opts)?;
                nan_where_empty(&r, &count(opts.keepdims)?)
            }
            ReduceOp::Mean => {
                let sum = filled(0.0)?.reduce(ReduceOp::Sum, axes, opts)?;
                let count = count(opts.keepdims)?.astype(dtype)?;
                sum.binary(BinaryOp::Div, &count)
            }
            ReduceOp::Var | ReduceOp::Std => {
                let keep = ReduceOptions {
                    keepdims: true,
                    ..opts.clone()
                };
                let mean = self.nan_reduce(ReduceOp::Mean, axes, &keep)?;
                let dev = self.binary(BinaryOp::Sub, &mean)?;
                let zero = Array::full(&[], &[], Scalar::Float(0.0), dtype)?;
                let dev = Array::where_(&nan, &zero, &dev)?;
                let squares = dev.binary(BinaryOp::Mul, &dev)?;
                let sum = squares.reduce(ReduceOp::Sum, axes, opts)?;
                let dof = count(opts.keepdims)?.astype(dtype)?.binary_scalar(
                    BinaryOp::Sub,
                    Scalar::Float(opts.ddof),
                    false,
                )?;
                let var = sum.binary(BinaryOp::Div, &dof)?;
                let none = dof.binary_scalar(BinaryOp::Le, Scalar::Float(0.0), false)?;
                let nan = Array::full(&[], &[], Scalar::Float(f64::NAN), dtype)?;
                let var = Array::where_(&none, &nan, &var)?;
                if op == ReduceOp::Std {
                    var.sqrt()
                } else {
                    Ok(var)
                }
            }
        }
    }
}

impl Array {
    /// Index of the first maximum along `axis` (of the flattened array, in C order, when
    /// `None`), as NumPy's `argmax`: int64; a NaN counts as the maximum (the first NaN wins).
    ///
    /// Two passes over the input: the maximum, then the least index where it occurs.
    ///
    /// # Errors
    /// An axis out of range; an empty array or axis (NumPy: "attempt to get argmax of an
    /// empty sequence").
    pub fn argmax(&self, axis: Option<isize>, keepdims: bool) -> Result<Array> {
        self.arg_extreme(ReduceOp::Max, axis, keepdims)
    }

    /// Index of the first minimum along `axis`, as NumPy's `argmin` (see
    /// [`Array::argmax`]; a NaN counts as the minimum).
    ///
    /// # Errors
    /// As [`Array::argmax`].
    pub fn argmin(&self, axis: Option<isize>, keepdims: bool) -> Result<Array> {
        self.arg_extreme(ReduceOp::Min, axis, keepdims)
    }

    fn arg_extreme(&self, op: ReduceOp, axis: Option<isize>, keepdims: bool) -> Result<Array> {
        let shape = self.shape();
        let axes: Vec<usize> = match axis {
            Some(a) => crate::expr::normalize_axes(&[a], shape.len())?,
            None => (0..shape.len()).collect(),
        };
        if axes.iter().any(|&a| shape[a] == 0) || (axis.is_none() && shape.contains(&0)) {
            return Err(crate::Error::invalid(format!(
                "attempt to get arg{} of an empty sequence (shape {})",
                op.name(),
                crate::grid::fmt_shape(&shape)
            )));
        }
        let iaxes: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
        let keep = ReduceOptions {
            keepdims: true,
            ..ReduceOptions::default()
        };
        let extreme = self.reduce(op, Some(&iaxes), &keep)?;
        // Where the extreme is NaN, the first NaN; elsewhere the first equal element.
        let hit = if self.dtype().is_float() {
            let nan_extreme = extreme.is_nan()?;
            Array::where_(&nan_extreme, &self.is_nan()?, &self.equal(&extreme)?)?
        } else {
            self.equal(&extreme)?
        };
        // The index of each element along the reduced axes (C order over several), as
        // broadcastable int64 ranges.
        let chunks = self.chunks()?.max_chunk_shape();
        let mut index: Option<Array> = None;
        let mut stride = 1i64;
        for &a in axes.iter().rev() {
            let mut r = Array::arange(
                Scalar::Int(0),
                Scalar::Int(shape[a] as i64),
                Scalar::Int(1),
                chunks[a],
            )?;
            if stride != 1 {
                r = r.binary_scalar(BinaryOp::Mul, Scalar::Int(stride), false)?;
            }
            for d in 0..shape.len() {
                if d != a {
                    r = r.expand_dims(d as isize)?;
                }
            }
            index = Some(match index {
                None => r,
                Some(i) => i.binary(BinaryOp::Add, &r)?,
            });
            stride = stride.saturating_mul(shape[a] as i64);
        }
        let index = match index {
            Some(i) => i,
            // A 0-d array: its one element.
            None => return Array::full(&[], &[], Scalar::Int(0), DType::I64),
        };
        let never = Array::full(&[], &[], Scalar::Int(i64::MAX), DType::I64)?;
        let candidates = Array::where_(&hit, &index, &never)?;
        let opts = ReduceOptions {
            keepdims,
            ..ReduceOptions::default()
        };
        candidates.reduce(ReduceOp::Min, Some(&iaxes), &opts)
    }
}
