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

The search is bound by instructions, not memory (the tree of 20 000 points in d = 5 fits in L2), so it is
written for few of them: the loops over coordinates have a length fixed at compile time for d <= 8 (one
version per d), node and point indices are unsigned (numba then leaves out its test for negative
indices), and the box test takes one max per coordinate. Together with leaves of 8..16 points these made
the two searches of a k = 1 divergence estimate 1.5x faster (benchmarks/bench_kdtree.py).

Where numba does not import, :class:`Tree` answers through cKDTree (``workers=-1``) instead.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from .. import _kernels

__all__ = ["Tree", "LEAFSIZE", "scale_of"]

LEAFSIZE = 16  # at most this many points per leaf (8..16): d = 5, n = 2·10^4: 4..32 within 8% (16 best); n = 10^5: 17% faster than 8 (benchmarks/bench_kdtree.py)
_SERIAL_LEVELS = 4  # at most this many tree levels split before the parallel subtrees (2^4 = 16 work items)
_QUERY_BLOCK = 256  # queries per parallel work item (one stack and one scratch row each)
_SPECIALISED = 8  # searches in d <= this compile once per d (about 2 s each, cached on disk); larger d share one version

prange = range  # numba's prange once compiled


def _split_node(node, pts, perm, lo, hi, bmin, bmax, sdim, split, first_leaf):  # pragma: no cover - compiled
    """Bounding box of ``node``'s points; unless a leaf, split them at the median of the box's widest coordinate."""
    d = pts.shape[1]
    a, b = lo[node], hi[node]
    for j in range(d):  # column by column: the running min and max stay in registers
        mn = mx = pts[a, j]
        for t in range(np.uint64(a + 1), np.uint64(b)):  # unsigned: no wrap-around test (see _query_one)
            v = pts[t, j]
            mn, mx = min(mn, v), max(mx, v)
        bmin[node, j], bmax[node, j] = mn, mx
    if node >= first_leaf:
        return
    dim, width = 0, -1.0
    for j in range(d):
        if bmax[node, j] - bmin[node, j] > width:
            dim, width = j, bmax[node, j] - bmin[node, j]
    mid = (a + b) // 2
    _select(pts, perm, np.uint64(dim), a, b, mid)
    sdim[node], split[node] = dim, pts[mid, dim]
    lo[2 * node + 1], hi[2 * node + 1] = a, mid
    lo[2 * node + 2], hi[2 * node + 2] = mid, b


def _build(data, leafsize, serial_levels):  # pragma: no cover - compiled by numba
    """(pts, perm, lo, hi, bmin, bmax, sdim, split, first_leaf, depth): the tree over ``data`` (n, d) as arrays.

    ``pts`` is ``data[perm]``: the points in tree order, each leaf's contiguous. The top ``serial_levels``
    levels are split one node after another; the subtrees below them cover disjoint ranges and are built in
    one parallel loop (one parallel region: a barrier per level stalls when another process holds a core).
    Fewer serial levels leave less of the work serial, more give the threads more subtrees to share:
    :func:`_serial_levels` picks two subtrees per thread.
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
    sdim = np.zeros(n_nodes, dtype=np.uint64)  # unsigned: see _query_one
    split = np.zeros(n_nodes)
    pts = data.copy()
    perm = np.arange(n)
    hi[0] = n
    top = min(depth, serial_levels)
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
            # i and j index rows only while within [lo_, hi_] (>= 0): read as unsigned, no wrap-around test
            while pts[np.uint64(i), dim] < pivot:
                i += 1
            while pts[np.uint64(j), dim] > pivot:
                j -= 1
            if i <= j:
                ui, uj = np.uint64(i), np.uint64(j)
                for c in range(d):
                    pts[ui, c], pts[uj, c] = pts[uj, c], pts[ui, c]
                perm[ui], perm[uj] = perm[uj], perm[ui]
                i += 1
                j -= 1
        if m <= j:
            hi_ = j
        elif m >= i:
            lo_ = i
        else:
            return


def _dims(q, dtag):  # pragma: no cover - compiled
    """The dimension d: ``len(dtag)``, a compile-time constant (the loops over coordinates unroll), or q's length."""
    return len(dtag) if len(dtag) > 0 else q.shape[0]


def _box_dist2(q, bmin, bmax, node, dtag):  # pragma: no cover - compiled
    """Squared distance from q to the bounding box of ``node`` (0 inside it)."""
    s = 0.0
    for j in range(_dims(q, dtag)):
        # branch-free: at most one of the two gaps is positive, and it is the distance along j
        t = max(max(bmin[node, j] - q[j], q[j] - bmax[node, j]), 0.0)
        s += t * t
    return s


def _query_one(
    q, skip, pts, perm, lo, hi, bmin, bmax, sdim, split, first_leaf, best_d, best_i, stack_n, stack_d, dtag
):  # pragma: no cover - compiled
    """The k = len(best_d) nearest points of the tree to q (squared distances, ascending), row ``skip`` left out.

    Depth first, the nearer child first; a node is skipped once the squared distance from q to its
    bounding box is no less than the k-th best so far (the bounds-overlap-ball test).
    """
    k = best_d.shape[0]
    d = _dims(q, dtag)
    for r in range(k):
        best_d[r] = np.inf
        best_i[r] = -1
    worst = np.inf
    # Node, stack and point indices are unsigned: numba then indexes without the test for negative
    # (wrap-around) indices, a fifth of the instructions of this loop (19% faster at d = 5). Every
    # operation keeps them unsigned (uint64 mixed with int64 would make a float).
    one, zero = np.uint64(1), np.uint64(0)
    n_inner = np.uint64(first_leaf)
    stack_n[0], stack_d[0] = zero, 0.0
    top = one
    while top > zero:
        top -= one
        node = stack_n[top]
        if stack_d[top] >= worst:
            continue
        while node < n_inner:
            c1 = node + node + one
            right = one if q[sdim[node]] >= split[node] else zero  # branch-free choice of the nearer child
            near = c1 + right
            far = c1 + one - right
            d_far = _box_dist2(q, bmin, bmax, far, dtag)
            # written always, kept only if it may hold a nearer point: no hard-to-predict branch
            stack_n[top], stack_d[top] = far, d_far
            top += one if d_far < worst else zero
            node = near
        for pos in range(np.uint64(lo[node]), np.uint64(hi[node])):
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


def _query(
    pts, perm, lo, hi, bmin, bmax, sdim, split, first_leaf, depth, queries, order, k, skip_self, dtag
):  # pragma: no cover - compiled
    """Distances (ascending) and indices of the k nearest tree points of each query, queries taken in ``order``.

    ``dtag``: a tuple of d zeros for d <= ``_SPECIALISED`` (numba compiles one version per d, with the
    coordinate loops of fixed length: 15% faster at d = 5), else () (one version for all larger d).
    """
    nq = queries.shape[0]
    dist = np.empty((nq, k))
    idx = np.empty((nq, k), dtype=np.int64)
    n_blocks = (nq + _QUERY_BLOCK - 1) // _QUERY_BLOCK
    for blk in prange(n_blocks):
        stack_n = np.empty(depth + 2, dtype=np.uint64)
        stack_d = np.empty(depth + 2)
        for t in range(blk * _QUERY_BLOCK, min(nq, (blk + 1) * _QUERY_BLOCK)):
            i = order[t]
            skip = i if skip_self else -1
            _query_one(queries[i], skip, pts, perm, lo, hi, bmin, bmax, sdim, split, first_leaf, dist[i], idx[i], stack_n, stack_d, dtag)
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
        for name in ("_dims", "_box_dist2", "_query_one", "_select", "_split_node"):
            g[name] = njit(cache=True, inline="always")(g[name])
        g["_build"] = njit(cache=True, parallel=True, nogil=True)(g["_build"])
        g["_query"] = njit(cache=True, parallel=True, nogil=True)(g["_query"])
        _STATE["compiled"] = True


def _serial_levels() -> int:
    """Tree levels built serially: 2 threads get 2^2 = 4 subtrees (builds at n = 20 000, d = 5: 3.0 ms against 3.5 with 16), 8 and more 16."""
    from numba import get_num_threads

    return max(1, min(_SERIAL_LEVELS, math.ceil(math.log2(max(get_num_threads(), 1))) + 1))


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
            self._arrays = _build(scaled, leafsize, _serial_levels())
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
        d = self.data.shape[1]
        if queries.ndim != 2 or queries.shape[1] != d:
            msg = f"queries of shape {queries.shape} asked of a tree of {d}-dimensional points"
            raise ValueError(msg)
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
        dtag = (0.0,) * d if d <= _SPECIALISED else ()
        dist, idx = _query(*self._arrays, queries, np.ascontiguousarray(order, dtype=np.int64), k, skip_self, dtag)
        if self.scale != 1.0:
            dist *= self.scale
        return dist, idx
