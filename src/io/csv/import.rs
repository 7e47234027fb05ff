//! [`import`]: a CSV file into a new Zarr array one band of rows at a time, in bounded
//! memory (the two passes of the [`io::csv`](super) doc), with the chunks and the band's
//! bytes it plans.

use std::path::Path;
use std::time::Instant;

use ndarray::{ArrayD, Axis, Slice};
use rayon::prelude::*;

use crate::block::BlockElement;
use crate::config::ComputeOptions;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::grid::{ChunkGrid, fmt_shape};
use crate::metrics::Metrics;
use crate::observe::ProgressEvent;
use crate::store::{WriteOptions, ZarrWriter};

use super::lines::{BATCH_HELD, Lines};
#[cfg(doc)]
use super::parse::read_csv;
use super::parse::{CsvFile, CsvFormat, ParseCell, Table};
use crate::io::DEFAULT_CHUNK_BYTES;

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
/// one that would fit); the errors of [`ZarrWriter`] while writing; [`Error::Cancelled`].
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
    let plan = ImportLayout::new(&file, table, write, opts)?;
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

/// How an import writes: the chunks, the grid of write blocks, the bytes one band needs.
pub(super) struct ImportLayout {
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
pub(super) const COPIES_PER_BLOCK: u64 = 2;

impl ImportLayout {
    /// Chooses the chunks and checks that one band fits the memory limit.
    pub(super) fn new(
        file: &CsvFile<'_>,
        table: Table,
        write: &WriteOptions,
        opts: &ComputeOptions,
    ) -> Result<ImportLayout> {
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
        let mut plan = ImportLayout {
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
    pub(super) fn row_need(&self, dtype: DType) -> u64 {
        let block_cols = self.grid.max_chunk_shape().get(1).copied().unwrap_or(1);
        let block_row = (block_cols * dtype.size()) as u64;
        self.table.row_bytes(dtype) + self.writers as u64 * COPIES_PER_BLOCK * block_row
    }

    /// The refusal of a band that cannot fit, with a shape that would.
    pub(super) fn too_large(
        &self,
        file: &CsvFile<'_>,
        write_shape: &[usize],
        sharded: bool,
    ) -> Error {
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
    pub(super) fn open_output(
        &self,
        dst: &Path,
        dtype: DType,
        write: &WriteOptions,
        fingerprint: &str,
    ) -> Result<(ZarrWriter, Vec<bool>)> {
        let shape = self.table.shape();
        if write.resume {
            let r = ZarrWriter::resume(dst, &shape, dtype, &self.chunks, write, Some(fingerprint))?;
            let written = match r.complete {
                true => vec![true; self.grid.nblocks()],
                false => r.written,
            };
            return Ok((r.sink, written));
        }
        let sink =
            ZarrWriter::create_for(dst, &shape, dtype, &self.chunks, write, Some(fingerprint))?;
        Ok((sink, vec![false; self.grid.nblocks()]))
    }

    /// The second pass: parses and writes the bands with blocks not `written` yet, on a
    /// pool of the threads of `opts`.
    pub(super) fn write_bands<T: ParseCell>(
        &self,
        file: &CsvFile<'_>,
        lines: &mut Lines,
        sink: &ZarrWriter,
        written: &[bool],
        opts: &ComputeOptions,
    ) -> Result<Metrics> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.effective_threads())
            .build()
            .map_err(|e| Error::internal_from("CSV import thread pool", e))?;
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
    pub(super) fn write_band<T: BlockElement>(
        &self,
        sink: &ZarrWriter,
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
    pub(super) fn report(&self, opts: &ComputeOptions, m: &Metrics) {
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
pub(super) fn check_rank(
    path: &Path,
    shape: &[usize],
    chunks: &[usize],
    what: &str,
) -> Result<Vec<usize>> {
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
pub(super) fn default_chunks(table: &Table, dtype: DType, limit: u64) -> Vec<usize> {
    let per_row = table.row_bytes(dtype) * (1 + COPIES_PER_BLOCK);
    let fitting = usize::try_from(limit.saturating_sub(BATCH_HELD) / per_row).unwrap_or(usize::MAX);
    let target = (DEFAULT_CHUNK_BYTES / (table.cols * dtype.size())).max(1);
    let mut chunks = table.shape();
    chunks[0] = target.min(fitting).min(table.rows).max(1);
    chunks
}
