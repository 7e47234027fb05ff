//! The operations an expression node can be.

use std::sync::Arc;

use super::ExprRef;
use super::infer::AxisIndex;
use super::map::MapSpec;
use super::reshape::ReshapeMap;
use crate::block::Block;
use crate::dtype::DType;
use crate::store::BlockRead;

/// What an expression node computes.
#[derive(Debug)]
pub enum ExprKind {
    /// An array on disk (Zarr, .npy, raw), read chunk by chunk.
    Source {
        /// The opened array.
        source: Arc<dyn BlockRead>,
    },
    /// An in-memory array (from `ndarray`), sliced into blocks without copying the whole.
    Memory {
        /// The data.
        data: Arc<Block>,
    },
    /// Values computed from the element index alone (random, constants, ranges), so any
    /// subset can be produced without producing the rest.
    Generator {
        /// Which values.
        generator: Generator,
    },
    /// An elementwise function of one array.
    Unary {
        /// The function.
        op: UnaryOp,
        /// The operand, already cast to the dtype the function computes in.
        input: ExprRef,
    },
    /// An elementwise function of two arrays, with NumPy broadcasting.
    Binary {
        /// The function.
        op: BinaryOp,
        /// Left operand, cast to the common dtype.
        lhs: ExprRef,
        /// Right operand, cast to the common dtype.
        rhs: ExprRef,
    },
    /// `where(cond, x, y)`, with broadcasting.
    Where {
        /// A bool array.
        cond: ExprRef,
        /// Taken where `cond` is true (cast to the result dtype).
        x: ExprRef,
        /// Taken where `cond` is false (cast to the result dtype).
        y: ExprRef,
    },
    /// `astype`: converts to the node's dtype.
    Cast {
        /// The operand.
        input: ExprRef,
    },
    /// Axis permutation: output axis `d` is input axis `perm[d]`.
    Transpose {
        /// The operand.
        input: ExprRef,
        /// The permutation.
        perm: Vec<usize>,
    },
    /// Basic indexing: one resolved [`AxisIndex`] per input axis.
    Index {
        /// The operand.
        input: ExprRef,
        /// Per input axis: a strided range, or a single index that drops the axis.
        axes: Vec<AxisIndex>,
    },
    /// A reduction over some axes, by a tree of partial results.
    Reduce {
        /// The operand.
        input: ExprRef,
        /// What to reduce and how.
        spec: ReduceSpec,
    },
    /// The same values on a different chunk grid (the node's grid).
    Rechunk {
        /// The operand.
        input: ExprRef,
    },
    /// The operand broadcast to the node's shape (NumPy's `broadcast_to`): its axes align
    /// with the trailing axes of the result, and length-1 axes stretch. Also inserts
    /// length-1 axes (`expand_dims`). A view: nothing is copied at full size.
    BroadcastTo {
        /// The operand.
        input: ExprRef,
    },
    /// Arrays joined along an axis (`concatenate`; `stack` joins expanded arrays): each
    /// block of the result lies in one input, whose chunks it keeps along the axis.
    Concat {
        /// The arrays, cast to the result dtype and chunked alike on the other axes.
        inputs: Vec<ExprRef>,
        /// The axis joined along.
        axis: usize,
    },
    /// A cumulative sum or product along one axis (NumPy's `cumsum`, `cumprod`), computed
    /// block after block along the axis, each block starting from the last slice of the
    /// block before it.
    Scan {
        /// The operand, cast to the result dtype.
        input: ExprRef,
        /// Sum or product.
        op: ScanOp,
        /// The axis scanned.
        axis: usize,
    },
    /// A product of two arrays summed over shared axes (`matmul`, `tensordot`, `outer`,
    /// `vecdot`, two-operand `einsum`), computed blockwise and summed over the blocks of
    /// the contracted axes by a reduction tree.
    Contract {
        /// Left operand, cast to the result dtype, chunked like `rhs` along shared axes.
        lhs: ExprRef,
        /// Right operand, likewise.
        rhs: ExprRef,
        /// Which axes pair up and which are summed.
        spec: ContractSpec,
    },
    /// The elements in the same C order under another shape (NumPy's `reshape`): block `b`
    /// of the result is block [`ReshapeMap::input_block`] of the input, reshaped. The input
    /// is rechunked so that holds (see `expr::reshape`).
    Reshape {
        /// The operand, chunked to correspond block for block.
        input: ExprRef,
        /// How the blocks correspond.
        map: Arc<ReshapeMap>,
    },
    /// A user function applied block by block (`map_blocks`), or to blocks extended by a
    /// halo and trimmed after (`map_overlap`): output block `b` is computed from the block
    /// of each input that [`MapSpec::input_block`] names.
    MapBlocks {
        /// The inputs, chunked alike along the loop axes (or one block where they
        /// broadcast or the output drops the axis).
        inputs: Vec<ExprRef>,
        /// The function, and how output axes follow the inputs' blocks.
        spec: MapSpec,
    },
}

impl ExprKind {
    /// A short name for reprs and graphs.
    pub fn name(&self) -> String {
        match self {
            ExprKind::Source { .. } => "read".into(),
            ExprKind::Memory { .. } => "from-ndarray".into(),
            ExprKind::Generator { generator } => generator.name().into(),
            ExprKind::Unary { op, .. } => op.name().into(),
            ExprKind::Binary { op, .. } => op.name().into(),
            ExprKind::Where { .. } => "where".into(),
            ExprKind::Cast { .. } => "astype".into(),
            ExprKind::Transpose { .. } => "transpose".into(),
            ExprKind::Index { .. } => "getitem".into(),
            ExprKind::Reduce { spec, .. } => spec.op.name().into(),
            ExprKind::Rechunk { .. } => "rechunk".into(),
            ExprKind::Contract { spec, .. } => spec.name.into(),
            ExprKind::Scan { op, .. } => op.name().into(),
            ExprKind::BroadcastTo { .. } => "broadcast_to".into(),
            ExprKind::Concat { .. } => "concatenate".into(),
            ExprKind::Reshape { .. } => "reshape".into(),
            ExprKind::MapBlocks { spec, .. } => spec.func.name.clone(),
        }
    }
}

/// Element-addressable array contents.
#[derive(Clone, Debug, PartialEq)]
pub enum Generator {
    /// Uniform on [0, 1), float64: SplitMix64 in counter mode keyed by seed, so element
    /// `i` (C-order linear index) is the same whatever the chunking.
    Uniform {
        /// The seed.
        seed: u64,
    },
    /// Normal(`mean`, `std`), float64, by Box–Muller from two counter-based uniforms.
    Normal {
        /// The seed.
        seed: u64,
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Uniform on [`low`, `high`), float64: `low + (high - low) * u`, with `u` the
    /// [`Generator::Uniform`] value of the same seed and element.
    UniformRange {
        /// The seed.
        seed: u64,
        /// Lower bound (included).
        low: f64,
        /// Upper bound (excluded).
        high: f64,
    },
    /// Exponential with mean `scale`, float64, by inversion of a counter-based uniform.
    Exponential {
        /// The seed.
        seed: u64,
        /// The mean (NumPy's `scale`).
        scale: f64,
    },
    /// Poisson with mean `lam`, int64 (inversion or PTRS; `kernel::distributions`).
    Poisson {
        /// The seed.
        seed: u64,
        /// The mean.
        lam: f64,
    },
    /// Binomial with `n` trials of probability `p`, int64 (inversion or BTRS).
    Binomial {
        /// The seed.
        seed: u64,
        /// Trials.
        n: u64,
        /// Success probability.
        p: f64,
    },
    /// Integers uniform on [`low`, `high`), int64, exactly uniform (Lemire's method).
    Integers {
        /// The seed.
        seed: u64,
        /// Lower bound (included).
        low: i64,
        /// Upper bound (excluded; above `low`).
        high: i64,
    },
    /// Every element equal to `value` (converted to the node's dtype).
    Full {
        /// The value, as f64 or as an exact integer.
        value: FullValue,
    },
    /// `start + i * step` along a 1-d array.
    Arange {
        /// First value.
        start: f64,
        /// Increment.
        step: f64,
    },
    /// `num` evenly spaced values from `start` to `stop` (inclusive when `endpoint`).
    Linspace {
        /// First value.
        start: f64,
        /// Last value (or the bound, without `endpoint`).
        stop: f64,
        /// Whether `stop` is the last value.
        endpoint: bool,
    },
}

/// The value of a [`Generator::Full`], kept exact for 64-bit integers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FullValue {
    /// A float value.
    Float(f64),
    /// A signed integer (or bool as 0/1).
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A complex value: real and imaginary parts.
    Complex(f64, f64),
}

impl From<crate::dtype::Scalar> for FullValue {
    fn from(value: crate::dtype::Scalar) -> FullValue {
        use crate::dtype::Scalar;
        match value {
            Scalar::Bool(b) => FullValue::Int(i64::from(b)),
            Scalar::Int(i) => FullValue::Int(i),
            Scalar::Float(x) => FullValue::Float(x),
            Scalar::Complex(re, im) => FullValue::Complex(re, im),
        }
    }
}

impl Generator {
    /// A short name.
    pub fn name(&self) -> &'static str {
        match self {
            Generator::Uniform { .. } => "random",
            Generator::Normal { .. } => "random_normal",
            Generator::UniformRange { .. } => "uniform",
            Generator::Exponential { .. } => "exponential",
            Generator::Poisson { .. } => "poisson",
            Generator::Binomial { .. } => "binomial",
            Generator::Integers { .. } => "integers",
            Generator::Full { .. } => "full",
            Generator::Arange { .. } => "arange",
            Generator::Linspace { .. } => "linspace",
        }
    }
}

/// Elementwise functions of one operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-x` (wrapping for integers).
    Neg,
    /// `|x|`.
    Abs,
    /// Square root (floats).
    Sqrt,
    /// `e^x` (floats).
    Exp,
    /// Natural logarithm (floats).
    Log,
    /// Sine (floats).
    Sin,
    /// Cosine (floats).
    Cos,
    /// Logical not for bool, bitwise not for integers (`~`).
    Not,
    /// Tangent (floats).
    Tan,
    /// Inverse sine (floats).
    Arcsin,
    /// Inverse cosine (floats).
    Arccos,
    /// Inverse tangent (floats).
    Arctan,
    /// Hyperbolic sine (floats).
    Sinh,
    /// Hyperbolic cosine (floats).
    Cosh,
    /// Hyperbolic tangent (floats).
    Tanh,
    /// Base-10 logarithm (floats).
    Log10,
    /// Base-2 logarithm (floats).
    Log2,
    /// `ln(1 + x)`, accurate near 0 (floats).
    Log1p,
    /// `e^x - 1`, accurate near 0 (floats).
    Expm1,
    /// Round to the nearest integer, halves to even (floats; NumPy's `rint`).
    Rint,
    /// Largest integer `<= x` (integers and bool unchanged, as NumPy 2).
    Floor,
    /// Smallest integer `>= x` (integers and bool unchanged).
    Ceil,
    /// Integer part, rounding toward zero (integers and bool unchanged).
    Trunc,
    /// -1, 0 or 1 in the input's dtype (NaN stays NaN; not defined for bool).
    Sign,
    /// True where NaN (bool result; false for integers and bool).
    IsNan,
    /// True where +inf or -inf (bool result; false for integers and bool).
    IsInf,
    /// True where neither NaN nor infinite (bool result; true for integers and bool).
    IsFinite,
    /// Inverse hyperbolic sine (floats).
    Arcsinh,
    /// Inverse hyperbolic cosine (floats).
    Arccosh,
    /// Inverse hyperbolic tangent (floats).
    Arctanh,
    /// `2^x` (floats).
    Exp2,
    /// Cube root (floats).
    Cbrt,
    /// True where the sign bit is set (bool result; `x < 0` for integers, false for bool).
    Signbit,
    /// The complex conjugate (real values unchanged).
    Conj,
    /// The real part (the real dtype of a complex input; real values unchanged).
    Real,
    /// The imaginary part (zeros for real values).
    Imag,
    /// The argument of a complex number in radians, `arctan2(imag, real)` (floats result).
    Angle,
}

impl UnaryOp {
    /// NumPy's name.
    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "negative",
            UnaryOp::Abs => "absolute",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Exp => "exp",
            UnaryOp::Log => "log",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Not => "invert",
            UnaryOp::Tan => "tan",
            UnaryOp::Arcsin => "arcsin",
            UnaryOp::Arccos => "arccos",
            UnaryOp::Arctan => "arctan",
            UnaryOp::Sinh => "sinh",
            UnaryOp::Cosh => "cosh",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Log10 => "log10",
            UnaryOp::Log2 => "log2",
            UnaryOp::Log1p => "log1p",
            UnaryOp::Expm1 => "expm1",
            UnaryOp::Rint => "rint",
            UnaryOp::Floor => "floor",
            UnaryOp::Ceil => "ceil",
            UnaryOp::Trunc => "trunc",
            UnaryOp::Sign => "sign",
            UnaryOp::IsNan => "isnan",
            UnaryOp::IsInf => "isinf",
            UnaryOp::IsFinite => "isfinite",
            UnaryOp::Arcsinh => "arcsinh",
            UnaryOp::Arccosh => "arccosh",
            UnaryOp::Arctanh => "arctanh",
            UnaryOp::Exp2 => "exp2",
            UnaryOp::Cbrt => "cbrt",
            UnaryOp::Signbit => "signbit",
            UnaryOp::Conj => "conj",
            UnaryOp::Real => "real",
            UnaryOp::Imag => "imag",
            UnaryOp::Angle => "angle",
        }
    }

    /// True for the functions computed in floating point (ints are converted first).
    pub fn is_float_only(self) -> bool {
        use UnaryOp::*;
        matches!(
            self,
            Sqrt | Exp
                | Log
                | Sin
                | Cos
                | Tan
                | Arcsin
                | Arccos
                | Arctan
                | Sinh
                | Cosh
                | Tanh
                | Log10
                | Log2
                | Log1p
                | Expm1
                | Rint
                | Arcsinh
                | Arccosh
                | Arctanh
                | Exp2
                | Cbrt
                | Angle
        )
    }

    /// True for the functions whose result is real for a complex operand (`abs`, `real`,
    /// `imag`, `angle`).
    pub fn is_complex_to_real(self) -> bool {
        matches!(
            self,
            UnaryOp::Abs | UnaryOp::Real | UnaryOp::Imag | UnaryOp::Angle
        )
    }

    /// True for the functions NumPy does not define for complex operands.
    pub fn is_real_only(self) -> bool {
        matches!(
            self,
            UnaryOp::Not
                | UnaryOp::Floor
                | UnaryOp::Ceil
                | UnaryOp::Trunc
                | UnaryOp::Cbrt
                | UnaryOp::Signbit
        )
    }

    /// True for the tests whose result is bool (`isnan`, `isinf`, `isfinite`).
    pub fn is_predicate(self) -> bool {
        matches!(
            self,
            UnaryOp::IsNan | UnaryOp::IsInf | UnaryOp::IsFinite | UnaryOp::Signbit
        )
    }
}

/// Elementwise functions of two operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (true division: integers give float64)
    Div,
    /// `//` (floors like Python)
    FloorDiv,
    /// `%` (sign of the divisor, like Python)
    Rem,
    /// `**`
    Pow,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `&` (logical for bool, bitwise for integers)
    And,
    /// `|`
    Or,
    /// `^`
    Xor,
    /// `minimum` (NaN-propagating)
    Minimum,
    /// `maximum` (NaN-propagating)
    Maximum,
    /// `arctan2(y, x)`: the angle of the point `(x, y)` (floats)
    Arctan2,
    /// `hypot(x, y)`: `sqrt(x² + y²)` without overflow (floats)
    Hypot,
    /// `<<` (integers; bool computes in int8)
    Shl,
    /// `>>` (integers, arithmetic for signed; bool computes in int8)
    Shr,
    /// `copysign(x, y)`: the magnitude of `x` with the sign of `y` (floats)
    Copysign,
    /// `nextafter(x, y)`: the next float after `x` towards `y` (floats)
    Nextafter,
    /// `logaddexp(x, y)`: `log(exp(x) + exp(y))` without overflow (floats)
    Logaddexp,
    /// `logaddexp2(x, y)`: `log2(2^x + 2^y)` without overflow (floats)
    Logaddexp2,
}

impl BinaryOp {
    /// NumPy's name.
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "subtract",
            BinaryOp::Mul => "multiply",
            BinaryOp::Div => "true_divide",
            BinaryOp::FloorDiv => "floor_divide",
            BinaryOp::Rem => "remainder",
            BinaryOp::Pow => "power",
            BinaryOp::Eq => "equal",
            BinaryOp::Ne => "not_equal",
            BinaryOp::Lt => "less",
            BinaryOp::Le => "less_equal",
            BinaryOp::Gt => "greater",
            BinaryOp::Ge => "greater_equal",
            BinaryOp::And => "bitwise_and",
            BinaryOp::Or => "bitwise_or",
            BinaryOp::Xor => "bitwise_xor",
            BinaryOp::Minimum => "minimum",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Arctan2 => "arctan2",
            BinaryOp::Hypot => "hypot",
            BinaryOp::Shl => "left_shift",
            BinaryOp::Shr => "right_shift",
            BinaryOp::Copysign => "copysign",
            BinaryOp::Nextafter => "nextafter",
            BinaryOp::Logaddexp => "logaddexp",
            BinaryOp::Logaddexp2 => "logaddexp2",
        }
    }

    /// The operator symbol, for display.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::FloorDiv => "//",
            BinaryOp::Rem => "%",
            BinaryOp::Pow => "**",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::And => "&",
            BinaryOp::Or => "|",
            BinaryOp::Xor => "^",
            BinaryOp::Minimum => "minimum",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Arctan2 => "arctan2",
            BinaryOp::Hypot => "hypot",
            BinaryOp::Shl => "<<",
            BinaryOp::Shr => ">>",
            BinaryOp::Copysign => "copysign",
            BinaryOp::Nextafter => "nextafter",
            BinaryOp::Logaddexp => "logaddexp",
            BinaryOp::Logaddexp2 => "logaddexp2",
        }
    }

    /// True for the functions computed in floating point (ints are converted first).
    pub fn is_float_only(self) -> bool {
        matches!(
            self,
            BinaryOp::Arctan2
                | BinaryOp::Hypot
                | BinaryOp::Copysign
                | BinaryOp::Nextafter
                | BinaryOp::Logaddexp
                | BinaryOp::Logaddexp2
        )
    }

    /// True for the shifts `<< >>`, defined on integers (bool computes in int8).
    pub fn is_shift(self) -> bool {
        matches!(self, BinaryOp::Shl | BinaryOp::Shr)
    }

    /// True for comparisons (the result is bool).
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }

    /// True for `& | ^`, defined on bool and integers only.
    pub fn is_bitwise(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or | BinaryOp::Xor)
    }
}

/// Reductions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// Sum (small integers accumulate in int64/uint64).
    Sum,
    /// Product (same accumulation as sum).
    Prod,
    /// Minimum (NaN-propagating).
    Min,
    /// Maximum (NaN-propagating).
    Max,
    /// Arithmetic mean.
    Mean,
    /// Variance with `ddof`.
    Var,
    /// Standard deviation with `ddof`.
    Std,
}

impl ReduceOp {
    /// NumPy's name.
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Min => "min",
            ReduceOp::Max => "max",
            ReduceOp::Mean => "mean",
            ReduceOp::Var => "var",
            ReduceOp::Std => "std",
        }
    }

    /// The result dtype for an input of `dtype`.
    pub fn result_dtype(self, dtype: DType) -> DType {
        match self {
            ReduceOp::Sum | ReduceOp::Prod => dtype.sum_dtype(),
            ReduceOp::Min | ReduceOp::Max => dtype,
            ReduceOp::Mean => dtype.mean_dtype(),
            ReduceOp::Var | ReduceOp::Std => dtype.mean_dtype().real_dtype(),
        }
    }
}

/// A cumulative operation along an axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScanOp {
    /// Running sum.
    Cumsum,
    /// Running product.
    Cumprod,
}

impl ScanOp {
    /// NumPy's name.
    pub fn name(self) -> &'static str {
        match self {
            ScanOp::Cumsum => "cumsum",
            ScanOp::Cumprod => "cumprod",
        }
    }

    /// The result dtype for input `dtype`, as NumPy's: small integers and bool accumulate
    /// in int64 (uint64 for unsigned), floats keep their dtype.
    pub fn result_dtype(self, dtype: DType) -> DType {
        dtype.sum_dtype()
    }
}

/// The axes of a contraction, in einsum's terms: every axis of the operands and of the
/// result has a label; labels of both operands that the result lacks are summed over
/// (contracted), labels the result has are kept (batch labels are in both operands).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractSpec {
    /// The operation's name (`matmul`, `tensordot`, …) for reprs and errors.
    pub name: &'static str,
    /// A label per axis of the left operand.
    pub lhs: Vec<u32>,
    /// A label per axis of the right operand.
    pub rhs: Vec<u32>,
    /// A label per axis of the result; each appears in `lhs` or `rhs`.
    pub out: Vec<u32>,
    /// Fan-in of the tree that sums the partial products over the contracted blocks.
    pub split_every: usize,
}

impl ContractSpec {
    /// The contracted labels (in both operands, not in the result), in `lhs` order.
    pub fn contracted(&self) -> Vec<u32> {
        self.lhs
            .iter()
            .copied()
            .filter(|l| self.rhs.contains(l) && !self.out.contains(l))
            .collect()
    }
}

/// A reduction's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct ReduceSpec {
    /// The operation.
    pub op: ReduceOp,
    /// The reduced axes, sorted, distinct, in range.
    pub axes: Vec<usize>,
    /// Keep reduced axes as length 1.
    pub keepdims: bool,
    /// Delta degrees of freedom for `var` / `std`.
    pub ddof: f64,
    /// Fan-in of the reduction tree per reduced axis (dask's `split_every`; at least 2).
    pub split_every: usize,
}
