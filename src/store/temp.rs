//! Names of temporary files and directories that say who made them, and the removal of
//! those whose maker is gone.
//!
//! A process killed by SIGKILL or the OOM killer runs no destructor, so whatever temporary
//! data it had (a rechunk's intermediate store beside the output, a realigned copy or a
//! spill store in the temporary directory, an export's `.tmp` file) stays. To remove it
//! later without touching the temporaries of a run still going, every temporary's name
//! carries its owner: `[.]brickwork-<kind>-<pid>-<start>-<host>-<target>-<random>`, where
//! `target` is the target's file name and a hash of its whole path (two outputs of one
//! file name in different directories share a `--tmp-dir` without taking each other's
//! temporaries), `start` is the process's start time (in clock ticks since boot, from `/proc`, so a
//! recycled pid is not mistaken for the owner) and `host` a hash of the host name (a
//! directory shared between machines, or between containers with their own pid numbers,
//! holds temporaries whose owner cannot be checked from here; those are left alone).
//! [`remove_orphans`] removes the ones whose owner no longer runs; the CLI calls it before a
//! write (for that target) and in `brickwork clean`.
//!
//! Everything here is best effort on what it cannot check: an owner on another host, or on
//! a system without `/proc`, counts as alive.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The kinds of temporaries brickwork makes (the `<kind>` of their names).
pub const KINDS: &[&str] = &["rechunk", "region", "realign", "spill", "export", "persist"];

/// A process, as temporaries and write locks name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The process id.
    pub pid: u32,
    /// The process's start time in clock ticks since boot (0 where unknown).
    pub start: u64,
    /// A hash of the host name (16 hex digits).
    pub host: String,
}

impl Owner {
    /// This process.
    pub fn me() -> Owner {
        static ME: std::sync::OnceLock<Owner> = std::sync::OnceLock::new();
        ME.get_or_init(|| {
            let pid = std::process::id();
            Owner {
                pid,
                start: process_start(pid).unwrap_or(0),
                host: host_hash(&host_name()),
            }
        })
        .clone()
    }

    /// False when the owner is known to have ended: same host, and no process with its pid
    /// and start time. An owner on another host, or that cannot be checked, is alive.
    pub fn is_alive(&self) -> bool {
        if self.host != Owner::me().host || !Path::new("/proc/self/stat").exists() {
            return true;
        }
        process_start(self.pid) == Some(self.start)
    }
}

/// The host name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`, else `unknown`).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// FNV-1a of the host name: the names carry no characters a host name may bring.
fn host_hash(host: &str) -> String {
    format!("{:016x}", fnv1a(host.as_bytes()))
}

/// The 64-bit FNV-1a hash.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The `<target>` part of a temporary's name: the target's file name (only characters that
/// need no quoting) and 8 hex digits of a hash of its absolute path (a URL as it is).
fn target_tag(target: &Path) -> (String, String) {
    let name = target
        .file_name()
        .map(sanitize)
        .unwrap_or_else(|| "out".into());
    let text = target.to_string_lossy();
    let whole = if text.contains("://") {
        target.to_path_buf()
    } else {
        std::path::absolute(target).unwrap_or_else(|_| target.to_path_buf())
    };
    let hash = fnv1a(whole.as_os_str().as_encoded_bytes());
    (name, format!("{:08x}", hash >> 32))
}

/// The start time of process `pid` in clock ticks since boot (field 22 of
/// `/proc/<pid>/stat`); `None` when there is no such process (or no `/proc`).
pub fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces and parentheses.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// The prefix of a temporary of `kind` for `target` made by this process; `hidden` puts a
/// dot first (temporaries beside the user's files). The caller (or `tempfile`) appends a
/// unique suffix.
pub fn prefix(kind: &str, target: &Path, hidden: bool) -> String {
    let me = Owner::me();
    let (name, hash) = target_tag(target);
    format!(
        "{}brickwork-{kind}-{}-{}-{}-{name}.{hash}-",
        if hidden { "." } else { "" },
        me.pid,
        me.start,
        me.host
    )
}

/// A file name with only characters that need no quoting in a shell.
fn sanitize(name: &OsStr) -> String {
    name.to_string_lossy()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A temporary found by [`remove_orphans`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Temporary {
    /// Its path.
    pub path: PathBuf,
    /// What it is (one of [`KINDS`]).
    pub kind: String,
    /// Who made it.
    pub owner: Owner,
    /// The file name of the target it was made for.
    pub target: String,
    /// The hash of the target's whole path (8 hex digits; `None` in names made before it
    /// was part of them).
    pub target_hash: Option<String>,
}

/// Reads the owner out of a temporary's name; `None` for names brickwork did not make.
pub fn parse(path: &Path) -> Option<Temporary> {
    let name = path.file_name()?.to_str()?;
    let rest = name.strip_prefix('.').unwrap_or(name);
    let rest = rest.strip_prefix("brickwork-")?;
    let (kind, rest) = rest.split_once('-')?;
    if !KINDS.contains(&kind) {
        return None;
    }
    let mut parts = rest.splitn(4, '-');
    let pid = parts.next()?.parse().ok()?;
    let start = parts.next()?.parse().ok()?;
    let host = parts.next()?;
    if host.len() != 16 || !host.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let (tag, _unique) = parts.next()?.rsplit_once('-')?;
    let (target, target_hash) = match tag.rsplit_once('.') {
        Some((name, hash)) if hash.len() == 8 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (name, Some(hash.to_owned()))
        }
        _ => (tag, None),
    };
    Some(Temporary {
        path: path.to_path_buf(),
        kind: kind.to_owned(),
        owner: Owner {
            pid,
            start,
            host: host.to_owned(),
        },
        target: target.to_owned(),
        target_hash,
    })
}

/// The temporaries directly in `dir` whose owner has ended (for `target` only, when given:
/// those made for that target, told by its file name and the hash of its path), left where
/// they are. A missing `dir` holds
/// none.
///
/// # Errors
/// [`Error::Io`] naming the directory when it cannot be listed.
pub fn orphans(dir: &Path, target: Option<&Path>) -> Result<Vec<Temporary>> {
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
    let target = target.map(target_tag);
    let ours = |t: &Temporary| {
        target.as_ref().is_none_or(|(name, hash)| {
            *name == t.target && t.target_hash.as_ref().is_none_or(|h| h == hash)
        })
    };
    let mut found: Vec<Temporary> = entries
        .flatten()
        .filter_map(|entry| parse(&entry.path()))
        .filter(|t| ours(t) && !t.owner.is_alive())
        .collect();
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// Removes the temporaries directly in `dir` whose owner has ended (see [`orphans`]), and
/// returns them.
///
/// # Errors
/// [`Error::Io`] naming the directory or the temporary that cannot be listed or removed.
pub fn remove_orphans(dir: &Path, target: Option<&Path>) -> Result<Vec<Temporary>> {
    let found = orphans(dir, target)?;
    for t in &found {
        remove(t)?;
    }
    Ok(found)
}

/// Removes a temporary (found by [`orphans`]); one already gone is fine.
///
/// # Errors
/// [`Error::Io`] naming it when it cannot be removed.
pub fn remove(t: &Temporary) -> Result<()> {
    remove_path(&t.path)
}

/// Removes a file or a directory tree; one already gone is fine.
pub(crate) fn remove_path(path: &Path) -> Result<()> {
    let result = if path.is_dir() && !path.is_symlink() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_their_owner() {
        let p = prefix("rechunk", Path::new("/x/out put.zarr"), true);
        let t = parse(Path::new(&format!("{p}Ab12cd"))).expect("parses");
        assert_eq!(t.kind, "rechunk");
        assert_eq!(t.owner, Owner::me());
        assert_eq!(t.target, "out_put.zarr");
        assert_eq!(
            t.target_hash,
            Some(target_tag(Path::new("/x/out put.zarr")).1)
        );
        assert_ne!(
            t.target_hash,
            Some(target_tag(Path::new("/y/out put.zarr")).1)
        );
        assert!(t.owner.is_alive());
        assert!(parse(Path::new("brickwork-other-1-2-3-x-y")).is_none());
        assert!(parse(Path::new("notes.txt")).is_none());
    }

    #[test]
    fn orphans_of_ended_processes_are_removed() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::internal(e.to_string()))?;
        let me = Owner::me();
        let dead = format!(
            "brickwork-spill-{}-{}-{}-a.zarr-xyz",
            u32::MAX - 1,
            me.start,
            me.host
        );
        let mine = format!("{}xyz", prefix("spill", Path::new("a.zarr"), false));
        let other_host = format!(
            "brickwork-spill-{}-1-0123456789abcdef-a.zarr-xyz",
            u32::MAX - 1
        );
        for n in [&dead, &mine, &other_host] {
            std::fs::create_dir(dir.path().join(n)).map_err(|e| Error::internal(e.to_string()))?;
        }
        let removed = remove_orphans(dir.path(), None)?;
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].path, dir.path().join(&dead));
        assert!(dir.path().join(&mine).exists() && dir.path().join(&other_host).exists());
        Ok(())
    }

    #[test]
    fn outputs_of_one_file_name_in_two_directories_keep_their_own_temporaries() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::internal(e.to_string()))?;
        let me = Owner::me();
        let dead = |target: &str| {
            let (name, hash) = target_tag(Path::new(target));
            format!(
                "brickwork-rechunk-{}-{}-{}-{name}.{hash}-xyz",
                u32::MAX - 1,
                me.start,
                me.host
            )
        };
        let (one, two) = (dead("/d1/out.zarr"), dead("/d2/out.zarr"));
        // A name made before names carried the path's hash: taken for any out.zarr.
        let old = format!(
            "brickwork-rechunk-{}-{}-{}-out.zarr-xyz",
            u32::MAX - 1,
            me.start,
            me.host
        );
        for n in [&one, &two, &old] {
            std::fs::create_dir(dir.path().join(n)).map_err(|e| Error::internal(e.to_string()))?;
        }
        let found: Vec<PathBuf> = orphans(dir.path(), Some(Path::new("/d1/out.zarr")))?
            .into_iter()
            .map(|t| t.path)
            .collect();
        let mut expected = vec![dir.path().join(&one), dir.path().join(&old)];
        expected.sort();
        assert_eq!(found, expected);
        assert_eq!(orphans(dir.path(), None)?.len(), 3);
        Ok(())
    }
}
