//! The `brickwork` binary on corrupt and hostile input: one `error: …` line naming the file
//! (and chunk), exit code 1, no panic.

use std::path::Path;
use std::process::{Command, Output};

use brickwork::WriteOptions;
use serde_json::json;

use super::write;
use crate::common::TestResult;

fn brickwork(args: &[&str]) -> Output {
    Command::new(crate::common::brickwork_exe())
        .args(args)
        .output()
        .expect("the brickwork binary runs")
}

/// Asserts exit code 1 and one `error: …` line holding every needle, without a panic.
fn assert_error(o: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error: ") && err.trim_end().lines().count() == 1,
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in {err}");
    }
}

/// Sets `pointer` of the JSON document `file` to `value`.
fn edit(file: &Path, pointer: &str, value: serde_json::Value) -> TestResult {
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(file)?)?;
    *doc.pointer_mut(pointer).expect("the pointer exists") = value;
    std::fs::write(file, serde_json::to_vec(&doc)?)?;
    Ok(())
}

#[test]
fn corrupt_chunks_and_lying_metadata_are_one_error_line() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = |name: &str| dir.path().join(name).display().to_string();
    write(
        dir.path().join("x.zarr").as_ref(),
        &[100, 100],
        &[50, 50],
        &WriteOptions::default(),
    )?;
    let chunk = dir.path().join("x.zarr/c/0/1");
    let bytes = std::fs::read(&chunk)?;
    std::fs::write(&chunk, &bytes[..bytes.len() / 2])?;
    let o = brickwork(&["eval", "-i", &format!("x={}", p("x.zarr")), "x.sum()"]);
    assert_error(&o, &[&p("x.zarr"), "c/0/1"]);
    let o = brickwork(&["export", &p("x.zarr"), &p("x.npy")]);
    assert_error(&o, &[&p("x.zarr"), "c/0/1"]);

    write(
        dir.path().join("h.zarr").as_ref(),
        &[100, 100],
        &[50, 50],
        &WriteOptions::default(),
    )?;
    edit(
        &dir.path().join("h.zarr/zarr.json"),
        "/shape",
        json!([1u64 << 62, 1u64 << 62]),
    )?;
    let o = brickwork(&["info", &p("h.zarr")]);
    assert_error(
        &o,
        &[
            &p("h.zarr"),
            "zarr.json",
            "larger than this machine can address",
        ],
    );
    Ok(())
}

#[test]
fn chunks_larger_than_memory_are_refused_by_eval_and_export() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = |name: &str| dir.path().join(name).display().to_string();
    write(
        dir.path().join("b.zarr").as_ref(),
        &[100],
        &[100],
        &WriteOptions::default(),
    )?;
    let meta = dir.path().join("b.zarr/zarr.json");
    edit(
        &meta,
        "/chunk_grid/configuration/chunk_shape",
        json!([1u64 << 40]),
    )?;
    let limit = ["--memory-limit", "1GiB"];
    let o = brickwork(
        &[
            &["eval", "-i", &format!("x={}", p("b.zarr")), "x.sum()"],
            &limit[..],
        ]
        .concat(),
    );
    assert_error(&o, &["memory limit"]);
    let o = brickwork(&[&["export", &p("b.zarr"), &p("b.npy")], &limit[..]].concat());
    assert_error(&o, &["memory limit", &p("b.zarr")]);
    Ok(())
}

#[test]
fn lying_npy_headers_and_raw_sizes_are_one_error_line() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = |name: &str| dir.path().join(name).display().to_string();
    let dict = b"{'descr': '<f8', 'fortran_order': False, 'shape': (1000000,), }";
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend((dict.len() as u16).to_le_bytes());
    npy.extend(dict);
    npy.extend([0u8; 64]);
    std::fs::write(dir.path().join("lie.npy"), npy)?;
    let o = brickwork(&["import", &p("lie.npy"), &p("lie.zarr")]);
    assert_error(&o, &[&p("lie.npy"), "needs 8000"]);
    std::fs::write(dir.path().join("x.raw"), [0u8; 100])?;
    let o = brickwork(&[
        "import",
        &p("x.raw"),
        &p("x.zarr"),
        "--dtype",
        "float64",
        "--shape",
        "10,10",
    ]);
    assert_error(&o, &[&p("x.raw"), "the file has 100 bytes"]);
    Ok(())
}
