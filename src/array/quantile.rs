//! NumPy's `quantile` (the default "linear" method) and `median` along one axis: the axis is
//! made one block (the other axes' chunks shrunk so a block stays as large as the input's
//! blocks), and a `map_blocks` task sorts partially each lane of its block.

use super::axis::AxisArg;
use ndarray::{ArrayD, Axis, IxDyn};

use super::map::map_blocks_internal;
use super::{Array, MapBlocks};
use crate::block::Block;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr;
use crate::grid::{AxisChunks, ChunkGrid};

/// What a lane reduces to.
#[derive(Clone, Copy)]
enum Statistic {
    Quantile(f64),
    Median,
}

/// Whether a lane's NaNs make it NaN (NumPy's `quantile`) or are left out (`nanquantile`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nan {
    Propagate,
    Omit,
}

impl Array {
    /// NumPy's `quantile(x, q, axis)` with the default linear interpolation between the two
    /// nearest order statistics (`q` in `[0, 1]`). A lane holding NaN gives NaN. float32
    /// stays float32; other dtypes give float64.
    ///
    /// The axis is made one block: each task holds whole lanes (other axes' chunks are cut
    /// so a block has no more elements than the array's largest block, at least one lane).
    ///
    /// # Errors
    /// `q` outside `[0, 1]`, an axis out of range, an empty axis.
    pub fn quantile(&self, q: f64, axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        if !(0.0..=1.0).contains(&q) {
            return Err(Error::invalid(format!(
                "quantile: q must be in [0, 1], got {q}"
            )));
        }
        self.lane_statistic(Statistic::Quantile(q), Nan::Propagate, axis, "quantile")
    }

    /// NumPy's `nanquantile(x, q, axis)`: [`Array::quantile`] of the lane's values that
    /// are not NaN (a lane of NaN only gives NaN).
    ///
    /// # Errors
    /// As [`Array::quantile`].
    pub fn nanquantile(&self, q: f64, axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        if !(0.0..=1.0).contains(&q) {
            return Err(Error::invalid(format!(
                "nanquantile: q must be in [0, 1], got {q}"
            )));
        }
        self.lane_statistic(Statistic::Quantile(q), Nan::Omit, axis, "nanquantile")
    }

    /// NumPy's `nanmedian` along `axis`: the median of the values that are not NaN.
    ///
    /// # Errors
    /// As [`Array::median`].
    pub fn nanmedian(&self, axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        self.lane_statistic(Statistic::Median, Nan::Omit, axis, "nanmedian")
    }

    /// NumPy's `median` along `axis`: the middle element, or the mean of the two middle
    /// ones. See [`Array::quantile`].
    ///
    /// # Errors
    /// An axis out of range, an empty axis.
    pub fn median(&self, axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        self.lane_statistic(Statistic::Median, Nan::Propagate, axis, "median")
    }

    fn lane_statistic(&self, stat: Statistic, nan: Nan, axis: isize, name: &str) -> Result<Array> {
        self.real_only(name)?;
        let axis = expr::normalize_axes(&[axis], self.ndim())?[0];
        let shape = self.shape();
        if shape[axis] == 0 {
            return Err(Error::invalid(format!(
                "{name}: axis {axis} of an array of shape {} is empty",
                crate::grid::fmt_shape(&shape)
            )));
        }
        let out = match self.dtype() {
            DType::F32 => DType::F32,
            _ => DType::F64,
        };
        let lanes = self.astype(DType::F64)?.whole_lanes(axis)?;
        let y = map_blocks_internal(
            &[&lanes],
            &MapBlocks::new(name)
                .dtype(DType::F64)
                .drop_axis(&[axis as isize]),
            move |blocks, _info| {
                let b = blocks[0]
                    .view::<f64>()
                    .ok_or_else(|| Error::internal("a block of another dtype"))?;
                let mut out_shape = b.shape().to_vec();
                out_shape.remove(axis);
                let mut lane = Vec::with_capacity(b.shape()[axis]);
                let values: Vec<f64> = b
                    .lanes(Axis(axis))
                    .into_iter()
                    .map(|l| {
                        lane.clear();
                        match nan {
                            Nan::Propagate => lane.extend(l.iter().copied()),
                            Nan::Omit => lane.extend(l.iter().copied().filter(|v| !v.is_nan())),
                        }
                        lane_value(&mut lane, stat)
                    })
                    .collect();
                let a = ArrayD::from_shape_vec(IxDyn(&out_shape), values)
                    .map_err(|e| Error::internal_from("quantile block", e))?;
                Ok(Block::from(a))
            },
        )?;
        y.astype(out)
    }
}

impl Array {
    /// The array rechunked so that `axis` is one block (whole lanes), the other axes' chunks
    /// cut down, largest first, so a block holds no more elements than the array's largest
    /// block (at least one lane).
    ///
    /// # Errors
    /// An error the array carries.
    pub(super) fn whole_lanes(&self, axis: usize) -> Result<Array> {
        let shape = self.try_shape()?;
        let grid = self.chunks()?;
        let budget = grid
            .max_chunk_shape()
            .iter()
            .product::<usize>()
            .max(shape[axis]);
        let mut chunk = grid.max_chunk_shape();
        chunk[axis] = shape[axis];
        while chunk.iter().product::<usize>() > budget {
            let d = (0..chunk.len())
                .filter(|&d| d != axis)
                .max_by_key(|&d| chunk[d])
                .expect("a block over budget has another axis longer than 1");
            chunk[d] = chunk[d].div_ceil(2);
        }
        let axes = shape
            .iter()
            .zip(&chunk)
            .map(|(&n, &c)| AxisChunks::regular(n, c.max(1)))
            .collect();
        self.rechunk_grid(ChunkGrid::from_axes(axes))
    }
}

/// The statistic of one lane (reordered in place), as NumPy computes it.
fn lane_value(v: &mut [f64], stat: Statistic) -> f64 {
    if v.is_empty() || v.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    let n = v.len();
    let mut nth = |k: usize| -> f64 {
        let (_, x, _) = v.select_nth_unstable_by(k, f64::total_cmp);
        *x
    };
    match stat {
        Statistic::Median => {
            if n % 2 == 1 {
                nth(n / 2)
            } else {
                let hi = nth(n / 2);
                // The largest of the lower half: the elements before index n/2 are <= hi.
                let lo = v[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (lo + hi) / 2.0
            }
        }
        Statistic::Quantile(q) => {
            // NumPy's "linear" method: virtual index (n - 1) q, lerp between its neighbours
            // (from the upper one when t >= 0.5, as NumPy's `_lerp`).
            // NumPy's virtual index, computed as it does (alpha = beta = 1).
            let (alpha, beta) = (1.0, 1.0);
            let h = n as f64 * q + (alpha + q * (1.0 - alpha - beta)) - 1.0;
            let lo_i = (h.floor().max(0.0) as usize).min(n - 1);
            let t = h - lo_i as f64;
            let a = nth(lo_i);
            if lo_i + 1 >= n {
                return a;
            }
            let b = v[lo_i + 1..].iter().copied().fold(f64::INFINITY, f64::min);
            let d = b - a;
            if t >= 0.5 {
                b - d * (1.0 - t)
            } else {
                a + d * t
            }
        }
    }
}
