"""Entropy, cross-entropy and Jensen-Shannon divergence of distribution objects.

Order of preference, as for ``kl``: a closed form, else a deterministic numeric
method to 1e-6 relative (1-D laws; summation for laws on the integers), else a
clear error that points to the Monte Carlo estimators.

- ``entropy(p)``: closed forms from the ``Moments`` table of ``_cross`` (normal, gamma,
  beta, Student t, ...), and here for the multivariate normal
  (H = d/2 (1 + log 2 pi) + sum log diag L, L the Cholesky factor; Cover & Thomas,
  *Elements of Information Theory*, 2nd ed., Thm. 8.4.1), the Dirichlet
  (H = log B(alpha) + (alpha_0 - k) psi(alpha_0) - sum (alpha_j - 1) psi(alpha_j); Lin 2016,
  "Dirichlet distribution", eq. for the entropy; also scipy.stats.dirichlet.entropy) and the
  categorical law (-sum p log p); otherwise tanh-sinh quadrature of -p log p split at quantiles
  of p, or summation of -p log p over the integers.  Differential entropies may be negative.
- ``cross_entropy(p, q)`` = H(p) + D(p||q) (+inf where D is; Cover & Thomas eq. 2.90 rearranged).
- ``js(p, q)`` = 1/2 D(p||m) + 1/2 D(q||m), m = (p + q)/2 (Lin 1991, "Divergence measures based
  on the Shannon entropy", IEEE Trans. Inf. Theory 37, eq. 4.1): in 1-D the quadrature of
  1/2 p log(2p/(p+q)) + 1/2 q log(2q/(p+q)) over the union of the supports (``logaddexp`` for
  log(p + q)); the integrand lies in [0, (p + q) log(2) / 2], so a tail of total mass t adds at
  most t log(2)/2: discrete laws are summed until the mass left in both tails is below 1e-18.
  0 <= JS <= log 2.

Torch objects give tensors; closed forms keep gradients, numeric values refuse parameters
that require them.  Univariate mixtures (torch ``MixtureSameFamily``, ``scipy.stats.Mixture``)
go through the numeric path by ``_mixture.mixture_view``.
"""

from __future__ import annotations

import math

import numpy as np

from ._canonical import Dist, describe, is_distribution

__all__ = ["entropy", "cross_entropy", "js"]

RTOL = 1e-6
_LOG2 = math.log(2.0)
_FIX = {"H(p)": "kb.estimate_entropy(p)", "JS(p, q)": "kb.estimate_js(p, q)", "H(p, q)": "kb.estimate_kl(p, q)"}


def recognise(obj, name, what) -> Dist:
    """The one canonical description of an argument (``describe``, as ``kl`` takes it), with a refusal that
    names this quantity and its Monte Carlo estimator for distribution objects it has no description of."""
    try:
        return describe(obj, name)
    except TypeError as exc:
        if not is_distribution(obj) or "unfrozen" in str(exc) or "freeze" in str(exc):
            raise
        msg = (
            f"{what}: `{name}` ({type(obj).__module__}.{type(obj).__name__}) has no closed form or numeric method here; "
            f"use {_FIX[what]} for a Monte Carlo estimate with an error bar"
        )
        raise TypeError(msg) from None


def _like(*ds: Dist):
    """The first floating torch parameter among the laws (dtype and device of the result), or None."""
    for d in ds:
        if d.backend == "torch":
            for v in d.params.values():
                if hasattr(v, "is_floating_point") and v.is_floating_point():
                    return v
    return None


def _finish(value, backend, base):
    if base is not None:
        value = value / math.log(base)
    if backend == "torch":
        return value
    value = np.asarray(value, dtype=np.float64)
    return value[()] if value.ndim == 0 else value


def _as_backend(values, backend, like):
    if backend != "torch":
        return np.asarray(values, dtype=np.float64)
    import torch

    return torch.as_tensor(
        values, dtype=like.dtype if like is not None else torch.get_default_dtype(), device=like.device if like is not None else None
    )


def _batched(value, d: Dist):
    """value broadcast to d's batch shape (a closed form of a batch whose entropy depends on only some of
    its parameters, st.norm([0, 1, 2], 1), has one value per law), its Independent dimensions summed."""
    batch = tuple(d.batch_shape)
    if tuple(value.shape) != batch:
        value = value.broadcast_to(batch) if d.backend == "torch" else np.broadcast_to(value, batch)
    if d.reinterpreted:
        dims = tuple(range(-d.reinterpreted, 0))
        value = value.sum(dim=dims) if d.backend == "torch" else value.sum(axis=dims)
    return value


def _refuse_grad(d: Dist, what):
    if d.requires_grad:
        msg = (
            f"{what} of {type(d.source).__name__} has no closed form here; its numeric value would not carry gradients. "
            "Detach the parameters to get the number"
        )
        raise ValueError(msg)


# ---------------------------------------------------------------- entropy


# Laws kullback has no description of whose own library computes the entropy exactly (a closed form,
# or scipy's exact finite sum), used as they are:
# torch Kumaraswamy (closed form with the harmonic number of 1/b; Jones 2009, Statist. Methodol. 6, eq. 7),
# torch Wishart (closed form from the multivariate digamma; Bishop 2006, PRML eq. B.82),
# scipy multivariate_t (closed form; Kotz & Nadarajah 2004, "Multivariate t Distributions", eq. 1.26),
# scipy multinomial (the exact sum over the binomial marginals of -sum E log(x_i!) terms).
# torch LKJCholesky raises NotImplementedError for entropy, so it is not here.
_LIBRARY_ENTROPY = {"Kumaraswamy", "Wishart", "multivariate_t_frozen", "multinomial_frozen"}


def _library_entropy(p):
    """The entropy from the object's own exact ``.entropy()`` (torch tensor or float64), or None."""
    if type(p).__name__ not in _LIBRARY_ENTROPY or not callable(getattr(p, "entropy", None)):
        return None
    value = p.entropy()
    return value if hasattr(value, "detach") else np.asarray(value, dtype=np.float64)[()]


def entropy(p, *, base=None):
    """H(p) of a distribution object (differential entropy for densities, in nats unless ``base``).

    Laws kullback does not describe but whose library has an exact entropy (torch ``Kumaraswamy``,
    ``Wishart``; scipy ``multivariate_t``, ``multinomial``) use the library's own ``entropy()``.
    """
    own = _library_entropy(p)
    if own is not None:
        return own / math.log(base) if base is not None else own
    P = recognise(p, "p", "H(p)")
    return _finish(entropy_of(P), P.backend, base)


def entropy_of(P: Dist):
    """H(P) of a recognised law, batch shape kept (Independent dimensions summed), in nats."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # moments H does not use may overflow
        value = _closed_entropy(P) if P.family is not None else None
    if value is None:
        _refuse_grad(P, "H(p)")
        value = _as_backend(_numeric_over_batch("H(p)", P), P.backend, _like(P))
    return _batched(value, P)


def _closed_entropy(d: Dist):
    """H of d in closed form over its batch (``_entropy_closed``), or None; Independent dimensions are summed by the caller."""
    from ._entropy_closed import closed_entropy

    return closed_entropy(d, _like(d))


def _numeric_over_batch(what, P: Dist, Q: Dist | None = None):
    """The numeric method (``_numeric_info``) for each element of the broadcast batch; refusals name it."""
    from . import _label, _sub_index
    from ._numeric import NumericFailure
    from ._numeric_info import quad_entropy, quad_js, sum_entropy, sum_js

    laws = (P,) if Q is None else (P, Q)
    if any(d.event_ndim and d.family != "categorical" for d in laws):
        msg = (
            f"{what} of multivariate laws without a closed form has no deterministic numeric method here; "
            f"use {_FIX[what]} for a Monte Carlo estimate with an error bar"
        )
        raise TypeError(msg)
    discrete = P.kind == "discrete"
    method = (sum_entropy if discrete else quad_entropy) if Q is None else (sum_js if discrete else quad_js)
    batch = tuple(np.broadcast_shapes(*(d.batch_shape for d in laws)))
    out = np.empty(batch)
    names = " || ".join(_label(d) for d in laws)
    for idx in np.ndindex(batch):
        try:
            scalars = [d.scalar_scipy(_sub_index(d.batch_shape, batch, idx)) for d in laws]
        except NotImplementedError:  # _canonical has no scipy view of this family: no numeric method here
            msg = f"{what} of {names} has no closed form or numeric method here; use {_FIX[what]} for a Monte Carlo estimate with an error bar"
            raise TypeError(msg) from None
        try:
            out[idx] = method(*scalars, RTOL)[0]
        except (NumericFailure, ArithmeticError) as exc:
            where = f" (batch index {idx})" if batch else ""
            msg = f"{what} of {names} has no closed form, and the numeric method failed{where}: {exc}; use {_FIX[what]} for a Monte Carlo estimate with an error bar"
            raise ValueError(msg) from None
    return out


# ---------------------------------------------------------------- cross-entropy and JS


def cross_entropy(p, q, *, base=None):
    """H(p, q) = H(p) + D(p||q) of distribution objects (+inf where D(p||q) is infinite)."""
    from . import kl, kl_of

    try:
        P, Q = describe(p, "p"), describe(q, "q")
    except TypeError:
        if is_distribution(p) and is_distribution(q):  # torch TransformedDistribution pairs: kl's own route
            P, Q = recognise(p, "p", "H(p, q)"), None
        else:
            raise
    h = entropy_of(P)
    d = kl_of(P, Q) if Q is not None else kl(p, q)
    if P.backend == "torch" or hasattr(d, "detach") or hasattr(h, "detach"):
        import torch

        h, d = torch.as_tensor(h), torch.as_tensor(d)
        value = torch.where(torch.isinf(d), d, h + torch.where(torch.isinf(d), torch.zeros_like(d), d))
        return value / math.log(base) if base is not None else value
    h, d = np.asarray(h, dtype=np.float64), np.asarray(d, dtype=np.float64)
    value = np.where(np.isinf(d), d, h + np.where(np.isinf(d), 0.0, d))
    if base is not None:
        value = value / math.log(base)
    return value[()] if value.ndim == 0 else value


def js(p, q, *, base=None):
    """JS(p, q) = 1/2 D(p||m) + 1/2 D(q||m), m = (p + q)/2, of distribution objects; 0 <= JS <= log 2."""
    from . import _align_events, _as_univariate

    P, Q = recognise(p, "p", "JS(p, q)"), recognise(q, "q", "JS(p, q)")
    if P.kind != Q.kind:
        msg = f"p is {P.kind} and q is {Q.kind}: their Jensen-Shannon divergence is not defined (no common reference measure)"
        raise TypeError(msg)
    backend = "torch" if "torch" in (P.backend, Q.backend) else "numpy"
    P, Q = _as_univariate(P, Q), _as_univariate(Q, P)
    if P.family == Q.family == "categorical":
        value = _categorical_js(*_align_events(P, Q, union=True))
    else:
        if P.reinterpreted or Q.reinterpreted:
            msg = f"JS(p, q) of multivariate laws without a closed form has no deterministic numeric method here; use {_FIX['JS(p, q)']} for a Monte Carlo estimate with an error bar"
            raise TypeError(msg)
        _refuse_grad(P, "JS(p, q)")
        _refuse_grad(Q, "JS(p, q)")
        value = _as_backend(_numeric_over_batch("JS(p, q)", P, Q), backend, _like(P, Q))
    return _finish(value, backend, base)


def _categorical_js(P: Dist, Q: Dist):
    """JS of categorical laws over the same outcomes by the vector code (kullback.discrete.js: its terms keep
    their digits where p ~ q), in torch where either law is a torch object."""
    from .. import discrete
    from ._ops import Ops

    o = Ops("torch" if "torch" in (P.backend, Q.backend) else "numpy", _like(P, Q))
    a, b = o.asarray(P.params["probs"]), o.asarray(Q.params["probs"])
    if o.backend == "torch":
        a, b = o.t.broadcast_tensors(a, b)
    else:
        a, b = np.broadcast_arrays(a, b)
    if discrete._stop_gradient(o.t if o.backend == "torch" else np, [a, b]) is None:  # torch itself names its namespace
        cheap = _categorical_js_cheap(o, a, b)
        if cheap is not None:
            return cheap
    xp = discrete._namespace([a, b])
    # the vector code's terms (its accurate near-identical form), without its input checks: describe checked these
    value = 0.5 * discrete._js_terms(xp, discrete._View(xp, a, False), discrete._View(xp, b, False)).sum(-1)
    return o.maximum(value, 0 * value)  # JS >= 0 (log-sum inequality): a rounding-level negative is 0


def _categorical_js_cheap(o, a, b):
    """JS of categorical laws (probabilities summing to 1) as 1/2 sum xlogy(p, p) + xlogy(q, q) - xlogy(p + q, m), in
    float64, where that is accurate to 1e-10 relative for every law of the batch, else None (laws near each other:
    the three sums cancel, and the vector code's terms keep their digits).

    The bound: with sum p = sum q = 1, the parts' magnitudes sum to at most 4 log k + 2 log 2 (sum p |log p| = H(p) <=
    log k, and p <= 2m gives -log m <= -log p + log 2), each carries a few roundings and log m one more (2 eps over
    the sum), and the pairwise sum of k terms adds log2(k) + 1 roundings: |error| <= 4 eps (4 log k + 4)(log2 k + 2).
    Nine array operations where the vector code takes some forty (JS of two small laws was 4x slower through it)."""
    k = max(int(a.shape[-1]), 1)
    if o.backend == "torch":
        a64, b64 = a.double(), b.double()
    else:
        a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    s = a64 + b64
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 0.5 * o.sum(o.xlogy(a64, a64) + o.xlogy(b64, b64) - o.xlogy(s, 0.5 * s), -1)
    bound = 4 * 2.220446049250313e-16 * (4 * math.log(k) + 4) * (math.log2(k) + 2)
    if not bool((value >= 1e10 * bound).all()):  # also False for NaN
        return None
    return value.clamp(max=_LOG2).to(a.dtype) if o.backend == "torch" else np.minimum(value, _LOG2)
