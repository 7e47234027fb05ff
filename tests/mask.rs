//! Boolean selection (`x[mask]`, `compress`, `extract`) and integer index arrays against
//! references built from ndarray in C order, on ragged chunkings, 1-d to 3-d, several
//! dtypes, both schedulers; in the library and `eval`; a store under a memory limit.

use std::collections::HashMap;

use brickwork::parse::{evaluate, evaluate_with};
use brickwork::{Array, ComputeOptions, DType, Error, Scalar, WriteOptions};
use ndarray::{ArrayD, Axis, IxDyn};

use crate::common::*;

/// NumPy's `x[mask]` for a mask over the leading axes of `x`.
fn masked(x: &ArrayD<f64>, mask: &ArrayD<bool>) -> ArrayD<f64> {
    let k = mask.ndim();
    let lanes: usize = mask.len();
    let rest: Vec<usize> = x.shape()[k..].to_vec();
    let per: usize = rest.iter().product();
    let flat: Vec<f64> = x.iter().copied().collect();
    let mut out = Vec::new();
    let mut n = 0;
    for (i, &m) in mask.iter().enumerate() {
        if m {
            out.extend_from_slice(&flat[i * per..(i + 1) * per]);
            n += 1;
        }
    }
    assert_eq!(lanes * per, flat.len());
    let mut shape = vec![n];
    shape.extend(rest);
    ArrayD::from_shape_vec(IxDyn(&shape), out).unwrap()
}

fn threshold(a: &Array, t: f64) -> Array {
    a.greater(&Array::full(&[], &[], Scalar::Float(t), DType::F64).unwrap())
        .unwrap()
}

#[test]
fn boolean_index_matches_numpy_order() -> TestResult {
    for (shape, chunks, k) in [
        (vec![37], vec![8], 1),
        (vec![12, 10], vec![5, 4], 2),
        (vec![12, 10], vec![5, 4], 1),
        (vec![6, 7, 5], vec![4, 3, 2], 3),
        (vec![6, 7, 5], vec![4, 3, 2], 2),
        (vec![6, 7, 5], vec![1, 7, 5], 1),
    ] {
        let d = data(&shape, 11);
        let x = Array::from_ndarray(d.clone(), &chunks)?;
        for t in [-1.0, 0.3, 0.7, 2.0] {
            // The mask over the leading `k` axes: the first slice of the rest.
            let lead: Vec<usize> = shape[..k].to_vec();
            let md = d
                .slice_each_axis(|ax| {
                    if ax.axis.index() < k {
                        ndarray::Slice::from(..)
                    } else {
                        ndarray::Slice::from(0..1)
                    }
                })
                .to_owned()
                .into_shape_with_order(IxDyn(&lead))?;
            let mask_d = md.mapv(|v| v > t);
            let mask = threshold(
                &Array::from_ndarray(md.clone(), &chunks[..k])?.rechunk(&vec![3; k])?,
                t,
            );
            let y = x.boolean_index(&mask)?;
            let want = masked(&d, &mask_d);
            assert_eq!(y.shape(), want.shape().to_vec(), "{shape:?} k={k} t={t}");
            assert_close(&compute_f64(&y), &want, &format!("{shape:?} k={k} t={t}"));
        }
    }
    Ok(())
}

#[test]
fn boolean_index_keeps_dtypes_and_skips_empty_blocks() -> TestResult {
    let d = from_fn(&[40], |i| i as f64);
    let x = Array::from_ndarray(d.clone(), &[10])?;
    // Selects only from the last block: the other three are not computed.
    let m = threshold(&x, 33.5);
    let y = x.boolean_index(&m)?;
    assert_eq!(y.chunks()?.nblocks(), 1);
    let (got, metrics) = y.compute_with(&ComputeOptions::threads(2))?;
    assert_eq!(
        got.into_typed::<f64>().iter().copied().collect::<Vec<_>>(),
        [34.0, 35.0, 36.0, 37.0, 38.0, 39.0]
    );
    assert!(metrics.tasks <= 3, "{metrics:?}");
    for dtype in [DType::I32, DType::U8, DType::F32, DType::Bool] {
        let xt = x.astype(dtype)?;
        let y = xt.boolean_index(&threshold(&x, 20.0))?;
        assert_eq!(y.dtype(), dtype);
        assert_eq!(y.shape(), vec![19]);
    }
    // Nothing selected: an empty array of the right shape.
    let e = x
        .reshape(&[4, 10])?
        .boolean_index(&threshold(&x.reshape(&[4, 10])?.sum_axis(Axis(1))?, 1e9))?;
    assert_eq!(e.shape(), vec![0, 10]);
    assert_eq!(e.compute()?.len(), 0);
    Ok(())
}

#[test]
fn compress_and_extract() -> TestResult {
    let d = data(&[9, 13, 4], 5);
    let x = Array::from_ndarray(d.clone(), &[4, 5, 3])?;
    let keep = [
        true, false, false, true, true, false, true, true, false, false, false, true, true,
    ];
    let cond = Array::from_ndarray(ndarray::arr1(&keep).into_dyn(), &[4])?;
    let picked: Vec<usize> = (0..13).filter(|&i| keep[i]).collect();
    let want = d.select(Axis(1), &picked);
    assert_close(
        &compute_f64(&x.compress(&cond, 1)?),
        &want,
        "compress axis 1",
    );
    // A shorter condition selects nothing past its end.
    let short = Array::from_ndarray(ndarray::arr1(&[false, true, true]).into_dyn(), &[2])?;
    assert_close(
        &compute_f64(&x.compress(&short, -1)?),
        &d.select(Axis(2), &[1, 2]),
        "compress short",
    );
    let long = Array::from_ndarray(ndarray::arr1(&[true; 5]).into_dyn(), &[2])?;
    assert!(matches!(
        x.compress(&long, 2),
        Err(Error::ShapeMismatch { .. })
    ));
    // Errors: a mask that is not bool, or of another shape.
    let e = x.boolean_index(&x).unwrap_err();
    assert!(e.to_string().contains("bool"), "{e}");
    let other = threshold(&Array::from_ndarray(data(&[9, 12], 1), &[4, 4])?, 0.5);
    let e = x.boolean_index(&other).unwrap_err();
    assert!(e.to_string().contains("axis 1"), "{e}");
    Ok(())
}

fn inputs(pairs: &[(&str, &Array)]) -> HashMap<String, Array> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), (*v).clone()))
        .collect()
}

#[test]
fn eval_indexes_with_arrays() -> TestResult {
    let d = data(&[12, 10], 2);
    let x = Array::from_ndarray(d.clone(), &[5, 4])?;
    let idx = Array::from_ndarray(ndarray::arr1(&[3i64, 0, 9, 9, -1]).into_dyn(), &[2])?;
    let env = inputs(&[("x", &x), ("i", &idx)]);
    let check = |text: &str, want: &ArrayD<f64>| {
        let got = compute_f64(&evaluate(text, &env).unwrap_or_else(|e| panic!("{text}: {e}")));
        assert_close(&got, want, text);
    };
    check("x[x > 0.5]", &masked(&d, &d.mapv(|v| v > 0.5)));
    let rows = d.index_axis(Axis(1), 0).mapv(|v| v > 0.4);
    check("x[x[:, 0] > 0.4]", &masked(&d, &rows.clone().into_dyn()));
    let cols = d.index_axis(Axis(0), 2).mapv(|v| v < 0.5);
    let picked: Vec<usize> = (0..10).filter(|&j| cols[j]).collect();
    check(
        "x[1:, x[2] < 0.5]",
        &d.slice(ndarray::s![1.., ..])
            .select(Axis(1), &picked)
            .into_dyn(),
    );
    check("x[:, i]", &d.select(Axis(1), &[3, 0, 9, 9, 9]));
    check(
        "x[i][:, 2]",
        &d.select(Axis(0), &[3, 0, 9, 9, 11])
            .index_axis(Axis(1), 2)
            .to_owned(),
    );
    check("take(x, i, axis=1)", &d.select(Axis(1), &[3, 0, 9, 9, 9]));
    check("extract(x > 0.5, x)", &masked(&d, &d.mapv(|v| v > 0.5)));
    check(
        "compress(x[:, 0] > 0.4, x, axis=0)",
        &masked(&d, &rows.into_dyn()),
    );
    check(
        "x[i, i]",
        &pointwise(&d, &[vec![3, 0, 9, 9, -1], vec![3, 0, 9, 9, -1]]),
    );
    let e = evaluate("x[x]", &env).unwrap_err();
    assert!(e.to_string().contains("integer"), "{e}");
    Ok(())
}

#[test]
fn boolean_index_of_a_store_counts_within_the_limit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("x.zarr");
    Array::random(&[800, 800], &[100, 100], 3)?.to_zarr(&path, &WriteOptions::default())?;
    let x = Array::from_zarr(&path)?;
    // Raveling reads bands of whole rows: 8 chunks of 80 KB and their decoding.
    let limit = 4 << 20;
    let opts = ComputeOptions::threads(2).with_memory_limit(limit);
    let y = evaluate_with("x[x > 0.99].sum()", &inputs(&[("x", &x)]), &opts)?;
    let (got, m) = y.compute_with(&opts)?;
    assert!(m.peak_reserved_bytes <= limit, "{m:?}");
    let d = x.compute()?.into_typed::<f64>();
    let want: f64 = d.iter().filter(|&&v| v > 0.99).sum();
    assert!((got.into_typed::<f64>().sum() - want).abs() < 1e-9 * want.abs().max(1.0));
    // The counting pass itself is refused under a limit no task fits.
    let tiny = ComputeOptions::threads(2).with_memory_limit(100_000);
    let e = evaluate_with("x[x > 0.99]", &inputs(&[("x", &x)]), &tiny).unwrap_err();
    // The count block is 8 bytes: the hint points at the chunks read, not the block's.
    assert!(
        e.to_string()
            .contains("smaller chunks of the arrays it reads"),
        "{e}"
    );
    Ok(())
}

/// `x[i[p], j[p], ..]` for each point, then the axes not indexed.
fn pointwise(x: &ArrayD<f64>, idx: &[Vec<i64>]) -> ArrayD<f64> {
    let k = idx.len();
    let n = idx[0].len();
    let rest: Vec<usize> = x.shape()[k..].to_vec();
    let mut out = Vec::new();
    for p in 0..n {
        let mut v = x.view();
        for (d, i) in idx.iter().enumerate() {
            let len = x.shape()[d] as i64;
            let j = if i[p] < 0 { i[p] + len } else { i[p] } as usize;
            v = v.index_axis_move(Axis(0), j);
        }
        out.extend(v.iter().copied());
    }
    let mut shape = vec![n];
    shape.extend(rest);
    ArrayD::from_shape_vec(IxDyn(&shape), out).unwrap()
}

#[test]
fn vindex_selects_points_in_the_order_given() -> TestResult {
    let d = data(&[9, 13, 4], 8);
    let x = Array::from_ndarray(d.clone(), &[4, 5, 3])?;
    let cases: Vec<Vec<Vec<i64>>> = vec![
        vec![vec![0, 8, 3, 3, -1, 4]],
        vec![vec![8, 0, 3, 3, -9], vec![12, 0, 5, 5, 1]],
        vec![vec![1, 2, 3], vec![4, 5, 6], vec![0, 3, 2]],
        // Sorted points: no reordering task.
        vec![vec![0, 0, 4, 8], vec![1, 7, 2, 12]],
        vec![vec![]],
    ];
    for idx in &cases {
        let refs: Vec<&[i64]> = idx.iter().map(Vec::as_slice).collect();
        let y = x.vindex(&refs)?;
        assert_close(&compute_f64(&y), &pointwise(&d, idx), &format!("{idx:?}"));
    }
    // Only the blocks holding points are computed: 2 points in 2 blocks of the last axis,
    // each a reshape task and a selection task.
    let y = x.vindex(&[&[0, 8], &[0, 12]])?;
    let (_, m) = y.compute_with(&ComputeOptions::synchronous())?;
    assert_eq!(m.tasks, 8, "{m:?}");
    assert!(
        x.vindex(&[&[9], &[0]])
            .unwrap_err()
            .to_string()
            .contains("out of bounds for axis 0")
    );
    assert!(x.vindex(&[&[1, 2], &[0]]).is_err());
    assert!(x.vindex(&[]).is_err());
    // eval: x[i, j] and vindex(x, (i, j)).
    let i = Array::from_ndarray(ndarray::arr1(&[8i32, 0, 3]).into_dyn(), &[2])?;
    let env = inputs(&[("x", &x), ("i", &i)]);
    let want = pointwise(&d, &[vec![8, 0, 3], vec![8, 0, 3]]);
    for text in ["x[i, i]", "vindex(x, (i, (8, 0, 3)))"] {
        let got = evaluate(text, &env).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_close(&compute_f64(&got), &want, text);
    }
    // Pointwise on the last two axes: the points axis where the arrays stand.
    let j = Array::from_ndarray(ndarray::arr1(&[1i64, 3, 0]).into_dyn(), &[3])?;
    let env = inputs(&[("x", &x), ("i", &i), ("j", &j)]);
    let got = compute_f64(&evaluate("x[2:, i, j]", &env)?);
    let want = ArrayD::from_shape_fn(IxDyn(&[7, 3]), |ix| {
        d[[ix[0] + 2, [8, 0, 3][ix[1]], [1, 3, 0][ix[1]]]]
    });
    assert_close(&got, &want, "x[2:, i, j]");
    // Apart (NumPy's rule): the points axis goes first.
    let got = compute_f64(&evaluate("x[i, :, j]", &env)?);
    let n1 = d.shape()[1];
    let want = ArrayD::from_shape_fn(IxDyn(&[3, n1]), |ix| {
        d[[[8, 0, 3][ix[0]], ix[1], [1, 3, 0][ix[0]]]]
    });
    assert_close(&got, &want, "x[i, :, j]");
    Ok(())
}
