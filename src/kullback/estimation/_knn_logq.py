"""D(p||q) from samples of p and log q at them: -H(p) - E_p log q, the kNN entropy searched once.

Split out of ``_knn.py`` (the estimators of two samples stay there); the entropy's terms, weights and bias
allowance are that module's.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._warnings import AccuracyWarning
from ._knn import (
    _CUT,
    _INTERVAL,
    _allowance,
    _check_k,
    _check_method,
    _check_spread,
    _cut_at_zero,
    _describe,
    _diff_var,
    _entropy_eval,
    _entropy_parts,
    _interval,
    _jackknife_var,
    _method_name,
    _to_numpy,
    _trim,
    _weight_sets,
    as_samples,
)
from ._knn_ensemble import loo_shift
from ._result import Estimate
from ._ties import _with_ties

__all__ = ["kl_knn_vs_logq", "LogqTerms"]


def kl_knn_vs_logq(x, logq, *, k: int | None = None, method: str = "auto", confidence: float = 0.95, rng=None) -> Estimate:
    """D(p||q) = -H(p) - E_p log q(X) from samples x ~ p and log q at those samples (shape (n,)).

    H(p) by :func:`entropy_knn` (``method`` as there), E_p log q by the sample mean. Both are means
    over the same points, so the delete-one jackknife of their difference, pseudo-value by pseudo-value,
    carries their covariance (the kNN error of H and log q(x_i) are correlated through x_i). The interval
    is cut at 0 (D >= 0). Where q has log-density -inf at a sample the answer is infinite: value inf,
    stderr inf, ci (0, inf) (the data bound D only from below), with a kb.AccuracyWarning naming the point.
    """
    method = _check_method(method)
    x = as_samples(x, "x")
    n, d = x.shape
    lq = np.asarray(_to_numpy(logq), dtype=np.float64).reshape(-1)
    if lq.shape[0] != n:
        msg = f"`logq` must hold log q at each of the {n} samples; got {lq.shape[0]} values."
        raise ValueError(msg)
    if np.isnan(lq).any() or np.isposinf(lq).any():
        row = int(np.flatnonzero(np.isnan(lq) | np.isposinf(lq))[0])
        msg = f"`logq` is {lq[row]} at sample {row}; log-densities must be finite or -inf."
        raise ValueError(msg)
    terms = LogqTerms(x, k=k, method=method, rng=rng, search=False)
    if np.isneginf(lq).any():
        rows = np.flatnonzero(np.isneginf(lq))
        row = int(rows[0])
        point = float(x[row, 0]) if d == 1 else x[row].tolist()
        msg = (
            f"q has density 0 (log q = -inf) at {rows.size} sample(s) of p, e.g. x = {point!r} (row {row}): "
            "p puts mass where q has none, so D(p||q) = inf"
        )
        warnings.warn(msg, AccuracyWarning, stacklevel=2)
        info = {"d": d, "outside_support_of_q": row, "point": point}
        return Estimate(math.inf, math.inf, (0.0, math.inf), terms.name, n, confidence, "none: q is 0 at a sample of p", "D(p||q)", info)
    terms.search(stacklevel=4)
    return terms.kl(lq, confidence)


class LogqTerms:
    """The sample's side of :func:`kl_knn_vs_logq`, searched once and finished for any number of q's.

    D(p||q) = -H(p) - E_p log q needs one nearest-neighbour search of x for H (with its per-point terms,
    leave-one-out shifts and the reference weights' estimate for the bias allowance); log q enters only
    through its values at the samples.  ``kl(logq)`` finishes one q from the stored terms, so many q's on one
    sample (:func:`kullback.rank`) cost one search, each estimate the same to the bit as
    ``kl_knn_vs_logq(x, logq)``.  ``logq`` must be finite here (``kl_knn_vs_logq`` answers -inf).
    """

    def __init__(self, x, *, k: int | None = None, method: str = "auto", rng=None, search: bool = True):
        method = _check_method(method)
        self.x = x = as_samples(x, "x")
        self.n, self.d = n, d = x.shape
        _check_spread(x, "x")
        self.name, self._w, self._ref, self._K, self.factor = _weight_sets(_method_name(method, d), k, d, n)
        _check_k(n, "x", self._K)
        self._rng, self._terms, self.details = rng, None, {}
        if search:
            self.search(stacklevel=4)

    def search(self, stacklevel: int = 3) -> None:
        """The search and the entropy's terms (a tie warning, if any, names the caller ``stacklevel`` up)."""
        w, ref, K, n, d = _trim(self._w), self._ref, self._K, self.n, self.d

        def compute(xs, shared=None):
            L, idx = _entropy_parts(xs, K)
            a = _entropy_eval(xs, L, idx, w, jack=False)[2]  # per-point terms, the constant included
            h_ref = _entropy_eval(xs, L, idx, _trim(ref), jack=False)[0]
            return a, d * loo_shift(L, idx, w, n), h_ref, d * d * _diff_var(L, idx, self._w, ref, n)

        self._terms = _with_ties(compute, [self.x], self._rng, self.details, names=("x",), stacklevel=stacklevel)

    def kl(self, logq, confidence: float = 0.95) -> Estimate:
        """D(p||q) from the stored terms and log q at the samples (finite), with its interval."""
        if self._terms is None:
            self.search(stacklevel=4)
        a, loo, h_ref, var_diff = self._terms
        lq = np.asarray(logq, dtype=np.float64).reshape(-1)
        n, d = self.n, self.d
        t = -a - lq  # per-point terms of -H - E log q (the constant sits in a)
        u = (a + lq - loo) / (n - 1)
        value, var = float(t.mean()), _jackknife_var([u])
        v_ref = -h_ref - float(lq.mean())
        B = _allowance(self.factor, value, v_ref, var_diff)
        details = dict(self.details)
        details["reference_diff_stderr"] = math.sqrt(var_diff) if var_diff == var_diff else None
        se, ci, _ = _interval(value, var, B, confidence)
        details.update(_describe(self.name, _trim(self._w), d, B, v_ref), allowance_factor=self.factor)
        return Estimate(value, se, _cut_at_zero(ci), self.name, n, confidence, _INTERVAL + _CUT, "D(p||q)", details)
