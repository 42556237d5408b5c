"""Dask DataFrames: one profile per partition, on shared edges, merged exactly (on a cluster if one is running).

Edges come first, from a sketch: each partition sends its exact minimum and maximum and a uniform sample
of at most ``_SAMPLE`` finite values per column; the quantiles of the pooled sample choose the edges
(a sketch only chooses edges).  Then every partition is counted exactly on those edges and the
profiles are added, so the numbers are those of one process counting the whole table on the same edges.
"""

from __future__ import annotations

import numpy as np

from ._exact import find_edges
from ._profile import ColumnProfile, Profile, profile
from ._read import read_columns

__all__ = ["profile_dask"]

_SAMPLE = 5000


def _sketch(pdf, columns):
    """Per binned column of one partition: (kind, min, max, a sample of its finite values)."""
    cols, _ = read_columns(pdf, columns)
    rng = np.random.default_rng(len(pdf))
    out = {}
    for c in cols:
        if c.kind not in ("numeric", "datetime"):
            continue
        v = np.concatenate(c.values) if isinstance(c.values, list) else c.values  # a Polars partition's chunks
        v = v[np.isfinite(v)] if c.kind == "numeric" else v
        if v.size:
            sample = v if v.size <= _SAMPLE else rng.choice(v, _SAMPLE, replace=False)
            out[c.name] = (c.kind, v.min(), v.max(), sample)
    return out


def _layout(parts, columns, bins, compute):
    """Edges for every binned column from the partitions' sketches."""
    import dask

    sketches = compute(*[dask.delayed(_sketch)(p, columns) for p in parts])
    pooled: dict = {}
    for s in sketches:
        for name, (kind, lo, hi, sample) in s.items():
            k, a, b, xs = pooled.get(name, (kind, lo, hi, []))
            pooled[name] = (kind, min(a, lo), max(b, hi), [*xs, sample])
    layout = {}
    for name, (kind, lo, hi, samples) in pooled.items():
        edges, kind_of_layout, _ = find_edges(lambda samples=samples: iter(samples), kind, bins)  # the rule of one process
        edges = list(edges)
        edges[0], edges[-1] = min(edges[0], lo), max(edges[-1], hi)  # the exact range, not the sample's
        cast = int if kind == "datetime" else float
        layout[name] = ColumnProfile(name, kind, "", 0, 0, edges=tuple(cast(e) for e in edges), layout=kind_of_layout)
    return Profile(layout)


def _part_profile(pdf, columns, layout, max_categories):
    return profile(pdf, columns=columns, bins=layout, max_categories=max_categories)


def _add(*profiles):
    return sum(profiles[1:], profiles[0])


def profile_dask(ddf, *, columns=None, bins="auto", max_categories=1000) -> Profile:
    """The profile of a Dask DataFrame: partitions profiled on shared edges and merged (a tree of sums)."""
    import dask

    compute = dask.compute  # the distributed scheduler when a Client is active, else the local one
    columns = list(ddf.columns) if columns is None else list(columns)
    parts = ddf.to_delayed()
    layout = bins if isinstance(bins, (Profile, dict)) else _layout(parts, columns, bins, compute)
    level = [dask.delayed(_part_profile)(p, columns, layout, max_categories) for p in parts]
    while len(level) > 1:  # pairwise tree reduction: merges run on the workers
        level = [dask.delayed(_add)(*level[i : i + 8]) for i in range(0, len(level), 8)]
    return compute(level[0])[0]
