//! Where a store lives: a local directory or an object-store URL, and the options that
//! reach an object store.
//!
//! Every function that takes a store path (`Array::from_zarr`, `to_zarr`, the CLI's
//! `--input`/`--output`) takes a URL as well: a path whose text begins with `scheme://` is
//! a URL. `s3://bucket/prefix`, `gs://bucket/prefix` and `az://container/prefix` are read
//! and written, `http://` and `https://` only read; `file:///abs/path` is the local path
//! it names. A local directory whose name looks like a URL is reached as `./s3:/...`.
//!
//! The rest of brickwork names a store by a `Path` in its messages and errors; for a URL
//! that is [`StoreUrl::display_path`], the URL without anything secret in it (user
//! information and query strings are cut), so no credential reaches an error, a log, the
//! dashboard or a report. Credentials themselves live only in [`StorageOptions`], whose
//! `Debug` shows none of them, and in the environment.
//!
//! Parsing needs no network and works without the `cloud` feature, so that a URL given to
//! a build without it is refused with an error that says which feature it needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The kinds of object store brickwork opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Amazon S3 and S3-compatible servers (`s3://bucket/prefix`).
    S3,
    /// Google Cloud Storage (`gs://bucket/prefix`).
    Gcs,
    /// Azure Blob Storage (`az://container/prefix`).
    Azure,
    /// A web server, read only (`http://host/path`).
    Http,
    /// A web server over TLS, read only (`https://host/path`).
    Https,
}

impl Scheme {
    /// The URL scheme (`s3`, `gs`, `az`, `http`, `https`).
    pub const fn name(self) -> &'static str {
        match self {
            Scheme::S3 => "s3",
            Scheme::Gcs => "gs",
            Scheme::Azure => "az",
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// True for the schemes brickwork can write to.
    pub const fn writable(self) -> bool {
        matches!(self, Scheme::S3 | Scheme::Gcs | Scheme::Azure)
    }
}

/// An object-store URL: the scheme, the bucket (container, or `host[:port]` for HTTP) and
/// the prefix of the array inside it (no leading or trailing `/`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct StoreUrl {
    scheme: Scheme,
    bucket: String,
    prefix: String,
}

impl std::fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.scheme.name(), self.bucket)?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

impl StoreUrl {
    /// Reads an object-store URL (see [`Location::parse`]).
    ///
    /// # Errors
    /// As [`Location::parse`], and [`Error::InvalidArgument`] for a local path.
    pub fn parse(text: &str) -> Result<StoreUrl> {
        match Location::parse(Path::new(text))? {
            Location::Remote(u) => Ok(u),
            Location::Local(_) => Err(Error::invalid(format!(
                "{}: not an object-store URL (s3://, gs://, az://, http://, https://)",
                redact(text)
            ))),
        }
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The bucket, container, or for HTTP the `host[:port]`.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The array's prefix inside the bucket, without leading or trailing `/` (empty for the
    /// bucket's root).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The URL as a path, for messages and for the `Path`s by which the rest of brickwork
    /// names stores: `s3://bucket/prefix`, never a credential.
    pub fn display_path(&self) -> PathBuf {
        PathBuf::from(self.to_string())
    }

    /// The URL of the prefix `prefix` in the same bucket.
    pub fn with_prefix(&self, prefix: &str) -> StoreUrl {
        StoreUrl {
            prefix: prefix.trim_matches('/').to_owned(),
            ..self.clone()
        }
    }

    /// The prefix's parent and last component (`a/b/c.zarr` gives `a/b` and `c.zarr`).
    pub fn split_name(&self) -> (&str, &str) {
        match self.prefix.rsplit_once('/') {
            Some((parent, name)) => (parent, name),
            None => ("", &self.prefix),
        }
    }
}

/// Where a store lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A directory on a local (or mounted) file system.
    Local(PathBuf),
    /// An object store or web server.
    Remote(StoreUrl),
}

/// The scheme of `text` when it begins like a URL (`name://`), lower-cased.
fn url_scheme(text: &str) -> Option<String> {
    let (scheme, _) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then(|| scheme.to_ascii_lowercase())
}

impl Location {
    /// Reads a store path: a URL when it begins with `scheme://`, else a local path.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the URL for a scheme brickwork does not open, a
    /// URL without a bucket, or a `file://` URL that is not absolute.
    pub fn parse(path: &Path) -> Result<Location> {
        let Some(text) = path.to_str() else {
            return Ok(Location::Local(path.to_path_buf()));
        };
        let Some(scheme) = url_scheme(text) else {
            return Ok(Location::Local(path.to_path_buf()));
        };
        let rest = &text[scheme.len() + 3..];
        let scheme = match scheme.as_str() {
            "file" => {
                return if rest.starts_with('/') {
                    Ok(Location::Local(PathBuf::from(rest)))
                } else {
                    Err(Error::invalid(format!(
                        "{}: a file:// URL names an absolute path (file:///data/a.zarr)",
                        redact(text)
                    )))
                };
            }
            "s3" | "s3a" => Scheme::S3,
            "gs" | "gcs" => Scheme::Gcs,
            "az" | "azure" | "abfs" | "abfss" => Scheme::Azure,
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => {
                return Err(Error::invalid(format!(
                    "{}: unsupported URL scheme {other:?}; brickwork opens s3://, gs://, az://, http://, https:// and file:// URLs and local paths",
                    redact(text)
                )));
            }
        };
        // Cut a query or fragment (a presigned URL's signature is a secret).
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (authority, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // `user:password@host`: the user information is a secret; it is not used.
        let bucket = authority.rsplit('@').next().unwrap_or_default();
        if bucket.is_empty() {
            return Err(Error::invalid(format!(
                "{}: the URL names no {}",
                redact(text),
                if matches!(scheme, Scheme::Http | Scheme::Https) {
                    "host"
                } else {
                    "bucket"
                }
            )));
        }
        Ok(Location::Remote(StoreUrl {
            scheme,
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        }))
    }

    /// The path by which messages name this store (the URL for a remote one).
    pub fn display_path(&self) -> PathBuf {
        match self {
            Location::Local(p) => p.clone(),
            Location::Remote(u) => u.display_path(),
        }
    }

    /// True for an object store or web server.
    pub fn is_remote(&self) -> bool {
        matches!(self, Location::Remote(_))
    }
}

/// True when `path` is a URL of an object store or web server (not a local path nor a
/// `file://` URL). Malformed URLs count as remote: opening them reports what is wrong.
pub fn is_remote(path: &Path) -> bool {
    !matches!(Location::parse(path), Ok(Location::Local(_)))
}

/// `text` without what may be secret in a URL: user information and the query.
fn redact(text: &str) -> String {
    let text = text.split(['?', '#']).next().unwrap_or_default();
    match text.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let host = authority.rsplit('@').next().unwrap_or_default();
            if path.is_empty() {
                format!("{scheme}://{host}")
            } else {
                format!("{scheme}://{host}/{path}")
            }
        }
        None => text.to_owned(),
    }
}

/// Options of object stores (dask's `storage_options`; CLI `--storage-option key=value`,
/// repeatable): they override what the cloud's standard environment variables say.
///
/// Keys are the `object_store` crate's configuration keys, with or without the cloud's
/// prefix: for S3 `access_key_id`, `secret_access_key`, `session_token`, `region`,
/// `endpoint`, `allow_http`, ...; for GCS `service_account` (a credentials file),
/// `service_account_key`, ...; for Azure `account_name`, `account_key`, `sas_token`,
/// `use_emulator`, `endpoint`, .... Besides these, brickwork reads:
///
/// - `anonymous=true`: send unsigned requests (public buckets), and look for no
///   credentials;
/// - `timeout`, `connect_timeout`: a request's and a connection's time limit (`30s` and
///   `5s` by default; `humantime` durations such as `500ms`, `2m`);
/// - `max_retries` (default 3) and `retry_timeout` (default `60s`): how often and how
///   long a failed request (a 5xx answer, throttling, a timeout or a dropped connection)
///   is tried again, with exponential backoff from 100 ms.
///
/// Environment variables read (by the cloud of the URL): `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_DEFAULT_REGION`,
/// `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP` and every other `AWS_*` key object_store knows;
/// `GOOGLE_APPLICATION_CREDENTIALS`, `GOOGLE_SERVICE_ACCOUNT` and the other `GOOGLE_*`;
/// `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`, `AZURE_STORAGE_SAS_TOKEN` and
/// the other `AZURE_*`.
///
/// A key no store of the URL's kind knows is an error naming it, but for web servers
/// (`http://`, `https://`), which take the client's options (timeouts, proxy) and ignore
/// the others, so that the options of a command reach all the stores it opens.
///
/// `Debug` shows the keys, never the values but for a few that cannot be secret (region,
/// endpoint, timeouts, flags).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct StorageOptions {
    options: BTreeMap<String, String>,
}

/// Keys whose values `Debug` may show.
const PUBLIC_KEYS: &[&str] = &[
    "anonymous",
    "timeout",
    "connect_timeout",
    "max_retries",
    "retry_timeout",
    "region",
    "aws_region",
    "default_region",
    "aws_default_region",
    "endpoint",
    "aws_endpoint",
    "aws_endpoint_url",
    "endpoint_url",
    "allow_http",
    "aws_allow_http",
    "skip_signature",
    "use_emulator",
    "azure_storage_use_emulator",
];

impl std::fmt::Debug for StorageOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (k, v) in &self.options {
            if PUBLIC_KEYS.contains(&k.as_str()) {
                map.entry(k, v);
            } else {
                map.entry(k, &"<redacted>");
            }
        }
        map.finish()
    }
}

impl StorageOptions {
    /// No options: the environment decides.
    pub fn new() -> StorageOptions {
        StorageOptions::default()
    }

    /// Sets option `key` (lower-cased) to `value`, replacing an earlier value.
    pub fn set(&mut self, key: impl AsRef<str>, value: impl Into<String>) -> &mut Self {
        self.options
            .insert(key.as_ref().trim().to_ascii_lowercase(), value.into());
        self
    }

    /// With option `key` set to `value`.
    pub fn with(mut self, key: impl AsRef<str>, value: impl Into<String>) -> Self {
        self.set(key, value);
        self
    }

    /// Sets an option from `key=value` (the CLI's `--storage-option`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when there is no `=` or the key is empty (the message
    /// does not repeat the text, which may hold a secret).
    pub fn parse_assignment(&mut self, text: &str) -> Result<&mut Self> {
        match text.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok(self.set(k, v)),
            _ => Err(Error::invalid(
                "a storage option is key=value (for example region=eu-west-1); this one has no key or no `=`",
            )),
        }
    }

    /// The value of option `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }

    /// The options, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.options.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// True when no option is set.
    pub fn is_empty(&self) -> bool {
        self.options.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(text: &str) -> StoreUrl {
        match Location::parse(Path::new(text)) {
            Ok(Location::Remote(u)) => u,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn urls_and_paths_are_told_apart() {
        let u = remote("s3://bucket/a/b.zarr/");
        assert_eq!(
            (u.scheme(), u.bucket(), u.prefix()),
            (Scheme::S3, "bucket", "a/b.zarr")
        );
        assert_eq!(u.to_string(), "s3://bucket/a/b.zarr");
        assert_eq!(u.split_name(), ("a", "b.zarr"));
        assert_eq!(remote("GS://b").prefix(), "");
        assert_eq!(remote("az://c/x").scheme(), Scheme::Azure);
        let h = remote("http://127.0.0.1:8000/data/x.zarr");
        assert_eq!((h.bucket(), h.prefix()), ("127.0.0.1:8000", "data/x.zarr"));
        for local in ["a.zarr", "/tmp/x", "./s3:/bucket", "s3:/x"] {
            assert_eq!(
                Location::parse(Path::new(local)).ok(),
                Some(Location::Local(PathBuf::from(local)))
            );
        }
        assert_eq!(
            Location::parse(Path::new("file:///tmp/a.zarr")).ok(),
            Some(Location::Local(PathBuf::from("/tmp/a.zarr")))
        );
        assert!(Location::parse(Path::new("file://rel/a")).is_err());
        assert!(Location::parse(Path::new("s3://")).is_err());
        let err = Location::parse(Path::new("ftp://u:pw@h/x?sig=SECRET"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("ftp://h/x") && !err.contains("pw") && !err.contains("SECRET"));
    }

    #[test]
    fn secrets_in_urls_and_options_are_never_shown() {
        let u = remote("https://user:hunter2@host/x.zarr?X-Amz-Signature=abc");
        assert_eq!(u.to_string(), "https://host/x.zarr");
        assert!(!format!("{u:?}").contains("hunter2"));
        let mut o = StorageOptions::new();
        o.parse_assignment("secret_access_key=hunter2").unwrap();
        o.parse_assignment("Region=eu-west-1").unwrap();
        let shown = format!("{o:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("eu-west-1") && shown.contains("secret_access_key"));
        let bad = o
            .parse_assignment("token:hunter2")
            .err()
            .map(|e| e.to_string());
        assert!(bad.is_some_and(|e| !e.contains("hunter2")));
    }
}
