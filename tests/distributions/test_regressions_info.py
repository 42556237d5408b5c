"""Regressions of issue 24: entropy, cross-entropy and JS of distribution objects, laws off the integers.

Each test is named for the class that broke and failed before its fix.  References: mpmath at 40-60
digits from the textbook definitions (pmfs and densities typed in, no scipy/torch/kullback inside),
or closed forms in mpmath where cited.
"""

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st

import kullback as kb
from kullback._warnings import AccuracyWarning

torch = pytest.importorskip("torch")
TD = torch.distributions
LOG2 = math.log(2)
RTOL = 1e-6  # the numeric contract (closed forms: 1e-10)


def _js_terms(ps, qs):
    """JS of two pmfs given as lists over the same outcomes, in mpmath (Lin 1991, eq. 4.1)."""
    out = mp.mpf(0)
    for p, q in zip(ps, qs):
        m = (p + q) / 2
        out += (p * mp.log(p / m) if p else 0) / 2 + (q * mp.log(q / m) if q else 0) / 2
    return out


def _poisson(lam, k):
    return mp.exp(-lam + k * mp.log(lam) - mp.loggamma(k + 1))


# ---------------------------------------------------------------- 1 and 8: categorical JS compares outcomes


def test_categorical_js_compares_outcomes_not_positions():
    """rv_discrete on {0, 1} vs {5, 6}: disjoint, JS = log 2 (was 0.0); {0, 1} vs {1, 2}: 0.3466 (was 0.0)."""
    mp.mp.dps = 40
    a = st.rv_discrete(values=([0, 1], [0.5, 0.5]))
    assert kb.js(a, st.rv_discrete(values=([5, 6], [0.5, 0.5]))) == pytest.approx(LOG2, rel=1e-12)
    want = _js_terms([mp.mpf(0.5), mp.mpf(0.5), 0], [0, mp.mpf(0.5), mp.mpf(0.5)])
    assert kb.js(a, st.rv_discrete(values=([1, 2], [0.5, 0.5]))) == pytest.approx(float(want), rel=1e-12)


def test_torch_categorical_js_against_rv_discrete_on_other_outcomes():
    """torch Categorical lives on 0..K-1; against rv_discrete on {1, 2, 3} the union {0..3} is compared (was 0.0)."""
    mp.mp.dps = 40
    pr = [0.2, 0.3, 0.5]
    got = kb.js(TD.Categorical(probs=torch.tensor(pr, dtype=torch.float64)), st.rv_discrete(values=([1, 2, 3], pr)))
    want = _js_terms([mp.mpf(x) for x in pr] + [0], [0] + [mp.mpf(x) for x in pr])
    assert isinstance(got, torch.Tensor)
    assert float(got) == pytest.approx(float(want), rel=1e-12)


def test_categorical_js_against_another_discrete_family_sums():
    """JS(rv_discrete on {0, 1, 2}, Poisson(1)) was refused as 'multivariate'; kl sums the same pair."""
    mp.mp.dps = 40
    pk = [mp.mpf(0.2), mp.mpf(0.3), mp.mpf(0.5)]
    q = lambda k: _poisson(mp.mpf(1), k)  # noqa: E731
    inside = _js_terms(pk, [q(k) for k in range(3)])
    outside = mp.log(2) / 2 * (1 - sum(q(k) for k in range(3)))  # where p is 0: q log(2)/2
    got = kb.js(st.rv_discrete(values=([0, 1, 2], [0.2, 0.3, 0.5])), st.poisson(1))
    assert got == pytest.approx(float(inside + outside), rel=1e-9)
    assert kb.js(st.poisson(1), st.rv_discrete(values=([0, 1, 2], [0.2, 0.3, 0.5]))) == pytest.approx(got, rel=1e-12)


@pytest.mark.parametrize("kind", ["torch", "scipy"])
def test_near_identical_categorical_objects_keep_digits_in_js(kind):
    """50 categories at a relative difference of 1e-7: 2.5e-2 (torch) / 7.4e-3 (rv_discrete) relative error before;
    the reference is the definition in mpmath at 60 digits on the same float64 inputs."""
    mp.mp.dps = 60
    rng = np.random.default_rng(7)
    p = rng.random(50)
    p /= p.sum()
    q = p * (1 + 1e-7 * rng.standard_normal(50))
    q /= q.sum()
    want = float(_js_terms([mp.mpf(x) / mp.fsum(map(mp.mpf, p)) for x in p], [mp.mpf(x) / mp.fsum(map(mp.mpf, q)) for x in q]))
    if kind == "torch":
        got = float(kb.js(TD.Categorical(probs=torch.tensor(p)), TD.Categorical(probs=torch.tensor(q))))
    else:
        got = float(kb.js(st.rv_discrete(values=(np.arange(50), p)), st.rv_discrete(values=(np.arange(50), q))))
    assert got == pytest.approx(want, rel=1e-6)


# ---------------------------------------------------------------- 2: discrete laws off the integers


@pytest.mark.parametrize(
    "shifted, plain",
    [
        (st.poisson(3, loc=0.5), st.poisson(3)),
        (st.geom(0.3, loc=0.5), st.geom(0.3)),
        (st.nbinom(3, 0.4, loc=0.5), st.nbinom(3, 0.4)),
        (st.randint(0, 5, loc=0.5), st.randint(0, 6)),
        (st.rv_discrete(values=([0.5, 1.5], [0.5, 0.5])), st.poisson(1)),
    ],
)
def test_discrete_law_off_the_integers_is_disjoint_from_one_on_them(shifted, plain):
    """Lattices 0.5 + Z and Z never meet: KL = inf both ways, JS = log 2 (kl was 0.0654 for the Poisson pair, 0.389
    for the rv_discrete one: the sums ran over the integers)."""
    assert kb.kl(shifted, plain) == math.inf
    assert kb.kl(plain, shifted) == math.inf
    assert kb.js(shifted, plain) == pytest.approx(LOG2, rel=1e-12)


def test_discrete_laws_on_the_same_shifted_lattice():
    """Poisson(3) and Poisson(4) both shifted by 0.5: D = 3 log(3/4) + 1 = 0.13695 (was 0.1210); the entropy of the
    shifted law is the Poisson's, 1.9315 (was 0.0): sums of the definitions in mpmath."""
    mp.mp.dps = 40
    kl_ref = 3 * mp.log(mp.mpf(3) / 4) + 1
    assert kb.kl(st.poisson(3, loc=0.5), st.poisson(4, loc=0.5)) == pytest.approx(float(kl_ref), rel=1e-9)
    h_ref = mp.nsum(lambda k: -_poisson(mp.mpf(3), k) * mp.log(_poisson(mp.mpf(3), k)), [0, mp.inf])
    assert kb.entropy(st.poisson(3, loc=0.5)) == pytest.approx(float(h_ref), rel=1e-9)
    js_ref = mp.nsum(lambda k: _js_terms([_poisson(mp.mpf(3), k)], [_poisson(mp.mpf(4), k)]), [0, mp.inf])
    assert kb.js(st.poisson(3, loc=0.5), st.poisson(4, loc=0.5)) == pytest.approx(float(js_ref), rel=1e-9)


# ---------------------------------------------------------------- 3 and 4: numeric entropy and JS standardised


def _gamma_entropy(a):
    """H(Gamma(a, 1)) = a + log Gamma(a) + (1 - a) psi(a) (the families' standard tables)."""
    a = mp.mpf(a)
    return a + mp.loggamma(a) + (1 - a) * mp.digamma(a)


def test_numeric_entropy_in_the_standard_variable():
    """gamma(2, loc=1, scale=1e-20) gave 0.0 (truth -44.4745), gamma(2, loc=1e12) 1.3e-4 off, logistic(1e10, 1)
    2.4e-6 off: quadrature in x.  H = log s + H(standard law): the gamma's closed form, the logistic's 2."""
    mp.mp.dps = 40
    assert kb.entropy(st.gamma(2, loc=1, scale=1e-20)) == pytest.approx(float(_gamma_entropy(2) + mp.log(mp.mpf(1e-20))), rel=1e-9)
    assert kb.entropy(st.gamma(2, loc=1e12)) == pytest.approx(float(_gamma_entropy(2)), rel=1e-9)
    assert kb.entropy(st.logistic(1e10, 1)) == pytest.approx(2.0, rel=1e-9)


def _js_continuous(lp, lq, cuts):
    f = lambda x: (
        (  # noqa: E731
            mp.exp(lp(x)) * (mp.log(2) + lp(x) - mp.log(mp.exp(lp(x)) + mp.exp(lq(x))))
            + mp.exp(lq(x)) * (mp.log(2) + lq(x) - mp.log(mp.exp(lp(x)) + mp.exp(lq(x))))
        )
        / 2
    )
    return mp.quad(f, [-mp.inf, *cuts, mp.inf])


def test_numeric_js_in_the_standard_variable():
    """JS(N(1e12, 1), N(1e12 + 1, 1)) gave 0.111396 (truth 0.111421); JS(N, Laplace) at 1e12 likewise: the
    reference is the translation-invariant JS at 0, by mpmath quadrature of the definition (Lin 1991, eq. 4.1)."""
    mp.mp.dps = 30
    ln = lambda m: lambda x: -((x - m) ** 2) / 2 - mp.log(2 * mp.pi) / 2  # noqa: E731
    ll = lambda m: lambda x: -mp.log(2) - abs(x - m)  # noqa: E731
    want = float(_js_continuous(ln(0), ln(1), [-5, 0, 0.5, 1, 6]))
    assert kb.js(st.norm(1e12, 1), st.norm(1e12 + 1, 1)) == pytest.approx(want, rel=1e-8)
    want = float(_js_continuous(ln(0), ll(1), [-5, 0, 1, 6]))
    assert kb.js(st.norm(1e12, 1), st.laplace(1e12 + 1, 1)) == pytest.approx(want, rel=1e-8)
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    assert float(kb.js(TD.Normal(t(1e12), t(1.0)), TD.Laplace(t(1e12 + 1), t(1.0)))) == pytest.approx(want, rel=1e-8)


def test_discrete_js_through_accurate_log_pmfs():
    """JS(binom(10^15, 1e-15), Poisson(1)) gave 0.105 (truth 6.3e-32) through lgamma-based log-pmfs; the terms by the
    exact pmfs in mpmath at 60 digits."""
    mp.mp.dps = 60
    n, p = 10**15, mp.mpf(1e-15)
    b = lambda k: mp.binomial(n, k) * p**k * (1 - p) ** (n - k)  # noqa: E731
    want = float(_js_terms([b(k) for k in range(60)], [_poisson(n * p, k) for k in range(60)]))
    got = kb.js(st.binom(10**15, 1e-15), st.poisson(1))
    assert 0 <= got <= 1e-12
    assert abs(got - want) <= 1e-12
    n12 = 10**12
    b12 = lambda k: mp.binomial(n12, k) * mp.mpf(1e-12) ** k * (1 - mp.mpf(1e-12)) ** (n12 - k)  # noqa: E731
    want12 = float(_js_terms([b12(k) for k in range(60)], [_poisson(n12 * mp.mpf(1e-12), k) for k in range(60)]))
    assert abs(kb.js(st.binom(n12, 1e-12), st.poisson(1)) - want12) <= 1e-12


# ---------------------------------------------------------------- batch shape


@pytest.mark.parametrize(
    "batch",
    [st.norm([0, 1, 2], 1), st.laplace([0, 1, 2], 1), st.t(3, [0, 1, 2], 1), st.vonmises(2.0, loc=[0.0, 1.0, 2.0])],
)
def test_entropy_keeps_the_batch_shape(batch):
    """entropy(st.norm([0, 1, 2], 1)) returned one value for three laws; kl keeps the batch shape, so must entropy."""
    h = kb.entropy(batch)
    assert np.shape(h) == (3,)
    assert np.allclose(h, h[0], rtol=1e-14)
    assert np.shape(kb.cross_entropy(batch, batch)) == (3,)
    if batch.dist.name != "vonmises":  # a circle law has no numeric JS here
        assert np.shape(kb.js(batch, batch)) == (3,)


# ---------------------------------------------------------------- 9: refusals with the wrong reason


def test_entropy_of_a_poisson_far_from_zero_sums_from_its_mass():
    """entropy(poisson(1e7)) was refused (the range doubled from 0); reference: H = 1/2 log(2 pi e lam) - 1/(12 lam)
    - 1/(24 lam^2) - 19/(360 lam^3) + O(lam^-4) (Evans & Boersma 1988), exact to 1e-28 at lam = 1e7."""
    mp.mp.dps = 40
    lam = mp.mpf(10**7)
    want = mp.log(2 * mp.pi * mp.e * lam) / 2 - 1 / (12 * lam) - 1 / (24 * lam**2) - 19 / (360 * lam**3)
    assert kb.entropy(st.poisson(1e7)) == pytest.approx(float(want), rel=1e-9)


def test_entropy_of_a_binomial_with_a_huge_n_sums_its_mass_only():
    """entropy(binom(10^9, 1e-9)) was refused for '1e9 terms' though its mass lies in 0..60: exact pmf in mpmath."""
    mp.mp.dps = 50
    n, p = 10**9, mp.mpf(1e-9)
    terms = [mp.binomial(n, k) * p**k * (1 - p) ** (n - k) for k in range(80)]
    want = -mp.fsum(t * mp.log(t) for t in terms)
    assert kb.entropy(st.binom(10**9, 1e-9)) == pytest.approx(float(want), rel=1e-9)


def _kl_quad(lp, lq, cuts):
    return mp.quad(lambda x: mp.exp(lp(x)) * (lp(x) - lq(x)), cuts)


def test_kl_where_scipys_log_pdf_underflows():
    """kl(levy(), levy(scale=2)) (truth 0.1534: inverse gammas of shape 1/2), inverse Weibull and kstwobign were refused
    as 'may be infinite': scipy's log-pdf is log(pdf) and underflows near 0.  mpmath quadrature of the densities."""
    mp.mp.dps = 30
    levy = lambda c: lambda x: mp.log(mp.sqrt(c / (2 * mp.pi))) - 1.5 * mp.log(x) - c / (2 * x)  # noqa: E731
    assert kb.kl(st.levy(), st.levy(scale=2)) == pytest.approx(float(_kl_quad(levy(1), levy(2), [0, 0.1, 1, 10, mp.inf])), rel=1e-8)
    fr = lambda c, s: lambda x: mp.log(c / s) - (1 + c) * mp.log(x / s) - (x / s) ** -c  # noqa: E731
    want = _kl_quad(fr(2, 1), fr(2, 2), [0, 0.1, 1, 10, mp.inf])
    assert kb.kl(st.invweibull(2), st.invweibull(2, scale=2)) == pytest.approx(float(want), rel=1e-8)

    def ks(s):  # Kolmogorov's CDF by its two series (Marsaglia, Tsang & Wang 2003, eqs. 1-2), differentiated in mpmath
        def F(y):
            if y < 1:
                return mp.sqrt(2 * mp.pi) / y * mp.nsum(lambda k: mp.exp(-((2 * k - 1) ** 2) * mp.pi**2 / (8 * y * y)), [1, mp.inf])
            return 1 - 2 * mp.nsum(lambda k: (-1) ** (k - 1) * mp.exp(-2 * k * k * y * y), [1, mp.inf])

        return lambda x: mp.log(mp.diff(F, x / s) / s)

    mp.mp.dps = 20
    want = mp.quad(lambda x: mp.exp(ks(1)(x)) * (ks(1)(x) - ks(2)(x)), [0.1, 0.5, 0.8, 1.2, 2, 4])
    assert kb.kl(st.kstwobign(), st.kstwobign(scale=2)) == pytest.approx(float(want), rel=1e-6)


def test_entropy_does_not_leak_scipys_root_finder_error():
    """entropy(norminvgauss(1.25, .5)) raised scipy's "function value at x=nan" from its ppf; reference: mpmath
    quadrature of -f log f, f(x) = a K1(a sqrt(1 + x^2)) e^(sqrt(a^2 - b^2) + b x) / (pi sqrt(1 + x^2))."""
    mp.mp.dps = 30
    a, b = mp.mpf(1.25), mp.mpf(0.5)
    lf = lambda x: (  # noqa: E731
        mp.log(a) + mp.log(mp.besselk(1, a * mp.sqrt(1 + x * x))) + mp.sqrt(a * a - b * b) + b * x - mp.log(mp.pi * mp.sqrt(1 + x * x))
    )
    want = mp.quad(lambda x: -mp.exp(lf(x)) * lf(x), [-mp.inf, -5, 0, 5, mp.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)
        assert kb.entropy(st.norminvgauss(1.25, 0.5)) == pytest.approx(float(want), rel=RTOL)


# ---------------------------------------------------------------- 6: scipy's uniform keeps its width


def test_scipy_uniform_keeps_its_width():
    """(loc + scale) - loc lost the width: kl(U(1e12, .1), U(1e12, .1000001)) 0.0 (truth log(w_q/w_p) of the float
    widths), entropy(U(1e15, .3)) -1.386 (truth log .3), U(1e10, 1e-7) refused as 'needs low < high'."""
    mp.mp.dps = 40
    want = mp.log(mp.mpf(0.1000001) / mp.mpf(0.1))
    assert kb.kl(st.uniform(1e12, 0.1), st.uniform(1e12, 0.1000001)) == pytest.approx(float(want), rel=1e-10)
    assert kb.kl(st.uniform(1e12, 0.1000001), st.uniform(1e12, 0.1)) == math.inf
    assert kb.entropy(st.uniform(1e15, 0.3)) == pytest.approx(float(mp.log(mp.mpf(0.3))), rel=1e-12)
    assert kb.entropy(st.uniform(1e10, 1e-7)) == pytest.approx(float(mp.log(mp.mpf(1e-7))), rel=1e-12)


def test_torch_mixture_far_from_zero_keeps_its_digits():
    """Entropy and JS of a torch normal mixture at 1e12 were computed in x (digits of 1e12 + u lost); each component is
    now read in its own standard variable.  Reference: mpmath quadrature of the same mixture at 0 (translation
    invariance), 30 digits."""
    mp.mp.dps = 30
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731

    def mix(shift):
        return TD.MixtureSameFamily(TD.Categorical(probs=t([0.3, 0.7])), TD.Normal(t([0.0, 2.0]) + shift, t([1.0, 0.5])))

    nl = lambda m, s: lambda x: -((x - m) ** 2) / (2 * s * s) - mp.log(s * mp.sqrt(2 * mp.pi))  # noqa: E731
    lm = lambda x: mp.log(mp.mpf(0.3) * mp.exp(nl(0, 1)(x)) + mp.mpf(0.7) * mp.exp(nl(2, mp.mpf(0.5))(x)))  # noqa: E731
    h = mp.quad(lambda x: -mp.exp(lm(x)) * lm(x), [-mp.inf, -3, 0, 1, 2, 3, 5, mp.inf])
    assert float(kb.entropy(mix(1e12))) == pytest.approx(float(h), rel=1e-8)
    want = _js_continuous(lm, nl(1, 1), [-3, 0, 1, 2, 3, 5])
    assert float(kb.js(mix(1e12), TD.Normal(t(1e12 + 1), t(1.0)))) == pytest.approx(float(want), rel=1e-8)
