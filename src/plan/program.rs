//! Fused elementwise programs: what a stage evaluates per block when it fuses elementwise
//! operations, casts, views and generators between two materialization points ([`Program`],
//! a small DAG of [`PNode`]s). `plan::eval` evaluates them.

use std::sync::Arc;

use crate::block::Block;
use crate::dtype::DType;
use crate::expr::{BinaryOp, Generator, UnaryOp};
use crate::grid::ChunkGrid;
use crate::kernel::gather::ViewMap;

use super::StageId;

/// A fused elementwise computation over one block: a small DAG of [`PNode`]s.
#[derive(Debug, Clone)]
pub struct Program {
    /// The grid the program's output is cut into.
    pub grid: ChunkGrid,
    /// The output dtype.
    pub dtype: DType,
    /// Nodes, inputs before consumers; the last is the output.
    pub nodes: Vec<PNode>,
}

/// One node of a [`Program`]. Operand indices point to earlier nodes.
#[derive(Debug, Clone)]
pub enum PNode {
    /// Values drawn from a generator through a view.
    Generator {
        /// What to draw.
        generator: Generator,
        /// The dtype of the generated array.
        dtype: DType,
        /// The full shape of the generated array.
        shape: Vec<usize>,
        /// How the block addresses it.
        view: ViewMap,
    },
    /// Values from an in-memory array through a view.
    Memory {
        /// The array.
        data: Arc<Block>,
        /// How the block addresses it.
        view: ViewMap,
    },
    /// Values from the blocks of an earlier stage through a view.
    Blocks {
        /// The stage.
        stage: StageId,
        /// How the block addresses it.
        view: ViewMap,
    },
    /// A unary function.
    Unary {
        /// The function.
        op: UnaryOp,
        /// Operand.
        input: usize,
    },
    /// A binary function (operands share a dtype).
    Binary {
        /// The function.
        op: BinaryOp,
        /// Left operand.
        lhs: usize,
        /// Right operand.
        rhs: usize,
    },
    /// `where(cond, x, y)`.
    Where {
        /// Condition.
        cond: usize,
        /// Where true.
        x: usize,
        /// Where false.
        y: usize,
    },
    /// Conversion to `dtype`.
    Cast {
        /// Operand.
        input: usize,
        /// Target dtype.
        dtype: DType,
    },
}

impl Program {
    /// The stages this program reads blocks from, with their views, in node order.
    pub fn block_leaves(&self) -> impl Iterator<Item = (StageId, &ViewMap)> {
        self.nodes.iter().filter_map(|n| match n {
            PNode::Blocks { stage, view } => Some((*stage, view)),
            _ => None,
        })
    }
}
