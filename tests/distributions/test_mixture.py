"""Scalar views of 1-D mixtures (kullback.distributions._mixture) through the numeric KL path.

References: mpmath quadrature (30 digits) of the mixture densities typed in here from
their definition sum_i w_i N(x; m_i, s_i); quantiles checked by the CDF written in mpmath.
"""

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st

from kullback.distributions._mixture import MixtureView, mixture_view
from kullback.distributions._numeric import quad_kl

torch = pytest.importorskip("torch")
D = torch.distributions
F64 = torch.float64


def _torch_mix(w, m, s):
    return D.MixtureSameFamily(D.Categorical(torch.tensor(w, dtype=F64)), D.Normal(torch.tensor(m, dtype=F64), torch.tensor(s, dtype=F64)))


def _scipy_mix(w, m, s):
    return st.Mixture([st.Normal(mu=a, sigma=b) for a, b in zip(m, s)], weights=w)


def _mp_logpdf(w, m, s):
    return lambda x: mp.log(mp.fsum(wi * mp.npdf(x, mi, si) for wi, mi, si in zip(w, m, s)))


def _mp_kl(P, Q, pts):
    lp, lq = _mp_logpdf(*P), _mp_logpdf(*Q)

    def f(x):
        a = lp(x)
        return mp.exp(a) * (a - lq(x))

    return mp.quad(f, [-mp.inf, *pts, mp.inf])


PAIRS = [
    (([0.3, 0.7], [0.0, 2.0], [1.0, 0.5]), ([0.6, 0.4], [0.5, 2.5], [1.2, 0.8])),
    (([0.5, 0.5], [-3.0, 3.0], [0.5, 0.5]), ([1.0], [0.0], [3.0])),  # bimodal p, one wide normal q
    (([0.2, 0.3, 0.5], [-1.0, 0.0, 4.0], [0.3, 2.0, 1.0]), ([0.5, 0.5], [0.0, 3.0], [1.0, 1.0])),
]


@pytest.mark.parametrize("P, Q", PAIRS)
@pytest.mark.parametrize("make", [_torch_mix, _scipy_mix], ids=["torch", "scipy"])
def test_quad_kl_on_views_vs_mpmath(P, Q, make):
    """_numeric.quad_kl(view_p, view_q, 1e-6) matches mpmath quadrature of the mixture KL to 1e-6."""
    want = float(_mp_kl(P, Q, [-5, -3, -1, 0, 1, 2, 3, 5]))
    got, err = quad_kl(mixture_view(make(*P)), mixture_view(make(*Q)), 1e-6)
    assert got == pytest.approx(want, rel=1e-6)
    assert err <= 1e-6 * want


def test_ppf_inverts_cdf():
    """ppf(u) solves F(x) = u with F written in mpmath; tails included (log-CDF / log-SF root)."""
    w, m, s = [0.3, 0.7], [0.0, 2.0], [1.0, 0.5]
    view = mixture_view(_torch_mix(w, m, s))
    u = np.array([1e-12, 1e-6, 0.1, 0.5, 0.9, 1 - 1e-6, 1 - 1e-12])
    x = view.ppf(u)
    for ui, xi in zip(u, x):
        F = mp.fsum(wi * mp.ncdf(xi, mi, si) for wi, mi, si in zip(w, m, s))
        S = 1 - F if ui < 0.5 else mp.fsum(wi * mp.ncdf(-xi, -mi, si) for wi, mi, si in zip(w, m, s))
        if ui < 0.5:
            assert float(F) == pytest.approx(ui, rel=1e-9)
        else:
            assert float(S) == pytest.approx(1 - ui, rel=1e-6)


def test_logpdf_and_support():
    """logpdf against mpmath; support is the union of the components'."""
    w, m, s = [0.25, 0.75], [-1.0, 40.0], [0.5, 2.0]
    view = mixture_view(_scipy_mix(w, m, s))
    for x in (-50.0, -1.0, 20.0, 40.0, 200.0):
        assert float(view.logpdf(x)) == pytest.approx(float(_mp_logpdf(w, m, s)(x)), rel=1e-12)
    assert view.support() == (-np.inf, np.inf)
    gam = mixture_view(
        D.MixtureSameFamily(D.Categorical(torch.tensor([0.5, 0.5])), D.Gamma(torch.tensor([2.0, 3.0]), torch.tensor([1.0, 1.0])))
    )
    assert gam.support() == (0.0, np.inf)


def test_discrete_mixture_view():
    """A mixture of Poissons: logpmf = log sum w_i pmf_i (mpmath), ppf the smallest k with F(k) >= u."""
    view = mixture_view(
        D.MixtureSameFamily(D.Categorical(torch.tensor([0.3, 0.7], dtype=F64)), D.Poisson(torch.tensor([1.0, 6.0], dtype=F64)))
    )
    for k in (0, 3, 10):
        want = mp.log(0.3 * mp.exp(-1) / mp.factorial(k) + 0.7 * mp.exp(-6) * mp.mpf(6) ** k / mp.factorial(k))
        assert float(view.logpmf(k)) == pytest.approx(float(want), rel=1e-12)
    ks = view.ppf(np.array([0.01, 0.3, 0.5, 0.99]))
    cdf = view.cdf(ks)
    assert np.all(cdf >= [0.01, 0.3, 0.5, 0.99]) and np.all(view.cdf(ks - 1) < [0.01, 0.3, 0.5, 0.99])


def test_not_a_univariate_mixture_is_none():
    """Only univariate, unbatched mixtures get a view."""
    assert mixture_view(st.norm()) is None
    mvn = D.MixtureSameFamily(
        D.Categorical(torch.tensor([0.5, 0.5])), D.MultivariateNormal(torch.zeros(2, 2), torch.eye(2).expand(2, 2, 2))
    )
    assert mixture_view(mvn) is None


def test_bad_weights():
    """Negative or all-zero weights are a ValueError naming `weights`."""
    with pytest.raises(ValueError, match="weights"):
        MixtureView([-0.5, 1.5], [st.norm(), st.norm(1)])
    with pytest.raises(ValueError, match="weights"):
        MixtureView([0.0, 0.0], [st.norm(), st.norm(1)])
