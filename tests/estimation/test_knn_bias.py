"""The fitted bias reference of the kNN divergence from d = 3 (``_knn_bias``): its formula against mpmath, and how
``kl_knn`` uses it.

Reference for the formula: mpmath at 40 digits computes b(k) = Gamma(k + 1/d) / Gamma(k) and the least-squares
slope of D(k) = D0 + c b(k) over k = 1..K in closed form (sum (b - mean b)(D - mean D) / sum (b - mean b)^2); where
D(k) follows that model exactly the fitted bias of weights w must be c sum_k w_k b(k) and the reference estimate D0
(sum w = 1), whatever d, K, c, D0 and w.
"""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kullback.estimation._knn import kl_knn
from kullback.estimation._knn_bias import KNN_FIT_SPAN, fitted_reference, growth
from kullback.estimation._knn_ensemble import ensemble_weights

mpmath.mp.dps = 40


def _b(d, k):
    return mpmath.gamma(k + mpmath.mpf(1) / d) / mpmath.gamma(k)


@settings(max_examples=60, deadline=None)
@given(
    d=st.integers(3, 200),
    K=st.integers(2, 60),
    c=st.floats(-5, 5, allow_nan=False),
    D0=st.floats(-10, 50, allow_nan=False),
    kind=st.sampled_from(["one k", "ensemble"]),
    k_pick=st.integers(1, 60),
    J=st.integers(0, 3),
)
def test_fitted_reference_recovers_an_exact_power_law_bias(d, K, c, D0, kind, k_pick, J):
    """On D(k) = D0 + c b(k) (mpmath), main - reference gives c (w . b) and the reference gives D0, to 1e-9."""
    b = [_b(d, k) for k in range(1, K + 1)]
    assert np.allclose(growth(d, K), [float(v) for v in b], rtol=1e-13, atol=0)
    if kind == "one k":
        w = np.zeros(K)
        w[min(k_pick, K) - 1] = 1.0
    else:
        w = ensemble_weights(d, K, n_terms=min(J, K - 1))
    D = np.array([float(D0 + c * v) for v in b])
    ref = fitted_reference(w, d, K)
    bias = float((w - ref) @ D)
    want = float(sum(mpmath.mpf(float(wk)) * c * bk for wk, bk in zip(w, b)))
    # rounding: a float dot product errs by at most K eps sum |terms| (the slope weights grow as b(k) flattens, large d)
    rounding = 4 * K * np.finfo(float).eps * float(np.abs(w - ref) @ np.abs(D) + np.abs(ref) @ np.abs(D))
    assert abs(bias - want) <= 1e-9 * abs(want) + rounding
    assert abs(float(ref @ D) - D0) <= 1e-9 * abs(D0) + rounding


@settings(max_examples=30, deadline=None)
@given(d=st.integers(3, 100), K=st.integers(2, 40), shift=st.floats(-3, 3, allow_nan=False))
def test_fitted_bias_ignores_a_constant_and_is_zero_without_growth(d, K, shift):
    """A constant added to every D(k) moves the reference by the same constant and leaves the bias 0 (sum of the
    slope weights is 0: the fit has an intercept)."""
    w = np.zeros(K)
    w[0] = 1.0
    ref = fitted_reference(w, d, K)
    rounding = 4 * K * np.finfo(float).eps * float(np.abs(ref).sum())  # the slope weights grow as b(k) flattens
    assert abs(float(ref.sum()) - 1.0) <= rounding
    assert abs(float((w - ref) @ np.full(K, shift))) <= rounding * (1 + abs(shift))


def _shifted_pair(g, d, n, D):
    """p = N(0, I_d), q = N(mu 1, I_d) with D(p||q) = d mu^2 / 2 = D (closed form)."""
    mu = math.sqrt(2 * D / d)
    return g.standard_normal((n, d)), g.standard_normal((n, d)) + mu


def test_auto_k1_in_high_d_fits_its_bias_over_the_ensembles_k():
    """d = 10: method="auto" reads k = 1 off the ensemble's search (k = 1..30) and fits its bias over all of it;
    method="knn", k=1 searches k = 1..4 and fits over those. Same value and jackknife se to the bit; the allowance is
    |fitted bias| + its se in both, each from its own fit range."""
    x, y = _shifted_pair(np.random.default_rng([21, 30]), 10, 1000, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto, k1 = kl_knn(x, y, method="auto"), kl_knn(x, y, method="knn", k=1)
    assert auto.method == "knn" and auto.value == k1.value and auto.stderr == k1.stderr
    assert auto.details["bias_fit"]["k"] == [1, 30] and k1.details["bias_fit"]["k"] == [1, KNN_FIT_SPAN]
    for e in (auto, k1):
        fit = e.details["bias_fit"]
        assert fit["exponent"] == 0.1 and fit["bias"] == e.value - e.details["reference_estimate"]
        assert math.isclose(e.details["bias_allowance"], abs(fit["bias"]) + e.details["reference_diff_stderr"], rel_tol=1e-12)
    # the fit over 30 orders is the less noisy one: the narrower interval here
    assert auto.details["bias_allowance"] < k1.details["bias_allowance"]


def test_low_d_keeps_the_richardson_reference():
    """d <= 2 is unchanged: no fit, the k = 2 reference for k = 1 and its Richardson factor with growth k^(1/2)."""
    g = np.random.default_rng([21, 31])
    x, y = g.standard_normal((500, 2)), g.standard_normal((500, 2)) + [1.0, 0.0]
    e = kl_knn(x, y, method="knn", k=1)
    f = math.gamma(1.5) / (math.gamma(2.5) - math.gamma(1.5))  # b(1) / (b(2) - b(1)), b(k) = Gamma(k + 1/2)/Gamma(k)
    assert "bias_fit" not in e.details and math.isclose(e.details["allowance_factor"], f, rel_tol=1e-12)
