//! The one table of builtins: every function and method a program can call, with its
//! signature (parameter names, defaults, which are keyword-only), a line of documentation,
//! and what it does ([`Op`]).
//!
//! The table is the single source of truth: the binder takes parameters and defaults from
//! the signatures, `brickwork eval --help` is generated from it ([`crate::parse::help`]), and
//! [`crate::parse::functions`] gives it to other front ends (the Python package's array
//! namespace). A signature is written as Python writes one: `a, axis=None, *,
//! keepdims=False`; `*` starts the keyword-only parameters, `*name` collects the remaining
//! positional arguments as a tuple, and a default is a literal (`None`, `True`, `False`, a
//! number or a string). Names with a dot (`linalg.norm`) live in a namespace; a program may
//! also prefix any name with `np.` or `numpy.`.

use crate::expr::{BinaryOp, ReduceOp, ScanOp, UnaryOp};
use crate::kernel::fft::Transform;

/// What a builtin does.
#[derive(Clone, Copy)]
pub(super) enum Op {
    Reduce(ReduceOp),
    NanReduce(ReduceOp),
    ArgMin,
    ArgMax,
    Any,
    All,
    Unary(UnaryOp),
    Binary(BinaryOp),
    Where,
    Clip,
    Round,
    NanToNum,
    Astype,
    Transpose,
    Rechunk,
    Random,
    RandomNormal,
    Uniform,
    Exponential,
    Poisson,
    Binomial,
    Integers,
    Fill(i64),
    Full,
    Arange,
    Linspace,
    Scan(ScanOp),
    Matmul,
    Dot,
    Inner,
    Tensordot,
    Outer,
    Vecdot,
    Einsum,
    Concatenate,
    Stack,
    ExpandDims,
    Squeeze,
    Reshape,
    Ravel,
    Extract,
    Compress,
    Vindex,
    BroadcastTo,
    Flip,
    Moveaxis,
    Pad,
    Take,
    Filter(Filter),
    Gradient,
    Diff,
    Histogram,
    Bincount,
    Quantile,
    Median,
    Qr,
    Svd,
    Svdvals,
    Lstsq,
    Solve,
    Inv,
    Det,
    Slogdet,
    Cholesky,
    Eigh,
    Eigvalsh,
    Lu,
    MatrixPower,
    MatrixRank,
    Pinv,
    Cross,
    Fft(FftOp),
    Api(Api),
}

/// The `fft.` functions, run by `builtins::fft`.
#[derive(Clone, Copy)]
pub(super) enum FftOp {
    /// One transform along one axis (`fft`, `ifft`, `rfft`, `irfft`, `hfft`, `ihfft`).
    One(Transform),
    /// `fftn`, `ifftn`, `rfftn`, `irfftn` (`kind`: `Fft`, `Ifft`, `Rfft`, `Irfft`); `two`
    /// for the `*2` forms (axes default to the last two).
    Many { kind: Transform, two: bool },
    /// `fftfreq` / `rfftfreq`.
    Freq { real: bool },
    /// `fftshift` / `ifftshift`.
    Shift { inverse: bool },
}

/// The functions of the array API standard and NumPy's everyday extras, run by
/// `builtins::api`.
#[derive(Clone, Copy)]
pub(super) enum Api {
    Logical(BinaryOp),
    LogicalNot,
    Square,
    Reciprocal,
    Positive,
    IsClose,
    AllClose,
    Eye,
    Tri,
    Tril,
    Triu,
    Diag,
    Diagonal,
    Trace,
    ZerosLike,
    OnesLike,
    FullLike,
    Asarray,
    Meshgrid,
    Roll,
    Tile,
    Repeat,
    Hstack,
    Vstack,
    Dstack,
    ColumnStack,
    Swapaxes,
    PermuteDims,
    MatrixTranspose,
    Unstack,
    Concat,
    Atleast(usize),
    Percentile,
    NanQuantile,
    NanPercentile,
    NanMedian,
    Cov,
    Corrcoef,
    Average,
    Ptp,
    CountNonzero,
    NanScan(ScanOp),
    NanArgMin,
    NanArgMax,
    CumulativeSum,
    CumulativeProd,
    Argwhere,
    Nonzero,
    Flatnonzero,
    Searchsorted,
    Digitize,
    Isin,
    Unique,
    UniqueValues,
    UniqueCounts,
    UniqueInverse,
    UniqueAll,
    Sort,
    Argsort,
    TakeAlongAxis,
    Norm,
    VectorNorm,
    MatrixNorm,
    ResultType,
    CanCast,
    Finfo,
    Iinfo,
}

/// The sliding-window filters.
#[derive(Clone, Copy)]
pub(super) enum Filter {
    Uniform,
    Minimum,
    Maximum,
}

/// A function: its name, signature, whether it is also a method of arrays, what it does,
/// and a line of documentation.
pub(super) struct Builtin {
    pub(super) name: &'static str,
    pub(super) signature: &'static str,
    pub(super) method: bool,
    pub(super) op: Op,
    pub(super) doc: &'static str,
}

/// A titled group of builtins (the sections of `eval --help`).
pub(super) struct Section {
    pub(super) title: &'static str,
    pub(super) builtins: &'static [Builtin],
}

/// A function (not a method).
const fn f(name: &'static str, signature: &'static str, op: Op, doc: &'static str) -> Builtin {
    Builtin {
        name,
        signature,
        method: false,
        op,
        doc,
    }
}

/// A function that is also a method of arrays (its first parameter is the receiver).
const fn m(name: &'static str, signature: &'static str, op: Op, doc: &'static str) -> Builtin {
    Builtin {
        name,
        signature,
        method: true,
        op,
        doc,
    }
}

const fn unary(name: &'static str, op: UnaryOp, doc: &'static str) -> Builtin {
    f(name, "x", Op::Unary(op), doc)
}

const fn binary(name: &'static str, op: BinaryOp, doc: &'static str) -> Builtin {
    f(name, "x1, x2", Op::Binary(op), doc)
}

const fn api(name: &'static str, signature: &'static str, op: Api, doc: &'static str) -> Builtin {
    f(name, signature, Op::Api(op), doc)
}

const REDUCE: &str = "a, axis=None, *, keepdims=False, split_every=None";
/// Reductions that take NumPy's `dtype` (the accumulator's and the result's).
const REDUCE_DTYPE: &str = "a, axis=None, dtype=None, *, keepdims=False, split_every=None";
const REDUCE_DDOF: &str =
    "a, axis=None, *, ddof=0, correction=None, keepdims=False, split_every=None";
const LOGICAL: &str = "a, axis=None, *, keepdims=False";
const SHAPED: &str = "shape, dtype='float64', *, chunks=None";
const LIKE: &str = "x, *, dtype=None";
const FILTER: &str = "input, size, mode='reflect', cval=0.0";
const QUANTILE: &str = "a, q, axis=None, *, keepdims=False";

const REDUCTIONS: &[Builtin] = &[
    m(
        "sum",
        REDUCE_DTYPE,
        Op::Reduce(ReduceOp::Sum),
        "sum of the elements over the axes (all by default)",
    ),
    m(
        "prod",
        REDUCE_DTYPE,
        Op::Reduce(ReduceOp::Prod),
        "product of the elements",
    ),
    m(
        "min",
        REDUCE,
        Op::Reduce(ReduceOp::Min),
        "minimum (NaN propagates)",
    ),
    m(
        "max",
        REDUCE,
        Op::Reduce(ReduceOp::Max),
        "maximum (NaN propagates)",
    ),
    m(
        "mean",
        REDUCE_DTYPE,
        Op::Reduce(ReduceOp::Mean),
        "arithmetic mean",
    ),
    m(
        "var",
        REDUCE_DDOF,
        Op::Reduce(ReduceOp::Var),
        "variance; ddof (or the array API's correction) is the delta degrees of freedom",
    ),
    m(
        "std",
        REDUCE_DDOF,
        Op::Reduce(ReduceOp::Std),
        "standard deviation; ddof as var",
    ),
    m(
        "argmin",
        LOGICAL,
        Op::ArgMin,
        "index of the minimum along an axis (of the flattened array without one)",
    ),
    m("argmax", LOGICAL, Op::ArgMax, "index of the maximum"),
    m("any", LOGICAL, Op::Any, "whether any element is true"),
    m("all", LOGICAL, Op::All, "whether every element is true"),
    f(
        "nansum",
        REDUCE,
        Op::NanReduce(ReduceOp::Sum),
        "sum ignoring NaN",
    ),
    f(
        "nanprod",
        REDUCE,
        Op::NanReduce(ReduceOp::Prod),
        "product ignoring NaN",
    ),
    f(
        "nanmin",
        REDUCE,
        Op::NanReduce(ReduceOp::Min),
        "minimum ignoring NaN",
    ),
    f(
        "nanmax",
        REDUCE,
        Op::NanReduce(ReduceOp::Max),
        "maximum ignoring NaN",
    ),
    f(
        "nanmean",
        REDUCE,
        Op::NanReduce(ReduceOp::Mean),
        "mean ignoring NaN",
    ),
    f(
        "nanvar",
        REDUCE_DDOF,
        Op::NanReduce(ReduceOp::Var),
        "variance ignoring NaN",
    ),
    f(
        "nanstd",
        REDUCE_DDOF,
        Op::NanReduce(ReduceOp::Std),
        "standard deviation ignoring NaN",
    ),
    api(
        "nanargmin",
        "a, axis=None, *, keepdims=False",
        Api::NanArgMin,
        "argmin ignoring NaN (an all-NaN lane gives 0; NumPy raises)",
    ),
    api(
        "nanargmax",
        "a, axis=None, *, keepdims=False",
        Api::NanArgMax,
        "argmax ignoring NaN (an all-NaN lane gives 0; NumPy raises)",
    ),
    api(
        "ptp",
        "a, axis=None, *, keepdims=False",
        Api::Ptp,
        "peak to peak: max - min",
    ),
    api(
        "count_nonzero",
        "a, axis=None, *, keepdims=False",
        Api::CountNonzero,
        "number of non-zero elements (int64)",
    ),
    api(
        "average",
        "a, axis=None, weights=None, *, keepdims=False",
        Api::Average,
        "weighted mean; 1-d weights lie along axis",
    ),
    m(
        "cumsum",
        "a, axis=None",
        Op::Scan(ScanOp::Cumsum),
        "cumulative sum along an axis",
    ),
    m(
        "cumprod",
        "a, axis=None",
        Op::Scan(ScanOp::Cumprod),
        "cumulative product along an axis",
    ),
    api(
        "nancumsum",
        "a, axis=None",
        Api::NanScan(ScanOp::Cumsum),
        "cumulative sum, NaN counting as 0",
    ),
    api(
        "nancumprod",
        "a, axis=None",
        Api::NanScan(ScanOp::Cumprod),
        "cumulative product, NaN counting as 1",
    ),
    api(
        "cumulative_sum",
        "x, *, axis=None, include_initial=False",
        Api::CumulativeSum,
        "the array API's cumsum; include_initial starts with 0",
    ),
    api(
        "cumulative_prod",
        "x, *, axis=None, include_initial=False",
        Api::CumulativeProd,
        "the array API's cumprod; include_initial starts with 1",
    ),
    f(
        "diff",
        "a, n=1, axis=-1",
        Op::Diff,
        "n-th discrete difference along an axis",
    ),
];

const STATISTICS: &[Builtin] = &[
    f(
        "quantile",
        QUANTILE,
        Op::Quantile,
        "q-th quantiles (linear) along an axis; q a number or a list (a leading axis)",
    ),
    api(
        "percentile",
        QUANTILE,
        Api::Percentile,
        "quantile with q in percent",
    ),
    f(
        "median",
        "a, axis=None, *, keepdims=False",
        Op::Median,
        "median along an axis",
    ),
    api(
        "nanquantile",
        QUANTILE,
        Api::NanQuantile,
        "quantile ignoring NaN",
    ),
    api(
        "nanpercentile",
        QUANTILE,
        Api::NanPercentile,
        "percentile ignoring NaN",
    ),
    api(
        "nanmedian",
        "a, axis=None, *, keepdims=False",
        Api::NanMedian,
        "median ignoring NaN",
    ),
    api(
        "cov",
        "m, y=None, rowvar=True, bias=False, ddof=None",
        Api::Cov,
        "covariance matrix of the rows (variables) of m, by a blocked product",
    ),
    api(
        "corrcoef",
        "x, y=None, rowvar=True",
        Api::Corrcoef,
        "Pearson correlation coefficients",
    ),
    f(
        "histogram",
        "a, bins=10, range=None, weights=None, density=False",
        Op::Histogram,
        "(counts, edges), indexed as histogram(a)[0]; bins a count or increasing edges",
    ),
    f(
        "bincount",
        "x, weights=None, minlength=0",
        Op::Bincount,
        "occurrences of each non-negative integer",
    ),
    api(
        "digitize",
        "x, bins, right=False",
        Api::Digitize,
        "index of the bin of each element (bins computed, monotonic)",
    ),
];

const ELEMENTWISE: &[Builtin] = &[
    unary("sqrt", UnaryOp::Sqrt, "square root"),
    unary("cbrt", UnaryOp::Cbrt, "cube root"),
    unary("exp", UnaryOp::Exp, "e^x"),
    unary("exp2", UnaryOp::Exp2, "2^x"),
    unary("expm1", UnaryOp::Expm1, "e^x - 1"),
    unary("log", UnaryOp::Log, "natural logarithm"),
    unary("log1p", UnaryOp::Log1p, "ln(1 + x)"),
    unary("log2", UnaryOp::Log2, "base-2 logarithm"),
    unary("log10", UnaryOp::Log10, "base-10 logarithm"),
    unary("abs", UnaryOp::Abs, "absolute value"),
    unary("absolute", UnaryOp::Abs, "absolute value"),
    unary("negative", UnaryOp::Neg, "-x"),
    api("positive", "x", Api::Positive, "+x"),
    api("square", "x", Api::Square, "x * x"),
    api("reciprocal", "x", Api::Reciprocal, "1 / x (floats)"),
    unary("sin", UnaryOp::Sin, "sine"),
    unary("cos", UnaryOp::Cos, "cosine"),
    unary("tan", UnaryOp::Tan, "tangent"),
    unary("arcsin", UnaryOp::Arcsin, "inverse sine"),
    unary("asin", UnaryOp::Arcsin, "inverse sine (array API name)"),
    unary("arccos", UnaryOp::Arccos, "inverse cosine"),
    unary("acos", UnaryOp::Arccos, "inverse cosine (array API name)"),
    unary("arctan", UnaryOp::Arctan, "inverse tangent"),
    unary("atan", UnaryOp::Arctan, "inverse tangent (array API name)"),
    unary("sinh", UnaryOp::Sinh, "hyperbolic sine"),
    unary("cosh", UnaryOp::Cosh, "hyperbolic cosine"),
    unary("tanh", UnaryOp::Tanh, "hyperbolic tangent"),
    unary("arcsinh", UnaryOp::Arcsinh, "inverse hyperbolic sine"),
    unary(
        "asinh",
        UnaryOp::Arcsinh,
        "inverse hyperbolic sine (array API name)",
    ),
    unary("arccosh", UnaryOp::Arccosh, "inverse hyperbolic cosine"),
    unary(
        "acosh",
        UnaryOp::Arccosh,
        "inverse hyperbolic cosine (array API name)",
    ),
    unary("arctanh", UnaryOp::Arctanh, "inverse hyperbolic tangent"),
    unary(
        "atanh",
        UnaryOp::Arctanh,
        "inverse hyperbolic tangent (array API name)",
    ),
    unary("floor", UnaryOp::Floor, "round down"),
    unary("ceil", UnaryOp::Ceil, "round up"),
    unary("trunc", UnaryOp::Trunc, "round toward zero"),
    unary(
        "rint",
        UnaryOp::Rint,
        "round to the nearest integer, halves to even",
    ),
    m(
        "round",
        "a, decimals=0",
        Op::Round,
        "round to decimals, halves to even",
    ),
    f(
        "around",
        "a, decimals=0",
        Op::Round,
        "round (NumPy's old name)",
    ),
    unary("sign", UnaryOp::Sign, "-1, 0 or 1"),
    unary("signbit", UnaryOp::Signbit, "whether the sign bit is set"),
    unary("isnan", UnaryOp::IsNan, "whether NaN"),
    unary("isinf", UnaryOp::IsInf, "whether infinite"),
    unary("isfinite", UnaryOp::IsFinite, "whether finite"),
    unary(
        "real",
        UnaryOp::Real,
        "real part (real arrays unchanged; also x.real)",
    ),
    unary(
        "imag",
        UnaryOp::Imag,
        "imaginary part (zeros for real arrays; also x.imag)",
    ),
    m("conj", "x", Op::Unary(UnaryOp::Conj), "complex conjugate"),
    m(
        "conjugate",
        "x",
        Op::Unary(UnaryOp::Conj),
        "complex conjugate",
    ),
    unary(
        "angle",
        UnaryOp::Angle,
        "argument of complex numbers, in radians",
    ),
    f(
        "nan_to_num",
        "x, *, nan=0.0, posinf=None, neginf=None",
        Op::NanToNum,
        "NaN and infinities replaced by numbers",
    ),
    binary("add", BinaryOp::Add, "x1 + x2"),
    binary("subtract", BinaryOp::Sub, "x1 - x2"),
    binary("multiply", BinaryOp::Mul, "x1 * x2"),
    binary("divide", BinaryOp::Div, "x1 / x2"),
    binary("true_divide", BinaryOp::Div, "x1 / x2"),
    binary("floor_divide", BinaryOp::FloorDiv, "x1 // x2"),
    binary("remainder", BinaryOp::Rem, "x1 % x2"),
    binary("mod", BinaryOp::Rem, "x1 % x2"),
    binary("pow", BinaryOp::Pow, "x1 ** x2"),
    binary("power", BinaryOp::Pow, "x1 ** x2"),
    binary("equal", BinaryOp::Eq, "x1 == x2"),
    binary("not_equal", BinaryOp::Ne, "x1 != x2"),
    binary("less", BinaryOp::Lt, "x1 < x2"),
    binary("less_equal", BinaryOp::Le, "x1 <= x2"),
    binary("greater", BinaryOp::Gt, "x1 > x2"),
    binary("greater_equal", BinaryOp::Ge, "x1 >= x2"),
    binary("bitwise_and", BinaryOp::And, "x1 & x2"),
    binary("bitwise_or", BinaryOp::Or, "x1 | x2"),
    binary("bitwise_xor", BinaryOp::Xor, "x1 ^ x2"),
    unary("bitwise_invert", UnaryOp::Not, "~x"),
    unary("bitwise_not", UnaryOp::Not, "~x"),
    unary("invert", UnaryOp::Not, "~x"),
    binary("left_shift", BinaryOp::Shl, "x1 << x2"),
    binary("bitwise_left_shift", BinaryOp::Shl, "x1 << x2"),
    binary("right_shift", BinaryOp::Shr, "x1 >> x2"),
    binary("bitwise_right_shift", BinaryOp::Shr, "x1 >> x2"),
    api(
        "logical_and",
        "x1, x2",
        Api::Logical(BinaryOp::And),
        "truth of both",
    ),
    api(
        "logical_or",
        "x1, x2",
        Api::Logical(BinaryOp::Or),
        "truth of either",
    ),
    api(
        "logical_xor",
        "x1, x2",
        Api::Logical(BinaryOp::Xor),
        "truth of exactly one",
    ),
    api("logical_not", "x", Api::LogicalNot, "negated truth"),
    binary("arctan2", BinaryOp::Arctan2, "angle of the point (x2, x1)"),
    binary(
        "atan2",
        BinaryOp::Arctan2,
        "angle of the point (x2, x1) (array API name)",
    ),
    binary("hypot", BinaryOp::Hypot, "sqrt(x1² + x2²) without overflow"),
    binary(
        "copysign",
        BinaryOp::Copysign,
        "magnitude of x1 with the sign of x2",
    ),
    binary(
        "nextafter",
        BinaryOp::Nextafter,
        "next float after x1 towards x2",
    ),
    binary(
        "logaddexp",
        BinaryOp::Logaddexp,
        "log(exp(x1) + exp(x2)) without overflow",
    ),
    binary(
        "logaddexp2",
        BinaryOp::Logaddexp2,
        "log2(2^x1 + 2^x2) without overflow",
    ),
    binary(
        "minimum",
        BinaryOp::Minimum,
        "elementwise minimum (NaN propagates)",
    ),
    binary(
        "maximum",
        BinaryOp::Maximum,
        "elementwise maximum (NaN propagates)",
    ),
    f(
        "where",
        "condition, x, y",
        Op::Where,
        "x where condition, else y",
    ),
    m(
        "clip",
        "a, a_min=None, a_max=None, *, min=None, max=None",
        Op::Clip,
        "values limited to [a_min, a_max]",
    ),
    api(
        "isclose",
        "a, b, rtol=1e-05, atol=1e-08, equal_nan=False",
        Api::IsClose,
        "whether |a - b| <= atol + rtol |b|",
    ),
    api(
        "allclose",
        "a, b, rtol=1e-05, atol=1e-08, equal_nan=False",
        Api::AllClose,
        "whether isclose everywhere (a 0-d bool)",
    ),
    api(
        "isin",
        "element, test_elements, *, invert=False",
        Api::Isin,
        "whether each element is among test_elements (computed, kept in memory)",
    ),
];

const DATA_TYPES: &[Builtin] = &[
    m(
        "astype",
        "x, dtype",
        Op::Astype,
        "converted to dtype, e.g. \"float32\"",
    ),
    api(
        "result_type",
        "*arrays_and_dtypes",
        Api::ResultType,
        "the dtype NumPy 2 promotion gives (a string)",
    ),
    api(
        "can_cast",
        "from_, to, casting='safe'",
        Api::CanCast,
        "whether from_ casts to to safely",
    ),
    api(
        "finfo",
        "type",
        Api::Finfo,
        "float limits: .bits .eps .max .min .smallest_normal .tiny .resolution .dtype",
    ),
    api(
        "iinfo",
        "type",
        Api::Iinfo,
        "integer limits: .bits .max .min .dtype",
    ),
];

const CREATION: &[Builtin] = &[
    f(
        "zeros",
        SHAPED,
        Op::Fill(0),
        "an array of zeros; chunks automatic (128 MiB) when not given",
    ),
    f("ones", SHAPED, Op::Fill(1), "an array of ones"),
    f("empty", SHAPED, Op::Fill(0), "an array (of zeros)"),
    f(
        "full",
        "shape, fill_value, dtype=None, *, chunks=None",
        Op::Full,
        "an array of fill_value",
    ),
    api(
        "zeros_like",
        LIKE,
        Api::ZerosLike,
        "zeros of x's shape, dtype and chunks",
    ),
    api(
        "ones_like",
        LIKE,
        Api::OnesLike,
        "ones of x's shape, dtype and chunks",
    ),
    api(
        "empty_like",
        LIKE,
        Api::ZerosLike,
        "an array like x (of zeros)",
    ),
    api(
        "full_like",
        "x, fill_value, *, dtype=None",
        Api::FullLike,
        "fill_value in x's shape and chunks",
    ),
    f(
        "arange",
        "start, stop=None, step=None, *, chunks=None",
        Op::Arange,
        "evenly spaced values in [start, stop)",
    ),
    f(
        "linspace",
        "start, stop, num=50, endpoint=True, *, chunks=None",
        Op::Linspace,
        "num evenly spaced values from start to stop",
    ),
    api(
        "eye",
        "N, M=None, k=0, dtype='float64', *, chunks=None",
        Api::Eye,
        "ones on the k-th diagonal",
    ),
    api(
        "identity",
        "N, dtype='float64', *, chunks=None",
        Api::Eye,
        "the N x N identity",
    ),
    api(
        "tri",
        "N, M=None, k=0, dtype='float64', *, chunks=None",
        Api::Tri,
        "ones at and below the k-th diagonal",
    ),
    api(
        "tril",
        "m, k=0",
        Api::Tril,
        "lower triangle (of the last two axes)",
    ),
    api(
        "triu",
        "m, k=0",
        Api::Triu,
        "upper triangle (of the last two axes)",
    ),
    api(
        "diag",
        "v, k=0",
        Api::Diag,
        "the k-th diagonal of a 2-d array, or a 2-d array with v on it",
    ),
    api(
        "asarray",
        "obj, dtype=None, *, chunks=None",
        Api::Asarray,
        "an array from a number or a (nested) list",
    ),
    api(
        "array",
        "object, dtype=None, *, chunks=None",
        Api::Asarray,
        "an array from a number or a (nested) list",
    ),
    api(
        "meshgrid",
        "*xi, indexing='xy'",
        Api::Meshgrid,
        "coordinate arrays (a tuple) from 1-d arrays",
    ),
    f(
        "random",
        "shape, *, chunks=None, seed=0",
        Op::Random,
        "uniform on [0, 1), counter-based: the same values for any chunking",
    ),
    f(
        "random_normal",
        "shape, *, chunks=None, seed=0, loc=0.0, scale=1.0",
        Op::RandomNormal,
        "normal samples",
    ),
    f(
        "normal",
        "shape, *, loc=0.0, scale=1.0, chunks=None, seed=0",
        Op::RandomNormal,
        "normal samples",
    ),
    f(
        "uniform",
        "shape, *, low=0.0, high=1.0, chunks=None, seed=0",
        Op::Uniform,
        "uniform on [low, high)",
    ),
    f(
        "exponential",
        "shape, *, scale=1.0, chunks=None, seed=0",
        Op::Exponential,
        "exponential samples of mean scale",
    ),
    f(
        "poisson",
        "shape, *, lam=1.0, chunks=None, seed=0",
        Op::Poisson,
        "Poisson samples (int64)",
    ),
    f(
        "binomial",
        "shape, *, n, p, chunks=None, seed=0",
        Op::Binomial,
        "binomial samples (int64)",
    ),
    f(
        "integers",
        "shape, low, high=None, *, chunks=None, seed=0",
        Op::Integers,
        "integers uniform on [low, high) (int64)",
    ),
];

const MANIPULATION: &[Builtin] = &[
    m(
        "transpose",
        "a, axes=None",
        Op::Transpose,
        "axes permuted (reversed by default); also .T",
    ),
    api("permute_dims", "x, axes", Api::PermuteDims, "axes permuted"),
    api(
        "swapaxes",
        "a, axis1, axis2",
        Api::Swapaxes,
        "two axes exchanged",
    ),
    api(
        "matrix_transpose",
        "x",
        Api::MatrixTranspose,
        "the last two axes exchanged",
    ),
    f(
        "moveaxis",
        "a, source, destination",
        Op::Moveaxis,
        "an axis moved",
    ),
    m(
        "rechunk",
        "x, chunks",
        Op::Rechunk,
        "the same values in chunks of another shape",
    ),
    m(
        "reshape",
        "a, shape",
        Op::Reshape,
        "the elements in C order under another shape (one length may be -1)",
    ),
    m("ravel", "a", Op::Ravel, "the elements as a 1-d array"),
    m(
        "squeeze",
        "a, axis=None",
        Op::Squeeze,
        "length-1 axes removed",
    ),
    f(
        "expand_dims",
        "a, axis",
        Op::ExpandDims,
        "length-1 axes inserted",
    ),
    f(
        "broadcast_to",
        "array, shape",
        Op::BroadcastTo,
        "broadcast to shape (a view)",
    ),
    api("atleast_1d", "*arys", Api::Atleast(1), "at least 1-d"),
    api("atleast_2d", "*arys", Api::Atleast(2), "at least 2-d"),
    api("atleast_3d", "*arys", Api::Atleast(3), "at least 3-d"),
    f(
        "concatenate",
        "arrays, axis=0",
        Op::Concatenate,
        "arrays joined along an axis",
    ),
    api(
        "concat",
        "arrays, /, *, axis=0",
        Api::Concat,
        "concatenate (array API name); axis=None joins the flattened arrays",
    ),
    f(
        "stack",
        "arrays, axis=0",
        Op::Stack,
        "arrays joined along a new axis",
    ),
    api(
        "hstack",
        "tup",
        Api::Hstack,
        "joined along the second axis (the first for 1-d)",
    ),
    api(
        "vstack",
        "tup",
        Api::Vstack,
        "joined along the first axis, as 2-d",
    ),
    api(
        "dstack",
        "tup",
        Api::Dstack,
        "joined along the third axis, as 3-d",
    ),
    api(
        "column_stack",
        "tup",
        Api::ColumnStack,
        "1-d arrays as columns",
    ),
    api(
        "unstack",
        "x, /, *, axis=0",
        Api::Unstack,
        "a tuple of the slices along an axis",
    ),
    f(
        "flip",
        "m, axis=None",
        Op::Flip,
        "order reversed along axes",
    ),
    api(
        "roll",
        "a, shift, axis=None",
        Api::Roll,
        "elements shifted cyclically",
    ),
    api(
        "tile",
        "A, reps",
        Api::Tile,
        "A repeated reps times (per axis)",
    ),
    api(
        "repeat",
        "a, repeats, axis=None",
        Api::Repeat,
        "each element repeated",
    ),
    f(
        "pad",
        "array, pad_width, mode='constant', *, constant_values=0",
        Op::Pad,
        "padded: mode constant, edge or reflect",
    ),
];

const INDEXING: &[Builtin] = &[
    m(
        "take",
        "a, indices, axis=None",
        Op::Take,
        "elements at indices along an axis",
    ),
    api(
        "take_along_axis",
        "arr, indices, axis",
        Api::TakeAlongAxis,
        "elements at per-lane indices (indices computed)",
    ),
    f(
        "extract",
        "condition, arr",
        Op::Extract,
        "the elements where condition holds",
    ),
    f(
        "compress",
        "condition, a, axis=None",
        Op::Compress,
        "the slices where condition holds",
    ),
    f(
        "vindex",
        "x, indices",
        Op::Vindex,
        "pointwise selection by several index arrays",
    ),
    api(
        "argwhere",
        "a",
        Api::Argwhere,
        "indices of the non-zero elements, one row each",
    ),
    api(
        "nonzero",
        "a",
        Api::Nonzero,
        "a tuple of index arrays of the non-zero elements",
    ),
    api(
        "flatnonzero",
        "a",
        Api::Flatnonzero,
        "indices of the non-zero elements of the flattened array",
    ),
    api(
        "searchsorted",
        "a, v, side='left'",
        Api::Searchsorted,
        "where v would be inserted in the sorted 1-d a (computed)",
    ),
    api(
        "unique",
        "ar",
        Api::Unique,
        "sorted distinct values (NaN once), computed now; merged on disk beyond memory",
    ),
    api(
        "unique_values",
        "x, /",
        Api::UniqueValues,
        "unique with each NaN its own value (the array API's)",
    ),
    api(
        "unique_counts",
        "x, /",
        Api::UniqueCounts,
        "(values, counts): the distinct values and how often each occurs",
    ),
    api(
        "unique_inverse",
        "x, /",
        Api::UniqueInverse,
        "(values, inverse_indices): the distinct values and each element's index among them",
    ),
    api(
        "unique_all",
        "x, /",
        Api::UniqueAll,
        "(values, indices, inverse_indices, counts): first indices and counts too",
    ),
    api(
        "sort",
        "x, /, axis=-1, *, descending=False, stable=True",
        Api::Sort,
        "each lane along an axis sorted (stable, NaN last); merged on disk beyond memory",
    ),
    api(
        "argsort",
        "x, /, axis=-1, *, descending=False, stable=True",
        Api::Argsort,
        "the int64 indices that sort each lane along an axis (stable)",
    ),
];

const PRODUCTS: &[Builtin] = &[
    f(
        "matmul",
        "x1, x2",
        Op::Matmul,
        "matrix product (also a @ b)",
    ),
    m("dot", "a, b", Op::Dot, "dot product"),
    f("inner", "a, b", Op::Inner, "sum over the last axes"),
    f("outer", "a, b", Op::Outer, "outer product of 1-d arrays"),
    f(
        "tensordot",
        "a, b, axes=2",
        Op::Tensordot,
        "sum over axes: an int N, or ([axes of a], [axes of b])",
    ),
    f(
        "vecdot",
        "x1, x2, axis=-1",
        Op::Vecdot,
        "dot product along an axis",
    ),
    f(
        "einsum",
        "subscripts, *operands",
        Op::Einsum,
        "Einstein summation of one or two operands: \"ij,jk->ik\", \"ii->i\"",
    ),
    api(
        "diagonal",
        "a, offset=0, axis1=0, axis2=1",
        Api::Diagonal,
        "a diagonal (the last axis of the result)",
    ),
    api(
        "trace",
        "a, offset=0, axis1=0, axis2=1",
        Api::Trace,
        "sum of a diagonal",
    ),
];

const LINALG: &[Builtin] = &[
    api(
        "linalg.norm",
        "x, ord=None, axis=None, keepdims=False",
        Api::Norm,
        "vector or matrix norm: ord None, 'fro', 1, 2 (vectors), -1, inf, -inf, 0, p",
    ),
    api(
        "linalg.vector_norm",
        "x, /, *, axis=None, keepdims=False, ord=2",
        Api::VectorNorm,
        "vector norm over axes",
    ),
    api(
        "linalg.matrix_norm",
        "x, /, *, keepdims=False, ord='fro'",
        Api::MatrixNorm,
        "norm of the last two axes: 'fro', 1, -1, inf, -inf",
    ),
    f(
        "qr",
        "a, mode='reduced'",
        Op::Qr,
        "(Q, R): tall-skinny out of core, stacks and complex in memory; mode 'r', 'complete'",
    ),
    f(
        "linalg.qr",
        "a, mode='reduced'",
        Op::Qr,
        "(Q, R): tall-skinny out of core, stacks and complex in memory; mode 'r', 'complete'",
    ),
    f(
        "svd",
        "a, full_matrices=False",
        Op::Svd,
        "reduced (U, S, Vh) as dask's: tall-skinny out of core; full_matrices=True in memory",
    ),
    f(
        "linalg.svd",
        "x, /, *, full_matrices=True",
        Op::Svd,
        "(U, S, Vh), full by default as the standard's (full_matrices=False: reduced, out of core)",
    ),
    f(
        "svdvals",
        "x",
        Op::Svdvals,
        "singular values, largest first (per matrix of a stack)",
    ),
    f(
        "linalg.svdvals",
        "x",
        Op::Svdvals,
        "singular values, largest first (per matrix of a stack)",
    ),
    f(
        "linalg.eigh",
        "x, /",
        Op::Eigh,
        "(eigenvalues, eigenvectors) of symmetric/Hermitian matrices (lower triangle)",
    ),
    f("eigh", "x, /", Op::Eigh, "linalg.eigh"),
    f(
        "linalg.eigvalsh",
        "x, /",
        Op::Eigvalsh,
        "eigenvalues, ascending, of symmetric/Hermitian matrices (lower triangle)",
    ),
    f("eigvalsh", "x, /", Op::Eigvalsh, "linalg.eigvalsh"),
    f(
        "linalg.lu",
        "a",
        Op::Lu,
        "(P, L, U) with a = P L U, as SciPy's and dask's (in memory per matrix)",
    ),
    f(
        "lstsq",
        "a, b, rcond=None",
        Op::Lstsq,
        "(x, residuals, rank, s) of a tall-skinny least-squares problem",
    ),
    f(
        "linalg.lstsq",
        "a, b, rcond=None",
        Op::Lstsq,
        "(x, residuals, rank, s)",
    ),
    f(
        "linalg.solve",
        "x1, x2",
        Op::Solve,
        "x with x1 @ x = x2 (blocked LU with pivoting, out of core)",
    ),
    f("solve", "x1, x2", Op::Solve, "linalg.solve"),
    f(
        "linalg.inv",
        "x",
        Op::Inv,
        "inverse of a square matrix (blocked LU, out of core)",
    ),
    f("inv", "x", Op::Inv, "linalg.inv"),
    f(
        "linalg.det",
        "x",
        Op::Det,
        "determinant of a square matrix (blocked LU)",
    ),
    f("det", "x", Op::Det, "linalg.det"),
    f(
        "linalg.slogdet",
        "x",
        Op::Slogdet,
        "(sign, log |det|) of a square matrix (blocked LU)",
    ),
    f("slogdet", "x", Op::Slogdet, "linalg.slogdet"),
    f(
        "linalg.cholesky",
        "x, /, *, upper=False",
        Op::Cholesky,
        "lower Cholesky factor L (x = L Lᵀ; upper=True: Lᵀ), blocked, out of core",
    ),
    f(
        "cholesky",
        "x, /, *, upper=False",
        Op::Cholesky,
        "linalg.cholesky",
    ),
    f("linalg.matmul", "x1, x2", Op::Matmul, "matrix product"),
    f("linalg.outer", "a, b", Op::Outer, "outer product"),
    f(
        "linalg.matrix_power",
        "x, n, /",
        Op::MatrixPower,
        "x multiplied by itself n times (n < 0: of the blocked inverse; 0: the identity)",
    ),
    f(
        "linalg.matrix_rank",
        "x, /, *, rtol=None",
        Op::MatrixRank,
        "the number of singular values above rtol times the largest",
    ),
    f(
        "linalg.pinv",
        "x, /, *, rtol=None",
        Op::Pinv,
        "Moore-Penrose pseudo-inverse from the SVD",
    ),
    f(
        "linalg.cross",
        "x1, x2, /, *, axis=-1",
        Op::Cross,
        "cross product of 3-vectors along axis (broadcast)",
    ),
    f(
        "linalg.tensordot",
        "a, b, axes=2",
        Op::Tensordot,
        "tensordot",
    ),
    f("linalg.vecdot", "x1, x2, axis=-1", Op::Vecdot, "vecdot"),
    api(
        "linalg.diagonal",
        "x, /, *, offset=0",
        Api::Diagonal,
        "diagonal of the last two axes",
    ),
    api(
        "linalg.trace",
        "x, /, *, offset=0",
        Api::Trace,
        "trace of the last two axes",
    ),
    api(
        "linalg.matrix_transpose",
        "x",
        Api::MatrixTranspose,
        "the last two axes exchanged",
    ),
];

const STENCILS: &[Builtin] = &[
    f(
        "uniform_filter",
        FILTER,
        Op::Filter(Filter::Uniform),
        "scipy.ndimage's moving mean; mode reflect, constant, nearest, mirror or wrap",
    ),
    f(
        "minimum_filter",
        FILTER,
        Op::Filter(Filter::Minimum),
        "moving minimum",
    ),
    f(
        "maximum_filter",
        FILTER,
        Op::Filter(Filter::Maximum),
        "moving maximum",
    ),
    f(
        "gradient",
        "f, *, axis=None",
        Op::Gradient,
        "second-order central differences along an axis",
    ),
];

/// How a parameter may be given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// By position or by keyword.
    PositionalOrKeyword,
    /// By keyword only (after `*` in the signature).
    KeywordOnly,
    /// `*name`: the remaining positional arguments, as a tuple.
    VarPositional,
}

/// A parameter of a function of the expression language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// Its name (the keyword).
    pub name: &'static str,
    /// Its default as a Python literal (`None`, `False`, `0`, `'float64'`); `None` when
    /// the parameter is required (or `*name`).
    pub default: Option<&'static str>,
    /// How it may be given.
    pub kind: ParamKind,
}

/// A function of the expression language, as the one table describes it.
#[derive(Clone, Debug)]
pub struct Function {
    /// Its name; a dotted name (`linalg.norm`) lives in that namespace.
    pub name: &'static str,
    /// The parameters, in order.
    pub params: Vec<Param>,
    /// The signature as Python writes it, e.g. `a, axis=None, *, keepdims=False`.
    pub signature: &'static str,
    /// Whether it is also a method of arrays (`x.sum()`), the array being the first
    /// parameter.
    pub method: bool,
    /// One line saying what it gives.
    pub doc: &'static str,
    /// The section of `eval --help` it is listed in.
    pub section: &'static str,
}

impl Builtin {
    /// The parameters of the signature.
    pub(super) fn params(&self) -> Vec<Param> {
        let mut kind = ParamKind::PositionalOrKeyword;
        let mut params = Vec::new();
        for part in self.signature.split(", ").filter(|p| !p.is_empty()) {
            match part {
                "/" => {}
                "*" => kind = ParamKind::KeywordOnly,
                _ if part.starts_with('*') => {
                    params.push(Param {
                        name: &part[1..],
                        default: None,
                        kind: ParamKind::VarPositional,
                    });
                    kind = ParamKind::KeywordOnly;
                }
                _ => {
                    let (name, default) = match part.split_once('=') {
                        Some((n, d)) => (n, Some(d)),
                        None => (part, None),
                    };
                    params.push(Param {
                        name,
                        default,
                        kind,
                    });
                }
            }
        }
        params
    }
}

/// Every function of the language, by section.
pub(in crate::parse) fn functions() -> Vec<Function> {
    SECTIONS
        .iter()
        .flat_map(|s| {
            s.builtins.iter().map(|b| Function {
                name: b.name,
                params: b.params(),
                signature: b.signature,
                method: b.method,
                doc: b.doc,
                section: s.title,
            })
        })
        .collect()
}

/// Every builtin, by section, in the order `eval --help` lists them.
const ONE_FFT: &str = "a, n=None, axis=-1, norm=None";
const MANY_FFT: &str = "a, s=None, axes=None, norm=None";
/// `axes=None` stands for the last two axes, (-2, -1).
const TWO_FFT: &str = "a, s=None, axes=None, norm=None";

const FFT: &[Builtin] = &[
    f(
        "fft.fft",
        ONE_FFT,
        Op::Fft(FftOp::One(Transform::Fft)),
        "discrete Fourier transform along an axis (chunked axes rechunked within the limit)",
    ),
    f(
        "fft.ifft",
        ONE_FFT,
        Op::Fft(FftOp::One(Transform::Ifft)),
        "inverse discrete Fourier transform",
    ),
    f(
        "fft.rfft",
        ONE_FFT,
        Op::Fft(FftOp::One(Transform::Rfft)),
        "transform of real input (n/2 + 1 frequencies)",
    ),
    f(
        "fft.irfft",
        ONE_FFT,
        Op::Fft(FftOp::One(Transform::Irfft)),
        "inverse of rfft (n real values)",
    ),
    f(
        "fft.hfft",
        ONE_FFT,
        Op::Fft(FftOp::One(Transform::Hfft)),
        "transform of a Hermitian-symmetric signal (real result)",
    ),
    f(
        "fft.ihfft",
        ONE_FFT,
        Op::Fft(FftOp::One(Transform::Ihfft)),
        "inverse of hfft",
    ),
    f(
        "fft.fftn",
        MANY_FFT,
        Op::Fft(FftOp::Many {
            kind: Transform::Fft,
            two: false,
        }),
        "n-dimensional transform",
    ),
    f(
        "fft.ifftn",
        MANY_FFT,
        Op::Fft(FftOp::Many {
            kind: Transform::Ifft,
            two: false,
        }),
        "n-dimensional inverse transform",
    ),
    f(
        "fft.rfftn",
        MANY_FFT,
        Op::Fft(FftOp::Many {
            kind: Transform::Rfft,
            two: false,
        }),
        "n-dimensional transform of real input",
    ),
    f(
        "fft.irfftn",
        MANY_FFT,
        Op::Fft(FftOp::Many {
            kind: Transform::Irfft,
            two: false,
        }),
        "inverse of rfftn",
    ),
    f(
        "fft.fft2",
        TWO_FFT,
        Op::Fft(FftOp::Many {
            kind: Transform::Fft,
            two: true,
        }),
        "transform over the last two axes",
    ),
    f(
        "fft.ifft2",
        TWO_FFT,
        Op::Fft(FftOp::Many {
            kind: Transform::Ifft,
            two: true,
        }),
        "inverse transform over the last two axes",
    ),
    f(
        "fft.rfft2",
        TWO_FFT,
        Op::Fft(FftOp::Many {
            kind: Transform::Rfft,
            two: true,
        }),
        "rfftn over the last two axes",
    ),
    f(
        "fft.irfft2",
        TWO_FFT,
        Op::Fft(FftOp::Many {
            kind: Transform::Irfft,
            two: true,
        }),
        "irfftn over the last two axes",
    ),
    f(
        "fft.fftfreq",
        "n, d=1.0, *, dtype=None, device=None",
        Op::Fft(FftOp::Freq { real: false }),
        "sample frequencies of an n-point transform",
    ),
    f(
        "fft.rfftfreq",
        "n, d=1.0, *, dtype=None, device=None",
        Op::Fft(FftOp::Freq { real: true }),
        "the n/2 + 1 non-negative frequencies",
    ),
    f(
        "fft.fftshift",
        "x, axes=None",
        Op::Fft(FftOp::Shift { inverse: false }),
        "zero frequency moved to the middle",
    ),
    f(
        "fft.ifftshift",
        "x, axes=None",
        Op::Fft(FftOp::Shift { inverse: true }),
        "inverse of fftshift",
    ),
];

pub(super) const SECTIONS: &[Section] = &[
    Section {
        title: "Reductions and scans",
        builtins: REDUCTIONS,
    },
    Section {
        title: "Statistics",
        builtins: STATISTICS,
    },
    Section {
        title: "Elementwise",
        builtins: ELEMENTWISE,
    },
    Section {
        title: "Data types",
        builtins: DATA_TYPES,
    },
    Section {
        title: "Creation",
        builtins: CREATION,
    },
    Section {
        title: "Manipulation",
        builtins: MANIPULATION,
    },
    Section {
        title: "Indexing and searching",
        builtins: INDEXING,
    },
    Section {
        title: "Products",
        builtins: PRODUCTS,
    },
    Section {
        title: "Linear algebra (linalg.)",
        builtins: LINALG,
    },
    Section {
        title: "Fourier transforms (fft.)",
        builtins: FFT,
    },
    Section {
        title: "Stencils",
        builtins: STENCILS,
    },
];

/// Every builtin.
pub(super) fn builtins() -> impl Iterator<Item = &'static Builtin> {
    SECTIONS.iter().flat_map(|s| s.builtins.iter())
}

/// The builtin called `name` (`np.` and `numpy.` prefixes ignored).
pub(super) fn find(name: &str) -> Option<&'static Builtin> {
    let name = name
        .strip_prefix("np.")
        .or_else(|| name.strip_prefix("numpy."))
        .unwrap_or(name);
    builtins().find(|b| b.name == name)
}

/// Every builtin's name.
pub(in crate::parse) fn names() -> Vec<&'static str> {
    builtins().map(|b| b.name).collect()
}

/// Whether `name` is a function a program can call.
pub(in crate::parse) fn is_function(name: &str) -> bool {
    find(name).is_some()
}

/// Whether `name` is a method of arrays.
pub(in crate::parse) fn is_method(name: &str) -> bool {
    builtins().any(|b| b.name == name && b.method)
}

/// Whether `name` starts a namespace of builtins (`linalg`, `np`...).
pub(in crate::parse) fn is_namespace(name: &str) -> bool {
    matches!(name, "np" | "numpy")
        || builtins().any(|b| b.name.split_once('.').is_some_and(|(ns, _)| ns == name))
}
