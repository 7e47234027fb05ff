//! Writing into a region of an existing Zarr array: [`Array::to_zarr_region`], dask's
//! `to_zarr(url, region=(slice(..), ...))`; the driver does the writing
//! (`crate::driver::write_region`).

use std::ops::Range;
use std::path::Path;

use super::Array;
use crate::config::ComputeOptions;
use crate::driver;
use crate::error::Result;
use crate::metrics::Metrics;
use crate::store::WriteOptions;

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
    /// same write again completes it. The target's metadata is not changed but for its
    /// `brickwork` attribute: its chunks, codecs and format rule, and of `options` only
    /// [`WriteOptions::direct_io`] applies. An empty region writes nothing.
    ///
    /// Readers see the write as a new generation of the array, never a mixture: a
    /// computation that is reading the target fails with
    /// [`Error::SourceChanged`](crate::Error::SourceChanged), and opening it while the write
    /// runs, or after it was interrupted until it is run again, fails with
    /// [`Error::RegionWriteUnfinished`](crate::Error::RegionWriteUnfinished) (unless
    /// [`crate::ReadOptions::allow_incomplete`]). The write holds the target's write lock:
    /// another writer of it fails with [`Error::Locked`](crate::Error::Locked).
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
        driver::write_region(self.expr()?, path.as_ref(), region, options, opts, || {
            self.title()
        })
    }
}
