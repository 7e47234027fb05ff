//! Tall-skinny `qr` (TSQR), `svd`, `svdvals` and `lstsq`: against NumPy's `np.linalg` (the
//! peer venv, `tests/python/numpy_linalg.py`) on ragged row chunkings (row blocks shorter
//! than the columns, deep trees, merged column blocks, one block, wide arrays), float64,
//! float32 and int32, under both schedulers; the factorizations' invariants over random
//! chunkings (proptest); a store larger than the memory limit; the eval names; errors.

use std::collections::HashMap;

use brickwork::parse::evaluate;
use brickwork::{Array, AxisChunks, ChunkGrid, ComputeOptions, DType, Error, WriteOptions, s};
use ndarray::{Array2, ArrayD, Ix2};
use proptest::prelude::*;

use crate::common::*;

type M = Array2<f64>;

fn m2(a: ArrayD<f64>) -> M {
    a.into_dimensionality::<Ix2>().expect("a matrix")
}

/// Computes under both schedulers (bit-identical), as float64.
fn values(a: &Array) -> ArrayD<f64> {
    compute_both(a).cast_to::<f64>()
}

fn close(got: &ArrayD<f64>, want: &ArrayD<f64>, tol: f64, what: &str) {
    close_normwise(got, want, tol, what);
}

fn close2(got: &M, want: &M, tol: f64, what: &str) {
    close(&got.clone().into_dyn(), &want.clone().into_dyn(), tol, what);
}

/// A 2-d test array: `data` values (int32: rounded), row blocks of `rows`, columns in
/// blocks of `cols`, as `dtype`.
fn matrix(shape: [usize; 2], rows: &[usize], cols: usize, dtype: DType, salt: u64) -> Array {
    let mut d = data(&shape, salt);
    if dtype == DType::I32 {
        d.mapv_inplace(f64::round);
    }
    Array::from_ndarray(d, &shape)
        .and_then(|a| {
            a.rechunk_grid(ChunkGrid::from_axes(vec![
                AxisChunks::from_sizes(rows),
                AxisChunks::regular(shape[1], cols),
            ]))
        })
        .and_then(|a| a.astype(dtype))
        .expect("a test matrix")
}

fn regular(len: usize, chunk: usize) -> Vec<usize> {
    AxisChunks::regular(len, chunk).sizes()
}

/// The factorization cases: name, array, tolerance.
fn qr_cases() -> Vec<(&'static str, Array, f64)> {
    let f64_ = DType::F64;
    vec![
        // Ragged last block.
        (
            "tall",
            matrix([1000, 10], &regular(1000, 300), 10, f64_, 1),
            1e-10,
        ),
        // Row blocks shorter than the 10 columns among long ones.
        (
            "short_blocks",
            matrix([1000, 10], &[3, 200, 1, 7, 489, 300], 10, f64_, 2),
            1e-10,
        ),
        // 50 blocks of 4 rows: a tree of five levels.
        (
            "tiny_blocks",
            matrix([200, 10], &regular(200, 4), 10, f64_, 3),
            1e-10,
        ),
        // Columns in three blocks, merged.
        (
            "column_blocks",
            matrix([4000, 50], &regular(4000, 1000), 20, f64_, 4),
            1e-10,
        ),
        (
            "float32",
            matrix([4000, 50], &regular(4000, 700), 50, DType::F32, 5),
            2e-4,
        ),
        (
            "int32",
            matrix([500, 6], &regular(500, 128), 6, DType::I32, 6),
            1e-10,
        ),
        ("square", matrix([50, 50], &[50], 50, f64_, 7), 1e-10),
        (
            "square_blocks",
            matrix([50, 50], &regular(50, 20), 50, f64_, 8),
            1e-10,
        ),
        // Fewer rows than columns, in several row blocks: factored as one block.
        (
            "wide",
            matrix([30, 50], &regular(30, 10), 50, f64_, 9),
            1e-10,
        ),
    ]
}

/// The lstsq cases: name, a, b, tolerance.
fn lstsq_cases() -> Vec<(&'static str, Array, Array, f64)> {
    let vector = |m: usize, chunk: usize, dtype: DType, salt: u64| {
        Array::from_ndarray(data(&[m], salt), &[chunk])
            .and_then(|b| b.astype(dtype))
            .expect("b")
    };
    let tall = matrix([1000, 10], &regular(1000, 300), 10, DType::F64, 1);
    // Column 5 = column 2 + column 3 (exactly: the values are multiples of 1/8).
    let deficient = {
        let mut d = data(&[200, 6], 12);
        let sum = &d.slice(s![.., 2]) + &d.slice(s![.., 3]);
        d.slice_mut(s![.., 5]).assign(&sum);
        Array::from_ndarray(d, &[64, 6]).expect("a")
    };
    vec![
        (
            "vector",
            tall.clone(),
            vector(1000, 128, DType::F64, 20),
            1e-10,
        ),
        (
            "matrix",
            tall,
            Array::from_ndarray(data(&[1000, 3], 21), &[250, 2]).expect("b"),
            1e-10,
        ),
        (
            "float32",
            matrix([4000, 50], &regular(4000, 700), 50, DType::F32, 5),
            vector(4000, 1000, DType::F32, 22),
            1e-3,
        ),
        (
            "int32",
            matrix([500, 6], &regular(500, 128), 6, DType::I32, 6),
            Array::from_ndarray(data(&[500, 2], 23), &[100, 2]).expect("b"),
            1e-10,
        ),
        (
            "deficient",
            deficient,
            vector(200, 50, DType::F64, 24),
            1e-9,
        ),
        (
            "square",
            matrix([50, 50], &[50], 50, DType::F64, 7),
            Array::from_ndarray(data(&[50, 2], 25), &[50, 2]).expect("b"),
            1e-9,
        ),
        (
            "wide",
            matrix([30, 50], &regular(30, 10), 50, DType::F64, 9),
            vector(30, 7, DType::F64, 26),
            1e-10,
        ),
    ]
}

/// NumPy's Q and R with R's diagonal made non-negative (brickwork's convention).
fn normalized(mut q: M, mut r: M) -> (M, M) {
    for i in 0..q.ncols().min(r.nrows()) {
        if r[[i, i]] < 0.0 {
            r.row_mut(i).mapv_inplace(|v| -v);
            q.column_mut(i).mapv_inplace(|v| -v);
        }
    }
    (q, r)
}

/// `Q R = A`, `QᵀQ = I`, `R` upper triangular with a non-negative diagonal.
fn check_qr(a: &M, q: &M, r: &M, tol: f64, what: &str) {
    let k = a.nrows().min(a.ncols());
    assert_eq!(
        (q.dim(), r.dim()),
        ((a.nrows(), k), (k, a.ncols())),
        "{what}"
    );
    close2(&q.dot(r), a, tol, &format!("{what}: Q R = A"));
    close2(
        &q.t().dot(q),
        &Array2::eye(k),
        tol,
        &format!("{what}: QᵀQ = I"),
    );
    for ((i, j), v) in r.indexed_iter() {
        assert!(
            j >= i || *v == 0.0,
            "{what}: R[{i}, {j}] = {v} below the diagonal"
        );
        assert!(j != i || *v >= 0.0, "{what}: R[{i}, {i}] = {v} is negative");
    }
}

/// The columns of `got` equal those of `want` up to their signs.
fn close_up_to_signs(got: &M, want: &M, tol: f64, what: &str) {
    let mut flipped = got.clone();
    for (mut g, w) in flipped.columns_mut().into_iter().zip(want.columns()) {
        if g.dot(&w) < 0.0 {
            g.mapv_inplace(|v| -v);
        }
    }
    close2(&flipped, want, tol, what);
}

#[test]
fn qr_and_svd_match_numpy() -> TestResult {
    if peer_python().is_none() {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let cases = qr_cases();
    let mut jobs = Vec::new();
    for (name, a, _) in &cases {
        save_job_input(dir.path(), name, a)?;
        let inputs = serde_json::json!({ "a": name });
        jobs.push(serde_json::json!({"out": format!("qr_{name}"), "inputs": inputs, "expr": "np.linalg.qr(a)"}));
        jobs.push(serde_json::json!({"out": format!("svd_{name}"), "inputs": inputs, "expr": "np.linalg.svd(a, full_matrices=False)"}));
    }
    run_numpy_jobs(dir.path(), &jobs)?;
    for (name, a, tol) in &cases {
        let want_dtype = if a.dtype() == DType::F32 {
            DType::F32
        } else {
            DType::F64
        };
        let av = m2(values(a));
        let (q, r) = a.qr()?;
        assert_eq!((q.dtype(), r.dtype()), (want_dtype, want_dtype), "{name}");
        let (qv, rv) = (m2(values(&q)), m2(values(&r)));
        check_qr(&av, &qv, &rv, *tol, name);
        let (qn, rn) = normalized(
            m2(numpy_job_result(dir.path(), &format!("qr_{name}"), 0)?),
            m2(numpy_job_result(dir.path(), &format!("qr_{name}"), 1)?),
        );
        close2(&rv, &rn, *tol, &format!("{name}: R against NumPy"));
        close2(&qv, &qn, *tol, &format!("{name}: Q against NumPy"));

        let (u, sv, vh) = a.svd()?;
        let (u, sv, vh) = (m2(values(&u)), values(&sv), m2(values(&vh)));
        let out = format!("svd_{name}");
        close(
            &sv,
            &numpy_job_result(dir.path(), &out, 1)?,
            *tol,
            &format!("{name}: S"),
        );
        let k = sv.len();
        let us = &u * &sv.clone().into_shape_with_order((1, k))?;
        close2(&us.dot(&vh), &av, *tol, &format!("{name}: U S Vh = A"));
        close2(
            &u.t().dot(&u),
            &Array2::eye(k),
            *tol,
            &format!("{name}: UᵀU = I"),
        );
        close2(
            &vh.dot(&vh.t()),
            &Array2::eye(k),
            *tol,
            &format!("{name}: Vh Vhᵀ = I"),
        );
        if want_dtype == DType::F64 {
            // Singular vectors (random data: distinct singular values), up to their signs.
            let un = m2(numpy_job_result(dir.path(), &out, 0)?);
            let vn = m2(numpy_job_result(dir.path(), &out, 2)?);
            close_up_to_signs(&u, &un, 1e-8, &format!("{name}: U against NumPy"));
            close_up_to_signs(
                &vh.t().to_owned(),
                &vn.t().to_owned(),
                1e-8,
                &format!("{name}: Vh"),
            );
        }
        assert_eq!(values(&a.svdvals()?), sv, "{name}: svdvals is svd's S");
    }
    Ok(())
}

#[test]
fn lstsq_matches_numpy() -> TestResult {
    if peer_python().is_none() {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let cases = lstsq_cases();
    let mut jobs = Vec::new();
    for (name, a, b, _) in &cases {
        save_job_input(dir.path(), &format!("{name}_a"), a)?;
        save_job_input(dir.path(), &format!("{name}_b"), b)?;
        jobs.push(serde_json::json!({
            "out": format!("lstsq_{name}"),
            "inputs": {"a": format!("{name}_a"), "b": format!("{name}_b")},
            "expr": "np.linalg.lstsq(a, b, rcond=None)",
        }));
    }
    run_numpy_jobs(dir.path(), &jobs)?;
    for (name, a, b, tol) in &cases {
        let out = format!("lstsq_{name}");
        let fit = a.lstsq(b, None)?;
        let want_dtype = if a.dtype() == DType::F32 && b.dtype() == DType::F32 {
            DType::F32
        } else {
            DType::F64
        };
        assert_eq!(fit.x.dtype(), want_dtype, "{name}");
        let x = values(&fit.x);
        close(
            &x,
            &numpy_job_result(dir.path(), &out, 0)?,
            *tol,
            &format!("{name}: x"),
        );
        let rank = compute_both(&fit.rank).into_typed::<i64>();
        let want_rank = numpy_job_result(dir.path(), &out, 2)?;
        assert_eq!(rank.shape(), &[] as &[usize], "{name}: rank is 0-d");
        assert_eq!(rank[[]] as f64, want_rank[[]], "{name}: rank");
        close(
            &values(&fit.s),
            &numpy_job_result(dir.path(), &out, 3)?,
            *tol,
            &format!("{name}: s"),
        );
        // Residuals: NumPy's where it gives them; otherwise ‖b − a x‖² of our x.
        let residuals = values(&fit.residuals);
        let want = numpy_job_result(dir.path(), &out, 1)?;
        let want = if want.is_empty() {
            let (av, bv) = (m2(values(a)), values(b));
            let bv = if bv.ndim() == 1 {
                bv.insert_axis(ndarray::Axis(1))
            } else {
                bv
            };
            let xv = if x.ndim() == 1 {
                x.clone().insert_axis(ndarray::Axis(1))
            } else {
                x.clone()
            };
            let diff = m2(bv) - av.dot(&m2(xv));
            diff.mapv(|v| v * v).sum_axis(ndarray::Axis(0)).into_dyn()
        } else {
            want
        };
        close(&residuals, &want, *tol, &format!("{name}: residuals"));
    }
    Ok(())
}

#[test]
fn eval_names_give_the_library_results() -> TestResult {
    let a = matrix([300, 5], &regular(300, 70), 5, DType::F64, 30);
    let b = Array::from_ndarray(data(&[300], 31), &[64])?;
    let inputs = HashMap::from([("a".to_string(), a.clone()), ("b".to_string(), b.clone())]);
    let (q, r) = a.qr()?;
    let (u, sv, vh) = a.svd()?;
    let fit = a.lstsq(&b, None)?;
    let fit3 = a.lstsq(&b, Some(1e-3))?;
    for (program, want) in [
        ("qr(a)[0]", &q),
        ("qr(a)[-1]", &r),
        ("qr(a, mode=\"r\")", &r),
        ("qr(a, mode=\"reduced\")[1]", &r),
        ("svd(a)[0]", &u),
        ("svd(a, full_matrices=False)[1]", &sv),
        ("svd(a)[2]", &vh),
        ("svdvals(a)", &sv),
        ("lstsq(a, b)[0]", &fit.x),
        ("lstsq(a, b, rcond=None)[1]", &fit.residuals),
        ("lstsq(a, b)[2]", &fit.rank),
        ("lstsq(a, b)[3]", &fit.s),
        ("lstsq(a, b, rcond=1e-3)[0]", &fit3.x),
        ("t = lstsq(a, b); t[0] * 2", &(&fit.x * 2.0)),
    ] {
        let got = evaluate(program, &inputs).map_err(|e| format!("{program}: {e}"))?;
        assert_eq!(
            format!("{:?}", got.compute()?),
            format!("{:?}", want.compute()?),
            "{program}"
        );
    }
    for (program, says) in [
        ("qr(a)", "tuple of arrays; take one item"),
        ("qr(a)[2]", "tuple index 2 is out of range"),
        ("qr(a)[0:1]", "one integer index"),
        ("qr(a, mode=\"economic\")", "mode"),
        ("qr(a[0])", "needs a 2-d array"),
        (
            "lstsq(a, b[:3])",
            "lstsq: shapes (300, 5) and (3,) are not compatible",
        ),
        ("lstsq(a, b, rcond=-1)", "rcond"),
    ] {
        let e = evaluate(program, &inputs)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains(says), "{program}: {e}");
    }
    Ok(())
}

#[test]
fn bad_input_gives_errors_naming_the_shapes() -> TestResult {
    let message =
        |r: Result<(Array, Array), Error>| r.err().map(|e| e.to_string()).unwrap_or_default();
    let v = Array::from_ndarray(data(&[10], 1), &[4])?;
    assert!(message(v.qr()).contains("qr: needs a 2-d array (a matrix), got shape (10,)"));
    // A stack of matrices, and an empty one, are factored in memory (kernel::dense).
    let cube = Array::from_ndarray(data(&[3, 4, 5], 1), &[2, 2, 2])?;
    let (q, r) = cube.qr()?;
    assert_eq!((q.shape(), r.shape()), (vec![3, 4, 4], vec![3, 4, 5]));
    let empty = Array::zeros(&[0, 3], &[4, 3], DType::F64)?;
    let (q, r) = empty.qr()?;
    assert_eq!((q.shape(), r.shape()), (vec![0, 0], vec![0, 3]));
    // R would be 20000 × 20000 float64 (2.98 GiB): refused before anything runs.
    let wide = Array::zeros(&[40_000, 20_000], &[1000, 1000], DType::F64)?;
    let e = wide.svd().err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        e.contains(
            "svd: an array of shape (40000, 20000) (chunks (1000, 1000)) has too many columns"
        ) && e.contains("20000 × 20000"),
        "{e}"
    );
    // Absurd sizes build a graph (the planner refuses to run it), no overflow.
    let huge = Array::zeros(&[1 << 50, 4], &[1 << 40, 4], DType::F64)?;
    assert!(huge.qr().is_ok() && huge.svd().is_ok());
    let a = Array::from_ndarray(data(&[100, 3], 2), &[30, 3])?;
    for (b, says) in [
        (
            Array::from_ndarray(data(&[99], 3), &[30])?,
            "lstsq: shapes (100, 3) and (99,) are not compatible",
        ),
        (
            Array::from_ndarray(data(&[100, 2, 2], 3), &[30, 2, 2])?,
            "and (100, 2, 2)",
        ),
    ] {
        let e = a
            .lstsq(&b, None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains(says), "{e}");
    }
    let b = Array::from_ndarray(data(&[100], 3), &[30])?;
    for rcond in [-1.0, f64::NAN] {
        let e = a
            .lstsq(&b, Some(rcond))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("rcond must be a non-negative number"), "{e}");
    }
    // NaN: an error or NaN values, never a panic.
    let mut d = data(&[40, 3], 4);
    d[[7, 1]] = f64::NAN;
    let nan = Array::from_ndarray(d, &[10, 3])?;
    match nan.svdvals()?.compute() {
        Err(e) => assert!(e.to_string().contains("did not converge"), "{e}"),
        Ok(s) => assert!(s.cast_to::<f64>().iter().any(|v| v.is_nan()), "{s:?}"),
    }
    Ok(())
}

#[test]
fn a_store_larger_than_the_memory_limit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (m, n) = (100_000, 16);
    let path = dir.path().join("a.zarr");
    Array::random_normal(&[m, n], &[2500, n], 7, 0.0, 1.0)?
        .to_zarr(&path, &WriteOptions::default())?;
    let a = Array::from_zarr(&path)?;
    let limit: u64 = 4 << 20;
    assert!(a.nbytes() > 3 * limit);
    let (q, r) = a.qr()?;
    let opts = ComputeOptions::threads(2).with_memory_limit(limit);
    let (_, r_only) = r.compute_with(&opts)?;
    assert!(r_only.peak_reserved_bytes <= limit, "{r_only}");
    let q_path = dir.path().join("q.zarr");
    let written = q.to_zarr_with(&q_path, &WriteOptions::default(), &opts)?;
    assert!(
        written.peak_reserved_bytes <= limit && written.predicted_peak_bytes <= limit,
        "{written}"
    );
    // The estimate counts the factorizations' copies: a quarter of the limit is refused
    // before anything runs, naming the Q pass.
    let tight = ComputeOptions::threads(2).with_memory_limit(limit / 4);
    match q.to_zarr_with(
        dir.path().join("q_tight.zarr"),
        &WriteOptions::default(),
        &tight,
    ) {
        Err(e @ Error::PlanExceedsMemory { .. }) => {
            assert!(e.to_string().contains("tsqr_q"), "{e}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // R reads the store once; Q reads it again (the local QRs are recomputed), as the
    // chunks cannot be held between the passes.
    assert_eq!(
        written.bytes_read,
        2 * r_only.bytes_read,
        "{r_only}\n{written}"
    );
    let (rv, _) = r.compute_with(&opts)?;
    let rv = m2(rv.into_typed::<f64>());
    // QᵀQ = I over the whole stored Q (a contraction under the limit), Q R = A on samples.
    let stored = Array::from_zarr(&q_path)?;
    let (qtq, mq) = stored.t().matmul(&stored)?.compute_with(&opts)?;
    assert!(mq.peak_reserved_bytes <= limit, "{mq}");
    close2(
        &m2(qtq.into_typed::<f64>()),
        &Array2::eye(n),
        1e-12,
        "QᵀQ = I",
    );
    for start in [0, 51_234, m - 100] {
        let rows = s![start..start + 100, ..];
        let qs = m2(stored.slice(rows)?.compute_as::<f64>()?);
        let as_ = m2(a.slice(rows)?.compute_as::<f64>()?);
        close2(
            &qs.dot(&rv),
            &as_,
            1e-12,
            &format!("Q R = A at row {start}"),
        );
    }
    // lstsq reads a (and b, made from it) once, under the limit: b = 2 a₀ − a₃.
    let b = &(&a.slice(s![.., 0])? * 2.0) - &a.slice(s![.., 3])?;
    let fit = a.lstsq(&b, None)?;
    let (x, mx) = fit.x.compute_with(&opts)?;
    assert!(mx.peak_reserved_bytes <= limit, "{mx}");
    let mut want = ndarray::Array1::<f64>::zeros(n);
    want[0] = 2.0;
    want[3] = -1.0;
    close(&x.into_typed::<f64>(), &want.into_dyn(), 1e-12, "lstsq x");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    #[test]
    fn qr_invariants_hold_for_any_chunking(
        rows in prop::collection::vec(1usize..12, 1..8),
        n in 1usize..9,
        cols in 1usize..9,
        salt in 0u64..1000,
    ) {
        let m: usize = rows.iter().sum();
        let a = matrix([m, n], &rows, cols, DType::F64, salt);
        let av = m2(values(&a));
        let (q, r) = a.qr().unwrap();
        let (qv, rv) = (m2(values(&q)), m2(values(&r)));
        check_qr(&av, &qv, &rv, 1e-10, &format!("{m}x{n} in rows {rows:?}"));
        // R is unique (non-negative diagonal) for a full-rank array: the same for every
        // chunking as in one block.
        let (_, one) = Array::from_ndarray(av.clone().into_dyn(), &[m, n]).unwrap().qr().unwrap();
        let one = m2(values(&one));
        let k = m.min(n);
        let scale = 1.0 + av.iter().fold(0.0f64, |x, v| x.max(v.abs()));
        if (0..k).all(|i| one[[i, i]] > 1e-6 * scale) {
            close2(&rv, &one, 1e-9, "R against one block");
        }
    }
}
