//! Run-time values and Python-style arithmetic on literal scalars.

use super::ast::UnaryOperator;
use super::syntax_error;
use crate::array::Array;
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::expr::{BinaryOp, UnaryOp};

/// What an expression evaluates to; also the arguments and result of [`super::call`] (how
/// other front ends, the Python package's array namespace, call the table's functions).
#[derive(Clone, Debug)]
pub enum Value {
    /// A lazy array.
    Array(Array),
    /// A Python scalar (weak in mixed arithmetic, NEP 50).
    Scalar(Scalar),
    /// A string (dtype names).
    Str(String),
    /// A tuple (shapes, axes, chunks).
    Tuple(Vec<Value>),
    /// `None`.
    None,
    /// Named values read as attributes (`finfo("float32").eps`).
    Record {
        /// What it is (`finfo`, `iinfo`), for messages.
        kind: &'static str,
        /// The attributes.
        fields: Vec<(&'static str, Value)>,
    },
}

impl Value {
    /// The Python-ish type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Array(_) => "array",
            Value::Scalar(Scalar::Bool(_)) => "bool",
            Value::Scalar(Scalar::Int(_)) => "int",
            Value::Scalar(Scalar::Float(_)) => "float",
            Value::Scalar(Scalar::Complex(..)) => "complex",
            Value::Str(_) => "str",
            Value::Tuple(_) => "tuple",
            Value::None => "None",
            Value::Record { kind, .. } => kind,
        }
    }
}

/// `a op b`: array with array, array with a weak scalar, or two folded scalars.
pub(super) fn binary(op: BinaryOp, a: Value, b: Value, col: usize) -> Result<Value> {
    Ok(match (a, b) {
        (Value::Array(x), Value::Array(y)) => Value::Array(x.binary(op, &y)?),
        (Value::Array(x), Value::Scalar(s)) => Value::Array(x.binary_scalar(op, s, false)?),
        (Value::Scalar(s), Value::Array(y)) => Value::Array(y.binary_scalar(op, s, true)?),
        (Value::Scalar(x), Value::Scalar(y)) => Value::Scalar(fold(op, x, y, col)?),
        (a, b) => {
            return Err(syntax_error(
                col,
                format!(
                    "unsupported operand types for {}: {} and {}",
                    op.name(),
                    a.type_name(),
                    b.type_name()
                ),
            ));
        }
    })
}

/// `-v`, `+v`, `~v`. On scalars `~` of a bool is logical not (NumPy's `~np.True_`).
pub(super) fn unary(op: UnaryOperator, v: Value, col: usize) -> Result<Value> {
    let s = match v {
        Value::Array(a) => {
            return Ok(Value::Array(match op {
                UnaryOperator::Neg => a.unary(UnaryOp::Neg)?,
                UnaryOperator::Pos => a,
                UnaryOperator::Invert => a.unary(UnaryOp::Not)?,
            }));
        }
        Value::Scalar(s) => s,
        other => {
            return Err(syntax_error(
                col,
                format!("bad operand type for unary operator: {}", other.type_name()),
            ));
        }
    };
    let r = match (op, s) {
        (UnaryOperator::Invert, Scalar::Bool(b)) => Some(Scalar::Bool(!b)),
        (UnaryOperator::Invert, _) => as_int(s).map(|i| Scalar::Int(!i)),
        (UnaryOperator::Neg, Scalar::Float(x)) => Some(Scalar::Float(-x)),
        (UnaryOperator::Neg, Scalar::Complex(re, im)) => Some(Scalar::Complex(-re, -im)),
        (UnaryOperator::Pos, Scalar::Complex(..)) => Some(s),
        (UnaryOperator::Neg, _) => as_int(s).and_then(i64::checked_neg).map(Scalar::Int),
        (UnaryOperator::Pos, Scalar::Float(_)) => Some(s),
        (UnaryOperator::Pos, _) => as_int(s).map(Scalar::Int),
    };
    r.map(Value::Scalar)
        .ok_or_else(|| syntax_error(col, format!("bad operand for unary operator: {s}")))
}

/// The default dtype of a Python scalar turned into an array (`np.asarray(1)` is int64).
pub(super) fn scalar_dtype(s: Scalar) -> DType {
    match s {
        Scalar::Bool(_) => DType::Bool,
        Scalar::Int(_) => DType::I64,
        Scalar::Float(_) => DType::F64,
        Scalar::Complex(..) => DType::C128,
    }
}

/// A value as an array: a scalar becomes a 0-d array of its default dtype.
pub(super) fn into_array(v: Value, col: usize) -> Result<Array> {
    match v {
        Value::Array(a) => Ok(a),
        Value::Scalar(s) => scalar_array(s),
        Value::Tuple(items) if items.iter().any(|v| matches!(v, Value::Array(_))) => {
            Err(syntax_error(
                col,
                "expected an array, got a tuple of arrays; take one item, as in qr(a)[0]",
            ))
        }
        other => Err(syntax_error(
            col,
            format!("expected an array or a number, got {}", other.type_name()),
        )),
    }
}

/// A scalar as a 0-d array of its default dtype.
pub(super) fn scalar_array(s: Scalar) -> Result<Array> {
    Array::full(&[], &[], s, scalar_dtype(s))
}

/// An integer view of bools and ints (Python's `True + 1 == 2`).
fn as_int(s: Scalar) -> Option<i64> {
    match s {
        Scalar::Bool(b) => Some(i64::from(b)),
        Scalar::Int(i) => Some(i),
        Scalar::Float(_) | Scalar::Complex(..) => None,
    }
}

/// `a op b` on two Python scalars, with Python's results (true division, floor division
/// and modulo that floor, `int ** negative int` as a float, exact integers, bool logic).
pub(super) fn fold(op: BinaryOp, a: Scalar, b: Scalar, col: usize) -> Result<Scalar> {
    use BinaryOp::*;
    if let (Scalar::Bool(x), Scalar::Bool(y), And | Or | Xor) = (a, b, op) {
        return Ok(Scalar::Bool(match op {
            And => x & y,
            Or => x | y,
            _ => x ^ y,
        }));
    }
    if matches!(a, Scalar::Complex(..)) || matches!(b, Scalar::Complex(..)) {
        return complex_op(op, a.as_complex(), b.as_complex(), col);
    }
    match op {
        Eq | Ne | Lt | Le | Gt | Ge => Ok(Scalar::Bool(compare(op, a, b))),
        Div => float_op(op, a.as_f64(), b.as_f64(), col),
        _ => match (as_int(a), as_int(b)) {
            (Some(x), Some(y)) => int_op(op, x, y, col),
            _ => float_op(op, a.as_f64(), b.as_f64(), col),
        },
    }
}

fn compare(op: BinaryOp, a: Scalar, b: Scalar) -> bool {
    let ordering = match (as_int(a), as_int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64().partial_cmp(&b.as_f64()),
    };
    let Some(o) = ordering else {
        return op == BinaryOp::Ne;
    };
    match op {
        BinaryOp::Eq => o.is_eq(),
        BinaryOp::Ne => o.is_ne(),
        BinaryOp::Lt => o.is_lt(),
        BinaryOp::Le => o.is_le(),
        BinaryOp::Gt => o.is_gt(),
        _ => o.is_ge(),
    }
}

fn int_op(op: BinaryOp, x: i64, y: i64, col: usize) -> Result<Scalar> {
    use BinaryOp::*;
    if matches!(op, FloorDiv | Rem) && y == 0 {
        return Err(syntax_error(col, "integer division or modulo by zero"));
    }
    let r = match op {
        Add => x.checked_add(y),
        Sub => x.checked_sub(y),
        Mul => x.checked_mul(y),
        FloorDiv => x.checked_div_euclid(y).map(|q| floor_quotient(x, y, q)),
        Rem => x
            .checked_rem_euclid(y)
            .map(|r| if y < 0 && r != 0 { r + y } else { r }),
        Pow if y < 0 => return float_op(op, x as f64, y as f64, col),
        Arctan2 | Hypot | Copysign | Nextafter | Logaddexp | Logaddexp2 => {
            return float_op(op, x as f64, y as f64, col);
        }
        Shl if y < 0 => None,
        Shl => u32::try_from(y)
            .ok()
            .and_then(|n| x.checked_shl(n))
            .filter(|v| v >> y == x),
        Shr if y < 0 => None,
        Shr => Some(x >> y.min(63)),
        Pow => u32::try_from(y).ok().and_then(|e| x.checked_pow(e)),
        And => Some(x & y),
        Or => Some(x | y),
        Xor => Some(x ^ y),
        Minimum => Some(x.min(y)),
        Maximum => Some(x.max(y)),
        Div | Eq | Ne | Lt | Le | Gt | Ge => None,
    };
    r.map(Scalar::Int)
        .ok_or_else(|| syntax_error(col, format!("integer overflow in {}", op.name())))
}

/// Python's floor division from the Euclidean quotient (they differ for negative divisors).
fn floor_quotient(x: i64, y: i64, q: i64) -> i64 {
    if y < 0 && x.rem_euclid(y) != 0 {
        q - 1
    } else {
        q
    }
}

fn float_op(op: BinaryOp, x: f64, y: f64, col: usize) -> Result<Scalar> {
    use BinaryOp::*;
    if matches!(op, Div | FloorDiv | Rem) && y == 0.0 {
        return Err(syntax_error(col, "division by zero"));
    }
    let r = match op {
        Add => x + y,
        Sub => x - y,
        Mul => x * y,
        Div => x / y,
        FloorDiv => (x / y).floor(),
        Rem => python_fmod(x, y),
        Pow => x.powf(y),
        Minimum => nan_or(x, y, f64::min),
        Maximum => nan_or(x, y, f64::max),
        _ if op.is_float_only() => {
            crate::kernel::elementwise::float_scalar(op, x, y).unwrap_or(f64::NAN)
        }
        _ => {
            return Err(syntax_error(
                col,
                format!("{} is not supported for float scalars", op.name()),
            ));
        }
    };
    Ok(Scalar::Float(r))
}

/// Python's complex arithmetic: `+ - * / **`, `==` and `!=`; the rest are TypeErrors.
fn complex_op(
    op: BinaryOp,
    x: crate::Complex128,
    y: crate::Complex128,
    col: usize,
) -> Result<Scalar> {
    use crate::kernel::elementwise::Arith;
    use BinaryOp::*;
    if op == Div && y.re == 0.0 && y.im == 0.0 {
        return Err(syntax_error(col, "complex division by zero"));
    }
    let r = match op {
        Add => x + y,
        Sub => x - y,
        Mul => x * y,
        Div => x / y,
        Pow => Arith::pow(x, y).unwrap_or_default(),
        Eq => return Ok(Scalar::Bool(x == y)),
        Ne => return Ok(Scalar::Bool(x != y)),
        _ => {
            return Err(syntax_error(
                col,
                format!("{} is not supported for complex scalars", op.name()),
            ));
        }
    };
    Ok(Scalar::Complex(r.re, r.im))
}

/// `x % y` with the sign of `y`, like Python.
fn python_fmod(x: f64, y: f64) -> f64 {
    let r = x % y;
    if r != 0.0 && (r < 0.0) != (y < 0.0) {
        r + y
    } else {
        r
    }
}

/// `f(x, y)`, but NaN when either is NaN (NumPy's `minimum`/`maximum`).
fn nan_or(x: f64, y: f64, f: fn(f64, f64) -> f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else {
        f(x, y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(op: BinaryOp, a: impl Into<Scalar>, b: impl Into<Scalar>) -> Scalar {
        fold(op, a.into(), b.into(), 1).unwrap()
    }

    #[test]
    fn python_integer_arithmetic() {
        use BinaryOp::*;
        assert_eq!(f(FloorDiv, 7i64, 2i64), Scalar::Int(3));
        assert_eq!(f(FloorDiv, -7i64, 2i64), Scalar::Int(-4));
        assert_eq!(f(FloorDiv, 7i64, -2i64), Scalar::Int(-4));
        assert_eq!(f(FloorDiv, -7i64, -2i64), Scalar::Int(3));
        assert_eq!(f(Rem, -7i64, 2i64), Scalar::Int(1));
        assert_eq!(f(Rem, 7i64, -2i64), Scalar::Int(-1));
        assert_eq!(f(Rem, -7i64, -2i64), Scalar::Int(-1));
        assert_eq!(f(Pow, 2i64, 10i64), Scalar::Int(1024));
        assert_eq!(f(Pow, 2i64, -1i64), Scalar::Float(0.5));
        assert_eq!(f(Div, 1i64, 2i64), Scalar::Float(0.5));
        assert_eq!(f(Add, true, true), Scalar::Int(2));
        assert_eq!(f(And, true, false), Scalar::Bool(false));
        assert_eq!(f(Xor, 6i64, 3i64), Scalar::Int(5));
        assert_eq!(f(Lt, 1i64, 1.5), Scalar::Bool(true));
        assert_eq!(f(Ne, f64::NAN, f64::NAN), Scalar::Bool(true));
    }

    #[test]
    fn python_float_arithmetic() {
        use BinaryOp::*;
        assert_eq!(f(Rem, -7.5, 2i64), Scalar::Float(0.5));
        assert_eq!(f(FloorDiv, 7.5, 2i64), Scalar::Float(3.0));
        assert_eq!(f(Mul, 2i64, 2.5), Scalar::Float(5.0));
    }

    #[test]
    fn errors_instead_of_overflow_or_division_by_zero() {
        use BinaryOp::*;
        for (op, a, b) in [
            (Add, Scalar::Int(i64::MAX), Scalar::Int(1)),
            (Pow, Scalar::Int(10), Scalar::Int(100)),
            (FloorDiv, Scalar::Int(i64::MIN), Scalar::Int(-1)),
            (Rem, Scalar::Int(1), Scalar::Int(0)),
            (Div, Scalar::Int(1), Scalar::Int(0)),
            (And, Scalar::Float(1.0), Scalar::Int(1)),
        ] {
            assert!(fold(op, a, b, 1).is_err(), "{op:?} {a} {b}");
        }
    }
}
