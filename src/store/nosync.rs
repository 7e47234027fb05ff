//! A filesystem store that writes without `fsync`.
//!
//! zarrs' `FilesystemStore` calls `sync_all` after every object it writes, which waits for
//! the disk: about half a millisecond per object here, so writing 40000 chunks of 80 KB
//! took 20 s of waiting, and large chunks were written at disk speed instead of page-cache
//! speed. zarr-python and dask do not sync either. Crash safety comes from the write
//! protocol (`store-format/README.md`): each object is written under a temporary key and
//! renamed, and an array is marked complete only after all its chunks are written. Reads,
//! renames, erases and partial writes are delegated to `FilesystemStore`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use zarrs::filesystem::FilesystemStore;
use zarrs::storage::byte_range::ByteRangeIterator;
use zarrs::storage::{
    AtomicRenameStorageTraits, Bytes, ListableStorageTraits, MaybeBytesIterator,
    OffsetBytesIterator, ReadableStorageTraits, StorageError, StoreKey, StoreKeys,
    StoreKeysPrefixes, StorePrefix, WritableStorageTraits,
};

/// `FilesystemStore` whose whole-object writes skip `fsync`, and write objects of
/// `DIRECT_MIN_BYTES` and more with direct I/O when asked to (see `dio`).
#[derive(Debug)]
pub(crate) struct NoSyncStore {
    base: PathBuf,
    fs: FilesystemStore,
    /// Write large objects with direct I/O; cleared when the filesystem refuses it.
    direct: AtomicBool,
}

impl NoSyncStore {
    /// A store over the directory `base` (`fs` is zarrs' store over the same directory).
    /// With `direct`, large objects are written with direct I/O where the platform and the
    /// filesystem allow it (`BRICKWORK_NO_DIRECT_IO=1` turns it off).
    pub(crate) fn new(base: PathBuf, fs: FilesystemStore, direct: bool) -> Self {
        let direct = direct && cfg!(target_os = "linux") && !super::env_flag(NO_DIRECT_IO_VAR);
        NoSyncStore {
            base,
            fs,
            direct: AtomicBool::new(direct),
        }
    }

    /// Writes `value` as object `key` the way the atomic-write adapter does (under
    /// `<key>.tmp`, then renamed), from a borrowed buffer: the raw chunk writer's path,
    /// which has no `Bytes` to hand to [`WritableStorageTraits::set`].
    pub(crate) fn set_atomic(&self, key: &str, value: &[u8]) -> std::io::Result<()> {
        let path = self.base.join(key.trim_start_matches('/'));
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        self.write_file(&tmp, value)?;
        std::fs::rename(&tmp, &path)
    }

    /// Writes `value` as the whole file `path` (its directory created if missing), with
    /// direct I/O where possible.
    fn write_file(&self, path: &Path, value: &[u8]) -> std::io::Result<()> {
        if let Some(parent) = path.parent()
            && !parent.exists()
        {
            std::fs::create_dir_all(parent)?;
        }
        if !self.write_direct(path, value)? {
            std::fs::write(path, value)?;
        }
        Ok(())
    }

    /// Writes `value` to `path` with direct I/O; `false` when that is not possible here.
    fn write_direct(&self, path: &Path, value: &[u8]) -> std::io::Result<bool> {
        #[cfg(target_os = "linux")]
        {
            if value.len() >= super::dio::DIRECT_MIN_BYTES && self.direct.load(Ordering::Relaxed) {
                if super::dio::write(path, value)? {
                    return Ok(true);
                }
                self.direct.store(false, Ordering::Relaxed);
            }
        }
        let _ = (path, value);
        Ok(false)
    }
}

/// The environment variable that turns direct writes off.
const NO_DIRECT_IO_VAR: &str = "BRICKWORK_NO_DIRECT_IO";

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
        Ok(self.write_file(&path, &value)?)
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
