"""Cross-family closed forms through D(p||q) = -H(p) - E_p[log q(X)].

Each q family states which expectations under p its log-density needs;
each p family supplies the ones it has in closed form (``moments``).
"""

from __future__ import annotations

import math

from ._canonical import Dist
from ._ops import EULER, LOG_2PI, lbeta, psi_diff
from ._same import _cb_parts

# ---------------------------------------------------------------- p's side: entropy, support, moments


class Moments:
    """What a family can say in closed form about E_p[f(X)]; absent entries are None."""

    entropy = mean = std = elog = varlog = elog1m = lo = hi = None

    def eabs(self, c):  # E|X - c|
        return None

    def log_mgf(self, t):  # log E[exp(t X)], t < 0
        return None

    def log_epow(self, c):  # log E[X^c], c > 0, for X >= 0
        return None


def moments(o, d: Dist) -> Moments | None:
    f, P = d.family, d.params
    m = Moments()
    inf = math.inf
    if f == "normal":
        mu, s = P["loc"], P["scale"]
        m.entropy = 0.5 * (1 + LOG_2PI) + o.log(s)
        m.mean, m.std, m.lo, m.hi = mu, s, -inf, inf
        m.eabs = lambda c: s * math.sqrt(2 / math.pi) * o.exp(-0.5 * ((mu - c) / s) ** 2) + (mu - c) * o.erf((mu - c) / (s * math.sqrt(2)))
        m.log_mgf = lambda t: mu * t + 0.5 * (s * t) ** 2
    elif f == "exponential":
        lam = P["rate"]
        m.entropy = 1 - o.log(lam)
        m.mean, m.std, m.lo, m.hi = 1 / lam, 1 / lam, 0.0, inf
        m.elog = -EULER - o.log(lam)
        m.varlog = o.full_like(lam, math.pi**2 / 6)
        # E|X - c| = c - 1/lam + 2 e^{-lam c}/lam for c >= 0; 1/lam - c for c < 0
        m.eabs = lambda c: o.where(c >= 0, c - 1 / lam + 2 * o.exp(-lam * o.maximum(c, 0 * c)) / lam, 1 / lam - c)
        m.log_mgf = lambda t: o.log(lam) - o.log(lam - t)
        m.log_epow = lambda c: o.lgamma(1 + c) - c * o.log(lam)
    elif f == "gamma":
        k, b = P["concentration"], P["rate"]
        m.entropy = k - o.log(b) + o.lgamma(k) + (1 - k) * o.digamma(k)
        m.mean, m.std, m.lo, m.hi = k / b, o.sqrt(k) / b, 0.0, inf
        m.elog = o.digamma(k) - o.log(b)
        m.varlog = o.trigamma(k)
        m.log_mgf = lambda t: -k * o.log1p(-t / b)
        m.log_epow = lambda c: o.lgamma(k + c) - o.lgamma(k) - c * o.log(b)
    elif f == "beta":
        a, b = P["a"], P["b"]
        m.elog = psi_diff(o, a, b)
        m.elog1m = psi_diff(o, b, a)
        m.entropy = lbeta(o, a, b) - (a - 1) * m.elog - (b - 1) * m.elog1m
        m.log_epow = lambda c: lbeta(o, a + c, b) - lbeta(o, a, b)
        m.mean, m.lo, m.hi = a / (a + b), 0.0, 1.0
        m.std = o.sqrt(a * b / (a + b + 1)) / (a + b)
        m.varlog = o.trigamma(a) - o.trigamma(a + b)
    elif f == "uniform":
        lo, hi = P["low"], P["high"]
        w = hi - lo
        m.entropy = o.log(w)
        m.mean, m.std, m.lo, m.hi = (lo + hi) / 2, w / math.sqrt(12), lo, hi
        # for 0 <= lo: E log X = (hi log hi - lo log lo)/w - 1 (where lo < 0 the support check decides first)
        pos_lo = o.maximum(lo, 0 * lo)
        m.elog = (o.xlogy(hi, hi) - o.xlogy(pos_lo, pos_lo)) / w - 1
        one_m_hi = o.maximum(1 - hi, 0 * hi)
        m.elog1m = (o.xlogy(1 - lo, 1 - lo) - o.xlogy(one_m_hi, one_m_hi)) / w - 1

        def eabs(c):
            # E|X - c| = ((hi - a)^2 + (a - lo)^2) / (2w) + |c - a|, a = c clipped to [lo, hi]
            a_ = o.maximum(o.minimum(c, hi), lo)
            return ((hi - a_) ** 2 + (a_ - lo) ** 2) / (2 * w) + o.abs(c - a_)

        m.eabs = eabs
        # E X^c = (hi^(c+1) - lo^(c+1)) / ((c+1) w) for 0 <= lo (where lo < 0 the support check decides first)
        m.log_epow = lambda c: (c + 1) * o.log(hi) + o.log(-o.expm1((c + 1) * (o.log(pos_lo) - o.log(hi)))) - o.log(c + 1) - o.log(w)
        # log E e^{tX} = t lo + log(expm1(t w) / (t w)); expm1(u)/u > 0 for every u != 0
        m.log_mgf = lambda t: o.where(t * w == 0, t * (lo + hi) / 2, t * lo + o.log(o.expm1(t * w) / (t * w)))
    elif f == "laplace":
        mu, b = P["loc"], P["scale"]
        m.entropy = 1 + math.log(2) + o.log(b)
        m.mean, m.std, m.lo, m.hi = mu, math.sqrt(2) * b, -inf, inf
        m.eabs = lambda c: o.abs(mu - c) + b * o.exp(-o.abs(mu - c) / b)
        m.log_mgf = lambda t: o.where(o.abs(t) * b < 1, mu * t - o.log1p(-((b * t) ** 2)), inf)
    elif f == "gumbel":
        mu, s = P["loc"], P["scale"]
        m.entropy = o.log(s) + EULER + 1
        m.mean, m.std, m.lo, m.hi = mu + EULER * s, math.pi / math.sqrt(6) * s, -inf, inf
        m.log_mgf = lambda t: mu * t + o.lgamma(1 - s * t)
    elif f == "halfnormal":
        s = P["scale"]
        m.entropy = 0.5 * math.log(math.pi / 2) + 0.5 + o.log(s)
        m.mean, m.std, m.lo, m.hi = s * math.sqrt(2 / math.pi), s * math.sqrt(1 - 2 / math.pi), 0.0, inf
        m.elog = o.log(s) - 0.5 * (EULER + math.log(2))
        m.varlog = o.full_like(s, math.pi**2 / 8)
        m.log_mgf = lambda t: math.log(2) + 0.5 * (s * t) ** 2 + o.log_ndtr(s * t)
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
        m.mean = o.where(a > 1, a * xm / o.where(a > 1, a - 1, 1.0), inf)
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
        m.mean, m.std, m.lo, m.hi = mu, o.full_like(g, inf), -inf, inf  # no moments: cross-entropies diverge
        m.eabs = lambda c: o.full_like(g, inf)
        m.log_mgf = lambda t: o.full_like(g, inf)
    elif f == "cbernoulli":
        lam = P["lam"]
        log_c, mean, var = _cb_parts(o, lam)
        m.entropy = -log_c - mean * o.log(lam) - (1 - mean) * o.log1p(-lam)
        m.mean, m.std, m.lo, m.hi = mean, o.sqrt(var), 0.0, 1.0
    elif f == "bernoulli":
        pp = P["p"]
        m.entropy = -o.xlogy(pp, pp) - o.xlogy(1 - pp, 1 - pp)
        m.mean, m.std, m.lo, m.hi = pp, o.sqrt(pp * (1 - pp)), 0.0, 1.0
        m.elogfact = 0 * pp  # log 0! = log 1! = 0
    elif f == "geometric":
        pp, s = P["p"], P["start"]
        m.entropy = (-o.xlogy(1 - pp, 1 - pp) - o.xlogy(pp, pp)) / pp
        m.mean, m.std, m.lo, m.hi = s + (1 - pp) / pp, o.sqrt(1 - pp) / pp, s, inf
    elif f in ("poisson", "binomial"):
        if f == "poisson":
            m.mean, m.lo, m.hi = P["rate"], 0.0, inf
        else:
            m.mean, m.lo, m.hi = P["n"] * P["p"], 0.0, P["n"]
    else:
        return None
    return m


# ---------------------------------------------------------------- q's side: -E_p[log q(X)] from p's moments


def _need(*xs):
    return all(x is not None for x in xs)


def cross_entropy(o, m: Moments, q: Dist):
    """-E_p[log q(X)] from p's moments, or None where p lacks what q's log-density needs."""
    f, Q = q.family, q.params
    if f == "normal":
        if not _need(m.mean, m.std):
            return None
        mu, s = Q["loc"], Q["scale"]
        return 0.5 * LOG_2PI + o.log(s) + 0.5 * ((m.std / s) ** 2 + ((m.mean - mu) / s) ** 2)
    if f == "halfnormal":
        if not _need(m.mean, m.std):
            return None
        s = Q["scale"]
        return 0.5 * math.log(math.pi / 2) + o.log(s) + 0.5 * ((m.std / s) ** 2 + (m.mean / s) ** 2)
    if f == "exponential":
        if m.mean is None:
            return None
        lam = Q["rate"]
        return -o.log(lam) + lam * m.mean
    if f == "gamma":
        if not _need(m.mean, m.elog):
            return None
        k, b = Q["concentration"], Q["rate"]
        return -k * o.log(b) + o.lgamma(k) - (k - 1) * m.elog + b * m.mean
    if f == "beta":
        if not _need(m.elog, m.elog1m):
            return None
        a, b = Q["a"], Q["b"]
        return lbeta(o, a, b) - (a - 1) * m.elog - (b - 1) * m.elog1m
    if f == "uniform":
        return o.log(Q["high"] - Q["low"])
    if f == "laplace":
        e = m.eabs(Q["loc"])
        if e is None:
            return None
        return math.log(2) + o.log(Q["scale"]) + e / Q["scale"]
    if f == "gumbel":
        mu, s = Q["loc"], Q["scale"]
        lm = m.log_mgf(-1 / s)
        if not _need(m.mean, lm):
            return None
        # log q = -log s - z - exp(-z), z = (x - mu)/s;  E exp(-z) = exp(mu/s) M_p(-1/s)
        return o.log(s) + (m.mean - mu) / s + o.exp(mu / s + lm)
    if f == "pareto":
        if m.elog is None:
            return None
        xm, a = Q["scale"], Q["alpha"]
        return -o.log(a) - a * o.log(xm) + (a + 1) * m.elog
    if f == "lognormal":
        if not _need(m.elog, m.varlog):
            return None
        mu, sg = Q["mu"], Q["sigma"]
        return m.elog + 0.5 * LOG_2PI + o.log(sg) + 0.5 * (m.varlog + (m.elog - mu) ** 2) / (sg * sg)
    if f == "cbernoulli":
        if m.mean is None:
            return None
        lam = Q["lam"]
        return -_cb_parts(o, lam)[0] - m.mean * o.log(lam) - (1 - m.mean) * o.log1p(-lam)
    if f == "weibull":
        k, lam = Q["concentration"], Q["scale"]
        lep = m.log_epow(k)
        if not _need(m.elog, lep):
            return None
        # -log q = -log k + k log lam - (k - 1) log x + (x/lam)^k
        return -o.log(k) + k * o.log(lam) - (k - 1) * m.elog + o.exp(lep - k * o.log(lam))
    if f == "poisson":
        if getattr(m, "elogfact", None) is None:
            return None
        lam = Q["rate"]
        return lam - o.xlogy(m.mean, lam) + m.elogfact
    if f == "geometric":
        if m.mean is None:
            return None
        pq, s = Q["p"], Q["start"]
        return -o.log(pq) - (m.mean - s) * o.log1p(-pq)
    return None


def _support(q: Dist, o):
    f, Q = q.family, q.params
    inf = math.inf
    table = {
        "normal": (-inf, inf), "laplace": (-inf, inf), "gumbel": (-inf, inf), "cauchy": (-inf, inf),
        "exponential": (0.0, inf), "gamma": (0.0, inf), "halfnormal": (0.0, inf), "lognormal": (0.0, inf), "weibull": (0.0, inf), "cbernoulli": (0.0, 1.0),
        "beta": (0.0, 1.0), "poisson": (0.0, inf), "bernoulli": (0.0, 1.0),
    }  # fmt: skip
    if f in table:
        return table[f]
    if f == "uniform":
        return Q["low"], Q["high"]
    if f == "pareto":
        return Q["scale"], inf
    if f == "geometric":
        return Q["start"], inf
    if f == "binomial":
        return 0.0, Q["n"]
    return None
