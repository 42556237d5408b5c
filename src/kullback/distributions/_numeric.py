"""Deterministic numeric KL where no closed form exists.

* 1-D densities: tanh-sinh quadrature (``scipy.integrate.tanhsinh``, all
  pieces in one vectorised call) of f(u) [log f(u) - log g(v) + log(s_q/s_p)]
  in p's own standard variable u = (x - loc_p) / scale_p, where q is evaluated
  in *its* standard variable v = (loc_p - loc_q)/scale_q + (scale_p/scale_q) u.
  Neither x nor x - loc is ever formed, so a narrow law far from the origin
  (``norm(1e10, 1)``, ``norm(1000, 1e-8)``) keeps every digit; the pieces are
  split at quantiles of p (and at kinks of either log-density), and tails are
  probed first and refused where the integrand decays too slowly to integrate.
* Laws on the integers: summation of p(k) [log p(k) - log q(k)] outward from
  p's median in both directions, block by block, each side until its terms
  decay geometrically and the bound on the rest of that side's series,
  |t_K| r / (1 - r) with r the largest ratio of successive terms at its end,
  is far below the tolerance (or the end of the support is reached).  Laws on
  all the integers (dlaplace, skellam) have two such tails.  Binomial, Poisson,
  negative binomial (and the gamma density) are evaluated with Loader's
  saddle-point form (C. Loader, "Fast and accurate computation of binomial
  probabilities", 2000, eqs. 2-5): stirlerr and bd0 terms of the size of the
  log-probability itself, where scipy's lgamma-based log-pmf carries
  cancellation errors of eps * n log n (1e-9 at n = 1e6).

The error bound returned adds the quadrature's (or the tails') bound and an
estimate of the rounding error of the integrand (eps times the magnitudes of
the log-densities, their arguments' rounding times their slopes, and the
terms).  Both work on scalar scipy.stats-like objects (float64) and return
(value, bound): within ``rtol`` relative (``ATOL`` = 1e-12 absolute for values
that small) silently; a bound above that but below 1e-3 relative with a
:class:`kullback.AccuracyWarning` that states it; otherwise they raise
:class:`NumericFailure`.
"""

from __future__ import annotations

import functools
import math
import sys
import warnings

import numpy as np
from scipy import integrate, special, stats

from .._warnings import AccuracyWarning

__all__ = ["NumericFailure", "quad_kl", "sum_kl"]

_SPLITS = (1e-12, 1e-6, 1e-3, 0.05, 0.25, 0.5, 0.75, 0.95, 0.999, 1 - 1e-6, 1 - 1e-12)
_MAX_TERMS = 1 << 22  # terms summed before a slowly decaying series is given up
_BLOCK = 1 << 20  # terms evaluated at once
_WHOLE = 1 << 12  # finite supports up to this size are summed whole
ATOL = 1e-12  # below this, values are accurate in absolute terms (rounding noise of log p - log q)
_WARN_RTOL = 1e-3  # error bounds above the target but below this (relative) warn; larger ones fail
_EPS = float(np.finfo(np.float64).eps)
_LOG_2PI = math.log(2 * math.pi)
# p below e^-460 (1e-200): where q's log-density has underflowed there, the term p (log p - log q)
# is dropped; it is below 1e-190 unless -log q exceeds 1e10, which no law here reaches
_NEGLIGIBLE_LOG = -460.0


class NumericFailure(ValueError):
    """The numeric method could not reach its tolerance."""


class _Infinite(Exception):
    pass


# ---------------------------------------------------------------- Loader's saddle-point log-probabilities

_S = (1 / 12, 1 / 360, 1 / 1260, 1 / 1680, 1 / 1188)


def _stirlerr(n):
    """log Gamma(n + 1) - [(n + 1/2) log n - n + log(2 pi)/2] for n > 0 (Loader 2000, eq. 4; the
    series to n^-9 for n > 15, error < 3e-16; the direct difference below, where it is small)."""
    n = np.asarray(n, dtype=np.float64)
    big = n > 15
    nb = np.where(big, n, 16.0)
    nn = nb * nb
    series = (_S[0] - (_S[1] - (_S[2] - (_S[3] - _S[4] / nn) / nn) / nn) / nn) / nb
    ns = np.where(big, 1.0, n)
    direct = special.gammaln(ns + 1) - (ns + 0.5) * np.log(ns) + ns - 0.5 * _LOG_2PI
    return np.where(big, series, direct)


def _bd0(x, m):
    """x log(x/m) + m - x >= 0 without cancellation (Loader 2000, eq. 5: a series in v = (x-m)/(x+m)
    where |x - m| < 0.1 (x + m))."""
    x, m = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64))
    d = x - m
    near = np.abs(d) < 0.1 * (x + m)
    v = np.where(near, d / np.where(near, x + m, 1.0), 0.0)
    s = d * v
    ej = 2 * x * v
    v2 = v * v
    for j in range(1, 14):  # v^2 <= 1/100: 13 terms reach 1e-26 relative
        ej = ej * v2
        s = s + ej / (2 * j + 1)
    mf = np.where(near, 1.0, m)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        r = x / mf
        # x/m overflows or underflows (m subnormal, or far apart): the logs separately
        logr = np.where(np.isfinite(r) & (r > 0), special.xlogy(x, r), special.xlogy(x, x) - special.xlogy(x, mf))
    far = logr + m - x
    return np.where(near, s, far)


def _log_dbinom(k, n, p):
    """log of the binomial probability of k successes in n trials (n may be real: the negative
    binomial), Loader 2000 eq. 2; every term is of the size of the result."""
    k, n = np.broadcast_arrays(np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64))
    q = 1.0 - p
    lp, lq = (math.log(p), math.log1p(-p)) if p < 0.5 else (math.log1p(-q), math.log(q))
    mid = (k > 0) & (k < n)
    km, nm = np.where(mid, k, 1.0), np.where(mid, n, 2.0)
    lc = _stirlerr(nm) - _stirlerr(km) - _stirlerr(nm - km) - _bd0(km, nm * p) - _bd0(nm - km, nm * q)
    lf = _LOG_2PI + np.log(km) + np.log(nm - km) - np.log(nm)
    out = np.where(mid, lc - 0.5 * lf, -np.inf)
    out = np.where(k == 0, n * lq, out)
    return np.where((k == n) & (k > 0), n * lp, out)


def _log_dpois(k, lam):
    """log of the Poisson probability of k (k real >= 0: also the gamma density), Loader 2000 eq. 3."""
    k = np.asarray(k, dtype=np.float64)
    kp = np.where(k > 0, k, 1.0)
    out = -_stirlerr(kp) - _bd0(kp, lam) - 0.5 * (_LOG_2PI + np.log(kp))
    return np.where(k > 0, out, -lam)


def _log_dnbinom(k, r, p):
    """log of scipy's nbinom(r, p) at k failures: r/(r+k) times a binomial probability (R's dnbinom)."""
    k = np.asarray(k, dtype=np.float64)
    return np.log(r / (r + k)) + _log_dbinom(r, r + k, p)


def _log_dgamma(u, a):
    """log of the standard gamma density at u > 0: a Poisson probability in u (R's dgamma)."""
    u = np.asarray(u, dtype=np.float64)
    up = np.where(u > 0, u, 1.0)
    out = _log_dpois(a - 1, up) if a >= 1 else np.log(a / up) + _log_dpois(a, up)
    return np.where(u > 0, out, -np.inf)


def _log_iv(nu, z):
    """log I_nu(z) for nu >= 0, z > 0: log(ive) + z, and where ive underflows (nu large against z) the
    power series I_nu(z) = (z/2)^nu / Gamma(nu + 1) sum_j (z^2/4)^j / (j! (nu+1)_j) (DLMF 10.25.2),
    summed in logs over 40 + z terms (at most 200; they peak at j ~ z^2 / (4 nu) < z / 4 where ive underflows)."""
    nu = np.asarray(nu, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out = np.log(special.ive(nu, z)) + z
    low = ~np.isfinite(out)
    if np.any(low):
        n = nu[low][:, None]
        j = np.arange(float(min(200, 40 + int(z))))[None, :]
        logt = 2 * j * math.log(z / 2) - special.gammaln(j + 1) - (special.gammaln(n + j + 1) - special.gammaln(n + 1))
        out[low] = nu[low] * math.log(z / 2) - special.gammaln(nu[low] + 1) + special.logsumexp(logt, axis=1)
    return out


def _log_skellam(k, m1, m2):
    """log of the Skellam probability: e^-(m1+m2) (m1/m2)^(k/2) I_|k|(2 sqrt(m1 m2)) (Skellam 1946),
    with -(m1 + m2) + 2 sqrt(m1 m2) = -(sqrt m1 - sqrt m2)^2 (scipy's own log-pmf is log(pmf): -inf
    from |k| ~ 170 on, and slow)."""
    k = np.asarray(k, dtype=np.float64)
    z = 2 * math.sqrt(m1 * m2)
    return -((math.sqrt(m1) - math.sqrt(m2)) ** 2) + 0.5 * k * (math.log(m1) - math.log(m2)) + _log_iv(np.abs(k), z) - z


# scipy family name -> log-density in the standard variable (loc 0, scale 1), where scipy's own
# loses digits (lgamma cancellation at large parameters) or underflows (log of a pdf that is 0)
_STD_LOGPMF = {
    "binom": lambda k, n, p: _log_dbinom(k, n, p),
    "bernoulli": lambda k, p: _log_dbinom(k, 1.0, p),
    "poisson": lambda k, mu: _log_dpois(k, mu),
    "nbinom": lambda k, n, p: _log_dnbinom(k, n, p),
    "geom": lambda k, p: math.log(p) + (k - 1) * math.log1p(-p),
    "dlaplace": lambda k, a: math.log(math.tanh(a / 2)) - a * np.abs(k),
    "skellam": lambda k, m1, m2: _log_skellam(k, m1, m2),
}


def _log_levy(u):
    """log of the standard Levy density, u^-3/2 e^-1/(2u) / sqrt(2 pi) for u > 0 (scipy's logpdf is log(pdf): -inf
    from u ~ 1e-3 down, where the law still has mass of e^-500)."""
    up = np.where(u > 0, u, 1.0)
    return np.where(u > 0, -0.5 * _LOG_2PI - 1.5 * np.log(up) - 0.5 / up, -np.inf)


def _log_invweibull(u, c):
    """log of the standard inverse Weibull (Frechet) density, c u^-(1+c) e^(-u^-c) for u > 0 (scipy's: log(pdf))."""
    up = np.where(u > 0, u, 1.0)
    lu = np.log(up)
    return np.where(u > 0, math.log(c) - (1 + c) * lu - np.exp(-c * lu), -np.inf)


def _log_kstwobign(u):
    """log of the limiting Kolmogorov density (scipy's kstwobign; its logpdf is log(pdf): -inf below u ~ 0.1).
    Below u = 1 from F(u) = sqrt(2 pi)/u sum_k exp(-c_k/u^2), c_k = (2k - 1)^2 pi^2/8, differentiated:
    f = sqrt(2 pi) sum_k e^(-c_k/u^2) (2 c_k/u^4 - 1/u^2) (positive terms, summed in logs); from u = 1 from
    F(u) = 1 - 2 sum_k (-1)^(k-1) e^(-2 k^2 u^2): f = 8 u e^(-2u^2) [1 + sum_{k>=2} (-1)^(k-1) k^2 e^(-2(k^2-1)u^2)]
    (Kolmogorov 1933; Marsaglia, Tsang & Wang 2003, J. Stat. Softw. 8(18), eqs. 1-2); 8 terms each, far below eps."""
    u = np.asarray(u, dtype=np.float64)
    small = (u > 0) & (u < 1)
    us = np.where(small, u, 0.5)[..., None]
    c = ((2 * np.arange(1, 9) - 1) ** 2 * math.pi**2 / 8)[None, :] if u.ndim == 0 else (2 * np.arange(1, 9) - 1) ** 2 * math.pi**2 / 8
    low = 0.5 * _LOG_2PI + special.logsumexp(-c / us**2 + np.log(2 * c / us**4 - 1 / us**2), axis=-1)
    ul = np.where(u >= 1, u, 1.0)
    k = np.arange(2, 10)
    series = np.sum((-1.0) ** (k - 1) * k**2 * np.exp(-2 * (k**2 - 1) * ul[..., None] ** 2), axis=-1)
    high = math.log(8) + np.log(ul) - 2 * ul**2 + np.log1p(series)
    return np.where(small, low.reshape(u.shape), np.where(u >= 1, high, -np.inf))


_STD_LOGPDF = {
    "kstwobign": _log_kstwobign,
    "levy": _log_levy,
    "levy_l": lambda u: _log_levy(-u),
    "invweibull": _log_invweibull,
    "laplace": lambda u: -math.log(2.0) - np.abs(u),
    "gamma": lambda u, a: _log_dgamma(u, a),
    "chi2": lambda u, k: _log_dgamma(u / 2, k / 2) - math.log(2.0),
}
_STD_KINKS = {"laplace": (0.0,), "dlaplace": ()}


# ---------------------------------------------------------------- a law in its standard variable


class _Law:
    """A scalar law as x = loc + scale * u: log f(u) (the density of u), its quantiles and support in u.

    scipy frozen laws are read through their generator (shapes, loc, scale); other objects
    (scipy's new API, kullback's own views) are taken in x (loc 0, scale 1) unless they offer
    ``standard_form() -> (loc, scale, logf, ppf, (lo, hi))``.
    """

    def __init__(self, d, discrete):
        self.named = False
        self.stable = False  # log-density of our own (Loader, closed forms): rounding of the size of its value
        self.kinks = ()
        self.xk = getattr(d, "xk", None) if discrete else None
        dist = getattr(d, "dist", None)
        if isinstance(dist, stats.rv_discrete if discrete else stats.rv_continuous) and hasattr(d, "args"):
            parsed = dist._parse_args(*d.args, **d.kwds)
            shapes, loc, scale = parsed if len(parsed) == 3 else (*parsed, 1.0)
            shapes = tuple(float(s) for s in shapes)
            name = getattr(dist, "name", "")
            self.loc, self.scale = float(loc), float(scale)
            fast = (_STD_LOGPMF if discrete else _STD_LOGPDF).get(name)
            self.stable = fast is not None
            lo, hi = (float(e) for e in dist.support(*shapes))
            if fast is not None:  # our forms hold inside the support only: -inf outside, as scipy's
                # (and, for a law on the integers, off them: Loader's forms are analytic in k, scipy's are 0 there)

                def logf(u, _f=fast, _s=shapes, _lo=lo, _hi=hi, _int=discrete):
                    u = np.asarray(u, dtype=np.float64)
                    inside = (u >= _lo) & (u <= _hi) & ((u == np.floor(u)) if _int else True)
                    return np.where(inside, np.asarray(_f(u, *_s), dtype=np.float64), -np.inf)

                self.logf = logf
            else:
                method = dist.logpmf if discrete else dist.logpdf
                self.logf = lambda u: np.asarray(method(u, *shapes), dtype=np.float64)
            self.ppf = lambda pr: np.asarray(dist.ppf(pr, *shapes), dtype=np.float64)
            self.sf = lambda u: np.asarray(dist.sf(u, *shapes), dtype=np.float64)
            self.cdf = lambda u: np.asarray(dist.cdf(u, *shapes), dtype=np.float64)
            self.named = hasattr(stats, name) and type(dist).__module__.startswith("scipy.stats._")
            self.kinks = _STD_KINKS.get(name, ())
        elif (form := getattr(d, "standard_form", lambda: None)()) is not None:
            self.loc, self.scale, self.logf, self.ppf, (lo, hi) = form
            self.sf = self.cdf = None
            self.kinks = tuple((k - self.loc) / self.scale for k in getattr(d, "kinks", ()))
        else:
            self.loc, self.scale = 0.0, 1.0
            method = d.logpmf if discrete else d.logpdf
            self.logf = lambda u: np.asarray(method(u), dtype=np.float64)
            self.ppf = lambda pr: np.asarray(d.ppf(pr), dtype=np.float64)
            self.sf = (lambda u: np.asarray(d.sf(u), dtype=np.float64)) if hasattr(d, "sf") else None
            self.cdf = (lambda u: np.asarray(d.cdf(u), dtype=np.float64)) if hasattr(d, "cdf") else None
            lo, hi = d.support()
            self.kinks = tuple(getattr(d, "kinks", ()))
        self.lo, self.hi = float(lo), float(hi)


def _support(d):
    lo, hi = d.support()
    return float(lo), float(hi)


def _guarded(method):
    """Run a numeric method with floating-point warnings off, after the support check
    (p's support outside q's: D = +inf, nothing to compute)."""

    @functools.wraps(method)
    def run(p, q, rtol=1e-6):
        plo, phi = _support(p)
        qlo, qhi = _support(q)
        if plo < qlo or phi > qhi:
            return math.inf, 0.0
        with np.errstate(all="ignore"):
            return method(p, q, rtol, plo, phi)

    return run


def _stacklevel():
    """The stacklevel of the first frame outside kullback, for warnings.warn called by our caller."""
    f, level = sys._getframe(1), 1
    while f is not None and f.f_globals.get("__name__", "").startswith("kullback"):
        f, level = f.f_back, level + 1
    return level


def _accept(total, err, rtol, what, quantity="KL divergence", lower=0.0, upper=math.inf):
    """(total clipped to [lower, upper], err) if err meets rtol; with an AccuracyWarning if it misses it
    moderately; NumericFailure otherwise (also for a total below ``lower`` by more than its bound).
    ``lower`` None: any sign (differential entropies)."""
    tol = max(rtol * abs(total), ATOL)
    below = lower is not None and total < lower - max(tol, err)
    if not (math.isfinite(total) and math.isfinite(err)) or below:
        raise NumericFailure(f"{what} reached {total!r} with error bound {err:.2g}, not within {rtol:g} relative")
    if err > tol:
        if err > _WARN_RTOL * abs(total) + 1e-9:
            raise NumericFailure(f"{what} reached {total!r} with error bound {err:.2g}, not within {rtol:g} relative")
        rel = f" ({err / abs(total):.1g} relative)" if total else ""
        warnings.warn(
            f"numeric {quantity} {total:.10g}: {what} bounds its error by {err:.2g}{rel}, above the "
            f"{rtol:g} relative target (rounding of the log-densities at these parameters)",
            AccuracyWarning,
            stacklevel=_stacklevel(),
        )
    if lower is None:
        return total, err
    return min(max(total, lower), upper), err  # D >= 0: a rounding-level negative total (p = q) is 0


# ---------------------------------------------------------------- quadrature


def _density_terms(P, Q, A, B, const, u):
    """(log f_p(u), log g_q(v), v) at u, with v = A + B u: q in its own standard variable."""
    a = P.logf(u)
    v = A + B * u
    return a, Q.logf(v), v


@_guarded
def quad_kl(p, q, rtol, plo, phi):
    """(value, error bound) of D(p||q) for 1-D densities p, q."""
    P, Q = _Law(p, False), _Law(q, False)
    A = (P.loc - Q.loc) / Q.scale  # one rounding: the difference of two floats
    B = P.scale / Q.scale
    const = math.log(Q.scale) - math.log(P.scale)  # the Jacobians: log(s_q / s_p)

    def integrand(u):
        u = np.asarray(u, dtype=np.float64)
        a, b, v = _density_terms(P, Q, A, B, const, u)
        # p underflows (or scipy's log-density overflows to NaN far out, where p is 0): the term is 0
        a = np.where(np.isnan(a) & (np.abs(u) > 1e300), -np.inf, a)
        w = np.exp(a)
        live = w > 0
        # q = 0 where p lives: D = +inf -- unless at an end point of p's support (a node rounded onto it:
        # measure zero) or where p is negligible and q's log-density merely underflowed
        # (p's support lies in q's, checked in x: a v rounded onto q's end, e.g. B u underflowing to 0, is dropped)
        zero = live & (b == -np.inf) & (u > P.lo) & (u < P.hi) & (a >= _NEGLIGIBLE_LOG) & (v > Q.lo) & (v < Q.hi)
        if np.any(zero):
            if Q.named:  # scipy's families are positive inside their supports: -inf is underflow
                raise NumericFailure("q's log-density underflows to -inf inside its support where p has mass")
            raise _Infinite
        return np.where(live & (b > -np.inf), w * (a - b + const), 0.0)

    cuts = P.ppf(np.asarray(_SPLITS))
    kinks = [*P.kinks, *((k - A) / B for k in Q.kinks)]
    cuts = np.concatenate([cuts, np.asarray(kinks, dtype=np.float64)])
    cuts = np.unique(cuts[np.isfinite(cuts) & (cuts > P.lo) & (cuts < P.hi)])
    edges = np.array([P.lo, *cuts.tolist(), P.hi])
    for side, end in ((1.0, P.hi), (-1.0, P.lo)):
        if math.isinf(end):
            _check_tail_decay(integrand, side, cuts)
    try:
        # tanh-sinh quadrature, all pieces at once, each to 1e-11 relative (Takahasi & Mori 1974;
        # scipy.integrate.tanhsinh): double-exponential nodes also take end-point singularities
        res = integrate.tanhsinh(integrand, edges[:-1], edges[1:], rtol=1e-11, atol=0.0)
        rounding = _quad_rounding(P, Q, A, B, const)
    except _Infinite:
        return math.inf, 0.0
    values, errors, status = np.atleast_1d(res.integral), np.atleast_1d(res.error), np.atleast_1d(res.status)
    total = math.fsum(values.tolist())
    # tanh-sinh's own estimate, floored at the 1e-11 relative it was asked for (its estimate is
    # heuristic and can fall below the true error)
    err = float(np.sum(np.maximum(errors, 1e-11 * np.abs(values)))) + rounding + 4 * _EPS * float(np.sum(np.abs(values)))
    # A piece that did not reach its 1e-11 (a kink of q inside it, or a far tail asked for 1e-11
    # relative of a negligible integral) is accepted only with ten times the margin.
    shaky = errors[status != 0]
    if np.any(shaky > 0.1 * max(rtol * abs(total), ATOL)):
        raise NumericFailure(
            f"quadrature reached {total!r} with error bound {err:.2g}, not within {rtol:g} relative (some pieces did not converge)"
        )
    return _accept(total, err, rtol, "quadrature")


def _quad_rounding(P, Q, A, B, const):
    """Estimate of the rounding error of the integral: E_p of eps times (|log f| + |log g| + |const|
    + the rounding of v = A + B u times the slope of log g + that of the node u times the slope of
    log f), by the midpoint rule on 64 quantiles of p;
    four times that, as a margin for the rule's roughness."""
    u = P.ppf((np.arange(64) + 0.5) / 64)
    u = u[np.isfinite(u)]
    if not u.size:
        return 0.0
    a, b, v = _density_terms(P, Q, A, B, const, u)
    dv, du = 1e-6 * (1.0 + np.abs(v)), 1e-6 * (1.0 + np.abs(u))
    slope_q = np.abs(Q.logf(v + dv) - b) / dv
    slope_p = np.abs(P.logf(u + du) - a) / du  # the nodes' own rounding, eps |u|, times the slope of log f
    mag = np.abs(a) + np.abs(b) + abs(const)
    mag = mag + (np.abs(A) + np.abs(B * u)) * np.where(np.isfinite(slope_q), slope_q, 0.0)
    mag = mag + np.abs(u) * np.where(np.isfinite(slope_p), slope_p, 0.0)
    mag = mag[np.isfinite(mag)]
    return 4 * _EPS * float(np.mean(mag)) if mag.size else 0.0


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


# ---------------------------------------------------------------- summation


def _on_lattice(law, x):
    """Where the points x (in the law's own standard variable) are points the law can take: inside its
    support and, for a law on loc + Z, integers (an ``rv_discrete(values=...)`` judges its own outcomes)."""
    inside = (x >= law.lo) & (x <= law.hi)
    return inside if law.xk is not None else inside & (x == np.floor(x))


def _lattice_terms(P, Q, js, d):
    """(terms p [log p - log q], their rounding estimates, log p, [sum p, sum q]) at the points js of p's
    standard variable (p's lattice: loc_p + js), q taken at js + d, d = loc_p - loc_q."""
    js = np.asarray(js, dtype=np.float64)
    lp = P.logf(js)
    # q's log-pmf may underflow to -inf (scipy takes log(pmf)) where p is negligible too: those
    # terms are dropped (and q is evaluated only where p lives); -inf where p still has mass is a
    # real zero of q (also a point off q's lattice), and D = +inf
    live = lp > _NEGLIGIBLE_LOG
    lq = np.full_like(lp, -np.inf)
    lq[live] = Q.logf(js[live] + d)
    zero = live & (lq == -np.inf)
    if np.any(zero):
        v = js + d
        inside = (v > Q.lo) & (v < Q.hi) & _on_lattice(Q, v)
        if Q.named and np.any(zero & inside):
            raise NumericFailure("q's log-pmf underflows to -inf inside its support where p has mass")
        raise _Infinite
    w = np.where(live, np.exp(lp), 0.0)
    t = np.where(live, w * (lp - lq), 0.0)
    # rounding: the weight's relative error eps |log p| and the difference's eps (|log p| + |log q|)
    r = _EPS * np.where(live, np.abs(t) * (4 + np.abs(lp)) + 8 * w * (np.abs(lp) + np.abs(lq)), 0.0)
    return t, r, lp, np.array([np.sum(w), np.sum(np.exp(lq))])


def _noise(laws, m, jlo, jhi):
    """Rounding of log-pmfs that are not ours (scipy's, lgamma-based: errors of eps n log n that no
    magnitude of the value reveals), estimated from the data over 129 points around p's median: white
    noise of variance s^2 has j-th differences of variance C(2j, j) s^2, a smooth log-pmf has
    j-th differences that shrink with j; the smallest over j = 4..10 of the robust estimate
    1.4826 median|diff_j| / sqrt(C(2j, j)) is taken, three of it for each law not ours.
    Only where those points lie in p's support (a narrower law is read whole and small).
    ``laws``: (law, shift) pairs, each law read at js + shift (js in p's standard variable)."""
    js = np.arange(m - 64, m + 65, dtype=np.float64)
    if js[0] < jlo or js[-1] > jhi:
        return 0.0
    out = 0.0
    for law, shift in laws:
        if law.stable:
            continue
        lv = law.logf(js + shift)
        lv = lv[np.isfinite(lv)]
        if lv.size >= 64:
            out += 3 * min(1.4826 * float(np.median(np.abs(np.diff(lv, j)))) / math.sqrt(math.comb(2 * j, j)) for j in range(4, 11))
    return out


def _offsets(P, Q, mass):
    """|log sum p| (p's whole mass is summed: a constant error in log p shows as a sum off 1) and the same
    for q where the summed range holds all of q's mass to 1e-9 (else q's offset cannot be seen)."""
    out = 0.0
    if not P.stable and mass[0] > 0:
        out += abs(math.log(mass[0]))
    if not Q.stable and abs(mass[1] - 1) < 1e-9:
        out += abs(math.log(mass[1]))
    return out


def _side(terms, start, end, step, rtol, total0):
    """Sum ``terms(js)`` -> (terms, rounding, log of the larger mass, [masses]) from `start` towards `end`
    (inclusive; +-inf for an unbounded side) in steps of `step` = +-1: (sum, rounding, tail bound, masses)."""
    total = rounding = 0.0
    mass = 0.0
    k, size, count = start, 128, 0
    while (k - end) * step <= 0:
        stop = k + step * (size - 1)
        if (stop - end) * step > 0:
            stop = int(end)
        ks = np.arange(k, stop + step, step)
        t, r, lp, ms = terms(ks)
        total += math.fsum(t.tolist()) if t.size <= 4096 else float(np.sum(t))
        rounding += float(np.sum(r))
        mass = mass + ms
        count += ks.size
        if stop == end:
            return total, rounding, 0.0, mass
        tail, ltail = np.abs(t[-64:]), lp[-64:]
        last = float(tail[-1])
        decaying = ltail[-1] < ltail[0] or ltail[-1] == -np.inf  # p falls off outward here
        if last == 0.0 and decaying and ltail[-1] <= _NEGLIGIBLE_LOG:
            return total, rounding, 0.0, mass
        with np.errstate(all="ignore"):
            ratios = tail[1:] / tail[:-1]
        r_max = float(np.nanmax(ratios)) if np.any(np.isfinite(ratios)) else math.inf
        if decaying and r_max < 1.0:
            bound = last * r_max / (1 - r_max)
            if bound <= 1e-3 * max(rtol * abs(total0 + total), ATOL):
                return total, rounding, bound, mass
        k = stop + step
        size = min(2 * size, _BLOCK)
        if count > _MAX_TERMS:
            raise NumericFailure(
                f"the series has not converged after {count:,} terms (its tail decays too slowly, e.g. like a power of k, to bound)"
            )
    return total, rounding, 0.0, mass


def lattice_range(P):
    """(lo, hi, median) of p's standard variable on its lattice: integers, lo and hi possibly infinite."""
    jlo = math.ceil(P.lo) if math.isfinite(P.lo) else -math.inf
    jhi = math.floor(P.hi) if math.isfinite(P.hi) else math.inf
    try:
        m = float(P.ppf(0.5))
    except Exception:  # noqa: BLE001 - a user's law without a working ppf: start at an end
        m = math.nan
    if not math.isfinite(m):
        m = jlo if math.isfinite(jlo) else (jhi if math.isfinite(jhi) else 0.0)
    return jlo, jhi, int(min(max(math.floor(m), jlo), jhi))


def sum_lattice(terms, jlo, jhi, m, rtol, start_hi=None):
    """(sum, rounding, tail bound, masses) of terms(js) over the integers jlo..jhi: whole where few,
    else outward from m (up from ``start_hi`` + 1 if given, the block m..start_hi summed whole first)."""
    if math.isfinite(jlo) and math.isfinite(jhi) and jhi - jlo < _WHOLE:
        t, r, _, mass = terms(np.arange(jlo, jhi + 1, dtype=np.float64))
        return math.fsum(t.tolist()), float(np.sum(r)), 0.0, mass
    mid, r_mid, mass_mid, top = 0.0, 0.0, 0.0, m - 1
    if start_hi is not None and start_hi >= m:
        if start_hi - m > _MAX_TERMS:
            raise NumericFailure(f"the two laws' mass lies {start_hi - m:.3g} apart: too many terms to sum")
        t, r, _, mass_mid = terms(np.arange(m, start_hi + 1, dtype=np.float64))
        mid, r_mid, top = math.fsum(t.tolist()), float(np.sum(r)), start_hi
    up, r_up, b_up, m_up = (0.0, 0.0, 0.0, 0.0) if top >= jhi else _side(terms, top + 1, jhi, 1, rtol, mid)
    if m <= jlo:
        down, r_down, b_down, m_down = 0.0, 0.0, 0.0, 0.0
    else:
        down, r_down, b_down, m_down = _side(terms, m - 1, jlo, -1, rtol, mid + up)
    return mid + up + down, r_mid + r_up + r_down, b_up + b_down, mass_mid + m_up + m_down


@_guarded
def sum_kl(p, q, rtol, plo, phi):
    """(value, error bound) of D(p||q) for laws on a lattice (loc + the integers; an ``rv_discrete``: its outcomes)."""
    P, Q = _Law(p, True), _Law(q, True)
    d = P.loc - Q.loc  # q at p's point loc_p + j is q's standard point j + d
    if P.xk is None and Q.xk is None and d != math.floor(d):
        return math.inf, 0.0  # lattices loc_p + Z and loc_q + Z apart: every point of p is one q never takes
    terms = functools.partial(_lattice_terms, P, Q, d=d)
    jlo, jhi, m = lattice_range(P)
    try:
        if P.xk is not None:  # rv_discrete(values=...): its outcomes, whatever they are
            t, r, _, mass = terms(np.asarray(P.xk, dtype=np.float64))
            total = math.fsum(t.tolist())
            err = float(np.sum(r)) + 4 * _EPS * float(np.sum(np.abs(t)))
        else:
            total, rounding, bound, mass = sum_lattice(terms, jlo, jhi, m, rtol)
            err = bound + rounding + 4 * _EPS * abs(total)
    except _Infinite:
        return math.inf, 0.0
    if not (P.stable and Q.stable):
        err += _offsets(P, Q, mass) + (_noise(((P, 0.0), (Q, d)), m, jlo, jhi) if P.xk is None else 0.0)
    return _accept(total, err, rtol, "summation")
