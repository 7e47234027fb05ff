//! Pointwise selection (dask's `vindex`, NumPy's `x[i, j]` with integer arrays): element
//! `p` of the result is `x[i[p], j[p], ..]`, followed by the axes not indexed.
//!
//! The indexed axes are raveled (a bounded [`Array::reshape`]), so each point is one
//! position along one axis. The points are sorted by position: each block of the raveled
//! axis gives the points inside it (a `map_blocks`; blocks holding no point are not
//! computed, so a sparse point set reads only the blocks it touches), and a last task puts
//! them back in the order asked for (skipped when the points come sorted). That last task
//! holds the whole result along the points axis (one block along it, as large as the
//! result: an index set is in memory, and so is what it selects).

use std::sync::Arc;

use super::map::map_blocks_internal;
use super::mask::{nothing_selected, resolve_index};
use super::{Array, MapBlocks};
use crate::error::{Error, Result};
use crate::grid::{AxisChunks, ChunkGrid};

impl Array {
    /// The elements at the points `indices[0][p], indices[1][p], ..` (one index array per
    /// leading axis, all of the same length; negative indices count from the end), as
    /// dask's `x.vindex[i, j]`: the result has one axis of points, then the axes not
    /// indexed.
    ///
    /// ```
    /// use brickwork::Array;
    /// let x = Array::from_ndarray(ndarray::Array2::from_shape_fn((4, 5), |(i, j)| (10 * i + j) as f64).into_dyn(), &[2, 2])?;
    /// let y = x.vindex(&[&[3, 0, -1], &[1, 4, 0]])?;
    /// assert_eq!(y.compute_as::<f64>()?.iter().copied().collect::<Vec<_>>(), [31.0, 4.0, 30.0]);
    /// # Ok::<(), brickwork::Error>(())
    /// ```
    ///
    /// # Errors
    /// No index arrays or more than the array has axes, index arrays of different lengths,
    /// an index out of range (naming it and the axis).
    pub fn vindex(&self, indices: &[&[i64]]) -> Result<Array> {
        let shape = self.try_shape()?;
        let k = indices.len();
        if k > shape.len() {
            return Err(Error::TooManyIndices { given: k, shape });
        }
        if k == 0 {
            return Err(Error::invalid(format!(
                "vindex: {k} index arrays for an array of {} axes (1 to {} needed)",
                shape.len(),
                shape.len()
            )));
        }
        let n = indices[0].len();
        if let Some(other) = indices.iter().find(|i| i.len() != n) {
            return Err(Error::invalid(format!(
                "vindex: index arrays of lengths {n} and {} (they must have the same length)",
                other.len()
            )));
        }
        // Each point as a position along the raveled indexed axes.
        let mut flat = vec![0u64; n];
        for (d, idx) in indices.iter().enumerate() {
            for (f, &i) in flat.iter_mut().zip(idx.iter()) {
                let j = resolve_index(i, &shape, d)?;
                *f = *f * shape[d] as u64 + j as u64;
            }
        }
        let rest = &shape[k..];
        if n == 0 {
            return nothing_selected(rest, self.dtype());
        }
        let lanes: usize = shape[..k].iter().product();
        let mut to = vec![lanes as isize];
        to.extend(rest.iter().map(|&m| m as isize));
        let x = self.reshape(&to)?;
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&p| flat[p]);
        let sorted: Arc<[u64]> = order.iter().map(|&p| flat[p]).collect();
        // How many points each block of the raveled axis holds.
        let axis0 = x.chunks()?.axes()[0].clone();
        let counts: Vec<usize> = (0..axis0.nchunks())
            .map(|b| {
                let (lo, hi) = (
                    axis0.start(b) as u64,
                    (axis0.start(b) + axis0.size(b)) as u64,
                );
                sorted.partition_point(|&f| f < hi) - sorted.partition_point(|&f| f < lo)
            })
            .collect();
        let mut chunks: Vec<Vec<usize>> = x.chunks()?.axes().iter().map(|a| a.sizes()).collect();
        chunks[0] = counts;
        let points = sorted.clone();
        let y = map_blocks_internal(
            &[&x],
            &MapBlocks::new("vindex")
                .dtype(self.dtype())
                .chunks(chunks)
                .temporaries(0),
            move |blocks, info| {
                let r = &info.input_locations[0][0];
                let lo = points.partition_point(|&f| f < r.start as u64);
                let hi = points.partition_point(|&f| f < r.end as u64);
                let rows: Vec<usize> = points[lo..hi]
                    .iter()
                    .map(|&f| f as usize - r.start)
                    .collect();
                blocks[0].select(0, &rows)
            },
        )?;
        if order.iter().enumerate().all(|(s, &p)| s == p) {
            return Ok(y);
        }
        // Back to the order asked for: the points axis in one block.
        let mut inverse = vec![0; n];
        for (s, &p) in order.iter().enumerate() {
            inverse[p] = s;
        }
        let inverse: Arc<[usize]> = inverse.into();
        let mut axes = y.chunks()?.axes().to_vec();
        axes[0] = AxisChunks::regular(n, n);
        let whole = y.rechunk_grid(ChunkGrid::from_axes(axes))?;
        map_blocks_internal(
            &[&whole],
            &MapBlocks::new("vindex_order").temporaries(0),
            move |blocks, _info| blocks[0].select(0, &inverse),
        )
    }
}
