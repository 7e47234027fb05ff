//! The `fft.` namespace: `numpy.fft`'s transforms, frequencies and shifts (see
//! `Array::fft`).

use super::args::Bound;
use super::table::FftOp;
use crate::array::{Array, FftNorm};
use crate::error::Result;
use crate::kernel::fft::Transform;
use crate::parse::value::Value;

/// Runs one of the `fft.` functions.
pub(super) fn fft(op: FftOp, b: &Bound) -> Result<Value> {
    let norm = || -> Result<FftNorm> {
        match b.get("norm").map(|a| &a.value) {
            None | Some(Value::None) => Ok(FftNorm::Backward),
            Some(Value::Str(s)) => FftNorm::parse(s).ok_or_else(|| {
                b.bad(
                    b.required("norm").expect("given"),
                    "norm",
                    "\"backward\", \"ortho\" or \"forward\"",
                )
            }),
            Some(_) => Err(b.bad(
                b.required("norm").expect("given"),
                "norm",
                "\"backward\", \"ortho\" or \"forward\"",
            )),
        }
    };
    let axis = || -> Result<isize> { Ok(b.int("axis")?.unwrap_or(-1) as isize) };
    let y = match op {
        FftOp::One(t) => {
            let x = b.array("a")?;
            let (n, axis, norm) = (b.count("n")?, axis()?, norm()?);
            match t {
                Transform::Fft => x.fft(n, axis, norm)?,
                Transform::Ifft => x.ifft(n, axis, norm)?,
                Transform::Rfft => x.rfft(n, axis, norm)?,
                Transform::Irfft => x.irfft(n, axis, norm)?,
                Transform::Hfft => x.hfft(n, axis, norm)?,
                Transform::Ihfft => x.ihfft(n, axis, norm)?,
            }
        }
        FftOp::Many { kind, two } => {
            let x = b.array("a")?;
            let s = b.sizes("s")?;
            let axes = match b.ints("axes")? {
                Some(a) => Some(a.into_iter().map(|i| i as isize).collect::<Vec<_>>()),
                None if two => Some(vec![-2, -1]),
                None => None,
            };
            let (s, axes, norm) = (s.as_deref(), axes.as_deref(), norm()?);
            match kind {
                Transform::Fft => x.fftn(false, s, axes, norm)?,
                Transform::Ifft => x.fftn(true, s, axes, norm)?,
                Transform::Rfft => x.rfftn(s, axes, norm)?,
                _ => x.irfftn(s, axes, norm)?,
            }
        }
        FftOp::Freq { real } => {
            let n = b.count("n")?.ok_or_else(|| b.none_error("n"))?;
            let d = b.float("d", 1.0)?;
            let f = if real {
                Array::rfftfreq(n, d, None)?
            } else {
                Array::fftfreq(n, d, None)?
            };
            // `device` is the CPU's (the only one); `dtype` a real float type.
            match b.get("dtype").map(|a| &a.value) {
                None | Some(Value::None) => f,
                Some(_) => f.astype(b.dtype(crate::DType::F64)?)?,
            }
        }
        FftOp::Shift { inverse } => {
            let x = b.array("x")?;
            let axes: Option<Vec<isize>> = b
                .ints("axes")?
                .map(|a| a.into_iter().map(|i| i as isize).collect());
            if inverse {
                x.ifftshift(axes.as_deref())?
            } else {
                x.fftshift(axes.as_deref())?
            }
        }
    };
    Ok(Value::Array(y))
}
