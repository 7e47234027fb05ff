//! User kernels over blocks: the function a `map_blocks` / `map_overlap` node runs, what it
//! is told about each block, and the halo of an overlapped map.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use crate::block::{Block, BlockRef};
use crate::error::Result;

/// The signature of a block function: the input blocks (one per input array, aligned, with
/// their halo for `map_overlap`) and where the block lies, to the output block.
pub type BlockFn = dyn Fn(&[BlockRef<'_>], &BlockInfo) -> Result<Block> + Send + Sync;

/// A user function over blocks, with the name it is known by in plans and statistics.
#[derive(Clone)]
pub struct BlockFunction {
    pub(crate) f: Arc<BlockFn>,
    /// The name in plans, graphs and `--stats`.
    pub name: String,
    /// What identifies the function across runs of the same program (its Rust type name,
    /// and the name): part of the fingerprint a resumed write checks.
    pub(crate) token: String,
    /// Output-sized buffers the function holds while it runs, besides its result: counted
    /// in each task's predicted footprint.
    pub temporaries: usize,
}

impl BlockFunction {
    /// Wraps a function; `token` identifies it across processes (see the field).
    pub(crate) fn new(f: Arc<BlockFn>, name: String, token: String, temporaries: usize) -> Self {
        BlockFunction {
            f,
            name,
            token,
            temporaries,
        }
    }

    /// Calls the function.
    pub(crate) fn call(&self, blocks: &[BlockRef<'_>], info: &BlockInfo) -> Result<Block> {
        (self.f)(blocks, info)
    }
}

impl fmt::Debug for BlockFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockFunction")
            .field("name", &self.name)
            .field("token", &self.token)
            .field("temporaries", &self.temporaries)
            .finish()
    }
}

/// What a block function is told about the block it computes (dask's `block_info`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// The output block's index in the output's block grid (dask's `chunk-location`).
    pub block: Vec<usize>,
    /// Blocks per axis of the output (`num-chunks`).
    pub num_blocks: Vec<usize>,
    /// The output block's element ranges in the output array (`array-location`).
    pub location: Vec<Range<usize>>,
    /// The output array's shape.
    pub shape: Vec<usize>,
    /// Per input, the element ranges of its block in the input array, without the halo.
    pub input_locations: Vec<Vec<Range<usize>>>,
    /// Per axis of the inputs, the halo elements before and after the block's own elements
    /// in the blocks the function receives (all zero for `map_blocks`); the function's
    /// result is trimmed by as much.
    pub halo: Vec<(usize, usize)>,
}

/// How `map_overlap` extends blocks at the array's edges (dask's `boundary`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Boundary {
    /// No halo at the array's edges: edge blocks are smaller (dask's `"none"`).
    None,
    /// Elements of this value (converted to the dtype) outside the array.
    Constant(f64),
    /// The array mirrored with its edge element repeated: `[c b a | a b c | c b a]` (dask's
    /// `"reflect"`, NumPy pad's `"symmetric"`, scipy.ndimage's `"reflect"`).
    Reflect,
    /// The array mirrored about its edge element: `[d c b | a b c d | c b a]` (NumPy pad's
    /// `"reflect"`, scipy.ndimage's `"mirror"`).
    Mirror,
    /// The array repeated: `[b c d | a b c d | a b c]` (dask's `"periodic"`, scipy's
    /// `"wrap"`).
    Periodic,
    /// The edge element repeated: `[a a a | a b c d | d d d]` (dask's `"nearest"`).
    Nearest,
}

impl Boundary {
    /// Parses dask's and scipy.ndimage's names (`none`, `constant`, `reflect`, `mirror`,
    /// `periodic`/`wrap`, `nearest`); `value` is the constant.
    pub fn from_name(name: &str, value: f64) -> Option<Boundary> {
        Some(match name {
            "none" => Boundary::None,
            "constant" => Boundary::Constant(value),
            "reflect" => Boundary::Reflect,
            "mirror" => Boundary::Mirror,
            "periodic" | "wrap" => Boundary::Periodic,
            "nearest" => Boundary::Nearest,
            _ => return None,
        })
    }

    /// The name (dask's where it has one).
    pub fn name(&self) -> &'static str {
        match self {
            Boundary::None => "none",
            Boundary::Constant(_) => "constant",
            Boundary::Reflect => "reflect",
            Boundary::Mirror => "mirror",
            Boundary::Periodic => "periodic",
            Boundary::Nearest => "nearest",
        }
    }
}

/// The halo of a `map_overlap`: elements from neighbouring blocks (or from the boundary
/// rule at the array's edges) added on both sides of each block along each axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Overlap {
    /// Halo elements per axis, on each side.
    pub depth: Vec<usize>,
    /// What lies beyond the array's edges.
    pub boundary: Boundary,
}

/// What a `map_blocks` node computes.
#[derive(Clone, Debug)]
pub struct MapSpec {
    /// The function.
    pub func: BlockFunction,
    /// For each output axis, the loop axis (an axis of the inputs) whose blocks it follows,
    /// or `None` for a new axis of one block.
    pub out_axes: Vec<Option<usize>>,
    /// The halo, for `map_overlap` (its result is trimmed back to the block).
    pub overlap: Option<Overlap>,
    /// Per output axis, when the declared chunks give some blocks of its loop axis no
    /// elements (a boolean selection that selects nothing there), the loop-axis block of
    /// each output block: those blocks are not computed. `None` where every loop block
    /// is an output block.
    pub kept_blocks: Vec<Option<Arc<[usize]>>>,
}

impl MapSpec {
    /// The block of each input that output block `block` is computed from: loop axes the
    /// output drops are in one block (index 0), as are axes an input broadcasts (length 1).
    pub fn input_block(&self, block: &[usize], input_blocks: &[usize]) -> Vec<usize> {
        let mut b = vec![0; input_blocks.len()];
        for (o, axis) in self.out_axes.iter().enumerate() {
            if let Some(d) = *axis
                && input_blocks[d] > 1
            {
                b[d] = match &self.kept_blocks[o] {
                    Some(kept) => kept[block[o]],
                    None => block[o],
                };
            }
        }
        b
    }
}
