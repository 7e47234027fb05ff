"""The dask.array tutorial workload in brickwork's Python package:

    x = da.random.random((n, n), chunks=(c, c))
    v = (x + x.T)[::2, n/2:].mean(axis=1)

computed as the dask tutorial does it: on a cluster of workers (``Client(processes=False,
threads_per_worker=T, n_workers=W, memory_limit='2GB')``) for (W, T) = (1, 2), (1, 4), (4, 1),
(1, 1), then with ``scheduler='synchronous'``, ``scheduler='threads'`` with 1, 2 and 4
workers, and ``scheduler='processes'`` (one per core). It prints what examples/tutorial.rs
prints, line for line, the same values for the same seed (``--seed``, default 0):

    scheduler=<name> threads=<n> seconds=<t> len=<len> first=<v0>,...,<v4> mean=<m>

(``scheduler=cluster workers=W threads=T ...`` for the cluster, ``scheduler=processes
workers=N threads=1 ...`` for processes). ``seconds`` is the time of building the graph and
computing it; ``mean`` the mean of all of ``v``, summed as the Rust example sums it.

Run: ``python examples/tutorial.py [--n 10000] [--chunk 1000] [--scheduler
synchronous|threads|cluster|processes] [--threads N] [--workers W] [--threads-per-worker T]
[--memory-limit 2GB] [--seed S] [--repeat K] [--dashboard]``
"""

import argparse
import os
import time

import numpy as np

import brickwork.array as da
from brickwork.distributed import Client


def workload(n, chunk, seed):
    """Builds ``v = (x + x.T)[::2, n/2:].mean(axis=1)``."""
    da.random.seed(seed)
    x = da.random.random((n, n), chunks=(chunk, chunk))
    y = x + x.T
    return y[::2, n // 2 :].mean(axis=1)


def rust_sum(values):
    """The sum as ndarray's ``sum()`` adds (eight partial sums, then the rest in order), so
    that ``mean`` prints the Rust example's digits."""
    n8 = len(values) // 8 * 8
    p = values[:n8].reshape(-1, 8).sum(axis=0)  # row by row: sequential per column
    acc = 0.0
    for a, b in ((0, 4), (1, 5), (2, 6), (3, 7)):
        acc = acc + (p[a] + p[b])
    for v in values[n8 : n8 + 7]:
        acc = acc + v
    return float(acc)


def report(describe, seconds, values):
    first = ",".join(repr(float(v)) for v in values[:5])
    mean = rust_sum(values) / len(values)
    print(f"{describe} seconds={seconds:.4f} len={len(values)} first={first} mean={mean!r}", flush=True)


def configurations(args):
    """(description, client keywords or None, compute keywords) per run."""
    cores = os.cpu_count() or 1
    limit = args.memory_limit or "2GB"
    cluster = lambda w, t: (
        f"scheduler=cluster workers={w} threads={t}",
        dict(processes=False, threads_per_worker=t, n_workers=w, memory_limit=limit),
        {},
    )
    local = {} if args.memory_limit is None else {"memory_limit": args.memory_limit}
    if args.scheduler is None and args.threads is None:
        runs = [cluster(w, t) for w, t in [(1, 2), (1, 4), (4, 1), (1, 1)]]
        runs.append(("scheduler=synchronous threads=1", None, dict(scheduler="synchronous", **local)))
        for t in (1, 2, 4):
            runs.append((f"scheduler=threads threads={t}", None,
                         dict(scheduler="threads", num_workers=t, **local)))
        runs.append((f"scheduler=processes workers={cores} threads=1", None,
                     dict(scheduler="processes", num_workers=cores, **local)))
        return runs
    if args.scheduler == "cluster":
        return [cluster(args.workers or 1, args.threads_per_worker or args.threads or cores)]
    if args.scheduler == "synchronous":
        return [("scheduler=synchronous threads=1", None, dict(scheduler="synchronous", **local))]
    if args.scheduler == "processes":
        n = args.workers or args.threads or cores
        return [(f"scheduler=processes workers={n} threads=1", None,
                 dict(scheduler="processes", num_workers=n, **local))]
    t = args.threads or cores
    return [(f"scheduler=threads threads={t}", None, dict(scheduler="threads", num_workers=t, **local))]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--chunk", type=int, default=1_000)
    p.add_argument("--scheduler", choices=["synchronous", "threads", "cluster", "processes"])
    p.add_argument("--threads", type=int)
    p.add_argument("--workers", type=int)
    p.add_argument("--threads-per-worker", type=int)
    p.add_argument("--memory-limit")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--dashboard", action="store_true", help="serve the live dashboard (cluster runs)")
    args = p.parse_args()

    v = workload(args.n, args.chunk, args.seed)
    print(str(v))
    before, after, stages = v._a.task_counts()
    print(f"tasks: {before} before culling, {after} after culling and fusion ({stages} stages)")
    for describe, client_kwargs, compute_kwargs in configurations(args):
        client = None
        if client_kwargs is not None:
            client = Client(**client_kwargs, dashboard_address="127.0.0.1:0" if args.dashboard else None)
        try:
            for _ in range(args.repeat):
                start = time.perf_counter()
                v = workload(args.n, args.chunk, args.seed)
                values = v.compute(**compute_kwargs)
                seconds = time.perf_counter() - start
                report(describe, seconds, np.asarray(values))
        finally:
            if client is not None:
                client.close()


if __name__ == "__main__":
    main()
