//! Tests of the store module: round trips through temporary directories.

use std::path::Path;

use ndarray::{ArrayD, IxDyn, SliceInfoElem};

use super::*;
use crate::block::{Block, BlockElement};
use crate::dispatch_dtype;
use crate::dtype::{DType, Element};

type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// Distinct, non-trivial values (some zero) for every dtype.
fn sample(dtype: DType, shape: &[usize]) -> Block {
    dispatch_dtype!(dtype, T => {
        let n: usize = shape.iter().product();
        let v: Vec<T> = (0..n)
            .map(|i| {
                let x = (i as i64 * 7919 % 251) - 100;
                match dtype {
                    DType::Bool => T::from_i64(x % 3),
                    DType::F32 | DType::F64 => T::from_f64(x as f64 * 0.25),
                    _ => T::from_i64(x),
                }
            })
            .collect();
        T::wrap(ArrayD::from_shape_vec(IxDyn(shape), v).unwrap())
    })
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
    crate::dispatch_block!(block, a => BlockElement::wrap(a.slice(info.as_slice()).to_owned()))
}

/// Writes `data` block by block (chunks, or shards when sharded) with `chunks` and `opts`.
fn write(path: &Path, data: &Block, chunks: &[usize], opts: &WriteOptions) -> Result<()> {
    let sink = ZarrWriter::create(path, data.shape(), data.dtype(), chunks, opts)?;
    let grid = crate::grid::ChunkGrid::regular(data.shape(), sink.write_shape());
    for b in 0..grid.nblocks() {
        let idx = grid.unlinear(b);
        let region = grid.region(&idx);
        sink.write_chunk(&idx, &slice(data, &region.start, &region.shape))?;
    }
    sink.finish()
}

fn zarr_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path.join("zarr.json")).unwrap()).unwrap()
}

#[test]
fn round_trip_every_dtype_ragged() -> TestResult {
    let dir = tempfile::tempdir()?;
    for dtype in DType::ALL {
        let path = dir.path().join(format!("{dtype}.zarr"));
        let data = sample(dtype, &[7, 5]);
        write(&path, &data, &[3, 2], &WriteOptions::default())?;
        let src = ZarrSource::open(&path)?;
        assert_eq!(src.dtype(), dtype);
        assert_eq!(src.shape(), &[7, 5]);
        assert_eq!(src.chunk_shape(), &[3, 2]);
        assert_eq!(src.zarr_format(), 3);
        assert_eq!(src.read_all()?, data, "{dtype}");
        // Ragged edge chunk (2, 2) holds rows 6..7, columns 4..5.
        let edge = src.read_chunk(&[2, 2])?;
        assert_eq!(edge.shape(), &[1, 1]);
        assert_eq!(edge, slice(&data, &[6, 4], &[1, 1]));
        assert_eq!(src.read_chunk(&[1, 0])?, slice(&data, &[3, 0], &[3, 2]));
        // Edge chunks are stored full-size (padded), per the Zarr spec: re-reading through a
        // grid with a different chunking still gives the data.
        assert_eq!(
            src.read_region(&[2, 1], &[4, 3])?,
            slice(&data, &[2, 1], &[4, 3])
        );
    }
    Ok(())
}

#[test]
fn round_trip_every_codec() -> TestResult {
    let dir = tempfile::tempdir()?;
    let codecs = [
        Codec::None,
        Codec::default(),
        Codec::Zstd { level: -5 },
        Codec::Zstd { level: 19 },
        Codec::Gzip { level: 1 },
        Codec::Gzip { level: 9 },
        Codec::Blosc {
            cname: BloscCname::Lz4,
            level: 5,
        },
        Codec::Blosc {
            cname: BloscCname::Zstd,
            level: 3,
        },
    ];
    for (i, codec) in codecs.into_iter().enumerate() {
        for dtype in [DType::F64, DType::U8, DType::Bool, DType::I16] {
            let path = dir.path().join(format!("{i}_{dtype}.zarr"));
            let data = sample(dtype, &[20, 13]);
            let opts = WriteOptions {
                codec,
                ..WriteOptions::default()
            };
            write(&path, &data, &[8, 8], &opts)?;
            let src = ZarrSource::open(&path)?;
            assert_eq!(src.read_all()?, data, "{codec} {dtype}");
            let meta = zarr_json(&path);
            let names: Vec<&str> = meta["codecs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap())
                .collect();
            let expected: &[&str] = match codec {
                Codec::None => &["bytes"],
                Codec::Zstd { .. } => &["bytes", "zstd"],
                Codec::Gzip { .. } => &["bytes", "gzip"],
                Codec::Blosc { .. } => &["bytes", "blosc"],
            };
            assert_eq!(names, expected);
        }
    }
    Ok(())
}

#[test]
fn metadata_as_specified() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("a.zarr");
    let mut attributes = serde_json::Map::new();
    attributes.insert("units".into(), "m".into());
    let opts = WriteOptions {
        codec: Codec::Blosc {
            cname: BloscCname::Zstd,
            level: 4,
        },
        attributes,
        ..WriteOptions::default()
    };
    let sink = ZarrWriter::create(&path, &[10, 4], DType::F32, &[4, 4], &opts)?;
    let meta = zarr_json(&path);
    assert_eq!(meta["zarr_format"], 3);
    assert_eq!(meta["node_type"], "array");
    assert_eq!(meta["data_type"], "float32");
    assert_eq!(meta["fill_value"], 0.0);
    assert_eq!(meta["shape"], serde_json::json!([10, 4]));
    assert_eq!(
        meta["chunk_grid"],
        serde_json::json!({"name": "regular", "configuration": {"chunk_shape": [4, 4]}})
    );
    assert_eq!(
        meta["chunk_key_encoding"],
        serde_json::json!({"name": "default", "configuration": {"separator": "/"}})
    );
    assert_eq!(
        meta["codecs"][0],
        serde_json::json!({"name": "bytes", "configuration": {"endian": "little"}})
    );
    assert_eq!(
        meta["codecs"][1],
        serde_json::json!({"name": "blosc", "configuration": {
            "cname": "zstd", "clevel": 4, "shuffle": "shuffle", "typesize": 4, "blocksize": 0}})
    );
    assert!(meta.get("dimension_names").is_none());
    assert_eq!(meta["attributes"]["units"], "m");
    assert_eq!(
        without_write_id(&meta["attributes"]["brickwork"]),
        serde_json::json!({"format_version": 1, "complete": false})
    );
    // Opening it is an error that counts the chunks not written; allowed, it opens.
    let err = ZarrSource::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            Error::IncompleteArray {
                missing: 3,
                total: 3,
                ..
            }
        ),
        "{err}"
    );
    let allow = ReadOptions {
        allow_incomplete: true,
        ..ReadOptions::default()
    };
    assert!(ZarrSource::open_with(&path, &allow)?.is_incomplete_write());

    // A chunk of fill values is not stored; others are, under c/i/j, with no .tmp left over.
    sink.write_chunk(&[0, 0], &Block::zeros(DType::F32, &[4, 4]))?;
    sink.write_chunk(&[2, 0], &sample(DType::F32, &[2, 4]))?;
    sink.finish()?;
    assert!(!path.join("c/0/0").exists());
    assert!(path.join("c/2/0").is_file());
    let leftovers = walk(&path)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "tmp"))
        .count();
    assert_eq!(leftovers, 0);
    let meta = zarr_json(&path);
    assert_eq!(
        without_write_id(&meta["attributes"]["brickwork"]),
        serde_json::json!({"format_version": 1, "complete": true})
    );
    let src = ZarrSource::open(&path)?;
    assert!(!src.is_incomplete_write());
    assert_eq!(src.attributes()["units"], "m");
    assert_eq!(src.read_chunk(&[1, 0])?, Block::zeros(DType::F32, &[4, 4]));
    assert_eq!(src.read_chunk(&[2, 0])?, sample(DType::F32, &[2, 4]));

    // The bytes codec of 1-byte types has no endian (as zarr-python writes it).
    let p8 = dir.path().join("u8.zarr");
    ZarrWriter::create(&p8, &[3], DType::U8, &[2], &WriteOptions::default())?.finish()?;
    assert_eq!(
        zarr_json(&p8)["codecs"][0],
        serde_json::json!({"name": "bytes"})
    );
    let pb = dir.path().join("bool.zarr");
    ZarrWriter::create(&pb, &[3], DType::Bool, &[2], &WriteOptions::default())?.finish()?;
    assert_eq!(zarr_json(&pb)["fill_value"], false);
    assert_eq!(zarr_json(&pb)["data_type"], "bool");
    Ok(())
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn zero_d_and_empty_arrays() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("scalar.zarr");
    let data = Block::F64(ArrayD::from_elem(IxDyn(&[]), 2.5));
    write(&path, &data, &[], &WriteOptions::default())?;
    assert!(path.join("c").is_file());
    let src = ZarrSource::open(&path)?;
    assert_eq!(src.shape(), &[] as &[usize]);
    assert_eq!(src.chunk_shape(), &[] as &[usize]);
    assert_eq!(src.read_all()?, data);
    assert_eq!(src.read_chunk(&[])?, data);

    let path = dir.path().join("empty.zarr");
    let data = Block::zeros(DType::I32, &[0, 3]);
    write(&path, &data, &[2, 2], &WriteOptions::default())?;
    let src = ZarrSource::open(&path)?;
    assert_eq!(src.shape(), &[0, 3]);
    assert_eq!(src.read_all()?, data);
    assert_eq!(src.read_chunk(&[0, 1])?.shape(), &[0, 1]);
    Ok(())
}

#[test]
fn overwrite_refused_unless_asked() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("a.zarr");
    let first = sample(DType::I64, &[5, 5]);
    write(&path, &first, &[2, 2], &WriteOptions::default())?;
    let err = ZarrWriter::create(&path, &[3], DType::U8, &[3], &WriteOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("a.zarr"), "{err}");
    assert!(err.contains("overwrite"), "{err}");

    let opts = WriteOptions {
        overwrite: true,
        ..WriteOptions::default()
    };
    let second = sample(DType::U8, &[3]);
    write(&path, &second, &[3], &opts)?;
    let src = ZarrSource::open(&path)?;
    assert_eq!(src.read_all()?, second);
    assert!(!path.join("c/1").exists(), "old chunks are deleted");

    // overwrite never deletes something that is not Zarr data.
    let other = dir.path().join("notes");
    std::fs::create_dir(&other)?;
    std::fs::write(other.join("keep.txt"), "x")?;
    let err = ZarrWriter::create(&other, &[3], DType::U8, &[3], &opts).unwrap_err();
    assert!(err.to_string().contains("refusing"), "{err}");
    assert!(other.join("keep.txt").exists());
    Ok(())
}

#[test]
fn region_reads_and_bounds() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("r.zarr");
    let data = sample(DType::F64, &[9, 11, 4]);
    write(&path, &data, &[4, 3, 4], &WriteOptions::default())?;
    let src = ZarrSource::open(&path)?;
    for (start, shape) in [
        (vec![0, 0, 0], vec![9, 11, 4]),
        (vec![1, 2, 0], vec![1, 1, 1]),
        (vec![3, 2, 1], vec![5, 7, 3]),
        (vec![4, 3, 0], vec![4, 3, 4]),
        (vec![8, 10, 3], vec![1, 1, 1]),
        (vec![2, 2, 2], vec![0, 3, 1]),
    ] {
        assert_eq!(
            src.read_region(&start, &shape)?,
            slice(&data, &start, &shape),
            "{start:?} {shape:?}"
        );
    }
    assert!(src.read_region(&[5, 0, 0], &[5, 1, 1]).is_err());
    assert!(src.read_region(&[0, 0], &[1, 1]).is_err());
    let err = src.read_chunk(&[3, 0, 0]).unwrap_err().to_string();
    assert!(err.contains("r.zarr"), "{err}");
    Ok(())
}

#[test]
fn write_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("w.zarr");
    let sink = ZarrWriter::create(
        &path,
        &[5, 5],
        DType::F32,
        &[2, 2],
        &WriteOptions::default(),
    )?;
    let wrong_dtype = sink.write_chunk(&[0, 0], &Block::zeros(DType::F64, &[2, 2]));
    assert!(matches!(wrong_dtype, Err(Error::Internal { .. })));
    let wrong_shape = sink.write_chunk(&[2, 2], &Block::zeros(DType::F32, &[2, 2]));
    assert!(matches!(wrong_shape, Err(Error::Internal { .. })));
    assert!(
        sink.write_chunk(&[3, 0], &Block::zeros(DType::F32, &[2, 2]))
            .is_err()
    );
    assert!(
        ZarrWriter::create(
            &dir.path().join("x"),
            &[5],
            DType::F32,
            &[0],
            &WriteOptions::default()
        )
        .is_err()
    );
    assert!(
        ZarrWriter::create(
            &dir.path().join("y"),
            &[5],
            DType::F32,
            &[1, 1],
            &WriteOptions::default()
        )
        .is_err()
    );
    // Writing from several threads at once.
    let data = sample(DType::F32, &[5, 5]);
    std::thread::scope(|s| {
        for i in 0..3 {
            let (sink, data) = (&sink, &data);
            s.spawn(move || {
                for j in 0..3 {
                    let start = [i * 2, j * 2];
                    let shape = [2.min(5 - i * 2), 2.min(5 - j * 2)];
                    sink.write_chunk(&[i, j], &slice(data, &start, &shape))
                        .unwrap();
                }
            });
        }
    });
    sink.finish()?;
    assert_eq!(ZarrSource::open(&path)?.read_all()?, data);
    Ok(())
}

#[test]
fn open_errors_name_the_path() -> TestResult {
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("missing.zarr");
    let err = ZarrSource::open(&missing).unwrap_err();
    // The OS error is kept as the source: callers match its kind.
    let kind = err.io_error().map(std::io::Error::kind);
    assert_eq!(kind, Some(std::io::ErrorKind::NotFound), "{err:?}");
    let source = std::error::Error::source(&err).map(ToString::to_string);
    let err = err.to_string();
    assert!(
        err.contains("missing.zarr") && err.contains("cannot open"),
        "{err}"
    );
    assert!(source.is_some_and(|s| s.contains("No such file")));

    let file = dir.path().join("file.txt");
    std::fs::write(&file, "hello")?;
    let err = ZarrSource::open(&file).unwrap_err().to_string();
    assert!(
        err.contains("file.txt") && err.contains("not a Zarr array"),
        "{err}"
    );

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty)?;
    let err = ZarrSource::open(&empty).unwrap_err().to_string();
    assert!(err.contains("not a Zarr array"), "{err}");

    let bad = dir.path().join("bad.zarr");
    std::fs::create_dir(&bad)?;
    std::fs::write(bad.join("zarr.json"), "{not json")?;
    let err = ZarrSource::open(&bad).unwrap_err().to_string();
    assert!(
        err.contains("bad.zarr") && err.contains("malformed"),
        "{err}"
    );

    let group = dir.path().join("g.zarr");
    std::fs::create_dir(&group)?;
    std::fs::write(
        group.join("zarr.json"),
        r#"{"zarr_format": 3, "node_type": "group", "attributes": {}}"#,
    )?;
    let err = ZarrSource::open(&group).unwrap_err().to_string();
    assert!(err.contains("g.zarr") && err.contains("group"), "{err}");

    let cplx = dir.path().join("c.zarr");
    std::fs::create_dir(&cplx)?;
    std::fs::write(
        cplx.join("zarr.json"),
        r#"{"zarr_format": 3, "node_type": "array", "shape": [4], "data_type": "float16",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": 0.0, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]}"#,
    )?;
    let err = ZarrSource::open(&cplx).unwrap_err().to_string();
    assert!(err.contains("c.zarr") && err.contains("float16"), "{err}");
    Ok(())
}

#[test]
fn codec_parse() {
    assert_eq!(Codec::parse("none").unwrap(), Codec::None);
    assert_eq!(Codec::parse("zstd").unwrap(), Codec::Zstd { level: 3 });
    assert_eq!(Codec::parse("ZSTD:5").unwrap(), Codec::Zstd { level: 5 });
    assert_eq!(Codec::parse("zstd:-3").unwrap(), Codec::Zstd { level: -3 });
    assert_eq!(Codec::parse("gzip").unwrap(), Codec::Gzip { level: 5 });
    assert_eq!(Codec::parse("gzip:6").unwrap(), Codec::Gzip { level: 6 });
    let lz4 = |level| Codec::Blosc {
        cname: BloscCname::Lz4,
        level,
    };
    assert_eq!(Codec::parse("blosc").unwrap(), lz4(5));
    assert_eq!(Codec::parse("blosc:lz4").unwrap(), lz4(5));
    assert_eq!(Codec::parse("blosc:7").unwrap(), lz4(7));
    assert_eq!(
        Codec::parse("blosc:zstd:5").unwrap(),
        Codec::Blosc {
            cname: BloscCname::Zstd,
            level: 5
        }
    );
    for bad in [
        "",
        "lz4",
        "zstd:x",
        "zstd:23",
        "gzip:10",
        "blosc:snappy",
        "blosc:lz4:10",
        "zstd:1:2",
    ] {
        assert!(Codec::parse(bad).is_err(), "{bad}");
    }
    for c in [
        Codec::None,
        Codec::default(),
        Codec::Gzip { level: 2 },
        lz4(1),
    ] {
        assert_eq!(Codec::parse(&c.to_string()).unwrap(), c);
    }
    assert_eq!(Codec::default(), Codec::Zstd { level: 3 });
}

#[test]
fn element_fill_is_default() {
    // The fill value brickwork writes is T::default(): 0 / false.
    assert!(!bool::default());
    assert_eq!(<f64 as Element>::DTYPE, DType::F64);
}

#[test]
fn edge_chunks_are_stored_full_size() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("e.zarr");
    let opts = WriteOptions {
        codec: Codec::None,
        ..WriteOptions::default()
    };
    let data = sample(DType::I16, &[5, 3]);
    write(&path, &data, &[4, 2], &opts)?;
    // Chunk (1, 1) holds one element; on disk it is a full 4x2 int16 chunk, padded with 0.
    let raw = std::fs::read(path.join("c/1/1"))?;
    assert_eq!(raw.len(), 4 * 2 * 2);
    let first = crate::dispatch_block!(&data, a => a[[4, 2]].to_i64());
    assert_eq!(i16::from_le_bytes([raw[0], raw[1]]) as i64, first);
    assert!(raw[2..].iter().all(|&b| b == 0));
    Ok(())
}

fn json_file(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn v2_opts(codec: Codec) -> WriteOptions {
    WriteOptions {
        codec,
        zarr_format: ZarrFormat::V2,
        ..WriteOptions::default()
    }
}

const ALL_CODECS: [Codec; 6] = [
    Codec::None,
    Codec::Zstd { level: 3 },
    Codec::Zstd { level: -5 },
    Codec::Gzip { level: 6 },
    Codec::Blosc {
        cname: BloscCname::Lz4,
        level: 5,
    },
    Codec::Blosc {
        cname: BloscCname::Zstd,
        level: 2,
    },
];

#[test]
fn v2_round_trip_every_dtype_and_codec_ragged() -> TestResult {
    let dir = tempfile::tempdir()?;
    for (i, codec) in ALL_CODECS.into_iter().enumerate() {
        for dtype in DType::ALL {
            let path = dir.path().join(format!("{i}_{dtype}.zarr"));
            let data = sample(dtype, &[11, 7]);
            write(&path, &data, &[4, 3], &v2_opts(codec))?;
            assert!(!path.join("zarr.json").exists());
            let src = ZarrSource::open(&path)?;
            assert_eq!(src.zarr_format(), 2);
            assert_eq!(src.dtype(), dtype);
            assert_eq!(src.chunk_shape(), &[4, 3]);
            assert_eq!(src.read_all()?, data, "{codec} {dtype}");
            assert_eq!(src.read_chunk(&[2, 2])?, slice(&data, &[8, 6], &[3, 1]));
            assert!(!src.is_incomplete_write());
        }
    }
    Ok(())
}

#[test]
fn v2_metadata_as_zarr_python_writes_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("a.zarr");
    let mut attributes = serde_json::Map::new();
    attributes.insert("units".into(), "m".into());
    let opts = WriteOptions {
        attributes,
        ..v2_opts(Codec::Blosc {
            cname: BloscCname::Lz4,
            level: 5,
        })
    };
    let sink = ZarrWriter::create(&path, &[10, 4], DType::F64, &[4, 4], &opts)?;
    assert_eq!(sink.zarr_format(), ZarrFormat::V2);
    assert_eq!(sink.write_shape(), &[4, 4]);
    // Exactly the keys (and values) of zarr-python 3.1's v2 `.zarray`; no `node_type`.
    assert_eq!(
        json_file(&path.join(".zarray")),
        serde_json::json!({
            "zarr_format": 2, "shape": [10, 4], "chunks": [4, 4], "dtype": "<f8",
            "fill_value": 0.0, "order": "C", "filters": null, "dimension_separator": ".",
            "compressor": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}
        })
    );
    let zattrs = json_file(&path.join(".zattrs"));
    assert_eq!(zattrs["units"], "m");
    assert_eq!(
        without_write_id(&zattrs["brickwork"]),
        serde_json::json!({"format_version": 1, "complete": false})
    );
    // Opening it is an error that counts the chunks not written; allowed, it opens.
    let err = ZarrSource::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            Error::IncompleteArray {
                missing: 3,
                total: 3,
                ..
            }
        ),
        "{err}"
    );
    let allow = ReadOptions {
        allow_incomplete: true,
        ..ReadOptions::default()
    };
    assert!(ZarrSource::open_with(&path, &allow)?.is_incomplete_write());
    sink.write_chunk(&[0, 0], &Block::zeros(DType::F64, &[4, 4]))?;
    sink.write_chunk(&[2, 0], &sample(DType::F64, &[2, 4]))?;
    sink.finish()?;
    // Chunk keys `i.j`; the all-zero chunk is not stored; no temporaries are left.
    assert!(!path.join("0.0").exists());
    assert!(path.join("2.0").is_file());
    assert!(
        walk(&path)
            .iter()
            .all(|p| p.extension().is_none_or(|e| e != "tmp"))
    );
    assert_eq!(
        without_write_id(&json_file(&path.join(".zattrs"))["brickwork"]),
        serde_json::json!({"format_version": 1, "complete": true})
    );
    let src = ZarrSource::open(&path)?;
    assert!(!src.is_incomplete_write());
    assert_eq!(src.attributes()["units"], "m");
    assert_eq!(src.read_chunk(&[2, 0])?, sample(DType::F64, &[2, 4]));

    let expect = |dtype: DType, codec: Codec| -> Result<(serde_json::Value, serde_json::Value)> {
        let p = dir.path().join(format!(
            "{dtype}_{}.zarr",
            codec.to_string().replace(':', "_")
        ));
        ZarrWriter::create(&p, &[3], dtype, &[2], &v2_opts(codec))?.finish()?;
        let z = json_file(&p.join(".zarray"));
        Ok((z["dtype"].clone(), z["fill_value"].clone()))
    };
    assert_eq!(
        expect(DType::Bool, Codec::None)?,
        (serde_json::json!("|b1"), serde_json::json!(false))
    );
    assert_eq!(
        expect(DType::I8, Codec::None)?,
        (serde_json::json!("|i1"), serde_json::json!(0))
    );
    assert_eq!(
        expect(DType::U64, Codec::None)?,
        (serde_json::json!("<u8"), serde_json::json!(0))
    );
    assert_eq!(
        expect(DType::F32, Codec::None)?,
        (serde_json::json!("<f4"), serde_json::json!(0.0))
    );
    let compressor = |codec: Codec| -> Result<serde_json::Value> {
        let p = dir
            .path()
            .join(format!("c_{}.zarr", codec.to_string().replace(':', "_")));
        ZarrWriter::create(&p, &[3], DType::I32, &[2], &v2_opts(codec))?.finish()?;
        Ok(json_file(&p.join(".zarray"))["compressor"].clone())
    };
    assert_eq!(compressor(Codec::None)?, serde_json::Value::Null);
    assert_eq!(
        compressor(Codec::Zstd { level: 7 })?,
        serde_json::json!({"id": "zstd", "level": 7})
    );
    assert_eq!(
        compressor(Codec::Gzip { level: 1 })?,
        serde_json::json!({"id": "gzip", "level": 1})
    );
    assert_eq!(
        compressor(Codec::Blosc {
            cname: BloscCname::Zstd,
            level: 9
        })?,
        serde_json::json!({"id": "blosc", "cname": "zstd", "clevel": 9, "shuffle": 1, "blocksize": 0})
    );
    Ok(())
}

#[test]
fn v2_zero_d_empty_and_overwrite() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("scalar.zarr");
    let data = Block::F64(ArrayD::from_elem(IxDyn(&[]), 2.5));
    write(&path, &data, &[], &v2_opts(Codec::default()))?;
    assert!(path.join("0").is_file(), "zarr-python's key of a 0-d chunk");
    assert_eq!(ZarrSource::open(&path)?.read_all()?, data);

    let path = dir.path().join("empty.zarr");
    let data = Block::zeros(DType::I32, &[0, 3]);
    write(&path, &data, &[2, 2], &v2_opts(Codec::default()))?;
    assert_eq!(ZarrSource::open(&path)?.read_all()?, data);

    // A v2 array is refused without overwrite and replaced (by v3, then v2 again) with it.
    let err = ZarrWriter::create(&path, &[3], DType::U8, &[3], &v2_opts(Codec::None)).unwrap_err();
    assert!(err.to_string().contains("empty.zarr") && err.to_string().contains("overwrite"));
    let overwrite = WriteOptions {
        overwrite: true,
        ..WriteOptions::default()
    };
    let v3 = sample(DType::U8, &[3]);
    write(&path, &v3, &[2], &overwrite)?;
    assert!(!path.join(".zarray").exists() && !path.join(".zattrs").exists());
    assert_eq!(ZarrSource::open(&path)?.read_all()?, v3);
    let v2 = sample(DType::I16, &[5]);
    write(
        &path,
        &v2,
        &[2],
        &WriteOptions {
            overwrite: true,
            ..v2_opts(Codec::None)
        },
    )?;
    assert!(!path.join("zarr.json").exists() && !path.join("c").exists());
    assert_eq!(ZarrSource::open(&path)?.read_all()?, v2);
    Ok(())
}

fn sharded(shards: &[usize], codec: Codec) -> WriteOptions {
    WriteOptions {
        codec,
        shards: Some(shards.to_vec()),
        ..WriteOptions::default()
    }
}

#[test]
fn sharded_round_trip_ragged() -> TestResult {
    let dir = tempfile::tempdir()?;
    for (i, codec) in ALL_CODECS.into_iter().enumerate() {
        for dtype in [DType::F64, DType::Bool, DType::U8, DType::I32] {
            let path = dir.path().join(format!("{i}_{dtype}.zarr"));
            // 13x11 in chunks 3x2, shards 6x4: ragged inner chunks and ragged shards.
            let data = sample(dtype, &[13, 11]);
            write(&path, &data, &[3, 2], &sharded(&[6, 4], codec))?;
            let src = ZarrSource::open(&path)?;
            assert_eq!(src.chunk_shape(), &[3, 2]);
            assert_eq!(src.shard_shape(), Some(&[6, 4][..]));
            assert_eq!(src.read_all()?, data, "{codec} {dtype}");
            assert_eq!(src.read_chunk(&[4, 5])?, slice(&data, &[12, 10], &[1, 1]));
            assert_eq!(
                src.read_region(&[5, 3], &[4, 6])?,
                slice(&data, &[5, 3], &[4, 6])
            );
        }
    }
    Ok(())
}

#[test]
fn sharded_metadata_and_objects() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("s.zarr");
    let sink = ZarrWriter::create(
        &path,
        &[10, 9],
        DType::I16,
        &[2, 3],
        &sharded(&[4, 9], Codec::Gzip { level: 2 }),
    )?;
    assert_eq!(sink.chunk_shape(), &[2, 3]);
    assert_eq!(sink.shard_shape(), Some(&[4, 9][..]));
    assert_eq!(sink.write_shape(), &[4, 9]);
    let meta = zarr_json(&path);
    assert_eq!(
        meta["chunk_grid"]["configuration"]["chunk_shape"],
        serde_json::json!([4, 9])
    );
    let codecs = meta["codecs"].as_array().unwrap();
    assert_eq!(codecs.len(), 1);
    assert_eq!(codecs[0]["name"], "sharding_indexed");
    let cfg = &codecs[0]["configuration"];
    assert_eq!(cfg["chunk_shape"], serde_json::json!([2, 3]));
    assert_eq!(
        cfg["codecs"],
        serde_json::json!([
            {"name": "bytes", "configuration": {"endian": "little"}},
            {"name": "gzip", "configuration": {"level": 2}}
        ])
    );
    assert_eq!(
        cfg["index_codecs"],
        serde_json::json!([
            {"name": "bytes", "configuration": {"endian": "little"}},
            {"name": "crc32c"}
        ])
    );
    assert_eq!(cfg["index_location"], "end");
    // One object per shard; an all-zero shard is not stored; the last shard is ragged.
    let data = sample(DType::I16, &[10, 9]);
    sink.write_chunk(&[0, 0], &Block::zeros(DType::I16, &[4, 9]))?;
    sink.write_chunk(&[1, 0], &slice(&data, &[4, 0], &[4, 9]))?;
    sink.write_chunk(&[2, 0], &slice(&data, &[8, 0], &[2, 9]))?;
    // Blocks must be whole shards.
    let err = sink.write_chunk(&[0, 0], &Block::zeros(DType::I16, &[2, 3]));
    assert!(matches!(err, Err(Error::Internal { .. })));
    assert!(
        sink.write_chunk(&[3, 0], &Block::zeros(DType::I16, &[4, 9]))
            .is_err()
    );
    sink.finish()?;
    assert!(!path.join("c/0/0").exists());
    assert!(path.join("c/1/0").is_file() && path.join("c/2/0").is_file());
    assert_eq!(walk(&path).len(), 3, "zarr.json and two shards");
    let src = ZarrSource::open(&path)?;
    assert!(!src.is_incomplete_write());
    assert_eq!(
        src.read_region(&[4, 0], &[6, 9])?,
        slice(&data, &[4, 0], &[6, 9])
    );
    assert_eq!(src.read_chunk(&[0, 0])?, Block::zeros(DType::I16, &[2, 3]));
    Ok(())
}

#[test]
fn shard_and_format_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let create = |name: &str, chunks: &[usize], opts: &WriteOptions| {
        let path = dir.path().join(name);
        let err = ZarrWriter::create(&path, &[10, 10], DType::F32, chunks, opts).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
        assert!(!path.exists(), "{name}: nothing is created");
        err.to_string()
    };
    let err = create("a.zarr", &[3, 2], &sharded(&[6, 5], Codec::None));
    assert!(
        err.contains("(6, 5)") && err.contains("(3, 2)") && err.contains("multiple"),
        "{err}"
    );
    assert!(err.contains("a.zarr"), "{err}");
    assert_eq!(err.matches("invalid argument").count(), 1, "{err}");
    let err = create("b.zarr", &[3, 2], &sharded(&[6], Codec::None));
    assert!(err.contains("(6,)") && err.contains("(3, 2)"), "{err}");
    let err = create("c.zarr", &[3, 2], &sharded(&[0, 2], Codec::None));
    assert!(err.contains("(0, 2)"), "{err}");
    let v2_sharded = WriteOptions {
        zarr_format: ZarrFormat::V2,
        ..sharded(&[6, 4], Codec::None)
    };
    let err = create("d.zarr", &[3, 2], &v2_sharded);
    assert!(err.contains("format 2") && err.contains("(6, 4)"), "{err}");

    // write_shape: the block shape the writer takes.
    assert_eq!(WriteOptions::default().write_shape(&[3, 2])?, vec![3, 2]);
    assert_eq!(
        sharded(&[6, 4], Codec::None).write_shape(&[3, 2])?,
        vec![6, 4]
    );
    assert_eq!(
        sharded(&[3, 2], Codec::None).write_shape(&[3, 2])?,
        vec![3, 2]
    );
    assert_eq!(ZarrFormat::from_number(2)?, ZarrFormat::V2);
    assert_eq!(ZarrFormat::from_number(3)?, ZarrFormat::V3);
    assert!(ZarrFormat::from_number(4).is_err());
    Ok(())
}

/// Options writing uncompressed chunks in `format`.
fn raw_opts(format: ZarrFormat) -> WriteOptions {
    WriteOptions {
        codec: Codec::None,
        zarr_format: format,
        ..WriteOptions::default()
    }
}

#[test]
fn uncompressed_chunks_are_mapped_large_and_read_directly_small() -> TestResult {
    let dir = tempfile::tempdir()?;
    // Chunks of 1100 x 1000 elements (>= 1 MiB for every dtype) are mapped; chunks of
    // 30 x 20 are read with one read. Both grids are ragged.
    for (chunks, mapped) in [([1100, 1000], true), ([30, 20], false)] {
        for format in [ZarrFormat::V3, ZarrFormat::V2] {
            for dtype in [DType::F64, DType::I32, DType::U8, DType::Bool] {
                let path = dir
                    .path()
                    .join(format!("{dtype}-{format:?}-{}.zarr", chunks[0]));
                let data = sample(dtype, &[2300, 1100]);
                write(&path, &data, &chunks, &raw_opts(format))?;
                let src = ZarrSource::open(&path)?;
                let grid = crate::grid::ChunkGrid::regular(&[2300, 1100], &chunks);
                for b in 0..grid.nblocks() {
                    let idx = grid.unlinear(b);
                    let region = grid.region(&idx);
                    let want = slice(&data, &region.start, &region.shape);
                    let map = src.map_chunk(&idx)?;
                    // bool bytes must be validated, so bool chunks are never mapped.
                    assert_eq!(
                        map.is_some(),
                        mapped && dtype != DType::Bool,
                        "{path:?} {idx:?}"
                    );
                    if let Some(m) = map {
                        assert_eq!(m.shape(), want.shape());
                        assert_eq!(m.to_block(), want, "{path:?} {idx:?}");
                    }
                    assert_eq!(src.read_chunk(&idx)?, want, "{path:?} {idx:?}");
                }
                assert_eq!(src.read_all()?, data);
            }
        }
    }
    Ok(())
}

#[test]
fn compressed_or_foreign_layouts_are_not_read_directly() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = sample(DType::F64, &[400, 400]);
    // zstd: decoded by zarrs.
    let path = dir.path().join("zstd.zarr");
    let opts = WriteOptions {
        codec: Codec::Zstd { level: 3 },
        ..WriteOptions::default()
    };
    write(&path, &data, &[400, 400], &opts)?;
    let src = ZarrSource::open(&path)?;
    assert!(src.map_chunk(&[0, 0])?.is_none());
    assert_eq!(src.read_chunk(&[0, 0])?, data);
    // A v2 array in Fortran order or big-endian: its bytes are not C-order native elements.
    for (key, value) in [("order", "F"), ("dtype", ">f8")] {
        let path = dir.path().join(format!("v2-{key}.zarr"));
        write(&path, &data, &[400, 400], &raw_opts(ZarrFormat::V2))?;
        let mut meta = json_file(&path.join(".zarray"));
        meta[key] = serde_json::Value::from(value);
        std::fs::write(path.join(".zarray"), meta.to_string())?;
        let src = ZarrSource::open(&path)?;
        assert!(src.map_chunk(&[0, 0])?.is_none(), "{key}");
        assert_ne!(src.read_chunk(&[0, 0])?, data, "{key}: read through zarrs");
    }
    Ok(())
}

#[test]
fn direct_reads_of_missing_and_damaged_chunks() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = sample(DType::F64, &[800, 400]);
    let path = dir.path().join("a.zarr");
    write(&path, &data, &[400, 400], &raw_opts(ZarrFormat::V3))?;
    // A chunk never written reads as the fill value.
    std::fs::remove_file(path.join("c/0/0"))?;
    let src = ZarrSource::open(&path)?;
    assert!(src.map_chunk(&[0, 0])?.is_none());
    assert_eq!(
        src.read_chunk(&[0, 0])?,
        Block::zeros(DType::F64, &[400, 400])
    );
    // A truncated chunk file is not mapped; reading it is an error naming the chunk.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path.join("c/1/0"))?;
    file.set_len(1000)?;
    assert!(src.map_chunk(&[1, 0])?.is_none());
    let err = src.read_chunk(&[1, 0]).unwrap_err().to_string();
    assert!(err.contains("c/1/0"), "{err}");
    Ok(())
}

/// The `brickwork` attribute without its write id, checked to be one (32 hex digits).
fn without_write_id(attr: &serde_json::Value) -> serde_json::Value {
    let mut attr = attr.clone();
    let id = attr
        .as_object_mut()
        .and_then(|m| m.remove("write_id"))
        .unwrap_or_default();
    assert!(
        id.as_str()
            .is_some_and(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())),
        "write id {id}"
    );
    attr
}
