"""Hypothesis over kb.fit's domain against closed forms and mpmath.

Forward KL over an exponential family matches expected sufficient statistics (Bishop 2006,
eq. (10.187)): Binomial(n, p) fitted to any law on {0..n} has p = mean / n, a Poisson has mu =
mean; the divergence at the fit is checked against mpmath at 30 digits. Reverse fits are checked
by their stationarity, d/dp D(q_p || target) = 0, differentiated by mpmath.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st
from hypothesis import given, settings
from hypothesis import strategies as hs

import kullback as kb

weights = hs.lists(hs.floats(1e-3, 1.0), min_size=2, max_size=12)


def _law(w):
    p = np.asarray(w) / np.sum(w)
    return p, st.rv_discrete(values=(np.arange(p.size), p))


def _binom(n, p):
    return [mp.binomial(n, i) * p**i * (1 - p) ** (n - i) for i in range(n + 1)]


@settings(max_examples=12, deadline=None)
@given(w=weights)
def test_forward_binomial_is_the_mean_over_n(w):
    p, law = _law(w)
    n = p.size - 1
    f = kb.fit(law, st.binom, fixed={"n": n})
    mean = float(np.dot(np.arange(p.size), p))
    assert f.converged
    assert f.params["p"] == pytest.approx(mean / n, abs=1e-7)
    with mp.workdps(30):
        q = _binom(n, mp.mpf(mean) / n)
        D = sum(mp.mpf(pi) * mp.log(mp.mpf(pi) / qi) for pi, qi in zip(p.tolist(), q))
    assert f.kl == pytest.approx(float(D), rel=1e-8, abs=1e-12)


@settings(max_examples=10, deadline=None)
@given(w=weights)
def test_forward_poisson_is_the_mean(w):
    p, law = _law(w)
    f = kb.fit(law, st.poisson)
    assert f.params["mu"] == pytest.approx(float(np.dot(np.arange(p.size), p)), rel=1e-6)


@settings(max_examples=8, deadline=None)
@given(w=weights)
def test_reverse_binomial_is_stationary(w):
    p, law = _law(w)
    n = p.size - 1
    f = kb.fit(law, st.binom, fixed={"n": n}, direction="reverse")
    assert f.converged

    def D(t):
        q = _binom(n, t)
        return sum(qi * mp.log(qi / mp.mpf(pi)) for qi, pi in zip(q, p.tolist()))

    with mp.workdps(30):
        t = mp.mpf(f.params["p"])
        assert abs(float(mp.diff(D, t))) < 1e-5 * (1 + float(D(t)))
        assert f.kl == pytest.approx(float(D(t)), rel=1e-8, abs=1e-12)


@settings(max_examples=10, deadline=None)
@given(w=weights)
def test_forward_binomial_with_n_free_is_the_profiles_minimum(w):
    """n free: the profile's answer against a scan of n over [K, K + 3000] with p = mean / n at each
    (the forward fit to a law on {0..K} is its closed form for n fixed); D at the answer by mpmath."""
    p, law = _law(w)
    k = np.arange(p.size)
    mean = float(k @ p)
    var = float((k - mean) ** 2 @ p)
    f = kb.fit(law, st.binom)
    K = p.size - 1
    if var >= mean:  # overdispersed: no finite n is best (Olkin, Petkau & Zidek 1981)
        assert not f.converged and "keeps falling" in f.reason
        return
    grid = np.arange(K, K + 3000)
    D = [float(np.sum(p * (np.log(p) - st.binom.logpmf(k, c, mean / c)))) for c in grid]
    n = int(grid[np.argmin(D)])
    if n == grid[-1]:  # the minimum beyond the scan (variance just below the mean): the profile's n is larger
        assert f.params["n"] >= n
        return
    assert f.params["n"] == n
    with mp.workdps(30):
        q = _binom(n, mp.mpf(mean) / n)
        ref = sum(mp.mpf(pi) * mp.log(mp.mpf(pi) / qi) for pi, qi in zip(p.tolist(), q))
    assert f.kl == pytest.approx(float(ref), rel=1e-8, abs=1e-12)
