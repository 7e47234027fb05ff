//! Stores: where blocks come from and go to.
//!
//! brickwork reads Zarr arrays (format 3 and 2, as written by zarr-python and others) with
//! [`ZarrSource`] and writes Zarr arrays (format 3, sharded or not, and format 2) chunk by
//! chunk with [`ZarrWriter`]. What brickwork writes is specified in `store-format/README.md`
//! ("brickwork-store 1").
//!
//! A store is a local directory or, with the `cloud` feature, an object store or web server
//! named by a URL (`s3://`, `gs://`, `az://`, `http(s)://`; see [`Location`]); the
//! functions here take both as a `Path`. Local stores keep their file-system fast paths
//! (memory-mapped and direct reads, `O_DIRECT` writes, lock files); object stores are
//! reached through `object_store` on one runtime inside this layer (`remote.rs`), behind
//! the same synchronous traits.
//!
//! The `zarrs` crate does the encoding and decoding; none of its types appear in this API.

mod bounded;
#[cfg(target_os = "linux")]
mod dio;
mod location;
mod lock;
mod nosync;
mod raw_chunk;
#[cfg_attr(not(feature = "cloud"), path = "remote_off.rs")]
mod remote;
mod requests;
mod sink;
pub mod temp;
mod zarr;

pub use location::{Location, Scheme, StorageOptions, StoreUrl, is_remote};
pub use lock::remove_stale_locks;
pub use raw_chunk::map_fault_bytes;
pub use remote::request_counts;
pub use requests::RequestCounts;
pub use sink::{CollectSink, Sink, ZarrRegionSink, ZarrWriteSink};
pub(crate) use zarr::planned_chunk_bytes;
pub use zarr::{Resumed, StoredObjects, ZarrRegion, ZarrSource, ZarrWriter, fmt_region};

use std::path::Path;

use crate::block::{Block, MappedBlock};
use crate::dtype::DType;

/// Whether the environment variable `name` is set to something other than empty or `0`
/// (the switches `BRICKWORK_NO_MMAP` and `BRICKWORK_NO_DIRECT_IO`).
fn env_flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Something an array can be read from chunk by chunk: a Zarr array, a memory-mapped
/// `.npy` or raw file. The plan reads one task per chunk of [`BlockRead::chunk_shape`].
pub trait BlockRead: Send + Sync + std::fmt::Debug {
    /// Where the data lives (for messages and for refusing to overwrite an input).
    fn path(&self) -> &Path;
    /// The array shape.
    fn shape(&self) -> &[usize];
    /// The element type.
    fn dtype(&self) -> DType;
    /// The natural read-chunk shape (regular grid, ragged at the end).
    fn chunk_shape(&self) -> &[usize];
    /// Reads chunk `chunk` of the regular grid of [`BlockRead::chunk_shape`], clipped to the
    /// array bounds, in standard layout.
    ///
    /// # Errors
    /// I/O or decoding errors naming the path (and chunk key where there is one).
    fn read_chunk(&self, chunk: &[usize]) -> Result<Block>;
    /// Maps chunk `chunk` into memory instead of reading it, where the store allows it
    /// (an uncompressed chunk file of a filesystem store); `None` to read it with
    /// [`BlockRead::read_chunk`] instead. The default never maps.
    ///
    /// # Errors
    /// As [`BlockRead::read_chunk`].
    fn map_chunk(&self, _chunk: &[usize]) -> Result<Option<MappedBlock>> {
        Ok(None)
    }
    /// True when [`BlockRead::map_chunk`] maps chunk `chunk` (asked while planning, before
    /// anything is read): a task reading a mapped chunk holds only the pages it touches, in
    /// units of what one fault maps ([`map_fault_bytes`]), and decodes nothing, which is
    /// what the planner then counts. The default, `false`,
    /// counts the whole chunk and its decoding.
    fn maps_chunk(&self, _chunk: &[usize]) -> bool {
        false
    }
    /// Bytes one read of a chunk decodes when that can be more than the block it returns
    /// (a Zarr chunk is decoded whole, at its stored shape, however little of it lies inside
    /// the array; a sharded read also decodes the shard index); the planner counts the
    /// larger of the two. The default, 0, says a read decodes no more than its block.
    fn decoded_chunk_bytes(&self) -> u64 {
        0
    }
    /// A text that identifies the version of the data read: the same for two openings of
    /// unchanged data, in any process; `None` when it cannot be told. A two-pass write
    /// records its sources' generations with its intermediate store, and a resumed write
    /// reuses that store only when they are unchanged. The default is the identity of the
    /// file at [`BlockRead::path`] (device, inode, size, modification time).
    fn generation(&self) -> Option<String> {
        file_identity(self.path())
    }
    /// True when chunks are fetched from an object store or web server, one request each
    /// (the threads scheduler runs such reads beside the computing tasks, and counts
    /// [`REQUEST_BYTES`] for each). Default `false`.
    fn is_remote(&self) -> bool {
        false
    }
}

/// What one request to an object store in flight holds besides its chunk's bytes (which
/// its task reserves): the connection's HTTP buffers, and the allocator's and the stack's
/// pages of the worker thread waiting on it. Measured on `x + x.T` written from S3 to S3
/// under 256 MiB: about 40 MB of resident memory beyond the reservations with 25 requests
/// in flight, against none with one. Each read and write of an object store counts it.
pub const REQUEST_BYTES: u64 = 2 << 20;

/// The identity of the file at `path` (device, inode, size, modification time) as text;
/// `None` when it cannot be looked at.
pub(crate) fn file_identity(path: &Path) -> Option<String> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let (dev, ino) = {
        use std::os::unix::fs::MetadataExt;
        (m.dev(), m.ino())
    };
    #[cfg(not(unix))]
    let (dev, ino) = (0, 0);
    let modified = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Some(format!("file {dev}:{ino}:{}:{modified}", m.len()))
}

impl BlockRead for ZarrSource {
    fn path(&self) -> &Path {
        ZarrSource::path(self)
    }
    fn shape(&self) -> &[usize] {
        ZarrSource::shape(self)
    }
    fn dtype(&self) -> DType {
        ZarrSource::dtype(self)
    }
    fn chunk_shape(&self) -> &[usize] {
        ZarrSource::chunk_shape(self)
    }
    fn read_chunk(&self, chunk: &[usize]) -> Result<Block> {
        ZarrSource::read_chunk(self, chunk)
    }
    fn map_chunk(&self, chunk: &[usize]) -> Result<Option<MappedBlock>> {
        ZarrSource::map_chunk(self, chunk)
    }
    fn maps_chunk(&self, chunk: &[usize]) -> bool {
        ZarrSource::maps_chunk(self, chunk)
    }
    fn decoded_chunk_bytes(&self) -> u64 {
        ZarrSource::decoded_chunk_bytes(self)
    }
    fn generation(&self) -> Option<String> {
        ZarrSource::generation(self)
    }
    fn is_remote(&self) -> bool {
        ZarrSource::is_remote(self)
    }
}

use crate::error::{Error, Result};

/// How Zarr arrays are opened for reading.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Read an array that brickwork marked incomplete (a write that was interrupted or is
    /// still running): its missing chunks read as the fill value. Default `false`: opening
    /// such an array is an [`Error::IncompleteArray`], because its values would silently be
    /// wrong. CLI: `--allow-incomplete`.
    pub allow_incomplete: bool,
    /// Options of the object store when the path is a URL (credentials, region, endpoint,
    /// timeouts; see [`StorageOptions`]); they override the cloud's environment variables.
    /// Default: none. CLI: `--storage-option key=value`.
    pub storage: StorageOptions,
}

/// The version of the on-disk protocol brickwork writes (`store-format/README.md`), stored in
/// the `brickwork` attribute of every array it writes.
pub const FORMAT_VERSION: u64 = 1;

/// The attribute key under which brickwork records its write state.
pub const BRICKWORK_ATTRIBUTE: &str = "brickwork";

/// The compressor Blosc uses inside a `blosc` codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BloscCname {
    /// LZ4: fast.
    #[default]
    Lz4,
    /// Zstandard: smaller.
    Zstd,
}

impl BloscCname {
    /// The name in the codec configuration (`"lz4"`, `"zstd"`).
    pub const fn name(self) -> &'static str {
        match self {
            BloscCname::Lz4 => "lz4",
            BloscCname::Zstd => "zstd",
        }
    }
}

/// Compression of chunks brickwork writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// No compression (only the `bytes` codec).
    None,
    /// Zstandard (`zstd` codec, no checksum). Levels -131072..=22; default 3.
    Zstd {
        /// Compression level.
        level: i32,
    },
    /// gzip (`gzip` codec). Levels 0..=9; default 5 (zarr-python's default).
    Gzip {
        /// Compression level.
        level: u32,
    },
    /// Blosc (`blosc` codec) with byte shuffle and `typesize` = the dtype's size. Levels 0..=9;
    /// default 5.
    Blosc {
        /// The compressor inside Blosc.
        cname: BloscCname,
        /// Compression level.
        level: u8,
    },
}

impl Default for Codec {
    fn default() -> Self {
        Codec::Zstd {
            level: Self::DEFAULT_ZSTD_LEVEL,
        }
    }
}

impl Codec {
    /// Default zstd level.
    pub const DEFAULT_ZSTD_LEVEL: i32 = 3;
    /// Default gzip level.
    pub const DEFAULT_GZIP_LEVEL: u32 = 5;
    /// Default blosc level.
    pub const DEFAULT_BLOSC_LEVEL: u8 = 5;

    /// Parses a codec spec: `none`, `zstd`, `zstd:5`, `gzip`, `gzip:6`, `blosc` (lz4, level 5),
    /// `blosc:lz4`, `blosc:zstd`, `blosc:zstd:5`, `blosc:5` (lz4, level 5). Case-insensitive.
    pub fn parse(s: &str) -> Result<Codec> {
        let spec = s.trim().to_ascii_lowercase();
        let parts: Vec<&str> = spec.split(':').map(str::trim).collect();
        let bad = |why: &str| {
            Error::invalid(format!(
                "codec {s:?}: {why} (expected none, zstd[:LEVEL], gzip[:LEVEL], blosc[:lz4|zstd][:LEVEL])"
            ))
        };
        let codec = match parts.as_slice() {
            ["none" | "raw" | "uncompressed"] => Codec::None,
            ["zstd"] => Codec::default(),
            ["zstd", level] => {
                let level: i32 = level
                    .parse()
                    .map_err(|_| bad("the zstd level must be an integer"))?;
                Codec::Zstd { level }
            }
            ["gzip" | "gz"] => Codec::Gzip {
                level: Self::DEFAULT_GZIP_LEVEL,
            },
            ["gzip" | "gz", level] => {
                let level: u32 = level
                    .parse()
                    .map_err(|_| bad("the gzip level must be an integer 0..=9"))?;
                Codec::Gzip { level }
            }
            ["blosc"] => Codec::Blosc {
                cname: BloscCname::Lz4,
                level: Self::DEFAULT_BLOSC_LEVEL,
            },
            ["blosc", x] => match parse_cname(x) {
                Some(cname) => Codec::Blosc {
                    cname,
                    level: Self::DEFAULT_BLOSC_LEVEL,
                },
                None => Codec::Blosc {
                    cname: BloscCname::Lz4,
                    level: x.parse().map_err(|_| {
                        bad("the blosc compressor must be lz4 or zstd, the level an integer 0..=9")
                    })?,
                },
            },
            ["blosc", cname, level] => Codec::Blosc {
                cname: parse_cname(cname)
                    .ok_or_else(|| bad("the blosc compressor must be lz4 or zstd"))?,
                level: level
                    .parse()
                    .map_err(|_| bad("the blosc level must be an integer 0..=9"))?,
            },
            _ => return Err(bad("unknown codec")),
        };
        codec.validate()?;
        Ok(codec)
    }

    /// Checks that the level is in range for the codec.
    pub fn validate(self) -> Result<()> {
        match self {
            Codec::None => Ok(()),
            Codec::Zstd { level } if !(-131_072..=22).contains(&level) => Err(Error::invalid(
                format!("zstd level {level} is out of range -131072..=22"),
            )),
            Codec::Gzip { level } if level > 9 => Err(Error::invalid(format!(
                "gzip level {level} is out of range 0..=9"
            ))),
            Codec::Blosc { level, .. } if level > 9 => Err(Error::invalid(format!(
                "blosc level {level} is out of range 0..=9"
            ))),
            Codec::Zstd { .. } | Codec::Gzip { .. } | Codec::Blosc { .. } => Ok(()),
        }
    }
}

impl std::fmt::Display for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Codec::None => f.write_str("none"),
            Codec::Zstd { level } => write!(f, "zstd:{level}"),
            Codec::Gzip { level } => write!(f, "gzip:{level}"),
            Codec::Blosc { cname, level } => write!(f, "blosc:{}:{level}", cname.name()),
        }
    }
}

impl std::str::FromStr for Codec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Codec> {
        Codec::parse(s)
    }
}

fn parse_cname(s: &str) -> Option<BloscCname> {
    match s {
        "lz4" => Some(BloscCname::Lz4),
        "zstd" => Some(BloscCname::Zstd),
        _ => None,
    }
}

/// The Zarr format of an array brickwork writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ZarrFormat {
    /// Zarr v2: `.zarray` + `.zattrs`, chunk keys `i.j` (zarr-python's v2 layout). No
    /// sharding.
    V2,
    /// Zarr v3: `zarr.json`, chunk keys `c/i/j`. The default.
    #[default]
    V3,
}

impl ZarrFormat {
    /// The format from its number, 2 or 3.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for any other number.
    pub fn from_number(n: u64) -> Result<ZarrFormat> {
        match n {
            2 => Ok(ZarrFormat::V2),
            3 => Ok(ZarrFormat::V3),
            _ => Err(Error::invalid(format!(
                "Zarr format {n} is not one brickwork writes (2 or 3)"
            ))),
        }
    }

    /// 2 or 3.
    pub const fn number(self) -> u8 {
        match self {
            ZarrFormat::V2 => 2,
            ZarrFormat::V3 => 3,
        }
    }
}

impl std::fmt::Display for ZarrFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.number())
    }
}

/// Options for writing a new Zarr array.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// The chunk shape to write; `None` lets the caller decide (e.g. keep the source's chunks).
    /// [`ZarrWriter::create`] itself takes the chunk shape as an argument. With
    /// [`shards`](Self::shards), this is the inner chunk shape: the unit of reading.
    pub chunks: Option<Vec<usize>>,
    /// Compression of the chunks (of the inner chunks of a sharded array).
    pub codec: Codec,
    /// Replace an existing array at the path (it is deleted first).
    pub overwrite: bool,
    /// User attributes stored in `zarr.json` (`.zattrs` for v2; the key `"brickwork"` is
    /// reserved and replaced).
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Shard shape: store the array with the Zarr v3 `sharding_indexed` codec, one object
    /// per shard holding the inner chunks of the chunk shape. Each shard size must be a
    /// positive multiple of the chunk size on its axis. Writes then go shard by shard
    /// ([`WriteOptions::write_shape`]). Default `None`: not sharded. Not with
    /// [`ZarrFormat::V2`].
    pub shards: Option<Vec<usize>>,
    /// The Zarr format to write. Default [`ZarrFormat::V3`].
    pub zarr_format: ZarrFormat,
    /// Write chunk (shard) objects of 1 MiB and more with direct I/O (`O_DIRECT`, Linux
    /// only), bypassing the page cache. Default `true`: a large output then costs no page
    /// cache (it neither evicts the inputs from the cache nor waits for fresh cache pages,
    /// which is what made writes slow on virtual machines), at the price of reading it
    /// back from the device rather than from memory. Filesystems without direct I/O, such as
    /// tmpfs, are written through the page cache; so is everything when the environment
    /// variable `BRICKWORK_NO_DIRECT_IO=1` is set. Intermediate stores that brickwork reads
    /// back at once (rechunk) are always written through the page cache.
    pub direct_io: bool,
    /// Resume an interrupted write to the same path instead of refusing it: chunks already
    /// written (and valid) are kept and only the others are computed, so the result is
    /// byte-identical to an uninterrupted write. The array there must be the one this
    /// write creates (same shape, dtype, chunks, shards, codec, format) for the same
    /// computation (see [`crate::expr::fingerprint`]); when nothing is there, it is
    /// created. An array already marked complete is left as it is. Default `false`. CLI:
    /// `--resume`.
    pub resume: bool,
    /// Options of the object store when the path is a URL (see [`StorageOptions`]).
    /// Default: none. CLI: `--storage-option key=value`.
    pub storage: StorageOptions,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            chunks: None,
            codec: Codec::default(),
            overwrite: false,
            attributes: serde_json::Map::new(),
            shards: None,
            zarr_format: ZarrFormat::default(),
            direct_io: true,
            resume: false,
            storage: StorageOptions::default(),
        }
    }
}

impl WriteOptions {
    /// The shape of the blocks a [`ZarrWriter`] created with these options and chunk shape
    /// `chunks` takes in [`ZarrWriter::write_chunk`]: the shard shape when sharded (a shard is
    /// encoded whole), else `chunks`. The writer's grid is the regular grid of this shape.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the options do not fit `chunks`: shards with Zarr v2,
    /// a shard shape of another rank, or a shard size that is not a positive multiple of the
    /// chunk size (the message names both shapes).
    pub fn write_shape(&self, chunks: &[usize]) -> Result<Vec<usize>> {
        let Some(shards) = &self.shards else {
            return Ok(chunks.to_vec());
        };
        if self.zarr_format == ZarrFormat::V2 {
            return Err(Error::invalid(format!(
                "shards {} with Zarr format 2: sharding exists only in Zarr format 3",
                crate::grid::fmt_shape(shards)
            )));
        }
        if shards.len() != chunks.len() {
            return Err(Error::invalid(format!(
                "shard shape {} has {} dimension(s) but chunk shape {} has {}",
                crate::grid::fmt_shape(shards),
                shards.len(),
                crate::grid::fmt_shape(chunks),
                chunks.len()
            )));
        }
        let multiple = shards
            .iter()
            .zip(chunks)
            .all(|(&s, &c)| c > 0 && s > 0 && s % c == 0);
        if !multiple {
            return Err(Error::invalid(format!(
                "shard shape {} is not a multiple of chunk shape {} in every dimension",
                crate::grid::fmt_shape(shards),
                crate::grid::fmt_shape(chunks)
            )));
        }
        Ok(shards.clone())
    }
}

#[cfg(test)]
mod tests;
