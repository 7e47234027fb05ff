//! Writing Zarr v2 arrays and sharded Zarr v3 arrays (`WriteOptions::zarr_format`,
//! `WriteOptions::shards`): brickwork reads back exactly what it wrote, zarr-python reads it
//! exactly too, and the metadata is what zarr-python itself writes for the same array.

use std::path::{Path, PathBuf};
use std::process::Command;

use brickwork::store::{ZarrFormat, ZarrSource};
use brickwork::{Array, Codec, ComputeOptions, DType, WriteOptions};

use crate::common::*;

fn checker() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_zarr.py")
}

/// Stores to hand to zarr-python in one batch (`check_zarr.py --batch`; starting Python
/// costs about a second), with the options each was written with.
#[derive(Default)]
struct PeerChecks {
    entries: Vec<(PathBuf, PathBuf, WriteOptions)>,
}

impl PeerChecks {
    /// zarr-python reads every store and finds exactly its expected contents, in the format,
    /// chunks and shards it was written with, marked complete.
    fn run(self, python: Option<&Path>, dir: &Path) -> TestResult {
        let Some(python) = python else {
            return Ok(());
        };
        let list: Vec<serde_json::Value> = self
            .entries
            .iter()
            .map(|(store, npy, _)| serde_json::json!({"store": store, "expected": npy}))
            .collect();
        let list_file = dir.join("batch.json");
        std::fs::write(&list_file, serde_json::to_vec(&list)?)?;
        let out = Command::new(python)
            .arg(checker())
            .arg("--batch")
            .arg(&list_file)
            .output()?;
        let results: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "check_zarr.py --batch: {e}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        let results = results.as_array().ok_or("a list of results")?;
        assert_eq!(results.len(), self.entries.len());
        for (r, (store, _, opts)) in results.iter().zip(&self.entries) {
            let name = store.display();
            assert_eq!(
                r["ok"], true,
                "zarr-python disagrees on {name}: {}",
                r["problems"]
            );
            let info = &r["info"];
            assert_eq!(
                info["zarr_format"],
                opts.zarr_format.number(),
                "{name}: {info}"
            );
            assert_eq!(
                info["chunks"],
                serde_json::json!(opts.chunks),
                "{name}: {info}"
            );
            assert_eq!(
                info["shards"],
                serde_json::json!(opts.shards),
                "{name}: {info}"
            );
            assert_eq!(
                info["attributes"]["brickwork"]["complete"], true,
                "{name}: {info}"
            );
        }
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }
}

fn json_file(path: &Path) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

fn v2(chunks: &[usize], codec: Codec) -> WriteOptions {
    WriteOptions {
        chunks: Some(chunks.to_vec()),
        codec,
        zarr_format: ZarrFormat::V2,
        ..WriteOptions::default()
    }
}

fn sharded(chunks: &[usize], shards: &[usize], codec: Codec) -> WriteOptions {
    WriteOptions {
        chunks: Some(chunks.to_vec()),
        codec,
        shards: Some(shards.to_vec()),
        ..WriteOptions::default()
    }
}

/// Writes `x` with `opts` and checks that brickwork reads it back exactly; queues the
/// zarr-python check.
fn write_and_check(
    x: &Array,
    path: &Path,
    opts: &WriteOptions,
    peer: &mut PeerChecks,
) -> TestResult {
    let want = x.compute()?;
    x.to_zarr(path, opts)?;
    let src = ZarrSource::open(path)?;
    assert_eq!(src.zarr_format(), opts.zarr_format.number());
    assert_eq!(Some(src.chunk_shape()), opts.chunks.as_deref());
    assert_eq!(src.shard_shape(), opts.shards.as_deref());
    assert!(!src.is_incomplete_write());
    let y = Array::from_zarr(path)?;
    assert_eq!(y.dtype(), x.dtype());
    assert_eq!(compute_both(&y), want, "{}", path.display());
    let npy = path.with_extension("npy");
    write_npy(&npy, &want)?;
    peer.entries.push((path.to_path_buf(), npy, opts.clone()));
    Ok(())
}

#[test]
fn v2_every_codec_and_dtype_reads_back_exactly() -> TestResult {
    let mut peer = PeerChecks::default();
    let dir = tempfile::tempdir()?;
    let base = Array::random_normal(&[23, 17], &[10, 10], 7, 0.0, 60.0)?;
    let codecs = [
        "none",
        "zstd",
        "zstd:-3",
        "zstd:12",
        "gzip",
        "gzip:1",
        "blosc",
        "blosc:lz4:9",
        "blosc:zstd:3",
    ];
    for (i, codec) in codecs.into_iter().enumerate() {
        for dtype in DType::ALL {
            // Every dtype once with the first codecs, then a few dtypes per codec.
            if i > 0 && !matches!(dtype, DType::F64 | DType::Bool | DType::I16) {
                continue;
            }
            let path = dir.path().join(format!("{i}_{dtype}.zarr"));
            let opts = v2(&[5, 4], Codec::parse(codec)?);
            write_and_check(&base.astype(dtype)?, &path, &opts, &mut peer)?;
            assert!(path.join(".zarray").is_file() && !path.join("zarr.json").exists());
        }
    }
    // 1-d, 3-d, 0-d, and a chunk larger than the array.
    let x = Array::random_normal(&[5, 9, 7], &[5, 9, 7], 3, 0.0, 1.0)?;
    write_and_check(
        &x,
        &dir.path().join("3d.zarr"),
        &v2(&[2, 4, 3], Codec::default()),
        &mut peer,
    )?;
    let v = Array::random_normal(&[11], &[11], 3, 0.0, 1.0)?;
    write_and_check(
        &v,
        &dir.path().join("1d.zarr"),
        &v2(&[20], Codec::parse("gzip")?),
        &mut peer,
    )?;
    let s = x.sum()?;
    write_and_check(
        &s,
        &dir.path().join("0d.zarr"),
        &v2(&[], Codec::None),
        &mut peer,
    )?;
    peer.run(peer_python().as_deref(), dir.path())
}

#[test]
fn v3_sharded_reads_back_exactly() -> TestResult {
    let mut peer = PeerChecks::default();
    let dir = tempfile::tempdir()?;
    let base = Array::random_normal(&[23, 17], &[7, 7], 9, 0.0, 60.0)?;
    // Inner chunks 5x4 in shards 10x8 (ragged shards and ragged inner chunks), shards of a
    // single inner chunk, and one shard larger than the array.
    let layouts: [(&[usize], &[usize]); 3] = [
        (&[5, 4], &[10, 8]),
        (&[3, 6], &[3, 6]),
        (&[6, 5], &[24, 20]),
    ];
    let codecs = ["none", "zstd", "gzip:4", "blosc:lz4", "blosc:zstd:2"];
    for (i, codec) in codecs.into_iter().enumerate() {
        for (j, (chunks, shards)) in layouts.into_iter().enumerate() {
            for dtype in [DType::F64, DType::I32, DType::U8, DType::Bool] {
                let path = dir.path().join(format!("{i}_{j}_{dtype}.zarr"));
                let opts = sharded(chunks, shards, Codec::parse(codec)?);
                write_and_check(&base.astype(dtype)?, &path, &opts, &mut peer)?;
            }
        }
    }
    let x = Array::random_normal(&[9, 10, 11], &[4, 4, 4], 1, 0.0, 1.0)?;
    let opts = sharded(&[2, 3, 4], &[4, 6, 8], Codec::default());
    write_and_check(&x, &dir.path().join("3d.zarr"), &opts, &mut peer)?;
    peer.run(peer_python().as_deref(), dir.path())
}

#[test]
fn sharded_writes_go_shard_by_shard_through_the_engine() -> TestResult {
    // A computed array whose chunks are neither the inner chunks nor the shards, written
    // shard by shard under a memory limit.
    let dir = tempfile::tempdir()?;
    let x = Array::random_normal(&[200, 120], &[25, 30], 2, 0.0, 1.0)?;
    let y = &x * 2.0;
    let path = dir.path().join("y.zarr");
    let opts = sharded(&[10, 10], &[50, 40], Codec::default());
    let limit = ComputeOptions::threads(2).with_memory_limit(2_000_000);
    y.to_zarr_with(&path, &opts, &limit)?;
    let src = ZarrSource::open(&path)?;
    assert_eq!(src.shard_shape(), Some(&[50, 40][..]));
    assert_eq!(Array::from_zarr(&path)?.compute()?, y.compute()?);
    // One object per shard: 4 x 3 of them.
    let shards = walkdir(&path.join("c"));
    assert_eq!(shards, 12);
    Ok(())
}

fn walkdir(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    if e.path().is_dir() {
                        walkdir(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn metadata_matches_what_zarr_python_writes() -> TestResult {
    // The same array, chunks and compressor as zarr-python's fixtures: brickwork's `.zarray`
    // is the one zarr-python wrote, key for key.
    let Some(f) = zarr_python_fixtures()? else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    for (fixture, codec) in [
        ("v2_f8_zstd.zarr", "zstd:3"),
        ("v2_f8_blosc_lz4.zarr", "blosc:lz4:5"),
        ("v2_f8_none.zarr", "none"),
        ("v2_int8.zarr", "zstd:0"),
        ("v2_bool.zarr", "zstd:0"),
        ("v2_uint64.zarr", "zstd:0"),
        ("v2_float32.zarr", "zstd:0"),
    ] {
        let src = f.join(fixture);
        let x = Array::from_zarr(&src)?;
        let chunks = ZarrSource::open(&src)?.chunk_shape().to_vec();
        let out = dir.path().join(fixture);
        x.to_zarr(&out, &v2(&chunks, Codec::parse(codec)?))?;
        assert_eq!(
            json_file(&out.join(".zarray"))?,
            json_file(&src.join(".zarray"))?,
            "{fixture}"
        );
        assert_eq!(Array::from_zarr(&out)?.compute()?, x.compute()?);
    }
    // Sharded v3: the codecs and chunk grid of zarr-python's sharded array.
    let src = f.join("v3_i4_sharded_zstd_ragged.zarr");
    let x = Array::from_zarr(&src)?;
    let out = dir.path().join("sharded.zarr");
    x.to_zarr(&out, &sharded(&[5, 7], &[20, 14], Codec::parse("zstd:3")?))?;
    let (ours, theirs) = (
        json_file(&out.join("zarr.json"))?,
        json_file(&src.join("zarr.json"))?,
    );
    for key in [
        "shape",
        "data_type",
        "chunk_grid",
        "chunk_key_encoding",
        "fill_value",
        "codecs",
    ] {
        assert_eq!(ours[key], theirs[key], "{key}");
    }
    assert_eq!(Array::from_zarr(&out)?.compute()?, x.compute()?);
    Ok(())
}

#[test]
fn shard_errors_name_both_shapes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let x = Array::random_normal(&[20, 20], &[10, 10], 1, 0.0, 1.0)?;
    let path = dir.path().join("x.zarr");
    let err = x
        .to_zarr(&path, &sharded(&[4, 5], &[10, 10], Codec::None))
        .unwrap_err()
        .to_string();
    assert!(err.contains("(10, 10)") && err.contains("(4, 5)"), "{err}");
    // Without chunks, the array's own (10, 10) chunks are the inner chunks.
    let opts = WriteOptions {
        shards: Some(vec![15, 20]),
        ..WriteOptions::default()
    };
    let err = x.to_zarr(&path, &opts).unwrap_err().to_string();
    assert!(
        err.contains("(15, 20)") && err.contains("(10, 10)"),
        "{err}"
    );
    let opts = WriteOptions {
        zarr_format: ZarrFormat::V2,
        ..sharded(&[5, 5], &[10, 10], Codec::None)
    };
    let err = x.to_zarr(&path, &opts).unwrap_err().to_string();
    assert!(err.contains("format 2"), "{err}");
    assert!(!path.exists(), "failed writes create nothing");
    Ok(())
}

#[test]
fn sharded_rows_to_columns_rechunk_under_a_memory_limit() -> TestResult {
    // Each 400x20 column shard needs all forty 32 KB row chunks: too much at once under the
    // limit, so the write goes through an intermediate store (as unsharded writes do).
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("rows.zarr");
    let x = Array::random(&[400, 400], &[10, 400], 2)?;
    x.to_zarr(&src, &WriteOptions::default())?;
    let rows = Array::from_zarr(&src)?;
    let dst = dir.path().join("cols.zarr");
    let limit = ComputeOptions::threads(2).with_memory_limit(300_000);
    let m = rows.to_zarr_with(
        &dst,
        &sharded(&[400, 5], &[400, 20], Codec::default()),
        &limit,
    )?;
    assert!(m.peak_reserved_bytes <= 300_000, "{m:?}");
    assert_eq!(
        m.bytes_output,
        2 * 400 * 400 * 8,
        "written once to the intermediate, once to the target"
    );
    let src = ZarrSource::open(&dst)?;
    assert_eq!(src.chunk_shape(), &[400, 5]);
    assert_eq!(src.shard_shape(), Some(&[400, 20][..]));
    assert_eq!(Array::from_zarr(&dst)?.compute()?, x.compute()?);
    Ok(())
}

/// The chunk objects under `dir`, by relative path, with their bytes.
fn objects(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.join("c")];
    if dir.join(".zarray").is_file() {
        stack = vec![dir.to_path_buf()];
    }
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().filter_map(Result::ok) {
            let p = e.path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                stack.push(p);
            } else if !name.starts_with('.') {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn large_uncompressed_chunks_written_directly_read_back_everywhere() -> TestResult {
    // Uncompressed full chunks are written from the block's memory, those of 1 MiB and more
    // with direct I/O (400 x 400 float64 = 1.28 MB; int32 and uint16 chunks stay under it).
    // The grid is ragged (edge chunks go through zarrs) and one full chunk is all fill value
    // (not stored). Files are identical with and without direct I/O, and zarr-python reads
    // both formats exactly.
    let mut peer = PeerChecks::default();
    let dir = tempfile::tempdir()?;
    let mut data = ndarray::Array2::<f64>::zeros((900, 1000));
    for ((i, j), v) in data.indexed_iter_mut() {
        if !(i < 400 && (400..800).contains(&j)) {
            *v = (i * 1000 + j) as f64 * 0.5 - 1e5;
        }
    }
    let x = Array::from_ndarray(data.into_dyn(), &[300, 300])?;
    for dtype in [DType::F64, DType::I32, DType::U16] {
        for format in [ZarrFormat::V3, ZarrFormat::V2] {
            let mut written = Vec::new();
            for direct_io in [true, false] {
                let path = dir
                    .path()
                    .join(format!("{dtype}-{}-{direct_io}.zarr", format.number()));
                let opts = WriteOptions {
                    chunks: Some(vec![400, 400]),
                    codec: Codec::None,
                    zarr_format: format,
                    direct_io,
                    ..WriteOptions::default()
                };
                write_and_check(&x.astype(dtype)?, &path, &opts, &mut peer)?;
                let files = objects(&path);
                // 3 x 3 chunks, less the one of fill value.
                assert_eq!(files.len(), 8, "{}: {:?}", path.display(), files.keys());
                assert!(files.values().all(|b| b.len() == 400 * 400 * dtype.size()));
                written.push(files);
            }
            assert!(written[0] == written[1], "{dtype} v{}", format.number());
        }
    }
    peer.run(peer_python().as_deref(), dir.path())
}
