//! Zarr arrays on the local filesystem, through the `zarrs` crate.

mod attribute;
mod dtype;
mod error;
mod generation;
mod grid;
mod limits;
mod region;
mod resume;
mod sink;
mod source;
mod v2;

pub use region::{ZarrRegion, fmt_region};
pub use resume::Resumed;
pub use sink::ZarrSink;
pub use source::{StoredObjects, ZarrSource};

use std::sync::Arc;

use zarrs::filesystem::FilesystemStore;
use zarrs::storage::storage_adapter::atomic_write::AtomicWriteStorageAdapter;

use super::bounded::BoundedStore;
use super::nosync::NoSyncStore;

type ReadStore = BoundedStore<Arc<FilesystemStore>>;
type WriteStore = AtomicWriteStorageAdapter<NoSyncStore>;

#[cfg(test)]
mod assert_traits {
    fn send_sync<T: Send + Sync>() {}
    #[test]
    fn source_and_sink_are_send_sync() {
        send_sync::<super::ZarrSource>();
        send_sync::<super::ZarrSink>();
    }
}
