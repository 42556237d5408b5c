"""NSB entropy (kullback.estimation._nsb) against an mpmath implementation, Monte Carlo, and its published behaviour.

References: (1) an independent mpmath implementation of the NSB posterior (every one of the K bins summed, no
grouping; mpmath.quad over log beta at 20 digits); (2) the Wolpert & Wolf (1995) moments of the entropy of a
Dirichlet vector, against Monte Carlo draws of that vector; (3) Nemenman, Shafee & Bialek (2002), Fig. 2: in the
undersampled regime (N << K, p drawn from a symmetric Dirichlet) NSB is nearly unbiased where the plug-in and
Miller-Madow estimates fall far short.
"""

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as hs
from scipy.stats import entropy

import kullback as kb
from kullback.estimation._nsb import _moments, entropy_nsb


def mp_nsb(counts, K):
    """Posterior mean and sd of H under NSB, in mpmath: all K bins, the double sum of <H^2> written out."""
    mp.mp.dps = 20
    n = [mp.mpf(v) for v in counts] + [mp.mpf(0)] * (K - len(counts))
    N = sum(n)

    def lw(t):
        b = mp.exp(t)
        ev = mp.loggamma(K * b) - mp.loggamma(N + K * b) + sum(mp.loggamma(v + b) - mp.loggamma(b) for v in n)
        return ev + mp.log(K * mp.psi(1, K * b + 1) - mp.psi(1, b + 1)) + t

    cache = {}

    def moments(t):
        if t in cache:  # the three integrals evaluate the same nodes
            return cache[t]
        b = mp.exp(t)
        a = [v + b for v in n]
        A = sum(a)
        pa1, pa2, qa2 = [mp.psi(0, ai + 1) for ai in a], [mp.psi(0, ai + 2) for ai in a], [mp.psi(1, ai + 2) for ai in a]
        pA1, pA2, qA2 = mp.psi(0, A + 1), mp.psi(0, A + 2), mp.psi(1, A + 2)
        h1 = pA1 - sum(ai / A * pa1[i] for i, ai in enumerate(a))
        s = 0
        for i, ai in enumerate(a):
            for k, ak in enumerate(a):
                if i != k:
                    s += ai * ak * ((pa1[i] - pA2) * (pa1[k] - pA2) - qA2)
            s += ai * (ai + 1) * ((pa2[i] - pA2) ** 2 + qa2[i] - qA2)
        cache[t] = h1, s / (A * (A + 1))
        return cache[t]

    ts = mp.linspace(-28, 28, 15)
    top = max(lw(t) for t in mp.linspace(-28, 28, 200))
    Z = mp.quad(lambda t: mp.exp(lw(t) - top), ts)
    m1 = mp.quad(lambda t: mp.exp(lw(t) - top) * moments(t)[0], ts) / Z
    m2 = mp.quad(lambda t: mp.exp(lw(t) - top) * moments(t)[1], ts) / Z
    return float(m1), float(mp.sqrt(m2 - m1 * m1))


@pytest.mark.parametrize("counts, K", [([3, 1, 5, 2], 6), ([10, 1, 1, 1, 2], 5)])
def test_against_mpmath(counts, K):
    x = np.repeat(np.arange(len(counts)), counts)
    e = entropy_nsb(x, alphabet_size=K)
    mean, sd = mp_nsb(counts, K)
    assert e.value == pytest.approx(mean, rel=1e-9)
    assert e.stderr == pytest.approx(sd, rel=1e-7)
    assert e.method == "nsb" and e.n == sum(counts)


def test_dirichlet_entropy_moments_against_monte_carlo():
    """<H> and <H^2> of p ~ Dirichlet(a) (Wolpert & Wolf 1995) against 400 000 draws, within 5 standard errors."""
    g = np.random.default_rng(0)
    for a in ([3.5, 1.5, 5.5, 2.5, 0.5, 0.5], [0.2, 0.1, 4.0]):
        a = np.array(a)
        P = g.dirichlet(a, size=400_000)
        H = -(P * np.log(np.where(P > 0, P, 1.0))).sum(axis=1)
        beta = 0.1
        c = (a - beta)[None, :]
        h1, h2 = _moments(np.array([math.log(beta)]), c, np.ones_like(c), len(a), float(c.sum()))
        assert abs(h1[0] - H.mean()) < 5 * H.std() / math.sqrt(len(H))
        assert abs(h2[0] - (H * H).mean()) < 5 * (H * H).std() / math.sqrt(len(H))


def test_undersampled_dirichlet_laws():
    """N = 300 draws over K = 1000 values, p ~ Dirichlet(0.5): NSB's mean error is small (NSB 2002, Fig. 2) where
    Miller-Madow falls ~0.6 nats short; its interval covers the truth in most of 8 draws."""
    err_nsb, err_mm, cover = [], [], 0
    for s in range(8):
        g = np.random.default_rng(s)
        p = g.dirichlet(np.full(1000, 0.5))
        x = g.choice(1000, 300, p=p)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", kb.AccuracyWarning)  # Miller-Madow's unseen-mass warning
            e, m = kb.estimate_entropy(x, method="nsb", alphabet_size=1000), kb.estimate_entropy(x)
        H = entropy(p)
        err_nsb.append(e.value - H)
        err_mm.append(m.value - H)
        cover += e.ci[0] <= H <= e.ci[1]
    assert abs(np.mean(err_nsb)) < 0.1 and np.mean(err_mm) < -0.5
    assert np.sqrt(np.mean(np.square(err_nsb))) < 0.2 * np.sqrt(np.mean(np.square(err_mm)))
    assert cover >= 6


def test_bad_alphabet_size_and_no_coincidences():
    x = np.array([0, 1, 1, 2, 2, 2])
    with pytest.raises(ValueError, match="needs `alphabet_size`"):
        kb.estimate_entropy(x, method="nsb")
    with pytest.raises(ValueError, match="smaller than the 3 distinct values"):
        kb.estimate_entropy(x, method="nsb", alphabet_size=2)
    for bad in (2.5, True, 1, "6"):
        with pytest.raises(ValueError, match="`alphabet_size` must be an integer >= 2"):
            kb.estimate_entropy(x, method="nsb", alphabet_size=bad)
    with pytest.raises(ValueError, match="does not apply to method='miller-madow'"):
        kb.estimate_entropy(x, alphabet_size=6)
    with pytest.warns(kb.AccuracyWarning, match="no value of `x` occurs twice"):
        e = kb.estimate_entropy(np.arange(50), method="nsb", alphabet_size=10**6)
    assert e.value <= math.log(10**6) + 1e-12


def test_base_and_labels():
    """Strings as values; base=2 divides by log 2 (the registry's rule for every method)."""
    x = np.array(list("aabbbcdd"))
    nats = kb.estimate_entropy(x, method="nsb", alphabet_size=5)
    bits = kb.estimate_entropy(x, method="nsb", alphabet_size=5, base=2)
    assert bits.value == pytest.approx(nats.value / math.log(2), rel=1e-14)
    mean, sd = mp_nsb([2, 3, 1, 2], 5)
    assert nats.value == pytest.approx(mean, rel=1e-9) and nats.stderr == pytest.approx(sd, rel=1e-7)


@pytest.mark.fuzz
@settings(max_examples=max(4, settings.default.max_examples // 15))
@given(counts=hs.lists(hs.integers(1, 20), min_size=1, max_size=3), extra=hs.integers(0, 2))
def test_fuzz_against_mpmath(counts, extra):
    """Any counts (1..20 per value, one to three values seen) over an alphabet of up to two more: NSB's posterior mean
    and sd equal the mpmath implementation's (bounded profile: a few examples, mpmath's double sums are slow)."""
    assume(sum(counts) >= 2)  # one sample is refused (test_bad_alphabet_size_and_no_coincidences's sibling)
    K = len(counts) + extra
    if K < 2:
        K = 2
    x = np.repeat(np.arange(len(counts)), counts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kb.AccuracyWarning)  # all-distinct samples: the prior's answer (still compared)
        e = entropy_nsb(x, alphabet_size=K)
    mean, sd = mp_nsb(counts, K)
    assert e.value == pytest.approx(mean, rel=1e-8, abs=1e-12)
    assert e.stderr == pytest.approx(sd, rel=1e-6, abs=1e-12)
