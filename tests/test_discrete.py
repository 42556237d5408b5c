"""Divergences of probability vectors against independent references.

References: scipy.stats.entropy, scipy.spatial.distance.jensenshannon,
scipy.special.xlogy, mpmath at 50 digits, Wikipedia's worked example, and
hand-derived gradients.  NumPy tests run through both the generic array-API
code and the fused kernel (the ``path`` fixture).
"""

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st
from scipy.spatial.distance import jensenshannon

import kullback as kb

RTOL = 1e-10
BASES = [None, 2, 10, math.e, 1.5]  # bases below 1 are refused (issue 24, item 11)


def _ref_kl(p, q, axis, base):
    return st.entropy(p, q, axis=axis, base=base)


def _ref_entropy(p, axis, base):
    return st.entropy(p, axis=axis, base=base)


def _ref_cross(p, q, axis, base):
    p = p / p.sum(axis=axis, keepdims=True)
    q = q / q.sum(axis=axis, keepdims=True)
    h = -sp.xlogy(p, q).sum(axis=axis)
    return h / math.log(base) if base else h


def _ref_js(p, q, axis, base):
    # jensenshannon takes a square root, so it cannot represent bases below 1 (negative values): convert from nats
    js = jensenshannon(p, q, axis=axis) ** 2
    return js / math.log(base) if base else js


def _random(rng, shape, zeros=False):
    x = rng.gamma(0.7, size=shape)
    if zeros:
        x[rng.random(shape) < 0.2] = 0.0
    return x


SHAPES = [(7,), (5, 6), (3, 4, 5)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("base", BASES)
def test_against_scipy_every_axis_and_base(path, rng, shape, base):
    p = _random(rng, shape)
    q = _random(rng, shape)
    for axis in range(-len(shape), len(shape)):
        pn = p / p.sum(axis=axis, keepdims=True)
        qn = q / q.sum(axis=axis, keepdims=True)
        np.testing.assert_allclose(kb.kl(pn, qn, axis=axis, base=base), _ref_kl(p, q, axis, base), rtol=RTOL)
        np.testing.assert_allclose(kb.entropy(pn, axis=axis, base=base), _ref_entropy(p, axis, base), rtol=RTOL)
        np.testing.assert_allclose(kb.cross_entropy(pn, qn, axis=axis, base=base), _ref_cross(p, q, axis, base), rtol=RTOL)
        np.testing.assert_allclose(kb.js(pn, qn, axis=axis, base=base), _ref_js(p, q, axis, base), rtol=RTOL)
        # unnormalised weights give the same numbers when asked to normalise
        np.testing.assert_allclose(kb.kl(p, q, axis=axis, base=base, normalize=True), _ref_kl(p, q, axis, base), rtol=RTOL)
        np.testing.assert_allclose(kb.js(p, q, axis=axis, base=base, normalize=True), _ref_js(p, q, axis, base), rtol=RTOL)


@pytest.mark.parametrize("n", [1, 2, 1000, 100_003])
def test_large_and_odd_lengths_with_zeros(path, rng, n):
    p = _random(rng, (n,), zeros=n > 2)
    q = _random(rng, (n,)) + 1e-3  # q > 0 everywhere: finite
    # unnormalised weights: the kernel's log(sum) correction leaves rounding of order eps * |log sum|
    np.testing.assert_allclose(kb.kl(p, q, normalize=True), st.entropy(p, q), rtol=RTOL, atol=1e-14)
    np.testing.assert_allclose(kb.entropy(p, normalize=True), st.entropy(p), rtol=RTOL, atol=1e-14)
    np.testing.assert_allclose(kb.cross_entropy(p, q, normalize=True), _ref_cross(p, q, -1, None), rtol=RTOL, atol=1e-14)
    np.testing.assert_allclose(kb.js(p, q, normalize=True), _ref_js(p, q, -1, None), rtol=RTOL, atol=1e-15)


def test_wikipedia_binomial_example(path):
    # https://en.wikipedia.org/wiki/Kullback%E2%80%93Leibler_divergence#Basic_example
    p = np.array([9 / 25, 12 / 25, 4 / 25])  # Binomial(2, 0.4)
    q = np.array([1 / 3, 1 / 3, 1 / 3])
    assert float(kb.kl(p, q)) == pytest.approx(0.0852996, abs=5e-8)
    assert float(kb.kl(q, p)) == pytest.approx(0.097455, abs=5e-7)
    # and exactly, from the closed forms given there
    assert float(kb.kl(p, q)) == pytest.approx((32 * math.log(2) + 55 * math.log(3) - 50 * math.log(5)) / 25, rel=1e-14)
    assert float(kb.kl(q, p)) == pytest.approx((-4 * math.log(2) - 6 * math.log(3) + 6 * math.log(5)) / 3, rel=1e-14)


def test_zero_log_zero_and_support_mismatch(path):
    assert kb.kl([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]) == pytest.approx(math.log(2), rel=1e-15)
    assert kb.entropy([1.0, 0.0, 0.0]) == 0.0
    assert kb.kl([0.0, 1.0], [0.0, 1.0]) == 0.0  # 0 log(0/0) = 0
    assert kb.kl([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert kb.cross_entropy([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert kb.js([1.0, 0.0], [0.0, 1.0]) == pytest.approx(math.log(2), rel=1e-15)
    assert kb.js([1.0, 0.0], [0.0, 1.0], base=2) == pytest.approx(1.0, rel=1e-15)
    # row-wise: only the mismatched row is infinite
    d = kb.kl([[0.5, 0.5], [0.5, 0.5]], [[0.5, 0.5], [1.0, 0.0]])
    assert d[0] == 0.0 and d[1] == math.inf


def test_support_mismatch_on_a_large_array(path, rng):
    p = _random(rng, (50_000,))
    q = p.copy()
    q[123] = 0.0
    assert kb.kl(p, q, normalize=True) == math.inf
    assert math.isfinite(kb.kl(q, p, normalize=True))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tiny_q_does_not_overflow(path, dtype):
    tiny = np.finfo(dtype).smallest_subnormal * 3
    p = np.array([1.0, 0.0], dtype=dtype)
    q = np.array([tiny, 1.0], dtype=dtype)
    mp.mp.dps = 50
    exact = float(-mp.log(mp.mpf(float(tiny))))  # q normalises to (tiny, 1): the sum rounds to 1
    got = kb.kl(p, q)
    assert np.isfinite(got)
    assert float(got) == pytest.approx(exact, rel=1e-6 if dtype == np.float32 else 1e-14)
    # mass split between a tiny and an ordinary q
    p2 = np.array([0.5, 0.5], dtype=dtype)
    exact2 = float(0.5 * mp.log(mp.mpf(0.5) / mp.mpf(float(tiny))) + 0.5 * mp.log(0.5))
    assert float(kb.kl(p2, q)) == pytest.approx(exact2, rel=1e-6 if dtype == np.float32 else 1e-14)


def test_mpmath_reference_for_near_identical_distributions(path, rng):
    p = rng.dirichlet(np.ones(64))
    q = p * (1 + 1e-4 * rng.standard_normal(64))
    q /= q.sum()
    mp.mp.dps = 50
    P = [mp.mpf(float(x)) for x in p]
    Q = [mp.mpf(float(x)) for x in q]
    sP, sQ = mp.fsum(P), mp.fsum(Q)
    exact = mp.fsum((a / sP) * mp.log((a / sP) / (b / sQ)) for a, b in zip(P, Q))
    assert float(kb.kl(p, q)) == pytest.approx(float(exact), rel=1e-8)


def test_float32_stays_float32(path, rng):
    p = rng.dirichlet(np.ones(300)).astype(np.float32)
    q = rng.dirichlet(np.ones(300)).astype(np.float32)
    d = kb.kl(p, q)
    assert d.dtype == np.float32
    assert float(d) == pytest.approx(st.entropy(p.astype(np.float64), q.astype(np.float64)), rel=1e-4)
    assert kb.kl(np.stack([p, p]), np.stack([q, p])).dtype == np.float32


def test_result_types():
    d = kb.kl([0.2, 0.8], [0.5, 0.5])
    assert isinstance(d, np.float64)
    d2 = kb.kl(np.full((3, 2), 0.5), np.full((3, 2), 0.5))
    assert isinstance(d2, np.ndarray) and d2.shape == (3,) and np.all(d2 == 0)
    counts = kb.entropy(np.array([1, 1, 2, 4]), normalize=True)
    assert counts == pytest.approx(st.entropy([1, 1, 2, 4]), rel=1e-15)


def test_broadcasting_batch_against_one_q(path, rng):
    p = rng.dirichlet(np.ones(6), size=(4, 3))
    q = rng.dirichlet(np.ones(6))
    d = kb.kl(p, q)
    assert d.shape == (4, 3)
    np.testing.assert_allclose(d, st.entropy(p, np.broadcast_to(q, p.shape), axis=-1), rtol=RTOL)
    np.testing.assert_allclose(kb.js(q, p), _ref_js(np.broadcast_to(q, p.shape), p, -1, None), rtol=RTOL)


def test_kernel_and_generic_agree_on_a_batch(monkeypatch, rng):
    from kullback import _kernels

    p = rng.dirichlet(np.ones(40_000), size=3)
    q = rng.dirichlet(np.ones(40_000), size=3)
    monkeypatch.setattr(_kernels, "MIN_SIZE", np.iinfo(np.int64).max)
    generic = [f(p, q) for f in (kb.kl, kb.cross_entropy, kb.js)] + [kb.entropy(p)]
    monkeypatch.setattr(_kernels, "MIN_SIZE", 0)
    fused = [f(p, q) for f in (kb.kl, kb.cross_entropy, kb.js)] + [kb.entropy(p)]
    for g, f in zip(generic, fused):
        np.testing.assert_allclose(f, g, rtol=1e-12)


def test_kernel_is_thread_count_independent(rng):
    numba = pytest.importorskip("numba")
    p = rng.dirichlet(np.ones(300_000))
    q = rng.dirichlet(np.ones(300_000))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = kb.kl(p, q)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = kb.kl(p, q)
    finally:
        numba.set_num_threads(before)
    assert one == many  # bitwise: fixed chunks, fixed reduction order


def test_properties(path, rng):
    for _ in range(20):
        p = rng.dirichlet(np.full(9, 0.3))
        q = rng.dirichlet(np.full(9, 0.3))
        d, h, ce, j = kb.kl(p, q), kb.entropy(p), kb.cross_entropy(p, q), kb.js(p, q)
        assert d >= 0 and 0 <= j <= math.log(2)
        assert ce == pytest.approx(h + d, rel=1e-12)
        assert j == pytest.approx(kb.js(q, p), rel=1e-12)
        assert kb.kl(p, p) == pytest.approx(0.0, abs=1e-15)
