//! Vector and matrix norms (`linalg.vector_norm`, `linalg.matrix_norm`, `linalg.norm`) as
//! reductions of `|x|`: tree reductions over the array's blocks, within the memory limit.

use super::{Array, ReduceOptions};
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::expr::{self, BinaryOp, ReduceOp, UnaryOp};

/// The `ord` of a norm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NormOrder {
    /// `p`-norm: `sum(|x|^p)^(1/p)` for vectors (2 by default); for matrices 1, -1 (column
    /// sums), 2, -2 (the largest, smallest singular value).
    P(f64),
    /// `inf`: the largest `|x|` (matrices: the largest row sum).
    Inf,
    /// `-inf`: the smallest `|x|` (matrices: the smallest row sum).
    NegInf,
    /// `'fro'`: the Frobenius norm of a matrix.
    Fro,
    /// `'nuc'`: the nuclear norm of a matrix (the sum of its singular values).
    Nuc,
}

fn keep(keepdims: bool) -> ReduceOptions {
    ReduceOptions {
        keepdims,
        ..ReduceOptions::default()
    }
}

impl Array {
    /// The array API's `linalg.vector_norm(x, axis, keepdims, ord)` over `axes` (all when
    /// `None`). The result is float (float64 for integers; float32 stays).
    ///
    /// # Errors
    /// `Fro` or `Nuc` (matrix norms); axes out of range.
    pub fn vector_norm(
        &self,
        axes: Option<&[isize]>,
        keepdims: bool,
        ord: NormOrder,
    ) -> Result<Array> {
        let dtype = match self.dtype() {
            DType::F32 | DType::C64 => DType::F32,
            _ => DType::F64,
        };
        // |x| first: a complex array's magnitudes are real.
        let a = self.unary(UnaryOp::Abs)?.astype(dtype)?;
        let opts = keep(keepdims);
        match ord {
            NormOrder::Inf => a.reduce(ReduceOp::Max, axes, &opts),
            NormOrder::NegInf => a.reduce(ReduceOp::Min, axes, &opts),
            NormOrder::P(0.0) => a
                .binary_scalar(BinaryOp::Ne, Scalar::Int(0), false)?
                .reduce(ReduceOp::Sum, axes, &opts)?
                .astype(dtype),
            NormOrder::P(1.0) => a.reduce(ReduceOp::Sum, axes, &opts),
            NormOrder::P(2.0) => a
                .binary(BinaryOp::Mul, &a)?
                .reduce(ReduceOp::Sum, axes, &opts)?
                .unary(UnaryOp::Sqrt),
            NormOrder::P(p) => a
                .binary_scalar(BinaryOp::Pow, Scalar::Float(p), false)?
                .reduce(ReduceOp::Sum, axes, &opts)?
                .binary_scalar(BinaryOp::Pow, Scalar::Float(1.0 / p), false),
            NormOrder::Fro | NormOrder::Nuc => Err(Error::invalid(
                "vector_norm: 'fro' and 'nuc' are matrix norms (use matrix_norm or norm with \
                 two axes)",
            )),
        }
    }

    /// NumPy's matrix norms of the two axes `(row, col)`: `Fro`, `P(1.0)`/`P(-1.0)` (the
    /// largest/smallest column sum of `|x|`), `Inf`/`NegInf` (row sums), `P(2.0)`/`P(-2.0)`
    /// (the largest/smallest singular value) and `Nuc` (their sum), the singular values
    /// being [`Array::svdvals`]'s of each matrix.
    ///
    /// # Errors
    /// Other orders; equal axes; axes out of range.
    pub fn matrix_norm(&self, axes: [isize; 2], keepdims: bool, ord: NormOrder) -> Result<Array> {
        let n = self.try_shape()?.len();
        let ax = expr::normalize_axes(&axes, n)?;
        let (row, col) = (ax[0], ax[1]);
        if row == col {
            return Err(Error::invalid("matrix_norm: the two axes must differ"));
        }
        let dtype = match self.dtype() {
            DType::F32 | DType::C64 => DType::F32,
            _ => DType::F64,
        };
        let a = self.unary(UnaryOp::Abs)?.astype(dtype)?;
        // Sum over `over`, then the extreme over `then` (both kept, so axes do not shift).
        let extreme = |over: usize, then: usize, op: ReduceOp| -> Result<Array> {
            let s = a.reduce(ReduceOp::Sum, Some(&[over as isize]), &keep(true))?;
            let r = s.reduce(op, Some(&[then as isize]), &keep(true))?;
            if keepdims {
                Ok(r)
            } else {
                r.squeeze(Some(&[row as isize, col as isize]))
            }
        };
        match ord {
            NormOrder::Fro => self.vector_norm(
                Some(&[row as isize, col as isize]),
                keepdims,
                NormOrder::P(2.0),
            ),
            NormOrder::P(1.0) => extreme(row, col, ReduceOp::Max),
            NormOrder::P(-1.0) => extreme(row, col, ReduceOp::Min),
            NormOrder::Inf => extreme(col, row, ReduceOp::Max),
            NormOrder::NegInf => extreme(col, row, ReduceOp::Min),
            NormOrder::P(p) if p == 2.0 || p == -2.0 => self.singular_norm(
                row,
                col,
                keepdims,
                dtype,
                if p > 0.0 {
                    ReduceOp::Max
                } else {
                    ReduceOp::Min
                },
            ),
            NormOrder::Nuc => self.singular_norm(row, col, keepdims, dtype, ReduceOp::Sum),
            NormOrder::P(p) => Err(Error::invalid(format!(
                "matrix_norm: ord {p} is not supported (use 'fro', 'nuc', 1, -1, 2, -2, inf or \
                 -inf)"
            ))),
        }
    }

    /// A reduction (`op`: max, min, sum) of the singular values of the matrices in axes
    /// `row` and `col`.
    fn singular_norm(
        &self,
        row: usize,
        col: usize,
        keepdims: bool,
        dtype: DType,
        op: ReduceOp,
    ) -> Result<Array> {
        let n = self.ndim();
        let mut perm: Vec<usize> = (0..n).filter(|&d| d != row && d != col).collect();
        perm.extend([row, col]);
        let s = self.permuted_axes(&perm)?.svdvals()?.astype(dtype)?;
        let r = s.reduce(op, Some(&[-1]), &keep(false))?;
        if !keepdims {
            return Ok(r);
        }
        let (lo, hi) = (row.min(col), row.max(col));
        r.expand_dims(lo as isize)?.expand_dims(hi as isize)
    }
}
