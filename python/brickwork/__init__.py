"""brickwork: NumPy for data that does not fit.

``import brickwork.array as da`` gives dask.array's API over brickwork's Rust engine (lazy
chunked arrays over Zarr, every core, a hard memory limit); ``from brickwork.distributed
import Client`` an in-process cluster as the default scheduler; ``brickwork.compute(a, b)``
computes several arrays in one pass.
"""

from brickwork import _brickwork
from brickwork.array.core import compute

__version__ = "0.1.0"
__all__ = ["compute", "__version__"]
del _brickwork
