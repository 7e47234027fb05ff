//! Sliding-window filters over a block extended by its halo (scipy.ndimage's
//! `uniform_filter`, `minimum_filter`, `maximum_filter`) and NumPy's `gradient`.
//!
//! A filter of size `k` along an axis gives element `i` the window `[i - k/2, i - k/2 + k)`
//! (scipy's alignment with `origin=0`), so a block extended by `k/2` on both sides holds
//! every window of its own elements. Windows are applied axis by axis (the filters are
//! separable): along an axis of extended length `L` the "valid" windows give `L - k + 1`
//! values, the first belonging to element `k/2`; after every axis the block's own elements
//! are what is left (for an even `k`, one value past them is cut).

use ndarray::{ArrayD, ArrayViewD, Axis, Slice, Zip};

use crate::dtype::Element;

/// What a window computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowOp {
    /// The mean (computed in float64, divided axis by axis as scipy does).
    Mean,
    /// The least element (NaN if the window holds one).
    Min,
    /// The greatest element (NaN if the window holds one).
    Max,
}

/// The filter of `size` per axis over `block`, a block extended by `size[d] / 2` on both
/// sides of every axis; returns the block's own elements.
pub fn window_filter<T: Element>(
    block: ArrayViewD<'_, T>,
    size: &[usize],
    op: WindowOp,
) -> ArrayD<T> {
    let mut cur: ArrayD<T> = block.to_owned();
    for (axis, &k) in size.iter().enumerate() {
        if k <= 1 {
            continue;
        }
        let len = cur.shape()[axis];
        let own = len - 2 * (k / 2);
        let window = |t: usize| cur.slice_axis(Axis(axis), Slice::from(t..t + own));
        let mut out = window(0).to_owned();
        for t in 1..k {
            let next = window(t);
            match op {
                WindowOp::Mean => Zip::from(&mut out)
                    .and(&next)
                    .for_each(|o, &v| *o = T::from_f64(o.to_f64() + v.to_f64())),
                WindowOp::Min => Zip::from(&mut out).and(&next).for_each(|o, &v| {
                    if v < *o || is_nan(v) {
                        *o = v;
                    }
                }),
                WindowOp::Max => Zip::from(&mut out).and(&next).for_each(|o, &v| {
                    if v > *o || is_nan(v) {
                        *o = v;
                    }
                }),
            }
        }
        if op == WindowOp::Mean {
            let k = k as f64;
            out.mapv_inplace(|v| T::from_f64(v.to_f64() / k));
        }
        cur = out;
    }
    cur
}

/// True for a NaN (a value unequal to itself); false for every integer and bool.
#[allow(clippy::eq_op)]
#[inline]
fn is_nan<T: PartialEq>(v: T) -> bool {
    v != v
}

/// NumPy's `gradient` along `axis` with unit spacing: central differences inside, one-sided
/// at the ends (`edge_order=1`). The axis needs at least 2 elements.
pub fn gradient<T: Element>(block: ArrayViewD<'_, T>, axis: usize) -> ArrayD<T> {
    let n = block.shape()[axis];
    let mut out = ArrayD::from_elem(block.raw_dim(), T::default());
    if n < 2 {
        return out;
    }
    let at = |i: usize| block.index_axis(Axis(axis), i);
    let diff = |a: usize, b: usize, half: bool| {
        let mut d = at(a).to_owned();
        Zip::from(&mut d).and(&at(b)).for_each(|x, &y| {
            let v = x.to_f64() - y.to_f64();
            *x = T::from_f64(if half { v / 2.0 } else { v });
        });
        d
    };
    out.index_axis_mut(Axis(axis), 0).assign(&diff(1, 0, false));
    out.index_axis_mut(Axis(axis), n - 1)
        .assign(&diff(n - 1, n - 2, false));
    if n > 2 {
        let hi = block.slice_axis(Axis(axis), Slice::from(2..n));
        let lo = block.slice_axis(Axis(axis), Slice::from(0..n - 2));
        let mut mid = out.slice_axis_mut(Axis(axis), Slice::from(1..n - 1));
        Zip::from(&mut mid)
            .and(&hi)
            .and(&lo)
            .for_each(|o, &h, &l| *o = T::from_f64((h.to_f64() - l.to_f64()) / 2.0));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{IxDyn, array};

    #[test]
    fn windows_align_as_scipy() {
        // [0 | 1 2 3 | 4] extended by 1: 3-point means of the inner three.
        let x = array![0.0, 1.0, 2.0, 3.0, 4.0].into_dyn();
        let m = window_filter(x.view(), &[3], WindowOp::Mean);
        assert_eq!(m, array![1.0, 2.0, 3.0].into_dyn());
        // Size 2: element i sees [i - 1, i].
        let m = window_filter(x.view(), &[2], WindowOp::Max);
        assert_eq!(m, array![1.0, 2.0, 3.0].into_dyn());
        let y = array![[5, 1, 7], [2, 9, 3], [4, 6, 8]].into_dyn();
        assert_eq!(
            window_filter(y.view(), &[3, 3], WindowOp::Min),
            ArrayD::from_elem(IxDyn(&[1, 1]), 1)
        );
        let nan = array![1.0, f64::NAN, 3.0].into_dyn();
        assert!(window_filter(nan.view(), &[3], WindowOp::Max)[[0]].is_nan());
    }

    #[test]
    fn gradient_matches_numpy() {
        let x = array![1.0, 2.0, 4.0, 7.0, 11.0].into_dyn();
        assert_eq!(
            gradient(x.view(), 0),
            array![1.0, 1.5, 2.5, 3.5, 4.0].into_dyn()
        );
    }
}
