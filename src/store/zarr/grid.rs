//! Shapes and the chunk grid in brickwork's terms: conversions to and from zarrs's `u64`
//! shapes, the number of chunks per axis, and the region of one chunk.

use std::path::Path;

use super::error::store_err;
use crate::error::{Error, Result};
use crate::grid::fmt_shape;

pub(super) fn to_u64(v: &[usize]) -> Vec<u64> {
    v.iter().map(|&x| x as u64).collect()
}

pub(super) fn to_usize(path: &Path, v: &[u64]) -> Result<Vec<usize>> {
    v.iter()
        .map(|&x| {
            usize::try_from(x)
                .map_err(|_| store_err(path, None, format!("dimension {x} does not fit in usize")))
        })
        .collect()
}

/// Per-axis number of chunks in brickwork's convention: an axis of length 0 has one (empty)
/// chunk, like [`AxisChunks`](crate::grid::AxisChunks).
pub(super) fn grid_shape(shape: &[usize], chunks: &[usize]) -> Vec<usize> {
    shape
        .iter()
        .zip(chunks)
        .map(|(&n, &c)| if n == 0 { 1 } else { n.div_ceil(c.max(1)) })
        .collect()
}

/// Start and clipped shape of chunk `chunk`, or an error naming the path if it is outside the
/// grid.
pub(super) fn chunk_region(
    path: &Path,
    shape: &[usize],
    chunks: &[usize],
    chunk: &[usize],
) -> Result<(Vec<usize>, Vec<usize>)> {
    let grid = grid_shape(shape, chunks);
    if chunk.len() != shape.len() || chunk.iter().zip(&grid).any(|(&i, &n)| i >= n) {
        return Err(Error::invalid(format!(
            "chunk index {chunk:?} is outside the chunk grid {} of {} (array shape {}, chunks {})",
            fmt_shape(&grid),
            path.display(),
            fmt_shape(shape),
            fmt_shape(chunks),
        )));
    }
    let start: Vec<usize> = chunk.iter().zip(chunks).map(|(&i, &c)| i * c).collect();
    let size = start
        .iter()
        .zip(chunks)
        .zip(shape)
        .map(|((&s, &c), &n)| c.min(n - s))
        .collect();
    Ok((start, size))
}
