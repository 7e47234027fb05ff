//! Numeric CSV text: [`read_csv`] and [`write_csv`], for 1-D and 2-D arrays.
//!
//! CSV has no random access (a row's position depends on every row before it), so a CSV file
//! is read whole into one in-memory [`Block`]; wrap it with
//! [`Array::from_ndarray`](crate::Array::from_ndarray) to compute on it. Supported: one
//! numeric value per field, a one-byte ASCII delimiter (a space delimiter also accepts runs
//! of spaces and tabs, like NumPy's `loadtxt`), optional header lines to skip, `\n` or `\r\n`
//! line ends. Not supported: quoting, comments, missing values.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

use ndarray::{ArrayD, Ix1, Ix2, IxDyn};

use crate::block::{Block, BlockElement};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::grid::fmt_shape;

use super::TempFile;

/// Reads a numeric CSV file into a block.
///
/// The first `skip_header` lines are skipped; empty lines at the end are ignored. A file
/// whose rows all have one field gives a 1-D array (one value per line); otherwise every row
/// must have the same number of fields and the result is 2-D, rows × columns. A file with no
/// data rows gives an empty 1-D array.
///
/// Values are parsed as `float64` unless `dtype` is given: floats accept what Rust's `f64`
/// parser accepts (`1.5`, `-2e-3`, `nan`, `inf`, `-infinity`, any case), integer dtypes
/// parse integers exactly (no fraction, in range), `bool` accepts `True`, `False`, `true`,
/// `false`, `1` and `0`. Spaces around a value are ignored.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] naming the file, the
/// 1-based line, the field and the offending text when a value does not parse or a row has a
/// different number of fields; [`Error::InvalidArgument`] for a non-ASCII delimiter.
pub fn read_csv(
    path: &Path,
    delimiter: u8,
    skip_header: usize,
    dtype: Option<DType>,
) -> Result<Block> {
    check_delimiter(delimiter)?;
    let bytes = fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        format_error(path, format!("line {line}: the file is not UTF-8 text"))
    })?;
    let rows = data_rows(text, skip_header);
    let dtype = dtype.unwrap_or(DType::F64);
    crate::dispatch_dtype!(dtype, T => parse_rows::<T>(path, &rows, delimiter))
}

/// The data lines of `text` with their 1-based line numbers: after the header, before the
/// trailing empty lines.
fn data_rows(text: &str, skip_header: usize) -> Vec<(usize, &str)> {
    let mut rows: Vec<(usize, &str)> = text
        .split('\n')
        .enumerate()
        .skip(skip_header)
        .map(|(i, line)| (i + 1, line.strip_suffix('\r').unwrap_or(line)))
        .collect();
    while rows.last().is_some_and(|(_, l)| l.trim().is_empty()) {
        rows.pop();
    }
    rows
}

fn check_delimiter(delimiter: u8) -> Result<()> {
    if !delimiter.is_ascii() || delimiter == b'\n' || delimiter == b'\r' {
        return Err(Error::invalid(format!(
            "CSV delimiter {:?} must be one ASCII character other than a line end",
            char::from(delimiter)
        )));
    }
    Ok(())
}

fn format_error(path: &Path, detail: String) -> Error {
    Error::Format {
        file: path.to_path_buf(),
        detail,
    }
}

/// Splits one line into fields.
fn fields(line: &str, delimiter: u8) -> Vec<&str> {
    if delimiter == b' ' {
        line.split_ascii_whitespace().collect()
    } else {
        line.split(char::from(delimiter)).collect()
    }
}

fn parse_rows<T: ParseCell>(path: &Path, rows: &[(usize, &str)], delimiter: u8) -> Result<Block> {
    let mut values = Vec::new();
    let mut ncols = None;
    for &(line, text) in rows {
        let row = fields(text, delimiter);
        let (want, first) = *ncols.get_or_insert((row.len(), line));
        if row.len() != want {
            return Err(format_error(
                path,
                format!(
                    "line {line}: {} field(s) where line {first} has {want}: {text:?}",
                    row.len()
                ),
            ));
        }
        for (col, field) in row.iter().enumerate() {
            let v = T::parse_cell(field.trim()).ok_or_else(|| {
                format_error(
                    path,
                    format!(
                        "line {line}, field {}: cannot parse {field:?} as {}",
                        col + 1,
                        T::DTYPE
                    ),
                )
            })?;
            values.push(v);
        }
    }
    let shape = match ncols {
        Some((1, _)) | None => vec![values.len()],
        Some((n, _)) => vec![rows.len(), n],
    };
    let a = ArrayD::from_shape_vec(IxDyn(&shape), values)
        .map_err(|e| Error::internal(format!("CSV block assembly: {e}")))?;
    Ok(T::wrap(a))
}

/// Parses one CSV field as an element.
trait ParseCell: BlockElement {
    fn parse_cell(s: &str) -> Option<Self>;
}

impl ParseCell for bool {
    fn parse_cell(s: &str) -> Option<bool> {
        match s {
            "True" | "true" | "1" => Some(true),
            "False" | "false" | "0" => Some(false),
            _ => None,
        }
    }
}

macro_rules! parse_cell_fromstr {
    ($($t:ty),*) => {$(
        impl ParseCell for $t {
            fn parse_cell(s: &str) -> Option<$t> {
                s.parse().ok()
            }
        }
    )*};
}

parse_cell_fromstr!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

/// Writes a 1-D block (one value per line) or a 2-D block (one row per line, fields separated
/// by `delimiter`) as CSV text.
///
/// Floats are written in Rust's shortest round-trip form (`0.1`, `1e-7`, `1.0`), so
/// [`read_csv`] with the same dtype gives back the same bits; NaN is written `nan`, infinities
/// `inf` and `-inf`. Booleans are written `True` / `False`. The file is written to
/// `<path>.tmp` and renamed over `path` at the end.
///
/// # Errors
/// [`Error::InvalidArgument`] for a 0-d or more than 2-D block, a non-ASCII delimiter, or an
/// existing `path` without `overwrite`; [`Error::Io`] when writing fails.
pub fn write_csv(path: &Path, block: &Block, delimiter: u8, overwrite: bool) -> Result<()> {
    check_delimiter(delimiter)?;
    if !matches!(block.shape().len(), 1 | 2) {
        return Err(Error::invalid(format!(
            "CSV holds 1-D or 2-D arrays, not an array of shape {}",
            fmt_shape(block.shape())
        )));
    }
    let (temp, file) = TempFile::create(path, overwrite)?;
    let mut out = BufWriter::with_capacity(1 << 20, &file);
    crate::dispatch_block!(block, a => write_rows(&mut out, a, delimiter))
        .and_then(|()| out.flush())
        .map_err(|e| temp.io(e))?;
    drop(out);
    temp.commit(&file)
}

fn write_rows<T: FormatCell>(
    out: &mut impl Write,
    a: &ArrayD<T>,
    delimiter: u8,
) -> std::io::Result<()> {
    let mut line = String::new();
    let rows = match a.view().into_dimensionality::<Ix1>() {
        Ok(col) => col.insert_axis(ndarray::Axis(1)),
        Err(_) => a
            .view()
            .into_dimensionality::<Ix2>()
            .map_err(std::io::Error::other)?,
    };
    for row in rows.rows() {
        line.clear();
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                line.push(char::from(delimiter));
            }
            v.format_cell(&mut line);
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Formats one element as CSV text.
trait FormatCell: BlockElement {
    fn format_cell(&self, out: &mut String);
}

impl FormatCell for bool {
    fn format_cell(&self, out: &mut String) {
        out.push_str(if *self { "True" } else { "False" });
    }
}

macro_rules! format_cell_int {
    ($($t:ty),*) => {$(
        impl FormatCell for $t {
            fn format_cell(&self, out: &mut String) {
                use std::fmt::Write as _;
                let _ = write!(out, "{self}");
            }
        }
    )*};
}

format_cell_int!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! format_cell_float {
    ($($t:ty),*) => {$(
        impl FormatCell for $t {
            fn format_cell(&self, out: &mut String) {
                use std::fmt::Write as _;
                if self.is_nan() {
                    out.push_str("nan");
                } else if self.is_infinite() {
                    out.push_str(if *self > 0.0 { "inf" } else { "-inf" });
                } else {
                    // `{:?}` is the shortest text that parses back to the same bits.
                    let _ = write!(out, "{self:?}");
                }
            }
        }
    )*};
}

format_cell_float!(f32, f64);
