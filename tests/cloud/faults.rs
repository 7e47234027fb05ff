//! Failures between brickwork and the object store, made on purpose: a proxy of
//! object_server.py in front of moto answers 503 SlowDown and drops connections (reads and
//! writes retry and finish exactly), fails one chunk's requests every time (the error names
//! that chunk's key after the last try), or answers as S3 does for a bucket in another
//! region; and the CLI killed with SIGKILL in the middle of a write to S3, then resumed,
//! leaves objects byte-identical to an uninterrupted write.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use brickwork::{Array, WriteOptions};

use super::{SECRET, Server, read_options, write_options};
use crate::common::{TestResult, brickwork_exe, chain, compute_f64};

#[test]
fn reads_and_writes_retry_through_503s_and_dropped_connections() -> TestResult {
    let Some(s3) = Server::s3(&["bucket"])? else {
        return Ok(());
    };
    let Some(mut proxy) = Server::proxy(&s3, &["fail:4", "drop:9"])? else {
        return Ok(());
    };
    // Retries start at 100 ms; up to 5 tries for this test (a request may meet a 503 and
    // then a dropped connection).
    let storage = proxy.options().with("max_retries", "5");
    let x = Array::random(&[40, 40], &[10, 10], 11)?;
    let want = compute_f64(&x);
    for (name, shards) in [("plain", None), ("sharded", Some(vec![20, 20]))] {
        let url = format!("s3://bucket/faults/{name}.zarr");
        let opts = WriteOptions {
            shards,
            ..write_options(&storage)
        };
        x.to_zarr(&url, &opts)?;
        let back = Array::from_zarr_with(&url, &read_options(&storage))?;
        assert_eq!(compute_f64(&back), want, "{name}");
    }
    let counts = proxy.take_counts()?;
    let faults = |k: &str| {
        counts
            .get(k)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    assert!(faults("fail") >= 5 && faults("drop") >= 3, "{counts}");
    Ok(())
}

#[test]
fn a_chunk_that_keeps_failing_is_named_after_the_last_try() -> TestResult {
    let Some(s3) = Server::s3(&["bucket"])? else {
        return Ok(());
    };
    let x = Array::random(&[40, 40], &[10, 10], 2)?;
    let url = "s3://bucket/deny/a.zarr";
    x.to_zarr(url, &write_options(&s3.options()))?;
    // Every request for chunk c/2/1 fails with 503: two retries, then an error naming it.
    let Some(mut proxy) = Server::proxy(&s3, &["deny:a.zarr/c/2/1"])? else {
        return Ok(());
    };
    let storage = proxy.options().with("max_retries", "2");
    let back = Array::from_zarr_with(url, &read_options(&storage))?;
    let err = back
        .compute_as::<f64>()
        .err()
        .ok_or("read a failing chunk")?;
    let msg = chain(&err);
    assert!(msg.contains("s3://bucket/deny/a.zarr/c/2/1"), "{msg}");
    assert!(msg.contains("503") && !msg.contains(SECRET), "{msg}");
    let counts = proxy.take_counts()?;
    assert!(counts["fail"].as_u64() >= Some(3), "{counts}");
    Ok(())
}

#[test]
fn a_bucket_in_another_region_is_said_to_be() -> TestResult {
    let Some(s3) = Server::s3(&["bucket"])? else {
        return Ok(());
    };
    let Some(proxy) = Server::proxy(&s3, &["region:eu-west-2"])? else {
        return Ok(());
    };
    let err = Array::from_zarr_with("s3://bucket/r.zarr", &read_options(&proxy.options()))
        .err()
        .ok_or("opened")?;
    let msg = chain(&err);
    assert!(
        msg.contains("s3://bucket/r.zarr") && msg.contains("is in another region"),
        "{msg}"
    );
    assert!(!msg.contains(SECRET), "{msg}");
    Ok(())
}

#[test]
fn a_write_to_s3_killed_midway_resumes_byte_identical() -> TestResult {
    let Some(mut s3) = Server::s3(&["bucket"])? else {
        return Ok(());
    };
    // The killed run goes through a proxy adding 20 ms to each request, one upload at a
    // time (`--max-requests 1`), so that it is still writing when it is killed.
    let Some(slow) = Server::proxy(&s3, &["delay:20"])? else {
        return Ok(());
    };
    let secret = format!("secret_access_key={SECRET}");
    let program = "x = random((300, 200), chunks=(20, 20), seed=4); (x + 1) * 2";
    let eval = |server: &Server, url: &str, resume: bool| {
        let mut cmd = Command::new(brickwork_exe());
        cmd.args([
            "eval",
            program,
            "-q",
            "--max-requests",
            "1",
            "--output",
            url,
        ])
        .args([
            "--storage-option",
            &format!("endpoint={}", server.endpoint()),
        ])
        .args(["--storage-option", &secret])
        .args(["--storage-option", "access_key_id=testing"])
        .args(["--storage-option", "region=us-east-1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        if resume {
            cmd.arg("--resume");
        }
        cmd
    };
    let o = eval(&s3, "s3://bucket/want.zarr", false).output()?;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = s3.digests("bucket", "want.zarr/")?;
    assert_eq!(
        want.len(),
        1 + 15 * 10,
        "{:?}",
        want.keys().take(3).collect::<Vec<_>>()
    );
    // Killed once the first chunks are in the bucket, well before the end.
    let mut child = eval(&slow, "s3://bucket/got.zarr", false).spawn()?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while s3.count("bucket", "got.zarr/c/")? < 20
        && Instant::now() < deadline
        && child.try_wait()?.is_none()
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill()?;
    child.wait()?;
    let left = s3.digests("bucket", "got.zarr/")?;
    assert!(
        left.len() < want.len(),
        "the run finished before it was killed ({} objects)",
        left.len()
    );
    // No torn object: every chunk left is the uninterrupted run's.
    for (key, digest) in left.iter().filter(|(k, _)| k.starts_with("c/")) {
        assert_eq!(Some(digest), want.get(key), "{key}");
    }
    let o = eval(&s3, "s3://bucket/got.zarr", true).output()?;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = s3.digests("bucket", "got.zarr/")?;
    let chunks = |m: &std::collections::BTreeMap<String, String>| {
        m.iter()
            .filter(|(k, _)| k.starts_with("c/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(chunks(&got), chunks(&want));
    let a = Array::from_zarr_with("s3://bucket/got.zarr", &read_options(&s3.options()))?;
    let b = Array::from_zarr_with("s3://bucket/want.zarr", &read_options(&s3.options()))?;
    assert_eq!(compute_f64(&a), compute_f64(&b));
    Ok(())
}
