#!/usr/bin/env python3
"""Correctness checks of benches/tutorial_vs_dask.sh, v = (x + x.T)[::2, n//2:].mean(axis=1).

dask's random numbers differ from brickwork's, so the two results cannot be compared with
each other; each is compared with NumPy's v computed from that tool's own x.

    tutorial_check.py runs --raw RAW --csv CSV
        Every timed run of both tools (rows of RAW, written by the script):
          len      len(v) == ceil(n/2)                                          exact
          mean     |mean(v) - 1| <= 8 sigma, sigma = sqrt(1 / (3 R M)) with R = ceil(n/2)
                   rows and M = n - n//2 columns: an upper bound of the standard deviation of
                   the mean of v for x uniform on [0, 1) (elements of v are means of
                   x[i, j] + x[j, i], of mean 1 and variance 1/6; some pairs appear twice)
          same     brickwork only: `first` and `mean` identical in every run and round (seeded,
                   chunk- and thread-invariant random numbers, deterministic reductions)
          numpy    dask only: its first values against NumPy's, computed in the dask process
                   from the same x after the timing (`ref_first_max_rel`), relative 1e-12; not
                   in the one-run processes, which run with --no-check

    tutorial_check.py first --raw RAW --n N --chunk C --a A.zarr --b B.zarr --csv CSV
        brickwork's first values at the benchmark size, against NumPy's: A holds
        x[0:2k:2, n//2:] and B holds x[n//2:, 0:2k:2] of brickwork's x (written by the brickwork
        CLI with the same seed), and NumPy computes v[:k] = (A + B.T).mean(axis=1). Relative
        1e-12, every run.

    tutorial_check.py full --engine brickwork --x X.zarr --chunk C --line FILE --csv CSV
    tutorial_check.py full --engine dask --chunk C --line FILE --csv CSV
        The whole v at a small n. brickwork: X holds all of brickwork's x, NumPy computes all
        of v, and the tutorial example's output line in FILE (one run at that n) must have the
        same length, first values and mean (relative 1e-12). dask: the line of one run of
        tutorial_dask.py --check-full, whose `ref_full_max_rel` compares every element of v
        with NumPy's from the same x (relative 1e-12), and its length.

Each check appends rows to CSV (engine,n,chunk,round,kind,run,check,value,tolerance,ok,detail;
kind: repeat = the K-run process, one-run = the fresh process, full-check = the small-n run
or, for benches/schedulers_vs_dask.sh, whose RAW has a `config` column instead of `kind`, the
configuration: `full --kind` names it for the small-n run)
and exits 1 after printing a line naming engine, config, round, process and run for every
mismatch.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys

import numpy as np

RTOL = 1e-12
HEADER = ["engine", "n", "chunk", "round", "kind", "run", "check", "value", "tolerance", "ok", "detail"]


def parse_line(line: str) -> dict[str, str]:
    return dict(f.split("=", 1) for f in line.split() if "=" in f)


def first_values(text: str) -> np.ndarray:
    return np.array([float(v) for v in text.replace(";", ",").split(",") if v], dtype=np.float64)


def max_rel(got: np.ndarray, ref: np.ndarray) -> float:
    if got.shape != ref.shape:
        return math.inf
    return float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), np.finfo(np.float64).tiny)))


def mean_bound(n: int) -> float:
    rows, cols = (n + 1) // 2, n - n // 2
    return 8 * math.sqrt(1 / (3 * rows * cols))


class Checks:
    def __init__(self, path: str):
        self.path, self.rows = path, []

    def add(self, row: dict, check: str, value: float, tolerance: str, ok: bool, detail: str = ""):
        self.rows.append([row["engine"], row["n"], row["chunk"], row.get("round", ""),
                          row.get("kind") or row.get("config", ""),
                          row.get("run", ""), check, f"{value:.3e}", tolerance, "ok" if ok else "MISMATCH",
                          detail])

    def finish(self) -> int:
        new = not os.path.exists(self.path)
        with open(self.path, "a", newline="") as f:
            w = csv.writer(f)
            if new:
                w.writerow(HEADER)
            w.writerows(self.rows)
        bad = [r for r in self.rows if r[9] != "ok"]
        for r in bad:
            print(f"tutorial_check.py: MISMATCH engine={r[0]} n={r[1]} chunk={r[2]} round={r[3]} "
                  f"process={r[4]} run={r[5]}: {r[6]} {r[7]} ({r[8]}) {r[10]}".rstrip(), file=sys.stderr)
        ok = len(self.rows) - len(bad)
        print(f"tutorial_check.py: {ok} of {len(self.rows)} checks ok")
        return 1 if bad else 0


def cmd_runs(args) -> int:
    rows = list(csv.DictReader(open(args.raw)))
    checks = Checks(args.csv)
    seen: dict[tuple, tuple[str, str, str]] = {}
    for r in rows:
        n = int(r["n"])
        length = int(r["len"])
        checks.add(r, "len", length, f"== {(n + 1) // 2}", length == (n + 1) // 2)
        dev = abs(float(r["mean"]) - 1.0)
        checks.add(r, "mean", dev, f"|mean - 1| <= {mean_bound(n):.2e}", dev <= mean_bound(n),
                   f"mean {r['mean']}")
        if r["engine"] == "brickwork":
            key = (r["n"], r["chunk"])
            this = (r["first"], r["mean"], f"round {r['round']} run {r['run']}")
            first = seen.setdefault(key, this)
            same = this[:2] == first[:2]
            checks.add(r, "same", 0.0 if same else 1.0, "identical in every run", same,
                       "" if same else f"differs from {first[2]}")
        elif r.get("ref_first_max_rel"):  # absent in dask's one-run processes (--no-check)
            rel = float(r["ref_first_max_rel"])
            checks.add(r, "numpy", rel, f"relative {RTOL:g}", rel <= RTOL, "first values vs NumPy from the same x")
    return checks.finish()


def cmd_first(args) -> int:
    import zarr

    a = np.asarray(zarr.open_array(args.a, mode="r")[...], dtype=np.float64)
    b = np.asarray(zarr.open_array(args.b, mode="r")[...], dtype=np.float64)
    ref = (a + b.T).mean(axis=1)
    checks = Checks(args.csv)
    for r in csv.DictReader(open(args.raw)):
        if r["engine"] != "brickwork" or (int(r["n"]), int(r["chunk"])) != (args.n, args.chunk):
            continue
        got = first_values(r["first"])[: ref.size]
        rel = max_rel(got, ref)
        checks.add(r, "numpy", rel, f"relative {RTOL:g}", rel <= RTOL,
                   f"first {ref.size} values vs NumPy from brickwork's x")
    return checks.finish()


def cmd_full(args) -> int:
    with open(args.line) as f:
        lines = [line for line in f if line.startswith("scheduler=")]
    if not lines:
        print(f"tutorial_check.py: no result line in {args.line}", file=sys.stderr)
        return 1
    line = parse_line(lines[-1])
    n = args.n
    row = {"engine": args.engine, "n": str(n), "chunk": args.chunk, "round": "-", "kind": args.kind, "run": "1"}
    checks = Checks(args.csv)
    length = int(line["len"])
    checks.add(row, "len", length, f"== {(n + 1) // 2}", length == (n + 1) // 2)
    if args.engine == "dask":
        rel = float(line.get("ref_full_max_rel", "nan"))
        checks.add(row, "numpy", rel, f"relative {RTOL:g}", rel <= RTOL,
                   "all of v vs NumPy's v from the same x (computed in the dask process)")
        return checks.finish()

    import zarr

    if not args.x:
        print("tutorial_check.py: full --engine brickwork needs --x", file=sys.stderr)
        return 2
    x = np.asarray(zarr.open_array(args.x, mode="r")[...], dtype=np.float64)
    if x.shape != (n, n):
        checks.add(row, "shape", math.inf, f"== ({n}, {n})", False, f"x has shape {x.shape}")
        return checks.finish()
    ref = (x + x.T)[::2, n // 2:].mean(axis=1)
    got = first_values(line["first"])
    rel = max_rel(got, ref[: got.size])
    checks.add(row, "numpy", rel, f"relative {RTOL:g}", rel <= RTOL,
               f"first {got.size} values vs NumPy's v from all of brickwork's x")
    rel = max_rel(np.array(float(line["mean"])), np.array(float(np.mean(ref))))
    checks.add(row, "numpy_mean", rel, f"relative {RTOL:g}", rel <= RTOL,
               "mean of all of v vs NumPy's")
    return checks.finish()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("runs")
    r.add_argument("--raw", required=True)
    f = sub.add_parser("first")
    f.add_argument("--raw", required=True)
    f.add_argument("--n", type=int, required=True)
    f.add_argument("--chunk", type=int, required=True)
    f.add_argument("--a", required=True)
    f.add_argument("--b", required=True)
    u = sub.add_parser("full")
    u.add_argument("--engine", required=True, choices=("brickwork", "dask"))
    u.add_argument("--n", type=int, required=True)
    u.add_argument("--x", help="all of brickwork's x (brickwork only)")
    u.add_argument("--chunk", required=True)
    u.add_argument("--line", required=True)
    u.add_argument("--kind", default="full-check", help="the kind column of its checks (default full-check)")
    for s in (r, f, u):
        s.add_argument("--csv", required=True)
    args = p.parse_args()
    return {"runs": cmd_runs, "first": cmd_first, "full": cmd_full}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
