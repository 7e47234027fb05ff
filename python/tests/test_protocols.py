"""NumPy's protocols: __array__, __array_ufunc__, __array_function__, zero copy."""

import numpy as np
import pytest

import brickwork.array as da


@pytest.fixture
def x_np(rng):
    return rng.random((12, 10))


@pytest.fixture
def x(x_np):
    return da.from_array(x_np, chunks=(5, 4))


def test_asarray_computes(x, x_np):
    out = np.asarray(x)
    np.testing.assert_array_equal(out, x_np)
    assert np.array(x, dtype="float32").dtype == np.float32
    assert np.asarray(x, copy=True) is not None


def test_ufuncs_stay_lazy(x, x_np):
    for expr in (lambda m, a: np.sin(a), lambda m, a: np.add(a, a), lambda m, a: np.multiply(2, a),
                 lambda m, a: np.maximum(a, x_np), lambda m, a: np.sqrt(a) + np.log1p(a)):
        out = expr(np, x)
        assert isinstance(out, da.Array)
        np.testing.assert_allclose(out.compute(), expr(np, x_np), rtol=1e-14)
    # A NumPy array on the left: NumPy defers to brickwork.
    assert isinstance(x_np + x, da.Array)
    np.testing.assert_allclose((x_np - x).compute(), np.zeros_like(x_np))


def test_unknown_ufunc_is_a_type_error(x):
    with pytest.raises(TypeError, match="gcd"):
        np.gcd(x.astype("int64"), 2)
    with pytest.raises(TypeError, match="reduce"):
        np.add.reduce(x)


def test_array_functions_stay_lazy(x, x_np):
    assert isinstance(np.sum(x), da.Array)
    np.testing.assert_allclose(np.sum(x).compute(), x_np.sum())
    np.testing.assert_allclose(np.mean(x, axis=0).compute(), x_np.mean(axis=0))
    np.testing.assert_allclose(np.std(x, axis=1, keepdims=True).compute(), x_np.std(axis=1, keepdims=True))
    out = np.concatenate([x, x], axis=1)
    assert isinstance(out, da.Array) and out.shape == (12, 20)
    np.testing.assert_allclose(np.transpose(x).compute(), x_np.T)
    np.testing.assert_allclose(np.where(x > 0.5, x, 0).compute(), np.where(x_np > 0.5, x_np, 0))
    assert np.shape(x) == (12, 10)


def test_unknown_function_is_a_type_error(x):
    with pytest.raises(TypeError, match="eig"):
        np.linalg.eig(x)
    with pytest.raises(TypeError, match="sort"):
        np.sort(x)


def test_zero_copy_in(x_np):
    # The NumPy buffer is read in place: a change made after from_array is seen.
    a = x_np.copy()
    y = da.from_array(a, chunks=(5, 4))
    a[3, 3] = 42.0
    assert y[3, 3].compute() == 42.0


def test_zero_copy_out(x):
    out = x.compute()
    # NumPy took the result's buffer over: it does not own it, a Rust allocation does.
    assert not out.flags.owndata and out.base is not None
    assert out.flags.c_contiguous and out.flags.writeable
    view = np.asarray(out)
    assert np.shares_memory(view, out)


def test_non_contiguous_input(x_np):
    t = x_np.T  # Fortran order: copied once
    np.testing.assert_array_equal(da.from_array(t, chunks=4).compute(), t)
    np.testing.assert_array_equal(da.from_array(x_np[::2, ::3], chunks=2).compute(), x_np[::2, ::3])
    np.testing.assert_array_equal(da.from_array([[1, 2], [3, 4]]).compute(), [[1, 2], [3, 4]])
