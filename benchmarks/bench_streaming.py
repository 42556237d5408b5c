"""Peak memory of `kb.compare` on long Parquet columns: does it grow with the rows?

Writes two Parquet files of ``rows`` rows x ``columns`` numeric columns (row group by row group, so writing
fits in memory too), then runs ``kb.compare`` in a fresh process and reports its wall time, its CPU time
(every thread's), its peak resident memory (``getrusage``) and the load average before / after. A numeric
Parquet column longer than ``kullback.data._read.STREAM_ROWS`` (2^25) is read in batches of 2^20 rows: its
exact quantile edges come from a few passes (``kullback.data._exact``), its counts from comparisons per
batch, so the peak should not depend on the rows.

    python benchmarks/bench_streaming.py --rows 10000000 100000000 --columns 2

The files go to a temporary folder, removed at the end (10^8 rows x 2 columns: 1.6 GB per file).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def write(path, rows, columns, shift, seed, group=1 << 20):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    schema = pa.schema([(f"x{j}", pa.float64()) for j in range(columns)])
    with pq.ParquetWriter(path, schema) as w:
        for start in range(0, rows, group):
            m = min(group, rows - start)
            w.write_table(pa.table({f"x{j}": rng.normal(shift * (j == 0), 1, m) for j in range(columns)}, schema=schema))


def child(ref, cur):
    import resource

    import kullback as kb

    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter()
    c = kb.compare(ref, cur)
    s = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime  # every thread's
    print(json.dumps({"s": s, "cpu_s": cpu, "maxrss_mb": r1.ru_maxrss / 1024, "drift": [r.column for r in c.columns if r.drift]}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 100_000_000])
    ap.add_argument("--columns", type=int, default=2)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        return child(*a.child)
    print("| rows | columns | seconds | CPU (s) | peak RSS (MB) | load average | drift found in |")
    print("|---|---|---|---|---|---|---|")
    for rows in a.rows:
        with tempfile.TemporaryDirectory() as d:
            ref, cur = os.path.join(d, "ref.parquet"), os.path.join(d, "cur.parquet")
            write(ref, rows, a.columns, 0.0, 1)
            write(cur, rows, a.columns, 0.5, 2)
            load = os.getloadavg()[0]
            out = subprocess.run([sys.executable, __file__, "--child", ref, cur], capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            load = f"{load:.1f} / {os.getloadavg()[0]:.1f}"
            print(
                f"| {rows:.0e} | {a.columns} | {r['s']:.1f} | {r['cpu_s']:.1f} | {r['maxrss_mb']:.0f} | {load} | {', '.join(r['drift'])} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
