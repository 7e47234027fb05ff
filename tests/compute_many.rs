//! Several results in one pass: `compute_many` and `to_zarr_many` give what computing each
//! array alone gives, and read what the arrays share once.

use brickwork::{
    Array, Axis, Block, Codec, ComputeOptions, Error, Metrics, Scheduler, WriteOptions,
    compute_many, to_zarr_many, to_zarr_many_with,
};
use ndarray::ArrayD;

use crate::common::{TestResult, assert_close, data};

/// Both schedulers.
fn schedulers() -> [ComputeOptions; 2] {
    [ComputeOptions::synchronous(), ComputeOptions::threads(3)]
}

/// `values` written to a Zarr store in `chunks` (zstd, so chunks are decoded, not mapped).
fn store(dir: &std::path::Path, values: &ArrayD<f64>, chunks: &[usize]) -> Result<Array, Error> {
    let path = dir.join("x.zarr");
    let opts = WriteOptions {
        chunks: Some(chunks.to_vec()),
        overwrite: true,
        ..WriteOptions::default()
    };
    Array::from_ndarray(values.clone(), chunks)?.to_zarr(&path, &opts)?;
    Array::from_zarr(&path)
}

fn f64s(b: &Block) -> ArrayD<f64> {
    b.clone().into_typed::<f64>()
}

#[test]
fn results_match_each_array_computed_alone_on_ragged_chunks() -> TestResult {
    let dir = tempfile::tempdir()?;
    let shape = [23, 17];
    let want = data(&shape, 11);
    for chunks in [[5, 4], [23, 17], [7, 16], [1, 17]] {
        let x = store(dir.path(), &want, &chunks)?;
        let mean0 = x.mean_axis(Axis(0))?;
        let arrays = [
            x.sum()?,
            x.mean()?,
            mean0.clone(),
            (&x - &mean0).abs()?,
            x.t(),
            x.slice(brickwork::s![3..20;3, ..;-2])?,
            x.clone(),
        ];
        let refs: Vec<&Array> = arrays.iter().collect();
        let wants = [
            ArrayD::from_elem(ndarray::IxDyn(&[]), want.sum()),
            ArrayD::from_elem(ndarray::IxDyn(&[]), want.mean().unwrap_or(f64::NAN)),
            want.mean_axis(ndarray::Axis(0)).unwrap(),
            (&want - &want.mean_axis(ndarray::Axis(0)).unwrap()).mapv(f64::abs),
            want.t().to_owned(),
            want.slice(ndarray::s![3..20;3, ..;-2])
                .to_owned()
                .into_dyn(),
            want.clone(),
        ];
        for opts in schedulers() {
            let (got, _) = compute_many(&refs, &opts)?;
            assert_eq!(got.len(), arrays.len());
            for (i, ((g, w), a)) in got.iter().zip(&wants).zip(&arrays).enumerate() {
                assert_close(&f64s(g), w, &format!("output {i} with chunks {chunks:?}"));
                // Bit-identical to computing the array alone.
                let (alone, _) = a.compute_with(&opts)?;
                assert_eq!(format!("{g:?}"), format!("{alone:?}"), "output {i}");
            }
        }
    }
    Ok(())
}

#[test]
fn a_shared_source_is_read_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let want = data(&[40, 30], 3);
    let x = store(dir.path(), &want, &[9, 7])?;
    let nbytes = x.nbytes();
    let (sum, mean) = (x.sum()?, x.mean()?);
    for opts in schedulers() {
        let (got, m) = compute_many(&[&sum, &mean], &opts)?;
        assert_eq!(
            m.bytes_read, nbytes,
            "compute_many read {} bytes of a {nbytes}-byte store",
            m.bytes_read
        );
        assert_close(
            &f64s(&got[0]),
            &ArrayD::from_elem(vec![], want.sum()),
            "sum",
        );
        let alone: u64 = [&sum, &mean]
            .iter()
            .map(|a| a.compute_with(&opts).map(|(_, m)| m.bytes_read))
            .sum::<Result<u64, Error>>()?;
        assert_eq!(alone, 2 * nbytes, "one at a time reads the store twice");
        // Shared intermediates are computed once too: the column means feed both results.
        let m0 = x.mean_axis(Axis(0))?;
        let centered = &x - &m0;
        let (_, m) = compute_many(&[&m0, &centered, &centered.sum()?], &opts)?;
        assert_eq!(m.bytes_read, nbytes, "x - x.mean(axis=0) and its mean");
    }
    Ok(())
}

#[test]
fn shared_inputs_are_used_by_every_result_before_the_next_is_read() -> TestResult {
    // Under a limit far below the array, sum and mean stream the store once together: the
    // order runs both partials of a chunk right after reading it.
    let dir = tempfile::tempdir()?;
    let want = data(&[200, 100], 5);
    let x = store(dir.path(), &want, &[10, 100])?; // 20 chunks of 8000 bytes
    let opts = ComputeOptions::synchronous().with_memory_limit(64 * 1024);
    let (got, m) = compute_many(&[&x.sum()?, &x.std(0.0)?], &opts)?;
    assert_eq!(m.bytes_read, x.nbytes(), "{m}");
    assert_eq!(m.bytes_spilled, 0, "{m}");
    assert!(m.peak_reserved_bytes <= 64 * 1024, "{m}");
    assert_close(
        &f64s(&got[0]),
        &ArrayD::from_elem(vec![], want.sum()),
        "sum",
    );
    assert_close(
        &f64s(&got[1]),
        &ArrayD::from_elem(vec![], want.std(0.0)),
        "std",
    );
    Ok(())
}

#[test]
fn a_climatology_under_a_tight_limit_reads_its_input_twice() -> TestResult {
    // mean and std over time share each chunk's read; the anomaly needs the whole mean
    // first, so it reads the input again: two passes, not one per result (issue 30).
    let dir = tempfile::tempdir()?;
    let want = data(&[40, 30, 20], 11);
    let x = store(dir.path(), &want, &[10, 15, 10])?; // 16 chunks of 12000 bytes
    // Under 128 KiB the input (188 KiB) cannot be held for the anomaly; under 96 KiB even
    // sharing a chunk between the two partial sums does not fit and each task reads it.
    let mean = x.mean_axis(Axis(0))?;
    let std = x.std_axis(Axis(0), 0.0)?;
    let anomaly = &x - &mean;
    let refs = [&mean, &std, &anomaly];
    let (roomy, m) = compute_many(&refs, &ComputeOptions::synchronous())?;
    assert_eq!(m.bytes_read, x.nbytes(), "everything fits: one read: {m}");
    for opts in schedulers() {
        let opts = opts.with_memory_limit(128 * 1024);
        let (got, m) = compute_many(&refs, &opts)?;
        // Three threads may run past the order and drop a chunk, to read it again.
        let slack = if opts.scheduler == Scheduler::Synchronous {
            0
        } else {
            x.nbytes() / 4
        };
        assert!(
            m.bytes_read >= 2 * x.nbytes() && m.bytes_read <= 2 * x.nbytes() + slack,
            "{m}"
        );
        assert!(m.peak_reserved_bytes <= 128 * 1024, "{m}");
        for (g, r) in got.iter().zip(&roomy) {
            assert_eq!(format!("{g:?}"), format!("{r:?}"));
        }
    }
    let wmean = want.mean_axis(ndarray::Axis(0)).expect("non-empty");
    assert_close(&f64s(&roomy[0]), &wmean, "mean");
    assert_close(
        &f64s(&roomy[1]),
        &want.std_axis(ndarray::Axis(0), 0.0),
        "std",
    );
    assert_close(&f64s(&roomy[2]), &(&want - &wmean), "anomaly");
    // What explain says about it.
    let text = brickwork::explain_many_with(
        &refs,
        &ComputeOptions::synchronous().with_memory_limit(128 * 1024),
    )?;
    assert!(
        text.contains("read again by the tasks that also need a reduction"),
        "{text}"
    );
    Ok(())
}

#[test]
fn tight_limits_spill_and_stay_exact() -> TestResult {
    let x = Array::random(&[60, 50], &[7, 9], 1)?;
    let want = x.compute_as::<f64>()?;
    let y = &x + &x.t().slice(brickwork::s![..50, ..])?.t();
    let arrays = [x.sum_axis(Axis(1))?, y.clone(), y.mean_axis(Axis(0))?];
    let refs: Vec<&Array> = arrays.iter().collect();
    let (base, _) = compute_many(&refs, &ComputeOptions::synchronous())?;
    // The graph of 213 tasks and the executor's tables take about 25 KiB of each.
    for limit in [256 * 1024, 48 * 1024, 32 * 1024] {
        for opts in schedulers() {
            let opts = opts.with_memory_limit(limit);
            let (got, m) = compute_many(&refs, &opts)?;
            assert!(m.peak_reserved_bytes <= limit, "limit {limit}: {m}");
            for (g, b) in got.iter().zip(&base) {
                assert_eq!(format!("{g:?}"), format!("{b:?}"), "limit {limit}");
            }
        }
    }
    assert_close(
        &f64s(&base[0]),
        &want.sum_axis(ndarray::Axis(1)),
        "row sums",
    );
    Ok(())
}

#[test]
fn edge_cases_empty_list_repeats_and_errors() -> TestResult {
    let (none, m) = compute_many(&[], &ComputeOptions::default())?;
    assert!(none.is_empty());
    assert_eq!(m, Metrics::default());
    // The same array twice, 0-d, and an empty array.
    let x = Array::random(&[5, 0], &[2, 1], 0)?;
    let s = Array::random(&[9], &[4], 0)?.sum()?;
    let (got, _) = compute_many(&[&s, &x, &s], &ComputeOptions::threads(2))?;
    assert_eq!(format!("{:?}", got[0]), format!("{:?}", got[2]));
    assert_eq!(got[1].shape(), &[5, 0]);
    // A deferred error of any array is returned.
    let bad = &Array::random(&[3], &[1], 0)? + &Array::random(&[4], &[1], 0)?;
    let err = compute_many(&[&s, &bad], &ComputeOptions::default()).unwrap_err();
    assert!(err.to_string().contains("(3,)"), "{err}");
    Ok(())
}

#[test]
fn to_zarr_many_writes_each_array_and_reads_shared_sources_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let want = data(&[31, 12], 8);
    let x = store(dir.path(), &want, &[8, 5])?;
    let a = &x * 2.0;
    let b = x.sum_axis(Axis(1))?;
    for (i, opts) in schedulers().into_iter().enumerate() {
        let pa = dir.path().join(format!("a{i}.zarr"));
        let pb = dir.path().join(format!("b{i}.zarr"));
        let m = to_zarr_many_with(&[(&a, &pa), (&b, &pb)], &WriteOptions::default(), &opts)?;
        assert_eq!(m.bytes_read, x.nbytes(), "{m}");
        let ga = Array::from_zarr(&pa)?;
        assert_eq!(ga.chunks()?.max_chunk_shape(), vec![8, 5]);
        assert_close(&ga.compute_as::<f64>()?, &(&want * 2.0), "a");
        assert_close(
            &Array::from_zarr(&pb)?.compute_as::<f64>()?,
            &want.sum_axis(ndarray::Axis(1)),
            "b",
        );
    }
    // Other chunks and codec for every output.
    let opts = WriteOptions {
        chunks: Some(vec![4]),
        codec: Codec::None,
        ..WriteOptions::default()
    };
    let (p1, p2) = (dir.path().join("c1.zarr"), dir.path().join("c2.zarr"));
    to_zarr_many(&[(&b, &p1), (&x.mean_axis(Axis(1))?, &p2)], &opts)?;
    assert_eq!(Array::from_zarr(&p2)?.chunks()?.max_chunk_shape(), vec![4]);
    assert_close(
        &Array::from_zarr(&p2)?.compute_as::<f64>()?,
        &want.mean_axis(ndarray::Axis(1)).unwrap(),
        "mean",
    );
    Ok(())
}

#[test]
fn to_zarr_many_refuses_bad_outputs() -> TestResult {
    let dir = tempfile::tempdir()?;
    let want = data(&[6, 6], 1);
    let x = store(dir.path(), &want, &[4, 4])?;
    let p = dir.path().join("out.zarr");
    let err = to_zarr_many(&[(&x, &p), (&x, &p)], &WriteOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("outputs 0 and 1") && err.to_string().contains("out.zarr"),
        "{err}"
    );
    let src = dir.path().join("x.zarr");
    let err = to_zarr_many(&[(&x, &p), (&(&x + 1.0), &src)], &WriteOptions::default()).unwrap_err();
    assert!(err.to_string().contains("reads from"), "{err}");
    // Existing output without overwrite: nothing is written to either path.
    to_zarr_many(&[(&x, &p)], &WriteOptions::default())?;
    let q = dir.path().join("q.zarr");
    let err = to_zarr_many(&[(&x, &q), (&x, &p)], &WriteOptions::default()).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    Ok(())
}

#[test]
fn to_zarr_many_falls_back_to_one_at_a_time_when_one_pass_cannot_fit() -> TestResult {
    // A rows -> columns rechunk cannot be written in one pass under this limit; each output
    // then goes through its own intermediate store, with the same values.
    let dir = tempfile::tempdir()?;
    let want = data(&[256, 256], 2);
    let src = dir.path().join("rows.zarr");
    Array::from_ndarray(want.clone(), &[16, 256])?.to_zarr(
        &src,
        &WriteOptions {
            codec: Codec::None,
            ..WriteOptions::default()
        },
    )?;
    let x = Array::from_zarr(&src)?;
    let opts = WriteOptions {
        chunks: Some(vec![256, 16]),
        ..WriteOptions::default()
    };
    let (p1, p2) = (dir.path().join("c1.zarr"), dir.path().join("c2.zarr"));
    let y = &x + 1.0;
    let m = to_zarr_many_with(
        &[(&x, &p1), (&y, &p2)],
        &opts,
        &ComputeOptions::synchronous().with_memory_limit(256 * 1024),
    )?;
    assert!(m.peak_reserved_bytes <= 256 * 1024, "{m}");
    assert_close(&Array::from_zarr(&p1)?.compute_as::<f64>()?, &want, "x");
    assert_close(
        &Array::from_zarr(&p2)?.compute_as::<f64>()?,
        &(&want + 1.0),
        "x + 1",
    );
    Ok(())
}

#[test]
fn explain_and_visualize_show_the_one_plan() -> TestResult {
    let dir = tempfile::tempdir()?;
    let x = store(dir.path(), &data(&[12, 10], 3), &[4, 5])?;
    let (sum0, mean1) = (x.sum_axis(Axis(0))?, x.mean_axis(Axis(1))?);
    let text = brickwork::explain_many_with(&[&sum0, &mean1], &ComputeOptions::default())?;
    assert!(
        text.starts_with("2 outputs, computed in one pass:\n")
            && text.contains(&format!("  output 0: {sum0}\n"))
            && text.contains(&format!("  output 1: {mean1}\n"))
            && text.contains("after culling")
            && text.contains("predicted peak"),
        "{text}"
    );
    // The source is one stage, read for both.
    assert_eq!(text.matches(": read ").count(), 1, "{text}");
    assert!(sum0.explain()?.contains(": read "));
    let dot = dir.path().join("g.dot");
    brickwork::visualize_many(&[&sum0, &mean1], &dot)?;
    assert!(std::fs::read_to_string(&dot)?.starts_with("digraph"));
    let e = brickwork::explain_many_with(&[], &ComputeOptions::default()).unwrap_err();
    assert!(e.to_string().contains("no arrays given"), "{e}");
    let e = brickwork::visualize_many(&[], &dot).unwrap_err();
    assert!(e.to_string().contains("visualize_many: no arrays"), "{e}");
    let bad = &sum0 + &mean1;
    let e = brickwork::explain_many_with(&[&sum0, &bad], &ComputeOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("(10,)") && e.contains("(12,)"),
        "a deferred error: {e}"
    );
    Ok(())
}
