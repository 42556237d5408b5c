"""The registry of same-family closed forms: ``SAME[family](o, p_params, q_params)`` = D(p||q).

The formula modules (``_same``: location-scale and other continuous families; ``_same_gamma``: gamma, beta and
Dirichlet; ``_same_discrete``: the laws on the integers and on categories) register into it with
``@register(family)``; ``_closed`` imports them, so that the table is full wherever it is read, and no formula
module imports another for its registration.
"""

from __future__ import annotations

from ._ops import Ops

__all__ = ["SAME", "register"]

SAME = {}


def register(family):
    """Register a formula; torch tensors of lower precision are computed in float64 and the result
    returned in their dtype (as the fused normal kernel does): float32's range and 24 bits would
    otherwise overflow and cancel in intermediate steps (1e-38 scales, issue 12 class 2), where
    float64 holds every float32 input exactly.  MPS devices have no float64 and compute natively."""

    def add(fn):
        def run(o, p, q):
            if o.backend != "torch" or o.dtype == o.t.float64 or (o.device is not None and o.device.type == "mps"):
                return fn(o, p, q)
            wide = Ops("torch", o.t.zeros((), dtype=o.t.float64, device=o.device))
            wide.input_eps = float(o.t.finfo(o.dtype).eps)  # what inputs derived in the narrow dtype carry
            wide.input_tiny = float(o.t.finfo(o.dtype).tiny)  # below it they hold fewer digits (subnormal)
            up = lambda d: {k: (v.double() if getattr(v, "is_floating_point", lambda: False)() else v) for k, v in d.items()}  # noqa: E731
            return fn(wide, up(p), up(q)).to(o.dtype)

        run.__doc__, run.__name__, run.formula = fn.__doc__, fn.__name__, fn
        SAME[family] = run
        return run

    return add
