//! Shared test helpers: reference data, comparisons that print both sides.

use std::path::{Path, PathBuf};

use brickwork::{Array, Block, ComputeOptions};
use ndarray::{ArrayD, IxDyn};

pub(crate) type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Deterministic test data of `shape` with a mix of signs and magnitudes.
pub(crate) fn data(shape: &[usize], salt: u64) -> ArrayD<f64> {
    let a = Array::random_normal(shape, &vec![7; shape.len()], salt, 0.0, 10.0).unwrap();
    a.compute_as::<f64>()
        .unwrap()
        .mapv(|v| (v * 8.0).round() / 8.0)
}

/// Chunkings that do not divide the shape (and one chunk larger than the array).
pub(crate) fn chunkings(shape: &[usize]) -> Vec<Vec<usize>> {
    vec![
        shape.iter().map(|&n| (n / 3).max(1)).collect(),
        shape
            .iter()
            .map(|&n| (n.saturating_sub(1)).max(1))
            .collect(),
        shape.iter().map(|_| 4).collect(),
        shape.iter().map(|&n| n + 5).collect(),
    ]
}

/// Asserts two float arrays are equal within a relative tolerance (NaN equals NaN).
pub(crate) fn assert_close(got: &ArrayD<f64>, want: &ArrayD<f64>, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shapes differ");
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        let ok = (g.is_nan() && w.is_nan())
            || g == w
            || (g - w).abs() <= 1e-9 * (1.0 + w.abs().max(g.abs()));
        assert!(
            ok,
            "{what}: element {i} differs: got {g}, want {w}\n got: {got}\nwant: {want}"
        );
    }
}

/// Computes under both schedulers, checks they agree bit for bit, returns the result.
pub(crate) fn compute_both(a: &Array) -> Block {
    let (s, _) = a.compute_with(&ComputeOptions::synchronous()).unwrap();
    let (t, _) = a.compute_with(&ComputeOptions::threads(3)).unwrap();
    // Debug output is exact for floats and prints NaN equal to NaN.
    assert_eq!(
        format!("{s:?}"),
        format!("{t:?}"),
        "synchronous and threads schedulers disagree for {a}"
    );
    s
}

/// Computes and converts to f64 for comparison.
pub(crate) fn compute_f64(a: &Array) -> ArrayD<f64> {
    compute_both(a).into_typed::<f64>()
}

/// An array from a shape and a function of the flat index.
pub(crate) fn from_fn(shape: &[usize], f: impl Fn(usize) -> f64) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(f).collect()).unwrap()
}

/// Writes a block as a .npy file (for zarr-python to compare against).
pub(crate) fn write_npy(
    path: &std::path::Path,
    b: &Block,
) -> Result<(), Box<dyn std::error::Error>> {
    brickwork::dispatch_block!(b, a => ndarray_npy::write_npy(path, a)?);
    Ok(())
}

/// The peer Python (zarr-python) if one is set up: `BRICKWORK_PEER_PYTHON`, else the repo's
/// `.venv`. `scripts/test.sh` (the README's test command) always provides it and sets
/// `BRICKWORK_REQUIRE_PEER=1`, so CI cannot silently skip these checks.
pub(crate) fn peer_python() -> Option<PathBuf> {
    let p = std::env::var_os("BRICKWORK_PEER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("BRICKWORK_REQUIRE_PEER").is_none(),
        "zarr-python is required but {} does not exist (run scripts/pyenv.sh)",
        p.display()
    );
    eprintln!(
        "note: skipping zarr-python checks ({} missing; run scripts/test.sh)",
        p.display()
    );
    None
}
