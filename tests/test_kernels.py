"""The fused kernels' own pieces: the vectorisable log and the exact fallback per chunk."""

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st

import kullback as kb
from kullback import _kernels

pytestmark = pytest.mark.skipif(not _kernels.AVAILABLE, reason="numba is not importable")


def test_vlog_is_within_one_ulp_of_mpmath():
    rng = np.random.default_rng(11)
    x = np.concatenate(
        [
            rng.random(3000) * 10.0 ** rng.uniform(-307, 307, 3000),
            [np.finfo(float).tiny, np.finfo(float).max, 1.0, 2.0, 0.5, math.sqrt(2), math.sqrt(0.5), 1 - 2**-53, 1 + 2**-52, math.e],
            1 + rng.standard_normal(500) * 1e-9,  # near 1, where log is small and relative error matters
        ]
    )
    got = _kernels.vlog(x)
    mp.mp.dps = 40
    worst = 0.0
    for xi, gi in zip(x, got):
        exact = mp.log(mp.mpf(float(xi)))
        ulp = np.spacing(abs(float(exact))) if exact != 0 else np.finfo(float).smallest_subnormal
        worst = max(worst, float(abs(mp.mpf(float(gi)) - exact) / ulp))
    assert worst < 1.0
    assert _kernels.vlog([1.0])[0] == 0.0


@pytest.mark.parametrize("special", ["q_zero", "p_subnormal", "q_subnormal", "q_tiny_ratio_overflow"])
def test_chunks_with_values_the_fast_loop_cannot_take(path, special):
    # One odd element in a large array: its chunk is redone exactly; the others stay fast.
    n = 3 * _kernels.CHUNK + 17
    rng = np.random.default_rng(5)
    p = rng.random(n)
    q = rng.random(n)
    p /= p.sum()
    q /= q.sum()  # so that subnormals stay subnormal; the odd value below moves the sums
    i = _kernels.CHUNK + 3
    if special == "q_zero":
        q[i] = 0.0
        p[i] = 0.0  # 0 log(0/0) = 0: finite
    elif special == "p_subnormal":
        p[i] = 5e-320
    elif special == "q_subnormal":
        q[i] = 5e-320
    else:
        q[i] = 1e-300
        p[i] = 1e-5  # p/q overflows
    mp.mp.dps = 30
    P = [mp.mpf(float(v)) for v in p]
    Q = [mp.mpf(float(v)) for v in q]
    sP, sQ = mp.fsum(P), mp.fsum(Q)
    exact = float(mp.fsum((a / sP) * mp.log((a / sP) / (b / sQ)) for a, b in zip(P, Q) if a > 0))
    assert float(kb.kl(p, q, normalize=True)) == pytest.approx(exact, rel=1e-12)
    assert float(kb.entropy(p, normalize=True)) == pytest.approx(st.entropy(p), rel=1e-12)
    if special != "q_zero":
        assert float(kb.cross_entropy(p, q, normalize=True)) == pytest.approx(st.entropy(p) + exact, rel=1e-12)


def test_float32_rows_accumulate_in_float64():
    # 10^6 equal float32 weights: naive float32 accumulation drifts visibly, the kernel does not
    n = 1_000_000
    p = np.full(n, 1.0 / n, dtype=np.float32)
    h = kb.entropy(p)
    assert h.dtype == np.float32
    assert float(h) == pytest.approx(math.log(n), rel=1e-6)
