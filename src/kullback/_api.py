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
    """D(p || q), the Kullback–Leibler divergence of q from p: the information lost when q stands in for p.

    Parameters
    ----------
    p, q : array_like or distribution
        Probability vectors — lists or any array-API array (NumPy, PyTorch, JAX, CuPy, Dask, ...) of
        non-negative weights over the same outcomes along ``axis``; other axes broadcast.  They must
        sum to 1 (to ``sqrt(eps)`` of their dtype) unless ``normalize=True``.  Or two distribution
        objects (scipy.stats frozen distributions, torch.distributions objects); see Notes.
    axis : int, optional
        The axis that holds the outcomes (default: the last).  Vectors only.
    base : float, optional
        Units: ``None`` for nats (default), 2 for bits, any finite number above 1 (a base below 1
        would turn every divergence negative: refused with a ValueError).
    normalize : bool, optional
        ``True`` treats p and q as unnormalised weights (e.g. counts) and divides each by its sum;
        ``False`` (default) refuses weights that do not sum to 1.  Nothing is rescaled silently.
        Vectors only.

    Returns
    -------
    array or float
        D(p || q) = sum p (log p - log q) >= 0, reduced along ``axis``: an array of the caller's
        library (a NumPy scalar for 1-D NumPy input, a tensor for torch), through which gradients
        flow.  ``+inf`` where q = 0 but p > 0: that is the true divergence.

    Raises
    ------
    ValueError
        Negative, NaN or infinite weights, weights that do not sum to 1 (without ``normalize``),
        empty or all-zero vectors, shapes that do not broadcast, a bad ``base``; invalid parameters
        of a distribution object.
    TypeError
        A distribution object against a probability vector; a mass function against a density; a
        pair of distribution objects with neither a closed form nor a numeric method (the message
        points to :func:`kullback.estimate_kl`).

    See Also
    --------
    entropy, cross_entropy, js, estimate_kl

    Notes
    -----
    The order is the mathematical one, as in ``scipy.stats.entropy(p, q)`` and the reverse of
    ``torch.nn.functional.kl_div(input, target)``, which computes D(target || exp(input)).

    Any array-like (pandas Series, memoryviews, objects with ``__array__``) is taken as NumPy.  A
    floating array keeps its dtype (a list beside it joins it, and is checked at that dtype's
    tolerance); integer counts compute in the default float (float64 for NumPy).  Large float32 and
    float64 NumPy inputs run through fused single-pass kernels (numba).

    Gradients: with ``normalize=False`` the function differentiated is the formula as written,
    sum p (log p - log q) on the given values, so dD/dp = log(p/q) + 1 and dD/dq = -p/q (as
    ``torch.nn.functional.kl_div`` and ``jax.grad`` of ``scipy.special.rel_entr``); with
    ``normalize=True`` it is the divergence of p/sum(p) from q/sum(q), whose gradient is that of
    the normalised function.  The same holds for :func:`entropy`, :func:`cross_entropy` and
    :func:`js`.

    Distribution objects: scipy.stats frozen distributions (``st.norm(0, 1)``,
    ``st.Normal(mu=0, sigma=1)``) or torch.distributions objects.  D(p||q) comes from a closed form,
    else a deterministic numeric method (quadrature or a series, to 1e-6 relative), else a clear
    error that points to :func:`kullback.estimate_kl`.  Batched parameters give batched results.

    References
    ----------
    .. [1] S. Kullback, R. A. Leibler, "On information and sufficiency", Ann. Math. Statist. 22
       (1951), 79-86.

    Examples
    --------
    Wikipedia's example, Binomial(2, 0.4) against the uniform law on {0, 1, 2}:

    >>> import kullback as kb
    >>> p, q = [0.36, 0.48, 0.16], [1 / 3, 1 / 3, 1 / 3]
    >>> round(float(kb.kl(p, q)), 7), round(float(kb.kl(q, p)), 7)
    (0.0852996, 0.097455)
    >>> round(float(kb.kl(p, q, base=2)), 7)
    0.1230613
    >>> float(kb.kl([0.5, 0.5], [1.0, 0.0]))
    inf

    Counts, with ``normalize=True``; a batch of rows against one q:

    >>> import numpy as np
    >>> round(float(kb.kl([36, 48, 16], [1, 1, 1], normalize=True)), 7)
    0.0852996
    >>> np.round(kb.kl(np.array([p, [0.3, 0.5, 0.2]]), q), 7).tolist()
    [0.0852996, 0.0689593]

    Distribution objects: the closed form log 2 + (1 + 1)/8 - 1/2 for N(0, 1) against N(1, 4):

    >>> import scipy.stats as st
    >>> round(float(kb.kl(st.norm(0, 1), st.norm(1, 2))), 10) == round(float(np.log(2) + 2 / 8 - 0.5), 10)
    True
    """
    distributions = _objects("kl", (p, q), axis, normalize)
    if distributions is not None:
        return distributions.kl(p, q, base=discrete._log_base(base) and base)
    return discrete.kl(p, q, axis=axis, base=base, normalize=normalize)


def entropy(p, *, axis=-1, base=None, normalize=False):
    """H(p) = -sum p log p, the Shannon entropy of a probability vector or a distribution object.

    Parameters
    ----------
    p : array_like or distribution
        A probability vector (as for :func:`kl`) or a distribution object.
    axis : int, optional
        The axis that holds the outcomes (default: the last).  Vectors only.
    base : float, optional
        Units: ``None`` for nats (default), 2 for bits, any finite number above 1 (a base below 1
        would turn every divergence negative: refused with a ValueError).
    normalize : bool, optional
        ``True`` treats p and q as unnormalised weights (e.g. counts) and divides each by its sum;
        ``False`` (default) refuses weights that do not sum to 1.  Nothing is rescaled silently.
        Vectors only.

    Returns
    -------
    array or float
        H(p) >= 0 for probability vectors, reduced along ``axis``, in the caller's array library.
        For a density, its differential entropy (which may be negative).

    Raises
    ------
    ValueError, TypeError
        As for :func:`kl`.

    See Also
    --------
    kl, cross_entropy, estimate_entropy

    Notes
    -----
    For a distribution object: its differential (densities) or discrete entropy, in closed form
    where one exists, else by the numeric methods of :func:`kl`.

    Examples
    --------
    >>> import math
    >>> import kullback as kb
    >>> round(float(kb.entropy([0.25, 0.25, 0.25, 0.25], base=2)), 12)
    2.0
    >>> round(float(kb.entropy([0.36, 0.48, 0.16])), 7)
    1.0133127

    The differential entropy of N(0, 2^2), 1/2 log(2 pi e sigma^2):

    >>> import scipy.stats as st
    >>> round(float(kb.entropy(st.norm(0, 2))), 10) == round(0.5 * math.log(2 * math.pi * math.e * 4), 10)
    True
    """
    distributions = _objects("entropy", (p,), axis, normalize)
    if distributions is not None:
        from .distributions import _entropy

        return _entropy.entropy(p, base=discrete._log_base(base) and base)
    return discrete.entropy(p, axis=axis, base=base, normalize=normalize)


def cross_entropy(p, q, *, axis=-1, base=None, normalize=False):
    """H(p, q) = -sum p log q = H(p) + D(p || q), the cross-entropy of q relative to p.

    Parameters
    ----------
    p, q : array_like or distribution
        Probability vectors — lists or any array-API array (NumPy, PyTorch, JAX, CuPy, Dask, ...) of
        non-negative weights over the same outcomes along ``axis``; other axes broadcast.  They must
        sum to 1 (to ``sqrt(eps)`` of their dtype) unless ``normalize=True``.  Or two distribution
        objects (scipy.stats frozen distributions, torch.distributions objects); see Notes.
    axis : int, optional
        The axis that holds the outcomes (default: the last).  Vectors only.
    base : float, optional
        Units: ``None`` for nats (default), 2 for bits, any finite number above 1 (a base below 1
        would turn every divergence negative: refused with a ValueError).
    normalize : bool, optional
        ``True`` treats p and q as unnormalised weights (e.g. counts) and divides each by its sum;
        ``False`` (default) refuses weights that do not sum to 1.  Nothing is rescaled silently.
        Vectors only.

    Returns
    -------
    array or float
        H(p, q), reduced along ``axis``, in the caller's array library; ``+inf`` where q = 0 but
        p > 0.

    Raises
    ------
    ValueError, TypeError
        As for :func:`kl`.

    See Also
    --------
    kl, entropy

    Examples
    --------
    Against a uniform q on three outcomes the cross-entropy is log 3, whatever p:

    >>> import math
    >>> import kullback as kb
    >>> p, q = [0.36, 0.48, 0.16], [1 / 3, 1 / 3, 1 / 3]
    >>> round(float(kb.cross_entropy(p, q)), 12) == round(math.log(3), 12)
    True
    >>> abs(float(kb.cross_entropy(p, q) - kb.entropy(p) - kb.kl(p, q))) < 1e-15
    True
    """
    distributions = _objects("cross_entropy", (p, q), axis, normalize)
    if distributions is not None:
        from .distributions import _entropy

        return _entropy.cross_entropy(p, q, base=discrete._log_base(base) and base)
    return discrete.cross_entropy(p, q, axis=axis, base=base, normalize=normalize)


def js(p, q, *, axis=-1, base=None, normalize=False):
    """Jensen–Shannon divergence ½D(p||m) + ½D(q||m), m = ½(p + q).

    Parameters
    ----------
    p, q : array_like or distribution
        Probability vectors — lists or any array-API array (NumPy, PyTorch, JAX, CuPy, Dask, ...) of
        non-negative weights over the same outcomes along ``axis``; other axes broadcast.  They must
        sum to 1 (to ``sqrt(eps)`` of their dtype) unless ``normalize=True``.  Or two distribution
        objects (scipy.stats frozen distributions, torch.distributions objects); see Notes.
    axis : int, optional
        The axis that holds the outcomes (default: the last).  Vectors only.
    base : float, optional
        Units: ``None`` for nats (default), 2 for bits, any finite number above 1 (a base below 1
        would turn every divergence negative: refused with a ValueError).
    normalize : bool, optional
        ``True`` treats p and q as unnormalised weights (e.g. counts) and divides each by its sum;
        ``False`` (default) refuses weights that do not sum to 1.  Nothing is rescaled silently.
        Vectors only.

    Returns
    -------
    array or float
        JS(p, q), reduced along ``axis``, in the caller's array library: symmetric, finite, and at
        most log 2 (1 with ``base=2``).

    Raises
    ------
    ValueError, TypeError
        As for :func:`kl`; for distribution objects beyond one dimension, an error that points to
        :func:`kullback.estimate_js`.

    See Also
    --------
    kl, estimate_js

    Notes
    -----
    The divergence, not the distance: ``scipy.spatial.distance.jensenshannon`` is its square root.
    For distribution objects it is computed numerically in one dimension (to 1e-6).

    References
    ----------
    .. [1] J. Lin, "Divergence measures based on the Shannon entropy", IEEE Trans. Inf. Theory 37
       (1991), 145-151.

    Examples
    --------
    >>> import kullback as kb
    >>> round(float(kb.js([1.0, 0.0], [0.0, 1.0], base=2)), 12)  # disjoint supports: the maximum
    1.0
    >>> p, q = [0.36, 0.48, 0.16], [1 / 3, 1 / 3, 1 / 3]
    >>> round(float(kb.js(p, q)), 7), round(float(kb.js(q, p)), 7)
    (0.0224599, 0.0224599)
    >>> from scipy.spatial.distance import jensenshannon
    >>> round(float(jensenshannon(p, q)) ** 2, 7)
    0.0224599
    """
    distributions = _objects("js", (p, q), axis, normalize)
    if distributions is not None:
        from .distributions import _entropy

        return _entropy.js(p, q, base=discrete._log_base(base) and base)
    return discrete.js(p, q, axis=axis, base=base, normalize=normalize)
