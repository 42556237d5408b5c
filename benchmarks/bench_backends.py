"""Peak memory and time of `kb.profile` on a DuckDB table and a CSV file, read by the backend vs collected whole.

Writes a DuckDB database file holding one table of ``rows`` rows (``x`` normal floats, ``k`` integers of a
geometric law, ``s`` one of 8 labels) and the same table as a CSV file, then profiles each in a fresh process
and reports the wall time, the peak resident memory (``getrusage``) and the peak of its anonymous part
(what the process allocated, without the pages of the files it maps), in these ways:

- ``backend``: ``kb.profile(relation)`` / ``kb.profile(path)``: the backend scans (``kullback.data._lazy``):
  numeric columns in batches of 2^20 rows, the labels counted by one group-by;
- ``backend, DuckDB memory_limit``: the same, DuckDB's cache of the blocks it read capped (``SET
  memory_limit``, 128 MB or ``--duckdb-memory-limit``; by default DuckDB keeps up to 80% of the RAM,
  which shows in the resident memory as the rows grow);
- ``backend, fixed edges``: the same table counted on the edges of the first profile, loaded from its
  JSON (what ``kb.compare`` does with the current table): one aggregate query per numeric column;
- ``scan_csv, schema given``: the CSV as a Polars LazyFrame whose schema is given (a path's columns are
  typed by Polars reading every row first, ``infer_schema_length=None``, so that a column with text after
  many numbers stays text: that inference is the CSV path's peak);
- ``whole``: the table collected whole first (the path before the lazy reader, kept for comparison);
- ``floor``: the backend reading the three columns whole and nothing else (``rel.to_arrow_table()``,
  ``pl.read_csv``).

    python benchmarks/bench_backends.py --rows 10000000
    python benchmarks/bench_backends.py --rows 30000000 --inputs duckdb
    python benchmarks/bench_backends.py --rows 1000000 --wide

``--wide``: a CSV of 20 columns, short enough (10^6 rows) to be read a few columns per scan (``backend``),
against ``by column`` (the long tables' way) and ``whole``.

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

MODES = ("backend", "backend, DuckDB memory_limit", "backend, fixed edges", "scan_csv, schema given", "whole", "floor")


def write(folder, rows, wide=False):
    import duckdb

    db, csv = os.path.join(folder, "t.duckdb"), os.path.join(folder, "t.csv")
    con = duckdb.connect(db)
    con.execute("SELECT setseed(0.5)")
    if wide:  # 15 normal floats and 5 columns of 5 labels, as CSV only
        cols = [f"sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS x{j}" for j in range(15)]
        cols += [f"'v' || CAST(floor(random() * 5) AS INTEGER) AS c{j}" for j in range(5)]
        con.execute(f"COPY (SELECT {', '.join(cols)} FROM range({rows})) TO '{csv}' (HEADER)")
        return con.close()
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


class AnonPeak:
    """The peak of the process's anonymous resident memory (``RssAnon``, sampled every 2 ms): what it
    allocated, without the pages of files it maps (Polars maps the CSV; they count in the RSS)."""

    def __init__(self):
        import threading

        self.peak, self.stop = 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.wait(0.002):
            with open("/proc/self/status") as fh:
                kb = next(int(line.split()[1]) for line in fh if line.startswith("RssAnon"))
            self.peak = max(self.peak, kb / 1024)

    def done(self):
        self.stop.set()
        self.thread.join()
        return self.peak


def child(mode, source, path):
    import resource

    import kullback as kb
    from kullback.data import _lazy

    ref = path + ".profile.json"  # the "backend" run's profile, the edges of the "fixed edges" run
    if source == "duckdb":
        import duckdb

        con = duckdb.connect(path, read_only=True)
        if mode.endswith("memory_limit"):  # DuckDB keeps the blocks it read cached up to this (default 80% of RAM)
            con.execute(f"SET memory_limit = '{os.environ.get('KB_DUCKDB_LIMIT', '128MB')}'")
        data = lambda: con.table("t")  # noqa: E731
    else:
        data = lambda: path  # noqa: E731
    bins = kb.Profile.load(ref) if "fixed" in mode else "auto"
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    anon = AnonPeak()
    t = time.perf_counter()
    if mode == "floor":
        if source == "duckdb":
            data().to_arrow_table()
        else:
            import polars as pl

            pl.read_csv(path, infer_schema_length=None)
    elif mode == "by column":  # a short table read column by column, as a long one is
        _lazy.WHOLE_VALUES = 0
        kb.profile(data())
    elif mode == "whole":
        _lazy.lazy_columns = lambda *a: None  # the eager read: the table collected, then profiled
        kb.profile(data())
    elif mode == "scan_csv, schema given":  # a Polars LazyFrame: no inference over every row of the file
        import polars as pl

        kb.profile(pl.scan_csv(path, schema={"x": pl.Float64, "k": pl.Int64, "s": pl.String}))
    else:
        p = kb.profile(data(), bins=bins)
        if mode == "backend":
            p.save(ref)
    s = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"s": s, "peak_mb": rss, "start_mb": base, "anon_mb": anon.done()}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--inputs", nargs="+", default=["duckdb", "csv"], choices=["duckdb", "csv"])
    ap.add_argument("--duckdb-memory-limit", default="128MB")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--wide", action="store_true", help="a CSV of 20 columns (15 floats, 5 label columns)")
    ap.add_argument("--write", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        return child(*a.child)
    if a.write:
        return write(a.write[0], int(a.write[1]), a.write[2] == "wide") and 0
    with tempfile.TemporaryDirectory() as folder:
        # written by a child: a process's peak RSS passes to the children it starts (Linux keeps ru_maxrss over exec)
        shape = "wide" if a.wide else "long"
        subprocess.run([sys.executable, __file__, "--write", folder, str(a.rows), shape], check=True)
        db, csv = os.path.join(folder, "t.duckdb"), os.path.join(folder, "t.csv")
        mb = os.path.getsize(csv) / 2**20
        what = "20 columns (15 floats, 5 label columns)" if a.wide else "3 columns (float, integer, 8 labels)"
        print(f"{a.rows:,} rows x {what}; CSV {mb:.0f} MB\n")
        print("| input | read | seconds | peak RSS (MB) | peak anonymous (MB) | RSS before (MB) |")
        print("|---|---|---|---|---|---|")
        for source, path in (("duckdb", db), ("csv", csv)):
            if source not in (["csv"] if a.wide else a.inputs):
                continue
            modes = [m for m in MODES if ("scan_csv" if source == "duckdb" else "memory_limit") not in m]
            for mode in ("backend", "by column", "whole") if a.wide else modes:
                env = os.environ | {"KB_DUCKDB_LIMIT": a.duckdb_memory_limit}
                cmd = [sys.executable, __file__, "--child", mode, source, path]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                name = "DuckDB table" if source == "duckdb" else "CSV path"
                print(f"| {name} | {mode} | {r['s']:.2f} | {r['peak_mb']:.0f} | {r['anon_mb']:.0f} | {r['start_mb']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
