//! The spill store: task outputs evicted from memory under pressure, one file each in a
//! temporary directory.
//!
//! The directory is created on the first spill (a computation that fits never touches the
//! disk) under [`ComputeOptions::spill_dir`](crate::ComputeOptions::spill_dir) or the system
//! temporary directory, and removed when the store is dropped: on success, on error, and on
//! cancellation (Ctrl-C in the `brickwork` binary cancels the computation, which drops it).
//! A spilled value's file is removed as soon as its last user has run.
//!
//! The format is private to one run: a header (kind, dtype, shape, count, whether a second
//! moment follows) and the elements in C order, native endian. Nothing is compressed: spilled
//! blocks are intermediates that are read back once or twice, and the disk is faster than
//! any codec here.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use ndarray::{ArrayD, IxDyn};
use tempfile::TempDir;

use crate::block::Block;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernel::Datum;
use crate::kernel::reduce::Partial;

/// The spill store of one computation.
#[derive(Debug)]
pub(crate) struct SpillStore {
    parent: Option<PathBuf>,
    dir: Mutex<Option<TempDir>>,
}

/// One spilled value on disk; the file is removed when this is dropped.
#[derive(Debug)]
pub(crate) struct SpillFile {
    path: PathBuf,
    /// Bytes of the value in memory.
    pub(crate) bytes: u64,
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl SpillStore {
    /// A store that creates its directory under `parent` (default: the system temporary
    /// directory) when first written.
    pub(crate) fn new(parent: Option<PathBuf>) -> Self {
        SpillStore {
            parent,
            dir: Mutex::new(None),
        }
    }

    /// The directory, if anything was spilled.
    #[cfg(test)]
    pub(crate) fn path(&self) -> Option<PathBuf> {
        self.dir
            .lock()
            .ok()?
            .as_ref()
            .map(|d| d.path().to_path_buf())
    }

    fn dir(&self) -> Result<PathBuf> {
        let mut dir = self
            .dir
            .lock()
            .map_err(|_| Error::internal("spill store lock poisoned"))?;
        if let Some(d) = dir.as_ref() {
            return Ok(d.path().to_path_buf());
        }
        let parent = self.parent.clone().unwrap_or_else(std::env::temp_dir);
        let d = tempfile::Builder::new()
            .prefix(&crate::store::temp::prefix(
                "spill",
                std::path::Path::new("spill"),
                false,
            ))
            .tempdir_in(&parent)
            .map_err(|source| Error::Spill {
                path: parent.clone(),
                detail: "cannot create a spill directory there; spill elsewhere with spill_dir \
                         (--spill-dir) or TMPDIR"
                    .into(),
                source,
            })?;
        let path = d.path().to_path_buf();
        *dir = Some(d);
        Ok(path)
    }

    /// Writes `value` (the output of task `task`) to a new file.
    ///
    /// # Errors
    /// The directory cannot be created or the file written (a full disk among others); the
    /// partial file is removed.
    pub(crate) fn write(&self, task: u32, value: &Datum) -> Result<SpillFile> {
        let path = self.dir()?.join(format!("{task}.bin"));
        let file = SpillFile {
            path,
            bytes: value.nbytes() as u64,
        };
        let written = File::create(&file.path).and_then(|f| {
            let mut w = BufWriter::with_capacity(1 << 20, f);
            encode(value, &mut w)?;
            w.into_inner().map_err(|e| e.into_error())?.sync_data()
        });
        written.map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::StorageFull {
                " (the disk holding the spill directory is full: free space there, or spill \
                 elsewhere with spill_dir (--spill-dir) or TMPDIR)"
            } else {
                ""
            };
            Error::Spill {
                path: file.path.clone(),
                detail: format!("cannot spill an intermediate block to disk{hint}"),
                source: e,
            }
        })?;
        Ok(file)
    }
}

/// Reads a spilled value back.
///
/// # Errors
/// The file cannot be read or is not what was written.
pub(crate) fn read(file: &SpillFile) -> Result<Datum> {
    let read_back = |source| Error::Spill {
        path: file.path.clone(),
        detail: "cannot read a spilled block back (from the spill directory, under spill_dir \
                 (--spill-dir) or TMPDIR)"
            .into(),
        source,
    };
    let f = File::open(&file.path).map_err(read_back)?;
    decode(&mut BufReader::with_capacity(1 << 20, f)).map_err(read_back)
}

pub(super) fn put_u64(w: &mut impl Write, v: u64) -> std::io::Result<()> {
    w.write_all(&v.to_ne_bytes())
}

pub(super) fn get_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_ne_bytes(b))
}

pub(super) fn encode(value: &Datum, w: &mut impl Write) -> std::io::Result<()> {
    match value {
        Datum::Block(b) => {
            put_u64(w, 0)?;
            encode_block(b, w)
        }
        // Source chunks are dropped and mapped again rather than spilled; should one be
        // spilled, it is stored as the block it reads as.
        Datum::Mapped(m) => {
            put_u64(w, 0)?;
            encode_block(&m.to_block(), w)
        }
        Datum::Partial(p) => {
            put_u64(w, 1)?;
            put_u64(w, p.count)?;
            encode_block(&p.acc, w)?;
            match &p.m2 {
                None => put_u64(w, 0),
                Some(m2) => {
                    put_u64(w, 1)?;
                    encode_block(&Block::F64(m2.clone()), w)
                }
            }
        }
    }
}

fn encode_block(b: &Block, w: &mut impl Write) -> std::io::Result<()> {
    put_u64(
        w,
        DType::ALL.iter().position(|&d| d == b.dtype()).unwrap_or(0) as u64,
    )?;
    put_u64(w, b.shape().len() as u64)?;
    for &n in b.shape() {
        put_u64(w, n as u64)?;
    }
    match b {
        Block::Bool(a) => {
            let bytes: Vec<u8> = a.iter().map(|&v| v as u8).collect();
            w.write_all(&bytes)
        }
        Block::I8(a) => write_pod(a, w),
        Block::I16(a) => write_pod(a, w),
        Block::I32(a) => write_pod(a, w),
        Block::I64(a) => write_pod(a, w),
        Block::U8(a) => write_pod(a, w),
        Block::U16(a) => write_pod(a, w),
        Block::U32(a) => write_pod(a, w),
        Block::U64(a) => write_pod(a, w),
        Block::F32(a) => write_pod(a, w),
        Block::F64(a) => write_pod(a, w),
        Block::C64(a) => write_pod(a, w),
        Block::C128(a) => write_pod(a, w),
    }
}

fn write_pod<T: bytemuck::Pod>(a: &ArrayD<T>, w: &mut impl Write) -> std::io::Result<()> {
    match a.as_slice() {
        Some(s) => w.write_all(bytemuck::cast_slice(s)),
        None => {
            let v: Vec<T> = a.iter().copied().collect();
            w.write_all(bytemuck::cast_slice(&v))
        }
    }
}

pub(super) fn decode(r: &mut impl Read) -> std::io::Result<Datum> {
    match get_u64(r)? {
        0 => Ok(Datum::Block(decode_block(r)?)),
        1 => {
            let count = get_u64(r)?;
            let acc = decode_block(r)?;
            let m2 = match get_u64(r)? {
                0 => None,
                _ => match decode_block(r)? {
                    Block::F64(a) => Some(a),
                    _ => return Err(invalid("second moment is not float64")),
                },
            };
            Ok(Datum::Partial(Partial { count, acc, m2 }))
        }
        _ => Err(invalid("unknown value kind")),
    }
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

fn decode_block(r: &mut impl Read) -> std::io::Result<Block> {
    let dtype = *DType::ALL
        .get(get_u64(r)? as usize)
        .ok_or_else(|| invalid("unknown dtype"))?;
    let ndim = get_u64(r)? as usize;
    if ndim > 64 {
        return Err(invalid("too many dimensions"));
    }
    let shape = (0..ndim)
        .map(|_| get_u64(r).map(|n| n as usize))
        .collect::<std::io::Result<Vec<_>>>()?;
    let len: usize = shape.iter().product();
    Ok(match dtype {
        DType::Bool => {
            let mut bytes = vec![0u8; len];
            r.read_exact(&mut bytes)?;
            Block::Bool(shaped(&shape, bytes.into_iter().map(|b| b != 0).collect())?)
        }
        DType::I8 => Block::I8(read_pod(r, &shape, len)?),
        DType::I16 => Block::I16(read_pod(r, &shape, len)?),
        DType::I32 => Block::I32(read_pod(r, &shape, len)?),
        DType::I64 => Block::I64(read_pod(r, &shape, len)?),
        DType::U8 => Block::U8(read_pod(r, &shape, len)?),
        DType::U16 => Block::U16(read_pod(r, &shape, len)?),
        DType::U32 => Block::U32(read_pod(r, &shape, len)?),
        DType::U64 => Block::U64(read_pod(r, &shape, len)?),
        DType::F32 => Block::F32(read_pod(r, &shape, len)?),
        DType::C64 => Block::C64(read_pod(r, &shape, len)?),
        DType::C128 => Block::C128(read_pod(r, &shape, len)?),
        DType::F64 => Block::F64(read_pod(r, &shape, len)?),
    })
}

fn read_pod<T: bytemuck::Pod + Default>(
    r: &mut impl Read,
    shape: &[usize],
    len: usize,
) -> std::io::Result<ArrayD<T>> {
    let mut v = vec![T::default(); len];
    r.read_exact(bytemuck::cast_slice_mut(&mut v))?;
    shaped(shape, v)
}

fn shaped<T>(shape: &[usize], v: Vec<T>) -> std::io::Result<ArrayD<T>> {
    ArrayD::from_shape_vec(IxDyn(shape), v).map_err(|_| invalid("shape does not match data"))
}

/// True when `path` exists (for tests of cleanup).
#[cfg(test)]
pub(crate) fn exists(path: &std::path::Path) -> bool {
    path.exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: Datum) {
        let store = SpillStore::new(None);
        let f = store.write(7, &v).unwrap();
        assert_eq!(read(&f).unwrap(), v);
        let dir = store.path().unwrap();
        let file = f.path.clone();
        drop(f);
        assert!(!exists(&file));
        drop(store);
        assert!(!exists(&dir));
    }

    #[test]
    fn blocks_and_partials_round_trip() {
        let a = ArrayD::from_shape_fn(IxDyn(&[3, 4]), |i| (i[0] * 4 + i[1]) as f64 - 2.5);
        round_trip(Datum::Block(Block::F64(a.clone())));
        round_trip(Datum::Block(Block::F64(a.t().to_owned())));
        round_trip(Datum::Block(Block::Bool(a.mapv(|x| x > 0.0))));
        round_trip(Datum::Block(Block::I16(a.mapv(|x| x as i16))));
        round_trip(Datum::Block(Block::U8(ArrayD::zeros(IxDyn(&[0, 5])))));
        round_trip(Datum::Partial(Partial {
            count: 12,
            acc: Block::F64(a.clone()),
            m2: Some(a.mapv(|x| x * x)),
        }));
        round_trip(Datum::Partial(Partial {
            count: 3,
            acc: Block::I64(a.mapv(|x| x as i64)),
            m2: None,
        }));
    }

    #[test]
    fn a_full_disk_is_an_error_that_says_so() {
        // A spill file that is /dev/full: writing it fails with ENOSPC, as on a full disk.
        if !std::path::Path::new("/dev/full").exists() {
            return;
        }
        let store = SpillStore::new(None);
        let dir = store.dir().unwrap();
        let file = dir.join("3.bin");
        std::os::unix::fs::symlink("/dev/full", &file).unwrap();
        let v = Datum::Block(Block::F64(ArrayD::zeros(IxDyn(&[1000]))));
        let err = store.write(3, &v).unwrap_err();
        let kind = err.io_error().map(std::io::Error::kind);
        assert_eq!(kind, Some(std::io::ErrorKind::StorageFull), "{err:?}");
        let e = err.to_string();
        assert!(e.contains("3.bin") && e.contains("is full"), "{e}");
        assert!(e.contains("spill_dir (--spill-dir)"), "{e}");
        assert!(!exists(&file), "the partial file is removed");
        drop(store);
        assert!(!exists(&dir), "the spill directory is removed");
    }

    #[test]
    fn unwritable_directory_is_a_clear_error() {
        let store = SpillStore::new(Some(PathBuf::from("/nonexistent/brickwork")));
        let v = Datum::Block(Block::F64(ArrayD::zeros(IxDyn(&[2]))));
        let e = store.write(0, &v).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/brickwork"), "{e}");
        assert!(e.contains("spill directory"), "{e}");
        assert!(e.contains("spill_dir (--spill-dir)"), "{e}");
    }
}
