//! Persisting a computed array for reuse ([`crate::Array::persist`]): computed once, then
//! kept in memory when it is small next to the memory limit, else written to a temporary
//! uncompressed Zarr store (in `tmp_dir`, else `spill_dir`, else the system's temporary
//! directory) that later computations read like any source and that is removed when the last
//! array reading it is dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Copies, TempSource, prepare_many, session, shared_dir, write};
use crate::config::ComputeOptions;
use crate::error::{Error, Result};
use crate::expr::{self, ExprRef};
use crate::metrics::Metrics;
use crate::plan::OutputWrite;
use crate::store::{Codec, CollectSink, WriteOptions, ZarrSource};

/// The largest share of the memory limit a persisted array keeps in memory: it stays
/// resident beside every later computation, which still gets the whole limit.
pub(crate) const MEMORY_SHARE: u64 = 4;

/// Where [`persist`] kept an array.
pub(crate) enum Kept {
    /// In memory, this many bytes.
    Memory(u64),
    /// In a temporary store at this path.
    Store(PathBuf),
}

/// Computes `e` and keeps it (see the module doc), as one session titled by `title`:
/// the computation reading what was kept, where it was kept, and the run's figures.
///
/// # Errors
/// As computing `e`, or writing it to the temporary store.
pub(crate) fn persist(
    e: &ExprRef,
    opts: &ComputeOptions,
    title: impl FnOnce() -> String,
) -> Result<(ExprRef, Kept, Metrics)> {
    session(opts, title, |opts| {
        let bytes = e.shape().iter().product::<usize>() as u64 * e.dtype().size() as u64;
        let limit = opts.effective_memory_limit();
        if bytes <= limit / MEMORY_SHARE {
            let outputs = vec![(OutputWrite::Memory, None)];
            let prepared = prepare_many(std::slice::from_ref(e), opts, outputs, Copies::Make)?;
            let sink = CollectSink::new(e.grid(), e.dtype());
            let metrics = prepared.run(opts, &[&sink])?;
            opts.observers.notice(&format!(
                "persisted in memory: {} (at most 1/{MEMORY_SHARE} of the memory limit, {})",
                crate::units::format_bytes(bytes),
                crate::units::format_bytes(limit)
            ));
            let kept = expr::memory(sink.into_block(), e.grid().clone());
            return Ok((kept, Kept::Memory(bytes), metrics));
        }
        let dir = shared_dir(opts, || {
            let parent = opts
                .tmp_dir
                .clone()
                .or_else(|| opts.spill_dir.clone())
                .unwrap_or_else(std::env::temp_dir);
            tempfile::Builder::new()
                .prefix(&crate::store::temp::prefix(
                    "persist",
                    Path::new("array"),
                    false,
                ))
                .tempdir_in(&parent)
                .map(Some)
                .map_err(|source| Error::Temporary {
                    detail: "cannot create a directory there for a persisted array; put it \
                             elsewhere with tmp_dir (--tmp-dir)"
                        .into(),
                    path: parent,
                    source,
                })
        })?
        .ok_or_else(|| Error::internal("no directory was made for a persisted array"))?;
        let path = dir.path().join("array.zarr");
        let options = WriteOptions {
            chunks: Some(e.grid().max_chunk_shape()),
            codec: Codec::None,
            direct_io: false,
            ..WriteOptions::default()
        };
        let metrics = write::write_one(e, &path, &options, opts, Copies::Make, None)
            .map_err(|err| super::full_disk_hint(err, "a persisted array"))?;
        opts.observers.notice(&format!(
            "persisted in a temporary store: {} is more than 1/{MEMORY_SHARE} of the memory \
             limit ({}); it is read from {}",
            crate::units::format_bytes(bytes),
            crate::units::format_bytes(limit),
            path.display()
        ));
        let store = TempSource::new(ZarrSource::open(&path)?, path.clone(), dir);
        Ok((expr::source(Arc::new(store)), Kept::Store(path), metrics))
    })
}
