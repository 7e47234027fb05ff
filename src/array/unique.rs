//! Distinct values: NumPy's `unique` and the array API's `unique_values`, `unique_counts`,
//! `unique_inverse` and `unique_all`.
//!
//! The distinct values (with their counts and first indices when asked) are computed now,
//! by the external sort of [`crate::driver::external`]: the array is read chunk by chunk,
//! each slab's values sorted and combined in memory, and only when the distinct values
//! outgrow an eighth of the memory limit are they written to sorted runs on disk and merged
//! there; the result is then a temporary file read as an array. So the number of distinct
//! values is bounded by the disk, not the memory. The inverse indices stay lazy: each
//! element's position among the values, found by binary search in the values held in
//! memory (which must then fit a quarter of the limit).
//!
//! NumPy's `unique` counts NaN once (`equal_nan=True`); the array API's functions count
//! each NaN as its own value, as the standard says.

use std::sync::Arc;

use super::Array;
use super::external::{column_chunk, sort_records, sorted_arrays};
use super::search::elementwise;
use crate::block::BlockElement;
use crate::config::ComputeOptions;
use crate::driver::external::{Fixed, Nans, Sorted, Sorting};
use crate::dtype::sort_order;
use crate::error::{Error, Result};

/// The array API's `unique_all`: the distinct values, the flat index of each one's first
/// occurrence, each element's position among the values, and how often each occurs.
#[derive(Debug, Clone)]
pub struct UniqueAll {
    /// The sorted distinct values (1-d, the dtype of the input; each NaN its own value).
    pub values: Array,
    /// The flat (C-order) index of each value's first occurrence (int64).
    pub indices: Array,
    /// For each element of the input, the index of its value in `values` (int64, the
    /// input's shape).
    pub inverse_indices: Array,
    /// How many times each value occurs (int64).
    pub counts: Array,
}

/// The array API's `unique_counts`: the distinct values and how often each occurs.
#[derive(Debug, Clone)]
pub struct UniqueCounts {
    /// As [`UniqueAll::values`].
    pub values: Array,
    /// As [`UniqueAll::counts`].
    pub counts: Array,
}

/// The array API's `unique_inverse`: the distinct values and each element's position
/// among them.
#[derive(Debug, Clone)]
pub struct UniqueInverse {
    /// As [`UniqueAll::values`].
    pub values: Array,
    /// As [`UniqueAll::inverse_indices`].
    pub inverse_indices: Array,
}

/// What one computation of distinct values gives.
struct Distinct {
    values: Array,
    indices: Option<Array>,
    counts: Option<Array>,
    inverse: Option<Array>,
}

impl Array {
    /// NumPy's `unique`: the sorted distinct values, NaN once at the end (NumPy's
    /// `equal_nan=True`; the array API's [`Array::unique_values_with`] keeps every NaN).
    /// Computed now (see the module doc): the distinct values may outgrow memory.
    ///
    /// ```
    /// use brickwork::Array;
    /// let x = Array::from_ndarray(ndarray::array![3i64, 1, 3, 2, 1].into_dyn(), &[2])?;
    /// let u = x.unique_with(&Default::default())?;
    /// assert_eq!(u.compute_as::<i64>()?.as_slice().unwrap(), [1, 2, 3]);
    /// # Ok::<(), brickwork::Error>(())
    /// ```
    ///
    /// # Errors
    /// Errors computing the array, or writing the sorted runs to disk.
    pub fn unique_with(&self, opts: &ComputeOptions) -> Result<Array> {
        Ok(self
            .distinct(Nans::Equal, false, false, false, opts)?
            .values)
    }

    /// The array API's `unique_values`: as [`Array::unique_with`], but each NaN is its own
    /// value.
    ///
    /// # Errors
    /// As [`Array::unique_with`].
    pub fn unique_values_with(&self, opts: &ComputeOptions) -> Result<Array> {
        Ok(self
            .distinct(Nans::Distinct, false, false, false, opts)?
            .values)
    }

    /// The array API's `unique_counts`.
    ///
    /// # Errors
    /// As [`Array::unique_with`].
    pub fn unique_counts_with(&self, opts: &ComputeOptions) -> Result<UniqueCounts> {
        let d = self.distinct(Nans::Distinct, false, true, false, opts)?;
        Ok(UniqueCounts {
            values: d.values,
            counts: d.counts.ok_or_else(|| Error::internal("no counts"))?,
        })
    }

    /// The array API's `unique_inverse`.
    ///
    /// # Errors
    /// As [`Array::unique_with`]; more distinct values than a quarter of the memory limit
    /// holds (the inverse searches them in memory).
    pub fn unique_inverse_with(&self, opts: &ComputeOptions) -> Result<UniqueInverse> {
        let d = self.distinct(Nans::Distinct, false, false, true, opts)?;
        Ok(UniqueInverse {
            values: d.values,
            inverse_indices: d.inverse.ok_or_else(|| Error::internal("no inverse"))?,
        })
    }

    /// The array API's `unique_all`.
    ///
    /// ```
    /// use brickwork::Array;
    /// let x = ndarray::array![[3.0, 1.0], [3.0, f64::NAN]].into_dyn();
    /// let u = Array::from_ndarray(x, &[1, 2])?.unique_all_with(&Default::default())?;
    /// let values = u.values.compute_as::<f64>()?;
    /// assert_eq!(format!("{values}"), "[1, 3, NaN]");
    /// assert_eq!(u.indices.compute_as::<i64>()?.as_slice().unwrap(), [1, 0, 3]);
    /// let inverse = u.inverse_indices.compute_as::<i64>()?;
    /// assert_eq!(inverse, ndarray::array![[1, 0], [1, 2]].into_dyn());
    /// assert_eq!(u.counts.compute_as::<i64>()?.as_slice().unwrap(), [1, 2, 1]);
    /// # Ok::<(), brickwork::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Array::unique_inverse_with`].
    pub fn unique_all_with(&self, opts: &ComputeOptions) -> Result<UniqueAll> {
        let d = self.distinct(Nans::Distinct, true, true, true, opts)?;
        let missing = || Error::internal("a unique_all column is missing");
        Ok(UniqueAll {
            values: d.values,
            indices: d.indices.ok_or_else(missing)?,
            inverse_indices: d.inverse.ok_or_else(missing)?,
            counts: d.counts.ok_or_else(missing)?,
        })
    }

    fn distinct(
        &self,
        nans: Nans,
        index: bool,
        count: bool,
        inverse: bool,
        opts: &ComputeOptions,
    ) -> Result<Distinct> {
        let dtype = self.try_dtype()?;
        let sorting = Sorting {
            descending: false,
            distinct: Some(nans),
            index,
            count,
        };
        let limit = opts.effective_memory_limit();
        let chunk = column_chunk(dtype, opts);
        crate::dispatch_dtype!(dtype, T => {
            let sorted = sort_records::<T>(self, "unique", sorting, opts)?;
            let held = if inverse { Some(held_values::<T>(&sorted, limit / 4)?) } else { None };
            let (values, indices, counts) = sorted_arrays(sorted, sorting, chunk)?;
            let inverse = held.map(|held| positions::<T>(self, held)).transpose()?;
            Ok(Distinct { values, indices, counts, inverse })
        })
    }
}

/// The sorted values in memory, for the inverse's search: refused beyond `budget` bytes.
fn held_values<T: BlockElement + Fixed>(sorted: &Sorted<T>, budget: u64) -> Result<Vec<T>> {
    match sorted {
        Sorted::Memory(records) => Ok(records.iter().map(|r| r.value).collect()),
        Sorted::Disk(columns) => {
            let bytes = columns.len as u64 * T::SIZE as u64;
            if bytes > budget {
                return Err(Error::invalid(format!(
                    "unique_inverse: the inverse indices search the {} distinct values in \
                     memory, and their {} exceed a quarter of the memory limit ({})",
                    columns.len,
                    crate::units::format_bytes(bytes),
                    crate::units::format_bytes(budget)
                )));
            }
            let raw = std::fs::read(&columns.values).map_err(|source| Error::Io {
                path: columns.values.clone(),
                source,
            })?;
            Ok(raw.chunks_exact(T::SIZE).map(T::get).collect())
        }
    }
}

/// Each element's position among the sorted distinct `values` (a NaN: the first NaN's),
/// as int64 of `x`'s shape, lazily.
fn positions<T: BlockElement>(x: &Array, values: Vec<T>) -> Result<Array> {
    let values = Arc::new(values);
    elementwise::<T, i64>(x, "unique_inverse", move |v| {
        values.partition_point(|s| sort_order(s, v) == std::cmp::Ordering::Less) as i64
    })
}
