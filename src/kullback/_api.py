"""The public functions: recognise what the caller holds, hand it to the room that computes.

Probability vectors (arrays, sequences) go to :mod:`kullback.discrete`;
distribution objects (scipy.stats, torch.distributions) to
:mod:`kullback.distributions`.
"""

from __future__ import annotations

from . import discrete

__all__ = ["kl", "entropy", "cross_entropy", "js"]


def kl(p, q, *, axis=-1, base=None, normalize=False):
    """D(p || q), the Kullback–Leibler divergence of q from p.

    p, q : probability vectors — lists or any array-API array (NumPy,
        PyTorch, JAX, ...) of non-negative weights over the same outcomes
        along ``axis``.  They must sum to 1 (to ``sqrt(eps)``) unless
        ``normalize=True``.  The result is an array of the caller's library
        (a NumPy scalar for 1-D NumPy input); gradients flow.
    base : None for nats, 2 for bits, any positive number but 1.

    ``+inf`` where q = 0 but p > 0: that is the true divergence.
    """
    return discrete.kl(p, q, axis=axis, base=base, normalize=normalize)


def entropy(p, *, axis=-1, base=None, normalize=False):
    """H(p) = -sum p log p; arguments as for :func:`kl`."""
    return discrete.entropy(p, axis=axis, base=base, normalize=normalize)


def cross_entropy(p, q, *, axis=-1, base=None, normalize=False):
    """H(p, q) = -sum p log q = H(p) + D(p || q); arguments as for :func:`kl`."""
    return discrete.cross_entropy(p, q, axis=axis, base=base, normalize=normalize)


def js(p, q, *, axis=-1, base=None, normalize=False):
    """Jensen–Shannon divergence ½D(p||m) + ½D(q||m), m = ½(p + q).

    The divergence, not the distance (``scipy.spatial.distance.jensenshannon``
    is its square root).  Symmetric, finite, at most log 2.
    """
    return discrete.js(p, q, axis=axis, base=base, normalize=normalize)
