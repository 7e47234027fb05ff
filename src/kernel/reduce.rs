//! Tree reductions on blocks: a [`Partial`] per input block, pairwise [`combine`] up the
//! tree, and [`finalize`] at the root. Partials keep the reduced axes as length 1, so every
//! partial of one output block has the same shape and combining is elementwise.
//!
//! Accumulators: floats sum in float64 (also for float32 input, cast back at the end);
//! integer sums and products wrap in int64/uint64 like NumPy's; `var` and `std` merge
//! (count, mean, M2) with Chan et al.'s parallel formula, which is stable where the naive
//! sum of squares is not.

use ndarray::{ArrayD, ArrayViewD, Axis, CowArray, IxDyn, Slice, Zip};

use crate::block::{Block, BlockElement};
use crate::dtype::{Complex64, Complex128, DType, Element, Kind};
use crate::error::{Error, Result};
use crate::expr::{ReduceOp, ReduceSpec};
use crate::kernel::elementwise::Arith;

/// The partial result of reducing one or more blocks.
#[derive(Clone, Debug, PartialEq)]
pub struct Partial {
    /// Number of input elements behind each output element.
    pub count: u64,
    /// The accumulator: sum, product, min or max; the mean for `var`/`std`.
    pub acc: Block,
    /// Sum of squared deviations from the mean (`var`/`std` only).
    pub m2: Option<ArrayD<f64>>,
}

impl Partial {
    /// A partial shaped like `like` but `len` long on `axis`, to be filled by [`Partial::place`].
    pub fn empty_like(like: &Partial, axis: usize, len: usize) -> Partial {
        let mut shape = like.acc.shape().to_vec();
        shape[axis] = len;
        Partial {
            count: like.count,
            acc: Block::zeros(like.acc.dtype(), &shape),
            m2: like.m2.as_ref().map(|_| ArrayD::zeros(IxDyn(&shape))),
        }
    }

    /// Copies `part` (a partial over the same reduced elements) into this one at `offset`
    /// along the kept axis `axis`.
    ///
    /// # Errors
    /// Mismatched partials (a bug in the caller).
    pub fn place(&mut self, axis: usize, offset: usize, part: &Partial) -> Result<()> {
        if part.count != self.count {
            return Err(Error::internal("placing a partial with a different count"));
        }
        crate::kernel::place(&mut self.acc, axis, offset, &part.acc)?;
        if let (Some(m), Some(pm)) = (self.m2.as_mut(), part.m2.as_ref()) {
            crate::kernel::place_array(m, axis, offset, pm);
        }
        Ok(())
    }

    /// Bytes held.
    pub fn nbytes(&self) -> usize {
        self.acc.nbytes() + self.m2.as_ref().map_or(0, |m| m.len() * 8)
    }
}

/// Folds `a` over `axes` (highest first), keeping them as length 1. `f` folds an element
/// into the accumulator, `g` merges accumulators (for the second and later axes).
fn fold_axes<T: Copy, A: Copy>(
    a: ArrayViewD<T>,
    axes: &[usize],
    init: A,
    f: impl Fn(A, T) -> A,
    g: impl Fn(A, A) -> A,
) -> ArrayD<A> {
    let Some((&first, rest)) = axes.split_last() else {
        return a.mapv(|x| f(init, x));
    };
    let mut acc = a
        .fold_axis(Axis(first), init, |&s, &x| f(s, x))
        .insert_axis(Axis(first));
    for &ax in rest.iter().rev() {
        acc = acc
            .fold_axis(Axis(ax), init, |&s, &x| g(s, x))
            .insert_axis(Axis(ax));
    }
    acc
}

/// Sum over `axes` in f64, keeping them as length 1; the fast path for float data.
fn sum_f64(a: ArrayViewD<f64>, axes: &[usize]) -> ArrayD<f64> {
    let Some((&first, rest)) = axes.split_last() else {
        return a.to_owned();
    };
    let mut acc = a.sum_axis(Axis(first)).insert_axis(Axis(first));
    for &ax in rest.iter().rev() {
        acc = acc.sum_axis(Axis(ax)).insert_axis(Axis(ax));
    }
    acc
}

/// An element type that blocks are reduced over: identities for min and max, and the
/// view as float64 (borrowed for float64).
pub trait ReduceElement: BlockElement {
    /// The identity of `max`.
    const LOWEST: Self;
    /// The identity of `min`.
    const HIGHEST: Self;
    /// The smaller of two values (NaN-propagating, as NumPy's `min`; bool: `&`).
    fn min2(a: Self, b: Self) -> Self;
    /// The larger of two values (NaN-propagating, as NumPy's `max`; bool: `|`).
    fn max2(a: Self, b: Self) -> Self;
    /// The values as float64, borrowed when they already are.
    fn as_f64(a: ArrayViewD<'_, Self>) -> CowArray<'_, f64, IxDyn> {
        CowArray::from(a.mapv(Element::to_f64))
    }
}

macro_rules! reduce_element_int {
    ($($t:ty),*) => {$(
        impl ReduceElement for $t {
            const LOWEST: Self = <$t>::MIN;
            const HIGHEST: Self = <$t>::MAX;
            fn min2(a: Self, b: Self) -> Self { Arith::min(a, b) }
            fn max2(a: Self, b: Self) -> Self { Arith::max(a, b) }
        }
    )*};
}
reduce_element_int!(i8, i16, i32, i64, u8, u16, u32, u64);

impl ReduceElement for bool {
    const LOWEST: Self = false;
    const HIGHEST: Self = true;
    fn min2(a: Self, b: Self) -> Self {
        a & b
    }
    fn max2(a: Self, b: Self) -> Self {
        a | b
    }
}

macro_rules! reduce_element_complex {
    ($($t:ty => $f:ty),*) => {$(
        impl ReduceElement for $t {
            const LOWEST: Self = <$t>::new(<$f>::NEG_INFINITY, <$f>::NEG_INFINITY);
            const HIGHEST: Self = <$t>::new(<$f>::INFINITY, <$f>::INFINITY);
            fn min2(a: Self, b: Self) -> Self { Arith::min(a, b) }
            fn max2(a: Self, b: Self) -> Self { Arith::max(a, b) }
        }
    )*};
}
reduce_element_complex!(Complex64 => f32, Complex128 => f64);

/// Sum over `axes` in complex128, keeping them as length 1.
fn sum_c128<T: Element>(a: ArrayViewD<'_, T>, axes: &[usize]) -> ArrayD<Complex128> {
    fold_axes(
        a,
        axes,
        Complex128::default(),
        |s, x| s + x.to_complex(),
        |s, x| s + x,
    )
}

impl ReduceElement for f32 {
    const LOWEST: Self = f32::NEG_INFINITY;
    const HIGHEST: Self = f32::INFINITY;
    fn min2(a: Self, b: Self) -> Self {
        Arith::min(a, b)
    }
    fn max2(a: Self, b: Self) -> Self {
        Arith::max(a, b)
    }
}

impl ReduceElement for f64 {
    const LOWEST: Self = f64::NEG_INFINITY;
    const HIGHEST: Self = f64::INFINITY;
    fn min2(a: Self, b: Self) -> Self {
        Arith::min(a, b)
    }
    fn max2(a: Self, b: Self) -> Self {
        Arith::max(a, b)
    }
    fn as_f64(a: ArrayViewD<'_, Self>) -> CowArray<'_, f64, IxDyn> {
        CowArray::from(a)
    }
}

fn sum_partial<T: ReduceElement>(a: ArrayViewD<'_, T>, axes: &[usize]) -> Block {
    match T::DTYPE.kind() {
        Kind::Complex => Block::C128(sum_c128(a, axes)),
        Kind::Float => Block::F64(sum_f64(T::as_f64(a).view(), axes)),
        Kind::Unsigned => Block::U64(fold_axes(
            a,
            axes,
            0u64,
            |s, x| s.wrapping_add(Element::to_u64(x)),
            u64::wrapping_add,
        )),
        Kind::Signed | Kind::Bool => Block::I64(fold_axes(
            a,
            axes,
            0i64,
            |s, x| s.wrapping_add(Element::to_i64(x)),
            i64::wrapping_add,
        )),
    }
}

fn prod_partial<T: ReduceElement>(a: ArrayViewD<'_, T>, axes: &[usize]) -> Block {
    match T::DTYPE.kind() {
        Kind::Complex => Block::C128(fold_axes(
            a,
            axes,
            Complex128::new(1.0, 0.0),
            |s, x| s * x.to_complex(),
            |s, x| s * x,
        )),
        Kind::Float => Block::F64(fold_axes(
            T::as_f64(a).view(),
            axes,
            1.0,
            |s, x| s * x,
            |s, x| s * x,
        )),
        Kind::Unsigned => Block::U64(fold_axes(
            a,
            axes,
            1u64,
            |s, x| s.wrapping_mul(Element::to_u64(x)),
            u64::wrapping_mul,
        )),
        Kind::Signed | Kind::Bool => Block::I64(fold_axes(
            a,
            axes,
            1i64,
            |s, x| s.wrapping_mul(Element::to_i64(x)),
            i64::wrapping_mul,
        )),
    }
}

fn minmax_partial<T: ReduceElement>(a: ArrayViewD<'_, T>, axes: &[usize], is_min: bool) -> Block {
    T::wrap(if is_min {
        fold_axes(a, axes, T::HIGHEST, T::min2, T::min2)
    } else {
        fold_axes(a, axes, T::LOWEST, T::max2, T::max2)
    })
}

/// The sums over `axes` of `(x - mean)^2`, `mean` having the reduced axes as length 1.
/// Reducing over the first axis only (tiles of contiguous rows) accumulates row by row
/// without a temporary; otherwise the squares are formed, then summed.
fn squared_deviations(x: ArrayViewD<'_, f64>, mean: &ArrayD<f64>, axes: &[usize]) -> ArrayD<f64> {
    if axes == [0] && x.ndim() > 0 {
        let mut m2 = ArrayD::<f64>::zeros(mean.raw_dim());
        {
            let mut acc = m2.index_axis_mut(Axis(0), 0);
            let mean = mean.index_axis(Axis(0), 0);
            for row in x.axis_iter(Axis(0)) {
                Zip::from(&mut acc)
                    .and(&row)
                    .and(&mean)
                    .for_each(|s, &v, &m| *s += (v - m) * (v - m));
            }
        }
        return m2;
    }
    let mb = mean.broadcast(x.raw_dim()).expect("keepdims broadcasts");
    let sq = Zip::from(x)
        .and(&mb)
        .map_collect(|&v, &m| (v - m) * (v - m));
    sum_f64(sq.view(), axes)
}

/// Reduces one block over `spec.axes` (kept as length 1).
pub fn partial(spec: &ReduceSpec, block: &Block) -> Partial {
    crate::dispatch_block!(block, a => partial_view(spec, a.view()))
}

/// Reduces a view of one block over `spec.axes` (kept as length 1).
pub fn partial_view<T: ReduceElement>(spec: &ReduceSpec, a: ArrayViewD<'_, T>) -> Partial {
    let axes = &spec.axes;
    let count: u64 = axes.iter().map(|&ax| a.shape()[ax] as u64).product();
    // An empty block reduces to the identity however long its reduced axes are: cut them to
    // length 0, or folding steps through every position of an empty axis of 2^60 (a `.npy`
    // header may claim the shape (0, 2**60)).
    let mut a = a;
    if a.is_empty() {
        for &ax in axes {
            a.slice_axis_inplace(Axis(ax), Slice::from(0..0));
        }
    }
    let (acc, m2) = match spec.op {
        ReduceOp::Sum => (sum_partial(a, axes), None),
        ReduceOp::Prod => (prod_partial(a, axes), None),
        ReduceOp::Min => (minmax_partial(a, axes, true), None),
        ReduceOp::Max => (minmax_partial(a, axes, false), None),
        ReduceOp::Mean if T::DTYPE.is_complex() => (Block::C128(sum_c128(a, axes)), None),
        ReduceOp::Mean => (Block::F64(sum_f64(T::as_f64(a).view(), axes)), None),
        // Complex: the mean is complex, M2 the sum of |x - mean|² (real), which merges by
        // the same formula with |delta|².
        ReduceOp::Var | ReduceOp::Std if T::DTYPE.is_complex() => {
            let n = count.max(1) as f64;
            let mean = sum_c128(a.view(), axes).mapv(|s| Complex128::new(s.re / n, s.im / n));
            let mb = mean.broadcast(a.raw_dim()).expect("keepdims broadcasts");
            let sq = Zip::from(&a).and(&mb).map_collect(|&v, &m| {
                let d = v.to_complex() - m;
                d.re * d.re + d.im * d.im
            });
            (Block::C128(mean), Some(sum_f64(sq.view(), axes)))
        }
        ReduceOp::Var | ReduceOp::Std => {
            let x = T::as_f64(a);
            let n = count.max(1) as f64;
            let mean = sum_f64(x.view(), axes).mapv(|s| s / n);
            let m2 = squared_deviations(x.view(), &mean, axes);
            (Block::F64(mean), Some(m2))
        }
    };
    Partial { count, acc, m2 }
}

fn merge_typed<T: Arith>(a: &mut ArrayD<T>, b: &ArrayD<T>, f: impl Fn(T, T) -> T) {
    Zip::from(a).and(b).for_each(|x, &y| *x = f(*x, y));
}

/// Merges two partials of the same output block.
///
/// # Errors
/// Partials of different shapes or kinds (a bug in the planner).
pub fn combine(spec: &ReduceSpec, mut a: Partial, b: &Partial) -> Result<Partial> {
    if a.acc.shape() != b.acc.shape() || a.acc.dtype() != b.acc.dtype() {
        return Err(Error::internal(format!(
            "combining partials of shapes {:?} and {:?}",
            a.acc.shape(),
            b.acc.shape()
        )));
    }
    match spec.op {
        ReduceOp::Var | ReduceOp::Std => {
            let (Some(m2a), Some(m2b)) = (a.m2.as_mut(), b.m2.as_ref()) else {
                return Err(Error::internal("var partial without M2"));
            };
            let (na, nb) = (a.count as f64, b.count as f64);
            let n = na + nb;
            if n > 0.0 {
                match (&mut a.acc, &b.acc) {
                    (Block::F64(ma), Block::F64(mb)) => Zip::from(ma)
                        .and(m2a)
                        .and(mb)
                        .and(m2b)
                        .for_each(|ma, m2a, &mb, &m2b| {
                            let delta = mb - *ma;
                            *ma += delta * nb / n;
                            *m2a += m2b + delta * delta * na * nb / n;
                        }),
                    (Block::C128(ma), Block::C128(mb)) => Zip::from(ma)
                        .and(m2a)
                        .and(mb)
                        .and(m2b)
                        .for_each(|ma, m2a, &mb, &m2b| {
                            let delta = mb - *ma;
                            *ma = *ma + Complex128::new(delta.re * nb / n, delta.im * nb / n);
                            let d2 = delta.re * delta.re + delta.im * delta.im;
                            *m2a += m2b + d2 * na * nb / n;
                        }),
                    _ => return Err(Error::internal("var partial is not float64 or complex128")),
                }
            }
        }
        op => {
            let is_min = op == ReduceOp::Min;
            macro_rules! go {
                ($x:expr, $y:expr) => {
                    match op {
                        ReduceOp::Sum | ReduceOp::Mean => merge_typed($x, $y, Arith::add),
                        ReduceOp::Prod => merge_typed($x, $y, Arith::mul),
                        _ if is_min => merge_typed($x, $y, Arith::min),
                        _ => merge_typed($x, $y, Arith::max),
                    }
                };
            }
            match (&mut a.acc, &b.acc) {
                (Block::Bool(x), Block::Bool(y)) => {
                    Zip::from(x)
                        .and(y)
                        .for_each(|x, &y| *x = if is_min { *x & y } else { *x | y });
                }
                (Block::I8(x), Block::I8(y)) => go!(x, y),
                (Block::I16(x), Block::I16(y)) => go!(x, y),
                (Block::I32(x), Block::I32(y)) => go!(x, y),
                (Block::I64(x), Block::I64(y)) => go!(x, y),
                (Block::U8(x), Block::U8(y)) => go!(x, y),
                (Block::U16(x), Block::U16(y)) => go!(x, y),
                (Block::U32(x), Block::U32(y)) => go!(x, y),
                (Block::U64(x), Block::U64(y)) => go!(x, y),
                (Block::F32(x), Block::F32(y)) => go!(x, y),
                (Block::F64(x), Block::F64(y)) => go!(x, y),
                (Block::C64(x), Block::C64(y)) => go!(x, y),
                (Block::C128(x), Block::C128(y)) => go!(x, y),
                _ => return Err(Error::internal("combining partials of different dtypes")),
            }
        }
    }
    a.count += b.count;
    Ok(a)
}

/// Turns the root partial into the output block of dtype `out`, dropping the reduced axes
/// unless `spec.keepdims`.
pub fn finalize(spec: &ReduceSpec, p: Partial, out: DType) -> Block {
    let n = p.count as f64;
    let values = match spec.op {
        ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Min | ReduceOp::Max => p.acc.cast(out),
        ReduceOp::Mean => match p.acc {
            Block::C128(s) => {
                Block::C128(s.mapv(|s| Complex128::new(s.re / n, s.im / n))).cast(out)
            }
            acc => Block::F64(acc.into_typed::<f64>().mapv(|s| s / n)).cast(out),
        },
        ReduceOp::Var | ReduceOp::Std => {
            let denom = (n - spec.ddof).max(0.0);
            let m2 = p.m2.unwrap_or_else(|| ArrayD::zeros(IxDyn(p.acc.shape())));
            let var = m2.mapv(|m| m / denom);
            let v = if spec.op == ReduceOp::Std {
                var.mapv(f64::sqrt)
            } else {
                var
            };
            Block::F64(v).cast(out)
        }
    };
    if spec.keepdims {
        return values;
    }
    let shape: Vec<usize> = values
        .shape()
        .iter()
        .enumerate()
        .filter(|(d, _)| !spec.axes.contains(d))
        .map(|(_, &s)| s)
        .collect();
    crate::dispatch_block!(values.into_standard_layout(), a => BlockElement::wrap(
        a.into_shape_with_order(IxDyn(&shape)).expect("dropping length-1 axes")))
}
