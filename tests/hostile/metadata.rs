//! Lying Zarr metadata (`zarr.json`, `.zarray`, `.zattrs`): not JSON, wrong types, negative,
//! zero, float and huge sizes, rank mismatches, unknown codecs and data types, missing keys;
//! and chunk shapes far larger than the array, refused against the memory limit.

use std::path::{Path, PathBuf};

use brickwork::store::{ZarrFormat, ZarrSource};
use brickwork::{Array, Codec, ComputeOptions, Error, WriteOptions};
use serde_json::{Value, json};

use super::{LIMIT, assert_store_error, chain, opts, sum, write};
use crate::common::TestResult;

/// A change to a metadata document: replace the value at a JSON pointer (`None`: remove
/// it), or replace the whole text.
enum Edit {
    Set(&'static str, Option<Value>),
    Text(&'static [u8]),
}

/// Applies `edit` to the metadata document `file`.
fn apply(file: &Path, edit: &Edit) -> TestResult {
    let text = match edit {
        Edit::Text(bytes) => bytes.to_vec(),
        Edit::Set(pointer, value) => {
            let mut doc: Value = serde_json::from_slice(&std::fs::read(file)?)?;
            let (parent, last) = pointer.rsplit_once('/').expect("a JSON pointer");
            let parent = doc
                .pointer_mut(parent)
                .expect("the pointer's parent exists");
            match (parent, value) {
                (Value::Object(map), Some(v)) => {
                    map.insert(last.into(), v.clone());
                }
                (Value::Object(map), None) => {
                    map.remove(last);
                }
                (Value::Array(items), Some(v)) => items[last.parse::<usize>()?] = v.clone(),
                (other, _) => panic!("cannot edit {other} at {pointer}"),
            }
            serde_json::to_vec(&doc)?
        }
    };
    std::fs::write(file, text)?;
    Ok(())
}

/// A fresh array (100 × 90 float64, uncompressed, chunks 50 × 50; or shards 50 × 50 of
/// chunks 10 × 10) at `dir/name`, in `format`.
fn seed(
    dir: &Path,
    name: &str,
    format: ZarrFormat,
    sharded: bool,
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let path = dir.join(name);
    let mut o = opts(format, Codec::None);
    let chunks = if sharded {
        o.shards = Some(vec![50, 50]);
        [10, 10]
    } else {
        [50, 50]
    };
    write(&path, &[100, 90], &chunks, &o)?;
    Ok(path)
}

/// Opening after `edit` of `file` fails with a store error naming `key`.
fn assert_refused(path: &Path, file: &str, key: &str, edit: &Edit) -> TestResult {
    apply(&path.join(file), edit)?;
    let err = ZarrSource::open(path).expect_err("lying metadata is an error");
    assert_store_error(&err, path, key);
    assert!(!chain(&err).contains("internal error"), "{}", chain(&err));
    Ok(())
}

const HUGE: u64 = 1 << 62;

/// Edits of `zarr.json` that make it invalid (each applied to a fresh copy).
fn v3_edits() -> Vec<Edit> {
    let grid = "/chunk_grid/configuration/chunk_shape";
    vec![
        Edit::Text(b"{not json"),
        Edit::Text(b""),
        Edit::Text(b"[1, 2]"),
        Edit::Text(b"\xff\xfe{}"),
        Edit::Set("/shape", Some(json!("100,90"))),
        Edit::Set("/shape", Some(json!([-100, 90]))),
        Edit::Set("/shape", Some(json!([100.5, 90]))),
        Edit::Set("/shape", Some(json!([HUGE, HUGE]))),
        Edit::Set("/shape", Some(json!([u64::MAX, u64::MAX]))),
        Edit::Set("/shape", Some(json!([100]))),
        Edit::Set("/shape", None),
        Edit::Set(grid, Some(json!([-50, 50]))),
        Edit::Set(grid, Some(json!([0, 50]))),
        Edit::Set(grid, Some(json!("50"))),
        Edit::Set(grid, Some(json!([50]))),
        Edit::Set(grid, Some(json!([1u64 << 40, 1u64 << 40]))),
        Edit::Set("/chunk_grid/name", Some(json!("rectilinear"))),
        Edit::Set("/chunk_grid", None),
        Edit::Set("/codecs/0", Some(json!({"name": "lzma"}))),
        Edit::Set("/codecs", Some(json!([]))),
        Edit::Set("/codecs", None),
        Edit::Set("/data_type", Some(json!("complex512"))),
        Edit::Set("/data_type", Some(json!("float16"))),
        Edit::Set("/data_type", Some(json!(5))),
        Edit::Set("/data_type", None),
        Edit::Set("/fill_value", Some(json!("abc"))),
        Edit::Set("/fill_value", None),
        Edit::Set("/node_type", Some(json!("group"))),
        Edit::Set("/node_type", None),
        Edit::Set("/zarr_format", Some(json!(4))),
        Edit::Set("/attributes", Some(json!([1]))),
        Edit::Set("/storage_transformers", Some(json!([{"name": "foo"}]))),
        Edit::Set("/extension", Some(json!({"must_understand": true}))),
    ]
}

/// Edits of `.zarray` that make it invalid.
fn v2_edits() -> Vec<Edit> {
    vec![
        Edit::Text(b"{not json"),
        Edit::Set("/shape", Some(json!("100"))),
        Edit::Set("/shape", Some(json!([-1, 90]))),
        Edit::Set("/shape", Some(json!([1.5, 90]))),
        Edit::Set("/shape", Some(json!([HUGE, HUGE]))),
        Edit::Set("/chunks", Some(json!([-50, 50]))),
        Edit::Set("/chunks", Some(json!([0, 50]))),
        Edit::Set("/chunks", Some(json!([50]))),
        Edit::Set("/chunks", None),
        Edit::Set("/compressor", Some(json!({"id": "lzma"}))),
        Edit::Set("/filters", Some(json!([{"id": "delta", "dtype": "<f8"}]))),
        Edit::Set("/dtype", Some(json!("<c16"))),
        Edit::Set("/dtype", Some(json!("zz"))),
        Edit::Set("/dtype", Some(json!([["a", "<f8"]]))),
        Edit::Set("/dtype", None),
        Edit::Set("/order", Some(json!("X"))),
        Edit::Set("/zarr_format", Some(json!(3))),
        Edit::Set("/fill_value", Some(json!("abc"))),
    ]
}

#[test]
fn lying_zarr_json_is_an_error_naming_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    for (i, edit) in v3_edits().iter().enumerate() {
        let path = seed(dir.path(), &format!("v3-{i}.zarr"), ZarrFormat::V3, false)?;
        assert_refused(&path, "zarr.json", "zarr.json", edit)?;
    }
    Ok(())
}

#[test]
fn lying_zarray_and_zattrs_are_errors_naming_them() -> TestResult {
    let dir = tempfile::tempdir()?;
    for (i, edit) in v2_edits().iter().enumerate() {
        let path = seed(dir.path(), &format!("v2-{i}.zarr"), ZarrFormat::V2, false)?;
        assert_refused(&path, ".zarray", ".zarray", edit)?;
    }
    for (i, text) in [&b"{oops"[..], b"[1]", b"\"x\""].into_iter().enumerate() {
        let path = seed(
            dir.path(),
            &format!("zattrs-{i}.zarr"),
            ZarrFormat::V2,
            false,
        )?;
        apply(&path.join(".zattrs"), &Edit::Text(text))?;
        let err = ZarrSource::open(&path).expect_err("a broken .zattrs is an error");
        assert!(chain(&err).contains(".zattrs"), "{}", chain(&err));
    }
    Ok(())
}

/// Shard layouts that cannot be: unaddressable shards, zero or mismatched inner chunks, an
/// index nowhere.
#[test]
fn lying_shard_shapes_are_errors_naming_zarr_json() -> TestResult {
    let dir = tempfile::tempdir()?;
    let edits = [
        Edit::Set(
            "/chunk_grid/configuration/chunk_shape",
            Some(json!([HUGE, HUGE])),
        ),
        Edit::Set("/codecs/0/configuration/chunk_shape", Some(json!([0, 10]))),
        Edit::Set("/codecs/0/configuration/chunk_shape", Some(json!([10]))),
        Edit::Set(
            "/codecs/0/configuration/index_location",
            Some(json!("middle")),
        ),
    ];
    for (i, edit) in edits.iter().enumerate() {
        let path = seed(
            dir.path(),
            &format!("sharded-{i}.zarr"),
            ZarrFormat::V3,
            true,
        )?;
        assert_refused(&path, "zarr.json", "zarr.json", edit)?;
    }
    Ok(())
}

/// Shards of 2^36 × 5 inner chunks have a 5 TiB index, which a read of one inner chunk
/// decodes: refused against the memory limit before anything is read.
#[test]
fn shard_indexes_larger_than_memory_are_refused_before_reading() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = seed(dir.path(), "sharded.zarr", ZarrFormat::V3, true)?;
    let shards = json!([10u64 << 36, 50]);
    apply(
        &path.join("zarr.json"),
        &Edit::Set("/chunk_grid/configuration/chunk_shape", Some(shards)),
    )?;
    let err = sum(&path).expect_err("a 5 TiB index does not fit");
    assert!(
        matches!(err, Error::PlanExceedsMemory { .. }),
        "{}",
        chain(&err)
    );
    Ok(())
}

/// An array of 100 elements in chunks of 2^40: zarrs decodes a chunk whole, 8 TiB, so
/// `x.sum()` and an export are refused against the memory limit before anything is read.
#[test]
fn chunks_far_larger_than_the_array_are_refused_before_reading() -> TestResult {
    let dir = tempfile::tempdir()?;
    for codec in [Codec::None, Codec::Zstd { level: 3 }] {
        let path = dir.path().join(format!("{codec}.zarr"));
        write(&path, &[100], &[100], &opts(ZarrFormat::V3, codec))?;
        apply(
            &path.join("zarr.json"),
            &Edit::Set(
                "/chunk_grid/configuration/chunk_shape",
                Some(json!([1u64 << 40])),
            ),
        )?;
        let err = sum(&path).expect_err("an 8 TiB chunk does not fit");
        assert!(
            matches!(err, Error::PlanExceedsMemory { .. }),
            "{}",
            chain(&err)
        );
        let x = Array::from_zarr(&path)?;
        let opts = ComputeOptions::default().with_memory_limit(LIMIT);
        let err = x
            .to_npy(&dir.path().join("x.npy"), true, &opts)
            .expect_err("nor does exporting it");
        assert!(
            matches!(err, Error::PlanExceedsMemory { .. }),
            "{}",
            chain(&err)
        );
    }
    Ok(())
}

/// Shapes whose grid has more chunks than the engine has task ids are refused when opened,
/// before any grid is built.
#[test]
fn arrays_of_too_many_chunks_are_refused_when_opened() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("many.zarr");
    Array::zeros(&[10], &[1], brickwork::DType::U8)?.to_zarr(&path, &WriteOptions::default())?;
    for (shape, chunks) in [([1u64 << 40], [1]), ([1 << 61], [7])] {
        apply(
            &path.join("zarr.json"),
            &Edit::Set("/shape", Some(json!(shape))),
        )?;
        apply(
            &path.join("zarr.json"),
            &Edit::Set("/chunk_grid/configuration/chunk_shape", Some(json!(chunks))),
        )?;
        let err = ZarrSource::open(&path).expect_err("too many chunks");
        assert!(chain(&err).contains("chunks"), "{}", chain(&err));
        assert_store_error(&err, &path, "zarr.json");
    }
    Ok(())
}
