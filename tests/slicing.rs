//! Slicing, integer indexing and transposes against ndarray, pushed through elementwise ops.

use brickwork::{Array, NumpyIndex, s};
use ndarray::{ArrayD, Axis, IxDyn};

use crate::common::*;

#[test]
#[allow(clippy::reversed_empty_ranges)] // ndarray's negative ends count from the back
fn ndarray_style_slices_match_ndarray() -> TestResult {
    let a = data(&[17, 12], 7);
    let cases = [
        s![.., ..].as_ref().to_vec(),
        s![..;2, 5..].as_ref().to_vec(),
        s![3..15;3, ..;-1].as_ref().to_vec(),
        s![-5.., 2..-2;-3].as_ref().to_vec(),
        s![4, ..;2].as_ref().to_vec(),
        s![1..2, -1].as_ref().to_vec(),
    ];
    for chunks in chunkings(&[17, 12]) {
        let x = Array::from_ndarray(a.clone(), &chunks)?;
        for info in &cases {
            let got = compute_f64(&x.slice(info)?);
            let want = a.slice(info.as_slice()).to_owned().into_dyn();
            assert_close(&got, &want, &format!("slice {info:?} chunks {chunks:?}"));
        }
    }
    Ok(())
}

#[test]
fn slices_push_through_transpose_and_elementwise() -> TestResult {
    let a = data(&[14, 14], 8);
    let at = a.t().to_owned();
    let sum = &a + &at;
    for chunks in chunkings(&[14, 14]) {
        let x = Array::from_ndarray(a.clone(), &chunks)?;
        let y = (&x + &x.t()).slice(s![..;2, 7..])?;
        let want = sum.slice(s![..;2, 7..]).to_owned().into_dyn();
        assert_close(&compute_f64(&y), &want, "(x + x.T)[::2, 7:]");
        let z = (&x * 2.0).t().slice(s![..;-3, 1])?;
        let want = (&at * 2.0).slice(s![..;-3, 1]).to_owned().into_dyn();
        assert_close(&compute_f64(&z), &want, "(2x).T[::-3, 1]");
    }
    Ok(())
}

#[test]
fn three_d_permutations_and_slices() -> TestResult {
    let a = data(&[5, 6, 7], 9);
    for chunks in chunkings(&[5, 6, 7]) {
        let x = Array::from_ndarray(a.clone(), &chunks)?;
        let y = x.permuted_axes(&[2, 0, 1])?.slice(s![1..;2, -1, ..;-2])?;
        let want = a
            .view()
            .permuted_axes(IxDyn(&[2, 0, 1]))
            .slice(s![1..;2, -1, ..;-2])
            .to_owned()
            .into_dyn();
        assert_close(&compute_f64(&y), &want, "permute + slice");
        // slicing twice composes
        let y2 = x.slice(s![1.., ..;2])?.slice(s![..;-1, 1, 2..])?;
        let want2 = a
            .slice(s![1.., ..;2, ..])
            .slice(s![..;-1, 1, 2..])
            .to_owned()
            .into_dyn();
        assert_close(&compute_f64(&y2), &want2, "slice of slice");
    }
    Ok(())
}

#[test]
fn numpy_style_indexing_clips_like_python() -> TestResult {
    let a = from_fn(&[10], |i| i as f64);
    let x = Array::from_ndarray(a, &[3])?;
    let sl = |start, stop, step| NumpyIndex::Slice { start, stop, step };
    let cases: Vec<(NumpyIndex, Vec<f64>)> = vec![
        (sl(None, None, Some(-3)), vec![9.0, 6.0, 3.0, 0.0]),
        (sl(Some(8), Some(2), Some(-2)), vec![8.0, 6.0, 4.0]),
        (sl(Some(-3), Some(100), None), vec![7.0, 8.0, 9.0]),
        (sl(Some(5), Some(2), None), vec![]),
        (sl(Some(-100), Some(2), None), vec![0.0, 1.0]),
    ];
    for (ix, want) in cases {
        let got = compute_f64(&x.index_numpy(&[ix])?);
        assert_eq!(got.into_raw_vec_and_offset().0, want, "{ix:?}");
    }
    let scalar = x.index_numpy(&[NumpyIndex::Int(-1)])?;
    assert_eq!(scalar.shape(), Vec::<usize>::new());
    assert_eq!(compute_f64(&scalar).into_raw_vec_and_offset().0, vec![9.0]);
    Ok(())
}

#[test]
fn strided_slices_cull_source_blocks() -> TestResult {
    // Every 10th row of a 100-row array in chunks of 5 rows touches only half the chunks.
    let x = Array::random(&[100, 4], &[5, 4], 1)?;
    let y = x.slice(s![..;10, ..])?.rechunk(&[10, 4])?;
    let counts = y.task_counts()?;
    assert_eq!(counts.after, 1, "one fused task draws the 10 needed rows");
    let want = x
        .compute_as::<f64>()?
        .slice(s![..;10, ..])
        .to_owned()
        .into_dyn();
    assert_close(&compute_f64(&y), &want, "strided rows");
    let a = data(&[100, 4], 3);
    let m = Array::from_ndarray(a.clone(), &[5, 4])?.slice(s![..;10, ..])?;
    assert_close(
        &compute_f64(&m),
        &a.slice(s![..;10, ..]).to_owned().into_dyn(),
        "memory strided",
    );
    let _ = Axis(0);
    let _ = ArrayD::<f64>::zeros(IxDyn(&[1]));
    Ok(())
}
