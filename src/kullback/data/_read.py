"""Reading tables: anything narwhals knows (pandas, Polars eager or lazy, PyArrow, DuckDB relations) and paths.

Inputs are recognised here once and turned into columns of NumPy values with their kind.  Optional
libraries are never imported to look at an input: a Polars frame means Polars is already loaded
(``sys.modules.get``, as narwhals' ``get_polars``).  A path (CSV, Parquet, a glob of many files) is
scanned lazily by Polars when it is installed (only the columns asked for are read), else by pandas.
"""

from __future__ import annotations

import glob
import os
import sys
from dataclasses import dataclass

import numpy as np

__all__ = ["Column", "read_columns", "is_dask", "DataError"]


class DataError(ValueError):
    """The data cannot be read or hold nothing to profile (the command line exits 3)."""


@dataclass
class Column:
    """One column as NumPy values: kind, the non-missing values, the number of rows and of missing values."""

    name: str
    kind: str  # numeric | datetime | boolean | categorical | null
    dtype: str
    values: object  # numeric: float64 array, a list of them (chunks) or Batches (a long Parquet column); datetime: int64 ns;
    # boolean/categorical: (labels, counts)
    n: int
    missing: int


def is_dask(data) -> bool:
    """True for a Dask DataFrame (dask.dataframe already imported by the caller)."""
    dd = sys.modules.get("dask.dataframe")
    return dd is not None and isinstance(data, dd.DataFrame)


def _is_path(data) -> bool:
    return isinstance(data, (str, os.PathLike))


def _scan_path(path):
    """A lazy frame over a CSV or Parquet file, or a glob of them (Polars; pandas if Polars is absent)."""
    path = os.fspath(path)
    files = _files(path)
    if not files or not all(os.path.isfile(f) for f in files):
        msg = f"no file matches {path!r}; give a CSV or Parquet file, or a glob such as 'data/*.parquet'"
        raise DataError(msg)
    suffix = os.path.splitext(files[0])[1].lower()
    if suffix not in {".csv", ".parquet", ".pq", ".tsv"}:
        msg = f"{files[0]!r} is not a .csv, .tsv or .parquet file"
        raise DataError(msg)
    try:
        import polars as pl
    except ImportError:
        pl = None
    try:
        if pl is not None:
            if suffix in {".csv", ".tsv"}:
                sep = "\t" if suffix == ".tsv" else ","
                # a mixed-type column stays text (infer_schema_length=None reads every row to infer)
                return pl.scan_csv(files, separator=sep, infer_schema_length=None)
            return pl.scan_parquet(files)
        import pandas as pd

        if suffix in {".csv", ".tsv"}:
            return pd.concat([pd.read_csv(f, sep="\t" if suffix == ".tsv" else ",") for f in files], ignore_index=True)
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    except Exception as exc:  # the reader's own message says what is corrupt
        msg = f"cannot read {path!r}: {type(exc).__name__}: {exc}"
        raise DataError(msg) from None


def frame(data):
    """A narwhals DataFrame or LazyFrame of the input."""
    import narwhals as nw

    if _is_path(data):
        data = _scan_path(data)
    if isinstance(data, dict):
        pd = sys.modules.get("pandas")
        if pd is None:
            import pandas as pd
        data = pd.DataFrame(data)
    try:
        return nw.from_native(data)
    except TypeError:
        msg = (
            f"`data` must be a pandas, Polars or PyArrow table, a DuckDB relation, a Dask DataFrame, a dict of "
            f"columns or a path to CSV/Parquet files, not {type(data).__name__}"
        )
        raise TypeError(msg) from None


def _kind(dtype) -> str:
    import narwhals as nw

    if dtype == nw.Boolean:
        return "boolean"
    if isinstance(dtype, (nw.Datetime, nw.Date)) or dtype in (nw.Datetime, nw.Date):
        return "datetime"
    if dtype.is_numeric():
        return "numeric"
    if dtype in (nw.Unknown,):
        return "null"
    return "categorical"  # String, Categorical, Enum, Object, ...


def read_columns(data, columns=None):
    """The columns of ``data`` (all, or those named), an iterator of :class:`Column`, and the names asked for but absent."""
    f = frame(data)
    where = repr(os.fspath(data)) if _is_path(data) else "the data"
    try:
        schema = dict(f.collect_schema())
    except Exception as exc:
        msg = f"cannot read {where}: {type(exc).__name__}: {exc}"
        raise DataError(msg) from None
    names = list(schema) if columns is None else [c for c in columns if c in schema]
    absent = [] if columns is None else [c for c in columns if c not in schema]
    if _is_parquet(data):
        # Parquet reads one column without the others: one column in memory at a time, or in batches where long
        return _one_by_one(f, names, schema, where, _files(os.fspath(data))), absent
    from ._lazy import lazy_columns  # Polars LazyFrames (CSV paths) and DuckDB relations: the backend scans

    lazy = lazy_columns(f, names, schema, where, data)
    if lazy is not None:
        return lazy, absent
    eager = _collect(f, names, where)
    return (_column(eager[c], c, schema[c]) for c in names), absent


def _is_parquet(data) -> bool:
    return _is_path(data) and os.fspath(data).lower().endswith((".parquet", ".pq"))


def _collect(f, names, where):
    """The named columns of a (lazy) frame, read."""
    import narwhals as nw

    try:
        return f.select(names).collect() if isinstance(f, nw.LazyFrame) else f.select(names)
    except Exception as exc:
        msg = f"cannot read {where}: {type(exc).__name__}: {exc}"
        raise DataError(msg) from None


def _files(path: str) -> list[str]:
    return sorted(glob.glob(path)) if any(c in path for c in "*?[") else [path]


def _one_by_one(f, names, schema, where, files):
    metas = _long_metadata(files)  # read once for all columns (a wide file's footer is large)
    for c in names:
        col = _batched(metas, files, c, schema[c]) if metas and _kind(schema[c]) == "numeric" else None
        if col is None and _is_text(schema[c]):
            col = _dictionary_counts(files, c, schema[c])
        yield col if col is not None else _column(_collect(f, [c], where)[c], c, schema[c])


def _indices(pa, arr) -> np.ndarray:
    """The non-null dictionary indices of an Arrow array, a view of its buffer (``Array.to_numpy`` imports pandas)."""
    idx = arr.indices.drop_null()
    t = idx.type
    dt = np.dtype(f"{'i' if pa.types.is_signed_integer(t) else 'u'}{t.bit_width // 8}")
    return np.frombuffer(idx.buffers()[1], dtype=dt, count=len(idx), offset=idx.offset * dt.itemsize)


def _arrow_text(pa, t) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _is_text(dtype) -> bool:
    import narwhals as nw

    return dtype == nw.String or isinstance(dtype, (nw.Categorical, nw.Enum)) or dtype in (nw.Categorical, nw.Enum)


def _dictionary_counts(files, name, dtype) -> Column | None:
    """A text Parquet column's value counts from its dictionary: pyarrow reads each batch's dictionary and
    indices (``read_dictionary``), ``np.bincount`` counts the indices; no string is built per row, and memory
    stays that of a batch.  None (read it whole) without pyarrow, or where a file's column is not text."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq  # ParquetFile, not read_table: that one imports pyarrow.dataset, and pandas

        acc: dict = {}
        n = missing = 0
        for fn in files:
            pf = pq.ParquetFile(fn, read_dictionary=[name])
            for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=[name], use_threads=False):
                arr = batch.column(0)
                if not (pa.types.is_dictionary(arr.type) and _arrow_text(pa, arr.type.value_type)):
                    return None
                n, missing = n + len(arr), missing + arr.null_count
                counts = np.bincount(_indices(pa, arr), minlength=len(arr.dictionary)).tolist()
                for label, k in zip(arr.dictionary.to_pylist(), counts, strict=True):
                    if k:
                        acc[label] = acc.get(label, 0) + k
    except Exception:  # the usual reader then reports what is wrong
        return None
    return _counted(name, "categorical", str(dtype), list(acc), np.asarray(list(acc.values()), dtype=np.int64), n, missing)


# A numeric Parquet column of more rows than this is read in batches of BATCH_ROWS rows, never whole: its edges
# (kullback.data._exact, a few passes) and counts need bounded memory, so 10^8 rows profile as 10^6 do.
STREAM_ROWS = 1 << 25
BATCH_ROWS = 1 << 20


class Batches:
    """A numeric column read in batches: calling it starts a new pass, an iterator of float64 arrays of its
    non-missing values (``find_edges`` takes this; ``EdgeCounter.add`` each array)."""

    def __init__(self, files, name):
        self.files, self.name = files, name

    def __call__(self):
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        for fn in self.files:
            for b in pq.ParquetFile(fn).iter_batches(batch_size=BATCH_ROWS, columns=[self.name]):
                a = b.column(0).drop_null()
                yield np.asarray(pc.cast(a, pa.float64(), safe=False).to_numpy(zero_copy_only=False), dtype=np.float64)


def _long_metadata(files):
    """The files' Parquet metadata where their rows exceed STREAM_ROWS, else None (also without pyarrow or on an
    unreadable footer: the columns are then read whole, and errors reported there)."""
    try:
        import pyarrow.parquet as pq

        metas = [pq.ParquetFile(fn).metadata for fn in files]
    except Exception:
        return None
    return metas if sum(m.num_rows for m in metas) > STREAM_ROWS else None


def _batched(metas, files, name, dtype) -> Column | None:
    """The column as :class:`Batches` where the files' metadata give its nulls, else None (read it whole)."""
    n = missing = 0
    for meta in metas:
        paths = [meta.schema.column(i).path for i in range(meta.num_columns)]
        if name not in paths:  # a nested column (its leaves have dotted paths)
            return None
        j = paths.index(name)
        n += meta.num_rows
        for g in range(meta.num_row_groups):
            st = meta.row_group(g).column(j).statistics
            if st is None or not st.has_null_count:
                return None
            missing += st.null_count
    if missing == n:
        return None
    return Column(name, "numeric", str(dtype), Batches(files, name), n, missing)


def _column(s, name, dtype) -> Column:
    """One narwhals Series as a Column: missing counted, values in their canonical NumPy form."""
    import narwhals as nw

    kind = _kind(dtype)
    n = len(s)
    missing = int(s.null_count())
    if kind != "null" and missing == n and n > 0:
        kind = "null"
    s = s.drop_nulls()
    if kind == "numeric":
        values = _float64(s.cast(nw.Float64))
    elif kind == "datetime":
        values = _datetime_ns(s)
    elif kind in {"boolean", "categorical"}:
        vc = s.value_counts(sort=True, name="__count__")
        labels = [_label(v) for v in vc[name].to_list()]
        return _counted(name, kind, str(dtype), labels, np.asarray(vc["__count__"].to_numpy(), dtype=np.int64), n, missing)
    else:
        values = None
    return Column(name, kind, str(dtype), values, n, missing)


def _float64(s):
    """A Float64 Series' values: a view of each chunk of a Polars Series (no copy into one array), else one array."""
    pl = sys.modules.get("polars")
    native = s.to_native()
    if pl is not None and isinstance(native, pl.Series) and native.n_chunks() > 1:
        return [np.asarray(c.to_numpy(), dtype=np.float64) for c in native.get_chunks()]
    return s.to_numpy().astype(np.float64, copy=False)


def _counted(name, kind, dtype, labels, counts, n, missing) -> Column:
    """A categorical or boolean Column from its value counts (labels equal as text merged)."""
    if missing == n and n > 0:
        return Column(name, "null", dtype, None, n, missing)
    values = (labels, counts)
    if kind == "categorical":
        values = _merge_labels(*values)
        if values[0] and all(isinstance(v, bool) for v in values[0]):
            kind = "boolean"  # an object column of booleans (pandas: True/False with None)
    return Column(name, kind, dtype, values, n, missing)


def _datetime_ns(s) -> np.ndarray:
    """Datetimes (or dates) as int64 nanoseconds since the epoch (time zones dropped: UTC instants)."""
    arr = np.asarray(s.to_numpy())
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[ns]").astype(np.int64)
    # object arrays of datetime.date / datetime (e.g. PyArrow dates): go through numpy's datetime64
    return np.asarray(arr, dtype="datetime64[ns]").astype(np.int64)


def _label(v):
    """A category as a JSON key: booleans stay booleans, everything else its text."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    return v if isinstance(v, str) else str(v)


def _merge_labels(labels, counts):
    """Counts summed over labels that became equal as text (an object column holding 1 and "1")."""
    if len(set(labels)) == len(labels):
        return labels, counts
    acc: dict = {}
    for k, c in zip(labels, counts.tolist(), strict=True):
        acc[k] = acc.get(k, 0) + c
    return list(acc), np.asarray(list(acc.values()), dtype=np.int64)
