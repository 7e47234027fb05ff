//! Reading: [`ZarrSource`], a Zarr array (v3 or v2) opened for reading, and what kind of
//! node is at a path and which chunk objects an array directory holds.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ndarray::ArrayD;
use zarrs::array::{Array, ArrayMetadata, ArrayMetadataV3, ArrayShardedExt, ArraySubset};
use zarrs::filesystem::FilesystemStore;
use zarrs::storage::{ReadableStorage, ReadableStorageTraits, StoreKey};

use super::dtype::dtype_of;
use super::error::{store_err, store_err_from};
use super::grid::{chunk_region, grid_shape, to_u64, to_usize};
use super::{ReadStore, generation, limits};
use crate::block::{Block, BlockElement, MappedBlock};
use crate::dispatch_dtype;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::grid::fmt_shape;
use crate::store::StorageOptions;
use crate::store::raw_chunk;
use crate::store::remote::RemoteStore;
use crate::store::{BRICKWORK_ATTRIBUTE, ReadOptions};

/// What an array directory holds ([`ZarrSource::stored_objects`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredObjects {
    /// Chunk objects (shards of a sharded array) stored.
    pub count: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Chunk objects in the array's grid (stored or not).
    pub expected: u64,
}

/// A Zarr array opened for reading (format 3 or 2).
///
/// `Send + Sync`; share it behind an `Arc` and read chunks from several threads at once.
pub struct ZarrSource {
    path: PathBuf,
    array: Array<ReadStore>,
    pub(super) shape: Vec<usize>,
    pub(super) dtype: DType,
    pub(super) chunk_shape: Vec<usize>,
    /// The shard (stored chunk) shape when the array is sharded.
    pub(super) shard_shape: Option<Vec<usize>>,
    zarr_format: u8,
    /// Chunks are stored as raw native-endian elements and read directly
    /// ([`super::raw_chunk`]).
    raw: bool,
    /// Per chunk asked about, whether [`ZarrSource::maps_chunk`] found it mappable (the
    /// planner asks once per task and chunk; a file system look-up each time would add up).
    mappable: std::sync::Mutex<std::collections::HashMap<Vec<usize>, bool>>,
    /// The generation of the array opened, checked after every read.
    generation: generation::Generation,
    /// The object store, when the array is on one.
    remote: Option<Arc<RemoteStore>>,
}

impl std::fmt::Debug for ZarrSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZarrSource")
            .field("path", &self.path)
            .field("shape", &self.shape)
            .field("dtype", &self.dtype)
            .field("chunk_shape", &self.chunk_shape)
            .field("shard_shape", &self.shard_shape)
            .field("zarr_format", &self.zarr_format)
            .finish()
    }
}

/// What kind of Zarr node (if any) is at a path, from its metadata files.
pub(super) fn check_array_path(path: &Path) -> Result<(u8, &'static str)> {
    if let Err(e) = std::fs::metadata(path) {
        return Err(store_err_from(path, None, "cannot open", e));
    }
    if !path.is_dir() {
        return Err(Error::UnknownStoreFormat {
            path: path.to_path_buf(),
            found: "not a Zarr array: it is a file, and a Zarr array is a directory holding zarr.json (v3) or .zarray (v2)".into(),
        });
    }
    let v3 = path.join("zarr.json");
    if v3.is_file() {
        let text = std::fs::read_to_string(&v3)
            .map_err(|e| store_err_from(path, Some("zarr.json".into()), "cannot read", e))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| store_err_from(path, Some("zarr.json".into()), "malformed metadata", e))?;
        return match json.get("node_type").and_then(|v| v.as_str()) {
            Some("array") => Ok((3, "zarr.json")),
            Some("group") => Err(store_err(
                path,
                Some("zarr.json".into()),
                format!("is a Zarr group, not an array{}", children_hint(path)),
            )),
            other => Err(store_err(
                path,
                Some("zarr.json".into()),
                format!("malformed metadata: node_type is {other:?}, expected \"array\""),
            )),
        };
    }
    if path.join(".zarray").is_file() {
        return Ok((2, ".zarray"));
    }
    if path.join(".zgroup").is_file() {
        return Err(store_err(
            path,
            Some(".zgroup".into()),
            format!("is a Zarr v2 group, not an array{}", children_hint(path)),
        ));
    }
    Err(Error::UnknownStoreFormat {
        path: path.to_path_buf(),
        found: "not a Zarr array: the directory has no zarr.json (v3) or .zarray (v2)".into(),
    })
}

/// What kind of Zarr node is at the prefix of `store` (an object store at `path`): the
/// Zarr format, the metadata key and the metadata document.
fn check_remote_array(path: &Path, store: &RemoteStore) -> Result<(u8, &'static str, Vec<u8>)> {
    let get = |key: &'static str| -> Result<Option<Vec<u8>>> {
        let k =
            StoreKey::new(key).map_err(|e| Error::internal_from(format!("store key {key}"), e))?;
        store
            .get(&k)
            .map(|b| b.map(|b| b.to_vec()))
            .map_err(|e| store_err_from(path, Some(key.into()), "cannot read", e))
    };
    if let Some(bytes) = get("zarr.json")? {
        let json: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| store_err_from(path, Some("zarr.json".into()), "malformed metadata", e))?;
        return match json.get("node_type").and_then(|v| v.as_str()) {
            Some("array") => Ok((3, "zarr.json", bytes)),
            Some("group") => Err(store_err(
                path,
                Some("zarr.json".into()),
                "is a Zarr group, not an array; open one of its members",
            )),
            other => Err(store_err(
                path,
                Some("zarr.json".into()),
                format!("malformed metadata: node_type is {other:?}, expected \"array\""),
            )),
        };
    }
    if let Some(mut bytes) = get(".zarray")? {
        // The write id of a v2 array is in its attributes: part of its generation.
        bytes.extend(get(".zattrs")?.unwrap_or_default());
        return Ok((2, ".zarray", bytes));
    }
    if get(".zgroup")?.is_some() {
        return Err(store_err(
            path,
            Some(".zgroup".into()),
            "is a Zarr v2 group, not an array; open one of its members",
        ));
    }
    // Nothing there, or no such bucket: a listing tells them apart (web servers list
    // nothing, so they are not asked).
    if store.url().scheme().writable() {
        store
            .list_sizes("")
            .map_err(|e| store_err_from(path, None, "cannot open", e))?;
    }
    Err(Error::UnknownStoreFormat {
        path: path.to_path_buf(),
        found: "not a Zarr array: there is no zarr.json (v3) or .zarray (v2) under this prefix"
            .into(),
    })
}

/// The chunk objects of the array at the prefix of `store`: every object under it that is
/// not metadata and not inside a nested array (as [`chunk_files`] for a directory).
fn chunk_objects(path: &Path, store: &RemoteStore) -> Result<(u64, u64)> {
    let listed = store
        .list_sizes("")
        .map_err(|e| store_err_from(path, None, "cannot list the array's objects", e))?;
    let name = |k: &str| k.rsplit('/').next().unwrap_or_default().to_owned();
    let nested: Vec<String> = listed
        .iter()
        .filter(|(k, _)| k.contains('/') && matches!(name(k).as_str(), "zarr.json" | ".zarray"))
        .filter_map(|(k, _)| k.rsplit_once('/').map(|(dir, _)| format!("{dir}/")))
        .collect();
    let (mut count, mut bytes) = (0, 0);
    for (k, size) in &listed {
        if is_metadata_key(&name(k)) || nested.iter().any(|n| k.starts_with(n.as_str())) {
            continue;
        }
        count += 1;
        bytes += size;
    }
    Ok((count, bytes))
}

/// " (open one of its members: a, b)" for a group directory.
/// The chunk objects of the array in `dir`: every file under it that is not metadata, not a
/// temporary file of the atomic write protocol, and not inside a nested array.
pub(super) fn chunk_files(dir: &Path) -> Result<(u64, u64)> {
    let io_err = |path: &Path, source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let (mut count, mut bytes) = (0, 0);
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| io_err(&d, e))? {
            let path = entry.map_err(|e| io_err(&d, e))?.path();
            let meta = std::fs::metadata(&path).map_err(|e| io_err(&path, e))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            if meta.is_dir() {
                if !path.join("zarr.json").exists() && !path.join(".zarray").exists() {
                    pending.push(path);
                }
            } else if !is_metadata_key(&name) && !name.ends_with(".tmp") {
                count += 1;
                bytes += meta.len();
            }
        }
    }
    Ok((count, bytes))
}

/// True for the names of Zarr metadata documents (v3 and v2).
pub(super) fn is_metadata_key(name: &str) -> bool {
    matches!(
        name,
        "zarr.json" | ".zarray" | ".zattrs" | ".zgroup" | ".zmetadata"
    )
}

pub(super) fn children_hint(path: &Path) -> String {
    let Ok(entries) = std::fs::read_dir(path) else {
        return String::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    if names.is_empty() {
        String::new()
    } else {
        format!("; open one of its members: {}", names.join(", "))
    }
}

/// The regular chunk shape from the chunk grid metadata (`regular`, or zarrs's
/// `regular_bounded` for v2).
pub(super) fn regular_chunk_shape<S: ?Sized>(path: &Path, array: &Array<S>) -> Result<Vec<usize>> {
    if array.dimensionality() == 0 {
        return Ok(Vec::new());
    }
    let meta = array.chunk_grid().metadata();
    let unsupported = || {
        store_err(
            path,
            None,
            format!(
                "unsupported chunk grid {:?}: brickwork reads regular chunk grids",
                meta.name()
            ),
        )
    };
    let cfg = meta.configuration().ok_or_else(unsupported)?;
    let shape = cfg
        .get("chunk_shape")
        .and_then(|v| v.as_array())
        .ok_or_else(unsupported)?;
    shape
        .iter()
        .map(|v| {
            v.as_u64()
                .and_then(|x| usize::try_from(x).ok())
                .ok_or_else(unsupported)
        })
        .collect()
}

impl ZarrSource {
    /// Opens the Zarr array (v3 `zarr.json` or v2 `.zarray`) in the directory `path`.
    ///
    /// Fails with [`Error::Store`] naming the path when it is missing, a file, a group, has
    /// malformed metadata or an unsupported dtype (named) or codec.
    ///
    /// An array that brickwork marked incomplete (a write that did not finish) is an
    /// [`Error::IncompleteArray`], and one that a region write is writing into (or whose
    /// last region write did not finish) an [`Error::RegionWriteUnfinished`];
    /// [`ZarrSource::open_with`] with [`ReadOptions::allow_incomplete`] opens them anyway.
    ///
    /// `path` may be an object-store URL (see [`crate::store::Location`]); then the array
    /// is the one under that prefix.
    pub fn open(path: &Path) -> Result<ZarrSource> {
        Self::open_with(path, &ReadOptions::default())
    }

    /// [`ZarrSource::open`] with options.
    ///
    /// # Errors
    /// As [`ZarrSource::open`].
    pub fn open_with(path: &Path, options: &ReadOptions) -> Result<ZarrSource> {
        let source = Self::open_any(path, &options.storage)?;
        if !options.allow_incomplete {
            source.refuse_incomplete()?;
            source.refuse_unfinished_region_write()?;
        }
        Ok(source)
    }

    /// [`Error::IncompleteArray`] when the array's write did not finish.
    pub(super) fn refuse_incomplete(&self) -> Result<()> {
        if !self.is_incomplete_write() {
            return Ok(());
        }
        let stored = self.stored_objects()?;
        Err(Error::IncompleteArray {
            path: self.path.clone(),
            missing: stored.expected.saturating_sub(stored.count),
            total: stored.expected,
        })
    }

    /// [`Error::RegionWriteUnfinished`] when a region write into the array runs or was
    /// interrupted (see `zarr/generation.rs`), naming the writer when it still runs.
    fn refuse_unfinished_region_write(&self) -> Result<()> {
        match self.unfinished_region_write() {
            Some((region, holder)) => Err(Error::RegionWriteUnfinished {
                path: self.path.clone(),
                region,
                holder,
            }),
            None => Ok(()),
        }
    }

    /// The region write into the array that runs or was interrupted when it was opened
    /// (`brickwork info` shows it): its region, as `[0..10, 5..30]`, and who writes it
    /// (pid, host, since when, command) when that process still runs; `None` when the
    /// last region write finished, or there was none.
    pub fn unfinished_region_write(&self) -> Option<(String, Option<String>)> {
        let r = self.generation.region_write().filter(|r| !r.complete)?;
        let holder = match self.remote {
            None => crate::store::lock::live_holder(&self.path),
            Some(_) => None,
        };
        Some((r.region.clone(), holder))
    }

    /// A text that identifies the generation of the array opened (see
    /// `zarr/generation.rs`): the same for every opening of the same generation, in any
    /// process; `None` when it cannot be told.
    pub fn generation(&self) -> Option<String> {
        self.generation.token()
    }

    /// Opens the array whatever its write state.
    pub(super) fn open_any(path: &Path, storage: &StorageOptions) -> Result<ZarrSource> {
        let (path, remote) = super::resolve(path, storage)?;
        let path = path.as_path();
        let mut remote_v3 = None;
        let (zarr_format, meta_key, seen, store): (_, _, _, ReadableStorage) = match &remote {
            None => {
                let (zarr_format, meta_key) = check_array_path(path)?;
                // Before the metadata is read: a change between the two shows at the
                // first check.
                let seen = generation::Generation::look(path, zarr_format);
                let store = FilesystemStore::new(path)
                    .map_err(|e| store_err_from(path, None, "cannot open", e))?;
                (zarr_format, meta_key, seen, Arc::new(store))
            }
            Some(r) => {
                let (zarr_format, meta_key, metadata) = check_remote_array(path, r)?;
                let seen = generation::Generation::remote(&metadata);
                if zarr_format == 3 {
                    let parsed =
                        serde_json::from_slice::<ArrayMetadataV3>(&metadata).map_err(|e| {
                            store_err_from(path, Some(meta_key.into()), "malformed metadata", e)
                        })?;
                    remote_v3 = Some(ArrayMetadata::V3(parsed));
                }
                (zarr_format, meta_key, seen, r.clone())
            }
        };
        let array = match &remote_v3 {
            // The document just read: no second request for it.
            Some(metadata) => Array::new_with_metadata(store, "/", metadata.clone()),
            None => Array::open(store, "/"),
        }
        .map_err(|e| store_err_from(path, Some(meta_key.into()), "cannot open the array", e))?;
        let dtype = dtype_of(array.data_type()).ok_or_else(|| {
            store_err(
                path,
                Some(meta_key.into()),
                format!(
                    "unsupported dtype {} (brickwork reads bool, int8..int64, uint8..uint64, float32, float64)",
                    array.data_type()
                ),
            )
        })?;
        if array.data_type().fixed_size() != Some(dtype.size()) {
            return Err(store_err(
                path,
                Some(meta_key.into()),
                format!("unsupported dtype {}", array.data_type()),
            ));
        }
        let shape = to_usize(path, array.shape())?;
        let (chunk_shape, shard_shape) = if array.is_sharded() {
            let shards = regular_chunk_shape(path, &array)?;
            let inner = array.effective_subchunk_shape().ok_or_else(|| {
                store_err(
                    path,
                    Some(meta_key.into()),
                    "sharded array whose inner chunk shape cannot be determined",
                )
            })?;
            let inner: Vec<usize> = inner.iter().map(|c| c.get() as usize).collect();
            (inner, Some(shards))
        } else {
            (regular_chunk_shape(path, &array)?, None)
        };
        if chunk_shape.len() != shape.len() || chunk_shape.contains(&0) {
            return Err(store_err(
                path,
                Some(meta_key.into()),
                format!(
                    "malformed metadata: chunk shape {} does not fit array shape {}",
                    fmt_shape(&chunk_shape),
                    fmt_shape(&shape)
                ),
            ));
        }
        let layout = limits::ChunkLayout {
            shape: &shape,
            dtype,
            chunks: &chunk_shape,
            shards: shard_shape.as_deref(),
        };
        let array = limits::bounded(path, meta_key, &array, &layout, remote.is_none())?;
        let raw = remote.is_none()
            && !raw_chunk::reads_disabled()
            && raw_chunk::is_raw(array.metadata(), dtype, shape.len());
        let attributes = serde_json::Value::Object(array.attributes().clone());
        let generation = seen.with_attributes(&attributes);
        Ok(ZarrSource {
            generation,
            path: path.to_path_buf(),
            raw,
            array,
            shape,
            dtype,
            chunk_shape,
            shard_shape,
            zarr_format,
            mappable: Default::default(),
            remote,
        })
    }

    /// The directory of the array (for an array on an object store, its URL).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when the array is on an object store or web server.
    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// The array shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The element type (big-endian v2 dtypes map to the native type; values are converted).
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The regular read-chunk shape: the inner chunk shape for sharded arrays; `[]` for 0-d.
    pub fn chunk_shape(&self) -> &[usize] {
        &self.chunk_shape
    }

    /// The shard shape of a sharded array (the stored objects), `None` otherwise.
    pub fn shard_shape(&self) -> Option<&[usize]> {
        self.shard_shape.as_deref()
    }

    /// 2 or 3.
    pub fn zarr_format(&self) -> u8 {
        self.zarr_format
    }

    /// Number of read chunks along each axis (an axis of length 0 has one empty chunk).
    pub fn grid_shape(&self) -> Vec<usize> {
        grid_shape(&self.shape, &self.chunk_shape)
    }

    /// The store key of the object holding `chunk` (for messages): the chunk key, or for a
    /// sharded array the shard key and the inner chunk.
    pub fn chunk_key(&self, chunk: &[usize]) -> String {
        match &self.shard_shape {
            None => self.array.chunk_key(&to_u64(chunk)).to_string(),
            Some(shards) => {
                let shard: Vec<u64> = chunk
                    .iter()
                    .zip(&self.chunk_shape)
                    .zip(shards)
                    .map(|((&i, &c), &s)| ((i * c) / s.max(1)) as u64)
                    .collect();
                format!("{} (inner chunk {chunk:?})", self.array.chunk_key(&shard))
            }
        }
    }

    /// Reads one chunk of the regular read-chunk grid ([`chunk_shape`](Self::chunk_shape)),
    /// clipped to the array bounds, in C order. Chunks never written read as the fill value.
    pub fn read_chunk(&self, chunk: &[usize]) -> Result<Block> {
        let (start, size) = chunk_region(&self.path, &self.shape, &self.chunk_shape, chunk)?;
        if self.raw && !size.contains(&0) {
            let file = self.chunk_file(chunk);
            let read = raw_chunk::read(&file, self.dtype, &self.chunk_shape, &size)
                .map_err(|e| self.direct_err(chunk, e))?;
            if let Some(block) = read {
                self.check_generation()?;
                return Ok(block);
            }
        }
        self.read_subset(&start, &size, || Some(self.chunk_key(chunk)))
    }

    /// Checks that the array is still the one opened (not replaced by another write):
    /// called after every read, so that a read that may have seen another array is
    /// followed by a check that sees it (an overwrite removes the metadata first). One
    /// `stat` of the metadata file; it is read only when that changed. See
    /// `zarr/generation.rs`.
    ///
    /// # Errors
    /// [`Error::SourceChanged`] naming the array.
    pub fn check_generation(&self) -> Result<()> {
        self.generation.check(&self.path)
    }

    /// Memory-maps one chunk of the regular read-chunk grid, clipped to the array bounds,
    /// when it is stored uncompressed in the machine's byte order and is large enough for
    /// mapping to pay (see `store::raw_chunk`); `None` to read it with
    /// [`read_chunk`](Self::read_chunk) instead.
    pub fn map_chunk(&self, chunk: &[usize]) -> Result<Option<MappedBlock>> {
        let Some(size) = self.mapped_size(chunk)? else {
            return Ok(None);
        };
        let mapped = raw_chunk::map(
            &self.chunk_file(chunk),
            self.dtype,
            &self.chunk_shape,
            &size,
        )
        .map_err(|e| self.direct_err(chunk, e))?;
        self.check_generation()?;
        Ok(mapped)
    }

    /// True when [`map_chunk`](Self::map_chunk) maps chunk `chunk` rather than reading it:
    /// the array is raw, its chunks large enough and this chunk's file is there at its
    /// stored size. A task then holds only the pages of the chunk it touches (see
    /// [`BlockRead::maps_chunk`](crate::store::BlockRead::maps_chunk)). Looked up once per chunk.
    pub fn maps_chunk(&self, chunk: &[usize]) -> bool {
        if !matches!(self.mapped_size(chunk), Ok(Some(_))) {
            return false;
        }
        let mut known = self.mappable.lock().unwrap_or_else(|e| e.into_inner());
        *known.entry(chunk.to_vec()).or_insert_with(|| {
            raw_chunk::mappable(&self.chunk_file(chunk), self.dtype, &self.chunk_shape)
        })
    }

    /// The shape of chunk `chunk` inside the array when chunks of this array are mapped
    /// rather than read (raw, at least [`raw_chunk::MAP_MIN_BYTES`] stored) and it is not
    /// empty; `None` otherwise.
    fn mapped_size(&self, chunk: &[usize]) -> Result<Option<Vec<usize>>> {
        let stored = self.chunk_shape.iter().product::<usize>() * self.dtype.size();
        if !self.raw || stored < raw_chunk::MAP_MIN_BYTES {
            return Ok(None);
        }
        let (_, size) = chunk_region(&self.path, &self.shape, &self.chunk_shape, chunk)?;
        Ok((!size.contains(&0)).then_some(size))
    }

    /// The file of a chunk (of an array that is not sharded).
    fn chunk_file(&self, chunk: &[usize]) -> PathBuf {
        self.path
            .join(self.array.chunk_key(&to_u64(chunk)).as_str())
    }

    fn direct_err(&self, chunk: &[usize], e: std::io::Error) -> Error {
        store_err_from(
            &self.path,
            Some(self.chunk_key(chunk)),
            format!(
                "cannot read chunk file {}",
                self.chunk_file(chunk).display()
            ),
            e,
        )
    }

    /// Reads the region `start .. start + shape`.
    pub fn read_region(&self, start: &[usize], shape: &[usize]) -> Result<Block> {
        if start.len() != self.shape.len()
            || shape.len() != self.shape.len()
            || start
                .iter()
                .zip(shape)
                .zip(&self.shape)
                .any(|((&s, &n), &len)| s.checked_add(n).is_none_or(|e| e > len))
        {
            return Err(Error::invalid(format!(
                "region start {} shape {} is outside array {} of shape {}",
                fmt_shape(start),
                fmt_shape(shape),
                self.path.display(),
                fmt_shape(&self.shape)
            )));
        }
        self.read_subset(start, shape, || None)
    }

    /// Reads the whole array.
    pub fn read_all(&self) -> Result<Block> {
        let start = vec![0; self.shape.len()];
        self.read_subset(&start, &self.shape.clone(), || None)
    }

    /// The array's metadata document as read (`zarr.json`, or `.zarray` for Zarr v2).
    pub fn metadata(&self) -> serde_json::Value {
        serde_json::to_value(self.array.metadata()).unwrap_or_default()
    }

    /// The user attributes (for arrays brickwork wrote, including `"brickwork"`).
    pub fn attributes(&self) -> serde_json::Map<String, serde_json::Value> {
        self.array.attributes().clone()
    }

    /// True when the array carries brickwork's `"brickwork"` attribute with
    /// `"complete": false`, i.e. a brickwork write that did not finish.
    pub fn is_incomplete_write(&self) -> bool {
        self.array
            .attributes()
            .get(BRICKWORK_ATTRIBUTE)
            .and_then(|v| v.get("complete"))
            .and_then(|v| v.as_bool())
            == Some(false)
    }

    /// The chunk objects (shards of a sharded array) stored, their bytes, and how many the
    /// grid has. Walks the array's directory (a listing, not a look-up per chunk).
    ///
    /// # Errors
    /// [`Error::Io`] when the directory cannot be listed.
    pub fn stored_objects(&self) -> Result<StoredObjects> {
        let expected = self
            .array
            .chunk_grid_shape()
            .iter()
            .try_fold(1u64, |acc, &n| acc.checked_mul(n))
            .unwrap_or(u64::MAX);
        let (count, bytes) = match &self.remote {
            None => chunk_files(&self.path)?,
            Some(r) => chunk_objects(&self.path, r)?,
        };
        Ok(StoredObjects {
            count,
            bytes,
            expected,
        })
    }

    /// Reads a region, then checks the array is still the one opened: a read that failed
    /// or saw another array because the array was replaced is the replacement's error.
    fn read_subset(
        &self,
        start: &[usize],
        shape: &[usize],
        key: impl Fn() -> Option<String>,
    ) -> Result<Block> {
        let read = self.read_subset_unchecked(start, shape, key);
        self.check_generation()?;
        read
    }

    fn read_subset_unchecked(
        &self,
        start: &[usize],
        shape: &[usize],
        key: impl Fn() -> Option<String>,
    ) -> Result<Block> {
        if shape.contains(&0) {
            return Ok(Block::zeros(self.dtype, shape));
        }
        let subset = ArraySubset::new_with_start_shape(to_u64(start), to_u64(shape))
            .map_err(|e| Error::internal(format!("{}: {e}", self.path.display())))?;
        let block = dispatch_dtype!(self.dtype, T => {
            let a: ArrayD<T> = self
                .array
                .retrieve_array_subset::<ArrayD<T>>(&subset)
                .map_err(|e| {
                    store_err_from(
                        &self.path,
                        key(),
                        format!(
                            "cannot read region start {} shape {}",
                            fmt_shape(start),
                            fmt_shape(shape)
                        ),
                        e,
                    )
                })?;
            T::wrap(a)
        });
        if block.shape() != shape {
            return Err(Error::internal(format!(
                "{}: read region of shape {} returned shape {}",
                self.path.display(),
                fmt_shape(shape),
                fmt_shape(block.shape())
            )));
        }
        Ok(block)
    }
}
