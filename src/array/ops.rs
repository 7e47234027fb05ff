//! Elementwise operations: methods, `std::ops` operators, and scalars (NEP 50 weak scalars).

use std::ops;

use super::Array;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::expr::{self, BinaryOp, ExprRef, FullValue, Generator, UnaryOp};
use crate::grid::ChunkGrid;

/// A 0-d constant node holding `value` as `dtype`.
fn constant(value: Scalar, dtype: DType) -> ExprRef {
    let value = FullValue::from(value);
    expr::generator(
        Generator::Full { value },
        dtype,
        ChunkGrid::regular(&[], &[]),
    )
}

/// `10^n` as NumPy's `round` computes it (exact table up to 10^8, then repeated
/// multiplication), so that rounding gives NumPy's bits.
fn power_of_ten(n: u32) -> f64 {
    const TABLE: [f64; 9] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];
    match TABLE.get(n as usize) {
        Some(&p) => p,
        None => (9..n).fold(1e9, |p, _| p * 10.0),
    }
}

impl Array {
    /// Applies a binary function with NumPy broadcasting and type promotion.
    ///
    /// # Errors
    /// Shapes that do not broadcast, or a dtype the function does not support.
    pub fn binary(&self, op: BinaryOp, other: &Array) -> Result<Array> {
        Ok(Array::from_expr(expr::binary(
            op,
            self.expr()?,
            other.expr()?,
        )?))
    }

    /// Applies a binary function between the array and a Python-style scalar; the scalar
    /// does not widen the array's dtype within its kind (NEP 50). With `scalar_first`, the
    /// scalar is the left operand (`2 - x`).
    ///
    /// # Errors
    /// A scalar that does not fit the array's integer dtype (`u8 + 300`), or as
    /// [`Array::binary`].
    pub fn binary_scalar(&self, op: BinaryOp, scalar: Scalar, scalar_first: bool) -> Result<Array> {
        let e = self.expr()?;
        let dtype = DType::promote_scalar(e.dtype(), &scalar);
        if !scalar.fits(dtype) {
            return Err(Error::invalid(format!(
                "Python integer {scalar} out of bounds for {dtype} (in {} with an array of shape {})",
                op.name(),
                crate::grid::fmt_shape(&e.shape())
            )));
        }
        let c = constant(scalar, dtype);
        let node = if scalar_first {
            expr::binary(op, &c, e)?
        } else {
            expr::binary(op, e, &c)?
        };
        Ok(Array::from_expr(node))
    }

    /// Applies a unary function. Float functions of integer arrays compute in float64
    /// (float32 for bool and 8/16-bit integers; NumPy would use float16, which brickwork
    /// does not have).
    ///
    /// # Errors
    /// A dtype the function does not support (`-` on bool, `~` on floats).
    pub fn unary(&self, op: UnaryOp) -> Result<Array> {
        Ok(Array::from_expr(expr::unary(op, self.expr()?)?))
    }

    /// Converts to `dtype` (NumPy `astype`: floats truncate toward zero).
    ///
    /// # Errors
    /// A deferred operator error.
    pub fn astype(&self, dtype: DType) -> Result<Array> {
        Ok(Array::from_expr(expr::cast(self.expr()?, dtype)))
    }

    /// `sqrt(x)`.
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn sqrt(&self) -> Result<Array> {
        self.unary(UnaryOp::Sqrt)
    }

    /// `exp(x)`.
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn exp(&self) -> Result<Array> {
        self.unary(UnaryOp::Exp)
    }

    /// Natural logarithm.
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn ln(&self) -> Result<Array> {
        self.unary(UnaryOp::Log)
    }

    /// `|x|`.
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn abs(&self) -> Result<Array> {
        self.unary(UnaryOp::Abs)
    }

    /// `sin(x)`.
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn sin(&self) -> Result<Array> {
        self.unary(UnaryOp::Sin)
    }

    /// `cos(x)`.
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn cos(&self) -> Result<Array> {
        self.unary(UnaryOp::Cos)
    }

    /// `tan(x)`.
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn tan(&self) -> Result<Array> {
        self.unary(UnaryOp::Tan)
    }

    /// Inverse sine (NumPy's `arcsin`).
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn asin(&self) -> Result<Array> {
        self.unary(UnaryOp::Arcsin)
    }

    /// Inverse cosine (NumPy's `arccos`).
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn acos(&self) -> Result<Array> {
        self.unary(UnaryOp::Arccos)
    }

    /// Inverse tangent (NumPy's `arctan`).
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn atan(&self) -> Result<Array> {
        self.unary(UnaryOp::Arctan)
    }

    /// `sinh(x)`.
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn sinh(&self) -> Result<Array> {
        self.unary(UnaryOp::Sinh)
    }

    /// `cosh(x)`.
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn cosh(&self) -> Result<Array> {
        self.unary(UnaryOp::Cosh)
    }

    /// `tanh(x)`.
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn tanh(&self) -> Result<Array> {
        self.unary(UnaryOp::Tanh)
    }

    /// Base-10 logarithm.
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn log10(&self) -> Result<Array> {
        self.unary(UnaryOp::Log10)
    }

    /// Base-2 logarithm.
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn log2(&self) -> Result<Array> {
        self.unary(UnaryOp::Log2)
    }

    /// `ln(1 + x)`, accurate near 0 (NumPy's `log1p`).
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn ln_1p(&self) -> Result<Array> {
        self.unary(UnaryOp::Log1p)
    }

    /// `e^x - 1`, accurate near 0 (NumPy's `expm1`).
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn exp_m1(&self) -> Result<Array> {
        self.unary(UnaryOp::Expm1)
    }

    /// Largest integer `<= x`; integer and bool arrays are returned unchanged (NumPy 2).
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn floor(&self) -> Result<Array> {
        self.unary(UnaryOp::Floor)
    }

    /// Smallest integer `>= x`; integer and bool arrays are returned unchanged (NumPy 2).
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn ceil(&self) -> Result<Array> {
        self.unary(UnaryOp::Ceil)
    }

    /// Rounds toward zero; integer and bool arrays are returned unchanged (NumPy 2).
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn trunc(&self) -> Result<Array> {
        self.unary(UnaryOp::Trunc)
    }

    /// -1, 0 or 1 in the array's dtype, NaN for NaN (NumPy's `sign`; an error for bool).
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn signum(&self) -> Result<Array> {
        self.unary(UnaryOp::Sign)
    }

    /// True where NaN (NumPy's `isnan`; all false for integer and bool arrays).
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn is_nan(&self) -> Result<Array> {
        self.unary(UnaryOp::IsNan)
    }

    /// True where +inf or -inf (NumPy's `isinf`; all false for integer and bool arrays).
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn is_infinite(&self) -> Result<Array> {
        self.unary(UnaryOp::IsInf)
    }

    /// True where neither NaN nor infinite (NumPy's `isfinite`; all true for integer and bool arrays).
    ///
    /// # Errors
    /// As [`Array::unary`].
    pub fn is_finite(&self) -> Result<Array> {
        self.unary(UnaryOp::IsFinite)
    }

    /// Rounds to `decimals` decimal places, halves to even, exactly as NumPy's `round`:
    /// floats compute `rint(x * 10^d) / 10^d` in their own dtype (`rint(x / 10^-d) * 10^-d`
    /// for negative `d`); integer arrays are unchanged for `d >= 0` and go through float64
    /// for `d < 0`; bool arrays round to float32 for `d = 0` (NumPy: float16).
    ///
    /// # Errors
    /// A bool array with `decimals != 0` (as NumPy), or a deferred operator error.
    pub fn round(&self, decimals: i32) -> Result<Array> {
        let dtype = self.expr()?.dtype();
        if dtype == DType::Bool && decimals != 0 {
            return Err(Error::UnsupportedDType {
                op: format!("round(decimals={decimals})"),
                dtype,
                hint: "convert with astype(\"float64\") first".into(),
            });
        }
        if dtype.is_integer() && decimals >= 0 {
            return Ok(self.clone());
        }
        if decimals == 0 {
            return self.unary(UnaryOp::Rint);
        }
        let scale = Scalar::Float(power_of_ten(decimals.unsigned_abs()));
        if decimals > 0 {
            let scaled = self.binary_scalar(BinaryOp::Mul, scale, false)?;
            return scaled
                .unary(UnaryOp::Rint)?
                .binary_scalar(BinaryOp::Div, scale, false);
        }
        let x = if dtype.is_integer() {
            self.astype(DType::F64)?
        } else {
            self.clone()
        };
        let scaled = x.binary_scalar(BinaryOp::Div, scale, false)?;
        let rounded = scaled
            .unary(UnaryOp::Rint)?
            .binary_scalar(BinaryOp::Mul, scale, false)?;
        rounded.astype(dtype)
    }

    /// NumPy's `nan_to_num`: NaN becomes `nan`, +inf `posinf` and -inf `neginf`, each
    /// converted to the array's dtype; `None` stands for the dtype's largest (smallest)
    /// finite value. Integer and bool arrays are returned unchanged.
    ///
    /// # Errors
    /// A deferred operator error.
    pub fn nan_to_num(&self, nan: f64, posinf: Option<f64>, neginf: Option<f64>) -> Result<Array> {
        let dtype = self.expr()?.dtype();
        let max = match dtype {
            DType::F32 => f64::from(f32::MAX),
            DType::F64 => f64::MAX,
            _ => return Ok(self.clone()),
        };
        let value = |v: f64| Array::full(&[], &[], Scalar::Float(v), dtype);
        let inf = |sign: f64| {
            self.binary_scalar(BinaryOp::Eq, Scalar::Float(sign * f64::INFINITY), false)
        };
        let y = Array::where_(&inf(-1.0)?, &value(neginf.unwrap_or(-max))?, self)?;
        let y = Array::where_(&inf(1.0)?, &value(posinf.unwrap_or(max))?, &y)?;
        Array::where_(&self.is_nan()?, &value(nan)?, &y)
    }

    /// `arctan2(x, other)`: the angle of the point `(other, x)` (NumPy's `arctan2`, `x` being
    /// the `y` coordinate), with NumPy broadcasting; integers compute in floats as
    /// [`Array::unary`] describes.
    ///
    /// # Errors
    /// As [`Array::binary`].
    pub fn atan2(&self, other: &Array) -> Result<Array> {
        self.binary(BinaryOp::Arctan2, other)
    }

    /// `sqrt(x² + other²)` without intermediate overflow (NumPy's `hypot`), with NumPy
    /// broadcasting; integers compute in floats as [`Array::unary`] describes.
    ///
    /// # Errors
    /// As [`Array::binary`].
    pub fn hypot(&self, other: &Array) -> Result<Array> {
        self.binary(BinaryOp::Hypot, other)
    }

    /// `x ** e` for a float exponent (integer arrays become float64).
    ///
    /// # Errors
    /// As [`Array::binary`].
    pub fn powf(&self, e: f64) -> Result<Array> {
        self.binary_scalar(BinaryOp::Pow, Scalar::Float(e), false)
    }

    /// `x ** y` elementwise.
    ///
    /// # Errors
    /// As [`Array::binary`].
    pub fn pow(&self, y: &Array) -> Result<Array> {
        self.binary(BinaryOp::Pow, y)
    }

    /// `x == y` elementwise (bool).
    ///
    /// # Errors
    /// As [`Array::binary`].
    pub fn equal(&self, y: &Array) -> Result<Array> {
        self.binary(BinaryOp::Eq, y)
    }

    /// `x != y` elementwise (bool).
    ///
    /// # Errors
    /// As [`Array::binary`].
    pub fn not_equal(&self, y: &Array) -> Result<Array> {
        self.binary(BinaryOp::Ne, y)
    }

    /// `x < y` elementwise (bool).
    ///
    /// # Errors
    /// As [`Array::binary`].
    pub fn less(&self, y: &Array) -> Result<Array> {
        self.binary(BinaryOp::Lt, y)
    }

    /// `x <= y` elementwise (bool).
    ///
    /// # Errors
    /// As [`Array::binary`].
    pub fn less_equal(&self, y: &Array) -> Result<Array> {
        self.binary(BinaryOp::Le, y)
    }

    /// `x > y` elementwise (bool).
    ///
    /// # Errors
    /// As [`Array::binary`].
    pub fn greater(&self, y: &Array) -> Result<Array> {
        self.binary(BinaryOp::Gt, y)
    }

    /// `x >= y` elementwise (bool).
    ///
    /// # Errors
    /// As [`Array::binary`].
    pub fn greater_equal(&self, y: &Array) -> Result<Array> {
        self.binary(BinaryOp::Ge, y)
    }

    /// Elementwise minimum (NaN-propagating).
    ///
    /// # Errors
    /// As [`Array::binary`].
    pub fn minimum(&self, y: &Array) -> Result<Array> {
        self.binary(BinaryOp::Minimum, y)
    }

    /// Elementwise maximum (NaN-propagating).
    ///
    /// # Errors
    /// As [`Array::binary`].
    pub fn maximum(&self, y: &Array) -> Result<Array> {
        self.binary(BinaryOp::Maximum, y)
    }

    /// `x` clipped to `[lo, hi]`: `minimum(maximum(x, lo), hi)`.
    ///
    /// # Errors
    /// As [`Array::binary`].
    pub fn clip(&self, lo: &Array, hi: &Array) -> Result<Array> {
        self.maximum(lo)?.minimum(hi)
    }

    /// `where(cond, x, y)`: elements of `x` where `cond` is true, else of `y`.
    ///
    /// # Errors
    /// Shapes that do not broadcast.
    pub fn where_(cond: &Array, x: &Array, y: &Array) -> Result<Array> {
        Ok(Array::from_expr(expr::where_(
            cond.expr()?,
            x.expr()?,
            y.expr()?,
        )?))
    }
}

macro_rules! binary_operator {
    ($trait:ident, $method:ident, $op:expr) => {
        impl ops::$trait<&Array> for &Array {
            type Output = Array;
            fn $method(self, rhs: &Array) -> Array {
                Array::from_result(self.binary($op, rhs).and_then(|a| a.expr().cloned()))
            }
        }
        impl ops::$trait<Array> for Array {
            type Output = Array;
            fn $method(self, rhs: Array) -> Array {
                (&self).$method(&rhs)
            }
        }
        impl ops::$trait<&Array> for Array {
            type Output = Array;
            fn $method(self, rhs: &Array) -> Array {
                (&self).$method(rhs)
            }
        }
        impl ops::$trait<Array> for &Array {
            type Output = Array;
            fn $method(self, rhs: Array) -> Array {
                self.$method(&rhs)
            }
        }
        binary_operator!(@scalar $trait, $method, $op, f64, Float);
        binary_operator!(@scalar $trait, $method, $op, i64, Int);
    };
    (@scalar $trait:ident, $method:ident, $op:expr, $t:ty, $variant:ident) => {
        impl ops::$trait<$t> for &Array {
            type Output = Array;
            fn $method(self, rhs: $t) -> Array {
                Array::from_result(
                    self.binary_scalar($op, Scalar::$variant(rhs.into()), false)
                        .and_then(|a| a.expr().cloned()),
                )
            }
        }
        impl ops::$trait<$t> for Array {
            type Output = Array;
            fn $method(self, rhs: $t) -> Array {
                (&self).$method(rhs)
            }
        }
        impl ops::$trait<&Array> for $t {
            type Output = Array;
            fn $method(self, rhs: &Array) -> Array {
                Array::from_result(
                    rhs.binary_scalar($op, Scalar::$variant(self.into()), true)
                        .and_then(|a| a.expr().cloned()),
                )
            }
        }
        impl ops::$trait<Array> for $t {
            type Output = Array;
            fn $method(self, rhs: Array) -> Array {
                self.$method(&rhs)
            }
        }
    };
}

binary_operator!(Add, add, BinaryOp::Add);
binary_operator!(Sub, sub, BinaryOp::Sub);
binary_operator!(Mul, mul, BinaryOp::Mul);
binary_operator!(Div, div, BinaryOp::Div);
binary_operator!(Rem, rem, BinaryOp::Rem);

macro_rules! bit_operator {
    ($trait:ident, $method:ident, $op:expr) => {
        impl ops::$trait<&Array> for &Array {
            type Output = Array;
            fn $method(self, rhs: &Array) -> Array {
                Array::from_result(self.binary($op, rhs).and_then(|a| a.expr().cloned()))
            }
        }
        impl ops::$trait<Array> for Array {
            type Output = Array;
            fn $method(self, rhs: Array) -> Array {
                (&self).$method(&rhs)
            }
        }
    };
}

bit_operator!(BitAnd, bitand, BinaryOp::And);
bit_operator!(BitOr, bitor, BinaryOp::Or);
bit_operator!(BitXor, bitxor, BinaryOp::Xor);

impl ops::Neg for &Array {
    type Output = Array;
    fn neg(self) -> Array {
        Array::from_result(self.unary(UnaryOp::Neg).and_then(|a| a.expr().cloned()))
    }
}

impl ops::Neg for Array {
    type Output = Array;
    fn neg(self) -> Array {
        -&self
    }
}

impl ops::Not for &Array {
    type Output = Array;
    fn not(self) -> Array {
        Array::from_result(self.unary(UnaryOp::Not).and_then(|a| a.expr().cloned()))
    }
}

impl ops::Not for Array {
    type Output = Array;
    fn not(self) -> Array {
        !&self
    }
}
