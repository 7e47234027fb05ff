#!/usr/bin/env python3
"""NumPy side of brickwork's elementwise tests (tests/elementwise.rs).

Usage::

    python numpy_elementwise.py DIR

Reads DIR/jobs.json, a list of ``{"out": NAME, "func": F, "inputs": [A, ...],
"kwargs": {...}}``, and for each job writes DIR/NAME.npy holding
``numpy.F(DIR/A.npy, ..., **kwargs)``. Floating-point warnings are silenced (the
inputs hold NaN, infinities and values out of every function's domain on purpose).

brickwork has no float16: where NumPy's result is float16, the job is run again
on the inputs converted to float32, which is what brickwork computes instead.
"""

import json
import sys
import warnings
from pathlib import Path

import numpy as np


def run(func, inputs, kwargs):
    """numpy.func(*inputs, **kwargs), with float32 in place of float16."""
    f = getattr(np, func)
    result = np.asarray(f(*inputs, **kwargs))
    if result.dtype == np.float16:
        result = np.asarray(f(*[a.astype(np.float32) for a in inputs], **kwargs))
    return result


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(sys.argv[1])
    jobs = json.loads((folder / "jobs.json").read_text())
    warnings.simplefilter("ignore")
    with np.errstate(all="ignore"):
        for job in jobs:
            inputs = [np.load(folder / f"{name}.npy") for name in job["inputs"]]
            np.save(folder / f"{job['out']}.npy", run(job["func"], inputs, job["kwargs"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
