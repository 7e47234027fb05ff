//! `numpy.fft` over chunked arrays: `fft`, `ifft`, `rfft`, `irfft`, `hfft`, `ihfft` along
//! one axis, their n-dimensional forms (`fftn`, `ifftn`, `rfftn`, `irfftn`, `fft2`, ...),
//! `fftfreq`/`rfftfreq` and `fftshift`/`ifftshift`.
//!
//! A transform needs whole lanes along its axis. Where the axis spans several chunks (dask
//! refuses such input), the array is first rechunked so the axis is one block and the other
//! axes' chunks shrink to keep a block no larger than the input's largest
//! ([`Array::whole_lanes`]): a bounded rechunk the planner schedules, spills and limits like
//! any other. Each block is then transformed by a `map_blocks` task ([`kernel::fft`]).
//!
//! Result dtypes follow NumPy 2: `float32` and `complex64` input give `complex64` (or
//! `float32` for `irfft`/`hfft`), everything else `complex128` (`float64`).
//!
//! [`kernel::fft`]: crate::kernel::fft

use super::axis::AxisArg;
use super::map::map_blocks_internal;
use super::{Array, MapBlocks};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr;
use crate::kernel::fft::{self as kfft, Transform};

pub use crate::kernel::fft::Norm as FftNorm;

/// The dtype a transform computes in for input of `dtype`: complex for the complex-input
/// transforms, real float for `rfft`/`ihfft` (which refuse complex input, as NumPy's do).
fn compute_dtype(t: Transform, dtype: DType) -> Result<DType> {
    if t.real_input() {
        if dtype.is_complex() {
            return Err(Error::UnsupportedDType {
                op: t.name().into(),
                dtype,
                hint: "its input must be real; use fft for complex input".into(),
            });
        }
        Ok(if dtype == DType::F32 {
            DType::F32
        } else {
            DType::F64
        })
    } else {
        Ok(if matches!(dtype, DType::F32 | DType::C64) {
            DType::C64
        } else {
            DType::C128
        })
    }
}

/// The dtype a transform returns for a compute dtype.
fn result_dtype(t: Transform, compute: DType) -> DType {
    let single = matches!(compute, DType::F32 | DType::C64);
    match (t.real_output(), single) {
        (true, true) => DType::F32,
        (true, false) => DType::F64,
        (false, true) => DType::C64,
        (false, false) => DType::C128,
    }
}

impl Array {
    /// `numpy.fft.fft(x, n, axis, norm)`: the discrete Fourier transform along `axis`, of
    /// length `n` (the input cut or zero-padded at the end; `None`: the axis length).
    ///
    /// # Errors
    /// An axis out of range; `n` of 0.
    pub fn fft(&self, n: Option<usize>, axis: impl Into<AxisArg>, norm: FftNorm) -> Result<Array> {
        self.fft_along(Transform::Fft, n, axis.into().get(), norm)
    }

    /// `numpy.fft.ifft`: the inverse of [`Array::fft`].
    ///
    /// # Errors
    /// As [`Array::fft`].
    pub fn ifft(&self, n: Option<usize>, axis: impl Into<AxisArg>, norm: FftNorm) -> Result<Array> {
        self.fft_along(Transform::Ifft, n, axis.into().get(), norm)
    }

    /// `numpy.fft.rfft`: the transform of real input, the `n / 2 + 1` non-negative
    /// frequencies.
    ///
    /// # Errors
    /// As [`Array::fft`]; complex input.
    pub fn rfft(&self, n: Option<usize>, axis: impl Into<AxisArg>, norm: FftNorm) -> Result<Array> {
        self.fft_along(Transform::Rfft, n, axis.into().get(), norm)
    }

    /// `numpy.fft.irfft`: the inverse of [`Array::rfft`], `n` real values (`None`:
    /// `2 (m - 1)` for an axis of length `m`).
    ///
    /// # Errors
    /// As [`Array::fft`].
    pub fn irfft(
        &self,
        n: Option<usize>,
        axis: impl Into<AxisArg>,
        norm: FftNorm,
    ) -> Result<Array> {
        self.fft_along(Transform::Irfft, n, axis.into().get(), norm)
    }

    /// `numpy.fft.hfft`: the transform of a signal with Hermitian symmetry (real result).
    ///
    /// # Errors
    /// As [`Array::fft`].
    pub fn hfft(&self, n: Option<usize>, axis: impl Into<AxisArg>, norm: FftNorm) -> Result<Array> {
        self.fft_along(Transform::Hfft, n, axis.into().get(), norm)
    }

    /// `numpy.fft.ihfft`: the inverse of [`Array::hfft`].
    ///
    /// # Errors
    /// As [`Array::rfft`].
    pub fn ihfft(
        &self,
        n: Option<usize>,
        axis: impl Into<AxisArg>,
        norm: FftNorm,
    ) -> Result<Array> {
        self.fft_along(Transform::Ihfft, n, axis.into().get(), norm)
    }

    /// One transform along one axis: whole lanes (a bounded rechunk where the axis spans
    /// several chunks), then a task per block.
    fn fft_along(
        &self,
        t: Transform,
        n: Option<usize>,
        axis: isize,
        norm: FftNorm,
    ) -> Result<Array> {
        let shape = self.try_shape()?;
        if shape.is_empty() {
            return Err(Error::invalid(format!(
                "{}: a 0-d array has no axis to transform",
                t.name()
            )));
        }
        let axis = expr::normalize_axes(&[axis], shape.len())?[0];
        let out_len = t
            .output_len(shape[axis], n)
            .map_err(|e| Error::invalid(format!("{}: {e}", t.name())))?;
        let compute = compute_dtype(t, self.dtype())?;
        let lanes = self.astype(compute)?.whole_lanes(axis)?;
        let mut chunks: Vec<Vec<usize>> =
            lanes.chunks()?.axes().iter().map(|a| a.sizes()).collect();
        chunks[axis] = vec![out_len];
        let options = MapBlocks::new(t.name())
            .dtype(result_dtype(t, compute))
            .chunks(chunks);
        map_blocks_internal(&[&lanes], &options, move |blocks, _info| {
            kfft::transform(t, &blocks[0], axis, n, norm)
        })
    }

    /// `numpy.fft.fftn(x, s, axes, norm)` (`inverse`: `ifftn`): one-dimensional transforms
    /// along each of `axes` (`None`: the last `s.len()` axes, or all), of lengths `s`.
    ///
    /// # Errors
    /// Axes out of range or repeated; `s` and `axes` of different lengths; a length of 0.
    pub fn fftn(
        &self,
        inverse: bool,
        s: Option<&[usize]>,
        axes: Option<&[isize]>,
        norm: FftNorm,
    ) -> Result<Array> {
        let t = if inverse {
            Transform::Ifft
        } else {
            Transform::Fft
        };
        let (axes, s) = self.fftn_axes(t.name(), s, axes)?;
        let mut y = self.clone();
        // NumPy transforms the last axis first; the order does not change the result.
        for (&axis, n) in axes.iter().zip(s).rev() {
            y = y.fft_along(t, n, axis as isize, norm)?;
        }
        Ok(y)
    }

    /// `numpy.fft.rfftn`: `rfft` along the last of `axes`, then `fft` along the others.
    ///
    /// # Errors
    /// As [`Array::fftn`]; complex input.
    pub fn rfftn(
        &self,
        s: Option<&[usize]>,
        axes: Option<&[isize]>,
        norm: FftNorm,
    ) -> Result<Array> {
        let (axes, s) = self.fftn_axes("rfftn", s, axes)?;
        let (&last, rest) = axes
            .split_last()
            .ok_or_else(|| Error::invalid("rfftn: no axes to transform"))?;
        let mut y = self.fft_along(Transform::Rfft, s[axes.len() - 1], last as isize, norm)?;
        for (&axis, &n) in rest.iter().zip(&s) {
            y = y.fft_along(Transform::Fft, n, axis as isize, norm)?;
        }
        Ok(y)
    }

    /// `numpy.fft.irfftn`: `ifft` along all of `axes` but the last, then `irfft` along the
    /// last (whose output length is `s`'s last, default `2 (m - 1)`).
    ///
    /// # Errors
    /// As [`Array::fftn`].
    pub fn irfftn(
        &self,
        s: Option<&[usize]>,
        axes: Option<&[isize]>,
        norm: FftNorm,
    ) -> Result<Array> {
        let (axes, s) = self.fftn_axes("irfftn", s, axes)?;
        let (&last, rest) = axes
            .split_last()
            .ok_or_else(|| Error::invalid("irfftn: no axes to transform"))?;
        let mut y = self.clone();
        for (&axis, &n) in rest.iter().zip(&s) {
            y = y.fft_along(Transform::Ifft, n, axis as isize, norm)?;
        }
        y.fft_along(Transform::Irfft, s[axes.len() - 1], last as isize, norm)
    }

    /// NumPy's `_cook_nd_args`: the axes (normalized, distinct) and a length per axis.
    fn fftn_axes(
        &self,
        name: &str,
        s: Option<&[usize]>,
        axes: Option<&[isize]>,
    ) -> Result<(Vec<usize>, Vec<Option<usize>>)> {
        let ndim = self.ndim();
        let axes: Vec<isize> = match (axes, s) {
            (Some(a), _) => a.to_vec(),
            (None, Some(s)) => (ndim.saturating_sub(s.len())..ndim)
                .map(|a| a as isize)
                .collect(),
            (None, None) => (0..ndim as isize).collect(),
        };
        if let Some(s) = s
            && s.len() != axes.len()
        {
            return Err(Error::invalid(format!(
                "{name}: s has {} lengths for {} axes; they must have the same length",
                s.len(),
                axes.len()
            )));
        }
        // In the caller's order (`s` pairs with it, and `rfftn` transforms the last one
        // first); `normalize_axes` checks range and repeats but sorts.
        expr::normalize_axes(&axes, ndim)?;
        let axes: Vec<usize> = axes
            .iter()
            .map(|&a| if a < 0 { a + ndim as isize } else { a } as usize)
            .collect();
        let lengths = match s {
            Some(s) => s.iter().map(|&n| Some(n)).collect(),
            None => vec![None; axes.len()],
        };
        Ok((axes, lengths))
    }

    /// `numpy.fft.fftshift(x, axes)`: the zero frequency moved to the middle (a roll by
    /// `n / 2` along each of `axes`; `None`: all).
    ///
    /// # Errors
    /// Axes out of range.
    pub fn fftshift(&self, axes: Option<&[isize]>) -> Result<Array> {
        self.shift_half(axes, false)
    }

    /// `numpy.fft.ifftshift`: the inverse of [`Array::fftshift`] (a roll by `-(n / 2)`).
    ///
    /// # Errors
    /// Axes out of range.
    pub fn ifftshift(&self, axes: Option<&[isize]>) -> Result<Array> {
        self.shift_half(axes, true)
    }

    fn shift_half(&self, axes: Option<&[isize]>, inverse: bool) -> Result<Array> {
        let shape = self.try_shape()?;
        let all: Vec<isize> = (0..shape.len() as isize).collect();
        let axes = expr::normalize_axes(axes.unwrap_or(&all), shape.len())?;
        let mut y = self.clone();
        for axis in axes {
            let half = (shape[axis] / 2) as i64;
            y = y.roll(if inverse { -half } else { half }, axis as isize)?;
        }
        Ok(y)
    }

    /// `numpy.fft.fftfreq(n, d)`: the sample frequencies of an `n`-point transform with
    /// sample spacing `d`, as float64 in chunks of `chunk` (`None`: one chunk).
    ///
    /// # Errors
    /// `n` of 0 or a `d` of 0 (NumPy divides by zero).
    pub fn fftfreq(n: usize, d: f64, chunk: Option<usize>) -> Result<Array> {
        Self::frequencies("fftfreq", n, d, chunk, kfft::fftfreq(n, d))
    }

    /// `numpy.fft.rfftfreq(n, d)`: the `n / 2 + 1` non-negative frequencies.
    ///
    /// # Errors
    /// As [`Array::fftfreq`].
    pub fn rfftfreq(n: usize, d: f64, chunk: Option<usize>) -> Result<Array> {
        Self::frequencies("rfftfreq", n, d, chunk, kfft::rfftfreq(n, d))
    }

    fn frequencies(
        name: &str,
        n: usize,
        d: f64,
        chunk: Option<usize>,
        v: Vec<f64>,
    ) -> Result<Array> {
        if n == 0 || d == 0.0 {
            return Err(Error::invalid(format!(
                "{name}: n and d must be nonzero (got n={n}, d={d})"
            )));
        }
        let len = v.len();
        let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[len]), v)
            .map_err(|e| Error::internal_from(name, e))?;
        Array::from_ndarray(crate::Block::F64(a), &[chunk.unwrap_or(len).max(1)])
    }
}
