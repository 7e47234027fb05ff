//! The live dashboard's server (routes, event stream, address checks) and the HTML report,
//! through the library; the browser tests of the same pages are in `dashboard_browser`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use brickwork::{Array, ComputeOptions, MonitorSettings};
use serde_json::Value;

use crate::common::TestResult;

/// The JSON object a report embeds (`window.BRICKWORK_DATA = {...};` in src/dashboard/page.html).
pub(crate) fn report_data(html: &str) -> Value {
    const AT: &str = "window.BRICKWORK_DATA = ";
    let at = html.find(AT).expect("the report embeds its data") + AT.len();
    serde_json::Deserializer::from_str(&html[at..])
        .into_iter::<Value>()
        .next()
        .expect("a JSON value")
        .expect("valid JSON")
}

/// One HTTP/1.1 GET; returns the status code and the body (read until the server closes).
fn get(addr: &str, path: &str, host: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return (status, body.to_string());
    }
    // Large answers come in chunks: `SIZE\r\nDATA\r\n`, ending with size 0.
    let (mut rest, mut out) = (body, String::new());
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    (status, out)
}

/// The `HOST:PORT` of `monitor`'s dashboard, once its session has started it.
fn address_of(monitor: &brickwork::Monitor) -> String {
    let start = Instant::now();
    loop {
        if let Some(url) = monitor.url() {
            return url
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_string();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no dashboard started"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A computation of a few hundred milliseconds (many small tasks).
fn workload() -> Array {
    sum_of_sines(2000, 7)
}

fn sum_of_sines(n: usize, seed: u64) -> Array {
    Array::random(&[n, n], &[50, 50], seed)
        .and_then(|x| x.sin())
        .and_then(|x| x.sum())
        .expect("a valid expression")
}

#[test]
fn report_has_the_runs_figures_and_plan() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("report.html");
    let opts = ComputeOptions::threads(2).report(&path);
    let (block, metrics) = workload().compute_with(&opts)?;
    assert_eq!(block.shape(), &[] as &[usize]);
    let html = std::fs::read_to_string(&path)?;
    assert!(html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"));
    // Self-contained: no fetch of anything outside the file.
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    let data = report_data(&html);
    assert_eq!(data["finished"], true);
    assert_eq!(data["error"], Value::Null);
    assert_eq!(data["stats"], metrics.to_json());
    assert_eq!(data["stats"]["tasks"].as_u64(), Some(metrics.tasks));
    let tasks = data["tasks"].as_array().unwrap();
    assert_eq!(tasks.len() as u64, metrics.tasks);
    for t in tasks {
        let (row, t0, t1) = (
            t[0].as_u64().unwrap(),
            t[2].as_f64().unwrap(),
            t[3].as_f64().unwrap(),
        );
        assert!(row < 2 && t0 <= t1, "{t}");
    }
    // Every stage finished its tasks; the plan counts them before and after culling.
    let stages = data["stages"].as_array().unwrap();
    assert!(stages.len() >= 2);
    for st in stages {
        assert_eq!(st["done"], st["total"], "{st}");
    }
    let plan = &data["plan"];
    assert_eq!(plan["tasks_after"].as_u64(), Some(metrics.tasks));
    assert!(plan["tasks_before"].as_u64().unwrap() >= metrics.tasks);
    assert_eq!(
        plan["predicted_peak"].as_u64(),
        Some(metrics.predicted_peak_bytes)
    );
    assert_eq!(
        plan["measured_peak"].as_u64(),
        Some(metrics.peak_reserved_bytes)
    );
    assert!(plan["dot"].as_str().unwrap().starts_with("digraph"));
    assert!(!data["memory"].as_array().unwrap().is_empty());
    let io = data["io"].as_array().unwrap();
    assert_eq!(io.last().unwrap()[2].as_u64(), Some(metrics.bytes_output));
    Ok(())
}

#[test]
fn report_of_a_failed_run_names_the_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("failed.html");
    let opts = ComputeOptions::threads(2)
        .with_memory_limit(1000)
        .report(&path);
    let err = workload().compute_with(&opts).unwrap_err();
    let data = report_data(&std::fs::read_to_string(&path)?);
    assert_eq!(data["finished"], true);
    assert_eq!(data["error"].as_str(), Some(err.to_string().as_str()));
    Ok(())
}

#[test]
fn report_to_a_missing_directory_is_an_error_naming_it() {
    let opts = ComputeOptions::threads(1).report("/nonexistent-brickwork-dir/r.html");
    let err = workload().compute_with(&opts).unwrap_err().to_string();
    assert!(
        err.contains("/nonexistent-brickwork-dir/r.html") && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn one_session_groups_several_computations() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("both.html");
    let opts = ComputeOptions::threads(2).report(&path);
    let monitor = brickwork::Monitor::of(&opts).unwrap();
    let (a, b) = monitor.session("two sums", || -> brickwork::Result<_> {
        let a = workload().compute_with(&opts)?.1;
        let b = Array::ones(&[100], &[10], brickwork::DType::F64)?
            .sum()?
            .compute_with(&opts)?
            .1;
        Ok((a, b))
    })?;
    let data = report_data(&std::fs::read_to_string(&path)?);
    assert_eq!(data["meta"]["title"], "two sums");
    assert_eq!(data["stats"]["tasks"].as_u64(), Some(a.tasks + b.tasks));
    assert_eq!(data["plan"]["runs"], 2);
    Ok(())
}

#[test]
fn live_server_serves_page_state_and_events() -> TestResult {
    let opts = ComputeOptions::threads(1).monitor_with(MonitorSettings {
        dashboard: Some("127.0.0.1:0".into()),
        linger: Duration::from_millis(1500),
        ..MonitorSettings::default()
    });
    let monitor = brickwork::Monitor::of(&opts).unwrap();
    let run = std::thread::spawn(move || sum_of_sines(3000, 1).compute_with(&opts).map(|(_, m)| m));
    let start = Instant::now();
    let addr = address_of(&monitor);

    let (status, page) = get(&addr, "/", &addr);
    assert_eq!(status, 200);
    assert!(
        page.contains("/*BRICKWORK_DATA*/null"),
        "live page without data"
    );
    // The server starts with the session, before the plan is registered: ask until it is.
    let state: Value = loop {
        let (status, state) = get(&addr, "/state", &addr);
        assert_eq!(status, 200);
        let state: Value = serde_json::from_str(&state)?;
        assert_eq!(state["version"], 1);
        if !state["meta"]["workers"].as_array().unwrap().is_empty() {
            break state;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no plan registered"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(state["meta"]["workers"].as_array().unwrap().len(), 1);

    // Only its own routes, only under its own name.
    assert_eq!(get(&addr, "/etc/passwd", &addr).0, 404);
    assert_eq!(get(&addr, "/../Cargo.toml", &addr).0, 404);
    assert_eq!(get(&addr, "/state", "evil.example:80").0, 403);
    let port = addr.rsplit(':').next().unwrap();
    assert_eq!(get(&addr, "/state", &format!("localhost:{port}")).0, 200);

    // The event stream: one `data:` message per tick, deltas, the last one finished.
    let mut s = TcpStream::connect(&addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(s, "GET /events HTTP/1.1\r\nHost: {addr}\r\n\r\n")?;
    let mut lines = BufReader::new(s).lines();
    let status_line = lines.next().unwrap()?;
    assert!(status_line.contains("200"), "{status_line}");
    let mut messages = Vec::new();
    let mut times = Vec::new();
    for line in lines {
        let line = line?;
        if let Some(data) = line.strip_prefix("data: ") {
            times.push(Instant::now());
            let v: Value = serde_json::from_str(data)?;
            let finished = v["finished"] == true;
            messages.push(v);
            if finished {
                break;
            }
        }
    }
    let metrics = run.join().unwrap()?;
    let last = messages.last().unwrap();
    assert_eq!(
        last["finished"], true,
        "the stream ends with the finished state"
    );
    assert_eq!(last["stats"], metrics.to_json());
    // Deltas: every task arrives exactly once over the stream.
    let bars: usize = messages
        .iter()
        .map(|m| m["tasks"].as_array().unwrap().len())
        .sum();
    assert_eq!(bars as u64, metrics.tasks);
    // At least twice a second while running: messages every 250 ms, so the median gap is
    // well under 500 ms (single gaps can stretch on a loaded test machine).
    let mut gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort();
    if let Some(median) = gaps.get(gaps.len() / 2) {
        assert!(*median < Duration::from_millis(500), "{gaps:?}");
    }
    // The server stops after lingering.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        TcpStream::connect(&addr).is_err(),
        "the server still answers"
    );
    Ok(())
}

#[test]
fn events_resume_from_the_counts_the_page_has() -> TestResult {
    let opts = ComputeOptions::threads(1).monitor_with(MonitorSettings {
        dashboard: Some("127.0.0.1:0".into()),
        linger: Duration::from_secs(3),
        ..MonitorSettings::default()
    });
    let monitor = brickwork::Monitor::of(&opts).unwrap();
    let run = std::thread::spawn(move || workload().compute_with(&opts).map(|(_, m)| m));
    let start = Instant::now();
    let addr = address_of(&monitor);
    // Finished and lingering (the call returns after the linger): a page opened now gets
    // everything from /state, then from /events only what is new since the counts it asks
    // from.
    let state: Value = loop {
        let state: Value = serde_json::from_str(&get(&addr, "/state", &addr).1)?;
        if state["finished"] == true {
            break state;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let metrics = monitor_metrics(&state);
    let count = |k: &str| state[k].as_array().unwrap().len();
    assert_eq!(count("tasks") as u64, metrics.tasks);
    let query = format!(
        "/events?tasks={}&memory={}&marks={}&io={}",
        count("tasks"),
        count("memory"),
        count("marks"),
        count("io")
    );
    let (status, body) = get(&addr, &query, &addr);
    assert_eq!(status, 200);
    let first = body.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    let first: Value = serde_json::from_str(first)?;
    assert_eq!(first["finished"], true);
    for k in ["tasks", "memory", "marks", "io"] {
        assert_eq!(first[k].as_array().unwrap().len(), 0, "{k} sent twice");
    }
    // Without counts, everything.
    let body = get(&addr, "/events", &addr).1;
    let all: Value =
        serde_json::from_str(body.lines().find_map(|l| l.strip_prefix("data: ")).unwrap())?;
    assert_eq!(all["tasks"].as_array().unwrap().len() as u64, metrics.tasks);
    let returned = run.join().unwrap()?;
    assert_eq!(returned.tasks, metrics.tasks);
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "returned before the linger"
    );
    Ok(())
}

#[test]
fn a_cluster_report_has_each_workers_memory_and_the_transfers() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("cluster.html");
    let x = Array::random(&[800, 800], &[100, 100], 1)?;
    let a = x.sum_axis(brickwork::Axis(0))?;
    let opts = ComputeOptions::cluster(3, 1, 1 << 30).report(&path);
    let (_, metrics) = a.compute_with(&opts)?;
    let data = report_data(&std::fs::read_to_string(&path)?);
    assert_eq!(data["meta"]["scheduler"], "cluster");
    assert_eq!(data["meta"]["workers"].as_array().unwrap().len(), 3);
    let mem = data["workers_memory"].as_array().unwrap();
    let workers: std::collections::BTreeSet<&str> =
        mem.iter().map(|m| m[1].as_str().unwrap()).collect();
    assert_eq!(workers.len(), 3, "{workers:?}");
    let transfers = data["transfers"].as_array().unwrap();
    assert_eq!(transfers.len() as u64, metrics.transfers);
    let bytes: u64 = transfers.iter().map(|t| t[3].as_u64().unwrap()).sum();
    assert_eq!(bytes, metrics.bytes_transferred);
    assert!(bytes > 0);
    Ok(())
}

#[test]
fn cancel_ends_the_linger() -> TestResult {
    let cancel = brickwork::CancelToken::new();
    let opts = ComputeOptions {
        cancel: Some(cancel.clone()),
        ..ComputeOptions::threads(1)
    }
    .monitor_with(MonitorSettings {
        dashboard: Some("127.0.0.1:0".into()),
        linger: Duration::from_secs(60),
        ..MonitorSettings::default()
    });
    let monitor = brickwork::Monitor::of(&opts).unwrap();
    let run = std::thread::spawn(move || workload().compute_with(&opts).map(|(_, m)| m));
    let addr = address_of(&monitor);
    while serde_json::from_str::<Value>(&get(&addr, "/state", &addr).1)?["finished"] != true {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Lingering now; Ctrl-C (the cancel flag) ends it.
    let cancelled = Instant::now();
    cancel.cancel();
    let metrics = run.join().unwrap()?;
    assert!(metrics.tasks > 0, "the computation itself finished before");
    assert!(
        cancelled.elapsed() < Duration::from_secs(5),
        "{:?}",
        cancelled.elapsed()
    );
    Ok(())
}

/// The task count of a finished state's figures.
fn monitor_metrics(state: &Value) -> brickwork::Metrics {
    brickwork::Metrics {
        tasks: state["stats"]["tasks"]
            .as_u64()
            .expect("figures in a finished state"),
        ..brickwork::Metrics::default()
    }
}

#[test]
fn a_remote_address_needs_to_be_allowed() {
    let opts = ComputeOptions::threads(1).dashboard("0.0.0.0:0");
    let err = workload().compute_with(&opts).unwrap_err().to_string();
    assert!(err.contains("0.0.0.0") && err.contains("loopback"), "{err}");
    let opts = ComputeOptions::threads(1).dashboard("no-such-host.invalid:80");
    let err = workload().compute_with(&opts).unwrap_err().to_string();
    assert!(err.contains("no-such-host.invalid"), "{err}");
    let opts = ComputeOptions::threads(1).dashboard("127.0.0.1");
    let err = workload().compute_with(&opts).unwrap_err().to_string();
    assert!(err.contains("HOST:PORT"), "{err}");
}

#[test]
fn an_address_in_use_is_an_error() -> TestResult {
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = taken.local_addr()?.to_string();
    let opts = ComputeOptions::threads(1).dashboard(&addr);
    let err = workload().compute_with(&opts).unwrap_err().to_string();
    assert!(err.contains(&addr) && err.contains("cannot bind"), "{err}");
    Ok(())
}

/// The pages in headless Chromium (Debian's, driven by playwright: scripts/browser.sh
/// installs both, and scripts/test.sh runs it and sets `BRICKWORK_BROWSER_PYTHON`).
mod browser {
    use std::io::{BufRead, BufReader};
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    use serde_json::Value;

    use super::report_data;
    use crate::common::TestResult;

    /// The Python with playwright, or `None` after a note saying why the browser tests are
    /// skipped (a panic instead when `BRICKWORK_REQUIRE_BROWSER` is set).
    fn browser_python() -> Option<PathBuf> {
        let why = match std::env::var_os("BRICKWORK_BROWSER_PYTHON") {
            Some(p) if Path::new(&p).exists() => return Some(PathBuf::from(p)),
            Some(p) => format!(
                "BRICKWORK_BROWSER_PYTHON={} does not exist",
                p.to_string_lossy()
            ),
            None => "BRICKWORK_BROWSER_PYTHON is not set (scripts/test.sh sets it after \
                     scripts/browser.sh installs Chromium and playwright)"
                .into(),
        };
        assert!(
            std::env::var_os("BRICKWORK_REQUIRE_BROWSER").is_none(),
            "the browser tests are required but {why}"
        );
        eprintln!("note: skipping the dashboard's browser tests: {why}");
        None
    }

    fn check(python: &Path, args: &[&str]) -> Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/browser_check.py");
        let out = Command::new(python)
            .arg(script)
            .args(args)
            .output()
            .expect("python runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "browser_check.py {args:?} failed: {stderr}"
        );
        serde_json::from_slice(&out.stdout).expect("browser_check.py prints JSON")
    }

    /// Where screenshots go: `target/dashboard-screenshots/` (kept for a look after a run).
    fn screenshot(name: &str) -> String {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dashboard-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name).to_string_lossy().into_owned()
    }

    #[test]
    fn live_page_and_report_in_chromium() -> TestResult {
        let Some(python) = browser_python() else {
            return Ok(());
        };
        let dir = tempfile::tempdir()?;
        let report = dir.path().join("report.html");
        // Several seconds of many small tasks on one thread: long enough for the browser to
        // start and read the page twice while it runs, also on a loaded machine.
        let mut child = Command::new(crate::common::brickwork_exe())
            .args([
                "eval",
                "sum(sin(random((28000, 28000), chunks=(350, 350))))",
                "--threads",
                "1",
                "--dashboard",
                "127.0.0.1:0",
                "--dashboard-linger",
                "1",
                "--report",
            ])
            .arg(&report)
            .args(["--stats", "-q"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let first = stderr.next().expect("a line on stderr")?;
        let url = first
            .strip_prefix("Dashboard: ")
            .unwrap_or_else(|| panic!("the URL first: {first}"))
            .to_string();
        let live = check(
            &python,
            &["live", &url, "--screenshot", &screenshot("live.png")],
        );
        let rest: Vec<String> = stderr.collect::<Result<_, _>>()?;
        let status = child.wait()?;
        assert!(status.success(), "brickwork failed: {rest:?}");
        let (a, b) = (&live["first"], &live["second"]);
        assert_eq!(
            a["status"], "running",
            "the page loaded after the run: {live}"
        );
        // The task stream and the memory panel move between two reads.
        assert!(b["bars"].as_u64() > a["bars"].as_u64(), "{live}");
        assert!(
            b["memory_samples"].as_u64() > a["memory_samples"].as_u64(),
            "{live}"
        );
        assert!(b["updates"].as_u64() > a["updates"].as_u64(), "{live}");
        let done = |v: &Value| -> u64 {
            v["stages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["done"].as_u64().unwrap())
                .sum()
        };
        assert!(done(b) > done(a), "{live}");

        // The report: every panel has data, the figures are those --stats printed.
        let stats: Value = serde_json::from_str(rest.last().expect("--stats"))?;
        let shown = check(
            &python,
            &[
                "report",
                report.to_str().unwrap(),
                "--screenshot",
                &screenshot("report.png"),
            ],
        );
        assert_eq!(shown["status"], "finished", "{shown}");
        for key in [
            "tasks",
            "bytes_read",
            "bytes_written",
            "peak_reserved_bytes",
            "predicted_peak_bytes",
            "memory_limit",
            "spilled_bytes",
        ] {
            assert_eq!(
                shown["stats"][key].as_f64(),
                stats[key].as_f64(),
                "{key}: report {} vs --stats {}",
                shown["stats"],
                stats
            );
        }
        let tasks = stats["tasks"].as_u64().unwrap();
        assert_eq!(shown["bars"].as_u64(), Some(tasks));
        assert_eq!(done(&shown), tasks);
        assert!(shown["memory_samples"].as_u64().unwrap() > 1);
        assert_eq!(
            shown["memory_peak"].as_u64(),
            stats["peak_reserved_bytes"].as_u64()
        );
        let data = report_data(&std::fs::read_to_string(&report)?);
        let stages = data["plan"]["stages"].as_array().unwrap().len();
        assert_eq!(shown["plan_stages"].as_array().unwrap().len(), stages);
        assert_eq!(shown["plan_svg_nodes"].as_u64(), Some(stages as u64));
        Ok(())
    }
}
