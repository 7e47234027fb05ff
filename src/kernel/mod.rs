//! Leaf: block kernels. Pure functions from blocks to blocks, per dtype, with no knowledge
//! of plans, tasks or stores: elementwise functions, reductions, the counter-based random
//! generator and other generators, and gathering a strided, transposed view out of the
//! blocks of another grid.

pub mod elementwise;
pub mod gather;
pub mod generate;
pub mod random;
pub mod reduce;

use crate::block::Block;
pub use reduce::Partial;

/// What a task produces: a block of an array, or a partial reduction.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A block of an array.
    Block(Block),
    /// A partial reduction.
    Partial(Partial),
}

impl Value {
    /// Bytes held.
    pub fn nbytes(&self) -> usize {
        match self {
            Value::Block(b) => b.nbytes(),
            Value::Partial(p) => p.nbytes(),
        }
    }
}
