//! Writing into a region of an existing Zarr array ([`crate::Array::to_zarr_region`]).
//!
//! The array is computed in blocks of the target's chunk grid shifted by the region's start
//! ([`ZarrRegion::block_grid`]), so each stored chunk (shard) is produced by exactly one task
//! and written once: no two tasks ever write the same chunk. Chunks the region covers whole
//! are encoded and written; the others are read, modified and written, and their
//! reservation counts the chunk read, decoded, updated and encoded
//! ([`OutputWrite::Region`]).

use std::ops::Range;
use std::path::Path;

use super::write::{
    intermediate_options, read_back, refuse_reading_target, without_rechunk, write_one,
};
use super::{Copies, full_disk_hint, intermediate_dir, prepare, rechunk, session};
use crate::config::ComputeOptions;
use crate::error::{Error, Result};
use crate::expr::{self, ExprRef};
use crate::grid::fmt_shape;
use crate::metrics::Metrics;
use crate::plan::OutputWrite;
use crate::store::{WriteOptions, ZarrRegion, ZarrRegionSink, fmt_region};

/// Writes `e` into `region` of the Zarr array at `path` ([`crate::Array::to_zarr_region_with`]),
/// as one session titled by `title`.
///
/// # Errors
/// As [`crate::Array::to_zarr_region`].
pub(crate) fn write_region(
    e: &ExprRef,
    path: &Path,
    region: &[Range<usize>],
    options: &WriteOptions,
    opts: &ComputeOptions,
    title: impl FnOnce() -> String,
) -> Result<Metrics> {
    session(opts, title, |opts| {
        region_write(e, path, region, options, opts, Copies::Make)
    })
}

/// [`write_region`] in a session; `copies` [`Copies::Skip`] for the second pass through an
/// intermediate store (which is the realignment).
fn region_write(
    e: &ExprRef,
    path: &Path,
    region: &[Range<usize>],
    options: &WriteOptions,
    opts: &ComputeOptions,
    copies: Copies,
) -> Result<Metrics> {
    // Under MPI rank 0 holds the array's lock and records the region write's beginning
    // and end; every rank writes the blocks it computes.
    let rank = super::mpi_rank(opts)?;
    let what = |detail: &str| {
        Error::invalid(format!(
            "writing into region {} of {}: {detail}",
            fmt_region(region),
            path.display()
        ))
    };
    if options.overwrite {
        return Err(what(
            "overwrite would delete the array being written into; a region write only replaces the region",
        ));
    }
    if options.resume {
        return Err(what(
            "resume does not apply (every chunk is written atomically; run the same write again to complete an interrupted one)",
        ));
    }
    let mut target = match rank {
        None => ZarrRegion::open(path, region, options.direct_io, &options.storage)?,
        Some(0) => {
            let opened = ZarrRegion::open(path, region, options.direct_io, &options.storage);
            super::rank_0_did(opened.as_ref().map(|_| ()).map_err(Error::clone))?;
            opened?
        }
        Some(_) => {
            super::rank_0_did(Ok(()))?;
            ZarrRegion::attach(path, region, options.direct_io, &options.storage)?
        }
    };
    if let Some(chunks) = &options.chunks
        && chunks.as_slice() != target.chunk_shape()
    {
        return Err(what(&format!(
            "chunks {} were asked for but the array has chunks {} (a region write keeps the array's chunks)",
            fmt_shape(chunks),
            fmt_shape(target.chunk_shape())
        )));
    }
    if let Some(shards) = &options.shards
        && Some(shards.as_slice()) != target.shard_shape()
    {
        return Err(what(&format!(
            "shards {} were asked for but the array {} (a region write keeps the array's layout)",
            fmt_shape(shards),
            match target.shard_shape() {
                Some(s) => format!("has shards {}", fmt_shape(s)),
                None => "is not sharded".into(),
            }
        )));
    }
    let region_shape = target.region_shape();
    if e.shape() != region_shape {
        return Err(Error::ShapeMismatch {
            op: format!(
                "to_zarr_region into {} (shape {}, region {})",
                path.display(),
                fmt_shape(target.shape()),
                fmt_region(region)
            ),
            lhs: e.shape(),
            rhs: region_shape,
            hint: "the array's shape must equal the region's".into(),
        });
    }
    if !e.dtype().can_cast_same_kind(target.dtype()) {
        return Err(what(&format!(
            "the array's dtype {} does not cast to the target's dtype {} under NumPy's same_kind rule; call astype({}) first if the conversion is meant",
            e.dtype(),
            target.dtype(),
            target.dtype()
        )));
    }
    refuse_reading_target(e, path)?;
    if region_shape.contains(&0) {
        return Ok(Metrics::default());
    }
    let cast = expr::cast(e, target.dtype());
    let node = expr::rechunk_node(&cast, target.block_grid())?;
    let prepared = prepare(&node, opts, target_write(&target), copies, None)?;
    match prepared.check_fits() {
        Ok(()) => {}
        Err(err @ Error::PlanExceedsMemory { .. }) if copies == Copies::Make => {
            return via_intermediate(without_rechunk(e), &target, options, opts, err);
        }
        Err(other) => return Err(other),
    }
    // Readers of the array see the write from here (it is a new generation), and new
    // readers are refused until it has finished: a reader never mixes old and new chunks.
    match rank {
        None => target.begin()?,
        Some(r) => super::rank_0_did(if r == 0 { target.begin() } else { Ok(()) })?,
    }
    let metrics = prepared.execute(opts, &[&ZarrRegionSink::new(&target)]);
    match rank {
        None => {
            let metrics = metrics?;
            target.finish()?;
            Ok(metrics)
        }
        // Every rank has written its blocks when rank 0's run ends; the others wait for
        // the write to be recorded as finished.
        Some(r) => {
            let finished = match (r, &metrics) {
                (0, Ok(_)) => target.finish(),
                _ => Ok(()),
            };
            super::rank_0_did(finished)?;
            metrics
        }
    }
}

/// The two-pass write of a bounded rechunk (see `write::via_intermediate`) for a region: `e`
/// is copied into a temporary store in intermediate chunks (see [`rechunk::choose`]),
/// then from there into the region. `direct_error` is returned when no intermediate
/// chunks can help (this array's chunks are already the smallest choice).
fn via_intermediate(
    e: &ExprRef,
    target: &ZarrRegion,
    options: &WriteOptions,
    opts: &ComputeOptions,
    direct_error: Error,
) -> Result<Metrics> {
    let chunks = target.write_shape();
    if !rechunk::two_passes_help(&e.grid().max_chunk_shape(), chunks) {
        return Err(direct_error);
    }
    let pass2 = rechunk::Pass2 {
        grid: target.block_grid(),
        write: target_write(target),
    };
    let inter = rechunk::choose_for(e, chunks, opts, &pass2)?;
    let path = target.path();
    let tmp = intermediate_dir(path, "region", opts)?;
    let inter_path = tmp.path().join("intermediate.zarr");
    let inter_opts = intermediate_options(inter);
    let first = write_one(e, &inter_path, &inter_opts, opts, Copies::Skip, None)
        .map_err(|e| full_disk_hint(e, "the intermediate store of a two-pass write"))?;
    let second = region_write(
        &read_back(&inter_path)?,
        path,
        target.region(),
        options,
        opts,
        Copies::Skip,
    )?;
    Ok(first.then(&second))
}

/// What writing a block into `target` costs ([`OutputWrite::Region`]).
fn target_write(target: &ZarrRegion) -> OutputWrite {
    OutputWrite::Region {
        chunk_bytes: target.chunk_bytes(),
        partial: target.partial_blocks(),
    }
}
