"""NumPy's protocols on brickwork arrays: ``np.sin(x)`` and ``np.sum(x)`` stay lazy.

``__array_ufunc__`` maps a ufunc called on brickwork arrays (and NumPy arrays or scalars
beside them) to brickwork's elementwise operation of the same name; ``__array_function__``
maps NumPy functions (``np.sum``, ``np.mean(x, axis=0)``, ``np.concatenate``, ...) to
``brickwork.array``'s. Anything else raises a ``TypeError`` naming the function, so that a
computation never silently leaves the lazy world; ``np.asarray(x)`` computes.
"""

from __future__ import annotations

import builtins

import sys

import numpy as np

from brickwork.array import core


def array_ufunc(self, ufunc, method, *inputs, **kwargs):
    name = ufunc.__name__
    if method != "__call__":
        raise TypeError(f"brickwork does not support numpy.{name}.{method}: compute first (np.asarray(x))")
    if kwargs.get("out") is not None:
        raise TypeError(f"numpy.{name}(..., out=): brickwork arrays are immutable")
    unsupported = set(kwargs) - {"out", "dtype", "casting", "where", "order", "subok"}
    if unsupported or kwargs.get("where", True) is not True:
        raise TypeError(f"numpy.{name}: keywords {sorted(set(kwargs) - {'out'})} are not supported by brickwork")
    f = core.UFUNCS.get(name)
    if f is None:
        raise TypeError(
            f"numpy.{name} has no lazy brickwork equivalent: compute first (np.asarray(x)) "
            f"or use map_blocks"
        )
    out = f(*inputs)
    dtype = kwargs.get("dtype")
    return out.astype(dtype) if dtype is not None else out


def _reduction(name):
    def f(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        a = core.asarray(a)
        method = getattr(a, name)
        if name in ("min", "max", "any", "all", "argmin", "argmax"):
            return method(axis=axis, keepdims=keepdims, out=out)
        return method(axis=axis, dtype=dtype, keepdims=keepdims, out=out, **kwargs)

    f.__name__ = name
    f.__doc__ = f"``{name}`` over ``axis`` (lazy), as NumPy's."
    return f


def var(a, axis=None, dtype=None, out=None, keepdims=False, ddof=0, *, correction=None,
        **kwargs):
    """Variance over ``axis``; ``ddof`` or the array API's ``correction``."""
    return core.asarray(a).var(axis=axis, dtype=dtype, keepdims=keepdims, ddof=ddof, out=out,
                               correction=correction)


def std(a, axis=None, dtype=None, out=None, keepdims=False, ddof=0, *, correction=None,
        **kwargs):
    """Standard deviation over ``axis``; ``ddof`` or the array API's ``correction``."""
    return core.asarray(a).std(axis=axis, dtype=dtype, keepdims=keepdims, ddof=ddof, out=out,
                               correction=correction)


sum = _reduction("sum")  # noqa: A001
prod = _reduction("prod")
mean = _reduction("mean")
min = _reduction("min")  # noqa: A001
max = _reduction("max")  # noqa: A001
any = _reduction("any")  # noqa: A001
all = _reduction("all")  # noqa: A001


def argmax(a, axis=None, out=None, keepdims=False):
    """Index of the maximum along ``axis``."""
    return core.asarray(a).argmax(axis=axis, keepdims=keepdims, out=out)


def argmin(a, axis=None, out=None, keepdims=False):
    """Index of the minimum along ``axis``."""
    return core.asarray(a).argmin(axis=axis, keepdims=keepdims, out=out)


def cumsum(a, axis=None, dtype=None, out=None):
    """Cumulative sum along ``axis``."""
    return core.asarray(a).cumsum(axis=axis, dtype=dtype, out=out)


def cumprod(a, axis=None, dtype=None, out=None):
    """Cumulative product along ``axis``."""
    return core.asarray(a).cumprod(axis=axis, dtype=dtype, out=out)


def transpose(a, axes=None):
    """Axes permuted (reversed by default)."""
    return core.asarray(a).transpose(axes)


def reshape(a, shape, order="C", *, copy=None, **kwargs):
    """Reshaped."""
    return core.asarray(a).reshape(shape)


def ravel(a, order="C"):
    """Flattened."""
    return core.asarray(a).ravel()


def squeeze(a, axis=None):
    """Length-1 axes removed."""
    return core.asarray(a).squeeze(axis)


def expand_dims(a, axis):
    """A new length-1 axis at ``axis``."""
    return core.Array(core.asarray(a)._a.expand_dims(axis))


def broadcast_to(a, shape, chunks=None):
    """``a`` broadcast to ``shape``."""
    return core.Array(core.asarray(a)._a.broadcast_to([int(n) for n in shape]))


def flip(a, axis=None):
    """Reversed along ``axis`` (every axis when None)."""
    x = core.asarray(a)
    axes = range(x.ndim) if axis is None else core._axes(axis)
    for ax in axes:
        x = core.Array(x._a.flip(ax))
    return x


def moveaxis(a, source, destination):
    """Axes ``source`` (an int or a tuple) moved to ``destination``, the others in order."""
    x = core.asarray(a)
    if isinstance(source, int) and isinstance(destination, int):
        return core.Array(x._a.moveaxis(source, destination))
    src = [int(s) % builtins.max(x.ndim, 1) for s in np.atleast_1d(source)]
    dst = [int(d) % builtins.max(x.ndim, 1) for d in np.atleast_1d(destination)]
    if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"moveaxis: source {source} and destination {destination} must be "
                         "distinct axes, as many of each")
    order = [n for n in range(x.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return x.transpose(order)


def swapaxes(a, axis1, axis2):
    """Two axes exchanged."""
    return core.asarray(a).swapaxes(axis1, axis2)


def matmul(a, b):
    """The matrix product."""
    return core.asarray(a) @ core.asarray(b)


def dot(a, b):
    """NumPy's ``dot``."""
    return core.asarray(a).dot(b)


def round(a, decimals=0):  # noqa: A001
    """Rounded to ``decimals``."""
    return core.asarray(a).round(decimals)


around = round


def clip(a, min=None, max=None, *, a_min=None, a_max=None, **kwargs):  # noqa: A002
    """Values limited to [min, max] (NumPy's ``a_min=``/``a_max=`` too)."""
    lo = a_min if min is None else min
    hi = a_max if max is None else max
    return core.asarray(a).clip(lo, hi)


def take(a, indices, axis=None):
    """Elements at ``indices`` along ``axis``."""
    x = core.asarray(a)
    if axis is None:
        x, axis = x.ravel(), 0
    return core.Array(x._a.take([int(i) for i in np.asarray(indices).ravel()], axis))


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """NaN and infinities replaced by numbers."""
    return core.Array(core.asarray(x)._a.nan_to_num(nan, posinf, neginf))


def median(a, axis=None, keepdims=False):
    """The median along ``axis``."""
    return quantile(a, 0.5, axis=axis, keepdims=keepdims)


def quantile(a, q, axis=None, keepdims=False, method="linear"):
    """The ``q``-quantile along ``axis`` (linear interpolation)."""
    x = core.asarray(a)
    if axis is None:
        x, axis = x.ravel(), 0
    out = core.Array(x._a.quantile(float(q), axis))
    return expand_dims(out, axis) if keepdims else out


def percentile(a, q, axis=None, keepdims=False, method="linear"):
    """The ``q``-th percentile along ``axis``."""
    return quantile(a, q / 100, axis=axis, keepdims=keepdims)


def shape(a):
    """The shape."""
    return core.asarray(a).shape


def ndim(a):
    """The number of axes."""
    return core.asarray(a).ndim


def size(a):
    """The number of elements."""
    return core.asarray(a).size


def array_equal(a1, a2, equal_nan=False):
    """True when both have the same shape and elements (computes)."""
    a1, a2 = core.asarray(a1), core.asarray(a2)
    return a1.shape == a2.shape and bool((a1 == a2).all().compute())


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when every element is close (computes)."""
    a, b = core.asarray(a), core.asarray(b)
    diff = core.UFUNCS["absolute"](a - b)
    tol = core.UFUNCS["absolute"](b) * rtol + atol
    return bool((diff <= tol).all().compute())


FUNCTIONS = {
    "sum": sum, "prod": prod, "mean": mean, "var": var, "std": std, "min": min, "max": max,
    "amin": min, "amax": max, "any": any, "all": all, "argmax": argmax, "argmin": argmin,
    "cumsum": cumsum, "cumprod": cumprod, "transpose": transpose, "reshape": reshape,
    "ravel": ravel, "squeeze": squeeze, "expand_dims": expand_dims,
    "broadcast_to": broadcast_to, "flip": flip, "moveaxis": moveaxis, "swapaxes": swapaxes,
    "matmul": matmul, "dot": dot, "round": round, "around": around, "clip": clip,
    "take": take, "nan_to_num": nan_to_num, "median": median, "quantile": quantile,
    "percentile": percentile, "shape": shape, "ndim": ndim, "size": size,
    "array_equal": array_equal, "allclose": allclose,
    "concatenate": core.concatenate, "stack": core.stack, "where": core.where,
    "zeros_like": core.zeros_like, "ones_like": core.ones_like, "full_like": core.full_like,
}


def array_function(self, func, types, args, kwargs):
    f = FUNCTIONS.get(func.__name__)
    for ext in ("linalg", "fft"):
        if getattr(getattr(np, ext), func.__name__, None) is func:
            # numpy.linalg.solve(x, b), numpy.fft.rfft(x) and the like: the extension's
            # function, if any.
            f = getattr(sys.modules.get(f"brickwork.array.{ext}"), func.__name__, None)
            if f is not None:
                return f(*args, **kwargs)
    if f is None or getattr(np, func.__name__, None) is not func:
        raise TypeError(
            f"numpy.{func.__name__} has no lazy brickwork equivalent: compute first "
            f"(np.asarray(x)) or use brickwork.array.map_blocks"
        )
    return f(*args, **kwargs)


core.Array.__array_ufunc__ = array_ufunc
core.Array.__array_function__ = array_function
