"""The space-worm teeth worked example (W. Kurt, "Kullback-Leibler Divergence Explained", Count Bayesie, 2017).

Observed probabilities of 0..10 teeth, as the post lists them. Reference values are computed here
in mpmath at 40 digits from those probabilities. The post's own numbers, D(obs||uniform) = 0.338 and
D(obs||Binomial(10, 0.57)) = 0.477, do not follow from its table (in nats or bits); its p = 0.57
comes from a mean of 5.7, but the table's mean is 5.44. The conclusion stands: the uniform law loses
less information than the binomial (its variance 2.48 is far below the data's 6.33); a Poisson
(variance = mean = 5.44) loses less still.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st

import kullback as kb

P = [0.02, 0.03, 0.05, 0.14, 0.16, 0.15, 0.12, 0.08, 0.10, 0.08, 0.07]
TEETH = st.rv_discrete(values=(np.arange(11), P))


def mp_kl(q):
    with mp.workdps(40):
        return sum(mp.mpf(p) * mp.log(mp.mpf(p) / qi) for p, qi in zip([str(v) for v in P], q))


def mp_binom(p):
    p = mp.mpf(p)
    return [mp.binomial(10, i) * p**i * (1 - p) ** (10 - i) for i in range(11)]


def test_published_example_values_from_mpmath():
    D_unif = mp_kl([mp.mpf(1) / 11] * 11)
    D_binom_057 = mp_kl(mp_binom("0.57"))
    assert float(D_unif) == pytest.approx(0.13667971094966939, rel=1e-15)
    assert float(D_binom_057) == pytest.approx(0.44107848461506722, rel=1e-15)
    assert float(kb.kl(TEETH, st.randint(0, 11))) == pytest.approx(float(D_unif), rel=1e-12)
    assert float(kb.kl(TEETH, st.binom(10, 0.57))) == pytest.approx(float(D_binom_057), rel=1e-10)
    # the post's 0.338 / 0.477 are neither these nats nor their bits (0.197 / 0.636)
    assert abs(float(D_unif) - 0.338) > 0.1 and abs(float(D_unif) / math.log(2) - 0.338) > 0.1
    assert D_unif < D_binom_057  # the post's conclusion: the uniform loses less information


def test_forward_binomial_is_the_mean_over_n_and_loses_more_than_the_uniform():
    f = kb.fit(TEETH, st.binom, fixed={"n": 10})
    u = kb.fit(TEETH, st.randint)
    assert f.converged and u.converged
    assert f.params["p"] == pytest.approx(0.544, abs=1e-7)  # forward KL = maximum likelihood: p = mean / n
    assert f.kl == pytest.approx(float(mp_kl(mp_binom("0.544"))), rel=1e-9)
    assert (u.params["low"], u.params["high"]) == (0, 11)
    assert u.kl == pytest.approx(float(mp_kl([mp.mpf(1) / 11] * 11)), rel=1e-12)
    assert u.kl < f.kl


def test_rank_poisson_uniform_binomial_and_bits():
    r = kb.rank(TEETH, [(st.binom, {"n": 10}), st.randint, st.poisson])
    assert [row["family"] for row in r.rows] == ["poisson", "randint", "binom"]
    with mp.workdps(40):
        lam = mp.mpf("5.44")
        D_pois = mp_kl([mp.exp(-lam) * lam**i / mp.factorial(i) for i in range(11)])
    assert r.rows[0]["kl"] == pytest.approx(float(D_pois), rel=1e-9)
    assert r.best.params["mu"] == pytest.approx(5.44, abs=1e-6)
    assert r.rows[2]["gap"] == pytest.approx(r.rows[2]["kl"] - r.rows[0]["kl"])
    bits = kb.fit(TEETH, st.randint, base=2)
    assert bits.kl == pytest.approx(float(mp_kl([mp.mpf(1) / 11] * 11) / mp.log(2)), rel=1e-12)


def test_reverse_binomial_is_narrower_and_poisson_reverse_is_infinite():
    rev = kb.fit(TEETH, st.binom, fixed={"n": 10}, direction="reverse")
    assert rev.converged
    # the reverse optimum satisfies d/dp D(q_p || target) = 0: check it against mpmath's derivative
    target = [mp.mpf(str(v)) for v in P]

    def D_rev(p):
        q = mp_binom(p)
        return sum(qi * mp.log(qi / t) for qi, t in zip(q, target))

    with mp.workdps(40):
        assert abs(float(mp.diff(D_rev, mp.mpf(rev.params["p"])))) < 1e-6
        assert rev.kl == pytest.approx(float(D_rev(mp.mpf(rev.params["p"]))), rel=1e-9)
    pois = kb.fit(TEETH, st.poisson, direction="reverse")
    assert pois.kl == math.inf and not pois.converged
    assert "[0, 10]" in pois.reason and "poisson" in pois.reason
