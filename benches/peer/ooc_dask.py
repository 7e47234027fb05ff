#!/usr/bin/env python3
"""dask.array peer of benches/out_of_core.sh: one out-of-core workload over Zarr stores.

    x = da.from_zarr(X)     # square chunks          r = da.from_zarr(R)   # row chunks
    sum     x.sum()                                   -> printed
    mean0   x.mean(axis=0)                            -> saved with --result-npy
    std0    x.std(axis=0)                             -> saved with --result-npy
    demean  x - x.mean(axis=0)                        -> da.to_zarr(OUTPUT)
    xpxt    x + x.T                                   -> da.to_zarr(OUTPUT)
    rpxt    r + r.T                                   -> da.to_zarr(OUTPUT)
    rechunk r.rechunk(--rechunk-chunks)               -> da.to_zarr(OUTPUT)

threads scheduler with --threads workers. Outputs are Zarr v3, uncompressed (compressors=None),
with dask's own chunks for the result. Prints `key=value` lines on stdout:

    seconds=<in-process time: graph construction + compute/store, inputs already opened>
    compute_seconds=<the compute (or da.to_zarr) call alone>
    result=<repr>            (sum)
    result_shape=<shape>     (mean0/std0; the vector goes to --result-npy)

dask has no memory limit for the threads scheduler; peak RSS is measured by the caller.

Run with the peer venv: PY=$(scripts/pyenv.sh); $PY benches/peer/ooc_dask.py --workload sum --x x.zarr
"""

from __future__ import annotations

import argparse
import os
import sys
import time

WORKLOADS = ("sum", "mean0", "std0", "demean", "xpxt", "rpxt", "rechunk")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", required=True, choices=WORKLOADS)
    p.add_argument("--x", help="square-chunked input store")
    p.add_argument("--r", help="row-chunked input store")
    p.add_argument("--output", help="output Zarr store (written workloads)")
    p.add_argument("--result-npy", help="where to save a vector result (mean0/std0)")
    p.add_argument("--rechunk-chunks", help="target chunks of the rechunk workload, e.g. 20000,100")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores)")
    args = p.parse_args()

    import dask
    import dask.array as da
    import numpy as np

    threads = args.threads or os.cpu_count() or 1
    dask.config.set(scheduler="threads", num_workers=threads)

    w = args.workload
    needs_x = w in ("sum", "mean0", "std0", "demean", "xpxt")
    src = args.x if needs_x else args.r
    if not src:
        p.error(f"--workload {w} needs --{'x' if needs_x else 'r'}")
    if w in ("demean", "xpxt", "rpxt", "rechunk") and not args.output:
        p.error(f"--workload {w} needs --output")
    if w == "rechunk" and not args.rechunk_chunks:
        p.error("--workload rechunk needs --rechunk-chunks")

    a = da.from_zarr(src)  # opening the input is not timed, as in brickwork's --stats
    t0 = time.perf_counter()
    res = None
    if w == "sum":
        y = a.sum()
    elif w == "mean0":
        y = a.mean(axis=0)
    elif w == "std0":
        y = a.std(axis=0)
    elif w == "demean":
        y = a - a.mean(axis=0)
    elif w in ("xpxt", "rpxt"):
        y = a + a.T
    else:
        y = a.rechunk(tuple(int(c) for c in args.rechunk_chunks.split(",")))
    t1 = time.perf_counter()
    if w in ("sum", "mean0", "std0"):
        res = y.compute()
    else:
        da.to_zarr(y, args.output, compressors=None)
    t2 = time.perf_counter()
    seconds, compute_seconds = t2 - t0, t2 - t1

    print(f"seconds={seconds:.4f}")
    print(f"compute_seconds={compute_seconds:.4f}")
    if res is not None:
        res = np.asarray(res)
        if res.ndim == 0:
            print(f"result={float(res)!r}")
        else:
            print(f"result_shape={res.shape}")
            if args.result_npy:
                np.save(args.result_npy, res)
    print(f"dask_version={dask.__version__}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
