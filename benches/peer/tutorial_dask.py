#!/usr/bin/env python3
"""The dask.array tutorial workload, timed like brickwork's `examples/tutorial.rs`.

    x = da.random.random((n, n), chunks=(c, c))
    v = (x + x.T)[::2, n//2:].mean(axis=1)
    v.compute(scheduler=...)

Each run builds the graph AND computes it inside the timed region (as a user
experiences it) and prints exactly one line in the Rust example's format:

    scheduler=<name> threads=<n> seconds=<t> len=<len> first=<v0>,<v1>,<v2>,<v3>,<v4>

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
    p.add_argument("--scheduler", choices=("threads", "synchronous", "processes"), default="threads")
    p.add_argument("--threads", type=int, default=None,
                   help="workers for threads/processes (default: all cores); synchronous always uses 1")
    p.add_argument("--warmup", type=int, default=0, help="untimed runs before the timed ones (default 0)")
    args = p.parse_args()
    if args.n < 2 or args.chunk < 1 or args.repeat < 1 or (args.threads is not None and args.threads < 1):
        p.error("--n must be at least 2 and --chunk, --repeat and --threads at least 1")

    import dask
    import dask.array as da

    if args.scheduler == "synchronous":
        threads = 1
        kwargs = {"scheduler": "synchronous"}
    else:
        threads = args.threads or os.cpu_count() or 1
        kwargs = {"scheduler": args.scheduler, "num_workers": threads}

    n, c = args.n, args.chunk

    def build():
        x = da.random.random((n, n), chunks=(c, c))
        return (x + x.T)[::2, n // 2:].mean(axis=1)

    for _ in range(args.warmup):
        build().compute(**kwargs)

    compute_only = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        v = build()
        t1 = time.perf_counter()
        result = v.compute(**kwargs)
        t2 = time.perf_counter()
        compute_only.append(t2 - t1)
        first = ",".join(repr(float(x)) for x in result[:5])
        print(f"scheduler={args.scheduler} threads={threads} seconds={t2 - t0:.4f} "
              f"len={len(result)} first={first}", flush=True)

    print("compute_only_seconds=" + ",".join(f"{t:.4f}" for t in compute_only))
    print(f"compute_only_median_seconds={statistics.median(compute_only):.4f}")
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale:.1f}")
    if args.scheduler == "processes":
        print(f"peak_rss_children_mb={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / scale:.1f}")
    print(f"dask_version={dask.__version__}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
