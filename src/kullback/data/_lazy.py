"""Lazy inputs read by their own engine: Polars LazyFrames (CSV scans of paths included) and DuckDB relations.

Nothing here collects a long table whole: a short one is read as before, as many columns per scan as hold
``WHOLE_VALUES`` values; of a longer one the backend runs the scans and we receive only what is small:

- the rows and missing values of every column: one aggregate query for the table;
- a categorical or boolean column: its distinct values and their counts, from one group-by query
  (in the backend's order: the profile orders labels canonically by (-count, label), whatever read them);
- a numeric or datetime column: :class:`LazyBatches`, a callable whose every call is a new pass over
  the column's non-missing values in batches of at most ``BATCH_ROWS`` rows, streamed by the backend
  (Polars ``LazyFrame.collect_batches``, DuckDB ``DuckDBPyRelation.to_arrow_reader``).  The quantile
  edges are found from these batches by the exact-edges engine (``_exact.find_edges``): DuckDB's
  ``quantile_disc`` and Polars' ``quantile`` hold the whole column in memory, the engine holds a batch;
- counts on fixed edges (the current table of ``kb.compare``, or ``bins=`` edges):
  :meth:`LazyBatches.count_on` asks the backend for them in one aggregate query per column, with
  ``_exact.EdgeCounter``'s conventions: finite values only, ``count(x < e_i)`` for every edge but the
  last and ``count(x <= e_B)`` for the last (bins ``[e_i, e_i+1)``, the last closed), NaN, +inf and
  -inf counted apart (NaN compares greater than everything in both engines, hence the explicit
  finiteness test).

Every value is converted as the eager read converts it (the same backend cast, the same narwhals
calls on each batch as ``_read._column`` makes on the whole column), so the profiles are the same to
the bit.  A column of another type (decimals in DuckDB, lists, times, ...) is counted through its
batches (numeric) or read alone (categorical), never the whole table.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

import numpy as np

from ._exact import EdgeCounter
from ._read import BATCH_ROWS, Column, DataError, _collect, _column, _counted, _datetime_ns, _files, _is_path, _kind, _label

__all__ = ["lazy_columns", "LazyBatches", "BATCH_ROWS"]

# BATCH_ROWS (from _read): rows of one batch; memory is bounded by it, not by the rows of the table
# A short table is read whole, as many columns per scan as hold this many values (64 MB of float64): one scan
# where each column would cost two or three (a CSV parsed again each time); a longer one column by column
WHOLE_VALUES = 1 << 23
_N, _V = "__kullback_n__", "__kullback_v__"  # names of our own columns


@contextmanager
def _reading(where):
    """A backend's failure while scanning (a corrupt CSV, a type it cannot cast) as a DataError."""
    try:
        yield
    except DataError:
        raise
    except Exception as exc:
        msg = f"cannot read {where}: {type(exc).__name__}: {exc}"
        raise DataError(msg) from None


def lazy_columns(f, names, schema, where, data=None):
    """The named columns of a Polars LazyFrame or DuckDB relation, read by the backend (an iterator of
    :class:`~kullback.data._read.Column`); None for any other input.  ``data``: the caller's input (a path
    to CSV files is scanned again with the schema already inferred)."""
    import narwhals as nw

    if not isinstance(f, nw.LazyFrame):
        return None
    native = nw.to_native(f)
    if _is_path(data) and os.fspath(data).lower().endswith((".csv", ".tsv")):
        native = _with_schema(native, os.fspath(data))
        f = nw.from_native(native)
    for module, scan in _SCANS.items():
        lib = sys.modules.get(module)  # the caller's library is already imported; never import it to look
        if lib is not None and isinstance(native, scan.native_type(lib)):
            return _columns(f, scan(native, where), names, schema, where)
    return None


def _with_schema(lf, path):
    """The CSV scan of ``path`` with the schema ``lf`` inferred: a scan built with ``infer_schema_length=None``
    reads the whole file again to infer it at every query (0.7 s of a 0.8 s query at 10^6 rows)."""
    pl = sys.modules["polars"]
    sep = "\t" if path.lower().endswith(".tsv") else ","
    return pl.scan_csv(_files(path), separator=sep, schema=lf.collect_schema())


def _columns(f, scan, names, schema, where):
    with _reading(where):
        sizes = scan.sizes(names) if names else {}
    rows = sizes[names[0]][0] if names else 0
    per_scan = WHOLE_VALUES // max(rows, 1)
    if per_scan:  # short: the eager read, a few columns per scan
        for i in range(0, len(names), per_scan):
            chunk = names[i : i + per_scan]
            eager = _collect(f, chunk, where)
            yield from (_column(eager[c], c, schema[c]) for c in chunk)
        return
    for c in names:
        yield _lazy_column(f, scan, c, schema[c], *sizes[c], where)


def _lazy_column(f, scan, name, dtype, n, missing, where) -> Column:
    """One column as the eager read (``_read._column``) gives it, without reading the table."""
    kind = _kind(dtype)
    if kind != "null" and missing == n and n > 0:
        kind = "null"
    if kind in {"numeric", "datetime"}:
        return Column(name, kind, str(dtype), LazyBatches(scan, name, kind, scan.pushable(name), where), n, missing)
    if kind in {"boolean", "categorical"} and scan.groupable(dtype):
        with _reading(where):
            labels, counts = scan.value_counts(name)
        return _counted(name, kind, str(dtype), [_label(v) for v in labels], counts, n, missing)
    if kind == "null":
        return Column(name, kind, str(dtype), None, n, missing)
    return _column(_collect(f, [name], where)[name], name, dtype)  # another type: this column alone


class LazyBatches:
    """A numeric or datetime column streamed by its backend: each call a new pass, an iterator of the
    column's non-missing values (float64, or int64 ns for datetimes) in batches of at most ``BATCH_ROWS``;
    ``count_on(edges)`` counts them on fixed edges in one backend query where the type allows."""

    def __init__(self, scan, name, kind, pushable, where):
        self.scan, self.name, self.kind, self.pushable, self.where = scan, name, kind, pushable, where

    def __call__(self):
        with _reading(self.where):
            for s in self.scan.batches(self.name):
                yield _canonical(s, self.kind)

    def count_on(self, edges) -> dict:
        """``EdgeCounter(edges, kind)``'s result over the column: by the backend where the type allows."""
        counter = EdgeCounter(edges, self.kind)
        if self.pushable and counter.E.size:
            with _reading(self.where):
                n, nan, posinf, neginf, below = self.scan.count(self.name, counter.E, self.kind)
            counter.n, counter.nan, counter.posinf, counter.neginf = n, nan, posinf, neginf
            counter.below[:] = below
        else:
            for x in self():
                counter.add(x)
        return counter.result()


def _canonical(s, kind) -> np.ndarray:
    """One batch (a narwhals Series of non-missing values) as ``_read._column`` converts the whole column."""
    import narwhals as nw

    if kind == "datetime":
        return _datetime_ns(s)
    return s.cast(nw.Float64).to_numpy().astype(np.float64, copy=False)


def _edge_queries(edges):
    """(edge, operator) for every edge: ``x < e`` but ``x <= e`` for the last (EdgeCounter's ``below``);
    float64 edges as floats, datetime edges (int64 ns) as ints."""
    last = edges.size - 1
    cast = int if edges.dtype.kind == "i" else float
    return [(cast(e), "<=" if i == last else "<") for i, e in enumerate(edges)]


# ---------------------------------------------------------------- Polars


class _PolarsScan:
    """Queries on a Polars LazyFrame, run by Polars' streaming engine."""

    @staticmethod
    def native_type(pl):
        return pl.LazyFrame

    def __init__(self, lf, where):
        self.lf, self.where = lf, where

    def _pl(self):
        return sys.modules["polars"]

    def sizes(self, names):
        pl = self._pl()
        out = self.lf.select(pl.len().alias(_N), *(pl.col(c).null_count().alias(str(i)) for i, c in enumerate(names)))
        row = out.collect(**_streaming(pl)).row(0)
        return {c: (int(row[0]), int(row[i + 1])) for i, c in enumerate(names)}

    def pushable(self, name) -> bool:
        return True  # the same cast as the eager read's by the same engine; datetimes: dt.epoch("ns")

    def groupable(self, dtype) -> bool:
        import narwhals as nw

        return dtype in (nw.String, nw.Categorical, nw.Boolean) or isinstance(dtype, (nw.Enum, nw.Categorical))

    def batches(self, name):
        import narwhals as nw

        pl = self._pl()
        q = self.lf.select(pl.col(name)).filter(pl.col(name).is_not_null())
        if hasattr(q, "collect_batches"):  # Polars >= 1.34: the streaming engine hands over batches
            parts = q.collect_batches(chunk_size=BATCH_ROWS, maintain_order=False)
        else:  # older Polars: this one column in memory (never the table), handed over in slices
            whole = q.collect()
            parts = (whole.slice(i, BATCH_ROWS) for i in range(0, whole.height, BATCH_ROWS))
        for df in parts:
            if df.height:
                yield nw.from_native(df.get_column(name), series_only=True)

    def value_counts(self, name):
        pl = self._pl()
        q = (
            self.lf.select(pl.col(name)).filter(pl.col(name).is_not_null()).group_by(name).agg(pl.len().alias(_N))
        )  # in no particular order: the profile orders labels canonically, (-count, label) (_profile._top)
        vc = q.collect(**_streaming(pl))
        return vc.get_column(name).to_list(), vc.get_column(_N).to_numpy().astype(np.int64)

    def count(self, name, edges, kind):
        pl = self._pl()

        def total(cond, alias):
            return cond.cast(pl.Int64).sum().alias(alias)

        if kind == "datetime":  # int64 ns since the epoch, as _read._datetime_ns gives them (dates: midnight UTC)
            v, fin, dtype = pl.col(name).dt.epoch("ns"), pl.lit(True), pl.Int64
            aggs = [pl.lit(0).alias("nan"), pl.lit(0).alias("posinf"), pl.lit(0).alias("neginf"), pl.len().alias("n")]
        else:
            v, dtype = pl.col(name).cast(pl.Float64), pl.Float64
            fin = v.is_finite()
            aggs = [total(v.is_nan(), "nan"), total(v == np.inf, "posinf"), total(v == -np.inf, "neginf"), total(fin, "n")]
        for i, (e, op) in enumerate(_edge_queries(edges)):
            e = pl.lit(e, dtype=dtype)
            aggs.append(total(fin & ((v <= e) if op == "<=" else (v < e)), f"b{i}"))
        row = self.lf.filter(pl.col(name).is_not_null()).select(aggs).collect(**_streaming(pl)).row(0)
        return row[3], row[0], row[1], row[2], np.asarray(row[4:], dtype=np.int64)


def _streaming(pl) -> dict:
    """The streaming engine where Polars has it by that name (>= 1.34 here, with ``collect_batches``)."""
    return {"engine": "streaming"} if hasattr(pl.LazyFrame, "collect_batches") else {}


# ---------------------------------------------------------------- DuckDB


_T = "__kullback_t__"  # the relation's name in our queries


def _q(name) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


class _DuckScan:
    """SQL queries on a DuckDB relation, run by DuckDB (in parallel, out of core where it needs to)."""

    _INTS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
    _FLOATS = ("FLOAT", "DOUBLE")
    _TIMES = ("DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE")

    @staticmethod
    def native_type(duckdb):
        return duckdb.DuckDBPyRelation

    def __init__(self, rel, where):
        self.rel, self.where = rel, where
        self.types = {c: str(t).upper() for c, t in zip(rel.columns, rel.types, strict=True)}

    def _sql(self, query: str):
        return self.rel.query(_T, query)

    def sizes(self, names):
        cols = ", ".join(f"count(*) - count({_q(c)})" for c in names)
        row = self._sql(f"SELECT count(*), {cols} FROM {_T}").fetchall()[0]
        return {c: (int(row[0]), int(row[i + 1])) for i, c in enumerate(names)}

    def pushable(self, name) -> bool:
        # integers and floats: DuckDB's cast to DOUBLE rounds as Arrow's does (C++'s static_cast); decimals
        # and 128-bit integers convert their own way, so they are counted on the batches the eager read converts
        return self.types.get(name) in self._INTS + self._FLOATS + self._TIMES  # datetimes: epoch_ns, as Arrow's

    def groupable(self, dtype) -> bool:
        import narwhals as nw

        return dtype in (nw.String, nw.Boolean) or isinstance(dtype, nw.Enum)

    def batches(self, name):
        import narwhals as nw
        import pyarrow as pa

        reader = self._sql(f"SELECT {_q(name)} FROM {_T} WHERE {_q(name)} IS NOT NULL").to_arrow_reader(BATCH_ROWS)
        for b in reader:
            if b.num_rows:
                yield nw.from_native(pa.Table.from_batches([b]), eager_only=True)[name]

    def value_counts(self, name):
        c = _q(name)
        rows = self._sql(
            f"SELECT {c}, count(*) AS {_N} FROM {_T} WHERE {c} IS NOT NULL GROUP BY {c}"
        ).fetchall()  # in no particular order: the profile orders labels canonically (_profile._top)
        return [r[0] for r in rows], np.array([r[1] for r in rows], dtype=np.int64)

    def count(self, name, edges, kind):
        x = _V
        if kind == "datetime":  # int64 ns since the epoch; an edge is a BIGINT literal
            value = f"epoch_ns({_q(name)})"
            terms = ["0", "0", "0", "count(*)"]
            terms += [f"count(*) FILTER (WHERE {x} {op} {e:d})" for e, op in _edge_queries(edges)]
        else:
            fin, value = f"isfinite({x})", f"CAST({_q(name)} AS DOUBLE)"
            terms = [f"count(*) FILTER (WHERE isnan({x}))", f"count(*) FILTER (WHERE {x} = 'inf'::DOUBLE)"]
            terms += [f"count(*) FILTER (WHERE {x} = '-inf'::DOUBLE)", f"count(*) FILTER (WHERE {fin})"]
            # each edge as the text of the float64 it is (repr round-trips): a numeric literal would be a DECIMAL
            terms += [f"count(*) FILTER (WHERE {fin} AND {x} {op} '{e!r}'::DOUBLE)" for e, op in _edge_queries(edges)]
        sub = f"SELECT {value} AS {_V} FROM {_T} WHERE {_q(name)} IS NOT NULL"
        row = self._sql(f"SELECT {', '.join(terms)} FROM ({sub})").fetchall()[0]
        return int(row[3]), int(row[0]), int(row[1]), int(row[2]), np.asarray(row[4:], dtype=np.int64)


_SCANS = {"polars": _PolarsScan, "duckdb": _DuckScan}
