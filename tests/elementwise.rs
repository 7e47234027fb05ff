//! Elementwise functions against NumPy: the trigonometric and hyperbolic functions,
//! logarithms, rounding, `sign`, the NaN/inf tests, `nan_to_num`, `arctan2` and `hypot` on
//! every dtype, with inputs holding NaN, ±inf, -0.0, halves, subnormals and the extremes of
//! each dtype, in 1-d to 3-d arrays on ragged chunkings, under both schedulers. NumPy (the
//! peer venv, `tests/python/numpy_elementwise.py`) computes the expected results; result
//! dtypes must be NumPy's (float32 where NumPy gives float16, which brickwork lacks).
//!
//! Rounding, `sign`, the tests and `nan_to_num` must match NumPy bit for bit. The functions
//! computed by a math library (`tan` … `expm1`, `arctan2`, `hypot`) may differ by
//! [`LIBM_ULPS`] units in the last place: brickwork calls the C library's functions, NumPy
//! uses its own SIMD versions of some of them (which ones depends on the CPU). Non-finite
//! and zero results must match exactly either way (NaN matches any NaN).

use std::collections::HashMap;
use std::path::Path;

use brickwork::io::npy::NpyFile;
use brickwork::kernel::random::mix64;
use brickwork::parse::evaluate;
use brickwork::{Array, BinaryOp, Block, BlockElement, DType, Error, Scalar};
use ndarray::{ArrayD, IxDyn};

use crate::common::*;

/// The largest difference allowed between brickwork's and NumPy's results of a function
/// computed by a math library, in units in the last place.
const LIBM_ULPS: u64 = 4;

const SHAPES: [&[usize]; 3] = [&[37], &[9, 11], &[4, 5, 6]];

const DTYPES: [DType; 11] = [
    DType::Bool,
    DType::I8,
    DType::U8,
    DType::I16,
    DType::U16,
    DType::I32,
    DType::U32,
    DType::I64,
    DType::U64,
    DType::F32,
    DType::F64,
];

/// Floats every function must get right: NaN, infinities, signed zeros, halves (rounding
/// half to even), values that are not what they print as (`1.005`, `2.675`), subnormals,
/// the float32 and float64 extremes, and the edges of the domains of `arcsin`, `log` and
/// `exp`.
const FLOAT_SPECIALS: &[f64] = &[
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    0.0,
    -0.0,
    0.5,
    -0.5,
    1.5,
    -1.5,
    2.5,
    -2.5,
    0.125,
    1.005,
    2.675,
    1.0,
    -1.0,
    1.000_000_1,
    -0.999_999_9,
    1e-300,
    5e-324,
    -5e-324,
    1e300,
    -1e300,
    f64::MAX,
    f64::MIN,
    3.4e38,
    3.5e38,
    1e-40,
    710.0,
    -745.5,
    89.0,
    1e-10,
    4_503_599_627_370_495.5,
    9_007_199_254_740_993.0,
    12_345.678,
    -0.75,
];

/// Integers, wrapped into each dtype: the extremes of every width, and fives, fifties and
/// hundred-fifties for `round` with negative decimals.
const INT_SPECIALS: &[i64] = &[
    0,
    1,
    -1,
    2,
    -2,
    5,
    -5,
    15,
    25,
    -25,
    49,
    50,
    51,
    149,
    150,
    151,
    250,
    -250,
    1234,
    -1250,
    1350,
    127,
    -128,
    255,
    32_767,
    -32_768,
    65_535,
    2_147_483_647,
    -2_147_483_648,
    4_294_967_295,
    i64::MAX,
    i64::MIN,
];

/// A uniform [0, 1) value from `(i, salt)`.
fn unit(i: usize, salt: u64) -> f64 {
    (mix64(i as u64 ^ mix64(salt)) >> 11) as f64 / (1u64 << 53) as f64
}

/// Float test values: the specials (rotated by `salt`, so two inputs pair different
/// specials), then values of every magnitude, halves, and values inside [-2, 2].
fn float_values(n: usize, salt: u64) -> Vec<f64> {
    let k = FLOAT_SPECIALS.len();
    (0..n)
        .map(|i| {
            if i < k {
                return FLOAT_SPECIALS[(i + 7 * salt as usize) % k];
            }
            let u = unit(i, salt);
            match i % 4 {
                0 => (u - 0.5) * 10f64.powi((i % 41) as i32 - 20),
                1 => (u * 2000.0).floor() / 2.0 - 500.0,
                2 => (u - 0.5) * 4.0,
                _ => (u - 0.5) * 1e-3,
            }
        })
        .collect()
}

/// Integer test values (as i64, wrapped into the dtype later): the specials, then random
/// bits of every width.
fn int_values(n: usize, salt: u64) -> Vec<i64> {
    let k = INT_SPECIALS.len();
    (0..n)
        .map(|i| {
            if i < k {
                return INT_SPECIALS[(i + 5 * salt as usize) % k];
            }
            let bits = mix64(i as u64 ^ mix64(salt + 100));
            (bits >> (8 * (i % 8))) as i64
        })
        .collect()
}

/// The test input of `dtype` and `shape`.
fn input(dtype: DType, shape: &[usize], salt: u64) -> Result<Block, Box<dyn std::error::Error>> {
    let n = shape.iter().product();
    Ok(if dtype.is_float() {
        Block::F64(ArrayD::from_shape_vec(IxDyn(shape), float_values(n, salt))?).cast(dtype)
    } else {
        Block::I64(ArrayD::from_shape_vec(IxDyn(shape), int_values(n, salt))?).cast(dtype)
    })
}

/// An integer input halved, so that rounding to tens or hundreds stays inside the dtype
/// (NumPy's conversion of an out-of-range float back to the integer dtype is undefined
/// behaviour in C, which brickwork defines as saturation).
fn halved(b: &Block) -> Block {
    let half = if b.dtype() == DType::U64 {
        b.cast_to::<u64>().mapv(|v| (v / 2) as i64)
    } else {
        b.cast_to::<i64>().mapv(|v| v / 2)
    };
    Block::I64(half).cast(b.dtype())
}

type Unary = fn(&Array) -> brickwork::Result<Array>;

/// NumPy's name, brickwork's method, and the tolerance in ulps.
const UNARY: &[(&str, Unary, u64)] = &[
    ("tan", Array::tan, LIBM_ULPS),
    ("arcsin", Array::asin, LIBM_ULPS),
    ("arccos", Array::acos, LIBM_ULPS),
    ("arctan", Array::atan, LIBM_ULPS),
    ("sinh", Array::sinh, LIBM_ULPS),
    ("cosh", Array::cosh, LIBM_ULPS),
    ("tanh", Array::tanh, LIBM_ULPS),
    ("log10", Array::log10, LIBM_ULPS),
    ("log2", Array::log2, LIBM_ULPS),
    ("log1p", Array::ln_1p, LIBM_ULPS),
    ("expm1", Array::exp_m1, LIBM_ULPS),
    ("floor", Array::floor, 0),
    ("ceil", Array::ceil, 0),
    ("trunc", Array::trunc, 0),
    ("sign", Array::signum, 0),
    ("isnan", Array::is_nan, 0),
    ("isinf", Array::is_infinite, 0),
    ("isfinite", Array::is_finite, 0),
];

/// `decimals` for `round`: halves to even, float64's exact and inexact powers of ten,
/// and overflow of the scaled value.
const DECIMALS: [i32; 9] = [0, 1, 2, 3, -1, -2, 10, 23, 400];

/// Dtype pairs for the binary functions besides each dtype with itself.
const MIXED: [(DType, DType); 7] = [
    (DType::I16, DType::F32),
    (DType::I32, DType::F32),
    (DType::U8, DType::I8),
    (DType::Bool, DType::F64),
    (DType::Bool, DType::I8),
    (DType::I64, DType::U64),
    (DType::F32, DType::F64),
];

/// One function call made by both brickwork and NumPy.
struct Case {
    /// NumPy's function.
    func: &'static str,
    /// The input files, without `.npy`.
    inputs: Vec<String>,
    /// NumPy's keyword arguments.
    kwargs: serde_json::Value,
    /// Allowed difference in ulps.
    ulps: u64,
    /// brickwork's result.
    got: Block,
}

/// The inputs of one test: named blocks, written to `.npy` as they are added.
struct Inputs<'a> {
    dir: &'a Path,
    blocks: HashMap<String, Block>,
    /// How many arrays were made, to cycle through the chunkings.
    made: usize,
}

impl Inputs<'_> {
    fn add(&mut self, name: String, block: Block) -> TestResult {
        write_npy(&self.dir.join(format!("{name}.npy")), &block)?;
        self.blocks.insert(name, block);
        Ok(())
    }

    /// The input `name` as an array, on the next of the ragged chunkings of its shape.
    fn array(&mut self, name: &str) -> brickwork::Result<Array> {
        let block = self.blocks[name].clone();
        let all = chunkings(block.shape());
        self.made += 1;
        Array::from_ndarray(block, &all[self.made % all.len()])
    }
}

/// Every unary case of one input: each function, `round` with each of [`DECIMALS`], and
/// `nan_to_num` with default and given replacements.
fn unary_cases(inputs: &mut Inputs, name: &str) -> Result<Vec<Case>, Box<dyn std::error::Error>> {
    let dtype = inputs.blocks[name].dtype();
    let mut cases = Vec::new();
    let case = |func, input: &str, kwargs, ulps, got: &Array| Case {
        func,
        inputs: vec![input.to_string()],
        kwargs,
        ulps,
        got: compute_both(got),
    };
    for &(func, f, ulps) in UNARY {
        let got = f(&inputs.array(name)?);
        if func == "sign" && dtype == DType::Bool {
            assert!(
                matches!(got, Err(Error::UnsupportedDType { .. })),
                "sign of bool"
            );
            continue;
        }
        cases.push(case(func, name, serde_json::json!({}), ulps, &got?));
    }
    for decimals in DECIMALS {
        let kwargs = serde_json::json!({ "decimals": decimals });
        let source = if dtype.is_integer() && decimals < 0 {
            let h = format!("{name}_halved");
            inputs.add(h.clone(), halved(&inputs.blocks[name]))?;
            h
        } else {
            name.to_string()
        };
        let got = inputs.array(&source)?.round(decimals);
        if dtype == DType::Bool && decimals != 0 {
            assert!(
                matches!(got, Err(Error::UnsupportedDType { .. })),
                "round of bool"
            );
            continue;
        }
        cases.push(case("round", &source, kwargs, 0, &got?));
    }
    let replacements = [
        (serde_json::json!({}), (0.0, None, None)),
        (
            serde_json::json!({"nan": 1.5, "posinf": 7.0, "neginf": -7.0}),
            (1.5, Some(7.0), Some(-7.0)),
        ),
        (
            serde_json::json!({"posinf": 1e300}),
            (0.0, Some(1e300), None),
        ),
    ];
    for (kwargs, (nan, posinf, neginf)) in replacements {
        let got = inputs.array(name)?.nan_to_num(nan, posinf, neginf)?;
        cases.push(case("nan_to_num", name, kwargs, 0, &got));
    }
    Ok(cases)
}

/// `arctan2` and `hypot` of two inputs.
fn binary_cases(inputs: &mut Inputs, a: &str, b: &str) -> brickwork::Result<Vec<Case>> {
    let mut cases = Vec::new();
    for (func, f) in [
        ("arctan2", Array::atan2 as fn(&Array, &Array) -> _),
        ("hypot", Array::hypot),
    ] {
        let got = f(&inputs.array(a)?, &inputs.array(b)?)?;
        cases.push(Case {
            func,
            inputs: vec![a.to_string(), b.to_string()],
            kwargs: serde_json::json!({}),
            ulps: LIBM_ULPS,
            got: compute_both(&got),
        });
    }
    Ok(cases)
}

/// Every case: unary functions of each dtype and shape, binary functions of each dtype
/// with itself and of the [`MIXED`] pairs.
fn all_cases(inputs: &mut Inputs) -> Result<Vec<Case>, Box<dyn std::error::Error>> {
    let mut cases = Vec::new();
    for shape in SHAPES {
        let key = |d: DType, salt: u64| format!("{d}_{}d_{salt}", shape.len());
        for d in DTYPES {
            for salt in [0, 1] {
                inputs.add(key(d, salt), input(d, shape, salt)?)?;
            }
            cases.extend(unary_cases(inputs, &key(d, 0))?);
            cases.extend(binary_cases(inputs, &key(d, 0), &key(d, 1))?);
        }
        for (a, b) in MIXED {
            cases.extend(binary_cases(inputs, &key(a, 0), &key(b, 1))?);
        }
    }
    Ok(cases)
}

/// Runs the NumPy script on `cases`; NumPy's result of case `i` is then in `dir/out_i.npy`.
fn run_numpy(python: &Path, dir: &Path, cases: &[Case]) -> TestResult {
    let jobs: Vec<serde_json::Value> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            serde_json::json!({
                "out": format!("out_{i}"), "func": c.func, "inputs": c.inputs, "kwargs": c.kwargs
            })
        })
        .collect();
    std::fs::write(dir.join("jobs.json"), serde_json::to_vec(&jobs)?)?;
    run_script(python, "numpy_elementwise.py", dir)
}

/// A float's bits (sign-magnitude, `sign` the sign bit) as an integer that counts ulps:
/// adjacent floats differ by 1.
fn ordered(bits: u64, sign: u64) -> i128 {
    if bits & sign != 0 {
        -i128::from(bits & !sign)
    } else {
        i128::from(bits)
    }
}

/// The largest difference in ulps between `got` and `want` (0 when equal, NaN matching
/// any NaN), or an error naming the first element that differs beyond `tolerance`.
fn float_distance<T: num_traits::Float + BlockElement>(
    got: &Block,
    want: &Block,
    tolerance: u64,
    bits: fn(T) -> u64,
    sign: u64,
) -> Result<u64, String> {
    let (g, w) = (got.cast_to::<T>(), want.cast_to::<T>());
    let mut worst = 0;
    for (i, (&x, &y)) in g.iter().zip(w.iter()).enumerate() {
        if x.is_nan() && y.is_nan() {
            continue;
        }
        let exact_only = |v: T| v.is_zero() || !v.is_finite();
        let d = if bits(x) == bits(y) {
            0
        } else if exact_only(x) || exact_only(y) {
            u64::MAX
        } else {
            ordered(bits(x), sign).abs_diff(ordered(bits(y), sign)) as u64
        };
        if d > tolerance {
            return Err(format!("element {i}: got {x:?}, want {y:?} ({d} ulps)"));
        }
        worst = worst.max(d);
    }
    Ok(worst)
}

/// Compares brickwork's result with NumPy's: dtype, shape, and values (exactly, or within
/// `case.ulps` for floats). Returns the largest difference in ulps.
fn compare(case: &Case, want: &Block) -> Result<u64, String> {
    let got = &case.got;
    if got.dtype() != want.dtype() || got.shape() != want.shape() {
        return Err(format!(
            "got {} {:?}, NumPy gives {} {:?}",
            got.dtype(),
            got.shape(),
            want.dtype(),
            want.shape()
        ));
    }
    match got.dtype() {
        DType::F32 => float_distance::<f32>(got, want, case.ulps, |x| x.to_bits().into(), 1 << 31),
        DType::F64 => float_distance::<f64>(got, want, case.ulps, f64::to_bits, 1 << 63),
        _ if got.cast_to::<u64>() == want.cast_to::<u64>() => Ok(0),
        _ => Err(format!("values differ:\n got {got:?}\nwant {want:?}")),
    }
}

#[test]
fn every_function_matches_numpy() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut inputs = Inputs {
        dir: dir.path(),
        blocks: HashMap::new(),
        made: 0,
    };
    let cases = all_cases(&mut inputs)?;
    let Some(python) = peer_python() else {
        return Ok(());
    };
    run_numpy(&python, dir.path(), &cases)?;
    let mut worst: HashMap<&str, u64> = HashMap::new();
    for (i, case) in cases.iter().enumerate() {
        let path = dir.path().join(format!("out_{i}.npy"));
        let want = NpyFile::open(&path, None)?.into_array().compute()?;
        let d = compare(case, &want).map_err(|e| {
            format!(
                "{}({}, **{}): {e}",
                case.func,
                case.inputs.join(", "),
                case.kwargs
            )
        })?;
        let w = worst.entry(case.func).or_default();
        *w = (*w).max(d);
    }
    let mut report: Vec<_> = worst.into_iter().collect();
    report.sort_unstable();
    eprintln!("largest differences from NumPy, in ulps: {report:?}");
    Ok(())
}

/// Inputs for the eval tests: `x` float64 with NaN and infinities, `i` int16, `b` bool.
fn eval_inputs() -> Result<HashMap<String, Array>, Box<dyn std::error::Error>> {
    let shape = [9, 11];
    let x = Array::from_ndarray(input(DType::F64, &shape, 0)?, &[4, 5])?;
    let i = Array::from_ndarray(input(DType::I16, &shape, 0)?, &[3, 7])?;
    let b = Array::from_ndarray(input(DType::Bool, &shape, 1)?, &[9, 2])?;
    Ok([("x", x), ("i", i), ("b", b)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect())
}

#[test]
fn eval_names_match_the_array_api() -> TestResult {
    let inputs = eval_inputs()?;
    let (x, i) = (&inputs["x"], &inputs["i"]);
    let two = Scalar::Float(2.0);
    let cases: Vec<(&str, Array)> = vec![
        ("tan(x)", x.tan()?),
        ("arcsin(x)", x.asin()?),
        ("arccos(i)", i.acos()?),
        ("arctan(x)", x.atan()?),
        ("sinh(x)", x.sinh()?),
        ("cosh(x)", x.cosh()?),
        ("tanh(x)", x.tanh()?),
        ("log10(i)", i.log10()?),
        ("log2(x)", x.log2()?),
        ("log1p(x)", x.ln_1p()?),
        ("expm1(x)", x.exp_m1()?),
        ("floor(x)", x.floor()?),
        ("ceil(i)", i.ceil()?),
        ("trunc(x)", x.trunc()?),
        ("sign(x)", x.signum()?),
        ("isnan(x)", x.is_nan()?),
        ("isinf(x)", x.is_infinite()?),
        ("isfinite(i)", i.is_finite()?),
        ("round(x)", x.round(0)?),
        ("round(x, 2)", x.round(2)?),
        ("x.round(decimals=-1)", x.round(-1)?),
        ("round(i, -2)", i.round(-2)?),
        ("nan_to_num(x)", x.nan_to_num(0.0, None, None)?),
        (
            "nan_to_num(x, nan=1.5, posinf=2, neginf=-2.0)",
            x.nan_to_num(1.5, Some(2.0), Some(-2.0))?,
        ),
        ("arctan2(x, i)", x.atan2(i)?),
        (
            "arctan2(2.0, x)",
            x.binary_scalar(BinaryOp::Arctan2, two, true)?,
        ),
        (
            "hypot(x, 2.0)",
            x.binary_scalar(BinaryOp::Hypot, two, false)?,
        ),
        ("hypot(i, i)", i.hypot(i)?),
    ];
    for (text, want) in cases {
        let got = evaluate(text, &inputs)?;
        assert_eq!(got.dtype(), want.dtype(), "{text}: dtype");
        assert_eq!(
            format!("{:?}", compute_both(&got)),
            format!("{:?}", compute_both(&want)),
            "{text}"
        );
    }
    Ok(())
}

#[test]
fn eval_folds_binary_functions_of_literals() -> TestResult {
    for (text, want) in [("arctan2(1, 2)", 1f64.atan2(2.0)), ("hypot(3, 4.0)", 5.0)] {
        let got = evaluate(text, &HashMap::new())?.compute_as::<f64>()?;
        assert_eq!(got.shape(), &[] as &[usize], "{text}");
        assert_eq!(got.first(), Some(&want), "{text}");
    }
    Ok(())
}

#[test]
fn eval_refuses_what_numpy_refuses() -> TestResult {
    let inputs = eval_inputs()?;
    for text in ["sign(b)", "round(b, 1)"] {
        let e = evaluate(text, &inputs).err();
        assert!(
            matches!(e, Some(Error::UnsupportedDType { .. })),
            "{text}: {e:?}"
        );
    }
    for text in [
        "round(x, 1.5)",
        "nan_to_num(x, 1.0)",
        "arctan2(x)",
        "x.tan()",
    ] {
        let e = evaluate(text, &inputs).err();
        assert!(matches!(e, Some(Error::Parse { .. })), "{text}: {e:?}");
    }
    Ok(())
}
