"""The objective of a fit as a function of the unconstrained parameters u, and its minimisation.

forward, samples:  the mean negative log-likelihood -(1/n) sum log q(x_i) (= D(data||q) + H(data),
                   so its minimiser is the maximum-likelihood fit);
forward, a law:    D(target || q) by ``kb.kl`` (closed form, else its deterministic numeric path);
reverse, a law:    D(q || target) by ``kb.kl``.

A torch family is differentiated by autograd through ``kb.kl``'s closed-form gradients; a scipy
family (or a pair without a closed form) by finite differences.  Points where the objective is
infinite or undefined (outside the support, a failed quadrature) are given a large finite value so
that the line search steps back; their message is kept for the report.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.optimize import minimize

from .._warnings import AccuracyWarning

__all__ = ["Objective", "minimise"]

_BIG = 1e30  # stands in for +inf inside L-BFGS-B, whose line search then steps back
_MAXITER = 200
_GTOL = 1e-6  # converged: max |df/du_i| <= _GTOL max(1, |f|) in the unconstrained parameters


class Objective:
    """f(u) for one target, family and direction; ``last_error`` holds why a point was infinite."""

    def __init__(self, target, family, direction):
        self.target, self.family, self.direction = target, family, direction
        self.evaluations = 0
        self.last_error = None
        self.autograd = family.backend == "torch"

    def law_value(self, law):
        """The objective at a built law (a float, or a torch scalar carrying gradients)."""
        from .. import _api

        T = self.target
        if T.kind == "samples":
            if self.family.backend == "torch":
                import torch

                return -law.log_prob(torch.as_tensor(T.x, dtype=torch.float64)).mean()
            return -float(np.mean(self.family.logpdf_law(law, T.x)))
        if self.direction == "forward":
            return _api.kl(T.law, law)
        return _api.kl(law, T.law)

    def __call__(self, u) -> float:
        self.evaluations += 1
        try:
            with _quiet():
                values = self.family.values(u)
                if self.target.kind == "samples" and self.family.backend == "scipy":
                    v = -float(np.mean(self.family.logpdf(values, self.target.x)))
                else:
                    v = float(self.law_value(self.family.build(values)))
        except (ValueError, FloatingPointError, OverflowError, ZeroDivisionError, RuntimeError) as exc:
            self.last_error = str(exc)
            return math.inf
        return v if not math.isnan(v) else math.inf

    def value_and_grad(self, u):
        """(f, df/du) by autograd through the torch family's parameter maps and ``kb.kl``."""
        import torch

        self.evaluations += 1
        ut = torch.tensor(np.asarray(u, dtype=np.float64), requires_grad=True)
        fam = self.family
        kw = {k: torch.as_tensor(float(v), dtype=torch.float64) for k, v in fam.fixed.items()}
        for i, (p, b) in enumerate(zip(fam.free, fam.bijections())):
            kw[p.name] = b.forward_torch(ut[i])
        try:
            with _quiet():
                v = self.law_value(fam.source(**kw, validate_args=False))
        except ValueError as exc:
            if "closed form" in str(exc):  # no closed form: the numeric path has no gradients
                self.autograd = False
                f = self(u)
                return f, _fd_grad(self, np.asarray(u, dtype=np.float64), f)
            self.last_error = str(exc)
            return _BIG, np.zeros(len(u))
        f = float(v.detach())
        if not math.isfinite(f):
            return _BIG, np.zeros(len(u))
        (g,) = torch.autograd.grad(v, ut)
        g = g.numpy().astype(np.float64)
        if not np.all(np.isfinite(g)):
            return f, _fd_grad(self, np.asarray(u, dtype=np.float64), f)
        return f, g


class _quiet(warnings.catch_warnings):
    """Silence the RuntimeWarnings and accuracy warnings of trial points (the final answer is not silenced)."""

    def __enter__(self):
        out = super().__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", AccuracyWarning)
        self._err = np.errstate(all="ignore")
        self._err.__enter__()
        return out

    def __exit__(self, *exc):
        self._err.__exit__(*exc)
        return super().__exit__(*exc)


def _fd_grad(f, u: np.ndarray, f0: float) -> np.ndarray:
    """Forward differences, step sqrt(eps) (1 + |u|) (gradient error ~1e-8, far below the tolerance
    _GTOL); backward where the forward point is outside the support."""
    g = np.zeros_like(u)
    for i in range(u.size):
        h = 1.5e-8 * (1 + abs(u[i]))
        e = np.zeros_like(u)
        e[i] = h
        fp = f(u + e)
        if math.isfinite(fp):
            g[i] = (fp - f0) / h
            continue
        fm = f(u - e)
        if math.isfinite(fm):
            g[i] = (f0 - fm) / h
    return g


def _at_edge(objective, u, downhill) -> bool:
    """True if a step of 1e-6 relative downhill leaves the support (the objective becomes infinite)."""
    return not math.isfinite(objective(u - 1e-6 * (1 + np.abs(u)) * downhill))


def minimise(objective: Objective, u0: np.ndarray) -> dict:
    """L-BFGS-B from u0 on the unconstrained parameters; a dict of where it ended and how."""
    u0 = np.asarray(u0, dtype=np.float64)
    f0 = objective(u0)
    if u0.size == 0 or not math.isfinite(f0):
        return {
            "u": u0,
            "fun": f0,
            "success": u0.size == 0 and math.isfinite(f0),
            "nit": 0,
            "grad_norm": 0.0,
            "message": "no free parameters" if u0.size == 0 else objective.last_error,
        }

    if objective.autograd:
        fun, jac = objective.value_and_grad, True
    else:

        def fun(u):
            f = objective(u)
            if not math.isfinite(f):
                return _BIG, np.zeros(u.size)
            return f, _fd_grad(objective, u, f)

        jac = True
    # gtol as the convergence test below: a start that is already a minimum (scipy's own fit) costs one gradient
    options = {"maxiter": _MAXITER, "ftol": 1e-13, "gtol": _GTOL}
    res = minimize(fun, u0, jac=jac, method="L-BFGS-B", options=options)
    f = objective(res.x)
    g = float(np.max(np.abs(res.jac))) if res.jac is not None and res.jac.size else 0.0  # L-BFGS-B's own norm (max |g_i|)
    # converged means a vanishing gradient (L-BFGS-B often stops at a minimum found by differences
    # with a line-search complaint), or a minimum on the support's edge: one small step downhill
    # leaves the support (the uniform's and the Pareto's bounds, a shifted exponential's loc)
    small = g <= _GTOL * max(1.0, abs(f))
    edge = not small and math.isfinite(f) and _at_edge(objective, res.x, res.jac / g)
    ok = math.isfinite(f) and (small or edge)
    if ok:
        message = "converged" + (" on the edge of the support" if edge else "")
    else:
        message = (
            f"L-BFGS-B stopped before the gradient vanished ({res.message.strip()}; gradient norm {g:.3g}): the objective is flat "
            "there or the parameters run to a limit of the family; try `init=` nearer the optimum, or another family"
        )
    return {"u": np.asarray(res.x), "fun": f, "success": ok, "nit": int(res.nit), "grad_norm": g, "message": message, "edge": edge}
