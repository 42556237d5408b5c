"""Same-family closed forms of the gamma, beta and Dirichlet families, registered in ``_registry.SAME``.

The three share the Bregman divergence of L(a) = lnG(a) - a log a + a (``_ops.GAMMA_L``) and the psi
differences of ``_ops``: D(Gamma) = B(kp, kq) + kq (s - 1 - log s), the beta is the two-component Dirichlet,
and the Dirichlet splits into a0q KL(mq || mp) of its means plus the Bregman divergences of its
concentrations (each form's source and method beside it). See ``_same`` for the method common to every
family: regrouped non-negative terms, torch gradients from closed-form partials.
"""

from __future__ import annotations

import math

import numpy as np

from ._autograd import analytic as _analytic  # torch gradients from closed-form partials
from ._ops import (
    GAMMA_L,
    _g,
    _gl_nodes,
    _nonneg,
    _ratio,
    _relent_dl,
    breg,
    lbeta,
    psi_diff,
    psi_sub,
    x3_neg_psi2,
    x_trigamma,
)
from ._registry import register as _same

__all__ = []


@_same("gamma")
def _kl_gamma(o, p, q):
    return _analytic(o, _gamma_value, _gamma_partials, p["concentration"], p["rate"], q["concentration"], q["rate"])


def _gamma_partials(o, kp, bp, kq, bq):
    """Penny's partials (rate form): dD/dkp = (kp - kq) psi'(kp) + (bq - bp)/bp, dD/dbp = (kq - kp bq/bp)/bp,
    dD/dkq = psi(kq) - psi(kp) + log(bp/bq), dD/dbq = kp/bp - kq/bq; psi' and psi differences as for the Dirichlet."""
    g_kp = ((kp - kq) / kp) * x_trigamma(o, kp) + (bq - bp) / bp
    # kq/bp - kp bq/bp^2 overflowed into inf - inf at bp = bq = 1e-12, kp = kq = 1e297 (truth 0): the difference is
    # taken before the division where kp bq/bp is finite, the quotients apart where it is not (bq/bp = 1e309 with
    # kp = 0.1: dD/dbq = kp/bp - kq/bq = 1e70)
    kr = kp * (bq / bp)
    fin = o.abs(kr) < math.inf
    g_bp = o.where(fin, (kq - kr) / bp, kq / bp - kr / bp)
    g_kq = psi_sub(o, kq, kp) + _ratio(o, bp, bq)[1]
    g_bq = o.where(fin, (kr - kq) / bq, kp / bp - kq / bq)
    return g_kp, g_bp, g_kq, g_bq


def _gamma_value(o, kp, bp, kq, bq):
    # (kp - kq) psi(kp) - lnG(kp) + lnG(kq) + kq (log bp - log bq) + kp (bq - bp)/bp      [Penny 2001, eq. 6, rate form]
    # = B(kp, kq) + kq (s - 1 - log s),  s = (bq/bp) / (kq/kp),  where
    # B = lnG(kq) - lnG(kp) - psi(kp)(kq - kp) + (kq - kp) - kq log(kq/kp) = D(Gamma(kp, kp) || Gamma(kq, kq))
    # is the Bregman divergence of L(k) = lnG(k) - k log k + k (convex): two non-negative terms, each
    # computed without cancellation (``breg``; issue 12 class 3: Gamma(1e8) vs Gamma(1e8 + 1))
    ds, ls, lb = _ratio_of_ratios(o, bq, bp, kq, kp)
    # s itself may overflow where kq s does not (Gamma(1e148, 1) || Gamma(1e-161, 1): s = 1e309, D = 1e148 was inf):
    # there kq (s - 1 - log s) = kq s - kq (1 + log s) with kq s = kp bq / bp = exp(log kp + log(bq/bp)), relative error
    # ~ eps |log kq s|. Written without kq: exp(log kq + log s) had the derivative 1e148 (1/kq - 1/kq) in kq, inf - inf
    huge = ls > 700
    with np.errstate(over="ignore"):
        far = o.exp(o.where(huge, o.log(o.where(huge, kp, 1.0)) + lb, 0.0)) - kq * (1 + ls)
    return breg(o, GAMMA_L, kp, kq) + o.where(huge, far, kq * _g(o, o.where(huge, 0.0, ds), o.where(huge, 0.0, ls)))


def _ratio_of_ratios(o, a, b, c, e):
    """(s - 1, log s, log(a/b)) for s = (a/b) / (c/e) > 0: from the relative differences where both ratios are
    within a factor 1.5 of 1 (s - 1 = (d_ab - d_ce)/(1 + d_ce), nothing rounded first), else from logs."""
    d1, l1 = _ratio(o, a, b)
    d2, l2 = _ratio(o, c, e)
    near = (o.abs(d1) < 0.5) & (o.abs(d2) < 0.5)
    ds = o.where(near, (d1 - d2) / (1 + o.where(near, d2, 0.0)), 0.0)
    ls = l1 - l2
    # s - 1 = inf beyond the float range, with expm1 never evaluated there (its derivative would be 0 * inf = NaN)
    over = ls > 709.0
    sm1 = o.where(over, math.inf, o.expm1(o.where(over | near, 0.0, ls)))
    return o.where(near, ds, sm1), o.where(near, o.log1p(ds), ls), l1


@_same("beta")
def _kl_beta(o, p, q):
    # the two-component Dirichlet [Penny 2001]
    stack = (
        (lambda *xs: o.t.stack(o.t.broadcast_tensors(*xs), -1))
        if o.backend == "torch"
        else (lambda *xs: np.stack(np.broadcast_arrays(*xs), -1))
    )
    return _kl_dirichlet.formula(o, {"alpha": stack(p["a"], p["b"])}, {"alpha": stack(q["a"], q["b"])})


@_same("dirichlet")
def _kl_dirichlet(o, p, q):
    ap, aq = p["alpha"], q["alpha"]
    shape = tuple(o.broadcast_shapes(tuple(ap.shape), tuple(aq.shape)))
    ap, aq = o.broadcast_to(ap, shape), o.broadcast_to(aq, shape)
    return _analytic(o, _dirichlet_value, _dirichlet_partials, ap, aq)


def _dirichlet_partials(o, ap, aq):
    """Penny's partials: dD/dap_i = (ap_i - aq_i) psi'(ap_i) - (a0p - a0q) psi'(a0p), dD/daq_i = psi(aq_i) - psi(ap_i)
    - (psi(a0q) - psi(a0p)), each product as ((a - b)/a) (a psi'(a)) and each psi difference by psi_diff: no overflow
    of psi'(a) ~ 1/a^2 at tiny a, and no cancellation of psi at large a."""
    a0p, a0q = o.sum(ap, -1)[..., None], o.sum(aq, -1)[..., None]
    d0 = o.sum(ap - aq, -1)[..., None]
    xa, x0 = x_trigamma(o, ap), x_trigamma(o, a0p)
    gp = ((ap - aq) / ap) * xa - (d0 / a0p) * x0
    # both products overflow where a0p is tiny (1/a^2 ~ 1e308 at 1e-154): there the two, each scaled by a0p^2 first,
    # are differenced and divided by a0p twice (Dir([1e-154, 1e-156]) || Dir([1, 1]): -inf - -inf = NaN for 9.6e307)
    bad = ~o.isfinite(gp)
    if bool(bad.any()):
        c = o.where(bad, a0p, 1.0)
        with np.errstate(over="ignore"):
            scaled = ((((ap - aq) / ap) * c) * (xa * c) - ((d0 / a0p) * c) * (x0 * c)) / c / c
        gp = o.where(bad, scaled, gp)
    gq = psi_sub(o, aq, ap) - psi_sub(o, a0q, a0p)
    return gp, gq


def _dirichlet_value(o, ap, aq):
    # lnG(a0p) - sum lnG(ap) - lnG(a0q) + sum lnG(aq) + sum (ap - aq)(psi(ap) - psi(a0p))     [Penny 2001, eq. 11]
    # is the Bregman divergence of A(a) = sum lnG(a_i) - lnG(a0).  With lnG(a) = L(a) + a log a - a
    # (L as for the gamma family) it splits into
    #   a0q KL(mq || mp)  (m = a / a0, the means; from a log a - a)  +  sum_i B(api, aqi) - B(a0p, a0q)
    # (B = breg of L): the first >= 0 and computed termwise as mp phi(mq/mp - 1); the second is the
    # Bregman divergence of sum L(a_i) - L(a0), >= 0 and O(1/a) smaller, so large and near-identical
    # concentrations do not cancel (issue 12 class 3).
    dl = aq - ap
    a0p, a0q, d0 = o.sum(ap, -1), o.sum(aq, -1), o.sum(dl, -1)
    rho_m1, lrho, rp, rq = _mean_ratios(o, ap, aq, a0p, a0q, d0)
    kl_means = o.sum(_relent_dl(o, aq / a0q[..., None], ap / a0p[..., None], rho_m1, lrho), -1)
    rest = o.sum(breg(o, GAMMA_L, ap, aq, dl), -1)
    close = o.abs(d0 / a0p) < 0.5
    rest0 = breg(o, GAMMA_L, a0p, o.where(close, a0p + d0, a0q), d0)
    val = a0q * kl_means + (rest - rest0)
    breg_scale = a0q * kl_means + rest + rest0
    # That split cancels where one concentration of p is far below the others: at Beta(1.2e-189, 3.3e-101) ||
    # Beta(3.4e-259, 33.5) rest and rest0 are both ~ 33.5 / 3.3e-101 = 1e102 for a D of 3.6e13. There Penny's
    # formula taken term by term has no such terms (_dirichlet_direct). Each form's rounding error is below
    # a few eps times the sum of its terms' magnitudes: the form with the smaller sum is taken.
    direct, direct_scale = _dirichlet_direct(o, ap, aq, rp)
    # ... or where the split gives inf - inf = NaN (a D beyond the float range: the direct form's inf is right)
    use_direct = (direct_scale < breg_scale) | ((val != val) & (direct == math.inf))
    value, scale = o.where(use_direct, direct, val), o.where(use_direct, direct_scale, breg_scale)
    # Neither form where a concentration is the same in p and q and far below the others: Beta(1e-31, 1) || Beta(1e-31,
    # 0.9999) is 1.2e-39, while the split differences O(1e-8) terms (it gave 5.0e-40) and the direct form O(1) ones.
    # There the chain rule splits off that component exactly (_shared_chain), each part >= 0.
    chain = _shared_chain(o, ap, aq, rp, rq)
    if chain is not None:
        rows, cv = chain
        value, scale = o.masked_set(value, rows, cv), o.masked_set(scale, rows, cv)
    return _nonneg(o, value, scale)


def _shared_chain(o, ap, aq, rp, rq):
    """(rows, D) for the rows where some concentration e = ap_i = aq_i is at most half of both rp_i = a0p - ap_i
    and rq_i = a0q - aq_i (the smallest such i taken), else None.

    Dir(a) is the law of (B V, (1 - B) W) with B ~ Beta(a_i, a0 - a_i) and the rest W ~ Dir(a_(-i)) independent
    (aggregation of gamma variables), and the i-th coordinate's own factor is the same in p and q, so the chain
    rule of KL gives, exactly, D(Dir(ap) || Dir(aq)) = D(Beta(e, rp_i) || Beta(e, rq_i)) + D(Dir(ap_(-i)) || Dir(aq_(-i)))
    (the second 0 for two components): two terms >= 0, the first by :func:`_beta_shared`, the second by this
    formula again. Computed on those rows only."""
    k = ap.shape[-1]
    lo = o.minimum(rp, rq)
    cand = (ap == aq) & (ap <= 0.5 * lo) & (lo >= 1e-100)
    if k < 2 or not bool(cand.any()):
        return None
    batch = tuple(ap.shape[:-1])
    flat = [a.reshape(-1, k) for a in (ap, aq, rp, rq, cand)]
    rows = flat[4].any(-1)
    aps, aqs, rps, rqs, cands = (a[rows] for a in flat)
    score = o.where(cands, aps, math.inf)
    first = score.argmin(-1) if o.backend == "torch" else np.argmin(score, -1)
    cols = o.t.arange(k, device=aps.device) if o.backend == "torch" else np.arange(k)
    pick = cols[None, :] == first[:, None]
    e, A, B = (o.sum(o.where(pick, a, 0.0), -1) for a in (aps, rps, rqs))
    out = _beta_shared(o, e, A, B)
    if k > 2:
        rest = ~pick
        out = out + _dirichlet_value(o, aps[rest].reshape(-1, k - 1), aqs[rest].reshape(-1, k - 1))
    return rows.reshape(batch), out


def _beta_shared(o, e, A, B):
    """D(Beta(e, A) || Beta(e, B)) for 0 < e <= min(A, B)/2, to full relative accuracy at any small e.

    From Penny's formula it is G = F(A) - F(B) + F'(A)(B - A) with F(a) = lnG(a + e) - lnG(a): the Bregman
    divergence of -F, whose second derivative is psi'(a) - psi'(a + e) = e int_0^1 -psi''(a + v e) dv > 0. So
    - A, B within a factor 2: Taylor's remainder h^2 int_0^1 (1 - u) (psi'(a) - psi'(a + e)) du, a = A + u h,
      h = B - A, a double 16-point Gauss-Legendre quadrature of (h/z)^2 (e/z) z^3 (-psi''(z)), z = a + v e
      (every factor bounded: no overflow at tiny or huge shapes; the integrand is analytic on a disc around
      the square at least its size away, so the error is below 1e-20);
    - else G = int_0^e [psi(A + t) - psi(B + t) + psi'(A + t) h] dt (the integrand is the Bregman divergence of
      -psi, a fixed fraction of its terms where A and B are a factor 2 apart) by 16-point Gauss-Legendre over t,
      the psi difference by :func:`psi_sub`.
    Neither differences two O(1) quantities to get an O(e) one, which is what the split and the direct form do.
    """
    u, w = _gl_nodes(o)
    h = B - A
    near = (B <= 2 * A) & (A <= 2 * B)
    he, ee = h[..., None, None], e[..., None, None]
    z = A[..., None, None] + u[:, None] * he + u * ee  # (rows, u, v)
    f = (he / z) ** 2 * (ee / z) * x3_neg_psi2(o, z)
    near_val = o.sum(w * (1 - u) * o.sum(w * f, -1), -1)
    x, y = A[..., None] + u * e[..., None], B[..., None] + u * e[..., None]
    far_val = e * o.sum(w * (psi_sub(o, x, y) + o.polygamma(1, x) * h[..., None]), -1)
    return o.where(near, near_val, far_val)


def _mean_ratios(o, ap, aq, a0p, a0q, d0):
    """(rho - 1, log rho, Rp, Rq) for rho_i = mq_i / mp_i (m = a / a0, the means) and R_i = a0 - a_i."""
    # KL(mq || mp) = sum_i [mq log(mq/mp) - mq + mp] termwise (each >= 0), rho_i = mq_i/mp_i as a ratio of
    # ratios (a_qi/a_pi) / (a0q/a0p): from relative differences where both are near 1, else from logs
    di, li = _ratio(o, aq, ap)
    d0r = d0 / a0p
    l0 = o.where(o.abs(d0r) < 0.5, o.log1p(o.where(o.abs(d0r) < 0.5, d0r, 0.0)), _ratio(o, a0q, a0p)[1])
    d0x, l0x = d0r[..., None], l0[..., None]
    near = (o.abs(di) < 0.5) & (o.abs(d0x) < 0.5)
    # else rho_i - 1 = ((aq_i/ap_i) Rp_i - Rq_i) / a0q with R_i = a0 - a_i summed from the other components:
    # no cancellation unless the concentrations are nearly proportional (then kappa is large); logs where that
    # is not finite or rho is far below 1
    bp, ap_ = _exclusive_sums(o, ap)
    bq, aq_ = _exclusive_sums(o, aq)
    # numerator aq_i Rp_i - ap_i Rq_i by exact products: formed as (aq_i/ap_i) Rp_i - Rq_i, the rounding of the
    # quotient (eps Rq_i) is all that is left of near-proportional concentrations, and a0q KL(mq || mp) ~ a0q
    # (rho - 1)^2 then grows it to a0q eps^2 (Beta(1e212, 1e212) || Beta(1e35, 1e35): 1054 for 203.28)
    sp, sq = _pow2_inv(o, a0p)[..., None], _pow2_inv(o, a0q)[..., None]  # exact rescalings: no overflow below
    k = ap.shape[-1]
    if k <= 64 and (ap.numel() if o.backend == "torch" else ap.size) * k <= 4_000_000:  # (batch, k, k) temporaries
        # R_i = sum_(j != i) a_j is rounded for k > 2; sum_j (aq_i ap_j - ap_i aq_j) pair by pair is not (O(k^2))
        aqs, aps = aq * sq, ap * sp
        num = o.sum(_diff_of_products(o, aqs[..., :, None], aps[..., None, :], aps[..., :, None], aqs[..., None, :]), -1)
    else:
        num = _diff_of_products(o, aq * sq, (bp + ap_) * sp, ap * sp, (bq + aq_) * sq)
    alt = num / ((ap * sp) * (a0q[..., None] * sq))
    # the exact-product form is taken wherever its scaled operands are far from underflow, also for nearly
    # equal concentrations: (di - d0)/(1 + d0) there differences two relative differences each rounded to eps
    # (Dirichlet [1e180, 1e193] || [9.99e179, 9.99e192]: 2.4e155 for 2.4e147)
    floor = 1e-250
    exact_ok = (ap * sp > floor) & (aq * sq > floor) & ((bp + ap_) * sp > floor) & ((bq + aq_) * sq > floor)
    use_alt = exact_ok & (alt > -0.5) & (alt < 1e300)
    rho_m1 = o.where(use_alt, alt, o.where(near, (di - d0x) / (1 + o.where(near, d0x, 0.0)), o.expm1(li - l0x)))
    lrho = o.where(near | use_alt, o.log1p(o.where(near | use_alt, rho_m1, 0.0)), li - l0x)
    return rho_m1, lrho, bp + ap_, bq + aq_


def _pow2_inv(o, x):
    """2^-e for x = m 2^e, 1/2 <= m < 1: x times it lies in [1/2, 1), exactly."""
    if o.backend == "torch":
        return o.t.ldexp(o.t.ones_like(x), -o.t.frexp(x)[1])
    return np.ldexp(1.0, -np.frexp(x)[1])


def _two_prod(o, a, b):
    """(p, e) with p = fl(a b) and p + e = a b exactly (Dekker 1971, Numer. Math. 18, with Veltkamp's splitting);
    valid while 2^27 |a|, 2^27 |b| and the products do not overflow or underflow."""
    ca, cb = 134217729.0 * a, 134217729.0 * b  # 2^27 + 1
    ah, bh = ca - (ca - a), cb - (cb - b)
    al, bl = a - ah, b - bh
    p = a * b
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _diff_of_products(o, a, b, c, d):
    """a b - c d, exact products subtracted (p1 - p2 is exact where they are within a factor 2): no loss to
    cancellation when a b and c d nearly agree."""
    p1, e1 = _two_prod(o, a, b)
    p2, e2 = _two_prod(o, c, d)
    return (p1 - p2) + (e1 - e2)


def _log_multibeta(o, a, before):
    """log B(a) = sum lgamma(a_i) - lgamma(a_0) as sum_i log B(a_1 + .. + a_(i-1), a_i) (B(a) is that product of
    beta functions: Gamma(s_(i-1)) Gamma(a_i) / Gamma(s_i) telescopes), each by :func:`._ops.lbeta`, which does not
    cancel at large arguments; ``before`` holds the partial sums a_1 + .. + a_(i-1) (0 for i = 1, which adds 0)."""
    first = before <= 0
    return o.sum(o.where(first, 0.0, lbeta(o, o.where(first, 1.0, before), a)), -1)


def _dirichlet_direct(o, ap, aq, rp):
    """Penny (2001), eq. 11, term by term: (value, sum of the terms' magnitudes).

    log B(aq) - log B(ap) + sum_i (ap_i - aq_i) (psi(ap_i) - psi(a0p)), with psi(ap_i) - psi(a0p) =
    psi_diff(ap_i, a0p - ap_i) (no overflow or cancellation at tiny ap_i) and ``rp`` = a0p - ap_i from
    exclusive sums (no cancellation either)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        lbp = _log_multibeta(o, ap, _exclusive_sums(o, ap)[0])
        lbq = _log_multibeta(o, aq, _exclusive_sums(o, aq)[0])
        t = (ap - aq) * psi_diff(o, ap, rp)
        val = lbq - lbp + o.sum(t, -1)
        mag = o.abs(lbq) + o.abs(lbp) + o.sum(o.abs(t), -1)
    return val, o.where(mag == mag, mag, math.inf)


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
