"""Profiles: exact counts on fixed edges, the same through every reader, merged exactly, saved and loaded."""

import json

import numpy as np
import pandas as pd
import pytest

import kullback as kb
from kullback.data import Profile
from kullback.data._read import DataError

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")
duckdb = pytest.importorskip("duckdb")


def _table(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "k": rng.integers(0, 4, size=n),
            "c": rng.choice(["a", "b", "c"], size=n),
            "b": rng.random(n) < 0.3,
            "t": pd.date_range("2024-01-01", periods=n, freq="h"),
        }
    )


def test_counts_on_quantile_edges_by_hand():
    """Edges are the reference's deciles (np.quantile, linear), bins [e_i, e_i+1) with the last closed."""
    x = np.arange(1.0, 101.0)
    p = kb.profile({"x": x})
    assert p["x"].edges == tuple(np.quantile(x, np.linspace(0, 1, 11)).tolist())
    assert p["x"].counts == (10,) * 10  # 1..10.9 -> 10 values each, 100 in the closed last bin
    assert p["x"].underflow == p["x"].overflow == 0


def test_few_distinct_values_get_a_bin_each():
    p = kb.profile({"k": [3, 1, 2, 2, 3, 3]})
    assert p["k"].edges == (1.0, 1.5, 2.5, 3.0)
    assert p["k"].counts == (1, 2, 3)


def test_out_of_range_missing_nan_and_inf_counted_apart():
    ref = kb.profile({"x": [0.0, 1.0, 2.0, 3.0]})
    cur = pl.DataFrame({"x": [-1.0, 0.5, 9.0, None, float("nan"), float("inf"), float("-inf"), 3.0]})
    p = kb.profile(cur, bins=ref)
    c = p["x"]
    assert (c.underflow, c.overflow, c.missing, c.nan, c.posinf, c.neginf) == (1, 1, 1, 1, 1, 1)
    assert sum(c.counts) == 2 and c.n == 8


def test_constant_column_has_one_closed_bin():
    c = kb.profile({"x": [5.0] * 10})["x"]
    assert c.edges == (5.0, 5.0) and c.counts == (10,)


@pytest.mark.parametrize("make", ["polars", "lazy", "arrow", "duckdb", "csv", "parquet_glob"])
def test_same_profile_through_every_reader(make, tmp_path):
    """pandas is the reference; every other constructor gives the identical profile (kinds, edges, counts)."""
    df = _table().drop(columns=["t"])
    want = kb.profile(df).to_dict()
    if make == "polars":
        data = pl.from_pandas(df)
    elif make == "lazy":
        data = pl.from_pandas(df).lazy()
    elif make == "arrow":
        data = pa.Table.from_pandas(df)
    elif make == "duckdb":
        con = duckdb.connect()
        con.register("df_view", df)
        data = con.sql("select * from df_view")
    elif make == "csv":
        data = str(tmp_path / "t.csv")
        df.to_csv(data, index=False)
    else:
        df.iloc[:150].to_parquet(tmp_path / "a.parquet")
        df.iloc[150:].to_parquet(tmp_path / "b.parquet")
        data = str(tmp_path / "*.parquet")
    got = kb.profile(data).to_dict()
    for g, w in zip(got["columns"], want["columns"], strict=True):
        for key in ("name", "kind", "n", "missing", "edges", "counts", "other"):
            assert g[key] == w[key], (make, g["name"], key)
        assert sorted(zip(g["labels"], g["counts"])) == sorted(zip(w["labels"], w["counts"])) or g["kind"] not in ("categorical",)


def test_chunks_merged_equal_the_whole():
    df = _table(1000)
    whole = kb.profile(df)
    parts = [kb.profile(df.iloc[i : i + 250], bins=whole) for i in range(0, 1000, 250)]
    merged = sum(parts)
    for k in whole:
        a, b = merged[k], whole[k]
        assert (a.n, a.missing, a.edges, a.counts, a.other) == (b.n, b.missing, b.edges, b.counts, b.other) or (
            a.kind in ("categorical", "boolean") and dict(zip(a.labels, a.counts)) == dict(zip(b.labels, b.counts))
        )


def test_merge_on_other_edges_refused():
    a = kb.profile({"x": [1.0, 2.0, 3.0]})
    b = kb.profile({"x": [1.0, 2.0, 4.0]})
    with pytest.raises(ValueError, match="different edges"):
        a + b


def test_merge_keeps_every_count_exact_when_a_part_lumped_values():
    """A value kept by one part but lumped into "other" by another goes to "other" in the merge."""
    a = kb.profile({"c": ["x"] * 3 + ["y"] * 2 + ["z"]}, max_categories=2)  # x 3, y 2, other 1 (z)
    b = kb.profile({"c": ["z"] * 5 + ["x"]}, max_categories=2)  # z 5, x 1
    m = (a + b)["c"]
    # z may hide in a's other: it joins "other"; y cannot hide in b (b lumped nothing): it stays exact
    assert dict(zip(m.labels, m.counts)) == {"x": 4, "y": 2}
    assert m.other == 6 and m.n == 12


def test_save_load_round_trip(tmp_path):
    p = kb.profile(_table())
    p.save(tmp_path / "p.json")
    q = Profile.load(tmp_path / "p.json")
    assert q.to_dict() == p.to_dict()
    assert json.loads((tmp_path / "p.json").read_text())["kullback_profile"] == 1


def test_load_refuses_a_future_version(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps({"kullback_profile": 99, "columns": []}))
    with pytest.raises(DataError, match="version"):
        Profile.load(tmp_path / "p.json")


def test_datetime_binned_in_nanoseconds():
    t = pd.date_range("2024-01-01", periods=100, freq="D")
    c = kb.profile({"t": t})["t"]
    assert c.kind == "datetime" and c.edges[0] == t[0].value and c.edges[-1] == t[-1].value
    assert sum(c.counts) == 100


def test_high_cardinality_bounded_other():
    c = kb.profile({"id": [f"u{i}" for i in range(50)] + ["u0"] * 10}, max_categories=5)["id"]
    assert c.labels[0] == "u0" and c.counts[0] == 11 and len(c.labels) == 5 and c.other == 45


def test_missing_column_named():
    with pytest.raises(KeyError, match="nope"):
        kb.profile({"x": [1.0]}, columns=["nope"])


def test_bad_bins_named():
    with pytest.raises(ValueError, match="`bins`"):
        kb.profile({"x": [1.0]}, bins=0)


@pytest.mark.parametrize("edges", [[1.0], [], [2.0, 1.0], [1.0, 1.0, 2.0], [float("nan"), 1.0], [None, 1.0], "ab"])
def test_given_edges_that_make_no_bins_are_refused_naming_the_column(edges):
    # one edge used to crash EdgeCounter with a UFuncTypeError; unsorted or repeated edges gave wrong counts
    with pytest.raises(ValueError, match="`bins` for column 'x'.*strictly increasing"):
        kb.profile({"x": [0.0, 1.0, 2.0]}, bins={"x": edges})


def test_given_edges_count_each_bin_closed_on_the_left_the_last_closed():
    assert kb.profile({"x": [0.0, 1.0, 2.0, 3.0]}, bins={"x": np.array([0.0, 1.0, 3.0])})["x"].counts == (1, 3)
    assert kb.profile({"x": [0.0, 1.0, 2.0]}, bins={"x": 3})["x"].counts == (1, 1, 1)


def test_corrupt_file_is_a_data_error(tmp_path):
    f = tmp_path / "bad.parquet"
    f.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="bad.parquet"):
        kb.profile(str(f))


def test_object_column_of_booleans_is_boolean():
    """pandas holds True/False with None in an object column; it compares with a Polars boolean column."""
    c = kb.profile(pd.DataFrame({"b": [True, None, False, True]}))["b"]
    assert c.kind == "boolean" and dict(zip(c.labels, c.counts)) == {True: 2, False: 1} and c.missing == 1
    r = kb.compare(pd.DataFrame({"b": [True, None, False, True] * 10}), pl.DataFrame({"b": [True, None, False, True] * 10}))
    assert r["b"].status == "ok" and r["b"].psi.details["plugin"] == 0


def test_parquet_read_one_column_at_a_time(tmp_path, monkeypatch):
    """Peak memory: a Parquet path is read column by column, never the whole table at once."""
    from kullback.data import _read

    _table().to_parquet(tmp_path / "t.parquet")
    seen = []
    real = _read._collect
    monkeypatch.setattr(_read, "_collect", lambda f, names, where: seen.append(list(names)) or real(f, names, where))
    text = _read._dictionary_counts  # text columns: their dictionary and indices, one column too
    monkeypatch.setattr(_read, "_dictionary_counts", lambda files, c, dtype: seen.append([c]) or text(files, c, dtype))
    p = kb.profile(str(tmp_path / "t.parquet"))
    assert seen == [[c] for c in p] and len(seen) == 5
