"""The kNN search under kullback's estimators: its numba kd-tree against scipy's cKDTree, same process, same points.

What the estimators ask: the k + 1 nearest other points of every point of x (x in x, its own row left out)
and the k + 1 nearest points of y to every point of x (x in y), k = 2 here (method='knn', k = 1 searches
k + 2 = 3 for its jackknife and bias reference). cKDTree runs with workers=-1 and is asked one more
neighbour in x (it returns the point itself). Rounds are interleaved (kb, cKDTree, kb, ...) and the best of
each is reported: on a shared machine the minimum is the least disturbed run, and the ratio is what travels.
Leaf sizes 4..32 are compared at d = 5 (LEAFSIZE in src/kullback/estimation/_kdtree.py).

    python benchmarks/bench_kdtree.py [--n 20000] [--rounds 9] [--out docs/benchmarks-kdtree.md]
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial

import numpy as np
import scipy
from _common import cpu_name, publish
from scipy.spatial import cKDTree

from kullback.estimation._kdtree import LEAFSIZE, Tree


def best(fns: dict, rounds: int) -> dict:
    out = dict.fromkeys(fns, np.inf)
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            out[name] = min(out[name], time.perf_counter() - t0)
    return out


def one_d(d: int, n: int, rounds: int, k: int) -> dict:
    """Best seconds of each build and search in dimension d."""
    g = np.random.default_rng([3, d])
    x, y = g.standard_normal((n, d)), g.standard_normal((n, d)) + 0.5
    tx, ty, cx, cy = Tree(x), Tree(y), cKDTree(x), cKDTree(y)
    tx.query(x, k, skip_self=True)  # compile / load the cache outside the timing
    return best(
        {
            "kb build": lambda: (Tree(x), Tree(y)),
            "ck build": lambda: (cKDTree(x), cKDTree(y)),
            "kb xx": lambda: tx.query(x, k, skip_self=True),
            "ck xx": lambda: cx.query(x, k + 1, workers=-1),
            "kb xy": lambda: ty.query(x, k, order=tx.order),
            "ck xy": lambda: cy.query(x, k, workers=-1),
        },
        rounds,
    )


def table(n: int, rounds: int, k: int = 3) -> list[str]:
    rows = [
        "| d | build kb / cKDTree (ms) | x in x: kb / cKDTree (ms) | x in y: kb / cKDTree (ms) | cKDTree / kb (search, both) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for d in (1, 2, 3, 5, 8, 10):
        r = one_d(d, n, rounds, k)
        ms = {a: 1e3 * b for a, b in r.items()}
        ratio = (r["ck xx"] + r["ck xy"]) / (r["kb xx"] + r["kb xy"])
        rows.append(
            f"| {d} | {ms['kb build']:.1f} / {ms['ck build']:.1f} | {ms['kb xx']:.1f} / {ms['ck xx']:.1f} | "
            f"{ms['kb xy']:.1f} / {ms['ck xy']:.1f} | {ratio:.2f}x |"
        )
        print(rows[-1], flush=True)
    return rows


def leaf_table(n: int, rounds: int, d: int = 5, k: int = 3) -> list[str]:
    g = np.random.default_rng([4, d])
    x = g.standard_normal((n, d))
    trees = {lf: Tree(x, leafsize=lf) for lf in (4, 8, 16, 32)}
    r = best({lf: partial(t.query, x, k, skip_self=True) for lf, t in trees.items()}, rounds)
    rows = ["| leafsize | x in x (ms) |", "|---:|---:|"]
    rows += [f"| {lf}{' (default)' if lf == LEAFSIZE else ''} | {1e3 * t:.1f} |" for lf, t in r.items()]
    for row in rows:
        print(row, flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--out", default="docs/benchmarks-kdtree.md")
    args = ap.parse_args()
    t0 = time.time()
    rows = table(args.n, args.rounds)
    leaves = leaf_table(args.n, args.rounds)
    text = "\n".join(
        [
            f"Machine: {cpu_name()}, {os.cpu_count()} logical CPUs (shared); NumPy {np.__version__}, SciPy {scipy.__version__}. "
            f"n = m = {args.n}, k = 3 neighbours, best of {args.rounds} interleaved rounds; {time.time() - t0:.0f} s in all.",
            "",
            "## kNN search: kullback's kd-tree against cKDTree (workers=-1)",
            "",
            *rows,
            "",
            "## Leaf size (d = 5, x in x)",
            "",
            *leaves,
            "",
            "Reproduce: `python benchmarks/bench_kdtree.py`. Both return the same neighbours (tests/estimation/test_kdtree.py).",
            "",
        ]
    )
    publish(text, args.out)


if __name__ == "__main__":
    main()
