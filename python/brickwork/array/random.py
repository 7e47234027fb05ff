"""Random arrays: ``da.random.random((n, n), chunks=...)`` and ``da.random.default_rng(seed)``.

brickwork's generator is counter-based (Philox keyed by the seed and each element's
position): an array's values depend only on its seed, never on its chunks, the scheduler
or the number of threads, so ``rechunk(x) == x`` holds exactly.

Seeds. A ``Generator`` (``default_rng(seed)``) gives its first array the key ``seed``
itself, so ``default_rng(0).random(shape)`` equals the Rust ``Array::random(shape, chunks,
0)`` and the Rust tutorial's values; each later array of the same generator gets the next
key of a SplitMix64 sequence started at the seed, so two draws differ. The module-level
functions (``random``, ``normal``, ...) draw from a global generator that starts at seed 0
(deterministic, as every Rust random array names its seed); ``seed(s)`` restarts it at
``s``. ``default_rng()`` without a seed takes one from the operating system.
"""

from __future__ import annotations

import numbers
import secrets
import sys
import types

import numpy as np

from brickwork import _brickwork
from brickwork.array.core import Array, _build, _shape_arg

_MASK = 2**64 - 1


def _splitmix(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


class Generator:
    """NumPy's ``Generator`` over brickwork's counter-based random arrays (see the module
    doc for how seeds are drawn)."""

    def __init__(self, seed=None):
        if seed is None:
            seed = secrets.randbits(64)
        if isinstance(seed, Generator):
            seed = seed._next_key()
        if not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self._seed = int(seed) & _MASK
        self._draws = 0

    def _next_key(self) -> int:
        key = self._seed if self._draws == 0 else _splitmix(self._seed + self._draws)
        self._draws += 1
        return key

    def _make(self, kind, size, chunks, a=0.0, b=1.0, itemsize=8) -> Array:
        shape = _shape_arg(() if size is None else size)
        key = self._next_key()
        return _build(lambda c: _brickwork.random(kind, list(shape), c, key, a, b),
                      shape, chunks, itemsize)

    def random(self, size=None, dtype=np.float64, out=None, chunks="auto", **kwargs) -> Array:
        """Uniform floats in [0, 1)."""
        x = self._make("random", size, chunks)
        return x if np.dtype(dtype) == np.float64 else x.astype(dtype)

    def uniform(self, low=0.0, high=1.0, size=None, chunks="auto", **kwargs) -> Array:
        """Uniform floats in [low, high)."""
        return self._make("uniform", size, chunks, float(low), float(high))

    def normal(self, loc=0.0, scale=1.0, size=None, chunks="auto", **kwargs) -> Array:
        """Normal floats of mean ``loc`` and standard deviation ``scale``."""
        return self._make("normal", size, chunks, float(loc), float(scale))

    def standard_normal(self, size=None, dtype=np.float64, chunks="auto", **kwargs) -> Array:
        """Normal floats of mean 0 and standard deviation 1."""
        x = self._make("normal", size, chunks, 0.0, 1.0)
        return x if np.dtype(dtype) == np.float64 else x.astype(dtype)

    def exponential(self, scale=1.0, size=None, chunks="auto", **kwargs) -> Array:
        """Exponential floats of mean ``scale``."""
        return self._make("exponential", size, chunks, float(scale))

    def poisson(self, lam=1.0, size=None, chunks="auto", **kwargs) -> Array:
        """Poisson int64 values of mean ``lam``."""
        return self._make("poisson", size, chunks, float(lam))

    def binomial(self, n, p, size=None, chunks="auto", **kwargs) -> Array:
        """Binomial int64 values: successes in ``n`` trials of probability ``p``."""
        return self._make("binomial", size, chunks, float(n), float(p))

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False,
                 chunks="auto", **kwargs) -> Array:
        """Uniform integers in [low, high) ([low, high] with ``endpoint``)."""
        if high is None:
            low, high = 0, low
        if endpoint:
            high += 1
        x = self._make("integers", size, chunks, float(int(low)), float(int(high)))
        return x if np.dtype(dtype) == np.int64 else x.astype(dtype)

    def __repr__(self) -> str:
        return f"brickwork.array.random.Generator(seed={self._seed}, draws={self._draws})"


def default_rng(seed=None) -> Generator:
    """A ``Generator`` seeded with ``seed`` (from the operating system when None)."""
    return Generator(seed)


class RandomState(Generator):
    """dask's ``RandomState`` (legacy names over the same generator)."""

    def random_sample(self, size=None, chunks="auto", **kwargs) -> Array:
        """Uniform floats in [0, 1)."""
        return self.random(size, chunks=chunks)

    def randint(self, low, high=None, size=None, dtype=np.int64, chunks="auto", **kwargs):
        """Uniform integers in [low, high)."""
        return self.integers(low, high, size=size, dtype=dtype, chunks=chunks)

    def standard_normal(self, size=None, chunks="auto", **kwargs) -> Array:
        return super().standard_normal(size, chunks=chunks)


_global = RandomState(0)


def seed(s=0) -> None:
    """Restarts the module-level generator at seed ``s``."""
    global _global
    _global = RandomState(s)


def random(size=None, chunks="auto", **kwargs) -> Array:
    """Uniform floats in [0, 1) (the module-level generator)."""
    return _global.random(size, chunks=chunks, **kwargs)


random_sample = random


def uniform(low=0.0, high=1.0, size=None, chunks="auto", **kwargs) -> Array:
    """Uniform floats in [low, high)."""
    return _global.uniform(low, high, size, chunks=chunks)


def normal(loc=0.0, scale=1.0, size=None, chunks="auto", **kwargs) -> Array:
    """Normal floats."""
    return _global.normal(loc, scale, size, chunks=chunks)


def standard_normal(size=None, chunks="auto", **kwargs) -> Array:
    """Normal floats of mean 0 and standard deviation 1."""
    return _global.standard_normal(size, chunks=chunks)


def exponential(scale=1.0, size=None, chunks="auto", **kwargs) -> Array:
    """Exponential floats."""
    return _global.exponential(scale, size, chunks=chunks)


def poisson(lam=1.0, size=None, chunks="auto", **kwargs) -> Array:
    """Poisson int64 values."""
    return _global.poisson(lam, size, chunks=chunks)


def binomial(n, p, size=None, chunks="auto", **kwargs) -> Array:
    """Binomial int64 values."""
    return _global.binomial(n, p, size, chunks=chunks)


def randint(low, high=None, size=None, chunks="auto", **kwargs) -> Array:
    """Uniform integers in [low, high)."""
    return _global.randint(low, high, size, chunks=chunks)


integers = randint


class _RandomModule(types.ModuleType):
    """This module, callable as the core table's ``random(shape, *, chunks=None, seed=0)``
    (the expression language's function of that name), so that ``brickwork.array.random``
    is both dask's module and the table's function."""

    def __call__(self, *args, **kwargs):
        from brickwork.array._namespace import TABLE

        return TABLE["random"](*args, **kwargs)


sys.modules[__name__].__class__ = _RandomModule
