//! `brickwork import`: .npy, raw binary, CSV or Zarr into a new Zarr array.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use brickwork::io::csv::CsvFormat;
use brickwork::io::npy::NpyFile;
use brickwork::io::raw::RawFile;
use brickwork::io::{ByteOrder, band_bytes, banded_chunks};
use brickwork::{Array, ComputeOptions, DType};

use super::{compute_options, open_zarr, parse_list, write_options};
use crate::cli::{ImportArgs, usage};

fn extension(p: &Path) -> String {
    p.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The source as a lazy array (memory-mapped for .npy and raw, read in bands that suit the
/// memory limit of `opts`: see [`brickwork::io::band_bytes`]).
fn open_source(args: &ImportArgs, opts: &ComputeOptions) -> Result<Array> {
    let src = &args.src;
    let is_zarr = brickwork::store::is_remote(src)
        || src.join("zarr.json").exists()
        || src.join(".zarray").exists();
    if is_zarr {
        return open_zarr(src, &args.exec);
    }
    if !src.exists() {
        anyhow::bail!("{}: no such file or directory", src.display());
    }
    let raw_flags = args.dtype.is_some() || args.shape.is_some();
    match extension(src).as_str() {
        "npy" if !raw_flags => {
            let f = NpyFile::open_in_bands(src, band_bytes(opts.effective_memory_limit()))
                .with_context(|| format!("cannot import {}", src.display()))?;
            Ok(Array::from_source(Arc::new(f)))
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
            let bands = banded_chunks(
                &shape,
                dtype,
                false,
                band_bytes(opts.effective_memory_limit()),
            );
            let f = RawFile::open(src, dtype, &shape, order, Some(&bands))?;
            Ok(Array::from_source(Arc::new(f)))
        }
    }
}

/// True for a CSV source: a .csv, .txt or .tsv path that is not a directory (a Zarr array),
/// without raw flags.
fn is_csv(args: &ImportArgs) -> bool {
    let raw_flags = args.dtype.is_some() || args.shape.is_some();
    !raw_flags
        && !brickwork::store::is_remote(&args.src)
        && !args.src.is_dir()
        && matches!(extension(&args.src).as_str(), "csv" | "txt" | "tsv")
}

/// Streams a CSV source into Zarr (two passes, one band of chunks at a time).
fn import_csv(args: &ImportArgs, opts: &ComputeOptions) -> Result<()> {
    let delimiter = u8::try_from(args.delimiter)
        .map_err(|_| usage("--delimiter must be a single ASCII character"))?;
    let format = CsvFormat {
        delimiter,
        skip_header: args.skip_header,
        ..CsvFormat::default()
    };
    let w = write_options(&args.write, &args.exec.storage, None)?;
    brickwork::io::csv::import(&args.src, &args.dst, &format, &w, opts)
        .with_context(|| import_context(args))?;
    Ok(())
}

fn import_context(args: &ImportArgs) -> String {
    format!(
        "cannot import {} into {}",
        args.src.display(),
        args.dst.display()
    )
}

pub(crate) fn run(args: &ImportArgs) -> Result<()> {
    let opts = compute_options(&args.exec)?;
    write_options(&args.write, &args.exec.storage, None)?;
    if is_csv(args) {
        return import_csv(args, &opts);
    }
    let x = open_source(args, &opts)?;
    let w = write_options(&args.write, &args.exec.storage, Some(x.ndim()))?;
    x.to_zarr_with(&args.dst, &w, &opts)
        .with_context(|| import_context(args))?;
    Ok(())
}
