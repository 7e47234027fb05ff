//! OpenBLAS's GEMM for the float32 and float64 products of contractions (cargo feature
//! `openblas`, linking the system's `libopenblas`; Debian: `libopenblas-dev`).
//!
//! The `gemm` crate, the default kernel, runs at 23–27 GFLOP/s per core for float64 on
//! this project's benchmark machine (AVX2, no AVX-512); OpenBLAS, the BLAS NumPy and dask
//! use, at 35. With the feature, products go to `cblas_sgemm`/`cblas_dgemm` whenever
//! both operands and the result are matrices CBLAS can address (one unit stride, a
//! positive leading dimension, sizes within its 32-bit integers); anything else falls
//! back to the `gemm` crate. OpenBLAS is set to one thread on first use (process-wide):
//! the executor already runs one task per core.
//!
//! Every call holds a shared lock that `quiesce` takes exclusively while the processes
//! scheduler forks (see [`super::ForkGuard`]): OpenBLAS's allocator mutex, held by another
//! thread at a fork, stays locked forever in the child.

use std::os::raw::c_int;
use std::sync::{Once, RwLock, RwLockWriteGuard};

use ndarray::{ArrayView2, ArrayViewMut2};

const ROW_MAJOR: c_int = 101;
const NO_TRANS: c_int = 111;
const TRANS: c_int = 112;

#[link(name = "openblas")]
unsafe extern "C" {
    fn cblas_sgemm(
        layout: c_int,
        transa: c_int,
        transb: c_int,
        m: c_int,
        n: c_int,
        k: c_int,
        alpha: f32,
        a: *const f32,
        lda: c_int,
        b: *const f32,
        ldb: c_int,
        beta: f32,
        c: *mut f32,
        ldc: c_int,
    );
    fn cblas_dgemm(
        layout: c_int,
        transa: c_int,
        transb: c_int,
        m: c_int,
        n: c_int,
        k: c_int,
        alpha: f64,
        a: *const f64,
        lda: c_int,
        b: *const f64,
        ldb: c_int,
        beta: f64,
        c: *mut f64,
        ldc: c_int,
    );
    fn openblas_set_num_threads(n: c_int);
}

/// A float type OpenBLAS multiplies.
pub trait Gemm: Copy {
    /// `c = a · b` through CBLAS (row-major, `alpha` 1, `beta` 0).
    ///
    /// # Safety
    /// The pointers, transposition flags and leading dimensions must describe matrices of
    /// shapes (m, k), (k, n) and (m, n) that lie inside their allocations; `c` must not
    /// alias `a` or `b`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn cblas(
        ta: c_int,
        tb: c_int,
        m: c_int,
        n: c_int,
        k: c_int,
        a: *const Self,
        lda: c_int,
        b: *const Self,
        ldb: c_int,
        c: *mut Self,
        ldc: c_int,
    );
}

macro_rules! gemm_impl {
    ($t:ty, $f:ident) => {
        impl Gemm for $t {
            unsafe fn cblas(
                ta: c_int,
                tb: c_int,
                m: c_int,
                n: c_int,
                k: c_int,
                a: *const $t,
                lda: c_int,
                b: *const $t,
                ldb: c_int,
                c: *mut $t,
                ldc: c_int,
            ) {
                // SAFETY: the caller's contract.
                unsafe { $f(ROW_MAJOR, ta, tb, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, ldc) }
            }
        }
    };
}

gemm_impl!(f32, cblas_sgemm);
gemm_impl!(f64, cblas_dgemm);

/// How a `rows` x `cols` matrix with strides `rs`, `cs` (elements) is handed to row-major
/// CBLAS: not transposed with its rows `ld` apart, or transposed (stored column by column,
/// `ld` apart); `None` when neither describes it (a broadcast or doubly strided view).
fn operand(rows: usize, cols: usize, rs: isize, cs: isize) -> Option<(c_int, c_int)> {
    if cols <= 1 || cs == 1 {
        let ld = if rows <= 1 { cols.max(1) as isize } else { rs };
        if ld >= cols.max(1) as isize {
            return Some((NO_TRANS, c_int::try_from(ld).ok()?));
        }
    }
    if rows <= 1 || rs == 1 {
        let ld = if cols <= 1 { rows.max(1) as isize } else { cs };
        if ld >= rows.max(1) as isize {
            return Some((TRANS, c_int::try_from(ld).ok()?));
        }
    }
    None
}

/// Calls into OpenBLAS hold this shared; `quiesce` holds it exclusively.
static CALLS: RwLock<()> = RwLock::new(());

/// No thread is inside OpenBLAS while this lives.
pub(super) type Quiesced = RwLockWriteGuard<'static, ()>;

/// Waits for the calls in progress to return and keeps new ones waiting until the guard
/// drops.
pub(super) fn quiesce() -> Quiesced {
    CALLS.write().unwrap_or_else(|p| p.into_inner())
}

/// Writes `a · b` into `c` with OpenBLAS and returns true, or returns false without
/// touching `c` when a matrix is not one CBLAS can address (see the module doc). The
/// sizes must be non-zero.
pub fn gemm<T: Gemm>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    mut c: ArrayViewMut2<'_, T>,
) -> bool {
    let (m, k) = a.dim();
    let n = b.dim().1;
    let (Ok(mi), Ok(ni), Ok(ki)) = (c_int::try_from(m), c_int::try_from(n), c_int::try_from(k))
    else {
        return false;
    };
    let (Some((ta, lda)), Some((tb, ldb)), Some((NO_TRANS, ldc))) = (
        operand(m, k, a.strides()[0], a.strides()[1]),
        operand(k, n, b.strides()[0], b.strides()[1]),
        operand(m, n, c.strides()[0], c.strides()[1]),
    ) else {
        return false;
    };
    let _calling = CALLS.read().unwrap_or_else(|p| p.into_inner());
    static ONE_THREAD: Once = Once::new();
    // SAFETY: sets a process-wide setting of OpenBLAS; no product runs before it is set.
    ONE_THREAD.call_once(|| unsafe { openblas_set_num_threads(1) });
    // SAFETY: `operand` described each view by the strides ndarray gives it, so every
    // element CBLAS addresses is an element of the view; `c` is a unique mutable view that
    // does not alias `a` or `b`, and `beta` 0 means its old contents are not read.
    unsafe {
        T::cblas(
            ta,
            tb,
            mi,
            ni,
            ki,
            a.as_ptr(),
            lda,
            b.as_ptr(),
            ldb,
            c.as_mut_ptr(),
            ldc,
        );
    }
    true
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, ShapeBuilder, s};

    use super::*;

    fn reference(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
        let (m, k) = a.dim();
        let n = b.dim().1;
        Array2::from_shape_fn((m, n), |(i, j)| (0..k).map(|p| a[[i, p]] * b[[p, j]]).sum())
    }

    fn close(x: &Array2<f64>, y: &Array2<f64>) -> bool {
        x.shape() == y.shape() && x.iter().zip(y).all(|(p, q)| (p - q).abs() <= 1e-9)
    }

    fn matrix(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
        Array2::from_shape_fn((rows, cols), |(i, j)| {
            ((i as u64 * 31 + j as u64 * 17 + seed) % 97) as f64 / 7.0 - 6.0
        })
    }

    #[test]
    fn products_of_every_layout_match_or_fall_back() {
        let a = matrix(37, 23, 1);
        let b = matrix(23, 41, 2);
        let at = a.t().to_owned(); // (23, 37), so at.t() is column-major (37, 23)
        let bt = b.t().to_owned();
        let big = matrix(80, 90, 3);
        let want = reference(a.view(), b.view());
        let cases: Vec<(ArrayView2<'_, f64>, ArrayView2<'_, f64>, bool)> = vec![
            (a.view(), b.view(), true),
            (at.t(), b.view(), true),
            (a.view(), bt.t(), true),
            (at.t(), bt.t(), true),
        ];
        for (x, y, blas) in cases {
            let mut c = Array2::from_elem((37, 41), f64::NAN);
            assert_eq!(gemm(x, y, c.view_mut()), blas);
            assert!(close(&c, &want));
        }
        // Sub-matrices of a larger one (leading dimension 90).
        let x = big.slice(s![3..40, 5..28]);
        let y = big.slice(s![10..33, 40..81]);
        let mut c = Array2::zeros((37, 41));
        assert!(gemm(x, y, c.view_mut()));
        assert!(close(&c, &reference(x, y)));
        // Every other row: rows 180 apart, still a matrix CBLAS addresses.
        let rows = big.slice(s![0..74;2, 0..23]);
        assert!(gemm(rows, y, c.view_mut()));
        assert!(close(&c, &reference(rows, y)));
        // Every other column: no unit stride, left to the gemm crate.
        let stepped = big.slice(s![0..37, 0..46;2]);
        assert!(!gemm(stepped, y, c.view_mut()));
        // A column-major result is left to the gemm crate.
        let mut cf = Array2::zeros((37, 41).f());
        assert!(!gemm(a.view(), b.view(), cf.view_mut()));
        // Vectors: a row times a matrix, a matrix times a column.
        let row = a.slice(s![4..5, ..]);
        let mut r = Array2::zeros((1, 41));
        assert!(gemm(row, b.view(), r.view_mut()));
        assert!(close(&r, &reference(row, b.view())));
        let col = b.slice(s![.., 7..8]);
        let mut q = Array2::zeros((37, 1));
        assert!(gemm(a.view(), col, q.view_mut()));
        assert!(close(&q, &reference(a.view(), col)));
    }
}
