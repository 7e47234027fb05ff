//! Chunk grids: how an array's index space is cut into blocks, like dask's `chunks`.
//!
//! Each axis is cut independently into consecutive chunks. A *regular* axis has equal chunks
//! and a ragged last one (what Zarr stores); after slicing an axis may be *irregular*
//! (`(500, 500, 250)`), as in dask. A block is addressed by its per-axis chunk indices
//! ([`BlockIndex`]) or by the C-order linear number of those indices.

use std::fmt;
use std::sync::Arc;

/// The most blocks an array may have (task ids are 32-bit, and every block is a task).
pub(crate) const MAX_BLOCKS: u64 = 1 << 31;

/// The chunks of one axis: ascending boundaries `0 = b0 < b1 < … < bn = len`.
///
/// An axis of length 0 has one chunk of length 0, so that every array has at least one block
/// (the same convention as dask).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AxisChunks {
    bounds: Arc<[usize]>,
}

impl AxisChunks {
    /// Equal chunks of `chunk` elements, the last one ragged. A `chunk` of 0 is taken as
    /// `len` (one chunk).
    pub fn regular(len: usize, chunk: usize) -> Self {
        if len == 0 {
            return Self::from_sizes(&[0]);
        }
        let chunk = if chunk == 0 { len } else { chunk.min(len) };
        let n = len.div_ceil(chunk);
        let bounds: Vec<usize> = (0..=n).map(|i| (i * chunk).min(len)).collect();
        AxisChunks {
            bounds: bounds.into(),
        }
    }

    /// Chunks of the given sizes. Zero sizes are dropped (except for an empty axis).
    pub fn from_sizes(sizes: &[usize]) -> Self {
        let mut bounds = Vec::with_capacity(sizes.len() + 1);
        bounds.push(0);
        let mut acc = 0;
        for &s in sizes.iter().filter(|&&s| s > 0) {
            acc += s;
            bounds.push(acc);
        }
        if bounds.len() == 1 {
            bounds.push(0);
        }
        AxisChunks {
            bounds: bounds.into(),
        }
    }

    /// Length of the axis.
    pub fn len(&self) -> usize {
        *self.bounds.last().expect("bounds never empty")
    }

    /// True when the axis has length 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of chunks along the axis.
    pub fn nchunks(&self) -> usize {
        self.bounds.len() - 1
    }

    /// Start of chunk `i`.
    pub fn start(&self, i: usize) -> usize {
        self.bounds[i]
    }

    /// Length of chunk `i`.
    pub fn size(&self, i: usize) -> usize {
        self.bounds[i + 1] - self.bounds[i]
    }

    /// The largest chunk.
    pub fn max_size(&self) -> usize {
        (0..self.nchunks()).map(|i| self.size(i)).max().unwrap_or(0)
    }

    /// The chunk sizes.
    pub fn sizes(&self) -> Vec<usize> {
        self.bounds.windows(2).map(|w| w[1] - w[0]).collect()
    }

    /// The chunk holding element `x` (`x < len`).
    pub fn chunk_of(&self, x: usize) -> usize {
        match self.bounds.binary_search(&x) {
            Ok(i) => i.min(self.nchunks() - 1),
            Err(i) => i - 1,
        }
    }

    /// True when all chunks but the last have the same size and the last is not larger.
    pub fn is_regular(&self) -> bool {
        let n = self.nchunks();
        if n <= 1 {
            return true;
        }
        let first = self.size(0);
        (1..n - 1).all(|i| self.size(i) == first) && self.size(n - 1) <= first
    }

    /// The common refinement of two chunkings of the same axis (dask's `common_blockdim`
    /// refines the same way): every boundary of either is a boundary of the result.
    pub fn refine(&self, other: &AxisChunks) -> AxisChunks {
        debug_assert_eq!(self.len(), other.len());
        let mut bounds: Vec<usize> = self
            .bounds
            .iter()
            .chain(other.bounds.iter())
            .copied()
            .collect();
        bounds.sort_unstable();
        bounds.dedup();
        if bounds.len() == 1 {
            bounds.push(0);
        }
        AxisChunks {
            bounds: bounds.into(),
        }
    }
}

impl fmt::Debug for AxisChunks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.sizes())
    }
}

/// A block's position in the grid: one chunk index per axis.
pub type BlockIndex = Vec<usize>;

/// How an n-dimensional array is cut into blocks.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ChunkGrid {
    axes: Vec<AxisChunks>,
}

impl ChunkGrid {
    /// A regular grid: `chunks[i]` elements per chunk along axis `i`, ragged at the end.
    ///
    /// # Panics
    /// When `shape` and `chunks` differ in length (a programmer error; user-facing callers
    /// validate first).
    pub fn regular(shape: &[usize], chunks: &[usize]) -> Self {
        assert_eq!(shape.len(), chunks.len(), "shape and chunks differ in rank");
        ChunkGrid {
            axes: shape
                .iter()
                .zip(chunks)
                .map(|(&l, &c)| AxisChunks::regular(l, c))
                .collect(),
        }
    }

    /// A grid from explicit per-axis chunkings.
    pub fn from_axes(axes: Vec<AxisChunks>) -> Self {
        ChunkGrid { axes }
    }

    /// The per-axis chunkings.
    pub fn axes(&self) -> &[AxisChunks] {
        &self.axes
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.axes.len()
    }

    /// The array shape.
    pub fn shape(&self) -> Vec<usize> {
        self.axes.iter().map(AxisChunks::len).collect()
    }

    /// Number of chunks per axis.
    pub fn grid_shape(&self) -> Vec<usize> {
        self.axes.iter().map(AxisChunks::nchunks).collect()
    }

    /// Total number of blocks.
    pub fn nblocks(&self) -> usize {
        self.axes.iter().map(AxisChunks::nchunks).product()
    }

    /// The shape of the largest block (dask's `chunksize`).
    pub fn max_chunk_shape(&self) -> Vec<usize> {
        self.axes.iter().map(AxisChunks::max_size).collect()
    }

    /// True when every axis is regular (a Zarr chunk grid can hold it).
    pub fn is_regular(&self) -> bool {
        self.axes.iter().all(AxisChunks::is_regular)
    }

    /// The element region of a block: per-axis start and length.
    pub fn region(&self, block: &[usize]) -> Region {
        Region {
            start: self
                .axes
                .iter()
                .zip(block)
                .map(|(a, &i)| a.start(i))
                .collect(),
            shape: self
                .axes
                .iter()
                .zip(block)
                .map(|(a, &i)| a.size(i))
                .collect(),
        }
    }

    /// The shape of one block.
    pub fn block_shape(&self, block: &[usize]) -> Vec<usize> {
        self.axes
            .iter()
            .zip(block)
            .map(|(a, &i)| a.size(i))
            .collect()
    }

    /// C-order linear number of a block index.
    pub fn linear(&self, block: &[usize]) -> usize {
        self.axes
            .iter()
            .zip(block)
            .fold(0, |acc, (a, &i)| acc * a.nchunks() + i)
    }

    /// The block index of a C-order linear block number.
    pub fn unlinear(&self, mut n: usize) -> BlockIndex {
        let mut idx = vec![0; self.axes.len()];
        for (d, a) in self.axes.iter().enumerate().rev() {
            idx[d] = n % a.nchunks();
            n /= a.nchunks();
        }
        idx
    }
}

/// A hyper-rectangle of elements: `start[i] .. start[i] + shape[i]` on each axis.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Region {
    /// First element per axis.
    pub start: Vec<usize>,
    /// Extent per axis.
    pub shape: Vec<usize>,
}

impl Region {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the region holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Formats a shape the way NumPy prints a tuple: `(10000, 10000)`, `(5,)`, `()`.
pub fn fmt_shape(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [x] => format!("({x},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(ToString::to_string).collect();
            format!("({})", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_with_ragged_end() {
        let a = AxisChunks::regular(10, 4);
        assert_eq!(a.sizes(), vec![4, 4, 2]);
        assert_eq!(a.chunk_of(0), 0);
        assert_eq!(a.chunk_of(4), 1);
        assert_eq!(a.chunk_of(9), 2);
        assert!(a.is_regular());
        assert!(!AxisChunks::from_sizes(&[2, 4]).is_regular());
    }

    #[test]
    fn empty_axis_has_one_empty_chunk() {
        let a = AxisChunks::regular(0, 4);
        assert_eq!(a.nchunks(), 1);
        assert_eq!(a.size(0), 0);
    }

    #[test]
    fn refine_and_linear() {
        let a = AxisChunks::regular(10, 4).refine(&AxisChunks::regular(10, 3));
        assert_eq!(a.sizes(), vec![3, 1, 2, 2, 1, 1]);
        let g = ChunkGrid::regular(&[10, 7], &[4, 3]);
        assert_eq!(g.grid_shape(), vec![3, 3]);
        for n in 0..g.nblocks() {
            assert_eq!(g.linear(&g.unlinear(n)), n);
        }
        assert_eq!(
            g.region(&[2, 2]),
            Region {
                start: vec![8, 6],
                shape: vec![2, 1]
            }
        );
    }
}
