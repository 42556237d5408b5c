"""kb.compare: values against closed forms and kb.kl, the permutation test against the exact hypergeometric law,
the drift decision's false-alarm rate, and bad input reported per column."""

import json
import math

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import kullback as kb
from kullback.data import _stats

pl = pytest.importorskip("polars")


def _psi_mp(a, b):
    """PSI of two count vectors at 50 digits: sum (p - q) log(p / q)."""
    mp.mp.dps = 50
    n, m = sum(a), sum(b)
    return float(sum((mp.mpf(x) / n - mp.mpf(y) / m) * mp.log((mp.mpf(x) / n) / (mp.mpf(y) / m)) for x, y in zip(a, b)))


def test_psi_plugin_against_mpmath_and_kl_plus_reverse():
    ref = {"c": ["a"] * 50 + ["b"] * 30 + ["c"] * 20}
    cur = {"c": ["a"] * 20 + ["b"] * 30 + ["c"] * 50}
    r = kb.compare(ref, cur, smoothing="none")["c"]
    assert r.psi.details["plugin"] == pytest.approx(_psi_mp([20, 30, 50], [50, 30, 20]), rel=1e-13)
    p, q = np.array([0.2, 0.3, 0.5]), np.array([0.5, 0.3, 0.2])
    assert r.kl.details["plugin"] == pytest.approx(float(kb.kl(p, q)), rel=1e-13)  # D(current || reference)
    assert r.kl_reverse.details["plugin"] == pytest.approx(float(kb.kl(q, p)), rel=1e-13)
    assert r.js.details["plugin"] == pytest.approx(float(kb.js(p, q)), rel=1e-12)
    assert r.psi.value == pytest.approx(r.kl.value + r.kl_reverse.value, rel=1e-14)


def test_jeffreys_estimates_the_smoothed_divergence_and_says_so():
    ref = {"c": ["a"] * 50 + ["b"] * 50}
    cur = {"c": ["a"] * 98 + ["b"] * 2}
    r = kb.compare(ref, cur)["c"]
    p, q = np.array([98.5, 2.5]) / 101, np.array([50.5, 50.5]) / 101
    assert r.kl.value == pytest.approx(float(kb.kl(p, q)), rel=1e-13)
    assert "smoothed (jeffreys)" in r.kl.quantity and "D(current||reference)" in r.kl.quantity


def test_contributions_sum_to_the_plugin_values():
    rng = np.random.default_rng(3)
    ref, cur = {"x": rng.normal(size=500)}, {"x": rng.normal(0.4, 1.2, size=300)}
    for smoothing in ("jeffreys", "laplace", "perks"):
        r = kb.compare(ref, cur, smoothing=smoothing)["x"]
        for k in ("kl", "kl_reverse", "js", "psi"):
            assert float(np.sum(r.contributions[k])) == pytest.approx(r.estimates[k].details["plugin"], rel=1e-12), (smoothing, k)


def test_infinite_kl_names_the_bins_and_json_writes_null():
    ref = {"x": np.arange(100) % 5}  # five values: a bin each, a value beyond them has its own bin
    cur = {"x": np.r_[np.arange(95) % 5, [9] * 5]}
    c = kb.compare(ref, cur, smoothing="none")
    r = c["x"]
    assert math.isinf(r.kl.value) and math.isfinite(r.kl_reverse.value)
    assert "overflow (5 rows)" in r.kl.details["explanation"]
    d = json.loads(c.to_json())["columns"][0]
    assert d["kl"]["value"] is None and d["kl"]["infinite"] is True and d["kl_reverse"]["infinite"] is False


def test_outer_bins_do_not_make_false_alarms():
    """Regression: the reference's extremes fixed the outer edges, so under/overflow bins held current rows the
    reference could not have (ref count 0 by construction): p < 0.05 in 7% and p < 0.5 in 58% of 400 null pairs,
    and smoothing="none" gave inf in most.  Quantile layouts now count them in the outer bins."""
    rng = np.random.default_rng(7)
    ps, infinite = [], 0
    for i in range(300):
        r = kb.compare({"x": rng.normal(size=100)}, {"x": rng.normal(size=100)}, rng=i, smoothing="none")["x"]
        ps.append(r.p_value)
        infinite += math.isinf(r.kl.value)
    ps = np.asarray(ps)
    for level in (0.05, 0.2, 0.5):
        assert (ps < level).mean() <= level + 3 * math.sqrt(level * (1 - level) / ps.size), level
    assert infinite == 0


def test_base_two_gives_bits():
    ref, cur = {"c": ["a"] * 60 + ["b"] * 40}, {"c": ["a"] * 30 + ["b"] * 70}
    nats, bits = kb.compare(ref, cur)["c"], kb.compare(ref, cur, base=2)["c"]
    assert bits.js.value == pytest.approx(nats.js.value / math.log(2), rel=1e-14)
    assert bits.null_floor["psi"] == pytest.approx(nats.null_floor["psi"] / math.log(2), rel=1e-14)


def test_permutation_pvalue_against_the_exact_hypergeometric_law():
    """Two bins: the current count of bin 0 under permutation is Hypergeom(n + m, a + b, n); p = P(stat >= obs)."""
    cur, ref = np.array([30, 20]), np.array([18, 32])
    n, m = 50, 50
    stat = _stats.STATISTICS["psi"]
    K = 2

    def s(x):
        c, r = np.array([x, n - x]), np.array([48 - x, 52 - (n - x)])
        return float(stat((c + 0.5) / (n + 0.5 * K), (r + 0.5) / (m + 0.5 * K)))

    xs = np.arange(max(0, n - 52), min(n, 48) + 1)
    obs = s(30)
    exact = float(sum(stats.hypergeom(n + m, 48, n).pmf(x) for x in xs if s(x) >= obs - 1e-12 * obs))
    L = 40000
    p, drawn = _stats.permutation_pvalue(cur, ref, permutations=L, rng=1, stop_after=10**9)
    assert drawn == L
    assert abs(p - exact) < 4 * math.sqrt(exact * (1 - exact) / L) + 1 / L


def test_pvalue_never_below_one_over_permutations_plus_one():
    p, L = _stats.permutation_pvalue([1000, 0], [0, 1000], permutations=999, rng=0)
    assert p == 1 / 1000 and L == 999


def test_holm_by_hand():
    """Holm (1979): sorted p (0.01, 0.02, 0.04) -> 3 x 0.01, max(.03, 2 x .02), max(.04, .04)."""
    assert _stats.holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04], rel=1e-15)


def test_null_floor_is_the_mean_plugin_psi_of_one_law():
    """Under p = q the plug-in PSI has mean (K - 1)(1/n + 1/m) to first order (K = 10, n = m = 400)."""
    rng = np.random.default_rng(5)
    K, n, reps = 10, 400, 400
    vals = []
    for _ in range(reps):
        a, b = rng.multinomial(n, [0.1] * K), rng.multinomial(n, [0.1] * K)
        p, q = a / n, b / n
        vals.append(float(np.sum((p - q) * (np.log(p) - np.log(q)))))
    se = np.std(vals) / math.sqrt(reps)
    # first order: the O(n^-2) remainder is ~ K^2/n^2 ~ 6e-4 here
    assert abs(np.mean(vals) - _stats.null_floor("psi", K, n, n)) < 4 * se + 1e-3


def test_false_alarms_at_most_alpha_where_fixed_thresholds_fire():
    """One law, n = 100 per side, deciles: the plug-in PSI exceeds 0.1 in most pairs, our drift in none beyond alpha."""
    rng = np.random.default_rng(11)
    reps, drift, significant, over = 150, 0, 0, 0
    for i in range(reps):
        r = kb.compare({"x": rng.normal(size=100)}, {"x": rng.normal(size=100)}, rng=i, permutations=999)["x"]
        drift += r.drift
        significant += r.significant
        over += r.psi.details["plugin"] > 0.1
    bound = 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps)
    assert significant / reps <= bound and drift / reps <= bound
    assert over / reps > 0.5  # the rule of thumb on the raw plug-in alarms in most pairs of one law


def test_a_real_shift_is_drift():
    rng = np.random.default_rng(2)
    r = kb.compare({"x": rng.normal(size=3000)}, {"x": rng.normal(0.5, size=3000)})["x"]
    assert r.drift and r.significant and r.material and r.psi.ci[0] > 0.1


def test_bad_columns_reported_with_reasons_and_the_others_kept():
    ref = pd.DataFrame(
        {
            "good": np.arange(100.0),
            "only_ref": np.arange(100.0),
            "typed": np.arange(100.0),
            "nulls": [None] * 100,
            "const": [1.0] * 100,
            "naninf": np.r_[np.arange(98.0), np.nan, np.inf],
        }
    )
    cur = pd.DataFrame(
        {
            "good": np.arange(100.0),
            "only_cur": np.arange(100.0),
            "typed": [str(i) for i in range(99)] + ["x"],
            "nulls": [None] * 100,
            "const": [1.0] * 100,
            "naninf": np.r_[np.arange(97.0), np.nan, np.inf, -np.inf],
        }
    )
    c = kb.compare(ref, cur)
    assert c["good"].status == "ok" and c["good"].psi.value < 0.01
    assert "missing in the current" in c["only_ref"].reason and "missing in the reference" in c["only_cur"].reason
    assert "type mismatch" in c["typed"].reason and "'x'" in c["typed"].reason
    assert "missing on both sides" in c["nulls"].reason
    assert c["const"].status == "ok" and c["const"].psi.details["plugin"] == 0
    assert any("constant" in n for n in c["const"].notes)
    assert c["naninf"].status == "ok" and any("-inf" in n for n in c["naninf"].notes)
    assert len(c.to_frame()) == 7


def test_empty_table_reported_not_raised():
    c = kb.compare({"x": [1.0, 2.0, 3.0]}, pd.DataFrame({"x": pd.Series([], dtype=float)}))
    assert c["x"].status == "error" and "0 row" in c["x"].reason


def test_all_missing_in_current_is_drift_of_the_missing_bin():
    ref = {"x": np.arange(200.0)}
    cur = pl.DataFrame({"x": pl.Series([None] * 200, dtype=pl.Float64)})
    r = kb.compare(ref, cur)["x"]
    assert r.status == "ok" and r.counts_current[-1] == 200 and r.drift


def test_comparison_to_frame_and_repr():
    c = kb.compare({"a": [0, 1] * 50}, {"a": [0, 1] * 50})
    f = c.to_frame()
    for k in ("column", "kind", "n_reference", "n_current", "kl", "kl_reverse", "js", "psi", "psi_lo", "null_floor", "p_value", "drift"):
        assert k in f.columns
    assert "0 of 1 column(s) drifted" in repr(c)


@pytest.mark.parametrize(
    ("kw", "match"),
    [({"smoothing": "add-one"}, "`smoothing`"), ({"metric": "kld"}, "`metric`"), ({"alpha": 1.5}, "`alpha`"), ({"base": 1}, "`base`")],
)
def test_bad_options_named(kw, match):
    with pytest.raises(ValueError, match=match):
        kb.compare({"a": [1.0, 2.0]}, {"a": [1.0, 2.0]}, **kw)


def test_reference_may_be_a_saved_profile(tmp_path):
    rng = np.random.default_rng(4)
    ref, cur = {"x": rng.normal(size=500)}, {"x": rng.normal(size=400)}
    kb.profile(ref).save(tmp_path / "r.json")
    a = kb.compare(kb.Profile.load(tmp_path / "r.json"), cur)
    b = kb.compare(ref, cur)
    assert a.to_dict() == b.to_dict()


def test_notebook_html_repr_is_the_summary_table():
    c = kb.compare({"a": [0, 1] * 50}, {"a": [0, 1] * 50})
    html = c._repr_html_()
    assert html.startswith("<table id=summary>") and "<a href='#col-a'>a</a>" in html


@pytest.mark.parametrize("make", ["polars_lazy", "arrow", "duckdb"])
def test_same_comparison_whatever_holds_the_current_table(make):
    """pandas against pandas is the reference; the current table in another library gives the same result."""
    duckdb = pytest.importorskip("duckdb")
    pa = pytest.importorskip("pyarrow")
    rng = np.random.default_rng(8)
    ref = pd.DataFrame({"x": rng.normal(size=600), "c": rng.choice(list("abcd"), 600)})
    cur = pd.DataFrame({"x": rng.normal(0.3, size=500), "c": rng.choice(list("abce"), 500)})
    want = kb.compare(ref, cur).to_dict()
    if make == "polars_lazy":
        other = pl.from_pandas(cur).lazy()
    elif make == "arrow":
        other = pa.Table.from_pandas(cur)
    else:
        con = duckdb.connect()
        con.register("cur_view", cur)
        other = con.sql("select * from cur_view")
    got = kb.compare(ref, other).to_dict()
    for g, w in zip(got["columns"], want["columns"], strict=True):
        for k in ("n_current", "missing_current", "p_value", "drift"):
            assert g[k] == w[k], (make, g["column"], k)
        assert g["psi"]["value"] == pytest.approx(w["psi"]["value"], rel=1e-12)
        assert sorted((b["bin"], b["current"]) for b in g["bins"]) == sorted((b["bin"], b["current"]) for b in w["bins"])


def test_identifier_like_column_noted():
    ids = [f"id{i}" for i in range(3000)]
    c = kb.compare({"u": ids}, {"u": ids[::-1]}, max_categories=100)
    assert any("identifier" in n for n in c["u"].notes)


def test_named_column_missing_from_the_reference_is_reported_not_raised():
    c = kb.compare({"a": [1.0, 2.0, 3.0]}, {"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0]}, columns=["a", "b"])
    assert c["a"].status == "ok" and "missing in the reference" in c["b"].reason
