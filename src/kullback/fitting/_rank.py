"""kb.rank: families ordered by the information they lose about one target.

From samples the divergences D(data||q_i) share the data's entropy, so their differences are
differences of cross-entropies, mean(log q_best(x) - log q_i(x)) + (k_i - k_best)/n, computed on
the same points: the gap's interval is paired (per-point variance of the log-ratio), much narrower
than the two divergences' intervals, and says whether the data resolve the order.  The data's
entropy (a nearest-neighbour search on continuous samples) is computed once per ranking and shared
by every family's estimate (:mod:`._shared`): each estimate is the one :func:`kullback.fit` gives.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._warnings import AccuracyWarning
from ._fit import _check_base, _check_direction, fit_target
from ._result import Fit, Ranking
from ._shared import SampleKL
from ._target import target_of

__all__ = ["rank"]

_CONFIDENCE = 0.95


def rank(target, families, *, direction="forward", base=None) -> Ranking:
    """Fit each family to ``target`` and order them by the information lost, least first.

    Parameters
    ----------
    target : distribution object or array_like
        As for :func:`kullback.fit`.
    families : iterable
        Each a family as :func:`kullback.fit` takes it (``st.norm``, ``"gamma"``, a torch class,
        ``"gaussian"``), or a pair ``(family, fixed)`` such as ``(st.binom, {"n": 10})``.
    direction : {"forward", "reverse"}
        The divergence minimised and compared (see :func:`kullback.fit`).
    base : float, optional
        The logarithm's base (None: nats, 2: bits).

    Returns
    -------
    Ranking
        ``.rows`` (rank, family, params, kl and its interval, gap to the best and its paired
        interval, whether the gap is resolved by the data), ``.fits``, ``.best``; a table as its
        repr and ``.to_frame()``.  A family that cannot be fitted (its kind does not match the
        target's, an integer parameter not fixed) is ranked last with ``kl = inf`` and the
        reason.

    Examples
    --------
    >>> import numpy as np, scipy.stats as st
    >>> import kullback as kb
    >>> teeth = st.rv_discrete(values=(np.arange(11), [0.02, 0.03, 0.05, 0.14, 0.16, 0.15, 0.12, 0.08, 0.10, 0.08, 0.07]))
    >>> r = kb.rank(teeth, [st.randint, (st.binom, {"n": 10}), st.poisson])
    >>> [(row["family"], round(row["kl"], 4)) for row in r.rows]
    [('poisson', 0.0902), ('randint', 0.1367), ('binom', 0.4273)]
    """
    direction = _check_direction(direction)
    _check_base(base)
    T = target_of(target)  # a target that is not one is refused here, not ranked as inf for every family
    shared = SampleKL(T.x) if T.kind == "samples" and T.dim == 0 else None  # the data's entropy, searched once
    fits = [_fit_one(T, fam, direction, base, shared) for fam in _pairs(families)]
    if not fits:
        msg = "`families` is empty; give the families to rank, e.g. [st.norm, st.gamma, (st.binom, {'n': 10})]"
        raise ValueError(msg)
    order = sorted(range(len(fits)), key=lambda i: (math.isnan(_value(fits[i])), _value(fits[i])))
    fits = [fits[i] for i in order]
    x = T.x if T.kind == "samples" else None
    rows = [_row(i + 1, f, fits[0], x) for i, f in enumerate(fits)]
    return Ranking(rows, fits, direction, _CONFIDENCE)


def _pairs(families):
    if isinstance(families, (str, type)) or hasattr(families, "fit") or not hasattr(families, "__iter__"):
        msg = f"`families` must be a list of families (st.norm, (st.binom, {{'n': 10}}), ...); got {families!r}"
        raise TypeError(msg)
    for f in families:
        if isinstance(f, tuple):
            if len(f) != 2 or not isinstance(f[1], dict):
                msg = f"a family in `families` given as a tuple must be (family, fixed_dict); got {f!r}"
                raise TypeError(msg)
            yield f
        else:
            yield f, None


def _fit_one(T, pair, direction, base, shared) -> Fit:
    family, fixed = pair
    try:
        return fit_target(T, family, direction, fixed, None, base, shared)
    except (TypeError, ValueError) as exc:
        name = getattr(family, "name", None) or getattr(family, "__name__", None) or str(family)
        diagnostics = {"method": "not fitted", "error": f"{type(exc).__name__}: {exc}"}
        return Fit(None, dict(fixed or {}), math.inf, direction, False, str(exc), name, diagnostics, base)


def _value(f: Fit) -> float:
    return float(f.kl)


def _row(i: int, f: Fit, best: Fit, x) -> dict:
    kl = f.kl
    value = float(kl)
    lo, hi = kl.ci if hasattr(kl, "ci") else (value, value)
    gap = value - float(best.kl) if math.isfinite(value) else math.inf
    gap_lo = gap_hi = gap
    resolved = None
    if f is not best and x is not None and math.isfinite(value):
        gap, gap_lo, gap_hi = _paired_gap(f, best, x)
        resolved = bool(gap_lo > 0)
    elif f is not best and x is not None:
        resolved = True  # an infinite divergence against a finite one
    return {
        "rank": i,
        "family": f.family,
        "params": f.params,
        "kl": value,
        "kl_lo": float(lo),
        "kl_hi": float(hi),
        "gap": gap,
        "gap_lo": gap_lo,
        "gap_hi": gap_hi,
        "resolved": resolved,
        "converged": f.converged,
        "reason": f.reason,
    }


def _paired_gap(f: Fit, best: Fit, x) -> tuple[float, float, float]:
    """D_f - D_best from the same sample: mean log-ratio plus the k/n difference, normal interval of the per-point variance."""
    from scipy.special import ndtri

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", AccuracyWarning)
        t = _logq(best, x) - _logq(f, x)
    n = t.size
    scale = 1.0 if f.base is None else math.log(f.base)
    shift = (_k(f) - _k(best)) / n
    gap = (float(np.mean(t)) + shift) / scale
    half = float(ndtri(0.5 + _CONFIDENCE / 2)) * float(np.std(t, ddof=1)) / math.sqrt(n) / scale
    return gap, gap - half, gap + half


def _k(f: Fit) -> int:
    return int(f.kl.details.get("fitted_parameters", 0)) if hasattr(f.kl, "details") else 0


def _logq(f: Fit, x) -> np.ndarray:
    law = f.distribution
    if hasattr(law, "log_prob"):
        import torch

        with torch.no_grad():
            return law.log_prob(torch.as_tensor(x, dtype=torch.float64)).numpy()
    if hasattr(law, "logpdf"):
        return np.asarray(law.logpdf(x), dtype=np.float64)
    return np.asarray(law.logpmf(x), dtype=np.float64)
