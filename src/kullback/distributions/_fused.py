"""The fused numba kernel for batches of normal pairs, for NumPy and CPU torch tensors.

``normal_kl`` runs :func:`kullback._kernels.normal_kl` on NumPy arrays, and on
CPU tensors' memory (no copy for contiguous float64 CPU tensors) inside a
``torch.autograd.Function`` whose backward pass is the analytic gradient in
torch operations (so higher-order gradients work too):

    dD/dmp = z/sq,  dD/dmq = -z/sq,  dD/dsp = sp/sq^2 - 1/sp,  dD/dsq = (1 - r^2 - z^2)/sq,

with r = sp/sq and z = (mp - mq)/sq.  Other devices, small batches and
environments without numba use the eager formula in :mod:`._closed`.
"""

from __future__ import annotations

import numpy as np

from .. import _kernels

_fn = None


def _unbroadcast(grad, shape):
    """Sum a broadcast gradient back to an input's shape."""
    if tuple(grad.shape) == tuple(shape):
        return grad
    lead = grad.dim() - len(shape)
    grad = grad.sum(dim=tuple(range(lead))) if lead else grad
    dims = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    return grad.sum(dim=dims, keepdim=True) if dims else grad


def _function():
    global _fn
    if _fn is None:
        import torch

        class NormalKL(torch.autograd.Function):
            @staticmethod
            def forward(ctx, mp, sp, mq, sq):
                shape = torch.broadcast_shapes(mp.shape, sp.shape, mq.shape, sq.shape)
                wire = mp.dtype if mp.dtype in (torch.float32, torch.float64) else torch.float64
                arrays = [x.detach().to(wire).expand(shape).numpy() for x in (mp, sp, mq, sq)]
                out = torch.from_numpy(_kernels.normal_kl(*arrays)).to(mp.dtype)  # computed in float64
                ctx.save_for_backward(mp, sp, mq, sq)
                return out

            @staticmethod
            def backward(ctx, go):
                mp, sp, mq, sq = ctx.saved_tensors
                need = ctx.needs_input_grad
                z = (mp - mq) / sq
                g_m = go * z / sq if (need[0] or need[2]) else None
                return (
                    _unbroadcast(g_m, mp.shape) if need[0] else None,
                    _unbroadcast(go * (sp / (sq * sq) - 1 / sp), sp.shape) if need[1] else None,
                    _unbroadcast(-g_m, mq.shape) if need[2] else None,
                    _unbroadcast(go * (1 - (sp / sq) ** 2 - z * z) / sq, sq.shape) if need[3] else None,
                )

        _fn = NormalKL
    return _fn


def normal_kl(backend, mp, sp, mq, sq):
    """D(N(mp, sp^2) || N(mq, sq^2)) through the fused kernel, or None where it does not apply
    (numba missing, batches below the kernel's MIN_SIZE, tensors off the CPU)."""
    xs = (mp, sp, mq, sq)
    if max(x.numel() if backend == "torch" else np.size(x) for x in xs) < _kernels.MIN_SIZE:
        return None
    if not _kernels.available():  # imports numba: only once a batch is large enough to use it
        return None
    if backend == "numpy":
        return _kernels.normal_kl(*xs)
    if any(x.device.type != "cpu" for x in xs):
        return None
    return _function().apply(*xs)
