//! NumPy for data that does not fit: lazy, chunked n-dimensional arrays over
//! [Zarr](https://zarr.dev) stores, computed by blocked algorithms on every core under a hard
//! memory limit. In the spirit of dask.array, as a native Rust engine: operations build a
//! graph and return at once; [`Array::compute`] and [`Array::to_zarr`] run it, streaming
//! chunks from the stores and back without holding more than the limit.
//!
//! This page is the library's manual. The repository's README covers the `brickwork`
//! command-line tool, the design and the benchmark figures; `examples/` holds complete
//! programs (`climatology.rs`: mean, std and anomaly of a 3-D store; `kernel_pipeline.rs`:
//! user kernels over an image, with progress and cancel; `tutorial.rs`: dask's tutorial
//! workload under every scheduler).
//!
//! - [Getting started](#getting-started)
//! - [Computing into ndarray](#computing-into-ndarray)
//! - [Reading and writing Zarr](#reading-and-writing-zarr)
//! - [The memory limit and the process's memory](#the-memory-limit-and-the-processs-memory)
//! - [The allocator](#the-allocator)
//! - [Progress, cancellation and observers](#progress-cancellation-and-observers)
//! - [Errors](#errors)
//! - [User kernels](#user-kernels)
//! - [The ndarray version](#the-ndarray-version)
//! - [Schedulers](#schedulers)
//! - [The crate's map](#the-crates-map)
//!
//! # Getting started
//!
//! ```toml
//! [dependencies]
//! brickwork = "0.1"
//! ```
//!
//! The library builds none of the command-line tool's dependencies (that is the
//! `brickwork-cli` package, `cargo install --path cli` from the repository). Cargo features:
//! `mpi` (the MPI scheduler, over the system's Open MPI or MPICH) and `openblas` (float
//! matrix products on the system's OpenBLAS instead of the `gemm` crate); both off by
//! default.
//!
//! An [`Array`] is a lazy handle (cheap to clone) on an n-dimensional array cut into chunks,
//! with a dtype known at run time ([`DType`]: bool, int8–int64, uint8–uint64, float32,
//! float64). Methods follow ndarray where ndarray has the concept (`t()`, `slice(s![..])`,
//! `sum_axis`, `mean_axis`) and NumPy/dask where it does not (`rechunk`, `astype`,
//! `to_zarr`), with NumPy's broadcasting and type promotion:
//!
//! ```rust
//! use brickwork::{Array, Axis, s};
//!
//! // 1000 x 1000 uniform random numbers in 250 x 250 chunks (seeded: the same values
//! // whatever the chunking).
//! let x = Array::random(&[1000, 1000], &[250, 250], 42)?;
//! // NumPy's (x + x.T)[::2, 500:].mean(axis=1): builds a graph, reads and computes nothing.
//! let v = (&x + &x.t()).slice(s![..;2, 500..])?.mean_axis(Axis(1))?;
//! assert_eq!(v.shape(), [500]);
//! println!("{v}"); // brickwork.Array<mean, shape=(500,), dtype=float64, ...>
//!
//! // Compute it, on every core, under the default memory limit: an ndarray::ArrayD<f64>.
//! let values = v.compute_as::<f64>()?;
//! assert_eq!(values.len(), 500);
//! assert!((values.mean().unwrap() - 1.0).abs() < 0.05);
//! # Ok::<(), brickwork::Error>(())
//! ```
//!
//! Fallible methods return [`Result`] (`Result<T, brickwork::Error>`); arithmetic operators
//! (`+ - * / % & | ^`, unary `-` and `!`, with arrays or `f64`/`i64` scalars) keep
//! expressions readable and hand their errors to the next fallible call (see
//! [Errors](#errors)). Creation: [`Array::random`] and the other seeded distributions,
//! [`Array::zeros`], [`Array::full`], [`Array::arange`], [`Array::linspace`],
//! [`Array::from_ndarray`], [`Array::from_zarr`]. Nothing has run until a method computes:
//! [`Array::compute`], [`Array::compute_as`], [`Array::compute_with`], [`Array::to_zarr`] and
//! their variants, [`compute_many`] and [`to_zarr_many`]. [`Array::explain`] describes the
//! plan without running it.
//!
//! # Computing into ndarray
//!
//! A computed array is a [`Block`]: an enum of `ndarray::ArrayD` over the dtypes.
//! [`Array::compute_as`] unwraps it to the element type you name, which must be the array's
//! (convert with [`Array::astype`] first); [`Block::into_typed`] converts instead.
//!
//! ```rust
//! use brickwork::ndarray::{Array2, ArrayD};
//! use brickwork::{Array, Axis, Block, ComputeOptions, DType, compute_many};
//!
//! // From an ndarray (moved in, not copied), cut into chunks of 4 x 2.
//! let data = Array2::from_shape_fn((6, 4), |(i, j)| (i * 4 + j) as f32);
//! let x = Array::from_ndarray(data.into_dyn(), &[4, 2])?;
//! assert_eq!((x.shape(), x.dtype()), (vec![6, 4], DType::F32));
//!
//! // Typed: float32 sums stay float32, as in NumPy.
//! let col_sums: ArrayD<f32> = x.sum_axis(Axis(0))?.compute_as::<f32>()?;
//! assert_eq!(col_sums.as_slice().unwrap(), &[60.0, 66.0, 72.0, 78.0]);
//!
//! // The run-time dtype: match on the Block.
//! match x.max()?.compute()? {
//!     Block::F32(m) => assert_eq!(m.first(), Some(&23.0)), // a 0-d array
//!     other => panic!("a float32 maximum, not {:?}", other.dtype()),
//! }
//! // Another element type: convert lazily (astype), or the computed block (into_typed).
//! let as_f64: ArrayD<f64> = x.astype(DType::F64)?.compute_as::<f64>()?;
//! let as_i32: ArrayD<i32> = x.compute()?.into_typed::<i32>();
//! assert_eq!((as_f64[[5, 3]], as_i32[[5, 3]]), (23.0, 23));
//!
//! // Options, and the figures of the run (tasks, bytes read, peak memory, seconds, ...).
//! let (mean, metrics) = x.mean()?.compute_with(&ComputeOptions::threads(2))?;
//! assert_eq!(mean.into_typed::<f32>().first(), Some(&11.5));
//! assert!(metrics.tasks > 0);
//!
//! // Several results in one pass: what they share is read or computed once.
//! let (blocks, _metrics) = compute_many(&[&x.min()?, &x.max()?], &ComputeOptions::default())?;
//! assert_eq!(blocks[0].clone().into_typed::<f32>().first(), Some(&0.0));
//! # Ok::<(), brickwork::Error>(())
//! ```
//!
//! The result of a compute is assembled in memory whole, outside the memory limit (see
//! [below](#the-memory-limit-and-the-processs-memory)): compute what fits (reductions,
//! selections, small arrays) and write the rest to Zarr. [`Array::compute_into`] hands each
//! output block to a [`store::Sink`] of your own as it is produced instead.
//!
//! # Reading and writing Zarr
//!
//! [`Array::from_zarr`] opens a Zarr array, v3 or v2, with any codec zarr-python writes
//! (zstd, gzip, zlib, blosc, crc32c, transpose, big-endian, sharding); its chunks are the
//! array's chunks. [`Array::to_zarr`] writes an array chunk by chunk (each chunk atomically:
//! written to a temporary name and renamed), as set by [`WriteOptions`]:
//!
//! | field | default | |
//! |---|---|---|
//! | `chunks` | the array's chunks | the chunk shape to write (inner chunks when sharded) |
//! | `codec` | `Codec::Zstd { level: 3 }` | [`Codec`]: `None`, `Zstd`, `Gzip`, `Blosc`; [`Codec::parse`] reads `"zstd:5"`, `"blosc:lz4"`, ... |
//! | `zarr_format` | [`store::ZarrFormat::V3`] | `V2` writes what zarr-python writes for v2 (no sharding) |
//! | `shards` | none | a shard shape: Zarr v3 `sharding_indexed`, one object per shard |
//! | `overwrite` | `false` | replace an existing array; without it an existing path is an error |
//! | `resume` | `false` | finish an interrupted write of the same computation, keeping the chunks written |
//! | `attributes` | empty | user attributes (the key `"brickwork"` is reserved) |
//! | `direct_io` | `true` | write objects of 1 MiB and more with `O_DIRECT` (Linux), past the page cache |
//!
//! ```rust
//! use brickwork::store::ZarrFormat;
//! use brickwork::{Array, Axis, Codec, ComputeOptions, DType, Error, WriteOptions};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("x.zarr");
//! let x = Array::random(&[400, 300], &[100, 100], 7)?.astype(DType::F32)?;
//!
//! // Zarr v3, zstd, the array's chunks. The figures say what was written.
//! let metrics = x.to_zarr(&path, &WriteOptions::default())?;
//! assert_eq!(metrics.bytes_output, x.nbytes());
//! let y = Array::from_zarr(&path)?;
//! assert_eq!(y.compute_as::<f32>()?, x.compute_as::<f32>()?);
//!
//! // Zarr v2 with gzip in other chunks; sharded v3 with Blosc.
//! let v2 = WriteOptions {
//!     chunks: Some(vec![200, 150]),
//!     codec: Codec::Gzip { level: 5 },
//!     zarr_format: ZarrFormat::V2,
//!     ..WriteOptions::default()
//! };
//! y.to_zarr(dir.path().join("x_v2.zarr"), &v2)?;
//! let sharded = WriteOptions {
//!     chunks: Some(vec![50, 50]),
//!     shards: Some(vec![200, 150]),
//!     codec: Codec::parse("blosc:zstd:5")?,
//!     ..WriteOptions::default()
//! };
//! y.to_zarr(dir.path().join("x_sharded.zarr"), &sharded)?;
//! let back = Array::from_zarr(dir.path().join("x_sharded.zarr"))?;
//! assert_eq!(back.compute_as::<f32>()?, x.compute_as::<f32>()?);
//!
//!
//! // Several new arrays in one pass (here: under a 1 MiB limit, 2 threads).
//! let opts = ComputeOptions::threads(2).memory_limit(1 << 20);
//! brickwork::to_zarr_many_with(
//!     &[
//!         (&y.mean_axis(Axis(0))?, dir.path().join("mean.zarr")),
//!         (&y.std_axis(Axis(0), 0.0)?, dir.path().join("std.zarr")),
//!     ],
//!     &WriteOptions::default(),
//!     &opts,
//! )?;
//! assert_eq!(Array::from_zarr(dir.path().join("std.zarr"))?.shape(), [300]);
//!
//! // Into a region of an existing array (zarr-python's z[0:100, 0:10] = ...): the rest stays.
//! let ones = Array::ones(&[100, 10], &[100, 10], DType::F32)?;
//! ones.to_zarr_region(dir.path().join("x_v2.zarr"), &[0..100, 0..10], &WriteOptions::default())?;
//! let z = Array::from_zarr(dir.path().join("x_v2.zarr"))?.compute_as::<f32>()?;
//! assert_eq!((z[[99, 9]], z[[100, 10]]), (1.0, x.compute_as::<f32>()?[[100, 10]]));
//!
//! // An existing array is replaced only when asked.
//! match x.to_zarr(&path, &WriteOptions::default()) {
//!     Err(Error::Store { path: p, detail, .. }) => {
//!         assert_eq!((p, detail.as_str()), (path.clone(), "already exists; pass overwrite (--overwrite) to replace it"));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! let replace = WriteOptions { overwrite: true, ..WriteOptions::default() };
//! x.to_zarr(&path, &replace)?;
//! // Arrays opened before the replacement refuse to mix the two (checked at every chunk read).
//! assert!(matches!(y.compute(), Err(Error::SourceChanged { .. })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A write marks its array complete only at the end. An array whose write was interrupted
//! (killed, cancelled, a full disk) stays marked incomplete, and opening it is
//! [`Error::IncompleteArray`] rather than a silently wrong answer; write it again with
//! `resume: true` (only the missing chunks are computed), or read it anyway with
//! [`Array::from_zarr_with`] and [`ReadOptions::allow_incomplete`] (missing chunks read as
//! the fill value). One writer per
//! array: a second one fails with [`Error::Locked`], naming the first. The on-disk protocol is
//! specified in the repository's `store-format/README.md`.
//!
//! # The memory limit and the process's memory
//!
//! Every computation runs under a memory limit: [`ComputeOptions::memory_limit()`] (bytes;
//! per worker for a cluster), or by default half of the smaller of the memory available when
//! the call starts (`MemAvailable`) and the process's cgroup limit (what a container, Slurm
//! or Kubernetes gave the job), 4 GiB where neither can be read. [`MemoryLimit::of_machine`]
//! computes that default and [`LimitSource`] says where it came from.
//!
//! The limit bounds the bytes **the engine** holds at once, all accounted before they are
//! allocated: decoded chunks read from stores (and their encoded bytes while they are
//! decoded), task results held for the tasks that use them, output blocks waiting to be
//! written and their encode buffers, each task's scratch, and the pages of memory-mapped
//! uncompressed chunks a task touches. Before anything runs, a task that cannot fit on its
//! own is refused ([`Error::PlanExceedsMemory`], with a chunk shape that would fit). While it
//! runs, a task starts only when its reservation fits; what does not fit is evicted (a source
//! chunk dropped and read again, an intermediate spilled to [`ComputeOptions::spill_dir()`]
//! and read back). Source chunks that several tasks use are held between those uses when they
//! fit, and read again by each task when they do not: `x - x.mean_axis(Axis(0))` reads `x`
//! once when a column of its chunks fits in the limit, twice otherwise.
//! [`Metrics::peak_reserved_bytes`] never exceeds the limit; `bytes_read`, `bytes_spilled`
//! and `blocks_recomputed` say what it cost.
//!
//! It does not bound the **process**. Not counted: the result of [`Array::compute`] (yours,
//! assembled whole), your own data ([`Array::from_ndarray`] keeps its array), the program's
//! code, thread stacks, the codecs' state, and memory the allocator keeps after brickwork
//! frees it. With mimalloc set up as below, the `brickwork` binary's peak resident set stays
//! within the limit plus 64 MiB (the repository's `tests/rss.rs` checks it on stores several
//! times the limit; measured within the limit plus 30 MiB). So to keep a job within R bytes
//! of memory, give a limit of R minus that margin minus what your program holds itself.
//!
//! ```rust
//! use brickwork::{Array, Axis, ComputeOptions, DType, Error, LimitSource, WriteOptions};
//!
//! // The default, and where it came from (half of MemAvailable, of a cgroup's limit, ...).
//! let default = ComputeOptions::default().resolved_memory_limit();
//! println!("default limit: {} ({})", brickwork::units::format_bytes(default.bytes), default.source);
//! let given = ComputeOptions::threads(2).memory_limit(2 << 20).resolved_memory_limit();
//! assert_eq!((given.bytes, given.source), (2 << 20, LimitSource::Given));
//!
//! // An 8 MB store in chunks of 25 rows, demeaned under a 2 MiB limit: the mean needs every
//! // chunk before the first subtraction, x does not fit, so its chunks are read twice.
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("x.zarr");
//! Array::random(&[1000, 1000], &[25, 1000], 1)?.to_zarr(&path, &WriteOptions::default())?;
//! let x = Array::from_zarr(&path)?;
//! let demeaned = &x - &x.mean_axis(Axis(0))?;
//! let opts = ComputeOptions::threads(2).memory_limit(2 << 20);
//! let m = demeaned.to_zarr_with(dir.path().join("y.zarr"), &WriteOptions::default(), &opts)?;
//! assert!(m.peak_reserved_bytes <= 2 << 20);
//! assert_eq!(m.bytes_read, 2 * x.nbytes());
//! println!("{m}"); // tasks, bytes read and written, peak reserved vs predicted and limit, ...
//!
//! // The result of a compute is not counted: 8 MB comes back under the 2 MiB limit.
//! let (all, _) = x.compute_with(&opts)?;
//! assert_eq!(all.nbytes() as u64, x.nbytes());
//!
//! // A task that cannot fit is refused before anything runs, saying what would fit.
//! let tiny = ComputeOptions::threads(2).memory_limit(64 << 10);
//! match (&x + 1.0).compute_with(&tiny) {
//!     Err(Error::PlanExceedsMemory { needed, limit, hint, .. }) => {
//!         assert!(needed > limit);
//!         println!("refused: {hint}"); // smaller chunks would fit, or raise the limit
//!     }
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The allocator
//!
//! A program using brickwork chooses its global allocator, and should choose
//! [mimalloc](https://crates.io/crates/mimalloc): the engine allocates and frees blocks of
//! megabytes continuously (tiles of fused programs, decoded chunks), and glibc's allocator
//! returns such buffers to the operating system and faults them back in for the next block
//! (more than half the run time of the tutorial workload). The library cannot choose for you:
//! a global allocator is the binary's decision.
//!
//! mimalloc keeps freed memory for reuse for 10 ms by default, and that memory is resident
//! memory the engine's limit does not see: set its `purge_delay` option to 0 before any
//! thread starts (the `brickwork` binary does; measured on `x - x.mean(axis=0)` over 3.2 GB
//! under 256 MiB: 45 MB of peak anonymous memory instead of 54–87 MB, at the same speed), or
//! set `MIMALLOC_PURGE_DELAY=0` in the environment.
//!
//! ```rust,standalone_crate
//! // Cargo.toml: mimalloc = { version = "0.1", default-features = false }
//! //             libmimalloc-sys = { version = "0.1", default-features = false, features = ["extended"] }
//! #[global_allocator]
//! static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
//!
//! /// mimalloc's `purge_delay` option (`mi_option_purge_delay` in mimalloc.h).
//! const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
//!
//! fn main() -> brickwork::Result<()> {
//!     // SAFETY: before any other thread exists; setting options is not thread-safe.
//!     unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
//!     let x = brickwork::Array::random(&[2000, 2000], &[500, 500], 0)?;
//!     let total = x.sum()?.compute_as::<f64>()?;
//!     assert!((total.first().unwrap() / 4e6 - 0.5).abs() < 0.01);
//!     Ok(())
//! }
//! ```
//!
//! # Progress, cancellation and observers
//!
//! [`ComputeOptions`] starts from a scheduler ([`ComputeOptions::default`]: threads on every
//! core; [`ComputeOptions::threads`], [`ComputeOptions::synchronous`],
//! [`ComputeOptions::cluster`], [`ComputeOptions::processes`], [`ComputeOptions::mpi`]) and
//! chains what differs from the defaults; the fields are public too.
//!
//! | builder | default | |
//! |---|---|---|
//! | [`.memory_limit(bytes)`](ComputeOptions::memory_limit()) | half the available memory | see [above](#the-memory-limit-and-the-processs-memory) |
//! | [`.progress(\|ev\| ..)`](ComputeOptions::progress()) | none | called after every task with a [`ProgressEvent`] |
//! | [`.cancel(token)`](ComputeOptions::cancel()) | none | a [`CancelToken`] that stops the computation |
//! | [`.spill_dir(dir)`](ComputeOptions::spill_dir()) | `$TMPDIR`, else `/tmp` | where intermediates are spilled |
//! | [`.observe(observer)`](ComputeOptions::observe) | none | an [`Observer`] of your own |
//! | [`.dashboard(addr)`](ComputeOptions::dashboard), [`.report(path)`](ComputeOptions::report) | none | the live dashboard and the HTML report ([`dashboard`]) |
//!
//! The progress callback and observers are called from worker threads while tasks run:
//! keep them cheap and thread-safe. A [`CancelToken`] is a shared flag: keep one, give a
//! clone to the options, and call [`CancelToken::cancel`] from any thread (or a signal
//! handler). No new task starts after it; the computation removes its temporaries and returns
//! [`Error::Cancelled`], and an output it was writing stays marked incomplete.
//!
//! ```rust
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use brickwork::observe::{Observer, RunInfo, TaskDone};
//! use brickwork::{Array, CancelToken, ComputeOptions, Error, Metrics};
//!
//! let x = Array::random(&[2000, 2000], &[100, 100], 3)?;
//!
//! // Progress: where the computation stands, after every task.
//! let last = Arc::new(AtomicU64::new(0));
//! let seen = last.clone();
//! let opts = ComputeOptions::threads(2)
//!     .memory_limit(64 << 20)
//!     .progress(move |ev| {
//!         assert!(ev.tasks_done <= ev.tasks_total && ev.reserved_bytes <= ev.memory_limit);
//!         seen.fetch_max(ev.tasks_done, Ordering::Relaxed);
//!     });
//! x.sum()?.compute_with(&opts)?;
//! assert!(last.load(Ordering::Relaxed) >= 400); // one task per chunk, and the sums' tree
//!
//! // Cancel: here from the progress callback, after 10 tasks; any thread would do.
//! let token = CancelToken::new();
//! let stop = token.clone();
//! let opts = ComputeOptions::threads(2)
//!     .progress(move |ev| if ev.tasks_done >= 10 { stop.cancel() })
//!     .cancel(token.clone());
//! assert!(matches!((&x * 2.0).compute_with(&opts), Err(Error::Cancelled)));
//! assert!(token.is_cancelled());
//!
//! // An observer sees each run's plan, every task and the final figures.
//! #[derive(Clone, Default)]
//! struct Counter {
//!     stages: Arc<AtomicU64>,
//!     tasks: Arc<AtomicU64>,
//! }
//! impl Observer for Counter {
//!     fn run_begin(&self, run: &RunInfo) {
//!         self.stages.fetch_add(run.stages.len() as u64, Ordering::Relaxed);
//!     }
//!     fn task_done(&self, _task: &TaskDone) {
//!         self.tasks.fetch_add(1, Ordering::Relaxed);
//!     }
//!     fn run_end(&self, metrics: &Metrics) {
//!         assert!(metrics.peak_reserved_bytes <= metrics.memory_limit);
//!     }
//! }
//! let counter = Counter::default();
//! let opts = ComputeOptions::threads(2).observe(counter.clone()); // clones share the counts
//! let (_, metrics) = x.mean()?.compute_with(&opts)?;
//! assert_eq!(counter.tasks.load(Ordering::Relaxed), metrics.tasks);
//! assert!(counter.stages.load(Ordering::Relaxed) >= 1);
//! # Ok::<(), brickwork::Error>(())
//! ```
//!
//! # Errors
//!
//! [`Error`] is one enum, `#[non_exhaustive]` and [`Clone`], with a variant per failure and
//! the values involved as fields: match on it. The caller's mistakes are reported when an
//! array is built (an operator's, when the array is first used; see below): shapes that do
//! not broadcast ([`Error::ShapeMismatch`]), a dtype an operation does not take
//! ([`Error::UnsupportedDType`], [`Error::DTypeMismatch`]), an argument of the wrong rank
//! ([`Error::RankMismatch`]), indices ([`Error::IndexOutOfBounds`],
//! [`Error::TooManyIndices`]), axes ([`Error::InvalidAxis`]), a path that holds no array
//! ([`Error::UnknownStoreFormat`]), and [`Error::InvalidArgument`] for what has no better
//! name. The environment's: [`Error::Store`], [`Error::Io`], [`Error::Spill`] (with the
//! operating system's error as the [`source`](std::error::Error::source); see
//! [`Error::io_error`]), [`Error::IncompleteArray`], [`Error::Locked`]. Memory:
//! [`Error::PlanExceedsMemory`] (refused before running). Your kernels': [`Error::Kernel`],
//! [`Error::KernelPanicked`] (see [User kernels](#user-kernels)). And [`Error::Cancelled`].
//!
//! Arithmetic operators cannot return a `Result`: an array built by a failed `&a + &b` holds
//! the error, and every fallible method on it (or on arrays built from it) returns that error,
//! as the variant it was raised as. [`Array::check`], [`Array::try_shape`] and
//! [`Array::try_dtype`] ask early; [`Array::shape`] and [`Array::dtype`] stay infallible and
//! give `[]` and `bool` for such an array.
//!
//! ```rust
//! use brickwork::{Array, Axis, DType, Error, s};
//!
//! let a = Array::zeros(&[4, 6], &[2, 3], DType::F32)?;
//! let b = Array::zeros(&[5], &[5], DType::F32)?;
//! let c = &a + &b; // no error yet
//! match c.try_shape() {
//!     Err(Error::ShapeMismatch { lhs, rhs, .. }) => assert_eq!((lhs, rhs), (vec![4, 6], vec![5])),
//!     other => panic!("{other:?}"),
//! }
//! // The same error from everything built on it.
//! assert!(matches!((&c * 2.0).sum(), Err(Error::ShapeMismatch { .. })));
//!
//! match a.compute_as::<f64>() {
//!     Err(Error::DTypeMismatch { expected, found, .. }) => {
//!         assert_eq!((expected, found), (DType::F64, DType::F32));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! assert!(matches!(a.slice(s![9, ..]), Err(Error::IndexOutOfBounds { index: 9, axis: 0, len: 4, .. })));
//! assert!(matches!(a.slice(s![0, 0, 0]), Err(Error::TooManyIndices { given: 3, .. })));
//! assert!(matches!(a.sum_axis(Axis(2)), Err(Error::InvalidAxis { axis: 2, ndim: 2, .. })));
//! assert!(matches!(Array::zeros(&[4, 6], &[2], DType::F32), Err(Error::RankMismatch { .. })));
//!
//! // The environment's errors keep their cause: match the operating system's error.
//! let dir = tempfile::tempdir()?;
//! match Array::from_zarr(dir.path().join("missing.zarr")) {
//!     Err(e @ Error::UnknownStoreFormat { .. }) => println!("{e}"),
//!     Err(e) => println!("{e} ({:?})", e.io_error().map(|io| io.kind())),
//!     Ok(_) => panic!("nothing is there"),
//! }
//! // Messages name what is involved; {:#} with anyhow prints the chain of sources.
//! let e = (&a + &b).compute().unwrap_err();
//! assert_eq!(
//!     e.to_string(),
//!     "add: shapes (4, 6) and (5,) are not compatible (cannot broadcast: axis 1 has sizes 6 and 5)"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # User kernels
//!
//! [`map_blocks`] runs your Rust function over the blocks of one or more arrays (dask's
//! `map_blocks`), [`map_overlap`] over blocks extended by a halo from their neighbours and
//! trimmed after (stencils, filters, local statistics). The function is a node of the graph
//! like any other: fused with its inputs (a kernel over `x + 1` reads `x` and adds in the
//! same task), culled, spilled under the limit, run on every core; it always receives whole
//! blocks, and a [`BlockInfo`] saying where the block lies.
//!
//! A kernel returns `Result<Block, E>` for any error type `E` that converts into
//! [`BoxError`] (`Box<dyn std::error::Error + Send + Sync>`): `?` works on I/O, parse and your
//! own errors. Its error fails the computation as [`Error::Kernel`] `{ op, block, source }`:
//! the kernel's name ([`MapBlocks::new`]), the block's index, and your error as the source
//! (downcast it). A kernel that panics fails it as [`Error::KernelPanicked`] `{ op, block,
//! message }`, reported once (the panic hook does not print it). Under worker processes
//! ([`Scheduler::Processes`]) and MPI both arrive as the same variants; the source of an
//! [`Error::Kernel`] is then an [`error::RemoteError`] with your error's message and causes
//! (its type stays in the process that ran the kernel).
//!
//! ```rust
//! use brickwork::ndarray::{Array1, ArrayD, ArrayViewD};
//! use brickwork::{Array, Block, BoxError, Boundary, DType, Error, MapBlocks, map_blocks, map_overlap};
//!
//! let x = Array::from_ndarray(Array1::range(0.0, 12.0, 1.0).into_dyn(), &[4])?;
//!
//! // Typed, one input, blocks keep their shapes: the result's dtype is the function's.
//! let squares = x.map_blocks(|b: ArrayViewD<f64>| b.mapv(|v| v * v))?;
//! assert_eq!(squares.compute_as::<f64>()?[[3]], 9.0);
//!
//! // The general form: several inputs, a name, a declared dtype, and an error type of its own.
//! #[derive(Debug)]
//! struct Negative(f64);
//! impl std::fmt::Display for Negative {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         write!(f, "negative value {}", self.0)
//!     }
//! }
//! impl std::error::Error for Negative {}
//!
//! let shifted = &x - 2.0; // negative in block 0 only
//! let roots = map_blocks(
//!     &[&shifted],
//!     &MapBlocks::new("sqrt_checked").dtype(DType::F32),
//!     |blocks, _info| -> Result<Block, Negative> {
//!         let b = blocks[0].view::<f64>().expect("float64 blocks");
//!         if let Some(&v) = b.iter().find(|v| **v < 0.0) {
//!             return Err(Negative(v));
//!         }
//!         Ok(Block::from(b.mapv(|v| v.sqrt() as f32)))
//!     },
//! )?;
//! match roots.compute() {
//!     Err(Error::Kernel { op, block, source }) => {
//!         assert_eq!((op.as_str(), block), ("sqrt_checked", vec![0]));
//!         assert_eq!(source.downcast_ref::<Negative>().map(|n| n.0), Some(-2.0));
//!     }
//!     other => panic!("{other:?}"),
//! }
//!
//! // BoxError accepts anything: `?` on parse errors, strings with `.into()`.
//! let scaled = map_blocks(&[&x], &MapBlocks::new("scale"), |blocks, info| -> Result<Block, BoxError> {
//!     let factor: f64 = "0.5".parse()?;
//!     let b = blocks[0].view::<f64>().ok_or("not float64")?;
//!     if info.block[0] > 2 {
//!         return Err(format!("no block {:?}", info.block).into());
//!     }
//!     Ok(Block::from(b.mapv(|v| v * factor)))
//! })?;
//! assert_eq!(scaled.compute_as::<f64>()?[[11]], 5.5);
//!
//! // A 3-point moving sum: blocks extended by one element per side, the edge element
//! // repeated outside the array; the function returns its extended input's shape.
//! let sums = map_overlap(
//!     &[&x],
//!     &[1],
//!     Boundary::Nearest,
//!     &MapBlocks::new("moving_sum"),
//!     |blocks, _info| -> Result<Block, BoxError> {
//!         let b = blocks[0].view::<f64>().ok_or("not float64")?;
//!         let mut out = ArrayD::<f64>::zeros(b.raw_dim());
//!         for i in 1..b.len() - 1 {
//!             out[[i]] = b[[i - 1]] + b[[i]] + b[[i + 1]];
//!         }
//!         Ok(Block::from(out))
//!     },
//! )?;
//! let first: Vec<f64> = sums.compute_as::<f64>()?.iter().take(4).copied().collect();
//! assert_eq!(first, [1.0, 3.0, 6.0, 9.0]);
//!
//! // A panic is one error naming the kernel and the block.
//! let boom = x.map_blocks(|b: ArrayViewD<f64>| -> ArrayD<f64> {
//!     assert!(b[[0]] < 8.0, "too large");
//!     b.to_owned()
//! })?;
//! assert!(matches!(boom.compute(), Err(Error::KernelPanicked { block, .. }) if block == [2]));
//! # Ok::<(), brickwork::Error>(())
//! ```
//!
//! [`MapBlocks`] carries dask's keywords: [`MapBlocks::dtype`], [`MapBlocks::chunks`] (when
//! the function changes the blocks' shapes), [`MapBlocks::drop_axis`], [`MapBlocks::new_axis`],
//! and [`MapBlocks::temporaries`]: the result-sized buffers your function allocates while it
//! runs (default 1), counted in each task's footprint so that the memory limit holds. A block
//! of another dtype or shape than declared fails the computation with an error naming the
//! block. [`Boundary`] has dask's and scipy's rules (`None`, `Constant`, `Reflect`, `Mirror`,
//! `Periodic`, `Nearest`); [`BlockInfo::halo`] says how much was added on each side. A
//! resumed write recognizes a kernel by its Rust type and its name: give two different
//! kernels of one program different names. Built on these: [`Array::uniform_filter`],
//! [`Array::minimum_filter`], [`Array::maximum_filter`], [`Array::gradient`], [`Array::diff`].
//!
//! # The ndarray version
//!
//! Blocks are [ndarray](https://docs.rs/ndarray/0.17) arrays, version 0.17, re-exported as
//! [`brickwork::ndarray`](ndarray): use it (or depend on `ndarray = "0.17"`) for the arrays you
//! pass in and get back. With another major version in your crate, the types look the same
//! but are not: the compiler reports, for example, that `From<ArrayBase<..>>` is not
//! implemented for `Block`, or that `Axis` is not the expected `Axis`. [`Axis`] and [`s!`]
//! are re-exported at the crate root too.
//!
//! ```rust
//! use brickwork::ndarray::{Array3, Axis};
//! use brickwork::Array;
//!
//! let data = Array3::<f64>::from_shape_fn((4, 3, 2), |(i, j, k)| (i + j + k) as f64);
//! let x = Array::from_ndarray(data.clone().into_dyn(), &[2, 3, 2])?;
//! let ours = x.sum_axis(Axis(0))?.compute_as::<f64>()?;
//! assert_eq!(ours, data.sum_axis(Axis(0)).into_dyn());
//! # Ok::<(), brickwork::Error>(())
//! ```
//!
//! Axes: every method that takes one axis takes an [`AxisArg`], so either ndarray's [`Axis`] or
//! a NumPy-style integer, negative counting from the end, as NumPy's `axis=`:
//! `x.mean_axis(Axis(0))`, `x.mean_axis(-1)`, `x.cumsum(Axis(1))`, `x.flip(0)`,
//! `Array::concatenate(&[&a, &b], Axis(0))`. A list of axes (`any`, `squeeze`, ...) is a
//! `&[isize]`, and an optional one, NumPy's `axis=None` for "all of them" (`argmax`,
//! `argmin`, `nanargmax`, `nanargmin`), an `Option<isize>`.
//!
//! ```
//! use brickwork::{Array, Axis};
//!
//! let x = Array::random(&[2, 3, 4], &[1, 3, 2], 0)?;
//! let a = x.cumsum(Axis(2))?.compute_as::<f64>()?;
//! let b = x.cumsum(-1)?.compute_as::<f64>()?;
//! assert_eq!(a, b);
//! assert_eq!(x.mean_axis(-1)?.shape(), vec![2, 3]);
//! # Ok::<(), brickwork::Error>(())
//! ```
//!
//! # Schedulers
//!
//! The same computation gives bit-identical results under every scheduler (tasks are pure and
//! reductions combine in a fixed order); they differ in where tasks run.
//!
//! - [`Scheduler::Threads`] ([`ComputeOptions::default`], [`ComputeOptions::threads`]): a pool
//!   of worker threads taking the highest-priority ready task. The default.
//! - [`Scheduler::Synchronous`] ([`ComputeOptions::synchronous`]): one thread, tasks in
//!   priority order; for debugging.
//! - [`Scheduler::Cluster`] ([`ComputeOptions::cluster`]): dask.distributed's `LocalCluster`
//!   in this process: workers of several threads, each with its own memory limit and spill
//!   store; tasks go to the worker holding most of their inputs, and inputs held elsewhere
//!   are transferred ([`Metrics::transfers`]).
//! - [`Scheduler::Processes`] ([`ComputeOptions::processes`]): worker processes forked from
//!   this one after planning (Linux), so user kernels work unchanged; this process keeps the
//!   memory budget, the spill store and the outputs.
//! - [`Scheduler::Mpi`] ([`ComputeOptions::mpi`], cargo feature `mpi`): the ranks of an MPI
//!   job (`mpirun -n N your-program`), every rank running the same program after
//!   `brickwork::mpi::initialize()`; rank 0 schedules and holds the intermediates, the
//!   others compute, and every rank returns the result.
//!
//! ```rust
//! use brickwork::{Array, Axis, ComputeOptions};
//!
//! let x = Array::random(&[400, 400], &[100, 100], 1)?;
//! let y = (&x * &x.t()).sum_axis(Axis(0))?;
//! let (reference, _) = y.compute_with(&ComputeOptions::synchronous())?;
//! let mut schedulers = vec![ComputeOptions::threads(2), ComputeOptions::cluster(2, 1, 64 << 20)];
//! if cfg!(target_os = "linux") {
//!     schedulers.push(ComputeOptions::processes(2));
//! }
//! for opts in schedulers {
//!     assert_eq!(y.compute_with(&opts)?.0, reference, "{}", opts.scheduler);
//! }
//! # Ok::<(), brickwork::Error>(())
//! ```
//!
//! # The crate's map
//!
//! The modules, highest first; a module imports only modules below it, never one above
//! or (on one line) beside it, and no two form a circle (`python3 shared/tools/layers.py
//! src`, beside the repository, checks it).
//!
//! **The public surface** is the crate root's re-exports (the `pub use` items: [`Array`],
//! [`ComputeOptions`], [`Error`], ...) and the modules not marked *internal* below. The
//! internal modules (`plan`, `schedule`, `exec`, `kernel`, `expr`) are public only so that
//! the CLI, the Python package and the benchmarks, built from this repository, can reach
//! them: they carry no stability promise and change in any release.
//!
//! | level | module | owns |
//! |---|---|---|
//! | 1 | [`parse`] | the `brickwork eval` language: NumPy-like programs over named arrays |
//! | 2 | [`array`](mod@array) | the front door: [`Array`], lazy; its methods are one-line calls into the driver |
//! | 3 | `driver` | the only sequencer: every compute, write, explain and visualize enters here |
//! | 4 | [`exec`] | *internal*: running a scheduled plan under the memory limit (threads, cluster, processes, MPI) |
//! | 4 | [`dashboard`] | the live dashboard and HTML report: an [`Observer`] |
//! | 4 | `mpi` | MPI ranks (cargo feature `mpi`) |
//! | 5 | [`schedule`] | *internal*: the culled task graph, its order, predicted footprint, the fit check, DOT |
//! | 6 | [`plan`] | *internal*: lowering expressions to stages, the stage kinds (one file each: inputs, bytes, run), the plan passes |
//! | 7 | [`kernel`] | *internal*: block kernels: pure functions from blocks to blocks |
//! | 7 | [`io`] | .npy, raw and CSV files as block sources and sinks |
//! | 8 | [`expr`] | *internal*: the whole-array expression graph, shapes, dtypes and grids inferred |
//! | 8 | [`store`] | Zarr stores through zarrs, sinks, locks, temporaries |
//! | 9 | [`config`] | [`ComputeOptions`], the memory limit and where it came from |
//! | 9 | [`block`] | [`Block`]: one chunk of data in memory |
//! | 9 | [`metrics`] | [`Metrics`]: the figures of a run |
//! | 9 | [`error`] | [`Error`] |
//! | 9 | [`observe`] | the [`Observer`] trait and progress events |
//! | 10 | [`grid`] | chunk grids |
//! | 10 | [`units`] | byte sizes |
//! | 10 | [`dtype`] | run-time dtypes and NumPy promotion |
//!
//! ## Words
//!
//! Each of these words means one thing throughout the code:
//!
//! - a *chunk* is a stored object of a Zarr array, or a cell of a [`ChunkGrid`]; a *block* is
//!   data in memory ([`Block`], [`MappedBlock`]); the position of either in its grid is a
//!   `BlockIndex`;
//! - a *plan* is the graph of stages an expression lowers to ([`plan::Plan`]); a *schedule* is
//!   the order its tasks run in;
//! - a *datum* is what a task produces and its users take (`kernel::Datum`: a block or a
//!   partial reduction); a *value* is a run-time value of the `eval` language
//!   ([`parse::Value`]: an array, a scalar, a string...);
//! - the *residency* (`exec::residency`) decides which data stay in memory, which are spilled
//!   and which are recomputed; the *memory pool* keeps the books of the bytes reserved;
//! - a *sink* ([`store::Sink`]) takes a run's output blocks; a *writer* writes a file or a store
//!   ([`store::ZarrWriter`], `io::raw::RawWriter`, `io::npy::NpyWriter`);
//! - *raw* means the elements' bytes and nothing else: a raw file (`--format raw`), a raw chunk
//!   (an uncompressed Zarr chunk, read in place: `store::raw_chunk`); *direct I/O* is
//!   `O_DIRECT`; a *one-pass* write computes the target's blocks straight from the sources, a
//!   *two-pass* write goes through an intermediate store.

#![deny(missing_docs)]

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
    Array, AxisArg, Bins, FftNorm, Lstsq, MapBlocks, NumpyIndex, PadMode, Persisted, ReduceOptions,
    TaskCounts, compute_many, explain_many_with, map_blocks, map_overlap, to_zarr_many,
    to_zarr_many_with, visualize_many,
};
pub use block::{Block, BlockElement, BlockRef, MappedBlock};
pub use config::{CancelToken, ComputeOptions, LimitSource, MemoryLimit, Scheduler};
pub use dashboard::{Monitor, MonitorSettings, SessionGuard};
pub use dtype::{Complex64, Complex128, DType, Element, Kind, Scalar};
pub use error::{BoxError, Error, Result};
pub use expr::{BinaryOp, BlockInfo, Boundary, ReduceOp, UnaryOp};
pub use grid::{AxisChunks, ChunkGrid, Region};
pub use metrics::{MemoryUse, Metrics};
/// The ndarray crate brickwork's blocks are made of (version 0.17): use `brickwork::ndarray`
/// (or depend on the same version) so that `ArrayD`, `ArrayViewD` and `Axis` are the types
/// brickwork takes and returns; with another major version of ndarray in your crate, the
/// compiler reports traits not implemented for types that look the same.
pub use ndarray;
pub use ndarray::{Axis, s};
pub use observe::{Observer, Progress, ProgressEvent};
pub use store::{Codec, ReadOptions, StorageOptions, WriteOptions};

/// The README's Rust examples run as doctests too (it is no longer the crate's page).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
