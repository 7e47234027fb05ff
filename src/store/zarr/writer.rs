//! Writing: [`ZarrWriter`], a Zarr array (v3, optionally sharded, or v2) being written chunk
//! by chunk, with the creation, overwrite and completion of an array.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn, SliceInfoElem};
use zarrs::array::codec::array_to_bytes::sharding::SubchunkWriteOrder;
use zarrs::array::codec::{BloscCodec, BloscCompressionLevel, BloscCompressor, BloscShuffleMode};
use zarrs::array::codec::{BytesCodec, GzipCodec, ShardingCodecOptions, ZstdCodec};
use zarrs::array::{
    Array, ArrayBuilder, ArrayMetadata, ArrayMetadataOptions, ArrayMetadataV2,
    BytesToBytesCodecTraits, CodecSpecificOptions, Endianness, FillValue,
};
use zarrs::filesystem::FilesystemStore;
use zarrs::storage::storage_adapter::atomic_write::AtomicWriteStorageAdapter;
use zarrs::storage::{
    ListableStorageTraits, ReadableStorageTraits, StoreKey, StorePrefix, WritableStorageTraits,
};

use super::WriteStore;
use super::attribute::{brickwork_attribute, new_write_id, sink_attributes, write_id_of};
use super::dtype::zarrs_dtype;
use super::error::{IntoSource, store_err, store_err_from};
use super::grid::{chunk_region, to_u64};
use super::source::ZarrSource;
use super::v2::{put_json, v2_zarray};
use crate::block::{Block, BlockElement};
use crate::dispatch_dtype;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::grid::fmt_shape;
use crate::store::lock::WriteLock;
use crate::store::nosync::NoSyncStore;
use crate::store::raw_chunk;
use crate::store::remote::RemoteStore;
use crate::store::{
    BRICKWORK_ATTRIBUTE, BloscCname, Codec, StorageOptions, WriteOptions, ZarrFormat,
};

/// A Zarr array being written chunk by chunk (the "brickwork-store 1" protocol,
/// `store-format/README.md`): Zarr v3, optionally sharded, or Zarr v2.
///
/// [`write_chunk`](Self::write_chunk) takes the blocks of the regular grid of
/// [`write_shape`](Self::write_shape): the chunk shape, or the shard shape of a sharded array
/// (each shard is encoded whole, with its inner chunks).
///
/// `Send + Sync`: [`write_chunk`](Self::write_chunk) may be called from several threads at
/// once for different blocks. Call [`finish`](Self::finish) after the last block; until then
/// the array is marked incomplete.
pub struct ZarrWriter {
    pub(super) path: PathBuf,
    pub(super) store: Arc<WriteStore>,
    /// The store under `store`'s atomic-write adapter, for raw chunk writes; `None` on an
    /// object store.
    pub(super) files: Option<Arc<NoSyncStore>>,
    /// The object store, when the array is on one.
    pub(super) remote: Option<Arc<RemoteStore>>,
    /// Chunks are stored as their raw elements (no compression, native byte order, not
    /// sharded): full chunks are written from the block's memory without zarrs.
    pub(super) raw: bool,
    pub(super) array: Array<WriteStore>,
    pub(super) shape: Vec<usize>,
    pub(super) chunks: Vec<usize>,
    pub(super) shards: Option<Vec<usize>>,
    pub(super) dtype: DType,
    pub(super) format: ZarrFormat,
    /// The attributes as written (v2 rewrites `.zattrs` from them in `finish`).
    pub(super) attributes: serde_json::Map<String, serde_json::Value>,
    /// The fingerprint of the computation written, kept in the `brickwork` attribute.
    pub(super) fingerprint: Option<String>,
    /// The id of the write that created this generation of the array, kept in the
    /// `brickwork` attribute and checked by [`ZarrWriter::finish`]; `None` for an array of an
    /// older brickwork being resumed, and for [`ZarrWriter::attach`].
    pub(super) write_id: Option<String>,
    /// The array's write lock (`store/lock.rs`); `None` for [`ZarrWriter::attach`], whose
    /// creator holds it.
    pub(super) lock: Option<Arc<WriteLock>>,
}

impl std::fmt::Debug for ZarrWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZarrWriter")
            .field("path", &self.path)
            .field("shape", &self.shape)
            .field("chunks", &self.chunks)
            .field("shards", &self.shards)
            .field("dtype", &self.dtype)
            .field("zarr_format", &self.format)
            .finish()
    }
}

pub(super) fn metadata_options() -> ArrayMetadataOptions {
    ArrayMetadataOptions::default().with_include_zarrs_metadata(false)
}

/// The shard shape (when sharded) and the compressor codecs of an array being written.
pub(super) type Layout = (Option<Vec<usize>>, Vec<Arc<dyn BytesToBytesCodecTraits>>);

/// Removes an existing Zarr node (or empty directory) at `path` for `overwrite`; refuses
/// anything that does not look like Zarr data. The metadata goes first, so that a reader
/// still reading the old array sees it gone (or replaced) at its next check of the array's
/// generation, after any chunk it read was removed (see `ZarrSource::check_generation`).
pub(super) fn remove_existing(path: &Path) -> Result<()> {
    if !path.is_dir() {
        return Err(store_err(
            path,
            None,
            "exists and is not a directory; refusing to overwrite a file that is not a Zarr array",
        ));
    }
    let is_zarr = ["zarr.json", ".zarray", ".zgroup"]
        .iter()
        .any(|m| path.join(m).is_file());
    let is_empty = std::fs::read_dir(path)
        .map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?
        .next()
        .is_none();
    if !is_zarr && !is_empty {
        return Err(store_err(
            path,
            None,
            "exists and is not a Zarr array (no zarr.json or .zarray); refusing to delete it",
        ));
    }
    for meta in ["zarr.json", ".zarray", ".zattrs", ".zgroup"] {
        let file = path.join(meta);
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::Io {
                    path: file,
                    source: e,
                });
            }
            _ => {}
        }
    }
    std::fs::remove_dir_all(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// The store an array at `path` is written through (see `WriteStore`), and for a local
/// one the file store under its atomic-write adapter (raw chunk writes go there).
pub(super) fn write_store(
    path: &Path,
    remote: Option<&Arc<RemoteStore>>,
    direct_io: bool,
) -> Result<(Arc<WriteStore>, Option<Arc<NoSyncStore>>)> {
    if let Some(r) = remote {
        return Ok((r.clone(), None));
    }
    let fs =
        FilesystemStore::new(path).map_err(|e| store_err_from(path, None, "cannot open", e))?;
    let files = Arc::new(NoSyncStore::new(path.to_path_buf(), fs, direct_io));
    Ok((
        Arc::new(AtomicWriteStorageAdapter::new(files.clone())),
        Some(files),
    ))
}

/// Refuses to write to a web server (read only) before anything else is tried.
/// True when full chunks of `array` are written from the block's own elements (raw chunks:
/// not sharded, stored as the elements in this machine's order), which brickwork does where
/// it writes the objects itself (`objects`: local files, or an object store).
pub(super) fn writes_raw(
    objects: bool,
    sharded: bool,
    array: &Array<WriteStore>,
    dtype: DType,
) -> bool {
    objects && !sharded && raw_chunk::is_raw(array.metadata(), dtype, array.dimensionality())
}

pub(super) fn refuse_read_only(path: &Path, remote: Option<&Arc<RemoteStore>>) -> Result<()> {
    match remote {
        Some(r) if !r.url().scheme().writable() => Err(store_err(
            path,
            None,
            format!(
                "cannot write: {}:// stores are read only; write to s3://, gs://, az:// or a local path",
                r.url().scheme().name()
            ),
        )),
        _ => Ok(()),
    }
}

/// The objects and prefixes directly under the array's prefix (one listing request).
pub(super) fn remote_top(path: &Path, store: &RemoteStore) -> Result<(Vec<String>, usize)> {
    let listed = store
        .list_dir(&StorePrefix::root())
        .map_err(|e| store_err_from(path, None, "cannot list", e))?;
    let keys = listed
        .keys()
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    Ok((keys, listed.prefixes().len()))
}

/// [`remove_existing`] on an object store: refuses objects that are not Zarr data, deletes
/// the metadata first, then every object under the prefix.
fn remove_existing_remote(path: &Path, store: &RemoteStore) -> Result<()> {
    let (keys, prefixes) = remote_top(path, store)?;
    let is_zarr = keys
        .iter()
        .any(|k| matches!(k.as_str(), "zarr.json" | ".zarray" | ".zgroup"));
    if !is_zarr && (!keys.is_empty() || prefixes > 0) {
        return Err(store_err(
            path,
            None,
            "holds objects and is not a Zarr array (no zarr.json or .zarray); refusing to delete them",
        ));
    }
    let erase = |r: std::result::Result<(), zarrs::storage::StorageError>| {
        r.map_err(|e| store_err_from(path, None, "cannot delete the array there", e))
    };
    for meta in ["zarr.json", ".zarray", ".zattrs", ".zgroup"] {
        if keys.iter().any(|k| k == meta) {
            let key = StoreKey::new(meta)
                .map_err(|e| Error::internal_from(format!("store key {meta}"), e))?;
            erase(store.erase(&key))?;
        }
    }
    erase(store.erase_prefix(&StorePrefix::root()))
}

pub(super) fn bytes_to_bytes(
    path: &Path,
    codec: Codec,
    dtype: DType,
) -> Result<Vec<Arc<dyn BytesToBytesCodecTraits>>> {
    codec.validate()?;
    // The codec's error is kept as the source, and its text in the message.
    let err = |e: crate::error::BoxError| {
        let detail = format!("codec {codec}: {e}");
        store_err_from(path, None, detail, e)
    };
    Ok(match codec {
        Codec::None => vec![],
        Codec::Zstd { level } => vec![Arc::new(ZstdCodec::new(level, false))],
        Codec::Gzip { level } => {
            vec![Arc::new(GzipCodec::new(level).map_err(|e| err(e.into()))?)]
        }
        Codec::Blosc { cname, level } => {
            let cname = match cname {
                BloscCname::Lz4 => BloscCompressor::LZ4,
                BloscCname::Zstd => BloscCompressor::Zstd,
            };
            let clevel = BloscCompressionLevel::try_from(level)
                .map_err(|e| err(format!("blosc level {e} is not one of 0 to 9").into()))?;
            vec![Arc::new(
                BloscCodec::new(
                    cname,
                    clevel,
                    None,
                    BloscShuffleMode::Shuffle,
                    Some(dtype.size()),
                )
                .map_err(|e| err(e.into()))?,
            )]
        }
    })
}

impl ZarrWriter {
    /// Creates a new Zarr array at `path` (a directory) in chunks of `chunks` and writes its
    /// metadata, marked incomplete. `opts` chooses the format (v3 or v2), the shards (v3)
    /// and the codec. Refuses an existing path unless `opts.overwrite`, which deletes the old
    /// array first.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a chunk shape of the wrong rank or with a zero, and for
    /// options that do not fit it ([`WriteOptions::write_shape`]); [`Error::Store`] naming
    /// the path when it exists (without overwrite) or the metadata cannot be written.
    pub fn create(
        path: &Path,
        shape: &[usize],
        dtype: DType,
        chunks: &[usize],
        opts: &WriteOptions,
    ) -> Result<ZarrWriter> {
        Self::create_for(path, shape, dtype, chunks, opts, None)
    }

    /// [`ZarrWriter::create`] for the computation with `fingerprint` (see
    /// [`crate::expr::fingerprint`]), kept in the `brickwork` attribute so that a resumed
    /// write can tell it is resuming the same computation.
    ///
    /// # Errors
    /// As [`ZarrWriter::create`].
    pub fn create_for(
        path: &Path,
        shape: &[usize],
        dtype: DType,
        chunks: &[usize],
        opts: &WriteOptions,
        fingerprint: Option<&str>,
    ) -> Result<ZarrWriter> {
        let layout = Self::check_layout(path, shape, dtype, chunks, opts)?;
        Self::create_checked(path, shape, dtype, chunks, opts, layout, fingerprint)
    }

    /// Checks the chunk shape and the options against the array; returns the shard shape
    /// (when sharded) and the compressor codecs.
    pub(super) fn check_layout(
        path: &Path,
        shape: &[usize],
        dtype: DType,
        chunks: &[usize],
        opts: &WriteOptions,
    ) -> Result<Layout> {
        if chunks.len() != shape.len() {
            return Err(Error::invalid(format!(
                "chunk shape {} has {} dimension(s) but array shape {} has {} (writing {})",
                fmt_shape(chunks),
                chunks.len(),
                fmt_shape(shape),
                shape.len(),
                path.display()
            )));
        }
        if chunks.contains(&0) {
            return Err(Error::invalid(format!(
                "chunk shape {} has a zero size (writing {})",
                fmt_shape(chunks),
                path.display()
            )));
        }
        let write_shape = opts.write_shape(chunks).map_err(|e| match e {
            Error::InvalidArgument { detail } => {
                Error::invalid(format!("{detail} (writing {})", path.display()))
            }
            other => other,
        })?;
        let shards = opts.shards.as_ref().map(|_| write_shape);
        let codecs = bytes_to_bytes(path, opts.codec, dtype)?;
        Ok((shards, codecs))
    }

    /// Creates the array directory and its metadata (see [`ZarrWriter::create_for`]).
    pub(super) fn create_checked(
        path: &Path,
        shape: &[usize],
        dtype: DType,
        chunks: &[usize],
        opts: &WriteOptions,
        layout: Layout,
        fingerprint: Option<&str>,
    ) -> Result<ZarrWriter> {
        let (shards, codecs) = layout;
        let (display, remote) = super::resolve(path, &opts.storage)?;
        let path = display.as_path();
        refuse_read_only(path, remote.as_ref())?;
        let ((store, files), lock) = match &remote {
            None => {
                // Before looking: the path is this write's from now on (`--overwrite`
                // included).
                let lock = WriteLock::acquire(path)?;
                if path.exists() || path.is_symlink() {
                    if !opts.overwrite {
                        return Err(exists_error(path, &opts.storage));
                    }
                    remove_existing(path)?;
                }
                std::fs::create_dir_all(path).map_err(|e| Error::Io {
                    path: path.to_path_buf(),
                    source: e,
                })?;
                (write_store(path, None, opts.direct_io)?, lock)
            }
            Some(r) => {
                let lock = WriteLock::acquire_remote(r.url(), &opts.storage)?;
                let (keys, prefixes) = remote_top(path, r)?;
                if !keys.is_empty() || prefixes > 0 {
                    if !opts.overwrite {
                        return Err(exists_error(path, &opts.storage));
                    }
                    remove_existing_remote(path, r)?;
                }
                (write_store(path, Some(r), opts.direct_io)?, lock)
            }
        };

        let write_id = new_write_id();
        let attributes = sink_attributes(opts, false, fingerprint, Some(&write_id));
        let array = match opts.zarr_format {
            ZarrFormat::V3 => Self::create_v3(
                path,
                &store,
                shape,
                dtype,
                chunks,
                shards.as_deref(),
                codecs,
                &attributes,
            )?,
            ZarrFormat::V2 => {
                Self::create_v2(path, &store, shape, dtype, chunks, opts.codec, &attributes)?
            }
        };
        let raw = writes_raw(
            files.is_some() || remote.is_some(),
            shards.is_some(),
            &array,
            dtype,
        );
        Ok(ZarrWriter {
            path: path.to_path_buf(),
            store,
            files,
            remote,
            raw,
            array,
            shape: shape.to_vec(),
            chunks: chunks.to_vec(),
            shards,
            dtype,
            format: opts.zarr_format,
            attributes,
            fingerprint: fingerprint.map(str::to_owned),
            write_id: Some(write_id),
            lock: Some(lock),
        })
    }

    /// `zarr.json` through zarrs' builder; sharded when `shards` is given.
    #[allow(clippy::too_many_arguments)]
    fn create_v3(
        path: &Path,
        store: &Arc<WriteStore>,
        shape: &[usize],
        dtype: DType,
        chunks: &[usize],
        shards: Option<&[usize]>,
        codecs: Vec<Arc<dyn BytesToBytesCodecTraits>>,
        attributes: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Array<WriteStore>> {
        let array = Self::build_v3(
            path, store, shape, dtype, chunks, shards, codecs, attributes,
        )?;
        array.store_metadata().map_err(|e| {
            store_err_from(path, Some("zarr.json".into()), "cannot write metadata", e)
        })?;
        Ok(array)
    }

    /// The v3 array as [`ZarrWriter::create_v3`] writes it, its metadata not stored.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn build_v3(
        path: &Path,
        store: &Arc<WriteStore>,
        shape: &[usize],
        dtype: DType,
        chunks: &[usize],
        shards: Option<&[usize]>,
        codecs: Vec<Arc<dyn BytesToBytesCodecTraits>>,
        attributes: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Array<WriteStore>> {
        let fill = FillValue::from(vec![0u8; dtype.size()]);
        let endian = if dtype.size() > 1 {
            Some(Endianness::Little)
        } else {
            None
        };
        let grid_shape = shards.unwrap_or(chunks);
        let mut builder =
            ArrayBuilder::new(to_u64(shape), to_u64(grid_shape), zarrs_dtype(dtype), fill);
        builder
            .array_to_bytes_codec(Arc::new(BytesCodec::new(endian)))
            .bytes_to_bytes_codecs(codecs)
            .attributes(attributes.clone());
        if shards.is_some() {
            // The sharding_indexed codec with the inner codecs above, its index encoded
            // `bytes` (little-endian) + `crc32c` at the end of the shard: zarr-python's default.
            builder.subchunk_shape(Some(to_u64(chunks)));
            // Inner chunks in C order: zarrs' default lays them out in the order their
            // parallel encodings finish, so the same shard would not always have the same
            // bytes (a resumed write must end byte-identical to an uninterrupted one).
            builder.codec_specific_options(CodecSpecificOptions::default().with_option(
                ShardingCodecOptions::default().with_subchunk_write_order(SubchunkWriteOrder::C),
            ));
        }
        let mut array = builder
            .build(store.clone(), "/")
            .map_err(|e| store_err_from(path, Some("zarr.json".into()), "invalid array", e))?;
        array.set_metadata_options(metadata_options());
        Ok(array)
    }

    /// `.zattrs` then `.zarray`, as zarr-python writes them (so that a crash in between
    /// leaves no array that looks complete); zarrs encodes the chunks.
    fn create_v2(
        path: &Path,
        store: &Arc<WriteStore>,
        shape: &[usize],
        dtype: DType,
        chunks: &[usize],
        codec: Codec,
        attributes: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Array<WriteStore>> {
        let (array, zarray) = Self::build_v2(path, store, shape, dtype, chunks, codec)?;
        put_json(
            path,
            store,
            ".zattrs",
            &serde_json::Value::Object(attributes.clone()),
        )?;
        put_json(path, store, ".zarray", &zarray)?;
        Ok(array)
    }

    /// The v2 array as [`ZarrWriter::create_v2`] writes it and its `.zarray` document, not
    /// stored.
    pub(super) fn build_v2(
        path: &Path,
        store: &Arc<WriteStore>,
        shape: &[usize],
        dtype: DType,
        chunks: &[usize],
        codec: Codec,
    ) -> Result<(Array<WriteStore>, serde_json::Value)> {
        let zarray = v2_zarray(shape, chunks, dtype, codec)?;
        let metadata: ArrayMetadataV2 = serde_json::from_value(zarray.clone())
            .map_err(|e| Error::internal(format!("{}: .zarray: {e}", path.display())))?;
        let array = Array::new_with_metadata(store.clone(), "/", ArrayMetadata::V2(metadata))
            .map_err(|e| store_err_from(path, Some(".zarray".into()), "invalid array", e))?;
        Ok((array, zarray))
    }

    /// The directory of the array.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The array shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The chunk shape written (the inner chunk shape of a sharded array).
    pub fn chunk_shape(&self) -> &[usize] {
        &self.chunks
    }

    /// The shard shape of a sharded array, `None` otherwise.
    pub fn shard_shape(&self) -> Option<&[usize]> {
        self.shards.as_deref()
    }

    /// The shape of the blocks [`write_chunk`](Self::write_chunk) takes: the shard shape of
    /// a sharded array, else the chunk shape.
    pub fn write_shape(&self) -> &[usize] {
        self.shards.as_deref().unwrap_or(&self.chunks)
    }

    /// True when full chunks are stored as their raw elements (uncompressed, native byte
    /// order, not sharded) and written from the block's memory: writing is then all I/O.
    pub fn writes_raw(&self) -> bool {
        self.raw
    }

    /// True when the array is written to an object store (each chunk a request).
    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// The Zarr format written.
    pub fn zarr_format(&self) -> ZarrFormat {
        self.format
    }

    /// Encodes and writes block `chunk` of the grid of [`write_shape`](Self::write_shape)
    /// atomically (`<key>.tmp`, then rename): one chunk, or one whole shard of a sharded
    /// array. `block` is the block clipped to the array bounds; edge blocks are padded with
    /// the fill value on disk. A chunk (shard) that is entirely the fill value is not stored
    /// (any old object is removed); nor are such inner chunks inside a shard.
    ///
    /// # Errors
    /// [`Error::Internal`] for a block of the wrong dtype or shape, [`Error::InvalidArgument`]
    /// for an index outside the grid, [`Error::Store`] naming the path and key when the
    /// write fails.
    pub fn write_chunk(&self, chunk: &[usize], block: &Block) -> Result<()> {
        let write_shape = self.write_shape();
        let (_, size) = chunk_region(&self.path, &self.shape, write_shape, chunk)?;
        let idx = to_u64(chunk);
        let key = self.array.chunk_key(&idx).to_string();
        if block.dtype() != self.dtype || block.shape() != size.as_slice() {
            return Err(Error::internal(format!(
                "{}: chunk {key}: expected a {} block of shape {}, got {} of shape {}",
                self.path.display(),
                self.dtype,
                fmt_shape(&size),
                block.dtype(),
                fmt_shape(block.shape())
            )));
        }
        if size.contains(&0) {
            return Ok(());
        }
        let full = size == write_shape;
        let result = dispatch_dtype!(self.dtype, T => {
            let a = T::view(block).ok_or_else(|| Error::internal("block dtype checked above"))?;
            if full && self.raw && let Some(elements) = a.as_slice() {
                return self.write_raw(&idx, key, raw_chunk::as_bytes(elements));
            }
            if full {
                self.array.store_chunk(&idx, a)
            } else {
                let mut padded = ArrayD::<T>::default(IxDyn(write_shape));
                let info: Vec<SliceInfoElem> = size
                    .iter()
                    .map(|&n| SliceInfoElem::Slice {
                        start: 0,
                        end: Some(n as isize),
                        step: 1,
                    })
                    .collect();
                padded.slice_mut(info.as_slice()).assign(a);
                self.array.store_chunk(&idx, padded)
            }
        });
        let what = if self.shards.is_some() {
            "shard"
        } else {
            "chunk"
        };
        result.map_err(|e| store_err_from(&self.path, Some(key), format!("cannot write {what}"), e))
    }

    /// Writes the raw bytes of a full chunk (see [`ZarrWriter::raw`]), as zarrs would encode
    /// it: not stored when it is all fill value.
    fn write_raw(&self, idx: &[u64], key: String, bytes: &[u8]) -> Result<()> {
        let result = match &self.files {
            _ if self.array.fill_value().equals_all(bytes) => {
                self.array.erase_chunk(idx).map_err(IntoSource::into_source)
            }
            Some(files) => files
                .set_atomic(&key, bytes)
                .map_err(IntoSource::into_source),
            // One copy, the request's body (the write's one encode buffer), where zarrs'
            // encoding would make more.
            None => match &self.remote {
                Some(remote) => StoreKey::new(key.as_str())
                    .map_err(|e| -> crate::error::BoxError { Box::new(e) })
                    .and_then(|k| {
                        remote
                            .set(&k, zarrs::storage::Bytes::copy_from_slice(bytes))
                            .map_err(IntoSource::into_source)
                    }),
                None => Err(Error::internal("raw chunk writes need a store").into()),
            },
        };
        result.map_err(|e| store_err_from(&self.path, Some(key), "cannot write chunk", e))
    }

    /// Marks the array complete (`"brickwork": {"complete": true}` in `zarr.json`, or in
    /// `.zattrs` for v2).
    ///
    /// # Errors
    /// [`Error::Store`] naming the path and metadata key when it cannot be written.
    /// Only the write that created this generation of the array marks it: the write id
    /// stored at creation must still be there. (The write lock keeps other brickwork
    /// writers out; this catches what it cannot, such as a file system whose locks do not
    /// reach other machines.)
    pub fn finish(mut self) -> Result<()> {
        self.check_still_ours()?;
        self.attributes.insert(
            BRICKWORK_ATTRIBUTE.into(),
            brickwork_attribute(true, self.fingerprint.as_deref(), self.write_id.as_deref()),
        );
        match self.format {
            ZarrFormat::V3 => {
                *self.array.attributes_mut() = self.attributes;
                self.array.store_metadata().map_err(|e| {
                    store_err_from(
                        &self.path,
                        Some("zarr.json".into()),
                        "cannot mark the array complete",
                        e,
                    )
                })
            }
            ZarrFormat::V2 => put_json(
                &self.path,
                &self.store,
                ".zattrs",
                &serde_json::Value::Object(self.attributes),
            ),
        }
    }
}

/// The message of a write refused because something is at its path: an interrupted write
/// (resume it) or anything else (overwrite it).
pub(super) fn exists_error(path: &Path, storage: &StorageOptions) -> Error {
    let interrupted = ZarrSource::open_any(path, storage).is_ok_and(|s| s.is_incomplete_write());
    store_err(
        path,
        None,
        if interrupted {
            "already exists, left incomplete by a write that did not finish; pass resume (--resume) to finish that write, or overwrite (--overwrite) to replace it"
        } else {
            "already exists; pass overwrite (--overwrite) to replace it"
        },
    )
}

impl ZarrWriter {
    /// Refuses to mark complete an array that another write has replaced since this one
    /// created it (its write id is no longer the one stored).
    fn check_still_ours(&self) -> Result<()> {
        let Some(ours) = self.write_id.as_deref() else {
            return Ok(());
        };
        let (key, attrs_of): (&str, fn(serde_json::Value) -> serde_json::Value) = match self.format
        {
            ZarrFormat::V3 => ("zarr.json", |v| v["attributes"].clone()),
            ZarrFormat::V2 => (".zattrs", |v| v),
        };
        let there = StoreKey::new(key)
            .ok()
            .and_then(|k| self.store.get(&k).ok().flatten())
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .map(attrs_of);
        let there = there.as_ref().and_then(write_id_of);
        if there == Some(ours) {
            return Ok(());
        }
        Err(store_err(
            &self.path,
            Some(key.into()),
            format!(
                "was replaced by another write while this one ran (write id {} there, {ours} here); not marking it complete",
                there.unwrap_or("none")
            ),
        ))
    }
}
