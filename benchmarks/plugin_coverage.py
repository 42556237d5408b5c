"""Bias and interval coverage of the discrete plug-in estimators (kullback.estimation._plugin).

Seeded; prints one row per (quantity, pair, n, method): mean error, its standard error, RMSE,
coverage of the nominal 95% interval over `reps` repetitions.  Truths are closed forms:
kb.kl of scipy Poisson objects, kb.kl / kb.entropy / kb.js of probability vectors.

    .venv/bin/python benchmarks/plugin_coverage.py [reps]
"""

import sys

import numpy as np
import scipy.stats as st

import kullback as kb
from kullback.estimation import _plugin as P

REPS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
CAT_P = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
CAT_Q = np.array([0.3, 0.3, 0.2, 0.1, 0.1])
K = len(CAT_P)


def truths():
    pois = {"D": float(kb.kl(st.poisson(3), st.poisson(4))), "H": float(st.poisson(3).entropy())}
    k = np.arange(0, 200)
    pp, pq = st.poisson(3).pmf(k), st.poisson(4).pmf(k)
    pois["JS"] = float(kb.js(pp / pp.sum(), pq / pq.sum()))
    cat = {"D": float(kb.kl(CAT_P, CAT_Q)), "H": float(kb.entropy(CAT_P)), "JS": float(kb.js(CAT_P, CAT_Q))}
    same = {"D": 0.0, "H": float(kb.entropy(CAT_P)), "JS": 0.0}
    return {"poisson(3)|poisson(4)": pois, "categorical p|q": cat, "categorical p|p": same}


def draw(pair, n, rng):
    if pair.startswith("poisson"):
        return rng.poisson(3, n), rng.poisson(4, n)
    if pair == "categorical p|q":
        return rng.choice(K, n, p=CAT_P), rng.choice(K, n, p=CAT_Q)
    return rng.choice(K, n, p=CAT_P), rng.choice(K, n, p=CAT_P)


def main():
    T = truths()
    print(f"reps={REPS}; columns: quantity pair n method | mean error (s.e.) | RMSE | coverage of 95% CI")
    for pair, truth in T.items():
        for n in (200, 2000):
            rng = np.random.default_rng(12345)
            rows = {}
            for _ in range(REPS):
                x, y = draw(pair, n, rng)
                for corr in (False, True):
                    name = "miller-madow" if corr else "plugin"
                    for q, est in (
                        ("D", P.kl_plugin(x, y, correction=corr)),
                        ("H", P.entropy_plugin(x, correction=corr)),
                        ("JS", P.js_plugin(x, y, correction=corr)),
                    ):
                        rows.setdefault((q, name), []).append((est.value, est.ci))
            for (q, name), vals in sorted(rows.items()):
                v = np.array([a for a, _ in vals])
                cov = np.mean([lo <= truth[q] <= hi for _, (lo, hi) in vals])
                fin = np.isfinite(v)
                err = v[fin] - truth[q]
                note = "" if fin.all() else f"  ({(~fin).sum()} of {REPS} inf: x showed a value y did not; ci (0, inf))"
                print(
                    f"{q:2s} {pair:22s} n={n:5d} {name:13s} | {err.mean():+.5f} ({err.std(ddof=1) / np.sqrt(err.size):.5f}) | "
                    f"{np.sqrt(np.mean(err**2)):.5f} | {cov:.3f}{note}"
                )


if __name__ == "__main__":
    main()
