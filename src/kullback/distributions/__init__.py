"""KL divergence between distribution objects (scipy.stats, torch.distributions).

Order of preference (``shared/DESIGN.md``): a closed form; else a
deterministic numeric method (quadrature for 1-D densities, summation with a
tail bound for laws on the integers) accurate to 1e-6 relative; else a clear
error that points to ``kb.estimate_kl``.

scipy.stats objects give NumPy results (float64); torch.distributions objects
give tensors of the parameters' dtype and device, differentiable through the
closed forms.  A scipy and a torch object together compute in torch.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ._canonical import Dist, describe, is_distribution, log_probs
from ._closed import NoClosedForm, Ops, closed_form
from ._numeric import NumericFailure, quad_kl, sum_kl

__all__ = ["kl", "kl_of", "is_distribution", "describe", "Dist", "NUMERIC_RTOL"]

NUMERIC_RTOL = 1e-6


def _label(d: Dist) -> str:
    src = d.source
    mod = type(src).__module__ or ""
    if mod.startswith("torch"):
        return f"torch.distributions.{type(src).__name__}"
    name = getattr(getattr(src, "dist", None), "name", None) or type(src).__name__.removesuffix("_frozen")
    return f"scipy.stats.{name}"


def _sub_index(shape, batch, idx):
    """The index into an array of `shape` that broadcasting maps to `idx` of `batch`."""
    idx = idx[len(batch) - len(shape) :] if shape else ()
    return tuple(0 if s == 1 else i for s, i in zip(shape, idx))


def _numeric(P: Dist, Q: Dist, batch) -> np.ndarray:
    # a categorical law is a law on (its outcomes among) the integers: summation applies to it
    multivariate = [d for d in (P, Q) if d.event_ndim and d.family != "categorical"]
    if multivariate:
        raise TypeError(
            f"no closed form for D({_label(P)} || {_label(Q)}), and multivariate densities have no "
            "deterministic numeric method here; use kb.estimate_kl(p, q) for a Monte Carlo estimate with an error bar"
        )
    method = sum_kl if P.kind == "discrete" else quad_kl
    out = np.empty(batch)
    for idx in np.ndindex(batch):
        p = P.scalar_scipy(_sub_index(P.batch_shape, batch, idx))
        q = Q.scalar_scipy(_sub_index(Q.batch_shape, batch, idx))
        try:
            out[idx] = method(p, q, NUMERIC_RTOL)[0]
        except NumericFailure as exc:
            where = f" (batch index {idx})" if batch else ""
            raise ValueError(
                f"D({_label(P)} || {_label(Q)}) has no closed form, and the numeric method failed{where}: {exc}. "
                "The divergence may be infinite (heavy tails of p against light tails of q); "
                "use kb.estimate_kl(p, q) for a Monte Carlo estimate with an error bar"
            ) from None
    return out


def kl(p, q, *, base=None):
    """D(p || q) between two distribution objects; see the module docstring."""
    try:
        P = describe(p, "p")
        Q = describe(q, "q")
    except TypeError:
        bases = _transformed_bases(p, q)
        if bases is None:
            raise
        return kl(*bases, base=base)  # KL is invariant under a common bijection
    return kl_of(P, Q, base=base)


def kl_of(P: Dist, Q: Dist, *, base=None):
    """D(P || Q) of two recognised laws (the one description ``kl``, ``cross_entropy`` and ``js`` share)."""
    if P.kind != Q.kind:
        raise TypeError(
            f"p ({_label(P)}) is {P.kind} and q ({_label(Q)}) is {Q.kind}: the KL divergence between a mass "
            "function and a density is not defined (there is no common reference measure)"
        )
    if P.reinterpreted != Q.reinterpreted:
        raise ValueError(f"p and q are Independent over different numbers of dimensions ({P.reinterpreted} and {Q.reinterpreted})")
    P, Q = _as_univariate(P, Q), _as_univariate(Q, P)
    P, Q = _align_events(P, Q)
    if (P.family == "vonmises") != (Q.family == "vonmises"):
        raise TypeError(
            f"p ({_label(P)}) and q ({_label(Q)}): a von Mises law lives on the circle and the other on the line; "
            "their KL divergence is not defined"
        )
    try:
        np.broadcast_shapes(P.batch_shape, Q.batch_shape)
    except ValueError:
        raise ValueError(f"p and q have batch shapes {P.batch_shape} and {Q.batch_shape}, which do not broadcast") from None

    backend = "torch" if "torch" in (P.backend, Q.backend) else "numpy"
    o = Ops(backend, _widest_float(P, Q))
    Pc = _on(o, P)
    Qc = _on(o, Q)

    try:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            value = closed_form(o, Pc, Qc)
    except NoClosedForm:
        value = None
    if value is None:
        if P.requires_grad or Q.requires_grad:
            raise ValueError(
                f"D({_label(P)} || {_label(Q)}) has no closed form; its numeric value would not carry gradients. "
                "Detach the parameters to get the number, or use a pair with a closed form for a differentiable loss"
            )
        batch = tuple(np.broadcast_shapes(P.batch_shape, Q.batch_shape))
        value = o.asarray(_numeric(P, Q, batch))

    if P.reinterpreted:
        dims = tuple(range(-P.reinterpreted, 0))
        value = value.sum(dim=dims) if backend == "torch" else value.sum(axis=dims)
    if base is not None:
        value = value / math.log(base)
    if backend == "numpy":
        value = np.asarray(value, dtype=np.float64)
        return value[()] if value.ndim == 0 else value
    return value


def _transformed_bases(p, q):
    """(p.base_dist, q.base_dist) for two torch TransformedDistributions of the same type pushed
    through equal transforms (as torch's own rule), else None."""
    try:
        from torch.distributions import TransformedDistribution
    except ImportError:  # pragma: no cover - torch is optional
        return None
    if not (isinstance(p, TransformedDistribution) and type(p) is type(q)):
        return None
    if p.transforms != q.transforms or p.event_shape != q.event_shape:
        return None
    return p.base_dist, q.base_dist


def _widest_float(P: Dist, Q: Dist):
    """The torch parameter of the widest floating dtype (torch's promotion: float32 with float64
    computes in float64), or None; every parameter is computed on in that dtype."""
    floats = [v for d in (P, Q) if d.backend == "torch" for v in d.params.values() if v.is_floating_point()]
    return max(floats, key=lambda v: v.element_size(), default=None)


def _on(o, d: Dist) -> Dist:
    """d's parameters as arrays of o's backend and (torch) dtype."""
    if d.backend == o.backend and (o.backend == "numpy" or all(v.dtype == o.dtype for v in d.params.values())):
        return d
    return Dist(
        d.family,
        {k: o.asarray(v) for k, v in d.params.items()},
        o.backend,
        d.kind,
        d.batch_shape,
        d.source,
        d.event_ndim,
        d.scipy_factory,
        d.reinterpreted,
        d.name,
        d.outcomes,
    )


def _align_events(P: Dist, Q: Dist, union=False):
    """Check that multivariate/categorical p and q are over the same space; categorical laws
    with explicit outcomes (rv_discrete(values=...)) are put on the union of their outcomes,
    where a law has probability 0 at the outcomes it lacks (numpy laws; torch laws too where
    ``union``: the probabilities spread by an exact 0/1 matrix product, gradients intact)."""
    if P.family != Q.family or not P.event_ndim:
        return P, Q
    key = {"mvn": "loc", "dirichlet": "alpha", "categorical": "probs"}[P.family]
    kp, kq = P.params[key].shape[-1], Q.params[key].shape[-1]
    if P.family == "categorical" and (P.outcomes is not None or Q.outcomes is not None or (union and kp != kq)):
        op = np.arange(kp) if P.outcomes is None else np.asarray(P.outcomes)
        oq = np.arange(kq) if Q.outcomes is None else np.asarray(Q.outcomes)
        if np.array_equal(op, oq):
            return P, Q
        if "torch" in (P.backend, Q.backend) and not union:
            raise ValueError(f"p and q are categorical over different outcomes: {op.tolist()} and {oq.tolist()}")
        outcomes = np.union1d(op, oq)
        return _spread(P, op, outcomes), _spread(Q, oq, outcomes)
    if kp != kq:
        what = "dimensions" if P.family == "mvn" else "categories"
        raise ValueError(f"p and q have different numbers of {what}: {kp} and {kq}")
    return P, Q


def _spread(d: Dist, outcomes, union) -> Dist:
    """d's probabilities on the outcomes ``union`` (a superset of its own): 0 at the ones it lacks."""
    onto = np.zeros((len(outcomes), union.size))
    onto[np.arange(len(outcomes)), np.searchsorted(union, outcomes)] = 1.0
    if d.backend == "torch":
        probs = d.params["probs"]
        spread = probs @ probs.new_tensor(onto)
        return dataclasses.replace(d, params={"probs": spread, "logp": spread.log()}, outcomes=union)
    spread = np.asarray(d.params["probs"], dtype=np.float64) @ onto
    return dataclasses.replace(d, params={"probs": spread, "logp": log_probs(spread)}, outcomes=union)


def _as_univariate(d: Dist, other: Dist) -> Dist:
    """d written as a univariate law where it is one and the other law is univariate: a
    multivariate normal in one dimension is a normal; a Dirichlet over two categories is the
    beta law of its first coordinate (the simplex {(x, 1 - x)} is the interval (0, 1))."""
    if other.event_ndim or not d.event_ndim or d.family not in ("mvn", "dirichlet"):
        return d
    o = Ops(d.backend)
    if d.family == "mvn" and d.params["loc"].shape[-1] == 1:
        loc, L = d.params["loc"], d.params["scale_tril"]
        params = {"loc": loc[..., 0], "scale": o.abs(L[..., 0, 0])}
        return dataclasses.replace(d, family="normal", params=params, event_ndim=0, batch_shape=tuple(loc.shape[:-1]))
    if d.family == "dirichlet" and d.params["alpha"].shape[-1] == 2:
        alpha = d.params["alpha"]
        params = {"a": alpha[..., 0], "b": alpha[..., 1]}
        return dataclasses.replace(d, family="beta", params=params, event_ndim=0, batch_shape=tuple(alpha.shape[:-1]))
    return d
