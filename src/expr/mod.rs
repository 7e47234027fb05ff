//! Stage 1, *what* to compute: the whole-array expression graph.
//!
//! *Internal*: public only for the CLI, the Python package and the benchmarks of this
//! repository; no stability promise (see the crate's map).
//!
//! An [`Expr`] node is an operation over whole arrays (a source, a generator, an elementwise
//! op, a transpose, an index, a reduction, a rechunk) with its shape, dtype and chunk grid
//! inferred when it is built. Nodes are shared through `Arc`, so a graph costs O(operations)
//! however many chunks the arrays have: building over a 10^6-chunk array creates no per-chunk
//! object. User mistakes (shapes, axes, indices, dtypes) are reported here, when the node is
//! built, before anything is planned.
//!
//! This module knows nothing of blocks, tasks or execution; [`crate::plan`] lowers it.

mod fingerprint;
mod infer;
mod kind;
mod map;
mod reshape;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use fingerprint::fingerprint;
pub use infer::{AxisIndex, broadcast_shapes, normalize_axes, regular_grid};
pub(crate) use infer::{
    MapOutput, binary, broadcast_to, cast, concat, contract, generator, index, map_blocks, memory,
    rechunk as rechunk_node, reduce, scan, source, transpose, unary, where_,
};
pub use kind::{
    BinaryOp, ContractSpec, ExprKind, FullValue, Generator, ReduceOp, ReduceSpec, ScanOp, UnaryOp,
};
pub use map::{BlockFn, BlockFunction, BlockInfo, Boundary, MapSpec, Overlap};
pub use reshape::ReshapeMap;
pub(crate) use reshape::reshape;

use crate::dtype::DType;
use crate::grid::ChunkGrid;

/// A shared reference to an expression node.
pub type ExprRef = Arc<Expr>;

/// One node of the expression graph.
#[derive(Debug)]
pub struct Expr {
    id: u64,
    dtype: DType,
    grid: ChunkGrid,
    kind: ExprKind,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Expr {
    /// Builds a node. Callers (the `infer` constructors) have validated everything.
    pub(crate) fn new(kind: ExprKind, dtype: DType, grid: ChunkGrid) -> ExprRef {
        Arc::new(Expr {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            dtype,
            grid,
            kind,
        })
    }

    /// A process-unique id, stable for the node's lifetime (used for memoising lowering).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The chunk grid (and so the shape).
    pub fn grid(&self) -> &ChunkGrid {
        &self.grid
    }

    /// The shape.
    pub fn shape(&self) -> Vec<usize> {
        self.grid.shape()
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.grid.ndim()
    }

    /// The operation.
    pub fn kind(&self) -> &ExprKind {
        &self.kind
    }

    /// The operation's inputs.
    pub fn inputs(&self) -> Vec<&ExprRef> {
        match &self.kind {
            ExprKind::Source { .. } | ExprKind::Memory { .. } | ExprKind::Generator { .. } => {
                vec![]
            }
            ExprKind::Unary { input, .. }
            | ExprKind::Cast { input }
            | ExprKind::Transpose { input, .. }
            | ExprKind::Index { input, .. }
            | ExprKind::Reduce { input, .. }
            | ExprKind::Rechunk { input }
            | ExprKind::Scan { input, .. }
            | ExprKind::Reshape { input, .. }
            | ExprKind::BroadcastTo { input } => vec![input],
            ExprKind::Concat { inputs, .. } | ExprKind::MapBlocks { inputs, .. } => {
                inputs.iter().collect()
            }
            ExprKind::Binary { lhs, rhs, .. } | ExprKind::Contract { lhs, rhs, .. } => {
                vec![lhs, rhs]
            }
            ExprKind::Where { cond, x, y } => vec![cond, x, y],
        }
    }

    /// A short operation name for reprs and graphs (`random`, `add`, `transpose`, …).
    pub fn op_name(&self) -> String {
        self.kind.name()
    }

    /// Visits every distinct node reachable from `root` once, inputs before consumers.
    pub fn post_order(root: &ExprRef) -> Vec<ExprRef> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        let mut stack: Vec<(ExprRef, bool)> = vec![(root.clone(), false)];
        while let Some((node, expanded)) = stack.pop() {
            if expanded {
                out.push(node);
                continue;
            }
            if !seen.insert(node.id) {
                continue;
            }
            stack.push((node.clone(), true));
            for input in node.inputs().into_iter().rev() {
                if !seen.contains(&input.id) {
                    stack.push((input.clone(), false));
                }
            }
        }
        out
    }
}
