//! Dense factorizations of one block, for the tall-skinny QR, SVD and least squares of
//! `Array::qr`, `Array::svd` and `Array::lstsq`: faer's blocked Householder QR (LAPACK's
//! `geqrf` algorithm, the reflectors kept in factored form so that `Q` times a small matrix
//! is computed without forming `Q`) and its SVD, always sequential (`Par::Seq`: the
//! executor already runs one task per core).
//!
//! Blocks are row-major ndarray matrices; faer prefers column-major ones, so each kernel
//! copies its input once into a column-major matrix (which the in-place QR needs anyway)
//! and its result back, in row tiles that stay in cache.

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::householder;
use faer::linalg::qr::no_pivoting::factor;
use faer::linalg::svd::{self, ComputeSvdVectors};
use faer::{Conj, Mat, MatRef, Par};
use ndarray::{Array2, ArrayView2};

use crate::block::BlockElement;
use crate::error::{Error, Result};

/// The element types the dense kernels run in: float32 and float64 (other dtypes are cast
/// to float64 first, as NumPy's `linalg` does).
pub trait LinalgElement: BlockElement + faer::traits::RealField {
    /// Machine epsilon of this type (NumPy's `finfo(dtype).eps`).
    const EPS: f64;
    /// Magnitudes beyond 2 to this power (or below its inverse) are scaled before a
    /// factorization (by a power of two): their squares would overflow (underflow).
    const SAFE_EXP: i32;
}

impl LinalgElement for f64 {
    const EPS: f64 = f64::EPSILON;
    const SAFE_EXP: i32 = 400;
}

impl LinalgElement for f32 {
    const EPS: f64 = f32::EPSILON as f64;
    const SAFE_EXP: i32 = 50;
}

/// The power of two `s` such that `a / s` has its largest magnitude near 1, when that
/// magnitude is so large or small that the factorization's sums of squares would leave
/// the type's range (LAPACK scales such inputs too); `None` when no scaling is needed.
/// Dividing by a power of two is exact, and `R` and the singular values scale back by `s`.
fn balance<T: LinalgElement>(a: ArrayView2<'_, T>) -> Option<T> {
    let max = a.iter().fold(0.0f64, |m, x| m.max(x.to_f64().abs()));
    if !max.is_finite() || max == 0.0 {
        return None;
    }
    let e = max.log2().round() as i32;
    (e.abs() > T::SAFE_EXP).then(|| T::from_f64(2f64.powi(e)))
}

/// A column-major copy of `a` divided by `scale`.
fn to_faer_scaled<T: LinalgElement>(a: ArrayView2<'_, T>, scale: Option<T>) -> Mat<T> {
    let mut m = to_faer(a);
    if let Some(s) = scale {
        for j in 0..m.ncols() {
            for i in 0..m.nrows() {
                m[(i, j)] = T::from_f64(m[(i, j)].to_f64() / s.to_f64());
            }
        }
    }
    m
}

/// Rows copied per tile between row-major and column-major layouts.
const TILE_ROWS: usize = 64;

/// A column-major copy of a row-major block.
fn to_faer<T: LinalgElement>(a: ArrayView2<'_, T>) -> Mat<T> {
    let (m, n) = a.dim();
    let mut out = Mat::<T>::zeros(m, n);
    for i0 in (0..m).step_by(TILE_ROWS) {
        let rows = i0..(i0 + TILE_ROWS).min(m);
        for j in 0..n {
            for i in rows.clone() {
                out[(i, j)] = a[[i, j]];
            }
        }
    }
    out
}

/// A row-major copy of a column-major matrix.
fn from_faer<T: LinalgElement>(a: MatRef<'_, T>) -> Array2<T> {
    let (m, n) = (a.nrows(), a.ncols());
    let mut out = Array2::<T>::from_elem((m, n), T::default());
    for i0 in (0..m).step_by(TILE_ROWS) {
        let rows = i0..(i0 + TILE_ROWS).min(m);
        for j in 0..n {
            for i in rows.clone() {
                out[[i, j]] = a[(i, j)];
            }
        }
    }
    out
}

/// An upper bound of faer's block size for an m × n QR (at most 256, at most min(m, n)).
fn block_size_bound(m: usize, n: usize) -> usize {
    m.min(n).clamp(1, 256)
}

/// Elements of `T` that [`HouseholderQr::new`] holds for an m × n block besides the input:
/// its copy, the block reflectors' factors and the workspace (saturating: an estimate).
pub fn factor_elems(m: usize, n: usize) -> usize {
    let bs = block_size_bound(m, n);
    m.saturating_mul(n)
        .saturating_add(bs.saturating_mul(m.min(n)))
        .saturating_add(bs.saturating_mul(n))
}

/// Elements that [`HouseholderQr::q_times`] holds for an m × n factorization and a result of
/// c columns, besides the result: the padded matrix and the workspace (saturating).
pub fn q_times_elems(m: usize, n: usize, c: usize) -> usize {
    let bs = block_size_bound(m, n);
    m.saturating_mul(c).saturating_add(bs.saturating_mul(c))
}

/// Elements that [`svd()`] holds for an m × n block besides the input: its copy, the
/// singular vectors (twice: faer's and the results), the workspace.
pub fn svd_elems<T: LinalgElement>(m: usize, n: usize) -> usize {
    let k = m.min(n);
    let work = svd_scratch::<T>(m, n)
        .size_bytes()
        .div_ceil(std::mem::size_of::<T>());
    m.saturating_mul(n)
        .saturating_add(m.saturating_add(n).saturating_mul(k).saturating_mul(2))
        .saturating_add(k)
        .saturating_add(work)
}

fn svd_scratch<T: LinalgElement>(m: usize, n: usize) -> StackReq {
    svd::svd_scratch::<T>(
        m,
        n,
        ComputeSvdVectors::Thin,
        ComputeSvdVectors::Thin,
        Par::Seq,
        Default::default(),
    )
}

/// The Householder QR of a block `A` (m × n), kept in factored form: `A = Q R` with `Q`
/// (m × k, orthonormal columns) and `R` (k × n, upper trapezoidal), k = min(m, n).
pub struct HouseholderQr<T: LinalgElement> {
    /// `R` in the upper triangle, the reflectors' essential parts below the diagonal (of
    /// the input divided by `scale`).
    qr: Mat<T>,
    /// What the input was divided by (see [`balance`]).
    scale: Option<T>,
    /// The block reflectors' triangular factors.
    factor: Mat<T>,
}

impl<T: LinalgElement> HouseholderQr<T> {
    /// Factors `a` (copied). Memory: a copy of `a`, plus O(n × 64) for the factors.
    pub fn new(a: ArrayView2<'_, T>) -> Self {
        let (m, n) = a.dim();
        let scale = balance(a);
        let mut qr = to_faer_scaled(a, scale);
        let k = m.min(n);
        let block_size = factor::recommended_block_size::<T>(m, n).max(1);
        let mut h = Mat::<T>::zeros(block_size, k);
        let mut mem = MemBuffer::new(factor::qr_in_place_scratch::<T>(
            m,
            n,
            block_size,
            Par::Seq,
            Default::default(),
        ));
        factor::qr_in_place(
            qr.as_mut(),
            h.as_mut(),
            Par::Seq,
            MemStack::new(&mut mem),
            Default::default(),
        );
        HouseholderQr {
            qr,
            factor: h,
            scale,
        }
    }

    /// k = min(m, n): the columns of `Q` and the rows of `R`.
    pub fn k(&self) -> usize {
        self.qr.nrows().min(self.qr.ncols())
    }

    /// `R` (k × n), zero below the diagonal.
    pub fn r(&self) -> Array2<T> {
        let (k, n) = (self.k(), self.qr.ncols());
        let zero = T::default();
        let s = self.scale.map_or(1.0, T::to_f64);
        Array2::from_shape_fn((k, n), |(i, j)| {
            if j < i {
                zero
            } else if s == 1.0 {
                self.qr[(i, j)]
            } else {
                T::from_f64(self.qr[(i, j)].to_f64() * s)
            }
        })
    }

    /// `Q w` (m × c) for a `w` of k rows: `w` padded with zero rows to m and multiplied by
    /// the reflectors, so `Q` itself is never formed. Memory: one m × c matrix besides the
    /// result.
    ///
    /// # Errors
    /// A `w` whose row count is not k (a bug in the caller).
    pub fn q_times(&self, w: ArrayView2<'_, T>) -> Result<Array2<T>> {
        let (m, k, c) = (self.qr.nrows(), self.k(), w.ncols());
        if w.nrows() != k {
            return Err(Error::internal(format!(
                "Q (k = {k}) times a matrix of {} rows",
                w.nrows()
            )));
        }
        let mut out = Mat::<T>::zeros(m, c);
        for i in 0..k {
            for j in 0..c {
                out[(i, j)] = w[[i, j]];
            }
        }
        let mut mem = MemBuffer::new(
            householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<T>(
                m,
                self.factor.nrows(),
                c,
            ),
        );
        householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
            self.qr.as_ref().get(.., ..k),
            self.factor.as_ref(),
            Conj::No,
            out.as_mut(),
            Par::Seq,
            MemStack::new(&mut mem),
        );
        Ok(from_faer(out.as_ref()))
    }
}

/// The thin SVD of a block `a` (m × n): `U` (m × k), the singular values (k, largest
/// first) and `Vᵀ` (k × n), k = min(m, n).
///
/// # Errors
/// The SVD iteration did not converge (NaN or infinite input).
pub fn svd<T: LinalgElement>(a: ArrayView2<'_, T>) -> Result<(Array2<T>, Vec<T>, Array2<T>)> {
    let (m, n) = a.dim();
    let k = m.min(n);
    let scale = balance(a);
    let mat = to_faer_scaled(a, scale);
    let mut s = faer::diag::Diag::<T>::zeros(k);
    let mut u = Mat::<T>::zeros(m, k);
    let mut v = Mat::<T>::zeros(n, k);
    let mut mem = MemBuffer::new(svd_scratch::<T>(m, n));
    svd::svd(
        mat.as_ref(),
        s.as_mut(),
        Some(u.as_mut()),
        Some(v.as_mut()),
        Par::Seq,
        MemStack::new(&mut mem),
        Default::default(),
    )
    .map_err(|_| {
        Error::invalid(format!(
            "svd of a {m} × {n} matrix did not converge (does the array hold NaN or infinity?)"
        ))
    })?;
    let up = scale.map_or(1.0, T::to_f64);
    let values = (0..k).map(|i| T::from_f64(s[i].to_f64() * up)).collect();
    Ok((
        from_faer(u.as_ref()),
        values,
        from_faer(v.as_ref()).reversed_axes(),
    ))
}

/// NumPy's `lstsq` from the `R` of the QR of `[A | B]` (A m × n, B m × p): `x` (n × p)
/// minimizing `‖A x − B‖` with the least norm, through the SVD of `R₁₁` with singular
/// values at most `rcond · s_max` treated as zero (LAPACK `gelsd`'s rule); the sums of
/// squared residuals of each column (`‖R₁₂ − R₁₁ x‖² + ‖R₂₂‖²`, exact also when `A` is rank
/// deficient); the rank; the singular values of `A` (those of `R₁₁`).
///
/// # Errors
/// The SVD did not converge.
pub fn lstsq_from_r<T: LinalgElement>(
    r: ArrayView2<'_, T>,
    m: usize,
    n: usize,
    rcond: f64,
) -> Result<LstsqParts> {
    let p = r.ncols() - n;
    let k = m.min(n);
    let r11 = r.slice(ndarray::s![..k, ..n]);
    let (u, s, vt) = svd(r11)?;
    let s: Vec<f64> = s.into_iter().map(T::to_f64).collect();
    let cutoff = rcond * s.first().copied().unwrap_or(0.0);
    let rank = s.iter().filter(|&&v| v > cutoff).count();
    let f = |a: ArrayView2<'_, T>| a.mapv(T::to_f64);
    let (u, vt, r64) = (f(u.view()), f(vt.view()), f(r));
    let c = r64.slice(ndarray::s![..k, n..]);
    // x = V_r S_r⁻¹ U_rᵀ c over the first `rank` singular triplets.
    let mut uc = u.slice(ndarray::s![.., ..rank]).t().dot(&c);
    for (i, mut row) in uc.rows_mut().into_iter().enumerate() {
        row /= s[i];
    }
    let x = vt.slice(ndarray::s![..rank, ..]).t().dot(&uc);
    let fitted = r64.slice(ndarray::s![..k, ..n]).dot(&x);
    let mut residuals: Vec<f64> = (&c - &fitted)
        .columns()
        .into_iter()
        .map(|col| col.iter().map(|v| v * v).sum())
        .collect();
    let below = r64.slice(ndarray::s![k.., n..]);
    for (res, col) in residuals.iter_mut().zip(below.columns()) {
        *res += col.iter().map(|v| v * v).sum::<f64>();
    }
    debug_assert_eq!(residuals.len(), p);
    Ok(LstsqParts {
        x,
        residuals,
        rank,
        s,
    })
}

/// What [`lstsq_from_r`] computes, in float64.
pub struct LstsqParts {
    /// The solution (n × p).
    pub x: Array2<f64>,
    /// Sums of squared residuals per column of `B` (p).
    pub residuals: Vec<f64>,
    /// The effective rank of `A`.
    pub rank: usize,
    /// The singular values of `A`, largest first (min(m, n)).
    pub s: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn close(a: &Array2<f64>, b: &Array2<f64>, tol: f64) -> bool {
        a.shape() == b.shape() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
    }

    #[test]
    fn qr_reconstructs_and_q_is_orthonormal() {
        for (m, n) in [(7, 3), (3, 3), (2, 5), (130, 70)] {
            let a = Array2::from_shape_fn((m, n), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
            let qr = HouseholderQr::new(a.view());
            let k = m.min(n);
            let q = qr.q_times(Array2::eye(k).view()).unwrap();
            let r = qr.r();
            assert!(close(&q.dot(&r), &a, 1e-10), "{m}x{n}: QR != A");
            assert!(
                close(&q.t().dot(&q), &Array2::eye(k), 1e-12),
                "{m}x{n}: QtQ != I"
            );
            assert!((0..k).all(|i| (0..i).all(|j| r[[i, j]] == 0.0)));
        }
    }

    #[test]
    fn svd_and_lstsq_of_a_small_system() {
        let a = array![[1.0, 1.0], [1.0, 2.0], [1.0, 3.0], [1.0, 4.0]];
        let (u, s, vt) = svd(a.view()).unwrap();
        let us = &u * &ndarray::Array1::from(s.clone());
        assert!(close(&us.dot(&vt), &a, 1e-12));
        assert!(s[0] >= s[1]);
        // y = 1 + 2 t + noise: NumPy's lstsq gives x = [1.5, 1.9], residual 0.7.
        let b = array![[3.0], [6.0], [7.0], [9.0]];
        let ab = ndarray::concatenate![ndarray::Axis(1), a, b];
        let r = HouseholderQr::new(ab.view()).r();
        let parts = lstsq_from_r(r.view(), 4, 2, 4.0 * f64::EPSILON).unwrap();
        assert!(close(&parts.x, &array![[1.5], [1.9]], 1e-12), "{}", parts.x);
        assert!((parts.residuals[0] - 0.7).abs() < 1e-12);
        assert_eq!(parts.rank, 2);
    }
}
