//! Sliding-window filters over a block extended by its halo (scipy.ndimage's
//! `uniform_filter`, `minimum_filter`, `maximum_filter`) and NumPy's `gradient`.
//!
//! A filter of size `k` along an axis gives element `i` the window `[i - k/2, i - k/2 + k)`
//! (scipy's alignment with `origin=0`), so a block extended by `k/2` on both sides holds
//! every window of its own elements. Windows are applied axis by axis (the filters are
//! separable): along an axis of extended length `L` the "valid" windows give `L - k + 1`
//! values, the first belonging to element `k/2`; after every axis the block's own elements
//! are what is left (for an even `k`, one value past them is cut).

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Slice, Zip};

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
///
/// One pass per axis with a window, each over a C-order buffer seen as `(outer, len,
/// inner)`: an output row of `inner` elements is the combination of `k` consecutive input
/// rows, accumulated while it is in the L1 cache (along the last axis, `inner` is 1 and the
/// rows are shifted slices of one line). Each pass reads its input once and writes its
/// output once.
pub fn window_filter<T: Element>(
    block: ArrayViewD<'_, T>,
    size: &[usize],
    op: WindowOp,
) -> ArrayD<T> {
    let mut shape = block.shape().to_vec();
    let mut cur: Option<Vec<T>> = None;
    let first = block.as_standard_layout();
    let n = size.len();
    // The last two axes, when both have windows, go in one fused pass (no intermediate
    // array of the block's size).
    let fused = n >= 2 && size[n - 1] > 1 && size[n - 2] > 1;
    for (axis, &k) in size.iter().enumerate() {
        if k <= 1 || (fused && axis >= n - 2) {
            continue;
        }
        let input: &[T] = match &cur {
            Some(v) => v,
            None => first.as_slice().expect("standard layout"),
        };
        let out = window_pass(input, &shape, axis, k, op);
        shape[axis] -= 2 * (k / 2);
        cur = Some(out);
    }
    if fused {
        let input: &[T] = match &cur {
            Some(v) => v,
            None => first.as_slice().expect("standard layout"),
        };
        let out = window_pass_2(input, &shape, [size[n - 2], size[n - 1]], op);
        shape[n - 2] -= 2 * (size[n - 2] / 2);
        shape[n - 1] -= 2 * (size[n - 1] / 2);
        cur = Some(out);
    }
    match cur {
        Some(v) => ArrayD::from_shape_vec(IxDyn(&shape), v).expect("shape of the pass"),
        None => first.into_owned(),
    }
}

/// The windows along the last two axes in one pass: each output line is the combination
/// of `k[0]` input lines (into a line buffer), then of `k[1]` shifted slices of it.
fn window_pass_2<T: Element>(input: &[T], shape: &[usize], k: [usize; 2], op: WindowOp) -> Vec<T> {
    let n = shape.len();
    let (rows, width) = (shape[n - 2], shape[n - 1]);
    let outer: usize = shape[..n - 2].iter().product();
    let own_rows = rows - 2 * (k[0] / 2);
    let own_width = width - 2 * (k[1] / 2);
    let mut out = Vec::with_capacity(outer * own_rows * own_width);
    let mut line: Vec<T> = Vec::with_capacity(width);
    let (k0, k1) = (k[0] as f64, k[1] as f64);
    for o in 0..outer {
        let base = o * rows * width;
        for i in 0..own_rows {
            let row = |t: usize| &input[base + (i + t) * width..base + (i + t + 1) * width];
            line.clear();
            line.extend_from_slice(row(0));
            for t in 1..k[0] {
                combine(&mut line, row(t), op);
            }
            finish(&mut line, op, k0);
            let start = out.len();
            out.extend_from_slice(&line[..own_width]);
            let acc = &mut out[start..];
            for t in 1..k[1] {
                combine(acc, &line[t..t + own_width], op);
            }
            finish(acc, op, k1);
        }
    }
    out
}

/// One windowed pass along `axis` of a C-order buffer of `shape`: the axis shrinks by
/// `2 * (k / 2)` (the block's own elements).
fn window_pass<T: Element>(
    input: &[T],
    shape: &[usize],
    axis: usize,
    k: usize,
    op: WindowOp,
) -> Vec<T> {
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let len = shape[axis];
    let own = len - 2 * (k / 2);
    let mut out = Vec::with_capacity(outer * own * inner);
    let kf = k as f64;
    for o in 0..outer {
        let base = o * len * inner;
        if inner == 1 {
            // The last axis: shifted slices of one line.
            let line = &input[base..base + len];
            let start = out.len();
            out.extend_from_slice(&line[..own]);
            let acc = &mut out[start..];
            for t in 1..k {
                combine(acc, &line[t..t + own], op);
            }
            finish(acc, op, kf);
        } else {
            for i in 0..own {
                let row = |t: usize| &input[base + (i + t) * inner..base + (i + t + 1) * inner];
                let start = out.len();
                out.extend_from_slice(row(0));
                let acc = &mut out[start..];
                for t in 1..k {
                    combine(acc, row(t), op);
                }
                finish(acc, op, kf);
            }
        }
    }
    out
}

#[inline]
fn combine<T: Element>(acc: &mut [T], next: &[T], op: WindowOp) {
    match op {
        WindowOp::Mean => {
            for (a, &v) in acc.iter_mut().zip(next) {
                *a = T::from_f64(a.to_f64() + v.to_f64());
            }
        }
        WindowOp::Min => {
            for (a, &v) in acc.iter_mut().zip(next) {
                if v < *a || is_nan(v) {
                    *a = v;
                }
            }
        }
        WindowOp::Max => {
            for (a, &v) in acc.iter_mut().zip(next) {
                if v > *a || is_nan(v) {
                    *a = v;
                }
            }
        }
    }
}

#[inline]
fn finish<T: Element>(acc: &mut [T], op: WindowOp, k: f64) {
    if op == WindowOp::Mean {
        for a in acc {
            *a = T::from_f64(a.to_f64() / k);
        }
    }
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
    use ndarray::array;

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
