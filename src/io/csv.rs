//! Numeric CSV text for 1-D and 2-D arrays, streamed in bounded memory.
//!
//! - [`import`] writes a CSV file into a new Zarr array one *band* at a time: the rows of one
//!   row of output chunks (of shards, when sharded) across every column. It holds that band,
//!   the chunks being encoded and a batch of text, and refuses before creating the output
//!   when they cannot fit the memory limit.
//! - [`crate::Array::to_csv`] writes an array (any lazy computation) as CSV one band of rows at a time: each
//!   band is computed on all threads under the memory limit, formatted and appended, so the
//!   whole array is never in memory.
//! - [`read_csv`] and [`write_csv`] convert a small file to and from one in-memory [`Block`].
//!
//! Parsing and formatting, not the disk, bound the speed, so both run in parallel on the
//! computation's threads: lines are read ahead in batches of about 1 MiB of text and parsed
//! in parallel, rows are formatted in parallel groups of about 2 MiB of text in all.
//!
//! # Two passes over the file
//!
//! CSV has no random access and does not say how many rows it holds. [`import`] reads the
//! file twice: a first pass counts the data rows and checks the structure of every row (its
//! number of fields, no empty line before the last row, UTF-8 text, the first row parses)
//! without converting the values; the second pass parses and writes. The alternative,
//! growing the array as rows come and fixing its shape at the end, needs a Zarr array whose
//! shape changes while it is written, and creates the output before most malformed files
//! could be refused. The first pass costs one more sequential read of the file (from the page
//! cache when it fits; about 1 s per GB here) and holds one line; in exchange a file of the
//! wrong shape (ragged rows, an empty file, only a header, a header line that was not
//! skipped) is refused before the output exists. A value further down that is empty or does
//! not parse is found by the second pass, after the output was created: the output is then
//! removed (only fixing the file helps, and a changed file cannot be resumed). Other errors of
//! the second pass (a full disk, cancellation) leave it marked incomplete, to be resumed;
//! it is never marked complete.
//!
//! # Format
//!
//! One numeric value per field, a one-byte ASCII delimiter (a space delimiter also accepts
//! runs of spaces and tabs, like NumPy's `loadtxt`), optional header lines to skip, `\n` or
//! `\r\n` line ends, empty lines only at the end. Not supported: quoting, comments, missing
//! values. Errors name the file, the 1-based line (header lines count) and the 1-based field.

use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::{ArrayD, ArrayView2, Axis, Ix1, Ix2, IxDyn, Slice};
use rayon::prelude::*;

use crate::block::{Block, BlockElement};
use crate::config::ComputeOptions;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::grid::{AxisChunks, ChunkGrid, fmt_shape};
use crate::metrics::Metrics;
use crate::observe::ProgressEvent;
use crate::store::{WriteOptions, ZarrSink};

use super::{DEFAULT_CHUNK_BYTES, TempFile};

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

/// Imports the numeric CSV file `src` into a new Zarr array at `dst` in bounded memory;
/// returns the figures of the run.
///
/// The file is read as [`read_csv`] reads it, with `format`, in two passes (see the module
/// doc): its shape and the structure of every row are checked before `dst` is created. The
/// array is then written one band at a time, the rows of one row of chunks (shards) across
/// every column: each band is parsed, cut into its chunks, and those are encoded and written
/// on the threads of `opts`. `write` chooses the chunks, codec, shards, Zarr format,
/// `overwrite` and `resume` as for [`crate::Array::to_zarr`]; chunks default to whole rows of about
/// 64 MiB, fewer rows when a band must fit the memory limit. A resumed import parses only
/// the bands with chunks still missing; it is refused when the file changed (its path, size
/// and modification time identify the import). Progress and cancellation follow `opts`.
///
/// # Errors
/// The errors of [`read_csv`]; [`Error::InvalidArgument`] for chunks or shards that do not
/// fit the table, or both `resume` and `overwrite`; [`Error::PlanExceedsMemory`], before the
/// output is created, when one band cannot fit the memory limit (naming the chunk shape and
/// one that would fit); the errors of [`ZarrSink`] while writing; [`Error::Cancelled`].
/// After `dst` was created, a value that does not parse removes it (unless resuming); other
/// errors leave it marked incomplete.
pub fn import(
    src: &Path,
    dst: &Path,
    format: &CsvFormat,
    write: &WriteOptions,
    opts: &ComputeOptions,
) -> Result<Metrics> {
    let start = Instant::now();
    if write.resume && write.overwrite {
        return Err(Error::invalid(format!(
            "importing {} into {}: resume and overwrite exclude each other",
            src.display(),
            dst.display()
        )));
    }
    let file = CsvFile::new(src, format)?;
    let table = file.scan()?;
    let plan = ImportPlan::new(&file, table, write, opts)?;
    let (sink, written) = plan.open_output(dst, format.dtype, write, &file.fingerprint()?)?;
    let mut lines = file.data_lines()?;
    let written = crate::dispatch_dtype!(format.dtype, T => {
        plan.write_bands::<T>(&file, &mut lines, &sink, &written, opts)
    });
    let mut metrics = match written {
        Err(err @ Error::Format { .. }) if !write.resume => {
            // Only fixing the file helps, and that changes it: a resume would be refused.
            drop(sink);
            let _ = std::fs::remove_dir_all(dst);
            return Err(err);
        }
        other => other?,
    };
    sink.finish()?;
    metrics.bytes_read = table.bytes + lines.bytes;
    metrics.seconds = start.elapsed().as_secs_f64();
    Ok(metrics)
}

/// What the first pass found.
#[derive(Clone, Copy, Debug)]
struct Table {
    /// Data rows.
    rows: usize,
    /// Fields per row.
    cols: usize,
    /// Bytes read.
    bytes: u64,
}

impl Table {
    /// `(rows,)` for one field per row, else `(rows, cols)`.
    fn shape(&self) -> Vec<usize> {
        if self.cols == 1 {
            vec![self.rows]
        } else {
            vec![self.rows, self.cols]
        }
    }

    /// Bytes of one row of elements of `dtype`.
    fn row_bytes(&self, dtype: DType) -> u64 {
        (self.cols * dtype.size()) as u64
    }
}

/// A CSV file read with a format: it reads lines and rows, and words the errors.
struct CsvFile<'a> {
    path: &'a Path,
    format: &'a CsvFormat,
}

impl<'a> CsvFile<'a> {
    /// Checks the format's delimiter.
    fn new(path: &'a Path, format: &'a CsvFormat) -> Result<Self> {
        check_delimiter(format.delimiter)?;
        Ok(CsvFile { path, format })
    }

    /// The lines after the header.
    fn data_lines(&self) -> Result<Lines> {
        let mut lines = Lines::open(self.path)?;
        lines.skip(self.format.skip_header)?;
        Ok(lines)
    }

    /// The first pass: counts the data rows and checks their structure (see the module doc).
    fn scan(&self) -> Result<Table> {
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
    fn check_first_row(&self, line: usize, text: &str) -> Result<usize> {
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
    fn check_row(&self, line: usize, text: &str, cols: usize) -> Result<()> {
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
    fn read_band<T: ParseCell>(
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
            .map_err(|e| Error::internal(format!("CSV band assembly: {e}")))
    }

    /// Parses the lines of `batch` in parallel into `out`, `cols` values per line; the
    /// error of the first line that fails.
    fn parse_batch<T: ParseCell>(&self, batch: &Batch, out: &mut [T], cols: usize) -> Result<()> {
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
    fn parse_row<T: ParseCell>(&self, line: usize, text: &str, row: &mut [T]) -> Result<()> {
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
    fn fingerprint(&self) -> Result<String> {
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

    fn error(&self, detail: String) -> Error {
        Error::Format {
            file: self.path.to_path_buf(),
            detail,
        }
    }

    /// A field that is empty or does not parse; `first` adds the hint for a header line.
    fn cell_error(&self, line: usize, col: usize, field: &str, dtype: DType, first: bool) -> Error {
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
    fn ragged(&self, line: usize, text: &str, n: usize, cols: usize) -> Error {
        self.error(format!(
            "line {line}: {n} field(s) where the rows above have {cols}: {:?}",
            clip(text)
        ))
    }

    /// No data row after `lines` lines.
    fn no_rows(&self, lines: usize) -> Error {
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
    fn changed(&self) -> Error {
        self.error("the file changed while it was read (fewer data rows than counted)".into())
    }
}

/// At most 60 characters of `text`, for messages.
fn clip(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// Calls `f` with the 0-based index and the text of each field of `line`; returns the number
/// of fields.
fn for_each_field(
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

fn check_delimiter(delimiter: u8) -> Result<()> {
    if !delimiter.is_ascii() || delimiter == b'\n' || delimiter == b'\r' {
        return Err(Error::invalid(format!(
            "CSV delimiter {:?} must be one ASCII character other than a line end",
            char::from(delimiter)
        )));
    }
    Ok(())
}

/// A text file read line by line, with 1-based line numbers.
struct Lines {
    path: PathBuf,
    reader: BufReader<File>,
    buf: Vec<u8>,
    /// The number of the last line read.
    number: usize,
    /// Bytes read.
    bytes: u64,
}

impl Lines {
    fn open(path: &Path) -> Result<Lines> {
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Lines {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(1 << 20, file),
            buf: Vec::new(),
            number: 0,
            bytes: 0,
        })
    }

    /// Reads the next line into `buf` (with its line end); false at the end of the file.
    fn next_raw(&mut self) -> Result<bool> {
        self.buf.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| Error::Io {
                path: self.path.clone(),
                source,
            })?;
        self.number += usize::from(n > 0);
        self.bytes += n as u64;
        Ok(n > 0)
    }

    /// The next line without its line end (`\n` or `\r\n`), and its number.
    fn next_line(&mut self) -> Result<Option<(usize, &str)>> {
        if !self.next_raw()? {
            return Ok(None);
        }
        let text = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let text = std::str::from_utf8(text).map_err(|_| Error::Format {
            file: self.path.clone(),
            detail: format!("line {}: the file is not UTF-8 text", self.number),
        })?;
        Ok(Some((self.number, text)))
    }

    /// Reads up to `rows` lines into `batch` (replacing what it held), fewer when they reach
    /// [`BATCH_LINES`] or their text [`BATCH_BYTES`]; none at the end of the file.
    fn read_batch(&mut self, rows: usize, batch: &mut Batch) -> Result<()> {
        batch.text.clear();
        batch.lines.clear();
        let most = rows.min(BATCH_LINES);
        while batch.lines.len() < most && batch.text.len() < BATCH_BYTES {
            let start = batch.text.len();
            let n = self
                .reader
                .read_until(b'\n', &mut batch.text)
                .map_err(|source| Error::Io {
                    path: self.path.clone(),
                    source,
                })?;
            if n == 0 {
                break;
            }
            self.number += 1;
            self.bytes += n as u64;
            let line = &batch.text[start..];
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            let end = start + line.strip_suffix(b"\r").unwrap_or(line).len();
            batch.lines.push((self.number, start..end));
        }
        Ok(())
    }

    /// Skips `n` lines (fewer at the end of the file).
    fn skip(&mut self, n: usize) -> Result<()> {
        for _ in 0..n {
            if !self.next_raw()? {
                break;
            }
        }
        Ok(())
    }
}

/// Lines read ahead to be parsed in parallel: their text, and each line's number and byte
/// range in it (without the line end).
#[derive(Default)]
struct Batch {
    text: Vec<u8>,
    lines: Vec<(usize, Range<usize>)>,
}

/// The text of the lines parsed in parallel at once (one line may overshoot it).
const BATCH_BYTES: usize = 1 << 20;

/// The most lines parsed in parallel at once.
const BATCH_LINES: usize = 1 << 14;

/// The bytes a [`Batch`] holds at most, besides one long line.
const BATCH_HELD: u64 = (BATCH_BYTES + BATCH_LINES * size_of::<(usize, Range<usize>)>()) as u64;

/// How an import writes: the chunks, the grid of write blocks, the bytes one band needs.
struct ImportPlan {
    table: Table,
    chunks: Vec<usize>,
    /// The grid of the blocks written: chunks, or shards when sharded.
    grid: ChunkGrid,
    /// Blocks written at once.
    writers: usize,
    /// Bytes held while one band is parsed and written.
    need: u64,
    limit: u64,
}

/// Besides its band, an import holds per block being written a contiguous copy of the block
/// and its encoded bytes.
const COPIES_PER_BLOCK: u64 = 2;

impl ImportPlan {
    /// Chooses the chunks and checks that one band fits the memory limit.
    fn new(
        file: &CsvFile<'_>,
        table: Table,
        write: &WriteOptions,
        opts: &ComputeOptions,
    ) -> Result<ImportPlan> {
        let shape = table.shape();
        let limit = opts.effective_memory_limit();
        let dtype = file.format.dtype;
        let chunks = match &write.chunks {
            Some(chunks) => check_rank(file.path, &shape, chunks, "chunks")?,
            None => default_chunks(&table, dtype, limit),
        };
        let write_shape = write.write_shape(&chunks)?;
        let grid = ChunkGrid::regular(&shape, &write_shape);
        let per_band = grid.grid_shape().get(1).copied().unwrap_or(1);
        let writers = opts.effective_threads().min(per_band);
        let mut plan = ImportPlan {
            table,
            chunks,
            grid,
            writers,
            need: 0,
            limit,
        };
        let rows = write_shape[0].min(table.rows) as u64;
        plan.need = rows * plan.row_need(dtype) + BATCH_HELD;
        if plan.need > limit {
            return Err(plan.too_large(file, &write_shape, write.shards.is_some()));
        }
        Ok(plan)
    }

    /// The bytes one row of a band needs: the row, and its part of the copies of the blocks
    /// being written at once.
    fn row_need(&self, dtype: DType) -> u64 {
        let block_cols = self.grid.max_chunk_shape().get(1).copied().unwrap_or(1);
        let block_row = (block_cols * dtype.size()) as u64;
        self.table.row_bytes(dtype) + self.writers as u64 * COPIES_PER_BLOCK * block_row
    }

    /// The refusal of a band that cannot fit, with a shape that would.
    fn too_large(&self, file: &CsvFile<'_>, write_shape: &[usize], sharded: bool) -> Error {
        let what = if sharded { "shards" } else { "chunks" };
        let rows = self.limit.saturating_sub(BATCH_HELD) / self.row_need(file.format.dtype);
        let hint = if rows == 0 {
            "not even one row fits: raise the limit".to_string()
        } else {
            let mut fits = write_shape.to_vec();
            fits[0] = usize::try_from(rows).unwrap_or(usize::MAX);
            format!(
                "{what} of {} would fit, or raise the limit",
                fmt_shape(&fits)
            )
        };
        Error::PlanExceedsMemory {
            what: format!(
                "one band of {what} {} across the {} columns of {}",
                fmt_shape(write_shape),
                self.table.cols,
                file.path.display()
            ),
            needed: self.need,
            limit: self.limit,
            hint,
        }
    }

    /// Creates the output array, or reopens it for `write.resume`; returns it with which
    /// write blocks are already written (by linear index).
    fn open_output(
        &self,
        dst: &Path,
        dtype: DType,
        write: &WriteOptions,
        fingerprint: &str,
    ) -> Result<(ZarrSink, Vec<bool>)> {
        let shape = self.table.shape();
        if write.resume {
            let r = ZarrSink::resume(dst, &shape, dtype, &self.chunks, write, Some(fingerprint))?;
            let written = match r.complete {
                true => vec![true; self.grid.nblocks()],
                false => r.written,
            };
            return Ok((r.sink, written));
        }
        let sink =
            ZarrSink::create_for(dst, &shape, dtype, &self.chunks, write, Some(fingerprint))?;
        Ok((sink, vec![false; self.grid.nblocks()]))
    }

    /// The second pass: parses and writes the bands with blocks not `written` yet, on a
    /// pool of the threads of `opts`.
    fn write_bands<T: ParseCell>(
        &self,
        file: &CsvFile<'_>,
        lines: &mut Lines,
        sink: &ZarrSink,
        written: &[bool],
        opts: &ComputeOptions,
    ) -> Result<Metrics> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.effective_threads())
            .build()
            .map_err(|e| Error::internal(format!("CSV import thread pool: {e}")))?;
        let mut m = Metrics {
            peak_reserved_bytes: self.need,
            predicted_peak_bytes: self.need,
            memory_limit: self.limit,
            ..Metrics::default()
        };
        let axis = &self.grid.axes()[0];
        let per_band = self.grid.nblocks() / axis.nchunks().max(1);
        for band in 0..axis.nchunks() {
            if opts.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let todo: Vec<usize> = (0..per_band)
                .filter(|&j| !written[band * per_band + j])
                .collect();
            if todo.is_empty() {
                lines.skip(axis.size(band))?;
                continue;
            }
            let started = Instant::now();
            let values =
                pool.install(|| file.read_band::<T>(lines, &self.table, axis.size(band)))?;
            let parsed = Instant::now();
            m.bytes_output += pool.install(|| self.write_band(sink, band, values, &todo))?;
            *m.op_seconds.entry("read").or_default() += (parsed - started).as_secs_f64();
            *m.op_seconds.entry("write").or_default() += parsed.elapsed().as_secs_f64();
            m.tasks += todo.len() as u64;
            self.report(opts, &m);
        }
        Ok(m)
    }

    /// Writes the blocks `todo` (column indices) of band `band`, in parallel; returns the
    /// bytes written.
    fn write_band<T: BlockElement>(
        &self,
        sink: &ZarrSink,
        band: usize,
        values: ArrayD<T>,
        todo: &[usize],
    ) -> Result<u64> {
        let bytes = (values.len() * T::DTYPE.size()) as u64;
        if self.grid.ndim() == 1 {
            sink.write_chunk(&[band], &T::wrap(values))?;
        } else if self.grid.grid_shape()[1] == 1 {
            sink.write_chunk(&[band, 0], &T::wrap(values))?;
        } else {
            todo.par_iter().with_max_len(1).try_for_each(|&j| {
                let region = self.grid.region(&[band, j]);
                let cols = region.start[1]..region.start[1] + region.shape[1];
                let block = values.slice_axis(Axis(1), Slice::from(cols));
                sink.write_chunk(
                    &[band, j],
                    &T::wrap(block.as_standard_layout().into_owned()),
                )
            })?;
        }
        Ok(bytes)
    }

    /// Reports progress: blocks written of all blocks.
    fn report(&self, opts: &ComputeOptions, m: &Metrics) {
        if let Some(progress) = &opts.progress {
            (progress.0)(&ProgressEvent {
                tasks_done: m.tasks,
                tasks_total: self.grid.nblocks() as u64,
                bytes_output: m.bytes_output,
                reserved_bytes: self.need,
                memory_limit: self.limit,
            });
        }
    }
}

/// Checks that `chunks` (`what`) has the rank of the table of `path`.
fn check_rank(path: &Path, shape: &[usize], chunks: &[usize], what: &str) -> Result<Vec<usize>> {
    if chunks.len() != shape.len() {
        return Err(Error::invalid(format!(
            "{what} {} have {} size(s) but {} holds a {}-D table of shape {}",
            fmt_shape(chunks),
            chunks.len(),
            path.display(),
            shape.len(),
            fmt_shape(shape)
        )));
    }
    Ok(chunks.to_vec())
}

/// The default chunks of an import: whole rows, about [`DEFAULT_CHUNK_BYTES`] per chunk,
/// fewer rows when one band (one chunk, held with a copy and its encoded bytes) would not
/// fit `limit`.
fn default_chunks(table: &Table, dtype: DType, limit: u64) -> Vec<usize> {
    let per_row = table.row_bytes(dtype) * (1 + COPIES_PER_BLOCK);
    let fitting = usize::try_from(limit.saturating_sub(BATCH_HELD) / per_row).unwrap_or(usize::MAX);
    let target = (DEFAULT_CHUNK_BYTES / (table.cols * dtype.size())).max(1);
    let mut chunks = table.shape();
    chunks[0] = target.min(fitting).min(table.rows).max(1);
    chunks
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
fn write_rows<T: FormatCell>(
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
fn format_rows<T: FormatCell>(rows: ArrayView2<'_, T>, delimiter: u8) -> String {
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
