"""Datasets: per-column profiles on fixed bins, and their comparison (``kb.profile``, ``kb.compare``).

Reading goes through narwhals (pandas, Polars eager or lazy, PyArrow, DuckDB relations, CSV/Parquet
paths and globs); Dask DataFrames are profiled partition by partition and merged.
"""

from ._compare import ColumnComparison, Comparison, compare
from ._profile import ColumnProfile, Profile, profile
from ._read import DataError

__all__ = ["profile", "Profile", "ColumnProfile", "compare", "Comparison", "ColumnComparison", "DataError"]
