"""The public estimators: recognise once what the caller holds, then hand it to the estimator.

What the caller holds is one of five *kinds*: discrete samples, continuous samples, discrete or
continuous samples against a distribution object, or distribution objects.  Each quantity has one
registry, ``method name -> {kind: _Method}``; ``"auto"`` picks the method of the kind from ``AUTO``.
The estimators live in the rooms beside this one (``_plugin``, ``_knn``, ``_montecarlo``) and are
imported when first used.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from .._warnings import AccuracyWarning
from . import _access, _plugin
from ._result import Estimate

__all__ = ["estimate_kl", "estimate_entropy", "estimate_js", "KL_METHODS", "ENTROPY_METHODS", "JS_METHODS", "AUTO"]

DISCRETE = "discrete samples"
CONTINUOUS = "continuous samples"
DISCRETE_VS_DIST = "discrete samples against a distribution"
CONTINUOUS_VS_DIST = "continuous samples against a distribution"
DISTRIBUTIONS = "distribution objects"


@dataclass(frozen=True)
class _Method:
    """An estimator: ``module.func(*data, **fixed, **options)``; ``options`` are the user's keywords it takes."""

    module: str
    func: str
    fixed: dict = field(default_factory=dict)
    options: tuple = ()

    def __call__(self, *data, **options):
        f = getattr(importlib.import_module(f"kullback.estimation.{self.module}"), self.func)
        return f(*data, **self.fixed, **options)


_MC_OPTIONS = ("rng", "rtol", "atol", "max_draws", "variance_reduction")
_PLUG, _MM = {"correction": False}, {"correction": True}

KL_METHODS: dict[str, dict[str, _Method]] = {
    # plug-in on counts; on float samples it treats each distinct value as a category (asked for by name only)
    "plugin": {k: _Method("_plugin", "kl_plugin", _PLUG, ("smoothing",)) for k in (DISCRETE, CONTINUOUS)}
    | {DISCRETE_VS_DIST: _Method("_plugin", "kl_plugin_vs_logq", _PLUG)},
    "miller-madow": {k: _Method("_plugin", "kl_plugin", _MM) for k in (DISCRETE, CONTINUOUS)}
    | {DISCRETE_VS_DIST: _Method("_plugin", "kl_plugin_vs_logq", _MM)},
    # Wang, Kulkarni & Verdu (2009) and its bias-reduced ensemble (Berrett & Samworth); integers become floats
    "knn": {k: _Method("_knn", "kl_knn", {"method": "knn"}, ("k", "rng")) for k in (CONTINUOUS, DISCRETE)}
    | {CONTINUOUS_VS_DIST: _Method("_knn_logq", "kl_knn_vs_logq", {"method": "knn"}, ("k", "rng"))},
    "knn-ensemble": {k: _Method("_knn", "kl_knn", {"method": "knn-ensemble"}, ("k", "rng")) for k in (CONTINUOUS, DISCRETE)}
    | {CONTINUOUS_VS_DIST: _Method("_knn_logq", "kl_knn_vs_logq", {"method": "knn-ensemble"}, ("k", "rng"))},
    "monte-carlo": {DISTRIBUTIONS: _Method("_montecarlo", "kl_mc", {}, _MC_OPTIONS)},
}

ENTROPY_METHODS: dict[str, dict[str, _Method]] = {
    "plugin": {k: _Method("_plugin", "entropy_plugin", _PLUG, ("smoothing",)) for k in (DISCRETE, CONTINUOUS)},
    "miller-madow": {k: _Method("_plugin", "entropy_plugin", _MM) for k in (DISCRETE, CONTINUOUS)},
    # Kozachenko & Leonenko (1987)
    "knn": {k: _Method("_knn", "entropy_knn", {"method": "knn"}, ("k", "rng")) for k in (CONTINUOUS, DISCRETE)},
    "knn-ensemble": {k: _Method("_knn", "entropy_knn", {"method": "knn-ensemble"}, ("k", "rng")) for k in (CONTINUOUS, DISCRETE)},
    # Nemenman, Shafee & Bialek (2002): needs the alphabet size
    "nsb": {DISCRETE: _Method("_nsb", "entropy_nsb", {}, ("alphabet_size",))},
    "monte-carlo": {DISTRIBUTIONS: _Method("_montecarlo", "entropy_mc", {}, _MC_OPTIONS)},
}

JS_METHODS: dict[str, dict[str, _Method]] = {
    "plugin": {k: _Method("_plugin", "js_plugin", _PLUG, ("smoothing",)) for k in (DISCRETE, CONTINUOUS)},
    "miller-madow": {k: _Method("_plugin", "js_plugin", _MM) for k in (DISCRETE, CONTINUOUS)},
    "knn": {k: _Method("_knn", "js_knn", {"method": "knn"}, ("k", "rng")) for k in (CONTINUOUS, DISCRETE)},
    "knn-ensemble": {k: _Method("_knn", "js_knn", {"method": "knn-ensemble"}, ("k", "rng")) for k in (CONTINUOUS, DISCRETE)},
    "monte-carlo": {DISTRIBUTIONS: _Method("_montecarlo", "js_mc", {}, _MC_OPTIONS)},
}

# method="auto", by kind (subject to change in future versions); on continuous samples the kNN room's own
# "auto" decides, and today returns the bias-reduced ensemble ("knn-ensemble", see _knn._method_name)
AUTO = {
    DISCRETE: "miller-madow",
    CONTINUOUS: "knn-ensemble",
    DISCRETE_VS_DIST: "miller-madow",
    CONTINUOUS_VS_DIST: "knn-ensemble",
    DISTRIBUTIONS: "monte-carlo",
}
# the estimators' own names for what they did, as the registry names that ask for it again (method=)
_REGISTRY_NAME = {"kl": "knn", "kl-ensemble": "knn-ensemble", "knn-entropy": "knn", "knn-entropy-ensemble": "knn-ensemble"}
_AUTO_SMOOTHED = "plugin"  # with `smoothing`, the prior is the regularisation: no Miller-Madow on top
# on continuous samples "auto" leaves the choice of single k or ensemble to the kNN room (its method="auto");
# a `k` given asks for the single-k estimator with that k
_DEFER = {id(KL_METHODS): (CONTINUOUS, CONTINUOUS_VS_DIST), id(ENTROPY_METHODS): (CONTINUOUS,), id(JS_METHODS): (CONTINUOUS,)}
_QUANTITY = {id(KL_METHODS): "D(p||q)", id(ENTROPY_METHODS): "H(p)", id(JS_METHODS): "JS(p, q)"}


# ---------------------------------------------------------------- recognising


def _kind_of(x, name, stacklevel=4) -> str:
    """'distribution', 'discrete' or 'continuous' for one argument; TypeError for anything else."""
    if _access.is_distribution(x):
        return "distribution"
    if isinstance(x, (str, bytes, dict, set)) or _ndim(x) == 0:
        msg = (
            f"`{name}` is of type {type(x).__name__}: give samples (an array of shape (n,) or (n, d)) or a distribution "
            "object (scipy.stats frozen distribution, torch.distributions) with `rvs`/`sample`"
        )
        raise TypeError(msg)
    arr = _plugin._to_numpy(x, name)
    if arr.size == 0:
        msg = f"`{name}` is empty; give at least one sample"
        raise ValueError(msg)
    discrete = _plugin.is_discrete_samples(x)
    if discrete and arr.dtype.kind == "O" and not _plugin._is_categorical(x):
        _refuse_object_floats(arr, name)
    _check_orientation(arr, name, discrete, stacklevel + 1)
    return "discrete" if discrete else "continuous"


def _check_orientation(arr: np.ndarray, name: str, discrete: bool, stacklevel: int) -> None:
    """Samples are rows: refuse a (1, n) row and, for float samples, a (d, n) array with fewer rows than columns.

    Issue 21, item 6: shape (3, 500) was read as 3 samples in 500 dimensions without a word.  Discrete samples
    of shape (n, d), n < d, may be legitimate (count vectors of a multinomial with many categories): a warning.
    """
    if arr.ndim != 2 or arr.shape[1] <= 1:
        return
    n, d = arr.shape
    if n == 1:
        msg = (
            f"`{name}` has shape {arr.shape}: one sample of dimension {d}. If these are {d} samples of one variable, "
            f"pass a 1-D array ({name}.ravel(), shape ({d},))"
        )
        raise ValueError(msg)
    if not discrete and n < d:
        msg = (
            f"`{name}` has shape {arr.shape}: read as {n} samples in {d} dimensions, fewer samples than dimensions, where no "
            f"density can be estimated. Samples are rows: if each row is a variable and each column a sample, pass "
            f"{name}.T (shape ({d}, {n}))"
        )
        raise ValueError(msg)
    if discrete and n < d:
        msg = (
            f"`{name}` has shape {arr.shape}: read as {n} samples, each a tuple of {d} values (rows are samples). "
            f"If each row is a variable and each column a sample, pass {name}.T (shape ({d}, {n}))"
        )
        warnings.warn(msg, AccuracyWarning, stacklevel=stacklevel)


def _refuse_object_floats(arr: np.ndarray, name: str) -> None:
    """Object arrays of non-integer floats are neither clearly categories nor clearly a density: ask which."""
    flat = arr.ravel()
    head = flat[: min(flat.size, 1000)]
    is_float = [isinstance(v, (float, np.floating)) and not isinstance(v, bool) for v in head]
    if all(is_float) and any(not float(v).is_integer() for v in head if np.isfinite(float(v))):
        msg = (
            f"`{name}` has dtype object holding floats (e.g. {float(head[0])!r}); they would be counted as {flat.size} categories. "
            f"For samples of a density pass {name}.astype(float) (kNN estimators); for categories, labels (str or int)"
        )
        raise TypeError(msg)


def _ndim(x) -> int:
    """The number of dimensions of array-like x (ragged nestings count as 1)."""
    try:
        return int(np.ndim(x))
    except ValueError:
        return 1


def _pair_kind(x, y) -> str:
    """The kind of the pair (x, y) of estimate_kl / estimate_js."""
    kx, ky = _kind_of(x, "x"), _kind_of(y, "y")
    if kx == ky == "distribution":
        return DISTRIBUTIONS
    if kx == "distribution":
        msg = (
            "`x` is a distribution object but `y` holds samples; D(p||q) from a known p and samples of q would "
            "need q's density. Pass samples of p instead (e.g. p.rvs(n)) to compare two samples"
        )
        raise TypeError(msg)
    if ky == "distribution":
        return DISCRETE_VS_DIST if _access.is_discrete(y) else CONTINUOUS_VS_DIST
    return DISCRETE if kx == ky == "discrete" else CONTINUOUS if kx == ky == "continuous" else _mixed(x, y, kx, ky)


def _mixed(x, y, kx, ky) -> str:
    """Discrete against continuous samples are refused: no KL between a mass function and a density."""
    kinds = {n: np.asarray(_plugin._to_numpy(v, n)).dtype.kind for v, n in ((x, "x"), (y, "y"))}
    if all(k in "biuf" for k in kinds.values()):
        msg = (
            f"`x` holds {kx} samples (dtype kind {kinds['x']!r}) but `y` {ky} ones (dtype kind {kinds['y']!r}): "
            "D(p||q) between a mass function and a density is not defined (no common reference measure). "
            "If both are rounded measurements of continuous laws, cast both to float (x.astype(float)) for the kNN "
            "estimator; if both are counts or categories, cast both to int for the plug-in estimator on counts"
        )
        raise TypeError(msg)
    msg = f"`x` holds {kx} samples but `y` {ky} ones; both samples must take values of the same kind"
    raise TypeError(msg)


# ---------------------------------------------------------------- choosing


def _choose(table, kind, method, smoothing, k=None):
    """The registry entry for (method, kind); ValueError listing the valid names otherwise."""
    if smoothing is not None and kind == CONTINUOUS and method not in ("plugin", "miller-madow"):
        msg = (
            f"`smoothing={smoothing!r}` applies to counts of discrete samples, but these samples are floats (continuous); "
            "cast them to int to count values, or pass method='plugin' explicitly to treat each distinct float as a category"
        )
        raise ValueError(msg)
    if method == "auto" and kind in _DEFER.get(id(table), ()) and smoothing is None and k is None:
        name = AUTO[kind]
        entry = table[name][kind]
        return name, dataclasses.replace(entry, fixed=entry.fixed | {"method": "auto"})
    if method == "auto" and k is not None and kind in _DEFER.get(id(table), ()):
        method = "knn"  # a `k` given asks for the single-k estimator with that k
    if method == "auto":
        method = _AUTO_SMOOTHED if smoothing is not None and kind == DISCRETE else AUTO[kind]
    if not isinstance(method, str) or method not in table:
        msg = f"`method` must be one of {{{', '.join(repr(m) for m in ['auto', *table])}}}, not {method!r}"
        raise ValueError(msg)
    entry = table[method].get(kind)
    if entry is None:
        fits = sorted(m for m, kinds in table.items() if kind in kinds)
        msg = f"method={method!r} does not apply to {kind}; for {kind} use one of {fits} (or 'auto')"
        raise ValueError(msg)
    return method, entry


def _options(table, method, entry, kind, given: dict) -> dict:
    """The options the method takes; ValueError for one given that it does not take."""
    for opt, v in given.items():
        if v is not None and opt not in entry.options and opt != "rng":
            takes = sorted(m for m, kinds in table.items() if kind in kinds and opt in kinds[kind].options)
            where = f"on {kind} it is an option of method {takes}" if takes else f"no method on {kind} takes it"
            msg = f"`{opt}` does not apply to method={method!r}; {where}"
            raise ValueError(msg)
    return {o: given[o] for o in entry.options if given.get(o) is not None}  # None: the method's own default


def _check_confidence(confidence):
    ok = isinstance(confidence, (float, int, np.floating, np.integer)) and not isinstance(confidence, bool)
    if not (ok and 0 < confidence < 1):
        msg = f"`confidence` must be a number in (0, 1), e.g. 0.95, not {confidence!r}"
        raise ValueError(msg)
    return float(confidence)


def _check_base(base):
    """None (nats) or a finite number above 1 (2: bits), the library's rule (``_discrete_inputs._log_base``: below 1
    every divergence and entropy turns negative); the divisor log(base)."""
    ok = isinstance(base, (float, int, np.floating, np.integer)) and not isinstance(base, bool)
    if base is None:
        return 1.0
    if not (ok and np.isfinite(base) and base > 1):
        msg = f"`base` must be None (nats) or a finite number above 1 (2 for bits, 10), not {base!r}; a base below 1 would make every divergence and entropy negative"
        raise ValueError(msg)
    return math.log(base)


def _in_base(est: Estimate, scale: float, base) -> Estimate:
    """The estimate in units of log(base): value, stderr and ci divided by log(base) (details stay in nats)."""
    if base is None:
        return est
    lo, hi = est.ci
    details = {**est.details, "base": base}
    return dataclasses.replace(est, value=est.value / scale, stderr=est.stderr / scale, ci=(lo / scale, hi / scale), details=details)


def _run(table, kind, data, *, method, confidence, rng, given, base=None):
    """Choose, call, and finish: the quantity named, the warnings the estimator reported raised at the caller."""
    confidence = _check_confidence(confidence)
    scale = _check_base(base)
    _access.as_generator(rng)  # refuse a bad `rng` before any work
    name, entry = _choose(table, kind, method, given.get("smoothing"), given.get("k"))
    opts = _options(table, name, entry, kind, given | {"rng": rng})
    with warnings.catch_warnings(record=True) as caught:  # raised again in _finish, at the caller of estimate_*
        warnings.simplefilter("always")
        est = entry(*data, confidence=confidence, **opts)
    return _finish(table, name, est, caught, scale, base)


def _finish(table, name, est, caught, scale, base):
    """The Estimate as the public functions return it: the registry's method name, the table's quantity, the
    units of ``base``; the warnings the estimator reported raised again at the caller of estimate_*."""
    if not isinstance(est, Estimate):
        msg = f"internal: method {name!r} returned {type(est).__name__}, not an Estimate"
        raise RuntimeError(msg)
    done = _REGISTRY_NAME.get(est.method, est.method) or name
    if done not in table:  # an estimator's private name: report the registry entry that was called
        done = name
    base_q = _QUANTITY[id(table)]  # an estimator may qualify it (a smoothed centre), never rename it
    quantity = est.quantity if est.quantity.startswith(base_q + " (") else base_q
    est = _in_base(dataclasses.replace(est, quantity=quantity, method=done), scale, base)
    for w in caught:
        warnings.warn(w.message, w.category, stacklevel=4)  # the caller of estimate_* (_finish, _run, estimate_*)
    for msg in est.details.get("warnings", ()):
        warnings.warn(msg, AccuracyWarning, stacklevel=4)
    return est


# ---------------------------------------------------------------- samples against a distribution


def _against(kind, x, q):
    """The data a samples-vs-distribution estimator takes: (samples, log q at the samples)."""
    d = _access.event_dim(q)
    if kind == DISCRETE_VS_DIST:
        xs = _plugin.as_discrete(x, "x")
        if xs.dtype.kind not in "biuf":
            msg = f"`x` holds {xs.dtype} values, but `y` is a distribution on numbers (a mass function on integers or count vectors)"
            raise TypeError(msg)
        pts = xs
    else:
        if _plugin.is_discrete_samples(x) and _plugin.as_discrete(x, "x").dtype.kind not in "iu":
            msg = "`x` holds non-numeric values, but `y` is a continuous distribution (a density on numbers)"
            raise TypeError(msg)
        xs = importlib.import_module("kullback.estimation._knn").as_samples(x, "x")
        pts = xs[:, 0] if d == 0 and xs.shape[1] == 1 else xs
    dx = 0 if pts.ndim == 1 else pts.shape[1]
    if dx != d and not (d == 1 and dx == 0):
        msg = f"`x` has dimension {max(dx, 1)} but the distribution `y` has dimension {max(d, 1)}; they must live in the same space"
        raise ValueError(msg)
    logq = _access.log_density(q, pts)
    nan = np.flatnonzero(np.isnan(logq))
    if nan.size:  # NaN is a bug of the law (or its parameters), never an infinite answer
        i = int(nan[0])
        msg = f"the log-density of `y` is NaN at x[{i}] = {np.asarray(pts)[i].tolist()!r}; check the distribution's parameters"
        raise ValueError(msg)
    return xs, logq


# ---------------------------------------------------------------- the public functions


def estimate_kl(
    x,
    y,
    *,
    method="auto",
    rng=None,
    confidence=0.95,
    k=None,
    smoothing=None,
    rtol=None,
    atol=None,
    max_draws=None,
    variance_reduction=None,
    base=None,
) -> Estimate:
    """Estimate D(p || q) from samples of p and q, samples of p and a distribution q, or two distributions.

    Parameters
    ----------
    x : array_like or distribution
        Samples of p, shape (n,) or (n, d) — NumPy, lists, pandas, torch tensors — or a scipy.stats /
        torch.distributions object.  ``x`` is always samples, never a probability vector: for
        probability vectors use :func:`kullback.kl`.  Booleans, integers, strings, objects and
        pandas ``Categorical`` are discrete; floats are continuous.
    y : array_like or distribution
        Samples of q (of the same kind and dimension as ``x``), or a distribution object.
    method : str, optional
        ``"auto"`` (default), ``"miller-madow"``, ``"plugin"``, ``"knn"``, ``"knn-ensemble"`` or
        ``"monte-carlo"``; see Notes.
    rng : None, int or numpy.random.Generator, optional
        Randomness (Monte Carlo draws, kNN dequantisation of tied values); the same seed gives the
        same answer, and ``None`` means seed 0 for every method (a call repeated gives the same
        estimate; pass a seed or Generator to vary the draws).
    confidence : float, optional
        Nominal coverage of ``Estimate.ci``, in (0, 1).
    k : int, optional
        Neighbours for the kNN methods (default: the estimator's own choice).
    smoothing : {"jeffreys", "laplace", "perks"} or float, optional
        Pseudo-count added to every count over the union of observed values (discrete samples):
        Jeffreys 1/2, Laplace 1, Perks 1/K, or the number given.  Makes the estimate finite.
        Refused on float samples unless ``method="plugin"`` is given.
    rtol, atol, max_draws : float, float, int, optional
        Monte Carlo: draw until the standard error meets ``rtol``/``atol`` or ``max_draws`` is spent.
    variance_reduction : str, optional
        Monte Carlo design: ``"auto"`` (default: randomised quasi-Monte Carlo for 1-D laws with a
        quantile function, antithetic pairs where a pilot shows they help, control variates for
        Gaussian p) or ``"none"``; see ``kullback.estimation._montecarlo``.
    base : float, optional
        Units: ``None`` for nats (default), 2 for bits; ``value``, ``stderr`` and ``ci`` are divided
        by log(base) for every method (``details`` stay in nats, ``details["base"]`` says so).

    Returns
    -------
    Estimate
        ``.value``, ``.stderr``, ``.ci``, ``.method``, ``.n``; ``.quantity == "D(p||q)"``.

    Raises
    ------
    TypeError
        An argument that is neither samples nor a distribution; strings against numbers; integer
        (discrete) against float (continuous) samples; a distribution ``x`` with samples ``y``.
    ValueError
        Unknown ``method``, a method that does not apply to the inputs, an option it does not take,
        ``confidence`` outside (0, 1), a bad ``base``, ``smoothing`` on float samples, empty or
        non-finite samples, fewer than 2 samples for the plug-in, dimensions that differ, too few
        points for ``k``, a NaN log-density of a distribution ``y``.

    Notes
    -----
    ``method="auto"`` chooses (subject to change in future versions):

    - discrete samples against discrete samples: ``"miller-madow"``, the plug-in on counts over the
      union of observed values with its first-order bias removed; ``"plugin"`` when ``smoothing``
      is given.  The interval is normal with the delta-method variance
      Var_p[log p/q]/n + Var_q[p/q]/m plus a second-order term that keeps it honest near D = 0.
      Where ``x`` shows a value that ``y`` never does the estimate is ``inf`` (the answer of the
      plug-in), with ``ci = (0, inf)`` (the data bound D only from below by 0), the values in
      ``details["unseen_in_q"]`` and a :class:`kullback.AccuracyWarning` naming them;
      ``smoothing="jeffreys"`` gives a finite estimate instead.  The bias-corrected value may fall
      slightly below 0 where p is close to q (the interval is cut at 0).  Values are the union of
      those observed: categories a pandas ``Categorical`` declares but neither sample shows play no part.
    - continuous samples: from what the data show (rule and thresholds in
      :func:`kullback.estimation._knn.kl_knn`, measured in docs/estimation-coverage.md):
      ``"knn-ensemble"``, the bias-reduced weighted ensemble of kNN estimators (Berrett, Samworth &
      Yuan 2019) around Wang, Kulkarni & Verdu (2009), where q's sample covers p's points; single
      ``"knn"`` with k = 1 in d <= 2 where some of p's points lie beyond q's sample or the estimate
      falls with k; and where a material share of p's points lies farther from q's sample than q's
      own spacing there (p wider than q, or far from it), D(p||q) is not identifiable from the
      samples: the k = 1 value with a one-sided interval ``(lower, inf)`` (``Estimate.one_sided``) and
      a :class:`kullback.estimation.UnresolvedWarning` naming the shares.  With ``k`` given, the
      single-k ``"knn"``.  Float samples are continuous even when every value is an
      integer: nothing is guessed from the values; the kNN estimator warns about tied points.
      Pass integer dtype, or ``method="plugin"``, to count them instead.  Integer against float
      samples are refused (a mass function against a density has no KL): cast both to float for
      kNN on rounded data, or both to int for counts.  ``smoothing`` on float samples is refused
      unless ``method="plugin"`` is asked for by name.
    - samples of p against a distribution q: -H_hat(p) - mean log q(x), with the Miller-Madow
      entropy if q is discrete (``inf`` where a sample value has q = 0, named) and the
      Kozachenko-Leonenko entropy (``"knn-ensemble"``) if q has a density.
    - two distribution objects: ``"monte-carlo"``, the mean of log p - log q over draws of p.

    Every ``Estimate.method`` returned is a name ``method=`` accepts and gives the same estimate
    again.  Infinite answers, whatever the method: ``value = stderr = inf``, ``ci = (0, inf)`` and a
    :class:`kullback.AccuracyWarning` naming the point or value; a NaN log-density is an error.

    References
    ----------
    .. [1] G. A. Miller, "Note on the bias of information estimates", in Information Theory in
       Psychology, H. Quastler (ed.), 1955, pp. 95-100.
    .. [2] L. Paninski, "Estimation of entropy and mutual information", Neural Computation 15
       (2003), 1191-1253, eq. (3.3).
    .. [3] Q. Wang, S. R. Kulkarni, S. Verdu, "Divergence estimation for multidimensional
       densities via k-nearest-neighbor distances", IEEE Trans. Inf. Theory 55 (2009), 2392-2405.

    Examples
    --------
    Two samples of categorical laws, against the closed form of :func:`kullback.kl`:

    >>> import numpy as np
    >>> import kullback as kb
    >>> p, q = [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]
    >>> round(float(kb.kl(p, q)), 6)
    0.274887
    >>> rng = np.random.default_rng(0)
    >>> e = kb.estimate_kl(rng.choice(3, 100_000, p=p), rng.choice(3, 100_000, p=q))
    >>> e.method, e.quantity
    ('miller-madow', 'D(p||q)')
    >>> bool(e.ci[0] <= kb.kl(p, q) <= e.ci[1]), bool(abs(e.value - 0.274887) < 4 * e.stderr)
    (True, True)

    A value of p that q never shows:

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     e = kb.estimate_kl(["a", "b", "c"], ["a", "b", "b"])
    >>> e.value, e.details["unseen_in_q"]
    (inf, ['c'])
    """
    given = {"k": k, "smoothing": smoothing, "rtol": rtol, "atol": atol, "max_draws": max_draws, "variance_reduction": variance_reduction}
    kind = _pair_kind(x, y)
    data = _against(kind, x, y) if kind in (DISCRETE_VS_DIST, CONTINUOUS_VS_DIST) else (x, y)
    return _run(KL_METHODS, kind, data, method=method, confidence=confidence, rng=rng, given=given, base=base)


def estimate_entropy(
    x,
    *,
    method="auto",
    rng=None,
    confidence=0.95,
    k=None,
    smoothing=None,
    rtol=None,
    atol=None,
    max_draws=None,
    variance_reduction=None,
    base=None,
    alphabet_size=None,
) -> Estimate:
    """Estimate the entropy H(p) from samples of p, or of a distribution object by Monte Carlo.

    Parameters
    ----------
    x : array_like or distribution
        Samples of p, shape (n,) or (n, d) (always samples, never a probability vector: for those
        use :func:`kullback.entropy`), or a scipy.stats / torch.distributions object.
    method : str, optional
        ``"auto"`` (default), ``"miller-madow"``, ``"plugin"``, ``"nsb"``, ``"knn"``, ``"knn-ensemble"``
        or ``"monte-carlo"``.
    rng, confidence, k, smoothing, rtol, atol, max_draws, variance_reduction, base
        As for :func:`estimate_kl`.
    alphabet_size : int, optional
        For ``method="nsb"`` (and only there): the number K of values the variable can take, seen or
        not. NSB's prior is over all K probabilities and its answer depends on K.

    Returns
    -------
    Estimate
        ``.quantity == "H(p)"``; nats unless ``base``.

    Raises
    ------
    TypeError, ValueError
        As for :func:`estimate_kl`.

    Notes
    -----
    ``method="auto"`` chooses (subject to change in future versions): discrete samples
    ``"miller-madow"`` (plug-in plus (K - 1)/(2n), K the number of observed values [1]; standard
    error by the jackknife; ``"plugin"`` when ``smoothing`` is given); continuous samples
    ``"knn-ensemble"`` (the Kozachenko-Leonenko estimators weighted as Berrett, Samworth & Yuan 2019;
    ``"knn"`` with ``k`` given); a distribution ``"monte-carlo"`` (mean of -log p over draws).  A sample
    of one repeated discrete value has entropy 0 (exactly, with standard error 0).  The plug-in
    and Miller-Madow estimates are biased low where many values are unseen (K close to n) and the
    interval does not include that bias; an :class:`kullback.AccuracyWarning` says so when the
    Good-Turing unseen mass f1/n (f1 values seen once; Good 1953) exceeds 0.2.  There, if the
    alphabet size K is known, ``method="nsb"`` (Nemenman, Shafee & Bialek 2002 [2]) gives the
    posterior mean of H under a prior that is flat in H, with the posterior standard deviation as
    ``stderr`` (a Bayesian interval); it is not chosen by ``"auto"`` because samples do not carry K.

    References
    ----------
    .. [1] G. A. Miller (1955), see :func:`estimate_kl`; L. Paninski (2003), sec. 3.1.
    .. [2] I. Nemenman, F. Shafee, W. Bialek (2002), "Entropy and inference, revisited", NIPS 14;
       posterior moments of Wolpert & Wolf (1995), Phys. Rev. E 52.

    Examples
    --------
    >>> import numpy as np
    >>> import kullback as kb
    >>> p = [0.5, 0.3, 0.2]
    >>> round(float(kb.entropy(p)), 6)
    1.029653
    >>> e = kb.estimate_entropy(np.random.default_rng(1).choice(3, 50_000, p=p))
    >>> e.method, bool(abs(e.value - 1.029653) < 4 * e.stderr)
    ('miller-madow', True)
    """
    given = {"k": k, "smoothing": smoothing, "rtol": rtol, "atol": atol, "max_draws": max_draws, "variance_reduction": variance_reduction}
    given["alphabet_size"] = alphabet_size
    kind = {"distribution": DISTRIBUTIONS, "discrete": DISCRETE, "continuous": CONTINUOUS}[_kind_of(x, "x", stacklevel=3)]
    return _run(ENTROPY_METHODS, kind, (x,), method=method, confidence=confidence, rng=rng, given=given, base=base)


def estimate_js(
    x,
    y,
    *,
    method="auto",
    rng=None,
    confidence=0.95,
    k=None,
    smoothing=None,
    rtol=None,
    atol=None,
    max_draws=None,
    variance_reduction=None,
    base=None,
) -> Estimate:
    """Estimate the Jensen-Shannon divergence JS(p, q) = D(p||m)/2 + D(q||m)/2, m = (p + q)/2.

    Parameters
    ----------
    x, y : array_like or distribution
        Samples of p and q (always samples; for probability vectors use :func:`kullback.js`), or two
        distribution objects.
    method : str, optional
        ``"auto"`` (default), ``"miller-madow"``, ``"plugin"``, ``"nsb"``, ``"knn"``, ``"knn-ensemble"``
        or ``"monte-carlo"``.
    rng, confidence, k, smoothing, rtol, atol, max_draws, variance_reduction, base
        As for :func:`estimate_kl`.

    Returns
    -------
    Estimate
        ``.quantity == "JS(p, q)"``; nats, in [0, log 2] (bits, in [0, 1], with ``base=2``).

    Raises
    ------
    NotImplementedError
        Samples against a distribution object (draw samples of q instead).
    TypeError, ValueError
        As for :func:`estimate_kl`.

    Notes
    -----
    ``method="auto"`` chooses (subject to change in future versions): discrete samples
    ``"miller-madow"`` (plug-in with the mixture m_hat = (p_hat + q_hat)/2 over the union of
    observed values, first-order bias removed, delta-method interval cut to [0, log 2]; always
    finite; where values go unseen the plug-in JS is biased up, so the interval is widened to the
    coverage-adjusted (Chao & Shen 2003) JS - (z stderr + 4 abs(Miller-Madow - Chao-Shen)) below and
    + (z stderr + 2 abs(MM - CS)) above, the
    centre is the Chao-Shen value where the Good-Turing unseen mass exceeds 0.05, and a
    :class:`kullback.AccuracyWarning` says so above 0.2); continuous samples ``"knn-ensemble"`` (``"knn"`` with ``k`` given); distributions
    ``"monte-carlo"``.

    References
    ----------
    .. [1] J. Lin, "Divergence measures based on the Shannon entropy", IEEE Trans. Inf. Theory 37
       (1991), 145-151.

    Examples
    --------
    >>> import numpy as np
    >>> import kullback as kb
    >>> p, q = [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]
    >>> round(float(kb.js(p, q)), 6)
    0.066414
    >>> rng = np.random.default_rng(2)
    >>> e = kb.estimate_js(rng.choice(3, 50_000, p=p), rng.choice(3, 50_000, p=q))
    >>> e.quantity, bool(abs(e.value - 0.066414) < 4 * e.stderr)
    ('JS(p, q)', True)
    """
    given = {"k": k, "smoothing": smoothing, "rtol": rtol, "atol": atol, "max_draws": max_draws, "variance_reduction": variance_reduction}
    kind = _pair_kind(x, y)
    if kind in (DISCRETE_VS_DIST, CONTINUOUS_VS_DIST):
        msg = (
            f"estimate_js has no method for {kind} (the mixture (p + q)/2 needs p's density); "
            "draw samples of q (e.g. q.rvs(n)) and compare two samples"
        )
        raise NotImplementedError(msg)
    return _run(JS_METHODS, kind, (x, y), method=method, confidence=confidence, rng=rng, given=given, base=base)
