//! Zarr on object stores (issue 26), on loopback only: moto's S3 server and a static-file
//! HTTP server with range requests (tests/python/object_server.py), started by each test
//! on a free port of 127.0.0.1 with the peer Python and stopped with it; zarr-python reads
//! and writes the same bucket through obstore (tests/python/cloud_zarr.py).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use brickwork::store::{StorageOptions, ZarrFormat, ZarrSource, ZarrWriter};
use brickwork::{Array, Codec, ReadOptions, WriteOptions};
use ndarray::ArrayD;

use crate::common::{TestResult, brickwork_exe, chain, compute_f64, from_fn, peer_python};

/// A secret that must never show: the S3 secret key every test passes (moto takes any).
const SECRET: &str = "brickwork-test-secret-9f8e7d";

/// Azurite's well-known development account and key (public, in Microsoft's documentation;
/// Azurite checks the signatures made with it).
const AZURE_ACCOUNT: &str = "devstoreaccount1";
const AZURE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

mod emulators;
mod faults;

/// What a [`Server`] serves, and so which options reach it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    S3,
    Http,
    Azure,
    Gcs,
    Proxy,
}

/// A loopback server of `object_server.py`, stopped when dropped (its stdin closes).
struct Server {
    kind: Kind,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    port: u16,
    /// The GCS emulator's service-account file (its URL; no key).
    dir: Option<tempfile::TempDir>,
}

impl Server {
    fn start(kind: Kind, args: &[&str]) -> Result<Option<Server>, Box<dyn std::error::Error>> {
        let Some(python) = peer_python() else {
            return Ok(None);
        };
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/object_server.py");
        let mut child = Command::new(python)
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| format!("object_server.py {args:?} did not start: {line:?}"))?;
        let mut server = Server {
            kind,
            child,
            stdin,
            stdout,
            port,
            dir: None,
        };
        if kind == Kind::Gcs {
            let dir = tempfile::tempdir()?;
            let account = serde_json::json!({
                "gcs_base_url": server.endpoint(),
                "disable_oauth": true,
                "client_email": "",
                "private_key": "",
                "private_key_id": "",
            });
            std::fs::write(dir.path().join("account.json"), account.to_string())?;
            server.dir = Some(dir);
        }
        Ok(Some(server))
    }

    /// moto's S3 with `buckets` made.
    fn s3(buckets: &[&str]) -> Result<Option<Server>, Box<dyn std::error::Error>> {
        let mut args = vec!["s3"];
        args.extend(buckets);
        Server::start(Kind::S3, &args)
    }

    /// The files of `root` over HTTP.
    fn http(root: &Path) -> Result<Option<Server>, Box<dyn std::error::Error>> {
        Server::start(Kind::Http, &["http", root.to_str().ok_or("path")?])
    }

    /// Azurite's blob service with `containers` made; `None` (after a note) when Azurite
    /// is not installed (`BRICKWORK_AZURITE`, set by scripts/test.sh from
    /// scripts/azurite.sh).
    fn azure(containers: &[&str]) -> Result<Option<Server>, Box<dyn std::error::Error>> {
        let Some(launcher) = std::env::var_os("BRICKWORK_AZURITE") else {
            eprintln!(
                "note: skipping the Azure tests: BRICKWORK_AZURITE is not set (scripts/test.sh sets it from scripts/azurite.sh, which installs Azurite with npm)"
            );
            return Ok(None);
        };
        let launcher = launcher.to_str().ok_or("BRICKWORK_AZURITE")?.to_owned();
        let mut args = vec!["azure", launcher.as_str()];
        args.extend(containers);
        Server::start(Kind::Azure, &args)
    }

    /// The GCS emulator with `buckets` made.
    fn gcs(buckets: &[&str]) -> Result<Option<Server>, Box<dyn std::error::Error>> {
        let mut args = vec!["gcs"];
        args.extend(buckets);
        Server::start(Kind::Gcs, &args)
    }

    /// A proxy in front of `upstream` with the faults of `rules` (object_server.py's doc).
    fn proxy(
        upstream: &Server,
        rules: &[&str],
    ) -> Result<Option<Server>, Box<dyn std::error::Error>> {
        let port = upstream.port.to_string();
        let mut args = vec!["proxy", port.as_str()];
        args.extend(rules);
        Server::start(Kind::Proxy, &args)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The GCS emulator's service-account file.
    fn account_file(&self) -> String {
        self.dir
            .as_ref()
            .map(|d| d.path().join("account.json").display().to_string())
            .unwrap_or_default()
    }

    /// The storage options that reach this server (an S3 server for a proxy).
    fn options(&self) -> StorageOptions {
        match self.kind {
            Kind::Azure => StorageOptions::new()
                .with("endpoint", format!("{}/{AZURE_ACCOUNT}", self.endpoint()))
                .with("account_name", AZURE_ACCOUNT)
                .with("access_key", AZURE_KEY)
                .with("allow_http", "true"),
            Kind::Gcs => StorageOptions::new().with("service_account", self.account_file()),
            Kind::S3 | Kind::Http | Kind::Proxy => StorageOptions::new()
                .with("endpoint", self.endpoint())
                .with("access_key_id", "testing")
                .with("secret_access_key", SECRET)
                .with("region", "us-east-1"),
        }
    }

    /// A line sent to the server, and its one-line answer.
    fn ask(&mut self, line: &str) -> Result<String, Box<dyn std::error::Error>> {
        let stdin = self.stdin.as_mut().ok_or("stopped")?;
        writeln!(stdin, "{line}")?;
        stdin.flush()?;
        let mut answer = String::new();
        self.stdout.read_line(&mut answer)?;
        Ok(answer)
    }

    /// Requests served since the last call, by method.
    fn take_counts(&mut self) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        let counts = serde_json::from_str(&self.ask("STATS")?)?;
        self.ask("RESET")?;
        Ok(counts)
    }

    /// The number of objects under `prefix` of `bucket` (S3 only).
    fn count(&mut self, bucket: &str, prefix: &str) -> Result<usize, Box<dyn std::error::Error>> {
        Ok(self
            .ask(&format!("COUNT {bucket} {prefix}"))?
            .trim()
            .parse()?)
    }

    /// The objects under `prefix` of `bucket` (S3 only): sha256 of each, by key relative to
    /// the prefix.
    fn digests(
        &mut self,
        bucket: &str,
        prefix: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, Box<dyn std::error::Error>> {
        Ok(serde_json::from_str(
            &self.ask(&format!("DIGESTS {bucket} {prefix}"))?,
        )?)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_options(storage: &StorageOptions) -> ReadOptions {
    ReadOptions {
        storage: storage.clone(),
        ..ReadOptions::default()
    }
}

fn write_options(storage: &StorageOptions) -> WriteOptions {
    WriteOptions {
        storage: storage.clone(),
        ..WriteOptions::default()
    }
}

/// Name, shape, chunks, shards, format and codec of an array brickwork writes.
type Layout = (
    &'static str,
    &'static [usize],
    &'static [usize],
    Option<Vec<usize>>,
    ZarrFormat,
    Codec,
);

fn values(shape: &[usize], scale: f64) -> ArrayD<f64> {
    from_fn(shape, |i| i as f64 * scale)
}

#[test]
fn arrays_round_trip_through_s3() -> TestResult {
    let Some(server) = Server::s3(&["bucket"])? else {
        return Ok(());
    };
    let storage = server.options();
    let x = Array::random(&[37, 23], &[8, 5], 7)?;
    let want = compute_f64(&x);
    let layouts = [
        ("zstd", WriteOptions::default()),
        (
            "raw",
            WriteOptions {
                codec: Codec::None,
                ..WriteOptions::default()
            },
        ),
        (
            "sharded",
            WriteOptions {
                shards: Some(vec![16, 10]),
                ..WriteOptions::default()
            },
        ),
        (
            "v2",
            WriteOptions {
                zarr_format: ZarrFormat::V2,
                codec: Codec::Gzip { level: 5 },
                ..WriteOptions::default()
            },
        ),
    ];
    for (name, layout) in layouts {
        let url = format!("s3://bucket/round/{name}.zarr");
        let opts = WriteOptions {
            storage: storage.clone(),
            ..layout
        };
        x.to_zarr(&url, &opts)?;
        let back = Array::from_zarr_with(&url, &read_options(&storage))?;
        assert_eq!(compute_f64(&back), want, "{name}");
        let sum = (&back + 1.0).sum()?.compute_as::<f64>()?;
        let want_sum = want.sum() + want.len() as f64;
        assert!((sum.sum() - want_sum).abs() < 1e-9, "{name}");
        let source = ZarrSource::open_with(Path::new(&url), &read_options(&storage))?;
        assert!(source.is_remote());
        let stored = source.stored_objects()?;
        assert_eq!(stored.count, stored.expected, "{name}: every chunk stored");
        assert!(!source.is_incomplete_write());
    }
    // file:// is the local path it names.
    let dir = tempfile::tempdir()?;
    let local = format!("file://{}/l.zarr", dir.path().display());
    x.to_zarr(&local, &WriteOptions::default())?;
    assert!(dir.path().join("l.zarr/zarr.json").is_file());
    assert_eq!(compute_f64(&Array::from_zarr(&local)?), want);
    Ok(())
}

#[test]
fn zarr_python_and_brickwork_read_each_other_on_s3() -> TestResult {
    let Some(server) = Server::s3(&["interop"])? else {
        return Ok(());
    };
    let Some(python) = peer_python() else {
        return Ok(());
    };
    let storage = server.options();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/cloud_zarr.py");
    let run = |args: &[&str]| -> Result<String, Box<dyn std::error::Error>> {
        let out = Command::new(&python).arg(&script).args(args).output()?;
        if !out.status.success() {
            return Err(format!(
                "cloud_zarr.py {args:?}: {}: {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(String::from_utf8(out.stdout)?)
    };
    let endpoint = server.endpoint();
    // zarr-python writes, brickwork reads.
    run(&["write", "s3", &endpoint, "interop", "zp"])?;
    let fixtures: [(&str, &[usize], f64, &str); 6] = [
        ("v3_raw_ragged", &[10, 7], 0.5, "float64"),
        ("v3_zstd_int32", &[13, 9], 3.0, "int32"),
        ("v3_sharded_f32", &[16, 12], 0.25, "float32"),
        ("v3_sharded_ragged", &[17, 13], 1.5, "float64"),
        ("v2_zlib_f64", &[9, 11], 2.0, "float64"),
        ("v2_blosc_u16", &[12, 5], 1.0, "uint16"),
    ];
    for (name, shape, scale, dtype) in fixtures {
        let a = Array::from_zarr_with(format!("s3://interop/zp/{name}"), &read_options(&storage))?;
        assert_eq!(a.dtype().name(), dtype, "{name}");
        assert_eq!(compute_f64(&a), values(shape, scale), "{name}");
    }
    // brickwork writes, zarr-python reads.
    let ours: [Layout; 4] = [
        (
            "zstd_ragged",
            &[11, 7],
            &[4, 3],
            None,
            ZarrFormat::V3,
            Codec::default(),
        ),
        (
            "sharded",
            &[16, 13],
            &[4, 3],
            Some(vec![8, 6]),
            ZarrFormat::V3,
            Codec::default(),
        ),
        ("raw", &[9, 4], &[5, 5], None, ZarrFormat::V3, Codec::None),
        (
            "v2_gzip",
            &[10, 6],
            &[3, 4],
            None,
            ZarrFormat::V2,
            Codec::Gzip { level: 5 },
        ),
    ];
    let mut names = Vec::new();
    for (name, shape, chunks, shards, zarr_format, codec) in &ours {
        let data = values(shape, 0.75);
        let x = Array::from_ndarray(data, chunks)?;
        let opts = WriteOptions {
            shards: shards.clone(),
            zarr_format: *zarr_format,
            codec: *codec,
            ..write_options(&storage)
        };
        x.to_zarr(format!("s3://interop/bw/{name}"), &opts)?;
        names.push(*name);
    }
    let mut args = vec!["read", "s3", &endpoint, "interop", "bw"];
    args.extend(&names);
    let read: serde_json::Value = serde_json::from_str(&run(&args)?)?;
    for (name, shape, ..) in &ours {
        let got = &read[name];
        assert_eq!(got["shape"], serde_json::json!(shape), "{name}");
        let data: Vec<f64> = got["data"]
            .as_array()
            .ok_or("data")?
            .iter()
            .filter_map(serde_json::Value::as_f64)
            .collect();
        assert_eq!(
            data,
            values(shape, 0.75).into_raw_vec_and_offset().0,
            "{name}"
        );
        assert_eq!(got["attributes"]["brickwork"]["complete"], true, "{name}");
    }
    Ok(())
}

#[test]
fn http_stores_are_read_and_never_written() -> TestResult {
    let dir = tempfile::tempdir()?;
    let x = Array::random(&[20, 30], &[7, 8], 3)?;
    let want = compute_f64(&x);
    x.to_zarr(dir.path().join("a.zarr"), &WriteOptions::default())?;
    x.to_zarr(
        dir.path().join("s.zarr"),
        &WriteOptions {
            chunks: Some(vec![5, 5]),
            shards: Some(vec![10, 15]),
            ..WriteOptions::default()
        },
    )?;
    let Some(mut server) = Server::http(dir.path())? else {
        return Ok(());
    };
    for name in ["a.zarr", "s.zarr"] {
        let url = format!("{}/{name}", server.endpoint());
        assert_eq!(compute_f64(&Array::from_zarr(&url)?), want, "{name}");
    }
    let counts = server.take_counts()?;
    assert_eq!(counts.get("HEAD"), None, "no HEAD before a GET: {counts}");
    let url = format!("{}/b.zarr", server.endpoint());
    let err = x
        .to_zarr(&url, &WriteOptions::default())
        .err()
        .ok_or("wrote")?;
    let msg = chain(&err);
    assert!(msg.contains("read only") && msg.contains(&url), "{msg}");
    let missing = format!("{}/nothing.zarr", server.endpoint());
    let msg = chain(&Array::from_zarr(&missing).err().ok_or("opened")?);
    assert!(
        msg.contains(&missing) && msg.contains("no zarr.json"),
        "{msg}"
    );
    Ok(())
}

#[test]
fn a_sharded_read_sends_no_head() -> TestResult {
    let Some(mut server) = Server::s3(&["bucket"])? else {
        return Ok(());
    };
    let storage = server.options();
    let x = Array::random(&[16, 12], &[4, 3], 1)?;
    let url = "s3://bucket/count/s.zarr";
    x.to_zarr(
        url,
        &WriteOptions {
            shards: Some(vec![8, 6]),
            ..write_options(&storage)
        },
    )?;
    server.take_counts()?;
    let back = Array::from_zarr_with(url, &read_options(&storage))?;
    let got = back.compute_as::<f64>()?;
    let counts = server.take_counts()?;
    assert_eq!(got, x.compute_as::<f64>()?);
    assert_eq!(counts.get("HEAD"), None, "{counts}");
    // zarr.json, each of the 4 shards' index once, each of the 16 inner chunks' range
    // (two threads reading a shard's first inner chunks at once may both fetch its index).
    let gets = counts["GET"].as_u64().unwrap_or(0);
    assert!((1 + 4 + 16..=1 + 2 * 4 + 16).contains(&gets), "{counts}");
    Ok(())
}

#[test]
fn interrupted_writes_resume_on_s3_and_a_lock_object_guards_them() -> TestResult {
    let Some(server) = Server::s3(&["bucket"])? else {
        return Ok(());
    };
    let storage = server.options();
    let x = Array::random(&[30, 20], &[10, 10], 5)?;
    let want = compute_f64(&x);
    let url = "s3://bucket/resume/a.zarr";
    let opts = write_options(&storage);
    // An interrupted write: the metadata and one chunk, not finished.
    {
        let sink = ZarrWriter::create(
            Path::new(url),
            &[30, 20],
            brickwork::DType::F64,
            &[10, 10],
            &opts,
        )?;
        let block = x.slice(ndarray::s![0..10, 0..10])?.compute()?;
        sink.write_chunk(&[0, 0], &block)?;
    }
    let err = Array::from_zarr_with(url, &read_options(&storage))
        .err()
        .ok_or("opened")?;
    assert!(
        matches!(err, brickwork::Error::IncompleteArray { .. }),
        "{err}"
    );
    let err = x.to_zarr(url, &opts).err().ok_or("overwrote")?;
    assert!(chain(&err).contains("--resume"), "{}", chain(&err));
    // `create` above wrote no fingerprint, so resume it as that same array.
    let resumed = ZarrWriter::resume(
        Path::new(url),
        &[30, 20],
        brickwork::DType::F64,
        &[10, 10],
        &opts,
        None,
    )?;
    assert_eq!(resumed.written.iter().filter(|w| **w).count(), 1);
    drop(resumed);
    // A resumed write of a computation finishes what is missing.
    let fresh = "s3://bucket/resume/b.zarr";
    x.to_zarr(fresh, &opts)?;
    let resume = WriteOptions {
        resume: true,
        ..opts.clone()
    };
    x.to_zarr(fresh, &resume)?; // complete: nothing to do
    let y = (&x * 2.0)
        .to_zarr(fresh, &resume)
        .err()
        .ok_or("resumed another")?;
    assert!(chain(&y).contains("another computation"), "{}", chain(&y));
    assert_eq!(
        compute_f64(&Array::from_zarr_with(fresh, &read_options(&storage))?),
        want
    );

    // The lock object: held while a sink lives, gone afterwards; a live foreign one refuses.
    let holder = ZarrWriter::create(
        Path::new("s3://bucket/locks/c.zarr"),
        &[4],
        brickwork::DType::F64,
        &[2],
        &opts,
    )?;
    assert!(object_exists(
        &server,
        "bucket",
        "locks/.c.zarr.brickwork-lock"
    )?);
    drop(holder);
    assert!(!object_exists(
        &server,
        "bucket",
        "locks/.c.zarr.brickwork-lock"
    )?);
    // A lock taken over by another writer while held (as after missed renewals) is that
    // writer's: releasing ours leaves it in place.
    let holder = ZarrWriter::create(
        Path::new("s3://bucket/locks/e.zarr"),
        &[4],
        brickwork::DType::F64,
        &[2],
        &opts,
    )?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let theirs = serde_json::json!({"pid": 2, "host": "thief", "since": now, "renewed": now});
    put_object(
        &server,
        "bucket",
        "locks/.e.zarr.brickwork-lock",
        &theirs.to_string(),
    )?;
    drop(holder);
    assert!(object_exists(
        &server,
        "bucket",
        "locks/.e.zarr.brickwork-lock"
    )?);
    put_object(
        &server,
        "bucket",
        "locks/.d.zarr.brickwork-lock",
        &serde_json::json!({"pid": 1, "host": "elsewhere", "since": now, "renewed": now, "command": "brickwork eval"}).to_string(),
    )?;
    let err = x
        .to_zarr("s3://bucket/locks/d.zarr", &opts)
        .err()
        .ok_or("not locked")?;
    assert!(matches!(err, brickwork::Error::Locked { .. }), "{err}");
    assert!(err.to_string().contains("elsewhere"), "{err}");
    // A stale one (not renewed for longer than the lease) is taken over.
    put_object(
        &server,
        "bucket",
        "locks/.d.zarr.brickwork-lock",
        &serde_json::json!({"pid": 1, "host": "elsewhere", "since": 0, "renewed": 0}).to_string(),
    )?;
    x.to_zarr("s3://bucket/locks/d.zarr", &opts)?;
    Ok(())
}

/// Whether object `key` of `bucket` exists (asked with boto3).
fn object_exists(
    server: &Server,
    bucket: &str,
    key: &str,
) -> Result<bool, Box<dyn std::error::Error>> {
    let out = Command::new(peer_python().ok_or("python")?)
        .args([
            "-c",
            "import boto3,sys; c=boto3.client('s3',endpoint_url=sys.argv[1],region_name='us-east-1',aws_access_key_id='t',aws_secret_access_key='t'); r=c.list_objects_v2(Bucket=sys.argv[2],Prefix=sys.argv[3]); print(len(r.get('Contents',[])))",
            &server.endpoint(),
            bucket,
            key,
        ])
        .output()?;
    Ok(String::from_utf8(out.stdout)?.trim() != "0")
}

/// Writes `body` as object `key` of `bucket`.
fn put_object(server: &Server, bucket: &str, key: &str, body: &str) -> TestResult {
    let status = Command::new(peer_python().ok_or("python")?)
        .args([
            "-c",
            "import boto3,sys; c=boto3.client('s3',endpoint_url=sys.argv[1],region_name='us-east-1',aws_access_key_id='t',aws_secret_access_key='t'); c.put_object(Bucket=sys.argv[2],Key=sys.argv[3],Body=sys.argv[4].encode())",
            &server.endpoint(),
            bucket,
            key,
            body,
        ])
        .status()?;
    assert!(status.success());
    Ok(())
}

#[test]
fn errors_name_the_url_and_never_the_secret() -> TestResult {
    let Some(server) = Server::s3(&["bucket"])? else {
        return Ok(());
    };
    let storage = server
        .options()
        .with("max_retries", "1")
        .with("retry_timeout", "5s");
    let x = Array::random(&[4, 4], &[2, 2], 0)?;
    let secret_free = |what: &str, err: &brickwork::Error| {
        let msg = chain(err);
        assert!(!msg.contains(SECRET), "{what}: {msg}");
        assert!(!format!("{err:?}").contains(SECRET), "{what}: {err:?}");
        msg
    };
    // No such bucket.
    let err = Array::from_zarr_with("s3://no-such-bucket/a.zarr", &read_options(&storage))
        .err()
        .ok_or("opened")?;
    let msg = secret_free("bucket", &err);
    assert!(msg.contains("s3://no-such-bucket/a.zarr"), "{msg}");
    let err = x
        .to_zarr("s3://no-such-bucket/a.zarr", &write_options(&storage))
        .err()
        .ok_or("wrote")?;
    let msg = secret_free("bucket write", &err);
    assert!(msg.contains("s3://no-such-bucket/a.zarr"), "{msg}");
    // No array there.
    let err = Array::from_zarr_with("s3://bucket/none.zarr", &read_options(&storage))
        .err()
        .ok_or("opened")?;
    let msg = secret_free("key", &err);
    assert!(
        msg.contains("s3://bucket/none.zarr") && msg.contains("no zarr.json"),
        "{msg}"
    );
    // An endpoint nobody listens on: refused at once, retried once, then an error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let nowhere = storage
        .clone()
        .with("endpoint", format!("http://127.0.0.1:{closed}"))
        .with("connect_timeout", "2s");
    let err = Array::from_zarr_with("s3://bucket/a.zarr", &read_options(&nowhere))
        .err()
        .ok_or("opened")?;
    let msg = secret_free("endpoint", &err);
    assert!(msg.contains("s3://bucket/a.zarr"), "{msg}");
    // An unknown option, a URL scheme brickwork does not open.
    let err = Array::from_zarr_with(
        "s3://bucket/a.zarr",
        &read_options(&storage.clone().with("no_such_key", SECRET)),
    )
    .err()
    .ok_or("opened")?;
    let msg = secret_free("option", &err);
    assert!(msg.contains("no_such_key"), "{msg}");
    assert!(Array::from_zarr("ftp://host/a.zarr").is_err());
    // Options in Debug output.
    assert!(!format!("{:?}", write_options(&storage)).contains(SECRET));
    Ok(())
}

#[test]
fn the_cli_reads_and_writes_urls() -> TestResult {
    let Some(server) = Server::s3(&["cli"])? else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let npy = dir.path().join("x.npy");
    let data = values(&[12, 10], 0.5);
    ndarray_npy::write_npy(&npy, &data)?;
    let endpoint = format!("endpoint={}", server.endpoint());
    let secret = format!("secret_access_key={SECRET}");
    let run = |args: &[&str]| -> Result<std::process::Output, Box<dyn std::error::Error>> {
        let mut cmd = Command::new(brickwork_exe());
        cmd.args(args).args([
            "--storage-option",
            &endpoint,
            "--storage-option",
            "access_key_id=testing",
            "--storage-option",
            &secret,
            "--storage-option",
            "region=us-east-1",
        ]);
        Ok(cmd.output()?)
    };
    let ok = |out: std::process::Output| -> Result<String, Box<dyn std::error::Error>> {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains(SECRET), "{stderr}");
        if !out.status.success() {
            return Err(stderr.into());
        }
        Ok(String::from_utf8(out.stdout)?)
    };
    let npy_s = npy.to_str().ok_or("path")?;
    ok(run(&[
        "import",
        npy_s,
        "s3://cli/x.zarr",
        "--chunks",
        "5,4",
        "-q",
    ])?)?;
    let info: serde_json::Value =
        serde_json::from_str(&ok(run(&["info", "s3://cli/x.zarr", "--json"])?)?)?;
    assert_eq!(info["shape"], serde_json::json!([12, 10]));
    assert_eq!(info["chunks_stored"], serde_json::json!(9));
    ok(run(&[
        "rechunk",
        "s3://cli/x.zarr",
        "s3://cli/y.zarr",
        "--chunks",
        "12,1",
        "-q",
    ])?)?;
    let back = dir.path().join("y.npy");
    ok(run(&[
        "export",
        "s3://cli/y.zarr",
        back.to_str().ok_or("path")?,
        "-q",
    ])?)?;
    let got: ArrayD<f64> = ndarray_npy::read_npy(&back)?;
    assert_eq!(got, data);
    ok(run(&[
        "eval",
        "-i",
        "x=s3://cli/x.zarr",
        "x * 2",
        "--output",
        "s3://cli/z.zarr",
        "-q",
    ])?)?;
    let z = Array::from_zarr_with("s3://cli/z.zarr", &read_options(&server.options()))?;
    assert_eq!(compute_f64(&z), &data * 2.0);
    // Failures exit non-zero, name the URL, never the secret.
    let out = run(&["info", "s3://cli/missing.zarr"])?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("s3://cli/missing.zarr") && !stderr.contains(SECRET),
        "{stderr}"
    );
    let out = run(&["import", npy_s, "https://127.0.0.1:1/x.zarr", "-q"])?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("read only"));
    Ok(())
}

#[test]
fn large_objects_go_up_in_parts_and_read_back_whole() -> TestResult {
    let Some(mut server) = Server::s3(&["bucket"])? else {
        return Ok(());
    };
    // One 12 MiB chunk with a threshold of 8 MiB and 5 MiB parts: 3 parts; the small
    // metadata objects go up in one PUT each.
    let storage = server
        .options()
        .with("multipart_threshold", "8MiB")
        .with("multipart_part_size", "5MiB");
    let x = Array::random(&[1024, 1536], &[1024, 1536], 9)?;
    let url = "s3://bucket/big/a.zarr";
    let opts = WriteOptions {
        codec: Codec::None,
        ..write_options(&storage)
    };
    server.take_counts()?;
    x.to_zarr(url, &opts)?;
    let counts = server.take_counts()?;
    // The upload's start and completion (and the bulk delete of what was there before).
    let n = |k: &str| {
        counts
            .get(k)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    assert!(n("POST") >= 2 && n("PUT") >= 3, "{counts}");
    let back = Array::from_zarr_with(url, &read_options(&storage))?;
    assert_eq!(compute_f64(&back), compute_f64(&x));
    assert!(
        Array::from_zarr_with(
            url,
            &read_options(&storage.clone().with("multipart_threshold", "lots"))
        )
        .err()
        .is_some_and(|e| e.to_string().contains("multipart_threshold=lots"))
    );
    Ok(())
}

/// Requests in flight are bounded by `max_requests` (each task blocks on its one request,
/// whose buffer its memory reservation counts: see README, "Object stores"), and with
/// 5 ms per request more of them are in flight than threads compute: a proxy counting open
/// requests sees at most `threads + max_requests` (plus the lock's renewal) while a sharded
/// array is written, and more than `threads` and at most that while it is read; with
/// `max_requests(1)`, at most `threads + 1` (each plus one: the proxy's count lags).
#[test]
fn requests_in_flight_are_bounded_by_max_requests() -> TestResult {
    let Some(s3) = Server::s3(&["bucket"])? else {
        return Ok(());
    };
    let Some(mut proxy) = Server::proxy(&s3, &["delay:5"])? else {
        return Ok(());
    };
    let storage = proxy.options();
    let x = Array::random(&[120, 90], &[10, 10], 3)?;
    let url = "s3://bucket/flight/s.zarr";
    let (threads, max_requests) = (2, 8);
    let compute = brickwork::ComputeOptions::threads(threads).max_requests(max_requests);
    x.to_zarr_with(
        url,
        &WriteOptions {
            shards: Some(vec![40, 30]),
            ..write_options(&storage)
        },
        &compute,
    )?;
    let written = proxy.take_counts()?;
    let most = |c: &serde_json::Value| c["max_in_flight"].as_u64().unwrap_or(0);
    let bound = (threads + max_requests) as u64;
    // Uploads overlap too (9 requests were seen in flight here), but how many depends
    // on how fast the threads compute them: only the bound is asserted.
    assert!((1..=bound + 1).contains(&most(&written)), "{written}");
    let back = Array::from_zarr_with(url, &read_options(&storage))?;
    let (got, _) = back.compute_with(&compute)?;
    let read = proxy.take_counts()?;
    // The proxy counts a request as open until its handler returns, after the response
    // is sent: a client that has its answer may already have the next one open. On a
    // loaded machine that shows as one more than the engine has in flight.
    assert!(
        (threads as u64 + 1..=bound + 1).contains(&most(&read)),
        "{read}"
    );
    assert_eq!(got.into_typed::<f64>(), compute_f64(&x));
    // One request at a time beside the computing threads.
    let (got, _) = back.compute_with(&compute.clone().max_requests(1))?;
    let read = proxy.take_counts()?;
    assert!((1..=threads as u64 + 2).contains(&most(&read)), "{read}");
    assert_eq!(got.into_typed::<f64>(), compute_f64(&x));
    Ok(())
}
