"""Exact edges and exact counts of one numeric (or datetime) column, fed in batches, in bounded memory.

The quantile edges are those of ``np.quantile(finite, np.linspace(0, 1, B + 1))`` on the whole column
(linear interpolation; "nearest" for datetimes), and they need the column's order statistics at a few
ranks only.  They are found without sorting the column and without holding it:

1. a first pass counts the finite values, NaN and infinities, finds the minimum and maximum, counts the
   distinct values while there are at most ``limit`` of them, and keeps a systematic sample (every k-th
   finite value, k doubling so that at most ``2 * SAMPLE`` are kept); where k stayed 1 the sample is the
   column, and sorting it gives everything without another pass;
2. each later pass counts, for every edge not yet known, the values below the two ends of the interval
   where the sample says the edge's ranks fall, and collects the values inside it (at most ``CAP``
   values per column; an interval whose count is not yet known and turns out larger is dropped; an
   interval that holds one value only, an atom such as a Poisson count, is counted and not collected),
   all in one read of each batch (:func:`kullback.data._scan.segments`);
3. an edge is known once its interval is known to hold its ranks: its order statistics are read off the
   values collected (``np.partition``, no sort), and the count below it is the count below the interval
   plus the values collected below it, so the reference's bin counts need no further pass.

The sample only steers where to look: the results are the exact order statistics, hence the edges and
counts of the whole column sorted, whatever the batching or the order of the rows (an unlucky sample,
e.g. of periodic rows, costs another pass, never another answer).  The interpolation replays NumPy's
(``numpy.lib._function_base_impl._quantile`` and ``_lerp``, NumPy >= 1.22) operation by operation, so the
edges are bit for bit those of ``np.quantile``; tests/data/test_streaming.py checks it.

Counting on fixed edges (:class:`EdgeCounter`) compares each batch with every edge, ``count(x < e)``: a
bin ``[e_i, e_i+1)`` holds ``count(x < e_i+1) - count(x < e_i)`` and the last bin is closed.
"""

from __future__ import annotations

import math

import numpy as np

from ._scan import count_below, segments

__all__ = ["EdgeCounter", "EdgeFinder", "find_edges", "quantile_positions", "lerp", "AUTO_BINS", "auto_bins"]

AUTO_BINS = 10
SAMPLE = 1 << 16  # sample values kept per column: they choose where to look, never the answer
CAP = 1 << 22  # values one pass may collect per column (32 MB of float64)
_MAX_STEERED = 6  # passes steered by the sample before the whole remaining interval is collected
_SPREAD = 4.0  # half-width of a bracket in standard deviations of the sample's rank
_SMALL = 1 << 14  # an interval of at most this many values is collected whole (one pass, no steering)


def auto_bins(n: int) -> int:
    """bins="auto": 10 quantile bins (deciles, the drift convention), fewer so that each expects >= 5 rows."""
    return max(2, min(AUTO_BINS, n // 5))


def quantile_positions(n: int, B: int, kind: str):
    """np.quantile's ranks and weights for ``linspace(0, 1, B + 1)`` of n sorted values: (previous, next, gamma).

    Replays numpy's ``_quantile``: linear: virtual index ``(n - 1) * q``, previous = floor, next =
    previous + 1, both the last index where the virtual index reaches ``n - 1``, gamma = virtual -
    previous (the previous index being -1 there, as numpy computes it); nearest (datetimes): ``around``,
    gamma None."""
    q = np.linspace(0, 1, B + 1)
    if kind == "datetime":
        idx = np.around((n - 1) * q).astype(np.intp)
        return idx, idx, None
    virtual = (n - 1) * q
    prev = np.floor(virtual)
    nxt = prev + 1
    above = virtual >= n - 1
    prev[above] = -1
    nxt[above] = -1
    prev, nxt = prev.astype(np.intp), nxt.astype(np.intp)
    gamma = np.asarray(virtual - prev, dtype=virtual.dtype)
    return np.where(prev < 0, n - 1, prev), np.where(nxt < 0, n - 1, nxt), gamma


def lerp(a, b, t):
    """numpy's ``_lerp``: a + (b - a) t, computed from b where t >= 0.5 (monotone, exact at both ends)."""
    diff = b - a
    out = np.add(a, diff * t)
    np.subtract(b, diff * (1 - t), out=out, where=t >= 0.5, casting="unsafe", dtype=out.dtype)
    return out


def _up(v, kind):
    """The next representable value above v (the interval [v, up(v)) holds v only)."""
    return v + 1 if kind == "datetime" else np.nextafter(v, np.inf)


def _multiples(n, size, stride) -> int:
    """How many of the positions n .. n + size - 1 are multiples of stride."""
    return len(range((-n) % stride, size, stride))


def _finite(x, kind):
    return x if kind == "datetime" or np.isfinite(x).all() else x[np.isfinite(x)]


class EdgeCounter:
    """Exact counts on fixed edges, batch by batch: bins, under/overflow, NaN, +inf, -inf (see the module)."""

    def __init__(self, edges, kind):
        self.kind = kind
        self.E = np.asarray(edges, dtype=np.int64 if kind == "datetime" else np.float64)
        self.below = np.zeros(self.E.size, dtype=np.int64)  # count(x < E[i]); the last: count(x <= E[-1])
        self.n = self.nan = self.posinf = self.neginf = 0

    def add(self, x) -> None:
        if self.kind == "numeric" and not np.isfinite(x).all():
            nan = np.isnan(x)
            self.nan += int(nan.sum())
            self.posinf += int(np.count_nonzero(x == np.inf))
            self.neginf += int(np.count_nonzero(x == -np.inf))
            x = x[np.isfinite(x)]
        self.n += x.size
        if self.E.size:  # the engine's counter (a comparison per edge, a search where they are many); the last: <=
            self.below[:-1] += count_below(x, self.E[:-1])
            self.below[-1] += np.count_nonzero(x <= self.E[-1])

    def result(self) -> dict:
        out = {"nan": self.nan, "posinf": self.posinf, "neginf": self.neginf} if self.kind == "numeric" else {}
        if not self.E.size:
            return out | {"counts": (), "underflow": 0, "overflow": 0}
        b = self.below
        out["counts"] = tuple(int(c) for c in np.diff(b)) if b.size > 1 else ()
        out["underflow"], out["overflow"] = int(b[0]), int(self.n - b[-1])
        return out


class _Target:
    """One interior edge: its ranks r1 <= r2 and the interval [a, b) known to hold them (count(x < a) <= r1,
    count(x < b) > r2); resolved once the order statistics are read."""

    def __init__(self, i, r1, r2, lo, lo_below, hi, hi_below):
        self.i, self.r1, self.r2 = i, int(r1), int(r2)
        self.a, self.a_below, self.b, self.b_below = lo, lo_below, hi, hi_below
        self.values = None  # (x_(r1), x_(r2)) once known
        self.inside = None  # the values collected in [a, b), unsorted (None: an atom, [a, b) holds a only)
        self.collect = None  # (lo, hi, known) of this pass's collection
        self.parts = None  # the values collected in this pass (None: dropped)
        self.kept = 0
        self.around = None  # a point known to lie between the two ranks


class EdgeFinder:
    """The edges of one column chosen from the reference as sorting the column would (``choose_edges`` in tests/data/test_streaming.py), fed in passes of batches.

    ``first(x)`` on every batch (non-missing values), then ``plan()``; while ``needs_pass()``:
    ``feed(x)`` on every batch again and ``end_pass()``.  ``result()``: (edges, layout, counts dict)."""

    def __init__(self, kind: str, bins, *, cap: int = CAP, sample: int = SAMPLE):
        self.kind, self.bins, self.cap, self.sample_size = kind, bins, cap, sample
        self.limit = AUTO_BINS if bins == "auto" else int(bins)  # at most this many distinct: a bin per value
        self.n = self.nan = self.posinf = self.neginf = 0
        self.lo = self.hi = None
        self.distinct: dict | None = {}
        self._sample, self._kept, self.stride = [], 0, 1
        self.targets: list = []
        self.edges = self.layout = None
        self.passes = 1
        self._all = None  # a short column's finite values sorted (the sample held them all)

    # ------------------------------------------------ pass 1
    def first(self, x) -> None:
        if self.kind == "numeric" and not np.isfinite(x).all():
            self.nan += int(np.isnan(x).sum())
            self.posinf += int(np.count_nonzero(x == np.inf))
            self.neginf += int(np.count_nonzero(x == -np.inf))
            x = x[np.isfinite(x)]
        if not x.size:
            return
        lo, hi = x.min(), x.max()
        self.lo = lo if self.lo is None else min(self.lo, lo)
        self.hi = hi if self.hi is None else max(self.hi, hi)
        if self.distinct is not None:
            self._count_distinct(x)
        # the sample: the finite values whose global position is a multiple of the stride, the stride doubled
        # (every other value kept) until at most 2 * sample are kept; doubled before this batch is copied
        while self._kept + _multiples(self.n, x.size, self.stride) > 2 * self.sample_size:
            s = np.concatenate(self._sample)[::2] if self._sample else np.empty(0, dtype=x.dtype)
            self._sample, self._kept, self.stride = [s], s.size, 2 * self.stride
        start = (-self.n) % self.stride
        self._sample.append(x[start :: self.stride].copy())
        self._kept += self._sample[-1].size
        self.n += x.size

    def _count_distinct(self, x) -> None:
        """Counts per distinct value while there are at most ``limit``; None beyond."""
        d = self.distinct
        if self.limit > 32:
            u, c = np.unique(x, return_counts=True)
            for v, k in zip(u.tolist(), c.tolist(), strict=True):
                d[v] = d.get(v, 0) + k
                if len(d) > self.limit:
                    self.distinct = None
                    return
            return
        new = x if not d else x[~np.isin(x, np.fromiter(d, dtype=x.dtype))]
        while new.size:
            u = np.unique(new[:1024])
            if len(d) + u.size > self.limit:
                self.distinct = None
                return
            d.update(dict.fromkeys(u.tolist(), 0))
            new = new[~np.isin(new, u)]
        for v in d:
            d[v] += int(np.count_nonzero(x == v))

    # ------------------------------------------------ planning
    def plan(self) -> None:
        """After pass 1: the edges where the first pass decides them, else the targets to find."""
        if self.n == 0:
            self.edges, self.layout = (), "quantile"
            return
        if self.distinct is not None:
            return self._values_layout()
        self.layout = "quantile"
        B = auto_bins(self.n) if self.bins == "auto" else int(self.bins)
        self._prev, self._next, self._gamma = quantile_positions(self.n, B, self.kind)
        sample = np.concatenate(self._sample)
        self._sample = None
        top = _up(self.hi, self.kind)
        for i in range(1, B):
            r1, r2 = sorted((int(self._prev[i]), int(self._next[i])))
            if self._gamma is not None and self._gamma[i] == 0:
                r2 = r1  # a + (b - a) * 0 is a: the next value is not needed
            self.targets.append(_Target(i, r1, r2, self.lo, 0, top, self.n))
        if self.stride == 1:  # the sample holds every finite value: sorted, it is the column sorted; no other pass
            self._all = np.sort(sample)
            for t in self.targets:
                t.values = (self._all[t.r1], self._all[t.r2])
            return
        # sorted once to steer: about 4 n^(2/3) values balance the sort against the values a wider bracket collects
        step = max(1, sample.size // max(1024, int(4 * self.n ** (2 / 3))))
        self.sample = np.sort(sample[::step])
        self._resolve_ends()

    def _values_layout(self) -> None:
        d = np.array(sorted(self.distinct), dtype=np.int64 if self.kind == "datetime" else np.float64)
        if self.kind == "datetime":
            mids = d[:-1] + (d[1:] - d[:-1]) // 2 + 1  # integer ns: value i in bin i
        else:
            mids = d[:-1] + (d[1:] - d[:-1]) / 2
        edges = np.concatenate([d[:1], mids, d[-1:]])
        if edges.size == 1:
            edges = np.repeat(edges, 2)
        self.edges, self.layout = edges, "values"
        counts = np.array([self.distinct[v] for v in d.tolist()], dtype=np.int64)
        below = [int(counts[d < e].sum()) for e in edges[:-1]] + [self.n]
        self._below = np.array(below, dtype=np.int64)

    def _resolve_ends(self) -> None:
        """Targets whose ranks are the minimum or the maximum are known without a pass."""
        for t in self.targets:
            if t.r2 == 0:
                t.values, t.inside, t.a, t.a_below = (self.lo, self.lo), None, self.lo, 0
            elif t.r1 == self.n - 1:
                t.values, t.inside = (self.hi, self.hi), None
                t.a, t.a_below = self.hi, self.n - 1  # count(x < max) is unknown; the edge is the last one anyway

    def needs_pass(self) -> bool:
        return any(t.values is None for t in self.targets)

    # ------------------------------------------------ later passes
    def start_pass(self) -> None:
        """Choose, for every unknown edge, the interval to collect (its two ends are counted below)."""
        self.passes += 1
        self._cap = max(1024, self.cap // max(1, sum(t.values is None for t in self.targets)))
        cuts = set()
        for t in self.targets:
            if t.values is None:
                t.collect = self._bracket(t, self._cap)
                lo, hi, _ = t.collect
                # an atom [v, up(v)) holds v only: the counts below its ends decide, no value is collected
                t.parts, t.kept = (None if hi == _up(lo, self.kind) else []), 0
                cuts.update(t.collect[:2])
        self.cuts = np.array(sorted(cuts), dtype=np.int64 if self.kind == "datetime" else np.float64)
        self.cut_below = np.zeros(self.cuts.size, dtype=np.int64)

    def _bracket(self, t, cap):
        """(lo, hi, known): [lo, hi) to collect: the whole interval [a, b) where its count is known to be
        small, else where the sample puts the ranks, or around a point that split the ranks last time."""
        W = t.b_below - t.a_below
        if W <= min(cap, _SMALL) or self.passes > _MAX_STEERED:  # last resort (adversarial rows): the whole interval
            return t.a, t.b, True
        S = self.sample
        inside = S[np.searchsorted(S, t.a, side="right") : np.searchsorted(S, t.b, side="left")]  # in (a, b)
        m = inside.size
        if m == 0:  # nothing to steer by: halve [a, b) in value space
            mid = t.a + (t.b - t.a) // 2 if self.kind == "datetime" else t.a + (t.b - t.a) / 2
            return t.a, mid if t.a < mid < t.b else _up(t.a, self.kind), False
        if t.around is not None:  # the last interval's end fell between the two ranks: look just around it
            k = int(np.searchsorted(inside, t.around, side="left"))
            j1, j2 = k - 2, k + 1
        else:
            p1, p2 = (t.r1 - t.a_below) / W, (t.r2 - t.a_below) / W
            sd = math.sqrt(m * p1 * (1 - p1)) + 1
            j1, j2 = math.floor(p1 * m - _SPREAD * sd), math.ceil(p2 * m + _SPREAD * sd)
        lo = inside[j1] if j1 > 0 else t.a
        hi = _up(inside[j2], self.kind) if j2 < m - 1 else t.b
        return lo, hi, False

    def feed(self, x) -> None:
        if self.nan or self.posinf or self.neginf:  # the first pass saw every value: where all were finite, no check
            x = _finite(x, self.kind)
        if not x.size:
            return
        # segment s holds cuts[s - 1] <= x < cuts[s]: [lo, hi) is the segments pos(lo) + 1 .. pos(hi)
        active = [t for t in self.targets if t.values is None and t.parts is not None]
        spans = [(t, *np.searchsorted(self.cuts, t.collect[:2]).tolist()) for t in active]
        collect = np.zeros(self.cuts.size + 1, dtype=bool)
        for _, a, b in spans:
            collect[a + 1 : b + 1] = True
        hist, vals, offsets = segments(x, self.cuts, collect, self.n)  # one read: every segment counted, the collected kept
        self.cut_below += np.cumsum(hist)[:-1]
        for t, a, b in spans:
            known = t.collect[2]
            part = vals[offsets[a + 1] : offsets[b + 1]]  # segments a + 1 .. b, held together
            t.kept += part.size
            if not known and t.kept > 2 * self._cap:
                t.parts = None  # more than the sample said: dropped; the counts narrow [a, b) for the next pass
            else:
                t.parts.append(part)

    def end_pass(self) -> None:
        below = dict(zip(self.cuts.tolist(), self.cut_below.tolist(), strict=True))
        for t in self.targets:
            if t.values is None:
                self._settle(t, below)

    def _settle(self, t, below) -> None:
        """After a pass: read the ranks off the values collected, or narrow [a, b) with the counts."""
        lo, hi, _ = t.collect
        lo_b = t.a_below if lo == t.a else below[lo]
        hi_b = t.b_below if hi == t.b else below[hi]
        parts, t.parts, t.collect, t.around = t.parts, None, None, None
        if lo_b <= t.r1 and hi_b > t.r2 and parts is not None:
            k1, k2 = t.r1 - lo_b, t.r2 - lo_b
            s = np.partition(np.concatenate(parts), sorted({k1, k2}))  # the two order statistics, without a sort
            t.a, t.a_below, t.b, t.b_below, t.inside = lo, lo_b, hi, hi_b, s
            t.values = (s[k1], s[k2])
            return
        for v, c in ((lo, lo_b), (hi, hi_b)):
            if c <= t.r1 and v > t.a:
                t.a, t.a_below = v, c
            elif c > t.r2 and v < t.b:
                t.b, t.b_below = v, c
            elif t.r1 < c <= t.r2:
                t.around = v  # count(x < v) = r1 + 1: x_(r1) < v <= x_(r2)
        if t.b == _up(t.a, self.kind):  # [a, b) holds a only: both ranks are a
            t.values, t.inside = (t.a, t.a), None

    # ------------------------------------------------ result
    def result(self):
        """(edges, layout, counts): the edges as sorting the column gives them and the reference's exact counts."""
        special = {"nan": self.nan, "posinf": self.posinf, "neginf": self.neginf} if self.kind == "numeric" else {}
        if self.n == 0:
            return (), "quantile", special
        if self.layout == "quantile":
            self._quantile_edges()
        b = self._below
        counts = {"counts": tuple(int(c) for c in np.diff(b)), "underflow": int(b[0]), "overflow": int(self.n - b[-1])}
        cast = int if self.kind == "datetime" else float
        return tuple(cast(e) for e in self.edges), self.layout, special | counts

    def _quantile_edges(self) -> None:
        B = len(self.targets) + 1
        dtype = np.int64 if self.kind == "datetime" else np.float64
        a = np.empty(B + 1, dtype=dtype)
        b = np.empty(B + 1, dtype=dtype)
        a[0] = b[0] = self.lo  # q = 0: rank 0 (gamma 0); q = 1: the last rank
        a[B] = b[B] = self.hi
        for t in self.targets:
            lo_rank = t.r1 == int(self._prev[t.i]) if self._gamma is not None else True
            a[t.i], b[t.i] = t.values if lo_rank else t.values[::-1]
        if self._gamma is None:
            raw = a
        else:
            raw = lerp(a, b, self._gamma)
        edges = np.unique(raw)
        if edges.size == 1:
            edges = np.repeat(edges, 2)
        self.edges = edges
        below = np.zeros(edges.size, dtype=np.int64)
        below[-1] = self.n  # the last edge is the maximum: count(x <= max)
        for j, e in enumerate(edges[:-1]):
            below[j] = self._count_below_edge(e)
        self._below = below

    def _count_below_edge(self, e) -> int:
        """count(x < e) for an edge: 0 at the minimum, else from the target whose interval holds e."""
        if e <= self.lo:
            return 0
        if self._all is not None:  # the column sorted (a short column)
            return int(np.searchsorted(self._all, e, side="left"))
        for t in self.targets:
            if t.values is None or not (t.a <= e < t.b or (t.inside is None and e == t.a)):
                continue
            if t.inside is None:  # an atom: [a, b) holds a only, and e == a
                return t.a_below
            return t.a_below + int(np.count_nonzero(t.inside < e))
        msg = f"internal error: edge {e!r} lies in no interval that was counted"
        raise AssertionError(msg)


def find_edges(batches, kind: str, bins, **kw):
    """(edges, layout, counts) of a column whose non-missing values ``batches()`` yields, pass after pass."""
    f = EdgeFinder(kind, bins, **kw)
    for x in batches():
        f.first(x)
    f.plan()
    while f.needs_pass():
        f.start_pass()
        for x in batches():
            f.feed(x)
        f.end_pass()
    return f.result()
