#!/usr/bin/env python3
"""Cubed peer of benches/out_of_core.sh: one out-of-core workload over Zarr stores.

    spec = cubed.Spec(work_dir=WORK_DIR, allowed_mem=MEM, executor_options={"max_workers": T})
    x = cubed.from_zarr(X, spec=spec)   # square chunks     r = cubed.from_zarr(R, spec=spec)
    sum     xp.sum(x)                                  -> printed
    mean0   xp.mean(x, axis=0)                         -> saved with --result-npy
    std0    xp.std(x, axis=0)                          -> saved with --result-npy
    demean  x - xp.mean(x, axis=0)                     -> cubed.to_zarr(OUTPUT)
    xpxt    x + x.T                                    -> cubed.to_zarr(OUTPUT)
    rpxt    r + r.T                                    -> cubed.to_zarr(OUTPUT)
    rechunk r.rechunk(--rechunk-chunks)                -> cubed.to_zarr(OUTPUT)

Cubed's default single-machine executor (the "threads" executor) with --threads workers.
`allowed_mem` is Cubed's *per-task* memory bound (each of the T workers may use it); Cubed
refuses a plan whose projected per-task memory exceeds it. Intermediate arrays go to
--work-dir with Cubed's default Zarr codecs; Cubed deletes them at exit, so their total size
is measured here after the computation (`workdir_bytes=`); the caller deletes what is left.
The final output is Zarr v3, uncompressed (compressors=None), with the result's chunks.
Prints `key=value` lines on stdout:

    seconds=<in-process time: graph construction + compute/store, inputs already opened>
    compute_seconds=<the compute (or cubed.to_zarr) call alone>
    result=<repr>            (sum)
    result_shape=<shape>     (mean0/std0; the vector goes to --result-npy)
    workdir_bytes=<bytes of the files in --work-dir after the computation>

Run with the peer venv: PY=$(scripts/pyenv.sh); $PY benches/peer/ooc_cubed.py --workload sum --x x.zarr --work-dir /tmp/cw
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
    p.add_argument("--threads", type=int, default=None, help="executor workers (default: all cores)")
    p.add_argument("--work-dir", required=True, help="Cubed's work_dir for intermediate arrays")
    p.add_argument("--allowed-mem", default="256MB",
                   help="Cubed's allowed_mem: bytes, or a string such as 256MB (default 256MB)")
    args = p.parse_args()

    import cubed
    import cubed.array_api as xp
    import numpy as np
    import zarr

    threads = args.threads or os.cpu_count() or 1
    mem = int(args.allowed_mem) if args.allowed_mem.isdigit() else args.allowed_mem
    spec = cubed.Spec(work_dir=args.work_dir, allowed_mem=mem, executor_options={"max_workers": threads})

    w = args.workload
    needs_x = w in ("sum", "mean0", "std0", "demean", "xpxt")
    src = args.x if needs_x else args.r
    if not src:
        p.error(f"--workload {w} needs --{'x' if needs_x else 'r'}")
    if w in ("demean", "xpxt", "rpxt", "rechunk") and not args.output:
        p.error(f"--workload {w} needs --output")
    if w == "rechunk" and not args.rechunk_chunks:
        p.error("--workload rechunk needs --rechunk-chunks")

    a = cubed.from_zarr(src, spec=spec)  # opening the input is not timed, as in brickwork's --stats
    t0 = time.perf_counter()
    res = None
    if w == "sum":
        y = xp.sum(a)
    elif w == "mean0":
        y = xp.mean(a, axis=0)
    elif w == "std0":
        y = xp.std(a, axis=0)
    elif w == "demean":
        y = a - xp.mean(a, axis=0)
    elif w in ("xpxt", "rpxt"):
        y = a + a.T
    else:
        y = a.rechunk(tuple(int(c) for c in args.rechunk_chunks.split(",")))
    if w not in ("sum", "mean0", "std0"):
        target = zarr.create_array(store=args.output, shape=y.shape, dtype=y.dtype,
                                   chunks=y.chunksize, compressors=None, zarr_format=3)
    t1 = time.perf_counter()
    if w in ("sum", "mean0", "std0"):
        res = y.compute()
    else:
        cubed.to_zarr(y, target)
    t2 = time.perf_counter()
    seconds, compute_seconds = t2 - t0, t2 - t1
    # Cubed deletes its (local) work_dir context at interpreter exit: measure it now.
    work_bytes = 0
    for root, _dirs, files in os.walk(args.work_dir):
        for f in files:
            try:
                work_bytes += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass

    print(f"seconds={seconds:.4f}")
    print(f"compute_seconds={compute_seconds:.4f}")
    print(f"workdir_bytes={work_bytes}")
    if res is not None:
        res = np.asarray(res)
        if res.ndim == 0:
            print(f"result={float(res)!r}")
        else:
            print(f"result_shape={res.shape}")
            if args.result_npy:
                np.save(args.result_npy, res)
    print(f"cubed_version={cubed.__version__}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
