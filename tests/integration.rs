//! The integration test binary: one module per area.

/// The brickwork command-line tool.
#[cfg(feature = "cli")]
mod cli;
/// Shared helpers.
mod common;
/// 0-d, empty, generators, shared subexpressions.
mod edge_cases;
/// Typed errors for bad input.
mod errors;
/// Reading zarr-python fixtures.
mod interop;
/// .npy, raw and CSV import/export.
mod io;
/// Products: matmul, dot, tensordot, outer, vecdot, einsum.
mod linalg;
/// Memory limits: accounting, pre-flight refusals.
mod memory_limit;
/// Elementwise ops, broadcasting, dtype rules.
mod ops;
/// The eval expression language.
mod parse;
/// Property tests against ndarray.
mod props;
/// Random numbers and the tutorial workload.
mod random;
/// Reductions.
mod reductions;
/// Interrupted writes: incomplete arrays, resumed writes, killed processes.
mod resume;
/// Zarr round trips, stores as sources, zarr-python reading our output, graphs.
mod roundtrip;
/// Slicing and transposes.
mod slicing;
/// Writing Zarr v2 and sharded Zarr v3, read back by brickwork and zarr-python.
mod write_formats;
