"""Regressions of issue 12 in recognising and routing distribution objects (classes 6 and 10).

References: Wikipedia's worked example ("Kullback–Leibler divergence", Binomial(2, 0.4)
against the uniform law on {0, 1, 2}: D(P||Q) = 0.0852996, D(Q||P) = 0.097455);
others by mpmath sums and closed forms written out here.
"""

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st
import torch
import torch.distributions as D

import kullback as kb

mp.mp.dps = 50
UNIFORM3 = st.rv_discrete(values=([0, 1, 2], [1 / 3] * 3))


def _mp_kl(p, q):
    return float(mp.fsum(a * (mp.log(a) - mp.log(b)) for a, b in zip(p, q) if a > 0))


def _binom_pmf(n, p):
    return [mp.binomial(n, k) * mp.mpf(p) ** k * (1 - mp.mpf(p)) ** (n - k) for k in range(n + 1)]


def test_binomial_against_rv_discrete_is_summed_not_refused():
    """The README's own example: a binomial against a categorical law on the same outcomes."""
    assert kb.kl(st.binom(2, 0.4), UNIFORM3) == pytest.approx(0.0852996, abs=5e-8)
    assert kb.kl(UNIFORM3, st.binom(2, 0.4)) == pytest.approx(0.097455, abs=5e-7)
    exact = _mp_kl(_binom_pmf(2, mp.mpf("0.4")), [mp.mpf(1) / 3] * 3)
    assert kb.kl(st.binom(2, 0.4), UNIFORM3) == pytest.approx(exact, rel=1e-13)


def test_torch_categorical_against_binomial():
    p = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    got = kb.kl(D.Categorical(p), D.Binomial(3, torch.tensor(0.45, dtype=torch.float64)))
    assert isinstance(got, torch.Tensor)
    exact = _mp_kl([mp.mpf(x) for x in ("0.1", "0.2", "0.3", "0.4")], _binom_pmf(3, mp.mpf("0.45")))
    assert float(got) == pytest.approx(exact, rel=1e-12)
    # the binomial puts mass on 3 where a categorical over {0, 1, 2} has none
    assert math.isinf(float(kb.kl(D.Binomial(3, torch.tensor(0.5)), D.Categorical(torch.ones(3) / 3))))


def test_categorical_batch_against_poisson():
    probs = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    got = kb.kl(D.Categorical(torch.tensor(probs)), D.Poisson(torch.tensor(1.5, dtype=torch.float64)))
    lam = mp.mpf("1.5")
    pois = [mp.exp(-lam) * lam**k / mp.factorial(k) for k in range(3)]
    for row, value in zip(probs, got.tolist()):
        assert value == pytest.approx(_mp_kl([mp.mpf(x) for x in row], pois), rel=1e-12)


@pytest.mark.parametrize("var, mq, sq", [(4.0, 1.0, 1.0), (1e-6, 3.0, 2.0)])
def test_one_dimensional_multivariate_normal_against_normal(var, mq, sq):
    """N(0, var) as a 1-d multivariate normal is the normal law; closed form of Penny (2001)."""
    sp = math.sqrt(var)
    exact = float(mp.log(mp.mpf(sq) / sp) + (sp**2 + mq**2) / (2 * mp.mpf(sq) ** 2) - mp.mpf(1) / 2)
    assert kb.kl(st.multivariate_normal([0.0], [[var]]), st.norm(mq, sq)) == pytest.approx(exact, rel=1e-12)
    assert kb.kl(st.norm(mq, sq), st.multivariate_normal([0.0], [[var]])) == pytest.approx(
        float(kb.kl(st.norm(mq, sq), st.norm(0, sp))), rel=1e-14
    )
    t = kb.kl(D.MultivariateNormal(torch.zeros(1, dtype=torch.float64), var * torch.eye(1, dtype=torch.float64)), D.Normal(mq, sq))
    assert float(t) == pytest.approx(exact, rel=1e-12)


def test_two_category_dirichlet_against_beta():
    """Dirichlet(a, b) is the law of (X, 1 - X) with X ~ Beta(a, b): D against a beta is the beta pair's."""
    a, b, c, d = 2.0, 3.0, 1.5, 2.0
    exact = float(
        mp.log(mp.beta(c, d) / mp.beta(a, b)) + (a - c) * mp.digamma(a) + (b - d) * mp.digamma(b) + (c - a + d - b) * mp.digamma(a + b)
    )  # Penny (2001), the two-component Dirichlet
    assert kb.kl(st.dirichlet([a, b]), st.beta(c, d)) == pytest.approx(exact, rel=1e-12)
    assert kb.kl(st.beta(a, b), st.dirichlet([c, d])) == pytest.approx(exact, rel=1e-12)


def test_new_api_invalid_parameter_is_named_as_the_user_named_it():
    with pytest.raises(ValueError, match=r"sigma in \(0, inf\)") as info:
        kb.kl(st.Normal(mu=0, sigma=-1), st.norm())
    assert "'loc'" not in str(info.value)


def test_student_t_is_recognised_for_torch_and_scipy():
    """One canonical family for st.t and torch StudentT: both paths give the same number."""
    a = kb.kl(st.t(5, 0.5, 2.0), st.t(3, 0.0, 1.0))
    b = kb.kl(D.StudentT(torch.tensor(5.0, dtype=torch.float64), 0.5, 2.0), D.StudentT(torch.tensor(3.0, dtype=torch.float64), 0.0, 1.0))
    assert float(b) == pytest.approx(float(a), rel=1e-9)


def test_mixed_float32_float64_torch_parameters_compute_in_float64():
    """torch promotes float32 with float64 to float64; so does kb.kl (it computed the float64 p
    against a float32 q in mixed precision, losing 2e-10 relative)."""
    f64 = lambda x: torch.tensor(x, dtype=torch.float64)
    exact = float(mp.log(2 / mp.mpf("1e-3")) + (mp.mpf("1e-6") + 9) / 8 - mp.mpf(1) / 2)
    got = kb.kl(D.Normal(f64(0.0), f64(1e-3)), D.Normal(3.0, 2.0))
    assert got.dtype == torch.float64
    assert float(got) == pytest.approx(exact, rel=1e-14)


def _mp_mixture_vs_normal():
    """D(0.3 N(-1, 1) + 0.7 N(2, 0.5^2) || N(0, 2^2)) by mpmath quadrature, split at the modes."""
    npdf = lambda x, m, s: mp.exp(-((x - m) ** 2) / (2 * s**2)) / (s * mp.sqrt(2 * mp.pi))
    p = lambda x: mp.mpf("0.3") * npdf(x, -1, 1) + mp.mpf("0.7") * npdf(x, 2, mp.mpf("0.5"))
    f = lambda x: p(x) * (mp.log(p(x)) - mp.log(npdf(x, 0, 2)))
    return float(mp.quad(f, [-mp.inf, -1, 0, 2, mp.inf]))


def test_one_dimensional_mixtures_go_through_the_numeric_path():
    """kb.kl refused torch MixtureSameFamily; a 1-d mixture now integrates to 1e-6 (both APIs)."""
    f64 = lambda x: torch.tensor(x, dtype=torch.float64)
    exact = _mp_mixture_vs_normal()
    mix = D.MixtureSameFamily(D.Categorical(f64([0.3, 0.7])), D.Normal(f64([-1.0, 2.0]), f64([1.0, 0.5])))
    assert float(kb.kl(mix, D.Normal(f64(0.0), f64(2.0)))) == pytest.approx(exact, rel=1e-6)
    new = st.Mixture([st.Normal(mu=-1, sigma=1), st.Normal(mu=2, sigma=0.5)], weights=[0.3, 0.7])
    assert kb.kl(new, st.norm(0, 2)) == pytest.approx(exact, rel=1e-6)
    with pytest.raises(ValueError, match="gradients"):
        kb.kl(D.MixtureSameFamily(D.Categorical(f64([0.3, 0.7]).requires_grad_()), D.Normal(f64([-1.0, 2.0]), 1.0)), D.Normal(0.0, 2.0))
