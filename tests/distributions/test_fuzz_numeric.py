"""Differential fuzzer of the numeric KL methods (quadrature, summation) against mpmath at 50 digits.

The reference (``ref_kl``) is independent of kullback and of scipy's densities:
log-densities typed in from their textbook definitions in mpmath, and

* densities: D = int f_p(u) [log f_p(u) - log f_q(v) + log(s_q/s_p)] du in p's own
  standard variable u (x = loc_p + s_p u, v = (loc_p - loc_q)/s_q + (s_p/s_q) u, all in
  50-digit arithmetic), by mpmath's tanh-sinh rule split at p's quantiles and at kinks;
* laws on the integers: the series summed term by term outward from p's median (p(k) and
  p(k)/q(k) by the recurrences of the pmfs), or -- for laws of standard deviation >= 30 --
  the integral of the analytic continuation of the terms (lgamma): by the Poisson summation
  formula sum_k t(k) = int t + sum_{m != 0} hat t(2 pi m), and hat t(2 pi) ~ exp(-2 pi^2 sigma^2)
  is below 1e-7000 there (Stein & Shakarchi, Fourier Analysis, ch. 5, thm 3.1); dlaplace
  pairs in closed form (geometric series).

The property: the value is within 1e-6 relative (1e-12 absolute below that) of the
reference unless an AccuracyWarning was raised, never NaN, never below 0; a refusal is a
NumericFailure (a ValueError through kb.kl), never a wrong number.
"""

from __future__ import annotations

import math
import time
import warnings

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as hs

import kullback as kb
from kullback._warnings import AccuracyWarning
from kullback.distributions._numeric import ATOL, NumericFailure, quad_kl, sum_kl

DPS = 50
RTOL = 1e-6

# ---------------------------------------------------------------- the reference: standard log-densities in mpmath


def _std_logpdf(name, s):
    """log f(u) of a scipy family at loc 0, scale 1 (textbook forms), and its kinks in u."""
    L = mp.log
    if name == "norm":
        return lambda u: -u * u / 2 - L(2 * mp.pi) / 2, ()
    if name == "laplace":
        return lambda u: -L(2) - abs(u), (0,)
    if name == "logistic":
        return lambda u: -abs(u) - 2 * mp.log1p(mp.exp(-abs(u))), ()
    if name == "t":
        nu = s[0]
        c = mp.loggamma((nu + 1) / 2) - mp.loggamma(nu / 2) - L(nu * mp.pi) / 2
        return lambda u: c - (nu + 1) / 2 * mp.log1p(u * u / nu), ()
    if name == "gumbel_r":
        return lambda u: -u - mp.exp(-u), ()
    if name == "cauchy":
        return lambda u: -L(mp.pi) - mp.log1p(u * u), ()
    if name == "gamma":
        a = s[0]
        return lambda u: (a - 1) * L(u) - u - mp.loggamma(a), ()
    if name == "lognorm":
        sg = s[0]
        return lambda u: -L(u * sg) - L(2 * mp.pi) / 2 - L(u) ** 2 / (2 * sg * sg), ()
    if name == "weibull_min":
        c = s[0]
        return lambda u: L(c) + (c - 1) * L(u) - u**c, ()
    if name == "halfcauchy":
        return lambda u: L(2 / mp.pi) - mp.log1p(u * u), ()
    if name == "levy":
        return lambda u: -L(2 * mp.pi) / 2 - 1.5 * L(u) - 1 / (2 * u), ()
    raise KeyError(name)


def _parts(d):
    dist = d.dist
    parsed = dist._parse_args(*d.args, **d.kwds)
    shapes, loc, scale = parsed if len(parsed) == 3 else (*parsed, 1.0)
    return dist, tuple(float(x) for x in shapes), float(loc), float(scale)


_QSPLITS = (1e-12, 1e-6, 0.01, 0.2, 0.5, 0.8, 0.99, 1 - 1e-6, 1 - 1e-12)


def ref_continuous(p, q):
    """D(p||q) by mpmath at 50 digits, integrating in p's standard variable (see the module docstring)."""
    dp, sp, lp_, scp = _parts(p)
    dq, sq, lq_, scq = _parts(q)
    with mp.workdps(DPS):
        fp, kp = _std_logpdf(dp.name, [mp.mpf(x) for x in sp])
        fq, kq = _std_logpdf(dq.name, [mp.mpf(x) for x in sq])
        A = (mp.mpf(lp_) - mp.mpf(lq_)) / mp.mpf(scq)
        B = mp.mpf(scp) / mp.mpf(scq)
        C = mp.log(mp.mpf(scq) / mp.mpf(scp))
        lo, hi = (float(x) for x in dp.support(*sp))
        qlo, qhi = (float(x) for x in dq.support(*sq))
        if lp_ + scp * lo < lq_ + scq * qlo or lp_ + scp * hi > lq_ + scq * qhi:
            return mp.inf

        def f(u):
            a = fp(u)
            if a < -5000:  # p(u) < e^-5000: nothing at 50 digits (-log q is at most polynomial in u here)
                return mp.mpf(0)
            return mp.exp(a) * (a - fq(A + B * u) + C)

        pts = {mp.mpf(float(x)) for x in dp.ppf(np.asarray(_QSPLITS), *sp) if np.isfinite(x)}
        pts |= {mp.mpf(k) for k in kp} | {(k - A) / B for k in kq}
        pts = sorted(x for x in pts if lo < x < hi)
        val, err = mp.quad(f, [mp.mpf(lo), *pts, mp.mpf(hi)], error=True, maxdegree=6)
        return val if err < 1e-12 * max(1, abs(val)) else None  # None: the reference is not sure


# ---- laws on the integers: log pmf at a point, and the ratio pmf(k+1)/pmf(k)


def _std_lattice(name, s):
    """(log pmf(k), pmf(k+1)/pmf(k) or None, standard deviation) of a scipy family (loc 0)."""
    L, G = mp.log, mp.loggamma
    if name == "binom":
        n, pr = s
        return (
            (lambda k: G(n + 1) - G(k + 1) - G(n - k + 1) + k * L(pr) + (n - k) * mp.log1p(-pr)),
            (lambda k: (n - k) / (k + 1) * pr / (1 - pr)),
            mp.sqrt(n * pr * (1 - pr)),
        )
    if name == "poisson":
        (mu,) = s
        return (lambda k: k * L(mu) - mu - G(k + 1)), (lambda k: mu / (k + 1)), mp.sqrt(mu)
    if name == "nbinom":  # k failures before the r-th success
        r, pr = s
        return (
            (lambda k: G(k + r) - G(r) - G(k + 1) + r * L(pr) + k * mp.log1p(-pr)),
            (lambda k: (k + r) / (k + 1) * (1 - pr)),
            mp.sqrt(r * (1 - pr)) / pr,
        )
    if name == "geom":
        (pr,) = s
        return (lambda k: L(pr) + (k - 1) * mp.log1p(-pr)), (lambda k: 1 - pr), mp.sqrt(1 - pr) / pr
    if name == "skellam":
        m1, m2 = s
        z = 2 * mp.sqrt(m1 * m2)
        return (lambda k: -(m1 + m2) + k / 2 * L(m1 / m2) + L(mp.besseli(abs(k), z))), None, mp.sqrt(m1 + m2)
    if name == "dlaplace":
        (a,) = s
        return (lambda k: L(mp.tanh(a / 2)) - a * abs(k)), (lambda k: mp.exp(-a) if k >= 0 else mp.exp(a)), None
    raise KeyError(name)


def _dlaplace_pair(a, b):
    """D(dlaplace(a) || dlaplace(b)) in closed form: E|K| = 2 e^-a / (1 - e^-2a) under dlaplace(a)
    (pmf tanh(a/2) e^(-a|k|); geometric series), D = log tanh(a/2) - log tanh(b/2) + (b - a) E|K|."""
    return mp.log(mp.tanh(a / 2)) - mp.log(mp.tanh(b / 2)) + (b - a) * 2 * mp.exp(-a) / (1 - mp.exp(-2 * a))


def ref_discrete(p, q):
    """D(p||q) by mpmath at 50 digits (see the module docstring)."""
    dp, sp, lp_, _ = _parts(p)
    dq, sq, lq_, _ = _parts(q)
    lo, hi = (float(x) + lp_ for x in dp.support(*sp))
    qlo, qhi = (float(x) + lq_ for x in dq.support(*sq))
    if lo < qlo or hi > qhi:
        return mp.inf
    with mp.workdps(DPS):
        mps = lambda v: [mp.mpf(x) for x in v]  # noqa: E731
        if dp.name == dq.name == "dlaplace" and lp_ == lq_:
            return _dlaplace_pair(*mps(sp), *mps(sq))
        fp, rp, sdp = _std_lattice(dp.name, mps(sp))
        fq, rq, _ = _std_lattice(dq.name, mps(sq))
        lpk = lambda k: fp(k - lp_)  # noqa: E731
        lqk = lambda k: fq(k - lq_)  # noqa: E731
        m = int(np.clip(dp.median(*sp) + lp_, lo, hi))
        if sdp is not None and sdp >= 30 and m - 40 * sdp > lo and m + 40 * sdp < hi:
            # Poisson summation: the sum equals the integral of the smooth continuation to 1e-7000
            def t(x):
                a = lpk(x)
                return mp.exp(a) * (a - lqk(x))

            ends = [m + j * sdp for j in (-40, -10, -4, -2, -1, 0, 1, 2, 4, 10, 40)]
            return mp.quad(t, ends)
        return _outward(lpk, lqk, rp, rq, lp_, lq_, m, lo, hi)


def _outward(lpk, lqk, rp, rq, lp_, lq_, m, lo, hi):
    """Sum from the median outward on both sides, by the pmfs' recurrences where there are ones."""
    total = mp.mpf(0)
    for step in (1, -1):
        k = m if step == 1 else m - 1
        if (k - lo) * (k - hi) > 0:
            continue
        a, b = lpk(k), lqk(k)
        pk = mp.exp(a)
        rho = a - b  # log p(k)/q(k)
        peak = mp.mpf(0)
        for _ in range(2_000_000):
            term = pk * rho
            total += term
            peak = max(peak, abs(term))
            if abs(term) < mp.mpf(10) ** -45 * peak and pk < mp.mpf(10) ** -45:
                break
            k += step
            if (k - lo) * (k - hi) > 0:
                break
            if rp is not None and rq is not None:
                j = k - 1 if step == 1 else k  # ratio from j to j + 1
                fpr, fqr = rp(j - lp_), rq(j - lq_)
                if step == 1:
                    pk, rho = pk * fpr, rho + mp.log(fpr / fqr)
                else:
                    pk, rho = pk / fpr, rho - mp.log(fpr / fqr)
            else:
                a, b = lpk(k), lqk(k)
                pk, rho = mp.exp(a), a - b
        else:  # pragma: no cover
            raise AssertionError("reference series did not converge")
    return total


# ---------------------------------------------------------------- the property


def check(p, q, method, *, via_kb=False):
    """Run the numeric method (or kb.kl) on p, q; compare with the reference. Returns a record."""
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            got = float(kb.kl(p, q)) if via_kb else method(p, q, RTOL)[0]
        except (NumericFailure, ValueError) as exc:
            if via_kb and not isinstance(exc, NumericFailure):
                assert "numeric method failed" in str(exc) or "infinite" in str(exc), str(exc)
            return {"status": "refused", "seconds": time.perf_counter() - t0, "reason": str(exc)}
    seconds = time.perf_counter() - t0
    warned = any(issubclass(w.category, AccuracyWarning) for w in caught)
    where = f"{_show(p)} || {_show(q)}"
    assert not math.isnan(got), where
    assert got >= 0.0, f"{where}: {got!r}"
    ref = ref_continuous(p, q) if method is quad_kl else ref_discrete(p, q)
    if ref is None:
        return {"status": "noref", "seconds": seconds, "warned": warned}
    if ref == mp.inf:
        assert got == math.inf, f"{where}: {got!r}, mpmath inf"
        return {"status": "inf", "seconds": seconds, "warned": warned, "rel": 0.0}
    ref = float(ref)
    assert got != math.inf, f"{where}: inf, mpmath {ref!r}"
    err = abs(got - ref)
    rel = err / abs(ref) if ref else err
    if not warned:
        assert err <= max(RTOL * abs(ref), ATOL), f"{where}: got {got!r}, mpmath {ref!r} (relative {rel:.2g})"
    return {"status": "warned" if warned else "ok", "seconds": seconds, "rel": rel if err > ATOL else 0.0}


def _show(d):
    dist, s, loc, scale = _parts(d)
    return f"{dist.name}({', '.join(map(repr, s))}, loc={loc!r}, scale={scale!r})"


# ---------------------------------------------------------------- strategies (also used by benchmarks/accuracy_numeric.py)


def _loc(exp_hi):
    return hs.one_of(
        hs.just(0.0),
        hs.builds(lambda s, e: s * 10.0**e, hs.sampled_from([-1.0, 1.0]), hs.floats(-3, exp_hi)),
    )


_scale = hs.builds(lambda e: 10.0**e, hs.floats(-8, 8))
_df = hs.floats(1.0, 100.0)


@hs.composite
def loc_scale_pairs(draw):
    """p in normal/laplace/logistic/t/gumbel, q in t/logistic; loc in +-1e10, scale in 1e-8..1e8, df 1..100;
    half the draws put q near p (same scale up to 10x, loc within a few of p's scales)."""
    pf = draw(hs.sampled_from(["norm", "laplace", "logistic", "t", "gumbel_r"]))
    qf = draw(hs.sampled_from(["t", "logistic"]))
    lp, sp = draw(_loc(10)), draw(_scale)
    if draw(hs.booleans()):
        sq = sp * 10.0 ** draw(hs.floats(-1, 1))
        lq = lp + sp * draw(hs.floats(-5, 5))
    else:
        lq, sq = draw(_loc(10)), draw(_scale)
    p = st.t(draw(_df), lp, sp) if pf == "t" else getattr(st, pf)(lp, sp)
    q = st.t(draw(_df), lq, sq) if qf == "t" else st.logistic(lq, sq)
    return p, q


_positive = {
    "gamma": lambda d: st.gamma(10.0 ** d(hs.floats(-1, 4)), scale=10.0 ** d(hs.floats(-4, 4))),
    "lognorm": lambda d: st.lognorm(10.0 ** d(hs.floats(-1.3, 0.6)), scale=10.0 ** d(hs.floats(-4, 4))),
    "weibull_min": lambda d: st.weibull_min(10.0 ** d(hs.floats(-0.5, 1)), scale=10.0 ** d(hs.floats(-4, 4))),
    "halfcauchy": lambda d: st.halfcauchy(scale=10.0 ** d(hs.floats(-4, 4))),
}


@hs.composite
def positive_pairs(draw):
    """gamma (shape 0.1..1e4) / lognormal (sigma 0.05..4) / Weibull (c 0.3..10) against another positive law
    (those, or a half-Cauchy), scales 1e-4..1e4."""
    pf = draw(hs.sampled_from(["gamma", "lognorm", "weibull_min"]))
    qf = draw(hs.sampled_from([f for f in _positive if f != pf]))
    return _positive[pf](draw), _positive[qf](draw)


_prob = hs.builds(lambda z: 1 / (1 + math.exp(-z)), hs.floats(-13.8, 13.8))  # p in (1e-6, 1 - 1e-6), logit-uniform


@hs.composite
def binomial_pairs(draw):
    """binomial (n 1..1e7 log-uniform, p 1e-6..1-1e-6) against a binomial of n_q >= n_p, a Poisson or a negative
    binomial; half the draws put q near p (p_q = p (1 + d), |d| <= 1e-2; lambda = n p (1 + d))."""
    n = int(10 ** draw(hs.floats(0, 7)))
    pr = draw(_prob)
    assume(n * pr * (1 - pr) < 4e6)  # the references' cost
    near = draw(hs.booleans())
    d = draw(hs.floats(-1e-2, 1e-2)) if near else 0.0
    kind = draw(hs.sampled_from(["binom", "poisson", "nbinom"]))
    if kind == "binom":
        nq = n + draw(hs.sampled_from([0, 1, 2, 10])) if near else int(n * 10 ** draw(hs.floats(0, 1)))
        pq = min(pr * (1 + d), 1 - 1e-9) if near else draw(_prob)
        q = st.binom(nq, pq)
    elif kind == "poisson":
        q = st.poisson(n * pr * (1 + d) if near else 10 ** draw(hs.floats(-2, 7)))
    else:  # mean r (1 - pq)/pq near n p
        pq = draw(hs.floats(0.05, 0.99)) if near else draw(_prob)
        q = st.nbinom(n * pr * (1 + d) * pq / (1 - pq) if near else 10 ** draw(hs.floats(-2, 4)), pq)
    return st.binom(n, pr), q


@hs.composite
def integer_line_pairs(draw):
    """laws on all the integers: dlaplace(a) (a 0.01..5; 0.1..5 beside a Skellam law: the reference sums Bessel functions) and skellam(mu1, mu2) (0.01..50) against each other,
    and Poisson against skellam."""
    kind = draw(hs.sampled_from(["dl-dl", "sk-dl", "dl-sk", "sk-sk", "po-sk"]))
    a = lambda: st.dlaplace(10 ** draw(hs.floats(-2 if kind == "dl-dl" else -1, 0.7)))  # noqa: E731
    sk = lambda: st.skellam(10 ** draw(hs.floats(-2, 1.7)), 10 ** draw(hs.floats(-2, 1.7)))  # noqa: E731
    if kind == "po-sk":
        return st.poisson(10 ** draw(hs.floats(-2, 1.5))), sk()
    p = a() if kind.startswith("dl") else sk()
    q = a() if kind.endswith("dl") else sk()
    return p, q


FAMILIES = {
    "loc-scale vs t/logistic": (loc_scale_pairs(), quad_kl),
    "positive laws": (positive_pairs(), quad_kl),
    "binomial vs binomial/Poisson/NB": (binomial_pairs(), sum_kl),
    "laws on all the integers": (integer_line_pairs(), sum_kl),
}

_SLOW = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _examples(share):
    """A share of the loaded profile's examples (the references are slow: the 'ci' profile's 60 become 60 * share)."""
    return max(5, int(settings().max_examples * share))


# ---------------------------------------------------------------- the tests


@pytest.mark.fuzz
@settings(max_examples=_examples(0.15), **_SLOW)
@given(loc_scale_pairs())
def test_loc_scale_pairs_against_mpmath(pair):
    check(*pair, quad_kl)


@pytest.mark.fuzz
@settings(max_examples=_examples(0.1), **_SLOW)
@given(positive_pairs())
def test_positive_laws_against_mpmath(pair):
    check(*pair, quad_kl)


@pytest.mark.fuzz
@settings(max_examples=_examples(0.3), **_SLOW)
@given(binomial_pairs())
def test_binomial_pairs_against_mpmath(pair):
    check(*pair, sum_kl)


@pytest.mark.fuzz
@settings(max_examples=_examples(0.2), **_SLOW)
@given(integer_line_pairs())
def test_laws_on_all_the_integers_against_mpmath(pair):
    check(*pair, sum_kl)


@pytest.mark.fuzz
@settings(max_examples=_examples(0.12), **_SLOW)
@given(hs.one_of(loc_scale_pairs(), binomial_pairs(), integer_line_pairs()))
def test_through_kb_kl_against_mpmath(pair):
    """The same pairs through kb.kl: its closed forms or its routing to the numeric methods."""
    p, q = pair
    check(p, q, sum_kl if hasattr(p.dist, "pmf") else quad_kl, via_kb=True)
