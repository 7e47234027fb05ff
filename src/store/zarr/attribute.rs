//! The `brickwork` attribute of an array being written (store-format/README.md, section
//! 6): format version, write state, fingerprint and write id.

use crate::store::{BRICKWORK_ATTRIBUTE, FORMAT_VERSION, WriteOptions};

/// The `brickwork` attribute: format version, write state, the fingerprint of the
/// computation being written when there is one, and the id of the write that created the
/// array (store-format/README.md, section 6).
pub(super) fn brickwork_attribute(
    complete: bool,
    fingerprint: Option<&str>,
    write_id: Option<&str>,
) -> serde_json::Value {
    let mut attr = serde_json::json!({ "format_version": FORMAT_VERSION, "complete": complete });
    if let Some(f) = fingerprint {
        attr[FINGERPRINT_KEY] = f.into();
    }
    if let Some(id) = write_id {
        attr[WRITE_ID_KEY] = id.into();
    }
    attr
}

/// The key of the computation's fingerprint in the `brickwork` attribute.
pub(super) const FINGERPRINT_KEY: &str = "fingerprint";

/// The key of the write id in the `brickwork` attribute.
pub(super) const WRITE_ID_KEY: &str = "write_id";

/// A new write id: 128 bits from the process's randomly seeded hasher, the time and a
/// counter, as 32 hex digits. Unique per write, not secret.
pub(super) fn new_write_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u64(count ^ salt);
        h.write_u32(std::process::id());
        h.finish()
    };
    format!("{:016x}{:016x}", half(0), half(1))
}

/// The write id in the `brickwork` attribute of `attributes`, if any.
pub(super) fn write_id_of(attributes: &serde_json::Value) -> Option<&str> {
    attributes
        .get(BRICKWORK_ATTRIBUTE)?
        .get(WRITE_ID_KEY)?
        .as_str()
}

/// The attributes of an array being written: the user's, and the `brickwork` attribute.
pub(super) fn sink_attributes(
    opts: &WriteOptions,
    complete: bool,
    fingerprint: Option<&str>,
    write_id: Option<&str>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut attributes = opts.attributes.clone();
    attributes.insert(
        BRICKWORK_ATTRIBUTE.into(),
        brickwork_attribute(complete, fingerprint, write_id),
    );
    attributes
}

/// The key of the last region write in the `brickwork` attribute.
pub(super) const REGION_WRITE_KEY: &str = "region_write";

/// The last region write into an array ([`super::ZarrRegion`]), as the `brickwork`
/// attribute records it: a new id for every region write, the region, and whether it
/// finished. Readers count it in the array's generation (`zarr/generation.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct RegionWrite {
    /// 32 hex digits, new for every region write.
    pub(super) id: String,
    /// The region, as `[0..10, 5..30]`.
    pub(super) region: String,
    /// False from the start of the region write until it has written its last chunk.
    pub(super) complete: bool,
}

impl RegionWrite {
    /// As stored under [`REGION_WRITE_KEY`].
    pub(super) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "id": self.id, "region": self.region, "complete": self.complete })
    }
}

/// The region write recorded in `attributes`, if any.
pub(super) fn region_write_of(attributes: &serde_json::Value) -> Option<RegionWrite> {
    let r = attributes.get(BRICKWORK_ATTRIBUTE)?.get(REGION_WRITE_KEY)?;
    Some(RegionWrite {
        id: r.get("id")?.as_str()?.to_owned(),
        region: r
            .get("region")
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_owned(),
        complete: r.get("complete").and_then(|v| v.as_bool()) != Some(false),
    })
}
