//! One file per subcommand. Each turns its flags into library options, then calls the
//! library; flag mistakes become usage errors (exit code 2).

mod clean;
mod eval;
mod export;
mod import;
mod info;
mod rechunk;

use anyhow::{Context, Result};
use brickwork::store::ZarrFormat;
use brickwork::{Codec, ComputeOptions, MonitorSettings, NumpyIndex, Scheduler, WriteOptions};

use crate::cli::{Cli, Command, ExecArgs, StorageArgs, WriteArgs, usage};

/// Runs the parsed command line. A write command first removes what ended processes left
/// for its outputs and in its temporary directories, and after it succeeded what is still
/// left for its outputs (see [`clean::sweep`]).
pub(crate) fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Info(a) => info::run(&a),
        Command::Clean(a) => clean::run(&a),
        Command::Import(a) => swept(&[&a.dst], &a.write, &a.exec, || import::run(&a)),
        Command::Export(a) => swept(&[&a.dst], &a.write, &a.exec, || export::run(&a)),
        Command::Rechunk(a) => swept(&[&a.dst], &a.write, &a.exec, || rechunk::run(&a)),
        Command::Eval(a) => {
            let outputs: Vec<&std::path::Path> = a.output.iter().map(|p| p.as_path()).collect();
            swept(&outputs, &a.write, &a.exec, || eval::run(&a))
        }
    }
}

/// Runs the write command `body` to `outputs` between two sweeps of leftovers (see
/// [`clean::sweep`]).
fn swept(
    outputs: &[&std::path::Path],
    write: &WriteArgs,
    exec: &ExecArgs,
    body: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let dirs = clean::Dirs {
        spill: exec.spill_dir.as_deref(),
        tmp: exec.tmp_dir.as_deref(),
    };
    for out in outputs {
        // The first pass of a rechunk that an ended process left is kept for --resume to
        // reuse, and for a rerun that will be refused and told to add --resume.
        let keep = write.resume || (!write.overwrite && out.exists());
        clean::sweep(Some(out), &dirs, keep);
    }
    if outputs.is_empty() {
        clean::sweep(None, &dirs, false);
    }
    body()?;
    for out in outputs {
        clean::sweep_target(out, &dirs);
    }
    Ok(())
}

/// Parses `1000,1000` (spaces allowed) into sizes; `what` names the flag in errors.
pub(crate) fn parse_list(text: &str, what: &str) -> Result<Vec<usize>> {
    text.split(',')
        .map(|p| {
            p.trim().parse::<usize>().map_err(|_| {
                usage(format!(
                    "{what}: {text:?} is not a comma-separated list of sizes (e.g. 1000,1000)"
                ))
            })
        })
        .collect()
}

/// The scheduler without --scheduler: mpi when started by an MPI launcher with several
/// ranks (and built with MPI), else threads.
fn default_scheduler() -> &'static str {
    #[cfg(feature = "mpi")]
    if crate::ranks::by_default() {
        return "mpi";
    }
    "threads"
}

/// Compute options from the shared flags.
pub(crate) fn compute_options(exec: &ExecArgs) -> Result<ComputeOptions> {
    let mut scheduler: Scheduler = exec
        .scheduler
        .as_deref()
        .unwrap_or(default_scheduler())
        .parse()
        .map_err(|e: brickwork::Error| usage(format!("--scheduler: {e}")))?;
    if scheduler == Scheduler::Mpi {
        #[cfg(feature = "mpi")]
        crate::ranks::start()?;
        #[cfg(not(feature = "mpi"))]
        return Err(usage(
            "--scheduler mpi: this brickwork was built without MPI (cargo build --release \
             --features mpi, with an MPI installed)",
        ));
    }
    if exec.threads == Some(0)
        || exec.workers == Some(0)
        || exec.threads_per_worker == Some(0)
        || exec.max_requests == Some(0)
    {
        return Err(usage(
            "--threads, --workers, --threads-per-worker and --max-requests must be at least 1",
        ));
    }
    if let Scheduler::Cluster { .. } = scheduler {
        scheduler = Scheduler::Cluster {
            workers: exec.workers.unwrap_or(1),
            threads_per_worker: exec.threads_per_worker.or(exec.threads).unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
            }),
        };
    } else if let Scheduler::Processes(cores) = scheduler {
        if exec.threads_per_worker.is_some() {
            return Err(usage(
                "--threads-per-worker needs --scheduler cluster (each worker process runs one \
                 task at a time: use --workers)",
            ));
        }
        scheduler = Scheduler::Processes(exec.workers.or(exec.threads).unwrap_or(cores));
    } else if exec.workers.is_some() || exec.threads_per_worker.is_some() {
        return Err(usage(
            "--workers needs --scheduler cluster or processes, and --threads-per-worker \
             --scheduler cluster",
        ));
    }
    let memory_limit = match &exec.memory_limit {
        Some(text) => Some(
            brickwork::units::parse_bytes(text)
                .map_err(|e| usage(format!("--memory-limit: {e}")))?,
        ),
        None => None,
    };
    let linger = match exec.dashboard_linger {
        Some(s) if !(s.is_finite() && s >= 0.0) => {
            return Err(usage(format!(
                "--dashboard-linger {s}: expected a number of seconds, at least 0"
            )));
        }
        Some(s) => std::time::Duration::from_secs_f64(s),
        None => std::time::Duration::ZERO,
    };
    let options = ComputeOptions {
        scheduler,
        threads: exec.threads,
        memory_limit,
        max_requests: exec.max_requests,
        progress: (!exec.quiet).then(crate::output::progress_bar),
        spill_dir: exec
            .spill_dir
            .as_deref()
            .map(|d| check_dir(d, "--spill-dir"))
            .transpose()?,
        tmp_dir: exec
            .tmp_dir
            .as_deref()
            .map(|d| check_dir(d, "--tmp-dir"))
            .transpose()?,
        cancel: Some(crate::cancel_flag()),
        observers: brickwork::observe::Observers::none(),
    }
    .observe(crate::output::Notices);
    if let Some(addr) = &exec.dashboard {
        brickwork::dashboard::check_address(addr, exec.dashboard_allow_remote)
            .map_err(|e| usage(format!("--dashboard: {e}")))?;
    }
    if let Some(path) = &exec.report {
        brickwork::dashboard::check_report_path(path)
            .map_err(|e| usage(format!("--report: {e}")))?;
    }
    // On MPI ranks, rank 0 alone serves the dashboard and writes the report.
    #[cfg(feature = "mpi")]
    if scheduler == Scheduler::Mpi && brickwork::mpi::rank().is_some_and(|r| r != 0) {
        return Ok(options);
    }
    Ok(options.monitor_with(MonitorSettings {
        dashboard: exec.dashboard.clone(),
        allow_remote: exec.dashboard_allow_remote,
        linger,
        report: exec.report.clone(),
    }))
}

/// Runs `body` as one dashboard session titled `title` when `opts` has a monitor (so a
/// command's several computations show together), else just runs it.
pub(crate) fn session<T>(
    opts: &ComputeOptions,
    title: &str,
    body: impl FnOnce() -> Result<T>,
) -> Result<T> {
    match brickwork::Monitor::of(opts) {
        Some(m) => m.session(title, body),
        None => body(),
    }
}

/// Checks up front that `dir`, given with `flag` (`--spill-dir`, `--tmp-dir`), is a
/// writable directory (the library would only find out at the first spill or temporary
/// store, after minutes of work): creates and removes a directory in it.
fn check_dir(dir: &std::path::Path, flag: &str) -> Result<std::path::PathBuf> {
    let shown = dir.display();
    let meta = std::fs::metadata(dir).with_context(|| format!("{flag} {shown}"))?;
    if !meta.is_dir() {
        anyhow::bail!("{flag} {shown}: not a directory");
    }
    tempfile::Builder::new()
        .prefix(".brickwork-probe-")
        .tempdir_in(dir)
        .with_context(|| format!("{flag} {shown}: cannot create a directory in it"))?;
    Ok(dir.to_path_buf())
}

/// Write options from the shared flags; with `rank`, `--chunks` and `--shards` must have that
/// many sizes.
/// Subcommands call it with `None` first, so flag mistakes are reported before any file is
/// touched.
pub(crate) fn write_options(
    w: &WriteArgs,
    storage: &StorageArgs,
    rank: Option<usize>,
) -> Result<WriteOptions> {
    let codec = Codec::parse(&w.codec).map_err(|e| usage(format!("--codec: {e}")))?;
    let chunks = match &w.chunks {
        Some(c) => {
            let c = parse_list(c, "--chunks")?;
            if let Some(rank) = rank.filter(|&r| r != c.len()) {
                return Err(usage(format!(
                    "--chunks has {} sizes but the array has {rank} dimension(s)",
                    c.len()
                )));
            }
            if c.contains(&0) {
                return Err(usage("--chunks: chunk sizes must be at least 1"));
            }
            Some(c)
        }
        None => None,
    };
    let zarr_format = ZarrFormat::from_number(u64::from(w.zarr_format))
        .map_err(|e| usage(format!("--zarr-format: {e}")))?;
    let shards = match &w.shards {
        Some(s) => {
            let s = parse_list(s, "--shards")?;
            if zarr_format == ZarrFormat::V2 {
                return Err(usage(
                    "--shards needs Zarr format 3: Zarr format 2 has no sharding (drop --shards or --zarr-format 2)",
                ));
            }
            if let Some(rank) = rank.filter(|&r| r != s.len()) {
                return Err(usage(format!(
                    "--shards has {} sizes but the array has {rank} dimension(s)",
                    s.len()
                )));
            }
            Some(s)
        }
        None => None,
    };
    let opts = WriteOptions {
        chunks,
        codec,
        overwrite: w.overwrite,
        resume: w.resume,
        shards,
        zarr_format,
        storage: storage.options(),
        ..WriteOptions::default()
    };
    // With both --chunks and --shards given, check that they fit before any work (without
    // --chunks the library checks the shards against the input's chunks).
    if let (Some(chunks), Some(shards)) = (&opts.chunks, &w.shards) {
        opts.write_shape(chunks)
            .map_err(|e| usage(format!("--shards {shards}: {e}")))?;
    }
    Ok(opts)
}

/// Parses a NumPy-style region: `0:100,:,5`, `::2,-10:`.
pub(crate) fn parse_region(text: &str) -> Result<Vec<NumpyIndex>> {
    let bad = |part: &str| {
        usage(format!(
            "--region: cannot parse {part:?} (expected start:stop:step or an index per axis, e.g. 0:100,:,5)"
        ))
    };
    let int = |s: &str, part: &str| -> Result<Option<isize>> {
        let s = s.trim();
        if s.is_empty() {
            Ok(None)
        } else {
            s.parse().map(Some).map_err(|_| bad(part))
        }
    };
    text.split(',')
        .map(|part| {
            let fields: Vec<&str> = part.split(':').collect();
            match fields.as_slice() {
                [i] => Ok(NumpyIndex::Int(int(i, part)?.ok_or_else(|| bad(part))?)),
                [a, b] => Ok(NumpyIndex::Slice {
                    start: int(a, part)?,
                    stop: int(b, part)?,
                    step: None,
                }),
                [a, b, c] => Ok(NumpyIndex::Slice {
                    start: int(a, part)?,
                    stop: int(b, part)?,
                    step: int(c, part)?,
                }),
                _ => Err(bad(part)),
            }
        })
        .collect()
}

/// Opens a Zarr array, with the path in the error; an incomplete one only with
/// `--allow-incomplete`.
pub(crate) fn open_zarr(path: &std::path::Path, exec: &ExecArgs) -> Result<brickwork::Array> {
    let read = brickwork::ReadOptions {
        allow_incomplete: exec.allow_incomplete,
        storage: exec.storage.options(),
    };
    brickwork::Array::from_zarr_with(path, &read)
        .with_context(|| format!("cannot open {}", path.display()))
}
