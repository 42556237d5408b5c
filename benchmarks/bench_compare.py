"""Speed of comparing two Parquet tables (issue 27): kb.compare end to end against a pandas + scipy loop and the
floor of Polars reading the same columns, each in a fresh process (time and peak memory, maxrss).

Data: two files of `rows` rows x 20 columns (15 numeric: normal, lognormal, integer; 5 categorical of 4-50 values),
the current one with 3 numeric and 1 categorical column shifted.  Evidently is not installed here (its install
pulls dozens of packages); the issue's figures for it (657 s / 16 GB for its KL test at 10^7 rows) are its own.

    python benchmarks/bench_compare.py --rows 1000000 [--out docs/benchmarks-compare.md]
    python benchmarks/bench_compare.py --rows 10000000        # the issue's size (about 3 GB of RAM for the data)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def make(path, rows, shift, seed):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    cols = {}
    for i in range(15):
        s = shift if i < 3 else 0.0
        if i % 3 == 0:
            cols[f"n{i}"] = rng.normal(s, 1.0, rows)
        elif i % 3 == 1:
            cols[f"n{i}"] = rng.lognormal(s, 1.0, rows)
        else:
            cols[f"n{i}"] = rng.poisson(5 + 10 * s, rows).astype(np.int64)
    for j in range(5):
        k = 4 + 11 * j
        p = np.ones(k) / k
        if j == 0 and shift:
            p = np.r_[p[:-1] * 0.8, 0.0] + np.r_[np.zeros(k - 1), 1.0] * (1 - 0.8 * p[:-1].sum())
        cols[f"c{j}"] = np.array([f"v{i}" for i in range(k)])[rng.choice(k, rows, p=p / p.sum())]
    pq.write_table(pa.table(cols), path)


def floor(ref, cur):
    import polars as pl

    for f in (ref, cur):
        pl.read_parquet(f)


def kullback(ref, cur):
    import kullback as kb

    c = kb.compare(ref, cur)
    return c.drifted


def pandas_scipy(ref, cur):
    """The loop people write: pandas reads, deciles of the reference, np.histogram, scipy's entropy (KL), PSI."""
    import pandas as pd
    from scipy.stats import entropy

    a, b = pd.read_parquet(ref), pd.read_parquet(cur)
    out = {}
    for col in a.columns:
        if a[col].dtype.kind in "if":
            edges = np.unique(np.quantile(a[col], np.linspace(0, 1, 11)))
            edges[0], edges[-1] = -np.inf, np.inf
            p = np.histogram(b[col], edges)[0] + 0.5
            q = np.histogram(a[col], edges)[0] + 0.5
        else:
            vc = pd.concat([a[col].value_counts(), b[col].value_counts()], axis=1).fillna(0) + 0.5
            q, p = vc.iloc[:, 0].to_numpy(), vc.iloc[:, 1].to_numpy()
        p, q = p / p.sum(), q / q.sum()
        out[col] = (entropy(p, q), entropy(q, p), float(np.sum((p - q) * np.log(p / q))))
    return out


METHODS = {"polars read (floor)": floor, "kullback compare": kullback, "pandas + scipy loop": pandas_scipy}


def child(method, ref, cur):
    import resource

    t = time.perf_counter()
    METHODS[method](ref, cur)
    dt = time.perf_counter() - t
    print(json.dumps({"s": dt, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out")
    ap.add_argument("--child", nargs=3)
    ap.add_argument("--make", nargs=4)
    args = ap.parse_args()
    if args.child:
        return child(*args.child)
    if args.make:  # in a process of its own: Linux keeps a parent's peak RSS in ru_maxrss across fork and exec
        return make(args.make[0], int(args.make[1]), float(args.make[2]), int(args.make[3]))
    with tempfile.TemporaryDirectory() as tmp:
        ref, cur = os.path.join(tmp, "ref.parquet"), os.path.join(tmp, "cur.parquet")
        for path, shift, seed in ((ref, 0.0, 1), (cur, 0.3, 2)):
            subprocess.run([sys.executable, __file__, "--make", path, str(args.rows), str(shift), str(seed)], check=True)
        rows = []
        for name in METHODS:
            runs = []
            for _ in range(args.repeat):
                r = subprocess.run([sys.executable, __file__, "--child", name, ref, cur], capture_output=True, text=True, check=True)
                runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
            best = min(runs, key=lambda d: d["s"])
            rows.append((name, best["s"], best["maxrss_mb"]))
    fl = rows[0][1]
    lines = [
        f"{args.rows:.0e} rows x 20 columns (15 numeric, 5 categorical), two Parquet files; best of {args.repeat}, each in a fresh process",
        "",
        "| method | seconds | x read floor | peak RSS (MB) |",
        "|---|---|---|---|",
    ]
    lines += [f"| {n} | {s:.2f} | {s / fl:.1f} | {m:.0f} |" for n, s, m in rows]
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
