"""Closed-form entropies of distribution objects: ``closed_entropy(d, like)`` for ``kb.entropy``.

A registry ``ENTROPY[family](o, params)`` for the families whose entropy needs more than the ``Moments``
table of ``_cross`` (the rest take ``moments(...).entropy``); every entry is arranged so that nothing
cancels where the textbook formula does (issue 24, item 5):

- Dirichlet and beta: the textbook sum where its rounding is below 1e-11 of it (ordinary concentrations), else
  H = -log((k - 1)!) - D(Dir(alpha) || Dir(1, ..., 1)), since Dir(1, ..., 1) is the uniform
  law on the simplex, of density (k - 1)! (Cover & Thomas, *Elements of Information Theory*, 2nd ed., eq. 2.90:
  D(p||u) = -H(p) - E_p log u). Both terms are <= 0 and the divergence is the same-family formula (a sum of
  non-negative terms, each to full relative accuracy: ``_same_gamma``), so the large terms of the textbook
  log B(alpha) + (alpha_0 - k) psi(alpha_0) - sum (alpha_j - 1) psi(alpha_j) (Lin 2016) never meet:
  [1e14, 1, 1] gave -62.0 for -62.4724, Beta(1 + 1e-8, 1) lost every digit of its -5e-17.
- von Mises: H = log(2 pi) + L(k) - k L'(k), L = log I0e = log I0(k) - k (Mardia & Jupp, "Directional
  Statistics" (2000), sec. 3.5.4, with E cos(X - m) = I1/I0 = 1 + L'), L and L' by Hankel's series from k = 30
  (``_ops.LOGI0_L``): k (1 - I1/I0) = -k L'(k) = 1/2 + sum_m m c_m k^-m, where the ratio of scaled Bessel
  functions rounded to 1 (0.5 nats off from k = 1e16, 1.3e-5 relative at 1e12).
- multivariate normal: H = d/2 (1 + log 2 pi) + sum log |diag L| (Cover & Thomas, Thm. 8.4.1).
- categorical: H = -sum p log p, from the normalised log-probabilities; torch gradients from the partials
  dH/dp_j = (-log p^_j - H)/S (S = sum p), the most positive float where p_j = 0 (one-sided +inf: autograd
  through xlogy gave NaN for every component, also through logits).

Torch tensors of lower precision are computed in float64 and rounded once, as ``kl`` does (float32
Dirichlet([1e4] * 3): 6.5e-4 off when computed in float32). MPS devices have no float64 and compute natively.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ._autograd import analytic
from ._ops import LOG_2PI, LOGI0_L, Ops, vm_curvature

__all__ = ["closed_entropy", "ENTROPY"]

ENTROPY = {}


def _entropy(family):
    def register(fn):
        ENTROPY[family] = fn
        return fn

    return register


def closed_entropy(d, like):
    """H of the canonical description ``d`` in closed form (backend array over its batch), or None."""
    if d.family is None:
        return None
    o = Ops(d.backend, like)
    if o.backend == "torch" and o.dtype != o.t.float64 and not (o.device is not None and o.device.type == "mps"):
        wide = Ops("torch", o.t.zeros((), dtype=o.t.float64, device=o.device))
        value = _closed(wide, d, {k: o.asarray(v).double() for k, v in d.params.items()})
        return None if value is None else value.to(o.dtype)
    return _closed(o, d, {k: o.asarray(v) for k, v in d.params.items()})


def _closed(o, d, P):
    fn = ENTROPY.get(d.family)
    if fn is not None:
        value = fn(o, P)
    else:
        from ._cross import moments

        m = moments(o, dataclasses.replace(d, params=P))
        if m is None or m.entropy is None:
            return None
        value = m.entropy
    return value  # per law of the batch: the caller (_entropy._batched) broadcasts it and sums Independent dimensions


@_entropy("mvn")
def _mvn(o, P):
    L = P["scale_tril"]
    k = L.shape[-1]
    diag = L.diagonal(dim1=-2, dim2=-1) if o.backend == "torch" else np.diagonal(L, axis1=-2, axis2=-1)
    return 0.5 * k * (1 + LOG_2PI) + o.log(o.abs(diag)).sum(-1)


def _same_kl(family, o, p, q):
    from ._closed import SAME

    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # branches where() discards, as kl's
        return SAME[family].formula(o, p, q)


@_entropy("dirichlet")
def _dirichlet(o, P):
    return _dirichlet_entropy(o, P["alpha"])


@_entropy("beta")
def _beta(o, P):
    a, b = P["a"], P["b"]
    pair = o.t.stack(o.t.broadcast_tensors(a, b), -1) if o.backend == "torch" else np.stack(np.broadcast_arrays(a, b), -1)
    return _dirichlet_entropy(o, pair)


def _dirichlet_entropy(o, a):
    """H(Dir(a)), differentiated in torch by -dD/da (Penny's partials of D(Dir(a) || Dir(1, ..., 1)), formed without
    overflow: autograd through the textbook sum met trigamma(1e-156) = inf, NaN)."""
    return analytic(o, _dirichlet_value, _dirichlet_partials, a)


def _dirichlet_partials(o, a):
    from ._same_gamma import _dirichlet_partials as kl_partials

    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return (-kl_partials(o, a, o.full_like(a, 1.0))[0],)


def _dirichlet_value(o, a):
    """The textbook sum where its rounding (16 eps times the sum of its terms' magnitudes) is below 1e-11 of it
    (ordinary concentrations: one pass of lgamma and digamma), else, on those rows only, -log((k-1)!) - D(Dir(a) ||
    Dir(1, ..., 1)) (module docstring)."""
    k = a.shape[-1]
    h, terms = _dirichlet_textbook(o, a)
    # k >= 3 and every concentration in [0.01, 100]: |H| >= log 2 and the terms' magnitudes below 1400 |H| (measured over
    # the box's corners and 80000 draws per k), so the sum is taken without forming the bound
    if k >= 3 and bool(((a >= 0.01) & (a <= 100)).all()):
        return h
    eps = float(o.t.finfo(a.dtype).eps) if o.backend == "torch" else float(np.finfo(np.float64).eps)
    slow = ~(16 * eps * _magnitude(o, a, *terms) <= 1e-11 * o.abs(h))  # NaN-safe: non-finite parts go the slow way
    if not bool(slow.any()):
        return h
    rows = a[slow]
    far = -math.lgamma(k) - _same_kl("dirichlet", o, {"alpha": rows}, {"alpha": o.full_like(rows, 1.0)})
    return o.masked_set(h, slow, far)


def _dirichlet_textbook(o, a):
    """(log B(a) + (a0 - k) psi(a0) - sum (a_j - 1) psi(a_j), its terms)  [Lin 2016]."""
    k = a.shape[-1]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        a0 = o.sum(a, -1)
        lg, lg0 = o.lgamma(a), o.lgamma(a0)
        t0, ta = (a0 - k) * o.digamma(a0), (a - 1) * o.digamma(a)
        return o.sum(lg, -1) - lg0 + t0 - o.sum(ta, -1), (lg, lg0, t0, ta)


def _magnitude(o, a, lg, lg0, t0, ta):
    """The sum of the textbook terms' magnitudes, plus one unit per lgamma and digamma (accurate to eps absolute, not
    relative, near their zeros 1, 2 and 1.46)."""
    k = a.shape[-1]
    with np.errstate(over="ignore", invalid="ignore"):
        mag = o.sum(o.abs(lg) + o.abs(ta) + o.abs(a - 1), -1) + o.abs(lg0) + o.abs(t0)
        return mag + (k + 1) + o.abs(o.sum(a, -1) - k)


@_entropy("vonmises")
def _vonmises(o, P):
    return analytic(o, _vonmises_value, _vonmises_partial, P["concentration"])


def _vonmises_value(o, k):
    # below 1e4 the one-pass form, k (1 - i1e/i0e) with 1 - A ~ 1/(2k) differenced, is off by ~k eps: below 1e-11 of H
    if not bool((k >= 1e4).any()):
        i0 = o.i0e(k)
        return LOG_2PI + o.log(i0) + k * (1 - o.i1e(k) / i0)
    return LOG_2PI + LOGI0_L.L(o, k) - k * LOGI0_L.dL(o, k)


def _vonmises_partial(o, k):
    """dH/dk = -k L''(k) = -k (1 - A/k - A^2) (``vm_curvature`` below 30, Hankel's series of k^2 L'' from 30, divided
    by k: autograd through the series gave NaN at k = 1e297)."""
    big = k >= 30
    kb_, ks = o.where(big, k, 30.0), o.where(big, 1.0, k)
    return (o.where(big, -LOGI0_L.x2_d2_asym(o, kb_) / kb_, -ks * vm_curvature(o, ks)),)


@_entropy("categorical")
def _categorical(o, P):
    probs = P["probs"]
    logp = P["logp"] if "logp" in P else o.log(probs)
    if o.backend == "torch":
        probs, logp = o.t.broadcast_tensors(probs, logp)
    else:
        probs, logp = np.broadcast_arrays(probs, logp)
    return analytic(o, _categorical_value, _categorical_partials, probs, logp)


def _categorical_parts(o, probs, logp):
    """(has, log p^, p^, S) for p^ = probs / S: log p^ = log p - log S from the held probabilities, the
    log-probabilities where a probability underflowed to 0 (torch logits); 0 where p^ is."""
    s = o.sum(probs, -1)
    has = logp > -math.inf
    held = probs > 0
    lp = o.log(o.where(held, probs, 1.0)) - _log_sum(o, probs)[..., None]
    r = o.where(held, lp, o.where(has, logp, 0.0))
    return has, r, o.where(has, probs / s[..., None], 0.0), s


def _log_sum(o, probs):
    """log sum(p) as log1p((p_max - 1) + sum of the others): p_max - 1 is exact from 1/2 up, so a sum 1 + 1e-227 keeps
    its 1e-227 (H([1, 1.7e-227]) lost 0.2% of its 8.8e-225: the first term's -p^ log p^ ~ 1.7e-227 is all log S)."""
    k = probs.shape[-1]
    if o.backend == "torch":
        top = o.t.arange(k, device=probs.device) == probs.argmax(-1, keepdim=True)
    else:
        top = np.arange(k) == np.argmax(probs, -1)[..., None]
    m = o.sum(o.where(top, probs, 0.0), -1)
    return o.log1p((m - 1) + o.sum(o.where(top, 0.0, probs), -1))


def _categorical_value(o, probs, logp):
    """log S - sum p log p / S (one pass), or, where that is below 1e-4 k (then the rounding of S, k eps, is more than
    1e-11 of it: a law near a point mass), -sum p^ log p^ from :func:`_categorical_parts`."""
    s = o.sum(probs, -1)
    # p log p as p times the log-probabilities, clamped so that 0 log 0 is 0 (torch's own Categorical.entropy;
    # a third of xlogy's time): where built from probs they are log p, from logits log p to rounding
    h = o.log(s) - o.sum(probs * logp.clip(_finfo_min(o, logp), None), -1) / s
    if not bool((~(h > 1e-4 * probs.shape[-1])).any()):
        return h
    has, r, ph, _ = _categorical_parts(o, probs, logp)
    return -o.sum(o.where(has, ph * r, 0.0), -1)


def _finfo_min(o, x):
    return float(o.t.finfo(x.dtype).min if o.backend == "torch" else np.finfo(x.dtype).min)


def _categorical_partials(o, probs, logp):
    """dH/dp_j = (-log p^_j - H)/S for H(p / S); the largest float where p_j = 0 (see the module docstring)."""
    # r = log p^ up to one rounding of log S: a constant error d in r moves H by -d (sum p^ = 1), so -r - H keeps it
    # out to first order, and the exact log S of _categorical_parts (for the value near a point mass) is not needed
    s = o.sum(probs, -1)
    has = logp > -math.inf
    r = logp - o.log(s)[..., None]
    ph = probs / s[..., None]
    H = -o.sum(o.where(has, ph * r, 0.0), -1)[..., None]
    big = float(o.t.finfo(probs.dtype).max)
    return o.where(has & (probs > 0), (-r - H) / s[..., None], big), None
