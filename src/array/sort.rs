//! `sort` and `argsort` along an axis.
//!
//! When a lane fits comfortably in memory (its block, the sorted copy and the permutation
//! in half the memory limit), the axis is made one block (whole lanes, the other axes'
//! chunks cut so a block is no larger than the array's largest block, as for `quantile`)
//! and a lazy `map_blocks` task sorts each lane of its block, stably, NaN last as NumPy
//! ([`crate::kernel::sort`]: a radix sort for numbers).
//! A larger lane is sorted now, out of core: read in chunks, sorted in runs written to disk
//! and merged ([`crate::driver::external`]), the result a temporary file read as an array;
//! an array of several such lanes stacks one result per lane.

use super::axis::AxisArg;

use ndarray::{ArrayD, Axis};

use super::external::{column_chunk, sort_records, sorted_arrays};
use super::map::map_blocks_internal;
use super::{Array, MapBlocks, NumpyIndex};
use crate::block::BlockElement;
use crate::config::ComputeOptions;
use crate::driver::external::Sorting;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr;
use crate::kernel::sort::SortKey;

impl Array {
    /// The array API's `sort(x, axis, descending)` (NumPy's `sort` along an axis): each
    /// lane along `axis` sorted, stably, NaN last (first when descending).
    ///
    /// # Errors
    /// An axis out of range; a 0-d array.
    pub fn sort_axis(&self, axis: impl Into<AxisArg>, descending: bool) -> Result<Array> {
        self.sort_axis_with(axis, descending, &ComputeOptions::default())
    }

    /// [`Array::sort_axis`] under `opts`: a lane too large for half the memory limit is
    /// sorted now, out of core (see the module doc), under `opts`.
    ///
    /// # Errors
    /// As [`Array::sort_axis`]; computing the array or writing the sorted runs, for a lane
    /// sorted out of core.
    pub fn sort_axis_with(
        &self,
        axis: impl Into<AxisArg>,
        descending: bool,
        opts: &ComputeOptions,
    ) -> Result<Array> {
        self.sorted(axis.into().get(), descending, false, opts)
    }

    /// The array API's `argsort(x, axis, descending)`: the int64 indices that sort each
    /// lane along `axis` (stable).
    ///
    /// # Errors
    /// As [`Array::sort_axis`].
    pub fn argsort(&self, axis: impl Into<AxisArg>, descending: bool) -> Result<Array> {
        self.argsort_with(axis, descending, &ComputeOptions::default())
    }

    /// [`Array::argsort`] under `opts`, as [`Array::sort_axis_with`].
    ///
    /// # Errors
    /// As [`Array::sort_axis_with`].
    pub fn argsort_with(
        &self,
        axis: impl Into<AxisArg>,
        descending: bool,
        opts: &ComputeOptions,
    ) -> Result<Array> {
        self.sorted(axis.into().get(), descending, true, opts)
    }

    fn sorted(
        &self,
        axis: isize,
        descending: bool,
        indices: bool,
        opts: &ComputeOptions,
    ) -> Result<Array> {
        let shape = self.try_shape()?;
        if shape.is_empty() {
            return Err(Error::invalid(
                "sort: a 0-d array has no axis to sort along",
            ));
        }
        let axis = expr::normalize_axes(&[axis], shape.len())?[0];
        let dtype = self.dtype();
        // A lane's block, its sorted copy, the lane and its permutation, with the indices.
        let lane_bytes = shape[axis] as u64 * (3 * dtype.size() as u64 + 16);
        if lane_bytes > opts.effective_memory_limit() / 2 {
            return self.sorted_out_of_core(axis, descending, indices, opts);
        }
        let lanes = self.whole_lanes(axis)?;
        let (name, out) = if indices {
            ("argsort", DType::I64)
        } else {
            ("sort", dtype)
        };
        crate::dispatch_dtype!(dtype, T => map_blocks_internal(
            &[&lanes],
            &MapBlocks::new(name).dtype(out),
            move |blocks, _info| {
                let b = blocks[0]
                    .view::<T>()
                    .ok_or_else(|| Error::internal("a block of another dtype"))?;
                // Each lane copied out contiguously, sorted, and copied back.
                if indices {
                    let mut order: ArrayD<i64> = ArrayD::zeros(b.raw_dim());
                    let mut pairs = Vec::with_capacity(b.shape()[axis]);
                    for (v, mut o) in b.lanes(Axis(axis)).into_iter().zip(order.lanes_mut(Axis(axis))) {
                        pairs.clear();
                        pairs.extend(v.iter().enumerate().map(|(k, &x)| (x, k as i64)));
                        T::sort_by_value(&mut pairs, |p| p.0, descending);
                        for (slot, &(_, k)) in o.iter_mut().zip(&pairs) {
                            *slot = k;
                        }
                    }
                    return Ok(i64::wrap(order));
                }
                let mut values: ArrayD<T> = b.to_owned();
                let mut lane = Vec::with_capacity(b.shape()[axis]);
                for mut v in values.lanes_mut(Axis(axis)) {
                    lane.clear();
                    lane.extend(v.iter().copied());
                    T::sort_by_value(&mut lane, |v| *v, descending);
                    for (slot, &x) in v.iter_mut().zip(&lane) {
                        *slot = x;
                    }
                }
                Ok(T::wrap(values))
            },
        ))
    }
}

impl Array {
    /// [`Array::sort_axis`]/[`Array::argsort`] of lanes too large for memory: each lane
    /// sorted by the external merge, the lanes stacked back (see the module doc).
    fn sorted_out_of_core(
        &self,
        axis: usize,
        descending: bool,
        indices: bool,
        opts: &ComputeOptions,
    ) -> Result<Array> {
        let shape = self.try_shape()?;
        let nd = shape.len();
        let n = shape[axis];
        let sorting = Sorting {
            descending,
            distinct: None,
            index: indices,
            count: false,
        };
        // The input's chunks along the axis, at most a sixteenth of the limit.
        let chunk = self.chunks()?.max_chunk_shape()[axis].min(column_chunk(self.dtype(), opts));
        let what = if indices { "argsort" } else { "sort" };
        let dtype = self.dtype();
        let sort_lane = |lane: &Array| -> Result<Array> {
            crate::dispatch_dtype!(dtype, T => {
                let sorted = sort_records::<T>(lane, what, sorting, opts)?;
                let (values, index, _) = sorted_arrays(sorted, sorting, chunk)?;
                if indices {
                    index.ok_or_else(|| Error::internal("argsort without indices"))
                } else {
                    Ok(values)
                }
            })
        };
        if nd == 1 {
            return sort_lane(self);
        }
        let last = self.moveaxis(axis as isize, -1)?;
        let outer: Vec<usize> = last.try_shape()?[..nd - 1].to_vec();
        let count: usize = outer.iter().product();
        let rows = last.reshape(&[count as isize, n as isize])?;
        let lanes = (0..count)
            .map(|k| sort_lane(&rows.index_numpy(&[NumpyIndex::Int(k as isize)])?))
            .collect::<Result<Vec<_>>>()?;
        let stacked = if lanes.is_empty() {
            rows.astype(if indices { DType::I64 } else { dtype })?
        } else {
            Array::stack(&lanes.iter().collect::<Vec<_>>(), 0)?
        };
        let mut moved: Vec<isize> = outer.iter().map(|&d| d as isize).collect();
        moved.push(n as isize);
        stacked.reshape(&moved)?.moveaxis(-1, axis as isize)
    }
}
