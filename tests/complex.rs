//! complex64/complex128 and `numpy.fft` against NumPy (the peer venv,
//! `tests/python/numpy_linalg.py`): arithmetic, promotion, functions, reductions, scans,
//! ordering, products and every transform of the `fft.` namespace, through `eval` on
//! ragged chunkings (1-d to 3-d, axes that span several chunks), under both schedulers;
//! the result dtype equals NumPy's as well as the values.

use std::collections::HashMap;
use std::path::Path;

use brickwork::io::npy::NpyFile;
use brickwork::parse::evaluate;
use brickwork::store::ZarrFormat;
use brickwork::{Array, Block, DType};
use ndarray::ArrayD;

use crate::common::*;

/// The real and imaginary parts of a block, as float64.
fn parts(b: &Block) -> (ArrayD<f64>, ArrayD<f64>) {
    match b {
        Block::C64(a) => (a.mapv(|z| f64::from(z.re)), a.mapv(|z| f64::from(z.im))),
        Block::C128(a) => (a.mapv(|z| z.re), a.mapv(|z| z.im)),
        other => {
            let re = other.clone().cast_to::<f64>();
            let im = ArrayD::zeros(re.raw_dim());
            (re, im)
        }
    }
}

/// The inputs (made by NumPy, so both sides read the same values): complex128 `x`, `y`
/// (13 x 11), complex64 `f`, float64 `r`, float32 `s`, complex128 `t` (5 x 9 x 7) and a
/// 1-d complex128 `v` (29), read in ragged chunks.
fn inputs(dir: &Path) -> Result<HashMap<String, Array>, Box<dyn std::error::Error>> {
    let python = peer_python().ok_or("no peer python")?;
    let script = r#"
import sys, numpy as np
d = sys.argv[1]
g = np.random.default_rng(7)
c = lambda *s: g.standard_normal(s) + 1j * g.standard_normal(s)
np.save(d + "/x.npy", c(13, 11)); np.save(d + "/y.npy", c(13, 11))
np.save(d + "/f.npy", c(13, 11).astype(np.complex64))
np.save(d + "/r.npy", g.standard_normal((13, 11)))
np.save(d + "/s.npy", g.standard_normal((13, 11)).astype(np.float32))
np.save(d + "/t.npy", c(5, 9, 7)); np.save(d + "/v.npy", c(29))
"#;
    let out = std::process::Command::new(python)
        .args(["-c", script])
        .arg(dir)
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m = HashMap::new();
    for (name, chunks) in [
        ("x", vec![4, 5]),
        ("y", vec![5, 3]),
        ("f", vec![4, 5]),
        ("r", vec![6, 4]),
        ("s", vec![6, 4]),
        ("t", vec![2, 4, 3]),
        ("v", vec![8]),
    ] {
        let path = dir.join(format!("{name}.npy"));
        m.insert(
            name.to_string(),
            NpyFile::open(&path, Some(&chunks))?.into_array(),
        );
    }
    Ok(m)
}

/// (brickwork's expression, NumPy's, tolerance relative to the largest value).
const CASES: &[(&str, &str, f64)] = &[
    ("x + y", "x + y", 1e-15),
    ("x * y - 2j", "x * y - 2j", 1e-15),
    ("x / y", "x / y", 1e-14),
    ("x ** 2", "x ** 2", 1e-14),
    ("x ** y", "x ** y", 1e-12),
    ("f * 2", "f * 2", 1e-6),
    ("f + 1.5", "f + 1.5", 1e-6),
    ("f + r", "f + r", 1e-6),
    ("s + 1j", "s + 1j", 1e-6),
    ("r * 1j + x", "r * 1j + x", 1e-15),
    ("astype(r, 'complex64')", "r.astype(np.complex64)", 1e-7),
    ("abs(x)", "np.abs(x)", 1e-15),
    ("abs(f)", "np.abs(f)", 1e-6),
    ("x.real + x.imag", "x.real + x.imag", 1e-15),
    ("real(f)", "np.real(f)", 1e-7),
    ("conj(x)", "np.conj(x)", 0.0),
    ("x.conj()", "x.conj()", 0.0),
    ("angle(x)", "np.angle(x)", 1e-15),
    ("imag(r)", "np.imag(r)", 0.0),
    ("sqrt(x)", "np.sqrt(x)", 1e-14),
    ("exp(x)", "np.exp(x)", 1e-14),
    ("log(x)", "np.log(x)", 1e-14),
    ("log10(x)", "np.log10(x)", 1e-14),
    ("sin(x) + cos(x)", "np.sin(x) + np.cos(x)", 1e-14),
    ("tanh(x)", "np.tanh(x)", 1e-14),
    ("arcsin(x)", "np.arcsin(x)", 1e-13),
    ("arctan(x)", "np.arctan(x)", 1e-13),
    ("sign(x)", "np.sign(x)", 1e-15),
    ("x == y", "x == y", 0.0),
    ("x != conj(x)", "x != np.conj(x)", 0.0),
    ("isfinite(x / 0)", "np.isfinite(x / 0)", 0.0),
    (
        "where(abs(x) > 1, x, 0)",
        "np.where(np.abs(x) > 1, x, 0)",
        0.0,
    ),
    ("sum(x, axis=0)", "np.sum(x, axis=0)", 1e-14),
    ("mean(x)", "np.mean(x)", 1e-14),
    ("mean(f, axis=1)", "np.mean(f, axis=1)", 1e-6),
    ("var(x)", "np.var(x)", 1e-14),
    ("std(x, axis=1)", "np.std(x, axis=1)", 1e-14),
    ("prod(x[:4, :5])", "np.prod(x[:4, :5])", 1e-13),
    ("cumsum(x, axis=1)", "np.cumsum(x, axis=1)", 1e-14),
    ("max(x)", "np.max(x)", 0.0),
    ("min(x, axis=0)", "np.min(x, axis=0)", 0.0),
    ("sort(x, axis=0)", "np.sort(x, axis=0)", 0.0),
    ("maximum(x, y)", "np.maximum(x, y)", 0.0),
    ("x @ y.T", "x @ y.T", 1e-14),
    ("fft.fft(x, axis=0)", "np.fft.fft(x, axis=0)", 1e-14),
    ("fft.fft(x)", "np.fft.fft(x)", 1e-14),
    ("fft.fft(x, n=17)", "np.fft.fft(x, n=17)", 1e-14),
    ("fft.fft(x, 5, 0)", "np.fft.fft(x, 5, 0)", 1e-14),
    (
        "fft.ifft(x, axis=1, norm='ortho')",
        "np.fft.ifft(x, axis=1, norm='ortho')",
        1e-14,
    ),
    (
        "fft.fft(x, norm='forward')",
        "np.fft.fft(x, norm='forward')",
        1e-14,
    ),
    ("fft.fft(r, axis=0)", "np.fft.fft(r, axis=0)", 1e-14),
    ("fft.fft(f)", "np.fft.fft(f)", 1e-5),
    ("fft.rfft(r, axis=0)", "np.fft.rfft(r, axis=0)", 1e-14),
    ("fft.rfft(s)", "np.fft.rfft(s)", 1e-5),
    ("fft.rfft(r, n=8)", "np.fft.rfft(r, n=8)", 1e-14),
    ("fft.irfft(x, axis=0)", "np.fft.irfft(x, axis=0)", 1e-14),
    ("fft.irfft(x, n=9)", "np.fft.irfft(x, n=9)", 1e-14),
    ("fft.irfft(f)", "np.fft.irfft(f)", 1e-5),
    ("fft.hfft(x, axis=0)", "np.fft.hfft(x, axis=0)", 1e-14),
    ("fft.ihfft(r)", "np.fft.ihfft(r)", 1e-14),
    ("fft.fftn(x)", "np.fft.fftn(x)", 1e-14),
    (
        "fft.ifftn(t, axes=(0, 2))",
        "np.fft.ifftn(t, axes=(0, 2))",
        1e-14,
    ),
    ("fft.fft2(t)", "np.fft.fft2(t)", 1e-14),
    (
        "fft.ifft2(x, s=(6, 20))",
        "np.fft.ifft2(x, s=(6, 20))",
        1e-14,
    ),
    ("fft.rfftn(r)", "np.fft.rfftn(r)", 1e-14),
    (
        "fft.rfft2(r, norm='ortho')",
        "np.fft.rfft2(r, norm='ortho')",
        1e-14,
    ),
    (
        "fft.irfftn(x, s=(13, 11))",
        "np.fft.irfftn(x, s=(13, 11))",
        1e-14,
    ),
    ("fft.irfft2(t)", "np.fft.irfft2(t)", 1e-14),
    ("fft.fft(t, axis=1)", "np.fft.fft(t, axis=1)", 1e-14),
    ("fft.fft(v)", "np.fft.fft(v)", 1e-14),
    ("fft.ifft(fft.fft(v))", "np.fft.ifft(np.fft.fft(v))", 1e-14),
    ("fft.fftshift(r)", "np.fft.fftshift(r)", 0.0),
    (
        "fft.ifftshift(x, axes=(0,))",
        "np.fft.ifftshift(x, axes=(0,))",
        0.0,
    ),
    (
        "fft.fftshift(fft.fftfreq(7, 0.5))",
        "np.fft.fftshift(np.fft.fftfreq(7, 0.5))",
        0.0,
    ),
    ("fft.rfftfreq(8)", "np.fft.rfftfreq(8)", 0.0),
];

#[test]
fn complex_and_fft_match_numpy() -> TestResult {
    if peer_python().is_none() {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let scope = inputs(dir.path())?;
    let jobs: Vec<serde_json::Value> = CASES
        .iter()
        .enumerate()
        .map(|(i, (_, numpy, _))| {
            let names: serde_json::Map<String, serde_json::Value> =
                ["x", "y", "f", "r", "s", "t", "v"]
                    .iter()
                    .map(|n| (n.to_string(), serde_json::Value::from(*n)))
                    .collect();
            serde_json::json!({"out": format!("case{i}"), "inputs": names, "expr": numpy})
        })
        .collect();
    run_numpy_jobs(dir.path(), &jobs)?;
    for (i, (expr, _, tol)) in CASES.iter().enumerate() {
        let got = compute_both(&evaluate(expr, &scope).map_err(|e| format!("{expr}: {e}"))?);
        let path = dir.path().join(format!("case{i}_0.npy"));
        let want = NpyFile::open(&path, None)?.into_array().compute()?;
        assert_eq!(got.dtype(), want.dtype(), "{expr}: dtype");
        assert_eq!(got.shape(), want.shape(), "{expr}: shape");
        let ((gr, gi), (wr, wi)) = (parts(&got), parts(&want));
        let scale =
            wr.iter().chain(&wi).fold(
                0.0f64,
                |m, v| if v.is_finite() { m.max(v.abs()) } else { m },
            );
        let tol = tol * (1.0 + scale);
        for (g, w) in gr.iter().zip(&wr).chain(gi.iter().zip(&wi)) {
            assert!(
                g == w || (g - w).abs() <= tol || (g.is_nan() && w.is_nan()),
                "{expr}: got {g}, want {w} (tolerance {tol})"
            );
        }
    }
    Ok(())
}

#[test]
fn complex_errors_name_what_is_wrong() {
    let x = Array::from_ndarray(
        Block::C128(ArrayD::from_elem(
            ndarray::IxDyn(&[4]),
            brickwork::Complex128::new(1.0, 2.0),
        )),
        &[2],
    )
    .unwrap();
    let scope = HashMap::from([("x".to_string(), x)]);
    for (expr, needle) in [
        ("x // 2", "complex"),
        ("x % 2", "complex"),
        ("floor(x)", "complex"),
        ("x & 1", "& | ^"),
        ("arctan2(x, x)", "real"),
        ("fft.rfft(x)", "use fft for complex input"),
        ("fft.fft(x, n=0)", "Invalid number of FFT data points (0)"),
        ("fft.fft(x, axis=3)", "axis"),
        (
            "fft.fft(x, norm='sideways')",
            "\"backward\", \"ortho\" or \"forward\"",
        ),
        ("fft.fftfreq(0)", "nonzero"),
        ("fft.fftn(x, s=(4, 4), axes=(0,))", "same length"),
    ] {
        let e = evaluate(expr, &scope)
            .and_then(|a| a.compute().map(|_| a))
            .map(|_| ())
            .expect_err(expr)
            .to_string();
        assert!(e.contains(needle), "{expr}: {e}");
    }
}

/// Complex arrays through Zarr v3 and v2, `.npy` and CSV, exactly.
#[test]
fn complex_round_trips_through_every_format() -> TestResult {
    let dir = tempfile::tempdir()?;
    let z: Vec<brickwork::Complex128> = (0..35)
        .map(|i| brickwork::Complex128::new(i as f64 * 0.5 - 3.0, (i % 7) as f64 - 2.25))
        .collect();
    let block = Block::C128(ArrayD::from_shape_vec(ndarray::IxDyn(&[5, 7]), z)?);
    for dtype in [DType::C128, DType::C64] {
        let a = Array::from_ndarray(block.clone(), &[2, 3])?.astype(dtype)?;
        let want = a.compute()?;
        for (i, zarr_format) in [ZarrFormat::V3, ZarrFormat::V2].into_iter().enumerate() {
            let path = dir.path().join(format!("{dtype}_{i}.zarr"));
            let options = brickwork::WriteOptions {
                zarr_format,
                ..Default::default()
            };
            a.to_zarr(&path, &options)?;
            let back = Array::from_zarr(&path)?;
            assert_eq!(back.dtype(), dtype);
            assert_eq!(
                format!("{:?}", back.compute()?),
                format!("{want:?}"),
                "{path:?}"
            );
        }
        let npy = dir.path().join(format!("{dtype}.npy"));
        write_npy(&npy, &want)?;
        let back = NpyFile::open(&npy, Some(&[3, 3]))?.into_array().compute()?;
        assert_eq!(format!("{back:?}"), format!("{want:?}"));
    }
    Ok(())
}

/// An FFT along the rows of a store in row chunks (no chunk holds a lane) under a limit
/// far below the store: the planner copies the store into column strips first (a
/// realigned copy, sharded), and every task stays within the limit.
#[test]
fn fft_along_a_chunked_axis_of_a_store_stays_within_the_limit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("rows.zarr");
    // 1600 x 1600 float64 (20 MB) in chunks of 10 rows.
    let x = Array::random(&[1600, 1600], &[10, 1600], 5)?;
    x.to_zarr(
        &path,
        &brickwork::WriteOptions {
            codec: brickwork::Codec::None,
            ..Default::default()
        },
    )?;
    let x = Array::from_zarr(&path)?;
    let y = x.fft(None, 0, brickwork::FftNorm::Backward)?;
    let limit = 6 << 20;
    let options = brickwork::ComputeOptions::threads(2).with_memory_limit(limit);
    let plan = y.explain_with(&options)?;
    assert!(plan.contains("it is first copied into chunks of"), "{plan}");
    let (got, m) = y.compute_with(&options)?;
    assert!(m.peak_reserved_bytes <= limit, "{m:?}");
    let Block::C128(got) = got else {
        panic!("complex128 expected, got {}", got.dtype())
    };
    // Columns 0 and 1234 against a direct DFT of the column.
    let xs = x.compute()?.cast_to::<f64>();
    for j in [0, 1234] {
        let col: Vec<f64> = (0..1600).map(|i| xs[[i, j]]).collect();
        for k in [0, 1, 799, 1599] {
            let (mut re, mut im) = (0.0, 0.0);
            for (i, v) in col.iter().enumerate() {
                let t = -2.0 * std::f64::consts::PI * (i * k % 1600) as f64 / 1600.0;
                re += v * t.cos();
                im += v * t.sin();
            }
            let z = got[[k, j]];
            assert!(
                (z.re - re).abs() < 1e-9 && (z.im - im).abs() < 1e-9,
                "[{k}, {j}]: {z} vs {re}+{im}j"
            );
        }
    }
    Ok(())
}
