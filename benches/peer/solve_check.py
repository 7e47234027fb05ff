"""Checks a written `linalg.solve(a, b)` against NumPy's solution.

usage: python solve_check.py A_ZARR B_ZARR X_ZARR NUMPY_NPY

NUMPY_NPY holds NumPy's solution; it is computed (`np.linalg.solve` on the whole matrix)
and saved there when missing. The result must agree to a relative 1e-8 of the solution's
largest element (LU's rounding differs with the pivot order and blocking; the matrices of
the benchmark have condition numbers near 1e5), and the residual `a[i] @ x - b[i]` of 16
rows spread over `a` must be within 1e-8 of `|a[i]| |x|`. Prints one line; exits 1 on a
mismatch or a wrong shape.
"""
import os
import sys

import numpy as np
import zarr

a_path, b_path, x_path, ref_path = sys.argv[1:5]
a = zarr.open_array(a_path, mode="r")
b = zarr.open_array(b_path, mode="r")[:]
x = zarr.open_array(x_path, mode="r")[:]
n = a.shape[0]
if x.shape != (n,):
    print(f"shape {x.shape}, expected {(n,)}")
    sys.exit(1)
if not os.path.exists(ref_path):
    np.save(ref_path, np.linalg.solve(a[:], b))
want = np.load(ref_path)
err = float(np.max(np.abs(x - want)) / np.max(np.abs(want)))
worst = 0.0
for i in np.linspace(0, n - 1, 16).astype(int):
    row = a[i, :]
    worst = max(worst, abs(float(row @ x - b[i])) / float(np.abs(row) @ np.abs(x)))
ok = err <= 1e-8 and worst <= 1e-8
print(f"relative error against NumPy {err:.2e}, worst relative residual of 16 rows {worst:.2e} ({'ok' if ok else 'MISMATCH'})")
sys.exit(0 if ok else 1)
