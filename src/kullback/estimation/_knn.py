"""k-nearest-neighbour estimators of entropy, KL and JS divergence from continuous samples.

Every estimator here is a mean of per-point log-distance terms plus a constant; the kNN searches run on
``scipy.spatial.cKDTree`` with all cores (``workers=-1``). Each returns an :class:`Estimate` whose interval is

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

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma, gammaln
from scipy.stats import norm

from ._knn_ensemble import ensemble_weights, loo_shift
from ._result import Estimate

__all__ = ["TieWarning", "as_samples", "kl_knn", "entropy_knn", "kl_knn_vs_logq", "js_knn", "METHODS"]


class TieWarning(UserWarning):
    """Samples hold tied (duplicated) points, so nearest-neighbour distances of 0 had to be dealt with.

    What the kNN estimators do then: treat the samples as rounded continuous data and add uniform noise
    U(-h/2, h/2) per column (h = the column's smallest gap between distinct values), seeded by ``rng``;
    the estimate is that of the dequantised distributions and ``Estimate.details["ties"]`` says so.
    """


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


def _rng(rng) -> np.random.Generator:
    """A Generator from a seed / Generator; None means seed 0, so that results never depend on hidden state."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)


# ------------------------------------------------------------------------------------------ ties


class _ZeroDistance(Exception):
    """Raised inside a search when tied points make a neighbour distance 0."""


def _resolution(pooled: np.ndarray) -> np.ndarray:
    """Per column, the smallest positive gap between distinct values: the data's rounding step."""
    res = np.empty(pooled.shape[1])
    for j in range(pooled.shape[1]):
        u = np.unique(pooled[:, j])
        res[j] = np.diff(u).min() if u.size > 1 else 1.0
    return res


def _dequantise(arrays: list[np.ndarray], rng: np.random.Generator, details: dict) -> list[np.ndarray]:
    """Uniform dequantisation: add U(-h/2, h/2) noise per column, h = the data's resolution, seeded by ``rng``.

    Rounded data x = round(t / h) h are what a continuous t leaves after rounding; x + U(-h/2, h/2) has a
    density (the rounding cells spread uniformly), so the kNN estimators apply. This estimates the
    divergence/entropy of the dequantised distributions, which tends to the one of t as h -> 0.
    """
    res = _resolution(np.concatenate(arrays))
    details["ties"] = f"uniform dequantisation: added U(-h/2, h/2) noise, h = {np.round(res, 12).tolist()} per column (seeded by `rng`)"
    details["resolution"] = res.tolist()
    return [a + (rng.random(a.shape) - 0.5) * res for a in arrays]


def _with_ties(compute, arrays: list[np.ndarray], rng, details: dict, stacklevel: int = 3):
    """Run ``compute(*arrays)``; if tied points give zero distances, dequantise once (warning) and rerun."""
    try:
        return compute(*arrays)
    except _ZeroDistance as exc:
        noisy = _dequantise(arrays, _rng(rng), details)
        msg = (
            f"the samples hold tied points ({exc}), so nearest-neighbour distances were 0 and the kNN estimate would be infinite. "
            f"Treated them as rounded continuous data: {details['ties']}. Pass `rng` to vary or fix the noise; "
            "for discrete data use method='plugin'."
        )
        warnings.warn(msg, TieWarning, stacklevel=stacklevel)
        return compute(*noisy)


# ------------------------------------------------------------------------------------------ searches


def _search(tree: cKDTree, pts: np.ndarray, K: int, self_in_tree: bool, what: str):
    """log-distances and indices of the first K + 1 neighbours of each point of ``pts`` (self excluded)."""
    extra = 1 if self_in_tree else 0
    dist, idx = tree.query(pts, k=K + 1 + extra, workers=-1)
    dist, idx = dist[:, extra:], idx[:, extra:]
    if not dist[:, 0].all():
        rows = np.flatnonzero(dist[:, 0] == 0)
        msg = f"{rows.size} point(s) of {what} have a copy at distance 0, e.g. row {int(rows[0])}"
        raise _ZeroDistance(msg)
    return np.log(dist), idx


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
_ENTROPY_METHODS = ("kl", "kl-ensemble", "auto")


def default_k(d: int) -> int:
    """k of the single-k estimators ('knn', 'kl'): 5 for d <= 2, 3 for d = 3, else 1.

    Measured on the Gaussian pairs of benchmarks/coverage_estimation.py at n = 10^3 (RMSE of D(p||q)):
    in d <= 2 the variance dominates and k = 5..8 is best (d = 1: 0.034 at k = 5, 0.079 at k = 1); in
    d = 3, k = 3 (0.066) beats k = 1 (0.080); from d = 4 the bias grows with k faster than the variance
    falls (d = 4: 0.126 at k = 1, 0.143 at k = 3; d = 5: 0.155 at k = 1, 0.197 at k = 5).
    """
    return 5 if d <= 2 else 3 if d == 3 else 1


def ensemble_plan(d: int, n_min: int) -> tuple[int, int]:
    """(K, J) of the ensemble: weights over k = 1..K cancelling J leading bias terms.

    J = 0 for d <= 2 (BSY 2019 need none below d = 4; the weights then average k = 1..K: least variance),
    J = 1 for d = 3, 4 and J = 2 from d = 5 (more than BSY's floor(d/4), which targets efficiency, not
    RMSE at moderate n); K = 20 for J <= 1, 30 for J = 2; K capped by the sample size. Chosen by RMSE
    of D(p||q) on the Gaussian pairs of benchmarks/coverage_estimation.py (n = 10^3 and 10^4):
    d = 3: 0.083 / 0.025 (J = 1, K = 20) vs 0.094 / 0.038 (J = 0); d = 7: 0.181 / 0.139 (J = 2, K = 30)
    vs 0.239 / 0.183 (J = 1) and 0.250 / 0.157 (J = 3, K = 40); d = 10: 0.432 / 0.210 vs 0.501 / 0.410 at k = 1.
    """
    J = 0 if d <= 2 else 1 if d <= 4 else 2
    K = 20 if J <= 1 else 30
    K = max(1, min(K, n_min - 2))
    return K, min(J, K - 1)


def _weight_sets(method: str, k: int | None, d: int, n_min: int) -> tuple[str, np.ndarray, np.ndarray, int, float]:
    """(method, main weights, reference weights, K searched, allowance factor) for a method name.

    The bias allowance is ``factor * |estimate(main) - estimate(reference)|``. With the leading bias
    c * b(w), b(w) = sum_k w_k Gamma(k + 2/d) / Gamma(k) (BSY 2019, eq. (3); the same form for WKV), the
    bias of the main weights is that difference times b(main) / (b(ref) - b(main)) (Richardson
    extrapolation in k):
    - 'knn' / 'kl' (one k): the reference is k' = 2k (k + 1 where n is small);
    - ensemble with J = 0 (d <= 2): the reference averages k = 1..K/2;
    - ensemble with J >= 1: the reference cancels J - 1 terms; the difference is the size of the last
      term cancelled, taken as the bound on what is left (factor 1).
    """
    if k is not None and (isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1):
        msg = f"`k` must be a positive integer (the neighbour order) or None; got {k!r}."
        raise ValueError(msg)
    K, J = ensemble_plan(d, n_min)
    kk = np.arange(1, max(K, 2 * (k or 1)) + 2)
    b = np.exp(gammaln(kk + 2.0 / d) - gammaln(kk))  # b[k - 1] = Gamma(k + 2/d) / Gamma(k)
    if method in ("knn", "kl"):
        k = default_k(d) if k is None else int(k)
        k2 = max(k + 1, min(2 * k, n_min - 1))
        main, ref = np.zeros(k), np.zeros(k2)
        main[k - 1], ref[k2 - 1] = 1.0, 1.0
        # the search returns K + 1 neighbours: k + 1 for the jackknife of k, k2 for the reference's value
        return method, main, ref, max(k, k2 - 1), float(b[k - 1] / (b[k2 - 1] - b[k - 1]))
    if k is not None:
        K = max(1, min(int(k), n_min - 2))
        J = min(J, K - 1)
    main = ensemble_weights(d, K, n_terms=J)
    if J > 0 or K < 2:
        return method, main, _pad(ensemble_weights(d, K, n_terms=max(J - 1, 0)), K), K, 1.0
    ref = _pad(ensemble_weights(d, K // 2, n_terms=0), K)
    return method, main, ref, K, float(main @ b[:K] / (main @ b[:K] - ref @ b[:K]))


def _pad(w: np.ndarray, K: int) -> np.ndarray:
    out = np.zeros(K)
    out[: len(w)] = w
    return out


_ALIASES = {"knn": "kl", "knn-ensemble": "kl-ensemble"}  # entropy accepts the divergence names too


def _check_method(method: str, allowed) -> str:
    if allowed is _ENTROPY_METHODS:
        method = _ALIASES.get(method, method)
    if method not in allowed:
        msg = f"`method` must be one of {set(allowed)}; got {method!r}."
        raise ValueError(msg)
    return method


def _interval(value: float, var: float, allowance: float, confidence: float) -> tuple[float, tuple[float, float], float]:
    """(stderr, ci, z): value +- (z * stderr + allowance), z the normal quantile for ``confidence``."""
    if not 0 < confidence < 1:
        msg = f"`confidence` must lie in (0, 1); got {confidence!r}."
        raise ValueError(msg)
    z = float(norm.ppf(0.5 + 0.5 * confidence))
    se = math.sqrt(max(var, 0.0))
    half = z * se + allowance
    return se, (value - half, value + half), z


_INTERVAL = "normal, delete-one jackknife stderr; half-width z * stderr + bias allowance (details['bias_allowance'])"


# ------------------------------------------------------------------------------------------ cores


def _entropy_parts(x, K):
    """Search once for the entropy: log-distances (n, K + 1) and neighbour indices of x in x."""
    return _search(cKDTree(x), x, K, True, "`x`")


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


def _kl_eval(x, y, S, w, jack=True):
    """Wang-Kulkarni-Verdu with weights over k: (value, jackknife variance or nan)."""
    (n, d), m = x.shape, y.shape[0]
    Lr, ir, Ln, iy = S
    K = len(w)
    a = d * ((Ln[:, :K] - Lr[:, :K]) @ w)
    # WKV (2009), eq. (5), with k_i = l_i = k in their eq. (17) (the psi(l) - psi(k) term vanishes):
    # D = (d/n) sum_i log(nu_k(i) / rho_k(i)) + log(m / (n - 1)); weighted over k (sum w = 1).
    c = math.log(m / (n - 1))
    if not jack:
        return float(a.mean() + c), math.nan
    ux = (-a - d * loo_shift(Lr, ir, w, n)) / (n - 1)
    uy = d * loo_shift(Ln, iy, w, m) / n
    return float(a.mean() + c), _jackknife_var([ux, uy])


# ------------------------------------------------------------------------------------------ public


def _method_name(method: str, d: int, family: str) -> str:
    """'auto' resolves to the ensemble: it had the least or equal RMSE in every measured d (see docs)."""
    return f"{family}-ensemble" if method == "auto" else method


def entropy_knn(x, *, k: int | None = None, method: str = "kl", confidence: float = 0.95, rng=None) -> Estimate:
    """Differential entropy H(p) from samples x ~ p by Kozachenko-Leonenko nearest-neighbour distances.

    Parameters
    ----------
    x : array-like, shape (n,) or (n, d)
    k : the neighbour order for ``method="kl"`` (default :func:`default_k`), or K, the largest order
        of the ensemble.
    method : ``"kl"`` (Kozachenko & Leonenko 1987, in the general-k form of Kraskov et al. 2004,
        eq. (20)), ``"kl-ensemble"`` (the weighted ensemble of Berrett, Samworth & Yuan 2019, Ann.
        Statist. 47(1), with the weights of :func:`ensemble_plan`), or ``"auto"`` (the ensemble).
    confidence : nominal coverage of ``ci``.
    rng : seed or Generator; used only to dequantise tied points (seed 0 when None).

    Notes
    -----
    Bias: the estimator is consistent; for Gaussians it underestimates, more so as d grows (d = 5,
    n = 10^3: about -0.08 nats at k = 1). The interval is value +- (z stderr + B): stderr from the exact
    delete-one jackknife; B = f |H(main) - H(reference)|, an estimate of the remaining bias from the
    same search (reference k' = 2k for "kl"; for the ensemble, the one cancelling one term fewer or
    averaging half the k's; f as in ``_weight_sets``). ``details`` holds B, f and the reference value.
    Ties: see :class:`TieWarning` (uniform dequantisation through ``rng``).
    """
    method = _check_method(method, _ENTROPY_METHODS)
    x = as_samples(x, "x")
    n, d = x.shape
    _check_spread(x, "x")
    name, w, ref, K, factor = _weight_sets(_method_name(method, d, "kl"), k, d, n)
    _check_k(n, "x", K)
    details: dict = {}

    def compute(xs):
        L, idx = _entropy_parts(xs, K)
        v, var, _ = _entropy_eval(xs, L, idx, w)
        return v, var, _entropy_eval(xs, L, idx, ref, jack=False)[0]

    value, var, v_ref = _with_ties(compute, [x], rng, details)
    B = factor * abs(value - v_ref)
    se, ci, _ = _interval(value, var, B, confidence)
    details.update(_describe(name, w, d, B, v_ref), allowance_factor=factor)
    return Estimate(value, se, ci, name, n, confidence, _INTERVAL, "H(p)", details)


def _describe(name, w, d, B, v_ref) -> dict:
    nz = np.flatnonzero(w)
    info = {"d": d, "bias_allowance": B, "reference_estimate": v_ref}
    if name in ("knn", "kl"):
        info["k"] = int(nz[-1] + 1)
    else:
        info["K"] = len(w)
        info["weights"] = np.round(w, 6).tolist()
    return info


def kl_knn(x, y, *, k: int | None = None, method: str = "knn", confidence: float = 0.95, rng=None) -> Estimate:
    """D(p||q) from samples x ~ p, shape (n, d), and y ~ q, shape (m, d), by nearest-neighbour distances.

    Parameters
    ----------
    x, y : array-likes of shape (n,) / (n, d) and (m,) / (m, d).
    k : neighbour order for ``method="knn"`` (default :func:`default_k`), or K for the ensemble.
    method : ``"knn"`` (Wang, Kulkarni & Verdu 2009, IEEE Trans. Inf. Theory 55(5), eq. (5), general k
        as their eq. (17)), ``"knn-ensemble"`` (the same sums weighted over k = 1..K with the
        bias-cancelling weights of Berrett, Samworth & Yuan 2019; :func:`ensemble_plan`), or ``"auto"``.
    confidence : nominal coverage of ``ci``.
    rng : seed or Generator; used only to dequantise tied points (seed 0 when None).

    Notes
    -----
    Bias: for Gaussian pairs WKV underestimates, more as d grows and as k grows (d = 5, n = 10^3:
    about -0.14 nats at k = 1 for a true 0.70). The interval is value +- (z stderr + B), stderr from
    the exact two-sample delete-one jackknife, B = f |D(main weights) - D(reference weights)| (see
    :func:`entropy_knn`). Coverage is measured in docs/estimation-coverage.md. Where p has heavier
    tails than q (t_5 vs N(0, 1), N(0, 4) vs N(0, 1)) the estimate falls well short of the truth and
    the interval does not cover it: the q-neighbours of p's tail points are far and log q varies
    over the ball (a limitation of kNN divergence estimators; tests/estimation/test_knn.py measures it).
    """
    _check_method(method, METHODS)
    x, y = as_samples(x, "x"), as_samples(y, "y")
    _check_dims(x, y)
    (n, d), m = x.shape, y.shape[0]
    _check_spread(x, "x")
    _check_spread(y, "y")
    name, w, ref, K, factor = _weight_sets(_method_name(method, d, "knn"), k, d, min(n, m + 1))
    _check_k(n, "x", K)
    _check_k(m, "y", K, self_in_tree=False)
    details: dict = {}

    def compute(xs, ys):
        Lr, ir = _search(cKDTree(xs), xs, K, True, "`x`")
        Ln, iy = _search(cKDTree(ys), xs, K, False, "`x` (in `y`)")
        S = (Lr, ir, Ln, iy)
        v, var = _kl_eval(xs, ys, S, w)
        return v, var, _kl_eval(xs, ys, S, ref, jack=False)[0]

    value, var, v_ref = _with_ties(compute, [x, y], rng, details)
    B = factor * abs(value - v_ref)
    se, ci, _ = _interval(value, var, B, confidence)
    details.update(_describe(name, w, d, B, v_ref), allowance_factor=factor)
    return Estimate(value, se, ci, name, (n, m), confidence, _INTERVAL, "D(p||q)", details)


def kl_knn_vs_logq(x, logq, *, k: int | None = None, method: str = "auto", confidence: float = 0.95, rng=None) -> Estimate:
    """D(p||q) = -H(p) - E_p log q(X) from samples x ~ p and log q at those samples (shape (n,)).

    H(p) by :func:`entropy_knn` (``method`` as there), E_p log q by the sample mean. Both are means
    over the same points, so the delete-one jackknife of their difference, pseudo-value by pseudo-value,
    carries their covariance (the kNN error of H and log q(x_i) are correlated through x_i).
    """
    method = _check_method(method, _ENTROPY_METHODS)
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
    _check_spread(x, "x")
    name, w, ref, K, factor = _weight_sets(_method_name(method, d, "kl"), k, d, n)
    _check_k(n, "x", K)
    if np.isneginf(lq).any():
        row = int(np.flatnonzero(np.isneginf(lq))[0])
        info = {"d": d, "outside_support_of_q": row}
        return Estimate(math.inf, math.inf, (math.inf, math.inf), name, n, confidence, "none: q is 0 at a sample of p", "D(p||q)", info)
    details: dict = {}

    def compute(xs):
        L, idx = _entropy_parts(xs, K)
        h, _, a = _entropy_eval(xs, L, idx, w)
        t = -a - lq  # per-point terms of -H - E log q (the constant sits in a)
        u = (a + lq - d * loo_shift(L, idx, w, n)) / (n - 1)
        return float(t.mean()), _jackknife_var([u]), -_entropy_eval(xs, L, idx, ref, jack=False)[0] - float(lq.mean())

    value, var, v_ref = _with_ties(compute, [x], rng, details)
    B = factor * abs(value - v_ref)
    se, ci, _ = _interval(value, var, B, confidence)
    details.update(_describe(name, w, d, B, v_ref), allowance_factor=factor)
    return Estimate(value, se, ci, name.replace("kl", "knn-entropy", 1), n, confidence, _INTERVAL, "D(p||q)", details)


def js_knn(x, y, *, k: int | None = None, method: str = "auto", confidence: float = 0.95, rng=None) -> Estimate:
    """JS(p, q) = H(m) - H(p)/2 - H(q)/2, m = (p + q)/2, from samples x ~ p and y ~ q by kNN entropies.

    The larger sample is subsampled without replacement (through ``rng``) to the size n of the smaller,
    so that the pooled 2n points are a sample of m. Then
    JS = (d / 2n) sum_{z in pool} sum_k w_k [log rho_k^pool(z) - log rho_k^own(z)] + psi(2n) - psi(n),
    the Kozachenko-Leonenko estimators (Kraskov et al. 2004, eq. (20)) of the three entropies written
    point by point: the log V_d and psi(k) terms cancel. The delete-one jackknife runs over both
    groups; estimate and interval are clipped to [0, log 2].
    """
    _check_method(method, _ENTROPY_METHODS + METHODS)
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
    base = "kl" if method in ("kl", "knn") else "kl-ensemble"
    name, w, ref, K, factor = _weight_sets(base, k, d, n)
    _check_k(n, "x", K)

    def compute(xs, ys):
        z = np.concatenate([xs, ys])
        Lz, iz = _search(cKDTree(z), z, K, True, "the pooled sample")
        Lx, ix = _search(cKDTree(xs), xs, K, True, "`x`")
        Ly, iy = _search(cKDTree(ys), ys, K, True, "`y`")
        Lo, io = np.concatenate([Lx, Ly]), np.concatenate([ix, iy + n])
        c = digamma(2 * n) - digamma(n)
        a = d * ((Lz[:, : len(w)] - Lo[:, : len(w)]) @ w)
        u = (-a + d * loo_shift(Lz, iz, w, 2 * n) - d * loo_shift(Lo, io, w, 2 * n)) / (2 * n - 1)
        v_ref = float(d * ((Lz[:, : len(ref)] - Lo[:, : len(ref)]) @ ref).mean() + c)
        return float(a.mean() + c), _jackknife_var([u[:n], u[n:]]), v_ref

    value, var, v_ref = _with_ties(compute, [x, y], rng, details)
    B = factor * abs(value - v_ref)
    se, (lo, hi), _ = _interval(value, var, B, confidence)
    clip = lambda t: min(max(t, 0.0), math.log(2.0))
    details.update(_describe(name, w, d, B, v_ref), allowance_factor=factor)
    details["unclipped"] = value
    name = "knn" if name == "kl" else "knn-ensemble"
    return Estimate(
        clip(value), se, (clip(lo), clip(hi)), name, (n, n), confidence, _INTERVAL + "; clipped to [0, log 2]", "JS(p, q)", details
    )
