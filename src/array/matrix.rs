//! The array API's `linalg.matrix_power`, `linalg.matrix_rank`, `linalg.pinv` and
//! `linalg.cross`, as compositions of the products and factorizations: lazy, and out of
//! core where their parts are (`matmul`, the blocked `inv`, the tall-skinny SVD); stacks
//! of matrices (`..., M, N`) go through the in-memory factorizations of `dense.rs`, or,
//! matrices too large for those, matrix by matrix ([`Array::per_matrix`]: each matrix of
//! the stack computed as one, the results stacked back).

use super::axis::AxisArg;
use super::dense;
use super::{Array, NumpyIndex};
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};

/// The shape of the matrices of a matrix or a stack (the last two axes), or an error
/// naming `what`.
fn matrix_shape(x: &Array, what: &str) -> Result<(usize, usize)> {
    match x.try_shape()?[..] {
        [.., m, n] => Ok((m, n)),
        ref other => Err(Error::invalid(format!(
            "{what}: takes a matrix (or a stack of them), got shape {}",
            crate::grid::fmt_shape(other)
        ))),
    }
}

/// The machine epsilon of a float dtype's results (float32 stays float32; the rest are
/// computed in float64).
fn eps(dtype: DType) -> f64 {
    if dtype == DType::F32 {
        f64::from(f32::EPSILON)
    } else {
        f64::EPSILON
    }
}

/// The conjugate transpose of each matrix (the last two axes).
fn adjoint(x: &Array) -> Result<Array> {
    x.swapaxes(-1, -2)?.unary(crate::UnaryOp::Conj)
}

/// The largest of each row of singular values (the last axis), kept as an axis of 1 so
/// that it broadcasts against them; 0 for an empty row.
fn largest(s: &Array) -> Result<Array> {
    if s.try_shape()?.last() == Some(&0) {
        return Ok(s.clone());
    }
    s.max_axis(-1)?.expand_dims(-1)
}

/// The relative tolerance of `matrix_rank` and `pinv`.
#[derive(Clone, Copy)]
enum Tol<'a> {
    /// max(m, n) times the machine epsilon of the singular values' dtype.
    Default,
    Value(f64),
    /// One per matrix, broadcast against the stack's shape.
    Array(&'a Array),
}

impl Tol<'_> {
    /// The cutoff below which the singular values `s` (`..., k`) of m × n matrices count
    /// as zero, broadcasting against them.
    fn cutoff(self, s: &Array, side: usize) -> Result<Array> {
        let top = largest(s)?;
        match self {
            Tol::Default => Ok(&top * (side as f64 * eps(s.dtype()))),
            Tol::Value(r) => Ok(&top * r),
            Tol::Array(r) => Ok(&top * &r.expand_dims(-1)?),
        }
    }

    /// The tolerance as a number, for the matrices of a stack computed one at a time.
    fn number(self, what: &str) -> Result<Option<f64>> {
        match self {
            Tol::Default => Ok(None),
            Tol::Value(r) => Ok(Some(r)),
            Tol::Array(_) => Err(Error::invalid(format!(
                "{what}: an array of rtol values needs matrices small enough to factor in \
                 one task ({} each); give one number",
                crate::units::format_bytes(dense::DENSE_MATRIX_BYTES as u64)
            ))),
        }
    }
}

impl Array {
    /// `f` of each matrix of a stack (the last two axes; the batch axes before them), the
    /// results stacked back under the batch axes; `f` of `self` for a 2-d (or smaller)
    /// array. Each matrix is its own lazy computation of `f` (a stack of many small
    /// matrices makes as many small graphs).
    ///
    /// # Errors
    /// `f`'s (for an empty stack, those of planning `f` of one matrix of zeros).
    pub(super) fn per_matrix(&self, f: impl Fn(&Array) -> Result<Array>) -> Result<Array> {
        let shape = self.try_shape()?;
        let nd = shape.len();
        if nd <= 2 {
            return f(self);
        }
        let batch = &shape[..nd - 2];
        let count: usize = batch.iter().product();
        if count == 0 {
            // The result of one matrix, planned but never computed, gives the shape and
            // dtype of each item of the empty result.
            let one = f(&Array::zeros(&shape[nd - 2..], &[1, 1], self.dtype())?)?;
            let mut out = batch.to_vec();
            out.extend(one.try_shape()?);
            let chunks: Vec<usize> = out.iter().map(|&d| d.max(1)).collect();
            return Array::zeros(&out, &chunks, one.dtype());
        }
        let flat = self.reshape(&[
            count as isize,
            shape[nd - 2] as isize,
            shape[nd - 1] as isize,
        ])?;
        let results = (0..count)
            .map(|k| f(&flat.index_numpy(&[NumpyIndex::Int(k as isize)])?))
            .collect::<Result<Vec<_>>>()?;
        let stacked = Array::stack(&results.iter().collect::<Vec<_>>(), 0)?;
        let mut out: Vec<isize> = batch.iter().map(|&d| d as isize).collect();
        out.extend(stacked.try_shape()?[1..].iter().map(|&d| d as isize));
        stacked.reshape(&out)
    }

    /// The array API's `linalg.matrix_power(x, n)`: `x` multiplied by itself `n` times
    /// (binary powering: about 2 log₂ n blocked products); `n = 0` gives the identity of
    /// `x`'s dtype, a negative `n` the power of the blocked inverse.
    ///
    /// ```
    /// use brickwork::Array;
    /// let a = Array::from_ndarray(ndarray::array![[1.0, 1.0], [0.0, 1.0]].into_dyn(), &[1, 1])?;
    /// let p = a.matrix_power(5)?.compute_as::<f64>()?;
    /// assert_eq!(p, ndarray::array![[1.0, 5.0], [0.0, 1.0]].into_dyn());
    /// # Ok::<(), brickwork::Error>(())
    /// ```
    ///
    /// # Errors
    /// An array that is not one square matrix; as [`Array::inv`] for a negative `n`.
    pub fn matrix_power(&self, n: i64) -> Result<Array> {
        let shape = self.try_shape()?;
        if shape.len() < 2 || shape[shape.len() - 1] != shape[shape.len() - 2] {
            return Err(Error::invalid(format!(
                "matrix_power: takes a square matrix (or a stack of them in the last two \
                 axes), got shape {}",
                crate::grid::fmt_shape(&shape)
            )));
        }
        if n == 0 {
            let m = shape[shape.len() - 1];
            let chunks = self.chunks()?.max_chunk_shape();
            let side = &chunks[chunks.len() - 2..];
            return Array::eye(m, m, 0, self.dtype(), side)?.broadcast_to(&shape);
        }
        let mut base = if n < 0 { self.inv()? } else { self.clone() };
        let mut left = n.unsigned_abs();
        let mut result: Option<Array> = None;
        loop {
            if left & 1 == 1 {
                result = Some(match result {
                    None => base.clone(),
                    Some(r) => r.matmul(&base)?,
                });
            }
            left >>= 1;
            if left == 0 {
                break;
            }
            base = base.matmul(&base)?;
        }
        result.ok_or_else(|| Error::internal("matrix_power of a zero exponent"))
    }

    /// The array API's `linalg.matrix_rank(x, rtol)`: the number of singular values above
    /// `rtol` times the largest (default `rtol`: max(m, n) times the machine epsilon of the
    /// result's float dtype), as an int64 array of the stack's shape (0-d for one matrix).
    /// The singular values are [`Array::svdvals`]'s (the tall-skinny SVD's for one real
    /// matrix, of the transpose for a wide one).
    ///
    /// # Errors
    /// An array of fewer than two dimensions; as [`Array::svdvals`].
    pub fn matrix_rank(&self, rtol: Option<f64>) -> Result<Array> {
        self.rank_with(rtol.map_or(Tol::Default, Tol::Value))
    }

    /// [`Array::matrix_rank`] with a relative tolerance per matrix: `rtol` broadcasts
    /// against the stack's shape (the axes before the last two), as the standard allows.
    ///
    /// # Errors
    /// As [`Array::matrix_rank`]; an `rtol` that does not broadcast against the stack; a
    /// stack of matrices too large to factor in one task (each one's SVD out of core takes
    /// a number, not an array).
    pub fn matrix_rank_rtol(&self, rtol: &Array) -> Result<Array> {
        self.rank_with(Tol::Array(rtol))
    }

    fn rank_with(&self, rtol: Tol<'_>) -> Result<Array> {
        if self.ndim() > 2 && !dense::wanted(&[self]) {
            let rtol = rtol.number("matrix_rank")?;
            return self.per_matrix(|x: &Array| x.matrix_rank(rtol));
        }
        let (m, n) = matrix_shape(self, "matrix_rank")?;
        let s = if self.ndim() == 2 && m < n && !dense::wanted(&[self]) {
            // The tall-skinny SVD factors the transpose of a wide matrix.
            self.t().svdvals()?
        } else {
            self.svdvals()?
        };
        let tol = rtol.cutoff(&s, m.max(n))?;
        s.greater(&tol)?.count_nonzero(Some(&[-1]), false)
    }

    /// The array API's `linalg.pinv(x, rtol)`: the Moore–Penrose pseudo-inverse from the
    /// SVD, singular values at most `rtol` times the largest counted as zero (default
    /// `rtol`: max(m, n) times the machine epsilon), as NumPy's `pinv(x, rtol=...)`, of a
    /// matrix or of each matrix of a stack. Lazy: `Vᴴ diag(1/s) Uᴴ` of [`Array::svd`]
    /// (the tall-skinny SVD for one real matrix, of the transpose for a wide one, whose
    /// pseudo-inverse is the transpose's transposed).
    ///
    /// # Errors
    /// An array of fewer than two dimensions; as [`Array::svd`].
    pub fn pinv(&self, rtol: Option<f64>) -> Result<Array> {
        self.pinv_with(rtol.map_or(Tol::Default, Tol::Value))
    }

    /// [`Array::pinv`] with a relative tolerance per matrix (see
    /// [`Array::matrix_rank_rtol`]).
    ///
    /// # Errors
    /// As [`Array::matrix_rank_rtol`].
    pub fn pinv_rtol(&self, rtol: &Array) -> Result<Array> {
        self.pinv_with(Tol::Array(rtol))
    }

    fn pinv_with(&self, rtol: Tol<'_>) -> Result<Array> {
        if self.ndim() > 2 && !dense::wanted(&[self]) {
            let rtol = rtol.number("pinv")?;
            return self.per_matrix(|x: &Array| x.pinv(rtol));
        }
        let (m, n) = matrix_shape(self, "pinv")?;
        if self.ndim() == 2 && m < n && !dense::wanted(&[self]) {
            // The tall-skinny SVD factors the transpose of a wide matrix.
            return Ok(self.t().pinv_with(rtol)?.t());
        }
        let (u, s, vh) = self.svd()?;
        let cutoff = rtol.cutoff(&s, m.max(n))?;
        let zero = Array::full(&[], &[], Scalar::Float(0.0), s.dtype())?;
        let inverse = Array::where_(&s.greater(&cutoff)?, &(1.0 / &s), &zero)?;
        // Vᴴ (diag(1/s) Uᴴ): the row scaling as a broadcast product.
        let scaled = &inverse.expand_dims(-1)? * &adjoint(&u)?;
        adjoint(&vh)?.matmul(&scaled)
    }

    /// The array API's `linalg.cross(x1, x2, axis=-1)`: the cross product of 3-vectors
    /// along `axis` (of the broadcast shape), the operands broadcast against each other.
    /// Lazy: three differences of elementwise products, stacked.
    ///
    /// # Errors
    /// Shapes that do not broadcast; an `axis` out of range or whose length is not 3 in
    /// either operand.
    pub fn cross(&self, other: &Array, axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        let (a, b) = (self.try_shape()?, other.try_shape()?);
        let nd = a.len().max(b.len());
        let neg = if axis < 0 { axis } else { axis - nd as isize };
        if neg < -(nd as isize) || neg >= 0 {
            return Err(Error::invalid(format!(
                "cross: axis {axis} is out of range for arrays of shapes {} and {}",
                crate::grid::fmt_shape(&a),
                crate::grid::fmt_shape(&b)
            )));
        }
        let component = |x: &Array, shape: &[usize], k: isize| -> Result<Array> {
            let d = shape.len() as isize + neg;
            if d < 0 || shape[d as usize] != 3 {
                return Err(Error::invalid(format!(
                    "cross: the vectors along axis {axis} must have 3 elements, got shapes {} \
                     and {}",
                    crate::grid::fmt_shape(&a),
                    crate::grid::fmt_shape(&b)
                )));
            }
            let mut index = vec![NumpyIndex::FULL; shape.len()];
            index[d as usize] = NumpyIndex::Int(k);
            x.index_numpy(&index)
        };
        let x: Vec<Array> = (0..3)
            .map(|k| component(self, &a, k))
            .collect::<Result<_>>()?;
        let y: Vec<Array> = (0..3)
            .map(|k| component(other, &b, k))
            .collect::<Result<_>>()?;
        let c0 = &(&x[1] * &y[2]) - &(&x[2] * &y[1]);
        let c1 = &(&x[2] * &y[0]) - &(&x[0] * &y[2]);
        let c2 = &(&x[0] * &y[1]) - &(&x[1] * &y[0]);
        Array::stack(&[&c0, &c1, &c2], nd as isize + neg)
    }
}
