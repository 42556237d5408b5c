"""Start-up cost of kullback: import time and first-call latency, each in a fresh process.

Every measurement starts a new interpreter (subprocess) and times one statement inside it with
``time.perf_counter`` (so interpreter start-up is excluded), or, for the command line, the whole
process from outside.  Each row is the median (and the minimum) of ``--runs`` processes.  The numba
kernels' on-disk cache is warmed once before the 10^6-element row, as it is after a first use.
Peers and floors: ``import numpy`` (kullback's one unavoidable import), ``import scipy.stats``,
``import torch``.  The last section lists the largest branches of the import tree of ``import kullback; kb.kl(lists)``
from ``python -X importtime``.

    python benchmarks/bench_startup.py [--runs 7] [--out docs/benchmarks-startup.md] [--against OLD/src]

``--against`` times the command-line rows again with an older source tree on the path (``git archive REV src``
unpacked somewhere), the two alternating, so that a change's cost is measured under the same load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "jax", "numba", "scipy.stats", "scipy", "array_api_compat")

# (label, setup statement, timed statement); the child prints the timed seconds and which heavy modules are loaded
CASES = [
    ("floor: import numpy", "", "import numpy"),
    ("import kullback", "", "import kullback"),
    ("first kb.kl([.5, .5], [.25, .75]) (after import)", "import kullback as kb", "kb.kl([.5, .5], [.25, .75])"),
    ("import + first kb.kl of two lists", "", "import kullback as kb; kb.kl([.5, .5], [.25, .75])"),
    (
        "first kb.kl of two 10^6 arrays (kernel cache warm; after import)",
        "import numpy as np, kullback as kb; p = np.full(10**6, 1e-6); q = np.full(10**6, 1e-6)",
        "kb.kl(p, q)",
    ),
    ("peer: import scipy.stats", "", "import scipy.stats"),
    ("peer: import torch", "", "import torch"),
]

CHILD = """
import sys, time
{setup}
t0 = time.perf_counter()
{stmt}
t1 = time.perf_counter()
print(t1 - t0)
print(" ".join(m for m in {heavy!r} if m in sys.modules))
"""


def _child(setup, stmt):
    code = CHILD.format(setup=setup, stmt=stmt, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    seconds, loaded = (out.stdout.splitlines() + [""])[:2]
    return float(seconds), loaded


def _process(argv, env=None):
    t0 = time.perf_counter()
    subprocess.run(argv, capture_output=True, cwd=ROOT, env=env)  # exit 1 (drift) is a result, not a failure
    return time.perf_counter() - t0


def _against(old_src, cases, runs):
    """The command-line rows for the tree on the path now and for `old_src`, interleaved run by run so that the
    machine's load falls on both alike; rows of a markdown table."""
    envs = {"now": None, "old": {**os.environ, "PYTHONPATH": os.pathsep.join([str(old_src), os.environ.get("PYTHONPATH", "")])}}
    times = {(label, k): [] for label, _ in cases for k in envs}
    for _ in range(runs):
        for label, argv in cases:
            for k, env in envs.items():
                times[label, k].append(_process(argv, env))
    label = old_src.parent.name if old_src.name == "src" else str(old_src)  # .../argparse-06e65a1/src: argparse-06e65a1
    rows = [f"| command (whole process) | {label}, median ms | this tree, median ms | difference ms |", "|---|---:|---:|---:|"]
    for label, _ in cases:
        old, now = (statistics.median(times[label, k]) * 1e3 for k in ("old", "now"))
        rows.append(f"| {label.removeprefix('process: ')} | {old:.0f} | {now:.0f} | {now - old:+.0f} |")
    return rows


def _cli():
    exe = Path(sys.executable).with_name("kullback")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "kullback"]


def _importtime(top=12):
    code = "import kullback as kb; kb.kl([.5, .5], [.25, .75])"
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stderr
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cum_us, name = line[len("import time:") :].split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        rows.append((int(cum_us), depth, name.strip()))
    total = max(cum for cum, _, _ in rows)
    big = [r for r in rows if r[0] >= total / 20 and r[1] <= 4]  # the tree's large branches, in import order
    return big[-top:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--out", type=Path, default=None, help="write the markdown table here too (sections after its tables are kept)")
    ap.add_argument("--against", type=Path, default=None, help="also time the commands with this older src/ tree, interleaved")
    args = ap.parse_args()

    _child("import numpy as np, kullback as kb", "kb.kl(np.full(10**6, 1e-6), np.full(10**6, 1e-6))")  # warm numba's cache

    rows = []
    for label, setup, stmt in CASES:
        results = [_child(setup, stmt) for _ in range(args.runs)]
        times = [t for t, _ in results]
        rows.append((label, statistics.median(times), min(times), results[-1][1] or "none"))
    cli = _cli()
    kl = ["kl", "examples/binomial_vs_uniform.csv", "--p", "binomial", "--q", "uniform"]
    wine = ["compare", "examples/wine_reference.csv", "examples/wine_current.csv", "--columns", "magnesium,ash"]
    commands = [
        ("process: kullback --version", [*cli, "--version"]),
        ("process: kullback --help", [*cli, "--help"]),
        ("process: kullback compare --help", [*cli, "compare", "--help"]),
        (f"process: kullback {' '.join(kl)}", [*cli, *kl]),
        (f"process: kullback {' '.join(wine)}", [*cli, *wine]),
    ]
    for label, argv in [("process: python -c pass (interpreter floor)", [sys.executable, "-c", "pass"]), *commands]:
        times = [_process(argv) for _ in range(args.runs)]
        rows.append((label, statistics.median(times), min(times), ""))

    import numpy as np

    lines = [
        f"Fresh process per measurement, median and minimum of {args.runs}; Python {sys.version.split()[0]}, "
        f"NumPy {np.__version__}, {os.cpu_count()} logical CPUs (shared machine: absolute numbers vary with load, ratios less).",
        "In-process rows time the statement alone (interpreter start-up excluded); process rows time the whole command.",
        "",
        "| case | median ms | min ms | heavy modules loaded afterwards |",
        "|---|---:|---:|---|",
    ]
    lines += [f"| {label} | {med * 1e3:.0f} | {best * 1e3:.0f} | {loaded} |" for label, med, best, loaded in rows]
    lines += ["", "Largest top-level imports of `import kullback as kb; kb.kl([.5, .5], [.25, .75])` (`python -X importtime`):", ""]
    lines += ["| module (indent = import depth) | cumulative ms |", "|---|---:|"]
    lines += [f"| {'. ' * depth}{name} | {cum / 1e3:.0f} |" for cum, depth, name in _importtime()]
    if args.against:
        lines += ["", f"The command line against the tree `{args.against}`, the two interleaved, median of {args.runs}:", ""]
        lines += _against(args.against, commands, args.runs)
    text = "\n".join(lines)
    print(text)
    if args.out:
        kept = args.out.read_text().partition("\n## ")[2] if args.out.exists() else ""
        args.out.write_text(
            "# Start-up: import time and first-call latency\n\n`python benchmarks/bench_startup.py --out docs/benchmarks-startup.md`\n\n"
            + text
            + "\n"
            + (f"\n## {kept}" if kept else "")
        )


if __name__ == "__main__":
    main()
