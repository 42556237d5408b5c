"""Backend operations and cancellation-free special-function differences for the closed forms.

``Ops`` gives the formulas one vocabulary for NumPy and PyTorch; ``lbeta``,
``psi_diff``, ``psi1_diff``, ``_ratio``, ``_g`` and ``_sq_ratio_term`` difference logs,
log-gamma and digamma without cancellation (sources in each docstring).
"""

from __future__ import annotations

import math

import numpy as np

EULER = 0.57721566490153286060651209008240243
LOG_2PI = math.log(2 * math.pi)


class NoClosedForm(Exception):
    """Raised by a formula that does not apply to these parameters (e.g. binomials of different n)."""


# ---------------------------------------------------------------- backend operations


class Ops:
    """The handful of operations the formulas need, for one backend."""

    def __init__(self, backend, like=None):
        self.backend = backend
        if backend == "torch":
            import torch

            self.t = torch
            self.dtype = like.dtype if like is not None else torch.get_default_dtype()
            self.device = like.device if like is not None else None
        else:
            import scipy.special as sc

            self.sc = sc

    def asarray(self, x):
        if self.backend == "torch":
            if isinstance(x, self.t.Tensor):
                return (
                    x.to(dtype=self.dtype)
                    if x.dtype != self.dtype and x.is_floating_point()
                    else (x if x.is_floating_point() else x.to(self.dtype))
                )
            return self.t.as_tensor(np.asarray(x, dtype=np.float64), dtype=self.dtype, device=self.device)
        return np.asarray(x, dtype=np.float64)

    # special functions: (torch attribute path, scipy.special name)
    _SPECIAL = {
        "lgamma": ("lgamma", "gammaln"), "digamma": ("digamma", "digamma"),
        "i0e": ("special.i0e", "i0e"), "i1e": ("special.i1e", "i1e"), "erf": ("erf", "erf"),
        "log_ndtr": ("special.log_ndtr", "log_ndtr"), "xlogy": ("special.xlogy", "xlogy"),  # xlogy: 0 log 0 = 0
    }  # fmt: skip

    def __getattr__(self, name):
        """log, exp, sqrt, abs, log1p, expm1, cos, maximum, minimum, ... from the backend's module;
        the special functions above from torch or scipy.special."""
        d = self.__dict__
        if name in Ops._SPECIAL:
            torch_path, scipy_name = Ops._SPECIAL[name]
            if d.get("backend") == "torch":
                fn = d["t"]
                for part in torch_path.split("."):
                    fn = getattr(fn, part)
                return fn
            return getattr(d["sc"], scipy_name)
        return getattr(d["t"] if d.get("backend") == "torch" else np, name)

    def where(self, c, a, b):
        if self.backend == "torch":
            a = a if isinstance(a, self.t.Tensor) else self.t.as_tensor(a, dtype=self.dtype, device=self.device)
            b = b if isinstance(b, self.t.Tensor) else self.t.as_tensor(b, dtype=self.dtype, device=self.device)
            return self.t.where(c, a, b)
        return np.where(c, a, b)

    def full_like(self, x, v):
        return self.t.full_like(x, v) if self.backend == "torch" else np.full_like(x, v, dtype=np.float64)

    def polygamma(self, n, x):
        """psi^(n)(x): scipy's; torch's for n >= 2, and :func:`_trigamma` for n = 1 (torch's trigamma is off by up
        to 5e-10 relative in float64: 1.6449340676383375 at x = 1, pi^2/6 = 1.6449340668482264)."""
        if self.backend == "torch":
            return _trigamma(self, x) if n == 1 else self.t.special.polygamma(n, x)
        return self.sc.polygamma(n, x)

    def trigamma(self, x):
        return self.polygamma(1, x)

    def digamma(self, x):
        """psi(x); torch differentiates it by :func:`_trigamma`, not by its own backward (torch's trigamma, off by up
        to 5e-10 relative: Gamma(1, 2) || Weibull(0.5, 1.5) had dD/dk 3e-9 off)."""
        if self.backend != "torch":
            return self.sc.digamma(x)
        from ._autograd import analytic

        return analytic(self, _digamma_value, _digamma_partials, x)

    def sum(self, x, axis):
        return x.sum(dim=axis) if self.backend == "torch" else x.sum(axis=axis)

    def finfo_tiny_max(self, x):
        fi = self.t.finfo(x.dtype) if self.backend == "torch" else np.finfo(np.asarray(x).dtype)
        return float(fi.tiny), float(fi.max)

    def masked_set(self, x, mask, values):
        """x with x[mask] = values, out of place (differentiable in torch)."""
        if self.backend == "torch":
            return x.masked_scatter(mask, values)
        x = np.array(x, dtype=np.float64, copy=True)
        x[mask] = values
        return x


_TRIGAMMA_SHIFT = 20.0


def _digamma_value(o, x):
    return o.t.special.digamma(x)


def _digamma_partials(o, x):
    return (_trigamma(o, x),)


def _trigamma(o, x):
    """psi'(x) for x > 0 (only: every caller's argument is positive) to ~1e-16 relative: psi'(x) = sum_(j < N) 1/(x + j)^2 + psi'(x + N) (A&S 6.4.6) up to
    z = x + N >= 20, then the asymptotic series 1/z + 1/(2z^2) + sum_k B_2k / z^(2k+1) (A&S 6.4.12) through
    B_12 (the next term, 7/6 z^-15, is below 1e-19 of the sum at z >= 20)."""
    s = o.full_like(x, 0.0)
    z = x
    for _ in range(int(_TRIGAMMA_SHIFT)):
        low = z < _TRIGAMMA_SHIFT
        s = s + o.where(low, 1 / (z * z), 0.0)
        z = o.where(low, z + 1, z)
    w = 1 / (z * z)
    tail = (1 / z) * (1 + (1 / (2 * z)) + w * (1 / 6 - w * (1 / 30 - w * (1 / 42 - w * (1 / 30 - w * (5 / 66 - w * 691 / 2730))))))
    return s + tail


def _lgamma_corr(o, z):
    """lgamma(z) - [(z - 1/2) log z - z + log(2 pi)/2] for z >= 10 (Stirling series A&S 6.1.40 through z^-13; the next
    term, 3617/122400 z^-15, is below 3e-17; four terms, as before, left 8e-13)."""
    w = 1 / (z * z)
    return (1 / z) * (1 / 12 - w * (1 / 360 - w * (1 / 1260 - w * (1 / 1680 - w * (1 / 1188 - w * (691 / 360360 - w / 156))))))


_PSI_TAIL = (-1 / 12, 1 / 120, -1 / 252, 1 / 240, -1 / 132, 691 / 32760, -1 / 12)  # psi(z) - log z + 1/(2z) = sum a_k z^-2k


def _psi_tail(o, z):
    """psi(z) - log z + 1/(2z) for z >= 10 (asymptotic series A&S 6.3.18 through z^-14; the next term, 3617/8160 z^-16,
    is below 5e-17; four terms, as before, left 8e-13: psi(10) - psi(100) was 7e-13 off)."""
    w = 1 / (z * z)
    return -w * (1 / 12 - w * (1 / 120 - w * (1 / 252 - w * (1 / 240 - w * (1 / 132 - w * (691 / 32760 - w / 12))))))


def lbeta(o, a, b):
    """log B(a, b) without the cancellation of lgamma(a) + lgamma(b) - lgamma(a + b) at large arguments.

    With lo <= hi and hi >= 10, lgamma(hi) - lgamma(lo + hi) is taken from
    Stirling's series as -(hi - 1/2) log1p(lo/hi) - lo log(lo + hi) + lo +
    corr(hi) - corr(lo + hi) (the method of DiDonato & Morris, ACM TOMS 18 (1992),
    as in scipy.special.betaln); float32 Beta(1e30, 1) keeps log B = -log 1e30.
    """
    lo, hi = o.minimum(a, b), o.maximum(a, b)
    big = hi >= 10
    hs = o.where(big, hi, 10.0)
    hd = o.where(big, 1.0, hi)
    s = lo + hs
    diff = -(hs - 0.5) * o.log1p(lo / hs) - lo * o.log(s) + lo + (_lgamma_corr(o, hs) - _lgamma_corr(o, s))
    direct = o.lgamma(hd) - o.lgamma(lo + hd)
    return o.lgamma(lo) + o.where(big, diff, direct)


def _psi_diff(o, x, y):
    """psi(x) - psi(x + y) for x, y > 0, without cancellation at large x or small y and without overflow at tiny x.

    x < 1: the recurrence psi(z + 1) = psi(z) + 1/z (A&S 6.3.5) taken once,
    psi(x) - psi(x + y) = -(y/(x + y))/x + [psi(1 + x) - psi(1 + x + y)]: both terms are
    negative (nothing cancels) and the bracket is evaluated at 1 + x >= 1 as below, so that no
    polygamma of a tiny x (which overflows: psi''(x) ~ -2/x^3) is ever formed.  Then, for x >= 1:
    y < 1e-5 x: Taylor in u = y/x (three terms; the next is below 1e-15 relative), the polygammas
    scaled as x^n psi^(n)(x) (from their asymptotic series at x >= 1e8, where psi''(x) ~ -1/x^2 underflows);
    else psi's asymptotic series at z = x + N >= 10, the logs differenced as -log1p(y/z), less the N recurrence
    terms 1/(x + j) - 1/(x + y + j) (all of one sign).
    """
    tiny = x < 1
    xt = o.where(tiny, x, 1.0)
    rec = -(y / (xt + y)) / xt  # -1/x + 1/(x + y), formed without overflow or cancellation
    x = o.where(tiny, 1 + x, x)
    small = y < 1e-5 * x
    u = o.where(small, y, 0.0) / x  # the Taylor series in u = y/x, with x^n psi^(n)(x) (no underflow at large x)
    huge = x >= 1e8  # there the asymptotic forms (A&S 6.4.11-12), truncation below 1e-16 of each term
    xp = o.where(huge, 1.0, x)
    ix = 1 / o.where(huge, x, 1e8)
    a1 = o.where(huge, 1 + ix * (0.5 + ix / 6), xp * o.polygamma(1, xp))
    a2 = o.where(huge, -(1 + ix * (1 + ix / 2)), xp * xp * o.polygamma(2, xp))
    a3 = o.where(huge, 2 + ix * (3 + 2 * ix), xp * xp * xp * o.polygamma(3, xp))
    taylor = -u * (a1 + u / 2 * (a2 + u / 3 * a3))
    # below 10: psi(x) - psi(x + y) = [psi(z) - psi(z + y)] - sum_(j < N) y / ((x + j)(x + y + j)), z = x + N >= 10
    # (A&S 6.3.5 N times): both parts negative, nothing cancels. The digamma difference taken here before lost up to
    # 1e5 eps where y ~ 1e-5 x (psi(1) - psi(1.018) was 3e-14 off, psi(10) - psi(10.5) 5.5e-12 with the short series)
    z, acc = x, 0.0 * x
    for _ in range(9):
        sh = z < 10
        zs = o.where(sh, z, 1.0)
        acc = acc + o.where(sh, (y / (zs + y)) / zs, 0.0)
        z = o.where(sh, z + 1, z)
    s = z + y
    lz = o.log1p(y / z)
    # tail(z) - tail(z + y) term by term as -a_k z^-2k expm1(-2k log1p(y/z)): the plain difference of the two tails
    # (each ~ 1/(12 z^2)) cancelled where y << z (1.8e-14 at x = 1.17, y = 1.6e-5)
    w = 1 / (z * z)
    tail_diff = 0.0 * z
    for k, a in enumerate(_PSI_TAIL, start=1):
        tail_diff = tail_diff - a * w**k * o.expm1(-2 * k * lz)
    series = -lz - y / (2 * z * s) + tail_diff - acc
    out = o.where(small, taylor, series)
    return o.where(tiny, rec + out, out)


def _psi1_diff(o, x, y):
    """psi'(x) - psi'(x + y) >= 0 for x, y > 0, without cancellation or inf - inf (psi_diff's method, one
    order up).  x < 1: psi'(z) = psi'(z + 1) + 1/z^2 (A&S 6.4.6) once, the difference of squares as
    (y/(x + y))/x (1 + x/(x + y))/x + [psi'(1 + x) - psi'(1 + x + y)], both terms >= 0.  Then y < 1e-5 x: Taylor
    in u = y/x with x^n psi^(n)(x) (their asymptotic series at x >= 1e8; truncation below 1e-15); else the
    recurrence up to 20 and the asymptotic series there, differenced term by term (all parts >= 0)."""
    tiny = x < 1
    xt = o.where(tiny, x, 1.0)
    w = y / (xt + y)
    rec = (w / xt) * ((1 + xt / (xt + y)) / xt)
    x = o.where(tiny, 1 + x, x)
    small = y < 1e-5 * x
    u = o.where(small, y, 0.0) / x
    huge = x >= 1e8
    xp = o.where(huge, 1.0, x)
    ix = 1 / o.where(huge, x, 1e8)
    b2 = o.where(huge, -(1 + ix), xp * xp * o.polygamma(2, xp))
    b3 = o.where(huge, 2 + 3 * ix, xp * xp * xp * o.polygamma(3, xp))
    b4 = o.where(huge, -(6 + 12 * ix), xp * xp * xp * xp * o.polygamma(4, xp))
    xs = o.where(small, x, 1.0)
    taylor = -(u / xs) * (b2 + u / 2 * (b3 + u / 3 * b4))
    # else: the recurrence up to z = x + N >= 20, then the asymptotic series psi'(z) = 1/z + 1/(2z^2) + sum B_2k
    # z^-(2k+1) (A&S 6.4.12, through B_14) differenced term by term: every part >= 0 (the trigamma difference
    # taken here before lost up to 1e5 eps where y ~ 1e-5 x)
    yb = o.where(small, x, y)
    z, acc = x, 0.0 * x
    for _ in range(19):  # to 20: at 10 the first omitted term, B_16 z^-17, is 5e-15 of a difference
        sh = z < 20
        zs = o.where(sh, z, 1.0)
        acc = acc + o.where(sh, ((yb / (zs + yb)) / zs) * (((zs + zs + yb) / (zs + yb)) / zs), 0.0)
        z = o.where(sh, z + 1, z)
    sz = z + yb
    lz = o.log1p(yb / z)
    asym = (yb / z) / sz + ((yb / z) / sz) * ((z + sz) / (2 * z * sz))
    for k, b in enumerate(_BERNOULLI_2K, start=1):
        asym = asym - b * (1 / z) ** (2 * k + 1) * o.expm1(-(2 * k + 1) * lz)
    out = o.where(small, taylor, acc + asym)
    return o.where(tiny, rec + out, out)


_BERNOULLI_2K = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)  # B_2, B_4, ..., B_14


def _ratio(o, a, b):
    """(r - 1, log r) for r = a/b > 0, both to full relative accuracy near r = 1 and at any a, b.

    d = r - 1 is (a - b)/b (no rounding of r first) and log r = log1p(d).  Where
    r < 0.01 (1 + d then keeps too few of r's digits) or a/b overflows, log r is
    taken as log a - log b instead; that pass runs only if such elements exist.
    """
    d = (a - b) / b
    lr = o.log1p(d)
    bad = ~(lr > -4.6) | (lr == math.inf)
    if bool(bad.any()):
        # log1p recomputed away from d = -1 so that no infinite derivative meets where()'s zero
        lr = o.where(bad, o.log(a) - o.log(b), o.log1p(o.where(bad, 0.0, d)))
    return d, lr


def _g(o, d, lr):
    """r - 1 - log r = d - log1p(d) >= 0, to full relative accuracy: d - log r, except where
    |d| < 1e-3 (cancellation): there a series d^2 (1/2 - d/3 + d^2/4 - ...), truncation < 3e-16
    relative, evaluated on those elements only."""
    out = d - lr
    small = o.abs(d) < 1e-3
    if bool(small.any()):
        ds = d[small]
        series = ds * ds * (1 / 2 + ds * (-1 / 3 + ds * (1 / 4 + ds * (-1 / 5 + ds * (1 / 6 - ds / 7)))))
        out = o.masked_set(out, small, series)
    return out


def _sq_ratio_term(o, a, b):
    """r^2 - 1 - log r^2 = d^2 + 2 (d - log1p(d)) for r = a/b: a sum of two non-negative terms,
    so nothing cancels; d^2 overflows only where the value itself does."""
    d, lr = _ratio(o, a, b)
    return d * d + 2 * _g(o, d, lr)


# ---------------------------------------------------------------- non-negative pieces
#
# Every same-family divergence below is written as a sum of pieces that are each >= 0 and each
# computed to full relative accuracy, so that the sum cannot cancel and cannot go below 0
# (D >= 0 is a theorem; issue 12, classes 3 and 4).  The pieces:
#   _em(y)      = e^y - 1 - y                        (>= 0)
#   _g(d, lr)   = r - 1 - log r,  r = 1 + d           (>= 0; above)
#   _phi(d, lr) = r log r - r + 1                     (>= 0; the Poisson / generalised KL term)
#   _relent     = x log(x/y) - x + y = y _phi(x/y-1)  (>= 0)
#   breg(L, x, y) = L(y) - L(x) - L'(x)(y - x)        (>= 0 for convex L: a Bregman divergence)
# Series are Taylor series (Abramowitz & Stegun 4.2.1, 4.1.24); truncation below 1e-17 relative.


def _horner(o, x, coefs):
    """sum_i coefs[i] x^i."""
    out = o.full_like(x, coefs[-1])
    for c in coefs[-2::-1]:
        out = out * x + c
    return out


_EM_COEF = tuple(1 / math.factorial(n) for n in range(2, 19))  # e^y - 1 - y = y^2 sum y^(n-2)/n!


def _em(o, y):
    """e^y - 1 - y >= 0 without cancellation (series for |y| < 1/2, truncation < 1e-19)."""
    small = o.abs(y) < 0.5
    ys = o.where(small, y, 0.0)
    yd = o.where(small, 1.0, y)
    direct = o.where(yd == math.inf, math.inf, o.expm1(yd) - o.where(yd == math.inf, 0.0, yd))
    return o.where(small, ys * ys * _horner(o, ys, _EM_COEF), direct)


_PHI_COEF = tuple((-1) ** n / (n * (n - 1)) for n in range(2, 20))  # (1+d) log(1+d) - d = sum (-1)^n d^n / (n (n-1))


def _phi(o, d, lr):
    """(1 + d) log(1 + d) - d = r log r - r + 1 >= 0 for r = 1 + d, log r = lr (series for |d| < 0.1;
    r = 0 gives 1)."""
    small = o.abs(d) < 0.1
    ds = o.where(small, d, 0.0)
    zero = d == -1
    dd = o.where(small | zero, 1.0, d)
    ld = o.where(small | zero, 0.0, lr)
    direct = (1 + dd) * ld - dd
    return o.where(small, ds * ds * _horner(o, ds, _PHI_COEF), o.where(zero, 1.0, direct))


def _relent(o, x, y, diff):
    """x log(x/y) - x + y >= 0 for x, y >= 0, given diff = x - y computed exactly by the caller.

    |x/y - 1| < 0.1: y * phi(diff/y) from the series (nothing cancels); else x log(x/y) - diff,
    log(x/y) = log1p(diff/y) or, far from 1, log x - log y.  x = 0 gives y; y = 0 < x gives inf.
    """
    pos_x, pos_y = x > 0, y > 0
    xs, ys = o.where(pos_x, x, 1.0), o.where(pos_y, y, 1.0)
    d = o.where(pos_y, diff, 0.0) / ys
    small = o.abs(d) < 0.1
    ok = (d > -0.5) & (d < 1e300)
    lr = o.where(ok, o.log1p(o.where(ok, d, 0.0)), o.log(xs) - o.log(ys))
    ds = o.where(small, d, 0.0)
    series = ys * ds * ds * _horner(o, ds, _PHI_COEF)
    far = xs * o.where(small, 0.0, lr) - o.where(small, 0.0, diff)
    val = o.where(small, series, far)
    return o.where(~pos_x, y, o.where(~pos_y, math.inf, val))


def _relent_dl(o, x, y, d, lr):
    """x log(x/y) - x + y >= 0 given d = x/y - 1 and lr = log(x/y) computed accurately by the caller
    (x, y > 0): y phi(d) by the series for |d| < 0.1, else x lr - (x - y), x - y = y d for |d| < 1."""
    small = o.abs(d) < 0.1
    ds = o.where(small, d, 0.0)
    series = y * ds * ds * _horner(o, ds, _PHI_COEF)
    mid = o.abs(d) < 1
    diff = o.where(mid, y * o.where(mid, d, 0.0), x - y)
    far = x * o.where(small, 0.0, lr) - o.where(small, 0.0, diff)
    return o.where(small, series, far)


def _nonneg(o, val, scale, eps=None):
    """Clamp val to 0 where it is a rounding-level negative (|val| <= 64 eps scale): D >= 0 is a
    theorem, so such a value is 0 to working precision.  Larger negatives are left as they are,
    so a wrong formula still shows (the fuzzer checks D >= 0).  where() keeps gradients."""
    if eps is None:
        eps = float(np.finfo(np.float64).eps) if o.backend == "numpy" else float(o.t.finfo(val.dtype).eps)
    return o.where((val < 0) & (val >= -64 * eps * o.abs(scale)), 0.0 * val, val)


def _gl_nodes(o):
    """16-point Gauss-Legendre nodes and weights on [0, 1] as backend arrays."""
    u, w = _GL
    return o.asarray(u), o.asarray(w)


_x, _w = np.polynomial.legendre.leggauss(16)
_GL = ((_x + 1) / 2, _w / 2)


def _gl_remainder(o, x, dlt, f):
    """dlt^2 int_0^1 (1 - u) L''(x + u dlt) du = L(x + dlt) - L(x) - L'(x) dlt (Taylor's remainder in
    integral form), by 16-point Gauss-Legendre; f(o, a, dlt) returns dlt^2 L''(a).  Used only where
    [x, x + dlt] stays within a factor 2 of itself, so that L'' is analytic on a disc around the
    segment at least its length away (error < 1e-24 relative for the families here).

    Where |dlt| < 2^-400 the terms are formed with dlt times 2^100 and the sum divided by 2^200 once: the 16 terms
    would otherwise each round to the subnormal spacing (von Mises at concentrations 1e-155 apart by 1e-5 relative:
    2.49e-321 for 2.50e-321). f's (dlt/a)^2 forms cannot overflow by it: a >= |dlt| on such segments."""
    u, w = _gl_nodes(o)
    a = x[..., None] + u * dlt[..., None]
    tiny = o.abs(dlt) < 2.0**-400
    sc = o.where(tiny, 2.0**100, 1.0)
    total = o.sum(w * (1 - u) * f(o, a, (dlt * sc)[..., None]), -1)
    return o.where(tiny, total * 2.0**-200, total)


# ---------------------------------------------------------------- Bregman divergences of log-partitions

# Stirling's series: lnG(z) = (z - 1/2) log z - z + log(2 pi)/2 + sum c_m z^-m   (A&S 6.1.40)
_STIRLING = (
    (1, 1 / 12),
    (3, -1 / 360),
    (5, 1 / 1260),
    (7, -1 / 1680),
    (9, 1 / 1188),
    (11, -691 / 360360),
    (13, 1 / 156),
    (15, -3617 / 122400),
)
# log I0e(k) = -log(2 pi k)/2 + sum b_m k^-m, the logarithm of Hankel's expansion
# I0(k) ~ e^k / sqrt(2 pi k) sum_j ((2j-1)!!)^2 / (j! 8^j k^j)  (A&S 9.7.1), coefficients exact
# rationals from the series logarithm; at k >= 30 the neglected terms are below 1e-19
_LOG_I0E = tuple(
    (m, float(c))
    for m, c in enumerate(
        (1 / 8, 1 / 16, 25 / 384, 13 / 128, 1073 / 5120, 103 / 192, 375733 / 229376, 23797 / 4096, 55384775 / 2359296, 2180461 / 20480,
         24713030909 / 46137344, 72763141 / 24576, 7780757249041 / 436207616, 13342715521 / 114688, 5261793482424425 / 6442450944,
         12878188618117 / 2097152, 14378802319925055947 / 292057776128, 3956755172880283 / 9437184,
         19740662615375374580231 / 5222680231936, 1508348541425953573 / 41943040),
        start=1,
    )
)  # fmt: skip
# psi'(z) - 1/z = 1/(2 z^2) + sum_n B_2n z^-(2n+1)   (A&S 6.4.12)
_TRIGAMMA_EXCESS = (0.5, 1 / 6, 0.0, -1 / 30, 0.0, 1 / 42, 0.0, -1 / 30, 0.0, 5 / 66, 0.0, -691 / 2730, 0.0, 7 / 6, 0.0, -3617 / 510)


def _x2_trigamma_excess(o, a):
    """a^2 (psi'(a) - 1/a) > 0 for a > 0, every term positive: for a >= 20 the asymptotic series in
    1/a; below, the recurrence psi'(a) = psi'(a + 1) + 1/a^2 taken 20 times, where
    1/a^2 - 1/a + 1/(a + 1) = 1/(a^2 (a + 1)) makes each step a positive term."""
    big = a >= 20
    ab = o.where(big, a, 20.0)
    asym = _horner(o, 1 / ab, _TRIGAMMA_EXCESS)  # = ab^2 (psi'(ab) - 1/ab)
    s = o.where(big, 1.0, a)
    acc = 0.0 * s
    for j in range(20):
        r = s / (s + j)
        acc = acc + r * r / (s + j + 1)
    z = s + 20
    acc = acc + (s / z) ** 2 * _horner(o, 1 / z, _TRIGAMMA_EXCESS)
    return o.where(big, asym, acc)


# z^3 (-psi''(z)) / z = 1 + 1/z + sum_n (2n + 1) B_2n z^-2n   (A&S 6.4.12 differentiated; B_2 .. B_14)
_X3_PSI2 = (1.0, 1.0, 0.5, 0.0, -1 / 6, 0.0, 1 / 6, 0.0, -3 / 10, 0.0, 5 / 6, 0.0, -691 / 210, 0.0, 35 / 2)


def x3_neg_psi2(o, z):
    """z^3 (-psi''(z)) > 0 for z > 0, never overflowing: 2 + z^3 (-psi''(1 + z)) below 1 (psi''(z) = psi''(z + 1)
    - 2/z^3, A&S 6.4.6), the asymptotic series (z times ``_X3_PSI2`` in 1/z; the next term is below 2e-19 of the
    sum) from 20, where psi''(z) ~ -1/z^2 would underflow at z > 1e154, and z^3 (-psi''(z)) directly between."""
    tiny, big = z < 1, z >= 20
    zt = o.where(tiny, z, 0.5)
    zb = o.where(big, z, 20.0)
    zm = o.where(tiny | big, 2.0, z)
    low = 2 - zt * zt * zt * o.polygamma(2, 1 + zt)
    asym = zb * _horner(o, 1 / zb, _X3_PSI2)
    mid = -(zm * zm * zm) * o.polygamma(2, zm)
    return o.where(tiny, low, o.where(big, asym, mid))


class _Convex:
    """A convex function L on (0, inf) with L(x) = c0 - log(x)/2 + sum_m c_m x^-m for x >= K, given by
    small-argument callables L, L' and a remainder integrand dlt^2 L''(a)."""

    def __init__(self, K, c0, coef, small_L, small_dL, d2, near_abs=0.0):
        self.K, self.c0, self.coef = K, c0, coef
        self.small_L, self.small_dL, self.d2 = small_L, small_dL, d2
        self.near_abs = near_abs  # |y - x| below which quadrature also applies (L'' analytic near 0)
        top = max(m for m, _ in coef)
        dense = [0.0] * top  # c_1 .. c_top, for Horner's rule in 1/x (one product per degree instead of a power each)
        for m, c in coef:
            dense[m - 1] = c
        self._L = tuple(dense)
        self._dL = tuple((m + 1) * c for m, c in enumerate(dense))
        self._d2 = tuple((m + 1) * (m + 2) * c for m, c in enumerate(dense))

    def x2_d2_asym(self, o, a):
        """a^2 L''(a) from the series: 1/2 + sum_m m (m + 1) c_m a^-m."""
        w = 1 / a
        return 0.5 + w * _horner(o, w, self._d2)

    def L(self, o, x):
        big = x >= self.K
        xb, xs = o.where(big, x, float(self.K)), o.where(big, 1.0, x)
        w = 1 / xb
        asym = self.c0 - 0.5 * o.log(xb) + w * _horner(o, w, self._L)
        return o.where(big, asym, self.small_L(o, xs))

    def dL(self, o, x):
        """L'(x) = -1/(2x) - sum_m m c_m x^-(m+1) from K on."""
        big = x >= self.K
        xb, xs = o.where(big, x, float(self.K)), o.where(big, 1.0, x)
        w = 1 / xb
        asym = -0.5 * w - (w * w) * _horner(o, w, self._dL)
        return o.where(big, asym, self.small_dL(o, xs))


# L(a) = lnG(a) - a log a + a: breg gives lnG(y) - lnG(x) - psi(x)(y - x) less the part of a log a - a
GAMMA_L = _Convex(
    20,
    0.5 * LOG_2PI,
    _STIRLING,
    lambda o, x: o.lgamma(x) - o.xlogy(x, x) + x,
    lambda o, x: o.digamma(x) - o.log(x),
    lambda o, a, dlt: (dlt / a) ** 2 * _x2_trigamma_excess(o, a),
)


def vm_curvature(o, a):
    """(log I0)''(a) = 1 - A/a - A^2 > 0 (A = I1/I0, the variance of cos X under von Mises(0, a)) for 0 < a < 30, to a
    few eps: the direct form cancels 2 log10(a) digits (1/(2 a^2) of terms near 1). Instead two power series of
    positive terms, the Cauchy products of the Bessel series (DLMF 10.25.2 squared, and I0 I2, I1^2 alike):

        I0^2 = sum_m t_m,   (I0^2 + I0 I2)/2 - I1^2 = sum_m t_m / (2 (m + 1)^2),   t_m = (2m)! (a/2)^(2m) / m!^4,

    the second's coefficients being (1/2)((m+1)!^-2 - (m! (m+2)!)^-1)^2 (2m+2)! >= 0. 24 + 2.2 max(a) terms (below
    3e-16 of the sum at a = 30; the largest term, near m = a, is below e^60)."""
    u = a * a / 4
    t = o.full_like(a, 1.0)
    S, N = t, t / 2
    amax = float(a.max()) if math.prod(a.shape) else 0.0
    for m in range(1, min(90, 24 + int(2.2 * amax))):
        t = t * u * ((2 * m) * (2 * m - 1) / m**4)
        S = S + t
        N = N + t / (2 * (m + 1) ** 2)
    return N / S


def _vm_d2(o, a, dlt):
    """dlt^2 (log I0)''(a): ``vm_curvature`` below 30, Hankel's series (a^2 times it, ``x2_d2_asym``) from 30."""
    big = a >= 30
    ab, as_ = o.where(big, a, 30.0), o.where(big, 1.0, a)
    return o.where(big, (dlt / ab) ** 2 * LOGI0_L.x2_d2_asym(o, ab), dlt * dlt * vm_curvature(o, as_))


# L(k) = log I0e(k) = log I0(k) - k: breg gives the von Mises concentration term
LOGI0_L = _Convex(
    30,
    -0.5 * LOG_2PI,
    _LOG_I0E,
    lambda o, x: o.log(o.i0e(x)),
    lambda o, x: o.i1e(x) / o.i0e(x) - 1,
    _vm_d2,
    near_abs=2.0,  # log I0 is analytic within |Im z| < 2.40 (the first zero of J0): quadrature on short segments near 0
)


def breg(o, L: _Convex, x, y, dlt=None):
    """L(y) - L(x) - L'(x)(y - x) >= 0 for x, y > 0, to full relative accuracy (dlt: y - x if the
    caller has it more exactly than y - x in floating point).

    Both >= K: the asymptotic form (1/2)(r - 1 - log r) + sum_m c_m x^-m ((1 + d)^-m - 1 + m d),
    d = y/x - 1, each term a non-negative Bregman divergence of a power (the method of the normal
    family's d - log1p d, extended by Stirling's / Hankel's series).  Else within a factor 2 of
    each other: Taylor's remainder by quadrature of L''.  Else L, L' directly (the difference is
    then at least a fixed fraction of its terms).
    """
    K = L.K
    dlt = y - x if dlt is None else dlt
    big = (x >= K) & (y >= K)
    near = (((y <= 2 * x) & (x <= 2 * y)) | (o.abs(dlt) <= L.near_abs)) & ~big
    # both large
    xb, yb = o.where(big, x, float(K)), o.where(big, y, float(K))
    d = o.where(big, dlt, 0.0) / xb
    okd = d > -0.5  # else 1 + d keeps too few digits of y/x
    lr = o.where(okd, o.log1p(o.where(okd, d, 0.0)), o.log(yb) - o.log(xb))
    asym = 0.5 * _g(o, d, lr)
    for m, c in L.coef:
        w = (1 / xb) ** m
        close = o.abs(lr) < 1
        lc = o.where(close, lr, 0.0)
        term_close = w * (_em(o, -m * lc) + m * _g(o, o.where(close, d, 0.0), lc))
        term_far = ((1 / yb) ** m - w) + m * w * d
        asym = asym + c * o.where(close, term_close, term_far)
    # within a factor 2, not both large
    xn = o.where(near, x, 1.0)
    quad = _gl_remainder(o, xn, o.where(near, dlt, 0.0), L.d2)
    # far apart
    xf, yf = o.where(big | near, 1.0, x), o.where(big | near, 2.0, y)
    direct = L.L(o, yf) - L.L(o, xf) - L.dL(o, xf) * o.where(big | near, 1.0, dlt)
    return o.where(big, asym, o.where(near, quad, direct))


def lgamma_rem1(o, r, x, lr=None):
    """lnG(r) + gamma (r - 1) >= 0, r = 1 + x (Taylor's remainder of lnG at 1; x given exactly, lr = log r
    if known more exactly than log of a subnormal r): quadrature of psi' for r in [1/2, 2]; for
    r < 1e-8, -log r - gamma + zeta(2) r^2 / 2 (A&S 6.1.33; next term below 1e-24); else directly."""
    near = (r >= 0.5) & (r <= 2)
    xs = o.where(near, x, 0.0)
    one = o.full_like(xs, 1.0)
    quad = _gl_remainder(o, one, xs, lambda o, a, d: (d / a) ** 2 * (a + _x2_trigamma_excess(o, a)))
    tiny = r < 1e-8
    lr = o.log(o.where(tiny, r, 1.0)) if lr is None else lr
    rt = o.where(tiny, r, 0.0)
    small = -o.where(tiny, lr, 0.0) - EULER + 0.8224670334241132 * rt * rt
    rd = o.where(near | tiny, 1.0, r)
    return o.where(near, quad, o.where(tiny, small, o.lgamma(rd) + EULER * (rd - 1)))


def psi_diff(o, x, y):
    """psi(x) - psi(x + y); see :func:`_psi_diff`.  Overflow of branches that ``where`` discards (or of
    a true result beyond the float range, which is then +-inf) is not a floating-point error here.

    Torch differentiates the closed-form partials, d/dx = psi'(x) - psi'(x + y) (:func:`psi1_diff`) and
    d/dy = -psi'(x + y), not the value's branches: at tiny x the recurrence term -(y/(x + y))/x has a derivative
    in y of -1/(x + y)^2 that the chain rule forms as -1/(x (x + y)) + 1/(x (x + y)) (two terms of 5e19 at
    x = 1e-20, y = 2), and their sum absorbed the bracket's -psi'(3): d/dy psi_diff(1e-20, 2) was 0 for
    -psi'(2) = -0.645, so that the beta's entropy lost dH/da at tiny b."""
    from ._autograd import analytic

    if o.backend == "torch":
        x, y = (v if isinstance(v, o.t.Tensor) else o.t.as_tensor(v, dtype=o.dtype, device=o.device) for v in (x, y))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return analytic(o, _psi_diff, _psi_diff_partials, x, y)


def _psi_diff_partials(o, x, y):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return psi1_diff(o, x, y), -o.polygamma(1, x + y)


def x_trigamma(o, x):
    """x psi'(x) > 0 for x > 0 without overflow at tiny x: 1/x + x psi'(1 + x) below 1 (A&S 6.4.6)."""
    tiny = x < 1
    xt = o.where(tiny, x, 1.0)
    return o.where(tiny, 1 / xt + xt * o.polygamma(1, 1 + xt), x * o.polygamma(1, o.where(tiny, 1.0, x)))


def psi_sub(o, x, y):
    """psi(x) - psi(y) for x, y > 0 by :func:`psi_diff` (no overflow at tiny, no cancellation at large arguments)."""
    lt = x < y
    return o.where(lt, psi_diff(o, x, o.where(lt, y - x, 1.0)), -psi_diff(o, y, o.where(lt, 1.0, x - y)))


def psi1_diff(o, x, y):
    """psi'(x) - psi'(x + y); see :func:`_psi1_diff` (floating-point warnings as for :func:`psi_diff`)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _psi1_diff(o, x, y)
