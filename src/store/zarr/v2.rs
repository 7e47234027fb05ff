//! Zarr v2 metadata as numcodecs and zarr-python write it: the `.zarray` document, its
//! compressor and fill value, and atomic JSON metadata writes.

use std::path::Path;

use zarrs::storage::{Bytes, StoreKey};

use super::WriteStore;
use super::error::store_err_from;
use crate::dtype::DType;
use crate::error::Result;
use crate::store::Codec;

/// The fill value (zero of the dtype) as JSON: `false`, `0` or `0.0`.
pub(super) fn fill_json(dtype: DType) -> serde_json::Value {
    match dtype {
        DType::Bool => serde_json::Value::Bool(false),
        DType::F32 | DType::F64 => serde_json::json!(0.0),
        // zarr-python's v2 spelling of a complex fill value: [real, imag].
        DType::C64 | DType::C128 => serde_json::json!([0.0, 0.0]),
        DType::I8
        | DType::I16
        | DType::I32
        | DType::I64
        | DType::U8
        | DType::U16
        | DType::U32
        | DType::U64 => serde_json::json!(0),
    }
}

/// The Zarr v2 `compressor` of `codec`, as numcodecs (and so zarr-python) writes it.
pub(super) fn v2_compressor(codec: Codec) -> Result<serde_json::Value> {
    codec.validate()?;
    Ok(match codec {
        Codec::None => serde_json::Value::Null,
        Codec::Zstd { level } => serde_json::json!({ "id": "zstd", "level": level }),
        Codec::Gzip { level } => serde_json::json!({ "id": "gzip", "level": level }),
        Codec::Blosc { cname, level } => serde_json::json!({
            "id": "blosc", "cname": cname.name(), "clevel": level, "shuffle": 1, "blocksize": 0
        }),
    })
}

/// The `.zarray` document of a Zarr v2 array (store-format/README.md, section 8).
pub(super) fn v2_zarray(
    shape: &[usize],
    chunks: &[usize],
    dtype: DType,
    codec: Codec,
) -> Result<serde_json::Value> {
    Ok(serde_json::json!({
        "zarr_format": 2,
        "shape": shape,
        "chunks": chunks,
        "dtype": dtype.numpy_descr(),
        "fill_value": fill_json(dtype),
        "order": "C",
        "filters": null,
        "dimension_separator": ".",
        "compressor": v2_compressor(codec)?,
    }))
}

/// Writes a JSON document atomically (`<key>.tmp`, then rename), pretty-printed as
/// zarr-python writes metadata.
pub(super) fn put_json(
    path: &Path,
    store: &WriteStore,
    key: &str,
    value: &serde_json::Value,
) -> Result<()> {
    // The error is kept as the source, and its text in the message.
    let err = |e: crate::error::BoxError| {
        let detail = e.to_string();
        store_err_from(path, Some(key.into()), detail, e)
    };
    let store_key = StoreKey::new(key).map_err(|e| err(e.into()))?;
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| err(e.into()))?;
    store
        .set(&store_key, Bytes::from(bytes))
        .map_err(|e| store_err_from(path, Some(key.into()), "cannot write metadata", e))
}
