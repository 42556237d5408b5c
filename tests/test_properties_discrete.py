"""Property tests for probability vectors: the identities kb.kl, kb.entropy, kb.cross_entropy and kb.js obey
in exact arithmetic, over Hypothesis-drawn weights (zeros, 1e-300..1e300 row scales, batches), through the
array-API code and the fused kernel (the ``path`` fixture).

The identities (Cover & Thomas, Elements of Information Theory, 2nd ed.: Gibbs' inequality Thm 2.6.3;
H(p, q) = H(p) + D(p || q), eq. 2.90's decomposition; JS bounded by log 2, Lin 1991, IEEE Trans. Inf. Theory
37(1), Thm 1 with equal weights; log_b x = ln x / ln b):

    D(p || q) >= 0;  0 <= JS(p, q) = JS(q, p) <= log 2;  H(p, q) = H(p) + D(p || q);
    each unchanged when the outcomes of p and q are permuted alike;  f(base=b) = f / ln b.

Rounding bound, as in test_fuzz_discrete.py: each result carries at most (n + 16) eps S, S = sum over outcomes of
x (1 + |log x| + |log y|) on the normalised values x = p / sum p, y = q / sum q (Higham, Accuracy and Stability,
eq. 4.4, for the sums), plus 2.2e-12 of the result where the fused kernel's one pass stands (ONE_PASS below); an
identity between three results is checked to 3 such bounds.
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kullback as kb

pytestmark = pytest.mark.fuzz
EPS = float(np.finfo(np.float64).eps)


@st.composite
def pairs(draw):
    """Two batches of weight vectors (batch 1 to 3, 1 to 30 outcomes), each row at its own scale, zeros included;
    q is drawn to be positive wherever p is, so that every divergence is finite."""
    n = draw(st.integers(1, 30))
    rows = draw(st.integers(1, 3))
    element = st.one_of(st.just(0.0), st.floats(1e-3, 1e3), st.floats(-30, 0).map(lambda u: 10.0**u))

    def row(positive_where=None):
        w = np.array(draw(st.lists(element, min_size=n, max_size=n)))
        if positive_where is not None:
            w = np.where(positive_where & (w == 0), 1.0, w)
        if not np.any(w > 0):
            w[draw(st.integers(0, n - 1))] = 1.0
        return w * 10.0 ** draw(st.floats(-270, 300))  # no weight underflows to 0

    P = np.stack([row() for _ in range(rows)])
    Q = np.stack([row(P[i] > 0) for i in range(rows)])
    return P, Q


def _weight(P, Q):
    """S per row: sum x (1 + |log x| + |log y|) over the normalised values (see the module docstring)."""
    x = P / P.sum(axis=-1, keepdims=True)
    y = Q / Q.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        lx = np.where(x > 0, np.abs(np.log(np.where(x > 0, x, 1))), 0)
        ly = np.where(y > 0, np.abs(np.log(np.where(y > 0, y, 1))), 0)
    return np.sum(x * (1 + lx + ly) + y * (1 + ly), axis=-1)


# The fused kernel's one pass over unnormalised weights cancels by up to a factor 1 / kullback.discrete._WELL = 1e4
# before it falls back to a second pass: its results are good to eps / _WELL = 2.2e-12 relative.
ONE_PASS = EPS / 1e-4


def _bound(P, Q, *results):
    return (P.shape[-1] + 16) * EPS * _weight(P, Q) + ONE_PASS * sum(np.abs(r) for r in results) + 1e-300


_fixture_ok = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], max_examples=max(1, settings().max_examples // 2)
)


@_fixture_ok
@given(pairs())
def test_gibbs_inequality_and_js_bounds(path, pq):
    """D(p || q) >= 0 and 0 <= JS <= log 2 (in bits: 1), for every row of a batch, and the batch shape is kept."""
    P, Q = pq
    d = kb.kl(P, Q, normalize=True)
    j = kb.js(P, Q, normalize=True)
    assert d.shape == j.shape == P.shape[:-1]
    assert np.all(d >= 0)
    assert np.all((j >= 0) & (j <= math.log(2) * (1 + 4 * EPS)))
    assert np.all(kb.js(P, Q, normalize=True, base=2) <= 1 + 4 * EPS)


@_fixture_ok
@given(pairs())
def test_js_is_symmetric(path, pq):
    """JS(p, q) = JS(q, p) to the rounding bound."""
    P, Q = pq
    a, b = kb.js(P, Q, normalize=True), kb.js(Q, P, normalize=True)
    assert np.all(np.abs(a - b) <= 2 * _bound(P, Q, a)), (a - b, _bound(P, Q, a))


@_fixture_ok
@given(pairs())
def test_cross_entropy_is_entropy_plus_kl(path, pq):
    """H(p, q) = H(p) + D(p || q) to 3 rounding bounds (one per result)."""
    P, Q = pq
    ce = kb.cross_entropy(P, Q, normalize=True)
    h = kb.entropy(P, normalize=True)
    d = kb.kl(P, Q, normalize=True)
    diff = np.abs(ce - (h + d))
    assert np.all(diff <= 3 * _bound(P, Q, ce, h, d)), (diff, _bound(P, Q, ce, h, d))


@_fixture_ok
@given(pairs(), st.randoms(use_true_random=False))
def test_permuting_outcomes_alike_changes_nothing(path, pq, random):
    """Every function depends on the outcomes only through the pairs (p_i, q_i): the same permutation of both
    leaves each unchanged, to the rounding bound (the sums add in another order)."""
    P, Q = pq
    order = list(range(P.shape[-1]))
    random.shuffle(order)
    Pp, Qp = P[:, order], Q[:, order]
    for f in (kb.kl, kb.cross_entropy, kb.js, lambda p, q, normalize: kb.entropy(p, normalize=normalize)):
        a, b = f(Pp, Qp, normalize=True), f(P, Q, normalize=True)
        assert np.all(np.abs(a - b) <= 2 * _bound(P, Q, a)), (a - b, _bound(P, Q, a))


@_fixture_ok
@given(pairs(), st.sampled_from([2, 10, math.e, 1.5, 1e6, 1 + 1e-9]))
def test_base_converts_units(path, pq, base):
    """f(base=b) = f / ln b (log_b x = ln x / ln b), for every function; in bits (b = 2) JS <= 1."""
    P, Q = pq
    for name in ("kl", "entropy", "cross_entropy", "js"):
        f = getattr(kb, name)
        args = (P,) if name == "entropy" else (P, Q)
        nats = f(*args, normalize=True)
        np.testing.assert_allclose(f(*args, normalize=True, base=base) * math.log(base), nats, rtol=4 * EPS, atol=1e-300)
