//! Zarr round trips through the engine: to_zarr then from_zarr, computations over stores
//! (reads pushed down and culled), and zarr-python reading what brickwork wrote.

use std::path::Path;
use std::process::Command;

use brickwork::{Array, Axis, Block, Codec, ComputeOptions, DType, WriteOptions, s};

use crate::common::*;

fn opts(chunks: Option<Vec<usize>>, codec: Codec) -> WriteOptions {
    WriteOptions {
        chunks,
        codec,
        ..WriteOptions::default()
    }
}

#[test]
fn every_dtype_and_codec_round_trips() -> TestResult {
    let dir = tempfile::tempdir()?;
    let base = Array::random_normal(&[23, 17], &[10, 10], 4, 0.0, 50.0)?;
    let codecs = [
        Codec::None,
        Codec::default(),
        Codec::parse("gzip:6")?,
        Codec::parse("blosc:lz4")?,
        Codec::parse("blosc:zstd:5")?,
    ];
    for (i, dtype) in DType::ALL.into_iter().enumerate() {
        let x = base.astype(dtype)?;
        let want = x.compute()?;
        let codec = codecs[i % codecs.len()];
        let path = dir.path().join(format!("{dtype}.zarr"));
        x.to_zarr(&path, &opts(Some(vec![6, 5]), codec))?;
        let y = Array::from_zarr(&path)?;
        assert_eq!(y.dtype(), dtype);
        assert_eq!(y.chunks()?.max_chunk_shape(), vec![6, 5]);
        assert_eq!(compute_both(&y), want, "{dtype} with {codec}");
    }
    Ok(())
}

#[test]
fn computations_over_a_store_read_only_what_they_need() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("x.zarr");
    let x = Array::random(&[60, 60], &[60, 60], 7)?;
    x.to_zarr(&path, &opts(Some(vec![7, 9]), Codec::default()))?;
    let a = x.compute_as::<f64>()?;
    let z = Array::from_zarr(&path)?;
    let v = (&z + &z.t()).slice(s![..;2, 30..])?.mean_axis(Axis(1))?;
    let want = (&a + &a.t())
        .slice(s![..;2, 30..])
        .mean_axis(Axis(1))
        .unwrap()
        .into_dyn();
    assert_close(&compute_f64(&v), &want, "tutorial over a store");

    // A strided slice touches only the chunks holding selected rows.
    let sl = z.slice(s![..;14, ..])?;
    let (got, m) = sl.compute_with(&ComputeOptions::synchronous())?;
    assert_close(
        &got.into_typed(),
        &a.slice(s![..;14, ..]).to_owned().into_dyn(),
        "strided read",
    );
    let all_chunks = 60u64 * 60 * 8;
    assert!(
        m.bytes_read < all_chunks,
        "read {} of {all_chunks} bytes",
        m.bytes_read
    );
    Ok(())
}

#[test]
fn irregular_chunks_are_written_regular_and_existing_outputs_protected() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("sliced.zarr");
    let x = Array::random(&[50, 8], &[10, 8], 1)?.slice(s![3..;3, ..])?;
    x.to_zarr(&path, &WriteOptions::default())?;
    let y = Array::from_zarr(&path)?;
    assert_eq!(y.chunks()?.max_chunk_shape(), x.chunks()?.max_chunk_shape());
    assert_eq!(compute_both(&y), x.compute()?);
    let err = x
        .to_zarr(&path, &WriteOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("overwrite") && err.contains("sliced.zarr"),
        "{err}"
    );
    let doubled = &y * 2.0;
    let err = doubled
        .to_zarr(
            &path,
            &WriteOptions {
                overwrite: true,
                ..WriteOptions::default()
            },
        )
        .expect_err("overwriting the array being read must not silently corrupt it")
        .to_string();
    assert!(err.contains("reads from"), "{err}");
    assert_eq!(compute_both(&y), x.compute()?, "the input is intact");
    Ok(())
}

#[test]
fn visualize_writes_graphviz() -> TestResult {
    let dir = tempfile::tempdir()?;
    let x = Array::random(&[20, 20], &[10, 10], 0)?;
    let small = dir.path().join("small.dot");
    (&x + &x.t()).sum()?.visualize(&small)?;
    let dot = std::fs::read_to_string(&small)?;
    assert!(
        dot.starts_with("digraph") && dot.contains("sum-partial") && dot.contains("->"),
        "{dot}"
    );
    let big = dir.path().join("big.dot");
    Array::random(&[1000, 1000], &[10, 10], 0)?
        .mean()?
        .visualize(&big)?;
    let dot = std::fs::read_to_string(&big)?;
    assert!(
        dot.contains("10000 blocks"),
        "stage-level graph expected: {dot}"
    );
    Ok(())
}

#[test]
fn zarr_python_reads_what_brickwork_writes() -> TestResult {
    let Some(python) = peer_python() else {
        return Ok(());
    };
    let checker = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_zarr.py");
    let dir = tempfile::tempdir()?;
    let base = Array::random_normal(&[19, 13], &[19, 13], 2, 0.0, 40.0)?;
    let codecs = ["none", "zstd", "gzip", "blosc:lz4", "blosc:zstd"];
    for (i, dtype) in DType::ALL.into_iter().enumerate() {
        let x = base.astype(dtype)?;
        let store = dir.path().join(format!("{dtype}.zarr"));
        let npy = dir.path().join(format!("{dtype}.npy"));
        x.to_zarr(
            &store,
            &opts(Some(vec![5, 4]), Codec::parse(codecs[i % codecs.len()])?),
        )?;
        crate::common::write_npy(&npy, &x.compute()?)?;
        let out = Command::new(&python)
            .arg(&checker)
            .arg(&store)
            .arg(&npy)
            .output()?;
        assert!(
            out.status.success(),
            "zarr-python disagrees on {dtype}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let zero_d = dir.path().join("scalar.zarr");
    let s = base.sum()?;
    s.to_zarr(&zero_d, &WriteOptions::default())?;
    let npy = dir.path().join("scalar.npy");
    crate::common::write_npy(&npy, &s.compute()?)?;
    let out = Command::new(&python)
        .arg(&checker)
        .arg(&zero_d)
        .arg(&npy)
        .output()?;
    assert!(
        out.status.success(),
        "0-d: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = Block::zeros(DType::Bool, &[]);
    Ok(())
}
