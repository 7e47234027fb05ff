//! Complex elements: NumPy's `complex64` ([`Complex64`], two `f32`) and `complex128`
//! ([`Complex128`], two `f64`).
//!
//! They are brickwork's own `repr(C)` pairs, laid out as C99, NumPy, Zarr and
//! `num_complex::Complex` lay them out (real part first), so blocks convert to and from
//! those without copying. They are ordered lexicographically (real part, then imaginary
//! part), which is how NumPy sorts complex values and how its `maximum`, `minimum`, `max`,
//! `min`, `argmax` and comparisons treat them; with that order every kernel that only needs
//! `PartialOrd` works on complex blocks unchanged. The arithmetic is `num_complex`'s.

use std::cmp::Ordering;
use std::fmt;

use ndarray::{ArrayD, ArrayViewD, IxDyn, ShapeBuilder};
use num_complex::Complex;

macro_rules! complex_type {
    ($name:ident, $f:ty, $numpy:literal) => {
        #[doc = concat!("A NumPy `", $numpy, "` value: real and imaginary `", stringify!($f), "` parts.")]
        #[repr(C)]
        #[derive(Clone, Copy, Default, PartialEq)]
        pub struct $name {
            /// The real part.
            pub re: $f,
            /// The imaginary part.
            pub im: $f,
        }

        // SAFETY: two floats in a `repr(C)` struct, no padding; every bit pattern is valid.
        unsafe impl bytemuck::Zeroable for $name {}
        // SAFETY: as above; `Copy` and `'static`.
        unsafe impl bytemuck::Pod for $name {}

        impl $name {
            /// `re + im·j`.
            #[inline]
            pub const fn new(re: $f, im: $f) -> Self {
                Self { re, im }
            }

            /// The value as a `num_complex::Complex`, for its arithmetic and functions.
            #[inline]
            pub const fn num(self) -> Complex<$f> {
                Complex::new(self.re, self.im)
            }

            /// The absolute value (NumPy's `abs`: `hypot(re, im)`).
            #[inline]
            pub fn abs(self) -> $f {
                self.re.hypot(self.im)
            }

            /// The complex conjugate.
            #[inline]
            pub fn conj(self) -> Self {
                Self::new(self.re, -self.im)
            }

            /// True if either part is NaN.
            #[inline]
            pub fn is_nan(self) -> bool {
                self.re.is_nan() || self.im.is_nan()
            }

            /// A view of these values as `num_complex` values (no copy): for FFT, BLAS
            /// and NumPy bindings, which take those.
            pub fn as_num(a: ArrayViewD<'_, Self>) -> ArrayViewD<'_, Complex<$f>> {
                // SAFETY: `Self` and `Complex<$f>` are both `repr(C)` pairs of `$f`, real
                // part first: same size, alignment and validity.
                unsafe { reinterpret(a) }
            }

            /// A view of `num_complex` values as these (no copy).
            pub fn from_num_view(a: ArrayViewD<'_, Complex<$f>>) -> ArrayViewD<'_, Self> {
                // SAFETY: as in `as_num`.
                unsafe { reinterpret(a) }
            }

            /// An owned array of `num_complex` values as these (no copy when it is in
            /// standard layout, as kernels return them).
            pub fn from_num(a: ArrayD<Complex<$f>>) -> ArrayD<Self> {
                if !a.is_standard_layout() {
                    return a.mapv(Self::from);
                }
                let (shape, len) = (a.raw_dim(), a.len());
                let (v, offset) = a.into_raw_vec_and_offset();
                if offset.unwrap_or(0) != 0 || v.len() != len {
                    let start = offset.unwrap_or(0);
                    let v: Vec<Self> = v[start..start + len].iter().map(|&c| Self::from(c)).collect();
                    return ArrayD::from_shape_vec(shape, v).expect("the same number of elements");
                }
                let v: Vec<Self> = bytemuck::allocation::cast_vec(v);
                ArrayD::from_shape_vec(shape, v).expect("the same number of elements")
            }
        }

        impl From<Complex<$f>> for $name {
            #[inline]
            fn from(c: Complex<$f>) -> Self {
                Self::new(c.re, c.im)
            }
        }

        impl From<$name> for Complex<$f> {
            #[inline]
            fn from(c: $name) -> Self {
                c.num()
            }
        }

        impl PartialOrd for $name {
            /// Lexicographic, as NumPy orders complex values; `None` if a part is NaN.
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                if self.is_nan() || other.is_nan() {
                    return None;
                }
                match self.re.partial_cmp(&other.re)? {
                    Ordering::Equal => self.im.partial_cmp(&other.im),
                    o => Some(o),
                }
            }
        }

        impl fmt::Display for $name {
            /// NumPy's repr: `(1+2j)`, `(1.5-0j)`, `(nan+infj)`.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let sign = if self.im.is_sign_negative() && !self.im.is_nan() { '-' } else { '+' };
                write!(f, "({}{}{}j)", part(self.re.into()), sign, part(self.im.abs().into()))
            }
        }

        impl fmt::Debug for $name {
            /// As [`Display`](fmt::Display): Python's repr, `(1+2j)`.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl std::ops::Add for $name {
            type Output = Self;
            #[inline]
            fn add(self, o: Self) -> Self {
                Self::new(self.re + o.re, self.im + o.im)
            }
        }

        impl std::ops::Sub for $name {
            type Output = Self;
            #[inline]
            fn sub(self, o: Self) -> Self {
                Self::new(self.re - o.re, self.im - o.im)
            }
        }

        impl std::ops::Mul for $name {
            type Output = Self;
            #[inline]
            fn mul(self, o: Self) -> Self {
                (self.num() * o.num()).into()
            }
        }

        impl std::ops::Div for $name {
            type Output = Self;
            #[inline]
            fn div(self, o: Self) -> Self {
                complex_div(self.num(), o.num()).into()
            }
        }

        impl num_traits::Zero for $name {
            #[inline]
            fn zero() -> Self {
                Self::default()
            }
            #[inline]
            fn is_zero(&self) -> bool {
                self.re == 0.0 && self.im == 0.0
            }
        }

        impl num_traits::One for $name {
            #[inline]
            fn one() -> Self {
                Self::new(1.0, 0.0)
            }
        }

        impl std::ops::Neg for $name {
            type Output = Self;
            #[inline]
            fn neg(self) -> Self {
                Self::new(-self.re, -self.im)
            }
        }
    };
}

complex_type!(Complex64, f32, "complex64");
complex_type!(Complex128, f64, "complex128");

/// Reinterprets a view's elements as another type of the same layout.
///
/// # Safety
/// `A` and `B` must have the same size and alignment, and every `A` must be a valid `B`.
unsafe fn reinterpret<A, B>(a: ArrayViewD<'_, A>) -> ArrayViewD<'_, B> {
    let shape = a.shape().to_vec();
    let strides: Vec<usize> = a.strides().iter().map(|&s| s as usize).collect();
    let ptr = a.as_ptr().cast::<B>();
    // SAFETY: the caller's contract on `A` and `B`; shape, strides (counted in elements of
    // the same size, negative ones as ndarray stores them) and lifetime are the view's.
    unsafe { ArrayViewD::from_shape_ptr(IxDyn(&shape).strides(IxDyn(&strides)), ptr) }
}

/// A float as NumPy prints a part of a complex number: integers without a fraction.
fn part(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        "inf".into()
    } else if x == x.trunc() && x.abs() < 1e16 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

/// Complex division by Smith's algorithm (what NumPy does): no overflow for large
/// operands, and `x / 0` is `inf`/`nan` per part as in NumPy rather than `num_complex`'s
/// `nan` everywhere.
#[inline]
fn complex_div<F: num_traits::Float>(a: Complex<F>, b: Complex<F>) -> Complex<F> {
    let (br, bi) = (b.re, b.im);
    if br.abs() >= bi.abs() {
        if br == F::zero() && bi == F::zero() {
            return Complex::new(a.re / br.abs(), a.im / br.abs());
        }
        let rat = bi / br;
        let scl = F::one() / (br + bi * rat);
        Complex::new((a.re + a.im * rat) * scl, (a.im - a.re * rat) * scl)
    } else {
        let rat = br / bi;
        let scl = F::one() / (bi + br * rat);
        Complex::new((a.re * rat + a.im) * scl, (a.im * rat - a.re) * scl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicographic_order_and_display() {
        let a = Complex128::new(1.0, 5.0);
        let b = Complex128::new(2.0, -1.0);
        assert!(a < b);
        assert!(Complex128::new(1.0, 1.0) < a);
        assert_eq!(Complex128::new(f64::NAN, 0.0).partial_cmp(&a), None);
        assert_eq!(a.to_string(), "(1+5j)");
        assert_eq!(Complex128::new(1.5, -0.0).to_string(), "(1.5-0j)");
        assert_eq!(Complex64::new(0.0, 2.0).to_string(), "(0+2j)");
    }

    #[test]
    fn division_as_numpy() {
        let q = Complex128::new(1.0, 2.0) / Complex128::new(3.0, -4.0);
        assert!((q.re - -0.2).abs() < 1e-15 && (q.im - 0.4).abs() < 1e-15);
        let z = Complex128::new(1.0, 0.0) / Complex128::new(0.0, 0.0);
        assert!(z.re.is_infinite() && z.im.is_nan());
        let big = Complex128::new(1e300, 1e300) / Complex128::new(1e300, 1e300);
        assert!((big.re - 1.0).abs() < 1e-15 && big.im.abs() < 1e-15);
    }
}
