//! Damaged chunk objects: truncated, empty, oversized and bit-flipped chunk files of every
//! codec and format, raw chunks read directly (mapped and single-read), and shard indexes
//! that lie.

use std::path::Path;
use std::sync::Arc;

use brickwork::store::{ZarrFormat, ZarrSource};
use brickwork::{Codec, WriteOptions};
use zarrs::array::codec::{BytesCodec, Crc32cCodec, ZstdCodec};
use zarrs::array::{ArrayBuilder, BytesToBytesCodecTraits, FillValue, data_type};
use zarrs::filesystem::FilesystemStore;

use super::{assert_store_error, opts, sum, write};
use crate::common::TestResult;

/// What is done to a chunk object.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Damage {
    /// Cut to half its length.
    Truncated,
    /// Cut to zero bytes.
    Empty,
    /// Its bytes twice over.
    Doubled,
    /// Grown (sparsely) to 64 GiB: reading it whole would exhaust memory.
    Huge,
}

const DAMAGES: [Damage; 4] = [
    Damage::Truncated,
    Damage::Empty,
    Damage::Doubled,
    Damage::Huge,
];

const CODECS: [Codec; 4] = [
    Codec::None,
    Codec::Zstd { level: 3 },
    Codec::Gzip { level: 5 },
    Codec::Blosc {
        cname: brickwork::store::BloscCname::Lz4,
        level: 5,
    },
];

fn damage(file: &Path, how: Damage) -> std::io::Result<()> {
    let bytes = std::fs::read(file)?;
    match how {
        Damage::Truncated => std::fs::write(file, &bytes[..bytes.len() / 2]),
        Damage::Empty => std::fs::write(file, []),
        Damage::Doubled => std::fs::write(file, [bytes.clone(), bytes].concat()),
        Damage::Huge => std::fs::File::options()
            .write(true)
            .open(file)?
            .set_len(64 << 30),
    }
}

/// The key of chunk (0, 1) in `format`.
fn key(format: ZarrFormat) -> &'static str {
    match format {
        ZarrFormat::V2 => "0.1",
        ZarrFormat::V3 => "c/0/1",
    }
}

/// Reading after `how` is an error naming the chunk; a doubled object may also read as the
/// original (gzip and shards ignore trailing bytes), never as anything else.
fn check_damaged(path: &Path, chunk_key: &str, how: Damage, want: f64) -> TestResult {
    damage(&path.join(chunk_key), how)?;
    match sum(path) {
        Ok(got) if how == Damage::Doubled => assert_eq!(got, want, "{path:?} {how:?}"),
        Ok(got) => panic!("{path:?} {how:?}: read {got}, not an error"),
        Err(e) => assert_store_error(&e, path, chunk_key),
    }
    Ok(())
}

#[test]
fn damaged_chunks_of_every_codec_and_format_name_the_chunk() -> TestResult {
    let dir = tempfile::tempdir()?;
    for format in [ZarrFormat::V3, ZarrFormat::V2] {
        for codec in CODECS {
            for how in DAMAGES {
                let path = dir.path().join(format!("{format}-{codec}-{how:?}.zarr"));
                let want = write(&path, &[100, 90], &[50, 50], &opts(format, codec))?;
                check_damaged(&path, key(format), how, want)?;
            }
        }
    }
    Ok(())
}

/// Raw chunks of 1 MiB and more are memory-mapped (`store::direct`); a file of the wrong
/// size is never mapped (so never read past its end, which would be a `SIGBUS`).
#[test]
fn damaged_mapped_chunks_are_not_mapped_and_name_the_chunk() -> TestResult {
    let dir = tempfile::tempdir()?;
    for format in [ZarrFormat::V3, ZarrFormat::V2] {
        for how in DAMAGES {
            let path = dir.path().join(format!("{format}-{how:?}.zarr"));
            let want = write(&path, &[512, 600], &[512, 256], &opts(format, Codec::None))?;
            let src = ZarrSource::open(&path)?;
            assert!(src.map_chunk(&[0, 1])?.is_some(), "1 MiB chunks are mapped");
            damage(&path.join(key(format)), how)?;
            assert!(src.map_chunk(&[0, 1])?.is_none(), "{how:?} is mapped");
            match sum(&path) {
                Ok(got) => panic!("{how:?}: read {got} (written: {want}), not an error"),
                Err(e) => assert_store_error(&e, &path, key(format)),
            }
        }
    }
    Ok(())
}

/// Flips one bit at each of `positions` evenly spaced bytes of chunk `c/0/0` of `path` (the
/// last byte of an 8-byte word: the sign and exponent of a raw float64, so that the change
/// shows in the sum) and returns the sums read (`None` for an error naming the chunk).
fn sums_after_flips(
    path: &Path,
    positions: usize,
) -> Result<Vec<Option<f64>>, Box<dyn std::error::Error>> {
    let file = path.join("c/0/0");
    let original = std::fs::read(&file)?;
    let mut sums = Vec::new();
    for i in 0..positions {
        let mut bytes = original.clone();
        let at = ((i * bytes.len() / positions) | 7).min(bytes.len() - 1);
        bytes[at] ^= 1 << (i % 8);
        std::fs::write(&file, &bytes)?;
        match sum(path) {
            Ok(s) => sums.push(Some(s)),
            Err(e) => {
                assert_store_error(&e, path, "c/0/0");
                sums.push(None);
            }
        }
    }
    std::fs::write(&file, &original)?;
    Ok(sums)
}

/// A v3 array `[bytes, <codecs>]` written by zarrs itself (brickwork does not write
/// checksums); returns its sum.
fn write_with_codecs(
    path: &Path,
    codecs: Vec<Arc<dyn BytesToBytesCodecTraits>>,
) -> Result<f64, Box<dyn std::error::Error>> {
    let store = Arc::new(FilesystemStore::new(path)?);
    let array = ArrayBuilder::new(
        vec![40, 40],
        vec![40, 40],
        data_type::float64(),
        FillValue::from(0.0f64),
    )
    .array_to_bytes_codec(Arc::new(BytesCodec::little()))
    .bytes_to_bytes_codecs(codecs)
    .build(store, "/")?;
    array.store_metadata()?;
    let data = crate::common::data(&[40, 40], 3);
    array.store_chunk(&[0, 0], data.clone())?;
    Ok(data.sum())
}

/// A flipped bit is an error or reads the exact original (a flag that changes nothing)
/// wherever a checksum covers the chunk: crc32c, zstd with its content checksum, gzip's
/// CRC-32. Without one (raw, zstd as brickwork and zarr-python write it, blosc) a flip in
/// the data changes values silently; that is a property of the format, documented here.
#[test]
fn bit_flips_are_errors_where_a_checksum_covers_the_chunk() -> TestResult {
    let dir = tempfile::tempdir()?;
    let checked: Vec<(&str, Vec<Arc<dyn BytesToBytesCodecTraits>>)> = vec![
        ("crc32c", vec![Arc::new(Crc32cCodec::new())]),
        ("zstd-checksum", vec![Arc::new(ZstdCodec::new(3, true))]),
    ];
    for (name, codecs) in checked {
        let path = dir.path().join(name);
        let want = write_with_codecs(&path, codecs)?;
        for got in sums_after_flips(&path, 64)? {
            assert!(
                got.is_none_or(|g| g == want),
                "{name}: silently read {got:?}"
            );
        }
    }
    let gzip = dir.path().join("gzip.zarr");
    let want = write(
        &gzip,
        &[40, 40],
        &[40, 40],
        &opts(ZarrFormat::V3, CODECS[2]),
    )?;
    for got in sums_after_flips(&gzip, 64)? {
        assert!(got.is_none_or(|g| g == want), "gzip: silently read {got:?}");
    }
    let raw = dir.path().join("raw.zarr");
    let want = write(
        &raw,
        &[40, 40],
        &[40, 40],
        &opts(ZarrFormat::V3, Codec::None),
    )?;
    let sums = sums_after_flips(&raw, 16)?;
    assert!(
        sums.iter().all(|s| s.is_some_and(|s| s != want)),
        "raw flips go unnoticed: {sums:?}"
    );
    Ok(())
}

/// CRC-32C (Castagnoli), as the shard index codec computes it.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0x82F6_3B78 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// Rewrites entry `entry` of the index at the end of `shard` (`n` inner chunks, little-endian
/// offset and length, then the CRC-32C of the index) and fixes the checksum, as a hostile
/// writer would.
fn forge_index(shard: &Path, n: usize, entry: usize, offset: u64, len: u64) -> std::io::Result<()> {
    let mut bytes = std::fs::read(shard)?;
    let start = bytes.len() - (16 * n + 4);
    let at = start + 16 * entry;
    bytes[at..at + 8].copy_from_slice(&offset.to_le_bytes());
    bytes[at + 8..at + 16].copy_from_slice(&len.to_le_bytes());
    let crc = crc32c(&bytes[start..start + 16 * n]);
    let end = bytes.len();
    bytes[end - 4..].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(shard, bytes)
}

/// Shard indexes: a damaged index fails its checksum; a forged one (valid checksum) that
/// points past the end of the shard, or claims 2^62 bytes, is refused before anything is
/// allocated. Every error names the shard and the inner chunk.
#[test]
fn corrupt_and_forged_shard_indexes_name_the_shard() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sharded = WriteOptions {
        shards: Some(vec![50, 50]),
        ..WriteOptions::default()
    };
    let forged: [(u64, u64); 4] = [
        (0, 1 << 62),
        (1 << 63, 800),
        (1_000_000, 800),
        (u64::MAX - 7, 16),
    ];
    for (i, (offset, len)) in forged.into_iter().enumerate() {
        let path = dir.path().join(format!("forged{i}.zarr"));
        write(&path, &[100, 100], &[10, 10], &sharded)?;
        forge_index(&path.join("c/0/1"), 25, 5, offset, len)?;
        let err = sum(&path).expect_err("a forged index entry is an error");
        assert_store_error(&err, &path, "c/0/1 (inner chunk [");
    }
    for how in [Damage::Truncated, Damage::Empty, Damage::Huge] {
        let path = dir.path().join(format!("{how:?}.zarr"));
        write(&path, &[100, 100], &[10, 10], &sharded)?;
        damage(&path.join("c/0/1"), how)?;
        let err = sum(&path).expect_err("a damaged shard is an error");
        assert_store_error(&err, &path, "c/0/1 (inner chunk [");
    }
    let path = dir.path().join("flipped.zarr");
    write(&path, &[100, 100], &[10, 10], &sharded)?;
    let shard = path.join("c/0/1");
    let mut bytes = std::fs::read(&shard)?;
    let at = bytes.len() - 100;
    bytes[at] ^= 4;
    std::fs::write(&shard, bytes)?;
    let err = sum(&path).expect_err("a flipped index bit fails the checksum");
    assert_store_error(&err, &path, "c/0/1 (inner chunk [");
    Ok(())
}
