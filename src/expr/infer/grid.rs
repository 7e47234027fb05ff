//! Grids and their limits: user-given chunks checked into a regular grid, the refusal of
//! grids with too many blocks, and `rechunk`.

use crate::error::{Error, Result};
use crate::expr::kind::ExprKind;
use crate::expr::{Expr, ExprRef};
use crate::grid::{ChunkGrid, MAX_BLOCKS, fmt_shape};

/// Checks user-given chunk sizes against a shape and builds the regular grid.
///
/// # Errors
/// [`Error::RankMismatch`] for chunks of another rank; [`Error::InvalidArgument`] for a zero
/// chunk on a non-empty axis.
pub fn regular_grid(shape: &[usize], chunks: &[usize]) -> Result<ChunkGrid> {
    if shape.len() != chunks.len() {
        return Err(Error::RankMismatch {
            op: "chunks".into(),
            what: format!("chunks {}", fmt_shape(chunks)),
            expected: shape.len(),
            found: chunks.len(),
            hint: format!("the shape is {}", fmt_shape(shape)),
        });
    }
    if let Some(axis) = (0..shape.len()).find(|&i| chunks[i] == 0 && shape[i] > 0) {
        return Err(Error::invalid(format!(
            "chunk size 0 on axis {axis} of shape {} (chunk sizes must be at least 1)",
            fmt_shape(shape)
        )));
    }
    let blocks = shape.iter().zip(chunks).try_fold(1u64, |acc, (&n, &c)| {
        acc.checked_mul(n.div_ceil(c.max(1)).max(1) as u64)
    });
    if blocks.is_none_or(|b| b > MAX_BLOCKS) {
        return Err(Error::invalid(format!(
            "shape {} in chunks of {} makes more than {MAX_BLOCKS} blocks; use larger chunks",
            fmt_shape(shape),
            fmt_shape(chunks)
        )));
    }
    Ok(ChunkGrid::regular(shape, chunks))
}

/// Refuses a grid of more than [`MAX_BLOCKS`] blocks.
pub(in crate::expr) fn check_blocks(grid: &ChunkGrid) -> Result<()> {
    if grid.nblocks() as u64 > MAX_BLOCKS {
        return Err(Error::invalid(format!(
            "an array of shape {} in {} blocks exceeds {MAX_BLOCKS} blocks; use larger chunks",
            fmt_shape(&grid.shape()),
            grid.nblocks()
        )));
    }
    Ok(())
}

/// The same values on another grid.
pub(crate) fn rechunk(input: &ExprRef, grid: ChunkGrid) -> Result<ExprRef> {
    if grid.shape() != input.shape() {
        return Err(Error::ShapeMismatch {
            op: "rechunk".into(),
            lhs: input.shape(),
            rhs: grid.shape(),
            hint: "the new chunks must cover the same shape".into(),
        });
    }
    if &grid == input.grid() {
        return Ok(input.clone());
    }
    Ok(Expr::new(
        ExprKind::Rechunk {
            input: input.clone(),
        },
        input.dtype(),
        grid,
    ))
}
