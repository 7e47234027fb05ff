//! Sorting by element value in NumPy's order: ascending with NaN last, or descending with
//! NaN first (the array API's `descending=True`), stably (equal values keep their order).
//!
//! Numbers are radix sorted (`radsort`, LSB, linear in the length) on a key in which the
//! values NumPy holds equal are equal (-0.0 and 0.0, every NaN whatever its sign or
//! payload), so the result is that of a stable comparison sort, several times faster;
//! bool and complex values are sorted by comparison.

use crate::dtype::{Complex64, Complex128, sort_order};

/// An element type that [`SortKey::sort_by_value`] sorts by.
pub trait SortKey: Copy + PartialOrd {
    /// Sorts `items` stably by `value(item)`, ascending (NaN last) or descending (NaN
    /// first).
    fn sort_by_value<I>(items: &mut [I], value: impl Fn(&I) -> Self, descending: bool);
}

macro_rules! by_comparison {
    ($($t:ty),*) => {$(
        impl SortKey for $t {
            fn sort_by_value<I>(items: &mut [I], value: impl Fn(&I) -> Self, descending: bool) {
                if descending {
                    items.sort_by(|a, b| sort_order(&value(b), &value(a)));
                } else {
                    items.sort_by(|a, b| sort_order(&value(a), &value(b)));
                }
            }
        }
    )*};
}
by_comparison!(bool, Complex64, Complex128);

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl SortKey for $t {
            fn sort_by_value<I>(items: &mut [I], value: impl Fn(&I) -> Self, descending: bool) {
                // `!v` reverses the order of any integer type without overflow.
                if descending {
                    radsort::sort_by_key(items, |i| !value(i));
                } else {
                    radsort::sort_by_key(items, |i| value(i));
                }
            }
        }
    )*};
}
integers!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! floats {
    ($($t:ty),*) => {$(
        impl SortKey for $t {
            fn sort_by_value<I>(items: &mut [I], value: impl Fn(&I) -> Self, descending: bool) {
                if descending {
                    radsort::sort_by_key(items, |i| descending_key(value(i)));
                } else {
                    radsort::sort_by_key(items, |i| ascending_key(value(i)));
                }
            }
        }
    )*};
}
floats!(f32, f64);

/// The ascending radix key of a float: -0.0 as 0.0, every NaN as the positive NaN (after
/// +inf in radsort's order).
#[inline]
fn ascending_key<F: num_traits::Float>(v: F) -> F {
    if v.is_nan() {
        F::nan().abs()
    } else {
        v + F::zero()
    }
}

/// The descending radix key of a float: NaN first (`false` sorts before `true`), then the
/// negated value (-0.0 and 0.0 equal).
#[inline]
fn descending_key<F: num_traits::Float>(v: F) -> (bool, F) {
    if v.is_nan() {
        (false, F::zero())
    } else {
        (true, F::zero() - v)
    }
}

#[cfg(test)]
mod tests {
    use super::SortKey;

    #[test]
    fn radix_keys_keep_numpys_order_and_stability() {
        let nan = f64::NAN;
        let lane = [
            0.0,
            -0.0,
            -nan,
            1.0,
            f64::NEG_INFINITY,
            nan,
            -0.0,
            f64::INFINITY,
        ];
        let mut pairs: Vec<(f64, i64)> = lane
            .iter()
            .enumerate()
            .map(|(k, &v)| (v, k as i64))
            .collect();
        f64::sort_by_value(&mut pairs, |p| p.0, false);
        let idx: Vec<i64> = pairs.iter().map(|p| p.1).collect();
        // Equal values (the zeros, the NaNs) in their input order; NaN last.
        assert_eq!(idx, [4, 0, 1, 6, 3, 7, 2, 5]);
        f64::sort_by_value(&mut pairs, |p| p.0, true);
        let idx: Vec<i64> = pairs.iter().map(|p| p.1).collect();
        // Descending: NaN first, equal values still in input order.
        assert_eq!(idx, [2, 5, 7, 3, 0, 1, 6, 4]);
        let mut ints = [3i8, -128, 127, 0, -1];
        i8::sort_by_value(&mut ints, |v| *v, true);
        assert_eq!(ints, [127, 3, 0, -1, -128]);
        let mut ints = [3u64, u64::MAX, 0];
        u64::sort_by_value(&mut ints, |v| *v, false);
        assert_eq!(ints, [0, 3, u64::MAX]);
        let mut c = [
            crate::Complex128::new(1.0, 2.0),
            crate::Complex128::new(1.0, -1.0),
        ];
        crate::Complex128::sort_by_value(&mut c, |v| *v, false);
        assert_eq!(c[0].im, -1.0);
    }
}
