//! Python functions as block kernels: `map_blocks(func, *arrays)`.
//!
//! The function runs on the engine's worker threads like a Rust kernel; each call takes
//! the GIL, so Python kernels run one at a time (NumPy releases the GIL inside its own
//! loops, so a kernel made of large NumPy calls still overlaps with the others). Each
//! input block is copied into a new NumPy array (the function may keep or change it), and
//! the function's result is copied back into a block: two copies of a block per call,
//! plus the GIL hand-over, about 10-50 µs. An exception the function raises fails the
//! computation and is raised again, unchanged, by `compute`.

use brickwork::{Block, BlockInfo, BlockRef, MapBlocks, dispatch_dtype};
use numpy::{PyArray, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::array::PyArr;
use crate::error::IntoPy;
use crate::numpy::{NpElement, dtype_of_name};

/// A block borrowed from the engine, copied into a new NumPy array.
fn block_to_numpy<'py>(py: Python<'py>, block: &BlockRef<'_>) -> Bound<'py, PyAny> {
    dispatch_dtype!(block.dtype(), T => {
        let view = block.view::<T>().expect("the block's own dtype");
        PyArray::from_array(py, &<T as NpElement>::view_np(view.view())).into_any()
    })
}

/// What the function returned (anything `numpy.asarray` takes) as a block of `dtype`.
fn numpy_to_block(value: &Bound<'_, PyAny>, dtype: Option<brickwork::DType>) -> PyResult<Block> {
    let np = value.py().import("numpy")?;
    let mut array = np.call_method1("asarray", (value,))?;
    if let Some(want) = dtype {
        array = array.call_method1("astype", (want.name(),))?;
    }
    let untyped = array.cast::<PyUntypedArray>()?;
    let name: String = untyped.dtype().getattr("name")?.extract()?;
    let dtype = dtype_of_name(&name)?;
    Ok(dispatch_dtype!(dtype, T => {
        let typed = array.cast::<PyArrayDyn<<T as NpElement>::Np>>()?;
        Block::from(T::view_from_np(typed.readonly().as_array()).to_owned())
    }))
}

/// dask's `block_info`: `{0: {...}, ..., None: {...}}` for the inputs and the output.
fn block_info<'py>(py: Python<'py>, info: &BlockInfo) -> PyResult<Bound<'py, PyDict>> {
    let ranges = |r: &[std::ops::Range<usize>]| -> Vec<(usize, usize)> {
        r.iter().map(|r| (r.start, r.end)).collect()
    };
    let all = PyDict::new(py);
    let out = PyDict::new(py);
    out.set_item("chunk-location", PyTuple::new(py, &info.block)?)?;
    out.set_item("num-chunks", PyTuple::new(py, &info.num_blocks)?)?;
    out.set_item("array-location", ranges(&info.location))?;
    out.set_item("shape", PyTuple::new(py, &info.shape)?)?;
    for (i, loc) in info.input_locations.iter().enumerate() {
        let d = PyDict::new(py);
        d.set_item("array-location", ranges(loc))?;
        d.set_item("chunk-location", PyTuple::new(py, &info.block)?)?;
        all.set_item(i, d)?;
    }
    all.set_item(py.None(), out)?;
    Ok(all)
}

/// The result of `func` over the blocks of `arrays`: of `dtype` (the first input's when
/// `None`), with `chunks` when the function changes the blocks' shapes, `drop_axis` and
/// `new_axis` as dask's; `block_info=` passed when `with_info`.
#[pyfunction]
#[pyo3(signature = (func, arrays, name, dtype=None, chunks=None, drop_axis=None, new_axis=None, with_info=false))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn map_blocks(
    func: Py<PyAny>,
    arrays: Vec<PyRef<'_, PyArr>>,
    name: String,
    dtype: Option<&str>,
    chunks: Option<Vec<Vec<usize>>>,
    drop_axis: Option<Vec<isize>>,
    new_axis: Option<Vec<isize>>,
    with_info: bool,
) -> PyResult<PyArr> {
    if arrays.is_empty() {
        return Err(PyTypeError::new_err("map_blocks needs at least one array"));
    }
    let dtype = match dtype {
        Some(name) => dtype_of_name(name)?,
        None => arrays[0].a.try_dtype().py()?,
    };
    let mut options = MapBlocks::new(name).dtype(dtype);
    if let Some(c) = chunks {
        options = options.chunks(c);
    }
    if let Some(axes) = drop_axis {
        options = options.drop_axis(&axes);
    }
    if let Some(axes) = new_axis {
        options = options.new_axis(&axes);
    }
    let inputs: Vec<&brickwork::Array> = arrays.iter().map(|a| &a.a).collect();
    // A worker process of `scheduler='processes'` is forked from this one without Python's
    // fork handling: taking the GIL there could wait forever on a thread that does not exist
    // in the child. Refuse instead, saying what works.
    let owner = std::process::id();
    let kernel = move |blocks: &[BlockRef<'_>], info: &BlockInfo| -> Result<Block, PyErr> {
        if std::process::id() != owner {
            return Err(PyRuntimeError::new_err(
                "a Python map_blocks function cannot run in a worker process: compute with \
                 scheduler='threads', 'synchronous' or a Client(processes=False)",
            ));
        }
        Python::attach(|py| {
            let args: Vec<Bound<'_, PyAny>> =
                blocks.iter().map(|b| block_to_numpy(py, b)).collect();
            let args = PyTuple::new(py, args)?;
            let result = if with_info {
                let kwargs = PyDict::new(py);
                kwargs.set_item("block_info", block_info(py, info)?)?;
                func.bind(py).call(args, Some(&kwargs))?
            } else {
                func.bind(py).call1(args)?
            };
            numpy_to_block(&result, Some(dtype))
        })
    };
    brickwork::map_blocks(&inputs, &options, kernel)
        .py()
        .map(PyArr::from)
}
