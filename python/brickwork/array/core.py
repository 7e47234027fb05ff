"""The ``Array`` class and the functions that make and combine arrays.

Everything is lazy until ``compute`` (or ``np.asarray``, ``to_zarr``, ``persist``): each
operation adds a node to brickwork's expression graph through the extension module
(``brickwork._brickwork``), which the Rust engine plans and runs on every core under a
memory limit, releasing the GIL.
"""

from __future__ import annotations

import builtins
import math
import numbers
import operator

import numpy as np

from brickwork import _brickwork, _config

_AUTO_CHUNK_BYTES = 128 * 2**20  # dask's array.chunk-size


# --------------------------------------------------------------------------- chunks


def normalize_chunks(chunks, shape, itemsize=8):
    """dask's ``chunks=`` as sizes per axis: ``'auto'``/None (about 128 MiB a chunk), an
    int for every axis, or a tuple per axis of an int, -1/None (the whole axis), or the
    sizes themselves; a dict maps axes to any of those."""
    shape = tuple(int(n) for n in shape)
    ndim = len(shape)
    if isinstance(chunks, dict):
        chunks = tuple(chunks.get(i, chunks.get(i - ndim, "auto")) for i in range(ndim))
    if chunks is None or isinstance(chunks, str) or isinstance(chunks, numbers.Integral):
        chunks = (chunks,) * ndim
    chunks = tuple(chunks)
    if len(chunks) != ndim:
        raise ValueError(f"chunks {chunks} do not match the {ndim} axes of shape {shape}")
    if any(c is None or c == "auto" for c in chunks):
        fixed = [
            _axis_size(c, n) if not (c is None or c == "auto") else None
            for c, n in zip(chunks, shape)
        ]
        free = [i for i, c in enumerate(fixed) if c is None]
        budget = _AUTO_CHUNK_BYTES / itemsize
        for c in fixed:
            if c is not None:
                budget /= max(1, c if isinstance(c, int) else builtins.max(c))
        per_axis = budget ** (1 / len(free)) if budget > 1 else 1
        for i in free:
            fixed[i] = builtins.max(1, builtins.min(shape[i], int(per_axis)))
        chunks = tuple(fixed)
    out = []
    for c, n in zip(chunks, shape):
        c = _axis_size(c, n)
        if isinstance(c, tuple):
            if sum(c) != n:
                raise ValueError(f"chunk sizes {c} do not add up to the axis length {n}")
            out.append(c)
        else:
            full, rest = divmod(n, c)
            out.append((c,) * full + ((rest,) if rest else ()) or (0,))
    return tuple(out)


def _axis_size(c, n):
    if isinstance(c, (tuple, list)):
        return tuple(int(x) for x in c)
    if c is None or c == -1:
        return builtins.max(n, 1)
    c = int(c)
    if c <= 0:
        raise ValueError(f"chunk size must be positive, got {c}")
    return c


def _regular(chunks):
    """The regular chunk shape of normalized ``chunks``, or None when they are not."""
    shape = []
    for axis in chunks:
        head = axis[0] if axis else 1
        if any(c != head for c in axis[:-1]) or (axis and axis[-1] > head):
            return None
        shape.append(builtins.max(head, 1))
    return tuple(shape)


def _build(make, shape, chunks, itemsize=8):
    """An array made by ``make(regular_chunk_shape)`` and rechunked when ``chunks`` are not
    regular."""
    norm = normalize_chunks(chunks, shape, itemsize)
    regular = _regular(norm)
    if regular is not None:
        return Array(make(list(regular)))
    first = [builtins.max(builtins.max(c), 1) for c in norm]
    return Array(make(first)).rechunk(norm)


def _shape_arg(shape):
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    return tuple(int(n) for n in shape)


def _dtype_name(dtype) -> str:
    if dtype is None:
        return "float64"
    name = np.dtype(dtype).name
    return name


# --------------------------------------------------------------------------- the array


def _scalar(v):
    """A Python or NumPy scalar as a Python bool/int/float/complex, or None when ``v`` is not
    one."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    if isinstance(v, numbers.Complex):
        return complex(v)
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return v.item()
    return None


class Array:
    """A lazy, chunked n-dimensional array (dask.array's ``Array``).

    Made by ``from_array``, ``from_zarr``, ``random``, ``zeros``, ... and by operations on
    other arrays; ``compute()`` runs the graph into a NumPy array.
    """

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 11

    def __init__(self, handle):
        if not isinstance(handle, _brickwork.Array):
            raise TypeError("Array is made by from_array, from_zarr, random, zeros, ...")
        self._a = handle

    # -------------------------------------------------------------- properties

    @property
    def shape(self) -> tuple:
        """The shape."""
        return tuple(self._a.shape)

    @property
    def dtype(self) -> np.dtype:
        """The element type, as a NumPy dtype."""
        return np.dtype(self._a.dtype)

    @property
    def chunks(self) -> tuple:
        """The chunk sizes along each axis: a tuple of tuples (dask's ``.chunks``)."""
        return tuple(tuple(c) for c in self._a.chunks)

    @property
    def chunksize(self) -> tuple:
        """The largest chunk's shape."""
        return tuple(builtins.max(c) if c else 0 for c in self.chunks)

    @property
    def numblocks(self) -> tuple:
        """Chunks per axis."""
        return tuple(len(c) for c in self.chunks)

    @property
    def npartitions(self) -> int:
        """The number of chunks."""
        return math.prod(self.numblocks)

    @property
    def nbytes(self) -> int:
        """Bytes of the whole array."""
        return self._a.nbytes

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """The number of elements."""
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        """Bytes of one element."""
        return self.dtype.itemsize

    @property
    def name(self) -> str:
        """The operation that makes this array."""
        return self._a.name

    @property
    def T(self) -> Array:
        """The transpose."""
        return self.transpose()

    @property
    def mT(self) -> Array:
        """The last two axes exchanged (the array API's matrix transpose)."""
        return self.swapaxes(-2, -1)

    @property
    def real(self) -> Array:
        """The real part (the array itself for real dtypes)."""
        return Array(self._a.unary("real"))

    @property
    def imag(self) -> Array:
        """The imaginary part (zeros for real dtypes)."""
        return Array(self._a.unary("imag"))

    @property
    def device(self) -> str:
        """Where the array lives: always ``'cpu'``."""
        return "cpu"

    def to_device(self, device, /, *, stream=None) -> Array:
        """The array on ``device`` (only ``'cpu'``)."""
        if device != "cpu":
            raise ValueError(f"brickwork arrays live on the 'cpu' device, not {device!r}")
        return self

    def __array_namespace__(self, *, api_version=None):
        """The array API namespace of brickwork arrays: the module ``brickwork.array``
        (standard 2024.12)."""
        if api_version not in (None, "2021.12", "2022.12", "2023.12", "2024.12"):
            raise ValueError(f"brickwork implements the array API 2024.12, not {api_version!r}")
        import brickwork.array

        return brickwork.array

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # -------------------------------------------------------------- computing

    def compute(self, **kwargs):
        """The values, as a NumPy array (a NumPy scalar for a 0-d array).

        Keywords: ``scheduler`` ('threads', 'synchronous', 'processes'; default: the active
        ``Client``, else 'threads'), ``num_workers``, ``memory_limit`` (bytes or '2GB').
        The GIL is released while it runs; Ctrl-C cancels it (``KeyboardInterrupt``).
        """
        return _unwrap0(self._a.compute(_config.options(**kwargs)))

    def persist(self, **kwargs) -> Array:
        """Computes the array once and returns it kept for reuse, as dask's ``persist``:
        in memory when it takes at most a quarter of the memory limit, else in a temporary
        uncompressed Zarr store (``tmp_dir``, else ``spill_dir``, else the system's
        temporary directory) that later computations read and that is removed with the last
        array reading it. Takes ``compute``'s keyword arguments."""
        return Array(self._a.persist(_config.options(**kwargs)))

    def to_zarr(self, url, *, chunks=None, codec=None, overwrite=False, zarr_format=3, shards=None,
                compute=True, storage_options=None, **kwargs):
        """Writes the array to a Zarr store at ``url`` (a path or an object-store URL), chunk
        by chunk under the memory limit; ``codec`` as brickwork's ('zstd:3', 'gzip',
        'blosc:lz4', 'none'); ``storage_options`` the store's, as ``from_zarr``'s."""
        if not compute:
            raise NotImplementedError("to_zarr(compute=False): write with compute=True")
        opts = _config.options(**kwargs)
        self._a.to_zarr(
            str(url),
            opts,
            chunks=list(chunks) if chunks is not None else None,
            codec=codec,
            overwrite=overwrite,
            zarr_format=zarr_format,
            shards=list(shards) if shards is not None else None,
            storage_options=_storage_options(storage_options),
        )

    def visualize(self, filename="mydask.svg", **kwargs):
        """Writes the task graph to ``filename``: Graphviz DOT, or SVG for ``.svg`` (needs
        Graphviz's ``dot``). Returns the file name."""
        self._a.visualize(str(filename))
        return str(filename)

    def explain(self, **kwargs) -> str:
        """The plan: stages, tasks, and the predicted peak memory against the limit."""
        return self._a.explain(_config.options(**kwargs))

    def __array__(self, dtype=None, copy=None):
        values = np.asarray(self._a.compute(_config.options()))
        if dtype is not None and values.dtype != np.dtype(dtype):
            values = values.astype(dtype)
        return values

    def __bool__(self):
        return bool(self.compute())

    def __float__(self):
        return float(self.compute())

    def __int__(self):
        return int(self.compute())

    def __index__(self):
        return operator.index(self.compute())

    def __complex__(self):
        return complex(self.compute())

    # -------------------------------------------------------------- display

    def __repr__(self) -> str:
        return (
            f"brickwork.array<{self.name}, shape={self.shape}, dtype={self.dtype}, "
            f"chunksize={self.chunksize}, chunktype=numpy.ndarray>"
        )

    def __str__(self) -> str:
        return self._a.__str__()

    def _repr_html_(self) -> str:
        from brickwork.array._html import array_html

        return array_html(self)

    # -------------------------------------------------------------- operators

    def _binary(self, op, other, reflected=False):
        if isinstance(other, Array):
            a, b = (other, self) if reflected else (self, other)
            return Array(a._a.binary(op, b._a))
        value = _scalar(other)
        if value is not None:
            return Array(self._a.binary_scalar(op, value, reflected))
        if isinstance(other, (np.ndarray, list, tuple)):
            other = _like(np.asarray(other), self)
            return self._binary(op, other, reflected)
        return NotImplemented

    def __add__(self, o): return self._binary("add", o)
    def __radd__(self, o): return self._binary("add", o, True)
    def __sub__(self, o): return self._binary("subtract", o)
    def __rsub__(self, o): return self._binary("subtract", o, True)
    def __mul__(self, o): return self._binary("multiply", o)
    def __rmul__(self, o): return self._binary("multiply", o, True)
    def __truediv__(self, o): return self._binary("true_divide", o)
    def __rtruediv__(self, o): return self._binary("true_divide", o, True)
    def __floordiv__(self, o): return self._binary("floor_divide", o)
    def __rfloordiv__(self, o): return self._binary("floor_divide", o, True)
    def __mod__(self, o): return self._binary("remainder", o)
    def __rmod__(self, o): return self._binary("remainder", o, True)
    def __pow__(self, o): return self._binary("power", o)
    def __rpow__(self, o): return self._binary("power", o, True)
    def __and__(self, o): return self._binary("bitwise_and", o)
    def __rand__(self, o): return self._binary("bitwise_and", o, True)
    def __or__(self, o): return self._binary("bitwise_or", o)
    def __ror__(self, o): return self._binary("bitwise_or", o, True)
    def __xor__(self, o): return self._binary("bitwise_xor", o)
    def __rxor__(self, o): return self._binary("bitwise_xor", o, True)
    def __lshift__(self, o): return _table("bitwise_left_shift", self, o)
    def __rlshift__(self, o): return _table("bitwise_left_shift", o, self)
    def __rshift__(self, o): return _table("bitwise_right_shift", self, o)
    def __rrshift__(self, o): return _table("bitwise_right_shift", o, self)
    def __eq__(self, o): return self._binary("equal", o)
    def __ne__(self, o): return self._binary("not_equal", o)
    def __lt__(self, o): return self._binary("less", o)
    def __le__(self, o): return self._binary("less_equal", o)
    def __gt__(self, o): return self._binary("greater", o)
    def __ge__(self, o): return self._binary("greater_equal", o)

    __hash__ = object.__hash__

    def __matmul__(self, o):
        o = _as_array(o, self)
        return Array(self._a.matmul(o._a))

    def __rmatmul__(self, o):
        o = _as_array(o, self)
        return Array(o._a.matmul(self._a))

    def __neg__(self): return Array(self._a.unary("negative"))
    def __pos__(self): return self
    def __abs__(self): return Array(self._a.unary("absolute"))
    def __invert__(self): return Array(self._a.unary("invert"))

    # -------------------------------------------------------------- methods

    def astype(self, dtype, copy=True, **kwargs) -> Array:
        """Converted to ``dtype`` (lazily)."""
        name = _dtype_name(dtype)
        if name == self.dtype.name:
            return self
        return Array(self._a.astype(name))

    def _reduce(self, op, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None):
        # NumPy's dtype=: the elements are taken in it and so is the result (integer sums
        # wrap as NumPy's accumulators do).
        x = self.astype(dtype) if dtype is not None else self
        out = Array(x._a.reduce(op, _axes(axis), keepdims, float(ddof), _split(split_every)))
        return out.astype(dtype) if dtype is not None else out

    def sum(self, axis=None, dtype=None, keepdims=False, split_every=None, out=None):
        """Sum over ``axis`` (all axes when None)."""
        _no_out(out)
        return self._reduce("sum", axis, dtype, keepdims, split_every=split_every)

    def prod(self, axis=None, dtype=None, keepdims=False, split_every=None, out=None):
        """Product over ``axis``."""
        _no_out(out)
        return self._reduce("prod", axis, dtype, keepdims, split_every=split_every)

    def mean(self, axis=None, dtype=None, keepdims=False, split_every=None, out=None):
        """Arithmetic mean over ``axis``."""
        _no_out(out)
        return self._reduce("mean", axis, dtype, keepdims, split_every=split_every)

    def var(self, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None, out=None,
            *, correction=None):
        """Variance over ``axis`` (``ddof``, or the array API's ``correction``, delta degrees
        of freedom)."""
        _no_out(out)
        ddof = ddof if correction is None else correction
        return self._reduce("var", axis, dtype, keepdims, ddof, split_every)

    def std(self, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None, out=None,
            *, correction=None):
        """Standard deviation over ``axis`` (``ddof`` or ``correction`` as ``var``)."""
        _no_out(out)
        ddof = ddof if correction is None else correction
        return self._reduce("std", axis, dtype, keepdims, ddof, split_every)

    def min(self, axis=None, keepdims=False, split_every=None, out=None):
        """Minimum over ``axis``."""
        _no_out(out)
        return self._reduce("min", axis, None, keepdims, split_every=split_every)

    def max(self, axis=None, keepdims=False, split_every=None, out=None):
        """Maximum over ``axis``."""
        _no_out(out)
        return self._reduce("max", axis, None, keepdims, split_every=split_every)

    def any(self, axis=None, keepdims=False, split_every=None, out=None):
        """True where any element over ``axis`` is."""
        _no_out(out)
        return Array(self._a.logical_reduce("any", _axes(axis), keepdims))

    def all(self, axis=None, keepdims=False, split_every=None, out=None):
        """True where every element over ``axis`` is."""
        _no_out(out)
        return Array(self._a.logical_reduce("all", _axes(axis), keepdims))

    def argmax(self, axis=None, keepdims=False, split_every=None, out=None):
        """Index of the maximum along ``axis`` (of the flattened array when None)."""
        _no_out(out)
        return Array(self._a.arg_reduce("argmax", axis, keepdims))

    def argmin(self, axis=None, keepdims=False, split_every=None, out=None):
        """Index of the minimum along ``axis``."""
        _no_out(out)
        return Array(self._a.arg_reduce("argmin", axis, keepdims))

    def cumsum(self, axis=None, dtype=None, out=None):
        """Cumulative sum along ``axis`` (of the flattened array when None)."""
        _no_out(out)
        x = self.astype(dtype) if dtype is not None else self
        if axis is None:
            x, axis = x.ravel(), 0
        return Array(x._a.cumulative("cumsum", axis))

    def cumprod(self, axis=None, dtype=None, out=None):
        """Cumulative product along ``axis``."""
        _no_out(out)
        x = self.astype(dtype) if dtype is not None else self
        if axis is None:
            x, axis = x.ravel(), 0
        return Array(x._a.cumulative("cumprod", axis))

    def round(self, decimals=0):
        """Rounded to ``decimals`` (half to even, as NumPy)."""
        return Array(self._a.round(decimals))

    def clip(self, min=None, max=None):
        """Values limited to [min, max] (either may be None, a number or an array)."""
        out = self
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out

    def reshape(self, *shape, **kwargs):
        """Reshaped (one -1 allowed)."""
        if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
            shape = shape[0]
        return Array(self._a.reshape([int(n) for n in shape]))

    def ravel(self):
        """Flattened to one axis."""
        return Array(self._a.ravel())

    flatten = ravel

    def squeeze(self, axis=None):
        """Length-1 axes removed."""
        return Array(self._a.squeeze(_axes(axis)))

    def transpose(self, *axes):
        """Axes permuted (reversed by default)."""
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], numbers.Integral)):
            axes = axes[0]
        if not axes:
            return Array(self._a.transpose(None))
        return Array(self._a.transpose([a % self.ndim for a in axes]))

    def swapaxes(self, a, b):
        """Axes ``a`` and ``b`` exchanged."""
        perm = list(range(self.ndim))
        perm[a], perm[b] = perm[b], perm[a]
        return self.transpose(perm)

    def dot(self, other):
        """NumPy's ``dot``."""
        return Array(self._a.dot(_as_array(other, self)._a))

    def rechunk(self, chunks="auto", **kwargs) -> Array:
        """The same values in other chunks (dask's ``chunks=`` forms; a dict changes only
        the axes it names)."""
        if isinstance(chunks, dict):
            chunks = tuple(
                chunks.get(i, chunks.get(i - self.ndim, c)) for i, c in enumerate(self.chunks)
            )
        norm = normalize_chunks(chunks, self.shape, self.itemsize)
        if norm == self.chunks:
            return self
        return Array(self._a.rechunk([list(c) for c in norm]))

    def map_blocks(self, func, *args, **kwargs) -> Array:
        """``map_blocks(func, self, *args, **kwargs)``."""
        return map_blocks(func, self, *args, **kwargs)

    def __getitem__(self, key) -> Array:
        return _index(self, key)

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """DLPack export of the computed values (NumPy's)."""
        kwargs = {"max_version": max_version} if max_version is not None else {}
        return np.asarray(self).__dlpack__(stream=stream, **kwargs)

    def __dlpack_device__(self):
        """The DLPack device: the CPU."""
        return (1, 0)

    def __setitem__(self, key, value):
        """``x[key] = value``, lazily (dask's semantics): ``x`` becomes a new array, equal to
        ``value`` where ``key`` selects and to the old values elsewhere (a ``where`` over a
        mask of the selection). ``key``: a bool mask (an array of ``x``'s shape, or of its
        leading axes), or ints, slices, ``...`` and lists/arrays of ints along one axis;
        ``value``: a number, or an array that broadcasts to the selection (a basic index
        with steps of 1 only, or a mask of ``x``'s whole shape)."""
        from brickwork.array._setitem import setitem

        self._a = setitem(self, key, value)._a


def _unwrap0(values):
    return values[()] if values.ndim == 0 else values


def _no_out(out):
    if out is not None:
        raise TypeError("brickwork arrays are immutable: out= is not supported")


def _axes(axis):
    if axis is None:
        return None
    if isinstance(axis, numbers.Integral):
        return [int(axis)]
    return [int(a) for a in axis]


def _split(split_every):
    if split_every is None or isinstance(split_every, numbers.Integral):
        return split_every
    return builtins.max(split_every.values())


def _like(values: np.ndarray, template: Array | None = None) -> Array:
    """A NumPy array as a brickwork array, in ``template``'s chunks when it has its shape."""
    if template is not None and values.shape == template.shape:
        return from_array(values, chunks=template.chunks)
    return from_array(values, chunks=-1)


def _as_array(x, template: Array | None = None) -> Array:
    if isinstance(x, Array):
        return x
    return _like(np.asarray(x), template)


# --------------------------------------------------------------------------- indexing


def _is_bool_index(k) -> bool:
    if isinstance(k, Array):
        return k.dtype == np.bool_
    if isinstance(k, (list, np.ndarray)):
        return np.asarray(k).dtype == np.bool_ and np.ndim(k) > 0
    return False


def _index_axes(k) -> int:
    """How many axes of the indexed array an index item stands for."""
    if k is None or k is Ellipsis:
        return 0
    if _is_bool_index(k):
        return np.ndim(k) if not isinstance(k, Array) else k.ndim
    return 1


def _index_item(k):
    if isinstance(k, Array):
        return k._a
    if isinstance(k, slice):
        return slice(_int_or_none(k.start), _int_or_none(k.stop), _int_or_none(k.step))
    if isinstance(k, (np.ndarray, list)):
        values = np.asarray(k)
        if values.ndim == 0:
            return values.item()
        if values.dtype.kind not in "biu":
            raise IndexError(
                f"arrays used as indices must be of integer or boolean type, got {values.dtype}"
            )
        return from_array(values, chunks=-1)._a
    if isinstance(k, (bool, np.bool_)):
        raise IndexError("brickwork does not index with a scalar bool (x[True])")
    if isinstance(k, (numbers.Integral, np.integer)):
        return operator.index(k)
    if k is None:
        return None
    raise IndexError(
        f"brickwork indexes with ints, slices, None, ..., and bool or integer arrays; got "
        f"{type(k).__name__}"
    )


def _expand_key(ndim: int, key) -> list:
    """``key`` as a list of items, an ellipsis replaced by full slices."""
    if not isinstance(key, tuple):
        key = (key,)
    if builtins.sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = builtins.sum(_index_axes(k) for k in key)
    if consumed > ndim:
        raise IndexError(
            f"too many indices for array: array is {ndim}-dimensional, but {consumed} were indexed"
        )
    items = []
    for k in key:
        if k is Ellipsis:
            items.extend([slice(None)] * (ndim - consumed))
        else:
            items.append(k)
    return items


def _index(x: Array, key) -> Array:
    """``x[key]`` with NumPy's semantics, by the core's indexing (brickwork::parse::index):
    ints, slices, ``None``, ``...``, bool masks (``x[x > 0]``) and integer arrays or lists
    (``x[[0, 5, 36], :]``; several adjacent ones select points). What an index array
    selects is computed now; the result is lazy."""
    if isinstance(key, Array) and key.ndim == 0 and key.dtype == np.bool_:
        # NumPy's x[mask] with a 0-d mask: a new axis of length 1 or 0.
        return _index(_index(x, None), key.reshape(1))
    items = [_index_item(k) for k in _expand_key(x.ndim, key)]
    if not items:
        return x
    return Array(_brickwork.getitem(x._a, items, _config.options()))


def _int_or_none(v):
    return None if v is None else operator.index(v)


def _table(name, *args, **kwargs):
    """The core table's function ``name`` (see ``_namespace``)."""
    from brickwork.array._namespace import call

    return call(name, *args, **kwargs)


# --------------------------------------------------------------------------- making arrays


def from_array(x, chunks="auto", name=None, **kwargs) -> Array:
    """A brickwork array over a NumPy array (or anything ``numpy.asarray`` takes).

    A C-contiguous NumPy array is not copied: the brickwork array reads its chunks from
    the array's own buffer (so later changes to the NumPy array are seen, as in dask).
    Other layouts are copied once into C order.
    """
    if isinstance(x, Array):
        return x.rechunk(chunks)
    values = np.asarray(x)
    if values.dtype.byteorder == ">" or values.dtype.kind not in "biuf":
        values = values.astype(values.dtype.newbyteorder("="))
    values = values if values.flags.c_contiguous else np.array(values, order="C")  # keeps 0-d
    return _build(lambda c: _brickwork.from_numpy(values, c), values.shape, chunks, values.itemsize)


def asarray(obj, dtype=None, device=None, copy=None, *, chunks="auto", **kwargs) -> Array:
    """``obj`` (an array, a NumPy array, a number, nested lists) as a brickwork array of
    ``dtype`` (unchanged when it is one already). ``copy=False`` is refused when a conversion
    is needed; ``device`` may be ``'cpu'``."""
    if device not in (None, "cpu"):
        raise ValueError(f"brickwork arrays live on the 'cpu' device, not {device!r}")
    if isinstance(obj, Array):
        if dtype is not None and np.dtype(_dtype_name(dtype)) != obj.dtype:
            if copy is False:
                raise ValueError("asarray(copy=False) cannot convert the dtype without a copy")
            return obj.astype(dtype)
        # A copy is a new Array object: item assignment to one leaves the other as it is.
        return Array(obj._a) if copy else obj
    if copy is False and not isinstance(obj, np.ndarray):
        raise ValueError("asarray(copy=False): a Python object cannot be used without a copy")
    values = np.asarray(obj) if dtype is None else np.asarray(obj, dtype=_dtype_name(dtype))
    if copy:
        values = values.copy()
    return from_array(values, chunks=chunks)


def from_zarr(url, component=None, storage_options=None, **kwargs) -> Array:
    """The Zarr array (v3 or v2) at ``url`` (a path, or an object-store URL: ``s3://``,
    ``gs://``, ``az://``, ``http(s)://``; ``component`` a path inside it), lazily, in its
    stored chunks. ``storage_options`` (a dict, as dask's) configures the store: credentials,
    ``region``, ``endpoint``, ``anonymous``, timeouts; they override the cloud's
    environment variables (see the README's object stores)."""
    path = str(url)
    if component:
        path = path.rstrip("/") + "/" + str(component)
    return Array(_brickwork.from_zarr(path, _storage_options(storage_options)))


def _storage_options(options):
    if options is None:
        return None
    if not isinstance(options, dict):
        raise TypeError(f"storage_options must be a dict, got {type(options).__name__}")
    return [(str(k), v) for k, v in options.items()]


def to_zarr(arr: Array, url, **kwargs) -> None:
    """Writes ``arr`` to a Zarr store at ``url`` (see ``Array.to_zarr``)."""
    return arr.to_zarr(url, **kwargs)


def full(shape, fill_value, dtype=None, chunks="auto", device=None, **kwargs) -> Array:
    """An array filled with ``fill_value``."""
    shape = _shape_arg(shape)
    if dtype is None:
        dtype = np.asarray(fill_value).dtype
    name = _dtype_name(dtype)
    value = _scalar(fill_value)
    return _build(lambda c: _brickwork.full(list(shape), c, value, name), shape, chunks,
                  np.dtype(name).itemsize)


def zeros(shape, dtype=float, chunks="auto", device=None, **kwargs) -> Array:
    """An array of zeros (float64 unless ``dtype`` says)."""
    return full(shape, 0, dtype=float if dtype is None else dtype, chunks=chunks)


def ones(shape, dtype=float, chunks="auto", device=None, **kwargs) -> Array:
    """An array of ones (float64 unless ``dtype`` says)."""
    return full(shape, 1, dtype=float if dtype is None else dtype, chunks=chunks)


def empty(shape, dtype=float, chunks="auto", device=None, **kwargs) -> Array:
    """An array of zeros (brickwork has no uninitialized memory to offer)."""
    return zeros(shape, dtype=dtype, chunks=chunks)


def zeros_like(a, dtype=None, chunks=None, device=None, **kwargs) -> Array:
    """Zeros of ``a``'s shape (and chunks)."""
    return full_like(a, 0, dtype=dtype, chunks=chunks)


def ones_like(a, dtype=None, chunks=None, device=None, **kwargs) -> Array:
    """Ones of ``a``'s shape."""
    return full_like(a, 1, dtype=dtype, chunks=chunks)


def full_like(a, fill_value, dtype=None, chunks=None, device=None, **kwargs) -> Array:
    """``fill_value`` in ``a``'s shape."""
    a = asarray(a)
    return full(a.shape, fill_value, dtype=dtype or a.dtype, chunks=chunks or a.chunks)


def arange(start, stop=None, step=1, chunks="auto", dtype=None, device=None, **kwargs) -> Array:
    """``start, start + step, ...`` below ``stop`` (NumPy's ``arange``)."""
    if stop is None:
        start, stop = 0, start
    n = builtins.max(0, math.ceil((stop - start) / step))
    chunk = normalize_chunks(chunks, (n,), 8)[0][0] or 1
    out = Array(_brickwork.arange(_scalar(start), _scalar(stop), _scalar(step), chunk))
    return out.astype(dtype) if dtype is not None else out


def linspace(start, stop, num=50, endpoint=True, retstep=False, chunks="auto", dtype=None,
             device=None):
    """``num`` evenly spaced values from ``start`` to ``stop``."""
    chunk = normalize_chunks(chunks, (num,), 8)[0][0] or 1
    out = Array(_brickwork.linspace(float(start), float(stop), int(num), bool(endpoint), chunk))
    if dtype is not None:
        out = out.astype(dtype)
    if retstep:
        return out, (stop - start) / builtins.max(1, num - 1 if endpoint else num)
    return out


def eye(N, M=None, k=0, dtype=float, chunks="auto", *, n_cols=None, device=None) -> Array:
    """Ones on the ``k``-th diagonal of an N x M array, zeros elsewhere. The second
    positional argument is M (the array API's ``n_cols``, NumPy's ``M``), not dask's
    ``chunks``: give ``chunks=`` by keyword."""
    M = n_cols if M is None else M
    M = N if M is None else M
    dtype = float if dtype is None else dtype
    norm = normalize_chunks(chunks, (N, M), np.dtype(dtype).itemsize)
    rows = arange(N, chunks=(norm[0],) if _regular(norm[:1]) else -1)[:, None]
    cols = arange(M, chunks=(norm[1],) if _regular(norm[1:]) else -1)[None, :]
    return ((cols - rows) == k).astype(dtype).rechunk(norm)


def concatenate(seq, axis=0, **kwargs) -> Array:
    """The arrays joined along ``axis``."""
    arrays = [asarray(a) for a in seq]
    return Array(_brickwork.concatenate([a._a for a in arrays], axis))


def stack(seq, axis=0, **kwargs) -> Array:
    """The arrays stacked along a new axis ``axis``."""
    arrays = [asarray(a) for a in seq]
    return Array(_brickwork.stack([a._a for a in arrays], axis))


def _weak_dtype(value, other):
    """The dtype of a Python scalar beside ``other`` (an array, or another scalar)."""
    if isinstance(other, Array):
        return np.result_type(other.dtype, _scalar(value))
    return np.asarray(_scalar(value)).dtype


def where(condition, x=None, y=None) -> Array:
    """``x`` where ``condition``, else ``y`` (NumPy's three-argument ``where``)."""
    if x is None or y is None:
        raise NotImplementedError("where(condition) without x and y: use nonzero after compute")
    cond = asarray(condition)
    # A Python scalar beside an array is weak (NEP 50): where(c, int32 array, 0) is int32.
    xa, ya = (
        v if isinstance(v, Array)
        else full(cond.shape, v, chunks=cond.chunks, dtype=_weak_dtype(v, other))
        if _scalar(v) is not None else asarray(v)
        for v, other in ((x, y), (y, x))
    )
    return Array(_brickwork.where(cond._a, xa._a, ya._a))


def map_blocks(func, *args, dtype=None, chunks=None, drop_axis=None, new_axis=None,
               name=None, meta=None, **kwargs) -> Array:
    """``func`` applied to each block of the arrays in ``args`` (dask's ``map_blocks``).

    ``func`` receives NumPy arrays (copies of the blocks) and returns one NumPy array per
    call; it runs on the engine's worker threads, taking the GIL for each block. ``dtype``
    is the result's; without it (or ``meta``), it is inferred as dask does: ``func`` runs
    once on 0-size arrays of the inputs' dtypes, else on 1-element arrays of ones, and the
    result's dtype is taken (a ``ValueError`` asks for ``dtype=`` when both fail).
    ``chunks`` the result's chunks when the
    function changes the blocks' shapes; ``block_info`` in ``func``'s signature receives
    dask's dict. Other keyword arguments are passed to ``func``.
    """
    import functools
    import inspect

    arrays = [a for a in args if isinstance(a, Array)]
    if not arrays or builtins.any(not isinstance(a, Array) for a in args):
        raise TypeError("map_blocks(func, *arrays): every positional argument must be an Array")
    try:
        with_info = "block_info" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        with_info = False
    f = functools.partial(func, **kwargs) if kwargs else func
    if dtype is None and meta is not None:
        dtype = np.asarray(meta).dtype
    if dtype is None:
        dtype = _infer_dtype(f, arrays, with_info)
    if chunks is not None:
        chunks = [list(c) if isinstance(c, (tuple, list)) else [int(c)] for c in chunks]
    return Array(
        _brickwork.map_blocks(
            f,
            [a._a for a in arrays],
            name or getattr(func, "__name__", "map_blocks"),
            dtype=_dtype_name(dtype) if dtype is not None else None,
            chunks=chunks,
            drop_axis=_axes(drop_axis),
            new_axis=_axes(new_axis),
            with_info=with_info,
        )
    )


def _infer_dtype(func, arrays, with_info):
    """The dtype ``func`` gives for blocks of ``arrays``' dtypes: run on 0-size arrays
    (dask's ``meta``), else on 1-element arrays of ones (dask's ``apply_infer_dtype``)."""
    extra = {"block_info": None} if with_info else {}
    errors, last = [], None
    for make in (np.empty, np.ones):
        tries = [make((0 if make is np.empty else 1,) * a.ndim, dtype=a.dtype) for a in arrays]
        try:
            with np.errstate(all="ignore"):
                out = func(*tries, **extra)
            return np.asarray(out).dtype
        except Exception as e:  # the function's own error on a tiny input
            errors.append(f"{type(e).__name__}: {e}")
            last = e
    raise ValueError(
        f"map_blocks could not infer the dtype of {getattr(func, '__name__', 'the function')} "
        f"by calling it on 0-size and 1-element arrays ({'; '.join(errors)}); give dtype="
    ) from last


def compute(*args, **kwargs):
    """Computes several arrays in one pass (what they share is read and computed once)
    and returns a tuple of their values; other arguments are returned as they are.

    Keywords as ``Array.compute``: ``scheduler``, ``num_workers``, ``memory_limit``.
    """
    opts = _config.options(**kwargs)
    positions = [i for i, a in enumerate(args) if isinstance(a, Array)]
    values = _brickwork.compute_many([args[i]._a for i in positions], opts) if positions else []
    out = list(args)
    for i, v in zip(positions, values):
        out[i] = _unwrap0(v)
    return tuple(out)


# --------------------------------------------------------------------------- ufuncs


_UNARY = [
    "negative", "positive", "absolute", "fabs", "sqrt", "exp", "log", "log10", "log2", "log1p",
    "expm1", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "rint",
    "floor", "ceil", "trunc", "sign", "isnan", "isinf", "isfinite", "invert", "logical_not",
    "bitwise_not",
]
_BINARY = [
    "add", "subtract", "multiply", "true_divide", "divide", "floor_divide", "remainder", "mod",
    "power", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "bitwise_and", "bitwise_or", "bitwise_xor", "logical_and", "logical_or", "logical_xor",
    "minimum", "maximum", "arctan2", "hypot",
]


def _unary_function(name):
    def f(x):
        if not isinstance(x, Array):
            return getattr(np, name)(x)
        if name.startswith("logical") and x.dtype != bool:
            x = x.astype(bool)
        return Array(x._a.unary(name))

    f.__name__ = name
    f.__doc__ = f"NumPy's ``{name}``, elementwise and lazy."
    return f


def _binary_function(name):
    def f(x, y):
        if name.startswith("logical"):
            x = x.astype(bool) if isinstance(x, Array) else x
            y = y.astype(bool) if isinstance(y, Array) else y
        if isinstance(x, Array):
            out = x._binary(name, y)
        elif isinstance(y, Array):
            out = y._binary(name, x, reflected=True)
        else:
            return getattr(np, name)(x, y)
        if out is NotImplemented:
            raise TypeError(f"{name}: unsupported operand types {type(x).__name__}, {type(y).__name__}")
        return out

    f.__name__ = name
    f.__doc__ = f"NumPy's ``{name}``, elementwise and lazy."
    return f


UFUNCS = {}
for _n in _UNARY:
    UFUNCS[_n] = _unary_function(_n)
for _n in _BINARY:
    UFUNCS[_n] = _binary_function(_n)
globals().update(UFUNCS)
abs = UFUNCS["absolute"]  # noqa: A001  (dask.array.abs)
minimum = UFUNCS["minimum"]
maximum = UFUNCS["maximum"]
