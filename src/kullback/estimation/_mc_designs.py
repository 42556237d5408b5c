"""The sampling designs of the Monte Carlo estimates (:mod:`._montecarlo`): plain draws, antithetic pairs, control
variates for Gaussian p, randomised quasi-Monte Carlo; and what a law offers them (quantiles, centre, Gaussian form).

Each design draws per-draw terms in batches and reports the mean, its standard error and the quantile of its interval;
the module docstring of :mod:`._montecarlo` gives the methods and their sources.  Moved here from ``_montecarlo.py``
(past 700 lines) without a change.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats as sst

from . import _access as A

__all__ = ["_design"]

_PILOT = 1024
_REPLICATES = 16
_KURTOSIS_LIMIT = 0.01  # (excess kurtosis + 2) / n above this: the interval is flagged unreliable
_QUADRATIC_MAX_D = 5  # quadratic control variates only up to this dimension (d(d+3)/2 controls)
_CONTROLS_PAY = 0.9  # keep control variates where the pilot's residual variance is at most this part of the raw one


# ---------------------------------------------------------------- sampling designs


class _Plain:
    """Independent draws; ``transform`` (controls, antithetic pairs) maps draws to terms."""

    name = "none"
    min_batch = 2

    def __init__(self, laws, terms, rng):
        self.laws, self.terms_fn, self.rng = laws, terms, rng
        self.values, self.raw_sq, self.raw_sum, self.raw_n = [], 0.0, 0.0, 0
        self.raw_values = []  # the per-draw terms before any transform, for the tail index
        self.draws = 0
        self.infinite = None
        self.interval = "normal, variance of per-draw terms"

    def _draw(self, n):
        return tuple(A.sample(law, n, self.rng) for law in self.laws)

    def _evaluate(self, xs):
        t = self.terms_fn(xs)
        nan = np.isnan(t)
        if nan.any():  # NaN is a bug of a log-density (or of a law's parameters), never an answer
            i = int(np.flatnonzero(nan)[0])
            where = ", ".join(f"{v.tolist()!r}" for v in (x[i] for x in xs))
            msg = f"a log-density is NaN at the draw x = {where}: the distribution object returned NaN there; check its parameters"
            raise ValueError(msg)
        bad = ~np.isfinite(t)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            self.infinite = xs[0][i].tolist()
        self.raw_values.append(t[~bad])
        self.raw_sum += float(np.sum(t[~bad]))
        self.raw_sq += float(np.sum(t[~bad] ** 2))
        self.raw_n += int(np.sum(~bad))
        return t

    def add(self, n):
        xs = self._draw(n)
        self.values.append(self._evaluate(xs))
        self.draws += n

    def next_batch(self, need, left):
        return int(min(max(self.draws, need - self.draws), 8 * self.draws, left))

    def budget_reason(self, max_draws):
        if self.draws >= max_draws:
            return f"draw budget spent ({self.draws} draws, max_draws={max_draws})"
        return f"draw budget spent: {self.draws} draws, and the next batch (at least {self.min_batch}) would pass max_draws={max_draws}"

    def _terms(self):
        return np.concatenate(self.values)

    def estimate(self, z, confidence):
        t = self._terms()
        return float(np.mean(t)), float(np.std(t, ddof=1) / math.sqrt(t.size)), z

    def factor(self, se):
        if self.raw_n < 2 or se == 0:
            return math.nan if se == 0 else 1.0
        m = self.raw_sum / self.raw_n
        var = max(self.raw_sq / self.raw_n - m * m, 0.0) * self.raw_n / (self.raw_n - 1)
        return float(var / self.draws / se**2)

    def tails(self):
        t = self._terms()
        if t.size < 8 or np.ptp(t) <= 1e-12 * max(1.0, float(np.abs(t).max())):
            return 0.0, True  # constant up to rounding (control variates on exactly quadratic terms): no tails
        k = float(sst.kurtosis(t, fisher=True, bias=False))
        return k, bool((k + 2) / t.size <= _KURTOSIS_LIMIT)


class _Antithetic(_Plain):
    """Pairs (X, 2c - X) for laws symmetric about c; one term is the pair's mean."""

    name = "antithetic"

    def __init__(self, laws, terms, rng, centres):
        super().__init__(laws, terms, rng)
        self.centres = centres
        self.min_batch = 4
        self.interval = "normal, variance of antithetic pair means"

    def pairs(self, n):
        xs = self._draw(n // 2)
        ys = tuple(2 * c - x for c, x in zip(self.centres, xs))
        return self._evaluate(xs), self._evaluate(ys)

    def add(self, n):
        a, b = self.pairs(n)
        self.values.append(0.5 * (a + b))
        self.draws += 2 * (n // 2)


class _Controlled(_Plain):
    """The regression estimator with zero-mean controls of a Gaussian p (Glasserman 2003, sec. 4.1, eq. 4.5).

    Controls: Z = L^-1 (X - mu), and for d <= 5 also vech(Z Z' - I) (d(d+3)/2 in all: 20 at d = 5, 1890 at
    d = 60, where their cost outgrew their gain).  The coefficients are fitted once, by least squares on an
    independent pilot of 1024 draws (Glasserman 2003, sec. 4.1.3: a pilot keeps the estimator unbiased),
    and each term is then t - c' beta; the controls are kept only where the pilot's residual variance is at
    most 0.9 of its raw variance (:meth:`pays`; with beta fixed, the controls cost one n x d product).  Where log p - log q is itself quadratic in X (Gaussian
    pairs) the adjusted terms are constant up to rounding: the standard error is floored at the rounding
    of the terms, 8 eps max(1, |value|, rms of the terms), so that the interval still covers.
    """

    def __init__(self, inner, mu, chol_inv):
        self.__dict__.update(inner.__dict__)
        self.inner = inner
        self.mu, self.li = mu, chol_inv
        self.name = inner.name + "+control" if inner.name != "none" else "control"
        self.beta = None
        self.interval = inner.interval.replace("variance of", "variance (control variates fitted on a pilot) of")

    def _c(self, x):
        z = (x.reshape(x.shape[0], -1) - self.mu) @ self.li.T
        d = z.shape[1]
        if d > _QUADRATIC_MAX_D:
            return z
        iu = np.triu_indices(d)
        zz = z[:, iu[0]] * z[:, iu[1]] - (iu[0] == iu[1])
        return np.hstack([z, zz])

    def _draw_tc(self, n):
        """n draws (n/2 antithetic pairs) as per-term values and their controls (the pilot)."""
        if isinstance(self.inner, _Antithetic):
            xs = self.inner._draw(n // 2)
            ys = tuple(2 * c - x for c, x in zip(self.inner.centres, xs))
            t = 0.5 * (self._evaluate(xs) + self._evaluate(ys))
            return t, 0.5 * (self._c(xs[0]) + self._c(ys[0])), 2 * (n // 2)
        xs = self._draw(n)
        return self._evaluate(xs), self._c(xs[0]), n

    def pays(self) -> bool:
        """Fit beta on a pilot (discarded, its randomness from ``rng``); True where it lowers the variance by 10% or more."""
        keep = (self.raw_sq, self.raw_sum, self.raw_n, self.infinite)
        t, c, _ = self._draw_tc(_PILOT)
        self.raw_sq, self.raw_sum, self.raw_n, infinite = *keep[:3], self.infinite
        self.infinite = keep[3]
        if infinite is not None or not np.all(np.isfinite(t)):
            return False
        on = np.ptp(c, axis=0) > 1e-12 * (1 + np.abs(c).max(axis=0))  # controls that antithetic pairs cancel are 0
        if not on.any() or t.size <= 2 * on.sum() + 2:
            return False
        cc = c[:, on] - c[:, on].mean(axis=0)
        b, *_ = np.linalg.lstsq(cc, t - t.mean(), rcond=None)
        self.beta = np.zeros(c.shape[1])
        self.beta[on] = b
        raw, resid = float(np.var(t)), float(np.var(t - t.mean() - cc @ b))
        return resid <= _CONTROLS_PAY * raw

    def _cbeta(self, x):
        """c(x)' beta without forming c: z' b_lin + z' B z - trace(B), B the upper-triangular quadratic weights."""
        z = (x.reshape(x.shape[0], -1) - self.mu) @ self.li.T
        d = z.shape[1]
        out = z @ self.beta[:d]
        if self.beta.size > d:
            B = np.zeros((d, d))
            B[np.triu_indices(d)] = self.beta[d:]
            out = out + np.einsum("ni,ij,nj->n", z, B, z) - np.trace(B)
        return out

    def add(self, n):
        # E[c] = 0: the adjusted terms t - c' beta have the mean of the raw ones
        if isinstance(self.inner, _Antithetic):
            xs = self.inner._draw(n // 2)
            ys = tuple(2 * c - x for c, x in zip(self.inner.centres, xs))
            t = 0.5 * (self._evaluate(xs) + self._evaluate(ys)) - 0.5 * (self._cbeta(xs[0]) + self._cbeta(ys[0]))
            self.values.append(t)
            self.draws += 2 * (n // 2)
        else:
            xs = self._draw(n)
            self.values.append(self._evaluate(xs) - self._cbeta(xs[0]))
            self.draws += n

    def estimate(self, z, confidence):
        t = self._terms()
        value = float(np.mean(t))
        se = float(np.std(t, ddof=1) / math.sqrt(t.size))
        rms = math.sqrt(self.raw_sq / self.raw_n) if self.raw_n else 0.0
        return value, max(se, 8 * np.finfo(float).eps * max(1.0, abs(value), rms)), z


class _QMC(_Plain):
    """Randomised QMC: X = F^-1(U), U from independently scrambled Sobol sequences (Owen 1997)."""

    name = "qmc"

    def __init__(self, laws, terms, rng, ppfs):
        super().__init__(laws, terms, rng)
        self.ppfs = ppfs
        seeds = rng.integers(0, 2**63 - 1, size=_REPLICATES)
        self.engines = [sst.qmc.Sobol(d=len(laws), scramble=True, seed=np.random.default_rng(s)) for s in seeds]
        self.sums = np.zeros(_REPLICATES)
        self.per = 0
        self.min_batch = 2 * _REPLICATES
        self.interval = f"t ({_REPLICATES - 1} d.o.f.) over {_REPLICATES} randomised Sobol replicates"

    def add(self, n):
        m = max(1 << int(math.log2(max(n // _REPLICATES, 1))), 1)  # per replicate, a power of 2
        tiny = np.finfo(float).eps / 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Sobol's balance warning: every batch is a power of 2
            u = np.clip(np.concatenate([eng.random(m) for eng in self.engines]), tiny, 1 - tiny)
        # one quantile call for all replicates (a mixture's quantile is a vectorised root search)
        xs = tuple(np.asarray(f(u[:, j]), dtype=np.float64) for j, f in enumerate(self.ppfs))
        t = self._evaluate(xs)
        self.values.append(t)
        self.sums += t.reshape(_REPLICATES, m).sum(axis=1)
        self.per += m
        self.draws += m * _REPLICATES

    def next_batch(self, need, left):
        return self.draws if 2 * self.draws <= self.draws + left else 0

    def budget_reason(self, max_draws):
        return (
            f"draw budget: stopped at {self.draws} draws, a power of two below max_draws={max_draws}, since randomised QMC "
            f"grows by doubling (its next batch would reach {2 * self.draws} > max_draws)"
        )

    def estimate(self, z, confidence):
        means = self.sums / self.per
        se = float(np.std(means, ddof=1) / math.sqrt(_REPLICATES))
        return float(np.mean(means)), se, float(sst.t.ppf(0.5 + confidence / 2, _REPLICATES - 1))


def _design(laws, terms, vr, rng, max_draws):
    """The sampling design for ``variance_reduction`` (``"auto"``: see the module docstring)."""
    ppfs = [_ppf(law) for law in laws] if vr in ("auto", "qmc") else []
    if vr == "qmc" or (vr == "auto" and all(f is not None for f in ppfs) and max_draws >= 4 * _REPLICATES):
        if any(f is None for f in ppfs):
            msg = "`variance_reduction='qmc'` needs univariate continuous laws with a quantile function (ppf/icdf)"
            raise ValueError(msg)
        return _QMC(laws, terms, rng, ppfs)
    centres = [_centre(law) for law in laws]
    gauss = _gaussian(laws[0]) if len(laws) == 1 else None
    if vr in ("antithetic", "control") and (any(c is None for c in centres) if vr == "antithetic" else gauss is None):
        need = "laws symmetric about a known centre" if vr == "antithetic" else "a Gaussian p (normal, multivariate normal)"
        msg = f"`variance_reduction={vr!r}` needs {need}"
        raise ValueError(msg)
    design = _Plain(laws, terms, rng)
    if vr == "antithetic" or (vr == "auto" and all(c is not None for c in centres) and _antithetic_helps(laws, terms, rng, centres)):
        design = _Antithetic(laws, terms, rng, centres)
    if vr == "control" or (vr == "auto" and gauss is not None):
        controlled = _Controlled(design, *gauss)
        if controlled.pays() or (vr == "control" and controlled.beta is not None):
            design = controlled
        elif vr == "control":
            msg = "`variance_reduction='control'`: the pilot draws gave no usable control variates (non-finite terms)"
            raise ValueError(msg)
    return design


def _antithetic_helps(laws, terms, rng, centres):
    """A pilot of 1024 pairs (discarded): antithetic pairs pay when the pair's terms are negatively correlated."""
    pilot = _Antithetic(laws, terms, np.random.default_rng(rng.integers(0, 2**63 - 1)), centres)
    a, b = pilot.pairs(2 * _PILOT)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 16 or np.ptp(a[ok]) == 0:
        return False
    return bool(np.corrcoef(a[ok], b[ok])[0, 1] < 0)


# ---------------------------------------------------------------- what a law offers: quantiles, centre, Gaussian form


def _ppf(law):
    """A vectorised float64 quantile function of a univariate continuous law, or None."""
    if A.event_dim(law) != 0 or A.is_discrete(law):
        return None
    from ..distributions._mixture import mixture_view

    view = mixture_view(law)
    if view is not None:
        return view.ppf
    kind = A._kind(law)
    if kind == "classic":
        return law.ppf
    if kind == "new":
        return law.icdf
    try:  # torch: kullback's float64 scipy view of the law, else torch's own icdf
        from ..distributions import describe

        d = describe(law, "p")
        if d.event_ndim == 0 and not d.reinterpreted and d.batch_shape == ():
            view = d.scalar_scipy(())
            if hasattr(view, "ppf"):
                return view.ppf
    except (TypeError, ValueError, NotImplementedError):
        pass
    return _torch_icdf(law)


def _torch_icdf(law):
    import torch

    like = A._torch_like(law)
    dtype = like.dtype if like is not None else torch.get_default_dtype()
    try:
        with torch.no_grad():
            law.icdf(torch.tensor([0.5], dtype=dtype))
    except (NotImplementedError, AttributeError, ValueError, TypeError):
        return None

    def ppf(u):
        with torch.no_grad():
            return law.icdf(torch.as_tensor(u, dtype=dtype)).cpu().double().numpy()

    return ppf


_SYMMETRIC_SCIPY = {"norm", "t", "laplace", "cauchy", "logistic", "hypsecant", "uniform", "cosine", "gennorm"}
_SYMMETRIC_TORCH = {"Normal", "StudentT", "Laplace", "Cauchy", "MultivariateNormal", "LowRankMultivariateNormal", "Uniform"}


def _centre(law):
    """The centre c of a law symmetric about c (X and 2c - X equal in law), as a float64 array, or None."""
    kind = A._kind(law)
    if kind == "classic":
        return np.float64(law.median()) if law.dist.name in _SYMMETRIC_SCIPY else None
    if kind == "multi":
        name = type(law).__name__
        if name == "multivariate_normal_frozen":
            return np.asarray(law.mean, dtype=np.float64)
        if name == "multivariate_t_frozen":
            return np.asarray(law.loc, dtype=np.float64)
        return None
    if kind == "new":
        return np.float64(law.median()) if type(law).__name__ in {"Normal", "Uniform"} else None
    inner = law.base_dist if type(law).__name__ == "Independent" else law
    if type(inner).__name__ not in _SYMMETRIC_TORCH:
        return None
    c = inner.mean if type(inner).__name__ == "Uniform" else inner.loc
    c = c.expand(inner.batch_shape + inner.event_shape) if type(law).__name__ == "Independent" else c
    c = c.detach().cpu().double().numpy()
    return c.reshape(-1) if A.event_dim(law) else np.float64(c)


def _gaussian(law):
    """(mu, L^-1) of a Gaussian law (L the Cholesky factor of its covariance), flattened to its event, or None."""
    if A.is_discrete(law):
        return None
    try:
        from ..distributions import describe

        d = describe(law, "p")
    except (TypeError, ValueError):
        return None
    if d.family not in ("normal", "mvn") or d.batch_shape != (() if not d.reinterpreted else d.batch_shape):
        return None
    host = {k: np.asarray(v.detach().cpu().double().numpy() if hasattr(v, "detach") else v, dtype=np.float64) for k, v in d.params.items()}
    if d.family == "normal":
        shape = d.batch_shape
        mu = np.broadcast_to(host["loc"], shape).reshape(-1)
        s = np.broadcast_to(host["scale"], shape).reshape(-1)
        return mu, np.diag(1 / s)
    if d.batch_shape != ():
        return None
    try:
        li = np.linalg.inv(host["scale_tril"])
    except np.linalg.LinAlgError:  # a singular covariance: no standardised controls
        return None
    return host["loc"].reshape(-1), li
