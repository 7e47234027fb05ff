//! The cluster scheduler (workers of their own threads, memory limit and spill store, in
//! this process): bit-identical results, transfers counted, per-worker limits.

use brickwork::{Array, Axis, Boundary, ComputeOptions, Error, Metrics, WriteOptions, s};

use crate::common::TestResult;

/// The seed's cluster configurations (workers, threads per worker), and a larger one.
const CONFIGS: [(usize, usize); 5] = [(1, 2), (1, 4), (4, 1), (1, 1), (3, 2)];

fn cluster(workers: usize, threads: usize) -> ComputeOptions {
    ComputeOptions::cluster(workers, threads, 1 << 30)
}

/// Computes `a` on the synchronous scheduler and on every configuration; all must agree
/// bit for bit. Returns the figures of each cluster run.
fn agree(a: &Array) -> Vec<Metrics> {
    let (want, _) = a.compute_with(&ComputeOptions::synchronous()).unwrap();
    CONFIGS
        .iter()
        .map(|&(w, t)| {
            let (got, m) = a.compute_with(&cluster(w, t)).unwrap();
            assert_eq!(
                format!("{got:?}"),
                format!("{want:?}"),
                "cluster ({w}, {t}) disagrees with synchronous for {a}"
            );
            assert!(m.peak_reserved_bytes <= 1 << 30);
            m
        })
        .collect()
}

#[test]
fn the_tutorial_workload_is_bit_identical() -> TestResult {
    let x = Array::random(&[2000, 2000], &[250, 300], 0)?;
    let v = (&x + &x.t()).slice(s![..;2, 1000..])?.mean_axis(Axis(1))?;
    agree(&v);
    Ok(())
}

#[test]
fn reductions_scans_products_and_stencils_are_bit_identical() -> TestResult {
    let x = Array::random(&[600, 500], &[70, 90], 3)?;
    let y = Array::random(&[500, 300], &[90, 110], 4)?;
    for a in [
        x.sum()?,
        x.std_axis(Axis(0), 1.0)?,
        x.cumsum(0)?,
        x.cumsum(1)?,
        x.matmul(&y)?,
        x.uniform_filter(&[3, 5], Boundary::Reflect)?,
        (&x - &x.mean_axis(Axis(0))?).sum_axis(Axis(1))?,
    ] {
        agree(&a);
    }
    Ok(())
}

#[test]
fn transfers_are_counted_between_workers_only() -> TestResult {
    let x = Array::random(&[800, 800], &[100, 100], 1)?;
    let a = x.sum_axis(Axis(0))?;
    let runs = agree(&a);
    for (&(w, _), m) in CONFIGS.iter().zip(&runs) {
        if w == 1 {
            assert_eq!((m.transfers, m.bytes_transferred), (0, 0), "one worker");
        } else {
            // Partials computed on one worker are combined on another.
            assert!(
                m.transfers > 0 && m.bytes_transferred > 0,
                "{w} workers: {m:?}"
            );
        }
    }
    Ok(())
}

#[test]
fn a_store_written_by_the_cluster_has_the_same_bytes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("x.zarr");
    Array::random(&[900, 900], &[100, 100], 5)?.to_zarr(&src, &WriteOptions::default())?;
    let x = Array::from_zarr(&src)?;
    let y = &x + &x.t();
    let want = dir.path().join("sync.zarr");
    y.to_zarr_with(
        &want,
        &WriteOptions::default(),
        &ComputeOptions::synchronous(),
    )?;
    for (w, t) in [(4, 1), (2, 2)] {
        let got = dir.path().join(format!("cluster-{w}-{t}.zarr"));
        y.to_zarr_with(&got, &WriteOptions::default(), &cluster(w, t))?;
        assert_eq!(
            crate::common::store_files(&got)?,
            crate::common::store_files(&want)?,
            "cluster ({w}, {t})"
        );
    }
    Ok(())
}

#[test]
fn each_workers_limit_holds_with_its_own_spill() -> TestResult {
    // 60 KB scan blocks and the chunks read again for `x.t().t()`: a 600 KB limit per
    // worker makes the workers spill or drop, and the result stays exact.
    let x = Array::random(&[1200, 1000], &[100, 75], 9)?;
    let a = (&x.cumsum(0)? + &x.t().t()).sum_axis(Axis(1))?;
    let (want, _) = a.compute_with(&ComputeOptions::synchronous())?;
    let limit = 600_000;
    for (w, t) in [(2, 1), (3, 2)] {
        let (got, m) = a.compute_with(&ComputeOptions::cluster(w, t, limit))?;
        assert_eq!(format!("{got:?}"), format!("{want:?}"), "({w}, {t})");
        assert!(m.peak_reserved_bytes <= limit, "{m:?}");
        assert_eq!(m.memory_limit, limit);
        assert!(
            m.blocks_spilled + m.blocks_dropped > 0,
            "no pressure: {m:?}"
        );
    }
    Ok(())
}

#[test]
fn a_worker_limit_too_small_for_one_task_is_refused_up_front() -> TestResult {
    let x = Array::random(&[1000, 1000], &[500, 500], 2)?;
    let err = x
        .sum()?
        .compute_with(&ComputeOptions::cluster(4, 1, 100_000))
        .unwrap_err();
    assert!(matches!(err, Error::PlanExceedsMemory { .. }), "{err}");
    Ok(())
}
