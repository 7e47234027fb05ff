"""``x[key] = value`` as a lazy ``where`` (dask's semantics): the array becomes a new graph
that takes ``value`` where ``key`` selects and the old values elsewhere.

The selection is a bool mask: the key itself when it is a mask, else the outer product of
one small NumPy mask per axis (ints, slices, one list or array of ints), broadcast lazily,
so nothing of the array's size is built in memory. A value array is placed into the array's
shape by padding (a basic index whose slices have step 1) or broadcast to the whole array
(a mask and an array of the array's shape, as dask's). Everything else (one value per
selected element of a mask, steps, several index arrays, which select points as NumPy's
do) is a scatter: the flat positions the key selects are those of a generated
``arange(size).reshape(shape)[key]`` (NumPy's indexing rules, whatever the key), computed
now, and ``Array.scatter`` places the values there lazily.
"""

from __future__ import annotations

import numbers
from builtins import max as builtins_max

import numpy as np

from brickwork.array import core


def _value_array(x: core.Array, value) -> core.Array | None:
    """``value`` as a brickwork array of ``x``'s dtype, or None for a scalar."""
    if isinstance(value, core.Array):
        return value.astype(x.dtype)
    if core._scalar(value) is not None:
        return None
    return core.from_array(np.asarray(value, dtype=x.dtype), chunks=-1)


def _where(mask: core.Array, value, x: core.Array) -> core.Array:
    v = _value_array(x, value)
    if v is None:
        v = core.full(x.shape, core._scalar(value), dtype=x.dtype, chunks=x.chunks)
    return core.where(mask, v, x).astype(x.dtype)


def _axis_mask(k, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    if isinstance(k, core.Array):
        k = k.compute()
    mask[k] = True  # NumPy's own semantics (negative indices, bounds, steps, duplicates)
    return mask


def setitem(x: core.Array, key, value) -> core.Array:
    """The array ``x`` with ``x[key] = value`` applied, lazily."""
    if not isinstance(key, tuple) and core._is_bool_index(key):
        mask = core.asarray(key)
        if mask.shape != x.shape[: mask.ndim]:
            raise IndexError(
                f"boolean index of shape {mask.shape} does not match the array's shape {x.shape}"
            )
        if mask.ndim < x.ndim:  # a mask of the leading axes covers the trailing ones whole
            mask = mask.reshape(mask.shape + (1,) * (x.ndim - mask.ndim))
        v = _value_array(x, value)
        if v is not None and v.shape != x.shape:
            # One value per selected element (NumPy's x[mask] = values).
            return _scatter(x, key, v)
        return _where(mask, value, x)
    items = core._expand_key(x.ndim, key)
    if any(k is None for k in items):
        raise IndexError("x[...] = value does not take None (np.newaxis) in the index")
    items += [slice(None)] * (x.ndim - len(items))
    if any(core._is_bool_index(k) for k in items):
        raise NotImplementedError(
            "x[...] = value with a boolean array beside other indices: use one mask of x's "
            "shape (or of its leading axes)"
        )
    arrays = [k for k in items if not isinstance(k, (slice, numbers.Integral, np.integer))]
    if len(arrays) > 1 or any(np.ndim(k) > 1 for k in arrays):
        # Several index arrays select points (NumPy's advanced indexing), not their outer
        # product.
        return _scatter(x, tuple(items), _value_array(x, value), value)
    masks = []
    for axis, (k, n) in enumerate(zip(items, x.shape)):
        m = _axis_mask(k, n)
        shape = [1] * x.ndim
        shape[axis] = n
        masks.append(core.from_array(m.reshape(shape), chunks=tuple(
            x.chunks[axis] if d == axis else 1 for d in range(x.ndim)
        )))
    mask = masks[0] if masks else core.asarray(np.bool_(True))
    for m in masks[1:]:
        mask = mask & m
    v = _value_array(x, value)
    if v is None:
        return _where(mask, value, x)
    if all(isinstance(k, (numbers.Integral, np.integer)) or (isinstance(k, slice) and k.step in (None, 1))
           for k in items):
        return _where(mask, _placed(x, items, v), x)
    return _scatter(x, tuple(items), v)


def _flat_index(x: core.Array) -> core.Array:
    """Each element's flat (C-order) position, generated lazily in ``x``'s chunks: a sum
    of one broadcast ``arange`` per axis."""
    flat = core.asarray(np.int64(0))
    stride = 1
    for d in reversed(range(x.ndim)):
        n = x.shape[d]
        chunk = builtins_max(1, x.chunks[d][0] if x.chunks[d] else 1)
        a = core.arange(0, n, chunks=chunk, dtype=np.int64) * stride
        flat = flat + a.reshape((1,) * d + (n,) + (1,) * (x.ndim - d - 1))
        stride *= n
    return flat


def _scatter(x: core.Array, key, v: core.Array | None, scalar=None) -> core.Array:
    """``x[key] = v`` one value per selected element: the flat positions ``key`` selects
    (NumPy's rules, through a generated flat index), and ``v`` broadcast to the
    selection."""
    positions = np.asarray(_flat_index(x)[key].compute()).astype(np.int64)
    if v is None:
        v = core.full(positions.shape, core._scalar(scalar), dtype=x.dtype, chunks=-1)
    v = core.asarray(v).astype(x.dtype)
    try:
        v = core._table("broadcast_to", v, tuple(positions.shape))
    except ValueError as e:
        raise ValueError(
            f"could not broadcast the assigned values of shape {v.shape} to the selection's "
            f"shape {positions.shape}"
        ) from e
    v = v.reshape((positions.size,))
    return core.Array(x._a.scatter(positions.ravel().tolist(), v._a))


def _placed(x: core.Array, items, v: core.Array) -> core.Array:
    """``v`` (broadcast to the selection ``x[items]``) padded into ``x``'s shape, for an
    index of ints and slices of step 1."""
    widths, shape = [], []
    for k, n in zip(items, x.shape):
        if isinstance(k, (numbers.Integral, np.integer)) and not isinstance(k, bool):
            i = int(k) + n if k < 0 else int(k)
            widths.append((i, n - i - 1))
            shape.append(1)
        elif isinstance(k, slice) and k.step in (None, 1):
            start, stop, _ = k.indices(n)
            stop = max(start, stop)
            widths.append((start, n - stop))
            shape.append(stop - start)
        else:
            raise NotImplementedError(
                "x[key] = array needs a key of ints and slices with step 1 (or a mask of x's "
                "shape); with steps or index arrays, only a number can be assigned lazily"
            )
    kept = [s for k, s in zip(items, shape) if not isinstance(k, (numbers.Integral, np.integer))]
    v = core.asarray(v).astype(v.dtype)
    v = core._table("broadcast_to", v, tuple(kept)).reshape(tuple(shape))
    return core._table("pad", v, tuple(widths), mode="constant", constant_values=0)
