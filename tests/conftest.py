import numpy as np
import pytest

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
