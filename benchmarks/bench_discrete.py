"""kb.kl / kb.entropy / kb.js on 10^7 float64 against scipy, torch and a read-both-arrays floor.

Everything runs in this one process on the same arrays; each timing is the
best of REPEATS runs after a warm-up (which also compiles the numba kernels).
Peak memory is the largest NumPy allocation seen by tracemalloc during one call
(NumPy reports its buffers to tracemalloc; torch does not).

    python benchmarks/bench_discrete.py [--n 10000000] [--repeats 7] [--out docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc
from pathlib import Path

import numba
import numpy as np
import scipy
import scipy.stats as st
from _common import cpu_name, kernel_off
from numba import njit, prange
from scipy.spatial.distance import jensenshannon

import kullback as kb


@njit(parallel=True, cache=True)
def _read_both(p, q):  # pragma: no cover - compiled
    """The floor: read every element of both arrays once, on all threads, and do nothing else."""
    s = 0.0
    for i in prange(p.shape[0]):
        s += p[i] + q[i]
    return s


def _time(fn, repeats):
    fn()  # warm-up / compile
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def _peak_mib(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", type=Path, default=None, help="write the markdown table here too")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    p = rng.random(args.n)
    p /= p.sum()
    q = rng.random(args.n)
    q /= q.sum()

    cases = [
        ("floor: read both arrays (numba, parallel)", lambda: _read_both(p, q)),
        ("floor: p.sum() + q.sum() (NumPy)", lambda: p.sum() + q.sum()),
        ("KL  scipy.stats.entropy(p, q)", lambda: st.entropy(p, q)),
        ("KL  kullback.kl(p, q)", lambda: kb.kl(p, q)),
        ("KL  kullback.kl, generic array-API path", kernel_off(lambda: kb.kl(p, q))),
        ("H   scipy.stats.entropy(p)", lambda: st.entropy(p)),
        ("H   kullback.entropy(p)", lambda: kb.entropy(p)),
        ("JS  scipy jensenshannon(p, q)**2", lambda: jensenshannon(p, q) ** 2),
        ("JS  kullback.js(p, q)", lambda: kb.js(p, q)),
    ]
    try:
        import torch

        tp, tq = torch.from_numpy(p), torch.from_numpy(q)
        torch_log_q = tq.log()
        cases.insert(
            4, ("KL  torch kl_div(q.log(), p, 'sum') (incl. log q)", lambda: torch.nn.functional.kl_div(tq.log(), tp, reduction="sum"))
        )
        cases.insert(
            5, ("KL  torch kl_div(log_q, p, 'sum') (log q given)", lambda: torch.nn.functional.kl_div(torch_log_q, tp, reduction="sum"))
        )
        torch_version = torch.__version__
        torch_threads = torch.get_num_threads()
    except ImportError:
        torch_version, torch_threads = "not installed", 0

    # the numbers agree before they are timed
    assert abs(kb.kl(p, q) - st.entropy(p, q)) <= 1e-10 * st.entropy(p, q)
    assert abs(kb.js(p, q) - jensenshannon(p, q) ** 2) <= 1e-10 * kb.js(p, q)

    rows = []
    for name, fn in cases:
        best, med = _time(fn, args.repeats)
        rows.append((name, best, med, _peak_mib(fn)))
    ref = {r[0][:3]: r[1] for r in rows if "scipy" in r[0]}

    cpu = cpu_name()
    lines = [
        f"n = {args.n:,} float64 per array ({2 * args.n * 8 / 2**20:.0f} MiB read), best of {args.repeats} after warm-up.",
        f"{cpu}, {os.cpu_count()} logical CPUs; numba {numba.__version__} ({numba.get_num_threads()} threads), "
        f"NumPy {np.__version__}, SciPy {scipy.__version__}, torch {torch_version} ({torch_threads} threads).",
        "",
        "| case | best ms | median ms | vs scipy | peak extra MiB |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, best, med, peak in rows:
        base = ref.get(name[:3])
        speed = f"{base / best:.1f}x" if base and "scipy" not in name and not name.startswith("floor") else ""
        peak_text = "n/a (torch's allocator is not traced)" if "torch" in name else f"{peak:.1f}"
        lines.append(f"| {name} | {best * 1e3:.1f} | {med * 1e3:.1f} | {speed} | {peak_text} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
