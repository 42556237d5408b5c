"""The batch engine (kullback.data._exact): exact edges and counts, the same as sorting the whole column.

Reference: the sort-based ``choose_edges`` + ``count_on_edges`` (np.quantile on the sorted finite values), which
the engine must match bit for bit whatever the batching, the sample size and the memory cap."""

import numpy as np
import pytest

from kullback.data import _scan
from kullback.data._exact import EdgeCounter, find_edges, lerp, quantile_positions

# The reference: the edges rule by sorting the whole column (the library's rule before the batch engine; now
# kept here only, so that the engine is checked against an independent implementation).
AUTO_BINS = 10


def _auto_bins(n: int) -> int:
    """bins="auto": 10 quantile bins (deciles, the drift convention), fewer so that each expects >= 5 rows."""
    return max(2, min(AUTO_BINS, n // 5))


def choose_edges(values: np.ndarray, bins, kind: str) -> tuple[tuple, str, np.ndarray]:
    """Edges from the reference's finite values, the layout (quantiles, or midpoints between few distinct
    values), and those finite values sorted (to count them on the edges without a second pass)."""
    finite = values[np.isfinite(values)] if kind == "numeric" else values
    if finite.size == 0:
        return (), "quantile", finite
    B = _auto_bins(finite.size) if bins == "auto" else int(bins)
    finite = np.sort(finite)  # one sort gives the distinct values and fast quantiles
    distinct = finite[np.r_[True, finite[1:] != finite[:-1]]]
    if distinct.size <= (max(B, AUTO_BINS) if bins == "auto" else B):  # a bin per value
        if kind == "datetime":
            mids = distinct[:-1] + (distinct[1:] - distinct[:-1]) // 2 + 1  # integer ns: value i in bin i
        else:
            mids = distinct[:-1] + (distinct[1:] - distinct[:-1]) / 2
        edges = np.concatenate([distinct[:1], mids, distinct[-1:]])
        layout = "values"
    else:
        layout = "quantile"
        method = "linear" if kind == "numeric" else "nearest"
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, B + 1), method=method))
    if edges.size == 1:
        edges = np.repeat(edges, 2)  # one value: the single bin [v, v]
    return (tuple(int(e) for e in edges) if kind == "datetime" else tuple(float(e) for e in edges)), layout, finite


def count_on_edges(values: np.ndarray, edges, kind: str, sorted_finite=None) -> dict:
    """Exact counts of values on fixed edges: bins, under/overflow, NaN, +-inf.

    ``sorted_finite``: the finite values already sorted; the bins are then read off by bisection."""
    E = np.asarray(edges, dtype=np.int64 if kind == "datetime" else np.float64)
    out = {}
    if kind == "numeric":
        nan = np.isnan(values)
        out["nan"] = int(nan.sum())
        out["posinf"] = int(np.count_nonzero(values == np.inf))
        out["neginf"] = int(np.count_nonzero(values == -np.inf))
        values = values[np.isfinite(values)] if sorted_finite is None else sorted_finite
    B = E.size - 1
    if sorted_finite is not None:  # bin i holds E[i] <= v < E[i+1], the last bin also v == E[B]
        cut = np.r_[np.searchsorted(sorted_finite, E[:-1], side="left"), np.searchsorted(sorted_finite, E[-1], side="right")]
        out["counts"] = tuple(int(c) for c in np.diff(cut))
        out["underflow"], out["overflow"] = int(cut[0]), int(sorted_finite.size - cut[-1])
        return out
    under = values < E[0]
    over = values > E[-1]
    inside = values[~(under | over)]
    idx = np.minimum(np.searchsorted(E, inside, side="right") - 1, B - 1)
    out["counts"] = tuple(int(c) for c in np.bincount(idx, minlength=B))
    out["underflow"], out["overflow"] = int(under.sum()), int(over.sum())
    return out


def _sorted_reference(x, kind, bins):
    edges, layout, srt = choose_edges(x, bins, kind)
    return edges, layout, (count_on_edges(x, edges, kind, srt) if edges else None)


def _columns(rng, n):
    yield "normal", rng.normal(size=n)
    yield "few values", rng.integers(0, 30, n).astype(float)
    yield "nan and inf", np.r_[rng.normal(size=n), [np.nan, np.inf, -np.inf] * 3]
    yield "atom", np.where(rng.random(n) < 0.6, 0.0, rng.lognormal(size=n))
    yield "sorted rows", np.sort(rng.normal(size=n))
    yield "periodic rows, huge values", (np.arange(n) % 13).astype(float) * 1e300


@pytest.mark.parametrize("n", [1, 7, 60, 997, 5000])
@pytest.mark.parametrize("opts", [{}, {"cap": 16, "sample": 8}, {"cap": 2000, "sample": 32}])
@pytest.mark.parametrize("kernels", [False, True], ids=["numpy", "compiled"])
def test_batched_edges_and_counts_equal_the_sorted_column(n, opts, kernels, monkeypatch):
    monkeypatch.setattr(_scan, "MIN_SIZE", 0 if kernels else 1 << 62)  # the one-pass kernel, or NumPy's passes
    rng = np.random.default_rng(n)
    for name, x in _columns(rng, n):
        for bins in ("auto", 3, 25):
            want = _sorted_reference(x, "numeric", bins)
            for nb in (1, 4):
                parts = np.array_split(x, nb)
                edges, layout, counts = find_edges(lambda parts=parts: iter(parts), "numeric", bins, **opts)
                assert (edges, layout) == want[:2], (name, bins, nb)
                if want[2] is not None:
                    assert {k: counts[k] for k in want[2]} == want[2], (name, bins, nb)


def test_datetimes_nearest_rank():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 10**6, 3000).astype(np.int64) * 10**9
    want = _sorted_reference(t, "datetime", "auto")
    got = find_edges(lambda: iter(np.array_split(t, 5)), "datetime", "auto", cap=16, sample=8)
    assert got[:2] == want[:2] and got[2]["counts"] == want[2]["counts"]


def test_quantile_replay_is_numpys_bit_for_bit():
    """quantile_positions + lerp on the order statistics give np.quantile exactly (ties, tiny and huge n)."""
    rng = np.random.default_rng(3)
    for n in (1, 2, 3, 10, 11, 101, 12345):
        x = np.sort(rng.standard_cauchy(n))
        for B in (1, 2, 7, 10):
            prev, nxt, gamma = quantile_positions(n, B, "numeric")
            got = lerp(x[prev], x[nxt], gamma)
            assert np.array_equal(got, np.quantile(x, np.linspace(0, 1, B + 1))), (n, B)


def test_counter_on_given_edges_matches_count_on_edges():
    rng = np.random.default_rng(5)
    x = np.r_[rng.normal(size=1000), [np.nan, np.inf, -np.inf, -9.0, 9.0]]
    edges = (-1.0, 0.0, 0.0, 1.0, 2.0)  # a repeated edge: an empty bin
    c = EdgeCounter(edges, "numeric")
    for part in np.array_split(x, 7):
        c.add(part)
    assert c.result() == count_on_edges(x, edges, "numeric")
