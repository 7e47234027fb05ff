//! `.npy`, raw and CSV import and export (`brickwork::io`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use brickwork::io::csv::{CsvFormat, read_csv, write_csv};
use brickwork::io::npy::{NpyFile, NpyWriter};
use brickwork::io::raw::{RawFile, RawWriter};
use brickwork::io::{ByteOrder, band_bytes, banded_chunks, default_chunks};
use brickwork::store::BlockRead;
use brickwork::{Array, Block, ComputeOptions, DType, Error, WriteOptions, dispatch_block, s};
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

macro_rules! complex_to_bytes {
    ($($t:ty),*) => {$(
        impl ToBytes for $t {
            fn bytes(&self, order: ByteOrder) -> Vec<u8> {
                let mut b = self.re.bytes(order);
                b.extend(self.im.bytes(order));
                b
            }
        }
    )*};
}

complex_to_bytes!(brickwork::Complex64, brickwork::Complex128);

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
        DType::C64 => "c8",
        DType::C128 => "c16",
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
        crate::common::write_npy(&path, &want)?;
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
        let got = crate::common::read_npy(&path, dtype)?;
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
        x.to_npy(&path, false, &ComputeOptions::default())?;
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
    x.to_raw(&path, ByteOrder::Big, false, &ComputeOptions::default())?;
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
    let mut half = bytes.clone();
    let at = half
        .windows(3)
        .position(|w| w == b"<f8")
        .ok_or("no descr")?;
    half[at..at + 3].copy_from_slice(b"<f2");
    std::fs::write(&path, &half)?;
    let msg = NpyFile::open(&path, None).unwrap_err().to_string();
    assert!(msg.contains("\"<f2\" is not supported"), "{msg}");
    let missing = NpyFile::open(&dir.path().join("missing.npy"), None).unwrap_err();
    assert!(matches!(missing, Error::Io { .. }), "{missing:?}");
    Ok(())
}

#[test]
fn bands_follow_the_memory_limit() {
    assert_eq!(band_bytes(24 << 20), 3 << 20);
    assert_eq!(band_bytes(1 << 40), 64 << 20);
    assert_eq!(band_bytes(0), 256 << 10);
    assert_eq!(
        banded_chunks(&[4000, 4000], DType::F64, false, band_bytes(24 << 20)),
        [98, 4000]
    );
    assert_eq!(
        banded_chunks(&[4000, 4000], DType::F64, true, 1 << 20),
        [4000, 32]
    );
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
    // Named for its owner, beside the target
    // (`.brickwork-export-<pid>-...-x.npy.<hash of the path>-tmp`).
    let tmp = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with(".brickwork-export-")
                && name.contains("-x.npy.")
                && name.ends_with("-tmp")
        })
        .ok_or("no temporary file beside the target")?;
    assert!(tmp.exists());
    drop(w);
    assert!(!tmp.exists(), "the temporary file is removed on drop");
    assert_eq!(std::fs::read(&path)?, b"keep");

    x.to_npy(&path, true, &ComputeOptions::default())?;
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
    let msg = read_csv(&empty, b',', 1, None).unwrap_err().to_string();
    assert!(msg.contains("no data rows"), "{msg}");
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
    x.to_npy(
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
for name in ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64", "complex64", "complex128"]:
    v = base.astype(name) if name != "bool" else base > 0
    if name.startswith("complex"):
        v = v + 1j * base[::-1].astype(name)
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

/// Imports the CSV file `src` into `dst` with `chunks` (default when `None`).
fn import_csv(
    src: &Path,
    dst: &Path,
    skip_header: usize,
    chunks: Option<&[usize]>,
    opts: &ComputeOptions,
) -> brickwork::Result<brickwork::Metrics> {
    let format = CsvFormat {
        skip_header,
        ..CsvFormat::default()
    };
    let write = WriteOptions {
        chunks: chunks.map(<[usize]>::to_vec),
        ..WriteOptions::default()
    };
    brickwork::io::csv::import(src, dst, &format, &write, opts)
}

/// Each malformed file is an error naming the file, the line (header lines count) and the
/// field, from `read_csv` and from `import` alike, and `import` leaves no output behind.
#[test]
fn csv_malformed_files_name_file_line_and_field() -> TestResult {
    let dir = tempfile::tempdir()?;
    let cases: &[(&str, usize, &[&str])] = &[
        (
            "1,2,3\n4,5,6\n7,8\n",
            0,
            &["line 3: 2 field(s)", "have 3", "\"7,8\""],
        ),
        ("1,2\n3,4,5\n", 0, &["line 2: 3 field(s)"]),
        ("1,2,3\n4,,6\n", 0, &["line 2, field 2 is empty"]),
        ("1,2\n3, \n", 0, &["line 2, field 2 is empty"]),
        (",2\n3,4\n", 0, &["line 1, field 1 is empty"]),
        (
            "1,2\n3,4\n5,abc\n",
            0,
            &["line 3, field 2", "\"abc\"", "float64"],
        ),
        ("1;2\n", 0, &["line 1, field 1", "\"1;2\""]),
        (
            "x,y\n1,2\n",
            0,
            &["line 1, field 1", "\"x\"", "--skip-header 1"],
        ),
        (
            "# by hand\nx,y\n1,2\n",
            1,
            &["line 2, field 1", "--skip-header 2"],
        ),
        ("x,y\r\n1,2\r\n3,z\r\n", 1, &["line 3, field 2", "\"z\""]),
        ("", 0, &["the file is empty"]),
        ("x,y\n", 1, &["no data rows", "1 line(s)"]),
        ("x,y\n\n\n", 1, &["no data rows", "only empty lines"]),
        ("1\n\n2\n", 0, &["line 2 is empty"]),
        ("1\n2\n \n3\n", 0, &["line 3 is empty"]),
    ];
    for (i, &(text, skip, needles)) in cases.iter().enumerate() {
        let path = csv_path(dir.path(), text)?;
        let dst = dir.path().join(format!("out{i}.zarr"));
        let errors = [
            read_csv(&path, b',', skip, None).map(drop),
            import_csv(&path, &dst, skip, None, &ComputeOptions::default()).map(drop),
        ];
        for err in errors {
            let err = err.expect_err(text);
            let msg = err.to_string();
            assert!(matches!(err, Error::Format { .. }), "{text:?}: {err:?}");
            for needle in ["in.csv"].iter().chain(needles) {
                assert!(
                    msg.contains(needle),
                    "{text:?}: {needle:?} missing from: {msg}"
                );
            }
        }
        assert!(!dst.exists(), "{text:?}: a failed import leaves no output");
    }
    Ok(())
}

/// A 2-D CSV text of `rows` rows of `cols` values, each `row * 1000 + col`.
fn table_text(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let fields: Vec<String> = (0..cols).map(|c| (r * 1000 + c).to_string()).collect();
            fields.join(",") + "\n"
        })
        .collect()
}

/// A value that does not parse is found after bands were written: the output is removed,
/// never left looking complete; a ragged row is refused before anything is written.
#[test]
fn csv_import_failing_late_leaves_no_output() -> TestResult {
    let dir = tempfile::tempdir()?;
    let good = table_text(100, 6);
    let opts = ComputeOptions::threads(2);
    let dst = dir.path().join("out.zarr");
    let bad_value = good.replacen("94003", "94oo3", 1);
    let path = csv_path(dir.path(), &bad_value)?;
    let msg = import_csv(&path, &dst, 0, Some(&[10, 4]), &opts)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("line 95, field 4") && msg.contains("94oo3"),
        "{msg}"
    );
    assert!(!dst.exists(), "the partial output is removed");
    let ragged = good.replacen("\n95000,", "\n95000,1,", 1);
    let path = csv_path(dir.path(), &ragged)?;
    let msg = import_csv(&path, &dst, 0, Some(&[10, 4]), &opts)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("line 96: 7 field(s)"), "{msg}");
    assert!(!dst.exists());
    Ok(())
}

/// An interrupted import leaves its output marked incomplete (reading it is an error); a
/// resumed one completes it exactly, and a changed file is not resumed.
#[test]
fn csv_import_interrupted_is_incomplete_and_resumes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = csv_path(dir.path(), &table_text(50, 9))?;
    let want = read_csv(&path, b',', 0, None)?;
    let dst = dir.path().join("out.zarr");
    let cancel = brickwork::CancelToken::new();
    let flag = cancel.clone();
    let opts = ComputeOptions::threads(2)
        .cancel(cancel)
        .progress(move |_| flag.cancel());
    let err = import_csv(&path, &dst, 0, Some(&[8, 4]), &opts).unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
    let err = Array::from_zarr(&dst).unwrap_err();
    assert!(matches!(err, Error::IncompleteArray { .. }), "{err}");

    let format = CsvFormat::default();
    let resume = WriteOptions {
        chunks: Some(vec![8, 4]),
        resume: true,
        ..WriteOptions::default()
    };
    let import =
        |opts: &ComputeOptions| brickwork::io::csv::import(&path, &dst, &format, &resume, opts);
    let m = import(&ComputeOptions::threads(2))?;
    assert_eq!(m.tasks, 3 * 7 - 3, "the first band is kept: {m}");
    assert_same(&Array::from_zarr(&dst)?.compute()?, &want, "resumed");
    assert_eq!(import(&ComputeOptions::threads(2))?.tasks, 0, "complete");

    std::fs::write(&path, table_text(50, 9).replacen('7', "8", 1))?;
    let msg = import(&ComputeOptions::threads(2)).unwrap_err().to_string();
    assert!(msg.contains("another computation"), "{msg}");
    Ok(())
}

/// Imported arrays equal `read_csv` for any chunks, shards and format, 1-D and 2-D.
#[test]
fn csv_import_matches_read_csv_for_any_chunking() -> TestResult {
    let dir = tempfile::tempdir()?;
    let values = sample(&[37, 23], DType::F64);
    let path = dir.path().join("in.csv");
    write_csv(&path, &values, b',', false)?;
    let column = dir.path().join("col.csv");
    write_csv(&column, &sample(&[101], DType::F64), b',', false)?;
    /// The source file, chunks, shards and Zarr format of one import.
    type Case<'a> = (&'a Path, Option<Vec<usize>>, Option<Vec<usize>>, u8);
    let chunkings: &[Case<'_>] = &[
        (&path, None, None, 3),
        (&path, Some(vec![10, 7]), None, 3),
        (&path, Some(vec![1, 1]), None, 3),
        (&path, Some(vec![5, 23]), None, 2),
        (&path, Some(vec![5, 7]), Some(vec![10, 14]), 3),
        (&column, Some(vec![9]), None, 3),
        (&column, None, None, 2),
    ];
    for (i, (src, chunks, shards, zarr_format)) in chunkings.iter().enumerate() {
        let write = WriteOptions {
            chunks: chunks.clone(),
            shards: shards.clone(),
            zarr_format: brickwork::store::ZarrFormat::from_number(u64::from(*zarr_format))?,
            ..WriteOptions::default()
        };
        for threads in [1, 3] {
            let dst = dir.path().join(format!("out{i}-{threads}.zarr"));
            let opts = ComputeOptions::threads(threads);
            brickwork::io::csv::import(src, &dst, &CsvFormat::default(), &write, &opts)?;
            let got = Array::from_zarr(&dst)?;
            let what = format!("{chunks:?} {shards:?} v{zarr_format}");
            assert_same(&got.compute()?, &read_csv(src, b',', 0, None)?, &what);
            if chunks.is_none() {
                assert_eq!(got.chunks()?.max_chunk_shape(), got.shape(), "{what}");
            }
        }
    }
    Ok(())
}

/// One band of chunks that cannot fit the memory limit is refused before anything is
/// written, naming the chunk shape and one that fits; that one imports within the limit.
#[test]
fn csv_import_refuses_a_band_over_the_memory_limit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = csv_path(dir.path(), &table_text(400, 500))?;
    let dst = dir.path().join("out.zarr");
    let opts = ComputeOptions::threads(2).with_memory_limit(2_000_000);
    let err = import_csv(&path, &dst, 0, Some(&[200, 100]), &opts).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::PlanExceedsMemory { .. }), "{err:?}");
    for needle in [
        "chunks (200, 100)",
        "500 columns of",
        "in.csv",
        "chunks of (",
        "would fit",
    ] {
        assert!(msg.contains(needle), "{needle:?} missing from: {msg}");
    }
    assert!(!dst.exists(), "nothing is written");
    let fits = msg
        .split("chunks of (")
        .nth(1)
        .and_then(|t| t.split(',').next())
        .ok_or("no suggested shape")?
        .parse::<usize>()?;
    assert!((1..200).contains(&fits), "{msg}");
    let m = import_csv(&path, &dst, 0, Some(&[fits, 100]), &opts)?;
    assert!(m.peak_reserved_bytes <= 2_000_000, "{m}");
    assert_same(
        &Array::from_zarr(&dst)?.compute()?,
        &read_csv(&path, b',', 0, None)?,
        "imported within the limit",
    );
    // Without --chunks, the rows of a chunk are chosen to fit.
    let m = import_csv(&path, &dir.path().join("default.zarr"), 0, None, &opts)?;
    assert!(m.peak_reserved_bytes <= 2_000_000, "{m}");
    Ok(())
}

/// `save` writes band by band under small limits (cutting rows of chunks into bands) the
/// same bytes as `write_csv` of the whole array, and leaves nothing behind on failure.
#[test]
fn csv_save_in_bands_writes_the_same_text() -> TestResult {
    let dir = tempfile::tempdir()?;
    let x = Array::random(&[3000, 50], &[400, 20], 11)?.slice(s![5..2990;3, 1..])?;
    let column = Array::random(&[5000], &[700], 12)?.greater(&Array::full(
        &[],
        &[],
        0.5.into(),
        DType::F64,
    )?)?;
    for (name, a) in [("x", &x), ("column", &column)] {
        let whole = dir.path().join(format!("{name}-whole.csv"));
        write_csv(&whole, &a.compute()?, b';', false)?;
        for limit in [None, Some(64 << 10), Some(1 << 20)] {
            let path = dir.path().join(format!("{name}-{limit:?}.csv"));
            let mut opts = ComputeOptions::threads(2);
            opts.memory_limit = limit;
            let m = a.to_csv(&path, b';', false, &opts)?;
            assert_eq!(
                std::fs::read(&path)?,
                std::fs::read(&whole)?,
                "{name} {limit:?}"
            );
            if let Some(limit) = limit {
                assert!(m.peak_reserved_bytes <= limit, "{name} {limit}: {m}");
            }
        }
    }
    let path = dir.path().join("cancelled.csv");
    let mut opts = ComputeOptions::threads(2);
    opts.cancel = Some(brickwork::CancelToken::new());
    opts.cancel.as_ref().unwrap().cancel();
    let err = x.to_csv(&path, b',', false, &opts).unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("cancelled"))
        .collect();
    assert!(left.is_empty(), "nothing left behind: {left:?}");
    Ok(())
}
