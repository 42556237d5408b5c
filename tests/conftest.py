import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from kullback import _kernels

_approx = pytest.approx


def _relative_approx(expected, rel=None, abs=None, nan_ok=False):
    """pytest.approx, except that a test giving ``rel`` alone gets a purely relative check.

    pytest keeps its absolute tolerance 1e-12 even then, so approx(1.2e-39, rel=1e-13) accepted 5.0e-40 and every
    expected value below ~1e-12 passed whatever the result (found in test_regressions_same.py). A test that wants an
    absolute floor says ``abs=`` as well."""
    if rel is not None and abs is None:
        abs = 0.0
    return _approx(expected, rel=rel, abs=abs, nan_ok=nan_ok)


pytest.approx = _relative_approx


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
