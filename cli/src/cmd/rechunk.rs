//! `brickwork rechunk`: write a Zarr array with new chunks.

use anyhow::{Context, Result};

use super::{compute_options, open_zarr, write_options};
use crate::cli::{RechunkArgs, usage};

pub(crate) fn run(args: &RechunkArgs) -> Result<()> {
    let opts = compute_options(&args.exec)?;
    if write_options(&args.write, &args.exec.storage, None)?
        .chunks
        .is_none()
    {
        return Err(usage("rechunk needs --chunks C1,C2,.."));
    }
    let x = open_zarr(&args.src, &args.exec)?;
    let w = write_options(&args.write, &args.exec.storage, Some(x.ndim()))?;
    x.to_zarr_with(&args.dst, &w, &opts).with_context(|| {
        format!(
            "cannot rechunk {} into {}",
            args.src.display(),
            args.dst.display()
        )
    })?;
    Ok(())
}
