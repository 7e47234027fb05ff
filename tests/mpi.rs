//! The MPI scheduler (feature `mpi`): `mpirun -n N brickwork ...` against the synchronous
//! scheduler (printed results, Zarr bytes), a per-rank memory limit, refusals and errors,
//! a rank killed mid-write and the write resumed, and the tutorial example on 4 ranks.
//! Needs `mpirun` (scripts/test.sh installs OpenMPI); more ranks than cores oversubscribe.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::TestResult;

fn brickwork(args: &[&str]) -> Output {
    Command::new(crate::common::brickwork_exe())
        .args(args)
        .output()
        .expect("the brickwork binary runs")
}

/// `mpirun -n ranks PROGRAM args`, allowed as root and with more ranks than cores.
fn mpirun_command(ranks: usize, program: &str, args: &[&str]) -> Command {
    let mut c = Command::new("mpirun");
    c.args(["--oversubscribe", "-n", &ranks.to_string(), program])
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env_remove("RUST_BACKTRACE");
    c
}

fn mpirun(ranks: usize, args: &[&str]) -> Output {
    mpirun_command(
        ranks,
        crate::common::brickwork_exe().to_str().unwrap(),
        args,
    )
    .output()
    .expect("mpirun runs (scripts/test.sh installs OpenMPI)")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status,
        text(&o.stdout),
        text(&o.stderr)
    );
}

const EXPR: &str =
    "x = random((600, 400), chunks=(70, 90), seed=4); (x - x.mean(axis=0)).std(axis=1)[:8]";

#[test]
fn printed_results_match_the_synchronous_scheduler_on_1_2_and_4_ranks() {
    let want = brickwork(&["eval", EXPR, "--scheduler", "synchronous", "-q"]);
    ok(&want);
    for n in [1, 2, 4] {
        // Under mpirun the scheduler is mpi by default; rank 0 alone prints.
        let got = mpirun(n, &["eval", EXPR, "-q"]);
        ok(&got);
        assert_eq!(text(&got.stdout), text(&want.stdout), "{n} ranks");
    }
}

#[test]
fn a_store_written_on_4_ranks_has_the_bytes_of_a_synchronous_write() -> TestResult {
    let dir = tempfile::tempdir()?;
    let x = dir.path().join("x.zarr");
    let x = x.to_str().unwrap();
    ok(&brickwork(&[
        "eval",
        "random((900, 700), chunks=(100, 100), seed=5)",
        "--output",
        x,
    ]));
    let input = format!("x={x}");
    let (want, got) = (dir.path().join("want.zarr"), dir.path().join("got.zarr"));
    let write = |out: &Path, scheduler: &str, ranks: usize| {
        let args = [
            "eval",
            "-i",
            &input,
            "x[:700, :700] + x[:700, :700].T",
            "--output",
            out.to_str().unwrap(),
            "--scheduler",
            scheduler,
        ];
        if ranks == 0 {
            brickwork(&args)
        } else {
            mpirun(ranks, &args)
        }
    };
    ok(&write(&want, "synchronous", 0));
    ok(&write(&got, "mpi", 4));
    assert_eq!(
        crate::common::store_files(&got)?,
        crate::common::store_files(&want)?
    );
    Ok(())
}

/// Workloads whose blocks move between ranks (or, for sources, do not), on 4 ranks under
/// a small per-rank limit: the stores written are byte-identical to the threads
/// scheduler's, every rank's reservations stay within the limit, and the product's
/// partials are fetched from rank to rank.
#[test]
fn blocks_moving_rank_to_rank_give_the_bytes_of_the_threads_scheduler() -> TestResult {
    let dir = tempfile::tempdir()?;
    let limit = 1_500_000;
    for codec in ["zstd", "none"] {
        let x = dir.path().join(format!("x-{codec}.zarr"));
        let x = x.to_str().unwrap();
        ok(&brickwork(&[
            "eval",
            "random((810, 810), chunks=(100, 100), seed=6)",
            "--output",
            x,
            "--codec",
            codec,
        ]));
        let exprs: &[&str] = if codec == "zstd" {
            &["x + x.T", "x @ x[:, :500]", "x - x.mean(axis=0)"]
        } else {
            &["x + x.T"]
        };
        for (i, expr) in exprs.iter().enumerate() {
            let input = format!("x={x}");
            let want = dir.path().join(format!("want-{codec}-{i}.zarr"));
            let got = dir.path().join(format!("got-{codec}-{i}.zarr"));
            let args = |out: &Path, scheduler: &str| {
                vec![
                    "eval".to_string(),
                    "-i".into(),
                    input.clone(),
                    expr.to_string(),
                    "--output".into(),
                    out.to_str().unwrap().into(),
                    "--scheduler".into(),
                    scheduler.into(),
                    "--memory-limit".into(),
                    limit.to_string(),
                    "--stats".into(),
                ]
            };
            let threads = args(&want, "threads");
            ok(&brickwork(
                &threads.iter().map(String::as_str).collect::<Vec<_>>(),
            ));
            let ranks = args(&got, "mpi");
            let run = mpirun(4, &ranks.iter().map(String::as_str).collect::<Vec<_>>());
            ok(&run);
            assert_eq!(
                crate::common::store_files(&got)?,
                crate::common::store_files(&want)?,
                "{expr} over {codec}"
            );
            let stats: serde_json::Value =
                serde_json::from_str(text(&run.stderr).lines().last().unwrap_or_default())?;
            assert!(
                stats["peak_reserved_bytes"].as_u64().unwrap() <= limit,
                "{expr}: {stats}"
            );
            if expr.contains('@') {
                assert!(stats["transfers"].as_u64().unwrap() > 0, "{expr}: {stats}");
            }
        }
    }
    Ok(())
}

#[test]
fn the_limit_holds_on_every_rank_and_one_too_small_is_refused() {
    let expr = "x = random((1200, 1000), chunks=(100, 75), seed=9); (x.cumsum(axis=0) + x.T.T).sum(axis=1)";
    let want = brickwork(&["eval", expr, "--scheduler", "synchronous", "-q"]);
    ok(&want);
    let got = mpirun(
        3,
        &["eval", expr, "-q", "--memory-limit", "600KB", "--stats"],
    );
    ok(&got);
    assert_eq!(text(&got.stdout), text(&want.stdout));
    let err = text(&got.stderr);
    let stats: serde_json::Value =
        serde_json::from_str(err.lines().last().unwrap_or_default()).expect("one stats line");
    assert!(
        stats["peak_reserved_bytes"].as_u64().unwrap() <= 600_000,
        "{stats}"
    );
    let pressure =
        stats["spilled_blocks"].as_u64().unwrap() + stats["dropped_blocks"].as_u64().unwrap();
    assert!(pressure > 0, "{stats}");
    let refused = mpirun(2, &["eval", expr, "--memory-limit", "10KB"]);
    assert!(!refused.status.success());
    let err = text(&refused.stderr);
    assert!(
        err.contains("rank 0 of 2") && err.contains("memory"),
        "{err}"
    );
}

#[test]
fn a_failing_rank_stops_the_job_with_its_error() {
    let o = mpirun(3, &["eval", "-i", "x=/nonexistent/x.zarr", "x + 1"]);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(
        err.contains("/nonexistent/x.zarr") && err.contains("rank"),
        "{err}"
    );
}

/// The pid of rank `rank` of a running job of `program`, found by its environment.
fn pid_of_rank(marker: &str, rank: usize) -> Option<u32> {
    for entry in std::fs::read_dir("/proc").ok()? {
        let Ok(entry) = entry else { continue };
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !text(&cmdline).contains(marker) || text(&cmdline).starts_with("mpirun") {
            continue;
        }
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let want = format!("OMPI_COMM_WORLD_RANK={rank}");
        if environ.split(|&b| b == 0).any(|v| v == want.as_bytes()) {
            return Some(pid);
        }
    }
    None
}

#[test]
fn a_rank_killed_mid_write_aborts_the_job_and_resume_finishes_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (want, got) = (dir.path().join("want.zarr"), dir.path().join("got.zarr"));
    // A marker in the expression finds this test's ranks among other jobs.
    let expr = "random((4000, 4000), chunks=(250, 250), seed=31).cumsum(axis=1) * 1";
    ok(&brickwork(&[
        "eval",
        expr,
        "--output",
        want.to_str().unwrap(),
        "--scheduler",
        "synchronous",
    ]));
    let out = got.to_str().unwrap();
    let mut job = mpirun_command(
        4,
        crate::common::brickwork_exe().to_str().unwrap(),
        &["eval", expr, "--output", out],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .spawn()?;
    // Kill rank 2 once some chunks are written.
    let chunks = got.join("c");
    let killed = kill_rank_once_written(&mut job, &chunks, "seed=31", 2)?;
    let first = job.wait_with_output()?;
    if !killed {
        // The job finished before a rank could be killed (a very fast machine): nothing
        // to resume, and the output must be complete and right.
        ok(&first);
    } else {
        assert!(!first.status.success(), "the job went on without rank 2");
        let err = text(&first.stderr);
        assert!(err.contains("rank 2") && err.contains("signal 9"), "{err}");
        // The other ranks may still finish every chunk while Open MPI tears the job down
        // (an idle machine writes the last 240 in that time); the array is then complete in
        // its chunks but not marked complete, and the resume below only marks it.
        let written = walk_count(&chunks);
        if written == 256 {
            eprintln!("every chunk was written before the job was torn down");
        }
        let resumed = mpirun(4, &["eval", expr, "--output", out, "--resume", "--stats"]);
        ok(&resumed);
        let stats: serde_json::Value =
            serde_json::from_str(text(&resumed.stderr).lines().last().unwrap_or_default())?;
        assert!(
            stats["bytes_written"].as_u64().unwrap() < 4000 * 4000 * 8,
            "resume rewrote everything: {stats}"
        );
    }
    assert_eq!(
        crate::common::store_files(&got)?,
        crate::common::store_files(&want)?
    );
    Ok(())
}

/// Kills `rank` of the running `job` (found by `marker` in its command line) with SIGKILL,
/// as a node failure would, once 8 chunk files are under `chunks`; false when the job
/// ended first (or two minutes passed).
fn kill_rank_once_written(
    job: &mut std::process::Child,
    chunks: &Path,
    marker: &str,
    rank: usize,
) -> std::io::Result<bool> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(120) {
        let written = walk_count(chunks);
        if written >= 8
            && let Some(pid) = pid_of_rank(marker, rank)
        {
            // SAFETY: kills a process of this test's job.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            eprintln!("killed rank {rank} (pid {pid}) after {written} chunks were written");
            return Ok(true);
        }
        if job.try_wait()?.is_some() {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(false)
}

fn walk_count(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() { walk_count(&p) } else { 1 }
        })
        .sum()
}

#[test]
fn the_tutorial_on_4_ranks_prints_the_values_of_the_synchronous_run() {
    let example = Path::new(&crate::common::brickwork_exe())
        .parent()
        .unwrap()
        .join("examples/tutorial");
    if !example.exists() {
        // Built by `cargo test` with the examples (the default); not when run alone.
        eprintln!("skipped: {} is not built", example.display());
        return;
    }
    let args = ["--n", "2000", "--chunk", "250"];
    let want = Command::new(&example)
        .args(args)
        .args(["--scheduler", "synchronous"])
        .output()
        .unwrap();
    ok(&want);
    let got = mpirun_command(4, example.to_str().unwrap(), &args)
        .args(["--scheduler", "mpi"])
        .output()
        .unwrap();
    ok(&got);
    let values = |o: &Output| -> Vec<String> {
        text(&o.stdout)
            .lines()
            .filter(|l| l.starts_with("scheduler="))
            .map(|l| l.split_once(" len=").unwrap().1.to_string())
            .collect()
    };
    let (want, got_lines) = (values(&want), values(&got));
    assert_eq!(got_lines.len(), 1, "{}", text(&got.stdout));
    assert_eq!(got_lines, want);
    assert!(
        text(&got.stdout).contains("scheduler=mpi ranks=4"),
        "{}",
        text(&got.stdout)
    );
}

/// What once was refused or skipped on several ranks runs there, through temporary stores
/// every rank sees, with the bytes of the synchronous scheduler: a two-pass rechunk, a
/// realigning copy of a source read against its chunking, two outputs of one `eval`, and a
/// region write (direct, and through an intermediate store); nothing is left behind.
#[test]
fn two_pass_rechunks_copies_two_outputs_and_region_writes_run_on_4_ranks() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let p = |name: &str| d.join(name).to_str().unwrap().to_string();
    // Under the limits below, the synchronous runs take the paths named (`--stats`:
    // bytes written beyond the output's are the temporary store's).
    let rows = p("rows.zarr");
    ok(&brickwork(&[
        "eval",
        "random((800, 800), chunks=(10, 800), seed=8)",
        "--output",
        &rows,
    ]));
    let input = format!("x={rows}");
    // Each case: its arguments with the output(s) last but one; run synchronously and on
    // 4 ranks into outputs named want-* and got-*.
    let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        (
            "rechunk",
            vec![
                "rechunk",
                &rows,
                "{0}",
                "--chunks",
                "800,10",
                "--memory-limit",
                "3MB",
            ],
            vec!["cols"],
        ),
        (
            "realign",
            vec![
                "eval",
                "-i",
                &input,
                "x + x.T",
                "--output",
                "{0}",
                "--memory-limit",
                "4MB",
            ],
            vec!["sym"],
        ),
        (
            "two outputs",
            vec![
                "eval",
                "-i",
                &input,
                "(x * 2, x.sum(axis=0))",
                "-o",
                "{0}",
                "-o",
                "{1}",
            ],
            vec!["twice", "sums"],
        ),
    ];
    same_bytes(d, &cases, "synchronous", |args| mpirun(4, args))?;
    // Region writes into copies of one array: direct (row chunks into row chunks), and
    // through an intermediate store (a column-chunked computation into row chunks).
    let cols = p("want-cols.zarr");
    same_region_writes(
        d,
        &[
            ("x[:400] * 3", &rows, "0:400,0:800", "64MB"),
            ("x[400:] + 1", &cols, "400:800,0:800", "1MB"),
        ],
        "synchronous",
        |args| mpirun(4, args),
    )?;
    // No temporary store left anywhere in the directory (hidden ones included).
    let left: Vec<String> = std::fs::read_dir(d)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("brickwork-") && !n.ends_with("brickwork-lock"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    Ok(())
}

/// Runs each case (a name, the arguments with `{0}` and `{1}` for its outputs, the outputs'
/// names) twice, with outputs `want-NAME.zarr` and `got-NAME.zarr` in `d`: with `brickwork`
/// under `scheduler`, then with `got` (on ranks); the stores must be byte-identical.
/// Returns the `got` runs, in order.
fn same_bytes(
    d: &Path,
    cases: &[(&str, Vec<&str>, Vec<&str>)],
    scheduler: &str,
    got: impl Fn(&[&str]) -> Output,
) -> Result<Vec<Output>, Box<dyn std::error::Error>> {
    let mut runs = Vec::new();
    for (name, args, outs) in cases {
        for prefix in ["want", "got"] {
            let out = |i: usize| d.join(format!("{prefix}-{}.zarr", outs[i]));
            let args: Vec<String> = args
                .iter()
                .map(|a| match *a {
                    "{0}" => out(0).to_string_lossy().into_owned(),
                    "{1}" => out(1).to_string_lossy().into_owned(),
                    _ => a.to_string(),
                })
                .collect();
            let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
            if prefix == "want" {
                args.extend(["--scheduler", scheduler]);
                ok(&brickwork(&args));
            } else {
                let run = got(&args);
                ok(&run);
                runs.push(run);
            }
        }
        for out in outs {
            assert_eq!(
                crate::common::store_files(&d.join(format!("got-{out}.zarr")))?,
                crate::common::store_files(&d.join(format!("want-{out}.zarr")))?,
                "{name}: {out}"
            );
        }
    }
    Ok(runs)
}

/// The region writes `writes` (program over `x`, the store `x` is, region, memory limit),
/// in order, into a zero 800² array in row chunks, `want-region.zarr` in `d` written by
/// `brickwork` under `scheduler`, `got-region.zarr` by `got`: byte-identical.
fn same_region_writes(
    d: &Path,
    writes: &[(&str, &String, &str, &str)],
    scheduler: &str,
    got: impl Fn(&[&str]) -> Output,
) -> TestResult {
    for prefix in ["want", "got"] {
        let target = d.join(format!("{prefix}-region.zarr"));
        let target = target.to_str().unwrap();
        ok(&brickwork(&[
            "eval",
            "zeros((800, 800))",
            "--chunks",
            "10,800",
            "--output",
            target,
        ]));
        for (program, source, region, limit) in writes {
            let input = format!("x={source}");
            let mut args = vec![
                "eval",
                "-i",
                &input,
                program,
                "--output",
                target,
                "--region",
                region,
                "--memory-limit",
                limit,
            ];
            if prefix == "want" {
                args.extend(["--scheduler", scheduler]);
                ok(&brickwork(&args));
            } else {
                ok(&got(&args));
            }
        }
    }
    assert_eq!(
        crate::common::store_files(&d.join("got-region.zarr"))?,
        crate::common::store_files(&d.join("want-region.zarr"))?,
        "region writes"
    );
    Ok(())
}

/// Two "hosts" made of network namespaces joined by a veth pair, for 2 + 2 ranks over TCP:
/// `mpirun` runs in the first; Open MPI starts the second's daemon through a stand-in for
/// ssh (`ip netns exec`, with a host name of its own) at the second's address. Removed when
/// dropped.
struct TwoHosts {
    names: [String; 2],
    agent: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

const HOST_A: &str = "10.77.0.1";
const HOST_B: &str = "10.77.0.2";

impl TwoHosts {
    /// The two namespaces, or why they cannot be made here (not root, no `ip`, no
    /// namespaces in this kernel or container).
    fn make() -> Result<TwoHosts, String> {
        let id = std::process::id();
        let names = [format!("bw{id}a"), format!("bw{id}b")];
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let agent = dir.path().join("netns-rsh");
        std::fs::write(
            &agent,
            format!(
                "#!/bin/sh\n# Open MPI's remote shell: HOST COMMAND...\nhost=$1; shift\n\
                 case $host in\n  {HOST_A}) ns={a}; name=node-a ;;\n  {HOST_B}) ns={b}; name=node-b ;;\n\
                 *) echo \"netns-rsh: unknown host $host\" >&2; exit 1 ;;\nesac\n\
                 exec ip netns exec $ns unshare --uts sh -c \"hostname $name; $*\"\n",
                a = names[0],
                b = names[1]
            ),
        )
        .map_err(|e| e.to_string())?;
        std::fs::set_permissions(&agent, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        let hosts = TwoHosts {
            names,
            agent,
            _dir: dir,
        };
        let (a, b) = (hosts.names[0].as_str(), hosts.names[1].as_str());
        let (va, vb) = (format!("{a}v"), format!("{b}v"));
        let steps: Vec<Vec<&str>> = vec![
            vec!["netns", "add", a],
            vec!["netns", "add", b],
            vec!["link", "add", &va, "type", "veth", "peer", "name", &vb],
            vec!["link", "set", &va, "netns", a],
            vec!["link", "set", &vb, "netns", b],
            vec!["-n", a, "addr", "add", "10.77.0.1/24", "dev", &va],
            vec!["-n", b, "addr", "add", "10.77.0.2/24", "dev", &vb],
            vec!["-n", a, "link", "set", &va, "up"],
            vec!["-n", b, "link", "set", &vb, "up"],
            vec!["-n", a, "link", "set", "lo", "up"],
            vec!["-n", b, "link", "set", "lo", "up"],
        ];
        for step in steps {
            let o = Command::new("ip")
                .args(&step)
                .output()
                .map_err(|e| format!("ip: {e}"))?;
            if !o.status.success() {
                return Err(format!("ip {}: {}", step.join(" "), text(&o.stderr).trim()));
            }
        }
        Ok(hosts)
    }

    /// `mpirun` of the brickwork binary with `args` on 2 ranks in each namespace, TCP only:
    /// ranks 0 and 1 in the first, 2 and 3 in the second.
    fn mpirun(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .expect("ip netns exec mpirun runs")
    }

    /// The command of [`TwoHosts::mpirun`].
    fn command(&self, args: &[&str]) -> Command {
        let exe = crate::common::brickwork_exe();
        let hosts = format!("{HOST_A}:2,{HOST_B}:2");
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            &self.names[0],
            "mpirun",
            "-n",
            "4",
            "--host",
            &hosts,
        ])
        .arg("--mca")
        .arg("plm_rsh_agent")
        .arg(&self.agent)
        .args(["--mca", "btl", "self,tcp"])
        .args(["--mca", "btl_tcp_if_include", "10.77.0.0/24"])
        .args(["--mca", "oob_tcp_if_include", "10.77.0.0/24"])
        .args([
            "-x",
            "OMPI_ALLOW_RUN_AS_ROOT",
            "-x",
            "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM",
        ])
        .arg(exe)
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env_remove("RUST_BACKTRACE");
        c
    }
}

impl Drop for TwoHosts {
    fn drop(&mut self) {
        // Removing a namespace removes its end of the veth pair, and with it the other.
        for n in &self.names {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

/// 2 + 2 ranks on two "hosts" (network namespaces over TCP, see [`TwoHosts`]): the stores
/// written are byte-identical to the threads scheduler's for `x + x.T` (zstd and
/// uncompressed), `x @ x[:, :500]`, `x - x.mean(axis=0)`, a two-pass rechunk, two outputs
/// and a region write; the product's partials travel between the hosts; a rank on the
/// second host killed mid-write stops the job and `--resume` finishes it byte-identical.
/// Skipped, with the reason, where namespaces cannot be made.
#[test]
fn on_2_plus_2_ranks_across_two_network_namespaces_the_bytes_are_those_of_threads() -> TestResult {
    let hosts = match TwoHosts::make() {
        Ok(h) => h,
        Err(why) => {
            eprintln!("skipped: cannot make two network namespaces here: {why}");
            return Ok(());
        }
    };
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let p = |name: &str| d.join(name).to_str().unwrap().to_string();
    let mut inputs = Vec::new();
    for codec in ["zstd", "none"] {
        let x = p(&format!("x-{codec}.zarr"));
        ok(&brickwork(&[
            "eval",
            "random((810, 810), chunks=(100, 100), seed=6)",
            "--output",
            &x,
            "--codec",
            codec,
        ]));
        inputs.push(format!("x={x}"));
    }
    let rows = p("rows.zarr");
    ok(&brickwork(&[
        "eval",
        "random((800, 800), chunks=(10, 800), seed=8)",
        "--output",
        &rows,
    ]));
    let (zstd, raw) = (inputs[0].as_str(), inputs[1].as_str());
    let limit = "1.5MB";
    // (name, arguments with {0}/{1} for the outputs, outputs)
    let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        (
            "x + x.T, zstd",
            vec![
                "eval",
                "-i",
                zstd,
                "x + x.T",
                "-o",
                "{0}",
                "--memory-limit",
                limit,
            ],
            vec!["sym-z"],
        ),
        (
            "x + x.T, raw",
            vec![
                "eval",
                "-i",
                raw,
                "x + x.T",
                "-o",
                "{0}",
                "--memory-limit",
                limit,
            ],
            vec!["sym-r"],
        ),
        (
            "x @ x[:, :500]",
            vec![
                "eval",
                "-i",
                zstd,
                "x @ x[:, :500]",
                "-o",
                "{0}",
                "--memory-limit",
                limit,
                "--stats",
            ],
            vec!["prod"],
        ),
        (
            "x - x.mean(axis=0)",
            vec![
                "eval",
                "-i",
                zstd,
                "x - x.mean(axis=0)",
                "-o",
                "{0}",
                "--memory-limit",
                limit,
            ],
            vec!["centred"],
        ),
        (
            "two-pass rechunk",
            vec![
                "rechunk",
                &rows,
                "{0}",
                "--chunks",
                "800,10",
                "--memory-limit",
                "3MB",
            ],
            vec!["cols"],
        ),
        (
            "two outputs",
            vec![
                "eval",
                "-i",
                zstd,
                "(x * 2, x.sum(axis=0))",
                "-o",
                "{0}",
                "-o",
                "{1}",
            ],
            vec!["twice", "sums"],
        ),
    ];
    let runs = same_bytes(d, &cases, "threads", |args| hosts.mpirun(args))?;
    // The product's partials travel between the hosts.
    let stats: serde_json::Value =
        serde_json::from_str(text(&runs[2].stderr).lines().last().unwrap_or_default())?;
    assert!(stats["transfers"].as_u64().unwrap() > 0, "{stats}");
    same_region_writes(
        d,
        &[("x[:400] * 3", &rows, "0:400,0:800", "64MB")],
        "threads",
        |args| hosts.mpirun(args),
    )?;
    // Rank 2, on the second host, killed mid-write: the job stops; `--resume` on both
    // hosts writes the rest, byte-identical.
    let expr = "random((4000, 4000), chunks=(250, 250), seed=47).cumsum(axis=1) * 1";
    let (want, got) = (p("want-killed.zarr"), p("got-killed.zarr"));
    ok(&brickwork(&[
        "eval",
        expr,
        "--output",
        &want,
        "--scheduler",
        "threads",
    ]));
    let mut job = hosts
        .command(&["eval", expr, "--output", &got])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let chunks = d.join("got-killed.zarr").join("c");
    let killed = kill_rank_once_written(&mut job, &chunks, "seed=47", 2)?;
    let first = job.wait_with_output()?;
    if killed {
        assert!(!first.status.success(), "the job went on without rank 2");
        ok(&hosts.mpirun(&["eval", expr, "--output", &got, "--resume"]));
    } else {
        ok(&first);
    }
    assert_eq!(
        crate::common::store_files(&d.join("got-killed.zarr"))?,
        crate::common::store_files(&d.join("want-killed.zarr"))?,
        "killed on the second host, then resumed"
    );
    Ok(())
}

/// The report of a run on 3 ranks has a timeline row per worker rank, each with the tasks
/// that rank ran (rank 0 only schedules), and one entry per task.
#[test]
fn the_report_of_a_run_on_ranks_shows_each_worker_ranks_tasks() -> TestResult {
    let dir = tempfile::tempdir()?;
    let report = dir.path().join("report.html");
    let run = mpirun(
        3,
        &[
            "eval",
            "x = random((900, 900), chunks=(100, 100), seed=3); (x + x.T).sum(axis=0)[:4]",
            "-q",
            "--stats",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    ok(&run);
    let stats: serde_json::Value =
        serde_json::from_str(text(&run.stderr).lines().last().unwrap_or_default())?;
    let data = crate::dashboard::report_data(&std::fs::read_to_string(&report)?);
    let tasks = data["tasks"].as_array().ok_or("tasks")?;
    assert!(!tasks.is_empty());
    let mut per_row = [0u64; 2];
    for t in tasks {
        let (row, t0, t1) = (
            t[0].as_u64().ok_or("row")? as usize,
            t[2].as_f64().ok_or("start")?,
            t[3].as_f64().ok_or("end")?,
        );
        assert!(row < 2 && t0 <= t1, "{t}");
        per_row[row] += 1;
    }
    assert!(per_row.iter().all(|&n| n > 0), "{per_row:?}");
    assert!(tasks.len() as u64 <= stats["tasks"].as_u64().ok_or("tasks")?);
    Ok(())
}
