//! The functions and methods a program can call, and Python-style argument binding.

use super::syntax_error;
use super::value::{Value, binary, into_array, scalar_dtype};
use crate::array::{Array, Bins, PadMode, ReduceOptions};
use crate::config::ComputeOptions;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::expr::{BinaryOp, Boundary, ReduceOp, ScanOp, UnaryOp};

/// Default chunks aim at blocks of about this many bytes (dask's `chunks="auto"`).
const AUTO_CHUNK_BYTES: u128 = 128 << 20;

/// An evaluated argument and the column of its expression.
pub(super) struct Arg {
    pub(super) value: Value,
    pub(super) col: usize,
}

/// What a builtin does.
#[derive(Clone, Copy)]
enum Op {
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
}

/// The sliding-window filters.
#[derive(Clone, Copy)]
enum Filter {
    Uniform,
    Minimum,
    Maximum,
}

/// A function: its parameters (the first `positional` may be given by position, the
/// first `required` must be given), whether it is also a method of arrays.
struct Builtin {
    name: &'static str,
    params: &'static [&'static str],
    required: usize,
    positional: usize,
    method: bool,
    op: Op,
}

const REDUCE: &[&str] = &["a", "axis", "keepdims", "split_every"];
const REDUCE_DDOF: &[&str] = &["a", "axis", "ddof", "keepdims", "split_every"];
const SHAPED: &[&str] = &["shape", "dtype", "chunks"];
const LOGICAL: &[&str] = &["a", "axis", "keepdims"];
const FILTER: &[&str] = &["input", "size", "mode", "cval"];

const fn builtin(
    name: &'static str,
    params: &'static [&'static str],
    (required, positional): (usize, usize),
    method: bool,
    op: Op,
) -> Builtin {
    Builtin {
        name,
        params,
        required,
        positional,
        method,
        op,
    }
}

const BUILTINS: &[Builtin] = &[
    builtin("sum", REDUCE, (1, 2), true, Op::Reduce(ReduceOp::Sum)),
    builtin("prod", REDUCE, (1, 2), true, Op::Reduce(ReduceOp::Prod)),
    builtin("min", REDUCE, (1, 2), true, Op::Reduce(ReduceOp::Min)),
    builtin("max", REDUCE, (1, 2), true, Op::Reduce(ReduceOp::Max)),
    builtin("mean", REDUCE, (1, 2), true, Op::Reduce(ReduceOp::Mean)),
    builtin("var", REDUCE_DDOF, (1, 2), true, Op::Reduce(ReduceOp::Var)),
    builtin("std", REDUCE_DDOF, (1, 2), true, Op::Reduce(ReduceOp::Std)),
    builtin("argmin", LOGICAL, (1, 2), true, Op::ArgMin),
    builtin("argmax", LOGICAL, (1, 2), true, Op::ArgMax),
    builtin("any", LOGICAL, (1, 2), true, Op::Any),
    builtin("all", LOGICAL, (1, 2), true, Op::All),
    builtin(
        "nansum",
        REDUCE,
        (1, 2),
        false,
        Op::NanReduce(ReduceOp::Sum),
    ),
    builtin(
        "nanprod",
        REDUCE,
        (1, 2),
        false,
        Op::NanReduce(ReduceOp::Prod),
    ),
    builtin(
        "nanmin",
        REDUCE,
        (1, 2),
        false,
        Op::NanReduce(ReduceOp::Min),
    ),
    builtin(
        "nanmax",
        REDUCE,
        (1, 2),
        false,
        Op::NanReduce(ReduceOp::Max),
    ),
    builtin(
        "nanmean",
        REDUCE,
        (1, 2),
        false,
        Op::NanReduce(ReduceOp::Mean),
    ),
    builtin(
        "nanvar",
        REDUCE_DDOF,
        (1, 2),
        false,
        Op::NanReduce(ReduceOp::Var),
    ),
    builtin(
        "nanstd",
        REDUCE_DDOF,
        (1, 2),
        false,
        Op::NanReduce(ReduceOp::Std),
    ),
    builtin("sqrt", &["x"], (1, 1), false, Op::Unary(UnaryOp::Sqrt)),
    builtin("exp", &["x"], (1, 1), false, Op::Unary(UnaryOp::Exp)),
    builtin("log", &["x"], (1, 1), false, Op::Unary(UnaryOp::Log)),
    builtin("abs", &["x"], (1, 1), false, Op::Unary(UnaryOp::Abs)),
    builtin("sin", &["x"], (1, 1), false, Op::Unary(UnaryOp::Sin)),
    builtin("cos", &["x"], (1, 1), false, Op::Unary(UnaryOp::Cos)),
    builtin("tan", &["x"], (1, 1), false, Op::Unary(UnaryOp::Tan)),
    builtin("arcsin", &["x"], (1, 1), false, Op::Unary(UnaryOp::Arcsin)),
    builtin("arccos", &["x"], (1, 1), false, Op::Unary(UnaryOp::Arccos)),
    builtin("arctan", &["x"], (1, 1), false, Op::Unary(UnaryOp::Arctan)),
    builtin("sinh", &["x"], (1, 1), false, Op::Unary(UnaryOp::Sinh)),
    builtin("cosh", &["x"], (1, 1), false, Op::Unary(UnaryOp::Cosh)),
    builtin("tanh", &["x"], (1, 1), false, Op::Unary(UnaryOp::Tanh)),
    builtin("log10", &["x"], (1, 1), false, Op::Unary(UnaryOp::Log10)),
    builtin("log2", &["x"], (1, 1), false, Op::Unary(UnaryOp::Log2)),
    builtin("log1p", &["x"], (1, 1), false, Op::Unary(UnaryOp::Log1p)),
    builtin("expm1", &["x"], (1, 1), false, Op::Unary(UnaryOp::Expm1)),
    builtin("floor", &["x"], (1, 1), false, Op::Unary(UnaryOp::Floor)),
    builtin("ceil", &["x"], (1, 1), false, Op::Unary(UnaryOp::Ceil)),
    builtin("trunc", &["x"], (1, 1), false, Op::Unary(UnaryOp::Trunc)),
    builtin("sign", &["x"], (1, 1), false, Op::Unary(UnaryOp::Sign)),
    builtin("isnan", &["x"], (1, 1), false, Op::Unary(UnaryOp::IsNan)),
    builtin("isinf", &["x"], (1, 1), false, Op::Unary(UnaryOp::IsInf)),
    builtin(
        "isfinite",
        &["x"],
        (1, 1),
        false,
        Op::Unary(UnaryOp::IsFinite),
    ),
    builtin("round", &["a", "decimals"], (1, 2), true, Op::Round),
    builtin(
        "nan_to_num",
        &["x", "nan", "posinf", "neginf"],
        (1, 1),
        false,
        Op::NanToNum,
    ),
    builtin(
        "arctan2",
        &["x1", "x2"],
        (2, 2),
        false,
        Op::Binary(BinaryOp::Arctan2),
    ),
    builtin(
        "hypot",
        &["x1", "x2"],
        (2, 2),
        false,
        Op::Binary(BinaryOp::Hypot),
    ),
    builtin(
        "minimum",
        &["x1", "x2"],
        (2, 2),
        false,
        Op::Binary(BinaryOp::Minimum),
    ),
    builtin(
        "maximum",
        &["x1", "x2"],
        (2, 2),
        false,
        Op::Binary(BinaryOp::Maximum),
    ),
    builtin("where", &["condition", "x", "y"], (3, 3), false, Op::Where),
    builtin("clip", &["a", "a_min", "a_max"], (3, 3), true, Op::Clip),
    builtin("astype", &["x", "dtype"], (2, 2), true, Op::Astype),
    builtin("transpose", &["a", "axes"], (1, 2), true, Op::Transpose),
    builtin("rechunk", &["x", "chunks"], (2, 2), true, Op::Rechunk),
    builtin(
        "random",
        &["shape", "chunks", "seed"],
        (1, 1),
        false,
        Op::Random,
    ),
    builtin(
        "random_normal",
        &["shape", "chunks", "seed", "loc", "scale"],
        (1, 1),
        false,
        Op::RandomNormal,
    ),
    builtin(
        "normal",
        &["shape", "loc", "scale", "chunks", "seed"],
        (1, 1),
        false,
        Op::RandomNormal,
    ),
    builtin(
        "uniform",
        &["shape", "low", "high", "chunks", "seed"],
        (1, 1),
        false,
        Op::Uniform,
    ),
    builtin(
        "exponential",
        &["shape", "scale", "chunks", "seed"],
        (1, 1),
        false,
        Op::Exponential,
    ),
    builtin(
        "poisson",
        &["shape", "lam", "chunks", "seed"],
        (1, 1),
        false,
        Op::Poisson,
    ),
    builtin(
        "binomial",
        &["shape", "n", "p", "chunks", "seed"],
        (3, 1),
        false,
        Op::Binomial,
    ),
    builtin(
        "integers",
        &["shape", "low", "high", "chunks", "seed"],
        (2, 3),
        false,
        Op::Integers,
    ),
    builtin("zeros", SHAPED, (1, 2), false, Op::Fill(0)),
    builtin("ones", SHAPED, (1, 2), false, Op::Fill(1)),
    builtin(
        "full",
        &["shape", "fill_value", "dtype", "chunks"],
        (2, 3),
        false,
        Op::Full,
    ),
    builtin(
        "arange",
        &["start", "stop", "step", "chunks"],
        (1, 3),
        false,
        Op::Arange,
    ),
    builtin(
        "linspace",
        &["start", "stop", "num", "endpoint", "chunks"],
        (2, 4),
        false,
        Op::Linspace,
    ),
    builtin(
        "cumsum",
        &["a", "axis"],
        (1, 2),
        true,
        Op::Scan(ScanOp::Cumsum),
    ),
    builtin(
        "cumprod",
        &["a", "axis"],
        (1, 2),
        true,
        Op::Scan(ScanOp::Cumprod),
    ),
    builtin("matmul", &["x1", "x2"], (2, 2), false, Op::Matmul),
    builtin("dot", &["a", "b"], (2, 2), true, Op::Dot),
    builtin("inner", &["a", "b"], (2, 2), false, Op::Inner),
    builtin(
        "tensordot",
        &["a", "b", "axes"],
        (2, 3),
        false,
        Op::Tensordot,
    ),
    builtin("outer", &["a", "b"], (2, 2), false, Op::Outer),
    builtin("vecdot", &["x1", "x2", "axis"], (2, 2), false, Op::Vecdot),
    builtin(
        "einsum",
        &["subscripts", "a", "b"],
        (3, 3),
        false,
        Op::Einsum,
    ),
    builtin(
        "concatenate",
        &["arrays", "axis"],
        (1, 2),
        false,
        Op::Concatenate,
    ),
    builtin("stack", &["arrays", "axis"], (1, 2), false, Op::Stack),
    builtin("expand_dims", &["a", "axis"], (2, 2), false, Op::ExpandDims),
    builtin("squeeze", &["a", "axis"], (1, 2), true, Op::Squeeze),
    builtin("reshape", &["a", "shape"], (2, 2), true, Op::Reshape),
    builtin("ravel", &["a"], (1, 1), true, Op::Ravel),
    builtin("extract", &["condition", "arr"], (2, 2), false, Op::Extract),
    builtin("vindex", &["x", "indices"], (2, 2), false, Op::Vindex),
    builtin(
        "compress",
        &["condition", "a", "axis"],
        (2, 3),
        false,
        Op::Compress,
    ),
    builtin(
        "broadcast_to",
        &["array", "shape"],
        (2, 2),
        false,
        Op::BroadcastTo,
    ),
    builtin("flip", &["m", "axis"], (1, 2), false, Op::Flip),
    builtin(
        "moveaxis",
        &["a", "source", "destination"],
        (3, 3),
        false,
        Op::Moveaxis,
    ),
    builtin("take", &["a", "indices", "axis"], (2, 3), true, Op::Take),
    builtin(
        "pad",
        &["array", "pad_width", "mode", "constant_values"],
        (2, 3),
        false,
        Op::Pad,
    ),
    builtin(
        "uniform_filter",
        FILTER,
        (2, 4),
        false,
        Op::Filter(Filter::Uniform),
    ),
    builtin(
        "minimum_filter",
        FILTER,
        (2, 4),
        false,
        Op::Filter(Filter::Minimum),
    ),
    builtin(
        "maximum_filter",
        FILTER,
        (2, 4),
        false,
        Op::Filter(Filter::Maximum),
    ),
    builtin("gradient", &["f", "axis"], (1, 1), false, Op::Gradient),
    builtin("diff", &["a", "n", "axis"], (1, 3), false, Op::Diff),
    builtin(
        "histogram",
        &["a", "bins", "range", "weights", "density"],
        (1, 2),
        false,
        Op::Histogram,
    ),
    builtin("quantile", &["a", "q", "axis"], (2, 3), false, Op::Quantile),
    builtin("median", &["a", "axis"], (1, 2), false, Op::Median),
    builtin(
        "bincount",
        &["x", "weights", "minlength"],
        (1, 1),
        false,
        Op::Bincount,
    ),
    builtin("qr", &["a", "mode"], (1, 2), false, Op::Qr),
    builtin("svd", &["a", "full_matrices"], (1, 2), false, Op::Svd),
    builtin("svdvals", &["x"], (1, 1), false, Op::Svdvals),
    builtin("lstsq", &["a", "b", "rcond"], (2, 3), false, Op::Lstsq),
];

/// Every builtin's name.
pub(super) fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|b| b.name).collect()
}

/// Whether `name` is a function a program can call.
pub(super) fn is_function(name: &str) -> bool {
    BUILTINS.iter().any(|b| b.name == name)
}

/// Whether `name` is a method of arrays.
pub(super) fn is_method(name: &str) -> bool {
    BUILTINS.iter().any(|b| b.name == name && b.method)
}

/// A keyword argument: its name, the name's column, and its value.
pub(super) type KeywordArg = (String, usize, Arg);

/// A call `name(args, keywords)` at `col`; a method call passes its receiver first.
pub(super) fn call(
    name: &str,
    col: usize,
    receiver: Option<Arg>,
    args: Vec<Arg>,
    keywords: Vec<KeywordArg>,
    opts: &ComputeOptions,
) -> Result<Value> {
    let found = BUILTINS.iter().find(|b| b.name == name);
    let builtin = match (found, &receiver) {
        (Some(b), None) => b,
        (Some(b), Some(_)) if b.method => b,
        (Some(_), Some(_)) => {
            return Err(syntax_error(
                col,
                format!("arrays have no method '{name}'; call it as a function: {name}(x)"),
            ));
        }
        (None, _) => {
            return Err(syntax_error(
                col,
                unknown_function(name, receiver.is_some()),
            ));
        }
    };
    let args = receiver.into_iter().chain(args).collect();
    let bound = Bound::new(builtin, col, args, keywords, opts)?;
    run(builtin.op, &bound)
}

fn unknown_function(name: &str, method: bool) -> String {
    let mut known: Vec<&str> = BUILTINS
        .iter()
        .filter(|b| b.method || !method)
        .map(|b| b.name)
        .collect();
    known.sort_unstable();
    let what = if method { "method" } else { "function" };
    format!(
        "unknown {what} '{name}'; known {what}s: {}",
        known.join(", ")
    )
}

/// Arguments matched to a builtin's parameters.
struct Bound {
    name: &'static str,
    /// Column of the call.
    col: usize,
    params: &'static [&'static str],
    slots: Vec<Option<Arg>>,
    /// For what must be computed while evaluating.
    opts: ComputeOptions,
}

impl Bound {
    fn new(
        b: &'static Builtin,
        col: usize,
        args: Vec<Arg>,
        keywords: Vec<KeywordArg>,
        opts: &ComputeOptions,
    ) -> Result<Bound> {
        if let Some(extra) = args.get(b.positional) {
            return Err(syntax_error(
                extra.col,
                format!(
                    "{}() takes at most {} positional argument(s), got {}",
                    b.name,
                    b.positional,
                    args.len()
                ),
            ));
        }
        let mut slots: Vec<Option<Arg>> = b.params.iter().map(|_| None).collect();
        for (slot, arg) in slots.iter_mut().zip(args) {
            *slot = Some(arg);
        }
        for (key, key_col, arg) in keywords {
            let i = keyword_slot(b, &key, key_col)?;
            if slots[i].is_some() {
                return Err(syntax_error(
                    key_col,
                    format!("{}() got multiple values for argument '{key}'", b.name),
                ));
            }
            slots[i] = Some(arg);
        }
        if let Some(i) = (0..b.required).find(|&i| slots[i].is_none()) {
            return Err(syntax_error(
                col,
                format!("{}() missing required argument '{}'", b.name, b.params[i]),
            ));
        }
        Ok(Bound {
            name: b.name,
            col,
            params: b.params,
            slots,
            opts: opts.clone(),
        })
    }

    /// The argument for parameter `param`, if given (`None` counts as not given).
    fn get(&self, param: &str) -> Option<&Arg> {
        let i = self.params.iter().position(|p| *p == param)?;
        self.slots[i]
            .as_ref()
            .filter(|a| !matches!(a.value, Value::None))
    }

    fn bad(&self, arg: &Arg, param: &str, expected: &str) -> Error {
        syntax_error(
            arg.col,
            format!(
                "{}() argument '{param}' must be {expected}, got {}",
                self.name,
                arg.value.type_name()
            ),
        )
    }

    /// A required argument (given, by [`Bound::new`], but maybe as `None`).
    fn required(&self, param: &str) -> Result<&Arg> {
        self.get(param).ok_or_else(|| self.none_error(param))
    }

    fn none_error(&self, param: &str) -> Error {
        syntax_error(
            self.col,
            format!("{}() argument '{param}' cannot be None", self.name),
        )
    }

    fn array(&self, param: &str) -> Result<Array> {
        let arg = self.required(param)?;
        into_array(arg.value.clone(), arg.col)
    }

    fn value(&self, param: &str) -> Result<Value> {
        Ok(self.required(param)?.value.clone())
    }

    /// A number, if given.
    fn scalar(&self, param: &str) -> Result<Option<Scalar>> {
        self.get(param)
            .map(|_| self.required_scalar(param))
            .transpose()
    }

    fn required_scalar(&self, param: &str) -> Result<Scalar> {
        let arg = self.required(param)?;
        match arg.value {
            Value::Scalar(s) => Ok(s),
            _ => Err(self.bad(arg, param, "a number")),
        }
    }

    fn float(&self, param: &str, default: f64) -> Result<f64> {
        Ok(self.scalar(param)?.map_or(default, Scalar::as_f64))
    }

    fn bool(&self, param: &str, default: bool) -> Result<bool> {
        match self.get(param) {
            None => Ok(default),
            Some(Arg {
                value: Value::Scalar(Scalar::Bool(b)),
                ..
            }) => Ok(*b),
            Some(arg) => Err(self.bad(arg, param, "True or False")),
        }
    }

    fn int(&self, param: &str) -> Result<Option<i64>> {
        let Some(arg) = self.get(param) else {
            return Ok(None);
        };
        match arg.value {
            Value::Scalar(Scalar::Int(i)) => Ok(Some(i)),
            _ => Err(self.bad(arg, param, "an int")),
        }
    }

    fn count(&self, param: &str) -> Result<Option<usize>> {
        let Some(i) = self.int(param)? else {
            return Ok(None);
        };
        usize::try_from(i).map(Some).map_err(|_| {
            let arg = self.get(param).map_or(1, |a| a.col);
            syntax_error(
                arg,
                format!("{}() argument '{param}' must be >= 0, got {i}", self.name),
            )
        })
    }

    /// An int or a tuple of ints (`None` when not given).
    fn ints(&self, param: &str) -> Result<Option<Vec<i64>>> {
        let Some(arg) = self.get(param) else {
            return Ok(None);
        };
        let one = |v: &Value| match v {
            Value::Scalar(Scalar::Int(i)) => Some(*i),
            _ => None,
        };
        let ints = match &arg.value {
            Value::Tuple(items) => items.iter().map(one).collect(),
            v => one(v).map(|i| vec![i]),
        };
        ints.map(Some)
            .ok_or_else(|| self.bad(arg, param, "an int or a tuple of ints"))
    }

    /// Non-negative ints, e.g. a shape.
    fn sizes(&self, param: &str) -> Result<Option<Vec<usize>>> {
        let Some(ints) = self.ints(param)? else {
            return Ok(None);
        };
        let sizes: Option<Vec<usize>> = ints.iter().map(|&i| usize::try_from(i).ok()).collect();
        sizes.map(Some).ok_or_else(|| {
            syntax_error(
                self.get(param).map_or(self.col, |a| a.col),
                format!(
                    "{}() argument '{param}' must be non-negative, got {ints:?}",
                    self.name
                ),
            )
        })
    }

    fn shape(&self) -> Result<Vec<usize>> {
        self.sizes("shape")?.ok_or_else(|| self.none_error("shape"))
    }

    /// `chunks=`: one int for every axis, or a tuple with one per axis; automatic when not
    /// given.
    fn chunks(&self, shape: &[usize], dtype: DType) -> Result<Vec<usize>> {
        let one_for_all = matches!(
            self.get("chunks"),
            Some(Arg {
                value: Value::Scalar(_),
                ..
            })
        );
        match self.sizes("chunks")? {
            None => Ok(auto_chunks(shape, dtype.size())),
            Some(c) if one_for_all => Ok(vec![c[0]; shape.len()]),
            Some(c) => Ok(c),
        }
    }

    /// `astype`'s required dtype.
    fn required_dtype(&self) -> Result<DType> {
        self.required("dtype")?;
        self.dtype(DType::F64)
    }

    fn dtype(&self, default: DType) -> Result<DType> {
        match self.get("dtype") {
            None => Ok(default),
            Some(Arg {
                value: Value::Str(name),
                ..
            }) => DType::from_name(name).ok_or_else(|| Error::UnknownDType { name: name.clone() }),
            Some(arg) => Err(self.bad(arg, "dtype", "a dtype name such as \"float32\"")),
        }
    }

    /// `axis=`, which may be left out only for a 1-d array `x` (NumPy then works on the
    /// flattened array, which brickwork does not build; `numpy_does` says what NumPy does
    /// with it in the error).
    fn axis_of_1d(&self, x: &Array, numpy_does: &str) -> Result<isize> {
        match self.int("axis")? {
            Some(a) => Ok(a as isize),
            None if x.ndim() == 1 => Ok(0),
            None => Err(syntax_error(
                self.col,
                format!(
                    "{}() of a {}-d array needs an axis (without one NumPy {numpy_does} the flattened array)",
                    self.name,
                    x.ndim()
                ),
            )),
        }
    }

    fn axes(&self) -> Result<Option<Vec<isize>>> {
        let axes = self.ints("axis")?;
        Ok(axes.map(|a| a.into_iter().map(|i| i as isize).collect()))
    }
}

fn keyword_slot(b: &Builtin, key: &str, col: usize) -> Result<usize> {
    b.params.iter().position(|p| *p == key).ok_or_else(|| {
        syntax_error(
            col,
            format!(
                "{}() got an unexpected keyword argument '{key}' (it takes {})",
                b.name,
                b.params.join(", ")
            ),
        )
    })
}

/// Chunks of about [`AUTO_CHUNK_BYTES`]: every axis cut at the same length, the largest
/// that keeps a block under the target (small arrays are one chunk).
pub(super) fn auto_chunks(shape: &[usize], itemsize: usize) -> Vec<usize> {
    let bytes = |edge: usize| {
        shape.iter().fold(itemsize as u128, |acc, &d| {
            acc.saturating_mul(d.min(edge).max(1) as u128)
        })
    };
    let (mut lo, mut hi) = (1, shape.iter().copied().max().unwrap_or(1).max(1));
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if bytes(mid) <= AUTO_CHUNK_BYTES {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    shape.iter().map(|&d| d.min(lo).max(1)).collect()
}

fn run(op: Op, b: &Bound) -> Result<Value> {
    if let Some(tuple) = linalg(op, b)? {
        return Ok(tuple);
    }
    let array = match op {
        Op::Reduce(r) => reduce(r, b)?,
        Op::NanReduce(r) => {
            b.array("a")?
                .nan_reduce(r, b.axes()?.as_deref(), &reduce_options(b)?)?
        }
        Op::ArgMin | Op::ArgMax => {
            let x = b.array("a")?;
            let axis = b.int("axis")?.map(|a| a as isize);
            let keepdims = b.bool("keepdims", false)?;
            if matches!(op, Op::ArgMin) {
                x.argmin(axis, keepdims)?
            } else {
                x.argmax(axis, keepdims)?
            }
        }
        Op::Any => b
            .array("a")?
            .any(b.axes()?.as_deref(), b.bool("keepdims", false)?)?,
        Op::All => b
            .array("a")?
            .all(b.axes()?.as_deref(), b.bool("keepdims", false)?)?,
        Op::Unary(u) => b.array("x")?.unary(u)?,
        Op::Binary(f) => return binary(f, b.value("x1")?, b.value("x2")?, b.col),
        Op::Where => where_(b)?,
        Op::Clip => return clip(b),
        Op::Round => round(b)?,
        Op::NanToNum => nan_to_num(b)?,
        Op::Astype => b.array("x")?.astype(b.required_dtype()?)?,
        Op::Transpose => transpose(b)?,
        Op::Rechunk => {
            let x = b.array("x")?;
            x.rechunk(&b.chunks(&x.shape(), x.dtype())?)?
        }
        Op::Random => random(b)?,
        Op::RandomNormal => random_normal(b)?,
        Op::Uniform => uniform(b)?,
        Op::Exponential => exponential(b)?,
        Op::Poisson => poisson(b)?,
        Op::Binomial => binomial(b)?,
        Op::Integers => integers(b)?,
        Op::Fill(v) => fill(b, Scalar::Int(v))?,
        Op::Full => full(b)?,
        Op::Arange => arange(b)?,
        Op::Linspace => linspace(b)?,
        Op::Scan(s) => scan(s, b)?,
        Op::Matmul => b.array("x1")?.matmul(&b.array("x2")?)?,
        Op::Dot => b.array("a")?.dot(&b.array("b")?)?,
        Op::Inner => b.array("a")?.tensordot(&b.array("b")?, &[-1], &[-1])?,
        Op::Tensordot => tensordot(b)?,
        Op::Outer => b.array("a")?.outer(&b.array("b")?)?,
        Op::Vecdot => {
            let axis = b.int("axis")?.unwrap_or(-1) as isize;
            b.array("x1")?.vecdot(&b.array("x2")?, axis)?
        }
        Op::Einsum => einsum(b)?,
        Op::Concatenate => {
            let arrays = arrays(b)?;
            let refs: Vec<&Array> = arrays.iter().collect();
            Array::concatenate(&refs, b.int("axis")?.unwrap_or(0) as isize)?
        }
        Op::Stack => {
            let arrays = arrays(b)?;
            let refs: Vec<&Array> = arrays.iter().collect();
            Array::stack(&refs, b.int("axis")?.unwrap_or(0) as isize)?
        }
        Op::ExpandDims => {
            let mut x = b.array("a")?;
            let mut axes = b.axes()?.ok_or_else(|| b.none_error("axis"))?;
            // NumPy places every new axis in the result's numbering: insert in order.
            let ndim = (x.ndim() + axes.len()) as isize;
            for a in &mut axes {
                if *a < 0 {
                    *a += ndim;
                }
            }
            axes.sort_unstable();
            for a in axes {
                x = x.expand_dims(a)?;
            }
            x
        }
        Op::Squeeze => b.array("a")?.squeeze(b.axes()?.as_deref())?,
        Op::Reshape => {
            let shape: Vec<isize> = b
                .ints("shape")?
                .ok_or_else(|| b.none_error("shape"))?
                .into_iter()
                .map(|i| i as isize)
                .collect();
            b.array("a")?.reshape(&shape)?
        }
        Op::Ravel => b.array("a")?.ravel()?,
        Op::Extract => {
            let (cond, arr) = (b.array("condition")?, b.array("arr")?);
            arr.ravel()?
                .boolean_index_with(&cond.astype(DType::Bool)?.ravel()?, &b.opts)?
        }
        Op::Vindex => {
            let x = b.array("x")?;
            let arg = b.required("indices")?;
            let items = match &arg.value {
                Value::Tuple(items) if !items.is_empty() => items.clone(),
                _ => return Err(b.bad(arg, "indices", "a tuple of index arrays, e.g. (i, j)")),
            };
            let mut values: Vec<Vec<i64>> = Vec::with_capacity(items.len());
            for item in &items {
                values.push(match item {
                    Value::Array(a) if a.dtype().is_integer() && a.ndim() == 1 => {
                        let (v, _) = a.astype(DType::I64)?.compute_with(&b.opts)?;
                        v.into_typed::<i64>().iter().copied().collect()
                    }
                    Value::Tuple(ints) => ints
                        .iter()
                        .map(|v| match v {
                            Value::Scalar(Scalar::Int(i)) => Ok(*i),
                            _ => Err(b.bad(arg, "indices", "tuples of ints or 1-d integer arrays")),
                        })
                        .collect::<Result<_>>()?,
                    _ => return Err(b.bad(arg, "indices", "tuples of ints or 1-d integer arrays")),
                });
            }
            let refs: Vec<&[i64]> = values.iter().map(Vec::as_slice).collect();
            x.vindex(&refs)?
        }
        Op::Compress => {
            let (cond, a) = (b.array("condition")?.astype(DType::Bool)?, b.array("a")?);
            match b.int("axis")? {
                Some(axis) => a.compress_with(&cond, axis as isize, &b.opts)?,
                None => a.ravel()?.compress_with(&cond, 0, &b.opts)?,
            }
        }
        Op::BroadcastTo => {
            let shape = b.sizes("shape")?.ok_or_else(|| b.none_error("shape"))?;
            b.array("array")?.broadcast_to(&shape)?
        }
        Op::Flip => {
            let mut x = b.array("m")?;
            let axes = b
                .axes()?
                .unwrap_or_else(|| (0..x.ndim() as isize).collect());
            for a in axes {
                x = x.flip(a)?;
            }
            x
        }
        Op::Moveaxis => {
            let (src, dst) = (b.ints("source")?, b.ints("destination")?);
            match (src.as_deref(), dst.as_deref()) {
                (Some([s]), Some([d])) => b.array("a")?.moveaxis(*s as isize, *d as isize)?,
                _ => {
                    return Err(syntax_error(
                        b.col,
                        "moveaxis() takes one source and one destination axis (ints)",
                    ));
                }
            }
        }
        Op::Pad => pad(b)?,
        Op::Filter(kind) => filter(kind, b)?,
        Op::Gradient => {
            let x = b.array("f")?;
            let axis = b.axis_of_1d(&x, "returns one gradient per axis of")?;
            x.gradient(axis)?
        }
        Op::Histogram => histogram(b)?,
        Op::Quantile => {
            let x = b.array("a")?;
            let axis = b.axis_of_1d(&x, "takes the quantile of")?;
            let q = b.required_scalar("q")?.as_f64();
            x.quantile(q, axis)?
        }
        Op::Median => {
            let x = b.array("a")?;
            let axis = b.axis_of_1d(&x, "takes the median of")?;
            x.median(axis)?
        }
        Op::Qr | Op::Svd | Op::Svdvals | Op::Lstsq => {
            return Err(Error::internal("the linalg builtins are run by linalg()"));
        }
        Op::Bincount => {
            let weights = b.get("weights").map(|_| b.array("weights")).transpose()?;
            let minlength = b.count("minlength")?.unwrap_or(0);
            b.array("x")?.bincount(weights.as_ref(), minlength)?
        }
        Op::Diff => {
            let n = b.count("n")?.unwrap_or(1);
            let axis = b.int("axis")?.unwrap_or(-1) as isize;
            b.array("a")?.diff(n, axis)?
        }
        Op::Take => {
            let x = b.array("a")?;
            let indices = match b.get("indices").map(|a| &a.value) {
                // An integer array: its values, computed now.
                Some(Value::Array(i)) if i.dtype().is_integer() => {
                    let (v, _) = i.ravel()?.astype(DType::I64)?.compute_with(&b.opts)?;
                    v.into_typed::<i64>().iter().copied().collect()
                }
                _ => b.ints("indices")?.ok_or_else(|| b.none_error("indices"))?,
            };
            let axis = b.axis_of_1d(&x, "takes from")?;
            let taken = x.take(&indices, axis)?;
            // A scalar index drops the axis, as in NumPy.
            match b.get("indices").map(|a| &a.value) {
                Some(Value::Scalar(_)) => taken.squeeze(Some(&[axis]))?,
                _ => taken,
            }
        }
    };
    Ok(Value::Array(array))
}

/// NumPy's `linalg.qr`, `svd`, `svdvals` and `lstsq` (tall-skinny, see `Array::qr`): the
/// factorizations give tuples, which a program indexes (`qr(a)[1]`); `None` for other ops.
fn linalg(op: Op, b: &Bound) -> Result<Option<Value>> {
    let tuple =
        |arrays: Vec<Array>| Some(Value::Tuple(arrays.into_iter().map(Value::Array).collect()));
    Ok(match op {
        Op::Qr => {
            let (q, r) = b.array("a")?.qr()?;
            match b.get("mode").map(|a| &a.value) {
                None => tuple(vec![q, r]),
                Some(Value::Str(m)) if m == "reduced" => tuple(vec![q, r]),
                Some(Value::Str(m)) if m == "r" => Some(Value::Array(r)),
                Some(_) => {
                    let arg = b.required("mode")?;
                    return Err(b.bad(arg, "mode", "\"reduced\" or \"r\" (a tall-skinny QR)"));
                }
            }
        }
        Op::Svd => {
            if b.bool("full_matrices", false)? {
                let arg = b.required("full_matrices")?;
                return Err(syntax_error(
                    arg.col,
                    "svd() computes the reduced SVD of a tall-skinny array (as dask): \
                     full_matrices=True is not supported",
                ));
            }
            let (u, s, vh) = b.array("a")?.svd()?;
            tuple(vec![u, s, vh])
        }
        Op::Svdvals => Some(Value::Array(b.array("x")?.svdvals()?)),
        Op::Lstsq => {
            let rcond = b.scalar("rcond")?.map(Scalar::as_f64);
            let fit = b.array("a")?.lstsq(&b.array("b")?, rcond)?;
            tuple(vec![fit.x, fit.residuals, fit.rank, fit.s])
        }
        _ => None,
    })
}

fn reduce_options(b: &Bound) -> Result<ReduceOptions> {
    let defaults = ReduceOptions::default();
    Ok(ReduceOptions {
        keepdims: b.bool("keepdims", false)?,
        ddof: b.float("ddof", defaults.ddof)?,
        split_every: b.count("split_every")?.unwrap_or(defaults.split_every),
    })
}

fn reduce(op: ReduceOp, b: &Bound) -> Result<Array> {
    b.array("a")?
        .reduce(op, b.axes()?.as_deref(), &reduce_options(b)?)
}

fn where_(b: &Bound) -> Result<Array> {
    let (x, y) = (b.required("x")?, b.required("y")?);
    let (xa, ya) = (weak(x, &y.value)?, weak(y, &x.value)?);
    Array::where_(&b.array("condition")?, &xa, &ya)
}

/// An operand as an array; a scalar next to an array takes the array's dtype when it
/// fits (NEP 50 weak scalars), otherwise its default dtype.
fn weak(arg: &Arg, other: &Value) -> Result<Array> {
    match (&arg.value, other) {
        (Value::Scalar(s), Value::Array(o)) => {
            let dtype = DType::promote_scalar(o.dtype(), s);
            let dtype = if s.fits(dtype) {
                dtype
            } else {
                scalar_dtype(*s)
            };
            Array::full(&[], &[], *s, dtype)
        }
        (v, _) => into_array(v.clone(), arg.col),
    }
}

fn clip(b: &Bound) -> Result<Value> {
    let mut x = b.value("a")?;
    if b.get("a_min").is_some() {
        x = binary(BinaryOp::Maximum, x, b.value("a_min")?, b.col)?;
    }
    if b.get("a_max").is_some() {
        x = binary(BinaryOp::Minimum, x, b.value("a_max")?, b.col)?;
    }
    Ok(x)
}

/// `round(a, decimals=0)`.
fn round(b: &Bound) -> Result<Array> {
    let decimals = b.int("decimals")?.unwrap_or(0);
    let decimals = i32::try_from(decimals).map_err(|_| {
        let col = b.get("decimals").map_or(b.col, |a| a.col);
        syntax_error(
            col,
            format!("round() argument 'decimals' is too large: {decimals}"),
        )
    })?;
    b.array("a")?.round(decimals)
}

/// `nan_to_num(x, nan=0.0, posinf=None, neginf=None)`.
fn nan_to_num(b: &Bound) -> Result<Array> {
    let posinf = b.scalar("posinf")?.map(Scalar::as_f64);
    let neginf = b.scalar("neginf")?.map(Scalar::as_f64);
    b.array("x")?
        .nan_to_num(b.float("nan", 0.0)?, posinf, neginf)
}

fn transpose(b: &Bound) -> Result<Array> {
    let x = b.array("a")?;
    match b.sizes("axes")? {
        None => Ok(x.t()),
        Some(perm) => x.permuted_axes(&perm),
    }
}

/// `cumsum(a, axis)`, `cumprod(a, axis)`; without an axis NumPy scans the flattened array,
/// which is the same for 1-d arrays.
fn scan(op: ScanOp, b: &Bound) -> Result<Array> {
    let x = b.array("a")?;
    let axis = b.axis_of_1d(&x, "scans")?;
    match op {
        ScanOp::Cumsum => x.cumsum(axis),
        ScanOp::Cumprod => x.cumprod(axis),
    }
}

/// `tensordot(a, b, axes)`: `axes` an int N (the last N axes of `a` with the first N of
/// `b`, default 2) or a pair of axis lists (or of single axes).
fn tensordot(b: &Bound) -> Result<Array> {
    let (x, y) = (b.array("a")?, b.array("b")?);
    let (pa, pb): (Vec<isize>, Vec<isize>) = match b.get("axes").map(|a| &a.value) {
        None => pairs_last_first(&x, 2),
        Some(Value::Scalar(Scalar::Int(n))) if *n >= 0 => pairs_last_first(&x, *n as usize),
        Some(Value::Tuple(two)) if two.len() == 2 => {
            let list = |v: &Value| -> Option<Vec<isize>> {
                match v {
                    Value::Scalar(Scalar::Int(i)) => Some(vec![*i as isize]),
                    Value::Tuple(items) => items
                        .iter()
                        .map(|i| match i {
                            Value::Scalar(Scalar::Int(i)) => Some(*i as isize),
                            _ => None,
                        })
                        .collect(),
                    _ => None,
                }
            };
            match (list(&two[0]), list(&two[1])) {
                (Some(a), Some(c)) => (a, c),
                _ => return Err(bad_axes(b)),
            }
        }
        Some(_) => return Err(bad_axes(b)),
    };
    x.tensordot(&y, &pa, &pb)
}

/// The last `n` axes of `x` paired with the first `n` of the other operand.
fn pairs_last_first(x: &Array, n: usize) -> (Vec<isize>, Vec<isize>) {
    let nd = x.ndim() as isize;
    let n = n as isize;
    ((nd - n..nd).collect(), (0..n).collect())
}

fn bad_axes(b: &Bound) -> Error {
    let arg = b.get("axes").map_or(b.col, |a| a.col);
    syntax_error(
        arg,
        "tensordot() argument 'axes' must be an int or a pair of axis lists, e.g. ((1, 0), (0, 1))",
    )
}

fn einsum(b: &Bound) -> Result<Array> {
    let arg = b.required("subscripts")?;
    let Value::Str(subscripts) = &arg.value else {
        return Err(b.bad(arg, "subscripts", "a string such as \"ij,jk->ik\""));
    };
    Array::einsum(subscripts, &b.array("a")?, &b.array("b")?)
}

/// The `arrays` argument of `concatenate` and `stack`: a tuple of arrays.
fn arrays(b: &Bound) -> Result<Vec<Array>> {
    let arg = b.required("arrays")?;
    match &arg.value {
        Value::Tuple(items) if !items.is_empty() => items
            .iter()
            .map(|v| into_array(v.clone(), arg.col))
            .collect(),
        _ => Err(b.bad(arg, "arrays", "a non-empty tuple of arrays, e.g. (a, b)")),
    }
}

/// `pad(array, pad_width, mode="constant", constant_values=0)`: `pad_width` an int (every
/// side), a pair `(before, after)` for every axis, or one pair per axis.
/// scipy.ndimage's filters: `size` one int for every axis or one per axis, `mode` one of
/// scipy's names (`reflect` by default), `cval` the constant.
fn filter(kind: Filter, b: &Bound) -> Result<Array> {
    let x = b.array("input")?;
    let sizes = b.sizes("size")?.ok_or_else(|| b.none_error("size"))?;
    let size = match sizes.len() {
        1 if x.ndim() != 1 => vec![sizes[0]; x.ndim()],
        _ => sizes,
    };
    let cval = b.float("cval", 0.0)?;
    let mode = match b.get("mode").map(|a| &a.value) {
        None => Some(Boundary::Reflect),
        Some(Value::Str(m)) => Boundary::from_name(m, cval).filter(|m| *m != Boundary::None),
        Some(_) => None,
    };
    let mode = mode.ok_or_else(|| {
        let arg = b.get("mode").expect("checked above");
        b.bad(
            arg,
            "mode",
            "\"reflect\", \"constant\", \"nearest\", \"mirror\" or \"wrap\"",
        )
    })?;
    match kind {
        Filter::Uniform => x.uniform_filter(&size, mode),
        Filter::Minimum => x.minimum_filter(&size, mode),
        Filter::Maximum => x.maximum_filter(&size, mode),
    }
}

/// NumPy's `histogram`; the counts (eval has no tuples of arrays: the edges are
/// `linspace(*range, bins + 1)`, or the edges given).
fn histogram(b: &Bound) -> Result<Array> {
    let x = b.array("a")?;
    let numbers = |param: &str, arg: &Arg| -> Result<Vec<f64>> {
        match &arg.value {
            Value::Tuple(items) => items
                .iter()
                .map(|v| match v {
                    Value::Scalar(s) => Ok(s.as_f64()),
                    _ => Err(b.bad(arg, param, "numbers")),
                })
                .collect(),
            _ => Err(b.bad(arg, param, "a tuple of numbers")),
        }
    };
    let range = match b.get("range") {
        None => None,
        Some(arg) => match numbers("range", arg)?.as_slice() {
            [lo, hi] => Some((*lo, *hi)),
            _ => return Err(b.bad(arg, "range", "a (min, max) pair")),
        },
    };
    let bins = match b.get("bins") {
        None => Bins::Count { n: 10, range },
        Some(Arg {
            value: Value::Scalar(Scalar::Int(n)),
            ..
        }) if *n > 0 => Bins::Count {
            n: *n as usize,
            range,
        },
        Some(
            arg @ Arg {
                value: Value::Tuple(_),
                ..
            },
        ) => Bins::Edges(numbers("bins", arg)?),
        Some(arg) => {
            return Err(b.bad(arg, "bins", "a positive int or a tuple of increasing edges"));
        }
    };
    let weights = b.get("weights").map(|_| b.array("weights")).transpose()?;
    let (counts, _edges) = x.histogram(&bins, weights.as_ref(), b.bool("density", false)?)?;
    Ok(counts)
}

fn pad(b: &Bound) -> Result<Array> {
    let x = b.array("array")?;
    let arg = b.required("pad_width")?;
    let bad = || {
        b.bad(
            arg,
            "pad_width",
            "an int, a (before, after) pair, or one pair per axis, of non-negative ints",
        )
    };
    let count = |v: &Value| match v {
        Value::Scalar(Scalar::Int(i)) => usize::try_from(*i).ok(),
        _ => None,
    };
    let pair = |v: &Value| match v {
        Value::Tuple(two) if two.len() == 2 => Some((count(&two[0])?, count(&two[1])?)),
        Value::Tuple(one) if one.len() == 1 => count(&one[0]).map(|n| (n, n)),
        v => count(v).map(|n| (n, n)),
    };
    let widths: Vec<(usize, usize)> = match &arg.value {
        Value::Tuple(items) if items.iter().all(|i| matches!(i, Value::Tuple(_))) => {
            let pairs: Option<Vec<_>> = items.iter().map(pair).collect();
            let pairs = pairs.ok_or_else(bad)?;
            match pairs.len() {
                1 => vec![pairs[0]; x.ndim()],
                n if n == x.ndim() => pairs,
                _ => return Err(bad()),
            }
        }
        v => vec![pair(v).ok_or_else(bad)?; x.ndim()],
    };
    let mode = match b.get("mode").map(|a| &a.value) {
        None => "constant",
        Some(Value::Str(m)) => m.as_str(),
        Some(_) => {
            let arg = b.required("mode")?;
            return Err(b.bad(arg, "mode", "\"constant\", \"edge\" or \"reflect\""));
        }
    };
    let mode = match mode {
        "constant" => PadMode::Constant(b.scalar("constant_values")?.unwrap_or(Scalar::Int(0))),
        "edge" => PadMode::Edge,
        "reflect" => PadMode::Reflect,
        other => {
            return Err(syntax_error(
                b.get("mode").map_or(b.col, |a| a.col),
                format!("pad() mode must be \"constant\", \"edge\" or \"reflect\", got {other:?}"),
            ));
        }
    };
    x.pad(&widths, mode)
}

fn seed(b: &Bound) -> Result<u64> {
    Ok(b.count("seed")?.unwrap_or(0) as u64)
}

fn random(b: &Bound) -> Result<Array> {
    let shape = b.shape()?;
    Array::random(&shape, &b.chunks(&shape, DType::F64)?, seed(b)?)
}

fn random_normal(b: &Bound) -> Result<Array> {
    let shape = b.shape()?;
    let chunks = b.chunks(&shape, DType::F64)?;
    let (loc, scale) = (b.float("loc", 0.0)?, b.float("scale", 1.0)?);
    Array::random_normal(&shape, &chunks, seed(b)?, loc, scale)
}

/// The `shape`, `chunks` and `seed` of a random constructor.
fn random_args(b: &Bound) -> Result<(Vec<usize>, Vec<usize>, u64)> {
    let shape = b.shape()?;
    let chunks = b.chunks(&shape, DType::F64)?;
    Ok((shape, chunks, seed(b)?))
}

/// `uniform(shape, low=0.0, high=1.0)`.
fn uniform(b: &Bound) -> Result<Array> {
    let (shape, chunks, seed) = random_args(b)?;
    let (low, high) = (b.float("low", 0.0)?, b.float("high", 1.0)?);
    Array::uniform(&shape, &chunks, seed, low, high)
}

/// `exponential(shape, scale=1.0)`.
fn exponential(b: &Bound) -> Result<Array> {
    let (shape, chunks, seed) = random_args(b)?;
    Array::exponential(&shape, &chunks, seed, b.float("scale", 1.0)?)
}

/// `poisson(shape, lam=1.0)`.
fn poisson(b: &Bound) -> Result<Array> {
    let (shape, chunks, seed) = random_args(b)?;
    Array::poisson(&shape, &chunks, seed, b.float("lam", 1.0)?)
}

/// `binomial(shape, n, p)`.
fn binomial(b: &Bound) -> Result<Array> {
    let (shape, chunks, seed) = random_args(b)?;
    let n = b.count("n")?.ok_or_else(|| b.none_error("n"))?;
    let p = b.required_scalar("p")?.as_f64();
    Array::binomial(&shape, &chunks, seed, n as u64, p)
}

/// `integers(shape, low, high=None)`: `[low, high)`, or `[0, low)` without `high`.
fn integers(b: &Bound) -> Result<Array> {
    let (shape, chunks, seed) = random_args(b)?;
    let first = b.int("low")?.ok_or_else(|| b.none_error("low"))?;
    let (low, high) = match b.int("high")? {
        Some(high) => (first, high),
        None => (0, first),
    };
    Array::integers(&shape, &chunks, seed, low, high)
}

fn fill(b: &Bound, value: Scalar) -> Result<Array> {
    let shape = b.shape()?;
    let dtype = b.dtype(DType::F64)?;
    Array::full(&shape, &b.chunks(&shape, dtype)?, value, dtype)
}

fn full(b: &Bound) -> Result<Array> {
    let shape = b.shape()?;
    let value = b.required_scalar("fill_value")?;
    let dtype = b.dtype(scalar_dtype(value))?;
    Array::full(&shape, &b.chunks(&shape, dtype)?, value, dtype)
}

/// A 1-d chunk length: `chunks=` or automatic (the grid clips it to the length).
fn chunk_1d(b: &Bound) -> Result<usize> {
    let auto = (AUTO_CHUNK_BYTES / 8) as usize;
    Ok(b.sizes("chunks")?
        .and_then(|c| c.first().copied())
        .unwrap_or(auto))
}

fn arange(b: &Bound) -> Result<Array> {
    let first = b.required_scalar("start")?;
    let (start, stop) = match b.scalar("stop")? {
        Some(stop) => (first, stop),
        None => (Scalar::Int(0), first),
    };
    let step = b.scalar("step")?.unwrap_or(Scalar::Int(1));
    Array::arange(start, stop, step, chunk_1d(b)?)
}

fn linspace(b: &Bound) -> Result<Array> {
    let start = b.required_scalar("start")?.as_f64();
    let stop = b.required_scalar("stop")?.as_f64();
    let num = b.count("num")?.unwrap_or(50);
    Array::linspace(start, stop, num, b.bool("endpoint", true)?, chunk_1d(b)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_chunks_aim_at_128_mib() {
        assert_eq!(auto_chunks(&[100, 100], 8), vec![100, 100]);
        assert_eq!(auto_chunks(&[100_000, 100_000], 8), vec![4096, 4096]);
        assert_eq!(auto_chunks(&[10, 10_000_000], 8), vec![10, 1_677_721]);
        assert_eq!(auto_chunks(&[0, 5], 8), vec![1, 5]);
        assert_eq!(auto_chunks(&[], 8), Vec::<usize>::new());
        assert_eq!(auto_chunks(&[usize::MAX], 8), vec![1 << 24]);
    }
}
