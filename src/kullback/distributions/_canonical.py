"""Distribution objects -> one canonical description.

A :class:`Dist` names a family and holds its parameters in one fixed
parameterisation, as arrays of one backend: NumPy float64 for scipy.stats
objects, tensors (gradients intact) for torch.distributions objects.  Objects
of families without a canonical form keep a route to a scalar scipy.stats
object for the numeric methods.

Canonical families and parameters (batch shapes broadcast):

=============  ===============================  ==========================
family         parameters                       support
=============  ===============================  ==========================
normal         loc, scale                       R
mvn            loc (..., d), scale_tril         R^d
exponential    rate                             [0, inf)
gamma          concentration, rate              (0, inf)
beta           a, b                             (0, 1)
dirichlet      alpha (..., k)                   simplex
laplace        loc, scale                       R
uniform        low, high (, width: scipy scale) [low, high]
gumbel         loc, scale (maximum, gumbel_r)   R
halfnormal     scale                            [0, inf)
lognormal      mu, sigma (of log X)             (0, inf)
pareto         scale (x_m), alpha               [x_m, inf)
cauchy         loc, scale                       R
weibull        concentration (k), scale         [0, inf)
vonmises       loc, concentration               the circle (-pi, pi] + loc
cbernoulli     lam (continuous Bernoulli)       [0, 1]
studentt       df, loc, scale                   R
poisson        rate                             {0, 1, ...}
bernoulli      p                                {0, 1}
binomial       n, p                             {0..n}
geometric      p, start (0: failures, 1: trials) {start, start+1, ...}
categorical    probs (..., k), logp (..., k)    {0..k-1}
=============  ===============================  ==========================

``logp`` of a categorical law holds its log-probabilities (torch's normalised
logits where the law was built from logits, so that a logit gap of 100 keeps
its digits; log(probs), -inf at 0, otherwise).

=============  ===============================  ==========================
=============  ===============================  ==========================
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.stats as st

__all__ = ["Dist", "describe", "is_distribution"]

CONTINUOUS = "continuous"
DISCRETE = "discrete"

_KIND = {
    "normal": CONTINUOUS, "mvn": CONTINUOUS, "exponential": CONTINUOUS, "gamma": CONTINUOUS,
    "beta": CONTINUOUS, "dirichlet": CONTINUOUS, "laplace": CONTINUOUS, "uniform": CONTINUOUS,
    "gumbel": CONTINUOUS, "halfnormal": CONTINUOUS, "lognormal": CONTINUOUS, "pareto": CONTINUOUS,
    "cauchy": CONTINUOUS, "poisson": DISCRETE, "bernoulli": DISCRETE, "binomial": DISCRETE,
    "geometric": DISCRETE, "categorical": DISCRETE, "weibull": CONTINUOUS, "vonmises": CONTINUOUS,
    "cbernoulli": CONTINUOUS, "studentt": CONTINUOUS,
}  # fmt: skip
# multivariate families: the trailing (event) dimensions of each parameter; their event_ndim is 1
_EVENT_DIMS = {"mvn": {"loc": 1, "scale_tril": 2}, "dirichlet": {"alpha": 1}, "categorical": {"probs": 1, "logp": 1}}


class _ContinuousBernoulli:
    """The continuous Bernoulli law (torch.distributions.ContinuousBernoulli) as the numeric
    methods see it: density C(lam) lam^x (1 - lam)^(1 - x) on [0, 1]; scipy has no such law."""

    def __init__(self, lam):
        self.lam = lam
        a = math.log(lam) - math.log1p(-lam)  # log(lam / (1 - lam))
        self._a = a
        # log C = log(a / (2 lam - 1)); its limit at lam = 1/2 is log 2
        self._logc = math.log(2.0) if abs(a) < 1e-12 else math.log(a / (2 * lam - 1))

    def logpdf(self, x):
        x = np.asarray(x, dtype=np.float64)
        inside = (x >= 0) & (x <= 1)
        val = self._logc + x * math.log(self.lam) + (1 - x) * math.log1p(-self.lam)
        return np.where(inside, val, -np.inf)

    def ppf(self, u):
        u = np.asarray(u, dtype=np.float64)
        if abs(self._a) < 1e-12:
            return u
        # F(x) = (e^{a x} - 1) / (e^a - 1)
        return np.log1p(u * math.expm1(self._a)) / self._a

    def support(self):
        return 0.0, 1.0


@dataclass
class Dist:
    """One distribution (or a batch of them), recognised once.

    family : canonical family name, or None when only numeric methods apply.
    params : canonical parameters (backend arrays).
    backend : "numpy" or "torch".
    kind : "continuous" or "discrete".
    scipy_factory : for family None: builds the scalar scipy object for a batch index.
    batch_shape : shape of the batch.
    reinterpreted : torch ``Independent``: number of rightmost batch dims summed over.
    source : the caller's object, for messages.
    """

    family: str | None
    params: dict[str, Any]
    backend: str
    kind: str
    batch_shape: tuple
    source: Any
    event_ndim: int = 0
    scipy_factory: Any = None
    reinterpreted: int = 0
    name: str = field(default="")
    outcomes: Any = None  # categorical: the outcome labels (None: 0..k-1)

    @property
    def requires_grad(self) -> bool:
        return self.backend == "torch" and any(getattr(v, "requires_grad", False) for v in self.params.values())

    def scalar_scipy(self, index=()):
        """A scipy.stats object for one batch element, float64: the numeric methods' view."""
        if self.family is None:
            return self.scipy_factory(index)
        v = {k: _host(x) for k, x in self.params.items()}
        if self.event_ndim == 0:
            v = {k: float(np.broadcast_to(x, self.batch_shape)[index]) for k, x in v.items()}
        else:
            dims = _EVENT_DIMS[self.family]
            v = {k: np.broadcast_to(x, self.batch_shape + x.shape[x.ndim - dims[k] :])[index] for k, x in v.items()}
        f = self.family
        if f == "normal":
            return st.norm(v["loc"], v["scale"])
        if f == "exponential":
            return st.expon(scale=1 / v["rate"])
        if f == "gamma":
            return st.gamma(v["concentration"], scale=1 / v["rate"])
        if f == "beta":
            return st.beta(v["a"], v["b"])
        if f == "laplace":  # the numeric methods write its log-density themselves (scipy's underflows) and know its kink
            return st.laplace(v["loc"], v["scale"])
        if f == "uniform":
            return st.uniform(v["low"], v["width"] if "width" in v else v["high"] - v["low"])
        if f == "gumbel":
            return st.gumbel_r(v["loc"], v["scale"])
        if f == "halfnormal":
            return st.halfnorm(scale=v["scale"])
        if f == "lognormal":
            return st.lognorm(v["sigma"], scale=math.exp(v["mu"]))
        if f == "pareto":
            return st.pareto(v["alpha"], scale=v["scale"])
        if f == "cauchy":
            return st.cauchy(v["loc"], v["scale"])
        if f == "weibull":
            return st.weibull_min(v["concentration"], scale=v["scale"])
        if f == "cbernoulli":
            return _ContinuousBernoulli(v["lam"])
        if f == "studentt":
            return st.t(v["df"], v["loc"], v["scale"])
        if f == "poisson":
            return st.poisson(v["rate"])
        if f == "bernoulli":
            return st.bernoulli(v["p"])
        if f == "binomial":
            return st.binom(int(round(v["n"])), v["p"])
        if f == "geometric":
            return st.geom(v["p"], loc=v["start"] - 1)
        if f == "categorical":
            probs = v["probs"]
            xk = np.arange(probs.shape[-1]) if self.outcomes is None else self.outcomes
            return st.rv_discrete(values=(xk, probs / probs.sum()))
        if f == "mvn":
            L = v["scale_tril"]
            return st.multivariate_normal(v["loc"], L @ L.T)
        if f == "dirichlet":
            return st.dirichlet(v["alpha"])
        msg = f"no scipy view of the {f} family for the numeric methods"
        raise NotImplementedError(msg)


def _host(x):
    if hasattr(x, "detach"):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def _batch(params, event_dims=None):
    shapes = []
    for k, v in params.items():
        shape = tuple(np.shape(v)) if not hasattr(v, "shape") else tuple(v.shape)
        drop = (event_dims or {}).get(k, 0)
        shapes.append(shape[: len(shape) - drop] if drop else shape)
    return tuple(np.broadcast_shapes(*shapes)) if shapes else ()


def is_distribution(obj) -> bool:
    """True for the distribution objects kullback understands (scipy.stats, torch.distributions)."""
    if isinstance(obj, (st.rv_continuous, st.rv_discrete)):
        return True  # an unfrozen family: refused with advice in describe()
    mod = type(obj).__module__ or ""
    if mod.startswith("scipy.stats"):
        return hasattr(obj, "logpdf") or hasattr(obj, "logpmf") or hasattr(obj, "pdf") or hasattr(obj, "pmf")
    return mod.startswith("torch.distributions") or _is_torch_distribution(obj)


def describe(obj, name="p") -> Dist:
    """Recognise a distribution object and return its canonical description (parameters checked)."""
    d = _describe(obj, name)
    # torch checks its own arguments unless told not to (validate_args=False): then we do
    if d.family is not None and not (d.backend == "torch" and getattr(obj, "_validate_args", False)):
        _validate(d, name)
    return d


# family -> {parameter: (lower bound, lower inclusive, upper bound, upper inclusive)}
_DOMAINS = {
    "normal": {"scale": (0, False, math.inf, False)},
    "halfnormal": {"scale": (0, False, math.inf, False)},
    "lognormal": {"sigma": (0, False, math.inf, False)},
    "exponential": {"rate": (0, False, math.inf, False)},
    "gamma": {"concentration": (0, False, math.inf, False), "rate": (0, False, math.inf, False)},
    "beta": {"a": (0, False, math.inf, False), "b": (0, False, math.inf, False)},
    "dirichlet": {"alpha": (0, False, math.inf, False)},
    "laplace": {"scale": (0, False, math.inf, False)},
    "gumbel": {"scale": (0, False, math.inf, False)},
    "cauchy": {"scale": (0, False, math.inf, False)},
    "weibull": {"concentration": (0, False, math.inf, False), "scale": (0, False, math.inf, False)},
    "vonmises": {"concentration": (0, False, math.inf, False)},
    "cbernoulli": {"lam": (0, False, 1, False)},
    "studentt": {"df": (0, False, math.inf, False), "scale": (0, False, math.inf, False)},
    "pareto": {"scale": (0, False, math.inf, False), "alpha": (0, False, math.inf, False)},
    "poisson": {"rate": (0, True, math.inf, False)},
    "bernoulli": {"p": (0, True, 1, True)},
    "binomial": {"p": (0, True, 1, True), "n": (0, True, math.inf, False)},
    "geometric": {"p": (0, False, 1, True)},
    "categorical": {"probs": (0, True, math.inf, False)},
}


def _validate(d: Dist, name):
    """Refuse NaN, infinite and out-of-domain parameters (scipy's new API accepts them and returns NaN)."""
    for k, v in d.params.items():
        if k == "logp":  # log-probabilities: -inf is a probability of 0 (probs is checked)
            continue
        x = _host(v)
        if x.dtype.kind not in "fiu":
            continue
        if x.size == 0:
            continue
        lo_x, hi_x = x.min(), x.max()  # two reductions, no temporaries; NaN propagates into both
        if not (-math.inf < lo_x and hi_x < math.inf):
            bad = ~np.isfinite(x)
            raise ValueError(f"{name}: parameter {k!r} of the {d.family} law is not finite: {x[bad].ravel()[:3].tolist()}")
        dom = _DOMAINS.get(d.family, {}).get(k)
        if dom is None:
            continue
        lo, lo_in, hi, hi_in = dom
        if ((lo_x >= lo) if lo_in else (lo_x > lo)) and ((hi_x <= hi) if hi_in else (hi_x < hi)):
            continue
        ok = ((x >= lo) if lo_in else (x > lo)) & ((x <= hi) if hi_in else (x < hi))
        if not bool(ok.all()):
            rng = f"{'[' if lo_in else '('}{lo}, {hi}{']' if hi_in else ')'}"
            raise ValueError(f"{name}: parameter {k!r} of the {d.family} law must lie in {rng}; got {x[~ok].ravel()[:3].tolist()}")
    if d.family == "uniform":
        lo, hi = _host(d.params["low"]), _host(d.params.get("width", d.params["high"]))
        if "width" in d.params:  # scipy's (loc, scale): the width as given decides (loc + scale may round to loc)
            lo = 0 * lo
        if not bool(np.all(lo < hi)):
            raise ValueError(f"{name}: the uniform law needs low < high")
    if d.family == "binomial" and not bool(np.all(_host(d.params["n"]) == np.round(_host(d.params["n"])))):
        raise ValueError(f"{name}: the binomial law needs a whole number of trials n")


def _describe(obj, name):
    if type(obj).__name__ == "rv_sample":  # rv_discrete(values=(xk, pk)) is usable as it is
        return _categorical_from_rv_sample(obj, name)
    if isinstance(obj, (st.rv_continuous, st.rv_discrete)):
        raise TypeError(
            f"{name} is the unfrozen family scipy.stats.{getattr(obj, 'name', type(obj).__name__)}; "
            f"give its parameters, e.g. scipy.stats.{getattr(obj, 'name', 'norm')}(...)"
        )
    mod = type(obj).__module__ or ""
    if mod.startswith("torch") or _is_torch_distribution(obj):
        return _from_torch(obj, name)
    if mod.startswith("scipy.stats"):
        if hasattr(obj, "dist") and hasattr(obj, "args"):
            return _from_scipy_frozen(obj, name)
        if type(obj).__name__.endswith("_frozen"):
            return _from_scipy_multivariate(obj, name)
        return _from_scipy_new(obj, name)
    raise TypeError(f"{name} is not a distribution kullback understands: {type(obj).__module__}.{type(obj).__name__}")


def _is_torch_distribution(obj):
    """isinstance(obj, torch.distributions.Distribution), without importing torch to look: a
    caller holding a torch object has imported torch already."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.distributions.Distribution)


# ---------------------------------------------------------------- scipy, classic frozen API


def _f64(*xs):
    return [np.asarray(x, dtype=np.float64) for x in xs]


def _from_scipy_frozen(obj, name) -> Dist:
    dist = obj.dist
    kind = DISCRETE if isinstance(dist, st.rv_discrete) else CONTINUOUS
    fam_name = getattr(dist, "name", type(dist).__name__)
    if type(dist).__name__ == "rv_sample":  # rv_discrete(values=(xk, pk))
        return _categorical_from_rv_sample(obj, name)
    parsed = dist._parse_args(*obj.args, **obj.kwds)  # (shapes, loc, scale); discrete laws may omit scale
    shapes, loc, scale = parsed if len(parsed) == 3 else (*parsed, 1.0)
    shapes = _f64(*shapes)
    loc, scale = _f64(loc, scale)
    # only the families that need them pay for these checks (large batches of parameters)
    needs_loc = fam_name in (
        "expon",
        "gamma",
        "beta",
        "halfnorm",
        "lognorm",
        "pareto",
        "chi2",
        "poisson",
        "bernoulli",
        "binom",
        "weibull_min",
    )
    zero_loc = needs_loc and not np.any(loc)
    unit_scale = fam_name in ("beta", "vonmises", "vonmises_line") and bool(np.all(scale == 1))
    canonical = None
    if fam_name == "norm":
        canonical = ("normal", {"loc": loc, "scale": scale})
    elif fam_name == "expon" and zero_loc:
        canonical = ("exponential", {"rate": 1 / scale})
    elif fam_name == "gamma" and zero_loc:
        canonical = ("gamma", {"concentration": shapes[0], "rate": 1 / scale})
    elif fam_name == "beta" and zero_loc and unit_scale:
        canonical = ("beta", {"a": shapes[0], "b": shapes[1]})
    elif fam_name == "laplace":
        canonical = ("laplace", {"loc": loc, "scale": scale})
    elif fam_name == "uniform":
        # the width as given besides the ends: (loc + scale) - loc loses its digits (uniform(1e12, .1))
        canonical = ("uniform", {"low": loc, "high": loc + scale, "width": scale})
    elif fam_name == "gumbel_r":
        canonical = ("gumbel", {"loc": loc, "scale": scale})
    elif fam_name == "halfnorm" and zero_loc:
        canonical = ("halfnormal", {"scale": scale})
    elif fam_name == "lognorm" and zero_loc:
        canonical = ("lognormal", {"mu": np.log(scale), "sigma": shapes[0]})
    elif fam_name == "pareto" and zero_loc:
        canonical = ("pareto", {"scale": scale, "alpha": shapes[0]})
    elif fam_name == "weibull_min" and zero_loc:
        canonical = ("weibull", {"concentration": shapes[0], "scale": scale})
    elif fam_name in ("vonmises", "vonmises_line") and unit_scale:
        canonical = ("vonmises", {"loc": loc, "concentration": shapes[0]})
    elif fam_name == "cauchy":
        canonical = ("cauchy", {"loc": loc, "scale": scale})
    elif fam_name == "t":
        canonical = ("studentt", {"df": shapes[0], "loc": loc, "scale": scale})
    elif fam_name == "chi2" and zero_loc:
        canonical = ("gamma", {"concentration": shapes[0] / 2, "rate": 0.5 / scale})
    elif fam_name == "poisson" and zero_loc:
        canonical = ("poisson", {"rate": shapes[0]})
    elif fam_name == "bernoulli" and zero_loc:
        canonical = ("bernoulli", {"p": shapes[0]})
    elif fam_name == "binom" and zero_loc:
        canonical = ("binomial", {"n": shapes[0], "p": shapes[1]})
    elif fam_name == "geom":
        canonical = ("geometric", {"p": shapes[0], "start": loc + 1})
    if canonical is not None:
        family, params = canonical
        return Dist(family, params, "numpy", _KIND[family], _batch(params), obj, name=name)

    with np.errstate(all="ignore"):
        ok = np.asarray(dist._argcheck(*shapes), dtype=bool) & (scale > 0)
        ok = ok & np.isfinite(loc) & np.isfinite(scale)
        for a in shapes:
            ok = ok & ~np.isnan(a)
    if not bool(np.all(ok)):
        raise ValueError(
            f"{name}: invalid parameters for scipy.stats.{fam_name} (shape parameters {[a.tolist() for a in shapes]}, loc {loc.tolist()}, scale {scale.tolist()})"
        )
    batch = tuple(np.broadcast_shapes(*(np.shape(a) for a in (*shapes, loc, scale))))

    def factory(index, _dist=dist, _shapes=shapes, _loc=loc, _scale=scale, _batch=batch):
        pick = [float(np.broadcast_to(a, _batch)[index]) for a in _shapes]
        if kind == DISCRETE:
            return _dist(*pick, loc=float(np.broadcast_to(_loc, _batch)[index]))
        return _dist(*pick, loc=float(np.broadcast_to(_loc, _batch)[index]), scale=float(np.broadcast_to(_scale, _batch)[index]))

    return Dist(None, {}, "numpy", kind, batch, obj, scipy_factory=factory, name=name)


def _categorical_from_rv_sample(obj, name) -> Dist:
    """rv_discrete(values=(xk, pk)): a categorical law over the outcomes xk."""
    if hasattr(obj, "dist"):  # frozen: rv_discrete(values=...)(loc=...)
        if obj.args or obj.kwds.get("loc", 0) != 0:
            raise TypeError(f"{name}: a shifted rv_discrete(values=...) is not supported; shift the values instead")
        dist = obj.dist
    else:
        dist = obj
    probs = np.asarray(dist.pk, dtype=np.float64)
    params = {"probs": probs, "logp": log_probs(probs)}
    return Dist("categorical", params, "numpy", DISCRETE, (), obj, event_ndim=1, name=name, outcomes=np.asarray(dist.xk))


def log_probs(probs):
    """log(probs) with log 0 = -inf, without NumPy's divide warning."""
    with np.errstate(divide="ignore"):
        return np.log(probs)


def _from_scipy_multivariate(obj, name) -> Dist:
    cls = type(obj).__name__
    if cls == "multivariate_normal_frozen":
        mean = np.asarray(obj.mean, dtype=np.float64)
        cov = np.asarray(obj.cov, dtype=np.float64)
        try:
            L = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            raise ValueError(
                f"{name}: the covariance of the multivariate normal is not positive definite (Cholesky failed); "
                "a singular normal has no density, so its KL to a full-rank normal is not defined"
            ) from None
        return Dist("mvn", {"loc": mean, "scale_tril": L}, "numpy", CONTINUOUS, (), obj, event_ndim=1, name=name)
    if cls == "dirichlet_frozen":
        return Dist("dirichlet", {"alpha": np.asarray(obj.alpha, dtype=np.float64)}, "numpy", CONTINUOUS, (), obj, event_ndim=1, name=name)
    raise TypeError(
        f"{name}: scipy.stats.{cls.removesuffix('_frozen')} has no closed-form KL in kullback and no numeric method "
        "for multivariate densities; use kb.estimate_kl for a Monte Carlo estimate"
    )


# ---------------------------------------------------------------- scipy, new random-variable API


def _from_scipy_new(obj, name) -> Dist:
    cls = type(obj).__name__
    if bool(np.any(getattr(obj, "_invalid", False))):
        # scipy's new API replaces invalid parameters by NaN (and forgets them): name its own parameters
        domains = _new_api_domains(obj)
        raise ValueError(
            f"{name}: scipy.stats.{cls} was given parameters that are NaN or outside their domain (scipy replaces them by NaN); "
            f"its parameters must satisfy: {domains}"
        )
    if cls == "Normal":
        mu, sigma = _f64(obj.mu, obj.sigma)
        params = {"loc": mu, "scale": sigma}
        return Dist("normal", params, "numpy", CONTINUOUS, _batch(params), obj, name=name)
    if cls == "Uniform":
        a, b = _f64(obj.a, obj.b)
        params = {"low": a, "high": b}
        return Dist("uniform", params, "numpy", CONTINUOUS, _batch(params), obj, name=name)
    if cls == "Binomial":
        n, p = _f64(obj.n, obj.p)
        params = {"n": n, "p": p}
        return Dist("binomial", params, "numpy", DISCRETE, _batch(params), obj, name=name)
    if not hasattr(obj, "support"):
        raise TypeError(f"{name}: {cls} from scipy.stats is not a distribution kullback understands")
    shape = tuple(getattr(obj, "_shape", ()))
    if shape != ():
        raise TypeError(f"{name}: a batch of {cls} (shape {shape}) has no closed form here; give one distribution at a time")
    if cls == "Mixture":
        from ._mixture import mixture_view

        view = mixture_view(obj)
        kind = view.kind if hasattr(view, "kind") else _mixture_kind(obj.components)
        return Dist(None, {}, "numpy", kind, (), obj, scipy_factory=lambda index: view, name=name)
    kind = DISCRETE if "Discrete" in " ".join(c.__name__ for c in type(obj).__mro__) else CONTINUOUS
    return Dist(None, {}, "numpy", kind, (), obj, scipy_factory=lambda index: _NewAPIView(obj), name=name)


def _mixture_kind(components):
    kinds = {DISCRETE if "Discrete" in " ".join(c.__name__ for c in type(x).__mro__) else CONTINUOUS for x in components}
    if len(kinds) != 1:
        raise TypeError("a mixture of mass functions and densities has no density or mass function; kullback cannot compare it")
    return kinds.pop()


def _new_api_domains(obj) -> str:
    """'sigma in (0, inf), ...' for a new-API random variable's parameterisation."""
    out = []
    for pname, par in getattr(getattr(obj, "_parameterization", None), "parameters", {}).items():
        try:
            (lo, hi), (lo_in, hi_in) = par.domain.endpoints, par.domain.inclusive
            out.append(f"{pname} in {'[' if lo_in else '('}{float(lo):g}, {float(hi):g}{']' if hi_in else ')'}")
        except (AttributeError, TypeError, ValueError):  # endpoints given by other parameters (Uniform: a < b)
            out.append(f"{pname} in {par.domain}".replace("\\infty", "inf"))
    return ", ".join(out) or "see its documentation"


class _NewAPIView:
    """The classic-API methods the numeric routines use, over a new-API random variable."""

    def __init__(self, rv):
        self.rv = rv

    def support(self):
        lo, hi = self.rv.support()
        return float(lo), float(hi)

    def logpdf(self, x):
        return np.asarray(self.rv.logpdf(x), dtype=np.float64)

    def logpmf(self, x):
        return np.asarray(self.rv.logpmf(x), dtype=np.float64)

    def ppf(self, u):
        return np.asarray(self.rv.icdf(u), dtype=np.float64)

    def isf(self, u):
        return np.asarray(self.rv.iccdf(u), dtype=np.float64)

    def sf(self, x):
        return np.asarray(self.rv.ccdf(x), dtype=np.float64)


# ---------------------------------------------------------------- torch.distributions


# torch.distributions class -> canonical family, in matching order: subclasses before their
# bases (Chi2 is a Gamma; HalfNormal, LogNormal, Gumbel and Pareto are transformed
# distributions), exact types where a subclass would mean something else.
# (class name, exact type only, family, {canonical parameter: attribute or getter})
_TORCH_FAMILIES = [
    ("Chi2", False, "gamma", {"concentration": "concentration", "rate": "rate"}),
    ("Gamma", True, "gamma", {"concentration": "concentration", "rate": "rate"}),
    ("HalfNormal", False, "halfnormal", {"scale": "scale"}),
    ("LogNormal", False, "lognormal", {"mu": "loc", "sigma": "scale"}),
    ("Gumbel", False, "gumbel", {"loc": "loc", "scale": "scale"}),
    ("Pareto", False, "pareto", {"scale": "scale", "alpha": "alpha"}),
    ("Normal", True, "normal", {"loc": "loc", "scale": "scale"}),
    ("MultivariateNormal", True, "mvn", {"loc": "loc", "scale_tril": "scale_tril"}),
    ("LowRankMultivariateNormal", True, "mvn", {"loc": "loc", "scale_tril": "scale_tril"}),  # W W' + D, factored
    ("Weibull", True, "weibull", {"concentration": "concentration", "scale": "scale"}),
    ("VonMises", True, "vonmises", {"loc": "loc", "concentration": "concentration"}),
    ("ContinuousBernoulli", True, "cbernoulli", {"lam": "probs"}),
    ("Exponential", True, "exponential", {"rate": "rate"}),
    ("Beta", True, "beta", {"a": "concentration1", "b": "concentration0"}),
    ("Dirichlet", True, "dirichlet", {"alpha": "concentration"}),
    ("Laplace", True, "laplace", {"loc": "loc", "scale": "scale"}),
    ("Uniform", True, "uniform", {"low": "low", "high": "high"}),
    ("Cauchy", True, "cauchy", {"loc": "loc", "scale": "scale"}),
    ("Poisson", True, "poisson", {"rate": "rate"}),
    ("Bernoulli", True, "bernoulli", {"p": "probs"}),
    ("Binomial", True, "binomial", {"n": "total_count", "p": "probs"}),
    ("Geometric", True, "geometric", {"p": "probs", "start": lambda d: d.probs.new_zeros(())}),  # failures: 0, 1, ...
    ("Categorical", True, "categorical", {"probs": "probs", "logp": lambda d: _torch_log_probs(d)}),
    ("OneHotCategorical", True, "categorical", {"probs": "probs", "logp": lambda d: _torch_log_probs(d._categorical)}),
    ("StudentT", True, "studentt", {"df": "df", "loc": "loc", "scale": "scale"}),
]


def _from_torch(obj, name) -> Dist:
    import torch.distributions as D

    def make(family, **params):
        event = _EVENT_DIMS.get(family)
        return Dist(family, params, "torch", _KIND[family], _batch(params, event), obj, event_ndim=1 if event else 0, name=name)

    if isinstance(obj, D.Independent):
        inner = _from_torch(obj.base_dist, name)
        inner.reinterpreted = obj.reinterpreted_batch_ndims + inner.reinterpreted
        inner.source = obj
        return inner
    for cls_name, exact, family, attrs in _TORCH_FAMILIES:
        cls = getattr(D, cls_name)
        if (type(obj) is cls) if exact else isinstance(obj, cls):
            return make(family, **{k: (a(obj) if callable(a) else getattr(obj, a)) for k, a in attrs.items()})

    # Families with no closed form here: a scipy view for the numeric methods.
    views = {
        D.NegativeBinomial: lambda d, i: st.nbinom(_pick(d.total_count, d, i), 1 - _pick(d.probs, d, i)),
        D.FisherSnedecor: lambda d, i: st.f(_pick(d.df1, d, i), _pick(d.df2, d, i)),
    }
    for cls, view in views.items():
        if type(obj) is cls:
            kind = DISCRETE if cls is D.NegativeBinomial else CONTINUOUS
            params = {
                k: getattr(obj, k)
                for k in ("df", "loc", "scale", "total_count", "probs", "concentration", "df1", "df2")
                if hasattr(obj, k) and _is_tensor(getattr(obj, k, None))
            }
            return Dist(None, params, "torch", kind, tuple(obj.batch_shape), obj, scipy_factory=lambda i, d=obj, v=view: v(d, i), name=name)
    if isinstance(obj, D.MixtureSameFamily) and tuple(obj.event_shape) == () and tuple(obj.batch_shape) == ():
        return _torch_mixture(obj, name)
    raise TypeError(
        f"{name}: torch.distributions.{type(obj).__name__} has no closed-form KL in kullback and no numeric method; "
        "use kb.estimate_kl for a Monte Carlo estimate"
    )


def _torch_mixture(obj, name) -> Dist:
    """A univariate torch MixtureSameFamily: no closed form; the numeric methods see its scipy-like
    view (log-sum-exp density, cdf, ppf by bracketing; kullback.distributions._mixture)."""
    from ._mixture import mixture_view

    view = mixture_view(obj)
    comp = _from_torch(obj.component_distribution, name)
    # the parameters are kept so that a request for gradients is refused (numeric: none flow)
    params = {"mixture_probs": obj.mixture_distribution.probs, **{f"component_{k}": v for k, v in comp.params.items()}}
    return Dist(None, params, "torch", comp.kind, (), obj, scipy_factory=lambda index: view, name=name)


def torch_tensors(obj):
    """The tensors among a torch distribution's attributes, its nested distributions' included
    (MixtureSameFamily, Independent, TransformedDistribution), each object visited once."""
    out, todo, seen = [], [obj], set()
    while todo:
        o = todo.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        for v in vars(o).values():
            if hasattr(v, "detach") and hasattr(v, "is_floating_point"):
                out.append(v)
            elif type(v).__module__.startswith("torch.distributions"):
                todo.append(v)
    return out


def _torch_log_probs(d):
    """The log-probabilities of a torch Categorical: its normalised logits where it was built from
    logits (full precision for large logit gaps), else log(probs) (torch's own logits clamp
    probabilities of 0 to eps; log 0 = -inf is exact)."""
    if d._param is d.__dict__.get("logits"):
        return d.logits
    return d.probs.log()


def _is_tensor(x):
    return hasattr(x, "detach") and hasattr(x, "shape")


def _pick(t, d, index):
    return float(np.broadcast_to(_host(t), tuple(d.batch_shape))[index])
