//! Cumulative sums and products against ndarray's sequential accumulation on the same data
//! (bit for bit: the additions happen in the same order), over chunkings that do not divide
//! the shape, 1-d to 3-d, several dtypes, both schedulers, and under a memory limit.

use brickwork::{Array, ComputeOptions, DType};
use ndarray::{ArrayD, Axis};
use proptest::prelude::*;

use crate::common::*;

/// NumPy's `cumsum`/`cumprod` along `axis`, sequentially.
fn reference(a: &ArrayD<f64>, axis: usize, prod: bool) -> ArrayD<f64> {
    let mut r = a.clone();
    r.accumulate_axis_inplace(Axis(axis), |&prev, cur| {
        *cur = if prod { prev * *cur } else { prev + *cur }
    });
    r
}

#[test]
fn scans_match_sequential_accumulation_on_ragged_chunkings() -> TestResult {
    for shape in [vec![17], vec![9, 11], vec![5, 6, 7]] {
        let d = data(&shape, 3).mapv(|v| v / 8.0 + 1.0);
        for chunks in chunkings(&shape) {
            let x = Array::from_ndarray(d.clone(), &chunks)?;
            for axis in 0..shape.len() {
                let ax = axis as isize - shape.len() as isize; // negative axes too
                let got = compute_f64(&x.cumsum(ax)?);
                assert_eq!(
                    got,
                    reference(&d, axis, false),
                    "cumsum {shape:?} {chunks:?} {axis}"
                );
                let got = compute_f64(&x.cumprod(axis as isize)?);
                assert_eq!(
                    got,
                    reference(&d, axis, true),
                    "cumprod {shape:?} {chunks:?} {axis}"
                );
            }
        }
    }
    Ok(())
}

#[test]
fn scan_dtypes_follow_numpy() -> TestResult {
    let x = Array::arange(0.into(), 40.into(), 1.into(), 7)?;
    for (dtype, want) in [
        (DType::I8, DType::I64),
        (DType::I32, DType::I64),
        (DType::U8, DType::U64),
        (DType::Bool, DType::I64),
        (DType::F32, DType::F32),
        (DType::F64, DType::F64),
    ] {
        assert_eq!(x.astype(dtype)?.cumsum(0)?.dtype(), want, "{dtype}");
        assert_eq!(x.astype(dtype)?.cumprod(0)?.dtype(), want, "{dtype}");
    }
    // int8 values that would overflow int8 accumulate in int64.
    let big = Array::full(&[300], &[64], 100.into(), DType::I8)?;
    assert_eq!(big.cumsum(0)?.compute_as::<i64>()?[[299]], 30_000);
    // float32 accumulates in float32, in order.
    let f = Array::full(&[20_000], &[3_000], 0.1.into(), DType::F32)?;
    let mut acc = 0.0f32;
    let want: Vec<f32> = (0..20_000)
        .map(|_| {
            acc += 0.1f32;
            acc
        })
        .collect();
    assert_eq!(
        f.cumsum(0)?
            .compute_as::<f32>()?
            .into_raw_vec_and_offset()
            .0,
        want
    );
    assert!(x.cumsum(1).is_err());
    assert!(x.cumsum(-2).is_err());
    Ok(())
}

#[test]
fn a_scan_runs_in_bounded_memory_and_fuses_with_its_operand() -> TestResult {
    let x = Array::random(&[800, 600], &[50, 60], 4)?;
    let y = (&x * 2.0 - 1.0)
        .cumsum(0)?
        .slice(ndarray::s![..;7, 100..])?;
    let want = reference(&x.compute_as::<f64>()?.mapv(|v| v * 2.0 - 1.0), 0, false)
        .slice(ndarray::s![..;7, 100..])
        .to_owned()
        .into_dyn();
    let limit = 1 << 20;
    for opts in [ComputeOptions::synchronous(), ComputeOptions::threads(2)] {
        let (got, m) = y.compute_with(&opts.with_memory_limit(limit))?;
        assert!(m.peak_reserved_bytes <= limit, "{m:?}");
        assert_eq!(got.into_typed::<f64>(), want);
    }
    // Written to Zarr, the scan is the output stage: each block goes to the store and
    // only its last row waits for the next block.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("c.zarr");
    let opts = ComputeOptions::threads(2).with_memory_limit(limit);
    let m = x
        .cumsum(0)?
        .to_zarr_with(&path, &Default::default(), &opts)?;
    assert!(m.peak_reserved_bytes <= limit, "{m:?}");
    let want = reference(&x.compute_as::<f64>()?, 0, false);
    assert_eq!(Array::from_zarr(&path)?.compute_as::<f64>()?, want);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn scans_are_chunking_invariant(
        n in 1usize..30, m in 1usize..10, c0 in 1usize..9, c1 in 1usize..5, axis in 0usize..2,
    ) {
        let d = data(&[n, m], 9);
        let x = Array::from_ndarray(d.clone(), &[c0, c1]).unwrap();
        let got = compute_f64(&x.cumsum(axis as isize).unwrap());
        prop_assert_eq!(got, reference(&d, axis, false));
    }
}
