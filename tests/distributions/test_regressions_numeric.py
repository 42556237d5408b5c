"""Regressions of the numeric KL methods (issue 12, classes 5 and 7), each against mpmath at 50 digits.

References: ``ref_continuous`` / ``ref_discrete`` of test_fuzz_numeric.py (textbook log-densities in
mpmath, integrated in p's standard variable / summed outward from p's median), closed forms where
they exist (noted per test).  Each test also checks that the returned error bound covers the
actual error: the bound must be honest, not only small.
"""

from __future__ import annotations

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st

import kullback as kb
from kullback._warnings import AccuracyWarning
from kullback.distributions._numeric import NumericFailure, _bd0, _stirlerr, quad_kl, sum_kl

from .test_fuzz_numeric import ref_continuous, ref_discrete


def _close(got, ref, bound=None):
    err = abs(got - ref)
    assert err <= max(1e-6 * abs(ref), 1e-12), (got, ref, err / abs(ref))
    if bound is not None:  # honest: the bound covers the actual error (up to the reference's rounding)
        assert err <= bound + 1e-15 * abs(ref), (got, ref, err, bound)


@pytest.mark.parametrize(
    "p, q",
    [
        (st.norm(1e10, 1), st.t(3)),  # formerly 2.4e-6 relative off: x = 1e10 + u lost digits of u
        (st.norm(1000, 1e-8), st.logistic()),  # formerly 1.4e-5: nodes rounded to 1e-13 of a law 1e-8 wide
        (st.norm(-1e10, 1e-8), st.t(5, -1e10, 2e-8)),  # both narrow, both far out: q in its own standard variable
        (st.logistic(1e10, 1), st.t(3, 1e10 + 1, 1)),
    ],
    ids=["norm(1e10,1)-t3", "norm(1000,1e-8)-logistic", "narrow pair at -1e10", "logistic-t at 1e10"],
)
def test_narrow_or_far_out_density_meets_1e6(p, q):
    ref = float(ref_continuous(p, q))
    with warnings.catch_warnings():
        warnings.simplefilter("error", AccuracyWarning)
        got, bound = quad_kl(p, q)
        _close(got, ref, bound)
        _close(float(kb.kl(p, q)), ref)


def test_binomials_of_adjacent_n_at_a_million_meet_1e6():
    """binom(1e6, .3) || binom(1e6 + 1, .3): formerly 1.2e-3 relative off (scipy's lgamma-based log-pmf
    carries errors of 1e-9 against a divergence of 2e-7); now Loader's saddle-point form."""
    p, q = st.binom(10**6, 0.3), st.binom(10**6 + 1, 0.3)
    ref = float(ref_discrete(p, q))
    got, bound = sum_kl(p, q)
    _close(got, ref, bound)
    _close(float(kb.kl(p, q)), ref)


def test_binomial_against_poisson_of_its_mean_at_large_n():
    p, q = st.binom(10**7, 1e-6), st.poisson(10.0)
    ref = float(ref_discrete(p, q))
    got, bound = sum_kl(p, q)
    _close(got, ref, bound)


def test_dlaplace_pair_does_not_overflow():
    """kb.kl(dlaplace(.8), dlaplace(.5)) raised OverflowError (int(-inf): summation from the left end).
    Reference: the closed form log tanh(a/2) - log tanh(b/2) + (b - a) 2 e^-a / (1 - e^-2a) (geometric series)."""
    a, b = mp.mpf(0.8), mp.mpf(0.5)
    ref = float(mp.log(mp.tanh(a / 2)) - mp.log(mp.tanh(b / 2)) + (b - a) * 2 * mp.exp(-a) / (1 - mp.exp(-2 * a)))
    got, bound = sum_kl(st.dlaplace(0.8), st.dlaplace(0.5))
    _close(got, ref, bound)
    _close(float(kb.kl(st.dlaplace(0.8), st.dlaplace(0.5))), ref)


def test_skellam_against_dlaplace_does_not_overflow():
    p, q = st.skellam(3, 2), st.dlaplace(0.5)
    ref = float(ref_discrete(p, q))
    got, bound = sum_kl(p, q)
    _close(got, ref, bound)
    _close(float(kb.kl(p, q)), ref)


def test_wide_dlaplace_against_narrow_dlaplace_is_finite():
    """scipy's dlaplace log-pmf is log(pmf): -inf at |k| > 745/a, which read as q = 0 (D = inf)."""
    p, q = st.dlaplace(0.01), st.dlaplace(3.0)
    ref = float(ref_discrete(p, q))
    got, bound = sum_kl(p, q)
    _close(got, ref, bound)


def test_underflow_of_q_inside_its_support_is_refused_not_infinite():
    """scipy's hypsecant log-density is log(pdf): -inf beyond |x| ~ 710 although the density is positive
    everywhere; where p still has mass there, the answer is a refusal, not a false +inf."""
    with pytest.raises(NumericFailure, match="underflows"):
        quad_kl(st.norm(0, 1000), st.hypsecant())


def test_skellam_far_in_its_tail_is_finite():
    """poisson(30) || skellam(0.01, 50): q's Bessel factor I_k(1.41) underflows (ive = 0) from k ~ 150 on,
    where p is still e^-125; the power series of I_k takes over there (DLMF 10.25.2)."""
    p, q = st.poisson(30.0), st.skellam(0.01, 50.0)
    ref = float(ref_discrete(p, q))
    got, bound = sum_kl(p, q)
    _close(got, ref, bound)


@pytest.mark.parametrize(
    "p, q",
    [
        (st.t(4, 0.2, 1.3), st.norm(0, 1.5)),
        (st.logistic(0.3, 0.8), st.norm(0, 1.5)),
        (st.levy(), st.halfcauchy()),
        (st.gamma(1e4, scale=0.1), st.lognorm(0.01, scale=1000.0)),  # large shape: Loader's gamma density
        (st.gamma(0.4), st.weibull_min(0.3)),  # singular at 0
        (st.t(1.5), st.t(30, 1, 2)),
    ],
    ids=["t-normal", "logistic-normal", "levy-halfcauchy", "gamma 1e4-lognormal", "gamma .4-weibull", "t1.5-t30"],
)
def test_heavy_tailed_and_one_sided_densities(p, q):
    ref = float(ref_continuous(p, q))
    got, bound = quad_kl(p, q)
    _close(got, ref, bound)


@pytest.mark.parametrize(
    "p, q",
    [
        (st.nbinom(5, 0.6), st.poisson(3.0)),
        (st.nbinom(0.5, 0.02), st.poisson(30.0)),
        (st.poisson(3.0), st.skellam(3, 2)),
        (st.binom(6, 0.4), st.binom(9, 0.3)),  # n_p < n_q
        (st.geom(0.35), st.geom(0.2, loc=-1)),  # other start
        (st.binom(4000, 0.5), st.nbinom(2000, 0.5)),  # a finite support larger than is summed whole
    ],
    ids=["nbinom-poisson", "nbinom heavy-poisson", "poisson-skellam", "binom np<nq", "geom other start", "binom 4000-nbinom"],
)
def test_heavy_tailed_and_one_sided_lattice_laws(p, q):
    ref = float(ref_discrete(p, q))
    got, bound = sum_kl(p, q)
    _close(got, ref, bound)


def test_q_zero_where_p_has_mass_is_inf():
    assert sum_kl(st.binom(9, 0.3), st.binom(6, 0.4))[0] == math.inf
    assert sum_kl(st.poisson(2.0), st.binom(50, 0.1))[0] == math.inf
    assert quad_kl(st.norm(), st.gamma(2.0))[0] == math.inf
    assert sum_kl(st.skellam(2, 1), st.poisson(1))[0] == math.inf


def test_slow_tails_are_refused_with_a_reason():
    with pytest.raises(NumericFailure, match="not converged"):
        sum_kl(st.zipf(2.5), st.geom(0.3))  # power-law series: no geometric bound
    with pytest.raises(NumericFailure, match="falls off like"):
        quad_kl(st.cauchy(), st.logistic())  # D = +inf: E|X| diverges under Cauchy
    with pytest.raises(ValueError, match="numeric method failed"):
        kb.kl(st.t(1.05), st.logistic())


class _InX:
    """A law seen only in x (no loc/scale to read): the numeric method's fallback coordinates."""

    def __init__(self, d):
        self._d = d

    def logpdf(self, x):
        return self._d.logpdf(x)

    def ppf(self, u):
        return self._d.ppf(u)

    def support(self):
        return self._d.support()


def test_rounding_of_nodes_in_x_is_warned_with_an_honest_bound():
    """A law known only in x, 1e-2 wide at 1e8: the nodes carry rounding of eps 1e8 / 1e-2 ~ 1e-6 of its width.
    The numeric method cannot standardise it: it warns, and the bound it states covers the true error."""
    p, q = st.norm(1e8, 1e-2), st.t(3)
    ref = float(ref_continuous(p, q))
    with pytest.warns(AccuracyWarning, match="bounds its error") as rec:
        got, bound = quad_kl(_InX(p), q)
    assert rec[0].filename == __file__  # stacklevel: the caller's line
    assert bound > 1e-6 * ref
    assert abs(got - ref) <= bound


def test_loader_terms_against_mpmath():
    """stirlerr and bd0 (Loader 2000, eqs. 4-5) against their definitions in mpmath at 50 digits."""
    with mp.workdps(50):
        for n in (0.3, 1.0, 7.5, 15.0, 15.5, 40.0, 100.0, 1e3, 1e7, 1e12):
            N = mp.mpf(n)
            ref = mp.loggamma(N + 1) - (N + 0.5) * mp.log(N) + N - mp.log(2 * mp.pi) / 2
            # absolute accuracy is what counts (it adds to a log-probability)
            assert float(_stirlerr(np.array([n]))[0]) == pytest.approx(
                float(ref), rel=1e-13 if n >= 100 else 0, abs=0 if n >= 100 else 1e-14
            )
        for x, m in ((10.0, 10.5), (1e6, 1e6 + 3.0), (3.0, 100.0), (1e7, 0.3e7), (5.0, 5.0), (0.0, 2.0)):
            X, M = mp.mpf(x), mp.mpf(m)
            ref = (X * mp.log(X / M) if x else 0) + M - X
            got = float(_bd0(np.array([x]), np.array([m]))[0])
            assert got == pytest.approx(float(ref), rel=1e-13, abs=1e-300)


def test_gamma_log_density_at_subnormal_arguments_is_finite():
    """Loader's bd0 formed x/m, which overflows for a subnormal m: the gamma log-density was -inf
    at x = 1e-320 and continuous Bernoulli || gamma was refused as an underflow. Reference: mpmath."""
    import importlib

    law = importlib.import_module("kullback.distributions._numeric")._Law(st.gamma(2.0), False)
    for x in (1e-320, 5e-324, 1e-300):
        ref = float(mp.log(mp.mpf(x)) - mp.mpf(x))  # log(x e^-x / Gamma(2))
        assert float(law.logf(np.array([x]))[0]) == pytest.approx(ref, rel=1e-14)
