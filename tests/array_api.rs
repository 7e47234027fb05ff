//! The array API standard and NumPy's everyday functions (issue 27) against NumPy: each
//! case is a program of the expression language that is also a Python expression, run by
//! `brickwork::parse` over inputs with ragged chunkings (1-d to 3-d; float64, float32,
//! int64, int32, uint8, bool) under both schedulers, and by NumPy itself
//! (`tests/python/numpy_eval.py`, every case in one Python process) over the same values.
//! The result dtype must be NumPy 2's and the values equal (integers and bools exactly,
//! floats to 1e-9 relative to the element or to the largest element of the result, float32
//! to 1e-5).

use std::collections::HashMap;
use std::path::Path;

use brickwork::io::npy::NpyFile;
use brickwork::parse::evaluate_all;
use brickwork::{Array, Block, Complex128, ComputeOptions, DType};
use ndarray::{ArrayD, IxDyn};

use crate::common::*;

/// An input: name, shape, chunks (none divides its axis), dtype, and how its values are
/// made from the deterministic test data.
type Input = (&'static str, Vec<usize>, Vec<usize>, DType, fn(f64) -> f64);

/// The inputs.
fn inputs() -> Vec<Input> {
    let small = |v: f64| (v / 4.0).round().clamp(-9.0, 9.0);
    let unit = |v: f64| (v / 40.0).clamp(-0.95, 0.95);
    vec![
        ("a1", vec![37], vec![10], DType::F64, unit),
        ("a2", vec![9, 11], vec![4, 3], DType::F64, unit),
        ("sq", vec![12, 12], vec![5, 5], DType::F64, unit),
        ("a3", vec![4, 5, 6], vec![3, 2, 4], DType::F64, unit),
        ("f2", vec![9, 11], vec![4, 3], DType::F32, unit),
        ("i1", vec![37], vec![10], DType::I64, small),
        ("i2", vec![9, 11], vec![4, 3], DType::I32, small),
        ("u1", vec![37], vec![10], DType::U8, |v: f64| {
            v.abs().round().min(200.0)
        }),
        ("b2", vec![9, 11], vec![4, 3], DType::Bool, |v: f64| {
            f64::from(u8::from(v > 0.0))
        }),
        // NaN where the data is a multiple of 5, but never a whole row of nan2.
        ("n1", vec![37], vec![10], DType::F64, |v: f64| {
            if v.rem_euclid(5.0) == 0.0 {
                f64::NAN
            } else {
                v
            }
        }),
        ("nan2", vec![9, 11], vec![4, 3], DType::F64, |v: f64| {
            if v.rem_euclid(7.0) == 0.0 && v != 0.0 {
                f64::NAN
            } else {
                v
            }
        }),
    ]
}

/// Every case: a program valid in both languages.
const CASES: &[&str] = &[
    // The language: lists, keywords, list and bool indexing, namespaces, tuple results.
    "quantile(a1, [0.1, 0.9])",
    "quantile(a2, [0.25, 0.5], axis=1)",
    "quantile(a2, 0.5, axis=0, keepdims=True)",
    "median(a2, axis=1, keepdims=True)",
    "tensordot(a3, a3, axes=([0, 1], [0, 1]))",
    "a2[[0, 5, 8], :]",
    "a2[:, [0, 3, -1]]",
    "a2[[True, False, True, False, True, False, True, False, True], 1:5]",
    "a3[1, [0, 2], ::2]",
    "a2[(1, 2)]",
    "a3[[[0, 1], [2, 3]], 1]",
    "a3[:, [0, 2], [1, 3]]",
    "a3[[0, 1], :, [1, -3]]",
    "a3[0, :, [1, 3]]",
    "a3[[1], [[0], [2]], ::2]",
    "a2[[[0, 1], [2, 3]]]",
    "a2[i2[:2, :3] % 9, 4]",
    "a1[[]]",
    "repeat(a2, 0, axis=1)",
    "repeat(i1, 0)",
    "a1[np.newaxis, :]",
    "np.sum(a2, axis=0)",
    "np.linalg.norm(a1)",
    "histogram(a1, 5, range=(-1, 1))[0]",
    "histogram(a1, 5, range=(-1, 1))[1]",
    "einsum('ii->i', sq)",
    "einsum('ii', sq)",
    "einsum('ij->ji', a2)",
    "einsum('ijk->k', a3)",
    "einsum('ij,jk->ik', a2, a2.T)",
    "i1 << 2",
    "i2 >> 1",
    "u1 << 3",
    "b2 << 1",
    "a2.mT",
    "zeros(a3.shape)",
    // Creation.
    "eye(5)",
    "eye(4, 6, k=1, dtype='int32')",
    "eye(5, k=-2)",
    "identity(3)",
    "tri(4, 5, k=1)",
    "tril(a2)",
    "triu(a2, k=1)",
    "tril(a3, -1)",
    "diag(a1[:5])",
    "diag(a1[:5], k=2)",
    "diag(a1[:4], k=-1)",
    "diag(sq)",
    "diag(sq, k=3)",
    "diagonal(a3, 1, 1, 2)",
    "trace(sq)",
    "trace(i2)",
    "zeros_like(i2)",
    "ones_like(a2, dtype='int8')",
    "full_like(a1, 7)",
    "meshgrid(a1[:3], a1[:4])[0]",
    "meshgrid(a1[:3], a1[:4], indexing='ij')[1]",
    "asarray([[1, 2], [3, 4]])",
    "asarray([1.5, 2])",
    "asarray([True, False])",
    // Manipulation.
    "roll(a1, 5)",
    "roll(a2, -3, axis=1)",
    "roll(a2, 4)",
    "roll(a2, (1, 2), axis=(0, 1))",
    "tile(a1, 3)",
    "tile(a2, (2, 1))",
    "tile(a1, 12)",
    "tile(a2, (1, 10))",
    "repeat(a1, 2)",
    "repeat(a2, 3, axis=1)",
    "repeat(a2, 10, axis=0)",
    "repeat(i1[:3], [1, 2, 3])",
    "hstack((a1, a1))",
    "hstack((a2, a2))",
    "vstack((a1, a1))",
    "vstack((a2, a2))",
    "dstack((a2, a2))",
    "column_stack((a1, a1))",
    "swapaxes(a3, 0, 2)",
    "permute_dims(a3, (2, 0, 1))",
    "matrix_transpose(a3)",
    "unstack(a2)[3]",
    "unstack(a3, axis=2)[5]",
    "concat((a1, a1))",
    "concat((a2, a2), axis=1)",
    "concat((a2, a1), axis=None)",
    "atleast_1d(a1)",
    "atleast_2d(a1)",
    "atleast_3d(a2)",
    "atleast_3d(a1)",
    // Statistics and reductions.
    "percentile(a1, 90)",
    "percentile(a2, [10, 50], axis=0)",
    "nanmedian(nan2, axis=0)",
    "nanquantile(nan2, 0.3, axis=1)",
    "nanpercentile(n1, 75)",
    "cov(a2)",
    "cov(a1)",
    "cov(a2, rowvar=False)",
    "cov(a2, bias=True)",
    "cov(i2, ddof=0)",
    "corrcoef(a2)",
    "average(a2)",
    "average(a2, axis=1, weights=abs(a1[:11]) + 1)",
    "average(a2, axis=0, weights=abs(a1[:9]) + 1)",
    "average(a2, weights=abs(a2))",
    "average(i2, axis=1)",
    "ptp(a2, axis=1)",
    "ptp(i2)",
    "count_nonzero(i2)",
    "count_nonzero(i2, axis=1)",
    "count_nonzero(b2, axis=0, keepdims=True)",
    "nancumsum(n1)",
    "nancumsum(nan2, axis=1)",
    "nancumprod(nan2, axis=0)",
    "nanargmax(nan2, axis=1)",
    "nanargmin(n1)",
    "cumulative_sum(a1)",
    "cumulative_sum(i2, axis=1, include_initial=True)",
    "cumulative_prod(a2, axis=0)",
    "diff(a2, axis=0)",
    "diff(a1, n=2)",
    "var(a2, correction=1)",
    "std(a2, axis=0, correction=1)",
    // Elementwise.
    "exp2(a2)",
    "exp2(i2)",
    "exp2(f2)",
    "cbrt(a3)",
    "arcsinh(a2)",
    "arccosh(abs(a2) + 1)",
    "arctanh(a2 * 0.5)",
    "logaddexp(a2, a2[0])",
    "logaddexp(a2, a2)",
    "logaddexp2(a1, 0.5)",
    "copysign(a2, a2[0])",
    "copysign(i2, -1)",
    "nextafter(a1, 0)",
    "nextafter(f2, 1)",
    "signbit(a2)",
    "signbit(i1)",
    "hypot(a2, 3)",
    "maximum(a2, 0.1)",
    "minimum(i2, 2)",
    "clip(a2, -0.5, 0.5)",
    "clip(a2, min=0)",
    "clip(i1, 0, 3)",
    "around(a2, 2)",
    "bitwise_and(i1, 3)",
    "bitwise_or(i2, 4)",
    "bitwise_xor(i1, i1[::-1])",
    "bitwise_invert(i1)",
    "left_shift(i1, 3)",
    "right_shift(i2, 2)",
    "square(i2)",
    "reciprocal(a2)",
    "positive(a1)",
    "real(a1)",
    "imag(a1)",
    "logical_and(b2, i2)",
    "logical_not(i2)",
    "logical_xor(b2, True)",
    "isclose(a2, a2 + 1e-9)",
    "isclose(a2, a2 * 1.0001)",
    "isclose(nan2, nan2, equal_nan=True)",
    "isclose(f2, f2 + 1e-7)",
    "allclose(a2, a2)",
    "allclose(a2, a2 + 0.1)",
    "add(a2, 1)",
    "subtract(i2, i1[:11])",
    "divide(i2, 2)",
    "floor_divide(i2, 2)",
    "pow(a2, 2)",
    "greater_equal(a2, 0)",
    // Indexing and searching.
    "take(a2, [1, 3], axis=1)",
    "take_along_axis(a2, abs(i2) % 11, axis=1)",
    "take_along_axis(a3, abs(a3 * 4).astype('int64'), axis=0)",
    "argwhere(i2 > 3)",
    "argwhere(a3 > 0.5)",
    "nonzero(i1)[0]",
    "nonzero(i2)[1]",
    "flatnonzero(i2)",
    "unique(i1)",
    "unique(i2)",
    "unique(b2)",
    "unique(u1)",
    "unique(n1)",
    "linalg.matrix_power(sq, 3)",
    "linalg.matrix_power(sq, 0)",
    "linalg.matrix_power(sq + 12 * eye(12), -2)",
    "linalg.matrix_rank(sq)",
    "linalg.matrix_rank(a2)",
    "linalg.matrix_rank(outer(a1[:9], a1[:11]))",
    "linalg.pinv(a2)",
    "linalg.pinv(sq + 12 * eye(12))",
    "linalg.pinv(a2.T, rtol=0.5)",
    "linalg.cross(a3[:, :, :3], a3[:, :, 3:])",
    "linalg.inv(stack([sq + 12 * eye(12), sq.T + 12 * eye(12)]))",
    "linalg.det(stack([sq + 12 * eye(12), sq.T + 12 * eye(12)]))",
    "linalg.slogdet(stack([sq + 12 * eye(12), sq.T + 12 * eye(12)]))[1]",
    "linalg.cholesky(stack([sq @ sq.T + eye(12), sq.T @ sq + eye(12)]))",
    "linalg.matrix_rank(a3)",
    "linalg.pinv(a3)",
    "linalg.matrix_power(stack([sq, sq.T]), 2)",
    "linalg.det(zeros((0, 4, 4)))",
    "linalg.matrix_rank(zeros((3, 0, 2, 2)))",
    "linalg.inv(zeros((2, 0, 3, 3)))",
    "linalg.cross(a3[0, :3, :3], a3[1, :3, :1], axis=0)",
    // In memory: stacks, complex and empty matrices (kernel::dense).
    "linalg.eigvalsh(sq + sq.T)",
    "linalg.eigh(stack([sq + sq.T, sq @ sq.T]))[0]",
    "abs(linalg.eigh(sq + sq.T)[1])",
    "linalg.eigvalsh(sq + sq.T + 1j * (sq - sq.T))",
    "abs(linalg.eigh(sq + sq.T + 1j * (sq - sq.T))[1])",
    "linalg.eigh(zeros((2, 0, 0)))[1]",
    "linalg.det(sq + 1j * sq.T)",
    "linalg.slogdet(sq + 1j * sq.T)[0]",
    "linalg.slogdet(sq + 1j * sq.T)[1]",
    "linalg.inv(sq + 1j * sq.T)",
    "linalg.inv(astype(stack([sq, sq.T]), 'complex64') + 12 * eye(12))",
    "linalg.solve(sq + 1j * sq.T, a1[:12])",
    "linalg.solve(stack([sq, sq.T]) + 12 * eye(12), reshape(a1[:36], (12, 3)))",
    "linalg.solve(stack([sq, sq.T]) + 12 * eye(12), a1[:12])",
    "linalg.solve(sq + 12 * eye(12), stack([reshape(a1[:24], (12, 2)), reshape(a1[1:25], (12, 2))]))",
    "linalg.solve(f2[:3, :3] + 3 * eye(3), f2[:3, :2])",
    "linalg.cholesky(30 * eye(12) + sq @ sq.T + 1j * (sq - sq.T))",
    "linalg.cholesky(30 * eye(12) + sq @ sq.T + 1j * (sq - sq.T), upper=True)",
    "abs(linalg.qr(a3)[0])",
    "abs(linalg.qr(a3)[1])",
    "abs(linalg.qr(a2.T, mode='complete')[1])",
    "abs(linalg.qr(a2 + 1j * a2)[1])",
    "linalg.svd(a3)[1]",
    "abs(linalg.svd(a3, full_matrices=False)[0])",
    "abs(linalg.svd(a2 - 1j * a2, full_matrices=False)[2])",
    "linalg.svdvals(a3)",
    "linalg.svdvals(sq + 1j * sq.T)",
    "linalg.matrix_rank(sq + 1j * sq.T)",
    "linalg.pinv(a2 + 1j * i2)",
    "linalg.matrix_power(stack([sq, sq.T]) + 12 * eye(12), -1)",
    "linalg.det(zeros((2, 0, 0)))",
    "linalg.slogdet(zeros((0, 0)))[0]",
    "linalg.inv(zeros((0, 0)))",
    "linalg.qr(zeros((3, 0)))[1]",
    "linalg.svdvals(a2 * 1e300)",
    "linalg.svdvals(stack([a2, a2 * -0.5 + 0.1]) * 1e300)",
    "linalg.eigvalsh((sq + sq.T) * 1e300)",
    "linalg.matrix_norm(a3, ord=2)",
    "linalg.matrix_norm(a3, ord=-2)",
    "linalg.matrix_norm(a3, ord='nuc', keepdims=True)",
    "linalg.norm(a2, 'nuc')",
    "linalg.norm(a2, -2)",
    "linalg.norm(a3, 2, axis=(2, 0))",
    "linalg.diagonal(a3, offset=9)",
    "linalg.trace(sq, offset=20)",
    "linalg.vecdot(a2 + 1j * a2.astype('float32'), a2 - 2j)",
    "sum(i2, dtype='int8')",
    "sum(u1, axis=0, dtype='uint8')",
    "prod(f2, axis=0, dtype='float64')",
    "mean(i2, axis=1, dtype='float32')",
    "unique_values(n1)",
    "unique_values(a3)",
    "unique_counts(i2)[0]",
    "unique_counts(i2)[1]",
    "unique_counts(nan2)[1]",
    "unique_inverse(i2)[1]",
    "take(unique_inverse(nan2)[0], reshape(unique_inverse(nan2)[1], (-1,)))",
    "unique_all(i2)[1]",
    "unique_all(b2)[3]",
    "unique_all(a3)[2]",
    "unique_all(u1)[1]",
    "sort(a2)",
    "sort(a2, axis=0)",
    "sort(n1)",
    "sort(i2, axis=1)",
    "sort(a3, axis=1)",
    "sort(b2, axis=0)",
    "argsort(a2, axis=0, stable=True)",
    "argsort(n1, stable=True)",
    "argsort(i1, stable=True)",
    "argsort(a3, axis=2, stable=True)",
    "isin(i1, [1, 3, 5])",
    "isin(i2, i1[:4])",
    "isin(i1, [1, 2], invert=True)",
    "digitize(a1, [-0.5, 0, 0.5])",
    "digitize(a1, [0.5, 0, -0.5])",
    "digitize(a1, [-0.5, 0, 0.5], right=True)",
    "searchsorted(linspace(-1, 1, 9), a1)",
    "searchsorted(linspace(-1, 1, 9), a2, side='right')",
    // Linear algebra.
    "linalg.norm(a2, axis=1)",
    "linalg.norm(a2, 'fro')",
    "linalg.norm(a2, 1)",
    "linalg.norm(a2, -1)",
    "linalg.norm(a2, inf)",
    "linalg.norm(a2.T, 2)",
    "linalg.norm(a1, 3)",
    "linalg.norm(a1, -inf)",
    "linalg.norm(a1, 0)",
    "linalg.norm(f2)",
    "linalg.norm(a3, axis=(0, 2))",
    "linalg.vector_norm(a3, axis=(0, 2))",
    "linalg.vector_norm(i2, ord=1)",
    "linalg.matrix_norm(a3)",
    "linalg.matrix_norm(a3, ord=inf)",
    "linalg.diagonal(a3)",
    "linalg.trace(sq)",
    "linalg.outer(a1[:3], a1[:5])",
    "linalg.matmul(a2, a2.T)",
    // Data types.
    "zeros(2, dtype=result_type(i2, a1))",
    "zeros(2, dtype=result_type(i2, 1.5))",
    "zeros(2, dtype=result_type(u1, i1))",
    "asarray(can_cast('int32', 'float64'))",
    "asarray(can_cast('int64', 'int32'))",
    "finfo('float32').eps * ones(2)",
    "iinfo('int16').max * ones(2, dtype='int64')",
    "astype(i2, 'float32')",
];

/// Writes the inputs as arrays with their chunkings and as .npy files in `dir`.
fn make_inputs(dir: &Path) -> Result<HashMap<String, Array>, Box<dyn std::error::Error>> {
    let mut arrays = HashMap::new();
    for (salt, (name, shape, chunks, dtype, f)) in inputs().into_iter().enumerate() {
        let values: ArrayD<f64> = data(&shape, 100 + salt as u64).mapv(f);
        let block = Block::from(values.into_dimensionality::<IxDyn>()?).cast(dtype);
        write_npy(&dir.join(format!("{name}.npy")), &block)?;
        arrays.insert(name.to_string(), Array::from_ndarray(block, &chunks)?);
    }
    Ok(arrays)
}

/// The largest relative difference allowed for a float dtype.
fn tolerance(dtype: DType) -> f64 {
    if dtype == DType::F32 { 1e-5 } else { 1e-9 }
}

/// Compares a result with NumPy's: dtype, shape, values.
fn compare(got: &Block, want: &Block) -> Result<(), String> {
    let got_dtype = got.dtype();
    if got.dtype() != want.dtype() || got.shape() != want.shape() {
        return Err(format!(
            "got {} {:?}, NumPy gives {} {:?}",
            got.dtype(),
            got.shape(),
            want.dtype(),
            want.shape()
        ));
    }
    if got.dtype().is_complex() {
        let (got, want) = (
            got.cast_to::<Complex128>().mapv(Complex128::num),
            want.cast_to::<Complex128>().mapv(Complex128::num),
        );
        let scale = want.iter().fold(0.0f64, |m, w| m.max(w.norm()));
        let tol = tolerance(if got_dtype == DType::C64 {
            DType::F32
        } else {
            DType::F64
        });
        for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
            if (g - w).norm() > tol * g.norm().max(w.norm()).max(scale) {
                return Err(format!("element {i}: got {g}, want {w}"));
            }
        }
        return Ok(());
    }
    if !got.dtype().is_float() {
        if got.cast_to::<f64>() == want.cast_to::<f64>()
            && format!("{got:?}") == format!("{want:?}")
        {
            return Ok(());
        }
        return Err(format!("values differ:\n got {got:?}\nwant {want:?}"));
    }
    // Relative to the element, or to the largest element (sums that cancel to about 0).
    let want = want.cast_to::<f64>();
    let scale = want
        .iter()
        .filter(|w| w.is_finite())
        .fold(0.0f64, |m, w| m.max(w.abs()));
    let tol = tolerance(got.dtype());
    for (i, (g, w)) in got.cast_to::<f64>().iter().zip(want.iter()).enumerate() {
        let ok = (g.is_nan() && w.is_nan())
            || g == w
            || (g - w).abs() <= tol * g.abs().max(w.abs()).max(scale);
        if !ok {
            return Err(format!("element {i}: got {g}, want {w}"));
        }
    }
    Ok(())
}

/// Runs NumPy on every case in one process; case `i`'s result is `dir/out_i.npy`.
fn run_numpy(python: &Path, dir: &Path) -> TestResult {
    let names: Vec<&str> = inputs().iter().map(|i| i.0).collect();
    let jobs = serde_json::json!({"inputs": names, "cases": CASES});
    std::fs::write(dir.join("jobs.json"), serde_json::to_vec(&jobs)?)?;
    run_script(python, "numpy_eval.py", dir)
}

#[test]
fn every_function_matches_numpy() -> TestResult {
    let Some(python) = peer_python() else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let arrays = make_inputs(dir.path())?;
    run_numpy(&python, dir.path())?;
    let mut failures = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let want = NpyFile::open(&dir.path().join(format!("out_{i}.npy")), None)?
            .into_array()
            .compute()?;
        for opts in [ComputeOptions::synchronous(), ComputeOptions::threads(2)] {
            let outcome = evaluate_all(case, &arrays, &opts)
                .map_err(|e| e.to_string())
                .and_then(|mut results| {
                    let r = results.remove(0);
                    r.compute_with(&opts)
                        .map(|(b, _)| b)
                        .map_err(|e| e.to_string())
                })
                .and_then(|got| compare(&got, &want));
            if let Err(e) = outcome {
                failures.push(format!("{case}: {e}"));
                break;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from NumPy:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
    Ok(())
}

/// `eval --help`'s list and `parse::functions` come from the same table, and every
/// function's defaults are literals the binder reads.
#[test]
fn the_function_table_describes_itself() -> TestResult {
    let functions = brickwork::parse::functions();
    let help = brickwork::parse::help(true);
    for f in &functions {
        assert!(
            help.contains(&format!("  {}({})", f.name, f.signature)),
            "{} missing",
            f.name
        );
        assert!(!f.doc.is_empty(), "{} has no doc", f.name);
    }
    let norm = functions
        .iter()
        .find(|f| f.name == "linalg.norm")
        .ok_or("linalg.norm")?;
    assert_eq!(
        norm.params.iter().map(|p| p.name).collect::<Vec<_>>(),
        ["x", "ord", "axis", "keepdims"]
    );
    // Every default binds: calling with the required arguments only never trips on one.
    let x = Array::from_ndarray(ndarray::Array2::<f64>::eye(3).into_dyn(), &[2, 2])?;
    let inputs = HashMap::from([("x".to_string(), x)]);
    for program in [
        "sum(x)",
        "linalg.norm(x)",
        "eye(3)",
        "cumulative_sum(x, axis=0)",
        "clip(x)",
        "histogram(x[0])[0]",
    ] {
        brickwork::parse::evaluate(program, &inputs)?;
    }
    Ok(())
}
