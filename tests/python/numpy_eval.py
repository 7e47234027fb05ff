#!/usr/bin/env python3
"""NumPy side of brickwork's array API tests (tests/array_api.rs).

Usage::

    python numpy_eval.py DIR

Reads DIR/jobs.json, ``{"inputs": [NAME, ...], "cases": [EXPR, ...]}``, loads each input
from DIR/NAME.npy, evaluates each case as a Python expression with NumPy's names in scope
(``np``, ``linalg``, ``inf``, ``nan`` and everything in ``numpy``), and writes case ``i``'s
result to DIR/out_i.npy. brickwork has no float16: a float16 result is saved as float32.
"""

import json
import sys
import warnings
from pathlib import Path

import numpy as np


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(sys.argv[1])
    jobs = json.loads((folder / "jobs.json").read_text())
    scope = dict(vars(np))
    scope.update(np=np, linalg=np.linalg)
    for name in jobs["inputs"]:
        scope[name] = np.load(folder / f"{name}.npy")
    warnings.simplefilter("ignore")
    with np.errstate(all="ignore"):
        for i, case in enumerate(jobs["cases"]):
            try:
                result = np.asarray(eval(case, scope))  # noqa: S307 (the test's own cases)
            except Exception as e:
                print(f"case {case!r}: {type(e).__name__}: {e}", file=sys.stderr)
                return 1
            if result.dtype == np.float16:
                result = result.astype(np.float32)
            np.save(folder / f"out_{i}.npy", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
