#!/usr/bin/env python3
"""Correctness checks for benches/out_of_core.sh (cheap: samples, not whole arrays).

    ooc_check.py sample STORE OUT.npz
        Reads a few k x k regions (k = min(256, n)) of a written 2-D Zarr array -- top-left,
        middle, bottom-right -- and saves them with the store's shape and chunks to OUT.npz.
        Prints `chunks=C0xC1` on stdout.

    ooc_check.py check --workload W --x X --r R --dir DIR --tools brickwork,dask,cubed --csv CSV
        Compares the results the tools left in DIR (files named <tool>-<W>.*, see below) and
        appends one row per comparison to CSV (workload,tool,against,max_rel_diff,ok,detail):
          sum          scalars (<tool>-sum.txt: the bare number), each against brickwork
                       (or the first tool with a result), relative difference;
          mean0/std0   vectors (<tool>-W.npy, or brickwork's printed array <tool>-W.txt),
                       against brickwork, max |a - b| / max |b|;
          written      samples (<tool>-W.npz from `sample`), against a NumPy reference
                       computed from the input store over the same regions, and against
                       brickwork; max |a - ref| / max(1, max |ref|).
        ok means max_rel_diff <= --rtol (default 1e-9).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys

import numpy as np

SCALAR = ("sum",)
VECTOR = ("mean0", "std0")
WRITTEN = ("demean", "xpxt", "rpxt", "rechunk")


def regions(shape: tuple[int, ...]) -> list[tuple[slice, slice]]:
    n0, n1 = shape
    k0, k1 = min(256, n0), min(256, n1)
    starts = [(0, 0), (n0 // 2 - k0 // 2, n1 // 3), (n0 - k0, n1 - k1)]
    return [(slice(a, a + k0), slice(b, b + k1)) for a, b in starts]


def cmd_sample(store: str, out: str) -> int:
    import zarr

    z = zarr.open_array(store, mode="r")
    if z.ndim != 2:
        print(f"ooc_check.py: {store} has {z.ndim} dimensions, expected 2", file=sys.stderr)
        return 1
    data = {f"region{i}": np.asarray(z[reg]) for i, reg in enumerate(regions(z.shape))}
    np.savez(out, shape=np.array(z.shape), chunks=np.array(z.chunks), **data)
    print("chunks=" + "x".join(str(int(c)) for c in z.chunks))
    return 0


def load_scalar(path: str) -> float:
    with open(path) as f:
        return float(f.read().strip().split()[-1])


def load_vector(base: str) -> np.ndarray | None:
    if os.path.exists(base + ".npy"):
        return np.load(base + ".npy")
    if os.path.exists(base + ".txt"):
        # brickwork prints a 1-D array NumPy-style: [ v0  v1 ...], possibly over several lines.
        text = open(base + ".txt").read().replace("[", " ").replace("]", " ")
        return np.array([float(t) for t in text.split()], dtype=np.float64)
    return None


def reference(workload: str, x_path: str, r_path: str, regs) -> list[np.ndarray]:
    import zarr

    x = zarr.open_array(x_path if workload in ("demean", "xpxt") else r_path, mode="r")
    out = []
    for rs, cs in regs:
        if workload == "demean":
            out.append(np.asarray(x[rs, cs]) - np.asarray(x[:, cs]).mean(axis=0))
        elif workload in ("xpxt", "rpxt"):
            out.append(np.asarray(x[rs, cs]) + np.asarray(x[cs, rs]).T)
        else:  # rechunk: the data itself
            out.append(np.asarray(x[rs, cs]))
    return out


def rel(a: np.ndarray, b: np.ndarray, floor: float = 0.0) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    scale = max(floor, float(np.max(np.abs(b))) if b.size else 0.0)
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    if np.isnan(a).any() != np.isnan(b).any():
        return float("inf")
    return diff / scale if scale > 0 else diff


def cmd_check(args) -> int:
    tools = [t for t in args.tools.split(",") if t]
    w, d = args.workload, args.dir
    rows = []

    def add(tool, against, value, detail=""):
        ok = value <= args.rtol
        rows.append([w, tool, against, f"{value:.3e}", "ok" if ok else "MISMATCH", detail])

    if w in SCALAR:
        vals = {}
        for t in tools:
            p = os.path.join(d, f"{t}-{w}.txt")
            if os.path.exists(p):
                try:
                    vals[t] = load_scalar(p)
                except (ValueError, IndexError):
                    pass
        if vals:
            ref_tool = "brickwork" if "brickwork" in vals else next(iter(vals))
            for t, v in vals.items():
                if t != ref_tool:
                    r = abs(v - vals[ref_tool]) / max(abs(vals[ref_tool]), 1e-300)
                    add(t, ref_tool, r, f"{v!r} vs {vals[ref_tool]!r}")
    elif w in VECTOR:
        vals = {t: v for t in tools if (v := load_vector(os.path.join(d, f"{t}-{w}"))) is not None}
        if vals:
            ref_tool = "brickwork" if "brickwork" in vals else next(iter(vals))
            for t, v in vals.items():
                if t != ref_tool:
                    add(t, ref_tool, rel(v, vals[ref_tool]), f"length {v.size}")
    elif w in WRITTEN:
        samples = {}
        for t in tools:
            p = os.path.join(d, f"{t}-{w}.npz")
            if os.path.exists(p):
                z = np.load(p)
                samples[t] = (tuple(z["shape"]), [z[f"region{i}"] for i in range(3)])
        if samples:
            shape = next(iter(samples.values()))[0]
            regs = regions(shape)
            ref = reference(w, args.x, args.r, regs)
            for t, (shp, got) in samples.items():
                if shp != shape:
                    add(t, "numpy", float("inf"), f"shape {shp} != {shape}")
                    continue
                add(t, "numpy", max(rel(g, e, 1.0) for g, e in zip(got, ref)),
                    f"{len(regs)} regions of {regs[0][0].stop - regs[0][0].start}x"
                    f"{regs[0][1].stop - regs[0][1].start}")
            if "brickwork" in samples:
                bw = samples["brickwork"][1]
                for t, (shp, got) in samples.items():
                    if t != "brickwork" and shp == shape:
                        add(t, "brickwork", max(rel(g, e, 1.0) for g, e in zip(got, bw)))
    else:
        print(f"ooc_check.py: unknown workload {w}", file=sys.stderr)
        return 2

    new = not os.path.exists(args.csv)
    with open(args.csv, "a", newline="") as f:
        wr = csv.writer(f)
        if new:
            wr.writerow(["workload", "tool", "against", "max_rel_diff", "ok", "detail"])
        wr.writerows(rows)
    for r in rows:
        print(f"check {r[0]}: {r[1]} vs {r[2]}: max rel diff {r[3]} {r[4]} {r[5]}".rstrip())
    return 0 if all(r[4] == "ok" for r in rows) else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample")
    s.add_argument("store")
    s.add_argument("out")
    c = sub.add_parser("check")
    c.add_argument("--workload", required=True)
    c.add_argument("--x", required=True)
    c.add_argument("--r", required=True)
    c.add_argument("--dir", required=True)
    c.add_argument("--tools", default="brickwork,dask,cubed")
    c.add_argument("--csv", required=True)
    c.add_argument("--rtol", type=float, default=1e-9)
    args = p.parse_args()
    if args.cmd == "sample":
        return cmd_sample(args.store, args.out)
    return cmd_check(args)


if __name__ == "__main__":
    sys.exit(main())
