//! NumPy `.npy` files: [`NpyFile`] reads one as a chunked source, [`NpyWriter`] writes one
//! block by block.
//!
//! Reading supports format versions 1.0, 2.0 and 3.0, every brickwork dtype (`|b1`, `|i1`,
//! `|u1`, `<i2` … `<f8`) in either byte order, C order and Fortran order, and any shape
//! including 0-d and empty arrays. The data is memory-mapped (see the [module
//! docs](crate::io#memory-mapping) for the contract: the file must not be modified while it
//! is open) and each chunk is copied out into a standard-layout block, converting the byte
//! order and Fortran layout on the way. Structured, string, complex, float16 and object
//! dtypes are refused with an error naming the descr.
//!
//! Writing produces what `numpy.save` does for a C-contiguous little-endian array: a version
//! 1.0 header (2.0 when the header exceeds 65535 bytes) padded to 64 bytes, then the data.

use std::path::Path;

use crate::block::Block;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::grid::{ChunkGrid, Region, fmt_shape};
use crate::store::BlockRead;
use crate::store::Sink;

use super::{BlockFileWriter, ByteOrder, DEFAULT_CHUNK_BYTES, MappedArray, MappedLayout, map_file};

/// The magic string every `.npy` file starts with.
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// A `.npy` file opened as a chunked, memory-mapped array source.
///
/// ```no_run
/// use std::sync::Arc;
/// use brickwork::{Array, io::npy::NpyFile};
/// # fn main() -> brickwork::Result<()> {
/// let x = Array::from_source(Arc::new(NpyFile::open("x.npy".as_ref(), None)?));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct NpyFile {
    array: MappedArray,
    version: (u8, u8),
}

impl NpyFile {
    /// Opens and maps `path`, checking its header against its size.
    ///
    /// `chunks` is the read-chunk shape; `None` picks chunks of about 64 MiB cut along the
    /// first axis for C-order files and along the last axis for Fortran-order files, so that
    /// each chunk is a contiguous byte range ([`default_chunks`](super::default_chunks)).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be opened or mapped; [`Error::Format`] when the
    /// header is malformed or unsupported, or the file size does not match it;
    /// [`Error::InvalidArgument`] when `chunks` does not fit the shape.
    pub fn open(path: &Path, chunks: Option<&[usize]>) -> Result<NpyFile> {
        Self::open_with(path, chunks, DEFAULT_CHUNK_BYTES)
    }

    /// Opens and maps `path` as [`NpyFile::open`] does with its default chunks, but in read
    /// chunks (bands) of about `band_bytes` ([`banded_chunks`](super::banded_chunks)); see
    /// [`band_bytes`](super::band_bytes) for the size that suits a memory limit.
    ///
    /// # Errors
    /// As [`NpyFile::open`].
    pub fn open_in_bands(path: &Path, band_bytes: usize) -> Result<NpyFile> {
        Self::open_with(path, None, band_bytes)
    }

    fn open_with(path: &Path, chunks: Option<&[usize]>, band_bytes: usize) -> Result<NpyFile> {
        let (map, file_len) = map_file(path)?;
        let bytes = map.as_deref().unwrap_or(&[]);
        let header = parse_file_header(bytes).map_err(|detail| Error::Format {
            file: path.to_path_buf(),
            detail,
        })?;
        let describe = format!(
            "a {} array of shape {} after a {}-byte header",
            header.dtype,
            fmt_shape(&header.shape),
            header.offset
        );
        let layout = MappedLayout {
            offset: header.offset,
            shape: header.shape,
            dtype: header.dtype,
            order: header.order,
            fortran_order: header.fortran_order,
            chunks,
            band_bytes,
        };
        let array = MappedArray::new(path, map, file_len, layout, &describe)?;
        Ok(NpyFile {
            array,
            version: header.version,
        })
    }

    /// The byte order of the data in the file.
    pub fn byte_order(&self) -> ByteOrder {
        self.array.order
    }

    /// True when the file stores the array in Fortran (column-major) order.
    pub fn fortran_order(&self) -> bool {
        self.array.fortran_order
    }

    /// The format version, `(1, 0)`, `(2, 0)` or `(3, 0)`.
    pub fn version(&self) -> (u8, u8) {
        self.version
    }
}

impl BlockRead for NpyFile {
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

/// What a `.npy` header says.
#[derive(Debug)]
struct Header {
    version: (u8, u8),
    /// Byte offset of the data.
    offset: usize,
    dtype: DType,
    order: ByteOrder,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Parses the magic string, version, header length and header dictionary.
fn parse_file_header(bytes: &[u8]) -> Result<Header, String> {
    if bytes.len() < 8 || &bytes[..6] != MAGIC {
        return Err("not a .npy file (it does not start with the magic string \\x93NUMPY)".into());
    }
    let version = (bytes[6], bytes[7]);
    let (len_bytes, prelude) = match version {
        (1, 0) => (2, 10),
        (2, 0) | (3, 0) => (4, 12),
        (major, minor) => {
            return Err(format!(
                "unsupported .npy format version {major}.{minor} (supported: 1.0, 2.0, 3.0)"
            ));
        }
    };
    let truncated = || {
        format!(
            "the .npy header is truncated (the file has {} bytes)",
            bytes.len()
        )
    };
    let len_field = bytes.get(8..8 + len_bytes).ok_or_else(truncated)?;
    let header_len = len_field
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    let offset = prelude + header_len;
    let text = bytes.get(prelude..offset).ok_or_else(truncated)?;
    let text = std::str::from_utf8(text).map_err(|e| {
        format!(
            "the .npy header is not text (bad byte at {})",
            prelude + e.valid_up_to()
        )
    })?;
    let dict = parse_dict(text)?;
    let (dtype, order) = parse_descr(&dict.descr)?;
    Ok(Header {
        version,
        offset,
        dtype,
        order,
        fortran_order: dict.fortran_order,
        shape: dict.shape,
    })
}

/// The three keys of a header dictionary.
struct HeaderDict {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

fn parse_dict(text: &str) -> Result<HeaderDict, String> {
    let mut p = Parser { text, pos: 0 };
    let Lit::Dict(items) = p.value(0)? else {
        return Err(format!(
            "the .npy header is not a dictionary: {:?}",
            text.trim()
        ));
    };
    p.skip_ws();
    if p.pos != text.len() {
        return Err(p.error("end of the header"));
    }
    let get = |key: &str| {
        let mut values = items
            .iter()
            .filter(|(k, _)| matches!(k, Lit::Str(s) if s == key))
            .map(|(_, v)| v);
        match (values.next(), values.next()) {
            (Some(v), None) => Ok(v),
            (None, _) => Err(format!(
                "the .npy header has no {key:?} key: {:?}",
                text.trim()
            )),
            // Python keeps the last, NumPy never writes two: which was meant is unknown.
            (Some(_), Some(_)) => Err(format!(
                "the .npy header has the key {key:?} twice: {:?}",
                text.trim()
            )),
        }
    };
    let descr = match get("descr")? {
        Lit::Str(s) => s.clone(),
        _ => {
            return Err(format!(
                "structured dtypes are not supported (descr in header {:?})",
                text.trim()
            ));
        }
    };
    let fortran_order = match get("fortran_order")? {
        Lit::Bool(b) => *b,
        _ => return Err("'fortran_order' in the .npy header is not True or False".into()),
    };
    let shape = match get("shape")? {
        Lit::Seq(dims) => dims
            .iter()
            .map(|d| match d {
                Lit::Int(n) => usize::try_from(*n).ok(),
                _ => None,
            })
            .collect::<Option<Vec<usize>>>(),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "'shape' in the .npy header is not a tuple of sizes: {:?}",
            text.trim()
        )
    })?;
    Ok(HeaderDict {
        descr,
        fortran_order,
        shape,
    })
}

/// A Python literal in a `.npy` header.
#[derive(Debug)]
enum Lit {
    Str(String),
    Bool(bool),
    Int(u64),
    None,
    /// A tuple or a list.
    Seq(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

/// How deeply literals may nest (a garbage header must not overflow the stack).
const MAX_DEPTH: usize = 16;

/// A recursive-descent parser for the subset of Python literals `.npy` headers use.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, expected: &str) -> String {
        let rest: String = self.text[self.pos..].chars().take(20).collect();
        format!(
            "malformed .npy header: expected {expected} at character {} (found {rest:?}) in {:?}",
            self.pos,
            self.text.trim()
        )
    }

    fn skip_ws(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Lit, String> {
        if depth > MAX_DEPTH {
            return Err(self.error("less nesting"));
        }
        self.skip_ws();
        match self.peek() {
            Some('{') => self.dict(depth),
            Some('(') => self.seq(')', depth),
            Some('[') => self.seq(']', depth),
            Some(q @ ('\'' | '"')) => self.string(q),
            Some(c) if c.is_ascii_digit() => self.int(),
            Some(c) if c.is_ascii_alphabetic() => self.word(),
            _ => Err(self.error("a value")),
        }
    }

    fn dict(&mut self, depth: usize) -> Result<Lit, String> {
        self.pos += 1;
        let mut items = Vec::new();
        while !self.eat('}') {
            let key = self.value(depth + 1)?;
            if !self.eat(':') {
                return Err(self.error("':'"));
            }
            items.push((key, self.value(depth + 1)?));
            if self.eat('}') {
                break;
            }
            if !self.eat(',') {
                return Err(self.error("',' or '}'"));
            }
        }
        Ok(Lit::Dict(items))
    }

    fn seq(&mut self, close: char, depth: usize) -> Result<Lit, String> {
        self.pos += 1;
        let mut items = Vec::new();
        while !self.eat(close) {
            items.push(self.value(depth + 1)?);
            if self.eat(close) {
                break;
            }
            if !self.eat(',') {
                return Err(self.error(&format!("',' or '{close}'")));
            }
        }
        Ok(Lit::Seq(items))
    }

    fn string(&mut self, quote: char) -> Result<Lit, String> {
        self.pos += 1;
        let mut s = String::new();
        let mut chars = self.text[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                c if c == quote => {
                    self.pos += i + 1;
                    return Ok(Lit::Str(s));
                }
                '\\' => s.extend(chars.next().map(|(_, c)| c)),
                c => s.push(c),
            }
        }
        Err(self.error(&format!("a closing {quote}")))
    }

    fn int(&mut self) -> Result<Lit, String> {
        let rest = &self.text[self.pos..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let n = rest[..digits]
            .parse::<u64>()
            .map_err(|_| self.error("a size that fits in 64 bits"))?;
        self.pos += digits;
        // Python 2 wrote long integers as `3L`.
        if self.peek() == Some('L') {
            self.pos += 1;
        }
        Ok(Lit::Int(n))
    }

    fn word(&mut self) -> Result<Lit, String> {
        let rest = &self.text[self.pos..];
        let len = rest.len()
            - rest
                .trim_start_matches(|c: char| c.is_ascii_alphanumeric())
                .len();
        let lit = match &rest[..len] {
            "True" => Lit::Bool(true),
            "False" => Lit::Bool(false),
            "None" => Lit::None,
            _ => return Err(self.error("True, False or None")),
        };
        self.pos += len;
        Ok(lit)
    }
}

/// Maps a NumPy type string (`<f8`, `|b1`, `>i4`, …) to a dtype and byte order.
fn parse_descr(descr: &str) -> Result<(DType, ByteOrder), String> {
    let (order, code) = match descr.as_bytes().first() {
        Some(b'<') => (ByteOrder::Little, &descr[1..]),
        Some(b'>') => (ByteOrder::Big, &descr[1..]),
        Some(b'|' | b'=') => (ByteOrder::NATIVE, &descr[1..]),
        _ => (ByteOrder::NATIVE, descr),
    };
    let dtype = match code {
        "b1" | "?" => DType::Bool,
        "i1" => DType::I8,
        "i2" => DType::I16,
        "i4" => DType::I32,
        "i8" => DType::I64,
        "u1" => DType::U8,
        "u2" => DType::U16,
        "u4" => DType::U32,
        "u8" => DType::U64,
        "f4" => DType::F32,
        "f8" => DType::F64,
        "c8" => DType::C64,
        "c16" => DType::C128,
        _ => {
            return Err(format!(
                "dtype {descr:?} is not supported (brickwork reads bool, int8-int64, \
                 uint8-uint64, float32, float64, complex64 and complex128 in either byte order)"
            ));
        }
    };
    Ok((dtype, order))
}

/// A Python tuple literal: `()`, `(5,)`, `(3, 4)`.
fn py_tuple(shape: &[usize]) -> String {
    match shape {
        [] => "()".into(),
        [n] => format!("({n},)"),
        _ => fmt_shape(shape),
    }
}

/// The complete header of a little-endian C-order `.npy` file: magic, version, length and
/// dictionary, padded with spaces and a newline to a multiple of 64 bytes (as `numpy.save`
/// does). Version 1.0 unless the dictionary needs more than 65535 bytes.
pub fn header_bytes(shape: &[usize], dtype: DType) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        dtype.numpy_descr(),
        py_tuple(shape)
    );
    let padded = |prelude: usize| (prelude + dict.len() + 1).div_ceil(64) * 64 - prelude;
    let (version, prelude) = if padded(10) <= usize::from(u16::MAX) {
        (1u8, 10)
    } else {
        (2, 12)
    };
    let header_len = padded(prelude);
    let mut out = Vec::with_capacity(prelude + header_len);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header_len as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(prelude + header_len - 1, b' ');
    out.push(b'\n');
    out
}

/// Writes a `.npy` file block by block, as a [`Sink`] for [`crate::Array::compute_into`].
///
/// The writer is told the chunk grid of the blocks it will receive (the grid of the array
/// being computed, [`crate::Array::chunks`]); each block is written at its C-order positions with
/// positioned writes, one per contiguous row segment, so blocks may arrive from any thread in
/// any order. [`NpyWriter::write_region`] writes a block at an explicit region instead.
/// Nothing appears at `path` until [`NpyWriter::finish`] renames the temporary file
/// `<path>.tmp` over it; dropping the writer without `finish` removes the temporary file.
///
/// ```no_run
/// use brickwork::{Array, ComputeOptions, io::npy::NpyWriter};
/// # fn main() -> brickwork::Result<()> {
/// let x = Array::random(&[1000, 1000], &[300, 300], 1)?;
/// let w = NpyWriter::create("x.npy".as_ref(), x.chunks()?, x.dtype(), false)?;
/// x.compute_into(&w, &ComputeOptions::default())?;
/// w.finish()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct NpyWriter {
    inner: BlockFileWriter,
}

impl NpyWriter {
    /// Creates `<path>.tmp` holding the header and a data area of the full size, for an
    /// array of shape `grid.shape()` and dtype `dtype` whose blocks are those of `grid`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `path` exists and `overwrite` is false;
    /// [`Error::Io`] when the temporary file cannot be created or sized.
    pub fn create(path: &Path, grid: &ChunkGrid, dtype: DType, overwrite: bool) -> Result<Self> {
        let header = header_bytes(&grid.shape(), dtype);
        let inner =
            BlockFileWriter::create(path, &header, grid, dtype, ByteOrder::Little, overwrite)?;
        Ok(NpyWriter { inner })
    }

    /// Writes `block` at `region` of the array (any region, not only a block of the grid).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the block's dtype or shape does not match, or the
    /// region is out of bounds; [`Error::Io`] when a write fails.
    pub fn write_region(&self, region: &Region, block: &Block) -> Result<()> {
        self.inner.write_region(region, block)
    }

    /// Syncs the file to disk and renames it to its final path.
    ///
    /// # Errors
    /// [`Error::Io`] when syncing or renaming fails; [`Error::InvalidArgument`] when the path
    /// was created by someone else meanwhile and `overwrite` was not given.
    pub fn finish(self) -> Result<()> {
        self.inner.finish()
    }
}

impl Sink for NpyWriter {
    fn consume(&self, block: &[usize], value: Block) -> Result<()> {
        self.inner.write_block(block, &value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_aligned_and_parse_back() {
        for shape in [vec![], vec![5], vec![3, 4], vec![0, 7, 2]] {
            for dtype in DType::ALL {
                let h = header_bytes(&shape, dtype);
                assert_eq!(h.len() % 64, 0);
                let parsed = parse_file_header(&h).unwrap();
                assert_eq!(parsed.shape, shape);
                assert_eq!(parsed.dtype, dtype);
                assert_eq!(parsed.offset, h.len());
                assert!(!parsed.fortran_order);
            }
        }
    }

    #[test]
    fn garbage_headers_are_errors_not_panics() {
        let mut cases: Vec<Vec<u8>> = vec![
            vec![],
            b"\x93NUMPY".to_vec(),
            b"\x93NUMPY\x01\x00".to_vec(),
            b"\x93NUMPY\x01\x00\xff\xff{".to_vec(),
            b"\x93NUMPY\x04\x00\x00\x00".to_vec(),
        ];
        let h = header_bytes(&[3, 4], DType::F64);
        for cut in 0..h.len() {
            cases.push(h[..cut].to_vec());
        }
        for text in [
            "{'descr': '<c32', 'fortran_order': False, 'shape': (3,), }",
            "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }",
            "{'descr': '<f8', 'fortran_order': 1, 'shape': (3,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
            "{'descr': '<f8', 'fortran_order': False}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': ((((((((((((((((((((,), }",
            "{'descr': '<f8 'fortran_order': False, 'shape': (3,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), } x",
            "{'descr': '<f8', 'descr': '<i1', 'fortran_order': False, 'shape': (3,), }",
            "\u{e9}",
        ] {
            let mut v = b"\x93NUMPY\x03\x00".to_vec();
            v.extend_from_slice(&(text.len() as u32).to_le_bytes());
            v.extend_from_slice(text.as_bytes());
            cases.push(v);
        }
        for case in cases {
            assert!(parse_file_header(&case).is_err(), "{case:?}");
        }
    }

    #[test]
    fn accepts_python_variants() {
        let d = parse_dict("{\"shape\": [2L, 3], 'fortran_order': True, 'descr': '>u2'}").unwrap();
        assert_eq!(d.shape, vec![2, 3]);
        assert!(d.fortran_order);
        assert_eq!(parse_descr(&d.descr).unwrap(), (DType::U16, ByteOrder::Big));
    }
}
