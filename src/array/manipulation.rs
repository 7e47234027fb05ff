//! NumPy's array manipulation functions built from views: `roll`, `tile`, `repeat`,
//! `swapaxes`, `atleast_*d`, `hstack`/`vstack`/`dstack`, `unstack`.
//!
//! Each is a composition of slices, concatenations, broadcasts and reshapes, so it stays
//! lazy and blocked: a block of the result reads only the blocks of the input it comes
//! from, and nothing is copied at full size before the result's blocks are made.

use super::axis::AxisArg;
use super::{Array, NumpyIndex};
use crate::error::{Error, Result};
use crate::expr;

impl Array {
    /// NumPy's `roll(a, shift, axis)`: the elements shifted cyclically by `shift` along
    /// `axis` (the last ones come first), as two slices joined.
    ///
    /// # Errors
    /// An axis out of range.
    pub fn roll(&self, shift: i64, axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        let shape = self.try_shape()?;
        let axis = expr::normalize_axes(&[axis], shape.len())?[0];
        let n = shape[axis];
        if n == 0 {
            return Ok(self.clone());
        }
        let s = shift.rem_euclid(n as i64) as usize;
        if s == 0 {
            return Ok(self.clone());
        }
        let nd = shape.len();
        let tail = self.index_numpy(&NumpyIndex::range_along(nd, axis, n - s, n))?;
        let head = self.index_numpy(&NumpyIndex::range_along(nd, axis, 0, n - s))?;
        Array::concatenate(&[&tail, &head], axis as isize)
    }

    /// `roll` of the flattened array (NumPy's `roll` without an axis), reshaped back.
    ///
    /// # Errors
    /// As [`Array::roll`].
    pub fn roll_flat(&self, shift: i64) -> Result<Array> {
        let shape: Vec<isize> = self.try_shape()?.iter().map(|&n| n as isize).collect();
        self.ravel()?.roll(shift, 0)?.reshape(&shape)
    }

    /// `x` repeated `r` times along `axis`, each copy after the other (`tile` along one
    /// axis): a new axis broadcast to `r`, merged with `axis`.
    fn tile_axis(&self, axis: usize, r: usize) -> Result<Array> {
        let mut shape = self.try_shape()?;
        if r == 1 {
            return Ok(self.clone());
        }
        let copies: Vec<&Array> = std::iter::repeat_n(self, r).collect();
        if r <= 8 {
            return Array::concatenate(&copies, axis as isize);
        }
        let mut wide = shape.clone();
        wide.insert(axis, r);
        let stretched = self.expand_dims(axis as isize)?.broadcast_to(&wide)?;
        shape[axis] *= r;
        let target: Vec<isize> = shape.iter().map(|&n| n as isize).collect();
        stretched.reshape(&target)
    }

    /// NumPy's `tile(A, reps)`: the array repeated `reps[d]` times along each axis (`reps`
    /// shorter than the rank applies to the last axes; longer prepends axes of length 1).
    ///
    /// # Errors
    /// Errors of the views it is built from.
    pub fn tile(&self, reps: &[usize]) -> Result<Array> {
        let mut x = self.clone();
        while x.ndim() < reps.len() {
            x = x.expand_dims(0)?;
        }
        let reps: Vec<usize> = std::iter::repeat_n(1, x.ndim() - reps.len())
            .chain(reps.iter().copied())
            .collect();
        for (axis, &r) in reps.iter().enumerate() {
            if r == 0 {
                let mut shape = x.try_shape()?;
                shape[axis] = 0;
                return Array::zeros(&shape, &vec![1; shape.len()], x.dtype());
            }
            x = x.tile_axis(axis, r)?;
        }
        Ok(x)
    }

    /// NumPy's `repeat(a, repeats, axis)` with one count for every element: each element
    /// repeated `repeats` times in place (a new axis after `axis`, broadcast and merged).
    ///
    /// # Errors
    /// An axis out of range.
    pub fn repeat(&self, repeats: usize, axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        let mut shape = self.try_shape()?;
        let axis = expr::normalize_axes(&[axis], shape.len())?[0];
        if repeats == 0 {
            shape[axis] = 0;
            return super::empty(&shape, self.dtype());
        }
        if repeats == 1 {
            return Ok(self.clone());
        }
        let mut wide = shape.clone();
        wide.insert(axis + 1, repeats);
        let stretched = self.expand_dims(axis as isize + 1)?.broadcast_to(&wide)?;
        shape[axis] *= repeats;
        let target: Vec<isize> = shape.iter().map(|&n| n as isize).collect();
        stretched.reshape(&target)
    }

    /// NumPy's `repeat` with one count per element along `axis`: a [`Array::take`] of each
    /// index repeated its count.
    ///
    /// # Errors
    /// Counts of another length than the axis (one count applies to every element, as
    /// NumPy broadcasts it); an axis out of range.
    pub fn repeat_each(&self, repeats: &[usize], axis: impl Into<AxisArg>) -> Result<Array> {
        let axis = axis.into().get();
        let shape = self.try_shape()?;
        let at = expr::normalize_axes(&[axis], shape.len())?[0];
        if let [r] = repeats {
            return self.repeat(*r, axis);
        }
        if repeats.len() != shape[at] {
            return Err(Error::invalid(format!(
                "repeat: {} counts for an axis of length {}",
                repeats.len(),
                shape[at]
            )));
        }
        let indices: Vec<i64> = repeats
            .iter()
            .enumerate()
            .flat_map(|(i, &r)| std::iter::repeat_n(i as i64, r))
            .collect();
        self.take(&indices, axis)
    }

    /// NumPy's `swapaxes(a, axis1, axis2)`.
    ///
    /// # Errors
    /// Axes out of range.
    pub fn swapaxes(&self, axis1: isize, axis2: isize) -> Result<Array> {
        let n = self.try_shape()?.len();
        let axes = expr::normalize_axes(&[axis1, axis2], n)?;
        let mut perm: Vec<usize> = (0..n).collect();
        perm.swap(axes[0], axes[1]);
        self.permuted_axes(&perm)
    }

    /// NumPy's `atleast_1d`, `atleast_2d` and `atleast_3d` (`ndim` 1, 2 or 3): a 1-d array
    /// becomes a row `(1, n)` and, for 3, `(1, n, 1)`; a 2-d one `(m, n, 1)`.
    ///
    /// # Errors
    /// `ndim` outside 1..=3.
    pub fn atleast(&self, ndim: usize) -> Result<Array> {
        let shape = self.try_shape()?;
        let target: Vec<usize> = match (ndim, shape.as_slice()) {
            (1..=3, s) if s.len() >= ndim => return Ok(self.clone()),
            (1, []) => vec![1],
            (2, []) => vec![1, 1],
            (2, [n]) => vec![1, *n],
            (3, []) => vec![1, 1, 1],
            (3, [n]) => vec![1, *n, 1],
            (3, [m, n]) => vec![*m, *n, 1],
            _ => {
                return Err(Error::invalid(format!(
                    "atleast: ndim must be 1, 2 or 3, got {ndim}"
                )));
            }
        };
        let target: Vec<isize> = target.iter().map(|&n| n as isize).collect();
        self.reshape(&target)
    }

    /// NumPy's `hstack`: joined along the second axis (the first when the arrays are 1-d).
    ///
    /// # Errors
    /// No arrays; shapes that do not join.
    pub fn hstack(arrays: &[&Array]) -> Result<Array> {
        let lifted = lift(arrays, 1)?;
        let axis = if lifted.iter().all(|a| a.ndim() == 1) {
            0
        } else {
            1
        };
        Array::concatenate(&refs(&lifted), axis)
    }

    /// NumPy's `vstack`: the arrays as at least 2-d, joined along the first axis.
    ///
    /// # Errors
    /// As [`Array::hstack`].
    pub fn vstack(arrays: &[&Array]) -> Result<Array> {
        Array::concatenate(&refs(&lift(arrays, 2)?), 0)
    }

    /// NumPy's `dstack`: the arrays as at least 3-d, joined along the third axis.
    ///
    /// # Errors
    /// As [`Array::hstack`].
    pub fn dstack(arrays: &[&Array]) -> Result<Array> {
        Array::concatenate(&refs(&lift(arrays, 3)?), 2)
    }

    /// NumPy's `column_stack`: 1-d arrays as columns, 2-d ones as they are, joined along
    /// the second axis.
    ///
    /// # Errors
    /// As [`Array::hstack`].
    pub fn column_stack(arrays: &[&Array]) -> Result<Array> {
        let columns = arrays
            .iter()
            .map(|a| {
                if a.ndim() < 2 {
                    let n = a.len() as isize;
                    a.reshape(&[n, 1])
                } else {
                    Ok((*a).clone())
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Array::concatenate(&refs(&columns), 1)
    }

    /// The array API's `unstack(x, axis)`: the slices along `axis`, each without it.
    ///
    /// # Errors
    /// An axis out of range; a 0-d array.
    pub fn unstack(&self, axis: impl Into<AxisArg>) -> Result<Vec<Array>> {
        let axis = axis.into().get();
        let shape = self.try_shape()?;
        let axis = expr::normalize_axes(&[axis], shape.len())?[0];
        (0..shape[axis])
            .map(|i| {
                let mut index = vec![NumpyIndex::FULL; shape.len()];
                index[axis] = NumpyIndex::Int(i as isize);
                self.index_numpy(&index)
            })
            .collect()
    }
}

fn lift(arrays: &[&Array], ndim: usize) -> Result<Vec<Array>> {
    if arrays.is_empty() {
        return Err(Error::invalid("stack: at least one array is needed"));
    }
    arrays.iter().map(|a| a.atleast(ndim)).collect()
}

fn refs(arrays: &[Array]) -> Vec<&Array> {
    arrays.iter().collect()
}
