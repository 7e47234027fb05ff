//! Lines of a text file with their 1-based numbers, read one at a time or ahead in batches
//! parsed in parallel.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A text file read line by line, with 1-based line numbers.
pub(super) struct Lines {
    path: PathBuf,
    reader: BufReader<File>,
    buf: Vec<u8>,
    /// The number of the last line read.
    pub(super) number: usize,
    /// Bytes read.
    pub(super) bytes: u64,
}

impl Lines {
    pub(super) fn open(path: &Path) -> Result<Lines> {
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
    pub(super) fn next_raw(&mut self) -> Result<bool> {
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
    pub(super) fn next_line(&mut self) -> Result<Option<(usize, &str)>> {
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
    pub(super) fn read_batch(&mut self, rows: usize, batch: &mut Batch) -> Result<()> {
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
    pub(super) fn skip(&mut self, n: usize) -> Result<()> {
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
pub(super) struct Batch {
    pub(super) text: Vec<u8>,
    pub(super) lines: Vec<(usize, Range<usize>)>,
}

/// The text of the lines parsed in parallel at once (one line may overshoot it).
pub(super) const BATCH_BYTES: usize = 1 << 20;

/// The most lines parsed in parallel at once.
pub(super) const BATCH_LINES: usize = 1 << 14;

/// The bytes a [`Batch`] holds at most, besides one long line.
pub(super) const BATCH_HELD: u64 =
    (BATCH_BYTES + BATCH_LINES * size_of::<(usize, Range<usize>)>()) as u64;
