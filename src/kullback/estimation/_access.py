"""Uniform access to distribution objects for the estimators: recognise, draw, evaluate.

The Monte Carlo estimators see every distribution object (scipy.stats classic
frozen laws, scipy's multivariate frozen laws, scipy's new random-variable API
including ``scipy.stats.Mixture``, and ``torch.distributions`` objects) through
five functions:

- :func:`is_distribution`: is this a distribution object (not samples)?
- :func:`is_discrete`: a mass function (integers, categories) rather than a density?
- :func:`event_dim`: 0 for a univariate law, d for a law on R^d (or a d-vector of counts);
- :func:`sample`: ``n`` draws as a NumPy array, ``(n,)`` or ``(n, d)``, float64 (int64 for
  discrete laws); the same ``rng`` gives the same draws, torch objects included;
- :func:`log_density`: log p(x) as float64, ``-inf`` outside the support (NaN where the law itself
  gives NaN: it is passed on, for the caller to refuse, never turned into ``-inf``).

torch is never imported to look at an input: a torch object can only exist if
the caller imported torch (``sys.modules``).  One distribution at a time: a
batch of laws (a torch ``batch_shape`` or scipy array parameters) is refused.
"""

from __future__ import annotations

import math
import sys

import numpy as np

__all__ = ["is_distribution", "is_discrete", "event_dim", "sample", "log_density", "as_generator"]


def as_generator(rng) -> np.random.Generator:
    """``rng`` (None, an int seed, a SeedSequence or a Generator) as a NumPy Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    msg = f"`rng` must be None, an int seed or a numpy.random.Generator, not {type(rng).__name__}"
    raise TypeError(msg)


# ---------------------------------------------------------------- recognising


def _torch_distributions():
    torch = sys.modules.get("torch")
    return None if torch is None else getattr(torch, "distributions", None)


def _is_torch(obj) -> bool:
    D = _torch_distributions()
    return D is not None and isinstance(obj, D.Distribution)


def _kind(obj) -> str | None:
    """'torch', 'classic' (rv_frozen), 'unfrozen', 'multi' (multi_rv_frozen), 'new' (new API), or None."""
    if _is_torch(obj):
        return "torch"
    mod = type(obj).__module__ or ""
    if not mod.startswith("scipy.stats"):
        return None
    import scipy.stats as st

    if isinstance(obj, (st.rv_continuous, st.rv_discrete)):
        return "unfrozen"
    if hasattr(obj, "dist") and hasattr(obj, "args") and hasattr(obj, "rvs"):
        return "classic"
    if any(c.__name__ == "multi_rv_frozen" for c in type(obj).__mro__):
        return "multi"
    if any(c.__name__ == "_ProbabilityDistribution" for c in type(obj).__mro__):
        return "new"
    return None


def is_distribution(obj) -> bool:
    """True for a scipy.stats or torch.distributions object (frozen or not: an unfrozen family
    is refused with advice when it is used)."""
    return _kind(obj) is not None


def _require(obj, name="distribution") -> str:
    kind = _kind(obj)
    if kind is None:
        msg = (
            f"`{name}` must be a scipy.stats or torch.distributions object with `rvs`/`sample`, "
            f"not {type(obj).__module__}.{type(obj).__name__}"
        )
        raise TypeError(msg)
    if kind == "unfrozen":
        fam = getattr(obj, "name", type(obj).__name__)
        msg = f"`{name}` is the unfrozen family scipy.stats.{fam}; freeze it with its parameters, e.g. scipy.stats.{fam}(...)"
        raise TypeError(msg)
    if kind == "torch" and tuple(obj.batch_shape) != ():
        msg = f"`{name}` is a batch of torch distributions (batch_shape {tuple(obj.batch_shape)}); give one distribution at a time"
        raise ValueError(msg)
    if kind == "classic" and any(np.ndim(a) for a in (*obj.args, *obj.kwds.values())):
        msg = f"`{name}` is a batch of scipy.stats.{obj.dist.name} laws (array parameters); give one distribution at a time"
        raise ValueError(msg)
    if kind == "new" and tuple(getattr(obj, "_shape", ())) != ():
        msg = f"`{name}` is a batch of {type(obj).__name__} laws (shape {tuple(obj._shape)}); give one distribution at a time"
        raise ValueError(msg)
    return kind


def is_discrete(dist) -> bool:
    """True for a law with a mass function (on the integers, categories, count vectors)."""
    kind = _require(dist)
    if kind == "torch":
        return bool(getattr(dist.support, "is_discrete", False))
    if kind == "classic":
        import scipy.stats as st

        return isinstance(dist.dist, st.rv_discrete)
    if kind == "multi":
        return not hasattr(dist, "logpdf") and hasattr(dist, "logpmf")
    comps = getattr(dist, "components", None)  # scipy.stats.Mixture: discrete if its components are
    if comps is not None and not callable(comps):
        return all(is_discrete(c) for c in comps)
    return any(c.__name__ == "DiscreteDistribution" for c in type(dist).__mro__)


def event_dim(dist) -> int:
    """0 for a univariate law; d for a law on R^d (torch: the product of its event shape)."""
    kind = _require(dist)
    if kind == "torch":
        return math.prod(dist.event_shape) if len(dist.event_shape) else 0
    if kind in ("classic", "new"):
        return 0
    for attr in ("dim", "alpha", "p"):  # mvn/multivariate_t/wishart: dim; dirichlet: alpha; multinomial: p
        v = getattr(dist, attr, None)
        if v is None:
            continue
        return int(v) if attr == "dim" else int(np.shape(v)[-1])
    return int(np.size(dist.rvs(size=1, random_state=np.random.default_rng(0))))


# ---------------------------------------------------------------- drawing


def sample(dist, n: int, rng=None) -> np.ndarray:
    """``n`` draws of ``dist``: shape (n,) for a univariate law, (n, d) otherwise; float64, or
    int64 for a discrete law.  The same ``rng`` (seed or Generator) gives the same draws."""
    kind = _require(dist)
    n = int(n)
    if n < 1:
        msg = f"`n` must be a positive number of draws, not {n}"
        raise ValueError(msg)
    rng = as_generator(rng)
    d = event_dim(dist)
    if kind == "torch":
        x = _torch_sample(dist, n, rng)
    elif kind in ("classic", "multi"):
        x = np.asarray(dist.rvs(size=n, random_state=rng))
    else:
        if not hasattr(dist, "sample"):
            msg = f"`distribution` ({type(dist).__name__}) has no `sample` method; Monte Carlo needs draws"
            raise TypeError(msg)
        x = np.asarray(dist.sample(n, rng=rng))
    x = x.reshape((n, d) if d else (n,))
    if is_discrete(dist):
        return np.rint(x).astype(np.int64)
    return x.astype(np.float64, copy=False)


def _torch_sample(dist, n, rng):
    """Draws of a torch distribution from a torch generator state seeded by ``rng`` (torch has
    no per-call generator for distributions: the global state is forked and restored)."""
    import torch

    if not getattr(dist, "has_rsample", False) and not _has_own_sample(dist):
        msg = f"`distribution` (torch.distributions.{type(dist).__name__}) has no `sample` method; Monte Carlo needs draws"
        raise TypeError(msg)
    seed = int(rng.integers(0, 2**63 - 1))
    like = _torch_like(dist)
    devices = [like.device] if like is not None and like.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.no_grad():
        torch.manual_seed(seed)
        x = dist.sample((n,))
    return x.detach().cpu().double().numpy()


def _has_own_sample(dist) -> bool:
    import torch

    return type(dist).sample is not torch.distributions.Distribution.sample


def _torch_like(dist):
    """A floating-point tensor among the distribution's parameters (its dtype and device), or None."""
    from ..distributions._canonical import torch_tensors

    return next((v for v in torch_tensors(dist) if v.is_floating_point()), None)


# ---------------------------------------------------------------- evaluating


def log_density(dist, x) -> np.ndarray:
    """log p(x) (a density, or a mass function for discrete laws) as float64; ``-inf`` outside
    the support.  ``x`` is (n,) or (n, d) as :func:`sample` returns it; the result is (n,)."""
    kind = _require(dist)
    x = np.asarray(x)
    n = x.shape[0] if x.ndim else 1
    d = event_dim(dist)
    if kind == "torch":
        out = _torch_log_prob(dist, x)
    elif kind == "multi" and type(dist).__name__ == "dirichlet_frozen":
        out = _dirichlet_logpdf(dist, x)
    else:
        method = "logpmf" if is_discrete(dist) else "logpdf"
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = getattr(dist, method)(x.reshape(n, d) if d else x)
    # NaN stays NaN (a bug of the law or its parameters, which the callers refuse), never -inf
    return np.asarray(out, dtype=np.float64).reshape(n)


def _dirichlet_logpdf(dist, x):
    """scipy's dirichlet wants components along the first axis and refuses points off the open simplex."""
    x = np.asarray(x, dtype=np.float64).reshape(-1, np.shape(dist.alpha)[-1])
    inside = np.all(x > 0, axis=1) & np.isclose(x.sum(axis=1), 1.0, rtol=0, atol=1e-9)
    out = np.full(x.shape[0], -np.inf)
    if inside.any():
        out[inside] = dist.logpdf(x[inside].T)
    return out


def _torch_log_prob(dist, x):
    """log_prob as float64 NumPy, no gradient, ``-inf`` where ``x`` is outside the support (torch
    would raise there when it validates its arguments, or return a meaningless number when not)."""
    import torch

    like = _torch_like(dist)
    dtype = like.dtype if like is not None else torch.get_default_dtype()
    device = like.device if like is not None else None
    shape = (x.shape[0], *dist.event_shape) if x.ndim else tuple(dist.event_shape)
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(shape), dtype=dtype, device=device)
    with torch.no_grad():
        inside = dist.support.check(xt)
        for _ in range(inside.dim() - (1 if x.ndim else 0)):
            inside = inside.all(dim=-1)
        if not bool(inside.all()):
            if not bool(inside.any()):
                return np.full(x.shape[0] if x.ndim else 1, -np.inf)
            filler = xt[inside][0]
            xt = torch.where(inside.reshape(inside.shape + (1,) * (xt.dim() - inside.dim())), xt, filler)
        lp = dist.log_prob(xt)
        lp = torch.where(inside, lp, torch.full_like(lp, -math.inf))
    return lp.detach().cpu().double().numpy()
