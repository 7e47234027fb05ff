"""Reference results for brickwork's stencil tests (tests/filters.rs).

Usage: python scipy_filters.py DIR. DIR/jobs.json lists {"out", "input", "expr"}: the
expression (Python, with `x` the array in DIR/<input>.npy, `np` NumPy and `ndi`
scipy.ndimage in scope) is evaluated and saved as DIR/<out>.npy.
"""

import json
import sys
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi


def main() -> None:
    d = Path(sys.argv[1])
    for job in json.loads((d / "jobs.json").read_text()):
        x = np.load(d / f"{job['input']}.npy")
        out = eval(job["expr"], {"np": np, "ndi": ndi, "x": x})  # noqa: S307 (test input)
        out = np.asarray(out)
        # ascontiguousarray would make a 0-d result (a NumPy scalar) 1-d.
        np.save(d / f"{job['out']}.npy", np.ascontiguousarray(out) if out.ndim else out)


if __name__ == "__main__":
    main()
