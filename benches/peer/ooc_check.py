#!/usr/bin/env python3
"""Correctness checks of benches/out_of_core.sh: every result of every run against NumPy.

NumPy computes each reference itself, streaming the square-chunked input `x` band by band
with zarr-python, so memory stays bounded (a few bands of --band-mb, see below) whatever
the size of the stores.

    ooc_check.py inputs --x X --r R [--band-mb MB]
        Checks that the row-chunked input R holds exactly the data of X (every element,
        band by band). The references below are computed from X, also for the workloads
        that the tools run on R (rpxt, rechunk); this check is what makes that valid.

    ooc_check.py reference --workload W --x X --refdir DIR [--band-mb MB]
        Computes the NumPy reference of a reduction once and caches it in DIR
        (sum.npy, mean0.npy, std0.npy; demean needs mean0.npy). Written workloads need no
        cached reference: it is computed band by band while checking.

    ooc_check.py check --workload W --tool T --run K --x X --refdir DIR --result PATH
                       --csv CSV [--band-mb MB]
        Compares one run's result with the NumPy reference, appends one row to CSV and exits
        0 when it matches, 1 on a mismatch (with a line naming workload, tool and run on
        stderr). PATH is, by workload:
          sum          a text file ending with the number (brickwork's stdout, or the
                       peers' `result=` value);
          mean0, std0  a .npy file, or a text file with brickwork's printed 1-D array;
          written      the output Zarr array.

Tolerances (the `tolerance` column of CSV):
  sum               |a - ref| <= 1e-12 * |ref|                        (relative)
  mean0, std0       |a - ref| <= 1e-12 * |ref| for every element      (relative)
  demean            |a - ref| <= 1e-12 * max(1, |column mean|), every element: the tools sum
                    the column in another order than NumPy, so their means differ from
                    NumPy's in the last bits, and so does x - mean
  xpxt, rpxt,
  rechunk           exact: every element bitwise equal (x[i, j] + x[j, i] is one rounding
                    in every tool; a rechunk copies)

References: sum is math.fsum of per-band pairwise sums (np.sum); mean0 is math.fsum, per
column, of per-band column sums, divided by N; std0 is two-pass: sqrt(sum((x - mean0)^2)/N)
with the same summation (ddof=0, as all the tools compute it). Their error is far below
the tolerance (about B * 1e-16 relative for bands of B rows, in the worst case).

Memory: a band is B rows (or columns) of N float64 elements, B a multiple of the chunk
size along that axis, the largest one under --band-mb (default 128 MB per band) and at
least one chunk. `check` of a written array holds the output band, the input band and
the transposed band at once (about 4 bands with temporaries).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from collections.abc import Iterator

import numpy as np

REDUCTIONS = ("sum", "mean0", "std0")
WRITTEN = ("demean", "xpxt", "rpxt", "rechunk")
RTOL = 1e-12
TOLERANCE_TEXT = {
    "sum": "relative 1e-12",
    "mean0": "relative 1e-12 per element",
    "std0": "relative 1e-12 per element",
    "demean": "1e-12 * max(1, |column mean|) per element",
    "xpxt": "exact (bitwise) per element",
    "rpxt": "exact (bitwise) per element",
    "rechunk": "exact (bitwise) per element",
}


def open_array(path: str):
    import zarr

    return zarr.open_array(path, mode="r")


def band_size(n: int, chunk: int, band_mb: float) -> int:
    """Rows per band: a multiple of `chunk`, under band_mb of float64 rows of n, >= chunk."""
    per_chunk_row = 8 * n * chunk
    k = max(1, int(band_mb * 1e6 // per_chunk_row))
    return min(n, k * chunk)


def bands(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


# --- references of the reductions ------------------------------------------------------------

def column_sums(x, band_mb: float) -> tuple[float, np.ndarray]:
    """(sum of all elements, per-column sums) in one pass, compensated across bands."""
    n0, n1 = x.shape
    totals, partials = [], []
    for rows in bands(n0, band_size(n1, x.chunks[0], band_mb)):
        band = np.asarray(x[rows, :], dtype=np.float64)
        totals.append(float(np.sum(band)))
        partials.append(np.sum(band, axis=0))
    per_band = np.stack(partials)  # (bands, n1): small
    cols = np.array([math.fsum(per_band[:, j]) for j in range(n1)], dtype=np.float64)
    return math.fsum(totals), cols


def column_sq_dev(x, mean: np.ndarray, band_mb: float) -> np.ndarray:
    n0, n1 = x.shape
    partials = []
    for rows in bands(n0, band_size(n1, x.chunks[0], band_mb)):
        d = np.asarray(x[rows, :], dtype=np.float64) - mean
        partials.append(np.sum(d * d, axis=0))
    per_band = np.stack(partials)
    return np.array([math.fsum(per_band[:, j]) for j in range(n1)], dtype=np.float64)


def reference(workload: str, x_path: str, refdir: str, band_mb: float) -> np.ndarray:
    """The cached reference of a reduction (computing it, and what it needs, when missing)."""
    path = os.path.join(refdir, f"{workload}.npy")
    if os.path.exists(path):
        return np.load(path)
    os.makedirs(refdir, exist_ok=True)
    x = open_array(x_path)
    n0 = x.shape[0]
    if workload in ("sum", "mean0"):
        total, cols = column_sums(x, band_mb)
        np.save(os.path.join(refdir, "sum.npy"), np.array(total))
        np.save(os.path.join(refdir, "mean0.npy"), cols / n0)
    elif workload == "std0":
        mean = reference("mean0", x_path, refdir, band_mb)
        np.save(path, np.sqrt(column_sq_dev(x, mean, band_mb) / n0))
    else:
        raise ValueError(f"no cached reference for workload {workload}")
    return np.load(path)


# --- results ---------------------------------------------------------------------------------

def load_scalar(path: str) -> float:
    with open(path) as f:
        return float(f.read().split()[-1])


def load_vector(path: str) -> np.ndarray:
    if path.endswith(".npy"):
        return np.load(path)
    # brickwork prints a 1-D array NumPy-style: [v0 v1 ...], possibly over several lines.
    with open(path) as f:
        text = f.read().replace("[", " ").replace("]", " ")
    return np.array([float(t) for t in text.split()], dtype=np.float64)


# --- comparisons -----------------------------------------------------------------------------

class Outcome:
    """One comparison: the worst deviation found, the bound, and a description."""

    def __init__(self, metric: str, value: float, ok: bool, detail: str):
        self.metric, self.value, self.ok, self.detail = metric, value, ok, detail


def max_rel(a: np.ndarray, ref: np.ndarray) -> float:
    scale = np.maximum(np.abs(ref), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a - ref) / scale)) if a.size else 0.0


def check_reduction(workload: str, result: str, ref: np.ndarray) -> Outcome:
    if workload == "sum":
        got = np.array(load_scalar(result))
        detail = f"{float(got)!r} vs numpy {float(ref)!r}"
    else:
        got = load_vector(result)
        if got.shape != ref.shape:
            return Outcome("max_rel_diff", math.inf, False, f"shape {got.shape} != {ref.shape}")
        worst = int(np.argmax(np.abs(got - ref))) if got.size else 0
        detail = f"{got.size} elements; largest difference at [{worst}]"
    if np.isnan(got).any():
        return Outcome("max_rel_diff", math.nan, False, "NaN in the result; " + detail)
    value = max_rel(got, ref)
    return Outcome("max_rel_diff", value, value <= RTOL, detail)


def expected_band(workload: str, x, sel: tuple[slice, slice], mean: np.ndarray | None) -> np.ndarray:
    """NumPy's value of the output over the band `sel`, from the square-chunked input."""
    rows, cols = sel
    a = np.asarray(x[rows, cols], dtype=np.float64)
    if workload == "demean":
        return a - mean[cols]
    if workload in ("xpxt", "rpxt"):
        return a + np.asarray(x[cols, rows], dtype=np.float64).T
    return a  # rechunk: the data itself


def check_written(workload: str, result: str, x, mean: np.ndarray | None, band_mb: float) -> Outcome:
    out = open_array(result)
    chunks = "x".join(str(int(c)) for c in out.chunks)
    if out.shape != x.shape or out.dtype != np.float64:
        return Outcome("mismatched_elements", math.inf, False,
                       f"shape {out.shape} dtype {out.dtype}, expected {x.shape} float64")
    n0, n1 = out.shape
    # Bands follow the output's chunks: rows unless its chunks span all rows (rechunk).
    by_rows = out.chunks[0] < n0 or out.chunks[1] >= n1
    size = band_size(n1 if by_rows else n0, out.chunks[0 if by_rows else 1], band_mb)
    exact = workload != "demean"
    bad, worst, first_bad = 0, 0.0, None
    for b in bands(n0 if by_rows else n1, size):
        sel = (b, slice(0, n1)) if by_rows else (slice(0, n0), b)
        got = np.asarray(out[sel])
        exp = expected_band(workload, x, sel, mean)
        if exact:
            diff = got != exp
        else:
            bound = RTOL * np.maximum(1.0, np.abs(mean[sel[1]]))
            diff = ~(np.abs(got - exp) <= bound)  # NaN counts as a difference
        count = int(np.count_nonzero(diff))
        if count:
            if first_bad is None:
                i, j = np.argwhere(diff)[0]
                first_bad = (int(i) + sel[0].start, int(j) + sel[1].start, float(got[i, j]), float(exp[i, j]))
            bad += count
        finite = np.isfinite(got)
        if finite.any():
            worst = max(worst, float(np.max(np.abs(got[finite] - exp[finite]))))
    detail = f"chunks={chunks}; max |diff| {worst:.3e}"
    if first_bad:
        i, j, g, e = first_bad
        detail += f"; first difference at [{i}, {j}]: {g!r} vs numpy {e!r}"
    return Outcome("mismatched_elements", float(bad), bad == 0, detail)


def check_inputs(x_path: str, r_path: str, band_mb: float) -> int:
    x, r = open_array(x_path), open_array(r_path)
    if x.shape != r.shape or x.dtype != r.dtype:
        print(f"ooc_check.py: MISMATCH inputs: {r_path} is {r.shape} {r.dtype}, "
              f"{x_path} is {x.shape} {x.dtype}", file=sys.stderr)
        return 1
    n0, n1 = x.shape
    step = max(x.chunks[0], r.chunks[0])
    step = band_size(n1, step, band_mb)
    for rows in bands(n0, step):
        a, b = np.asarray(x[rows, :]), np.asarray(r[rows, :])
        if not np.array_equal(a, b):
            i, j = np.argwhere(a != b)[0]
            print(f"ooc_check.py: MISMATCH inputs: {r_path}[{i + rows.start}, {j}] = {b[i, j]!r} "
                  f"but {x_path} has {a[i, j]!r}", file=sys.stderr)
            return 1
    print(f"inputs: {r_path} == {x_path} exactly ({n0} x {n1})")
    return 0


def cmd_check(args) -> int:
    w = args.workload
    try:
        if w in REDUCTIONS:
            outcome = check_reduction(w, args.result, reference(w, args.x, args.refdir, args.band_mb))
        else:
            mean = reference("mean0", args.x, args.refdir, args.band_mb) if w == "demean" else None
            outcome = check_written(w, args.result, open_array(args.x), mean, args.band_mb)
    except Exception as e:  # an unreadable result is a failed check, not a crash of the benchmark
        outcome = Outcome("error", math.nan, False, f"could not check: {type(e).__name__}: {e}")
    new = not os.path.exists(args.csv)
    with open(args.csv, "a", newline="") as f:
        wr = csv.writer(f)
        if new:
            wr.writerow(["workload", "tool", "run", "against", "metric", "value", "tolerance", "ok", "detail"])
        wr.writerow([w, args.tool, args.run, "numpy", outcome.metric, f"{outcome.value:.3e}",
                     TOLERANCE_TEXT[w], "ok" if outcome.ok else "MISMATCH", outcome.detail])
    line = (f"workload={w} tool={args.tool} repeat={args.run}: {outcome.metric} {outcome.value:.3e} "
            f"({TOLERANCE_TEXT[w]}); {outcome.detail}")
    if not outcome.ok:
        print(f"ooc_check.py: MISMATCH {line}", file=sys.stderr)
        return 1
    print(f"check ok: {line}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("inputs")
    i.add_argument("--x", required=True)
    i.add_argument("--r", required=True)
    r = sub.add_parser("reference")
    r.add_argument("--workload", required=True, choices=REDUCTIONS)
    r.add_argument("--x", required=True)
    r.add_argument("--refdir", required=True)
    c = sub.add_parser("check")
    c.add_argument("--workload", required=True, choices=REDUCTIONS + WRITTEN)
    c.add_argument("--tool", required=True)
    c.add_argument("--run", required=True)
    c.add_argument("--x", required=True)
    c.add_argument("--refdir", required=True)
    c.add_argument("--result", required=True)
    c.add_argument("--csv", required=True)
    for s in (i, r, c):
        s.add_argument("--band-mb", type=float, default=128.0, help="bytes per band, in MB (default 128)")
    args = p.parse_args()
    if args.cmd == "inputs":
        return check_inputs(args.x, args.r, args.band_mb)
    if args.cmd == "reference":
        reference(args.workload, args.x, args.refdir, args.band_mb)
        return 0
    return cmd_check(args)


if __name__ == "__main__":
    sys.exit(main())
