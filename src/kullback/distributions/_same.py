"""Same-family closed forms of the location-scale and other continuous families (normal, half-normal,
log-normal, exponential, Laplace, uniform, Gumbel, Pareto, Cauchy, Weibull, von Mises, continuous Bernoulli,
multivariate normal), registered in ``_registry.SAME[family](o, p_params, q_params)``; the gamma, beta and
Dirichlet family in ``_same_gamma``, the laws on the integers and categories in ``_same_discrete``.

Each textbook formula (source in its comment) is regrouped into a sum of terms
that are each >= 0 and each computed to full relative accuracy (the pieces of
:mod:`._ops`: r - 1 - log r, e^y - 1 - y, r log r - r + 1, and Bregman
divergences of log-partition functions by Stirling's / Hankel's series or
quadrature of their second derivative), so that nothing cancels when p is close
to q or the parameters are large, nothing overflows into ``inf - inf`` at extreme
parameters, and no result can fall below 0 (issue 12, classes 1-4).  Torch
float32 (and lower) tensors are computed in float64 and rounded once.  Checked by
tests/distributions/test_fuzz_same.py against mpmath over the whole parameter
domain; measured in docs/accuracy-same.md.
"""

from __future__ import annotations

import math

import numpy as np

from .._warnings import AccuracyWarning
from . import _fused
from ._autograd import analytic as _analytic  # torch gradients from closed-form partials
from ._ops import (
    EULER,
    LOGI0_L,
    _em,
    _g,
    _gl_nodes,
    _gl_remainder,
    _ratio,
    _sq_ratio_term,
    breg,
    lgamma_rem1,
    psi_sub,
    vm_curvature,
)
from ._registry import register as _same

__all__ = []


def _loc_z(o, a, b, s):
    """(a - b)/s, also where a - b overflows although the quotient does not (halves differenced)."""
    diff = a - b
    z = diff / s
    if bool(o.isinf(diff).any()):
        z = o.where(o.isinf(diff), (a / 2 - b / 2) / s * 2, z)
    return z


@_same("normal")
def _kl_normal(o, p, q):
    # log(sq/sp) + (sp^2 + (mp - mq)^2) / (2 sq^2) - 1/2          [Penny 2001, eq. 2]
    # = (1/2)(r^2 - 1 - log r^2) + z^2/2, r = sp/sq, z = (mp - mq)/sq: two non-negative terms
    # large batches: the same expression in one fused parallel pass (numba), for NumPy and CPU torch
    fused = _fused.normal_kl(o.backend, p["loc"], p["scale"], q["loc"], q["scale"])
    if fused is not None:
        return fused
    z = _loc_z(o, p["loc"], q["loc"], q["scale"]) * math.sqrt(0.5)
    return 0.5 * _sq_ratio_term(o, p["scale"], q["scale"]) + z * z


@_same("halfnormal")
def _kl_halfnormal(o, p, q):
    # the half-normals' density ratio is the normals' on [0, inf) and the halves carry equal mass
    return 0.5 * _sq_ratio_term(o, p["scale"], q["scale"])


@_same("lognormal")
def _kl_lognormal(o, p, q):
    # KL is invariant under the bijection log: that of the normals of log X
    return _kl_normal.formula(o, {"loc": p["mu"], "scale": p["sigma"]}, {"loc": q["mu"], "scale": q["sigma"]})


@_same("exponential")
def _kl_exponential(o, p, q):
    # lq/lp - 1 - log(lq/lp)
    return _g(o, *_ratio(o, q["rate"], p["rate"]))


@_same("laplace")
def _kl_laplace(o, p, q):
    return _analytic(o, _laplace_value, _laplace_partials, p["loc"], p["scale"], q["loc"], q["scale"])


def _laplace_value(o, mp_, bp, mq, bq):
    # log(bq/bp) + |mp - mq|/bq + (bp/bq) exp(-|mp - mq|/bp) - 1        [Gil 2011, Table 3.1]
    # = (r - 1 - log r) + r (x - 1 + e^-x),  r = bp/bq, x = |mp - mq|/bp: two non-negative terms
    # (a narrow shifted p no longer cancels d/bq against d/bp: issue 12 class 2); for x > 1 the
    # second is d/bq - r (1 - e^-x), which cannot overflow where d/bq does not
    d, lr = _ratio(o, bp, bq)
    zq = o.abs(_loc_z(o, mp_, mq, bq))
    x = o.abs(_loc_z(o, mp_, mq, bp))
    r = bp / bq  # not 1 + d: that rounds a tiny ratio to 0
    big = x > 1
    xs = o.where(big, 0.0, x)
    fin = ~o.isinf(d)
    r = o.where(fin, r, 1.0)
    second = o.where(big, zq + r * o.expm1(-o.where(big, x, 1.0)), r * _em(o, -xs))
    return o.where(fin, _g(o, d, lr) + second, math.inf)  # bp/bq overflows: r - 1 - log r = inf


def _laplace_partials(o, mp_, bp, mq, bq):
    """The formula differentiated: dD/dmp = -dD/dmq = s (1 - e^-x)/bq, dD/dbp = (r (1 + x) e^-x - 1)/bp,
    dD/dbq = (1 - zq - r e^-x)/bq, with s = sign(mp - mq), x = |mp - mq|/bp, zq = |mp - mq|/bq, r = bp/bq.
    Autograd through the regrouped value gave NaN at scales near 1e-246 (bp^2 in r's derivative underflows)."""
    x = o.abs(_loc_z(o, mp_, mq, bp))
    zq = o.abs(_loc_z(o, mp_, mq, bq))
    fx = x < math.inf
    xs = o.where(fx, x, 0.0)
    e = o.where(fx, o.exp(-xs), 0.0)
    r = bp / bq
    fr = r < math.inf
    # r e^-x and r (1 + x) e^-x; where bp/bq overflows, through logs (x is then >= |mp - mq| / bp, e^-x small)
    lr = o.log(o.where(fr, 1.0, bp)) - o.log(o.where(fr, 1.0, bq))
    w = e * (1 + xs)
    re = o.where(fr, o.where(fr, r, 0.0) * e, o.exp(o.where(fr, 0.0, lr - xs)))
    rw = o.where(fr, o.where(fr, r, 0.0) * w, o.exp(o.where(fr, 0.0, lr - xs + o.log1p(xs))))
    sgn = o.sign(mp_ - mq)
    g_mp = sgn * -o.expm1(-x) / bq  # x itself: 1 - e^-x = 1 where |mp - mq|/bp overflows
    return g_mp, (rw - 1) / bp, -g_mp, (1 - zq - re) / bq


@_same("uniform")
def _kl_uniform(o, p, q):
    if "width" in p or "width" in q:  # scipy's (loc, scale): log(wq/wp) from the widths as given (no gradients)
        wp, wq = (d["width"] if "width" in d else d["high"] - d["low"] for d in (p, q))
        inside = (p["low"] >= q["low"]) & (p["high"] <= q["high"]) & (wp <= wq)
        d = o.where(inside, wq - wp, 0.0) / wp
        return o.where(inside, o.where(d < 1, o.log1p(o.where(d < 1, d, 0.0)), o.log(wq) - o.log(wp)), math.inf)
    return _analytic(o, _uniform_value, _uniform_partials, p["low"], p["high"], q["low"], q["high"])


def _uniform_value(o, lp, hp, lq, hq):
    # log((hq - lq)/(hp - lp)) where [lp, hp] lies in [lq, hp]; the widths' difference is taken as
    # (hq - hp) + (lp - lq) (both >= 0, exact for near-identical bounds) and halved against overflow
    inside = (lp >= lq) & (hp <= hq)
    wp = hp / 2 - lp / 2
    extra = (hq / 2 - hp / 2) + (lp / 2 - lq / 2)
    d = o.where(inside, extra, 0.0) / wp
    val = o.where(d < 1e300, o.log1p(o.where(d < 1e300, d, 0.0)), o.log(hq / 2 - lq / 2) - o.log(wp))
    return o.where(inside, val, math.inf)


def _uniform_partials(o, lp, hp, lq, hq):
    """dD/dlp = 1/wp = -dD/dhp, dD/dhq = 1/wq = -dD/dlq (w the widths, from their halves: no overflow; 0 outside
    the support condition, where D = inf). Autograd through the ratio of halves overflowed to inf at widths near 1e-154."""
    inside = (lp >= lq) & (hp <= hq)
    ip = o.where(inside, 0.5 / (hp / 2 - lp / 2), 0.0)
    iq = o.where(inside, 0.5 / (hq / 2 - lq / 2), 0.0)
    return ip, -ip, -iq, iq


@_same("gumbel")
def _kl_gumbel(o, p, q):
    # log(sq/sp) + (mp - mq)/sq + g (sp/sq - 1) + exp((mq - mp)/sq) G(1 + sp/sq) - 1     [Gil 2011; as torch]
    # = f(r) + em(w),  r = sp/sq, z = (mp - mq)/sq, w = lnG(1 + r) - z,
    #   f(r) = lnG(r) + g (r - 1) >= 0 (Taylor's remainder of lnG at 1),  em(w) = e^w - 1 - w >= 0
    return _analytic(o, _gumbel_value, _gumbel_partials, p["loc"], p["scale"], q["loc"], q["scale"])


def _gumbel_value(o, mp_, sp, mq, sq):
    d, lr = _ratio(o, sp, sq)
    return _gumbel_like(o, sp / sq, d, lr, -_loc_z(o, mp_, mq, sq))


def _gumbel_partials(o, mp_, sp, mq, sq):
    """dD/dmp = -dD/dmq = -(e^w - 1)/sq, dD/dsp = r D_r/sp, dD/dsq = (z (e^w - 1) - r D_r)/sq (z = (mp - mq)/sq,
    r = sp/sq; r D_r and e^w - 1 from ``_gumbel_like_partials``). Autograd through the regrouped value was 90 eps off
    at z = -187, where e^w is 1.9e81 (within that pair's condition number, but not of its terms' size)."""
    d, lr = _ratio(o, sp, sq)
    z = _loc_z(o, mp_, mq, sq)
    rdr, em1 = _gumbel_like_partials(o, sp / sq, d, lr, -z)
    return -em1 / sq, rdr / sp, em1 / sq, (z * em1 - rdr) / sq


def _lgamma1p(o, r, d, lr):
    """(f, lnG(1 + r)) with f = lnG(r) + gamma (r - 1) = ``lgamma_rem1`` (r = 1 + d, log r = lr)."""
    f = lgamma_rem1(o, r, d, lr)
    near = (r >= 0.5) & (r <= 2)
    return f, o.where(near, lr + f - EULER * d, o.lgamma(1 + o.where(near, 1.0, r)))  # lnG(1 + r) = log r + lnG(r)


def _gumbel_like(o, r, d, lr, shift):
    """f(r) + em(lnG(1 + r) + shift) for r = 1 + d, log r = lr (the Gumbel and Weibull families)."""
    f, lg1 = _lgamma1p(o, r, d, lr)
    fin = f < math.inf
    w = o.where(fin, lg1, 0.0) + shift
    return o.where(fin, f + _em(o, w), math.inf)


def _gumbel_like_partials(o, r, d, lr, shift):
    """(r dD/dr, dD/dw = e^w - 1) for D = f(r) + em(w), w = lnG(1 + r) + shift:
    dD/dr = psi(r) + gamma + (e^w - 1) psi(1 + r) (psi(1 + r) - 1/r = psi(r)). For r in [1/2, 2] psi(r) + gamma is
    psi(r) - psi(1) without cancellation (``psi_sub``); elsewhere r dD/dr = -1 + r (gamma + e^w psi(1 + r)), whose
    terms share a sign (psi(1 + r) >= 0 for r > 1/2) or are dominated by the -1 (r < 1/2): no cancellation either."""
    f, lg1 = _lgamma1p(o, r, d, lr)
    w = o.where(f < math.inf, lg1, 0.0) + shift
    em1 = o.expm1(w)
    near = (r >= 0.5) & (r <= 2)
    rn = o.where(near, r, 1.0)
    psi1 = o.digamma(1 + r)
    rdr_near = rn * (psi_sub(o, rn, o.full_like(rn, 1.0)) + em1 * psi1)
    rdr_far = -1 + r * (EULER + o.exp(o.where(near, 0.0, w)) * psi1)
    return o.where(near, rdr_near, rdr_far), em1


@_same("pareto")
def _kl_pareto(o, p, q):
    # p's support [mp, inf) must lie in q's [mq, inf); then
    # log(ap/aq) + aq log(mp/mq) + aq/ap - 1                           [Gil 2011, Table 3.1]
    return _analytic(o, _pareto_value, _pareto_partials, p["scale"], p["alpha"], q["scale"], q["alpha"])


def _pareto_value(o, mp_, ap, mq, aq):
    val = aq * _ratio(o, mp_, mq)[1] + _g(o, *_ratio(o, aq, ap))
    return o.where(mp_ >= mq, val, math.inf)


def _pareto_partials(o, mp_, ap, mq, aq):
    """dD/dmp = aq/mp, dD/dap = (1 - aq/ap)/ap, dD/dmq = -aq/mq, dD/daq = log(mp/mq) + (aq - ap)/(ap aq) (0 where
    mp < mq: D = inf); autograd gave -inf for -1e154 in q's scale."""
    inside = mp_ >= mq
    g_ap = ((ap - aq) / ap) / ap
    g_aq = _ratio(o, mp_, mq)[1] + ((aq - ap) / aq) / ap
    return tuple(o.where(inside, g, 0.0) for g in (aq / mp_, g_ap, -aq / mq, g_aq))


@_same("cauchy")
def _kl_cauchy(o, p, q):
    # log(((gp + gq)^2 + (mp - mq)^2) / (4 gp gq)) = log(1 + u^2 + v^2),
    # u = (gp - gq) / (2 sqrt(gp gq)), v = (mp - mq) / (2 sqrt(gp gq))   [Chyzak & Nielsen 2019, eq. 1]
    # M = max(|gp - gq|, |mp - mq|)/2 and m = M / sqrt(gp gq): m <= 1: log1p(u^2 + v^2); else
    # 2 log m + log(1/m^2 + (u/m)^2 + (v/m)^2) with log m = log M - log sqrt(gp gq) (no overflow of u, v)
    # (issue 12 class 1: the "1/m^2" was missing; class 2: u, v overflowed for narrow shifted laws)
    gp, gq = p["scale"], q["scale"]
    root = o.sqrt(gp) * o.sqrt(gq)
    hu = o.abs(gp / 2 - gq / 2)
    hv = o.abs(p["loc"] / 2 - q["loc"] / 2)
    M = o.maximum(hu, hv)
    big = M > root
    Ms = o.where(big, M, 1.0)
    rs = o.where(big, root, 1.0)
    large = 2 * (o.log(Ms) - o.log(rs)) + o.log((rs / Ms) ** 2 + (hu / Ms) ** 2 + (hv / Ms) ** 2)
    u, v = o.where(big, 0.0, hu) / root, o.where(big, 0.0, hv) / root
    return o.where(big, large, o.log1p(u * u + v * v))


@_same("weibull")
def _kl_weibull(o, p, q):
    # log(kp/lp^kp) - log(kq/lq^kq) + (kp - kq)(log lp - g/kp) + (lp/lq)^kq G(kq/kp + 1) - 1
    #   [C. Bauckhage, "Computing the Kullback-Leibler divergence between two Weibull distributions",
    #    arXiv:1310.3713 (2013)], regrouped as f(rho) + em(kq lr + lnG(1 + rho)), rho = kq/kp,
    #    lr = log(lp/lq), f(rho) = lnG(rho) + g (rho - 1): two non-negative terms (as the Gumbel family:
    #    log X of a Weibull X is a (minimum) Gumbel)
    return _analytic(o, _weibull_value, _weibull_partials, p["scale"], p["concentration"], q["scale"], q["concentration"])


def _weibull_value(o, lp, kp, lq, kq):
    d, lrho = _ratio(o, kq, kp)
    return _gumbel_like(o, kq / kp, d, lrho, kq * _ratio(o, lp, lq)[1])


def _weibull_partials(o, lp, kp, lq, kq):
    """With rho = kq/kp, L = log(lp/lq), w = kq L + lnG(1 + rho): dD/dlp = -dD/dlq lq/lp = kq (e^w - 1)/lp,
    dD/dkp = -rho D_rho/kp, dD/dkq = rho D_rho/kq + L (e^w - 1) (``_gumbel_like_partials``); autograd through the
    regrouped value was 127 eps off at lp/lq = 1e-146."""
    L = _ratio(o, lp, lq)[1]
    d, lrho = _ratio(o, kq, kp)
    rdr, em1 = _gumbel_like_partials(o, kq / kp, d, lrho, kq * L)
    return (kq * em1) / lp, -rdr / kp, -(kq * em1) / lq, rdr / kq + L * em1


def _vm_a(o, k):
    """A(k) = I1(k)/I0(k) = E cos(X - m) under von Mises(m, k), from the scaled Bessel functions (no overflow)."""
    return o.i1e(k) / o.i0e(k)


@_same("vonmises")
def _kl_vonmises(o, p, q):
    return _analytic(o, _vonmises_value, _vonmises_partials, p["loc"], p["concentration"], q["loc"], q["concentration"])


def _vonmises_value(o, mp_, kp, mq, kq):
    # log I0(kq) - log I0(kp) + A(kp) (kp - kq cos(mp - mq)),  A = I1/I0     [from E_p cos(X - m) = A(kp) cos(mp - m);
    #   e.g. K. V. Mardia & P. E. Jupp, "Directional Statistics" (2000), sec. 3.5.4]
    # = [log I0(kq) - log I0(kp) - A(kp)(kq - kp)] + 2 A(kp) kq sin^2((mp - mq)/2): the Bregman divergence
    # of log I0 (convex) and a non-negative term; neither cancels and the sum cannot go below 0
    # (issue 12 classes 3, 4: identical laws gave -1.8e-15, kappa = 1e8 lost every digit)
    a = _vm_a(o, kp)
    s = o.sin(mp_ / 2 - mq / 2)
    return breg(o, LOGI0_L, kp, kq) + 2 * a * kq * s * s


def _vonmises_partials(o, mp_, kp, mq, kq):
    """The formula differentiated (s, c = sin, cos((mp - mq)/2), A = I1/I0, A' = (log I0)'' = 1 - A/k - A^2):
    dD/dkp = A'(kp) (kp - kq + 2 kq s^2), dD/dkq = A(kq) - A(kp) + 2 A(kp) s^2, dD/dmp = -dD/dmq = 2 A(kp) kq s c.
    A' without its cancellation (``vm_curvature``; from 30 on Hankel's series of k^2 A', divided by kp twice
    so that 1/(2 kp^2) does not underflow at kp = 1e299, where autograd gave NaN); A(kq) - A(kp) as the
    difference of (log I0e)' = A - 1 where both are 30 or more (Hankel's series: no rounding of A to 1)."""
    h = mp_ / 2 - mq / 2
    s, c = o.sin(h), o.cos(h)
    a = _vm_a(o, kp)
    big = kp >= 30
    kb_, ks = o.where(big, kp, 30.0), o.where(big, 1.0, kp)
    rho = kq / kb_
    g_big = (LOGI0_L.x2_d2_asym(o, kb_) / kb_) * ((kb_ - kq) / kb_ + 2 * rho * s * s)
    g_small = vm_curvature(o, ks) * ((ks - kq) + 2 * kq * s * s)
    both = big & (kq >= 30)  # A(kq) - A(kp) from (A - 1)'s series there (A rounds to 1), else from A itself
    g_kq = o.where(both, LOGI0_L.dL(o, kq) - LOGI0_L.dL(o, kp), _vm_a(o, kq) - a) + 2 * a * s * s
    g_mp = 2 * a * kq * s * c
    return g_mp, o.where(big, g_big, g_small), -g_mp, g_kq


def cb_atanh(o, lam):
    """atanh(1 - 2 lam) for 0 < lam < 1: from u = 1 - 2 lam itself where that is exact (lam >= 1/4, Sterbenz), else
    (log1p(-lam) - log lam)/2 (whose logs do not cancel there); the difference of logs throughout lost 35 eps near
    lam = 1/2, where the continuous Bernoulli's entropy (~ -u^2/6) is a difference of terms of size atanh(u)/u - 1
    (1.9e-11 relative at lam = 0.49)."""
    hi = lam >= 0.25
    if bool(hi.all()):
        return o.arctanh(1 - 2 * lam)
    return o.where(hi, o.arctanh(1 - 2 * o.where(hi, lam, 0.5)), 0.5 * (o.log1p(-o.where(hi, 0.25, lam)) - o.log(o.where(hi, 0.25, lam))))


def _cb_parts(o, lam):
    """(log C, mean, variance, f = 2 mean - 1, log(atanh(u)/u), atanh(u)) of the continuous Bernoulli law CB(lam) (density C lam^x (1-lam)^(1-x) on [0, 1]).

    With u = 1 - 2 lam and atanh(u) = (log(1 - lam) - log lam)/2:  C = 2 atanh(u)/u,
    mean = 1/2 + f/2, var = 1/4 + f^2/4 + f/(2u), f = 1/atanh(u) - 1/u
    [G. Loaiza-Ganem & J. P. Cunningham, "The continuous Bernoulli", NeurIPS 2019, sec. 3].
    Near lam = 1/2 (|u| < 0.02) the cancelling expressions are replaced by their Taylor series in u
    (truncation below 1e-17).
    """
    u = 1 - 2 * lam
    small = o.abs(u) < 0.02
    us = o.where(small, u, 0.0)
    u2 = us * us
    lr_s = u2 * (1 / 3 + u2 * (0.14444444444444444 + u2 * (0.088536155202821869 + u2 * 0.062627865961199295)))
    fu_s = -(1 / 3 + u2 * (0.088888888888888889 + u2 * (0.046560846560846561 + u2 * 0.030194003527336861)))  # f/u
    ud = o.where(small, 0.5, u)
    ld = o.where(small, 0.25, lam)
    at = cb_atanh(o, ld)
    lr_d = o.log(at / ud)
    # f/u = (1/atanh(u) - 1/u)/u cancels 3/u^2 of its digits as written (7500 eps at |u| = 0.02; its derivative
    # in torch 5e-11 relative at lam = 0.475): below |u| = 1/2 it is -S/(u atanh(u)), S = (atanh(u) - u)/u =
    # sum_k u^2k/(2k + 1) (A&S 4.6.22), 28 terms (u^2 <= 1/4: the rest below 1e-17), nothing cancelling
    mid = o.abs(ud) < 0.5
    um = o.where(mid, ud, 0.25)
    u2m = um * um
    S = u2m * _atanh_series(o, u2m)
    fu_d = o.where(mid, -S / (um * o.where(mid, at, 1.0)), (1 / at - 1 / ud) / ud)
    lr = o.where(small, lr_s, lr_d)  # log(atanh(u)/u) = log C - log 2
    fu = o.where(small, fu_s, fu_d)
    f = fu * u
    at = o.where(small, o.arctanh(us), at)  # u is exact near lam = 1/2
    return math.log(2) + lr, 0.5 + f / 2, 0.25 + f * f / 4 + fu / 2, f, lr, at


_ATANH_COEFS = 1 / (2 * np.arange(1.0, 28.0) + 3)  # 1/5, 1/7, ..., 1/57


def _atanh_series(o, x2):
    """sum_(k=0..27) x2^k / (2k + 3) (28 terms of (atanh(u) - u)/u^3, x2 = u^2 <= 1/4: the rest below 1e-17): the
    powers x2^1..x2^27 by one cumulative product (k roundings each), then one product-sum; all terms positive. A Horner
    loop took 56 array operations (half of a scalar continuous Bernoulli entropy's time), powers by ``**`` twice the
    loop's time on a batch of 1000."""
    if o.backend == "torch":
        powers = x2[..., None].expand(*x2.shape, 27).cumprod(-1)
    else:
        x2 = np.asarray(x2)
        powers = np.cumprod(np.broadcast_to(x2[..., None], (*x2.shape, 27)), axis=-1)
    return 1 / 3 + powers @ o.asarray(_ATANH_COEFS)


# Var of CB in its natural parameter eta = logit(lam): A''(eta) = 1/eta^2 - 1/(4 sinh^2(eta/2))
# = sum_n B_2n (2n - 1) eta^(2n-2) / (2n)!  (from x/(e^x - 1) = sum B_n x^n / n!, A&S 23.1.1)
_CB_VAR = (1 / 12, -1 / 240, 1 / 6048, -1 / 172800, 1 / 5322240, -5.812609152556243e-09, 1.7397297489890083e-10)


def _cb_var(o, a, dlt):
    """dlt^2 Var_eta(X) for the continuous Bernoulli law with natural parameter a (series for |a| < 1/2)."""
    small = o.abs(a) < 0.5
    s = o.where(small, a, 0.0)
    ad = o.where(small, 1.0, a)
    sh = o.sinh(ad / 2)
    return dlt * dlt * o.where(small, _horner_even(o, s * s), 1 / (ad * ad) - 0.25 / (sh * sh))


def _horner_even(o, x2):
    out = o.full_like(x2, _CB_VAR[-1])
    for c in _CB_VAR[-2::-1]:
        out = out * x2 + c
    return out


@_same("cbernoulli")
def _kl_cbernoulli(o, p, q):
    # E_p[log p - log q] with log CB(x) = log C + x log lam + (1 - x) log(1 - lam), linear in x; an
    # exponential family in eta = logit(lam), so D is the Bregman divergence of its log-partition,
    # Taylor's remainder  int (1 - t) Var_eta(t)(X) d eta^2: by quadrature where |eta_q - eta_p| <= 2
    # (the log-partition log((e^eta - 1)/eta) is analytic within |Im eta| < 2 pi), else directly
    return _analytic(o, _cbernoulli_value, _cbernoulli_partials, p["lam"], q["lam"])


def _cb_eta_diff(o, lp, lq):
    """(eta_p, eta_q - eta_p) with eta = logit(lam): log(lq/lp) - log((1 - lq)/(1 - lp)), the complements' ratio from
    lp - lq (exact), not 1 - lq rounded."""
    d2 = (lp - lq) / (1 - lp)
    ok = d2 > -0.5
    deta = _ratio(o, lq, lp)[1] - o.where(ok, o.log1p(o.where(ok, d2, 0.0)), o.log1p(-lq) - o.log1p(-lp))
    return o.log(lp) - o.log1p(-lp), deta


def _cbernoulli_value(o, lp, lq):
    eta_p, deta = _cb_eta_diff(o, lp, lq)
    near = o.abs(deta) <= 2
    quad = _gl_remainder(o, o.where(near, eta_p, 0.0), o.where(near, deta, 0.0), _cb_var)
    cp, mean = _cb_parts(o, lp)[:2]
    cq = _cb_parts(o, lq)[0]
    direct = cp - cq + mean * (o.log(lp) - o.log(lq)) + (1 - mean) * (o.log1p(-lp) - o.log1p(-lq))
    return o.where(near, quad, direct)


def _cbernoulli_partials(o, lp, lq):
    """The Bregman divergence differentiated, d eta/d lam = 1/(lam (1 - lam)): dD/dlp = -Var_p(X) (eta_q - eta_p) /
    (lp (1 - lp)), dD/dlq = (E_q X - E_p X) / (lq (1 - lq)); autograd through the quadrature was 220 eps off at
    CB(0.5625) || CB(0.125)."""
    eta_p, deta = _cb_eta_diff(o, lp, lq)
    var_p = _cb_var(o, eta_p, 1.0)
    # E_q X - E_p X = A'(eta_q) - A'(eta_p) = deta int_0^1 Var(eta_p + t deta) dt by Gauss-Legendre where
    # |deta| <= 2 (the two means' difference cancels: 1e-4 of it lost at a relative change of 1e-9 in lam); directly beyond
    near = o.abs(deta) <= 2
    u, w = _gl_nodes(o)
    en, dn = o.where(near, eta_p, 0.0)[..., None], o.where(near, deta, 0.0)[..., None]
    dmean_near = o.where(near, deta, 0.0) * o.sum(w * _cb_var(o, en + u * dn, 1.0), -1)
    dmean = o.where(near, dmean_near, _cb_parts(o, lq)[1] - _cb_parts(o, lp)[1])
    return -(var_p * deta / lp) / (1 - lp), (dmean / lq) / (1 - lq)


@_same("mvn")
def _kl_mvn(o, p, q):
    # 1/2 [tr(Sq^-1 Sp) + (mq - mp)' Sq^-1 (mq - mp) - d + log|Sq| - log|Sp|]     [Penny 2001, eq. 2]
    # with S = L L' and M = Lq^-1 Lp (lower triangular, M_ii = Lp_ii / Lq_ii; its off-diagonal part is
    # that of Lq^-1 (Lp - Lq), which is exactly 0 for identical factors): tr = ||M||_F^2,
    # Mahalanobis = ||Lq^-1 (mq - mp)||^2, log|Sq| - log|Sp| = -sum log M_ii^2, so
    #   D = 1/2 [sum_i (r_i^2 - 1 - log r_i^2) + sum_{i > j} M_ij^2 + ||z||^2],  r_i = Lp_ii / Lq_ii:
    # non-negative terms only (identical laws give 0 exactly; near-identical ones keep their digits;
    # issue 12 class 4), the diagonal ones from the factors' own ratios.
    Lp, Lq = p["scale_tril"], q["scale_tril"]
    diff = q["loc"] - p["loc"]
    d = Lp.shape[-1]
    if o.backend == "torch":
        t = o.t
        shape = t.broadcast_shapes(Lp.shape, Lq.shape)
        Lp_, Lq_ = Lp.expand(shape), Lq.expand(shape)
        M = t.linalg.solve_triangular(Lq_, Lp_ - Lq_, upper=False)  # M - I: exactly 0 for identical factors
        z = t.linalg.solve_triangular(Lq_, diff.expand(shape[:-1]).unsqueeze(-1), upper=False).squeeze(-1)
        off = (t.tril(M, -1) ** 2).sum((-2, -1))
        diag_p, diag_q = t.diagonal(Lp_, dim1=-2, dim2=-1), t.diagonal(Lq_, dim1=-2, dim2=-1)
        maha = (z * z).sum(-1)
    else:
        import scipy.linalg as sl

        shape = np.broadcast_shapes(Lp.shape, Lq.shape)
        Lp_, Lq_ = np.broadcast_to(Lp, shape), np.broadcast_to(Lq, shape)
        dd = np.broadcast_to(diff, shape[:-1])
        batch = shape[:-2]
        off = np.empty(batch)
        maha = np.empty(batch)
        for idx in np.ndindex(batch):
            M = sl.solve_triangular(Lq_[idx], Lp_[idx] - Lq_[idx], lower=True, check_finite=True)  # M - I
            z = sl.solve_triangular(Lq_[idx], dd[idx], lower=True, check_finite=True)
            off[idx] = np.sum(np.tril(M, -1) ** 2)
            maha[idx] = np.sum(z * z)
        diag_p, diag_q = np.diagonal(Lp_, axis1=-2, axis2=-1), np.diagonal(Lq_, axis1=-2, axis2=-1)
    _warn_conditioning(o, Lp, Lq, d)
    return 0.5 * (o.sum(_sq_ratio_term(o, diag_p, diag_q), -1) + off + maha)


MVN_RTOL_WARN = 1e-6


def _warn_conditioning(o, Lp, Lq, d):
    """Warn when the covariances' condition numbers allow more than MVN_RTOL_WARN relative error.

    The float64 Cholesky factor is exact for a covariance perturbed by ~eps
    relative, so the divergence carries relative error up to about
    d kappa eps, kappa = cond(Sigma) = cond(L)^2 (measured: a 5-d pair with
    kappa = 1e10, 1e12, 1e14 loses 1e-7, 1e-5, 2e-3 against 60-digit mpmath).
    cond(L) is LAPACK's O(d^2) triangular estimate (dtrcon) for NumPy and the
    exact singular-value ratio for torch.
    """
    if o.backend == "torch":
        with o.t.no_grad():
            sv = o.t.linalg.svdvals(o.t.stack(o.t.broadcast_tensors(Lp.detach(), Lq.detach())).double())
            kappa = float((sv[..., 0] / sv[..., -1]).max()) ** 2
        eps = float(o.t.finfo(Lp.dtype).eps)
    else:
        from scipy.linalg import lapack

        kappa = 1.0
        for L in (Lp, Lq):
            flat = np.reshape(L, (-1, d, d))
            for m in flat:
                rc, _ = lapack.dtrcon(m, norm="1", uplo="L")
                kappa = max(kappa, math.inf if rc == 0 else (1 / rc) ** 2)
        eps = float(np.finfo(np.float64).eps)
    bound = d * kappa * eps
    if bound > MVN_RTOL_WARN:
        import warnings

        warnings.warn(
            f"KL between multivariate normals with a covariance of condition number ~{kappa:.1e}: "
            f"the result may carry relative error up to ~{min(bound, 1.0):.0e} (float{8 * o.asarray(0.0).itemsize if o.backend == 'numpy' else o.t.finfo(Lp.dtype).bits})",
            AccuracyWarning,
            stacklevel=6,  # the caller of kb.kl
        )
