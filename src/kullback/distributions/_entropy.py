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
from scipy import integrate

from ._canonical import torch_tensors

__all__ = ["entropy", "cross_entropy", "js"]

RTOL = 1e-6
_SPLITS = (1e-12, 1e-6, 1e-3, 0.05, 0.25, 0.5, 0.75, 0.95, 0.999, 1 - 1e-6, 1 - 1e-12)
_TAIL = 1e-18  # mass left beyond the summation range
_MAX_TERMS = 1 << 22
_LOG2 = math.log(2.0)


class _Law:
    """One argument as the computations see it: its canonical description (or a mixture view)."""

    def __init__(self, obj, name):
        from . import describe
        from ._mixture import mixture_view

        self.obj, self.name = obj, name
        self.view = mixture_view(obj)
        if self.view is not None:
            self.d, self.kind, self.batch, self.event_ndim = None, "discrete" if self.view.discrete else "continuous", (), 0
            self.backend = "torch" if "torch" in (type(obj).__module__ or "") else "numpy"
            self.requires_grad = any(getattr(t, "requires_grad", False) for t in torch_tensors(obj))
            return
        self.d = describe(obj, name)
        self.kind, self.batch, self.event_ndim = self.d.kind, tuple(self.d.batch_shape), self.d.event_ndim
        self.backend, self.requires_grad = self.d.backend, self.d.requires_grad

    def scalar(self, idx):
        return self.view if self.view is not None else self.d.scalar_scipy(idx)

    def like(self):
        tensors = [v for v in torch_tensors(self.obj) if v.is_floating_point()]
        return tensors[0] if tensors else None


def _finish(value, law: _Law, base):
    if base is not None:
        value = value / math.log(base)
    if law.backend == "torch":
        return value
    value = np.asarray(value, dtype=np.float64)
    return value[()] if value.ndim == 0 else value


def _as_backend(values, law: _Law):
    if law.backend != "torch":
        return np.asarray(values, dtype=np.float64)
    import torch

    like = law.like()
    return torch.as_tensor(
        values, dtype=like.dtype if like is not None else torch.get_default_dtype(), device=like.device if like is not None else None
    )


def _refuse_grad(law: _Law, what):
    if law.requires_grad:
        msg = (
            f"{what} of {type(law.obj).__name__} has no closed form here; its numeric value would not carry gradients. "
            "Detach the parameters to get the number"
        )
        raise ValueError(msg)


# ---------------------------------------------------------------- entropy


def _law(obj, name, what, fix):
    """_Law(obj), with a refusal that names this quantity and its Monte Carlo estimator."""
    try:
        return _Law(obj, name)
    except TypeError as exc:
        from ..estimation._access import is_distribution

        if not is_distribution(obj) or "unfrozen" in str(exc) or "freeze" in str(exc):
            raise
        msg = f"{what}: `{name}` ({type(obj).__module__}.{type(obj).__name__}) has no closed form or numeric method here; use {fix} for a Monte Carlo estimate with an error bar"
        raise TypeError(msg) from None


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
    law = _law(p, "p", "H(p)", "kb.estimate_entropy(p)")
    value = _closed_entropy(law) if law.d is not None else None
    if value is None:
        _refuse_grad(law, "H(p)")
        value = _as_backend(_numeric_over_batch(law, None, _numeric_entropy), law)
        if law.d is not None and law.d.reinterpreted:
            dims = tuple(range(-law.d.reinterpreted, 0))
            value = value.sum(dim=dims) if law.backend == "torch" else value.sum(axis=dims)
    return _finish(value, law, base)


def _closed_entropy(law: _Law):
    from ._entropy_closed import closed_entropy

    return closed_entropy(law.d, law.like())


def _numeric_over_batch(P: _Law, Q: _Law | None, method):
    if P.event_ndim or (Q is not None and Q.event_ndim):
        raise _multivariate(P, Q)
    batch = P.batch if Q is None else tuple(np.broadcast_shapes(P.batch, Q.batch))
    out = np.empty(batch)
    for idx in np.ndindex(batch):
        try:
            p = P.scalar(_sub(P.batch, batch, idx))
            q = None if Q is None else Q.scalar(_sub(Q.batch, batch, idx))
        except NotImplementedError:  # _canonical has no scipy view of this family: no numeric method here
            raise _no_numeric(P, Q) from None
        out[idx] = method(p, P.kind) if Q is None else method(p, q, P.kind)
    return out


def _sub(shape, batch, idx):
    idx = idx[len(batch) - len(shape) :] if shape else ()
    return tuple(0 if s == 1 else i for s, i in zip(shape, idx))


def _no_numeric(P, Q):
    what, fix = ("JS(p, q)", "kb.estimate_js(p, q)") if Q is not None else ("H(p)", "kb.estimate_entropy(p)")
    fams = ", ".join(str(L.d.family) for L in (P, Q) if L is not None and L.d is not None)
    msg = f"{what} of {fams} laws has no closed form or numeric method here; use {fix} for a Monte Carlo estimate with an error bar"
    return TypeError(msg)


def _multivariate(P, Q):
    what = "JS(p, q)" if Q is not None else "H(p)"
    fix = "kb.estimate_js(p, q)" if Q is not None else "kb.estimate_entropy(p)"
    msg = (
        f"{what} of multivariate laws without a closed form has no deterministic numeric method here; "
        f"use {fix} for a Monte Carlo estimate with an error bar"
    )
    return TypeError(msg)


def _numeric_entropy(p, kind):
    if kind == "discrete":
        lo, hi = _int_range([p])

        def terms(ks):
            a = np.asarray(p.logpmf(ks), dtype=np.float64)
            return np.where(a > -np.inf, -np.exp(a) * a, 0.0)

        return _sum(terms, lo, hi, "H(p)")

    def f(x):
        a = np.asarray(p.logpdf(x), dtype=np.float64)
        return np.where(a > -np.inf, -np.exp(a) * a, 0.0)

    return _quad(f, [p], "H(p)", scale_ok=True)


# ---------------------------------------------------------------- quadrature and summation


def _edges(laws):
    lo = min(float(law.support()[0]) for law in laws)
    hi = max(float(law.support()[1]) for law in laws)
    cuts = np.concatenate(
        [np.asarray(law.ppf(np.asarray(_SPLITS)), dtype=np.float64) for law in laws]
        + [np.asarray(getattr(law, "kinks", ()), dtype=np.float64) for law in laws]
    )
    cuts = np.unique(cuts[np.isfinite(cuts) & (cuts > lo) & (cuts < hi)])
    edges = np.array([lo, *cuts.tolist(), hi])
    # merge cuts a few ulps apart (quantiles of two laws that agree to rounding): an interval of width
    # ~1 ulp has no interior points for tanh-sinh, which returns NaN on it (review item 5: cauchy vs cauchy(1, 3))
    keep = np.ones(edges.size, dtype=bool)
    last = edges[0]
    for i in range(1, edges.size - 1):
        if edges[i] - last <= 8 * np.spacing(max(abs(last), abs(edges[i]))):
            keep[i] = False
        else:
            last = edges[i]
    if edges.size > 2 and np.isfinite(edges[-1]) and keep.sum() > 2:
        j = np.flatnonzero(keep[:-1])[-1]  # the last kept interior cut against the upper end
        if j > 0 and edges[-1] - edges[j] <= 8 * np.spacing(max(abs(edges[j]), abs(edges[-1]))):
            keep[j] = False
    return edges[keep]


def _quad(f, laws, what, scale_ok=False):
    """int f over the union of the laws' supports, split at their quantiles (tanh-sinh; Takahasi & Mori 1974)."""
    edges = _edges(laws)
    with np.errstate(all="ignore"):
        res = integrate.tanhsinh(f, edges[:-1], edges[1:], rtol=1e-11, atol=0.0)
    values, errors = np.atleast_1d(res.integral), np.atleast_1d(res.error)
    total = math.fsum(values.tolist())
    err = float(np.sum(np.abs(errors)))
    # the tolerance is relative to the total, or (entropies may be near 0 by cancellation) to the size of its parts
    size = float(np.sum(np.abs(values))) if scale_ok else abs(total)
    if not (math.isfinite(total) and math.isfinite(err)) or err > max(RTOL * max(abs(total), 1e-3 * size), 1e-12):
        msg = f"{what}: quadrature reached {total!r} with error bound {err:.2g}, not within {RTOL:g}"
        raise ValueError(msg)
    return total


def _int_range(laws):
    """[lo, hi]: integers outside carry less than 1e-18 of each law's mass (hi by doubling with sf)."""
    lo = min(float(law.support()[0]) for law in laws)
    hi = max(float(law.support()[1]) for law in laws)
    if math.isinf(lo):
        msg = "summation needs laws bounded below"
        raise ValueError(msg)
    if math.isinf(hi):
        k = max(lo, 1.0)
        while any(float(law.sf(k)) >= _TAIL for law in laws):
            k = 2 * k + 1
            if k - lo > _MAX_TERMS:
                msg = f"the tail of the mass function decays too slowly to sum (mass {max(float(law.sf(k)) for law in laws):.2g} beyond {k:g})"
                raise ValueError(msg)
        hi = k
    return int(lo), int(hi)


def _sum(terms, lo, hi, what):
    if hi - lo > _MAX_TERMS:
        msg = f"{what}: {hi - lo} terms to sum exceeds {_MAX_TERMS}"
        raise ValueError(msg)
    with np.errstate(all="ignore"):
        return math.fsum(terms(np.arange(lo, hi + 1, dtype=np.float64)).tolist())


# ---------------------------------------------------------------- cross-entropy and JS


def cross_entropy(p, q, *, base=None):
    """H(p, q) = H(p) + D(p||q) of distribution objects (+inf where D(p||q) is infinite)."""
    from . import kl

    h = entropy(p)
    d = kl(p, q)
    law = _Law(p, "p")
    if law.backend == "torch" or hasattr(d, "detach") or hasattr(h, "detach"):
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
    P, Q = _law(p, "p", "JS(p, q)", "kb.estimate_js(p, q)"), _law(q, "q", "JS(p, q)", "kb.estimate_js(p, q)")
    if P.kind != Q.kind:
        msg = f"p is {P.kind} and q is {Q.kind}: their Jensen-Shannon divergence is not defined (no common reference measure)"
        raise TypeError(msg)
    if P.d is not None and Q.d is not None and P.d.family == Q.d.family == "categorical":
        value = _categorical_js(P, Q)
    else:
        _refuse_grad(P, "JS(p, q)")
        _refuse_grad(Q, "JS(p, q)")
        if (P.d is not None and P.d.reinterpreted) or (Q.d is not None and Q.d.reinterpreted):
            raise _multivariate(P, Q)
        value = _as_backend(_numeric_over_batch(P, Q, _numeric_js), P if P.backend == "torch" else Q)
    return _finish(value, P if P.backend == "torch" else Q, base)


def _js_terms(a, b):
    """1/2 p log(2p/(p+q)) + 1/2 q log(2q/(p+q)) from a = log p, b = log q (0 log 0 = 0)."""
    m = np.logaddexp(a, b)
    ta = np.where(a > -np.inf, np.exp(a) * (_LOG2 + a - m), 0.0)
    tb = np.where(b > -np.inf, np.exp(b) * (_LOG2 + b - m), 0.0)
    return 0.5 * (ta + tb)


def _numeric_js(p, q, kind):
    if kind == "discrete":
        lo, hi = _int_range([p, q])
        value = _sum(
            lambda ks: _js_terms(np.asarray(p.logpmf(ks), dtype=np.float64), np.asarray(q.logpmf(ks), dtype=np.float64)), lo, hi, "JS(p, q)"
        )
    else:
        value = _quad(
            lambda x: _js_terms(np.asarray(p.logpdf(x), dtype=np.float64), np.asarray(q.logpdf(x), dtype=np.float64)), [p, q], "JS(p, q)"
        )
    return min(max(value, 0.0), _LOG2)


def _categorical_js(P: _Law, Q: _Law):
    from ._ops import Ops

    like = P.like() if P.backend == "torch" else Q.like()
    o = Ops("torch" if "torch" in (P.backend, Q.backend) else "numpy", like)
    a, b = o.asarray(P.d.params["probs"]), o.asarray(Q.d.params["probs"])
    if a.shape[-1] != b.shape[-1]:
        msg = f"p and q have different numbers of categories: {a.shape[-1]} and {b.shape[-1]}"
        raise ValueError(msg)
    m = 0.5 * (a + b)
    # xlogy(a, a) - xlogy(a, m): 0 where a = 0 (Lin 1991, eq. 4.1, with 0 log 0 = 0)
    return 0.5 * (o.xlogy(a, a) - o.xlogy(a, m)).sum(-1) + 0.5 * (o.xlogy(b, b) - o.xlogy(b, m)).sum(-1)
