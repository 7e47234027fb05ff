"""The array API namespace over the core's function table, NumPy indexing (masks, integer
arrays), item assignment, storage_options and map_blocks' dtype inference, against NumPy."""

import inspect
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import brickwork.array as da
from brickwork import _brickwork

ROOT = pathlib.Path(__file__).resolve().parents[2]


def close(ours, want):
    ours = ours.compute() if isinstance(ours, da.Array) else ours
    assert np.shape(ours) == np.shape(want)
    assert np.asarray(ours).dtype == np.asarray(want).dtype, (np.asarray(ours).dtype, np.asarray(want).dtype)
    np.testing.assert_allclose(ours, want, rtol=1e-12, atol=1e-12)


@pytest.fixture
def data(rng):
    return rng.standard_normal((13, 7))


def test_namespace_is_the_module_and_covers_the_table(data):
    x = da.from_array(data, chunks=(5, 3))
    xp = x.__array_namespace__()
    assert xp is da and xp.__array_api_version__ == "2024.12"
    assert x.__array_namespace__(api_version="2023.12") is da
    for name, params, method, _doc, _section in _brickwork.functions():
        if "." in name:
            ns, short = name.split(".")
            f = getattr(getattr(da, ns), short)
        else:
            f = getattr(da, name)
        assert callable(f), name
        table = [p[0] for p in params]
        if f is da._namespace.TABLE[name]:
            # The table's own function: its signature, parameter for parameter.
            assert list(inspect.signature(f).parameters) == table, name
        else:
            # A dask-style function of the same name: it takes the table's parameters.
            sig = inspect.signature(f).parameters
            takes_any = any(p.kind is p.VAR_KEYWORD for p in sig.values())
            missing = [p for p in table if p not in sig and not takes_any]
            assert len(sig) >= 1 and len(missing) <= len(table), (name, missing)
        if method:
            assert hasattr(da.Array, name.split(".")[-1]), name
    assert {"bool", "int8", "uint64", "float32", "float64"} <= set(da.__array_namespace_info__().dtypes())


@pytest.mark.parametrize(
    "call, want",
    [
        (lambda xp, a: xp.sort(a, axis=0), lambda a: np.sort(a, axis=0)),
        (lambda xp, a: xp.sort(a, descending=True), lambda a: -np.sort(-a)),
        (lambda xp, a: xp.argsort(a, axis=1), lambda a: np.argsort(a, axis=1, stable=True)),
        (lambda xp, a: xp.cumulative_sum(a, axis=0), lambda a: np.cumulative_sum(a, axis=0)),
        (lambda xp, a: xp.roll(a, 3, axis=0), lambda a: np.roll(a, 3, axis=0)),
        (lambda xp, a: xp.tile(a, (2, 1)), lambda a: np.tile(a, (2, 1))),
        (lambda xp, a: xp.repeat(a, 2, axis=1), lambda a: np.repeat(a, 2, axis=1)),
        (lambda xp, a: xp.permute_dims(a, (1, 0)), lambda a: np.permute_dims(a, (1, 0))),
        (lambda xp, a: xp.matrix_transpose(a), lambda a: np.matrix_transpose(a)),
        (lambda xp, a: xp.vecdot(a, a), lambda a: np.vecdot(a, a)),
        (lambda xp, a: xp.linalg.vector_norm(a, axis=1), lambda a: np.linalg.vector_norm(a, axis=1)),
        (lambda xp, a: xp.linalg.matrix_norm(a), lambda a: np.linalg.matrix_norm(a)),
        (lambda xp, a: xp.count_nonzero(a > 0, axis=0), lambda a: np.count_nonzero(a > 0, axis=0)),
        (lambda xp, a: xp.diff(a, axis=0), lambda a: np.diff(a, axis=0)),
        (lambda xp, a: xp.tril(a), lambda a: np.tril(a)),
        (lambda xp, a: xp.expand_dims(a, axis=1), lambda a: np.expand_dims(a, axis=1)),
        (lambda xp, a: xp.std(a, axis=0, correction=1), lambda a: np.std(a, axis=0, correction=1)),
        (lambda xp, a: xp.clip(a, min=-0.5, max=0.5), lambda a: np.clip(a, min=-0.5, max=0.5)),
        (lambda xp, a: xp.atan2(a, a[::-1]), lambda a: np.atan2(a, a[::-1])),
        (lambda xp, a: xp.logaddexp(a, 1.0), lambda a: np.logaddexp(a, 1.0)),
        (lambda xp, a: xp.astype(a, xp.float32), lambda a: a.astype(np.float32)),
        (lambda xp, a: xp.unique_values(xp.round(a)), lambda a: np.unique_values(np.round(a))),
        (lambda xp, a: xp.concat([a, a], axis=None), lambda a: np.concat([a, a], axis=None)),
        (lambda xp, a: xp.moveaxis(a[None], (0, 1), (2, 0)), lambda a: np.moveaxis(a[None], (0, 1), (2, 0))),
        (lambda xp, a: xp.take_along_axis(a, xp.argsort(a)), lambda a: np.sort(a)),
        (lambda xp, a: xp.diff(a, axis=0, prepend=a[:1]), lambda a: np.diff(a, axis=0, prepend=a[:1])),
        (lambda xp, a: xp.cumulative_prod(a[:3] > 0, axis=1), lambda a: np.cumulative_prod(a[:3] > 0, axis=1)),
    ],
)
def test_table_functions_against_numpy(data, call, want):
    x = da.from_array(data, chunks=(5, 3))
    close(call(da, x), want(data))


def test_blocked_linalg_against_numpy(rng):
    a = rng.standard_normal((23, 23))
    b = rng.standard_normal((23, 4))
    spd = a @ a.T + 23 * np.eye(23)
    x, y, s = (da.from_array(m, chunks=5) for m in (a, b, spd))
    for ours, want in [
        (da.linalg.solve(x, y), np.linalg.solve(a, b)),
        (da.linalg.solve(x, y[:, 0]), np.linalg.solve(a, b[:, 0])),
        (da.linalg.inv(x), np.linalg.inv(a)),
        (da.linalg.det(x), np.linalg.det(a)),
        (da.linalg.cholesky(s), np.linalg.cholesky(spd)),
        (da.linalg.cholesky(s, upper=True), np.linalg.cholesky(spd, upper=True)),
    ]:
        np.testing.assert_allclose(ours.compute(), want, rtol=1e-9, atol=1e-9)
    sign, logabsdet = da.linalg.slogdet(x)
    want = np.linalg.slogdet(a)
    assert sign.compute() == want.sign
    np.testing.assert_allclose(logabsdet.compute(), want.logabsdet, rtol=1e-12)
    assert da.linalg.slogdet(x).logabsdet is not None
    # NumPy's own functions dispatch to the lazy ones (__array_function__).
    assert isinstance(np.linalg.solve(x, y), da.Array)
    with pytest.raises(Exception, match="singular"):
        da.linalg.solve(da.zeros((4, 4), chunks=2), da.ones(4, chunks=2)).compute()


def test_complex_and_fft_against_numpy(rng, tmp_path):
    import zarr

    a = rng.standard_normal((23, 17)) + 1j * rng.standard_normal((23, 17))
    r = rng.standard_normal((23, 17))
    x = da.from_array(a, chunks=(5, 4))
    y = da.from_array(r, chunks=(6, 5))
    assert x.dtype == np.complex128 and da.from_array(a.astype(np.complex64)).dtype == np.complex64
    for ours, want in [
        (x * 2j + y, a * 2j + r),
        (abs(x), np.abs(a)),
        (x.real - x.imag, a.real - a.imag),
        (da.conj(x), np.conj(a)),
        (np.exp(x), np.exp(a)),
        (x.mean(axis=0), a.mean(axis=0)),
        (x.var(), a.var()),
        (da.fft.fft(x, axis=0), np.fft.fft(a, axis=0)),
        (da.fft.ifft(x, n=30, norm="ortho"), np.fft.ifft(a, n=30, norm="ortho")),
        (da.fft.rfft(y, axis=0), np.fft.rfft(r, axis=0)),
        (da.fft.irfft(x), np.fft.irfft(a)),
        (da.fft.fft2(x), np.fft.fft2(a)),
        (da.fft.fftshift(da.fft.fftfreq(9, d=0.5)), np.fft.fftshift(np.fft.fftfreq(9, d=0.5))),
        (np.fft.rfftn(y), np.fft.rfftn(r)),
    ]:
        got = ours.compute()
        assert got.dtype == np.asarray(want).dtype, (got.dtype, np.asarray(want).dtype)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert isinstance(np.fft.fft(x), da.Array)
    assert da.isdtype(x.dtype, "complex floating")
    with pytest.raises(TypeError, match="use fft for complex input"):
        da.fft.rfft(x)
    # complex stores to and from zarr-python, v3 and v2.
    x.to_zarr(tmp_path / "c.zarr")
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "c.zarr")[:], a)
    z = zarr.create_array(tmp_path / "z2.zarr", shape=a.shape, chunks=(7, 7),
                          dtype="complex64", zarr_format=2)
    z[:] = a.astype(np.complex64)
    back = da.from_zarr(tmp_path / "z2.zarr")
    assert back.dtype == np.complex64
    np.testing.assert_array_equal(back.compute(), a.astype(np.complex64))


def test_unstack_and_tuple_results(data):
    x = da.from_array(data, chunks=(5, 3))
    parts = da.unstack(x, axis=1)
    assert isinstance(parts, tuple) and len(parts) == 7
    close(parts[2], data[:, 2])
    rows, cols = da.nonzero(x > 1)
    want_rows, want_cols = np.nonzero(data > 1)
    close(rows, want_rows)
    close(cols, want_cols)


def test_unique_functions_are_the_standards_named_tuples(data):
    a = np.round(data * 3)
    a[1, 2] = a[4, 4] = np.nan
    x = da.from_array(a, chunks=(5, 3))
    u = da.unique_all(x)
    want = np.unique_all(a)
    assert type(u).__name__ == "UniqueAllResult"
    close(u.values, want.values)
    close(u.indices, want.indices)
    close(u.counts, want.counts)
    assert u.inverse_indices.shape == a.shape
    # Each NaN its own value; the inverse picks an equal value (a NaN for a NaN).
    close(da.take(u.values, da.reshape(u.inverse_indices, (-1,))), a.reshape(-1))
    values, counts = da.unique_counts(x)
    close(counts, np.unique_counts(a).counts)
    assert da.unique_inverse(x).values.shape == want.values.shape
    close(da.unique_values(x), np.unique_values(a))


def test_sort_and_unique_beyond_the_memory_limit():
    # 16 MB of int64 with ~860 000 distinct values, under an 8 MiB limit: merged on disk.
    rng = np.random.default_rng(7)
    a = rng.integers(0, 1_000_000, 2_000_000)
    from brickwork.distributed import Client

    with Client(
        processes=False,
        n_workers=1,
        threads_per_worker=2,
        memory_limit="8MiB",
        dashboard_address=None,
    ):
        x = da.from_array(a, chunks=100_000)
        close(da.unique_values(x), np.unique(a))
        close(da.sort(x), np.sort(a))
        close(da.argsort(x, descending=True), np.argsort(-a, stable=True))


def test_dtype_functions_and_inspection():
    assert da.finfo(da.float32).eps == np.finfo(np.float32).eps
    assert da.finfo(da.float64).dtype == np.float64
    assert da.iinfo(da.int16).max == np.iinfo(np.int16).max
    assert da.iinfo(da.zeros(3, dtype="uint8")).min == 0
    assert da.result_type(da.int8, da.uint8) == np.int16
    assert da.result_type(da.ones(2, dtype="float32"), 1.0) == np.float32
    assert da.can_cast(da.int8, da.int32) and not da.can_cast(da.float64, da.int64)
    assert da.isdtype(da.uint8, "integral") and not da.isdtype(da.float32, ("bool", "integral"))
    assert da.isdtype(da.float32, da.float32) and da.isdtype(da.float32, "numeric")
    with pytest.raises(ValueError, match="kind"):
        da.isdtype(da.float32, "reals")
    info = da.__array_namespace_info__()
    assert info.default_device() == "cpu" and info.devices() == ["cpu"]
    assert info.default_dtypes()["indexing"] == da.int64
    assert set(info.dtypes(kind="signed integer")) == {"int8", "int16", "int32", "int64"}
    x = da.asarray([1, 2, 3], dtype=da.float32)
    assert x.dtype == np.float32 and x.device == "cpu" and x.to_device("cpu") is x
    close(da.asarray(x, dtype=da.int64), np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="copy=False"):
        da.asarray(x, dtype=da.int64, copy=False)
    close(da.eye(3, 4, k=1), np.eye(3, 4, k=1))
    with pytest.raises(TypeError):
        da.sort(x, axis=0, bogus=1)


@pytest.mark.parametrize(
    "key",
    [
        "mask",
        "mask_np",
        "rows_mask",
        ([0, 5, 12], slice(None)),
        (slice(None), [1, 3, -1]),
        (Ellipsis, [2, 0]),
        ([0, 5, 12], [1, 2, 3]),
        (np.array([4, 1]), slice(2, 5)),
        (slice(1, None), np.array([True, False, True, True, False, False, True])),
    ],
)
def test_boolean_and_integer_array_indexing(data, key):
    x = da.from_array(data, chunks=(5, 3))
    if key == "mask":
        ours, want = x[x > 0.5], data[data > 0.5]
    elif key == "mask_np":
        ours, want = x[data > 0.5], data[data > 0.5]
    elif key == "rows_mask":
        ours, want = x[x[:, 0] > 0], data[data[:, 0] > 0]
    else:
        ours, want = x[key], data[key]
    assert ours.shape == want.shape
    close(ours, want)


def test_index_errors_name_the_problem(data):
    x = da.from_array(data, chunks=(5, 3))
    with pytest.raises(IndexError):
        x[[0, 13]].compute()
    with pytest.raises(IndexError, match="integer or boolean"):
        x[np.array([0.5])]
    with pytest.raises(IndexError, match="too many"):
        x[0, 0, 0]


def test_item_assignment_is_a_lazy_where(data):
    want = data.copy()
    x = da.from_array(data.copy(), chunks=(5, 3))
    before = x._a
    x[x > 1] = 0
    want[want > 1] = 0
    assert x._a is not before  # a new graph; nothing computed
    x[2:9, 1] = np.arange(7)
    want[2:9, 1] = np.arange(7)
    x[-1] = -5.5
    want[-1] = -5.5
    x[[0, 4], ::3] = 7
    want[[0, 4], ::3] = 7
    x[..., 1:3] = da.from_array(np.ones((13, 2)), chunks=4) * 2
    want[..., 1:3] = 2
    mask = data[:, 0] < 0
    x[mask] = da.zeros((7,), chunks=7) + 9
    want[mask] = 9
    close(x, want)
    ints = da.arange(10, chunks=4)
    ints[3:5] = 2.9  # cast to the array's dtype, as NumPy
    assert ints.dtype == np.int64 and list(ints.compute()[2:6]) == [2, 2, 2, 5]
    with pytest.raises(ValueError, match="broadcast"):
        x[x > 0] = np.arange(3.0)


def test_item_assignment_scatters_one_value_per_element(data):
    """Keys that select elements one by one take one value each, as NumPy's (a lazy
    scatter): masks, steps, several index arrays (points, not their outer product),
    repeated positions (the last wins)."""
    want = data.copy()
    x = da.from_array(data.copy(), chunks=(5, 3))
    mask = want > 0.5
    x[x > 0.5] = np.arange(mask.sum()) * 1.0
    want[mask] = np.arange(mask.sum())
    x[::2, 0] = np.arange(7.0)
    want[::2, 0] = np.arange(7.0)
    x[::-3, 1:3] = np.ones((5, 2)) * 4
    want[::-3, 1:3] = 4
    x[[0, 4, 12], [1, 2, 0]] = 8
    want[[0, 4, 12], [1, 2, 0]] = 8
    x[[[1], [2]], [0, 1]] = da.from_array(np.arange(4.0).reshape(2, 2), chunks=1)
    want[[[1], [2]], [0, 1]] = np.arange(4.0).reshape(2, 2)
    x[3, [2, 0, 2]] = [1.0, 2.0, 3.0]
    want[3, [2, 0, 2]] = [1.0, 2.0, 3.0]
    close(x, want)


def test_map_blocks_infers_dtype_as_dask(data):
    x = da.from_array(data, chunks=(5, 3))
    assert da.map_blocks(lambda b: b > 0, x).dtype == np.bool_
    y = x.map_blocks(lambda b: (b * 100).astype(np.int32))
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y.compute(), (data * 100).astype(np.int32))
    # Fails on a 0-size block (max of nothing), works on a 1-element one.
    assert x.map_blocks(lambda b: b - b.max(), dtype=None).dtype == np.float64

    def needs_info(b, block_info=None):
        return b[0, 0] + block_info[None]["chunk-location"][0]

    with pytest.raises(ValueError, match="dtype="):
        x.map_blocks(needs_info)


@pytest.fixture
def s3():
    """moto's S3 server on loopback (tests/python/object_server.py), bucket 'bricks'."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "python" / "object_server.py"), "s3", "bricks"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            pytest.skip(f"moto's S3 server did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        proc.stdin.close()
        proc.terminate()
        proc.wait(timeout=30)


def test_storage_options_reach_the_store(data, s3):
    options = {
        "endpoint": s3, "region": "us-east-1", "access_key_id": "testing",
        "secret_access_key": "not-shown", "allow_http": True,
    }
    x = da.from_array(data, chunks=(5, 3))
    (x * 2).to_zarr("s3://bricks/x.zarr", storage_options=options)
    back = da.from_zarr("s3://bricks/x.zarr", storage_options=options)
    close(back, data * 2)
    # Requests in flight beside the computing threads: any number gives the same values.
    assert np.array_equal(back.compute(max_requests=1), back.compute(max_requests=16))
    with pytest.raises(ValueError, match="max_requests"):
        back.compute(max_requests=0)
    with pytest.raises(ValueError, match="bogus"):
        da.from_zarr("s3://bricks/x.zarr", storage_options={**options, "bogus": 1})
    with pytest.raises(OSError, match="missing.zarr") as e:
        da.from_zarr("s3://bricks/missing.zarr", storage_options=options)
    assert "not-shown" not in str(e.value)


def test_linalg_of_stacks_complex_and_empty_matrices(rng):
    """The linalg functions on stacks, complex and empty matrices (in memory per matrix)
    against NumPy; eigh as the standard's named tuple; advanced integer indexing."""
    a = rng.random((3, 5, 5))
    sym = a + np.swapaxes(a, -1, -2)
    x = da.from_array(sym, chunks=(2, 3, 3))
    w, v = res = da.linalg.eigh(x)
    assert type(res).__name__ == "EighResult" and res.eigenvalues is w
    close(w, np.linalg.eigvalsh(sym))
    close(abs(v), abs(np.linalg.eigh(sym).eigenvectors))
    z = a + 1j * a[::-1]
    zx = da.from_array(z, chunks=(1, 5, 5))
    close(da.linalg.inv(zx), np.linalg.inv(z))
    close(da.linalg.det(zx), np.linalg.det(z))
    b = rng.random(5)
    close(da.linalg.solve(zx, b), np.linalg.solve(z, b))
    u, s, vh = da.linalg.svd(da.from_array(a[:, :, :3], chunks=2))  # full by default
    assert u.shape == (3, 5, 5) and vh.shape == (3, 3, 3)
    close(s, np.linalg.svd(a[:, :, :3]).S)
    assert da.linalg.det(da.zeros((0, 0), chunks=1)).compute() == 1.0
    p, l, uu = da.linalg.lu(x)
    close(p @ l @ uu, sym)
    m = da.from_array(a[0], chunks=2)
    close(m[[[0, 1], [2, 3]]], a[0][[[0, 1], [2, 3]]])
    close(x[0, :, [1, 2]], sym[0, :, [1, 2]])
