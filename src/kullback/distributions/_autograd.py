"""Closed-form gradients for the same-family formulas in torch (see :func:`analytic`)."""

from __future__ import annotations

__all__ = ["analytic"]


def analytic(o, value, partials, *params):
    """value(o, *params), differentiated in torch by the closed-form partials(o, *params) instead of through the
    value's own computation (a partial given as None: the value does not depend on that input, and no gradient
    flows back into it; a zero would still meet 0 * inf in the input's own chain, e.g. log 0).

    The values are regrouped into non-negative terms, series and branch selections (_ops), which keep their digits
    where the textbook formula cancels, but their derivatives by the chain rule do not: Gamma(2.9e28, 7.5e16) ||
    Gamma(1.5e-25, 7.5e16) gave 2e37 for the derivative in q's shape (-6.5e24: two terms of 1.9e53 cancelled), and
    tiny shapes gave inf, NaN or 0 (psi'(1e-170) overflows in (kp - kq) psi'(kp)). The partials are Penny's (2001),
    formed without overflow; they are differentiable torch expressions, so double backward gives the Hessian."""
    if o.backend != "torch" or not any(getattr(x, "requires_grad", False) for x in params):
        return value(o, *params)
    params = tuple(o.t.broadcast_tensors(*params))  # the partials then have the value's shape (times k for Dirichlet)
    with o.t.no_grad():
        v = value(o, *(x.detach() for x in params))
    return _function(o.t).apply(v, lambda *xs: partials(o, *xs), *params)


_ANALYTIC = {}


def _function(torch):
    """The torch.autograd.Function behind :func:`analytic` (defined on first use: torch is imported lazily)."""
    if "fn" not in _ANALYTIC:

        class _Analytic(torch.autograd.Function):
            @staticmethod
            def forward(ctx, value, partials, *params):
                ctx.partials = partials
                ctx.save_for_backward(*params)
                return value.clone()

            @staticmethod
            def backward(ctx, grad):
                params = ctx.saved_tensors
                out = []
                for i, g in enumerate(ctx.partials(*params)):
                    if g is None or not ctx.needs_input_grad[2 + i]:  # None: no dependence (nothing flows back there)
                        out.append(None)
                        continue
                    gr = grad.reshape(tuple(grad.shape) + (1,) * (g.dim() - grad.dim()))
                    out.append(gr * g)
                return (None, None, *out)

        _ANALYTIC["fn"] = _Analytic
    return _ANALYTIC["fn"]
