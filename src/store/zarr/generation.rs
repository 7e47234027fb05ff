//! Which generation of an array a reader reads.
//!
//! `--overwrite` deletes an array and writes a new one at the same path. A computation that
//! was reading the old one would otherwise go on reading chunks of whichever array is there
//! (or the fill value where none is yet) and return a mixture with no error (issue 25). A
//! [`super::ZarrSource`] therefore remembers, when it opens an array, which generation it
//! is: the write id brickwork stores in the `brickwork` attribute when it creates an array,
//! and the identity (device, inode, size, modification time) of the metadata file that
//! holds it (`zarr.json`; for Zarr v2, `.zattrs`, else `.zarray`). After every read it
//! `stat`s that file again; only when the identity changed does it read the file, and the
//! read is fine if the write id is the same (the writer marking its own array complete).
//! Anything else, the file gone or another write id or none, is
//! [`Error::SourceChanged`](crate::Error::SourceChanged).
//!
//! Why after each read is enough: an overwrite removes the metadata before any chunk, so
//! any read that could have seen a removed or new chunk is followed by a check that sees
//! the metadata gone or replaced. So the reader is the side that fails when `--overwrite`
//! hits an array being read; the writer does not know about readers (they take no lock).
//!
//! A region write ([`super::ZarrRegion`]) rewrites chunks in place, so it makes a new
//! generation too: before its first chunk it records a new region-write id, marked
//! unfinished, in the `brickwork` attribute (a new metadata file, renamed into place), and
//! marks it finished after its last chunk. A reader that opened the array before sees the
//! id change at its next check; one that opens it while the region write runs (or after
//! one was interrupted) is refused at open ([`Error::RegionWriteUnfinished`]) unless it
//! allows incomplete arrays, and then fails at its first check after the write finishes.
//!
//! On an object store the check after every read would be a request per read (a HEAD of
//! the metadata), which would double a read's requests; there the generation is the one
//! seen when the array was opened (its write id and region write, or for arrays without a
//! write id a hash of its metadata document), not checked again while reading. A reader of
//! an object store therefore does not see an overwrite that happens while it reads; a
//! resumed two-pass write still sees a changed source, as its generation differs.
//!
//! Limits: for arrays without a write id (not written by brickwork) a replacement is seen
//! by the metadata file's identity only; a writer that rewrites chunks in place without
//! touching the metadata (zarr-python writing into an existing array) is not a new
//! generation and is not detected.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::attribute::{RegionWrite, region_write_of, write_id_of};
use crate::error::{Error, Result};

/// What identifies a metadata file's version without reading it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

fn identity(file: &Path) -> Option<Identity> {
    let m = std::fs::metadata(file).ok()?;
    #[cfg(unix)]
    let (dev, ino) = {
        use std::os::unix::fs::MetadataExt;
        (m.dev(), m.ino())
    };
    #[cfg(not(unix))]
    let (dev, ino) = (0, 0);
    Some(Identity {
        dev,
        ino,
        len: m.len(),
        modified: m.modified().ok(),
    })
}

/// The generation of an opened array (see the module doc).
#[derive(Debug)]
pub(super) struct Generation {
    /// The metadata file watched; `None` for an object store (see the module doc).
    file: Option<PathBuf>,
    /// For an object store: the hash of the metadata document when opened.
    opened: Option<String>,
    /// Its identity when last found to hold this generation.
    seen: Mutex<Option<Identity>>,
    /// The write id of the generation, if it has one.
    write_id: Option<String>,
    /// The last region write into it when opened, if any.
    region_write: Option<RegionWrite>,
}

impl Generation {
    /// Looks at the array at `path` (Zarr format `zarr_format`) before it is opened.
    pub(super) fn look(path: &Path, zarr_format: u8) -> Generation {
        let file = if zarr_format == 3 {
            path.join("zarr.json")
        } else if path.join(".zattrs").is_file() {
            path.join(".zattrs")
        } else {
            path.join(".zarray")
        };
        let seen = Mutex::new(identity(&file));
        Generation {
            file: Some(file),
            opened: None,
            seen,
            write_id: None,
            region_write: None,
        }
    }

    /// The generation of an array on an object store whose metadata document is
    /// `metadata` (see the module doc).
    pub(super) fn remote(metadata: &[u8]) -> Generation {
        // FNV-1a: the same text in every process and every build.
        let hash = metadata.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Generation {
            file: None,
            opened: Some(format!("{hash:016x}")),
            seen: Mutex::new(None),
            write_id: None,
            region_write: None,
        }
    }

    /// With the write id and region write read from the attributes of the metadata opened.
    pub(super) fn with_attributes(self, attributes: &serde_json::Value) -> Generation {
        Generation {
            write_id: write_id_of(attributes).map(str::to_owned),
            region_write: region_write_of(attributes),
            ..self
        }
    }

    /// The region write recorded when the array was opened, if any.
    pub(super) fn region_write(&self) -> Option<&RegionWrite> {
        self.region_write.as_ref()
    }

    /// A text that identifies this generation (equal for two openings of the same
    /// generation, in any process): the write id and the region write when there is a
    /// write id, else the metadata file's identity when opened. `None` when the metadata
    /// file could not be looked at.
    pub(super) fn token(&self) -> Option<String> {
        let region = self
            .region_write
            .as_ref()
            .map(|r| format!(" region {} {}", r.id, r.complete))
            .unwrap_or_default();
        if let Some(id) = &self.write_id {
            return Some(format!("write {id}{region}"));
        }
        if let Some(hash) = &self.opened {
            return Some(format!("metadata {hash}{region}"));
        }
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let i = seen.as_ref()?;
        let modified = i
            .modified
            .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Some(format!(
            "metadata {}:{}:{}:{modified}{region}",
            i.dev, i.ino, i.len
        ))
    }

    /// Checks that the array at `path` is still this generation.
    pub(super) fn check(&self, path: &Path) -> Result<()> {
        let Some(file) = &self.file else {
            return Ok(()); // an object store: checked at open only
        };
        let now = identity(file);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if now.is_some() && *seen == now {
            return Ok(());
        }
        let changed = |detail: String| Error::SourceChanged {
            path: path.to_path_buf(),
            detail,
        };
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        if now.is_none() {
            return Err(changed(format!("its {name} was removed")));
        }
        let Some(ours) = self.write_id.as_deref() else {
            return Err(changed(format!("its {name} was rewritten")));
        };
        let there = std::fs::read(file)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .map(|v| {
                if name == "zarr.json" {
                    v["attributes"].clone()
                } else {
                    v
                }
            });
        let id_there = there.as_ref().and_then(write_id_of);
        if id_there != Some(ours) {
            return Err(changed(format!(
                "write id {ours} when opened, {} now",
                id_there.unwrap_or("none")
            )));
        }
        let region_there = there.as_ref().and_then(region_write_of);
        if region_there != self.region_write {
            return Err(changed(match region_there {
                Some(r) if !r.complete => {
                    format!("a write into its region {} began", r.region)
                }
                Some(r) => format!("a write into its region {} finished", r.region),
                None => "its record of region writes was removed".into(),
            }));
        }
        *seen = now;
        Ok(())
    }
}
