"""D(data||q) for many q on one continuous sample, the data's entropy searched once.

:func:`kullback.estimate_kl` of samples against a law q is -H_hat(data) - mean log q(x) (the
Kozachenko-Leonenko ensemble entropy, ``kl_knn_vs_logq``): for every family :func:`kullback.rank`
fits, the nearest-neighbour search and the entropy's per-point terms are the same.  ``SampleKL``
does the search once and finishes each q as ``kl_knn_vs_logq`` does, term for term (the same
value, jackknife and bias allowance to the bit: ``tests/fitting/test_rank.py`` checks it against
``estimate_kl``); anything else (a q that is 0 or NaN at a sample) goes to ``estimate_kl`` itself.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..estimation import _access
from ..estimation import _knn as K
from ..estimation._knn_ensemble import loo_shift
from ..estimation._result import Estimate
from ..estimation._ties import _with_ties

__all__ = ["SampleKL"]


class SampleKL:
    """``estimate(law)`` = ``estimate_kl(x, law)`` for 1-d continuous samples x, the entropy computed once."""

    def __init__(self, x: np.ndarray, confidence: float = 0.95):
        self.x, self.confidence, self.a = x, confidence, None

    def _search(self):
        """The nearest-neighbour search and the entropy's per-point terms, done at the first estimate."""
        xs = K.as_samples(self.x, "x")
        n, d = xs.shape
        K._check_spread(xs, "x")
        name, w, ref, k_max, factor = K._weight_sets(K._method_name("auto", d), None, d, n)
        K._check_k(n, "x", k_max)
        self.details: dict = {}

        def search(arr, shared=None):
            return (arr, *K._entropy_parts(arr, k_max))

        with warnings.catch_warnings(record=True) as caught:  # a tie warning, raised again at the first estimate
            warnings.simplefilter("always")
            xd, L, idx = _with_ties(search, [xs], None, self.details, names=("x",))
        self.caught = list(caught)
        wt = K._trim(w)
        self.a = K._entropy_eval(xd, L, idx, wt, jack=False)[2]  # per-point terms, the constant included
        self.loo = d * loo_shift(L, idx, wt, n)
        self.h_ref = K._entropy_eval(xd, L, idx, K._trim(ref), jack=False)[0]
        self.var_diff = d * d * K._diff_var(L, idx, w, ref, n)
        self.pts, self.n, self.name, self.factor = xs[:, 0], n, name, factor
        self.described = K._describe(name, wt, d, 0.0, 0.0)

    def estimate(self, law) -> Estimate:
        """D(data||law) with its interval, as ``kl_knn_vs_logq`` computes it from the shared entropy terms."""
        if self.a is None:
            self._search()
        for w in self.caught:
            warnings.warn(w.message, w.category, stacklevel=3)
        self.caught = []
        lq = _access.log_density(law, self.pts)
        if not np.all(np.isfinite(lq)):  # q = 0 or NaN at a sample: estimate_kl's own answer and message
            from ..estimation._dispatch import estimate_kl

            return estimate_kl(self.pts, law)
        n = self.n
        t = -self.a - lq  # per-point terms of -H - E log q
        u = (self.a + lq - self.loo) / (n - 1)
        value, var = float(t.mean()), K._jackknife_var([u])
        v_ref = -self.h_ref - float(lq.mean())
        B = K._allowance(self.factor, value, v_ref, self.var_diff)
        details = {**self.details, "reference_diff_stderr": math.sqrt(self.var_diff) if self.var_diff == self.var_diff else None}
        se, ci, _ = K._interval(value, var, B, self.confidence)
        details.update({**self.described, "bias_allowance": B, "reference_estimate": v_ref}, allowance_factor=self.factor)
        return Estimate(value, se, K._cut_at_zero(ci), self.name, n, self.confidence, K._INTERVAL + K._CUT, "D(p||q)", details)
