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
    #[cfg(feature = "mpi")]
    if let Some((rank, _)) = crate::exec::mpi::ranks(opts)? {
        return ranks::write_zarr(e, path, options, opts, fingerprint, rank);
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
    let sink = target_sink(resumed, e, path, &chunks, options, &fingerprint)?;
    let metrics = prepared.execute(opts, &[&ZarrWriteSink::new(&sink)])?;
    sink.finish()?;
    Ok(metrics)
}

/// The array a write goes into: the one a resumed write reopened, or a new one.
fn target_sink(
    resumed: Option<ZarrSink>,
    e: &ExprRef,
    path: &Path,
    chunks: &[usize],
    options: &WriteOptions,
    fingerprint: &str,
) -> Result<ZarrSink> {
    match resumed {
        Some(sink) => Ok(sink),
        None => ZarrSink::create_for(
            path,
            &e.shape(),
            e.dtype(),
            chunks,
            options,
            Some(fingerprint),
        ),
    }
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

/// [`write_zarr`] on several MPI ranks: rank 0 looks at the target (what a resumed write
/// left), creates the array, writes the chunks and marks it complete; the others learn
/// where the write starts and run tasks. No two-pass rechunk: a write whose tasks do not
/// fit is refused.
#[cfg(feature = "mpi")]
mod ranks {
    use std::path::Path;

    use super::{WriteStart, prepare, target_sink, write_start};
    use crate::config::ComputeOptions;
    use crate::error::Result;
    use crate::exec::Metrics;
    use crate::exec::mpi::share_outcome;
    use crate::expr::ExprRef;
    use crate::plan::OutputWrite;
    use crate::store::{WriteOptions, ZarrSink, ZarrWriteSink};

    pub(super) fn write_zarr(
        e: &ExprRef,
        path: &Path,
        options: &WriteOptions,
        opts: &ComputeOptions,
        fingerprint: Option<&str>,
        rank: i32,
    ) -> Result<Metrics> {
        // Only rank 0 opens the target; the others compute the same plan without looking.
        let start = if rank == 0 {
            write_start(e, path, options, fingerprint)
        } else {
            let blind = WriteOptions {
                resume: false,
                ..options.clone()
            };
            write_start(e, path, &blind, fingerprint)
        };
        // 0: nothing to write; 1: every block; 2: the blocks marked 1 in the mask.
        let (start, told) = match start {
            Ok(None) => (None, Ok(vec![0])),
            Ok(Some(s)) => {
                let told = match &s.missing {
                    None => vec![1],
                    Some(mask) => std::iter::once(2)
                        .chain(mask.iter().map(|&m| m as u8))
                        .collect(),
                };
                (Some(s), Ok(told))
            }
            Err(e) => (None, Err(e)),
        };
        let told = share_outcome(told)?;
        let Some(WriteStart {
            chunks,
            target,
            fingerprint,
            missing,
            sink: resumed,
            ..
        }) = start
        else {
            return Ok(Metrics::default());
        };
        let missing = match told.split_first() {
            Some((0, _)) => return Ok(Metrics::default()),
            Some((1, _)) => None,
            Some((_, mask)) if rank != 0 => Some(mask.iter().map(|&m| m != 0).collect()),
            _ => missing,
        };
        let prepared = prepare(&target, opts, OutputWrite::Encode, false, missing)?;
        prepared.check_fits(opts).map_err(|err| {
            err.with_memory_hint(" (the two-pass rechunk does not run on MPI ranks yet)")
        })?;
        let sink = if rank == 0 {
            target_sink(resumed, e, path, &chunks, options, &fingerprint).map(Some)
        } else {
            Ok(None)
        };
        let (sink, told) = match sink {
            Ok(s) => (s, Ok(Vec::new())),
            Err(e) => (None, Err(e)),
        };
        share_outcome(told)?;
        match sink {
            Some(sink) => {
                let metrics = prepared.execute(opts, &[&ZarrWriteSink::new(&sink)])?;
                // Every rank has written its blocks when rank 0's run ends: each block's
                // write is done before its task's reply.
                sink.finish()?;
                Ok(metrics)
            }
            None => {
                // The blocks this rank computes, it writes into the array rank 0 made.
                let sink = ZarrSink::attach(
                    path,
                    &e.shape(),
                    e.dtype(),
                    &chunks,
                    options,
                    Some(&fingerprint),
                )?;
                prepared.execute(opts, &[&ZarrWriteSink::new(&sink)])
            }
        }
    }
}
