"""k-nearest-neighbour estimators of entropy, KL and JS divergence from continuous samples.

Every estimator here is a mean of per-point log-distance terms plus a constant; the kNN searches run on
the numba kd-tree of :mod:`._kdtree` in parallel (scipy's ``cKDTree`` with ``workers=-1`` where numba does
not import; the same neighbours either way). Each returns an :class:`Estimate` whose interval is

    value +- z * stderr,  stderr from the exact leave-one-out (delete-one) jackknife of the whole estimator

(one group per sample: Efron & Stein 1981; Efron & Tibshirani 1993, eq. 11.5), computed in O(n K) from one
(K + 1)-neighbour search: deleting a point moves the k-th neighbour of each point that had it among its
first K to the (k+1)-th (``_knn_ensemble.loo_shift``). The kNN bias is handled as described in each
estimator's Notes (``details["bias"]``).
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import replace

import numpy as np
from scipy.special import digamma, gammaln
from scipy.stats import norm

from .._warnings import AccuracyWarning
from ._kdtree import Tree, scale_of
from ._knn_bias import FIT_FROM_D, fitted_sets
from ._knn_ensemble import ensemble_weights, loo_shift
from ._resolution import UnresolvedWarning, resolution
from ._resolution import message as resolution_message
from ._result import Estimate
from ._ties import AtomOfP, TieWarning, _has_duplicates, _rng, _with_ties, _ZeroDistance  # noqa: F401 (TieWarning: public here too)

__all__ = ["TieWarning", "as_samples", "kl_knn", "entropy_knn", "js_knn", "METHODS"]


# ----------------------------------------------------------------------------------------------- inputs


def _to_numpy(x):
    """NumPy view of an array-like; torch tensors through .detach().cpu().numpy() (torch is never imported)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):  # pandas / Polars objects
        return x.to_numpy()
    return np.asarray(x)


def as_samples(x, name: str = "x") -> np.ndarray:
    """Continuous samples as a float64 array of shape (n, d); (n,) means d = 1. Refuses what kNN cannot use."""
    arr = _to_numpy(x)
    if arr.dtype.kind not in "iuf":
        what = {"b": "booleans", "O": "Python objects", "U": "strings", "S": "bytes", "c": "complex numbers"}.get(
            arr.dtype.kind, str(arr.dtype)
        )
        msg = (
            f"`{name}` holds {what} (dtype {arr.dtype}); the kNN estimators need real-valued samples. "
            "Convert to a float array, or pass discrete/categorical samples to the plug-in method (method='plugin')."
        )
        raise TypeError(msg)
    if arr.ndim == 0 or arr.ndim > 2:
        msg = f"`{name}` must have shape (n,) or (n, d); got shape {arr.shape}."
        raise ValueError(msg)
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        msg = f"`{name}` is empty (shape {arr.shape}); give at least k + 2 samples."
        raise ValueError(msg)
    finite = np.isfinite(arr)
    if not finite.all():
        row = int(np.flatnonzero(~finite.all(axis=1))[0])
        msg = f"`{name}` holds a non-finite value ({arr[row][~finite[row]][0]}) in row {row}; drop or impute such rows first."
        raise ValueError(msg)
    return np.ascontiguousarray(arr)


def _check_spread(x: np.ndarray, name: str) -> None:
    """A density in d dimensions needs every coordinate to vary: refuse constant samples and columns."""
    if (x[1:65] != x[0]).any(axis=0).all():  # every column varies within the first rows: the usual case, O(d)
        return
    if (x == x[0]).all():
        msg = f"`{name}` holds a single repeated value ({x[0].tolist()}) in all {x.shape[0]} rows: it has no density to estimate from."
        raise ValueError(msg)
    const = np.flatnonzero((x == x[0]).all(axis=0))
    if const.size:
        msg = f"column {int(const[0])} of `{name}` is constant ({x[0, const[0]]}): the samples have no density in {x.shape[1]} dimensions; drop that column."
        raise ValueError(msg)


def _check_k(n: int, name: str, K: int, self_in_tree: bool = True) -> None:
    """Refuse samples too small for K + 1 neighbours (the K-th for the estimate, the next for the jackknife)."""
    need = K + 2 if self_in_tree else K + 1
    if n < need:
        msg = (
            f"`{name}` has {n} points; the kNN estimate needs at least {need} here (the first {K + 1} neighbours "
            "of each point: the estimate, its interval and its bias allowance). Give more samples or a smaller `k`."
        )
        raise ValueError(msg)


def _check_dims(x: np.ndarray, y: np.ndarray, names=("x", "y")) -> None:
    if x.shape[1] != y.shape[1]:
        msg = f"`{names[0]}` has dimension {x.shape[1]} but `{names[1]}` has dimension {y.shape[1]}; both samples must live in the same space."
        raise ValueError(msg)


# ------------------------------------------------------------------------------------------ searches


def _search(tree: Tree, pts: np.ndarray, K: int, self_in_tree: bool, what: str, order=None):
    """log-distances and indices of the first K + 1 neighbours of each point of ``pts`` (self excluded)."""
    dist, idx = tree.query(pts, K + 1, skip_self=self_in_tree, order=order)
    if not dist[:, 0].all():
        rows = np.flatnonzero(dist[:, 0] == 0)
        msg = f"{rows.size} point(s) of {what} have a copy at distance 0, e.g. row {int(rows[0])}"
        raise _ZeroDistance(msg)
    return np.log(dist), idx


def _cross_search(tree: Tree, pts: np.ndarray, K: int, shared, what: str, order=None):
    """``_search`` of x's points among y's (not self), skipping, for each row in ``shared``, its own exact copy in y.

    Returns (log-distances, indices, m_i) with m_i the number of y points row i searched among (m or m - 1).
    """
    m = tree.n
    if shared is None or len(shared) == 0:
        L, idx = _search(tree, pts, K, False, what, order)
        return L, idx, np.full(pts.shape[0], float(m))
    if m < K + 2:
        msg = (
            f"`y` has {m} points; with points that `x` shares with `y` each such point searches the other {m - 1}, "
            f"and the estimate needs {K + 1} neighbours: give `y` at least {K + 2} points (or a smaller `k`)"
        )
        raise ValueError(msg)
    dist, idx = tree.query(pts, K + 2, order=order)
    own = np.zeros(pts.shape[0], dtype=bool)
    own[shared] = True
    take = own.astype(int)[:, None] + np.arange(K + 1)[None, :]
    dist, idx = np.take_along_axis(dist, take, axis=1), np.take_along_axis(idx, take, axis=1)
    if not dist[:, 0].all():
        rows = np.flatnonzero(dist[:, 0] == 0)
        msg = f"{rows.size} point(s) of {what} have more than one copy at distance 0, e.g. row {int(rows[0])}"
        raise _ZeroDistance(msg)
    return np.log(dist), idx, np.where(own, m - 1.0, float(m))


def _log_unit_ball(d: int) -> float:
    """log volume of the Euclidean unit ball in R^d, pi^(d/2) / Gamma(d/2 + 1)."""
    return 0.5 * d * math.log(math.pi) - float(gammaln(0.5 * d + 1.0))


def _jackknife_var(groups) -> float:
    """Two-sample delete-one jackknife variance, sum over groups of (n_g - 1)/n_g sum_j (u_j - mean u)^2.

    Each ``u`` holds, per deleted point, the estimate's change up to a constant common to the group
    (Efron & Tibshirani 1993, eq. 11.5; Arvesen 1969 for several samples).
    """
    v = 0.0
    for u in groups:
        ng = u.size
        v += (ng - 1) / ng * float(np.sum((u - u.mean()) ** 2))
    return v


# ------------------------------------------------------------------------------------------ choices

METHODS = ("knn", "knn-ensemble", "auto")
# the names the public `method=` takes, and the older names of the entropy estimators, still accepted
_NAMES = {"knn": "knn", "knn-ensemble": "knn-ensemble", "kl": "knn", "kl-ensemble": "knn-ensemble", "auto": "auto"}
_ENTROPY_METHODS = METHODS  # kept for callers of the old name
_ALLOWANCE_SE = 1.0  # the bias allowance is at least this many standard errors of (main - reference)
# The exponent of k in the bias that the allowance extrapolates (Richardson). BSY (2019), eq. (3), give k^(2/d) for
# densities bounded below on their support; where p puts mass in q's tails (Gaussian pairs) the bias grows more slowly
# in k, and an extrapolation with the steeper 2/d takes too little of it. Measured on Gaussian pairs (mean of 30-200
# seeded draws, k = 1..20): d = 1, N(0,1) vs N(2,1), n = 10^3: bias -0.106, -0.150, -0.232, -0.308, -0.424 at
# k = 1, 2, 5, 10, 20 (~ k^0.5, not k^2); N(1,1): -0.008 .. -0.050 (~ k^0.6); d = 2, the main pair of
# benchmarks/coverage_estimation.py, n = 10^3: -0.014, -0.022, -0.030 at k = 4, 8, 16 (~ k^0.4-0.7, not k^1); d = 3, n = 10^5: ~ k^0.5 against
# k^(2/3). The allowance therefore assumes k^min(2/d, 1/2): it is the same where 2/d <= 1/2 (d >= 4) and larger below.
_BIAS_EXP = 0.5


def default_k(d: int) -> int:
    """k of the single-k estimators ('knn'): 5 for d <= 2, 3 for d = 3, else 1.

    Measured on the Gaussian pairs of benchmarks/coverage_estimation.py at n = 10^3 (RMSE of D(p||q)):
    in d <= 2 the variance dominates and k = 5..8 is best (d = 1: 0.034 at k = 5, 0.079 at k = 1); in
    d = 3, k = 3 (0.066) beats k = 1 (0.080); from d = 4 the bias grows with k faster than the variance
    falls (d = 4: 0.126 at k = 1, 0.143 at k = 3; d = 5: 0.155 at k = 1, 0.197 at k = 5).
    """
    return 5 if d <= 2 else 3 if d == 3 else 1


def ensemble_plan(d: int, n_min: int) -> tuple[int, int]:
    """(K, J) of the ensemble: weights over k = 1..K cancelling J leading bias terms.

    J = 0 for d <= 2 (BSY 2019 need none below d = 4; the weights then average k = 1..K), with K = 20 in
    d = 1 and K = 10 in d = 2: averaging up to k = 20 in d = 2 adds a bias (-0.067 at n = 10^3 for
    N(0, I) vs N(e1, I), truth 1/2) that made the interval cover 0.81 of draws (0.91 even with the
    allowance floored at se(main - reference)); K = 10 covers 0.975 / 0.970 at n = 10^3 / 10^4 with
    RMSE 0.070 / 0.024, K = 5 covers too but is noisier (sd 0.058 at n = 10^3) and wider. In d = 1 the
    k-bias is smaller (n^-2 rate): K = 20 covers 0.975 on N(0,1) vs N(1,1) with sd 0.047 (K = 5: 0.057).
    J = 1 for d = 3 and J = 2 from d = 4 (more than BSY's floor(d/4), which targets efficiency, not
    RMSE at moderate n); K = 20 for J = 1, 30 for J = 2; K capped by the sample size, and for J = 0 by sqrt(n). Chosen by RMSE
    of D(p||q) on the Gaussian pairs of benchmarks/coverage_estimation.py (n = 10^3 and 10^4):
    d = 3: 0.083 / 0.025 (J = 1, K = 20) vs 0.094 / 0.038 (J = 0); d = 7: 0.181 / 0.139 (J = 2, K = 30)
    vs 0.239 / 0.183 (J = 1) and 0.250 / 0.157 (J = 3, K = 40); d = 10: 0.432 / 0.210 vs 0.501 / 0.410 at k = 1.
    A second study on the pairs of benchmarks/bench_estimation.py, draws independent of the benchmark's
    (40 / 16 / 8 repetitions at n = 10^3 / 10^4 / 10^5), moved d = 4 from J = 1, K = 20 to J = 2, K = 30:
    RMSE 0.097 -> 0.088, 0.039 -> 0.027, 0.021 -> 0.016 (k = 1: 0.095, 0.042, 0.025). Elsewhere the
    plans were within 10% of the best of K = 5..40, J = 0..3 except from d = 6 at large n, where J = 3,
    K = 40 was better in some cells (d = 6, n = 10^5: 0.027 vs 0.038; d = 10, n = 10^4: 0.219 vs 0.258)
    and worse in others (d = 9, n = 10^4: 0.220 vs 0.200): no rule in n found there is kept. In d = 3 the
    bias left by J = 1 dominates at n = 10^5 (-0.0048, sd 0.0024; it grows like k^0.5 rather than the
    k^(2/3) the weights assume, so one cancelled term leaves some): J = 2, K = 30 gives 0.0048 against
    0.0056 (bias -0.0020), but 0.024 against 0.022 at n = 10^4 and 0.083 against 0.071 at n = 10^3, so
    d = 3 takes J = 2 from n = 50 000 (between the two measured sizes).
    """
    J = 0 if d <= 2 else 1 if d == 3 and n_min < 50_000 else 2
    K = 10 if d == 2 else 20 if J <= 1 else 30
    # plain averages (J = 0, d <= 2): K <= sqrt(n). The bias expansion (and the allowance read off it) holds for
    # k/n -> 0; K = 20 of n = 100 points smooths q over a fifth of its sample (N(0,1) vs N(0, 0.67^2), n = 100: bias
    # -0.22 for 0.21, coverage 0.43; 1.00 with K = 10). Not where J >= 1: there the weights cancel the growth in k, and
    # fewer k make them wilder (H of N(0, I_5), n = 100: RMSE 0.31 at K = 30, 0.46 at K = 10).
    K = max(1, min(K, n_min - 2, math.isqrt(max(n_min, 1)) if J == 0 else K))
    # at most (K - 1) // 2 terms cancelled: with J = K - 1 the weights are exactly determined and wild
    # (d = 4, n = 5: K = 3, J = 2 gave -4.9)
    return K, min(J, (K - 1) // 2)


def _weight_sets(
    method: str, k: int | None, d: int, n_min: int, *, fit: bool = False, fit_K: int | None = None
) -> tuple[str, np.ndarray, np.ndarray, int, float]:
    """(method, main weights, reference weights, K searched, allowance factor) for a method name.

    ``fit=True`` (the divergence, from d = 3): the reference is the main estimate less its bias fitted over
    k = 1..K (:mod:`._knn_bias`; K the ensemble's, or ``fit_K``, or 4k for one k), factor 1, and the allowance is
    |bias| + se(bias) (``_allowance(add=True)``). Otherwise, as follows.

    The bias allowance is ``factor * max(|estimate(main) - estimate(reference)|, 1 se(main - reference))``
    (se from the same jackknife: a difference that is mostly noise cannot vouch for a small bias). With the
    leading bias c * b(w), b(w) = sum_k w_k Gamma(k + a) / Gamma(k) (BSY 2019, eq. (3) has a = 2/d; the same form
    for WKV; here a = min(2/d, 1/2), the growth measured where p sits in q's tails: ``_BIAS_EXP``), the bias of the main weights is that difference times b(main) / (b(ref) - b(main)) (Richardson
    extrapolation in k):
    - 'knn' (one k): the reference is k' = 2k (k + 1 where n is small);
    - ensemble with J = 0 (d <= 2): the reference averages k = 1..K/2;
    - ensemble with J >= 1: the reference cancels J - 1 terms; the difference is the size of the last
      term cancelled, taken as the bound on what is left (factor 1).
    Both weight vectors are padded to the K searched (the difference's jackknife needs K + 1 neighbours).
    """
    if k is not None and (isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1):
        msg = f"`k` must be a positive integer (the neighbour order) or None; got {k!r}."
        raise ValueError(msg)
    K, J = ensemble_plan(d, n_min)
    if fit and d >= FIT_FROM_D:
        k = default_k(d) if method == "knn" and k is None else k
        return (method, *fitted_sets(method == "knn", k, d, n_min, K, J, fit_K))
    kk = np.arange(1, max(K, 2 * (k or default_k(d))) + 2)
    # b[k - 1] = Gamma(k + a) / Gamma(k) ~ k^a: the bias's growth in k, a = min(2/d, _BIAS_EXP) (see _BIAS_EXP)
    a = min(2.0 / d, _BIAS_EXP)
    b = np.exp(gammaln(kk + a) - gammaln(kk))
    if method == "knn":
        k = default_k(d) if k is None else int(k)
        k2 = max(k + 1, min(2 * k, n_min - 1))
        # K + 1 neighbours are searched: k + 1 for the jackknife of k, k2 (+ 1 where n allows) for the reference
        Ks = max(k, k2) if n_min >= k2 + 2 else max(k, k2 - 1)
        main, ref = np.zeros(max(Ks, k2)), np.zeros(max(Ks, k2))
        main[k - 1], ref[k2 - 1] = 1.0, 1.0
        return method, main, ref, Ks, float(b[k - 1] / (b[k2 - 1] - b[k - 1]))
    if k is not None:
        K = max(1, min(int(k), n_min - 2))
        J = min(J, (K - 1) // 2)
    main = ensemble_weights(d, K, n_terms=J)
    if J > 0 or K < 2:
        return method, main, _pad(ensemble_weights(d, K, n_terms=max(J - 1, 0)), K), K, 1.0
    ref = _pad(ensemble_weights(d, K // 2, n_terms=0), K)
    return method, main, ref, K, float(main @ b[:K] / (main @ b[:K] - ref @ b[:K]))


def _pad(w: np.ndarray, K: int) -> np.ndarray:
    out = np.zeros(K)
    out[: len(w)] = w
    return out


def _trim(w: np.ndarray) -> np.ndarray:
    """Weights without trailing zeros (a single-k vector padded for the reference)."""
    nz = np.flatnonzero(w)
    return w[: nz[-1] + 1] if nz.size else w[:1]


def _check_method(method: str, allowed=METHODS) -> str:
    """The public name ('knn', 'knn-ensemble' or 'auto') of a method name; the old 'kl' / 'kl-ensemble' are accepted."""
    name = _NAMES.get(method) if isinstance(method, str) else None
    if name is None:
        msg = f"`method` must be one of {set(METHODS)}; got {method!r}."
        raise ValueError(msg)
    return name


def _interval(value: float, var: float, allowance: float, confidence: float) -> tuple[float, tuple[float, float], float]:
    """(stderr, ci, z): value +- (z * stderr + allowance), z the normal quantile for ``confidence``."""
    if not 0 < confidence < 1:
        msg = f"`confidence` must lie in (0, 1); got {confidence!r}."
        raise ValueError(msg)
    z = float(norm.ppf(0.5 + 0.5 * confidence))
    se = math.sqrt(max(var, 0.0))
    half = z * se + allowance
    return se, (value - half, value + half), z


def _allowance(factor: float, value: float, v_ref: float, var_diff: float, add: bool = False) -> float:
    """factor * max(|value - reference|, _ALLOWANCE_SE * se(value - reference)); see ``_weight_sets``.

    ``add=True`` (the fitted reference, :mod:`._knn_bias`): |value - reference| + se(value - reference), the fitted
    bias and its standard error (the bias is estimated, not bounded: its error adds to it)."""
    se_diff = math.sqrt(var_diff) if var_diff == var_diff and var_diff > 0 else 0.0
    if add:
        return factor * (abs(value - v_ref) + _ALLOWANCE_SE * se_diff)
    return factor * max(abs(value - v_ref), _ALLOWANCE_SE * se_diff)


def _cut_at_zero(ci: tuple[float, float]) -> tuple[float, float]:
    """A KL divergence is >= 0 (Gibbs' inequality): the interval is cut there; the point estimate is left as is."""
    return max(ci[0], 0.0), max(ci[1], 0.0)


_INTERVAL = "normal, delete-one jackknife stderr; half-width z * stderr + bias allowance (details['bias_allowance'])"
_CUT = "; cut at 0 (D >= 0)"


# ------------------------------------------------------------------------------------------ cores


def _entropy_parts(x, K):
    """Search once for the entropy: log-distances (n, K + 1) and neighbour indices of x in x."""
    return _search(Tree(x), x, K, True, "`x`")


def _entropy_eval(x, L, idx, w, jack=True):
    """Kozachenko-Leonenko with weights over k: (value, jackknife variance or nan, per-point terms h_i)."""
    n, d = x.shape
    K = len(w)
    a = d * (L[:, :K] @ w)
    # Kraskov, Stoegbauer & Grassberger (2004), eq. (20), with the radius and the Euclidean unit ball:
    # H = psi(n) - psi(k) + log V_d + (d/n) sum_i log rho_k(i); weighted over k as BSY (2019), eq. (3).
    c = digamma(n) - w @ digamma(np.arange(1, K + 1)) + _log_unit_ball(d)
    var = _jackknife_var([(-a + d * loo_shift(L, idx, w, n)) / (n - 1)]) if jack else math.nan
    return float(a.mean() + c), var, a + c


def _diff_var(L, idx, w, ref, n) -> float:
    """Jackknife variance of H(w) - H(ref) from one search (linear in the weights; nan if the search is too short)."""
    if max(len(w), len(ref)) >= L.shape[1]:
        return math.nan
    K = max(len(w), len(ref))
    dw = _pad(w, K) - _pad(ref, K)
    a = L[:, :K] @ dw
    return _jackknife_var([(-a + loo_shift(L, idx, dw, n)) / (n - 1)])


def _kl_eval(x, y, S, w, jack=True):
    """Wang-Kulkarni-Verdu with weights over k: (value, jackknife variance or nan)."""
    n, d = x.shape
    Lr, ir, Ln, iy, m_i = S
    m = y.shape[0]
    K = len(w)
    a = d * ((Ln[:, :K] - Lr[:, :K]) @ w)
    # WKV (2009), eq. (5), with k_i = l_i = k in their eq. (17) (the psi(l) - psi(k) term vanishes):
    # D = (d/n) sum_i log(nu_k(i) / rho_k(i)) + log(m / (n - 1)); weighted over k (sum w = 1).
    # A point of x that is also a draw in y searches the other m - 1 points of y (m_i = m - 1).
    c = float(np.log(m_i).mean()) - math.log(n - 1)
    if not jack:
        return float(a.mean() + c), math.nan
    ux = (-a - d * loo_shift(Lr, ir, w, n)) / (n - 1)
    uy = d * loo_shift(Ln, iy, w, m) / n
    return float(a.mean() + c), _jackknife_var([ux, uy])


# ------------------------------------------------------------------------------------------ public


def _method_name(method: str, d: int) -> str:
    """'auto' resolves to the ensemble: it had the least or equal RMSE in every measured d (see docs)."""
    return "knn-ensemble" if method == "auto" else method


def entropy_knn(x, *, k: int | None = None, method: str = "knn", confidence: float = 0.95, rng=None) -> Estimate:
    """Differential entropy H(p) from samples x ~ p by Kozachenko-Leonenko nearest-neighbour distances.

    Parameters
    ----------
    x : array-like, shape (n,) or (n, d)
    k : the neighbour order for ``method="knn"`` (default :func:`default_k`), or K, the largest order
        of the ensemble.
    method : ``"knn"`` (Kozachenko & Leonenko 1987, in the general-k form of Kraskov et al. 2004,
        eq. (20)), ``"knn-ensemble"`` (the weighted ensemble of Berrett, Samworth & Yuan 2019, Ann.
        Statist. 47(1), with the weights of :func:`ensemble_plan`), or ``"auto"`` (the ensemble); the
        older names ``"kl"`` / ``"kl-ensemble"`` are accepted. ``Estimate.method`` is the public name.
    confidence : nominal coverage of ``ci``.
    rng : seed or Generator; used only to dequantise tied points (seed 0 when None).

    Notes
    -----
    Bias: the estimator is consistent; for Gaussians it underestimates, more so as d grows (d = 5,
    n = 10^3: about -0.08 nats at k = 1). The interval is value +- (z stderr + B): stderr from the exact
    delete-one jackknife; B = f max(|H(main) - H(reference)|, 1 se(main - reference)), an estimate of the
    remaining bias from the same search (reference k' = 2k for "knn"; for the ensemble, the one cancelling
    one term fewer or averaging half the k's; f as in ``_weight_sets``). ``details`` holds B, f and the
    reference value. Ties: see :class:`TieWarning` (rounded data are dequantised through ``rng``; atoms
    beside a density are refused).
    """
    method = _check_method(method)
    x = as_samples(x, "x")
    n, d = x.shape
    _check_spread(x, "x")
    name, w, ref, K, factor = _weight_sets(_method_name(method, d), k, d, n)
    _check_k(n, "x", K)
    details: dict = {}

    def compute(xs, shared=None):
        L, idx = _entropy_parts(xs, K)
        v, var, _ = _entropy_eval(xs, L, idx, _trim(w))
        return v, var, _entropy_eval(xs, L, idx, _trim(ref), jack=False)[0], d * d * _diff_var(L, idx, w, ref, n)

    value, var, v_ref, var_diff = _with_ties(compute, [x], rng, details, names=("x",))
    B = _allowance(factor, value, v_ref, var_diff)
    details["reference_diff_stderr"] = math.sqrt(var_diff) if var_diff == var_diff else None
    se, ci, _ = _interval(value, var, B, confidence)
    details.update(_describe(name, _trim(w), d, B, v_ref), allowance_factor=factor)
    return Estimate(value, se, ci, name, n, confidence, _INTERVAL, "H(p)", details)


def _describe(name, w, d, B, v_ref) -> dict:
    nz = np.flatnonzero(w)
    info = {"d": d, "bias_allowance": B, "reference_estimate": v_ref}
    if name == "knn":
        info["k"] = int(nz[-1] + 1)
    else:
        info["K"] = len(w)
        info["weights"] = np.round(w, 6).tolist()
    return info


def kl_knn(x, y, *, k: int | None = None, method: str = "knn", confidence: float = 0.95, rng=None, _resolve: bool = False) -> Estimate:
    """D(p||q) from samples x ~ p, shape (n, d), and y ~ q, shape (m, d), by nearest-neighbour distances.

    Parameters
    ----------
    x, y : array-likes of shape (n,) / (n, d) and (m,) / (m, d).
    k : neighbour order for ``method="knn"`` (default :func:`default_k`), or K for the ensemble.
    method : ``"knn"`` (Wang, Kulkarni & Verdu 2009, IEEE Trans. Inf. Theory 55(5), eq. (5), general k
        as their eq. (17)), ``"knn-ensemble"`` (the same sums weighted over k = 1..K with the
        bias-cancelling weights of Berrett, Samworth & Yuan 2019; :func:`ensemble_plan`), or ``"auto"``
        (chosen from the data, below).
    confidence : nominal coverage of ``ci``.
    rng : seed or Generator; used only to dequantise tied points (seed 0 when None).

    Notes
    -----
    ``method="auto"`` (issue 21; thresholds in ``_resolution``, measured in docs/estimation-coverage.md):
    the ensemble's search also compares, for each point of p, its distance to q's sample with q's own
    spacing there (:func:`._resolution.resolution`: the share of p's points farther from their nearest
    y than that y from its 10th neighbour, against the same share for q's own points).

    1. p's excess share >= 0.5%, significant (binomial upper tail of p's count against q's share, floored at
       2^-10, below 1e-4) and >= 3 times q's own share: q's sample does not resolve q under
       p's mass and D(p||q) is not identifiable from the samples (q's tails beyond its sample could be
       anything): the k = 1 estimate (the narrowest neighbourhoods, the least shortfall: kNN reads q's
       density off the distance to q's sample edge, so it underestimates there), a one-sided interval
       (lower end, inf) and a :class:`UnresolvedWarning` naming the shares.
    2. else, in d <= 2, an excess significant at 5%, or the k = 1 estimate above the ensemble by more than
       1.5 se of their difference (the estimate falls with k: q varies over the ensemble's neighbourhoods,
       as for N(0,1) vs N(3,1), where the ensemble gave 3.19 for 4.5): single k = 1 (WKV's own choice;
       ``method="knn", k=1`` gives it again), two-sided.
    3. else whichever of the ensemble and k = 1 has the narrower interval (z se + bias allowance; both are
       built to cover): the ensemble where its bias reduction pays, k = 1 where its weights cost more variance
       than they save bias (d >= 5 at small n).

    ``details["auto"]`` says which and why; ``details["resolution"]`` holds the shares.

    Bias: for Gaussian pairs WKV underestimates, more as d grows and as k grows (d = 5, n = 10^3:
    about -0.14 nats at k = 1 for a true 0.70). The interval is value +- (z stderr + B), stderr from
    the exact two-sample delete-one jackknife; it is cut at 0 (D >= 0), the point estimate is not. In d <= 2
    B is as in :func:`entropy_knn`. From d = 3, B = |bias| + se(bias), the bias of the weights read off the
    least-squares fit of D(k) on Gamma(k + 1/d) / Gamma(k) over k = 1..K of the same search (K the ensemble's;
    for ``"knn"`` k' = 1..4k; ``method="auto"``'s k = 1 uses the ensemble's K), see :mod:`._knn_bias`:
    ``details["bias_fit"]`` holds the exponent, the range of k and the fitted bias. Coverage is measured in docs/estimation-coverage.md. Where p has heavier
    tails than q (t_5 vs N(0, 1), N(0, 4) vs N(0, 1)) every kNN estimate falls short of the truth: the
    q-neighbours of p's tail points are far and log q varies over the ball. ``method="auto"`` detects it
    (case 1 above); an explicit ``"knn"`` / ``"knn-ensemble"`` does not look.
    Ties: rounded samples are dequantised, each with its own step; points x shares exactly with
    continuous y are taken as the same draws (their own copy is left out of their y-neighbours); atoms
    beside a density are refused (:func:`._ties._dequantise`).
    """
    method = _check_method(method)
    x, y = as_samples(x, "x"), as_samples(y, "y")
    _check_dims(x, y)
    (n, d), m = x.shape, y.shape[0]
    _check_spread(x, "x")
    _check_spread(y, "y")
    if method == "auto" and k is None:
        return _kl_auto(x, y, confidence, rng)
    name, w, ref, K, factor = _weight_sets(_method_name(method, d), k, d, min(n, m + 1), fit=True)
    _check_k(n, "x", K)
    _check_k(m, "y", K, self_in_tree=False)
    details: dict = {}
    # method="auto": k = 1 from the same search, its bias fitted over the ensemble's k = 1..K (d >= 3)
    k1_sets = _weight_sets("knn", 1, d, min(n, m + 1), fit=True, fit_K=K) if _resolve else None

    def compute(xs, ys, shared=None):
        if ys is y and _has_duplicates(ys):
            # WKV never searches y within y, so its ties give no zero distance, yet they are no density either:
            # rounded y (grid) is dequantised, atoms are refused, as for x (regression: y rounded to 0.1 gave 1.84
            # for a true 0.125; 30% zeros in y gave 0.47 silently)
            raise _ZeroDistance(f"{y.shape[0] - np.unique(y, axis=0).shape[0]} row(s) of `y` repeat another row")
        # one scale for both trees: x is searched among y (x near 1 and y near 1e-155 overflowed)
        sc = scale_of(xs, ys)
        tx, ty = Tree(xs, scale=sc), Tree(ys, scale=sc)
        Lr, ir = _search(tx, xs, K, True, "`x`")
        # x's queries among y run in x's tree order too: neighbouring queries meet the same leaves of y
        Ln, iy, m_i = _cross_search(ty, xs, K, shared, "`x` (in `y`)", order=tx.order)
        S = (Lr, ir, Ln, iy, m_i)
        v, var = _kl_eval(xs, ys, S, _trim(w))
        v_ref = _kl_eval(xs, ys, S, _trim(ref), jack=False)[0]
        var_diff = math.nan
        if max(len(w), len(ref)) < Lr.shape[1]:
            Kd = max(len(w), len(ref))
            var_diff = _kl_eval(xs, ys, (Lr, ir, Ln, iy, np.ones(n)), _pad(w, Kd) - _pad(ref, Kd))[1]
        if _resolve:  # method="auto": can q's sample resolve q under p's points (after any dequantisation)?
            # the same tree of y, and x's nearest y from the search above where no point is shared
            nearest = (np.exp(Ln[:, :1]), iy[:, :1]) if shared is None or len(shared) == 0 else None
            details["resolution"] = resolution(xs, ys, tree=ty, nearest=nearest)
            if max(len(k1_sets[1]), len(k1_sets[2])) < Lr.shape[1]:  # k = 1 and its reference from this search
                details["_k1"] = (_k1_parts(xs, ys, S, k1_sets[1], k1_sets[2]), k1_sets[4], len(k1_sets[2]))
        if len(_trim(w)) > 1 and len(w) < Lr.shape[1]:  # the k = 1 estimate and se(k = 1 - main): method="auto"'s check
            e1 = _pad(np.ones(1), len(w))
            details["k1_estimate"] = _kl_eval(xs, ys, S, e1[:1], jack=False)[0]
            details["k1_minus_main_stderr"] = math.sqrt(max(_kl_eval(xs, ys, (Lr, ir, Ln, iy, np.ones(n)), e1 - w)[1], 0.0))
        return v, var, v_ref, var_diff

    try:
        value, var, v_ref, var_diff = _with_ties(compute, [x, y], rng, details, cross=True, atom_is_inf=True)
    except AtomOfP as atom:  # p has a point mass where q has a density: D = inf, explained
        warnings.warn(str(atom), AccuracyWarning, stacklevel=2)
        info = {"d": d, "atom_of_p": {"column": atom.column, "value": atom.value, "count": atom.count}, "warnings_text": str(atom)}
        return Estimate(math.inf, math.inf, (0.0, math.inf), name, (n, m), confidence, "none: an atom of p that q lacks", "D(p||q)", info)
    return _kl_result((value, var, v_ref, var_diff), name, _trim(w), factor, d, (n, m), confidence, details, len(ref))


def _kl_result(parts, name, w, factor, d, nm, confidence, details, fit_K=None) -> Estimate:
    """The Estimate of D(p||q) from (value, jackknife variance, reference value, variance of main - reference).

    From d = 3 the reference is fitted over k = 1..fit_K (:mod:`._knn_bias`): the allowance is |bias| + se(bias)."""
    value, var, v_ref, var_diff = parts
    fitted = d >= FIT_FROM_D
    B = _allowance(factor, value, v_ref, var_diff, add=fitted)
    details["reference_diff_stderr"] = math.sqrt(var_diff) if var_diff == var_diff else None
    if fitted:
        details["bias_fit"] = {"exponent": 1.0 / d, "k": [1, int(fit_K)], "bias": value - v_ref}
    se, ci, _ = _interval(value, var, B, confidence)
    details.update(_describe(name, w, d, B, v_ref), allowance_factor=factor)
    return Estimate(value, se, _cut_at_zero(ci), name, nm, confidence, _INTERVAL + _CUT, "D(p||q)", details)


def _k1_parts(xs, ys, S, w1, ref1) -> tuple[float, float, float, float]:
    """``kl_knn(method="knn", k=1)``'s (value, variance, reference value, variance of the difference) from a longer
    search (the first neighbours are the same), with the weights ``w1`` / ``ref1`` of ``_weight_sets("knn", 1, ...)``."""
    Lr, ir, Ln, iy, _ = S
    v, var = _kl_eval(xs, ys, S, _trim(w1))
    v_ref = _kl_eval(xs, ys, S, _trim(ref1), jack=False)[0]
    Kd = max(len(w1), len(ref1))
    var_diff = _kl_eval(xs, ys, (Lr, ir, Ln, iy, np.ones(xs.shape[0])), _pad(w1, Kd) - _pad(ref1, Kd))[1]
    return v, var, v_ref, var_diff


_K1_DROP_Z = 1.5  # method="auto", d <= 2: k = 1 above the ensemble by more than this many se(k = 1 - ensemble)


def _half_width(e: Estimate) -> float:
    """The half-width of a kNN interval before the cut at 0: z stderr + bias allowance."""
    return float(norm.ppf(0.5 + 0.5 * e.confidence)) * e.stderr + e.details["bias_allowance"]


def _kl_auto(x: np.ndarray, y: np.ndarray, confidence: float, rng) -> Estimate:
    """method="auto" for D(p||q) from two samples: the estimator the data call for (see :func:`kl_knn`, Notes)."""
    est = kl_knn(x, y, method="knn-ensemble", confidence=confidence, rng=rng, _resolve=True)
    if "resolution" not in est.details:  # an infinite answer (an atom of p that q lacks): nothing to choose
        return est
    parts = est.details.pop("_k1", None)
    parts, f1, fit_K = parts if parts is not None else (None, None, None)
    res = est.details["resolution"]
    drop = est.details.get("k1_estimate", est.value) - est.value
    se = est.details.get("k1_minus_main_stderr") or 0.0
    beyond = res["beyond"] and x.shape[1] <= 2
    if parts is not None:  # k = 1 from the ensemble's own search (the ties, if any, resolved there too)
        (n, d), m = x.shape, y.shape[0]
        keep = {key: est.details[key] for key in ("ties",) if key in est.details}
        k1 = _kl_result(parts, "knn", np.ones(1), f1, d, (n, m), confidence, keep, fit_K)
    else:  # samples too small for the ensemble's search to hold k = 2
        with warnings.catch_warnings():  # the ensemble's run has warned of any ties already
            warnings.simplefilter("ignore", TieWarning)
            k1 = kl_knn(x, y, k=1, method="knn", confidence=confidence, rng=rng)
    if not (res["unresolved"] or beyond or (x.shape[1] <= 2 and se > 0 and drop > _K1_DROP_Z * se)):
        # both honest by construction: take the narrower interval (z se + bias allowance). In d >= 5 at small n the
        # ensemble's weights (J = 2, K = 30) cost more variance than they remove bias: N(0, I_10) vs N(1/sqrt(10), I_10),
        # n = 10^3: RMSE 0.29 against 0.13 at k = 1 (benchmarks/coverage_estimation.py --grid)
        if _half_width(k1) < _half_width(est):
            why = f"k = 1: its interval is narrower than the ensemble's ({_half_width(k1):.3g} against {_half_width(est):.3g})"
            return replace(k1, details={**k1.details, "resolution": res, "auto": why})
        return replace(est, details={**est.details, "auto": "ensemble: q's sample resolves p's points, its interval the narrower"})
    if res["unresolved"]:
        details = {**k1.details, "resolution": res, "auto": "k = 1, one-sided: q's sample does not resolve q under p's mass"}
        warnings.warn(resolution_message(res), UnresolvedWarning, stacklevel=3)
        interval = "one-sided (lower bound, inf): " + _INTERVAL + _CUT + "; the upper end is unidentified (details['resolution'])"
        return replace(k1, ci=(k1.ci[0], math.inf), interval=interval, details=details)
    # some of p's points lie beyond q's sample, or the estimate falls with k beyond noise: q varies over the
    # ensemble's neighbourhoods (p far from q); k = 1 reads q closest to each point
    why = (
        f"k = 1: {100 * res['excess']:.2g}% more of p's points than of q's lie beyond q's spacing (binomial p = {res['p_value']:.2g})"
        if beyond
        else f"k = 1: the ensemble over k = 1..{est.details['K']} is {drop:.4g} below k = 1 ({drop / se:.1f} se), its neighbourhoods too wide"
    )
    return replace(k1, details={**k1.details, "resolution": res, "auto": why})


def _deficit_lower(value: float, se: float, B: float, z: float) -> float:
    """The lower end of JS from an interval for the deficit delta = log 2 - JS on the log scale (delta > 0).

    Near log 2 (p and q far apart) delta comes from the few points in the overlap of the two samples: its
    sampling distribution is skewed and the jackknife se shrinks with it (a draw with one point in the overlap
    shows delta and se near 0). The delta method on log delta gives delta * exp(z se / delta), which keeps
    the se relative to delta (N(0,1), N(4,1), n = 10^2: JS = 0.633, the additive interval covered 0.82 of draws,
    missing where 1-3 points fell in the overlap). It is never narrower than the additive end
    (exp(t) >= 1 + t), and equal to it to first order where delta >> se.
    """
    delta = math.log(2.0) - value
    if not delta > 0:
        return -math.inf if se > 0 else value - B
    return math.log(2.0) - (delta + B) * math.exp(min(z * se / delta, 700.0))


def js_knn(x, y, *, k: int | None = None, method: str = "auto", confidence: float = 0.95, rng=None) -> Estimate:
    """JS(p, q) = H(m) - H(p)/2 - H(q)/2, m = (p + q)/2, from samples x ~ p and y ~ q by kNN entropies.

    The larger sample is subsampled without replacement (through ``rng``) to the size n of the smaller,
    so that the pooled 2n points are a sample of m. Then
    JS = (d / 2n) sum_{z in pool} sum_k w_k [log rho_k^pool(z) - log rho_k^own(z)] + psi(2n) - psi(n),
    the Kozachenko-Leonenko estimators (Kraskov et al. 2004, eq. (20)) of the three entropies written
    point by point: the log V_d and psi(k) terms cancel. The delete-one jackknife runs over both
    groups; the interval is value +- (z se + B) (B as for KL), its lower end taken from the deficit
    log 2 - JS on the log scale where that is lower (:func:`_deficit_lower`: near log 2 the deficit rests on
    the few points in the overlap); estimate and interval are clipped to [0, log 2]. Samples sharing exact
    points without being rounded are refused (the pool would not be a sample of m).
    """
    method = _check_method(method)
    x, y = as_samples(x, "x"), as_samples(y, "y")
    _check_dims(x, y)
    _check_spread(x, "x")
    _check_spread(y, "y")
    g = _rng(rng)
    n = min(x.shape[0], y.shape[0])
    details: dict = {}
    if x.shape[0] != y.shape[0]:
        big = "x" if x.shape[0] > n else "y"
        details["subsampled"] = f"`{big}` subsampled without replacement to n = {n} points (rng)"
        x = x[np.sort(g.choice(x.shape[0], n, replace=False))] if big == "x" else x
        y = y[np.sort(g.choice(y.shape[0], n, replace=False))] if big == "y" else y
    d = x.shape[1]
    name, w, ref, K, factor = _weight_sets(_method_name(method, d), k, d, n)
    w, ref = _trim(w), _trim(ref)
    _check_k(n, "x", K)

    def compute(xs, ys, shared=None):
        if shared is not None:
            msg = (
                f"`x` and `y` share {len(shared)} point(s) exactly (e.g. row {int(shared[0])} of `x`) and are not rounded data: "
                "the kNN JS estimate needs independent samples of p and q (the pooled points must be a sample of (p + q)/2). "
                "Drop the shared points from one of the samples."
            )
            raise ValueError(msg)
        z = np.concatenate([xs, ys])
        Lz, iz = _search(Tree(z), z, K, True, "the pooled sample")
        Lx, ix = _search(Tree(xs), xs, K, True, "`x`")
        Ly, iy = _search(Tree(ys), ys, K, True, "`y`")
        Lo, io = np.concatenate([Lx, Ly]), np.concatenate([ix, iy + n])
        c = digamma(2 * n) - digamma(n)

        def terms(wv):  # per-point terms and delete-one pseudo-value shifts of the weights wv
            a = d * ((Lz[:, : len(wv)] - Lo[:, : len(wv)]) @ wv)
            return a, (-a + d * loo_shift(Lz, iz, wv, 2 * n) - d * loo_shift(Lo, io, wv, 2 * n)) / (2 * n - 1)

        a, u = terms(w)
        v_ref = float(d * ((Lz[:, : len(ref)] - Lo[:, : len(ref)]) @ ref).mean() + c)
        Kd = max(len(w), len(ref))
        var_diff = math.nan
        if Kd < Lz.shape[1]:  # jackknife of main - reference: the se floor of the allowance, as for KL and H
            ud = terms(_pad(w, Kd) - _pad(ref, Kd))[1]
            var_diff = _jackknife_var([ud[:n], ud[n:]])
        return float(a.mean() + c), _jackknife_var([u[:n], u[n:]]), v_ref, var_diff

    value, var, v_ref, var_diff = _with_ties(compute, [x, y], rng, details, cross=True)
    B = _allowance(factor, value, v_ref, var_diff)
    details["reference_diff_stderr"] = math.sqrt(var_diff) if var_diff == var_diff else None
    se, (lo, hi), z = _interval(value, var, B, confidence)
    lo = min(lo, _deficit_lower(value, se, B, z))
    clip = lambda t: min(max(t, 0.0), math.log(2.0))
    details.update(_describe(name, w, d, B, v_ref), allowance_factor=factor)
    details["unclipped"] = value
    return Estimate(
        clip(value), se, (clip(lo), clip(hi)), name, (n, n), confidence, _INTERVAL + "; clipped to [0, log 2]", "JS(p, q)", details
    )
