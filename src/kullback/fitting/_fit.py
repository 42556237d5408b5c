"""kb.fit: the member of a family that loses least information about a target.

The target is recognised once (:mod:`._target`), the family once (:mod:`._family`); the objective
(:mod:`._objective`) is minimised by L-BFGS-B over unconstrained parameters from starting values
that come from moments or scipy's own maximum-likelihood ``fit`` on (quantiles of) the target.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math

import numpy as np

from ._family import Edges, Family, _domain, family_of
from ._objective import _GTOL, Objective, _fd_grad, _quiet, minimise
from ._result import Fit
from ._target import Target, target_of

__all__ = ["fit", "fit_target", "DIRECTIONS"]

DIRECTIONS = ("forward", "reverse")
_START_POINTS = 512  # quantiles of a law (or of an empirical law's outcomes) that scipy's fit sees for starting values
_FULL_FIT = 20_000  # samples up to this size go to scipy's fit whole; larger ones as _START_POINTS quantiles


def fit(target, family, *, direction="forward", fixed=None, init=None, base=None) -> Fit:
    """Fit ``family`` to ``target`` by minimising the Kullback–Leibler divergence.

    Parameters
    ----------
    target : distribution object or array_like
        A scipy.stats frozen law (``st.rv_discrete(values=(outcomes, probs))`` for an empirical
        law), a torch distribution, or samples of shape (n,) or (n, d).
    family : scipy.stats family, str, torch.distributions class, ``"gaussian"`` or ``"meanfield"``
        The family of q: ``st.norm``, ``st.binom``, ``"gamma"``, ``torch.distributions.Normal``;
        ``"gaussian"`` (full covariance) or ``"meanfield"`` (diagonal) for multivariate targets.
    direction : {"forward", "reverse"}
        ``"forward"`` minimises D(target || q): mass-covering, and maximum likelihood from
        samples.  ``"reverse"`` minimises D(q || target): mode-seeking; it needs a law (a density
        to evaluate), and is started from several points because it can have several minima
        (all are reported in ``diagnostics["starts"]``).
    fixed : dict, optional
        Parameters held at given values, e.g. ``{"n": 10}`` for ``st.binom``.  A free integer
        parameter (binom's or betabinom's ``n``, boltzmann's ``N``) is found by its profile: the
        others are fitted at each integer value, and the best value is searched for (at most one
        free integer parameter: fix the others of ``st.hypergeom``); ``randint``'s bounds are the
        target's support; the ``loc`` of a scipy mass function is fixed at 0 unless given.
    init : dict, optional
        Starting values for some or all free parameters.
    base : float, optional
        The logarithm's base of ``kl`` (None: nats, 2: bits).

    Returns
    -------
    Fit
        ``.distribution``, ``.params``, ``.kl`` (a float when exact, a :class:`kullback.Estimate`
        when estimated from samples), ``.direction``, ``.converged`` and ``.reason``,
        ``.diagnostics``.

    Raises
    ------
    ValueError
        An unknown direction or parameter name (the message lists the family's parameters), a
        fixed value outside its domain, more than one integer parameter left free, ``"reverse"``
        from samples.
    TypeError
        A family that is not one, or a target of the wrong kind for it (a density against a mass
        function).

    Notes
    -----
    From samples, ``kl`` estimates D(data || q) = -H(data) - E log q by
    :func:`kullback.estimate_kl` (the entropy by plug-in or k-nearest neighbours, the
    cross-entropy by the sample mean, their covariance in the interval), plus k/n for the k
    parameters fitted on the same sample: the in-sample log-likelihood overstates the
    out-of-sample one by k/n per point (Akaike 1973; Konishi & Kitagawa 2008, eq. (3.95)), so that
    more flexible families are not favoured by the fit alone.

    A free integer parameter is searched by its profile (:mod:`kullback.fitting._integer`); where
    the information lost keeps falling as it grows (binom's ``n`` for data whose variance exceeds
    their mean: the limit is the Poisson law) the fit at the largest value tried is returned with
    ``converged = False`` and that reason.

    Where no member of the family covers the target's support (a Poisson for a law with mass on
    negative integers; a normal fitted in reverse to a law on [0, 1]) the answer is ``kl = inf``,
    ``converged = False`` and a ``reason`` that names the support, not an optimiser's failure.

    References
    ----------
    .. [1] Akaike, H. (1973). Information theory and an extension of the maximum likelihood
       principle. 2nd Int. Symp. on Information Theory, 267-281.
    .. [2] Bishop, C. M. (2006). Pattern Recognition and Machine Learning, sec. 10.1.2 (forward
       and reverse KL; the mean-field Gaussian).

    Examples
    --------
    The binomial law with n = 10 closest to an empirical law of counts (forward KL is maximum
    likelihood: p is the mean over n):

    >>> import numpy as np, scipy.stats as st
    >>> import kullback as kb
    >>> p = [0.02, 0.03, 0.05, 0.14, 0.16, 0.15, 0.12, 0.08, 0.10, 0.08, 0.07]
    >>> teeth = st.rv_discrete(values=(np.arange(11), p))
    >>> f = kb.fit(teeth, st.binom, fixed={"n": 10})
    >>> round(f.params["p"], 6), round(f.kl, 6), f.converged
    (0.544, 0.42735, True)
    """
    direction = _check_direction(direction)
    _check_base(base)
    _check_dict(fixed, "fixed")
    _check_dict(init, "init")
    return fit_target(target_of(target), family, direction, fixed, init, base)


def _check_dict(value, name: str):
    if value is not None and not isinstance(value, dict):
        msg = f"`{name}` must be a dict of parameter values such as {{'n': 10}}; got {value!r}"
        raise TypeError(msg)


def fit_target(T: Target, family, direction: str, fixed, init, base, sample_kl=None) -> Fit:
    """:func:`fit` of a recognised target; ``sample_kl`` (a :class:`._shared.SampleKL`) estimates D(data||q)
    from samples with the entropy shared by the families of one :func:`kullback.rank`."""
    if isinstance(family, str) and family in ("gaussian", "meanfield") and T.dim == 0:
        family = "norm"  # in one dimension both are the normal family
    if isinstance(family, str) and family in ("gaussian", "meanfield"):
        from ._gaussian import fit_gaussian

        return fit_gaussian(T, family, direction=direction, fixed=fixed, init=init, base=base)
    if T.dim:
        msg = f"`target` is {T.dim}-dimensional; fit it with family='gaussian' (full covariance) or 'meanfield' (diagonal), got {family!r}"
        raise ValueError(msg)
    fam = _randint_bounds(family_of(family, fixed), T)
    _check_kinds(T, fam)
    if T.kind == "samples" and direction == "reverse":
        msg = (
            "`direction='reverse'` minimises D(q||target), which needs the target's density; samples have none. "
            "Fit forward (maximum likelihood) or give the target as a distribution object"
        )
        raise ValueError(msg)
    integer = [p for p in fam.free if p.integer and p.name != "loc"]
    if integer:  # an integer parameter: the profile over it, the others fitted at each value (._integer)
        from ._integer import profile

        fam, opt, searched = profile(T, fam, integer, lambda f: _optimise(T, f, direction, init))
    else:
        opt, searched = _optimise(T, fam, direction, init), None
    return _finish(T, fam, direction, base, sample_kl, opt, searched)


def _optimise(T: Target, fam: Family, direction: str, init) -> dict:
    """L-BFGS-B from the start (and, in reverse, several more): every run, the best, the objective."""
    objective = Objective(T, fam, direction)
    start = _start(T, fam, init, objective)
    with _one_blas_thread():
        runs = [_run(objective, fam, u0) for u0 in _starts(T, fam, start, direction)]
        if not any(math.isfinite(r["fun"]) for r in runs):  # the start is outside the support: try around it
            runs += [_run(objective, fam, u0) for u0 in _perturbed(start)]
        best = min(runs, key=lambda r: (not math.isfinite(r["fun"]), not r["success"], r["fun"]))
        opt = {"objective": objective, "start": start, "runs": runs, "best": best, "fun": best["fun"], "family": fam}
        return _on_the_edge(T, direction, opt)


_GAP0 = 1e-3  # the edge-anchored run starts with q's support ends at least this many of q's scales beyond the target's
_SNAP = 14.0  # ... and ends with each small gap tried e^-14 ~ 1e-6 times as wide, kept if the objective is no higher
_NEAR = 100  # fresh L-BFGS-B runs where the previous one stopped within this factor of the gradient tolerance ...
_RESTARTS = 3  # ... at most this many


def _on_the_edge(T: Target, direction: str, opt: dict) -> dict:
    """Where L-BFGS-B stopped short (the gradient did not vanish) on a family whose support has a finite end, once more
    with loc (and scale) as log-gaps to the target's ends (:class:`._family.Edges`): a maximum of the likelihood on the
    support's edge (a Pareto's loc + scale = min x, a uniform's ends), which the first run could only approach through
    steps that met the infinite objective beyond it (Pareto samples at n = 10^5: stopped 4e-5 short, at a gradient of
    3), is then a vanishing gradient, in every direction, at a gap that shrinks toward 0: the KKT point of the edge.
    A first run "converged on the edge" (a step downhill leaves the support) is checked so too: that test cannot see a
    gradient along the edge (beta on left-Gumbel data at n = 10^5 stayed at its start, a uniform over the data).
    The anchored run is taken where it ends lower (or, after a failed first run, no higher); it joins the runs."""
    fam, best = opt["family"], opt["best"]
    if direction != "forward" or (best["success"] and not best.get("edge")) or not math.isfinite(best["fun"]):
        return opt
    values = fam.values(best["u"])
    anchored = _anchored(T, fam, values)
    if anchored is None:
        return opt
    objective = Objective(T, anchored, direction)
    unit = values.get("scale", 1.0)  # q's own scale: the range of heavy-tailed data is no measure of a gap
    if best["success"] and _kkt(objective, anchored, values, unit):
        return opt
    run = _edge_run(objective, anchored, anchored.unconstrained(values, min_gap=_GAP0 * unit), unit)
    runs = opt["runs"] + [run]
    tol = 1e-9 * (1.0 + abs(best["fun"]))
    if best["success"]:  # the first run's edge stands unless this one finds lower ground
        taken = run["fun"] < best["fun"] - 1e3 * tol
    else:
        taken = run["fun"] <= best["fun"] + tol or run["success"] and run["fun"] <= best["fun"] + 1e3 * tol
    if not taken or T.kind == "samples" and _unbounded_at_edge(anchored, anchored.values(run["u"])):
        return {**opt, "runs": runs}
    return {**opt, "objective": objective, "family": anchored, "runs": runs, "best": run, "fun": run["fun"]}


def _unbounded_at_edge(anchored: Family, values: dict) -> bool:
    """Whether q's density is infinite at an anchored end (a beta's a < 1, a gamma's or Weibull's shape < 1): there the
    likelihood of samples grows without bound as the gap closes (Cheng & Amin 1983), and the anchored run only chases
    it (beta on uniform data: a = 0.92, b = 0.96 at gaps of 1e-12, a lower objective than the uniform's, not a better
    fit).  (D(target||q) from a law with a finite density stays bounded: no such run is refused there.)"""
    with _quiet():
        law = anchored.build(values)
        ends = [e for e, edge in zip(law.support(), (anchored.edges.lo, anchored.edges.hi)) if edge is not None]
        return any(float(law.logpdf(e)) > 700.0 for e in ends if math.isfinite(e))  # +inf, or all but (density 0: -inf)


def _kkt(objective, anchored: Family, values: dict, unit: float) -> bool:
    """Whether these values satisfy the KKT conditions of the edge in the anchored coordinates: the gradient vanishes
    along the edge (every coordinate but the small gaps), and widening a small gap does not lower the objective."""
    u = anchored.unconstrained(values)
    f0 = objective(u)
    if not math.isfinite(f0):
        return False
    g, tol = _fd_grad(objective, u, f0), _GTOL * max(1.0, abs(f0))
    gaps = anchored._gaps(values)
    for i, p in enumerate(anchored.free):
        if p.name in gaps and gaps[p.name] <= 1e-4 * unit:
            v = u.copy()
            v[i] = math.log(max(gaps[p.name], 0.0) + 1e-6 * unit)
            if objective(v) < f0 - 1e-12 * (1.0 + abs(f0)):
                return False
        elif abs(g[i]) > tol:
            return False
    return True


def _edge_run(objective, anchored: Family, u0: np.ndarray, unit: float) -> dict:
    """L-BFGS-B in the anchored coordinates from u0, afresh where it stopped by ftol near the tolerance (the edge's
    narrow valley: the Pareto's b against its scale, a gradient of 2e-6 for a tolerance of 1e-6), then each small
    gap narrowed by e^-_SNAP where that is no worse (the objective's excess over the edge is ~ the tolerance times the
    gap's log-coordinate slope, 1e-6 nats: narrowed, ~1e-12)."""
    run = _run(objective, anchored, u0)
    for _ in range(_RESTARTS):
        if run["success"] or not math.isfinite(run["fun"]) or run["grad_norm"] > _NEAR * _GTOL * max(1.0, abs(run["fun"])):
            break
        again = _run(objective, anchored, run["u"])
        if not again["fun"] <= run["fun"]:
            break
        again["start"], again["nit"] = run["start"], run["nit"] + again["nit"]
        run = again
    if not (run["success"] and math.isfinite(run["fun"])):
        return run
    names = [p.name for p in anchored.free]
    for name, gap in anchored._gaps(anchored.values(run["u"])).items():
        if gap <= 1e-4 * unit:
            u = run["u"].copy()
            u[names.index(name)] -= _SNAP
            f = objective(u)
            if math.isfinite(f) and f <= run["fun"]:  # finite: a density infinite at its end (beta a < 1) gives -inf there
                run.update(u=u, fun=f, params=_as_floats(anchored, anchored.values(u)))
    gaps = anchored._gaps(anchored.values(run["u"]))
    run["edge_gaps"] = gaps
    if min(gaps.values()) <= 1e-4 * unit:
        run["message"] = (
            "converged on the edge of the support (q's end " + ", ".join(f"{g:.3g}" for g in gaps.values()) + " beyond the target's)"
        )
    return run


def _anchored(T: Target, fam: Family, values: dict):
    """``fam`` with loc (and scale) anchored to the target's finite support ends where q's are finite at these shapes
    (a scipy density with free loc; both ends only with scale free), else None."""
    names = {p.name for p in fam.free}
    if fam.backend != "scipy" or fam.kind != "continuous" or "loc" not in names:
        return None
    with _quiet():
        a, b = fam.standard_support(values)
    lo, hi = T.support()
    use_lo, use_hi = math.isfinite(a) and math.isfinite(lo), math.isfinite(b) and math.isfinite(hi)
    if use_lo and use_hi and "scale" not in names:  # loc alone moves both ends: anchor the lower one
        use_hi = False
    if not (use_lo or use_hi):
        return None
    return dataclasses.replace(fam, edges=Edges(lo if use_lo else None, hi if use_hi else None))


def _finish(T: Target, fam: Family, direction: str, base, sample_kl, opt: dict, searched) -> Fit:
    """The Fit at the best run: its law, its divergence (exact or estimated), and why it is not to be trusted, if so."""
    objective, best = opt["objective"], opt["best"]
    diagnostics = _diagnostics(objective, opt["runs"], best)
    if searched is not None:
        diagnostics["integer_profile"] = searched
    if not math.isfinite(best["fun"]):
        values = fam.values(opt["start"])
        reason = _support_reason(T, fam, values, direction, objective.last_error)
        diagnostics["method"] = "support check"
        return Fit(fam.build(values), _as_floats(fam, values), math.inf, direction, False, reason, fam.name, diagnostics, base)
    fam = opt.get("family", fam)  # the edge-anchored family, where its run was taken
    values = fam.values(best["u"])
    law = fam.build(values)
    kl = _kl_at(T, fam, law, direction, base, sample_kl)
    reason = None if best["success"] else best["message"]
    runaway = _runaway(objective, fam, best) if best["success"] else None  # else the optimiser's own reason stands
    if runaway:
        diagnostics["runaway"] = runaway
        reason = (
            f"the information lost does not rise as {runaway}: the best fit lies at the edge of {fam.name}'s domain (a limiting "
            "law, not a member of the family); the parameters returned are where the optimiser stopped"
        )
    if searched is not None and searched.get("reason"):
        reason = searched["reason"]
    if _is_inf(kl):
        reason = _support_reason(T, fam, values, direction, objective.last_error)
    ok = best["success"] and not _is_inf(kl) and not (searched or {}).get("reason") and not runaway
    return Fit(law, _as_floats(fam, values), kl, direction, ok, reason, fam.name, diagnostics, base)


_PROBE = 2.0  # a step of the unconstrained parameter that multiplies a half-line parameter's distance to its end by e^2
_FAR = 6.0  # a shape parameter e^6 ~ 400 times farther from its end than 1 (or as close) is probed with the others refitted


def _runaway(objective, fam: Family, best: dict) -> str | None:
    """Which parameter, if any, runs to the edge of its domain: the objective does not rise when it moves e^2 times
    farther toward its end (the others held, then, for a shape parameter already far out, refitted), so the minimum
    is a limit of the family (a t's df -> inf: the normal; nbinom's n -> inf with p -> 1: the Poisson).  Parameters on
    the whole real line (loc) are not probed: their step would need a scale."""
    u, f = np.asarray(best["u"], dtype=np.float64), best["fun"]
    tol = 1e-10 * (1.0 + abs(f))
    values = fam.values(u)
    for i, (p, b) in enumerate(zip(fam.free, fam.bijections())):
        if p.integer or p.name in fam.anchored or not (math.isfinite(b.lo) or math.isfinite(b.hi)):
            continue  # an anchored gap at its end is the edge optimum, not a limit of the family
        out = _PROBE if u[i] > 0 or not math.isfinite(b.hi) and u[i] > -_FAR else -_PROBE  # toward the nearer end
        v = u.copy()
        v[i] += out
        moved = f"`{p.name}` goes from {b.forward(u[i]):.6g} to {b.forward(v[i]):.6g}"
        if objective(v) <= f + tol:
            return moved
        if p.name not in ("loc", "scale") and abs(u[i]) > _FAR and len(fam.free) > 1:
            held = dataclasses.replace(fam, fixed={**fam.fixed, p.name: b.forward(v[i])})
            refit = minimise(Objective(objective.target, held, objective.direction), held.unconstrained(values))
            if refit["fun"] <= f + tol:
                return moved + " (the others refitted)"
    return None


def _one_blas_thread():
    """BLAS limited to one thread while L-BFGS-B runs, where threadpoolctl is installed.

    scipy's L-BFGS-B calls LAPACK on 3x3 matrices; a multi-threaded OpenBLAS wakes its threads for
    each call, and on a loaded machine a call then took 27 ms instead of 9 us (an invgauss fit to
    10^4 points: 4.0 s in L-BFGS-B itself, 0.009 s with one thread).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is optional
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


# ---------------------------------------------------------------- checks


def _check_direction(direction) -> str:
    if direction not in DIRECTIONS:
        msg = f"`direction` must be one of {DIRECTIONS}; got {direction!r}"
        raise ValueError(msg)
    return direction


def _check_base(base):
    if base is not None and not (isinstance(base, (int, float)) and math.isfinite(base) and base > 1):
        msg = f"`base` must be None (nats) or a finite number above 1 (2: bits); got {base!r}; below 1 every divergence would be negative"
        raise ValueError(msg)


def _check_kinds(T: Target, fam: Family):
    if T.kind == "distribution" and T.support_kind != fam.kind:
        what = {"continuous": "a density", "discrete": "a mass function"}
        msg = (
            f"`target` is {what[T.support_kind]} and the family {fam.name} is {what[fam.kind]}: the KL divergence "
            "between them is not defined (no common reference measure); pick a family of the target's kind"
        )
        raise TypeError(msg)
    if T.kind == "samples" and fam.kind == "continuous" and T.support_kind == "discrete":
        msg = (
            f"`target` holds integers (dtype {T.dtype}), samples of a mass function, and {fam.name} is a density: the KL "
            "divergence between them is not defined. Fit a discrete family (st.poisson, st.binom, ...), or cast the samples "
            "to float to fit a density to rounded data"
        )
        raise TypeError(msg)
    if T.kind == "samples" and fam.kind == "continuous" and np.all(T.x == T.x[0]):
        msg = f"`target` holds one repeated value ({float(T.x[0])!r}) in all {T.x.shape[0]} samples: no density fits it (scale 0)"
        raise ValueError(msg)
    if T.kind == "samples" and fam.kind == "discrete":
        frac = np.flatnonzero(T.x != np.round(T.x))
        if frac.size:
            i = int(frac[0])
            msg = f"`target` holds non-integer values (x[{i}] = {float(T.x[i])!r}), but {fam.name} is a mass function on integers"
            raise TypeError(msg)


def _randint_bounds(fam: Family, T: Target) -> Family:
    """``randint``'s free bounds from the target's support (the maximum-likelihood bounds: its range)."""
    free = {p.name for p in fam.free}
    if fam.name != "randint" or not free & {"low", "high"}:
        return fam
    lo, hi = T.support()
    if not (math.isfinite(lo) and math.isfinite(hi)):
        msg = f"`low` and `high` of randint are taken from the target's support, which is [{lo:g}, {hi:g}]; give them in `fixed`"
        raise ValueError(msg)
    fixed = {"low": math.floor(lo), "high": math.floor(hi) + 1} | fam.fixed
    return dataclasses.replace(fam, fixed=fixed)


# ---------------------------------------------------------------- starts


def _start(T: Target, fam: Family, init, objective) -> np.ndarray:
    """Unconstrained starting values: scipy's maximum-likelihood fit on the target's points, else moments."""
    values = _moment_values(T, fam)
    if fam.backend == "scipy" and fam.kind == "continuous":
        values.update(_scipy_fit(T, fam) or {})
        if not math.isfinite(objective(fam.unconstrained({**fam.fixed, **values}))):
            values = _covering(T, fam, values)
        values = _tightest(T, fam, values, objective)
    if init:
        names = [p.name for p in fam.params]
        unknown = [k for k in init if k not in names]
        if unknown:
            msg = f"`init` names {unknown}, not parameters of {fam.name}; its parameters are {names}"
            raise ValueError(msg)
        for p in fam.params:
            if p.name in init and not p.contains(init[p.name]):
                msg = f"`init` gives {p.name} = {init[p.name]!r}, outside the domain of {fam.name}'s `{p.name}` ({_domain(p)}); start inside it"
                raise ValueError(msg)
        values.update({k: float(v) for k, v in init.items()})
    for p in fam.free:
        if not p.contains(values.get(p.name, math.nan)) or values[p.name] in (p.lo, p.hi):
            values[p.name] = _inside(p)
    return fam.unconstrained(values)


def _moment_values(T: Target, fam: Family) -> dict:
    """Starting values from the target's mean and standard deviation (by name), else a point inside each domain."""
    m, s = T.mean, max(T.std, 1e-12)
    guess = {"loc": m, "scale": s, "mu": m, "rate": 1 / max(abs(m), 1e-12), "df": 10.0}
    n = fam.fixed.get("n", fam.fixed.get("total_count"))
    if fam.name in ("poisson", "Poisson"):
        guess["mu"] = guess["rate"] = max(m, 1e-6)
    elif n is not None and float(n) > 0:
        guess["p"] = guess["probs"] = min(max(m / float(n), 1e-6), 1 - 1e-6)
    elif fam.name == "nbinom" and s * s > m > 0:
        guess["p"], guess["n"] = m / (s * s), m * m / (s * s - m)
    elif fam.name in ("geom", "Geometric"):
        guess["p"] = guess["probs"] = min(max(1 / (m + (fam.name == "Geometric")), 1e-6), 1 - 1e-6)
    elif fam.name in ("bernoulli", "Bernoulli"):
        guess["p"] = guess["probs"] = min(max(m, 1e-6), 1 - 1e-6)
    return {p.name: guess.get(p.name, _inside(p)) for p in fam.free}


def _inside(p) -> float:
    lo, hi = p.lo, p.hi
    if math.isfinite(lo) and math.isfinite(hi):
        return (lo + hi) / 2
    if math.isfinite(lo):
        return lo + 1.0
    if math.isfinite(hi):
        return hi - 1.0
    return 0.0


def _scipy_fit(T: Target, fam: Family):
    """scipy's ``family.fit`` on (at most _START_POINTS quantiles of) the target's points, or None where it fails."""
    pts = T.points
    if T.law_is_empirical:  # weighted outcomes: repeat each in proportion to its probability
        pts = np.repeat(pts, np.maximum(np.round(T.weights * _START_POINTS), 0).astype(int))
    elif pts.size > _FULL_FIT:
        pts = np.quantile(pts, (np.arange(_START_POINTS) + 0.5) / _START_POINTS)
    shapes = [p.name for p in fam.params if p.name not in ("loc", "scale")]
    kw = {"f" + k: v for k, v in fam.fixed.items()}  # scipy's names for fixed values: fa, floc, fscale
    try:
        with _quiet():
            est = fam.source.fit(pts, **kw)
    except Exception:  # noqa: BLE001 - scipy's fit raises many kinds; the moments stand in
        return None
    values = dict(zip(shapes + ["loc", "scale"], (float(v) for v in est)))
    return {k: v for k, v in values.items() if k not in fam.fixed and math.isfinite(v)}


def _covering(T: Target, fam: Family, values: dict) -> dict:
    """values with loc (and scale) moved so that q's support holds the target's: a start fitted to
    quantiles (or a subsample) may end inside the target's range, where D(target||q) is infinite."""
    lo, hi = T.support()
    names = {p.name for p in fam.free}
    try:
        with _quiet():
            qlo, qhi = (float(v) for v in fam.build({**fam.fixed, **values}).support())
    except Exception:  # noqa: BLE001 - values scipy refuses: the generic starts take over
        return values
    width = (hi - lo) if math.isfinite(hi - lo) and hi > lo else 1.0
    if not qhi > qlo:  # a start so narrow that its support is one float (scipy's beta fit to 10^5 gumbel_l points):
        # its shapes are as degenerate (a = 1e8); start from the domains' middles, spread over the data
        shapes = {p.name: _inside(p) for p in fam.free if p.name not in ("loc", "scale")}
        return _spanning(fam, {**values, **shapes}, lo, hi, width) if {"loc", "scale"} <= names else values
    if "loc" in names and math.isfinite(qlo) and math.isfinite(lo) and qlo > lo - 1e-3 * width:
        shift = qlo - lo + 1e-3 * width
        values["loc"] -= shift
        qlo, qhi = qlo - shift, qhi - shift
    if "scale" in names and math.isfinite(qhi) and math.isfinite(hi) and qhi < hi + 1e-3 * width and math.isfinite(qlo):
        values["scale"] *= (hi + 1e-3 * width - qlo) / (qhi - qlo)
    return values


_EDGE = 1e-6  # a start's support edge put this fraction of the data's range beyond the data


def _tightest(T: Target, fam: Family, values: dict, objective) -> dict:
    """The start, or one with q's support edge moved to just beyond the data (loc; loc and scale where both ends are
    finite), whichever has the lower objective: where the maximum-likelihood fit sits on the edge (a Pareto's or a
    shifted exponential's loc + scale = min x), a start fitted to quantiles stops short of it, and L-BFGS-B, whose
    steps past the edge meet an infinite objective, may not get there (a Pareto at n = 10^5: 0.373 nats instead of 0.237)."""
    names = {p.name for p in fam.free}
    if "loc" not in names:
        return values
    lo, hi = T.support()
    width = (hi - lo) if math.isfinite(hi - lo) and hi > lo else 1.0
    try:
        with _quiet():
            qlo, qhi = (float(v) for v in fam.build({**fam.fixed, **values}).support())
    except Exception:  # noqa: BLE001 - values scipy refuses: keep the start
        return values
    cands = [values]
    if math.isfinite(qlo) and qlo < lo - _EDGE * width:
        cands.append({**values, "loc": values["loc"] + (lo - _EDGE * width - qlo)})
    if math.isfinite(qhi) and qhi > hi + _EDGE * width and not math.isfinite(qlo):
        cands.append({**values, "loc": values["loc"] - (qhi - hi - _EDGE * width)})
    if math.isfinite(qlo) and math.isfinite(qhi) and "scale" in names:
        cands.append(_spanning(fam, values, lo, hi, width, _EDGE))
    scored = [(objective(fam.unconstrained({**fam.fixed, **v})), i) for i, v in enumerate(cands)]
    return cands[min(scored, key=lambda t: (not math.isfinite(t[0]), t[0], t[1]))[1]]


def _spanning(fam: Family, values: dict, lo: float, hi: float, width: float, margin: float = 1e-3) -> dict:
    """loc and scale that stretch the standard law's support [a, b] (the shapes as given) over [lo, hi], a margin beside."""
    try:
        with _quiet():
            a, b = (float(v) for v in fam.build({**fam.fixed, **values, "loc": 0.0, "scale": 1.0}).support())
    except Exception:  # noqa: BLE001 - shapes scipy refuses: the generic starts take over
        return values
    if not (math.isfinite(a) and math.isfinite(b) and b > a and math.isfinite(lo) and math.isfinite(hi)):
        return values
    scale = (hi - lo + 2 * margin * width) / (b - a)
    return {**values, "scale": scale, "loc": lo - margin * width - a * scale}


def _starts(T: Target, fam: Family, start: np.ndarray, direction: str) -> list:
    """The start, and for the reverse direction several more: q's location at quantiles of the target, narrowed."""
    if direction == "forward" or start.size == 0:
        return [start]
    out = [start]
    names = [p.name for p in fam.free]
    values = fam.values(start)
    loc = next((k for k in ("loc", "mu") if k in names), None)
    if loc is not None:
        qs = np.quantile(T.points, [0.1, 0.5, 0.9]) if T.points.size > 1 else [T.mean]
        for qv in qs:
            v = dict(values)
            v[loc] = float(qv)
            if "scale" in names:
                v["scale"] = values["scale"] / 4
            out.append(fam.unconstrained(v))
    else:
        out += _perturbed(start)[:4]
    return out


def _perturbed(u: np.ndarray) -> list:
    out = []
    for i in range(u.size):
        for step in (-1.5, 1.5):
            v = u.copy()
            v[i] += step
            out.append(v)
    return out


# ---------------------------------------------------------------- the answer


def _run(objective, fam, u0) -> dict:
    r = minimise(objective, u0)
    r["start"] = _as_floats(fam, fam.values(u0))
    r["params"] = _as_floats(fam, fam.values(r["u"]))
    return r


def _diagnostics(objective: Objective, runs: list, best: dict) -> dict:
    free = objective.family.free
    grad = "none (no free parameters)" if not free else ("autograd (closed form)" if objective.autograd else "finite differences")
    starts = [
        {"start": r["start"], "params": r["params"], "objective": r["fun"], "converged": r["success"], "iterations": r["nit"]} for r in runs
    ]
    return {
        "method": "L-BFGS-B on unconstrained parameters",
        "objective": best["fun"],
        "objective_name": "mean negative log-likelihood" if objective.target.kind == "samples" else objective.direction + " KL",
        "iterations": best["nit"],
        "gradient_norm": best["grad_norm"],
        "gradient": grad,
        "message": best["message"],
        "evaluations": objective.evaluations,
        "starts": starts,
        "free": [p.name for p in free],
    }


def _kl_at(T: Target, fam: Family, law, direction: str, base, sample_kl=None):
    """The divergence at the fit: exact for a law, an Estimate (with the k/n optimism added) from samples."""
    from ..estimation._dispatch import estimate_kl

    if T.kind == "distribution":
        return exact_kl(T, law, direction, base)
    shared = sample_kl is not None and fam.kind == "continuous" and T.support_kind == "continuous"
    est = sample_kl.estimate(law) if shared else estimate_kl(T.x, law)
    return shifted(est, len(fam.free), T.x.shape[0], base)


def exact_kl(T: Target, law, direction: str, base) -> float:
    """kb.kl between the target law and q in the fit's direction, as a float in ``base``."""
    from .. import _api

    value = _api.kl(T.law, law) if direction == "forward" else _api.kl(law, T.law)
    value = float(value.detach()) if hasattr(value, "detach") else float(value)
    return value / (1.0 if base is None else math.log(base))


def shifted(est, k: int, n: int, base):
    """The estimate of D(data||q) for q fitted on the same n points: the in-sample value plus k/n
    (Akaike 1973), in ``base``; the interval's lower end stays 0 where the in-sample one was cut there."""
    scale = 1.0 if base is None else math.log(base)
    shift = k / n
    lo, hi = est.ci
    details = {**est.details, "in_sample": est.value, "optimism_correction": shift, "fitted_parameters": k}
    return dataclasses.replace(
        est,
        value=(est.value + shift) / scale,
        stderr=est.stderr / scale,
        ci=((lo + shift if lo > 0 else 0.0) / scale, (hi + shift) / scale),
        details=details,
        interval=est.interval + f", shifted by k/n = {k}/{n} (parameters fitted on the sample)",
    )


def _is_inf(kl) -> bool:
    return math.isinf(float(kl))


def _as_floats(fam: Family, values: dict) -> dict:
    """The parameters as Python numbers: integers for the family's integer parameters (a mass function's loc too)."""
    integer = {p.name for p in fam.params if p.integer}
    return {k: (int(v) if k in integer and float(v).is_integer() else float(v)) for k, v in values.items()}


def _support_reason(T: Target, fam: Family, values: dict, direction: str, error) -> str:
    """Why D is infinite for every member tried: which support is not covered, else heavier tails."""
    q = fam.build(values)
    qv = q if fam.backend == "scipy" else _scipy_view(q)
    qlo, qhi = (float(v) for v in qv.support())
    tlo, thi = T.support()
    if direction == "forward":
        if T.support_kind == "discrete" and (T.kind == "samples" or T.law_is_empirical):
            with _quiet():
                zero = T.points[np.isneginf(fam.logpdf(values, T.points))]
            if zero.size:
                shown = ", ".join(f"{v:g}" for v in np.unique(zero)[:5])
                return f"the target has mass at {shown}, where every {fam.name} tried has none: D(target||q) = inf"
        if tlo < qlo or thi > qhi:
            return f"the target lives on [{tlo:g}, {thi:g}] but {fam.name} on [{qlo:g}, {qhi:g}]: it cannot cover the target, D(target||q) = inf"
        return f"the target's tails are heavier than any {fam.name}'s: D(target||q) = inf for every member tried" + _detail(error)
    if qlo < tlo or qhi > thi:
        return f"{fam.name} puts mass on [{qlo:g}, {qhi:g}] but the target lives on [{tlo:g}, {thi:g}]: D(q||target) = inf for every member"
    return f"{fam.name}'s tails are heavier than the target's: D(q||target) = inf for every member tried" + _detail(error)


def _detail(error) -> str:
    return f" ({error})" if error else ""


def _scipy_view(law):
    from .. import distributions

    return distributions.describe(law, "q").scalar_scipy()
