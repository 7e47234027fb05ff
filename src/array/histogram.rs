//! NumPy's `histogram` and `bincount`: a count per bin of each block (a `map_blocks` with a
//! new axis of bins), summed over the blocks by a tree reduction.

use super::map::map_blocks_internal;
use super::{Array, MapBlocks, ReduceOptions};
use crate::block::Block;
use crate::dtype::{DType, Kind};
use crate::error::{Error, Result};
use crate::expr::ReduceOp;
use crate::kernel::histogram::{self, BinEdges};

/// The bins of [`Array::histogram`] (NumPy's `bins` and `range`).
#[derive(Clone, Debug, PartialEq)]
pub enum Bins {
    /// `n` equal bins over `range`; without a range, over the array's minimum and maximum
    /// (computed first: one pass over the array).
    Count {
        /// Number of bins.
        n: usize,
        /// The lower and upper edges.
        range: Option<(f64, f64)>,
    },
    /// Explicit edges, increasing (at least two).
    Edges(Vec<f64>),
}

impl Array {
    /// NumPy's `histogram`: the number of elements in each bin (int64), or the sum of their
    /// `weights` (an array of the same shape; the result has its dtype, summed in float64
    /// per block), or with `density` the value of the
    /// probability density (float64: counts over the total and the bin width); and the bin
    /// edges. Bins are half-open, `[e_i, e_i+1)`, the last also holding its upper edge;
    /// values outside the edges (and NaN) are not counted.
    ///
    /// Each block is binned on its own and the counts are summed by a tree reduction, so
    /// the memory needed is a few count vectors per task, whatever the array's size.
    ///
    /// # Errors
    /// Zero bins, a range that is not finite or decreasing, edges that are not increasing,
    /// weights of another shape, an array whose range must be computed and holds NaN
    /// (every dtype is binned by its value as float64).
    pub fn histogram(
        &self,
        bins: &Bins,
        weights: Option<&Array>,
        density: bool,
    ) -> Result<(Array, Vec<f64>)> {
        let bins = match bins {
            Bins::Count { n: 0, .. } => {
                return Err(Error::invalid(
                    "histogram: the number of bins must be positive",
                ));
            }
            Bins::Count { n, range } => {
                let (mut lo, mut hi) = match range {
                    Some(r) => *r,
                    None => self.min_max("histogram")?,
                };
                if !(lo.is_finite() && hi.is_finite()) {
                    return Err(Error::invalid(format!(
                        "histogram: the range [{lo}, {hi}] is not finite"
                    )));
                }
                if lo > hi {
                    return Err(Error::invalid(format!(
                        "histogram: max must be larger than min in range ({lo}, {hi})"
                    )));
                }
                if lo == hi {
                    lo -= 0.5;
                    hi += 0.5;
                }
                BinEdges::Uniform { n: *n, lo, hi }
            }
            Bins::Edges(e) => {
                if e.len() < 2
                    || e.windows(2).any(|w| {
                        w[0].partial_cmp(&w[1])
                            .is_none_or(std::cmp::Ordering::is_gt)
                    })
                {
                    return Err(Error::invalid(format!(
                        "histogram: bin edges must be increasing, at least two: {e:?}"
                    )));
                }
                BinEdges::Edges(e.clone())
            }
        };
        let edges = bins.edges();
        let counts = self.bin_counts("histogram", weights, bins, edges.clone())?;
        if !density {
            // NumPy's weighted counts have the weights' dtype.
            let counts = match weights {
                Some(w) => counts.astype(w.dtype())?,
                None => counts,
            };
            return Ok((counts, edges));
        }
        let widths: Vec<f64> = edges.windows(2).map(|w| w[1] - w[0]).collect();
        let widths =
            Array::from_ndarray(ndarray::Array1::from(widths).into_dyn(), &[edges.len() - 1])?;
        let counts = counts.astype(DType::F64)?;
        let total = counts.sum()?;
        let density = counts.binary(crate::expr::BinaryOp::Div, &total)?;
        Ok((density.binary(crate::expr::BinaryOp::Div, &widths)?, edges))
    }

    /// NumPy's `bincount`: for a 1-d array of non-negative integers, the number of times
    /// each value `0..=max` occurs (int64), or the sum of the `weights` at its positions
    /// (float64), at least `minlength` long. The minimum and maximum are computed first (one
    /// pass over the array) to check the values and size the result.
    ///
    /// # Errors
    /// An array that is not 1-d or not of integers (or bool), negative values, weights of
    /// another shape.
    pub fn bincount(&self, weights: Option<&Array>, minlength: usize) -> Result<Array> {
        if self.ndim() != 1 {
            return Err(Error::invalid(format!(
                "bincount: the array must be 1-d, not of shape {}",
                crate::grid::fmt_shape(&self.shape())
            )));
        }
        if !matches!(
            self.dtype().kind(),
            Kind::Signed | Kind::Unsigned | Kind::Bool
        ) {
            return Err(Error::invalid(format!(
                "bincount: the array must hold integers, not {}",
                self.dtype()
            )));
        }
        let n = if self.is_empty() {
            minlength
        } else {
            let (lo, hi) = self.min_max("bincount")?;
            if lo < 0.0 {
                return Err(Error::invalid(format!(
                    "bincount: the array holds negative values ({lo})"
                )));
            }
            (hi as usize + 1).max(minlength)
        };
        if n == 0 {
            return Array::zeros(
                &[0],
                &[1],
                if weights.is_some() {
                    DType::F64
                } else {
                    DType::I64
                },
            );
        }
        // Integer bins: [i, i + 1) for i in 0..n, the last closed at n (never reached).
        let bins = BinEdges::Uniform {
            n,
            lo: 0.0,
            hi: n as f64,
        };
        let edges = bins.edges();
        self.bin_counts("bincount", weights, bins, edges)
    }

    /// The smallest and largest element, as f64 (computed now).
    fn min_max(&self, op: &str) -> Result<(f64, f64)> {
        let lo = self.min()?.astype(DType::F64)?.compute_as::<f64>()?;
        let hi = self.max()?.astype(DType::F64)?.compute_as::<f64>()?;
        let (lo, hi) = (
            lo.iter().copied().next().unwrap_or(0.0),
            hi.iter().copied().next().unwrap_or(0.0),
        );
        if lo.is_nan() || hi.is_nan() {
            return Err(Error::invalid(format!(
                "{op}: the range of the values [{lo}, {hi}] is not finite (give a range)"
            )));
        }
        Ok((lo, hi))
    }

    /// Counts per bin of every block, summed.
    fn bin_counts(
        &self,
        op: &str,
        weights: Option<&Array>,
        bins: BinEdges,
        edges: Vec<f64>,
    ) -> Result<Array> {
        self.real_only(op)?;
        if let Some(w) = weights {
            w.real_only(op)?;
        }
        let grid = self.chunks()?.clone();
        let nbins = bins.len();
        let mut inputs = vec![self.clone()];
        if let Some(w) = weights {
            if w.shape() != self.shape() {
                return Err(Error::ShapeMismatch {
                    op: op.into(),
                    lhs: self.shape(),
                    rhs: w.shape(),
                    hint: "weights must have the array's shape".into(),
                });
            }
            inputs.push(w.rechunk_grid(grid.clone())?);
        }
        let weighted = weights.is_some();
        let ndim = self.ndim();
        // One length-1 block per input block, and the bins along a new last axis.
        let mut chunks: Vec<Vec<usize>> = grid.grid_shape().iter().map(|&n| vec![1; n]).collect();
        chunks.push(vec![nbins]);
        let refs: Vec<&Array> = inputs.iter().collect();
        let per_block = map_blocks_internal(
            &refs,
            &MapBlocks::new(op)
                .dtype(if weighted { DType::F64 } else { DType::I64 })
                .new_axis(&[ndim as isize])
                .chunks(chunks),
            move |blocks, _info| {
                let mut counts = vec![0.0; nbins];
                crate::dispatch_dtype!(blocks[0].dtype(), T => {
                    let x = blocks[0].view::<T>().ok_or_else(|| Error::internal("a block of another dtype"))?;
                    match blocks.get(1) {
                        None => histogram::histogram::<T, f64>(x, None, &bins, &edges, &mut counts),
                        Some(w) => crate::dispatch_dtype!(w.dtype(), W => {
                            let w = w.view::<W>().ok_or_else(|| Error::internal("a block of another dtype"))?;
                            histogram::histogram(x, Some(w), &bins, &edges, &mut counts)
                        }),
                    }
                });
                let mut shape = vec![1; ndim];
                shape.push(nbins);
                let shape = ndarray::IxDyn(&shape);
                Ok(if weighted {
                    Block::from(
                        ndarray::ArrayD::from_shape_vec(shape, counts)
                            .map_err(|e| Error::internal_from("histogram counts block", e))?,
                    )
                } else {
                    let counts: Vec<i64> = counts.iter().map(|&c| c as i64).collect();
                    Block::from(
                        ndarray::ArrayD::from_shape_vec(shape, counts)
                            .map_err(|e| Error::internal_from("histogram counts block", e))?,
                    )
                })
            },
        )?;
        if ndim == 0 {
            return Ok(per_block);
        }
        let axes: Vec<isize> = (0..ndim as isize).collect();
        per_block.reduce(ReduceOp::Sum, Some(&axes), &ReduceOptions::default())
    }
}
