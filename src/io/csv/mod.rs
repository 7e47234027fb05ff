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

#[cfg(doc)]
use crate::block::Block;

mod export;
mod import;
mod lines;
mod parse;

pub use export::write_csv;
pub(crate) use export::{CsvWriter, FORMAT_BYTES, check_writable, row_bands};
pub use import::import;
pub use parse::{CsvFormat, read_csv};
