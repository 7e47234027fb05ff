//! The processes scheduler (worker processes forked from this one): bit-identical results,
//! identical Zarr bytes, user kernels, errors from the workers, a worker that dies, the
//! memory limit with the workers' copies, and no process left behind.

use brickwork::{Array, Axis, Boundary, ComputeOptions, Error, WriteOptions, s};
use ndarray::ArrayViewD;

use crate::common::TestResult;

/// Worker counts tried: one, the cores here, more than the cores.
const WORKERS: [usize; 3] = [1, 2, 3];

/// Computes `a` on the synchronous scheduler and with each number of worker processes;
/// all must agree bit for bit.
fn agree(a: &Array) {
    let (want, _) = a.compute_with(&ComputeOptions::synchronous()).unwrap();
    for n in WORKERS {
        let (got, m) = a.compute_with(&ComputeOptions::processes(n)).unwrap();
        assert_eq!(
            format!("{got:?}"),
            format!("{want:?}"),
            "{n} worker processes disagree with synchronous for {a}"
        );
        assert!(m.tasks > 0);
    }
    assert_no_children();
}

/// No worker process of a finished computation is left unreaped (a zombie). Other tests
/// may be running workers of their own, which exit and are reaped within milliseconds: a
/// zombie is only reported when it is still there a while later.
fn assert_no_children() {
    let zombies = || -> Vec<String> {
        let mut found = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let path = task.unwrap().path().join("children");
            let text = std::fs::read_to_string(path).unwrap_or_default();
            for pid in text.split_whitespace() {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                if stat
                    .rsplit(')')
                    .next()
                    .is_some_and(|rest| rest.trim_start().starts_with('Z'))
                {
                    found.push(pid.to_string());
                }
            }
        }
        found
    };
    let first = zombies();
    if first.is_empty() {
        return;
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let lasting: Vec<String> = zombies()
        .into_iter()
        .filter(|p| first.contains(p))
        .collect();
    assert!(lasting.is_empty(), "zombie worker processes: {lasting:?}");
}

/// The worker named by a [`Error::Worker`] is gone (exited and reaped).
fn assert_worker_gone(err: &Error) {
    let Error::Worker { pid, .. } = err else {
        return;
    };
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "worker {pid} is still there"
    );
}

#[test]
fn the_tutorial_workload_is_bit_identical() -> TestResult {
    let x = Array::random(&[2000, 2000], &[250, 300], 0)?;
    let v = (&x + &x.t()).slice(s![..;2, 1000..])?.mean_axis(Axis(1))?;
    agree(&v);
    Ok(())
}

#[test]
fn reductions_scans_products_stencils_and_user_kernels_are_bit_identical() -> TestResult {
    let x = Array::random(&[600, 500], &[70, 90], 3)?;
    let y = Array::random(&[500, 300], &[90, 110], 4)?;
    let offset = 0.25; // captured by the kernel: the workers run the closure they inherited
    for a in [
        x.sum()?,
        x.std_axis(Axis(0), 1.0)?,
        x.cumsum(0)?,
        x.cumsum(1)?,
        x.matmul(&y)?,
        x.uniform_filter(&[3, 5], Boundary::Reflect)?,
        (&x - &x.mean_axis(Axis(0))?).sum_axis(Axis(1))?,
        x.map_blocks(move |b: ArrayViewD<f64>| b.mapv(|v| v * v - offset))?,
        x.greater(&(&(&x * 0.0) + 0.5))?.sum()?,
    ] {
        agree(&a);
    }
    Ok(())
}

#[test]
fn a_store_written_by_worker_processes_has_the_same_bytes() -> TestResult {
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
    for n in [2, 4] {
        let got = dir.path().join(format!("processes-{n}.zarr"));
        y.to_zarr_with(
            &got,
            &WriteOptions::default(),
            &ComputeOptions::processes(n),
        )?;
        assert_eq!(
            crate::common::store_files(&got)?,
            crate::common::store_files(&want)?,
            "{n} processes"
        );
    }
    Ok(())
}

#[test]
fn the_limit_holds_with_spills_and_the_workers_copies() -> TestResult {
    // As the cluster's test: 60 KB scan blocks under a 1 MB limit (the largest task needs
    // 843 KB with the worker's copy) must spill or drop.
    let x = Array::random(&[1200, 1000], &[100, 75], 9)?;
    let a = (&x.cumsum(0)? + &x.t().t()).sum_axis(Axis(1))?;
    let (want, _) = a.compute_with(&ComputeOptions::synchronous())?;
    let limit = 1_000_000;
    let (got, m) = a.compute_with(&ComputeOptions::processes(2).with_memory_limit(limit))?;
    assert_eq!(format!("{got:?}"), format!("{want:?}"));
    assert!(m.peak_reserved_bytes <= limit, "{m:?}");
    assert!(
        m.blocks_spilled + m.blocks_dropped > 0,
        "no pressure: {m:?}"
    );
    Ok(())
}

#[test]
fn a_limit_that_fits_a_task_only_once_is_refused_up_front() -> TestResult {
    // A 2 MB block made, mapped and summed in one task (about 6.3 MB with its scratch):
    // fits 8 MB once, not with the worker's copy.
    let x = Array::random(&[1000, 250], &[1000, 250], 2)?;
    let a = x
        .map_blocks(|b: ArrayViewD<f64>| b.mapv(|v| v + 1.0))?
        .sum()?;
    let limit = 8_000_000;
    a.compute_with(&ComputeOptions::synchronous().with_memory_limit(limit))?;
    let err = a
        .compute_with(&ComputeOptions::processes(2).with_memory_limit(limit))
        .unwrap_err();
    assert!(matches!(err, Error::PlanExceedsMemory { .. }), "{err}");
    assert!(err.to_string().contains("worker process"), "{err}");
    Ok(())
}

#[test]
fn a_task_error_in_a_worker_names_the_worker_and_the_cause() -> TestResult {
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("x.zarr");
    Array::random(&[400, 400], &[100, 100], 1)?.to_zarr(&src, &WriteOptions::default())?;
    let x = Array::from_zarr(&src)?;
    // A damaged chunk: the worker that reads it fails, and says which chunk.
    std::fs::write(src.join("c/2/1"), b"not a chunk")?;
    let err = x
        .sum()?
        .compute_with(&ComputeOptions::processes(2))
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Worker { .. }), "{err:?}");
    assert!(
        text.contains("worker process") && text.contains("c/2/1"),
        "{text}"
    );
    assert_worker_gone(&err);
    assert_no_children();
    Ok(())
}

#[test]
fn a_panicking_kernel_fails_the_computation_and_the_workers_exit() -> TestResult {
    let x = Array::random(&[400, 400], &[100, 100], 1)?;
    let y = x.map_blocks(|b: ArrayViewD<f64>| -> ndarray::ArrayD<f64> {
        let _ = b;
        panic!("a kernel bug")
    })?;
    let err = y
        .sum()?
        .compute_with(&ComputeOptions::processes(2))
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("panicked") && text.contains("a kernel bug"),
        "{text}"
    );
    assert_no_children();
    Ok(())
}

#[test]
fn a_worker_that_dies_is_an_error_naming_the_signal_and_the_block() -> TestResult {
    let x = Array::random(&[400, 400], &[100, 100], 1)?;
    let parent = std::process::id();
    let y = x.map_blocks(move |b: ArrayViewD<f64>| {
        // Only in a worker (not when this test process runs the kernel itself).
        if std::process::id() != parent {
            // SAFETY: kills the worker process running this kernel, as the OOM killer would.
            unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
        }
        b.to_owned()
    })?;
    let err = y
        .sum()?
        .compute_with(&ComputeOptions::processes(2))
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Worker { .. }), "{err:?}");
    assert!(
        text.contains("killed by signal 9") && text.contains("block"),
        "{text}"
    );
    assert_worker_gone(&err);
    assert_no_children();
    Ok(())
}

/// Workers are forked while other threads of this process run products (OpenBLAS, with the
/// feature, holds a mutex in each), start threads (Rust's runtime holds a lock as each
/// starts) and compute: a child that inherited such a lock held once waited for it forever
/// (about one fork in 200 under this load). Each computation must finish; a hang fails the
/// test after a minute instead of stalling the suite.
#[test]
fn workers_forked_while_other_threads_compute_never_hang() -> TestResult {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let busy: Vec<_> = (0..2)
        .map(|k| {
            let stop = stop.clone();
            std::thread::spawn(move || -> brickwork::Result<()> {
                let x = Array::random(&[200, 200], &[50, 50], k)?;
                let (p, s) = (x.matmul(&x)?, x.sum()?);
                while !stop.load(Ordering::Relaxed) {
                    p.compute()?;
                    s.compute()?;
                }
                Ok(())
            })
        })
        .collect();
    let x = Array::random(&[300, 250], &[70, 90], 3)?;
    let a = (&x.matmul(&x.t())? + 1.0).cumsum(0)?;
    let (want, _) = a.compute_with(&ComputeOptions::synchronous())?;
    for i in 0..40 {
        let (done, finished) = std::sync::mpsc::channel();
        let a = a.clone();
        std::thread::spawn(move || {
            let _ = done.send(a.compute_with(&ComputeOptions::processes(2)));
        });
        let (got, _) = finished
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("computation {i} with worker processes hung"))?;
        assert_eq!(format!("{got:?}"), format!("{want:?}"), "computation {i}");
    }
    stop.store(true, Ordering::Relaxed);
    for b in busy {
        b.join().expect("busy thread")?;
    }
    assert_no_children();
    Ok(())
}
