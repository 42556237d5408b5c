"""False alarms and power of drift decisions, at every sample size (issue 27).

For each n (rows per side) and `reps` seeded pairs of samples, the share of pairs flagged by:

* ``PSI>0.1``    the rule of thumb on the plug-in PSI over the reference's deciles (empty bins set to 1e-4);
* ``evidently``  Evidently's documented default for a numerical column, emulated with scipy (Evidently itself
                 is not installed here): two-sample KS p < 0.05 where the reference has <= 1000 rows, else
                 the Wasserstein distance normed by the reference's std > 0.1;
* ``kb signif``  kullback's exact permutation test, p < 0.05 (one column: Holm changes nothing);
* ``kb drift``   kullback's decision: significant and the lower end of PSI's 95% interval > 0.1.

Laws: N(0,1) vs N(0,1) (every flag is a false alarm), N(0,1) vs N(0.1,1) (true PSI = 0.01: real but not
material by the 0.1 convention), N(0,1) vs N(0.5,1) (true PSI = 0.25: material).

    python benchmarks/drift_study.py --n 100 1000 10000 100000 --reps 200 [--out docs/compare-study.md]
    # the 10^7 row (about an hour on 2 cores):
    python benchmarks/drift_study.py --n 10000000 --reps 100
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

import kullback as kb

SHIFTS = {"null": 0.0, "0.1 sd": 0.1, "0.5 sd": 0.5}


def psi_rule(ref, cur):
    edges = np.quantile(ref, np.linspace(0, 1, 11))
    edges[0], edges[-1] = -np.inf, np.inf
    p = np.histogram(cur, edges)[0] / cur.size
    q = np.histogram(ref, edges)[0] / ref.size
    p, q = np.where(p == 0, 1e-4, p), np.where(q == 0, 1e-4, q)
    return float(np.sum((p - q) * np.log(p / q))) > 0.1


def evidently_rule(ref, cur):
    if ref.size <= 1000:
        return stats.ks_2samp(ref, cur).pvalue < 0.05
    return stats.wasserstein_distance(ref, cur) / np.std(ref) > 0.1


def run(n, reps, shift, seed=0):
    rng = np.random.default_rng([seed, n, int(1000 * shift)])
    flags = np.zeros(4)
    for i in range(reps):
        ref, cur = rng.normal(size=n), rng.normal(shift, size=n)
        r = kb.compare({"x": ref}, {"x": cur}, rng=i)["x"]
        flags += [psi_rule(ref, cur), evidently_rule(ref, cur), r.significant, r.drift]
    return flags / reps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[100, 1000, 10000, 100000])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--out")
    args = ap.parse_args()
    head = "| n | law | PSI>0.1 | evidently (emulated) | kb significant | kb drift | reps |"
    lines = [head, "|" + "---|" * 7]
    t0 = time.perf_counter()
    for n in args.n:
        for name, shift in SHIFTS.items():
            r = run(n, args.reps, shift)
            lines.append(f"| {n:.0e} | {name} | {r[0]:.3f} | {r[1]:.3f} | {r[2]:.3f} | {r[3]:.3f} | {args.reps} |")
            print(lines[-1], flush=True)
    se = (0.05 * 0.95 / args.reps) ** 0.5
    text = "\n".join(lines) + f"\n\n(a rate's standard error at 0.05 is {se:.3f}; {time.perf_counter() - t0:.0f} s)\n"
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
