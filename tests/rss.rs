//! The memory limit bounds the whole process, as users and batch systems measure it (issue
//! 24): each out-of-core workload runs the CLI in a child process on stores several times the
//! limit while this process samples the child's `RssAnon` and `RssFile` in
//! `/proc/PID/status` every 2 ms, and the peak of their sum must stay within
//! `limit + SLACK`. Anonymous memory alone would miss memory-mapped chunk pages, which is how
//! a rechunk under 64 MiB once peaked at 300 MB resident: every source chunk a task gathered
//! from was mapped whole by the kernel (large page-cache folios), while the planner counted
//! one 4 KiB page per touched row.
//!
//! The slack, 64 MiB (the bound issue 24 states), covers what the engine does not reserve:
//! the binary's mapped text and data (a 140 MB unstripped test-profile binary of which
//! 6–14 MiB are resident), the allocator's retained pages and per-thread heaps, thread stacks,
//! zarrs' codec contexts, and memory freed by a task but not yet returned to the kernel
//! between two samples. Measured at the sizes below, sums stay within the limit + 30 MiB.
//!
//! Sampling misses peaks shorter than the interval; the bound is still checked against
//! `VmHWM` (the kernel's own peak) where `--stats` reports it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const MIB: u64 = 1 << 20;

/// What the process may hold beyond the engine's limit (see the module doc).
const SLACK: u64 = 64 * MIB;

/// Peak resident figures of a child process, in bytes.
#[derive(Debug, Default, Clone, Copy)]
struct Peaks {
    anon: u64,
    file: u64,
    /// The peak of `anon + file` at one sample (not the sum of the two peaks).
    sum: u64,
}

/// Runs `cmd` to completion, sampling its resident set every 2 ms.
fn run_sampled(mut cmd: Command) -> std::io::Result<(Output, Peaks)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let status = PathBuf::from(format!("/proc/{}/status", child.id()));
    let mut peaks = Peaks::default();
    while child.try_wait()?.is_none() {
        if let Some((anon, file)) = std::fs::read_to_string(&status)
            .ok()
            .and_then(|s| resident(&s))
        {
            peaks.anon = peaks.anon.max(anon);
            peaks.file = peaks.file.max(file);
            peaks.sum = peaks.sum.max(anon + file);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok((child.wait_with_output()?, peaks))
}

/// `RssAnon` and `RssFile` of a `/proc/PID/status` text, in bytes (`None` for a process that
/// has exited and lost its memory).
fn resident(status: &str) -> Option<(u64, u64)> {
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
    };
    Some((field("RssAnon:")?, field("RssFile:")?))
}

fn brickwork(args: &[&str]) -> Command {
    let mut cmd = Command::new(crate::common::brickwork_exe());
    cmd.args(args);
    cmd
}

/// Runs the CLI with `args` under `--memory-limit limit` and checks that it succeeded and
/// that its peak resident set stayed within the limit plus [`SLACK`].
fn within_limit(what: &str, args: &[&str], limit: u64) -> TestResult {
    let limit_arg = format!("{}MiB", limit / MIB);
    let mut all = args.to_vec();
    all.extend(["--memory-limit", &limit_arg, "--quiet"]);
    let (out, peaks) = run_sampled(brickwork(&all))?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what}: {err}");
    eprintln!(
        "{what}: peak RSS {:.1} MiB (anonymous {:.1}, file-backed {:.1}) under {limit_arg}",
        peaks.sum as f64 / MIB as f64,
        peaks.anon as f64 / MIB as f64,
        peaks.file as f64 / MIB as f64
    );
    assert!(
        peaks.sum <= limit + SLACK,
        "{what}: peak RSS {peaks:?} over {limit_arg} + 64 MiB"
    );
    Ok(())
}

/// Writes `random((n, n), chunks, seed=0)` to `dir/name` with `codec`.
fn random_store(dir: &Path, name: &str, n: usize, chunks: (usize, usize), codec: &str) -> String {
    let path = dir.join(name).to_string_lossy().into_owned();
    let prog = format!(
        "random(({n}, {n}), chunks=({}, {}), seed=0)",
        chunks.0, chunks.1
    );
    let out = brickwork(&["eval", &prog, "--output", &path, "--codec", codec, "-q"])
        .output()
        .expect("the CLI runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// The workloads of issue 24 over a square-chunked store `x` and a row-chunked store `r` of
/// the same `n x n` array, each under `limit`, with outputs in `dir`.
fn workloads(dir: &Path, x: &str, r: &str, n: usize, limit: u64, label: &str) -> TestResult {
    let out = dir.join("out.zarr").to_string_lossy().into_owned();
    let cols = dir.join("cols.zarr").to_string_lossy().into_owned();
    let ix = format!("x={x}");
    let ir = format!("x={r}");
    let evals: [(&str, &str, &str); 7] = [
        ("sum", &ix, "x.sum()"),
        ("x + x.T, square chunks", &ix, "x + x.T"),
        ("x + x.T, row chunks", &ir, "x + x.T"),
        ("x - x.mean(axis=0)", &ix, "x - x.mean(axis=0)"),
        ("cumsum(axis=0)", &ix, "cumsum(x, axis=0)"),
        ("3 x 3 mean filter", &ix, "uniform_filter(x, 3)"),
        ("x @ x[:, :k]", &ix, "x @ x[:, :200]"),
    ];
    for (what, input, prog) in evals {
        let mut args = vec!["eval", "-i", input, prog];
        if what != "sum" {
            args.extend(["--output", &out, "--overwrite"]);
        }
        within_limit(&format!("{label}: {what}"), &args, limit)?;
    }
    let target = format!("{n},{}", r_rows(n));
    within_limit(
        &format!("{label}: rechunk rows -> columns"),
        &["rechunk", r, &cols, "--chunks", &target],
        limit,
    )?;
    let back = format!("{},{n}", r_rows(n));
    within_limit(
        &format!("{label}: rechunk columns -> rows"),
        &["rechunk", &cols, &out, "--chunks", &back, "--overwrite"],
        limit,
    )
}

/// Rows per chunk of the row-chunked store: 50 chunks.
fn r_rows(n: usize) -> usize {
    n / 50
}

/// Uncompressed float64 chunks of at least 1 MiB are memory-mapped: 3200² is 78 MiB, 2.4
/// times the limit (the 3 x 3 filter, which maps nine chunks per block, needs 29 MiB), in
/// 400² chunks of 1.2 MiB and 64 x 3200 row chunks of 1.6 MiB.
#[test]
fn uncompressed_workloads_stay_within_the_limit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let n = 3200;
    let x = random_store(dir.path(), "x.zarr", n, (400, 400), "none");
    let r = random_store(dir.path(), "r.zarr", n, (r_rows(n), n), "none");
    workloads(dir.path(), &x, &r, n, 32 * MIB, "uncompressed")
}

/// zstd chunks are decoded into memory (nothing is mapped): the decode and encode buffers
/// must be reserved. 2000² is 31 MiB, 2.6 times the limit.
#[test]
fn zstd_workloads_stay_within_the_limit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let n = 2000;
    let x = random_store(dir.path(), "x.zarr", n, (250, 250), "zstd");
    let r = random_store(dir.path(), "r.zarr", n, (r_rows(n), n), "zstd");
    workloads(dir.path(), &x, &r, n, 12 * MIB, "zstd")
}

/// A `.npy` larger than the limit is imported within it: its bands follow the limit
/// (`io::band_bytes`), where a fixed 64 MiB band refused every `--chunks` below ~256 MiB.
#[test]
fn import_of_a_large_npy_stays_within_the_limit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let n = 4000usize;
    let npy = dir.path().join("big.npy");
    let header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({n}, {n}), }}");
    let header = format!("{header:<117}\n");
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend((0..n * n).flat_map(|i| (i as f64).to_le_bytes()));
    std::fs::write(&npy, bytes)?;
    let out = dir.path().join("imp.zarr");
    within_limit(
        "import",
        &[
            "import",
            npy.to_str().unwrap(),
            out.to_str().unwrap(),
            "--chunks",
            "500,500",
        ],
        24 * MIB,
    )
}

/// The whole process, not just the engine's accounting, stays within the limit plus the
/// slack on data several times the limit, by the kernel's own peak (`VmHWM`, reported by
/// `--stats`) as well as by sampling.
#[test]
fn peak_rss_stays_within_the_memory_limit_plus_overhead() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("y.zarr");
    let limit: u64 = 48 * MIB;
    // 6000 x 6000 float64 is 288 MB, six times the limit.
    let prog = "x = random((6000, 6000), chunks=(500, 500), seed=1); \
                y = x - x.mean(axis=0); y / y.std(axis=0)";
    let (o, peaks) = run_sampled(brickwork(&[
        "eval",
        prog,
        "--output",
        out.to_str().unwrap(),
        "--memory-limit",
        "48MiB",
        "--stats",
        "--quiet",
    ]))?;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let stats: serde_json::Value = serde_json::from_str(err.trim())?;
    let rss = stats["peak_rss_bytes"]
        .as_u64()
        .expect("peak RSS is reported");
    assert!(
        stats["peak_reserved_bytes"].as_u64().unwrap() <= limit,
        "{stats}"
    );
    assert!(
        rss <= limit + SLACK,
        "peak RSS {rss} over the bound: {stats}"
    );
    assert!(peaks.sum <= limit + SLACK, "sampled {peaks:?}: {stats}");
    assert_eq!(stats["bytes_written"].as_u64(), Some(6000 * 6000 * 8));
    Ok(())
}

/// Runs `cmd` to completion, sampling every 2 ms the proportional set size (`Pss` in
/// `/proc/PID/smaps_rollup`) of it and of every process below it, summed: worker processes
/// forked from it share its pages copy-on-write, which each one's `RssAnon` would count
/// again. Returns the peak of the sum.
fn run_sampled_tree(mut cmd: Command) -> std::io::Result<(Output, u64)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut peak = 0;
    while child.try_wait()?.is_none() {
        peak = peak.max(tree(child.id()).into_iter().filter_map(pss).sum());
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok((child.wait_with_output()?, peak))
}

/// `pid` and the processes below it.
fn tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let p = all[i];
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) {
            for task in tasks.flatten() {
                let children = std::fs::read_to_string(task.path().join("children"));
                all.extend(
                    children
                        .unwrap_or_default()
                        .split_whitespace()
                        .filter_map(|c| c.parse::<u32>().ok()),
                );
            }
        }
        i += 1;
    }
    all
}

/// The proportional set size of `pid` in bytes (`None` once it has exited).
fn pss(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let line = text.lines().find(|l| l.starts_with("Pss:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

/// The cluster (2 workers, each with its own pool and spill store under a share of the
/// limit) and the processes scheduler (2 worker processes, each holding copies of its
/// task's inputs and output, which the parent reserves too) under the same limit, with the
/// worker processes' memory counted: the process tree's summed `Pss` stays within the
/// limit plus the slack, plus 16 MiB per worker process (its own allocator pages, socket
/// buffers and stack; shared pages are split between the processes by `Pss`).
#[test]
fn cluster_and_processes_schedulers_stay_within_the_limit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let n = 2000;
    let x = random_store(dir.path(), "x.zarr", n, (250, 250), "zstd");
    let r = random_store(dir.path(), "r.zarr", n, (r_rows(n), n), "zstd");
    let out = dir.path().join("out.zarr").to_string_lossy().into_owned();
    let limit = 16 * MIB;
    let limit_arg = format!("{}MiB", limit / MIB);
    let (ix, ir) = (format!("x={x}"), format!("x={r}"));
    for (scheduler, workers) in [("cluster", 2u64), ("processes", 2)] {
        let extra = if scheduler == "processes" {
            workers * 16 * MIB
        } else {
            0
        };
        for (what, input, prog) in [
            ("x + x.T, row chunks", &ir, "x + x.T"),
            ("x - x.mean(axis=0)", &ix, "x - x.mean(axis=0)"),
            ("cumsum(axis=0)", &ix, "cumsum(x, axis=0)"),
            ("x @ x[:, :200]", &ix, "x @ x[:, :200]"),
        ] {
            let w = workers.to_string();
            let mut args = vec![
                "eval",
                "-i",
                input,
                prog,
                "--output",
                &out,
                "--overwrite",
                "--scheduler",
                scheduler,
                "--workers",
                &w,
                "--memory-limit",
                &limit_arg,
                "--quiet",
            ];
            if scheduler == "cluster" {
                args.extend(["--threads-per-worker", "1"]);
            }
            let (o, peak) = run_sampled_tree(brickwork(&args))?;
            assert!(
                o.status.success(),
                "{scheduler}: {what}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            eprintln!(
                "{scheduler} x {workers}: {what}: peak PSS of the process tree {:.1} MiB under {limit_arg}",
                peak as f64 / MIB as f64
            );
            assert!(
                peak <= limit + SLACK + extra,
                "{scheduler} x {workers}: {what}: peak PSS {peak} over {limit_arg} + 64 MiB + {} MiB",
                extra / MIB
            );
        }
    }
    Ok(())
}

/// The checker can fail: a process known to hold 128 MiB is seen holding it.
#[test]
fn the_sampler_sees_what_a_process_holds() -> TestResult {
    let mut cmd = Command::new("dd");
    cmd.args(["if=/dev/zero", "of=/dev/null", "bs=128M", "count=4"]);
    let (out, peaks) = run_sampled(cmd)?;
    assert!(out.status.success());
    assert!(peaks.anon >= 120 * MIB, "{peaks:?}");
    assert!(peaks.sum > 64 * MIB + SLACK, "{peaks:?}");
    Ok(())
}

/// Runs `cmd` (an `mpirun`) to completion, sampling every 2 ms `RssAnon + RssFile` of each
/// brickwork process below it (the ranks); returns the peak of each rank's, by pid, highest
/// first.
#[cfg(feature = "mpi")]
fn run_sampled_ranks(mut cmd: Command) -> std::io::Result<(Output, Vec<u64>)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut peaks = std::collections::HashMap::<u32, u64>::new();
    let exe = crate::common::brickwork_exe();
    while child.try_wait()?.is_none() {
        for pid in tree(child.id()) {
            let is_rank = std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == exe);
            if !is_rank {
                continue;
            }
            if let Some((anon, file)) = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| resident(&s))
            {
                let peak = peaks.entry(pid).or_default();
                *peak = (*peak).max(anon + file);
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut peaks: Vec<u64> = peaks.into_values().collect();
    peaks.sort_unstable_by(|a, b| b.cmp(a));
    Ok((child.wait_with_output()?, peaks))
}

/// MPI ranks (issue 29): on 4 ranks, each under its own `--memory-limit`, over a zstd store
/// about twice one rank's limit, every rank's peak resident set (anonymous + file-backed,
/// sampled per process) stays within its limit plus the slack, for workloads whose blocks
/// move between ranks and for a two-pass rechunk.
#[cfg(feature = "mpi")]
#[test]
fn every_mpi_rank_stays_within_its_limit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let n = 2800;
    let x = random_store(dir.path(), "x.zarr", n, (350, 350), "zstd");
    let r = random_store(dir.path(), "r.zarr", n, (r_rows(n), n), "zstd");
    let out = dir.path().join("out.zarr").to_string_lossy().into_owned();
    let limit = 32 * MIB;
    let limit_arg = format!("{}MiB", limit / MIB);
    let (ix, ir) = (format!("x={x}"), format!("x={r}"));
    let cols = format!("{n},{}", r_rows(n));
    let runs: [(&str, Vec<&str>); 4] = [
        (
            "x + x.T, row chunks",
            vec!["eval", "-i", &ir, "x + x.T", "--output", &out],
        ),
        (
            "x - x.mean(axis=0)",
            vec!["eval", "-i", &ix, "x - x.mean(axis=0)", "--output", &out],
        ),
        (
            "x @ x[:, :200]",
            vec!["eval", "-i", &ix, "x @ x[:, :200]", "--output", &out],
        ),
        (
            "rechunk rows -> columns",
            vec!["rechunk", &r, &out, "--chunks", &cols],
        ),
    ];
    for (what, args) in runs {
        let mut cmd = Command::new("mpirun");
        cmd.args(["--oversubscribe", "-n", "4"])
            .arg(crate::common::brickwork_exe())
            .args(&args)
            .args(["--overwrite", "--memory-limit", &limit_arg, "--quiet"])
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        let (o, peaks) = run_sampled_ranks(cmd)?;
        assert!(
            o.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mib: Vec<String> = peaks
            .iter()
            .map(|p| format!("{:.1}", *p as f64 / MIB as f64))
            .collect();
        eprintln!("mpi x 4: {what}: peak RSS per rank {mib:?} MiB under {limit_arg} each");
        assert_eq!(peaks.len(), 4, "{what}: sampled {peaks:?}");
        assert!(
            peaks[0] <= limit + SLACK,
            "{what}: a rank's peak RSS {} MiB over {limit_arg} + 64 MiB",
            peaks[0] / MIB
        );
    }
    Ok(())
}
