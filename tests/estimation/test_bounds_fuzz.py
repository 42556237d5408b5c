"""kl_bounds against independent references over random Gaussian-mixture pairs (issue 21, item 8).

References: d = 1, the KL integral by mpmath quadrature at 20 digits (mp.quad split at every component's mean
+- 1, 3, 8, 20 sd); d >= 2, a seeded Monte Carlo mean of log f - log g written here in NumPy, stratified over f's
components (each component gets its share of the draws, so a component of tiny weight is never missed) with its
standard error; one Gaussian each, the closed form in mpmath.  A bound that crosses the truth beyond the
reference's error fails these tests; so does a gap (upper - lower) above the truth on typical pairs (the goal of
item 8; the bounds before it had gaps of 0.59-1.26 of the truth in d = 2..5).
"""

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from scipy import special

from kullback.estimation._bounds import kl_bounds
from kullback.estimation._bounds_slabs import _newton_reference, _truncated

LOG2PI = math.log(2 * math.pi)


def _random_mixture(rng, k, d, spread=1.5):
    A = rng.normal(size=(k, d, d))
    return rng.dirichlet(np.ones(k)), rng.normal(size=(k, d)) * spread, A @ A.transpose(0, 2, 1) / d + 0.3 * np.eye(d)


def _log_mixture(x, w, m, s):
    terms = []
    for k in range(len(w)):
        L = np.linalg.cholesky(s[k])
        z = np.linalg.solve(L, (x - m[k]).T)
        terms.append(math.log(w[k]) - 0.5 * np.sum(z * z, axis=0) - np.sum(np.log(np.diag(L))) - 0.5 * m.shape[1] * LOG2PI)
    return special.logsumexp(np.array(terms), axis=0)


def _mc(P, Q, draws, seed=0):
    """(mean, s.e.) of D(f||g) = sum_a pi_a E_{f_a}[log f - log g], stratified over f's components."""
    rng = np.random.default_rng(seed)
    w, m, s = P
    n = max(draws // len(w), 64)
    mean = var = 0.0
    for a in range(len(w)):
        x = m[a] + rng.normal(size=(n, m.shape[1])) @ np.linalg.cholesky(s[a]).T
        t = _log_mixture(x, *P) - _log_mixture(x, *Q)
        mean += w[a] * t.mean()
        var += w[a] ** 2 * t.var() / n
    return mean, math.sqrt(var)


def _mp_gauss_kl(m1, S1, m2, S2):
    m1, m2, S1, S2 = mp.matrix(m1.tolist()), mp.matrix(m2.tolist()), mp.matrix(S1.tolist()), mp.matrix(S2.tolist())
    inv = S2**-1
    dm = m2 - m1
    tr = sum((inv * S1)[i, i] for i in range(S1.rows))
    return 0.5 * (tr + (dm.T * inv * dm)[0] - S1.rows + mp.log(mp.det(S2) / mp.det(S1)))


def _mp_kl_1d(P, Q):
    """D(f||g) for 1-D mixtures (weights, means, variances) by mpmath quadrature, 20 digits; (value, error)."""
    with mp.workdps(20):

        def dens(T, x):
            return mp.fsum(mp.mpf(w) * mp.npdf(x, mp.mpf(m), mp.sqrt(mp.mpf(v))) for w, m, v in zip(*T))

        def integrand(x):
            f = dens(P, x)
            return f * (mp.log(f) - mp.log(dens(Q, x))) if f > 0 else mp.mpf(0)

        pts = sorted({float(m + k * math.sqrt(v)) for T in (P, Q) for m, v in zip(T[1], T[2]) for k in (-20, -6, -2, 0, 2, 6, 20)})
        value, err = mp.quad(integrand, [-mp.inf] + pts + [mp.inf], error=True)
        return float(value), float(err)


# ---------------------------------------------------------------- d = 1 against mpmath


def _random_1d(rng, k):
    return rng.dirichlet(np.ones(k)), rng.normal(size=k) * 2, rng.uniform(0.1, 2, k) ** 2


@pytest.mark.fuzz
@settings(max_examples=20)
@given(hs.integers(1, 3), hs.integers(1, 3), hs.floats(0.5, 30.0), hs.floats(-3.0, 1.0), hs.integers(0, 2**32 - 1))
def test_one_dimensional_bounds_bracket_mpmath_and_are_tight(k1, k2, spread, log_sd, seed):
    """d = 1 (weights Dirichlet, means N(0, spread^2), sd from 10^log_sd: narrow, wide and far-apart components):
    lower <= D <= upper against mpmath, and the gap (default 1024 slabs) at most 5e-3 of the truth + 1e-6 (typically 1e-4)."""
    rng = np.random.default_rng(seed)

    def mix(k):
        return rng.dirichlet(np.ones(k)), rng.normal(size=k) * spread, (10.0 ** (log_sd + rng.uniform(0, 1.5, k))) ** 2

    P, Q = mix(k1), mix(k2)
    exact, err = _mp_kl_1d(P, Q)
    lo, hi = kl_bounds(P, Q)
    tol = err + 1e-12 * max(1.0, exact)
    assert lo <= exact + tol and hi >= exact - tol
    assert hi - lo <= 5e-3 * exact + 1e-6


def test_more_pieces_tighten_like_one_over_pieces_squared():
    """d = 1: the option trades time for tightness; the gap falls about 16x when the slabs are 4x as many."""
    rng = np.random.default_rng(5)
    P, Q = _random_1d(rng, 3), _random_1d(rng, 2)
    gaps = [np.subtract(*kl_bounds(P, Q, pieces=n)[::-1]) for n in (0, 64, 256, 1024)]
    assert gaps[0] > gaps[1] > 8 * gaps[2] > 64 * gaps[3] > 0


# ---------------------------------------------------------------- d >= 2 against Monte Carlo


def _covariances(rng, k, d, log_cond, scale):
    """k random covariances with eigenvalues scale * 10^[-log_cond, 0] (near-singular for large log_cond)."""
    out = []
    for _ in range(k):
        Qm, _ = np.linalg.qr(rng.normal(size=(d, d)))
        ev = scale * 10.0 ** rng.uniform(-log_cond, 0.0, d)
        out.append((Qm * ev) @ Qm.T)
    return np.array(out)


@pytest.mark.fuzz
@settings(max_examples=40)
@given(
    hs.integers(1, 4),
    hs.integers(1, 4),
    hs.integers(2, 5),
    hs.floats(0.0, 20.0),
    hs.floats(0.0, 5.0),
    hs.floats(0.1, 10.0),
    hs.floats(0.05, 1.0),
    hs.integers(0, 2**32 - 1),
)
def test_bounds_never_cross_the_truth(k1, k2, d, spread, log_cond, scale, alpha, seed):
    """Random pairs: Dirichlet(alpha) weights (tiny weights for small alpha), means N(0, spread^2 I) (far apart
    for large spread), covariances with condition numbers up to 1e5 (near-singular): lower <= D <= upper, D the
    closed form (one Gaussian each) or the stratified Monte Carlo mean within 5 of its standard errors."""
    rng = np.random.default_rng(seed)

    def mix(k):
        return (
            rng.dirichlet(np.full(k, alpha)) if k > 1 else np.ones(1),
            rng.normal(size=(k, d)) * spread,
            _covariances(rng, k, d, log_cond, scale),
        )

    P, Q = mix(k1), mix(k2)
    P = (np.maximum(P[0], 1e-12) / np.maximum(P[0], 1e-12).sum(), P[1], P[2])
    Q = (np.maximum(Q[0], 1e-12) / np.maximum(Q[0], 1e-12).sum(), Q[1], Q[2])
    lo, hi = kl_bounds(P, Q)
    assert 0 <= lo <= hi
    if k1 == k2 == 1:
        exact = float(_mp_gauss_kl(P[1][0], P[2][0], Q[1][0], Q[2][0]))
        assert lo <= exact * (1 + 1e-9) + 1e-12 and hi >= exact * (1 - 1e-9) - 1e-12
        return
    mean, se = _mc(P, Q, 2**14, seed=seed % 1000)
    assert lo <= mean + 5 * se + 1e-9 * abs(mean) + 1e-12, (lo, mean, se)  # + the reference's rounding
    assert hi >= mean - 5 * se - 1e-9 * abs(mean) - 1e-12, (hi, mean, se)


@pytest.mark.parametrize("d", [2, 3, 5])
@pytest.mark.parametrize("i", range(4))
def test_gap_below_the_truth_on_typical_pairs(d, i):
    """Issue 21, item 8 (the goal): upper - lower below the truth on random 2-4 component pairs of the tests'
    generator in d = 2, 3, 5 (the bounds before had gaps of 0.59-1.71 of the truth on such pairs; now <= 0.45)."""
    rng = np.random.default_rng([21, d, i])
    k1, k2 = rng.integers(2, 5, size=2)
    P, Q = _random_mixture(rng, k1, d), _random_mixture(rng, k2, d)
    lo, hi = kl_bounds(P, Q)
    mean, se = _mc(P, Q, 2**15)
    assert lo <= mean + 5 * se and hi >= mean - 5 * se
    assert hi - lo < 0.5 * (mean - 5 * se)


@pytest.mark.parametrize("d, seed, was", [(2, 0, 0.59), (3, 1, 0.64), (5, 2, 1.26)])
def test_kl_bounds_too_wide_in_d_above_one(d, seed, was):
    """Issue 21, item 8 regression: the pairs of test_bounds.py::test_mixtures_bracket_monte_carlo had gaps of
    0.59, 0.64 and 1.26 of the truth (Monte Carlo 0.76, 5.46, 3.70); now below 0.2 of it."""
    rng = np.random.default_rng(seed)
    P, Q = _random_mixture(rng, 3, d), _random_mixture(rng, 2, d)
    lo, hi = kl_bounds(P, Q)
    mean, se = _mc(P, Q, 2**15)
    assert lo <= mean + 5 * se and hi >= mean - 5 * se
    assert hi - lo < 0.2 * (mean - 5 * se) < was * mean


# ---------------------------------------------------------------- the pieces, against mpmath and closed forms


@pytest.mark.fuzz
@given(hs.floats(-40.0, 40.0), hs.floats(1e-3, 50.0), hs.booleans(), hs.booleans())
def test_truncated_normal_moments_match_mpmath(alpha, width, open_left, open_right):
    """_truncated: log P(alpha <= Z < beta), E[Z | .] and E[Z^2 | .] of a standard normal, deep in both tails
    and on unbounded slabs, against mpmath at 40 digits."""
    a = -math.inf if open_left else alpha
    b = math.inf if open_right else alpha + width
    lm, m1, m2 = (float(x) for x in _truncated(np.array(a), np.array(b)))
    with mp.workdps(40):
        A, B = (mp.mpf(a) if math.isfinite(a) else -mp.inf), (mp.mpf(b) if math.isfinite(b) else mp.inf)
        mass = mp.ncdf(B) - mp.ncdf(A) if A < 0 else mp.erfc(A / mp.sqrt(2)) / 2 - mp.erfc(B / mp.sqrt(2)) / 2
        pa = mp.npdf(A) if math.isfinite(a) else mp.mpf(0)
        pb = mp.npdf(B) if math.isfinite(b) else mp.mpf(0)
        apa = A * pa if math.isfinite(a) else mp.mpf(0)
        bpb = B * pb if math.isfinite(b) else mp.mpf(0)
        want = (mp.log(mass), (pa - pb) / mass, 1 + (apa - bpb) / mass)
    assert lm == pytest.approx(float(want[0]), rel=1e-10, abs=1e-12)
    assert m1 == pytest.approx(float(want[1]), rel=1e-8, abs=1e-8)
    assert m2 == pytest.approx(float(want[2]), rel=1e-7, abs=1e-8)


def test_optimised_reference_is_exact_for_one_gaussian():
    """Jensen with the optimised r is exact when g is one Gaussian (r = g lies in the family): the minimum of
    J(R, k) is E_{N(0, I)} log N(z; mu, Sigma) in closed form."""
    mu = np.array([[1.0, -2.0, 0.5]])
    A = np.array([[2.0, 0.3, 0.0], [0.3, 0.5, 0.1], [0.0, 0.1, 1.5]])
    sig = A[None]
    R, k = _newton_reference(np.ones(1), mu, sig)
    prec = np.linalg.inv(A)
    want = -0.5 * (3 * LOG2PI + np.linalg.slogdet(A)[1] + np.trace(prec) + mu[0] @ prec @ mu[0])
    # J at the optimum, evaluated from its definition: tr(R)/2 + log int N(0, I) N(mu, sig) e^-(z'Rz/2 + k'z)
    Am = np.eye(3) + prec + R
    eta = prec @ mu[0] - k
    log_i = (
        -0.5 * (3 * LOG2PI + np.linalg.slogdet(A)[1] + mu[0] @ prec @ mu[0])
        - 0.5 * np.linalg.slogdet(Am)[1]
        + 0.5 * eta @ np.linalg.solve(Am, eta)
    )
    assert 0.5 * np.trace(R) + log_i == pytest.approx(want, rel=1e-10)


def test_bad_pieces():
    p = (np.ones(1), np.zeros((1, 2)), np.eye(2)[None])
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="`pieces`"):
            kl_bounds(p, p, pieces=bad)
