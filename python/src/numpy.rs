//! NumPy arrays in and out, without copying the whole array.
//!
//! In: [`NumpySource`] is a [`BlockRead`] over a C-contiguous NumPy array's own buffer,
//! which it keeps alive by holding a reference to the array (as dask's `from_array` keeps
//! the array): nothing is copied when the brickwork array is made, and each task copies
//! only the chunk it reads, as from any other source. Changing the NumPy array afterwards
//! changes what a later computation reads (dask's behaviour too). Arrays that are not
//! C-contiguous are copied once into C order (NumPy's `ascontiguousarray`) first.
//!
//! Out: a computed [`Block`] owns an `ndarray::ArrayD`; NumPy takes that buffer over
//! (`PyArray::from_owned_array`): no copy.

use std::path::{Path, PathBuf};

use brickwork::ndarray::{ArrayViewD, IxDyn, SliceInfoElem};
use brickwork::store::BlockRead;
use brickwork::{Block, DType, dispatch_block, dispatch_dtype};
use numpy::{PyArray, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// NumPy's element type for each of brickwork's: the same type, and for the complex types
/// `num_complex`'s, which brickwork's [`brickwork::Complex64`]/[`brickwork::Complex128`]
/// have the layout of (`repr(C)`, real part first).
pub(crate) trait NpElement: brickwork::BlockElement {
    /// The type NumPy's crate knows.
    type Np: numpy::Element + Copy;
    /// An owned array as NumPy's element type (no copy for the real types).
    fn into_np(a: brickwork::ndarray::ArrayD<Self>) -> brickwork::ndarray::ArrayD<Self::Np>;
    /// A view of NumPy's element type as this one (no copy).
    fn view_from_np(a: ArrayViewD<'_, Self::Np>) -> ArrayViewD<'_, Self>;
    /// A view as NumPy's element type (no copy).
    fn view_np(a: ArrayViewD<'_, Self>) -> ArrayViewD<'_, Self::Np>;
}

macro_rules! np_same {
    ($($t:ty),*) => {$(
        impl NpElement for $t {
            type Np = $t;
            fn into_np(a: brickwork::ndarray::ArrayD<$t>) -> brickwork::ndarray::ArrayD<$t> {
                a
            }
            fn view_from_np(a: ArrayViewD<'_, $t>) -> ArrayViewD<'_, $t> {
                a
            }
            fn view_np(a: ArrayViewD<'_, $t>) -> ArrayViewD<'_, $t> {
                a
            }
        }
    )*};
}

np_same!(bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

macro_rules! np_complex {
    ($($t:ty => $np:ty),*) => {$(
        impl NpElement for $t {
            type Np = $np;
            fn into_np(a: brickwork::ndarray::ArrayD<$t>) -> brickwork::ndarray::ArrayD<$np> {
                Self::view_np(a.view()).to_owned()
            }
            fn view_from_np(a: ArrayViewD<'_, $np>) -> ArrayViewD<'_, $t> {
                <$t>::from_num_view(a)
            }
            fn view_np(a: ArrayViewD<'_, $t>) -> ArrayViewD<'_, $np> {
                <$t>::as_num(a)
            }
        }
    )*};
}

np_complex!(brickwork::Complex64 => numpy::Complex32, brickwork::Complex128 => numpy::Complex64);

/// A computed block as a NumPy array owning the block's buffer (no copy but for complex
/// blocks, which are copied once).
pub(crate) fn to_numpy(py: Python<'_>, block: Block) -> Bound<'_, PyAny> {
    dispatch_block!(block, a => PyArray::from_owned_array(py, NpElement::into_np(a)).into_any())
}

/// The brickwork dtype of a NumPy dtype name (`float64`, `int32`, `bool`, ...).
pub(crate) fn dtype_of_name(name: &str) -> PyResult<DType> {
    DType::from_name(name).ok_or_else(|| {
        PyTypeError::new_err(format!(
            "dtype {name} is not supported by brickwork (bool, int8-int64, uint8-uint64, \
             float32, float64, complex64, complex128)"
        ))
    })
}

/// A read-only chunked view of a C-contiguous NumPy array's buffer.
pub(crate) struct NumpySource {
    /// The array itself: keeps the buffer alive.
    _owner: Py<PyAny>,
    /// The address of the first element.
    data: usize,
    shape: Vec<usize>,
    dtype: DType,
    chunk_shape: Vec<usize>,
    /// A name for messages (`<numpy array float64 (100, 100) at 0x...>`).
    path: PathBuf,
}

impl std::fmt::Debug for NumpySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NumpySource")
            .field("path", &self.path)
            .field("chunk_shape", &self.chunk_shape)
            .finish()
    }
}

impl NumpySource {
    /// A source over `array` (a NumPy array, C-contiguous, of a supported dtype) in chunks
    /// of `chunks`.
    pub(crate) fn new(array: &Bound<'_, PyUntypedArray>, chunks: &[usize]) -> PyResult<Self> {
        if !array.is_c_contiguous() {
            return Err(PyValueError::new_err(
                "from_numpy needs a C-contiguous array",
            ));
        }
        let descr = array.dtype();
        if descr.byteorder() == b'>' {
            return Err(PyTypeError::new_err(
                "big-endian NumPy arrays are not supported: convert with .astype(dtype.newbyteorder('='))",
            ));
        }
        let name: String = descr.getattr("name")?.extract()?;
        let dtype = dtype_of_name(&name)?;
        let shape = array.shape().to_vec();
        if chunks.len() != shape.len() || chunks.contains(&0) {
            return Err(PyValueError::new_err(format!(
                "chunks {chunks:?} do not fit an array of shape {shape:?} (one positive size per axis)"
            )));
        }
        let data = array
            .getattr("ctypes")?
            .getattr("data")?
            .extract::<usize>()?;
        if !data.is_multiple_of(dtype.size()) {
            return Err(PyValueError::new_err(format!(
                "the NumPy array's buffer at {data:#x} is not aligned for {name}"
            )));
        }
        Ok(NumpySource {
            _owner: array.clone().into_any().unbind(),
            data,
            path: PathBuf::from(format!("<numpy array {name} {shape:?} at {data:#x}>")),
            shape,
            dtype,
            chunk_shape: chunks.to_vec(),
        })
    }
}

impl BlockRead for NumpySource {
    fn path(&self) -> &Path {
        &self.path
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn dtype(&self) -> DType {
        self.dtype
    }

    fn chunk_shape(&self) -> &[usize] {
        &self.chunk_shape
    }

    fn read_chunk(&self, chunk: &[usize]) -> brickwork::Result<Block> {
        let region: Vec<SliceInfoElem> = chunk
            .iter()
            .zip(&self.chunk_shape)
            .zip(&self.shape)
            .map(|((&i, &c), &n)| SliceInfoElem::Slice {
                start: (i * c).min(n) as isize,
                end: Some(((i + 1) * c).min(n) as isize),
                step: 1,
            })
            .collect();
        Ok(dispatch_dtype!(self.dtype, T => {
            // SAFETY: `data` is the first element of a C-contiguous array of `shape` and
            // element type `T` (checked in `new`: NumPy's dtype name is T's), aligned as
            // NumPy aligns its buffers, and alive while `_owner` holds the array. NumPy
            // bools are the bytes 0 and 1.
            let all = unsafe { ArrayViewD::<T>::from_shape_ptr(IxDyn(&self.shape), self.data as *const T) };
            Block::from(all.slice(region.as_slice()).to_owned())
        }))
    }

    fn generation(&self) -> Option<String> {
        None
    }
}
