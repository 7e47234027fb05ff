//! Reading CSV text: the format ([`CsvFormat`]), the first pass over a file ([`CsvFile::scan`]),
//! parsing rows into elements, the errors naming file, line and field, and [`read_csv`] of a
//! small file into one block.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

use crate::block::{Block, BlockElement};
use crate::dtype::DType;
use crate::error::{Error, Result};

use super::lines::{Batch, Lines};

/// How a CSV file is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CsvFormat {
    /// The field delimiter: one ASCII byte other than a line end; a space also accepts runs
    /// of spaces and tabs. Default `b','`.
    pub delimiter: u8,
    /// Lines skipped at the top of the file (headers). Default 0.
    pub skip_header: usize,
    /// The element type values are parsed as. Default [`DType::F64`].
    pub dtype: DType,
}

impl Default for CsvFormat {
    fn default() -> Self {
        CsvFormat {
            delimiter: b',',
            skip_header: 0,
            dtype: DType::F64,
        }
    }
}

/// Reads a numeric CSV file into one in-memory block.
///
/// The first `skip_header` lines are skipped; empty lines at the end are ignored. A file
/// whose rows all have one field gives a 1-D array (one value per line); otherwise every row
/// must have the same number of fields and the result is 2-D, rows × columns.
///
/// Values are parsed as `float64` unless `dtype` is given: floats accept what Rust's `f64`
/// parser accepts (`1.5`, `-2e-3`, `nan`, `inf`, `-infinity`, any case), integer dtypes
/// parse integers exactly (no fraction, in range), `bool` accepts `True`, `False`, `true`,
/// `false`, `1` and `0`. Spaces around a value are ignored.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] naming the file, the
/// 1-based line and field and the offending text when a value does not parse, a field is
/// empty, a line before the last data row is empty, a row has a different number of fields,
/// the text is not UTF-8, or there is no data row (an empty file, only header lines);
/// [`Error::InvalidArgument`] for a non-ASCII delimiter.
pub fn read_csv(
    path: &Path,
    delimiter: u8,
    skip_header: usize,
    dtype: Option<DType>,
) -> Result<Block> {
    let format = CsvFormat {
        delimiter,
        skip_header,
        dtype: dtype.unwrap_or(DType::F64),
    };
    let file = CsvFile::new(path, &format)?;
    let table = file.scan()?;
    let mut lines = file.data_lines()?;
    crate::dispatch_dtype!(format.dtype, T => {
        file.read_band::<T>(&mut lines, &table, table.rows).map(T::wrap)
    })
}

/// What the first pass found.
#[derive(Clone, Copy, Debug)]
pub(super) struct Table {
    /// Data rows.
    pub(super) rows: usize,
    /// Fields per row.
    pub(super) cols: usize,
    /// Bytes read.
    pub(super) bytes: u64,
}

impl Table {
    /// `(rows,)` for one field per row, else `(rows, cols)`.
    pub(super) fn shape(&self) -> Vec<usize> {
        if self.cols == 1 {
            vec![self.rows]
        } else {
            vec![self.rows, self.cols]
        }
    }

    /// Bytes of one row of elements of `dtype`.
    pub(super) fn row_bytes(&self, dtype: DType) -> u64 {
        (self.cols * dtype.size()) as u64
    }
}

/// A CSV file read with a format: it reads lines and rows, and words the errors.
pub(super) struct CsvFile<'a> {
    pub(super) path: &'a Path,
    pub(super) format: &'a CsvFormat,
}

impl<'a> CsvFile<'a> {
    /// Checks the format's delimiter.
    pub(super) fn new(path: &'a Path, format: &'a CsvFormat) -> Result<Self> {
        check_delimiter(format.delimiter)?;
        Ok(CsvFile { path, format })
    }

    /// The lines after the header.
    pub(super) fn data_lines(&self) -> Result<Lines> {
        let mut lines = Lines::open(self.path)?;
        lines.skip(self.format.skip_header)?;
        Ok(lines)
    }

    /// The first pass: counts the data rows and checks their structure (see the module doc).
    pub(super) fn scan(&self) -> Result<Table> {
        let mut lines = self.data_lines()?;
        let mut table: Option<Table> = None;
        let mut empty_line = None;
        while let Some((line, text)) = lines.next_line()? {
            if text.trim().is_empty() {
                empty_line.get_or_insert(line);
                continue;
            }
            if let Some(empty) = empty_line {
                return Err(self.error(format!(
                    "line {empty} is empty (empty lines are allowed only at the end of the file)"
                )));
            }
            match &mut table {
                Some(t) => {
                    self.check_row(line, text, t.cols)?;
                    t.rows += 1;
                }
                None => {
                    let cols = self.check_first_row(line, text)?;
                    table = Some(Table {
                        rows: 1,
                        cols,
                        bytes: 0,
                    });
                }
            }
        }
        let mut table = table.ok_or_else(|| self.no_rows(lines.number))?;
        table.bytes = lines.bytes;
        Ok(table)
    }

    /// Parses the first data row (so that a header line that was not skipped is refused
    /// before anything is written); returns its number of fields.
    pub(super) fn check_first_row(&self, line: usize, text: &str) -> Result<usize> {
        crate::dispatch_dtype!(self.format.dtype, T => {
            for_each_field(text, self.format.delimiter, |col, field| {
                T::parse_cell(field.trim())
                    .map(drop)
                    .ok_or_else(|| self.cell_error(line, col, field, self.format.dtype, true))
            })
        })
    }

    /// Checks that a data row has `cols` fields (counting delimiters: the values are parsed
    /// by the second pass).
    pub(super) fn check_row(&self, line: usize, text: &str, cols: usize) -> Result<()> {
        let n = match self.format.delimiter {
            b' ' => text.split_ascii_whitespace().count(),
            d => text.bytes().filter(|&b| b == d).count() + 1,
        };
        if n != cols {
            return Err(self.ragged(line, text, n, cols));
        }
        Ok(())
    }

    /// Parses the next `rows` data rows into a `(rows,)` or `(rows, cols)` array, a batch of
    /// lines at a time, the lines of a batch in parallel (on the current rayon pool).
    pub(super) fn read_band<T: ParseCell>(
        &self,
        lines: &mut Lines,
        table: &Table,
        rows: usize,
    ) -> Result<ArrayD<T>> {
        let cols = table.cols;
        let mut values = vec![T::default(); rows * cols];
        let mut batch = Batch::default();
        let mut done = 0;
        while done < rows {
            lines.read_batch(rows - done, &mut batch)?;
            if batch.lines.is_empty() {
                return Err(self.changed());
            }
            let n = batch.lines.len();
            self.parse_batch(&batch, &mut values[done * cols..(done + n) * cols], cols)?;
            done += n;
        }
        let shape = match table.shape().len() {
            1 => vec![rows],
            _ => vec![rows, cols],
        };
        ArrayD::from_shape_vec(IxDyn(&shape), values)
            .map_err(|e| Error::internal_from("CSV band assembly", e))
    }

    /// Parses the lines of `batch` in parallel into `out`, `cols` values per line; the
    /// error of the first line that fails.
    pub(super) fn parse_batch<T: ParseCell>(
        &self,
        batch: &Batch,
        out: &mut [T],
        cols: usize,
    ) -> Result<()> {
        let first_error = batch
            .lines
            .par_iter()
            .zip(out.par_chunks_mut(cols))
            .filter_map(|((line, range), row)| {
                let text = std::str::from_utf8(&batch.text[range.clone()]);
                let parsed = match text {
                    Ok(text) if !text.trim().is_empty() => self.parse_row(*line, text, row),
                    Ok(_) => Err(self.changed()),
                    Err(_) => Err(self.error(format!("line {line}: the file is not UTF-8 text"))),
                };
                parsed.err().map(|e| (*line, e))
            })
            .min_by_key(|(line, _)| *line);
        first_error.map_or(Ok(()), |(_, e)| Err(e))
    }

    /// Parses one data row into `row`, which has room for its fields.
    pub(super) fn parse_row<T: ParseCell>(
        &self,
        line: usize,
        text: &str,
        row: &mut [T],
    ) -> Result<()> {
        let n = for_each_field(text, self.format.delimiter, |col, field| {
            if let Some(v) = row.get_mut(col) {
                *v = T::parse_cell(field.trim())
                    .ok_or_else(|| self.cell_error(line, col, field, T::DTYPE, false))?;
            }
            Ok(())
        })?;
        if n != row.len() {
            return Err(self.ragged(line, text, n, row.len()));
        }
        Ok(())
    }

    /// Identifies the import of this file in this format, for a resumed write: the file's
    /// canonical path, size and modification time, and the format.
    pub(super) fn fingerprint(&self) -> Result<String> {
        let meta = std::fs::metadata(self.path).map_err(|source| Error::Io {
            path: self.path.to_path_buf(),
            source,
        })?;
        let mut h = DefaultHasher::new();
        self.path
            .canonicalize()
            .unwrap_or_else(|_| self.path.to_path_buf())
            .hash(&mut h);
        meta.len().hash(&mut h);
        meta.modified().ok().hash(&mut h);
        self.format.hash(&mut h);
        Ok(format!("{:016x}", h.finish()))
    }

    pub(super) fn error(&self, detail: String) -> Error {
        Error::Format {
            file: self.path.to_path_buf(),
            detail,
        }
    }

    /// A field that is empty or does not parse; `first` adds the hint for a header line.
    pub(super) fn cell_error(
        &self,
        line: usize,
        col: usize,
        field: &str,
        dtype: DType,
        first: bool,
    ) -> Error {
        let field = field.trim();
        let col = col + 1;
        if field.is_empty() {
            return self.error(format!(
                "line {line}, field {col} is empty (missing values are not supported)"
            ));
        }
        let mut detail = format!(
            "line {line}, field {col}: cannot parse {:?} as {dtype}",
            clip(field)
        );
        if first {
            detail += &format!(
                "; if line {line} is a header, skip it (skip_header {line}, --skip-header {line} in the CLI)"
            );
        }
        self.error(detail)
    }

    /// A row with `n` fields where the others have `cols`.
    pub(super) fn ragged(&self, line: usize, text: &str, n: usize, cols: usize) -> Error {
        self.error(format!(
            "line {line}: {n} field(s) where the rows above have {cols}: {:?}",
            clip(text)
        ))
    }

    /// No data row after `lines` lines.
    pub(super) fn no_rows(&self, lines: usize) -> Error {
        let skip = self.format.skip_header;
        self.error(if lines == 0 {
            "the file is empty (no data rows)".into()
        } else if lines <= skip {
            format!("no data rows: the file has {lines} line(s) and {skip} are skipped as header")
        } else {
            format!("no data rows: after {skip} header line(s) the file has only empty lines")
        })
    }

    /// The second pass found fewer rows than the first.
    pub(super) fn changed(&self) -> Error {
        self.error("the file changed while it was read (fewer data rows than counted)".into())
    }
}

/// At most 60 characters of `text`, for messages.
pub(super) fn clip(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// Calls `f` with the 0-based index and the text of each field of `line`; returns the number
/// of fields.
pub(super) fn for_each_field(
    line: &str,
    delimiter: u8,
    mut f: impl FnMut(usize, &str) -> Result<()>,
) -> Result<usize> {
    let mut n = 0;
    let mut each = |field: &str| {
        f(n, field)?;
        n += 1;
        Ok::<(), Error>(())
    };
    if delimiter == b' ' {
        line.split_ascii_whitespace().try_for_each(&mut each)?;
    } else {
        line.split(char::from(delimiter)).try_for_each(&mut each)?;
    }
    Ok(n)
}

pub(super) fn check_delimiter(delimiter: u8) -> Result<()> {
    if !delimiter.is_ascii() || delimiter == b'\n' || delimiter == b'\r' {
        return Err(Error::invalid(format!(
            "CSV delimiter {:?} must be one ASCII character other than a line end",
            char::from(delimiter)
        )));
    }
    Ok(())
}

/// Parses one CSV field as an element.
pub(super) trait ParseCell: BlockElement {
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

macro_rules! parse_cell_complex {
    ($($t:ty),*) => {$(
        impl ParseCell for $t {
            fn parse_cell(s: &str) -> Option<$t> {
                let (re, im) = parse_complex(s)?;
                Some(<$t>::new(re as _, im as _))
            }
        }
    )*};
}

parse_cell_complex!(crate::Complex64, crate::Complex128);

/// Python's `complex(text)` forms: `1+2j`, `(1-2.5e-3j)`, `2j`, `-j`, `3`, `nan+infj`.
pub(crate) fn parse_complex(s: &str) -> Option<(f64, f64)> {
    let s = s.trim();
    let s = s
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or(s)
        .trim();
    let Some(body) = s.strip_suffix(['j', 'J']) else {
        return Some((s.parse().ok()?, 0.0));
    };
    // The sign that starts the imaginary part: the last `+`/`-` not at the start and not
    // an exponent's.
    let bytes = body.as_bytes();
    let split = (1..bytes.len())
        .rev()
        .find(|&i| matches!(bytes[i], b'+' | b'-') && !matches!(bytes[i - 1], b'e' | b'E'));
    let (re, im) = match split {
        Some(i) => (body[..i].trim().parse().ok()?, &body[i..]),
        None => (0.0, body),
    };
    let im = match im.trim() {
        "" | "+" => 1.0,
        "-" => -1.0,
        t => t.parse().ok()?,
    };
    Some((re, im))
}
