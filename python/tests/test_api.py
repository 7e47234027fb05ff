"""brickwork.array against NumPy and dask.array on the same inputs."""

import numpy as np
import pytest

import brickwork
import brickwork.array as da

dask_array = pytest.importorskip("dask.array")


def close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)


@pytest.fixture
def data(rng):
    return rng.standard_normal((13, 17))


def test_properties_match_dask(data):
    x = da.from_array(data, chunks=(5, 6))
    d = dask_array.from_array(data, chunks=(5, 6))
    assert x.shape == d.shape and x.dtype == d.dtype and x.ndim == d.ndim
    assert x.chunks == d.chunks and x.chunksize == d.chunksize
    assert x.npartitions == d.npartitions and x.nbytes == d.nbytes and x.size == d.size
    assert x.T.shape == d.T.shape and x.T.chunks == d.T.chunks
    assert x.rechunk((4, 17)).chunks == d.rechunk((4, 17)).chunks
    assert x.rechunk({0: 3}).chunks == d.rechunk({0: 3}).chunks
    assert da.ones((10, 7), chunks=-1).chunks == dask_array.ones((10, 7), chunks=-1).chunks


@pytest.mark.parametrize(
    "expr",
    [
        lambda m, x, y: x + y,
        lambda m, x, y: x - 2 * y,
        lambda m, x, y: 3.5 / (m.abs(y) + 1),
        lambda m, x, y: x**2 - y % 3,
        lambda m, x, y: -x // 0.7,
        lambda m, x, y: (x > y) | (x < 0.1),
        lambda m, x, y: ~(x >= y),
        lambda m, x, y: m.sin(x) * m.exp(y / 10) + m.sqrt(m.abs(x)),
        lambda m, x, y: m.where(x > 0, x, y),
        lambda m, x, y: m.maximum(x, 0.2) + m.minimum(y, x),
        lambda m, x, y: 2 - x,
        lambda m, x, y: (x + x.T[:13, :13].sum()) if False else x @ y.T,
        lambda m, x, y: abs(x).round(2),
        lambda m, x, y: x.clip(-0.5, 0.5),
    ],
)
def test_elementwise_against_numpy_and_dask(data, expr):
    y_np = data[::-1] * 0.5 + 0.25
    x, y = da.from_array(data, chunks=(5, 6)), da.from_array(y_np, chunks=(4, 17))
    dx, dy = dask_array.from_array(data, chunks=(5, 6)), dask_array.from_array(y_np, chunks=(4, 17))
    ours = expr(da, x, y).compute()
    close(ours, expr(np, data, y_np))
    close(ours, expr(dask_array, dx, dy).compute())


@pytest.mark.parametrize("method", ["sum", "mean", "std", "var", "min", "max", "prod"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(data, method, axis, keepdims):
    x = da.from_array(data, chunks=(5, 6))
    d = dask_array.from_array(data, chunks=(5, 6))
    ours = getattr(x, method)(axis=axis, keepdims=keepdims).compute()
    want = getattr(data, method)(axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(ours, want, rtol=1e-10)
    np.testing.assert_allclose(ours, getattr(d, method)(axis=axis, keepdims=keepdims).compute(), rtol=1e-10)
    assert np.shape(ours) == np.shape(want)


def test_more_reductions(data):
    x = da.from_array(data, chunks=(5, 6))
    assert x.std(ddof=1).compute() == pytest.approx(data.std(ddof=1))
    assert x.argmax().compute() == data.argmax()
    np.testing.assert_array_equal(x.argmin(axis=0).compute(), data.argmin(axis=0))
    np.testing.assert_array_equal((x > 0).any(axis=1).compute(), (data > 0).any(axis=1))
    np.testing.assert_array_equal((x > -5).all(axis=0).compute(), (data > -5).all(axis=0))
    close(x.cumsum(axis=1).compute(), data.cumsum(axis=1))
    s32 = x.sum(dtype="float32").compute()
    assert s32.dtype == np.float32 and s32 == pytest.approx(data.astype("float32").sum(), rel=1e-5)
    assert isinstance(x.sum().compute(), np.float64)


@pytest.mark.parametrize(
    "key",
    [
        3,
        -1,
        (slice(None, None, 2), slice(5, None)),
        (slice(None, None, -3), 4),
        (Ellipsis, 2),
        (None, slice(1, 8), None, Ellipsis),
        (Ellipsis, None),
        (2, Ellipsis, None),
        (slice(-5, None), slice(None, 3)),
        ([0, 4, 2],),
        (slice(1, 3), [5, 0]),
        (np.int64(2), slice(None)),
    ],
)
def test_indexing(data, key):
    x = da.from_array(data, chunks=(5, 6))
    ours = x[key]
    want = data[key]
    assert ours.shape == want.shape
    close(ours.compute(), want)


def test_index_errors(data):
    x = da.from_array(data, chunks=(5, 6))
    with pytest.raises(IndexError):
        x[20]
    with pytest.raises(IndexError):
        x[0, 0, 0]
    with pytest.raises(ValueError):
        x[::0]


def test_creation_against_numpy():
    close(da.zeros((5, 4), chunks=2).compute(), np.zeros((5, 4)))
    close(da.ones((5,), dtype="int32", chunks=2).compute(), np.ones(5, dtype="int32"))
    assert da.ones((5,), dtype="int32", chunks=2).dtype == np.int32
    close(da.full((3, 3), 7.5, chunks=2).compute(), np.full((3, 3), 7.5))
    np.testing.assert_array_equal(da.arange(10, chunks=3).compute(), np.arange(10))
    close(da.arange(0.5, 3.0, 0.25, chunks=4).compute(), np.arange(0.5, 3.0, 0.25))
    close(da.linspace(0, 1, 11, chunks=4).compute(), np.linspace(0, 1, 11))
    close(da.eye(5, chunks=2).compute(), np.eye(5))
    close(da.eye(4, M=6, k=1, chunks=3).compute(), np.eye(4, 6, k=1))
    a, b = np.arange(12.0).reshape(3, 4), np.ones((2, 4))
    close(da.concatenate([da.from_array(a, chunks=2), da.from_array(b, chunks=2)]).compute(),
          np.concatenate([a, b]))
    close(da.stack([da.from_array(a, chunks=2)] * 3, axis=1).compute(), np.stack([a] * 3, axis=1))


def test_random_is_seeded_and_chunk_invariant():
    a = da.random.default_rng(7).random((100, 80), chunks=(30, 25)).compute()
    b = da.random.default_rng(7).random((100, 80), chunks=(100, 80)).compute()
    np.testing.assert_array_equal(a, b)
    assert 0 <= a.min() and a.max() < 1 and abs(a.mean() - 0.5) < 0.05
    g = da.random.default_rng(7)
    first, second = g.random(50, chunks=10).compute(), g.random(50, chunks=10).compute()
    np.testing.assert_array_equal(first, a.ravel()[:0] if False else first)
    assert not np.array_equal(first, second)
    n = da.random.default_rng(1).normal(2.0, 3.0, size=(200, 200), chunks=50).compute()
    assert abs(n.mean() - 2.0) < 0.1 and abs(n.std() - 3.0) < 0.1
    i = da.random.default_rng(1).integers(0, 10, size=1000, chunks=100).compute()
    assert i.dtype == np.int64 and i.min() >= 0 and i.max() <= 9
    da.random.seed(3)
    s1 = da.random.random((10,), chunks=5).compute()
    da.random.seed(3)
    np.testing.assert_array_equal(s1, da.random.random((10,), chunks=5).compute())
    np.testing.assert_array_equal(s1, da.random.default_rng(3).random(10, chunks=3).compute())


def test_map_blocks_with_python_function(data):
    x = da.from_array(data, chunks=(5, 6))
    y = da.map_blocks(lambda b: b * 2 + 1, x)
    close(y.compute(), data * 2 + 1)
    seen = []

    def f(b, block_info=None):
        seen.append(block_info[None]["chunk-location"])
        return b.sum(axis=1, keepdims=True)

    z = x.map_blocks(f, chunks=((5, 5, 3), (1, 1, 1)), dtype="float64")
    assert z.shape == (13, 3)
    np.testing.assert_allclose(z.compute()[:, 0], data[:, :6].sum(axis=1))
    assert len(seen) == 9


def test_map_blocks_refused_in_worker_processes(data):
    y = da.map_blocks(lambda b: b + 1, da.from_array(data, chunks=5))
    with pytest.raises(RuntimeError, match="worker process"):
        y.compute(scheduler="processes", num_workers=2)


def test_map_blocks_exception_is_raised_unchanged(data):
    class Boom(Exception):
        pass

    def f(b):
        raise Boom("from a block")

    with pytest.raises(Boom, match="from a block"):
        da.map_blocks(f, da.from_array(data, chunks=5), dtype="float64").compute()
    # Without dtype=, the function runs on tiny arrays to infer it (as dask): its error then
    # comes at once, as dask's ValueError asking for dtype=, with the error as the cause.
    with pytest.raises(ValueError, match="give dtype=") as e:
        da.map_blocks(f, da.from_array(data, chunks=5))
    assert isinstance(e.value.__cause__, Boom)


def test_compute_many_and_schedulers(data):
    x = da.from_array(data, chunks=(5, 6))
    a, b, c = brickwork.compute(x.sum(), x.mean(axis=0), 42)
    assert a == pytest.approx(data.sum()) and c == 42
    close(b, data.mean(axis=0))
    want = (x + x.T[:, :13].T if False else x * 2).sum(axis=0).compute()
    for kwargs in [
        dict(scheduler="synchronous"),
        dict(scheduler="threads", num_workers=2),
        dict(scheduler="processes", num_workers=2),
        dict(scheduler="threads", memory_limit="64MiB"),
    ]:
        np.testing.assert_array_equal((x * 2).sum(axis=0).compute(**kwargs), want)
    with pytest.raises(ValueError, match="unknown scheduler"):
        x.compute(scheduler="nope")


def test_persist_beyond_a_quarter_of_the_limit_reads_a_temporary_store():
    values = np.arange(400 * 300, dtype="float64").reshape(400, 300)
    x = da.from_array(values, chunks=(100, 100))
    p = (x * 3).persist(memory_limit="1MB")  # 960 KB: kept in a store, not in memory
    close(p.compute(), values * 3)
    close((p + 1).sum(axis=0).compute(), (values * 3 + 1).sum(axis=0))
    assert p.chunks == x.chunks


def test_persist_and_zarr_roundtrip(tmp_path, data):
    x = da.from_array(data, chunks=(5, 6))
    p = (x * 3).persist()
    close(p.compute(), data * 3)
    assert p.chunks == x.chunks
    path = tmp_path / "x.zarr"
    (x + 1).to_zarr(str(path))
    back = da.from_zarr(str(path))
    assert back.chunks == x.chunks
    close(back.compute(), data + 1)
    da.to_zarr(x, path, overwrite=True, codec="gzip")
    close(da.from_zarr(path).compute(), data)


def test_repr_and_html(data):
    x = da.from_array(data, chunks=(5, 6))
    assert "shape=(13, 17)" in repr(x) and "chunksize=(5, 6)" in repr(x)
    html = x._repr_html_()
    for word in ("Bytes", "Shape", "(5, 6)", "float64", "<svg"):
        assert word in html


def test_visualize(tmp_path, data):
    x = da.from_array(data, chunks=(5, 6)).sum()
    out = x.visualize(filename=str(tmp_path / "g.dot"))
    assert "digraph" in (tmp_path / "g.dot").read_text() and out.endswith("g.dot")
