"""The target of :func:`kullback.vi`, recognised once: a torch log density on the unconstrained space.

``log_density`` is checked before any optimisation on a small batch of points: it must accept a
(n, dim) tensor (after ``transform``), return n finite-or-minus-infinite values that carry a
gradient, and be finite somewhere.  Evaluations are counted per point (a batch of n points is n
log-density evaluations, and n gradient evaluations when differentiated), as Pathfinder counts them.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Target", "target_of"]

_PROBE = 16  # points the log density is tried on before optimising


class Target:
    """log p(z) on R^dim: ``log_density(transform(z)) + log|det J(z)|``, with evaluation counts."""

    def __init__(self, log_density, dim: int, transform, torch):
        self.f, self.dim, self.transform, self.torch = log_density, dim, transform, torch
        self.n_density = 0
        self.n_gradient = 0
        self.checked = False  # True once the probe has passed: later errors count as NaN steps
        self.errors: list = []
        self.dtype = None  # the dtype the log density computes in, where it is not float64 (see target_of)

    def __call__(self, z, *, grad: bool):
        """log p at the rows of z (n, dim) -> (n,); counted as n evaluations (and n gradients if ``grad``)."""
        self.n_density += z.shape[0]
        self.n_gradient += z.shape[0] if grad else 0
        if not self.checked:
            return self._evaluate(z)
        try:
            return self._evaluate(z)
        except (ValueError, RuntimeError, ArithmeticError) as exc:
            # after the probe, an error at a far point (a torch law's argument check) counts as NaN there
            self.errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
            return z.sum(-1) * math.nan

    def _evaluate(self, z):
        if self.dtype is not None:  # a float32 log density: evaluated in its dtype, read back in float64
            return self._evaluate_in(z.to(self.dtype)).to(z.dtype)
        return self._evaluate_in(z)

    def _evaluate_in(self, z):
        if self.transform is None:
            return self.f(z)
        x = self.transform(z)
        jac = self.transform.log_abs_det_jacobian(z, x)
        if jac.dim() == z.dim():  # an elementwise transform: its log-Jacobian per coordinate
            jac = jac.sum(-1)
        return self.f(x) + jac

    def value_and_grad(self, z):
        """log p(z) and its gradient in z, as tensors without graph."""
        torch = self.torch
        z = z.detach().requires_grad_(True)
        with torch.enable_grad():
            lp = self(z, grad=True)
            (g,) = torch.autograd.grad(lp.sum(), z)
        return lp.detach(), g


def target_of(log_density, dim, transform, torch, rng) -> Target:
    """Check ``log_density``, ``dim`` and ``transform`` on a few points; a clear error if anything is off."""
    if not callable(log_density):
        msg = f"`log_density` must be a callable taking a (n, dim) torch tensor; got {type(log_density).__name__}"
        raise TypeError(msg)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        msg = f"`dim` must be a positive integer (the number of unconstrained coordinates); got {dim!r}"
        raise ValueError(msg)
    dim = int(dim)
    _check_transform(transform, torch)
    T = Target(log_density, dim, transform, torch)
    if transform is not None:
        _check_transform_values(transform, dim, torch)
    z = torch.as_tensor(np.vstack([np.zeros((1, dim)), rng.standard_normal((_PROBE - 1, dim))]), dtype=torch.float64)
    z.requires_grad_(True)
    with torch.enable_grad():
        try:
            lp = _probe(T, z, torch)
        except Exception as exc:
            msg = (
                f"`log_density` failed on a batch of points of shape {tuple(z.shape)} (n points of `dim` = {dim} coordinates"
                f"{', after `transform`' if transform is not None else ''}): {type(exc).__name__}: {exc}. "
                "Check that `dim` is the number of unconstrained parameters and that the function accepts a batch (..., dim)"
            )
            raise ValueError(msg) from exc
        _check_output(lp, z, torch)
        (g,) = torch.autograd.grad(lp.sum(), z, allow_unused=True)
    T.n_density = T.n_gradient = 0  # the probe is not part of the fit's cost
    T.checked = True
    if g is None:
        msg = "`log_density`'s value does not depend on its input through torch operations; write it with torch functions so it can be differentiated"
        raise TypeError(msg)
    return T


def _probe(T, z, torch):
    """log p at the probe points in float64; where the function holds float32 tensors of its own (torch's
    default dtype) and refuses float64 points, in its dtype, with the fit kept in float64."""
    try:
        return T(z, grad=True)
    except RuntimeError as exc:
        if "dtype" not in str(exc) and "Double" not in str(exc) and "double" not in str(exc):
            raise
        T.dtype = torch.float32
        return T(z, grad=True)


def _check_output(lp, z, torch):
    n = z.shape[0]
    if not isinstance(lp, torch.Tensor):
        msg = f"`log_density` must return a torch tensor of shape ({n},) for {n} points; got {type(lp).__name__}"
        raise TypeError(msg)
    if tuple(lp.shape) != (n,):
        msg = (
            f"`log_density` returned shape {tuple(lp.shape)} for a batch of {n} points of shape {tuple(z.shape)}; "
            f"it must return one value per point, shape ({n},): sum over the last axis (the parameters), not over the batch"
        )
        raise ValueError(msg)
    if not lp.requires_grad:
        msg = (
            "`log_density` returned a tensor without a gradient (it went through NumPy, .item() or .detach()?); "
            "write it with torch operations on its input"
        )
        raise TypeError(msg)
    v = lp.detach()
    if torch.isnan(v).any():
        i = int(torch.nonzero(torch.isnan(v))[0, 0])
        msg = f"`log_density` returned NaN at the point {z[i].detach().tolist()!r}; a log density must be a number or -inf there"
        raise ValueError(msg)
    if (v == math.inf).any():
        i = int(torch.nonzero(v == math.inf)[0, 0])
        msg = f"`log_density` returned +inf at the point {z[i].detach().tolist()!r}; a log density must be finite or -inf"
        raise ValueError(msg)
    if not torch.isfinite(v).any():
        msg = (
            f"`log_density` is -inf at all {n} points tried (0 and standard normal draws in the unconstrained space): "
            "its support is elsewhere. Give a `transform` onto the support (e.g. biject_to(constraints.positive)) or shift the parameters"
        )
        raise ValueError(msg)


def _check_transform(transform, torch):
    if transform is None:
        return
    from torch.distributions import constraints
    from torch.distributions.transforms import Transform

    if not isinstance(transform, Transform):
        msg = f"`transform` must be a torch.distributions Transform (e.g. biject_to(constraints.positive)); got {type(transform).__name__}"
        raise TypeError(msg)
    domain = transform.domain
    while isinstance(domain, constraints.independent):
        domain = domain.base_constraint
    if domain is not constraints.real:
        msg = (
            f"`transform` must map the unconstrained space onto the support; its domain is {transform.domain}, not the real line. "
            "Pass the bijection from the reals, e.g. biject_to(constraints.positive), not its inverse"
        )
        raise ValueError(msg)
    if not transform.bijective:
        msg = f"`transform` must be a bijection so that its log-Jacobian makes the density right; {transform} is not"
        raise ValueError(msg)


def _check_transform_values(transform, dim, torch):
    """The transform must give finite values on the whole real line (torch reports some inverses' domains as real)."""
    z = torch.linspace(-5, 5, 11, dtype=torch.float64)[:, None].expand(11, dim)
    with torch.no_grad():
        x = transform(z)
        jac = transform.log_abs_det_jacobian(z, x)
    if not (torch.isfinite(x).all() and torch.isfinite(jac).all()):
        bad = float(z[~torch.isfinite(x).reshape(11, -1).all(-1) | ~torch.isfinite(jac).reshape(11, -1).all(-1)][0, 0])
        msg = (
            f"`transform` {transform} is not defined on the whole real line (its value or log-Jacobian at {bad:g} is not finite): "
            "its domain must be the unconstrained space. Pass the bijection from the reals, e.g. biject_to(constraints.positive), not its inverse"
        )
        raise ValueError(msg)
