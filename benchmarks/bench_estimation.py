"""kNN estimation of D(p||q) from samples: kullback against universal-divergence, on the same draws.

universal-divergence 0.2 (PyPI `universal-divergence`) `estimate(X, Y, k)` is the Wang-Kulkarni-Verdu
estimator, one KDTree query per point from Python; with k = None it chooses k per point by a scan over
all points (O(n^2)), too slow beyond a few thousand points, so it runs here with k = 1 (its estimator
is then exactly kullback's method="knn", k=1: the same number, checked in tests/estimation/test_knn.py).

Pairs: p = N(0, I_d), q = N(0.5 1, 1.44 R), R_ij = 0.5^|i-j| (closed-form truth, as coverage_estimation.py).
Accuracy: RMSE over seeded repetitions (50 / 20 / 10 at n = 10^3 / 10^4 / 10^5: with 2 repetitions the
last row said nothing; the RMSE's own relative standard error is about 1/sqrt(2 reps)). Speed: n = m =
20 000, d = 5, best of 10 interleaved rounds (the peer 5), also on one thread. Scale: n = m = 10^6, d = 3 in a fresh subprocess: time, peak RSS (getrusage) and the
peak of NumPy allocations (tracemalloc; cKDTree's own C++ buffers are not traced).

    python benchmarks/bench_estimation.py [--quick] [--out docs/benchmarks-estimation.md]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import scipy
from _common import cpu_name, publish
from coverage_estimation import gaussian_pair
from scipy.spatial import cKDTree

import kullback as kb
from kullback.estimation._knn import kl_knn

try:
    import universal_divergence as ud
except ImportError:  # pragma: no cover - the bench extra installs it
    ud = None


def draws(d, n, r):
    mu, C, D, _ = gaussian_pair(d)
    g = np.random.default_rng([7, d, n, r])
    return g.standard_normal((n, d)), g.standard_normal((n, d)) @ C.T + mu, D


def rmse_table(plan, peer_max_n):
    rows = [
        "| d | n | reps | truth | kb auto RMSE | kb knn (default k) RMSE | universal-divergence (k=1) RMSE | peer / kb auto |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, reps, ds in plan:
        for d in ds:
            err = {"auto": [], "knn": [], "peer": []}
            for r in range(reps):
                x, y, D = draws(d, n, r)
                err["auto"].append(kl_knn(x, y, method="auto").value - D)
                err["knn"].append(kl_knn(x, y).value - D)
                if ud is not None and n <= peer_max_n:
                    err["peer"].append(ud.estimate(x, y, 1) - D)
            rm = {k: float(np.sqrt(np.mean(np.square(v)))) if v else float("nan") for k, v in err.items()}
            ratio = rm["peer"] / rm["auto"] if err["peer"] else float("nan")
            rows.append(f"| {d} | {n} | {reps} | {D:.4f} | {rm['auto']:.4f} | {rm['knn']:.4f} | {rm['peer']:.4f} | {ratio:.2f} |")
            print(rows[-1], flush=True)
    return rows


def speed_table(n=20_000, d=5, rounds=10):
    """Best of interleaved rounds (kb, kb on one thread, kb auto, cKDTree floor, peer every other round): the ratio
    is what travels. The one-thread row compares the algorithms at the peer's n_jobs=1 (numba.set_num_threads(1))."""
    import numba

    x, y, _ = draws(d, n, 0)
    knn = lambda: kb.estimate_kl(x, y, method="knn", k=1)  # the public call (no overhead over kl_knn: same times)
    knn()  # numba's first call (compile or load the cache) outside the timing
    threads = numba.get_num_threads()

    def one_thread():
        numba.set_num_threads(1)
        try:
            knn()
        finally:
            numba.set_num_threads(threads)

    cases = {
        f"kb.estimate_kl(x, y, method='knn', k=1) (the peer's estimator, with jackknife interval; {threads} threads)": knn,
        "the same on 1 thread": one_thread,
        "kb.estimate_kl(x, y) (method='auto': ensemble, k = 1 and the resolution check from one search)": lambda: kb.estimate_kl(x, y),
        "kb.estimate_kl(x, y, method='knn-ensemble') (the ensemble alone)": lambda: kb.estimate_kl(x, y, method="knn-ensemble"),
        "scipy cKDTree (workers=-1): build both trees + the same two 3-neighbour searches, nothing else": lambda: (
            cKDTree(x).query(x, k=4, workers=-1),
            cKDTree(y).query(x, k=3, workers=-1),
        ),
    }
    best = dict.fromkeys(cases, np.inf)
    t_peer = np.inf
    for r in range(rounds):
        for label, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            best[label] = min(best[label], time.perf_counter() - t0)
        if ud is not None and r % 2 == 0:
            t0 = time.perf_counter()
            ud.estimate(x, y, 1)
            t_peer = min(t_peer, time.perf_counter() - t0)
    rows = [
        f"| case (n = m = {n:,}, d = {d}; best of {rounds} rounds, the peer {(rounds + 1) // 2}) | seconds | peer / case |",
        "|---|---:|---:|",
    ]
    rows += [f"| {label} | {t:.3f} | {t_peer / t:.1f}x |" for label, t in best.items()]
    rows.append(f"| universal-divergence estimate(X, Y, k=1), n_jobs=1 | {t_peer:.3f} | 1x |")
    for r in rows:
        print(r, flush=True)
    return rows


def big_case():
    """Run in a subprocess: n = m = 10^6, d = 3, method='auto'; print JSON."""
    x, y, D = draws(3, 1_000_000, 0)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    t0 = time.perf_counter()
    e = kl_knn(x, y, method="auto")
    t = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": t,
                "value": e.value,
                "ci": e.ci,
                "truth": D,
                "numpy_peak_mib": peak / 2**20,
                "rss_peak_mib": rss / 1024,
                "rss_before_mib": base / 1024,
            }
        )
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n = 10^3, 10^4 only, fewer reps")
    ap.add_argument("--big", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", default="docs/benchmarks-estimation.md")
    ap.add_argument("--speed", action="store_true", help="only the speed table (printed)")
    ap.add_argument("--cell", type=int, nargs=3, metavar=("D", "N", "REPS"), help="only one RMSE cell (printed)")
    args = ap.parse_args()
    if args.big:
        return big_case()
    if args.speed:
        return speed_table()
    if args.cell:
        d, n, reps = args.cell
        return rmse_table([(n, reps, [d])], peer_max_n=n)
    t0 = time.time()
    every = list(range(1, 11))
    plan = (
        [(1000, 10, [1, 2, 3, 5, 10]), (10_000, 3, [1, 2, 3, 5, 10])]
        if args.quick
        else [(1000, 50, every), (10_000, 20, every), (100_000, 10, [1, 3, 5])]
    )
    rmse = rmse_table(plan, peer_max_n=100_000)
    speed = speed_table()
    out = subprocess.run([sys.executable, __file__, "--big"], capture_output=True, text=True, check=True).stdout
    big = json.loads(out.strip().splitlines()[-1])
    print(big)
    text = "\n".join(
        [
            f"Machine: {cpu_name()}, {os.cpu_count()} logical CPUs (shared with other jobs while measured); NumPy {np.__version__}, SciPy {scipy.__version__}; "
            f"universal-divergence {getattr(ud, '__version__', '0.2.0') if ud else 'not installed'}. {time.time() - t0:.0f} s in all.",
            "",
            "## Accuracy: RMSE of D(p||q), same draws",
            "",
            *rmse,
            "",
            "## Speed",
            "",
            *speed,
            "",
            "## Scale: n = m = 10^6, d = 3, method='auto'",
            "",
            f"{big['seconds']:.1f} s; estimate {big['value']:.4f}, 95% CI [{big['ci'][0]:.4f}, {big['ci'][1]:.4f}], truth {big['truth']:.4f}; "
            f"peak RSS {big['rss_peak_mib']:.0f} MiB (process, {big['rss_before_mib']:.0f} MiB before the call), peak NumPy allocations {big['numpy_peak_mib']:.0f} MiB.",
            "",
        ]
    )
    publish(text, args.out)


if __name__ == "__main__":
    main()
