//! `brickwork export`: a Zarr array, or a region of it, to .npy, raw, CSV or Zarr.

use anyhow::{Context, Result};
use brickwork::io::ByteOrder;
use brickwork::io::npy::NpyWriter;
use brickwork::io::raw::RawWriter;

use super::{compute_options, open_zarr, parse_region, write_options};
use crate::cli::{ExportArgs, usage};

pub(crate) fn run(args: &ExportArgs) -> Result<()> {
    let opts = compute_options(&args.exec)?;
    write_options(&args.write, &args.exec.storage, None)?;
    let mut x = open_zarr(&args.src, &args.exec)?;
    if let Some(region) = &args.region {
        x = x
            .index_numpy(&parse_region(region)?)
            .map_err(|e| usage(format!("--region: {e}")))?;
    }
    let dst = &args.dst;
    let ext = dst
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let context = || format!("cannot export {} to {}", args.src.display(), dst.display());
    if args.write.resume && matches!(ext.as_str(), "npy" | "raw" | "bin" | "csv") {
        return Err(usage(format!(
            "--resume applies to Zarr outputs; {} is rewritten whole (drop --resume)",
            dst.display()
        )));
    }
    if brickwork::store::is_remote(dst)
        && matches!(ext.as_str(), "npy" | "raw" | "bin" | "csv" | "txt" | "tsv")
    {
        return Err(usage(format!(
            "{}: .npy, raw and CSV exports are written to a local file; give a local path (or export to a Zarr array at the URL)",
            dst.display()
        )));
    }
    match ext.as_str() {
        "npy" => {
            let w = NpyWriter::create(dst, x.chunks()?, x.dtype(), args.write.overwrite)
                .with_context(context)?;
            x.compute_into(&w, &opts).with_context(context)?;
            w.finish().with_context(context)?;
        }
        "raw" | "bin" => {
            let w = RawWriter::create(
                dst,
                x.chunks()?,
                x.dtype(),
                ByteOrder::Little,
                args.write.overwrite,
            )
            .with_context(context)?;
            x.compute_into(&w, &opts).with_context(context)?;
            w.finish().with_context(context)?;
        }
        "csv" | "txt" | "tsv" => {
            let delimiter = u8::try_from(args.delimiter)
                .map_err(|_| usage("--delimiter must be a single ASCII character"))?;
            x.to_csv(dst, delimiter, args.write.overwrite, &opts)
                .with_context(context)?;
        }
        _ => {
            let w = write_options(&args.write, &args.exec.storage, Some(x.ndim()))?;
            x.to_zarr_with(dst, &w, &opts).with_context(context)?;
        }
    }
    Ok(())
}
