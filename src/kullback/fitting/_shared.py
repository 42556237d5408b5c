"""D(data||q) for many q on one continuous sample, the data's entropy searched once.

:func:`kullback.estimate_kl` of samples against a law q is -H_hat(data) - mean log q(x)
(``kl_knn_vs_logq``): for every family :func:`kullback.rank` fits, the nearest-neighbour search and the
entropy's per-point terms are the same.  The estimation room's :class:`LogqTerms` does the search once
and finishes each q as ``kl_knn_vs_logq`` does (the same value, jackknife and bias allowance to the bit:
``tests/fitting/test_rank.py`` checks it against ``estimate_kl``); anything else (a q that is 0 or NaN
at a sample) goes to ``estimate_kl`` itself.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..estimation import _access
from ..estimation._knn_logq import LogqTerms
from ..estimation._result import Estimate

__all__ = ["SampleKL"]


class SampleKL:
    """``estimate(law)`` = ``estimate_kl(x, law)`` for 1-d continuous samples x, the entropy computed once."""

    def __init__(self, x: np.ndarray, confidence: float = 0.95):
        self.x, self.confidence, self.terms, self.caught = x, confidence, None, []

    def estimate(self, law) -> Estimate:
        """D(data||law) with its interval, as ``kl_knn_vs_logq`` computes it from the shared entropy terms."""
        if self.terms is None:  # searched at the first continuous family; a tie warning kept for each estimate's caller
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self.terms = LogqTerms(self.x)
            self.caught = list(caught)
        for w in self.caught:
            warnings.warn(w.message, w.category, stacklevel=3)
        self.caught = []
        lq = _access.log_density(law, self.terms.x[:, 0])
        if not np.all(np.isfinite(lq)):  # q = 0 or NaN at a sample: estimate_kl's own answer and message
            from ..estimation._dispatch import estimate_kl

            return estimate_kl(self.terms.x[:, 0], law)
        return self.terms.kl(lq, self.confidence)
