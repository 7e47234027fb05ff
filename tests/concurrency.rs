//! Concurrent writers, readers racing an overwrite or a region write, signals and
//! leftovers (issue 25): the real binary in child processes, and the library where a
//! moment must be caught exactly. Kept to a few seconds each: small arrays, one thread
//! each; 50 randomized reader/writer races (`BRICKWORK_RACES` changes the count).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use brickwork::store::{ZarrFormat, ZarrRegion, ZarrSource};
use brickwork::{Array, Codec, ComputeOptions, Error, ReadOptions, WriteOptions};

use crate::common::TestResult;

/// A slow enough write (about half a second on one thread).
const SLOW: &str = "x = random((2000, 2000), chunks=(200, 200), seed=1); (x * 2 + x.T) ** 0.5";
/// Spills a few MB under `--memory-limit 4MB` (about 0.4 s on one thread).
const SPILLING: &str = "x = random((8, 1200, 1200), chunks=(1, 200, 200), seed=3); \
                        y = x - x.mean(axis=0); (y * y).sum(axis=2).max(axis=1)";
const OTHER: &str = "random((2000, 2000), chunks=(200, 200), seed=2)";

fn brickwork(tmp: &Path) -> Command {
    let mut cmd = Command::new(crate::common::brickwork_exe());
    cmd.env("TMPDIR", tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn eval(tmp: &Path, program: &str, out: &Path, extra: &[&str]) -> Command {
    let mut cmd = brickwork(tmp);
    cmd.args(["eval", program, "-q", "--threads", "1", "--output"])
        .arg(out)
        .args(extra);
    cmd
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn lock_file(out: &Path) -> PathBuf {
    let name = out.file_name().unwrap().to_string_lossy();
    out.with_file_name(format!(".{name}.brickwork-lock"))
}

/// Waits until `ready` (polling every millisecond) or `child` ends; true if ready.
fn wait_until(child: &mut Child, ready: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if ready() {
            return true;
        }
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

/// Every temporary, lock file or `.tmp` under `dir` (recursively).
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.contains("brickwork-") || name.ends_with(".tmp") {
                found.push(p.clone());
            }
            if p.is_dir() {
                pending.push(p);
            }
        }
    }
    found
}

fn same_array(a: &Path, b: &Path) -> TestResult {
    let (a, b) = (ZarrSource::open(a)?, ZarrSource::open(b)?);
    assert!(a.read_all()? == b.read_all()?, "arrays differ");
    Ok(())
}

/// Starts `first`, waits until it holds the lock of `out`, runs `second` to its end: the
/// second is refused naming the first's pid, the first finishes.
fn second_writer_is_refused(mut first: Command, mut second: Command, out: &Path) -> TestResult {
    let mut a = first.spawn()?;
    let locked = wait_until(&mut a, || {
        std::fs::read_to_string(lock_file(out)).is_ok_and(|t| t.contains("pid"))
    });
    assert!(locked, "the first writer never held the lock");
    let b = second.output()?;
    let a_pid = a.id();
    let a = a.wait_with_output()?;
    assert!(a.status.success(), "first writer: {}", stderr(&a));
    assert_eq!(b.status.code(), Some(1), "second writer: {}", stderr(&b));
    let err = stderr(&b);
    assert!(
        err.contains("being written by another brickwork process")
            && err.contains(&format!("pid {a_pid} ")),
        "{err}"
    );
    assert!(!lock_file(out).exists(), "the lock file is removed");
    Ok(())
}

#[test]
fn two_writers_of_one_path_one_proceeds_the_other_names_the_holder() -> TestResult {
    let dir = tempfile::tempdir()?;
    let tmp = dir.path();
    let want = tmp.join("want.zarr");
    let o = eval(tmp, SLOW, &want, &[]).output()?;
    assert!(o.status.success(), "{}", stderr(&o));
    let out = tmp.join("out.zarr");
    // new/new, new/overwrite, new/resume.
    for extra in [&[][..], &["--overwrite"], &["--resume"]] {
        let _ = std::fs::remove_dir_all(&out);
        second_writer_is_refused(
            eval(tmp, SLOW, &out, &[]),
            eval(tmp, OTHER, &out, extra),
            &out,
        )?;
        same_array(&out, &want)?;
    }
    // overwrite/new: the overwriting writer holds the lock before it deletes.
    second_writer_is_refused(
        eval(tmp, SLOW, &out, &["--overwrite"]),
        eval(tmp, OTHER, &out, &["--overwrite"]),
        &out,
    )?;
    same_array(&out, &want)?;
    // region/region into an existing array.
    let region = ["--region", "0:2000,0:2000"];
    second_writer_is_refused(
        eval(tmp, SLOW, &out, &region),
        eval(tmp, OTHER, &out, &region),
        &out,
    )?;
    same_array(&out, &want)?;
    assert_eq!(leftovers(tmp), Vec::<PathBuf>::new());
    Ok(())
}

/// A minimal SplitMix64 in [0, 1) for the race timings; the seed is printed.
fn uniform(seed: &mut u64) -> f64 {
    *seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

#[test]
fn a_reader_racing_an_overwrite_or_a_region_write_errors_or_reads_one_generation() -> TestResult {
    let dir = tempfile::tempdir()?;
    let tmp = dir.path();
    // Small enough that a race costs about a fifth of a second, in chunks enough (64) for
    // the two to interleave.
    let generation = |seed: usize| format!("random((800, 800), chunks=(100, 100), seed={seed})");
    let reader = |x: &Path| {
        let mut cmd = brickwork(tmp);
        cmd.args([
            "eval",
            "(x * x).sum() + x.std()",
            "-q",
            "--threads",
            "1",
            "--input",
        ])
        .arg(format!("x={}", x.display()));
        cmd
    };
    let mut value = Vec::new();
    for seed in [1, 2] {
        let p = tmp.join(format!("gen{seed}.zarr"));
        let o = eval(tmp, &generation(seed), &p, &["--codec", "none"]).output()?;
        assert!(o.status.success(), "{}", stderr(&o));
        let o = reader(&p).output()?;
        assert!(o.status.success(), "{}", stderr(&o));
        value.push(String::from_utf8(o.stdout)?);
    }
    assert_ne!(value[0], value[1]);
    let x = tmp.join("x.zarr");
    let o = eval(tmp, &generation(1), &x, &["--codec", "none"]).output()?;
    assert!(o.status.success(), "{}", stderr(&o));
    let races: usize = std::env::var("BRICKWORK_RACES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64;
    eprintln!("reader races: seed {seed}");
    let start = Instant::now();
    let (mut errors, mut changed, mut old, mut new) = (0, 0, 0, 0);
    for i in 0..races {
        // Generations alternate; every other pair of races writes the new one into the
        // whole array as a region instead of overwriting it.
        let next = if i % 2 == 0 { 2 } else { 1 };
        let how: &[&str] = if i % 4 < 2 {
            &["--codec", "none", "--overwrite"]
        } else {
            &["--region", "0:800,0:800"]
        };
        // The reader starts up to 60 ms before the writer (it reads for about 40 ms) or up
        // to 150 ms after it (a write takes about 150 ms).
        let offset = uniform(&mut seed) * 0.21 - 0.06;
        let pause = Duration::from_secs_f64(offset.abs());
        let (r, w) = if offset < 0.0 {
            let r = reader(&x).spawn()?;
            std::thread::sleep(pause);
            (r, eval(tmp, &generation(next), &x, how).spawn()?)
        } else {
            let w = eval(tmp, &generation(next), &x, how).spawn()?;
            std::thread::sleep(pause);
            (reader(&x).spawn()?, w)
        };
        let w = w.wait_with_output()?;
        assert!(w.status.success(), "the write {how:?}: {}", stderr(&w));
        let r = r.wait_with_output()?;
        let out = String::from_utf8(r.stdout.clone())?;
        if !r.status.success() {
            let err = stderr(&r);
            assert!(
                err.starts_with("error: ") && !err.contains("panicked"),
                "{err}"
            );
            errors += 1;
            if err.contains("while it was being read") {
                changed += 1;
            }
        } else if out == value[next - 1] {
            new += 1;
        } else {
            assert_eq!(out, value[2 - next], "neither generation's value ({how:?})");
            old += 1;
        }
    }
    eprintln!(
        "reader races: {errors} errors ({changed} of them a source changed while read), \
         {old} old values, {new} new values in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A region write makes a new generation of the array: a reader that opened it before
/// fails at its next read, a reader opening it while the write runs (or after it was
/// interrupted) is refused until it is run again. With the library, to catch each moment
/// exactly; Zarr v3, v2, and a v2 array without `.zattrs` (as zarr-python may write one).
#[test]
fn a_region_write_is_a_new_generation_for_readers() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sync = ComputeOptions::synchronous();
    for (name, format) in [
        ("v3", ZarrFormat::V3),
        ("v2", ZarrFormat::V2),
        ("bare", ZarrFormat::V2),
    ] {
        let x = dir.path().join(format!("{name}.zarr"));
        let w = WriteOptions {
            codec: Codec::None,
            zarr_format: format,
            ..WriteOptions::default()
        };
        Array::random(&[40, 40], &[10, 10], 1)?.to_zarr_with(&x, &w, &sync)?;
        if name == "bare" {
            std::fs::remove_file(x.join(".zattrs"))?;
        }
        let reader = ZarrSource::open(&x)?;
        let before = reader.generation();
        assert!(before.is_some());
        reader.read_chunk(&[0, 0])?;
        let region = [0..20, 0..20];
        Array::random(&[20, 20], &[10, 10], 2)?.to_zarr_region_with(
            &x,
            &region,
            &WriteOptions::default(),
            &sync,
        )?;
        let err = reader.read_chunk(&[3, 3]).unwrap_err();
        assert!(matches!(err, Error::SourceChanged { .. }), "{name}: {err}");
        if name != "bare" {
            assert!(err.to_string().contains("region [0..20, 0..20]"), "{err}");
        }
        let after = ZarrSource::open(&x)?;
        assert_ne!(after.generation(), before, "{name}");
        // Begun and not finished: refused, naming this process as the writer.
        let mut running = ZarrRegion::open(&x, &[0..10, 0..10], false, &Default::default())?;
        running.begin()?;
        let err = ZarrSource::open(&x).unwrap_err();
        assert!(
            matches!(
                err,
                Error::RegionWriteUnfinished {
                    holder: Some(_),
                    ..
                }
            ),
            "{name}: {err}"
        );
        assert!(
            err.to_string()
                .contains(&format!("pid {} ", std::process::id())),
            "{err}"
        );
        // `brickwork info` shows it (and reads the array whatever its state).
        let info = |x: &Path| -> Result<String, Box<dyn std::error::Error>> {
            let o = brickwork(dir.path()).arg("info").arg(x).output()?;
            assert!(o.status.success(), "{}", stderr(&o));
            Ok(String::from_utf8(o.stdout)?)
        };
        let shown = info(&x)?;
        assert!(
            shown.contains("region write into [0..10, 0..10] is running (")
                && shown.contains(&format!("pid {}", std::process::id())),
            "{name}: {shown}"
        );
        // Interrupted: refused, saying what to do; readable on request; a rerun completes it.
        drop(running);
        let shown = info(&x)?;
        assert!(
            shown.contains("region write into [0..10, 0..10] was interrupted"),
            "{name}: {shown}"
        );
        let err = Array::from_zarr(&x).unwrap_err();
        assert!(
            matches!(err, Error::RegionWriteUnfinished { holder: None, .. }),
            "{name}: {err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("did not finish") && text.contains("--allow-incomplete"),
            "{text}"
        );
        let any = ReadOptions {
            allow_incomplete: true,
            ..ReadOptions::default()
        };
        ZarrSource::open_with(&x, &any)?;
        let values = Array::random(&[10, 10], &[10, 10], 3)?;
        values.to_zarr_region_with(&x, &[0..10, 0..10], &WriteOptions::default(), &sync)?;
        let back = ZarrSource::open(&x)?.read_region(&[0, 0], &[10, 10])?;
        assert!(back == values.compute()?, "{name}");
    }
    Ok(())
}

/// Sends `signal` to a child.
fn send(child: &Child, signal: i32) {
    // SAFETY: signals a child process of this test.
    unsafe { libc::kill(child.id() as i32, signal) };
}

/// Runs `cmd`, sends SIGTERM once `ready`, and checks: exit code 143, a message naming the
/// signal, and no temporary left in `dir` (the temporary directory included).
fn sigterm_leaves_nothing(mut cmd: Command, dir: &Path, ready: impl Fn() -> bool) -> TestResult {
    let mut child = cmd.spawn()?;
    assert!(wait_until(&mut child, ready), "never got mid-run");
    send(&child, libc::SIGTERM);
    let o = child.wait_with_output()?;
    assert_eq!(o.status.code(), Some(143), "{}", stderr(&o));
    assert!(stderr(&o).contains("SIGTERM"), "{}", stderr(&o));
    assert_eq!(leftovers(dir), Vec::<PathBuf>::new());
    Ok(())
}

/// Whether a name starting with `prefix` is in `dir`.
fn has(dir: &Path, prefix: &str) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with(prefix))
}

#[test]
fn sigterm_mid_run_exits_143_and_leaves_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    // eval writing a Zarr array.
    let out = d.join("e.zarr");
    sigterm_leaves_nothing(eval(d, SLOW, &out, &[]), d, || lock_file(&out).exists())?;
    // eval spilling into the temporary directory.
    let spilling = SPILLING;
    let mut cmd = brickwork(d);
    cmd.args([
        "eval",
        spilling,
        "-q",
        "--threads",
        "1",
        "--memory-limit",
        "4MB",
    ]);
    sigterm_leaves_nothing(cmd, d, || has(d, "brickwork-spill-"))?;
    // rechunk, rows to columns through an intermediate store, in each pass.
    let rows = d.join("rows.zarr");
    let o = eval(
        d,
        "random((2000, 2000), chunks=(10, 2000), seed=4)",
        &rows,
        &[],
    )
    .output()?;
    assert!(o.status.success(), "{}", stderr(&o));
    let cols = d.join("cols.zarr");
    let rechunk = || {
        let mut cmd = brickwork(d);
        cmd.args(["rechunk", "-q", "--threads", "1", "--memory-limit", "3MB"])
            .args([&rows, &cols])
            .args(["--chunks", "2000,10", "--overwrite"]);
        cmd
    };
    sigterm_leaves_nothing(rechunk(), d, || has(d, ".brickwork-rechunk-"))?;
    sigterm_leaves_nothing(rechunk(), d, || lock_file(&cols).exists())?;
    // import of a .npy file, export to .npy.
    let npy = d.join("x.npy");
    let mut cmd = brickwork(d);
    cmd.args(["export", "-q", "--threads", "1"])
        .args([&rows, &npy]);
    sigterm_leaves_nothing(cmd, d, || has(d, ".brickwork-export-"))?;
    let o = brickwork(d)
        .args(["export", "-q"])
        .args([&rows, &npy])
        .output()?;
    assert!(o.status.success(), "{}", stderr(&o));
    let imported = d.join("imported.zarr");
    let mut cmd = brickwork(d);
    cmd.args(["import", "-q", "--threads", "1", "--codec", "gzip:9"])
        .args([&npy, &imported])
        .args(["--chunks", "100,100"]);
    sigterm_leaves_nothing(cmd, d, || lock_file(&imported).exists())?;
    Ok(())
}

#[test]
fn after_sigkill_resume_or_clean_leaves_no_temporary() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let rows = d.join("rows.zarr");
    let o = eval(
        d,
        "random((2000, 2000), chunks=(10, 2000), seed=4)",
        &rows,
        &[],
    )
    .output()?;
    assert!(o.status.success(), "{}", stderr(&o));
    let cols = d.join("cols.zarr");
    let rechunk = |resume: bool| {
        let mut cmd = brickwork(d);
        cmd.args(["rechunk", "-q", "--threads", "1", "--memory-limit", "3MB"])
            .args([&rows, &cols])
            .args(["--chunks", "2000,10"]);
        if resume {
            cmd.arg("--resume");
        }
        cmd
    };
    // Killed in the second pass: the intermediate, the lock file and the output stay.
    let mut child = rechunk(false).spawn()?;
    assert!(wait_until(&mut child, || cols.join("zarr.json").exists()));
    child.kill()?;
    child.wait()?;
    assert!(!leftovers(d).is_empty(), "a kill leaves temporaries");
    // Rerun without --resume: refused with a hint; the dead run's intermediate is kept for
    // the --resume it points at, which reuses it and leaves nothing.
    let o = rechunk(false).output()?;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
    assert!(has(d, ".brickwork-rechunk-"), "{}", stderr(&o));
    let o = rechunk(true).output()?;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("brickwork: reusing "), "{}", stderr(&o));
    assert_eq!(leftovers(d), Vec::<PathBuf>::new());
    same_array(&rows, &cols)?;
    // Killed in the second pass, then the output removed by hand: a plain rerun removes
    // the intermediate, saying so.
    std::fs::remove_dir_all(&cols)?;
    let mut child = rechunk(false).spawn()?;
    assert!(wait_until(&mut child, || cols.join("zarr.json").exists()));
    child.kill()?;
    child.wait()?;
    std::fs::remove_dir_all(&cols)?;
    let o = rechunk(false).output()?;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("which has ended"), "{}", stderr(&o));
    assert_eq!(leftovers(d), Vec::<PathBuf>::new());
    // Killed while spilling: `clean` removes the spill store.
    let spilling = SPILLING;
    let mut cmd = brickwork(d);
    cmd.args([
        "eval",
        spilling,
        "-q",
        "--threads",
        "1",
        "--memory-limit",
        "4MB",
    ]);
    let mut child = cmd.spawn()?;
    assert!(wait_until(&mut child, || has(d, "brickwork-spill-")));
    child.kill()?;
    child.wait()?;
    assert!(has(d, "brickwork-spill-"));
    let o = brickwork(d).args(["clean"]).arg(&cols).output()?;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("spill temporary"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(leftovers(d), Vec::<PathBuf>::new());
    Ok(())
}

/// Every file under `a` equals the one under `b` (for `zarr.json`, but for the write id):
/// two writes of the same array are byte-identical.
fn same_files(a: &Path, b: &Path) -> TestResult {
    let mut pending = vec![PathBuf::new()];
    let mut files = 0;
    while let Some(rel) = pending.pop() {
        for entry in std::fs::read_dir(a.join(&rel))? {
            let rel = rel.join(entry?.file_name());
            if a.join(&rel).is_dir() {
                pending.push(rel);
                continue;
            }
            let (x, y) = (std::fs::read(a.join(&rel))?, std::fs::read(b.join(&rel))?);
            if rel == Path::new("zarr.json") {
                let id_free = |bytes: &[u8]| -> Result<serde_json::Value, serde_json::Error> {
                    let mut v: serde_json::Value = serde_json::from_slice(bytes)?;
                    v["attributes"]["brickwork"]["write_id"] = serde_json::Value::Null;
                    Ok(v)
                };
                assert_eq!(id_free(&x)?, id_free(&y)?, "{}", rel.display());
            } else {
                assert!(x == y, "{} differs", rel.display());
            }
            files += 1;
        }
    }
    assert!(files > 1, "{} holds no chunks", a.display());
    Ok(())
}

/// The JSON object `--stats` printed on stderr.
fn stats(o: &Output) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let err = stderr(o);
    let line = err
        .lines()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| format!("no --stats line in {err}"))?;
    Ok(serde_json::from_str(line)?)
}

/// `--resume` of a two-pass rechunk killed in its second pass reuses the first pass the
/// killed run left rather than computing it again (`--stats`: no byte of the source is
/// read), finishes byte-identical to an uninterrupted run, and leaves nothing.
#[test]
fn a_resumed_two_pass_rechunk_reuses_the_killed_runs_first_pass() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let rows = d.join("rows.zarr");
    let o = eval(
        d,
        "random((2000, 2000), chunks=(10, 2000), seed=4)",
        &rows,
        &[],
    )
    .output()?;
    assert!(o.status.success(), "{}", stderr(&o));
    // Rows to columns under 3 MB: two passes; gzip:9 makes the second slow enough to be
    // killed in.
    let write = |out: &Path, extra: &[&str]| {
        let mut cmd = brickwork(d);
        cmd.args(["eval", "x", "-q", "--threads", "1", "--memory-limit", "3MB"])
            .args([
                "--stats", "--chunks", "2000,10", "--codec", "gzip:9", "--input",
            ])
            .arg(format!("x={}", rows.display()))
            .arg("--output")
            .arg(out)
            .args(extra);
        cmd
    };
    let array_bytes = 2000 * 2000 * 8;
    let want = d.join("want.zarr");
    let o = write(&want, &[]).output()?;
    assert!(o.status.success(), "{}", stderr(&o));
    let both = stats(&o)?["bytes_read"].as_u64().unwrap_or(0);
    assert!(both > array_bytes, "both passes read: {both} bytes");
    let out = d.join("out.zarr");
    let mut child = write(&out, &[]).spawn()?;
    assert!(
        wait_until(&mut child, || out.join("zarr.json").exists()),
        "never reached the second pass"
    );
    child.kill()?;
    child.wait()?;
    assert!(has(d, ".brickwork-rechunk-"));
    let o = write(&out, &["--resume"]).output()?;
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let reusing = err
        .lines()
        .find(|l| l.starts_with("brickwork: reusing "))
        .ok_or_else(|| format!("no reuse in {err}"))?;
    let counts: Vec<&str> = reusing
        .rsplit(": ")
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert!(
        counts.len() > 3 && counts[1] == "of" && counts[0] == counts[2],
        "the first pass was complete: {reusing}"
    );
    let read = stats(&o)?["bytes_read"].as_u64().unwrap_or(u64::MAX);
    assert!(
        read <= array_bytes,
        "the source was read again: {read} bytes"
    );
    same_files(&out, &want)?;
    assert_eq!(leftovers(d), Vec::<PathBuf>::new());
    Ok(())
}

/// `--tmp-dir` holds a two-pass rechunk's intermediate store (nothing goes beside the
/// output) and realigned copies of sources; a killed run's intermediate there is reused by
/// `--resume --tmp-dir`. A `--tmp-dir` that is not a directory is refused up front, and
/// the library names `tmp_dir (--tmp-dir)` when it cannot make a temporary store.
#[test]
fn tmp_dir_holds_intermediate_stores_and_realigned_copies() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let scratch = d.join("scratch");
    std::fs::create_dir(&scratch)?;
    let rows = d.join("rows.zarr");
    let o = eval(
        d,
        "random((2000, 2000), chunks=(10, 2000), seed=4)",
        &rows,
        &[],
    )
    .output()?;
    assert!(o.status.success(), "{}", stderr(&o));
    let cols = d.join("cols.zarr");
    let rechunk = |tmp_dir: &Path, extra: &[&str]| {
        let mut cmd = brickwork(d);
        cmd.args(["rechunk", "-q", "--threads", "1", "--memory-limit", "3MB"])
            .args([&rows, &cols])
            .args(["--chunks", "2000,10", "--tmp-dir"])
            .arg(tmp_dir)
            .args(extra);
        cmd
    };
    // Killed in its first pass: the intermediate is in --tmp-dir, none beside the output.
    let mut child = rechunk(&scratch, &[]).spawn()?;
    let begun = || {
        std::fs::read_dir(&scratch)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("brickwork-rechunk-")
                    && e.path().join("intermediate.zarr/zarr.json").exists()
            })
    };
    assert!(wait_until(&mut child, begun));
    child.kill()?;
    child.wait()?;
    assert!(!has(d, ".brickwork-rechunk-"));
    let o = rechunk(&scratch, &["--resume"]).output()?;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("brickwork: reusing "), "{}", stderr(&o));
    assert_eq!(leftovers(d), Vec::<PathBuf>::new());
    same_array(&rows, &cols)?;
    // Realigned copies go there too: with $TMPDIR missing, `x + x.T` under 1 MB (x is
    // first copied into squares for x.T) fails without --tmp-dir, naming the flag, and runs
    // with it.
    let r6 = d.join("r6.zarr");
    let o = eval(d, "random((600, 600), chunks=(50, 600), seed=4)", &r6, &[]).output()?;
    assert!(o.status.success(), "{}", stderr(&o));
    let sum = |extra: &[&std::ffi::OsStr]| {
        let mut cmd = eval(
            d,
            "x + x.T",
            &d.join("sum.zarr"),
            &["--memory-limit", "1MB"],
        );
        cmd.env("TMPDIR", d.join("missing"))
            .arg("--input")
            .arg(format!("x={}", r6.display()))
            .args(extra);
        cmd
    };
    let o = sum(&[]).output()?;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("realigned copy") && err.contains("tmp_dir (--tmp-dir)"),
        "{err}"
    );
    let o = sum(&["--tmp-dir".as_ref(), scratch.as_os_str()]).output()?;
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(leftovers(d), Vec::<PathBuf>::new());
    // Refused up front, naming the flag.
    let o = rechunk(&d.join("missing"), &["--overwrite"]).output()?;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--tmp-dir"), "{}", stderr(&o));
    // The library's errors name the option and the flag.
    let x = Array::from_zarr(&rows)?;
    let opts = ComputeOptions::synchronous()
        .memory_limit(3_000_000)
        .tmp_dir(d.join("missing"));
    let columns = WriteOptions {
        chunks: Some(vec![2000, 10]),
        ..WriteOptions::default()
    };
    let err = x
        .to_zarr_with(d.join("c2.zarr"), &columns, &opts)
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Temporary { .. }), "{text}");
    assert!(
        text.contains("intermediate store") && text.contains("tmp_dir (--tmp-dir)"),
        "{text}"
    );
    let err = (&x + &x.t())
        .to_zarr_with(d.join("s2.zarr"), &WriteOptions::default(), &opts)
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("realigned copy") && text.contains("tmp_dir (--tmp-dir)"),
        "{text}"
    );
    Ok(())
}

/// SIGTERM while a large graph is being planned exits at once (planning looks at the
/// cancel token as it goes, not only when it is done), with nothing written.
#[test]
fn sigterm_while_planning_exits_at_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let out = d.join("big.zarr");
    // 2.25 million blocks: planning takes seconds.
    let program = "x = random((150000, 150000), chunks=(100, 100)); (x + x.T).sum(axis=0)";
    let mut child = eval(d, program, &out, &[]).spawn()?;
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait()?.is_none(), "planning ended within 0.5 s");
    send(&child, libc::SIGTERM);
    let signalled = Instant::now();
    let o = child.wait_with_output()?;
    let took = signalled.elapsed();
    assert_eq!(o.status.code(), Some(143), "{}", stderr(&o));
    assert!(
        took < Duration::from_secs(2),
        "exited {took:?} after SIGTERM"
    );
    assert!(!out.exists());
    assert_eq!(leftovers(d), Vec::<PathBuf>::new());
    Ok(())
}

/// The small things of issue 25: `info` of a missing path, `eval -o out.npy`, NumPy's
/// wrapping of long rows, `rechunk --help`.
#[test]
fn r25_messages_help_and_printing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let o = brickwork(d)
        .args(["info"])
        .arg(d.join("nope.zarr"))
        .output()?;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not found"), "{}", stderr(&o));
    let o = eval(d, "arange(3)", &d.join("out.npy"), &[]).output()?;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("brickwork export"), "{}", stderr(&o));
    assert!(!d.join("out.npy").exists());
    let o = brickwork(d).args(["eval", "arange(30)"]).output()?;
    assert_eq!(
        String::from_utf8(o.stdout)?,
        "[ 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 18 19 20 21 22 23\n 24 25 26 27 28 29]\n"
    );
    let o = brickwork(d).args(["rechunk", "--help"]).output()?;
    let help = String::from_utf8(o.stdout)?;
    assert!(
        help.contains("required: the new chunks") && !help.contains("default: the input's chunks")
    );
    Ok(())
}
