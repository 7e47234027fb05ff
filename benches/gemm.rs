//! GEMM kernel micro-benchmark: the in-memory GFLOP/s of brickwork's matrix-product kernel
//! on two float64 blocks of `--size` x `--size` (default 1000 x 1000), nothing read or
//! written, to compare the out-of-core products of `benches/out_of_core.sh` with.
//!
//! Two implementations, each single-threaded and with `--threads` threads at once:
//!
//! - `gemm`: the `gemm` crate call brickwork makes (`MatMul::matmul` for f64:
//!   `gemm::gemm` with `Parallelism::None`) into a preallocated result;
//! - `contract`: `brickwork::kernel::contract::contract` on two `Block`s with the spec of
//!   `x @ y` — what one task of a blocked matmul runs, including copying the operands into
//!   the kernel's layout and allocating the result block; its GEMM is the `gemm` crate's,
//!   or OpenBLAS's when built with `--features openblas` (the header line names it).
//!
//! With T threads, each thread multiplies its own blocks (allocated by that thread), as
//! brickwork's executor runs one task per worker: GFLOP/s is T x reps x 2 size^3 over the
//! wall time from a barrier to the last thread's end. One product per thread warms up
//! first; the figure is the median of `--rounds` batches of `--reps` products per thread.
//! One element of each thread's result is checked against a plain dot product.
//!
//! Prints a table and one machine-readable line per row (`gemm_csv,impl,threads,size,reps,
//! seconds,gflops`, seconds = the median batch's wall time), read by `benches/gemm_kernel.sh`.
//!
//! Run: `cargo bench --bench gemm` (add `-- --size 1000 --threads 2 --reps 10 --rounds 3`;
//! `cargo bench --features openblas --bench gemm` for OpenBLAS in `contract`).

use std::sync::Barrier;
use std::time::Instant;

use anyhow::{Result, bail, ensure};
use brickwork::block::Block;
use brickwork::expr::ContractSpec;
use brickwork::kernel::contract::{MatMul, contract};
use ndarray::{Array2, Ix2};

/// As the brickwork CLI does (see README, Performance).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone, Copy, PartialEq)]
enum Impl {
    Gemm,
    Contract,
}

impl Impl {
    fn name(self) -> &'static str {
        match self {
            Impl::Gemm => "gemm",
            Impl::Contract => "contract",
        }
    }
}

/// A size x size block of uniform [0, 1) values from a splitmix64 stream.
fn random_block(size: usize, seed: u64) -> Array2<f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    Array2::from_shape_simple_fn((size, size), || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    })
}

fn matmul_spec() -> ContractSpec {
    ContractSpec {
        name: "matmul",
        lhs: vec![0, 1],
        rhs: vec![1, 2],
        out: vec![0, 2],
        split_every: 4,
    }
}

/// One thread's work: `reps` products of its own blocks per round, after one warm-up
/// product; returns the check of one result element (relative difference to a dot product).
fn worker(
    which: Impl,
    size: usize,
    reps: usize,
    rounds: usize,
    seed: u64,
    barrier: &Barrier,
) -> Result<f64> {
    let a = random_block(size, 2 * seed);
    let b = random_block(size, 2 * seed + 1);
    let (ab, bb) = (
        Block::from(a.clone().into_dyn()),
        Block::from(b.clone().into_dyn()),
    );
    let spec = matmul_spec();
    let mut c = Array2::<f64>::zeros((size, size));
    let product = |c: &mut Array2<f64>| -> Result<()> {
        match which {
            Impl::Gemm => f64::matmul(a.view(), b.view(), c.view_mut()),
            Impl::Contract => {
                let out = contract(&spec, &ab, &bb)?;
                let Block::F64(out) = out else {
                    bail!("contract returned a non-f64 block")
                };
                // Replacing (and so freeing) the previous result, as the executor frees
                // blocks it no longer needs.
                *c = out.into_dimensionality::<Ix2>()?;
            }
        }
        Ok(())
    };
    product(&mut c)?; // warm-up
    for _ in 0..rounds {
        barrier.wait();
        for _ in 0..reps {
            product(&mut c)?;
            std::hint::black_box(&c);
        }
        barrier.wait();
    }
    let (i, j) = (size / 3, size / 2);
    let want: f64 = (0..size).map(|k| a[[i, k]] * b[[k, j]]).sum();
    Ok(((c[[i, j]] - want) / want).abs())
}

/// Median batch wall time and the largest check difference of `threads` threads at once.
fn measure(
    which: Impl,
    size: usize,
    threads: usize,
    reps: usize,
    rounds: usize,
) -> Result<(f64, f64)> {
    let barrier = Barrier::new(threads + 1);
    let mut batches = Vec::with_capacity(rounds);
    let checks = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                scope.spawn(move || worker(which, size, reps, rounds, t as u64 + 1, barrier))
            })
            .collect();
        for _ in 0..rounds {
            barrier.wait();
            let t0 = Instant::now();
            barrier.wait();
            batches.push(t0.elapsed().as_secs_f64());
        }
        handles
            .into_iter()
            .map(|h| h.join().expect("a benchmark thread panicked"))
            .collect::<Result<Vec<f64>>>()
    })?;
    batches.sort_by(f64::total_cmp);
    let worst = checks.into_iter().fold(0.0, f64::max);
    Ok((batches[batches.len() / 2], worst))
}

fn main() -> Result<()> {
    let mut size = 1000usize;
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut reps = 10usize;
    let mut rounds = 3usize;
    let args: Vec<String> = std::env::args().collect();
    for w in args.windows(2) {
        match w[0].as_str() {
            "--size" => size = w[1].parse()?,
            "--threads" => threads = w[1].parse()?,
            "--reps" => reps = w[1].parse()?,
            "--rounds" => rounds = w[1].parse()?,
            _ => {}
        }
    }
    ensure!(
        size > 0 && threads > 0 && reps > 0 && rounds > 0,
        "sizes and counts must be positive"
    );
    let flop = 2.0 * (size as f64).powi(3);
    let mut thread_counts = vec![1];
    if threads > 1 {
        thread_counts.push(threads);
    }
    println!(
        "float64 {size} x {size} @ {size} x {size}, {reps} products per thread per batch, median of {rounds} batches; contract's kernel: {}",
        brickwork::kernel::contract::GEMM_KERNEL
    );
    println!("| kernel | threads | GFLOP/s (all threads) | per thread | batch wall s | check |");
    println!("|---|---:|---:|---:|---:|---|");
    let mut lines = Vec::new();
    for which in [Impl::Gemm, Impl::Contract] {
        for &t in &thread_counts {
            let (seconds, worst) = measure(which, size, t, reps, rounds)?;
            ensure!(
                worst <= 1e-12,
                "{} with {t} thread(s): an element differs from its dot product by {worst:.3e} (relative)",
                which.name()
            );
            let gflops = t as f64 * reps as f64 * flop / seconds / 1e9;
            println!(
                "| {} | {t} | {gflops:.2} | {:.2} | {seconds:.4} | ok ({worst:.1e}) |",
                which.name(),
                gflops / t as f64
            );
            lines.push(format!(
                "gemm_csv,{},{t},{size},{reps},{seconds:.6},{gflops:.4}",
                which.name()
            ));
        }
    }
    for l in lines {
        println!("{l}");
    }
    Ok(())
}
