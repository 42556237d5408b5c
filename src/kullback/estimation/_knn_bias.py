"""The bias reference of the kNN divergence estimate from d = 3: D(k) fitted over k = 1..K of one search.

The kNN estimate of D(p||q) with weights w over the neighbour orders k has a bias that grows with k. Berrett,
Samworth & Yuan (2019), Ann. Statist. 47(1), eq. (3), give its leading term c * Gamma(k + 2/d) / Gamma(k) * n^(-2/d)
for densities bounded below on their support; Singh & Poczos (2016), "Finite-sample analysis of fixed-k nearest
neighbor density functional estimators", NeurIPS, bound it by (k/n)^(beta/d) for beta-Hoelder densities, beta in
(0, 2]. On Gaussian pairs, whose densities are not bounded below, the growth in k is the slower one, about
k^(1.1/d)..k^(1.3/d) from d = 3 (mean D(k) of 24-40 seeded draws of N(0, I_d) against N(1/sqrt(d) 1, I_d), fitted
as c k^a over k = 1..30: a = 0.31 (d = 3), 0.29 (4), 0.27 (5), 0.10-0.12 (10), 0.06-0.07 (20) at n = 10^3..10^5).
Richardson's extrapolation with 2/d from k = 1 and 2 then takes about half the bias, and it rests on the
noisiest pair of sums: at d = 10, n = 10^5 the k = 1 interval held the truth in 2 of 6 such draws.

Here the bias is read off the whole search: the least-squares slope c of D(k) on b(k) = Gamma(k + a) / Gamma(k),
k = 1..K, with a = 1/d (beta = 1 in Singh & Poczos's bound: the slowest growth measured, so the extrapolation is
on the safe side), and the bias of the weights w is c * sum_k w_k b(k). Both are linear in the sums D(k), so the
reference weights ``main - bias weights`` give, through the estimator's own jackknife, the bias and its standard
error from the one search; the allowance is |bias| + se(bias) (``_knn._allowance`` with ``add=True``). The
extrapolated value D(k -> 0), the main value less its fitted bias, is ``details["reference_estimate"]``.

d <= 2 keeps the Richardson reference (k vs 2k, k = 1..K vs 1..K/2, a = 1/2): there the measured growth is k^(1/2)
or steeper and the intervals cover (docs/estimation-coverage.md).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from ._knn_ensemble import ensemble_weights

__all__ = ["FIT_FROM_D", "KNN_FIT_SPAN", "fitted_reference", "fitted_sets", "growth"]

FIT_FROM_D = 3  # the fitted reference from this dimension on (below: Richardson, see the module docstring)
# method="knn" (one k) fits over k' = 1..KNN_FIT_SPAN * k: a search of 4k + 1 neighbours instead of 2k + 1 (k = 1, d = 5,
# n = 2 * 10^4: 62 ms against 52 ms end to end). method="auto" reads k = 1 off the ensemble's search and fits over its
# k = 1..K at no extra cost. Over k' = 1..2 (the old search) the fit is Richardson's: half-widths 1.2-1.6 times those of
# k' = 1..4 and 2-2.6 times auto's (d = 5..20, n = 10^3..10^5, the draws of coverage_estimation.py --bias-growth).
KNN_FIT_SPAN = 4


def growth(d: int, K: int) -> np.ndarray:
    """b(k) = Gamma(k + 1/d) / Gamma(k), k = 1..K: the growth in k that the fit assumes (see the module docstring)."""
    k = np.arange(1, K + 1, dtype=float)
    return np.exp(gammaln(k + 1.0 / d) - gammaln(k))


def fitted_reference(main: np.ndarray, d: int, K_fit: int) -> np.ndarray:
    """Reference weights whose estimate is the main one less its bias fitted over k = 1..K_fit (padded alike).

    The least-squares slope of D(k) on b(k) over k = 1..K_fit is s . D with s = (b - mean b) / |b - mean b|^2;
    the bias of ``main`` is (main . b) (s . D). ``main - (main . b) s`` is returned (length max(len(main), K_fit)).
    """
    L = max(len(main), K_fit)
    w = np.zeros(L)
    w[: len(main)] = main
    b = growth(d, L)
    c = b[:K_fit] - b[:K_fit].mean()
    c -= c.mean()  # a second pass: sum c = 0 to rounding (b(k) is nearly flat in large d, 1 / |c|^2 large)
    slope = np.zeros(L)
    slope[:K_fit] = c / (c @ c)
    return w - (w @ b) * slope


def fitted_sets(one_k: bool, k: int | None, d: int, n_min: int, K: int, J: int, fit_K: int | None):
    """(main weights, fitted reference, K searched, allowance factor 1) for ``_knn._weight_sets(fit=True)``, d >= 3.

    One k (``one_k``, k given): the fit runs over k' = 1..Kf, Kf = ``fit_K`` or 4k, at least k + 1 (two points), at most
    n - 2; the search holds Kf + 1 neighbours (the jackknife of main - reference). The ensemble: (K, J) of its plan
    (``k`` given: K = k), the fit over its k = 1..K.
    """
    if one_k:
        Kf = max(k + 1, min(fit_K or KNN_FIT_SPAN * k, n_min - 2))
        main = np.zeros(Kf)
        main[k - 1] = 1.0
        return main, fitted_reference(main, d, Kf), Kf, 1.0
    if k is not None:
        K = max(1, min(int(k), n_min - 2))
        J = min(J, (K - 1) // 2)
    main = ensemble_weights(d, K, n_terms=J)
    if K < 2:  # one k: nothing to fit; the bias is not measured
        return main, main.copy(), K, 1.0
    return main, fitted_reference(main, d, K), K, 1.0
