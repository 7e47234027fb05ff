//! `sort` and `argsort` along an axis.
//!
//! When a lane fits comfortably in memory (its block, the sorted copy and the permutation
//! in half the memory limit), the axis is made one block (whole lanes, the other axes'
//! chunks cut so a block is no larger than the array's largest block, as for `quantile`)
//! and a lazy `map_blocks` task sorts each lane of its block, stably, NaN last as NumPy.
//! A larger lane is sorted now, out of core: read in chunks, sorted in runs written to disk
//! and merged ([`crate::driver::external`]), the result a temporary file read as an array;
//! an array of several such lanes stacks one result per lane.

use super::axis::AxisArg;

use ndarray::{ArrayD, Axis};

use super::external::{sort_records, sorted_arrays};
use super::map::map_blocks_internal;
use super::{Array, MapBlocks, NumpyIndex};
use crate::block::BlockElement;
use crate::config::ComputeOptions;
use crate::driver::external::Sorting;
use crate::dtype::{DType, sort_order as order};
use crate::error::{Error, Result};
use crate::expr;

/// Sorting one lane: of values, or of (value, index) pairs by value; stably, ascending
/// (NaN last, as NumPy) or descending (NaN first, as the array API's `descending=True`).
/// Numbers are radix sorted on a key in which NumPy's equal values are equal (-0.0 and
/// 0.0, every NaN), so equal values keep their order as a stable comparison sort would;
/// bool and complex values are sorted by comparison.
trait SortLane: Sized + Copy {
    fn sort_values(lane: &mut [Self], descending: bool);
    fn sort_pairs(pairs: &mut [(Self, i64)], descending: bool);
}

/// The stable comparison sort of [`SortLane`] (NumPy's order, [`order`]).
fn compared<T: Copy, V: PartialOrd>(lane: &mut [T], value: impl Fn(&T) -> V, descending: bool) {
    if descending {
        lane.sort_by(|a, b| order(&value(b), &value(a)));
    } else {
        lane.sort_by(|a, b| order(&value(a), &value(b)));
    }
}

macro_rules! sort_by_comparison {
    ($($t:ty),*) => {$(
        impl SortLane for $t {
            fn sort_values(lane: &mut [Self], descending: bool) {
                compared(lane, |v| *v, descending);
            }
            fn sort_pairs(pairs: &mut [(Self, i64)], descending: bool) {
                compared(pairs, |p| p.0, descending);
            }
        }
    )*};
}
sort_by_comparison!(bool, crate::dtype::Complex64, crate::dtype::Complex128);

macro_rules! sort_integers {
    ($($t:ty),*) => {$(
        impl SortLane for $t {
            fn sort_values(lane: &mut [Self], descending: bool) {
                // `!v` reverses the order of any integer type without overflow.
                if descending {
                    radsort::sort_by_key(lane, |v| !*v);
                } else {
                    radsort::sort(lane);
                }
            }
            fn sort_pairs(pairs: &mut [(Self, i64)], descending: bool) {
                if descending {
                    radsort::sort_by_key(pairs, |p| !p.0);
                } else {
                    radsort::sort_by_key(pairs, |p| p.0);
                }
            }
        }
    )*};
}
sort_integers!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! sort_floats {
    ($($t:ty),*) => {$(
        impl SortLane for $t {
            fn sort_values(lane: &mut [Self], descending: bool) {
                if descending {
                    radsort::sort_by_key(lane, |v| float_key_descending(*v));
                } else {
                    radsort::sort_by_key(lane, |v| float_key(*v));
                }
            }
            fn sort_pairs(pairs: &mut [(Self, i64)], descending: bool) {
                if descending {
                    radsort::sort_by_key(pairs, |p| float_key_descending(p.0));
                } else {
                    radsort::sort_by_key(pairs, |p| float_key(p.0));
                }
            }
        }
    )*};
}
sort_floats!(f32, f64);

/// The ascending radix key of a float: -0.0 as 0.0, every NaN as the positive NaN (after
/// +inf in radsort's order).
#[inline]
fn float_key<F: num_traits::Float>(v: F) -> F {
    if v.is_nan() {
        F::nan().abs()
    } else {
        v + F::zero()
    }
}

/// The descending radix key of a float: NaN first (`false` sorts before `true`), then the
/// negated value (-0.0 and 0.0 equal).
#[inline]
fn float_key_descending<F: num_traits::Float>(v: F) -> (bool, F) {
    if v.is_nan() {
        (false, F::zero())
    } else {
        (true, F::zero() - v)
    }
}

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
                        T::sort_pairs(&mut pairs, descending);
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
                    T::sort_values(&mut lane, descending);
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
        let most = opts.effective_memory_limit() / 16 / self.dtype().size() as u64;
        let chunk = self.chunks()?.max_chunk_shape()[axis]
            .min(usize::try_from(most).unwrap_or(usize::MAX))
            .max(1);
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

#[cfg(test)]
mod tests {
    use super::SortLane;

    #[test]
    fn radix_keys_keep_numpys_order_and_stability() {
        let nan = f64::NAN;
        let lane = [
            0.0,
            -0.0,
            -nan,
            1.0,
            f64::NEG_INFINITY,
            nan,
            -0.0,
            f64::INFINITY,
        ];
        let mut pairs: Vec<(f64, i64)> = lane
            .iter()
            .enumerate()
            .map(|(k, &v)| (v, k as i64))
            .collect();
        f64::sort_pairs(&mut pairs, false);
        let idx: Vec<i64> = pairs.iter().map(|p| p.1).collect();
        // Equal values (the zeros, the NaNs) in their input order; NaN last.
        assert_eq!(idx, [4, 0, 1, 6, 3, 7, 2, 5]);
        f64::sort_pairs(&mut pairs, true);
        let idx: Vec<i64> = pairs.iter().map(|p| p.1).collect();
        // Descending: NaN first, equal values still in input order.
        assert_eq!(idx, [2, 5, 7, 3, 0, 1, 6, 4]);
        let mut ints = [3i8, -128, 127, 0, -1];
        i8::sort_values(&mut ints, true);
        assert_eq!(ints, [127, 3, 0, -1, -128]);
        let mut ints = [3u64, u64::MAX, 0];
        u64::sort_values(&mut ints, false);
        assert_eq!(ints, [0, 3, u64::MAX]);
    }
}
