//! The integration test binary: one module per area.

/// The array API standard and NumPy's everyday functions against NumPy (issue 27).
mod array_api;
/// The default memory limit inside a cgroup (issue 24).
#[cfg(target_os = "linux")]
mod cgroup;
/// The brickwork command-line tool.
mod cli;
/// Zarr on object stores: S3 (moto) and HTTP on loopback, zarr-python on the same bucket.
#[cfg(feature = "cloud")]
mod cloud;
/// The cluster scheduler: bit-identical results, transfers, per-worker limits.
mod cluster;
/// Shared helpers.
mod common;
/// complex64/complex128 and numpy.fft against NumPy; complex I/O (issue 27).
mod complex;
/// Several results in one pass: compute_many, to_zarr_many.
mod compute_many;
/// Concurrent writers and readers, signals, leftovers of killed runs (issue 25).
#[cfg(target_os = "linux")]
mod concurrency;
/// The live dashboard's server and the HTML report.
mod dashboard;
/// Random distributions: goodness of fit, chunk invariance.
mod distributions;
/// 0-d, empty, generators, shared subexpressions.
mod edge_cases;
/// Elementwise functions against NumPy on every dtype and special value.
mod elementwise;
/// Typed errors for bad input.
mod errors;
/// Sorting and distinct values beyond memory: runs merged on disk (issue 27).
mod external_sort;
/// Blocked LU and Cholesky: solve, inv, det, slogdet, cholesky (issue 27).
mod factor;
/// Stencils (filters, gradient) and diff against scipy and NumPy.
mod filters;
/// Corrupt and hostile input: damaged chunks, lying metadata and headers; the fuzz harness.
mod hostile;
/// Reading zarr-python fixtures.
mod interop;
/// .npy, raw and CSV import/export.
mod io;
/// brickwork as a dependency: errors to match, kernels that fail, builder options, cancel.
mod library_user;
/// Products: matmul, dot, tensordot, outer, vecdot, einsum.
mod linalg;
/// User kernels: map_blocks, map_overlap.
mod map_blocks;
/// Boolean and integer-array selection.
mod mask;
/// Memory limits: accounting, pre-flight refusals.
mod memory_limit;
/// The MPI scheduler: mpirun with the CLI and the tutorial example.
#[cfg(feature = "mpi")]
mod mpi;
/// `any`/`all` and the NaN-ignoring reductions.
mod nanreduce;
/// Observers: a caller's own sees every task under every scheduler.
mod observe;
/// Elementwise ops, broadcasting, dtype rules.
mod ops;
/// The eval expression language.
mod parse;
/// The processes scheduler: worker processes forked from the test process.
mod processes;
/// Property tests against ndarray.
mod props;
/// Random numbers and the tutorial workload.
mod random;
/// Reductions.
mod reductions;
/// Writing into a region of an existing Zarr array.
mod region;
/// reshape and ravel.
mod reshape;
/// Interrupted writes: incomplete arrays, resumed writes, killed processes.
mod resume;
/// Zarr round trips, stores as sources, zarr-python reading our output, graphs.
mod roundtrip;
/// Peak resident set (anonymous + file-backed) of the CLI under a memory limit.
mod rss;
/// Cumulative sums and products.
mod scans;
/// Slicing and transposes.
mod slicing;
/// Structure: concatenate, stack, expand_dims, squeeze, broadcast_to, flip, moveaxis, pad.
mod structure;
/// Tall-skinny qr (TSQR), svd, svdvals and lstsq against NumPy.
mod tsqr;
/// Writing Zarr v2 and sharded Zarr v3, read back by brickwork and zarr-python.
mod write_formats;
