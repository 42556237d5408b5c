"""KL between a batch of 10^6 Gaussian pairs: kullback against torch.distributions, in one process.

Timings interleave the cases round by round (this machine's speed drifts
between minutes) and report the best and median of ROUNDS rounds after a
warm-up (which also compiles the numba kernel).  A second table measures
accuracy on a hard batch (scale ratios across the float64 range, near-identical
pairs) against 60-digit mpmath.

    python benchmarks/bench_distributions.py [--n 1000000] [--rounds 15] [--out docs/benchmarks-distributions.md]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from pathlib import Path

import mpmath as mp
import numba
import numpy as np
import scipy
import scipy.stats as st
import torch
import torch.distributions as D
from _common import cpu_name, kernel_off
from numba import njit, prange

import kullback as kb


@njit(parallel=True, cache=True)
def _floor(a, b, c, d):  # pragma: no cover - compiled
    """The floor: read the four parameter arrays once and write one result array, on all threads."""
    out = np.empty_like(a)
    for i in prange(a.shape[0]):
        out[i] = a[i] + b[i] + c[i] + d[i]
    return out


def _backward(make, params):
    def run():
        for x in params:
            x.grad = None
        make().sum().backward()

    return run


def timing_table(n, rounds):
    g = torch.Generator().manual_seed(0)
    mp_, mq = torch.randn(n, generator=g, dtype=torch.float64), torch.randn(n, generator=g, dtype=torch.float64)
    sp, sq = torch.rand(n, generator=g, dtype=torch.float64) + 0.5, torch.rand(n, generator=g, dtype=torch.float64) + 0.5
    p, q = D.Normal(mp_, sp), D.Normal(mq, sq)
    a, b, c, d = (x.numpy() for x in (mp_, sp, mq, sq))
    P, Q = st.norm(a, b), st.norm(c, d)
    p32, q32 = D.Normal(mp_.float(), sp.float()), D.Normal(mq.float(), sq.float())
    leaves = [x.clone().requires_grad_() for x in (mp_, sp, mq, sq)]

    def grad_pair():
        return D.Normal(leaves[0], leaves[1]), D.Normal(leaves[2], leaves[3])

    # the numbers agree before they are timed
    ref = D.kl_divergence(p, q)
    torch.testing.assert_close(kb.kl(p, q), ref, rtol=1e-12, atol=1e-14)
    assert np.allclose(kb.kl(P, Q), ref.numpy(), rtol=1e-12, atol=1e-14)

    cases = [
        ("floor: read 4 parameter arrays, write 1 (numba, parallel)", lambda: _floor(a, b, c, d)),
        ("torch.distributions.kl_divergence, float64", lambda: D.kl_divergence(p, q)),
        ("kullback.kl(torch Normal, torch Normal), float64", lambda: kb.kl(p, q)),
        ("kullback.kl, torch, kernel off (eager formula)", kernel_off(lambda: kb.kl(p, q))),
        ("kullback.kl(scipy norm arrays), NumPy", lambda: kb.kl(P, Q)),
        ("kullback.kl, NumPy, kernel off", kernel_off(lambda: kb.kl(P, Q))),
        ("torch.distributions.kl_divergence, float32", lambda: D.kl_divergence(p32, q32)),
        ("kullback.kl, torch float32", lambda: kb.kl(p32, q32)),
        ("torch kl_divergence + backward, float64", _backward(lambda: D.kl_divergence(*grad_pair()), leaves)),
        ("kullback.kl + backward, float64", _backward(lambda: kb.kl(*grad_pair()), leaves)),
    ]
    for _, fn in cases:
        fn()
    times = {name: [] for name, _ in cases}
    for _ in range(rounds):
        for name, fn in cases:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    rows = [(name, min(ts), statistics.median(ts)) for name, ts in times.items()]
    base = {"float64": rows[1][1], "float32": rows[6][1], "backward": rows[8][1]}
    lines = [
        f"n = {n:,} pairs of normals (4 float64 arrays, {4 * n * 8 / 2**20:.0f} MiB), best and median of {rounds} interleaved rounds after warm-up.",
        f"{cpu_name()}, {os.cpu_count()} logical CPUs; numba {numba.__version__} ({numba.get_num_threads()} threads), "
        f"NumPy {np.__version__}, SciPy {scipy.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads).",
        "",
        "| case | best ms | median ms | vs torch |",
        "|---|---:|---:|---:|",
    ]
    for name, best, med in rows:
        key = "backward" if "backward" in name else ("float32" if "float32" in name else "float64")
        speed = "" if name.startswith(("floor", "torch")) else f"{base[key] / best:.1f}x"
        lines.append(f"| {name} | {best * 1e3:.2f} | {med * 1e3:.2f} | {speed} |")
    return lines


def accuracy_table(n=20000, sample=2000):
    rng = np.random.default_rng(1)
    mp_, mq = rng.normal(size=n), rng.normal(size=n)
    sp, sq = np.exp(rng.uniform(-300, 300, n)), np.exp(rng.uniform(-300, 300, n))
    k = n // 2
    sp[:k] = sq[:k] * (1 + np.logspace(-12, -1, k))  # near-identical pairs: the regime of a converged fit
    mq[:k] = mp_[:k]
    T = [torch.from_numpy(x) for x in (mp_, sp, mq, sq)]
    results = {
        "torch.distributions.kl_divergence": D.kl_divergence(D.Normal(T[0], T[1]), D.Normal(T[2], T[3])).numpy(),
        "kullback.kl (torch)": kb.kl(D.Normal(T[0], T[1]), D.Normal(T[2], T[3])).numpy(),
        "kullback.kl (NumPy)": kb.kl(st.norm(mp_, sp), st.norm(mq, sq)),
    }
    mp.mp.dps = 60
    idx = np.linspace(0, n - 1, sample).astype(int)
    refs = []
    for i in idx:
        r = mp.mpf(sp[i]) / mp.mpf(sq[i])
        z = (mp.mpf(mp_[i]) - mp.mpf(mq[i])) / mp.mpf(sq[i])
        refs.append((r * r - 1 - 2 * mp.log(r) + z * z) / 2)
    lines = [
        "",
        f"Accuracy on a hard batch of {n:,} pairs (half near-identical, r - 1 from 1e-12 to 0.1; half with scale ratios "
        f"e^-600..e^600), {sample} of them against 60-digit mpmath:",
        "",
        "| implementation | NaN | wrong inf | worst relative error | median relative error |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, got in results.items():
        nan = int(np.isnan(got).sum())
        errs, wrong_inf = [], 0
        for i, ref in zip(idx, refs):
            if ref > 1.7e308:
                wrong_inf += 0 if got[i] == math.inf else 1
                continue
            if math.isinf(got[i]):
                wrong_inf += 1
                continue
            if not math.isnan(got[i]):
                errs.append(abs(got[i] - float(ref)) / float(ref))
        lines.append(f"| {name} | {nan} | {wrong_inf} | {max(errs):.1e} | {statistics.median(errs):.1e} |")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--out", type=Path, default=None, help="write the markdown tables here too")
    args = ap.parse_args()
    text = "\n".join(timing_table(args.n, args.rounds) + accuracy_table())
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
