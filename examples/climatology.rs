//! A climatology over a 3-D Zarr store, as a program using brickwork as a library writes
//! it: daily temperatures (time × latitude × longitude, float32, zstd), their mean and
//! standard deviation over time, and the anomaly (each day minus the mean), written to
//! three Zarr arrays in one pass under a memory limit.
//!
//! ```text
//! x = from_zarr("temperature.zarr")            # (days, lat, lon) float32
//! mean = x.mean(axis=0); std = x.std(axis=0); anomaly = x - mean
//! to_zarr_many([mean, std, anomaly])           # one pass, --memory-limit
//! ```
//!
//! Without `--input`, it first writes a synthetic store of the requested size (a seasonal
//! cycle that is opposite in the two hemispheres, warmer at the equator, plus noise) to
//! `temperature.zarr` in the output directory. It prints the figures of the run
//! ([`brickwork::Metrics`]), among them the bytes read from the store against the input's
//! size. The anomaly needs the whole mean before its first chunk, and the input does not
//! fit in the limit, so at least two passes over it are needed, and two are made: the
//! mean's and the std's partial sums share each chunk's read, and the anomaly reads the
//! input again once the mean is known (2.00x; the tasks that need a reduction of what they
//! read read it again, the others share: `plan::passes::inline`).
//!
//! At the real size below (2026-12-07, 2 threads): 2.82 GiB read for 1.41 GiB (2.00x; 3.00x
//! before the reductions shared their pass) in 5.25 s (6.10 s before), peak reserved
//! 253 MiB, process peak RSS 288–295 MiB under the 256 MiB limit.
//!
//! The defaults are small (73 days of 90 × 180 cells, 4.6 MB, under a 2 MiB limit: about a
//! second); the issue's real size is 1.4 GB:
//!
//! `cargo run --release --example climatology -- --days 365 --lat 720 --lon 1440
//! --memory-limit 256MiB`
//!
//! Flags: `--days N --lat N --lon N` (the synthetic store's shape), `--chunks T,Y,X`
//! (default: up to 30 days, a quarter of each spatial axis), `--memory-limit SIZE`,
//! `--threads N` (default: every core), `--input PATH` (an existing 3-D store instead),
//! `--output DIR` (kept; default: a temporary directory, removed at exit), `--check`
//! (compare every output with ndarray's `mean_axis`/`std_axis` computed in memory; small
//! inputs only). `cargo test` runs it at the default size with `--check`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use brickwork::ndarray::{ArrayD, Axis as NdAxis};
use brickwork::units::{format_bytes, parse_bytes};
use brickwork::{
    Array, Axis, Codec, ComputeOptions, DType, Metrics, WriteOptions, to_zarr_many_with,
};

/// glibc's allocator returns freed chunk buffers to the OS and faults them back in for the
/// next chunk; mimalloc keeps them. Binaries choose their allocator (see the crate doc,
/// "The allocator").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` option (`mi_option_purge_delay` in mimalloc.h).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

#[derive(Clone, Debug)]
struct Args {
    days: usize,
    lat: usize,
    lon: usize,
    chunks: Option<Vec<usize>>,
    memory_limit: u64,
    threads: Option<usize>,
    input: Option<PathBuf>,
    output: Option<PathBuf>,
    check: bool,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            days: 73,
            lat: 90,
            lon: 180,
            chunks: None,
            memory_limit: 2 << 20,
            threads: None,
            input: None,
            output: None,
            check: false,
        }
    }
}

const USAGE: &str = "usage: climatology [--days N] [--lat N] [--lon N] [--chunks T,Y,X] \
     [--memory-limit SIZE] [--threads N] [--input PATH] [--output DIR] [--check]";

fn parse_args() -> Result<Args> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--check" => {
                args.check = true;
                continue;
            }
            _ => {}
        }
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        let bad = || format!("invalid value {value:?} for {flag}");
        match flag.as_str() {
            "--days" => args.days = value.parse().with_context(bad)?,
            "--lat" => args.lat = value.parse().with_context(bad)?,
            "--lon" => args.lon = value.parse().with_context(bad)?,
            "--chunks" => {
                let chunks = value
                    .split(',')
                    .map(|c| c.trim().parse::<usize>())
                    .collect::<Result<Vec<_>, _>>()
                    .with_context(bad)?;
                args.chunks = Some(chunks);
            }
            "--memory-limit" => args.memory_limit = parse_bytes(&value).with_context(bad)?,
            "--threads" => args.threads = Some(value.parse().with_context(bad)?),
            "--input" => args.input = Some(value.into()),
            "--output" => args.output = Some(value.into()),
            other => bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    ensure!(
        args.days > 0 && args.lat > 0 && args.lon > 0,
        "--days, --lat and --lon must be at least 1"
    );
    Ok(args)
}

/// The chunks of the synthetic store: up to 30 days, a quarter of each spatial axis.
fn default_chunks(days: usize, lat: usize, lon: usize) -> Vec<usize> {
    vec![days.min(30), lat.div_ceil(4), lon.div_ceil(4)]
}

/// Writes a synthetic daily temperature field to `path`: a seasonal cycle of ±10 degrees
/// (opposite in the two hemispheres, warmest around day 200 in the north), a zonal mean
/// from about -5 degrees at the poles to 25 at the equator, and noise of 2 degrees.
fn write_synthetic(path: &Path, args: &Args, opts: &ComputeOptions) -> Result<Metrics> {
    let (t, y, x) = (args.days, args.lat, args.lon);
    let chunks = args
        .chunks
        .clone()
        .unwrap_or_else(|| default_chunks(t, y, x));
    ensure!(chunks.len() == 3, "--chunks needs three sizes (T,Y,X)");
    let two_pi = 2.0 * std::f64::consts::PI;
    // Day numbers as a (t, 1, 1) array and latitudes (cell centres) as (1, y, 1): they
    // broadcast against the (t, y, x) noise like NumPy's x[:, None, None].
    let day = Array::arange(0i64.into(), (t as i64).into(), 1i64.into(), chunks[0])?;
    let season = ((day - 200.0) * (two_pi / 365.25)).cos()?;
    let season = season.expand_dims(1)?.expand_dims(2)?;
    let half_cell = 90.0 / y as f64;
    let lat = Array::linspace(-90.0 + half_cell, 90.0 - half_cell, y, true, chunks[1])?;
    let lat = (lat * (std::f64::consts::PI / 180.0))
        .expand_dims(0)?
        .expand_dims(2)?;
    let zonal = lat.cos()? * 30.0 - 5.0;
    let seasonal = season * lat.sin()? * 10.0;
    let noise = Array::random_normal(&[t, y, x], &chunks, 2026, 0.0, 2.0)?;
    let temperature = (noise + zonal + seasonal).astype(DType::F32)?;
    let options = WriteOptions {
        chunks: Some(chunks),
        codec: Codec::Zstd { level: 3 },
        overwrite: true,
        ..WriteOptions::default()
    };
    Ok(temperature.to_zarr_with(path, &options, opts)?)
}

/// What a run measured.
#[derive(Debug)]
struct Report {
    /// Decoded bytes of the input.
    input_bytes: u64,
    /// The figures of the climatology's pass.
    metrics: Metrics,
}

impl Report {
    /// Bytes read from stores per byte of input.
    fn read_ratio(&self) -> f64 {
        self.metrics.bytes_read as f64 / self.input_bytes.max(1) as f64
    }
}

fn run(args: &Args) -> Result<Report> {
    let scratch;
    let out = match &args.output {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.clone()
        }
        None => {
            scratch = tempfile::tempdir()?;
            scratch.path().to_path_buf()
        }
    };
    let mut opts = match args.threads {
        Some(n) => ComputeOptions::threads(n),
        None => ComputeOptions::default(),
    };
    opts = opts.memory_limit(args.memory_limit);

    let input = match &args.input {
        Some(path) => path.clone(),
        None => {
            let path = out.join("temperature.zarr");
            let start = Instant::now();
            let m = write_synthetic(&path, args, &opts)?;
            println!(
                "wrote {} ({}) in {:.2} s",
                path.display(),
                format_bytes(m.bytes_output),
                start.elapsed().as_secs_f64()
            );
            path
        }
    };

    // The climatology: three lazy arrays over one source; nothing is read yet.
    let x = Array::from_zarr(&input)?;
    ensure!(
        x.ndim() == 3,
        "{} has shape {:?}; expected (time, lat, lon)",
        input.display(),
        x.shape()
    );
    let mean = x.mean_axis(Axis(0))?;
    let std = x.std_axis(Axis(0), 0.0)?;
    let anomaly = &x - &mean;
    println!("input: {x}");

    // One call writes all three in one plan: chunks and codec follow each array (the
    // input's chunks, zstd), and what the outputs share is planned once.
    let outputs = [
        (&mean, out.join("mean.zarr")),
        (&std, out.join("std.zarr")),
        (&anomaly, out.join("anomaly.zarr")),
    ];
    let write = WriteOptions {
        overwrite: true,
        ..WriteOptions::default()
    };
    let start = Instant::now();
    let metrics = to_zarr_many_with(&outputs, &write, &opts)?;
    let seconds = start.elapsed().as_secs_f64();
    let report = Report {
        input_bytes: x.nbytes(),
        metrics,
    };
    let m = &report.metrics;
    println!(
        "wrote mean, std and anomaly to {} in {seconds:.2} s under a {} limit",
        out.display(),
        format_bytes(args.memory_limit)
    );
    println!(
        "read {} from stores for an input of {}: {:.2}x the input",
        format_bytes(m.bytes_read),
        format_bytes(report.input_bytes),
        report.read_ratio()
    );
    println!("{m}");
    if let Some(hwm) = peak_rss() {
        println!(
            "process peak RSS: {} (the limit bounds the engine's blocks; see the crate doc)",
            format_bytes(hwm)
        );
    }
    if args.check {
        check(&input, &out)?;
        println!("check: mean, std and anomaly equal ndarray's");
    }
    Ok(report)
}

/// Compares the written outputs with ndarray's `mean_axis` and `std_axis` over the whole
/// input in memory (summation orders differ: a relative tolerance).
fn check(input: &Path, out: &Path) -> Result<()> {
    let x = Array::from_zarr(input)?;
    ensure!(
        x.nbytes() <= 256 << 20,
        "--check holds the input in memory: it is for inputs up to 256 MiB"
    );
    let x = x.astype(DType::F64)?.compute_as::<f64>()?;
    let mean = x.mean_axis(NdAxis(0)).context("empty time axis")?;
    let std = x.std_axis(NdAxis(0), 0.0);
    let anomaly = &x - &mean;
    let read = |name: &str| -> Result<ArrayD<f64>> {
        let a = Array::from_zarr(out.join(name))?;
        ensure!(
            a.dtype() == DType::F32,
            "{name} is {}, not float32",
            a.dtype()
        );
        Ok(a.astype(DType::F64)?.compute_as::<f64>()?)
    };
    for (name, expected) in [
        ("mean.zarr", &mean),
        ("std.zarr", &std),
        ("anomaly.zarr", &anomaly),
    ] {
        let got = read(name)?;
        ensure!(got.shape() == expected.shape(), "{name}: shape differs");
        for (i, (g, e)) in got.iter().zip(expected.iter()).enumerate() {
            ensure!(
                (g - e).abs() <= 1e-4 * (1.0 + e.abs()),
                "{name}: element {i} is {g}, ndarray gives {e}"
            );
        }
    }
    Ok(())
}

/// The process's peak resident set (`VmHWM`), where `/proc` has it.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

fn main() -> Result<()> {
    // Freed memory goes back to the OS at once rather than 10 ms later: memory the
    // allocator keeps is resident memory the engine's limit does not see.
    // SAFETY: called before any other thread exists; mimalloc documents option setting as
    // not thread-safe only.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    let args = parse_args()?;
    run(&args)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default size with `--check`: the outputs equal ndarray's, the limit holds, and
    /// the input is read twice (see the module doc; a chunk or two more under threads).
    #[test]
    fn default_size_matches_ndarray() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let args = Args {
            output: Some(dir.path().to_path_buf()),
            check: true,
            ..Args::default()
        };
        let report = run(&args)?;
        let m = &report.metrics;
        assert!(m.peak_reserved_bytes <= args.memory_limit, "{m}");
        assert!(
            report.input_bytes > 2 * args.memory_limit,
            "the input must not fit"
        );
        let ratio = report.read_ratio();
        assert!(
            // Threads may run past the order and drop a chunk, to read it again.
            (2.0 - 1e-9..=2.25).contains(&ratio),
            "read {ratio:.2}x the input\n{m}"
        );
        Ok(())
    }
}
