"""Checks a written `x @ x[:, :k]` against NumPy on 16 rows spread over the output.

usage: python matmul_check.py X_ZARR OUT_ZARR K

Each checked row is recomputed by NumPy from x (`x[i, :] @ x[:, :k]`); it must agree to a
relative 1e-10 of the row's largest magnitude (the tools sum the contracted axis in another
order than NumPy). Prints one line; exits 1 on a mismatch or a wrong shape.
"""
import sys

import numpy as np
import zarr

x_path, out_path, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
x = zarr.open_array(x_path, mode="r")
out = zarr.open_array(out_path, mode="r")
n = x.shape[0]
if out.shape != (n, k):
    print(f"shape {out.shape}, expected {(n, k)}")
    sys.exit(1)
right = x[:, :k]
worst = 0.0
for i in np.linspace(0, n - 1, 16).astype(int):
    want = x[i, :] @ right
    got = out[i, :]
    err = float(np.max(np.abs(got - want)) / max(1.0, float(np.max(np.abs(want)))))
    worst = max(worst, err)
ok = worst <= 1e-10
print(f"16 rows, worst relative error {worst:.3e} ({'ok' if ok else 'MISMATCH'})")
sys.exit(0 if ok else 1)
