"""Reference results for brickwork's tall-skinny factorization tests (tests/tsqr.rs).

Usage: python numpy_linalg.py DIR. DIR/jobs.json lists {"out", "inputs", "expr"}: the
expression (Python, with `np` and each name of "inputs" bound to the array in
DIR/<file>.npy) is evaluated; a tuple result is saved item by item as DIR/<out>_<i>.npy,
any other result as DIR/<out>_0.npy.
"""

import json
import sys
from pathlib import Path

import numpy as np


def main() -> None:
    d = Path(sys.argv[1])
    for job in json.loads((d / "jobs.json").read_text()):
        scope = {"np": np}
        for name, file in job["inputs"].items():
            scope[name] = np.load(d / f"{file}.npy")
        out = eval(job["expr"], scope)  # noqa: S307 (test input)
        items = out if isinstance(out, tuple) else (out,)
        for i, item in enumerate(items):
            item = np.asarray(item)
            # ascontiguousarray would make a 0-d result (a NumPy scalar) 1-d.
            np.save(d / f"{job['out']}_{i}.npy", np.ascontiguousarray(item) if item.ndim else item)


if __name__ == "__main__":
    main()
