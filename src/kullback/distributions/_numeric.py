"""Deterministic numeric KL where no closed form exists.

* 1-D densities: tanh-sinh quadrature (``scipy.integrate.tanhsinh``, all
  pieces in one vectorised call) of p(x) [log p(x) - log q(x)] over p's
  support, split at quantiles of p so that every piece is well scaled, with the
  pieces' error estimates added; tails are probed first and refused where the
  integrand decays too slowly to integrate.
* Discrete laws: summation of p(k) [log p(k) - log q(k)] over p's support;
  finite supports are summed whole, infinite ones block by block (from past
  the point where p's tail mass is below 1e-18) until the terms decay
  geometrically and the bound on the rest of the series, |t_K| r / (1 - r)
  with r the largest ratio of successive terms at the end, is far below the
  tolerance; series that do not (power-law tails) are given up after 4M terms.

Both work on scalar scipy.stats views (float64) and either return a value
whose error bound is below ``rtol`` relative (or ``ATOL`` = 1e-12 absolute for
values that small: rounding of log p - log q is then the limit) or raise
:class:`NumericFailure`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate

__all__ = ["NumericFailure", "quad_kl", "sum_kl"]

_SPLITS = (1e-12, 1e-6, 1e-3, 0.05, 0.25, 0.5, 0.75, 0.95, 0.999, 1 - 1e-6, 1 - 1e-12)
_MAX_TERMS = 1 << 22  # terms summed before a slowly decaying series is given up
_BLOCK = 1 << 20  # terms evaluated at once
ATOL = 1e-12  # below this, values are accurate in absolute terms (rounding noise of log p - log q)
# p below e^-460 (1e-200): where q's log-density has underflowed there, the term p (log p - log q)
# is dropped; it is below 1e-190 unless -log q exceeds 1e10, which no law here reaches
_NEGLIGIBLE_LOG = -460.0


class NumericFailure(ValueError):
    """The numeric method could not reach its tolerance."""


def _support(d):
    lo, hi = d.support()
    return float(lo), float(hi)


def _guarded(method):
    """Run a numeric method with floating-point warnings off, after the support check
    (p's support outside q's: D = +inf, nothing to compute)."""

    def run(p, q, rtol=1e-6):
        plo, phi = _support(p)
        qlo, qhi = _support(q)
        if plo < qlo or phi > qhi:
            return math.inf, 0.0
        with np.errstate(all="ignore"):
            return method(p, q, rtol, plo, phi)

    run.__doc__ = method.__doc__
    return run


@_guarded
def quad_kl(p, q, rtol, plo, phi):
    """(value, error bound) of D(p||q) for 1-D densities p, q."""

    def integrand(x):
        x = np.asarray(x, dtype=np.float64)
        a = np.asarray(p.logpdf(x), dtype=np.float64)
        # p underflows (or scipy's log-density overflows to NaN far out, where p is 0): the term is 0
        # (q's log-density may overflow to -inf out there too; a genuine support mismatch was caught above)
        w = np.exp(np.where(np.isnan(a) & (np.abs(x) > 1e300), -np.inf, a))
        live = w > 0
        b = np.asarray(q.logpdf(x), dtype=np.float64)
        # q = 0 where p lives: D = +inf -- unless at an end point of p's support (a node rounded onto it:
        # measure zero) or where p is negligible and q's log-density merely underflowed
        if np.any(live & (b == -np.inf) & (x > plo) & (x < phi) & (a >= _NEGLIGIBLE_LOG)):
            raise _Infinite
        return np.where(live & (b > -np.inf), w * (a - b), 0.0)

    cuts = np.asarray(p.ppf(np.asarray(_SPLITS)), dtype=np.float64)
    # and where either log-density has a kink (Laplace's location), so that every piece is smooth
    cuts = np.concatenate([cuts, getattr(p, "kinks", ()), getattr(q, "kinks", ())])
    cuts = np.unique(cuts[np.isfinite(cuts) & (cuts > plo) & (cuts < phi)])
    edges = np.array([plo, *cuts.tolist(), phi])
    for side, end in ((1.0, phi), (-1.0, plo)):
        if math.isinf(end):
            _check_tail_decay(integrand, side, cuts)
    try:
        # tanh-sinh quadrature, all pieces at once, each to 1e-11 relative (Takahasi & Mori 1974;
        # scipy.integrate.tanhsinh): double-exponential nodes also take end-point singularities
        res = integrate.tanhsinh(integrand, edges[:-1], edges[1:], rtol=1e-11, atol=0.0)
    except _Infinite:
        return math.inf, 0.0
    values, errors, status = np.atleast_1d(res.integral), np.atleast_1d(res.error), np.atleast_1d(res.status)
    total = math.fsum(values.tolist())
    err = float(np.sum(errors))
    # A piece that did not reach its 1e-11 (a kink of q inside it, or a far tail asked for 1e-11
    # relative of a negligible integral) is accepted only with ten times the margin.
    shaky = errors[status != 0]
    tol = max(rtol * abs(total), ATOL)
    if not math.isfinite(total) or not math.isfinite(err) or err > tol or np.any(shaky > 0.1 * tol) or total < -tol:
        raise NumericFailure(
            f"quadrature reached {total!r} with error bound {err:.2g}, not within {rtol:g} relative"
            + (" (some pieces did not converge)" if shaky.size else "")
        )
    return max(total, 0.0), err  # D >= 0: a rounding-level negative total (p = q) is 0


class _Infinite(Exception):
    pass


def _check_tail_decay(integrand, side, cuts):
    """Refuse tails whose integrand decays like 1/|x| or slower.

    x f(x) is sampled at x0 2^k (x0 past p's 1 - 1e-12 quantile) out to where
    the integrand vanishes numerically (p underflows, or q's log-density does
    where p is negligible).  An integrable f(x) = o(1/x) makes it shrink; if over
    the last (up to ten) doublings it shrinks by less than 10% per doubling,
    quadrature cannot be trusted (the integral diverges, or converges too slowly
    to pin down): that is an error, never a number.
    """
    x0 = max(1.0, float(np.max(np.abs(cuts)))) if len(cuts) else 1.0
    x = x0 * 2.0 ** np.arange(math.ceil(math.log2(1e100 / x0)))  # beyond 1e100, x*x overflows in some log-densities
    try:
        h = np.abs(integrand(side * x)) * x  # one vectorised call
    except _Infinite:
        return
    end = np.flatnonzero((h == 0) | ~np.isfinite(h))
    h = h[: end[0]] if end.size else h  # up to where the integrand vanishes numerically
    if len(h) < 3:  # p's density vanished within two doublings: a tail that short integrates fine
        return
    h = np.asarray(h[-11:])
    ratios = h[1:] / h[:-1]
    if np.max(ratios) > 0.9:
        raise NumericFailure(
            f"p log(p/q) falls off like |x|^{math.log2(float(np.median(ratios))) - 1:.2f} in the "
            f"{'upper' if side > 0 else 'lower'} tail (an integrable one falls faster than 1/|x|): "
            "too slowly for quadrature to give a trustworthy value"
        )


def _terms(p, q, ks):
    lp = np.asarray(p.logpmf(ks), dtype=np.float64)
    lq = np.asarray(q.logpmf(ks), dtype=np.float64)
    # q's log-pmf may underflow to -inf (scipy takes log(pmf)) where p is negligible too: those
    # terms are dropped; -inf where p still has mass is a real zero of q, and D = +inf
    live = lp > _NEGLIGIBLE_LOG
    if np.any(live & (lq == -np.inf)):
        raise _Infinite
    return np.where(live, np.exp(lp) * (lp - lq), 0.0)


def _block_sum(p, q, a, b):
    """sum of the terms for k = a..b, in blocks of at most _BLOCK (memory stays bounded)."""
    total = 0.0
    for start in range(a, b + 1, _BLOCK):
        total += float(np.sum(_terms(p, q, np.arange(start, min(start + _BLOCK - 1, b) + 1))))
    return total


def _bulk_end(p, lo):
    """A k beyond which p has mass < 1e-18 (searched by doubling with p.sf; scipy's isf can
    exhaust memory on heavy tails), or where the search gives up; summation goes on from there."""
    k = lo + 1024
    while k - lo < _MAX_TERMS:
        if float(p.sf(k)) < 1e-18:
            return k
        k = lo + 2 * (k - lo)
    return lo + 1024


@_guarded
def sum_kl(p, q, rtol, plo, phi):
    """(value, error bound) of D(p||q) for laws on the integers."""
    lo = int(plo)
    try:
        if math.isfinite(phi) and phi - lo < _MAX_TERMS:
            return max(_block_sum(p, q, lo, int(phi)), 0.0), 0.0
        hi = _bulk_end(p, lo)
        total = _block_sum(p, q, lo, hi)
        size = 1024
        while True:
            nxt = hi + size
            block = _terms(p, q, np.arange(hi + 1, nxt + 1))
            total += float(np.sum(block))
            tail = np.abs(block[-64:])
            ratios = tail[1:] / tail[:-1]
            r = float(np.nanmax(ratios)) if np.any(np.isfinite(ratios)) else 0.0
            last = float(tail[-1])
            if last == 0.0:
                return max(total, 0.0), 0.0
            if r < 1.0:
                bound = last * r / (1 - r)
                if bound <= 1e-3 * max(rtol * abs(total), ATOL):
                    return max(total, 0.0), bound
            hi = nxt
            size = min(2 * size, _BLOCK)
            if hi - lo > _MAX_TERMS:
                raise NumericFailure(
                    f"the series has not converged after {hi - lo:,} terms (its tail decays too slowly, e.g. like a power of k, to bound)"
                )
    except _Infinite:
        return math.inf, 0.0
