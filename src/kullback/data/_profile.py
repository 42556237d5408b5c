"""Per-column profiles: exact counts on bins fixed from the reference, mergeable, saved as versioned JSON.

A numeric (or datetime) column is counted on edges ``e_0 < e_1 < ... < e_B`` chosen from the
reference: bins ``[e_i, e_{i+1})``, the last one closed, and the values below ``e_0`` (underflow) or
above ``e_B`` (overflow), and counts of missing, NaN, +inf and -inf.  The edges are quantiles of the
reference (``bins="auto"``: up to 10, fewer below 50 rows; layout "quantile") or, where the reference
has at most 10 distinct values (or at most ``bins``), midpoints between them, so that every value has a
bin of its own (layout "values").  A comparison counts the under/overflow of a quantile layout in its
outer bins, (-inf, e_1) and [e_{B-1}, inf): e_0 and e_B are the reference's sample extremes, so a new
sample of the same law falls beyond them with probability about 2/(n+1) per row, and bins of their own
would show a difference where there is none (the permutation test's false alarms rose from 0.05 to 0.07
at n = 100; regression test_outer_bins_do_not_make_false_alarms).  Under a "values" layout (and edges
given explicitly) they are bins of their own: a value the reference never had.  Edges
only choose the bins; the counts on them are exact, so profiles of parts on the same edges add up to
the profile of the whole (``a + b``), whether the parts are chunks of a file or Dask partitions.

A categorical or boolean column keeps the count of every value up to ``max_categories`` values (the
most frequent), the rest in one "other" bucket.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field, replace

import numpy as np

from ._exact import EdgeCounter, find_edges
from ._read import Column, DataError, is_dask, read_columns

__all__ = ["ColumnProfile", "Profile", "profile", "SCHEMA_VERSION", "MAX_CATEGORIES"]

SCHEMA_VERSION = 1
MAX_CATEGORIES = 1000
_BINNED = ("numeric", "datetime")
_SPECIAL = ("underflow", "overflow", "nan", "posinf", "neginf")


@dataclass(frozen=True)
class ColumnProfile:
    """The exact counts of one column.

    kind : "numeric", "datetime", "boolean", "categorical" or "null" (every value missing).
    n, missing : rows, and rows with a missing value.
    edges, counts : numeric/datetime bins (``len(counts) == len(edges) - 1``); datetimes in ns since the epoch.
    underflow, overflow, nan, posinf, neginf : values outside the edges, and non-finite values.
    labels, counts, other : categorical/boolean values and their counts; ``other`` counts the rest.
    """

    name: str
    kind: str
    dtype: str
    n: int
    missing: int
    edges: tuple = ()
    counts: tuple = ()
    labels: tuple = ()
    other: int = 0
    underflow: int = 0
    overflow: int = 0
    nan: int = 0
    posinf: int = 0
    neginf: int = 0
    notes: tuple = field(default_factory=tuple)
    layout: str = "quantile"  # numeric/datetime: "quantile", "values" (a bin per value) or "edges" (given)

    def bins(self):
        """(labels, counts) of every bin a comparison uses, missing included, in a fixed order.

        A quantile layout counts under/overflow in its outer bins (see the module's docstring)."""
        if self.kind in _BINNED:
            names = [_interval(self, i) for i in range(len(self.counts))]
            counts = list(self.counts)
            special = _SPECIAL
            if self.layout == "quantile" and counts:
                counts[0] += self.underflow
                counts[-1] += self.overflow
                names[0] = "(-inf" + names[0][names[0].index(",") :] if len(counts) > 1 else "(-inf, inf)"
                names[-1] = names[-1][: names[-1].rindex(",")] + ", inf)" if len(counts) > 1 else "(-inf, inf)"
                special = _SPECIAL[2:]
            extra = [(k, getattr(self, k)) for k in special]
            return names + [k for k, _ in extra] + ["missing"], [*counts, *(c for _, c in extra), self.missing]
        return [*self.labels, "other", "missing"], [*self.counts, self.other, self.missing]

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d = {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}
        d["edges"] = [_json_float(e) for e in self.edges]
        return d

    def __add__(self, other):
        return _merge(self, other)


def _interval(c, i):
    lo, hi = c.edges[i], c.edges[i + 1]
    close = "]" if i == len(c.counts) - 1 else ")"
    if c.kind == "datetime":
        lo, hi = (str(np.datetime64(int(v), "ns")) for v in (lo, hi))
    else:
        lo, hi = f"{lo:.6g}", f"{hi:.6g}"
    return f"[{lo}, {hi}{close}"


def _json_float(e):
    return e if isinstance(e, int) else float(e)


@dataclass(frozen=True)
class Profile:
    """Exact per-column counts of a table; ``a + b`` merges profiles of two parts counted on the same bins.

    ``profile["col"]`` is that column's :class:`ColumnProfile`; ``.save(path)`` / ``Profile.load(path)``
    write and read it as JSON (``"kullback_profile"`` holds the schema version).

    Parameters
    ----------
    columns : dict
        Column name -> its :class:`ColumnProfile` (the bins, their exact counts, missing and
        non-finite counts).
    version : int
        The JSON schema version the profile is written with.

    Examples
    --------
    >>> import kullback as kb
    >>> whole = kb.profile({"x": [1.0, 2.0, 3.0, 4.0]}, bins=2)
    >>> whole.n, len(whole)
    (4, 1)
    """

    columns: dict
    version: int = SCHEMA_VERSION

    def __getitem__(self, name) -> ColumnProfile:
        return self.columns[name]

    def __iter__(self):
        return iter(self.columns)

    def __len__(self):
        return len(self.columns)

    @property
    def n(self) -> int:
        """The number of rows (that of the first column; every column of one table has the same)."""
        return next(iter(self.columns.values())).n if self.columns else 0

    def __add__(self, other):
        if not isinstance(other, Profile):
            return NotImplemented
        if set(self.columns) != set(other.columns):
            msg = f"profiles with different columns cannot be merged: {sorted(set(self.columns) ^ set(other.columns))} in only one"
            raise ValueError(msg)
        return Profile({k: self.columns[k] + other.columns[k] for k in self.columns})

    def __radd__(self, other):  # sum([...]) starts from 0
        return self if other == 0 else NotImplemented

    def __repr__(self):
        kinds = ", ".join(f"{k}: {c.kind}" for k, c in list(self.columns.items())[:8])
        more = f", ... ({len(self.columns)} columns)" if len(self.columns) > 8 else ""
        return f"Profile(n={self.n}, {{{kinds}{more}}})"

    def to_dict(self) -> dict:
        return {"kullback_profile": self.version, "columns": [c.to_dict() for c in self.columns.values()]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)

    def save(self, path) -> None:
        """Write the profile as JSON to ``path``."""
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())

    @classmethod
    def load(cls, path) -> Profile:
        """Read a profile written by :meth:`save` (any version up to this library's)."""
        try:
            with open(path, encoding="utf-8") as fh:
                d = json.load(fh)
        except (OSError, ValueError) as exc:
            msg = f"cannot read a profile from {os.fspath(path)!r}: {exc}"
            raise DataError(msg) from None
        return cls.from_dict(d)

    @classmethod
    def from_dict(cls, d) -> Profile:
        v = d.get("kullback_profile") if isinstance(d, dict) else None
        if not isinstance(v, int) or v > SCHEMA_VERSION:
            msg = f"not a kullback profile of a version this library reads (found `kullback_profile` = {v!r}, reads up to {SCHEMA_VERSION})"
            raise DataError(msg)
        cols = {}
        for c in d["columns"]:
            c = {k: (tuple(v) if isinstance(v, list) else v) for k, v in c.items()}
            cols[c["name"]] = ColumnProfile(**c)
        return cls(cols)


def _is_profile_like(x) -> bool:
    return isinstance(x, Profile)


# ---------------------------------------------------------------- merging


def _merge(a: ColumnProfile, b: ColumnProfile) -> ColumnProfile:
    """The exact profile of two parts' union; refused where the parts were counted on different bins."""
    if a.kind == "null" or b.kind == "null":
        full, empty = (b, a) if a.kind == "null" else (a, b)
        return replace(full, n=a.n + b.n, missing=a.missing + b.missing)
    if a.kind != b.kind:
        msg = f"column {a.name!r} is {a.kind} in one profile and {b.kind} in the other; they cannot be merged"
        raise ValueError(msg)
    common = dict(n=a.n + b.n, missing=a.missing + b.missing, notes=tuple(dict.fromkeys(a.notes + b.notes)))
    if a.kind in _BINNED:
        if tuple(a.edges) != tuple(b.edges) or a.layout != b.layout:
            msg = (
                f"column {a.name!r} was counted on different edges in the two profiles; profile every part on the same "
                "edges: kb.profile(part, bins=first_profile)"
            )
            raise ValueError(msg)
        counts = tuple(int(x) + int(y) for x, y in zip(a.counts, b.counts, strict=True))
        special = {k: getattr(a, k) + getattr(b, k) for k in _SPECIAL}
        return replace(a, counts=counts, **special, **common)
    labels, counts, other = _merge_labels(a, b)
    return replace(a, labels=labels, counts=counts, other=other, **common)


def _merge_labels(a, b):
    """Union of value counts.  A value kept by one part but absent from a part that lumped values into
    "other" may hide in that "other": it goes to "other" too, so every kept count stays exact."""
    ca, cb = dict(zip(a.labels, a.counts, strict=True)), dict(zip(b.labels, b.counts, strict=True))
    other = a.other + b.other
    acc = {}
    for k in dict.fromkeys([*a.labels, *b.labels]):
        if (k not in ca and a.other) or (k not in cb and b.other):
            other += ca.get(k, 0) + cb.get(k, 0)
        else:
            acc[k] = int(ca.get(k, 0)) + int(cb.get(k, 0))
    labels, counts, extra = _top(list(acc), list(acc.values()), MAX_CATEGORIES)
    return tuple(labels), tuple(counts), int(other + extra)


def _label_key(label):
    """A total order on labels (booleans before text, text by its characters): ties broken the same whatever the rows' order."""
    return (not isinstance(label, bool), str(label))


def _top(labels, counts, k):
    """The k most frequent labels in the canonical order (-count, label), and the count of the rest.

    The order, and which of labels tied at the k-th place are kept, depend on the counts and labels only,
    never on the order of the rows or the chunks (regression test_category_ties_do_not_depend_on_row_order)."""
    order = sorted(range(len(labels)), key=lambda i: (-counts[i], _label_key(labels[i])))
    keep = order[:k]
    return [labels[i] for i in keep], [int(counts[i]) for i in keep], int(sum(counts[i] for i in order[k:]))


# ---------------------------------------------------------------- counting one column


def _passes(col: Column):
    """A pass over a binned column's values: the one array, its chunks, or a long Parquet column's batches
    (``_read.Batches``, read again at each pass)."""
    if callable(col.values):
        return col.values
    chunks = col.values if isinstance(col.values, list) else [col.values]
    return lambda: iter(chunks)


def _column_profile(col: Column, bins, max_categories: int) -> ColumnProfile:
    """The profile of one read column; ``bins`` an int, "auto", a sequence of edges or a ColumnProfile."""
    base = dict(name=col.name, kind=col.kind, dtype=col.dtype, n=col.n, missing=col.missing)
    like = bins if isinstance(bins, ColumnProfile) else None
    if col.kind in _BINNED:
        if like is not None and like.kind == col.kind and like.edges:
            edges, layout = like.edges, like.layout
        elif like is None and not isinstance(bins, (int, str)):
            edges, layout = tuple(bins), "edges"
        else:  # exact order statistics without sorting the column (the edges and counts of sorting it)
            edges, layout, counts = find_edges(_passes(col), col.kind, "auto" if like is not None else bins)
            base["layout"] = layout
            if not edges:  # only NaN / inf: no finite value to place edges on
                return ColumnProfile(**base, edges=(), **counts, notes=("no finite value",))
            return ColumnProfile(**base, edges=edges, **counts)
        base["layout"] = layout
        if hasattr(col.values, "count_on"):  # a lazy input: the backend counts (data/_lazy.py)
            return ColumnProfile(**base, edges=edges, **col.values.count_on(edges))
        counter = EdgeCounter(edges, col.kind)
        for batch in _passes(col)():
            counter.add(batch)
        return ColumnProfile(**base, edges=edges, **counter.result())
    if col.kind in {"categorical", "boolean"}:
        labels, counts = col.values
        labels, counts, other = _top(list(labels), counts.tolist(), max_categories)
        notes = ()
        if other:
            notes = (f"{len(col.values[0])} distinct values: the {max_categories} most frequent kept, the rest in 'other'",)
        return ColumnProfile(**base, labels=tuple(labels), counts=tuple(counts), other=other, notes=notes)
    return ColumnProfile(**base)


def profile(data, *, columns=None, bins="auto", max_categories: int = MAX_CATEGORIES) -> Profile:
    """Exact per-column counts of a table, on bins a later comparison keeps fixed.

    Parameters
    ----------
    data : pandas/Polars (eager or lazy)/PyArrow table, DuckDB relation, Dask DataFrame, dict of columns, or a path
        (CSV, TSV, Parquet, or a glob of them, scanned lazily).
    columns : list of str, optional
        The columns to profile (default all).
    bins : "auto", int, Profile or dict
        Numeric and datetime columns: ``"auto"`` (up to 10 quantile bins), a number of quantile bins, a
        :class:`Profile` whose edges are reused (to profile parts or a current table on the reference's bins),
        or a dict of column name to edges.
    max_categories : int
        Categorical values kept per column (the most frequent); the rest are counted in "other".

    Returns
    -------
    Profile

    Examples
    --------
    >>> import kullback as kb
    >>> p = kb.profile({"x": [1.0, 2.0, 2.0, 3.0]})
    >>> p["x"].counts, p["x"].edges
    ((1, 2, 1), (1.0, 1.5, 2.5, 3.0))
    >>> (p + p)["x"].counts
    (2, 4, 2)
    """
    _check_bins(bins)
    if is_dask(data):
        from ._dask import profile_dask

        return profile_dask(data, columns=columns, bins=bins, max_categories=max_categories)
    cols, absent = read_columns(data, columns)
    if absent:
        msg = f"`columns` names {absent} that the data do not have; name columns the table has, or leave `columns` out"
        raise KeyError(msg)

    def one(col):
        b = bins
        if isinstance(bins, Profile):
            b = bins.columns.get(col.name, "auto")
        elif isinstance(bins, dict):
            b = bins.get(col.name, "auto")
        return _column_profile(col, b, max_categories)

    return Profile(_each_column(cols, one))


# Columns profiled at once: the readers (Polars, pyarrow) and the counting (NumPy's loops, the compiled kernels of
# kullback.data._scan) release the GIL, so a column is counted while the next is read; at most WORKERS columns
# are held at a time (memory stays that of a couple of columns).  Tables of fewer rows than PARALLEL_ROWS per
# column are profiled in one thread (starting threads would cost more than it saves).
WORKERS = min(2, os.cpu_count() or 1)
PARALLEL_ROWS = 1 << 16


def _each_column(cols, fn) -> dict:
    """{name: fn(column)} in the columns' order; after the first column, on WORKERS threads where it is long.

    The columns are read one at a time (the reader is not shared between threads) and profiled in parallel;
    an error is raised as serial profiling would raise it, that of the first column in order that failed
    (test_speed_paths.py checks that the results are those of one thread)."""
    it = iter(cols)
    first = next(it, None)
    if first is None:
        return {}
    out = {first.name: fn(first)}
    if WORKERS < 2 or first.n < PARALLEL_ROWS:
        out.update((col.name, fn(col)) for col in it)
        return out
    lock = threading.Lock()
    names, results, errors = [], {}, []

    def work():
        while not errors:
            with lock:
                i = len(names)
                try:
                    col = next(it, None)
                except BaseException as exc:  # a reading error, in the columns' order
                    errors.append((i, exc))
                    return
                if col is None:
                    return
                names.append(col.name)
            try:
                results[i] = fn(col)
            except BaseException as exc:
                errors.append((i, exc))
                return

    threads = [threading.Thread(target=work, name=f"kullback-profile-{k}", daemon=True) for k in range(WORKERS)]  # Ctrl-C ends them
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise min(errors, key=lambda e: e[0])[1]
    out.update((names[i], results[i]) for i in range(len(names)))
    return out


def _check_bins(bins):
    if isinstance(bins, dict):
        for name, edges in bins.items():
            if (isinstance(edges, str) and edges == "auto") or (
                isinstance(edges, (int, np.integer)) and not isinstance(edges, bool) and edges >= 1
            ):
                continue  # this column's own quantile bins
            if isinstance(edges, (str, bytes)) or not hasattr(edges, "__len__") or not _increasing(edges):
                msg = (
                    f'`bins` for column {name!r} must be "auto", a positive number of bins or at least two strictly '
                    f"increasing, non-missing edges (a bin is [e_i, e_i+1), the last closed), not {edges!r}"
                )
                raise ValueError(msg)
        return
    if isinstance(bins, Profile) or bins == "auto":
        return
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool) and bins >= 1:
        return
    msg = f'`bins` must be "auto", a positive number of bins, a Profile or a dict of column -> edges, not {bins!r}'
    raise ValueError(msg)


def _increasing(edges) -> bool:
    """At least two edges, none missing (NaN, NaT, None), each above the one before."""
    e = list(edges)
    try:
        return len(e) >= 2 and all(a == a for a in e) and all(a < b for a, b in zip(e, e[1:]))
    except TypeError:  # None, or edges that do not compare
        return False
