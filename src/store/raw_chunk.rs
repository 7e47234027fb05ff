//! Raw chunk files (the elements' bytes alone) read in place, bypassing the codec pipeline.
//!
//! A chunk of an array whose only codec is `bytes` in the machine's byte order (Zarr v3), or
//! which has no compressor and no filters, C order and a native-endian dtype (Zarr v2), is
//! stored as its raw elements: the file is the array of the full chunk shape (edge chunks
//! are stored at full size). Such a chunk is read without zarrs:
//!
//! - large chunks ([`MAP_MIN_BYTES`] and up) are memory-mapped ([`MappedBlock`]): tasks
//!   read the elements in place from the page cache and copy only the tile they work on;
//! - smaller ones are read with one `read` into the block's buffer (mapping a small file
//!   costs more than copying it: a `mmap` and `munmap` per chunk, and the unmap interrupts
//!   every other thread's CPU to flush its TLB).
//!
//! Anything unexpected (a missing chunk, which reads as the fill value; a file of another
//! size) falls back to zarrs, which reports it.
//!
//! Mapping is safe as long as nobody truncates a chunk file while it is mapped; brickwork
//! never writes to an array it reads (an output path equal to an input is refused). Set
//! `BRICKWORK_NO_MMAP=1` to always copy (e.g. for stores that other processes rewrite).

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

use ndarray::{ArrayD, IxDyn, Slice};
use zarrs::array::ArrayMetadata;
use zarrs::metadata::v2::DataTypeMetadataV2;

use crate::block::{Block, BlockElement, MappedBlock};
use crate::dispatch_dtype;
use crate::dtype::DType;

/// Chunks of at least this many stored bytes are memory-mapped; smaller ones are read.
pub(super) const MAP_MIN_BYTES: usize = 1 << 20;

/// The most bytes of a file mapping that one touched byte can make resident: the unit in
/// which the planner counts the pages a task touches in a mapped chunk
/// ([`ViewMap::touched_page_bytes`](crate::kernel::gather::ViewMap::touched_page_bytes)).
///
/// It is not the page size. A read fault on a file mapping maps every page of the faulting
/// address's *fault-around* window (64 KiB by default) that is in the page cache, and the
/// page cache of ext4, xfs and tmpfs holds files in large folios that a fault maps whole:
/// measured on Linux 6.18 (ext4), touching one byte every 2 MiB of a cached 16 MiB file
/// mapped all 16 MiB, with `MADV_RANDOM` or `MADV_NOHUGEPAGE` alike. Both the window and
/// a folio lie inside one PMD (a page table's span, 2 MiB on x86-64 and on arm64 with
/// 4 KiB pages), so that is what one touch can cost: `hpage_pmd_size` where the kernel
/// reports it, else 2 MiB (a PMD is always larger than a page). Counting in this unit, a chunk
/// of at most 2 MiB counts whole as soon as anything in it is touched, which is what
/// `RssFile` shows; only runs further apart than that in larger chunks count less.
pub fn map_fault_bytes() -> usize {
    static BYTES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *BYTES.get_or_init(|| {
        std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(2 << 20)
    })
}

/// The environment variable that turns direct reads off.
const NO_MMAP_VAR: &str = "BRICKWORK_NO_MMAP";

/// Whether `BRICKWORK_NO_MMAP` turns direct reads off.
pub(super) fn reads_disabled() -> bool {
    super::env_flag(NO_MMAP_VAR)
}

/// True when every chunk of an array with this metadata and dtype is stored as its raw
/// native-endian elements in C order, so that it can be read (and written) directly.
pub(super) fn is_raw(meta: &ArrayMetadata, dtype: DType, ndim: usize) -> bool {
    if ndim == 0 || dtype == DType::Bool || cfg!(target_endian = "big") {
        return false;
    }
    match meta {
        ArrayMetadata::V3(m) => {
            m.storage_transformers.is_empty()
                && matches!(m.codecs.as_slice(), [c] if c.name() == "bytes"
                    && c.configuration()
                        .and_then(|cfg| cfg.get("endian"))
                        .and_then(|e| e.as_str())
                        .is_none_or(|e| e == "little"))
        }
        ArrayMetadata::V2(m) => {
            let native = match &m.dtype {
                DataTypeMetadataV2::Simple(s) => {
                    s.starts_with('<') || (s.starts_with('|') && dtype.size() == 1)
                }
                DataTypeMetadataV2::Structured(_) => false,
            };
            native
                && m.compressor.is_none()
                && m.filters.as_ref().is_none_or(|f| f.is_empty())
                && matches!(m.order, zarrs::metadata::v2::ArrayMetadataV2Order::C)
        }
    }
}

/// Opens the chunk file at `path` if it holds exactly `stored` elements of `dtype`.
/// `None` when it is missing or of another size (zarrs then reads or reports it).
fn open(path: &Path, dtype: DType, stored: &[usize]) -> std::io::Result<Option<File>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok((file.metadata()?.len() == stored_len(dtype, stored)).then_some(file))
}

/// Bytes of a raw chunk file of `stored` elements of `dtype`.
fn stored_len(dtype: DType, stored: &[usize]) -> u64 {
    (stored.iter().product::<usize>() * dtype.size()) as u64
}

/// True when the chunk file at `path` is there and holds exactly `stored` elements of
/// `dtype`, i.e. when [`map`] would map it (the planner's question, asked without opening
/// the file).
pub(super) fn mappable(path: &Path, dtype: DType, stored: &[usize]) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == stored_len(dtype, stored))
}

/// Memory-maps the chunk file at `path` (see [`open`] for `None`), keeping the corner
/// `shape` of the stored chunk `stored`.
pub(super) fn map(
    path: &Path,
    dtype: DType,
    stored: &[usize],
    shape: &[usize],
) -> std::io::Result<Option<MappedBlock>> {
    let Some(file) = open(path, dtype, stored)? else {
        return Ok(None);
    };
    // SAFETY: the mapping is read-only and private; brickwork does not modify the arrays it
    // reads, and the module documentation states the remaining condition (no truncation by
    // another process while mapped).
    let map = unsafe { memmap2::Mmap::map(&file)? };
    // SAFETY: as above; `MappedBlock::new` checks size, alignment and dtype.
    Ok(unsafe { MappedBlock::new(map, dtype, stored, shape) })
}

/// Reads the chunk file at `path` into memory with one read (see [`open`] for `None`),
/// keeping the corner `shape` of the stored chunk `stored`.
pub(super) fn read(
    path: &Path,
    dtype: DType,
    stored: &[usize],
    shape: &[usize],
) -> std::io::Result<Option<Block>> {
    let Some(mut file) = open(path, dtype, stored)? else {
        return Ok(None);
    };
    Ok(Some(dispatch_dtype!(dtype, T => {
        let data = read_elements::<T>(&mut file, stored.iter().product())?;
        let full = ArrayD::from_shape_vec(IxDyn(stored), data)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        if full.shape() == shape {
            T::wrap(full)
        } else {
            T::wrap(
                full.slice_each_axis(|ax| Slice::from(0..shape[ax.axis.index()]))
                    .to_owned(),
            )
        }
    })))
}

/// The bytes of `data`, its elements in native byte order.
pub(super) fn as_bytes<T: BlockElement>(data: &[T]) -> &[u8] {
    // SAFETY: block element types are plain numbers and bool, without padding, so every
    // byte of the slice is initialized; u8 has no alignment requirement.
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), std::mem::size_of_val(data)) }
}

/// Reads `n` elements of `T` in native byte order.
fn read_elements<T: BlockElement>(file: &mut File, n: usize) -> std::io::Result<Vec<T>> {
    assert!(T::DTYPE != DType::Bool, "bool chunks are not read directly");
    let mut data = vec![T::default(); n];
    // SAFETY: `data` is initialized, `T` is a plain number type (not bool: checked above)
    // without padding, for which every byte pattern is a valid value.
    let bytes = unsafe {
        std::slice::from_raw_parts_mut(
            data.as_mut_ptr().cast::<u8>(),
            std::mem::size_of_val(&data[..]),
        )
    };
    file.read_exact(bytes)?;
    Ok(data)
}
