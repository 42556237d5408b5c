"""The helpers of benchmarks/bench_compare.py and benchmarks/drift_study.py (issue 27), without the peers.

The drift study draws kullback's input at large n from counts instead of samples; these tests check that the
draw is exact where it can be (the reference's counts equal kb.profile's on real samples) and right in
distribution where it is random (uniform order statistics against their closed-form moments)."""

from __future__ import annotations

import importlib.util
import math
import os

import numpy as np
import pytest

import kullback as kb

pytest.importorskip("pyarrow")
pytest.importorskip("polars")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "benchmarks", f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


study = _load("drift_study")
bench = _load("bench_compare")


# ---------------------------------------------------------------- drift_study: the exact draw from counts


@pytest.mark.parametrize("n", [50, 100, 101, 999, 1000, 12345, 100_001])
def test_decile_edges_are_those_of_kb_profile(n):
    """Given a sample's order statistics, the study's edges and counts are kb.profile's, to the bit.  n = 100001
    has a decile at position 20000.000000000004, where the rounding of the interpolation decides the count (a
    first version of this test, which took the counts to depend on n alone, failed there)."""
    x = np.random.default_rng(n).normal(size=n)
    edges, counts = study.decile_edges(n, lambda idx: np.sort(x)[idx])
    real = kb.profile({"x": x})["x"]
    assert real.layout == "quantile"
    assert tuple(edges.tolist()) == real.edges
    assert tuple(counts.tolist()) == real.counts


@pytest.mark.parametrize("n", [100, 12345])
def test_simulated_reference_counts_add_up(n):
    edges, counts = study.reference_edges(n, np.random.default_rng(n))
    assert counts.sum() == n and np.all(np.diff(edges) > 0)
    assert np.all(np.abs(counts - n / 10) <= 1)  # deciles of n continuous values: n/10 each, give or take one


def test_uniform_order_statistics_have_their_closed_form_moments():
    """U_(i) of n uniforms is Beta(i, n + 1 - i) (1-based i): mean i/(n+1), variance p(1-p)/(n+2) (David &
    Nagaraja 2003, Sec. 2.5).  2000 seeded draws; the mean within 4 standard errors, the variance within 4 of
    its standard error (that of a sample variance of a near-normal variable, sqrt(2/(R-1)) var)."""
    n, R = 1000, 2000
    idx = np.array([0, 1, 99, 100, 499, 500, 998, 999])
    rng = np.random.default_rng(0)
    draws = np.array([study.uniform_order_statistics(n, idx, rng)[0] for _ in range(R)])
    p = (idx + 1) / (n + 1)
    var = p * (1 - p) / (n + 2)
    assert np.all(np.abs(draws.mean(0) - p) < 4 * np.sqrt(var / R))
    rel = draws.var(0, ddof=1) / var - 1
    assert np.all(np.abs(rel) < 4 * math.sqrt(2 / (R - 1)) + 0.15 * (idx == 0) + 0.15 * (idx == n - 1))


def test_upper_tail_keeps_its_precision():
    """1 - U is computed from the gamma sums, not by subtracting U from 1: at n = 10^8 the largest order
    statistic's 1 - U is about 1e-8 and keeps its relative precision (the normal quantile of the top edge
    is finite and above 5)."""
    rng = np.random.default_rng(1)
    edges, counts = study.reference_edges(10**8, rng)
    assert np.all(np.isfinite(edges)) and np.all(np.diff(edges) > 0)
    assert 5 < edges[-1] < 7 and -7 < edges[0] < -5
    assert counts.sum() == 10**8


def test_simulated_profiles_compare_like_samples():
    """The simulated profiles are the ones kb.compare takes; a 0.5-sd shift at n = 10^6 is significant and
    material, and the current counts add up to m with under/overflow in their own fields."""
    ref, cur = study.simulate_profiles(10**6, 2 * 10**6, 0.5, np.random.default_rng(2))
    c = cur["x"]
    assert sum(c.counts) + c.underflow + c.overflow == 2 * 10**6
    assert ref["x"].edges == c.edges
    r = kb.compare(ref, cur)["x"]
    assert r.significant and r.drift
    assert r.psi.value == pytest.approx(0.25, abs=0.02)  # PSI of N(0,1) vs N(0.5,1) on deciles: about 0.24


def test_psi_deciles_by_hand():
    """(p - q) ln(p/q) summed, the empty bin's share set to 1e-4: two bins by hand."""
    got = study.psi_deciles([50, 50], [100, 0])
    want = (1 - 0.5) * math.log(1 / 0.5) + (1e-4 - 0.5) * math.log(1e-4 / 0.5)
    assert got == pytest.approx(want, rel=1e-12)


def test_rate_interval_is_clopper_pearson():
    """0 of 200: the exact upper end is 1 - 0.025^(1/200) = 0.0183."""
    assert study.rate(0, 200) == "0.000 [0.000, 0.018]"


# ---------------------------------------------------------------- bench_compare


def test_parse_methods_keeps_table_order_and_refuses_unknown_rows():
    assert bench.parse_methods("kullback, floor", "narrow") == ["floor", "kullback"]
    assert "nannyml" in bench.parse_methods(None, "wide")
    assert "evidently-kl" not in bench.parse_methods(None, "wide")
    with pytest.raises(SystemExit, match="evidently-kld"):
        bench.parse_methods("floor,evidently-kld", "narrow")


def test_table_marks_rows_that_did_not_finish():
    ok = {"s": 2.0, "cpu_s": 1.5, "import_s": 0.5, "maxrss_mb": 100.0, "flagged": "1 drift"}
    rows = [("polars read (floor)", {**ok, "s": 0.5}), ("kullback compare", ok), ("Evidently", {"error": "stopped after 60 s"})]
    text = bench.table(rows, rows=1000, columns=1000, wide=False, repeat=1, timeout=60)
    assert "| kullback compare | 2.00 | 4.0 | 1.50 | 0.5 | 100 | 1 drift |" in text
    assert "| Evidently | stopped after 60 s |" in text


def test_a_row_whose_library_is_missing_says_so(monkeypatch):
    monkeypatch.setitem(bench.IMPORTS, "evidently", ["pandas", "no_such_module_kb27.sub"])
    d = bench.run_row("evidently", "ref.parquet", "cur.parquet", repeat=1, timeout=5)
    assert d == {"error": "not installed: no_such_module_kb27 (see benchmarks/requirements-peers.txt)"}


def test_rows_without_peers_run_on_small_files(tmp_path):
    """The data makers and the rows that need no peer, end to end on 2000 rows: the shifted columns are found."""
    ref, cur = str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet")
    bench.make(ref, 2000, 0.0, 1)
    bench.make(cur, 2000, 0.3, 2)
    assert bench.kinds(ref) == (bench.NARROW_NUMERIC, bench.NARROW_CATEGORICAL)
    assert bench.floor(ref, cur) == ""
    assert bench.kullback(ref, cur).endswith("significant")
    assert bench.pandas_scipy(ref, cur).endswith("PSI > 0.1")
    wref, wcur = str(tmp_path / "wref.parquet"), str(tmp_path / "wcur.parquet")
    bench.make_wide(wref, 1500, 0.0, 1, 30)
    bench.make_wide(wcur, 1500, 2.0, 2, 30)
    c = kb.compare(wref, wcur)
    assert sorted(c.drifted) == sorted(f"x{i}" for i in range(bench.WIDE_SHIFTED))
