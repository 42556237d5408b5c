"""Pareto-smoothed importance sampling (PSIS): the Pareto k-hat that says whether importance weights can be trusted.

The largest importance ratios w = p/q of draws from q are fitted by a generalized Pareto law; its
shape k-hat estimates how many moments the ratios have (1/k of them): k < 0.5, the ratios have a
finite variance; 0.5 <= k < 0.7, a finite mean and a practically usable Pareto-smoothed estimate;
k >= 0.7, the estimate cannot be trusted (Vehtari, Simpson, Gelman, Yao & Gabry, JMLR 2024, sec. 3
and the threshold min(1 - 1/log10 S, 0.7) of their eq. (13); Yao, Vehtari, Simpson & Gelman 2018 for
variational inference).  The computation follows ArviZ's ``psislw`` / ``_gpdfit`` step by step: a tail
of M = ceil(min(S/5, 3 sqrt(S))) ratios above a cutoff, the generalized Pareto fit of Zhang & Stephens
(Technometrics 2009) with m = 30 + floor(sqrt(M)) grid points and the weakly informative prior of
Vehtari et al. (their appendix C: k shrunk towards 0.5 with weight 10), and the tail replaced by the
fitted law's quantiles at (i - 1/2)/M.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

__all__ = ["psis", "gpd_fit", "verdict", "k_threshold"]

_PRIOR_BS = 3  # Zhang & Stephens' prior on b, in units of the first quartile (ArviZ's prior_bs)
_PRIOR_K = 10  # weight of the prior k = 0.5 (Vehtari et al. 2024, appendix C; ArviZ's prior_k)


def gpd_fit(x: np.ndarray) -> tuple[float, float]:
    """(k, sigma) of a generalized Pareto law fitted to sorted positive exceedances ``x`` (Zhang & Stephens 2009).

    k is the shape in the sign convention where k > 0 is a heavy tail (the negative of Zhang &
    Stephens' k), shrunk towards 0.5 as ArviZ and loo do.
    """
    n = len(x)
    m = 30 + int(n**0.5)
    # the grid of b = -k/sigma values (Zhang & Stephens eq. 2 with ArviZ's m)
    b = 1 - np.sqrt(m / (np.arange(1, m + 1, dtype=float) - 0.5))
    b /= _PRIOR_BS * x[int(n / 4 + 0.5) - 1]
    b += 1 / x[-1]
    k = np.log1p(-b[:, None] * x).mean(axis=1)
    profile = n * (np.log(-(b / k)) - k - 1)  # the profile log-likelihood at each b
    # weights 1 / sum_j exp(L_j - L_i), formed as exp(L_i - logsumexp L) so that no term overflows
    w = np.exp(profile - logsumexp(profile))
    keep = w >= 10 * np.finfo(float).eps
    w, b = w[keep], b[keep]
    b_post = float(np.sum(b * w / w.sum()))
    k_post = float(np.log1p(-b_post * x).mean())
    sigma = -k_post / b_post
    return (n * k_post + _PRIOR_K * 0.5) / (n + _PRIOR_K), sigma


def psis(log_ratios) -> tuple[np.ndarray, float]:
    """Pareto-smoothed, normalised log weights and k-hat for log importance ratios of S draws.

    k-hat is ``inf`` where the tail has 4 draws or fewer (as ArviZ); NaN ratios are refused by the
    caller, ``-inf`` ones (a draw the target rules out) get weight 0.
    """
    lw = np.array(log_ratios, dtype=np.float64).ravel()
    s = lw.size
    lw = lw - np.max(lw)
    cut = -math.ceil(min(s / 5.0, 3 * s**0.5)) - 1
    order = np.argsort(lw)
    x_cut = max(lw[order[cut]], np.log(np.finfo(float).tiny))
    tail = np.flatnonzero(lw > x_cut)
    if tail.size <= 4:
        k = math.inf
    else:
        tail = tail[np.argsort(lw[tail])]
        exceed = np.exp(lw[tail]) - math.exp(x_cut)
        k, sigma = gpd_fit(exceed)
        if math.isfinite(k):
            p = np.arange(0.5, tail.size) / tail.size
            lw[tail] = np.minimum(np.log(_gpd_quantile(p, k, sigma) + math.exp(x_cut)), 0.0)
    with np.errstate(divide="ignore"):
        return lw - logsumexp(lw), float(k)


def _gpd_quantile(p: np.ndarray, k: float, sigma: float) -> np.ndarray:
    """Quantiles of the generalized Pareto law with shape k, scale sigma, location 0."""
    if abs(k) < np.finfo(float).eps:
        return -sigma * np.log1p(-p)
    return sigma * np.expm1(-k * np.log1p(-p)) / k


def k_threshold(s: int) -> float:
    """The largest k-hat at which S draws give a reliable estimate: min(1 - 1/log10 S, 0.7) (Vehtari et al. 2024, eq. 13)."""
    return min(1 - 1 / math.log10(s), 0.7) if s > 10 else 0.0


def verdict(k: float) -> str:
    """What k-hat says (Vehtari et al. 2024, sec. 3.2; Yao et al. 2018 for variational approximations)."""
    if not k < 0.7:
        return "do not trust: k-hat >= 0.7, the importance ratios' tail is too heavy (q misses mass of the target)"
    if k < 0.5:
        return "good: k-hat < 0.5, q is close to the target"
    return "usable with importance weighting: 0.5 <= k-hat < 0.7"
