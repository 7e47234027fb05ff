//! The core's one function table from Python: `functions()` lists it, `call(name, ...)`
//! runs one of its functions, `Array.getitem` indexes as NumPy does.
//!
//! The Python package builds its array API namespace from `functions()` (each function with
//! the table's signature), so every function of the expression language is reachable from
//! Python under the same name, with the same parameters, defaults and behaviour, and none is
//! listed by hand. Arguments are converted to the language's values
//! ([`brickwork::parse::Value`]): brickwork arrays, Python bools, ints, floats, strings
//! (dtype names), `None`, and tuples or lists of these; results back the same way, a record
//! (`finfo`, `iinfo`) as a dict. Calls run through [`crate::run::run`]: a few compute while
//! calling (the count of a boolean selection, index arrays, `unique`), with the GIL
//! released and Ctrl-C.

use brickwork::parse::{self, IndexItem, Value};
use brickwork::{NumpyIndex, Scalar};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PySlice, PyString, PyTuple};

use crate::array::{PyArr, scalar};
use crate::run::{Options, run};

/// A Python value as a value of the language.
fn to_value(v: &Bound<'_, PyAny>) -> PyResult<Value> {
    if v.is_none() {
        return Ok(Value::None);
    }
    if let Ok(a) = v.cast::<PyArr>() {
        return Ok(Value::Array(a.get().a.clone()));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Value::Str(s.to_str()?.to_string()));
    }
    if let Ok(t) = v.cast::<PyTuple>() {
        return t
            .iter()
            .map(|i| to_value(&i))
            .collect::<PyResult<_>>()
            .map(Value::Tuple);
    }
    if let Ok(l) = v.cast::<PyList>() {
        return l
            .iter()
            .map(|i| to_value(&i))
            .collect::<PyResult<_>>()
            .map(Value::Tuple);
    }
    scalar(v).map(Value::Scalar).map_err(|_| {
        let type_name = v
            .get_type()
            .name()
            .map_or_else(|_| "?".to_string(), |n| n.to_string());
        PyTypeError::new_err(format!(
            "expected a brickwork array, a number, a string, None or a tuple of these; got \
             {type_name}"
        ))
    })
}

/// A value of the language as a Python value (a record as a dict with its `kind`).
fn from_value(py: Python<'_>, v: Value) -> PyResult<Py<PyAny>> {
    Ok(match v {
        Value::Array(a) => Py::new(py, PyArr::from(a))?.into_any(),
        Value::Scalar(Scalar::Bool(b)) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Scalar(Scalar::Int(i)) => i.into_pyobject(py)?.into_any().unbind(),
        Value::Scalar(Scalar::Float(x)) => x.into_pyobject(py)?.into_any().unbind(),
        Value::Scalar(Scalar::Complex(re, im)) => pyo3::types::PyComplex::from_doubles(py, re, im)
            .into_any()
            .unbind(),
        Value::Str(s) => s.into_pyobject(py)?.into_any().unbind(),
        Value::None => py.None(),
        Value::Tuple(items) => {
            let items = items
                .into_iter()
                .map(|i| from_value(py, i))
                .collect::<PyResult<Vec<_>>>()?;
            PyTuple::new(py, items)?.into_any().unbind()
        }
        Value::Record { kind, fields } => {
            let d = PyDict::new(py);
            d.set_item("kind", kind)?;
            for (name, value) in fields {
                d.set_item(name, from_value(py, value)?)?;
            }
            d.into_any().unbind()
        }
    })
}

/// A parameter as Python receives it: `(name, default or None, kind)`.
type ParamRow = (&'static str, Option<&'static str>, &'static str);

/// A function as Python receives it: `(name, params, method, doc, section)`.
type FunctionRow = (
    &'static str,
    Vec<ParamRow>,
    bool,
    &'static str,
    &'static str,
);

/// The functions of the core's table: `(name, params, method, doc, section)`, each
/// parameter `(name, default or None, kind)` with kind `positional`, `keyword` or `var`.
#[pyfunction]
pub(crate) fn functions() -> Vec<FunctionRow> {
    parse::functions()
        .into_iter()
        .map(|f| {
            let params = f
                .params
                .iter()
                .map(|p| {
                    let kind = match p.kind {
                        parse::ParamKind::PositionalOrKeyword => "positional",
                        parse::ParamKind::KeywordOnly => "keyword",
                        parse::ParamKind::VarPositional => "var",
                    };
                    (p.name, p.default, kind)
                })
                .collect();
            (f.name, params, f.method, f.doc, f.section)
        })
        .collect()
}

/// The table's function `name` with positional `args` and keyword `kwargs`.
#[pyfunction]
#[pyo3(signature = (name, args, kwargs, opts))]
pub(crate) fn call(
    py: Python<'_>,
    name: &str,
    args: Vec<Bound<'_, PyAny>>,
    kwargs: Vec<(String, Bound<'_, PyAny>)>,
    opts: &Options,
) -> PyResult<Py<PyAny>> {
    let args = args.iter().map(to_value).collect::<PyResult<Vec<_>>>()?;
    let kwargs = kwargs
        .iter()
        .map(|(k, v)| Ok((k.clone(), to_value(v)?)))
        .collect::<PyResult<Vec<_>>>()?;
    let result = run(py, &opts.opts, |o| parse::call(name, args, kwargs, o))?;
    from_value(py, result)
}

/// One item of a Python index (`slice`, int, `None`, array, list) as the core's.
fn index_item(item: &Bound<'_, PyAny>) -> PyResult<IndexItem> {
    if let Ok(s) = item.cast::<PySlice>() {
        let part = |name: &str| -> PyResult<Option<isize>> { s.getattr(name)?.extract() };
        return Ok(IndexItem::Slice(NumpyIndex::Slice {
            start: part("start")?,
            stop: part("stop")?,
            step: part("step")?,
        }));
    }
    to_value(item).map(IndexItem::Value)
}

/// `x[items]` as NumPy indexes (see [`parse::index`]); an ellipsis is expanded by the
/// caller.
#[pyfunction]
pub(crate) fn getitem(
    py: Python<'_>,
    x: PyRef<'_, PyArr>,
    items: Vec<Bound<'_, PyAny>>,
    opts: &Options,
) -> PyResult<PyArr> {
    let items = items.iter().map(index_item).collect::<PyResult<Vec<_>>>()?;
    let x = x.a.clone();
    run(py, &opts.opts, |o| parse::index(&x, items, o)).map(PyArr::from)
}
