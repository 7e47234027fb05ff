"""What a Python user relies on: the GIL released while computing, Ctrl-C, exceptions."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import brickwork.array as da
from brickwork.distributed import Client


def test_gil_released_while_computing():
    x = da.random.default_rng(0).random((3000, 3000), chunks=(500, 500))
    work = (x + x.T).sum(axis=0)
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    try:
        # Computes again and again for 0.3 s (one compute takes a few ms on a quiet machine).
        # Were the GIL held while computing, the other thread would tick at most once between
        # two computes; with it released, about once a millisecond.
        before, runs, start = len(ticks), 0, time.perf_counter()
        while time.perf_counter() - start < 0.3:
            work.compute(scheduler="threads", num_workers=2)
            runs += 1
        during = len(ticks) - before
    finally:
        done.set()
        t.join()
    assert during > 2 * runs + 20, (
        f"another Python thread ticked {during} times in {runs} computes: the GIL was held"
    )


def test_ctrl_c_raises_keyboard_interrupt(tmp_path):
    script = textwrap.dedent(
        f"""
        import signal, sys, time
        # A shell starts background jobs with SIGINT ignored, and Python then keeps it ignored
        # (CI runs the tests that way): a user at a terminal has Python's handler.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import brickwork.array as da
        x = da.random.default_rng(0).random((24000, 24000), chunks=(1000, 1000))
        print("start", flush=True)
        t = time.monotonic()
        try:
            (x + x.T).to_zarr({str(tmp_path / "out.zarr")!r}, scheduler="threads", num_workers=2)
        except KeyboardInterrupt:
            print("interrupted after", round(time.monotonic() - t, 2), flush=True)
            sys.exit(3)
        print("finished", flush=True)
        """
    )
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                         env=os.environ.copy())
    assert p.stdout.readline().strip() == "start"
    time.sleep(1.0)
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=60)
    waited = time.monotonic() - sent
    assert p.returncode == 3, out
    assert "interrupted" in out
    assert waited < 20, f"KeyboardInterrupt took {waited:.1f} s"
    # The output is not marked complete: opening it refuses.
    with pytest.raises(OSError, match="incomplete|interrupted"):
        da.from_zarr(tmp_path / "out.zarr")


def test_errors_map_to_python_exceptions(tmp_path):
    a = da.zeros((4, 6), chunks=(2, 3))
    b = da.zeros((5,), chunks=5)
    with pytest.raises(ValueError, match=r"shapes \(4, 6\) and \(5,\)"):
        (a + b).compute()
    with pytest.raises(np.exceptions.AxisError):
        a.sum(axis=2)
    with pytest.raises(IndexError):
        a[9]
    with pytest.raises(TypeError):
        da.zeros((3,), dtype="float16")
    with pytest.raises(FileNotFoundError, match="missing.zarr"):
        da.from_zarr(tmp_path / "missing.zarr")
    with pytest.raises(MemoryError, match="chunk"):
        (da.ones((2000, 2000), chunks=(2000, 2000)) + 1).compute(memory_limit=64 * 1024)
    (a + 1).to_zarr(tmp_path / "a.zarr")
    with pytest.raises(OSError, match="already exists"):
        (a + 1).to_zarr(tmp_path / "a.zarr")


def test_client_context_sets_the_default_scheduler():
    x = da.random.default_rng(5).random((400, 400), chunks=(100, 100))
    want = (x + x.T).mean(axis=1).compute(scheduler="synchronous")
    with Client(processes=False, threads_per_worker=2, n_workers=2, memory_limit="64MB") as client:
        assert client.dashboard_link and client.dashboard_link.startswith("http://127.0.0.1:")
        assert client.memory_limit == 64_000_000
        np.testing.assert_array_equal((x + x.T).mean(axis=1).compute(), want)
        np.testing.assert_array_equal(client.compute((x + x.T).mean(axis=1)), want)
    client.close()
    assert client.status == "closed"
