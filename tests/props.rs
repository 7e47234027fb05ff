//! Property tests: random shapes, chunkings, expression trees, transposes, slices and
//! reductions, computed chunked (under both schedulers) and checked against ndarray.

use brickwork::{Array, ReduceOp, ReduceOptions};
use ndarray::{ArrayD, Axis, IxDyn, SliceInfoElem};
use proptest::prelude::*;

use crate::common::{assert_close, compute_f64};

/// A small elementwise expression over two leaves of the same shape.
#[derive(Clone, Debug)]
enum Expr {
    Leaf(usize),
    Add(Box<Expr>, Box<Expr>),
    Sub(Box<Expr>, Box<Expr>),
    Mul(Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Abs(Box<Expr>),
    Scale(Box<Expr>, i8),
}

fn expr_strategy() -> impl Strategy<Value = Expr> {
    let leaf = (0..2usize).prop_map(Expr::Leaf);
    leaf.prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Add(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Sub(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Mul(Box::new(a), Box::new(b))),
            inner.clone().prop_map(|a| Expr::Neg(Box::new(a))),
            inner.clone().prop_map(|a| Expr::Abs(Box::new(a))),
            (inner, -3i8..4).prop_map(|(a, k)| Expr::Scale(Box::new(a), k)),
        ]
    })
}

fn eval_lazy(e: &Expr, leaves: &[Array]) -> Array {
    match e {
        Expr::Leaf(i) => leaves[*i].clone(),
        Expr::Add(a, b) => eval_lazy(a, leaves) + eval_lazy(b, leaves),
        Expr::Sub(a, b) => eval_lazy(a, leaves) - eval_lazy(b, leaves),
        Expr::Mul(a, b) => eval_lazy(a, leaves) * eval_lazy(b, leaves),
        Expr::Neg(a) => -eval_lazy(a, leaves),
        Expr::Abs(a) => eval_lazy(a, leaves).abs().unwrap(),
        Expr::Scale(a, k) => eval_lazy(a, leaves) * f64::from(*k),
    }
}

fn eval_ref(e: &Expr, leaves: &[ArrayD<f64>]) -> ArrayD<f64> {
    match e {
        Expr::Leaf(i) => leaves[*i].clone(),
        Expr::Add(a, b) => eval_ref(a, leaves) + eval_ref(b, leaves),
        Expr::Sub(a, b) => eval_ref(a, leaves) - eval_ref(b, leaves),
        Expr::Mul(a, b) => eval_ref(a, leaves) * eval_ref(b, leaves),
        Expr::Neg(a) => -eval_ref(a, leaves),
        Expr::Abs(a) => eval_ref(a, leaves).mapv(f64::abs),
        Expr::Scale(a, k) => eval_ref(a, leaves) * f64::from(*k),
    }
}

/// One slice element valid for an axis of length `len`, in ndarray's semantics.
fn slice_elem(len: usize) -> impl Strategy<Value = SliceInfoElem> {
    let n = len as isize;
    prop_oneof![
        3 => (0..=n, 0..=n, prop_oneof![-3isize..=-1, 1isize..=3], any::<bool>()).prop_map(
            move |(a, b, step, neg)| {
                let (lo, hi) = (a.min(b), a.max(b));
                let start = if neg && lo > 0 { lo - n } else { lo };
                SliceInfoElem::Slice { start, end: Some(hi), step }
            }
        ),
        1 => (0..n).prop_map(SliceInfoElem::Index),
    ]
}

#[derive(Clone, Debug)]
struct Case {
    shape: Vec<usize>,
    chunks: Vec<usize>,
    chunks2: Vec<usize>,
    expr: Expr,
    perm: Vec<usize>,
    slices: Vec<SliceInfoElem>,
    reduce: Option<(ReduceOp, Vec<bool>, usize)>,
}

fn case_strategy() -> impl Strategy<Value = Case> {
    prop::collection::vec(1usize..10, 1..=3).prop_flat_map(|shape| {
        let nd = shape.len();
        let chunks: Vec<_> = shape.iter().map(|&n| 1..=n + 1).collect();
        let chunks2: Vec<_> = shape.iter().map(|&n| 1..=n + 1).collect();
        let perm = Just((0..nd).collect::<Vec<usize>>()).prop_shuffle();
        (Just(shape), chunks, chunks2, expr_strategy(), perm).prop_flat_map(
            move |(shape, chunks, chunks2, expr, perm)| {
                let permuted: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
                let slices: Vec<_> = permuted.iter().map(|&n| slice_elem(n)).collect();
                let reduce = prop::option::of((
                    prop::sample::select(vec![
                        ReduceOp::Sum,
                        ReduceOp::Mean,
                        ReduceOp::Max,
                        ReduceOp::Var,
                    ]),
                    prop::collection::vec(any::<bool>(), nd),
                    2usize..5,
                ));
                (
                    Just(shape),
                    Just(chunks),
                    Just(chunks2),
                    Just(expr),
                    Just(perm),
                    slices,
                    reduce,
                )
                    .prop_map(
                        |(shape, chunks, chunks2, expr, perm, slices, reduce)| Case {
                            shape,
                            chunks,
                            chunks2,
                            expr,
                            perm,
                            slices,
                            reduce,
                        },
                    )
            },
        )
    })
}

fn reference_reduce(a: &ArrayD<f64>, op: ReduceOp, axes: &[usize]) -> ArrayD<f64> {
    let mut cur = a.clone();
    let n: usize = axes.iter().map(|&d| a.shape()[d]).product();
    for &ax in axes.iter().rev() {
        cur = match op {
            ReduceOp::Max => cur.map_axis(Axis(ax), |l| {
                l.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            }),
            _ => cur.sum_axis(Axis(ax)),
        };
    }
    match op {
        ReduceOp::Mean => cur.mapv(|v| v / n as f64),
        ReduceOp::Var => {
            let mut mean = reference_reduce(a, ReduceOp::Mean, axes);
            for &ax in axes {
                mean = mean.insert_axis(Axis(ax));
            }
            let dev = (a - &mean.broadcast(a.raw_dim()).unwrap()).mapv(|v| v * v);
            reference_reduce(&dev, ReduceOp::Mean, axes)
        }
        _ => cur,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn chunked_equals_in_memory(case in case_strategy()) {
        let n: usize = case.shape.iter().product();
        let a = ArrayD::from_shape_vec(IxDyn(&case.shape), (0..n).map(|i| ((i * 37 % 101) as f64 - 50.0) / 8.0).collect()).unwrap();
        let b = ArrayD::from_shape_vec(IxDyn(&case.shape), (0..n).map(|i| ((i * 53 % 89) as f64 - 44.0) / 4.0).collect()).unwrap();
        let leaves = [
            Array::from_ndarray(a.clone(), &case.chunks).unwrap(),
            Array::from_ndarray(b.clone(), &case.chunks2).unwrap(),
        ];
        let mut lazy = eval_lazy(&case.expr, &leaves).permuted_axes(&case.perm).unwrap().slice(&case.slices).unwrap();
        let mut want = eval_ref(&case.expr, &[a, b])
            .permuted_axes(IxDyn(&case.perm))
            .slice(case.slices.as_slice())
            .to_owned();
        if let Some((op, mask, split_every)) = &case.reduce {
            let axes: Vec<usize> = (0..want.ndim()).filter(|&d| mask.get(d).copied().unwrap_or(false)).collect();
            let nonempty = axes.iter().all(|&d| want.shape()[d] > 0);
            if nonempty || *op != ReduceOp::Max {
                let iaxes: Vec<isize> = axes.iter().map(|&d| d as isize).collect();
                let opts = ReduceOptions { split_every: *split_every, ..ReduceOptions::default() };
                lazy = lazy.reduce(*op, Some(&iaxes), &opts).unwrap();
                want = reference_reduce(&want, *op, &axes);
            }
        }
        assert_close(&compute_f64(&lazy), &want, &format!("{case:?}"));
    }
}
