//! One-dimensional FFT kernels over `ndarray` arrays, along one axis, with the
//! semantics of NumPy's `numpy.fft`.
//!
//! | function    | NumPy                | input → output                          |
//! |-------------|----------------------|-----------------------------------------|
//! | [`c2c`]     | `fft` / `ifft`       | complex → complex, length `n`           |
//! | [`r2c`]     | `rfft`               | real → complex, length `n / 2 + 1`      |
//! | [`c2r`]     | `irfft`              | complex → real, length `n`              |
//! | [`hfft`]    | `hfft`               | complex → real, length `n`              |
//! | [`ihfft`]   | `ihfft`              | real → complex, length `n / 2 + 1`      |
//! | [`fftfreq`] | `fftfreq`/`rfftfreq` | sample frequencies                      |
//!
//! As in NumPy, `n` is the number of FFT data points: the input is truncated or
//! zero-padded at the end of the axis to the length the transform needs, and
//! [`Norm`] selects which direction is scaled (`1/n`, `1/sqrt(n)` or none).
//!
//! Inputs may be any view (transposed, sliced, negative strides); outputs are
//! new arrays in standard (C) layout. Each call plans its transform once
//! (`rustfft` / `realfft`) and then runs lane by lane along the axis: lanes are
//! copied into a reused buffer, transformed with reused scratch and copied out.
//! When the axis is not the contiguous one, a few neighbouring lanes are
//! gathered together so that memory is read and written in whole cache lines.
//! The output is allocated uninitialized and every element is written once
//! (the module's only `unsafe` is the final `assume_init`), which saves a full
//! zero-filling pass over large outputs.
//!
//! Invalid arguments (`n == 0`, an axis out of range, an output too large to
//! address) give `Err` with NumPy's message; no function panics on bad input.

use std::mem::{MaybeUninit, size_of};

use ndarray::{ArrayD, ArrayView1, ArrayViewD, ArrayViewMut1, Axis, IxDyn};
use num_complex::Complex;
use num_traits::{Float, Zero};
use realfft::RealFftPlanner;
use rustfft::{FftDirection, FftNum, FftPlanner};

/// Floating-point element types the kernels run on: `f32` and `f64`.
pub trait FftFloat: FftNum + Float {}

impl<T: FftNum + Float> FftFloat for T {}

/// Normalization mode, NumPy's `norm=` argument.
///
/// | mode       | forward scaled by | inverse scaled by |
/// |------------|-------------------|-------------------|
/// | `Backward` | 1                 | `1/n`             |
/// | `Ortho`    | `1/sqrt(n)`       | `1/sqrt(n)`       |
/// | `Forward`  | `1/n`             | 1                 |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Norm {
    /// `"backward"` (NumPy's default, `norm=None`): only the inverse transform is scaled, by `1/n`.
    #[default]
    Backward,
    /// `"ortho"`: both directions are scaled by `1/sqrt(n)` (unitary transforms).
    Ortho,
    /// `"forward"`: only the forward transform is scaled, by `1/n`.
    Forward,
}

impl Norm {
    /// Parses NumPy's spelling (`"backward"`, `"ortho"`, `"forward"`); anything else is `None`.
    pub fn parse(s: &str) -> Option<Norm> {
        match s {
            "backward" => Some(Norm::Backward),
            "ortho" => Some(Norm::Ortho),
            "forward" => Some(Norm::Forward),
            _ => None,
        }
    }

    /// NumPy's spelling of the mode, the inverse of [`Norm::parse`].
    pub fn name(self) -> &'static str {
        match self {
            Norm::Backward => "backward",
            Norm::Ortho => "ortho",
            Norm::Forward => "forward",
        }
    }

    /// NumPy's `_swap_direction`, used by `hfft` and `ihfft`.
    fn swapped(self) -> Norm {
        match self {
            Norm::Backward => Norm::Forward,
            Norm::Ortho => Norm::Ortho,
            Norm::Forward => Norm::Backward,
        }
    }

    /// The factor NumPy's `_raw_fft` applies to a transform of `n` points,
    /// computed in `T` as NumPy computes it in the real dtype.
    fn factor<T: FftFloat>(self, n: usize, inverse: bool) -> T {
        let norm = if inverse { self.swapped() } else { self };
        // `from_usize` cannot fail for floating-point types.
        let n = T::from_usize(n).unwrap_or_else(T::nan);
        match norm {
            Norm::Backward => T::one(),
            Norm::Ortho => T::one() / n.sqrt(),
            Norm::Forward => T::one() / n,
        }
    }
}

/// Complex-to-complex FFT along `axis` of `a`: `numpy.fft.fft` (`inverse == false`)
/// or `numpy.fft.ifft` (`inverse == true`).
///
/// `n` is the transform length (`None`: the length of `axis`); a shorter `n`
/// truncates the input, a longer one zero-pads it at the end. The result has
/// length `n` along `axis` and standard layout.
///
/// # Errors
/// If `axis` is out of range, if `n` (given or defaulted) is 0, or if the
/// output would be too large to address.
pub fn c2c<T: FftFloat>(
    a: ArrayViewD<'_, Complex<T>>,
    axis: usize,
    n: Option<usize>,
    inverse: bool,
    norm: Norm,
) -> Result<ArrayD<Complex<T>>, String> {
    check_axis(a.ndim(), axis)?;
    let n = fft_points(n, a.len_of(Axis(axis)) as i128)?;
    let scale = norm.factor::<T>(n, inverse);
    run_lanes(&a, axis, n, n, || {
        let direction = if inverse {
            FftDirection::Inverse
        } else {
            FftDirection::Forward
        };
        let fft = FftPlanner::<T>::new().plan_fft(n, direction);
        let mut scratch = vec![Complex::zero(); fft.get_outofplace_scratch_len()];
        move |input: &mut [Complex<T>], output: &mut [Complex<T>]| {
            // Both buffers hold a whole number of length-`n` lanes.
            fft.process_outofplace_with_scratch(input, output, &mut scratch);
            finish_complex(output, scale, false);
            Ok(())
        }
    })
}

/// Real-to-complex FFT along `axis` of `a`: `numpy.fft.rfft`.
///
/// `n` is the transform length (`None`: the length of `axis`), applied to the
/// input as in [`c2c`]; the output has length `n / 2 + 1` along `axis`.
///
/// # Errors
/// If `axis` is out of range, if `n` (given or defaulted) is 0, or if the
/// output would be too large to address.
pub fn r2c<T: FftFloat>(
    a: ArrayViewD<'_, T>,
    axis: usize,
    n: Option<usize>,
    norm: Norm,
) -> Result<ArrayD<Complex<T>>, String> {
    check_axis(a.ndim(), axis)?;
    let n = fft_points(n, a.len_of(Axis(axis)) as i128)?;
    real_forward(a, axis, n, norm.factor(n, false), false)
}

/// Complex-to-real inverse FFT along `axis` of `a`: `numpy.fft.irfft`.
///
/// `a` holds the non-negative-frequency half of a Hermitian spectrum. `n` is the
/// output length (`None`: `2 * (m - 1)` for an axis of length `m`). As in
/// NumPy the input is first truncated or zero-padded to `n / 2 + 1` points, and
/// the imaginary parts of the zero-frequency term (and, for even `n`, of the
/// Nyquist term) are ignored.
///
/// # Errors
/// If `axis` is out of range, if `n` (given or defaulted) is less than 1, or if
/// the output would be too large to address.
pub fn c2r<T: FftFloat>(
    a: ArrayViewD<'_, Complex<T>>,
    axis: usize,
    n: Option<usize>,
    norm: Norm,
) -> Result<ArrayD<T>, String> {
    check_axis(a.ndim(), axis)?;
    let n = fft_points(n, hermitian_default(a.len_of(Axis(axis))))?;
    real_inverse(a, axis, n, norm.factor(n, true), false)
}

/// FFT of a signal with Hermitian symmetry along `axis`: `numpy.fft.hfft`.
///
/// `a` holds the first half of the signal; the result is real, of length `n`
/// (`None`: `2 * (m - 1)` for an axis of length `m`). As in NumPy this is
/// `irfft(conj(a), n)` with the normalization direction swapped, so `norm`
/// scales it as a forward transform.
///
/// # Errors
/// If `axis` is out of range, if `n` (given or defaulted) is less than 1, or if
/// the output would be too large to address.
pub fn hfft<T: FftFloat>(
    a: ArrayViewD<'_, Complex<T>>,
    axis: usize,
    n: Option<usize>,
    norm: Norm,
) -> Result<ArrayD<T>, String> {
    check_axis(a.ndim(), axis)?;
    let n = fft_points(n, hermitian_default(a.len_of(Axis(axis))))?;
    real_inverse(a, axis, n, norm.swapped().factor(n, true), true)
}

/// Inverse of [`hfft`] along `axis` of real `a`: `numpy.fft.ihfft`.
///
/// `n` is the transform length (`None`: the length of `axis`), applied to the
/// input as in [`c2c`]; the output has length `n / 2 + 1`. As in NumPy this is
/// `conj(rfft(a, n))` with the normalization direction swapped, so `norm`
/// scales it as an inverse transform.
///
/// # Errors
/// If `axis` is out of range, if `n` (given or defaulted) is 0, or if the
/// output would be too large to address.
pub fn ihfft<T: FftFloat>(
    a: ArrayViewD<'_, T>,
    axis: usize,
    n: Option<usize>,
    norm: Norm,
) -> Result<ArrayD<Complex<T>>, String> {
    check_axis(a.ndim(), axis)?;
    let n = fft_points(n, a.len_of(Axis(axis)) as i128)?;
    real_forward(a, axis, n, norm.swapped().factor(n, false), true)
}

/// Sample frequencies of an `n`-point FFT with sample spacing `d`: `numpy.fft.fftfreq`.
///
/// `[0, 1, ..., (n - 1) / 2, -(n / 2), ..., -1] / (n * d)`, computed as NumPy
/// does (each integer times `1 / (n * d)`), so the values are bit-identical.
/// `n == 0` gives an empty vector (NumPy raises `ZeroDivisionError`).
pub fn fftfreq(n: usize, d: f64) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    let val = 1.0 / (n as f64 * d);
    let positive = (n - 1) / 2 + 1;
    (0..n)
        .map(|i| {
            let k = if i < positive {
                i as f64
            } else {
                -((n - i) as f64)
            };
            k * val
        })
        .collect()
}

/// Sample frequencies of an `n`-point real FFT ([`r2c`]) with sample spacing `d`:
/// `numpy.fft.rfftfreq`.
///
/// `[0, 1, ..., n / 2] / (n * d)`, computed as NumPy does, so the values are
/// bit-identical. `n == 0` gives an empty vector (NumPy raises `ZeroDivisionError`).
pub fn rfftfreq(n: usize, d: f64) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    let val = 1.0 / (n as f64 * d);
    (0..n / 2 + 1).map(|k| k as f64 * val).collect()
}

/// `rfft` (and `ihfft` when `conjugate`) of `a` with `n` points, each output scaled by `scale`.
fn real_forward<T: FftFloat>(
    a: ArrayViewD<'_, T>,
    axis: usize,
    n: usize,
    scale: T,
    conjugate: bool,
) -> Result<ArrayD<Complex<T>>, String> {
    let half = n / 2 + 1;
    run_lanes(&a, axis, n, half, || {
        let fft = RealFftPlanner::<T>::new().plan_fft_forward(n);
        let mut scratch = vec![Complex::zero(); fft.get_scratch_len()];
        move |input: &mut [T], output: &mut [Complex<T>]| {
            for (lane_in, lane_out) in input.chunks_exact_mut(n).zip(output.chunks_exact_mut(half))
            {
                fft.process_with_scratch(lane_in, lane_out, &mut scratch)
                    .map_err(|e| e.to_string())?;
            }
            finish_complex(output, scale, conjugate);
            Ok(())
        }
    })
}

/// `irfft` (and `hfft` of the conjugate when `conjugate`) of `a` to `n` points,
/// each output scaled by `scale`.
fn real_inverse<T: FftFloat>(
    a: ArrayViewD<'_, Complex<T>>,
    axis: usize,
    n: usize,
    scale: T,
    conjugate: bool,
) -> Result<ArrayD<T>, String> {
    let half = n / 2 + 1;
    run_lanes(&a, axis, half, n, || {
        let fft = RealFftPlanner::<T>::new().plan_fft_inverse(n);
        let mut scratch = vec![Complex::zero(); fft.get_scratch_len()];
        move |input: &mut [Complex<T>], output: &mut [T]| {
            for (lane_in, lane_out) in input.chunks_exact_mut(half).zip(output.chunks_exact_mut(n))
            {
                if conjugate {
                    lane_in.iter_mut().for_each(|z| z.im = -z.im);
                }
                // pocketfft reads only the real part of these terms; realfft would
                // report an error for a non-zero imaginary part.
                lane_in[0].im = T::zero();
                if n.is_multiple_of(2) {
                    lane_in[half - 1].im = T::zero();
                }
                fft.process_with_scratch(lane_in, lane_out, &mut scratch)
                    .map_err(|e| e.to_string())?;
            }
            if scale != T::one() {
                output.iter_mut().for_each(|x| *x = *x * scale);
            }
            Ok(())
        }
    })
}

/// Scales complex results by `scale` and conjugates them if asked.
fn finish_complex<T: FftFloat>(values: &mut [Complex<T>], scale: T, conjugate: bool) {
    match (scale != T::one(), conjugate) {
        (false, false) => {}
        (true, false) => values.iter_mut().for_each(|z| *z = z.scale(scale)),
        (false, true) => values.iter_mut().for_each(|z| z.im = -z.im),
        (true, true) => values
            .iter_mut()
            .for_each(|z| *z = Complex::new(z.re * scale, -(z.im * scale))),
    }
}

/// NumPy's `normalize_axis_index` for a non-negative axis.
fn check_axis(ndim: usize, axis: usize) -> Result<(), String> {
    if axis < ndim {
        Ok(())
    } else {
        Err(format!(
            "axis {axis} is out of bounds for array of dimension {ndim}"
        ))
    }
}

/// The number of FFT data points: `n`, or `default` when `n` is `None`; at least 1.
fn fft_points(n: Option<usize>, default: i128) -> Result<usize, String> {
    let points = n.map_or(default, |n| n as i128);
    match usize::try_from(points) {
        Ok(points) if points >= 1 => Ok(points),
        _ => Err(format!(
            "Invalid number of FFT data points ({points}) specified."
        )),
    }
}

/// `irfft`'s and `hfft`'s default `n`, `2 * (m - 1)`; negative (invalid) for `m == 0`.
fn hermitian_default(m: usize) -> i128 {
    (m as i128 - 1) * 2
}

/// An uninitialized standard-layout array shaped like `shape` but with `len`
/// along `axis`, or an error if its size in bytes would exceed `isize::MAX`.
fn new_output<B>(
    shape: &[usize],
    axis: usize,
    len: usize,
) -> Result<ArrayD<MaybeUninit<B>>, String> {
    let mut dims = shape.to_vec();
    dims[axis] = len;
    let elements = dims
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |acc, &d| acc.checked_mul(d));
    match elements.and_then(|e| e.checked_mul(size_of::<B>().max(1))) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(ArrayD::uninit(IxDyn(&dims))),
        _ => Err("array is too big; `arr.size * arr.dtype.itemsize` is larger than the maximum possible size.".to_string()),
    }
}

/// Target size of the lane buffers when lanes are gathered several at a time.
const BATCH_BYTES: usize = 1 << 20;
/// Most lanes gathered at a time.
const MAX_BATCH: usize = 32;

/// Transforms every lane of `a` along `axis` into a new standard-layout array
/// with `out_len` along `axis`.
///
/// Each input lane is truncated or zero-padded to `in_len` values. `make_kernel`
/// is called once, only if there is at least one lane (so nothing is planned for
/// empty arrays). The kernel gets `k` lanes back to back (`k * in_len` inputs,
/// `k * out_len` outputs) and must fill all the outputs; it may overwrite its
/// inputs. Lanes go one at a time when both the input and the output are
/// contiguous along `axis`, otherwise in batches of neighbouring lanes, copied
/// element-major so that memory is touched a cache line at a time.
fn run_lanes<A, B, K>(
    a: &ArrayViewD<'_, A>,
    axis: usize,
    in_len: usize,
    out_len: usize,
    make_kernel: impl FnOnce() -> K,
) -> Result<ArrayD<B>, String>
where
    A: Copy + Zero,
    B: Copy + Zero,
    K: FnMut(&mut [A], &mut [B]) -> Result<(), String>,
{
    let ax = Axis(axis);
    let mut out = new_output::<B>(a.shape(), axis, out_len)?;
    let lanes = out.len().checked_div(out_len).unwrap_or(0);
    let mut written = 0;
    if lanes > 0 && in_len > 0 {
        let mut kernel = make_kernel();
        let m = a.len_of(ax);
        let copy = m.min(in_len);
        let in_contiguous = m <= 1 || a.stride_of(ax) == 1;
        let out_contiguous = out_len <= 1 || out.stride_of(ax) == 1;
        let batch = if in_contiguous && out_contiguous {
            1
        } else {
            let lane_bytes = (in_len * size_of::<A>()).max(out_len * size_of::<B>());
            (BATCH_BYTES / lane_bytes.max(1))
                .clamp(1, MAX_BATCH)
                .min(lanes)
        };
        let mut in_buf = vec![A::zero(); batch * in_len];
        let mut out_buf = vec![B::zero(); batch * out_len];
        let mut sources = a.lanes(ax).into_iter();
        let mut targets = out.lanes_mut(ax).into_iter();
        let mut src: Vec<ArrayView1<'_, A>> = Vec::with_capacity(batch);
        let mut dst: Vec<ArrayViewMut1<'_, MaybeUninit<B>>> = Vec::with_capacity(batch);
        loop {
            src.clear();
            src.extend(sources.by_ref().take(batch));
            dst.clear();
            dst.extend(targets.by_ref().take(src.len()));
            let k = dst.len();
            if k == 0 {
                break;
            }
            let input = &mut in_buf[..k * in_len];
            gather(&src, input, in_len, copy, in_contiguous);
            let output = &mut out_buf[..k * out_len];
            kernel(input, output)?;
            scatter(&mut dst, output, out_len, out_contiguous);
            written += k;
        }
    }
    if written != lanes {
        return Err(format!(
            "internal error: wrote {written} of {lanes} FFT lanes"
        ));
    }
    // SAFETY: the lanes along `axis` partition `out`, and every one of the
    // `lanes` lanes was written in full by `scatter` (`written == lanes`; each
    // written lane has `out_len` elements and `scatter` stores `out_len` values).
    Ok(unsafe { out.assume_init() })
}

/// Copies the first `copy` values of each lane into consecutive `len`-long
/// chunks of `buf`, zero-filling the rest of each chunk.
fn gather<A: Copy + Zero>(
    lanes: &[ArrayView1<'_, A>],
    buf: &mut [A],
    len: usize,
    copy: usize,
    contiguous: bool,
) {
    if contiguous || lanes.len() == 1 {
        for (lane, chunk) in lanes.iter().zip(buf.chunks_exact_mut(len)) {
            let (head, tail) = chunk.split_at_mut(copy);
            match lane.as_slice() {
                Some(values) => head.copy_from_slice(&values[..copy]),
                None => head.iter_mut().zip(lane).for_each(|(d, s)| *d = *s),
            }
            tail.fill(A::zero());
        }
    } else {
        for i in 0..copy {
            for (lane, chunk) in lanes.iter().zip(buf.chunks_exact_mut(len)) {
                chunk[i] = lane[i];
            }
        }
        for chunk in buf.chunks_exact_mut(len) {
            chunk[copy..].fill(A::zero());
        }
    }
}

/// Copies consecutive `len`-long chunks of `buf` into the (uninitialized) lanes.
fn scatter<B: Copy>(
    lanes: &mut [ArrayViewMut1<'_, MaybeUninit<B>>],
    buf: &[B],
    len: usize,
    contiguous: bool,
) {
    if contiguous || lanes.len() == 1 {
        for (lane, chunk) in lanes.iter_mut().zip(buf.chunks_exact(len)) {
            match lane.as_slice_mut() {
                Some(values) => values
                    .iter_mut()
                    .zip(chunk)
                    .for_each(|(d, s)| *d = MaybeUninit::new(*s)),
                None => lane
                    .iter_mut()
                    .zip(chunk)
                    .for_each(|(d, s)| *d = MaybeUninit::new(*s)),
            }
        }
    } else {
        for i in 0..len {
            for (lane, chunk) in lanes.iter_mut().zip(buf.chunks_exact(len)) {
                lane[i] = MaybeUninit::new(chunk[i]);
            }
        }
    }
}

/// The one-dimensional transforms of `numpy.fft`, as the engine applies them to blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transform {
    /// `fft`: complex → complex.
    Fft,
    /// `ifft`: complex → complex.
    Ifft,
    /// `rfft`: real → complex, `n / 2 + 1` long.
    Rfft,
    /// `irfft`: complex → real, `n` long.
    Irfft,
    /// `hfft`: complex → real, `n` long.
    Hfft,
    /// `ihfft`: real → complex, `n / 2 + 1` long.
    Ihfft,
}

impl Transform {
    /// NumPy's name.
    pub fn name(self) -> &'static str {
        match self {
            Transform::Fft => "fft",
            Transform::Ifft => "ifft",
            Transform::Rfft => "rfft",
            Transform::Irfft => "irfft",
            Transform::Hfft => "hfft",
            Transform::Ihfft => "ihfft",
        }
    }

    /// True for the transforms of real input (`rfft`, `ihfft`).
    pub fn real_input(self) -> bool {
        matches!(self, Transform::Rfft | Transform::Ihfft)
    }

    /// True for the transforms with real output (`irfft`, `hfft`).
    pub fn real_output(self) -> bool {
        matches!(self, Transform::Irfft | Transform::Hfft)
    }

    /// The output length along the axis for an input axis of length `m` and NumPy's `n`.
    ///
    /// # Errors
    /// NumPy's message for an `n` (given or defaulted) below 1.
    pub fn output_len(self, m: usize, n: Option<usize>) -> Result<usize, String> {
        Ok(match self {
            Transform::Fft | Transform::Ifft => fft_points(n, m as i128)?,
            Transform::Rfft | Transform::Ihfft => fft_points(n, m as i128)? / 2 + 1,
            Transform::Irfft | Transform::Hfft => fft_points(n, hermitian_default(m))?,
        })
    }
}

/// A float type with brickwork's complex type of its precision (`f32` with
/// [`Complex64`](crate::Complex64), `f64` with [`Complex128`](crate::Complex128)).
trait Precision: FftFloat + crate::block::BlockElement {
    /// The complex element of this precision.
    type C: crate::block::BlockElement;
    /// A view of complex elements as `num_complex`'s (no copy).
    fn as_num(a: ArrayViewD<'_, Self::C>) -> ArrayViewD<'_, Complex<Self>>;
    /// `num_complex` results as complex elements (no copy).
    fn from_num(a: ArrayD<Complex<Self>>) -> ArrayD<Self::C>;
}

macro_rules! precision {
    ($f:ty, $c:ty) => {
        impl Precision for $f {
            type C = $c;
            fn as_num(a: ArrayViewD<'_, $c>) -> ArrayViewD<'_, Complex<$f>> {
                <$c>::as_num(a)
            }
            fn from_num(a: ArrayD<Complex<$f>>) -> ArrayD<$c> {
                <$c>::from_num(a)
            }
        }
    };
}

precision!(f32, crate::Complex64);
precision!(f64, crate::Complex128);

/// Applies `t` along `axis` of a block: complex blocks (`complex64`, `complex128`) for the
/// complex-input transforms, float blocks (`float32`, `float64`) for `rfft`/`ihfft`; the
/// result has the matching precision.
///
/// # Errors
/// A block of another dtype (the array layer casts first), or NumPy's errors for `n`.
pub fn transform(
    t: Transform,
    block: &crate::block::BlockRef<'_>,
    axis: usize,
    n: Option<usize>,
    norm: Norm,
) -> crate::error::Result<crate::block::Block> {
    use crate::dtype::DType;
    let wrong =
        || crate::error::Error::internal(format!("{} of a {} block", t.name(), block.dtype()));
    let out = match block.dtype() {
        DType::F32 | DType::C64 => transform_in::<f32>(t, block, axis, n, norm),
        DType::F64 | DType::C128 => transform_in::<f64>(t, block, axis, n, norm),
        _ => return Err(wrong()),
    };
    out.ok_or_else(wrong)?
        .map_err(|e| crate::error::Error::invalid(format!("{}: {e}", t.name())))
}

/// [`transform`] in precision `T`; `None` when the block is not of the dtype `t` takes.
fn transform_in<T: Precision>(
    t: Transform,
    block: &crate::block::BlockRef<'_>,
    axis: usize,
    n: Option<usize>,
    norm: Norm,
) -> Option<Result<crate::block::Block, String>> {
    use crate::block::BlockElement;
    let run = || -> Result<crate::block::Block, String> {
        Ok(match t {
            Transform::Rfft | Transform::Ihfft => {
                let a = block.view::<T>().expect("checked below");
                let f = if t == Transform::Rfft { r2c } else { ihfft };
                T::C::wrap(T::from_num(f(a, axis, n, norm)?))
            }
            Transform::Fft | Transform::Ifft => {
                let a = T::as_num(block.view::<T::C>().expect("checked below"));
                T::C::wrap(T::from_num(c2c(a, axis, n, t == Transform::Ifft, norm)?))
            }
            Transform::Irfft | Transform::Hfft => {
                let a = T::as_num(block.view::<T::C>().expect("checked below"));
                let f = if t == Transform::Irfft { c2r } else { hfft };
                T::wrap(f(a, axis, n, norm)?)
            }
        })
    };
    let input = if t.real_input() {
        <T as crate::dtype::Element>::DTYPE
    } else {
        <T::C as crate::dtype::Element>::DTYPE
    };
    (block.dtype() == input).then(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Slice};

    type C64 = Complex<f64>;

    const LENGTHS: [usize; 9] = [1, 2, 3, 5, 8, 12, 17, 64, 100];
    const NORMS: [Norm; 3] = [Norm::Backward, Norm::Ortho, Norm::Forward];

    /// Deterministic values in [-1, 1).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        }
    }

    fn random_complex(shape: &[usize], seed: u64) -> ArrayD<C64> {
        let mut rng = Lcg(seed);
        ArrayD::from_shape_simple_fn(IxDyn(shape), || C64::new(rng.next(), rng.next()))
    }

    fn random_real(shape: &[usize], seed: u64) -> ArrayD<f64> {
        let mut rng = Lcg(seed);
        ArrayD::from_shape_simple_fn(IxDyn(shape), || rng.next())
    }

    /// O(n^2) DFT, unnormalized; `inverse` uses `exp(+2 pi i jk/n)`.
    fn naive_dft(x: &[C64], inverse: bool) -> Vec<C64> {
        let n = x.len();
        let sign = if inverse { 1.0 } else { -1.0 };
        let w: Vec<C64> = (0..n)
            .map(|k| C64::from_polar(1.0, sign * 2.0 * std::f64::consts::PI * k as f64 / n as f64))
            .collect();
        (0..n)
            .map(|k| x.iter().enumerate().map(|(j, v)| v * w[(j * k) % n]).sum())
            .collect()
    }

    /// Truncates or zero-pads to `n`.
    fn fit<A: Clone + Zero>(mut v: Vec<A>, n: usize) -> Vec<A> {
        v.resize(n, A::zero());
        v
    }

    /// Scale of a transform of `n` points, written out from NumPy's documentation.
    fn expected_scale(norm: Norm, n: usize, inverse: bool) -> f64 {
        match (norm, inverse) {
            (Norm::Backward, false) | (Norm::Forward, true) => 1.0,
            (Norm::Backward, true) | (Norm::Forward, false) => 1.0 / n as f64,
            (Norm::Ortho, _) => 1.0 / (n as f64).sqrt(),
        }
    }

    /// The full length-`n` Hermitian sequence whose first half is `half`,
    /// ignoring the imaginary parts NumPy ignores.
    fn hermitian_full(half: Vec<C64>, n: usize) -> Vec<C64> {
        let mut half = fit(half, n / 2 + 1);
        half[0].im = 0.0;
        if n.is_multiple_of(2) {
            half[n / 2].im = 0.0;
        }
        let mut full = vec![C64::zero(); n];
        full[..=n / 2].copy_from_slice(&half[..=n / 2]);
        for k in 1..n.div_ceil(2) {
            full[n - k] = half[k].conj();
        }
        full
    }

    /// Applies `f` to each lane of `a` along `axis` (reference implementation).
    fn map_lanes<A: Clone, B: Clone + Zero>(
        a: &ArrayViewD<'_, A>,
        axis: usize,
        out_len: usize,
        f: impl Fn(Vec<A>) -> Vec<B>,
    ) -> ArrayD<B> {
        let mut shape = a.shape().to_vec();
        shape[axis] = out_len;
        let mut out = ArrayD::zeros(IxDyn(&shape));
        for (lane_in, mut lane_out) in a
            .lanes(Axis(axis))
            .into_iter()
            .zip(out.lanes_mut(Axis(axis)))
        {
            let values = f(lane_in.to_vec());
            assert_eq!(values.len(), out_len);
            lane_out.assign(&Array1::from(values));
        }
        out
    }

    fn ref_c2c(
        a: &ArrayViewD<'_, C64>,
        axis: usize,
        n: usize,
        inverse: bool,
        norm: Norm,
    ) -> ArrayD<C64> {
        let s = expected_scale(norm, n, inverse);
        map_lanes(a, axis, n, |v| {
            naive_dft(&fit(v, n), inverse)
                .into_iter()
                .map(|z| z * s)
                .collect()
        })
    }

    fn ref_r2c(a: &ArrayViewD<'_, f64>, axis: usize, n: usize, norm: Norm) -> ArrayD<C64> {
        let s = expected_scale(norm, n, false);
        map_lanes(a, axis, n / 2 + 1, |v| {
            let x: Vec<C64> = fit(v, n).into_iter().map(|r| C64::new(r, 0.0)).collect();
            naive_dft(&x, false)[..=n / 2]
                .iter()
                .map(|z| z * s)
                .collect()
        })
    }

    fn ref_c2r(a: &ArrayViewD<'_, C64>, axis: usize, n: usize, norm: Norm) -> ArrayD<f64> {
        let s = expected_scale(norm, n, true);
        map_lanes(a, axis, n, |v| {
            naive_dft(&hermitian_full(v, n), true)
                .iter()
                .map(|z| z.re * s)
                .collect()
        })
    }

    /// hfft: the forward DFT of the Hermitian signal whose first half is given,
    /// scaled as a forward transform.
    fn ref_hfft(a: &ArrayViewD<'_, C64>, axis: usize, n: usize, norm: Norm) -> ArrayD<f64> {
        let s = expected_scale(norm, n, false);
        map_lanes(a, axis, n, |v| {
            naive_dft(&hermitian_full(v, n), false)
                .iter()
                .map(|z| z.re * s)
                .collect()
        })
    }

    /// ihfft: the first half of the inverse DFT, scaled as an inverse transform.
    fn ref_ihfft(a: &ArrayViewD<'_, f64>, axis: usize, n: usize, norm: Norm) -> ArrayD<C64> {
        let s = expected_scale(norm, n, true);
        map_lanes(a, axis, n / 2 + 1, |v| {
            let x: Vec<C64> = fit(v, n).into_iter().map(|r| C64::new(r, 0.0)).collect();
            naive_dft(&x, true)[..=n / 2]
                .iter()
                .map(|z| z * s)
                .collect()
        })
    }

    /// Largest `|got - want|` relative to `max(1, max |want|)`, after checking
    /// shapes and that `got` is in standard layout.
    fn rel_err<A, B: Copy>(
        got: &ArrayD<A>,
        want: &ArrayD<B>,
        dist: impl Fn(&A, B) -> (f64, f64),
    ) -> f64 {
        assert_eq!(got.shape(), want.shape());
        assert!(got.is_standard_layout());
        let (mut err, mut mag) = (0.0f64, 1.0f64);
        for (g, w) in got.iter().zip(want.iter()) {
            let (e, m) = dist(g, *w);
            err = err.max(e);
            mag = mag.max(m);
        }
        err / mag
    }

    fn cerr<T: FftFloat>(got: &ArrayD<Complex<T>>, want: &ArrayD<C64>) -> f64 {
        rel_err(got, want, |g, w| {
            let g = C64::new(g.re.to_f64().unwrap(), g.im.to_f64().unwrap());
            ((g - w).norm(), w.norm())
        })
    }

    fn rerr<T: FftFloat>(got: &ArrayD<T>, want: &ArrayD<f64>) -> f64 {
        rel_err(got, want, |g, w| ((g.to_f64().unwrap() - w).abs(), w.abs()))
    }

    /// How a base array is turned into the view under test.
    #[derive(Clone, Copy, Debug)]
    enum Layout {
        /// The array itself (standard layout).
        Plain,
        /// All axes reversed (`.t()`): Fortran order, non-contiguous rows.
        Transposed,
        /// Every other index along axis 0, other axes reversed (negative strides).
        StepReversed,
    }

    fn view_of<A>(base: &ArrayD<A>, layout: Layout) -> ArrayViewD<'_, A> {
        match layout {
            Layout::Plain => base.view(),
            Layout::Transposed => base.view().reversed_axes(),
            Layout::StepReversed => base.slice_each_axis(|ax| {
                if ax.axis.index() == 0 {
                    Slice::new(0, None, 2)
                } else {
                    Slice::new(0, None, -1)
                }
            }),
        }
    }

    /// (base shape, layout, axis) triples whose view has length `len` along `axis`.
    fn cases(len: usize) -> Vec<(Vec<usize>, Layout, usize)> {
        vec![
            (vec![len], Layout::Plain, 0),
            (vec![len, 3], Layout::Plain, 0),
            (vec![3, len], Layout::Plain, 1),
            (vec![len, 37], Layout::Plain, 0),
            (vec![2, len, 3], Layout::Plain, 1),
            (vec![3, len], Layout::Transposed, 0),
            (vec![len, 3], Layout::Transposed, 1),
            (vec![3, len, 2], Layout::Transposed, 1),
            (vec![2 * len, 4], Layout::StepReversed, 0),
            (vec![4, len], Layout::StepReversed, 1),
        ]
    }

    /// Transform lengths to try for an axis of length `len` (None: the default).
    fn lengths_for(len: usize) -> Vec<Option<usize>> {
        let mut ns = vec![
            None,
            Some(len),
            Some(len + 3),
            Some(len.div_ceil(2)),
            Some(1),
        ];
        if len > 1 {
            ns.push(Some(len - 1));
        }
        ns
    }

    /// Output lengths to try for `irfft`/`hfft` from an axis of length `len`.
    fn inverse_lengths_for(len: usize) -> Vec<Option<usize>> {
        vec![
            None,
            Some(1),
            Some(2),
            Some(3),
            Some(len),
            Some(2 * len - 1),
            Some(2 * len),
            Some(2 * len + 3),
        ]
    }

    /// Checks every transform on `view_of(base, layout)` along `axis` against
    /// the naive DFT, computing in precision `T`.
    fn check_case<T: FftFloat>(
        cbase: &ArrayD<C64>,
        rbase: &ArrayD<f64>,
        layout: Layout,
        axis: usize,
        tol: f64,
    ) {
        let c = view_of(cbase, layout);
        let r = view_of(rbase, layout);
        // The inputs in `T`, viewed the same way so the kernels see the same strides.
        let cbase_t =
            cbase.mapv(|z| Complex::new(T::from_f64(z.re).unwrap(), T::from_f64(z.im).unwrap()));
        let rbase_t = rbase.mapv(|x| T::from_f64(x).unwrap());
        let ct = view_of(&cbase_t, layout);
        let rt = view_of(&rbase_t, layout);
        let m = c.len_of(Axis(axis));
        let what = format!("base={:?} {layout:?} axis={axis} len={m}", cbase.shape());
        for norm in NORMS {
            for n in lengths_for(m) {
                let len = n.unwrap_or(m);
                let ctx = format!("{what} n={n:?} norm={}", norm.name());
                for inverse in [false, true] {
                    let got = c2c(ct.view(), axis, n, inverse, norm).unwrap();
                    let e = cerr(&got, &ref_c2c(&c, axis, len, inverse, norm));
                    assert!(e < tol, "c2c inverse={inverse} {ctx}: err {e:e}");
                }
                let got = r2c(rt.view(), axis, n, norm).unwrap();
                let e = cerr(&got, &ref_r2c(&r, axis, len, norm));
                assert!(e < tol, "r2c {ctx}: err {e:e}");
                let got = ihfft(rt.view(), axis, n, norm).unwrap();
                let e = cerr(&got, &ref_ihfft(&r, axis, len, norm));
                assert!(e < tol, "ihfft {ctx}: err {e:e}");
            }
            for n in inverse_lengths_for(m) {
                let ctx = format!("{what} n={n:?} norm={}", norm.name());
                let Some(len) = n.or((m > 1).then(|| 2 * (m - 1))) else {
                    let msg = "Invalid number of FFT data points (0) specified.";
                    assert_eq!(c2r(ct.view(), axis, n, norm).unwrap_err(), msg);
                    assert_eq!(hfft(ct.view(), axis, n, norm).unwrap_err(), msg);
                    continue;
                };
                let got = c2r(ct.view(), axis, n, norm).unwrap();
                let e = rerr(&got, &ref_c2r(&c, axis, len, norm));
                assert!(e < tol, "c2r {ctx}: err {e:e}");
                let got = hfft(ct.view(), axis, n, norm).unwrap();
                let e = rerr(&got, &ref_hfft(&c, axis, len, norm));
                assert!(e < tol, "hfft {ctx}: err {e:e}");
            }
        }
    }

    #[test]
    fn all_transforms_match_naive_dft_f64() {
        for (seed, len) in LENGTHS.into_iter().enumerate() {
            for (shape, layout, axis) in cases(len) {
                let cbase = random_complex(&shape, seed as u64 + 1);
                let rbase = random_real(&shape, seed as u64 + 101);
                assert_eq!(view_of(&cbase, layout).len_of(Axis(axis)), len);
                check_case::<f64>(&cbase, &rbase, layout, axis, 1e-12);
            }
        }
    }

    #[test]
    fn all_transforms_match_naive_dft_f32() {
        for (seed, len) in LENGTHS.into_iter().enumerate() {
            for (shape, layout, axis) in cases(len) {
                let cbase = random_complex(&shape, seed as u64 + 201);
                let rbase = random_real(&shape, seed as u64 + 301);
                check_case::<f32>(&cbase, &rbase, layout, axis, 2e-5);
            }
        }
    }

    #[test]
    fn round_trips() {
        let x = random_real(&[4, 33], 7);
        let xc = random_complex(&[33, 4], 8);
        for n in [1usize, 2, 7, 8, 20, 33, 40, 41] {
            for norm in NORMS {
                // irfft(rfft(x, n), n) recovers x truncated / zero-padded to n.
                let spec = r2c(x.view(), 1, Some(n), norm).unwrap();
                let back = c2r(spec.view(), 1, Some(n), norm).unwrap();
                let want = map_lanes(&x.view(), 1, n, |v| fit(v, n));
                assert!(rerr(&back, &want) < 1e-13, "rfft/irfft n={n} {norm:?}");
                // ifft(fft(x, n)) likewise.
                let spec = c2c(xc.view(), 0, Some(n), false, norm).unwrap();
                let back = c2c(spec.view(), 0, None, true, norm).unwrap();
                let want = map_lanes(&xc.view(), 0, n, |v| fit(v, n));
                assert!(cerr(&back, &want) < 1e-13, "fft/ifft n={n} {norm:?}");
                // hfft(ihfft(x, n), n) likewise.
                let half = ihfft(x.view(), 1, Some(n), norm).unwrap();
                let back = hfft(half.view(), 1, Some(n), norm).unwrap();
                let want = map_lanes(&x.view(), 1, n, |v| fit(v, n));
                assert!(rerr(&back, &want) < 1e-13, "ihfft/hfft n={n} {norm:?}");
            }
        }
        // The default irfft length recovers an even-length signal.
        let spec = r2c(x.view(), 1, Some(32), Norm::Backward).unwrap();
        let back = c2r(spec.view(), 1, None, Norm::Backward).unwrap();
        assert_eq!(back.shape(), &[4, 32]);
    }

    #[test]
    fn hermitian_pairs_are_related_as_numpy_says() {
        // hfft(a, n) = irfft(conj(a), n) with the norm swapped;
        // ihfft(a, n) = conj(rfft(a, n)) with the norm swapped.
        let a = random_complex(&[3, 6], 9);
        let x = random_real(&[3, 11], 10);
        for (norm, swapped) in [
            (Norm::Backward, Norm::Forward),
            (Norm::Ortho, Norm::Ortho),
            (Norm::Forward, Norm::Backward),
        ] {
            for n in [None, Some(7), Some(10), Some(3)] {
                let got = hfft(a.view(), 1, n, norm).unwrap();
                let want = c2r(a.mapv(|z| z.conj()).view(), 1, n, swapped).unwrap();
                assert_eq!(got, want, "hfft {norm:?} n={n:?}");
                let got = ihfft(x.view(), 1, n, norm).unwrap();
                let want = r2c(x.view(), 1, n, swapped).unwrap().mapv(|z| z.conj());
                assert_eq!(got, want, "ihfft {norm:?} n={n:?}");
            }
        }
    }

    #[test]
    fn irfft_ignores_imaginary_dc_and_nyquist() {
        let mut a = random_complex(&[2, 5], 11);
        let clean = {
            let mut c = a.clone();
            c.index_axis_mut(Axis(1), 0)
                .iter_mut()
                .for_each(|z| z.im = 0.0);
            c.index_axis_mut(Axis(1), 4)
                .iter_mut()
                .for_each(|z| z.im = 0.0);
            c
        };
        a[[0, 0]].im = 5.0;
        a[[1, 4]].im = -3.0;
        let even = c2r(a.view(), 1, Some(8), Norm::Backward).unwrap();
        assert_eq!(even, c2r(clean.view(), 1, Some(8), Norm::Backward).unwrap());
        // For odd n the last term is not a Nyquist term: its imaginary part counts.
        let odd = c2r(a.view(), 1, Some(9), Norm::Backward).unwrap();
        assert_ne!(odd, c2r(clean.view(), 1, Some(9), Norm::Backward).unwrap());
    }

    #[test]
    fn invalid_arguments_are_errors() {
        let c = random_complex(&[3, 4], 12);
        let r = random_real(&[3, 4], 13);
        let zero = "Invalid number of FFT data points (0) specified.";
        assert_eq!(
            c2c(c.view(), 1, Some(0), false, Norm::Backward).unwrap_err(),
            zero
        );
        assert_eq!(
            c2c(c.view(), 1, Some(0), true, Norm::Ortho).unwrap_err(),
            zero
        );
        assert_eq!(r2c(r.view(), 0, Some(0), Norm::Backward).unwrap_err(), zero);
        assert_eq!(c2r(c.view(), 0, Some(0), Norm::Backward).unwrap_err(), zero);
        assert_eq!(
            hfft(c.view(), 0, Some(0), Norm::Backward).unwrap_err(),
            zero
        );
        assert_eq!(
            ihfft(r.view(), 0, Some(0), Norm::Backward).unwrap_err(),
            zero
        );

        let axis = "axis 2 is out of bounds for array of dimension 2";
        assert_eq!(
            c2c(c.view(), 2, None, false, Norm::Backward).unwrap_err(),
            axis
        );
        assert_eq!(r2c(r.view(), 2, None, Norm::Backward).unwrap_err(), axis);
        assert_eq!(c2r(c.view(), 2, None, Norm::Backward).unwrap_err(), axis);
        assert_eq!(hfft(c.view(), 2, None, Norm::Backward).unwrap_err(), axis);
        assert_eq!(
            ihfft(r.view(), 2, Some(4), Norm::Backward).unwrap_err(),
            axis
        );

        // A 0-d array has no axis to transform.
        let scalar = ArrayD::from_elem(IxDyn(&[]), C64::new(1.0, 0.0));
        assert_eq!(
            c2c(scalar.view(), 0, None, false, Norm::Backward).unwrap_err(),
            "axis 0 is out of bounds for array of dimension 0"
        );

        // Defaults that give no points: an empty axis, or irfft/hfft of one point.
        let empty = ArrayD::<C64>::zeros(IxDyn(&[3, 0]));
        assert_eq!(
            c2c(empty.view(), 1, None, false, Norm::Backward).unwrap_err(),
            zero
        );
        assert_eq!(
            c2r(empty.view(), 1, None, Norm::Backward).unwrap_err(),
            "Invalid number of FFT data points (-2) specified."
        );
        assert_eq!(
            hfft(empty.view(), 1, None, Norm::Backward).unwrap_err(),
            "Invalid number of FFT data points (-2) specified."
        );
        let one = ArrayD::<C64>::zeros(IxDyn(&[3, 1]));
        assert_eq!(c2r(one.view(), 1, None, Norm::Backward).unwrap_err(), zero);
        assert_eq!(hfft(one.view(), 1, None, Norm::Backward).unwrap_err(), zero);

        // An output too large to address.
        let big = c2c(c.view(), 1, Some(usize::MAX / 2), false, Norm::Backward);
        assert!(big.unwrap_err().starts_with("array is too big"));
    }

    #[test]
    fn empty_arrays() {
        // Size 0 along another axis: nothing to transform, shapes as NumPy.
        let c = ArrayD::<C64>::zeros(IxDyn(&[0, 5]));
        let r = ArrayD::<f64>::zeros(IxDyn(&[0, 5]));
        assert_eq!(
            c2c(c.view(), 1, None, false, Norm::Backward)
                .unwrap()
                .shape(),
            &[0, 5]
        );
        assert_eq!(
            c2c(c.view(), 1, Some(7), true, Norm::Ortho)
                .unwrap()
                .shape(),
            &[0, 7]
        );
        assert_eq!(
            r2c(r.view(), 1, None, Norm::Backward).unwrap().shape(),
            &[0, 3]
        );
        assert_eq!(
            c2r(c.view(), 1, None, Norm::Backward).unwrap().shape(),
            &[0, 8]
        );
        assert_eq!(
            hfft(c.view(), 1, Some(3), Norm::Forward).unwrap().shape(),
            &[0, 3]
        );
        assert_eq!(
            ihfft(r.view(), 1, None, Norm::Backward).unwrap().shape(),
            &[0, 3]
        );
        // Huge n with nothing to transform: no planning, no allocation.
        let huge = c2c(c.view(), 1, Some(1 << 40), false, Norm::Backward).unwrap();
        assert_eq!(huge.shape(), &[0, 1 << 40]);
        // An empty axis padded by n: all zeros, as NumPy.
        let e = ArrayD::<C64>::zeros(IxDyn(&[2, 0]));
        let got = c2c(e.view(), 1, Some(3), false, Norm::Backward).unwrap();
        assert_eq!(got, ArrayD::<C64>::zeros(IxDyn(&[2, 3])));
        let got = c2r(e.view(), 1, Some(4), Norm::Backward).unwrap();
        assert_eq!(got, ArrayD::<f64>::zeros(IxDyn(&[2, 4])));
        let e = ArrayD::<f64>::zeros(IxDyn(&[0, 2]));
        let got = r2c(e.view(), 0, Some(4), Norm::Backward).unwrap();
        assert_eq!(got, ArrayD::<C64>::zeros(IxDyn(&[3, 2])));
    }

    #[test]
    fn norm_names() {
        for norm in NORMS {
            assert_eq!(Norm::parse(norm.name()), Some(norm));
        }
        assert_eq!(Norm::default(), Norm::Backward);
        assert_eq!(Norm::parse("Ortho"), None);
        assert_eq!(Norm::parse(""), None);
    }

    #[test]
    fn frequencies_match_numpy() {
        // Values printed by NumPy 2.4 (`repr` of each element).
        assert_eq!(fftfreq(5, 0.1), [0.0, 2.0, 4.0, -4.0, -2.0]);
        assert_eq!(fftfreq(4, 1.0), [0.0, 0.25, -0.5, -0.25]);
        assert_eq!(
            fftfreq(8, 0.1),
            [0.0, 1.25, 2.5, 3.75, -5.0, -3.75, -2.5, -1.25]
        );
        assert_eq!(fftfreq(1, 1.0), [0.0]);
        assert_eq!(
            fftfreq(3, 0.5),
            [0.0, 0.6666666666666666, -0.6666666666666666]
        );
        assert_eq!(
            fftfreq(7, 0.3),
            [
                0.0,
                0.47619047619047616,
                0.9523809523809523,
                1.4285714285714284,
                -1.4285714285714284,
                -0.9523809523809523,
                -0.47619047619047616
            ]
        );
        assert_eq!(rfftfreq(5, 1.0), [0.0, 0.2, 0.4]);
        assert_eq!(rfftfreq(5, 0.1), [0.0, 2.0, 4.0]);
        assert_eq!(rfftfreq(4, 1.0), [0.0, 0.25, 0.5]);
        assert_eq!(rfftfreq(8, 0.1), [0.0, 1.25, 2.5, 3.75, 5.0]);
        assert_eq!(rfftfreq(1, 1.0), [0.0]);
        assert_eq!(
            rfftfreq(6, 2.5),
            [0.0, 0.06666666666666667, 0.13333333333333333, 0.2]
        );
        assert!(fftfreq(0, 1.0).is_empty());
        assert!(rfftfreq(0, 1.0).is_empty());
    }

    /// Compares a few outputs with NumPy itself, when a Python with NumPy is
    /// available (`FFT_NUMPY_PYTHON`, default `/work/main/.venv/bin/python`).
    #[test]
    fn matches_numpy_when_available() {
        let python = std::env::var("FFT_NUMPY_PYTHON")
            .unwrap_or_else(|_| "/work/main/.venv/bin/python".to_string());
        if !std::path::Path::new(&python).exists() {
            eprintln!("skipping: no Python at {python}");
            return;
        }
        let list = |v: &mut dyn Iterator<Item = f64>| {
            v.map(|x| format!("{x:?}")).collect::<Vec<_>>().join(",")
        };
        let c = random_complex(&[6, 10], 21);
        let r = random_real(&[6, 10], 22);
        let c_py = format!(
            "(np.array([{}]) + 1j * np.array([{}])).reshape(6, 10)",
            list(&mut c.iter().map(|z| z.re)),
            list(&mut c.iter().map(|z| z.im))
        );
        let r_py = format!(
            "np.array([{}]).reshape(6, 10)",
            list(&mut r.iter().copied())
        );
        // (function, complex input?, layout, axis, n, norm)
        type Case = (&'static str, bool, Layout, usize, Option<usize>, Norm);
        let cases: Vec<Case> = vec![
            ("fft", true, Layout::Plain, 0, None, Norm::Backward),
            ("fft", true, Layout::Transposed, 1, Some(4), Norm::Ortho),
            (
                "ifft",
                true,
                Layout::StepReversed,
                1,
                Some(13),
                Norm::Forward,
            ),
            ("ifft", true, Layout::Plain, 1, None, Norm::Backward),
            ("rfft", false, Layout::Plain, 1, None, Norm::Backward),
            ("rfft", false, Layout::Plain, 1, Some(13), Norm::Ortho),
            ("rfft", false, Layout::Transposed, 0, Some(5), Norm::Forward),
            ("irfft", true, Layout::Plain, 1, None, Norm::Backward),
            ("irfft", true, Layout::Plain, 1, Some(11), Norm::Ortho),
            ("irfft", true, Layout::Plain, 1, Some(4), Norm::Forward),
            (
                "irfft",
                true,
                Layout::StepReversed,
                0,
                Some(7),
                Norm::Backward,
            ),
            ("hfft", true, Layout::Plain, 1, None, Norm::Backward),
            ("hfft", true, Layout::Transposed, 0, Some(9), Norm::Ortho),
            ("hfft", true, Layout::Plain, 1, Some(10), Norm::Forward),
            ("ihfft", false, Layout::Plain, 1, None, Norm::Backward),
            ("ihfft", false, Layout::Plain, 0, Some(8), Norm::Ortho),
            (
                "ihfft",
                false,
                Layout::StepReversed,
                1,
                Some(15),
                Norm::Forward,
            ),
        ];
        let mut script = format!("import numpy as np\nc = {c_py}\nr = {r_py}\n");
        script.push_str(
            "def show(x):\n    x = np.asarray(x, dtype=complex)\n    \
             print(' '.join(map(str, x.shape)) + '|' + ' '.join(map(repr, x.ravel().view(float).tolist())))\n",
        );
        for &(func, complex, layout, axis, n, norm) in &cases {
            let base = if complex { "c" } else { "r" };
            let view = match layout {
                Layout::Plain => base.to_string(),
                Layout::Transposed => format!("{base}.T"),
                Layout::StepReversed => format!("{base}[::2, ::-1]"),
            };
            let n = n.map_or("None".to_string(), |n| n.to_string());
            script.push_str(&format!(
                "show(np.fft.{func}({view}, n={n}, axis={axis}, norm='{}'))\n",
                norm.name()
            ));
        }
        for (n, d) in [(5usize, 0.1f64), (8, 0.37), (9, 1.0)] {
            script.push_str(&format!(
                "show(np.fft.fftfreq({n}, {d:?}))\nshow(np.fft.rfftfreq({n}, {d:?}))\n"
            ));
        }
        let output = std::process::Command::new(&python)
            .args(["-c", &script])
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .expect("run python");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        let mut lines = stdout.lines();
        let mut parse = || {
            let line = lines.next().expect("a line per case");
            let (shape, values) = line.split_once('|').unwrap();
            let shape: Vec<usize> = shape
                .split_whitespace()
                .map(|s| s.parse().unwrap())
                .collect();
            let values: Vec<f64> = values
                .split_whitespace()
                .map(|s| s.parse().unwrap())
                .collect();
            let values = values.chunks(2).map(|p| C64::new(p[0], p[1])).collect();
            ArrayD::from_shape_vec(IxDyn(&shape), values).unwrap()
        };
        for &(func, _, layout, axis, n, norm) in &cases {
            let want = parse();
            let (cv, rv) = (view_of(&c, layout), view_of(&r, layout));
            let got: ArrayD<C64> = match func {
                "fft" => c2c(cv, axis, n, false, norm).unwrap(),
                "ifft" => c2c(cv, axis, n, true, norm).unwrap(),
                "rfft" => r2c(rv, axis, n, norm).unwrap(),
                "ihfft" => ihfft(rv, axis, n, norm).unwrap(),
                "irfft" => c2r(cv, axis, n, norm).unwrap().mapv(|x| C64::new(x, 0.0)),
                "hfft" => hfft(cv, axis, n, norm).unwrap().mapv(|x| C64::new(x, 0.0)),
                _ => unreachable!(),
            };
            let e = cerr(&got, &want);
            assert!(
                e < 1e-14,
                "{func} {layout:?} axis={axis} n={n:?} {norm:?}: err {e:e}"
            );
        }
        for (n, d) in [(5usize, 0.1f64), (8, 0.37), (9, 1.0)] {
            let want = parse().iter().map(|z| z.re).collect::<Vec<_>>();
            assert_eq!(fftfreq(n, d), want, "fftfreq({n}, {d})");
            let want = parse().iter().map(|z| z.re).collect::<Vec<_>>();
            assert_eq!(rfftfreq(n, d), want, "rfftfreq({n}, {d})");
        }
    }
}
