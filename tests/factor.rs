//! Blocked LU and Cholesky (`solve`, `inv`, `det`, `slogdet`, `cholesky`) against NumPy's
//! `np.linalg` (the peer venv, `tests/python/numpy_linalg.py`) on ragged square tilings,
//! matrices whose diagonal tiles are singular (pivots must come from other tiles), float64,
//! float32 and int32, under both schedulers; errors for singular and indefinite matrices;
//! a system larger than the memory limit.

use brickwork::parse::evaluate;
use brickwork::{Array, ComputeOptions, DType};
use ndarray::{Array2, ArrayD};

use crate::common::*;

fn values(a: &Array) -> ArrayD<f64> {
    compute_both(a).cast_to::<f64>()
}

fn close(got: &ArrayD<f64>, want: &ArrayD<f64>, tol: f64, what: &str) {
    close_normwise(got, want, tol, what);
}

/// A square test matrix of side `n` in `chunk`² chunks, as `dtype`; `kind` shapes it:
/// "random", "spd" (M Mᵀ + n I), "swapped" (the two halves of the rows exchanged, so that
/// the diagonal tiles are near zero and the pivots lie in other tiles).
fn square(n: usize, chunk: usize, dtype: DType, kind: &str, salt: u64) -> Array {
    let mut d = data(&[n, n], salt)
        .into_dimensionality::<ndarray::Ix2>()
        .expect("2-d");
    match kind {
        "spd" => d = d.dot(&d.t()) + Array2::<f64>::eye(n) * n as f64,
        "swapped" => {
            let mut m = Array2::<f64>::zeros((n, n));
            let h = n / 2;
            for i in 0..n {
                m[[(i + h) % n, i]] = 1.0 + i as f64;
            }
            d = m + d * 1e-3;
        }
        _ => {}
    }
    if dtype == DType::I32 {
        d.mapv_inplace(f64::round);
    }
    Array::from_ndarray(d.into_dyn(), &[chunk, chunk])
        .and_then(|a| a.astype(dtype))
        .expect("a test matrix")
}

fn rhs(shape: &[usize], chunk: usize, salt: u64) -> Array {
    Array::from_ndarray(data(shape, salt), &vec![chunk; shape.len()]).expect("a test rhs")
}

/// name, matrix, right-hand sides, tolerance.
fn cases() -> Vec<(&'static str, Array, Array, f64)> {
    vec![
        (
            "one_tile",
            square(5, 5, DType::F64, "random", 1),
            rhs(&[5], 5, 2),
            1e-12,
        ),
        (
            "ragged",
            square(37, 10, DType::F64, "random", 3),
            rhs(&[37, 5], 3, 4),
            1e-10,
        ),
        (
            "many_tiles",
            square(150, 16, DType::F64, "random", 5),
            rhs(&[150], 7, 6),
            1e-9,
        ),
        (
            "swapped",
            square(64, 8, DType::F64, "swapped", 7),
            rhs(&[64, 3], 8, 8),
            1e-9,
        ),
        (
            "float32",
            square(40, 9, DType::F32, "random", 9),
            rhs(&[40], 9, 10).astype(DType::F32).unwrap(),
            2e-3,
        ),
        (
            "int32",
            square(30, 7, DType::I32, "random", 11),
            rhs(&[30], 7, 12),
            1e-9,
        ),
    ]
}

#[test]
fn solve_inv_det_slogdet_match_numpy() -> TestResult {
    if peer_python().is_none() {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let cases = cases();
    let mut jobs = Vec::new();
    for (name, a, b, _) in &cases {
        save_job_input(dir.path(), &format!("{name}_a"), a)?;
        save_job_input(dir.path(), &format!("{name}_b"), b)?;
        let inputs = serde_json::json!({ "a": format!("{name}_a"), "b": format!("{name}_b") });
        for (out, expr) in [
            ("solve", "np.linalg.solve(a, b)"),
            ("inv", "np.linalg.inv(a)"),
            ("det", "np.linalg.det(a)"),
            ("slogdet", "tuple(np.linalg.slogdet(a))"),
        ] {
            jobs.push(
                serde_json::json!({"out": format!("{out}_{name}"), "inputs": inputs, "expr": expr}),
            );
        }
    }
    run_numpy_jobs(dir.path(), &jobs)?;
    for (name, a, b, tol) in &cases {
        let want = if a.dtype() == DType::F32 && b.dtype() == DType::F32 {
            DType::F32
        } else {
            DType::F64
        };
        let x = a.solve(b)?;
        assert_eq!(x.dtype(), want, "{name}: solve's dtype");
        close(
            &values(&x),
            &numpy_job_result(dir.path(), &format!("solve_{name}"), 0)?,
            *tol,
            &format!("{name}: solve"),
        );
        let inv = a.inv()?;
        close(
            &values(&inv),
            &numpy_job_result(dir.path(), &format!("inv_{name}"), 0)?,
            *tol,
            &format!("{name}: inv"),
        );
        // The determinant relative to its own size (it spans many orders of magnitude).
        let det = values(&a.det()?);
        let want_det = numpy_job_result(dir.path(), &format!("det_{name}"), 0)?;
        let (got_det, want_det) = (det.sum(), want_det.sum());
        let rel = (got_det - want_det).abs() / want_det.abs().max(f64::MIN_POSITIVE);
        assert!(
            rel < tol * 100.0 || (want_det.is_infinite() && got_det == want_det),
            "{name}: det {got_det} against {want_det}"
        );
        let (sign, log) = a.slogdet()?;
        close(
            &values(&sign),
            &numpy_job_result(dir.path(), &format!("slogdet_{name}"), 0)?,
            0.0,
            &format!("{name}: slogdet sign"),
        );
        close(
            &values(&log),
            &numpy_job_result(dir.path(), &format!("slogdet_{name}"), 1)?,
            *tol,
            &format!("{name}: slogdet log"),
        );
    }
    Ok(())
}

#[test]
fn cholesky_matches_numpy() -> TestResult {
    if peer_python().is_none() {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let cases = [
        ("one_tile", square(6, 6, DType::F64, "spd", 21), 1e-12),
        ("ragged", square(45, 10, DType::F64, "spd", 22), 1e-10),
        ("float32", square(33, 8, DType::F32, "spd", 23), 1e-4),
    ];
    let mut jobs = Vec::new();
    for (name, a, _) in &cases {
        save_job_input(dir.path(), name, a)?;
        let inputs = serde_json::json!({ "a": name });
        jobs.push(serde_json::json!({"out": format!("chol_{name}"), "inputs": inputs, "expr": "np.linalg.cholesky(a)"}));
    }
    run_numpy_jobs(dir.path(), &jobs)?;
    for (name, a, tol) in &cases {
        let l = a.cholesky(false)?;
        assert_eq!(l.dtype(), a.dtype(), "{name}");
        let want = numpy_job_result(dir.path(), &format!("chol_{name}"), 0)?;
        close(&values(&l), &want, *tol, &format!("{name}: cholesky"));
        let u = a.cholesky(true)?;
        close(
            &values(&u),
            &want.t().to_owned(),
            *tol,
            &format!("{name}: cholesky upper"),
        );
    }
    Ok(())
}

#[test]
fn singular_and_indefinite_matrices_are_errors_naming_them() -> TestResult {
    // Rank one: every pivot after the first is zero.
    let row = Array::from_ndarray(ndarray::Array1::range(1.0, 9.0, 1.0).into_dyn(), &[3])?;
    let a = Array::from_ndarray(
        ndarray::Array2::from_shape_fn((8, 8), |(i, j)| ((i + 1) * (j + 1)) as f64).into_dyn(),
        &[3, 3],
    )?;
    let err = a.solve(&row)?.compute().unwrap_err().to_string();
    assert!(err.contains("solve") && err.contains("singular"), "{err}");
    let err = a.inv()?.compute().unwrap_err().to_string();
    assert!(err.contains("inv") && err.contains("singular"), "{err}");
    // A singular matrix's determinant is 0, its slogdet (0, -inf), as NumPy's.
    assert_eq!(a.det()?.compute_as::<f64>()?.sum(), 0.0);
    let (sign, log) = a.slogdet()?;
    assert_eq!(sign.compute_as::<f64>()?.sum(), 0.0);
    assert_eq!(log.compute_as::<f64>()?.sum(), f64::NEG_INFINITY);
    let err = (&a * -1.0)
        .cholesky(false)?
        .compute()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not positive definite") && err.contains("order 1"),
        "{err}"
    );
    // Shapes.
    let wide = Array::zeros(&[3, 4], &[2, 2], DType::F64)?;
    let err = wide.solve(&row).unwrap_err().to_string();
    assert!(err.contains("square") && err.contains("(3, 4)"), "{err}");
    let err = a
        .solve(&Array::zeros(&[7], &[7], DType::F64)?)
        .unwrap_err()
        .to_string();
    assert!(err.contains("solve") && err.contains("length 8"), "{err}");
    Ok(())
}

#[test]
fn a_system_larger_than_the_memory_limit_is_solved_within_it() -> TestResult {
    // 1200² float64 (11 MB) with a right-hand side, 100² tiles, under 4 MiB.
    let n = 1200;
    let a = square(n, 100, DType::F64, "random", 31);
    let x_true = rhs(&[n], 100, 32);
    let b = a.matmul(&x_true)?;
    let b = b.persist()?;
    let x = a.solve(&b)?;
    let limit = 4 << 20;
    let options = ComputeOptions::threads(2).with_memory_limit(limit);
    let (got, m) = x.compute_with(&options)?;
    let got = got.cast_to::<f64>();
    let want = x_true.compute_as::<f64>()?;
    close(&got, &want, 1e-8, "x");
    assert!(m.peak_reserved_bytes <= limit, "{m:?}");
    Ok(())
}

#[test]
fn eval_names_reach_the_factorizations() -> TestResult {
    let a = square(12, 5, DType::F64, "spd", 41);
    let b = rhs(&[12], 5, 42);
    let mut scope = std::collections::HashMap::new();
    scope.insert("a".to_string(), a.clone());
    scope.insert("b".to_string(), b.clone());
    for (expr, want) in [
        ("linalg.solve(a, b)", a.solve(&b)?),
        ("linalg.inv(a)", a.inv()?),
        ("linalg.det(a)", a.det()?),
        ("linalg.slogdet(a)[1]", a.slogdet()?.1),
        ("linalg.cholesky(a)", a.cholesky(false)?),
        ("linalg.cholesky(a, upper=True)", a.cholesky(true)?),
    ] {
        let got = evaluate(expr, &scope)?;
        close(&values(&got), &values(&want), 0.0, expr);
    }
    Ok(())
}

/// `lu` (in memory per matrix): `P L U = a` with `P` a permutation, `L` unit lower and `U`
/// upper triangular, for one matrix, a stack and a complex matrix; the pivots are the
/// largest magnitudes, so every entry of `L` is at most 1.
#[test]
fn lu_gives_p_l_u_of_each_matrix() -> TestResult {
    let one = square(9, 4, DType::F64, "swapped", 43);
    let stack = Array::stack(&[&one, &square(9, 4, DType::F64, "random", 44)], 0)?;
    let mut scope = std::collections::HashMap::new();
    scope.insert("a".to_string(), stack.clone());
    for (what, a) in [
        ("one", one.clone()),
        ("stack", stack.clone()),
        (
            "eval",
            evaluate(
                "linalg.lu(a)[0] @ linalg.lu(a)[1] @ linalg.lu(a)[2]",
                &scope,
            )?,
        ),
    ] {
        if what == "eval" {
            close(&values(&a), &values(&stack), 1e-12, what);
            continue;
        }
        let (p, l, u) = a.lu()?;
        close(
            &values(&p.matmul(&l)?.matmul(&u)?),
            &values(&a),
            1e-12,
            what,
        );
        let (p, l, u) = (values(&p), values(&l), values(&u));
        let n = 9;
        let nd = l.ndim();
        for (idx, v) in l.indexed_iter() {
            let (i, j) = (idx[nd - 2], idx[nd - 1]);
            assert!(j <= i || *v == 0.0, "{what}: L above its diagonal");
            assert!(i != j || *v == 1.0, "{what}: L's diagonal");
            assert!(v.abs() <= 1.0, "{what}: |L| > 1 (not partial pivoting)");
        }
        for (idx, v) in u.indexed_iter() {
            assert!(idx[nd - 1] >= idx[nd - 2] || *v == 0.0, "{what}: U");
        }
        let ones: f64 = p.iter().sum();
        assert_eq!(ones, (p.len() / (n * n) * n) as f64, "{what}: P");
    }
    // Complex: P L U = a too.
    let z = evaluate("a + 1j * a[::-1]", &scope)?;
    let (p, l, u) = z.lu()?;
    let back = p.matmul(&l)?.matmul(&u)?;
    let diff = evaluate("abs(d - z).max()", &{
        let mut s = std::collections::HashMap::new();
        s.insert("d".to_string(), back);
        s.insert("z".to_string(), z.clone());
        s
    })?;
    assert!(
        values(&diff)[[]] < 1e-12,
        "complex lu: {}",
        values(&diff)[[]]
    );
    let e = square(9, 4, DType::F64, "random", 45)
        .t()
        .slice(ndarray::s![..4, ..]);
    let e = e?.lu().err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("lu: needs square matrices"), "{e}");
    Ok(())
}
