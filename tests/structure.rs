//! Structure operations (concatenate, stack, expand_dims, squeeze, broadcast_to, flip,
//! moveaxis, pad) against ndarray on the same data, over chunkings that do not divide the
//! shapes, 1-d to 3-d, both schedulers; composed with elementwise ops and reductions.

use brickwork::{Array, DType, Error, PadMode, Scalar};
use ndarray::{ArrayD, Axis, IxDyn};
use proptest::prelude::*;

use crate::common::*;

fn arr(shape: &[usize], chunks: &[usize], salt: u64) -> (Array, ArrayD<f64>) {
    let d = data(shape, salt);
    (Array::from_ndarray(d.clone(), chunks).unwrap(), d)
}

#[test]
fn concatenate_and_stack_match_ndarray() -> TestResult {
    let (a, da) = arr(&[5, 7], &[2, 3], 1);
    let (b, db) = arr(&[3, 7], &[3, 4], 2);
    let (c, dc) = arr(&[5, 7], &[5, 2], 3);
    let want = ndarray::concatenate(Axis(0), &[da.view(), db.view()])?;
    assert_close(
        &compute_f64(&Array::concatenate(&[&a, &b], 0)?),
        &want,
        "axis 0",
    );
    let want = ndarray::concatenate(Axis(1), &[da.view(), dc.view(), da.view()])?;
    assert_close(
        &compute_f64(&Array::concatenate(&[&a, &c, &a], -1)?),
        &want,
        "axis -1",
    );
    let want = ndarray::stack(Axis(1), &[da.view(), dc.view()])?;
    assert_close(&compute_f64(&Array::stack(&[&a, &c], 1)?), &want, "stack");
    // Fused with what follows; dtypes promote; empty parts.
    let i = Array::arange(0.into(), 7.into(), 1.into(), 3)?.astype(DType::I32)?;
    let e = Array::zeros(&[0], &[1], DType::F32)?;
    let j = Array::concatenate(&[&i, &e, &i], 0)?;
    assert_eq!(j.dtype(), DType::F64);
    let got = compute_f64(&(&j * 2.0).sum()?);
    assert_close(&got, &ArrayD::from_elem(IxDyn(&[]), 84.0), "sum of joined");
    let e = Array::concatenate(&[&a, &b], 1).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    assert!(Array::stack(&[&a, &b], 0).is_err());
    Ok(())
}

#[test]
fn axes_views_match_ndarray() -> TestResult {
    let (x, d) = arr(&[4, 1, 6], &[3, 1, 4], 4);
    let got = compute_f64(&x.expand_dims(1)?);
    assert_close(&got, &d.clone().insert_axis(Axis(1)), "expand_dims 1");
    let got = compute_f64(&x.expand_dims(-1)?);
    assert_close(&got, &d.clone().insert_axis(Axis(3)), "expand_dims -1");
    let got = compute_f64(&x.squeeze(None)?);
    assert_close(&got, &d.clone().index_axis_move(Axis(1), 0), "squeeze");
    assert!(x.squeeze(Some(&[0])).is_err());
    let got = compute_f64(&x.broadcast_to(&[2, 4, 3, 6])?);
    let want = d
        .broadcast(IxDyn(&[2, 4, 3, 6]))
        .ok_or("broadcast")?
        .to_owned();
    assert_close(&got, &want, "broadcast_to");
    assert!(x.broadcast_to(&[4, 2, 5]).is_err());
    let got = compute_f64(&x.flip(-1)?);
    let mut want = d.clone();
    want.invert_axis(Axis(2));
    assert_close(&got, &want, "flip");
    let got = compute_f64(&x.moveaxis(0, -1)?);
    assert_close(
        &got,
        &d.clone().permuted_axes(IxDyn(&[1, 2, 0])),
        "moveaxis",
    );
    Ok(())
}

/// NumPy's `pad` of a 2-d array, by index mapping.
fn pad_ref(d: &ArrayD<f64>, widths: &[(usize, usize)], mode: &str, value: f64) -> ArrayD<f64> {
    let shape: Vec<usize> = d
        .shape()
        .iter()
        .zip(widths)
        .map(|(&n, &(b, a))| n + b + a)
        .collect();
    ArrayD::from_shape_fn(IxDyn(&shape), |ix| {
        let mut src = Vec::new();
        for (k, (&(b, _), &n)) in widths.iter().zip(d.shape()).enumerate() {
            let i = ix[k] as isize - b as isize;
            let j = match mode {
                _ if (0..n as isize).contains(&i) => i,
                "constant" => return value,
                "edge" => i.clamp(0, n as isize - 1),
                _ if i < 0 => -i,
                _ => 2 * (n as isize - 1) - i,
            };
            src.push(j as usize);
        }
        d[IxDyn(&src)]
    })
}

#[test]
fn pad_matches_numpy_modes() -> TestResult {
    let (x, d) = arr(&[6, 5], &[4, 2], 5);
    let widths = [(2, 1), (0, 3)];
    for (mode, name) in [
        (PadMode::Constant(Scalar::Float(-1.5)), "constant"),
        (PadMode::Edge, "edge"),
        (PadMode::Reflect, "reflect"),
    ] {
        let got = compute_f64(&x.pad(&widths, mode)?);
        assert_close(&got, &pad_ref(&d, &widths, name, -1.5), name);
    }
    assert!(x.pad(&[(6, 0), (0, 0)], PadMode::Reflect).is_err());
    assert!(x.pad(&[(1, 1)], PadMode::Edge).is_err());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    #[test]
    fn concatenate_is_chunking_invariant(
        n1 in 0usize..8, n2 in 1usize..8, m in 1usize..6,
        c1 in 1usize..5, c2 in 1usize..5, cm in 1usize..4, cm2 in 1usize..4,
    ) {
        let (a, da) = arr(&[n1, m], &[c1, cm], 6);
        let (b, db) = arr(&[n2, m], &[c2, cm2], 7);
        let want = ndarray::concatenate(Axis(0), &[da.view(), db.view()]).unwrap();
        let got = compute_f64(&Array::concatenate(&[&a, &b], 0).unwrap());
        assert_close(&got, &want, "concatenate");
        let got = compute_f64(&Array::concatenate(&[&a.t(), &b.t()], 1).unwrap());
        assert_close(&got, &want.t().to_owned(), "concatenate transposed");
    }
}

#[test]
fn take_matches_ndarray_select() -> TestResult {
    use std::collections::HashMap;
    let (x, d) = arr(&[9, 13, 4], &[4, 5, 3], 7);
    for (indices, axis) in [
        (vec![0i64, 1, 2, 8, 6, 4, 4, -1, 3], 0usize),
        (vec![12, 0, 5, 6, 7, 7, 2], 1),
        (vec![3, 2, 1, 0], 2),
        (vec![5], 1),
    ] {
        let len = d.shape()[axis] as i64;
        let picked: Vec<usize> = indices
            .iter()
            .map(|&i| if i < 0 { i + len } else { i } as usize)
            .collect();
        let want = d.select(Axis(axis), &picked);
        let got = x.take(&indices, axis as isize)?;
        assert_close(
            &compute_f64(&got),
            &want,
            &format!("{indices:?} axis {axis}"),
        );
    }
    // A random index set (hundreds of runs) gathers per block.
    let (big, db) = arr(&[5, 300, 4], &[2, 37, 3], 9);
    let mut state = 12345u64;
    let random: Vec<i64> = (0..500)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % 300) as i64 - 150
        })
        .collect();
    let picked: Vec<usize> = random
        .iter()
        .map(|&i| if i < 0 { i + 300 } else { i } as usize)
        .collect();
    assert_close(
        &compute_f64(&big.take(&random, 1)?),
        &db.select(Axis(1), &picked),
        "random take",
    );
    for bad in [vec![9i64], vec![-10]] {
        let e = x.take(&bad, 0).err();
        assert!(
            matches!(e, Some(Error::IndexOutOfBounds { axis: 0, .. })),
            "{bad:?}: {e:?}"
        );
    }
    // No indices: an empty result, as NumPy's.
    let none = x.take(&[], 1)?;
    assert_eq!(none.shape()[1], 0);
    assert_eq!(none.compute()?.shape()[1], 0);
    let inputs: HashMap<String, Array> = [("x".to_string(), x.clone())].into();
    let got = brickwork::parse::evaluate("take(x, (2, 0, 0), axis=1).sum(axis=2)", &inputs)?;
    let want = d.select(Axis(1), &[2, 0, 0]).sum_axis(Axis(2));
    assert_close(&compute_f64(&got), &want, "eval take");
    let got = brickwork::parse::evaluate("x.take(-1, axis=0)", &inputs)?;
    let want = d.index_axis(Axis(0), 8).to_owned();
    assert_close(&compute_f64(&got), &want, "eval take method, scalar index");
    let got = brickwork::parse::evaluate("x.take((-1,), axis=0)", &inputs)?;
    assert_close(
        &compute_f64(&got),
        &d.select(Axis(0), &[8]),
        "eval take method",
    );
    Ok(())
}
