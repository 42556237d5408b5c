"""Backend operations and cancellation-free special-function differences for the closed forms.

``Ops`` gives the formulas one vocabulary for NumPy and PyTorch; ``lbeta``,
``psi_diff``, ``_ratio``, ``_g`` and ``_sq_ratio_term`` difference logs,
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
        "lgamma": ("lgamma", "gammaln"), "digamma": ("digamma", "digamma"), "polygamma": ("polygamma", "polygamma"),
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

    def trigamma(self, x):
        return self.polygamma(1, x)

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


def _lgamma_corr(o, z):
    """lgamma(z) - [(z - 1/2) log z - z + log(2 pi)/2] for z >= 10 (Stirling series, error < 1e-12)."""
    w = 1 / (z * z)
    return (1 / z) * (1 / 12 - w * (1 / 360 - w * (1 / 1260 - w / 1680)))


def _psi_tail(o, z):
    """psi(z) - log z + 1/(2z) for z >= 10 (asymptotic series, error < 1e-12)."""
    w = 1 / (z * z)
    return -w * (1 / 12 - w * (1 / 120 - w * (1 / 252 - w / 240)))


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


def psi_diff(o, x, y):
    """psi(x) - psi(x + y) for x, y > 0, without cancellation at large x or small y.

    y < 1e-5 x: Taylor in y (three terms; the next is below 1e-15 relative);
    else x >= 10: psi's asymptotic series, the logs differenced as -log1p(y/x);
    else digamma directly (the difference is then at least ~1e-5 of the terms).
    """
    small = y < 1e-5 * x
    ys = o.where(small, y, 0.0)
    taylor = -ys * (o.polygamma(1, x) + ys / 2 * (o.polygamma(2, x) + ys / 3 * o.polygamma(3, x)))
    big = x >= 10
    xs = o.where(big, x, 10.0)
    s = xs + y
    series = -o.log1p(y / xs) - y / (2 * xs * s) + (_psi_tail(o, xs) - _psi_tail(o, s))
    xd = o.where(big, 1.0, x)
    direct = o.digamma(xd) - o.digamma(xd + y)
    return o.where(small, taylor, o.where(big, series, direct))


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
