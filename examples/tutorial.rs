//! The dask.array tutorial workload in brickwork:
//!
//! ```text
//! x = random((n, n), chunks=(c, c))
//! v = (x + x.T)[::2, n/2:].mean(axis=1)
//! ```
//!
//! computed as the dask tutorial does it: on a cluster of workers (W workers x T threads,
//! 2 GB each) for (W, T) = (1, 2), (1, 4), (4, 1), (1, 1), then under the synchronous
//! scheduler, the threads scheduler with 1, 2 and 4 threads, and worker processes (one per
//! core), as the tutorial's `scheduler='processes'` (or only the configuration given with
//! `--scheduler`/`--threads`/`--workers`, `--repeat` times). Each run prints one line:
//!
//! `scheduler=<name> threads=<n> seconds=<t> len=<len> first=<v0>,<v1>,<v2>,<v3>,<v4> mean=<m>`
//!
//! and for the cluster `scheduler=cluster workers=<W> threads=<T> seconds=...` (T threads
//! per worker), for worker processes `scheduler=processes workers=<N> threads=1 seconds=...`
//! (each process runs one task at a time), and on the ranks of an MPI job (`mpirun -n N
//! tutorial --scheduler mpi`, built with `--features mpi`) `scheduler=mpi ranks=<N> seconds=...`,
//! printed by rank 0.
//!
//! `seconds` is the time inside the process of building the graph and computing it; `mean`
//! is the mean of all of `v` (about 1.0), computed after the timing, which lets
//! `benches/tutorial_vs_dask.sh` check the whole result and not only its first values.
//!
//! With `--dashboard ADDR` each computation serves the live dashboard on `ADDR` (port 0:
//! any free port), with `--report PATH` writes its HTML report (see `brickwork::dashboard`;
//! `benches/dashboard_overhead.sh` measures what they cost).
//!
//! Run: `cargo run --release --example tutorial -- [--n 10000] [--chunk 1000]
//! [--scheduler synchronous|threads|cluster|processes|mpi] [--threads N] [--workers W]
//! [--threads-per-worker T] [--memory-limit 2GB] [--seed S] [--repeat K]
//! [--dashboard ADDR] [--report PATH]`

use std::time::Instant;

use anyhow::{Context, Result, bail};

/// glibc's allocator returns freed tile buffers to the OS and faults them back in on every
/// tile (more than half the run time); mimalloc keeps them. Binaries choose their allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use brickwork::{Array, Axis, ComputeOptions, Scheduler, s};

struct Args {
    n: usize,
    chunk: usize,
    scheduler: Option<Scheduler>,
    threads: Option<usize>,
    seed: u64,
    repeat: usize,
    dashboard: Option<String>,
    report: Option<String>,
    workers: Option<usize>,
    threads_per_worker: Option<usize>,
    memory_limit: Option<u64>,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        n: 10_000,
        chunk: 1_000,
        scheduler: None,
        threads: None,
        seed: 0,
        repeat: 1,
        dashboard: None,
        report: None,
        workers: None,
        threads_per_worker: None,
        memory_limit: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            println!(
                "usage: tutorial [--n N] [--chunk C] [--scheduler synchronous|threads] \
                 [--threads T] [--workers W] [--threads-per-worker T] [--memory-limit SIZE] \
                 [--seed S] [--repeat K] [--dashboard ADDR] [--report PATH] \
                 (--scheduler synchronous|threads|cluster|processes|mpi; --workers: the \
                 cluster's workers or the worker processes)"
            );
            std::process::exit(0);
        }
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        let bad = || format!("invalid value {value:?} for {flag}");
        match flag.as_str() {
            "--n" => args.n = value.parse().with_context(bad)?,
            "--chunk" => args.chunk = value.parse().with_context(bad)?,
            "--scheduler" => args.scheduler = Some(value.parse().with_context(bad)?),
            "--threads" => args.threads = Some(value.parse().with_context(bad)?),
            "--seed" => args.seed = value.parse().with_context(bad)?,
            "--repeat" => args.repeat = value.parse().with_context(bad)?,
            "--dashboard" => args.dashboard = Some(value),
            "--workers" => args.workers = Some(value.parse().with_context(bad)?),
            "--threads-per-worker" => {
                args.threads_per_worker = Some(value.parse().with_context(bad)?);
            }
            "--memory-limit" => {
                args.memory_limit = Some(brickwork::units::parse_bytes(&value).with_context(bad)?);
            }
            "--report" => args.report = Some(value),
            other => bail!("unknown flag {other} (try --help)"),
        }
    }
    if args.n < 2
        || args.chunk == 0
        || args.repeat == 0
        || [args.threads, args.workers, args.threads_per_worker].contains(&Some(0))
    {
        bail!(
            "--n must be at least 2 and --chunk, --repeat, --threads, --workers and \
             --threads-per-worker at least 1"
        );
    }
    let cluster = matches!(args.scheduler, Some(Scheduler::Cluster { .. }));
    let processes = matches!(args.scheduler, Some(Scheduler::Processes(_)));
    if args.threads_per_worker.is_some() && !cluster {
        bail!("--threads-per-worker needs --scheduler cluster");
    }
    if args.workers.is_some() && !cluster && !processes {
        bail!("--workers needs --scheduler cluster or processes");
    }
    Ok(args)
}

/// Builds `v = (x + x.T)[::2, n/2:].mean(axis=1)`.
fn workload(n: usize, chunk: usize, seed: u64) -> Result<Array> {
    let x = Array::random(&[n, n], &[chunk, chunk], seed)?;
    let half = (n / 2) as isize;
    Ok((&x + &x.t()).slice(s![..;2, half..])?.mean_axis(Axis(1))?)
}

/// The dask tutorial's `memory_limit='2GB'` per worker.
const WORKER_LIMIT: u64 = 2_000_000_000;

fn configurations(args: &Args) -> Vec<ComputeOptions> {
    let limited = |o: ComputeOptions| match args.memory_limit {
        Some(m) => o.with_memory_limit(m),
        None => o,
    };
    let configs = match (args.scheduler, args.threads) {
        (None, None) => {
            let mut all: Vec<ComputeOptions> = [(1, 2), (1, 4), (4, 1), (1, 1)]
                .into_iter()
                .map(|(w, t)| ComputeOptions::cluster(w, t, WORKER_LIMIT))
                .collect();
            all.extend([
                ComputeOptions::synchronous(),
                ComputeOptions::threads(1),
                ComputeOptions::threads(2),
                ComputeOptions::threads(4),
                ComputeOptions::processes(cores()),
            ]);
            return all.into_iter().map(limited).collect();
        }
        (Some(Scheduler::Synchronous), _) => ComputeOptions::synchronous(),
        (Some(Scheduler::Mpi), _) => ComputeOptions::mpi(),
        (Some(Scheduler::Processes(n)), threads) => {
            ComputeOptions::processes(args.workers.or(threads).unwrap_or(n))
        }
        (Some(Scheduler::Cluster { .. }), threads) => ComputeOptions::cluster(
            args.workers.unwrap_or(1),
            args.threads_per_worker.or(threads).unwrap_or_else(cores),
            WORKER_LIMIT,
        ),
        (_, threads) => ComputeOptions {
            scheduler: Scheduler::Threads,
            threads,
            ..ComputeOptions::default()
        },
    };
    vec![limited(configs)]
}

/// The cores here (dask's default number of workers).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `scheduler=... threads=...`, or for a cluster `scheduler=cluster workers=W threads=T`,
/// for worker processes `scheduler=processes workers=N threads=1`.
fn describe(opts: &ComputeOptions) -> String {
    match opts.scheduler {
        Scheduler::Cluster {
            workers,
            threads_per_worker,
        } => format!("scheduler=cluster workers={workers} threads={threads_per_worker}"),
        Scheduler::Processes(n) => format!("scheduler=processes workers={n} threads=1"),
        Scheduler::Mpi => format!("scheduler=mpi ranks={}", ranks().1),
        other => format!("scheduler={other} threads={}", opts.effective_threads()),
    }
}

/// This process's rank and the number of ranks of its MPI job ((0, 1) without MPI).
fn ranks() -> (i32, i32) {
    #[cfg(feature = "mpi")]
    if let (Some(rank), Some(size)) = (brickwork::mpi::rank(), brickwork::mpi::size()) {
        return (rank, size);
    }
    (0, 1)
}

fn main() -> Result<()> {
    let args = parse_args()?;
    // `mpirun -n N tutorial --scheduler mpi` (built with --features mpi): every rank runs
    // this program; rank 0 prints.
    #[cfg(feature = "mpi")]
    let _universe = match args.scheduler {
        Some(Scheduler::Mpi) => Some(brickwork::mpi::initialize()?),
        _ => None,
    };
    #[cfg(not(feature = "mpi"))]
    if args.scheduler == Some(Scheduler::Mpi) {
        bail!("--scheduler mpi needs the example built with --features mpi");
    }
    // The other ranks of an MPI job compute with rank 0 and print nothing.
    let quiet = ranks().0 != 0;
    let v = workload(args.n, args.chunk, args.seed)?;
    let counts = v.task_counts()?;
    if !quiet {
        println!("{v}");
        println!(
            "tasks: {} before culling, {} after culling and fusion ({} stages)",
            counts.before, counts.after, counts.stages
        );
    }
    for mut opts in configurations(&args) {
        if let Some(addr) = args.dashboard.as_ref().filter(|_| !quiet) {
            opts = opts.dashboard(addr);
        }
        if let Some(path) = args.report.as_ref().filter(|_| !quiet) {
            opts = opts.report(path);
        }
        for _ in 0..args.repeat {
            let start = Instant::now();
            let v = workload(args.n, args.chunk, args.seed)?;
            let (result, _) = v.compute_with(&opts)?;
            let seconds = start.elapsed().as_secs_f64();
            let values = result.into_typed::<f64>();
            let first: Vec<String> = values.iter().take(5).map(|x| x.to_string()).collect();
            let mean = values.sum() / values.len() as f64;
            if quiet {
                continue;
            }
            println!(
                "{} seconds={seconds:.4} len={} first={} mean={mean}",
                describe(&opts),
                values.len(),
                first.join(",")
            );
        }
    }
    Ok(())
}
