"""``import brickwork.array as da``: dask.array's API over brickwork's Rust engine.

Arrays are lazy, chunked and n-dimensional; operations build a graph, and ``compute()``
(or ``brickwork.compute(a, b, ...)``, ``np.asarray(x)``, ``to_zarr``) runs it on every
core under a memory limit, with the GIL released.

>>> import brickwork.array as da
>>> x = da.random.random((1000, 1000), chunks=(250, 250))
>>> y = (x + x.T)[::2, 500:].mean(axis=1)
>>> y.shape
(500,)
>>> float(abs(y.mean().compute() - 1.0)) < 0.05
True
"""

from brickwork.array import _protocols, random
from brickwork.array._protocols import (  # noqa: F401
    all, allclose, any, argmax, argmin, around, array_equal, broadcast_to, clip, cumprod,
    cumsum, dot, expand_dims, flip, matmul, max, mean, median, min, moveaxis, nan_to_num,
    percentile, prod, quantile, ravel, reshape, round, squeeze, std, sum, swapaxes, take,
    transpose, var,
)
from brickwork.array.core import (  # noqa: F401
    UFUNCS, Array, abs, arange, asarray, compute, concatenate, empty, eye, from_array, from_zarr,
    full, full_like, linspace, map_blocks, normalize_chunks, ones, ones_like, stack, to_zarr,
    where, zeros, zeros_like,
)

globals().update(UFUNCS)
del _protocols

# The array API namespace (2024.12): every function of the core's table that the dask-style
# functions above do not already give, the linalg extension, the dtypes and the inspection
# functions (see _namespace).
from brickwork.array import _namespace  # noqa: E402
from brickwork.array._namespace import (  # noqa: E402, F401
    __array_api_version__, __array_namespace_info__, astype, can_cast, finfo, iinfo, isdtype,
    fft, linalg, result_type,
)

globals().update(_namespace.STANDARD_FORMS)
_TABLE_NAMES = sorted(
    n for n in _namespace.TABLE if "." not in n and n not in globals()
)
globals().update({n: _namespace.TABLE[n] for n in _TABLE_NAMES})
# The table's methods that the Array class does not define itself (x.take(...), ...).
for _name in sorted(_namespace.METHODS):
    if not hasattr(Array, _name):
        setattr(Array, _name, _namespace.TABLE[_name])
globals().update(_namespace.DTYPES)  # bool, int8, ..., complex128: NumPy's dtypes
e, inf, nan, pi, newaxis = _namespace.np.e, _namespace.np.inf, _namespace.np.nan, _namespace.np.pi, None

__all__ = [
    "__array_api_version__", "__array_namespace_info__", "astype", "can_cast", "finfo",
    "iinfo", "isdtype", "fft", "linalg", "result_type", "e", "inf", "nan", "pi", "newaxis",
    *_namespace.STANDARD_FORMS,
    *_namespace.DTYPE_NAMES, *_TABLE_NAMES,
    "Array", "random", "from_array", "asarray", "from_zarr", "to_zarr", "zeros", "ones",
    "full", "empty", "zeros_like", "ones_like", "full_like", "arange", "linspace", "eye",
    "concatenate", "stack", "where", "map_blocks", "compute", "normalize_chunks",
    "abs", *sorted(UFUNCS),
]
