//! Foreign formats: NumPy `.npy` files, raw binary files and CSV text, as block sources and
//! sinks.
//!
//! - [`npy`]: `.npy` files of format versions 1.0, 2.0 and 3.0, every brickwork dtype in
//!   either byte order, C or Fortran order, any shape (0-d included). [`npy::NpyFile`] is a
//!   memory-mapped [`BlockRead`](crate::store::BlockRead) source; [`npy::NpyWriter`] is a
//!   [`Sink`](crate::store::Sink) that writes a little-endian C-order file block by block.
//! - [`raw`]: headerless binary files (C order, little- or big-endian): the dtype and shape
//!   come from the caller and are checked against the file size. [`raw::RawFile`] reads,
//!   [`raw::RawWriter`] writes.
//! - [`csv`]: 1-D and 2-D numeric text, read into and written from one in-memory
//!   [`Block`] (CSV has no random access, so it is not chunked).
//!
//! # Memory mapping
//!
//! `.npy` and raw files are read through a read-only memory map, so opening a 10 GB file
//! costs nothing and each task copies only the bytes of its own chunk out of the page cache.
//! The contract of a mapping: **the file must not be modified or truncated while it is
//! open** (while an [`npy::NpyFile`] or [`raw::RawFile`], or an array built on one, is alive).
//! Modified bytes would show up in blocks read later; a truncated file makes the process
//! fail with `SIGBUS` on the next read of the lost pages. After a chunk is copied, its pages
//! are released from the process (`madvise(MADV_DONTNEED)`; they stay in the OS page
//! cache), so reading a file larger than memory does not grow the resident size by the file. brickwork never writes to a file it
//! maps, and its writers write to a temporary file renamed over the target at the end, so
//! writing a result "in place" over an input replaces the directory entry without touching
//! the mapped bytes.
//!
//! # Writing
//!
//! The writers create `<path>.tmp` next to the target, give it its full length up front (a
//! sparse file), write each block at its C-order positions with positioned writes (blocks
//! may come from any worker thread in any order), and rename the file over `<path>` in
//! `finish`. An existing `<path>` is refused unless `overwrite` is set; a writer dropped
//! without `finish` removes its temporary file.

pub mod csv;
pub mod npy;
pub mod raw;

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use memmap2::Mmap;
use ndarray::{ArrayD, IxDyn, ShapeBuilder};

use crate::block::{Block, BlockElement};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::grid::{ChunkGrid, Region, fmt_shape};

/// The byte order of multi-byte elements in a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Least significant byte first (x86, ARM; NumPy's `<`).
    #[default]
    Little,
    /// Most significant byte first (network order; NumPy's `>`).
    Big,
}

impl ByteOrder {
    /// The byte order of this machine.
    pub const NATIVE: ByteOrder = if cfg!(target_endian = "big") {
        ByteOrder::Big
    } else {
        ByteOrder::Little
    };

    /// `"little"` or `"big"`.
    pub const fn name(self) -> &'static str {
        match self {
            ByteOrder::Little => "little",
            ByteOrder::Big => "big",
        }
    }
}

impl fmt::Display for ByteOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ByteOrder {
    type Err = Error;
    /// Parses `little` / `big` (also `le` / `be`, `<` / `>`), case-insensitively.
    fn from_str(s: &str) -> Result<ByteOrder> {
        match s.trim().to_ascii_lowercase().as_str() {
            "little" | "le" | "<" => Ok(ByteOrder::Little),
            "big" | "be" | ">" => Ok(ByteOrder::Big),
            _ => Err(Error::invalid(format!(
                "byte order {s:?} (expected little or big)"
            ))),
        }
    }
}

/// An element type that can be decoded from and encoded to file bytes.
trait Plain: BlockElement {
    /// Fills `dst` from `src` (`dst.len() * size` bytes) in byte order `order`.
    fn decode(dst: &mut [Self], src: &[u8], order: ByteOrder);
    /// Appends the bytes of `src` in byte order `order` to `out`.
    fn encode(src: &[Self], out: &mut Vec<u8>, order: ByteOrder);
}

impl Plain for bool {
    fn decode(dst: &mut [bool], src: &[u8], _: ByteOrder) {
        // Any nonzero byte is true: a `bool` must never be built from a byte other than 0/1.
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s != 0;
        }
    }
    fn encode(src: &[bool], out: &mut Vec<u8>, _: ByteOrder) {
        out.extend(src.iter().map(|&b| u8::from(b)));
    }
}

macro_rules! plain_number {
    ($($t:ty),*) => {$(
        impl Plain for $t {
            fn decode(dst: &mut [$t], src: &[u8], order: ByteOrder) {
                bytemuck::cast_slice_mut::<$t, u8>(dst).copy_from_slice(src);
                if order != ByteOrder::NATIVE {
                    for v in dst.iter_mut() {
                        *v = <$t>::from_ne_bytes(v.to_ne_bytes().swap_order());
                    }
                }
            }
            fn encode(src: &[$t], out: &mut Vec<u8>, order: ByteOrder) {
                if order == ByteOrder::NATIVE {
                    out.extend_from_slice(bytemuck::cast_slice(src));
                } else {
                    for v in src {
                        out.extend_from_slice(&v.to_ne_bytes().swap_order());
                    }
                }
            }
        }
    )*};
}

macro_rules! plain_complex {
    ($($t:ty => $f:ty),*) => {$(
        /// Two parts, real first, each in the file's byte order.
        impl Plain for $t {
            fn decode(dst: &mut [$t], src: &[u8], order: ByteOrder) {
                <$f as Plain>::decode(bytemuck::cast_slice_mut(dst), src, order);
            }
            fn encode(src: &[$t], out: &mut Vec<u8>, order: ByteOrder) {
                <$f as Plain>::encode(bytemuck::cast_slice(src), out, order);
            }
        }
    )*};
}

plain_complex!(crate::Complex64 => f32, crate::Complex128 => f64);

/// Reverses the bytes of one element.
trait SwapOrder {
    fn swap_order(self) -> Self;
}

impl<const N: usize> SwapOrder for [u8; N] {
    #[inline]
    fn swap_order(mut self) -> Self {
        self.reverse();
        self
    }
}

plain_number!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

/// The byte size of `shape` elements of `itemsize` bytes, or `None` when the array is not
/// addressable: when the product of its non-zero axis lengths times `itemsize` exceeds
/// `isize::MAX` (NumPy's and ndarray's bound, which holds for empty arrays too, so a header
/// claiming `(2**64 - 1, 0, 3)` is refused rather than panicking in ndarray).
fn checked_nbytes(shape: &[usize], itemsize: usize) -> Option<usize> {
    let nonzero = shape
        .iter()
        .filter(|&&n| n != 0)
        .try_fold(itemsize, |acc, &n| acc.checked_mul(n))
        .filter(|&b| b <= isize::MAX as usize)?;
    Some(if shape.contains(&0) { 0 } else { nonzero })
}

/// The target chunk size of the default chunking.
const DEFAULT_CHUNK_BYTES: usize = 64 << 20;

/// The smallest band [`band_bytes`] gives: below this, per-read overhead dominates.
const MIN_BAND_BYTES: usize = 256 << 10;

/// The default read chunks of a file array: about 64 MiB per chunk, cut along the slowest
/// axis of the file's layout (the first axis in C order, the last in Fortran order), so each
/// chunk is one contiguous byte range of the file. When one slice along that axis is larger
/// than 64 MiB, the next slowest axis is cut too, and so on. An empty array (an axis of
/// length 0) is one chunk whatever its other axes: it holds no data, and a header claiming
/// `(0, 2**60)` must not make 2^34 empty chunks.
pub fn default_chunks(shape: &[usize], dtype: DType, fortran_order: bool) -> Vec<usize> {
    banded_chunks(shape, dtype, fortran_order, DEFAULT_CHUNK_BYTES)
}

/// Read chunks of a file array of about `band_bytes` each (at least one element), cut as
/// [`default_chunks`] cuts them.
pub fn banded_chunks(
    shape: &[usize],
    dtype: DType,
    fortran_order: bool,
    band_bytes: usize,
) -> Vec<usize> {
    if shape.contains(&0) {
        return shape.iter().map(|&n| n.max(1)).collect();
    }
    let mut chunks = vec![1; shape.len()];
    let mut budget = (band_bytes / dtype.size()).max(1);
    let axes: Vec<usize> = if fortran_order {
        (0..shape.len()).collect()
    } else {
        (0..shape.len()).rev().collect()
    };
    for d in axes {
        let n = shape[d].max(1);
        chunks[d] = n.min(budget).max(1);
        if n > budget {
            break;
        }
        budget /= n;
    }
    chunks
}

/// Bytes of one read chunk (band) of a file array read under a memory limit of `limit`
/// bytes: an eighth of the limit, between 256 KiB and the default 64 MiB. A band is copied
/// out of the map whole (its pages are resident while it is copied, and the copy is the
/// block), and a task that reads one holds it beside its decode scratch and what the write
/// holds; an eighth leaves room for that and for the blocks cut from it, so that a file of
/// any size is read under any limit the rest of the plan fits in (issue 24: fixed 64 MiB
/// bands refused an import under 128 MiB whatever its `--chunks`).
pub fn band_bytes(limit: u64) -> usize {
    let eighth = usize::try_from(limit / 8).unwrap_or(usize::MAX);
    eighth.clamp(MIN_BAND_BYTES, DEFAULT_CHUNK_BYTES)
}

/// Checks user-given read chunks against `shape`, or computes the default.
fn choose_chunks(
    path: &Path,
    shape: &[usize],
    dtype: DType,
    fortran_order: bool,
    chunks: Option<&[usize]>,
    band_bytes: usize,
) -> Result<Vec<usize>> {
    let Some(chunks) = chunks else {
        return Ok(banded_chunks(shape, dtype, fortran_order, band_bytes));
    };
    if chunks.len() != shape.len() {
        return Err(Error::invalid(format!(
            "{}: chunks {} do not match the rank of shape {}",
            path.display(),
            fmt_shape(chunks),
            fmt_shape(shape)
        )));
    }
    if chunks.contains(&0) {
        return Err(Error::invalid(format!(
            "{}: chunks {} contain a 0 (chunk sizes must be at least 1)",
            path.display(),
            fmt_shape(chunks)
        )));
    }
    Ok(chunks.to_vec())
}

/// Opens `path` read-only and maps it whole.
fn map_file(path: &Path) -> Result<(Option<Mmap>, u64)> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len == 0 {
        // Nothing to map (mapping 0 bytes is an error on some systems).
        return Ok((None, 0));
    }
    // SAFETY: the map is read-only and private to this process. Its soundness depends on the
    // file not being modified or truncated while mapped: that is the documented contract of
    // `NpyFile` and `RawFile` (module docs). Bytes are only ever copied out of the map, never
    // reinterpreted in place, so any content is a valid `[u8]`.
    let map = unsafe { Mmap::map(&file) }.map_err(io)?;
    Ok((Some(map), len))
}

/// A memory-mapped n-d array in a file: the part `NpyFile` and `RawFile` share.
#[derive(Debug)]
struct MappedArray {
    path: PathBuf,
    map: Option<Mmap>,
    /// Byte offset of element 0 in the file.
    offset: usize,
    shape: Vec<usize>,
    dtype: DType,
    order: ByteOrder,
    fortran_order: bool,
    chunks: Vec<usize>,
    grid: ChunkGrid,
}

/// What a mapped array is made of, before the file is checked.
struct MappedLayout<'a> {
    offset: usize,
    shape: Vec<usize>,
    dtype: DType,
    order: ByteOrder,
    fortran_order: bool,
    chunks: Option<&'a [usize]>,
    /// Bytes per read chunk when `chunks` is `None` (see [`banded_chunks`]).
    band_bytes: usize,
}

impl MappedArray {
    /// Checks `layout` against the mapped file and builds the array. `describe` names the
    /// layout in the size-mismatch message.
    fn new(
        path: &Path,
        map: Option<Mmap>,
        file_len: u64,
        layout: MappedLayout<'_>,
        describe: &str,
    ) -> Result<MappedArray> {
        let format = |detail: String| Error::Format {
            file: path.to_path_buf(),
            detail,
        };
        let data = checked_nbytes(&layout.shape, layout.dtype.size())
            .and_then(|n| n.checked_add(layout.offset))
            .ok_or_else(|| format(format!("{describe} is too large to address")))?;
        if data as u64 != file_len {
            return Err(format(format!(
                "the file has {file_len} bytes but {describe} needs {data} bytes"
            )));
        }
        let chunks = choose_chunks(
            path,
            &layout.shape,
            layout.dtype,
            layout.fortran_order,
            layout.chunks,
            layout.band_bytes,
        )?;
        let grid = crate::expr::regular_grid(&layout.shape, &chunks).map_err(|e| match e {
            Error::InvalidArgument { detail } => {
                Error::invalid(format!("{}: {detail}", path.display()))
            }
            other => other,
        })?;
        Ok(MappedArray {
            path: path.to_path_buf(),
            map,
            offset: layout.offset,
            shape: layout.shape,
            dtype: layout.dtype,
            order: layout.order,
            fortran_order: layout.fortran_order,
            grid,
            chunks,
        })
    }

    /// The element region of chunk `chunk`, or an error when it is outside the grid.
    fn chunk_region(&self, chunk: &[usize]) -> Result<Region> {
        let grid = &self.grid;
        let inside = chunk.len() == self.shape.len()
            && chunk.iter().zip(grid.grid_shape()).all(|(&c, n)| c < n);
        if !inside {
            return Err(Error::invalid(format!(
                "{}: chunk {chunk:?} is outside the chunk grid {}",
                self.path.display(),
                fmt_shape(&grid.grid_shape())
            )));
        }
        Ok(grid.region(chunk))
    }

    /// Copies chunk `chunk` out of the map into a standard-layout block.
    fn read_chunk(&self, chunk: &[usize]) -> Result<Block> {
        let region = self.chunk_region(chunk)?;
        crate::dispatch_dtype!(self.dtype, T => self.read_region::<T>(&region).map(T::wrap))
    }

    fn read_region<T: Plain>(&self, region: &Region) -> Result<ArrayD<T>> {
        let bytes = self.map.as_deref().unwrap_or(&[]);
        let data = bytes.get(self.offset..).unwrap_or(&[]);
        let mut out = vec![T::default(); region.len()];
        if self.fortran_order {
            // A Fortran-order array is the C-order array of the reversed shape.
            let rev = |v: &[usize]| v.iter().rev().copied().collect::<Vec<_>>();
            let file_region = Region {
                start: rev(&region.start),
                shape: rev(&region.shape),
            };
            self.copy_runs(&rev(&self.shape), &file_region, data, &mut out)?;
            let a = ArrayD::from_shape_vec(IxDyn(&region.shape).f(), out).map_err(shape_bug)?;
            if a.is_standard_layout() {
                Ok(a)
            } else {
                Ok(a.as_standard_layout().into_owned())
            }
        } else {
            self.copy_runs(&self.shape, region, data, &mut out)?;
            ArrayD::from_shape_vec(IxDyn(&region.shape), out).map_err(shape_bug)
        }
    }

    /// Copies `region` of the C-order array `shape` held in `data` into `out`, one contiguous
    /// run at a time.
    fn copy_runs<T: Plain>(
        &self,
        shape: &[usize],
        region: &Region,
        data: &[u8],
        out: &mut [T],
    ) -> Result<()> {
        let size = self.dtype.size();
        let runs = Runs::new(shape, region);
        let (mut done, mut span) = (0, None);
        for element in runs.starts() {
            let (start, len) = (element * size, runs.len * size);
            let src = data.get(start..start + len).ok_or_else(|| Error::Format {
                file: self.path.clone(),
                detail: format!("element {element} is beyond the end of the data"),
            })?;
            T::decode(&mut out[done..done + runs.len], src, self.order);
            done += runs.len;
            span = Some((span.map_or(start, |(first, _)| first), start + len));
        }
        if let Some((first, end)) = span {
            self.release(self.offset + first, end - first);
        }
        Ok(())
    }

    /// Drops the pages of `len` bytes at `offset` from this process's memory (they stay in
    /// the OS page cache), so that reading a file larger than memory does not grow the
    /// resident size by the whole file.
    fn release(&self, offset: usize, len: usize) {
        #[cfg(unix)]
        if let Some(map) = &self.map {
            // SAFETY: the map is a read-only shared file mapping that nothing writes to and
            // no slice into it outlives `copy_runs`. After MADV_DONTNEED, an access to these
            // pages (by a concurrent read of an adjacent chunk sharing a page) faults them
            // back in from the file with the same contents (the mapping contract: the file is
            // not modified), so no reference observes a change. A failure is harmless (the
            // pages simply stay resident).
            let _ = unsafe {
                map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len)
            };
        }
        #[cfg(not(unix))]
        let _ = (offset, len);
    }
}

fn shape_bug(e: ndarray::ShapeError) -> Error {
    Error::internal_from("block assembly", e)
}

/// The contiguous runs of a region of a C-order array, in C order of the region. Trailing
/// axes the region covers whole are merged into the runs, so a chunk of whole rows is one
/// run.
#[derive(Clone, Copy, Debug)]
struct Runs<'a> {
    shape: &'a [usize],
    region: &'a Region,
    /// The axes before `split` are iterated; from `split` on, they form one run.
    split: usize,
    /// Elements per run.
    len: usize,
}

impl<'a> Runs<'a> {
    fn new(shape: &'a [usize], region: &'a Region) -> Self {
        // Axes `full..` are covered whole; the axis before them is the outermost one merged.
        let mut full = shape.len();
        while full > 0 && region.shape[full - 1] == shape[full - 1] {
            full -= 1;
        }
        let split = full.saturating_sub(1);
        Runs {
            shape,
            region,
            split,
            len: region.shape[split..].iter().product(),
        }
    }

    /// The flat element index of the first element of each run.
    fn starts(self) -> RunStarts<'a> {
        let remaining = if self.len == 0 {
            0
        } else {
            self.region.shape[..self.split].iter().product()
        };
        RunStarts {
            runs: self,
            idx: vec![0; self.split],
            remaining,
        }
    }
}

/// Iterator over the start of each run of [`Runs`].
struct RunStarts<'a> {
    runs: Runs<'a>,
    idx: Vec<usize>,
    remaining: usize,
}

impl Iterator for RunStarts<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let Runs { shape, region, .. } = self.runs;
        let flat = (0..shape.len()).fold(0, |acc, d| {
            let offset = self.idx.get(d).copied().unwrap_or(0);
            acc * shape[d] + region.start[d] + offset
        });
        odometer(&mut self.idx, &region.shape[..self.runs.split]);
        Some(flat)
    }
}

/// Advances a C-order multi-index within `extent` (wrapping to zeros after the last one).
fn odometer(idx: &mut [usize], extent: &[usize]) {
    for d in (0..idx.len()).rev() {
        idx[d] += 1;
        if idx[d] < extent[d] {
            return;
        }
        idx[d] = 0;
    }
}

/// A temporary file next to its target, renamed over it by `commit` and removed on drop
/// otherwise.
#[derive(Debug)]
struct TempFile {
    target: PathBuf,
    tmp: PathBuf,
    overwrite: bool,
    committed: bool,
}

impl TempFile {
    /// Refuses an existing `target` unless `overwrite`, then creates the temporary file
    /// beside it, named for its owner (`.brickwork-export-<pid>-…-<target>-tmp`, see
    /// `store::temp`) so that one left by a killed process can be found and removed.
    fn create(target: &Path, overwrite: bool) -> Result<(TempFile, File)> {
        refuse_existing(target, overwrite)?;
        let name = format!("{}tmp", crate::store::temp::prefix("export", target, true));
        let tmp = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.join(name),
            _ => PathBuf::from(name),
        };
        let file = File::create(&tmp).map_err(|source| Error::Io {
            path: tmp.clone(),
            source,
        })?;
        let guard = TempFile {
            target: target.to_path_buf(),
            tmp,
            overwrite,
            committed: false,
        };
        Ok((guard, file))
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.tmp.clone(),
            source,
        }
    }

    /// Syncs `file` and renames the temporary file over the target.
    fn commit(mut self, file: &File) -> Result<()> {
        file.sync_all().map_err(|e| self.io(e))?;
        refuse_existing(&self.target, self.overwrite)?;
        std::fs::rename(&self.tmp, &self.target).map_err(|source| Error::Io {
            path: self.target.clone(),
            source,
        })?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the temporary file may already be gone.
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

fn refuse_existing(path: &Path, overwrite: bool) -> Result<()> {
    if !overwrite && path.symlink_metadata().is_ok() {
        return Err(Error::invalid(format!(
            "{} already exists (pass overwrite (--overwrite) to replace it)",
            path.display()
        )));
    }
    Ok(())
}

/// Writes positioned bytes (`pwrite`).
fn write_at(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let (mut buf, mut offset) = (buf, offset);
        while !buf.is_empty() {
            let n = std::os::windows::fs::FileExt::seek_write(file, buf, offset)?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
            offset += n as u64;
        }
        Ok(())
    }
}

/// A C-order binary array file being written block by block: the part `NpyWriter` and
/// `RawWriter` share.
#[derive(Debug)]
struct BlockFileWriter {
    temp: TempFile,
    file: File,
    grid: ChunkGrid,
    dtype: DType,
    order: ByteOrder,
    /// Bytes before element 0 (the header).
    offset: u64,
}

impl BlockFileWriter {
    /// Creates `<path>.tmp`, writes `header` and sets the file to its full length.
    fn create(
        path: &Path,
        header: &[u8],
        grid: &ChunkGrid,
        dtype: DType,
        order: ByteOrder,
        overwrite: bool,
    ) -> Result<BlockFileWriter> {
        let shape = grid.shape();
        let total = checked_nbytes(&shape, dtype.size())
            .and_then(|n| n.checked_add(header.len()))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{}: an array of shape {} and dtype {dtype} is too large to address",
                    path.display(),
                    fmt_shape(&shape)
                ))
            })?;
        let (temp, file) = TempFile::create(path, overwrite)?;
        write_at(&file, header, 0).map_err(|e| temp.io(e))?;
        file.set_len(total as u64).map_err(|e| temp.io(e))?;
        Ok(BlockFileWriter {
            temp,
            file,
            grid: grid.clone(),
            dtype,
            order,
            offset: header.len() as u64,
        })
    }

    /// Writes output block `block` of the grid.
    fn write_block(&self, block: &[usize], value: &Block) -> Result<()> {
        let inside = block.len() == self.grid.ndim()
            && block
                .iter()
                .zip(self.grid.grid_shape())
                .all(|(&b, n)| b < n);
        if !inside {
            return Err(Error::invalid(format!(
                "{}: block {block:?} is outside the chunk grid {}",
                self.temp.target.display(),
                fmt_shape(&self.grid.grid_shape())
            )));
        }
        self.write_region(&self.grid.region(block), value)
    }

    /// Writes `value` at `region` of the array.
    fn write_region(&self, region: &Region, value: &Block) -> Result<()> {
        self.check_block(region, value)?;
        crate::dispatch_dtype!(self.dtype, T => {
            let a = T::view(value).ok_or_else(|| Error::internal("dtype checked"))?;
            self.write_typed(region, a)
        })
    }

    fn check_block(&self, region: &Region, value: &Block) -> Result<()> {
        let shape = self.grid.shape();
        let fits = region.shape.len() == shape.len()
            && (0..shape.len()).all(|d| region.start[d] + region.shape[d] <= shape[d]);
        if value.dtype() != self.dtype || value.shape() != region.shape.as_slice() || !fits {
            return Err(Error::invalid(format!(
                "{}: cannot write a {} block of shape {} at {:?} of an array of dtype {} and \
                 shape {}",
                self.temp.target.display(),
                value.dtype(),
                fmt_shape(value.shape()),
                region.start,
                self.dtype,
                fmt_shape(&shape)
            )));
        }
        Ok(())
    }

    fn write_typed<T: Plain>(&self, region: &Region, a: &ArrayD<T>) -> Result<()> {
        let a = a.as_standard_layout();
        let values = a
            .as_slice()
            .ok_or_else(|| Error::internal("standard layout block is not contiguous"))?;
        let shape = self.grid.shape();
        let runs = Runs::new(&shape, region);
        let size = self.dtype.size() as u64;
        let mut buf = Vec::with_capacity(runs.len * self.dtype.size());
        for (i, element) in runs.starts().enumerate() {
            buf.clear();
            T::encode(
                &values[i * runs.len..(i + 1) * runs.len],
                &mut buf,
                self.order,
            );
            let at = self.offset + element as u64 * size;
            write_at(&self.file, &buf, at).map_err(|e| self.temp.io(e))?;
        }
        Ok(())
    }

    /// Syncs the file and renames it over the target.
    fn finish(self) -> Result<()> {
        self.temp.commit(&self.file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(shape: &[usize], start: &[usize], extent: &[usize]) -> (usize, Vec<usize>) {
        let region = Region {
            start: start.to_vec(),
            shape: extent.to_vec(),
        };
        let runs = Runs::new(shape, &region);
        (runs.len, runs.starts().collect())
    }

    #[test]
    fn runs_merge_whole_trailing_axes() {
        // Whole rows of a 2-D array: one run.
        assert_eq!(starts(&[4, 5], &[1, 0], &[2, 5]), (10, vec![5]));
        // Part rows: one run per row.
        assert_eq!(starts(&[4, 5], &[1, 2], &[2, 3]), (3, vec![7, 12]));
        // Whole planes under a partial first axis of a 3-D array.
        assert_eq!(starts(&[3, 2, 2], &[1, 0, 0], &[2, 2, 2]), (8, vec![4]));
        // A partial middle axis.
        assert_eq!(starts(&[3, 4, 2], &[0, 1, 0], &[2, 2, 2]), (4, vec![2, 10]));
        // 0-d and empty regions.
        assert_eq!(starts(&[], &[], &[]), (1, vec![0]));
        assert_eq!(starts(&[0, 3], &[0, 0], &[0, 3]), (0, vec![]));
    }

    #[test]
    fn byte_order_parses() {
        assert_eq!("BIG".parse::<ByteOrder>().unwrap(), ByteOrder::Big);
        assert_eq!("le".parse::<ByteOrder>().unwrap(), ByteOrder::Little);
        assert!("network".parse::<ByteOrder>().is_err());
    }
}
