//! Placing one value per selected element: [`Array::scatter_flat`], the scatter behind
//! Python's `x[key] = values` when `key` selects elements one by one (a mask, index
//! arrays, steps) and `values` has one value per selected element.

use ndarray::IxDyn;

use super::map::map_blocks_internal;
use super::{Array, MapBlocks};
use crate::error::{Error, Result};
use crate::units::format_bytes;

/// The most positions a scatter takes: each task holds them all (their flat index and
/// where their value is) with the values.
const MAX_POSITIONS: usize = 1 << 26;

impl Array {
    /// `self` with the elements at the flat (C-order) positions `flat` replaced by
    /// `values`, one value per position in order; of equal positions the last wins, as in
    /// NumPy's `x[key] = values`. Lazy: each block of `self` takes the positions that fall
    /// in it (a binary search of the sorted positions) from the values, which every task
    /// holds whole (cast to `self`'s dtype). Where the positions come from a key, they are
    /// the selection of a generated flat index (`arange(size).reshape(shape)[key]`), so
    /// the scatter follows NumPy's indexing rules whatever the key.
    ///
    /// ```
    /// use brickwork::Array;
    /// let x = Array::zeros(&[2, 3], &[1, 2], brickwork::DType::F64)?;
    /// let v = Array::from_ndarray(ndarray::array![1.0, 2.0, 3.0].into_dyn(), &[2])?;
    /// let y = x.scatter_flat(&[5, 0, 5], &v)?.compute_as::<f64>()?;
    /// assert_eq!(y, ndarray::array![[2.0, 0.0, 0.0], [0.0, 0.0, 3.0]].into_dyn());
    /// # Ok::<(), brickwork::Error>(())
    /// ```
    ///
    /// # Errors
    /// `values` not 1-d or not one per position; a position outside the array; more than
    /// 2^26 positions (the selection should be a mask with `where` instead).
    pub fn scatter_flat(&self, flat: &[i64], values: &Array) -> Result<Array> {
        let shape = self.try_shape()?;
        let size: usize = shape.iter().product();
        let vs = values.try_shape()?;
        if vs.len() != 1 || vs[0] != flat.len() {
            return Err(Error::invalid(format!(
                "scatter: {} positions need as many values (a 1-d array), got shape {}",
                flat.len(),
                crate::grid::fmt_shape(&vs)
            )));
        }
        if flat.len() > MAX_POSITIONS {
            return Err(Error::invalid(format!(
                "scatter: {} positions ({} of indices) are more than one task holds; assign \
                 with a mask and an array of the whole shape instead (where(mask, y, x))",
                flat.len(),
                format_bytes(flat.len() as u64 * 16)
            )));
        }
        if let Some(&bad) = flat.iter().find(|&&f| f < 0 || f as usize >= size) {
            return Err(Error::invalid(format!(
                "scatter: position {bad} is outside an array of {size} elements"
            )));
        }
        if flat.is_empty() {
            return Ok(self.clone());
        }
        // Sorted by position; of equal positions the last given wins.
        let mut order: Vec<usize> = (0..flat.len()).collect();
        order.sort_by_key(|&i| flat[i]);
        let mut positions: Vec<(i64, usize)> = Vec::with_capacity(order.len());
        for i in order {
            match positions.last_mut() {
                Some(last) if last.0 == flat[i] => *last = (flat[i], i),
                _ => positions.push((flat[i], i)),
            }
        }
        let nd = shape.len();
        if nd == 0 {
            // The one element: the last value given.
            let last = positions[0].1 as isize;
            return values
                .index_numpy(&[super::NumpyIndex::Int(last)])?
                .astype(self.dtype());
        }
        // The values whole in every task, with as many axes as `self`.
        let mut vshape: Vec<isize> = vec![flat.len() as isize];
        vshape.extend(std::iter::repeat_n(1, nd.saturating_sub(1)));
        let mut chunks = vec![flat.len()];
        chunks.extend(std::iter::repeat_n(1, nd.saturating_sub(1)));
        let values = values
            .astype(self.dtype())?
            .reshape(&vshape)?
            .rechunk(&chunks)?;
        let whole: Vec<usize> = (0..nd).collect();
        let strides: Vec<usize> = (0..nd).map(|d| shape[d + 1..].iter().product()).collect();
        map_blocks_internal(
            &[self, &values],
            &MapBlocks::new("scatter").whole(1, &whole).temporaries(1),
            move |blocks, info| {
                let at = &info.input_locations[0];
                let first: usize = (0..nd).map(|d| at[d].start * strides[d]).sum();
                let last: usize = (0..nd).map(|d| (at[d].end - 1) * strides[d]).sum();
                let lo = positions.partition_point(|p| (p.0 as usize) < first);
                let hi = positions.partition_point(|p| (p.0 as usize) <= last);
                Ok(crate::dispatch_dtype!(blocks[0].dtype(), T => {
                    let x = blocks[0]
                        .view::<T>()
                        .ok_or_else(|| Error::internal("a scatter block of another dtype"))?;
                    let v = blocks[1]
                        .view::<T>()
                        .ok_or_else(|| Error::internal("scatter values of another dtype"))?;
                    let v: Vec<T> = v.iter().copied().collect();
                    let mut out = x.to_owned();
                    let mut local = vec![0usize; nd];
                    'points: for &(f, src) in &positions[lo..hi] {
                        let mut rest = f as usize;
                        for d in 0..nd {
                            let c = rest / strides[d];
                            rest %= strides[d];
                            if !at[d].contains(&c) {
                                continue 'points;
                            }
                            local[d] = c - at[d].start;
                        }
                        out[IxDyn(&local)] = v[src];
                    }
                    crate::block::Block::from(out)
                }))
            },
        )
    }
}
