#![doc = include_str!("../README.md")]
//!
//! # The crate's map
//!
//! The modules, highest first; a module imports only modules below it, never one above
//! or (on one line) beside it, and no two form a circle (`python3 shared/tools/layers.py
//! src`, beside the repository, checks it):
//!
//! | level | module | owns |
//! |---|---|---|
//! | 1 | [`parse`] | the `brickwork eval` language: NumPy-like programs over named arrays |
//! | 2 | [`array`](mod@array) | the front door: [`Array`], lazy; its methods are one-line calls into the driver |
//! | 3 | `driver` | the only sequencer: every compute, write, explain and visualize enters here |
//! | 4 | [`exec`] | running a scheduled plan under the memory limit (threads, cluster, processes, MPI) |
//! | 4 | [`dashboard`] | the live dashboard and HTML report: an [`Observer`] |
//! | 4 | `mpi` | MPI ranks (cargo feature `mpi`) |
//! | 5 | [`schedule`] | the culled task graph, its order, predicted footprint, the fit check, DOT |
//! | 6 | [`plan`] | lowering expressions to stages, the stage kinds (one file each: inputs, bytes, run), the plan passes |
//! | 7 | [`kernel`] | block kernels: pure functions from blocks to blocks |
//! | 7 | [`io`] | .npy, raw and CSV files as block sources and sinks |
//! | 8 | [`expr`] | the whole-array expression graph, shapes, dtypes and grids inferred |
//! | 8 | [`store`] | Zarr stores through zarrs, sinks, locks, temporaries |
//! | 9 | [`config`] | [`ComputeOptions`], the memory limit and where it came from |
//! | 9 | [`block`] | [`Block`]: one chunk of data in memory |
//! | 9 | [`metrics`] | [`Metrics`]: the figures of a run |
//! | 9 | [`error`] | [`Error`] |
//! | 9 | [`observe`] | the [`Observer`] trait and progress events |
//! | 10 | [`grid`] | chunk grids |
//! | 10 | [`units`] | byte sizes |
//! | 10 | [`dtype`] | run-time dtypes and NumPy promotion |

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
