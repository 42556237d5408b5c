"""torch.distributions objects: tensor out, values against torch.distributions.kl_divergence, gradients."""

import itertools
import math

import numpy as np
import pytest
import scipy.stats as st
import torch
import torch.distributions as D

import kullback as kb

from . import mpref


def T(x, dtype=torch.float64):
    return torch.tensor(x, dtype=dtype)


def _members(dtype=torch.float64):
    t = lambda x: T(x, dtype)  # noqa: E731
    return {
        "Normal": [D.Normal(t(0.3), t(1.2)), D.Normal(t(-0.4), t(0.7))],
        "Exponential": [D.Exponential(t(1.5)), D.Exponential(t(0.5))],
        "Gamma": [D.Gamma(t(2.5), t(1.3)), D.Gamma(t(0.8), t(0.5))],
        "Chi2": [D.Chi2(t(3.0)), D.Chi2(t(5.0))],
        "Beta": [D.Beta(t(2.0), t(3.5)), D.Beta(t(0.7), t(1.4))],
        "Laplace": [D.Laplace(t(0.2), t(0.8)), D.Laplace(t(-0.5), t(1.7))],
        "Uniform": [D.Uniform(t(0.1), t(0.8)), D.Uniform(t(0.05), t(0.95))],
        "Gumbel": [D.Gumbel(t(0.5), t(1.5)), D.Gumbel(t(-0.3), t(0.6))],
        "HalfNormal": [D.HalfNormal(t(1.3)), D.HalfNormal(t(0.6))],
        "LogNormal": [D.LogNormal(t(0.2), t(0.6)), D.LogNormal(t(-0.5), t(1.1))],
        "Pareto": [D.Pareto(t(0.4), t(3.5)), D.Pareto(t(0.3), t(2.5))],
        "Cauchy": [D.Cauchy(t(0.1), t(0.9)), D.Cauchy(t(-1.0), t(2.5))],
        "Poisson": [D.Poisson(t(3.2)), D.Poisson(t(4.5))],
        "Bernoulli": [D.Bernoulli(t(0.3)), D.Bernoulli(t(0.65))],
        "Binomial": [D.Binomial(6, t(0.4)), D.Binomial(6, t(0.55))],
        "Geometric": [D.Geometric(t(0.35)), D.Geometric(t(0.2))],
        "Categorical": [D.Categorical(t([0.2, 0.5, 0.3])), D.Categorical(t([0.4, 0.4, 0.2]))],
        "OneHotCategorical": [D.OneHotCategorical(t([0.2, 0.5, 0.3])), D.OneHotCategorical(t([0.4, 0.4, 0.2]))],
        "Dirichlet": [D.Dirichlet(t([1.5, 2.0, 0.7])), D.Dirichlet(t([1.0, 3.0, 2.0]))],
        "MultivariateNormal": [
            D.MultivariateNormal(t([0.1, -0.2, 0.3]), t([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.5]])),
            D.MultivariateNormal(t([0.0, 0.5, -0.1]), scale_tril=t([[1.1, 0.0, 0.0], [0.2, 0.9, 0.0], [-0.3, 0.1, 0.7]])),
        ],
        "ContinuousBernoulli": [D.ContinuousBernoulli(t(0.3)), D.ContinuousBernoulli(t(0.7))],
        "LowRankMultivariateNormal": [
            D.LowRankMultivariateNormal(t([0.1, -0.2, 0.3]), t([[1.0], [0.5], [-0.3]]), t([0.5, 1.0, 0.7])),
            D.LowRankMultivariateNormal(t([0.0, 0.5, -0.1]), t([[0.3, 0.1], [0.5, 0.0], [0.2, -0.4]]), t([0.9, 1.0, 0.4])),
        ],
        "Independent": [
            D.Independent(D.Normal(t([0.1, 0.2]), t([1.0, 2.0])), 1),
            D.Independent(D.Normal(t([0.0, -0.2]), t([1.5, 0.5])), 1),
        ],
    }


def _registered_pairs():
    m = _members()
    for a, b in itertools.product(m, m):
        p, q = m[a][0], m[b][1 if a == b else 0]
        try:
            D.kl_divergence(p, q)
        except NotImplementedError:
            continue
        yield pytest.param(p, q, id=f"{a}-{b}")


PAIRS = list(_registered_pairs())


def test_registry_is_large():
    assert len(PAIRS) >= 60


@pytest.mark.parametrize("p, q", PAIRS)
def test_against_torch_kl_divergence_float64(p, q):
    ref = D.kl_divergence(p, q)
    got = kb.kl(p, q)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64 and got.shape == ref.shape
    if torch.isinf(ref).all():
        assert torch.isinf(got).all() and (got > 0).all()
    else:
        torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)


def test_float32_in_float32_out_and_batches():
    p = D.Normal(torch.zeros(4, 1), torch.ones(4, 1))
    q = D.Normal(torch.linspace(-1, 1, 3), 2.0)
    got = kb.kl(p, q)
    assert got.dtype == torch.float32 and got.shape == (4, 3)
    torch.testing.assert_close(got, D.kl_divergence(p, q))
    got64 = kb.kl(D.Gamma(T([1.0, 2.0]), T(1.0)), D.Gamma(T(1.5), T([[0.5], [2.0]])))
    assert got64.dtype == torch.float64 and got64.shape == (2, 2)


def test_normal_gradients_match_the_hand_derivation():
    # D = log(sq/sp) + (sp^2 + (mp - mq)^2)/(2 sq^2) - 1/2
    # dD/dmp = (mp - mq)/sq^2, dD/dsp = -1/sp + sp/sq^2, dD/dmq = -(mp - mq)/sq^2, dD/dsq = 1/sq - (sp^2 + (mp - mq)^2)/sq^3
    mp_, sp, mq, sq = (T(v).requires_grad_() for v in (0.3, 1.2, -0.4, 0.7))
    kb.kl(D.Normal(mp_, sp), D.Normal(mq, sq)).backward()
    a, b, c, d = 0.3, 1.2, -0.4, 0.7
    assert mp_.grad.item() == pytest.approx((a - c) / d**2, rel=1e-13)
    assert sp.grad.item() == pytest.approx(-1 / b + b / d**2, rel=1e-13)
    assert mq.grad.item() == pytest.approx(-(a - c) / d**2, rel=1e-13)
    assert sq.grad.item() == pytest.approx(1 / d - (b * b + (a - c) ** 2) / d**3, rel=1e-13)


GRAD_CASES = {
    "normal": (lambda a, b, c, d: (D.Normal(a, b), D.Normal(c, d))),
    "gamma": (lambda a, b, c, d: (D.Gamma(a, b), D.Gamma(c, d))),
    "beta": (lambda a, b, c, d: (D.Beta(a, b), D.Beta(c, d))),
    "laplace": (lambda a, b, c, d: (D.Laplace(a, b), D.Laplace(c, d))),
    "gumbel": (lambda a, b, c, d: (D.Gumbel(a, b), D.Gumbel(c, d))),
    "cauchy": (lambda a, b, c, d: (D.Cauchy(a, b), D.Cauchy(c, d))),
    "pareto": (lambda a, b, c, d: (D.Pareto(a, b + 2), D.Pareto(c * 0.5, d))),
    "beta-normal": (lambda a, b, c, d: (D.Beta(a, b), D.Normal(c, d))),
    "gamma-gumbel": (lambda a, b, c, d: (D.Gamma(a, b), D.Gumbel(c, d))),
    "normal-laplace": (lambda a, b, c, d: (D.Normal(a, b), D.Laplace(c, d))),
    "weibull": (lambda a, b, c, d: (D.Weibull(a, b), D.Weibull(c, d))),
    "vonmises": (lambda a, b, c, d: (D.VonMises(a, b), D.VonMises(c, d))),
    "gamma-weibull": (lambda a, b, c, d: (D.Gamma(a, b), D.Weibull(c, d))),
    "cbernoulli": (lambda a, b, c, d: (D.ContinuousBernoulli(a * b * 0.3), D.ContinuousBernoulli(c * d))),  # 0.351, 0.48
    "cbernoulli near 1/2 (series)": (lambda a, b, c, d: (D.ContinuousBernoulli(a * 0.55), D.ContinuousBernoulli(c * d * 1.04))),
    "cbernoulli-normal": (lambda a, b, c, d: (D.ContinuousBernoulli(a * 0.55), D.Normal(c, d))),
}


@pytest.mark.parametrize(
    "p, q, ref",
    [
        (D.Weibull(T(2.0), T(1.7)), D.Weibull(T(0.6), T(0.8)), ("weibull", dict(c=1.7, scale=2.0), "weibull", dict(c=0.8, scale=0.6))),
        (
            D.Gamma(T(2.0), T(0.9)),
            D.Weibull(T(2.0), T(1.7)),
            ("gamma", dict(concentration=2.0, rate=0.9), "weibull", dict(c=1.7, scale=2.0)),
        ),
        (D.Weibull(T(2.0), T(1.7)), D.LogNormal(T(0.5), T(0.8)), ("weibull", dict(c=1.7, scale=2.0), "lognormal", dict(mu=0.5, sigma=0.8))),
    ],
)
def test_families_torch_does_not_register_against_mpmath(p, q, ref):
    with pytest.raises(NotImplementedError):
        D.kl_divergence(p, q)
    fp, pp, fq, qp = ref
    want = mpref.kl_continuous(mpref.logpdf(fp, **pp), mpref.logpdf(fq, **qp))
    assert kb.kl(p, q).item() == pytest.approx(float(want), rel=1e-10)


@pytest.mark.parametrize("name", GRAD_CASES)
def test_gradients_against_finite_differences(name):
    make = GRAD_CASES[name]
    args = tuple(T(v).requires_grad_() for v in (0.9, 1.3, 0.6, 0.8))
    assert torch.autograd.gradcheck(lambda *a: kb.kl(*make(*a)), args, eps=1e-6, atol=1e-8, rtol=1e-6)


def test_mvn_and_dirichlet_gradients_against_finite_differences():
    loc = T([0.1, -0.2, 0.3]).requires_grad_()
    A = T([[1.2, 0.0, 0.0], [0.3, 0.8, 0.0], [-0.1, 0.2, 0.6]]).requires_grad_()
    L = T([[1.0, 0.0, 0.0], [0.1, 1.5, 0.0], [0.2, -0.3, 0.9]])
    f = lambda loc, A: kb.kl(
        D.MultivariateNormal(loc, scale_tril=A.tril()), D.MultivariateNormal(torch.zeros(3, dtype=torch.float64), scale_tril=L)
    )  # noqa: E731
    assert torch.autograd.gradcheck(f, (loc, A), eps=1e-6, atol=1e-8)
    a = T([1.5, 2.0, 0.7]).requires_grad_()
    assert torch.autograd.gradcheck(lambda a: kb.kl(D.Dirichlet(a), D.Dirichlet(T([1.0, 3.0, 2.0]))), (a,), eps=1e-6, atol=1e-8)


def test_kl_as_a_loss_fits_a_normal():
    # minimise D(q_theta || p) over theta: reaches p's parameters
    target = D.Normal(T(1.5), T(0.5))
    mu, log_s = T(0.0).requires_grad_(), T(0.0).requires_grad_()
    opt = torch.optim.Adam([mu, log_s], lr=0.05)
    for _ in range(800):
        opt.zero_grad()
        loss = kb.kl(D.Normal(mu, log_s.exp()), target)
        loss.backward()
        opt.step()
    assert mu.item() == pytest.approx(1.5, abs=1e-3) and log_s.exp().item() == pytest.approx(0.5, abs=1e-3)


def test_mixed_scipy_and_torch_compute_in_torch():
    got = kb.kl(D.Normal(torch.zeros(3), 1.0), st.norm(1, 2))
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32 and got.shape == (3,)
    ref = math.log(2) + (1 + 1) / 8 - 0.5
    torch.testing.assert_close(got, torch.full((3,), ref))
    got = kb.kl(st.gamma(2.0, scale=0.5), D.Gamma(T(1.5), T(1.0)))
    assert got.dtype == torch.float64
    ref = mpref.kl_continuous(mpref.logpdf("gamma", concentration=2.0, rate=2.0), mpref.logpdf("gamma", concentration=1.5, rate=1.0))
    assert got.item() == pytest.approx(float(ref), rel=1e-12)


def test_independent_sums_reinterpreted_dims():
    p = D.Independent(D.Normal(T([[0.0, 1.0], [2.0, 3.0]]), T(1.0)), 1)
    q = D.Independent(D.Normal(T([0.5, 0.5]), T(2.0)), 1)
    got = kb.kl(p, q)
    assert got.shape == (2,)
    torch.testing.assert_close(got, D.kl_divergence(p, q), rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match="Independent over different numbers"):
        kb.kl(p, D.Normal(T(0.0), T(1.0)))


def test_numeric_path_returns_tensors_on_the_parameters_dtype():
    got = kb.kl(D.StudentT(T(5.0)), D.Normal(T(0.0), T(1.0)))
    assert got.dtype == torch.float64
    ref = mpref.kl_continuous(mpref.logpdf("t", df=5, loc=0, scale=1), mpref.logpdf("normal", loc=0, scale=1))
    assert got.item() == pytest.approx(float(ref), rel=1e-6)


def test_categorical_probabilities_vs_logits_agree():
    p = D.Categorical(logits=T([0.0, 1.0, -1.0]))
    q = D.Categorical(probs=T([0.2, 0.3, 0.5]))
    ref = st.entropy(np.exp([0.0, 1.0, -1.0]) / np.exp([0.0, 1.0, -1.0]).sum(), [0.2, 0.3, 0.5])
    assert kb.kl(p, q).item() == pytest.approx(ref, rel=1e-13)


def test_transformed_distributions_with_equal_transforms():
    from torch.distributions.transforms import AffineTransform, ExpTransform

    tr = [AffineTransform(T(1.0), T(2.0)), ExpTransform()]
    p = D.TransformedDistribution(D.StudentT(T(5.0)), tr)
    q = D.TransformedDistribution(D.Normal(T(0.0), T(1.0)), tr)
    # a bijection leaves the divergence unchanged: that of the bases
    ref = mpref.kl_continuous(mpref.logpdf("t", df=5, loc=0, scale=1), mpref.logpdf("normal", loc=0, scale=1))
    assert kb.kl(p, q).item() == pytest.approx(float(ref), rel=1e-6)
    pn = D.TransformedDistribution(D.Normal(T(0.3), T(1.2)), tr)
    torch.testing.assert_close(kb.kl(pn, q), D.kl_divergence(pn, q), rtol=1e-12, atol=0)
    other = D.TransformedDistribution(D.Normal(T(0.0), T(1.0)), [ExpTransform()])
    with pytest.raises(TypeError, match="TransformedDistribution"):
        kb.kl(pn, other)


def _mp_cbernoulli(lam):
    mp = mpref.mp
    lam = mp.mpf(lam)
    c = mp.mpf(2) if lam == mp.mpf(0.5) else (mp.log(lam) - mp.log(1 - lam)) / (2 * lam - 1)
    return (lambda x: mp.log(c) + x * mp.log(lam) + (1 - x) * mp.log(1 - lam)), (0, 1)


@pytest.mark.parametrize("lp, lq", [(0.3, 0.7), (0.5, 0.2), (0.501, 0.4999), (0.01, 0.99), (0.49, 0.51), (1e-6, 0.5), (0.495, 0.2)])
def test_continuous_bernoulli_against_mpmath(lp, lq):
    mpref.mp.mp.dps = 30
    ref = mpref.kl_continuous(_mp_cbernoulli(lp), _mp_cbernoulli(lq))
    got = kb.kl(D.ContinuousBernoulli(T(lp)), D.ContinuousBernoulli(T(lq))).item()
    assert got == pytest.approx(float(ref), rel=1e-10, abs=1e-16)
    # cross-family through its moments (mean, variance, entropy near lam = 1/2 by series)
    ref = mpref.kl_continuous(_mp_cbernoulli(lp), mpref.logpdf("normal", loc=0.2, scale=0.7))
    assert kb.kl(D.ContinuousBernoulli(T(lp)), D.Normal(T(0.2), T(0.7))).item() == pytest.approx(float(ref), rel=1e-10)
    ref = mpref.kl_continuous(mpref.logpdf("beta", a=2.0, b=3.0), _mp_cbernoulli(lq))
    assert kb.kl(D.Beta(T(2.0), T(3.0)), D.ContinuousBernoulli(T(lq))).item() == pytest.approx(float(ref), rel=1e-10)


def test_continuous_bernoulli_numeric_view():
    # no closed form against a gamma law: quadrature over kullback's own view of the law (scipy has none)
    ref = mpref.kl_continuous(_mp_cbernoulli(0.3), mpref.logpdf("gamma", concentration=2.0, rate=3.0))
    assert kb.kl(D.ContinuousBernoulli(T(0.3)), D.Gamma(T(2.0), T(3.0))).item() == pytest.approx(float(ref), rel=1e-6)
