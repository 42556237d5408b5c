"""The public functions: recognise what the caller holds, hand it to the room that computes.

Probability vectors (arrays, sequences) go to :mod:`kullback.discrete`;
distribution objects (scipy.stats, torch.distributions) to
:mod:`kullback.distributions`.
"""

from __future__ import annotations

import sys

from . import discrete

__all__ = ["kl", "entropy", "cross_entropy", "js"]


def _maybe_distribution(obj) -> bool:
    """True if obj may be a distribution object, without importing scipy.stats or torch to look.

    A scipy.stats or torch.distributions object comes from a module that is already imported
    (narwhals' rule: if the user holds one, its library is loaded); only then is
    :mod:`kullback.distributions` (which imports scipy.stats) loaded to decide.
    """
    mod = type(obj).__module__ or ""
    if mod.startswith(("scipy.stats", "torch.distributions")):
        return True
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.distributions.Distribution)


def _distributions():
    from . import distributions

    return distributions


def _objects(name, args, axis, normalize):
    """The distributions room if every argument is a distribution object, None if none is;
    a TypeError for a mix (probabilities and objects are never guessed from each other)."""
    flags = [_maybe_distribution(a) for a in args]
    if any(flags):
        distributions = _distributions()
        flags = [distributions.is_distribution(a) for a in args]
    if not any(flags):
        return None
    if not all(flags):
        which = ", ".join(n for n, f in zip("pq", flags) if f)
        other = ", ".join(n for n, f in zip("pq", flags) if not f)
        msg = (
            f"{which} is a distribution object but {other} is not; {name}() compares distribution objects or probability "
            "vectors, not one with the other. For samples against a distribution, use kb.estimate_kl(x, q)"
        )
        raise TypeError(msg)
    if normalize is not False or axis != -1:
        raise TypeError("axis and normalize apply to probability vectors, not to distribution objects")
    return distributions


def kl(p, q, *, axis=-1, base=None, normalize=False):
    """D(p || q), the Kullback–Leibler divergence of q from p.

    p, q : probability vectors — lists or any array-API array (NumPy,
        PyTorch, JAX, ...) of non-negative weights over the same outcomes
        along ``axis``.  They must sum to 1 (to ``sqrt(eps)``) unless
        ``normalize=True``.  The result is an array of the caller's library
        (a NumPy scalar for 1-D NumPy input); gradients flow.
    base : None for nats, 2 for bits, any finite number above 1 (below 1 every
        divergence would turn negative: refused with a ValueError).

    ``+inf`` where q = 0 but p > 0: that is the true divergence.

    Any array-like (pandas Series, memoryviews, objects with ``__array__``)
    is taken as NumPy.  A floating array keeps its dtype (a list beside it
    joins it, and is checked at that dtype's tolerance); integer counts compute
    in the default float (float64 for NumPy).

    Gradients: with ``normalize=False`` the function differentiated is the
    formula as written, sum p (log p - log q) on the given values, so
    dD/dp = log(p/q) + 1 and dD/dq = -p/q (as ``torch.nn.functional.kl_div``
    and ``jax.grad`` of ``scipy.special.rel_entr``); with ``normalize=True`` it
    is the divergence of p/sum(p) from q/sum(q), whose gradient is that of the
    normalised function.  The same holds for :func:`entropy`,
    :func:`cross_entropy` and :func:`js`.

    p, q may instead be distribution objects — scipy.stats frozen
    distributions (``st.norm(0, 1)``, ``st.Normal(mu=0, sigma=1)``) or
    torch.distributions objects: then D(p||q) comes from a closed form, else a
    deterministic numeric method (to 1e-6 relative), else a clear error that
    points to :func:`kullback.estimate_kl`.  Batched parameters give batched results.
    """
    distributions = _objects("kl", (p, q), axis, normalize)
    if distributions is not None:
        return distributions.kl(p, q, base=discrete._log_base(base) and base)
    return discrete.kl(p, q, axis=axis, base=base, normalize=normalize)


def entropy(p, *, axis=-1, base=None, normalize=False):
    """H(p) = -sum p log p; arguments as for :func:`kl`.

    For a distribution object: its differential (densities) or discrete entropy, in closed
    form where one exists, else by the numeric methods of :func:`kl`.
    """
    distributions = _objects("entropy", (p,), axis, normalize)
    if distributions is not None:
        from .distributions import _entropy

        return _entropy.entropy(p, base=discrete._log_base(base) and base)
    return discrete.entropy(p, axis=axis, base=base, normalize=normalize)


def cross_entropy(p, q, *, axis=-1, base=None, normalize=False):
    """H(p, q) = -sum p log q = H(p) + D(p || q); arguments as for :func:`kl` (vectors or objects)."""
    distributions = _objects("cross_entropy", (p, q), axis, normalize)
    if distributions is not None:
        from .distributions import _entropy

        return _entropy.cross_entropy(p, q, base=discrete._log_base(base) and base)
    return discrete.cross_entropy(p, q, axis=axis, base=base, normalize=normalize)


def js(p, q, *, axis=-1, base=None, normalize=False):
    """Jensen–Shannon divergence ½D(p||m) + ½D(q||m), m = ½(p + q).

    The divergence, not the distance (``scipy.spatial.distance.jensenshannon``
    is its square root).  Symmetric, finite, at most log 2.  For distribution
    objects: numeric in one dimension (1e-6); elsewhere an error that points to
    :func:`kullback.estimate_js`.
    """
    distributions = _objects("js", (p, q), axis, normalize)
    if distributions is not None:
        from .distributions import _entropy

        return _entropy.js(p, q, base=discrete._log_base(base) and base)
    return discrete.js(p, q, axis=axis, base=base, normalize=normalize)
