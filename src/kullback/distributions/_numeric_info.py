"""Deterministic numeric entropy and Jensen-Shannon divergence, in the laws' standard variables.

The same machinery as the numeric KL (:mod:`._numeric`): each law is read as x = loc + scale u
through ``_numeric._Law`` (its log-density in u, Loader's saddle-point log-pmfs for the binomial,
Poisson and negative binomial), so that neither x nor x - loc is formed (``gamma(2, loc=1,
scale=1e-20)``, ``norm(1e12, 1)`` keep every digit), and every value comes with an error bound
(quadrature's or the tails', plus the rounding of the integrand), accepted as ``_numeric._accept``
does: within ``rtol`` silently, moderately above with an AccuracyWarning, else NumericFailure.

* Entropy of a density: H(p) = log s + int -f(u) log f(u) du (the change of variable x = loc + s u;
  Cover & Thomas, *Elements of Information Theory*, 2nd ed., Thm. 8.6.4), tanh-sinh quadrature split
  at p's quantiles, tails probed as for KL.  Of a law on a lattice loc + Z: -sum_j p(j) log p(j)
  outward from the median, each side until the bound on its rest is negligible (translation invariant:
  the offset plays no part).
* Jensen-Shannon: JS = 1/2 D(p||m) + 1/2 D(q||m), m = (p + q)/2 (Lin 1991, IEEE Trans. Inf. Theory 37,
  eq. 4.1).  Its integrand, with a >= b the larger and smaller of log p, log q and t = b - a <= 0, is
  e^a phi(t), phi(t) = 1/2 [(t/2) expm1(t) - (2 + expm1(t)) log cosh(t/2)] (from log(2/(1 + e^t))
  = -t/2 - log cosh(t/2)): nothing cancels where p ~ q (phi(t) ~ t^2/8), where the textbook
  log 2 + a - log(e^a + e^b) loses all digits of a JS of 1e-16.  Densities: in p's standard variable,
  q's density per unit u being g(v) s_p/s_q at v = (loc_p - loc_q)/s_q + (s_p/s_q) u, split at both
  laws' quantiles.  Lattices: over the union of both ranges (lattices loc_p + Z and loc_q + Z that do
  not meet: the laws are disjoint, JS = log 2); a categorical law (``rv_discrete(values=...)``) against
  a lattice law: JS = log(2)/2 + sum over its outcomes x of [j(x) - q(x) log(2)/2], j the integrand
  (where p is 0 the integrand is q log(2)/2).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate

from ._numeric import (
    _EPS,
    _SPLITS,
    ATOL,
    NumericFailure,
    _accept,
    _check_tail_decay,
    _Law,
    _noise,
    _offsets,
    lattice_range,
    sum_lattice,
)

__all__ = ["quad_entropy", "sum_entropy", "quad_js", "sum_js", "js_point"]

_LOG2 = math.log(2.0)


def _log_cosh(x):
    """log cosh x, accurate for every x: log1p(2 sinh^2(x/2)) for |x| <= 1, |x| - log 2 + log1p(e^-2|x|) beyond."""
    ax = np.abs(x)
    small = ax <= 1
    xs = np.where(small, x, 0.0)
    return np.where(small, np.log1p(2 * np.sinh(xs / 2) ** 2), ax - _LOG2 + np.log1p(np.exp(-2 * ax)))


def _phi(t):
    """phi(t) for t <= 0 (-inf allowed: log(2)/2): the JS integrand over the larger density (module docstring)."""
    near = t >= -30
    tn = np.where(near, t, 0.0)
    em = np.expm1(tn)
    close = 0.5 * (0.5 * tn * em - (2 + em) * _log_cosh(tn / 2))
    et = np.exp(np.where(near, -30.0, t))  # below e^-30: log 2 - log1p(e^t) + e^t (log 2 + t - log1p(e^t)), no cancelling
    l1 = np.log1p(et)
    far = 0.5 * (_LOG2 - l1 + np.where(et > 0, et * (_LOG2 + np.where(near, 0.0, t) - l1), 0.0))
    return np.where(near, close, far)


def js_point(a, b):
    """The JS integrand 1/2 p log(2p/(p+q)) + 1/2 q log(2q/(p+q)) from a = log p, b = log q (0 where both are 0)."""
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    live = hi > -np.inf
    t = np.where(live, lo - np.where(live, hi, 0.0), 0.0)
    return np.where(live, np.exp(hi) * _phi(t), 0.0)


def _js_slopes(a, b):
    """|dJ/da|, |dJ/db|: 1/2 p |log 2 + a - m| and 1/2 q |log 2 + b - m|, m = log(p + q), for the rounding bounds."""
    m = np.logaddexp(a, b)
    sa = np.where(a > -np.inf, 0.5 * np.exp(a) * np.abs(_LOG2 + a - m), 0.0)
    sb = np.where(b > -np.inf, 0.5 * np.exp(b) * np.abs(_LOG2 + b - m), 0.0)
    return sa, sb


def _quantiles(law, u):
    """law.ppf(u), NaN where the law's own quantile function fails (scipy's root finder stops at a NaN of its CDF:
    "function value at x=nan", norminvgauss(1.25, .5)): those cuts are left out."""
    u = np.asarray(u, dtype=np.float64)
    try:
        return np.asarray(law.ppf(u), dtype=np.float64)
    except (ValueError, ArithmeticError):
        out = np.full(u.shape, np.nan)
        for i, ui in enumerate(u):
            try:
                out[i] = float(law.ppf(ui))
            except (ValueError, ArithmeticError):
                pass
        return out


def _finite(x):
    return np.where(np.isfinite(x), x, 0.0)


def _edges(lo, hi, cuts):
    """[lo, cuts inside (lo, hi), hi], cuts a few ulps apart merged (tanh-sinh has no node inside such a piece)."""
    cuts = np.unique(cuts[np.isfinite(cuts) & (cuts > lo) & (cuts < hi)])
    edges = [lo]
    for c in cuts.tolist():
        if not math.isfinite(edges[-1]) or c - edges[-1] > 8 * np.spacing(max(abs(c), abs(edges[-1]), 1e-300)):
            edges.append(c)
    if len(edges) > 1 and math.isfinite(hi) and hi - edges[-1] <= 8 * np.spacing(max(abs(hi), abs(edges[-1]))):
        edges.pop()
    return np.array([*edges, hi])


def _integrate(integrand, edges, rtol, what):
    """(sum of the pieces, error bound, sum of |pieces|) by tanh-sinh (Takahasi & Mori 1974) to 1e-11 per piece."""
    res = integrate.tanhsinh(integrand, edges[:-1], edges[1:], rtol=1e-11, atol=0.0)
    values, errors, status = np.atleast_1d(res.integral), np.atleast_1d(res.error), np.atleast_1d(res.status)
    total = math.fsum(values.tolist())
    size = float(np.sum(np.abs(values)))
    err = float(np.sum(np.maximum(errors, 1e-11 * np.abs(values)))) + 4 * _EPS * size
    if np.any(errors[status != 0] > 0.1 * max(rtol * abs(total), ATOL)) or not math.isfinite(total):
        msg = (
            f"{what}: quadrature reached {total!r} with error bound {err:.2g}, not within {rtol:g} relative (some pieces did not converge)"
        )
        raise NumericFailure(msg)
    return total, err, size


# ---------------------------------------------------------------- entropy


def quad_entropy(p, rtol=1e-6):
    """(value, error bound) of the differential entropy of a 1-D density p."""
    P = _Law(p, False)

    def integrand(u):
        u = np.asarray(u, dtype=np.float64)
        a = P.logf(u)
        a = np.where(np.isnan(a) & (np.abs(u) > 1e300), -np.inf, a)  # scipy's log-density at overflowing u
        if np.any(np.isnan(a)):
            msg = "the log-density of p is NaN inside its support (its library cannot evaluate it there)"
            raise NumericFailure(msg)
        w = np.exp(a)
        return np.where(w > 0, -w * a, 0.0)

    with np.errstate(all="ignore"):
        cuts = np.concatenate([_quantiles(P, _SPLITS), np.asarray(P.kinks, dtype=np.float64)])
        edges = _edges(P.lo, P.hi, cuts)
        for side, end in ((1.0, P.hi), (-1.0, P.lo)):
            if math.isinf(end):
                _check_tail_decay(integrand, side, edges[1:-1])
        h, err, _ = _integrate(integrand, edges, rtol, "H(p)")
        # rounding of log f at the nodes: eps (|log f| + |u| |d log f/du|), averaged over p (64 quantiles)
        u = _quantiles(P, (np.arange(64) + 0.5) / 64)
        u = u[np.isfinite(u)]
        if u.size:
            a = P.logf(u)
            du = 1e-6 * (1.0 + np.abs(u))
            slope = np.abs(P.logf(u + du) - a) / du
            err += 4 * _EPS * float(np.mean(_finite(np.abs(a) + np.abs(u) * slope)))
    logs = math.log(P.scale)
    return _accept(h + logs, err + 2 * _EPS * abs(logs), rtol, "quadrature", "entropy", lower=None)


def _entropy_terms(P, js):
    lp = P.logf(np.asarray(js, dtype=np.float64))
    live = lp > -np.inf
    w = np.where(live, np.exp(lp), 0.0)
    t = np.where(live, -w * np.where(live, lp, 0.0), 0.0)
    return t, _EPS * np.abs(t) * (4 + np.abs(_finite(lp))), lp, np.array([np.sum(w), 0.0])


def sum_entropy(p, rtol=1e-6):
    """(value, error bound) of the entropy of a law on a lattice (loc + Z, or an rv_discrete's outcomes)."""
    P = _Law(p, True)
    with np.errstate(all="ignore"):
        if P.xk is not None:
            t, r, _, mass = _entropy_terms(P, P.xk)
            total, err = math.fsum(t.tolist()), float(np.sum(r))
        else:
            jlo, jhi, m = lattice_range(P)
            total, rounding, bound, mass = sum_lattice(lambda js: _entropy_terms(P, js), jlo, jhi, m, rtol)
            err = rounding + bound + 4 * _EPS * abs(total)
            if not P.stable:  # a constant error in log p is one in H; scipy's lgamma noise likewise
                err += _offsets(P, P, mass) + _noise(((P, 0.0),), m, jlo, jhi)
    return _accept(total, err, rtol, "summation", "entropy")


# ---------------------------------------------------------------- Jensen-Shannon


_RESOLVED = 1e6  # |loc_p - loc_q| / s_q up to which q is resolved in p's standard variable (eps 1e6 << 1)


def quad_js(p, q, rtol=1e-6):
    """(value, error bound) of JS(p, q) for 1-D densities: the integrand e^a phi(t) in the standard variable of a
    law in which the other is resolved (|loc_p - loc_q| / s_other <= 1e6: the rounding of v = A + B u is far below
    the other's scale); where neither is, the laws are far apart on both scales and JS = 1/2 D(p||m) + 1/2 D(q||m)
    is taken half by half, each in its own law's variable (both halves >= 0: nothing cancels)."""
    P, Q = _Law(p, False), _Law(q, False)
    held = 1e-300 < P.scale / Q.scale < 1e300  # else neither law's variable holds the other's scale: half by half
    if held and abs(P.loc - Q.loc) <= _RESOLVED * Q.scale:
        return _quad_js_in(P, Q, rtol, "both")
    if held and abs(P.loc - Q.loc) <= _RESOLVED * P.scale:
        return _quad_js_in(Q, P, rtol, "both")
    hp, ep = _quad_js_in(P, Q, rtol, "own", accept=False)
    hq, eq = _quad_js_in(Q, P, rtol, "own", accept=False)
    return _accept(hp + hq, ep + eq, rtol, "quadrature", "JS divergence", upper=_LOG2)


def _quad_js_in(P, Q, rtol, part, accept=True):
    """JS in P's standard variable u (part "both"), or its half 1/2 int f (log 2 + a - log(e^a + e^b)) ("own")."""
    A = (P.loc - Q.loc) / Q.scale
    B = P.scale / Q.scale
    lB = math.log(P.scale) - math.log(Q.scale)  # q's density per unit of u: g(v) s_p / s_q

    def logs(u):
        u = np.asarray(u, dtype=np.float64)
        v = A + B * u
        a, b = P.logf(u), Q.logf(v) + lB
        a = np.where(np.isnan(a) & (np.abs(u) > 1e300), -np.inf, a)
        # q beyond 1e300 of its scales (v overflowed: laws 1e175 apart at scales 1e-287): its density is 0 in float64
        b = np.where((np.isnan(b) & (np.abs(v) > 1e300)) | ~np.isfinite(v), -np.inf, b)
        if np.any(np.isnan(a) | np.isnan(b)):
            msg = "a log-density is NaN inside its support (its library cannot evaluate it there)"
            raise NumericFailure(msg)
        return a, b

    def integrand(u):
        a, b = logs(u)
        if part == "both":
            return js_point(a, b)
        live = a > -np.inf
        return np.where(live, 0.5 * np.exp(a) * -np.log1p(np.expm1(np.where(live, b - a, 0.0)) / 2), 0.0)

    with np.errstate(all="ignore"):
        lo, hi = P.lo, P.hi
        cuts = [_quantiles(P, _SPLITS), np.asarray(P.kinks, dtype=np.float64)]
        if part == "both":
            qlo, qhi = sorted(((Q.lo - A) / B, (Q.hi - A) / B))
            lo, hi = min(lo, qlo), max(hi, qhi)
            cuts += [(_quantiles(Q, _SPLITS) - A) / B, (np.asarray(Q.kinks, dtype=np.float64) - A) / B]
        total, err, _ = _integrate(integrand, _edges(lo, hi, np.concatenate(cuts)), rtol, "JS(p, q)")
        err += _js_rounding(P, Q, A, B, lB, logs, both=part == "both")
    if not accept:
        return total, err
    return _accept(total, err, rtol, "quadrature", "JS divergence", upper=_LOG2)


def _js_rounding(P, Q, A, B, lB, logs, both=True):
    """eps times E of |dJ/da| (|a| + |u| slope of log f) + |dJ/db| (|b| + (|A| + |B u|) slope of log g), by the
    midpoint rule over 64 quantiles of p and 64 of q (each point weighted by 1/its law's density); four times it."""
    out = 0.0
    for law, mapped in ((P, lambda x: x), (Q, lambda v: (v - A) / B))[: 2 if both else 1]:
        u = mapped(_quantiles(law, (np.arange(64) + 0.5) / 64))
        u = u[np.isfinite(u)]
        if not u.size:
            continue
        a, b = logs(u)
        own = a if law is P else b
        du = 1e-6 * (1.0 + np.abs(u))
        a2, b2 = logs(u + du)
        sa, sb = _js_slopes(a, b)
        mag = sa * (np.abs(_finite(a)) + np.abs(u) * _finite(np.abs(a2 - a) / du))
        mag = mag + sb * (np.abs(_finite(b)) + (abs(A) + np.abs(B * u)) * _finite(np.abs(b2 - b) / du) / max(B, 1e-300))
        out += float(np.mean(_finite(mag * np.exp(-_finite(own)))))
    return 4 * _EPS * out


def _js_lattice_terms(P, Q, d, js):
    js = np.asarray(js, dtype=np.float64)
    a, b = P.logf(js), Q.logf(js + d)
    t = js_point(a, b)
    sa, sb = _js_slopes(a, b)
    r = _EPS * (4 * t + sa * (4 + np.abs(_finite(a))) + sb * (4 + np.abs(_finite(b))))
    return t, r, np.maximum(a, b), np.array([np.sum(np.exp(a)), np.sum(np.exp(b))])


def sum_js(p, q, rtol=1e-6):
    """(value, error bound) of JS(p, q) for laws on lattices (loc + Z, or an rv_discrete's outcomes)."""
    P, Q = _Law(p, True), _Law(q, True)
    if Q.xk is not None and P.xk is None:
        P, Q = Q, P  # JS is symmetric: the categorical law (if one) is p
    d = P.loc - Q.loc
    with np.errstate(all="ignore"):
        if P.xk is not None:
            xs = np.asarray(P.xk, dtype=np.float64)
            if Q.xk is not None:  # both categorical: the union of their outcomes
                xs = np.union1d(xs, np.asarray(Q.xk, dtype=np.float64))
            t, r, _, mass = _js_lattice_terms(P, Q, d, xs)
            total, err = math.fsum(t.tolist()), float(np.sum(r)) + 4 * _EPS * float(np.sum(t))
            if Q.xk is None:  # q's mass off p's outcomes contributes q log(2)/2
                total = math.fsum([*t.tolist(), 0.5 * _LOG2 * max(0.0, 1.0 - float(mass[1]))])
                err += _EPS * len(xs)
        elif d != math.floor(d):
            return _LOG2, 0.0  # the lattices loc_p + Z and loc_q + Z never meet
        else:
            jlo_p, jhi_p, mp = lattice_range(P)
            jlo_q, jhi_q, mq = lattice_range(Q)
            lo, hi = min(jlo_p, jlo_q - d), max(jhi_p, jhi_q - d)
            terms = lambda js: _js_lattice_terms(P, Q, d, js)  # noqa: E731
            total, rounding, bound, mass = sum_lattice(terms, lo, hi, int(min(mp, mq - d)), rtol, start_hi=int(max(mp, mq - d)))
            err = rounding + bound + 4 * _EPS * abs(total)
            if not (P.stable and Q.stable):
                err += total * _offsets(P, Q, mass) + _noise(((P, 0.0), (Q, d)), mp, jlo_p, jhi_p)
    return _accept(total, err, rtol, "summation", "JS divergence", upper=_LOG2)
