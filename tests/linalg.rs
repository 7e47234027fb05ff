//! Products (`matmul`, `dot`, `tensordot`, `outer`, `vecdot`, `einsum`) against ndarray and
//! a direct einsum on the same data, over chunkings that do not divide the shapes, 1-d to
//! 3-d, several dtypes, both schedulers.

use std::collections::HashMap;

use brickwork::{Array, ComputeOptions, DType, Error};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

use crate::common::*;

/// `out[o] = sum over the other labels of a[la] * b[lb]`, by brute force.
fn einsum_ref(a: &ArrayD<f64>, la: &str, b: &ArrayD<f64>, lb: &str, out: &str) -> ArrayD<f64> {
    let mut len: HashMap<char, usize> = HashMap::new();
    for (labels, x) in [(la, a), (lb, b)] {
        for (c, &n) in labels.chars().zip(x.shape()) {
            len.insert(c, n);
        }
    }
    let all: Vec<char> = {
        let mut v: Vec<char> = la.chars().chain(lb.chars()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let out_shape: Vec<usize> = out.chars().map(|c| len[&c]).collect();
    let mut r = ArrayD::<f64>::zeros(IxDyn(&out_shape));
    let total: usize = all.iter().map(|c| len[c]).product();
    for flat in 0..total {
        let mut rest = flat;
        let mut at: HashMap<char, usize> = HashMap::new();
        for c in all.iter().rev() {
            at.insert(*c, rest % len[c]);
            rest /= len[c];
        }
        let idx = |labels: &str| -> Vec<usize> { labels.chars().map(|c| at[&c]).collect() };
        r[IxDyn(&idx(out))] += a[IxDyn(&idx(la))] * b[IxDyn(&idx(lb))];
    }
    r
}

fn arr(shape: &[usize], chunks: &[usize], salt: u64) -> (Array, ArrayD<f64>) {
    let d = data(shape, salt);
    (Array::from_ndarray(d.clone(), chunks).unwrap(), d)
}

#[test]
fn matmul_matches_ndarray_on_ragged_chunkings() -> TestResult {
    let (m, k, n) = (23, 17, 19);
    for ca in [[5, 4], [23, 17], [7, 6], [1, 3]] {
        for cb in [[4, 6], [17, 19], [3, 5]] {
            let (a, da) = arr(&[m, k], &ca, 1);
            let (b, db) = arr(&[k, n], &cb, 2);
            let want = da
                .clone()
                .into_dimensionality::<ndarray::Ix2>()?
                .dot(&db.clone().into_dimensionality::<ndarray::Ix2>()?)
                .into_dyn();
            assert_close(&compute_f64(&a.matmul(&b)?), &want, "matmul");
            let at = Array::from_ndarray(da.t().to_owned(), &[ca[1], ca[0]])?;
            assert_close(&compute_f64(&at.t().matmul(&b)?), &want, "a.T.T @ b");
        }
    }
    Ok(())
}

#[test]
fn products_of_1d_to_3d_match_a_direct_einsum() -> TestResult {
    let (a3, d3) = arr(&[3, 5, 4], &[2, 3, 3], 3);
    let (b3, e3) = arr(&[3, 4, 6], &[2, 2, 4], 4);
    let (v, dv) = arr(&[4], &[3], 5);
    let (w, dw) = arr(&[5], &[2], 6);
    let (m2, dm2) = arr(&[5, 4], &[3, 3], 7);
    let (b1, e1) = arr(&[1, 4, 6], &[1, 3, 4], 8);
    let cases: Vec<(&str, Array, ArrayD<f64>)> = vec![
        (
            "batched matmul",
            a3.matmul(&b3)?,
            einsum_ref(&d3, "bij", &e3, "bjk", "bik"),
        ),
        (
            "stack @ vector",
            a3.matmul(&v)?,
            einsum_ref(&d3, "bij", &dv, "j", "bi"),
        ),
        ("vector @ stack", w.matmul(&a3.t().t())?.sum()?, {
            let r = einsum_ref(&dw, "i", &d3, "bij", "bj");
            ArrayD::from_elem(IxDyn(&[]), r.sum())
        }),
        (
            "vector @ vector",
            v.matmul(&v)?,
            einsum_ref(&dv, "i", &dv, "i", ""),
        ),
        ("broadcast batch", a3.matmul(&b1)?, {
            let e = e1.index_axis(ndarray::Axis(0), 0).to_owned();
            einsum_ref(&d3, "bij", &e, "jk", "bik")
        }),
        ("missing batch", a3.matmul(&m2.t())?, {
            let t = dm2.t().to_owned();
            einsum_ref(&d3, "bij", &t, "jk", "bik")
        }),
        (
            "dot n-d with 1-d",
            a3.dot(&v)?,
            einsum_ref(&d3, "bij", &dv, "j", "bi"),
        ),
        (
            "dot n-d with n-d",
            a3.dot(&b3)?,
            einsum_ref(&d3, "bij", &e3, "cjk", "bick"),
        ),
        (
            "tensordot two axes",
            a3.tensordot(&m2, &[1, 2], &[0, 1])?,
            einsum_ref(&d3, "bij", &dm2, "ij", "b"),
        ),
        (
            "tensordot no axes",
            v.tensordot(&w, &[], &[])?,
            einsum_ref(&dv, "i", &dw, "j", "ij"),
        ),
        ("outer", v.outer(&w)?, einsum_ref(&dv, "i", &dw, "j", "ij")),
        (
            "vecdot",
            m2.vecdot(&m2, -1)?,
            einsum_ref(&dm2, "ij", &dm2, "ij", "i"),
        ),
        (
            "vecdot axis 0",
            m2.vecdot(&m2, 0)?,
            einsum_ref(&dm2, "ij", &dm2, "ij", "j"),
        ),
        (
            "einsum transposed result",
            Array::einsum("bij,bjk->kib", &a3, &b3)?,
            einsum_ref(&d3, "bij", &e3, "bjk", "kib"),
        ),
        (
            "einsum implicit",
            Array::einsum("ij,jk", &m2, &b3.slice(ndarray::s![0, .., ..])?)?,
            einsum_ref(
                &dm2,
                "ij",
                &e3.index_axis(ndarray::Axis(0), 0).to_owned(),
                "jk",
                "ik",
            ),
        ),
    ];
    for (what, got, want) in cases {
        assert_close(&compute_f64(&got), &want, what);
    }
    Ok(())
}

#[test]
fn dtypes_follow_numpy() -> TestResult {
    let ints = Array::arange(0.into(), 12.into(), 1.into(), 5)?;
    let a = ints.astype(DType::I32)?;
    let got = a.outer(&a)?;
    assert_eq!(got.dtype(), DType::I32);
    let want = ndarray::Array1::from_iter(0..12i32);
    let want2 = ndarray::Array2::from_shape_fn((12, 12), |(i, j)| want[i] * want[j]);
    assert_eq!(got.compute_as::<i32>()?, want2.into_dyn());
    // int32 @ float32 -> float64; float32 @ float32 stays float32.
    let f = a.astype(DType::F32)?;
    assert_eq!(a.matmul(&f)?.dtype(), DType::F64);
    let r = f.matmul(&f)?;
    assert_eq!(r.dtype(), DType::F32);
    assert_eq!(
        r.compute_as::<f32>()?.into_raw_vec_and_offset().0,
        vec![506.0]
    );
    // Integer products wrap like NumPy's.
    let big = Array::full(&[3], &[2], (1i64 << 62).into(), DType::I64)?;
    let two = Array::full(&[3], &[2], 4.into(), DType::I64)?;
    assert_eq!(big.matmul(&two)?.compute_as::<i64>()?.sum(), 0);
    Ok(())
}

#[test]
fn bad_products_are_clear_errors() -> TestResult {
    let a = Array::zeros(&[4, 5], &[2, 2], DType::F64)?;
    let b = Array::zeros(&[4, 5], &[2, 2], DType::F64)?;
    let e = a.matmul(&b).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    assert!(
        e.to_string().contains("(4, 5)") && e.to_string().contains("matmul"),
        "{e}"
    );
    let s = Array::zeros(&[], &[], DType::F64)?;
    assert!(
        a.matmul(&s)
            .unwrap_err()
            .to_string()
            .contains("at least one dimension")
    );
    let c = Array::zeros(&[2, 4, 5], &[1, 2, 2], DType::F64)?;
    let d = Array::zeros(&[3, 5, 4], &[1, 2, 2], DType::F64)?;
    assert!(
        c.matmul(&d)
            .unwrap_err()
            .to_string()
            .contains("do not broadcast")
    );
    let flags = Array::zeros(&[4], &[2], DType::Bool)?;
    let e = flags.matmul(&flags).unwrap_err();
    assert!(matches!(e, Error::UnsupportedDType { .. }), "{e}");
    assert!(a.tensordot(&b, &[0], &[0, 1]).is_err());
    assert!(a.tensordot(&b, &[2], &[0]).is_err());
    assert!(Array::einsum("ii,ij->j", &a, &b).is_err());
    assert!(Array::einsum("ij->i", &a, &b).is_err());
    assert!(
        Array::einsum("ij,k", &a, &b).is_err(),
        "a label summed over one operand"
    );
    assert!(a.outer(&b).is_err());
    Ok(())
}

#[test]
fn a_large_contraction_runs_in_bounded_memory() -> TestResult {
    // 600 x 600 @ 600 x 100 in 50-blocks under a limit that holds a few blocks only.
    let x = Array::random(&[600, 600], &[50, 50], 1)?;
    let y = x.slice(ndarray::s![.., ..100])?;
    let want = x
        .compute_as::<f64>()?
        .into_dimensionality::<ndarray::Ix2>()?
        .dot(
            &y.compute_as::<f64>()?
                .into_dimensionality::<ndarray::Ix2>()?,
        );
    let limit = 2 << 20;
    for opts in [ComputeOptions::synchronous(), ComputeOptions::threads(2)] {
        let opts = opts.with_memory_limit(limit);
        let (got, m) = x.matmul(&y)?.compute_with(&opts)?;
        assert!(m.peak_reserved_bytes <= limit, "{m:?}");
        assert_close(
            &got.into_typed::<f64>(),
            &want.clone().into_dyn(),
            "x @ x[:, :100]",
        );
        let (got, _) = x.t().matmul(&y)?.compute_with(&opts)?;
        let xt = x
            .compute_as::<f64>()?
            .into_dimensionality::<ndarray::Ix2>()?;
        let yy = y
            .compute_as::<f64>()?
            .into_dimensionality::<ndarray::Ix2>()?;
        assert_close(
            &got.into_typed::<f64>(),
            &xt.t().dot(&yy).into_dyn(),
            "x.T @ y",
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn matmul_is_chunking_invariant(
        m in 1usize..12, k in 1usize..12, n in 1usize..12,
        cm in 1usize..6, ck in 1usize..6, ck2 in 1usize..6, cn in 1usize..6,
    ) {
        let (a, da) = arr(&[m, k], &[cm, ck], 11);
        let (b, db) = arr(&[k, n], &[ck2, cn], 12);
        let want = einsum_ref(&da, "ij", &db, "jk", "ik");
        let got = compute_f64(&a.matmul(&b).unwrap());
        assert_close(&got, &want, "matmul");
        let got = compute_f64(&Array::einsum("ij,jk->ki", &a, &b).unwrap());
        assert_close(&got, &want.t().to_owned(), "einsum");
    }
}
