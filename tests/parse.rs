//! The `eval` expression language against the same computations built with the Array API.

use std::collections::HashMap;

use brickwork::parse::{evaluate, evaluate_all};
use brickwork::{
    Array, Axis, ComputeOptions, DType, Error, NumpyIndex, PadMode, ReduceOp, ReduceOptions,
    Scalar, s,
};
use ndarray::ArrayD;
use ndarray::NewAxis;
use proptest::prelude::*;

use crate::common::*;

/// `x`: 12x10 f64 test data in 5x4 chunks; `y`: another; `u`: uint8; `b`: bool; `r`: a row.
fn inputs() -> HashMap<String, Array> {
    let x = Array::from_ndarray(data(&[12, 10], 1), &[5, 4]).unwrap();
    let y = Array::from_ndarray(data(&[12, 10], 2), &[5, 4]).unwrap();
    let u = Array::arange(Scalar::Int(0), Scalar::Int(250), Scalar::Int(1), 64)
        .unwrap()
        .astype(DType::U8)
        .unwrap();
    let b = x.greater(&Array::full(&[], &[], Scalar::Float(0.0), DType::F64).unwrap());
    let r = Array::from_ndarray(data(&[10], 3), &[3]).unwrap();
    [("x", x), ("y", y), ("u", u), ("b", b.unwrap()), ("r", r)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

fn eval(text: &str) -> Array {
    evaluate(text, &inputs()).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn input(name: &str) -> Array {
    inputs()[name].clone()
}

/// Asserts `text` evaluates to the same dtype, shape and values as `want`.
fn check(text: &str, want: &Array) {
    let got = eval(text);
    assert_eq!(got.dtype(), want.dtype(), "{text}: dtype");
    assert_close(&compute_f64(&got), &compute_f64(want), text);
}

/// Asserts `text` evaluates to a 0-d array holding `want`.
fn check_scalar(text: &str, want: Scalar) {
    let dtype = match want {
        Scalar::Bool(_) => DType::Bool,
        Scalar::Int(_) => DType::I64,
        Scalar::Float(_) => DType::F64,
        Scalar::Complex(..) => DType::C128,
    };
    check(text, &Array::full(&[], &[], want, dtype).unwrap());
}

/// The column and message of the parse error `text` gives.
fn parse_error(text: &str) -> (usize, String) {
    match evaluate(text, &inputs()) {
        Err(Error::Parse {
            input,
            column,
            message,
        }) => {
            assert_eq!(input, text);
            (column, message)
        }
        Err(e) => panic!("{text}: not a parse error: {e:?}"),
        Ok(a) => panic!("{text}: evaluated to {a}"),
    }
}

#[test]
fn tutorial_line_matches_the_array_api() -> TestResult {
    let text = "x = random((100, 100), chunks=(30, 30), seed=0); (x + x.T)[::2, 50:].mean(axis=1)";
    let got = evaluate(text, &HashMap::new())?;
    let x = Array::random(&[100, 100], &[30, 30], 0)?;
    let want = (&x + &x.t()).slice(s![..;2, 50..])?.mean_axis(Axis(1))?;
    assert_eq!(got.shape(), vec![50]);
    assert_eq!(got.chunks()?, want.chunks()?);
    assert_eq!(got.compute_as::<f64>()?, want.compute_as::<f64>()?);
    Ok(())
}

#[test]
fn expressions_over_inputs_match_ndarray() {
    let (xd, yd) = (data(&[12, 10], 1), data(&[12, 10], 2));
    let sq = xd.slice(s![..10, ..]);
    let sym = &sq + &sq.t();
    let want = sym
        .slice(s![..;2, 3..])
        .mean_axis(Axis(1))
        .unwrap()
        .into_dyn();
    let text = "(x[:10] + x[:10].T)[::2, 3:].mean(axis=1)";
    assert_close(&compute_f64(&eval(text)), &want, text);
    let want = (&xd * &yd - 2.0 * &xd / 4.0).into_dyn();
    assert_close(&compute_f64(&eval("x * y - 2 * x / 4")), &want, "arith");
    let want = xd.mapv(|v| v.abs().sqrt() + v.sin() * v.cos()).into_dyn();
    let got = compute_f64(&eval("sqrt(abs(x)) + sin(x) * cos(x)"));
    assert_close(&got, &want, "math");
}

#[test]
fn precedence_follows_python() {
    let x = input("x");
    check("-x**2", &-&x.powf(2.0).unwrap());
    check("-x ** 2 + 1", &(-&x.powf(2.0).unwrap() + 1.0));
    check("x + y * 2", &(&x + &(&input("y") * 2.0)));
    check("(x + y) * 2", &((&x + &input("y")) * 2.0));
    check("x - 1 - 1", &(&x - 2.0));
    check("x / 2 / 2", &(&x / 4.0));
    check("x ** 2 ** -1", &x.powf(0.5).unwrap());
    check_scalar("2 ** 3 ** 2", Scalar::Int(512));
    check_scalar("-2 ** 2", Scalar::Int(-4));
    check_scalar("(-2) ** 2", Scalar::Int(4));
    check_scalar("1 + 2 * 3 - 4 // 3 % 2", Scalar::Int(6));
    check_scalar("6 & 3 | 8 ^ 1", Scalar::Int(11));
    check_scalar("1 + 2 == 3", Scalar::Bool(true));
    check_scalar("~5 + 1", Scalar::Int(-5));
    let u = input("u");
    let gt = u.greater(&Array::full(&[], &[], Scalar::Int(3), DType::U8).unwrap());
    check("u > 2 | 1", &gt.unwrap());
    let e = evaluate("b & x > 1", &inputs()).unwrap_err();
    assert!(
        matches!(e, Error::UnsupportedDType { .. }),
        "(b & x) > 1: {e}"
    );
    let want = &(&x + 1.0) * 1.0;
    let lt = want.less(&Array::full(&[], &[], Scalar::Float(2.0), DType::F64).unwrap());
    check("x + 1 < 2.0", &lt.unwrap());
}

#[test]
fn literal_expressions_fold_to_python_scalars() {
    check_scalar("2 * 3", Scalar::Int(6));
    check_scalar("-1", Scalar::Int(-1));
    check_scalar("1/2", Scalar::Float(0.5));
    check_scalar("7 // 2", Scalar::Int(3));
    check_scalar("-7 // 2", Scalar::Int(-4));
    check_scalar("-7 % 3", Scalar::Int(2));
    check_scalar("2 ** 10", Scalar::Int(1024));
    check_scalar("2 ** -2", Scalar::Float(0.25));
    check_scalar("1e-3 * 1_000", Scalar::Float(1.0));
    check_scalar(".5 + 1.", Scalar::Float(1.5));
    check_scalar("True + True", Scalar::Int(2));
    check_scalar("True & False", Scalar::Bool(false));
    check_scalar("3 > 2.5", Scalar::Bool(true));
    let e = evaluate("1 // 0", &HashMap::new()).unwrap_err();
    assert!(matches!(e, Error::Parse { column: 3, .. }), "{e}");
    let e = evaluate("9223372036854775807 + 1", &HashMap::new()).unwrap_err();
    assert!(e.to_string().contains("overflow"), "{e}");
}

#[test]
fn scalars_are_weak_next_to_arrays() -> TestResult {
    let u = input("u");
    let got = eval("u + 1");
    assert_eq!(got.dtype(), DType::U8);
    check("u + 1", &(&u + 1));
    check(
        "2 - u",
        &u.binary_scalar(brickwork::BinaryOp::Sub, Scalar::Int(2), true)?,
    );
    assert_eq!(eval("u * 2.5").dtype(), DType::F64);
    assert_eq!(eval("u / 2").dtype(), DType::F64);
    assert_eq!(eval("x.astype('f4') + 1.5").dtype(), DType::F32);
    assert_eq!(eval("u + u.astype('int8')").dtype(), DType::I16);
    let e = evaluate("u + 300", &inputs()).unwrap_err();
    assert!(e.to_string().contains("out of bounds for uint8"), "{e}");
    check("1 / x", &(1.0 / &input("x")));
    Ok(())
}

#[test]
fn indexing_uses_numpy_semantics() -> TestResult {
    let x = input("x");
    let slice = |start, stop, step| NumpyIndex::Slice { start, stop, step };
    check(
        "x[::2, 5:]",
        &x.index_numpy(&[slice(None, None, Some(2)), slice(Some(5), None, None)])?,
    );
    check("x[-1]", &x.index_numpy(&[NumpyIndex::Int(-1)])?);
    check(
        "x[1:-1:2, 3]",
        &x.index_numpy(&[slice(Some(1), Some(-1), Some(2)), NumpyIndex::Int(3)])?,
    );
    check("x[::-1, ::-3]", &x.slice(s![..;-1, ..;-3])?);
    check(
        "x[10:2:-2]",
        &x.index_numpy(&[slice(Some(10), Some(2), Some(-2))])?,
    );
    check("x[-100:100, 5:1000]", &x.slice(s![.., 5..])?);
    check("x[:, None:None:2]", &x.slice(s![.., ..;2])?);
    check(
        "x[2][3]",
        &x.index_numpy(&[NumpyIndex::Int(2), NumpyIndex::Int(3)])?,
    );
    check(
        "x[1 + 1, -(2 ** 2)]",
        &x.index_numpy(&[NumpyIndex::Int(2), NumpyIndex::Int(-4)])?,
    );
    check("n = 3; x[:n, n:]", &x.slice(s![..3, 3..])?);
    let want = ndarray::arr1(&[data(&[12, 10], 1)[[11, 9]]]).into_dyn();
    let got = compute_f64(&eval("x[-1:, -1]"));
    assert_close(&got, &want, "x[-1:, -1]");
    Ok(())
}

#[test]
fn reductions_as_methods_and_functions() -> TestResult {
    let x = input("x");
    let opts = |keepdims, ddof, split_every| ReduceOptions {
        keepdims,
        ddof,
        split_every,
    };
    let d = ReduceOptions::default();
    let ops = [
        ("sum", ReduceOp::Sum),
        ("prod", ReduceOp::Prod),
        ("min", ReduceOp::Min),
        ("max", ReduceOp::Max),
        ("mean", ReduceOp::Mean),
        ("var", ReduceOp::Var),
        ("std", ReduceOp::Std),
    ];
    for (name, op) in ops {
        check(&format!("x.{name}()"), &x.reduce(op, None, &d)?);
        check(&format!("{name}(x)"), &x.reduce(op, None, &d)?);
        check(&format!("x.{name}(axis=1)"), &x.reduce(op, Some(&[1]), &d)?);
        check(&format!("{name}(x, 0)"), &x.reduce(op, Some(&[0]), &d)?);
        check(
            &format!("{name}(x, axis=(0, -1))"),
            &x.reduce(op, Some(&[0, 1]), &d)?,
        );
        let o = opts(true, 0.0, 2);
        let text = format!("x.{name}(axis=-1, keepdims=True, split_every=2)");
        check(&text, &x.reduce(op, Some(&[-1]), &o)?);
        check(&format!("x.{name}(axis=None)"), &x.reduce(op, None, &d)?);
    }
    check("x.std(ddof=1)", &x.std(1.0)?);
    check("var(x, axis=0, ddof=1.5)", &x.var_axis(Axis(0), 1.5)?);
    check("u.sum()", &input("u").sum()?);
    assert_eq!(eval("u.sum()").dtype(), DType::U64);
    let e = evaluate("x.sum(axis=2)", &inputs()).unwrap_err();
    assert!(matches!(e, Error::InvalidAxis { axis: 2, .. }), "{e}");
    Ok(())
}

#[test]
fn elementwise_functions() -> TestResult {
    let (x, y, b) = (input("x"), input("y"), input("b"));
    check(
        "exp(x / 10) + log(abs(x) + 1)",
        &(&(&x / 10.0).exp()? + &(&x.abs()? + 1.0).ln()?),
    );
    check("where(b, x, y)", &Array::where_(&b, &x, &y)?);
    check(
        "where(x > 0, x, 0)",
        &x.maximum(&Array::zeros(&[], &[], DType::F64)?)?,
    );
    assert_eq!(eval("where(u > 100, u, 0)").dtype(), DType::U8);
    check("minimum(x, y)", &x.minimum(&y)?);
    check(
        "maximum(x, 1)",
        &x.maximum(&Array::full(&[], &[], 1.0.into(), DType::F64)?)?,
    );
    let (lo, hi) = (
        Array::full(&[], &[], (-1.0).into(), DType::F64)?,
        Array::full(&[], &[], 2.0.into(), DType::F64)?,
    );
    check("clip(x, -1, 2)", &x.clip(&lo, &hi)?);
    check("x.clip(-1, 2)", &x.clip(&lo, &hi)?);
    check("x.clip(None, 2)", &x.minimum(&hi)?);
    check("x + r", &(&x + &input("r")));
    check("x.astype('int32')", &x.astype(DType::I32)?);
    check("astype(x, \"uint8\")", &x.astype(DType::U8)?);
    check("x.transpose()", &x.t());
    check("transpose(x, (1, 0))", &x.permuted_axes(&[1, 0])?);
    check("~b | b ^ b", &(&!&b | &(&b ^ &b)));
    let e = evaluate("x.astype('float16')", &inputs()).unwrap_err();
    assert!(
        matches!(e, Error::UnknownDType { ref name } if name == "float16"),
        "{e}"
    );
    Ok(())
}

#[test]
fn creation_functions_match_the_array_api() -> TestResult {
    let f64_ = DType::F64;
    check(
        "random((20, 30), chunks=(7, 8), seed=3)",
        &Array::random(&[20, 30], &[7, 8], 3)?,
    );
    check("random(20, chunks=7)", &Array::random(&[20], &[7], 0)?);
    let want = Array::random_normal(&[9, 9], &[4, 4], 5, 2.0, 3.0)?;
    check(
        "random_normal((9, 9), chunks=4, seed=5, loc=2.0, scale=3)",
        &want,
    );
    check(
        "zeros((3, 4), chunks=2)",
        &Array::zeros(&[3, 4], &[2, 2], f64_)?,
    );
    check("ones(5, 'int8')", &Array::ones(&[5], &[5], DType::I8)?);
    check(
        "ones((2, 2), dtype='bool')",
        &Array::ones(&[2, 2], &[2, 2], DType::Bool)?,
    );
    check(
        "full((2, 3), 7)",
        &Array::full(&[2, 3], &[2, 3], 7.into(), DType::I64)?,
    );
    check(
        "full((2, 3), 7, dtype='f4')",
        &Array::full(&[2, 3], &[2, 3], 7.into(), DType::F32)?,
    );
    check("full((), 2.5)", &Array::full(&[], &[], 2.5.into(), f64_)?);
    let ar = |a: i64, b: i64, c: i64, chunk| Array::arange(a.into(), b.into(), c.into(), chunk);
    check("arange(10)", &ar(0, 10, 1, 10)?);
    check("arange(2, 10, 3, chunks=2)", &ar(2, 10, 3, 2)?);
    check("arange(10, 0, -1)", &ar(10, 0, -1, 10)?);
    let want = Array::arange(0.into(), 1.into(), 0.25.into(), 10)?;
    check("arange(0, 1, 0.25)", &want);
    check(
        "linspace(0, 1, 5, chunks=2)",
        &Array::linspace(0.0, 1.0, 5, true, 2)?,
    );
    check(
        "linspace(0, 1, num=4, endpoint=False)",
        &Array::linspace(0.0, 1.0, 4, false, 4)?,
    );
    check(
        "zeros((4, 5)).rechunk((3, 2))",
        &Array::zeros(&[4, 5], &[3, 2], f64_)?,
    );
    // default chunks: one chunk up to 128 MiB, then equal edges under it
    assert_eq!(
        eval("random((100, 100))").chunks()?,
        Array::random(&[100, 100], &[100, 100], 0)?.chunks()?
    );
    let big = eval("zeros((100000, 100000))");
    assert_eq!(
        big.chunks()?,
        Array::zeros(&[100_000, 100_000], &[4096, 4096], f64_)?.chunks()?
    );
    Ok(())
}

#[test]
fn assignments_newlines_and_shadowing() {
    let x = input("x");
    check("a = x * 2; b = a + 1\nb - x", &(&(&(&x * 2.0) + 1.0) - &x));
    check(
        "x = x[:2]; x.sum()",
        &x.slice(s![..2, ..]).unwrap().sum().unwrap(),
    );
    check("\n  # comment\n a = (x +\n 1)  # more\n\n a;", &(&x + 1.0));
    check(
        "s = (3, 4); zeros(s)",
        &Array::zeros(&[3, 4], &[3, 4], DType::F64).unwrap(),
    );
}

#[test]
fn syntax_errors_point_at_the_offending_token() {
    let (col, msg) = parse_error("x +* 2");
    assert_eq!(
        (col, msg.as_str()),
        (4, "expected an expression, found '*'")
    );
    let (col, msg) = parse_error("x + zz");
    assert_eq!(col, 5);
    assert_eq!(msg, "unknown name 'zz'; inputs are: b, r, u, x, y");
    let msg = evaluate("x @ y", &inputs()).unwrap_err().to_string();
    assert!(msg.contains("matmul") && msg.contains("(12, 10)"), "{msg}");
    let (col, msg) = parse_error("1 + frob(x)");
    assert_eq!(col, 5);
    assert!(msg.starts_with("unknown function 'frob'"), "{msg}");
    let (col, msg) = parse_error("x.mean(axis=1, bogus=2)");
    assert_eq!(col, 16);
    assert!(msg.contains("unexpected keyword argument 'bogus'"), "{msg}");
    let cases = [
        ("(x + 1", 7, "expected ')'"),
        ("x[1:2", 6, "expected ']'"),
        ("x y", 3, "expected an operator"),
        ("x = 1", 1, "must end with an expression"),
        ("", 1, "expected an expression"),
        ("x + 1; x", 1, "only the last statement"),
        ("1 < x < 2", 7, "chained comparisons"),
        ("x.frob()", 3, "unknown method 'frob'"),
        ("x.sqrt()", 3, "no method 'sqrt'"),
        ("x.mean", 3, "must be called"),
        ("x.bogus", 3, "unknown attribute"),
        ("max(x, 1, 2)", 11, "at most 2 positional"),
        ("sum(x, 1, 2)", 11, "must be a dtype name"),
        ("where(b, x)", 1, "missing required argument 'y'"),
        ("sum(axis=1, x)", 13, "positional argument follows keyword"),
        ("sum(x, axis=1.5)", 13, "must be an int or a tuple of ints"),
        ("sum(x, axis=1, axis=0)", 16, "multiple values"),
        ("sum(x, 1, axis=0)", 11, "multiple values"),
        ("zeros((2, -1))", 7, "must be non-negative"),
        ("x['a']", 3, "indices must be integers"),
        ("x[x]", 3, "an index array must be bool or integer"),
        ("'f4' + 1", 6, "unsupported operand types"),
        ("sqrt", 1, "is a function"),
        ("True = 1; x", 1, "cannot assign to True"),
        ("x ! 2", 3, "unexpected character '!'"),
        ("(1, 2)", 1, "got tuple"),
        ("x.mean(keepdims=1)", 17, "True or False"),
        ("1 % 0", 3, "modulo by zero"),
        ("full(3, None)", 1, "'fill_value' cannot be None"),
        ("linspace(0, 'a')", 13, "must be a number"),
    ];
    for (text, want_col, want_msg) in cases {
        let (col, msg) = parse_error(text);
        assert!(msg.contains(want_msg), "{text}: {msg}");
        assert_eq!(col, want_col, "{text}: {msg}");
    }
    let e = evaluate("x +* 2", &inputs()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "expected an expression, found '*' at column 4\n  x +* 2\n     ^"
    );
}

#[test]
fn array_errors_keep_their_types() {
    let e = evaluate("x + x[:3]", &inputs()).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    let e = evaluate("x[12]", &inputs()).unwrap_err();
    assert!(
        matches!(e, Error::IndexOutOfBounds { index: 12, .. }),
        "{e}"
    );
    let e = evaluate("x[::0]", &inputs()).unwrap_err();
    assert!(matches!(e, Error::ZeroStep { .. }), "{e}");
    let e = evaluate("~x", &inputs()).unwrap_err();
    assert!(matches!(e, Error::UnsupportedDType { .. }), "{e}");
    let e = evaluate("zeros(3, dtype='float16')", &inputs()).unwrap_err();
    assert!(matches!(e, Error::UnknownDType { .. }), "{e}");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = [
        format!("{}x{}", "(".repeat(10_000), ")".repeat(10_000)),
        format!("{}x", "-".repeat(10_000)),
        format!("x{}", " + x".repeat(10_000)),
        format!("x{}", ".T".repeat(10_000)),
        format!("x{}", "**x".repeat(10_000)),
        format!("{}x", "sum(".repeat(10_000)),
    ];
    for text in deep {
        let (_, msg) = parse_error(&text);
        assert!(msg.contains("nested too deeply"), "{msg}");
    }
    check(
        &format!("{}x{}", "(".repeat(50), ")".repeat(50)),
        &input("x"),
    );
}

const VALID: [&str; 8] = [
    "x = random((100, 100), chunks=(30, 30), seed=0); (x + x.T)[::2, 50:].mean(axis=1)",
    "(x + x.T)[::2, 3:].mean(axis=1, keepdims=True)",
    "a = x * 2 - y ** 2\nwhere(a > 0, sqrt(a), -a).std(ddof=1, axis=(0, -1))",
    "u.astype('int16') // 3 % 2 + arange(0, 10, 2.5, chunks=3)[1:3]",
    "sum(clip(x, -1, 1.5)[1:-1:2, 3], split_every=2) + linspace(0, 1, 5)[-1]",
    "b & ~(x < y) | (r != 0) ^ True",
    "full((2, 3), 7, dtype='f4') * zeros(3) + ones((2, 1)) @ 2",
    "minimum(x, maximum(y, 0)).var(0) + random_normal(10, chunks=4, seed=1, loc=1.0)",
];

/// Every truncation, one-character deletion and one-character substitution of valid
/// programs gives `Ok` or `Err`, never a panic.
#[test]
fn mutated_programs_never_panic() {
    let inputs = inputs();
    let alphabet: Vec<char> = "x( )[]:,.-+*/%~&|^<>=!'\"0129eE_;\n#aTN".chars().collect();
    for text in VALID {
        let chars: Vec<char> = text.chars().collect();
        for i in 0..=chars.len() {
            let truncated: String = chars[..i].iter().collect();
            let _ = evaluate(&truncated, &inputs);
            let deleted: String = chars[..i].iter().chain(chars.iter().skip(i + 1)).collect();
            let _ = evaluate(&deleted, &inputs);
            for &c in alphabet.iter().skip(i % 3).step_by(3) {
                let replaced: String = chars[..i]
                    .iter()
                    .chain(std::iter::once(&c))
                    .chain(chars.iter().skip(i + 1))
                    .collect();
                let _ = evaluate(&replaced, &inputs);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn random_token_soup_never_panics(
        text in "[xyub() \\[\\]:,.\\-+*/%~&|^<>=!'0-9eT_;]{0,30}|(sum|mean|std|random|zeros|arange|where|astype)\\([xy0-9, =():'a-z\\-]{0,20}\\)"
    ) {
        let _ = evaluate(&text, &inputs());
    }
}

#[test]
fn huge_and_extreme_numbers_are_errors_or_lazy_arrays() {
    for text in [
        "x[-9223372036854775807:9223372036854775807:-9223372036854775807]",
        "x[::9223372036854775807, -9223372036854775807:]",
        "x.sum(axis=-9223372036854775807)",
        "zeros(10, chunks=9223372036854775807)",
        "random((9223372036854775807, 9223372036854775807), chunks=9223372036854775807)",
        "x[::-9223372036854775807 - 1]",
        "x.transpose((9223372036854775807, 0))",
        "random(10, seed=-1)",
        "1e999 * x",
        "x ** 9223372036854775807",
    ] {
        let _ = evaluate(text, &inputs());
    }
    let got: ArrayD<f64> = compute_f64(&eval("x[-9223372036854775807:]"));
    assert_close(
        &got,
        &data(&[12, 10], 1).into_dyn(),
        "huge negative start clips",
    );
}

#[test]
fn products_evaluate_like_the_api() -> TestResult {
    let (x, y, r) = (input("x"), input("y"), input("r"));
    check("x @ y.T", &x.matmul(&y.t())?);
    check("2 * x @ r + 1", &(&(&x * 2.0).matmul(&r)? + 1.0));
    check("x @ y.T @ x", &x.matmul(&y.t())?.matmul(&x)?);
    check("matmul(x, r)", &x.matmul(&r)?);
    check("dot(x, y.T)", &x.dot(&y.t())?);
    check("x.dot(r)", &x.dot(&r)?);
    check("inner(x, y)", &x.tensordot(&y, &[-1], &[-1])?);
    check(
        "tensordot(x, y, axes=2)",
        &x.tensordot(&y, &[0, 1], &[0, 1])?,
    );
    check(
        "tensordot(x, y, ((0,), (0,)))",
        &x.tensordot(&y, &[0], &[0])?,
    );
    check("tensordot(x, y, (1, 1))", &x.tensordot(&y, &[1], &[1])?);
    check("outer(r, r)", &r.outer(&r)?);
    check("vecdot(x, y)", &x.vecdot(&y, -1)?);
    check("vecdot(x, y, axis=0)", &x.vecdot(&y, 0)?);
    check("einsum('ij,kj->ik', x, y)", &x.matmul(&y.t())?);
    let msg = evaluate("tensordot(x, y, axes='no')", &inputs())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("pair of axis lists"), "{msg}");
    Ok(())
}

#[test]
fn scans_evaluate_like_the_api() -> TestResult {
    let (x, r) = (input("x"), input("r"));
    check("cumsum(x, axis=0)", &x.cumsum(0)?);
    check("x.cumprod(axis=-1)", &x.cumprod(-1)?);
    check("cumsum(r)", &r.cumsum(0)?);
    check("r.cumsum() @ r", &r.cumsum(0)?.matmul(&r)?);
    let msg = evaluate("cumsum(x)", &inputs()).unwrap_err().to_string();
    assert!(msg.contains("needs an axis"), "{msg}");
    Ok(())
}

#[test]
fn structure_evaluates_like_the_api() -> TestResult {
    let (x, y, r) = (input("x"), input("y"), input("r"));
    check("concatenate((x, y))", &Array::concatenate(&[&x, &y], 0)?);
    check(
        "concatenate((x, y, x), axis=-1)",
        &Array::concatenate(&[&x, &y, &x], -1)?,
    );
    check("stack((x, y), axis=1)", &Array::stack(&[&x, &y], 1)?);
    check("expand_dims(r, 0)", &r.expand_dims(0)?);
    check(
        "expand_dims(x, (0, -1))",
        &x.expand_dims(0)?.expand_dims(3)?,
    );
    check("expand_dims(r, 1).squeeze()", &r);
    check("squeeze(r[None], axis=0)", &r);
    check("x.reshape((4, -1))", &x.reshape(&[4, -1])?);
    check("reshape(x.T, (5, 2, 12))", &x.t().reshape(&[5, 2, 12])?);
    check("ravel(x) + x.ravel()", &(&x.ravel()? + &x.ravel()?));
    check("broadcast_to(r, (3, 10))", &r.broadcast_to(&[3, 10])?);
    check("flip(x, 1)", &x.flip(1)?);
    check("flip(x)", &x.flip(0)?.flip(1)?);
    check(
        "moveaxis(x[None], 0, -1)",
        &x.expand_dims(0)?.moveaxis(0, -1)?,
    );
    check(
        "pad(x, 2)",
        &x.pad(&[(2, 2), (2, 2)], PadMode::Constant(Scalar::Int(0)))?,
    );
    check(
        "pad(x, ((1, 0), (0, 3)), mode='edge')",
        &x.pad(&[(1, 0), (0, 3)], PadMode::Edge)?,
    );
    check(
        "pad(r, (2, 1), mode='reflect')",
        &r.pad(&[(2, 1)], PadMode::Reflect)?,
    );
    check(
        "pad(r, 1, constant_values=-1.5)",
        &r.pad(&[(1, 1)], PadMode::Constant(Scalar::Float(-1.5)))?,
    );
    // None (newaxis) in indexes, where it stands in the result.
    check("r[:, None]", &r.expand_dims(1)?);
    check("r[None, ::2]", &r.slice(s![NewAxis, ..;2])?);
    check("x[1, None, 2:5]", &x.slice(s![1, NewAxis, 2..5])?);
    check("x[None, :, None]", &x.expand_dims(0)?.expand_dims(2)?);
    check("r[:, None] * r[None, :]", &r.outer(&r)?);
    for (text, needle) in [
        ("concatenate(x)", "tuple of arrays"),
        ("pad(x, (1, 2, 3))", "pad_width"),
        ("pad(x, 1, mode='wrap')", "mode"),
        ("moveaxis(x, (0, 1), (1, 0))", "one source"),
    ] {
        let msg = evaluate(text, &inputs()).unwrap_err().to_string();
        assert!(msg.contains(needle), "{text}: {msg}");
    }
    Ok(())
}

/// The column and message of the parse error `evaluate_all` gives for `text`.
fn parse_error_all(text: &str) -> (usize, String) {
    match evaluate_all(text, &inputs(), &ComputeOptions::default()) {
        Err(Error::Parse {
            input,
            column,
            message,
        }) => {
            assert_eq!(input, text);
            (column, message)
        }
        Err(e) => panic!("{text}: not a parse error: {e:?}"),
        Ok(a) => panic!("{text}: evaluated to {a:?}"),
    }
}

#[test]
fn a_tuple_result_gives_several_results() -> TestResult {
    let (x, y) = (input("x"), input("y"));
    let (q, r) = x.qr()?;
    let sum0 = x.sum_axis(Axis(0))?;
    let mean1 = x.mean_axis(Axis(1))?;
    let cases: Vec<(&str, Vec<Array>)> = vec![
        ("x + 1", vec![&x + 1.0]),
        ("x.sum()", vec![x.sum()?]),
        (
            "x.sum(axis=0), x.mean(axis=1)",
            vec![sum0.clone(), mean1.clone()],
        ),
        ("(x.sum(axis=0), x.mean(axis=1))", vec![sum0.clone(), mean1]),
        ("x.sum(axis=0), y * 2, x.T,", vec![sum0, &y * 2.0, x.t()]),
        ("x,", vec![x.clone()]),
        ("t = x, y; t", vec![x.clone(), y.clone()]),
        ("qr(x)", vec![q.clone(), r.clone()]),
        ("f = qr(x); f[1], f[0]", vec![r, q]),
    ];
    let opts = ComputeOptions::default();
    for (text, want) in cases {
        let got = evaluate_all(text, &inputs(), &opts).map_err(|e| format!("{text}: {e}"))?;
        assert_eq!(got.len(), want.len(), "{text}: number of results");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g.dtype(), w.dtype(), "{text}: result {i} dtype");
            assert_eq!(g.chunks()?, w.chunks()?, "{text}: result {i} chunks");
            assert_eq!(g.compute()?, w.compute()?, "{text}: result {i}");
        }
        // One pass gives what each gives alone.
        let refs: Vec<&Array> = got.iter().collect();
        let (blocks, _) = brickwork::compute_many(&refs, &opts)?;
        for (i, (b, w)) in blocks.iter().zip(&want).enumerate() {
            assert_eq!(b, &w.compute()?, "{text}: result {i} in one pass");
        }
    }
    Ok(())
}

#[test]
fn several_results_errors_name_the_item() {
    // evaluate keeps its one result, and says where the others went.
    for (text, want_col) in [("x, y", 1), ("(x, y)", 1), ("qr(x)", 3)] {
        let (col, msg) = parse_error(text);
        assert!(
            msg.contains("tuple of arrays; take one item")
                && msg.contains("each of its 2 items")
                && msg.contains("evaluate_all")
                && msg.contains("--output once per result"),
            "{text}: {msg}"
        );
        assert_eq!(col, want_col, "{text}: {msg}");
    }
    let cases = [
        (
            "x, 1",
            4,
            "item 1 of the result (a tuple of 2, counting from 0) is an int, not an array; \
             every item of a result tuple must be an array",
        ),
        ("x, y, 2.5", 7, "item 2 of the result (a tuple of 3"),
        ("x, None", 4, "is None, not an array"),
        ("(qr(x), y)", 4, "item 0 of the result (a tuple of 2"),
        ("(qr(x), y)", 4, "is a tuple, not an array"),
        ("(qr(x), y)", 4, "flattened one level only"),
        ("t = (x, 'f4'); t", 16, "item 1 of the result (a tuple of 2"),
        ("t = (x, 'f4'); t", 16, "is a str"),
        ("()", 1, "the result is an empty tuple"),
        ("x,,", 3, "expected an expression, found ','"),
        (
            "x, y z",
            6,
            "expected an operator or the end of the statement",
        ),
        ("1 + 1, x; x", 1, "only the last statement"),
    ];
    for (text, want_col, want_msg) in cases {
        let (col, msg) = parse_error_all(text);
        assert!(msg.contains(want_msg), "{text}: {msg}");
        assert_eq!(col, want_col, "{text}: {msg}");
    }
    // A plain result that is not an array keeps evaluate's error.
    let (_, msg) = parse_error_all("'f4'");
    assert!(
        msg.contains("expected an array or a number, got str"),
        "{msg}"
    );
}
