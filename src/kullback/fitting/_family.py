"""A family to fit, recognised once: its parameters, their domains, and the maps that make them unconstrained.

A scipy.stats family (``st.norm``, ``st.binom``, a name such as ``"gamma"``) or a
torch.distributions class becomes a :class:`Family`: the names of its free parameters, a
bijection from R to each parameter's domain (so that L-BFGS-B runs unconstrained), the fixed
values, and a constructor of the frozen law.  Integer parameters are never moved by L-BFGS-B:
they are fixed by the caller (``fixed={"n": 10}``), searched by their profile (:mod:`._integer`)
or, for ``randint``, set from the target's support.
"""

from __future__ import annotations

import difflib
import math
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.stats as st
from scipy.special import expit, logit

__all__ = ["Family", "family_of", "Bijection", "Edges"]


@dataclass(frozen=True)
class Bijection:
    """x = lo + exp(u), hi - exp(u), lo + (hi - lo) expit(u), or u: R -> the domain (lo, hi)."""

    lo: float
    hi: float

    def forward(self, u: float) -> float:
        lo, hi = self.lo, self.hi
        if math.isfinite(lo) and math.isfinite(hi):
            return float(lo + (hi - lo) * expit(u))
        if math.isfinite(lo):
            return float(lo + math.exp(min(u, 700.0)))
        if math.isfinite(hi):
            return float(hi - math.exp(min(u, 700.0)))
        return float(u)

    def forward_torch(self, u):
        """The same map on a torch scalar (gradients flow)."""
        import torch

        lo, hi = self.lo, self.hi
        if math.isfinite(lo) and math.isfinite(hi):
            return lo + (hi - lo) * torch.sigmoid(u)
        if math.isfinite(lo):
            return lo + torch.exp(torch.clamp(u, max=700.0))
        if math.isfinite(hi):
            return hi - torch.exp(torch.clamp(u, max=700.0))
        return u

    def inverse(self, x: float) -> float:
        lo, hi = self.lo, self.hi
        if math.isfinite(lo) and math.isfinite(hi):
            t = min(max((x - lo) / (hi - lo), 1e-12), 1 - 1e-12)
            return float(logit(t))
        if math.isfinite(lo):
            return math.log(max(x - lo, 1e-300))
        if math.isfinite(hi):
            return math.log(max(hi - x, 1e-300))
        return float(x)


@dataclass(frozen=True)
class Param:
    """One parameter: its name, domain (lo, hi) with inclusive ends, and whether it is an integer."""

    name: str
    lo: float
    hi: float
    integer: bool = False
    inclusive: tuple = (False, False)

    def contains(self, value) -> bool:
        v = float(value)
        if not math.isfinite(v) and not (math.isinf(v) and ((v < 0 and self.inclusive[0]) or (v > 0 and self.inclusive[1]))):
            return False
        lo_ok = v > self.lo or (self.inclusive[0] and v == self.lo)
        hi_ok = v < self.hi or (self.inclusive[1] and v == self.hi)
        return lo_ok and hi_ok and (not self.integer or v == round(v))


@dataclass(frozen=True)
class Edges:
    """The target's support ends that anchor q's: ``lo`` (q's lower end at lo - gap) and/or ``hi`` (at hi + gap); None: free."""

    lo: float | None
    hi: float | None


@dataclass(frozen=True)
class Family:
    """A family to fit: ``build(params)`` gives the frozen law; ``free`` are the optimised parameters.

    With ``edges`` (a scipy density with free ``loc``, fitted forward where its support has a finite end), the
    coordinates of loc (and scale, where both ends are anchored) are the logarithms of the gaps between q's support
    ends and the target's, so that the edge of the feasible region (q covering the target) is at -inf: the
    optimiser reaches a maximum of the likelihood on the edge (a Pareto's, a uniform's) as a vanishing gradient,
    without meeting the infinite objective beyond it.
    """

    name: str
    backend: str  # "scipy" or "torch"
    kind: str  # "continuous" or "discrete"
    params: tuple  # of Param, in the constructor's order
    fixed: dict
    source: Any = field(repr=False)
    edges: Edges | None = None

    @property
    def free(self) -> tuple:
        return tuple(p for p in self.params if p.name not in self.fixed)

    @property
    def anchored(self) -> tuple:
        """The free parameters whose coordinate is a log-gap to the target's support edge (see ``edges``)."""
        if self.edges is None:
            return ()
        return ("loc", "scale") if self.edges.lo is not None and self.edges.hi is not None else ("loc",)

    def bijections(self) -> list:
        return [Bijection(0.0, math.inf) if p.name in self.anchored else Bijection(p.lo, p.hi) for p in self.free]

    def values(self, u) -> dict:
        """All parameters (fixed and free) as floats from the unconstrained vector u."""
        out = dict(self.fixed)
        for p, b, ui in zip(self.free, self.bijections(), u):
            out[p.name] = b.forward(float(ui))  # an anchored parameter: its gap, for now
        if self.edges is not None:
            out.update(self._from_gaps(out))
        return {p.name: out[p.name] for p in self.params}

    def unconstrained(self, values: dict, min_gap: float = 0.0) -> np.ndarray:
        """u of these values; anchored gaps below ``min_gap`` raised to it (q's support then widened, never narrowed)."""
        gaps = self._gaps(values) if self.edges is not None else {}
        return np.array(
            [
                math.log(max(gaps[p.name], min_gap, 1e-300)) if p.name in gaps else b.inverse(float(values[p.name]))
                for p, b in zip(self.free, self.bijections())
            ]
        )

    def standard_support(self, values: dict) -> tuple:
        """(a, b): the support of the scipy family at these shapes, loc 0 and scale 1 (NaN for shapes outside the domain)."""
        shapes = [float(values[p.name]) for p in self.params if p.name not in ("loc", "scale")]
        a, b = self.source.support(*shapes)
        return float(a), float(b)

    def _from_gaps(self, out: dict) -> dict:
        """loc (and scale) from the gaps held in ``out`` under their names: q's ends at lo - gap_lo, hi + gap_hi."""
        a, b = self.standard_support(out)
        lo, hi = self.edges.lo, self.edges.hi
        if lo is not None and hi is not None:
            scale = (hi - lo + out["loc"] + out["scale"]) / (b - a)
            return {"scale": scale, "loc": lo - out["loc"] - a * scale}
        if lo is not None:
            return {"loc": lo - out["loc"] - a * out["scale"]}
        return {"loc": hi + out["loc"] - b * out["scale"]}

    def _gaps(self, values: dict) -> dict:
        """The gaps (by the anchored parameters' names) of the law with these values."""
        a, b = self.standard_support(values)
        loc, scale = float(values["loc"]), float(values["scale"])
        lo, hi = self.edges.lo, self.edges.hi
        if lo is not None and hi is not None:
            return {"loc": lo - (loc + a * scale), "scale": loc + b * scale - hi}
        return {"loc": lo - (loc + a * scale) if lo is not None else loc + b * scale - hi}

    def build(self, values: dict):
        """The frozen law with these parameters (a torch distribution for a torch family)."""
        if self.backend == "torch":
            import torch

            kw = {k: torch.as_tensor(float(v), dtype=torch.float64) for k, v in values.items()}
            return self.source(**kw, validate_args=False)
        return self.source(**{k: float(v) for k, v in values.items()})

    def logpdf(self, values: dict, x) -> np.ndarray:
        """log q(x) (density or mass) at x for these parameters."""
        if self.backend == "scipy":  # the family's own method: freezing a scipy law costs ~2 ms
            kw = {k: float(v) for k, v in values.items()}
            return self.source.logpdf(x, **kw) if self.kind == "continuous" else self.source.logpmf(x, **kw)
        return self.logpdf_law(self.build(values), x)

    def logpdf_law(self, law, x) -> np.ndarray:
        """log q(x) (density or mass) of a built law at x."""
        if self.backend == "torch":
            import torch

            with torch.no_grad():
                return law.log_prob(torch.as_tensor(x, dtype=torch.float64)).numpy()
        return law.logpdf(x) if self.kind == "continuous" else law.logpmf(x)


# ---------------------------------------------------------------- recognising a family


def family_of(family, fixed) -> Family:
    """The :class:`Family` of a scipy.stats family (object or name) or a torch class, with ``fixed`` checked."""
    fixed = {} if fixed is None else dict(fixed)
    if isinstance(family, str):
        obj = getattr(st, family, None)
        if not isinstance(obj, (st.rv_continuous, st.rv_discrete)):
            known = [k for k in dir(st) if isinstance(getattr(st, k), (st.rv_continuous, st.rv_discrete))]
            close = difflib.get_close_matches(family, known + ["gaussian", "meanfield"], n=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            msg = f"`family` {family!r} is not a scipy.stats family; give e.g. st.norm, 'gamma', a torch class, or 'gaussian'.{hint}"
            raise ValueError(msg)
        family = obj
    if isinstance(family, (st.rv_continuous, st.rv_discrete)):
        fam = _scipy_family(family)
    elif _is_torch_class(family):
        fam = _torch_family(family)
    elif hasattr(family, "dist") and hasattr(family, "args"):  # a frozen scipy law
        msg = (
            f"`family` is a frozen law ({family.dist.name} with its parameters), not a family: pass st.{family.dist.name} "
            "and hold parameters with `fixed=`, or give the law as the target"
        )
        raise TypeError(msg)
    else:
        msg = (
            f"`family` must be a scipy.stats family (st.norm, st.binom, ...), its name, a torch.distributions "
            f"class, 'gaussian' or 'meanfield'; got {family!r}"
        )
        raise TypeError(msg)
    return _with_fixed(fam, fixed)


# parameters scipy marks as integers whose law is defined, and fitted, for real values
_REAL_ANYWAY = {"nbinom": {"n"}}  # the Polya law: pmf Gamma(n + k) / (Gamma(n) k!) p^n (1 - p)^k for real n > 0


def _scipy_family(dist) -> Family:
    if getattr(dist, "name", None) is None or isinstance(dist, st.rv_histogram) or type(dist).__name__ == "rv_sample":
        msg = f"`family` {dist!r} is a fixed law, not a parametric family; give it as the target, or pick a family such as st.norm"
        raise TypeError(msg)
    real = _REAL_ANYWAY.get(dist.name, set())
    params = [
        Param(s.name, float(s.domain[0]), float(s.domain[1]), bool(s.integrality) and s.name not in real, tuple(s.inclusive))
        for s in dist._shape_info()
    ]
    if isinstance(dist, st.rv_continuous):
        params += [Param("loc", -math.inf, math.inf), Param("scale", 0.0, math.inf)]
        kind = "continuous"
    else:
        params += [Param("loc", -math.inf, math.inf, integer=True)]
        kind = "discrete"
    return Family(dist.name, "scipy", kind, tuple(params), {}, dist)


def _is_torch_class(obj) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, type) and issubclass(obj, torch.distributions.Distribution)


def _torch_family(cls) -> Family:
    from torch.distributions import constraints

    names = [k for k in cls.arg_constraints if not (k == "logits" and "probs" in cls.arg_constraints)]
    params = []
    for k in names:
        c = cls.arg_constraints[k]
        lo, hi = _constraint_bounds(c, constraints)
        if lo is None:
            msg = f"the torch family {cls.__name__} has a parameter `{k}` with constraint {c!r}, which kb.fit cannot map to R"
            raise NotImplementedError(msg)
        params.append(Param(k, lo, hi, bool(c.is_discrete), (c.is_discrete, c.is_discrete)))
    kind = "discrete" if cls.support.is_discrete else "continuous"
    return Family(cls.__name__, "torch", kind, tuple(params), {}, cls)


def _constraint_bounds(c, constraints):
    """(lo, hi) of a scalar torch constraint, or (None, None) when it is not an interval of R."""
    if c is constraints.real:
        return -math.inf, math.inf
    if isinstance(c, (constraints.greater_than, constraints.greater_than_eq)):
        return float(c.lower_bound), math.inf
    if isinstance(c, (constraints.interval, constraints.half_open_interval)):
        return float(c.lower_bound), float(c.upper_bound)
    if isinstance(c, constraints.integer_interval):
        return float(c.lower_bound), float(c.upper_bound)
    if c is constraints.nonnegative_integer or isinstance(c, constraints.integer_greater_than):
        return float(getattr(c, "lower_bound", 0)), math.inf
    if c is constraints.positive_integer:
        return 1.0, math.inf
    return None, None


def _with_fixed(fam: Family, fixed: dict) -> Family:
    names = [p.name for p in fam.params]
    for k, v in fixed.items():
        if k not in names:
            msg = f"`fixed` names {k!r}, which is not a parameter of {fam.name}; its parameters are {names}"
            raise ValueError(msg)
        p = next(p for p in fam.params if p.name == k)
        if not p.contains(v):
            what = "an integer in " if p.integer else ""
            msg = f"`fixed` gives {k} = {v!r}, outside the domain of {fam.name}'s `{k}` ({what}{_domain(p)}); give a value inside it"
            raise ValueError(msg)
    if fam.backend == "scipy" and fam.kind == "discrete" and "loc" not in fixed:
        fixed = {**fixed, "loc": 0}  # a shift of a mass function is asked for by name, never fitted
    return Family(fam.name, fam.backend, fam.kind, fam.params, fixed, fam.source)


def _domain(p: Param) -> str:
    left = "[" if p.inclusive[0] else "("
    right = "]" if p.inclusive[1] else ")"
    return f"{left}{p.lo:g}, {p.hi:g}{right}"
