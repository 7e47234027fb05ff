//! Searching and sets: `argwhere`/`nonzero`/`flatnonzero`, `searchsorted`, `digitize`,
//! `isin`, `take_along_axis`.
//!
//! Where the result's shape depends on the data (`nonzero`, `unique`) the work that decides
//! it is computed now, under the caller's options, as for a boolean index; the rest stays
//! lazy. The small operands these functions search (`searchsorted`'s sorted array,
//! `digitize`'s bins, `isin`'s test elements) are computed and held in memory, each task
//! sharing one copy; they are refused when larger than a quarter of the memory limit.
//! `unique` and the array API's `unique_*` are in `unique.rs`.

use super::axis::AxisArg;
use std::cmp::Ordering;
use std::sync::Arc;

use ndarray::IxDyn;

use super::map::map_blocks_internal;
use super::{Array, MapBlocks};
use crate::block::BlockElement;
use crate::config::ComputeOptions;
use crate::dtype::{DType, Scalar, sort_order as order};
use crate::error::{Error, Result};

/// The number of `sorted` elements before `v` (`side` left: `< v`; right: `<= v`).
fn insertion<T: PartialOrd>(sorted: &[T], v: &T, right: bool) -> usize {
    sorted.partition_point(|s| match order(s, v) {
        Ordering::Less => true,
        Ordering::Equal => right,
        Ordering::Greater => false,
    })
}

/// The bytes an operand computed into memory may take: a quarter of the memory limit.
fn in_memory_budget(opts: &ComputeOptions) -> u64 {
    opts.effective_memory_limit() / 4
}

/// `x` computed as a flat vector of `T` (its dtype), refused when larger than the budget.
fn small_values<T: BlockElement>(x: &Array, what: &str, opts: &ComputeOptions) -> Result<Vec<T>> {
    let budget = in_memory_budget(opts);
    if x.nbytes() > budget {
        return Err(Error::invalid(format!(
            "{what} of {} bytes is computed into memory, which allows {budget} bytes (a \
             quarter of the memory limit)",
            x.nbytes()
        )));
    }
    let (block, _) = x.compute_with(opts)?;
    let a = T::view(&block).ok_or_else(|| Error::internal("a block of another dtype"))?;
    Ok(a.iter().copied().collect())
}

/// A kernel mapping each element of a block of `T` through `f`, giving `U`.
pub(super) fn elementwise<T, U>(
    x: &Array,
    name: &str,
    f: impl Fn(&T) -> U + Send + Sync + 'static,
) -> Result<Array>
where
    T: BlockElement,
    U: BlockElement,
{
    map_blocks_internal(
        &[x],
        &MapBlocks::new(name).dtype(U::DTYPE),
        move |blocks, _info| {
            let b = blocks[0]
                .view::<T>()
                .ok_or_else(|| Error::internal("a block of another dtype"))?;
            Ok(U::wrap(b.map(&f)))
        },
    )
}

impl Array {
    /// NumPy's `nonzero`: one int64 array per axis of the indices of the non-zero elements,
    /// in C order. How many there are is computed now (one pass per axis).
    ///
    /// # Errors
    /// A 0-d array; errors computing the mask.
    pub fn nonzero_with(&self, opts: &ComputeOptions) -> Result<Vec<Array>> {
        let shape = self.try_shape()?;
        if shape.is_empty() {
            return Err(Error::invalid(
                "nonzero of a 0-d array is not supported (NumPy deprecates it; use atleast_1d)",
            ));
        }
        let mask = self.astype(DType::Bool)?;
        let chunks = self.chunks()?.max_chunk_shape();
        (0..shape.len())
            .map(|d| {
                let mut along = vec![1isize; shape.len()];
                along[d] = shape[d] as isize;
                let coords = Array::arange(
                    Scalar::Int(0),
                    Scalar::Int(shape[d] as i64),
                    Scalar::Int(1),
                    chunks[d].max(1),
                )?
                .reshape(&along)?
                .broadcast_to(&shape)?
                .rechunk(&chunks)?;
                coords.boolean_index_with(&mask, opts)
            })
            .collect()
    }

    /// NumPy's `argwhere`: the indices of the non-zero elements, one row each (int64, shape
    /// `(count, ndim)`).
    ///
    /// # Errors
    /// As [`Array::nonzero_with`].
    pub fn argwhere_with(&self, opts: &ComputeOptions) -> Result<Array> {
        let columns = self.nonzero_with(opts)?;
        let refs: Vec<&Array> = columns.iter().collect();
        Array::stack(&refs, 1)
    }

    /// NumPy's `searchsorted(a, v, side)`: where each element of `v` would be inserted in
    /// this sorted 1-d array to keep it sorted (before equal elements, or after them with
    /// `right`), as int64 of `v`'s shape. This array is computed into memory; `v` stays
    /// lazy.
    ///
    /// # Errors
    /// An array that is not 1-d or is larger than a quarter of the memory limit.
    pub fn searchsorted_with(
        &self,
        v: &Array,
        right: bool,
        opts: &ComputeOptions,
    ) -> Result<Array> {
        if self.ndim() != 1 {
            return Err(Error::invalid(format!(
                "searchsorted: the sorted array must be 1-d, got shape {}",
                crate::grid::fmt_shape(&self.shape())
            )));
        }
        let dtype = DType::promote(self.dtype(), v.dtype());
        let (a, v) = (self.astype(dtype)?, v.astype(dtype)?);
        crate::dispatch_dtype!(dtype, T => {
            let sorted: Arc<Vec<T>> = Arc::new(small_values::<T>(&a, "searchsorted's sorted array", opts)?);
            elementwise::<T, i64>(&v, "searchsorted", move |x| insertion(&sorted, x, right) as i64)
        })
    }

    /// NumPy's `digitize(x, bins, right)`: the index of the bin of each element, for
    /// increasing or decreasing `bins` (computed into memory), as int64.
    ///
    /// # Errors
    /// Bins that are not 1-d or not monotonic.
    pub fn digitize_with(&self, bins: &Array, right: bool, opts: &ComputeOptions) -> Result<Array> {
        if bins.ndim() != 1 {
            return Err(Error::invalid("digitize: bins must be 1-d"));
        }
        let edges = small_values::<f64>(&bins.astype(DType::F64)?, "digitize's bins", opts)?;
        let increasing = edges.windows(2).all(|w| w[0] <= w[1]);
        let decreasing = edges.windows(2).all(|w| w[0] >= w[1]);
        if !(increasing || decreasing) {
            return Err(Error::invalid(
                "digitize: bins must be monotonically increasing or decreasing",
            ));
        }
        self.real_only("digitize")?;
        let x = self.astype(DType::F64)?;
        let n = edges.len();
        if increasing {
            let edges = Arc::new(edges);
            elementwise::<f64, i64>(&x, "digitize", move |v| insertion(&edges, v, !right) as i64)
        } else {
            let reversed: Arc<Vec<f64>> = Arc::new(edges.into_iter().rev().collect());
            elementwise::<f64, i64>(&x, "digitize", move |v| {
                (n - insertion(&reversed, v, !right)) as i64
            })
        }
    }

    /// NumPy's `isin(element, test_elements, invert)`: whether each element is among the
    /// test elements (computed into memory), as bool.
    ///
    /// # Errors
    /// Test elements larger than a quarter of the memory limit.
    pub fn isin_with(&self, test: &Array, invert: bool, opts: &ComputeOptions) -> Result<Array> {
        let dtype = DType::promote(self.dtype(), test.dtype());
        let (x, t) = (self.astype(dtype)?, test.astype(dtype)?);
        crate::dispatch_dtype!(dtype, T => {
            let mut values = small_values::<T>(&t, "isin's test elements", opts)?;
            values.sort_by(order);
            let values = Arc::new(values);
            elementwise::<T, bool>(&x, "isin", move |v| {
                #[allow(clippy::eq_op)]
                let found = v == v && values.binary_search_by(|s| order(s, v)).is_ok();
                found != invert
            })
        })
    }

    /// NumPy's `take_along_axis(arr, indices, axis)`: element `idx` of `indices` picks
    /// along `axis` from the lane of `arr` at the same position on the other axes. The
    /// indices are computed now (as every index array); the selection is a lazy
    /// [`Array::vindex`].
    ///
    /// # Errors
    /// Indices of another rank, or of other lengths than `arr` on the other axes; an
    /// index out of range.
    pub fn take_along_axis_with(
        &self,
        indices: &Array,
        axis: impl Into<AxisArg>,
        opts: &ComputeOptions,
    ) -> Result<Array> {
        let axis = axis.into().get();
        let shape = self.try_shape()?;
        let ishape = indices.try_shape()?;
        let axis = crate::expr::normalize_axes(&[axis], shape.len())?[0];
        let fits = ishape.len() == shape.len()
            && (0..shape.len()).all(|d| d == axis || ishape[d] == shape[d]);
        if !fits || !indices.dtype().is_integer() {
            return Err(Error::invalid(format!(
                "take_along_axis: indices must be integers of the array's rank and lengths \
                 except along axis {axis}: got {} {} for an array of shape {}",
                indices.dtype(),
                crate::grid::fmt_shape(&ishape),
                crate::grid::fmt_shape(&shape)
            )));
        }
        let values = small_values::<i64>(
            &indices.astype(DType::I64)?,
            "take_along_axis's indices",
            opts,
        )?;
        let mut coords: Vec<Vec<i64>> = vec![Vec::with_capacity(values.len()); shape.len()];
        for (position, &v) in ndarray::indices(IxDyn(&ishape)).into_iter().zip(&values) {
            for (d, c) in coords.iter_mut().enumerate() {
                c.push(if d == axis { v } else { position[d] as i64 });
            }
        }
        let refs: Vec<&[i64]> = coords.iter().map(Vec::as_slice).collect();
        let target: Vec<isize> = ishape.iter().map(|&n| n as isize).collect();
        self.vindex(&refs)?.reshape(&target)
    }
}
