//! `reshape` and `ravel` against ndarray (C order) over chunkings that do not divide the
//! shapes, 1-d to 4-d, several dtypes, both schedulers; bounded blocks; a store under a
//! memory limit; a property test over shapes built from the same factors.

use brickwork::{Array, ComputeOptions, DType, Error, WriteOptions};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

use crate::common::*;

/// NumPy's reshape of a C-order array.
fn reshaped(d: &ArrayD<f64>, shape: &[usize]) -> ArrayD<f64> {
    d.as_standard_layout()
        .into_owned()
        .into_shape_with_order(IxDyn(shape))
        .expect("same size")
}

fn check(shape: &[usize], chunks: &[usize], to: &[isize], want_shape: &[usize]) {
    let d = data(shape, shape.len() as u64);
    let x = Array::from_ndarray(d.clone(), chunks).unwrap();
    let y = x.reshape(to).unwrap();
    assert_eq!(y.shape(), want_shape, "{shape:?} -> {to:?}");
    let got = compute_f64(&y);
    assert_close(
        &got,
        &reshaped(&d, want_shape),
        &format!("{shape:?} in {chunks:?} -> {to:?}"),
    );
}

/// Input shape, its chunks, the shape asked for, the shape expected.
type Case<'a> = (&'a [usize], &'a [usize], &'a [isize], &'a [usize]);

#[test]
fn reshape_matches_ndarray() {
    let cases: &[Case] = &[
        (&[20, 20], &[7, 6], &[40, 10], &[40, 10]),
        (&[20, 20], &[7, 6], &[10, -1], &[10, 40]),
        (&[20, 20], &[20, 3], &[400], &[400]),
        (&[6, 4, 5], &[4, 3, 2], &[24, 5], &[24, 5]),
        (&[6, 4, 5], &[4, 3, 2], &[4, 3, 2, 5], &[4, 3, 2, 5]),
        (&[6, 4, 5], &[4, 3, 2], &[5, 4, 6], &[5, 4, 6]),
        (&[2, 3, 4], &[1, 2, 3], &[4, 6], &[4, 6]),
        (&[7, 11], &[3, 4], &[11, 7], &[11, 7]),
        (&[120], &[17], &[2, 3, 4, 5], &[2, 3, 4, 5]),
        (&[12, 10], &[5, 4], &[3, 4, 2, 5], &[3, 4, 2, 5]),
        (&[30, 8], &[7, 3], &[15, 16], &[15, 16]),
        // Length-1 axes, kept, added and removed.
        (&[1, 12, 1], &[1, 5, 1], &[3, 1, 4], &[3, 1, 4]),
        (&[4, 1, 3], &[3, 1, 2], &[1, 12, 1, 1], &[1, 12, 1, 1]),
        (&[5, 6], &[2, 4], &[5, 6], &[5, 6]),
        // 0-d and empty.
        (&[], &[], &[1, 1], &[1, 1]),
        (&[1], &[1], &[], &[]),
        (&[0, 4], &[1, 2], &[2, 0, 3], &[2, 0, 3]),
        (&[0, 4], &[1, 2], &[-1, 8], &[0, 8]),
    ];
    for &(shape, chunks, to, want) in cases {
        check(shape, chunks, to, want);
    }
}

#[test]
fn reshape_keeps_dtype_and_fuses_with_neighbours() -> TestResult {
    let d = data(&[12, 10], 3);
    let x = Array::from_ndarray(d.clone(), &[5, 4])?;
    for dtype in [DType::I32, DType::F32, DType::Bool, DType::U8] {
        let y = x.astype(dtype)?.reshape(&[4, 30])?;
        assert_eq!(y.dtype(), dtype);
        let want = x.astype(dtype)?.compute()?.into_typed::<f64>();
        assert_close(&compute_f64(&y), &reshaped(&want, &[4, 30]), "dtype");
    }
    // Through a transpose (not C order in memory), then sliced and reduced.
    let y = (&x.t().reshape(&[-1, 6])? * 2.0).slice(ndarray::s![1..;3, ..])?;
    let want = reshaped(&d.t().to_owned(), &[20, 6]) * 2.0;
    let want = want.slice(ndarray::s![1..;3, ..]).to_owned().into_dyn();
    assert_close(&compute_f64(&y), &want, "transposed, sliced");
    let s = x.ravel()?.sum()?;
    assert_close(
        &compute_f64(&s),
        &ArrayD::from_elem(IxDyn(&[]), d.sum()),
        "ravel sum",
    );
    Ok(())
}

#[test]
fn reshape_blocks_stay_near_the_inputs_block() -> TestResult {
    // dask#8110: merging (2000, 2000) in 100² chunks makes 100 x 2000 input chunks (20x the
    // block). Here blocks stay at the input's 10^4 elements.
    let x = Array::random(&[2000, 2000], &[100, 100], 1)?;
    let y = x.reshape(&[4000, 1000])?;
    let c = y.chunks()?.max_chunk_shape();
    assert_eq!(c[0] * c[1], 10_000, "{c:?}");
    let r = x.ravel()?;
    assert_eq!(r.chunks()?.max_chunk_shape(), vec![10_000]);
    // Rows already whole: not rechunked, one input block per output block.
    let rows = Array::random(&[600, 50], &[60, 50], 1)?;
    assert_eq!(
        rows.reshape(&[-1])?.chunks()?.axes()[0].sizes(),
        vec![3000; 10]
    );
    // Splitting an axis keeps the other axes' chunks.
    let z = x.reshape(&[2000, 40, 50])?;
    assert_eq!(z.chunks()?.axes()[0], x.chunks()?.axes()[0]);
    Ok(())
}

#[test]
fn reshape_errors_name_the_shapes() -> TestResult {
    let x = Array::random(&[6, 4], &[4, 4], 1)?;
    let e = x.reshape(&[5, 5]).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    assert!(e.to_string().contains("size 24"), "{e}");
    assert!(x.reshape(&[-1, -1]).is_err());
    assert!(x.reshape(&[-1, 5]).is_err());
    assert!(x.reshape(&[-2, -12]).is_err());
    Ok(())
}

#[test]
fn reshape_of_a_store_stays_within_the_limit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (src, out) = (dir.path().join("x.zarr"), dir.path().join("y.zarr"));
    // 8 MB of float64 in 200² chunks (320 KB); a 2 MiB limit holds ~6 chunks.
    Array::random(&[1000, 1000], &[200, 200], 5)?.to_zarr(&src, &WriteOptions::default())?;
    let x = Array::from_zarr(&src)?;
    let y = x.reshape(&[2000, 500])?;
    let limit = 3 << 20;
    let opts = ComputeOptions::threads(2).with_memory_limit(limit);
    let m = y.to_zarr_with(&out, &WriteOptions::default(), &opts)?;
    assert!(m.peak_reserved_bytes <= limit, "{m:?}");
    let got = Array::from_zarr(&out)?.compute()?.into_typed::<f64>();
    let want = reshaped(&x.compute()?.into_typed::<f64>(), &[2000, 500]);
    assert_close(&got, &want, "reshaped store");
    Ok(())
}

/// A shape from `factors` cut at `cuts` (each factor goes to the axis its cut index says).
fn group(factors: &[usize], cuts: &[bool]) -> Vec<usize> {
    let mut shape = vec![factors[0]];
    for (f, &cut) in factors[1..].iter().zip(cuts) {
        if cut {
            shape.push(*f);
        } else {
            *shape.last_mut().unwrap() *= f;
        }
    }
    shape
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn reshape_is_chunking_invariant(
        factors in prop::collection::vec(1usize..5, 1..6),
        cuts_in in prop::collection::vec(any::<bool>(), 5),
        cuts_out in prop::collection::vec(any::<bool>(), 5),
        shuffle in any::<u64>(),
        chunks in prop::collection::vec(1usize..7, 6),
    ) {
        let in_shape = group(&factors, &cuts_in);
        let mut permuted = factors.clone();
        let n = permuted.len();
        for i in 0..n {
            permuted.swap(i, (shuffle as usize >> (i * 3)) % n);
        }
        let out_shape = group(&permuted, &cuts_out);
        let chunks = &chunks[..in_shape.len()];
        let to: Vec<isize> = out_shape.iter().map(|&n| n as isize).collect();
        check(&in_shape, chunks, &to, &out_shape);
    }
}
