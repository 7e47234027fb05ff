//! brickwork as a dependency (issue 30, items 1-3), written as an outside crate would:
//! `?` in kernels, `match` on the error of each failure, builder options, cancel.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use brickwork::ndarray::{Array1, Array2, ArrayD, ArrayViewD, Axis, s};
use brickwork::{
    Array, Block, BoxError, CancelToken, ComputeOptions, DType, Error, MapBlocks, Persisted,
    map_blocks,
};

use crate::common::TestResult;

fn ramp(n: usize, chunk: usize) -> Array {
    Array::from_ndarray(Array1::range(0.0, n as f64, 1.0).into_dyn(), &[chunk]).unwrap()
}

fn grid() -> Array {
    let data = Array2::from_shape_fn((4, 6), |(i, j)| (i * 6 + j) as f64).into_dyn();
    Array::from_ndarray(data, &[2, 3]).unwrap()
}

#[test]
fn an_operator_error_is_its_own_variant_everywhere() -> TestResult {
    let a = grid();
    let b = ramp(5, 5);
    let c = &a + &b;
    match c.compute() {
        Err(Error::ShapeMismatch { lhs, rhs, .. }) => {
            assert_eq!((lhs, rhs), (vec![4, 6], vec![5]));
        }
        other => panic!("not a shape mismatch: {other:?}"),
    }
    // Through later operators and named methods, and from the accessors that can say so.
    assert!(matches!((&c * 2.0).sum(), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(c.try_shape(), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(c.try_dtype(), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(c.check(), Err(Error::ShapeMismatch { .. })));
    assert_eq!(a.try_shape()?, [4, 6]);
    assert_eq!(a.try_dtype()?, DType::F64);
    Ok(())
}

#[test]
fn each_caller_error_has_a_variant_with_its_values() -> TestResult {
    let x = grid();
    // compute_as of another dtype.
    match x.astype(DType::F32)?.compute_as::<f64>() {
        Err(Error::DTypeMismatch {
            expected, found, ..
        }) => assert_eq!((expected, found), (DType::F64, DType::F32)),
        other => panic!("{other:?}"),
    }
    // Chunks of another rank than the data.
    let data = ArrayD::<f64>::zeros(vec![4, 6]);
    match Array::from_ndarray(data, &[2]) {
        Err(Error::RankMismatch {
            expected, found, ..
        }) => assert_eq!((expected, found), (2, 1)),
        other => panic!("{other:?}"),
    }
    // An index out of range, and too many indices.
    match x.slice(s![7, ..]) {
        Err(Error::IndexOutOfBounds {
            index,
            axis,
            len,
            shape,
        }) => assert_eq!((index, axis, len, shape), (7, 0, 4, vec![4, 6])),
        other => panic!("{other:?}"),
    }
    match x.take(&[0, 9], 1) {
        Err(Error::IndexOutOfBounds {
            index, axis, len, ..
        }) => assert_eq!((index, axis, len), (9, 1, 6)),
        other => panic!("{other:?}"),
    }
    match x.slice(s![0, 0, 0]) {
        Err(Error::TooManyIndices { given, shape }) => assert_eq!((given, shape), (3, vec![4, 6])),
        other => panic!("{other:?}"),
    }
    // An axis the array does not have.
    match x.sum_axis(Axis(2)) {
        Err(Error::InvalidAxis { axis, ndim, .. }) => assert_eq!((axis, ndim), (2, 2)),
        other => panic!("{other:?}"),
    }
    // A path that is not a store brickwork can read.
    let dir = tempfile::tempdir()?;
    match Array::from_zarr(dir.path()) {
        Err(Error::UnknownStoreFormat { path, .. }) => assert_eq!(path, dir.path()),
        other => panic!("{other:?}"),
    }
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "hello")?;
    assert!(matches!(
        Array::from_zarr(&file),
        Err(Error::UnknownStoreFormat { .. })
    ));
    Ok(())
}

/// A kernel's own error type.
#[derive(Debug)]
struct TooHot {
    value: f64,
}

impl fmt::Display for TooHot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} degrees is too hot", self.value)
    }
}

impl StdError for TooHot {}

#[test]
fn kernels_use_question_mark_on_io_parse_and_their_own_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let offset_file = dir.path().join("offset.txt");
    std::fs::write(&offset_file, "1.5\n")?;
    let x = ramp(6, 4);
    // io and parse errors through `?`, into the boxed error type.
    let path = offset_file.clone();
    let y = map_blocks(
        &[&x],
        &MapBlocks::new("add_offset"),
        move |blocks, _| -> Result<Block, BoxError> {
            let offset: f64 = std::fs::read_to_string(&path)?.trim().parse()?;
            let b = blocks[0].view::<f64>().ok_or("not float64")?;
            Ok(Block::from(b.mapv(|v| v + offset)))
        },
    )?;
    assert_eq!(
        y.compute_as::<f64>()?.iter().copied().collect::<Vec<_>>(),
        [1.5, 2.5, 3.5, 4.5, 5.5, 6.5]
    );

    // An io error: Kernel names the kernel and the block, and keeps the io::Error.
    let missing = dir.path().join("missing.txt");
    let y = map_blocks(
        &[&x],
        &MapBlocks::new("read_missing"),
        move |_, _| -> Result<Block, std::io::Error> {
            let text = std::fs::read_to_string(&missing)?;
            Ok(Block::from(ArrayD::from_elem(vec![text.len()], 0.0)))
        },
    )?;
    match y.compute_with(&ComputeOptions::synchronous()) {
        Err(e @ Error::Kernel { .. }) => {
            let Error::Kernel { op, block, source } = &e else {
                unreachable!()
            };
            assert_eq!((op.as_str(), block.as_slice()), ("read_missing", &[0][..]));
            let io = source
                .downcast_ref::<std::io::Error>()
                .expect("an io error");
            assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
            assert_eq!(
                e.io_error().map(|e| e.kind()),
                Some(std::io::ErrorKind::NotFound)
            );
            assert!(e.to_string().contains("read_missing"), "{e}");
        }
        other => panic!("{other:?}"),
    }

    // A parse error on the second block only.
    let y = parse_on_block_1(&x)?;
    match y.compute() {
        Err(Error::Kernel { op, block, source }) => {
            assert_eq!((op.as_str(), block), ("parse", vec![1]));
            assert!(source.is::<std::num::ParseFloatError>(), "{source}");
        }
        other => panic!("{other:?}"),
    }

    // The kernel's own error type, named in the closure's return type.
    let y = map_blocks(
        &[&x],
        &MapBlocks::new("thermostat"),
        |blocks, _| -> Result<Block, TooHot> {
            let b = blocks[0].view::<f64>().expect("float64");
            match b.iter().copied().find(|&v| v > 4.0) {
                Some(value) => Err(TooHot { value }),
                None => Ok(Block::from(b.to_owned())),
            }
        },
    )?;
    match y.compute() {
        Err(Error::Kernel { block, source, .. }) => {
            assert_eq!(block, [1]);
            assert_eq!(source.downcast_ref::<TooHot>().map(|e| e.value), Some(5.0));
        }
        other => panic!("{other:?}"),
    }
    Ok(())
}

/// A kernel ("parse") that fails with a `ParseFloatError` on block 1 only.
fn parse_on_block_1(x: &Array) -> brickwork::Result<Array> {
    map_blocks(
        &[x],
        &MapBlocks::new("parse"),
        |blocks, info| -> Result<Block, BoxError> {
            let text = if info.block[0] == 1 { "x" } else { "2" };
            let factor: f64 = text.parse()?;
            Ok(Block::from(
                blocks[0].view::<f64>().ok_or("f64")?.mapv(|v| v * factor),
            ))
        },
    )
}

/// Worker processes send a kernel's failure back as the same variants, naming the kernel
/// and the block; the error itself arrives as text (`RemoteError`).
#[cfg(target_os = "linux")]
#[test]
fn kernel_failures_in_worker_processes_keep_their_variant() -> TestResult {
    let x = ramp(12, 4);
    let y = parse_on_block_1(&x)?;
    match y.compute_with(&ComputeOptions::processes(2)) {
        Err(Error::Kernel { op, block, source }) => {
            assert_eq!((op.as_str(), block), ("parse", vec![1]));
            let remote = source
                .downcast_ref::<brickwork::error::RemoteError>()
                .expect("a RemoteError");
            assert!(
                remote.message().contains("invalid float literal"),
                "{remote}"
            );
            assert!(remote.message().contains("worker process"), "{remote}");
        }
        other => panic!("{other:?}"),
    }
    let y = x.map_blocks(|b: ArrayViewD<f64>| {
        if b[[0]] >= 4.0 {
            panic!("boom at {}", b[[0]]);
        }
        b.to_owned()
    })?;
    match y.compute_with(&ComputeOptions::processes(2)) {
        Err(Error::KernelPanicked { op, block, message }) => {
            assert_eq!(op, "map_blocks");
            assert!(block == [1] || block == [2], "{block:?}");
            assert!(message.contains("boom at"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    Ok(())
}

#[test]
fn a_panicking_kernel_is_reported_once_naming_it() -> TestResult {
    let x = ramp(12, 4);
    for opts in [ComputeOptions::synchronous(), ComputeOptions::threads(2)] {
        let y = x.map_blocks(|b: ArrayViewD<f64>| {
            if b[[0]] >= 4.0 {
                panic!("boom at {}", b[[0]]);
            }
            b.to_owned()
        })?;
        match y.compute_with(&opts) {
            Err(Error::KernelPanicked { op, block, message }) => {
                assert_eq!(op, "map_blocks");
                assert!(block == [1] || block == [2], "{block:?}");
                assert!(message.contains("boom at"), "{message}");
                assert!(message.contains("library_user.rs"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
    // The typed methods check the dtype before running.
    match x.map_blocks(|b: ArrayViewD<i32>| b.to_owned()) {
        Err(Error::DTypeMismatch {
            expected, found, ..
        }) => assert_eq!((expected, found), (DType::I32, DType::F64)),
        other => panic!("{other:?}"),
    }
    Ok(())
}

#[test]
fn options_read_like_a_builder() -> TestResult {
    let x = ramp(1000, 10);
    let events = Arc::new(AtomicU64::new(0));
    let seen = events.clone();
    let token = CancelToken::new();
    let opts = ComputeOptions::threads(2)
        .memory_limit(64 << 20)
        .progress(move |ev| {
            assert!(ev.tasks_done <= ev.tasks_total);
            seen.fetch_add(1, Ordering::Relaxed);
        })
        .cancel(token.clone())
        .spill_dir(std::env::temp_dir());
    assert_eq!(opts.memory_limit, Some(64 << 20));
    assert_eq!(opts.threads, Some(2));
    let (sum, _) = (&x * 2.0).sum()?.compute_with(&opts)?;
    assert_eq!(sum.into_typed::<f64>().sum(), 999_000.0);
    assert!(events.load(Ordering::Relaxed) >= 100);
    assert!(!token.is_cancelled() && !opts.is_cancelled());
    Ok(())
}

#[test]
fn a_cancel_token_stops_a_computation() -> TestResult {
    let x = ramp(10_000, 10);
    let token = CancelToken::new();
    let canceller = token.clone();
    let opts = ComputeOptions::threads(2)
        .progress(move |ev| {
            if ev.tasks_done >= 5 {
                canceller.cancel();
            }
        })
        .cancel(token.clone());
    match (&x + 1.0).compute_with(&opts) {
        Err(Error::Cancelled) => {}
        other => panic!("{other:?}"),
    }
    assert!(token.is_cancelled() && opts.is_cancelled());
    // A token cancelled up front: nothing runs.
    let early = CancelToken::new();
    early.cancel();
    assert!(matches!(
        x.compute_with(&ComputeOptions::synchronous().cancel(early)),
        Err(Error::Cancelled)
    ));
    Ok(())
}

/// `persist` keeps a computed array for reuse: in memory when small next to the limit,
/// else in a temporary store (in `tmp_dir`) that later computations read and that goes
/// with the last array reading it; the values are those of the computation either way.
#[test]
fn persist_keeps_in_memory_or_in_a_temporary_store_and_says_which() -> TestResult {
    let x = Array::random(&[600, 500], &[100, 100], 4)?;
    let y = (&x * 2.0 + 1.0).sqrt()?;
    let want = y.compute_as::<f64>()?;

    let (small, kept) = y.persist_with(&ComputeOptions::default())?;
    assert!(
        matches!(kept, Persisted::Memory { bytes, .. } if bytes == 600 * 500 * 8),
        "{kept:?}"
    );
    assert_eq!(small.compute_as::<f64>()?, want);

    let tmp = tempfile::tempdir()?;
    let tight = ComputeOptions::default()
        .memory_limit(4 << 20)
        .tmp_dir(tmp.path());
    let (big, kept) = y.persist_with(&tight)?;
    let Persisted::Store { path, metrics } = kept else {
        panic!("2.4 MB under a 4 MiB limit is kept in a store: {kept:?}");
    };
    assert!(
        path.starts_with(tmp.path()) && path.is_dir(),
        "{}",
        path.display()
    );
    assert_eq!(metrics.bytes_output, 600 * 500 * 8);
    // Reused: a computation on it reads the store, and computes nothing of y again.
    let (_, m) = (&big + 1.0).compute_with(&tight)?;
    assert_eq!(m.bytes_read, 600 * 500 * 8);
    assert_eq!(
        (&big + 1.0).compute_as::<f64>()?,
        want.mapv(|v| v + 1.0),
        "values read back from the store"
    );
    let reader = &big - 1.0;
    drop(big);
    assert!(path.is_dir(), "a computation still reads it");
    reader.compute()?;
    drop(reader);
    assert!(!path.exists(), "removed with the last array reading it");
    assert_eq!(std::fs::read_dir(tmp.path())?.count(), 0);
    Ok(())
}
