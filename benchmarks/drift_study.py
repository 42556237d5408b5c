"""False alarms and power of drift decisions at every sample size, n = 10^2 .. 10^7 rows per side (issue 27).

For each n and each law, `reps` seeded pairs (reference, current) of one numeric column, and the share of pairs
each decision flags:

* ``PSI > 0.1``   the fixed rule of thumb on the plug-in PSI over the reference's deciles, empty bins set to
                  1e-4 (what most drift code does);
* ``Evidently``   Evidently 0.7.23's default for a numerical column, called through its own registry
                  (``get_stattest(..., stattest_func=None)`` and the test's default threshold): the two-sample
                  KS test, p < 0.05, where the reference has at most 1000 rows, else the Wasserstein distance
                  normed by the reference's standard deviation >= 0.1;
* ``kb significant``  kullback's exact permutation test on the reference's bins, p < 0.05 (one column: Holm
                  changes nothing);
* ``kb drift``    kullback's decision: significant and the lower end of PSI's 95% interval above 0.1.

Laws: N(0,1) vs N(0,1) (every flag is a false alarm: the goal is at most alpha = 0.05 at every n),
N(0,1) vs N(0.1,1) (true PSI 0.01: a real change, immaterial by the 0.1 convention), N(0,1) vs N(0.5,1)
(true PSI 0.25: material).

kullback's side at large n: ``kb.compare`` of two samples of one numeric column depends on them only through
the reference's decile edges and the counts of both samples on those edges.  ``simulate_profiles`` draws these
exactly, without the samples: the reference's order statistics that the edges interpolate (uniform order
statistics as ratios of gamma sums, David & Nagaraja, *Order Statistics*, 3rd ed., 2003, Sec. 2.5), its counts
(fixed by where the edges fall), and the current counts (multinomial on the law's probabilities of the bins).
So 10^7 rows per side cost what 10^2 do.  ``--check`` runs kullback both ways (samples and counts) at the
smaller n, to show that the two give the same rates.  The PSI rule is computed on the same decile counts.
Evidently's side needs the samples (its tests sort them), so it runs on fewer pairs at large n.

    /work/venv-peers/bin/python benchmarks/drift_study.py --check 100 1000 10000 [--out table.md]   # ~10 min
    python benchmarks/drift_study.py --no-evidently                            # without Evidently: seconds
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy import special, stats

import kullback as kb
from kullback.data import ColumnProfile, Profile

os.environ.setdefault("DO_NOT_TRACK", "1")  # Evidently's telemetry
os.environ.setdefault("ITERATIVE_DO_NOT_TRACK", "1")

LAWS = {"null": 0.0, "0.1 sd": 0.1, "0.5 sd": 0.5}
BINS = 10  # kb.profile's bins="auto" for n >= 50: deciles
ALPHA = 0.05
# Pairs per n: (kullback and the PSI rule, both from counts; Evidently, from samples).  Evidently's default at
# n > 1000 sorts both samples (scipy's wasserstein_distance) and counts their distinct values (pandas nunique):
# 8 s per pair at 10^6 and 167 s at 10^7 on this project's shared 2-core machine, so it runs on fewer pairs
# and not at 10^7 (--evidently-reps 2 --n 10000000 runs it there).
REPS = {100: (400, 200), 1000: (400, 200), 10_000: (400, 100), 100_000: (400, 20),
        1_000_000: (400, 4), 10_000_000: (400, 0)}  # fmt: skip


# ---------------------------------------------------------------- kullback's input, drawn exactly from counts


def _virtual_index(n: int) -> np.ndarray:
    """The positions np.quantile(method="linear") reads for the deciles of n sorted values: (n - 1) q, as NumPy
    computes them (Hyndman & Fan's type 7), so that the simulated edges fall where kb.profile's do."""
    return (n - 1) * np.linspace(0, 1, BINS + 1)


def uniform_order_statistics(n: int, idx: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """U_(i) for the sorted 0-based indices idx of n uniforms: S_i / S_{n+1} with S the gamma partial sums."""
    gaps = np.diff(np.r_[0, idx + 1])  # sizes of the blocks of exponentials before each wanted index
    g = rng.standard_gamma(np.r_[gaps, n - idx[-1]].astype(float))
    s = np.cumsum(g)
    below, total = s[:-1], s[-1]
    return below / total, (total - below) / total  # U and 1 - U, each computed without cancellation


def _normal_quantile(u, upper):
    """Phi^-1(u), through 1 - u where u is near 1 (so that the upper tail keeps its precision)."""
    return np.where(u < 0.5, special.ndtri(u), -special.ndtri(upper))


def reference_edges(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """The decile edges kb.profile puts on n draws of N(0, 1), and the reference's counts on them, drawn exactly."""

    def order_statistics(idx):
        u, upper = uniform_order_statistics(n, idx, rng)
        return _normal_quantile(u, upper)

    return decile_edges(n, order_statistics)


def decile_edges(n: int, order_statistics) -> tuple[np.ndarray, np.ndarray]:
    """Decile edges of n sorted values as np.quantile computes them, and the counts [e_i, e_i+1) on them.

    ``order_statistics(idx)`` gives the sorted values at the 0-based indices idx (sorted, unique): the edges
    interpolate neighbours, and the count below an edge is fixed by whether it lies above its left neighbour."""
    h = _virtual_index(n)
    prev = np.minimum(np.floor(h).astype(np.int64), n - 1)
    nxt = np.minimum(prev + 1, n - 1)
    idx = np.unique(np.r_[prev, nxt])
    x = dict(zip(idx.tolist(), order_statistics(idx), strict=True))
    lo, hi = np.array([x[i] for i in prev]), np.array([x[i] for i in nxt])
    g = h - prev
    edges = np.where(g >= 0.5, hi - (hi - lo) * (1 - g), lo + (hi - lo) * g)  # NumPy's _lerp
    cut = prev + (edges > lo)  # values below each edge: prev of them, one more where the edge is above x[prev]
    cut[-1] = n  # the last bin is closed: every value <= the maximum
    return edges, np.diff(cut)


def simulate_profiles(n: int, m: int, shift: float, rng) -> tuple[Profile, Profile]:
    """Profiles of n draws of N(0,1) (the reference) and m of N(shift,1) counted on its deciles, drawn exactly."""
    edges, ref_counts = reference_edges(n, rng)
    cdf = special.ndtr(np.r_[-np.inf, edges, np.inf] - shift)
    counts = rng.multinomial(m, np.clip(np.diff(cdf), 0, None) / (cdf[-1] - cdf[0]))
    common = dict(name="x", kind="numeric", dtype="Float64", missing=0, edges=tuple(edges.tolist()))
    ref = ColumnProfile(n=n, counts=tuple(int(c) for c in ref_counts), **common)
    cur = ColumnProfile(n=m, counts=tuple(int(c) for c in counts[1:-1]), underflow=int(counts[0]), overflow=int(counts[-1]), **common)
    return Profile({"x": ref}), Profile({"x": cur})


def psi_deciles(ref_counts, cur_counts) -> float:
    """Plug-in PSI on the reference's deciles, an empty bin's share set to 1e-4 (the usual drift code)."""
    q = np.asarray(ref_counts, float) / np.sum(ref_counts)
    p = np.asarray(cur_counts, float) / np.sum(cur_counts)
    p, q = np.where(p == 0, 1e-4, p), np.where(q == 0, 1e-4, q)
    return float(np.sum((p - q) * np.log(p / q)))


def outer_counts(profile: Profile) -> np.ndarray:
    """A column's decile counts with under/overflow in the outer bins (the bins kb.compare uses)."""
    c = profile["x"]
    counts = np.array(c.counts)
    counts[0] += c.underflow
    counts[-1] += c.overflow
    return counts


def kb_decisions(ref, cur, seed):
    """(PSI > 0.1, kb significant, kb drift) for one pair: two profiles, or two samples."""
    if not isinstance(ref, Profile):
        ref = kb.profile({"x": ref})
        cur = kb.profile({"x": cur}, bins=ref)
    r = kb.compare(ref, cur, rng=seed)["x"]
    return psi_deciles(outer_counts(ref), outer_counts(cur)) > 0.1, bool(r.significant), bool(r.drift)


# ---------------------------------------------------------------- Evidently's default, from samples


def evidently_decision():
    """A function (ref, cur) -> (Evidently's default test flags drift, the test's name); None without Evidently."""
    try:
        import pandas as pd
        from evidently.legacy.calculations.stattests.registry import get_stattest
        from evidently.legacy.core import ColumnType
    except ImportError:
        return None

    def decide(ref, cur):
        a, b = pd.Series(ref), pd.Series(cur)
        test = get_stattest(a, b, ColumnType.Numerical, None)  # None: Evidently's choice by size and type
        return bool(test(a, b, ColumnType.Numerical, None).drifted), test.name

    return decide


# ---------------------------------------------------------------- the study


def rate(k: int, reps: int) -> str:
    """k/reps with its exact (Clopper-Pearson) 95% interval."""
    ci = stats.binomtest(k, reps).proportion_ci(0.95)
    return f"{k / reps:.3f} [{ci.low:.3f}, {ci.high:.3f}]"


def run_kb(n, shift, reps, from_samples=False):
    """Counts of pairs flagged by (PSI > 0.1, kb significant, kb drift) over `reps` seeded pairs."""
    rng = np.random.default_rng([1, n, int(1000 * shift), from_samples])
    flags = np.zeros(3, dtype=int)
    for i in range(reps):
        if from_samples:
            pair = rng.normal(size=n), rng.normal(shift, size=n)
        else:
            pair = simulate_profiles(n, n, shift, rng)
        flags += kb_decisions(*pair, seed=i)
    return flags


def run_evidently(n, shift, reps, decide):
    rng = np.random.default_rng([2, n, int(1000 * shift)])
    k, names = 0, set()
    for _ in range(reps):
        flagged, name = decide(rng.normal(size=n), rng.normal(shift, size=n))
        k += flagged
        names.add(name)
    return k, "/".join(sorted(names))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=list(REPS))
    ap.add_argument("--reps", type=int, help="pairs per n and law for kullback (default: the REPS table)")
    ap.add_argument("--evidently-reps", type=int, help="pairs per n and law for Evidently (default: the REPS table)")
    ap.add_argument("--no-evidently", action="store_true")
    ap.add_argument("--check", type=int, nargs="*", default=[], help="n at which kullback also runs on samples")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    decide = None if args.no_evidently else evidently_decision()
    head = "| law | n | reps | PSI > 0.1 | kb significant | kb drift | Evidently default (test) | Evidently reps |"
    lines = [head, "|" + "---|" * 8]
    checks = [
        "| law | n | reps | kb significant, from counts | kb significant, from samples | kb drift, counts | kb drift, samples |",
        "|" + "---|" * 7,
    ]
    t0 = time.perf_counter()
    for name, shift in LAWS.items():
        for n in args.n:
            reps = args.reps or REPS.get(n, (200, 20))[0]
            psi, sig, drift = run_kb(n, shift, reps)
            ev = "not run"
            ev_reps = REPS.get(n, (200, 20))[1] if args.evidently_reps is None else args.evidently_reps
            if decide is not None and ev_reps:
                k, test = run_evidently(n, shift, ev_reps, decide)
                ev = f"{rate(k, ev_reps)} ({test})"
            lines.append(
                f"| {name} | {n:.0e} | {reps} | {rate(psi, reps)} | {rate(sig, reps)} | {rate(drift, reps)} | {ev} | {ev_reps if decide else ''} |"
            )
            print(lines[-1], f"({time.perf_counter() - t0:.0f} s)", flush=True)
            if n in args.check:
                _, sig2, drift2 = run_kb(n, shift, reps, from_samples=True)
                checks.append(
                    f"| {name} | {n:.0e} | {reps} | {rate(sig, reps)} | {rate(sig2, reps)} | {rate(drift, reps)} | {rate(drift2, reps)} |"
                )
                print(checks[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if len(checks) > 2:
        text += "\nkullback from counts and from samples (the check of the exact simulation):\n\n" + "\n".join(checks) + "\n"
    text += f"\n(rates with exact 95% binomial intervals; {time.perf_counter() - t0:.0f} s)\n"
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
