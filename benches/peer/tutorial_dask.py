#!/usr/bin/env python3
"""The dask.array tutorial workload, timed like brickwork's `examples/tutorial.rs`.

    x = da.random.random((n, n), chunks=(c, c))
    v = (x + x.T)[::2, n//2:].mean(axis=1)
    v.compute(scheduler=...)     # or, with --scheduler cluster, on a distributed.Client

--scheduler cluster creates ONE `distributed.Client(processes=False, n_workers=W,
threads_per_worker=T, memory_limit=M)` per process, before the timed runs (as the dask
tutorial does: workers in this process, W x T threads), and computes every run on it; the
client's startup is outside the timings (it is in the process wall time). The dashboard is
off (dashboard_address=None; it needs bokeh, not installed in the peer venv, anyway).
--scheduler processes is dask's multiprocessing scheduler, which starts a new pool of N
worker processes (spawned Python interpreters) inside every compute() call: that start is
inside each run's timing, as a user of `compute(scheduler="processes")` pays it.

Each run builds the graph AND computes it inside the timed region (as a user
experiences it) and prints exactly one line in the Rust example's format, with two fields
more at the end:

    scheduler=<name> threads=<n> seconds=<t> len=<len> first=<v0>,<v1>,<v2>,<v3>,<v4> mean=<m>
        ref_first_max_rel=<r> [ref_full_max_rel=<r>]

(threads and synchronous), or `scheduler=cluster workers=<W> threads=<T> seconds=...` (T
threads per worker) and `scheduler=processes workers=<N> threads=1 seconds=...`, as the
Rust example prints them.

`mean` is the mean of all of v. After the timing, the elements of the same x that the first
values of v depend on (x[0:10:2, n//2:] and x[n//2:, 0:10:2], computed from the same dask
graph, hence the same random numbers) give NumPy's v[:5]; `ref_first_max_rel` is the largest
relative difference between dask's and NumPy's first values. With --check-full (small n
only: it computes all of x), NumPy computes all of v from x and `ref_full_max_rel` compares
every element. --no-check skips both.

The compute-only part (the `compute()` call alone) is reported once, after all
runs, as `compute_only_seconds=<t1>,<t2>,...`, and the peak RSS as
`peak_rss_mb=<x>` (getrusage ru_maxrss of this process; with the processes
scheduler also `peak_rss_children_mb=<x>`). dask's random numbers differ from
brickwork's, so the `first=` values differ; that is expected.

Run with the peer venv: PY=$(scripts/pyenv.sh); $PY benches/peer/tutorial_dask.py --n 10000 --chunk 1000
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--chunk", type=int, default=1_000)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--scheduler", choices=("threads", "synchronous", "processes", "cluster"), default="threads")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for threads, worker processes for processes, threads per worker for "
                        "cluster (default: all cores; cluster: see --threads-per-worker); synchronous "
                        "always uses 1")
    p.add_argument("--workers", type=int, default=None,
                   help="cluster: workers of the Client (default 1); processes: worker processes "
                        "(same as --threads)")
    p.add_argument("--threads-per-worker", type=int, default=None,
                   help="cluster: threads per worker (default: --threads, else all cores)")
    p.add_argument("--memory-limit", default="2GB",
                   help="cluster: memory limit per worker, as distributed takes it (default 2GB)")
    p.add_argument("--warmup", type=int, default=0, help="untimed runs before the timed ones (default 0)")
    p.add_argument("--no-check", action="store_true",
                   help="skip the NumPy check after each run (no ref_first_max_rel field)")
    p.add_argument("--check-full", action="store_true",
                   help="also compare all of v with NumPy's (computes all of x: small n only)")
    args = p.parse_args()
    if args.n < 2 or args.chunk < 1 or args.repeat < 1 or any(
            v is not None and v < 1 for v in (args.threads, args.workers, args.threads_per_worker)):
        p.error("--n must be at least 2 and --chunk, --repeat, --threads, --workers and "
                "--threads-per-worker at least 1")
    if args.threads_per_worker is not None and args.scheduler != "cluster":
        p.error("--threads-per-worker needs --scheduler cluster")
    if args.workers is not None and args.scheduler not in ("cluster", "processes"):
        p.error("--workers needs --scheduler cluster or processes")

    import dask
    import dask.array as da
    import numpy as np

    client = None
    if args.scheduler == "synchronous":
        threads = 1
        kwargs = {"scheduler": "synchronous"}
        label = "scheduler=synchronous threads=1"
    elif args.scheduler == "cluster":
        from distributed import Client

        workers = args.workers or 1
        threads = args.threads_per_worker or args.threads or os.cpu_count() or 1
        # Once per process, outside the timed runs; the client is the default scheduler of
        # every compute() below (kwargs stays empty).
        client = Client(processes=False, n_workers=workers, threads_per_worker=threads,
                        memory_limit=args.memory_limit, dashboard_address=None)
        kwargs = {}
        label = f"scheduler=cluster workers={workers} threads={threads}"
    elif args.scheduler == "processes":
        workers = args.workers or args.threads or os.cpu_count() or 1
        kwargs = {"scheduler": "processes", "num_workers": workers}
        label = f"scheduler=processes workers={workers} threads=1"
    else:
        threads = args.threads or os.cpu_count() or 1
        kwargs = {"scheduler": args.scheduler, "num_workers": threads}
        label = f"scheduler={args.scheduler} threads={threads}"

    n, c = args.n, args.chunk

    def build():
        x = da.random.random((n, n), chunks=(c, c))
        return x, (x + x.T)[::2, n // 2:].mean(axis=1)

    def max_rel(got, ref):
        return float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), np.finfo(np.float64).tiny)))

    def reference_fields(x, result) -> str:
        """NumPy's v from the same x, against dask's result (outside the timing)."""
        if args.no_check:
            return ""
        k = min(5, len(result))
        a = np.asarray(x[0:2 * k:2, n // 2:].compute(**kwargs))
        b = np.asarray(x[n // 2:, 0:2 * k:2].compute(**kwargs))
        fields = f" ref_first_max_rel={max_rel(result[:k], (a + b.T).mean(axis=1)):.3e}"
        if args.check_full:
            xf = np.asarray(x.compute(**kwargs))
            fields += f" ref_full_max_rel={max_rel(result, (xf + xf.T)[::2, n // 2:].mean(axis=1)):.3e}"
        return fields

    for _ in range(args.warmup):
        build()[1].compute(**kwargs)

    compute_only = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        x, v = build()
        t1 = time.perf_counter()
        result = v.compute(**kwargs)
        t2 = time.perf_counter()
        compute_only.append(t2 - t1)
        first = ",".join(repr(float(e)) for e in result[:5])
        mean = float(np.mean(result))
        print(f"{label} seconds={t2 - t0:.4f} "
              f"len={len(result)} first={first} mean={mean!r}{reference_fields(x, result)}", flush=True)

    if client is not None:
        client.close()
    print("compute_only_seconds=" + ",".join(f"{t:.4f}" for t in compute_only))
    print(f"compute_only_median_seconds={statistics.median(compute_only):.4f}")
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale:.1f}")
    if args.scheduler == "processes":
        print(f"peak_rss_children_mb={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / scale:.1f}")
    print(f"dask_version={dask.__version__}", file=sys.stderr)
    if client is not None:
        import distributed

        print(f"distributed_version={distributed.__version__}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
