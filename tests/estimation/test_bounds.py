"""Deterministic bounds on D(p||q) for Gaussian mixtures (kullback.estimation._bounds).

References: the Gaussian KL in mpmath (1/2 [tr(S2^-1 S1) + maha - d + log det S2/S1], 30 digits) for
single Gaussians; the 1-D mixture KL by kullback's quadrature on mixture views (checked against
mpmath in tests/distributions/test_mixture.py); seeded Monte Carlo (kl_mc, its 4 s.e.) in d = 2..5.
A bound that is violated makes these tests fail: lower must not exceed the truth, upper must not
fall below it.
"""

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st
from hypothesis import given
from hypothesis import strategies as hs

from kullback.distributions._mixture import mixture_view
from kullback.distributions._numeric import quad_kl
from kullback.estimation._bounds import gaussian_mixture, kl_bounds
from kullback.estimation._montecarlo import kl_mc

torch = pytest.importorskip("torch")
D = torch.distributions
F64 = torch.float64


def _mp_kl_gauss(m1, S1, m2, S2):
    m1, m2 = mp.matrix(m1), mp.matrix(m2)
    S1, S2 = mp.matrix(S1), mp.matrix(S2)
    inv = S2**-1
    dm = m2 - m1
    tr = sum((inv * S1)[i, i] for i in range(S1.rows))
    return 0.5 * (tr + (dm.T * inv * dm)[0] - S1.rows + mp.log(mp.det(S2) / mp.det(S1)))


def _torch_mix(w, m, s):
    return D.MixtureSameFamily(
        D.Categorical(torch.tensor(w, dtype=F64)), D.MultivariateNormal(torch.tensor(m, dtype=F64), torch.tensor(s, dtype=F64))
    )


def _random_mixture(rng, k, d, spread=1.5):
    A = rng.normal(size=(k, d, d))
    return rng.dirichlet(np.ones(k)), rng.normal(size=(k, d)) * spread, A @ A.transpose(0, 2, 1) / d + 0.3 * np.eye(d)


def test_single_gaussians_are_tight():
    """One component each: lower = upper = the closed form."""
    m1, S1 = [0.0, 1.0], [[1.0, 0.3], [0.3, 2.0]]
    m2, S2 = [1.0, -1.0], [[2.0, 0.0], [0.0, 1.0]]
    want = float(_mp_kl_gauss(m1, S1, m2, S2))
    lo, hi = kl_bounds((np.ones(1), np.array([m1]), np.array([S1])), (np.ones(1), np.array([m2]), np.array([S2])))
    assert lo == pytest.approx(want, rel=1e-12) and hi == pytest.approx(want, rel=1e-12)
    lo, hi = kl_bounds(st.multivariate_normal(m1, S1), D.MultivariateNormal(torch.tensor(m2, dtype=F64), torch.tensor(S2, dtype=F64)))
    assert lo == pytest.approx(want, rel=1e-12) and hi == pytest.approx(want, rel=1e-12)
    lo, hi = kl_bounds(st.norm(0, 1), D.Normal(torch.tensor(1.0, dtype=F64), 2.0))
    assert lo == pytest.approx(float(_mp_kl_gauss([0], [[1]], [1], [[4]])), rel=1e-12) == hi


@pytest.mark.parametrize(
    "P, Q",
    [
        (([0.3, 0.7], [0.0, 2.0], [1.0, 0.25]), ([0.6, 0.4], [0.5, 2.5], [1.44, 0.64])),
        (([0.5, 0.5], [-3.0, 3.0], [0.25, 0.25]), ([1.0], [0.0], [9.0])),
        (([1.0], [0.0], [9.0]), ([0.5, 0.5], [-3.0, 3.0], [0.25, 0.25])),
        (([0.2, 0.3, 0.5], [-1.0, 0.0, 4.0], [0.09, 4.0, 1.0]), ([0.5, 0.5], [0.0, 3.0], [1.0, 1.0])),
    ],
)
def test_one_dimensional_mixtures_bracket_the_quadrature(P, Q):
    """d = 1: lower <= D <= upper with D from the 1e-6 quadrature on mixture views."""
    sp = st.Mixture([st.Normal(mu=m, sigma=math.sqrt(v)) for m, v in zip(P[1], P[2])], weights=P[0])
    sq = st.Mixture([st.Normal(mu=m, sigma=math.sqrt(v)) for m, v in zip(Q[1], Q[2])], weights=Q[0])
    exact = quad_kl(mixture_view(sp), mixture_view(sq), 1e-9)[0]
    lo, hi = kl_bounds(sp, sq)
    assert lo <= exact * (1 + 1e-6) and hi >= exact * (1 - 1e-6)
    assert (lo, hi) == pytest.approx(kl_bounds(tuple(map(np.array, P)), tuple(map(np.array, Q))), rel=1e-12)


@pytest.mark.parametrize("d, seed", [(2, 0), (3, 1), (5, 2)])
def test_mixtures_bracket_monte_carlo(d, seed):
    """d >= 2: the bounds contain a seeded Monte Carlo estimate to within 4 of its standard errors."""
    rng = np.random.default_rng(seed)
    P, Q = _random_mixture(rng, 3, d), _random_mixture(rng, 2, d)
    lo, hi = kl_bounds(P, Q)
    e = kl_mc(_torch_mix(*P), _torch_mix(*Q), rng=seed, max_draws=2**15, rtol=1e-3)
    assert lo <= e.value + 4 * e.stderr
    assert hi >= e.value - 4 * e.stderr
    assert lo < hi


def test_input_forms_agree():
    """A torch MixtureSameFamily of MultivariateNormal, of Independent(Normal), and the tuple form."""
    w, m, v = np.array([0.4, 0.6]), np.array([[0.0, 1.0], [2.0, -1.0]]), np.array([[1.0, 2.0], [0.5, 0.5]])
    S = np.einsum("ki,ij->kij", v, np.eye(2))
    ind = D.MixtureSameFamily(D.Categorical(torch.tensor(w)), D.Independent(D.Normal(torch.tensor(m), torch.tensor(np.sqrt(v))), 1))
    q = (np.array([1.0]), np.array([[0.5, 0.0]]), np.eye(2)[None] * 2)
    a, b, c = kl_bounds(ind, q), kl_bounds(_torch_mix(w, m, S), q), kl_bounds((w, m, S), q)
    assert a == pytest.approx(b, rel=1e-12) and b == pytest.approx(c, rel=1e-12)
    wm = gaussian_mixture(ind)
    np.testing.assert_allclose(wm[2], S, rtol=1e-12)


@pytest.mark.fuzz
@given(hs.integers(1, 4), hs.integers(1, 4), hs.integers(1, 4), hs.integers(0, 2**32 - 1))
def test_lower_le_upper(k1, k2, d, seed):
    """0 <= lower <= upper for random mixtures; both finite (closed-form bounds; projections below)."""
    rng = np.random.default_rng(seed)
    lo, hi = kl_bounds(_random_mixture(rng, k1, d), _random_mixture(rng, k2, d), projections=False)
    assert 0 <= lo <= hi < math.inf


@pytest.mark.parametrize("seed", range(6))
def test_slabs_never_loosen_the_whole_space_bounds(seed):
    """The slab refinement only takes a larger lower and a smaller upper bound (max/min of valid bounds)."""
    rng = np.random.default_rng(100 + seed)
    P, Q = _random_mixture(rng, 3, 1 + seed % 4), _random_mixture(rng, 2, 1 + seed % 4)
    lo0, hi0 = kl_bounds(P, Q, projections=False)
    lo, hi = kl_bounds(P, Q)
    assert lo0 <= lo <= hi <= hi0
    assert hi - lo < hi0 - lo0


def test_identical_mixtures_have_lower_bound_zero():
    """D(p||p) = 0: the lower bound is 0 and the variational upper bound is 0 as well (phi = psi)."""
    P = _random_mixture(np.random.default_rng(3), 3, 2)
    lo, hi = kl_bounds(P, P)
    assert lo == 0.0 and hi == pytest.approx(0.0, abs=1e-10)


def test_bad_inputs():
    """Non-Gaussian components, bad weights, dimension mismatch."""
    with pytest.raises(TypeError, match="not Gaussian"):
        kl_bounds(D.MixtureSameFamily(D.Categorical(torch.tensor([0.5, 0.5])), D.StudentT(torch.tensor([3.0, 4.0]))), st.norm())
    with pytest.raises(ValueError, match="sum to 1"):
        kl_bounds((np.array([0.5, 0.6]), np.zeros((2, 1)), np.ones((2, 1, 1))), st.norm())
    with pytest.raises(ValueError, match="dimensions"):
        kl_bounds(st.multivariate_normal([0, 0]), st.norm())
    with pytest.raises(ValueError, match="positive definite"):
        kl_bounds((np.ones(1), np.zeros((1, 2)), np.array([[[1.0, 2.0], [2.0, 1.0]]])), st.multivariate_normal([0, 0]))
    with pytest.raises(TypeError, match="Gaussian mixture"):
        kl_bounds([0.5, 0.5], st.norm())
