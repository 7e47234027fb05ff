"""pytest setup: the tests import the built package (scripts/test.sh puts it first on
PYTHONPATH) and compare with NumPy and dask.array on the same inputs."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
