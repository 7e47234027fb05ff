//! Sizes a Zarr array's metadata implies, checked when it is opened.
//!
//! Metadata can claim anything: a shape of 2^62 × 2^62 elements, chunks of 2^40 elements
//! for an array of 100, shards of 2^40 inner chunks. Before brickwork plans or reads
//! anything, [`bounded`] checks that the array, one chunk and one shard are addressable
//! (at most `isize::MAX` bytes, the most one allocation can take) and that the array has
//! no more chunks than the engine has task ids, and from then on reads chunk objects
//! through a [`BoundedStore`] that refuses reads longer than one stored object can be (and,
//! for uncompressed chunks, objects of another size than a chunk's).
//! What a read decodes ([`decoded_chunk_bytes`]) is reported to the planner
//! ([`BlockRead::decoded_chunk_bytes`](crate::store::BlockRead::decoded_chunk_bytes)), so
//! that a chunk far larger than the array (which zarrs decodes whole) is refused against
//! the memory limit before it runs.

use std::path::Path;
use std::sync::Arc;

use zarrs::array::Array;
use zarrs::storage::ReadableStorageTraits;

use super::ReadStore;
use super::error::store_err;
use crate::dtype::DType;
use crate::error::Result;
use crate::grid::MAX_BLOCKS;
use crate::grid::fmt_shape;
use crate::store::bounded::{BoundedStore, encoded_bound};
use crate::store::raw_chunk;

/// Bytes per entry of a shard index (offset and length, 64 bits each).
const SHARD_INDEX_ENTRY: u64 = 16;

/// The layout of a Zarr array as brickwork reads it.
#[derive(Clone, Copy, Debug)]
pub(super) struct ChunkLayout<'a> {
    /// The array shape.
    pub(super) shape: &'a [usize],
    /// The element type.
    pub(super) dtype: DType,
    /// The read-chunk shape (the inner chunk shape of a sharded array).
    pub(super) chunks: &'a [usize],
    /// The shard shape of a sharded array.
    pub(super) shards: Option<&'a [usize]>,
}

/// Bytes of `shape` elements of `dtype`, or `None` beyond `isize::MAX`.
fn nbytes(shape: &[usize], dtype: DType) -> Option<u64> {
    shape
        .iter()
        .try_fold(dtype.size() as u64, |acc, &n| acc.checked_mul(n as u64))
        .filter(|&b| b <= isize::MAX as u64)
}

/// Inner chunks per shard (`ceil(shard / chunk)` per axis), or `None` on overflow.
fn chunks_per_shard(shards: &[usize], chunks: &[usize]) -> Option<u64> {
    shards.iter().zip(chunks).try_fold(1u64, |acc, (&s, &c)| {
        acc.checked_mul(s.div_ceil(c.max(1)) as u64)
    })
}

/// Chunks of the read grid, or `None` on overflow (an axis of length 0 has one chunk).
fn chunk_count(shape: &[usize], chunks: &[usize]) -> Option<u64> {
    shape.iter().zip(chunks).try_fold(1u64, |acc, (&n, &c)| {
        acc.checked_mul(n.div_ceil(c.max(1)).max(1) as u64)
    })
}

/// Bytes of the shard index of a sharded layout (0 otherwise), or `None` on overflow.
fn index_bytes(layout: &ChunkLayout<'_>) -> Option<u64> {
    layout.shards.map_or(Some(0), |s| {
        chunks_per_shard(s, layout.chunks)?.checked_mul(SHARD_INDEX_ENTRY)
    })
}

/// Bytes one read of a chunk decodes: the whole stored chunk (edge chunks are stored at full
/// size), plus the shard index for a sharded array. Saturates for layouts [`bounded`]
/// refuses.
pub(super) fn decoded_chunk_bytes(layout: &ChunkLayout<'_>) -> u64 {
    let chunk = nbytes(layout.chunks, layout.dtype).unwrap_or(u64::MAX);
    chunk.saturating_add(index_bytes(layout).unwrap_or(u64::MAX))
}

/// [`decoded_chunk_bytes`] of a store that is only planned (a stand-in for a temporary
/// store not written yet), so that planning it and reading it agree.
pub(crate) fn planned_chunk_bytes(
    shape: &[usize],
    dtype: DType,
    chunks: &[usize],
    shards: Option<&[usize]>,
) -> u64 {
    decoded_chunk_bytes(&ChunkLayout {
        shape,
        dtype,
        chunks,
        shards,
    })
}

/// Checks the sizes `layout` implies (see the module docs) and returns `array` reading its
/// chunks through a [`BoundedStore`] (one that asks no sizes unless `sized`: see
/// `store/bounded.rs`).
///
/// # Errors
/// [`crate::Error::Store`] naming the path and `meta_key` when a size is out of range.
pub(super) fn bounded(
    path: &Path,
    meta_key: &str,
    array: &Array<dyn ReadableStorageTraits>,
    layout: &ChunkLayout<'_>,
    sized: bool,
) -> Result<Array<ReadStore>> {
    let malformed = |what: String| {
        store_err(
            path,
            Some(meta_key.into()),
            format!("malformed metadata: {what}"),
        )
    };
    let too_large = |what: &str, shape: &[usize]| {
        malformed(format!(
            "{what} {} of {} is larger than this machine can address",
            fmt_shape(shape),
            layout.dtype
        ))
    };
    nbytes(layout.shape, layout.dtype).ok_or_else(|| too_large("array shape", layout.shape))?;
    let chunk = nbytes(layout.chunks, layout.dtype)
        .ok_or_else(|| too_large("chunk shape", layout.chunks))?;
    let stored = match layout.shards {
        Some(shards) => {
            nbytes(shards, layout.dtype).ok_or_else(|| too_large("shard shape", shards))?
        }
        None => chunk,
    };
    let index = index_bytes(layout)
        .filter(|&b| b <= isize::MAX as u64)
        .ok_or_else(|| too_large("shard index of shard shape", layout.shards.unwrap_or(&[])))?;
    if chunk_count(layout.shape, layout.chunks).is_none_or(|n| n > MAX_BLOCKS) {
        return Err(malformed(format!(
            "array shape {} in chunks of {} makes more than {MAX_BLOCKS} chunks",
            fmt_shape(layout.shape),
            fmt_shape(layout.chunks)
        )));
    }
    let max_read = encoded_bound(stored).saturating_add(index);
    let raw = raw_chunk::is_raw(array.metadata(), layout.dtype, layout.shape.len());
    let exact = raw.then_some(chunk);
    let store = if sized {
        BoundedStore::new(array.storage(), max_read, exact)
    } else {
        BoundedStore::new_unsized(array.storage(), max_read, exact)
    };
    Ok(array.with_storage(Arc::new(store)))
}

impl super::ZarrSource {
    /// Bytes one read of a chunk decodes: the whole stored chunk, at its full shape however
    /// little of it lies inside the array, plus the shard index of a sharded array.
    pub fn decoded_chunk_bytes(&self) -> u64 {
        decoded_chunk_bytes(&ChunkLayout {
            shape: &self.shape,
            dtype: self.dtype,
            chunks: &self.chunk_shape,
            shards: self.shard_shape.as_deref(),
        })
    }
}
