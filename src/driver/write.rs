//! Writing a result to a new Zarr array: where the write starts (chunks, write grid,
//! fingerprint, what an interrupted write left), the direct write, and the two-pass write
//! through an intermediate store when the direct one cannot fit (the bounded rechunk).

use std::path::Path;
use std::sync::Arc;

use super::{intermediate_dir, prepare, rechunk};
use crate::config::ComputeOptions;
use crate::error::{Error, Result};
use crate::exec::Metrics;
use crate::expr::{self, ExprRef};
use crate::plan::OutputWrite;
use crate::store::{Codec, WriteOptions, ZarrSink, ZarrSource, ZarrWriteSink};

/// Writes `e` to a new Zarr array at `path` ([`crate::Array::to_zarr_with`]), copying
/// misaligned sources first when `realign` (the copies themselves are written with
/// `realign` false). `fingerprint` identifies the computation for a resumed write (default:
/// `e`'s own; the second pass of a rechunk through an intermediate store passes the
/// original's).
///
/// # Errors
/// As [`crate::Array::to_zarr`].
pub(crate) fn write_zarr(
    e: &ExprRef,
    path: &Path,
    options: &WriteOptions,
    opts: &ComputeOptions,
    realign: bool,
    fingerprint: Option<&str>,
) -> Result<Metrics> {
    refuse_reading_target(e, path)?;
    if options.resume && options.overwrite {
        return Err(Error::invalid(format!(
            "writing {}: resume and overwrite exclude each other (resume keeps what an interrupted write left, overwrite deletes it)",
            path.display()
        )));
    }
    let Some(WriteStart {
        chunks,
        write_shape,
        target,
        fingerprint,
        missing,
        sink: resumed,
    }) = write_start(e, path, options, fingerprint)?
    else {
        return Ok(Metrics::default());
    };
    let prepared = prepare(&target, opts, OutputWrite::Encode, realign, missing)?;
    match prepared.check_fits(opts) {
        Ok(()) => {}
        Err(err @ Error::PlanExceedsMemory { .. }) => {
            return via_intermediate(e, path, options, opts, &write_shape, err, &fingerprint);
        }
        Err(other) => return Err(other),
    }
    let sink = match resumed {
        Some(sink) => sink,
        None => ZarrSink::create_for(
            path,
            &e.shape(),
            e.dtype(),
            &chunks,
            options,
            Some(&fingerprint),
        )?,
    };
    let metrics = prepared.execute(opts, &[&ZarrWriteSink::new(&sink)])?;
    sink.finish()?;
    Ok(metrics)
}

/// Bounded-memory rechunk (the rechunker/Cubed algorithm): when writing in `chunks`
/// directly would need too much memory (each output chunk needing many input chunks, as in
/// a rows → columns rechunk), write first to a temporary Zarr array with intermediate
/// chunks (the largest both of whose passes fit the limit, see [`rechunk::choose`]; at
/// worst the elementwise minimum of the array's chunks and `chunks`), then from that to
/// the target. Each pass reads every chunk once; the intermediate lives in a temporary
/// directory next to `path`, removed afterwards (also on error).
fn via_intermediate(
    e: &ExprRef,
    path: &Path,
    options: &WriteOptions,
    opts: &ComputeOptions,
    chunks: &[usize],
    direct_error: Error,
    fingerprint: &str,
) -> Result<Metrics> {
    if !rechunk::two_passes_help(&e.grid().max_chunk_shape(), chunks) {
        return Err(direct_error);
    }
    let inter = rechunk::choose(e, chunks, opts)?;
    let tmp = intermediate_dir(path, ".brickwork-rechunk-")?;
    let inter_path = tmp.path().join("intermediate.zarr");
    let inter_opts = intermediate_options(inter);
    // The intermediate is the realignment: neither pass copies its source again.
    let first = write_zarr(e, &inter_path, &inter_opts, opts, false, None)?;
    let second = write_zarr(
        &read_back(&inter_path)?,
        path,
        options,
        opts,
        false,
        Some(fingerprint),
    )?;
    Ok(first.then(&second))
}

/// How an intermediate store of a two-pass write is written: in `chunks`, uncompressed,
/// through the page cache (it is read back at once).
pub(super) fn intermediate_options(chunks: Vec<usize>) -> WriteOptions {
    WriteOptions {
        chunks: Some(chunks),
        codec: Codec::None,
        overwrite: true,
        direct_io: false,
        ..WriteOptions::default()
    }
}

/// The array just written at `path`, as a source.
pub(super) fn read_back(path: &Path) -> Result<ExprRef> {
    Ok(expr::source(Arc::new(ZarrSource::open(path)?)))
}

/// Where a write to Zarr starts (for [`crate::Array::to_zarr`] and
/// [`crate::to_zarr_many`]).
pub(crate) struct WriteStart {
    /// The output's chunk shape.
    pub(crate) chunks: Vec<usize>,
    /// The blocks the sink takes (the shard shape when sharded).
    pub(crate) write_shape: Vec<usize>,
    /// The array rechunked to `write_shape`.
    pub(crate) target: ExprRef,
    /// The computation's fingerprint, kept with the output while it is written.
    pub(crate) fingerprint: String,
    /// For a resumed write, per write block, true where it is still missing.
    pub(crate) missing: Option<Vec<bool>>,
    /// For a resumed write, the array opened to write the missing blocks.
    pub(crate) sink: Option<ZarrSink>,
}

/// The chunks, write grid, fingerprint (`fingerprint`, or the target's) and, with
/// `options.resume` and something at `path`, what an interrupted write left there; `None`
/// when there is nothing to write (an earlier write completed, or wrote its last chunk and
/// is now finished).
pub(crate) fn write_start(
    e: &ExprRef,
    path: &Path,
    options: &WriteOptions,
    fingerprint: Option<&str>,
) -> Result<Option<WriteStart>> {
    let chunks = match &options.chunks {
        Some(c) => c.clone(),
        None => e.grid().max_chunk_shape(),
    };
    let write_shape = options.write_shape(&chunks)?;
    let target = expr::rechunk_node(e, expr::regular_grid(&e.shape(), &write_shape)?)?;
    let fingerprint = fingerprint.map_or_else(|| expr::fingerprint(&target), str::to_owned);
    let (mut missing, mut sink) = (None, None);
    if options.resume && (path.exists() || path.is_symlink()) {
        let r = ZarrSink::resume(
            path,
            &e.shape(),
            e.dtype(),
            &chunks,
            options,
            Some(&fingerprint),
        )?;
        if r.complete {
            return Ok(None);
        }
        if !r.written.contains(&false) {
            // Interrupted after its last chunk, before `finish`.
            r.sink.finish()?;
            return Ok(None);
        }
        missing = Some(r.written.iter().map(|w| !w).collect());
        sink = Some(r.sink);
    }
    Ok(Some(WriteStart {
        chunks,
        write_shape,
        target,
        fingerprint,
        missing,
        sink,
    }))
}

/// Refuses to write into a store that the computation reads: overwriting would delete the
/// input before it is read, and the result would silently be made of fill values.
pub(crate) fn refuse_reading_target(e: &ExprRef, target: &Path) -> Result<()> {
    let Ok(target) = target.canonicalize() else {
        return Ok(()); // does not exist yet, so nothing reads it
    };
    for node in expr::Expr::post_order(e) {
        if let expr::ExprKind::Source { source } = node.kind() {
            let src = source
                .path()
                .canonicalize()
                .unwrap_or_else(|_| source.path().to_path_buf());
            if src.starts_with(&target) || target.starts_with(&src) {
                return Err(Error::invalid(format!(
                    "cannot write to {}: the computation reads from {}; write to another path and rename it afterwards",
                    target.display(),
                    src.display()
                )));
            }
        }
    }
    Ok(())
}
