//! Arrays from and to the plain file formats of [`crate::io`]: the conveniences that tie
//! a format to the array API (`io` itself knows formats, readers and sinks, not arrays).

use std::path::Path;
use std::sync::Arc;

use super::{Array, NumpyIndex};
use crate::config::ComputeOptions;
use crate::error::{Error, Result};
use crate::io::ByteOrder;
use crate::io::csv::{CsvWriter, FORMAT_BYTES, check_writable, row_bands};
use crate::io::npy::{NpyFile, NpyWriter};
use crate::io::raw::{RawFile, RawWriter};
use crate::metrics::Metrics;
use crate::observe::{Progress, ProgressEvent};

impl NpyFile {
    /// This file as a lazy array.
    pub fn into_array(self) -> Array {
        Array::from_source(Arc::new(self))
    }
}

impl RawFile {
    /// This file as a lazy array.
    pub fn into_array(self) -> Array {
        Array::from_source(Arc::new(self))
    }
}

impl Array {
    /// Computes this array into a new `.npy` file at `path` (atomically, see
    /// [`NpyWriter`]).
    ///
    /// # Errors
    /// Those of [`NpyWriter::create`], of the computation and of the writes.
    pub fn to_npy(&self, path: &Path, overwrite: bool, opts: &ComputeOptions) -> Result<Metrics> {
        let writer = NpyWriter::create(path, self.chunks()?, self.dtype(), overwrite)?;
        let metrics = self.compute_into(&writer, opts)?;
        writer.finish()?;
        Ok(metrics)
    }

    /// Computes this array into a new raw file at `path` in `byte_order` (atomically, see
    /// [`RawWriter`]).
    ///
    /// # Errors
    /// Those of [`RawWriter::create`], of the computation and of the writes.
    pub fn to_raw(
        &self,
        path: &Path,
        byte_order: ByteOrder,
        overwrite: bool,
        opts: &ComputeOptions,
    ) -> Result<Metrics> {
        let writer = RawWriter::create(path, self.chunks()?, self.dtype(), byte_order, overwrite)?;
        let metrics = self.compute_into(&writer, opts)?;
        writer.finish()?;
        Ok(metrics)
    }

    /// Computes this array (1-D or 2-D) and writes it as CSV text at `path` (formatted as
    /// [`crate::io::csv::write_csv`] does), one band of rows at a time; returns the figures of
    /// the run.
    ///
    /// A band is whole chunk rows of the array, grouped up to about 64 MiB; a row of chunks larger
    /// than half the memory limit is cut into bands that fit it (its chunks are then read once
    /// per band). Each band is computed with `opts` under the memory limit less the band's own
    /// bytes, so the band and the computation together stay within the limit; its rows are
    /// appended to `<path>.tmp`, renamed over `path` at the end.
    ///
    /// # Errors
    /// As [`crate::io::csv::write_csv`], and any error of the computation; on error `path` is left untouched.
    pub fn to_csv(
        &self,
        path: &Path,
        delimiter: u8,
        overwrite: bool,
        opts: &ComputeOptions,
    ) -> Result<Metrics> {
        save_csv(self, path, delimiter, overwrite, opts)
    }
}

/// [`Array::to_csv`].
fn save_csv(
    x: &Array,
    path: &Path,
    delimiter: u8,
    overwrite: bool,
    opts: &ComputeOptions,
) -> Result<Metrics> {
    let shape = x.shape();
    check_writable(&shape, delimiter)?;
    let limit = opts.effective_memory_limit();
    let row_bytes = (shape.get(1).copied().unwrap_or(1) * x.dtype().size()).max(1) as u64;
    let format_bytes = FORMAT_BYTES.min(usize::try_from(limit / 8).unwrap_or(usize::MAX));
    let bands = row_bands(&x.chunks()?.axes()[0], row_bytes, limit);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.effective_threads())
        .build()
        .map_err(|e| Error::internal_from("CSV export thread pool", e))?;
    let mut writer = CsvWriter::create(path, delimiter, overwrite, format_bytes)?;
    let mut metrics = Metrics::default();
    for (i, rows) in bands.iter().enumerate() {
        let band_bytes = rows.len() as u64 * row_bytes + format_bytes as u64;
        let band_opts = ComputeOptions {
            memory_limit: Some(limit.saturating_sub(band_bytes)),
            progress: band_progress(opts, &metrics, (bands.len() - i) as u64),
            ..opts.clone()
        };
        let band = x.index_numpy(&[NumpyIndex::Slice {
            start: Some(rows.start as isize),
            stop: Some(rows.end as isize),
            step: None,
        }])?;
        let (block, mut m) = band
            .compute_with(&band_opts)
            .map_err(|e| beside_band(e, band_bytes))?;
        pool.install(|| writer.append(&block))?;
        m.peak_reserved_bytes += band_bytes;
        metrics = metrics.then(&m);
    }
    writer.finish()?;
    metrics.memory_limit = limit;
    Ok(metrics)
}

/// A plan refused under the limit left beside a band of `band_bytes`, as refused under the
/// whole limit.
fn beside_band(err: Error, band_bytes: u64) -> Error {
    match err {
        Error::PlanExceedsMemory {
            what,
            needed,
            limit,
            hint,
        } => Error::PlanExceedsMemory {
            what: format!(
                "{what}, beside a band of rows being written as CSV ({})",
                crate::units::format_bytes(band_bytes)
            ),
            needed: needed + band_bytes,
            limit: limit + band_bytes,
            hint,
        },
        other => other,
    }
}

/// The progress of one band of [`save_csv`] as progress of the whole: tasks and bytes of the
/// bands `done` so far added, the total estimated as this band's times the `left` bands.
fn band_progress(opts: &ComputeOptions, done: &Metrics, left: u64) -> Option<Progress> {
    let progress = opts.progress.clone()?;
    let (tasks, bytes) = (done.tasks, done.bytes_output);
    Some(Progress(Arc::new(move |e: &ProgressEvent| {
        (progress.0)(&ProgressEvent {
            tasks_done: tasks + e.tasks_done,
            tasks_total: tasks + e.tasks_total * left,
            bytes_output: bytes + e.bytes_output,
            ..*e
        });
    })))
}
