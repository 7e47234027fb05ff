//! Writing into a region of an existing Zarr array ([`crate::Array::to_zarr_region`]).
//!
//! The region is cut at the array's chunk boundaries (shard boundaries when sharded): block
//! `b` of [`ZarrRegion::block_grid`] is the part of one stored chunk inside the region, so
//! every stored object is written by exactly one block and no two writers ever race on one
//! object. A block that covers its whole chunk is encoded and written; one that covers it
//! partly (at the region's edges, or at the array's ragged edge) is read, modified and
//! written: the stored chunk is decoded (the fill value where none is stored), the block
//! assigned into it, the result encoded and written. Every object is written under a
//! temporary name and renamed, so a reader (or an interrupted write) sees each chunk
//! whole, old or new. The array's metadata is not touched, but for its attributes: between
//! [`ZarrRegion::begin`] and [`ZarrRegion::finish`] the `brickwork` attribute records the
//! region write as running, which readers see as a new generation of the array
//! (`zarr/generation.rs`).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zarrs::array::{Array, ArraySubset};
use zarrs::storage::StoreKey;

use super::WriteStore;
use super::attribute::{REGION_WRITE_KEY, RegionWrite, new_write_id};
use super::error::{IntoSource, store_err, store_err_from};
use super::grid::to_u64;
use super::source::ZarrSource;
use super::writer::{refuse_read_only, write_store};
use crate::block::{Block, BlockElement};
use crate::dispatch_dtype;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::grid::{AxisChunks, ChunkGrid, fmt_shape};
use crate::store::lock::WriteLock;
use crate::store::nosync::NoSyncStore;
use crate::store::raw_chunk;
use crate::store::{BRICKWORK_ATTRIBUTE, FORMAT_VERSION, StorageOptions};

/// An existing Zarr array (v3, sharded or not, or v2) opened for writing the region
/// `region` of it, block by block.
///
/// `Send + Sync`: [`write_block`](Self::write_block) may be called from several threads at
/// once for different blocks.
pub struct ZarrRegion {
    path: PathBuf,
    array: Array<WriteStore>,
    /// The store the array is written through.
    store: Arc<WriteStore>,
    /// The store under the atomic-write adapter, for raw chunk writes; `None` on an object
    /// store.
    files: Option<Arc<NoSyncStore>>,
    /// Chunks are stored as their raw elements: full chunks are written from the block's
    /// memory.
    raw: bool,
    shape: Vec<usize>,
    dtype: DType,
    /// The chunk shape, or the shard shape of a sharded array: the stored objects.
    write_shape: Vec<usize>,
    /// The inner chunk shape of a sharded array.
    inner_chunks: Option<Vec<usize>>,
    zarr_format: u8,
    region: Vec<Range<usize>>,
    /// The record of this region write in the array's attributes, once begun.
    begun: Option<RegionWrite>,
    /// The array's write lock (`store/lock.rs`), held while the region is written.
    _lock: Option<Arc<WriteLock>>,
}

impl std::fmt::Debug for ZarrRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZarrRegion")
            .field("path", &self.path)
            .field("shape", &self.shape)
            .field("dtype", &self.dtype)
            .field("write_shape", &self.write_shape)
            .field("region", &self.region)
            .finish()
    }
}

/// `[0..10, 5..30]`, as regions are printed in messages.
pub fn fmt_region(region: &[Range<usize>]) -> String {
    let parts: Vec<String> = region
        .iter()
        .map(|r| format!("{}..{}", r.start, r.end))
        .collect();
    format!("[{}]", parts.join(", "))
}

impl ZarrRegion {
    /// Opens the Zarr array at `path` (a local path or an object-store URL, reached with
    /// `storage`) for writing into `region` (one range per axis). With `direct_io`, large
    /// raw chunk objects are written with direct I/O (see
    /// [`crate::store::WriteOptions::direct_io`]).
    ///
    /// # Errors
    /// Those of [`ZarrSource::open`] (no array there, unreadable or malformed metadata, an
    /// unsupported dtype or codec, an incomplete brickwork array), and
    /// [`Error::InvalidArgument`] naming the path, the array's shape and the region when the
    /// region has another number of axes than the array or reaches outside it.
    ///
    /// Holds the array's write lock until dropped: [`Error::Locked`] when another process
    /// writes it. An array whose last region write did not finish is opened (writing the
    /// region again completes it).
    ///
    /// Call [`begin`](Self::begin) before the first block and [`finish`](Self::finish)
    /// after the last, so that readers of the array see the write.
    pub fn open(
        path: &Path,
        region: &[Range<usize>],
        direct_io: bool,
        storage: &StorageOptions,
    ) -> Result<ZarrRegion> {
        Self::open_locked(path, region, direct_io, storage, true)
    }

    /// [`open`](Self::open) without taking the write lock, for the other ranks of an MPI
    /// region write, whose rank 0 holds it (and calls [`begin`](Self::begin) and
    /// [`finish`](Self::finish)); each rank writes the blocks it computes.
    ///
    /// # Errors
    /// As [`open`](Self::open), except [`Error::Locked`].
    pub fn attach(
        path: &Path,
        region: &[Range<usize>],
        direct_io: bool,
        storage: &StorageOptions,
    ) -> Result<ZarrRegion> {
        Self::open_locked(path, region, direct_io, storage, false)
    }

    fn open_locked(
        path: &Path,
        region: &[Range<usize>],
        direct_io: bool,
        storage: &StorageOptions,
        lock: bool,
    ) -> Result<ZarrRegion> {
        let (display, remote) = super::resolve(path, storage)?;
        let path = display.as_path();
        refuse_read_only(path, remote.as_ref())?;
        let lock = match &remote {
            _ if !lock => {
                ZarrSource::open_any(path, storage)?;
                None
            }
            None => {
                if !path.is_dir() {
                    ZarrSource::open(path)?; // the error for what is (not) there; no lock file
                }
                Some(WriteLock::acquire(path)?)
            }
            Some(r) => {
                // The error for what is (not) there before a lock object is made.
                ZarrSource::open_any(path, storage)?;
                Some(WriteLock::acquire_remote(r.url(), storage)?)
            }
        };
        let source = ZarrSource::open_any(path, storage)?;
        source.refuse_incomplete()?;
        let shape = source.shape().to_vec();
        let bad = |why: String| {
            Error::invalid(format!(
                "region {} of zarr array {} (shape {}): {why}",
                fmt_region(region),
                path.display(),
                fmt_shape(&shape)
            ))
        };
        if region.len() != shape.len() {
            return Err(bad(format!(
                "the region has {} axis(es) but the array has {}; give one range per axis",
                region.len(),
                shape.len()
            )));
        }
        for (d, (r, &n)) in region.iter().zip(&shape).enumerate() {
            if r.start > r.end {
                return Err(bad(format!(
                    "axis {d} starts at {} after it ends at {}",
                    r.start, r.end
                )));
            }
            if r.end > n {
                return Err(bad(format!(
                    "axis {d} ends at {} but the array has {n} there",
                    r.end
                )));
            }
        }
        let (write_shape, inner_chunks) = match source.shard_shape() {
            Some(shards) => (shards.to_vec(), Some(source.chunk_shape().to_vec())),
            None => (source.chunk_shape().to_vec(), None),
        };
        let (store, files) = write_store(path, remote.as_ref(), direct_io)?;
        let meta_key = if source.zarr_format() == 2 {
            ".zarray"
        } else {
            "zarr.json"
        };
        let array = Array::open(store.clone(), "/")
            .map_err(|e| store_err_from(path, Some(meta_key.into()), "cannot open the array", e))?;
        let dtype = source.dtype();
        let raw = files.is_some()
            && inner_chunks.is_none()
            && raw_chunk::is_raw(array.metadata(), dtype, shape.len());
        Ok(ZarrRegion {
            path: path.to_path_buf(),
            array,
            store,
            files,
            raw,
            shape,
            dtype,
            write_shape,
            inner_chunks,
            zarr_format: source.zarr_format(),
            region: region.to_vec(),
            begun: None,
            _lock: lock,
        })
    }

    /// Records in the array's `brickwork` attribute that this region write begins (a new
    /// region-write id, marked unfinished; the metadata file is replaced): readers that
    /// opened the array before fail at their next check with
    /// [`Error::SourceChanged`], and opening it for reading fails with
    /// [`Error::RegionWriteUnfinished`] until [`finish`](Self::finish) (or a later region
    /// write that finishes). Call it after everything that can refuse the write, before the
    /// first block.
    ///
    /// # Errors
    /// [`Error::Store`] or [`Error::Io`] when the metadata cannot be read or written.
    pub fn begin(&mut self) -> Result<()> {
        let record = RegionWrite {
            id: new_write_id(),
            region: fmt_region(&self.region),
            complete: false,
        };
        self.record(&record)?;
        self.begun = Some(record);
        Ok(())
    }

    /// Records that this region write finished (after its last block): the array is
    /// readable again, as a new generation. Nothing to do when it was not begun.
    ///
    /// # Errors
    /// As [`begin`](Self::begin).
    pub fn finish(mut self) -> Result<()> {
        let Some(mut record) = self.begun.take() else {
            return Ok(());
        };
        record.complete = true;
        self.record(&record)
    }

    /// Writes `record` into the `brickwork` attribute, replacing the metadata file (a new
    /// file renamed into place, so that a reader's `stat` sees a new identity). For Zarr v2
    /// the attributes are in `.zattrs`; when there was none, `.zarray` is replaced too,
    /// since that is the file readers of such an array watch.
    fn record(&self, record: &RegionWrite) -> Result<()> {
        let store = &*self.store;
        let read = |key: &str| -> Result<Option<serde_json::Value>> {
            let store_key = StoreKey::new(key)
                .map_err(|e| Error::internal_from(format!("store key {key}"), e))?;
            match store.get(&store_key) {
                Ok(Some(bytes)) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                    store_err_from(&self.path, Some(key.into()), "malformed metadata", e)
                }),
                Ok(None) => Ok(None),
                Err(e) => Err(store_err_from(
                    &self.path,
                    Some(key.into()),
                    "cannot read",
                    e,
                )),
            }
        };
        let key = if self.zarr_format == 2 {
            ".zattrs"
        } else {
            "zarr.json"
        };
        let found = read(key)?;
        let had_attributes = found.is_some();
        let mut doc = match found {
            Some(doc) => doc,
            None if self.zarr_format == 2 => serde_json::json!({}),
            None => return Err(store_err(&self.path, Some(key.into()), "missing metadata")),
        };
        let attributes = if self.zarr_format == 2 {
            &mut doc
        } else {
            doc.as_object_mut()
                .map(|m| {
                    m.entry("attributes")
                        .or_insert_with(|| serde_json::json!({}))
                })
                .ok_or_else(|| store_err(&self.path, Some(key.into()), "malformed metadata"))?
        };
        let brickwork = attributes
            .as_object_mut()
            .ok_or_else(|| {
                store_err(
                    &self.path,
                    Some(key.into()),
                    "malformed metadata: the attributes are not an object",
                )
            })?
            .entry(BRICKWORK_ATTRIBUTE)
            .or_insert_with(|| serde_json::json!({ "format_version": FORMAT_VERSION }));
        if !brickwork.is_object() {
            *brickwork = serde_json::json!({ "format_version": FORMAT_VERSION });
        }
        brickwork[REGION_WRITE_KEY] = record.to_json();
        super::v2::put_json(&self.path, store, key, &doc)?;
        if self.zarr_format == 2 && !had_attributes {
            let zarray = read(".zarray")?
                .ok_or_else(|| store_err(&self.path, Some(".zarray".into()), "missing metadata"))?;
            super::v2::put_json(&self.path, store, ".zarray", &zarray)?;
        }
        Ok(())
    }

    /// The directory of the array.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The array's dtype.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The region written.
    pub fn region(&self) -> &[Range<usize>] {
        &self.region
    }

    /// The region's shape.
    pub fn region_shape(&self) -> Vec<usize> {
        self.region.iter().map(|r| r.end - r.start).collect()
    }

    /// The shape of the stored objects: the chunk shape, or the shard shape when sharded.
    pub fn write_shape(&self) -> &[usize] {
        &self.write_shape
    }

    /// The chunk shape (the inner chunk shape of a sharded array).
    pub fn chunk_shape(&self) -> &[usize] {
        self.inner_chunks.as_deref().unwrap_or(&self.write_shape)
    }

    /// The shard shape of a sharded array, `None` otherwise.
    pub fn shard_shape(&self) -> Option<&[usize]> {
        self.inner_chunks
            .as_ref()
            .map(|_| self.write_shape.as_slice())
    }

    /// 2 or 3.
    pub fn zarr_format(&self) -> u8 {
        self.zarr_format
    }

    /// True when full chunks are written as their raw elements (uncompressed, native byte
    /// order, not sharded): writing is then all I/O.
    pub fn writes_raw(&self) -> bool {
        self.raw
    }

    /// True when the array is written on an object store (each chunk a request).
    pub fn is_remote(&self) -> bool {
        self.files.is_none()
    }

    /// Bytes of one decoded stored object (chunk, or shard).
    pub fn chunk_bytes(&self) -> u64 {
        self.write_shape
            .iter()
            .fold(self.dtype.size() as u64, |acc, &c| {
                acc.saturating_mul(c as u64)
            })
    }

    /// The grid of the blocks [`write_block`](Self::write_block) takes, in the region's
    /// coordinates: the region cut at the stored objects' boundaries. An axis of the region
    /// of length 0 has one empty block.
    pub fn block_grid(&self) -> ChunkGrid {
        ChunkGrid::from_axes(
            self.region
                .iter()
                .zip(&self.write_shape)
                .map(|(r, &c)| {
                    if r.is_empty() {
                        return AxisChunks::regular(0, 1);
                    }
                    let sizes: Vec<usize> = (r.start / c..=(r.end - 1) / c)
                        .map(|k| r.end.min((k + 1) * c) - r.start.max(k * c))
                        .collect();
                    AxisChunks::from_sizes(&sizes)
                })
                .collect(),
        )
    }

    /// For block `block` of [`block_grid`](Self::block_grid): the index of its stored
    /// object, where it starts inside that object, and whether it covers the whole object.
    fn locate(&self, block: &[usize]) -> (Vec<u64>, Vec<u64>, bool) {
        let mut chunk = Vec::with_capacity(block.len());
        let mut start = Vec::with_capacity(block.len());
        let mut whole = true;
        for ((r, &c), &b) in self.region.iter().zip(&self.write_shape).zip(block) {
            let k = r.start / c + b;
            let from = r.start.max(k * c);
            let to = r.end.min((k + 1) * c);
            whole &= from == k * c && to == (k + 1) * c;
            chunk.push(k as u64);
            start.push((from - k * c) as u64);
        }
        (chunk, start, whole)
    }

    /// Per block of [`block_grid`](Self::block_grid) (linear C order), true when it covers
    /// its stored object only partly and is therefore read, modified and written. Objects at
    /// the array's ragged edge count as partly covered (their stored shape reaches past the
    /// array).
    pub fn partial_blocks(&self) -> Vec<bool> {
        let grid = self.block_grid();
        (0..grid.nblocks())
            .map(|lin| !self.locate(&grid.unlinear(lin)).2)
            .collect()
    }

    /// Writes block `block` of [`block_grid`](Self::block_grid) into the array: as a whole
    /// chunk when it covers one, else by reading, updating and rewriting its chunk.
    ///
    /// # Errors
    /// [`Error::Internal`] for a block of the wrong dtype or shape; [`Error::Store`] naming
    /// the path and chunk key when reading or writing the chunk fails.
    pub fn write_block(&self, block: &[usize], value: &Block) -> Result<()> {
        let grid = self.block_grid();
        let (chunk, start, whole) = self.locate(block);
        let key = self.array.chunk_key(&chunk).to_string();
        let shape = grid.block_shape(block);
        if value.dtype() != self.dtype || value.shape() != shape.as_slice() {
            return Err(Error::internal(format!(
                "{}: chunk {key}: expected a {} block of shape {}, got {} of shape {}",
                self.path.display(),
                self.dtype,
                fmt_shape(&shape),
                value.dtype(),
                fmt_shape(value.shape())
            )));
        }
        if shape.contains(&0) {
            return Ok(());
        }
        let what = if self.inner_chunks.is_some() {
            "shard"
        } else {
            "chunk"
        };
        let result = dispatch_dtype!(self.dtype, T => {
            let a = T::view(value).ok_or_else(|| Error::internal("block dtype checked above"))?;
            if whole {
                if self.raw && let Some(elements) = a.as_slice() {
                    return self.write_raw(&chunk, key, raw_chunk::as_bytes(elements));
                }
                self.array.store_chunk(&chunk, a).map_err(IntoSource::into_source)
            } else {
                let subset = ArraySubset::new_with_start_shape(start, to_u64(&shape))
                    .map_err(|e| Error::internal(format!("{}: {e}", self.path.display())))?;
                self.array
                    .store_chunk_subset(&chunk, &subset, a.as_standard_layout().into_owned())
                    .map_err(IntoSource::into_source)
            }
        });
        result.map_err(|e| {
            store_err_from(
                &self.path,
                Some(key),
                format!("cannot write {what} (region {})", fmt_region(&self.region)),
                e,
            )
        })
    }

    /// Writes the raw bytes of a whole chunk, as zarrs would encode it: not stored (and any
    /// old object removed) when it is all fill value.
    fn write_raw(&self, chunk: &[u64], key: String, bytes: &[u8]) -> Result<()> {
        let result = match &self.files {
            _ if self.array.fill_value().equals_all(bytes) => self
                .array
                .erase_chunk(chunk)
                .map_err(IntoSource::into_source),
            Some(files) => files
                .set_atomic(&key, bytes)
                .map_err(IntoSource::into_source),
            None => Err(Error::internal("raw chunk writes need a local store").into()),
        };
        result.map_err(|e| store_err_from(&self.path, Some(key), "cannot write chunk", e))
    }
}
