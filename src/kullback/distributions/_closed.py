"""Closed-form KL divergences, written once for NumPy and PyTorch parameters.

Two mechanisms, tried in this order:

1. ``SAME``: dedicated same-family formulas, arranged so that nothing
   cancels catastrophically when p is close to q and nothing overflows into
   ``inf - inf`` at extreme parameters (logs of parameters are differenced,
   not logs of ratios; ``expm1(x) - x`` for the ``r - 1 - log r`` pattern).
2. Cross-family pairs through  D(p||q) = -H(p) - E_p[log q(X)].  Each q family
   states which expectations under p its log-density needs (mean, standard
   deviation, E log X, E|X - c|, the log moment-generating function, ...);
   each p family supplies the ones it has in closed form.  A pair has a closed
   form when p supplies everything q asks for; p's support must lie in q's,
   else the divergence is +inf.  Infinite moments (Cauchy, Pareto with small
   alpha) give +inf, which is the true value.

Sources: N(.,.), Gamma, Dirichlet, Beta, MVN — W. D. Penny, "KL-divergences of
Normal, Gamma, Dirichlet and Wishart densities" (2001); Laplace, Pareto,
Gumbel, uniform and the entropies — M. Gil, F. Alajaji, T. Linder, "Rényi
divergence measures for commonly used univariate continuous distributions",
Information Sciences 249 (2013), and Gil's thesis (Queen's University, 2011); continuous Bernoulli — G. Loaiza-Ganem &
J. P. Cunningham, "The continuous Bernoulli", NeurIPS 2019;
Cauchy — F. Chyzak, F. Nielsen, "A closed-form formula for the Kullback-Leibler
divergence between Cauchy distributions", arXiv:1905.10965 (2019); Weibull —
C. Bauckhage, arXiv:1310.3713 (2013); von Mises — K. V. Mardia & P. E. Jupp,
"Directional Statistics" (2000), sec. 3.5; log B and psi differences at large
arguments — A. R. DiDonato & A. H. Morris, ACM TOMS 18 (1992); moments,
entropies and moment-generating functions — the families' standard tables
(Johnson, Kotz & Balakrishnan, "Continuous Univariate Distributions", 1994-95).
Every formula is checked against mpmath quadrature in
tests/distributions/test_closed_forms.py.
"""

from __future__ import annotations

import math

import numpy as np

from .._warnings import AccuracyWarning
from . import _same, _same_discrete, _same_gamma  # noqa: F401  (they register their formulas in SAME)
from ._canonical import Dist
from ._cross import Moments, _support, cross_entropy, divergence, moments
from ._ops import EULER, LOG_2PI, NoClosedForm, Ops, _nonneg, lbeta, psi_diff
from ._registry import SAME

__all__ = ["closed_form", "Ops", "NoClosedForm", "AccuracyWarning", "SAME", "moments", "cross_entropy", "Moments"]
__all__ += ["lbeta", "psi_diff", "EULER", "LOG_2PI"]


# Pairs of families where one is a special case of the other: (p's family, q's family) ->
# (the larger family, p's and q's parameters in it, the elements where the embedding holds or None for all).
# The same-family formula of the larger family then gives D without the cancellation of CE - H: one law
# written as two families gives exactly 0 (issue 12, class 4).  Exponential(rate) = Gamma(1, rate) =
# Weibull(1, 1/rate); Uniform(0, 1) = Beta(1, 1) = ContinuousBernoulli(1/2).
def _one(x):
    return 0 * x + 1.0


def _unit_interval(P):
    return (P["low"] == 0) & (P["high"] == 1)


EMBED = {
    ("exponential", "gamma"): lambda P, Q: ("gamma", {"concentration": _one(P["rate"]), "rate": P["rate"]}, Q, None),
    ("gamma", "exponential"): lambda P, Q: ("gamma", P, {"concentration": _one(Q["rate"]), "rate": Q["rate"]}, None),
    ("exponential", "weibull"): lambda P, Q: ("weibull", {"concentration": _one(P["rate"]), "scale": 1 / P["rate"]}, Q, None),
    ("weibull", "exponential"): lambda P, Q: ("weibull", P, {"concentration": _one(Q["rate"]), "scale": 1 / Q["rate"]}, None),
    ("uniform", "beta"): lambda P, Q: ("beta", {"a": _one(P["low"]), "b": _one(P["low"])}, Q, _unit_interval(P)),
    ("uniform", "cbernoulli"): lambda P, Q: ("cbernoulli", {"lam": 0 * P["low"] + 0.5}, Q, _unit_interval(P)),
    ("beta", "uniform"): lambda P, Q: ("beta", P, {"a": _one(Q["low"]), "b": _one(Q["low"])}, _unit_interval(Q)),
    ("cbernoulli", "uniform"): lambda P, Q: ("cbernoulli", P, {"lam": 0 * Q["low"] + 0.5}, _unit_interval(Q)),
}


def closed_form(o, p: Dist, q: Dist):
    """D(p||q) in closed form (backend array over the batch), or None."""
    if p.family is None or q.family is None:
        return None
    if p.family == q.family and p.family in SAME:
        return SAME[p.family](o, p.params, q.params)
    if p.event_ndim or q.event_ndim:
        return None
    embed = EMBED.get((p.family, q.family))
    if embed is not None:
        fam, pp, qq, where = embed(p.params, q.params)
        same = SAME[fam](o, pp, qq)
        if where is None:
            return same
        if not bool(where.any()):
            return _cross(o, p, q)
        rest = _cross(o, p, q)
        return same if rest is None else o.where(where, same, rest)
    return _cross(o, p, q)


def _cross(o, p: Dist, q: Dist):
    """D = CE(p, q) - H(p) from p's moments and q's cross-entropy (see _cross), or None."""
    m = moments(o, p)
    sup = _support(q, o)
    if m is None or sup is None:
        return None
    # p's support must lie inside q's; where it does not, D = +inf whatever else is known
    inside = (o.asarray(m.lo) >= o.asarray(sup[0])) & (o.asarray(m.hi) <= o.asarray(sup[1]))
    if not bool(inside.any()):
        return o.where(inside, 0.0, math.inf) + 0 * _any_param(o, p, q)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        res = divergence(o, m, q)  # CE - H, their multiples of E log X combined first (see _cross.divergence)
        if res is None:
            return None
        val, scale = res
        # D >= 0 is a theorem: a rounding-level negative is 0 (larger ones are left for the fuzzer to see)
        val = _nonneg(o, val, scale)
        # p's infinite moments make ce = +inf; ce - H is then +inf, never inf - inf (H is finite)
    return o.where(inside, val, math.inf)


def _any_param(o, p: Dist, q: Dist):
    """Zeros of the pair's broadcast batch shape (keeps the batch and autograd graph of the inputs)."""
    z = 0.0
    for v in (*p.params.values(), *q.params.values()):
        z = z + 0 * o.asarray(v)
    return z
