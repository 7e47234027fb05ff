//! Writing results to new Zarr arrays, one or several in one pass: where each write starts
//! (chunks, write grid, fingerprint, what an interrupted write left), the one-pass write, and
//! the two-pass write through an intermediate store when the one-pass one cannot fit (the
//! bounded rechunk). Writing one array is the N = 1 case of writing several.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{
    Copies, full_disk_hint, intermediate_dir, leftover, prepare_many, rechunk, session, temp_parent,
};
use crate::config::ComputeOptions;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr::{self, ExprRef};
use crate::metrics::Metrics;
use crate::plan::{EncodeCost, OutputWrite};
use crate::store::{self, Codec, Sink, WriteOptions, ZarrSource, ZarrWriteSink, ZarrWriter};

/// Writes each `(array, path)` of `outputs` to a new Zarr array in one pass, as one session
/// titled by `title` ([`crate::Array::to_zarr_with`], [`crate::to_zarr_many_with`]).
///
/// # Errors
/// As [`crate::to_zarr_many_with`].
pub(crate) fn write(
    outputs: &[(ExprRef, &Path)],
    options: &WriteOptions,
    opts: &ComputeOptions,
    title: impl FnOnce() -> String,
) -> Result<Metrics> {
    session(opts, title, |opts| {
        let targets: Vec<Target<'_>> = outputs
            .iter()
            .map(|(expr, path)| Target {
                expr,
                path,
                fingerprint: None,
            })
            .collect();
        write_targets(&targets, options, opts, Copies::Make)
    })
}

/// One array to write.
struct Target<'a> {
    expr: &'a ExprRef,
    path: &'a Path,
    /// Identifies the computation for a resumed write (default: the expression's own; the
    /// second pass of a rechunk through an intermediate store passes the original's).
    fingerprint: Option<&'a str>,
}

/// Writes `e` to a new Zarr array at `path` (the N = 1 case of [`write`], without a session
/// of its own: for the driver's side computations).
pub(crate) fn write_one(
    e: &ExprRef,
    path: &Path,
    options: &WriteOptions,
    opts: &ComputeOptions,
    copies: Copies,
    fingerprint: Option<&str>,
) -> Result<Metrics> {
    let target = Target {
        expr: e,
        path,
        fingerprint,
    };
    write_targets(&[target], options, opts, copies)
}

/// The one write path. With [`WriteOptions::resume`], each target resumes on its own (one
/// already complete is left as it is). When the targets together cannot be written within
/// the memory limit in one pass (a task that does not fit on its own, as in a rows →
/// columns rechunk), several are written one at a time, and one alone through an
/// intermediate store where that helps ([`via_intermediate`]).
fn write_targets(
    targets: &[Target<'_>],
    options: &WriteOptions,
    opts: &ComputeOptions,
    copies: Copies,
) -> Result<Metrics> {
    check_targets(targets, options)?;
    #[cfg(feature = "mpi")]
    if let Some((rank, _)) = crate::exec::mpi::ranks(opts)? {
        // Several arrays are written one after the other, each by every rank.
        let mut metrics = Metrics::default();
        for t in targets {
            let one =
                ranks::write_zarr(t.expr, t.path, options, opts, t.fingerprint, rank, copies)?;
            metrics = metrics.then(&one);
        }
        return Ok(metrics);
    }
    let mut pending = Vec::new();
    for t in targets {
        if let Some(start) = write_start(t.expr, t.path, options, t.fingerprint)? {
            pending.push((t, start));
        }
    }
    if pending.is_empty() {
        return Ok(Metrics::default());
    }
    let roots: Vec<ExprRef> = pending.iter().map(|(_, s)| s.target.clone()).collect();
    let writes = pending
        .iter_mut()
        .map(|(t, s)| {
            let write = encode_write(
                options,
                t.expr.dtype(),
                &s.write_shape,
                store::is_remote(t.path),
            );
            (write, s.missing.take())
        })
        .collect();
    let prepared = prepare_many(&roots, opts, writes, copies)?;
    match prepared.check_fits() {
        Ok(()) => {}
        Err(err @ Error::PlanExceedsMemory { .. }) => {
            return match pending.as_slice() {
                [(t, start)] => via_intermediate(
                    without_rechunk(t.expr),
                    t.path,
                    // The chunks chosen here, not the intermediate's, are the output's.
                    &WriteOptions {
                        chunks: Some(start.chunks.clone()),
                        ..options.clone()
                    },
                    opts,
                    &start.write_shape,
                    err,
                    &start.fingerprint,
                ),
                _ => {
                    // One at a time, each with its own fallback (an intermediate store).
                    let mut metrics = prepared.copies;
                    for (t, start) in pending {
                        drop(start.sink);
                        let one = write_one(t.expr, t.path, options, opts, copies, None)?;
                        metrics = metrics.then(&one);
                    }
                    Ok(metrics)
                }
            };
        }
        Err(other) => return Err(other),
    }
    let mut sinks = Vec::with_capacity(pending.len());
    for (t, start) in &mut pending {
        sinks.push(target_sink(
            start.sink.take(),
            t.expr,
            t.path,
            &start.chunks,
            options,
            &start.fingerprint,
        )?);
    }
    let writers: Vec<ZarrWriteSink<'_>> = sinks.iter().map(ZarrWriteSink::new).collect();
    let dyn_sinks: Vec<&dyn Sink> = writers.iter().map(|s| s as &dyn Sink).collect();
    let metrics = prepared.execute(opts, &dyn_sinks)?;
    drop(dyn_sinks);
    drop(writers);
    for sink in sinks {
        sink.finish()?;
    }
    Ok(metrics)
}

/// Refuses what no write of `targets` can do: resume and overwrite together, the same path
/// twice, a path that one of the computations reads.
fn check_targets(targets: &[Target<'_>], options: &WriteOptions) -> Result<()> {
    let paths: Vec<&Path> = targets.iter().map(|t| t.path).collect();
    check_distinct(&paths)?;
    for path in &paths {
        for t in targets {
            refuse_reading_target(t.expr, path)?;
        }
    }
    if options.resume && options.overwrite {
        let what = match paths.as_slice() {
            [path] => path.display().to_string(),
            _ => "several arrays".to_string(),
        };
        return Err(Error::invalid(format!(
            "writing {what}: resume and overwrite exclude each other (resume keeps what an interrupted write left, overwrite deletes it)"
        )));
    }
    Ok(())
}

/// Refuses the same output path twice (as written, or the same directory by another name).
fn check_distinct(paths: &[&Path]) -> Result<()> {
    let key = |p: &Path| {
        p.canonicalize()
            .or_else(|_| std::path::absolute(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let keys: Vec<PathBuf> = paths.iter().map(|p| key(p)).collect();
    for (i, k) in keys.iter().enumerate() {
        if let Some(j) = keys[..i].iter().position(|o| o == k) {
            return Err(Error::invalid(format!(
                "writing several arrays: outputs {j} and {i} are both {}; give each array its own path",
                paths[i].display()
            )));
        }
    }
    Ok(())
}

/// The array a write goes into: the one a resumed write reopened, or a new one.
fn target_sink(
    resumed: Option<ZarrWriter>,
    e: &ExprRef,
    path: &Path,
    chunks: &[usize],
    options: &WriteOptions,
    fingerprint: &str,
) -> Result<ZarrWriter> {
    match resumed {
        Some(sink) => Ok(sink),
        None => ZarrWriter::create_for(
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
/// directory next to `path` (or in `opts.tmp_dir`), removed afterwards (also on error).
///
/// With `options.resume`, a valid intermediate store that an interrupted run of the same
/// write left is reused (see [`leftover`]): its first pass is resumed (nothing to do when
/// it was complete) rather than computed again.
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
    let remote = store::is_remote(path);
    let mut inter = rechunk::choose(e, chunks, options, remote, opts)?;
    let made_for = leftover::made_for(e, path);
    let tmp = intermediate_dir(path, "rechunk", opts)?;
    let inter_path = tmp.path().join(leftover::STORE);
    let mut resumed = false;
    if options.resume {
        let first = leftover::FirstPass {
            expr: e,
            chunks: &inter,
            made_for: &made_for,
            fits: |c: &[usize]| rechunk::fits_write(e, c, chunks, options, remote, opts),
        };
        // Under MPI rank 0 looks for the leftover and tells the others what it found.
        let claimed = on_rank_0(opts, || {
            leftover::claim(&temp_parent(path, opts), path, &inter_path, &first, opts)
        })?;
        if let Some(c) = claimed {
            inter = c;
            resumed = true;
        }
    }
    let first_fingerprint = leftover::first_fingerprint(e, &inter)?;
    let mut inter_opts = intermediate_options(inter);
    inter_opts
        .attributes
        .insert(leftover::MADE_FOR.into(), made_for);
    if resumed {
        inter_opts.overwrite = false;
        inter_opts.resume = true;
    }
    // The intermediate is the realignment: neither pass copies its source again.
    let first = write_one(
        e,
        &inter_path,
        &inter_opts,
        opts,
        Copies::Skip,
        Some(&first_fingerprint),
    )
    .map_err(|e| full_disk_hint(e, "the intermediate store of a two-pass write"))?;
    let second = write_one(
        &read_back(&inter_path)?,
        path,
        options,
        opts,
        Copies::Skip,
        Some(fingerprint),
    )?;
    Ok(first.then(&second))
}

/// `find`'s chunk shape (or none), run on rank 0 alone under MPI and told to the other
/// ranks; run here otherwise.
fn on_rank_0(
    opts: &ComputeOptions,
    find: impl FnOnce() -> Result<Option<Vec<usize>>>,
) -> Result<Option<Vec<usize>>> {
    #[cfg(feature = "mpi")]
    if let Some((rank, _)) = crate::exec::mpi::ranks(opts)? {
        let found = if rank == 0 { find() } else { Ok(None) };
        // Empty: none; else the sizes, 8 bytes each.
        let bytes = found.map(|f| {
            f.map_or_else(Vec::new, |c| {
                c.iter().flat_map(|&n| (n as u64).to_le_bytes()).collect()
            })
        });
        let bytes = crate::exec::mpi::share_outcome(bytes)?;
        return Ok((!bytes.is_empty()).then(|| {
            bytes
                .chunks_exact(8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()) as usize)
                .collect()
        }));
    }
    let _ = opts;
    find()
}

/// What a write of `e` computes before it is cut into the output's chunks: `e` itself, or the
/// operand of a rechunk at its root (`x.rechunk(c)` written to Zarr is the bounded rechunk of
/// `x`, as `brickwork rechunk` is, rather than a one-pass rechunk that cannot fit).
pub(super) fn without_rechunk(e: &ExprRef) -> &ExprRef {
    match e.kind() {
        expr::ExprKind::Rechunk { input } => input,
        _ => e,
    }
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

/// What writing a block of `dtype` in blocks of `write_shape` (chunks, or shards) with
/// `options` holds besides the block ([`EncodeCost`]): raw chunks (uncompressed, not
/// sharded, in this machine's little-endian order) on a local disk are written from the
/// block, compressed chunks and every chunk sent to an object store (`remote`) through one
/// encoded buffer, shards through one shard buffer.
pub(super) fn encode_write(
    options: &WriteOptions,
    dtype: DType,
    write_shape: &[usize],
    remote: bool,
) -> OutputWrite {
    let raw = !remote
        && options.codec == Codec::None
        && dtype != DType::Bool
        && !write_shape.is_empty()
        && cfg!(target_endian = "little");
    // A shard is assembled in one buffer from its inner chunks, each encoded on its own:
    // the shard's buffer, plus an inner chunk's transient encoding (at most an inner chunk,
    // counted within the block's own bytes while it is cut out).
    let buffers = match (&options.shards, raw) {
        (Some(_), _) | (None, false) => 1,
        (None, true) => 0,
    };
    let chunk_bytes = write_shape
        .iter()
        .try_fold(dtype.size() as u64, |acc, &n| acc.checked_mul(n as u64))
        .unwrap_or(u64::MAX);
    OutputWrite::Encode(EncodeCost {
        chunk_bytes,
        buffers,
        request: if remote { store::REQUEST_BYTES } else { 0 },
    })
}

/// The array just written at `path`, as a source.
pub(super) fn read_back(path: &Path) -> Result<ExprRef> {
    Ok(expr::source(Arc::new(ZarrSource::open(path)?)))
}

/// Where a write to Zarr starts.
struct WriteStart {
    /// The output's chunk shape.
    chunks: Vec<usize>,
    /// The blocks the sink takes (the shard shape when sharded).
    write_shape: Vec<usize>,
    /// The array rechunked to `write_shape`.
    target: ExprRef,
    /// The computation's fingerprint, kept with the output while it is written.
    fingerprint: String,
    /// For a resumed write, per write block, true where it is still missing.
    missing: Option<Vec<bool>>,
    /// For a resumed write, the array opened to write the missing blocks.
    sink: Option<ZarrWriter>,
}

/// The chunks, write grid, fingerprint (`fingerprint`, or the target's) and, with
/// `options.resume` and something at `path`, what an interrupted write left there; `None`
/// when there is nothing to write (an earlier write completed, or wrote its last chunk and
/// is now finished).
fn write_start(
    e: &ExprRef,
    path: &Path,
    options: &WriteOptions,
    fingerprint: Option<&str>,
) -> Result<Option<WriteStart>> {
    let (chunks, write_shape, target) = write_target(e, options)?;
    let fingerprint = fingerprint.map_or_else(|| expr::fingerprint(&target), str::to_owned);
    let (mut missing, mut sink) = (None, None);
    let something_there = || store::is_remote(path) || path.exists() || path.is_symlink();
    if options.resume && something_there() {
        let r = ZarrWriter::resume(
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

/// What writing `e` with `options` computes: the output's chunks, the blocks the sink
/// takes (the shard shape when sharded), and `e` rechunked to them.
///
/// # Errors
/// Chunks or shards that do not fit the array.
pub(super) fn write_target(
    e: &ExprRef,
    options: &WriteOptions,
) -> Result<(Vec<usize>, Vec<usize>, ExprRef)> {
    let chunks = match &options.chunks {
        Some(c) => c.clone(),
        None => e.grid().max_chunk_shape(),
    };
    let write_shape = options.write_shape(&chunks)?;
    let target = expr::rechunk_node(e, expr::regular_grid(&e.shape(), &write_shape)?)?;
    Ok((chunks, write_shape, target))
}

/// Refuses to write into a store that the computation reads: overwriting would delete the
/// input before it is read, and the result would silently be made of fill values.
pub(super) fn refuse_reading_target(e: &ExprRef, target: &Path) -> Result<()> {
    let target = if store::is_remote(target) {
        target.to_path_buf() // a URL, compared as written
    } else if let Ok(t) = target.canonicalize() {
        t
    } else {
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

    use super::{
        WriteStart, encode_write, target_sink, via_intermediate, without_rechunk, write_start,
    };
    use crate::config::ComputeOptions;
    use crate::driver::{Copies, prepare};
    use crate::error::{Error, Result};
    use crate::exec::mpi::share_outcome;
    use crate::expr::ExprRef;
    use crate::metrics::Metrics;
    use crate::store::{WriteOptions, ZarrWriteSink, ZarrWriter};

    /// Writes `e` to `path` on every rank: rank 0 opens (or resumes) the array, each rank
    /// writes the blocks it computes; the two-pass write through an intermediate store
    /// (on storage every rank sees: [`crate::driver::SharedDir`]) when the one-pass one
    /// cannot fit. Every rank returns once the array is finished (marked complete by rank
    /// 0), so a following step may read it on any rank.
    pub(super) fn write_zarr(
        e: &ExprRef,
        path: &Path,
        options: &WriteOptions,
        opts: &ComputeOptions,
        fingerprint: Option<&str>,
        rank: i32,
        copies: Copies,
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
            write_shape,
            target,
            fingerprint,
            missing,
            sink: resumed,
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
        let write = encode_write(
            options,
            e.dtype(),
            &write_shape,
            crate::store::is_remote(path),
        );
        let prepared = prepare(&target, opts, write, copies, missing)?;
        // Every rank planned the same, so every rank takes the same branch.
        if let Err(err @ Error::PlanExceedsMemory { .. }) = prepared.check_fits() {
            drop(resumed);
            return via_intermediate(
                without_rechunk(e),
                path,
                &WriteOptions {
                    chunks: Some(chunks),
                    ..options.clone()
                },
                opts,
                &write_shape,
                err,
                &fingerprint,
            );
        }
        prepared.check_fits()?;
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
                let metrics = prepared.execute(opts, &[&ZarrWriteSink::new(&sink)]);
                // Every rank has written its blocks when rank 0's run ends: each block's
                // write is done before its task's reply.
                let finished = metrics.and_then(|m| sink.finish().map(|()| m));
                // The other ranks wait for the array to be marked complete.
                crate::driver::rank_0_did(finished.as_ref().map(|_| ()).map_err(Error::clone))?;
                finished
            }
            None => {
                // The blocks this rank computes, it writes into the array rank 0 made.
                let sink = ZarrWriter::attach(
                    path,
                    &e.shape(),
                    e.dtype(),
                    &chunks,
                    options,
                    Some(&fingerprint),
                )?;
                let metrics = prepared.execute(opts, &[&ZarrWriteSink::new(&sink)]);
                crate::driver::rank_0_did(Ok(()))?;
                metrics
            }
        }
    }
}
