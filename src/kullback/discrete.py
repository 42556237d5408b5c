"""Divergences of probability vectors, written once on the array API.

Every function takes non-negative weights over the same outcomes along
``axis`` and works for any array-API array (NumPy, PyTorch, JAX, CuPy, Dask,
array-api-strict) and for any other array-like (lists, pandas Series, xarray,
memoryviews of numbers: taken as NumPy).  Results come back in the caller's
array library, with gradients intact.

Conventions (see ``shared/DESIGN.md``):

* By default the weights must already sum to 1 up to rounding (``sqrt(eps)``
  of the dtype) and the formula is applied to them as given, e.g.
  ``D = sum p (log p - log q)``: value and gradient are those of that formula
  (as ``torch.nn.functional.kl_div`` and ``scipy.special.rel_entr``), so
  ``dD/dp = log(p/q) + 1`` and ``dD/dq = -p/q``.  With ``normalize=True`` they
  are unnormalised weights (counts): the formula is applied to ``p / sum p``
  and ``q / sum q``, and the gradient is that of the normalised function
  (``dD/dp_i = (log(pn_i/qn_i) - D) / sum p``).  Nothing is rescaled silently.
* Gradients (torch, jax) are never NaN.  They are the derivatives above down to
  subnormal weights (tested against mpmath); a derivative beyond the float range
  (``-p/q`` for a subnormal q) is +-inf of its sign; where the one-sided
  derivative is infinite (``x log x`` at a zero weight) the gradient is finite;
  an outcome that p and q both give weight 0 (a padding class) has JS
  derivatives ``1/2 log 2``, its one-sided limit.
* ``0 * log 0 = 0``.  Where ``q = 0`` but ``p > 0``, ``kl`` and
  ``cross_entropy`` are ``+inf`` (support mismatch), never NaN.
* Logarithms are of ratios when the ratio is a normal number, else of the
  weights separately (``log p - log q``), so a tiny ``q`` never overflows
  ``p / q``; normalising divides by the largest weight first, so sums of huge
  weights cannot overflow and subnormal weights keep their digits.
* Near-identical p and q keep their digits: a ratio near 1 has its rounding
  corrected (``log(p/q)`` to eps relative), normalised KL is summed as
  ``p log(p/q) - p + q`` and JS as ``x log(x/m) - x + m`` (terms >= 0 whose
  first-order parts the rounding of the sums and of m would otherwise spoil), so
  at a relative difference r the error is ~eps/r of D, not eps absolute
  (r = 1e-6, 50 weights: 1e-10 at worst of 20 draws, as summing ``scipy.special.rel_entr``;
  ``scipy.stats.entropy(p, q)`` lost 1.6e-3 and this code before 1e-5).
* Results that are non-negative in exact arithmetic (every normalised
  divergence and entropy, and the Jensen–Shannon divergence of any weights)
  are reported as 0 where rounding takes them below it.
* Dtypes: floating inputs keep their dtype (mixed: the wider one); integer
  inputs and array-likes alone give the library's default float (float64 for
  NumPy); an array-like beside an array joins that array's dtype.
* ``base=None`` gives nats; ``base=2`` bits; any finite base above 1 (a base below 1 would
  make every divergence and entropy negative, so it is refused).

Large float32/float64 NumPy inputs go through the fused single-pass kernels of
:mod:`kullback._kernels`; everything else through the generic array-API code.
Both compute the same terms and give the same values to rounding.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from . import _kernels
from ._discrete_inputs import (  # noqa: F401  (_namespace, _sum_tolerance: used by distributions/_entropy.py, cli.py)
    _check_normalize,
    _compat,
    _finish,
    _inputs,
    _log_base,
    _namespace,
    _normalise_axis,
    _prepare,
    _sum_tolerance,
)

__all__ = ["kl", "entropy", "cross_entropy", "js"]

# --------------------------------------------------------------------------- fast path


def _fast(kind, xp, arrays, names, axis, normalize):
    """Per-row sums of the fused kernel's terms on plain NumPy inputs, with ``(batch, dtype)``;
    or None where the generic path should handle the call (other libraries, small or
    unusual inputs, shapes that need broadcasting or an error message)."""
    if xp is not np or max(a.size for a in arrays) < _kernels.MIN_SIZE or min(a.size for a in arrays) == 0:
        return None
    if arrays[0].dtype not in (np.float32, np.float64) or not _kernels.available():
        return None
    try:
        axes = [_normalise_axis(axis, a.ndim, n) for a, n in zip(arrays, names)]
    except (TypeError, ValueError):
        return None
    moved = [np.moveaxis(a, ax, -1) for a, ax in zip(arrays, axes)]
    if len({a.shape for a in moved}) != 1:
        return None
    shape = moved[0].shape
    rows = [np.ascontiguousarray(a).reshape(-1, shape[-1]) for a in moved]
    P, Q = rows if len(rows) == 2 else (rows[0], rows[0])

    def refuse():  # let the generic checks find and name the problem
        _prepare(xp, arrays, names, axis, normalize)
        raise AssertionError("unreachable: the kernel flagged input that the generic checks accept")  # pragma: no cover

    if not normalize:
        # One pass: the sums (to check them) and the formula on the weights as given.
        sp, sq, nneg, s = _kernels.rows(kind, P, Q)
        tol = _sum_tolerance(np, P.dtype)
        if nneg.any() or not (np.all(np.abs(sp - 1) <= tol) and np.all(np.abs(sq - 1) <= tol)):
            refuse()
        return s, shape[:-1]
    # The formula on p / sum p, q / sum q.  One pass where that is accurate (below), else two: the sums,
    # then the terms of the normalised values (the kernel scales each element).
    sp, sq, nneg, s = _kernels.rows("sums" if kind == "js" else kind, P, Q)
    if nneg.any() or np.any(sp == 0) or np.any(sq == 0) or np.isnan(sp).any() or np.isnan(sq).any():
        refuse()
    if not (np.all(np.isfinite(sp)) and np.all(np.isfinite(sq))) and not (np.all(np.isfinite(P)) and np.all(np.isfinite(Q))):
        refuse()
    cp, cq = _kernels.prescale(sp), _kernels.prescale(sq)
    ordinary = np.all(cp == 1) and np.all(cq == 1)
    if ordinary and kind != "js":
        one = _one_pass(kind, s, sp, sq)
        if one is not None:
            return one, shape[:-1]
    if not ordinary:
        # Rare: sums that overflow or are subnormal.  Scale those rows by a power of two (exact but for
        # weights that turn subnormal, negligible against such sums) so that 1 / sum is a normal number.
        P = np.ascontiguousarray(P, dtype=np.float64) * cp[:, None]
        Q = P if kind == "entropy" else np.ascontiguousarray(Q, dtype=np.float64) * cq[:, None]
        sp, sq, _, _ = _kernels.rows("sums", P, Q)
    # normalised KL term by term as x log(x/y) - x + y (see _kl_terms)
    _, _, _, s = _kernels.rows("relent" if kind == "kl" else kind, P, Q, (1.0 / sp, 1.0 / sq))
    return s, shape[:-1]


# One pass for normalize=True: with s the sum of a term over the weights as given and sp, sq their
# sums, the normalised sums are
#   KL: s/sp - log sp + log sq   (s = sum p log(p/q)),   entropy: s/sp - log sp   (s = sum p log p),
#   cross-entropy: s/sp - log sq (s = sum p log q).
# They cancel: rounding adds ~eps M, M = |s/sp| + |log sp| + |log sq|.  Where the result is at least
# _WELL M, that is at most eps/_WELL = 2e-12 relative and the pass stands; else (near-identical p and q,
# entropies near 0) the terms are recomputed on the normalised values, where nothing cancels but the terms.
_WELL = 1e-4


def _one_pass(kind, s, sp, sq):
    """The normalised sum from one pass over the weights, or None where it would cancel."""
    ls_p, ls_q = np.log(sp), np.log(sq)
    head = s / sp
    shift = {"kl": ls_p - ls_q, "entropy": ls_p, "cross": ls_q}[kind]
    value = head - shift
    # + 1: the sums themselves round (relative eps, so their logs by eps absolute) and s holds their misfit sp - sq at
    # first order; a D far below 1 (near-identical p and q) must take the second pass (D = 5e-13 lost 7e-5 here)
    scale = np.abs(head) + np.abs(ls_p) + np.abs(ls_q) + 1.0
    # Infinite rows (support mismatch) also take the second pass, which gives each row its own answer.
    return value if np.all(np.isfinite(value)) and np.all(np.abs(value) >= _WELL * scale) else None


def _fast_out(values, batch, dtype, log_base, clamp):
    return _finish(np, values.reshape(batch).astype(dtype, copy=False), log_base, clamp)


# --------------------------------------------------------------------------- the terms, generic path


class _View:
    """Weights ``w`` along the last axis, the values the formula takes (``w / sum w`` when
    normalising, else ``w``) and, through :meth:`log`, their logarithms even where the
    normalised value underflows.

    Normalising divides by the row's largest weight first: the scaled weights are at most 1, so
    their sum (in [1, n]) cannot overflow, and subnormal weights are divided exactly.
    """

    __slots__ = ("w", "v", "shift", "stop")

    def __init__(self, xp, w, normalize, stop=None):
        self.w = w
        self.v, self.shift = w, None
        self.stop = stop
        if normalize:
            top = xp.max(w, axis=-1, keepdims=True)  # > 0: all-zero rows were refused
            # w / sum w does not depend on the scale: differentiated as a constant, top keeps 1/top (which overflows for
            # a subnormal top) out of the chain rule, where it met its negative as inf - inf = NaN in every component
            top = top if stop is None else stop(top)
            scaled = w / top
            total = xp.sum(scaled, axis=-1, keepdims=True)
            self.v = scaled / total
            self.shift = xp.log(top) + xp.log(total)  # log(sum w), which may exceed the float range

    def log(self, xp, mask):
        """log of the formula's values where mask (0 elsewhere), from the weights themselves."""
        lw = xp.log(_safe(xp, mask, self.w))
        return lw if self.shift is None else lw - self.shift


def _stop_gradient(xp, arrays):
    """The library's stop-gradient (torch's detach, jax.lax.stop_gradient) where the arrays may be differentiated,
    else None (NumPy and other libraries without autodiff; arrays that no transform traces: the gradient's forms
    cost a third more time)."""
    if xp is np:
        return None
    compat = _compat()
    if compat.is_torch_namespace(xp):
        torch = sys.modules["torch"]
        functorch = getattr(torch._C, "_functorch", None)
        traced = (
            (torch.is_grad_enabled() and any(a.requires_grad for a in arrays))
            or getattr(torch.autograd.forward_ad, "_current_level", 0) >= 0  # inside a dual_level: forward mode
            or (functorch is not None and any(functorch.is_functorch_wrapped_tensor(a) for a in arrays))  # torch.func
        )
        return (lambda x: x.detach()) if traced else None
    if compat.is_jax_namespace(xp):
        jax = sys.modules["jax"]
        return jax.lax.stop_gradient if any(isinstance(a, jax.core.Tracer) for a in arrays) else None
    return None


def _differentiated_as(stop, value, proxy):
    """value, with the derivative of proxy: a form equal to it in exact arithmetic whose derivative is well scaled.

    The accurate forms of the values divide (x/y, (x - y)/y), and a quotient's derivative in y is formed as x/y^2 by
    torch and jax: it overflows to inf for y near 1e-160 (dD/dq = -p/q was -inf or NaN where it is -5e159), and the
    branch a ``where`` leaves unused still sends 0 * inf = NaN back. A difference of logarithms has derivatives
    1/x and -1/y, formed as g/x with g the term's own weight. stop(value) + (proxy - stop(proxy)) is value exactly (the
    parenthesis is exactly 0 where proxy is finite) and differentiates as proxy (the usual stop-gradient identity).
    """
    if stop is None:
        return value
    return stop(value) + (proxy - stop(proxy))


def _safe(xp, mask, x):
    """x where mask, 1 elsewhere: keeps masked-out elements (and their gradients) finite."""
    return xp.where(mask, x, xp.ones_like(x))


def _normal(xp, x):
    """Positive, normal and finite (a ratio or value whose logarithm is accurate)."""
    info = xp.finfo(x.dtype)
    return (x >= info.smallest_normal) & (x <= info.max)


def _log_where_normal(xp, view, x, mask):
    """log of the view's values on mask: of x where it is a normal number, from the weights elsewhere."""
    direct = mask & _normal(xp, x)
    return xp.where(direct, xp.log(_safe(xp, direct, x)), view.log(xp, mask & ~direct))


_QUIET = {"divide": "ignore", "over": "ignore", "invalid": "ignore"}  # log 0, overflowing and 0/0 ratios: masked out


def _log_ratio(xp, x, y, r, mask):
    """log(x/y) for r = x/y as rounded (a normal number where mask): log1p((x - y)/y) where r is within a factor 1.5 of
    1, else log r. Near 1 the rounding of r (eps absolute in its log) is first order in what the divergences sum (p,
    q a relative 1e-6 apart lost 1e-5 of D); x - y is exact there (Sterbenz), so log1p's argument carries one rounding
    and the log ratio is accurate to eps relative (the kernel's _ratio_fix corrects log r to the same end)."""
    d = (x - y) / y
    near = mask & (xp.abs(d) < 0.5)
    return xp.where(near, xp.log1p(xp.where(near, d, xp.zeros_like(d))), xp.log(_safe(xp, mask, r)))


@np.errstate(**_QUIET)
def _kl_terms(xp, P, Q):
    """p log(p / q) per element: log of the ratio where it is a normal number, else log p - log q; differentiated
    as p (log p - log q) (see :func:`_differentiated_as`)."""
    p, q = P.v, Q.v
    both = (P.w > 0) & (Q.w > 0)
    ps, qs = _safe(xp, both, p), _safe(xp, both, q)
    direct = both & _normal(xp, ps) & _normal(xp, qs) & _normal(xp, ps / qs)
    ratio = _safe(xp, direct, p) / _safe(xp, direct, q)
    split = both & ~direct
    # differentiated as log p - log q, the logs of the values where normal (the weights' logs would bring 1/w and
    # 1/sum w into the chain rule, both inf for a subnormal sum: inf - inf = NaN)
    proxy = None if P.stop is None else _log_where_normal(xp, P, ps, both) - _log_where_normal(xp, Q, qs, both)
    value = xp.where(direct, _log_ratio(xp, ps, qs, ratio, direct), P.log(xp, split) - Q.log(xp, split))
    log_ratio = _differentiated_as(P.stop, value, proxy)
    t = xp.where(both, ps * log_ratio, xp.zeros_like(p))
    if P.shift is not None:
        # Normalised values: p log(p/q) - p + q, each term >= 0. The added q - p sum to 0 in exact arithmetic, but the
        # rounded p and q do not: their sums' misfit of ~eps was all of a small D (p and q near each other: 1.5e-9
        # relative error at D = 1.3e-7), and now stays of the size of the terms' own rounding.
        t = t + xp.where(both, qs - ps, xp.where(P.w > 0, xp.zeros_like(p), q))
    return xp.where((P.w > 0) & (Q.w == 0), xp.full_like(p, math.inf), t)


@np.errstate(**_QUIET)
def _plogq_terms(xp, P, Q):
    """p log q per element (Q may be P): 0 where p = 0, -inf where q = 0 < p.

    Linear in p, so at p = 0 < q its derivative in p is log q (it was 0); where Q is P (entropy), the one-sided
    derivative of p log p at 0 is infinite, and the gradient there 0 (as torch's kl_div)."""
    both = (P.w > 0) & (Q.w > 0) if Q is P else Q.w > 0
    log_q = _log_where_normal(xp, Q, _safe(xp, both, Q.v), both)
    t = xp.where(both, P.v * log_q, xp.zeros_like(P.v))
    return xp.where((P.w > 0) & (Q.w == 0), xp.full_like(t, -math.inf), t)


@np.errstate(**_QUIET)
def _js_terms(xp, P, Q):
    """2 JS per element: p log(2p / (p + q)) + q log(2q / (p + q)).

    The ratios are at most 2 and at least the (normalised) weight itself, so they neither
    overflow nor underflow to 0; m = (p + q) / 2 is never formed (it would round a lone
    smallest subnormal to 0) but where it is a normal number.  Differentiated as
    x (log x - log m) (see :func:`_differentiated_as`); an outcome that p and q both give
    weight 0 (a padding class) as its limit (p + q) log 2, whose derivatives are log 2.
    """
    p, q = P.v, Q.v
    total = p + q
    some = total > 0
    m = total / 2
    fine = _normal(xp, _safe(xp, some, m))  # where p = q = 0, m = 0 and each half adds m: the term is 0
    ms = _safe(xp, fine, m)
    # the derivative's log m, finite even where m underflows or is 0
    log_m = None if P.stop is None else xp.log(_safe(xp, some, total)) - math.log(2)
    rel, old, use_rel = xp.zeros_like(p), xp.zeros_like(p), fine
    for x, view in ((p, P), (q, Q)):
        pos = x > 0
        xs = _safe(xp, pos, x)
        proxy = None if log_m is None else xp.log(xs) - log_m
        if log_m is not None and view.shift is not None:
            # a normalised value that underflowed to 0 (a weight below 1e-324 of its total): its half, x log(x/m) + m - x,
            # is 0 + m to rounding, but its derivative in x is log(x/m) (+ 1/2 from m): added with value exactly 0,
            # log(x/m) from the weight's logarithm
            under = (view.w > 0) & ~pos
            lost = (x - P.stop(x)) * P.stop(view.log(xp, under) - log_m)
            rel = rel + xp.where(under, lost, xp.zeros_like(x))
            old = old + xp.where(under, lost, xp.zeros_like(x))
        # where m = (p + q)/2 is a normal number, x log(x/m) - x + m summed over p and q: the rounding of m then enters
        # at second order only (the sum's derivative in m is 2 - (p + q)/m = 0), while in x log(2x/(p + q)) it is first
        # order; the log ratio as in _log_ratio (near-identical p and q lost 1e-4 of JS at a relative 1e-6).
        # Both halves of an element take the same form (each alone is not the term).
        r = xs / ms
        ok = pos & fine & _normal(xp, xs) & _normal(xp, r)
        lr = _differentiated_as(P.stop, _log_ratio(xp, xs, ms, r, ok), proxy)
        rel = rel + xp.where(pos, xs * lr + (ms - xs), ms)  # m - x exact (Sterbenz): only the log term rounds
        lo = _differentiated_as(P.stop, xp.log((xs + xs) / _safe(xp, pos, total)), proxy)
        old = old + xp.where(pos, xs * lo, xp.zeros_like(x))
        use_rel = use_rel & (ok | ~pos)
    terms = xp.where(use_rel, rel, old)
    return terms if P.stop is None else xp.where(some, terms, total * math.log(2))


# --------------------------------------------------------------------------- the divergences


def _generic(xp, arrays, names, axis, normalize):
    arrays = _prepare(xp, arrays, names, axis, normalize)
    stop = _stop_gradient(xp, arrays)
    return [_View(xp, a, normalize, stop) for a in arrays]


def kl(p, q, *, axis=-1, base=None, normalize=False):
    """Kullback–Leibler divergence D(p || q) = sum p (log p - log q) along ``axis``.

    ``p`` and ``q`` are non-negative weights over the same outcomes; see the
    module docstring for normalisation, zeros, dtypes and bases.  Returns
    ``+inf`` where q = 0 and p > 0.

    Gradients: with ``normalize=False`` those of the formula on the given
    values, dD/dp = log(p/q) + 1 and dD/dq = -p/q (as
    ``torch.nn.functional.kl_div``); with ``normalize=True`` those of
    D(p/sum p || q/sum q), dD/dp_i = (log(pn_i/qn_i) - D)/sum p and
    dD/dq_i = (1 - pn_i/qn_i)/sum q.
    """
    log_base = _log_base(base)
    _check_normalize(normalize)
    names = ("p", "q")
    xp, arrays = _inputs((p, q), names)
    fast = _fast("kl", xp, arrays, names, axis, normalize)
    if fast is not None:
        return _fast_out(fast[0], fast[1], arrays[0].dtype, log_base, normalize)
    P, Q = _generic(xp, arrays, names, axis, normalize)
    # Normalised, D >= 0 (Gibbs' inequality); as given, sums that differ within tolerance may take it below.
    return _finish(xp, xp.sum(_kl_terms(xp, P, Q), axis=-1), log_base, normalize)


def entropy(p, *, axis=-1, base=None, normalize=False):
    """Shannon entropy H(p) = -sum p log p along ``axis``.

    Gradients: with ``normalize=False`` dH/dp = -(log p + 1); with
    ``normalize=True`` those of H(p/sum p), dH/dp_i = -(log pn_i + H)/sum p.
    """
    log_base = _log_base(base)
    _check_normalize(normalize)
    xp, arrays = _inputs((p,), ("p",))
    fast = _fast("entropy", xp, arrays, ("p",), axis, normalize)
    if fast is not None:
        return _fast_out(-fast[0], fast[1], arrays[0].dtype, log_base, normalize)
    (P,) = _generic(xp, arrays, ("p",), axis, normalize)
    return _finish(xp, -xp.sum(_plogq_terms(xp, P, P), axis=-1), log_base, normalize)


def cross_entropy(p, q, *, axis=-1, base=None, normalize=False):
    """Cross-entropy H(p, q) = -sum p log q = H(p) + D(p || q) along ``axis``.

    Gradients: with ``normalize=False`` dH/dp = -log q and dH/dq = -p/q; with
    ``normalize=True`` those of H(p/sum p, q/sum q).
    """
    log_base = _log_base(base)
    _check_normalize(normalize)
    names = ("p", "q")
    xp, arrays = _inputs((p, q), names)
    fast = _fast("cross", xp, arrays, names, axis, normalize)
    if fast is not None:
        return _fast_out(-fast[0], fast[1], arrays[0].dtype, log_base, normalize)
    P, Q = _generic(xp, arrays, names, axis, normalize)
    return _finish(xp, -xp.sum(_plogq_terms(xp, P, Q), axis=-1), log_base, normalize)


def js(p, q, *, axis=-1, base=None, normalize=False):
    """Jensen–Shannon divergence ½ D(p || m) + ½ D(q || m), m = ½ (p + q).

    This is the divergence, not the distance: ``scipy.spatial.distance.jensenshannon``
    returns its square root.  Always finite, at most log 2 (1 bit).  With
    ``normalize=False`` it is that formula on the given vectors (no
    renormalisation; gradient dJS/dp = ½ log(2p / (p + q))), with
    ``normalize=True`` on p/sum p and q/sum q.  Non-negative for any weights
    (log-sum inequality), so rounding below 0 is reported as 0.
    """
    log_base = _log_base(base)
    _check_normalize(normalize)
    names = ("p", "q")
    xp, arrays = _inputs((p, q), names)
    fast = _fast("js", xp, arrays, names, axis, normalize)
    if fast is not None:
        return _fast_out(0.5 * fast[0], fast[1], arrays[0].dtype, log_base, True)
    P, Q = _generic(xp, arrays, names, axis, normalize)
    return _finish(xp, 0.5 * xp.sum(_js_terms(xp, P, Q), axis=-1), log_base, True)
