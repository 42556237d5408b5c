"""Differential fuzzer for probability vectors: kb.kl, kb.entropy, kb.cross_entropy, kb.js against mpmath.

Hypothesis draws vectors of 1 to 50 weights (and tiled ones of ~20 000, through the kernel's
chunked loops) with magnitudes over the whole float range: zeros, subnormals, 1e-300 to 1e300
(float64) or 1e-38 to 1e38 (float32), rows whose sums overflow, exact duplicates p = q,
permutations and near-identical pairs (relative perturbations 1e-3 to 1e-14); normalize True
and False.  Each example runs through the generic array-API code and the fused kernel (the
``path`` fixture, kernel size threshold 0).

The reference is mpmath at 400 digits on the exact input values (every float32 and float64 is
exactly an mpf): the formula on p / sum p, q / sum q with normalize=True, on p and q as given
with normalize=False.

Error bound checked, and why it holds: each element's term is computed from values carrying at
most a few roundings (the normalisation x = (w / max w) / sum, or the kernel's (w c) / sum), so
a term t = x L (L a logarithm) is off by at most ~4 eps x (1 + |L| + |log p| + |log q|): the
split form log x - log y is off by eps (|log x| + |log y|). Where x, y and x/y are normal numbers the
log ratio is accurate to eps |log(x/y)| (the rounding of x/y corrected near 1), and KL's and JS's
terms weigh only x |log(x/y)| + |x - y| (JS: y = m = (p + q)/2): near-identical p and q (relative
1e-6) must come out to ~eps/1e-6 relative, not to eps absolute (which was 1e-5 of D before).
Summing n terms adds at most n eps sum |t| (Higham, Accuracy and Stability, eq. 4.4).  Hence

    |got - ref| <= rel |ref| + (n + 16) eps S + 16 eps^2 + 4 tiny,  S = sum x (1 + |log x| + |log y|) over the terms,

with rel = 1e-10 in float64 and 8 eps32 in float32 (the result's own rounding), eps and tiny of
the dtype the generic path computes in (the kernel computes float32 input in float64, within the
same bound).  Where a divergence is near 0 (near-identical p, q) this is the conditioning of the
problem: a relative change eps in one input moves D by ~eps |log(p/q)| (dD/dlog p_i =
p_i (log(p_i/q_i) - D)), so no algorithm on rounded normalised values does better.

Also checked: never NaN; +inf exactly where the reference is +inf (q = 0 < p for kl and
cross_entropy); never below 0 where exact arithmetic guarantees it (every normalised value; js
always); the result has the input's dtype.
"""

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kullback as kb

pytestmark = pytest.mark.fuzz

# 400 digits, not 50: a weight of 1e-308 beside weights of 1 moves the normalised values by a relative 1e-308, and
# that moves D by as much (D = log(sum q / sum p) = 1e-307 where q adds only that weight); 50 digits gave 0 there
DPS = 400
_fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# --------------------------------------------------------------------------- draws


def _limits(dtype):
    info = np.finfo(dtype)
    return (
        (300, float(info.smallest_subnormal), float(info.tiny))
        if dtype == np.float64
        else (38, float(info.smallest_subnormal), float(info.tiny))
    )


@st.composite
def weights(draw, dtype, n):
    """n weights of one row: a row scale 10^U(-e, e) times elements that are 0, ordinary, spread
    over 40 decades, or absolute subnormals; never all zero."""
    e, sub, tiny = _limits(dtype)
    scale = 10.0 ** draw(st.floats(-e, e))
    element = st.one_of(
        st.just(0.0),
        st.floats(1e-3, 1e3),
        st.floats(-40, 0).map(lambda u: 10.0**u),
        st.floats(sub, tiny * 4).map(lambda v: v / scale),  # subnormal after scaling
    )
    w = np.array(draw(st.lists(element, min_size=n, max_size=n)), dtype=np.float64) * scale
    w = np.minimum(w, float(np.finfo(dtype).max)).astype(dtype)
    if not np.any(w > 0):
        w[draw(st.integers(0, n - 1))] = dtype(min(scale, float(np.finfo(dtype).max)))
    return w


@st.composite
def cases(draw):
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    normalize = draw(st.booleans())
    n = draw(st.integers(1, 50))
    p = draw(weights(dtype, n))
    relation = draw(st.sampled_from(["independent", "independent", "same", "permuted", "near"]))
    if relation == "independent":
        q = draw(weights(dtype, n))
    elif relation == "same":
        q = p.copy()
    elif relation == "permuted":
        q = p[np.asarray(draw(st.permutations(range(n))), dtype=int)]
    else:
        k = draw(st.integers(3, 14 if dtype == np.float64 else 6))
        noise = np.array(draw(st.lists(st.floats(-1, 1), min_size=n, max_size=n)))
        q = np.minimum(p.astype(np.float64) * (1 + 10.0**-k * noise), float(np.finfo(dtype).max)).astype(dtype)
    if not normalize:  # probability vectors, normalised in float64 and rounded to the dtype
        p, q = (_normalised(w).astype(dtype) for w in (p, q))
    return p, q, normalize


def _normalised(w):
    w = w.astype(np.float64)
    top = w.max()
    return (w / top) / np.sum(w / top)


# --------------------------------------------------------------------------- reference and bound


def _exact(w, normalize):
    xs = [mp.mpf(float(v)) for v in w]
    if normalize:
        total = mp.fsum(xs)
        xs = [x / total for x in xs]
    return xs


def _ab(v):
    return abs(mp.log(v)) if v > 0 else mp.mpf(0)


def _normal(v, dtype):
    info = np.finfo(dtype)
    return float(info.tiny) <= v <= float(info.max)


def _ratio_weight(x, y, dtype, loose):
    """The bound's weight of one log-ratio term x log(x/y): x |log(x/y)| + |x - y| where x, y and x/y are normal
    numbers of the dtype (the log ratio is then accurate to eps |log(x/y)|, and x log(x/y) is conditioned by
    exactly that: d/dlog x of the term is log(x/y) + 1, and the 1 sums to 0 over normalised values); else
    ``loose`` (log x - log y, off by eps (|log x| + |log y|))."""
    if _normal(x, dtype) and _normal(y, dtype) and _normal(x / y, dtype):
        return x * abs(mp.log(x / y)) + abs(x - y)
    return loose


def references(p, q, normalize):
    """(value, S) per function, by mpmath at DPS digits; S is the error bound's weight sum."""
    dt = p.dtype.type
    with mp.workdps(DPS):
        P, Q = _exact(p, normalize), _exact(q, normalize)
        out = {}
        if any(x > 0 and y == 0 for x, y in zip(P, Q)):
            out["kl"] = (mp.inf, mp.mpf(0))
            out["cross_entropy"] = (mp.inf, mp.mpf(0))
        else:
            terms = [(x * mp.log(x / y), _ratio_weight(x, y, dt, x * (1 + _ab(x) + _ab(y)))) for x, y in zip(P, Q) if x > 0]
            out["kl"] = (mp.fsum(t for t, _ in terms), mp.fsum(s for _, s in terms))
            terms = [(-x * mp.log(y), x * (1 + _ab(y))) for x, y in zip(P, Q) if x > 0]
            out["cross_entropy"] = (mp.fsum(t for t, _ in terms), mp.fsum(s for _, s in terms))
        terms = [(-x * mp.log(x), x * (1 + _ab(x))) for x in P if x > 0]
        out["entropy"] = (mp.fsum(t for t, _ in terms), mp.fsum(s for _, s in terms))
        js, s = [], []
        for x, y in zip(P, Q):
            for a in (x, y):
                if a > 0:
                    js.append(a * mp.log(2 * a / (x + y)) / 2)
                    s.append(_ratio_weight(a, (x + y) / 2, dt, a * (1 + _ab(2 * a / (x + y)) + _ab(x) + _ab(y))))
        out["js"] = (mp.fsum(js), mp.fsum(s))
        return out


def check(name, got, ref, weight, n, dtype, normalize):
    got_f = float(got)
    assert not math.isnan(got_f), f"{name} is NaN (reference {mp.nstr(ref, 17)})"
    assert np.asarray(got).dtype == dtype, f"{name} has dtype {np.asarray(got).dtype}, not {np.dtype(dtype)}"
    if ref == mp.inf:
        assert got_f == math.inf, f"{name} = {got_f!r}, reference +inf"
        return
    assert math.isfinite(got_f), f"{name} = {got_f!r}, reference {mp.nstr(ref, 17)}"
    if normalize or name == "js":
        assert got_f >= 0, f"{name} = {got_f!r} < 0"
    info = np.finfo(dtype)
    rel = 1e-10 if dtype == np.float64 else 8 * float(info.eps)
    # 16 eps^2: the values the terms see are the normalised ones as rounded (a few eps relative), and the divergence of
    # those is what a sum of non-negative terms (p log(p/q) - p + q) returns: ~eps^2 where the truth is 0 (p = [1],
    # q = [1.8e14] normalised to 1 and 1 + 2^-52 gave 2.5e-32)
    tol = rel * abs(ref) + (n + 16) * float(info.eps) * weight + 16 * float(info.eps) ** 2 + 4 * float(info.tiny)
    err = abs(mp.mpf(got_f) - ref)
    assert err <= tol, f"{name} = {got_f!r}, reference {mp.nstr(ref, 20)}: error {mp.nstr(err, 3)} > bound {mp.nstr(tol, 3)}"


FUNCS = {
    "kl": lambda p, q, nz: kb.kl(p, q, normalize=nz),
    "entropy": lambda p, q, nz: kb.entropy(p, normalize=nz),
    "cross_entropy": lambda p, q, nz: kb.cross_entropy(p, q, normalize=nz),
    "js": lambda p, q, nz: kb.js(p, q, normalize=nz),
}


# --------------------------------------------------------------------------- the fuzz tests


@_fixture_ok
@given(cases())
def test_vectors_against_mpmath(path, case):
    """Short vectors over the whole float range, through both paths, against mpmath at DPS digits."""
    p, q, normalize = case
    refs = references(p, q, normalize)
    for name, f in FUNCS.items():
        check(name, f(p, q, normalize), *refs[name], len(p), p.dtype, normalize)


@settings(parent=_fixture_ok, max_examples=max(1, settings().max_examples // 5))
@given(cases(), st.integers(400, 700))
def test_tiled_vectors_against_mpmath(path, case, copies):
    """Long vectors (k copies of a drawn one, ~20 000 weights: several kernel chunks) with normalize=True.

    Reference: the normalised k-fold tiling of p is p / (k sum p) repeated, so D, JS are those of the short
    vectors and H, H(p, q) grow by log k exactly (mpmath).
    """
    p, q, _ = case
    P, Q = np.tile(p, copies), np.tile(q, copies)
    refs = references(p, q, True)
    with mp.workdps(DPS):
        shift = {"entropy": mp.log(copies), "cross_entropy": mp.log(copies)}
        for name, f in FUNCS.items():
            ref, weight = refs[name]
            ref = ref + shift.get(name, 0) if ref != mp.inf else ref
            weight = weight * (1 + mp.log(copies))
            check(name, f(P, Q, True), ref, weight, len(P), p.dtype, True)


@given(cases())
def test_identical_vectors_give_exactly_zero(case):
    """D(p || p) = JS(p, p) = 0 exactly (every log ratio is log 1 = 0), and H(p, p) = H(p)."""
    p, _, normalize = case
    assert kb.kl(p, p, normalize=normalize) == 0
    assert kb.js(p, p, normalize=normalize) == 0
    assert kb.cross_entropy(p, p, normalize=normalize) == kb.entropy(p, normalize=normalize)
