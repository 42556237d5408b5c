"""Lazy inputs (Polars LazyFrames, CSV paths and globs, DuckDB relations) are read by their backend, never whole:
the same Profile and Comparison, to the bit, as the pandas input holding the same data.

The reference for every backend is the pandas frame of the same Arrow table (``types_mapper=pd.ArrowDtype``:
pandas' Arrow dtypes keep NaN apart from missing, as Polars, Arrow and DuckDB do), read by the eager path.
Counts on fixed edges are checked against ``np.searchsorted`` on the NumPy values (bins [e_i, e_i+1), the
last closed), an independent count.
"""

import csv
import math

import narwhals as nw
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import kullback as kb
from kullback.data import _lazy, _read
from kullback.data._read import DataError

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
duckdb = pytest.importorskip("duckdb")

N = 3000
MAX_CAT = 20  # "many" has 60 labels: the 20 most frequent kept, the rest in "other"


def _table(seed, shift=0.0, n=N, dates=True):
    """Numeric with NaN/inf/nulls, atoms (integers), few values, booleans, strings with nulls, many labels."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    x[::97], x[5::211], x[7::307] = np.nan, np.inf, -np.inf
    mask = np.zeros(n, bool)
    mask[3::13] = True
    s = rng.choice(["alpha", "beta", "gamma, delta", 'say "hi"'], n).astype(object)
    s[::17] = None
    cols = {
        "x": pa.array(x, mask=mask),
        "ints": pa.array(rng.poisson(3 + shift, n), mask=mask[::-1].copy()),
        "few": pa.array(rng.integers(0, 4, n).astype(np.float64)),
        "b": pa.array(rng.random(n) < 0.3 + shift / 10, mask=np.roll(mask, 1)),
        "s": pa.array(s),
        "many": pa.array([f"k{i}" for i in rng.integers(0, 60, n)]),
    }
    if dates:
        t = np.datetime64("2020-01-01") + rng.integers(0, 10**8, n).astype("timedelta64[s]")
        cols["d"] = pa.array(t.astype("datetime64[us]"), mask=np.roll(mask, 2))
    return pa.table(cols)


def _write_csv(table, path):
    """Floats as their repr (round-trips), NaN/inf as Polars reads them, missing as an empty field."""

    def cell(v):
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return "NaN" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
        return v

    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(table.column_names)
        for row in zip(*(c.to_pylist() for c in table.columns), strict=True):
            w.writerow([cell(v) for v in row])


def _pandas(table):
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _halves(table, tmp_path, stem, suffix):
    k = table.num_rows // 2
    for i, part in enumerate((table.slice(0, k), table.slice(k))):
        if suffix == "csv":
            _write_csv(part, tmp_path / f"{stem}_{i}.csv")
        else:
            pq.write_table(part, tmp_path / f"{stem}_{i}.parquet", row_group_size=400)
    return str(tmp_path / f"{stem}_*.{suffix}")


def _inputs(kind, table, tmp_path, stem):
    if kind == "pandas":
        return _pandas(table)
    if kind == "pyarrow":
        return table
    if kind == "polars":
        return pl.from_arrow(table)
    if kind == "polars-lazy":
        return pl.from_arrow(table).lazy()
    if kind == "duckdb":
        return duckdb.connect().from_arrow(table)
    if kind == "csv":
        _write_csv(table, tmp_path / f"{stem}.csv")
        return str(tmp_path / f"{stem}.csv")
    return _halves(table, tmp_path, stem, kind.split("-")[1])


BACKENDS = ["pandas", "pyarrow", "polars", "polars-lazy", "duckdb", "csv", "glob-csv", "glob-parquet"]


@pytest.fixture(autouse=True)
def _long(monkeypatch):
    """Every table here counts as long (read by the backend, column by column), unless a test says otherwise."""
    monkeypatch.setattr(_lazy, "WHOLE_VALUES", 0)


LAZY = ["polars-lazy", "duckdb", "csv", "glob-csv"]  # lazy inputs: long (by column) or short (a few columns per scan)
CASES = [(k, 0) for k in BACKENDS] + [(k, w) for k in LAZY for w in (2 * N, 1 << 23)]


@pytest.mark.parametrize(("kind", "whole_values"), CASES, ids=[f"{k}-{w}" for k, w in CASES])
def test_backends_give_the_profile_and_comparison_of_pandas(kind, whole_values, tmp_path, monkeypatch):
    """Long lazy tables (read by the backend), short ones (a few columns per scan) and in-memory ones: the
    same numbers as pandas."""
    monkeypatch.setattr(_lazy, "WHOLE_VALUES", whole_values)
    dates = "csv" not in kind  # a CSV holds datetimes as text
    ref_t, cur_t = _table(1, dates=dates), _table(2, shift=0.3, dates=dates)
    want_p = kb.profile(_pandas(ref_t), max_categories=MAX_CAT)
    want_c = kb.compare(_pandas(ref_t), _pandas(cur_t), max_categories=MAX_CAT, permutations=999)
    ref, cur = _inputs(kind, ref_t, tmp_path, "ref"), _inputs(kind, cur_t, tmp_path, "cur")
    got_p = kb.profile(ref, max_categories=MAX_CAT)
    assert got_p.to_dict() == want_p.to_dict()
    assert got_p["many"].other > 0 and got_p["x"].nan > 0 and got_p["x"].posinf > 0 and got_p["x"].missing > 0
    assert (
        kb.profile(cur, bins=want_p, max_categories=MAX_CAT).to_dict()
        == kb.profile(_pandas(cur_t), bins=want_p, max_categories=MAX_CAT).to_dict()
    )
    got_c = kb.compare(ref, cur, max_categories=MAX_CAT, permutations=999)
    assert got_c.to_json() == want_c.to_json()


@pytest.mark.parametrize("kind", ["polars-lazy", "duckdb", "csv"])
def test_lazy_inputs_take_the_backend_path(kind, tmp_path):
    """The hook is taken: numeric and datetime columns stream (LazyBatches), categoricals come counted."""
    cols, _ = _read.read_columns(_inputs(kind, _table(3), tmp_path, "t"))
    cols = {c.name: c for c in cols}
    assert type(cols["x"].values).__name__ == "LazyBatches" and type(cols["ints"].values).__name__ == "LazyBatches"
    labels, counts = cols["s"].values
    assert counts.sum() == cols["s"].n - cols["s"].missing and len(labels) == 4


def _spy_no_whole_collect(monkeypatch, batch_rows):
    """Fail on narwhals' collect (the eager path) and on any Polars collect of more rows than a batch or a
    group-by result; record the batches' sizes."""
    monkeypatch.setattr(_lazy, "BATCH_ROWS", batch_rows)

    def refuse(self, *a, **k):
        raise AssertionError("the lazy frame was collected whole")

    monkeypatch.setattr(nw.LazyFrame, "collect", refuse)
    real = pl.LazyFrame.collect
    heights = []

    def spy(self, *a, **k):
        out = real(self, *a, **k)
        heights.append(out.height)
        return out

    monkeypatch.setattr(pl.LazyFrame, "collect", spy)
    sizes = []
    canonical = _lazy._canonical

    def record(s, kind):
        sizes.append(len(s))
        return canonical(s, kind)

    monkeypatch.setattr(_lazy, "_canonical", record)
    return heights, sizes


@pytest.mark.parametrize("kind", ["polars-lazy", "duckdb", "csv"])
def test_lazy_input_is_never_collected_whole(kind, tmp_path, monkeypatch):
    table = _table(4, dates=kind != "csv")
    want = kb.profile(_pandas(table), max_categories=MAX_CAT)
    data = _inputs(kind, table, tmp_path, "t")
    heights, sizes = _spy_no_whole_collect(monkeypatch, 256)
    got = kb.profile(data, max_categories=MAX_CAT)
    assert got.to_dict() == want.to_dict()
    assert sizes and max(sizes) <= 256  # numeric columns came in batches of at most BATCH_ROWS rows
    assert sum(sizes) > 2 * N  # every numeric column passed at least once
    assert max(heights, default=0) <= 60  # Polars collected only aggregates and group-by results


@pytest.mark.parametrize("kind", ["polars-lazy", "duckdb"])
def test_counts_on_fixed_edges_are_one_backend_query(kind, tmp_path, monkeypatch):
    """With fixed edges no batch comes into Python: the backend counts, with EdgeCounter's conventions
    (values on an edge, next to it, -0.0, NaN, +-inf, under/overflow, nulls, integers)."""
    edges = [-1.0, 0.0, 0.1 + 0.2, 1.0, 2.0]
    specials = [-1.0, np.nextafter(-1.0, -2), np.nextafter(-1.0, 0), -0.0, 0.0, 0.3, 0.1 + 0.2, np.nextafter(0.30000000000000004, 1),
                1.0, 2.0, np.nextafter(2.0, 3), np.nextafter(2.0, 0), np.nan, np.inf, -np.inf, 1e308, -1e308]  # fmt: skip
    rng = np.random.default_rng(5)
    x = np.concatenate([specials, rng.normal(0.5, 1, 500).round(1)])
    k = np.concatenate([[-1, 0, 1, 2, 3, -2], rng.integers(-3, 4, x.size - 6)]).astype(np.int64)
    with np.errstate(over="ignore"):
        f32 = x.astype(np.float32)  # 1e308 becomes inf
    table = pa.table({"x": pa.array(x, mask=np.arange(x.size) % 7 == 3), "k": k, "f32": f32})
    data = _inputs(kind, table, tmp_path, "t")
    heights, sizes = _spy_no_whole_collect(monkeypatch, 64)
    got = kb.profile(data, bins={c: edges for c in ("x", "k", "f32")})
    assert not sizes  # nothing streamed: counted by the backend
    for name, values in (("x", np.where(np.arange(x.size) % 7 == 3, np.nan, x)[np.arange(x.size) % 7 != 3]), ("k", k), ("f32", f32)):
        v = np.asarray(values, dtype=np.float64)
        fin = v[np.isfinite(v)]
        e = np.asarray(edges)
        idx = np.searchsorted(e, fin, side="right")  # the bin of each value: [e_i, e_i+1)
        idx[fin == e[-1]] = e.size - 1  # the last bin is closed
        c = got[name]
        assert c.counts == tuple(int((idx == i).sum()) for i in range(1, e.size))
        assert (c.underflow, c.overflow) == (int((fin < e[0]).sum()), int((fin > e[-1]).sum()))
        assert (c.nan, c.posinf, c.neginf) == (int(np.isnan(v).sum()), int((v == np.inf).sum()), int((v == -np.inf).sum()))
    assert got["x"].missing == int((np.arange(x.size) % 7 == 3).sum())
    assert got["x"].counts[2] >= 3  # 0.1 + 0.2 itself opens [0.3..., 1)


def _eager(monkeypatch, fn):
    """``fn()`` through the eager read (the table collected whole), as before the lazy path existed."""
    with monkeypatch.context() as m:
        m.setattr(_lazy, "lazy_columns", lambda *a: None)
        return fn()


def test_duckdb_types_counted_on_batches_where_its_cast_differs(monkeypatch):
    """DECIMAL and HUGEINT are cast by DuckDB its own way: counted on the batches the eager read converts."""
    con = duckdb.connect()
    rel = con.sql("SELECT (i / 7)::DECIMAL(18, 6) AS dec, (i * 1000003)::HUGEINT AS big, i::DOUBLE AS dbl FROM range(2000) t(i)")
    want = _eager(monkeypatch, lambda: kb.profile(rel, bins=4))
    assert kb.profile(rel, bins=4).to_dict() == want.to_dict()
    edges = {c: want[c].edges for c in want}
    assert kb.profile(rel, bins=edges).to_dict() == _eager(monkeypatch, lambda: kb.profile(rel, bins=edges)).to_dict()


def test_polars_categorical_enum_and_dates_lazy():
    """Categorical and Enum labels, dates and time-zoned datetimes: as the eager Polars read gives them."""
    rng = np.random.default_rng(6)
    n = 1000
    labels = rng.choice(["lo", "mid", "hi"], n).tolist()
    stamps = (np.datetime64("2021-03-01") + rng.integers(0, 10**9, n).astype("timedelta64[s]")).astype("datetime64[us]")
    df = pl.DataFrame(
        {
            "cat": pl.Series(labels, dtype=pl.Categorical),
            "enum": pl.Series(labels, dtype=pl.Enum(["lo", "mid", "hi"])),
            "date": pl.date_range(pl.date(2020, 1, 1), pl.date(2022, 9, 26), eager=True).head(n),
            "tz": pl.Series(stamps).dt.replace_time_zone("Europe/Paris"),
        }
    )
    want = kb.profile(df)
    assert kb.profile(df.lazy()).to_dict() == want.to_dict()
    assert kb.compare(df.lazy(), df.lazy().reverse()).to_json() == kb.compare(df, df.reverse()).to_json()


def test_duckdb_label_order_is_canonical_with_many_threads():
    """Ties in the value counts are ordered by label, (-count, label), whatever order DuckDB's 4 threads return them in."""
    con = duckdb.connect()
    con.execute("SET threads = 4")
    rng = np.random.default_rng(7)
    s = np.array([f"v{i}" for i in rng.integers(0, 3000, 40_000)])
    table = pa.Table.from_batches(pa.table({"s": s}).to_batches(max_chunksize=1000))
    got = kb.profile(con.from_arrow(table), max_categories=5000)
    want = kb.profile(table, max_categories=5000)
    assert got.to_dict() == want.to_dict()
    u, c = np.unique(s, return_counts=True)
    count = dict(zip(u.tolist(), c.tolist(), strict=True))
    assert list(got["s"].labels) == sorted(count, key=lambda v: (-count[v], v))
    assert list(got["s"].counts) == sorted(c.tolist(), reverse=True)


def test_corrupt_csv_is_a_data_error_naming_the_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,4,5,6\n" + "7,8\n" * 10)
    with pytest.raises(DataError, match="bad.csv"):
        kb.profile(str(bad))


def test_error_while_streaming_is_a_data_error(tmp_path):
    """A failure in the middle of a scan (here a cast the backend refuses) is reported as a DataError."""
    lf = pl.LazyFrame({"x": ["1.5", "2.5", "oops"]}).select(pl.col("x").cast(pl.Float64, strict=True))
    with pytest.raises(DataError, match="cannot read"):
        kb.profile(lf)


def test_missing_column_stays_per_column_with_lazy_inputs(tmp_path):
    """A column one lazy side lacks is reported for that column; the others are compared."""
    ref = _table(8, dates=False)
    cur = ref.drop_columns(["ints"])
    for r, c in ((pl.from_arrow(ref).lazy(), pl.from_arrow(cur).lazy()), (duckdb.from_arrow(ref), duckdb.from_arrow(cur))):
        out = kb.compare(r, c, permutations=99)
        assert out["ints"].status == "error" and out["x"].status == "ok" and out["s"].status == "ok"


def test_polars_without_collect_batches_reads_one_column_at_a_time(monkeypatch):
    """Polars < 1.34 has no ``collect_batches``: one column collected (never the table), handed over in slices."""
    table = _table(9)
    want = kb.profile(_pandas(table), max_categories=MAX_CAT)
    monkeypatch.delattr(pl.LazyFrame, "collect_batches")
    monkeypatch.setattr(_lazy, "BATCH_ROWS", 500)
    sizes = []
    canonical = _lazy._canonical
    monkeypatch.setattr(_lazy, "_canonical", lambda s, kind: sizes.append(len(s)) or canonical(s, kind))
    assert kb.profile(pl.from_arrow(table).lazy(), max_categories=MAX_CAT).to_dict() == want.to_dict()
    assert max(sizes) == 500


@pytest.mark.parametrize("kind", ["polars-lazy", "duckdb"])
def test_column_names_that_sql_or_our_queries_use(kind, tmp_path):
    """Names like the aliases of a query (n, f, r, v), with quotes, spaces or SQL keywords, are read as any other."""
    rng = np.random.default_rng(10)
    names = ["n", "f", "r", "v", 'say "hi"', "from", "a b"]
    table = pa.table({c: rng.normal(size=200) if i % 2 else rng.choice(["p", "q"], 200) for i, c in enumerate(names)})
    want = kb.profile(_pandas(table))
    got = kb.profile(_inputs(kind, table, tmp_path, "t"))
    assert got.to_dict() == want.to_dict()
    assert kb.profile(_inputs(kind, table, tmp_path, "t"), bins=want).to_dict() == want.to_dict()


@pytest.mark.parametrize("kind", ["polars-lazy", "duckdb"])
def test_datetimes_counted_on_fixed_edges_by_the_backend(kind, tmp_path, monkeypatch):
    """Datetimes of every unit, dates and time-zoned instants counted by the backend (epoch ns) as the eager
    read counts them, values on the edges included; nothing streamed."""
    rng = np.random.default_rng(11)
    n = 1500
    sec = np.datetime64("2019-06-01") + rng.integers(0, 40, n).astype("timedelta64[D]").astype("timedelta64[s]")
    sec = sec + rng.integers(0, 3, n).astype("timedelta64[h]")  # many ties: values fall on the edges
    mask = np.arange(n) % 9 == 4
    table = pa.table(
        {
            "us": pa.array(sec.astype("datetime64[us]"), mask=mask),
            "ns": pa.array(sec.astype("datetime64[ns]")),
            "s": pa.array(sec),
            "date": pa.array(sec.astype("datetime64[D]")).cast(pa.date32()),
            "tz": pa.array(sec.astype("datetime64[us]")).cast(pa.timestamp("us", tz="UTC")),
        }
    )
    ref = _eager(monkeypatch, lambda: kb.profile(_inputs(kind, table.slice(0, 700), tmp_path, "r"), bins=6))
    cur = table.slice(700)
    want = _eager(monkeypatch, lambda: kb.profile(_inputs(kind, cur, tmp_path, "c"), bins=ref))
    _, sizes = _spy_no_whole_collect(monkeypatch, 64)
    got = kb.profile(_inputs(kind, cur, tmp_path, "c"), bins=ref)
    assert not sizes
    assert got.to_dict() == want.to_dict()
    assert sum(got["us"].counts) + got["us"].underflow + got["us"].overflow == n - 700 - got["us"].missing


@pytest.mark.parametrize("kind", ["polars-lazy", "duckdb"])
def test_empty_and_all_missing_columns_as_the_eager_read(kind, tmp_path, monkeypatch):
    """An empty table and columns whose every value is missing give what the eager read gives."""
    empty = pa.table({"x": pa.array([], pa.float64()), "s": pa.array([], pa.string()), "d": pa.array([], pa.timestamp("us"))})
    nulls = pa.table({"x": pa.array([None] * 5, pa.float64()), "s": pa.array([None] * 5, pa.string()), "y": pa.array([1.0] * 5)})
    for table in (empty, nulls):
        want = _eager(monkeypatch, lambda t=table: kb.profile(_inputs(kind, t, tmp_path, "t")))
        assert kb.profile(_inputs(kind, table, tmp_path, "t")).to_dict() == want.to_dict()
    assert want["x"].kind == "null" and want["y"].counts == (5,)


_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 1.7976931348623157e308, -1.7976931348623157e308, 0.1, 0.3]),
)


@pytest.mark.fuzz
@settings(max_examples=40, deadline=None)
@given(
    st.lists(_floats, min_size=0, max_size=60),
    st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=2, max_size=6),
    st.data(),
)
def test_pushed_down_counts_match_the_edge_counter_anywhere(values, edges, data):
    """Any float64 values (NaN, +-inf, -0.0, subnormals, the largest doubles), edges anywhere, some taken from
    the values themselves: the backend's counts equal EdgeCounter's over the NumPy array, in Polars and DuckDB."""
    from kullback.data._exact import EdgeCounter

    x = np.asarray(values, dtype=np.float64)
    finite = [v for v in values if math.isfinite(v)]
    if finite:
        edges = edges + data.draw(st.lists(st.sampled_from(finite), max_size=3))
    e = np.unique(np.asarray(edges, dtype=np.float64))
    assume(e.size >= 2)  # a profile's edges are two at least (a constant column repeats its value)
    counter = EdgeCounter(e, "numeric")
    counter.add(x)
    want = counter.result()
    table = pa.table({"x": pa.array(x, type=pa.float64())})
    for scan in (_lazy._PolarsScan(pl.from_arrow(table).lazy(), "t"), _lazy._DuckScan(duckdb.connect().from_arrow(table), "t")):
        got = _lazy.LazyBatches(scan, "x", "numeric", True, "t").count_on(e)
        assert got == want, type(scan).__name__


@pytest.mark.parametrize("kind", ["polars-lazy", "duckdb", "csv"])
def test_short_table_is_read_a_few_columns_per_scan(kind, tmp_path, monkeypatch):
    """A table of at most WHOLE_VALUES values per scan: each scan reads that many columns, never more."""
    import narwhals as nw

    table = _table(12, dates=kind != "csv")
    want = kb.profile(_pandas(table), max_categories=MAX_CAT)
    data = _inputs(kind, table, tmp_path, "t")
    monkeypatch.setattr(_lazy, "WHOLE_VALUES", 2 * N)
    widths = []
    select = nw.LazyFrame.select

    def spy(self, *names, **k):
        widths.append(len(names[0]) if len(names) == 1 and isinstance(names[0], list) else len(names))
        return select(self, *names, **k)

    monkeypatch.setattr(nw.LazyFrame, "select", spy)
    assert kb.profile(data, max_categories=MAX_CAT).to_dict() == want.to_dict()
    assert widths and max(widths) == 2 and sum(widths) == table.num_columns
