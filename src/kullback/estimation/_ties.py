"""Tied points in samples for the kNN estimators: what they are (rounding, float32 precision, shared draws, atoms)
and what is done about them (uniform dequantisation with each sample's own step, leaving a shared point's own copy
out, or a refusal). The estimators in ``_knn.py`` run their search inside :func:`_with_ties`, which catches the
zero distances (:class:`_ZeroDistance`) that ties produce and reruns on the resolved samples with a warning.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._warnings import AccuracyWarning
from ._kdtree import Tree, scale_of

__all__ = ["TieWarning"]


class TieWarning(AccuracyWarning):
    """Samples hold tied (duplicated) points, so nearest-neighbour distances of 0 had to be dealt with.

    A kullback.AccuracyWarning. What the kNN estimators do then (``_dequantise``): a sample whose tied columns
    lie on a grid is rounded continuous data and gets uniform noise U(-h/2, h/2) per column, h that
    sample's own rounding step (the greatest common divisor of its gaps), seeded by ``rng``; the estimate is
    that of the dequantised distributions. Points that x shares exactly with a continuous y are taken as
    the same draws (each leaves its own copy out of its y-neighbours). ``Estimate.details["ties"]`` says
    which; chance ties of float32 storage are dequantised within each value's float32 cell. Ties that are no
    rounding (atoms beside a density) are refused with a ValueError instead.

    Examples
    --------
    Normal samples rounded to one decimal are dequantised, and the estimate says so:

    >>> import warnings
    >>> import numpy as np
    >>> import kullback as kb
    >>> rng = np.random.default_rng(0)
    >>> x, y = np.round(rng.standard_normal(500), 1), np.round(rng.standard_normal(500) + 0.5, 1)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     e = kb.estimate_kl(x, y)
    >>> [w.category.__name__ for w in caught], bool(e.ci[0] < 0.125 < e.ci[1])
    (['TieWarning'], True)
    """


def _rng(rng) -> np.random.Generator:
    """A Generator from a seed / Generator; None means seed 0, so that results never depend on hidden state."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)


# ------------------------------------------------------------------------------------------ ties


class _ZeroDistance(Exception):
    """Raised inside a search when tied points make a neighbour distance 0 (caught by ``_with_ties``, never escapes)."""


class AtomOfP(Exception):
    """An atom of p (a value x repeats, on no grid) that q's sample never repeats: D(p||q) = inf (kl_knn catches it)."""

    def __init__(self, column: int, value: float, count: int, n: int, d: int):
        self.column, self.value, self.count, self.n, self.d = column, value, count, n, d
        where = f"column {column} of `x`" if d > 1 else "`x`"
        super().__init__(
            f"{where} repeats the value {value:.17g} {count} times among {n} samples (an atom of p: its values lie on no grid), "
            f"while `y` never repeats it: p puts mass {count / n:.3g} on a point where q has at most a density, so D(p||q) = inf"
        )


def _tied_columns(a: np.ndarray) -> list[int]:
    """Columns of sample ``a`` that repeat a value, other than by float32 chance (rows need not repeat).

    A column of integers or atoms inside float data (issue 21, item 3: 0.98 for a true 0.5, the rows all distinct)
    is tied as much as a 1-D sample is; chance ties of float32 storage are left alone unless rows repeat.
    """
    out = []
    for j in range(a.shape[1]):
        col = a[:, j]
        if np.unique(col).size < col.size and not _float32_collisions(col):
            out.append(j)
    return out


_GRID_RTOL = 1e-12  # values closer than this (relative to the column's scale) are the same value written twice
_GRID_MIN = 1e-9  # a grid step below this (relative to the scale) is no grid: continuous values


def _grid_step(values: np.ndarray) -> float | None:
    """The rounding step h of one column of one sample, or None if its distinct values lie on no grid.

    Rounded data are c + h * integers: every gap between sorted distinct values is a multiple of h, so h
    is their greatest common divisor, found by Euclid's algorithm with a tolerance for the representation
    error of the rounded floats (gaps below ``_GRID_RTOL * scale`` count as 0). Continuous values have no
    such divisor: Euclid's remainders shrink to the tolerance, and a step below ``_GRID_MIN * scale``
    (more than 10^9 cells across the values) is taken as "not on a grid".
    """
    u = np.unique(values)
    scale = max(float(np.abs(u).max()), float(u[-1] - u[0]), np.finfo(float).tiny)
    tol = _GRID_RTOL * scale
    gaps = np.diff(u)
    gaps = gaps[gaps > tol]
    if gaps.size == 0:
        return None
    h = float(gaps.min())
    while True:
        r = np.mod(gaps, h)
        r = np.minimum(r, h - r)
        # a gap's own error is below tol; h's representation error grows with the quotient gap / h
        bad = np.flatnonzero(r > tol + 8 * np.finfo(float).eps * scale * (gaps / h))
        if bad.size == 0:
            break
        a, b = float(gaps[bad[0]]), h  # Euclid with tolerance: gcd(h, an offending gap)
        while b > tol:
            a, b = b, math.fmod(a, b)
        h = a
        if h < _GRID_MIN * scale:
            return None
    return h if h >= _GRID_MIN * scale else None


def _has_duplicates(a: np.ndarray) -> bool:
    # a repeated row repeats its first coordinate: the cheap 1-d test first, the row-wise one only then
    if np.unique(a[:, 0]).size == a.shape[0]:
        return False
    return np.unique(a, axis=0).shape[0] < a.shape[0]


def _atoms_error(a: np.ndarray, j: int, name: str) -> ValueError:
    """The refusal for tied values that are not rounding: atoms mixed with a density."""
    u, c = np.unique(a[:, j], return_counts=True)
    top = int(np.argmax(c))
    atom = f"{float(u[top]):.17g}"
    where = f"column {j} of `{name}`" if a.shape[1] > 1 else f"`{name}`"
    ulp = float(np.spacing(np.abs(u).max()))
    if _precision_limited(u):
        msg = (
            f"{where} repeats values because float64 cannot resolve them: its values lie within {u[-1] - u[0]:.3g} of each other "
            f"near {float(np.median(u)):.6g}, where float64 steps are {ulp:.3g} (e.g. {atom} {int(c[top])} times among {a.shape[0]}). "
            "Subtract a common offset before building the array (e.g. measure from a reference value); KL divergences and "
            "entropies do not change under a common translation"
        )
        return ValueError(msg)
    msg = (
        f"{where} repeats the value {atom} {int(c[top])} times among {a.shape[0]} samples, but its distinct values lie on "
        "no grid (they are not rounded data): the law is a mixture of atoms and a density. It has no density, so its "
        "differential entropy, and a KL divergence from kNN distances, are not defined. Estimate the parts separately: "
        f"the weight of the atom(s) by counts (e.g. kb.estimate_entropy on `{name} == {atom}`, method='plugin') and the "
        f"continuous part with kNN on the samples without the atoms (`{name}[{name} != {atom}]`); or, if the values are "
        "in fact rounded, round them to their common step first."
    )
    return ValueError(msg)


def _float32_collisions(values: np.ndarray) -> bool:
    """Ties that float32 storage of continuous values makes by chance: values all float32, few and small ties.

    A density stored in float32 (24-bit mantissa) repeats values by chance: about n^2 E[p(X) h(X)] / 2 pairs, h the
    float32 spacing (some 10^2 pairs for 10^5 N(0, 1) draws), each value at most a few times. An atom repeats one
    value about (its mass) x n times. Taken as precision ties: every value float32, no value more than 4 times,
    at most 5% of the rows tied (a heuristic bound on what precision does; an atom beyond it is refused).
    """
    if not (values.astype(np.float32) == values).all():
        return False
    _, counts = np.unique(values, return_counts=True)
    return int(counts.max()) <= 4 and float(counts[counts > 1].sum()) <= 0.05 * values.size


def _shared_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the rows of x that occur exactly in y."""
    dist, _ = Tree(y, scale=scale_of(x, y)).query(x, 1)
    return np.flatnonzero(dist == 0)


def _precision_limited(values: np.ndarray) -> bool:
    """Fewer than 2^20 float64 steps across the values: float64 rounding, not the law, makes them repeat."""
    lo, hi = float(np.min(values)), float(np.max(values))
    return hi > lo and (hi - lo) < 2.0**20 * float(np.spacing(max(abs(lo), abs(hi))))


_ATOM_MIN = 3  # an atom of p named as D = inf repeats at least this often (a value twice may be a coincidence of storage)


def _atom_of_p(x: np.ndarray, y: np.ndarray, j: int) -> AtomOfP | None:
    """x's most repeated value in column j, as an AtomOfP if y's column j does not repeat it (else None)."""
    u, c = np.unique(x[:, j], return_counts=True)
    top = int(np.argmax(c))
    if c[top] < _ATOM_MIN or np.count_nonzero(y[:, j] == u[top]) >= 2:
        return None
    return AtomOfP(j, float(u[top]), int(c[top]), x.shape[0], x.shape[1])


def _dequantise(arrays: list[np.ndarray], names, rng: np.random.Generator, details: dict, cross: bool, atom_is_inf: bool = False):
    """Resolve ties at their root; returns (arrays, shared), ``shared`` the rows of x found exactly in y (or None).

    Each sample's rounding step is estimated from that sample's own values (:func:`_grid_step`), column by column:
    - a sample with duplicated rows is rounded data if each of its columns with repeated values lies on a grid;
      those columns get uniform dequantisation x + U(-h/2, h/2) with their own step h (rounded data
      x = round(t / h) h spread uniformly over their cells have a density, so the kNN estimators apply; the
      estimate is that of the dequantised law, which tends to the one of t as h -> 0). A repeated value in a
      column on no grid is an atom beside a density: refused (:func:`_atoms_error`).
    - the other sample is dequantised in the same columns, with its own step, where it lies on a grid too
      (both samples rounded alike: otherwise one would be continuous and the other a set of atoms).
    - points x shares exactly with y after that are no sign of rounding if the samples are continuous: they
      are the same draws (y contains x, or x is y). Both samples on grids in every column: rounded data,
      dequantised as above. Otherwise the shared rows are returned, and the divergence excludes each such
      point's own copy from its neighbours in y (``_cross_search``).
    """
    step = [[None] * a.shape[1] for a in arrays]
    known = [[False] * a.shape[1] for a in arrays]

    def h_of(s, j):
        if not known[s][j]:
            step[s][j], known[s][j] = _grid_step(arrays[s][:, j]), True
        return step[s][j]

    cols = [set() for _ in arrays]
    fine = [set() for _ in arrays]  # columns tied only by float32 precision
    for s, a in enumerate(arrays):
        dup = _has_duplicates(a)
        for j in range(a.shape[1]):
            if np.unique(a[:, j]).size < a.shape[0]:
                if h_of(s, j) is not None:
                    cols[s].add(j)
                elif _float32_collisions(a[:, j]):
                    if dup:
                        fine[s].add(j)
                elif s == 0 and atom_is_inf and not _precision_limited(a[:, j]):
                    raise _atom_of_p(a, arrays[1], j) or _atoms_error(a, j, names[s])
                else:
                    raise _atoms_error(a, j, names[s])
    for s in range(len(arrays)):
        for t in range(len(arrays)):
            if t != s:
                cols[s] |= {j for j in cols[t] if h_of(s, j) is not None}
    shared = None
    if cross and not (cols[0] or cols[1] or fine[0] or fine[1]):
        rows = _shared_rows(arrays[0], arrays[1])
        if rows.size:
            if all(h_of(s, j) is not None for s in range(2) for j in range(arrays[s].shape[1])):
                cols = [set(range(a.shape[1])) for a in arrays]
            else:
                shared = rows
    out = []
    for s, a in enumerate(arrays):
        if cols[s] or fine[s]:
            h = np.zeros(a.shape)
            for j in cols[s]:
                h[:, j] = step[s][j]
            for j in fine[s]:  # the float32 cell of each value
                h[:, j] = np.spacing(np.abs(a[:, j]).astype(np.float32)).astype(np.float64)
            a = a + (rng.random(a.shape) - 0.5) * h
        out.append(a)
    res = {names[s]: {int(j): step[s][j] for j in sorted(cols[s])} for s in range(len(arrays)) if cols[s]}
    if res:
        details["ties"] = (
            "uniform dequantisation: added U(-h/2, h/2) noise, h the sample's own rounding step per column "
            f"({', '.join(f'`{k}`: ' + str({c: float(np.round(v, 12)) for c, v in r.items()}) for k, r in res.items())}; seeded by `rng`). "
            "Where both samples lie on one grid in a column (integers, say), this is exact: each cell maps back to its value, "
            "so D(p||q) of the dequantised laws equals that of the originals"
        )
        details["resolution"] = [max((r.get(j, 0.0) for r in res.values()), default=0.0) for j in range(arrays[0].shape[1])]
    if any(fine):
        f32 = ", ".join(f"`{names[s]}` column(s) {sorted(fine[s])}" for s in range(len(arrays)) if fine[s])
        details["ties"] = (details["ties"] + "; " if res else "") + (
            f"float32 precision: {f32} tie by chance at float32 resolution; added U(-h/2, h/2), h the float32 spacing "
            "of each value (seeded by `rng`)"
        )
    if shared is not None:
        details["shared_points"] = int(shared.size)
        details["ties"] = (
            f"{shared.size} point(s) of `x` occur exactly in `y` (e.g. row {int(shared[0])}) and the samples are not rounded: "
            "taken as the same draws, so each such point's neighbours in `y` exclude its own copy (m - 1 points)"
        )
    return out, shared


def _with_ties(
    compute, arrays: list[np.ndarray], rng, details: dict, names=("x", "y"), cross: bool = False, stacklevel: int = 3, atom_is_inf=False
):
    """Run ``compute(*arrays, shared=None)``; if tied points give zero distances, or a column repeats values (an
    integer or atom column among float ones), resolve them (warning) and rerun.  ``atom_is_inf``: an atom of x
    that y never repeats raises :class:`AtomOfP` (D(p||q) = inf) instead of the refusal."""
    try:
        tied = [(s, j) for s, a in enumerate(arrays) if a.shape[1] > 1 for j in _tied_columns(a)]
        if tied:
            s, j = tied[0]
            raise _ZeroDistance(f"column {j} of `{names[s]}` repeats values although its rows differ")
        return compute(*arrays, shared=None)
    except _ZeroDistance as exc:
        fixed, shared = _dequantise(arrays, names, _rng(rng), details, cross, atom_is_inf)
        msg = (
            f"the samples hold tied points ({exc}), which no density gives: nearest-neighbour distances of 0 would make the kNN "
            "estimate infinite, and copies within `y` would pass for a density spike. "
            f"What was done: {details['ties']}. Pass `rng` to vary or fix any noise; for discrete data use method='plugin'."
        )
        warnings.warn(msg, TieWarning, stacklevel=stacklevel)
        try:
            return compute(*fixed, shared=shared)
        except _ZeroDistance as again:  # cannot happen after the above; never let the private signal escape
            msg = f"tied points remain after dequantisation ({again}); round the samples to a common step or drop the duplicates."
            raise ValueError(msg) from None
