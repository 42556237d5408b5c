"""The batch engine (kullback.data._exact): exact edges and counts, the same as sorting the whole column.

Reference: the sort-based ``choose_edges`` + ``count_on_edges`` (np.quantile on the sorted finite values), which
the engine must match bit for bit whatever the batching, the sample size and the memory cap."""

import numpy as np
import pytest

from kullback.data._exact import EdgeCounter, find_edges, lerp, quantile_positions
from kullback.data._profile import choose_edges, count_on_edges


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
def test_batched_edges_and_counts_equal_the_sorted_column(n, opts):
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
