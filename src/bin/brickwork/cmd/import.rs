//! `brickwork import`: .npy, raw binary, CSV or Zarr into a new Zarr array.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use brickwork::io::csv::read_csv;
use brickwork::io::npy::NpyFile;
use brickwork::io::raw::{ByteOrder, RawFile};
use brickwork::{Array, DType};

use super::{compute_options, open_zarr, parse_list, write_options};
use crate::cli::{ImportArgs, usage};

fn extension(p: &Path) -> String {
    p.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The source as a lazy array (memory-mapped for .npy and raw).
fn open_source(args: &ImportArgs) -> Result<Array> {
    let src = &args.src;
    let is_zarr = src.join("zarr.json").exists() || src.join(".zarray").exists();
    if is_zarr {
        return open_zarr(src, &args.exec);
    }
    if !src.exists() {
        anyhow::bail!("{}: no such file or directory", src.display());
    }
    let raw_flags = args.dtype.is_some() || args.shape.is_some();
    match extension(src).as_str() {
        "npy" if !raw_flags => {
            let f = NpyFile::open(src, None)
                .with_context(|| format!("cannot import {}", src.display()))?;
            Ok(Array::from_source(Arc::new(f)))
        }
        "csv" | "txt" | "tsv" if !raw_flags => {
            let delimiter = u8::try_from(args.delimiter)
                .map_err(|_| usage("--delimiter must be a single ASCII character"))?;
            let block = read_csv(src, delimiter, args.skip_header, None)?;
            let chunks = block.shape().to_vec();
            Ok(Array::from_ndarray(block, &chunks)?)
        }
        _ => {
            let dtype_name = args.dtype.as_deref().ok_or_else(|| {
                usage(format!(
                    "{}: not a .npy, .csv or Zarr source; for raw binary give --dtype and --shape",
                    src.display()
                ))
            })?;
            let dtype = DType::from_name(dtype_name)
                .ok_or_else(|| usage(format!("--dtype: unknown dtype {dtype_name:?}")))?;
            let shape = parse_list(
                args.shape
                    .as_deref()
                    .ok_or_else(|| usage("raw import needs --shape N1,N2,.."))?,
                "--shape",
            )?;
            let order: ByteOrder = args
                .byte_order
                .parse()
                .map_err(|e: brickwork::Error| usage(format!("--byte-order: {e}")))?;
            let f = RawFile::open(src, dtype, &shape, order, None)?;
            Ok(Array::from_source(Arc::new(f)))
        }
    }
}

pub(crate) fn run(args: &ImportArgs) -> Result<()> {
    let opts = compute_options(&args.exec)?;
    write_options(&args.write, None)?;
    let x = open_source(args)?;
    let w = write_options(&args.write, Some(x.ndim()))?;
    x.to_zarr_with(&args.dst, &w, &opts).with_context(|| {
        format!(
            "cannot import {} into {}",
            args.src.display(),
            args.dst.display()
        )
    })?;
    Ok(())
}
