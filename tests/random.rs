//! Chunk-invariant random numbers and the tutorial workload at small sizes.

use brickwork::{Array, Axis, ComputeOptions, s};

use crate::common::*;

#[test]
fn random_is_chunk_scheduler_and_thread_invariant() -> TestResult {
    let reference = Array::random(&[37, 23], &[37, 23], 5)?.compute()?;
    for chunks in [[1, 1], [5, 7], [10, 23], [36, 4]] {
        let x = Array::random(&[37, 23], &chunks, 5)?;
        for opts in [
            ComputeOptions::synchronous(),
            ComputeOptions::threads(1),
            ComputeOptions::threads(4),
        ] {
            assert_eq!(
                x.compute_with(&opts)?.0,
                reference,
                "chunks {chunks:?} {opts:?}"
            );
        }
        assert_eq!(x.rechunk(&[8, 8])?.compute()?, reference, "rechunk(x) == x");
    }
    assert_ne!(
        Array::random(&[37, 23], &[5, 5], 6)?.compute()?,
        reference,
        "seeds differ"
    );
    let n = Array::random_normal(&[300, 300], &[64, 64], 1, 2.0, 3.0)?;
    let mean = n.mean()?.compute_as::<f64>()?.into_raw_vec_and_offset().0[0];
    let std = n.std(0.0)?.compute_as::<f64>()?.into_raw_vec_and_offset().0[0];
    assert!(
        (mean - 2.0).abs() < 0.05 && (std - 3.0).abs() < 0.05,
        "{mean} {std}"
    );
    Ok(())
}

#[test]
fn sliced_random_draws_the_same_values() -> TestResult {
    let x = Array::random(&[40, 30], &[7, 9], 3)?;
    let full = x.compute_as::<f64>()?;
    let y = x.t().slice(s![..;-2, 5..20;3])?;
    let want = full.t().slice(s![..;-2, 5..20;3]).to_owned().into_dyn();
    assert_close(&compute_f64(&y), &want, "random pushdown");
    Ok(())
}

#[test]
fn tutorial_workload_matches_ndarray() -> TestResult {
    for (n, chunk) in [(40, 7), (50, 10), (33, 33)] {
        let x = Array::random(&[n, n], &[chunk, chunk], 0)?;
        let half = (n / 2) as isize;
        let v = (&x + &x.t()).slice(s![..;2, half..])?.mean_axis(Axis(1))?;
        let a = x.compute_as::<f64>()?;
        let want = (&a + &a.t())
            .slice(s![..;2, half..])
            .mean_axis(Axis(1))
            .unwrap()
            .into_dyn();
        assert_close(
            &compute_f64(&v),
            &want,
            &format!("tutorial n={n} chunk={chunk}"),
        );
        let counts = v.task_counts()?;
        assert!(counts.after < counts.before, "{counts:?}");
    }
    Ok(())
}

#[test]
fn tutorial_task_counts_and_repr() -> TestResult {
    let x = Array::random(&[10_000, 10_000], &[1_000, 1_000], 0)?;
    let v = (&x + &x.t()).slice(s![..;2, 5000..])?.mean_axis(Axis(1))?;
    let repr = v.to_string();
    assert!(
        repr.contains("shape=(5000,)")
            && repr.contains("dtype=float64")
            && repr.contains("chunksize=(500,)"),
        "{repr}"
    );
    let c = v.task_counts()?;
    // 50 fused partial tasks + 20 combines + 10 aggregates
    assert_eq!(c.after, 50 + 20 + 10, "{c:?}");
    assert!(c.before > 300, "{c:?}");
    Ok(())
}
