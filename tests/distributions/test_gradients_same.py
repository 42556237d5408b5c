"""Torch gradients of the gamma, beta and Dirichlet closed forms against Penny's (2001) partial derivatives in mpmath.

The values are regrouped into non-negative terms to keep their digits; differentiating that computation by the chain
rule did not keep the gradient's (Gamma(2.9e28, 7.5e16) || Gamma(1.5e-25, 7.5e16): 2e37 for -6.5e24 in q's shape;
inf, NaN or 0 at tiny shapes), so torch now differentiates the closed-form partials (``distributions._autograd.analytic``):

    gamma (rate form):  dD/dkp = (kp - kq) psi'(kp) + bq/bp - 1,   dD/dbp = kq/bp - kp bq/bp^2,
                        dD/dkq = psi(kq) - psi(kp) + log(bp/bq),    dD/dbq = kp/bp - kq/bq;
    Dirichlet:          dD/dap_i = (ap_i - aq_i) psi'(ap_i) - (a0p - a0q) psi'(a0p),
                        dD/daq_i = psi(aq_i) - psi(ap_i) - psi(a0q) + psi(a0p)   (beta: k = 2).

Reference: those expressions in mpmath at 700 digits (psi of 1e-287 beside psi of 1e-193 needs ~100 digits beyond
the magnitudes). Bound per component: 64 eps times the sum of the magnitudes of its terms (each term is formed to a
few eps; where they cancel, near-identical p and q, that is the conditioning of the expression), plus, for the
Dirichlet, 8 eps a0 psi'(a0) on the q side and 8 eps psi'(a0p) sum |ap_i - aq_i| on the p side (the rounding of the
sums a0 and a0p - a0q), plus the subnormal spacing.
"""

import math

import mpmath as mp
import numpy as np
import pytest
import torch
import torch.distributions as D
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as hs

import kullback as kb

pytestmark = pytest.mark.fuzz
EPS = 2.0**-52
N = max(10, settings().max_examples // 2)


def _value(lo=-300, hi=300):
    return hs.one_of(hs.floats(lo, hi).map(lambda u: 10.0**u), hs.floats(-3, 3).map(lambda u: 10.0**u))


@hs.composite
def pair(draw, n):
    p = [draw(_value()) for _ in range(n)]
    q = [draw(_value()) for _ in range(n)]
    for i in range(n):
        how = draw(hs.sampled_from(["free", "free", "same", "near"]))
        if how == "same":
            q[i] = p[i]
        elif how == "near":
            q[i] = p[i] * (1 + draw(hs.floats(-1, 1)) * 10.0 ** draw(hs.floats(-12, -1)))
    return p, q


def _check(got, want, scale):
    note(f"torch {got}, mpmath {[mp.nstr(w, 17) for w in want]}, bound scale {[mp.nstr(s, 3) for s in scale]}")
    for g, w, s in zip(got, want, scale):
        if not math.isfinite(float(w)):
            continue
        assert math.isfinite(g), f"gradient {g} where the truth is {mp.nstr(w, 17)}"
        assert abs(mp.mpf(g) - w) <= 64 * EPS * s + 1e-300, f"gradient {g}, truth {mp.nstr(w, 17)} (bound scale {mp.nstr(s, 3)})"


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair(4))
@example(([1e297, 1e-12, 1.0, 1.0], [1e297, 1e-12, 1.0, 1.0]))  # found by the long profile: NaN (inf - inf) for 0
@example(([0.1, 1e-71, 1.0, 1.0], [1.0, 1e238, 1.0, 1.0]))  # inf for 1e70 (bq/bp overflows, kp/bp - kq/bq does not)
@example(([2.9348957903596856e28, 7.545957707857195e16, 1, 1], [1.5440143851695585e-25, 7.549966719025491e16, 1, 1]))
def test_gamma_gradient_against_penny(pq):
    P, Q = (pq[0][0], pq[0][1]), (pq[1][0], pq[1][1])
    args = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (*P, *Q)]
    val = kb.kl(D.Gamma(args[0], args[1]), D.Gamma(args[2], args[3]))
    if not torch.isfinite(val):
        return
    val.backward()
    with mp.workdps(700):
        kp, bp, kq, bq = (mp.mpf(v) for v in (*P, *Q))
        t = [
            ((kp - kq) * mp.psi(1, kp), bq / bp - 1),
            (kq / bp, -kp * bq / bp**2),
            (mp.psi(0, kq) - mp.psi(0, kp), mp.log(bp / bq)),
            (kp / bp, -kq / bq),
        ]
        _check([a.grad.item() for a in args], [x + y for x, y in t], [abs(x) + abs(y) for x, y in t])


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hs.integers(2, 4).flatmap(pair))
def test_dirichlet_and_beta_gradient_against_penny(pq):
    P, Q = pq
    a, b = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (P, Q))
    if len(P) == 2:  # through torch's Beta (two shape tensors)
        ab = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (*P, *Q)]
        val = kb.kl(D.Beta(ab[0], ab[1]), D.Beta(ab[2], ab[3]))
        if not torch.isfinite(val):
            return
        val.backward()
        got = [ab[0].grad.item(), ab[1].grad.item(), ab[2].grad.item(), ab[3].grad.item()]
    else:
        val = kb.kl(D.Dirichlet(a), D.Dirichlet(b))
        if not torch.isfinite(val):
            return
        val.backward()
        got = a.grad.tolist() + b.grad.tolist()
    with mp.workdps(700):
        ap, aq = [mp.mpf(v) for v in P], [mp.mpf(v) for v in Q]
        a0p, a0q = mp.fsum(ap), mp.fsum(aq)
        tp = [((x - y) * mp.psi(1, x), -(a0p - a0q) * mp.psi(1, a0p)) for x, y in zip(ap, aq)]
        tq = [(mp.psi(0, y) - mp.psi(0, x), -(mp.psi(0, a0q) - mp.psi(0, a0p))) for x, y in zip(ap, aq)]
        sums = 8 * (a0p * mp.psi(1, a0p) + a0q * mp.psi(1, a0q))  # q side: the rounding of a0p, a0q
        d0 = 8 * mp.fsum(abs(x - y) for x, y in zip(ap, aq)) * mp.psi(1, a0p)  # p side: that of a0p - a0q
        want = [x + y for x, y in tp + tq]
        scale = [abs(x) + abs(y) + (d0 if i < len(tp) else sums) for i, (x, y) in enumerate(tp + tq)]
        _check(got, want, scale)


def test_second_derivatives_are_those_of_the_closed_form():
    """Double backward goes through the partials: d2D/dkq2 = psi'(kq) and d2D/dkp dkq = -psi'(kp) for gamma;
    d2D/daq_i daq_j = psi'(aq_i) [i = j] - psi'(a0q) for the Dirichlet (mpmath). To 1e-8: the second derivative of
    torch's digamma is torch's trigamma, off by up to 5e-10 relative."""
    kq = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    kp = torch.tensor(2.5, dtype=torch.float64, requires_grad=True)
    val = kb.kl(D.Gamma(kp, torch.tensor(1.5, dtype=torch.float64)), D.Gamma(kq, torch.tensor(0.5, dtype=torch.float64)))
    (g,) = torch.autograd.grad(val, kq, create_graph=True)
    h_qq, h_qp = torch.autograd.grad(g, (kq, kp))
    assert h_qq.item() == pytest.approx(float(mp.psi(1, mp.mpf(0.7))), rel=1e-8)
    assert h_qp.item() == pytest.approx(float(-mp.psi(1, mp.mpf(2.5))), rel=1e-8)
    b = torch.tensor([1.5, 0.3, 2.0], dtype=torch.float64, requires_grad=True)
    val = kb.kl(D.Dirichlet(torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64)), D.Dirichlet(b))
    (g,) = torch.autograd.grad(val, b, create_graph=True)
    H = torch.stack([torch.autograd.grad(g[i], b, retain_graph=True)[0] for i in range(3)])
    a0 = mp.mpf(1.5) + mp.mpf(0.3) + mp.mpf(2.0)
    want = [[float((mp.psi(1, mp.mpf(v)) if i == j else 0) - mp.psi(1, a0)) for j in range(3)] for i, v in enumerate([1.5, 0.3, 2.0])]
    for row, wrow in zip(H.tolist(), want):
        assert row == pytest.approx(wrow, rel=1e-8)


def _mvn_partials(mu_p, Lp, mu_q, Lq):
    """D and its partials for N(mu_p, Lp Lp') || N(mu_q, Lq Lq') in mpmath (60 digits), with bound scales.

    D = 1/2 [tr(Sq^-1 Sp) + dl' Sq^-1 dl - d + log|Sq| - log|Sp|], dl = mu_q - mu_p (Penny 2001, eq. 2), so
    dD/dmu_p = -Sq^-1 dl, dD/dmu_q = Sq^-1 dl, dD/dLp = tril(Sq^-1 Lp) - diag(1/Lp_ii),
    dD/dLq = tril(-Sq^-1 (Sp + dl dl') Lq^-T) + diag(1/Lq_ii) (matrix calculus on the lower triangles, the
    parameters). Scale of each: the largest entry of the same products in absolute values, plus 1/|L_ii|."""
    with mp.workdps(60):
        d = len(mu_p)
        Lp_, Lq_ = mp.matrix(Lp.tolist()), mp.matrix(Lq.tolist())
        A = Lq_**-1
        Sqi = A.T * A
        dl = mp.matrix(mu_q.tolist()) - mp.matrix(mu_p.tolist())
        S = Lp_ * Lp_.T + dl * dl.T
        g_mu = Sqi * dl
        G_p, G_q = Sqi * Lp_, -(Sqi * S * A.T)
        absm = lambda M: M.apply(abs)
        s_mu = max(absm(Sqi) * absm(dl))
        s_p = max(absm(Sqi) * absm(Lp_)) + max(1 / abs(Lp_[i, i]) for i in range(d))
        s_q = max(absm(Sqi) * absm(S) * absm(A.T)) + max(1 / abs(Lq_[i, i]) for i in range(d))
        for i in range(d):
            G_p[i, i] -= 1 / Lp_[i, i]
            G_q[i, i] += 1 / Lq_[i, i]
        low = [(i, j) for i in range(d) for j in range(i + 1)]
        want = [-v for v in g_mu] + [G_p[i, j] for i, j in low] + list(g_mu) + [G_q[i, j] for i, j in low]
        scale = [s_mu] * d + [s_p] * len(low) + [s_mu] * d + [s_q] * len(low)
        return want, scale, low


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    d=hs.integers(2, 4),
    log_scale=hs.floats(-280, 280),
    how=hs.sampled_from(["free", "near", "same"]),
    rel=hs.floats(-12, -2),
    seed=hs.integers(0, 2**32 - 1),
)
def test_mvn_gradient_against_matrix_calculus(d, log_scale, how, rel, seed):
    """Torch gradients of kb.kl between MultivariateNormal(loc, scale_tril) laws, d = 2..4 (d = 1 is the normal,
    fuzzed in test_gradients_families), scales 10^[-280, 280], q free, near p (10^rel relative) or equal to p.
    Bound: 64 eps cond(Lp) cond(Lq) times the scale of each partial (the triangular solves' conditioning).
    Only the lower triangles are compared: they are the parameters (entries above the diagonal are not read
    as a covariance, and no gradient is promised for them)."""
    g = np.random.default_rng(seed)
    s = 10.0**log_scale

    def factor():
        M = np.tril(g.standard_normal((d, d)))
        M[np.diag_indices(d)] = np.abs(M[np.diag_indices(d)]) + 0.1
        return M

    Lp, mu_p = factor() * s, g.standard_normal(d) * s
    if how == "free":
        Lq, mu_q = factor() * s * 10.0 ** g.uniform(-2, 2), g.standard_normal(d) * s
    else:
        t = 10.0**rel if how == "near" else 0.0
        Lq, mu_q = np.tril(Lp * (1 + t * g.standard_normal((d, d)))), mu_p + t * s * g.standard_normal(d)
    args = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (mu_p, Lp, mu_q, Lq)]
    P = D.MultivariateNormal(args[0], scale_tril=args[1])
    Q = D.MultivariateNormal(args[2], scale_tril=args[3])
    kb.kl(P, Q).backward()
    want, scale, low = _mvn_partials(mu_p, Lp, mu_q, Lq)
    tri = lambda G: [G[i, j].item() for i, j in low]
    got = args[0].grad.tolist() + tri(args[1].grad) + args[2].grad.tolist() + tri(args[3].grad)
    kappa = float(np.linalg.cond(Lp) * np.linalg.cond(Lq))
    _check(got, want, [kappa * sc for sc in scale])
