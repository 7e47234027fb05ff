#![doc = include_str!("../README.md")]

pub mod array;
pub mod block;
pub mod config;
pub mod dashboard;
pub(crate) mod driver;
pub mod dtype;
pub mod error;
pub mod exec;
pub mod expr;
pub mod grid;
pub mod io;
pub mod kernel;
pub mod metrics;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod observe;
pub mod parse;
pub mod plan;
pub mod schedule;
pub mod store;
pub mod units;

pub use array::{
    Array, Bins, Lstsq, MapBlocks, NumpyIndex, PadMode, ReduceOptions, TaskCounts, compute_many,
    explain_many_with, map_blocks, map_overlap, to_zarr_many, to_zarr_many_with, visualize_many,
};
pub use block::{Block, BlockElement, BlockRef, MappedBlock};
pub use config::{CancelToken, ComputeOptions, LimitSource, MemoryLimit, Scheduler};
pub use dashboard::{Monitor, MonitorSettings};
pub use dtype::{DType, Element, Kind, Scalar};
pub use error::{BoxError, Error, Result};
pub use expr::{BinaryOp, BlockInfo, Boundary, ReduceOp, UnaryOp};
pub use grid::{AxisChunks, ChunkGrid, Region};
pub use metrics::Metrics;
/// The ndarray crate brickwork's blocks are made of (version 0.17): use `brickwork::ndarray`
/// (or depend on the same version) so that `ArrayD`, `ArrayViewD` and `Axis` are the types
/// brickwork takes and returns; with another major version of ndarray in your crate, the
/// compiler reports traits not implemented for types that look the same.
pub use ndarray;
pub use ndarray::{Axis, s};
pub use observe::{Observer, Progress, ProgressEvent};
pub use store::{Codec, ReadOptions, WriteOptions};
