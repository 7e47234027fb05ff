//! Elementwise operations: methods, `std::ops` operators, and scalars (NEP 50 weak scalars).

use std::ops;

use super::Array;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::expr::{self, BinaryOp, ExprRef, FullValue, Generator, UnaryOp};
use crate::grid::ChunkGrid;

/// A 0-d constant node holding `value` as `dtype`.
fn constant(value: Scalar, dtype: DType) -> ExprRef {
    let value = match value {
        Scalar::Bool(b) => FullValue::Int(i64::from(b)),
        Scalar::Int(i) => FullValue::Int(i),
        Scalar::Float(x) => FullValue::Float(x),
    };
    expr::generator(
        Generator::Full { value },
        dtype,
        ChunkGrid::regular(&[], &[]),
    )
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
