//! Elementwise kernels on blocks: unary and binary functions with NumPy semantics, and
//! `where`. Operands arrive already cast to the dtype the function computes in (the
//! expression layer inserts the casts), and with equal rank; size-1 axes broadcast.
//!
//! Integer arithmetic wraps on overflow and division by zero gives 0, as NumPy does (NumPy
//! also warns; we cannot). `//` and `%` floor like Python.

use ndarray::{ArrayD, ArrayViewD, IxDyn, Zip};

use crate::block::{Block, BlockElement};
use num_complex::Complex;

use crate::dtype::{Complex64, Complex128, DType, Element};
use crate::error::{Error, Result};
use crate::expr::{BinaryOp, UnaryOp};

/// Arithmetic with NumPy semantics for one numeric element type.
pub trait Arith: Element {
    /// `a + b`
    fn add(a: Self, b: Self) -> Self;
    /// `a - b`
    fn sub(a: Self, b: Self) -> Self;
    /// `a * b`
    fn mul(a: Self, b: Self) -> Self;
    /// `a / b` (only reached for floats)
    fn div(a: Self, b: Self) -> Self;
    /// `a // b`
    fn floordiv(a: Self, b: Self) -> Self;
    /// `a % b`
    fn rem(a: Self, b: Self) -> Self;
    /// `a ** b`; `None` for an integer to a negative power (NumPy raises).
    fn pow(a: Self, b: Self) -> Option<Self>;
    /// NaN-propagating minimum.
    fn min(a: Self, b: Self) -> Self;
    /// NaN-propagating maximum.
    fn max(a: Self, b: Self) -> Self;
    /// `-a`
    fn neg(a: Self) -> Self;
    /// `|a|`
    fn abs(a: Self) -> Self;
    /// `a & b` (integers only)
    fn and(a: Self, b: Self) -> Self;
    /// `a | b` (integers only)
    fn or(a: Self, b: Self) -> Self;
    /// `a ^ b` (integers only)
    fn xor(a: Self, b: Self) -> Self;
    /// `~a` (integers only)
    fn not(a: Self) -> Self;
    /// `a << b` (integers only): 0 once every bit is shifted out, as NumPy.
    fn shl(a: Self, b: Self) -> Self;
    /// `a >> b` (integers only, arithmetic for signed): 0 or -1 once every bit is out.
    fn shr(a: Self, b: Self) -> Self;
}

macro_rules! int_arith {
    ($t:ty, signed: $signed:tt) => {
        impl Arith for $t {
            #[inline(always)]
            fn add(a: Self, b: Self) -> Self {
                a.wrapping_add(b)
            }
            #[inline(always)]
            fn sub(a: Self, b: Self) -> Self {
                a.wrapping_sub(b)
            }
            #[inline(always)]
            fn mul(a: Self, b: Self) -> Self {
                a.wrapping_mul(b)
            }
            #[inline(always)]
            fn div(a: Self, b: Self) -> Self {
                Self::floordiv(a, b)
            }
            #[inline(always)]
            fn floordiv(a: Self, b: Self) -> Self {
                if b == 0 {
                    return 0;
                }
                let q = a.wrapping_div(b);
                #[allow(unused_comparisons)]
                let adjust = $signed && a.wrapping_rem(b) != 0 && ((a < 0) != (b < 0));
                if adjust { q.wrapping_sub(1) } else { q }
            }
            #[inline(always)]
            fn rem(a: Self, b: Self) -> Self {
                if b == 0 {
                    return 0;
                }
                let r = a.wrapping_rem(b);
                #[allow(unused_comparisons)]
                let adjust = $signed && r != 0 && ((r < 0) != (b < 0));
                if adjust { r.wrapping_add(b) } else { r }
            }
            #[inline(always)]
            fn pow(a: Self, b: Self) -> Option<Self> {
                #[allow(unused_comparisons)]
                if b < 0 {
                    return None;
                }
                Some(a.wrapping_pow(u32::try_from(b).unwrap_or(u32::MAX)))
            }
            #[inline(always)]
            fn min(a: Self, b: Self) -> Self {
                if b < a { b } else { a }
            }
            #[inline(always)]
            fn max(a: Self, b: Self) -> Self {
                if b > a { b } else { a }
            }
            #[inline(always)]
            fn neg(a: Self) -> Self {
                (0 as $t).wrapping_sub(a)
            }
            #[inline(always)]
            fn abs(a: Self) -> Self {
                #[allow(unused_comparisons)]
                if a < 0 { Self::neg(a) } else { a }
            }
            #[inline(always)]
            fn and(a: Self, b: Self) -> Self {
                a & b
            }
            #[inline(always)]
            fn or(a: Self, b: Self) -> Self {
                a | b
            }
            #[inline(always)]
            fn xor(a: Self, b: Self) -> Self {
                a ^ b
            }
            #[inline(always)]
            fn not(a: Self) -> Self {
                !a
            }
            #[inline(always)]
            fn shl(a: Self, b: Self) -> Self {
                match u32::try_from(b) {
                    Ok(n) if n < <$t>::BITS => a << n,
                    _ => 0,
                }
            }
            #[inline(always)]
            fn shr(a: Self, b: Self) -> Self {
                #[allow(unused_comparisons)]
                let fill = if a < 0 { Self::not(0) } else { 0 };
                match u32::try_from(b) {
                    Ok(n) if n < <$t>::BITS => a >> n,
                    _ => fill,
                }
            }
        }
    };
}

int_arith!(i8, signed: true);
int_arith!(i16, signed: true);
int_arith!(i32, signed: true);
int_arith!(i64, signed: true);
int_arith!(u8, signed: false);
int_arith!(u16, signed: false);
int_arith!(u32, signed: false);
int_arith!(u64, signed: false);

macro_rules! float_arith {
    ($t:ty) => {
        impl Arith for $t {
            #[inline(always)]
            fn add(a: Self, b: Self) -> Self {
                a + b
            }
            #[inline(always)]
            fn sub(a: Self, b: Self) -> Self {
                a - b
            }
            #[inline(always)]
            fn mul(a: Self, b: Self) -> Self {
                a * b
            }
            #[inline(always)]
            fn div(a: Self, b: Self) -> Self {
                a / b
            }
            /// NumPy's `npy_divmod` floor division.
            #[inline(always)]
            fn floordiv(a: Self, b: Self) -> Self {
                if b == 0.0 {
                    return a / b;
                }
                let m = a % b;
                let mut div = (a - m) / b;
                if m != 0.0 && ((b < 0.0) != (m < 0.0)) {
                    div -= 1.0;
                }
                if div != 0.0 {
                    let f = div.floor();
                    if div - f > 0.5 { f + 1.0 } else { f }
                } else {
                    (0.0 as $t).copysign(a / b)
                }
            }
            /// NumPy's `npy_divmod` remainder: the sign of the divisor.
            #[inline(always)]
            fn rem(a: Self, b: Self) -> Self {
                if b == 0.0 {
                    return a % b;
                }
                let m = a % b;
                if m != 0.0 {
                    if (b < 0.0) != (m < 0.0) { m + b } else { m }
                } else {
                    (0.0 as $t).copysign(b)
                }
            }
            #[inline(always)]
            fn pow(a: Self, b: Self) -> Option<Self> {
                Some(a.powf(b))
            }
            #[inline(always)]
            fn min(a: Self, b: Self) -> Self {
                if a.is_nan() || b.is_nan() {
                    <$t>::NAN
                } else {
                    a.min(b)
                }
            }
            #[inline(always)]
            fn max(a: Self, b: Self) -> Self {
                if a.is_nan() || b.is_nan() {
                    <$t>::NAN
                } else {
                    a.max(b)
                }
            }
            #[inline(always)]
            fn neg(a: Self) -> Self {
                -a
            }
            #[inline(always)]
            fn abs(a: Self) -> Self {
                a.abs()
            }
            fn and(a: Self, _: Self) -> Self {
                a
            }
            fn or(a: Self, _: Self) -> Self {
                a
            }
            fn xor(a: Self, _: Self) -> Self {
                a
            }
            fn not(a: Self) -> Self {
                a
            }
            fn shl(a: Self, _: Self) -> Self {
                a
            }
            fn shr(a: Self, _: Self) -> Self {
                a
            }
        }
    };
}

float_arith!(f32);
float_arith!(f64);

macro_rules! complex_arith {
    ($t:ty, $f:ty) => {
        impl Arith for $t {
            #[inline(always)]
            fn add(a: Self, b: Self) -> Self {
                a + b
            }
            #[inline(always)]
            fn sub(a: Self, b: Self) -> Self {
                a - b
            }
            #[inline(always)]
            fn mul(a: Self, b: Self) -> Self {
                a * b
            }
            #[inline(always)]
            fn div(a: Self, b: Self) -> Self {
                a / b
            }
            // `//` and `%` are refused for complex operands when the expression is built
            // (NumPy raises TypeError); these only complete the trait.
            fn floordiv(a: Self, b: Self) -> Self {
                a / b
            }
            fn rem(a: Self, _: Self) -> Self {
                a
            }
            /// NumPy's complex power: `z ** 0` is 1, `0 ** w` is 0 for a positive real `w`.
            fn pow(a: Self, b: Self) -> Option<Self> {
                if b.re == 0.0 && b.im == 0.0 {
                    return Some(Self::new(1.0, 0.0));
                }
                if a.re == 0.0 && a.im == 0.0 && b.im == 0.0 && b.re > 0.0 {
                    return Some(Self::default());
                }
                if b.im == 0.0 && b.re == b.re.trunc() && b.re.abs() <= 64.0 {
                    // Small integer powers by repeated multiplication, as NumPy does
                    // (exact for Gaussian integers).
                    let n = b.re as i32;
                    let mut r = Self::new(1.0, 0.0);
                    for _ in 0..n.unsigned_abs() {
                        r = r * a;
                    }
                    return Some(if n < 0 { Self::new(1.0, 0.0) / r } else { r });
                }
                Some(a.num().powc(b.num()).into())
            }
            /// Lexicographic and NaN-propagating, as NumPy's `minimum` on complex values.
            #[inline(always)]
            fn min(a: Self, b: Self) -> Self {
                if a.is_nan() {
                    a
                } else if b.is_nan() || b < a {
                    b
                } else {
                    a
                }
            }
            #[inline(always)]
            fn max(a: Self, b: Self) -> Self {
                if a.is_nan() {
                    a
                } else if b.is_nan() || b > a {
                    b
                } else {
                    a
                }
            }
            #[inline(always)]
            fn neg(a: Self) -> Self {
                -a
            }
            /// Only completes the trait: `abs` of a complex block is real ([`unary`]).
            fn abs(a: Self) -> Self {
                Self::new(a.abs(), 0.0)
            }
            fn and(a: Self, _: Self) -> Self {
                a
            }
            fn or(a: Self, _: Self) -> Self {
                a
            }
            fn xor(a: Self, _: Self) -> Self {
                a
            }
            fn not(a: Self) -> Self {
                a
            }
            fn shl(a: Self, _: Self) -> Self {
                a
            }
            fn shr(a: Self, _: Self) -> Self {
                a
            }
        }
    };
}

complex_arith!(Complex64, f32);
complex_arith!(Complex128, f64);

/// The shape two equal-rank operands broadcast to.
fn broadcast_shape(a: &[usize], b: &[usize]) -> Vec<usize> {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| if x == 1 { y } else { x })
        .collect()
}

fn zip_map<A: Copy, B: Copy, R>(a: &ArrayD<A>, b: &ArrayD<B>, f: impl Fn(A, B) -> R) -> ArrayD<R> {
    let shape = broadcast_shape(a.shape(), b.shape());
    let av: ArrayViewD<A> = a.broadcast(IxDyn(&shape)).expect("broadcastable");
    let bv: ArrayViewD<B> = b.broadcast(IxDyn(&shape)).expect("broadcastable");
    Zip::from(&av).and(&bv).map_collect(|&x, &y| f(x, y))
}

fn numeric_binary<T: Arith + BlockElement>(
    op: BinaryOp,
    a: &ArrayD<T>,
    b: &ArrayD<T>,
) -> Result<Block> {
    Ok(match op {
        BinaryOp::Add => T::wrap(zip_map(a, b, T::add)),
        BinaryOp::Sub => T::wrap(zip_map(a, b, T::sub)),
        BinaryOp::Mul => T::wrap(zip_map(a, b, T::mul)),
        BinaryOp::Div => T::wrap(zip_map(a, b, T::div)),
        BinaryOp::FloorDiv => T::wrap(zip_map(a, b, T::floordiv)),
        BinaryOp::Rem => T::wrap(zip_map(a, b, T::rem)),
        BinaryOp::Pow => {
            let out = zip_map(a, b, T::pow);
            if out.iter().any(Option::is_none) {
                return Err(Error::invalid(
                    "integers to negative integer powers are not allowed (as in NumPy); \
                     cast to float first",
                ));
            }
            T::wrap(out.mapv(|v| v.unwrap_or_default()))
        }
        BinaryOp::Minimum => T::wrap(zip_map(a, b, T::min)),
        BinaryOp::Maximum => T::wrap(zip_map(a, b, T::max)),
        BinaryOp::And => T::wrap(zip_map(a, b, T::and)),
        BinaryOp::Or => T::wrap(zip_map(a, b, T::or)),
        BinaryOp::Xor => T::wrap(zip_map(a, b, T::xor)),
        BinaryOp::Shl => T::wrap(zip_map(a, b, T::shl)),
        BinaryOp::Shr => T::wrap(zip_map(a, b, T::shr)),
        BinaryOp::Eq => Block::Bool(zip_map(a, b, |x, y| x == y)),
        BinaryOp::Ne => Block::Bool(zip_map(a, b, |x, y| x != y)),
        BinaryOp::Lt => Block::Bool(zip_map(a, b, |x, y| x < y)),
        BinaryOp::Le => Block::Bool(zip_map(a, b, |x, y| x <= y)),
        BinaryOp::Gt => Block::Bool(zip_map(a, b, |x, y| x > y)),
        BinaryOp::Ge => Block::Bool(zip_map(a, b, |x, y| x >= y)),
        BinaryOp::Arctan2
        | BinaryOp::Hypot
        | BinaryOp::Copysign
        | BinaryOp::Nextafter
        | BinaryOp::Logaddexp
        | BinaryOp::Logaddexp2 => {
            return Err(Error::internal(format!(
                "{} reached the kernel with dtype {}",
                op.name(),
                T::DTYPE
            )));
        }
    })
}

/// The float-only binary functions (`arctan2`, `hypot`, `copysign`, `nextafter`,
/// `logaddexp`, `logaddexp2`).
fn float_binary<T: FloatExt + Arith>(op: BinaryOp, a: &ArrayD<T>, b: &ArrayD<T>) -> Result<Block> {
    Ok(T::wrap(match op {
        BinaryOp::Arctan2 => zip_map(a, b, T::atan2),
        BinaryOp::Hypot => zip_map(a, b, T::hypot),
        BinaryOp::Copysign => zip_map(a, b, T::copysign),
        BinaryOp::Nextafter => zip_map(a, b, T::next_after),
        BinaryOp::Logaddexp => zip_map(a, b, |x, y| log_add_exp(x, y, T::LN_2(), T::ln_1p_exp)),
        BinaryOp::Logaddexp2 => zip_map(a, b, |x, y| log_add_exp(x, y, T::one(), T::log2_1p_exp2)),
        _ => return numeric_binary(op, a, b),
    }))
}

fn bool_binary(op: BinaryOp, a: &ArrayD<bool>, b: &ArrayD<bool>) -> Result<Block> {
    Ok(Block::Bool(match op {
        BinaryOp::Add | BinaryOp::Or | BinaryOp::Maximum => zip_map(a, b, |x, y| x | y),
        BinaryOp::Mul | BinaryOp::And | BinaryOp::Minimum => zip_map(a, b, |x, y| x & y),
        BinaryOp::Xor | BinaryOp::Ne => zip_map(a, b, |x, y| x ^ y),
        BinaryOp::Eq => zip_map(a, b, |x, y| x == y),
        BinaryOp::Lt => zip_map(a, b, |x, y| !x & y),
        BinaryOp::Le => zip_map(a, b, |x, y| x <= y),
        BinaryOp::Gt => zip_map(a, b, |x, y| x & !y),
        BinaryOp::Ge => zip_map(a, b, |x, y| x >= y),
        BinaryOp::Sub
        | BinaryOp::Div
        | BinaryOp::FloorDiv
        | BinaryOp::Rem
        | BinaryOp::Pow
        | BinaryOp::Arctan2
        | BinaryOp::Hypot
        | BinaryOp::Shl
        | BinaryOp::Shr
        | BinaryOp::Copysign
        | BinaryOp::Nextafter
        | BinaryOp::Logaddexp
        | BinaryOp::Logaddexp2 => {
            return Err(Error::UnsupportedDType {
                op: op.name().into(),
                dtype: DType::Bool,
                hint: String::new(),
            });
        }
    }))
}

/// Applies a binary function to two blocks of the same dtype (broadcasting size-1 axes).
///
/// # Errors
/// An integer raised to a negative power, or an op the dtype does not support.
pub fn binary(op: BinaryOp, a: &Block, b: &Block) -> Result<Block> {
    macro_rules! num {
        ($x:expr, $y:expr) => {
            numeric_binary(op, $x, $y)
        };
    }
    match (a, b) {
        (Block::Bool(x), Block::Bool(y)) => bool_binary(op, x, y),
        (Block::I8(x), Block::I8(y)) => num!(x, y),
        (Block::I16(x), Block::I16(y)) => num!(x, y),
        (Block::I32(x), Block::I32(y)) => num!(x, y),
        (Block::I64(x), Block::I64(y)) => num!(x, y),
        (Block::U8(x), Block::U8(y)) => num!(x, y),
        (Block::U16(x), Block::U16(y)) => num!(x, y),
        (Block::U32(x), Block::U32(y)) => num!(x, y),
        (Block::U64(x), Block::U64(y)) => num!(x, y),
        (Block::F32(x), Block::F32(y)) => float_binary(op, x, y),
        (Block::F64(x), Block::F64(y)) => float_binary(op, x, y),
        (Block::C64(x), Block::C64(y)) => num!(x, y),
        (Block::C128(x), Block::C128(y)) => num!(x, y),
        _ => Err(Error::internal(format!(
            "binary {} on blocks of different dtypes {} and {}",
            op.name(),
            a.dtype(),
            b.dtype()
        ))),
    }
}

/// Float functions that `num_traits::Float` lacks.
trait FloatExt: num_traits::Float + num_traits::FloatConst + BlockElement {
    /// Rounds to the nearest integer, halves to even (NumPy's `rint`).
    fn rint(self) -> Self;
    /// The next representable value after `self` towards `toward` (C's `nextafter`).
    fn next_after(self, toward: Self) -> Self;
    /// `ln(1 + e^x)`.
    fn ln_1p_exp(self) -> Self {
        self.exp().ln_1p()
    }
    /// `log2(1 + 2^x)`.
    fn log2_1p_exp2(self) -> Self {
        self.exp2().ln_1p() * Self::LOG2_E()
    }
}

macro_rules! float_ext {
    ($t:ty) => {
        impl FloatExt for $t {
            fn rint(self) -> Self {
                self.round_ties_even()
            }
            fn next_after(self, toward: Self) -> Self {
                if self.is_nan() || toward.is_nan() {
                    return Self::NAN;
                }
                if self == toward {
                    return toward;
                }
                if self == 0.0 {
                    let tiny = <$t>::from_bits(1);
                    return if toward > 0.0 { tiny } else { -tiny };
                }
                let bits = self.to_bits();
                let away = (toward > self) == (self > 0.0);
                <$t>::from_bits(if away { bits + 1 } else { bits - 1 })
            }
        }
    };
}

float_ext!(f32);
float_ext!(f64);

/// A float-only binary function ([`BinaryOp::is_float_only`]) of two float64 scalars, as
/// the kernel computes it; `None` for other functions.
pub fn float_scalar(op: BinaryOp, x: f64, y: f64) -> Option<f64> {
    Some(match op {
        BinaryOp::Arctan2 => x.atan2(y),
        BinaryOp::Hypot => x.hypot(y),
        BinaryOp::Copysign => x.copysign(y),
        BinaryOp::Nextafter => x.next_after(y),
        BinaryOp::Logaddexp => log_add_exp(x, y, std::f64::consts::LN_2, f64::ln_1p_exp),
        BinaryOp::Logaddexp2 => log_add_exp(x, y, 1.0, f64::log2_1p_exp2),
        _ => return None,
    })
}

/// NumPy's `npy_logaddexp` (`unit` is `ln 2`, `f` is `ln(1 + e^x)`) and `npy_logaddexp2`
/// (`unit` 1, `f` `log2(1 + 2^x)`): equal operands (infinities included) give `x + unit`.
fn log_add_exp<T: num_traits::Float>(x: T, y: T, unit: T, f: fn(T) -> T) -> T {
    if x == y {
        return x + unit;
    }
    let d = x - y;
    if d > T::zero() {
        x + f(-d)
    } else if d <= T::zero() {
        y + f(d)
    } else {
        d
    }
}

/// NumPy's `sign`: -1, 0 or 1; NaN stays NaN and both zeros give +0.
fn float_sign<T: num_traits::Float>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else if x == T::zero() {
        T::zero()
    } else {
        x
    }
}

fn float_unary<T: FloatExt>(op: UnaryOp, a: &ArrayD<T>) -> Block {
    T::wrap(match op {
        UnaryOp::Sqrt => a.mapv(T::sqrt),
        UnaryOp::Exp => a.mapv(T::exp),
        UnaryOp::Log => a.mapv(T::ln),
        UnaryOp::Sin => a.mapv(T::sin),
        UnaryOp::Cos => a.mapv(T::cos),
        UnaryOp::Tan => a.mapv(T::tan),
        UnaryOp::Arcsin => a.mapv(T::asin),
        UnaryOp::Arccos => a.mapv(T::acos),
        UnaryOp::Arctan => a.mapv(T::atan),
        UnaryOp::Sinh => a.mapv(T::sinh),
        UnaryOp::Cosh => a.mapv(T::cosh),
        UnaryOp::Tanh => a.mapv(T::tanh),
        UnaryOp::Log10 => a.mapv(T::log10),
        UnaryOp::Log2 => a.mapv(T::log2),
        UnaryOp::Log1p => a.mapv(T::ln_1p),
        UnaryOp::Expm1 => a.mapv(T::exp_m1),
        UnaryOp::Rint => a.mapv(T::rint),
        UnaryOp::Floor => a.mapv(T::floor),
        UnaryOp::Ceil => a.mapv(T::ceil),
        UnaryOp::Trunc => a.mapv(T::trunc),
        UnaryOp::Sign => a.mapv(float_sign),
        UnaryOp::IsNan => return Block::Bool(a.mapv(T::is_nan)),
        UnaryOp::IsInf => return Block::Bool(a.mapv(T::is_infinite)),
        UnaryOp::IsFinite => return Block::Bool(a.mapv(T::is_finite)),
        UnaryOp::Signbit => return Block::Bool(a.mapv(T::is_sign_negative)),
        UnaryOp::Arcsinh => a.mapv(T::asinh),
        UnaryOp::Arccosh => a.mapv(T::acosh),
        UnaryOp::Arctanh => a.mapv(T::atanh),
        UnaryOp::Exp2 => a.mapv(T::exp2),
        UnaryOp::Cbrt => a.mapv(T::cbrt),
        UnaryOp::Neg => a.mapv(|x| -x),
        UnaryOp::Abs => a.mapv(T::abs),
        UnaryOp::Not | UnaryOp::Conj | UnaryOp::Real | UnaryOp::Imag | UnaryOp::Angle => a.clone(),
    })
}

/// A complex element type: its parts and `num_complex`'s functions.
trait ComplexExt: Arith + BlockElement + From<Complex<Self::Part>> {
    /// The type of the real and imaginary parts.
    type Part: num_traits::Float + num_traits::FloatConst + BlockElement + FloatExt;
    fn c(self) -> Complex<Self::Part>;
    fn part(self, imag: bool) -> Self::Part;
}

macro_rules! complex_ext {
    ($t:ty, $f:ty) => {
        impl ComplexExt for $t {
            type Part = $f;
            #[inline(always)]
            fn c(self) -> Complex<$f> {
                self.num()
            }
            #[inline(always)]
            fn part(self, imag: bool) -> $f {
                if imag { self.im } else { self.re }
            }
        }
    };
}

complex_ext!(Complex64, f32);
complex_ext!(Complex128, f64);

fn complex_unary<T: ComplexExt>(op: UnaryOp, a: &ArrayD<T>) -> Result<Block> {
    use num_traits::{Float, FloatConst, One, Zero};
    let map = |f: fn(Complex<T::Part>) -> Complex<T::Part>| T::wrap(a.mapv(|x| T::from(f(x.c()))));
    Ok(match op {
        UnaryOp::Sqrt => map(|z| z.sqrt()),
        UnaryOp::Exp => map(|z| z.exp()),
        UnaryOp::Log => map(|z| z.ln()),
        UnaryOp::Sin => map(|z| z.sin()),
        UnaryOp::Cos => map(|z| z.cos()),
        UnaryOp::Tan => map(|z| z.tan()),
        UnaryOp::Arcsin => map(|z| z.asin()),
        UnaryOp::Arccos => map(|z| z.acos()),
        UnaryOp::Arctan => map(|z| z.atan()),
        UnaryOp::Sinh => map(|z| z.sinh()),
        UnaryOp::Cosh => map(|z| z.cosh()),
        UnaryOp::Tanh => map(|z| z.tanh()),
        UnaryOp::Arcsinh => map(|z| z.asinh()),
        UnaryOp::Arccosh => map(|z| z.acosh()),
        UnaryOp::Arctanh => map(|z| z.atanh()),
        UnaryOp::Log10 => map(|z| z.ln() * T::Part::LOG10_E()),
        UnaryOp::Log2 => map(|z| z.ln() * T::Part::LOG2_E()),
        UnaryOp::Exp2 => map(|z| (z * T::Part::LN_2()).exp()),
        UnaryOp::Log1p => map(|z| (z + Complex::one()).ln()),
        UnaryOp::Expm1 => map(|z| z.exp() - Complex::one()),
        UnaryOp::Rint => map(|z| Complex::new(z.re.rint(), z.im.rint())),
        UnaryOp::Neg => T::wrap(a.mapv(T::neg)),
        UnaryOp::Conj => map(|z| z.conj()),
        // NumPy 2: z / |z|, and 0 for 0.
        UnaryOp::Sign => map(|z| {
            let r = z.norm();
            if r.is_zero() {
                Complex::zero()
            } else if r.is_nan() {
                Complex::new(r, r)
            } else {
                z / r
            }
        }),
        UnaryOp::Abs => <T::Part>::wrap(a.mapv(|x| x.c().norm())),
        UnaryOp::Real => <T::Part>::wrap(a.mapv(|x| x.part(false))),
        UnaryOp::Imag => <T::Part>::wrap(a.mapv(|x| x.part(true))),
        UnaryOp::Angle => <T::Part>::wrap(a.mapv(|x| x.part(true).atan2(x.part(false)))),
        UnaryOp::IsNan => Block::Bool(a.mapv(|x| x.part(false).is_nan() || x.part(true).is_nan())),
        UnaryOp::IsInf => Block::Bool(a.mapv(|x| {
            let (re, im) = (x.part(false), x.part(true));
            (re.is_infinite() || im.is_infinite()) && !(re.is_nan() || im.is_nan())
        })),
        UnaryOp::IsFinite => {
            Block::Bool(a.mapv(|x| x.part(false).is_finite() && x.part(true).is_finite()))
        }
        UnaryOp::Not
        | UnaryOp::Floor
        | UnaryOp::Ceil
        | UnaryOp::Trunc
        | UnaryOp::Cbrt
        | UnaryOp::Signbit => {
            return Err(Error::UnsupportedDType {
                op: op.name().into(),
                dtype: T::DTYPE,
                hint: "it is not defined for complex numbers".into(),
            });
        }
    })
}

fn int_unary<T: Arith + BlockElement>(op: UnaryOp, a: &ArrayD<T>) -> Block {
    let (zero, one) = (T::default(), T::from_i64(1));
    T::wrap(match op {
        UnaryOp::Neg => a.mapv(T::neg),
        UnaryOp::Abs => a.mapv(T::abs),
        UnaryOp::Sign => a.mapv(|x| match x.partial_cmp(&zero) {
            Some(std::cmp::Ordering::Greater) => one,
            Some(std::cmp::Ordering::Less) => T::neg(one),
            _ => zero,
        }),
        UnaryOp::Signbit => return Block::Bool(a.mapv(|x| x < zero)),
        op if op.is_predicate() => return Block::Bool(a.mapv(|_| op == UnaryOp::IsFinite)),
        UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Trunc => a.clone(),
        // `~`: float-only functions never reach integer blocks (see `unary`).
        _ => a.mapv(T::not),
    })
}

/// Applies a unary function. Float-only functions (`sqrt`, `exp`, …) expect a float block.
///
/// # Errors
/// A function the block's dtype does not support (the expression layer prevents this).
pub fn unary(op: UnaryOp, a: &Block) -> Result<Block> {
    match op {
        UnaryOp::Real | UnaryOp::Conj if !a.dtype().is_complex() => return Ok(a.clone()),
        UnaryOp::Imag if !a.dtype().is_complex() => return Ok(Block::zeros(a.dtype(), a.shape())),
        UnaryOp::Angle if !a.dtype().is_complex() => {
            // The expression layer casts real operands to float first.
            return unary(UnaryOp::Angle, &a.clone().cast(a.dtype().complex_dtype()));
        }
        _ => {}
    }
    Ok(match a {
        // In complex128, rounded back: float32 parts overflow and lose tiny values inside
        // the formulas (tan of 1e-39 + 1j gave NaN), where NumPy's complex64 functions
        // are accurate.
        Block::C64(x)
            if !matches!(
                op,
                UnaryOp::Neg | UnaryOp::Conj | UnaryOp::Real | UnaryOp::Imag
            ) =>
        {
            let wide = complex_unary(op, &x.mapv(|z| Complex128::new(z.re.into(), z.im.into())))?;
            match wide.dtype() {
                DType::C128 => wide.cast(DType::C64),
                DType::F64 => wide.cast(DType::F32),
                _ => wide,
            }
        }
        Block::C64(x) => complex_unary(op, x)?,
        Block::C128(x) => complex_unary(op, x)?,
        Block::F32(x) => float_unary(op, x),
        Block::F64(x) => float_unary(op, x),
        Block::Bool(x) => match op {
            UnaryOp::Not => Block::Bool(x.mapv(|v| !v)),
            UnaryOp::Abs | UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Trunc => {
                Block::Bool(x.clone())
            }
            UnaryOp::Signbit => Block::Bool(x.mapv(|_| false)),
            op if op.is_predicate() => Block::Bool(x.mapv(|_| op == UnaryOp::IsFinite)),
            _ => {
                return Err(Error::UnsupportedDType {
                    op: op.name().into(),
                    dtype: DType::Bool,
                    hint: String::new(),
                });
            }
        },
        _ if op.is_float_only() => {
            return Err(Error::internal(format!(
                "{} reached the kernel with dtype {}",
                op.name(),
                a.dtype()
            )));
        }
        Block::I8(x) => int_unary(op, x),
        Block::I16(x) => int_unary(op, x),
        Block::I32(x) => int_unary(op, x),
        Block::I64(x) => int_unary(op, x),
        Block::U8(x) => int_unary(op, x),
        Block::U16(x) => int_unary(op, x),
        Block::U32(x) => int_unary(op, x),
        Block::U64(x) => int_unary(op, x),
    })
}

/// `where(cond, x, y)`; `x` and `y` share a dtype; all three broadcast.
///
/// # Errors
/// Mismatched dtypes (a bug in the caller).
pub fn where_(cond: &Block, x: &Block, y: &Block) -> Result<Block> {
    let Block::Bool(c) = cond else {
        return Err(Error::internal("where: condition is not bool"));
    };
    if x.dtype() != y.dtype() {
        return Err(Error::internal("where: branches differ in dtype"));
    }
    crate::dispatch_dtype!(x.dtype(), T => {
        let (xa, ya) = (T::view(x).expect("dtype checked"), T::view(y).expect("dtype checked"));
        let shape = broadcast_shape(&broadcast_shape(c.shape(), xa.shape()), ya.shape());
        let cv = c.broadcast(IxDyn(&shape)).expect("broadcastable");
        let xv = xa.broadcast(IxDyn(&shape)).expect("broadcastable");
        let yv = ya.broadcast(IxDyn(&shape)).expect("broadcastable");
        Ok(T::wrap(Zip::from(&cv).and(&xv).and(&yv).map_collect(|&c, &x, &y| if c { x } else { y })))
    })
}

/// Broadcasts a block to `shape` and returns it in standard layout (a no-op when it
/// already has that shape).
pub fn expand(block: Block, shape: &[usize]) -> Block {
    if block.shape() == shape {
        return block;
    }
    crate::dispatch_block!(block, a => {
        let v = a.broadcast(IxDyn(shape)).expect("broadcastable");
        BlockElement::wrap(v.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_floor_semantics() {
        assert_eq!(<i32 as Arith>::floordiv(-7, 2), -4);
        assert_eq!(<i32 as Arith>::rem(-7, 2), 1);
        assert_eq!(<i32 as Arith>::rem(7, -2), -1);
        assert_eq!(<i32 as Arith>::floordiv(7, 0), 0);
        assert_eq!(<f64 as Arith>::floordiv(-7.0, 2.0), -4.0);
        assert_eq!(<f64 as Arith>::rem(-7.0, 2.0), 1.0);
        assert_eq!(<f64 as Arith>::rem(7.5, -2.0), -0.5);
        assert_eq!(<u8 as Arith>::floordiv(7, 2), 3);
    }

    #[test]
    fn broadcasting_binary() {
        let a = Block::F64(ArrayD::from_shape_vec(IxDyn(&[2, 1]), vec![1.0, 2.0]).unwrap());
        let b = Block::F64(ArrayD::from_shape_vec(IxDyn(&[1, 3]), vec![10.0, 20.0, 30.0]).unwrap());
        let c = binary(BinaryOp::Add, &a, &b).unwrap();
        assert_eq!(c.shape(), &[2, 3]);
        assert_eq!(
            c.into_typed::<f64>().into_raw_vec_and_offset().0,
            vec![11.0, 21.0, 31.0, 12.0, 22.0, 32.0]
        );
    }
}
