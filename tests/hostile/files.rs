//! `.npy` headers that lie, and raw files of the wrong size.

use std::path::Path;

use brickwork::io::ByteOrder;
use brickwork::io::npy::NpyFile;
use brickwork::io::raw::RawFile;
use brickwork::store::BlockRead;
use brickwork::{DType, Error};

use super::{chain, sum_of};
use crate::common::TestResult;

/// A `.npy` file of format `version` with the header dictionary `dict` (stated length `len`,
/// or its own) followed by `data` zero bytes.
fn npy(version: u8, dict: &[u8], len: Option<u32>, data: usize) -> Vec<u8> {
    let len = len.unwrap_or(dict.len() as u32);
    let mut out = b"\x93NUMPY".to_vec();
    out.extend([version, 0]);
    if version == 1 {
        out.extend((len as u16).to_le_bytes());
    } else {
        out.extend(len.to_le_bytes());
    }
    out.extend(dict);
    out.resize(out.len() + data, 0);
    out
}

/// A header dictionary.
fn dict(descr: &str, fortran: &str, shape: &str) -> Vec<u8> {
    format!("{{'descr': {descr}, 'fortran_order': {fortran}, 'shape': {shape}, }}").into_bytes()
}

/// Asserts that opening `bytes` as a `.npy` file is a format error naming the file and
/// mentioning `needle`.
fn assert_bad_npy(path: &Path, bytes: &[u8], needle: &str) -> TestResult {
    std::fs::write(path, bytes)?;
    match NpyFile::open(path, None) {
        Err(e @ Error::Format { .. }) => {
            assert!(
                chain(&e).starts_with(&path.display().to_string()),
                "{}",
                chain(&e)
            );
            assert!(
                chain(&e).contains(needle),
                "{needle:?} not in {}",
                chain(&e)
            );
        }
        Err(e) => panic!("not a format error: {}", chain(&e)),
        Ok(f) => panic!(
            "{:?} opened as shape {:?}",
            String::from_utf8_lossy(bytes),
            f.shape()
        ),
    }
    Ok(())
}

#[test]
fn npy_headers_that_lie_are_format_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("x.npy");
    let ok = |shape: &str| dict("'<f8'", "False", shape);
    let two_62 = "(4611686018427387904, 4611686018427387904)";
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (npy(1, &ok("(400000,)"), None, 32), "needs 3200"),
        (npy(1, &ok("(2,)"), None, 32), "needs"),
        (npy(1, &ok(two_62), None, 32), "too large"),
        (npy(1, &ok("(-4,)"), None, 32), "malformed"),
        (npy(1, &ok("(4.0,)"), None, 32), "malformed"),
        (npy(1, &ok("'4'"), None, 32), "shape"),
        (npy(1, &dict("'<c32'", "False", "(2,)"), None, 32), "<c32"),
        (npy(1, &dict("'<f2'", "False", "(16,)"), None, 32), "<f2"),
        (npy(1, &dict("'<U2'", "False", "(4,)"), None, 32), "<U2"),
        (npy(1, &dict("'|O'", "False", "(4,)"), None, 32), "|O"),
        (npy(1, &dict("''", "False", "(4,)"), None, 32), "dtype"),
        (
            npy(1, &dict("[('a', '<f8')]", "False", "(4,)"), None, 32),
            "structured",
        ),
        (
            npy(1, &dict("'<f8'", "1", "(4,)"), None, 32),
            "fortran_order",
        ),
        (
            npy(1, &dict("'<f8'", "'False'", "(4,)"), None, 32),
            "fortran_order",
        ),
        (npy(1, &ok("(4,)"), Some(60_000), 0), "truncated"),
        (npy(2, &ok("(4,)"), Some(u32::MAX), 0), "truncated"),
        (npy(3, &ok("(4,)"), Some(u32::MAX), 0), "truncated"),
        (npy(7, &ok("(4,)"), None, 32), "version 7.0"),
        (
            npy(1, b"{'descr': '<f8', 'fortran_order': False}", None, 32),
            "shape",
        ),
        (
            npy(1, b"{'descr': '<f8', 'shape': (4,), 'x': '\xe9'}", None, 32),
            "not text",
        ),
        (
            npy(
                1,
                b"{'descr': '<f8', 'descr': '<i1', 'fortran_order': False, 'shape': (4,)}",
                None,
                32,
            ),
            "twice",
        ),
        (b"\x93NUM".to_vec(), "magic"),
        (Vec::new(), "magic"),
        (b"\x93NUMPX\x01\x00".to_vec(), "magic"),
    ];
    for (bytes, needle) in &cases {
        assert_bad_npy(&path, bytes, needle)?;
    }
    Ok(())
}

/// An empty array may claim any other axis: it holds no data, so it is one chunk (not 2^34
/// empty ones).
#[test]
fn empty_npy_arrays_of_huge_shape_are_one_chunk() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("empty.npy");
    let shape = "(0, 1152921504606846976)";
    std::fs::write(&path, npy(1, &dict("'|u1'", "False", shape), None, 0))?;
    let f = NpyFile::open(&path, None)?;
    let one_chunk: Vec<usize> = f.shape().iter().map(|&n| n.max(1)).collect();
    assert_eq!(f.chunk_shape(), one_chunk);
    assert_eq!(sum_of(&f.into_array())?, 0.0);
    // Empty, but its other axes multiply past isize::MAX: NumPy and ndarray refuse it too.
    let shape = "(18446744073709551615, 0, 3)";
    std::fs::write(&path, npy(1, &dict("'|u1'", "False", shape), None, 0))?;
    match NpyFile::open(&path, None) {
        Err(e @ Error::Format { .. }) => {
            assert!(
                chain(&e).contains("empty.npy") && chain(&e).contains("too large"),
                "{}",
                chain(&e)
            );
        }
        other => panic!("{shape}: {:?}", other.map(|f| f.shape().to_vec())),
    }
    Ok(())
}

#[test]
fn raw_files_of_the_wrong_size_are_format_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("x.raw");
    std::fs::write(&path, [0u8; 100])?;
    let open = |dtype, shape: &[usize]| RawFile::open(&path, dtype, shape, ByteOrder::Little, None);
    for (dtype, shape, needle) in [
        (DType::F64, vec![10, 10], "needs 800 bytes"),
        (DType::U8, vec![99], "needs 99 bytes"),
        (DType::U8, vec![101], "needs 101 bytes"),
        (DType::U16, vec![usize::MAX / 2, 3], "too large"),
        (DType::U8, vec![], "needs 1 bytes"),
    ] {
        match open(dtype, &shape) {
            Err(e @ Error::Format { .. }) => {
                assert!(
                    chain(&e).contains("x.raw") && chain(&e).contains(needle),
                    "{}",
                    chain(&e)
                );
                assert!(chain(&e).contains("the file has 100 bytes") || needle == "too large");
            }
            other => panic!("{dtype} {shape:?}: {other:?}"),
        }
    }
    let err = RawFile::open(
        &path,
        DType::U8,
        &[10, 10],
        ByteOrder::Little,
        Some(&[0, 5]),
    );
    assert!(matches!(err, Err(Error::InvalidArgument { .. })), "{err:?}");
    std::fs::write(&path, [])?;
    let empty = RawFile::open(&path, DType::F64, &[0, 1 << 50], ByteOrder::Big, None)?;
    assert_eq!(empty.chunk_shape(), [1, 1 << 50]);
    // Empty, yet not addressable (NumPy refuses it too): a format error, not a panic.
    let huge = RawFile::open(&path, DType::F64, &[0, usize::MAX], ByteOrder::Big, None);
    assert!(
        matches!(&huge, Err(Error::Format { detail, .. }) if detail.contains("too large")),
        "{huge:?}"
    );
    Ok(())
}
