"""Monte Carlo between distribution objects (kullback.estimation._montecarlo).

References: Gaussian KL in closed form (written out here: 1/2 [tr + maha - d + log det ratio]);
Gumbel vs Student t and the mixture KL by mpmath quadrature (tests/distributions/mpref.py);
multivariate t vs normal as -H(t) + d/2 log(2 pi) + 1/2 d nu/(nu - 2) with H(t) from scipy's
multivariate_t.entropy; JS and entropies from kullback.distributions._entropy (checked against
mpmath in tests/distributions/test_entropy.py).  Every tolerance is 4 standard errors.
"""

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st
from distributions import mpref  # tests/distributions (pytest puts tests/ on sys.path)

from kullback._warnings import AccuracyWarning
from kullback.distributions._entropy import js
from kullback.estimation._montecarlo import cross_entropy_mc, entropy_mc, js_mc, kl_mc

torch = pytest.importorskip("torch")
D = torch.distributions
F64 = torch.float64


def _kl_gauss(m1, S1, m2, S2):
    m1, S1, m2, S2 = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (m1, S1, m2, S2))
    S1, S2 = np.atleast_2d(S1), np.atleast_2d(S2)
    inv = np.linalg.inv(S2)
    dm = m2 - m1
    return 0.5 * (np.trace(inv @ S1) + dm @ inv @ dm - len(m1) + np.linalg.slogdet(S2)[1] - np.linalg.slogdet(S1)[1])


def _within(e, truth, k=4.0):
    assert abs(e.value - truth) <= k * e.stderr + 1e-12, (e, truth)


@pytest.mark.parametrize("vr", ["none", "qmc", "antithetic", "control", "auto"])
def test_normal_pair_each_design(vr):
    """KL(N(0,1) || N(1,2)) = log 2 + 2/8 - 1/2 ... (closed form) within 4 s.e. for every design."""
    truth = _kl_gauss(0, 1, 1, 4)
    e = kl_mc(st.norm(0, 1), st.norm(1, 2), rng=5, max_draws=20000, variance_reduction=vr)
    _within(e, truth)
    assert e.method == "monte-carlo" and e.quantity == "D(p||q)" and e.n == e.details["draws"] <= 20000
    assert e.ci[0] <= e.value <= e.ci[1]


def test_mvn_pair_antithetic_and_control():
    """Shifted MVNs: antithetic pairs and quadratic controls; the controls make the log-ratio exact."""
    S1, S2 = np.array([[1.0, 0.3], [0.3, 2.0]]), np.array([[2.0, 0.0], [0.0, 1.0]])
    truth = _kl_gauss([0, 1], S1, [1, -1], S2)
    p = D.MultivariateNormal(torch.tensor([0.0, 1.0], dtype=F64), torch.tensor(S1, dtype=F64))
    q = D.MultivariateNormal(torch.tensor([1.0, -1.0], dtype=F64), torch.tensor(S2, dtype=F64))
    anti = kl_mc(p, q, rng=1, max_draws=40000, rtol=0, variance_reduction="antithetic")
    plain = kl_mc(p, q, rng=1, max_draws=40000, rtol=0, variance_reduction="none")
    _within(anti, truth)
    _within(plain, truth)
    assert anti.stderr < plain.stderr  # the linear part of the log-ratio cancels in each pair
    ctrl = kl_mc(p, q, rng=1, max_draws=40000, variance_reduction="control")
    assert ctrl.value == pytest.approx(truth, rel=1e-9)


def test_qmc_lowers_the_standard_error():
    """Same draw budget: scrambled Sobol inversion beats independent draws by far (measured factor ~1e3)."""
    p, q = st.norm(0, 1), st.t(5, 0.5, 1.5)
    plain = kl_mc(p, q, rng=2, rtol=0, max_draws=2**15, variance_reduction="none")
    qmc = kl_mc(p, q, rng=2, rtol=0, max_draws=2**15, variance_reduction="qmc")
    assert qmc.stderr < plain.stderr / 10
    assert qmc.details["variance_factor"] > 100
    _within(plain, qmc.value, k=4.0)


def test_coverage_of_plain_intervals():
    """40 seeds, independent draws: the nominal 95% interval covers the closed form at least 33 times
    (P[Binomial(40, 0.95) < 33] < 0.004)."""
    truth = _kl_gauss(0, 1, 0.5, 2.25)
    hits = 0
    for seed in range(40):
        e = kl_mc(st.norm(0, 1), st.norm(0.5, 1.5), rng=seed, max_draws=4096, rtol=0, variance_reduction="none")
        hits += e.ci[0] <= truth <= e.ci[1]
    assert hits >= 33


def test_same_seed_same_estimate():
    """rng= is the only randomness; torch's global generator is not used."""
    p = D.MixtureSameFamily(D.Categorical(torch.tensor([0.3, 0.7])), D.Normal(torch.tensor([0.0, 2.0]), torch.tensor([1.0, 0.5])))
    q = D.Normal(1.0, 1.5)
    a = kl_mc(p, q, rng=3, max_draws=8192, variance_reduction="none")
    torch.manual_seed(123)
    b = kl_mc(p, q, rng=3, max_draws=8192, variance_reduction="none")
    assert a.value == b.value and a.stderr == b.stderr


def _mp_mix_kl():
    w, m, s = [0.3, 0.7], [0.0, 2.0], [1.0, 0.5]
    lp = lambda x: mp.log(mp.fsum(wi * mp.npdf(x, mi, si) for wi, mi, si in zip(w, m, s)))  # noqa: E731
    lq, _ = mpref.logpdf("normal", loc=1, scale=1.5)
    return float(mp.quad(lambda x: mp.exp(lp(x)) * (lp(x) - lq(x)), [-mp.inf, -3, 0, 2, 5, mp.inf]))


@pytest.mark.parametrize("vr", ["none", "auto"])
def test_torch_and_scipy_mixtures_vs_mpmath(vr):
    """What kb.kl refuses: MixtureSameFamily and scipy's Mixture against a normal, vs mpmath quadrature."""
    truth = _mp_mix_kl()
    tp = D.MixtureSameFamily(
        D.Categorical(torch.tensor([0.3, 0.7], dtype=F64)),
        D.Normal(torch.tensor([0.0, 2.0], dtype=F64), torch.tensor([1.0, 0.5], dtype=F64)),
    )
    sp = st.Mixture([st.Normal(mu=0.0, sigma=1.0), st.Normal(mu=2.0, sigma=0.5)], weights=[0.3, 0.7])
    _within(kl_mc(tp, D.Normal(torch.tensor(1.0, dtype=F64), 1.5), rng=4, max_draws=2**15, variance_reduction=vr), truth)
    _within(kl_mc(sp, st.Normal(mu=1.0, sigma=1.5), rng=4, max_draws=2**15, variance_reduction=vr), truth)


def test_torch_pair_without_formula_vs_mpmath():
    """torch Gumbel(0, 1) vs StudentT(5): no registered formula; mpmath quadrature of the definitions."""
    truth = float(mpref.kl_continuous(mpref.logpdf("gumbel", loc=0, scale=1), mpref.logpdf("t", df=5, loc=0, scale=1)))
    e = kl_mc(D.Gumbel(torch.tensor(0.0, dtype=F64), 1.0), D.StudentT(torch.tensor(5.0, dtype=F64)), rng=6, rtol=1e-3)
    _within(e, truth)
    assert e.details["converged"] and e.details["reason"] == "tolerance met"


def test_independent_normal_vs_mvn():
    """Independent(Normal) vs MultivariateNormal (different torch classes): closed form of the Gaussian pair."""
    p = D.Independent(D.Normal(torch.zeros(3, dtype=F64), torch.tensor([1.0, 2.0, 0.5], dtype=F64)), 1)
    S = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 1.0]])
    q = D.MultivariateNormal(torch.ones(3, dtype=F64), torch.tensor(S, dtype=F64))
    truth = _kl_gauss(np.zeros(3), np.diag([1.0, 4.0, 0.25]), np.ones(3), S)
    for vr in ("none", "auto"):
        _within(kl_mc(p, q, rng=7, max_draws=20000, variance_reduction=vr), truth)


def test_multivariate_t_vs_normal():
    """KL(t_6(0, I_2) || N(0, I_2)) = -H(t) + log(2 pi) + nu/(nu - 2), H(t) by scipy's multivariate_t.entropy."""
    nu = 6
    t = st.multivariate_t([0, 0], np.eye(2), df=nu)
    truth = -t.entropy() + math.log(2 * math.pi) + nu / (nu - 2)
    e = kl_mc(t, st.multivariate_normal([0, 0]), rng=8, max_draws=200000, rtol=5e-3)
    _within(e, truth)


def test_entropy_cross_entropy_and_js():
    """H(N(0, 2)) = 1/2 log(2 pi e 4); H(p, q) = H(p) + D(p||q); JS vs the deterministic 1-D quadrature."""
    p, q = st.norm(0, 2), st.norm(1, 1)
    _within(entropy_mc(p, rng=9, max_draws=20000), 0.5 * math.log(2 * math.pi * math.e * 4))
    _within(cross_entropy_mc(p, q, rng=9, max_draws=20000), 0.5 * math.log(2 * math.pi * math.e * 4) + _kl_gauss(0, 4, 1, 1))
    e = js_mc(p, q, rng=9, max_draws=20000)
    _within(e, float(js(p, q)))
    assert 0 <= e.value <= math.log(2) and e.quantity == "JS(p, q)"
    m = js_mc(st.multivariate_normal([0, 0]), st.multivariate_normal([1, 0]), rng=9, max_draws=20000)
    one_d = float(js(st.norm(0, 1), st.norm(1, 1)))  # JS is invariant under the projection onto the first axis here
    _within(m, one_d)


def test_discrete_laws():
    """Poisson(3) vs Poisson(5): closed form 3 log(3/5) + 5 - 3; entropy of a binomial vs its own sum."""
    e = kl_mc(st.poisson(3), D.Poisson(torch.tensor(5.0, dtype=F64)), rng=10, max_draws=50000)
    _within(e, 3 * math.log(3 / 5) + 2)
    k = np.arange(11)
    pk = st.binom(10, 0.3).pmf(k)
    _within(entropy_mc(st.binom(10, 0.3), rng=10, max_draws=50000), float(-np.sum(pk * np.log(pk))))


def test_budget_and_tolerance_reporting():
    """converged / reason / draws say whether rtol was met or the budget spent."""
    e = kl_mc(st.norm(0, 1), st.norm(1, 2), rng=1, rtol=1e-6, max_draws=5000, variance_reduction="none")
    assert not e.details["converged"] and "budget" in e.details["reason"] and e.details["draws"] <= 5000
    e = kl_mc(st.norm(0, 1), st.norm(1, 2), rng=1, rtol=0.05, variance_reduction="none")
    assert e.details["converged"] and e.ci[1] - e.ci[0] <= 2 * 0.05 * e.value * 1.0001


def test_support_mismatch_is_infinite():
    """N(0,1) against Exp(1): q has no density below 0, D = inf, with the point named."""
    with pytest.warns(AccuracyWarning, match=r"density 0 at x = -?\d") as record:
        e = kl_mc(st.norm(), st.expon(), rng=0)
    assert e.value == math.inf and "density 0" in e.details["reason"]
    assert record[0].filename == __file__


def test_heavy_tails_warn():
    """Student t_3 vs normal: D finite (E x^2 = 3) but the terms have infinite variance: the estimate says it is unreliable."""
    with pytest.warns(AccuracyWarning, match="heavy-tailed") as record:
        e = kl_mc(st.t(3), st.norm(), rng=0, max_draws=2**16, variance_reduction="none")
    assert e.details["reliable"] is False and math.isfinite(e.value)
    assert record[0].filename == __file__  # the warning points at the caller, not inside kullback


@pytest.mark.parametrize("p", [st.cauchy(), st.t(1.2), st.cauchy(3, 0.5)], ids=["cauchy", "t1.2", "cauchy-shifted"])
@pytest.mark.parametrize("vr", ["none", "auto"])
def test_divergent_tail_gives_infinity(p, vr):
    """Issue 21, item 7: Cauchy vs normal returned a finite number (with a warning) where D = inf. log p/q ~ x^2/2 has
    an upper tail of index 2/nu for t_nu (E x^2 = inf for nu <= 2): D(t_nu || N(0,1)) = inf, detected by Hill's index."""
    with pytest.warns(AccuracyWarning, match=r"mean diverges, so D\(p\|\|q\) = inf") as record:
        e = kl_mc(p, st.norm(), rng=1, max_draws=2**16, variance_reduction=vr)
    assert e.value == math.inf and e.ci == (0.0, math.inf) and e.details["tail_index"] > 1
    assert record[0].filename == __file__


def test_finite_heavy_tailed_divergence_stays_finite():
    """The tail check's false positive at threshold 1: t_2.2 vs N(0, 1) has D finite (E x^2 = 11), Hill's index 0.91
    biased up to 1.2; it stays a finite estimate (with the kurtosis warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)
        for seed in range(3):
            assert math.isfinite(kl_mc(st.t(2.2), st.norm(), rng=seed, max_draws=2**16).value)


def test_rng_none_is_seeded_as_for_knn():
    """Issue 21, item 7: rng=None was deterministic for kNN but random for Monte Carlo; now seed 0 for both."""
    a, b = kl_mc(st.norm(), st.norm(1, 2), rtol=0.05), kl_mc(st.norm(), st.norm(1, 2), rtol=0.05)
    assert a == b and a == kl_mc(st.norm(), st.norm(1, 2), rtol=0.05, rng=0)


def test_light_tails_do_not_warn():
    """A Gaussian pair is not flagged."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", AccuracyWarning)
        e = kl_mc(st.norm(0, 1), st.norm(1, 2), rng=0, max_draws=20000, variance_reduction="none")
    assert e.details["reliable"]


def test_bad_input():
    """Mismatched kinds, dimensions, options: clear errors naming the argument."""
    with pytest.raises(TypeError, match="discrete"):
        kl_mc(st.poisson(3), st.norm())
    with pytest.raises(ValueError, match="dimensions"):
        kl_mc(st.multivariate_normal([0, 0]), st.norm())
    with pytest.raises(ValueError, match="`variance_reduction`"):
        kl_mc(st.norm(), st.norm(1), variance_reduction="magic")
    with pytest.raises(ValueError, match="qmc"):
        kl_mc(st.multivariate_normal([0, 0]), st.multivariate_normal([1, 0]), variance_reduction="qmc")
    with pytest.raises(ValueError, match="`confidence`"):
        kl_mc(st.norm(), st.norm(1), confidence=1.5)
    with pytest.raises(TypeError, match="`p`"):
        kl_mc(np.zeros(3), st.norm())


def test_base_two():
    """bits: value, stderr and interval divided by log 2."""
    a = kl_mc(st.norm(0, 1), st.norm(1, 2), rng=1, max_draws=4096)
    b = kl_mc(st.norm(0, 1), st.norm(1, 2), rng=1, max_draws=4096, base=2)
    assert b.value == pytest.approx(a.value / math.log(2), rel=1e-14)
    assert b.stderr == pytest.approx(a.stderr / math.log(2), rel=1e-14)


def test_infinite_variance_terms_warn():
    """t_3 vs N(0, 1): D is finite but the terms (~ x^2/2) have infinite variance (E X^4 = inf for nu = 3),
    so the normal interval cannot be trusted; measured (kappa + 2)/n = 0.25 at n = 4096."""
    with pytest.warns(AccuracyWarning, match="infinite"):
        e = kl_mc(st.t(3), st.norm(), rng=0, max_draws=4096, rtol=0, variance_reduction="none")
    assert e.details["reliable"] is False


# ---------------------------------------------------------------- regressions (review of the estimation code)


def test_infinite_answer_has_one_convention_inf_stderr_ci_zero_to_inf():
    """Review item 9: Monte Carlo said stderr 0, ci (inf, inf), no warning; the convention of every estimator is value inf,
    stderr inf, ci (0, inf) (D >= 0 is all the draws show), an AccuracyWarning naming the draw."""
    with pytest.warns(AccuracyWarning, match="density 0 at x ="):
        e = kl_mc(st.norm(), st.expon(), rng=0)
    assert (e.value, e.stderr, e.ci) == (math.inf, math.inf, (0.0, math.inf))
    assert e.details["infinite_at"] < 0  # the draw named is one where Exp(1) has no density


def test_nan_log_density_is_an_error_not_infinite():
    """Review item 9: NaN terms were taken as infinite (and _access turned NaN into -inf); NaN is a bug: ValueError naming
    the draw.  scipy's norm(0, -1) has an invalid scale, so its logpdf is NaN everywhere (scipy's documented behaviour)."""
    with pytest.raises(ValueError, match="NaN at the draw x ="):
        kl_mc(st.norm(), st.norm(0, -1), rng=0, variance_reduction="none")


def test_control_variates_interval_covers_when_terms_are_exactly_quadratic():
    """Review item 7: Gaussian vs Gaussian makes log p - log q quadratic, the controls remove all variance and the interval
    was narrower than one ulp (coverage 0.00 over 100 seeds).  The stderr is floored at the rounding of the terms; the
    truth is the closed form of kb.kl (Gaussian KL, Cover & Thomas; checked against mpmath in tests/distributions)."""
    import kullback as kb

    p, q = st.multivariate_normal([0, 0, 0], np.eye(3) + 0.5), st.multivariate_normal([1, 0, 0], np.eye(3))
    truth, h = float(kb.kl(p, q)), float(kb.entropy(p))
    kl_cover = sum(e.ci[0] <= truth <= e.ci[1] for e in (kl_mc(p, q, rng=r) for r in range(40)))
    h_cover = sum(e.ci[0] <= h <= e.ci[1] for e in (entropy_mc(p, rng=r) for r in range(40)))
    assert kl_cover >= 36 and h_cover >= 36  # >= 90% of 40
    e = kl_mc(p, q, rng=0)
    assert "control" in e.details["variance_reduction"]
    assert e.stderr >= 8 * np.finfo(float).eps * truth


def test_quadratic_controls_not_used_in_high_dimension():
    """Review item 8: d(d+3)/2 quadratic controls re-solved every batch took 6 s at d = 10, 64 s and 1.2 GB at d = 60
    (vs < 1.5 s without).  Quadratic controls stop at d = 5; linear ones are fitted once on a pilot and kept only where
    they lower the variance by 10%.  The reference is the plain estimate from the same seed: within 4 combined s.e."""
    import time

    from kullback.estimation import _mc_designs as D
    from kullback.estimation import _montecarlo as M

    d = 10
    p, q = st.multivariate_normal(np.zeros(d)), st.multivariate_t(np.zeros(d) + 0.1, np.eye(d), df=10)
    t0 = time.perf_counter()
    e = kl_mc(p, q, rng=0, max_draws=2**17)
    took = time.perf_counter() - t0
    plain = kl_mc(p, q, rng=0, max_draws=2**17, variance_reduction="none")
    assert abs(e.value - plain.value) < 4 * math.hypot(e.stderr, plain.stderr)
    assert took < 3.0
    c = D._Controlled(D._Plain([p], M._kl_terms(p, q), np.random.default_rng(0)), *D._gaussian(p))
    assert c._c(np.zeros((2, d))).shape == (2, d)  # linear controls only above d = 5
    c3 = D._Controlled(D._Plain([st.multivariate_normal(np.zeros(3))], None, None), *D._gaussian(st.multivariate_normal(np.zeros(3))))
    assert c3._c(np.zeros((2, 3))).shape == (2, 3 + 6)  # d(d+3)/2 = 9 at d = 3


def test_qmc_budget_reason_says_it_stopped_at_a_power_of_two():
    """Review item 16: QMC with max_draws=10**5 stops at 65536 draws (doubling would pass the budget) but said 'draw
    budget spent (max_draws=100000)'."""
    e = kl_mc(st.norm(0, 1), st.t(3), rng=0, rtol=1e-9, max_draws=10**5)
    assert e.details["variance_reduction"] == "qmc" and e.n == 65536
    assert "power of two" in e.details["reason"] and "65536" in e.details["reason"] and "100000" in e.details["reason"]
    e = kl_mc(st.norm(0, 1), st.norm(1, 2), rng=1, rtol=1e-6, max_draws=5000, variance_reduction="none")
    assert e.n == 5000 and "draw budget spent (5000 draws, max_draws=5000)" in e.details["reason"]
