"""The public estimators (kullback.estimation._dispatch): what goes where, options, determinism, doctests.

Truths: closed forms through ``kb.kl`` / ``kb.entropy`` / ``kb.js`` (probability vectors, scipy objects);
N(0, 1) || N(1, 2): log 2 + (1 + 1)/8 - 1/2; H(N(0, 1)) = log(2 pi e)/2.
"""

import doctest
import math
import warnings

import numpy as np
import pytest
import scipy.stats as st

import kullback as kb
from kullback.estimation import _dispatch as D
from kullback.estimation._dispatch import estimate_entropy, estimate_js, estimate_kl

P3, Q3 = [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]


def _cat(n, p, seed):
    return np.random.default_rng(seed).choice(len(p), n, p=p)


# ---------------------------------------------------------------- routing


@pytest.mark.parametrize(
    ("x", "kind"),
    [
        (np.array([1, 2, 2]), D.DISCRETE),
        (np.array([True, False]), D.DISCRETE),
        (["a", "b"], D.DISCRETE),
        (np.array([1.0, 2.0, 2.0]), D.CONTINUOUS),  # integer-valued floats stay continuous: nothing is guessed
        (np.array([[1.5, 2.0], [0.5, 1.0]]), D.CONTINUOUS),  # a (1, d) row is refused (issue 21, item 7)
    ],
)
def test_kind_of_samples_is_their_dtype(x, kind):
    assert D._pair_kind(x, x) == kind


def test_kind_of_pairs_with_distributions():
    assert D._pair_kind(st.norm(), st.norm(1)) == D.DISTRIBUTIONS
    assert D._pair_kind(np.array([1, 2]), st.poisson(3)) == D.DISCRETE_VS_DIST
    assert D._pair_kind(np.array([1.0, 2.0]), st.poisson(3)) == D.DISCRETE_VS_DIST  # q says the values are counts
    assert D._pair_kind(np.array([1, 2]), st.norm()) == D.CONTINUOUS_VS_DIST


def test_integer_samples_against_float_samples_refused_not_jittered():
    """Review item 2: integers against floats gave confident nonsense (Poisson vs normal: 17.88 +- 0.12); a mass function
    and a density have no common reference measure, so the dispatcher refuses and says how to ask for either reading."""
    g = np.random.default_rng(0)
    for x, y, first in (
        (g.poisson(5, 100), g.normal(5, 2, 100), "discrete"),
        (g.uniform(0, 10, 100), g.integers(0, 10, 100), "continuous"),
    ):
        with pytest.raises(TypeError, match=f"`x` holds {first} samples.*not defined.*cast both to float.*cast both to int"):
            estimate_kl(x, y)
        with pytest.raises(TypeError, match="not defined"):
            estimate_js(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the kNN estimator's tie warning (rounded data)
        e = estimate_kl(g.poisson(5, 500).astype(float), g.normal(5, 2, 500).round())  # what the message suggests works
    assert np.isfinite(e.value)


def test_discrete_samples_use_miller_madow_and_match_closed_form():
    """auto on integer samples: 'miller-madow', within 4 s.e. of kb.kl of the probability vectors."""
    e = estimate_kl(_cat(50_000, P3, 1), _cat(50_000, Q3, 2))
    assert (e.method, e.quantity, e.n) == ("miller-madow", "D(p||q)", (50_000, 50_000))
    assert abs(e.value - float(kb.kl(P3, Q3))) < 4 * e.stderr


def test_smoothing_makes_auto_the_smoothed_plugin():
    e = estimate_kl(["a", "a", "b"], ["a", "c"], smoothing="jeffreys")
    p, q = np.array([2.5, 1.5, 0.5]) / 4.5, np.array([1.5, 0.5, 1.5]) / 3.5  # hand computation: +1/2 over {a, b, c}
    assert e.method == "plugin" and e.value == pytest.approx(float(kb.kl(p, q)), rel=1e-13)


def test_discrete_entropy_and_js_match_closed_forms():
    x, y = _cat(50_000, P3, 3), _cat(50_000, Q3, 4)
    h, j = estimate_entropy(x), estimate_js(x, y)
    assert (h.quantity, j.quantity) == ("H(p)", "JS(p, q)")
    assert abs(h.value - float(kb.entropy(P3))) < 4 * h.stderr
    assert abs(j.value - float(kb.js(P3, Q3))) < 4 * j.stderr


def test_poisson_samples_against_poisson_object():
    """Samples of Poisson(3) against scipy's Poisson(4): within 4 s.e. of kb.kl(st.poisson(3), st.poisson(4))."""
    truth = float(kb.kl(st.poisson(3), st.poisson(4)))
    e = estimate_kl(np.random.default_rng(5).poisson(3, 20_000), st.poisson(4))
    assert e.method == "miller-madow" and abs(e.value - truth) < 4 * e.stderr


def test_count_vectors_against_a_multinomial():
    """Rows of Multinomial(4, p) draws against scipy's Multinomial(4, q): D = 4 D(p||q) (closed form), within 4 s.e."""
    x = st.multinomial(4, P3).rvs(5000, random_state=21)
    e = estimate_kl(x, st.multinomial(4, Q3))
    assert e.method == "miller-madow" and abs(e.value - 4 * float(kb.kl(P3, Q3))) < 4 * e.stderr


def test_categorical_samples_against_a_torch_categorical():
    torch = pytest.importorskip("torch")
    e = estimate_kl(_cat(20_000, P3, 22), torch.distributions.Categorical(probs=torch.tensor(Q3)))
    assert abs(e.value - float(kb.kl(P3, Q3))) < 4 * e.stderr


def test_sample_value_outside_support_of_q_is_inf_with_warning():
    """x shows 7, outside {0..3} of Binomial(3, 1/2): inf, 7 named in the warning and in details."""
    with pytest.warns(kb.AccuracyWarning, match=r"7 \(1x\)"):
        e = estimate_kl(np.array([0, 1, 2, 7]), st.binom(3, 0.5))
    assert e.value == math.inf and e.details["unseen_in_q"] == [7]


def test_unseen_value_warning_points_at_the_caller():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        estimate_kl(["a", "b"], ["a", "a"])
    assert len(w) == 1 and w[0].filename == __file__ and "'b' (1x)" in str(w[0].message)


def test_two_distributions_use_monte_carlo():
    """N(0, 1) || N(1, 2) = log 2 + 2/8 - 1/2 (closed form), by Monte Carlo within 4 s.e."""
    e = estimate_kl(st.norm(0, 1), st.norm(1, 2), rng=1)
    assert e.method == "monte-carlo" and e.quantity == "D(p||q)"
    assert abs(e.value - (math.log(2) + 0.25 - 0.5)) < 4 * e.stderr
    h = estimate_entropy(st.norm(0, 1), rng=1)
    assert h.quantity == "H(p)" and abs(h.value - 0.5 * math.log(2 * math.pi * math.e)) < 4 * h.stderr
    j = estimate_js(st.norm(0, 1), st.norm(1, 2), rng=1)
    assert j.quantity == "JS(p, q)" and j.method == "monte-carlo"
    assert abs(j.value - float(kb.js(st.norm(0, 1), st.norm(1, 2)))) < 4 * j.stderr  # 1-D quadrature


def test_continuous_samples_use_knn():
    """Gaussian samples, N(0, 1) || N(1, 2) closed form, kNN within 4 s.e. (plus its bias allowance, in the ci)."""
    rng = np.random.default_rng(6)
    e = estimate_kl(rng.normal(0, 1, 5000), rng.normal(1, 2, 5000), rng=0)
    assert e.method.startswith("knn") and e.quantity == "D(p||q)"
    assert e.ci[0] <= math.log(2) - 0.25 <= e.ci[1]
    h = estimate_entropy(rng.normal(0, 1, 5000), rng=0)
    assert h.quantity == "H(p)" and h.ci[0] <= 0.5 * math.log(2 * math.pi * math.e) <= h.ci[1]


@pytest.mark.parametrize("method", ["auto", "knn", "knn-ensemble"])
def test_continuous_samples_against_a_density(method):
    """x ~ N(0, 1) against scipy's N(1, 2): -H_KL(x) - mean log q(x), truth log 2 + 2/8 - 1/2 (closed form)."""
    x = np.random.default_rng(7).normal(0, 1, 5000)
    e = estimate_kl(x, st.norm(1, 2), method=method, rng=0)
    assert e.quantity == "D(p||q)" and e.method.startswith("knn") and e.ci[0] <= math.log(2) - 0.25 <= e.ci[1]
    assert e == estimate_kl(x, st.norm(1, 2), method=method, rng=0)


@pytest.mark.parametrize("method", ["auto", "knn", "knn-ensemble"])
def test_continuous_js_covers_monte_carlo_truth(method):
    """JS(N(0, 1), N(1, 2)) by kNN from samples against kb.js of the two objects (1-D quadrature, 1e-6)."""
    truth = float(kb.js(st.norm(0, 1), st.norm(1, 2)))
    rng = np.random.default_rng(24)
    e = estimate_js(rng.normal(0, 1, 3000), rng.normal(1, 2, 3000), method=method, rng=0)
    assert e.method.startswith("knn") and e.ci[0] <= truth <= e.ci[1]


def test_integer_valued_floats_stay_knn_and_plugin_counts_them():
    """Float samples with integer values go to kNN (which handles the ties); method='plugin' counts them instead,
    the same as integer dtype."""
    rng = np.random.default_rng(8)
    x, y = rng.poisson(3, 2000), rng.poisson(4, 2000)
    counted = estimate_kl(x.astype(float), y.astype(float), method="miller-madow")
    assert counted.value == estimate_kl(x, y).value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = estimate_kl(x.astype(float), y.astype(float), rng=0)
    assert e.method.startswith("knn") and math.isfinite(e.value)


# ---------------------------------------------------------------- methods and options


def test_auto_with_k_is_the_single_k_estimator():
    """A `k` given with method='auto' asks for that k: the single-k kNN estimator, as method='knn' gives."""
    rng = np.random.default_rng(23)
    x, y = rng.normal(size=400), rng.normal(0.5, 1, size=400)
    assert estimate_kl(x, y, k=3, rng=0) == estimate_kl(x, y, k=3, method="knn", rng=0)


def test_estimator_warnings_point_at_the_caller():
    """The kNN tie warning (raised deep in the estimator) is raised again at the line that called estimate_kl."""
    from kullback.estimation._knn import TieWarning

    x = np.repeat(np.arange(20.0), 3)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        estimate_entropy(x, rng=0)
    ties = [m for m in w if issubclass(m.category, TieWarning)]
    assert ties and all(m.filename == __file__ for m in ties)


def test_bad_method_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"`method` must be one of \{'auto', 'plugin', 'miller-madow', 'knn'") as exc:
        estimate_kl([1, 2], [1, 2], method="nope")
    assert all(m in str(exc.value) for m in D.KL_METHODS)
    with pytest.raises(ValueError, match="`method` must be one of"):
        estimate_entropy([1, 2], method="bogus")


def test_method_that_does_not_fit_the_inputs():
    with pytest.raises(ValueError, match=r"method='monte-carlo' does not apply to discrete samples; .*'miller-madow'"):
        estimate_kl([1, 2], [1, 2], method="monte-carlo")
    with pytest.raises(ValueError, match="does not apply to distribution objects"):
        estimate_kl(st.norm(), st.norm(), method="knn")


def test_option_that_the_method_does_not_take():
    with pytest.raises(
        ValueError, match=r"`k` does not apply to method='miller-madow'; on discrete samples it is an option of method \['knn'"
    ):
        estimate_kl([1, 2], [1, 2], k=3)
    with pytest.raises(ValueError, match="`smoothing` does not apply to method='monte-carlo'; no method on distribution objects"):
        estimate_kl(st.norm(), st.norm(1), smoothing="jeffreys")
    with pytest.raises(ValueError, match=r"`smoothing` does not apply to method='miller-madow'; .* method \['plugin'\]"):
        estimate_kl([1, 2], [1, 2], method="miller-madow", smoothing="laplace")


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1, "0.9", True, float("nan")])
def test_confidence_outside_unit_interval(confidence):
    with pytest.raises(ValueError, match="`confidence` must be a number in"):
        estimate_kl([1, 2], [1, 2], confidence=confidence)


def test_confidence_sets_the_interval_width():
    """ci half-width = z * stderr with z = Phi^-1(0.995) = 2.5758293 at 99% (away from the cut at 0)."""
    e = estimate_kl(_cat(5000, P3, 9), _cat(5000, Q3, 10), confidence=0.99)
    assert e.confidence == 0.99
    assert (e.ci[1] - e.ci[0]) / 2 == pytest.approx(2.5758293035489 * e.stderr, rel=1e-9)


def test_bad_rng():
    with pytest.raises(TypeError, match="`rng` must be"):
        estimate_kl([1, 2], [1, 2], rng="seed")


def test_same_seed_same_answer():
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=500), rng.normal(0.5, 1, size=500)
    assert estimate_kl(x, y, rng=3) == estimate_kl(x, y, rng=3)
    assert estimate_kl(st.norm(), st.norm(1), rng=3) == estimate_kl(st.norm(), st.norm(1), rng=3)
    g1, g2 = np.random.default_rng(4), np.random.default_rng(4)
    assert estimate_entropy(st.norm(), rng=g1) == estimate_entropy(st.norm(), rng=g2)


def test_every_registered_method_names_a_function_that_exists():
    """Each registry entry resolves to a function of its room (no entry points nowhere)."""
    import importlib

    for table in (D.KL_METHODS, D.ENTROPY_METHODS, D.JS_METHODS):
        for kinds in table.values():
            for entry in kinds.values():
                assert callable(getattr(importlib.import_module(f"kullback.estimation.{entry.module}"), entry.func))
    assert set(D.AUTO) == {D.DISCRETE, D.CONTINUOUS, D.DISCRETE_VS_DIST, D.CONTINUOUS_VS_DIST, D.DISTRIBUTIONS}


def test_every_estimate_names_its_quantity_and_method():
    x, y = _cat(300, P3, 12), _cat(300, Q3, 13)
    for e, q in ((estimate_kl(x, y), "D(p||q)"), (estimate_entropy(x), "H(p)"), (estimate_js(x, y), "JS(p, q)")):
        assert e.quantity == q and e.method
        assert repr(e).startswith(f"Estimate({q} = ")


# ---------------------------------------------------------------- what the arguments are


def test_probability_vectors_are_samples_here():
    """estimate_kl takes samples, never probability vectors: [0.2, 0.8] is two float samples (too few for kNN)."""
    with pytest.raises(ValueError, match="`x` has 2 points"):
        estimate_kl([0.2, 0.8], [0.4, 0.6])


def test_distribution_given_for_p_with_samples_of_q():
    with pytest.raises(TypeError, match="`x` is a distribution object but `y` holds samples"):
        estimate_kl(st.norm(), np.array([0.1, 0.2]))


def test_js_of_samples_against_a_distribution_is_not_implemented():
    with pytest.raises(NotImplementedError, match="discrete samples against a distribution"):
        estimate_js(np.array([1, 2]), st.poisson(2))


def test_strings_against_a_density():
    with pytest.raises(TypeError, match="continuous distribution"):
        estimate_kl(["a", "b"], st.norm())


def test_dimension_of_samples_and_distribution_differ():
    with pytest.raises(ValueError, match="dimension"):
        estimate_kl(np.random.default_rng(0).normal(size=(50, 2)), st.norm())


# ---------------------------------------------------------------- the docstrings


@pytest.mark.parametrize("name", ["estimate_kl", "estimate_entropy", "estimate_js"])
def test_docstring_examples(name):
    """The Examples of each public function run and check themselves against closed forms."""
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = finder.find(getattr(D, name), name, globs={})
    assert tests and tests[0].examples
    for t in tests:
        runner.run(t)
    assert runner.failures == 0


# ---------------------------------------------------------------- regressions (review of the estimation code)


def test_smoothing_on_float_samples_refused_unless_plugin_asked():
    """Review item 3: smoothing= on floats silently ran plug-in on distinct floats (0.549306 for every mu, which is
    log(3)/2: disjoint supports smoothed with Jeffreys over n + m distinct values)."""
    g = np.random.default_rng(0)
    x, y = g.normal(size=200), g.normal(3, 1, size=200)
    with pytest.raises(ValueError, match="smoothing.*floats.*method='plugin'"):
        estimate_kl(x, y, smoothing="jeffreys")
    with pytest.raises(ValueError, match="smoothing"):
        estimate_entropy(x, smoothing="laplace")
    with pytest.raises(ValueError, match="smoothing"):
        estimate_js(x, y, smoothing="jeffreys", method="knn")
    assert estimate_kl(x, y, smoothing="jeffreys", method="plugin").method == "plugin"  # asked for by name


def test_auto_reports_knn_ensemble_and_every_returned_method_can_be_passed_back():
    """Review item 10: results named 'kl'/'kl-ensemble'/'knn-entropy...' which method= refused, and AUTO said 'knn'
    where auto returned the ensemble.  Every Estimate.method must be a registry name giving the same estimate again."""
    g = np.random.default_rng(1)
    x, y = g.normal(size=300), g.normal(0.5, 1, size=300)
    assert D.AUTO[D.CONTINUOUS] == "knn-ensemble"
    cases = [
        (estimate_kl, (x, y)),
        (estimate_kl, (x, st.norm(0.5))),
        (estimate_entropy, (x,)),
        (estimate_js, (x, y)),
        (estimate_kl, (g.integers(0, 3, 300), g.integers(0, 3, 300))),
        (estimate_entropy, (g.integers(0, 3, 300),)),
        (estimate_kl, (g.integers(0, 6, 300), st.poisson(2))),
    ]
    warnings.simplefilter("ignore")  # tie warnings of kNN on integers; pytest restores the filters
    for f, data in cases:
        for method in ["auto", *sorted({m for m, kinds in D.KL_METHODS.items()})]:
            try:
                e = f(*data, method=method, rng=0)
            except ValueError:  # the method does not apply to this kind
                continue
            again = f(*data, method=e.method, rng=0)
            assert again.method == e.method
            assert again.value == pytest.approx(e.value, rel=1e-12, abs=1e-12), (f.__name__, method, e.method)


def test_base_two_gives_bits_for_every_kind():
    """Review item 15: base= (2 for bits) divides value, stderr and ci by log 2 (Cover & Thomas sec. 2.1) for every method."""
    g = np.random.default_rng(2)
    x, y, xi, yi = g.normal(size=300), g.normal(0.5, 1, size=300), g.integers(0, 4, 300), g.integers(0, 4, 300)
    cases = [
        (estimate_kl, (x, y), {}),
        (estimate_kl, (x, st.norm(0.5)), {}),
        (estimate_kl, (xi, yi), {}),
        (estimate_kl, (st.norm(), st.norm(1)), {"max_draws": 4096}),
        (estimate_entropy, (x,), {}),
        (estimate_entropy, (xi,), {}),
        (estimate_js, (xi, yi), {}),
        (estimate_js, (x, y), {}),
    ]
    for f, data, kw in cases:
        nats, bits = f(*data, rng=3, **kw), f(*data, rng=3, base=2, **kw)
        assert bits.value == pytest.approx(nats.value / math.log(2), rel=1e-12)
        assert bits.stderr == pytest.approx(nats.stderr / math.log(2), rel=1e-12)
        assert bits.ci == pytest.approx(tuple(c / math.log(2) for c in nats.ci), rel=1e-12)
        assert bits.details["base"] == 2
    # the closed form in bits: D(N(0,1)||N(1,1)) = 1/2 nat = 0.5/log 2 bits
    e = estimate_kl(st.norm(), st.norm(1), rng=0, base=2, max_draws=10**5)
    assert abs(e.value - 0.5 / math.log(2)) < 4 * e.stderr
    for bad in (1, 0, -2, "2", True):
        with pytest.raises(ValueError, match="`base`"):
            estimate_entropy(x, base=bad)


def test_nan_log_density_of_y_is_an_error_not_infinite():
    """Review item 9: a NaN log q at a sample was taken as q = 0 (inf); scipy's norm(0, -1) is invalid and its logpdf NaN."""
    with pytest.raises(ValueError, match=r"NaN at x\[0\]"):
        estimate_kl(np.random.default_rng(0).normal(size=50), st.norm(0, -1))
    with pytest.raises(ValueError, match=r"NaN at x\[0\]"):
        estimate_kl(np.arange(10), st.poisson(-1))


def test_samples_vs_density_with_no_mass_is_infinite_with_warning_and_registry_name():
    """Review item 9/10: normal samples against Exp(1) (no density below 0) gave inf without a warning and method
    'kl-ensemble'; now inf, stderr inf, ci (0, inf), an AccuracyWarning, and a method= name."""
    with pytest.warns(kb.AccuracyWarning):
        e = estimate_kl(np.random.default_rng(0).normal(size=500), st.expon())
    assert (e.value, e.stderr, e.ci, e.method) == (math.inf, math.inf, (0.0, math.inf), "knn-ensemble")
