//! The `brickwork` binary in temporary directories: outputs, exit codes, error messages.

use std::process::{Command, Output};

use brickwork::{Array, Axis, s};

use crate::common::{TestResult, zarr_python_fixtures};

fn brickwork(args: &[&str]) -> Output {
    Command::new(crate::common::brickwork_exe())
        .args(args)
        .output()
        .expect("the brickwork binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts an exit code and that stderr is one `error: …` message (no panic, no backtrace).
fn assert_fails(o: &Output, code: i32, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "exit code; stderr: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}: {err}");
    }
}

fn numbers(text: &str) -> Vec<f64> {
    text.split(|c: char| c.is_whitespace() || c == '[' || c == ']')
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().unwrap_or_else(|_| panic!("not a number: {t:?}")))
        .collect()
}

#[test]
fn eval_prints_the_tutorial_result_exactly() -> TestResult {
    let o = brickwork(&[
        "eval",
        "x = random((40, 40), chunks=(7, 7), seed=0); (x + x.T)[::2, 20:].mean(axis=1)",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let x = Array::random(&[40, 40], &[7, 7], 0)?;
    let want = (&x + &x.t())
        .slice(s![..;2, 20..])?
        .mean_axis(Axis(1))?
        .compute_as::<f64>()?;
    let got = numbers(&stdout(&o));
    assert_eq!(
        got,
        want.iter().copied().collect::<Vec<_>>(),
        "printed values round-trip"
    );
    let o = brickwork(&["eval", "random((100, 100), chunks=(30, 30), seed=1).sum()"]);
    let want = Array::random(&[100, 100], &[30, 30], 1)?
        .sum()?
        .compute_as::<f64>()?;
    assert_eq!(
        stdout(&o).trim().parse::<f64>()?,
        want[[]],
        "a scalar prints as a bare number"
    );
    Ok(())
}

#[test]
fn eval_output_stats_explain_and_graph() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("v.zarr");
    let dot = dir.path().join("g.dot");
    let prog = "x = random((200, 200), chunks=(50, 50), seed=3); (x - x.mean(axis=0)) * 2";
    let o = brickwork(&[
        "eval",
        prog,
        "--output",
        out.to_str().unwrap(),
        "--stats",
        "--chunks",
        "64,64",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stats: serde_json::Value = serde_json::from_str(stderr(&o).trim())?;
    assert!(
        stats["tasks"].as_u64().unwrap() > 0 && stats["bytes_written"].as_u64() == Some(320_000),
        "{stats}"
    );
    let x = Array::random(&[200, 200], &[50, 50], 3)?;
    let want = ((&x - &x.mean_axis(Axis(0))?) * 2.0).compute()?;
    let back = Array::from_zarr(&out)?;
    assert_eq!(back.chunks()?.max_chunk_shape(), vec![64, 64]);
    assert_eq!(back.compute()?, want);
    let o = brickwork(&["eval", prog, "--output", out.to_str().unwrap()]);
    assert_fails(&o, 1, &["overwrite"]);
    let o = brickwork(&[
        "eval",
        "-i",
        &format!("v={}", out.display()),
        "v.max()",
        "--explain",
        "--graph",
        dot.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("after culling") && stdout(&o).contains("planning took"),
        "{}",
        stdout(&o)
    );
    assert!(std::fs::read_to_string(&dot)?.starts_with("digraph"));
    // 10^6 blocks are explained quickly
    let o = brickwork(&[
        "eval",
        "x = random((100000, 100000), chunks=(100, 100)); (x + x.T)[::2, 50000:].mean(axis=1)",
        "--explain",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    Ok(())
}

#[test]
fn info_on_arrays_and_groups() -> TestResult {
    let Some(f) = zarr_python_fixtures()? else {
        return Ok(());
    };
    let o = brickwork(&["info", f.join("v3_f8_sharded.zarr").to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("shape: (65, 48)")
            && text.contains("shards: (32, 24)")
            && text.contains("chunks: (8, 8)"),
        "{text}"
    );
    let o = brickwork(&[
        "info",
        f.join("v2_f8_zlib.zarr").to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o))?;
    assert_eq!(v["zarr_format"], 2);
    assert_eq!(v["dtype"], "float64");
    assert_eq!(v["chunks_expected"], 12);
    let o = brickwork(&[
        "info",
        f.join("v3_missing_chunks_fill42.zarr").to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o))?;
    assert!(
        v["chunks_stored"].as_u64() < v["chunks_expected"].as_u64(),
        "{v}"
    );
    let o = brickwork(&["info", f.join("group_v3.zarr").to_str().unwrap()]);
    assert!(
        stdout(&o).contains("group") && stdout(&o).contains("inner"),
        "{}",
        stdout(&o)
    );
    let o = brickwork(&["info", "/no/such/store.zarr"]);
    assert_fails(&o, 1, &["/no/such/store.zarr"]);
    Ok(())
}

#[test]
fn rechunk_and_zarr_export_round_trip() -> TestResult {
    let dir = tempfile::tempdir()?;
    let Some(f) = zarr_python_fixtures()? else {
        return Ok(());
    };
    let src = f.join("v3_i4_sharded_zstd_ragged.zarr");
    let dst = dir.path().join("r.zarr");
    let o = brickwork(&[
        "rechunk",
        src.to_str().unwrap(),
        dst.to_str().unwrap(),
        "--chunks",
        "17,5",
        "--codec",
        "gzip:3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        Array::from_zarr(&dst)?.compute()?,
        Array::from_zarr(&src)?.compute()?
    );
    let part = dir.path().join("part.zarr");
    let o = brickwork(&[
        "export",
        dst.to_str().unwrap(),
        part.to_str().unwrap(),
        "--region",
        "10:40:3,-5",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let want = Array::from_zarr(&src)?
        .compute_as::<i32>()?
        .slice(s![10..40;3, -5])
        .to_owned()
        .into_dyn();
    assert_eq!(Array::from_zarr(&part)?.compute_as::<i32>()?, want);
    Ok(())
}

#[test]
fn usage_errors_exit_2_and_runtime_errors_exit_1() -> TestResult {
    let o = brickwork(&["eval", "x +* 2", "-i", "x=whatever"]);
    assert_fails(&o, 1, &["whatever"]);
    let o = brickwork(&["eval", "1 +* 2"]);
    assert_fails(&o, 2, &["column", "^"]);
    let o = brickwork(&["eval", "y + 1"]);
    assert_fails(&o, 2, &["y"]);
    let o = brickwork(&["eval", "zeros((3, 4)) + zeros((5,))"]);
    assert_fails(&o, 1, &["(3, 4)", "(5,)"]);
    let o = brickwork(&["eval", "random((2000, 2000), chunks=(100, 100))"]);
    assert_fails(&o, 1, &["--output"]);
    let o = brickwork(&["eval", "zeros((3,))", "--scheduler", "fast"]);
    assert_fails(&o, 2, &["fast"]);
    let o = brickwork(&["eval", "zeros((3,))", "--memory-limit", "lots"]);
    assert_fails(&o, 2, &["lots"]);
    let o = brickwork(&["rechunk", "a.zarr", "b.zarr", "--chunks", "1,x"]);
    assert_eq!(o.status.code(), Some(2));
    let o = brickwork(&["nonsense"]);
    assert_eq!(o.status.code(), Some(2));
    for sub in ["info", "import", "export", "rechunk", "eval"] {
        let o = brickwork(&[sub, "--help"]);
        assert!(
            o.status.success() && stdout(&o).contains("Example"),
            "{sub} --help"
        );
    }
    if let Some(f) = zarr_python_fixtures()? {
        let f = f.join("v3_f8_none.zarr");
        let o = brickwork(&[
            "export",
            f.to_str().unwrap(),
            "/tmp/x.zarr",
            "--region",
            "100",
        ]);
        assert_fails(&o, 2, &["100", "axis 0"]);
    }
    Ok(())
}

#[test]
fn import_and_export_npy_raw_and_csv() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let a = Array::random_normal(&[37, 23], &[37, 23], 5, 0.0, 9.0)?.compute_as::<f64>()?;
    ndarray_npy::write_npy(p("a.npy"), &a)?;
    // .npy -> Zarr (rechunked, gzip) -> .npy
    let o = brickwork(&[
        "import",
        &p("a.npy"),
        &p("a.zarr"),
        "--chunks",
        "10,7",
        "--codec",
        "gzip",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(Array::from_zarr(p("a.zarr"))?.compute_as::<f64>()?, a);
    let o = brickwork(&["export", &p("a.zarr"), &p("b.npy")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let b: ndarray::ArrayD<f64> = ndarray_npy::read_npy(p("b.npy"))?;
    assert_eq!(b, a);
    // a region to CSV, and CSV back in
    let o = brickwork(&["export", &p("a.zarr"), &p("r.csv"), "--region", "::3,2:9"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = brickwork(&["import", &p("r.csv"), &p("r.zarr")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        Array::from_zarr(p("r.zarr"))?.compute_as::<f64>()?,
        a.slice(s![..;3, 2..9]).to_owned().into_dyn()
    );
    // raw big-endian in and out
    let bytes: Vec<u8> = a.iter().flat_map(|v| v.to_be_bytes()).collect();
    std::fs::write(p("a.raw"), &bytes)?;
    let o = brickwork(&[
        "import",
        &p("a.raw"),
        &p("raw.zarr"),
        "--dtype",
        "float64",
        "--shape",
        "37,23",
        "--byte-order",
        "big",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(Array::from_zarr(p("raw.zarr"))?.compute_as::<f64>()?, a);
    let o = brickwork(&["export", &p("raw.zarr"), &p("out.bin")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let le: Vec<u8> = a.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(std::fs::read(p("out.bin"))?, le);
    // bad input: size mismatch, malformed CSV, unknown dtype, existing output
    let o = brickwork(&[
        "import",
        &p("a.raw"),
        &p("x.zarr"),
        "--dtype",
        "float64",
        "--shape",
        "37,24",
    ]);
    assert_fails(&o, 1, &["a.raw", "6808"]);
    std::fs::write(p("bad.csv"), "1,2\n3,oops\n")?;
    let o = brickwork(&["import", &p("bad.csv"), &p("x.zarr")]);
    assert_fails(&o, 1, &["bad.csv", "line 2", "oops"]);
    let o = brickwork(&[
        "import",
        &p("a.raw"),
        &p("x.zarr"),
        "--dtype",
        "float16",
        "--shape",
        "37,23",
    ]);
    assert_fails(&o, 2, &["float16"]);
    let o = brickwork(&["import", &p("a.npy"), &p("a.zarr")]);
    assert_fails(&o, 1, &["overwrite"]);
    let o = brickwork(&[
        "import",
        &p("a.npy"),
        &p("a.zarr"),
        "--overwrite",
        "--chunks",
        "5,5",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !dir.path().join("x.zarr").exists(),
        "failed imports leave no output behind"
    );
    Ok(())
}

#[test]
fn every_fixture_imports_and_exports_exactly() -> TestResult {
    let Some(f) = zarr_python_fixtures()? else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.join("manifest.json"))?)?;
    for entry in manifest.as_array().ok_or("manifest is a list")? {
        let path = f.join(entry["path"].as_str().ok_or("path")?);
        let expected = f.join(entry["expected"].as_str().ok_or("expected")?);
        let name = entry["path"].as_str().unwrap_or("x").replace('/', "_");
        let zarr = dir.path().join(format!("{name}.imported.zarr"));
        let npy = dir.path().join(format!("{name}.npy"));
        let o = brickwork(&[
            "import",
            path.to_str().unwrap(),
            zarr.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "import {name}: {}", stderr(&o));
        let o = brickwork(&[
            "export",
            zarr.to_str().unwrap(),
            npy.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "export {name}: {}", stderr(&o));
        // Same bytes as the expected file's data, up to byte order (brickwork writes native).
        let got = Array::from_source(std::sync::Arc::new(brickwork::io::npy::NpyFile::open(
            &npy, None,
        )?))
        .compute()?;
        let want = Array::from_source(std::sync::Arc::new(brickwork::io::npy::NpyFile::open(
            &expected, None,
        )?))
        .compute()?;
        assert_eq!(format!("{got:?}"), format!("{want:?}"), "{name}");
    }
    Ok(())
}

#[test]
fn import_rechunk_and_eval_write_zarr_v2_and_sharded_v3() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let a = Array::random_normal(&[37, 23], &[37, 23], 8, 0.0, 9.0)?.compute_as::<f64>()?;
    ndarray_npy::write_npy(p("a.npy"), &a)?;
    let read = |name: &str| -> Result<ndarray::ArrayD<f64>, brickwork::Error> {
        Array::from_zarr(p(name))?.compute_as::<f64>()
    };
    // Zarr v2, chunks that do not divide the shape.
    for codec in ["none", "zstd:5", "gzip", "blosc:zstd:4"] {
        let name = format!("v2_{}.zarr", codec.replace(':', "_"));
        let o = brickwork(&[
            "import",
            &p("a.npy"),
            &p(&name),
            "--zarr-format",
            "2",
            "--chunks",
            "10,7",
            "--codec",
            codec,
            "-q",
        ]);
        assert!(o.status.success(), "{codec}: {}", stderr(&o));
        assert!(dir.path().join(&name).join(".zarray").is_file());
        assert_eq!(read(&name)?, a, "{codec}");
    }
    let o = brickwork(&["info", &p("v2_gzip.zarr"), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o))?;
    assert_eq!(v["zarr_format"], 2);
    assert_eq!(v["chunks"], serde_json::json!([10, 7]));
    assert_eq!(v["codecs"]["compressor"]["id"], "gzip");
    assert_eq!(v["write_complete"], true);
    // Sharded v3: inner chunks 5x7 in shards 10x14 (ragged at both levels).
    let o = brickwork(&[
        "import",
        &p("a.npy"),
        &p("s.zarr"),
        "--chunks",
        "5,7",
        "--shards",
        "10,14",
        "--codec",
        "blosc",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read("s.zarr")?, a);
    let o = brickwork(&["info", &p("s.zarr")]);
    let text = stdout(&o);
    assert!(
        text.contains("shards: (10, 14)") && text.contains("chunks: (5, 7)"),
        "{text}"
    );
    let o = brickwork(&["info", &p("s.zarr"), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o))?;
    assert_eq!(v["chunks_expected"], 4 * 2);
    // rechunk (v2 -> sharded v3 -> v2) and eval --output take the same flags.
    let o = brickwork(&[
        "rechunk",
        &p("v2_gzip.zarr"),
        &p("r.zarr"),
        "--chunks",
        "4,4",
        "--shards",
        "12,8",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read("r.zarr")?, a);
    let o = brickwork(&[
        "rechunk",
        &p("r.zarr"),
        &p("r2.zarr"),
        "--chunks",
        "9,9",
        "--zarr-format",
        "2",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read("r2.zarr")?, a);
    let o = brickwork(&[
        "eval",
        "x * 2",
        "-i",
        &format!("x={}", p("s.zarr")),
        "--output",
        &p("e.zarr"),
        "--zarr-format",
        "2",
        "--codec",
        "zstd",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read("e.zarr")?, a.mapv(|v| v * 2.0));
    assert!(dir.path().join("e.zarr/.zarray").is_file());
    // Existing outputs are refused without --overwrite, replaced with it.
    let o = brickwork(&[
        "import",
        &p("a.npy"),
        &p("v2_gzip.zarr"),
        "--zarr-format",
        "2",
    ]);
    assert_fails(&o, 1, &["v2_gzip.zarr", "overwrite"]);
    let o = brickwork(&[
        "import",
        &p("a.npy"),
        &p("v2_gzip.zarr"),
        "--overwrite",
        "--chunks",
        "6,6",
        "--shards",
        "12,18",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!dir.path().join("v2_gzip.zarr/.zarray").exists());
    assert_eq!(read("v2_gzip.zarr")?, a);
    Ok(())
}

#[test]
fn shard_and_format_usage_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let a = Array::random_normal(&[30, 20], &[10, 10], 8, 0.0, 9.0)?.compute_as::<f64>()?;
    ndarray_npy::write_npy(p("a.npy"), &a)?;
    let o = brickwork(&[
        "import",
        &p("a.npy"),
        &p("x.zarr"),
        "--chunks",
        "10,7",
        "--shards",
        "15,14",
    ]);
    assert_fails(&o, 2, &["--shards", "(15, 14)", "(10, 7)", "multiple"]);
    let o = brickwork(&[
        "import",
        &p("a.npy"),
        &p("x.zarr"),
        "--chunks",
        "10,10",
        "--shards",
        "20,20",
        "--zarr-format",
        "2",
    ]);
    assert_fails(&o, 2, &["--shards", "format 2"]);
    let o = brickwork(&["import", &p("a.npy"), &p("x.zarr"), "--zarr-format", "4"]);
    assert_fails(&o, 2, &["--zarr-format", "4"]);
    let o = brickwork(&["import", &p("a.npy"), &p("x.zarr"), "--shards", "20,x"]);
    assert_fails(&o, 2, &["--shards"]);
    let o = brickwork(&[
        "import",
        &p("a.npy"),
        &p("x.zarr"),
        "--chunks",
        "10,10",
        "--shards",
        "20,20,20",
    ]);
    assert_fails(&o, 2, &["--shards", "(20, 20, 20)", "(10, 10)"]);
    // Without --chunks the input's chunks (the whole 30x20 .npy) are the inner chunks.
    let o = brickwork(&["import", &p("a.npy"), &p("x.zarr"), "--shards", "20,20"]);
    assert_fails(&o, 1, &["(20, 20)", "(30, 20)"]);
    if let Some(f) = zarr_python_fixtures()? {
        let o = brickwork(&[
            "rechunk",
            &f.join("v3_f8_none.zarr").to_string_lossy(),
            &p("x.zarr"),
            "--chunks",
            "4,4",
            "--shards",
            "6,6",
        ]);
        assert_fails(&o, 2, &["(6, 6)", "(4, 4)"]);
    }
    assert!(
        !dir.path().join("x.zarr").exists(),
        "failed writes leave no output behind"
    );
    Ok(())
}

/// Writes `Array::random(shape, chunks, seed)` to `dir/name` and returns the path as text.
fn random_store(dir: &std::path::Path, name: &str, shape: &[usize], seed: u64) -> String {
    let path = dir.join(name);
    Array::random(shape, &[2, 2], seed)
        .and_then(|x| x.to_zarr(&path, &brickwork::WriteOptions::default()))
        .expect("the store is written");
    path.to_str().unwrap().to_string()
}

#[test]
fn eval_takes_programs_that_start_with_a_minus() -> TestResult {
    let dir = tempfile::tempdir()?;
    let a = random_store(dir.path(), "a.zarr", &[3, 4], 7);
    let input = format!("a={a}");
    let values = Array::from_zarr(&a)?.compute_as::<f64>()?;
    let negated: Vec<f64> = values.iter().map(|v| -v).collect();
    let plus_one: Vec<f64> = values.iter().map(|v| -v + 1.0).collect();
    let runs: [(&[&str], Vec<f64>); 6] = [
        (&["eval", "-a", "-i", &input], negated.clone()),
        (&["eval", "-i", &input, "-a + 1"], plus_one),
        (
            &["eval", "-(a.sum())", "-i", &input, "-q"],
            vec![-values.sum()],
        ),
        (&["eval", "-q", "-i", &input, "--", "-a"], negated),
        (&["eval", "-1"], vec![-1.0]),
        (
            &["eval", "-i", &input, "--", "--a.max()"],
            vec![values.fold(f64::MIN, |m, &v| m.max(v))],
        ),
    ];
    for (args, want) in runs {
        let o = brickwork(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        // Sums are blocked (pairwise over chunks), so they match ndarray's to rounding.
        let got = numbers(&stdout(&o));
        assert_eq!(got.len(), want.len(), "{args:?}");
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                "{args:?}: {got:?} {want:?}"
            );
        }
    }
    let out = dir.path().join("neg.zarr");
    let o = brickwork(&[
        "eval",
        "-a",
        "-i",
        &input,
        "--output",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        Array::from_zarr(&out)?.compute_as::<f64>()?,
        values.mapv(|v| -v)
    );
    // A misspelt option is still a usage error, before or after the program.
    for args in [
        &["eval", "--outptu", "y.zarr", "-a", "-i", &input][..],
        &["eval", "-a", "-i", &input, "--outptu", "y.zarr"],
        &["eval", "-i", &input, "--outptu=y.zarr", "a"],
    ] {
        assert_fails(&brickwork(args), 2, &["--outptu", "--output"]);
    }
    let o = brickwork(&["eval", "--help"]);
    for needle in ["--spill-dir", " -- ", "@"] {
        assert!(
            stdout(&o).contains(needle),
            "{needle:?} missing from eval --help"
        );
    }
    // Every function the language has is listed, as a whole word.
    let help = stdout(&o);
    let words: std::collections::HashSet<&str> = help
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .collect();
    for name in brickwork::parse::function_names() {
        assert!(words.contains(name), "{name} missing from eval --help");
    }
    Ok(())
}

/// Runs the spilling workload of `spill_dir_holds_the_spill_files` with extra arguments.
fn spilling_eval(extra: &[&str]) -> Output {
    let prog = "x = random((6, 120, 120), chunks=(1, 40, 40), seed=3); y = x - x.mean(axis=0); \
                (y * y).sum(axis=2).max(axis=1)";
    let mut args = vec!["eval", prog, "--scheduler", "synchronous", "--stats", "-q"];
    args.extend(extra);
    Command::new(crate::common::brickwork_exe())
        .args(&args)
        .env("TMPDIR", "/nonexistent/brickwork-tmp")
        .output()
        .expect("the brickwork binary runs")
}

#[test]
fn spill_dir_holds_the_spill_files_and_is_checked_up_front() -> TestResult {
    let dir = tempfile::tempdir()?;
    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill)?;
    let spill_arg = spill.to_str().unwrap();
    let free = spilling_eval(&[]);
    assert!(free.status.success(), "{}", stderr(&free));
    let stats: serde_json::Value = serde_json::from_str(stderr(&free).trim())?;
    let peak = stats["predicted_peak_bytes"]
        .as_u64()
        .ok_or("no predicted peak")?;
    // TMPDIR does not exist: a spill anywhere but --spill-dir would fail.
    let mut spilled = false;
    for percent in [95, 90, 85, 80, 75, 70, 65] {
        let limit = (peak * percent / 100).to_string();
        let o = spilling_eval(&["--memory-limit", &limit, "--spill-dir", spill_arg]);
        if !o.status.success() {
            continue;
        }
        assert_eq!(stdout(&o), stdout(&free), "limit {limit}");
        let stats: serde_json::Value = serde_json::from_str(stderr(&o).trim())?;
        spilled |= stats["spilled_bytes"].as_u64() > Some(0);
        let left: Vec<_> = std::fs::read_dir(&spill)?.collect();
        assert!(left.is_empty(), "the spill directory is removed: {left:?}");
    }
    assert!(spilled, "some limit made it spill");
    let missing = dir.path().join("missing");
    let o = spilling_eval(&["--spill-dir", missing.to_str().unwrap()]);
    assert_fails(&o, 1, &["--spill-dir", "missing", "No such file"]);
    let file = dir.path().join("file");
    std::fs::write(&file, "")?;
    let o = spilling_eval(&["--spill-dir", file.to_str().unwrap()]);
    assert_fails(&o, 1, &["--spill-dir", "file: not a directory"]);
    #[cfg(target_os = "linux")]
    {
        let o = spilling_eval(&["--spill-dir", "/proc"]);
        assert_fails(
            &o,
            1,
            &["--spill-dir /proc: cannot create a directory in it"],
        );
    }
    Ok(())
}

#[test]
fn help_texts_are_current() {
    for cmd in ["info", "import", "export", "rechunk", "eval"] {
        let o = brickwork(&[cmd, "--help"]);
        assert!(o.status.success(), "{cmd}");
        let help = stdout(&o);
        assert!(!help.contains("not spilled"), "{cmd} --help: {help}");
        if cmd != "info" {
            assert!(
                help.contains("spilled to disk (see --spill-dir)"),
                "{cmd}: {help}"
            );
        }
    }
}

#[test]
fn csv_import_and_export_errors_and_bounds() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    for (name, text, needles) in [
        (
            "ragged.csv",
            "1,2\n3,4\n5\n",
            &["ragged.csv", "line 3: 1 field(s)"][..],
        ),
        (
            "header.csv",
            "a,b\n1,2\n",
            &["header.csv", "line 1, field 1", "--skip-header 1"],
        ),
        ("empty.csv", "", &["empty.csv", "the file is empty"]),
        (
            "gap.csv",
            "1,2\n,4\n",
            &["gap.csv", "line 2, field 1 is empty"],
        ),
    ] {
        std::fs::write(p(name), text)?;
        let o = brickwork(&["import", &p(name), &p("out.zarr")]);
        assert_fails(&o, 1, needles);
        assert!(!dir.path().join("out.zarr").exists(), "{name}");
    }
    std::fs::write(p("h.csv"), "a;b\n1;2\n3;4\n")?;
    let o = brickwork(&[
        "import",
        &p("h.csv"),
        &p("h.zarr"),
        "--delimiter",
        ";",
        "--skip-header",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let want = ndarray::arr2(&[[1.0, 2.0], [3.0, 4.0]]).into_dyn();
    assert_eq!(Array::from_zarr(p("h.zarr"))?.compute_as::<f64>()?, want);
    // Export and import of a region in bands under a small limit, exact both ways.
    // 655 KiB of CSV in bands of about a third of it (the graph of 720 tasks takes 88 KiB).
    let x = p("x.zarr");
    Array::random(&[2400, 30], &[20, 10], 9)?.to_zarr(&x, &brickwork::WriteOptions::default())?;
    let o = brickwork(&[
        "export",
        &x,
        &p("x.csv"),
        "--region",
        "::2,1:",
        "--memory-limit",
        "256KiB",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = brickwork(&[
        "import",
        &p("x.csv"),
        &p("back.zarr"),
        "--chunks",
        "16,8",
        "--memory-limit",
        "4MiB",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let want = Array::from_zarr(&x)?
        .slice(s![..;2, 1..])?
        .compute_as::<f64>()?;
    assert_eq!(Array::from_zarr(p("back.zarr"))?.compute_as::<f64>()?, want);
    let o = brickwork(&[
        "import",
        &p("x.csv"),
        &p("no.zarr"),
        "--chunks",
        "300,29",
        "--memory-limit",
        "1.5MiB",
    ]);
    assert_fails(&o, 1, &["one band of chunks (300, 29)", "would fit"]);
    Ok(())
}

#[test]
fn eval_writes_into_a_region_of_an_existing_array() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (big, x) = (d("big.zarr"), d("x.zarr"));
    let o = brickwork(&["eval", "zeros((20, 30), chunks=(6, 7))", "--output", &big]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = brickwork(&[
        "eval",
        "random((10, 12), chunks=(4, 5), seed=3)",
        "--output",
        &x,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Negative and open-ended parts resolve against the target's shape: rows 3..13, columns
    // 18..30.
    let o = brickwork(&[
        "eval",
        "-i",
        &format!("x={x}"),
        "x * 2",
        "--output",
        &big,
        "--region",
        "3:13,-12:",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let got = Array::from_zarr(&big)?.compute_as::<f64>()?;
    let want = Array::random(&[10, 12], &[4, 5], 3)?.compute_as::<f64>()? * 2.0;
    let mut full = ndarray::ArrayD::<f64>::zeros(vec![20, 30]);
    full.slice_mut(ndarray::s![3..13, 18..30]).assign(&want);
    assert_eq!(got, full);
    // Errors: shapes, bounds, steps, parts, flags that do not apply, no --output.
    let run = |expr: &str, region: &str| {
        brickwork(&[
            "eval",
            "-i",
            &format!("x={x}"),
            expr,
            "--output",
            &big,
            "--region",
            region,
        ])
    };
    assert_fails(
        &run("x", "0:10,0:11"),
        1,
        &["(10, 12)", "(10, 11)", "big.zarr"],
    );
    assert_fails(
        &run("x", "15:25,0:12"),
        1,
        &["axis 0 ends at 25", "(20, 30)"],
    );
    assert_fails(&run("x", "0:10:2,0:12"), 2, &["step"]);
    assert_fails(
        &run("x", "0:10"),
        2,
        &["1 part(s)", "2 axis(es)", "(20, 30)"],
    );
    let ints = d("ints.zarr");
    let o = brickwork(&[
        "eval",
        "zeros((20, 30), dtype=\"int32\")",
        "--output",
        &ints,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = brickwork(&[
        "eval",
        "-i",
        &format!("x={x}"),
        "x",
        "--output",
        &ints,
        "--region",
        "0:10,0:12",
    ]);
    assert_fails(&o, 1, &["float64", "int32", "astype"]);
    assert_fails(&run("x", "a:b,0:12"), 2, &["\"a:b\""]);
    let o = brickwork(&[
        "eval",
        "-i",
        &format!("x={x}"),
        "x",
        "--output",
        &big,
        "--region",
        "0:10,0:12",
        "--overwrite",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = brickwork(&[
        "eval",
        "-i",
        &format!("x={x}"),
        "x",
        "--region",
        "0:10,0:12",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = brickwork(&[
        "eval",
        "x = zeros((2, 2)); x",
        "--output",
        &d("none.zarr"),
        "--region",
        "0:2,0:2",
    ]);
    assert_fails(&o, 1, &["none.zarr"]);
    // The target is read by the computation: refused.
    let o = brickwork(&[
        "eval",
        "-i",
        &format!("b={big}"),
        "b[:10, :12]",
        "--output",
        &big,
        "--region",
        "10:20,0:12",
    ]);
    assert_fails(&o, 1, &["reads from"]);
    Ok(())
}

#[test]
fn dashboard_flags_are_checked_before_any_work() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("out.zarr");
    let out = out.to_str().unwrap();
    let expr = "random((100, 100), chunks=(10, 10))";
    let o = brickwork(&["eval", expr, "--output", out, "--dashboard", "0.0.0.0:0"]);
    assert_fails(
        &o,
        2,
        &[
            "--dashboard",
            "0.0.0.0",
            "loopback",
            "--dashboard-allow-remote",
        ],
    );
    let o = brickwork(&["eval", expr, "--output", out, "--dashboard", "localhost"]);
    assert_fails(&o, 2, &["--dashboard", "HOST:PORT"]);
    let o = brickwork(&[
        "eval",
        expr,
        "--output",
        out,
        "--report",
        "/no/such/dir/r.html",
    ]);
    assert_fails(
        &o,
        2,
        &["--report", "/no/such/dir/r.html", "does not exist"],
    );
    let o = brickwork(&["eval", expr, "--output", out, "--dashboard-linger", "3"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--dashboard"), "{}", stderr(&o));
    let o = brickwork(&[
        "eval",
        expr,
        "--output",
        out,
        "--dashboard",
        "127.0.0.1:0",
        "--dashboard-linger=-1",
    ]);
    assert_fails(&o, 2, &["--dashboard-linger"]);
    assert!(!std::path::Path::new(out).exists(), "nothing written");
    Ok(())
}

#[test]
fn report_of_an_eval_command_holds_its_stats() -> TestResult {
    let dir = tempfile::tempdir()?;
    let report = dir.path().join("r.html");
    let o = brickwork(&[
        "eval",
        "x = random((300, 200), chunks=(50, 50), seed=2); x[x > 0.5].sum()",
        "--report",
        report.to_str().unwrap(),
        "--stats",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let stats: serde_json::Value = serde_json::from_str(stderr(&o).lines().last().unwrap())?;
    let data = crate::dashboard::report_data(&std::fs::read_to_string(&report)?);
    assert_eq!(
        data["meta"]["title"],
        "x = random((300, 200), chunks=(50, 50), seed=2); x[x > 0.5].sum()"
    );
    // The session holds the mask's counting pass and the sum: more tasks than the sum's.
    assert!(
        data["stats"]["tasks"].as_u64() > stats["tasks"].as_u64(),
        "{data}"
    );
    assert!(data["plan"]["runs"].as_u64().unwrap() >= 2);
    Ok(())
}

#[test]
fn eval_on_a_cluster_matches_the_synchronous_scheduler() -> TestResult {
    let expr =
        "x = random((600, 400), chunks=(70, 90), seed=4); (x - x.mean(axis=0)).std(axis=1)[:8]";
    let sync = brickwork(&["eval", expr, "--scheduler", "synchronous", "-q"]);
    assert_eq!(sync.status.code(), Some(0), "{}", stderr(&sync));
    let o = brickwork(&[
        "eval",
        expr,
        "--scheduler",
        "cluster",
        "--workers",
        "3",
        "--threads-per-worker",
        "2",
        "--memory-limit",
        "64MiB",
        "--stats",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), stdout(&sync));
    let stats: serde_json::Value = serde_json::from_str(stderr(&o).lines().last().unwrap())?;
    assert!(stats["transfers"].as_u64().unwrap() > 0, "{stats}");
    assert_eq!(stats["memory_limit"].as_u64(), Some(64 << 20));
    let o = brickwork(&["eval", expr, "--workers", "2"]);
    assert_fails(&o, 2, &["--workers", "--scheduler cluster or processes"]);
    let o = brickwork(&["eval", expr, "--scheduler", "cluster", "--workers", "0"]);
    assert_fails(&o, 2, &["--workers"]);
    Ok(())
}

#[test]
fn eval_in_worker_processes_matches_the_synchronous_scheduler() -> TestResult {
    let dir = tempfile::tempdir()?;
    let expr =
        "x = random((600, 400), chunks=(70, 90), seed=4); (x - x.mean(axis=0)).std(axis=1)[:8]";
    let sync = brickwork(&["eval", expr, "--scheduler", "synchronous", "-q"]);
    assert_eq!(sync.status.code(), Some(0), "{}", stderr(&sync));
    let args = ["eval", expr, "--scheduler", "processes", "--workers", "3"];
    let o = brickwork(&[&args[..], &["--memory-limit", "64MiB", "--stats", "-q"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), stdout(&sync));
    let stats = stats_of(&o);
    assert_eq!(stats["memory_limit"].as_u64(), Some(64 << 20));
    // A store written by worker processes has the bytes of the synchronous write.
    let (a, b) = (dir.path().join("a.zarr"), dir.path().join("b.zarr"));
    let write = "x = random((500, 300), chunks=(70, 90), seed=2); x + x.T[:300, :500].T";
    let o = brickwork(
        &["eval", write, "--scheduler", "synchronous", "--output"]
            .iter()
            .copied()
            .chain([a.to_str().unwrap()])
            .collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = brickwork(
        &["eval", write, "--scheduler", "processes", "--output"]
            .iter()
            .copied()
            .chain([b.to_str().unwrap()])
            .collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        crate::common::store_files(&a)?,
        crate::common::store_files(&b)?
    );
    let o = brickwork(&[&args[..], &["--threads-per-worker", "2"]].concat());
    assert_fails(&o, 2, &["--threads-per-worker", "--scheduler cluster"]);
    let o = brickwork(&["eval", expr, "--scheduler", "processes", "--workers", "0"]);
    assert_fails(&o, 2, &["--workers"]);
    Ok(())
}

/// `brickwork eval` with owned arguments.
fn brickwork_owned(args: &[String]) -> Output {
    brickwork(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The one JSON line `--stats` prints on stderr.
fn stats_of(o: &Output) -> serde_json::Value {
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one stats line: {err}");
    serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{e}: {err}"))
}

#[test]
fn eval_writes_several_results_in_one_pass() -> TestResult {
    let dir = tempfile::tempdir()?;
    let x = random_store(dir.path(), "x.zarr", &[30, 20], 11);
    let input = format!("x={x}");
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let parts = ["x.sum(axis=0)", "x.mean(axis=1)", "x.T * 2"];
    // Each alone, with what it reads: the whole store.
    let mut alone_read = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let o = brickwork(&[
            "eval",
            "-i",
            &input,
            part,
            "--output",
            &path(&format!("alone{i}.zarr")),
            "--stats",
        ]);
        assert!(o.status.success(), "{part}: {}", stderr(&o));
        alone_read.push(stats_of(&o)["bytes_read"].as_u64().unwrap());
    }
    assert!(
        alone_read[0] > 0 && alone_read.iter().all(|&b| b == alone_read[0]),
        "{alone_read:?}"
    );
    for k in [2, 3] {
        let program = parts[..k].join(", ");
        let mut args: Vec<String> = ["eval", "-i", &input, &program, "--stats"]
            .map(String::from)
            .into();
        for i in 0..k {
            args.extend(["--output".to_string(), path(&format!("many{k}_{i}.zarr"))]);
        }
        let o = brickwork_owned(&args);
        assert!(o.status.success(), "{program}: {}", stderr(&o));
        let read = stats_of(&o)["bytes_read"].as_u64().unwrap();
        assert_eq!(read, alone_read[0], "{program}: the store is read once");
        assert!(read < alone_read[..k].iter().sum::<u64>(), "{program}");
        for i in 0..k {
            let got = Array::from_zarr(path(&format!("many{k}_{i}.zarr")))?;
            let want = Array::from_zarr(path(&format!("alone{i}.zarr")))?;
            assert_eq!(
                got.chunks()?,
                want.chunks()?,
                "{program}: result {i} chunks"
            );
            assert_eq!(got.compute()?, want.compute()?, "{program}: result {i}");
        }
    }
    // Write options apply to each output; a tuple in parentheses is the same.
    let o = brickwork(&[
        "eval",
        "-i",
        &input,
        "(x[:, :10], x.T)",
        "-o",
        &path("c0.zarr"),
        "-o",
        &path("c1.zarr"),
        "--chunks",
        "4,4",
        "--codec",
        "gzip:3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let whole = Array::from_zarr(&x)?.compute_as::<f64>()?;
    for (name, want) in [
        (
            "c0.zarr",
            whole.slice(ndarray::s![.., ..10]).to_owned().into_dyn(),
        ),
        ("c1.zarr", whole.t().to_owned()),
    ] {
        let got = Array::from_zarr(path(name))?;
        assert_eq!(got.chunks()?.max_chunk_shape(), vec![4, 4], "{name}");
        assert_eq!(got.compute_as::<f64>()?, want, "{name}");
    }
    Ok(())
}

#[test]
fn eval_prints_several_results_between_separator_lines() -> TestResult {
    let dir = tempfile::tempdir()?;
    let x = random_store(dir.path(), "x.zarr", &[4, 6], 5);
    let input = format!("x={x}");
    // A scalar, a 2-d and a 3-d array (whose slabs are apart by a blank line), a 1-d one.
    let parts = ["x.min()", "x[1:3]", "x.reshape((2, 2, 6))", "x.max(axis=0)"];
    let (mut alone, mut alone_read) = (Vec::new(), Vec::new());
    for part in parts {
        let o = brickwork(&["eval", "-i", &input, part, "--stats"]);
        assert!(o.status.success(), "{part}: {}", stderr(&o));
        alone_read.push(stats_of(&o)["bytes_read"].as_u64().unwrap());
        alone.push(stdout(&o));
    }
    assert!(alone[2].contains("\n\n"), "{}", alone[2]);
    let o = brickwork(&["eval", "-i", &input, &parts.join(", "), "--stats"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert_eq!(text, alone.join("---\n"));
    let pieces: Vec<&str> = text.split("\n---\n").collect();
    assert_eq!(pieces.len(), 4, "scripts split at \\n---\\n: {text}");
    assert_eq!(pieces[0].parse::<f64>()?, numbers(&alone[0])[0]);
    let read = stats_of(&o)["bytes_read"].as_u64().unwrap();
    let most = alone_read.iter().copied().max().unwrap_or(0);
    assert!(
        read > 0 && read == most && read < alone_read.iter().sum::<u64>(),
        "read once: {read}, alone {alone_read:?}"
    );
    Ok(())
}

#[test]
fn eval_qr_at_top_level_gives_q_and_r() -> TestResult {
    let dir = tempfile::tempdir()?;
    let q_path = dir.path().join("q.zarr");
    let r_path = dir.path().join("r.zarr");
    let program = "qr(random((60, 4), chunks=(15, 4), seed=2))";
    let o = brickwork(&[
        "eval",
        program,
        "--output",
        q_path.to_str().unwrap(),
        "--output",
        r_path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (q, r) = Array::random(&[60, 4], &[15, 4], 2)?.qr()?;
    assert_eq!(Array::from_zarr(&q_path)?.compute()?, q.compute()?);
    assert_eq!(Array::from_zarr(&r_path)?.compute()?, r.compute()?);
    // Printed: Q, the separator, R.
    let o = brickwork(&["eval", program]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let [q_text, r_text] = text.split("\n---\n").collect::<Vec<_>>()[..] else {
        panic!("two results: {text}");
    };
    assert_eq!(numbers(q_text).len(), 240);
    assert_eq!(numbers(r_text).len(), 16);
    Ok(())
}

#[test]
fn eval_several_results_explain_graph_and_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let prog = "x = random((6, 4), chunks=(2, 2), seed=1); x.sum(axis=0), x.mean(axis=1)";
    // --output given other than once per result: usage errors naming both counts, and
    // nothing written.
    let o = brickwork(&["eval", prog, "--output", &path("a.zarr")]);
    assert_fails(
        &o,
        2,
        &[
            "the program gives 2 results but --output is given 1 time;",
            "once per result",
        ],
    );
    let o = brickwork(&[
        "eval",
        prog,
        "-o",
        &path("a.zarr"),
        "-o",
        &path("b.zarr"),
        "-o",
        &path("c.zarr"),
    ]);
    assert_fails(&o, 2, &["gives 2 results but --output is given 3 times"]);
    let o = brickwork(&[
        "eval",
        "zeros((3,))",
        "-o",
        &path("a.zarr"),
        "-o",
        &path("b.zarr"),
    ]);
    assert_fails(&o, 2, &["gives 1 result but --output is given 2 times"]);
    assert!(
        std::fs::read_dir(dir.path())?.next().is_none(),
        "nothing written"
    );
    // --region takes one result.
    let o = brickwork(&[
        "eval",
        prog,
        "-o",
        &path("a.zarr"),
        "-o",
        &path("b.zarr"),
        "--region",
        "0:4",
    ]);
    assert_fails(
        &o,
        2,
        &["--region writes one result", "the program gives 2 results"],
    );
    // Items that are not arrays, an empty tuple.
    let o = brickwork(&["eval", "zeros((3,)), 1"]);
    assert_fails(
        &o,
        2,
        &["item 1 of the result (a tuple of 2, counting from 0) is an int"],
    );
    let o = brickwork(&["eval", "a = zeros((4, 2)); (qr(a), a)"]);
    assert_fails(
        &o,
        2,
        &["item 0 of the result", "is a tuple", "flattened one level"],
    );
    let o = brickwork(&["eval", "()"]);
    assert_fails(&o, 2, &["empty tuple"]);
    // --chunks must fit every result.
    let o = brickwork(&[
        "eval",
        "zeros((4,)), zeros((4, 4))",
        "-o",
        &path("a.zarr"),
        "-o",
        &path("b.zarr"),
        "--chunks",
        "2",
    ]);
    assert_fails(&o, 2, &["result 1 (of 2", "--chunks has 1 sizes"]);
    assert!(
        std::fs::read_dir(dir.path())?.next().is_none(),
        "nothing written"
    );
    // Too large to print, naming which.
    let o = brickwork(&["eval", "zeros((3,)), zeros((1000, 1000))"]);
    assert_fails(
        &o,
        1,
        &[
            "result 1 (of 2",
            "(1000, 1000)",
            "--output PATH, once per result",
        ],
    );
    // A deferred error of one result.
    let o = brickwork(&["eval", "zeros((3,)), zeros((3, 4)) + zeros((5,))"]);
    assert_fails(&o, 1, &["(3, 4)", "(5,)"]);
    // --explain and --graph show the one plan: the shared store is one stage.
    let store_dir = tempfile::tempdir()?;
    let x = random_store(store_dir.path(), "x.zarr", &[6, 4], 1);
    let dot = path("g.dot");
    let o = brickwork(&[
        "eval",
        "-i",
        &format!("x={x}"),
        "x.sum(axis=0), x.mean(axis=1)",
        "--explain",
        "--graph",
        &dot,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("2 outputs, computed in one pass")
            && text.contains("output 0: brickwork.Array<")
            && text.contains("output 1: brickwork.Array<")
            && text.contains("after culling")
            && text.contains("planning took"),
        "{text}"
    );
    assert_eq!(text.matches(": read ").count(), 1, "{text}");
    assert!(std::fs::read_to_string(&dot)?.starts_with("digraph"));
    // The -h text documents it.
    let o = brickwork(&["eval", "--help"]);
    let help = stdout(&o);
    assert!(
        help.contains("once per result") && help.contains("line ---"),
        "{help}"
    );
    Ok(())
}
