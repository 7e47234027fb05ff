//! `brickwork._brickwork`: the extension module under the Python package `brickwork`.
//!
//! A thin layer over brickwork's public Rust API: it converts Python arguments, calls the
//! library, and converts results and errors back. dask.array's names, argument handling
//! (`chunks=`, `axis=`, indexing with `None` and `...`), the NumPy protocols and the
//! notebook display live in the Python package (python/brickwork/), which wraps the
//! `Array` class defined here.
//!
//! - `array`: the lazy array handle and its operations;
//! - `call`: the core's function table (the array API namespace) and NumPy indexing;
//! - `numpy`: NumPy arrays in and out without copying the whole array;
//! - `kernel`: Python functions as block kernels (`map_blocks`);
//! - `run`: the options of a computation, the GIL released while it runs, Ctrl-C;
//! - `error`: brickwork's errors as Python exceptions.

mod array;
mod call;
mod error;
mod kernel;
mod numpy;
mod run;

use pyo3::prelude::*;

/// mimalloc for every Rust allocation of the extension (blocks, plans), as the `brickwork`
/// binary has: the engine allocates and frees a block buffer per task.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The extension module.
#[pymodule]
fn _brickwork(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<array::PyArr>()?;
    m.add_class::<run::Options>()?;
    m.add_function(wrap_pyfunction!(array::from_numpy, m)?)?;
    m.add_function(wrap_pyfunction!(array::from_zarr, m)?)?;
    m.add_function(wrap_pyfunction!(array::random, m)?)?;
    m.add_function(wrap_pyfunction!(array::full, m)?)?;
    m.add_function(wrap_pyfunction!(array::arange, m)?)?;
    m.add_function(wrap_pyfunction!(array::linspace, m)?)?;
    m.add_function(wrap_pyfunction!(array::concatenate, m)?)?;
    m.add_function(wrap_pyfunction!(array::stack, m)?)?;
    m.add_function(wrap_pyfunction!(array::where_, m)?)?;
    m.add_function(wrap_pyfunction!(array::compute_many, m)?)?;
    m.add_function(wrap_pyfunction!(array::parse_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(kernel::map_blocks, m)?)?;
    m.add_function(wrap_pyfunction!(call::functions, m)?)?;
    m.add_function(wrap_pyfunction!(call::call, m)?)?;
    m.add_function(wrap_pyfunction!(call::getitem, m)?)?;
    Ok(())
}
