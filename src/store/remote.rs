//! Object stores (S3, Google Cloud Storage, Azure Blob Storage) and web servers as zarrs
//! stores, through the `object_store` crate (feature `cloud`).
//!
//! What this module owns: turning a [`StoreUrl`] and [`StorageOptions`] into a client
//! (credentials from the cloud's environment variables, overridden by the options), the one
//! tokio runtime every request runs on, and [`RemoteStore`], which gives zarrs its
//! synchronous store traits over that client, with keys relative to the array's prefix.
//! Nothing above the store layer sees a future: a reader thread blocks on its request while
//! the runtime drives it (and, for the byte ranges of one object, its siblings in
//! parallel).
//!
//! Requests, and why each is the one it is:
//! - a chunk is one GET of the object (one PUT to write it): object stores replace an
//!   object atomically, so there is no temporary key and no rename (a rename is a copy
//!   and a delete there);
//! - a shard index is a GET of a suffix range (`bytes=-N`; Azure Blob Storage has no
//!   suffix ranges, so there a HEAD gives the size first, once per shard), and inner
//!   chunks are ranged GETs, never preceded by a HEAD (zarrs asks the store for the
//!   object's size only when a byte range needs it, and brickwork's bounds check does not
//!   ask on object stores);
//!   the ranges of one object asked for together go through `get_ranges`, which merges
//!   neighbours (less than 1 MiB apart) into one request and sends the rest in parallel;
//! - a shard index is fetched once per opened array, not once per inner chunk read from
//!   that shard (a small cache of suffix reads, [`SuffixCache`]);
//! - a missing object (404) is "not stored", which zarrs reads as the fill value; any other
//!   failure is an error naming the URL and key.
//!
//! Time limits (documented for users in [`StorageOptions`]): a connection gets 5 s, a
//! request 30 s; a failed request (5xx, throttling, timeouts, dropped connections) is
//! retried up to 3 times with exponential backoff from 100 ms, for at most 60 s in all;
//! then the error names the key. An unreachable endpoint therefore fails within about a
//! minute at worst, with the options `connect_timeout`, `timeout`, `max_retries` and
//! `retry_timeout` to change it.
//!
//! Clients are kept per bucket and options for the life of the process, so that one run's
//! requests share their connections.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientConfigKey, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload, RetryConfig, UpdateVersion,
};
use zarrs::storage::byte_range::{ByteRange, ByteRangeIterator};
use zarrs::storage::{
    Bytes, ListableStorageTraits, MaybeBytesIterator, OffsetBytesIterator, ReadableStorageTraits,
    StorageError, StoreKey, StoreKeys, StoreKeysPrefixes, StorePrefix, StorePrefixes,
    WritableStorageTraits,
};

use super::location::{Scheme, StorageOptions, StoreUrl};
use super::requests::RequestCounts;
use crate::error::{Error, Result};

/// The runtime all object-store requests run on: a small multi-threaded one (the work is
/// waiting, not computing), started on first use.
fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("brickwork-io")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::internal(format!("cannot start the I/O runtime: {e}")))
}

struct Counters {
    gets: AtomicU64,
    heads: AtomicU64,
    puts: AtomicU64,
    posts: AtomicU64,
    lists: AtomicU64,
    deletes: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
}

static COUNTERS: Counters = Counters {
    gets: AtomicU64::new(0),
    heads: AtomicU64::new(0),
    puts: AtomicU64::new(0),
    posts: AtomicU64::new(0),
    lists: AtomicU64::new(0),
    deletes: AtomicU64::new(0),
    bytes_read: AtomicU64::new(0),
    bytes_written: AtomicU64::new(0),
};

/// The requests sent to object stores by this process so far.
pub fn request_counts() -> RequestCounts {
    let c = &COUNTERS;
    RequestCounts {
        gets: c.gets.load(Ordering::Relaxed),
        heads: c.heads.load(Ordering::Relaxed),
        puts: c.puts.load(Ordering::Relaxed),
        posts: c.posts.load(Ordering::Relaxed),
        lists: c.lists.load(Ordering::Relaxed),
        deletes: c.deletes.load(Ordering::Relaxed),
        bytes_read: c.bytes_read.load(Ordering::Relaxed),
        bytes_written: c.bytes_written.load(Ordering::Relaxed),
    }
}

fn count(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Options brickwork reads itself (the others go to the object_store builders).
const OWN_KEYS: &[&str] = &[
    "anonymous",
    "max_retries",
    "retry_timeout",
    "multipart_threshold",
    "multipart_part_size",
];

/// Parses a `humantime`-like duration: `30s`, `500ms`, `2m`, or plain seconds.
fn parse_duration(key: &str, text: &str) -> Result<Duration> {
    let t = text.trim();
    let (number, unit) = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or((t, "s"), |i| t.split_at(i));
    let value: f64 = number.parse().map_err(|_| bad_duration(key, text))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "s" | "sec" | "" => value,
        "m" | "min" => value * 60.0,
        _ => return Err(bad_duration(key, text)),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| bad_duration(key, text))
}

fn bad_duration(key: &str, text: &str) -> Error {
    Error::invalid(format!(
        "storage option {key}={text}: expected a duration such as 30s, 500ms or 2m"
    ))
}

/// The retry policy from the options (see the module doc for the defaults).
fn retry_config(options: &StorageOptions) -> Result<RetryConfig> {
    let mut retry = RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(60),
        ..RetryConfig::default()
    };
    if let Some(n) = options.get("max_retries") {
        retry.max_retries = n.trim().parse().map_err(|_| {
            Error::invalid(format!(
                "storage option max_retries={n}: expected a whole number"
            ))
        })?;
    }
    if let Some(t) = options.get("retry_timeout") {
        retry.retry_timeout = parse_duration("retry_timeout", t)?;
    }
    Ok(retry)
}

/// When an object is written in parts: objects larger than `threshold` bytes are sent as a
/// multipart upload of `part_size`-byte parts, up to [`Multipart::PARTS_IN_FLIGHT`] at once
/// (S3 takes at most 5 GB in one PUT; parts also retry alone). The object appears whole
/// when the upload completes, never before, as with one PUT; an upload that fails is
/// aborted, so its parts do not linger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Multipart {
    threshold: u64,
    part_size: u64,
}

impl Multipart {
    /// Parts sent at once: their bytes are slices of the object, already in memory.
    const PARTS_IN_FLIGHT: usize = 8;

    /// The defaults (64 MiB, 16 MiB parts), or the options `multipart_threshold` and
    /// `multipart_part_size`; parts are at least 5 MiB (S3's and GCS's least).
    fn from_options(options: &StorageOptions) -> Result<Multipart> {
        let size = |key: &str, default: u64| -> Result<u64> {
            options.get(key).map_or(Ok(default), |t| {
                crate::units::parse_bytes(t).map_err(|_| {
                    Error::invalid(format!(
                        "storage option {key}={t}: expected a size such as 64MiB"
                    ))
                })
            })
        };
        Ok(Multipart {
            threshold: size("multipart_threshold", 64 << 20)?,
            part_size: size("multipart_part_size", 16 << 20)?.max(5 << 20),
        })
    }
}

/// True when option `key` is set to a true value.
fn flag(options: &StorageOptions, key: &str) -> bool {
    options
        .get(key)
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// The environment variables whose names start with `prefix`, as lower-case keys.
fn env_with_prefix(prefix: &str) -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

/// An option key neither object_store nor brickwork knows.
fn unknown_key(url: &StoreUrl, key: &str) -> Error {
    Error::invalid(format!(
        "storage option {key:?} is not an option of {} stores (see the object_store crate's configuration keys, or brickwork's: anonymous, timeout, connect_timeout, max_retries, retry_timeout, multipart_threshold, multipart_part_size)",
        url.scheme().name()
    ))
}

/// Configures one kind of builder: defaults, then the environment, then the options.
macro_rules! configure {
    ($builder:expr, $key:ty, $env:expr, $url:expr, $options:expr) => {{
        let mut b = $builder
            .with_config(<$key>::Client(ClientConfigKey::ConnectTimeout), "5s")
            .with_config(<$key>::Client(ClientConfigKey::Timeout), "30s");
        for (k, v) in env_with_prefix($env) {
            if let Ok(key) = k.parse::<$key>() {
                b = b.with_config(key, v);
            }
        }
        for (k, v) in $options.iter() {
            if OWN_KEYS.contains(&k) {
                continue;
            }
            let key = k
                .parse::<$key>()
                .or_else(|_| k.parse::<ClientConfigKey>().map(<$key>::Client))
                .map_err(|_| unknown_key($url, k))?;
            b = b.with_config(key, v);
        }
        b.with_retry(retry_config($options)?)
    }};
}

/// A new client for the bucket of `url`.
fn client(url: &StoreUrl, options: &StorageOptions) -> Result<Arc<dyn ObjectStore>> {
    use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
    use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
    use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
    use object_store::http::HttpBuilder;
    let anonymous = flag(options, "anonymous");
    let built = match url.scheme() {
        Scheme::S3 => {
            let mut b = configure!(
                AmazonS3Builder::new().with_bucket_name(url.bucket()),
                AmazonS3ConfigKey,
                "AWS_",
                url,
                options
            );
            // An endpoint given as http:// (a local server such as MinIO or moto) is
            // reached over http without asking for AWS_ALLOW_HTTP as well.
            if b.get_config_value(&AmazonS3ConfigKey::Endpoint)
                .is_some_and(|e| e.starts_with("http://"))
            {
                b = b.with_allow_http(true);
            }
            if anonymous {
                b = b.with_skip_signature(true);
            }
            b.build().map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        }
        Scheme::Gcs => {
            let mut b = configure!(
                GoogleCloudStorageBuilder::new().with_bucket_name(url.bucket()),
                GoogleConfigKey,
                "GOOGLE_",
                url,
                options
            );
            if anonymous {
                b = b.with_config(GoogleConfigKey::SkipSignature, "true");
            }
            b.build().map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        }
        Scheme::Azure => {
            let mut b = configure!(
                MicrosoftAzureBuilder::new().with_container_name(url.bucket()),
                AzureConfigKey,
                "AZURE_",
                url,
                options
            );
            if anonymous {
                b = b.with_config(AzureConfigKey::SkipSignature, "true");
            }
            b.build().map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        }
        Scheme::Http | Scheme::Https => {
            let mut b = HttpBuilder::new()
                .with_url(format!("{}://{}", url.scheme().name(), url.bucket()))
                .with_config(ClientConfigKey::ConnectTimeout, "5s")
                .with_config(ClientConfigKey::Timeout, "30s")
                .with_config(
                    ClientConfigKey::AllowHttp,
                    (url.scheme() == Scheme::Http).to_string(),
                );
            // Web servers take the client's options (timeouts, proxies, ...) and ignore the
            // rest: the options of one command also reach the clouds it reads or writes.
            for (k, v) in options.iter() {
                if let Ok(key) = k.parse::<ClientConfigKey>() {
                    b = b.with_config(key, v);
                }
            }
            b.with_retry(retry_config(options)?)
                .build()
                .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        }
    };
    built.map_err(|e| {
        Error::invalid(format!(
            "{url}: cannot set up the {} client: {}",
            url.scheme().name(),
            describe(&e)
        ))
    })
}

/// The client of `url`'s bucket with `options`, made once per process.
fn shared_client(url: &StoreUrl, options: &StorageOptions) -> Result<Arc<dyn ObjectStore>> {
    type Clients = Mutex<HashMap<(Scheme, String, StorageOptions), Arc<dyn ObjectStore>>>;
    static CLIENTS: OnceLock<Clients> = OnceLock::new();
    let key = (url.scheme(), url.bucket().to_owned(), options.clone());
    let mut clients = CLIENTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(c) = clients.get(&key) {
        return Ok(c.clone());
    }
    let c = client(url, options)?;
    clients.insert(key, c.clone());
    Ok(c)
}

/// An object_store error in words, without its debug noise. object_store's messages name
/// the request's path and status and the server's answer; none holds a credential.
fn describe(e: &object_store::Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// What a failed request most likely means, when the server's answer (`text`, from
/// [`describe`]) shows it: a missing bucket, denied access, or a bucket in another region.
/// The answers are those of S3, GCS and Azure (and of their emulators); an answer none of
/// these matches gets no hint.
fn hint(url: &StoreUrl, e: &object_store::Error, text: &str) -> Option<String> {
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    let (bucket, scheme) = (url.bucket(), url.scheme());
    let container = if scheme == Scheme::Azure {
        "container"
    } else {
        "bucket"
    };
    if has(&[
        "NoSuchBucket",
        "ContainerNotFound",
        "specified bucket does not exist",
    ]) {
        return Some(format!(
            "there is no {container} named {bucket:?} at this endpoint (check the URL, and the endpoint or region options)"
        ));
    }
    if has(&[
        "PermanentRedirect",
        "AuthorizationHeaderMalformed",
        "IllegalLocationConstraint",
        "incorrectly configured region",
    ]) {
        let region = region_in(text)
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        return Some(format!(
            "the {container} {bucket:?} is in another region{region}: set AWS_REGION or --storage-option region=..."
        ));
    }
    let denied = matches!(
        e,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
    ) || has(&[
        "AccessDenied",
        "AuthenticationFailed",
        "AuthorizationFailure",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "403 Forbidden",
        "401 Unauthorized",
    ]);
    denied.then(|| {
        let variables = match scheme {
            Scheme::S3 => "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN",
            Scheme::Gcs => "GOOGLE_APPLICATION_CREDENTIALS, GOOGLE_SERVICE_ACCOUNT",
            Scheme::Azure => "AZURE_STORAGE_ACCOUNT_NAME, AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_KEY",
            Scheme::Http | Scheme::Https => "the server's access rules",
        };
        format!(
            "access denied to the {container} {bucket:?}: check the credentials ({variables}, or --storage-option), or pass anonymous=true for a public {container}"
        )
    })
}

/// The region an S3 answer names (a malformed-authorization answer's message, or a
/// `<Region>` element); object_store keeps no body of a redirect, so a 301 names none.
fn region_in(text: &str) -> Option<String> {
    let after = |marker: &str| -> Option<String> {
        let rest = &text[text.find(marker)? + marker.len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        (!name.is_empty()).then_some(name)
    };
    after("expecting '").or_else(|| after("<Region>"))
}

/// A version of an object (its ETag or version id), for conditional replacement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ObjectVersion {
    e_tag: Option<String>,
    version: Option<String>,
}

/// The array prefix `url` of a bucket as a zarrs store (see the module doc).
pub(crate) struct RemoteStore {
    url: StoreUrl,
    store: Arc<dyn ObjectStore>,
    runtime: &'static tokio::runtime::Runtime,
    /// Suffix reads (shard indexes) already made, by key and length: see
    /// [`SuffixCache`].
    suffixes: Mutex<SuffixCache>,
    /// Signalled when a suffix read that others wait for ends.
    suffix_read: Condvar,
    multipart: Multipart,
}

/// The suffixes of objects read through one store (one opened array): a shard's index is
/// the same for every inner chunk read from it, so it is fetched once per run rather than
/// once per inner chunk. At most [`SuffixCache::MAX_BYTES`] are kept (an index is 16 bytes
/// per inner chunk, so that is the index of millions of inner chunks); past that, new
/// suffixes are fetched and not kept. Only a store that reads keeps any: writes to the key
/// forget it. Readers of an object store see the array as it was when they opened it
/// (`zarr/generation.rs`), and so does this cache.
///
/// Tasks reading inner chunks of one shard at once (many requests are in flight) wait for
/// the one read of its index under way rather than each sending their own.
#[derive(Default)]
struct SuffixCache {
    kept: HashMap<(String, u64), Bytes>,
    bytes: usize,
    /// Suffix reads under way, by key and length.
    reading: HashSet<(String, u64)>,
}

impl SuffixCache {
    const MAX_BYTES: usize = 16 << 20;

    fn get(&self, key: &str, len: u64) -> Option<Bytes> {
        self.kept.get(&(key.to_owned(), len)).cloned()
    }

    fn keep(&mut self, key: &str, len: u64, value: &Bytes) {
        if self.bytes + value.len() <= Self::MAX_BYTES {
            self.bytes += value.len();
            self.kept.insert((key.to_owned(), len), value.clone());
        }
    }

    fn forget(&mut self, key: &str) {
        let bytes = &mut self.bytes;
        self.kept.retain(|(k, _), v| {
            let keep = k != key;
            if !keep {
                *bytes -= v.len();
            }
            keep
        });
    }
}

impl std::fmt::Debug for RemoteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RemoteStore({})", self.url)
    }
}

/// Opens the store at `url` with `options` (no request is sent).
///
/// # Errors
/// [`Error::InvalidArgument`] naming the URL for an option the store does not know or a
/// client that cannot be set up.
pub(crate) fn open(url: &StoreUrl, options: &StorageOptions) -> Result<RemoteStore> {
    Ok(RemoteStore {
        url: url.clone(),
        store: shared_client(url, options)?,
        runtime: runtime()?,
        suffixes: Mutex::default(),
        suffix_read: Condvar::new(),
        multipart: Multipart::from_options(options)?,
    })
}

impl RemoteStore {
    /// The URL of the store's prefix.
    pub(crate) fn url(&self) -> &StoreUrl {
        &self.url
    }

    /// The object path of `key` (relative to the prefix).
    fn object(&self, key: &str) -> ObjectPath {
        let key = key.trim_start_matches('/');
        match self.url.prefix() {
            "" => ObjectPath::from(key),
            p if key.is_empty() => ObjectPath::from(p),
            p => ObjectPath::from(format!("{p}/{key}")),
        }
    }

    /// The key (relative to the prefix) of object path `path`, when it is under it.
    fn key_of(&self, path: &ObjectPath) -> Option<String> {
        let full = path.as_ref();
        match self.url.prefix() {
            "" => Some(full.to_owned()),
            p => full
                .strip_prefix(p)
                .and_then(|rest| rest.strip_prefix('/'))
                .map(str::to_owned),
        }
    }

    /// The error of `op` on `key`, naming the URL and the key, and what the failure most
    /// likely means when the server's answer shows it ([`hint`]).
    fn error(&self, op: &str, key: &str, e: &object_store::Error) -> StorageError {
        let text = describe(e);
        let hint = hint(&self.url, e, &text)
            .map(|h| format!("{h}: "))
            .unwrap_or_default();
        StorageError::Other(format!(
            "{op} {}/{}: {hint}{text}",
            self.url,
            key.trim_start_matches('/'),
        ))
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// One GET of `range` of `key` (the whole object for `None`); `None` when the object is
    /// missing.
    fn get_one(
        &self,
        key: &str,
        range: Option<GetRange>,
    ) -> std::result::Result<Option<Bytes>, StorageError> {
        let location = self.object(key);
        let result = self.block_on(async {
            let range = match range {
                Some(GetRange::Suffix(len)) if self.url.scheme() == Scheme::Azure => {
                    Some(self.azure_suffix(&location, len).await?)
                }
                other => other,
            };
            count(&COUNTERS.gets, 1);
            let options = GetOptions {
                range,
                ..GetOptions::default()
            };
            let r = self.store.get_opts(&location, options).await?;
            r.bytes().await
        });
        match result {
            Ok(b) => {
                count(&COUNTERS.bytes_read, b.len() as u64);
                Ok(Some(b))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("GET", key, &e)),
        }
    }

    /// The range of the last `len` bytes of `location` on Azure Blob Storage, which has no
    /// suffix ranges (`bytes=-N`): a HEAD gives the object's size first. Shard indexes are
    /// the suffixes read, and each is read once per opened array ([`SuffixCache`]), so this
    /// costs one HEAD per shard.
    async fn azure_suffix(
        &self,
        location: &ObjectPath,
        len: u64,
    ) -> std::result::Result<GetRange, object_store::Error> {
        count(&COUNTERS.heads, 1);
        let size = self.store.head(location).await?.size;
        Ok(GetRange::Bounded(size.saturating_sub(len)..size))
    }

    /// The object `key` and its version; `None` when it is missing.
    pub(crate) fn get_versioned(
        &self,
        key: &str,
    ) -> std::result::Result<Option<(Bytes, ObjectVersion)>, StorageError> {
        let location = self.object(key);
        count(&COUNTERS.gets, 1);
        let result = self.block_on(async {
            let r = self
                .store
                .get_opts(&location, GetOptions::default())
                .await?;
            let version = ObjectVersion {
                e_tag: r.meta.e_tag.clone(),
                version: r.meta.version.clone(),
            };
            Ok::<_, object_store::Error>((r.bytes().await?, version))
        });
        match result {
            Ok(r) => Ok(Some(r)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("GET", key, &e)),
        }
    }

    /// Writes `value` as `key` only if no object is there (an atomic create: `If-None-Match:
    /// *` on S3, `ifGenerationMatch=0` on GCS); the version written, `None` when an object
    /// was there.
    pub(crate) fn put_if_absent(
        &self,
        key: &str,
        value: Bytes,
    ) -> std::result::Result<Option<ObjectVersion>, StorageError> {
        self.put_mode(key, value, PutMode::Create)
    }

    /// Replaces `key` with `value` only if it is still at `version`; the version written,
    /// `None` when another write came first.
    pub(crate) fn put_if_version(
        &self,
        key: &str,
        value: Bytes,
        version: &ObjectVersion,
    ) -> std::result::Result<Option<ObjectVersion>, StorageError> {
        let mode = PutMode::Update(UpdateVersion {
            e_tag: version.e_tag.clone(),
            version: version.version.clone(),
        });
        self.put_mode(key, value, mode)
    }

    /// Deletes `key` (nothing to do when it is missing).
    pub(crate) fn delete(&self, key: &str) -> std::result::Result<(), StorageError> {
        let location = self.object(key);
        count(&COUNTERS.deletes, 1);
        match self.block_on(self.store.delete(&location)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("DELETE", key, &e)),
        }
    }

    /// One PUT of `value` as `key` in `mode`: the version written, `None` when the mode's
    /// condition did not hold.
    fn put_mode(
        &self,
        key: &str,
        value: Bytes,
        mode: PutMode,
    ) -> std::result::Result<Option<ObjectVersion>, StorageError> {
        let location = self.object(key);
        count(&COUNTERS.bytes_written, value.len() as u64);
        if matches!(mode, PutMode::Overwrite) && value.len() as u64 > self.multipart.threshold {
            return self
                .block_on(self.put_in_parts(&location, value))
                .map(|r| {
                    Some(ObjectVersion {
                        e_tag: r.e_tag,
                        version: r.version,
                    })
                })
                .map_err(|e| self.error("PUT (multipart)", key, &e));
        }
        count(&COUNTERS.puts, 1);
        let options = PutOptions {
            mode,
            ..PutOptions::default()
        };
        let result = self.block_on(self.store.put_opts(
            &location,
            PutPayload::from(value),
            options,
        ));
        match result {
            Ok(r) => Ok(Some(ObjectVersion {
                e_tag: r.e_tag,
                version: r.version,
            })),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(None),
            Err(e) => Err(self.error("PUT", key, &e)),
        }
    }

    /// Writes `value` as `location` in a multipart upload (see [`Multipart`]), aborted when
    /// a part or the completion fails.
    async fn put_in_parts(
        &self,
        location: &ObjectPath,
        value: Bytes,
    ) -> std::result::Result<object_store::PutResult, object_store::Error> {
        let part = usize::try_from(self.multipart.part_size).unwrap_or(usize::MAX);
        count(&COUNTERS.posts, 2); // initiate, complete
        let upload = self.store.put_multipart(location).await?;
        let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, part);
        for start in (0..value.len()).step_by(part) {
            if let Err(e) = writer.wait_for_capacity(Multipart::PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(e);
            }
            count(&COUNTERS.puts, 1);
            writer.put(value.slice(start..value.len().min(start + part)));
        }
        writer.finish().await
    }

    /// Lists the objects under `prefix` (relative; `""` for the whole store prefix): their
    /// keys (relative) and sizes.
    pub(crate) fn list_sizes(
        &self,
        prefix: &str,
    ) -> std::result::Result<Vec<(String, u64)>, StorageError> {
        let location = self.object(prefix);
        count(&COUNTERS.lists, 1);
        let listed: std::result::Result<Vec<_>, _> = self.block_on(
            self.store
                .list(Some(&location))
                .map_ok(|m| (m.location, m.size))
                .try_collect(),
        );
        let listed = listed.map_err(|e| self.error("LIST", prefix, &e))?;
        Ok(listed
            .into_iter()
            .filter_map(|(p, size)| Some((self.key_of(&p)?, size)))
            .collect())
    }

    fn ranges_of(
        &self,
        key: &StoreKey,
        ranges: Vec<ByteRange>,
    ) -> std::result::Result<Option<Vec<Bytes>>, StorageError> {
        let bounded: Option<Vec<Range<u64>>> = ranges
            .iter()
            .map(|r| match *r {
                ByteRange::FromStart(start, Some(len)) if len > 0 => {
                    Some(start..start.checked_add(len)?)
                }
                _ => None,
            })
            .collect();
        if let Some(bounded) = bounded.filter(|b| b.len() > 1) {
            let location = self.object(key.as_str());
            count(&COUNTERS.gets, bounded.len() as u64);
            return match self.block_on(self.store.get_ranges(&location, &bounded)) {
                Ok(parts) => {
                    let n: usize = parts.iter().map(Bytes::len).sum();
                    count(&COUNTERS.bytes_read, n as u64);
                    Ok(Some(parts))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(self.error("GET", key.as_str(), &e)),
            };
        }
        if let [ByteRange::Suffix(len)] = ranges.as_slice() {
            return self.suffix(key.as_str(), *len).map(|b| b.map(|b| vec![b]));
        }
        let mut out = Vec::with_capacity(ranges.len());
        for range in ranges {
            let get = match range {
                ByteRange::FromStart(_, Some(0)) => {
                    out.push(Bytes::new());
                    continue;
                }
                ByteRange::FromStart(0, None) => None,
                ByteRange::FromStart(start, None) => Some(GetRange::Offset(start)),
                ByteRange::FromStart(start, Some(len)) => {
                    Some(GetRange::Bounded(start..start.saturating_add(len)))
                }
                ByteRange::Suffix(len) => Some(GetRange::Suffix(len)),
            };
            match self.get_one(key.as_str(), get)? {
                Some(b) => out.push(b),
                None => return Ok(None),
            }
        }
        Ok(Some(out))
    }
}

impl RemoteStore {
    /// The last `len` bytes of `key`, from the [`SuffixCache`] when read before; when
    /// another thread is reading them, after waiting for its read.
    fn suffix(&self, key: &str, len: u64) -> std::result::Result<Option<Bytes>, StorageError> {
        let id = (key.to_owned(), len);
        let mut cache = self.suffixes.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(b) = cache.get(key, len) {
                return Ok(Some(b));
            }
            if !cache.reading.contains(&id) {
                break;
            }
            cache = self
                .suffix_read
                .wait(cache)
                .unwrap_or_else(|e| e.into_inner());
        }
        cache.reading.insert(id.clone());
        drop(cache);
        let got = self.get_one(key, Some(GetRange::Suffix(len)));
        let mut cache = self.suffixes.lock().unwrap_or_else(|e| e.into_inner());
        cache.reading.remove(&id);
        if let Ok(Some(b)) = &got {
            cache.keep(key, len, b);
        }
        drop(cache);
        // A failed or missing read: the waiters try themselves.
        self.suffix_read.notify_all();
        got
    }

    /// Forgets what the [`SuffixCache`] kept of `key` (it is being written).
    fn forget(&self, key: &str) {
        self.suffixes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .forget(key);
    }
}

impl ReadableStorageTraits for RemoteStore {
    fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> std::result::Result<MaybeBytesIterator<'a>, StorageError> {
        let ranges: Vec<ByteRange> = byte_ranges.collect();
        Ok(self
            .ranges_of(key, ranges)?
            .map(|parts| Box::new(parts.into_iter().map(Ok)) as _))
    }

    fn size_key(&self, key: &StoreKey) -> std::result::Result<Option<u64>, StorageError> {
        let location = self.object(key.as_str());
        count(&COUNTERS.heads, 1);
        match self.block_on(self.store.head(&location)) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("HEAD", key.as_str(), &e)),
        }
    }

    fn supports_get_partial(&self) -> bool {
        true
    }
}

impl RemoteStore {
    /// Refuses writes to a web server.
    fn check_writable(&self) -> std::result::Result<(), StorageError> {
        if self.url.scheme().writable() {
            Ok(())
        } else {
            Err(StorageError::Other(format!(
                "{}: {} stores are read only; write to s3://, gs://, az:// or a local path",
                self.url,
                self.url.scheme().name()
            )))
        }
    }
}

impl WritableStorageTraits for RemoteStore {
    fn set(&self, key: &StoreKey, value: Bytes) -> std::result::Result<(), StorageError> {
        self.check_writable()?;
        self.forget(key.as_str());
        self.put_mode(key.as_str(), value, PutMode::Overwrite)
            .map(|_| ())
    }

    fn set_partial_many(
        &self,
        key: &StoreKey,
        offset_values: OffsetBytesIterator,
    ) -> std::result::Result<(), StorageError> {
        zarrs::storage::store_set_partial_many(self, key, offset_values)
    }

    fn erase(&self, key: &StoreKey) -> std::result::Result<(), StorageError> {
        self.check_writable()?;
        self.forget(key.as_str());
        self.delete(key.as_str())
    }

    fn erase_prefix(&self, prefix: &StorePrefix) -> std::result::Result<(), StorageError> {
        self.check_writable()?;
        *self.suffixes.lock().unwrap_or_else(|e| e.into_inner()) = SuffixCache::default();
        let keys = self.list_sizes(prefix.as_str())?;
        let paths: Vec<ObjectPath> = keys.iter().map(|(k, _)| self.object(k)).collect();
        count(&COUNTERS.deletes, paths.len() as u64);
        let stream = futures::stream::iter(paths.into_iter().map(Ok)).boxed();
        let deleted: std::result::Result<Vec<_>, _> =
            self.block_on(self.store.delete_stream(stream).try_collect());
        match deleted {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("DELETE", prefix.as_str(), &e)),
        }
    }

    fn supports_set_partial(&self) -> bool {
        false
    }
}

impl ListableStorageTraits for RemoteStore {
    fn list(&self) -> std::result::Result<StoreKeys, StorageError> {
        self.list_prefix(&StorePrefix::root())
    }

    fn list_prefix(&self, prefix: &StorePrefix) -> std::result::Result<StoreKeys, StorageError> {
        let mut keys = self
            .list_sizes(prefix.as_str())?
            .into_iter()
            .map(|(k, _)| StoreKey::new(k))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        keys.sort();
        Ok(keys)
    }

    fn list_dir(
        &self,
        prefix: &StorePrefix,
    ) -> std::result::Result<StoreKeysPrefixes, StorageError> {
        let location = self.object(prefix.as_str());
        count(&COUNTERS.lists, 1);
        let listed = self
            .block_on(self.store.list_with_delimiter(Some(&location)))
            .map_err(|e| self.error("LIST", prefix.as_str(), &e))?;
        let mut keys: StoreKeys = listed
            .objects
            .iter()
            .filter_map(|m| self.key_of(&m.location))
            .map(StoreKey::new)
            .collect::<std::result::Result<_, _>>()?;
        let mut prefixes: StorePrefixes = listed
            .common_prefixes
            .iter()
            .filter_map(|p| self.key_of(p))
            .map(|p| StorePrefix::new(format!("{p}/")))
            .collect::<std::result::Result<_, _>>()?;
        keys.sort();
        prefixes.sort();
        Ok(StoreKeysPrefixes::new(keys, prefixes))
    }

    fn size_prefix(&self, prefix: &StorePrefix) -> std::result::Result<u64, StorageError> {
        Ok(self
            .list_sizes(prefix.as_str())?
            .iter()
            .map(|(_, s)| s)
            .sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_retry_options_parse() {
        let d = |t| parse_duration("timeout", t).ok();
        assert_eq!(d("30s"), Some(Duration::from_secs(30)));
        assert_eq!(d("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(d("2m"), Some(Duration::from_secs(120)));
        assert_eq!(d("7"), Some(Duration::from_secs(7)));
        assert_eq!(d("soon"), None);
        let o = StorageOptions::new()
            .with("max_retries", "0")
            .with("retry_timeout", "1s");
        let r = retry_config(&o).ok();
        assert_eq!(
            r.map(|r| (r.max_retries, r.retry_timeout)),
            Some((0, Duration::from_secs(1)))
        );
        assert!(retry_config(&StorageOptions::new().with("max_retries", "x")).is_err());
    }

    #[test]
    fn failures_say_what_they_most_likely_mean() -> Result<()> {
        let s3 = StoreUrl::parse("s3://b/x.zarr")?;
        let az = StoreUrl::parse("az://c/x.zarr")?;
        let e = object_store::Error::Generic {
            store: "test",
            source: "answer".into(),
        };
        let h = |url: &StoreUrl, text: &str| hint(url, &e, text).unwrap_or_default();
        assert!(h(&s3, "404: <Code>NoSuchBucket</Code>").contains("no bucket named \"b\""));
        assert!(h(&az, "404: <Code>ContainerNotFound</Code>").contains("no container"));
        let wrong = "400: AuthorizationHeaderMalformed: the region 'us-east-1' is wrong; expecting 'eu-west-1'";
        assert!(h(&s3, wrong).contains("another region (eu-west-1)"));
        assert!(
            h(&az, "403 Forbidden: AuthorizationFailure").contains("AZURE_STORAGE_ACCOUNT_KEY")
        );
        assert!(h(&s3, "500 Internal Server Error").is_empty());
        Ok(())
    }

    #[test]
    fn unknown_options_are_refused_and_keys_map_to_objects() -> Result<()> {
        let url = StoreUrl::parse("s3://bucket/a/b.zarr")?;
        let bad = open(
            &url,
            &StorageOptions::new().with("no_such_option", "hunter2"),
        );
        let msg = bad.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("no_such_option") && !msg.contains("hunter2"),
            "{msg}"
        );
        let store = open(&url, &StorageOptions::new().with("region", "us-east-1"))?;
        assert_eq!(store.object("c/0/1").as_ref(), "a/b.zarr/c/0/1");
        assert_eq!(
            store.key_of(&ObjectPath::from("a/b.zarr/zarr.json")),
            Some("zarr.json".into())
        );
        assert_eq!(store.key_of(&ObjectPath::from("a/b.zarrx/zarr.json")), None);
        Ok(())
    }
}
