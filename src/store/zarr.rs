//! Zarr arrays on the local filesystem or an object store, through the `zarrs` crate.
//!
//! Every array is opened through [`resolve`]: a local path keeps zarrs' filesystem store
//! with brickwork's adapters (bounded reads, writes without `fsync` under a temporary name
//! then renamed, direct I/O, memory-mapped raw chunks, lock files); a URL gets a
//! [`RemoteStore`] (one PUT per object, no renames, a lock object). Above that point the
//! code reads and writes through zarrs' store traits and does not ask which it has, but
//! where a file-system shortcut exists (listing a directory, `stat`ing metadata, raw chunk
//! files) and its object-store counterpart differs.

mod attribute;
mod dtype;
mod error;
mod generation;
mod grid;
mod limits;
mod region;
mod resume;
mod source;
mod v2;
mod writer;

pub(crate) use limits::planned_chunk_bytes;
pub use region::{ZarrRegion, fmt_region};
pub use resume::Resumed;
pub use source::{StoredObjects, ZarrSource};
pub use writer::ZarrWriter;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use zarrs::storage::{ReadableStorage, ReadableWritableListableStorageTraits};

use super::bounded::BoundedStore;
use super::location::{Location, StorageOptions};
use super::remote::RemoteStore;
use crate::error::Result;

/// What chunks are read through: zarrs' filesystem store or a [`RemoteStore`], behind a
/// [`BoundedStore`].
type ReadStore = BoundedStore<ReadableStorage>;
/// What arrays are written through: the atomic-write adapter over a
/// [`NoSyncStore`](super::nosync::NoSyncStore) locally, a [`RemoteStore`] on object stores.
type WriteStore = dyn ReadableWritableListableStorageTraits;

/// The store at `path`: the path by which messages name it (the local path, or the URL
/// without secrets) and, for a URL, the object store (no request is sent yet).
///
/// # Errors
/// An unsupported or malformed URL, unknown storage options, or a URL in a build without
/// the `cloud` feature.
pub(super) fn resolve(
    path: &Path,
    storage: &StorageOptions,
) -> Result<(PathBuf, Option<Arc<RemoteStore>>)> {
    match Location::parse(path)? {
        Location::Local(p) => Ok((p, None)),
        Location::Remote(url) => {
            let store = super::remote::open(&url, storage)?;
            Ok((url.display_path(), Some(Arc::new(store))))
        }
    }
}

#[cfg(test)]
mod assert_traits {
    fn send_sync<T: Send + Sync>() {}
    #[test]
    fn source_and_sink_are_send_sync() {
        send_sync::<super::ZarrSource>();
        send_sync::<super::ZarrWriter>();
    }
}
