//! Stencils built on map_overlap (uniform/minimum/maximum filters, gradient), `diff`, and
//! the binning of `histogram` and `bincount` (built on map_blocks), through the eval
//! language, against scipy.ndimage and NumPy (the peer venv,
//! `tests/python/scipy_filters.py`) on ragged chunkings, 1-d to 3-d, several dtypes and
//! every boundary mode, under both schedulers.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use brickwork::io::npy::NpyFile;
use brickwork::parse::evaluate;
use brickwork::{Array, Block, DType};
use ndarray::ArrayD;

use crate::common::*;

/// One comparison: the brickwork program and the Python expression of the same result.
struct Case {
    input: String,
    ours: String,
    theirs: String,
}

const SHAPES: [(&[usize], &[usize]); 3] =
    [(&[37], &[5]), (&[9, 11], &[4, 3]), (&[4, 5, 6], &[3, 2, 4])];

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let modes = [
        ("reflect", ""),
        ("constant", ", cval=1.5"),
        ("nearest", ""),
        ("mirror", ""),
        ("wrap", ""),
    ];
    for (shape, _) in SHAPES {
        let n = shape.len();
        for dtype in ["float64", "float32", "int32"] {
            let input = format!("{dtype}_{n}d");
            // Odd, even and mixed sizes; one larger than a chunk.
            let sizes = match n {
                1 => vec!["3", "4", "7"],
                2 => vec!["3", "(2, 5)"],
                _ => vec!["(3, 1, 2)"],
            };
            for size in sizes {
                for (mode, extra) in modes {
                    for f in ["uniform_filter", "minimum_filter", "maximum_filter"] {
                        // scipy keeps integer dtypes; brickwork's mean of integers is
                        // float64, so the reference filters the float64 values.
                        let x = if f == "uniform_filter" && dtype == "int32" {
                            "x.astype(np.float64)"
                        } else {
                            "x"
                        };
                        cases.push(Case {
                            input: input.clone(),
                            ours: format!("{f}(x, {size}, mode=\"{mode}\"{extra})"),
                            theirs: format!("ndi.{f}({x}, {size}, mode=\"{mode}\"{extra})"),
                        });
                    }
                }
            }
            for (ours, theirs) in [
                (
                    "histogram(x, 7, range=(-10, 10))[0]",
                    "np.histogram(x, 7, range=(-10, 10))[0]",
                ),
                ("histogram(x, 6)[0]", "np.histogram(x, 6)[0]"),
                (
                    "histogram(x, (-30, -1, 0, 2.5, 30))[0]",
                    "np.histogram(x, (-30, -1, 0, 2.5, 30))[0]",
                ),
                (
                    "histogram(x, 5, range=(-20, 20), weights=abs(x))[0]",
                    "np.histogram(x, 5, range=(-20, 20), weights=np.abs(x))[0]",
                ),
                (
                    "histogram(x, 4, range=(-5, 5), density=True)[0]",
                    "np.histogram(x, 4, range=(-5, 5), density=True)[0]",
                ),
            ] {
                cases.push(Case {
                    input: input.clone(),
                    ours: ours.into(),
                    theirs: theirs.into(),
                });
            }
            if n == 1 && dtype == "int32" {
                for (ours, theirs) in [
                    ("bincount(abs(x))", "np.bincount(np.abs(x))"),
                    (
                        "bincount(abs(x), minlength=100)",
                        "np.bincount(np.abs(x), minlength=100)",
                    ),
                    (
                        "bincount(abs(x), weights=x)",
                        "np.bincount(np.abs(x), weights=x)",
                    ),
                ] {
                    cases.push(Case {
                        input: input.clone(),
                        ours: ours.into(),
                        theirs: theirs.into(),
                    });
                }
            }
            for axis in 0..n {
                for q in ["0.0", "0.3", "0.5", "0.99", "1.0"] {
                    cases.push(Case {
                        input: input.clone(),
                        ours: format!("quantile(x, {q}, axis={axis})"),
                        theirs: format!("np.quantile(x, {q}, axis={axis})"),
                    });
                }
                cases.push(Case {
                    input: input.clone(),
                    ours: format!("median(x, axis={axis})"),
                    theirs: format!("np.median(x, axis={axis})"),
                });
                cases.push(Case {
                    input: input.clone(),
                    ours: format!("gradient(x, axis={axis})"),
                    theirs: format!("np.gradient(x, axis={axis})"),
                });
                for k in [1, 2] {
                    cases.push(Case {
                        input: input.clone(),
                        ours: format!("diff(x, {k}, axis={axis})"),
                        theirs: format!("np.diff(x, {k}, axis={axis})"),
                    });
                }
            }
        }
    }
    cases
}

fn inputs(
    dir: &Path,
) -> Result<HashMap<String, HashMap<String, Array>>, Box<dyn std::error::Error>> {
    let mut all = HashMap::new();
    for (shape, chunks) in SHAPES {
        let d = data(shape, 11);
        for dtype in [DType::F64, DType::F32, DType::I32] {
            let name = format!("{dtype}_{}d", shape.len());
            let x = Array::from_ndarray(d.clone(), chunks)?.astype(dtype)?;
            write_npy(&dir.join(format!("{name}.npy")), &x.compute()?)?;
            all.insert(name, HashMap::from([("x".to_string(), x)]));
        }
    }
    Ok(all)
}

#[test]
fn stencils_match_scipy_and_numpy() -> TestResult {
    let Some(python) = peer_python() else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let inputs = inputs(dir.path())?;
    let cases = cases();
    let jobs: Vec<serde_json::Value> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| serde_json::json!({"out": format!("out_{i}"), "input": c.input, "expr": c.theirs}))
        .collect();
    std::fs::write(dir.path().join("jobs.json"), serde_json::to_vec(&jobs)?)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/scipy_filters.py");
    let out = Command::new(python).arg(script).arg(dir.path()).output()?;
    assert!(
        out.status.success(),
        "scipy_filters.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (i, c) in cases.iter().enumerate() {
        let what = format!("{} on {}", c.ours, c.input);
        let got = compute_both(
            &evaluate(&c.ours, &inputs[&c.input]).map_err(|e| format!("{what}: {e}"))?,
        );
        let want = NpyFile::open(&dir.path().join(format!("out_{i}.npy")), None)?
            .into_array()
            .compute()?;
        // The result dtype is NumPy's/scipy's (float64 means of integers, see above).
        assert_eq!(got.dtype(), want.dtype(), "{what}: dtype");
        let tolerance = if got.dtype() == DType::F32 {
            1e-6
        } else {
            1e-12
        };
        assert_close_tol(
            &got.cast_to::<f64>(),
            &want.cast_to::<f64>(),
            tolerance,
            &what,
        );
    }
    Ok(())
}

fn assert_close_tol(got: &ArrayD<f64>, want: &ArrayD<f64>, tol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shapes differ");
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        let ok = g == w || (g - w).abs() <= tol * (1.0 + w.abs().max(g.abs()));
        assert!(ok, "{what}: element {i} differs: got {g}, want {w}");
    }
}

#[test]
fn stencil_arguments_are_checked() {
    let x = Array::from_ndarray(data(&[6, 7], 1), &[4, 4]).unwrap();
    let inputs = HashMap::from([("x".to_string(), x)]);
    for (text, says) in [
        ("uniform_filter(x, 0)", "a size of 0"),
        (
            "uniform_filter(x, (3, 3, 3))",
            "size has rank 3, expected rank 2",
        ),
        ("uniform_filter(x, 3, mode=\"none\")", "mode"),
        ("maximum_filter(x, 3, mode=\"edge\")", "mode"),
        (
            "uniform_filter(x, 15, mode=\"wrap\")",
            "a depth of 7 on axis 0",
        ),
        ("gradient(x)", "needs an axis"),
        ("gradient(x[:1], axis=0)", "fewer than 2 elements"),
        ("diff(x, axis=2)", "axis"),
        ("histogram(x, 0)", "bins"),
        (
            "histogram(x, 3, range=(2, 1))",
            "max must be larger than min",
        ),
        ("histogram(x, (1, 0))", "increasing"),
        (
            "histogram(x, 3, weights=x[0])",
            "weights must have the array's shape",
        ),
        ("bincount(x)", "1-d"),
        ("quantile(x, 1.5, axis=0)", "q must be in [0, 1]"),
        ("median(x)", "needs an axis"),
        ("median(x[:0], axis=0)", "is empty"),
        ("bincount(x[0])", "integers"),
        ("bincount(x[0].astype(\"int32\") - 100)", "negative values"),
    ] {
        let e = evaluate(text, &inputs)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains(says), "{text}: {e}");
    }
    let _ = Block::zeros(DType::F64, &[0]);
}
