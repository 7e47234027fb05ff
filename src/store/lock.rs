//! One writer per array: the advisory lock every write of a Zarr array holds.
//!
//! Two processes writing one path would interleave their chunks and one of them would mark
//! the mixture complete (issue 25). So every write ([`super::ZarrSink`] created, resumed or
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
//! Limits: `flock` is advisory (a program that does not take it is not stopped) and works
//! across machines only where the file system implements it (NFSv4 and Lustre do, with
//! the right mount options; some NFS setups lock only locally). The write id checked when a
//! write finishes (see `ZarrSink::finish`) catches what the lock could not prevent.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use super::temp::{self, Owner};
use crate::error::{Error, Result};

/// The lock of one write target, held while this value (or a clone) lives.
#[derive(Debug)]
pub(crate) struct WriteLock {
    /// The lock file.
    file_path: PathBuf,
    file: File,
}

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
            let mut lock = WriteLock {
                file_path: file_path.to_path_buf(),
                file,
            };
            lock.record_holder().map_err(io)?;
            return Ok(lock);
        }
        Err(Error::Locked {
            path: target.to_path_buf(),
            holder: "another process that keeps replacing the lock file".into(),
        })
    }

    /// Writes who holds the lock into the lock file.
    fn record_holder(&mut self) -> std::io::Result<()> {
        let me = Owner::me();
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let command: Vec<String> = std::env::args().collect();
        let info = serde_json::json!({
            "pid": me.pid,
            "host": temp::host_name(),
            "since": since,
            "start_ticks": me.start,
            "command": command.join(" "),
        });
        self.file.set_len(0)?;
        self.file.rewind()?;
        self.file.write_all(info.to_string().as_bytes())
    }
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
        // Removed while still locked (the lock goes with the descriptor, just after).
        let _ = std::fs::remove_file(&self.file_path);
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
    let Ok(info) = serde_json::from_str::<serde_json::Value>(&text) else {
        return format!("a process not recorded in {}", file_path.display());
    };
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
