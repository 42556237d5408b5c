"""Property tests of the kNN estimators (issue 21): invariances the estimands have, which the estimates must keep.

D(p||q) and JS(p, q) are invariant under any common bijection of the space, in particular a common translation,
rotation and scaling of both samples; H(p) shifts by d log c under scaling by c (Cover & Thomas, Thm 8.6.4) and is
invariant under translation and rotation. The kNN estimators see only distances, which those maps preserve (up to
the factor c), so the estimates must keep these properties to rounding. JS is symmetric and lies in [0, log 2];
D(p||p) = 0 must lie in the interval when both samples are the same; the order of the rows is no information.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kullback.estimation._knn import entropy_knn, js_knn, kl_knn

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(0, 2**32 - 1)
dims = st.integers(1, 4)
methods = st.sampled_from(["knn", "knn-ensemble"])


def _pair(seed, d, n=120):
    """x ~ N(0, I_d), y ~ N(shift, s^2 I_d); offsets stay within float64's resolution of the scaled data (2^-40 of
    |offset| below the scale: data at 1e3 + 1e-9 z repeat values by rounding, refused with their own message)."""
    g = np.random.default_rng(seed)
    shift = g.normal(0, 0.5, d)
    return g.standard_normal((n, d)), g.standard_normal((n, d)) * g.uniform(0.8, 1.5) + shift, g


def _rotation(g, d):
    q, r = np.linalg.qr(g.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def _same(a, b, rel=1e-7):
    assert a.value == pytest.approx(b.value, rel=rel, abs=1e-9), (a, b)
    assert a.ci == pytest.approx(b.ci, rel=rel, abs=1e-9)


@SETTINGS
@given(seed=seeds, d=dims, method=methods, log_scale=st.floats(-5, 20), offset=st.floats(-1e3, 1e3))
def test_kl_invariant_under_translation_rotation_scaling(seed, d, method, log_scale, offset):
    x, y, g = _pair(seed, d)
    R, c = _rotation(g, d), math.exp(log_scale)
    f = lambda a: c * (a @ R.T) + offset
    _same(kl_knn(x, y, method=method), kl_knn(f(x), f(y), method=method))


@SETTINGS
@given(seed=seeds, d=dims, power=st.integers(-30, 30))
def test_kl_auto_invariant_under_exact_scaling(seed, d, power):
    """method="auto" chooses from the data; scaling by 2^k is exact in floating point, so the choice cannot move
    (the logs of the distances round differently: the value to 1e-12)."""
    x, y, _ = _pair(seed, d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = kl_knn(x, y, method="auto"), kl_knn(x * 2.0**power, y * 2.0**power, method="auto")
    assert a.method == b.method and a.details.get("resolution") == b.details.get("resolution")
    _same(a, b, rel=1e-12)


@SETTINGS
@given(seed=seeds, d=dims, method=methods, log_scale=st.floats(-10, 10), offset=st.floats(-1e3, 1e3))
def test_entropy_shifts_by_d_log_c(seed, d, method, log_scale, offset):
    x, _, g = _pair(seed, d)
    R = _rotation(g, d)
    a, b = entropy_knn(x, method=method), entropy_knn(math.exp(log_scale) * (x @ R.T) + offset, method=method)
    assert b.value == pytest.approx(a.value + d * log_scale, rel=1e-7, abs=1e-7)
    assert b.stderr == pytest.approx(a.stderr, rel=1e-6, abs=1e-9)


@SETTINGS
@given(seed=seeds, d=dims, method=methods, log_scale=st.floats(-10, 10))
def test_js_symmetric_bounded_and_invariant(seed, d, method, log_scale):
    x, y, g = _pair(seed, d)
    a, b = js_knn(x, y, method=method), js_knn(y, x, method=method)
    _same(a, b, rel=1e-9)
    assert 0.0 <= a.ci[0] <= a.value <= a.ci[1] <= math.log(2)
    R = _rotation(g, d)
    _same(a, js_knn(math.exp(log_scale) * (x @ R.T), math.exp(log_scale) * (y @ R.T), method=method))


@SETTINGS
@given(seed=seeds, d=dims, method=st.sampled_from(["knn", "knn-ensemble", "auto"]))
def test_identical_samples_give_zero_within_the_interval(seed, d, method):
    """y = x: every point of x is its own draw in y (its copy left out of its neighbours); D(p||p) = 0 in the interval."""
    x = np.random.default_rng(seed).standard_normal((150, d))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = kl_knn(x, x.copy(), method=method)
    assert e.ci[0] <= 0.0 <= e.ci[1]


@SETTINGS
@given(seed=seeds, d=dims, method=st.sampled_from(["knn", "knn-ensemble", "auto"]))
def test_permuting_rows_changes_nothing(seed, d, method):
    x, y, g = _pair(seed, d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = kl_knn(x, y, method=method)
        b = kl_knn(x[g.permutation(len(x))], y[g.permutation(len(y))], method=method)
    assert a.method == b.method
    _same(a, b, rel=1e-9)
    h1, h2 = entropy_knn(x, method="knn-ensemble"), entropy_knn(x[::-1], method="knn-ensemble")
    _same(h1, h2, rel=1e-9)
