"""Ensemble weights and leave-one-out shifts of kullback.estimation._knn_ensemble."""

import mpmath as mp
import numpy as np
import pytest
from scipy.spatial import cKDTree

from kullback.estimation._knn_ensemble import ensemble_weights, loo_shift


@pytest.mark.parametrize("d,K,J", [(1, 20, 0), (3, 20, 1), (5, 30, 2), (10, 30, 2), (8, 40, 3)])
def test_weights_cancel_the_bias_terms(d, K, J):
    """sum w = 1 and sum_k w_k Gamma(k + 2j/d) / Gamma(k) = 0, j = 1..J (BSY 2019, eq. (3)); Gamma by mpmath."""
    w = ensemble_weights(d, K, n_terms=J)
    assert w.shape == (K,) and abs(w.sum() - 1) < 1e-12
    for j in range(1, J + 1):
        s = mp.fsum(mp.mpf(float(w[k - 1])) * mp.gamma(k + mp.mpf(2 * j) / d) / mp.gamma(k) for k in range(1, K + 1))
        assert abs(s) < 1e-9 * K ** (2 * j / d)


def test_weights_without_constraints_are_uniform():
    """J = 0: the least-norm weights with sum 1 are 1/K each."""
    assert np.allclose(ensemble_weights(2, 7, n_terms=0), 1 / 7)


def test_loo_shift_matches_deletion():
    """Deleting point j of the searched sample: the weighted log-distance sum changes by loo_shift[j] (brute force)."""
    g = np.random.default_rng(1)
    x, q = g.standard_normal((40, 2)), g.standard_normal((25, 2))
    w = np.array([0.2, 0.5, 0.3])

    def total(data):
        dist = cKDTree(data).query(q, k=3)[0]
        return float(np.log(dist) @ w @ np.ones(len(q)))

    dist, idx = cKDTree(x).query(q, k=4)
    shift = loo_shift(np.log(dist), idx, w, len(x))
    brute = np.array([total(np.delete(x, j, axis=0)) - total(x) for j in range(len(x))])
    assert np.allclose(shift, brute, atol=1e-12)


@pytest.mark.parametrize("K", [1, 2, 7, 30])
def test_loo_shift_compiled_and_numpy_agree(K, monkeypatch):
    """The numba scatter and the NumPy formula (cumsum + bincount, used without numba) give the same shifts.

    Both sum the same products in a different order: equal to a few ulps of the largest shift."""
    from kullback import _kernels

    if not _kernels.available():
        pytest.skip("numba is not importable")
    g = np.random.default_rng(K)
    x = g.standard_normal((500, 3))
    dist, idx = cKDTree(x).query(x, k=K + 2)
    L, idx = np.log(dist[:, 1:]), idx[:, 1:]  # own row left out
    w = g.standard_normal(K)
    compiled = loo_shift(L, idx, w, len(x))
    monkeypatch.setattr(_kernels, "available", lambda: False)
    plain = loo_shift(L, idx, w, len(x))
    assert np.abs(compiled).max() > 0
    np.testing.assert_allclose(compiled, plain, rtol=0, atol=64 * np.finfo(float).eps * np.abs(plain).max())


def test_loo_shift_refuses_too_few_neighbours():
    """K weights need K + 1 neighbours per point (the compiled loop would read past the row otherwise)."""
    with pytest.raises(ValueError, match="needs K \\+ 1 = 3 neighbours per point; got 2"):
        loo_shift(np.zeros((4, 2)), np.zeros((4, 2), dtype=np.int64), np.ones(2), 4)
