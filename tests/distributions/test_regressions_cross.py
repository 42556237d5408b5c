"""Regressions of issue 12 in the cross-family closed forms D = E_p[-log q] - H(p) (classes 2, 3, 4, 10).

Every reference value is the fuzzer's mpmath reference (``test_fuzz_cross.reference``: the textbook
entropy and expectations at 50+ digits, itself checked against mpmath quadrature in
``test_reference_against_quadrature``) on the exact parameters kullback holds, or mpmath quadrature of
mpref's log-densities.
"""

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st
import torch
import torch.distributions as D

import kullback as kb

from . import mpref
from .test_fuzz_cross import canonical, reference


def _ref(p, q):
    (fp, P), (fq, Q) = canonical(p), canonical(q)
    return float(reference(fp, P, fq, Q))


def test_exponential_against_gamma_of_shape_one_is_exactly_zero():
    """One law written as two families: D = 0 exactly, never a rounding-level negative."""
    for a in (0.3, 1.0, 7.0, 1e-300, 1e300):
        assert kb.kl(st.expon(scale=a), st.gamma(1, scale=a)) == 0.0
        assert kb.kl(st.gamma(1, scale=a), st.expon(scale=a)) == 0.0
        if 1 / (1 / a) == a:  # the exponential's rate 1/a gives back the Weibull scale a exactly
            assert kb.kl(st.expon(scale=a), st.weibull_min(1, scale=a)) == 0.0
    assert kb.kl(st.chi2(2), st.expon(scale=2)) == 0.0
    assert kb.kl(st.uniform(0, 1), st.beta(1, 1)) == 0.0
    assert kb.kl(st.beta(1, 1), st.uniform(0, 1)) == 0.0
    t = torch.tensor(0.5, dtype=torch.float32)
    assert kb.kl(D.Exponential(t), D.Gamma(torch.tensor(1.0), t)).item() == 0.0
    assert kb.kl(D.Uniform(0.0, 1.0), D.ContinuousBernoulli(probs=t)).item() == 0.0


def test_exponential_against_nearly_exponential_gamma_keeps_relative_accuracy():
    """expon(1) || gamma(1 + 1e-11, 1): D = 8.2e-23 (was 0.0 or -7e-15 from CE - H)."""
    for p, q in [(st.expon(), st.gamma(1 + 1e-11)), (st.expon(scale=1e283), st.gamma(1, scale=1e283 * (1 + 1e-7)))]:
        assert kb.kl(p, q) == pytest.approx(_ref(p, q), rel=1e-8)


def test_student_t_with_df_at_most_2_against_normal_is_inf():
    """t(nu) has no variance for nu <= 2: D(t || normal) = +inf, as for the Cauchy law (was a refusal)."""
    for nu in (0.5, 1.0, 1.5, 2.0):
        assert kb.kl(st.t(nu), st.norm()) == math.inf
        assert kb.kl(D.StudentT(torch.tensor(nu, dtype=torch.float64)), D.Normal(0.0, 1.0)).item() == math.inf
    assert kb.kl(st.t(1), st.norm()) == kb.kl(st.cauchy(), st.norm()) == math.inf
    assert kb.kl(st.t(0.9), st.laplace()) == math.inf  # no first moment
    assert kb.kl(st.t(3), st.gumbel_r()) == math.inf  # polynomial tail against a doubly exponential one


@pytest.mark.parametrize(
    "nu, mu, s, q",
    [
        (3.0, 0.2, 1.3, st.norm(0, 1.5)),
        (40.0, -1.0, 0.5, st.norm(-1.2, 0.6)),
        (1.5, 0.0, 1.0, st.laplace(0.3, 2.0)),
        (2.5, 1.0, 0.7, st.laplace(-1.0, 0.9)),
    ],
)
def test_student_t_against_normal_and_laplace_in_closed_form(nu, mu, s, q):
    """The Student t moments (Lazo & Rathie 1978 entropy; E|X - c| from the partial expectation) against mpmath quadrature."""
    fq, Q = canonical(q)
    mpref.KINKS.clear()
    with mp.workdps(30):
        ref = mpref.kl_continuous(mpref.logpdf("t", df=nu, loc=mu, scale=s), mpref.logpdf(fq, **Q))
    assert kb.kl(st.t(nu, mu, s), q) == pytest.approx(float(ref), rel=1e-10)
    if fq == "normal":  # torch: the same closed form
        got = kb.kl(
            D.StudentT(*(torch.tensor(v, dtype=torch.float64) for v in (nu, mu, s))),
            D.Normal(*(torch.tensor(v, dtype=torch.float64) for v in (Q["loc"], Q["scale"]))),
        )
        assert got.item() == pytest.approx(float(ref), rel=1e-10)


def test_gamma_entropy_at_large_shape_does_not_cancel():
    """H(gamma(k)) at k = 1e8..1e300 from Stirling's series (was lgamma(k) + (1 - k) psi(k): every digit lost)."""
    for p, q in [(st.gamma(1e8, scale=1e-4), st.norm(1e4, 2.0)), (st.gamma(2e225, scale=1e288), st.lognorm(4e49, scale=math.exp(0.75)))]:
        assert kb.kl(p, q) == pytest.approx(_ref(p, q), rel=1e-10)
    # float32: was -1.6e15 (truth 2.9e15)
    p32 = D.Gamma(torch.tensor(1.3297767e21), torch.tensor(721391.5))
    q32 = D.HalfNormal(torch.tensor(1.5536984))
    got = kb.kl(p32, q32).item()
    (fp, P), (fq, Q) = canonical(p32), canonical(q32)
    assert got == pytest.approx(float(reference(fp, P, fq, Q)), rel=1e-5)


def test_gamma_large_shape_against_weibull_is_inf_beyond_float():
    """gamma(2.1e225) || weibull(1.000001): the truth 5.8e463 exceeds float64 (was 2.7e238 from lgamma(k + c) - lgamma(k))."""
    assert (
        kb.kl(st.gamma(2.115765693574251e225, scale=1 / 8.809033019772272e-289), st.weibull_min(1.000001, scale=4.1763933653099106e49))
        == math.inf
    )


def test_beta_at_large_concentrations_against_normal():
    """beta(1e21, 1e21) || N(1/2, 0.01): the beta entropy from Stirling's series (was dominated by cancellation);
    float32 beta(4e30, 4e30) || halfnormal(1) was +inf (a b overflowed in the variance)."""
    for p, q in [(st.beta(1e21, 1e21), st.norm(0.5, 0.01)), (st.beta(4.3e242, 4.6e112), st.norm(0, 5.9))]:
        assert kb.kl(p, q) == pytest.approx(_ref(p, q), rel=1e-10)
    p32, q32 = D.Beta(torch.tensor(4.0e30), torch.tensor(4.0e30)), D.HalfNormal(torch.tensor(1.0))
    (fp, P), (fq, Q) = canonical(p32), canonical(q32)
    assert kb.kl(p32, q32).item() == pytest.approx(float(reference(fp, P, fq, Q)), rel=1e-5)


def test_wide_uniform_against_laplace_does_not_overflow():
    """uniform(1.9e40, 8.1e231) || laplace(-1, 7.5) = 5.4e230 (was +inf: the squares in E|X - c| overflowed)."""
    p, q = st.uniform(1.9093285755974845e40, 8.116794333673418e231), st.laplace(-1.0, 7.506855332065638)
    assert kb.kl(p, q) == pytest.approx(_ref(p, q), rel=1e-12)


def test_float32_uniform_against_narrow_normal_is_finite_below_the_largest_float():
    """float32 uniform(0, 2) || N(1, 2.36e-20) = 2.99e38 < 3.4e38 (was +inf: (std/s)^2 overflowed before the halving)."""
    p, q = D.Uniform(torch.tensor(0.0), torch.tensor(2.0000100135803223)), D.Normal(torch.tensor(1.0), torch.tensor(2.3601598682328886e-20))
    got = kb.kl(p, q).item()
    (fp, P), (fq, Q) = canonical(p), canonical(q)
    assert math.isfinite(got) and got == pytest.approx(float(reference(fp, P, fq, Q)), rel=1e-5)


def test_wide_halfnormal_against_gumbel_is_not_nan():
    """halfnormal(3.6e283) || gumbel(5.3, 5.2) = 5.5e282 (was NaN: (st)^2/2 + log_ndtr(st) = inf - inf; now log erfcx)."""
    p, q = st.halfnorm(scale=3.580746118255851e283), st.gumbel_r(5.28033962790024, 5.1994368926330035)
    assert kb.kl(p, q) == pytest.approx(_ref(p, q), rel=1e-12)


def test_pareto_with_huge_alpha_does_not_overflow_its_mean():
    """pareto(alpha 1e300, x_m 2e209) || N(2.5e210, 5e209) = 701.9 (was +inf: alpha x_m overflowed)."""
    p, q = st.pareto(1e300, scale=1.9725804126593525e209), st.norm(2.478678192864183e210, 5.031538067438545e209)
    assert kb.kl(p, q) == pytest.approx(_ref(p, q), rel=1e-10)


def test_narrow_normal_far_out_against_gumbel_at_its_location():
    """N(1e10, 1) || Gumbel(1e10, 1): E e^{-(X - mu)/s} is taken centred at mu (was mu/s + log M(-1/s): 1e-6 relative lost)."""
    p, q = st.norm(1e10, 1.0), st.gumbel_r(1e10, 1.0)
    assert kb.kl(p, q) == pytest.approx(_ref(p, q), rel=1e-12)


def test_unit_uniform_against_continuous_bernoulli_near_one_half():
    """uniform(0, 1) || CB(1/2 + 5e-8) = 1.67e-15 (was 8e-4 relative off from CE - H)."""
    p, q = (
        D.Uniform(torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)),
        D.ContinuousBernoulli(probs=torch.tensor(0.50000005, dtype=torch.float64)),
    )
    (fp, P), (fq, Q) = canonical(p), canonical(q)
    assert kb.kl(p, q).item() == pytest.approx(float(reference(fp, P, fq, Q)), rel=1e-9)
    # a sub-interval of [0, 1] against the continuous Bernoulli: the same grouping, against quadrature
    p2 = D.Uniform(torch.tensor(0.2, dtype=torch.float64), torch.tensor(0.7, dtype=torch.float64))
    fp, P = canonical(p2)
    assert kb.kl(p2, q).item() == pytest.approx(float(reference(fp, P, fq, Q)), rel=1e-12)


# ---------------------------------------------------------------- tiny shapes: psi_diff, psi1_diff, E log X combined


def _mp_psi_diff(x, y, n=0):
    """psi^(n)(x) - psi^(n)(x + y) in mpmath, at enough digits for the magnitudes of x and y."""
    with mp.workdps(80 + int(abs(math.log10(x)) + abs(math.log10(y)))):
        return float(mp.psi(n, mp.mpf(x)) - mp.psi(n, mp.mpf(x) + mp.mpf(y)))


@pytest.mark.parametrize("x, y", [(1.7e-96, 1.2e-129), (3.7e-126, 1.3e-206), (1e-300, 1.0), (0.3, 1e-9), (9.1e282, 2.4e274)])
def test_psi_diff_at_tiny_x_does_not_overflow(x, y):
    """psi(x) - psi(x + y) was -inf at x = 1.7e-96, y = 1.2e-129 (polygamma(2, x), polygamma(3, x) overflowed to
    inf - inf; truth -4.15e62) and lost digits at x = 9.1e282 (psi''(x) underflowed to 0); mpmath's digamma."""
    from kullback.distributions._ops import Ops, psi1_diff, psi_diff

    o = Ops("numpy")
    assert float(psi_diff(o, np.float64(x), np.float64(y))) == pytest.approx(_mp_psi_diff(x, y), rel=1e-14)
    assert float(psi1_diff(o, np.float64(x), np.float64(y))) == pytest.approx(_mp_psi_diff(x, y, 1), rel=1e-11)


def test_float32_psi_diff_at_tiny_x_does_not_overflow():
    """float32 psi(1e-20) - psi(1e-20 + 1e-26) = -1e14 (was -inf: polygamma overflows below x ~ 4e-10); mpmath."""
    from kullback.distributions._ops import Ops, psi_diff

    x, y = torch.tensor(1e-20), torch.tensor(1e-26)
    got = psi_diff(Ops("torch", x), x, y).item()
    assert got == pytest.approx(_mp_psi_diff(x.item(), y.item()), rel=1e-6)


def test_beta_at_tiny_shapes_against_gamma_and_normal_is_not_nan():
    """Beta(1.7e-96, 1.2e-129) || Gamma(0.5) and || N(0.3, 2) = 8.33e128 (were NaN and inf: psi_diff overflowed)."""
    p = st.beta(1.7e-96, 1.2e-129)
    for q in (st.gamma(0.5), st.norm(0.3, 2)):
        assert kb.kl(p, q) == pytest.approx(_ref(p, q), rel=1e-10)
    pt, qt = D.Beta(torch.tensor(1e-20), torch.tensor(1e-26)), D.Normal(torch.tensor(0.3), torch.tensor(2.0))
    assert kb.kl(pt, qt).item() == pytest.approx(_ref(pt, qt), rel=1e-5)


def test_beta_at_tiny_shapes_against_lognormal_keeps_var_log():
    """Beta(6.2e-63, 9.4e-81) || LogNormal(2.64, 81.8) = 5.80e102 (was 4.4e84: Var log X = trigamma(a) -
    trigamma(a + b) cancelled); float32 Beta(1.2e-33, 4.4e-34) || LogNormal(-14.3, 16) is 7.9e62 > float32's
    largest number, so +inf (was NaN: inf - inf)."""
    p, q = st.beta(6.231759898905332e-63, 9.408573751787806e-81), st.lognorm(81.84505710977417, scale=math.exp(2.6441550631762745))
    assert kb.kl(p, q) == pytest.approx(_ref(p, q), rel=1e-10)
    pt = D.Beta(torch.tensor(1.1686695959253064e-33), torch.tensor(4.444186441201534e-34))
    qt = D.LogNormal(torch.tensor(-14.335906028747559), torch.tensor(15.991514205932617))
    assert _ref(pt, qt) > 3.5e38
    assert kb.kl(pt, qt).item() == math.inf


ELOG_CASES = [  # (p, q, rel): beta or gamma p against q carrying a multiple of E log X, at tiny shapes
    (lambda: D.Beta(torch.tensor(4.3e-19), torch.tensor(1.0)), lambda: D.Weibull(torch.tensor(3.6e-7), torch.tensor(1.6e-34)), 1e-5),
    (lambda: st.beta(1e-150, 1.0), lambda: st.weibull_min(1e-200, scale=3.0), 1e-10),
    (lambda: st.gamma(1e-150), lambda: st.weibull_min(1e-160, scale=2.0), 1e-10),
    (lambda: st.beta(1e-120, 0.5), lambda: st.gamma(1e-130, scale=2.0), 1e-10),
    (lambda: D.Gamma(torch.tensor(1e-20), torch.tensor(2.0)), lambda: D.Weibull(torch.tensor(3.0), torch.tensor(1e-25)), 1e-5),
]


@pytest.mark.parametrize("i", range(len(ELOG_CASES)))
def test_tiny_shapes_combine_the_multiples_of_elog_before_rounding(i):
    """_cross.divergence forms H(p)'s and E_p[-log q]'s multiples of E log X as (a_p - k_q) E log X: float32
    Beta(4.3e-19, 1) || Weibull(1.6e-34, 3.6e-7) = 35.53 (CE - H after rounding gives 0); the fuzzer's mpmath reference."""
    from kullback.distributions import describe
    from kullback.distributions._closed import Ops
    from kullback.distributions._cross import divergence, moments

    p, q, rel = ELOG_CASES[i][0](), ELOG_CASES[i][1](), ELOG_CASES[i][2]
    P, Q = describe(p), describe(q)
    o = Ops(P.backend, next(iter(P.params.values())) if P.backend == "torch" else None)
    with np.errstate(all="ignore"):
        got, _ = divergence(o, moments(o, P), Q)
    assert float(got) == pytest.approx(_ref(p, q), rel=rel)


@pytest.mark.parametrize("i", range(len(ELOG_CASES)))
def test_kl_at_tiny_shapes_combines_the_multiples_of_elog(i):
    """kb.kl gives _cross.divergence's value for the cases above (float32 Beta(4.3e-19, 1) || Weibull returned 0; truth 35.53)."""
    p, q, rel = ELOG_CASES[i][0](), ELOG_CASES[i][1](), ELOG_CASES[i][2]
    got = kb.kl(p, q)
    assert float(got) == pytest.approx(_ref(p, q), rel=rel)


def test_normal_against_laplace_gradient_at_a_tiny_scale_is_not_nan():
    """N(0, s) || Laplace(0.1, 1) at s = 1e-200: D = -log(2 pi e s^2)/2 + log 2 + E|X - 0.1|, E|X - c| =
    s sqrt(2/pi) e^(-z^2/2) + d erf(z/sqrt 2) (d = -0.1, z = d/s = -1e199), so dD/ds = -1/s + (e^(-z^2/2) terms,
    below e^-1e397) = -1e200 exactly as far as float64 goes, and dD/dmu = -1, dD/dloc_q = 1, dD/db = 1 - 0.1 = 0.9
    (d/db [log 2b + 0.1/b] at b = 1). Autograd of the moment gave NaN in s (0 * inf where e^(-z^2/2) underflows)."""
    t = lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True)  # noqa: E731
    mu, s, m, b = t(0.0), t(1e-200), t(0.1), t(1.0)
    val = kb.kl(torch.distributions.Normal(mu, s), torch.distributions.Laplace(m, b))
    g = torch.autograd.grad(val, (mu, s, m, b))
    assert [x.item() for x in g] == pytest.approx([-1.0, -1e200, 1.0, 0.9], rel=1e-14)


def test_normal_against_a_narrow_far_gumbel_is_inf_not_nan():
    """N(1.37e261, 6.9) || Gumbel(1, 2.1e-204): D = 6.4e464 (mpmath), beyond float64. The normal's log E e^(t(X - c))
    = d t + (s t)^2 / 2 at t = -1/s was -inf + inf = NaN; now inf (found by the long profile of test_fuzz_cross)."""
    p, q = st.norm(1.3741889225750054e261, 6.909376291203853), st.gumbel_r(1.0, 2.134416724708652e-204)
    (fp, P), (fq, Q) = canonical(p), canonical(q)
    assert reference(fp, P, fq, Q) > 1.7976931348623157e308
    assert kb.kl(p, q) == math.inf
