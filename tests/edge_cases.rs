//! 0-d, empty and single-element arrays, generators, ragged last chunks.

use brickwork::{Array, Block, DType, Scalar};
use ndarray::{ArrayD, IxDyn};

use crate::common::*;

#[test]
fn zero_d_arrays() -> TestResult {
    let x = Array::full(&[], &[], Scalar::Float(2.5), DType::F64)?;
    assert_eq!(
        compute_both(&(&x * &x)),
        Block::F64(ArrayD::from_elem(IxDyn(&[]), 6.25))
    );
    assert_eq!(
        compute_both(&x.sum()?),
        Block::F64(ArrayD::from_elem(IxDyn(&[]), 2.5))
    );
    assert_eq!(x.t().shape(), Vec::<usize>::new());
    Ok(())
}

#[test]
fn empty_arrays() -> TestResult {
    let x = Array::zeros(&[0, 4], &[3, 3], DType::I32)?;
    assert_eq!(
        compute_both(&(&x + 1)),
        Block::I32(ArrayD::zeros(IxDyn(&[0, 4])))
    );
    let y = Array::random(&[5], &[2], 0)?.index_numpy(&[brickwork::NumpyIndex::Slice {
        start: Some(3),
        stop: Some(1),
        step: None,
    }])?;
    assert_eq!(y.shape(), vec![0]);
    assert_eq!(compute_both(&y), Block::F64(ArrayD::zeros(IxDyn(&[0]))));
    Ok(())
}

#[test]
fn generators() -> TestResult {
    let a = Array::arange(Scalar::Int(3), Scalar::Int(20), Scalar::Int(4), 2)?;
    assert_eq!(a.dtype(), DType::I64);
    assert_eq!(
        compute_both(&a),
        Block::I64(ArrayD::from_shape_vec(IxDyn(&[5]), vec![3, 7, 11, 15, 19])?)
    );
    let f = Array::arange(
        Scalar::Float(0.0),
        Scalar::Float(1.0),
        Scalar::Float(0.25),
        3,
    )?;
    assert_eq!(
        compute_f64(&f).into_raw_vec_and_offset().0,
        vec![0.0, 0.25, 0.5, 0.75]
    );
    let l = Array::linspace(0.0, 1.0, 5, true, 2)?;
    assert_eq!(
        compute_f64(&l).into_raw_vec_and_offset().0,
        vec![0.0, 0.25, 0.5, 0.75, 1.0]
    );
    let l = Array::linspace(0.0, 1.0, 4, false, 3)?;
    assert_eq!(
        compute_f64(&l).into_raw_vec_and_offset().0,
        vec![0.0, 0.25, 0.5, 0.75]
    );
    let o = Array::ones(&[3, 2], &[2, 2], DType::U16)?;
    assert_eq!(
        compute_both(&o),
        Block::U16(ArrayD::from_elem(IxDyn(&[3, 2]), 1))
    );
    let b = Array::full(&[2], &[1], Scalar::Bool(true), DType::Bool)?;
    assert_eq!(
        compute_both(&b),
        Block::Bool(ArrayD::from_elem(IxDyn(&[2]), true))
    );
    // slicing a generator reads its index space correctly
    let r = Array::arange(Scalar::Int(0), Scalar::Int(100), Scalar::Int(1), 7)?.index_numpy(&[
        brickwork::NumpyIndex::Slice {
            start: Some(90),
            stop: Some(10),
            step: Some(-20),
        },
    ])?;
    assert_eq!(
        compute_both(&r),
        Block::I64(ArrayD::from_shape_vec(IxDyn(&[4]), vec![90, 70, 50, 30])?)
    );
    Ok(())
}

#[test]
fn shared_subexpressions_and_display() -> TestResult {
    let x = Array::random(&[20, 20], &[6, 6], 9)?;
    let y = &x * 2.0;
    let mut z = y.clone();
    for _ in 0..30 {
        z = &z + &z; // a deep DAG of shared nodes must not blow up
    }
    let got = compute_f64(&z.slice(brickwork::s![..2, ..2])?);
    let want = x
        .compute_as::<f64>()?
        .slice(brickwork::s![..2, ..2])
        .mapv(|v| v * 2.0 * (1u64 << 30) as f64)
        .into_dyn();
    assert_close(&got, &want, "deep shared DAG");
    let repr = x.to_string();
    assert!(
        repr.starts_with(
            "brickwork.Array<random, shape=(20, 20), dtype=float64, chunksize=(6, 6), chunks=16"
        ),
        "{repr}"
    );
    let m = x.mean()?;
    let explain = m.explain()?;
    assert!(
        explain.contains("mean-partial") && explain.contains("after culling"),
        "{explain}"
    );
    Ok(())
}
