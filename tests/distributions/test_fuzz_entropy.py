"""Differential fuzzer for the closed-form entropies ``kb.entropy`` (issue 24, item 5).

For every family with a closed-form entropy (the ``Moments`` table of ``_cross`` and the ``ENTROPY`` registry
of ``_entropy_closed``) Hypothesis draws a law over the whole parameter domain with the strategies of
``test_fuzz_same`` (scales, rates and concentrations in 10^[-300, 300] for float64, 10^[-37, 37] for torch
float32, shapes large and tiny, probabilities near 0, 1/2 and 1) and compares ``kb.entropy`` of the torch and
scipy objects with the textbook entropy typed into mpmath here (no regrouping), evaluated at 40 digits beyond
what the parameters' magnitudes cancel (and, for the continuous Bernoulli near lambda = 1/2, beyond the
digits its terms of size 1 cancel to leave one of size u^2), certified by a second evaluation 20 digits wider.

Bound (float64): |H - H_mp| <= 1e-10 |H_mp| + 16 eps (sum_i |theta_i dH/dtheta_i| + sum_j |log theta_j|).
The first term is the relative bound of the closed forms; the second is what rounding the inputs may cost
where the entropy crosses 0 (then no relative bound is possible: a differential entropy changes sign with the
scale). sum_i |theta_i dH/dtheta_i| is the change of H under a relative perturbation of each parameter (the
condition number times |H|; in mpmath), and |log theta_j| over the scale-like parameters (scales, rates,
concentrations, the uniform's width) is the rounding of their logarithm, which every floating-point evaluation of
a log-scale term carries (log s is correct to eps |log s|, not eps). Float32 tensors are computed in float64 and
rounded once: the float64 bound plus 2^-24 |H| (and at least 4 subnormal spacings of the dtype). Always: never NaN; and the torch gradient of H is never NaN.
"""

from __future__ import annotations

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
import torch
import torch.distributions as TD
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as hs

import kullback as kb

from . import mpref
from .test_fuzz_same import _loc, _pos, _round32, _shape, build, params

EPS64 = 2.0**-52
FAMILIES = [
    "normal", "halfnormal", "lognormal", "exponential", "gamma", "beta", "dirichlet", "laplace", "uniform", "gumbel",
    "pareto", "cauchy", "weibull", "vonmises", "cbernoulli", "bernoulli", "geometric", "categorical", "mvn", "studentt",
]  # fmt: skip
# the parameters whose logarithm an evaluation forms (see the module docstring)
LOG_PARAMS = {"scale", "rate", "concentration", "sigma", "alpha", "a", "b", "df", "scale_tril", "width"}

# ---------------------------------------------------------------- mpmath references (textbook forms)


def _mp_cb(lam):
    """H of the continuous Bernoulli law CB(lam), -log C - mu log lam - (1 - mu) log(1 - lam), C = 2 atanh(u)/u,
    mu = lam/(2 lam - 1) + 1/(2 atanh(u)), u = 1 - 2 lam (Loaiza-Ganem & Cunningham 2019, sec. 3); 0 at lam = 1/2."""
    if lam == mp.mpf(0.5):
        return mp.mpf(0)
    u = 1 - 2 * lam
    at = mp.atanh(u)
    C = 2 * at / u
    mu = lam / (2 * lam - 1) + 1 / (2 * at)
    return -mp.log(C) - mu * mp.log(lam) - (1 - mu) * mp.log(1 - lam)


def _mp_entropy(f, P):
    """The textbook entropy of (f, P) in mpmath at the current precision (sources: the families' tables, Johnson,
    Kotz & Balakrishnan 1994-95; Lazo & Rathie 1978 for Student's t; Cover & Thomas Thm. 8.4.1 for the MVN; Lin
    2016 for the Dirichlet; Mardia & Jupp 2000, sec. 3.5.4 for von Mises)."""
    m = {k: (mp.mpf(v) if not isinstance(v, list) else v) for k, v in P.items()}
    e, g, lg, psi = mp.e, mp.euler, mp.loggamma, mp.digamma
    if f == "normal":
        return mp.log(2 * mp.pi * e) / 2 + mp.log(m["scale"])
    if f == "halfnormal":
        return mp.log(mp.pi * e / 2) / 2 + mp.log(m["scale"])
    if f == "lognormal":
        return m["mu"] + mp.log(2 * mp.pi * e) / 2 + mp.log(m["sigma"])
    if f == "exponential":
        return 1 - mp.log(m["rate"])
    if f == "gamma":
        k, b = m["concentration"], m["rate"]
        return k - mp.log(b) + lg(k) + (1 - k) * psi(k)
    if f == "beta":
        a, b = m["a"], m["b"]
        return lg(a) + lg(b) - lg(a + b) - (a - 1) * psi(a) - (b - 1) * psi(b) + (a + b - 2) * psi(a + b)
    if f == "dirichlet":
        a = [mp.mpf(x) for x in P["alpha"]]
        a0, k = mp.fsum(a), len(a)
        return mp.fsum(lg(x) for x in a) - lg(a0) + (a0 - k) * psi(a0) - mp.fsum((x - 1) * psi(x) for x in a)
    if f == "laplace":
        return 1 + mp.log(2 * m["scale"])
    if f == "uniform":
        return mp.log(m["high"] - m["low"])
    if f == "gumbel":
        return mp.log(m["scale"]) + g + 1
    if f == "pareto":
        return mp.log(m["scale"] / m["alpha"]) + 1 / m["alpha"] + 1
    if f == "cauchy":
        return mp.log(4 * mp.pi * m["scale"])
    if f == "weibull":
        k = m["concentration"]
        return g * (1 - 1 / k) + mp.log(m["scale"] / k) + 1
    if f == "vonmises":
        k = m["concentration"]
        r = mp.besseli(1, k) / mp.besseli(0, k)
        return mp.log(2 * mp.pi * mp.besseli(0, k)) - k * r
    if f == "cbernoulli":
        return _mp_cb(m["lam"])
    if f in ("bernoulli", "geometric"):
        p = m["p"]
        h = -(p * mp.log(p) if p > 0 else 0) - ((1 - p) * mp.log(1 - p) if p < 1 else 0)
        return h if f == "bernoulli" else h / p
    if f == "categorical":
        p = [mp.mpf(x) for x in P["probs"]]
        s = mp.fsum(p)
        return -mp.fsum(x / s * mp.log(x / s) for x in p if x > 0)
    if f == "mvn":
        L = P["scale_tril"]
        k = len(L)
        return k * (1 + mp.log(2 * mp.pi)) / 2 + mp.fsum(mp.log(abs(mp.mpf(L[i][i]))) for i in range(k))
    if f == "studentt":
        nu, s = m["df"], m["scale"]
        return (nu + 1) / 2 * (psi((nu + 1) / 2) - psi(nu / 2)) + mp.log(mp.sqrt(nu) * mp.beta(nu / 2, mp.mpf(0.5))) + mp.log(s)
    raise KeyError(f)


def _digits(f, P):
    """Working digits: 40 beyond the parameters' magnitudes, and beyond the continuous Bernoulli's u^-2."""
    extra = mpref._magnitude(P)
    if f == "cbernoulli" and P["lam"] != 0.5:
        extra = max(extra, int(-2 * math.log10(abs(1 - 2 * P["lam"])) + 1))
    return 40 + extra


def mp_entropy(f, P):
    """H certified: two precisions 20 digits apart agree to 1e-30 relative (or exactly)."""
    dps = _digits(f, P)
    for _ in range(6):  # more digits where the textbook form cancels beyond the parameters' magnitudes (Beta near (1, 1))
        with mp.workdps(dps):
            a = _mp_entropy(f, P)
        with mp.workdps(dps + 20):
            b = _mp_entropy(f, P)
        if abs(a - b) <= mp.mpf(10) ** -30 * abs(b) or a == b:
            return b
        dps += 40
    raise AssertionError("mpmath reference not certified")


def _scalars(P):
    """(key, index or None, value) for every nonzero scalar parameter (vectors and matrices element by element)."""
    for k, v in P.items():
        if isinstance(v, list):
            for i, x in enumerate(v):
                if isinstance(x, list):
                    for j, y in enumerate(x):
                        if y != 0:
                            yield k, (i, j), y
                elif x != 0:
                    yield k, (i,), x
        elif v != 0:
            yield k, None, v


def _moved(P, k, ix, h):
    Q = {key: (mp.mpf(v) if not isinstance(v, list) else v) for key, v in P.items()}
    if ix is None:
        Q[k] = mp.mpf(P[k]) * (1 + h)
        return Q
    v = [list(map(mp.mpf, r)) if isinstance(r, list) else mp.mpf(r) for r in P[k]]
    if len(ix) == 1:
        v[ix[0]] *= 1 + h
    else:
        v[ix[0]][ix[1]] *= 1 + h
    Q[k] = v
    return Q


def sensitivity(f, P, ref):
    """sum_i |theta_i dH/dtheta_i| + sum_j |log theta_j| (see the module docstring), in mpmath."""
    dps = _digits(f, P) + 30
    h = mp.mpf(10) ** -25
    total = mp.mpf(0)
    for k, ix, v in _scalars(P):
        with mp.workdps(dps):
            r = _mp_entropy(f, _moved(P, k, ix, h))
            total += abs((r - ref) / h)
            if k in LOG_PARAMS and (ix is None or len(ix) == 1 or ix[0] == ix[1]):
                total += abs(mp.log(abs(mp.mpf(v))))
    if f == "uniform":
        with mp.workdps(dps):
            total += abs(mp.log(mp.mpf(P["high"]) - mp.mpf(P["low"])))
    return total


# ---------------------------------------------------------------- objects


def _studentt_params(e):
    return hs.fixed_dictionaries({"df": _shape(e), "loc": _loc(e), "scale": _pos(e)})


@hs.composite
def law_params(draw, f, e):
    """Canonical parameters of one law of family f (the strategies of test_fuzz_same, Student's t added)."""
    if f == "studentt":
        return draw(_studentt_params(e))
    d = draw(hs.integers(2, 4)) if f in ("dirichlet", "categorical") else draw(hs.integers(1, 3)) if f == "mvn" else None
    P = draw(params(f, e, d))
    if f == "geometric":
        P["start"] = 0.0
    return P


def _build(f, P, backend, dtype):
    if f != "studentt":
        return build(f, P, backend, dtype)
    import scipy.stats as st

    from kullback.distributions import describe

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            if backend == "scipy":
                obj = st.t(P["df"], P["loc"], P["scale"])
            else:
                t = lambda v: torch.tensor(v, dtype=dtype)  # noqa: E731
                obj = TD.StudentT(t(P["df"]), t(P["loc"]), t(P["scale"]), validate_args=False)
            d = describe(obj)
    except (ValueError, OverflowError, RuntimeError):
        return None
    return obj, {k: float(v.detach().double()) if hasattr(v, "detach") else float(v) for k, v in d.params.items()}


def entropy_of(obj):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = kb.entropy(obj)
    return float(got.item() if hasattr(got, "item") else np.asarray(got)[()])


def check(got, f, P, dtype):
    """Assert the contract for one value; return the error in units of the bound."""
    ref = mp_entropy(f, P)
    note(f"{f}: {P}: got {got!r}, mpmath {mp.nstr(ref, 20)}")
    assert not math.isnan(got), "NaN"
    if not mp.isfinite(ref) or abs(ref) > 1.7976931348623157e308:
        assert got == (math.inf if ref > 0 else -math.inf)
        return 0.0
    err = abs(mp.mpf(got) - ref)
    bound = 1e-10 * abs(ref) + 16 * EPS64 * sensitivity(f, P, ref)
    if dtype == torch.float32:
        bound += 2.0**-24 * abs(ref)
    # a value below the dtype's smallest normal number is held to its subnormal spacing, and each subnormal term adds one
    # such rounding (float32 H([1, 1.4e-45]) = 1.46e-43; float64 H([1, 5e-324]) = 3.683e-321 gave 3.676e-321: 1.4 spacings)
    bound = max(bound, 4 * mp.mpf(2.0**-149 if dtype == torch.float32 else 2.0**-1074))
    assert err <= bound, f"error {float(err):.3g} > bound {float(bound):.3g} (relative {float(err / abs(ref)) if ref else math.inf:.3g})"
    return float(err / bound) if bound else 0.0


class _LeafTorch:
    """``torch`` for ``test_fuzz_same.torch_object``, whose ``tensor`` makes leaves that require gradients."""

    def __init__(self):
        self.leaves = []

    def __getattr__(self, name):
        return getattr(torch, name)

    def tensor(self, v, dtype):
        x = torch.tensor(v, dtype=dtype, requires_grad=True)
        self.leaves.append(x)
        return x


def _grad_not_nan(f, P):
    """Backward through kb.entropy of the torch float64 law (f, P) built from leaves that require gradients: no NaN."""
    from . import test_fuzz_same as fz

    shim = _LeafTorch()
    if f == "studentt":
        obj = TD.StudentT(*(shim.tensor(P[k], torch.float64) for k in ("df", "loc", "scale")), validate_args=False)
    else:
        fz.torch, saved = shim, fz.torch
        try:
            obj = fz.torch_object(f, P, torch.float64)
        finally:
            fz.torch = saved
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        h = kb.entropy(obj)
    if not h.requires_grad or not torch.isfinite(h).all():
        return
    grads = torch.autograd.grad(h.sum(), shim.leaves, allow_unused=True)
    for x, gr in zip(shim.leaves, grads):
        assert gr is None or not torch.isnan(gr).any(), f"{f}: NaN in the gradient of H({P}) in a parameter {x.detach()}: {gr}"


N = max(10, settings().max_examples // 5)


def _run(f, data, backend, dtype, grads=False):
    e = 300 if dtype == torch.float64 else 37
    P = data.draw(law_params(f, e))
    if dtype == torch.float32:
        P = _round32(P)
    built = _build(f, P, backend, dtype)
    if built is None:
        return
    obj, canon = built
    check(entropy_of(obj), f, canon, dtype)
    if grads:
        _grad_not_nan(f, P)


@pytest.mark.fuzz
@pytest.mark.parametrize("f", FAMILIES)
@settings(max_examples=N, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=hs.data())
def test_torch_float64_entropy_against_mpmath(f, data):
    _run(f, data, "torch", torch.float64, grads=True)


@pytest.mark.fuzz
@pytest.mark.parametrize("f", FAMILIES)
@settings(max_examples=N, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=hs.data())
def test_torch_float32_entropy_against_mpmath(f, data):
    _run(f, data, "torch", torch.float32)


@pytest.mark.fuzz
@pytest.mark.parametrize("f", [f for f in FAMILIES if f != "cbernoulli"])
@settings(max_examples=max(6, N // 2), suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=hs.data())
def test_scipy_entropy_against_mpmath(f, data):
    _run(f, data, "scipy", torch.float64)
