"""The target of a fit, recognised once: a distribution object, or samples (1-d or (n, d)).

For starting values every target is also seen as weighted points (x_i, w_i): the samples
themselves, the outcomes and probabilities of an empirical law (``st.rv_discrete(values=...)``),
or a grid of quantiles of any other law.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import distributions

__all__ = ["Target", "target_of"]

_GRID = 256  # quantile points standing in for a law when starting values are sought


@dataclass(frozen=True)
class Target:
    """kind: "distribution" or "samples"; law: the object; x: samples (n,) or (n, d); points/weights for starts."""

    kind: str
    law: Any
    x: Any
    support_kind: str  # "continuous" or "discrete"
    dim: int  # 0 for univariate, d for (n, d) samples or a d-dimensional law
    points: np.ndarray
    weights: np.ndarray
    dtype: Any = None  # the samples' own dtype (integers: a mass function's)

    @property
    def mean(self) -> float:
        return float(np.sum(self.weights * self.points))

    @property
    def std(self) -> float:
        m = self.mean
        return float(math.sqrt(max(np.sum(self.weights * (self.points - m) ** 2), 0.0)))

    def support(self) -> tuple[float, float]:
        """The smallest interval holding the target's mass (samples: their range)."""
        if self.kind == "samples" or self.law_is_empirical:
            return float(self.points.min()), float(self.points.max())
        lo, hi = self.scipy_view().support()
        return float(lo), float(hi)

    @property
    def law_is_empirical(self) -> bool:
        return self.kind == "distribution" and _empirical(self.law) is not None

    def scipy_view(self):
        return distributions.describe(self.law, "target").scalar_scipy()


def target_of(target) -> Target:
    """Recognise ``target``: a distribution object or samples; a TypeError/ValueError that says what it got otherwise."""
    if distributions.is_distribution(target):
        return _law(target)
    return _samples(target)


def _law(law) -> Target:
    d = distributions.describe(law, "target")
    if d.batch_shape:
        msg = f"`target` is a batch of laws (batch shape {d.batch_shape}); fit one law at a time"
        raise ValueError(msg)
    if d.event_ndim and d.family != "categorical":
        dim = int(np.shape(d.params["loc"])[-1]) if d.family == "mvn" else int(np.shape(next(iter(d.params.values())))[-1])
        return Target("distribution", law, None, d.kind, dim, np.zeros(1), np.ones(1))
    view = d.scalar_scipy()
    emp = _empirical(view)
    if emp is not None:
        pts, w = np.asarray(emp.xk, dtype=np.float64), np.asarray(emp.pk, dtype=np.float64)
    else:
        u = (np.arange(_GRID) + 0.5) / _GRID
        with np.errstate(all="ignore"):
            pts = np.asarray(view.ppf(u), dtype=np.float64)
        keep = np.isfinite(pts)
        pts, w = pts[keep], np.full(int(keep.sum()), 1.0 / max(int(keep.sum()), 1))
    return Target("distribution", law, None, d.kind, 0, pts, w / w.sum())


def _empirical(law):
    """The rv_sample behind an empirical law (``st.rv_discrete(values=...)``, frozen or not), or None."""
    for obj in (law, getattr(law, "dist", None)):
        if type(obj).__name__ == "rv_sample":
            return obj
    return None


def _samples(x) -> Target:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic containers
        msg = f"`target` must be a distribution object or samples (1-d or (n, d) numbers); got {type(x).__name__}"
        raise TypeError(msg) from exc
    if arr.dtype.kind not in "biuf":
        msg = f"`target` must be a distribution object or numeric samples; got an array of {arr.dtype}"
        raise TypeError(msg)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim not in (1, 2):
        msg = f"`target` samples must have shape (n,) or (n, d); got shape {arr.shape}"
        raise ValueError(msg)
    if arr.shape[0] < 2:
        msg = f"`target` holds {arr.shape[0]} sample(s); a fit needs at least 2"
        raise ValueError(msg)
    bad = ~np.isfinite(arr.astype(np.float64))
    if bad.any():
        i = int(np.flatnonzero(bad.any(axis=-1) if arr.ndim == 2 else bad)[0])
        msg = f"`target` holds a non-finite value at row {i} ({arr[i].tolist()!r}); drop or impute it first"
        raise ValueError(msg)
    kind = "discrete" if arr.dtype.kind in "biu" else "continuous"
    xf = arr.astype(np.float64)
    if arr.ndim == 2:
        return Target("samples", None, xf, kind, arr.shape[1], np.zeros(1), np.ones(1), arr.dtype)
    return Target("samples", None, xf, kind, 0, xf, np.full(xf.size, 1.0 / xf.size), arr.dtype)
