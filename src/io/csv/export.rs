//! Writing CSV text: [`write_csv`] of one block, and the [`CsvWriter`] that
//! [`crate::Array::to_csv`] appends bands of rows to, formatted in parallel.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::Path;

use ndarray::{ArrayD, ArrayView2, Axis, Ix1, Ix2, Slice};
use rayon::prelude::*;

use crate::block::{Block, BlockElement};
use crate::error::{Error, Result};
use crate::grid::{AxisChunks, fmt_shape};

use super::parse::check_delimiter;
#[cfg(doc)]
use super::parse::read_csv;
use crate::io::{DEFAULT_CHUNK_BYTES, TempFile};

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
    check_writable(block.shape(), delimiter)?;
    let mut writer = CsvWriter::create(path, delimiter, overwrite, FORMAT_BYTES)?;
    writer.append(block)?;
    writer.finish()
}

/// Refuses what CSV cannot hold: a rank other than 1 or 2, a bad delimiter.
pub(crate) fn check_writable(shape: &[usize], delimiter: u8) -> Result<()> {
    check_delimiter(delimiter)?;
    if !matches!(shape.len(), 1 | 2) {
        return Err(Error::invalid(format!(
            "CSV holds 1-D or 2-D arrays, not an array of shape {}",
            fmt_shape(shape)
        )));
    }
    Ok(())
}

/// The row bands [`crate::Array::to_csv`] computes: whole chunks of `axis` grouped up to
/// [`DEFAULT_CHUNK_BYTES`] and half of `limit`; a chunk over half of `limit` is cut into
/// equal bands under it.
pub(crate) fn row_bands(axis: &AxisChunks, row_bytes: u64, limit: u64) -> Vec<Range<usize>> {
    let rows_in = |bytes: u64| {
        usize::try_from(bytes / row_bytes)
            .unwrap_or(usize::MAX)
            .max(1)
    };
    let most = rows_in(limit / 2);
    let group = rows_in(DEFAULT_CHUNK_BYTES as u64).min(most);
    let mut bands = Vec::new();
    let mut current = 0..0;
    for i in 0..axis.nchunks() {
        let chunk = axis.start(i)..axis.start(i) + axis.size(i);
        if chunk.len() > most || current.len() + chunk.len() > group {
            bands.extend((!current.is_empty()).then(|| current.clone()));
            current = chunk.start..chunk.start;
        }
        if chunk.len() > most {
            let parts = chunk.len().div_ceil(most);
            let cut = |p: usize| chunk.start + p * chunk.len() / parts;
            bands.extend((0..parts).map(|p| cut(p)..cut(p + 1)));
            current = chunk.end..chunk.end;
        } else {
            current.end = chunk.end;
        }
    }
    bands.extend((!current.is_empty()).then_some(current));
    bands
}

/// A CSV file being written row by row to `<path>.tmp`, renamed over `path` by `finish`.
pub(crate) struct CsvWriter {
    temp: TempFile,
    out: BufWriter<File>,
    delimiter: u8,
    /// The text formatted at once, about.
    format_bytes: usize,
}

impl CsvWriter {
    /// Refuses an existing `path` unless `overwrite`; creates `<path>.tmp`. Rows are
    /// formatted about `format_bytes` of text at a time.
    pub(crate) fn create(
        path: &Path,
        delimiter: u8,
        overwrite: bool,
        format_bytes: usize,
    ) -> Result<CsvWriter> {
        let (temp, file) = TempFile::create(path, overwrite)?;
        Ok(CsvWriter {
            temp,
            out: BufWriter::with_capacity(1 << 20, file),
            delimiter,
            format_bytes,
        })
    }

    /// Appends the rows of a 1-D (one value per line) or 2-D block.
    pub(crate) fn append(&mut self, rows: &Block) -> Result<()> {
        let (delimiter, text) = (self.delimiter, self.format_bytes);
        crate::dispatch_block!(rows, a => write_rows(&mut self.out, a, delimiter, text))
            .map_err(|e| self.temp.io(e))
    }

    /// Flushes, syncs and renames the file over the target.
    pub(crate) fn finish(self) -> Result<()> {
        let file = self
            .out
            .into_inner()
            .map_err(|e| self.temp.io(e.into_error()))?;
        self.temp.commit(&file)
    }
}

/// The text [`write_rows`] formats at once, about (less under a small memory limit).
pub(crate) const FORMAT_BYTES: usize = 2 << 20;

/// Writes the rows of `a` (1-D: one value per line), formatting groups of rows in parallel on
/// the current rayon pool, about `text_bytes` of text at a time.
pub(super) fn write_rows<T: FormatCell>(
    out: &mut impl Write,
    a: &ArrayD<T>,
    delimiter: u8,
    text_bytes: usize,
) -> std::io::Result<()> {
    let rows = match a.view().into_dimensionality::<Ix1>() {
        Ok(col) => col.insert_axis(Axis(1)),
        Err(_) => a
            .view()
            .into_dimensionality::<Ix2>()
            .map_err(std::io::Error::other)?,
    };
    let groups = 2 * rayon::current_num_threads();
    // Up to 24 characters and a delimiter per value.
    let group_rows = (text_bytes / groups / (25 * rows.ncols().max(1))).max(1);
    let starts: Vec<usize> = (0..rows.nrows()).step_by(group_rows).collect();
    for wave in starts.chunks(groups) {
        let texts: Vec<String> = wave
            .par_iter()
            .map(|&start| {
                let end = (start + group_rows).min(rows.nrows());
                format_rows(rows.slice_axis(Axis(0), Slice::from(start..end)), delimiter)
            })
            .collect();
        for text in texts {
            out.write_all(text.as_bytes())?;
        }
    }
    Ok(())
}

/// The CSV text of `rows`, one line each.
pub(super) fn format_rows<T: FormatCell>(rows: ArrayView2<'_, T>, delimiter: u8) -> String {
    let mut text = String::new();
    for row in rows.rows() {
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                text.push(char::from(delimiter));
            }
            v.format_cell(&mut text);
        }
        text.push('\n');
    }
    text
}

/// Formats one element as CSV text.
pub(super) trait FormatCell: BlockElement {
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

macro_rules! format_cell_complex {
    ($($t:ty),*) => {$(
        /// Python's `complex` text without parentheses: `1.5-2.0j`, read back by `complex()`,
        /// NumPy's `loadtxt(dtype=complex)` and this crate's import.
        impl FormatCell for $t {
            fn format_cell(&self, out: &mut String) {
                self.re.format_cell(out);
                if !(self.im.is_sign_negative() && !self.im.is_nan()) {
                    out.push('+');
                }
                self.im.format_cell(out);
                out.push('j');
            }
        }
    )*};
}

format_cell_complex!(crate::Complex64, crate::Complex128);
