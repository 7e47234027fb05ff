//! The lazy array handle (`brickwork._brickwork.Array`) and the functions that make one.
//!
//! Each method converts its arguments and makes one call into `brickwork::Array`; names
//! are NumPy's (`add`, `true_divide`, `sqrt`, ...) so that the Python package can forward
//! operators and ufuncs by name. Nothing here computes except `compute`, `to_zarr` and
//! [`compute_many`], which run through [`crate::run::run`] (GIL released, Ctrl-C).

use brickwork::{
    Array, AxisChunks, BinaryOp, ChunkGrid, Codec, ReadOptions, ReduceOp, ReduceOptions, Scalar,
    StorageOptions, UnaryOp, WriteOptions, store::ZarrFormat,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PySlice};

use crate::error::IntoPy;
use crate::numpy::{NumpySource, dtype_of_name, to_numpy};
use crate::run::{Options, run};

/// A lazy, chunked n-dimensional array (wrapped by `brickwork.array.Array`).
#[pyclass(name = "Array", module = "brickwork._brickwork", frozen)]
pub(crate) struct PyArr {
    pub(crate) a: Array,
}

impl From<Array> for PyArr {
    fn from(a: Array) -> Self {
        PyArr { a }
    }
}

/// `Ok(PyArr)` of a library result.
fn wrap(r: brickwork::Result<Array>) -> PyResult<PyArr> {
    r.py().map(PyArr::from)
}

/// A Python bool, int, float or complex as a brickwork scalar.
pub(crate) fn scalar(v: &Bound<'_, PyAny>) -> PyResult<Scalar> {
    if v.is_instance_of::<PyBool>() {
        Ok(Scalar::Bool(v.extract()?))
    } else if v.is_instance_of::<PyInt>() {
        Ok(Scalar::Int(v.extract().map_err(|_| {
            PyValueError::new_err(format!("integer {v} does not fit in int64"))
        })?))
    } else if v.is_instance_of::<PyFloat>() {
        Ok(Scalar::Float(v.extract()?))
    } else if let Ok(c) = v.cast::<pyo3::types::PyComplex>() {
        Ok(Scalar::Complex(c.real(), c.imag()))
    } else {
        Err(PyTypeError::new_err(format!(
            "expected a bool, int, float or complex scalar, got {}",
            v.get_type().name()?
        )))
    }
}

/// NumPy's name of a binary ufunc as brickwork's operator.
fn binary_op(name: &str) -> PyResult<BinaryOp> {
    Ok(match name {
        "add" => BinaryOp::Add,
        "subtract" => BinaryOp::Sub,
        "multiply" => BinaryOp::Mul,
        "true_divide" | "divide" => BinaryOp::Div,
        "floor_divide" => BinaryOp::FloorDiv,
        "remainder" | "mod" => BinaryOp::Rem,
        "power" | "pow" => BinaryOp::Pow,
        "equal" => BinaryOp::Eq,
        "not_equal" => BinaryOp::Ne,
        "less" => BinaryOp::Lt,
        "less_equal" => BinaryOp::Le,
        "greater" => BinaryOp::Gt,
        "greater_equal" => BinaryOp::Ge,
        "bitwise_and" | "logical_and" => BinaryOp::And,
        "bitwise_or" | "logical_or" => BinaryOp::Or,
        "bitwise_xor" | "logical_xor" => BinaryOp::Xor,
        "minimum" => BinaryOp::Minimum,
        "maximum" => BinaryOp::Maximum,
        "arctan2" => BinaryOp::Arctan2,
        "hypot" => BinaryOp::Hypot,
        other => {
            return Err(PyTypeError::new_err(format!(
                "brickwork has no binary operation {other:?}"
            )));
        }
    })
}

/// NumPy's name of a unary ufunc applied to `a`.
fn unary(a: &Array, name: &str) -> PyResult<Array> {
    let op = match name {
        "negative" => UnaryOp::Neg,
        "absolute" | "abs" | "fabs" => UnaryOp::Abs,
        "sqrt" => UnaryOp::Sqrt,
        "exp" => UnaryOp::Exp,
        "log" => UnaryOp::Log,
        "sin" => UnaryOp::Sin,
        "cos" => UnaryOp::Cos,
        "tan" => UnaryOp::Tan,
        "arcsin" => UnaryOp::Arcsin,
        "arccos" => UnaryOp::Arccos,
        "arctan" => UnaryOp::Arctan,
        "sinh" => UnaryOp::Sinh,
        "cosh" => UnaryOp::Cosh,
        "tanh" => UnaryOp::Tanh,
        "rint" => UnaryOp::Rint,
        "floor" => UnaryOp::Floor,
        "ceil" => UnaryOp::Ceil,
        "trunc" => UnaryOp::Trunc,
        "sign" => UnaryOp::Sign,
        "isnan" => UnaryOp::IsNan,
        "isinf" => UnaryOp::IsInf,
        "isfinite" => UnaryOp::IsFinite,
        "invert" | "logical_not" | "bitwise_not" => UnaryOp::Not,
        "real" => UnaryOp::Real,
        "imag" => UnaryOp::Imag,
        "conj" | "conjugate" => UnaryOp::Conj,
        "angle" => UnaryOp::Angle,
        "log10" => return a.log10().py(),
        "log2" => return a.log2().py(),
        "log1p" => return a.ln_1p().py(),
        "expm1" => return a.exp_m1().py(),
        "positive" => return Ok(a.clone()),
        other => {
            return Err(PyTypeError::new_err(format!(
                "brickwork has no unary operation {other:?}"
            )));
        }
    };
    a.unary(op).py()
}

/// A reduction's name as brickwork's.
fn reduce_op(name: &str) -> PyResult<ReduceOp> {
    Ok(match name {
        "sum" => ReduceOp::Sum,
        "prod" => ReduceOp::Prod,
        "min" => ReduceOp::Min,
        "max" => ReduceOp::Max,
        "mean" => ReduceOp::Mean,
        "var" => ReduceOp::Var,
        "std" => ReduceOp::Std,
        other => {
            return Err(PyValueError::new_err(format!(
                "brickwork has no reduction {other:?}"
            )));
        }
    })
}

/// One index item (a Python int or slice) as brickwork's NumPy index.
fn index_item(item: &Bound<'_, PyAny>) -> PyResult<brickwork::NumpyIndex> {
    if let Ok(s) = item.cast::<PySlice>() {
        let part = |name: &str| -> PyResult<Option<isize>> { s.getattr(name)?.extract() };
        return Ok(brickwork::NumpyIndex::Slice {
            start: part("start")?,
            stop: part("stop")?,
            step: part("step")?,
        });
    }
    Ok(brickwork::NumpyIndex::Int(item.extract()?))
}

#[pymethods]
impl PyArr {
    /// The shape.
    #[getter]
    fn shape(&self) -> PyResult<Vec<usize>> {
        self.a.try_shape().py()
    }

    /// NumPy's name of the dtype (`float64`, ...).
    #[getter]
    fn dtype(&self) -> PyResult<&'static str> {
        Ok(self.a.try_dtype().py()?.name())
    }

    /// The chunk sizes along each axis (dask's `.chunks`).
    #[getter]
    fn chunks(&self) -> PyResult<Vec<Vec<usize>>> {
        Ok(self
            .a
            .chunks()
            .py()?
            .axes()
            .iter()
            .map(AxisChunks::sizes)
            .collect())
    }

    /// Bytes of the whole array.
    #[getter]
    fn nbytes(&self) -> u64 {
        self.a.nbytes()
    }

    /// The operation that makes this array (`random`, `add`, `mean`, ...).
    #[getter]
    fn name(&self) -> PyResult<String> {
        Ok(self.a.expr().py()?.op_name().to_string())
    }

    /// Tasks before and after culling and fusion, and stages: `(before, after, stages)`.
    fn task_counts(&self) -> PyResult<(u64, u64, usize)> {
        let c = self.a.task_counts().py()?;
        Ok((c.before, c.after, c.stages))
    }

    /// The plan, as text.
    fn explain(&self, opts: &Options) -> PyResult<String> {
        self.a.explain_with(&opts.opts).py()
    }

    /// Writes the task graph to `path` (DOT, or SVG for `.svg` when Graphviz is installed).
    fn visualize(&self, path: &str) -> PyResult<()> {
        self.a.visualize(path).py()
    }

    fn __str__(&self) -> String {
        self.a.to_string()
    }

    /// NumPy's binary ufunc `op` with another array.
    fn binary(&self, op: &str, other: PyRef<'_, PyArr>) -> PyResult<PyArr> {
        wrap(self.a.binary(binary_op(op)?, &other.a))
    }

    /// NumPy's binary ufunc `op` with a Python scalar, first operand when `reflected`.
    fn binary_scalar(
        &self,
        op: &str,
        value: &Bound<'_, PyAny>,
        reflected: bool,
    ) -> PyResult<PyArr> {
        wrap(
            self.a
                .binary_scalar(binary_op(op)?, scalar(value)?, reflected),
        )
    }

    /// NumPy's unary ufunc `op`.
    fn unary(&self, op: &str) -> PyResult<PyArr> {
        unary(&self.a, op).map(PyArr::from)
    }

    /// Converted to `dtype`.
    fn astype(&self, dtype: &str) -> PyResult<PyArr> {
        wrap(self.a.astype(dtype_of_name(dtype)?))
    }

    /// Rounded to `decimals`.
    fn round(&self, decimals: i32) -> PyResult<PyArr> {
        wrap(self.a.round(decimals))
    }

    /// The reduction `op` over `axes` (all when `None`).
    #[pyo3(signature = (op, axes=None, keepdims=false, ddof=0.0, split_every=None))]
    fn reduce(
        &self,
        op: &str,
        axes: Option<Vec<isize>>,
        keepdims: bool,
        ddof: f64,
        split_every: Option<usize>,
    ) -> PyResult<PyArr> {
        let opts = ReduceOptions {
            keepdims,
            ddof,
            split_every: split_every.unwrap_or(ReduceOptions::default().split_every),
        };
        wrap(self.a.reduce(reduce_op(op)?, axes.as_deref(), &opts))
    }

    /// `any` or `all` over `axes`.
    fn logical_reduce(
        &self,
        op: &str,
        axes: Option<Vec<isize>>,
        keepdims: bool,
    ) -> PyResult<PyArr> {
        match op {
            "any" => wrap(self.a.any(axes.as_deref(), keepdims)),
            _ => wrap(self.a.all(axes.as_deref(), keepdims)),
        }
    }

    /// `argmax` or `argmin` along `axis` (of the flattened array when `None`).
    fn arg_reduce(&self, op: &str, axis: Option<isize>, keepdims: bool) -> PyResult<PyArr> {
        match op {
            "argmax" => wrap(self.a.argmax(axis, keepdims)),
            _ => wrap(self.a.argmin(axis, keepdims)),
        }
    }

    /// `cumsum` or `cumprod` along `axis`.
    fn cumulative(&self, op: &str, axis: isize) -> PyResult<PyArr> {
        match op {
            "cumsum" => wrap(self.a.cumsum(axis)),
            _ => wrap(self.a.cumprod(axis)),
        }
    }

    /// Indexed by Python ints and slices, one per leading axis.
    fn index(&self, items: Vec<Bound<'_, PyAny>>) -> PyResult<PyArr> {
        let index = items.iter().map(index_item).collect::<PyResult<Vec<_>>>()?;
        wrap(self.a.index_numpy(&index))
    }

    /// The array with the elements at the flat positions `flat` replaced by `values` (one
    /// per position; the last of equal positions wins): `x[key] = values`'s scatter.
    fn scatter(&self, flat: Vec<i64>, values: PyRef<'_, PyArr>) -> PyResult<PyArr> {
        wrap(self.a.scatter_flat(&flat, &values.a))
    }

    /// Elements at `indices` along `axis` (NumPy's `take`).
    fn take(&self, indices: Vec<i64>, axis: isize) -> PyResult<PyArr> {
        wrap(self.a.take(&indices, axis))
    }

    /// The axes permuted (reversed when `None`).
    #[pyo3(signature = (axes=None))]
    fn transpose(&self, axes: Option<Vec<usize>>) -> PyResult<PyArr> {
        match axes {
            Some(perm) => wrap(self.a.permuted_axes(&perm)),
            None => Ok(self.a.t().into()),
        }
    }

    /// Rechunked to the given chunk sizes per axis.
    fn rechunk(&self, chunks: Vec<Vec<usize>>) -> PyResult<PyArr> {
        let axes = chunks.iter().map(|c| AxisChunks::from_sizes(c)).collect();
        wrap(self.a.rechunk_grid(ChunkGrid::from_axes(axes)))
    }

    /// Reshaped (one `-1` allowed).
    fn reshape(&self, shape: Vec<isize>) -> PyResult<PyArr> {
        wrap(self.a.reshape(&shape))
    }

    /// Flattened.
    fn ravel(&self) -> PyResult<PyArr> {
        wrap(self.a.ravel())
    }

    /// Length-1 axes removed (those of `axes`, or all).
    #[pyo3(signature = (axes=None))]
    fn squeeze(&self, axes: Option<Vec<isize>>) -> PyResult<PyArr> {
        wrap(self.a.squeeze(axes.as_deref()))
    }

    /// A new length-1 axis at `axis`.
    fn expand_dims(&self, axis: isize) -> PyResult<PyArr> {
        wrap(self.a.expand_dims(axis))
    }

    /// Broadcast to `shape`.
    fn broadcast_to(&self, shape: Vec<usize>) -> PyResult<PyArr> {
        wrap(self.a.broadcast_to(&shape))
    }

    /// Reversed along `axis`.
    fn flip(&self, axis: isize) -> PyResult<PyArr> {
        wrap(self.a.flip(axis))
    }

    /// Axis `source` moved to `destination`.
    fn moveaxis(&self, source: isize, destination: isize) -> PyResult<PyArr> {
        wrap(self.a.moveaxis(source, destination))
    }

    /// The matrix product (NumPy's `matmul`).
    fn matmul(&self, other: PyRef<'_, PyArr>) -> PyResult<PyArr> {
        wrap(self.a.matmul(&other.a))
    }

    /// NumPy's `dot`.
    fn dot(&self, other: PyRef<'_, PyArr>) -> PyResult<PyArr> {
        wrap(self.a.dot(&other.a))
    }

    /// The `q`-quantile along `axis`.
    fn quantile(&self, q: f64, axis: isize) -> PyResult<PyArr> {
        wrap(self.a.quantile(q, axis))
    }

    /// NaN and infinities replaced.
    #[pyo3(signature = (nan=0.0, posinf=None, neginf=None))]
    fn nan_to_num(&self, nan: f64, posinf: Option<f64>, neginf: Option<f64>) -> PyResult<PyArr> {
        wrap(self.a.nan_to_num(nan, posinf, neginf))
    }

    /// Computes the array into a NumPy array (which takes over the result's buffer).
    fn compute<'py>(&self, py: Python<'py>, opts: &Options) -> PyResult<Bound<'py, PyAny>> {
        let a = &self.a;
        let block = run(py, &opts.opts, |o| a.compute_with(o).map(|(b, _)| b))?;
        Ok(to_numpy(py, block))
    }

    /// Computes the array once and keeps it ([`Array::persist_with`]): in memory when small
    /// next to the memory limit, else in a temporary store removed with the last array
    /// reading it.
    fn persist(&self, py: Python<'_>, opts: &Options) -> PyResult<PyArr> {
        let a = &self.a;
        let kept = run(py, &opts.opts, |o| a.persist_with(o).map(|(k, _)| k))?;
        Ok(PyArr::from(kept))
    }

    /// Writes the array to a Zarr store at `path` (a directory or an object-store URL, whose
    /// store takes `storage_options`).
    #[pyo3(signature = (path, opts, chunks=None, codec=None, overwrite=false, zarr_format=3, shards=None, storage_options=None))]
    #[allow(clippy::too_many_arguments)]
    fn to_zarr(
        &self,
        py: Python<'_>,
        path: &str,
        opts: &Options,
        chunks: Option<Vec<usize>>,
        codec: Option<&str>,
        overwrite: bool,
        zarr_format: u8,
        shards: Option<Vec<usize>>,
        storage_options: Option<Vec<(String, Bound<'_, PyAny>)>>,
    ) -> PyResult<()> {
        let write = WriteOptions {
            storage: self::storage_options(storage_options)?,
            chunks,
            codec: match codec {
                Some(c) => Codec::parse(c).py()?,
                None => WriteOptions::default().codec,
            },
            zarr_format: match zarr_format {
                2 => ZarrFormat::V2,
                3 => ZarrFormat::V3,
                other => {
                    return Err(PyValueError::new_err(format!(
                        "zarr_format must be 2 or 3, got {other}"
                    )));
                }
            },
            shards,
            overwrite,
            ..WriteOptions::default()
        };
        let a = &self.a;
        run(py, &opts.opts, |o| a.to_zarr_with(path, &write, o)).map(drop)
    }
}

/// A brickwork array over a C-contiguous NumPy array (no copy), in chunks of `chunks`.
#[pyfunction]
pub(crate) fn from_numpy(
    array: &Bound<'_, numpy::PyUntypedArray>,
    chunks: Vec<usize>,
) -> PyResult<PyArr> {
    let source = NumpySource::new(array, &chunks)?;
    Ok(Array::from_source(std::sync::Arc::new(source)).into())
}

/// The object store's options (`storage_options=`, fsspec's name) as the core's: every
/// value as text (`True` as `true`, numbers as written).
fn storage_options(options: Option<Vec<(String, Bound<'_, PyAny>)>>) -> PyResult<StorageOptions> {
    let mut out = StorageOptions::new();
    for (key, value) in options.unwrap_or_default() {
        let text = if value.is_instance_of::<PyBool>() {
            value.extract::<bool>()?.to_string()
        } else {
            value.str()?.to_string()
        };
        out.set(key, text);
    }
    Ok(out)
}

/// Opens the Zarr array at `path` (a directory or an object-store URL, whose store takes
/// `storage_options`).
#[pyfunction]
#[pyo3(signature = (path, storage_options=None))]
pub(crate) fn from_zarr(
    path: &str,
    storage_options: Option<Vec<(String, Bound<'_, PyAny>)>>,
) -> PyResult<PyArr> {
    let read = ReadOptions {
        storage: self::storage_options(storage_options)?,
        ..ReadOptions::default()
    };
    wrap(Array::from_zarr_with(path, &read))
}

/// A seeded random array of the distribution `kind` (`random`, `normal`, `uniform`,
/// `exponential`, `poisson`, `binomial`, `integers`) with its parameters `a` and `b`.
#[pyfunction]
#[pyo3(signature = (kind, shape, chunks, seed, a=0.0, b=1.0))]
pub(crate) fn random(
    kind: &str,
    shape: Vec<usize>,
    chunks: Vec<usize>,
    seed: u64,
    a: f64,
    b: f64,
) -> PyResult<PyArr> {
    let (s, c) = (&shape[..], &chunks[..]);
    wrap(match kind {
        "random" => Array::random(s, c, seed),
        "normal" => Array::random_normal(s, c, seed, a, b),
        "uniform" => Array::uniform(s, c, seed, a, b),
        "exponential" => Array::exponential(s, c, seed, a),
        "poisson" => Array::poisson(s, c, seed, a),
        "binomial" => Array::binomial(s, c, seed, a as u64, b),
        "integers" => Array::integers(s, c, seed, a as i64, b as i64),
        other => {
            return Err(PyValueError::new_err(format!(
                "brickwork has no random distribution {other:?}"
            )));
        }
    })
}

/// An array of `shape` filled with `value` as `dtype`.
#[pyfunction]
pub(crate) fn full(
    shape: Vec<usize>,
    chunks: Vec<usize>,
    value: &Bound<'_, PyAny>,
    dtype: &str,
) -> PyResult<PyArr> {
    wrap(Array::full(
        &shape,
        &chunks,
        scalar(value)?,
        dtype_of_name(dtype)?,
    ))
}

/// NumPy's `arange`.
#[pyfunction]
pub(crate) fn arange(
    start: &Bound<'_, PyAny>,
    stop: &Bound<'_, PyAny>,
    step: &Bound<'_, PyAny>,
    chunk: usize,
) -> PyResult<PyArr> {
    wrap(Array::arange(
        scalar(start)?,
        scalar(stop)?,
        scalar(step)?,
        chunk,
    ))
}

/// NumPy's `linspace`.
#[pyfunction]
pub(crate) fn linspace(
    start: f64,
    stop: f64,
    num: usize,
    endpoint: bool,
    chunk: usize,
) -> PyResult<PyArr> {
    wrap(Array::linspace(start, stop, num, endpoint, chunk))
}

/// The arrays joined along `axis`.
#[pyfunction]
pub(crate) fn concatenate(arrays: Vec<PyRef<'_, PyArr>>, axis: isize) -> PyResult<PyArr> {
    let refs: Vec<&Array> = arrays.iter().map(|a| &a.a).collect();
    wrap(Array::concatenate(&refs, axis))
}

/// The arrays stacked along a new axis `axis`.
#[pyfunction]
pub(crate) fn stack(arrays: Vec<PyRef<'_, PyArr>>, axis: isize) -> PyResult<PyArr> {
    let refs: Vec<&Array> = arrays.iter().map(|a| &a.a).collect();
    wrap(Array::stack(&refs, axis))
}

/// NumPy's `where(cond, x, y)`.
#[pyfunction]
#[pyo3(name = "where")]
pub(crate) fn where_(
    cond: PyRef<'_, PyArr>,
    x: PyRef<'_, PyArr>,
    y: PyRef<'_, PyArr>,
) -> PyResult<PyArr> {
    wrap(Array::where_(&cond.a, &x.a, &y.a))
}

/// Computes several arrays in one pass (what they share is computed once).
#[pyfunction]
pub(crate) fn compute_many<'py>(
    py: Python<'py>,
    arrays: Vec<PyRef<'py, PyArr>>,
    opts: &Options,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let owned: Vec<Array> = arrays.iter().map(|a| a.a.clone()).collect();
    let blocks = run(py, &opts.opts, |o| {
        let refs: Vec<&Array> = owned.iter().collect();
        brickwork::compute_many(&refs, o).map(|(b, _)| b)
    })?;
    Ok(blocks.into_iter().map(|b| to_numpy(py, b)).collect())
}

/// Bytes of a size text (`2GB`, `512MiB`, `1e9`).
#[pyfunction]
pub(crate) fn parse_bytes(text: &str) -> PyResult<u64> {
    brickwork::units::parse_bytes(text).map_err(|e| PyValueError::new_err(e.to_string()))
}
