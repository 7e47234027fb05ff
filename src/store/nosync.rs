//! A filesystem store that writes without `fsync`.
//!
//! zarrs' `FilesystemStore` calls `sync_all` after every object it writes, which waits for
//! the disk: about half a millisecond per object here, so writing 40000 chunks of 80 KB
//! took 20 s of waiting, and large chunks were written at disk speed instead of page-cache
//! speed. zarr-python and dask do not sync either. Crash safety comes from the write
//! protocol (`store-format/README.md`): each object is written under a temporary key and
//! renamed, and an array is marked complete only after all its chunks are written. Reads,
//! renames, erases and partial writes are delegated to `FilesystemStore`.

use std::path::PathBuf;

use zarrs::filesystem::FilesystemStore;
use zarrs::storage::byte_range::ByteRangeIterator;
use zarrs::storage::{
    AtomicRenameStorageTraits, Bytes, ListableStorageTraits, MaybeBytesIterator,
    OffsetBytesIterator, ReadableStorageTraits, StorageError, StoreKey, StoreKeys,
    StoreKeysPrefixes, StorePrefix, WritableStorageTraits,
};

/// `FilesystemStore` whose whole-object writes skip `fsync`.
#[derive(Debug)]
pub(crate) struct NoSyncStore {
    base: PathBuf,
    fs: FilesystemStore,
}

impl NoSyncStore {
    pub(crate) fn new(base: PathBuf, fs: FilesystemStore) -> Self {
        NoSyncStore { base, fs }
    }
}

impl ReadableStorageTraits for NoSyncStore {
    fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<MaybeBytesIterator<'a>, StorageError> {
        self.fs.get_partial_many(key, byte_ranges)
    }
    fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        self.fs.size_key(key)
    }
    fn supports_get_partial(&self) -> bool {
        self.fs.supports_get_partial()
    }
}

impl ListableStorageTraits for NoSyncStore {
    fn list(&self) -> Result<StoreKeys, StorageError> {
        self.fs.list()
    }
    fn list_prefix(&self, prefix: &StorePrefix) -> Result<StoreKeys, StorageError> {
        self.fs.list_prefix(prefix)
    }
    fn list_dir(&self, prefix: &StorePrefix) -> Result<StoreKeysPrefixes, StorageError> {
        self.fs.list_dir(prefix)
    }
    fn size_prefix(&self, prefix: &StorePrefix) -> Result<u64, StorageError> {
        self.fs.size_prefix(prefix)
    }
}

impl WritableStorageTraits for NoSyncStore {
    fn set(&self, key: &StoreKey, value: Bytes) -> Result<(), StorageError> {
        let path = self.base.join(key.as_str().trim_start_matches('/'));
        if let Some(parent) = path.parent()
            && !parent.exists()
        {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &value)?;
        Ok(())
    }
    fn set_partial_many(
        &self,
        key: &StoreKey,
        offset_values: OffsetBytesIterator,
    ) -> Result<(), StorageError> {
        self.fs.set_partial_many(key, offset_values)
    }
    fn erase(&self, key: &StoreKey) -> Result<(), StorageError> {
        self.fs.erase(key)
    }
    fn erase_prefix(&self, prefix: &StorePrefix) -> Result<(), StorageError> {
        self.fs.erase_prefix(prefix)
    }
    fn supports_set_partial(&self) -> bool {
        self.fs.supports_set_partial()
    }
}

impl AtomicRenameStorageTraits for NoSyncStore {
    fn rename(&self, source: &StoreKey, destination: &StoreKey) -> Result<(), StorageError> {
        self.fs.rename(source, destination)
    }
}
