//! Writing into a region of an existing Zarr array (`Array::to_zarr_region`): the region
//! holds the array's values afterwards and everything outside it is untouched, for regions
//! that are not aligned to the chunks, ragged chunkings, v2, sharded and uncompressed
//! targets, both schedulers and tight memory limits; errors name what was wrong.

use std::ops::Range;
use std::path::Path;
use std::process::Command;

use brickwork::store::ZarrFormat;
use brickwork::{Array, Codec, ComputeOptions, DType, Error, WriteOptions};
use ndarray::{ArrayD, SliceInfoElem};

use crate::common::{TestResult, assert_close, data, peer_python, write_npy};

fn schedulers() -> [ComputeOptions; 2] {
    [ComputeOptions::synchronous(), ComputeOptions::threads(3)]
}

fn slice_info(region: &[Range<usize>]) -> Vec<SliceInfoElem> {
    region
        .iter()
        .map(|r| SliceInfoElem::Slice {
            start: r.start as isize,
            end: Some(r.end as isize),
            step: 1,
        })
        .collect()
}

/// `base` with `values` assigned into `region`.
fn assigned(base: &ArrayD<f64>, region: &[Range<usize>], values: &ArrayD<f64>) -> ArrayD<f64> {
    let mut want = base.clone();
    want.slice_mut(slice_info(region).as_slice()).assign(values);
    want
}

/// A target array at `path` holding `base`.
fn target(path: &Path, base: &ArrayD<f64>, opts: &WriteOptions) -> Result<(), Error> {
    let chunks = opts.chunks.clone().unwrap_or_else(|| base.shape().to_vec());
    Array::from_ndarray(base.clone(), &chunks)?.to_zarr(path, opts)?;
    Ok(())
}

fn region_of(starts: &[usize], shape: &[usize]) -> Vec<Range<usize>> {
    starts.iter().zip(shape).map(|(&s, &n)| s..s + n).collect()
}

#[test]
fn regions_not_aligned_to_chunks_hold_the_values_and_nothing_else_changes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let shape = [29, 23];
    let base = data(&shape, 1);
    let layouts: Vec<(&str, WriteOptions)> = vec![
        (
            "v3 zstd 7x5",
            WriteOptions {
                chunks: Some(vec![7, 5]),
                ..WriteOptions::default()
            },
        ),
        (
            "v3 raw 10x23",
            WriteOptions {
                chunks: Some(vec![10, 23]),
                codec: Codec::None,
                ..WriteOptions::default()
            },
        ),
        (
            "v2 blosc 6x6",
            WriteOptions {
                chunks: Some(vec![6, 6]),
                codec: Codec::Blosc {
                    cname: brickwork::store::BloscCname::Lz4,
                    level: 5,
                },
                zarr_format: ZarrFormat::V2,
                ..WriteOptions::default()
            },
        ),
        (
            "v3 sharded 3x4 in 9x8",
            WriteOptions {
                chunks: Some(vec![3, 4]),
                shards: Some(vec![9, 8]),
                ..WriteOptions::default()
            },
        ),
    ];
    // (region start, region shape, the values' own chunks)
    let cases: [([usize; 2], [usize; 2], [usize; 2]); 5] = [
        ([3, 2], [17, 13], [4, 5]),
        ([0, 0], [29, 23], [11, 7]),
        ([7, 5], [14, 10], [14, 10]),
        ([28, 22], [1, 1], [1, 1]),
        ([5, 0], [20, 23], [3, 23]),
    ];
    for (name, opts) in &layouts {
        for (k, (start, rshape, vchunks)) in cases.iter().enumerate() {
            let values = data(rshape, 100 + k as u64);
            let region = region_of(start, rshape);
            let want = assigned(&base, &region, &values);
            for (s, sched) in schedulers().iter().enumerate() {
                let path = dir
                    .path()
                    .join(format!("t-{k}-{s}-{}.zarr", name.replace(' ', "_")));
                target(&path, &base, opts)?;
                let x = Array::from_ndarray(values.clone(), vchunks)?;
                x.to_zarr_region_with(&path, &region, &WriteOptions::default(), sched)?;
                let got = Array::from_zarr(&path)?.compute_as::<f64>()?;
                assert_close(&got, &want, &format!("{name}, region {region:?}"));
                let got_bits: Vec<u64> = got.iter().map(|v| v.to_bits()).collect();
                let want_bits: Vec<u64> = want.iter().map(|v| v.to_bits()).collect();
                assert!(got_bits == want_bits, "{name}: not bit-exact");
            }
        }
    }
    Ok(())
}

#[test]
fn lazy_expressions_3d_and_missing_chunks() -> TestResult {
    // A target never written (all fill value, no chunk objects) receives a computed
    // expression in a 3-d region; chunks outside stay missing and read as fill.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("z.zarr");
    Array::zeros(&[12, 10, 9], &[5, 4, 4], DType::F64)?.to_zarr(&path, &WriteOptions::default())?;
    let x = Array::random(&[6, 7, 5], &[4, 3, 5], 9)?;
    let y = (&x * 3.0 - 1.0).abs()?;
    let region = region_of(&[4, 1, 3], &[6, 7, 5]);
    for sched in schedulers() {
        y.to_zarr_region_with(&path, &region, &WriteOptions::default(), &sched)?;
        let want = assigned(
            &ArrayD::zeros(vec![12, 10, 9]),
            &region,
            &y.compute_as::<f64>()?,
        );
        assert_close(&Array::from_zarr(&path)?.compute_as::<f64>()?, &want, "3-d");
    }
    // Chunk (0, 2, 0) lies outside the region: never stored.
    assert!(!path.join("c/0/2/0").exists());
    assert!(path.join("c/1/0/0").exists());
    // 0-d: the region is empty (no axes) and the whole array is written.
    let p0 = dir.path().join("s.zarr");
    Array::zeros(&[], &[], DType::F32)?.to_zarr(&p0, &WriteOptions::default())?;
    Array::random(&[4], &[2], 1)?
        .sum()?
        .to_zarr_region(&p0, &[], &WriteOptions::default())?;
    let s = Array::from_zarr(&p0)?.compute_as::<f32>()?;
    let want = Array::random(&[4], &[2], 1)?.sum()?.compute_as::<f64>()?;
    assert!((f64::from(s[[]]) - want[[]]).abs() < 1e-5, "{s} vs {want}");
    // An empty region writes nothing.
    Array::zeros(&[0, 10, 9], &[1, 9, 9], DType::F64)?.to_zarr_region(
        &path,
        &[3..3, 0..10, 0..9],
        &WriteOptions::default(),
    )?;
    Ok(())
}

#[test]
fn dtypes_cast_by_numpys_same_kind_rule() -> TestResult {
    let dir = tempfile::tempdir()?;
    let values = data(&[4, 6], 3);
    let x = Array::from_ndarray(values.clone(), &[3, 4])?;
    let region = [2..6, 1..7];
    // float64 into float32.
    let p = dir.path().join("f32.zarr");
    Array::zeros(&[8, 8], &[3, 3], DType::F32)?.to_zarr(&p, &WriteOptions::default())?;
    x.to_zarr_region(&p, &region, &WriteOptions::default())?;
    let got = Array::from_zarr(&p)?.compute_as::<f32>()?;
    let want = assigned(&ArrayD::zeros(vec![8, 8]), &region, &values).mapv(|v| v as f32);
    assert_eq!(got, want);
    // int16 into int64 and into float64.
    let ints = x.astype(DType::I16)?;
    let p = dir.path().join("i64.zarr");
    Array::zeros(&[8, 8], &[5, 5], DType::I64)?.to_zarr(&p, &WriteOptions::default())?;
    ints.to_zarr_region(&p, &region, &WriteOptions::default())?;
    let got = Array::from_zarr(&p)?.compute_as::<i64>()?;
    let want = assigned(
        &ArrayD::zeros(vec![8, 8]),
        &region,
        &values.mapv(|v| v.trunc()),
    );
    assert_eq!(got.mapv(|v| v as f64), want);
    // float into int, signed into unsigned, anything into bool: refused, naming both dtypes.
    for (from, to) in [
        (DType::F64, DType::I64),
        (DType::I8, DType::U8),
        (DType::U8, DType::Bool),
    ] {
        let p = dir.path().join(format!("{to}.zarr"));
        Array::zeros(&[8, 8], &[4, 4], to)?.to_zarr(&p, &WriteOptions::default())?;
        let err = x
            .astype(from)?
            .to_zarr_region(&p, &region, &WriteOptions::default())
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&from.to_string())
                && msg.contains(&to.to_string())
                && msg.contains("astype"),
            "{msg}"
        );
    }
    Ok(())
}

#[test]
// A one-axis region and a reversed one are the mistakes under test.
#[allow(clippy::single_range_in_vec_init, clippy::reversed_empty_ranges)]
fn errors_name_the_path_the_shapes_and_the_region() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = dir.path().join("t.zarr");
    Array::zeros(&[10, 20], &[4, 4], DType::F64)?.to_zarr(&p, &WriteOptions::default())?;
    let x = Array::zeros(&[5, 5], &[2, 2], DType::F64)?;
    let w = WriteOptions::default();
    let check = |err: Error, parts: &[&str]| {
        let msg = err.to_string();
        for part in parts {
            assert!(msg.contains(part), "{part:?} missing from: {msg}");
        }
    };
    check(
        x.to_zarr_region(&p, &[0..5], &w).unwrap_err(),
        &["t.zarr", "(10, 20)", "[0..5]", "1 axis(es)", "has 2"],
    );
    check(
        x.to_zarr_region(&p, &[8..13, 0..5], &w).unwrap_err(),
        &["t.zarr", "(10, 20)", "[8..13, 0..5]", "axis 0 ends at 13"],
    );
    check(
        x.to_zarr_region(&p, &[6..5, 0..5], &w).unwrap_err(),
        &["axis 0 starts at 6"],
    );
    check(
        x.to_zarr_region(&p, &[0..5, 0..6], &w).unwrap_err(),
        &["t.zarr", "(5, 5)", "(5, 6)", "[0..5, 0..6]"],
    );
    let missing = dir.path().join("nothing.zarr");
    let err = x.to_zarr_region(&missing, &[0..5, 0..5], &w).unwrap_err();
    assert!(matches!(err, Error::Store { .. }), "{err}");
    check(err, &["nothing.zarr"]);
    let over = WriteOptions {
        overwrite: true,
        ..WriteOptions::default()
    };
    check(
        x.to_zarr_region(&p, &[0..5, 0..5], &over).unwrap_err(),
        &["overwrite", "t.zarr"],
    );
    let chunks = WriteOptions {
        chunks: Some(vec![5, 5]),
        ..WriteOptions::default()
    };
    check(
        x.to_zarr_region(&p, &[0..5, 0..5], &chunks).unwrap_err(),
        &["(5, 5)", "(4, 4)"],
    );
    // The computation reads the target.
    let t = Array::from_zarr(&p)?;
    check(
        t.slice(brickwork::s![..5, ..5])?
            .to_zarr_region(&p, &[5..10, 0..5], &w)
            .unwrap_err(),
        &["reads from"],
    );
    // A deferred error.
    let bad = &x + &Array::zeros(&[3], &[1], DType::F64)?;
    assert!(bad.to_zarr_region(&p, &[0..5, 0..5], &w).is_err());
    Ok(())
}

#[test]
fn memory_limit_counts_read_modify_write_buffers() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = dir.path().join("t.zarr");
    let base = data(&[60, 60], 4);
    target(
        &p,
        &base,
        &WriteOptions {
            chunks: Some(vec![16, 16]), // 2 KiB chunks
            ..WriteOptions::default()
        },
    )?;
    let values = data(&[45, 37], 5);
    let region = region_of(&[7, 11], &[45, 37]);
    let want = assigned(&base, &region, &values);
    let x = Array::from_ndarray(values, &[9, 8])?;
    for sched in schedulers() {
        let opts = sched.with_memory_limit(48 * 1024);
        let m = x.to_zarr_region_with(&p, &region, &WriteOptions::default(), &opts)?;
        assert!(m.peak_reserved_bytes <= 48 * 1024, "{m}");
        // The reservations include the chunk buffers: a partial chunk reserves 4 chunks.
        assert!(m.predicted_peak_bytes >= 4 * 2048, "{m}");
        assert_close(
            &Array::from_zarr(&p)?.compute_as::<f64>()?,
            &want,
            "limited",
        );
    }
    // A limit below one chunk's read-modify-write is refused before anything is written.
    let err = x
        .to_zarr_region_with(
            &p,
            &region,
            &WriteOptions::default(),
            &ComputeOptions::synchronous().with_memory_limit(6 * 1024),
        )
        .unwrap_err();
    assert!(matches!(err, Error::PlanExceedsMemory { .. }), "{err}");
    Ok(())
}

#[test]
fn rows_into_a_column_chunked_region_go_through_an_intermediate_under_a_limit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let p = dir.path().join("cols.zarr");
    let base = data(&[280, 280], 6);
    target(
        &p,
        &base,
        &WriteOptions {
            chunks: Some(vec![280, 16]),
            codec: Codec::None,
            ..WriteOptions::default()
        },
    )?;
    let rows = dir.path().join("rows.zarr");
    let values = data(&[256, 256], 7);
    Array::from_ndarray(values.clone(), &[8, 256])?.to_zarr(
        &rows,
        &WriteOptions {
            codec: Codec::None,
            ..WriteOptions::default()
        },
    )?;
    let region = region_of(&[12, 20], &[256, 256]);
    let opts = ComputeOptions::synchronous().with_memory_limit(384 * 1024);
    let m = Array::from_zarr(&rows)?.to_zarr_region_with(
        &p,
        &region,
        &WriteOptions::default(),
        &opts,
    )?;
    assert!(m.peak_reserved_bytes <= 384 * 1024, "{m}");
    assert_close(
        &Array::from_zarr(&p)?.compute_as::<f64>()?,
        &assigned(&base, &region, &values),
        "via intermediate",
    );
    // No temporary directory is left beside the target.
    let left: Vec<_> = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".brickwork"))
        .collect();
    assert!(left.is_empty());
    Ok(())
}

#[test]
fn zarr_python_reads_what_a_region_write_leaves_and_its_own_arrays_take_regions() -> TestResult {
    let Some(python) = peer_python() else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    // zarr-python creates the targets (v3 with zstd, v2 with its default compressor).
    let make = r#"
import sys, zarr, numpy as np
d = sys.argv[1]
base = np.arange(30 * 26, dtype="float64").reshape(30, 26) / 7
a = zarr.create_array(store=d + "/v3.zarr", shape=(30, 26), chunks=(8, 7), dtype="float64", zarr_format=3)
a[...] = base
b = zarr.create_array(store=d + "/v2.zarr", shape=(30, 26), chunks=(9, 9), dtype="float32", zarr_format=2)
b[...] = base.astype("float32")
np.save(d + "/base.npy", base)
"#;
    let out = Command::new(&python)
        .arg("-c")
        .arg(make)
        .arg(dir.path())
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = ArrayD::from_shape_fn(vec![30, 26], |ix| (ix[0] * 26 + ix[1]) as f64 / 7.0);
    let values = data(&[19, 13], 8);
    let region = region_of(&[5, 6], &[19, 13]);
    let x = Array::from_ndarray(values.clone(), &[6, 5])?;
    for name in ["v3.zarr", "v2.zarr"] {
        x.to_zarr_region(dir.path().join(name), &region, &WriteOptions::default())?;
    }
    let want = assigned(&base, &region, &values);
    write_npy(&dir.path().join("want.npy"), &brickwork::Block::from(want))?;
    let check = r#"
import sys, zarr, numpy as np
d = sys.argv[1]
want = np.load(d + "/want.npy")
a = zarr.open_array(d + "/v3.zarr", mode="r")[...]
b = zarr.open_array(d + "/v2.zarr", mode="r")[...]
assert a.dtype == np.float64 and np.array_equal(a, want), "v3 differs"
assert b.dtype == np.float32 and np.array_equal(b, want.astype("float32")), "v2 differs"
print("ok")
"#;
    let out = Command::new(&python)
        .arg("-c")
        .arg(check)
        .arg(dir.path())
        .output()?;
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "ok",
        "zarr-python: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
