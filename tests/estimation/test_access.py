"""Access to distribution objects for the estimators (kullback.estimation._access).

References: log-densities are checked against closed forms written out here (normal,
Poisson, exponential) or against the object's own scipy counterpart with the same
parameters (an independent implementation: scipy vs torch).
"""

import math

import numpy as np
import pytest
import scipy.stats as st

from kullback.estimation import _access as A

torch = pytest.importorskip("torch")
D = torch.distributions


def _mixture_torch():
    return D.MixtureSameFamily(D.Categorical(torch.tensor([0.3, 0.7])), D.Normal(torch.tensor([0.0, 2.0]), torch.tensor([1.0, 0.5])))


def _mixture_scipy():
    return st.Mixture([st.Normal(mu=0.0, sigma=1.0), st.Normal(mu=2.0, sigma=0.5)], weights=[0.3, 0.7])


CASES = [
    # (object, discrete, event_dim)
    (lambda: st.norm(1, 2), False, 0),
    (lambda: st.poisson(3), True, 0),
    (lambda: st.multivariate_normal([0, 0]), False, 2),
    (lambda: st.multivariate_normal([0.0], [[1.0]]), False, 1),
    (lambda: st.multivariate_t([0, 0], np.eye(2), df=3), False, 2),
    (lambda: st.dirichlet([1, 2, 3]), False, 3),
    (lambda: st.multinomial(5, [0.2, 0.8]), True, 2),
    (lambda: st.Normal(mu=0, sigma=1), False, 0),
    (lambda: st.Binomial(n=5, p=0.3), True, 0),
    (_mixture_scipy, False, 0),
    (lambda: D.Normal(0.0, 1.0), False, 0),
    (lambda: D.Poisson(torch.tensor(3.0)), True, 0),
    (lambda: D.Categorical(torch.tensor([0.2, 0.8])), True, 0),
    (lambda: D.MultivariateNormal(torch.zeros(2), torch.eye(2)), False, 2),
    (lambda: D.Independent(D.Normal(torch.zeros(3), torch.ones(3)), 1), False, 3),
    (_mixture_torch, False, 0),
    (lambda: D.StudentT(torch.tensor(3.0, dtype=torch.float64)), False, 0),
]


@pytest.mark.parametrize("make, discrete, dim", CASES)
def test_recognise_sample_evaluate(make, discrete, dim):
    """Kind, dimension, shapes and dtypes; the same seed gives the same draws; log-densities finite on draws."""
    d = make()
    assert A.is_distribution(d)
    assert A.is_discrete(d) is discrete
    assert A.event_dim(d) == dim
    x = A.sample(d, 5, 7)
    assert x.shape == ((5, dim) if dim else (5,))
    assert x.dtype == (np.int64 if discrete else np.float64)
    np.testing.assert_array_equal(x, A.sample(d, 5, np.random.default_rng(7)))
    assert not np.array_equal(x, A.sample(d, 5, 8)) or discrete
    lp = A.log_density(d, x)
    assert lp.shape == (5,) and lp.dtype == np.float64 and np.all(np.isfinite(lp))


def test_log_density_matches_closed_forms():
    """Normal: -(x-mu)^2/(2 s^2) - log(s sqrt(2 pi)); Poisson: k log l - l - log k!; written out here."""
    x = np.array([-1.0, 0.5, 3.0])
    want = -((x - 1) ** 2) / 8 - math.log(2 * math.sqrt(2 * math.pi))
    np.testing.assert_allclose(A.log_density(st.norm(1, 2), x), want, rtol=1e-13)
    np.testing.assert_allclose(A.log_density(D.Normal(torch.tensor(1.0, dtype=torch.float64), 2.0), x), want, rtol=1e-13)
    k = np.array([0, 2, 5])
    want = k * math.log(3) - 3 - np.array([math.lgamma(v + 1) for v in k])
    np.testing.assert_allclose(A.log_density(D.Poisson(torch.tensor(3.0, dtype=torch.float64)), k), want, rtol=1e-13)
    np.testing.assert_allclose(A.log_density(st.Binomial(n=5, p=0.3), k), st.binom(5, 0.3).logpmf(k), rtol=1e-13)


def test_torch_mixture_matches_scipy_mixture():
    """The same two-component normal mixture in torch and scipy's new API has the same log-density."""
    x = np.linspace(-3, 4, 9)
    np.testing.assert_allclose(A.log_density(_mixture_torch(), x), A.log_density(_mixture_scipy(), x), rtol=1e-6)


def test_outside_support_is_minus_inf():
    """Exponential(1) has density 0 below 0: log density -inf, not an error or a finite number (torch validates, or not)."""
    x = np.array([-1.0, 1.0])
    for d in (st.expon(), D.Exponential(torch.tensor(1.0)), D.Exponential(torch.tensor(1.0), validate_args=False)):
        np.testing.assert_allclose(A.log_density(d, x), [-np.inf, -1.0], rtol=1e-7)
    np.testing.assert_array_equal(A.log_density(D.Exponential(torch.tensor(1.0)), np.array([-1.0, -2.0])), [-np.inf, -np.inf])
    assert A.log_density(st.dirichlet([1, 1, 1]), np.array([[0.5, 0.6, -0.1]]))[0] == -np.inf


def test_torch_draws_do_not_touch_global_state():
    """Drawing through a seeded rng leaves torch's global generator where it was."""
    torch.manual_seed(0)
    a = torch.rand(3)
    torch.manual_seed(0)
    A.sample(D.Normal(0.0, 1.0), 10, 1)
    assert torch.equal(torch.rand(3), a)


def test_not_a_distribution():
    """Arrays are samples, not distributions; an object without draws is a TypeError naming it."""
    assert not A.is_distribution(np.zeros(3))
    assert not A.is_distribution([0.2, 0.8])
    with pytest.raises(TypeError, match="rvs"):
        A.sample(object(), 3)
    with pytest.raises(TypeError, match="freeze"):
        A.sample(st.norm, 3)


def test_batches_refused():
    """A batch of laws is not one distribution to draw from."""
    with pytest.raises(ValueError, match="one distribution at a time"):
        A.sample(D.Normal(torch.zeros(2), 1.0), 3)
    with pytest.raises(ValueError, match="one distribution at a time"):
        A.sample(st.norm([0, 1]), 3)
    with pytest.raises(ValueError, match="`n`"):
        A.sample(st.norm(), 0)


def test_log_density_passes_nan_on_not_minus_inf():
    """Review item 9: log_density turned a NaN logpdf into -inf (an infinite KL instead of an error).  scipy's norm with
    scale -1 is invalid and its logpdf is NaN (scipy's documented answer for invalid parameters)."""
    out = A.log_density(st.norm(0, -1), np.array([0.0, 1.0]))
    assert np.isnan(out).all()
    assert A.log_density(st.expon(), np.array([-1.0]))[0] == -math.inf  # outside the support stays -inf
