"""The plug-in estimators on counts (kullback.estimation._plugin) against closed forms and hand computations.

Truths: ``kb.kl`` / ``kb.entropy`` / ``kb.js`` of probability vectors (closed forms of the discrete
divergences), ``kb.kl(st.poisson(3), st.poisson(4))`` (the Poisson closed form
lam_p log(lam_p/lam_q) + lam_q - lam_p = 0.13695378...), ``scipy.stats.poisson(3).entropy()``.
Statistical tests use fixed seeds; tolerances are multiples of the standard error.
"""

import math

import numpy as np
import pytest
import scipy.stats as st
from hypothesis import given
from hypothesis import strategies as hs

import kullback as kb
from kullback.estimation import _plugin as P

CAT_P = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
CAT_Q = np.array([0.3, 0.3, 0.2, 0.1, 0.1])


def _draw(n, p, rng):
    return rng.choice(len(p), n, p=p)


# ---------------------------------------------------------------- against closed forms


def test_poisson_kl_matches_closed_form():
    """x ~ Poisson(3), y ~ Poisson(4): within 4 s.e. of kb.kl(st.poisson(3), st.poisson(4)) = 3 log(3/4) + 1."""
    truth = float(kb.kl(st.poisson(3), st.poisson(4)))
    assert truth == pytest.approx(3 * math.log(3 / 4) + 1, rel=1e-12)
    rng = np.random.default_rng(7)
    e = P.kl_plugin(rng.poisson(3, 20_000), rng.poisson(4, 20_000))
    assert math.isfinite(e.value) and e.quantity == "D(p||q)" and e.n == (20_000, 20_000)
    assert abs(e.value - truth) < 4 * e.stderr
    assert e.ci[0] < truth < e.ci[1]


def test_poisson_entropy_matches_closed_form():
    """H(Poisson(3)) = 1.93147... (scipy's series) within 4 s.e."""
    truth = float(st.poisson(3).entropy())
    e = P.entropy_plugin(np.random.default_rng(8).poisson(3, 20_000))
    assert abs(e.value - truth) < 4 * e.stderr and e.quantity == "H(p)"


def test_poisson_sample_against_poisson_distribution():
    """-H_hat(p) - mean log q(x) for x ~ Poisson(3), q = Poisson(4) pmf; truth kb.kl of the two objects."""
    truth = float(kb.kl(st.poisson(3), st.poisson(4)))
    x = np.random.default_rng(9).poisson(3, 20_000)
    e = P.kl_plugin_vs_logq(x, st.poisson(4).logpmf(x))
    assert abs(e.value - truth) < 4 * e.stderr and e.n == 20_000


@pytest.mark.parametrize("correction", [False, True])
def test_categorical_kl_entropy_js_match_closed_forms(correction):
    """Categorical p, q (5 values), n = m = 50 000: each estimate within 4 s.e. of kb.kl / kb.entropy / kb.js."""
    rng = np.random.default_rng(10)
    x, y = _draw(50_000, CAT_P, rng), _draw(50_000, CAT_Q, rng)
    for est, truth in (
        (P.kl_plugin(x, y, correction=correction), kb.kl(CAT_P, CAT_Q)),
        (P.entropy_plugin(x, correction=correction), kb.entropy(CAT_P)),
        (P.js_plugin(x, y, correction=correction), kb.js(CAT_P, CAT_Q)),
    ):
        assert abs(est.value - float(truth)) < 4 * est.stderr, est


def test_plugin_value_is_the_divergence_of_the_frequencies():
    """Without correction the estimate is exactly kb.kl / kb.js / kb.entropy of the empirical frequencies."""
    x, y = np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 2, 1, 0])
    px, py = np.bincount(x, minlength=3) / 6, np.bincount(y, minlength=3) / 7
    assert P.kl_plugin(x, y, correction=False).value == pytest.approx(float(kb.kl(px, py)), rel=1e-13)
    assert P.js_plugin(x, y, correction=False).value == pytest.approx(float(kb.js(px, py)), rel=1e-13)
    assert P.entropy_plugin(x, correction=False).value == pytest.approx(float(kb.entropy(px)), rel=1e-13)


# ---------------------------------------------------------------- bias: sign and size


def _study(fn, truth, reps, n, seed, two=True):
    rng = np.random.default_rng(seed)
    errs = {False: [], True: []}
    for _ in range(reps):
        x, y = _draw(n, CAT_P, rng), _draw(n, CAT_Q, rng)
        for c in errs:
            e = fn(x, y, correction=c) if two else fn(x, correction=c)
            errs[c].append(e.value - truth)
    return {c: (np.mean(v), np.std(v, ddof=1) / np.sqrt(reps)) for c, v in errs.items()}


def test_kl_plugin_bias_has_predicted_size_and_correction_removes_it():
    """Plug-in KL at n = m = 100 is biased up by (K-1)/(2n) + (sum p/q - 1)/(2m) (second-order Taylor, Miller 1955
    for the entropy part); the Miller-Madow-corrected estimate's bias is within 3 s.e. of 0 and below the plug-in's."""
    n = 100
    truth = float(kb.kl(CAT_P, CAT_Q))
    predicted = (len(CAT_P) - 1) / (2 * n) + (np.sum(CAT_P / CAT_Q) - 1) / (2 * n)
    r = _study(P.kl_plugin, truth, 600, n, seed=11)
    (b0, s0), (b1, s1) = r[False], r[True]
    assert b0 > 5 * s0  # biased up, clearly
    assert abs(b0 - predicted) < 3 * s0 + 0.15 * predicted  # first order + O(n^-2)
    assert abs(b1) < 3 * s1 and abs(b1) < abs(b0) / 3


def test_entropy_plugin_bias_is_miller_and_correction_removes_it():
    """Plug-in entropy is biased down by (K-1)/(2n) (Miller 1955; Paninski 2003 eq. 3.3); Miller-Madow removes it."""
    n = 100
    truth = float(kb.entropy(CAT_P))
    r = _study(P.entropy_plugin, truth, 600, n, seed=12, two=False)
    (b0, s0), (b1, s1) = r[False], r[True]
    assert b0 < -5 * s0
    assert abs(b0 + (len(CAT_P) - 1) / (2 * n)) < 3 * s0 + 0.002
    assert abs(b1) < 3 * s1 and abs(b1) < abs(b0) / 3


def test_js_plugin_bias_correction_reduces_bias():
    """Plug-in JS is biased up (second-order expansion of its three entropies); the corrected one is within 3 s.e. of 0."""
    truth = float(kb.js(CAT_P, CAT_Q))
    r = _study(P.js_plugin, truth, 600, 100, seed=13)
    (b0, s0), (b1, s1) = r[False], r[True]
    assert b0 > 5 * s0
    assert abs(b1) < 3 * s1 and abs(b1) < abs(b0) / 3


# ---------------------------------------------------------------- intervals


def _coverage(reps, n, p, q, seed):
    rng = np.random.default_rng(seed)
    truth = {"kl": float(kb.kl(p, q)), "h": float(kb.entropy(p)), "js": float(kb.js(p, q))}
    hit = {key: 0 for key in truth}
    for _ in range(reps):
        x, y = _draw(n, p, rng), _draw(n, q, rng)
        for key, e in (("kl", P.kl_plugin(x, y)), ("h", P.entropy_plugin(x)), ("js", P.js_plugin(x, y))):
            hit[key] += e.ci[0] <= truth[key] <= e.ci[1]
    return {key: h / reps for key, h in hit.items()}


def test_interval_coverage_on_a_categorical_pair():
    """500 repetitions at n = m = 2000: the 95% intervals of KL, H and JS cover the closed form >= 90% of the time.

    2000 repetitions give 0.944 (KL), 0.943 (JS), 0.953 (H); 500 (binomial s.d. 0.01) keep the test fast.  The full
    table, Poisson pairs included, is benchmarks/plugin_coverage.py."""
    cov = _coverage(500, 2000, CAT_P, CAT_Q, seed=14)
    assert min(cov.values()) >= 0.90, cov


def test_interval_coverage_where_p_equals_q():
    """p = q: the first-order variance vanishes; the second-order (chi-square) term keeps the interval covering D = 0."""
    cov = _coverage(200, 500, CAT_P, CAT_P, seed=15)
    assert min(cov.values()) >= 0.90, cov


def test_delta_method_stderr_matches_spread_over_repetitions():
    """The reported s.e. of the KL estimate agrees with the standard deviation over 300 seeded repetitions
    (within 15%: the s.d. of a sample s.d. over 300 draws is about 4%)."""
    rng = np.random.default_rng(16)
    vals, ses = [], []
    for _ in range(300):
        e = P.kl_plugin(_draw(2000, CAT_P, rng), _draw(2000, CAT_Q, rng))
        vals.append(e.value)
        ses.append(e.stderr)
    assert np.std(vals, ddof=1) == pytest.approx(np.mean(ses), rel=0.15)


def test_entropy_jackknife_matches_brute_force_leave_one_out():
    """The O(K) jackknife update equals deleting each observation and recomputing (Efron & Stein 1981)."""
    x = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4])
    n = x.size
    for correction in (False, True):
        loo = np.array([P.entropy_plugin(np.delete(x, i), correction=correction).value for i in range(n)])
        var = (n - 1) / n * np.sum((loo - loo.mean()) ** 2)
        assert var > 4 / (2 * n * n)  # above the floor here
        assert P.entropy_plugin(x, correction=correction).stderr == pytest.approx(math.sqrt(var), rel=1e-12)


def test_entropy_stderr_is_floored_where_the_jackknife_degenerates():
    """Two distinct values: every leave-one-out entropy is 0, so the jackknife says 0; the floor is Harris's (K-1)/(2n^2)."""
    e = P.entropy_plugin(["a", "b"])
    assert e.stderr == pytest.approx(math.sqrt(1 / 8), rel=1e-15) and e.ci[1] > e.value


# ---------------------------------------------------------------- support mismatch and smoothing


def test_unseen_value_gives_inf_with_the_value_named():
    """x shows 'c' (twice) and 'd' (once) that y never shows: D = inf, ci (0, inf), values and counts in details."""
    e = P.kl_plugin(["a", "b", "c", "c", "d"], ["a", "b", "b", "a"])
    assert e.value == math.inf and e.stderr == math.inf and e.ci == (0.0, math.inf)
    assert e.details["unseen_in_q"] == ["c", "d"] and e.details["unseen_counts"] == [2, 1]
    assert "'c' (2x)" in e.details["warnings"][0] and "smoothing='jeffreys'" in e.details["warnings"][0]
    assert not math.isnan(e.value)


def test_js_is_finite_where_kl_is_infinite():
    """JS(p, q) <= log 2 always: the plug-in on the mixture is finite where D(p||q) is not."""
    e = P.js_plugin(["a", "c"], ["a", "b"], correction=False)
    assert e.value == pytest.approx(float(kb.js([0.5, 0, 0.5], [0.5, 0.5, 0])), rel=1e-13)
    assert 0 <= e.ci[0] <= e.ci[1] <= math.log(2)


def test_value_with_zero_mass_under_q_gives_inf_named():
    """x ~ p shows 5, outside the support {0..3} of Binomial(3, 0.5): D = inf, 5 named."""
    x = np.array([0, 1, 1, 2, 5])
    e = P.kl_plugin_vs_logq(x, st.binom(3, 0.5).logpmf(x))
    assert e.value == math.inf and e.details["unseen_in_q"] == [5]


def test_jeffreys_smoothing_matches_hand_computation():
    """x = [a, a, b], y = [a, c]; union {a, b, c}; +1/2 each: p = (2.5, 1.5, .5)/4.5, q = (1.5, .5, 1.5)/3.5."""
    p = [2.5 / 4.5, 1.5 / 4.5, 0.5 / 4.5]
    q = [1.5 / 3.5, 0.5 / 3.5, 1.5 / 3.5]
    hand = sum(a * math.log(a / b) for a, b in zip(p, q))
    e = P.kl_plugin(["a", "a", "b"], ["a", "c"], correction=False, smoothing="jeffreys")
    assert e.value == pytest.approx(hand, rel=1e-13) and e.details["pseudocount"] == 0.5
    assert P.kl_plugin(["a", "a", "b"], ["a", "c"], correction=False, smoothing=0.5).value == e.value
    # entropy of x alone: union {a, b}, p = (2.5, 1.5)/4
    hand_h = -sum(a * math.log(a) for a in (2.5 / 4, 1.5 / 4))
    assert P.entropy_plugin(["a", "a", "b"], correction=False, smoothing="jeffreys").value == pytest.approx(hand_h, rel=1e-13)


@pytest.mark.parametrize(("name", "alpha"), [("laplace", 1.0), ("perks", 1 / 3), ("jeffreys", 0.5)])
def test_named_priors_are_their_pseudocounts(name, alpha):
    """Laplace 1, Perks 1/K (K = 3 observed values), Jeffreys 1/2 (Hausser & Strimmer 2009, Table 1)."""
    x, y = [0, 0, 1], [0, 2, 2, 2]
    a, b = np.array([2, 1, 0]) + alpha, np.array([1, 0, 3]) + alpha
    hand = float(kb.kl(a / a.sum(), b / b.sum()))
    assert P.kl_plugin(x, y, correction=False, smoothing=name).value == pytest.approx(hand, rel=1e-13)


def test_smoothing_with_bias_correction_is_refused():
    with pytest.raises(ValueError, match="do not combine"):
        P.kl_plugin([0, 1], [0, 1], correction=True, smoothing="jeffreys")


# ---------------------------------------------------------------- representations


def test_representations_of_the_same_samples_agree():
    """Integer codes, strings, booleans, objects, pandas Categorical and torch tensors give the same estimate."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(17)
    x, y = rng.integers(0, 2, 300), rng.integers(0, 2, 200)
    ref = P.kl_plugin(x, y)
    names = np.array(["no", "yes"])
    for xx, yy in (
        (names[x], names[y]),
        (x.astype(bool), y.astype(bool)),
        (names[x].astype(object), names[y].astype(object)),
        (list(names[x]), list(names[y])),
        (pd.Categorical(names[x]), pd.Series(names[y], dtype="category")),
    ):
        e = P.kl_plugin(xx, yy)
        assert e.value == pytest.approx(ref.value, rel=1e-13) and e.stderr == pytest.approx(ref.stderr, rel=1e-13)
    torch = pytest.importorskip("torch")
    assert P.kl_plugin(torch.as_tensor(x), torch.as_tensor(y)).value == pytest.approx(ref.value, rel=1e-13)


def test_integer_fast_path_agrees_with_sorting_path(monkeypatch):
    """The O(n) bincount coding of small-range integers gives what np.unique's sort gives (bool, int8, uint64, negatives)."""
    rng = np.random.default_rng(19)
    cases = [rng.integers(-3, 4, 200).astype(np.int8), rng.integers(0, 2, 200).astype(bool), rng.integers(0, 9, 200).astype(np.uint64)]
    fast = [(P.kl_plugin(a, a[::-1][:150]), P.entropy_plugin(a)) for a in cases]
    monkeypatch.setattr(P, "_codes_small_integers", lambda arr: None)
    slow = [(P.kl_plugin(a, a[::-1][:150]), P.entropy_plugin(a)) for a in cases]
    assert fast == slow
    big = np.array([0, 2**63 + 5, 2**63 + 5], dtype=np.uint64)  # beyond int64: the sorting path
    assert P.entropy_plugin(big).details["support"] == 2


def test_rows_are_joint_values():
    """A 2-D integer array counts rows as joint values: the same as coding each row as one integer."""
    rng = np.random.default_rng(18)
    x, y = rng.integers(0, 3, (500, 2)), rng.integers(0, 3, (400, 2))
    e = P.kl_plugin(x, y)
    e1 = P.kl_plugin(x[:, 0] * 3 + x[:, 1], y[:, 0] * 3 + y[:, 1])
    assert e.value == pytest.approx(e1.value, rel=1e-13) and e.details["support"] == e1.details["support"]


def test_integer_and_string_one_are_different_values():
    """[1, 1] against ["1", "1"]: no value is shared (numpy would coerce 1 to "1"), so D = inf."""
    assert P.kl_plugin([1, 1], ["1", "1"]).value == math.inf


def test_single_repeated_value_is_a_valid_discrete_sample():
    """A sample of one repeated value has entropy 0 exactly (s.e. 0); two such samples of the same value have D = 0."""
    h = P.entropy_plugin(["a"] * 10)
    assert (h.value, h.stderr, h.ci) == (0.0, 0.0, (0.0, 0.0))
    d = P.kl_plugin([3] * 5, [3] * 7)
    assert d.value == 0.0 and d.ci[0] == 0.0


def test_details_are_json_ready():
    """to_dict() of a plug-in estimate survives json.dumps (values as plain Python objects)."""
    import json

    e = P.kl_plugin(np.array([[1, 2], [3, 4]]), np.array([[1, 2], [1, 2]]))
    json.dumps(e.to_dict())
    assert e.details["unseen_in_q"] == [[3, 4]]


# ---------------------------------------------------------------- property-based


_samples = hs.lists(hs.integers(0, 6), min_size=2, max_size=60)


def _hand_kl(x, y):
    """sum_v p(v) log(p(v)/q(v)) of the empirical frequencies, by collections.Counter and math.log (independent code)."""
    from collections import Counter

    cx, cy = Counter(x), Counter(y)
    if any(v not in cy for v in cx):
        return math.inf
    return sum(c / len(x) * math.log((c / len(x)) / (cy[v] / len(y))) for v, c in cx.items())


@pytest.mark.fuzz
@given(_samples, _samples)
def test_fuzz_plugin_is_the_empirical_divergence_and_relabelling_invariant(x, y):
    """For any two small integer samples: the uncorrected value is the hand-computed divergence of the
    frequencies; strings in place of the integers give the same estimate; nothing is NaN; ci is ordered;
    JS lies in [0, log 2]."""
    e = P.kl_plugin(x, y, correction=False)
    hand = _hand_kl(x, y)
    if math.isinf(hand):
        assert e.value == math.inf and e.ci == (0.0, math.inf)
    else:
        assert e.value == pytest.approx(hand, rel=1e-12, abs=1e-14)
        c = P.kl_plugin(x, y)
        s = P.kl_plugin([f"v{v}" for v in x], [f"v{v}" for v in y])
        assert (c.value, c.stderr) == pytest.approx((s.value, s.stderr), rel=1e-12, abs=1e-15)
        assert c.ci[0] <= c.ci[1] and c.stderr >= 0 and not math.isnan(c.value)
    j = P.js_plugin(x, y, correction=False)
    assert -1e-15 <= j.value <= math.log(2) + 1e-15 and 0 <= j.ci[0] <= j.ci[1] <= math.log(2)
    h = P.entropy_plugin(x)
    assert h.stderr > 0 or len(set(x)) == 1
    assert not any(math.isnan(v) for v in (j.value, j.stderr, h.value, h.stderr))


# ---------------------------------------------------------------- regressions (review of the estimation code)


def test_plugin_from_one_sample_refused():
    """Review item 12: kb.estimate_kl([3], [3]) claimed 0 +- 0 with CI [0, 0] from one sample each."""
    for f in (P.kl_plugin, P.js_plugin):
        with pytest.raises(ValueError, match="`x` has 1 sample"):
            f(np.array([3]), np.array([3, 3]))
        with pytest.raises(ValueError, match="`y` has 1 sample"):
            f(np.array([3, 3]), np.array([3]))
    with pytest.raises(ValueError, match="`x` has 1 sample"):
        P.kl_plugin_vs_logq(np.array([3]), np.array([-1.0]))


def test_plugin_kl_one_shared_value_is_not_certain():
    """Review item 12: one value in both samples gives D_hat = 0 but not certainty: the variance is floored at the
    chi-square term with one degree of freedom, 1/2 (1/n + 1/m)^2 (the formula in kl_plugin's docstring, by hand)."""
    e = P.kl_plugin(np.array([3, 3]), np.array([3, 3, 3, 3]))
    assert e.value == 0.0
    assert e.stderr == pytest.approx(math.sqrt(0.5 * (1 / 2 + 1 / 4) ** 2), rel=1e-12)
    assert e.ci[1] > 0
    j = P.js_plugin(np.array([3, 3]), np.array([3, 3, 3, 3]))
    assert j.stderr == pytest.approx(math.sqrt((1 / 32) * (1 / 2 + 1 / 4) ** 2), rel=1e-12)


def test_miller_madow_many_unseen_values_warns():
    """Review item 18: K = 50 equiprobable values, n = 30 (bias -0.38, coverage 0.65): the Good-Turing unseen mass f1/n
    (Good 1953, eq. 2) is far above 0.2, so an AccuracyWarning says the estimate is biased low; n = 10^4 of K = 3 is silent."""
    import warnings

    import kullback as kb

    x = np.random.default_rng(0).integers(0, 50, 30)
    f1 = int(np.sum(np.bincount(x) == 1))
    assert f1 / 30 > 0.2  # the premise, counted by hand
    with pytest.warns(kb.AccuracyWarning, match="Good-Turing"):
        kb.estimate_entropy(x)
    with pytest.warns(kb.AccuracyWarning, match="Good-Turing"):
        kb.estimate_kl(x, np.random.default_rng(1).integers(0, 50, 3000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kb.estimate_entropy(np.random.default_rng(2).integers(0, 3, 10_000))


def test_counts_entry_points_equal_the_sample_estimators():
    """kl_counts / js_counts on bin counts (bins empty in both samples included) give exactly what kl_plugin /
    js_plugin give on the samples those counts summarise, smoothed or not (kb.compare calls them on its bins)."""
    from kullback.estimation._plugin import js_counts, js_plugin, kl_counts, kl_plugin

    a = np.array([5, 0, 7, 3, 0, 9])
    b = np.array([4, 0, 2, 8, 1, 6])
    x, y = np.repeat(np.arange(6), a), np.repeat(np.arange(6), b)
    for smoothing in (None, "jeffreys", "perks"):
        for counts, samples in ((kl_counts, kl_plugin), (js_counts, js_plugin)):
            kw = {"smoothing": smoothing, "correction": smoothing is None}
            assert counts(a, b, **kw) == samples(x, y, **kw)
    with pytest.raises(ValueError, match="same values"):
        kl_counts(a, b[:-1])
