//! Azure Blob Storage (Azurite, from npm) and Google Cloud Storage (gcp-storage-emulator,
//! from PyPI, with object_server.py's XML API) through the same checks: arrays written and
//! read back with the Rust API in each layout, the CLI's import, info, rechunk, eval and
//! export on URLs, resume, zarr-python (obstore) reading what brickwork wrote and the
//! reverse, and errors that name the URL and never the key. One emulator per test, started
//! once (Azurite takes a few seconds to start).

use std::path::Path;
use std::process::Command;

use brickwork::store::{StorageOptions, ZarrFormat, ZarrSource};
use brickwork::{Array, Codec, WriteOptions};
use ndarray::ArrayD;

use super::{AZURE_KEY, Server, read_options, values, write_options};
use crate::common::{TestResult, brickwork_exe, chain, compute_f64, peer_python};

/// Arrays in each layout through the Rust API: written, read back, summed, complete.
fn rust_round_trips(base: &str, storage: &StorageOptions) -> TestResult {
    let x = Array::random(&[37, 23], &[8, 5], 7)?;
    let want = compute_f64(&x);
    let layouts = [
        ("zstd", WriteOptions::default()),
        (
            "sharded",
            WriteOptions {
                shards: Some(vec![16, 10]),
                ..WriteOptions::default()
            },
        ),
        (
            "v2",
            WriteOptions {
                zarr_format: ZarrFormat::V2,
                codec: Codec::Gzip { level: 5 },
                ..WriteOptions::default()
            },
        ),
    ];
    for (name, layout) in layouts {
        let url = format!("{base}/round/{name}.zarr");
        let opts = WriteOptions {
            storage: storage.clone(),
            ..layout
        };
        x.to_zarr(&url, &opts)?;
        let back = Array::from_zarr_with(&url, &read_options(storage))?;
        assert_eq!(compute_f64(&back), want, "{url}");
        let source = ZarrSource::open_with(Path::new(&url), &read_options(storage))?;
        let stored = source.stored_objects()?;
        assert_eq!(stored.count, stored.expected, "{url}: every chunk stored");
        assert!(!source.is_incomplete_write(), "{url}");
        // Written again with --resume: complete, nothing to do; without: refused.
        let resume = WriteOptions {
            resume: true,
            ..opts.clone()
        };
        x.to_zarr(&url, &resume)?;
        let again = x.to_zarr(&url, &opts).err().ok_or("overwrote")?;
        assert!(chain(&again).contains("--overwrite"), "{}", chain(&again));
    }
    Ok(())
}

/// A 6 MiB chunk sent as a multipart upload of two parts (GCS: the XML API's; Azure:
/// blocks and a block list), read back whole.
fn large_object(base: &str, storage: &StorageOptions) -> TestResult {
    let storage = storage
        .clone()
        .with("multipart_threshold", "5MiB")
        .with("multipart_part_size", "5MiB");
    let x = Array::random(&[1024, 768], &[1024, 768], 5)?;
    let url = format!("{base}/big/a.zarr");
    let opts = WriteOptions {
        codec: Codec::None,
        ..write_options(&storage)
    };
    let before = brickwork::store::request_counts();
    x.to_zarr(&url, &opts)?;
    let after = brickwork::store::request_counts();
    assert!(after.posts > before.posts, "{before:?} {after:?}");
    let back = Array::from_zarr_with(&url, &read_options(&storage))?;
    assert_eq!(compute_f64(&back), compute_f64(&x), "{url}");
    Ok(())
}

/// The CLI on URLs of the store: import, info, rechunk to shards, eval, export.
fn cli_round_trip(base: &str, options: &[String], secret: &str) -> TestResult {
    let dir = tempfile::tempdir()?;
    let npy = dir.path().join("x.npy");
    let data = values(&[12, 10], 0.5);
    ndarray_npy::write_npy(&npy, &data)?;
    let run = |args: &[&str]| -> Result<String, Box<dyn std::error::Error>> {
        let mut cmd = Command::new(brickwork_exe());
        cmd.args(args);
        for o in options {
            cmd.args(["--storage-option", o]);
        }
        let out = cmd.output()?;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains(secret), "{stderr}");
        if !out.status.success() {
            return Err(format!("brickwork {args:?}: {stderr}").into());
        }
        Ok(String::from_utf8(out.stdout)?)
    };
    let (x, y, z) = (
        format!("{base}/cli/x.zarr"),
        format!("{base}/cli/y.zarr"),
        format!("{base}/cli/z.zarr"),
    );
    let npy_s = npy.to_str().ok_or("path")?;
    run(&["import", npy_s, &x, "--chunks", "5,4", "-q"])?;
    let info: serde_json::Value = serde_json::from_str(&run(&["info", &x, "--json"])?)?;
    assert_eq!(info["shape"], serde_json::json!([12, 10]));
    assert_eq!(info["chunks_stored"], serde_json::json!(9));
    run(&[
        "rechunk", &x, &y, "--chunks", "4,2", "--shards", "12,4", "-q",
    ])?;
    let input = format!("x={y}");
    run(&["eval", "-i", &input, "x * 2", "--output", &z, "-q"])?;
    let back = dir.path().join("z.npy");
    run(&["export", &z, back.to_str().ok_or("path")?, "-q"])?;
    let got: ArrayD<f64> = ndarray_npy::read_npy(&back)?;
    assert_eq!(got, &data * 2.0);
    Ok(())
}

/// zarr-python (through obstore) writes fixtures brickwork reads, and reads what brickwork
/// writes: v2, v3, sharded, compressed, ragged.
fn zarr_python_both_ways(
    kind: &str,
    endpoint: &str,
    bucket: &str,
    base: &str,
    storage: &StorageOptions,
) -> TestResult {
    let Some(python) = peer_python() else {
        return Ok(());
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/cloud_zarr.py");
    let run = |args: &[&str]| -> Result<String, Box<dyn std::error::Error>> {
        let out = Command::new(&python).arg(&script).args(args).output()?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(format!("cloud_zarr.py {args:?}: {err}").into());
        }
        Ok(String::from_utf8(out.stdout)?)
    };
    run(&["write", kind, endpoint, bucket, "zp"])?;
    let fixtures: [(&str, &[usize], f64); 4] = [
        ("v3_zstd_int32", &[13, 9], 3.0),
        ("v3_sharded_ragged", &[17, 13], 1.5),
        ("v2_zlib_f64", &[9, 11], 2.0),
        ("v2_blosc_u16", &[12, 5], 1.0),
    ];
    for (name, shape, scale) in fixtures {
        let a = Array::from_zarr_with(format!("{base}/zp/{name}"), &read_options(storage))?;
        assert_eq!(compute_f64(&a), values(shape, scale), "{kind} {name}");
    }
    let data = values(&[16, 13], 0.75);
    let sharded = WriteOptions {
        shards: Some(vec![8, 6]),
        ..write_options(storage)
    };
    Array::from_ndarray(data.clone(), &[4, 3])?.to_zarr(format!("{base}/bw/sharded"), &sharded)?;
    let v2 = WriteOptions {
        zarr_format: ZarrFormat::V2,
        ..write_options(storage)
    };
    Array::from_ndarray(data.clone(), &[5, 5])?.to_zarr(format!("{base}/bw/v2"), &v2)?;
    let read: serde_json::Value = serde_json::from_str(&run(&[
        "read", kind, endpoint, bucket, "bw", "sharded", "v2",
    ])?)?;
    for name in ["sharded", "v2"] {
        let got: Vec<f64> = read[name]["data"]
            .as_array()
            .ok_or("data")?
            .iter()
            .filter_map(serde_json::Value::as_f64)
            .collect();
        assert_eq!(
            got,
            data.clone().into_raw_vec_and_offset().0,
            "{kind} {name}"
        );
    }
    Ok(())
}

/// The options as `--storage-option` arguments.
fn as_arguments(storage: &StorageOptions) -> Vec<String> {
    storage.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

#[test]
fn azure_blob_storage_round_trips_on_azurite() -> TestResult {
    let Some(server) = Server::azure(&["brick"])? else {
        return Ok(());
    };
    let storage = server.options();
    rust_round_trips("az://brick", &storage)?;
    large_object("az://brick", &storage)?;
    cli_round_trip("az://brick", &as_arguments(&storage), AZURE_KEY)?;
    zarr_python_both_ways("azure", &server.endpoint(), "brick", "az://brick", &storage)?;
    // A missing container, a wrong key: errors naming the URL, never the key.
    let x = Array::random(&[4, 4], &[2, 2], 0)?;
    let err = x
        .to_zarr("az://no-such-container/a.zarr", &write_options(&storage))
        .err()
        .ok_or("wrote")?;
    let msg = chain(&err);
    assert!(
        msg.contains("az://no-such-container/a.zarr") && msg.contains("no container"),
        "{msg}"
    );
    let wrong = storage
        .clone()
        .with("access_key", "d3JvbmcgYnV0IHdlbGwtZm9ybWVkIGtleQ==");
    let err = Array::from_zarr_with("az://brick/round/zstd.zarr", &read_options(&wrong))
        .err()
        .ok_or("opened with a wrong key")?;
    let msg = chain(&err);
    assert!(
        msg.contains("az://brick/round/zstd.zarr") && msg.contains("access denied"),
        "{msg}"
    );
    for text in [&msg, &format!("{err:?}")] {
        assert!(
            !text.contains(AZURE_KEY) && !text.contains("d3Jvbmcg"),
            "{text}"
        );
    }
    Ok(())
}

#[test]
fn google_cloud_storage_round_trips_on_its_emulator() -> TestResult {
    let Some(server) = Server::gcs(&["brick"])? else {
        return Ok(());
    };
    let storage = server.options();
    rust_round_trips("gs://brick", &storage)?;
    large_object("gs://brick", &storage)?;
    cli_round_trip("gs://brick", &as_arguments(&storage), "private_key\":\"-")?;
    zarr_python_both_ways(
        "gcs",
        &server.account_file(),
        "brick",
        "gs://brick",
        &storage,
    )?;
    let x = Array::random(&[4, 4], &[2, 2], 0)?;
    let err = x
        .to_zarr("gs://no-such-bucket/a.zarr", &write_options(&storage))
        .err()
        .ok_or("wrote")?;
    let msg = chain(&err);
    assert!(
        msg.contains("gs://no-such-bucket/a.zarr") && msg.contains("no bucket"),
        "{msg}"
    );
    Ok(())
}
