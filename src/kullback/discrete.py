"""Divergences of probability vectors, written once on the array API.

Every function takes non-negative weights over the same outcomes along
``axis`` and works for any array-API array (NumPy, PyTorch, JAX, CuPy, Dask,
array-api-strict) and for Python sequences (taken as NumPy).  Results come
back in the caller's array library, with gradients intact.

Conventions (see ``shared/DESIGN.md``):

* Weights are normalised along ``axis``.  By default they must already sum
  to 1 up to rounding (``sqrt(eps)`` of the dtype); anything else is refused
  unless ``normalize=True``, so a wrong input is never silently rescaled.
* ``0 * log 0 = 0``.  Where ``q = 0`` but ``p > 0``, ``kl`` and
  ``cross_entropy`` are ``+inf`` (support mismatch), never NaN.
* Logarithms are taken separately (``log p - log q``), so a tiny ``q`` does
  not overflow ``p / q``.
* ``base=None`` gives nats; ``base=2`` bits.

Large float32/float64 NumPy inputs go through the fused single-pass kernels of
:mod:`kullback._kernels`; everything else through the generic array-API code.
Both give the same values to rounding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import array_api_compat
import numpy as np

from . import _kernels

__all__ = ["kl", "entropy", "cross_entropy", "js"]


# --------------------------------------------------------------------------- input at the edge


class _Prepared:
    """Validated inputs, moved to the last axis, plus their row sums."""

    __slots__ = ("xp", "arrays", "sums", "axis_len")

    def __init__(self, xp, arrays, sums, axis_len):
        self.xp = xp
        self.arrays = arrays
        self.sums = sums
        self.axis_len = axis_len


def _is_array(x) -> bool:
    return array_api_compat.is_array_api_obj(x) and not isinstance(x, (bool, int, float, complex))


def _namespace(args):
    """The array namespace of the arguments; Python sequences join the others' library."""
    arrays = [a for a in args if _is_array(a)]
    if not arrays:
        return array_api_compat.array_namespace(np.empty(0))
    try:
        return array_api_compat.array_namespace(*arrays)
    except TypeError as exc:
        kinds = ", ".join(sorted({type(a).__module__ + "." + type(a).__name__ for a in arrays}))
        raise TypeError(f"p and q come from different array libraries ({kinds}); convert one to the other's library") from exc


def _default_float(xp, like):
    try:
        device = array_api_compat.device(like)
        return xp.__array_namespace_info__().default_dtypes(device=device)["real floating"]
    except Exception:  # libraries without the inspection API
        return xp.float64


def _as_float_array(x, name, xp, like):
    """x as a real floating array of namespace xp (on like's device)."""
    if not _is_array(x):
        if isinstance(x, (str, bytes)) or not isinstance(x, (Sequence, np.ndarray, int, float)):
            raise TypeError(
                f"{name} must be an array or a sequence of numbers, not {type(x).__name__}; "
                "distribution objects go to kb.kl(p, q) and samples to kb.estimate_kl(x, y)"
            )
        try:
            host = np.asarray(x)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(f"{name} is not a rectangular array of numbers: {exc}") from exc
        if host.dtype == object or host.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers, got values of dtype {host.dtype}")
        if like is not None and not isinstance(like, np.ndarray):
            dtype = like.dtype if xp.isdtype(like.dtype, "real floating") else _default_float(xp, like)
            x = xp.asarray(host, dtype=dtype, device=array_api_compat.device(like))
        else:
            x = host
    if xp.isdtype(x.dtype, "bool"):
        raise TypeError(f"{name} has boolean dtype; give probabilities or counts as numbers")
    if xp.isdtype(x.dtype, "complex floating"):
        raise TypeError(f"{name} has complex dtype {x.dtype}; weights must be real")
    if not xp.isdtype(x.dtype, "real floating"):
        x = xp.astype(x, _default_float(xp, x))
    return x


def _concrete_any(xp, mask) -> bool | None:
    """bool(any(mask)), or None under tracing (e.g. jax.jit) where values are unknown."""
    try:
        return bool(xp.any(mask))
    except Exception as exc:  # jax ConcretizationTypeError and friends
        if type(exc).__name__.endswith(("ConcretizationTypeError", "TracerBoolConversionError")):
            return None
        raise


def _to_host(x):
    """A NumPy copy of x, for error messages only."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach"):  # torch: leave the autograd graph
        x = x.detach()
    try:
        x = array_api_compat.to_device(x, "cpu")
    except Exception:
        pass
    try:
        return np.asarray(x)
    except Exception:
        return np.from_dlpack(x)


def _check_values(xp, x, name):
    """Refuse NaN, infinite and negative weights, naming where they are."""
    checks = (
        (xp.isnan(x), "NaN"),
        (xp.isinf(x), "an infinite value"),
        (x < 0, "a negative weight"),
    )
    for mask, what in checks:
        found = _concrete_any(xp, mask)
        if found is None:
            return  # traced: values unknown, checks are skipped
        if found:
            host = _to_host(x)
            bad = {"NaN": np.isnan, "an infinite value": np.isinf, "a negative weight": lambda v: v < 0}[what](host)
            at = np.argwhere(bad)[0]
            where = str(int(at[0])) if len(at) == 1 else str(tuple(int(i) for i in at))
            raise ValueError(f"{name} has {what} ({float(host[tuple(at)])!r}) at index {where}; weights must be finite and non-negative")


def _normalise_axis(axis, ndim, name):
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"axis must be an integer, not {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for {name} with {ndim} dimension(s)")
    return int(axis) % ndim


def _log_base(base):
    if base is None:
        return None
    if isinstance(base, bool) or not isinstance(base, (int, float, np.integer, np.floating)):
        raise TypeError(f"base must be a number (e.g. 2 for bits) or None for nats, not {type(base).__name__}")
    if not (math.isfinite(base) and base > 0 and base != 1):
        raise ValueError(f"base must be positive, finite and not 1, got {base}")
    return math.log(base)


def _prepare(args, names, axis, normalize, xp=None):
    """Recognise, validate and line up the inputs along the last axis.

    Returns arrays of one namespace and dtype, broadcast against each other,
    with ``axis`` moved last, and their sums along it.
    """
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be True or False, not {normalize!r}")
    xp = xp or _namespace(args)
    like = next((a for a in args if _is_array(a)), None)
    arrays = [_as_float_array(a, n, xp, like) for a, n in zip(args, names)]
    for a, n in zip(arrays, names):
        _check_values(xp, a, n)  # before any reshaping, so indices are the caller's

    for a, n in zip(arrays, names):
        if a.ndim == 0:
            raise ValueError(f"{n} is a scalar; give a vector of weights over the outcomes")
    # One dtype for all (float32 + float64 -> float64).
    dtype = arrays[0].dtype
    for a in arrays[1:]:
        dtype = xp.result_type(dtype, a.dtype)
    arrays = [a if a.dtype == dtype else xp.astype(a, dtype) for a in arrays]

    axes = [_normalise_axis(axis, a.ndim, n) for a, n in zip(arrays, names)]
    lengths = [a.shape[ax] for a, ax in zip(arrays, axes)]
    if len(set(lengths)) > 1:
        detail = ", ".join(f"{n} has {m}" for n, m in zip(names, lengths))
        raise ValueError(
            f"the inputs must have the same number of outcomes along axis {axis}: {detail} "
            f"(shapes {', '.join(str(tuple(a.shape)) for a in arrays)})"
        )
    for a, n in zip(arrays, names):
        if any(s == 0 for s in a.shape):
            raise ValueError(f"{n} is empty (shape {tuple(a.shape)}); a distribution needs at least one outcome")

    arrays = [xp.moveaxis(a, ax, -1) if ax != a.ndim - 1 else a for a, ax in zip(arrays, axes)]
    if len(arrays) > 1:
        try:
            batch = np.broadcast_shapes(*(tuple(a.shape[:-1]) for a in arrays))
        except ValueError:
            raise ValueError(
                "the inputs' other axes do not broadcast against each other: "
                + ", ".join(f"{n} {tuple(a.shape)}" for n, a in zip(names, arrays))
                + f" (with axis {axis} moved last)"
            ) from None
        arrays = [a if tuple(a.shape[:-1]) == batch else xp.broadcast_to(a, (*batch, a.shape[-1])) for a in arrays]

    sums = [xp.sum(a, axis=-1, keepdims=True) for a in arrays]
    for s, n in zip(sums, names):
        _check_sums(xp, s, n, normalize, _sum_tolerance(xp, dtype))
    return _Prepared(xp, arrays, sums, lengths[0])


def _sum_tolerance(xp, dtype) -> float:
    """How far from 1 a sum may be and still count as normalised: sqrt(eps) of the dtype."""
    return math.sqrt(float(xp.finfo(dtype).eps))


def _check_sums(xp, s, name, normalize, tol):
    """All-zero rows are never a distribution; other sums must be 1 unless normalize=True."""
    zero = _concrete_any(xp, s == 0)
    if zero is None:
        return
    if zero:
        host = _to_host(s)[..., 0]
        at = np.argwhere(host == 0)
        where = "" if host.ndim == 0 else f" at batch index {tuple(int(i) for i in at[0]) if host.ndim > 1 else int(at[0][0])}"
        raise ValueError(f"{name} is all zeros{where}; a distribution needs positive total weight")
    if normalize:
        return
    off = _concrete_any(xp, xp.abs(s - 1) > tol)
    if off:
        host = _to_host(s)[..., 0]
        bad = np.abs(host - 1) > tol
        at = np.argwhere(bad)
        where = "" if host.ndim == 0 else f" at batch index {tuple(int(i) for i in at[0]) if host.ndim > 1 else int(at[0][0])}"
        value = float(host[bad].flat[0])
        raise ValueError(
            f"{name} sums to {value!r}{where}, not 1 (tolerance {tol:.1e}); "
            "pass normalize=True to treat the values as unnormalised weights (e.g. counts)"
        )


def _finish(xp, value, log_base):
    if log_base is not None:
        value = value / log_base
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    return value


# --------------------------------------------------------------------------- fast path


def _fast(rows_fn, args, names, axis, normalize):
    """Run a fused kernel on plain NumPy inputs.

    Returns ``(rows, sp, sq, s, batch, dtype)``: the inputs as C-contiguous
    ``(rows, n)`` arrays and the kernel's per-row sums; or None where the generic
    path should handle the call (other libraries, small or unusual inputs,
    shapes that need broadcasting or an error message).
    """
    if not _kernels.AVAILABLE or not all(type(a) is np.ndarray for a in args):
        return None
    if any(a.dtype.kind not in "iuf" or a.dtype == np.float16 for a in args):
        return None
    if min(a.size for a in args) == 0 or max(a.size for a in args) < _kernels.MIN_SIZE:
        return None
    try:
        axes = [_normalise_axis(axis, a.ndim, n) for a, n in zip(args, names)]
    except (TypeError, ValueError):
        return None
    moved = [np.moveaxis(a, ax, -1) for a, ax in zip(args, axes)]
    if len({a.shape for a in moved}) != 1:
        return None
    shape = moved[0].shape
    dtype = np.result_type(*moved, np.float32)
    rows = [np.ascontiguousarray(a, dtype=dtype).reshape(-1, shape[-1]) for a in moved]
    sp, sq, nneg, s = rows_fn(*rows)

    tol = _sum_tolerance(np, dtype)
    bad = nneg.any() or not (np.all(np.isfinite(sp)) and np.all(np.isfinite(sq)))
    bad = bad or np.any(sp == 0) or np.any(sq == 0)
    bad = bad or (not normalize and (np.any(np.abs(sp - 1) > tol) or np.any(np.abs(sq - 1) > tol)))
    if bad:  # let the generic checks find and name the problem
        _prepare(args, names, axis, normalize)
        raise AssertionError("unreachable: the kernel flagged input that the generic checks accept")  # pragma: no cover
    return rows, sp, sq, s, shape[:-1], dtype


def _fast_out(values, batch, dtype, log_base):
    return _finish(np, values.reshape(batch).astype(dtype, copy=False), log_base)


# --------------------------------------------------------------------------- the divergences


def _plogp_ratio(xp, p, q):
    """Elementwise p (log p - log q) with 0 log 0 = 0 and gradients that stay finite at p = 0.

    log(0) = -inf where q = 0 < p is the answer (+inf), so NumPy's warning about it is silenced.
    """
    pos = p > 0
    one = xp.ones_like(p)
    p_safe = xp.where(pos, p, one)
    q_safe = xp.where(pos, q, one)
    with np.errstate(divide="ignore"):
        log_q = xp.log(q_safe)
    return xp.where(pos, p_safe * (xp.log(p_safe) - log_q), xp.zeros_like(p))


def _plog(xp, p, y):
    """Elementwise p log y with 0 log y = 0 (any y), finite gradients at p = 0."""
    pos = p > 0
    one = xp.ones_like(p)
    with np.errstate(divide="ignore"):
        log_y = xp.log(xp.where(pos, y, one))
    return xp.where(pos, xp.where(pos, p, one) * log_y, xp.zeros_like(p))


# Normalisation from the sums, shared by both paths: with s the sum over unnormalised
# weights and sp, sq their totals,
#   D(p||q) = s/sp - log sp + log sq,   s = sum p (log p - log q)
#   H(p)    = log sp - s/sp,            s = sum p log p
#   H(p,q)  = log sq - s/sp,            s = sum p log q
# so nothing tiny is ever divided (a subnormal q / sq would lose its digits).


def kl(p, q, *, axis=-1, base=None, normalize=False):
    """Kullback–Leibler divergence D(p || q) = sum p log(p / q) along ``axis``.

    ``p`` and ``q`` are non-negative weights over the same outcomes; see the
    module docstring for normalisation, zeros and bases.  Returns ``+inf``
    where q = 0 and p > 0.
    """
    log_base = _log_base(base)
    names = ("p", "q")
    fast = _fast(_kernels.kl_rows, (p, q), names, axis, normalize)
    if fast is not None:
        _, sp, sq, s, batch, dtype = fast
        return _fast_out(s / sp - np.log(sp) + np.log(sq), batch, dtype, log_base)

    prep = _prepare((p, q), names, axis, normalize)
    xp = prep.xp
    (p, q), (sp, sq) = prep.arrays, (s[..., 0] for s in prep.sums)
    d = xp.sum(_plogp_ratio(xp, p, q), axis=-1) / sp - xp.log(sp) + xp.log(sq)
    return _finish(xp, d, log_base)


def entropy(p, *, axis=-1, base=None, normalize=False):
    """Shannon entropy H(p) = -sum p log p along ``axis``."""
    log_base = _log_base(base)
    fast = _fast(_kernels.entropy_rows, (p,), ("p",), axis, normalize)
    if fast is not None:
        _, sp, _, s, batch, dtype = fast
        return _fast_out(np.log(sp) - s / sp, batch, dtype, log_base)

    prep = _prepare((p,), ("p",), axis, normalize)
    xp = prep.xp
    p, sp = prep.arrays[0], prep.sums[0][..., 0]
    h = xp.log(sp) - xp.sum(_plog(xp, p, p), axis=-1) / sp
    return _finish(xp, h, log_base)


def cross_entropy(p, q, *, axis=-1, base=None, normalize=False):
    """Cross-entropy H(p, q) = -sum p log q = H(p) + D(p || q) along ``axis``."""
    log_base = _log_base(base)
    names = ("p", "q")
    fast = _fast(_kernels.cross_entropy_rows, (p, q), names, axis, normalize)
    if fast is not None:
        _, sp, sq, s, batch, dtype = fast
        return _fast_out(np.log(sq) - s / sp, batch, dtype, log_base)

    prep = _prepare((p, q), names, axis, normalize)
    xp = prep.xp
    (p, q), (sp, sq) = prep.arrays, (s[..., 0] for s in prep.sums)
    h = xp.log(sq) - xp.sum(_plog(xp, p, q), axis=-1) / sp
    return _finish(xp, h, log_base)


def js(p, q, *, axis=-1, base=None, normalize=False):
    """Jensen–Shannon divergence ½ D(p || m) + ½ D(q || m), m = ½ (p + q).

    This is the divergence, not the distance: ``scipy.spatial.distance.jensenshannon``
    returns its square root.  Always finite, at most log 2 (1 bit).
    """
    log_base = _log_base(base)
    names = ("p", "q")
    fast = _fast(_kernels.row_sums, (p, q), names, axis, normalize)
    if fast is not None:
        (P, Q), sp, sq, _, batch, dtype = fast
        return _fast_out(0.5 * _kernels.js_rows(P, Q, 1.0 / sp, 1.0 / sq), batch, dtype, log_base)

    prep = _prepare((p, q), names, axis, normalize)
    xp = prep.xp
    (p, q), (sp, sq) = prep.arrays, prep.sums
    pn, qn = p / sp, q / sq
    m = 0.5 * (pn + qn)
    d = 0.5 * xp.sum(_plogp_ratio(xp, pn, m) + _plogp_ratio(xp, qn, m), axis=-1)
    return _finish(xp, d, log_base)
