"""Exact k-nearest-neighbour search for the kNN estimators: a kd-tree compiled with numba, queried in parallel.

Why not only ``scipy.spatial.cKDTree``: the estimators need few neighbours (k + 1 or k + 2) of every point
of one sample among the points of the same or another sample, and cKDTree answers each query
independently, in the caller's order, from the root. Here the queries run in the tree's own order
(neighbouring queries touch the same leaves, which stay in cache), each descends to the nearest leaf
first and prunes by the distance to a node's bounding box (Friedman, Bentley & Finkel 1977, ACM TOMS
3(3), the bounds-overlap-ball test with boxes as in Arya et al. 1998, J. ACM 45(6)), the leaves hold
their points contiguously, and a query point's own row can be skipped without searching one more
neighbour. The result is the same set of neighbours as cKDTree's, at distances equal to brute force's to
the last bit and to cKDTree's within a few ulps (cKDTree sums the coordinates in blocks from d = 8 on;
``tests/estimation/test_kdtree.py`` checks both); among neighbours at exactly equal distances the order
may differ.

The tree: points split at the median of the widest coordinate of their bounding box, level by level,
into a complete binary tree whose leaves hold at most ``LEAFSIZE`` points; node ``i`` has children
``2i + 1`` and ``2i + 2`` and covers a contiguous range of the permuted points.

Where numba does not import, :class:`Tree` answers through cKDTree (``workers=-1``) instead.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from .. import _kernels

__all__ = ["Tree", "LEAFSIZE", "scale_of"]

LEAFSIZE = 8  # at most this many points per leaf (4..8): 4 and 8 within 5% at d = 5, 32 20% slower (benchmarks/bench_kdtree.py)
_SERIAL_LEVELS = 4  # tree levels split before the parallel subtrees (2^4 = 16 work items)
_QUERY_BLOCK = 256  # queries per parallel work item (one stack and one scratch row each)

prange = range  # numba's prange once compiled


def _split_node(node, pts, perm, lo, hi, bmin, bmax, sdim, split, first_leaf):  # pragma: no cover - compiled
    """Bounding box of ``node``'s points; unless a leaf, split them at the median of the box's widest coordinate."""
    d = pts.shape[1]
    a, b = lo[node], hi[node]
    for j in range(d):
        bmin[node, j], bmax[node, j] = pts[a, j], pts[a, j]
    for t in range(a + 1, b):
        for j in range(d):
            bmin[node, j] = min(bmin[node, j], pts[t, j])
            bmax[node, j] = max(bmax[node, j], pts[t, j])
    if node >= first_leaf:
        return
    dim, width = 0, -1.0
    for j in range(d):
        if bmax[node, j] - bmin[node, j] > width:
            dim, width = j, bmax[node, j] - bmin[node, j]
    mid = (a + b) // 2
    _select(pts, perm, dim, a, b, mid)
    sdim[node], split[node] = dim, pts[mid, dim]
    lo[2 * node + 1], hi[2 * node + 1] = a, mid
    lo[2 * node + 2], hi[2 * node + 2] = mid, b


def _build(data, leafsize):  # pragma: no cover - compiled by numba
    """(pts, perm, lo, hi, bmin, bmax, sdim, split, first_leaf, depth): the tree over ``data`` (n, d) as arrays.

    ``pts`` is ``data[perm]``: the points in tree order, each leaf's contiguous. The top ``_SERIAL_LEVELS``
    levels are split one node after another; the subtrees below them cover disjoint ranges and are built in
    one parallel loop (one parallel region: a barrier per level stalls when another process holds a core).
    """
    n, d = data.shape
    depth = 0
    while (n >> depth) > leafsize:
        depth += 1
    n_nodes = (1 << (depth + 1)) - 1
    first_leaf = (1 << depth) - 1
    lo = np.zeros(n_nodes, dtype=np.int64)
    hi = np.zeros(n_nodes, dtype=np.int64)
    bmin = np.empty((n_nodes, d))
    bmax = np.empty((n_nodes, d))
    sdim = np.zeros(n_nodes, dtype=np.int64)
    split = np.zeros(n_nodes)
    pts = data.copy()
    perm = np.arange(n)
    hi[0] = n
    top = min(depth, _SERIAL_LEVELS)
    for node in range((1 << top) - 1):
        _split_node(node, pts, perm, lo, hi, bmin, bmax, sdim, split, first_leaf)
    first = (1 << top) - 1
    for r in prange(first, 2 * first + 1):  # the subtree under node r, level by level
        for t in range(depth - top + 1):
            for node in range((r + 1) * (1 << t) - 1, (r + 2) * (1 << t) - 1):
                _split_node(node, pts, perm, lo, hi, bmin, bmax, sdim, split, first_leaf)
    return pts, perm, lo, hi, bmin, bmax, sdim, split, first_leaf, depth


def _select(pts, perm, dim, a, b, m):  # pragma: no cover - compiled
    """Reorder rows a..b-1 of pts (and perm with them) so that row m holds the median-rank value of column dim,
    smaller before it, larger after.

    Hoare's FIND (quickselect; Hoare 1961, CACM 4(7), Algorithm 65) with the median of three as pivot:
    expected O(b - a), so the tree builds in O(n log n).
    """
    lo_, hi_ = a, b - 1
    d = pts.shape[1]
    while hi_ > lo_:
        mid = (lo_ + hi_) // 2
        x0, x1, x2 = pts[lo_, dim], pts[mid, dim], pts[hi_, dim]
        pivot = max(min(x0, x1), min(max(x0, x1), x2))
        i, j = lo_, hi_
        while i <= j:
            while pts[i, dim] < pivot:
                i += 1
            while pts[j, dim] > pivot:
                j -= 1
            if i <= j:
                for c in range(d):
                    pts[i, c], pts[j, c] = pts[j, c], pts[i, c]
                perm[i], perm[j] = perm[j], perm[i]
                i += 1
                j -= 1
        if m <= j:
            hi_ = j
        elif m >= i:
            lo_ = i
        else:
            return


def _box_dist2(q, bmin, bmax, node):  # pragma: no cover - compiled
    """Squared distance from q to the bounding box of ``node`` (0 inside it)."""
    s = 0.0
    for j in range(q.shape[0]):
        # branch-free: at most one of the two gaps is positive
        t = max(bmin[node, j] - q[j], 0.0) + max(q[j] - bmax[node, j], 0.0)
        s += t * t
    return s


def _query_one(
    q, skip, pts, perm, lo, hi, bmin, bmax, sdim, split, first_leaf, best_d, best_i, stack_n, stack_d
):  # pragma: no cover - compiled
    """The k = len(best_d) nearest points of the tree to q (squared distances, ascending), row ``skip`` left out.

    Depth first, the nearer child first; a node is skipped once the squared distance from q to its
    bounding box is no less than the k-th best so far (the bounds-overlap-ball test).
    """
    k = best_d.shape[0]
    d = q.shape[0]
    for r in range(k):
        best_d[r] = np.inf
        best_i[r] = -1
    worst = np.inf
    stack_n[0], stack_d[0] = 0, 0.0
    top = 1
    while top > 0:
        top -= 1
        node = stack_n[top]
        if stack_d[top] >= worst:
            continue
        while node < first_leaf:
            c1 = 2 * node + 1
            right = 1 if q[sdim[node]] >= split[node] else 0  # branch-free choice of the nearer child
            near = c1 + right
            far = c1 + 1 - right
            d_far = _box_dist2(q, bmin, bmax, far)
            # written always, kept only if it may hold a nearer point: no hard-to-predict branch
            stack_n[top], stack_d[top] = far, d_far
            top += d_far < worst
            node = near
        for pos in range(lo[node], hi[node]):
            s = 0.0
            for j in range(d):
                t = pts[pos, j] - q[j]
                s += t * t
            if s < worst and perm[pos] != skip:
                r = k - 1
                while r > 0 and best_d[r - 1] > s:
                    best_d[r] = best_d[r - 1]
                    best_i[r] = best_i[r - 1]
                    r -= 1
                best_d[r] = s
                best_i[r] = perm[pos]
                worst = best_d[k - 1]


def _query(pts, perm, lo, hi, bmin, bmax, sdim, split, first_leaf, depth, queries, order, k, skip_self):  # pragma: no cover - compiled
    """Distances (ascending) and indices of the k nearest tree points of each query, queries taken in ``order``."""
    nq = queries.shape[0]
    dist = np.empty((nq, k))
    idx = np.empty((nq, k), dtype=np.int64)
    n_blocks = (nq + _QUERY_BLOCK - 1) // _QUERY_BLOCK
    for blk in prange(n_blocks):
        stack_n = np.empty(depth + 2, dtype=np.int64)
        stack_d = np.empty(depth + 2)
        for t in range(blk * _QUERY_BLOCK, min(nq, (blk + 1) * _QUERY_BLOCK)):
            i = order[t]
            skip = i if skip_self else -1
            _query_one(queries[i], skip, pts, perm, lo, hi, bmin, bmax, sdim, split, first_leaf, dist[i], idx[i], stack_n, stack_d)
            for r in range(k):
                dist[i, r] = math.sqrt(dist[i, r])
    return dist, idx


_STATE: dict = {}


_LOCK = threading.Lock()


def _compile():
    """Wrap the functions above in numba's decorators, once per process (under a lock: two threads' first
    searches at once must not wrap a function twice)."""
    if _STATE.get("compiled"):
        return
    with _LOCK:
        if _STATE.get("compiled"):
            return
        from numba import njit
        from numba import prange as _prange

        g = globals()
        g["prange"] = _prange
        for name in ("_box_dist2", "_query_one", "_select", "_split_node"):
            g[name] = njit(cache=True, inline="always")(g[name])
        g["_build"] = njit(cache=True, parallel=True, nogil=True)(g["_build"])
        g["_query"] = njit(cache=True, parallel=True, nogil=True)(g["_query"])
        _STATE["compiled"] = True


def scale_of(*arrays) -> float:
    """The power of two that brings the largest |value| of all ``arrays`` into [0.5, 1) (1 for all-zero data)."""
    amax = max((float(np.max(np.abs(a))) for a in arrays if a.size), default=0.0)
    return math.ldexp(1.0, math.frexp(amax)[1]) if 0.0 < amax < math.inf else 1.0


class Tree:
    """Exact kNN search over the rows of ``data`` (n, d): numba kd-tree, else scipy's cKDTree."""

    def __init__(self, data: np.ndarray, leafsize: int = LEAFSIZE, use_numba: bool | None = None, scale: float | None = None):
        self.data = np.ascontiguousarray(data, dtype=np.float64)
        self.n = self.data.shape[0]
        # Coordinates are searched divided by a power of two that brings the largest |value| into [0.5, 1):
        # exact, and squared distances then neither overflow (data near 1e160) nor underflow to 0
        # (data near 1e-160), which would make every distance inf or 0. Distances are scaled back exactly.
        # Queries from another sample are divided by the same number: pass ``scale=scale_of(data, queries)``
        # where the two may differ in size by more than ~1e150 (x near 1, y near 1e-155).
        self.scale = scale_of(self.data) if scale is None else float(scale)
        scaled = self.data / self.scale
        self._numba = _kernels.available() if use_numba is None else use_numba
        if self._numba:
            _compile()
            self._arrays = _build(scaled, leafsize)
            perm = self._arrays[1]
            self.order = perm  # the tree's own order: queries of nearby points one after another
        else:
            from scipy.spatial import cKDTree

            self._ckd = cKDTree(scaled)
            self.order = None

    def query(self, queries: np.ndarray, k: int, *, skip_self: bool = False, order: np.ndarray | None = None):
        """(dist, idx), shape (len(queries), k): the k nearest rows of ``data`` to each query, ascending.

        ``skip_self``: the queries are ``data`` itself and each row's own index is left out (not a
        neighbour at distance 0). ``order``: the order to run the queries in (a permutation; default this
        tree's order when the queries are its data, else as given); results are in the queries' order.
        """
        k = int(k)
        if k < 1 or k > self.n - (1 if skip_self else 0):
            msg = f"k = {k} neighbours asked of a tree of {self.n} points"
            raise ValueError(msg)
        queries = np.ascontiguousarray(queries, dtype=np.float64) / self.scale
        if not self._numba:
            extra = 1 if skip_self else 0
            dist, idx = self._ckd.query(queries, k=k + extra, workers=-1)
            dist, idx = dist.reshape(len(queries), -1), idx.reshape(len(queries), -1)
            if skip_self:
                # drop each row's own index (where a duplicate came first, drop the last column instead)
                own = idx == np.arange(len(queries))[:, None]
                keep = ~own
                keep[~own.any(axis=1), -1] = False
                dist, idx = dist[keep].reshape(-1, k), idx[keep].reshape(-1, k)
            return dist * self.scale, idx
        if order is None:
            order = self.order if skip_self else np.arange(len(queries))
        dist, idx = _query(*self._arrays, queries, np.ascontiguousarray(order, dtype=np.int64), k, skip_self)
        if self.scale != 1.0:
            dist *= self.scale
        return dist, idx
