//! Elementwise operations against ndarray, with broadcasting and NumPy 2 dtype rules.

use brickwork::{Array, BinaryOp, Block, DType, Scalar};
use ndarray::{ArrayD, IxDyn, Zip};

use crate::common::*;

const SHAPES: [&[usize]; 4] = [&[], &[13], &[9, 11], &[5, 6, 7]];

fn reference(op: BinaryOp, a: f64, b: f64) -> f64 {
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::FloorDiv => (a / b).floor(),
        BinaryOp::Rem => a - (a / b).floor() * b,
        BinaryOp::Minimum => a.min(b),
        BinaryOp::Maximum => a.max(b),
        BinaryOp::Lt => f64::from(u8::from(a < b)),
        BinaryOp::Ge => f64::from(u8::from(a >= b)),
        BinaryOp::Eq => f64::from(u8::from(a == b)),
        _ => unreachable!(),
    }
}

#[test]
fn binary_ops_match_ndarray_for_all_ranks_and_chunkings() -> TestResult {
    let ops = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::FloorDiv,
        BinaryOp::Rem,
        BinaryOp::Minimum,
        BinaryOp::Maximum,
        BinaryOp::Lt,
        BinaryOp::Ge,
        BinaryOp::Eq,
    ];
    for shape in SHAPES {
        let a = data(shape, 1);
        let b = data(shape, 2).mapv(|v| if v == 0.0 { 1.5 } else { v });
        for chunks in chunkings(shape) {
            let (x, y) = (
                Array::from_ndarray(a.clone(), &chunks)?,
                Array::from_ndarray(b.clone(), &chunks)?,
            );
            for op in ops {
                let got = compute_f64(&x.binary(op, &y)?);
                let want = Zip::from(&a)
                    .and(&b)
                    .map_collect(|&p, &q| reference(op, p, q));
                assert_close(
                    &got,
                    &want,
                    &format!("{} shape {shape:?} chunks {chunks:?}", op.name()),
                );
            }
        }
    }
    Ok(())
}

#[test]
fn unary_functions_and_operators() -> TestResult {
    for shape in SHAPES {
        let a = data(shape, 3);
        let pos = a.mapv(|v| v.abs() + 0.5);
        for chunks in chunkings(shape) {
            let x = Array::from_ndarray(a.clone(), &chunks)?;
            let p = Array::from_ndarray(pos.clone(), &chunks)?;
            assert_close(&compute_f64(&(-&x)), &a.mapv(|v| -v), "neg");
            assert_close(&compute_f64(&x.abs()?), &a.mapv(f64::abs), "abs");
            assert_close(&compute_f64(&p.sqrt()?), &pos.mapv(f64::sqrt), "sqrt");
            assert_close(&compute_f64(&p.ln()?), &pos.mapv(f64::ln), "log");
            assert_close(
                &compute_f64(&(&x / 10.0).exp()?),
                &a.mapv(|v| (v / 10.0).exp()),
                "exp",
            );
            assert_close(&compute_f64(&x.sin()?), &a.mapv(f64::sin), "sin");
            assert_close(&compute_f64(&x.cos()?), &a.mapv(f64::cos), "cos");
            assert_close(
                &compute_f64(&p.powf(1.5)?),
                &pos.mapv(|v| v.powf(1.5)),
                "powf",
            );
            assert_close(
                &compute_f64(&(2.0 - &x * 3)),
                &a.mapv(|v| 2.0 - v * 3.0),
                "scalars",
            );
        }
    }
    Ok(())
}

#[test]
fn broadcasting_follows_numpy() -> TestResult {
    let a = data(&[6, 1, 5], 4);
    let b = data(&[4, 1], 5);
    let want = {
        let av = a.broadcast(IxDyn(&[6, 4, 5])).unwrap();
        let bv = b.broadcast(IxDyn(&[6, 4, 5])).unwrap();
        Zip::from(&av).and(&bv).map_collect(|&p, &q| p * q)
    };
    for (ca, cb) in [(vec![4, 1, 2], vec![3, 1]), (vec![6, 1, 5], vec![1, 1])] {
        let x = Array::from_ndarray(a.clone(), &ca)?;
        let y = Array::from_ndarray(b.clone(), &cb)?;
        let z = &x * &y;
        assert_eq!(z.shape(), vec![6, 4, 5]);
        assert_close(&compute_f64(&z), &want, "broadcast multiply");
    }
    let err = (&Array::zeros(&[3, 4], &[2, 2], DType::F64)?
        + &Array::zeros(&[5], &[2], DType::F64)?)
        .check()
        .unwrap_err()
        .to_string();
    assert!(err.contains("(3, 4)") && err.contains("(5,)"), "{err}");
    Ok(())
}

#[test]
fn numpy2_type_rules() -> TestResult {
    let u8s = Array::from_ndarray(
        ArrayD::from_shape_vec(IxDyn(&[4]), vec![1u8, 100, 200, 255])?,
        &[3],
    )?;
    let plus = &u8s + 1;
    assert_eq!(plus.dtype(), DType::U8, "u8 + 1 stays u8 (NEP 50)");
    assert_eq!(
        compute_both(&plus),
        Block::U8(ArrayD::from_shape_vec(IxDyn(&[4]), vec![2, 101, 201, 0])?)
    );
    assert!(
        u8s.binary_scalar(BinaryOp::Add, Scalar::Int(300), false)
            .is_err(),
        "300 does not fit u8"
    );
    assert_eq!((&u8s + 1.5).dtype(), DType::F64);

    let i32s = Array::from_ndarray(
        ArrayD::from_shape_vec(IxDyn(&[3]), vec![-7i32, 7, 9])?,
        &[2],
    )?;
    let f64s = Array::from_ndarray(
        ArrayD::from_shape_vec(IxDyn(&[3]), vec![2.0f64, 2.0, 2.0])?,
        &[2],
    )?;
    assert_eq!((&i32s + &f64s).dtype(), DType::F64);
    let twos = Array::full(&[3], &[2], Scalar::Int(2), DType::I32)?;
    let div = &i32s / &twos;
    assert_eq!(div.dtype(), DType::F64, "int / int is float64");
    assert_eq!(
        compute_f64(&div).into_raw_vec_and_offset().0,
        vec![-3.5, 3.5, 4.5]
    );
    let fdiv = i32s.binary(BinaryOp::FloorDiv, &twos)?;
    assert_eq!(
        compute_both(&fdiv),
        Block::I32(ArrayD::from_shape_vec(IxDyn(&[3]), vec![-4, 3, 4])?)
    );
    let rem = &i32s % &twos;
    assert_eq!(
        compute_both(&rem),
        Block::I32(ArrayD::from_shape_vec(IxDyn(&[3]), vec![1, 1, 1])?)
    );
    let cmp = i32s.less(&f64s)?;
    assert_eq!(cmp.dtype(), DType::Bool);
    assert_eq!(
        compute_both(&cmp),
        Block::Bool(ArrayD::from_shape_vec(
            IxDyn(&[3]),
            vec![true, false, false]
        )?)
    );

    let i8s = Array::from_ndarray(ArrayD::from_shape_vec(IxDyn(&[2]), vec![-1i8, 5])?, &[1])?;
    let u8b = Array::from_ndarray(ArrayD::from_shape_vec(IxDyn(&[2]), vec![250u8, 5])?, &[1])?;
    let mixed = &i8s + &u8b;
    assert_eq!(mixed.dtype(), DType::I16);
    assert_eq!(
        compute_both(&mixed),
        Block::I16(ArrayD::from_shape_vec(IxDyn(&[2]), vec![249, 10])?)
    );
    assert_eq!(i8s.sum()?.dtype(), DType::I64, "small ints sum in int64");
    assert_eq!(u8b.sum()?.dtype(), DType::U64);
    assert_eq!(
        compute_both(&u8b.sum()?),
        Block::U64(ArrayD::from_elem(IxDyn(&[]), 255))
    );
    Ok(())
}

#[test]
fn astype_where_and_bool_logic() -> TestResult {
    let a = data(&[7, 8], 6);
    let x = Array::from_ndarray(a.clone(), &[3, 5])?;
    let ints = x.astype(DType::I32)?;
    assert_eq!(
        compute_both(&ints),
        Block::I32(a.mapv(|v| v as i32)),
        "astype truncates toward zero"
    );
    let zero = Array::zeros(&[], &[], DType::F64)?;
    let pos = x.greater(&zero)?;
    let neg = !&pos;
    let both = &pos & &neg;
    assert_eq!(compute_both(&both), Block::Bool(a.mapv(|_| false)));
    let clipped = Array::where_(&pos, &x, &(&x * 0.0))?;
    assert_close(&compute_f64(&clipped), &a.mapv(|v| v.max(0.0)), "where");
    assert!(
        x.binary(BinaryOp::And, &x).is_err(),
        "& on floats is a dtype error"
    );
    assert!(
        pos.unary(brickwork::UnaryOp::Neg).is_err(),
        "-bool is a dtype error"
    );
    Ok(())
}
