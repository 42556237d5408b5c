"""Entropy, cross-entropy and JS of distribution objects (kullback.distributions._entropy).

References: mpmath quadrature / series of the textbook densities in ``mpref`` (30 digits, no
scipy/torch/kullback inside); the MVN entropy 1/2 log det(2 pi e S) evaluated in mpmath;
categorical JS from its definition written out in mpmath.
"""

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st
from hypothesis import given
from hypothesis import strategies as hs

from kullback.distributions._entropy import cross_entropy, entropy, js

from . import mpref

torch = pytest.importorskip("torch")
D = torch.distributions
RTOL = 1e-6  # the numeric path's contract; closed forms are far better


def _mp_entropy(ref):
    lp, (a, b) = ref
    f = lambda x: -mp.exp(lp(x)) * lp(x) if lp(x) > -1e5 else mp.mpf(0)  # noqa: E731
    inner = [x for x in (-100, -10, -1, 0, 0.5, 1, 10, 100) if a < x < b]
    return mp.quad(f, [a, *inner, b])


def _mp_entropy_discrete(ref):
    lp, (a, b) = ref
    f = lambda n: -mp.exp(lp(n)) * lp(n)  # noqa: E731
    return mp.fsum(f(n) for n in range(int(a), int(b) + 1)) if b != mp.inf else mp.nsum(f, [a, mp.inf])


CONTINUOUS = [
    (st.norm(1, 2), ("normal", {"loc": 1, "scale": 2})),
    (st.gamma(2.5, scale=1 / 1.5), ("gamma", {"concentration": 2.5, "rate": 1.5})),
    (st.beta(2, 3), ("beta", {"a": 2, "b": 3})),
    (st.t(3, 0.5, 2), ("t", {"df": 3, "loc": 0.5, "scale": 2})),
    (st.logistic(1, 3), ("logistic", {"loc": 1, "scale": 3})),  # no closed form in the table: quadrature
    (st.Normal(mu=0, sigma=0.01), ("normal", {"loc": 0, "scale": 0.01})),  # negative entropy
]


@pytest.mark.parametrize("dist, ref", CONTINUOUS)
def test_continuous_entropy_vs_mpmath(dist, ref):
    """H(p) against mpmath quadrature of -p log p."""
    want = float(_mp_entropy(mpref.logpdf(ref[0], **ref[1])))
    assert float(entropy(dist)) == pytest.approx(want, rel=RTOL, abs=1e-12)


@pytest.mark.parametrize(
    "dist, ref",
    [
        (st.poisson(4.5), ("poisson", {"rate": 4.5})),
        (st.binom(10, 0.3), ("binomial", {"n": 10, "p": 0.3})),
        (st.nbinom(3, 0.4), ("nbinom", {"n": 3, "p": 0.4})),
        (D.Poisson(torch.tensor(30.0, dtype=torch.float64)), ("poisson", {"rate": 30})),
    ],
)
def test_discrete_entropy_vs_mpmath(dist, ref):
    """H(p) of laws on the integers against an mpmath series."""
    want = float(_mp_entropy_discrete(mpref.logpmf(ref[0], **ref[1])))
    assert float(entropy(dist)) == pytest.approx(want, rel=RTOL)


def test_mvn_entropy_vs_mpmath():
    """H = 1/2 log det(2 pi e S) (Cover & Thomas Thm. 8.4.1) evaluated in mpmath; scipy and torch objects."""
    S = [[2.0, 0.5, 0.1], [0.5, 1.0, -0.2], [0.1, -0.2, 0.7]]
    want = float(0.5 * mp.log(mp.det(2 * mp.pi * mp.e * mp.matrix(S))))
    assert float(entropy(st.multivariate_normal([0, 1, 2], S))) == pytest.approx(want, rel=1e-12)
    t = D.MultivariateNormal(torch.zeros(3, dtype=torch.float64), torch.tensor(S, dtype=torch.float64))
    assert float(entropy(t)) == pytest.approx(want, rel=1e-12)
    ind = D.Independent(D.Normal(torch.zeros(2, dtype=torch.float64), torch.tensor([1.0, 3.0], dtype=torch.float64)), 1)
    assert float(entropy(ind)) == pytest.approx(float(mp.log(2 * mp.pi * mp.e) + mp.log(3)), rel=1e-12)


def test_dirichlet_and_categorical_entropy():
    """Dirichlet: log B(a) + (a0 - k) psi(a0) - sum (a_j - 1) psi(a_j) in mpmath; categorical: -sum p log p."""
    a = [1.0, 2.0, 3.5]
    a0 = sum(a)
    want = sum(mp.loggamma(x) for x in a) - mp.loggamma(a0) + (a0 - 3) * mp.digamma(a0) - sum((x - 1) * mp.digamma(x) for x in a)
    assert float(entropy(st.dirichlet(a))) == pytest.approx(float(want), rel=1e-12)
    p = [0.2, 0.5, 0.3, 0.0]
    want = -mp.fsum(mp.mpf(x) * mp.log(x) for x in p if x > 0)
    assert float(entropy(D.Categorical(torch.tensor(p, dtype=torch.float64)))) == pytest.approx(float(want), rel=1e-12)


def test_torch_results_are_tensors_and_batches():
    """Torch in, tensor out; a batch gives a batch (StudentT: numeric per element, vs mpmath)."""
    h = entropy(D.StudentT(torch.tensor([3.0, 5.0], dtype=torch.float64)))
    assert isinstance(h, torch.Tensor) and h.shape == (2,)
    for v, df in zip(h.tolist(), (3, 5)):
        assert v == pytest.approx(float(_mp_entropy(mpref.logpdf("t", df=df, loc=0, scale=1))), rel=RTOL)


def test_closed_form_entropy_keeps_gradients():
    """H(N(mu, s)) = 1/2 log(2 pi e) + log s: dH/ds = 1/s."""
    s = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    entropy(D.Normal(0.0, s)).backward()
    assert float(s.grad) == pytest.approx(0.5, rel=1e-14)


def test_numeric_entropy_refuses_gradients():
    """No gradient through quadrature: a clear refusal, as kl does."""
    df = torch.tensor(3.0, requires_grad=True)
    with pytest.raises(ValueError, match="gradients"):
        entropy(D.FisherSnedecor(df, torch.tensor(4.0)))


def test_base_two():
    """bits = nats / log 2."""
    assert float(entropy(st.norm(), base=2)) == pytest.approx(0.5 * math.log2(2 * math.pi * math.e), rel=1e-14)


def test_js_normals_vs_mpmath():
    """JS(N(0,1), N(1,2)) against mpmath quadrature of 1/2 p log(2p/(p+q)) + 1/2 q log(2q/(p+q))."""
    lp, _ = mpref.logpdf("normal", loc=0, scale=1)
    lq, _ = mpref.logpdf("normal", loc=1, scale=2)

    def f(x):
        a, b = mp.exp(lp(x)), mp.exp(lq(x))
        m = a + b
        return 0.5 * a * mp.log(2 * a / m) + 0.5 * b * mp.log(2 * b / m)

    want = float(mp.quad(f, [-mp.inf, -10, 0, 1, 10, mp.inf]))
    assert float(js(st.norm(0, 1), st.norm(1, 2))) == pytest.approx(want, rel=RTOL)
    got = js(D.Normal(torch.tensor(0.0, dtype=torch.float64), 1.0), D.Normal(torch.tensor(1.0, dtype=torch.float64), 2.0))
    assert isinstance(got, torch.Tensor) and float(got) == pytest.approx(want, rel=RTOL)


def test_js_extremes():
    """JS = 0 for equal laws; log 2 for disjoint supports (Lin 1991, Thm. 4.1 bounds)."""
    assert float(js(st.norm(), st.norm())) == pytest.approx(0.0, abs=1e-12)
    assert float(js(st.uniform(0, 1), st.uniform(2, 1))) == pytest.approx(math.log(2), rel=1e-9)
    assert float(js(st.norm(0, 1), st.norm(100, 1))) == pytest.approx(math.log(2), rel=1e-9)


def test_js_discrete_vs_mpmath():
    """Poisson(3) vs Poisson(5) by an mpmath series; categorical from the definition."""
    lp, _ = mpref.logpmf("poisson", rate=3)
    lq, _ = mpref.logpmf("poisson", rate=5)

    def f(n):
        a, b = mp.exp(lp(n)), mp.exp(lq(n))
        return 0.5 * a * mp.log(2 * a / (a + b)) + 0.5 * b * mp.log(2 * b / (a + b))

    assert float(js(st.poisson(3), st.poisson(5))) == pytest.approx(float(mp.nsum(f, [0, mp.inf])), rel=RTOL)
    p, q = [0.2, 0.8, 0.0], [0.5, 0.25, 0.25]
    want = mp.fsum(0.5 * a * mp.log(2 * a / (a + b)) for a, b in zip(p, q) if a) + mp.fsum(
        0.5 * b * mp.log(2 * b / (a + b)) for a, b in zip(p, q) if b
    )
    got = js(D.Categorical(torch.tensor(p, dtype=torch.float64)), D.Categorical(torch.tensor(q, dtype=torch.float64)))
    assert float(got) == pytest.approx(float(want), rel=1e-12)


@pytest.mark.fuzz
@given(hs.floats(-5, 5), hs.floats(0.1, 10), hs.floats(-5, 5), hs.floats(0.1, 10))
def test_js_bounded(m1, s1, m2, s2):
    """0 <= JS <= log 2 for any two normals (Lin 1991, Thm. 4.1)."""
    v = float(js(st.norm(m1, s1), st.norm(m2, s2)))
    assert 0.0 <= v <= math.log(2)


def test_js_multivariate_points_to_estimate_js():
    """No deterministic method in d >= 2: the message names kb.estimate_js."""
    with pytest.raises(TypeError, match="kb.estimate_js"):
        js(st.multivariate_normal([0, 0]), st.multivariate_normal([1, 0]))


def test_cross_entropy_vs_mpmath():
    """H(p, q) = -int p log q by mpmath quadrature; +inf where q misses p's support."""
    lp, sp = mpref.logpdf("normal", loc=0, scale=1)
    lq, _ = mpref.logpdf("t", df=4, loc=1, scale=2)
    want = float(mp.quad(lambda x: -mp.exp(lp(x)) * lq(x), [-mp.inf, -5, 0, 5, mp.inf]))
    assert float(cross_entropy(st.norm(), st.t(4, 1, 2))) == pytest.approx(want, rel=RTOL)
    assert float(cross_entropy(st.norm(), st.expon())) == math.inf


def test_no_method_points_to_estimators():
    """A Dirichlet-multinomial has no entropy method here (nor in scipy), a multivariate t no JS: the refusals name
    kb.estimate_entropy / kb.estimate_js.  (The multivariate t's entropy is scipy's closed form: test_library_entropy_used_where_exact.)"""
    t = st.multivariate_t([0, 0], np.eye(2), df=3)
    with pytest.raises(TypeError, match="kb.estimate_entropy"):
        entropy(st.dirichlet_multinomial([1, 2], 3))
    with pytest.raises(TypeError, match="kb.estimate_js"):
        js(t, st.multivariate_normal([0, 0]))


# ---------------------------------------------------------------- regressions (review of the estimation code)


def _mp_js_cauchy(l1, s1, l2, s2):
    """JS of two Cauchy laws by mpmath quadrature of the definition (Lin 1991, eq. 4.1), 30 digits."""
    mp.mp.dps = 30
    p = lambda x: 1 / (mp.pi * s1 * (1 + ((x - l1) / s1) ** 2))  # noqa: E731
    q = lambda x: 1 / (mp.pi * s2 * (1 + ((x - l2) / s2) ** 2))  # noqa: E731
    f = lambda x: (p(x) * mp.log(2 * p(x) / (p(x) + q(x))) + q(x) * mp.log(2 * q(x) / (p(x) + q(x)))) / 2  # noqa: E731
    return float(mp.quad(f, [-mp.inf, -10, -1, 0, 1, 4, 10, mp.inf]))


def test_js_cauchy_quantile_cuts_one_ulp_apart_do_not_give_nan():
    """Review item 5: the quantile cuts of cauchy() and cauchy(1, 3) coincide to one ulp; the 1-ulp interval made
    tanh-sinh return NaN.  Reference: mpmath quadrature of the definition (0.08329028136127718...)."""
    assert js(st.cauchy(), st.cauchy(1, 3)) == pytest.approx(_mp_js_cauchy(0, 1, 1, 3), rel=RTOL)
    assert js(st.cauchy(1, 3), st.cauchy()) == pytest.approx(_mp_js_cauchy(0, 1, 1, 3), rel=RTOL)


@pytest.mark.parametrize("fam", ["norm", "logistic", "laplace", "cauchy", "gumbel_r"])
@pytest.mark.parametrize(("loc", "scale"), [(1, 3), (0.5, 2), (1e-8, 1 + 1e-12), (-3, 0.5)])
def test_js_location_scale_pairs_all_finite_in_range(fam, loc, scale):
    """Review item 5 scan: every location-scale pair gives a finite JS in [0, log 2] (the definition's range), and JS is
    symmetric (Lin 1991)."""
    f = getattr(st, fam)
    a, b = js(f(), f(loc, scale)), js(f(loc, scale), f())
    assert 0 <= a <= math.log(2)
    assert a == pytest.approx(b, rel=RTOL, abs=1e-12)


def _mp_vonmises_entropy(k):
    """H = log(2 pi I0(k)) - k I1(k)/I0(k) in mpmath (Mardia & Jupp 2000, sec. 3.5.4)."""
    mp.mp.dps = 50
    k = mp.mpf(k)
    return float(mp.log(2 * mp.pi * mp.besseli(0, k)) - k * mp.besseli(1, k) / mp.besseli(0, k))


@pytest.mark.parametrize("k", [1e-3, 0.5, 2.0, 50.0, 1e6])
def test_vonmises_entropy_has_closed_form_not_assertion_error(k):
    """Review item 6: kb.entropy(vonmises) raised a bare AssertionError.  Reference: the closed form in mpmath, and the
    mpmath quadrature of -p log p over the circle at k = 2."""
    ref = _mp_vonmises_entropy(k)
    assert entropy(st.vonmises(k, loc=0.3)) == pytest.approx(ref, rel=1e-9)
    assert float(entropy(D.VonMises(torch.tensor(0.3, dtype=torch.float64), torch.tensor(k, dtype=torch.float64)))) == pytest.approx(
        ref, rel=1e-9
    )
    if k == 2.0:
        mp.mp.dps = 30
        lp = lambda x: 2 * mp.cos(x) - mp.log(2 * mp.pi * mp.besseli(0, 2))  # noqa: E731
        assert ref == pytest.approx(float(mp.quad(lambda x: -mp.exp(lp(x)) * lp(x), [-mp.pi, 0, mp.pi])), rel=1e-12)


def test_vonmises_cross_entropy_is_entropy_plus_kl():
    """Review item 6: H(p, q) = H(p) + D(p||q) (Cover & Thomas eq. 2.90); references: the mpmath closed form of H and
    the mpmath quadrature of -p log q."""
    mp.mp.dps = 30
    lq = lambda x: mp.cos(x) - mp.log(2 * mp.pi * mp.besseli(0, 1))  # noqa: E731
    lp = lambda x: 2 * mp.cos(x) - mp.log(2 * mp.pi * mp.besseli(0, 2))  # noqa: E731
    ref = float(mp.quad(lambda x: -mp.exp(lp(x)) * lq(x), [-mp.pi, 0, mp.pi]))
    assert cross_entropy(st.vonmises(2), st.vonmises(1)) == pytest.approx(ref, rel=1e-9)


def test_family_without_numeric_view_raises_type_error_pointing_to_estimate_entropy(monkeypatch):
    """Review item 6: a family with no scipy view must give a TypeError naming kb.estimate_entropy, not AssertionError."""
    from kullback.distributions import _entropy as E

    monkeypatch.setattr(E, "_closed_entropy", lambda law: None)
    with pytest.raises(TypeError, match="estimate_entropy"):
        entropy(st.vonmises(2))


def test_library_entropy_used_where_exact():
    """Review item 17: laws kullback does not describe but whose library has an exact entropy.  References: scipy's
    multivariate_t closed form checked against its own mpmath formula (Kotz & Nadarajah 2004, eq. 1.26, d = 2, df = 3,
    identity shape), the torch Kumaraswamy closed form against mpmath quadrature of -p log p."""
    mp.mp.dps = 30
    nu, dd = mp.mpf(3), 2
    ref_t = (
        -mp.loggamma((nu + dd) / 2)
        + mp.loggamma(nu / 2)
        + dd / 2 * mp.log(nu * mp.pi)
        + (nu + dd) / 2 * (mp.digamma((nu + dd) / 2) - mp.digamma(nu / 2))
    )
    assert entropy(st.multivariate_t([0, 0], np.eye(2), df=3)) == pytest.approx(float(ref_t), rel=1e-9)
    assert entropy(st.multivariate_t([0, 0], np.eye(2), df=3), base=2) == pytest.approx(float(ref_t / mp.log(2)), rel=1e-9)
    a, b = mp.mpf(2), mp.mpf(3)
    lpk = lambda x: mp.log(a * b) + (a - 1) * mp.log(x) + (b - 1) * mp.log(1 - x**a)  # noqa: E731
    ref_k = mp.quad(lambda x: -mp.exp(lpk(x)) * lpk(x), [0, 0.5, 1])
    got = entropy(D.Kumaraswamy(torch.tensor(2.0, dtype=torch.float64), torch.tensor(3.0, dtype=torch.float64)))
    assert float(got) == pytest.approx(float(ref_k), rel=1e-9)
    # multinomial(2, [.3, .7]): outcomes (2,0), (1,1), (0,2) with probabilities .09, .42, .49
    assert entropy(st.multinomial(2, [0.3, 0.7])) == pytest.approx(float(-sum(x * mp.log(x) for x in (0.09, 0.42, 0.49))), rel=1e-12)


def test_lkj_cholesky_entropy_refused_pointing_to_estimate_entropy():
    """Review item 17: torch has no entropy for LKJCholesky, so kullback refuses and points to kb.estimate_entropy."""
    with pytest.raises(TypeError, match="estimate_entropy"):
        entropy(D.LKJCholesky(3, torch.tensor(2.0)))
