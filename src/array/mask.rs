//! Boolean selection: `x[mask]` (NumPy's boolean indexing; `extract`) and `compress` along
//! an axis.
//!
//! How many elements a mask selects is known only from its values. dask leaves the result's
//! chunks unknown (NaN) until it is computed, and most of what follows (a rechunk, a
//! concatenate, writing to Zarr) then needs `compute_chunk_sizes()` first. brickwork counts
//! first: when the selection is built, one pass computes how many elements each block of
//! the mask selects (the counts only: an 8-byte integer per block, under the given
//! [`ComputeOptions`], so within its memory limit); the selection itself is then a lazy
//! `map_blocks` whose chunks are those counts, so the result has a known shape and chunks
//! and plans like any array. The mask's inputs are read twice: by the counting pass and
//! by the selection.
//!
//! Elements come out in C order, as in NumPy: the masked axes are raveled (a bounded
//! [`Array::reshape`]) and each block of the raveled axis gives the selected elements of
//! that block. Blocks that select nothing are not computed.

use super::axis::AxisArg;
use super::map::map_blocks_internal;
use super::{Array, MapBlocks};
use crate::block::Block;
use crate::config::ComputeOptions;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr;
use crate::grid::ChunkGrid;

impl Array {
    /// The elements where `mask` is true, as NumPy's `x[mask]`: `mask` is a bool array whose
    /// shape is the leading axes of this array's (all of them for a 1-d result); the result
    /// has one axis of the selected positions, in C order, followed by the remaining axes.
    ///
    /// The number selected per block is computed now (one pass over the mask, with default
    /// options; see [`Array::boolean_index_with`] and the module doc); the selection is lazy.
    ///
    /// # Errors
    /// A mask that is not bool, of a shape that is not this array's leading axes, a 0-d
    /// mask; an error computing the mask.
    pub fn boolean_index(&self, mask: &Array) -> Result<Array> {
        self.boolean_index_with(mask, &ComputeOptions::default())
    }

    /// [`Array::boolean_index`], counting under `opts` (its scheduler and memory limit).
    ///
    /// # Errors
    /// As [`Array::boolean_index`].
    pub fn boolean_index_with(&self, mask: &Array, opts: &ComputeOptions) -> Result<Array> {
        let (shape, mshape) = (self.shape(), mask.shape());
        if mask.dtype() != DType::Bool {
            return Err(Error::invalid(format!(
                "a boolean index must be a bool array, got {} (use take for integer indices)",
                mask.dtype()
            )));
        }
        if mshape.is_empty() {
            return Err(Error::invalid(
                "a 0-d boolean index is not supported (NumPy adds an axis; use expand_dims)",
            ));
        }
        let k = mshape.len();
        if k > shape.len() || mshape[..] != shape[..k] {
            let hint = match (0..k.min(shape.len())).find(|&d| mshape[d] != shape[d]) {
                Some(d) => format!(
                    "axis {d} has length {} in the array and {} in the mask",
                    shape[d], mshape[d]
                ),
                None => "the mask has more axes than the array".into(),
            };
            return Err(Error::ShapeMismatch {
                op: "boolean index".into(),
                lhs: shape,
                rhs: mshape,
                hint,
            });
        }
        // Ravel the masked axes of both, chunked alike along them.
        let rest = &shape[k..];
        let lanes: usize = mshape.iter().product();
        let mut to: Vec<isize> = vec![lanes as isize];
        to.extend(rest.iter().map(|&n| n as isize));
        let x = self.reshape(&to)?;
        let m = mask.reshape(&[lanes as isize])?;
        let axis0 = x.chunks()?.axes()[0].refine(&m.chunks()?.axes()[0]);
        let mut axes = x.chunks()?.axes().to_vec();
        axes[0] = axis0.clone();
        let x = x.rechunk_grid(ChunkGrid::from_axes(axes.clone()))?;
        let m = m.rechunk_grid(ChunkGrid::from_axes(vec![axis0.clone()]))?;
        let counts = block_counts(&m, opts)?;
        let total: usize = counts.iter().sum();
        if total == 0 || lanes == 0 {
            return nothing_selected(rest, self.dtype());
        }
        // The mask broadcast along the remaining axes.
        let mut m_to: Vec<isize> = vec![lanes as isize];
        m_to.extend(rest.iter().map(|_| 1));
        let m = m.reshape(&m_to)?;
        let mut chunks: Vec<Vec<usize>> = axes.iter().map(|a| a.sizes()).collect();
        chunks[0] = counts;
        map_blocks_internal(
            &[&x, &m],
            &MapBlocks::new("boolean_index")
                .dtype(self.dtype())
                .chunks(chunks)
                .temporaries(0),
            |blocks, _info| {
                let lane = blocks[1]
                    .view::<bool>()
                    .ok_or_else(|| Error::internal("boolean_index: mask block not bool"))?;
                let picked: Vec<usize> = lane
                    .iter()
                    .enumerate()
                    .filter_map(|(i, &b)| b.then_some(i))
                    .collect();
                blocks[0].select(0, &picked)
            },
        )
    }

    /// The slices along `axis` where the 1-d bool `condition` is true, as NumPy's
    /// `compress(condition, a, axis)`; a condition shorter than the axis selects nothing
    /// past its end. Counted now with default options, as [`Array::boolean_index`].
    ///
    /// # Errors
    /// A condition that is not 1-d bool or is longer than the axis; an axis out of range.
    pub fn compress(&self, condition: &Array, axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        self.compress_with(condition, axis, &ComputeOptions::default())
    }

    /// [`Array::compress`], counting under `opts`.
    ///
    /// # Errors
    /// As [`Array::compress`].
    pub fn compress_with(
        &self,
        condition: &Array,
        axis: impl Into<AxisArg>,
        opts: &ComputeOptions,
    ) -> Result<Array> {
        let axis = axis.into().get();
        let ndim = self.ndim();
        if ndim == 0 {
            return Err(Error::invalid("compress: a 0-d array has no axis"));
        }
        let ax = expr::normalize_axes(&[axis], ndim)?[0];
        let len = self.shape()[ax];
        let n = condition.shape();
        if n.len() != 1 || n[0] > len {
            return Err(Error::ShapeMismatch {
                op: "compress".into(),
                lhs: self.shape(),
                rhs: n,
                hint: format!("the condition must be 1-d and at most as long as axis {ax} ({len})"),
            });
        }
        let x = if n[0] < len {
            let index: Vec<super::NumpyIndex> = (0..ndim)
                .map(|d| match d == ax {
                    true => super::NumpyIndex::Slice {
                        start: None,
                        stop: Some(n[0] as isize),
                        step: None,
                    },
                    false => super::NumpyIndex::FULL,
                })
                .collect();
            self.index_numpy(&index)?
        } else {
            self.clone()
        };
        x.moveaxis(ax as isize, 0)?
            .boolean_index_with(condition, opts)?
            .moveaxis(0, ax as isize)
    }
}

/// The result of a selection that selects nothing: shape `(0, rest..)`.
pub(super) fn nothing_selected(rest: &[usize], dtype: DType) -> Result<Array> {
    let mut shape = vec![0];
    shape.extend_from_slice(rest);
    super::empty(&shape, dtype)
}

/// Index `i` along axis `axis` of an array of `shape` (negative counts from the end),
/// checked.
pub(super) fn resolve_index(i: i64, shape: &[usize], axis: usize) -> Result<usize> {
    let len = shape[axis];
    let j = if i < 0 { i + len as i64 } else { i };
    usize::try_from(j)
        .ok()
        .filter(|&j| j < len)
        .ok_or_else(|| Error::IndexOutOfBounds {
            index: isize::try_from(i).unwrap_or(isize::MAX),
            axis,
            len,
            shape: shape.to_vec(),
        })
}

/// How many elements each block of the 1-d bool `m` selects, computed now.
fn block_counts(m: &Array, opts: &ComputeOptions) -> Result<Vec<usize>> {
    let nblocks = m.chunks()?.nblocks();
    let counts = map_blocks_internal(
        &[m],
        &MapBlocks::new("count_selected")
            .dtype(DType::I64)
            .chunks(vec![vec![1; nblocks]])
            .temporaries(0),
        |blocks, _info| {
            let v = blocks[0]
                .view::<bool>()
                .ok_or_else(|| Error::internal("count_selected: block not bool"))?;
            let n = v.iter().filter(|&&b| b).count() as i64;
            Ok(Block::from(ndarray::arr1(&[n]).into_dyn()))
        },
    )?;
    let (block, _) = counts.compute_with(opts)?;
    Ok(block
        .into_typed::<i64>()
        .iter()
        .map(|&c| c as usize)
        .collect())
}
