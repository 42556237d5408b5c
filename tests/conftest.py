import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from kullback import _kernels


@pytest.fixture(params=["generic", "kernel"])
def path(request, monkeypatch):
    """Run a NumPy test through the array-API code and through the fused kernel."""
    if request.param == "kernel":
        if not _kernels.AVAILABLE:
            pytest.skip("numba is not importable")
        monkeypatch.setattr(_kernels, "MIN_SIZE", 0)
    else:
        monkeypatch.setattr(_kernels, "MIN_SIZE", np.iinfo(np.int64).max)
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(20261124)


# Hypothesis: a bounded profile for `make test`, a long one for `make fuzz`; no example database
# in the repository (database=None), derandomised so that CI is reproducible.
settings.register_profile(
    "ci", max_examples=60, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("long", max_examples=3000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
