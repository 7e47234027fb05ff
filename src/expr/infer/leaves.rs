//! Leaves of the graph: a Zarr source, an in-memory array, a generator.

use std::sync::Arc;

use crate::block::Block;
use crate::dtype::DType;
use crate::expr::kind::{ExprKind, Generator};
use crate::expr::{Expr, ExprRef};
use crate::grid::ChunkGrid;
use crate::store::BlockRead;

/// A Zarr array source.
pub(crate) fn source(source: Arc<dyn BlockRead>) -> ExprRef {
    let grid = ChunkGrid::regular(source.shape(), source.chunk_shape());
    let dtype = source.dtype();
    Expr::new(ExprKind::Source { source }, dtype, grid)
}

/// An in-memory array cut into `grid`.
pub(crate) fn memory(data: Block, grid: ChunkGrid) -> ExprRef {
    let dtype = data.dtype();
    Expr::new(
        ExprKind::Memory {
            data: Arc::new(data.into_standard_layout()),
        },
        dtype,
        grid,
    )
}

/// A generator of `dtype` values on `grid`.
pub(crate) fn generator(generator: Generator, dtype: DType, grid: ChunkGrid) -> ExprRef {
    Expr::new(ExprKind::Generator { generator }, dtype, grid)
}
