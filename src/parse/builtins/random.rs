//! Random constructors (`random`, `normal`, `uniform`, `integers`...): shape, chunks and seed.

use super::args::Bound;
use crate::array::Array;
use crate::dtype::DType;
use crate::error::Result;

pub(super) fn seed(b: &Bound) -> Result<u64> {
    Ok(b.count("seed")?.unwrap_or(0) as u64)
}

pub(super) fn random(b: &Bound) -> Result<Array> {
    let shape = b.shape()?;
    Array::random(&shape, &b.chunks(&shape, DType::F64)?, seed(b)?)
}

pub(super) fn random_normal(b: &Bound) -> Result<Array> {
    let shape = b.shape()?;
    let chunks = b.chunks(&shape, DType::F64)?;
    let (loc, scale) = (b.float("loc", 0.0)?, b.float("scale", 1.0)?);
    Array::random_normal(&shape, &chunks, seed(b)?, loc, scale)
}

/// The `shape`, `chunks` and `seed` of a random constructor.
pub(super) fn random_args(b: &Bound) -> Result<(Vec<usize>, Vec<usize>, u64)> {
    let shape = b.shape()?;
    let chunks = b.chunks(&shape, DType::F64)?;
    Ok((shape, chunks, seed(b)?))
}

/// `uniform(shape, low=0.0, high=1.0)`.
pub(super) fn uniform(b: &Bound) -> Result<Array> {
    let (shape, chunks, seed) = random_args(b)?;
    let (low, high) = (b.float("low", 0.0)?, b.float("high", 1.0)?);
    Array::uniform(&shape, &chunks, seed, low, high)
}

/// `exponential(shape, scale=1.0)`.
pub(super) fn exponential(b: &Bound) -> Result<Array> {
    let (shape, chunks, seed) = random_args(b)?;
    Array::exponential(&shape, &chunks, seed, b.float("scale", 1.0)?)
}

/// `poisson(shape, lam=1.0)`.
pub(super) fn poisson(b: &Bound) -> Result<Array> {
    let (shape, chunks, seed) = random_args(b)?;
    Array::poisson(&shape, &chunks, seed, b.float("lam", 1.0)?)
}

/// `binomial(shape, n, p)`.
pub(super) fn binomial(b: &Bound) -> Result<Array> {
    let (shape, chunks, seed) = random_args(b)?;
    let n = b.count("n")?.ok_or_else(|| b.none_error("n"))?;
    let p = b.required_scalar("p")?.as_f64();
    Array::binomial(&shape, &chunks, seed, n as u64, p)
}

/// `integers(shape, low, high=None)`: `[low, high)`, or `[0, low)` without `high`.
pub(super) fn integers(b: &Bound) -> Result<Array> {
    let (shape, chunks, seed) = random_args(b)?;
    let first = b.int("low")?.ok_or_else(|| b.none_error("low"))?;
    let (low, high) = match b.int("high")? {
        Some(high) => (first, high),
        None => (0, first),
    };
    Array::integers(&shape, &chunks, seed, low, high)
}
