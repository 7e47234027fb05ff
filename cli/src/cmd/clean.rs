//! `brickwork clean PATH`: removes what brickwork processes that were killed (SIGKILL, the
//! OOM killer, a power loss) left behind: temporaries named for an owner that no longer
//! runs (`store::temp`) and lock files nobody holds (`store/lock.rs`). Runs of other users
//! and of processes still running are never touched, so it is safe at any time. Write
//! commands do the same for their own target and the temporary directory before they
//! start ([`sweep`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use brickwork::store::{remove_stale_locks, temp};

use crate::cli::CleanArgs;

pub(crate) fn run(args: &CleanArgs) -> Result<()> {
    let path = &args.path;
    if !path.exists() {
        anyhow::bail!("{}: not found", path.display());
    }
    let mut removed = 0;
    if path.is_dir() {
        removed += clean_dir(path, None)?;
    }
    removed += clean_dir(&parent(path), Some(path))?;
    let mut tmp_dirs = vec![std::env::temp_dir()];
    tmp_dirs.extend(args.spill_dir.iter().cloned());
    tmp_dirs.extend(args.tmp_dir.iter().cloned());
    for dir in tmp_dirs {
        removed += clean_dir(&dir, None)?;
    }
    if removed == 0 {
        println!("nothing to remove: no temporaries of ended brickwork processes");
    }
    Ok(())
}

/// The directory a path is in (`.` for a bare name).
fn parent(path: &Path) -> PathBuf {
    if brickwork::store::is_remote(path) {
        // What a write to an object store leaves is in the temporary directory.
        return std::env::temp_dir();
    }
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Removes the orphans in `dir` (for `target` only, when given) and the stale lock files,
/// printing each; returns how many.
fn clean_dir(dir: &Path, target: Option<&Path>) -> Result<usize> {
    let orphans =
        temp::remove_orphans(dir, target).with_context(|| format!("cleaning {}", dir.display()))?;
    for t in &orphans {
        println!("{}", describe(t));
    }
    let locks = remove_stale_locks(dir).with_context(|| format!("cleaning {}", dir.display()))?;
    for l in &locks {
        println!("removed {} (a lock file no process holds)", l.display());
    }
    Ok(orphans.len() + locks.len())
}

/// "removed X (the rechunk temporary of out.zarr, left by pid 123, which has ended)".
fn describe(t: &temp::Temporary) -> String {
    format!(
        "removed {} (a {} temporary for {}, left by pid {}, which has ended)",
        t.path.display(),
        t.kind,
        t.target,
        t.owner.pid
    )
}

/// The temporary directories a write command was given.
pub(crate) struct Dirs<'a> {
    /// --spill-dir.
    pub(crate) spill: Option<&'a Path>,
    /// --tmp-dir.
    pub(crate) tmp: Option<&'a Path>,
}

/// Before a write to `target`: removes the temporaries that ended processes left for it
/// beside it (and in --tmp-dir), and the spill stores and realigned copies they left in
/// --spill-dir, --tmp-dir or the temporary directory, saying so on stderr. With
/// `keep_rechunk`, an intermediate store of a rechunk left for `target` stays: a resumed
/// write reuses it when it is valid (the library removes it otherwise, with a message).
/// Failures are reported, not fatal: the write does not depend on them.
pub(crate) fn sweep(target: Option<&Path>, dirs: &Dirs<'_>, keep_rechunk: bool) {
    let mut places: Vec<(PathBuf, Option<&Path>)> = Vec::new();
    if let Some(t) = target {
        places.push((parent(t), Some(t)));
        if let Some(tmp) = dirs.tmp {
            places.push((tmp.to_path_buf(), Some(t)));
        }
    }
    for dir in [dirs.spill, dirs.tmp] {
        places.push((dir.map_or_else(std::env::temp_dir, Path::to_path_buf), None));
    }
    places.dedup();
    for (dir, target) in places {
        if !dir.is_dir() {
            continue; // a missing or wrong --spill-dir is the command's own error
        }
        let found = match temp::orphans(&dir, target) {
            Ok(found) => found,
            Err(e) => {
                eprintln!("brickwork: warning: cleaning {}: {e:#}", dir.display());
                continue;
            }
        };
        for t in found {
            // A rechunk's intermediate store is only removed for its own target (in a
            // shared --tmp-dir it may be another output's, to be resumed).
            if t.kind == "rechunk" && (keep_rechunk || target.is_none()) {
                continue;
            }
            match temp::remove(&t) {
                Ok(()) => eprintln!("brickwork: {}", describe(&t)),
                Err(e) => eprintln!("brickwork: warning: cleaning {}: {e:#}", dir.display()),
            }
        }
    }
}

/// After a write to `target` succeeded: removes what ended processes left for it beside it
/// and in --tmp-dir (a rechunk's intermediate store that this write did not need).
pub(crate) fn sweep_target(target: &Path, dirs: &Dirs<'_>) {
    let mut places = vec![parent(target)];
    places.extend(dirs.tmp.map(Path::to_path_buf));
    for dir in places {
        match temp::remove_orphans(&dir, Some(target)) {
            Ok(removed) => {
                for t in removed {
                    eprintln!("brickwork: {}", describe(&t));
                }
            }
            Err(e) => eprintln!("brickwork: warning: cleaning {}: {e:#}", dir.display()),
        }
    }
}
