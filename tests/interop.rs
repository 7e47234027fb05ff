//! Interoperability: every array that zarr-python writes in the fixture set of
//! `tests/python/make_fixtures.py` (generated into `target/`, see `zarr_python_fixtures`) reads
//! back exactly (NaN-aware) through `ZarrSource`, whole, chunk by chunk and by region.

use std::path::Path;

use brickwork::store::ZarrSource;
use brickwork::{Block, BlockElement, DType, dispatch_block};
use ndarray::{ArrayD, SliceInfoElem};

use crate::common::{chain, zarr_python_fixtures};

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Entry {
    path: String,
    zarr_format: u8,
    dtype: DType,
    shape: Vec<usize>,
    chunks: Vec<usize>,
    expected: String,
}

fn usizes(v: &serde_json::Value) -> Vec<usize> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|x| x.as_u64().expect("an integer") as usize)
        .collect()
}

/// The arrays listed in the fixture folder `dir`.
fn manifest(dir: &Path) -> Result<Vec<Entry>, Box<dyn std::error::Error>> {
    let file = dir.join("manifest.json");
    let text = std::fs::read_to_string(&file).map_err(|e| {
        format!(
            "{}: {e} (made by tests/python/make_fixtures.py, or BRICKWORK_FIXTURES if set)",
            file.display()
        )
    })?;
    let json: serde_json::Value = serde_json::from_str(&text)?;
    let entries = json.as_array().ok_or("manifest.json is not a list")?;
    entries
        .iter()
        .map(|e| {
            let dtype_name = e["dtype"].as_str().ok_or("dtype")?;
            Ok(Entry {
                path: e["path"].as_str().ok_or("path")?.to_owned(),
                zarr_format: e["zarr_format"].as_u64().ok_or("zarr_format")? as u8,
                dtype: DType::from_name(dtype_name)
                    .ok_or_else(|| format!("unknown dtype {dtype_name} in the manifest"))?,
                shape: usizes(&e["shape"]),
                chunks: usizes(&e["chunks"]),
                expected: e["expected"].as_str().ok_or("expected")?.to_owned(),
            })
        })
        .collect()
}

/// Reads a `.npy` file (any byte order, bool included) as a block of `dtype`.
fn read_expected(file: &Path, dtype: DType) -> Result<Block, Box<dyn std::error::Error>> {
    crate::common::read_npy(file, dtype).map_err(|e| format!("{}: {e}", file.display()).into())
}

/// Exact equality of dtype, shape and values, with NaN equal to NaN.
fn same(a: &Block, b: &Block) -> bool {
    if a.dtype() != b.dtype() || a.shape() != b.shape() {
        return false;
    }
    dispatch_block!(a, x => same_typed(x, b))
}

fn same_typed<T: BlockElement>(x: &ArrayD<T>, b: &Block) -> bool {
    let Some(y) = T::view(b) else { return false };
    #[allow(clippy::eq_op)]
    x.iter()
        .zip(y.iter())
        .all(|(p, q)| p == q || (p != p && q != q))
}

fn slice(block: &Block, start: &[usize], shape: &[usize]) -> Block {
    let info: Vec<SliceInfoElem> = start
        .iter()
        .zip(shape)
        .map(|(&s, &n)| SliceInfoElem::Slice {
            start: s as isize,
            end: Some((s + n) as isize),
            step: 1,
        })
        .collect();
    dispatch_block!(block, a => BlockElement::wrap(a.slice(info.as_slice()).to_owned()))
}

#[test]
fn every_fixture_reads_exactly() -> TestResult {
    let Some(dir) = zarr_python_fixtures()? else {
        return Ok(());
    };
    let entries = manifest(&dir)?;
    assert!(
        entries.len() >= 50,
        "only {} fixtures listed",
        entries.len()
    );
    let mut failures = Vec::new();
    for e in &entries {
        let src = ZarrSource::open(&dir.join(&e.path))?;
        let expected = read_expected(&dir.join(&e.expected), e.dtype)?;
        let name = &e.path;
        assert_eq!(src.zarr_format(), e.zarr_format, "{name}: zarr format");
        assert_eq!(src.dtype(), e.dtype, "{name}: dtype");
        assert_eq!(src.shape(), e.shape.as_slice(), "{name}: shape");
        assert_eq!(
            src.chunk_shape(),
            e.chunks.as_slice(),
            "{name}: chunk shape"
        );
        assert_eq!(
            expected.shape(),
            e.shape.as_slice(),
            "{name}: expected .npy shape"
        );
        let all = src.read_all()?;
        if !same(&all, &expected) {
            failures.push(format!("{name}: read_all differs"));
            continue;
        }
        assert!(
            dispatch_block!(&all, a => a.is_standard_layout()),
            "{name}: read_all is not in standard layout"
        );
        // Every chunk, including ragged edge chunks and chunks never written.
        let grid = brickwork::ChunkGrid::regular(src.shape(), src.chunk_shape());
        for b in 0..grid.nblocks() {
            let idx = grid.unlinear(b);
            let region = grid.region(&idx);
            let chunk = src.read_chunk(&idx)?;
            if !same(&chunk, &slice(&expected, &region.start, &region.shape)) {
                failures.push(format!("{name}: chunk {idx:?} differs"));
            }
        }
        // A region straddling chunk boundaries.
        let start: Vec<usize> = e.shape.iter().map(|&n| n / 3).collect();
        let shape: Vec<usize> = e.shape.iter().map(|&n| n - n / 3 - n / 4).collect();
        if !same(
            &src.read_region(&start, &shape)?,
            &slice(&expected, &start, &shape),
        ) {
            failures.push(format!("{name}: region {start:?} {shape:?} differs"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn chunks_never_written_read_as_fill_value() -> TestResult {
    let Some(dir) = zarr_python_fixtures()? else {
        return Ok(());
    };
    // Only c/0/1 and c/1/0 of the 3x2 chunks exist; the others read as 42.
    let path = dir.join("v3_missing_chunks_fill42.zarr");
    assert!(!path.join("c/0/0").exists());
    let src = ZarrSource::open(&path)?;
    let chunk = src.read_chunk(&[0, 0])?;
    assert_eq!(chunk.shape(), &[10, 10]);
    assert!(BlockElement::view(&chunk).is_some_and(|a: &ArrayD<i32>| a.iter().all(|&v| v == 42)));
    let written = src.read_chunk(&[0, 1])?;
    assert!(BlockElement::view(&written).is_some_and(|a: &ArrayD<i32>| a.iter().any(|&v| v != 42)));

    let src = ZarrSource::open(&dir.join("v3_missing_chunks_nan.zarr"))?;
    let grid = brickwork::ChunkGrid::regular(src.shape(), src.chunk_shape());
    let mut nan_chunks = 0;
    for b in 0..grid.nblocks() {
        let chunk = src.read_chunk(&grid.unlinear(b))?;
        let a: &ArrayD<f64> = BlockElement::view(&chunk).ok_or("float64")?;
        if a.iter().all(|v| v.is_nan()) {
            nan_chunks += 1;
        }
    }
    assert!(
        nan_chunks > 0,
        "some chunks of v3_missing_chunks_nan are never written"
    );
    Ok(())
}

#[test]
fn ragged_and_sharded_chunks() -> TestResult {
    let Some(dir) = zarr_python_fixtures()? else {
        return Ok(());
    };
    // 51x37 in inner chunks 5x7 (shards 20x14): the last inner chunk is 1x2.
    let src = ZarrSource::open(&dir.join("v3_i4_sharded_zstd_ragged.zarr"))?;
    let expected = read_expected(&dir.join("v3_i4_sharded_zstd_ragged.npy"), DType::I32)?;
    assert_eq!(src.chunk_shape(), &[5, 7]);
    assert_eq!(src.shard_shape(), Some(&[20, 14][..]));
    let last = src.read_chunk(&[10, 5])?;
    assert_eq!(last.shape(), &[1, 2]);
    assert!(same(&last, &slice(&expected, &[50, 35], &[1, 2])));
    assert!(src.read_chunk(&[11, 0]).is_err());

    // A chunk larger than the array is one chunk, clipped.
    let src = ZarrSource::open(&dir.join("v3_one_chunk_bigger.zarr"))?;
    assert_eq!(src.read_chunk(&[0, 0])?.shape(), &[5, 3]);

    // 0-d.
    let src = ZarrSource::open(&dir.join("v3_0d_f8.zarr"))?;
    let expected = read_expected(&dir.join("v3_0d_f8.npy"), DType::F64)?;
    assert!(same(&src.read_chunk(&[])?, &expected));
    Ok(())
}

#[test]
fn attributes_of_arrays_in_a_group() -> TestResult {
    let Some(dir) = zarr_python_fixtures()? else {
        return Ok(());
    };
    for group in ["group_v3.zarr", "group_v2.zarr"] {
        for name in ["top", "level1/inner"] {
            let src = ZarrSource::open(&dir.join(group).join(name))?;
            assert_eq!(src.attributes()["long_name"], format!("array {name}"));
        }
    }
    Ok(())
}

#[test]
fn open_errors_name_the_path() -> TestResult {
    let Some(dir) = zarr_python_fixtures()? else {
        return Ok(());
    };
    let err = chain(&ZarrSource::open(&dir.join("does_not_exist.zarr")).unwrap_err());
    assert!(err.contains("does_not_exist.zarr"), "{err}");
    assert!(err.contains("No such file"), "{err}");

    let err = ZarrSource::open(&dir.join("group_v3.zarr"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("group_v3.zarr"), "{err}");
    assert!(err.contains("group"), "{err}");
    assert!(matches!(
        ZarrSource::open(&dir.join("group_v3.zarr")),
        Err(brickwork::Error::Store { .. })
    ));

    let err = ZarrSource::open(&dir.join("manifest.json"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("manifest.json"), "{err}");
    assert!(err.contains("not a Zarr array"), "{err}");

    let tmp = tempfile::tempdir()?;
    let err = ZarrSource::open(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("not a Zarr array"), "{err}");
    Ok(())
}
