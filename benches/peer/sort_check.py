"""Checks a written `sort(x, axis=0)` or `unique(x)` against NumPy.

usage: python sort_check.py sort X_ZARR Y_ZARR
       python sort_check.py unique X_ZARR Y_ZARR EXPECTED_JSON

sort: 16 columns of Y (spread over the array, the first and last included) must equal
NumPy's `np.sort` of those columns of X exactly. unique: Y must be NumPy's `np.unique(X)`
exactly, compared by length and a SHA-256 of its little-endian bytes; NumPy's answer is
computed once (the whole array in memory) and kept in EXPECTED_JSON beside the data.
Prints one line; exits 1 on a mismatch or a wrong shape or dtype.
"""
import hashlib
import json
import os
import sys

import numpy as np
import zarr

kind, x_path, y_path = sys.argv[1:4]
x = zarr.open_array(x_path, mode="r")
y = zarr.open_array(y_path, mode="r")
if kind == "sort":
    if y.shape != x.shape or y.dtype != x.dtype:
        print(f"shape {y.shape} dtype {y.dtype}, expected {x.shape} {x.dtype} (MISMATCH)")
        sys.exit(1)
    bad = [int(j) for j in np.linspace(0, x.shape[1] - 1, 16).astype(int)
           if not np.array_equal(np.sort(x[:, j]), y[:, j])]
    print(f"16 columns against np.sort: {'all equal (ok)' if not bad else f'columns {bad} differ (MISMATCH)'}")
    sys.exit(1 if bad else 0)


def digest(a, step=1 << 24):
    h = hashlib.sha256()
    for i in range(0, a.shape[0], step):
        h.update(np.ascontiguousarray(a[i:i + step], dtype="<" + a.dtype.str[1:]).tobytes())
    return h.hexdigest()


expected_path = sys.argv[4]
if os.path.exists(expected_path):
    expected = json.load(open(expected_path))
else:
    u = np.unique(x[:])
    expected = {"len": int(u.shape[0]), "dtype": str(u.dtype), "sha256": digest(u)}
    del u
    json.dump(expected, open(expected_path, "w"))
got = {"len": int(y.shape[0]), "dtype": str(y.dtype), "sha256": digest(y)}
ok = got == expected
print(f"{got['len']} distinct values, SHA-256 {got['sha256'][:12]}..., "
      f"{'equal to np.unique (ok)' if ok else f'np.unique gives {expected} (MISMATCH)'}")
sys.exit(0 if ok else 1)
