"""Checks a written `fft.fft(x, axis=0)` against NumPy on sampled columns.

usage: python fft_check.py X_ZARR Y_ZARR

NumPy's `np.fft.fft` of 16 columns of X (spread over the array, the first and last
included) must agree with those columns of Y to a relative 1e-12 of the column's largest
magnitude (the FFTs of pocketfft and rustfft round differently). Prints one line; exits 1 on
a mismatch or a wrong shape or dtype.
"""
import sys

import numpy as np
import zarr

x = zarr.open_array(sys.argv[1], mode="r")
y = zarr.open_array(sys.argv[2], mode="r")
if y.shape != x.shape or y.dtype != np.complex128:
    print(f"shape {y.shape} dtype {y.dtype}, expected {x.shape} complex128 (MISMATCH)")
    sys.exit(1)
worst = 0.0
for j in np.linspace(0, x.shape[1] - 1, 16).astype(int):
    want = np.fft.fft(x[:, j])
    got = y[:, j]
    worst = max(worst, float(np.max(np.abs(got - want)) / np.max(np.abs(want))))
ok = worst <= 1e-12
print(f"worst relative error of 16 columns against NumPy {worst:.2e} ({'ok' if ok else 'MISMATCH'})")
sys.exit(0 if ok else 1)
