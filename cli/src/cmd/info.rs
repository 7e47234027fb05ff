//! `brickwork info`: metadata and storage figures of a Zarr array or group.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use brickwork::ReadOptions;
use brickwork::store::ZarrSource;
use brickwork::units::format_bytes;
use serde_json::{Map, Value, json};

use crate::cli::InfoArgs;

pub(crate) fn run(args: &InfoArgs) -> Result<()> {
    let info = if brickwork::store::is_remote(&args.path) {
        describe_remote(&args.path, &args.storage.options())?
    } else {
        if std::fs::symlink_metadata(&args.path).is_err() {
            anyhow::bail!("{}: not found", args.path.display());
        }
        describe(&args.path)?
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        print_text(&info, 0);
    }
    Ok(())
}

/// The node's metadata document: `zarr.json` (v3) or `.zarray`/`.zgroup` + `.zattrs` (v2).
fn metadata(path: &Path) -> Result<(u8, Value)> {
    let read = |name: &str| -> Result<Option<Value>> {
        let p = path.join(name);
        if !p.exists() {
            return Ok(None);
        }
        let text =
            std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
        Ok(Some(serde_json::from_str(&text).with_context(|| {
            format!("{} is not valid JSON", p.display())
        })?))
    };
    if let Some(v) = read("zarr.json")? {
        return Ok((3, v));
    }
    let attrs = read(".zattrs")?.unwrap_or_else(|| json!({}));
    for (name, node) in [(".zarray", "array"), (".zgroup", "group")] {
        if let Some(mut v) = read(name)? {
            v["node_type"] = json!(node);
            v["attributes"] = attrs;
            return Ok((2, v));
        }
    }
    anyhow::bail!(
        "{} is not a Zarr array or group (no zarr.json, .zarray or .zgroup)",
        path.display()
    )
}

fn describe(path: &Path) -> Result<Value> {
    let (format, meta) = metadata(path)?;
    let attributes = meta.get("attributes").cloned().unwrap_or_else(|| json!({}));
    if meta.get("node_type").and_then(Value::as_str) == Some("group") {
        let mut members = Vec::new();
        for child in children(path)? {
            if metadata(&child).is_ok() {
                members.push(describe(&child)?);
            }
        }
        return Ok(json!({
            "path": path.display().to_string(),
            "node_type": "group",
            "zarr_format": format,
            "attributes": attributes,
            "members": members,
        }));
    }
    let source = ZarrSource::open_with(
        path,
        &ReadOptions {
            allow_incomplete: true,
            ..ReadOptions::default()
        },
    )?;
    array_info(path, format, &meta, attributes, &source)
}

/// An array on an object store: its metadata as zarrs read it (groups are not listed
/// there).
fn describe_remote(path: &Path, storage: &brickwork::StorageOptions) -> Result<Value> {
    let source = ZarrSource::open_with(
        path,
        &ReadOptions {
            allow_incomplete: true,
            storage: storage.clone(),
        },
    )
    .with_context(|| format!("cannot open {}", path.display()))?;
    let meta = source.metadata();
    let attributes = meta
        .get("attributes")
        .cloned()
        .or_else(|| Some(Value::Object(source.attributes())))
        .unwrap_or_else(|| json!({}));
    array_info(
        source.path(),
        source.zarr_format(),
        &meta,
        attributes,
        &source,
    )
}

/// The description of an array: its metadata `meta` (format `format`) and what is stored.
fn array_info(
    path: &Path,
    format: u8,
    meta: &Value,
    attributes: Value,
    source: &ZarrSource,
) -> Result<Value> {
    let (codecs, fill) = if format == 3 {
        (meta.get("codecs").cloned(), meta.get("fill_value").cloned())
    } else {
        let mut c = Map::new();
        for key in ["order", "filters", "compressor"] {
            c.insert(key.into(), meta.get(key).cloned().unwrap_or(Value::Null));
        }
        (Some(Value::Object(c)), meta.get("fill_value").cloned())
    };
    let stored = source.stored_objects()?;
    let nbytes = source.shape().iter().product::<usize>() * source.dtype().size();
    Ok(json!({
        "path": path.display().to_string(),
        "node_type": "array",
        "zarr_format": format,
        "shape": source.shape(),
        "dtype": source.dtype().name(),
        "chunks": source.chunk_shape(),
        "shards": source.shard_shape(),
        "codecs": codecs,
        "fill_value": fill,
        "attributes": attributes,
        "chunks_stored": stored.count,
        "chunks_expected": stored.expected,
        "bytes_stored": stored.bytes,
        "bytes_uncompressed": nbytes,
        "compression_ratio": if stored.bytes > 0 { Some(nbytes as f64 / stored.bytes as f64) } else { None },
        "write_complete": !source.is_incomplete_write(),
        "region_write_unfinished": source.unfinished_region_write().map(|(region, writer)| {
            json!({ "region": region, "writer": writer })
        }),
    }))
}

/// Sub-directories of a group, sorted.
fn children(path: &Path) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot list {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    Ok(out)
}

fn print_text(info: &Value, depth: usize) {
    let pad = "  ".repeat(depth);
    let field = |k: &str| info.get(k).map(|v| v.to_string()).unwrap_or_default();
    let tuple = |k: &str| -> String {
        match info.get(k).and_then(Value::as_array) {
            Some(a) => brickwork::grid::fmt_shape(
                &a.iter()
                    .filter_map(Value::as_u64)
                    .map(|v| v as usize)
                    .collect::<Vec<_>>(),
            ),
            None => "none".into(),
        }
    };
    println!(
        "{pad}{} ({}, zarr format {})",
        field("path").trim_matches('"'),
        field("node_type").trim_matches('"'),
        field("zarr_format")
    );
    if info["node_type"] == "group" {
        println!("{pad}  attributes: {}", field("attributes"));
        for m in info["members"].as_array().into_iter().flatten() {
            print_text(m, depth + 1);
        }
        return;
    }
    println!("{pad}  shape: {}", tuple("shape"));
    println!("{pad}  dtype: {}", field("dtype").trim_matches('"'));
    println!("{pad}  chunks: {}", tuple("chunks"));
    println!("{pad}  shards: {}", tuple("shards"));
    println!("{pad}  codecs: {}", field("codecs"));
    println!("{pad}  fill value: {}", field("fill_value"));
    println!("{pad}  attributes: {}", field("attributes"));
    println!(
        "{pad}  chunks stored: {} of {}",
        field("chunks_stored"),
        field("chunks_expected")
    );
    let stored = info["bytes_stored"].as_u64().unwrap_or(0);
    let raw = info["bytes_uncompressed"].as_u64().unwrap_or(0);
    let ratio = info["compression_ratio"]
        .as_f64()
        .map_or("n/a".into(), |r| format!("{r:.2}x"));
    println!(
        "{pad}  bytes stored: {} ({} uncompressed, ratio {ratio})",
        format_bytes(stored),
        format_bytes(raw)
    );
    if info["write_complete"] == false {
        println!("{pad}  WARNING: written by brickwork but the write did not finish");
    }
    if let Some(r) = info["region_write_unfinished"].as_object() {
        let region = r.get("region").and_then(Value::as_str).unwrap_or("?");
        match r.get("writer").and_then(Value::as_str) {
            Some(writer) => println!(
                "{pad}  WARNING: a region write into {region} is running ({writer}); reading \
                 the array is refused until it finishes"
            ),
            None => println!(
                "{pad}  WARNING: a region write into {region} was interrupted: its chunks may \
                 be partly written; run it again (reading the array is refused until then, \
                 unless --allow-incomplete)"
            ),
        }
    }
}
