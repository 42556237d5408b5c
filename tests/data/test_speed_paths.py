"""The fast paths of profiling give the numbers of the plain ones, to the bit.

Each fast path is checked against the path it replaces, and against an independent reference where one exists:
the compiled one-pass kernel of the exact-edges engine against ``np.searchsorted`` and boolean masks; profiling
columns on two threads against one thread; a Parquet text column counted from its dictionary against the same
column read as strings (nulls, empty strings, more labels than ``max_categories``); a Polars column held in
chunks against the same column in one piece.  Nothing here is timed (benchmarks/bench_compare.py measures).
"""

import threading

import numpy as np
import pytest

import kullback as kb
from kullback.data import _exact, _profile, _read, _scan

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


# ---------------------------------------------------------------- the one-pass kernel


def _reference_segments(x, cuts, collect):
    """Independent reference: searchsorted gives each value's segment; a stable argsort groups the collected."""
    seg = np.searchsorted(cuts, x, side="right")
    hist = np.bincount(seg, minlength=cuts.size + 1)
    keep = collect[seg]
    vals = x[keep][np.argsort(seg[keep], kind="stable")]
    offsets = np.concatenate([[0], np.cumsum(np.where(collect, hist, 0))])
    return hist, vals, offsets


@pytest.mark.parametrize("kernels", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("kind", ["numeric", "datetime"])
def test_segments_equal_searchsorted(kernels, kind, monkeypatch):
    monkeypatch.setattr(_scan, "MIN_SIZE", 0 if kernels else 1 << 62)
    monkeypatch.setattr(_scan, "PIECE", 1000)  # several pieces per batch
    rng = np.random.default_rng(11)
    if kind == "numeric":
        x = np.r_[rng.normal(size=5000), np.round(rng.normal(size=3000), 1), [1e300, -1e300, 5e-324]]
        cuts = np.unique(np.r_[np.round(rng.normal(size=12), 1), 0.0, 5e-324])
    else:
        x = rng.integers(-(10**12), 10**12, 6000)
        cuts = np.unique(rng.integers(-(10**12), 10**12, 9))
    x = x[rng.permutation(x.size)]
    many = np.unique(rng.choice(x, 60))  # more cuts than the comparisons' limit of count_below
    few = cuts
    for c, pattern in [(few, []), (few, [0]), (few, [few.size]), (few, [1, 2, 3]), (few, [0, 4, 5, few.size]),
                       (few, list(range(few.size + 1))), (many, [3, 4, 20, 40, many.size])]:  # fmt: skip
        collect = np.zeros(c.size + 1, dtype=bool)
        collect[pattern] = True
        got = _scan.segments(x, c, collect)
        want = _reference_segments(x, c, collect)
        for g, w in zip(got, want, strict=True):
            assert g.dtype.kind == w.dtype.kind and np.array_equal(g, w), pattern


def test_kernels_are_taken_for_large_batches(monkeypatch):
    """The compiled path is the one that runs at MIN_SIZE values and more (where numba imports)."""
    if not _scan._kernels.available():
        pytest.skip("numba does not import here")
    calls = []
    real = _scan._compiled_segments
    monkeypatch.setattr(_scan, "_compiled_segments", lambda *a: calls.append(a[0].size) or real(*a))
    x = np.random.default_rng(0).normal(size=_scan.MIN_SIZE)
    _scan.segments(x, np.array([-1.0, 0.0, 1.0]), np.array([False, True, False, False]))
    _scan.segments(x[:100], np.array([-1.0, 0.0, 1.0]), np.array([False, True, False, False]))
    assert calls == [_scan.MIN_SIZE]


# ---------------------------------------------------------------- two threads vs one


def _wide_parquet(path, rng, shift, n=3000):
    cols = {f"x{i}": rng.normal(shift * (i == 0), 1, n) for i in range(5)}
    cols["p"] = rng.poisson(4 + shift, n).astype(np.int64)
    cols["c"] = rng.choice(["a", "b", "c", "d"], n)
    cols["ts"] = (rng.integers(0, 10**6, n) * 10**9).astype("datetime64[ns]")
    pq.write_table(pa.table(cols), path, row_group_size=700)


@pytest.mark.parametrize("path", ["whole", "batches and kernels"])
def test_parallel_profile_and_compare_equal_serial(tmp_path, monkeypatch, path):
    rng = np.random.default_rng(3)
    ref, cur = str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet")
    _wide_parquet(ref, rng, 0.0)
    _wide_parquet(cur, rng, 0.5)
    if path != "whole":  # long columns read in batches, counted by the compiled kernel, on two threads
        monkeypatch.setattr(_read, "STREAM_ROWS", 0)
        monkeypatch.setattr(_read, "BATCH_ROWS", 500)
        monkeypatch.setattr(_scan, "MIN_SIZE", 0)
        monkeypatch.setitem(_exact.EdgeFinder.__init__.__kwdefaults__, "sample", 64)  # steered passes, not one sort
    monkeypatch.setattr(_profile, "WORKERS", 1)
    serial = kb.profile(ref).to_dict(), kb.compare(ref, cur).to_json()
    monkeypatch.setattr(_profile, "WORKERS", 2)
    monkeypatch.setattr(_profile, "PARALLEL_ROWS", 0)
    threads = set()
    real = _profile._column_profile
    monkeypatch.setattr(_profile, "_column_profile", lambda *a: threads.add(threading.current_thread().name) or real(*a))
    kernel = []
    real_kernel = _scan._compiled_segments
    monkeypatch.setattr(_scan, "_compiled_segments", lambda *a: kernel.append(1) or real_kernel(*a))
    parallel = kb.profile(ref).to_dict(), kb.compare(ref, cur).to_json()
    assert any(t.startswith("kullback-profile") for t in threads)  # the columns did go to the workers
    assert bool(kernel) == (path != "whole" and _scan._kernels.available())
    assert parallel == serial
    assert list(kb.profile(ref)) == ["x0", "x1", "x2", "x3", "x4", "p", "c", "ts"]  # the columns' order kept


def test_parallel_raises_the_first_failing_columns_error(monkeypatch):
    """Two bad columns: the error raised is that of the first in the table's order, as one thread raises it."""
    data = pl.DataFrame({f"x{i}": np.arange(50.0) for i in range(6)})
    monkeypatch.setattr(_profile, "PARALLEL_ROWS", 0)
    real = _profile._column_profile

    def failing(col, *a):
        if col.name in ("x3", "x5"):
            msg = f"bad {col.name}"
            raise ValueError(msg)
        return real(col, *a)

    monkeypatch.setattr(_profile, "_column_profile", failing)
    for workers in (1, 2):
        monkeypatch.setattr(_profile, "WORKERS", workers)
        with pytest.raises(ValueError, match="bad x3"):
            kb.profile(data)


# ---------------------------------------------------------------- a text column from its dictionary


@pytest.mark.parametrize("arrow_type", ["string", "large_string", "dictionary"])
def test_dictionary_counts_equal_reading_the_strings(tmp_path, monkeypatch, arrow_type):
    rng = np.random.default_rng(7)
    n = 4000
    labels = np.array([f"v{i}" for i in range(40)] + [""])
    values = labels[rng.integers(0, labels.size, n)].astype(object)
    values[rng.random(n) < 0.1] = None
    arr = pa.array(values, type=pa.large_string() if arrow_type == "large_string" else pa.string())
    if arrow_type == "dictionary":
        arr = arr.dictionary_encode()
    path = str(tmp_path / "t.parquet")
    pq.write_table(pa.table({"c": arr, "x": rng.normal(size=n)}), path, row_group_size=900)
    calls = []
    real = _read._dictionary_counts
    monkeypatch.setattr(_read, "_dictionary_counts", lambda *a: calls.append(a[1]) or real(*a))
    plain = pl.read_parquet(path)  # the same column as strings, counted by Polars' value_counts
    for k in (1000, 30):  # every label kept; more labels than max_categories (the rest in "other")
        got = kb.profile(path, max_categories=k)["c"]
        want = kb.profile(plain, max_categories=k)["c"]
        assert got == want
        assert got.missing == int(np.sum(values == None)) and sum(got.counts) + got.other == n - got.missing  # noqa: E711
    assert calls == ["c", "c"]
    assert got.other > 0 and len(got.labels) == 30


def test_all_null_text_column_from_its_dictionary(tmp_path):
    path = str(tmp_path / "t.parquet")
    pq.write_table(pa.table({"c": pa.array([None] * 10, type=pa.string()), "d": pa.array(["a"] * 10)}), path)
    got = kb.profile(path)
    assert got["c"].kind == "null" and got["c"].missing == 10 and got["c"] == kb.profile(pl.read_parquet(path))["c"]


# ---------------------------------------------------------------- chunks of a Polars column


def test_chunked_polars_column_equals_one_piece():
    rng = np.random.default_rng(2)
    parts = [pl.DataFrame({"x": rng.normal(size=m), "i": rng.integers(0, 50, m)}) for m in (300, 1, 700, 50)]
    chunked = pl.concat(parts, rechunk=False)
    assert chunked["x"].n_chunks() == 4
    cols, _ = _read.read_columns(chunked)
    assert isinstance(next(iter(cols)).values, list)  # the chunks are read as they are, not copied into one
    assert kb.profile(chunked) == kb.profile(chunked.rechunk())


# ---------------------------------------------------------------- categorical ties


def test_category_ties_do_not_depend_on_row_order():
    """Regression: tied counts were ordered by first appearance, so the profile (its labels' order, and which
    tied labels a bounded "other" kept) depended on the rows' order and on chunking."""
    rows = ["b"] * 3 + ["a"] * 3 + ["d"] * 2 + ["c"] * 2 + ["e"]
    rng = np.random.default_rng(0)
    shuffled = [rows[i] for i in rng.permutation(len(rows))]
    whole = kb.profile({"c": rows})
    assert whole["c"].labels == ("a", "b", "c", "d", "e") and whole["c"].counts == (3, 3, 2, 2, 1)
    assert kb.profile({"c": rows[::-1]}) == whole == kb.profile({"c": shuffled})
    assert kb.profile({"c": rows[:4]}) + kb.profile({"c": rows[4:]}) == whole
    assert kb.profile(pl.DataFrame({"c": shuffled})) == kb.profile(pl.DataFrame({"c": rows}))
    bounded = kb.profile({"c": rows[::-1]}, max_categories=3)["c"]  # a and b, then c before d (tied at 2)
    assert bounded.labels == ("a", "b", "c") and bounded.other == 3
    assert kb.profile({"c": rows}, max_categories=3)["c"] == bounded


@pytest.mark.parametrize("k", [1, 2, 33, 100])
@pytest.mark.parametrize("kind", ["numeric", "datetime"])
def test_edge_counter_with_few_or_many_edges_counts_as_searchsorted(k, kind):
    """EdgeCounter counts below its edges by the engine's count_below (a search from 33 edges on), batch by batch."""
    from kullback.data._exact import EdgeCounter

    rng = np.random.default_rng(k)
    x = rng.integers(-50, 50, 10_000)
    x = x.astype(float) if kind == "numeric" else x
    edges = np.unique(rng.integers(-60, 60, 3 * k))[: k + 1].astype(np.float64 if kind == "numeric" else np.int64)
    counter = EdgeCounter(edges, kind)
    counter.add(x[:3000])
    counter.add(x[3000:])
    s = np.sort(x)
    want = np.r_[np.searchsorted(s, edges[:-1], side="left"), np.searchsorted(s, edges[-1], side="right")]
    assert counter.below.tolist() == want.tolist()
