"""``brickwork.array`` as an array API namespace (the 2024.12 standard), built over the
core's one function table.

Every function of the expression language's table (``brickwork::parse::functions()``, the
list ``brickwork eval --help`` prints) becomes a Python function here, with the table's name,
signature and defaults (``inspect.signature`` shows them) and its one line of
documentation; calling it runs the core's own binder and implementation
(``brickwork::parse::call``), so nothing is listed or re-implemented by hand and a function
added to the table is reachable from Python at once. Names with a dot (``linalg.norm``) go
to the ``linalg`` submodule.

What the table cannot describe is added here: the dtype objects (NumPy's dtypes, which is
what ``Array.dtype`` gives), ``isdtype``, ``astype(x, dtype, copy=, device=)``,
``finfo``/``iinfo`` objects, ``__array_namespace_info__``, ``__array_api_version__``.

``brickwork.array``'s dask-style functions of the same names (``sum``, ``zeros``,
``concatenate``, ...) stay what the module exports, with a signature that takes the
standard's arguments too; ``TABLE`` holds the table's version of each name.
"""

from __future__ import annotations

import ast
import collections
import inspect
import numbers
import sys
import types

import numpy as np

from brickwork import _brickwork, _config
from brickwork.array import core

__array_api_version__ = "2024.12"

_KINDS = {
    "positional": inspect.Parameter.POSITIONAL_OR_KEYWORD,
    "keyword": inspect.Parameter.KEYWORD_ONLY,
    "var": inspect.Parameter.VAR_POSITIONAL,
}

# --------------------------------------------------------------------------- dtypes

DTYPE_NAMES = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float32", "float64", "complex64", "complex128",
)
DTYPES = {name: np.dtype(name) for name in DTYPE_NAMES}


def _dtype_arg(v):
    """A dtype given as a NumPy dtype, a scalar type (``np.float32``, ``float``) or a name,
    as the core's name; anything else as it is."""
    if isinstance(v, np.dtype):
        return v.name
    if isinstance(v, type) and (issubclass(v, np.generic) or v in (bool, int, float)):
        return np.dtype(v).name
    return v


def _arg(v):
    """A Python argument as the core's value: arrays as handles, NumPy arrays as brickwork
    arrays (one chunk), NumPy scalars as Python numbers, dtypes as names, sequences as
    tuples."""
    if isinstance(v, core.Array):
        return v._a
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.item() if v.ndim == 0 else core.from_array(v, chunks=-1)._a
    if isinstance(v, (list, tuple)):
        return tuple(_arg(i) for i in v)
    if isinstance(v, (np.dtype, type)):
        return _dtype_arg(v)
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    raise TypeError(f"brickwork cannot take an argument of type {type(v).__name__}")


class _Info:
    """``finfo``/``iinfo``'s result: the limits of a dtype as attributes."""

    def __init__(self, fields: dict):
        kind = fields.pop("kind")
        for key, value in fields.items():
            setattr(self, key, np.dtype(value) if key == "dtype" else value)
        self._kind = kind

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{self._kind}({fields})"


QRResult = collections.namedtuple("QRResult", ["Q", "R"])
SVDResult = collections.namedtuple("SVDResult", ["U", "S", "Vh"])
SlogdetResult = collections.namedtuple("SlogdetResult", ["sign", "logabsdet"])
EighResult = collections.namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
UniqueAllResult = collections.namedtuple(
    "UniqueAllResult", ["values", "indices", "inverse_indices", "counts"]
)
UniqueCountsResult = collections.namedtuple("UniqueCountsResult", ["values", "counts"])
UniqueInverseResult = collections.namedtuple("UniqueInverseResult", ["values", "inverse_indices"])
_NAMED = {
    "unique_all": UniqueAllResult,
    "unique_counts": UniqueCountsResult,
    "unique_inverse": UniqueInverseResult,
    "qr": QRResult,
    "linalg.qr": QRResult,
    "svd": SVDResult,
    "linalg.svd": SVDResult,
    "slogdet": SlogdetResult,
    "linalg.slogdet": SlogdetResult,
    "eigh": EighResult,
    "linalg.eigh": EighResult,
}


def _result(v, name):
    """The core's result as Python's: handles as arrays, records as attribute objects, the
    factorizations as the standard's named tuples."""
    if isinstance(v, _brickwork.Array):
        return core.Array(v)
    if isinstance(v, tuple):
        items = tuple(_result(i, name) for i in v)
        named = _NAMED.get(name)
        return named(*items) if named and len(items) == len(named._fields) else items
    if isinstance(v, dict):
        return _Info(v)
    if name == "result_type" and isinstance(v, str):
        return np.dtype(v)
    return v


def call(name: str, *args, **kwargs):
    """The core table's function ``name`` on ``args`` and ``kwargs`` (what every generated
    function runs)."""
    pos = [_arg(a) for a in args]
    kw = [(k, _arg(v)) for k, v in kwargs.items()]
    return _result(_brickwork.call(name, pos, kw, _config.options()), name)


def _signature(params) -> inspect.Signature:
    out = []
    for pname, default, kind in params:
        value = inspect.Parameter.empty if default is None else ast.literal_eval(default)
        out.append(inspect.Parameter(pname, _KINDS[kind], default=value))
    return inspect.Signature(out)


def _function(name, params, doc, section):
    short = name.rsplit(".", 1)[-1]
    signature = _signature(params)

    def f(*args, **kwargs):
        signature.bind(*args, **kwargs)  # a TypeError naming what does not bind
        return call(name, *args, **kwargs)

    f.__name__ = f.__qualname__ = short
    f.__signature__ = signature
    f.__doc__ = f"{doc[:1].upper()}{doc[1:]}.\n\n(brickwork's table: {section}; lazy.)"
    f.__module__ = "brickwork.array" + ("." + name.rsplit(".", 1)[0] if "." in name else "")
    return f


TABLE: dict = {}
"""Every function of the core's table, by its (dotted) name."""
METHODS: set = set()
for _name, _params, _method, _doc, _section in _brickwork.functions():
    TABLE[_name] = _function(_name, _params, _doc, _section)
    if _method:
        METHODS.add(_name)

def _extension(prefix: str, doc: str) -> types.ModuleType:
    """The module ``brickwork.array.<prefix>`` of the table's ``<prefix>.*`` functions."""
    module = types.ModuleType(f"brickwork.array.{prefix}", doc)
    for name, f in TABLE.items():
        if name.startswith(prefix + "."):
            setattr(module, name.split(".", 1)[1], f)
    module.__all__ = sorted(n for n in vars(module) if not n.startswith("_"))
    sys.modules[f"brickwork.array.{prefix}"] = module
    return module


linalg = _extension(
    "linalg",
    "The array API's linalg extension over brickwork arrays (the core table's linalg.* "
    "functions).",
)
fft = _extension(
    "fft",
    "The array API's fft extension (numpy.fft's names) over brickwork arrays: transforms "
    "along axes that span several chunks too (rechunked within the memory limit).",
)


# --------------------------------------------------------------------------- data types


def astype(x, dtype, /, *, copy=True, device=None):
    """``x`` converted to ``dtype`` (lazily); ``copy`` and ``device`` are accepted (brickwork
    arrays are immutable and on the CPU)."""
    return core.asarray(x).astype(dtype)


def _as_dtype(t):
    if isinstance(t, core.Array):
        return t.dtype
    return np.dtype(_dtype_arg(t))


def finfo(type, /):  # noqa: A002  (the standard's name)
    """The limits of a float dtype (or of an array's): ``bits eps max min smallest_normal
    dtype``."""
    d = _as_dtype(type)
    # A complex dtype's limits are those of its parts (NumPy's and the standard's finfo).
    return TABLE["finfo"](np.dtype(np.finfo(d).dtype).name if d.kind == "c" else d.name)


def iinfo(type, /):  # noqa: A002
    """The limits of an integer dtype (or of an array's): ``bits max min dtype``."""
    dtype = _as_dtype(type)
    info = TABLE["iinfo"](dtype.name)
    if dtype == np.uint64:  # beyond the core's int64 scalars
        info.max = int(np.iinfo(np.uint64).max)
    return info


def result_type(*arrays_and_dtypes):
    """The dtype NumPy 2's promotion gives the arrays, dtypes and Python scalars."""
    return TABLE["result_type"](*arrays_and_dtypes)


def can_cast(from_, to, /):
    """Whether ``from_`` (a dtype or an array) casts to ``to`` safely."""
    return TABLE["can_cast"](_as_dtype(from_).name, _as_dtype(to).name)


_KIND_TESTS = {
    "bool": lambda d: d.kind == "b",
    "signed integer": lambda d: d.kind == "i",
    "unsigned integer": lambda d: d.kind == "u",
    "integral": lambda d: d.kind in "iu",
    "real floating": lambda d: d.kind == "f",
    "complex floating": lambda d: d.kind == "c",
    "numeric": lambda d: d.kind in "iufc",
}


def isdtype(dtype, kind):
    """Whether ``dtype`` is of ``kind``: a dtype, a kind name ('bool', 'signed integer',
    'unsigned integer', 'integral', 'real floating', 'complex floating', 'numeric'), or a
    tuple of these."""
    if not isinstance(dtype, np.dtype):
        raise TypeError(f"isdtype() takes a dtype, got {type(dtype).__name__}")
    if isinstance(kind, tuple):
        return builtin_any(isdtype(dtype, k) for k in kind)
    if isinstance(kind, str):
        try:
            return _KIND_TESTS[kind](dtype)
        except KeyError:
            raise ValueError(f"unknown dtype kind {kind!r}; kinds: {sorted(_KIND_TESTS)}") from None
    return dtype == np.dtype(_dtype_arg(kind))


builtin_any = any


# --------------------------------------------------------------------------- the standard's forms
# Where the standard's signature has more than the table's function (a dtype= to convert
# first, another argument to fold in), a wrapper over the table's function.


def meshgrid(*arrays, indexing="xy"):
    """Coordinate matrices from 1-d arrays (a list, as the standard says)."""
    return list(TABLE["meshgrid"](*arrays, indexing=indexing))


def broadcast_arrays(*arrays):
    """The arrays broadcast to their common shape (a list)."""
    arrays = [core.asarray(a) for a in arrays]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    return [a if a.shape == shape else TABLE["broadcast_to"](a, shape) for a in arrays]


def from_dlpack(x, /, *, device=None, copy=None):
    """An array of the values of a DLPack producer (NumPy's ``from_dlpack``)."""
    return core.from_array(np.from_dlpack(x), chunks=-1)


def _values(v):
    """An index-like argument given as an array: its values, computed now."""
    if isinstance(v, core.Array):
        v = v.compute()
    return tuple(int(i) for i in np.ravel(v)) if np.ndim(v) else int(v)


def repeat(x, repeats, /, *, axis=None):
    """Each element repeated (``repeats`` an int or one count per element, an array too)."""
    return TABLE["repeat"](x, _values(repeats), axis=axis)


def searchsorted(x1, x2, /, *, side="left", sorter=None):
    """Where ``x2``'s values would go in the sorted 1-d ``x1`` (``x1[sorter]`` when given)."""
    if sorter is not None:
        x1 = TABLE["take"](x1, _values(sorter), axis=0)
    return TABLE["searchsorted"](x1, x2, side=side)


def diff(x, /, *, axis=-1, n=1, prepend=None, append=None):
    """The ``n``-th difference along ``axis``, ``prepend``/``append`` joined first."""
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        x = core.concatenate([core.asarray(p) for p in parts], axis=axis)
    return TABLE["diff"](x, n=n, axis=axis)


def _with_dtype(name):
    table = TABLE[name]

    def f(x, /, *, axis=None, dtype=None, include_initial=False):
        x = core.asarray(x)
        if dtype is not None:
            x = x.astype(dtype)
        elif x.dtype.kind in "iu" and x.dtype.itemsize < 8:  # the default integer, as NumPy
            x = x.astype(np.int64 if x.dtype.kind == "i" else np.uint64)
        return table(x, axis=axis, include_initial=include_initial)

    f.__name__ = name
    f.__doc__ = table.__doc__
    return f


cumulative_sum = _with_dtype("cumulative_sum")
cumulative_prod = _with_dtype("cumulative_prod")


def _linalg_trace(x, /, *, offset=0, dtype=None):
    """The trace of the last two axes (summed in ``dtype`` when given)."""
    x = core.asarray(x)
    if dtype is not None:
        x = x.astype(dtype)
    return TABLE["linalg.trace"](x, offset=offset)


linalg.trace = _linalg_trace
_linalg_trace.__name__ = "trace"

def take_along_axis(x, indices, /, *, axis=-1):
    """Elements at per-lane ``indices`` along ``axis`` (the last by default)."""
    return TABLE["take_along_axis"](x, indices, axis)


def empty_like(x, /, *, dtype=None, device=None):
    """An array like ``x`` (of zeros)."""
    return TABLE["empty_like"](x, dtype=dtype)


STANDARD_FORMS = {
    f.__name__: f
    for f in (meshgrid, broadcast_arrays, from_dlpack, repeat, searchsorted, diff,
              cumulative_sum, cumulative_prod, empty_like, take_along_axis)
}
"""The wrappers above, by name: what the module exports under these names."""


# --------------------------------------------------------------------------- inspection


class _Info_:
    """``__array_namespace_info__()``: brickwork's capabilities, devices and dtypes."""

    def capabilities(self):
        return {"boolean indexing": True, "data-dependent shapes": True, "max dimensions": None}

    def default_device(self):
        return "cpu"

    def devices(self):
        return ["cpu"]

    def default_dtypes(self, *, device=None):
        return {
            "real floating": DTYPES["float64"],
            "complex floating": DTYPES["complex128"],
            "integral": DTYPES["int64"],
            "indexing": DTYPES["int64"],
        }

    def dtypes(self, *, device=None, kind=None):
        if kind is None:
            return dict(DTYPES)
        return {n: d for n, d in DTYPES.items() if isdtype(d, kind)}


def __array_namespace_info__():
    """The array API's inspection object: capabilities, devices and dtypes."""
    return _Info_()
