//! Diagonals and triangles: `eye`, `tri`, `tril`, `triu`, `diag`, `diagonal`, `trace`.
//!
//! The dense ones are built from two broadcast `arange` generators compared elementwise
//! (`i + k == j`), so they are lazy like any other generator: a block of `eye` is made
//! from its own indices alone, culled when unused, fused with what follows. A diagonal of
//! an existing array is a pointwise selection ([`Array::vindex`]) of its `(i, i + k)`
//! elements: only the blocks the diagonal crosses are read.

use super::Array;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::expr::{self, BinaryOp};

/// Row and column indices (`int64`) of an `n x m` grid as broadcastable `(n, 1)` and
/// `(1, m)` arrays, chunked by `chunks`.
fn grid_indices(n: usize, m: usize, chunks: [usize; 2]) -> Result<(Array, Array)> {
    let one = Scalar::Int(1);
    let range = |len: usize, chunk: usize| {
        Array::arange(Scalar::Int(0), Scalar::Int(len as i64), one, chunk.max(1))
    };
    let rows = range(n, chunks[0])?.reshape(&[n as isize, 1])?;
    let cols = range(m, chunks[1])?.reshape(&[1, m as isize])?;
    Ok((rows, cols))
}

/// `rows + k <op> cols` for the index grids: the mask of a diagonal or a triangle.
fn diagonal_mask(n: usize, m: usize, k: i64, op: BinaryOp, chunks: [usize; 2]) -> Result<Array> {
    let (rows, cols) = grid_indices(n, m, chunks)?;
    rows.binary_scalar(BinaryOp::Add, Scalar::Int(k), false)?
        .binary(op, &cols)
}

/// The chunks of the last two axes of `x`.
fn last_two_chunks(x: &Array) -> Result<[usize; 2]> {
    let c = x.chunks()?.max_chunk_shape();
    let n = c.len();
    Ok([c[n - 2], c[n - 1]])
}

impl Array {
    /// NumPy's `eye(N, M, k, dtype)`: ones on the `k`-th diagonal (above the main one for
    /// `k > 0`), zeros elsewhere, chunked by `chunks` (two lengths).
    ///
    /// # Errors
    /// `chunks` of another length than 2.
    pub fn eye(n: usize, m: usize, k: i64, dtype: DType, chunks: &[usize]) -> Result<Array> {
        let chunks = two_chunks(chunks, "eye")?;
        diagonal_mask(n, m, k, BinaryOp::Eq, chunks)?.astype(dtype)
    }

    /// NumPy's `tri(N, M, k, dtype)`: ones at and below the `k`-th diagonal.
    ///
    /// # Errors
    /// As [`Array::eye`].
    pub fn tri(n: usize, m: usize, k: i64, dtype: DType, chunks: &[usize]) -> Result<Array> {
        let chunks = two_chunks(chunks, "tri")?;
        diagonal_mask(n, m, k, BinaryOp::Ge, chunks)?.astype(dtype)
    }

    /// NumPy's `tril(m, k)`: the elements at and below the `k`-th diagonal of the last two
    /// axes, zeros above.
    ///
    /// # Errors
    /// An array of fewer than two axes.
    pub fn tril(&self, k: i64) -> Result<Array> {
        self.triangle(k, BinaryOp::Ge, "tril")
    }

    /// NumPy's `triu(m, k)`: the elements at and above the `k`-th diagonal, zeros below.
    ///
    /// # Errors
    /// An array of fewer than two axes.
    pub fn triu(&self, k: i64) -> Result<Array> {
        // Above the k-th diagonal is not below the (k - 1)-th.
        self.triangle(k - 1, BinaryOp::Lt, "triu")
    }

    fn triangle(&self, k: i64, op: BinaryOp, name: &str) -> Result<Array> {
        let shape = self.try_shape()?;
        let nd = shape.len();
        if nd < 2 {
            return Err(Error::invalid(format!(
                "{name}: the array must have at least 2 axes, got shape {}",
                crate::grid::fmt_shape(&shape)
            )));
        }
        let mask = diagonal_mask(shape[nd - 2], shape[nd - 1], k, op, last_two_chunks(self)?)?;
        let zero = Array::full(&[], &[], Scalar::Int(0), self.dtype())?;
        Array::where_(&mask, self, &zero)
    }

    /// NumPy's `diag(v, k)` of a 1-d `v`: a square array with `v` on its `k`-th diagonal.
    ///
    /// # Errors
    /// An array that is not 1-d (see [`Array::diagonal`] for 2-d arrays).
    pub fn diag(&self, k: i64) -> Result<Array> {
        let shape = self.try_shape()?;
        let [len] = shape[..] else {
            return Err(Error::invalid(format!(
                "diag: expected a 1-d array (or a 2-d one, for its diagonal), got shape {}",
                crate::grid::fmt_shape(&shape)
            )));
        };
        let pad = k.unsigned_abs() as usize;
        let n = len + pad;
        let chunk = self.chunks()?.max_chunk_shape()[0];
        let padded = self.pad(&[(0, pad)], super::PadMode::Constant(Scalar::Int(0)))?;
        // Row i holds v[i] above the main diagonal, column j holds v[j] below it.
        let values = if k >= 0 {
            padded.reshape(&[n as isize, 1])?
        } else {
            padded.reshape(&[1, n as isize])?
        };
        let mask = diagonal_mask(n, n, k, BinaryOp::Eq, [chunk, chunk])?;
        let zero = Array::full(&[], &[], Scalar::Int(0), self.dtype())?;
        Array::where_(&mask, &values, &zero)
    }

    /// NumPy's `diagonal(a, offset, axis1, axis2)`: the elements `(i, i + offset)` of the
    /// two axes, as the last axis of the result (the other axes first, in order).
    ///
    /// # Errors
    /// Axes out of range or equal.
    pub fn diagonal(&self, offset: i64, axis1: isize, axis2: isize) -> Result<Array> {
        let shape = self.try_shape()?;
        let axes = expr::normalize_axes(&[axis1, axis2], shape.len())?;
        let (a1, a2) = (axes[0], axes[1]);
        if a1 == a2 {
            return Err(Error::invalid(format!(
                "diagonal: axis1 and axis2 are both {a1}; they must differ"
            )));
        }
        let (n, m) = (shape[a1] as i64, shape[a2] as i64);
        let (first_row, first_col) = if offset >= 0 {
            (0, offset)
        } else {
            (-offset, 0)
        };
        let len = (n - first_row).min(m - first_col).max(0);
        if len == 0 {
            // No element: an empty last axis after the other axes, as NumPy's.
            let mut out: Vec<usize> = (0..shape.len())
                .filter(|&d| d != a1 && d != a2)
                .map(|d| shape[d])
                .collect();
            out.push(0);
            return super::empty(&out, self.dtype());
        }
        let rows: Vec<i64> = (first_row..first_row + len).collect();
        let cols: Vec<i64> = (first_col..first_col + len).collect();
        let perm: Vec<usize> = [a1, a2]
            .into_iter()
            .chain((0..shape.len()).filter(|&d| d != a1 && d != a2))
            .collect();
        self.permuted_axes(&perm)?
            .vindex(&[&rows, &cols])?
            .moveaxis(0, -1)
    }

    /// NumPy's `trace(a, offset, axis1, axis2)`: the sum of [`Array::diagonal`] (int64 for
    /// small integers, as `sum`).
    ///
    /// # Errors
    /// As [`Array::diagonal`].
    pub fn trace(&self, offset: i64, axis1: isize, axis2: isize) -> Result<Array> {
        let d = self.diagonal(offset, axis1, axis2)?;
        d.reduce(
            crate::expr::ReduceOp::Sum,
            Some(&[-1]),
            &super::ReduceOptions::default(),
        )
    }
}

fn two_chunks(chunks: &[usize], name: &str) -> Result<[usize; 2]> {
    match chunks {
        [r, c] => Ok([*r, *c]),
        _ => Err(Error::invalid(format!(
            "{name}: chunks must give two lengths (rows, columns), got {chunks:?}"
        ))),
    }
}
