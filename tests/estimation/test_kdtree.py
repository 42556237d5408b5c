"""The numba kd-tree (kullback.estimation._kdtree.Tree) against scipy's cKDTree and brute force.

The reference: for every query, the k smallest Euclidean distances by brute force (np.sort of all
distances) and scipy.spatial.cKDTree.query. The numba tree must return the brute-force distances to the
last bit (both sum squared coordinate differences in coordinate order), cKDTree's to a few ulps (cKDTree
sums in blocks from d = 8 on), and indices that are at those distances.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as hs
from scipy.spatial import cKDTree

from kullback import _kernels
from kullback.estimation._kdtree import Tree

ENGINES = [pytest.param(True, id="numba"), pytest.param(False, id="ckdtree")]


def brute(data, queries, k, skip_self):
    """Sorted k smallest distances by brute force, each computed as sqrt(sum over coordinates in order)."""
    diff = queries[:, None, :] - data[None, :, :]
    d2 = np.zeros(diff.shape[:2])
    for j in range(data.shape[1]):  # coordinate order, as both trees sum
        d2 = d2 + diff[:, :, j] * diff[:, :, j]
    if skip_self:
        np.fill_diagonal(d2, np.inf)
    return np.sqrt(np.sort(d2, axis=1)[:, :k])


def check(data, queries, k, skip_self, use_numba):
    if use_numba and not _kernels.available():
        pytest.skip("numba is not importable")
    dist, idx = Tree(data, use_numba=use_numba).query(queries, k, skip_self=skip_self)
    want = brute(data, queries, k, skip_self)
    if use_numba:
        np.testing.assert_array_equal(dist, want)
    else:
        np.testing.assert_allclose(dist, want, rtol=4 * np.finfo(float).eps, atol=0)
    # every index is at its reported distance, none repeats within a row, a row never lists itself when skipped
    got = np.sqrt(((queries[:, None, :] - data[idx]) ** 2).sum(axis=2))
    np.testing.assert_allclose(got, dist, rtol=1e-12, atol=0)
    assert all(len(set(row)) == k for row in idx.tolist())
    if skip_self:
        assert not (idx == np.arange(len(queries))[:, None]).any()


@pytest.mark.parametrize("use_numba", ENGINES)
@pytest.mark.parametrize("d", [1, 2, 5, 11])
@pytest.mark.parametrize("n", [1, 2, 7, 300])
def test_matches_brute_force(n, d, use_numba):
    rng = np.random.default_rng([n, d])
    data = rng.standard_normal((n, d)) * rng.lognormal(0, 2, d)
    queries = rng.standard_normal((50, d))
    for k in {1, min(3, n), n}:
        check(data, queries, k, False, use_numba)
    if n >= 2:
        for k in {1, n - 1}:
            check(data, data, k, True, use_numba)


@pytest.mark.parametrize("use_numba", ENGINES)
def test_ties_and_duplicates(use_numba):
    """Rounded data: many equal distances and exact copies (distance 0 to another row, never to itself)."""
    rng = np.random.default_rng(3)
    data = np.round(rng.standard_normal((400, 3)), 1)
    data[10] = data[11] = data[12]
    check(data, data, 4, True, use_numba)
    check(data, rng.standard_normal((30, 3)).round(1), 5, False, use_numba)
    dist, idx = Tree(data, use_numba=use_numba).query(data, 2, skip_self=True)
    assert dist[10, 0] == dist[10, 1] == 0.0 and set(idx[10]) == {11, 12}


@pytest.mark.fuzz
@given(
    n=hs.integers(2, 200),
    d=hs.integers(1, 10),  # both the versions compiled per d (d <= 8) and the one shared by larger d
    k=hs.integers(1, 12),
    scale=hs.sampled_from([2.0**-1000, 2.0**-30, 1.0, 2.0**30, 2.0**500]),  # exact scalings
    grid=hs.sampled_from([0, 1, 3]),
    seed=hs.integers(0, 2**32 - 1),
)
def test_fuzz_against_ckdtree(n, d, k, scale, grid, seed):
    """Any sizes, extreme scales, ties from rounding to `grid` decimals: cKDTree's distances (on the data at
    scale 1, times the scale: at 2^-1000 or 2^500 cKDTree's own squared distances underflow to 0 or overflow)."""
    if not _kernels.available():
        pytest.skip("numba is not importable")
    rng = np.random.default_rng(seed)
    data0 = rng.standard_normal((n, d))
    if grid:
        data0 = np.round(data0, grid)
    data = data0 * scale
    k = min(k, n - 1)
    dist, idx = Tree(data).query(data, k, skip_self=True)
    ref, _ = cKDTree(data0).query(data0, k + 1)
    # cKDTree lists each row itself first (distance 0) unless a copy came first; drop one zero per row
    tol = {"rtol": 4 * np.finfo(float).eps, "atol": 0}
    np.testing.assert_allclose(dist, ref[:, 1:] * scale, **tol)
    assert not (idx == np.arange(n)[:, None]).any()
    q0 = rng.standard_normal((20, d))
    np.testing.assert_allclose(Tree(data).query(q0 * scale, k)[0], cKDTree(data0).query(q0, k)[0].reshape(20, k) * scale, **tol)


def test_order_does_not_change_results():
    """Queries run in any order give the same rows in the queries' order (threads, blocks, tree order)."""
    if not _kernels.available():
        pytest.skip("numba is not importable")
    rng = np.random.default_rng(5)
    data, q = rng.standard_normal((3000, 4)), rng.standard_normal((2000, 4))
    t = Tree(data)
    a = t.query(q, 3)
    b = t.query(q, 3, order=rng.permutation(2000))
    c = t.query(q, 3, order=Tree(q).order)
    for other in (b, c):
        np.testing.assert_array_equal(a[0], other[0])
        np.testing.assert_array_equal(a[1], other[1])


def test_too_many_neighbours_refused():
    t = Tree(np.zeros((3, 2)) + np.arange(3)[:, None])
    with pytest.raises(ValueError, match="k = 3 neighbours asked of a tree of 3 points"):
        t.query(t.data, 3, skip_self=True)


def test_queries_of_another_dimension_refused():
    """Queries must have the tree's dimension (the compiled search reads d coordinates of each)."""
    t = Tree(np.random.default_rng(0).standard_normal((20, 3)))
    with pytest.raises(ValueError, match=r"queries of shape \(4, 2\) asked of a tree of 3-dimensional points"):
        t.query(np.zeros((4, 2)), 1)
