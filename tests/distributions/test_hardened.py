"""Hardened numerics: extreme scale ratios in float32/float64, ill-conditioned multivariate normals."""

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st
import torch
import torch.distributions as D

import kullback as kb

F32_MAX = float(torch.finfo(torch.float32).max)

# family -> (torch constructor from a scale-like parameter s, textbook D(p_s1 || p_s2) evaluated in mpmath)
SCALE = {
    "normal": (lambda s, t: D.Normal(t(0.0), t(s)), lambda a, b: ((a / b) ** 2 - 1 - mp.log((a / b) ** 2)) / 2),
    "halfnormal": (lambda s, t: D.HalfNormal(t(s)), lambda a, b: ((a / b) ** 2 - 1 - mp.log((a / b) ** 2)) / 2),
    "lognormal": (lambda s, t: D.LogNormal(t(0.0), t(s)), lambda a, b: ((a / b) ** 2 - 1 - mp.log((a / b) ** 2)) / 2),
    "laplace": (lambda s, t: D.Laplace(t(0.0), t(s)), lambda a, b: mp.log(b / a) + a / b - 1),
    "exponential": (lambda s, t: D.Exponential(t(1 / s)), lambda a, b: a / b - 1 - mp.log(a / b)),
    "gamma": (lambda s, t: D.Gamma(t(2.0), t(1 / s)), lambda a, b: 2 * (a / b - 1 - mp.log(a / b))),
    "gumbel": (lambda s, t: D.Gumbel(t(0.0), t(s)), lambda a, b: mp.log(b / a) + mp.euler * (a / b - 1) + mp.gamma(1 + a / b) - 1),
    "cauchy": (lambda s, t: D.Cauchy(t(0.0), t(s)), lambda a, b: mp.log((a + b) ** 2 / (4 * a * b))),
    "uniform": (lambda s, t: D.Uniform(t(0.0), t(s)), lambda a, b: mp.log(b / a) if a <= b else mp.inf),
    "pareto": (lambda s, t: D.Pareto(t(s), t(3.0)), lambda a, b: 3 * mp.log(a / b) if a >= b else mp.inf),
    "poisson": (lambda s, t: D.Poisson(t(s)), lambda a, b: a * mp.log(a / b) - a + b),
    "beta": (lambda s, t: D.Beta(t(s), t(1.0)), lambda a, b: mp.log(a / b) + b / a - 1),  # Beta(a, 1): density a x^(a-1)
}
RATIOS_F32 = [(1e-30, 1.0), (1.0, 1e-30), (1e30, 1.0), (1.0, 1e30), (1e-30, 1e30), (1e30, 1e-30), (1e-38, 1e38), (1e38, 1e-38)]
RATIOS_F64 = [(1e-300, 1.0), (1.0, 1e-300), (1e300, 1.0), (1.0, 1e300), (1e-150, 1e150), (1e150, 1e-150)]


def _check(got, a, b, ref_fn, top):
    mp.mp.dps = 50
    ref = ref_fn(mp.mpf(a), mp.mpf(b))
    assert not math.isnan(got), "NaN"
    if ref == mp.inf or ref > top:
        assert got == math.inf
    else:
        assert got == pytest.approx(float(ref), rel=2e-6, abs=1e-6)


@pytest.mark.parametrize("family", SCALE)
def test_float32_extreme_scale_ratios_are_inf_or_right_never_nan(family):
    make, ref = SCALE[family]
    t = lambda x: torch.tensor(x, dtype=torch.float32)  # noqa: E731
    for a, b in RATIOS_F32:
        a32, b32 = float(np.float32(a)), float(np.float32(b))  # the parameters as float32 holds them
        got = kb.kl(make(a32, t), make(b32, t))
        assert got.dtype == torch.float32
        _check(got.item(), a32, b32, ref, F32_MAX)


@pytest.mark.parametrize("family", SCALE)
def test_float64_extreme_scale_ratios(family):
    make, ref = SCALE[family]
    t = lambda x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
    for a, b in RATIOS_F64:
        _check(kb.kl(make(a, t), make(b, t)).item(), a, b, ref, 1.7e308)


def test_float32_extreme_scale_gradients_are_finite():
    s = torch.tensor([1e-30, 1e30], requires_grad=True)
    kb.kl(D.Laplace(0.0, s), D.Laplace(0.0, torch.tensor(1.0))).sum().backward()
    assert torch.isfinite(s.grad).all()


def test_beta_and_dirichlet_large_concentrations_do_not_cancel():
    # torch's own formula returns 0 here; the truth is log(1e30) - 1 (Beta(a, 1) vs uniform)
    got = kb.kl(D.Beta(torch.tensor(1e30), torch.tensor(1.0)), D.Beta(torch.tensor(1.0), torch.tensor(1.0)))
    assert got.item() == pytest.approx(math.log(1e30) - 1, rel=1e-6)
    # Dirichlet(A, 1, 1) vs flat Dirichlet(1, 1, 1): log(A (A + 1)) - (A - 1)(1/A + 1/(A + 1)) - log 2, A = 1e30
    mp.mp.dps = 80
    A = mp.mpf(10) ** 30
    ref = mp.log(A * (A + 1)) - (A - 1) * (mp.digamma(A + 2) - mp.digamma(A)) - mp.log(2)
    got = kb.kl(st.dirichlet([1e30, 1.0, 1.0]), st.dirichlet([1.0, 1.0, 1.0]))
    assert got == pytest.approx(float(ref), rel=1e-12)


def _mp_kl_mvn(m1, S1, m2, S2):
    mp.mp.dps = 60
    S1, S2 = mp.matrix(S1.tolist()), mp.matrix(S2.tolist())
    inv = mp.inverse(S2)
    diff = mp.matrix((m2 - m1).tolist())
    d = S1.rows
    tr = mp.fsum((inv * S1)[i, i] for i in range(d))
    return 0.5 * (tr + (diff.T * inv * diff)[0, 0] - d + mp.log(mp.det(S2)) - mp.log(mp.det(S1)))


def _ill(rng, d, cond):
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    S = (Q * np.logspace(0, -np.log10(cond), d)) @ Q.T
    return (S + S.T) / 2


@pytest.mark.parametrize("cond", [1e2, 1e6, 1e8])
def test_mvn_against_mpmath(cond):
    rng = np.random.default_rng(int(math.log10(cond)))
    S1, S2 = _ill(rng, 5, cond), _ill(rng, 5, cond)
    m1, m2 = rng.normal(size=5) * 0.1, rng.normal(size=5) * 0.1
    ref = float(_mp_kl_mvn(m1, S1, m2, S2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", kb.AccuracyWarning)  # well within the accuracy bound: no warning
        got_np = kb.kl(st.multivariate_normal(m1, S1), st.multivariate_normal(m2, S2))
        got_t = kb.kl(D.MultivariateNormal(torch.tensor(m1), torch.tensor(S1)), D.MultivariateNormal(torch.tensor(m2), torch.tensor(S2)))
    tol = 5 * 5 * cond * np.finfo(float).eps + 1e-14
    assert got_np == pytest.approx(ref, rel=tol)
    assert got_t.item() == pytest.approx(ref, rel=tol)


@pytest.mark.parametrize("cond", [1e11, 1e13])
def test_ill_conditioned_mvn_warns_with_an_honest_bound(cond):
    rng = np.random.default_rng(7)
    S1, S2 = _ill(rng, 5, cond), _ill(rng, 5, cond)
    m1, m2 = np.zeros(5), np.full(5, 0.1)
    ref = float(_mp_kl_mvn(m1, S1, m2, S2))
    for p, q in [
        (st.multivariate_normal(m1, S1, allow_singular=True), st.multivariate_normal(m2, S2, allow_singular=True)),
        (D.MultivariateNormal(torch.tensor(m1), torch.tensor(S1)), D.MultivariateNormal(torch.tensor(m2), torch.tensor(S2))),
    ]:
        with pytest.warns(kb.AccuracyWarning, match=r"relative error up to ~(\S+) ") as rec:
            got = float(kb.kl(p, q))
        bound = float(str(rec[0].message).split("up to ~")[1].split()[0])
        assert abs(got - ref) <= bound * abs(ref)  # the stated bound holds
        assert abs(got - ref) > 1e-12 * abs(ref)  # and the warning was not idle: accuracy really is lost


def test_mvn_refusals():
    with pytest.raises(ValueError, match="not positive definite"):
        kb.kl(st.multivariate_normal([0, 0], [[1, 1], [1, 1]], allow_singular=True), st.multivariate_normal([0, 0]))
    with pytest.raises(ValueError, match="different numbers of dimensions"):
        kb.kl(D.MultivariateNormal(torch.zeros(2), torch.eye(2)), D.MultivariateNormal(torch.zeros(3), torch.eye(3)))


def test_mvn_batches_broadcast_in_both_backends():
    loc = torch.tensor([[0.0, 0.0], [1.0, -1.0], [0.5, 2.0]], dtype=torch.float64)
    cov = torch.tensor([[2.0, 0.3], [0.3, 0.5]], dtype=torch.float64)
    p = D.MultivariateNormal(loc, cov)
    q = D.MultivariateNormal(torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64))
    got = kb.kl(p, q)
    assert got.shape == (3,)
    torch.testing.assert_close(got, D.kl_divergence(p, q), rtol=1e-13, atol=0)
    for i in range(3):
        ref = float(_mp_kl_mvn(loc[i].numpy(), cov.numpy(), np.zeros(2), np.eye(2)))
        assert got[i].item() == pytest.approx(ref, rel=1e-13)
