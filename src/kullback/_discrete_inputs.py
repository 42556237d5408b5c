"""Reading the inputs of :mod:`kullback.discrete`: which array library, which dtype and device, which axis,
and the checks that the weights are finite, non-negative and (unless ``normalize=True``) sum to 1.

Split out of ``discrete.py`` (the divergences' terms stay there); the conventions are documented in that module.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence, Set

import numpy as np

# NumPy >= 2.1 is an array-API namespace itself: using it directly spares importing
# array_api_compat's NumPy wrapper (~0.1 s) for the most common inputs.
_NUMPY_IS_ARRAY_API = all(hasattr(np, name) for name in ("isdtype", "astype", "__array_namespace_info__"))
# Libraries whose arrays array_api_compat recognises without a __array_namespace__ method.
_ARRAY_LIBRARIES = frozenset({"torch", "jax", "jaxlib", "cupy", "dask", "sparse", "ndonnx"})


def _compat():
    import array_api_compat

    return array_api_compat


# --------------------------------------------------------------------------- input at the edge


def _is_array(x) -> bool:
    """True for an array of an array-API library, without importing any library to look."""
    if isinstance(x, np.ndarray):
        return True
    if isinstance(x, (bool, int, float, complex, str, bytes)):
        return False
    if hasattr(type(x), "__array_namespace__"):
        return True
    root = (type(x).__module__ or "").partition(".")[0]
    return root in _ARRAY_LIBRARIES and root in sys.modules and _compat().is_array_api_obj(x)


def _namespace(arrays):
    """The array namespace of the arrays (NumPy where there are none)."""
    if all(isinstance(a, np.ndarray) for a in arrays) and _NUMPY_IS_ARRAY_API:
        return np
    if not arrays:
        return _compat().array_namespace(np.empty(0))
    try:
        return _compat().array_namespace(*arrays)
    except TypeError as exc:
        kinds = ", ".join(sorted({type(a).__module__ + "." + type(a).__name__ for a in arrays}))
        msg = f"p and q come from different array libraries ({kinds}); convert one to the other's library"
        raise TypeError(msg) from exc


def _device(x):
    return "cpu" if isinstance(x, np.ndarray) else _compat().device(x)


def _default_float(xp, like):
    if xp is np:
        return np.float64
    try:
        return xp.__array_namespace_info__().default_dtypes(device=_device(like))["real floating"]
    except Exception:  # libraries without the inspection API
        return xp.float64


def _from_array_like(x, name):
    """A NumPy array of real numbers from a non-array input (sequence, pandas, xarray, memoryview, ...)."""
    if isinstance(x, (str, bytes, Mapping, Set)) or not (
        isinstance(x, (Sequence, memoryview, int, float, np.generic)) or hasattr(x, "__array__") or hasattr(x, "__array_interface__")
    ):
        msg = (
            f"{name} must be an array or a sequence of numbers, not {type(x).__name__}; "
            "distribution objects go to kb.kl(p, q) and samples to kb.estimate_kl(x, y)"
        )
        raise TypeError(msg)
    try:
        host = np.asarray(x)
    except ValueError as exc:  # ragged nested lists
        msg = f"{name} is not a rectangular array of numbers: {exc}"
        raise ValueError(msg) from exc
    if host.dtype == object or host.dtype.kind not in "biuf":
        msg = f"{name} must hold real numbers, got values of dtype {host.dtype}"
        raise TypeError(msg)
    return host


def _check_kind(xp, dtype, name):
    if xp.isdtype(dtype, "bool"):  # True/False as 1/0 would be a guess: indicators are not weights
        msg = f"{name} has boolean dtype; give probabilities or counts as numbers"
        raise TypeError(msg)
    if xp.isdtype(dtype, "complex floating"):
        msg = f"{name} has complex dtype {dtype}; weights must be real"
        raise TypeError(msg)
    if not xp.isdtype(dtype, ("real floating", "integral")):  # datetime64, timedelta64, strings, objects
        msg = f"`{name}` must hold real numbers, got an array of dtype {dtype}; convert it to floats first"
        raise TypeError(msg)


def _plain(x, name):
    """x, with the array kinds whose rules are not an array's refused or converted: masked arrays (their sums honour
    the mask, their elements do not), np.matrix (always 2-D, its sum keeps no keepdims), tensors without values."""
    ma = sys.modules.get("numpy.ma")
    if ma is not None and isinstance(x, ma.MaskedArray):
        masked = int(np.count_nonzero(ma.getmaskarray(x)))
        if masked:
            msg = (
                f"`{name}` is a NumPy masked array with {masked} masked outcome(s); kullback does not guess what a "
                f"masked outcome means: pass {name}.filled(0) to give masked outcomes weight 0, or "
                f"{name}.compressed() to drop them (and drop the same outcomes from the other vector)"
            )
            raise TypeError(msg)
        return np.asarray(x.data)
    if isinstance(x, np.matrix):
        return np.asarray(x)  # the same 2-D array: axis keeps its meaning
    if getattr(x, "is_meta", False) is True:
        msg = f"`{name}` is a tensor on the meta device: it has a shape but no values; create it on a real device"
        raise TypeError(msg)
    return x


def _inputs(args, names):
    """Recognise the inputs once: ``(xp, arrays)``, all of one library and one real floating dtype.

    One rule for every path: a floating array keeps its dtype, an integer array
    counts in the default float, array-likes join the arrays' dtype (or the
    default float where there is no array), and the result type of those wins.
    """
    args = [_plain(a, n) for a, n in zip(args, names)]
    given = [_is_array(a) for a in args]
    real = [a for a, g in zip(args, given) if g]
    xp = _namespace(real)
    like = real[0] if real else None
    hosts = [a if g else _from_array_like(a, n) for a, g, n in zip(args, given, names)]
    for a, g, n in zip(hosts, given, names):
        _check_kind(xp if g else np, a.dtype, n)
    dtypes = [a.dtype if xp.isdtype(a.dtype, "real floating") else _default_float(xp, a) for a in real]
    if not dtypes:
        dtypes = [_default_float(xp, None)]
    dtype = dtypes[0]
    for d in dtypes[1:]:
        dtype = xp.result_type(dtype, d)
    arrays = []
    for a, g in zip(hosts, given):
        if not g and xp is not np:
            a = xp.asarray(a, dtype=dtype, device=_device(like))
        elif a.dtype != dtype:
            a = xp.astype(a, dtype)
        arrays.append(a)
    return xp, arrays


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
        x = _compat().to_device(x, "cpu")
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
            msg = f"{name} has {what} ({float(host[tuple(at)])!r}) at index {where}; weights must be finite and non-negative"
            raise ValueError(msg)


def _normalise_axis(axis, ndim, name):
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        msg = f"axis must be an integer, not {type(axis).__name__}"
        raise TypeError(msg)
    if not -ndim <= axis < ndim:
        msg = f"axis {axis} is out of range for {name} with {ndim} dimension(s)"
        raise ValueError(msg)
    return int(axis) % ndim


def _log_base(base):
    """log(base), or None for nats; a base must exceed 1 (below it every divergence and entropy turns negative)."""
    if base is None:
        return None
    if isinstance(base, bool) or not isinstance(base, (int, float, np.integer, np.floating)):
        msg = f"`base` must be a number (e.g. 2 for bits) or None for nats, not {type(base).__name__}"
        raise TypeError(msg)
    if not (math.isfinite(base) and base > 1):
        # log_b x = ln x / ln b: a base in (0, 1) flips the sign of every non-negative quantity (scipy.stats.entropy
        # accepts it and returns -1 bit for H = 1 bit), 1 divides by 0, and others have no logarithm
        msg = (
            f"`base` must be a finite number above 1 (2 for bits, 10 for hartleys; None for nats), got {base!r}; "
            "a base below 1 would make every divergence and entropy negative"
        )
        raise ValueError(msg)
    return math.log(base)


def _check_normalize(normalize):
    if not isinstance(normalize, bool):
        msg = f"normalize must be True or False, not {normalize!r}"
        raise TypeError(msg)


def _prepare(xp, arrays, names, axis, normalize):
    """Validate the inputs and line them up along the last axis (broadcast against each other)."""
    for a, n in zip(arrays, names):
        _check_values(xp, a, n)  # before any reshaping, so indices are the caller's
    for a, n in zip(arrays, names):
        if a.ndim == 0:
            msg = f"{n} is a scalar; give a vector of weights over the outcomes"
            raise ValueError(msg)

    axes = [_normalise_axis(axis, a.ndim, n) for a, n in zip(arrays, names)]
    if len(arrays) > 1:
        for a, n in zip(arrays, names):
            if any(s is None or s != s for s in a.shape):  # None (array API) or NaN (Dask): sizes not yet computed
                msg = (
                    f"`{n}` has dimensions of unknown size (shape {tuple(a.shape)}), so its outcomes cannot be lined up "
                    f"with the other vector's; compute them first ({n}.compute_chunk_sizes() for a Dask array)"
                )
                raise ValueError(msg)
    lengths = [a.shape[ax] for a, ax in zip(arrays, axes)]
    if len(set(lengths)) > 1:
        detail = ", ".join(f"{n} has {m}" for n, m in zip(names, lengths))
        shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
        msg = f"the inputs must have the same number of outcomes along axis {axis}: {detail} (shapes {shapes})"
        raise ValueError(msg)
    for a, n in zip(arrays, names):
        if any(s == 0 for s in a.shape):
            msg = f"{n} is empty (shape {tuple(a.shape)}); a distribution needs at least one outcome"
            raise ValueError(msg)

    arrays = [xp.moveaxis(a, ax, -1) if ax != a.ndim - 1 else a for a, ax in zip(arrays, axes)]
    if len(arrays) > 1:
        try:
            batch = np.broadcast_shapes(*(tuple(a.shape[:-1]) for a in arrays))
        except ValueError:
            shapes = ", ".join(f"{n} {tuple(a.shape)}" for n, a in zip(names, arrays))
            msg = f"the inputs' other axes do not broadcast against each other: {shapes} (with axis {axis} moved last)"
            raise ValueError(msg) from None
        arrays = [a if tuple(a.shape[:-1]) == batch else xp.broadcast_to(a, (*batch, a.shape[-1])) for a in arrays]

    tol = _sum_tolerance(xp, arrays[0].dtype)
    for a, n in zip(arrays, names):
        with np.errstate(over="ignore"):  # a sum of huge weights may overflow: it is not used when normalising
            total = xp.sum(a, axis=-1, keepdims=True)
        _check_sums(xp, total, n, normalize, tol)
    return arrays


def _sum_tolerance(xp, dtype) -> float:
    """How far from 1 a sum may be and still count as normalised: sqrt(eps) of the dtype."""
    return math.sqrt(float(xp.finfo(dtype).eps))


def _batch_index(host, bad):
    at = np.argwhere(bad)
    return "" if host.ndim == 0 else f" at batch index {tuple(int(i) for i in at[0]) if host.ndim > 1 else int(at[0][0])}"


def _check_sums(xp, s, name, normalize, tol):
    """All-zero rows are never a distribution; other sums must be 1 unless normalize=True."""
    zero = _concrete_any(xp, s == 0)
    if zero is None:
        return
    if zero:
        host = _to_host(s)[..., 0]
        msg = f"{name} is all zeros{_batch_index(host, host == 0)}; a distribution needs positive total weight"
        raise ValueError(msg)
    if normalize:
        return
    if _concrete_any(xp, xp.abs(s - 1) > tol):
        host = _to_host(s)[..., 0]
        bad = ~(np.abs(host - 1) <= tol)
        value = float(host[bad].flat[0])
        msg = (
            f"{name} sums to {value!r}{_batch_index(host, bad)}, not 1 (tolerance {tol:.1e}); "
            "pass normalize=True to treat the values as unnormalised weights (e.g. counts)"
        )
        raise ValueError(msg)


def _finish(xp, value, log_base, clamp):
    """Clamp rounding below 0 where exact arithmetic guarantees >= 0, convert the base, unwrap 0-d NumPy."""
    if clamp:
        value = xp.where(value < 0, xp.zeros_like(value), value)
    if log_base is not None:
        value = value / log_base
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    return value
