//! One writer per array: the advisory lock every write of a Zarr array holds.
//!
//! Two processes writing one path would interleave their chunks and one of them would mark
//! the mixture complete (issue 25). So every write ([`super::ZarrWriter`] created, resumed or
//! overwriting, [`super::ZarrRegion`]) first takes an exclusive `flock` on a lock file
//! *beside* the array, `.<name>.brickwork-lock` in the same directory, and keeps it until it
//! is finished or dropped. Beside and not inside: `--overwrite` deletes the array's
//! directory, and a lock file inside it would go with it while held, letting a third writer
//! lock a new file of the same name. The lock file holds who has it (pid, host, start time,
//! command) so that a refused writer can say who it waits for.
//!
//! The kernel releases a `flock` when its process ends however it ends, so a lock file left
//! by a killed process is not held: the next writer takes it over without asking. The
//! holder removes the file when it is done, while still holding the lock; a writer that
//! opened the file before that and locks it afterwards finds the path no longer names the
//! file it locked and tries again.
//!
//! Locks are per process: a process holding the lock of a path may take it again (a
//! resumed write that turns into a two-pass rechunk reopens its target), and the handles
//! share one lock, released with the last. Within a process, ordering writes is the
//! caller's business.
//!
//! On an object store there is no `flock`; the lock is an object beside the array,
//! `<parent>/.<name>.brickwork-lock`, created with a conditional PUT that succeeds only
//! when no such object exists (`If-None-Match: *` on S3, a generation-0 precondition on
//! GCS, `If-None-Match` on Azure): of two writers, exactly one creates it. It holds the
//! same record as the lock file plus `renewed` (seconds since 1970), which the holder
//! rewrites every [`LEASE_RENEW`] (conditionally on the version it wrote last). Since a
//! killed process cannot remove it, a lock object not renewed for [`LEASE`], or one whose
//! holder was a process on this host that no longer runs, is stale: the next writer
//! replaces it, again conditionally on the version it read, so that of two writers taking
//! over one stale lock only one succeeds. The holder deletes it when done, after checking
//! with one more conditional write that it is still its own. A store that
//! ignores the conditions (some S3-compatible servers) degrades this to a best effort; the
//! write id checked when a write finishes catches the rest, as on file systems.
//!
//! Limits: `flock` is advisory (a program that does not take it is not stopped) and works
//! across machines only where the file system implements it (NFSv4 and Lustre do, with
//! the right mount options; some NFS setups lock only locally). The write id checked when a
//! write finishes (see `ZarrWriter::finish`) catches what the lock could not prevent.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use zarrs::storage::Bytes;

use super::location::{StorageOptions, StoreUrl};
use super::remote::{self, ObjectVersion, RemoteStore};
use super::temp::{self, Owner};
use crate::error::{Error, Result};

/// The lock of one write target, held while this value (or a clone) lives.
#[derive(Debug)]
pub(crate) struct WriteLock {
    /// The lock file (for an object store, the lock object's URL: the key of [`held`]).
    file_path: PathBuf,
    /// The locked file, or the lock object and its renewal.
    hold: Hold,
}

/// What holds a lock.
#[derive(Debug)]
enum Hold {
    /// An exclusive `flock` on the open lock file.
    File(#[allow(dead_code)] File),
    /// A lock object on an object store, renewed by a thread until dropped.
    Object(ObjectLock),
}

/// How long a lock object stays valid without being renewed.
pub(crate) const LEASE: std::time::Duration = std::time::Duration::from_secs(120);

/// How often the holder of a lock object renews it.
pub(crate) const LEASE_RENEW: std::time::Duration = std::time::Duration::from_secs(30);

/// The locks this process holds, by lock file path.
fn held() -> &'static Mutex<HashMap<PathBuf, Weak<WriteLock>>> {
    static HELD: OnceLock<Mutex<HashMap<PathBuf, Weak<WriteLock>>>> = OnceLock::new();
    HELD.get_or_init(Default::default)
}

/// The lock file of the array at `target`: `.<name>.brickwork-lock` beside it, in its
/// parent directory made absolute (created if missing).
pub(crate) fn lock_path(target: &Path) -> Result<PathBuf> {
    let name = target.file_name().ok_or_else(|| {
        Error::invalid(format!(
            "{}: a write target must name a directory (not end in `..` or `/`)",
            target.display()
        ))
    })?;
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|source| Error::Io {
        path: parent.clone(),
        source,
    })?;
    let parent = parent.canonicalize().map_err(|source| Error::Io {
        path: parent.clone(),
        source,
    })?;
    let mut file = std::ffi::OsString::from(".");
    file.push(name);
    file.push(LOCK_SUFFIX);
    Ok(parent.join(file))
}

/// The end of a lock file's name.
pub(crate) const LOCK_SUFFIX: &str = ".brickwork-lock";

impl WriteLock {
    /// Takes the write lock of the array at `target`, or shares the one this process
    /// already holds.
    ///
    /// # Errors
    /// [`Error::Locked`] naming the target and the holder when another process holds it;
    /// [`Error::Io`] when the lock file cannot be created.
    pub(crate) fn acquire(target: &Path) -> Result<Arc<WriteLock>> {
        let file_path = lock_path(target)?;
        let mut held = held().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lock) = held.get(&file_path).and_then(Weak::upgrade) {
            return Ok(lock);
        }
        let lock = Arc::new(Self::lock_file(target, &file_path)?);
        held.insert(file_path, Arc::downgrade(&lock));
        Ok(lock)
    }

    /// Locks the lock file, retrying while its holder removes it under us.
    fn lock_file(target: &Path, file_path: &Path) -> Result<WriteLock> {
        let io = |source| Error::Io {
            path: file_path.to_path_buf(),
            source,
        };
        for _ in 0..20 {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(file_path)
                .map_err(io)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    return Err(Error::Locked {
                        path: target.to_path_buf(),
                        holder: holder_of(file, file_path),
                    });
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
            if !still_named(&file, file_path) {
                continue; // its holder removed it between our open and our lock
            }
            let mut file = file;
            record_holder(&mut file).map_err(io)?;
            return Ok(WriteLock {
                file_path: file_path.to_path_buf(),
                hold: Hold::File(file),
            });
        }
        Err(Error::Locked {
            path: target.to_path_buf(),
            holder: "another process that keeps replacing the lock file".into(),
        })
    }
}

/// Seconds since 1970.
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Who holds the lock: pid, host, since when, the process's start time, the command.
fn holder_record() -> serde_json::Value {
    let me = Owner::me();
    let command: Vec<String> = std::env::args().collect();
    serde_json::json!({
        "pid": me.pid,
        "host": temp::host_name(),
        "since": now_secs(),
        "start_ticks": me.start,
        "command": command.join(" "),
    })
}

/// Writes who holds the lock into the lock file.
fn record_holder(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(holder_record().to_string().as_bytes())
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        let mut held = held().lock().unwrap_or_else(|e| e.into_inner());
        if held
            .get(&self.file_path)
            .is_some_and(|w| w.strong_count() == 0)
        {
            held.remove(&self.file_path);
        }
        match &mut self.hold {
            // Removed while still locked (the lock goes with the descriptor, just after).
            Hold::File(_) => {
                let _ = std::fs::remove_file(&self.file_path);
            }
            Hold::Object(lock) => lock.release(),
        }
    }
}

/// A held lock object (see the module doc) and the thread that renews it.
#[derive(Debug)]
struct ObjectLock {
    state: Arc<ObjectLockState>,
    renewer: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug)]
struct ObjectLockState {
    store: RemoteStore,
    key: String,
    /// The version last written, and whether to stop renewing.
    version: Mutex<(Option<ObjectVersion>, bool)>,
    wake: std::sync::Condvar,
}

/// The lock object's content: the holder and when it last renewed.
fn lock_record(since: &serde_json::Value) -> Bytes {
    let mut record = since.clone();
    record["renewed"] = now_secs().into();
    record["lease_seconds"] = LEASE.as_secs().into();
    Bytes::from(record.to_string())
}

impl ObjectLock {
    /// Starts renewing the lock object `key` of `store`, written at `version`.
    fn hold(
        store: RemoteStore,
        key: String,
        record: serde_json::Value,
        version: ObjectVersion,
    ) -> Self {
        let state = Arc::new(ObjectLockState {
            store,
            key,
            version: Mutex::new((Some(version), false)),
            wake: std::sync::Condvar::new(),
        });
        let renewing = state.clone();
        let renewer = std::thread::Builder::new()
            .name("brickwork-lock".into())
            .spawn(move || renewing.renew_until_stopped(&record))
            .ok();
        ObjectLock { state, renewer }
    }

    /// Stops renewing and deletes the lock object if it is still this process's: first it
    /// is rewritten as released, conditionally on the version this process wrote last, so
    /// a lock another writer took over (after this one missed its renewals and went stale)
    /// is left to that writer; then it is deleted. object_store has no conditional delete,
    /// so a writer that takes the released lock between those two requests loses it to
    /// the delete; the write id checked when a write finishes catches that, as any lock
    /// failure.
    fn release(&mut self) {
        let version = {
            let mut v = self.state.version.lock().unwrap_or_else(|e| e.into_inner());
            v.1 = true;
            v.0.clone()
        };
        self.state.wake.notify_all();
        if let Some(t) = self.renewer.take() {
            let _ = t.join();
        }
        let Some(version) = version else {
            return; // taken over by another writer: theirs now
        };
        let released = Bytes::from(r#"{"released":true,"renewed":0}"#);
        let store = &self.state.store;
        if let Ok(Some(_)) = store.put_if_version(&self.state.key, released, &version) {
            let _ = store.delete(&self.state.key);
        }
    }
}

impl ObjectLockState {
    fn renew_until_stopped(&self, record: &serde_json::Value) {
        let mut guard = self.version.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            // Stopped before this thread first waited (a short write): no wait at all,
            // or the release would wait for a whole renewal period.
            if guard.1 {
                return;
            }
            let (g, _) = self
                .wake
                .wait_timeout(guard, LEASE_RENEW)
                .unwrap_or_else(|e| e.into_inner());
            guard = g;
            if guard.1 {
                return;
            }
            let Some(version) = guard.0.clone() else {
                return; // lost: another writer took it over
            };
            // A failed renewal is tried again at the next one.
            if let Ok(v) = self
                .store
                .put_if_version(&self.key, lock_record(record), &version)
            {
                guard.0 = v;
            }
        }
    }
}

/// The key of the lock object of the array at `url` (beside it) and the URL of its parent
/// prefix.
fn lock_object(url: &StoreUrl) -> Result<(StoreUrl, String)> {
    let (parent, name) = url.split_name();
    if name.is_empty() {
        return Err(Error::invalid(format!(
            "{url}: brickwork writes an array under a prefix of the bucket (for example {url}/name.zarr), not at its root"
        )));
    }
    Ok((url.with_prefix(parent), format!(".{name}{LOCK_SUFFIX}")))
}

/// True when the lock record `info` is stale: not renewed for [`LEASE`], or held by a
/// process of this host that no longer runs.
fn is_stale(info: &serde_json::Value) -> bool {
    let renewed = info["renewed"].as_u64().unwrap_or(0);
    if now_secs().saturating_sub(renewed) > LEASE.as_secs() {
        return true;
    }
    let on_this_host = info["host"].as_str() == Some(temp::host_name().as_str());
    let pid = info["pid"].as_u64().and_then(|p| u32::try_from(p).ok());
    on_this_host && pid.is_some_and(|pid| temp::process_start(pid) != info["start_ticks"].as_u64())
}

impl WriteLock {
    /// Takes the write lock of the array at `url` (a lock object beside it, see the module
    /// doc), or shares the one this process already holds.
    ///
    /// # Errors
    /// [`Error::Locked`] naming the URL and the holder when another process holds it;
    /// [`Error::Store`] when the lock object cannot be read or written.
    pub(crate) fn acquire_remote(
        url: &StoreUrl,
        options: &StorageOptions,
    ) -> Result<Arc<WriteLock>> {
        let (parent, key) = lock_object(url)?;
        let file_path = parent.display_path().join(&key);
        let mut held = held().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lock) = held.get(&file_path).and_then(Weak::upgrade) {
            return Ok(lock);
        }
        let store = remote::open(&parent, options)?;
        let fail = |e: zarrs::storage::StorageError| Error::Store {
            path: url.display_path(),
            key: Some(key.clone()),
            detail: "cannot take the write lock".into(),
            source: Some(Box::new(e)),
        };
        let record = holder_record();
        let mut version = store
            .put_if_absent(&key, lock_record(&record))
            .map_err(fail)?;
        if version.is_none() {
            // Someone's lock is there: take it over if it is stale.
            if let Some((bytes, there)) = store.get_versioned(&key).map_err(fail)? {
                let info: serde_json::Value =
                    serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
                if !is_stale(&info) {
                    return Err(Error::Locked {
                        path: url.display_path(),
                        holder: describe_holder(&info, &file_path),
                    });
                }
                version = store
                    .put_if_version(&key, lock_record(&record), &there)
                    .map_err(fail)?;
            } else {
                // Released between our two requests.
                version = store
                    .put_if_absent(&key, lock_record(&record))
                    .map_err(fail)?;
            }
        }
        let Some(version) = version else {
            return Err(Error::Locked {
                path: url.display_path(),
                holder: "another process that took the lock at the same moment".into(),
            });
        };
        let lock = Arc::new(WriteLock {
            file_path: file_path.clone(),
            hold: Hold::Object(ObjectLock::hold(store, key, record, version)),
        });
        held.insert(file_path, Arc::downgrade(&lock));
        Ok(lock)
    }
}

/// True when `path` still names the file `file` is open on.
fn still_named(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        path.exists()
    }
}

/// Who holds the lock, from the lock file: "pid 123 on host h since 2026-01-02 03:04:05
/// UTC (brickwork eval ...)".
fn holder_of(mut file: File, file_path: &Path) -> String {
    let mut text = String::new();
    for _ in 0..10 {
        text.clear();
        if file.read_to_string(&mut text).is_ok() && !text.is_empty() {
            break;
        }
        // Locked a moment ago, the holder has not written its name yet.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let _ = file.rewind();
    }
    let info = serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default();
    describe_holder(&info, file_path)
}

/// A lock record in words (see [`holder_of`]).
fn describe_holder(info: &serde_json::Value, file_path: &Path) -> String {
    if !info.is_object() {
        return format!("a process not recorded in {}", file_path.display());
    }
    let since = info["since"].as_u64().map(fmt_utc).unwrap_or_default();
    format!(
        "pid {} on {} since {since} ({})",
        info["pid"],
        info["host"].as_str().unwrap_or("?"),
        info["command"].as_str().unwrap_or("?"),
    )
}

/// Who holds the write lock of the array at `target`, from its lock file, when that
/// process still runs (as far as can be told from here: on another host it counts as
/// running); `None` when there is no lock file or its process has ended. Takes no lock.
pub(crate) fn live_holder(target: &Path) -> Option<String> {
    let file_path = lock_path(target).ok()?;
    let text = std::fs::read_to_string(&file_path).ok()?;
    let info: serde_json::Value = serde_json::from_str(&text).ok()?;
    let pid = u32::try_from(info["pid"].as_u64()?).ok()?;
    let on_this_host = info["host"].as_str() == Some(temp::host_name().as_str());
    if on_this_host && temp::process_start(pid) != info["start_ticks"].as_u64() {
        return None;
    }
    let file = File::open(&file_path).ok()?;
    Some(holder_of(file, &file_path))
}

/// Seconds since 1970 as `2026-01-02 03:04:05 UTC` (Howard Hinnant's civil_from_days).
fn fmt_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Removes the lock files in `dir` that no process holds (left by killed writers), and
/// returns them.
///
/// # Errors
/// [`Error::Io`] naming the directory when it cannot be listed.
pub fn remove_stale_locks(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let is_lock = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') && n.ends_with(LOCK_SUFFIX));
        if !is_lock {
            continue;
        }
        let Ok(file) = OpenOptions::new().read(true).write(true).open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() && still_named(&file, &path) {
            let _ = std::fs::remove_file(&path);
            removed.push(path);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_in_utc() {
        assert_eq!(fmt_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(fmt_utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn a_held_lock_is_shared_in_process_and_removed_with_the_last_handle() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::internal(e.to_string()))?;
        let target = dir.path().join("a.zarr");
        let a = WriteLock::acquire(&target)?;
        let b = WriteLock::acquire(&target)?;
        assert!(Arc::ptr_eq(&a, &b));
        let file = lock_path(&target)?;
        assert!(std::fs::read_to_string(&file).is_ok_and(|t| t.contains("\"pid\"")));
        // Another open file description is another holder, as another process would be.
        let other = File::open(&file).map_err(|e| Error::internal(e.to_string()))?;
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        drop((a, b));
        assert!(!file.exists());
        Ok(())
    }
}
