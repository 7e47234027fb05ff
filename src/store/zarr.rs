//! Zarr arrays on the local filesystem, through the `zarrs` crate.

mod generation;
mod limits;
mod region;
mod resume;

pub use region::{ZarrRegion, fmt_region};
pub use resume::Resumed;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn, SliceInfoElem};
use zarrs::array::codec::array_to_bytes::sharding::SubchunkWriteOrder;
use zarrs::array::codec::{BloscCodec, BloscCompressionLevel, BloscCompressor, BloscShuffleMode};
use zarrs::array::codec::{BytesCodec, GzipCodec, ShardingCodecOptions, ZstdCodec};
use zarrs::array::data_type::{
    BoolDataType, Float32DataType, Float64DataType, Int8DataType, Int16DataType, Int32DataType,
    Int64DataType, UInt8DataType, UInt16DataType, UInt32DataType, UInt64DataType,
};
use zarrs::array::{
    Array, ArrayBuilder, ArrayMetadata, ArrayMetadataOptions, ArrayMetadataV2, ArrayShardedExt,
    ArraySubset, BytesToBytesCodecTraits, CodecSpecificOptions, DataType as ZDataType, Endianness,
    FillValue,
};
use zarrs::array::{ArrayCreateError, ArrayError, CodecError};
use zarrs::filesystem::{FilesystemStore, FilesystemStoreCreateError};

use super::nosync::NoSyncStore;
use zarrs::storage::storage_adapter::atomic_write::AtomicWriteStorageAdapter;
use zarrs::storage::{Bytes, StorageError, StoreKey, WritableStorageTraits};

use super::bounded::BoundedStore;
use super::direct;
use super::lock::WriteLock;
use super::{
    BRICKWORK_ATTRIBUTE, BloscCname, Codec, FORMAT_VERSION, ReadOptions, WriteOptions, ZarrFormat,
};
use crate::block::{Block, BlockElement, MappedBlock};
use crate::dispatch_dtype;
use crate::dtype::DType;
use crate::error::{BoxError, Error, Result};
use crate::grid::fmt_shape;

type ReadStore = BoundedStore<Arc<FilesystemStore>>;
type WriteStore = AtomicWriteStorageAdapter<NoSyncStore>;

fn store_err(path: &Path, key: Option<String>, detail: impl Into<String>) -> Error {
    Error::Store {
        path: path.to_path_buf(),
        key,
        detail: detail.into(),
        source: None,
    }
}

/// A store error caused by `source`, kept as its source (not repeated in the message).
fn store_err_from(
    path: &Path,
    key: Option<String>,
    detail: impl Into<String>,
    source: impl IntoSource,
) -> Error {
    Error::Store {
        path: path.to_path_buf(),
        key,
        detail: detail.into(),
        source: Some(source.into_source()),
    }
}

/// Errors that become the source of a store error. zarrs wraps I/O errors transparently,
/// which hides them from the chain of sources; they are unwrapped here so that
/// [`Error::io_error`] finds them.
trait IntoSource {
    fn into_source(self) -> BoxError;
}

impl IntoSource for BoxError {
    fn into_source(self) -> BoxError {
        self
    }
}

impl IntoSource for std::io::Error {
    fn into_source(self) -> BoxError {
        Box::new(self)
    }
}

impl IntoSource for serde_json::Error {
    fn into_source(self) -> BoxError {
        Box::new(self)
    }
}

impl IntoSource for StorageError {
    fn into_source(self) -> BoxError {
        match self {
            StorageError::IOError(io) => Box::new(io),
            other => Box::new(other),
        }
    }
}

impl IntoSource for CodecError {
    fn into_source(self) -> BoxError {
        match self {
            CodecError::IOError(io) => Box::new(io),
            CodecError::StorageError(s) => s.into_source(),
            other => Box::new(other),
        }
    }
}

impl IntoSource for ArrayError {
    fn into_source(self) -> BoxError {
        match self {
            ArrayError::StorageError(s) => s.into_source(),
            ArrayError::CodecError(c) => c.into_source(),
            other => Box::new(other),
        }
    }
}

impl IntoSource for ArrayCreateError {
    fn into_source(self) -> BoxError {
        match self {
            ArrayCreateError::StorageError(s) => s.into_source(),
            other => Box::new(other),
        }
    }
}

impl IntoSource for FilesystemStoreCreateError {
    fn into_source(self) -> BoxError {
        match self {
            FilesystemStoreCreateError::IOError(io) => Box::new(io),
            other => Box::new(other),
        }
    }
}

fn to_u64(v: &[usize]) -> Vec<u64> {
    v.iter().map(|&x| x as u64).collect()
}

fn to_usize(path: &Path, v: &[u64]) -> Result<Vec<usize>> {
    v.iter()
        .map(|&x| {
            usize::try_from(x)
                .map_err(|_| store_err(path, None, format!("dimension {x} does not fit in usize")))
        })
        .collect()
}

/// The brickwork dtype of a zarrs data type.
fn dtype_of(dt: &ZDataType) -> Option<DType> {
    let d = if dt.is::<BoolDataType>() {
        DType::Bool
    } else if dt.is::<Int8DataType>() {
        DType::I8
    } else if dt.is::<Int16DataType>() {
        DType::I16
    } else if dt.is::<Int32DataType>() {
        DType::I32
    } else if dt.is::<Int64DataType>() {
        DType::I64
    } else if dt.is::<UInt8DataType>() {
        DType::U8
    } else if dt.is::<UInt16DataType>() {
        DType::U16
    } else if dt.is::<UInt32DataType>() {
        DType::U32
    } else if dt.is::<UInt64DataType>() {
        DType::U64
    } else if dt.is::<Float32DataType>() {
        DType::F32
    } else if dt.is::<Float64DataType>() {
        DType::F64
    } else {
        return None;
    };
    Some(d)
}

/// The zarrs data type of a brickwork dtype.
fn zarrs_dtype(dtype: DType) -> ZDataType {
    use zarrs::array::data_type as dt;
    match dtype {
        DType::Bool => dt::bool(),
        DType::I8 => dt::int8(),
        DType::I16 => dt::int16(),
        DType::I32 => dt::int32(),
        DType::I64 => dt::int64(),
        DType::U8 => dt::uint8(),
        DType::U16 => dt::uint16(),
        DType::U32 => dt::uint32(),
        DType::U64 => dt::uint64(),
        DType::F32 => dt::float32(),
        DType::F64 => dt::float64(),
    }
}

/// Per-axis number of chunks in brickwork's convention: an axis of length 0 has one (empty)
/// chunk, like [`AxisChunks`](crate::grid::AxisChunks).
fn grid_shape(shape: &[usize], chunks: &[usize]) -> Vec<usize> {
    shape
        .iter()
        .zip(chunks)
        .map(|(&n, &c)| if n == 0 { 1 } else { n.div_ceil(c.max(1)) })
        .collect()
}

/// Start and clipped shape of chunk `chunk`, or an error naming the path if it is outside the
/// grid.
fn chunk_region(
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

// ------------------------------------------------------------------------------------------
// Reading
// ------------------------------------------------------------------------------------------

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
    shape: Vec<usize>,
    dtype: DType,
    chunk_shape: Vec<usize>,
    /// The shard (stored chunk) shape when the array is sharded.
    shard_shape: Option<Vec<usize>>,
    zarr_format: u8,
    /// Chunks are stored as raw native-endian elements and read directly
    /// ([`super::direct`]).
    raw: bool,
    /// Per chunk asked about, whether [`ZarrSource::maps_chunk`] found it mappable (the
    /// planner asks once per task and chunk; a file system look-up each time would add up).
    mappable: std::sync::Mutex<std::collections::HashMap<Vec<usize>, bool>>,
    /// The generation of the array opened, checked after every read.
    generation: generation::Generation,
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
fn check_array_path(path: &Path) -> Result<(u8, &'static str)> {
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

/// " (open one of its members: a, b)" for a group directory.
/// The chunk objects of the array in `dir`: every file under it that is not metadata, not a
/// temporary file of the atomic write protocol, and not inside a nested array.
fn chunk_files(dir: &Path) -> Result<(u64, u64)> {
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
fn is_metadata_key(name: &str) -> bool {
    matches!(
        name,
        "zarr.json" | ".zarray" | ".zattrs" | ".zgroup" | ".zmetadata"
    )
}

fn children_hint(path: &Path) -> String {
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
fn regular_chunk_shape<S: ?Sized>(path: &Path, array: &Array<S>) -> Result<Vec<usize>> {
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
    /// [`Error::IncompleteArray`]; [`ZarrSource::open_with`] with
    /// [`ReadOptions::allow_incomplete`] opens it anyway.
    pub fn open(path: &Path) -> Result<ZarrSource> {
        Self::open_with(path, &ReadOptions::default())
    }

    /// [`ZarrSource::open`] with options.
    ///
    /// # Errors
    /// As [`ZarrSource::open`].
    pub fn open_with(path: &Path, options: &ReadOptions) -> Result<ZarrSource> {
        let source = Self::open_any(path)?;
        if !options.allow_incomplete && source.is_incomplete_write() {
            let stored = source.stored_objects()?;
            return Err(Error::IncompleteArray {
                path: path.to_path_buf(),
                missing: stored.expected.saturating_sub(stored.count),
                total: stored.expected,
            });
        }
        Ok(source)
    }

    /// Opens the array whatever its write state.
    fn open_any(path: &Path) -> Result<ZarrSource> {
        let (zarr_format, meta_key) = check_array_path(path)?;
        // Before the metadata is read: a change between the two shows at the first check.
        let seen = generation::Generation::look(path, zarr_format);
        let store =
            FilesystemStore::new(path).map_err(|e| store_err_from(path, None, "cannot open", e))?;
        let array = Array::open(Arc::new(store), "/")
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
        let array = limits::bounded(path, meta_key, &array, &layout)?;
        let raw = !direct::reads_disabled() && direct::is_raw(array.metadata(), dtype, shape.len());
        let attributes = serde_json::Value::Object(array.attributes().clone());
        let generation = seen.with_write_id(write_id_of(&attributes).map(str::to_owned));
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
        })
    }

    /// The directory of the array.
    pub fn path(&self) -> &Path {
        &self.path
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
            let read = direct::read(&file, self.dtype, &self.chunk_shape, &size)
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
    /// mapping to pay (see `store::direct`); `None` to read it with
    /// [`read_chunk`](Self::read_chunk) instead.
    pub fn map_chunk(&self, chunk: &[usize]) -> Result<Option<MappedBlock>> {
        let Some(size) = self.mapped_size(chunk)? else {
            return Ok(None);
        };
        let mapped = direct::map(
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
    /// [`BlockRead::maps_chunk`](super::BlockRead::maps_chunk)). Looked up once per chunk.
    pub fn maps_chunk(&self, chunk: &[usize]) -> bool {
        if !matches!(self.mapped_size(chunk), Ok(Some(_))) {
            return false;
        }
        let mut known = self.mappable.lock().unwrap_or_else(|e| e.into_inner());
        *known.entry(chunk.to_vec()).or_insert_with(|| {
            direct::mappable(&self.chunk_file(chunk), self.dtype, &self.chunk_shape)
        })
    }

    /// The shape of chunk `chunk` inside the array when chunks of this array are mapped
    /// rather than read (raw, at least [`direct::MAP_MIN_BYTES`] stored) and it is not
    /// empty; `None` otherwise.
    fn mapped_size(&self, chunk: &[usize]) -> Result<Option<Vec<usize>>> {
        let stored = self.chunk_shape.iter().product::<usize>() * self.dtype.size();
        if !self.raw || stored < direct::MAP_MIN_BYTES {
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
        let (count, bytes) = chunk_files(&self.path)?;
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

// ------------------------------------------------------------------------------------------
// Writing
// ------------------------------------------------------------------------------------------

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
pub struct ZarrSink {
    path: PathBuf,
    store: Arc<WriteStore>,
    /// The store under `store`'s atomic-write adapter, for raw chunk writes.
    files: Arc<NoSyncStore>,
    /// Chunks are stored as their raw elements (no compression, native byte order, not
    /// sharded): full chunks are written from the block's memory without zarrs.
    raw: bool,
    array: Array<WriteStore>,
    shape: Vec<usize>,
    chunks: Vec<usize>,
    shards: Option<Vec<usize>>,
    dtype: DType,
    format: ZarrFormat,
    /// The attributes as written (v2 rewrites `.zattrs` from them in `finish`).
    attributes: serde_json::Map<String, serde_json::Value>,
    /// The fingerprint of the computation written, kept in the `brickwork` attribute.
    fingerprint: Option<String>,
    /// The id of the write that created this generation of the array, kept in the
    /// `brickwork` attribute and checked by [`ZarrSink::finish`]; `None` for an array of an
    /// older brickwork being resumed, and for [`ZarrSink::attach`].
    write_id: Option<String>,
    /// The array's write lock (`store/lock.rs`); `None` for [`ZarrSink::attach`], whose
    /// creator holds it.
    lock: Option<Arc<WriteLock>>,
}

impl std::fmt::Debug for ZarrSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZarrSink")
            .field("path", &self.path)
            .field("shape", &self.shape)
            .field("chunks", &self.chunks)
            .field("shards", &self.shards)
            .field("dtype", &self.dtype)
            .field("zarr_format", &self.format)
            .finish()
    }
}

/// The `brickwork` attribute: format version, write state, the fingerprint of the
/// computation being written when there is one, and the id of the write that created the
/// array (store-format/README.md, section 6).
fn brickwork_attribute(
    complete: bool,
    fingerprint: Option<&str>,
    write_id: Option<&str>,
) -> serde_json::Value {
    let mut attr = serde_json::json!({ "format_version": FORMAT_VERSION, "complete": complete });
    if let Some(f) = fingerprint {
        attr[FINGERPRINT_KEY] = f.into();
    }
    if let Some(id) = write_id {
        attr[WRITE_ID_KEY] = id.into();
    }
    attr
}

/// The key of the computation's fingerprint in the `brickwork` attribute.
const FINGERPRINT_KEY: &str = "fingerprint";

/// The key of the write id in the `brickwork` attribute.
const WRITE_ID_KEY: &str = "write_id";

/// A new write id: 128 bits from the process's randomly seeded hasher, the time and a
/// counter, as 32 hex digits. Unique per write, not secret.
fn new_write_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u64(count ^ salt);
        h.write_u32(std::process::id());
        h.finish()
    };
    format!("{:016x}{:016x}", half(0), half(1))
}

/// The write id in the `brickwork` attribute of `attributes`, if any.
fn write_id_of(attributes: &serde_json::Value) -> Option<&str> {
    attributes
        .get(BRICKWORK_ATTRIBUTE)?
        .get(WRITE_ID_KEY)?
        .as_str()
}

fn metadata_options() -> ArrayMetadataOptions {
    ArrayMetadataOptions::default().with_include_zarrs_metadata(false)
}

/// The shard shape (when sharded) and the compressor codecs of an array being written.
type Layout = (Option<Vec<usize>>, Vec<Arc<dyn BytesToBytesCodecTraits>>);

/// The attributes of an array being written: the user's, and the `brickwork` attribute.
fn sink_attributes(
    opts: &WriteOptions,
    complete: bool,
    fingerprint: Option<&str>,
    write_id: Option<&str>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut attributes = opts.attributes.clone();
    attributes.insert(
        BRICKWORK_ATTRIBUTE.into(),
        brickwork_attribute(complete, fingerprint, write_id),
    );
    attributes
}

/// Removes an existing Zarr node (or empty directory) at `path` for `overwrite`; refuses
/// anything that does not look like Zarr data. The metadata goes first, so that a reader
/// still reading the old array sees it gone (or replaced) at its next check of the array's
/// generation, after any chunk it read was removed (see `ZarrSource::check_generation`).
fn remove_existing(path: &Path) -> Result<()> {
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

fn bytes_to_bytes(
    path: &Path,
    codec: Codec,
    dtype: DType,
) -> Result<Vec<Arc<dyn BytesToBytesCodecTraits>>> {
    codec.validate()?;
    let err = |e: String| store_err(path, None, format!("codec {codec}: {e}"));
    Ok(match codec {
        Codec::None => vec![],
        Codec::Zstd { level } => vec![Arc::new(ZstdCodec::new(level, false))],
        Codec::Gzip { level } => {
            vec![Arc::new(
                GzipCodec::new(level).map_err(|e| err(e.to_string()))?,
            )]
        }
        Codec::Blosc { cname, level } => {
            let cname = match cname {
                BloscCname::Lz4 => BloscCompressor::LZ4,
                BloscCname::Zstd => BloscCompressor::Zstd,
            };
            let clevel = BloscCompressionLevel::try_from(level).map_err(|e| err(e.to_string()))?;
            vec![Arc::new(
                BloscCodec::new(
                    cname,
                    clevel,
                    None,
                    BloscShuffleMode::Shuffle,
                    Some(dtype.size()),
                )
                .map_err(|e| err(e.to_string()))?,
            )]
        }
    })
}

/// The fill value (zero of the dtype) as JSON: `false`, `0` or `0.0`.
fn fill_json(dtype: DType) -> serde_json::Value {
    match dtype {
        DType::Bool => serde_json::Value::Bool(false),
        DType::F32 | DType::F64 => serde_json::json!(0.0),
        DType::I8
        | DType::I16
        | DType::I32
        | DType::I64
        | DType::U8
        | DType::U16
        | DType::U32
        | DType::U64 => serde_json::json!(0),
    }
}

/// The Zarr v2 `compressor` of `codec`, as numcodecs (and so zarr-python) writes it.
fn v2_compressor(codec: Codec) -> Result<serde_json::Value> {
    codec.validate()?;
    Ok(match codec {
        Codec::None => serde_json::Value::Null,
        Codec::Zstd { level } => serde_json::json!({ "id": "zstd", "level": level }),
        Codec::Gzip { level } => serde_json::json!({ "id": "gzip", "level": level }),
        Codec::Blosc { cname, level } => serde_json::json!({
            "id": "blosc", "cname": cname.name(), "clevel": level, "shuffle": 1, "blocksize": 0
        }),
    })
}

/// The `.zarray` document of a Zarr v2 array (store-format/README.md, section 8).
fn v2_zarray(
    shape: &[usize],
    chunks: &[usize],
    dtype: DType,
    codec: Codec,
) -> Result<serde_json::Value> {
    Ok(serde_json::json!({
        "zarr_format": 2,
        "shape": shape,
        "chunks": chunks,
        "dtype": dtype.numpy_descr(),
        "fill_value": fill_json(dtype),
        "order": "C",
        "filters": null,
        "dimension_separator": ".",
        "compressor": v2_compressor(codec)?,
    }))
}

/// Writes a JSON document atomically (`<key>.tmp`, then rename), pretty-printed as
/// zarr-python writes metadata.
fn put_json(path: &Path, store: &WriteStore, key: &str, value: &serde_json::Value) -> Result<()> {
    let err = |detail: String| store_err(path, Some(key.into()), detail);
    let store_key = StoreKey::new(key).map_err(|e| err(e.to_string()))?;
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| err(e.to_string()))?;
    store
        .set(&store_key, Bytes::from(bytes))
        .map_err(|e| store_err_from(path, Some(key.into()), "cannot write metadata", e))
}

impl ZarrSink {
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
    ) -> Result<ZarrSink> {
        Self::create_for(path, shape, dtype, chunks, opts, None)
    }

    /// [`ZarrSink::create`] for the computation with `fingerprint` (see
    /// [`crate::expr::fingerprint`]), kept in the `brickwork` attribute so that a resumed
    /// write can tell it is resuming the same computation.
    ///
    /// # Errors
    /// As [`ZarrSink::create`].
    pub fn create_for(
        path: &Path,
        shape: &[usize],
        dtype: DType,
        chunks: &[usize],
        opts: &WriteOptions,
        fingerprint: Option<&str>,
    ) -> Result<ZarrSink> {
        let layout = Self::check_layout(path, shape, dtype, chunks, opts)?;
        Self::create_checked(path, shape, dtype, chunks, opts, layout, fingerprint)
    }

    /// Checks the chunk shape and the options against the array; returns the shard shape
    /// (when sharded) and the compressor codecs.
    fn check_layout(
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

    /// Creates the array directory and its metadata (see [`ZarrSink::create_for`]).
    fn create_checked(
        path: &Path,
        shape: &[usize],
        dtype: DType,
        chunks: &[usize],
        opts: &WriteOptions,
        layout: Layout,
        fingerprint: Option<&str>,
    ) -> Result<ZarrSink> {
        let (shards, codecs) = layout;
        // Before looking: the path is this write's from now on (`--overwrite` included).
        let lock = WriteLock::acquire(path)?;
        if path.exists() || path.is_symlink() {
            if !opts.overwrite {
                return Err(exists_error(path));
            }
            remove_existing(path)?;
        }
        std::fs::create_dir_all(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let fs =
            FilesystemStore::new(path).map_err(|e| store_err_from(path, None, "cannot open", e))?;
        let files = Arc::new(NoSyncStore::new(path.to_path_buf(), fs, opts.direct_io));
        let store = Arc::new(AtomicWriteStorageAdapter::new(files.clone()));

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
        let raw = shards.is_none() && direct::is_raw(array.metadata(), dtype, shape.len());
        Ok(ZarrSink {
            path: path.to_path_buf(),
            store,
            files,
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

    /// The v3 array as [`ZarrSink::create_v3`] writes it, its metadata not stored.
    #[allow(clippy::too_many_arguments)]
    fn build_v3(
        path: &Path,
        store: &Arc<WriteStore>,
        shape: &[usize],
        dtype: DType,
        chunks: &[usize],
        shards: Option<&[usize]>,
        codecs: Vec<Arc<dyn BytesToBytesCodecTraits>>,
        attributes: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Array<WriteStore>> {
        let fill: FillValue = dispatch_dtype!(dtype, T => FillValue::from(T::default()));
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

    /// The v2 array as [`ZarrSink::create_v2`] writes it and its `.zarray` document, not
    /// stored.
    fn build_v2(
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
                return self.write_raw(&idx, key, direct::as_bytes(elements));
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

    /// Writes the raw bytes of a full chunk (see [`ZarrSink::raw`]), as zarrs would encode
    /// it: not stored when it is all fill value.
    fn write_raw(&self, idx: &[u64], key: String, bytes: &[u8]) -> Result<()> {
        let result = if self.array.fill_value().equals_all(bytes) {
            self.array.erase_chunk(idx).map_err(IntoSource::into_source)
        } else {
            self.files
                .set_atomic(&key, bytes)
                .map_err(IntoSource::into_source)
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
fn exists_error(path: &Path) -> Error {
    let interrupted = ZarrSource::open_any(path).is_ok_and(|s| s.is_incomplete_write());
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

impl ZarrSink {
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
        let there = std::fs::read(self.path.join(key))
            .ok()
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

#[cfg(test)]
mod assert_traits {
    fn send_sync<T: Send + Sync>() {}
    #[test]
    fn source_and_sink_are_send_sync() {
        send_sync::<super::ZarrSource>();
        send_sync::<super::ZarrSink>();
    }
}

#[cfg(test)]
mod error_sources {
    use std::io::ErrorKind;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn io_errors_inside_zarrs_errors_are_the_source() {
        let io = || Arc::new(std::io::Error::from(ErrorKind::StorageFull));
        let wrapped: Vec<Box<dyn Fn() -> BoxError>> = vec![
            Box::new(|| ArrayError::StorageError(StorageError::IOError(io())).into_source()),
            Box::new(|| ArrayError::CodecError(CodecError::IOError(io())).into_source()),
            Box::new(|| ArrayCreateError::StorageError(StorageError::IOError(io())).into_source()),
        ];
        for make in wrapped {
            let err = store_err_from(
                Path::new("a.zarr"),
                Some("c/0".into()),
                "cannot write",
                make(),
            );
            assert_eq!(
                err.to_string(),
                r#"zarr store a.zarr, key "c/0": cannot write"#
            );
            assert_eq!(
                err.io_error().map(std::io::Error::kind),
                Some(ErrorKind::StorageFull)
            );
        }
        let other = ArrayError::InvalidChunkGridIndicesError(vec![9]);
        let err = store_err_from(Path::new("a.zarr"), None, "cannot read", other);
        assert!(err.io_error().is_none());
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert!(source.is_some_and(|s| s.contains("invalid chunk grid indices")));
    }
}
