"""Peak memory and time of `kb.profile` on a DuckDB table and a CSV file, read by the backend vs collected whole.

Writes a DuckDB database file holding one table of ``rows`` rows (``x`` normal floats, ``k`` integers of a
Poisson law, ``s`` one of 8 labels) and the same table as a CSV file, then profiles each in a fresh process
and reports the wall time and the peak resident memory (``getrusage``), in four ways:

- ``backend``: ``kb.profile(relation)`` / ``kb.profile(path)``: the backend scans (``kullback.data._lazy``):
  numeric columns in batches of 2^20 rows, the labels counted by one group-by;
- ``backend, fixed edges``: the same table counted on the edges of the first profile (what ``kb.compare``
  does with the current table): one aggregate query per numeric column;
- ``whole``: the table collected whole first (the path before the lazy reader, kept for comparison);
- ``floor``: the backend reading the three columns whole and nothing else (``rel.to_arrow_table()``,
  ``pl.read_csv``).

    python benchmarks/bench_backends.py --rows 10000000

The files go to a temporary folder, removed at the end (10^7 rows: 0.3 GB of CSV).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

MODES = ("backend", "backend, fixed edges", "whole", "floor")


def write(folder, rows):
    import duckdb

    db, csv = os.path.join(folder, "t.duckdb"), os.path.join(folder, "t.csv")
    con = duckdb.connect(db)
    con.execute("SELECT setseed(0.5)")
    con.execute(
        f"""CREATE TABLE t AS SELECT
              sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS x,
              CAST(floor(-ln(1 - random()) * 3) AS BIGINT) AS k,
              'label_' || CAST(floor(random() * 8) AS INTEGER) AS s
            FROM range({rows})"""
    )
    con.execute(f"COPY t TO '{csv}' (HEADER)")
    con.close()
    return db, csv


def child(mode, source, path):
    import resource

    import kullback as kb
    from kullback.data import _lazy

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    if source == "duckdb":
        import duckdb

        con = duckdb.connect(path, read_only=True)
        data = lambda: con.table("t")  # noqa: E731
    else:
        data = lambda: path  # noqa: E731
    if mode == "floor":
        if source == "duckdb":
            data().to_arrow_table()
        else:
            import polars as pl

            pl.read_csv(path, infer_schema_length=None)
    elif mode == "whole":
        _lazy.lazy_columns = lambda *a: None  # the eager read: the table collected, then profiled
        kb.profile(data())
    elif mode == "backend":
        kb.profile(data())
    else:
        ref = kb.profile(data())
        t = time.perf_counter()
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        kb.profile(data(), bins=ref)
    s = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"s": s, "peak_mb": rss, "start_mb": base}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--write", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        return child(*a.child)
    if a.write:
        return write(a.write[0], int(a.write[1])) and 0
    with tempfile.TemporaryDirectory() as folder:
        # written by a child: a process's peak RSS passes to the children it starts (Linux keeps ru_maxrss over exec)
        subprocess.run([sys.executable, __file__, "--write", folder, str(a.rows)], check=True)
        db, csv = os.path.join(folder, "t.duckdb"), os.path.join(folder, "t.csv")
        mb = os.path.getsize(csv) / 2**20
        print(f"{a.rows:,} rows x 3 columns (float, integer, 8 labels); CSV {mb:.0f} MB\n")
        print("| input | read | seconds | peak RSS (MB) | RSS before (MB) |")
        print("|---|---|---|---|---|")
        for source, path in (("duckdb", db), ("csv", csv)):
            for mode in MODES:
                out = subprocess.run([sys.executable, __file__, "--child", mode, source, path], capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                name = "DuckDB table" if source == "duckdb" else "CSV path"
                print(f"| {name} | {mode} | {r['s']:.2f} | {r['peak_mb']:.0f} | {r['start_mb']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
