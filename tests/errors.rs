//! Bad input gives typed errors whose messages name what was wrong.

use brickwork::{Array, DType, Error, NumpyIndex, s};

use crate::common::*;

#[test]
fn shape_index_and_argument_errors_name_the_problem() -> TestResult {
    let x = Array::zeros(&[4, 6], &[2, 3], DType::F64)?;
    let e = x.slice(s![5.., ..]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::IndexOutOfBounds {
                axis: 0,
                len: 4,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("(4, 6)"), "{e}");
    let zero_step = [ndarray::SliceInfoElem::Slice {
        start: 0,
        end: None,
        step: 0,
    }];
    let e = x.slice(zero_step).unwrap_err();
    assert!(matches!(e, Error::ZeroStep { axis: 0 }), "{e}");
    let e = x
        .index_numpy(&[NumpyIndex::FULL, NumpyIndex::Int(-7)])
        .unwrap_err();
    assert!(
        e.to_string().contains("-7") && e.to_string().contains("axis 1"),
        "{e}"
    );
    let e = x.index_numpy(&[NumpyIndex::FULL; 3]).unwrap_err();
    assert!(e.to_string().contains("too many indices"), "{e}");
    let e = Array::zeros(&[4, 6], &[2], DType::F64).unwrap_err();
    assert!(e.to_string().contains("rank"), "{e}");
    let e = Array::random(&[4, 6], &[0, 2], 0).unwrap_err();
    assert!(e.to_string().contains("chunk size 0"), "{e}");
    let e = Array::random(&[1 << 40, 1 << 40], &[10, 10], 0).unwrap_err();
    assert!(e.to_string().contains("use larger chunks"), "{e}");
    let huge = x.index_numpy(&[NumpyIndex::Slice {
        start: None,
        stop: None,
        step: Some(isize::MAX),
    }])?;
    assert_eq!(huge.shape(), vec![1, 6]);
    let huge = huge.index_numpy(&[NumpyIndex::Slice {
        start: None,
        stop: None,
        step: Some(isize::MIN),
    }])?;
    assert_eq!(huge.compute()?.shape(), &[1, 6]);
    let e = x.permuted_axes(&[0, 0]).unwrap_err();
    assert!(e.to_string().contains("permutation"), "{e}");
    let e = x.rechunk(&[3]).unwrap_err();
    assert!(e.to_string().contains("rank"), "{e}");
    let bad = &x + &Array::zeros(&[5], &[5], DType::F64)?;
    let e = bad.compute().unwrap_err();
    assert!(
        e.to_string().contains("(4, 6)") && e.to_string().contains("(5,)"),
        "{e}"
    );
    // errors propagate through later operators and methods
    assert!((&bad * 2.0).sum().is_err());
    assert!(bad.to_string().contains("error"));
    let e = x.compute_as::<i32>().unwrap_err();
    assert!(e.to_string().contains("astype"), "{e}");
    let ints = x.astype(DType::I64)?;
    let e = ints
        .binary(brickwork::BinaryOp::Pow, &(&ints - 1))
        .and_then(|p| p.compute())
        .unwrap_err();
    assert!(e.to_string().contains("negative integer powers"), "{e}");
    Ok(())
}

#[test]
fn missing_stores_are_reported_with_their_path() {
    let e = Array::from_zarr("/nonexistent/brickwork/store.zarr").unwrap_err();
    assert!(
        e.to_string().contains("/nonexistent/brickwork/store.zarr"),
        "{e}"
    );
}

#[test]
fn a_full_disk_while_writing_is_an_error_and_leaves_the_output_incomplete() -> TestResult {
    // The temporary file of chunk (1, 0) is /dev/full, so writing it fails with ENOSPC as on
    // a full disk: the error names the chunk and says so, and the array stays marked
    // incomplete (readers refuse it as a finished result).
    if !std::path::Path::new("/dev/full").exists() {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("y.zarr");
    let x = Array::random(&[40, 30], &[20, 30], 1)?;
    let y = &x * 2.0;
    let opts = brickwork::WriteOptions {
        codec: brickwork::Codec::None,
        ..Default::default()
    };
    let sink =
        brickwork::store::ZarrWriter::create(&path, &[40, 30], DType::F64, &[20, 30], &opts)?;
    std::fs::create_dir_all(path.join("c/1"))?;
    std::os::unix::fs::symlink("/dev/full", path.join("c/1/0.tmp"))?;
    let err = y
        .compute_into(
            &brickwork::store::ZarrWriteSink::new(&sink),
            &brickwork::ComputeOptions::threads(2),
        )
        .unwrap_err();
    // The OS error is the source, so callers can match it; the chain names the chunk.
    let kind = err.io_error().map(std::io::Error::kind);
    assert_eq!(kind, Some(std::io::ErrorKind::StorageFull), "{err:?}");
    let e = chain(&err);
    assert!(e.contains("c/1/0") && e.contains("No space left"), "{e}");
    drop(sink);
    let e = brickwork::store::ZarrSource::open(&path).unwrap_err();
    assert!(
        matches!(
            e,
            Error::IncompleteArray {
                missing: 1..=2,
                total: 2,
                ..
            }
        ),
        "{e}"
    );
    Ok(())
}
