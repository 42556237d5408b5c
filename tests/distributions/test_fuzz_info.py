"""Differential fuzzer of kb.entropy, kb.cross_entropy and kb.js of distribution objects against mpmath at 40 digits.

The references are independent of kullback and of scipy's densities: the standard log-densities and log-pmfs typed
in from their textbook definitions in mpmath (``_std_logpdf`` / ``_std_lattice`` of test_fuzz_numeric), and

* entropy of a density: H = log s + int -f(u) log f(u) du in the law's standard variable (x = loc + s u);
  of a law on a lattice: -sum p log p, term by term outward from the median;
* JS (Lin 1991, eq. 4.1) = 1/2 D(p||m) + 1/2 D(q||m), m = (p + q)/2, each half integrated in its own law's
  standard variable, the other law's density per unit u being g(v) s_p/s_q at v = (loc_p - loc_q)/s_q + (s_p/s_q) u
  (kullback integrates the symmetric integrand in one variable: an independent arrangement); on lattices, the sum over the union of the
  supports, log 2 where the lattices loc_p + Z and loc_q + Z do not meet;
* cross-entropy: H(p) + D(p||q), D by ``ref_continuous`` of test_fuzz_numeric.

Objects: scipy classic (location-scale families anywhere in loc +-1e300 and scale 1e-300..1e300 for entropy; JS
pairs near-identical or far apart), scipy's new API (Normal), torch (float64 and float32 parameters; the reference
takes the float32-rounded values), laws on non-integer lattices (loc 0.5, 0.25, 1e6 + 0.5).

The property: within 1e-6 relative (1e-12 absolute below that; cross-entropy: 1e-6 of |H| + |D|, its parts' scale)
of the reference unless an AccuracyWarning was raised; never NaN; JS in [0, log 2]; a refusal is a ValueError that
says the numeric method failed, never a wrong number.
"""

from __future__ import annotations

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as hs

import kullback as kb
from kullback._warnings import AccuracyWarning

from .test_fuzz_numeric import _parts, _std_lattice, _std_logpdf, ref_continuous

torch = pytest.importorskip("torch")
DPS = 40
RTOL, ATOL = 1e-6, 1e-12
LOG2 = math.log(2)
N = max(6, settings().max_examples // 10)  # 6 in the bounded profile, 300 in the long one

_H_CACHE: dict = {}


# ---------------------------------------------------------------- references


def _std_entropy(name, shapes):
    """int -f log f du of the standard law (loc 0, scale 1), cached by (family, shapes)."""
    key = (name, tuple(shapes))
    if key not in _H_CACHE:
        dist = getattr(st, name)
        with mp.workdps(DPS):
            f, kinks = _std_logpdf(name, [mp.mpf(x) for x in shapes])
            lo, hi = (float(x) for x in dist.support(*shapes))
            pts = {mp.mpf(float(x)) for x in dist.ppf([1e-9, 0.01, 0.2, 0.5, 0.8, 0.99, 1 - 1e-9], *shapes) if np.isfinite(x)}
            pts = sorted(x for x in pts | {mp.mpf(k) for k in kinks} if lo < x < hi)

            def g(u):
                a = f(u)
                return mp.mpf(0) if a < -5000 else -mp.exp(a) * a

            _H_CACHE[key] = mp.quad(g, [mp.mpf(lo), *pts, mp.mpf(hi)], maxdegree=6)
    return _H_CACHE[key]


def ref_entropy(p):
    dist, shapes, _, scale = _parts(p)
    with mp.workdps(DPS):
        return _std_entropy(dist.name, shapes) + mp.log(mp.mpf(scale))


def _js_half(dp, sp, lp, scp, dq, sq, lq, scq):
    """1/2 D(p||m) = 1/2 int f(u) [log 2 + a - log(e^a + e^b)] du in p's standard variable, b = log(g(v) s_p/s_q)."""
    fp, kp = _std_logpdf(dp.name, [mp.mpf(x) for x in sp])
    fq, _ = _std_logpdf(dq.name, [mp.mpf(x) for x in sq])
    A = (mp.mpf(lp) - mp.mpf(lq)) / mp.mpf(scq)
    B = mp.mpf(scp) / mp.mpf(scq)
    lB = mp.log(B)

    def h(u):
        a = fp(u)
        if a < -5000:
            return mp.mpf(0)
        b = fq(A + B * u) + lB
        if b - a < -(10**4):  # q negligible against p here: log(2p/(p + q)) = log 2 to far below 40 digits
            return mp.exp(a) * mp.log(2) / 2
        return mp.exp(a) * (mp.log(2) - mp.log1p(mp.exp(b - a))) / 2 if b - a < 10**6 else mp.exp(a) * (mp.log(2) + a - b) / 2

    lo, hi = (float(x) for x in dp.support(*sp))
    qs = [1e-9, 0.05, 0.5, 0.95, 1 - 1e-9]
    pts = {mp.mpf(float(x)) for x in dp.ppf(qs, *sp)} | {mp.mpf(k) for k in kp}
    # where q's mass lies (a spike p's points miss), where it is near enough to matter to this half
    pts |= {u for u in ((mp.mpf(float(x)) - A) / B for x in dq.ppf(qs, *sq)) if abs(u) < 10**8}
    pts = sorted(x for x in pts if mp.isfinite(x) and lo < x < hi)
    return mp.quad(h, [mp.mpf(lo), *pts, mp.mpf(hi)], maxdegree=6)


def ref_js(p, q):
    """JS = 1/2 D(p||m) + 1/2 D(q||m), each half in its own law's standard variable (any separation), 40 digits."""
    with mp.workdps(DPS):
        return _js_half(*_parts(p), *_parts(q)) + _js_half(*_parts(q), *_parts(p))


def _lattice_logs(d):
    dist, shapes, loc, _ = _parts(d)
    f, _, _ = _std_lattice(dist.name, [mp.mpf(x) for x in shapes])
    lo, hi = (float(x) for x in dist.support(*shapes))
    return f, loc, lo, hi, float(dist.median(*shapes))


def _outward_sum(term, lo, hi, m):
    """sum of term(k) over integers lo..hi, outward from m until the terms fall below 1e-45 of the largest."""
    total, peak = mp.mpf(0), mp.mpf(0)
    for step, start in ((1, m), (-1, m - 1)):
        k = start
        while lo <= k <= hi:
            t = term(k)
            total += t
            peak = max(peak, abs(t))
            if abs(t) < mp.mpf(10) ** -45 * max(peak, mp.mpf(10) ** -300) and abs(k - m) > 5:
                break
            k += step
    return total


def ref_entropy_lattice(p):
    with mp.workdps(DPS):
        f, _, lo, hi, m = _lattice_logs(p)
        return _outward_sum(lambda k: -mp.exp(f(k)) * f(k), lo, hi, int(m))


def ref_js_lattice(p, q):
    with mp.workdps(DPS):
        fp, lp, plo, phi, mp_ = _lattice_logs(p)
        fq, lq, qlo, qhi, mq = _lattice_logs(q)
        d = mp.mpf(lp) - mp.mpf(lq)
        if d != mp.floor(d):
            return mp.log(2)
        d = int(d)

        def term(k):  # k in p's standard variable; q at k + d
            a = fp(k) if plo <= k <= phi else -mp.inf
            b = fq(k + d) if qlo <= k + d <= qhi else -mp.inf
            m = mp.log(mp.exp(a) + mp.exp(b))
            ta = mp.exp(a) * (mp.log(2) + a - m) if a != -mp.inf else 0
            tb = mp.exp(b) * (mp.log(2) + b - m) if b != -mp.inf else 0
            return (ta + tb) / 2

        lo, hi = min(plo, qlo - d), max(phi, qhi - d)
        a, b = sorted((int(mp_), int(mq) - d))
        mid = mp.fsum(term(k) for k in range(a, b + 1))
        return mid + _outward_sum(term, lo, a - 1, a - 1) + _outward_sum(term, b + 1, hi, b + 1)


# ---------------------------------------------------------------- the property


def _run(compute, ref, where, *, kind="value", scale_of=None):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            got = compute()
        except ValueError as exc:
            assert "numeric method failed" in str(exc), f"{where}: {exc}"
            return "refused"
    got = float(got.item() if hasattr(got, "item") else got)
    warned = any(issubclass(w.category, AccuracyWarning) for w in caught)
    assert not math.isnan(got), f"{where}: NaN"
    if kind == "js":
        assert 0.0 <= got <= LOG2 * (1 + 1e-15), f"{where}: {got!r} outside [0, log 2]"
    want = ref()
    if want is None:
        return "noref"
    want = float(want)
    tol = max(RTOL * (abs(want) if scale_of is None else float(scale_of)), ATOL)
    if not warned:
        assert abs(got - want) <= tol, f"{where}: got {got!r}, mpmath {want!r} (relative {abs(got - want) / max(abs(want), 1e-300):.2g})"
    return "warned" if warned else "ok"


# ---------------------------------------------------------------- strategies


def _signed_pow(lo, hi):
    return hs.builds(lambda s, e: s * 10.0**e, hs.sampled_from([-1.0, 1.0]), hs.floats(lo, hi))


_loc = hs.one_of(hs.just(0.0), _signed_pow(-300, 300))
_scale = hs.builds(lambda e: 10.0**e, hs.floats(-300, 300))
_LS = ["norm", "laplace", "logistic", "gumbel_r", "cauchy"]


def _make(name, loc, scale, draw):
    if name == "t":
        return st.t(draw(hs.floats(1.0, 50.0)), loc, scale)
    if name == "gamma":
        return st.gamma(10.0 ** draw(hs.floats(-1, 3)), loc, scale)
    if name == "weibull_min":
        return st.weibull_min(10.0 ** draw(hs.floats(-0.5, 1)), loc, scale)
    return getattr(st, name)(loc, scale)


@pytest.mark.fuzz
@settings(max_examples=N, suppress_health_check=[HealthCheck.too_slow])
@given(data=hs.data())
def test_entropy_of_scipy_laws_anywhere_against_mpmath(data):
    """Location-scale and shape families (closed forms and quadrature alike) at any loc and scale."""
    name = data.draw(hs.sampled_from([*_LS, "t", "gamma", "weibull_min"]))
    loc, scale = data.draw(_loc), data.draw(_scale)
    with np.errstate(all="ignore"):
        p = _make(name, loc, scale, data.draw)
    _run(lambda: kb.entropy(p), lambda: ref_entropy(p), f"H({name}, loc={loc!r}, scale={scale!r}, {_parts(p)[1]})")


@hs.composite
def js_pairs(draw):
    """(p, q): location-scale laws; q near-identical to p (relative 1e-9..1e-3 of p's scale), near (a few scales),
    or anywhere; loc anywhere in +-1e300, scales 1e-300..1e300 with q's within 1e-3..1e3 of p's when near."""
    fp, fq = draw(hs.sampled_from(_LS)), draw(hs.sampled_from(_LS))
    lp, sp = draw(_loc), draw(hs.builds(lambda e: 10.0**e, hs.floats(-290, 290)))
    how = draw(hs.sampled_from(["identical", "near", "far"]))
    if how == "identical":
        fq = fp
        e = 10.0 ** draw(hs.floats(-9, -3))
        lq, sq = lp + sp * e * draw(hs.floats(-1, 1)), sp * (1 + e * draw(hs.floats(-1, 1)))
    elif how == "near":
        lq, sq = lp + sp * draw(hs.floats(-5, 5)), sp * 10.0 ** draw(hs.floats(-3, 3))
    else:
        lq, sq = draw(_loc), draw(_scale)
    assume(math.isfinite(lq) and 0 < sq < math.inf)
    return getattr(st, fp)(lp, sp), getattr(st, fq)(lq, sq)


@pytest.mark.fuzz
@settings(max_examples=N, suppress_health_check=[HealthCheck.too_slow])
@given(pair=js_pairs())
def test_js_of_scipy_laws_against_mpmath(pair):
    p, q = pair
    _run(lambda: kb.js(p, q), lambda: ref_js(p, q), f"JS({_parts(p)}, {_parts(q)})", kind="js")


@pytest.mark.fuzz
@settings(max_examples=N, suppress_health_check=[HealthCheck.too_slow])
@given(data=hs.data())
def test_js_and_entropy_of_torch_and_new_api_objects_against_mpmath(data):
    """torch Normal/Laplace/Cauchy/Gumbel (float64 and float32 parameters) and scipy's new-API Normal: the reference
    takes the parameters as the object holds them (float32-rounded)."""
    dtype = data.draw(hs.sampled_from([torch.float64, torch.float32]))
    e = 30 if dtype == torch.float32 else 250
    names = {"norm": "Normal", "laplace": "Laplace", "cauchy": "Cauchy", "gumbel_r": "Gumbel"}
    fp, fq = data.draw(hs.sampled_from(sorted(names))), data.draw(hs.sampled_from(sorted(names)))
    vals = [data.draw(hs.one_of(hs.just(0.0), _signed_pow(-e, e))), 10.0 ** data.draw(hs.floats(-e, e))]
    vals += [vals[0] + vals[1] * data.draw(hs.floats(-4, 4)), vals[1] * 10.0 ** data.draw(hs.floats(-2, 2))]
    r = [float(torch.tensor(v, dtype=dtype)) for v in vals]
    assume(all(math.isfinite(v) for v in r) and r[1] > 0 and r[3] > 0)
    tp = getattr(torch.distributions, names[fp])(torch.tensor(r[0], dtype=dtype), torch.tensor(r[1], dtype=dtype))
    tq = getattr(torch.distributions, names[fq])(torch.tensor(r[2], dtype=dtype), torch.tensor(r[3], dtype=dtype))
    p, q = getattr(st, fp)(r[0], r[1]), getattr(st, fq)(r[2], r[3])
    _run(lambda: kb.js(tp, tq), lambda: ref_js(p, q), f"JS(torch {fp}{r[:2]}, {fq}{r[2:]}, {dtype})", kind="js")
    if dtype == torch.float64 and fp == "norm":
        _run(lambda: kb.js(st.Normal(mu=r[0], sigma=r[1]), q), lambda: ref_js(p, q), f"JS(new-API Normal{r[:2]}, {fq}{r[2:]})", kind="js")


@pytest.mark.fuzz
@settings(max_examples=N, suppress_health_check=[HealthCheck.too_slow])
@given(data=hs.data())
def test_cross_entropy_of_scipy_laws_against_mpmath(data):
    """H(p, q) = H(p) + D(p||q) (Cover & Thomas eq. 2.90 rearranged), both parts in mpmath; tolerance 1e-6 of |H| + |D|."""
    fp, fq = data.draw(hs.sampled_from(_LS)), data.draw(hs.sampled_from(["t", "logistic", "cauchy"]))
    lp, sp = data.draw(hs.one_of(hs.just(0.0), _signed_pow(-3, 10))), 10.0 ** data.draw(hs.floats(-8, 8))
    lq, sq = lp + sp * data.draw(hs.floats(-5, 5)), sp * 10.0 ** data.draw(hs.floats(-1, 1))
    p = getattr(st, fp)(lp, sp)
    q = st.t(data.draw(hs.floats(1.0, 50.0)), lq, sq) if fq == "t" else getattr(st, fq)(lq, sq)
    h, d = ref_entropy(p), ref_continuous(p, q)
    assume(d is not None and mp.isfinite(d))
    _run(lambda: kb.cross_entropy(p, q), lambda: h + d, f"H({_parts(p)}, {_parts(q)})", scale_of=abs(h) + abs(d))


_OFFSETS = [0.0, 0.5, 0.25, 3.0, 1e6 + 0.5]


def _lattice_law(draw, loc=None):
    name = draw(hs.sampled_from(["poisson", "binom", "nbinom", "geom"]))
    loc = draw(hs.sampled_from(_OFFSETS)) if loc is None else loc
    if name == "poisson":
        return st.poisson(10.0 ** draw(hs.floats(-2, 3)), loc=loc)
    if name == "binom":
        return st.binom(draw(hs.integers(1, 2000)), draw(hs.floats(1e-3, 1 - 1e-3)), loc=loc)
    if name == "nbinom":
        return st.nbinom(10.0 ** draw(hs.floats(-1, 2)), draw(hs.floats(0.05, 0.95)), loc=loc)
    return st.geom(draw(hs.floats(0.02, 0.99)), loc=loc)


@pytest.mark.fuzz
@settings(max_examples=N, suppress_health_check=[HealthCheck.too_slow])
@given(data=hs.data())
def test_entropy_and_js_on_lattices_against_mpmath(data):
    """Laws on loc + Z, loc integer or not: entropy (translation invariant) and JS (log 2 across lattices that never
    meet; q drawn near p half the time: same family, parameters within 1e-6..1e-1 relative)."""
    p = _lattice_law(data.draw)
    _run(lambda: kb.entropy(p), lambda: ref_entropy_lattice(p), f"H({_parts(p)})")
    if data.draw(hs.booleans()):
        dist, shapes, loc, _ = _parts(p)
        e = 10.0 ** data.draw(hs.floats(-6, -1))
        new = [s if (dist.name == "binom" and i == 0) else s * (1 + e * data.draw(hs.floats(-1, 1))) for i, s in enumerate(shapes)]
        assume(all(0 < x for x in new) and (dist.name not in ("binom", "nbinom", "geom") or new[-1] < 1))
        q = dist(*new, loc=loc + data.draw(hs.sampled_from([0.0, 1.0, 0.5])))
    else:  # another family on p's lattice, or on one shifted by 1/2 or 1/4 (the reference sums the span between)
        q = _lattice_law(data.draw, _parts(p)[2] + data.draw(hs.sampled_from([0.0, 0.25, 0.5, 1.0, 3.0])))
    _run(lambda: kb.js(p, q), lambda: ref_js_lattice(p, q), f"JS({_parts(p)}, {_parts(q)})", kind="js")
