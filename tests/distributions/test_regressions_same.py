"""Regression tests for the same-family closed forms (issue 12, classes 1-4), one per reported example.

Every expected value is mpmath's: :func:`mpref.same_kl` evaluates the textbook closed form
(typed in independently of kullback's regrouped formulas) at 50+ digits, at the parameters exactly
as the float64 / float32 inputs hold them.
"""

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st
import torch
import torch.distributions as D

import kullback as kb
from kullback.distributions._closed import SAME
from kullback.distributions._ops import Ops

from . import mpref

F32_MAX = float(torch.finfo(torch.float32).max)


def f32(x):
    return torch.tensor(x, dtype=torch.float32)


def f64(x):
    return torch.tensor(x, dtype=torch.float64)


def ref(family, P, Q):
    return float(mpref.same_kl(family, P, Q))


def r32(x):
    return float(np.float32(x))


# ---------------------------------------------------------------- class 1: a wrong closed form


def test_cauchy_far_apart_keeps_the_one_in_log_1_plus():
    """log(((gp + gq)^2 + d^2) / (4 gp gq)) = log 3.25 for d = 3, unit scales (was 0.8109: the m > 1 branch
    dropped the 1/m^2 term)."""
    want = ref("cauchy", {"loc": 0.0, "scale": 1.0}, {"loc": 3.0, "scale": 1.0})
    assert want == pytest.approx(math.log(3.25), rel=1e-15)
    assert kb.kl(st.cauchy(0, 1), st.cauchy(3, 1)) == pytest.approx(want, rel=1e-14)
    assert kb.kl(D.Cauchy(f64(0.0), f64(1.0)), D.Cauchy(f64(3.0), f64(1.0))).item() == pytest.approx(want, rel=1e-14)


def test_cauchy_very_different_scales_keep_the_one_in_log_1_plus():
    """u = (gp - gq)/(2 sqrt(gp gq)) > 1 took the same broken branch."""
    want = ref("cauchy", {"loc": 0.0, "scale": 1.0}, {"loc": 0.0, "scale": 100.0})
    assert kb.kl(st.cauchy(0, 1), st.cauchy(0, 100)) == pytest.approx(want, rel=1e-14)


# ---------------------------------------------------------------- class 2: narrow shifted laws


def test_narrow_shifted_laplace_does_not_cancel_to_zero():
    """Laplace(1, 1e-30) || Laplace(0, 1) = 69.078 (was 0.0: |d|/bq - |d|/bp cancelled 1e30 against 1e30)."""
    want = ref("laplace", {"loc": 1.0, "scale": 1e-30}, {"loc": 0.0, "scale": 1.0})
    assert want == pytest.approx(69.0776, rel=1e-5)
    assert kb.kl(st.laplace(1, 1e-30), st.laplace(0, 1)) == pytest.approx(want, rel=1e-13)


def test_float32_narrow_shifted_laplace_is_not_zero():
    got = kb.kl(D.Laplace(f32(1.0), f32(1e-10)), D.Laplace(f32(0.0), f32(1.0)))
    assert got.dtype == torch.float32
    want = ref("laplace", {"loc": 1.0, "scale": r32(1e-10)}, {"loc": 0.0, "scale": 1.0})
    assert got.item() == pytest.approx(want, rel=1e-6)


def test_float32_laplace_at_1e38_scales_is_inf_not_nan():
    """Laplace(1000, 1e-38) || Laplace(0, 1e-38): the truth 1000/1e-38 = 1e41 exceeds float32's range."""
    assert ref("laplace", {"loc": 1000.0, "scale": r32(1e-38)}, {"loc": 0.0, "scale": r32(1e-38)}) > F32_MAX
    got = kb.kl(D.Laplace(f32(1000.0), f32(1e-38)), D.Laplace(f32(0.0), f32(1e-38)))
    assert got.item() == math.inf


@pytest.mark.parametrize("p, q", [((1.0, 1e-38), (0.0, 1e-38)), ((0.0, 1e-38), (0.0, 1.0)), ((0.0, 1.0), (1e-30, 1e-38))])
def test_float32_cauchy_at_1e38_scales_is_not_nan(p, q):
    got = kb.kl(D.Cauchy(f32(p[0]), f32(p[1])), D.Cauchy(f32(q[0]), f32(q[1])))
    want = ref("cauchy", {"loc": r32(p[0]), "scale": r32(p[1])}, {"loc": r32(q[0]), "scale": r32(q[1])})
    assert got.item() == pytest.approx(want, rel=1e-6)


def test_narrow_cauchy_far_away_is_not_nan():
    """Cauchy(1e200, 1e-300) || Cauchy(0, 1): (mp - mq)/(2 sqrt(gp gq)) overflowed to inf - inf."""
    want = ref("cauchy", {"loc": 1e200, "scale": 1e-300}, {"loc": 0.0, "scale": 1.0})
    assert kb.kl(st.cauchy(1e200, 1e-300), st.cauchy(0, 1)) == pytest.approx(want, rel=1e-14)


def test_float32_gumbel_far_from_a_narrow_q_is_inf_not_nan():
    """Gumbel(1000, 1) || Gumbel(0, 1e-38): D ~ 1000/1e-38 = 1e41 > float32's largest number."""
    assert ref("gumbel", {"loc": 1000.0, "scale": 1.0}, {"loc": 0.0, "scale": r32(1e-38)}) > F32_MAX
    assert kb.kl(D.Gumbel(f32(1000.0), f32(1.0)), D.Gumbel(f32(0.0), f32(1e-38))).item() == math.inf


def test_gumbel_subnormal_scale_ratio_keeps_its_digits():
    """sp/sq = 1e-317 is subnormal: log of the rounded ratio lost 7 digits (fuzzer find)."""
    P, Q = {"loc": -0.001, "scale": 1e-26}, {"loc": -0.001, "scale": 1e291}
    assert kb.kl(st.gumbel_r(**P), st.gumbel_r(**Q)) == pytest.approx(ref("gumbel", P, Q), rel=1e-13)


# ---------------------------------------------------------------- class 3: large parameters


def test_gamma_large_near_identical_shapes_are_positive_and_right():
    """Gamma(1e8) || Gamma(1e8 + 1) = 5.0e-9 (was -2.4e-7)."""
    want = ref("gamma", {"concentration": 1e8, "rate": 1.0}, {"concentration": 1e8 + 1, "rate": 1.0})
    assert want == pytest.approx(5.0e-9, rel=1e-8)
    assert kb.kl(st.gamma(1e8), st.gamma(1e8 + 1)) == pytest.approx(want, rel=1e-12)


def test_beta_large_near_identical_parameters_are_right():
    P, Q = {"a": 1e8, "b": 2e8}, {"a": 1e8 + 1, "b": 2e8}
    assert kb.kl(st.beta(1e8, 2e8), st.beta(1e8 + 1, 2e8)) == pytest.approx(ref("beta", P, Q), rel=1e-12)


def test_dirichlet_large_near_identical_concentrations_are_right():
    P, Q = {"alpha": [1e8, 2e8, 3e8]}, {"alpha": [1e8 + 1, 2e8, 3e8]}
    got = kb.kl(st.dirichlet(P["alpha"]), st.dirichlet(Q["alpha"]))
    assert got == pytest.approx(ref("dirichlet", P, Q), rel=1e-12)


def test_poisson_large_near_identical_rates_are_right():
    want = ref("poisson", {"rate": 1e8}, {"rate": 1e8 + 1})
    assert kb.kl(st.poisson(1e8), st.poisson(1e8 + 1)) == pytest.approx(want, rel=1e-12)


def test_poisson_1e12_rates_keep_their_digits():
    """Poisson(1e12) || Poisson(1e12 (1 + 1e-6)) = 0.4999997 (was 0.49988)."""
    lq = 1e12 * (1 + 1e-6)
    want = ref("poisson", {"rate": 1e12}, {"rate": lq})
    assert want == pytest.approx(0.4999997, rel=1e-6)
    assert kb.kl(st.poisson(1e12), st.poisson(lq)) == pytest.approx(want, rel=1e-12)


def test_von_mises_large_near_identical_concentrations_are_right():
    P, Q = {"loc": 0.0, "concentration": 1e8}, {"loc": 0.0, "concentration": 1e8 + 1}
    got = kb.kl(st.vonmises(1e8), st.vonmises(1e8 + 1))
    assert got == pytest.approx(ref("vonmises", P, Q), rel=1e-12)


def test_bernoulli_near_identical_is_positive_and_right():
    """Bernoulli(.3) || Bernoulli(.3 + 1e-9) ~ 2.4e-18 (was negative)."""
    want = ref("bernoulli", {"p": 0.3}, {"p": 0.3 + 1e-9})
    assert want == pytest.approx(1e-18 / (2 * 0.3 * 0.7), rel=1e-6)
    assert kb.kl(st.bernoulli(0.3), st.bernoulli(0.3 + 1e-9)) == pytest.approx(want, rel=1e-10)


# ---------------------------------------------------------------- class 4: identical laws below zero


def test_identical_von_mises_give_zero_not_a_negative_number():
    """Was -1.8e-15 (float64) and -9.5e-7 (float32)."""
    assert kb.kl(st.vonmises(3.0, loc=0.2), st.vonmises(3.0, loc=0.2)) == 0.0
    for t in (f32, f64):
        assert kb.kl(D.VonMises(t(0.2), t(3.0)), D.VonMises(t(0.2), t(3.0))).item() == 0.0


def test_identical_multivariate_normals_give_zero_not_a_negative_number():
    S = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.7]])
    assert kb.kl(st.multivariate_normal([1, 2, 3], S), st.multivariate_normal([1, 2, 3], S)) == 0.0
    L = torch.linalg.cholesky(torch.tensor(S))
    for dtype in (torch.float32, torch.float64):
        m = torch.tensor([1.0, 2.0, 3.0], dtype=dtype)
        p = D.MultivariateNormal(m, scale_tril=L.to(dtype))
        assert kb.kl(p, p).item() == 0.0


def test_near_identical_multivariate_normals_keep_their_digits():
    """N(0, 1) || N(-1e-4, 1) = 5e-9: 1/2 (tr + maha - d) lost 8 digits to 1 + 1e-8 - 1 (fuzzer find)."""
    P, Q = {"loc": [0.0], "scale_tril": [[1.0]]}, {"loc": [-1e-4], "scale_tril": [[1.0]]}
    got = kb.kl(D.MultivariateNormal(f64([0.0]), scale_tril=f64([[1.0]])), D.MultivariateNormal(f64([-1e-4]), scale_tril=f64([[1.0]])))
    assert got.item() == pytest.approx(ref("mvn", P, Q), rel=1e-12)


def test_near_identical_von_mises_gradients_are_finite():
    k = f64(3.0).requires_grad_()
    kb.kl(D.VonMises(f64(0.2), k), D.VonMises(f64(0.2), f64(3.0 + 1e-9))).backward()
    assert torch.isfinite(k.grad)


# ---------------------------------------------------------------- categorical from logits


def test_categorical_from_log_probabilities_keeps_a_logit_gap_of_100():
    """With the normalised log-probabilities (log_softmax of float32 logits) in the canonical form,
    D = sum p (log p - log q) keeps its digits (through probs, float32 gave 99.983 for ~100)."""
    lp_logits, lq_logits = [0.0, 100.0], [100.0, 0.0]
    o = Ops("torch", f32(0.0))
    P = {"probs": torch.softmax(f32(lp_logits), -1), "logp": torch.log_softmax(f32(lp_logits), -1)}
    Q = {"probs": torch.softmax(f32(lq_logits), -1), "logp": torch.log_softmax(f32(lq_logits), -1)}
    got = SAME["categorical"](o, P, Q)
    with mp.workdps(50):

        def softmax(v):
            z = mp.fsum(mp.exp(mp.mpf(x)) for x in v)
            return [mp.exp(mp.mpf(x)) / z for x in v]

        p, q = softmax(lp_logits), softmax(lq_logits)
        want = float(mp.fsum(a * mp.log(a / b) for a, b in zip(p, q)))
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(want, rel=1e-6)


def test_categorical_log_probabilities_zero_and_inf():
    """0 log 0 = 0 where p(x) = 0; +inf where q(x) = 0 < p(x); batched."""
    o = Ops("torch", f64(0.0))
    probs_p = f64([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    probs_q = f64([[0.25, 0.75, 0.0], [0.5, 0.5, 0.0]])
    got = SAME["categorical"](o, {"probs": probs_p, "logp": probs_p.log()}, {"probs": probs_q, "logp": probs_q.log()})
    want0 = ref("categorical", {"probs": [0.5, 0.5, 0.0]}, {"probs": [0.25, 0.75, 0.0]})
    assert got[0].item() == pytest.approx(want0, rel=1e-14)
    assert got[1].item() == math.inf


def test_categorical_log_probabilities_are_differentiable():
    """d/d logits of D(softmax(a) || softmax(b)) at a = b is 0; elsewhere it matches a finite difference."""
    o = Ops("torch", f64(0.0))
    a = f64([0.3, -1.0, 2.0]).requires_grad_()
    b = f64([0.1, 0.4, 1.0])

    def kl(x):
        return SAME["categorical"](
            o, {"probs": x.softmax(-1), "logp": x.log_softmax(-1)}, {"probs": b.softmax(-1), "logp": b.log_softmax(-1)}
        )

    kl(a).backward()
    h = 1e-6
    for i in range(3):
        e = torch.zeros(3, dtype=torch.float64)
        e[i] = h
        fd = (kl(a.detach() + e) - kl(a.detach() - e)).item() / (2 * h)
        assert a.grad[i].item() == pytest.approx(fd, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize(
    "P, Q",
    [
        ((1.1666222165899425e-189, 3.278904045359037e-101), (3.375902793440684e-259, 33.534511175919064)),
        ((6.881047407586027e-69, 2.2638394575370463e-108), (44.01701419696935, 4.822603076301648e-86)),
    ],
)
def test_beta_at_tiny_shapes_keeps_its_digits(P, Q):
    """Beta(1.2e-189, 3.3e-101) || Beta(3.4e-259, 33.5) = 3.64e13 (kullback gave 1.2e-87); Beta(6.9e-69, 2.3e-108) ||
    Beta(44, 4.8e-86) = 2.10e30 (gave 1.4e-38): the Bregman split cancelled (two terms of 1e102); Penny's formula
    term by term is now taken where its rounding bound is the smaller.  Reference: mpref.same_kl (textbook closed
    form in mpmath at 50+ digits)."""
    want = ref("beta", {"a": P[0], "b": P[1]}, {"a": Q[0], "b": Q[1]})
    assert kb.kl(st.beta(*P), st.beta(*Q)) == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize(
    "P, Q",
    [
        ((1e212, 1e212), (1e35, 1e35)),  # gave 1054 for 203.28: the rounding of aq/ap times a0q
        ((1e180, 1e193), (9.99e179, 9.99e192)),  # gave 2.4e155 for 2.4e147: two rounded relative differences
        ((1e-6, 1.0), (1.0, 1e12)),  # torch float64 lost 3e-10 (its trigamma) in the Bregman form
    ],
)
def test_beta_near_proportional_and_far_shapes(P, Q):
    """Found by the long fuzz profile (HYPOTHESIS_PROFILE=long). Reference: mpref.same_kl (Penny's formula in mpmath
    at 60+ digits on the exact doubles). The concentration ratios rho_i - 1 are now formed from exact products."""
    want = ref("beta", {"a": P[0], "b": P[1]}, {"a": Q[0], "b": Q[1]})
    assert kb.kl(st.beta(*P), st.beta(*Q)) == pytest.approx(want, rel=1e-12)
    assert kb.kl(D.Beta(f64(P[0]), f64(P[1])), D.Beta(f64(Q[0]), f64(Q[1]))).item() == pytest.approx(want, rel=1e-12)


def test_dirichlet_near_proportional_three_components():
    """Dirichlet [1e180, 1e193, 5e185] || 0.999 of it (as doubles): the exclusive sums a0 - a_i round for k > 2, so
    rho_i - 1 is summed pairwise from exact products. Gave 7.5e153; mpmath (Penny 2001 eq. 11 at 400 digits) 1.2558e153."""
    P, Q = [1e180, 1e193, 5e185], [9.99e179, 9.99e192, 4.995e185]
    want = ref("dirichlet", {"alpha": P}, {"alpha": Q})
    assert kb.kl(st.dirichlet(P), st.dirichlet(Q)) == pytest.approx(want, rel=1e-12)
    assert kb.kl(D.Dirichlet(f64(P)), D.Dirichlet(f64(Q))).item() == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(
    "P, Q",
    [((1e148, 1.0), (1e-161, 1.0)), ((19.0, 0.1015625), (1e-210, 1e96)), ((1e252, 1.0), (1e-57, 1.0))],
)
def test_gamma_whose_rate_shape_ratio_overflows(P, Q):
    """Gamma (concentration, rate): s = (bq/bp)/(kq/kp) overflowed (1e309) where kq s does not, so a finite D
    (1e148, 1.9e98, 1e252) came out inf. Reference: mpref.same_kl."""
    want = ref("gamma", {"concentration": P[0], "rate": P[1]}, {"concentration": Q[0], "rate": Q[1]})
    got = kb.kl(D.Gamma(f64(P[0]), f64(P[1])), D.Gamma(f64(Q[0]), f64(Q[1]))).item()
    assert got == pytest.approx(want, rel=1e-12)
    assert kb.kl(st.gamma(P[0], scale=1 / P[1]), st.gamma(Q[0], scale=1 / Q[1])) == pytest.approx(want, rel=1e-12)
    # the gradient in q's shape was NaN there (exp(log kq + log s) differentiated as 1e148 (1/kq - 1/kq)); Penny's
    # partials of (kp - kq) psi(kp) - lnG(kp) + lnG(kq) + kq log(bp/bq) + kp (bq - bp)/bp in mpmath
    args = [f64(v).requires_grad_() for v in (*P, *Q)]
    kb.kl(D.Gamma(args[0], args[1]), D.Gamma(args[2], args[3])).backward()
    with mp.workdps(60):
        kp, bp, kq, bq = (mp.mpf(v) for v in (*P, *Q))
        grad = [
            (kp - kq) * mp.psi(1, kp) + bq / bp - 1,
            kq / bp - kp * bq / bp**2,
            mp.psi(0, kq) - mp.psi(0, kp) + mp.log(bp / bq),
            kp / bp - kq / bq,
        ]
    assert [a.grad.item() for a in args] == pytest.approx([float(g) for g in grad], rel=1e-10)


def test_beta_whose_divergence_overflows_is_inf_not_nan():
    """Beta(1e-67, 1e-67) || Beta(1, 1e242): D = 5e308 > the largest double. The Bregman split gave inf - inf = NaN;
    the direct form's inf is taken (mpmath: 5.0000000000000005e308)."""
    assert kb.kl(st.beta(1e-67, 1e-67), st.beta(1.0, 1e242)) == math.inf
    assert kb.kl(D.Dirichlet(f64([1e-76, 1e-76])), D.Dirichlet(f64([1.0, 1e233]))).item() == math.inf


def test_gradients_at_tiny_concentrations():
    """Regression (review): with the direct form and exact products, torch gradients became NaN / -inf at tiny shapes
    (quotients whose derivatives square divisors that underflow). Analytic references: D(Beta(a, 1) || Beta(c, 2)) =
    log B(c, 2) + log a + (a - c)(-1/a) + psi(a + 1) - psi(1), so d/da = 1/a - c/a^2 + psi'(a + 1) = psi'(1 + c) at
    a = c = 1e-160 (mpmath); d/db_j D(Dir(a) || Dir(b)) = psi(b_j) - psi(b_0) - psi(a_j) + psi(a_0): at
    a = [1e-200, 1, 1], b = 1: [1e200, -1/2, -1/2]."""
    a = f64(1e-160).requires_grad_()
    kb.kl(D.Beta(a, f64(1.0)), D.Beta(f64(1e-160), f64(2.0))).backward()
    assert a.grad.item() == pytest.approx(float(mp.psi(1, 1 + mp.mpf("1e-160"))), rel=1e-12)
    b = f64([1.0, 1.0, 1.0]).requires_grad_()
    kb.kl(D.Dirichlet(f64([1e-200, 1.0, 1.0])), D.Dirichlet(b)).backward()
    assert b.grad.tolist() == pytest.approx([1e200, -0.5, -0.5], rel=1e-12)


@pytest.mark.parametrize("P, Q", [(1e-299, 9.9999999999e-300), (1e-200, 3e-200), (0.3, 0.300000001), (1.0, 0.4)])
def test_geometric_at_tiny_success_probabilities(P, Q):
    """Found by the long fuzz profile: Geometric(1e-299) || Geometric(9.9999999999e-300) gave 4.990e-23 for 5.000e-23
    (the Bernoulli terms, multiplied by p ~ 1e-299, were subnormal before the division by p). Now g(r) + (1 - r) h(u)
    without that product. Reference: mpref.same_kl."""
    want = ref("geometric", {"p": P, "start": 0.0}, {"p": Q, "start": 0.0})
    got = kb.kl(D.Geometric(f64(P)), D.Geometric(f64(Q))).item()
    assert got == pytest.approx(want, rel=1e-12)


def test_binomial_with_no_trials_and_at_tiny_p():
    """n = 0: both laws are the point mass at 0, D = 0 also where q's p is 0 or 1 (it was NaN: 0 * inf). At p ~ 1e-300
    the result is subnormal and now rounds once (Binomial(4, 1e-300) || Binomial(4, 9.999999e-301) was 1.2 ulps off).
    References: the definition (n = 0), mpref.same_kl."""
    for q in (0.0, 1.0, 0.3):
        assert kb.kl(D.Binomial(f64(0.0), probs=f64(0.5)), D.Binomial(f64(0.0), probs=f64(q))).item() == 0.0
        assert kb.kl(st.binom(0, 0.5), st.binom(0, q)) == 0.0
    want = ref("binomial", {"n": 4.0, "p": 1e-300}, {"n": 4.0, "p": 9.999999000000001e-301})
    got = kb.kl(st.binom(4, 1e-300), st.binom(4, 9.999999000000001e-301))
    assert abs(got - float(want)) <= 5e-324


@pytest.mark.parametrize(
    "P, Q",
    [
        ((1e-31, 1.0), (1e-31, 0.9999)),  # gave 5.0e-40 for 1.2e-39
        ((46.5, 1e-4), (46.45, 1e-4)),  # gave 5.1121168007e-11 (rel. error 1e-9)
        ((1.0, 1e-9), (2.0, 1e-9)),  # rel. error 6e-8
        ((1e-200, 5.0), (1e-200, 1e-3)),
    ],
)
def test_beta_with_one_tiny_shape_shared_by_p_and_q(P, Q):
    """Found by the long fuzz profile: one shape tiny and equal in p and q, the other O(1) and different. The split
    differenced two O(h^2) Bregman terms to get an O(e h^2) result; now the chain rule over the aggregation
    Dir(a) -> (Beta(e, a0 - e), Dir(rest)) splits that shape off exactly and the Beta part is a quadrature of
    psi'(a) - psi'(a + e) (no cancellation). Reference: mpref.same_kl (Penny's formula in mpmath at 50+ digits)."""
    want = ref("beta", {"a": P[0], "b": P[1]}, {"a": Q[0], "b": Q[1]})
    assert kb.kl(st.beta(*P), st.beta(*Q)) == pytest.approx(want, rel=1e-13)
    assert kb.kl(D.Beta(f64(P[0]), f64(P[1])), D.Beta(f64(Q[0]), f64(Q[1]))).item() == pytest.approx(want, rel=1e-13)


def test_dirichlet_with_tiny_shared_concentrations_and_the_gradient_of_the_rest():
    """Two tiny concentrations shared, the others different: the chain rule applies twice (D = D(Beta) + D(Beta) +
    D(Dir of the rest)). The torch value is the chain rule's and its gradient the split's, checked against Penny's
    analytic gradient d/db_j D = psi(b_j) - psi(b_0) - psi(a_j) + psi(a_0) in mpmath. Reference: mpref.same_kl."""
    P, Q = [2.0, 1e-12, 1.7, 1e-20], [2.0, 1e-12, 1.7001, 1e-20]
    want = ref("dirichlet", {"alpha": P}, {"alpha": Q})
    assert kb.kl(st.dirichlet(P), st.dirichlet(Q)) == pytest.approx(want, rel=1e-13)
    b = f64(Q).requires_grad_()
    got = kb.kl(D.Dirichlet(f64(P)), D.Dirichlet(b))
    assert got.item() == pytest.approx(want, rel=1e-13)
    got.backward()
    a0, b0 = mp.fsum(mp.mpf(v) for v in P), mp.fsum(mp.mpf(v) for v in Q)
    grad = [float(mp.psi(0, mp.mpf(bj)) - mp.psi(0, b0) - mp.psi(0, mp.mpf(aj)) + mp.psi(0, a0)) for aj, bj in zip(P, Q)]
    assert b.grad.tolist() == pytest.approx(grad, rel=1e-6, abs=1e-12)


@pytest.mark.parametrize(
    "x, y", [(10.0, 90.0), (10.0, 0.5), (13.7, 1e3), (25.0, 2.5), (1e4, 3e4), (1.0, 0.018), (1.17, 1.6e-5), (2.43, 1.97e-5), (0.3, 4.0)]
)
def test_psi_and_log_gamma_differences_at_the_series_threshold(x, y):
    """psi(x) - psi(x + y) and log B(x, y) from the asymptotic series at x >= 10: four terms of each left 8e-13
    (psi(10) - psi(10.5) was off by 5.5e-12 relative, log B(10, 0.5) by 5e-13; found by the gradient fuzzer), and the
    digamma difference below 10 (psi(1) - psi(1.018): 3e-14). Now through
    z^-14 (A&S 6.3.18, 6.1.40).
    Reference: mpmath digamma / loggamma at 50 digits."""
    from kullback.distributions._ops import lbeta, psi_diff

    o = Ops("numpy")
    with mp.workdps(50):
        X, Y = mp.mpf(x), mp.mpf(y)
        want_psi = mp.digamma(X) - mp.digamma(X + Y)
        want_lb = mp.loggamma(X) + mp.loggamma(Y) - mp.loggamma(X + Y)
    assert float(psi_diff(o, np.array(x), np.array(y))) == pytest.approx(float(want_psi), rel=1.5e-15)
    assert float(lbeta(o, np.array(x), np.array(y))) == pytest.approx(float(want_lb), rel=1.5e-15)


@pytest.mark.parametrize("x, y", [(110164.57103486774, 1.3083585917567695), (9.25, 0.34), (1.0, 0.018), (0.3, 4.0), (3.0, 1e-4)])
def test_trigamma_differences_keep_their_digits(x, y):
    """psi'(x) - psi'(x + y) (beta's Var log X in the cross-family moments): the trigamma difference taken where
    y >= 1e-5 x lost up to 2.3e-11 relative (x = 1.1e5, y = 1.3); now the recurrence up to 20 and the asymptotic
    series differenced term by term. Reference: mpmath psi(1, .) at 50 digits."""
    from kullback.distributions._ops import psi1_diff

    with mp.workdps(50):
        want = mp.psi(1, mp.mpf(x)) - mp.psi(1, mp.mpf(x) + mp.mpf(y))
    assert float(psi1_diff(Ops("numpy"), np.array(x), np.array(y))) == pytest.approx(float(want), rel=2e-15)


def test_subnormal_von_mises_divergence_rounds_once():
    """Concentrations 1e-155 apart by 1e-5 relative: D = 2.4999999999259e-321 (mpref.same_kl), a subnormal number.
    The 16 Gauss-Legendre terms of the Bregman remainder were each subnormal and summed to 2.49e-321 (two spacings
    off); they are now formed scaled by 2^200 and the sum rounded once."""
    P, Q = {"loc": 0.0, "concentration": 1e-155}, {"loc": 0.0, "concentration": 9.999900000000002e-156}
    ref = mpref.same_kl("vonmises", P, Q)
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    got = kb.kl(D.VonMises(t(P["loc"]), t(P["concentration"])), D.VonMises(t(Q["loc"]), t(Q["concentration"]))).item()
    assert abs(mp.mpf(got) - ref) <= 5e-324


@pytest.mark.parametrize(
    "P, Q, old",
    [
        ([1e-300, 1.0], [1e-200, 1.0], 0.0),  # D = 1e-200
        ([0.2, 0.3, 0.5], [0.2, 0.3 * (1 + 1e-9), 0.5], 0.0),  # D = 1.05e-19
        ([1e-160, 1.0], [1e-170, 1.0], 2.302585092994033e-159),  # D = 2.2026e-159
        ([0.9990009990009991, 0.0009990009990009992], [0.9990009990009989, 0.000999000999000999], None),  # D = 5.6e-36
    ],
)
def test_categorical_near_and_tiny_differences_keep_their_digits(P, Q, old):
    """sum p (log p - log q) of the normalised log-probabilities lost the sums' rounding at first order (k eps
    absolute; the fuzzer's allowance hid it): 0 for 1e-200 and for 1.05e-19, 2.30e-159 for 2.20e-159. Now Csiszar's
    relative-entropy terms p^ em(-r) with r from the held probabilities' ratios, shifted by log1p(sum(p - q)/Sq), to
    1e-15 of mpref.same_kl on the probabilities kullback holds (torch's normalised ones)."""
    from kullback.distributions import describe

    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    p, q = D.Categorical(probs=t(P)), D.Categorical(probs=t(Q))
    ref = mpref.same_kl("categorical", {"probs": describe(p).params["probs"].tolist()}, {"probs": describe(q).params["probs"].tolist()})
    got = kb.kl(p, q).item()
    assert got == pytest.approx(float(ref), rel=1e-15)
    if old is not None:
        assert old != pytest.approx(float(ref), rel=1e-2)  # what it was is far from the truth
