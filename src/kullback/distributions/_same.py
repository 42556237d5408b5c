"""Same-family closed forms: ``SAME[family](o, p_params, q_params)``.

Arranged so that nothing cancels catastrophically when p is close to q and
nothing overflows into ``inf - inf`` at extreme parameters (sources: see
:mod:`._closed` and each formula's comment).
"""

from __future__ import annotations

import math

import numpy as np

from .._warnings import AccuracyWarning
from . import _fused
from ._ops import EULER, NoClosedForm, _g, _ratio, _sq_ratio_term, lbeta, psi_diff

# ---------------------------------------------------------------- same-family formulas

SAME = {}


def _same(family):
    def register(fn):
        SAME[family] = fn
        return fn

    return register


@_same("normal")
def _kl_normal(o, p, q):
    # log(sq/sp) + (sp^2 + (mp - mq)^2) / (2 sq^2) - 1/2          [Penny 2001, eq. 2]
    # large batches: the same expression in one fused parallel pass (numba), for NumPy and CPU torch
    fused = _fused.normal_kl(o.backend, p["loc"], p["scale"], q["loc"], q["scale"])
    if fused is not None:
        return fused
    z = (p["loc"] - q["loc"]) / q["scale"]
    return 0.5 * (_sq_ratio_term(o, p["scale"], q["scale"]) + z * z)


@_same("halfnormal")
def _kl_halfnormal(o, p, q):
    # the half-normals' density ratio is the normals' on [0, inf) and the halves carry equal mass
    return 0.5 * _sq_ratio_term(o, p["scale"], q["scale"])


@_same("lognormal")
def _kl_lognormal(o, p, q):
    # KL is invariant under the bijection log: that of the normals of log X
    return _kl_normal(o, {"loc": p["mu"], "scale": p["sigma"]}, {"loc": q["mu"], "scale": q["sigma"]})


@_same("exponential")
def _kl_exponential(o, p, q):
    # lq/lp - 1 - log(lq/lp)
    return _g(o, *_ratio(o, q["rate"], p["rate"]))


@_same("gamma")
def _kl_gamma(o, p, q):
    # (kp - kq) psi(kp) - lnG(kp) + lnG(kq) + kq (log bp - log bq) + kp (bq - bp)/bp      [Penny 2001, eq. 6, rate form]
    kp, kq = p["concentration"], q["concentration"]
    d, lr = _ratio(o, q["rate"], p["rate"])  # bq/bp - 1, log(bq/bp)
    # kq (log bp - log bq) + kp (bq - bp)/bp = kq (d - lr) + (kp - kq) d
    val = (kp - kq) * o.digamma(kp) - o.lgamma(kp) + o.lgamma(kq) + kq * _g(o, d, lr) + (kp - kq) * d
    return o.where(o.isinf(d), d, val)  # bq/bp overflows: D ~ kp bq/bp = inf (and 0 * inf above)


@_same("beta")
def _kl_beta(o, p, q):
    # ln B(aq, bq) - ln B(ap, bp) + (ap - aq) psi(ap) + (bp - bq) psi(bp) + (aq - ap + bq - bp) psi(ap + bp)
    # [Penny 2001, the two-component Dirichlet], regrouped as (ap - aq)(psi(ap) - psi(ap + bp)) + ...
    # so that large parameters do not cancel (float32 Beta(1e30, 1) vs Beta(1, 1) = log 1e30 - 1)
    ap, bp, aq, bq = p["a"], p["b"], q["a"], q["b"]
    return lbeta(o, aq, bq) - lbeta(o, ap, bp) + (ap - aq) * psi_diff(o, ap, bp) + (bp - bq) * psi_diff(o, bp, ap)


@_same("dirichlet")
def _kl_dirichlet(o, p, q):
    # lnG(a0p) - sum lnG(ap) - lnG(a0q) + sum lnG(aq) + sum (ap - aq)(psi(ap) - psi(a0p))     [Penny 2001, eq. 11]
    # = ln B(aq) - ln B(ap) + sum (ap - aq) psi_diff(ap, a0p - ap), with the multivariate
    # ln B(a) = sum_i ln B(a_1 + ... + a_{i-1}, a_i) and a0 - a_i summed from the other
    # components (never a difference), so large concentrations do not cancel.
    ap, aq = p["alpha"], q["alpha"]
    shape = tuple(o.broadcast_shapes(tuple(ap.shape), tuple(aq.shape)))
    ap, aq = o.broadcast_to(ap, shape), o.broadcast_to(aq, shape)
    before_p, after_p = _exclusive_sums(o, ap)
    t = (ap - aq) * psi_diff(o, ap, before_p + after_p)
    return _lbeta_multi(o, aq) - _lbeta_multi(o, ap) + o.sum(t, -1)


def _exclusive_sums(o, a):
    """(a_1 + ... + a_{i-1}, a_{i+1} + ... + a_k) along the last axis, by cumulative sums only."""
    if o.backend == "torch":
        c = o.t.cumsum(a, -1)
        z = o.t.zeros_like(a[..., :1])
        before = o.t.cat([z, c[..., :-1]], -1)
        r = o.t.flip(o.t.cumsum(o.t.flip(a, [-1]), -1), [-1])
        after = o.t.cat([r[..., 1:], z], -1)
    else:
        c = np.cumsum(a, -1)
        z = np.zeros_like(a[..., :1])
        before = np.concatenate([z, c[..., :-1]], -1)
        r = np.cumsum(a[..., ::-1], -1)[..., ::-1]
        after = np.concatenate([r[..., 1:], z], -1)
    return before, after


def _lbeta_multi(o, a):
    """log B(a_1..a_k) = sum_{i>=2} log B(a_1 + ... + a_{i-1}, a_i) (no cancellation at large a)."""
    before, _ = _exclusive_sums(o, a)
    return o.sum(lbeta(o, before[..., 1:], a[..., 1:]), -1)


@_same("laplace")
def _kl_laplace(o, p, q):
    # log(bq/bp) + |mp - mq|/bq + (bp/bq) exp(-|mp - mq|/bp) - 1        [Gil 2011, Table 3.1]
    lr = _ratio(o, p["scale"], q["scale"])[1]
    d = o.abs(p["loc"] - q["loc"])
    # = (r e^{-d/bp} - 1 - log(r e^{-d/bp})) + d/bq - d/bp, each piece >= 0 or exact
    u = lr - d / p["scale"]
    return _g(o, o.expm1(u), u) + d / q["scale"] - d / p["scale"]


@_same("uniform")
def _kl_uniform(o, p, q):
    inside = (p["low"] >= q["low"]) & (p["high"] <= q["high"])
    val = o.log(q["high"] - q["low"]) - o.log(p["high"] - p["low"])
    return o.where(inside, val, math.inf)


@_same("gumbel")
def _kl_gumbel(o, p, q):
    # log(sq/sp) + (mp - mq)/sq + g (sp/sq - 1) + exp((mq - mp)/sq) G(1 + sp/sq) - 1     [Gil 2011; as torch]
    ls = _ratio(o, p["scale"], q["scale"])[1]
    s = o.exp(ls)
    d = (p["loc"] - q["loc"]) / q["scale"]
    return -ls + d + EULER * (s - 1) + o.exp(o.lgamma(1 + s) - d) - 1


@_same("pareto")
def _kl_pareto(o, p, q):
    # p's support [mp, inf) must lie in q's [mq, inf); then
    # log(ap/aq) + aq log(mp/mq) + aq/ap - 1                           [Gil 2011, Table 3.1]
    val = q["alpha"] * _ratio(o, p["scale"], q["scale"])[1] + _g(o, *_ratio(o, q["alpha"], p["alpha"]))
    return o.where(p["scale"] >= q["scale"], val, math.inf)


@_same("cauchy")
def _kl_cauchy(o, p, q):
    # log(((gp + gq)^2 + (mp - mq)^2) / (4 gp gq)) = log1p(u^2 + v^2),
    # u = (gp - gq) / (2 sqrt(gp gq)), v = (mp - mq) / (2 sqrt(gp gq))   [Chyzak & Nielsen 2019]
    root = 2 * o.sqrt(p["scale"]) * o.sqrt(q["scale"])
    u = o.abs(p["scale"] - q["scale"]) / root
    v = o.abs(p["loc"] - q["loc"]) / root
    m = o.maximum(u, v)
    big = m > 1
    m_safe = o.where(big, m, 1.0)
    large = 2 * o.log(m_safe) + o.log((u / m_safe) ** 2 + (v / m_safe) ** 2)
    return o.where(big, large, o.log1p(u * u + v * v))


@_same("weibull")
def _kl_weibull(o, p, q):
    # log(kp/lp^kp) - log(kq/lq^kq) + (kp - kq)(log lp - g/kp) + (lp/lq)^kq G(kq/kp + 1) - 1
    #   [C. Bauckhage, "Computing the Kullback-Leibler divergence between two Weibull distributions",
    #    arXiv:1310.3713 (2013)], regrouped: log(kp/kq) - g (1 - kq/kp) - kq lr + expm1(kq lr + lnG(1 + kq/kp)),
    #    lr = log(lp/lq)
    kp, kq = p["concentration"], q["concentration"]
    lr = _ratio(o, p["scale"], q["scale"])[1]
    rho = kq / kp
    return o.log(kp) - o.log(kq) - EULER * (1 - rho) - kq * lr + o.expm1(kq * lr + o.lgamma(1 + rho))


@_same("vonmises")
def _kl_vonmises(o, p, q):
    # log I0(kq) - log I0(kp) + A(kp) (kp - kq cos(mp - mq)),  A = I1/I0     [from E_p cos(X - m) = A(kp) cos(mp - m);
    #   e.g. K. V. Mardia & P. E. Jupp, "Directional Statistics" (2000), sec. 3.5.4]; scaled Bessel functions
    #   (I0e = e^-k I0) keep large concentrations finite
    kp, kq = p["concentration"], q["concentration"]
    a = o.i1e(kp) / o.i0e(kp)
    return o.log(o.i0e(kq)) + kq - o.log(o.i0e(kp)) - kp + a * (kp - kq * o.cos(p["loc"] - q["loc"]))


def _cb_parts(o, lam):
    """(log C, mean, variance) of the continuous Bernoulli law CB(lam) (density C lam^x (1-lam)^(1-x) on [0, 1]).

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
    log_c_s = math.log(2) + u2 * (1 / 3 + u2 * (0.14444444444444444 + u2 * (0.088536155202821869 + u2 * 0.062627865961199295)))
    fu_s = -(1 / 3 + u2 * (0.088888888888888889 + u2 * (0.046560846560846561 + u2 * 0.030194003527336861)))  # f/u
    ud = o.where(small, 0.5, u)
    ld = o.where(small, 0.25, lam)
    at = 0.5 * (o.log1p(-ld) - o.log(ld))
    log_c_d = o.log(2 * at / ud)
    fu_d = (1 / at - 1 / ud) / ud
    log_c = o.where(small, log_c_s, log_c_d)
    fu = o.where(small, fu_s, fu_d)
    f = fu * u
    return log_c, 0.5 + f / 2, 0.25 + f * f / 4 + fu / 2


@_same("cbernoulli")
def _kl_cbernoulli(o, p, q):
    # E_p[log p - log q] with log CB(x) = log C + x log lam + (1 - x) log(1 - lam), linear in x
    lp, lq = p["lam"], q["lam"]
    cp, mean, _ = _cb_parts(o, lp)
    cq = _cb_parts(o, lq)[0]
    return cp - cq + mean * (o.log(lp) - o.log(lq)) + (1 - mean) * (o.log1p(-lp) - o.log1p(-lq))


@_same("poisson")
def _kl_poisson(o, p, q):
    # lp log(lp/lq) - lp + lq, with 0 log 0 = 0
    lp, lq = p["rate"], q["rate"]
    return o.xlogy(lp, lp) - o.xlogy(lp, lq) + lq - lp


@_same("bernoulli")
def _kl_bernoulli(o, p, q):
    a, b = p["p"], q["p"]
    return o.xlogy(a, a) - o.xlogy(a, b) + o.xlogy(1 - a, 1 - a) - o.xlogy(1 - a, 1 - b)


@_same("binomial")
def _kl_binomial(o, p, q):
    # n KL(Bernoulli) for equal n; n_p > n_q leaves p mass where q has none; n_p < n_q has no closed form
    n_p, n_q = p["n"], q["n"]
    more = n_p > n_q
    if bool((n_p < n_q).any()):
        raise NoClosedForm("binomials with n_p < n_q")
    return o.where(more, math.inf, n_p * _kl_bernoulli(o, p, q))


@_same("geometric")
def _kl_geometric(o, p, q):
    # same start s: log(pp/pq) + ((1 - pp)/pp) log((1 - pp)/(1 - pq))
    if bool((p["start"] != q["start"]).any()):
        raise NoClosedForm("geometric laws with different starting points")
    a, b = p["p"], q["p"]
    return o.log(a) - o.log(b) + (o.xlogy(1 - a, 1 - a) - o.xlogy(1 - a, 1 - b)) / a


@_same("categorical")
def _kl_categorical(o, p, q):
    from .. import discrete

    return discrete.kl(p["probs"], q["probs"], normalize=True)


@_same("mvn")
def _kl_mvn(o, p, q):
    # 1/2 [tr(Sq^-1 Sp) + (mq - mp)' Sq^-1 (mq - mp) - d + log|Sq| - log|Sp|]     [Penny 2001, eq. 2]
    # with S = L L': tr = ||Lq^-1 Lp||_F^2, Mahalanobis = ||Lq^-1 (mq - mp)||^2, log|S| = 2 sum log diag L.
    Lp, Lq = p["scale_tril"], q["scale_tril"]
    diff = q["loc"] - p["loc"]
    d = Lp.shape[-1]
    if o.backend == "torch":
        t = o.t
        shape = t.broadcast_shapes(Lp.shape, Lq.shape)
        Lp_, Lq_ = Lp.expand(shape), Lq.expand(shape)
        M = t.linalg.solve_triangular(Lq_, Lp_, upper=False)
        z = t.linalg.solve_triangular(Lq_, diff.expand(shape[:-1]).unsqueeze(-1), upper=False).squeeze(-1)
        logdet_p = t.log(t.diagonal(Lp, dim1=-2, dim2=-1)).sum(-1)
        logdet_q = t.log(t.diagonal(Lq, dim1=-2, dim2=-1)).sum(-1)
        tr = (M * M).sum((-2, -1))
        maha = (z * z).sum(-1)
    else:
        import scipy.linalg as sl

        shape = np.broadcast_shapes(Lp.shape, Lq.shape)
        Lp_, Lq_ = np.broadcast_to(Lp, shape), np.broadcast_to(Lq, shape)
        dd = np.broadcast_to(diff, shape[:-1])
        batch = shape[:-2]
        tr = np.empty(batch)
        maha = np.empty(batch)
        for idx in np.ndindex(batch):
            M = sl.solve_triangular(Lq_[idx], Lp_[idx], lower=True, check_finite=True)
            z = sl.solve_triangular(Lq_[idx], dd[idx], lower=True, check_finite=True)
            tr[idx] = np.sum(M * M)
            maha[idx] = np.sum(z * z)
        logdet_p = np.log(np.diagonal(Lp, axis1=-2, axis2=-1)).sum(-1)
        logdet_q = np.log(np.diagonal(Lq, axis1=-2, axis2=-1)).sum(-1)
    _warn_conditioning(o, Lp, Lq, d)
    return 0.5 * (tr + maha - d) + (logdet_q - logdet_p)


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
