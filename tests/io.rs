//! `.npy`, raw and CSV import and export (`brickwork::io`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use brickwork::io::csv::{read_csv, write_csv};
use brickwork::io::npy::{NpyFile, NpyWriter};
use brickwork::io::raw::{RawFile, RawWriter};
use brickwork::io::{ByteOrder, default_chunks};
use brickwork::store::BlockRead;
use brickwork::{Array, Block, ComputeOptions, DType, Error, dispatch_block, dispatch_dtype, s};
use ndarray::{ArrayD, IxDyn};

use crate::common::TestResult;

/// Exact comparison that treats NaN as equal to NaN (Debug output is exact for floats).
fn assert_same(got: &Block, want: &Block, what: &str) {
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtypes differ");
    assert_eq!(got.shape(), want.shape(), "{what}: shapes differ");
    assert_eq!(format!("{got:?}"), format!("{want:?}"), "{what}");
}

/// Test data of `shape` and `dtype`: mixed signs, wrapping integers, fractions, and NaN and
/// infinities for floats.
fn sample(shape: &[usize], dtype: DType) -> Block {
    let n: usize = shape.iter().product();
    let ints: Vec<i64> = (0..n as i64)
        .map(|i| (i * 7919 % 1013 - 500) * 65_537)
        .collect();
    let b = Block::I64(ArrayD::from_shape_vec(IxDyn(shape), ints).unwrap());
    if !dtype.is_float() {
        return b.cast(dtype);
    }
    let mut f = b.cast_to::<f64>().mapv(|v| v / 3.0);
    let specials = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        1e-300,
        5e-324,
    ];
    for (v, s) in f.iter_mut().zip(specials) {
        *v = s;
    }
    Block::F64(f).cast(dtype)
}

/// The bytes of one element in a byte order.
trait ToBytes {
    fn bytes(&self, order: ByteOrder) -> Vec<u8>;
}

impl ToBytes for bool {
    fn bytes(&self, _: ByteOrder) -> Vec<u8> {
        vec![u8::from(*self)]
    }
}

macro_rules! to_bytes {
    ($($t:ty),*) => {$(
        impl ToBytes for $t {
            fn bytes(&self, order: ByteOrder) -> Vec<u8> {
                match order {
                    ByteOrder::Little => self.to_le_bytes().to_vec(),
                    ByteOrder::Big => self.to_be_bytes().to_vec(),
                }
            }
        }
    )*};
}

to_bytes!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

/// The data bytes of `b` in a byte order and memory order.
fn data_bytes(b: &Block, order: ByteOrder, fortran: bool) -> Vec<u8> {
    dispatch_block!(b, a => {
        let view = if fortran { a.t() } else { a.view() };
        view.iter().flat_map(|v| v.bytes(order)).collect()
    })
}

/// The NumPy type string of a dtype in a byte order.
fn descr(dtype: DType, order: ByteOrder) -> String {
    let code = match dtype {
        DType::Bool => return "|b1".into(),
        DType::I8 => return "|i1".into(),
        DType::U8 => return "|u1".into(),
        DType::I16 => "i2",
        DType::I32 => "i4",
        DType::I64 => "i8",
        DType::U16 => "u2",
        DType::U32 => "u4",
        DType::U64 => "u8",
        DType::F32 => "f4",
        DType::F64 => "f8",
    };
    let c = if order == ByteOrder::Big { '>' } else { '<' };
    format!("{c}{code}")
}

/// A `.npy` file written by hand: any version, byte order and memory order.
fn handmade_npy(b: &Block, order: ByteOrder, fortran: bool, version: u8) -> Vec<u8> {
    let shape = match b.shape() {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let fo = if fortran { "True" } else { "False" };
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': {fo}, 'shape': {shape}, }}",
        descr(b.dtype(), order)
    );
    let prelude = if version == 1 { 10 } else { 12 };
    let len = (prelude + dict.len() + 1).div_ceil(64) * 64 - prelude;
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(len as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(prelude + len - 1, b' ');
    out.push(b'\n');
    out.extend(data_bytes(b, order, fortran));
    out
}

fn odd_chunks(shape: &[usize]) -> Vec<usize> {
    shape.iter().map(|&n| (n / 2).clamp(1, 3)).collect()
}

fn read_all(source: impl BlockRead + 'static) -> brickwork::Result<Block> {
    Array::from_source(Arc::new(source))
        .compute_with(&ComputeOptions::threads(3))
        .map(|r| r.0)
}

const SHAPES: [&[usize]; 5] = [&[5, 7, 3], &[13], &[], &[0, 4], &[4, 1, 6]];

#[test]
fn npy_every_dtype_byte_order_and_memory_order() -> TestResult {
    let dir = tempfile::tempdir()?;
    for dtype in DType::ALL {
        for shape in SHAPES {
            let want = sample(shape, dtype);
            for (i, order) in [ByteOrder::Little, ByteOrder::Big].into_iter().enumerate() {
                for fortran in [false, true] {
                    let version = 1 + (i as u8 + u8::from(fortran)) % 3;
                    let path = dir.path().join(format!("{dtype}-{order}-{fortran}.npy"));
                    std::fs::write(&path, handmade_npy(&want, order, fortran, version))?;
                    let chunks = odd_chunks(shape);
                    let npy = NpyFile::open(&path, Some(&chunks))?;
                    assert_eq!(npy.fortran_order(), fortran);
                    assert_eq!(npy.version(), (version, 0));
                    let what = format!("{dtype} {shape:?} {order} fortran={fortran}");
                    assert_same(&read_all(npy)?, &want, &what);
                    // Default chunks too.
                    assert_same(&read_all(NpyFile::open(&path, None)?)?, &want, &what);
                }
            }
        }
    }
    Ok(())
}

#[test]
fn npy_written_by_ndarray_npy_is_read_exactly() -> TestResult {
    let dir = tempfile::tempdir()?;
    for dtype in DType::ALL {
        let want = sample(&[9, 11], dtype);
        let path = dir.path().join(format!("{dtype}.npy"));
        dispatch_block!(&want, a => ndarray_npy::write_npy(&path, a)?);
        let npy = NpyFile::open(&path, Some(&[4, 5]))?;
        assert_eq!(npy.shape(), &[9, 11]);
        assert_eq!(npy.dtype(), dtype);
        assert_same(&read_all(npy)?, &want, dtype.name());
    }
    Ok(())
}

/// An array with an irregular chunk grid (a strided slice) of `dtype`.
fn irregular(dtype: DType) -> brickwork::Result<Array> {
    let x = Array::random(&[37, 23, 5], &[10, 7, 2], 5)?.slice(s![1..;2, 3.., ..;-1])?;
    let x = (&x * 300.0 - 100.0).astype(dtype)?;
    assert!(!x.chunks()?.is_regular());
    Ok(x)
}

#[test]
fn npy_writer_round_trips_through_numpy_reader() -> TestResult {
    let dir = tempfile::tempdir()?;
    for dtype in DType::ALL {
        let x = irregular(dtype)?;
        let want = x.compute()?;
        let path = dir.path().join(format!("{dtype}.npy"));
        let w = NpyWriter::create(&path, x.chunks()?, dtype, false)?;
        x.compute_into(&w, &ComputeOptions::threads(3))?;
        w.finish()?;
        let got: Block = dispatch_dtype!(dtype, T => {
            Block::from(ndarray_npy::read_npy::<_, ArrayD<T>>(&path)?)
        });
        assert_same(&got, &want, dtype.name());
        assert_same(
            &read_all(NpyFile::open(&path, Some(&[3, 4, 5]))?)?,
            &want,
            dtype.name(),
        );
    }
    Ok(())
}

#[test]
fn npy_save_handles_0d_and_empty() -> TestResult {
    let dir = tempfile::tempdir()?;
    for shape in [&[][..], &[0, 3], &[4]] {
        let x = Array::random(shape, &vec![2; shape.len()], 3)?;
        let path = dir.path().join(format!("{}.npy", shape.len()));
        brickwork::io::npy::save(&x, &path, false, &ComputeOptions::default())?;
        let got = ndarray_npy::read_npy::<_, ArrayD<f64>>(&path)?;
        assert_same(&Block::F64(got), &x.compute()?, &format!("{shape:?}"));
    }
    Ok(())
}

#[test]
fn raw_round_trips_in_both_byte_orders() -> TestResult {
    let dir = tempfile::tempdir()?;
    for dtype in DType::ALL {
        let x = irregular(dtype)?;
        let want = x.compute()?;
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let path = dir.path().join(format!("{dtype}-{order}.raw"));
            let w = RawWriter::create(&path, x.chunks()?, dtype, order, false)?;
            x.compute_into(&w, &ComputeOptions::threads(2))?;
            w.finish()?;
            assert_eq!(std::fs::read(&path)?, data_bytes(&want, order, false));
            let raw = RawFile::open(&path, dtype, &x.shape(), order, Some(&[5, 3, 2]))?;
            assert_eq!(raw.byte_order(), order);
            assert_same(&read_all(raw)?, &want, &format!("{dtype} {order}"));
        }
    }
    Ok(())
}

#[test]
fn raw_big_endian_bytes_are_big_endian() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("be.raw");
    let x = Array::from_ndarray(ndarray::arr1(&[0x0102u16, 0x0304]).into_dyn(), &[1])?;
    brickwork::io::raw::save(&x, &path, ByteOrder::Big, false, &ComputeOptions::default())?;
    assert_eq!(std::fs::read(&path)?, [1, 2, 3, 4]);
    assert_eq!("big".parse::<ByteOrder>()?, ByteOrder::Big);
    assert_eq!("little".parse::<ByteOrder>()?, ByteOrder::Little);
    assert!("middle".parse::<ByteOrder>().is_err());
    Ok(())
}

#[test]
fn raw_size_mismatch_names_file_size_shape_dtype() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("data.bin");
    std::fs::write(&path, [0u8; 96])?;
    let err = RawFile::open(&path, DType::F64, &[3, 5], ByteOrder::Little, None).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Format { .. }), "{err:?}");
    for part in ["data.bin", "96 bytes", "(3, 5)", "float64", "120 bytes"] {
        assert!(msg.contains(part), "{part:?} missing from: {msg}");
    }
    assert!(RawFile::open(&path, DType::F64, &[3, 4], ByteOrder::Little, None).is_ok());
    let err = RawFile::open(&path, DType::F64, &[3, 4], ByteOrder::Little, Some(&[0, 1]));
    assert!(matches!(err, Err(Error::InvalidArgument { .. })));
    let err = RawFile::open(&path, DType::F64, &[usize::MAX, 4], ByteOrder::Little, None);
    assert!(err.is_err());
    Ok(())
}

#[test]
fn npy_bad_files_are_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let good = dir.path().join("good.npy");
    ndarray_npy::write_npy(&good, &ndarray::Array2::<f64>::zeros((4, 5)))?;
    let bytes = std::fs::read(&good)?;
    let path = dir.path().join("bad.npy");
    // Truncated data: the message names the file and both sizes.
    std::fs::write(&path, &bytes[..bytes.len() - 8])?;
    let msg = NpyFile::open(&path, None).unwrap_err().to_string();
    let (have, need) = (bytes.len() - 8, bytes.len());
    for part in [
        "bad.npy",
        &format!("{have} bytes"),
        &format!("{need} bytes"),
        "(4, 5)",
    ] {
        assert!(msg.contains(part), "{part:?} missing from: {msg}");
    }
    // Every truncation of the header, and garbage.
    for cut in 0..128 {
        std::fs::write(&path, &bytes[..cut])?;
        assert!(NpyFile::open(&path, None).is_err(), "cut at {cut}");
    }
    std::fs::write(&path, b"not a numpy file at all")?;
    let msg = NpyFile::open(&path, None).unwrap_err().to_string();
    assert!(msg.contains("not a .npy file"), "{msg}");
    let mut complex = bytes.clone();
    let at = complex
        .windows(3)
        .position(|w| w == b"<f8")
        .ok_or("no descr")?;
    complex[at..at + 3].copy_from_slice(b"<c8");
    std::fs::write(&path, &complex)?;
    let msg = NpyFile::open(&path, None).unwrap_err().to_string();
    assert!(msg.contains("\"<c8\" is not supported"), "{msg}");
    let missing = NpyFile::open(&dir.path().join("missing.npy"), None).unwrap_err();
    assert!(matches!(missing, Error::Io { .. }), "{missing:?}");
    Ok(())
}

#[test]
fn default_chunks_are_about_64_mib_along_the_slow_axis() {
    assert_eq!(
        default_chunks(&[1_000_000, 100], DType::F64, false),
        [83_886, 100]
    );
    assert_eq!(
        default_chunks(&[100, 1_000_000], DType::F64, true),
        [100, 83_886]
    );
    assert_eq!(default_chunks(&[10, 20], DType::F64, false), [10, 20]);
    assert_eq!(
        default_chunks(&[3, 100_000_000], DType::U8, false),
        [1, 67_108_864]
    );
    assert_eq!(default_chunks(&[], DType::F64, false), Vec::<usize>::new());
    assert_eq!(default_chunks(&[0, 5], DType::F64, false), [1, 5]);
}

/// A writer refuses an existing path; `overwrite` replaces it; dropping without `finish`
/// leaves nothing behind.
#[test]
fn writers_refuse_existing_paths_and_clean_up() -> TestResult {
    let dir = tempfile::tempdir()?;
    let x = Array::random(&[6, 4], &[4, 3], 1)?;
    let grid = x.chunks()?;
    let path = dir.path().join("x.npy");
    std::fs::write(&path, b"keep")?;
    let refused = NpyWriter::create(&path, grid, DType::F64, false).unwrap_err();
    assert!(refused.to_string().contains("already exists"), "{refused}");
    let refused = RawWriter::create(&path, grid, DType::F64, ByteOrder::Little, false);
    assert!(refused.is_err());
    let refused = write_csv(&path, &x.compute()?, b',', false);
    assert!(refused.is_err());
    assert_eq!(std::fs::read(&path)?, b"keep");

    let w = NpyWriter::create(&path, grid, DType::F64, true)?;
    x.compute_into(&w, &ComputeOptions::default())?;
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    assert!(tmp.exists());
    drop(w);
    assert!(!tmp.exists(), "the temporary file is removed on drop");
    assert_eq!(std::fs::read(&path)?, b"keep");

    brickwork::io::npy::save(&x, &path, true, &ComputeOptions::default())?;
    let got = ndarray_npy::read_npy::<_, ArrayD<f64>>(&path)?;
    assert_same(&Block::F64(got), &x.compute()?, "overwritten");
    // A block of the wrong dtype is refused.
    let w = NpyWriter::create(&dir.path().join("y.npy"), grid, DType::F32, false)?;
    assert!(x.compute_into(&w, &ComputeOptions::default()).is_err());
    Ok(())
}

fn csv_path(dir: &Path, text: &str) -> std::io::Result<PathBuf> {
    let path = dir.join("in.csv");
    std::fs::write(&path, text)?;
    Ok(path)
}

#[test]
fn csv_floats_round_trip_exactly() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut values = sample(&[50, 3], DType::F64).into_typed::<f64>();
    let randoms = Array::random(&[150], &[150], 9)?.compute_as::<f64>()?;
    for (v, r) in values.iter_mut().skip(10).zip(randoms) {
        *v *= r;
    }
    values[[10, 0]] = f64::MAX;
    values[[10, 1]] = f64::MIN_POSITIVE;
    values[[10, 2]] = 0.1 + 0.2;
    let block = Block::F64(values);
    for (delimiter, name) in [(b',', "c.csv"), (b'\t', "t.csv"), (b' ', "s.csv")] {
        let path = dir.path().join(name);
        write_csv(&path, &block, delimiter, false)?;
        assert_same(&read_csv(&path, delimiter, 0, None)?, &block, name);
    }
    let text = std::fs::read_to_string(dir.path().join("c.csv"))?;
    assert!(
        text.starts_with("nan,inf,-inf\n-0.0,1e-300,5e-324\n"),
        "{text}"
    );
    // 1-D: one value per line.
    let col = Block::F32(ndarray::arr1(&[0.1f32, -3.5, f32::NAN, 1e30]).into_dyn());
    let path = dir.path().join("col.csv");
    write_csv(&path, &col, b',', false)?;
    assert_eq!(std::fs::read_to_string(&path)?, "0.1\n-3.5\nnan\n1e30\n");
    assert_same(
        &read_csv(&path, b',', 0, Some(DType::F32))?,
        &col,
        "f32 column",
    );
    Ok(())
}

#[test]
fn csv_integers_and_bools() -> TestResult {
    let dir = tempfile::tempdir()?;
    let ints = Block::I64(
        ndarray::arr2(&[[i64::MIN, 0, i64::MAX], [-1, 7, 9_007_199_254_740_993]]).into_dyn(),
    );
    let path = dir.path().join("i.csv");
    write_csv(&path, &ints, b';', false)?;
    assert_same(&read_csv(&path, b';', 0, Some(DType::I64))?, &ints, "int64");
    let big = Block::U64(ndarray::arr1(&[u64::MAX, 0]).into_dyn());
    write_csv(&path, &big, b',', true)?;
    assert_same(&read_csv(&path, b',', 0, Some(DType::U64))?, &big, "uint64");
    for dtype in DType::ALL {
        let b = sample(&[6, 2], dtype);
        write_csv(&path, &b, b',', true)?;
        assert_same(&read_csv(&path, b',', 0, Some(dtype))?, &b, dtype.name());
    }
    let path = csv_path(dir.path(), "flag\nTrue\nfalse\n1\n0\ntrue\nFalse\n\n\n")?;
    let got = read_csv(&path, b',', 1, Some(DType::Bool))?;
    let want = ndarray::arr1(&[true, false, true, false, true, false]).into_dyn();
    assert_same(&got, &Block::Bool(want), "bool");
    let path = csv_path(dir.path(), "1,2\r\n3,4\r\n")?;
    let want = ndarray::arr2(&[[1i16, 2], [3, 4]]).into_dyn();
    assert_same(
        &read_csv(&path, b',', 0, Some(DType::I16))?,
        &Block::I16(want),
        "crlf",
    );
    Ok(())
}

#[test]
fn csv_errors_name_line_field_and_text() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = csv_path(dir.path(), "a,b,c\n1,2,3\n4,x5,6\n")?;
    let err = read_csv(&path, b',', 1, None).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Format { .. }), "{err:?}");
    for part in ["in.csv", "line 3", "field 2", "\"x5\"", "float64"] {
        assert!(msg.contains(part), "{part:?} missing from: {msg}");
    }
    let path = csv_path(dir.path(), "1,2,3\n4,5\n")?;
    let msg = read_csv(&path, b',', 0, None).unwrap_err().to_string();
    assert!(
        msg.contains("line 2") && msg.contains("2 field(s)"),
        "{msg}"
    );
    let path = csv_path(dir.path(), "1\n2.5\n")?;
    let msg = read_csv(&path, b',', 0, Some(DType::I32))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("line 2") && msg.contains("\"2.5\"") && msg.contains("int32"),
        "{msg}"
    );
    let path = csv_path(dir.path(), "300\n")?;
    assert!(read_csv(&path, b',', 0, Some(DType::U8)).is_err());
    let path = csv_path(dir.path(), "1\n\n2\n")?;
    let msg = read_csv(&path, b',', 0, None).unwrap_err().to_string();
    assert!(msg.contains("line 2"), "{msg}");
    std::fs::write(&path, b"1\n\xff\n")?;
    let msg = read_csv(&path, b',', 0, None).unwrap_err().to_string();
    assert!(msg.contains("line 2") && msg.contains("UTF-8"), "{msg}");
    let empty = csv_path(dir.path(), "header\n\n")?;
    assert_eq!(read_csv(&empty, b',', 1, None)?.shape(), &[0]);
    Ok(())
}

#[test]
fn csv_refuses_0d_and_3d() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("x.csv");
    for shape in [&[][..], &[2, 2, 2]] {
        let err = write_csv(&path, &Block::zeros(DType::F64, shape), b',', false).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    }
    assert!(!path.exists());
    Ok(())
}

/// numpy itself reads what brickwork writes, and brickwork reads what numpy writes
/// (big-endian, Fortran order, every dtype), when the peer Python environment exists.
#[test]
fn numpy_interop() -> TestResult {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let python = std::env::var_os("BRICKWORK_PEER_PYTHON").map_or(python, PathBuf::from);
    if !python.exists() {
        eprintln!("skipping: no peer python at {}", python.display());
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let x = irregular(DType::F64)?;
    brickwork::io::npy::save(
        &x,
        &dir.path().join("ours.npy"),
        false,
        &ComputeOptions::default(),
    )?;
    let script = r#"
import sys, numpy as np
d = sys.argv[1]
a = np.load(d + "/ours.npy")
assert a.dtype == np.float64 and a.flags.c_contiguous, a.dtype
np.save(d + "/ours_copy.npy", a)
base = (np.arange(2 * 3 * 5).reshape(2, 3, 5) * 37 % 101 - 50)
for name in ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"]:
    v = base.astype(name) if name != "bool" else base > 0
    np.save(d + "/want_" + name + ".npy", v)
    np.save(d + "/f_" + name + ".npy", np.asfortranarray(v.astype(v.dtype.newbyteorder(">"))))
"#;
    let out = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(dir.path())
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy = ndarray_npy::read_npy::<_, ArrayD<f64>>(dir.path().join("ours_copy.npy"))?;
    assert_same(&Block::F64(copy), &x.compute()?, "numpy read our file");
    for dtype in DType::ALL {
        let want = read_all(NpyFile::open(
            &dir.path().join(format!("want_{dtype}.npy")),
            None,
        )?)?;
        let f = NpyFile::open(&dir.path().join(format!("f_{dtype}.npy")), Some(&[1, 2, 2]))?;
        assert!(f.fortran_order());
        assert_eq!(
            f.byte_order(),
            if dtype.size() > 1 {
                ByteOrder::Big
            } else {
                ByteOrder::NATIVE
            }
        );
        assert_same(
            &read_all(f)?,
            &want,
            &format!("numpy big-endian Fortran {dtype}"),
        );
    }
    Ok(())
}
