"""Fused single-pass kernels (numba) of e^x - 1 - x for :mod:`kullback.losses` on CPU tensors.

One pass per element computes, in float64 whatever the input's float type, both e^x - 1 - x
(exact to a few ulps, no cancellation near 0) and expm1(x) (the derivative, kept for backward),
and, for the VAE's N(0, I) prior, the sum over the last axis of ½ ((e^x - 1 - x) + mu^2).

The exponential is computed here rather than called from libm so that the loop vectorises:
Cody & Waite's reduction x = k ln2 + r, |r| <= ln2/2 (fdlibm's ``e_exp.c``, Sun Microsystems 1993,
its ln2_hi / ln2_lo split), with e^r - 1 - r = sum_{j=2}^{13} r^j / j! (Taylor; the first term
left out is below 2 (ln2/2)^12 / 14! ~ 7e-17 of the sum) and 2^k built from its bits.  Then, with
s = 2^k,

    e^x - 1     = (s - 1) + s (r + P(r)),
    e^x - 1 - x = (s - 1 - k ln2) + (s - 1) r + s P(r),

both exactly P(r) + r and P(r) for k = 0 (|x| <= ln2/2: no subtraction of nearly equal numbers at
all), and sums of O(1) terms whose result is >= 0.06 of them for k != 0 (a few ulps).  k ln2 is
k ln2_hi + k ln2_lo, the first product exact (ln2_hi has 32 significant bits), so s - 1 - k ln2_hi
is exact for |k| <= 20.

Nothing here validates; :mod:`kullback.losses` chooses when to call it.  numba is imported when a
kernel is first needed (:func:`kullback._kernels.available`); the kernels are cached on disk, and
use the bit casts compiled by :mod:`kullback._kernels`.
"""

from __future__ import annotations

import threading

import numpy as np

from . import _kernels

__all__ = ["expm1mx", "prior_rows"]

prange = range  # numba's prange once compiled
_prior_serial = _prior_parallel = None  # the row kernel compiled without and with threads (see _compile)

_LN2_HI = 6.93147180369123816490e-01  # fdlibm e_exp.c: ln2 in 32 bits ...
_LN2_LO = 1.90821492927058770002e-10  # ... and the rest
_INV_LN2 = 1.44269504088896338700e00
_SHIFT = 6755399441055744.0  # 1.5 * 2^52: t = x / ln2 + SHIFT rounds x / ln2 to the integer k in t's low bits
# 1/j! for j = 2..13 (the Taylor coefficients of e^r - 1 - r)
_C = [1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880]
_C += [1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800]
_C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13 = _C


def _pair(x):  # pragma: no cover - compiled
    """(e^x - 1 - x, expm1(x)) of a float64; inf above ~709.78, NaN for NaN."""
    lo = x if x > -64.0 else -64.0  # below -64 e^x < 2e-28 |x|: e^x - 1 - x is (-64 - x) + its value at -64; NaN: -64
    xc = lo if lo < 710.0 else 710.0
    t = xc * _INV_LN2 + _SHIFT
    kf = t - _SHIFT
    r = (xc - kf * _LN2_HI) - kf * _LN2_LO
    p = (
        r
        * r
        * (
            _C2
            + r
            * (
                _C3
                + r * (_C4 + r * (_C5 + r * (_C6 + r * (_C7 + r * (_C8 + r * (_C9 + r * (_C10 + r * (_C11 + r * (_C12 + r * _C13)))))))))
            )
        )
    )
    half = _kernels._i2f((_kernels._f2i(t) + 1022) << 52)  # 2^(k-1), a normal number for -93 <= k <= 1024
    s = half + half
    sm1 = s - 1.0
    em1 = sm1 + s * (r + p)
    v = (((sm1 - kf * _LN2_HI) - kf * _LN2_LO) + (sm1 * r + s * p)) + (lo - x)
    if kf > 1000.0:  # 2^k alone may overflow while e^x does not: 2^(k-1) (2 e^r); -1 - x is below its last bit
        em1 = half * (2.0 + 2.0 * (r + p))
        v = em1
    if x != x:
        em1 = x
    return v, em1


def _expm1mx_flat(x, v, e):  # pragma: no cover - compiled
    for i in range(x.shape[0]):
        a, b = _pair(np.float64(x[i]))
        v[i] = a
        e[i] = b


def _prior_rows(mu, lv, e, out):  # pragma: no cover - compiled
    n = lv.shape[1]
    for i in prange(lv.shape[0]):
        s = 0.0
        for j in range(n):
            a, b = _pair(np.float64(lv[i, j]))
            e[i, j] = b
            m = np.float64(mu[i, j])
            s += a + m * m
        out[i] = 0.5 * s


_STATE = {}
_LOCK = threading.Lock()


def _compile():
    """Wrap the kernels in numba's decorators once per process (under a lock, as :func:`kullback._kernels._compile`)."""
    if _STATE.get("compiled"):
        return
    with _LOCK:
        if _STATE.get("compiled"):
            return
        _kernels._compile()  # the bit casts
        from numba import njit
        from numba import prange as _prange

        g = globals()
        g["prange"] = _prange
        g["_pair"] = njit(cache=True, error_model="numpy")(_pair)  # strict arithmetic: the order above is the accuracy
        loop = njit(cache=True, error_model="numpy", fastmath={"reassoc"}, nogil=True)  # the row sums vectorise
        g["_expm1mx_flat"] = loop(_expm1mx_flat)
        g["_prior_serial"] = loop(_prior_rows)
        g["_prior_parallel"] = njit(cache=True, error_model="numpy", fastmath={"reassoc"}, nogil=True, parallel=True)(_prior_rows)
        _STATE["compiled"] = True


def expm1mx(x, v, e):
    """Fill v with e^x - 1 - x and e with expm1(x), elementwise over 1-d C-contiguous float arrays (float32/64)."""
    _compile()
    _expm1mx_flat(x, v, e)


def prior_rows(mu, lv, e, out, threads=1):
    """Per row of C-contiguous (rows, n) float arrays: out = ½ sum((e^lv - 1 - lv) + mu^2), e = expm1(lv).

    ``threads`` > 1 runs rows in parallel on numba's pool with at most that many threads (the caller's, e.g. torch's
    setting: numba's own default is every core); each row's sum is computed by one thread, so the result does not
    depend on it.
    """
    _compile()
    if threads <= 1 or lv.shape[0] < 2:
        _prior_serial(mu, lv, e, out)
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        _prior_parallel(mu, lv, e, out)
    finally:
        numba.set_num_threads(before)
