"""Widths of kb.kl_bounds (Gaussian mixtures) against a high-accuracy reference: the table of docs/estimation-bounds.md.

Pairs: those of tests/estimation/test_bounds.py (four 1-D pairs, three pairs in d = 2, 3, 5), then seeded random
pairs in d = 2, 3, 5 with 2-4 components each (pair i of dimension d from default_rng([21, d, i]); means
N(0, 1.5^2 I), covariances A A'/d + 0.3 I, A standard normal, weights Dirichlet(1): the generator of the tests).
Reference: in d = 1 kullback's 1e-10 quadrature of the 1-D mixture views (checked against mpmath in the tests);
in d >= 2 a seeded Monte Carlo mean of log f(X) - log g(X) over 2^21 draws of f, written here in NumPy
(independent of the library), with its standard error.

    python benchmarks/bounds_widths.py [--pairs 10] [--draws 2097152] [--out docs/estimation-bounds-table.md]
    python benchmarks/bounds_widths.py --before OLD_BOUNDS.py   # adds the widths of another version of _bounds.py

``--before`` loads a file such as ``git show 8b9994d:src/kullback/estimation/_bounds.py > /tmp/old_bounds.py``
as a module of kullback.estimation and adds its widths as a column.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import time

import numpy as np
from _common import cpu_name, publish
from scipy import special

from kullback.estimation._bounds import kl_bounds

LOG2PI = math.log(2 * math.pi)


def random_mixture(rng, k, d, spread=1.5):
    """The generator of tests/estimation/test_bounds.py: weights, means (k, d), covariances (k, d, d)."""
    A = rng.normal(size=(k, d, d))
    return rng.dirichlet(np.ones(k)), rng.normal(size=(k, d)) * spread, A @ A.transpose(0, 2, 1) / d + 0.3 * np.eye(d)


def log_mixture(x, w, m, s):
    """log sum_k w_k N(x; m_k, S_k) for the rows of x."""
    d = m.shape[1]
    terms = []
    for k in range(len(w)):
        L = np.linalg.cholesky(s[k])
        z = np.linalg.solve(L, (x - m[k]).T)
        terms.append(math.log(w[k]) - 0.5 * np.sum(z * z, axis=0) - np.sum(np.log(np.diag(L))) - 0.5 * d * LOG2PI)
    return special.logsumexp(np.array(terms), axis=0)


def monte_carlo(P, Q, draws, seed=0, chunk=2**16):
    """(mean, standard error) of log f(X) - log g(X), X ~ f, over ``draws`` seeded draws."""
    rng = np.random.default_rng(seed)
    w, m, s = P
    L = np.linalg.cholesky(s)
    total = total2 = 0.0
    for start in range(0, draws, chunk):
        n = min(chunk, draws - start)
        lab = rng.choice(len(w), size=n, p=w)
        x = m[lab] + np.einsum("nij,nj->ni", L[lab], rng.normal(size=(n, m.shape[1])))
        t = log_mixture(x, *P) - log_mixture(x, *Q)
        total, total2 = total + t.sum(), total2 + (t * t).sum()
    mean = total / draws
    return mean, math.sqrt(max(total2 / draws - mean * mean, 0.0) / draws)


def quadrature_1d(P, Q):
    import scipy.stats as st

    from kullback.distributions._mixture import mixture_view
    from kullback.distributions._numeric import quad_kl

    def mix(T):
        return st.Mixture([st.Normal(mu=m, sigma=math.sqrt(v)) for m, v in zip(T[1], T[2])], weights=T[0])

    return quad_kl(mixture_view(mix(P)), mixture_view(mix(Q)), 1e-10)[0]


def pairs(n_random):
    out = [
        ("test 1-D 1", ([0.3, 0.7], [0.0, 2.0], [1.0, 0.25]), ([0.6, 0.4], [0.5, 2.5], [1.44, 0.64])),
        ("test 1-D 2", ([0.5, 0.5], [-3.0, 3.0], [0.25, 0.25]), ([1.0], [0.0], [9.0])),
        ("test 1-D 3", ([1.0], [0.0], [9.0]), ([0.5, 0.5], [-3.0, 3.0], [0.25, 0.25])),
        ("test 1-D 4", ([0.2, 0.3, 0.5], [-1.0, 0.0, 4.0], [0.09, 4.0, 1.0]), ([0.5, 0.5], [0.0, 3.0], [1.0, 1.0])),
    ]
    out = [(name, tuple(map(np.asarray, P)), tuple(map(np.asarray, Q))) for name, P, Q in out]
    for d, seed in ((2, 0), (3, 1), (5, 2)):  # test_mixtures_bracket_monte_carlo
        rng = np.random.default_rng(seed)
        out.append((f"test d={d} (seed {seed})", random_mixture(rng, 3, d), random_mixture(rng, 2, d)))
    for d in (2, 3, 5):
        for i in range(n_random):
            rng = np.random.default_rng([21, d, i])
            k1, k2 = rng.integers(2, 5, size=2)
            out.append((f"random d={d} #{i}", random_mixture(rng, k1, d), random_mixture(rng, k2, d)))
    return out


def timed(fn, *args, repeat=3, **kw):
    fn(*args, **kw)
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args, **kw)
        best = min(best, time.perf_counter() - t0)
    return out, best


def load_before(path):
    spec = importlib.util.spec_from_file_location("kullback.estimation._bounds_before", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.kl_bounds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=10, help="random pairs per dimension")
    ap.add_argument("--draws", type=int, default=2**21, help="Monte Carlo draws of the reference (d >= 2)")
    ap.add_argument("--before", help="another version of _bounds.py to compare with")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    before = load_before(args.before) if args.before else None
    head = "| pair | d | k_p, k_q | reference ± s.e. | lower | upper | gap / truth | gap / truth, pieces=0 | ms |"
    if before:
        head = head[:-6] + " | gap / truth, before | ms |"
    lines = [head, "|---|" + "---:|" * (head.count("|") - 2)]
    ratios = {}
    for name, P, Q in pairs(args.pairs):
        d = P[1].shape[1] if P[1].ndim == 2 else 1
        if d == 1:
            truth, se = quadrature_1d(P, Q), 0.0
        else:
            truth, se = monte_carlo(P, Q, args.draws)
        (lo, hi), sec = timed(kl_bounds, P, Q)
        lo0, hi0 = kl_bounds(P, Q, projections=False, pieces=0)
        assert lo <= truth + 5 * se + 1e-9 * max(1, truth) and hi >= truth - 5 * se - 1e-9 * max(1, truth), (name, lo, hi, truth)
        ref = f"{truth:.4f}" if d == 1 else f"{truth:.4f} ± {se:.4f}"
        row = f"| {name} | {d} | {len(P[0])}, {len(Q[0])} | {ref} | {lo:.4f} | {hi:.4f} | **{(hi - lo) / truth:.2g}** | {(hi0 - lo0) / truth:.2g} |"
        if before:
            blo, bhi = before(P, Q)
            row += f" {(bhi - blo) / truth:.2g} |"
        lines.append(row + f" {1000 * sec:.0f} |")
        ratios.setdefault(d, []).append((hi - lo) / truth)
        print(lines[-1], flush=True)
    summary = [f"d = {d}: gap / truth median {np.median(r):.3f}, max {np.max(r):.3f} over {len(r)} pairs" for d, r in ratios.items()]
    text = "\n".join(lines) + "\n\n" + "\n".join(f"- {s}" for s in summary) + f"\n\n(CPU: {cpu_name()}; ms: the best of 3 calls.)\n"
    publish(text, args.out)


if __name__ == "__main__":
    main()
