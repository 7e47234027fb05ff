//! Run-time data types and NumPy 2 type promotion.
//!
//! An array opened from a store has whatever dtype the store says, so the dtype is a value
//! ([`DType`]) rather than a type parameter. Kernels are generic over [`Element`] and are
//! instantiated once per dtype through the [`dispatch_dtype!`](crate::dispatch_dtype) macro.
//!
//! Promotion follows NumPy 2 (`np.result_type`) including NEP 50: a Python-style scalar
//! ([`Scalar`]) never widens an array's dtype within its kind, so `u8 + 1` stays `u8`.

use std::fmt;

mod complex;

pub use complex::{Complex64, Complex128};

/// The element type of an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// `bool`, one byte, 0 or 1.
    Bool,
    /// `int8`.
    I8,
    /// `int16`.
    I16,
    /// `int32`.
    I32,
    /// `int64`.
    I64,
    /// `uint8`.
    U8,
    /// `uint16`.
    U16,
    /// `uint32`.
    U32,
    /// `uint64`.
    U64,
    /// `float32`.
    F32,
    /// `float64`.
    F64,
    /// `complex64` (two `float32`: [`Complex64`]).
    C64,
    /// `complex128` (two `float64`: [`Complex128`]).
    C128,
}

/// The kind of a dtype, NumPy's `dtype.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `b`
    Bool,
    /// `i`
    Signed,
    /// `u`
    Unsigned,
    /// `f`
    Float,
    /// `c`
    Complex,
}

impl DType {
    /// Every supported dtype, in NumPy's order.
    pub const ALL: [DType; 13] = [
        DType::Bool,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::F32,
        DType::F64,
        DType::C64,
        DType::C128,
    ];

    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 | DType::C64 => 8,
            DType::C128 => 16,
        }
    }

    /// The NumPy / Zarr v3 name: `bool`, `int8`, …, `float64`.
    pub const fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::C64 => "complex64",
            DType::C128 => "complex128",
        }
    }

    /// The little-endian NumPy type string (`|b1`, `<f8`, …), as `.npy` headers and Zarr v2
    /// metadata spell it.
    pub fn numpy_descr(self) -> &'static str {
        match self {
            DType::Bool => "|b1",
            DType::I8 => "|i1",
            DType::I16 => "<i2",
            DType::I32 => "<i4",
            DType::I64 => "<i8",
            DType::U8 => "|u1",
            DType::U16 => "<u2",
            DType::U32 => "<u4",
            DType::U64 => "<u8",
            DType::F32 => "<f4",
            DType::F64 => "<f8",
            DType::C64 => "<c8",
            DType::C128 => "<c16",
        }
    }

    /// Parses a NumPy-style name (`float64`, `f8`, `<f8`, `i4`, `uint8`, `bool`, `?`).
    pub fn from_name(name: &str) -> Option<DType> {
        let n = name.trim().trim_start_matches(['<', '>', '|', '=']);
        let dt = match n {
            "bool" | "b1" | "?" => DType::Bool,
            "int8" | "i1" => DType::I8,
            "int16" | "i2" => DType::I16,
            "int32" | "i4" => DType::I32,
            "int64" | "i8" | "int" => DType::I64,
            "uint8" | "u1" => DType::U8,
            "uint16" | "u2" => DType::U16,
            "uint32" | "u4" => DType::U32,
            "uint64" | "u8" => DType::U64,
            "float32" | "f4" => DType::F32,
            "float64" | "f8" | "float" | "double" => DType::F64,
            "complex64" | "c8" => DType::C64,
            "complex128" | "c16" | "complex" | "cdouble" => DType::C128,
            _ => return None,
        };
        Some(dt)
    }

    /// NumPy's kind of this dtype.
    pub const fn kind(self) -> Kind {
        match self {
            DType::Bool => Kind::Bool,
            DType::I8 | DType::I16 | DType::I32 | DType::I64 => Kind::Signed,
            DType::U8 | DType::U16 | DType::U32 | DType::U64 => Kind::Unsigned,
            DType::F32 | DType::F64 => Kind::Float,
            DType::C64 | DType::C128 => Kind::Complex,
        }
    }

    /// NumPy's `np.can_cast(self, to, casting="same_kind")`: a cast within a kind (also to
    /// a narrower type, `float64 -> float32`, `int64 -> int8`) or to a later kind in
    /// bool, unsigned, signed, float, complex; not complex to float, float to integer,
    /// signed to unsigned, or anything to bool.
    pub const fn can_cast_same_kind(self, to: DType) -> bool {
        const fn rank(k: Kind) -> u8 {
            match k {
                Kind::Bool => 0,
                Kind::Unsigned => 1,
                Kind::Signed => 2,
                Kind::Float => 3,
                Kind::Complex => 4,
            }
        }
        rank(self.kind()) <= rank(to.kind())
    }

    /// True for `float32` and `float64`.
    pub const fn is_float(self) -> bool {
        matches!(self.kind(), Kind::Float)
    }

    /// True for `complex64` and `complex128`.
    pub const fn is_complex(self) -> bool {
        matches!(self.kind(), Kind::Complex)
    }

    /// True for the float and complex types (NumPy's `inexact`).
    pub const fn is_inexact(self) -> bool {
        matches!(self.kind(), Kind::Float | Kind::Complex)
    }

    /// The real dtype of the parts of a complex dtype (`complex64` → `float32`); other
    /// dtypes unchanged. What `abs`, `real` and `imag` return.
    pub const fn real_dtype(self) -> DType {
        match self {
            DType::C64 => DType::F32,
            DType::C128 => DType::F64,
            d => d,
        }
    }

    /// The complex dtype with parts of this precision: `float32` (and the small integers,
    /// as NumPy promotes them) → `complex64`, other real dtypes → `complex128`.
    pub const fn complex_dtype(self) -> DType {
        match self {
            DType::C64
            | DType::F32
            | DType::Bool
            | DType::I8
            | DType::U8
            | DType::I16
            | DType::U16 => DType::C64,
            _ => DType::C128,
        }
    }

    /// True for the signed and unsigned integer types.
    pub const fn is_integer(self) -> bool {
        matches!(self.kind(), Kind::Signed | Kind::Unsigned)
    }

    /// NumPy 2's `result_type(a, b)` for two arrays.
    pub fn promote(a: DType, b: DType) -> DType {
        use DType::*;
        if a == b {
            return a;
        }
        match (a.kind(), b.kind()) {
            (Kind::Bool, _) => b,
            (_, Kind::Bool) => a,
            (Kind::Complex, _) | (_, Kind::Complex) => complex_promote(a, b),
            (Kind::Float, Kind::Float) => F64,
            (Kind::Float, _) => float_for_int(b, a),
            (_, Kind::Float) => float_for_int(a, b),
            (Kind::Signed, Kind::Signed) | (Kind::Unsigned, Kind::Unsigned) => a.max(b),
            (Kind::Signed, Kind::Unsigned) => signed_unsigned(a, b),
            (Kind::Unsigned, Kind::Signed) => signed_unsigned(b, a),
        }
    }

    /// The dtype of `array <op> scalar` under NEP 50: the scalar is "weak" and only changes
    /// the kind (bool → int → float → complex), never the width within a kind.
    pub fn promote_scalar(array: DType, scalar: &Scalar) -> DType {
        match (array.kind(), scalar) {
            (_, Scalar::Bool(_)) => array,
            (Kind::Bool, Scalar::Int(_)) => DType::I64,
            (_, Scalar::Int(_)) => array,
            (Kind::Float | Kind::Complex, Scalar::Float(_)) => array,
            (_, Scalar::Float(_)) => DType::F64,
            (Kind::Complex, Scalar::Complex(..)) => array,
            (Kind::Float, Scalar::Complex(..)) => array.complex_dtype(),
            (_, Scalar::Complex(..)) => DType::C128,
        }
    }

    /// The dtype `sum` and `prod` accumulate and return in (NumPy: small ints widen to the
    /// platform integer, `int64`/`uint64`; bool sums count).
    pub const fn sum_dtype(self) -> DType {
        match self {
            DType::Bool | DType::I8 | DType::I16 | DType::I32 | DType::I64 => DType::I64,
            DType::U8 | DType::U16 | DType::U32 | DType::U64 => DType::U64,
            DType::F32 => DType::F32,
            DType::F64 => DType::F64,
            DType::C64 => DType::C64,
            DType::C128 => DType::C128,
        }
    }

    /// The dtype of `mean` (float32 and the complex types stay, everything else float64).
    /// `var` and `std` return its [`real_dtype`](DType::real_dtype).
    pub const fn mean_dtype(self) -> DType {
        match self {
            DType::F32 | DType::C64 | DType::C128 => self,
            _ => DType::F64,
        }
    }

    /// The inexact type `/` produces for operands of this (already promoted) dtype.
    pub const fn true_divide_dtype(self) -> DType {
        match self {
            DType::F32 | DType::C64 | DType::C128 => self,
            _ => DType::F64,
        }
    }
}

/// int with float: NumPy picks the smallest float that holds the int exactly-ish
/// (int8/16 and uint8/16 fit in float32; anything wider needs float64).
fn float_for_int(int: DType, float: DType) -> DType {
    match (int, float) {
        (DType::I8 | DType::I16 | DType::U8 | DType::U16, DType::F32) => DType::F32,
        _ => DType::F64,
    }
}

/// complex with anything: the complex type whose parts hold both (`complex64` only when
/// the other operand fits in `float32`).
fn complex_promote(a: DType, b: DType) -> DType {
    if a.complex_dtype() == DType::C64 && b.complex_dtype() == DType::C64 {
        DType::C64
    } else {
        DType::C128
    }
}

/// signed with unsigned: the smallest signed type that holds both, float64 for uint64.
fn signed_unsigned(signed: DType, unsigned: DType) -> DType {
    let need = match unsigned {
        DType::U8 => DType::I16,
        DType::U16 => DType::I32,
        DType::U32 => DType::I64,
        _ => return DType::F64,
    };
    signed.max(need)
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A Python-style scalar: its kind matters, its width does not (NEP 50).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// `True` / `False`.
    Bool(bool),
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A complex literal (`2j`, `1 + 2j` folded): real and imaginary parts.
    Complex(f64, f64),
}

impl Scalar {
    /// The value as f64.
    pub fn as_f64(self) -> f64 {
        match self {
            Scalar::Bool(b) => f64::from(u8::from(b)),
            Scalar::Int(i) => i as f64,
            Scalar::Float(x) | Scalar::Complex(x, _) => x,
        }
    }

    /// The value as a complex128.
    pub fn as_complex(self) -> Complex128 {
        match self {
            Scalar::Complex(re, im) => Complex128::new(re, im),
            s => Complex128::new(s.as_f64(), 0.0),
        }
    }

    /// Whether this value is representable in `dtype` (NumPy 2 raises `OverflowError` for
    /// `np.uint8(1) + 300`; so do we).
    pub fn fits(self, dtype: DType) -> bool {
        let Scalar::Int(v) = self else { return true };
        let (lo, hi): (i128, i128) = match dtype {
            DType::I8 => (i8::MIN.into(), i8::MAX.into()),
            DType::I16 => (i16::MIN.into(), i16::MAX.into()),
            DType::I32 => (i32::MIN.into(), i32::MAX.into()),
            DType::I64 => (i64::MIN.into(), i64::MAX.into()),
            DType::U8 => (0, u8::MAX.into()),
            DType::U16 => (0, u16::MAX.into()),
            DType::U32 => (0, u32::MAX.into()),
            DType::U64 => (0, u64::MAX.into()),
            DType::Bool | DType::F32 | DType::F64 | DType::C64 | DType::C128 => return true,
        };
        (lo..=hi).contains(&i128::from(v))
    }
}

impl From<f64> for Scalar {
    fn from(v: f64) -> Self {
        Scalar::Float(v)
    }
}

impl From<i64> for Scalar {
    fn from(v: i64) -> Self {
        Scalar::Int(v)
    }
}

impl From<bool> for Scalar {
    fn from(v: bool) -> Self {
        Scalar::Bool(v)
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{}", if *b { "True" } else { "False" }),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x:?}"),
            Scalar::Complex(re, im) => write!(f, "{}", Complex128::new(*re, *im)),
        }
    }
}

/// A Rust type that is one of brickwork's dtypes.
///
/// Conversions between elements follow NumPy's `astype` (C casts: floats truncate toward
/// zero, out-of-range values saturate in Rust where NumPy's result is undefined).
pub trait Element:
    Copy + Send + Sync + PartialOrd + PartialEq + Default + fmt::Debug + fmt::Display + 'static
{
    /// The dtype of this type.
    const DTYPE: DType;
    /// Converts to f64 (bool: 0 or 1).
    fn to_f64(self) -> f64;
    /// Converts from f64 (truncating toward zero for integers, `!= 0` for bool).
    fn from_f64(v: f64) -> Self;
    /// Converts to i64 (wrapping for u64 above i64::MAX).
    fn to_i64(self) -> i64;
    /// Converts from i64 (wrapping, like NumPy's integer casts).
    fn from_i64(v: i64) -> Self;
    /// Converts to u64 (wrapping).
    fn to_u64(self) -> u64;
    /// Converts from u64 (wrapping).
    fn from_u64(v: u64) -> Self;
    /// Converts from bool (0 or 1).
    fn from_bool(v: bool) -> Self;
    /// `self != 0`.
    fn to_bool(self) -> bool;
    /// Converts to complex128 (real types: imaginary part 0).
    #[inline]
    fn to_complex(self) -> Complex128 {
        Complex128::new(self.to_f64(), 0.0)
    }
    /// Converts from complex128 (real types keep the real part, as NumPy's `astype`).
    #[inline]
    fn from_complex(c: Complex128) -> Self {
        Self::from_f64(c.re)
    }
    /// Converts any element to this type, NumPy `astype` style.
    #[inline]
    fn cast_from<U: Element>(u: U) -> Self {
        match U::DTYPE.kind() {
            Kind::Complex => Self::from_complex(u.to_complex()),
            Kind::Float => Self::from_f64(u.to_f64()),
            Kind::Bool => Self::from_bool(u.to_bool()),
            Kind::Signed => Self::from_i64(u.to_i64()),
            Kind::Unsigned => Self::from_u64(u.to_u64()),
        }
    }
}

macro_rules! int_element {
    ($t:ty, $d:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline]
            fn to_i64(self) -> i64 {
                self as i64
            }
            #[inline]
            fn from_i64(v: i64) -> Self {
                v as $t
            }
            #[inline]
            fn to_u64(self) -> u64 {
                self as u64
            }
            #[inline]
            fn from_u64(v: u64) -> Self {
                v as $t
            }
            #[inline]
            fn from_bool(v: bool) -> Self {
                u8::from(v) as $t
            }
            #[inline]
            fn to_bool(self) -> bool {
                self != (0 as $t)
            }
        }
    };
}

int_element!(i8, I8);
int_element!(i16, I16);
int_element!(i32, I32);
int_element!(i64, I64);
int_element!(u8, U8);
int_element!(u16, U16);
int_element!(u32, U32);
int_element!(u64, U64);
int_element!(f32, F32);
int_element!(f64, F64);

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(u8::from(self))
    }
    #[inline]
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    #[inline]
    fn to_i64(self) -> i64 {
        i64::from(self)
    }
    #[inline]
    fn from_i64(v: i64) -> Self {
        v != 0
    }
    #[inline]
    fn to_u64(self) -> u64 {
        u64::from(self)
    }
    #[inline]
    fn from_u64(v: u64) -> Self {
        v != 0
    }
    #[inline]
    fn from_bool(v: bool) -> Self {
        v
    }
    #[inline]
    fn to_bool(self) -> bool {
        self
    }
}

macro_rules! complex_element {
    ($t:ty, $f:ty, $d:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            #[inline]
            fn to_f64(self) -> f64 {
                self.re.into()
            }
            #[inline]
            fn from_f64(v: f64) -> Self {
                Self::new(v as $f, 0.0)
            }
            #[inline]
            fn to_i64(self) -> i64 {
                self.re as i64
            }
            #[inline]
            fn from_i64(v: i64) -> Self {
                Self::new(v as $f, 0.0)
            }
            #[inline]
            fn to_u64(self) -> u64 {
                self.re as u64
            }
            #[inline]
            fn from_u64(v: u64) -> Self {
                Self::new(v as $f, 0.0)
            }
            #[inline]
            fn from_bool(v: bool) -> Self {
                Self::new(<$f>::from(u8::from(v)), 0.0)
            }
            #[inline]
            fn to_bool(self) -> bool {
                self.re != 0.0 || self.im != 0.0
            }
            #[inline]
            fn to_complex(self) -> Complex128 {
                Complex128::new(self.re.into(), self.im.into())
            }
            #[inline]
            fn from_complex(c: Complex128) -> Self {
                Self::new(c.re as $f, c.im as $f)
            }
        }
    };
}

complex_element!(Complex64, f32, C64);
complex_element!(Complex128, f64, C128);

/// Runs `$body` with the type alias `$t` bound to the Rust type of `$dtype`.
///
/// ```
/// use brickwork::{dispatch_dtype, DType, Element};
/// let size = dispatch_dtype!(DType::I16, T => std::mem::size_of::<T>());
/// assert_eq!(size, 2);
/// ```
#[macro_export]
macro_rules! dispatch_dtype {
    ($dtype:expr, $t:ident => $body:expr) => {
        match $dtype {
            $crate::DType::Bool => {
                type $t = bool;
                $body
            }
            $crate::DType::I8 => {
                type $t = i8;
                $body
            }
            $crate::DType::I16 => {
                type $t = i16;
                $body
            }
            $crate::DType::I32 => {
                type $t = i32;
                $body
            }
            $crate::DType::I64 => {
                type $t = i64;
                $body
            }
            $crate::DType::U8 => {
                type $t = u8;
                $body
            }
            $crate::DType::U16 => {
                type $t = u16;
                $body
            }
            $crate::DType::U32 => {
                type $t = u32;
                $body
            }
            $crate::DType::U64 => {
                type $t = u64;
                $body
            }
            $crate::DType::F32 => {
                type $t = f32;
                $body
            }
            $crate::DType::F64 => {
                type $t = f64;
                $body
            }
            $crate::DType::C64 => {
                type $t = $crate::Complex64;
                $body
            }
            $crate::DType::C128 => {
                type $t = $crate::Complex128;
                $body
            }
        }
    };
}

/// NumPy's sort order of elements: NaN (a value unequal to itself) after everything else,
/// NaNs equal among themselves; complex values lexicographically (real part, then
/// imaginary), as their `PartialOrd` does.
#[allow(clippy::eq_op)]
pub(crate) fn sort_order<T: PartialOrd>(a: &T, b: &T) -> std::cmp::Ordering {
    a.partial_cmp(b)
        .unwrap_or_else(|| (a == a).cmp(&(b == b)).reverse())
}

#[cfg(test)]
mod tests {
    use super::DType::*;
    use super::*;

    #[test]
    fn numpy2_promotion_table() {
        assert_eq!(DType::promote(I32, F64), F64);
        assert_eq!(DType::promote(I8, U8), I16);
        assert_eq!(DType::promote(I64, U64), F64);
        assert_eq!(DType::promote(U32, I32), I64);
        assert_eq!(DType::promote(I16, F32), F32);
        assert_eq!(DType::promote(I32, F32), F64);
        assert_eq!(DType::promote(Bool, U8), U8);
        assert_eq!(DType::promote(F32, F64), F64);
        assert_eq!(DType::promote(U8, U16), U16);
        assert_eq!(DType::promote(C64, F64), C128);
        assert_eq!(DType::promote(C64, F32), C64);
        assert_eq!(DType::promote(C64, I16), C64);
        assert_eq!(DType::promote(C64, I32), C128);
        assert_eq!(DType::promote(Bool, C64), C64);
        assert_eq!(DType::promote(C128, C64), C128);
        assert_eq!(DType::promote_scalar(F32, &Scalar::Complex(0.0, 1.0)), C64);
        assert_eq!(DType::promote_scalar(I8, &Scalar::Complex(0.0, 1.0)), C128);
        assert_eq!(DType::promote_scalar(C64, &Scalar::Float(1.5)), C64);
    }

    #[test]
    fn nep50_weak_scalars() {
        assert_eq!(DType::promote_scalar(U8, &Scalar::Int(1)), U8);
        assert_eq!(DType::promote_scalar(F32, &Scalar::Float(1.5)), F32);
        assert_eq!(DType::promote_scalar(I32, &Scalar::Float(1.5)), F64);
        assert_eq!(DType::promote_scalar(Bool, &Scalar::Int(1)), I64);
        assert!(!Scalar::Int(300).fits(U8));
        assert!(Scalar::Int(-1).fits(I8));
    }
}
