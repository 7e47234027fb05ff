//! Linear algebra of one matrix held whole in memory, real (float64) or complex
//! (complex128): the kernels behind the array API's `linalg` functions on stacks of
//! matrices, on complex matrices and on empty ones (`Array::inv` and the rest route those
//! here; one 2-d real matrix larger than memory goes through the blocked factorizations
//! of `kernel::lu` and the tall-skinny ones of `kernel::qr` instead).
//!
//! The LU (`solve`, `inv`, `det`, `slogdet`) and Cholesky are written here, unblocked and
//! row-major, with LAPACK's rule for a zero pivot (its column is left unscaled, so a
//! singular matrix has determinant 0 rather than NaN); the symmetric eigensolver, the QR
//! and the SVD are faer's, sequential (the executor already runs one task per core).
//! Matrices are row-major ndarray views; faer's are copied in and out.

use faer::linalg::solvers::{Qr, SelfAdjointEigen, Svd};
use faer::{Mat, MatRef, Side};
use ndarray::{Array2, ArrayView2, Axis};
use num_complex::Complex;

use crate::error::{Error, Result};

/// The element types the kernels run in: `f64` and `Complex<f64>` (inputs of other dtypes
/// are cast to one of them first, as NumPy's `linalg` does).
pub trait DenseElement:
    faer::traits::ComplexField<Real = f64>
    + Copy
    + Default
    + PartialEq
    + Send
    + Sync
    + 'static
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
    + std::ops::SubAssign
    + std::ops::MulAssign
{
    /// `|x|`.
    fn modulus(self) -> f64;
    /// The real part.
    fn re(self) -> f64;
    /// The complex conjugate (the value itself for a real type).
    fn conjugate(self) -> Self;
    /// `x` as this type.
    fn from_re(x: f64) -> Self;
    /// The partial-pivoting LU of the square `a` in place (see [`Lu`]), and its row order.
    fn lu_in_place(a: &mut Array2<Self>) -> Vec<usize>;
}

impl DenseElement for f64 {
    fn modulus(self) -> f64 {
        self.abs()
    }
    fn re(self) -> f64 {
        self
    }
    fn conjugate(self) -> Self {
        self
    }
    fn from_re(x: f64) -> Self {
        x
    }
    /// The blocked LU of the out-of-core factorizations' tiles (`kernel::lu`).
    fn lu_in_place(a: &mut Array2<f64>) -> Vec<usize> {
        super::lu::lu_in_place(a)
    }
}

impl DenseElement for Complex<f64> {
    fn modulus(self) -> f64 {
        self.norm()
    }
    fn re(self) -> f64 {
        self.re
    }
    fn conjugate(self) -> Self {
        self.conj()
    }
    fn from_re(x: f64) -> Self {
        Complex::new(x, 0.0)
    }
    fn lu_in_place(a: &mut Array2<Self>) -> Vec<usize> {
        unblocked_lu(a)
    }
}

/// The partial-pivoting LU of a square `a` in place, one column at a time (for complex
/// matrices; float64 ones use `kernel::lu`'s blocked LU): packed as [`Lu`] keeps it, the
/// row order returned. A zero pivot leaves its column unscaled (LAPACK's `getrf`).
fn unblocked_lu<E: DenseElement>(lu: &mut Array2<E>) -> Vec<usize> {
    let n = lu.nrows();
    let mut perm: Vec<usize> = (0..n).collect();
    for j in 0..n {
        let mut imax = j;
        let mut max = -1.0f64;
        for i in j..n {
            let v = lu[[i, j]].modulus();
            if v > max || v.is_nan() && !max.is_nan() {
                max = v;
                imax = i;
            }
        }
        if imax != j {
            for c in 0..n {
                lu.swap([j, c], [imax, c]);
            }
            perm.swap(j, imax);
        }
        let pivot = lu[[j, j]];
        if pivot == zero() {
            continue;
        }
        let (top, mut rest) = lu.view_mut().split_at(Axis(0), j + 1);
        let u = top.row(j);
        for mut row in rest.rows_mut() {
            let l = row[j] / pivot;
            row[j] = l;
            if l != zero() {
                for c in j + 1..n {
                    row[c] -= l * u[c];
                }
            }
        }
    }
    perm
}

/// The sign of a permutation (+1 for an even number of transpositions, -1 for an odd).
fn permutation_sign(perm: &[usize]) -> f64 {
    let mut seen = vec![false; perm.len()];
    let mut sign = 1.0;
    for start in 0..perm.len() {
        let mut i = start;
        let mut len = 0;
        while !seen[i] {
            seen[i] = true;
            i = perm[i];
            len += 1;
        }
        if len > 0 && len % 2 == 0 {
            sign = -sign;
        }
    }
    sign
}

fn zero<E: DenseElement>() -> E {
    E::from_re(0.0)
}

fn one<E: DenseElement>() -> E {
    E::from_re(1.0)
}

/// A column-major faer copy of a row-major matrix, divided by `scale`.
fn to_faer<E: DenseElement>(a: ArrayView2<'_, E>, scale: f64) -> Mat<E> {
    let inv = E::from_re(1.0 / scale);
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| {
        if scale == 1.0 {
            a[[i, j]]
        } else {
            a[[i, j]] * inv
        }
    })
}

/// The power of two that brings the largest magnitude of `a` near 1 when it is beyond
/// 2^±400, where the eigensolver's and the SVD's sums of squares would overflow or
/// underflow (LAPACK scales such inputs too); 1 otherwise. Dividing by it is exact, and
/// eigenvalues, singular values and `R` scale back.
fn balance<E: DenseElement>(a: ArrayView2<'_, E>) -> f64 {
    let max = a.iter().fold(0.0f64, |m, x| m.max(x.modulus()));
    if !max.is_finite() || max == 0.0 {
        return 1.0;
    }
    let e = max.log2().round() as i32;
    if e.abs() > 400 { 2f64.powi(e) } else { 1.0 }
}

/// A row-major copy of a faer matrix.
fn from_faer<E: DenseElement>(a: MatRef<'_, E>) -> Array2<E> {
    Array2::from_shape_fn((a.nrows(), a.ncols()), |(i, j)| a[(i, j)])
}

/// The conjugate transpose.
fn adjoint<E: DenseElement>(a: ArrayView2<'_, E>) -> Array2<E> {
    a.t().mapv(E::conjugate)
}

/// A square matrix's partial-pivoting LU, packed (unit `L` below the diagonal, `U` on and
/// above), with its row order (row `i` of `P a` is row `perm[i]` of `a`) and the sign of
/// that permutation. A zero pivot leaves its column unscaled (LAPACK's `getrf`).
pub struct Lu<E> {
    packed: Array2<E>,
    perm: Vec<usize>,
    swaps_sign: f64,
}

impl<E: DenseElement> Lu<E> {
    /// Factors `a` (n × n).
    pub fn new(a: ArrayView2<'_, E>) -> Self {
        let mut packed = a.as_standard_layout().into_owned();
        let perm = E::lu_in_place(&mut packed);
        let swaps_sign = permutation_sign(&perm);
        Lu {
            packed,
            perm,
            swaps_sign,
        }
    }

    /// The index of the first zero on `U`'s diagonal (the matrix is singular).
    pub fn zero_pivot(&self) -> Option<usize> {
        (0..self.packed.nrows()).find(|&i| self.packed[[i, i]] == zero())
    }

    /// The determinant: the product of `U`'s diagonal, signed by the row exchanges.
    pub fn det(&self) -> E {
        let mut d = E::from_re(self.swaps_sign);
        for i in 0..self.packed.nrows() {
            d *= self.packed[[i, i]];
        }
        d
    }

    /// The sign (`det / |det|`: ±1, a unit complex number, or 0 for a singular matrix) and
    /// `log |det|` (−∞ for a singular matrix).
    pub fn slogdet(&self) -> (E, f64) {
        let mut sign = E::from_re(self.swaps_sign);
        let mut log = 0.0;
        for i in 0..self.packed.nrows() {
            let u = self.packed[[i, i]];
            let m = u.modulus();
            sign = if m == 0.0 {
                zero()
            } else {
                sign * (u / E::from_re(m))
            };
            log += m.ln();
        }
        (sign, log)
    }

    /// `(P, L, U)` with `a = P L U` (SciPy's `lu`): `P` the permutation matrix, `L` unit
    /// lower triangular, `U` upper triangular.
    pub fn plu(&self) -> (Array2<E>, Array2<E>, Array2<E>) {
        let n = self.packed.nrows();
        let mut p = Array2::from_elem((n, n), zero());
        // Row i of L U is row perm[i] of a.
        for (i, &r) in self.perm.iter().enumerate() {
            p[[r, i]] = one();
        }
        let l = Array2::from_shape_fn((n, n), |(i, j)| match i.cmp(&j) {
            std::cmp::Ordering::Greater => self.packed[[i, j]],
            std::cmp::Ordering::Equal => one(),
            std::cmp::Ordering::Less => zero(),
        });
        let u = Array2::from_shape_fn(
            (n, n),
            |(i, j)| if j >= i { self.packed[[i, j]] } else { zero() },
        );
        (p, l, u)
    }

    /// `x` with `a x = b` (b: n × k).
    ///
    /// # Errors
    /// A zero pivot: the matrix is singular.
    pub fn solve(&self, b: ArrayView2<'_, E>) -> Result<Array2<E>> {
        if let Some(i) = self.zero_pivot() {
            return Err(Error::invalid(format!(
                "the matrix is singular (a zero pivot in row {i} of its LU factorization)"
            )));
        }
        let (n, k) = b.dim();
        let mut x = Array2::from_shape_fn((n, k), |(i, j)| b[[self.perm[i], j]]);
        // L y = P b, then U x = y, one row at a time (the rows are contiguous).
        for i in 0..n {
            let (done, mut rest) = x.view_mut().split_at(Axis(0), i);
            let mut row = rest.row_mut(0);
            for (p, prev) in done.rows().into_iter().enumerate() {
                let l = self.packed[[i, p]];
                if l != zero() {
                    row.zip_mut_with(&prev, |r, &v| *r -= l * v);
                }
            }
        }
        for i in (0..n).rev() {
            let (mut head, tail) = x.view_mut().split_at(Axis(0), i + 1);
            let mut row = head.row_mut(i);
            for (p, next) in tail.rows().into_iter().enumerate() {
                let u = self.packed[[i, i + 1 + p]];
                if u != zero() {
                    row.zip_mut_with(&next, |r, &v| *r -= u * v);
                }
            }
            let d = self.packed[[i, i]];
            row.mapv_inplace(|r| r / d);
        }
        Ok(x)
    }
}

/// The inverse of a square matrix.
///
/// # Errors
/// A singular matrix.
pub fn inv<E: DenseElement>(a: ArrayView2<'_, E>) -> Result<Array2<E>> {
    let n = a.nrows();
    Lu::new(a)
        .solve(Array2::from_shape_fn((n, n), |(i, j)| if i == j { one() } else { zero() }).view())
}

/// The lower Cholesky factor `L` (`a = L Lᴴ`) of a Hermitian positive-definite matrix, or
/// `Lᴴ` when `upper`; only the lower triangle of `a` is read (LAPACK's `potrf`).
///
/// # Errors
/// A matrix that is not positive definite, naming the leading minor that is not.
pub fn cholesky<E: DenseElement>(a: ArrayView2<'_, E>, upper: bool) -> Result<Array2<E>> {
    let n = a.nrows();
    let mut l = Array2::<E>::from_elem((n, n), zero());
    for j in 0..n {
        let mut d = a[[j, j]].re();
        for k in 0..j {
            let v = l[[j, k]].modulus();
            d -= v * v;
        }
        if d.is_nan() || d <= 0.0 {
            return Err(Error::invalid(format!(
                "the matrix is not positive definite (its leading minor of order {} is not)",
                j + 1
            )));
        }
        let d = d.sqrt();
        l[[j, j]] = E::from_re(d);
        for i in j + 1..n {
            let mut s = a[[i, j]];
            for k in 0..j {
                s -= l[[i, k]] * l[[j, k]].conjugate();
            }
            l[[i, j]] = s / E::from_re(d);
        }
    }
    Ok(if upper { adjoint(l.view()) } else { l })
}

/// The eigenvalues (ascending) of a Hermitian matrix, and with `vectors` its orthonormal
/// eigenvectors as columns; only the lower triangle is read (NumPy's `eigh`, `UPLO='L'`).
///
/// # Errors
/// The eigensolver does not converge (NaN or infinite values).
pub fn eigh<E: DenseElement>(
    a: ArrayView2<'_, E>,
    vectors: bool,
) -> Result<(Vec<f64>, Option<Array2<E>>)> {
    let n = a.nrows();
    if n == 0 {
        return Ok((
            Vec::new(),
            vectors.then(|| Array2::from_elem((0, 0), zero())),
        ));
    }
    let not_converged =
        |_| Error::invalid("the eigensolver did not converge (are there NaN or infinite values?)");
    let scale = balance(a);
    let m = to_faer(a, scale);
    if !vectors {
        let values = m
            .as_ref()
            .self_adjoint_eigenvalues(Side::Lower)
            .map_err(not_converged)?;
        return Ok((values.into_iter().map(|v| v * scale).collect(), None));
    }
    let evd = SelfAdjointEigen::new(m.as_ref(), Side::Lower).map_err(not_converged)?;
    let values = evd
        .S()
        .column_vector()
        .iter()
        .map(|v| v.re() * scale)
        .collect();
    Ok((values, Some(from_faer(evd.U()))))
}

/// The QR factorization: reduced (`Q` m × k, `R` k × n, k = min(m, n)) or, when
/// `complete`, `Q` m × m and `R` m × n.
pub fn qr<E: DenseElement>(a: ArrayView2<'_, E>, complete: bool) -> (Array2<E>, Array2<E>) {
    let (m, n) = a.dim();
    let k = if complete { m } else { m.min(n) };
    if m == 0 || n == 0 {
        let q = Array2::from_shape_fn((m, k), |(i, j)| if i == j { one() } else { zero() });
        return (q, Array2::from_elem((k, n), zero()));
    }
    let scale = balance(a);
    let f = Qr::new(to_faer(a, scale).as_ref());
    let q = if complete {
        f.compute_Q()
    } else {
        f.compute_thin_Q()
    };
    let r = from_faer(f.R()).mapv(|x| {
        if scale == 1.0 {
            x
        } else {
            x * E::from_re(scale)
        }
    });
    // R holds min(m, n) meaningful rows; the complete form pads it with zero rows.
    let r = Array2::from_shape_fn((k, n), |(i, j)| {
        if i < r.nrows() && j >= i {
            r[[i, j]]
        } else {
            zero()
        }
    });
    (from_faer(q.as_ref()), r)
}

/// The singular value decomposition: `U`, the singular values (descending) and `Vᴴ`;
/// reduced (`U` m × k, `Vᴴ` k × n) or, when `full`, `U` m × m and `Vᴴ` n × n.
///
/// # Errors
/// The SVD does not converge (NaN or infinite values).
pub fn svd<E: DenseElement>(
    a: ArrayView2<'_, E>,
    full: bool,
) -> Result<(Array2<E>, Vec<f64>, Array2<E>)> {
    let (m, n) = a.dim();
    let k = m.min(n);
    if k == 0 {
        let eye = |d: usize, c: usize| {
            Array2::from_shape_fn((d, c), |(i, j)| if i == j { one() } else { zero() })
        };
        let (uc, vr) = if full { (m, n) } else { (0, 0) };
        return Ok((eye(m, uc), Vec::new(), eye(vr, n)));
    }
    let scale = balance(a);
    let m = to_faer(a, scale);
    let f = if full {
        Svd::new(m.as_ref())
    } else {
        Svd::new_thin(m.as_ref())
    }
    .map_err(|_| Error::invalid("the SVD did not converge (are there NaN or infinite values?)"))?;
    let s = f
        .S()
        .column_vector()
        .iter()
        .map(|v| v.re() * scale)
        .collect();
    Ok((from_faer(f.U()), s, adjoint(from_faer(f.V()).view())))
}

/// The singular values, descending.
///
/// # Errors
/// As [`svd`].
pub fn svdvals<E: DenseElement>(a: ArrayView2<'_, E>) -> Result<Vec<f64>> {
    if a.nrows().min(a.ncols()) == 0 {
        return Ok(Vec::new());
    }
    let scale = balance(a);
    let s = to_faer(a, scale).as_ref().singular_values().map_err(|_| {
        Error::invalid("the SVD did not converge (are there NaN or infinite values?)")
    })?;
    Ok(s.into_iter().map(|v| v * scale).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn close(a: &Array2<f64>, b: &Array2<f64>) -> bool {
        a.dim() == b.dim() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-10)
    }

    #[test]
    fn lu_solves_inverts_and_gives_determinants() {
        let a = array![[0.0, 2.0, 1.0], [1.0, 1.0, 0.0], [3.0, 0.0, 1.0]];
        let inv_a = inv(a.view()).unwrap();
        assert!(close(&a.dot(&inv_a), &Array2::eye(3)));
        let lu = Lu::new(a.view());
        assert!((lu.det() - (-5.0)).abs() < 1e-12);
        let (sign, log) = lu.slogdet();
        assert_eq!(sign, -1.0);
        assert!((log - 5f64.ln()).abs() < 1e-12);
        // Singular: the determinant is 0, not NaN, and solving is refused.
        let s = array![[1.0, 2.0], [2.0, 4.0]];
        let lu = Lu::new(s.view());
        assert_eq!(lu.det(), 0.0);
        assert_eq!(lu.slogdet(), (0.0, f64::NEG_INFINITY));
        assert!(lu.solve(Array2::eye(2).view()).is_err());
        let (p, l, u) = Lu::new(a.view()).plu();
        assert!(close(&p.dot(&l).dot(&u), &a));
        let z = Array2::<f64>::zeros((2, 2));
        assert_eq!(Lu::new(z.view()).det(), 0.0);
    }

    #[test]
    fn complex_lu_and_cholesky() {
        let c = |re, im| Complex::new(re, im);
        let a = array![[c(2.0, 0.0), c(1.0, -1.0)], [c(1.0, 1.0), c(3.0, 0.0)]];
        // det = 6 - (1 - i)(1 + i) = 4.
        let lu = Lu::new(a.view());
        assert!((lu.det() - c(4.0, 0.0)).norm() < 1e-12);
        let l = cholesky(a.view(), false).unwrap();
        let back = l.dot(&adjoint(l.view()));
        assert!(back.iter().zip(&a).all(|(x, y)| (x - y).norm() < 1e-12));
        let u = cholesky(a.view(), true).unwrap();
        assert_eq!(u, adjoint(l.view()));
        let x = lu
            .solve(array![[c(1.0, 0.0)], [c(0.0, 1.0)]].view())
            .unwrap();
        let b = a.dot(&x);
        assert!(
            (b[[0, 0]] - c(1.0, 0.0)).norm() < 1e-12 && (b[[1, 0]] - c(0.0, 1.0)).norm() < 1e-12
        );
        assert!(cholesky(array![[1.0, 2.0], [2.0, 1.0]].view(), false).is_err());
    }

    #[test]
    fn eigh_reads_the_lower_triangle() {
        // The upper triangle is garbage: only the lower one counts.
        let a = array![[2.0, 99.0], [1.0, 2.0]];
        let (w, v) = eigh(a.view(), true).unwrap();
        assert!((w[0] - 1.0).abs() < 1e-12 && (w[1] - 3.0).abs() < 1e-12);
        let v = v.unwrap();
        let sym = array![[2.0, 1.0], [1.0, 2.0]];
        let av = sym.dot(&v);
        for j in 0..2 {
            for i in 0..2 {
                assert!((av[[i, j]] - w[j] * v[[i, j]]).abs() < 1e-12);
            }
        }
        assert_eq!(eigh(a.view(), false).unwrap().0.len(), 2);
    }

    #[test]
    fn qr_and_svd_reduced_and_complete() {
        let a = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
        for complete in [false, true] {
            let (q, r) = qr(a.view(), complete);
            let k = if complete { 3 } else { 2 };
            assert_eq!((q.dim(), r.dim()), ((3, k), (k, 2)));
            assert!(close(&q.dot(&r), &a));
            assert!(close(&q.t().dot(&q), &Array2::eye(k)));
        }
        for full in [false, true] {
            let (u, s, vh) = svd(a.view(), full).unwrap();
            let k = if full { 3 } else { 2 };
            assert_eq!((u.dim(), s.len(), vh.dim()), ((3, k), 2, (2, 2)));
            let mut us = u.slice(ndarray::s![.., ..2]).to_owned();
            for (j, &sj) in s.iter().enumerate() {
                us.column_mut(j).mapv_inplace(|x| x * sj);
            }
            assert!(close(&us.dot(&vh), &a));
        }
        let s = svdvals(a.view()).unwrap();
        assert!(s[0] > s[1] && s[1] > 0.0);
        // Wide, and empty.
        let (q, r) = qr(a.t(), false);
        assert!(close(&q.dot(&r), &a.t().to_owned()));
        let e = Array2::<f64>::zeros((3, 0));
        let (q, r) = qr(e.view(), true);
        assert_eq!((q, r.dim()), (Array2::eye(3), (3, 0)));
        let (u, s, vh) = svd(e.view(), false).unwrap();
        assert_eq!((u.dim(), s.len(), vh.dim()), ((3, 0), 0, (0, 0)));
    }
}
