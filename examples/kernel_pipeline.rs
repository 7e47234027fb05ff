//! A pipeline of user kernels over a scene, as a program using brickwork as a library
//! writes it: a uint16 image of raw sensor counts (a 12-bit sensor: 0..=4095) is
//! calibrated to float32 radiance by a `map_blocks` kernel that can fail, then a 3 × 3
//! Sobel filter (`map_overlap`, one element of halo from the neighbouring blocks) gives the
//! gradient magnitude, written to Zarr under a memory limit, with progress on stderr and a
//! cancel token.
//!
//! ```text
//! scene.zarr (uint16) --calibrate--> radiance (float32) --sobel 3x3--> edges.zarr (float32)
//! ```
//!
//! The calibration (gain, offset, the sensor's largest count) is read from a small text
//! file (`--calibration PATH`; without it, one is written beside the output). The kernel
//! uses `?` on its own error type: a count above the sensor's range (a corrupt or
//! saturated pixel) fails the computation with `Error::Kernel`, naming the kernel and the
//! block, whose source is the kernel's error with the pixel's position; `--bad-pixel
//! ROW,COL` writes such a pixel into the scene (with `to_zarr_region`) to show it.
//! `--timeout SECONDS` cancels the computation from a watchdog thread (a `CancelToken`),
//! `--cancel-after-tasks N` from the progress callback.
//!
//! Defaults are small (a 2048 × 2048 scene, 8 MiB, in 128 × 128 chunks, its 16 MiB of
//! float32 edges written under a 4 MiB limit: about a second); for a larger one:
//!
//! `cargo run --release --example kernel_pipeline -- --size 8192 --chunk 512
//! --memory-limit 64MiB`
//!
//! `--output DIR` keeps the scene, the calibration and the result (default: a temporary
//! directory, removed at exit). `cargo test` runs it at a small size, compares the result
//! with the same kernels applied to the whole scene in memory, and checks the bad-pixel and
//! cancellation paths.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use brickwork::ndarray::{Array2, ArrayD, ArrayView2, ArrayViewD, Ix2};
use brickwork::units::{format_bytes, parse_bytes};
use brickwork::{
    Array, Block, BlockInfo, BlockRef, BoxError, CancelToken, Codec, ComputeOptions, DType, Error,
    MapBlocks, Metrics, WriteOptions, map_blocks, map_overlap,
};

/// Binaries choose their allocator: mimalloc keeps freed block buffers for the next block
/// (see the crate doc, "The allocator").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` option (`mi_option_purge_delay` in mimalloc.h).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

#[derive(Clone, Debug)]
struct Args {
    size: usize,
    chunk: usize,
    memory_limit: u64,
    threads: Option<usize>,
    calibration: Option<PathBuf>,
    output: Option<PathBuf>,
    bad_pixel: Option<(usize, usize)>,
    timeout: Option<Duration>,
    cancel_after_tasks: Option<u64>,
    quiet: bool,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            size: 2048,
            chunk: 128,
            memory_limit: 4 << 20,
            threads: None,
            calibration: None,
            output: None,
            bad_pixel: None,
            timeout: None,
            cancel_after_tasks: None,
            quiet: false,
        }
    }
}

const USAGE: &str = "usage: kernel_pipeline [--size N] [--chunk C] [--memory-limit SIZE] \
     [--threads N] [--calibration PATH] [--output DIR] [--bad-pixel ROW,COL] \
     [--timeout SECONDS] [--cancel-after-tasks N] [--quiet]";

fn parse_args() -> Result<Args> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--quiet" => {
                args.quiet = true;
                continue;
            }
            _ => {}
        }
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        let bad = || format!("invalid value {value:?} for {flag}");
        match flag.as_str() {
            "--size" => args.size = value.parse().with_context(bad)?,
            "--chunk" => args.chunk = value.parse().with_context(bad)?,
            "--memory-limit" => args.memory_limit = parse_bytes(&value).with_context(bad)?,
            "--threads" => args.threads = Some(value.parse().with_context(bad)?),
            "--calibration" => args.calibration = Some(value.into()),
            "--output" => args.output = Some(value.into()),
            "--bad-pixel" => {
                let (r, c) = value.split_once(',').with_context(bad)?;
                args.bad_pixel = Some((
                    r.trim().parse().with_context(bad)?,
                    c.trim().parse().with_context(bad)?,
                ));
            }
            "--timeout" => {
                args.timeout = Some(Duration::from_secs_f64(value.parse().with_context(bad)?));
            }
            "--cancel-after-tasks" => {
                args.cancel_after_tasks = Some(value.parse().with_context(bad)?);
            }
            other => bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    ensure!(
        args.size >= 3 && args.chunk >= 1,
        "--size must be at least 3 and --chunk at least 1"
    );
    Ok(args)
}

/// The sensor's calibration: radiance = gain × count + offset, for counts up to `max_count`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Calibration {
    gain: f32,
    offset: f32,
    max_count: u16,
}

impl Calibration {
    /// Reads `gain = ..`, `offset = ..` and `max_count = ..` lines (`#` starts a comment).
    fn load(path: &Path) -> Result<Calibration> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the calibration {}", path.display()))?;
        let (mut gain, mut offset, mut max_count) = (None, None, None);
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let at = || format!("{}:{}", path.display(), n + 1);
            let (key, value) = line
                .split_once('=')
                .with_context(|| format!("{}: expected KEY = VALUE", at()))?;
            let value = value.trim();
            match key.trim() {
                "gain" => gain = Some(value.parse::<f32>().with_context(at)?),
                "offset" => offset = Some(value.parse::<f32>().with_context(at)?),
                "max_count" => max_count = Some(value.parse::<u16>().with_context(at)?),
                other => bail!("{}: unknown key {other:?}", at()),
            }
        }
        Ok(Calibration {
            gain: gain.context("the calibration has no gain")?,
            offset: offset.context("the calibration has no offset")?,
            max_count: max_count.context("the calibration has no max_count")?,
        })
    }

    fn write_default(path: &Path) -> Result<()> {
        std::fs::write(
            path,
            "# radiance = gain * count + offset (W m-2 sr-1 um-1)\n\
             gain = 0.0125\noffset = -1.5\n# a 12-bit sensor\nmax_count = 4095\n",
        )
        .with_context(|| format!("writing {}", path.display()))
    }
}

/// Why the calibration kernel failed: the kernel's own error type, which brickwork keeps
/// as the source of [`Error::Kernel`].
#[derive(Debug, Clone, PartialEq)]
enum CalibrationError {
    /// A block of another dtype than uint16.
    NotCounts(DType),
    /// A count the sensor cannot produce, at this position of the scene.
    OutOfRange { count: u16, row: usize, col: usize },
}

impl fmt::Display for CalibrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalibrationError::NotCounts(dtype) => {
                write!(f, "expected uint16 counts, the scene is {dtype}")
            }
            CalibrationError::OutOfRange { count, row, col } => write!(
                f,
                "count {count} at row {row}, column {col} is outside the sensor's range"
            ),
        }
    }
}

impl std::error::Error for CalibrationError {}

/// The calibration kernel: one block of counts to one block of radiance. `info` says where
/// the block lies, so an error can name the pixel in the whole scene.
fn calibrate(
    cal: Calibration,
    blocks: &[BlockRef<'_>],
    info: &BlockInfo,
) -> Result<Block, CalibrationError> {
    let counts = blocks[0]
        .view::<u16>()
        .ok_or(CalibrationError::NotCounts(blocks[0].dtype()))?;
    if let Some((at, &count)) = counts.indexed_iter().find(|(_, c)| **c > cal.max_count) {
        return Err(CalibrationError::OutOfRange {
            count,
            row: info.location[0].start + at[0],
            col: info.location[1].start + at[1],
        });
    }
    Ok(Block::from(
        counts.mapv(|c| cal.gain * f32::from(c) + cal.offset),
    ))
}

/// The Sobel gradient magnitude of every element of `b` that has all 8 neighbours in it
/// (0 on the outer ring): `map_overlap` hands each block with a one-element halo and trims
/// the ring after.
fn sobel(b: ArrayView2<'_, f32>) -> Array2<f32> {
    let (n, m) = b.dim();
    let mut out = Array2::<f32>::zeros((n, m));
    for i in 1..n.saturating_sub(1) {
        for j in 1..m.saturating_sub(1) {
            let p = |di: usize, dj: usize| b[[i + di - 1, j + dj - 1]];
            let gx = (p(0, 2) + 2.0 * p(1, 2) + p(2, 2)) - (p(0, 0) + 2.0 * p(1, 0) + p(2, 0));
            let gy = (p(2, 0) + 2.0 * p(2, 1) + p(2, 2)) - (p(0, 0) + 2.0 * p(0, 1) + p(0, 2));
            out[[i, j]] = (gx * gx + gy * gy).sqrt();
        }
    }
    out
}

/// The Sobel kernel as a block function: its errors (a block that is not 2-d float32) are
/// boxed strings.
fn sobel_block(blocks: &[BlockRef<'_>], _info: &BlockInfo) -> Result<Block, BoxError> {
    let radiance: ArrayViewD<'_, f32> = blocks[0].view::<f32>().ok_or("radiance is not f32")?;
    let radiance = radiance.into_dimensionality::<Ix2>()?;
    Ok(Block::from(sobel(radiance).into_dyn()))
}

/// Writes the synthetic scene: smooth structures (a few hundred pixels across) plus noise,
/// in counts of a 12-bit sensor.
fn write_scene(path: &Path, args: &Args, opts: &ComputeOptions) -> Result<Metrics> {
    let (n, c) = (args.size, args.chunk);
    let axis = Array::arange(0i64.into(), (n as i64).into(), 1i64.into(), c)?;
    let rows = (&axis / 53.0).sin()?.expand_dims(1)?; // (n, 1)
    let cols = (&axis / 71.0).cos()?.expand_dims(0)?; // (1, n)
    let noise = Array::random_normal(&[n, n], &[c, c], 7, 0.0, 60.0)?;
    let counts = (rows * cols * 1200.0 + 2000.0 + noise).astype(DType::U16)?;
    let options = WriteOptions {
        codec: Codec::Zstd { level: 3 },
        overwrite: true,
        ..WriteOptions::default()
    };
    Ok(counts.to_zarr_with(path, &options, opts)?)
}

/// Writes one out-of-range count into the scene at `(row, col)`, in place: a region write
/// of a 1 × 1 array (the rest of the store is not touched).
fn spoil(path: &Path, (row, col): (usize, usize)) -> Result<()> {
    let pixel = Array::from_ndarray(ArrayD::from_elem(vec![1, 1], u16::MAX), &[1, 1])?;
    pixel.to_zarr_region(
        path,
        &[row..row + 1, col..col + 1],
        &WriteOptions::default(),
    )?;
    Ok(())
}

/// The pipeline: lazy until `to_zarr_with`, which runs calibration and filter fused in one
/// pass over the scene.
fn pipeline(scene: &Path, cal: Calibration) -> Result<Array, Error> {
    let counts = Array::from_zarr(scene)?;
    let radiance = map_blocks(
        &[&counts],
        &MapBlocks::new("calibrate").dtype(DType::F32),
        move |blocks, info| calibrate(cal, blocks, info),
    )?;
    // The filter's halo comes from the neighbouring blocks; at the scene's edges the edge
    // pixel is repeated (scipy's mode="nearest").
    map_overlap(
        &[&radiance],
        &[1, 1],
        brickwork::Boundary::Nearest,
        &MapBlocks::new("sobel"),
        sobel_block,
    )
}

/// Options with a progress line every 10% on stderr and the cancel token.
fn options(args: &Args, token: &CancelToken) -> ComputeOptions {
    let base = match args.threads {
        Some(n) => ComputeOptions::threads(n),
        None => ComputeOptions::default(),
    };
    let shown = Arc::new(AtomicU64::new(0));
    let cancel_after = args.cancel_after_tasks;
    let canceller = token.clone();
    let quiet = args.quiet;
    base.memory_limit(args.memory_limit)
        .progress(move |ev| {
            // Called from worker threads after every task: cheap, and thread-safe.
            if cancel_after.is_some_and(|n| ev.tasks_done >= n) {
                canceller.cancel();
            }
            let tenth = ev.tasks_done * 10 / ev.tasks_total.max(1);
            if !quiet && shown.fetch_max(tenth, Ordering::Relaxed) < tenth {
                eprintln!(
                    "  {:3}%  {}/{} tasks, {} written, {} of {} in use",
                    tenth * 10,
                    ev.tasks_done,
                    ev.tasks_total,
                    format_bytes(ev.bytes_output),
                    format_bytes(ev.reserved_bytes),
                    format_bytes(ev.memory_limit)
                );
            }
        })
        .cancel(token.clone())
}

/// Paths of a run.
struct Paths {
    scene: PathBuf,
    edges: PathBuf,
}

/// Runs everything; the computation's own error is returned as it is (a
/// [`brickwork::Error`] inside the anyhow error) for `main` to match.
fn run(args: &Args) -> Result<(Metrics, Paths)> {
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
    let paths = Paths {
        scene: out.join("scene.zarr"),
        edges: out.join("edges.zarr"),
    };
    let calibration = match &args.calibration {
        Some(path) => path.clone(),
        None => {
            let path = out.join("calibration.txt");
            Calibration::write_default(&path)?;
            path
        }
    };
    let cal = Calibration::load(&calibration)?;

    let token = CancelToken::new();
    let opts = options(args, &token);
    let start = Instant::now();
    let m = write_scene(&paths.scene, args, &ComputeOptions::default())?;
    if !args.quiet {
        println!(
            "scene: {} ({} of uint16 counts) in {:.2} s",
            paths.scene.display(),
            format_bytes(m.bytes_output),
            start.elapsed().as_secs_f64()
        );
    }
    if let Some(pixel) = args.bad_pixel {
        spoil(&paths.scene, pixel)?;
    }

    // A watchdog: cancels the token when the timeout passes first.
    let (done, finished) = mpsc::channel::<()>();
    if let Some(timeout) = args.timeout {
        let token = token.clone();
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(timeout) {
                token.cancel();
            }
        });
    }
    let edges = pipeline(&paths.scene, cal)?;
    let start = Instant::now();
    let write = WriteOptions {
        overwrite: true,
        ..WriteOptions::default()
    };
    let result = edges.to_zarr_with(&paths.edges, &write, &opts);
    drop(done);
    let metrics = result?;
    if !args.quiet {
        println!(
            "edges: {} in {:.2} s\n{metrics}",
            paths.edges.display(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok((metrics, paths))
}

fn main() -> std::process::ExitCode {
    // SAFETY: called before any other thread exists; mimalloc documents option setting as
    // not thread-safe only.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    let outcome = parse_args().and_then(|args| run(&args));
    let Err(err) = outcome else {
        return std::process::ExitCode::SUCCESS;
    };
    // The errors a user of the pipeline acts on, matched by variant.
    match err.downcast_ref::<Error>() {
        Some(Error::Kernel { op, block, source }) => {
            eprintln!("error: kernel {op} failed on block {block:?}: {source}");
            if let Some(CalibrationError::OutOfRange { row, col, .. }) = source.downcast_ref() {
                eprintln!("hint: check the scene's pixel ({row}, {col})");
            }
        }
        Some(Error::Cancelled) => {
            eprintln!("error: cancelled; the output is left marked incomplete");
        }
        Some(Error::PlanExceedsMemory { needed, .. }) => {
            eprintln!(
                "error: {err:#}\nhint: a task needs {}: raise --memory-limit or lower --chunk",
                format_bytes(*needed)
            );
        }
        _ => eprintln!("error: {err:#}"),
    }
    std::process::ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;
    use brickwork::ndarray::s;

    fn small(dir: &Path) -> Args {
        Args {
            size: 600,
            chunk: 100,
            memory_limit: 1 << 20,
            output: Some(dir.to_path_buf()),
            quiet: true,
            ..Args::default()
        }
    }

    /// The result equals the same kernels applied to the whole scene in memory, with the
    /// edge pixels repeated outside it (bit for bit: the same f32 arithmetic).
    #[test]
    fn edges_equal_the_whole_scene_in_memory() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let args = small(dir.path());
        let (metrics, paths) = run(&args)?;
        assert!(
            metrics.peak_reserved_bytes <= args.memory_limit,
            "{metrics}"
        );
        let counts = Array::from_zarr(&paths.scene)?.compute_as::<u16>()?;
        let counts = counts.into_dimensionality::<Ix2>()?;
        assert!(counts.iter().all(|&c| c <= 4095));
        let cal = Calibration::load(&dir.path().join("calibration.txt"))?;
        let radiance = counts.mapv(|c| cal.gain * f32::from(c) + cal.offset);
        let n = args.size;
        let padded = Array2::from_shape_fn((n + 2, n + 2), |(i, j)| {
            radiance[[i.clamp(1, n) - 1, j.clamp(1, n) - 1]]
        });
        let expected = sobel(padded.view());
        let expected = expected.slice(s![1..n + 1, 1..n + 1]);
        let got = Array::from_zarr(&paths.edges)?.compute_as::<f32>()?;
        assert_eq!(got.into_dimensionality::<Ix2>()?, expected);
        Ok(())
    }

    /// A pixel outside the sensor's range fails the run with the kernel's own error.
    #[test]
    fn a_bad_pixel_is_the_kernels_error_naming_it() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let args = Args {
            bad_pixel: Some((130, 7)),
            ..small(dir.path())
        };
        let err = run(&args).err().context("the run should fail")?;
        match err.downcast_ref::<Error>() {
            Some(Error::Kernel { op, block, source }) => {
                assert_eq!((op.as_str(), block.as_slice()), ("calibrate", &[1, 0][..]));
                assert_eq!(
                    source.downcast_ref::<CalibrationError>(),
                    Some(&CalibrationError::OutOfRange {
                        count: u16::MAX,
                        row: 130,
                        col: 7
                    })
                );
            }
            other => panic!("{other:?}"),
        }
        Ok(())
    }

    /// Cancelling from the progress callback stops the run with `Error::Cancelled`.
    #[test]
    fn cancelling_stops_the_run() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let args = Args {
            cancel_after_tasks: Some(3),
            threads: Some(1),
            ..small(dir.path())
        };
        let err = run(&args).err().context("the run should be cancelled")?;
        assert!(
            matches!(err.downcast_ref::<Error>(), Some(Error::Cancelled)),
            "{err:#}"
        );
        Ok(())
    }
}
