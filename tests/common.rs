//! Shared test helpers: reference data, comparisons that print both sides.

use std::path::{Path, PathBuf};

use brickwork::{Array, Block, ComputeOptions};
use ndarray::{ArrayD, IxDyn};

pub(crate) type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Deterministic test data of `shape` with a mix of signs and magnitudes.
/// The `brickwork` binary of this build (the workspace's `cli` package), beside this test
/// binary's directory: `cargo test` from the repository root builds it (its smoke test
/// needs it), so the end-to-end tests run the CLI of the same profile and features.
pub(crate) fn brickwork_exe() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary sits in target/<profile>/deps");
    let bin = dir.join(format!("brickwork{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run the tests from the repository root (cargo test builds the cli \
         package's binary too; `cargo test -p brickwork` alone does not)",
        bin.display()
    );
    bin
}

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

/// An element type `ndarray_npy` reads and writes: itself, or for brickwork's complex
/// types `num_complex`'s.
pub(crate) trait NpyElement: brickwork::BlockElement {
    /// Writes `a` as a .npy file.
    fn write(path: &std::path::Path, a: &ArrayD<Self>) -> Result<(), Box<dyn std::error::Error>>;
    /// Reads a .npy file of this element type.
    fn read(path: &std::path::Path) -> Result<ArrayD<Self>, Box<dyn std::error::Error>>;
}

macro_rules! npy_same {
    ($($t:ty),*) => {$(
        impl NpyElement for $t {
            fn write(path: &std::path::Path, a: &ArrayD<$t>) -> Result<(), Box<dyn std::error::Error>> {
                Ok(ndarray_npy::write_npy(path, a)?)
            }
            fn read(path: &std::path::Path) -> Result<ArrayD<$t>, Box<dyn std::error::Error>> {
                Ok(ndarray_npy::read_npy(path)?)
            }
        }
    )*};
}

npy_same!(bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

macro_rules! npy_complex {
    ($($t:ty => $f:ty),*) => {$(
        impl NpyElement for $t {
            fn write(path: &std::path::Path, a: &ArrayD<$t>) -> Result<(), Box<dyn std::error::Error>> {
                Ok(ndarray_npy::write_npy(path, &a.mapv(|z| z.num()))?)
            }
            fn read(path: &std::path::Path) -> Result<ArrayD<$t>, Box<dyn std::error::Error>> {
                let a: ArrayD<num_complex::Complex<$f>> = ndarray_npy::read_npy(path)?;
                Ok(a.mapv(<$t>::from))
            }
        }
    )*};
}

npy_complex!(brickwork::Complex64 => f32, brickwork::Complex128 => f64);

/// Writes a block as a .npy file (for zarr-python to compare against).
pub(crate) fn write_npy(
    path: &std::path::Path,
    b: &Block,
) -> Result<(), Box<dyn std::error::Error>> {
    brickwork::dispatch_block!(b, a => NpyElement::write(path, a)?);
    Ok(())
}

/// Reads a .npy file as a block of `dtype`.
pub(crate) fn read_npy(
    path: &std::path::Path,
    dtype: brickwork::DType,
) -> Result<Block, Box<dyn std::error::Error>> {
    Ok(
        brickwork::dispatch_dtype!(dtype, T => brickwork::BlockElement::wrap(<T as NpyElement>::read(path)?)),
    )
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

/// The zarr-python fixture set (`tests/python/make_fixtures.py`): `$BRICKWORK_FIXTURES` when
/// set, else generated once with the peer Python into `target/fixtures/zarr-python-<hash>`,
/// where `<hash>` is that of the script's bytes, so editing the script makes a new set. The
/// script renames a finished set into place, so test processes running at once never see a
/// partial one. `Ok(None)` (after a note) when there is no peer Python to make it with.
///
/// # Errors
/// When the script fails; its stderr is in the message.
pub(crate) fn zarr_python_fixtures() -> Result<Option<PathBuf>, String> {
    static SET: std::sync::OnceLock<Result<Option<PathBuf>, String>> = std::sync::OnceLock::new();
    if let Some(dir) = std::env::var_os("BRICKWORK_FIXTURES") {
        return Ok(Some(PathBuf::from(dir)));
    }
    let set = SET.get_or_init(|| peer_python().map(|p| make_fixtures(&p)).transpose());
    if matches!(set, Ok(None)) {
        eprintln!("note: skipping a test that reads zarr-python fixtures (no peer Python)");
    }
    set.clone()
}

/// Runs `make_fixtures.py` with `python` unless its output folder for this version of the
/// script and of the pinned peers already exists; returns that folder.
fn make_fixtures(python: &Path) -> Result<PathBuf, String> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = manifest_dir.join("tests/python/make_fixtures.py");
    // The set depends on the script and on the zarr-python, numcodecs and NumPy versions.
    let pins = manifest_dir.join("scripts/requirements-peer.txt");
    let mut bytes = Vec::new();
    for file in [&script, &pins] {
        bytes.extend(std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| manifest_dir.join("target"), |t| manifest_dir.join(t));
    let dir = target.join(format!("fixtures/zarr-python-{:016x}", fnv1a(&bytes)));
    if dir.is_dir() {
        return Ok(dir);
    }
    let out = std::process::Command::new(python)
        .arg(&script)
        .arg(&dir)
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    // Another process may have made the same set meanwhile: the script then drops its copy.
    if dir.is_dir() {
        return Ok(dir);
    }
    Err(format!(
        "{} {} failed ({}): {}",
        python.display(),
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// The 64-bit FNV-1a hash of `bytes`: stable across Rust versions, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// An error and its sources, joined as anyhow's `{:#}` (and the `brickwork` binary) prints
/// them: brickwork's messages do not repeat their source's.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(": ");
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}

/// Every file of a store but its `zarr.json` metadata (which records nothing about how it
/// was computed, but may differ in formatting): (key, bytes), sorted by key.
pub(crate) fn store_files(store: &Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let p = e?.path();
            if p.is_dir() {
                walk(&p, out)?;
            } else {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut paths = Vec::new();
    walk(store, &mut paths)?;
    let mut files = Vec::new();
    for p in paths {
        if p.file_name().is_some_and(|n| n != "zarr.json") {
            let key = p
                .strip_prefix(store)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            files.push((key, std::fs::read(&p)?));
        }
    }
    files.sort();
    Ok(files)
}

/// Runs `python tests/python/<script> <dir>`; its standard error in the error if it fails.
pub(crate) fn run_script(python: &Path, script: &str, dir: &Path) -> TestResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let out = std::process::Command::new(python)
        .arg(path)
        .arg(dir)
        .output()?;
    if !out.status.success() {
        return Err(format!("{script} failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(())
}

/// `|got - want| <= tol * (1 + max |want|)` element by element (a normwise comparison; NaN
/// matches NaN and infinities match themselves).
pub(crate) fn close_normwise(got: &ArrayD<f64>, want: &ArrayD<f64>, tol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shapes differ");
    let scale = 1.0 + want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * scale || (g.is_nan() && w.is_nan()) || g == w,
            "{what}: element {i} differs: got {g}, want {w} (tolerance {tol} x {scale})"
        );
    }
}

/// Runs NumPy jobs (`out`, inputs, expression) through the peer Python in `dir`
/// (`tests/python/numpy_linalg.py`): results as `dir/<out>_<i>.npy`.
pub(crate) fn run_numpy_jobs(dir: &Path, jobs: &[serde_json::Value]) -> TestResult {
    let python = peer_python().ok_or("no peer python")?;
    std::fs::write(dir.join("jobs.json"), serde_json::to_vec(jobs)?)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/numpy_linalg.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(dir)
        .output()?;
    assert!(
        out.status.success(),
        "numpy_linalg.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Item `i` of a NumPy job's result `out` (see [`run_numpy_jobs`]), as float64.
pub(crate) fn numpy_job_result(
    dir: &Path,
    out: &str,
    i: usize,
) -> Result<ArrayD<f64>, Box<dyn std::error::Error>> {
    let path = dir.join(format!("{out}_{i}.npy"));
    Ok(brickwork::io::npy::NpyFile::open(&path, None)?
        .into_array()
        .compute()?
        .cast_to::<f64>())
}

/// Saves `a` computed as `dir/<name>.npy`, an input of NumPy jobs.
pub(crate) fn save_job_input(dir: &Path, name: &str, a: &Array) -> TestResult {
    write_npy(&dir.join(format!("{name}.npy")), &a.compute()?)
}
