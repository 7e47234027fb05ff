"""Checks a written stencil or scan over x against NumPy/scipy on 16 rows spread over it.

usage: python stencil_scan_check.py WORKLOAD X_ZARR OUT_ZARR

- filter: `uniform_filter(x, 3, mode="reflect")`; each checked row is recomputed by scipy
  from the band of rows around it (band edges inside the array are two rows away, so the
  row's window lies in the band or is reflected at the array's true edge); relative 1e-12.
- cumsum: `cumsum(x, axis=0)`; NumPy's cumsum of each band of rows plus the carry of the
  bands before it gives the checked rows; relative 1e-9 of the row's largest magnitude (the
  tools add in other orders: brickwork carries into each band's first row, as NumPy's
  sequential cumsum does; dask adds the carry after each block's local cumsum).
Prints one line; exits 1 on a mismatch or a wrong shape.
"""
import sys

import numpy as np
import scipy.ndimage as ndi
import zarr

workload, x_path, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
x = zarr.open_array(x_path, mode="r")
out = zarr.open_array(out_path, mode="r")
n = x.shape[0]
if out.shape != x.shape:
    print(f"shape {out.shape}, expected {x.shape}")
    sys.exit(1)
rows = sorted(set(np.linspace(0, n - 1, 16).astype(int).tolist()))
worst = 0.0
if workload == "filter":
    for i in rows:
        lo, hi = max(0, i - 2), min(n, i + 3)
        want = ndi.uniform_filter(x[lo:hi], 3, mode="reflect")[i - lo]
        got = out[i, :]
        worst = max(worst, float(np.max(np.abs(got - want)) / max(1.0, float(np.max(np.abs(want))))))
    tol = 1e-12
elif workload == "cumsum":
    acc = np.zeros(x.shape[1:], dtype=np.float64)
    band = max(1, x.chunks[0])
    todo = list(rows)
    for start in range(0, n, band):
        block = np.cumsum(x[start:start + band], axis=0) + acc
        while todo and todo[0] < start + band:
            i = todo.pop(0)
            want, got = block[i - start], out[i, :]
            worst = max(worst, float(np.max(np.abs(got - want)) / max(1.0, float(np.max(np.abs(want))))))
        acc = block[-1]
    tol = 1e-9
else:
    print(f"unknown workload {workload}")
    sys.exit(2)
ok = worst <= tol
print(f"{len(rows)} rows, worst relative error {worst:.3e} ({'ok' if ok else 'MISMATCH'})")
sys.exit(0 if ok else 1)
