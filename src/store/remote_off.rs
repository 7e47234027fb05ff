//! Object stores in a build without the `cloud` feature: a URL is refused with an error
//! that says how to get a build that opens it. The types exist (uninhabited) so that the
//! store layer has one shape with the feature and without.

use zarrs::storage::byte_range::ByteRangeIterator;
use zarrs::storage::{
    Bytes, ListableStorageTraits, MaybeBytesIterator, OffsetBytesIterator, ReadableStorageTraits,
    StorageError, StoreKey, StoreKeys, StoreKeysPrefixes, StorePrefix, WritableStorageTraits,
};

use super::location::{StorageOptions, StoreUrl};
use super::requests::RequestCounts;
use crate::error::{Error, Result};

/// The requests sent to object stores by this process so far: none without `cloud`.
pub fn request_counts() -> RequestCounts {
    RequestCounts::default()
}

/// A version of an object (never made without `cloud`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ObjectVersion {}

/// An object store (never made without `cloud`).
#[derive(Debug)]
pub(crate) enum RemoteStore {}

/// Refuses `url`: this build has no object-store clients.
pub(crate) fn open(url: &StoreUrl, _options: &StorageOptions) -> Result<RemoteStore> {
    Err(Error::invalid(format!(
        "{url}: this build of brickwork opens local paths only; build it with the `cloud` feature (the brickwork command has it by default) to open {}:// URLs",
        url.scheme().name()
    )))
}

type R<T> = std::result::Result<T, StorageError>;

impl RemoteStore {
    pub(crate) fn url(&self) -> &StoreUrl {
        match *self {}
    }
    pub(crate) fn get_versioned(&self, _key: &str) -> R<Option<(Bytes, ObjectVersion)>> {
        match *self {}
    }
    pub(crate) fn put_if_absent(&self, _key: &str, _value: Bytes) -> R<Option<ObjectVersion>> {
        match *self {}
    }
    pub(crate) fn put_if_version(
        &self,
        _key: &str,
        _value: Bytes,
        _version: &ObjectVersion,
    ) -> R<Option<ObjectVersion>> {
        match *self {}
    }
    pub(crate) fn delete(&self, _key: &str) -> R<()> {
        match *self {}
    }
    pub(crate) fn list_sizes(&self, _prefix: &str) -> R<Vec<(String, u64)>> {
        match *self {}
    }
}

impl ReadableStorageTraits for RemoteStore {
    fn get_partial_many<'a>(
        &'a self,
        _key: &StoreKey,
        _byte_ranges: ByteRangeIterator<'a>,
    ) -> R<MaybeBytesIterator<'a>> {
        match *self {}
    }
    fn size_key(&self, _key: &StoreKey) -> R<Option<u64>> {
        match *self {}
    }
    fn supports_get_partial(&self) -> bool {
        match *self {}
    }
}

impl WritableStorageTraits for RemoteStore {
    fn set(&self, _key: &StoreKey, _value: Bytes) -> R<()> {
        match *self {}
    }
    fn set_partial_many(&self, _key: &StoreKey, _offset_values: OffsetBytesIterator) -> R<()> {
        match *self {}
    }
    fn erase(&self, _key: &StoreKey) -> R<()> {
        match *self {}
    }
    fn erase_prefix(&self, _prefix: &StorePrefix) -> R<()> {
        match *self {}
    }
    fn supports_set_partial(&self) -> bool {
        match *self {}
    }
}

impl ListableStorageTraits for RemoteStore {
    fn list(&self) -> R<StoreKeys> {
        match *self {}
    }
    fn list_prefix(&self, _prefix: &StorePrefix) -> R<StoreKeys> {
        match *self {}
    }
    fn list_dir(&self, _prefix: &StorePrefix) -> R<StoreKeysPrefixes> {
        match *self {}
    }
    fn size_prefix(&self, _prefix: &StorePrefix) -> R<u64> {
        match *self {}
    }
}
