//! Where output blocks go: into one in-memory array (`compute`), into a new Zarr array
//! (`to_zarr`), or into a region of an existing one (`to_zarr_region`). The executor hands
//! blocks to a [`Sink`] and knows nothing of where they end up; file formats (`crate::io`)
//! implement it for their own files.

use std::sync::Mutex;

use ndarray::{Axis, Slice};

use super::{ZarrRegion, ZarrWriter};
use crate::block::{Block, BlockElement};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::grid::ChunkGrid;

/// Receives the output blocks of a computation, from any worker thread.
pub trait Sink: Sync {
    /// Takes output block `block` (its index in the output grid).
    ///
    /// # Errors
    /// When the block cannot be stored (a write failed).
    fn consume(&self, block: &[usize], value: Block) -> Result<()>;

    /// True when [`Sink::consume`] mostly waits on I/O rather than computing (writing raw
    /// chunks to disk, as opposed to compressing them). The threads scheduler then runs
    /// extra workers, so that tasks keep computing on every thread while others wait for
    /// their writes; at most `threads` tasks compute at once either way. Default `false`.
    fn waits_on_io(&self) -> bool {
        false
    }

    /// True when [`Sink::consume`] sends each block to an object store and waits for the
    /// request's round trip: the threads scheduler then runs up to
    /// [`crate::ComputeOptions::effective_max_requests`] workers beside the computing ones,
    /// so that uploads overlap. Default `false`.
    fn writes_remote(&self) -> bool {
        false
    }

    /// True when the blocks stay in this process's memory (an in-memory result), as
    /// opposed to a store every process can open: with several MPI ranks, rank 0 then
    /// sends each output block to the other ranks too, so that all return the result.
    /// Default `false`.
    fn in_memory(&self) -> bool {
        false
    }
}

/// Assembles the output blocks into one in-memory array.
pub struct CollectSink {
    grid: ChunkGrid,
    out: Mutex<Block>,
}

impl CollectSink {
    /// An empty result of `dtype` shaped like `grid`.
    pub fn new(grid: &ChunkGrid, dtype: DType) -> Self {
        CollectSink {
            grid: grid.clone(),
            out: Mutex::new(Block::zeros(dtype, &grid.shape())),
        }
    }

    /// The assembled array.
    pub fn into_block(self) -> Block {
        self.out.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

impl Sink for CollectSink {
    fn consume(&self, block: &[usize], value: Block) -> Result<()> {
        let region = self.grid.region(block);
        if value.shape() != region.shape.as_slice() {
            return Err(Error::internal(format!(
                "output block {block:?} has shape {:?}, expected {:?}",
                value.shape(),
                region.shape
            )));
        }
        let mut out = self
            .out
            .lock()
            .map_err(|_| Error::internal("collect lock poisoned"))?;
        crate::dispatch_dtype!(value.dtype(), T => {
            let src = T::view(&value).expect("dtype matched");
            let dst = T::view_mut(&mut out)
                .ok_or_else(|| Error::internal("output block dtype differs from the result"))?;
            let mut v = dst.view_mut();
            for (d, (&s, &n)) in region.start.iter().zip(&region.shape).enumerate() {
                v.slice_axis_inplace(Axis(d), Slice::from(s..s + n));
            }
            v.assign(src);
        });
        Ok(())
    }

    fn in_memory(&self) -> bool {
        true
    }
}

/// Writes each output block as one chunk of a Zarr array, or one shard of a sharded array
/// (the output grid is the array's chunk or shard grid).
pub struct ZarrWriteSink<'a> {
    sink: &'a ZarrWriter,
}

impl<'a> ZarrWriteSink<'a> {
    /// Writes into `sink`.
    pub fn new(sink: &'a ZarrWriter) -> Self {
        ZarrWriteSink { sink }
    }
}

impl Sink for ZarrWriteSink<'_> {
    fn consume(&self, block: &[usize], value: Block) -> Result<()> {
        self.sink.write_chunk(block, &value)
    }

    fn waits_on_io(&self) -> bool {
        self.sink.writes_raw()
    }

    fn writes_remote(&self) -> bool {
        self.sink.is_remote()
    }
}

/// Writes each output block into a region of an existing Zarr array: block `b` of the
/// output grid ([`ZarrRegion::block_grid`]) is the part of one stored chunk inside the
/// region.
pub struct ZarrRegionSink<'a> {
    target: &'a ZarrRegion,
}

impl<'a> ZarrRegionSink<'a> {
    /// Writes into `target`.
    pub fn new(target: &'a ZarrRegion) -> Self {
        ZarrRegionSink { target }
    }
}

impl Sink for ZarrRegionSink<'_> {
    fn consume(&self, block: &[usize], value: Block) -> Result<()> {
        self.target.write_block(block, &value)
    }

    fn waits_on_io(&self) -> bool {
        self.target.writes_raw()
    }

    fn writes_remote(&self) -> bool {
        self.target.is_remote()
    }
}
