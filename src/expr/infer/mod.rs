//! Node constructors: shape, dtype and chunk-grid inference, and the checks that report user
//! mistakes before anything is planned.

mod broadcast;
mod contract;
mod elementwise;
mod grid;
mod index;
mod leaves;
mod map_blocks;
mod reduce;
mod structure;

pub use broadcast::broadcast_shapes;
pub(crate) use broadcast::broadcast_to;
pub(crate) use contract::contract;
pub(crate) use elementwise::{binary, cast, unary, where_};
pub(in crate::expr) use grid::check_blocks;
pub(crate) use grid::rechunk;
pub use grid::regular_grid;
pub(crate) use index::index;
pub use index::{AxisIndex, normalize_axes};
pub(crate) use leaves::{generator, memory, source};
pub(crate) use map_blocks::{MapOutput, map_blocks};
pub(crate) use reduce::{reduce, scan};
pub(crate) use structure::{concat, transpose};
