//! Reductions against ndarray over every axis subset, with ragged chunks and several fan-ins.

use brickwork::{Array, Block, DType, ReduceOp, ReduceOptions};
use ndarray::{ArrayD, Axis, IxDyn};

use crate::common::*;

fn reference(a: &ArrayD<f64>, op: ReduceOp, axes: &[usize], ddof: f64) -> ArrayD<f64> {
    // Reduce one axis at a time (highest first) with exact two-pass formulas.
    let mut cur = a.clone();
    let n: usize = axes.iter().map(|&ax| a.shape()[ax]).product();
    match op {
        ReduceOp::Sum | ReduceOp::Mean => {
            for &ax in axes.iter().rev() {
                cur = cur.sum_axis(Axis(ax));
            }
            if op == ReduceOp::Mean {
                cur.mapv_inplace(|v| v / n as f64);
            }
            cur
        }
        ReduceOp::Prod => {
            for &ax in axes.iter().rev() {
                cur = cur.map_axis(Axis(ax), |l| l.iter().product());
            }
            cur
        }
        ReduceOp::Min | ReduceOp::Max => {
            for &ax in axes.iter().rev() {
                cur = cur.map_axis(Axis(ax), |l| {
                    l.iter().copied().fold(
                        if op == ReduceOp::Min {
                            f64::INFINITY
                        } else {
                            f64::NEG_INFINITY
                        },
                        |s, v| {
                            if op == ReduceOp::Min {
                                s.min(v)
                            } else {
                                s.max(v)
                            }
                        },
                    )
                });
            }
            cur
        }
        ReduceOp::Var | ReduceOp::Std => {
            let mean = reference(a, ReduceOp::Mean, axes, 0.0);
            let mut keep = mean.clone();
            for &ax in axes {
                keep = keep.insert_axis(Axis(ax));
            }
            let dev = (a - &keep.broadcast(a.raw_dim()).unwrap()).mapv(|v| v * v);
            let ss = reference(&dev, ReduceOp::Sum, axes, 0.0);
            let var = ss.mapv(|v| v / (n as f64 - ddof));
            if op == ReduceOp::Std {
                var.mapv(f64::sqrt)
            } else {
                var
            }
        }
    }
}

fn axis_subsets(ndim: usize) -> Vec<Vec<usize>> {
    (0..1usize << ndim)
        .map(|m| (0..ndim).filter(|d| m & (1 << d) != 0).collect())
        .collect()
}

#[test]
fn every_reduction_over_every_axis_subset() -> TestResult {
    let ops = [
        ReduceOp::Sum,
        ReduceOp::Mean,
        ReduceOp::Prod,
        ReduceOp::Min,
        ReduceOp::Max,
        ReduceOp::Var,
        ReduceOp::Std,
    ];
    for shape in [&[][..], &[23], &[9, 13], &[5, 6, 7]] {
        let a = data(shape, 11).mapv(|v| v / 16.0 + 0.5);
        for chunks in chunkings(shape).into_iter().take(3) {
            let x = Array::from_ndarray(a.clone(), &chunks)?;
            for axes in axis_subsets(shape.len()) {
                for op in ops {
                    for split_every in [2, 3, 8] {
                        let iaxes: Vec<isize> = axes.iter().map(|&d| d as isize).collect();
                        let opts = ReduceOptions {
                            ddof: 1.0,
                            split_every,
                            ..ReduceOptions::default()
                        };
                        let got = compute_f64(&x.reduce(op, Some(&iaxes), &opts)?);
                        let want = reference(&a, op, &axes, 1.0);
                        assert_close(
                            &got,
                            &want,
                            &format!(
                                "{} axes {axes:?} shape {shape:?} chunks {chunks:?} split {split_every}",
                                op.name()
                            ),
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

#[test]
fn keepdims_negative_axes_and_methods() -> TestResult {
    let a = data(&[8, 9, 10], 12);
    let x = Array::from_ndarray(a.clone(), &[3, 4, 3])?;
    let k = x.reduce(
        ReduceOp::Sum,
        Some(&[-1, 0]),
        &ReduceOptions {
            keepdims: true,
            ..Default::default()
        },
    )?;
    assert_eq!(k.shape(), vec![1, 9, 1]);
    let want = a
        .sum_axis(Axis(2))
        .sum_axis(Axis(0))
        .insert_axis(Axis(0))
        .insert_axis(Axis(2));
    assert_close(&compute_f64(&k), &want, "keepdims");
    assert_close(
        &compute_f64(&x.mean_axis(Axis(1))?),
        &a.mean_axis(Axis(1)).unwrap(),
        "mean_axis",
    );
    assert_close(
        &compute_f64(&x.std_axis(Axis(2), 0.0)?),
        &a.std_axis(Axis(2), 0.0),
        "std_axis",
    );
    assert_close(
        &compute_f64(&x.var_axis(Axis(0), 1.0)?),
        &a.var_axis(Axis(0), 1.0),
        "var_axis",
    );
    let total = compute_f64(&x.sum()?);
    assert_close(&total, &ArrayD::from_elem(IxDyn(&[]), a.sum()), "sum");
    assert!(
        x.reduce(ReduceOp::Sum, Some(&[3]), &ReduceOptions::default())
            .is_err()
    );
    assert!(
        x.reduce(ReduceOp::Sum, Some(&[1, -2]), &ReduceOptions::default())
            .is_err()
    );
    Ok(())
}

#[test]
fn integer_and_bool_reductions() -> TestResult {
    let ints = ArrayD::from_shape_fn(IxDyn(&[11, 7]), |ix| {
        (ix[0] as i32 * 31 - ix[1] as i32 * 17) % 23
    });
    let x = Array::from_ndarray(ints.clone(), &[4, 3])?;
    assert_eq!(
        compute_both(&x.sum_axis(Axis(0))?),
        Block::I64(ints.mapv(i64::from).sum_axis(Axis(0)))
    );
    assert_eq!(
        compute_both(&x.max()?),
        Block::I32(ArrayD::from_elem(IxDyn(&[]), *ints.iter().max().unwrap()))
    );
    assert_eq!(
        compute_both(&x.min_axis(Axis(1))?),
        Block::I32(ints.map_axis(Axis(1), |l| *l.iter().min().unwrap()))
    );
    let mean = x.mean()?;
    assert_eq!(mean.dtype(), DType::F64);
    let bools = Array::from_ndarray(ints.mapv(|v| v > 3), &[4, 3])?;
    assert_eq!(
        compute_both(&bools.sum()?),
        Block::I64(ArrayD::from_elem(
            IxDyn(&[]),
            ints.iter().filter(|&&v| v > 3).count() as i64
        ))
    );
    assert_eq!(
        compute_both(&bools.max()?),
        Block::Bool(ArrayD::from_elem(IxDyn(&[]), true))
    );
    let f32s = Array::from_ndarray(ints.mapv(|v| v as f32), &[5, 5])?;
    assert_eq!(f32s.mean()?.dtype(), DType::F32);
    assert_eq!(f32s.sum()?.dtype(), DType::F32);
    Ok(())
}

#[test]
fn nan_propagates_and_empty_reductions() -> TestResult {
    let mut a = data(&[6, 6], 13);
    a[[2, 3]] = f64::NAN;
    let x = Array::from_ndarray(a, &[4, 4])?;
    let m = compute_f64(&x.max_axis(Axis(0))?);
    assert!(m[[3]].is_nan() && !m[[2]].is_nan());
    let e = Array::zeros(&[0, 3], &[2, 2], DType::F64)?;
    assert_close(
        &compute_f64(&e.sum_axis(Axis(0))?),
        &ArrayD::zeros(IxDyn(&[3])),
        "empty sum",
    );
    assert!(
        compute_f64(&e.mean()?).iter().all(|v| v.is_nan()),
        "mean of empty is NaN"
    );
    let err = e.max().unwrap_err().to_string();
    assert!(err.contains("zero-size"), "{err}");
    Ok(())
}

#[test]
fn large_blocks_are_evaluated_in_tiles() -> TestResult {
    // Blocks of up to 200 x 250 = 50 000 elements, several tiles each, ragged edges.
    let a = data(&[257, 301], 14);
    let x = Array::from_ndarray(a.clone(), &[200, 250])?;
    let y = &x * 2.0 - 1.0;
    let want_y = a.mapv(|v| v * 2.0 - 1.0);
    assert_close(&compute_f64(&y), &want_y, "tiled map");
    for axes in [vec![0usize], vec![1], vec![0, 1]] {
        for op in [ReduceOp::Sum, ReduceOp::Var, ReduceOp::Max] {
            let iaxes: Vec<isize> = axes.iter().map(|&d| d as isize).collect();
            let got = compute_f64(&y.reduce(op, Some(&iaxes), &ReduceOptions::default())?);
            assert_close(
                &got,
                &reference(&want_y, op, &axes, 0.0),
                &format!("tiled {} {axes:?}", op.name()),
            );
        }
    }
    let z = Array::from_ndarray(data(&[40, 50, 60], 15), &[40, 50, 30])?;
    let want = reference(&compute_f64(&z), ReduceOp::Mean, &[0, 2], 0.0);
    let got = compute_f64(&z.reduce(ReduceOp::Mean, Some(&[0, 2]), &ReduceOptions::default())?);
    assert_close(&got, &want, "tiled 3-d mean over axes 0 and 2");
    Ok(())
}

#[test]
fn reductions_over_memory_mapped_chunks() -> TestResult {
    // Uncompressed chunks of >= 1 MiB are memory-mapped and reduced in place; the grid is
    // ragged, and slices, steps and transposes read the mapped chunks through views.
    let dir = tempfile::tempdir()?;
    let a = data(&[700, 650], 16);
    let path = dir.path().join("a.zarr");
    let opts = brickwork::WriteOptions {
        codec: brickwork::Codec::None,
        ..brickwork::WriteOptions::default()
    };
    Array::from_ndarray(a.clone(), &[400, 400])?.to_zarr(&path, &opts)?;
    let x = Array::from_zarr(&path)?;
    let views: Vec<(&str, Array, ArrayD<f64>)> = vec![
        ("x", x.clone(), a.clone()),
        ("x.T", x.t(), a.t().to_owned()),
        (
            "x[1::3, 5:600]",
            x.slice(brickwork::s![1..;3, 5..600])?,
            a.slice(ndarray::s![1..;3, 5..600]).to_owned().into_dyn(),
        ),
    ];
    for (name, v, want) in &views {
        for axes in axis_subsets(2) {
            for op in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Var] {
                let iaxes: Vec<isize> = axes.iter().map(|&d| d as isize).collect();
                let got = compute_f64(&v.reduce(op, Some(&iaxes), &ReduceOptions::default())?);
                assert_close(
                    &got,
                    &reference(want, op, &axes, 0.0),
                    &format!("{} of {name} over {axes:?}", op.name()),
                );
            }
        }
    }
    // Integer chunks: sums wrap in int64 as NumPy's.
    let i = a.mapv(|v| (v * 8.0) as i32);
    let path = dir.path().join("i.zarr");
    Array::from_ndarray(i.clone(), &[600, 500])?.to_zarr(&path, &opts)?;
    let got = compute_both(&Array::from_zarr(&path)?.sum_axis(Axis(0))?).into_typed::<i64>();
    assert_eq!(got, i.mapv(i64::from).sum_axis(Axis(0)));
    Ok(())
}
