"""The one-pass kernel of the exact-edges engine (numba, compiled on first use, cached), beside its NumPy twin.

Both answer the same question about a batch ``x`` of finite values and sorted cuts ``c_0 <= ... <= c_{k-1}``:
the segment of every value, ``s(x) = #{j : c_j <= x}`` (``np.searchsorted(cuts, x, side="right")``), counted
in ``hist`` (so that ``count(x < c_j) = cumsum(hist)[j]``), and the values of the segments asked for
(``collect[s]``), grouped by segment.  The kernel reads the batch once, branch-free; NumPy makes a pass per
cut and per run of collected segments.  The answers are counts and copies of values, so both give the same
numbers to the bit (tests/data/test_speed_paths.py checks both against ``np.searchsorted``).  The kernels
release the GIL, so two columns are profiled on two cores (:func:`kullback.data._profile.profile`).

Columns of fewer than ``MIN_SIZE`` values go through NumPy: importing numba and loading the cached kernel
(about 0.3 s, once per process) costs more than the kernel saves on them.  Where nothing is collected,
NumPy's vectorised comparisons count faster than the kernel and are used at every size.
"""

from __future__ import annotations

import threading

import numpy as np

from .. import _kernels

__all__ = ["MIN_SIZE", "count_below", "segments", "use_kernels"]

MIN_SIZE = 1 << 20  # values in a column from which the compiled kernels are used
PIECE = 1 << 18  # values read by one call of the kernel (its output buffers hold as many)
_LOCK = threading.Lock()
_STATE: dict = {}


def _segment(v, cuts):  # pragma: no cover - compiled by numba
    """#{j : cuts[j] <= v}: a branch-free count over the (few, sorted) cuts."""
    s = 0
    for j in range(cuts.size):
        s += cuts[j] <= v
    return s


def _scan(x, cuts, collect, hist, out, out_seg):  # pragma: no cover - compiled by numba
    """hist[s(v)] += 1 for every v of x; the values of collected segments and their segments written to
    ``out``/``out_seg`` (as long as x); returns how many.  Branch-free: every value is written, and the end
    advances by ``collect[s]``."""
    m = 0
    for i in range(x.size):
        v = x[i]
        s = _segment(v, cuts)
        hist[s] += 1
        out[m] = v
        out_seg[m] = s
        m += collect[s]
    return m


def _group(vals, segs, offsets, out):  # pragma: no cover - compiled by numba
    """A stable counting sort of vals by segment: segment s's values to out[offsets[s]:offsets[s + 1]]."""
    at = offsets[:-1].copy()
    for i in range(vals.size):
        s = segs[i]
        out[at[s]] = vals[i]
        at[s] += 1


def _compile() -> None:
    """Wrap the kernels in numba's decorators once per process (under a lock: two threads may ask at once)."""
    if _STATE.get("compiled"):
        return
    with _LOCK:
        if not _STATE.get("compiled"):
            from numba import njit

            g = globals()
            g["_segment"] = njit(cache=True, inline="always")(_segment)
            g["_scan"] = njit(cache=True, nogil=True)(_scan)
            g["_group"] = njit(cache=True, nogil=True)(_group)
            _STATE["compiled"] = True


def use_kernels(x, n) -> bool:
    """Whether a batch of a column of n values goes through the compiled kernels (long enough, numba imports)."""
    return n >= MIN_SIZE and x.dtype in (np.float64, np.int64) and _kernels.available()


def segments(x, cuts, collect, n=0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hist, values, offsets): every value counted in its segment (``hist``), and the values of the collected
    segments grouped by segment, segment s's in ``values[offsets[s]:offsets[s + 1]]``; ``n``: the values of
    the whole column (from MIN_SIZE on, the compiled kernel reads its batches)."""
    if use_kernels(x, max(n, x.size)) and collect.any():  # nothing to collect: NumPy's comparisons count faster
        return _compiled_segments(x, cuts, collect)
    if not collect.any():
        return _hist_from_below(count_below(x, cuts), x.size), x[:0], np.zeros(cuts.size + 2, dtype=np.int64)
    runs = _runs(collect)
    below, kept = np.zeros(cuts.size, dtype=np.int64), []
    buf = np.empty((cuts.size, min(PIECE, x.size)), dtype=bool)  # reused: no fresh pages per comparison
    for start in range(0, x.size, PIECE):  # a piece at a time: its comparisons stay in the cache
        p = x[start : start + PIECE]
        lt = [np.less(p, c, out=buf[j, : p.size]) for j, c in enumerate(cuts)]  # each made once, counted, reused
        below += [np.count_nonzero(m) for m in lt]
        kept += [p[_between(lt, a, b)] for a, b in runs]
    vals = np.concatenate(kept)
    vals = vals[np.argsort(np.searchsorted(cuts, vals, side="right"), kind="stable")]
    hist = _hist_from_below(below, x.size)
    return hist, vals, np.concatenate([[0], np.cumsum(np.where(collect, hist, 0))])


def _compiled_segments(x, cuts, collect):
    """segments() by the kernels, PIECE values at a time (their buffers stay small)."""
    _compile()
    cuts = np.ascontiguousarray(cuts, dtype=x.dtype)
    flags = collect.astype(np.uint8)
    hist = np.zeros(cuts.size + 1, dtype=np.int64)
    size = min(PIECE, x.size)
    out, out_seg = np.empty(size, dtype=x.dtype), np.empty(size, dtype=np.int32)
    vals, segs = [], []
    for start in range(0, x.size, PIECE):
        m = _scan(np.ascontiguousarray(x[start : start + PIECE]), cuts, flags, hist, out, out_seg)
        vals.append(out[:m].copy())
        segs.append(out_seg[:m].copy())
    vals, segs = np.concatenate(vals), np.concatenate(segs)
    offsets = np.concatenate([[0], np.cumsum(np.where(collect, hist, 0))])
    grouped = np.empty_like(vals)
    _group(vals, segs, offsets, grouped)
    return hist, grouped, offsets


def count_below(x, cuts) -> np.ndarray:
    """count(x < c) for each c of the sorted array ``cuts``: a comparison per cut where they are few."""
    if cuts.size <= 32:
        return np.array([np.count_nonzero(x < c) for c in cuts], dtype=np.int64)
    idx = np.searchsorted(cuts, x, side="right")  # the number of cuts <= x; x < c_k iff idx <= k
    return np.cumsum(np.bincount(idx, minlength=cuts.size + 1))[:-1]


def _hist_from_below(below, n) -> np.ndarray:
    return np.diff(np.concatenate([[0], below, [n]])).astype(np.int64)


def _runs(collect):
    """(a, b): the maximal runs a..b of collected segments."""
    on = np.flatnonzero(collect)
    if not on.size:
        return []
    breaks = np.flatnonzero(np.diff(on) > 1)
    return list(zip(on[np.r_[0, breaks + 1]].tolist(), on[np.r_[breaks, on.size - 1]].tolist(), strict=True))


def _between(lt, a, b):
    """Which values lie in segments a..b, from ``lt[j] = x < cuts[j]``: not below cuts[a - 1], below cuts[b]."""
    if a == 0:
        return lt[b] if b < len(lt) else np.ones(lt[0].size, dtype=bool)
    return np.greater(lt[b], lt[a - 1]) if b < len(lt) else ~lt[a - 1]  # True > False: x < cuts[b] and not x < cuts[a-1]
