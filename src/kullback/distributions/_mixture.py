"""A scalar, scipy-like view of a univariate finite mixture, for the numeric methods.

A mixture m(x) = sum_i w_i p_i(x) (torch ``MixtureSameFamily`` with univariate
components, ``scipy.stats.Mixture`` of the new random-variable API) has no
closed-form KL, but in one dimension the quadrature of ``_numeric.quad_kl``
computes it to 1e-6 from log m, the quantile function and the support.  This
view supplies them in float64:

- ``logpdf`` (``logpmf`` for discrete components): log sum_i exp(log w_i + log p_i(x))
  (``scipy.special.logsumexp``, no underflow where every component is tiny);
- ``logcdf``/``logsf``/``cdf``/``sf``: the same log-sum-exp over the components' log-CDFs;
- ``ppf``: vectorised root finding (Chandrupatla's method, ``scipy.optimize.elementwise.find_root``)
  of log F(x) = log u (log S(x) = log(1 - u) above the median, for accuracy in the upper tail)
  inside the bracket [min_i F_i^-1(u), max_i F_i^-1(u)]: at the smallest component quantile
  every F_i is <= u, hence F <= u; at the largest, F >= u;
- ``support()``: the union of the components' supports; ``kinks``: the components' kinks;
- ``standard_form()``: the same density in a standard variable u = (x - loc)/scale, each component evaluated
  in its own (the numeric methods' view, as for scipy's location-scale laws).
"""

from __future__ import annotations

import math
import sys

import numpy as np
from scipy import special

__all__ = ["MixtureView", "mixture_view"]


class _Component:
    """One component as float64 log-density / log-CDF / log-SF / quantile functions."""

    def __init__(self, obj):
        self.obj = obj
        new = hasattr(obj, "icdf") and not hasattr(obj, "ppf")  # scipy's new random-variable API
        self.discrete = hasattr(obj, "logpmf") and not hasattr(obj, "logpdf") or _new_discrete(obj)
        self._logd = obj.logpmf if self.discrete else obj.logpdf
        self._ppf = obj.icdf if new else obj.ppf
        self._logsf = obj.logccdf if new else getattr(obj, "logsf", None)
        self._logcdf = getattr(obj, "logcdf", None)
        if self._logcdf is None and hasattr(obj, "_d"):  # kullback's own views (Laplace) keep a scipy object
            self._logcdf, self._logsf = obj._d.logcdf, obj._d.logsf
        self.kinks = tuple(getattr(obj, "kinks", ()))
        if getattr(getattr(obj, "dist", None), "name", None) == "norm":  # the common case, without scipy's per-call overhead
            self._normal(*(float(v) for v in (obj.mean(), obj.std())))

    def _normal(self, mu, s):
        c = -math.log(s) - 0.5 * math.log(2 * math.pi)
        self._logd = lambda x: c - 0.5 * ((np.asarray(x, dtype=np.float64) - mu) / s) ** 2
        self._logcdf = lambda x: special.log_ndtr((np.asarray(x, dtype=np.float64) - mu) / s)
        self._logsf = lambda x: special.log_ndtr((mu - np.asarray(x, dtype=np.float64)) / s)
        self._ppf = lambda u: mu + s * special.ndtri(np.asarray(u, dtype=np.float64))

    def logd(self, x):
        return np.asarray(self._logd(x), dtype=np.float64)

    def logcdf(self, x):
        return np.asarray(self._need(self._logcdf, "a CDF")(x), dtype=np.float64)

    def logsf(self, x):
        return np.asarray(self._need(self._logsf, "a survival function")(x), dtype=np.float64)

    def ppf(self, u):
        return np.asarray(self._ppf(u), dtype=np.float64)

    def support(self):
        lo, hi = self.obj.support()
        return float(lo), float(hi)

    def _need(self, f, what):
        if f is None:
            msg = f"a mixture component ({type(self.obj).__name__}) has no {what}; its mixture has no quantile function here"
            raise TypeError(msg)
        return f


def _new_discrete(obj):
    return any(c.__name__ == "DiscreteDistribution" for c in type(obj).__mro__)


class MixtureView:
    """sum_i w_i p_i for scalar component views p_i (scipy-like: logpdf/logcdf/logsf/ppf/support)."""

    def __init__(self, weights, components):
        w = np.asarray(weights, dtype=np.float64)
        keep = w > 0
        if w.ndim != 1 or w.size != len(components) or not np.all(np.isfinite(w)) or np.any(w < 0) or not keep.any():
            msg = f"mixture `weights` must be finite, non-negative, one per component and not all 0; got {w.tolist()}"
            raise ValueError(msg)
        self.weights = w[keep] / w[keep].sum()
        self.components = [_Component(c) for c, k in zip(components, keep) if k]
        self._logw = np.log(self.weights)[:, None]
        kinds = {c.discrete for c in self.components}
        if len(kinds) > 1:
            msg = "a mixture of densities and mass functions has neither a density nor a mass function"
            raise TypeError(msg)
        self.discrete = kinds.pop()
        self.kinks = tuple(k for c in self.components for k in c.kinks)

    def standard_form(self):
        """(loc, scale, log-density in u, quantiles in u, support in u) with x = loc + scale u, loc and scale those
        of the heaviest component, each component read in its own standard variable (``_numeric._Law``): the
        numeric methods never form x, so a mixture far from 0 (components at 1e12 of scale 1) keeps its digits.
        None for mass functions (their lattice is the components' own)."""
        if self.discrete:
            return None
        from ._numeric import _Law

        laws = [_Law(c.obj, False) for c in self.components]
        i = int(np.argmax(self.weights))
        loc, scale = laws[i].loc, laws[i].scale
        shift = np.array([(loc - L.loc) / L.scale for L in laws])[:, None]
        stretch = np.array([scale / L.scale for L in laws])[:, None]
        const = self._logw + np.array([math.log(scale) - math.log(L.scale) for L in laws])[:, None]

        def logf(u):
            u = np.asarray(u, dtype=np.float64)
            flat = u.reshape(1, -1)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                terms = np.stack([L.logf(v) for L, v in zip(laws, shift + stretch * flat)])
                out = special.logsumexp(const + terms, axis=0)
            return out.reshape(u.shape)

        lo, hi = self.support()
        return loc, scale, logf, lambda pr: (self.ppf(pr) - loc) / scale, ((lo - loc) / scale, (hi - loc) / scale)

    def _lse(self, f, x):
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            terms = np.stack([np.broadcast_to(f(c, x), x.shape) for c in self.components])
            out = special.logsumexp(self._logw.reshape((-1,) + (1,) * x.ndim) + terms, axis=0)
        return out[()] if out.ndim == 0 else out

    def logpdf(self, x):
        """log m(x) = logsumexp_i(log w_i + log p_i(x))."""
        if self.discrete:
            msg = "this mixture has discrete components: use logpmf"
            raise TypeError(msg)
        return self._lse(_Component.logd, x)

    def logpmf(self, x):
        """log m(k) = logsumexp_i(log w_i + log p_i(k)) for discrete components."""
        if not self.discrete:
            msg = "this mixture has continuous components: use logpdf"
            raise TypeError(msg)
        return self._lse(_Component.logd, x)

    def pdf(self, x):
        return np.exp(self.logpdf(x))

    def logcdf(self, x):
        return self._lse(_Component.logcdf, x)

    def logsf(self, x):
        return self._lse(_Component.logsf, x)

    def cdf(self, x):
        return np.exp(self.logcdf(x))

    def sf(self, x):
        return np.exp(self.logsf(x))

    def support(self):
        ends = np.array([c.support() for c in self.components])
        return float(ends[:, 0].min()), float(ends[:, 1].max())

    def ppf(self, u):
        """F^-1(u): the smallest x with F(x) >= u (a root of log F(x) = log u, bracketed by the
        components' quantiles)."""
        u = np.asarray(u, dtype=np.float64)
        shape = u.shape
        u = u.reshape(-1)
        qs = np.stack([c.ppf(u) for c in self.components])
        lo, hi = qs.min(axis=0), qs.max(axis=0)
        out = np.where(u <= 0, self.support()[0], np.where(u >= 1, self.support()[1], lo))
        todo = np.flatnonzero((u > 0) & (u < 1) & (hi > lo))
        if todo.size and self.discrete:
            out[todo] = self._discrete_ppf(u[todo], lo[todo], hi[todo])
        elif todo.size:
            out[todo] = self._root(u[todo], lo[todo], hi[todo])
        out = out.reshape(shape)
        return out[()] if out.ndim == 0 else out

    def _root(self, u, lo, hi):
        from scipy.optimize.elementwise import find_root

        upper = u > 0.5
        target = np.where(upper, np.log1p(-u), np.log(u))

        def f(x, target, upper):
            # increasing in x on both sides: log F(x) - log u, and log(1 - u) - log S(x)
            out = np.empty_like(x)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[upper] = target[upper] - self.logsf(x[upper])
                out[~upper] = self.logcdf(x[~upper]) - target[~upper]
            return out

        res = find_root(f, (lo, hi), args=(target, upper), tolerances={"xrtol": 4 * np.finfo(float).eps, "xatol": 1e-300})
        return np.asarray(res.x, dtype=np.float64)

    def _discrete_ppf(self, u, lo, hi):
        """The smallest integer k in [lo, hi] with F(k) >= u, by vectorised bisection."""
        lo, hi = lo.copy(), hi.copy()  # F(lo - 1) < u <= F(hi) (component quantiles bracket the mixture's)
        lo = lo - 1
        while np.any(hi - lo > 1):
            mid = np.floor((lo + hi) / 2)
            ok = self.cdf(mid) >= u
            hi = np.where(ok, mid, hi)
            lo = np.where(ok, lo, mid)
        return hi


def mixture_view(obj) -> MixtureView | None:
    """A :class:`MixtureView` of a univariate torch ``MixtureSameFamily`` (one mixture, no batch) or
    ``scipy.stats.Mixture``; None for anything else (including multivariate mixtures)."""
    if type(obj).__name__ == "Mixture" and (type(obj).__module__ or "").startswith("scipy.stats"):
        return MixtureView(np.asarray(obj.weights, dtype=np.float64), list(obj.components))
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(obj, torch.distributions.MixtureSameFamily):
        return None
    if tuple(obj.event_shape) != () or tuple(obj.batch_shape) != ():
        return None
    from . import describe

    comps = describe(obj.component_distribution, "component")  # a batch of k scalar laws
    k = int(obj.mixture_distribution.probs.shape[-1])
    w = obj.mixture_distribution.probs.detach().cpu().double().numpy()
    return MixtureView(w, [comps.scalar_scipy((i,)) for i in range(k)])
