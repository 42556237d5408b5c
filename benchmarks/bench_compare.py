"""Speed of comparing two Parquet tables (issue 27): kb.compare end to end beside its peers, each in a fresh process.

Rows (``--methods``, comma-separated keys; default: every row that applies to the case):

    floor          Polars reads both files (the floor: reading, nothing computed)
    kullback       kb.compare(ref_path, cur_path) end to end
    pandas-scipy   the loop people write: pandas reads, reference deciles, np.histogram, scipy's entropy, PSI
    evidently      Evidently's data-drift preset, its defaults: Report([DataDriftPreset()])
    evidently-kl   the same preset with its KL-divergence drift test on every column (method="kl_div")
    evidently-psi  the same preset with its PSI drift test on every column (method="psi")
    nannyml        NannyML's UnivariateDriftCalculator, its defaults (Jensen-Shannon, 10 chunks); wide case only

Each row runs in a process of its own (time of the call, its CPU time over all threads, time of its imports, peak RSS
from getrusage; the load average before and after the run is printed with the table), with a
timeout; a row whose library is missing, that fails or that runs out of time says so in the table instead of
stopping the run.  The peers need their own environment (see benchmarks/requirements-peers.txt): run this
script with that venv's Python and every row, kullback's included, runs side by side on the same files.

Data: two files of `rows` rows x 20 columns (15 numeric: normal, lognormal, Poisson counts; 5 categorical of
4-48 values), the current one with 3 numeric and 1 categorical column changed; or, with ``--wide``, `rows` x
``--columns`` (default 1000) normal columns, the first ten of the current file shifted by 0.2 sd.

    /work/venv-peers/bin/python benchmarks/bench_compare.py --rows 1000000 [--out table.md]
    /work/venv-peers/bin/python benchmarks/bench_compare.py --rows 100000 --wide
    python benchmarks/bench_compare.py --rows 1000000 --methods floor,kullback,pandas-scipy   # no peers needed

The script prints a Markdown table (the one in docs/benchmarks-compare.md); ``--out`` also writes it to a file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# The peers send usage data by default (Evidently through iterative-telemetry, NannyML through its usage logger).
NO_TELEMETRY = {"DO_NOT_TRACK": "1", "ITERATIVE_DO_NOT_TRACK": "1", "NML_DISABLE_USAGE_LOGGING": "1"}
NARROW_NUMERIC = [f"n{i}" for i in range(15)]
NARROW_CATEGORICAL = [f"c{j}" for j in range(5)]
WIDE_SHIFTED = 10


# ---------------------------------------------------------------- the data


def make(path, rows, shift, seed):
    """rows x 20 columns: 15 numeric (normal, lognormal, Poisson), 5 categorical; `shift` moves n0-n2 and c0."""
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


def make_wide(path, rows, shift, seed, columns):
    """rows x columns normal columns, written in slices of 100 columns (memory stays at one slice)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(columns)]
    schema = pa.schema([(n, pa.float64()) for n in names])
    # One row group per 10^5 rows; each written from a block of rows, all columns at once.
    block = 100_000
    with pq.ParquetWriter(path, schema) as w:
        for start in range(0, rows, block):
            m = min(block, rows - start)
            x = rng.normal(size=(m, columns))
            x[:, :WIDE_SHIFTED] += shift
            w.write_table(pa.table({n: x[:, i] for i, n in enumerate(names)}, schema=schema))


def columns_of(path):
    import pyarrow.parquet as pq

    return pq.read_schema(path).names


def kinds(path):
    """(numeric, categorical) column names of a file of this benchmark."""
    names = columns_of(path)
    return [n for n in names if not n.startswith("c")], [n for n in names if n.startswith("c")]


# ---------------------------------------------------------------- the rows; each returns what it flagged


def floor(ref, cur):
    import polars as pl

    for f in (ref, cur):
        pl.read_parquet(f)
    return ""


def kullback(ref, cur):
    import kullback as kb

    c = kb.compare(ref, cur)
    return f"{len(c.drifted)} drift, {sum(r.significant for r in c)} significant"


def pandas_scipy(ref, cur):
    """The loop people write: pandas reads, deciles of the reference, np.histogram, scipy's entropy (KL), PSI."""
    import pandas as pd
    from scipy.stats import entropy

    a, b = pd.read_parquet(ref), pd.read_parquet(cur)
    flagged = 0
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
        kl, kl_reverse = entropy(p, q), entropy(q, p)
        flagged += kl + kl_reverse > 0.1
    return f"{flagged} PSI > 0.1"


def _evidently(ref, cur, method):
    """Evidently's documented use: Dataset.from_pandas with a DataDefinition, Report([DataDriftPreset()]).run."""
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    num, cat = kinds(ref)
    definition = DataDefinition(numerical_columns=num, categorical_columns=cat)
    a = Dataset.from_pandas(pd.read_parquet(ref), data_definition=definition)
    b = Dataset.from_pandas(pd.read_parquet(cur), data_definition=definition)
    snapshot = Report([DataDriftPreset(method=method)]).run(b, a)
    first = snapshot.dict()["metrics"][0]  # DriftedColumnsCount: {"count": ..., "share": ...}
    return f"{int(first['value']['count'])} drift"


def evidently(ref, cur):
    return _evidently(ref, cur, None)


def evidently_kl(ref, cur):
    return _evidently(ref, cur, "kl_div")


def evidently_psi(ref, cur):
    return _evidently(ref, cur, "psi")


def nannyml(ref, cur):
    """NannyML's documented use: UnivariateDriftCalculator(column_names=...).fit(reference).calculate(analysis)."""
    import nannyml as nml
    import pandas as pd

    a, b = pd.read_parquet(ref), pd.read_parquet(cur)
    calc = nml.UnivariateDriftCalculator(column_names=list(a.columns))
    calc.fit(a)
    df = calc.calculate(b).filter(period="analysis").to_df()
    alerts = df.loc[:, [c for c in df.columns if c[-1] == "alert"]].astype(bool)
    return f"{int(alerts.any().sum())} columns with an alert ({int(alerts.to_numpy().sum())} of {alerts.size} chunk alerts)"


# key -> (label, function, the cases it applies to)
METHODS = {
    "floor": ("polars read (floor)", floor, ("narrow", "wide")),
    "kullback": ("kullback compare", kullback, ("narrow", "wide")),
    "pandas-scipy": ("pandas + scipy loop", pandas_scipy, ("narrow", "wide")),
    "evidently": ("Evidently DataDriftPreset (defaults)", evidently, ("narrow", "wide")),
    "evidently-kl": ("Evidently KL drift test (kl_div)", evidently_kl, ("narrow",)),
    "evidently-psi": ("Evidently PSI drift test (psi)", evidently_psi, ("narrow",)),
    "nannyml": ("NannyML univariate drift (defaults)", nannyml, ("wide",)),
}
IMPORTS = {
    "floor": ["polars"],
    # kullback reads Parquet through Polars (numeric columns) and pyarrow (text columns, from their dictionary):
    # imported here, as the floor's Polars is (numba, for the engine's kernel on long columns, is imported in the call)
    "kullback": ["kullback", "kullback.data", "polars", "narwhals", "pyarrow.parquet"],
    "pandas-scipy": ["pandas", "scipy.stats"],
    "evidently": ["pandas", "evidently", "evidently.presets"],
    "evidently-kl": ["pandas", "evidently", "evidently.presets"],
    "evidently-psi": ["pandas", "evidently", "evidently.presets"],
    "nannyml": ["pandas", "nannyml"],
}


def parse_methods(text, case):
    """The keys of `text` ("a,b" or None for every row of the case), in the table's order; unknown keys raise."""
    if text is None:
        return [k for k, (_, _, cases) in METHODS.items() if case in cases]
    keys = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in keys if k not in METHODS]
    if unknown:
        msg = f"`--methods` names {unknown}, which are not rows of this benchmark; choose among {list(METHODS)}"
        raise SystemExit(msg)
    return [k for k in METHODS if k in keys]


# ---------------------------------------------------------------- one row in a fresh process


def child(key, ref, cur):
    import importlib
    import resource

    t = time.perf_counter()
    for m in IMPORTS[key]:
        importlib.import_module(m)
    t_import = time.perf_counter() - t
    cpu = _cpu(resource)
    t = time.perf_counter()
    flagged = METHODS[key][1](ref, cur)
    dt = time.perf_counter() - t
    cpu = _cpu(resource) - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"s": dt, "cpu_s": cpu, "import_s": t_import, "maxrss_mb": rss, "flagged": flagged}))


def _cpu(resource) -> float:
    """CPU seconds of this process so far, every thread's (user + system): what a loaded machine does not inflate."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_row(key, ref, cur, repeat, timeout):
    """Best of `repeat` runs of one row, each in a fresh process: a dict, with "error" where it did not finish."""
    import importlib.util

    missing = sorted({m.split(".")[0] for m in IMPORTS[key] if importlib.util.find_spec(m.split(".")[0]) is None})
    if missing:
        return {"error": f"not installed: {', '.join(missing)} (see benchmarks/requirements-peers.txt)"}
    env = {**os.environ, **NO_TELEMETRY}
    runs = []
    for _ in range(repeat):
        cmd = [sys.executable, __file__, "--child", key, ref, cur]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return {"error": f"stopped after {timeout:.0f} s"}
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["no message"])[-1]
            return {"error": f"failed: {last[:120]}"}
        runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    return min(runs, key=lambda d: d["s"])


def versions():
    """Versions of the libraries in the rows, as this interpreter sees them (absent ones left out)."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in ("kullback", "polars", "pandas", "numpy", "scipy", "pyarrow", "evidently", "nannyml"):
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            pass
    return ", ".join(out)


def table(results, *, rows, columns, wide, repeat, timeout, load=None):
    """The Markdown table of `results` [(label, dict)], with x read floor where the floor row ran."""
    fl = next((d["s"] for label, d in results if label == METHODS["floor"][0] and "s" in d), None)
    what = f"{columns} normal columns (first {WIDE_SHIFTED} shifted by 0.2 sd)" if wide else "20 columns (15 numeric, 5 categorical)"
    lines = [
        f"{rows:.0e} rows x {what}, two Parquet files; best of {repeat}, each in a fresh process (timeout {timeout:.0f} s)",
        f"({platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs; {versions()})"
        + (f"; load average {load[0]:.1f} before, {load[1]:.1f} after" if load else ""),
        "",
        "| method | seconds | x read floor | CPU (s) | imports (s) | peak RSS (MB) | flagged |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, d in results:
        if "error" in d:
            lines.append(f"| {label} | {d['error']} | | | | | |")
            continue
        ratio = f"{d['s'] / fl:.1f}" if fl else ""
        cpu = f"{d['cpu_s']:.2f}" if "cpu_s" in d else ""
        lines.append(f"| {label} | {d['s']:.2f} | {ratio} | {cpu} | {d['import_s']:.1f} | {d['maxrss_mb']:.0f} | {d['flagged']} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--wide", action="store_true", help="rows x --columns normal columns instead of 20 mixed ones")
    ap.add_argument("--columns", type=int, default=1000, help="columns of the wide case")
    ap.add_argument("--methods", help=f"comma-separated rows among {','.join(METHODS)} (default: all for the case)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=600, help="seconds one row may take before it is stopped")
    ap.add_argument("--out", help="also write the Markdown table to this file")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--make", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(*args.child)
    if args.make:  # in a process of its own: Linux keeps a parent's peak RSS in ru_maxrss across fork and exec
        path, rows, shift, seed, columns = args.make
        if int(columns):
            return make_wide(path, int(rows), float(shift), int(seed), int(columns))
        return make(path, int(rows), float(shift), int(seed))
    keys = parse_methods(args.methods, "wide" if args.wide else "narrow")
    with tempfile.TemporaryDirectory() as tmp:
        ref, cur = os.path.join(tmp, "ref.parquet"), os.path.join(tmp, "cur.parquet")
        shift = 0.2 if args.wide else 0.3
        for path, s, seed in ((ref, 0.0, 1), (cur, shift, 2)):
            cols = str(args.columns if args.wide else 0)
            subprocess.run([sys.executable, __file__, "--make", path, str(args.rows), str(s), str(seed), cols], check=True)
        results, load = [], os.getloadavg()[0]
        for key in keys:
            d = run_row(key, ref, cur, args.repeat, args.timeout)
            results.append((METHODS[key][0], d))
            print(f"{key}: {d}", file=sys.stderr, flush=True)
    load = (load, os.getloadavg()[0])
    text = table(results, rows=args.rows, columns=args.columns, wide=args.wide, repeat=args.repeat, timeout=args.timeout, load=load)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
