"""kb.rank: order, paired gaps from samples (interval of the mean per-point log-ratio), the table."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as st

import kullback as kb


def test_rank_from_samples_names_the_generating_family_with_a_paired_gap():
    rng = np.random.default_rng(7)
    x = rng.gamma(2.0, 1.5, size=1500)
    r = kb.rank(x, [st.norm, st.gamma, st.expon])
    assert [row["family"] for row in r.rows][0] == "gamma"
    best, norm = r.rows[0], next(row for row in r.rows if row["family"] == "norm")
    assert best["resolved"] is None and best["gap"] == 0
    assert norm["resolved"] is True and norm["gap_lo"] > 0
    # the gap is the difference of mean log-likelihoods plus the k/n difference (both have 3 and 2 parameters)
    lq_best = st.gamma(**r.fits[0].params).logpdf(x)
    lq_norm = st.norm(**norm["params"]).logpdf(x)
    t = lq_best - lq_norm
    assert norm["gap"] == pytest.approx(t.mean() + (2 - 3) / x.size, rel=1e-9)
    half = 1.959963984540054 * t.std(ddof=1) / math.sqrt(x.size)
    assert norm["gap_hi"] - norm["gap"] == pytest.approx(half, rel=1e-9)
    # paired: narrower than either divergence's own interval
    assert norm["gap_hi"] - norm["gap_lo"] < norm["kl_hi"] - norm["kl_lo"]


def test_rank_of_laws_is_exact_and_unfittable_families_go_last():
    r = kb.rank(st.binom(10, 0.4), [st.poisson, (st.binom, {"n": 10}), st.norm, st.geom])
    fams = [row["family"] for row in r.rows]
    assert fams[0] == "binom" and r.rows[0]["kl"] == pytest.approx(0.0, abs=1e-12)
    assert r.rows[1]["family"] == "poisson"
    assert r.rows[1]["kl_lo"] == r.rows[1]["kl_hi"] == r.rows[1]["kl"]
    norm = next(row for row in r.rows if row["family"] == "norm")
    assert norm["kl"] == math.inf and "mass function" in norm["reason"]
    assert set(fams[2:]) == {"norm", "geom"}


def test_table_repr_and_frame():
    pd = pytest.importorskip("pandas")
    r = kb.rank(st.binom(10, 0.4), [st.poisson, (st.binom, {"n": 10})])
    text = repr(r)
    assert text.splitlines()[0].startswith("Ranking (forward")
    assert "binom" in text.splitlines()[2] and "exact" in text
    df = r.to_frame()
    assert isinstance(df, pd.DataFrame)
    assert list(df["family"]) == ["binom", "poisson"]
    assert {"kl", "kl_lo", "kl_hi", "gap", "gap_lo", "gap_hi", "resolved"} <= set(df.columns)
    assert len(r) == 2 and r.best is r[0]


def test_families_must_be_a_list():
    with pytest.raises(TypeError, match="`families` must be a list"):
        kb.rank(st.norm(), st.norm)
    with pytest.raises(TypeError, match=r"\(family, fixed_dict\)"):
        kb.rank(st.norm(), [(st.binom, 10)])


def test_rank_searches_the_entropy_once_and_gives_fits_estimates_to_the_bit(monkeypatch):
    """The data's kNN entropy is common to every D(data||q_i): rank searches it once (it was once per family,
    ~95% of rank's time at n = 10^5), and each row's Estimate is still the one kb.fit gives, field for field."""
    from kullback.estimation import _knn_logq

    x = st.gamma(2.5, scale=1.5).rvs(size=2000, random_state=np.random.default_rng(3))
    families = [st.norm, st.gamma, st.lognorm, st.expon]
    calls = []
    search = _knn_logq._entropy_parts
    monkeypatch.setattr(_knn_logq, "_entropy_parts", lambda *a: calls.append(1) or search(*a))
    r = kb.rank(x, families)
    assert len(calls) == 1
    for f in r.fits:
        alone = kb.fit(x, f.family)
        assert f.kl == alone.kl and f.params == alone.params  # value, stderr, ci, details
    # the paired gap is from the same sample: it equals the difference of the two estimates (the entropy cancels)
    for row in r.rows[1:]:
        assert row["gap"] == pytest.approx(row["kl"] - r.rows[0]["kl"], rel=1e-12, abs=1e-15)


def test_rank_of_tied_samples_dequantises_once_as_fit_does():
    """Rounded data: the tie warning is raised once, and the dequantised entropy is fit's own (seed 0)."""
    from kullback.estimation import TieWarning

    x = np.round(st.norm(5, 2).rvs(size=600, random_state=np.random.default_rng(4)), 1)
    with pytest.warns(TieWarning) as caught:
        r = kb.rank(x, [st.norm, st.logistic])
    assert sum(issubclass(w.category, TieWarning) for w in caught) == 1
    with pytest.warns(TieWarning):
        alone = kb.fit(x, st.norm)
    assert next(f for f in r.fits if f.family == "norm").kl == alone.kl


def test_rank_refuses_a_target_that_is_not_one():
    """A bad target was once caught per family and ranked as inf for all of them."""
    with pytest.raises(TypeError, match="`target`"):
        kb.rank(np.array(["a", "b", "c"]), [st.norm, st.gamma])
    with pytest.raises(ValueError, match="non-finite"):
        kb.rank([1.0, np.nan, 2.0], [st.norm])
    with pytest.raises(ValueError, match="`base`"):
        kb.rank([1.0, 2.0, 3.0], [st.norm], base=-1)
