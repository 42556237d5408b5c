"""Same-family closed forms of the laws on the integers and on categories (Poisson, Bernoulli, binomial,
geometric, categorical), registered in ``_registry.SAME`` as the continuous ones are (see ``_same`` for the method:
regrouped non-negative terms, torch gradients from closed-form partials)."""

from __future__ import annotations

import math

import numpy as np

from ._autograd import analytic as _analytic
from ._ops import NoClosedForm, _em, _g, _ratio, _relent
from ._registry import register as _same

__all__ = []


@_same("poisson")
def _kl_poisson(o, p, q):
    # lp log(lp/lq) - lp + lq = lq phi(lp/lq - 1), phi(d) = (1 + d) log(1 + d) - d >= 0, with 0 log 0 = 0
    # (issue 12 class 3: Poisson(1e12) vs Poisson(1e12 (1 + 1e-6)))
    return _analytic(o, lambda o, lp, lq: _relent(o, lp, lq, lp - lq), _poisson_partials, p["rate"], q["rate"])


def _poisson_partials(o, lp, lq):
    """dD/dlp = log(lp/lq) (``_ratio``: no cancellation of the two logs at near rates), dD/dlq = 1 - lp/lq =
    -(lp - lq)/lq (1 at lp = 0, also where lq = 0; -inf in lp there)."""
    zero = lp == 0
    pos = lq > 0
    ok = ~zero & pos
    d, lr = _ratio(o, o.where(ok, lp, 1.0), o.where(ok, lq, 1.0))
    g_lp = o.where(zero, -math.inf, o.where(pos, lr, math.inf))
    return g_lp, o.where(zero, 1.0, o.where(pos, -d, -math.inf))


def _bernoulli_terms(o, a, b):
    # a log(a/b) + (1 - a) log((1 - a)/(1 - b)) = [a log(a/b) - a + b] + [(1-a) log((1-a)/(1-b)) - (1-a) + (1-b)]:
    # two non-negative terms, with the differences a - b and b - a taken from a, b (exact), never
    # from the rounded complements (issue 12 class 3: Bernoulli(.3) vs Bernoulli(.3 + 1e-9) was negative)
    return _relent(o, a, b, a - b) + _relent(o, 1 - a, 1 - b, b - a)


def _log1m_ratio(o, a, b):
    """log((1 - a)/(1 - b)) for a, b in [0, 1): log1p((b - a)/(1 - b)) (b - a exact, not log1p(-a) - log1p(-b)), from
    logs where the ratio is below 1/2."""
    u = (b - a) / (1 - b)
    near = u > -0.5
    return o.where(near, o.log1p(o.where(near, u, 0.0)), o.log(1 - a) - o.log(1 - o.where(near, 0.0, b)))


def _bernoulli_partials(o, a, b):
    """dD/da = log(a/b) - log((1 - a)/(1 - b)) (two terms of a sign), dD/db = (b - a)/(b (1 - b)) (the two quotients
    -a/b + (1 - a)/(1 - b) over one denominator); autograd gave -inf for -5e154 at b = 1e-155."""
    return _ratio(o, a, b)[1] - _log1m_ratio(o, a, b), ((b - a) / b) / (1 - b)


@_same("bernoulli")
def _kl_bernoulli(o, p, q):
    return _analytic(o, _bernoulli_terms, _bernoulli_partials, p["p"], q["p"])


@_same("binomial")
def _kl_binomial(o, p, q):
    # n KL(Bernoulli) for equal n; n_p > n_q leaves p mass where q has none; n_p < n_q has no closed form
    n_p, n_q = p["n"], q["n"]
    if bool((n_p < n_q).any()):
        raise NoClosedForm("binomials with n_p < n_q")
    return _analytic(o, _binomial_value, _binomial_partials, p["p"], q["p"], n_p, n_q)


def _binomial_value(o, pp, pq, n_p, n_q):
    # at pp below 1e-290 the Bernoulli terms are subnormal before the factor n: (n pp) times the geometric form
    # rounds once instead (Binomial(4, 1e-300) || Binomial(4, 0.9999999e-300) was 1.2 subnormal ulps off)
    tiny = (pp > 0) & (pp < 1e-290)
    small = (n_p * o.where(tiny, pp, 0.5)) * _geometric_form(o, o.where(tiny, pp, 0.5), o.where(tiny, pq, 0.5))
    # n = 0: both laws are the point mass at 0, D = 0 even where the Bernoulli terms are inf (q = 0 or 1): 0 * inf was NaN
    val = o.where(tiny, small, n_p * _bernoulli_terms(o, pp, pq))
    return o.where(n_p > n_q, math.inf, o.where(n_p == 0, 0.0, val))


def _binomial_partials(o, pp, pq, n_p, n_q):
    """n times the Bernoulli partials (0 where n = 0 or n_p > n_q; the counts are not differentiated: zeros)."""
    live = (n_p == n_q) & (n_p > 0)
    g_p, g_q = _bernoulli_partials(o, o.where(live, pp, 0.5), o.where(live, pq, 0.5))
    return o.where(live, n_p * g_p, 0.0), o.where(live, n_p * g_q, 0.0), None, None


@_same("geometric")
def _kl_geometric(o, p, q):
    # same start s: log(pp/pq) + ((1 - pp)/pp) log((1 - pp)/(1 - pq)) = KL(Bernoulli(pp) || Bernoulli(pq)) / pp
    if bool((p["start"] != q["start"]).any()):
        raise NoClosedForm("geometric laws with different starting points")
    # = g(r) + (1 - r) h(u),  r = pq/pp, u = (pp - pq)/(1 - pp), g(r) = r - 1 - log r, h(u) = (u - log1p u)/u
    # (the Bernoulli terms divided by pp, written without multiplying by pp first: at pp ~ 1e-299 those products
    # are subnormal and lost 2e-3 relative); both terms >= 0 (1 - r and h(u) share u's sign)
    return _analytic(o, _geometric_form, _geometric_partials, p["p"], q["p"])


def _geometric_partials(o, pp, pq):
    """The formula differentiated: dD/dpp = -log((1 - pp)/(1 - pq)) / pp^2, dD/dpq = -1/pq + (1 - pp)/(pp (1 - pq)),
    the log as log1p((pq - pp)/(1 - pq)) (no cancellation of log1p(-pp) - log1p(-pq) at small near probabilities;
    autograd through the regrouped value was 125 eps off at pp = 0.25, pq = 0.999, within the pair's condition number
    but not of its terms' size)."""
    return -_log1m_ratio(o, pp, pq) / pp / pp, -1 / pq + ((1 - pp) / pp) / (1 - pq)


def _geometric_form(o, pp, pq):
    """KL(Bernoulli(pp) || Bernoulli(pq)) / pp = g(r) + (1 - r) h(u) for pp > 0 (see _kl_geometric)."""
    d, lr = _ratio(o, pq, pp)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = (pp - pq) / (1 - pp)  # inf at pp = 1, -1 at pq = 1
    small = o.abs(u) < 1e-3
    us = o.where(small, u, 0.0)
    series = us * (1 / 2 + us * (-1 / 3 + us * (1 / 4 + us * (-1 / 5 + us * (1 / 6 - us / 7)))))
    fin = (u > -1) & (u < math.inf)
    uf = o.where(small | ~fin, 1.0, u)
    h = o.where(small, series, o.where(fin, (uf - o.log1p(uf)) / uf, o.where(u > 0, 1.0, -math.inf)))
    return _g(o, d, lr) + o.where(d == 0, 0.0, -d * h)


def _log_normalised(o, probs):
    """log(probs / sum(probs)) along the last axis, -inf where a probability is 0."""
    total = probs.sum(-1, keepdim=True) if o.backend == "torch" else probs.sum(-1, keepdims=True)
    pos = probs > 0
    return o.where(pos, o.log(o.where(pos, probs, 1.0)) - o.log(total), -math.inf)


@_same("categorical")
def _kl_categorical(o, p, q):
    # sum_x p(x) log(p(x)/q(x)) for the laws probs / sum(probs), summed as relative entropies
    # p^ log(p^/q^) - p^ + q^ = p^ em(-r) >= 0 (em(y) = e^y - 1 - y, r = log(p^/q^); Csiszar's form, whose extra
    # terms sum to 0), with r = log(p/q) - log(Sp/Sq) from the held probabilities (``_ratio``: no cancellation of logs
    # at near-identical laws) or, where a probability underflowed to 0, from the log-probabilities (torch: the
    # normalised logits, so a logit gap of 100 keeps its digits). The sum is stationary in log(Sp/Sq): the rounding of
    # the sums enters at second order only, where sum p (log p - log q) lost the sums' k eps at first order
    # (0 for 1.05e-19 at a relative change of 1e-9 in one probability; 2.30e-159 for 2.20e-159 at [1e-160, 1] vs
    # [1e-170, 1]). 0 where p(x) = 0, +inf where q(x) = 0 < p(x).
    pp, pq = p["probs"], q["probs"]
    lp = p["logp"] if "logp" in p else _log_normalised(o, pp)
    lq = q["logp"] if "logp" in q else _log_normalised(o, pq)
    if o.backend == "torch":
        pp, pq, lp, lq = o.t.broadcast_tensors(pp, pq, lp, lq)
    else:
        pp, pq, lp, lq = np.broadcast_arrays(pp, pq, lp, lq)
    return _analytic(o, _categorical_value, _categorical_partials, pp, pq, lp, lq)


def _categorical_parts(o, pp, pq, lp, lq):
    """(has, r, p^, q^, Sp, Sq): p(x) > 0, r = log(p^/q^) and the normalised probabilities (see _kl_categorical)."""
    sp, sq = o.sum(pp, -1), o.sum(pq, -1)
    # log(Sp/Sq) = log1p(sum(p - q)/Sq): the differences are exact where p and q are close, so the shift keeps its
    # digits even where the laws differ by a few units in the last place (D ~ 1e-38: the rounded sums' own error
    # entered at second order, eps^2 ~ 1e-32, there)
    d = o.sum(pp - pq, -1) / sq
    ok = d > -0.5
    shift = o.where(ok, o.log1p(o.where(ok, d, 0.0)), o.log(sp) - o.log(sq))[..., None]
    has = lp > -math.inf
    # each probability is used where it holds at least the digits of its log-probability: a normal number of the input's
    # dtype, or a subnormal one that the log-probability was computed from (log p to rounding: probs-built laws, exact
    # inputs); else (it underflowed, or is the rounding of exp(logit): float32 softmax of a logit gap of 100 is 3.7e-44,
    # three bits) the normalised log-probability stands in, for the ratio and for p^ (exp(log x) is |log x| eps off)
    tiny = getattr(o, "input_tiny", 2.2250738585072014e-308)
    eps_in = getattr(o, "input_eps", 2.0**-52)

    def usable(x, lx, s):
        xs = o.where(x > 0, x, 1.0)
        agrees = o.abs(lx - (o.log(xs) - o.log(s)[..., None])) <= 4 * eps_in * (1 + o.abs(lx))
        return (x >= tiny) | ((x > 0) & agrees)

    use_p, use_q = usable(pp, o.where(has, lp, 0.0), sp), usable(pq, o.where(lq > -math.inf, lq, 0.0), sq)
    src = use_p & use_q
    rho = _ratio(o, o.where(src, pp, 1.0), o.where(src, pq, 1.0))[1] - shift
    r = o.where(src, rho, o.where(has, lp, 0.0) - o.where(has, lq, 0.0))
    ph = o.where(use_p, pp / sp[..., None], o.exp(o.where(has, lp, 0.0)))
    qh = o.where(use_q, pq / sq[..., None], o.exp(lq))
    return has, r, o.where(has, ph, 0.0), qh, sp, sq


def _categorical_value(o, pp, pq, lp, lq):
    return _categorical_sum(o, *_categorical_parts(o, pp, pq, lp, lq)[:4])


def _categorical_sum(o, has, r, ph, qh):
    """sum of the relative-entropy terms p^ em(-r) (p^ (r - 1) + q^ where |r| > 1: no overflow of e^-r); q^ where p = 0."""
    small = o.abs(r) <= 1
    rs = o.where(small, r, 0.0)
    terms = o.where(small, ph * _em(o, -rs), ph * (r - 1) + qh)
    return o.sum(o.where(has, terms, qh), -1)


def _categorical_partials(o, pp, pq, lp, lq):
    """dD/dp_j = (r_j - D)/Sp, dD/dq_j = (q^_j - p^_j)/q_j, for the laws probs / sum(probs); the log-probabilities
    only stand in where a probability underflows (there p^_j ~ 0): no partial. Autograd through the relative-entropy
    form gave NaN for -5e299 at q = [1e-300, 1]. Where p_j = 0 the one-sided derivative is -inf; it is given as the
    most negative float instead, so that the chain rule through torch's normalisation (probs = x / sum x, which
    multiplies it by x_j = 0) gives the other components their finite values rather than 0 * inf = NaN."""
    has, r, ph, qh, sp, sq = _categorical_parts(o, pp, pq, lp, lq)
    D = _categorical_sum(o, has, r, ph, qh)[..., None]
    g_p = o.where(has, (r - D) / sp[..., None], -1.7976931348623157e308)
    pos = pq > 0
    g_q = o.where(pos, (qh - ph) / o.where(pos, pq, 1.0), 1 / sq[..., None])
    return g_p, g_q, None, None  # the log-probabilities: no partial (log 0's chain would give 0 * inf)
