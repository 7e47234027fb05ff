//! Chunk reads whose size is checked before anything is allocated.
//!
//! zarrs trusts the byte ranges it asks its store for, and the filesystem store allocates
//! the length asked before reading: a shard index entry that claims 2^62 bytes made
//! brickwork abort on a failed allocation, and an oversized chunk file (a 10 GB object
//! where a 20 KB chunk belongs) was read whole before its size was found wrong. A
//! [`BoundedStore`] wraps the store a [`ZarrSource`](super::ZarrSource) reads chunks
//! through, and refuses, before reading, a range that goes past the end of its object or
//! that is longer than the most bytes one stored object of the array can take encoded. An
//! uncompressed chunk must have exactly its size: zarrs reads the part of it it needs, so a
//! chunk file of the wrong size would otherwise read without complaint.
//! Metadata is read before the array's chunk sizes are known, through the plain store.
//!
//! On an object store, asking an object's size is a HEAD request before every read, which
//! is what a latency-bound reader must not do; there ([`BoundedStore::new_unsized`]) a
//! range of known length is checked against the bound before it is asked for, and what
//! comes back (for a range to the end of an object, or an object of the wrong size) is
//! checked once it has arrived: a hostile object costs the bytes of one answer, not an
//! abort.

use zarrs::storage::byte_range::{ByteRange, ByteRangeIterator};
use zarrs::storage::{MaybeBytesIterator, ReadableStorageTraits, StorageError, StoreKey};

/// Bytes of slack over the decoded size that an encoded object may take: compressors add
/// headers, block markers and checksums (zstd, gzip and blosc stay far below this when the
/// data does not compress).
const ENCODED_SLACK: u64 = 64 << 10;

/// The most bytes an object of `decoded` decoded bytes can take encoded by the codecs
/// brickwork reads: the decoded size plus an eighth plus [`ENCODED_SLACK`] (zstd's worst
/// case is 1/256 more, deflate's 5 bytes per 16 KiB, blosc's 16 bytes).
pub(super) fn encoded_bound(decoded: u64) -> u64 {
    decoded
        .saturating_add(decoded / 8)
        .saturating_add(ENCODED_SLACK)
}

/// The error for a read of object `key` refused because of `why`. It names the object
/// (zarrs' own errors name only the range), as a corrupt chunk or shard index is the usual
/// cause.
fn corrupt(key: &StoreKey, why: String) -> StorageError {
    StorageError::Other(format!("stored object {key} is corrupt: {why}"))
}

/// A byte range in words (`ByteRange`'s `Display` overflows on hostile ranges).
fn describe(range: ByteRange) -> String {
    match range {
        ByteRange::FromStart(start, Some(len)) => format!("{len} bytes at offset {start}"),
        ByteRange::FromStart(start, None) => format!("the bytes from offset {start}"),
        ByteRange::Suffix(len) => format!("the last {len} bytes"),
    }
}

/// A read store that refuses reads past the end of an object, longer than `max_read`, or of
/// an object whose size is not `exact`.
#[derive(Debug)]
pub(super) struct BoundedStore<S> {
    inner: S,
    max_read: u64,
    exact: Option<u64>,
    /// Look up an object's size before reading it (local files: a `stat`).
    sized: bool,
}

impl<S: ReadableStorageTraits> BoundedStore<S> {
    /// Wraps `inner`, allowing reads of at most `max_read` bytes at once, of objects of
    /// exactly `exact` bytes when given (uncompressed chunks).
    pub(super) fn new(inner: S, max_read: u64, exact: Option<u64>) -> Self {
        BoundedStore {
            inner,
            max_read,
            exact,
            sized: true,
        }
    }

    /// As [`BoundedStore::new`] for a store whose sizes cost a request: nothing is asked
    /// before a read, and what arrives is checked (see the module doc).
    pub(super) fn new_unsized(inner: S, max_read: u64, exact: Option<u64>) -> Self {
        BoundedStore {
            sized: false,
            ..Self::new(inner, max_read, exact)
        }
    }

    /// Reads `byte_ranges` of `key` without asking its size first: ranges of known length
    /// are checked before, every answer after.
    fn get_unsized<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<MaybeBytesIterator<'a>, StorageError> {
        let ranges: Vec<ByteRange> = byte_ranges.collect();
        for r in &ranges {
            let len = match *r {
                ByteRange::FromStart(_, Some(len)) | ByteRange::Suffix(len) => len,
                ByteRange::FromStart(_, None) => continue,
            };
            if len > self.max_read {
                return Err(corrupt(
                    key,
                    format!(
                        "reading {} of it was refused: a stored chunk of this array takes at most {} bytes",
                        describe(*r),
                        self.max_read
                    ),
                ));
            }
        }
        let whole = matches!(ranges.as_slice(), [ByteRange::FromStart(0, None)]);
        let Some(parts) = self
            .inner
            .get_partial_many(key, Box::new(ranges.clone().into_iter()))?
        else {
            return Ok(None);
        };
        let parts: Vec<_> = parts.collect::<Result<_, _>>()?;
        for (part, range) in parts.iter().zip(&ranges) {
            let got = part.len() as u64;
            let short = matches!(*range, ByteRange::FromStart(_, Some(len)) | ByteRange::Suffix(len) if got != len);
            if short || got > self.max_read {
                return Err(corrupt(
                    key,
                    format!(
                        "asked for {}, the store answered {got} bytes",
                        describe(*range)
                    ),
                ));
            }
            if let Some(exact) = self.exact.filter(|&e| whole && e != got) {
                return Err(corrupt(
                    key,
                    format!(
                        "it has {got} bytes, but an uncompressed chunk of this array has {exact}"
                    ),
                ));
            }
        }
        Ok(Some(Box::new(parts.into_iter().map(Ok))))
    }

    /// Checks `range` of an object of `size` bytes; the range itself on success.
    fn check(
        &self,
        key: &StoreKey,
        range: ByteRange,
        size: u64,
    ) -> Result<ByteRange, StorageError> {
        let (start, len) = match range {
            ByteRange::FromStart(start, None) => (start, size.checked_sub(start)),
            ByteRange::FromStart(start, Some(len)) => (start, Some(len)),
            ByteRange::Suffix(len) => (size.saturating_sub(len), Some(len)),
        };
        let end = len.and_then(|len| start.checked_add(len));
        let Some(len) = len.filter(|_| end.is_some_and(|end| end <= size)) else {
            return Err(corrupt(
                key,
                format!("{} are past the end of its {size} bytes", describe(range)),
            ));
        };
        if len > self.max_read {
            return Err(corrupt(
                key,
                format!(
                    "reading {len} bytes of it was refused: a stored chunk of this array takes at most {} bytes",
                    self.max_read
                ),
            ));
        }
        Ok(range)
    }
}

impl<S: ReadableStorageTraits> ReadableStorageTraits for BoundedStore<S> {
    fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<MaybeBytesIterator<'a>, StorageError> {
        if !self.sized {
            return self.get_unsized(key, byte_ranges);
        }
        let Some(size) = self.inner.size_key(key)? else {
            // Missing (or not a file): the inner store says which.
            return self.inner.get_partial_many(key, byte_ranges);
        };
        if let Some(exact) = self.exact.filter(|&e| e != size) {
            return Err(corrupt(
                key,
                format!("it has {size} bytes, but an uncompressed chunk of this array has {exact}"),
            ));
        }
        let ranges = byte_ranges
            .map(|r| self.check(key, r, size))
            .collect::<Result<Vec<_>, _>>()?;
        self.inner
            .get_partial_many(key, Box::new(ranges.into_iter()))
    }

    fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        self.inner.size_key(key)
    }

    fn supports_get_partial(&self) -> bool {
        self.inner.supports_get_partial()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zarrs::filesystem::FilesystemStore;

    #[test]
    fn ranges_past_the_end_or_over_the_bound_are_refused() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("k"), [7u8; 100])?;
        let store = BoundedStore::new(FilesystemStore::new(dir.path())?, 60, None);
        let key = StoreKey::new("k")?;
        let read = |r: ByteRange| store.get_partial(&key, r).map(|b| b.map(|b| b.len()));
        assert_eq!(read(ByteRange::FromStart(50, Some(50)))?, Some(50));
        assert_eq!(read(ByteRange::Suffix(60))?, Some(60));
        assert_eq!(read(ByteRange::FromStart(60, None))?, Some(40));
        for bad in [
            ByteRange::FromStart(0, None),
            ByteRange::FromStart(51, Some(50)),
            ByteRange::FromStart(0, Some(1 << 62)),
            ByteRange::FromStart(u64::MAX, Some(2)),
            ByteRange::FromStart(101, None),
            ByteRange::Suffix(101),
        ] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
        assert!(store.get(&StoreKey::new("missing")?)?.is_none());
        let exact = BoundedStore::new(FilesystemStore::new(dir.path())?, 200, Some(99));
        assert!(
            exact.get(&key).is_err(),
            "an object of 100 bytes where 99 belong"
        );
        let blind = BoundedStore::new_unsized(FilesystemStore::new(dir.path())?, 60, None);
        let read = |r: ByteRange| blind.get_partial(&key, r).map(|b| b.map(|b| b.len()));
        assert_eq!(read(ByteRange::FromStart(50, Some(50)))?, Some(50));
        assert_eq!(read(ByteRange::Suffix(60))?, Some(60));
        for bad in [
            ByteRange::FromStart(0, None),
            ByteRange::FromStart(0, Some(1 << 62)),
            ByteRange::Suffix(101),
        ] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
        assert!(blind.get(&StoreKey::new("missing")?)?.is_none());
        let exact = BoundedStore::new_unsized(FilesystemStore::new(dir.path())?, 200, Some(99));
        assert!(exact.get(&key).is_err());
        Ok(())
    }
}
