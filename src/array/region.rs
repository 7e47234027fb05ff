//! Writing into a region of an existing Zarr array: [`Array::to_zarr_region`], dask's
//! `to_zarr(url, region=(slice(..), ...))`.
//!
//! The array is computed in blocks of the target's chunk grid shifted by the region's start
//! ([`ZarrRegion::block_grid`]), so each stored chunk (shard) is produced by exactly one task
//! and written once: no two tasks ever write the same chunk. Chunks the region covers whole
//! are encoded and written; the others are read, modified and written, and their
//! reservation counts the chunk read, decoded, updated and encoded
//! ([`OutputWrite::Region`]).

use std::ops::Range;
use std::path::Path;

use super::{Array, prepare, rechunk, refuse_reading_target};
use crate::config::ComputeOptions;
use crate::error::{Error, Result};
use crate::exec::{self, Metrics, ZarrRegionSink};
use crate::expr;
use crate::grid::fmt_shape;
use crate::plan::OutputWrite;
use crate::store::{Codec, WriteOptions, ZarrRegion, fmt_region};

impl Array {
    /// Writes this array's values into `region` of the existing Zarr array at `path` (v3,
    /// sharded or not, or v2), leaving everything outside the region as it was.
    ///
    /// `region` has one range per axis of the target, `start..end`, as dask's
    /// `to_zarr(url, region=(slice(start, end), ...))` and zarr-python's
    /// `z[start:end, ...] = values` take it; its shape must equal this array's shape. Values
    /// are cast to the target's dtype when NumPy's `same_kind` rule allows it
    /// (`np.copyto`'s default: `float64` into `float32`, `int32` into `float64`, `int64`
    /// into `int16`); a float into an integer array, a signed into an unsigned one, or
    /// anything into bool is refused: call [`Array::astype`] first to say you mean it.
    /// (zarr-python's assignment casts anything, truncating floats into integers.)
    ///
    /// Chunks (shards) the region covers whole are written directly; chunks it covers
    /// partly, at its edges, are read, updated and written back (chunks never written read
    /// as the fill value). Each chunk is written atomically (a temporary name, then a
    /// rename), so an interrupted write leaves every chunk either old or new; running the
    /// same write again completes it. The target's metadata is not changed: its chunks,
    /// codecs and format rule, and of `options` only [`WriteOptions::direct_io`] applies.
    /// An empty region writes nothing.
    ///
    /// With the default compute options; see [`Array::to_zarr_region_with`].
    ///
    /// # Errors
    /// - no Zarr array at `path`, or one brickwork cannot read (as [`Array::from_zarr`]), or
    ///   one whose brickwork write did not finish;
    /// - a region with another number of axes than the target, or reaching outside it (the
    ///   message names the path, the target's shape and the region);
    /// - this array's shape differs from the region's shape;
    /// - a dtype that does not cast to the target's as described above;
    /// - `options.overwrite` or `options.resume` (meaningless here), or `options.chunks` /
    ///   `options.shards` other than the target's;
    /// - the computation reads the target array itself;
    /// - any error while computing, reading or writing a chunk (naming its key).
    pub fn to_zarr_region(
        &self,
        path: impl AsRef<Path>,
        region: &[Range<usize>],
        options: &WriteOptions,
    ) -> Result<Metrics> {
        self.to_zarr_region_with(path, region, options, &ComputeOptions::default())
    }

    /// [`Array::to_zarr_region`] with explicit compute options (scheduler, threads, memory
    /// limit). When writing in the target's chunks does not fit the memory limit (each
    /// chunk needing many of this array's chunks, as in rows written into a column-chunked
    /// array), the array is first copied into a temporary store with intermediate chunks,
    /// as [`Array::to_zarr_with`] does.
    ///
    /// # Errors
    /// As [`Array::to_zarr_region`].
    pub fn to_zarr_region_with(
        &self,
        path: impl AsRef<Path>,
        region: &[Range<usize>],
        options: &WriteOptions,
        opts: &ComputeOptions,
    ) -> Result<Metrics> {
        crate::dashboard::scoped(
            opts,
            || self.title(),
            || self.write_region(path.as_ref(), region, options, opts, true),
        )
    }

    /// [`Array::to_zarr_region_with`]; `realign` false for the second pass through an
    /// intermediate store (which is the realignment).
    fn write_region(
        &self,
        path: &Path,
        region: &[Range<usize>],
        options: &WriteOptions,
        opts: &ComputeOptions,
        realign: bool,
    ) -> Result<Metrics> {
        let e = self.expr()?;
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
        let target = ZarrRegion::open(path, region, options.direct_io)?;
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
        let (plan, scheduled, copies) = prepare(&node, opts, target_write(&target), realign, None)?;
        match exec::check_fits(&plan, &scheduled, opts) {
            Ok(()) => {}
            Err(err @ Error::PlanExceedsMemory { .. }) if realign => {
                return self.write_region_via_intermediate(&target, options, opts, err);
            }
            Err(other) => return Err(other),
        }
        let metrics = exec::execute(&plan, &scheduled, opts, &ZarrRegionSink::new(&target))?;
        Ok(copies.then(&metrics))
    }

    /// The two-pass write of [`Array::to_zarr_via_intermediate`] for a region: this array
    /// is copied into a temporary store in intermediate chunks (see [`rechunk::choose`]),
    /// then from there into the region. `direct_error` is returned when no intermediate
    /// chunks can help (this array's chunks are already the smallest choice).
    fn write_region_via_intermediate(
        &self,
        target: &ZarrRegion,
        options: &WriteOptions,
        opts: &ComputeOptions,
        direct_error: Error,
    ) -> Result<Metrics> {
        let e = self.expr()?;
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
        let tmp = super::intermediate_dir(path, ".brickwork-region-")?;
        let inter_path = tmp.path().join("intermediate.zarr");
        let inter_opts = WriteOptions {
            chunks: Some(inter),
            codec: Codec::None,
            overwrite: true,
            direct_io: false,
            ..WriteOptions::default()
        };
        let first = self.write_zarr(&inter_path, &inter_opts, opts, false, None)?;
        let second = Array::from_zarr(&inter_path)?.write_region(
            path,
            target.region(),
            options,
            opts,
            false,
        )?;
        Ok(first.then(&second))
    }
}

/// What writing a block into `target` costs ([`OutputWrite::Region`]).
fn target_write(target: &ZarrRegion) -> OutputWrite {
    OutputWrite::Region {
        chunk_bytes: target.chunk_bytes(),
        partial: target.partial_blocks(),
    }
}
