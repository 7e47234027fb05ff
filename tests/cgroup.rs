//! The default memory limit is the container's (issue 24, item 2): a run with no
//! `--memory-limit` inside a cgroup takes half of the cgroup's limit and finishes without
//! being OOM-killed.
//!
//! The test makes its own cgroup: cgroup v2 where the unified hierarchy at `/sys/fs/cgroup`
//! offers the `memory` controller to its children (`brickwork-test-<pid>` under the root,
//! `memory.max`), else cgroup v1 (`brickwork-test-<pid>` under this process's own `memory`
//! cgroup, `memory.limit_in_bytes`). The CLI runs under `sh`, which moves itself into the
//! cgroup (`cgroup.procs`) and then `exec`s it. Creating a cgroup needs root and a writable
//! cgroup file system; where it cannot be made, the test prints why and passes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const MIB: u64 = 1 << 20;

/// A cgroup made for one test, removed on drop (once its processes have exited).
struct Cgroup {
    dir: PathBuf,
    /// The file the CLI reports its limit from.
    limit_file: PathBuf,
    /// The file counting OOM kills (`memory.events` in v2, `memory.oom_control` in v1).
    events: PathBuf,
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

impl Cgroup {
    /// A cgroup whose memory limit is `max` bytes, or why none can be made here.
    fn create(max: u64) -> Result<Cgroup, String> {
        match Self::v2(max) {
            Ok(c) => Ok(c),
            Err(v2) => Self::v1(max).map_err(|v1| format!("cgroup v2: {v2}; cgroup v1: {v1}")),
        }
    }

    fn v2(max: u64) -> Result<Cgroup, String> {
        let root = Path::new("/sys/fs/cgroup");
        let read = |f: &str| std::fs::read_to_string(root.join(f)).map_err(|e| format!("{f}: {e}"));
        let has_memory = |s: &str| s.split_whitespace().any(|c| c == "memory");
        if !has_memory(&read("cgroup.controllers")?) {
            return Err("the memory controller is not available".into());
        }
        if !has_memory(&read("cgroup.subtree_control")?) {
            return Err("cgroup.subtree_control does not enable memory".into());
        }
        let dir = make_dir(root)?;
        let cgroup = Cgroup {
            limit_file: dir.join("memory.max"),
            events: dir.join("memory.events"),
            dir,
        };
        write(&cgroup.limit_file, max)?;
        // Without swap, a run over the limit is killed rather than slowed down.
        let _ = std::fs::write(cgroup.dir.join("memory.swap.max"), "0");
        Ok(cgroup)
    }

    fn v1(max: u64) -> Result<Cgroup, String> {
        let own = std::fs::read_to_string("/proc/self/cgroup").map_err(|e| e.to_string())?;
        let path = own
            .lines()
            .filter_map(|l| l.split_once(':')?.1.split_once(':'))
            .find(|(controllers, _)| controllers.split(',').any(|c| c == "memory"))
            .map(|(_, path)| path.trim_start_matches('/').to_string())
            .ok_or("no memory controller in /proc/self/cgroup")?;
        let parent = Path::new("/sys/fs/cgroup/memory").join(path);
        if !parent.join("memory.limit_in_bytes").exists() {
            return Err(format!("{} is not mounted", parent.display()));
        }
        let dir = make_dir(&parent)?;
        let cgroup = Cgroup {
            limit_file: dir.join("memory.limit_in_bytes"),
            events: dir.join("memory.oom_control"),
            dir,
        };
        write(&cgroup.limit_file, max)?;
        // memory + swap: the same limit, where swap accounting is on.
        let _ = std::fs::write(
            cgroup.dir.join("memory.memsw.limit_in_bytes"),
            max.to_string(),
        );
        Ok(cgroup)
    }

    /// OOM kills in this cgroup so far (0 where the kernel does not count them).
    fn oom_kills(&self) -> u64 {
        std::fs::read_to_string(&self.events)
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    /// `brickwork args` started inside this cgroup.
    fn brickwork(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("echo $$ > \"$0\" && exec \"$@\"")
            .arg(self.dir.join("cgroup.procs"))
            .arg(crate::common::brickwork_exe())
            .args(args);
        cmd
    }
}

fn make_dir(parent: &Path) -> Result<PathBuf, String> {
    let dir = parent.join(format!("brickwork-test-{}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

fn write(file: &Path, bytes: u64) -> Result<(), String> {
    std::fs::write(file, bytes.to_string()).map_err(|e| format!("{}: {e}", file.display()))
}

/// With no `--memory-limit`, a computation over data as large as the cgroup's limit takes
/// half of that limit (reported in `--stats` with its source) and finishes inside it; its
/// time is printed beside the same run outside the cgroup.
#[test]
fn the_default_limit_is_the_cgroups_and_the_run_finishes_inside_it() -> TestResult {
    let max = 256 * MIB;
    let cgroup = match Cgroup::create(max) {
        Ok(c) => c,
        Err(why) => {
            eprintln!("skipped: no cgroup can be created here ({why})");
            return Ok(());
        }
    };
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("y.zarr");
    let out = out.to_str().unwrap();
    // 4000 x 4000 float64 is 128 MB: the engine's limit, half the cgroup's.
    let prog = "x = random((4000, 4000), chunks=(500, 500), seed=1); x - x.mean(axis=0)";
    let args = [
        "eval",
        prog,
        "--output",
        out,
        "--overwrite",
        "--stats",
        "--quiet",
    ];
    let started = Instant::now();
    let o = cgroup.brickwork(&args).output()?;
    let inside = started.elapsed();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "{:?} inside a {} MiB cgroup ({} OOM kills): {err}",
        o.status,
        max / MIB,
        cgroup.oom_kills()
    );
    assert_eq!(cgroup.oom_kills(), 0, "{err}");
    let stats: serde_json::Value = serde_json::from_str(err.trim())?;
    let limit = stats["memory_limit"]
        .as_u64()
        .expect("the limit is reported");
    assert!(limit <= max / 2, "{stats}");
    let source = stats["memory_limit_source"].as_str().unwrap_or_default();
    assert!(
        source.contains(&cgroup.limit_file.display().to_string()),
        "{source:?} does not name {}",
        cgroup.limit_file.display()
    );
    let limit_arg = format!("{}B", limit);
    let started = Instant::now();
    let free = Command::new(crate::common::brickwork_exe())
        .args(args)
        .args(["--memory-limit", &limit_arg])
        .output()?;
    assert!(free.status.success());
    eprintln!(
        "inside a {} MiB cgroup: limit {:.0} MiB ({source}), {:.2} s; outside: {:.2} s",
        max / MIB,
        limit as f64 / MIB as f64,
        inside.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
