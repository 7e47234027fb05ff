//! [`AxisArg`]: what a method taking one axis accepts.

use ndarray::Axis;

/// One axis of an array, as a method taking one axis accepts it: ndarray's [`Axis`]
/// (`x.mean_axis(Axis(0))`, `x.cumsum(Axis(1))`) or a NumPy-style integer, negative
/// counting from the end (`x.cumsum(-1)`, `x.flip(0)`). Every method of [`Array`] that
/// takes one axis takes `impl Into<AxisArg>`; a list of axes is `&[isize]` (NumPy's
/// `axis=(0, -1)`).
///
/// [`Array`]: crate::Array
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AxisArg(isize);

impl AxisArg {
    /// The axis as a NumPy integer (negative counts from the end).
    pub fn get(self) -> isize {
        self.0
    }
}

impl From<Axis> for AxisArg {
    fn from(a: Axis) -> Self {
        AxisArg(isize::try_from(a.index()).unwrap_or(isize::MAX))
    }
}

impl From<isize> for AxisArg {
    fn from(a: isize) -> Self {
        AxisArg(a)
    }
}

impl From<i32> for AxisArg {
    fn from(a: i32) -> Self {
        AxisArg(a as isize)
    }
}

impl From<i64> for AxisArg {
    fn from(a: i64) -> Self {
        AxisArg(isize::try_from(a).unwrap_or(if a < 0 { isize::MIN } else { isize::MAX }))
    }
}

impl From<usize> for AxisArg {
    fn from(a: usize) -> Self {
        AxisArg(isize::try_from(a).unwrap_or(isize::MAX))
    }
}
