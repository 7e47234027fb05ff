//! Corrupt and hostile input: damaged chunk objects, lying metadata and file headers.
//!
//! Each case gives one typed error that names the file (and, for a chunk object, its chunk
//! key): never a panic, an abort, a `SIGBUS`, an allocation beyond the memory limit, or a
//! silently wrong result where a checksum could tell. What cannot be detected is stated
//! where it is tested: a bit flip inside a chunk stored without a checksum (raw, or zstd and
//! blosc as brickwork and zarr-python write them) changes values silently.
//!
//! `fuzz` runs generated and mutated inputs through the expression parser, the `.npy`
//! header reader and the Zarr metadata readers (`BRICKWORK_FUZZ_CASES` per target).

mod chunks;
mod cli;
mod files;
mod fuzz;
mod metadata;

use std::path::Path;

use brickwork::store::ZarrFormat;
use brickwork::{Array, Codec, ComputeOptions, Error, WriteOptions};

/// The memory limit of the computations here: far above what the arrays need, far below
/// what a lying chunk shape asks for.
const LIMIT: u64 = 1 << 30;

/// Write options for `format` and `codec`.
fn opts(format: ZarrFormat, codec: Codec) -> WriteOptions {
    WriteOptions {
        zarr_format: format,
        codec,
        ..WriteOptions::default()
    }
}

/// Writes `random(shape, chunks, seed=1)` to a Zarr array at `path`; returns its sum.
fn write(
    path: &Path,
    shape: &[usize],
    chunks: &[usize],
    opts: &WriteOptions,
) -> brickwork::Result<f64> {
    let x = Array::random(shape, chunks, 1)?;
    x.to_zarr(path, opts)?;
    sum_of(&x)
}

/// The sum of `x` under [`LIMIT`].
fn sum_of(x: &Array) -> brickwork::Result<f64> {
    let opts = ComputeOptions::default().with_memory_limit(LIMIT);
    let (block, _) = x.sum()?.compute_with(&opts)?;
    Ok(block.into_typed::<f64>()[[]])
}

/// The sum of the Zarr array at `path` under [`LIMIT`].
fn sum(path: &Path) -> brickwork::Result<f64> {
    sum_of(&Array::from_zarr(path)?)
}

/// The error and its sources, as the CLI prints them.
fn chain(err: &Error) -> String {
    let mut text = err.to_string();
    let mut next = std::error::Error::source(err);
    while let Some(e) = next {
        text = format!("{text}: {e}");
        next = e.source();
    }
    text
}

/// Asserts that `err` is a store error of the array at `path` whose key starts with `key`.
fn assert_store_error(err: &Error, path: &Path, key: &str) {
    match err {
        Error::Store {
            path: p, key: k, ..
        } => {
            assert_eq!(p, path, "{}", chain(err));
            let k = k.as_deref().unwrap_or_default();
            assert!(k.starts_with(key), "key {k:?}, not {key:?}: {}", chain(err));
        }
        other => panic!("not a store error: {}", chain(other)),
    }
}
