//! `any`/`all` and the NaN-ignoring reductions against references computed with ndarray
//! lane by lane (NaN filtered out as NumPy's `nan*` functions do), over chunkings that do
//! not divide the shape, 1-d to 3-d, all axes and single axes, both schedulers; all-NaN
//! and empty slices; integer inputs; and `eval`.

use std::collections::HashMap;

use brickwork::parse::evaluate;
use brickwork::{Array, DType, ReduceOp, ReduceOptions, Scalar};
use ndarray::{ArrayD, Axis, IxDyn};

use crate::common::*;

/// `data` with NaN at every 5th element, and a whole NaN lane along axis 0 at index 0 of
/// the other axes (so all-NaN slices occur).
fn with_nans(shape: &[usize], salt: u64) -> ArrayD<f64> {
    let mut d = data(shape, salt);
    for (i, v) in d.iter_mut().enumerate() {
        if i % 5 == 3 {
            *v = f64::NAN;
        }
    }
    if shape.len() > 1 {
        let mut lane = d.index_axis_mut(Axis(1), 0);
        if shape.len() > 2 {
            lane.index_axis_mut(Axis(1), 0).fill(f64::NAN);
        } else {
            lane.fill(f64::NAN);
        }
    }
    d
}

/// NumPy's `nan<op>` of one lane.
fn nan_lane(op: ReduceOp, lane: &[f64], ddof: f64) -> f64 {
    let v: Vec<f64> = lane.iter().copied().filter(|x| !x.is_nan()).collect();
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = || {
        let dof = n - ddof;
        if dof <= 0.0 {
            f64::NAN
        } else {
            v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / dof
        }
    };
    match op {
        ReduceOp::Sum => v.iter().sum(),
        ReduceOp::Prod => v.iter().product(),
        ReduceOp::Min if v.is_empty() => f64::NAN,
        ReduceOp::Max if v.is_empty() => f64::NAN,
        ReduceOp::Min => v.iter().copied().fold(f64::INFINITY, f64::min),
        ReduceOp::Max => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ReduceOp::Mean => mean,
        ReduceOp::Var => var(),
        ReduceOp::Std => var().sqrt(),
    }
}

/// The reference over one axis, or all axes when `None`.
fn reference(d: &ArrayD<f64>, axis: Option<usize>, f: impl Fn(&[f64]) -> f64) -> ArrayD<f64> {
    match axis {
        None => ArrayD::from_elem(IxDyn(&[]), f(&d.iter().copied().collect::<Vec<_>>())),
        Some(a) => d.map_axis(Axis(a), |lane| f(&lane.to_vec())),
    }
}

const OPS: [ReduceOp; 7] = [
    ReduceOp::Sum,
    ReduceOp::Prod,
    ReduceOp::Min,
    ReduceOp::Max,
    ReduceOp::Mean,
    ReduceOp::Var,
    ReduceOp::Std,
];

#[test]
fn nan_reductions_match_numpy_semantics() -> TestResult {
    for shape in [vec![23], vec![9, 11], vec![5, 6, 7]] {
        let d = with_nans(&shape, 3);
        for chunks in chunkings(&shape) {
            let x = Array::from_ndarray(d.clone(), &chunks)?;
            let axes: Vec<Option<usize>> = std::iter::once(None)
                .chain((0..shape.len()).map(Some))
                .collect();
            for axis in axes {
                for op in OPS {
                    for ddof in [0.0, 1.0] {
                        if ddof > 0.0 && !matches!(op, ReduceOp::Var | ReduceOp::Std) {
                            continue;
                        }
                        let opts = ReduceOptions {
                            ddof,
                            ..ReduceOptions::default()
                        };
                        let ax = axis.map(|a| [a as isize]);
                        let got = x.nan_reduce(op, ax.as_ref().map(|a| &a[..]), &opts)?;
                        let want = reference(&d, axis, |l| nan_lane(op, l, ddof));
                        let what = format!("nan{} {shape:?} {chunks:?} axis {axis:?}", op.name());
                        assert_close(&compute_f64(&got), &want, &what);
                    }
                }
            }
        }
    }
    Ok(())
}

#[test]
fn nan_reductions_keep_dims_and_dtype() -> TestResult {
    let d = with_nans(&[6, 8], 5);
    let x = Array::from_ndarray(d.clone(), &[4, 3])?.astype(DType::F32)?;
    let opts = ReduceOptions {
        keepdims: true,
        ..ReduceOptions::default()
    };
    let m = x.nan_reduce(ReduceOp::Mean, Some(&[1]), &opts)?;
    assert_eq!(m.dtype(), DType::F32);
    assert_eq!(m.shape(), vec![6, 1]);
    let want = reference(&d, Some(1), |l| nan_lane(ReduceOp::Mean, l, 0.0)).insert_axis(Axis(1));
    let got = compute_f64(&m);
    for (g, w) in got.iter().zip(&want) {
        assert!((g.is_nan() && w.is_nan()) || (g - w).abs() <= 1e-4 * (1.0 + w.abs()));
    }
    // Integer inputs hold no NaN: the plain reductions.
    let i = Array::arange(0.into(), 20.into(), 1.into(), 6)?.astype(DType::I32)?;
    for op in OPS {
        let plain = compute_f64(&i.reduce(op, None, &ReduceOptions::default())?);
        let nan = compute_f64(&i.nan_reduce(op, None, &ReduceOptions::default())?);
        assert_eq!(plain, nan, "{}", op.name());
    }
    Ok(())
}

#[test]
fn any_and_all_match_numpy() -> TestResult {
    let mut d = data(&[7, 10, 4], 9).mapv(|v| if v.abs() < 4.0 { 0.0 } else { v });
    d.index_axis_mut(Axis(0), 2).fill(0.0);
    d.index_axis_mut(Axis(1), 3).fill(1.0);
    d[[4, 5, 1]] = f64::NAN; // NaN is true, as in NumPy
    for chunks in chunkings(&[7, 10, 4]) {
        let x = Array::from_ndarray(d.clone(), &chunks)?;
        for axis in [None, Some(0), Some(1), Some(2)] {
            let ax = axis.map(|a| [a as isize]);
            let ax = ax.as_ref().map(|a| &a[..]);
            let any = x.any(ax, false)?;
            let all = x.all(ax, false)?;
            assert_eq!(any.dtype(), DType::Bool);
            let truth = |l: &[f64], all: bool| {
                let t = |v: &f64| *v != 0.0;
                f64::from(u8::from(if all {
                    l.iter().all(t)
                } else {
                    l.iter().any(t)
                }))
            };
            let what = format!("{chunks:?} axis {axis:?}");
            assert_close(
                &compute_f64(&any),
                &reference(&d, axis, |l| truth(l, false)),
                &what,
            );
            assert_close(
                &compute_f64(&all),
                &reference(&d, axis, |l| truth(l, true)),
                &what,
            );
        }
    }
    // Empty axes: any is False, all is True; keepdims; ints and bools.
    let e = Array::zeros(&[3, 0], &[2, 1], DType::I16)?;
    assert_eq!(
        compute_f64(&e.any(Some(&[1]), false)?)
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        vec![0.0; 3]
    );
    assert_eq!(compute_f64(&e.all(Some(&[1]), true)?).shape(), &[3, 1]);
    assert_eq!(
        compute_f64(&e.all(None, false)?)
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        vec![1.0]
    );
    let b = Array::arange(0.into(), 10.into(), 1.into(), 3)?.binary_scalar(
        brickwork::BinaryOp::Gt,
        Scalar::Int(4),
        false,
    )?;
    assert_eq!(
        compute_f64(&b.any(None, false)?)
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        vec![1.0]
    );
    assert_eq!(
        compute_f64(&b.all(None, false)?)
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        vec![0.0]
    );
    Ok(())
}

#[test]
fn eval_names_the_nan_reductions_and_any_all() -> TestResult {
    let d = with_nans(&[9, 11], 4);
    let x = Array::from_ndarray(d, &[4, 5])?;
    let inputs: HashMap<String, Array> = [("x".to_string(), x.clone())].into();
    let opts = ReduceOptions::default();
    let ddof1 = ReduceOptions {
        ddof: 1.0,
        ..ReduceOptions::default()
    };
    let cases: Vec<(&str, Array)> = vec![
        ("nansum(x)", x.nan_reduce(ReduceOp::Sum, None, &opts)?),
        (
            "nanmean(x, axis=0)",
            x.nan_reduce(ReduceOp::Mean, Some(&[0]), &opts)?,
        ),
        (
            "nanmax(x, 1)",
            x.nan_reduce(ReduceOp::Max, Some(&[1]), &opts)?,
        ),
        (
            "nanmin(x, axis=(0, 1))",
            x.nan_reduce(ReduceOp::Min, None, &opts)?,
        ),
        (
            "nanprod(x, axis=-1)",
            x.nan_reduce(ReduceOp::Prod, Some(&[1]), &opts)?,
        ),
        (
            "nanvar(x, axis=0, ddof=1)",
            x.nan_reduce(ReduceOp::Var, Some(&[0]), &ddof1)?,
        ),
        ("nanstd(x)", x.nan_reduce(ReduceOp::Std, None, &opts)?),
        (
            "(x > 0).any()",
            x.binary_scalar(brickwork::BinaryOp::Gt, Scalar::Int(0), false)?
                .any(None, false)?,
        ),
        ("all(x, axis=1, keepdims=True)", x.all(Some(&[1]), true)?),
        ("any(isnan(x), axis=0)", x.is_nan()?.any(Some(&[0]), false)?),
    ];
    for (text, want) in cases {
        let got = evaluate(text, &inputs)?;
        assert_eq!(got.dtype(), want.dtype(), "{text}");
        assert_close(&compute_f64(&got), &compute_f64(&want), text);
    }
    Ok(())
}

/// NumPy's `argmax`/`argmin` of one lane: the first extreme, the first NaN if any.
fn arg_lane(max: bool, lane: &[f64]) -> f64 {
    if let Some(i) = lane.iter().position(|v| v.is_nan()) {
        return i as f64;
    }
    let mut best = 0;
    for (i, &v) in lane.iter().enumerate() {
        if (max && v > lane[best]) || (!max && v < lane[best]) {
            best = i;
        }
    }
    best as f64
}

#[test]
fn argmin_and_argmax_match_numpy() -> TestResult {
    for shape in [vec![23], vec![9, 11], vec![5, 6, 7]] {
        // Rounded data has ties: the first one must win.
        let d = data(&shape, 11).mapv(|v| (v / 8.0).round());
        let mut with_nan = d.clone();
        with_nan
            .iter_mut()
            .skip(7)
            .step_by(13)
            .for_each(|v| *v = f64::NAN);
        for d in [d, with_nan] {
            for chunks in chunkings(&shape) {
                let x = Array::from_ndarray(d.clone(), &chunks)?;
                for max in [false, true] {
                    let axes: Vec<Option<usize>> = std::iter::once(None)
                        .chain((0..shape.len()).map(Some))
                        .collect();
                    for axis in axes {
                        let ax = axis.map(|a| a as isize);
                        let got = if max {
                            x.argmax(ax, false)?
                        } else {
                            x.argmin(ax, false)?
                        };
                        assert_eq!(got.dtype(), DType::I64);
                        let want = reference(&d, axis, |l| arg_lane(max, l));
                        let what = format!("argmax={max} {shape:?} {chunks:?} axis {axis:?}");
                        assert_close(&compute_f64(&got), &want, &what);
                    }
                }
            }
        }
    }
    // Integers, keepdims, eval, and the empty error.
    let i =
        Array::from_ndarray(data(&[6, 5], 2).mapv(|v| v.round()), &[4, 2])?.astype(DType::I16)?;
    let k = i.argmax(Some(1), true)?;
    assert_eq!(k.shape(), vec![6, 1]);
    let inputs: HashMap<String, Array> = [("i".to_string(), i.clone())].into();
    assert_close(
        &compute_f64(&evaluate("i.argmax(axis=1, keepdims=True)", &inputs)?),
        &compute_f64(&k),
        "eval argmax",
    );
    assert_close(
        &compute_f64(&evaluate("argmin(i)", &inputs)?),
        &compute_f64(&i.argmin(None, false)?),
        "eval argmin",
    );
    let e = Array::zeros(&[3, 0], &[2, 1], DType::F64)?;
    assert!(e.argmax(Some(1), false).is_err());
    assert!(e.argmin(None, false).is_err());
    assert_eq!(compute_f64(&e.argmax(Some(0), false)?).shape(), &[0]);
    Ok(())
}
