//! Creation functions (`zeros`, `full`, `arange`, `linspace`...) and the automatic chunks of
//! a new array.

use super::args::Bound;
use crate::array::Array;
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::parse::value::scalar_dtype;

/// Default chunks aim at blocks of about this many bytes (dask's `chunks="auto"`).
pub(super) const AUTO_CHUNK_BYTES: u128 = 128 << 20;

/// Chunks of about [`AUTO_CHUNK_BYTES`]: every axis cut at the same length, the largest
/// that keeps a block under the target (small arrays are one chunk).
pub(super) fn auto_chunks(shape: &[usize], itemsize: usize) -> Vec<usize> {
    let bytes = |edge: usize| {
        shape.iter().fold(itemsize as u128, |acc, &d| {
            acc.saturating_mul(d.min(edge).max(1) as u128)
        })
    };
    let (mut lo, mut hi) = (1, shape.iter().copied().max().unwrap_or(1).max(1));
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if bytes(mid) <= AUTO_CHUNK_BYTES {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    shape.iter().map(|&d| d.min(lo).max(1)).collect()
}

pub(super) fn fill(b: &Bound, value: Scalar) -> Result<Array> {
    let shape = b.shape()?;
    let dtype = b.dtype(DType::F64)?;
    Array::full(&shape, &b.chunks(&shape, dtype)?, value, dtype)
}

pub(super) fn full(b: &Bound) -> Result<Array> {
    let shape = b.shape()?;
    let value = b.required_scalar("fill_value")?;
    let dtype = b.dtype(scalar_dtype(value))?;
    Array::full(&shape, &b.chunks(&shape, dtype)?, value, dtype)
}

/// A 1-d chunk length: `chunks=` or automatic (the grid clips it to the length).
pub(super) fn chunk_1d(b: &Bound) -> Result<usize> {
    let auto = (AUTO_CHUNK_BYTES / 8) as usize;
    Ok(b.sizes("chunks")?
        .and_then(|c| c.first().copied())
        .unwrap_or(auto))
}

pub(super) fn arange(b: &Bound) -> Result<Array> {
    let first = b.required_scalar("start")?;
    let (start, stop) = match b.scalar("stop")? {
        Some(stop) => (first, stop),
        None => (Scalar::Int(0), first),
    };
    let step = b.scalar("step")?.unwrap_or(Scalar::Int(1));
    Array::arange(start, stop, step, chunk_1d(b)?)
}

pub(super) fn linspace(b: &Bound) -> Result<Array> {
    let start = b.required_scalar("start")?.as_f64();
    let stop = b.required_scalar("stop")?.as_f64();
    let num = b.count("num")?.unwrap_or(50);
    Array::linspace(start, stop, num, b.bool("endpoint", true)?, chunk_1d(b)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn auto_chunks_aim_at_128_mib() {
        assert_eq!(auto_chunks(&[100, 100], 8), vec![100, 100]);
        assert_eq!(auto_chunks(&[100_000, 100_000], 8), vec![4096, 4096]);
        assert_eq!(auto_chunks(&[10, 10_000_000], 8), vec![10, 1_677_721]);
        assert_eq!(auto_chunks(&[0, 5], 8), vec![1, 5]);
        assert_eq!(auto_chunks(&[], 8), Vec::<usize>::new());
        assert_eq!(auto_chunks(&[usize::MAX], 8), vec![1 << 24]);
    }
}
