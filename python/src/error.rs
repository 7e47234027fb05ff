//! brickwork's errors as the Python exceptions people catch.
//!
//! The mapping follows who must act: a caller's mistake is a `ValueError` (`TypeError` for a
//! dtype, `IndexError` for an index, NumPy's `AxisError` for an axis), a plan refused for
//! memory is a `MemoryError` carrying the hint, the environment's failures are `OSError`
//! (`FileNotFoundError` when the operating system said so), a Python kernel's own exception
//! is raised again as itself, and a cancelled computation is the `KeyboardInterrupt` that
//! cancelled it. The message is the error followed by its chain of sources.

use brickwork::Error;
use pyo3::exceptions::{
    PyFileNotFoundError, PyIndexError, PyKeyboardInterrupt, PyMemoryError, PyOSError,
    PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;

/// The error and its sources, `: `-separated (anyhow's `{:#}`), without repeating a source
/// whose text the message already contains.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        cause = c.source();
    }
    text
}

/// `e` as a Python exception.
pub(crate) fn to_py(e: Error) -> PyErr {
    let message = chain(&e);
    match e {
        Error::Kernel { source, .. } => match source.downcast::<PyErr>() {
            Ok(err) => *err,
            Err(other) => PyRuntimeError::new_err(format!("{message} ({other})")),
        },
        Error::Cancelled => PyKeyboardInterrupt::new_err(message),
        Error::UnsupportedDType { .. }
        | Error::UnknownDType { .. }
        | Error::DTypeMismatch { .. } => PyTypeError::new_err(message),
        Error::IndexOutOfBounds { .. } | Error::TooManyIndices { .. } => {
            PyIndexError::new_err(message)
        }
        Error::InvalidAxis { .. } => axis_error(message),
        Error::PlanExceedsMemory { .. } | Error::ResourcesExhausted { .. } => {
            PyMemoryError::new_err(message)
        }
        Error::UnknownStoreFormat { ref path, .. } if !path.exists() => {
            PyFileNotFoundError::new_err(message)
        }
        Error::Store { .. }
        | Error::Io { .. }
        | Error::Spill { .. }
        | Error::Temporary { .. }
        | Error::IncompleteArray { .. }
        | Error::Locked { .. }
        | Error::SourceChanged { .. }
        | Error::RegionWriteUnfinished { .. }
        | Error::Format { .. }
        | Error::UnknownStoreFormat { .. } => match e.io_error().map(std::io::Error::kind) {
            Some(std::io::ErrorKind::NotFound) => PyFileNotFoundError::new_err(message),
            _ => PyOSError::new_err(message),
        },
        Error::Internal { .. } | Error::Worker { .. } | Error::KernelPanicked { .. } => {
            PyRuntimeError::new_err(message)
        }
        _ => PyValueError::new_err(message),
    }
}

/// NumPy's `AxisError` (a `ValueError` and an `IndexError`), or a `ValueError` when NumPy
/// cannot be imported.
fn axis_error(message: String) -> PyErr {
    Python::attach(|py| {
        py.import("numpy.exceptions")
            .and_then(|m| m.getattr("AxisError"))
            .and_then(|cls| cls.call1((message.clone(),)))
            .map_or_else(|_| PyValueError::new_err(message), PyErr::from_value)
    })
}

/// `Result<T, brickwork::Error>` into `PyResult<T>`.
pub(crate) trait IntoPy<T> {
    /// The value, or the error as a Python exception.
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for brickwork::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
