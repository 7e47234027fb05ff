//! Resuming an interrupted write (`WriteOptions::resume`, store-format/README.md section 9).
//!
//! Every chunk object is written under a temporary name and renamed (section 3), so an
//! object under its final key is whole: a run killed at any point leaves whole chunks,
//! `*.tmp` files and chunks not written yet. Resuming checks that the array at the path is
//! the one being written (same metadata, same computation by fingerprint), removes the
//! temporary files, and reports which chunks are stored and valid; the caller computes
//! only the others. Valid means: the object decodes (for compressed or sharded arrays), or
//! has exactly the size of a chunk (for chunks stored raw, where decoding is a copy). That
//! guards against objects damaged after the fact (the writer does not `fsync`, so a power
//! loss, unlike a killed process, can leave an empty or short object under its final key).
//!
//! On an object store a PUT replaces an object whole, so there is no temporary key: a
//! killed run leaves whole objects and objects not written yet. What is stored is found by
//! one listing of the array's prefix (keys and sizes) rather than a look-up per chunk.

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;
use zarrs::storage::{ReadableStorageTraits, StoreKey, StorePrefix, WritableStorageTraits};

use super::attribute::{FINGERPRINT_KEY, sink_attributes, write_id_of};
use super::error::{store_err, store_err_from};
use super::grid::grid_shape;
use super::writer::{
    Layout, ZarrWriter, metadata_options, refuse_read_only, remote_top, write_store, writes_raw,
};
use crate::dispatch_dtype;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::store::lock::WriteLock;
use crate::store::remote::RemoteStore;
use crate::store::{BRICKWORK_ATTRIBUTE, WriteOptions, ZarrFormat};

/// What [`ZarrWriter::resume`] found at its path.
#[derive(Debug)]
pub struct Resumed {
    /// The array, open for writing the chunks still missing.
    pub sink: ZarrWriter,
    /// Per block of the write grid ([`ZarrWriter::write_shape`]), by linear C-order index:
    /// true when its object is stored and valid, so it is kept.
    pub written: Vec<bool>,
    /// True when the array was already marked complete: there is nothing to write.
    pub complete: bool,
}

/// The state of the path of a resumed write.
enum Found {
    /// Nothing there.
    Nothing,
    /// What `create` leaves when it is interrupted before the array metadata is written:
    /// an empty directory, temporary files, a v2 `.zattrs` without `.zarray`.
    InterruptedCreate,
    /// Array metadata (`zarr.json` or `.zarray`).
    Array,
}

impl ZarrWriter {
    /// Opens the array at `path` to resume an interrupted write of the same array, or
    /// creates it when there is nothing at `path` yet (as [`ZarrWriter::create_for`]).
    ///
    /// The array must have been created by brickwork with the same shape, dtype, chunks,
    /// shards, codec and Zarr format, and, when `fingerprint` is given, for the same
    /// computation. Stale temporary files are removed; [`Resumed::written`] tells which
    /// chunks are kept.
    ///
    /// # Errors
    /// [`Error::Store`] naming the path when something else is there: another array
    /// (naming the metadata that differs), one not written by brickwork, one written for
    /// another computation, or a directory that is not a Zarr array; errors of
    /// [`ZarrWriter::create`] and I/O errors while reading what is there.
    pub fn resume(
        path: &Path,
        shape: &[usize],
        dtype: DType,
        chunks: &[usize],
        opts: &WriteOptions,
        fingerprint: Option<&str>,
    ) -> Result<Resumed> {
        let layout = Self::check_layout(path, shape, dtype, chunks, opts)?;
        let (display, remote) = super::resolve(path, &opts.storage)?;
        let path = display.as_path();
        refuse_read_only(path, remote.as_ref())?;
        // Before looking at what is there: nobody else may write it meanwhile.
        let lock = match &remote {
            None => WriteLock::acquire(path)?,
            Some(r) => WriteLock::acquire_remote(r.url(), &opts.storage)?,
        };
        let fresh = |layout| -> Result<Resumed> {
            let sink = Self::create_checked(path, shape, dtype, chunks, opts, layout, fingerprint)?;
            let written = vec![false; sink.write_blocks()];
            Ok(Resumed {
                sink,
                written,
                complete: false,
            })
        };
        let what = match &remote {
            None => found(path)?,
            Some(r) => found_remote(path, r)?,
        };
        match what {
            Found::Nothing => fresh(layout),
            Found::InterruptedCreate => {
                match &remote {
                    None => std::fs::remove_dir_all(path).map_err(|source| Error::Io {
                        path: path.to_path_buf(),
                        source,
                    })?,
                    Some(r) => r.erase_prefix(&StorePrefix::root()).map_err(|e| {
                        store_err_from(path, None, "cannot remove an interrupted creation", e)
                    })?,
                }
                fresh(layout)
            }
            Found::Array => {
                let mut r = Self::reopen(path, shape, dtype, chunks, opts, layout, fingerprint)?;
                r.sink.lock = Some(lock);
                Ok(r)
            }
        }
    }

    /// Reopens the array of an interrupted write: checks it is the same array, removes
    /// temporary files, finds the chunks to keep.
    fn reopen(
        path: &Path,
        shape: &[usize],
        dtype: DType,
        chunks: &[usize],
        opts: &WriteOptions,
        layout: Layout,
        fingerprint: Option<&str>,
    ) -> Result<Resumed> {
        let (sink, expected, meta_key) =
            Self::open_parts(path, shape, dtype, chunks, opts, layout, fingerprint)?;
        let path = sink.path.clone();
        let path = path.as_path();
        let existing = read_json(&sink, meta_key)?;
        check_same_metadata(path, meta_key, &existing, &expected)?;
        let existing_attributes = match opts.zarr_format {
            ZarrFormat::V3 => existing.get("attributes").cloned().unwrap_or_default(),
            ZarrFormat::V2 => read_json(&sink, ".zattrs")?,
        };
        let complete = check_brickwork_attribute(path, &existing_attributes, fingerprint)?;
        let mut sink = sink;
        // This write carries on the generation the interrupted one created.
        sink.write_id = write_id_of(&existing_attributes).map(str::to_owned);
        if sink.files.is_some() {
            remove_temporary_files(path)?;
        }
        let written = if complete {
            vec![true; sink.write_blocks()]
        } else {
            sink.valid_objects()?
        };
        Ok(Resumed {
            sink,
            written,
            complete,
        })
    }

    /// Opens the array another process has just created (or reopened) at `path` to write
    /// chunks into it too (the other ranks of an MPI job, rank 0 having created it):
    /// nothing is checked, removed, scanned or written but the chunks given.
    ///
    /// # Errors
    /// The layout options are invalid, or the store cannot be opened.
    pub fn attach(
        path: &Path,
        shape: &[usize],
        dtype: DType,
        chunks: &[usize],
        opts: &WriteOptions,
        fingerprint: Option<&str>,
    ) -> Result<ZarrWriter> {
        let layout = Self::check_layout(path, shape, dtype, chunks, opts)?;
        Ok(Self::open_parts(path, shape, dtype, chunks, opts, layout, fingerprint)?.0)
    }

    /// The sink of the array at `path` as these options make it, with the metadata they
    /// give it and the key it is stored under; nothing is read or written.
    #[allow(clippy::too_many_arguments)]
    fn open_parts(
        path: &Path,
        shape: &[usize],
        dtype: DType,
        chunks: &[usize],
        opts: &WriteOptions,
        layout: Layout,
        fingerprint: Option<&str>,
    ) -> Result<(ZarrWriter, serde_json::Value, &'static str)> {
        let (shards, codecs) = layout;
        let (display, remote) = super::resolve(path, &opts.storage)?;
        let path = display.as_path();
        let (store, files) = write_store(path, remote.as_ref(), opts.direct_io)?;
        let attributes = sink_attributes(opts, false, fingerprint, None);
        let (array, expected, meta_key) = match opts.zarr_format {
            ZarrFormat::V3 => {
                let array = Self::build_v3(
                    path,
                    &store,
                    shape,
                    dtype,
                    chunks,
                    shards.as_deref(),
                    codecs,
                    &attributes,
                )?;
                let meta = serde_json::to_value(array.metadata_opt(&metadata_options()))
                    .map_err(|e| Error::internal(format!("{}: {e}", path.display())))?;
                (array, meta, "zarr.json")
            }
            ZarrFormat::V2 => {
                let (array, zarray) =
                    Self::build_v2(path, &store, shape, dtype, chunks, opts.codec)?;
                (array, zarray, ".zarray")
            }
        };
        let raw = writes_raw(
            files.is_some() || remote.is_some(),
            shards.is_some(),
            &array,
            dtype,
        );
        let sink = ZarrWriter {
            path: path.to_path_buf(),
            store,
            files,
            remote,
            raw,
            array,
            shape: shape.to_vec(),
            chunks: chunks.to_vec(),
            shards,
            dtype,
            format: opts.zarr_format,
            attributes,
            fingerprint: fingerprint.map(str::to_owned),
            write_id: None,
            lock: None,
        };
        Ok((sink, expected, meta_key))
    }

    /// Blocks in the write grid.
    fn write_blocks(&self) -> usize {
        grid_shape(&self.shape, self.write_shape()).iter().product()
    }

    /// Per block of the write grid, whether its object is stored and valid.
    fn valid_objects(&self) -> Result<Vec<bool>> {
        let grid = grid_shape(&self.shape, self.write_shape());
        // On an object store, one listing says what is stored and its sizes.
        let listed: Option<HashMap<String, u64>> = match &self.remote {
            None => None,
            Some(r) => Some(
                r.list_sizes("")
                    .map_err(|e| store_err_from(&self.path, None, "cannot list", e))?
                    .into_iter()
                    .collect(),
            ),
        };
        (0..self.write_blocks())
            .into_par_iter()
            .map(|lin| {
                let mut idx = vec![0u64; grid.len()];
                let mut rest = lin;
                for (d, &n) in grid.iter().enumerate().rev() {
                    idx[d] = (rest % n) as u64;
                    rest /= n;
                }
                self.is_valid_object(&idx, listed.as_ref())
            })
            .collect()
    }

    /// Whether the object of write-grid block `idx` is stored and valid (see the module
    /// doc).
    fn is_valid_object(&self, idx: &[u64], listed: Option<&HashMap<String, u64>>) -> Result<bool> {
        let key = self.array.chunk_key(idx).to_string();
        let len = match listed {
            Some(sizes) => match sizes.get(key.trim_start_matches('/')) {
                Some(&len) => len,
                None => return Ok(false),
            },
            None => {
                let file = self.path.join(&key);
                match std::fs::metadata(&file) {
                    Ok(m) => m.len(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
                    Err(source) => return Err(Error::Io { path: file, source }),
                }
            }
        };
        if self.raw {
            let chunk = self.write_shape().iter().product::<usize>() * self.dtype.size();
            return Ok(len == chunk as u64);
        }
        Ok(dispatch_dtype!(self.dtype, T => self
            .array
            .retrieve_chunk_if_exists::<ndarray::ArrayD<T>>(idx)
            .is_ok()))
    }
}

/// What is at the path of a resumed write.
fn found(path: &Path) -> Result<Found> {
    if !path.exists() && !path.is_symlink() {
        return Ok(Found::Nothing);
    }
    if path.join("zarr.json").is_file() || path.join(".zarray").is_file() {
        return Ok(Found::Array);
    }
    let entries: Vec<std::path::PathBuf> = match std::fs::read_dir(path) {
        Ok(dir) => dir.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => return Err(not_an_array(path)),
    };
    let left_by_create = entries.iter().all(|p| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        p.is_file() && (name.ends_with(".tmp") || name == ".zattrs" && is_incomplete_zattrs(p))
    });
    if left_by_create {
        Ok(Found::InterruptedCreate)
    } else {
        Err(not_an_array(path))
    }
}

/// What is at the prefix of a resumed write on an object store (as [`found`]).
fn found_remote(path: &Path, store: &RemoteStore) -> Result<Found> {
    let (keys, prefixes) = remote_top(path, store)?;
    if keys.is_empty() && prefixes == 0 {
        return Ok(Found::Nothing);
    }
    if keys.iter().any(|k| k == "zarr.json" || k == ".zarray") {
        return Ok(Found::Array);
    }
    let incomplete_zattrs = || {
        StoreKey::new(".zattrs")
            .ok()
            .and_then(|k| store.get(&k).ok().flatten())
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v.get(BRICKWORK_ATTRIBUTE)?.get("complete")?.as_bool())
            == Some(false)
    };
    let left_by_create = prefixes == 0
        && keys
            .iter()
            .all(|k| k.ends_with(".tmp") || k == ".zattrs" && incomplete_zattrs());
    if left_by_create {
        Ok(Found::InterruptedCreate)
    } else {
        Err(not_an_array(path))
    }
}

fn not_an_array(path: &Path) -> Error {
    store_err(
        path,
        None,
        "exists and is not a Zarr array; cannot resume a write there (write to another path)",
    )
}

/// True for a v2 `.zattrs` that marks an incomplete brickwork write.
fn is_incomplete_zattrs(file: &Path) -> bool {
    std::fs::read(file)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get(BRICKWORK_ATTRIBUTE)?.get("complete")?.as_bool())
        == Some(false)
}

/// The JSON document `key` of the array `sink` writes.
fn read_json(sink: &ZarrWriter, key: &str) -> Result<serde_json::Value> {
    let path = &sink.path;
    let store_key =
        StoreKey::new(key).map_err(|e| Error::internal_from(format!("store key {key}"), e))?;
    let bytes = sink
        .store
        .get(&store_key)
        .map_err(|e| store_err_from(path, Some(key.into()), "cannot read", e))?
        .ok_or_else(|| store_err(path, Some(key.into()), "missing metadata"))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| store_err_from(path, Some(key.into()), "malformed metadata", e))
}

/// Refuses to resume into an array whose metadata (attributes aside) is not what this
/// write would create, naming the keys that differ.
fn check_same_metadata(
    path: &Path,
    key: &str,
    existing: &serde_json::Value,
    expected: &serde_json::Value,
) -> Result<()> {
    let without_attributes = |v: &serde_json::Value| {
        let mut m = v.as_object().cloned().unwrap_or_default();
        m.remove("attributes");
        m
    };
    let (existing, expected) = (without_attributes(existing), without_attributes(expected));
    let mut differ: Vec<&str> = expected
        .iter()
        .filter(|(k, v)| existing.get(*k) != Some(v))
        .map(|(k, _)| k.as_str())
        .collect();
    differ.extend(
        existing
            .keys()
            .filter(|k| !expected.contains_key(*k))
            .map(String::as_str),
    );
    if differ.is_empty() {
        return Ok(());
    }
    let show = |m: &serde_json::Map<String, serde_json::Value>, k: &str| {
        m.get(k).map_or("nothing".to_owned(), ToString::to_string)
    };
    let details: Vec<String> = differ
        .iter()
        .map(|k| {
            format!(
                "{k}: {} there, {} now",
                show(&existing, k),
                show(&expected, k)
            )
        })
        .collect();
    Err(store_err(
        path,
        Some(key.into()),
        format!(
            "cannot resume: the array there was created with other metadata ({}); write to another path or pass overwrite (--overwrite)",
            details.join("; ")
        ),
    ))
}

/// Checks the `brickwork` attribute of the array being resumed: written by brickwork, for
/// the same computation. Returns whether it is marked complete.
fn check_brickwork_attribute(
    path: &Path,
    attributes: &serde_json::Value,
    fingerprint: Option<&str>,
) -> Result<bool> {
    let Some(attr) = attributes.get(BRICKWORK_ATTRIBUTE) else {
        return Err(store_err(
            path,
            None,
            "cannot resume: the array there was not written by brickwork (it has no \"brickwork\" attribute); write to another path or pass overwrite (--overwrite)",
        ));
    };
    let stored = attr.get(FINGERPRINT_KEY).and_then(|f| f.as_str());
    if let Some(fingerprint) = fingerprint
        && stored != Some(fingerprint)
    {
        return Err(store_err(
            path,
            None,
            format!(
                "cannot resume: the array there was written for another computation, or from sources that have changed since (fingerprint {} there, {fingerprint} now); write to another path or pass overwrite (--overwrite)",
                stored.unwrap_or("none")
            ),
        ));
    }
    Ok(attr.get("complete").and_then(|c| c.as_bool()) == Some(true))
}

/// Removes the temporary files an interrupted write left under `dir` (they would make the
/// atomic writer refuse to write those objects).
fn remove_temporary_files(dir: &Path) -> Result<()> {
    let io = |path: &Path, source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| io(&d, e))? {
            let p = entry.map_err(|e| io(&d, e))?.path();
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            if p.is_dir() {
                pending.push(p);
            } else if name.ends_with(".tmp") {
                std::fs::remove_file(&p).map_err(|e| io(&p, e))?;
            }
        }
    }
    Ok(())
}
