//! Interrupted writes: reading an incomplete array is an error unless allowed, and a
//! resumed write keeps the valid chunks, recomputes the rest and ends byte-identical to an
//! uninterrupted write. `kill -9` of the real binary at random points is in
//! `killed_writes_resume_byte_identical` (CLI builds only).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use brickwork::store::{ZarrFormat, ZarrSource, ZarrWriter};
use brickwork::{Array, Codec, ComputeOptions, DType, Error, ReadOptions, WriteOptions};

use crate::common::*;

/// Every file under `dir`, by path relative to it, with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).expect("list") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                pending.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("under dir").to_path_buf();
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

/// The metadata files with the write id (new for every write that creates an array, kept
/// by a resumed one) blanked.
fn without_write_id(mut m: BTreeMap<PathBuf, Vec<u8>>) -> BTreeMap<PathBuf, Vec<u8>> {
    for (k, v) in m.iter_mut() {
        let name = k.file_name().unwrap_or_default();
        if name != "zarr.json" && name != ".zattrs" {
            continue;
        }
        let text = String::from_utf8_lossy(v).into_owned();
        if let Some(at) = text.find("\"write_id\": \"") {
            let start = at + "\"write_id\": \"".len();
            let mut t = text.clone();
            t.replace_range(start..start + 32, &"0".repeat(32));
            *v = t.into_bytes();
        }
    }
    m
}

/// Asserts two directories hold the same files with the same bytes (but the write id).
fn assert_same_files(got: &Path, want: &Path) {
    let (g, w) = (without_write_id(files(got)), without_write_id(files(want)));
    let names = |m: &BTreeMap<PathBuf, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&g),
        names(&w),
        "{} vs {}",
        got.display(),
        want.display()
    );
    for (k, v) in &w {
        assert!(
            g[k] == *v,
            "{} differs from {}",
            k.display(),
            want.display()
        );
    }
}

/// Copies a directory tree.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("list") {
        let p = entry.expect("entry").path();
        let dst = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_dir(&p, &dst);
        } else {
            std::fs::copy(&p, &dst).expect("copy");
        }
    }
}

/// Rewrites the array's metadata to say `"complete": false`, as an interrupted write
/// leaves it.
fn mark_incomplete(path: &Path, format: ZarrFormat) {
    let file = match format {
        ZarrFormat::V3 => path.join("zarr.json"),
        ZarrFormat::V2 => path.join(".zattrs"),
    };
    let text = std::fs::read_to_string(&file).expect("metadata");
    let text = text.replace("\"complete\": true", "\"complete\": false");
    assert!(text.contains("\"complete\": false"), "{text}");
    std::fs::write(&file, text).expect("write metadata");
}

/// The chunk files of an array (not metadata).
fn chunk_files(path: &Path) -> Vec<PathBuf> {
    files(path)
        .into_keys()
        .filter(|k| {
            let name = k.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !matches!(name, "zarr.json" | ".zarray" | ".zattrs")
        })
        .collect()
}

fn workload() -> Result<Array, Error> {
    let x = Array::random(&[90, 70], &[16, 12], 7)?;
    Ok((&x + &x.t().slice(brickwork::s![..70, ..])?.t()) * 3.0)
}

#[test]
fn reading_an_incomplete_array_is_an_error_unless_allowed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("part.zarr");
    let x = Array::random(&[20, 20], &[10, 10], 1)?;
    let sink = ZarrWriter::create(
        &path,
        &[20, 20],
        DType::F64,
        &[10, 10],
        &WriteOptions::default(),
    )?;
    sink.write_chunk(&[0, 1], &Array::random(&[10, 10], &[10, 10], 2)?.compute()?)?;
    drop(sink); // never finished: marked incomplete
    for err in [
        Array::from_zarr(&path).unwrap_err(),
        ZarrSource::open(&path).unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                Error::IncompleteArray {
                    missing: 3,
                    total: 4,
                    ..
                }
            ),
            "{err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("part.zarr") && msg.contains("3 of 4 chunks missing"),
            "{msg}"
        );
        assert!(
            msg.contains("--allow-incomplete") && msg.contains("--resume"),
            "{msg}"
        );
    }
    let allow = ReadOptions {
        allow_incomplete: true,
        ..ReadOptions::default()
    };
    let got = Array::from_zarr_with(&path, &allow)?.compute_as::<f64>()?;
    assert_eq!(got.shape(), &[20, 20]);
    assert_eq!(got[[0, 0]], 0.0, "a missing chunk reads as the fill value");
    // A finished write opens as before.
    x.to_zarr(dir.path().join("whole.zarr"), &WriteOptions::default())?;
    Array::from_zarr(dir.path().join("whole.zarr"))?.compute()?;
    Ok(())
}

/// The layouts a resumed write must handle: compressed v3, uncompressed v3 (chunks written
/// raw), v2, sharded v3.
fn layouts() -> Vec<(&'static str, WriteOptions)> {
    let base = WriteOptions {
        chunks: Some(vec![20, 15]),
        ..WriteOptions::default()
    };
    vec![
        ("zstd", base.clone()),
        (
            "raw",
            WriteOptions {
                codec: Codec::None,
                ..base.clone()
            },
        ),
        (
            "v2",
            WriteOptions {
                zarr_format: ZarrFormat::V2,
                ..base.clone()
            },
        ),
        (
            "sharded",
            WriteOptions {
                shards: Some(vec![40, 30]),
                ..base
            },
        ),
    ]
}

#[test]
fn a_resumed_write_keeps_valid_chunks_and_ends_byte_identical() -> TestResult {
    let dir = tempfile::tempdir()?;
    let a = workload()?;
    for (name, opts) in layouts() {
        for scheduler in [ComputeOptions::synchronous(), ComputeOptions::threads(2)] {
            let want = dir.path().join(format!("{name}-want.zarr"));
            if !want.exists() {
                a.to_zarr_with(&want, &opts, &scheduler)?;
            }
            // An interrupted write: some chunks missing, one left as a temporary file, one
            // damaged under its final key, metadata saying incomplete.
            let got = dir
                .path()
                .join(format!("{name}-got-{}.zarr", scheduler.scheduler));
            copy_dir(&want, &got);
            mark_incomplete(&got, opts.zarr_format);
            let chunks = chunk_files(&got);
            assert!(chunks.len() >= 4, "{name}: {chunks:?}");
            for gone in chunks.iter().step_by(3) {
                std::fs::remove_file(got.join(gone))?;
            }
            let tmp = got.join(&chunks[1]).with_extension("tmp");
            std::fs::write(&tmp, b"partial")?;
            std::fs::write(got.join(&chunks[2]), b"")?;
            let err = Array::from_zarr(&got).unwrap_err();
            assert!(matches!(err, Error::IncompleteArray { .. }), "{err}");

            let resume = WriteOptions {
                resume: true,
                ..opts.clone()
            };
            let m = a.to_zarr_with(&got, &resume, &scheduler)?;
            assert_same_files(&got, &want);
            assert!(
                m.tasks > 0 && m.bytes_output < a.nbytes(),
                "{name}: only missing and damaged chunks are written: {m:?}"
            );
            // Resuming a finished write does nothing.
            let m = a.to_zarr_with(&got, &resume, &scheduler)?;
            assert_eq!(m.tasks, 0, "{name}");
            assert_same_files(&got, &want);
        }
    }
    Ok(())
}

#[test]
fn resume_creates_what_is_missing_and_refuses_what_is_not_its_array() -> TestResult {
    let dir = tempfile::tempdir()?;
    let a = workload()?;
    let resume = WriteOptions {
        resume: true,
        chunks: Some(vec![20, 15]),
        ..WriteOptions::default()
    };
    // Nothing there, or only what an interrupted `create` leaves: a fresh write.
    let want = dir.path().join("want.zarr");
    a.to_zarr(&want, &resume)?;
    let early = dir.path().join("early.zarr");
    std::fs::create_dir(&early)?;
    std::fs::write(early.join("zarr.json.tmp"), b"{")?;
    a.to_zarr(&early, &resume)?;
    assert_same_files(&early, &want);

    let incomplete = |name: &str| -> Result<PathBuf, Box<dyn std::error::Error>> {
        let p = dir.path().join(name);
        copy_dir(&want, &p);
        mark_incomplete(&p, ZarrFormat::V3);
        Ok(p)
    };
    let message = |r: Result<brickwork::Metrics, Error>| r.unwrap_err().to_string();

    // Another computation.
    let p = incomplete("other.zarr")?;
    let msg = message((&a + 1.0).to_zarr(&p, &resume));
    assert!(msg.contains("another computation"), "{msg}");
    // Other chunks or codec: the metadata that differs is named.
    let msg = message(a.to_zarr(
        &p,
        &WriteOptions {
            chunks: Some(vec![10, 15]),
            ..resume.clone()
        },
    ));
    assert!(
        msg.contains("chunk_grid") && msg.contains("other metadata"),
        "{msg}"
    );
    let msg = message(a.to_zarr(
        &p,
        &WriteOptions {
            codec: Codec::None,
            ..resume.clone()
        },
    ));
    assert!(msg.contains("codecs"), "{msg}");
    // Not written by brickwork, or not a Zarr array at all.
    let text = std::fs::read_to_string(p.join("zarr.json"))?;
    let json: serde_json::Value = serde_json::from_str(&text)?;
    let mut stripped = json.clone();
    stripped["attributes"]
        .as_object_mut()
        .ok_or("attributes")?
        .remove("brickwork");
    std::fs::write(p.join("zarr.json"), serde_json::to_vec_pretty(&stripped)?)?;
    let msg = message(a.to_zarr(&p, &resume));
    assert!(msg.contains("not written by brickwork"), "{msg}");
    let junk = dir.path().join("junk");
    std::fs::create_dir(&junk)?;
    std::fs::write(junk.join("notes.txt"), b"mine")?;
    let msg = message(a.to_zarr(&junk, &resume));
    assert!(msg.contains("not a Zarr array"), "{msg}");
    assert!(junk.join("notes.txt").exists());
    // Resume and overwrite together make no sense.
    let msg = message(a.to_zarr(
        &want,
        &WriteOptions {
            overwrite: true,
            ..resume.clone()
        },
    ));
    assert!(msg.contains("resume and overwrite"), "{msg}");
    Ok(())
}

#[test]
fn resume_refuses_when_a_source_was_overwritten_since_the_interrupted_write() -> TestResult {
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("src.zarr");
    let replace = WriteOptions {
        overwrite: true,
        ..WriteOptions::default()
    };
    workload()?.to_zarr(&src, &replace)?;
    let out = dir.path().join("out.zarr");
    let resume = WriteOptions {
        resume: true,
        ..WriteOptions::default()
    };
    let twice = || -> Result<Array, Error> { Ok(Array::from_zarr(&src)? * 2.0) };
    twice()?.to_zarr(&out, &resume)?;
    // The same source: resumed.
    mark_incomplete(&out, ZarrFormat::V3);
    twice()?.to_zarr(&out, &resume)?;
    // The source overwritten (a new generation) between the interruption and the resume:
    // the kept chunks would be of the old data, the others of the new.
    mark_incomplete(&out, ZarrFormat::V3);
    (workload()? + 1.0).to_zarr(&src, &replace)?;
    let msg = twice()?.to_zarr(&out, &resume).unwrap_err().to_string();
    assert!(msg.contains("sources that have changed"), "{msg}");
    assert!(msg.contains("out.zarr"), "{msg}");
    Ok(())
}

#[test]
fn a_resumed_rechunk_through_an_intermediate_keeps_its_chunks() -> TestResult {
    // Rows to columns under a limit that forces the two-pass rechunk: the second pass
    // resumes with the fingerprint of the original computation, not the intermediate's.
    let dir = tempfile::tempdir()?;
    let rows = dir.path().join("rows.zarr");
    Array::random(&[400, 400], &[10, 400], 3)?.to_zarr(
        &rows,
        &WriteOptions {
            codec: Codec::None,
            ..WriteOptions::default()
        },
    )?;
    let x = Array::from_zarr(&rows)?;
    let opts = WriteOptions {
        chunks: Some(vec![400, 10]),
        ..WriteOptions::default()
    };
    let limited = ComputeOptions::threads(2).with_memory_limit(400 << 10);
    let want = dir.path().join("want.zarr");
    x.to_zarr_with(&want, &opts, &limited)?;
    let got = dir.path().join("got.zarr");
    copy_dir(&want, &got);
    mark_incomplete(&got, ZarrFormat::V3);
    for gone in chunk_files(&got).iter().step_by(2) {
        std::fs::remove_file(got.join(gone))?;
    }
    let resume = WriteOptions {
        resume: true,
        ..opts
    };
    x.to_zarr_with(&got, &resume, &limited)?;
    assert_same_files(&got, &want);
    Ok(())
}

/// The brickwork binary killed with SIGKILL at random points of a multi-second write (30
/// times, compressed and raw chunks): what is under a final chunk key is always a whole
/// chunk, byte-identical to the uninterrupted write's (no torn chunks), and `--resume`
/// then ends byte-identical to it. `BRICKWORK_KILL_SEED` replays a run's kill points.
#[test]
fn killed_writes_resume_byte_identical() -> TestResult {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    // The write must last long enough for kills to land in it: 6000² first, larger on a
    // machine where that takes under 300 ms.
    let program =
        |n: usize| format!("x = random(({n}, {n}), chunks=(250, 250), seed=3); (x + x.T) * 2");
    let mut n = 6000;
    let eval = |n: usize, out: &Path, codec: &str, resume: bool| {
        let mut cmd = Command::new(crate::common::brickwork_exe());
        cmd.args(["eval", &program(n), "-q", "--codec", codec, "--output"])
            .arg(out)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if resume {
            cmd.arg("--resume");
        }
        cmd
    };
    let seed = std::env::var("BRICKWORK_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("killed_writes_resume_byte_identical: BRICKWORK_KILL_SEED={seed}");
    let mut rng = seed;
    let mut uniform = move || {
        // SplitMix64: a uniform number in [0, 1).
        rng = rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let dir = tempfile::tempdir()?;
    let (mut before, mut during, mut after) = (0, 0, 0);
    for codec in ["zstd", "none"] {
        let want = dir.path().join(format!("want-{codec}.zarr"));
        let full = loop {
            let start = Instant::now();
            let o = eval(n, &want, codec, false).output()?;
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let full = start.elapsed();
            if full > Duration::from_millis(300) || n >= 12000 {
                break full;
            }
            std::fs::remove_dir_all(&want)?;
            n = n * 3 / 2;
        };
        let reference = files(&want);
        for i in 0..15 {
            let got = dir.path().join(format!("got-{codec}-{i}.zarr"));
            let mut child = eval(n, &got, codec, false).spawn()?;
            std::thread::sleep(full.mul_f64(uniform()));
            child.kill()?;
            child.wait()?;
            // No torn chunk: every object under its final key is whole.
            let left = if got.exists() {
                files(&got)
            } else {
                BTreeMap::new()
            };
            for (key, bytes) in &left {
                let name = key.to_string_lossy();
                if name.ends_with(".tmp") || name.ends_with("zarr.json") {
                    continue;
                }
                assert!(
                    reference.get(key) == Some(bytes),
                    "torn or wrong chunk {name} after a kill ({codec}, seed {seed})"
                );
            }
            let chunks = left.keys().filter(|k| k.starts_with("c")).count();
            match (got.join("zarr.json").exists(), chunks) {
                (false, _) => before += 1,
                (true, n) if n < reference.len() - 1 => during += 1,
                _ => after += 1,
            }
            let o = eval(n, &got, codec, true).output()?;
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert_same_files(&got, &want);
            std::fs::remove_dir_all(&got)?;
        }
        std::fs::remove_dir_all(&want)?;
        assert!(full > Duration::from_millis(300), "the write took {full:?}");
    }
    eprintln!(
        "kills: {before} before the output existed, {during} while writing chunks, {after} after the last chunk"
    );
    assert!(
        during >= 10,
        "too few kills landed mid-write: {before}/{during}/{after}"
    );
    Ok(())
}

/// The CLI refuses to read an incomplete array, naming it and counting its missing chunks,
/// unless `--allow-incomplete`; `--resume` and `--overwrite` exclude each other.
#[test]
fn the_cli_refuses_incomplete_inputs_unless_allowed() -> TestResult {
    use std::process::Command;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("part.zarr");
    let sink = ZarrWriter::create(
        &path,
        &[20, 20],
        DType::F64,
        &[10, 10],
        &WriteOptions::default(),
    )?;
    sink.write_chunk(
        &[1, 1],
        &Array::full(&[10, 10], &[10, 10], 1.5.into(), DType::F64)?.compute()?,
    )?;
    drop(sink);
    let input = format!("x={}", path.display());
    let run = |extra: &[&str]| {
        Command::new(crate::common::brickwork_exe())
            .args(["eval", "-i", &input, "x.sum()"])
            .args(extra)
            .output()
    };
    let o = run(&[])?;
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("part.zarr"),
        "{err}"
    );
    assert!(
        err.contains("is incomplete") && err.contains("3 of 4 chunks missing"),
        "{err}"
    );
    let o = run(&["--allow-incomplete"])?;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "150.0");
    let o = run(&["--output", "y.zarr", "--resume", "--overwrite"])?;
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    Ok(())
}
