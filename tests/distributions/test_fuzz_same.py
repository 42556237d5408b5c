"""Differential fuzzer for the same-family closed forms ``SAME[family]`` (issue 12, classes 1-4).

For every family in ``SAME`` Hypothesis draws a pair of laws over the whole parameter domain --
ordinary values; scales, rates and concentrations anywhere in 10^[-300, 300] (float64) or
10^[-37, 37] (torch float32); near-identical pairs (relative differences 1e-12 .. 1e-3 in some
parameters); a narrow p shifted away from q; large shapes -- builds the scipy.stats / torch
objects, and compares ``kb.kl`` with the mpmath closed forms of :func:`mpref.same_kl`, which are
typed in from the textbook definitions (no regrouping) and evaluated at 50 digits beyond what the
parameters' magnitudes cancel, certified by two precisions agreeing.  The reference is evaluated at
the canonical parameters exactly as kullback holds them (``describe(obj).params``: for float32 the
float32 numbers, for scipy's scale parameters the rounded reciprocals), so the test is about the
formulas, not about how a parameter was spelled.

Tolerance (float64): relative error <= 1e-10, or 16 eps kappa where the problem's own conditioning
is worse, kappa = sum_i |theta_i dD/dtheta_i| / D over the scalar parameters (:func:`mpref.same_condition`):
the error any backward-stable evaluation may make from one rounding of each input.  Float32 tensors
are computed in float64 (float32 inputs are exact there) and rounded once: the float64 bound plus
2^-24.  Categorical laws are the probabilities kullback holds, renormalised exactly by the reference: no
allowance beyond kappa for their sum's rounding (an absolute 4 eps (k + sum p (|log p| + |log q|)) was allowed
until the fourth session and hid a first-order error of the sums' rounding: 0 for 1.05e-19).  Values below the
smallest normal number may be off by the subnormal spacing.  Always: never
NaN, never below 0, +inf exactly where the truth is +inf or above the dtype's largest number.

Also: D(p||p) = 0 exactly; invariance under a common affine map (exact in floating point: a power-of-two
scale and an integer shift of integer locations); the torch float64 and scipy paths agree.
``test_reference_against_quadrature`` checks the mpmath closed forms themselves against mpmath
quadrature / summation of p log(p/q) (mpref's log-densities) at ordinary parameters.
"""

from __future__ import annotations

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st
import torch
import torch.distributions as TD
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as hs

import kullback as kb
from kullback.distributions import describe

from . import mpref

EPS64 = 2.0**-52
MAX64, MAX32 = 1.7976931348623157e308, 3.4028234663852886e38
TINY64, TINY32 = 2.2250738585072014e-308, 1.1754943508222875e-38
FAMILIES = [
    "normal", "halfnormal", "lognormal", "exponential", "gamma", "beta", "dirichlet", "laplace", "uniform", "gumbel",
    "pareto", "cauchy", "weibull", "vonmises", "cbernoulli", "poisson", "bernoulli", "binomial", "geometric",
    "categorical", "mvn",
]  # fmt: skip
LOC_SCALE = ["normal", "laplace", "gumbel", "cauchy", "uniform"]

# ---------------------------------------------------------------- parameter strategies


def _wide(lo, hi):
    return hs.floats(lo, hi).map(lambda u: float(10.0**u))


def _pos(e):
    """A scale, rate or concentration: ordinary, or anywhere in 10^[-e, e]."""
    return hs.one_of(hs.floats(0.1, 10.0), _wide(-e, e))


def _shape(e):
    """A shape: ordinary, large (10^3 .. 10^e: the asymptotic regime), or anywhere in 10^[-e, e]."""
    return hs.one_of(hs.floats(0.05, 50.0), _wide(3, e), _wide(-e, e))


def _loc(e):
    signed = hs.tuples(hs.sampled_from([-1.0, 1.0]), _wide(-e, e)).map(lambda t: t[0] * t[1])
    return hs.one_of(hs.just(0.0), hs.floats(-10.0, 10.0), signed)


def _prob(e, closed=False):
    """A probability: ordinary, 1/2 and near it, near 0 (10^-e), near 1; 0 and 1 when closed."""
    opts = [hs.floats(1e-6, 1 - 1e-6), hs.just(0.5), hs.floats(-1e-6, 1e-6).map(lambda d: 0.5 + d), _wide(-e, -1)]
    opts.append(hs.floats(1, 15).map(lambda u: 1 - 10.0**-u))
    if closed:
        opts.append(hs.sampled_from([0.0, 1.0]))
    return hs.one_of(*opts)


def _vector(elem, k):
    return hs.lists(elem, min_size=k, max_size=k)


def _probs_vector(k):
    w = hs.one_of(hs.floats(0.0, 1.0), _wide(-30, 0), hs.just(0.0))
    return _vector(w, k).filter(lambda v: sum(v) > 0).map(lambda v: [x / math.fsum(v) for x in v])


@hs.composite
def _tril(draw, d, e):
    s = draw(_wide(-e, e))
    rows = []
    for i in range(d):
        row = [draw(hs.floats(-2.0, 2.0)) * s for _ in range(i)] + [draw(hs.floats(0.3, 3.0)) * s] + [0.0] * (d - i - 1)
        rows.append(row)
    return rows


def params(f, e, d=None):
    """Strategy of canonical parameters of family f (float64 numbers; float32 draws are rounded after)."""
    P, L, S = _pos(e), _loc(e), _shape(e)
    simple = {
        "normal": dict(loc=L, scale=P), "halfnormal": dict(scale=P), "lognormal": dict(mu=L, sigma=P),
        "exponential": dict(rate=P), "gamma": dict(concentration=S, rate=P), "beta": dict(a=S, b=S),
        "laplace": dict(loc=L, scale=P), "gumbel": dict(loc=L, scale=P), "cauchy": dict(loc=L, scale=P),
        "pareto": dict(scale=P, alpha=S), "weibull": dict(concentration=S, scale=P),
        "vonmises": dict(loc=hs.one_of(hs.floats(-math.pi, math.pi), L), concentration=S),
        "cbernoulli": dict(lam=_prob(e)), "poisson": dict(rate=hs.one_of(hs.just(0.0), P, _wide(6, 15))),
        "bernoulli": dict(p=_prob(e, closed=True)), "geometric": dict(p=hs.one_of(_prob(e), hs.just(1.0))),
        "binomial": dict(n=hs.one_of(hs.integers(0, 50), hs.integers(0, 10**9)).map(float), p=_prob(e, closed=True)),
    }  # fmt: skip
    if f in simple:
        return hs.fixed_dictionaries(simple[f])
    if f == "uniform":
        return hs.tuples(L, P).map(lambda t: {"low": t[0], "high": t[0] + t[1]})
    if f == "dirichlet":
        return hs.fixed_dictionaries({"alpha": _vector(S, d)})
    if f == "categorical":
        return hs.fixed_dictionaries({"probs": _probs_vector(d)})
    if f == "mvn":
        return hs.fixed_dictionaries({"loc": _vector(hs.floats(-10.0, 10.0), d), "scale_tril": _tril(d, min(e, 20))})
    raise KeyError(f)


def _perturb(v, rel, real=False):
    """v moved by rel relative (a zero location by rel absolute; other zeros, e.g. of a triangular
    factor or a probability, stay 0)."""
    if isinstance(v, list):
        return [_perturb(x, rel, real) for x in v]
    return v * (1 + rel) if v != 0 else (rel if real else 0.0)


@hs.composite
def pair(draw, f, e):
    """(P, Q): independent, near-identical (some parameters moved by 1e-12 .. 1e-3 relative),
    identical, a narrow p shifted away from q (loc-scale families), or of equal/unequal trials."""
    d = draw(hs.integers(2, 4)) if f in ("dirichlet", "categorical") else draw(hs.integers(1, 3)) if f == "mvn" else None
    P = draw(params(f, e, d))
    mode = draw(hs.sampled_from(["free", "near", "near", "narrow"]), label="mode")
    if mode == "free":
        Q = draw(params(f, e, d))
    else:
        Q = dict(P)
        keys = [k for k in sorted(P) if not (f == "binomial" and k == "n")]
        for k in draw(hs.lists(hs.sampled_from(keys), min_size=1, max_size=len(keys), unique=True), label="moved"):
            rel = draw(hs.tuples(hs.sampled_from([-1.0, 1.0]), hs.floats(-12, -3)).map(lambda t: t[0] * 10.0 ** t[1]), label="rel")
            Q[k] = _perturb(P[k], rel, real=k in ("loc", "mu", "low", "high"))
        if f == "categorical":
            Q["probs"] = [abs(x) / math.fsum(map(abs, Q["probs"])) for x in Q["probs"]]
        if mode == "narrow" and f in LOC_SCALE and f != "uniform":
            P["scale"] = draw(_wide(-e, -3), label="narrow scale")
            P["loc"] = Q["loc"] + draw(hs.one_of(hs.floats(-1e3, 1e3), _loc(e)), label="shift")
    if f == "binomial" and draw(hs.booleans()):
        Q["n"] = float(draw(hs.integers(0, int(P["n"]))))  # n_q <= n_p: closed form (inf where n_q < n_p)
    elif f == "binomial":
        Q["n"] = P["n"]
    if f == "geometric":
        P["start"] = Q["start"] = 0.0
    return P, Q


# ---------------------------------------------------------------- objects


def torch_object(f, P, dtype):
    def t(v):
        return torch.tensor(v, dtype=dtype)

    kw = {"validate_args": False}  # kullback validates what torch does not
    make = {
        "normal": lambda: TD.Normal(t(P["loc"]), t(P["scale"]), **kw),
        "halfnormal": lambda: TD.HalfNormal(t(P["scale"]), **kw),
        "lognormal": lambda: TD.LogNormal(t(P["mu"]), t(P["sigma"]), **kw),
        "exponential": lambda: TD.Exponential(t(P["rate"]), **kw),
        "gamma": lambda: TD.Gamma(t(P["concentration"]), t(P["rate"]), **kw),
        "beta": lambda: TD.Beta(t(P["a"]), t(P["b"]), **kw),
        "dirichlet": lambda: TD.Dirichlet(t(P["alpha"]), **kw),
        "laplace": lambda: TD.Laplace(t(P["loc"]), t(P["scale"]), **kw),
        "uniform": lambda: TD.Uniform(t(P["low"]), t(P["high"]), **kw),
        "gumbel": lambda: TD.Gumbel(t(P["loc"]), t(P["scale"]), **kw),
        "pareto": lambda: TD.Pareto(t(P["scale"]), t(P["alpha"]), **kw),
        "cauchy": lambda: TD.Cauchy(t(P["loc"]), t(P["scale"]), **kw),
        "weibull": lambda: TD.Weibull(t(P["scale"]), t(P["concentration"]), **kw),
        "vonmises": lambda: TD.VonMises(t(P["loc"]), t(P["concentration"]), **kw),
        "cbernoulli": lambda: TD.ContinuousBernoulli(probs=t(P["lam"]), **kw),
        "poisson": lambda: TD.Poisson(t(P["rate"]), **kw),
        "bernoulli": lambda: TD.Bernoulli(probs=t(P["p"]), **kw),
        "binomial": lambda: TD.Binomial(t(P["n"]), probs=t(P["p"]), **kw),
        "geometric": lambda: TD.Geometric(probs=t(P["p"]), **kw),
        "categorical": lambda: TD.Categorical(probs=t(P["probs"]), **kw),
        "mvn": lambda: TD.MultivariateNormal(t(P["loc"]), scale_tril=t(P["scale_tril"]), **kw),
    }
    return make[f]()


def scipy_object(f, P):
    """scipy.stats spelling of (f, P), None where scipy has no such law (cbernoulli)."""
    make = {
        "normal": lambda: st.norm(P["loc"], P["scale"]),
        "halfnormal": lambda: st.halfnorm(scale=P["scale"]),
        "lognormal": lambda: st.lognorm(P["sigma"], scale=math.exp(P["mu"])) if abs(P["mu"]) < 700 else None,
        "exponential": lambda: st.expon(scale=1 / P["rate"]),
        "gamma": lambda: st.gamma(P["concentration"], scale=1 / P["rate"]),
        "beta": lambda: st.beta(P["a"], P["b"]),
        "dirichlet": lambda: st.dirichlet(P["alpha"]),
        "laplace": lambda: st.laplace(P["loc"], P["scale"]),
        "uniform": lambda: st.uniform(P["low"], P["high"] - P["low"]),
        "gumbel": lambda: st.gumbel_r(P["loc"], P["scale"]),
        "pareto": lambda: st.pareto(P["alpha"], scale=P["scale"]),
        "cauchy": lambda: st.cauchy(P["loc"], P["scale"]),
        "weibull": lambda: st.weibull_min(P["concentration"], scale=P["scale"]),
        "vonmises": lambda: st.vonmises(P["concentration"], loc=P["loc"]),
        "cbernoulli": lambda: None,
        "poisson": lambda: st.poisson(P["rate"]),
        "bernoulli": lambda: st.bernoulli(P["p"]),
        "binomial": lambda: st.binom(int(P["n"]), P["p"]),
        "geometric": lambda: st.geom(P["p"], loc=-1),
        "categorical": lambda: st.rv_discrete(values=(np.arange(len(P["probs"])), P["probs"])),
        "mvn": lambda: st.multivariate_normal(P["loc"], np.asarray(P["scale_tril"]) @ np.asarray(P["scale_tril"]).T),
    }
    return make[f]()


def build(f, P, backend, dtype=torch.float64):
    """(object, canonical parameters as kullback holds them) or None where the law is not valid there."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            obj = scipy_object(f, P) if backend == "scipy" else torch_object(f, P, dtype)
            if obj is None:
                return None
            d = describe(obj)
    except (ValueError, ZeroDivisionError, OverflowError, RuntimeError):
        return None
    if d.family != f:
        return None
    canon = {k: _host(v) for k, v in d.params.items() if k != "logp"}
    if "width" in canon:  # scipy's uniform: the reference's upper end from the width as given, exact in mpmath
        canon["high"] = mp.fadd(canon["low"], canon.pop("width"), exact=True)
    if f == "lognormal" and backend == "scipy":
        canon["mu"] = float(np.log(math.exp(P["mu"])))
    return obj, canon


def _host(v):
    x = v.detach().double().cpu().numpy() if hasattr(v, "detach") else np.asarray(v, dtype=np.float64)
    return x.tolist() if x.ndim else float(x)


def value(p, q):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = kb.kl(p, q)
    return float(got.item() if hasattr(got, "item") else np.asarray(got)[()])


# ---------------------------------------------------------------- the contract


def check(got, f, P, Q, dtype):
    """Assert the contract for one value; return its relative error (0 where exact or both inf)."""
    ref = mpref.same_kl(f, P, Q)
    top, tiny = (MAX64, TINY64) if dtype == torch.float64 else (MAX32, TINY32)
    note(f"{f}: p {P}, q {Q}: got {got!r}, mpmath {mp.nstr(ref, 20)}")
    assert not math.isnan(got), "NaN"
    assert got >= 0, "below 0"
    if ref == mp.inf or ref > top:
        assert got == math.inf, "finite where the truth is +inf (or above the dtype's largest number)"
        return 0.0
    if got == math.inf:
        assert ref > top * (1 - 2.0**-24), "+inf where the truth is finite"
        return 0.0
    if ref == 0:
        if f == "categorical" and P != Q:
            # different numbers for one law (exactly proportional probabilities): D is quadratic in the inputs there,
            # so their rounding (and the sums') leaves up to ~ k eps^2 (k categories)
            assert got <= 16 * len(P["probs"]) * EPS64**2, "far from 0 where the truth is 0"
        else:
            assert got == 0, "nonzero where the truth is 0"
        return 0.0
    err = float(abs(mp.mpf(got) - ref) / ref)
    tol = 1e-10 + (2.0**-24 if dtype == torch.float32 else 0.0)
    if err > tol and ref < tiny:  # subnormal result: absolute error of the subnormal spacing
        assert abs(mp.mpf(got) - ref) <= (5e-324 if dtype == torch.float64 else 1.5e-45)
        return 0.0
    if err > tol:
        tol += 16 * EPS64 * float(mpref.same_condition(f, P, Q, ref))
    assert err <= tol, f"relative error {err:.3g} > {tol:.3g}"
    return err


N = max(10, settings().max_examples // 5)  # per family and dtype: 10 in the bounded profile, 600 in the long one


def _run(f, data, backend, dtype):
    e = 300 if dtype == torch.float64 else 37
    P, Q = data.draw(pair(f, e))
    if dtype == torch.float32:
        P, Q = (_round32(d) for d in (P, Q))
    bp, bq = build(f, P, backend, dtype), build(f, Q, backend, dtype)
    if bp is None or bq is None:
        return
    (p, Pc), (q, Qc) = bp, bq
    check(value(p, q), f, Pc, Qc, dtype)


def _round32(d):
    def r(v):
        return [r(x) for x in v] if isinstance(v, list) else float(np.float32(v))

    return {k: r(v) for k, v in d.items()}


@pytest.mark.fuzz
@pytest.mark.parametrize("f", FAMILIES)
@settings(max_examples=N, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=hs.data())
def test_torch_float64_against_mpmath(f, data):
    _run(f, data, "torch", torch.float64)


@pytest.mark.fuzz
@pytest.mark.parametrize("f", FAMILIES)
@settings(max_examples=N, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=hs.data())
def test_torch_float32_against_mpmath(f, data):
    _run(f, data, "torch", torch.float32)


@pytest.mark.fuzz
@pytest.mark.parametrize("f", [f for f in FAMILIES if f != "cbernoulli"])
@settings(max_examples=max(6, N // 2), suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=hs.data())
def test_scipy_float64_against_mpmath(f, data):
    _run(f, data, "scipy", torch.float64)


# ---------------------------------------------------------------- invariants


@pytest.mark.fuzz
@pytest.mark.parametrize("f", FAMILIES)
@settings(max_examples=max(6, N // 2), suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=hs.data())
def test_identical_laws_give_exactly_zero(f, data):
    """D(p||p) = 0 exactly (a theorem; issue 12 class 4), in every backend and dtype."""
    d = data.draw(hs.integers(2, 4)) if f in ("dirichlet", "categorical") else data.draw(hs.integers(1, 3)) if f == "mvn" else None
    dtype = data.draw(hs.sampled_from([torch.float64, torch.float32]))
    P = data.draw(params(f, 300 if dtype == torch.float64 else 37, d))
    if f == "geometric":
        P["start"] = 0.0
    if dtype == torch.float32:
        P = _round32(P)
    for backend in ("torch", "scipy"):
        b = build(f, P, backend, dtype)
        if b is None:
            continue
        got = value(b[0], b[0])
        note(f"{backend}: {P} -> {got!r}")
        assert got == 0.0


@pytest.mark.fuzz
@pytest.mark.parametrize("f", LOC_SCALE)
@settings(max_examples=max(6, N // 2), suppress_health_check=[HealthCheck.too_slow])
@given(data=hs.data())
def test_common_affine_map_leaves_the_divergence_unchanged(f, data):
    """D(a + bX || a + bY) = D(X || Y), with b = 2^k and integer locations shifted by an integer a,
    so that the mapped parameters are exact: the two values may differ only by the formulas' own
    rounding (1e-13 relative; the mpmath truth is the same number)."""
    ints = hs.integers(-(10**6), 10**6).map(float)
    P = {"loc": data.draw(ints), "scale": data.draw(_pos(100))}
    Q = {"loc": data.draw(ints), "scale": data.draw(_pos(100))}
    if f == "uniform":
        P = {"low": P["loc"], "high": P["loc"] + data.draw(hs.integers(1, 10**6))}
        Q = {"low": P["low"] - data.draw(hs.integers(0, 10**6)), "high": P["high"] + data.draw(hs.integers(0, 10**6))}
    k, a = data.draw(hs.integers(-200, 200)), float(data.draw(hs.integers(-(10**6), 10**6)))

    def mapped(D):
        return {key: ((v + a) if key in ("loc", "low", "high") else v) * 2.0**k for key, v in D.items()}

    before = value(torch_object(f, P, torch.float64), torch_object(f, Q, torch.float64))
    after = value(torch_object(f, mapped(P), torch.float64), torch_object(f, mapped(Q), torch.float64))
    note(f"{P} {Q} k={k} a={a}: {before!r} {after!r}")
    assert after == pytest.approx(before, rel=1e-13, abs=0) or (before == after == math.inf)


EXACT_IN_SCIPY = [f for f in FAMILIES if f not in ("exponential", "gamma", "lognormal", "cbernoulli", "uniform", "mvn", "categorical")]


@pytest.mark.fuzz
@pytest.mark.parametrize("f", EXACT_IN_SCIPY)
@settings(max_examples=max(6, N // 2), suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=hs.data())
def test_torch_float64_and_scipy_agree(f, data):
    """One law, two spellings whose canonical parameters are the same numbers: the same value
    (1e-13 relative: scipy.special and torch evaluate lgamma, digamma, i0e in their own ways; or 32 eps kappa where
    the problem's conditioning magnifies their last-bit differences, e.g. Weibull with D = e^w, w = lnG(106) + ...:
    a unit in the last place of w is 6e-14 of D)."""
    P, Q = data.draw(pair(f, 300))
    bt, bs = (build(f, P, "torch"), build(f, Q, "torch")), (build(f, P, "scipy"), build(f, Q, "scipy"))
    if None in bt or None in bs or bt[0][1] != bs[0][1] or bt[1][1] != bs[1][1]:
        return
    a, b = value(bt[0][0], bt[1][0]), value(bs[0][0], bs[1][0])
    note(f"{P} {Q}: torch {a!r} scipy {b!r}")
    if a == b or a == pytest.approx(b, rel=1e-13, abs=0):
        return
    kappa = float(mpref.same_condition(f, bt[0][1], bt[1][1], mpref.same_kl(f, bt[0][1], bt[1][1])))
    note(f"kappa {kappa:.3g}")
    assert a == pytest.approx(b, rel=max(1e-13, 32 * EPS64 * kappa), abs=0)


# ---------------------------------------------------------------- the reference itself

ORDINARY = {
    "normal": ({"loc": 0.3, "scale": 1.2}, {"loc": -0.4, "scale": 0.7}),
    "halfnormal": ({"scale": 1.3}, {"scale": 0.6}),
    "lognormal": ({"mu": 0.2, "sigma": 0.6}, {"mu": -0.1, "sigma": 0.9}),
    "exponential": ({"rate": 1.5}, {"rate": 0.4}),
    "gamma": ({"concentration": 2.5, "rate": 1.3}, {"concentration": 1.7, "rate": 0.6}),
    "beta": ({"a": 2.0, "b": 3.5}, {"a": 1.2, "b": 0.8}),
    "laplace": ({"loc": 0.2, "scale": 0.8}, {"loc": -0.5, "scale": 1.4}),
    "uniform": ({"low": 0.1, "high": 0.8}, {"low": -0.2, "high": 1.5}),
    "gumbel": ({"loc": 0.5, "scale": 1.5}, {"loc": -0.3, "scale": 0.9}),
    "pareto": ({"scale": 1.4, "alpha": 3.5}, {"scale": 0.9, "alpha": 2.0}),
    "cauchy": ({"loc": 0.1, "scale": 0.9}, {"loc": 2.0, "scale": 1.6}),
    "weibull": ({"concentration": 1.7, "scale": 2.0}, {"concentration": 2.6, "scale": 1.3}),
    "vonmises": ({"loc": 0.4, "concentration": 2.5}, {"loc": -0.6, "concentration": 0.8}),
    "cbernoulli": ({"lam": 0.3}, {"lam": 0.75}),
    "poisson": ({"rate": 3.2}, {"rate": 5.1}),
    "bernoulli": ({"p": 0.3}, {"p": 0.65}),
    "binomial": ({"n": 7.0, "p": 0.3}, {"n": 7.0, "p": 0.55}),
    "geometric": ({"p": 0.35, "start": 0.0}, {"p": 0.6, "start": 0.0}),
}


def _mp_cbernoulli(lam):
    lam = mp.mpf(lam)
    logc = mp.log(2 * mp.atanh(1 - 2 * lam) / (1 - 2 * lam))
    return (lambda x: logc + x * mp.log(lam) + (1 - x) * mp.log(1 - lam)), (0, 1)


def _mp_law(f, P):
    if f == "cbernoulli":
        return _mp_cbernoulli(P["lam"])
    if f == "weibull":
        return mpref.logpdf("weibull", c=P["concentration"], scale=P["scale"])
    if f == "vonmises":
        return mpref.logpdf("vonmises", **P)
    if f in ("poisson", "bernoulli", "binomial", "geometric"):
        return mpref.logpmf(f, **P)
    return mpref.logpdf(f, **P)


@pytest.mark.parametrize("f", sorted(ORDINARY))
def test_reference_against_quadrature(f):
    """mpref.same_kl (typed-in closed forms) against mpmath quadrature / summation of p log(p/q)
    from mpref's log-densities: two independent routes to the same number (1e-12 relative)."""
    P, Q = ORDINARY[f]
    old = mp.mp.dps
    try:
        mp.mp.dps = 30
        if f == "vonmises":  # on the circle: integrate over one period starting at p's location
            lp, lq = _mp_law(f, P)[0], _mp_law(f, Q)[0]
            quad = mp.quad(lambda x: mp.exp(lp(x)) * (lp(x) - lq(x)), [P["loc"] - mp.pi, P["loc"], P["loc"] + mp.pi])
        elif f in ("poisson", "bernoulli", "binomial", "geometric"):
            quad = mpref.kl_discrete(_mp_law(f, P), _mp_law(f, Q))
        else:
            quad = mpref.kl_continuous(_mp_law(f, P), _mp_law(f, Q))
    finally:
        mp.mp.dps = old
    ref = mpref.same_kl(f, P, Q)
    assert float(abs(quad - ref) / ref) < 1e-12


def test_reference_against_quadrature_for_vector_families():
    """Dirichlet in 2 components is the beta law; the MVN closed form against independent normals;
    the categorical against direct summation: the vector references agree with the scalar ones."""
    a = mpref.same_kl("dirichlet", {"alpha": [2.0, 3.5]}, {"alpha": [1.2, 0.8]})
    b = mpref.same_kl("beta", {"a": 2.0, "b": 3.5}, {"a": 1.2, "b": 0.8})
    assert abs(a - b) < mp.mpf(10) ** -28 * b
    m = mpref.same_kl(
        "mvn", {"loc": [0.3, 1.0], "scale_tril": [[1.2, 0.0], [0.0, 0.5]]}, {"loc": [-0.4, 0.0], "scale_tril": [[0.7, 0.0], [0.0, 2.0]]}
    )
    n = mpref.same_kl("normal", {"loc": 0.3, "scale": 1.2}, {"loc": -0.4, "scale": 0.7}) + mpref.same_kl(
        "normal", {"loc": 1.0, "scale": 0.5}, {"loc": 0.0, "scale": 2.0}
    )
    assert abs(m - n) < mp.mpf(10) ** -28 * n
    c = mpref.same_kl("categorical", {"probs": [0.25, 0.75]}, {"probs": [0.5, 0.5]})
    assert abs(c - mpref.same_kl("bernoulli", {"p": 0.75}, {"p": 0.5})) < mp.mpf(10) ** -28
