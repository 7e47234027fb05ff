//! Raw binary files: elements back to back in C order, no header.
//!
//! A raw file says nothing about itself, so the caller gives the dtype, the shape and the
//! byte order; the shape is checked against the file size, which catches most mistakes
//! (a wrong dtype or a wrong dimension). [`RawFile`] reads one as a memory-mapped chunked
//! source (see the [module docs](crate::io#memory-mapping) for the contract); [`RawWriter`]
//! writes one block by block, little-endian unless told otherwise.

use std::path::Path;

use crate::block::Block;
use crate::dtype::DType;
use crate::error::Result;
use crate::grid::{ChunkGrid, Region, fmt_shape};
use crate::store::BlockRead;
use crate::store::Sink;

use super::{BlockFileWriter, ByteOrder, MappedArray, MappedLayout, map_file};

/// A raw binary file opened as a chunked, memory-mapped array source.
#[derive(Debug)]
pub struct RawFile {
    array: MappedArray,
}

impl RawFile {
    /// Opens and maps `path` as a C-order array of `shape` and `dtype` in `byte_order`.
    ///
    /// `chunks` is the read-chunk shape; `None` picks chunks of about 64 MiB cut along the
    /// first axis ([`default_chunks`](super::default_chunks)).
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) when the file cannot be opened or mapped;
    /// [`Error::Format`](crate::Error::Format) when its size is not that of `shape` elements
    /// of `dtype` (the message names the file size, the shape, the dtype and the expected
    /// size); [`Error::InvalidArgument`](crate::Error::InvalidArgument) when `chunks` does
    /// not fit the shape.
    pub fn open(
        path: &Path,
        dtype: DType,
        shape: &[usize],
        byte_order: ByteOrder,
        chunks: Option<&[usize]>,
    ) -> Result<RawFile> {
        let (map, file_len) = map_file(path)?;
        let describe = format!(
            "shape {} of dtype {dtype} ({} bytes per element)",
            fmt_shape(shape),
            dtype.size()
        );
        let layout = MappedLayout {
            offset: 0,
            shape: shape.to_vec(),
            dtype,
            order: byte_order,
            fortran_order: false,
            chunks,
            band_bytes: super::DEFAULT_CHUNK_BYTES,
        };
        let array = MappedArray::new(path, map, file_len, layout, &describe)?;
        Ok(RawFile { array })
    }

    /// The byte order of the data.
    pub fn byte_order(&self) -> ByteOrder {
        self.array.order
    }
}

impl BlockRead for RawFile {
    fn path(&self) -> &Path {
        &self.array.path
    }
    fn shape(&self) -> &[usize] {
        &self.array.shape
    }
    fn dtype(&self) -> DType {
        self.array.dtype
    }
    fn chunk_shape(&self) -> &[usize] {
        &self.array.chunks
    }
    fn read_chunk(&self, chunk: &[usize]) -> Result<Block> {
        self.array.read_chunk(chunk)
    }
}

/// Writes a raw binary file block by block, as a [`Sink`] for [`crate::Array::compute_into`].
///
/// Works like [`NpyWriter`](super::npy::NpyWriter) without the header: told the chunk grid
/// of the blocks it will receive, it writes each at its C-order positions in `<path>.tmp`
/// and [`RawWriter::finish`] renames that over `path`.
#[derive(Debug)]
pub struct RawWriter {
    inner: BlockFileWriter,
}

impl RawWriter {
    /// Creates `<path>.tmp` of the full size for an array of shape `grid.shape()` and dtype
    /// `dtype` whose blocks are those of `grid`, written in `byte_order`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when `path` exists and
    /// `overwrite` is false; [`Error::Io`](crate::Error::Io) when the temporary file cannot
    /// be created or sized.
    pub fn create(
        path: &Path,
        grid: &ChunkGrid,
        dtype: DType,
        byte_order: ByteOrder,
        overwrite: bool,
    ) -> Result<RawWriter> {
        let inner = BlockFileWriter::create(path, &[], grid, dtype, byte_order, overwrite)?;
        Ok(RawWriter { inner })
    }

    /// Writes `block` at `region` of the array (any region, not only a block of the grid).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when the block's dtype or
    /// shape does not match, or the region is out of bounds; [`Error::Io`](crate::Error::Io)
    /// when a write fails.
    pub fn write_region(&self, region: &Region, block: &Block) -> Result<()> {
        self.inner.write_region(region, block)
    }

    /// Syncs the file to disk and renames it to its final path.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) when syncing or renaming fails.
    pub fn finish(self) -> Result<()> {
        self.inner.finish()
    }
}

impl Sink for RawWriter {
    fn consume(&self, block: &[usize], value: Block) -> Result<()> {
        self.inner.write_block(block, &value)
    }
}
