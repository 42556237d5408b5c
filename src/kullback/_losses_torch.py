"""The torch autograd nodes of :mod:`kullback.losses`: e^x - 1 - x, and the VAE's N(0, I) prior term, each one node.

Imported only by :mod:`kullback.losses` once a torch tensor arrives (torch stays optional).  Each node's
forward computes the value and expm1(x) without a graph, in one of two ways:

- contiguous float32/float64 CPU tensors, numba importable: one fused pass of :mod:`kullback._loss_kernels`
  on the tensors' zero-copy NumPy views (the exponential, the series, the mu term and the sum over the last
  axis together; computed in float64);
- anything else (CUDA, other float types, strided views): torch's own ops, expm1(x) - x blended with the
  Taylor series below |x| ~ 1/32 (:func:`_torch_value`).

expm1(x) is the node's second output and its one saved tensor (the plain ``exp(x) - 1 - x`` saves exp(x)):
backward is grad * expm1(x), and since expm1(x) is itself an output of the node, with derivative expm1(x) + 1,
a backward with ``create_graph=True`` differentiates through it: second derivatives are exact
(``torch.autograd.gradgradcheck``).  Under ``torch.func`` transforms and ``torch.compile`` tracing (which
these nodes do not support) :mod:`kullback.losses` takes its array-API path instead (:func:`usable`).
"""

from __future__ import annotations

import torch

from . import _kernels, _loss_kernels

__all__ = ["Expm1mx", "PriorTerm", "usable"]

# 1/k! for k = 2..9: e^x - 1 - x = x^2 sum_k x^(k-2)/k!; below |x| = 1/32 the 8 terms leave a
# relative remainder under 2 (1/32)^8 / 10! ~ 2e-19 (float64), the first 4 under 2 (1/32)^4 / 6! ~ 3e-9
# (float32, float16, bfloat16); above it expm1(x) - x loses at most log2(2/|x|) = 6 bits to
# cancellation (relative error < 64 eps)
_INV_FACT = [1.0]
for _k in range(1, 10):
    _INV_FACT.append(_INV_FACT[-1] / _k)
_SERIES = _INV_FACT[2:10]
_SMALL = 1.0 / 32
_TERMS = {8: 8, 4: 4, 2: 4}  # the series' terms by float size in bytes: float64 all 8, narrower floats the first 4
_FUSED_DTYPES = (torch.float32, torch.float64)
_TENSOR_TYPES = (torch.Tensor, torch.nn.Parameter)
_is_wrapped = getattr(getattr(torch._C, "_functorch", None), "is_functorch_wrapped_tensor", lambda t: False)


def usable(*tensors) -> bool:
    """Whether these nodes can run here: not under torch.compile tracing, no torch.func-wrapped tensor."""
    if torch.compiler.is_compiling():
        return False
    return not any(_is_wrapped(t) for t in tensors)


def _fused(*tensors) -> bool:
    """Whether the numba kernels take these tensors: plain contiguous float32/float64 CPU tensors of one type."""
    first = tensors[0]
    return (
        all(
            type(t) in _TENSOR_TYPES
            and t.device.type == "cpu"
            and t.layout == torch.strided
            and t.dtype == first.dtype
            and t.is_contiguous()
            for t in tensors
        )
        and first.dtype in _FUSED_DTYPES
        and _kernels.available()
    )


def _torch_value(x):
    """(e^x - 1 - x, expm1(x)) of a tensor with torch's ops, without a graph.

    expm1(x) - x and the Taylor series (by Horner, in place) weighted 0 or 1; the small elements are found
    by the computed value (e^x - 1 - x < (1/32)^2 / 2, one comparison), which needs no accuracy to decide.
    """
    e = torch.expm1(x)
    v = e - x
    # 1 above the threshold, 0 below (and for NaN): a float weight written by the comparison itself
    # (``out=``; a bool mask then ``.to`` is 10x slower on CPU, and ``where`` with a mixed mask 3-10x
    # slower than a multiply-add)
    big = torch.ge(v, 0.5 * _SMALL * _SMALL, out=torch.empty_like(x))
    series = _SERIES[: _TERMS.get(x.element_size(), 8)]
    # Horner in place on x clipped (a finite polynomial everywhere: its weight 0 never meets inf)
    xs = torch.clamp(x, -2 * _SMALL, 2 * _SMALL)
    poly = torch.mul(xs, series[-1]).add_(series[-2])
    for c in reversed(series[:-2]):
        poly.mul_(xs).add_(c)
    poly.mul_(xs).mul_(xs)
    return torch.addcmul(poly, big, v.sub_(poly), out=v), e


def _numpy(t):
    return t.detach().numpy()


def _grad_expm1(g, ge, e, scale=1.0):
    """d/dx of (scale (e^x - 1 - x), expm1(x)) against the incoming gradients g, ge (None where unused)."""
    out = None
    if g is not None:
        out = torch.mul(e, g if scale == 1.0 else scale * g)
    if ge is not None:
        second = ge * (e + 1.0)
        out = second if out is None else out + second
    return out


class Expm1mx(torch.autograd.Function):
    """(e^x - 1 - x, expm1(x)) elementwise; one saved tensor, expm1(x)."""

    @staticmethod
    def forward(ctx, x):
        if _fused(x):
            v, e = torch.empty_like(x), torch.empty_like(x)
            _loss_kernels.expm1mx(_numpy(x).reshape(-1), _numpy(v).reshape(-1), _numpy(e).reshape(-1))
        else:
            v, e = _torch_value(x)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(e)
        return v, e

    @staticmethod
    def backward(ctx, g, ge):
        (e,) = ctx.saved_tensors
        return _grad_expm1(g, ge, e)


class PriorTerm(torch.autograd.Function):
    """(D(N(mu, e^logvar) || N(0, I)) per example, expm1(logvar)): ½ sum((e^logvar - 1 - logvar) + mu^2) over the last axis.

    One node: saves mu and expm1(logvar) (the plain expression saves mu and exp(logvar)); the backward is one
    product per argument, mu g and ½ expm1(logvar) g.
    """

    @staticmethod
    def forward(ctx, mu, logvar):
        if _fused(mu, logvar):
            n = logvar.shape[-1]
            rows = _rows(logvar.shape)
            e = torch.empty_like(logvar)
            out = torch.empty(logvar.shape[:-1], dtype=torch.float64)
            _loss_kernels.prior_rows(
                _numpy(mu).reshape(rows, n),
                _numpy(logvar).reshape(rows, n),
                _numpy(e).reshape(rows, n),
                out.numpy().reshape(rows),
                threads=torch.get_num_threads() if logvar.numel() >= 1 << 16 else 1,
            )
            per = out.to(logvar.dtype)
        else:
            v, e = _torch_value(logvar)
            per = v.addcmul_(mu, mu).sum(-1).mul_(0.5)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(mu, e)
        return per, e

    @staticmethod
    def backward(ctx, g, ge):
        mu, e = ctx.saved_tensors
        g = None if g is None else g.unsqueeze(-1)
        gmu = torch.mul(mu, g) if ctx.needs_input_grad[0] and g is not None else None
        glv = _grad_expm1(g, ge, e, 0.5) if ctx.needs_input_grad[1] else None
        return gmu, glv


def _rows(shape) -> int:
    n = 1
    for s in shape[:-1]:
        n *= int(s)
    return n
