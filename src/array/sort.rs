//! `sort` and `argsort` along an axis: the axis is made one block (whole lanes, the other
//! axes' chunks cut so a block is no larger than the array's largest block, as for
//! `quantile`), and a `map_blocks` task sorts each lane of its block, stably, NaN last as
//! NumPy. Each task holds one block and its result, so the memory limit holds as long as
//! one lane fits in it; a lane larger than the limit (an external merge of sorted runs) is
//! not done yet.

use super::axis::AxisArg;
use std::cmp::Ordering;

use ndarray::{ArrayD, Axis};

use super::map::map_blocks_internal;
use super::{Array, MapBlocks};
use crate::block::BlockElement;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr;

/// NumPy's sort order: NaN (the value unequal to itself) after everything else.
#[allow(clippy::eq_op)]
fn order<T: PartialOrd>(a: &T, b: &T) -> Ordering {
    a.partial_cmp(b)
        .unwrap_or_else(|| (a == a).cmp(&(b == b)).reverse())
}

/// The stable sort permutation of `lane`, descending (equal elements keeping their order,
/// NaN first, as the array API's `descending=True`) or ascending.
fn permutation<T: PartialOrd + Copy>(lane: &[T], descending: bool) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..lane.len()).collect();
    if descending {
        idx.sort_by(|&i, &j| order(&lane[j], &lane[i]));
    } else {
        idx.sort_by(|&i, &j| order(&lane[i], &lane[j]));
    }
    idx
}

impl Array {
    /// The array API's `sort(x, axis, descending)` (NumPy's `sort` along an axis): each
    /// lane along `axis` sorted, stably, NaN last (first when descending).
    ///
    /// # Errors
    /// An axis out of range; a 0-d array.
    pub fn sort_axis(&self, axis: impl Into<AxisArg>, descending: bool) -> Result<Array> {
        let axis = axis.into().get();
        self.sorted(axis, descending, false)
    }

    /// The array API's `argsort(x, axis, descending)`: the int64 indices that sort each
    /// lane along `axis` (stable).
    ///
    /// # Errors
    /// As [`Array::sort_axis`].
    pub fn argsort(&self, axis: impl Into<AxisArg>, descending: bool) -> Result<Array> {
        let axis = axis.into().get();
        self.sorted(axis, descending, true)
    }

    fn sorted(&self, axis: isize, descending: bool, indices: bool) -> Result<Array> {
        let shape = self.try_shape()?;
        if shape.is_empty() {
            return Err(Error::invalid(
                "sort: a 0-d array has no axis to sort along",
            ));
        }
        let axis = expr::normalize_axes(&[axis], shape.len())?[0];
        let lanes = self.whole_lanes(axis)?;
        let dtype = self.dtype();
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
                let mut values: ArrayD<T> = b.to_owned();
                let mut order: ArrayD<i64> = ArrayD::zeros(b.raw_dim());
                let mut lane = Vec::with_capacity(b.shape()[axis]);
                for (mut v, mut o) in values
                    .lanes_mut(Axis(axis))
                    .into_iter()
                    .zip(order.lanes_mut(Axis(axis)))
                {
                    lane.clear();
                    lane.extend(v.iter().copied());
                    let perm = permutation(&lane, descending);
                    for (k, &p) in perm.iter().enumerate() {
                        v[k] = lane[p];
                        o[k] = p as i64;
                    }
                }
                Ok(if indices { i64::wrap(order) } else { T::wrap(values) })
            },
        ))
    }
}
