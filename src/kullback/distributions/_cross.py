"""Cross-family closed forms through D(p||q) = -H(p) - E_p[log q(X)].

Each q family states which expectations under p its log-density needs;
each p family supplies the ones it has in closed form (``moments``).

Arranged against cancellation and overflow (issue 12, classes 2-4): expectations
that q evaluates at its own location c come centred there (``dmean(c)`` = E X - c,
``log_mgf(t, c)`` = log E e^{t (X - c)}), so that a narrow p far from q loses no
digits to loc_p - loc_q; squares are formed as (x / sqrt 2)^2 so that they overflow
only where the divergence itself does; the gamma entropy at large shape uses
Stirling's series instead of differencing lgamma and digamma.

References: moments, entropies and moment-generating functions from the
families' standard tables (N. L. Johnson, S. Kotz & N. Balakrishnan, "Continuous
Univariate Distributions", 2nd ed., Wiley 1994-95); Student t entropy from
A. C. G. Verdugo Lazo & P. N. Rathie, "On the entropy of continuous probability
distributions", IEEE Trans. Inf. Theory 24 (1978) 120-122, Table I:
H = (nu+1)/2 [psi((nu+1)/2) - psi(nu/2)] + log(sqrt(nu) B(nu/2, 1/2)) + log scale;
its absolute moment from the partial expectation int_a^inf x f(x) dx =
f(a) (nu + a^2)/(nu - 1) of the standard t density f (ibid., ch. 28);
continuous Bernoulli from G. Loaiza-Ganem & J. P. Cunningham, NeurIPS 2019.
"""

from __future__ import annotations

import math

import numpy as np

from ._autograd import analytic
from ._canonical import Dist
from ._ops import EULER, LOG_2PI, _lgamma_corr, _psi_tail, lbeta, psi1_diff, psi_diff
from ._same import _cb_parts, cb_atanh

SQRT_HALF = math.sqrt(0.5)

# ---------------------------------------------------------------- p's side: entropy, support, moments


class Moments:
    """What a family can say in closed form about E_p[f(X)]; absent entries are None.

    ``h0``, ``c_elog``, ``c_elog1m``: where set, the entropy as parts,
    H = h0 - c_elog E log X - c_elog1m E log(1 - X), each coefficient a pair (shape, const) standing
    for shape + const (const a small integer, so that differences of coefficients are exact);
    ``divergence`` combines them with q's coefficients symbolically (see there).
    """

    entropy = mean = std = elog = varlog = elog1m = lo = hi = elogfact = None
    h0 = c_elog = c_elog1m = None
    h0_const = 0.0  # with h0: H = h0 + h0_const - ..., h0_const exact

    def dmean(self, c):  # E X - c
        return None if self.mean is None else self.mean - c

    def eabs(self, c):  # E|X - c|
        return None

    def log_mgf(self, t, c=0.0):  # log E[exp(t (X - c))], t < 0
        return None

    def log_epow(self, c):  # log E[X^c], c > 0, for X >= 0
        return None


def _gamma_entropy(o, k, b, elog):
    """The gamma entropy k - log b + lgamma(k) + (1 - k) psi(k) as parts (h0, h0_const, (shape, const), H):
    H = h0 + h0_const - (shape + const) E log X, E log X = psi(k) - log b.

    k < 10: h0 = (k - 1) + lgamma(k) - k log b and h0_const = 1 (exact, see divergence), the coefficient k - 1, kept as (k, -1) so that a
    cross-entropy's -(k_q - 1) E log X combines with it as (k - k_q) E log X (at tiny k both are
    about -1/k; differenced after rounding they would leave no digits).  k >= 10: Stirling's series
    for lgamma and psi regrouped as log(2 pi k)/2 + 1/2 - 1/(2k) + corr(k) + (1 - k) tail(k) - log b
    (nothing of size k log k cancels), all of it in h0, coefficient 0."""
    big = k >= 10
    kb_ = o.where(big, k, 10.0)
    kd = o.where(big, 1.0, k)
    series = 0.5 * (LOG_2PI + o.log(kb_)) + 0.5 - 0.5 / kb_ + _lgamma_corr(o, kb_) + (1 - kb_) * _psi_tail(o, kb_) - o.log(b)
    direct = (kd - 1) + o.lgamma(kd) - kd * o.log(b)  # + 1, kept apart as h0_const (exact)
    h0 = o.where(big, series, direct)
    h0_const = o.where(big, 0.0, 1.0)
    coef = (o.where(big, 0.0, k), o.where(big, 0.0, -1.0))
    # H itself as the textbook sum, k + lgamma(k) + (1 - k) psi(k) - log b (for kb.entropy and CE - H)
    H = o.where(big, series, kd + o.lgamma(kd) + (1 - kd) * o.digamma(kd) - o.log(b))
    return h0, h0_const, coef, H


def _beta_entropy(o, a, b, elog, elog1m):
    """log B(a, b) - (a - 1) E log X - (b - 1) E log(1 - X) as parts (h0, c_elog, c_elog1m, H): h0 = log B(a, b),
    coefficients (a, -1), (b, -1) (see _gamma_entropy for why); where a, b >= 10 Stirling's series for
    lgamma and psi, regrouped so that the terms of size a log a cancel symbolically, all in h0 (coefficients 0):
    H = (log(a/s) + log(b/s) - log s + log(2 pi) + 1)/2 + corr(a) + corr(b) - corr(s)
        - 1/(2a) - 1/(2b) + 1/s - (a - 1) tail(a) - (b - 1) tail(b) + (s - 2) tail(s),  s = a + b."""
    big = (a >= 10) & (b >= 10)
    ab, bb = o.where(big, a, 10.0), o.where(big, b, 10.0)
    s = ab + bb
    series = 0.5 * (o.log(ab / s) + o.log(bb / s) - o.log(s) + LOG_2PI + 1)
    series = series + (_lgamma_corr(o, ab) + _lgamma_corr(o, bb) - _lgamma_corr(o, s))
    series = series - 0.5 / ab - 0.5 / bb + 1 / s - (ab - 1) * _psi_tail(o, ab) - (bb - 1) * _psi_tail(o, bb) + (s - 2) * _psi_tail(o, s)
    h0 = o.where(big, series, lbeta(o, a, b))
    ca = (o.where(big, 0.0, a), o.where(big, 0.0, -1.0))
    cb = (o.where(big, 0.0, b), o.where(big, 0.0, -1.0))
    return h0, ca, cb, h0 - _times(o, ca, elog) - _times(o, cb, elog1m)


def _times(o, c, x):
    """(shape + const) x for a coefficient pair c; 0 where the coefficient is None, or 0 with x infinite.

    Where the coefficient is 0 and x finite the product is formed all the same: its value is 0, but its
    derivative in the coefficient is x (Beta(1.5, 1): the b - 1 = 0 of the entropy's (b - 1) E log(1 - X)
    lost dH/db = E log(1 - X) when 0 was returned as a constant; torch gave dH/db = -1.04 for 0.25). Where x is
    infinite, only a zero coefficient may meet it (0 then, with no gradient through the infinite x)."""
    if c is None:
        return 0.0
    v = c[0] + c[1]
    if o.backend == "torch" and not isinstance(x, o.t.Tensor):
        x = o.t.as_tensor(x, dtype=o.dtype, device=o.device)
    fin = o.isfinite(x)
    finite = v * o.where(fin, x, 0.0)
    infinite = o.where(v == 0, 0.0, o.where(v == 0, 1.0, v) * x)
    return o.where(fin, finite, infinite)


def _exp_neg_ratio(o, x, s, cap=745.0):
    """e^(-x/s) for x >= 0, s > 0; exactly 0, and with a zero derivative, where x >= cap s (it underflows there):
    the quotient is formed on masked inputs, so that autograd meets no 0 * inf (Laplace at scale 1e-200:
    d/ds [s e^(-x/s)] = e^(-x/s) (1 + x/s) was NaN)."""
    small = x < cap * s
    return o.where(small, o.exp(-o.where(small, x, 0.0) / o.where(small, s, 1.0)), 0.0)


def _normal_eabs(o, d, s):
    """E|X - c| for X ~ N(mu, s), d = mu - c: s sqrt(2/pi) e^(-z^2/2) + d erf(z/sqrt 2), z = d/s; |d| where |z| >= 40
    (the first term is below e^-800 of s, erf is 1), with z formed on masked inputs: at s = 1e-200 the derivative
    in s was 0 * inf = NaN."""
    small = o.abs(d) < 40 * s
    ds, ss = o.where(small, d, 0.0), o.where(small, s, 1.0)
    z = ds / ss
    inner = ss * math.sqrt(2 / math.pi) * o.exp(-0.5 * z * z) + ds * o.erf(z * math.sqrt(0.5))
    return o.where(small, inner, o.abs(d))


def _normal_log_mgf(o, d, s, t):
    """log E e^(t (X - c)) = d t + (s t)^2 / 2 for X ~ N(mu, s), d = mu - c; where that is -inf + inf, the same as
    t (d + (s t) s / 2), one product that overflows to -inf (N(1.4e261, 6.9) || Gumbel(1, 2.1e-204): NaN for a D of
    6.4e464, now inf)."""
    with np.errstate(invalid="ignore"):
        a = d * t + 0.5 * (s * t) ** 2
        return o.where(o.isnan(a), t * (d + 0.5 * (s * t) * s), a)


def _erfcx(o, x):
    """The scaled complementary error function e^{x^2} erfc(x)."""
    return o.t.special.erfcx(x) if o.backend == "torch" else o.sc.erfcx(x)


def _loc_scale(o, m, mu, s, inf):
    m.lo, m.hi = -inf, inf
    m.dmean = lambda c: mu - c
    return m


def moments(o, d: Dist) -> Moments | None:
    f, P = d.family, d.params
    m = Moments()
    inf = math.inf
    if f == "normal":
        mu, s = P["loc"], P["scale"]
        m.entropy = 0.5 * (1 + LOG_2PI) + o.log(s)
        m.mean, m.std = mu, s
        _loc_scale(o, m, mu, s, inf)
        m.eabs = lambda c: _normal_eabs(o, mu - c, s)
        m.log_mgf = lambda t, c=0.0: _normal_log_mgf(o, mu - c, s, t)
    elif f == "exponential":
        lam = P["rate"]
        m.entropy = 1 - o.log(lam)
        m.mean, m.std, m.lo, m.hi = 1 / lam, 1 / lam, 0.0, inf
        m.elog = -EULER - o.log(lam)
        m.varlog = o.full_like(lam, math.pi**2 / 6)
        # E|X - c| = c - 1/lam + 2 e^{-lam c}/lam for c >= 0; 1/lam - c for c < 0
        m.eabs = lambda c: o.where(c >= 0, c - 1 / lam + 2 * o.exp(-lam * o.maximum(c, 0 * c)) / lam, 1 / lam - c)
        m.log_mgf = lambda t, c=0.0: -t * c - o.log1p(-t / lam)
        m.log_epow = lambda c: o.lgamma(1 + c) - c * o.log(lam)
    elif f == "gamma":
        k, b = P["concentration"], P["rate"]
        m.mean, m.std, m.lo, m.hi = k / b, o.sqrt(k) / b, 0.0, inf
        m.elog = o.digamma(k) - o.log(b)
        m.h0, m.h0_const, m.c_elog, m.entropy = _gamma_entropy(o, k, b, m.elog)
        m.varlog = o.trigamma(k)
        m.log_mgf = lambda t, c=0.0: -t * c - k * o.log1p(-t / b)
        # lgamma(k + c) - lgamma(k) = lgamma(c) - log B(c, k): no cancellation at large k
        m.log_epow = lambda c: o.lgamma(c) - lbeta(o, c + 0 * k, k) - c * o.log(b)
    elif f == "beta":
        a, b = P["a"], P["b"]
        m.elog = psi_diff(o, a, b)
        m.elog1m = psi_diff(o, b, a)
        m.h0, m.c_elog, m.c_elog1m, m.entropy = _beta_entropy(o, a, b, m.elog, m.elog1m)
        m.log_epow = lambda c: lbeta(o, a + c, b) - lbeta(o, a, b)
        # E X = a/(a + b), or 1 - b/(a + b) where b < a: the same value, but torch's derivative in a of a/(a + b),
        # 1/s - a/s^2, cancels where b << a (Beta(1.2e10, 1): 3e-6 of b/s^2 lost, dD/da 1e-7 off against a gamma)
        m.mean, m.lo, m.hi = o.where(a <= b, a / (a + b), 1 - b / (a + b)), 0.0, 1.0
        m.dmean = lambda c: 0.5 * (a - b) / (a + b) if isinstance(c, float) and c == 0.5 else a / (a + b) - c  # E X - 1/2 exactly
        m.std = o.sqrt(a / (a + b)) * o.sqrt(b / (a + b)) / o.sqrt(a + b + 1)  # ab overflows before the variance does
        m.varlog = psi1_diff(o, a, b)  # trigamma(a) - trigamma(a + b) without inf - inf or cancellation
    elif f == "uniform":
        _uniform(o, m, P["low"], P["high"], P.get("width"))
    elif f == "laplace":
        mu, b = P["loc"], P["scale"]
        m.entropy = 1 + math.log(2) + o.log(b)
        m.mean, m.std = mu, math.sqrt(2) * b
        _loc_scale(o, m, mu, b, inf)
        m.eabs = lambda c: o.abs(mu - c) + b * _exp_neg_ratio(o, o.abs(mu - c), b)
        m.log_mgf = lambda t, c=0.0: o.where(o.abs(t) * b < 1, (mu - c) * t - o.log1p(-((b * t) ** 2)), inf)
    elif f == "gumbel":
        mu, s = P["loc"], P["scale"]
        m.entropy = o.log(s) + EULER + 1
        m.mean, m.std, m.lo, m.hi = mu + EULER * s, math.pi / math.sqrt(6) * s, -inf, inf
        m.dmean = lambda c: (mu - c) + EULER * s
        # log E e^{tX} = mu t + lgamma(1 - s t) for s t < 1, +inf beyond
        m.log_mgf = lambda t, c=0.0: o.where(s * t < 1, (mu - c) * t + o.lgamma(o.where(s * t < 1, 1 - s * t, 1.0)), inf)
    elif f == "halfnormal":
        s = P["scale"]
        m.entropy = 0.5 * math.log(math.pi / 2) + 0.5 + o.log(s)
        m.mean, m.std, m.lo, m.hi = s * math.sqrt(2 / math.pi), s * math.sqrt(1 - 2 / math.pi), 0.0, inf
        m.elog = o.log(s) - 0.5 * (EULER + math.log(2))
        m.varlog = o.full_like(s, math.pi**2 / 8)
        # log E e^{tX} = log(2 e^{(st)^2/2} Phi(st)) = log erfcx(-st/sqrt 2): no inf - inf at large |st|
        m.log_mgf = lambda t, c=0.0: -t * c + o.log(_erfcx(o, -(s * t) * SQRT_HALF))
        m.log_epow = lambda c: c * o.log(s) + c / 2 * math.log(2) + o.lgamma((c + 1) / 2) - 0.5 * math.log(math.pi)
    elif f == "lognormal":
        mu, sg = P["mu"], P["sigma"]
        m.entropy = mu + 0.5 * (1 + LOG_2PI) + o.log(sg)
        m.mean, m.lo, m.hi = o.exp(mu + sg * sg / 2), 0.0, inf
        m.std = o.exp(mu + sg * sg / 2) * o.sqrt(o.expm1(sg * sg))
        m.elog, m.varlog = mu, sg * sg
        m.log_epow = lambda c: c * mu + (c * sg) ** 2 / 2
    elif f == "pareto":
        xm, a = P["scale"], P["alpha"]
        m.entropy = o.log(xm) - o.log(a) + 1 / a + 1
        m.mean = o.where(a > 1, xm * (a / o.where(a > 1, a - 1, 1.0)), inf)  # a xm overflows before the mean does
        m.std = o.where(a > 2, xm / o.where(a > 1, a - 1, 1.0) * o.sqrt(a / o.where(a > 2, a - 2, 1.0)), inf)
        m.lo, m.hi = xm, inf
        m.elog = o.log(xm) + 1 / a
        m.varlog = 1 / (a * a)
        m.log_epow = lambda c: o.where(a > c, o.log(a) + c * o.log(xm) - o.log(o.where(a > c, a - c, 1.0)), inf)
    elif f == "weibull":
        k, lam = P["concentration"], P["scale"]
        m.entropy = EULER * (1 - 1 / k) + o.log(lam) - o.log(k) + 1
        lg1 = o.lgamma(1 + 1 / k)
        m.mean, m.lo, m.hi = lam * o.exp(lg1), 0.0, inf
        m.std = lam * o.exp(lg1) * o.sqrt(o.expm1(o.lgamma(1 + 2 / k) - 2 * lg1))  # no cancellation at large k
        m.elog = o.log(lam) - EULER / k
        m.varlog = math.pi**2 / 6 / (k * k)
        m.log_epow = lambda c: c * o.log(lam) + o.lgamma(1 + c / k)
    elif f == "cauchy":
        mu, g = P["loc"], P["scale"]
        m.entropy = math.log(4 * math.pi) + o.log(g)
        m.mean, m.std = mu, o.full_like(g, inf)  # no moments: cross-entropies diverge
        _loc_scale(o, m, mu, g, inf)
        m.eabs = lambda c: o.full_like(g, inf)
        m.log_mgf = lambda t, c=0.0: o.full_like(g, inf)
    elif f == "studentt":
        _studentt(o, m, P["df"], P["loc"], P["scale"])
    elif f == "cbernoulli":
        lam = P["lam"]
        _, mean, var, f, lr, at = _cb_parts(o, lam)
        m.mean, m.std, m.lo, m.hi = mean, o.sqrt(var), 0.0, 1.0
        # E X - 1/2 = f/2 as computed, not mean - 1/2 (which keeps none of f's digits near lam = 1/2)
        m.dmean = lambda c: f / 2 if isinstance(c, float) and c == 0.5 else mean - c
        # H = CE(p, p) = -log(atanh(u)/u) - log1p(-u^2)/2 + f atanh(u) (``_ce_cbernoulli``): three terms of size u^2
        # near lam = 1/2 (H ~ -u^2/6), where -log C - mean log lam - (1 - mean) log(1 - lam) differences terms of
        # size 1 (3.3e-5 off at 1/2 + 1e-5, exactly 0 at 1/2 + 1e-9)
        m.entropy = -lr - 0.5 * _log1m_u2(o, lam) + f * at
    elif f == "bernoulli":
        pp = P["p"]
        m.entropy = _bernoulli_entropy(o, pp)
        m.mean, m.std = pp, o.sqrt(pp * (1 - pp))
        m.lo, m.hi = o.where(pp == 1, 1.0, 0.0), o.where(pp == 0, 0.0, 1.0)  # p = 0 or 1: a point mass
        m.elogfact = 0 * pp  # log 0! = log 1! = 0
    elif f == "geometric":
        pp, s = P["p"], P["start"]
        m.entropy = _geometric_entropy(o, pp)
        m.mean, m.std, m.lo, m.hi = s + (1 - pp) / pp, o.sqrt(1 - pp) / pp, s, o.where(pp == 1, s, inf)
        m.dmean = lambda c: (s - c) + (1 - pp) / pp
    elif f in ("poisson", "binomial"):
        if f == "poisson":
            r = P["rate"]
            m.mean, m.lo, m.hi = r, 0.0, o.where(r == 0, 0.0, inf)
        else:
            n, pp = P["n"], P["p"]
            m.mean, m.lo, m.hi = n * pp, o.where(pp == 1, n, 0.0), o.where(pp == 0, 0.0, n)
    else:
        return None
    return m


_BIG = 1.7976931348623157e308  # a one-sided infinite derivative, as a finite number (see _bounded)


def _bounded(o, g):
    """g with +-inf as +-the largest float: the chain rule through a map whose own derivative is 0 there (probs =
    sigmoid(logits) at p = 0) then gives 0, not 0 * inf = NaN."""
    return o.where(g > _BIG, _BIG, o.where(g < -_BIG, -_BIG, g))


def _bernoulli_entropy(o, p):
    """-p log p - (1 - p) log(1 - p) as -a log a - (1 - a) log1p(-a), a = min(p, 1 - p) (1 - p is exact from 1/2 up):
    xlogy(1 - p, 1 - p) rounded 1 - p to 1 at p = 1e-20 and lost its p (2.1% off); torch gradients from
    dH/dp = log((1 - p)/p) (autograd through xlogy gave NaN at p = 0 and 1)."""
    return analytic(o, _bernoulli_h, _bernoulli_dh, p)


def _bernoulli_h(o, p):
    a = o.minimum(p, 1 - p)
    pos = a > 0
    s = o.where(pos, a, 0.5)
    return o.where(pos, -s * o.log(s) - (1 - s) * o.log1p(-s), 0.0)


def _bernoulli_dh(o, p):
    """log((1 - p)/p): log1p(-p) - log p below 1/4 (no cancellation there), -2 atanh(2p - 1) above (2p - 1 exact)."""
    low = p < 0.25
    pl, ph = o.where(low, p, 0.25), o.where(low, 0.5, p)
    with np.errstate(divide="ignore"):
        return (_bounded(o, o.where(low, o.log1p(-pl) - o.log(pl), -2 * o.arctanh(2 * ph - 1))),)


def _geometric_entropy(o, p):
    """The Bernoulli entropy over p, as -log p + (1 - p) (-log1p(-p)/p): two terms >= 0 (the quotient tends to 1 at
    small p; the product with 1/p of xlogy(1 - p, 1 - p) lost it: 46.05 for 47.05 at p = 1e-20), 0 at p = 1; torch
    gradients from dH/dp = log1p(-p)/p^2."""
    return analytic(o, _geometric_h, _geometric_dh, p)


def _geometric_h(o, p):
    one = p == 1
    s = o.where(one, 0.5, p)
    return o.where(one, 0.0, -o.log(s) - (1 - s) * (o.log1p(-s) / s))


def _geometric_dh(o, p):
    one = p == 1
    s = o.where(one, 0.5, p)
    with np.errstate(over="ignore"):
        return (_bounded(o, o.where(one, -math.inf, (o.log1p(-s) / s) / s)),)


def _log_ratio(o, a, b):
    """log(a/b) for 0 < a < b: log1p(-(b - a)/b) from b/2 up, where the difference of the two logs loses
    digits (4e-9 of it on an interval 9e-9 wide at 1.16), log a - log b below (there (b - a)/b rounds to 1
    at a = 1e-300)."""
    upper = a >= 0.5 * b
    return o.where(upper, o.log1p(-o.where(upper, b - a, 0.0) / b), o.log(a) - o.log(b))


def _elog_uniform(o, a, b, at0, log_ratio):
    """E log Y for Y ~ U(a, b), 0 <= a < b: (b log b - a log a)/(b - a) - 1 = log b - 1 - (a/w) log(a/b), w = b - a,
    with ``at0`` = (a == 0) and ``log_ratio`` = :func:`_log_ratio` at a (any positive stand-in where a = 0).

    The first form loses the digits of b log b / w (U(8.3844030356366, 8.3844030356426): E log X off by 1e-4, and
    with it dD/dalpha against a Pareto); the second is exact to rounding (its -1 + (a/w) (w/b + ...) cancels to
    within eps of E log Y, not of b log b / w). At a = 0 it is log b - 1, formed without 0 * log 0."""
    a_ = o.where(at0, 0.5 * b, a)
    return o.log(b) - 1 + o.where(at0, 0.0, -(a_ / (b - a_)) * log_ratio)


def _elog_interval(o, a, b):
    """E log Y for Y ~ U(a, b), 0 <= a < b (:func:`_elog_uniform` with its own log(a/b))."""
    at0 = a == 0
    return _elog_uniform(o, a, b, at0, _log_ratio(o, o.where(at0, 0.5 * b, a), b))


def _uniform(o, m, lo, hi, width=None):
    """Moments of the uniform law on [lo, hi] (of width ``width`` where given: scipy's scale)."""
    w = hi - lo if width is None else width
    m.entropy = o.log(w)
    m.mean, m.std, m.lo, m.hi = lo + w / 2, w / math.sqrt(12), lo, hi
    m.dmean = lambda c: 0.5 * ((lo - c) + (hi - c))
    # for 0 <= lo: E log X = (hi log hi - lo log lo)/w - 1 (where lo < 0 the support check decides first)
    pos_lo = o.maximum(lo, 0 * lo)
    # log(lo/hi), shared by E log X and E X^c (0 at lo = 0 stands in: those terms are masked there)
    at0 = pos_lo == 0
    log_ratio = _log_ratio(o, o.where(at0, 0.5 * hi, pos_lo), hi)
    m.elog = _elog_uniform(o, pos_lo, hi, at0, log_ratio)
    one_m_hi = o.maximum(1 - hi, 0 * hi)
    m.elog1m = _elog_interval(o, one_m_hi, 1 - lo)

    def eabs(c):
        # E|X - c| = ((hi - c)^2 + (c - lo)^2) / (2w) inside [lo, hi], |E X - c| outside; each square divided by w
        # before it is formed ((hi - c)/w <= 1): no overflow. The branches are chosen by where, not by clipping c:
        # at c = lo the clip's tied min/max and abs'(0) = 0 gave torch the derivative 0 in lo for 1/2 (U(-1, 0) ||
        # Laplace(-1, 9.1): dD/dlo 1.0 for 1.055); both branches have the same value and slope there
        ci = o.maximum(o.minimum(c, hi), lo)  # inside only (no overflow in the branch where does not take)
        inside = 0.5 * ((hi - ci) * ((hi - ci) / w) + (ci - lo) * ((ci - lo) / w))
        return o.where(c <= lo, m.dmean(c), o.where(c >= hi, -m.dmean(c), inside))

    m.eabs = eabs
    # E X^c = (hi^(c+1) - lo^(c+1)) / ((c+1) w) for 0 <= lo (where lo < 0 the support check decides first);
    # log(1 - (lo/hi)^(c+1)) is exactly 0 at lo = 0, formed without log 0: its derivative in c was 0 * -inf = NaN
    # (torch: U(0, 0.1) || Weibull(0.1, 0.05) gave a NaN gradient in the concentration for -19.9); log(lo/hi) as
    # _log_ratio (the difference of the two logs made dD/dscale against a Weibull 16% off on a narrow uniform)

    def log_epow(c):
        tail = o.where(at0, 0.0, o.log(-o.expm1((c + 1) * log_ratio)))
        return (c + 1) * o.log(hi) + tail - o.log(c + 1) - o.log(w)

    m.log_epow = log_epow
    # log E e^{t(X - c)} = t (lo - c) + log(expm1(t w) / (t w)); expm1(u)/u > 0 for every u != 0
    m.log_mgf = lambda t, c=0.0: o.where(t * w == 0, t * m.dmean(c), t * (lo - c) + o.log(o.expm1(t * w) / (t * w)))


def _studentt(o, m, nu, mu, s):
    """Moments of Student's t (df nu, location mu, scale s); infinite where they diverge (see module refs)."""
    inf = math.inf
    # H = -(nu+1)/2 psi_diff(nu/2, 1/2) + log(nu)/2 + log B(nu/2, 1/2) + log s   [Lazo & Rathie 1978]
    m.entropy = -0.5 * (nu + 1) * psi_diff(o, nu / 2, 0.5 + 0 * nu) + 0.5 * o.log(nu) + lbeta(o, nu / 2, 0.5 + 0 * nu) + o.log(s)
    m.mean = mu  # the centre; where nu <= 1 the infinite std / E|X - c| / mgf below make every cross-entropy +inf
    _loc_scale(o, m, mu, s, inf)
    m.std = o.where(nu > 2, s * o.sqrt(nu / o.where(nu > 2, nu - 2, 1.0)), inf)
    m.log_mgf = lambda t, c=0.0: o.full_like(nu * s, inf)  # polynomial tails: E e^{tX} = inf for t != 0
    if o.backend != "numpy":
        return  # E|X - c| needs the t distribution function (scipy.special.stdtr); torch has none
    sc = o.sc

    def eabs(c):
        # E|X - c| = s [|a| (1 - 2 sf(|a|)) + 2 (nu + a^2) f(a) / (nu - 1)], a = (c - mu)/s, nu > 1, with
        # (nu + a^2) f(a) = nu exp(-log B(nu/2, 1/2) - log(nu)/2 - (nu - 1)/2 log1p(a^2/nu))
        a = o.abs(c - mu) / s
        big = a > 1e100
        l1p = o.where(big, 2 * o.log(o.where(big, a, 1.0)) - o.log(nu), o.log1p(o.where(big, 0.0, a) ** 2 / nu))
        nu1 = o.where(nu > 1, nu, 2.0)
        tail = 2 * nu1 * o.exp(-lbeta(o, nu1 / 2, 0.5 + 0 * nu1) - 0.5 * o.log(nu1) - 0.5 * (nu1 - 1) * l1p) / (nu1 - 1)
        val = o.abs(c - mu) * (1 - 2 * sc.stdtr(nu1, -a)) + s * tail  # |c - mu|, not s a: a may overflow
        return o.where(nu > 1, val, inf)

    m.eabs = eabs


# ---------------------------------------------------------------- q's side: -E_p[log q(X)] from p's moments


def _need(*xs):
    return all(x is not None for x in xs)


def _half_sq(x):
    """x^2 / 2, formed as (x / sqrt 2)^2: overflows only where the result does."""
    y = x * SQRT_HALF
    return y * y


def _log_atanh_ratio(o, u, at):
    """log(atanh(u)/u) >= 0 for |u| < 1, given at = atanh(u) (from lam, not from the rounded u): the series
    u^2/3 + 13 u^4/90 + ... where |u| < 0.02 (the coefficients of _cb_parts' log C - log 2), else log(at/u)."""
    small = o.abs(u) < 0.02
    us = o.where(small, u, 0.0)
    u2 = us * us
    series = u2 * (1 / 3 + u2 * (0.14444444444444444 + u2 * (0.088536155202821869 + u2 * 0.062627865961199295)))
    direct = o.log(o.where(small, 1.0, at) / o.where(small, 1.0, u))
    return o.where(small, series, direct)


def _ce_cbernoulli(o, m, lam):
    # -log q(x) = -log C - x log lam - (1 - x) log(1 - lam); with u = 1 - 2 lam, C = 2 atanh(u)/u,
    # 1 - lam = (1 + u)/2 and log(lam/(1 - lam)) = -2 atanh(u):
    # CE = -log(atanh(u)/u) - log1p(-u^2)/2 + 2 (E X - 1/2) atanh(u)  (exact 0 for uniform(0, 1) against lam = 1/2)
    u = 1 - 2 * lam
    at = cb_atanh(o, lam)  # atanh(u), accurate near lam = 0, 1/2 and 1
    return -_log_atanh_ratio(o, u, at) - 0.5 * _log1m_u2(o, lam) + 2 * m.dmean(0.5) * at


def _log1m_u2(o, lam):
    """log(1 - u^2) = log(4 lam (1 - lam)), u = 1 - 2 lam: log1p(-u^2) where |u| < 1/2, else from the logs of lam and 1 - lam."""
    u = 1 - 2 * lam
    mid = o.abs(u) < 0.5
    return o.where(mid, o.log1p(-(o.where(mid, u, 0.0) ** 2)), math.log(4) + o.log(lam) + o.log1p(-lam))


def cross_entropy(o, m: Moments, q: Dist):
    """-E_p[log q(X)] from p's moments, or None where p lacks what q's log-density needs."""
    parts = _ce_parts(o, m, q)
    if parts is None:
        return None
    rest, ca, cb, const = parts
    return (rest + const) - _times(o, ca, m.elog) - _times(o, cb, m.elog1m)


def divergence(o, m: Moments, q: Dist):
    """D(p||q) = E_p[-log q] - H(p) with the multiples of E log X and E log(1 - X) combined before they
    are multiplied out, or None where p lacks what q needs.

    Returns (D, scale): scale bounds the magnitudes summed (for the caller's rounding-level clamp).
    H = h0 - c_p E log X - c'_p E log(1 - X) (Moments) and E_p[-log q] = rest - c_q E log X - c'_q E log(1 - X)
    (_ce_parts) give D = (rest - h0) + (c_p - c_q) E log X + (c'_p - c'_q) E log(1 - X), each coefficient
    difference formed as (shape_p - shape_q) + (const_p - const_q): for beta(a) || weibull(k) at tiny shapes,
    (a - 1) - (k - 1) = a - k exactly, where the rounded a - 1 and k - 1 would both be -1.  Likewise rest
    and h0 each set apart an exact constant (const, h0_const), differenced exactly before the rest is added:
    near gamma(1) = weibull(1) both are about 1 and D about 1e-13, which their rounding would swamp.
    """
    parts = _ce_parts(o, m, q)
    if parts is None or m.entropy is None:
        return None
    rest, ca, cb, const = parts
    if m.h0 is None:
        ce = (rest + const) - _times(o, ca, m.elog) - _times(o, cb, m.elog1m)
        return ce - m.entropy, o.abs(ce) + o.abs(m.entropy)
    # the exact constants (E_p[(X/lam)^k] = 1 + expm1(.) against the gamma entropy's k = 1 + (k - 1)) first
    total = (rest - m.h0) + (const - m.h0_const)
    scale = o.abs(rest) + o.abs(m.h0) + o.abs(const + 0 * rest) + o.abs(m.h0_const + 0 * rest)
    for cp, cq, x in ((m.c_elog, ca, m.elog), (m.c_elog1m, cb, m.elog1m)):
        if cp is None and cq is None:
            continue
        cp = cp if cp is not None else (0.0, 0.0)
        cq = cq if cq is not None else (0.0, 0.0)
        term = _times(o, ((cp[0] - cq[0]), (cp[1] - cq[1])), x)
        total, scale = total + term, scale + o.abs(term)
    return total, scale


def _ce_parts(o, m: Moments, q: Dist):
    """E_p[-log q(X)] as (rest, c_elog, c_elog1m, const): rest + const - c_elog E log X - c_elog1m E log(1 - X),
    the coefficients (shape, const) pairs as in Moments (None: no such term), const an exact small number;
    None where p lacks what q needs."""
    ce = _ce_rest(o, m, q)
    if ce is None:
        return None
    ce = ce if isinstance(ce, tuple) else (ce, None, None)
    return ce if len(ce) == 4 else (*ce, 0.0)


def _ce_rest(o, m: Moments, q: Dist):
    """E_p[-log q(X)] (or its parts, see _ce_parts) for one q family."""
    f, Q = q.family, q.params
    if f in ("normal", "halfnormal"):
        # 0.5 log(2 pi s^2) + E (X - mu)^2 / (2 s^2)   (half-normal: mu = 0 and twice the density)
        mu = Q["loc"] if f == "normal" else 0.0
        dm = m.dmean(mu)
        if not _need(dm, m.std):
            return None
        s = Q["scale"]
        const = 0.5 * LOG_2PI if f == "normal" else 0.5 * math.log(math.pi / 2)
        return const + o.log(s) + _half_sq(m.std / s) + _half_sq(dm / s)
    if f == "exponential":
        if m.mean is None:
            return None
        lam = Q["rate"]
        return -o.log(lam) + lam * m.mean
    if f == "gamma":
        if not _need(m.mean, m.elog):
            return None
        k, b = Q["concentration"], Q["rate"]
        return -k * o.log(b) + o.lgamma(k) + b * m.mean, (k, -1.0), None
    if f == "beta":
        if not _need(m.elog, m.elog1m):
            return None
        a, b = Q["a"], Q["b"]
        return lbeta(o, a, b), (a, -1.0), (b, -1.0)
    if f == "uniform":
        return o.log(Q["width"] if "width" in Q else Q["high"] - Q["low"])
    if f == "laplace":
        e = m.eabs(Q["loc"])
        if e is None:
            return None
        return math.log(2) + o.log(Q["scale"]) + e / Q["scale"]
    if f == "gumbel":
        mu, s = Q["loc"], Q["scale"]
        # log q = -log s - z - exp(-z), z = (x - mu)/s;  E exp(-z) = E exp(-(X - mu)/s), centred at mu
        lm = m.log_mgf(-1 / s, mu)
        dm = m.dmean(mu)
        if not _need(dm, lm):
            return None
        e = o.exp(lm)
        # z + e^{-z} >= 1 pointwise, so E e^{-z} = inf makes the cross-entropy +inf (never -inf + inf from dm/s)
        return o.where(e == math.inf, math.inf, o.log(s) + dm / s + e)
    if f == "pareto":
        if m.elog is None:
            return None
        xm, a = Q["scale"], Q["alpha"]
        return -o.log(a) - a * o.log(xm), (-a, -1.0), None
    if f == "lognormal":
        if not _need(m.elog, m.varlog):
            return None
        mu, sg = Q["mu"], Q["sigma"]
        return 0.5 * LOG_2PI + o.log(sg) + (0.5 * m.varlog + _half_sq(m.elog - mu)) / (sg * sg), (0 * sg, -1.0), None
    if f == "cbernoulli":
        if m.mean is None:
            return None
        return _ce_cbernoulli(o, m, Q["lam"])
    if f == "weibull":
        k, lam = Q["concentration"], Q["scale"]
        lep = m.log_epow(k)
        if not _need(m.elog, lep):
            return None
        # -log q = -log k + k log lam - (k - 1) log x + (x/lam)^k
        return -o.log(k) + k * o.log(lam) + o.expm1(lep - k * o.log(lam)), (k, -1.0), None, 1.0  # e^L = 1 + expm1(L)
    if f == "poisson":
        if m.elogfact is None:
            return None
        lam = Q["rate"]
        return lam - o.xlogy(m.mean, lam) + m.elogfact
    if f == "geometric":
        if m.mean is None:
            return None
        pq, s = Q["p"], Q["start"]
        return -o.log(pq) - o.xlogy(m.dmean(s), 1 - pq)  # xlogy: p's mass all at the start against pq = 1 gives 0
    return None


def _support(q: Dist, o):
    f, Q = q.family, q.params
    inf = math.inf
    table = {
        "normal": (-inf, inf), "laplace": (-inf, inf), "gumbel": (-inf, inf), "cauchy": (-inf, inf), "studentt": (-inf, inf),
        "exponential": (0.0, inf), "gamma": (0.0, inf), "halfnormal": (0.0, inf), "lognormal": (0.0, inf), "weibull": (0.0, inf), "cbernoulli": (0.0, 1.0),
        "beta": (0.0, 1.0), "bernoulli": (0.0, 1.0),
    }  # fmt: skip
    if f in table:
        return table[f]
    if f == "uniform":
        return Q["low"], Q["high"]
    if f == "pareto":
        return Q["scale"], inf
    if f == "geometric":
        return Q["start"], o.where(Q["p"] == 1, Q["start"], inf)
    if f == "poisson":
        return 0.0, o.where(Q["rate"] == 0, 0.0, inf)
    if f == "binomial":
        return 0.0, Q["n"]
    return None
