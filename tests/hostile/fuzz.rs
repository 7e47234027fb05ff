//! A fuzz harness over the readers of untrusted text: the expression parser
//! (`parse::evaluate`), the `.npy` header reader (`NpyFile::open`, then its chunks) and the
//! Zarr metadata readers (`ZarrSource::open` of `zarr.json`, `.zarray` and `.zattrs`, then a
//! chunk).
//!
//! Each target runs `BRICKWORK_FUZZ_CASES` inputs (default [`DEFAULT_CASES`]): half
//! generated from a grammar of the format (structure-aware, with hostile values), half
//! mutated from valid seeds (bit flips, truncations, deletions, duplications, insertions of
//! the format's structural tokens). An input passes when it gives `Ok` or one of the
//! target's typed errors; a panic or another error fails the test, printing the input.
//! `BRICKWORK_FUZZ_SEED` picks the random stream (default fixed, so runs are repeatable);
//! with `BRICKWORK_FUZZ_CRASH_DIR` set, each input is written there before it runs, so one
//! that aborts the process (an allocation failure, a stack overflow) is left behind.
//! `scripts/fuzz.sh` runs 10^6 inputs per target; figures are in the README.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use brickwork::io::npy::{NpyFile, header_bytes};
use brickwork::parse::evaluate;
use brickwork::store::{BlockRead, ZarrFormat, ZarrSource};
use brickwork::{Array, Codec, DType, Error, Scalar, WriteOptions};
use serde_json::{Value, json};

use super::opts;
use crate::common::{TestResult, data};

/// Inputs per target unless `BRICKWORK_FUZZ_CASES` says otherwise: about 5 s per target
/// on 2 cores in the test profile.
const DEFAULT_CASES: u64 = 3000;

/// SplitMix64: a small, fast, seedable generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// True one time in `n`.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Applies one to four random edits to `seed`, inserting tokens from `tokens`.
fn mutate(rng: &mut Rng, seed: &[u8], tokens: &[&str]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(6) {
            0 if at < v.len() => v[at] ^= 1 << rng.below(8),
            1 => v.truncate(at),
            2 => {
                let end = (at + 1 + rng.below(8)).min(v.len());
                v.drain(at..end);
            }
            3 => {
                let token = rng.pick(tokens).as_bytes();
                v.splice(at..at, token.iter().copied());
            }
            4 => {
                let end = (at + 1 + rng.below(16)).min(v.len());
                let copy = v[at..end].to_vec();
                v.splice(at..at, copy);
            }
            _ if at < v.len() => v[at] = *rng.pick(&[0, b'0', b'9', b'-', 0x7f, 0xff, b'\\', b'"']),
            _ => v.push(b'('),
        }
    }
    v
}

/// Runs `cases` inputs from `make` through `check`, failing with the inputs that panicked or
/// gave an untyped error.
fn run(
    target: &str,
    mut make: impl FnMut(&mut Rng, u64) -> Vec<u8>,
    mut check: impl FnMut(&[u8]) -> Result<(), String>,
) {
    let cases = env_u64("BRICKWORK_FUZZ_CASES", DEFAULT_CASES);
    let mut rng = Rng(env_u64("BRICKWORK_FUZZ_SEED", 13) ^ target.len() as u64);
    let crash = std::env::var_os("BRICKWORK_FUZZ_CRASH_DIR").map(|d| Path::new(&d).join(target));
    let (started, mut failures) = (Instant::now(), Vec::new());
    for case in 0..cases {
        let input = make(&mut rng, case);
        if let Some(file) = &crash {
            std::fs::write(file, &input).expect("the crash directory is writable");
        }
        match catch_unwind(AssertUnwindSafe(|| check(&input))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("{e}: {:?}", String::from_utf8_lossy(&input))),
            Err(_) => failures.push(format!("panic: {:?}", String::from_utf8_lossy(&input))),
        }
    }
    eprintln!(
        "fuzz {target}: {cases} inputs in {:.1} s, {} failures",
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{target}: {} failures, first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
}

// ------------------------------------------------------------------------------------------
// The expression parser
// ------------------------------------------------------------------------------------------

const PROGRAMS: [&str; 8] = [
    "x = random((100, 100), chunks=(30, 30), seed=0); (x + x.T)[::2, 50:].mean(axis=1)",
    "(x + x.T)[::2, 3:].mean(axis=1, keepdims=True)",
    "a = x * 2 - y ** 2\nwhere(a > 0, sqrt(a), -a).std(ddof=1, axis=(0, -1))",
    "u.astype('int16') // 3 % 2 + arange(0, 10, 2.5, chunks=3)[1:3]",
    "sum(clip(x, -1, 1.5)[1:-1:2, 3], split_every=2) + linspace(0, 1, 5)[-1]",
    "b & ~(x < y) | (r != 0) ^ True",
    "full((2, 3), 7, dtype='f4') * zeros(3) + ones((2, 1)) @ 2",
    "minimum(x, maximum(y, 0)).var(0) + random_normal(10, chunks=4, seed=1, loc=1.0)",
];

const EXPR_TOKENS: [&str; 40] = [
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "::",
    ";",
    "\n",
    " = ",
    ".T",
    ".sum(",
    "axis=",
    "keepdims=",
    " + ",
    " - ",
    " * ",
    " / ",
    " // ",
    " % ",
    " ** ",
    " @ ",
    " < ",
    " == ",
    " & ",
    " | ",
    "~",
    "-",
    "x",
    "y",
    "u",
    "b",
    "r",
    "True",
    "None",
    "'f4'",
    "1.5",
    "-1",
    "0",
    "3",
];

/// `x`, `y` (12 × 10 float64), `u` (uint8), `b` (bool), `r` (a row of 10).
fn expr_inputs() -> HashMap<String, Array> {
    let x = Array::from_ndarray(data(&[12, 10], 1), &[5, 4]).expect("x");
    let y = Array::from_ndarray(data(&[12, 10], 2), &[5, 4]).expect("y");
    let u = Array::arange(Scalar::Int(0), Scalar::Int(250), Scalar::Int(1), 64)
        .and_then(|a| a.astype(DType::U8))
        .expect("u");
    let b = x
        .greater(&Array::full(&[], &[], Scalar::Float(0.0), DType::F64).expect("0"))
        .expect("b");
    let r = Array::from_ndarray(data(&[10], 3), &[3]).expect("r");
    [("x", x), ("y", y), ("u", u), ("b", b), ("r", r)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// A random expression of the language, at most `depth` deep.
fn expression(rng: &mut Rng, depth: usize) -> String {
    let leaf = |rng: &mut Rng| {
        let numbers = ["0", "1", "2", "-1", "2.5", "1e3", "0.5", "True", "99"];
        let names = ["x", "y", "u", "b", "r", "z"];
        if rng.one_in(3) {
            rng.pick(&numbers).to_string()
        } else {
            rng.pick(&names).to_string()
        }
    };
    if depth == 0 || rng.one_in(4) {
        return leaf(rng);
    }
    let e = |rng: &mut Rng| expression(rng, depth - 1);
    match rng.below(7) {
        0 => format!(
            "{} {} {}",
            e(rng),
            rng.pick(&[
                "+", "-", "*", "/", "//", "%", "**", "<", ">=", "==", "&", "|", "^", "@"
            ]),
            e(rng)
        ),
        1 => format!(
            "{}({})",
            rng.pick(&["-", "~", "", "sqrt", "abs", "exp", "log", "sum", "mean"]),
            e(rng)
        ),
        2 => format!("{}[{}]", e(rng), index(rng)),
        3 => format!(
            "({}).{}({})",
            e(rng),
            rng.pick(&["sum", "mean", "std", "var", "min", "max", "prod", "astype"]),
            arguments(rng)
        ),
        4 => format!(
            "{}({})",
            rng.pick(&[
                "where",
                "clip",
                "minimum",
                "maximum",
                "random",
                "zeros",
                "ones",
                "full",
                "arange",
                "linspace",
                "random_normal"
            ]),
            arguments(rng)
        ),
        5 => format!("{}.T", e(rng)),
        _ => format!("z = {}; {}", e(rng), e(rng)),
    }
}

/// Random call arguments: positional values, tuples and keywords.
fn arguments(rng: &mut Rng) -> String {
    let pieces = [
        "x",
        "1",
        "-1",
        "0",
        "(0, 1)",
        "(3, 4)",
        "axis=0",
        "axis=(0, -1)",
        "axis=5",
        "keepdims=True",
        "ddof=1",
        "split_every=2",
        "chunks=2",
        "chunks=(2, 3)",
        "seed=3",
        "dtype='int8'",
        "'float32'",
        "dtype='complex'",
        "loc=1.0",
        "scale=-1",
        "2.5",
        "()",
    ];
    (0..rng.below(4))
        .map(|_| *rng.pick(&pieces))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A random index: integers, slices with steps, and too many of them.
fn index(rng: &mut Rng) -> String {
    let pieces = [
        "0", "-1", "3", "99", "-99", ":", "::2", "1:", ":-1", "::-1", "2:8:3", "::0", "None",
    ];
    (0..1 + rng.below(3))
        .map(|_| *rng.pick(&pieces))
        .collect::<Vec<_>>()
        .join(", ")
}

/// True for programs that could build a grid of more than ~10^8 chunks on one axis: the
/// chunk grid stores every boundary (`grid::AxisChunks`), so `zeros(10**9, chunks=1)`
/// allocates 8 GB while the expression is built. That is a known limit of the grid, not of
/// the parser; such programs are skipped so that a run cannot exhaust the machine's memory.
fn builds_a_huge_grid(text: &str) -> bool {
    let number_end = |head: &str| head.ends_with(|c: char| c.is_ascii_digit() || c == '.');
    let mut digits = 0;
    for (i, c) in text.char_indices() {
        digits = if c.is_ascii_digit() { digits + 1 } else { 0 };
        let exponent = matches!(c, 'e' | 'E') && number_end(&text[..i]);
        let product = matches!(c, '*' | '/')
            && text[..i]
                .trim_end()
                .ends_with(|c: char| c.is_ascii_digit() || c == ')')
            && text[i + 1..]
                .trim_start_matches(['*', '/', ' ', '('])
                .starts_with(|c: char| c.is_ascii_digit());
        if digits > 5 || exponent || product || text[i..].starts_with("0.00") {
            return true;
        }
    }
    false
}

/// The parser's result: `Ok`, or any typed error but `Internal`.
fn check_program(inputs: &HashMap<String, Array>, text: &str) -> Result<(), String> {
    if builds_a_huge_grid(text) {
        return Ok(());
    }
    match evaluate(text, inputs) {
        Err(e @ Error::Internal { .. }) => Err(e.to_string()),
        Ok(_) | Err(_) => Ok(()),
    }
}

#[test]
fn fuzz_expression_parser() {
    let inputs = expr_inputs();
    run(
        "expression",
        |rng, case| {
            if case % 2 == 0 {
                let depth = 1 + rng.below(5);
                expression(rng, depth).into_bytes()
            } else {
                let seed = *rng.pick(&PROGRAMS);
                mutate(rng, seed.as_bytes(), &EXPR_TOKENS)
            }
        },
        |input| check_program(&inputs, &String::from_utf8_lossy(input)),
    );
}

// ------------------------------------------------------------------------------------------
// .npy headers
// ------------------------------------------------------------------------------------------

const NPY_TOKENS: [&str; 24] = [
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "'",
    "\"",
    " ",
    "\\",
    "True",
    "False",
    "None",
    "L",
    "'descr'",
    "'shape'",
    "'fortran_order'",
    "'<f8'",
    "'>u2'",
    "'|b1'",
    "18446744073709551615",
    "0",
];

/// A valid `.npy` file: header and zero data.
fn npy_seed(rng: &mut Rng) -> Vec<u8> {
    let shapes: [&[usize]; 5] = [&[], &[3], &[4, 5], &[0, 7], &[2, 1, 3]];
    let shape = *rng.pick(&shapes);
    let dtype = *rng.pick(&DType::ALL);
    let mut bytes = header_bytes(shape, dtype);
    bytes.resize(
        bytes.len() + shape.iter().product::<usize>() * dtype.size(),
        0,
    );
    bytes
}

/// A random header dictionary with hostile values, in a random format version, with random
/// data after it.
fn npy_generated(rng: &mut Rng) -> Vec<u8> {
    let values = [
        "'<f8'",
        "'>i4'",
        "'|u1'",
        "'<c16'",
        "'S3'",
        "[('a', '<f8')]",
        "True",
        "False",
        "None",
        "1",
        "()",
        "(3,)",
        "(2, 3)",
        "(0, 18446744073709551615)",
        "(4611686018427387904, 4)",
        "(-1,)",
        "(1.5,)",
        "((((3,),),),)",
        "'x'",
        "{}",
        "[3, 4]",
        "(3L, 4L)",
        "99999999999999999999",
    ];
    let keys = [
        "'descr'",
        "'fortran_order'",
        "'shape'",
        "'descr'",
        "'fortran_order'",
        "'shape'",
        "'x'",
        "3",
    ];
    let items: Vec<String> = (0..rng.below(5))
        .map(|_| format!("{}: {}", rng.pick(&keys), rng.pick(&values)))
        .collect();
    let dict = format!("{{{}}}", items.join(", "));
    let version = *rng.pick(&[1u8, 1, 2, 3, 0, 4]);
    let mut out = b"\x93NUMPY".to_vec();
    out.extend([version, 0]);
    let len = if rng.one_in(8) {
        rng.below(70_000)
    } else {
        dict.len()
    };
    if version == 1 {
        out.extend((len as u16).to_le_bytes());
    } else {
        out.extend((len as u32).to_le_bytes());
    }
    out.extend(dict.bytes());
    out.resize(out.len() + rng.below(100), 0);
    out
}

/// Opening the file: `Ok` (then every chunk is read, up to 16), or a format, I/O or argument
/// error.
fn check_npy(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| e.to_string())?;
    let file = match NpyFile::open(path, None) {
        Ok(f) => f,
        Err(Error::Format { .. } | Error::Io { .. } | Error::InvalidArgument { .. }) => {
            return Ok(());
        }
        Err(e) => return Err(e.to_string()),
    };
    let grid: Vec<usize> = file
        .shape()
        .iter()
        .zip(file.chunk_shape())
        .map(|(&n, &c)| n.div_ceil(c).max(1))
        .collect();
    for linear in 0..grid.iter().product::<usize>().min(16) {
        let mut chunk = vec![0; grid.len()];
        let mut rest = linear;
        for (c, &n) in chunk.iter_mut().zip(&grid).rev() {
            (*c, rest) = (rest % n, rest / n);
        }
        file.read_chunk(&chunk)
            .map_err(|e| format!("reading chunk {chunk:?}: {e}"))?;
    }
    Ok(())
}

#[test]
fn fuzz_npy_headers() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("f.npy");
    run(
        "npy",
        |rng, case| {
            if case % 2 == 0 {
                npy_generated(rng)
            } else {
                let seed = npy_seed(rng);
                mutate(rng, &seed, &NPY_TOKENS)
            }
        },
        |input| check_npy(&path, input),
    );
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Zarr metadata
// ------------------------------------------------------------------------------------------

const JSON_TOKENS: [&str; 24] = [
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "null",
    "true",
    "-1",
    "0",
    "1e400",
    "18446744073709551616",
    "4611686018427387904",
    "\"shape\"",
    "\"chunks\"",
    "\"codecs\"",
    "\"zstd\"",
    "\"<f8\"",
    "\"float16\"",
    "\"sharding_indexed\"",
    "[0]",
    "{\"name\": \"bytes\"}",
];

/// A seed array: its directory, and the metadata documents that may be changed.
struct Seed {
    dir: PathBuf,
    docs: Vec<(&'static str, Vec<u8>)>,
}

/// Writes the seed arrays: v3 raw, zstd and sharded, v2 blosc, a 0-d array.
fn zarr_seeds(root: &Path) -> Result<Vec<Seed>, Box<dyn std::error::Error>> {
    let blosc = Codec::Blosc {
        cname: brickwork::store::BloscCname::Lz4,
        level: 5,
    };
    let sharded = WriteOptions {
        shards: Some(vec![6, 8]),
        ..WriteOptions::default()
    };
    let layouts: [(&str, &[usize], &[usize], WriteOptions); 5] = [
        ("raw", &[12, 10], &[5, 4], opts(ZarrFormat::V3, Codec::None)),
        (
            "zstd",
            &[12, 10],
            &[5, 4],
            opts(ZarrFormat::V3, Codec::Zstd { level: 1 }),
        ),
        ("sharded", &[12, 10], &[3, 4], sharded),
        ("v2", &[12, 10], &[5, 4], opts(ZarrFormat::V2, blosc)),
        ("scalar", &[], &[], opts(ZarrFormat::V3, Codec::None)),
    ];
    let mut seeds = Vec::new();
    for (name, shape, chunks, o) in layouts {
        let dir = root.join(name);
        Array::random(shape, chunks, 5)?.to_zarr(&dir, &o)?;
        let docs = ["zarr.json", ".zarray", ".zattrs"]
            .into_iter()
            .filter_map(|d| std::fs::read(dir.join(d)).ok().map(|b| (d, b)))
            .collect();
        seeds.push(Seed { dir, docs });
    }
    Ok(seeds)
}

/// Hostile JSON values for structure-aware generation.
fn hostile_value(rng: &mut Rng) -> Value {
    let values = [
        json!(-1),
        json!(0),
        json!(1),
        json!(1u64 << 31),
        json!(1u64 << 32),
        json!(1u64 << 53),
        json!(1u64 << 62),
        json!(u64::MAX),
        json!(1.5),
        json!(-0.0),
        json!(1e308),
        json!("x"),
        json!(""),
        json!(null),
        json!(true),
        json!([]),
        json!({}),
        json!([0]),
        json!([1u64 << 40]),
        json!([u64::MAX, u64::MAX]),
        Value::Array(vec![json!(1); 40]),
        json!([[[[[[1]]]]]]),
        json!({"name": "zstd"}),
        json!("float16"),
        json!("<c16"),
        json!("bytes"),
        json!({"name": "sharding_indexed", "configuration": {}}),
    ];
    rng.pick(&values).clone()
}

/// Replaces a random node of `doc` (or a random entry of an object or array) by a hostile
/// value.
fn replace_random_node(rng: &mut Rng, doc: &mut Value) {
    match doc {
        Value::Object(map) if !map.is_empty() && !rng.one_in(4) => {
            let key = map
                .keys()
                .nth(rng.below(map.len()))
                .cloned()
                .unwrap_or_default();
            if rng.one_in(6) {
                map.remove(&key);
            } else if let Some(child) = map.get_mut(&key) {
                replace_random_node(rng, child);
            }
        }
        Value::Array(items) if !items.is_empty() && !rng.one_in(4) => {
            let i = rng.below(items.len());
            replace_random_node(rng, &mut items[i]);
        }
        other => *other = hostile_value(rng),
    }
}

/// One case: which seed, which document, and its new bytes.
fn zarr_case(rng: &mut Rng, seeds: &[Seed], case: u64) -> Vec<u8> {
    let s = rng.below(seeds.len());
    let d = rng.below(seeds[s].docs.len());
    let original = &seeds[s].docs[d].1;
    let doc = if case.is_multiple_of(2) {
        let mut value: Value = serde_json::from_slice(original).expect("seed metadata is JSON");
        for _ in 0..1 + rng.below(3) {
            replace_random_node(rng, &mut value);
        }
        serde_json::to_vec(&value).expect("JSON serializes")
    } else {
        mutate(rng, original, &JSON_TOKENS)
    };
    [vec![s as u8, d as u8], doc].concat()
}

/// Writes the case's document over the seed's (the others restored), opens the array and
/// reads its first chunk when that needs at most 16 MiB: `Ok` or a typed store error.
fn check_zarr(seeds: &[Seed], input: &[u8]) -> Result<(), String> {
    let seed = &seeds[usize::from(input[0])];
    for (i, (name, bytes)) in seed.docs.iter().enumerate() {
        let new = if i == usize::from(input[1]) {
            &input[2..]
        } else {
            bytes
        };
        std::fs::write(seed.dir.join(name), new).map_err(|e| e.to_string())?;
    }
    let typed = |e: Error| match e {
        Error::Store { .. } | Error::IncompleteArray { .. } | Error::Io { .. } => Ok(()),
        other => Err(other.to_string()),
    };
    let src = match ZarrSource::open(&seed.dir) {
        Ok(src) => src,
        Err(e) => return typed(e),
    };
    let block = src
        .chunk_shape()
        .iter()
        .try_fold(src.dtype().size() as u64, |a, &c| a.checked_mul(c as u64));
    if BlockRead::decoded_chunk_bytes(&src) > 16 << 20 || block.is_none_or(|b| b > 16 << 20) {
        return Ok(());
    }
    let first = vec![0; src.shape().len()];
    src.map_chunk(&first).err().map_or(Ok(()), typed)?;
    src.read_chunk(&first).err().map_or(Ok(()), typed)
}

#[test]
fn fuzz_zarr_metadata() -> TestResult {
    let dir = tempfile::tempdir()?;
    let seeds = zarr_seeds(dir.path())?;
    run(
        "zarr",
        |rng, case| zarr_case(rng, &seeds, case),
        |input| check_zarr(&seeds, input),
    );
    Ok(())
}
