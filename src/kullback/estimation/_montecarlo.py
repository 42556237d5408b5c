"""Monte Carlo estimates of D(p||q), H(p), H(p, q) and JS(p, q) between distribution objects.

Each quantity is an expectation of per-draw terms (Robert & Casella, *Monte Carlo
Statistical Methods*, 2004, eq. 3.4; the KL form is the "k1" estimator):

==================  ==========================================================
D(p||q)             E_p[log p(X) - log q(X)]
H(p)                E_p[-log p(X)]
H(p, q)             E_p[-log q(X)]
JS(p, q)            1/2 E_p[log 2p(X) - log(p(X) + q(X))] + 1/2 E_q[log 2q(Y) - log(p(Y) + q(Y))]
==================  ==========================================================

(JS: one draw X ~ p and one Y ~ q make one term; log(p + q) is ``logaddexp``.)

Draws grow until the half-width of the interval is at most ``max(atol, rtol |value|)``
or ``max_draws`` are spent (``details["converged"]``, ``details["reason"]``): a first
batch of 4096, then batches that double the total (or jump to the size that the
current standard error predicts, at most 8x).  Defaults: ``rtol=1e-2``, ``atol=0``,
``max_draws=10**6``.

Variance reduction (``variance_reduction="auto"`` picks the first that applies):

- ``"qmc"``: randomised quasi-Monte Carlo for univariate continuous laws with a quantile
  function: X = F^-1(U), U from 16 independently scrambled Sobol sequences (Owen 1997,
  "Scrambled net variance for integrals of smooth functions", Ann. Statist. 25;
  ``scipy.stats.qmc.Sobol``); the estimate is the mean of the 16 replicate means and its
  standard error their spread, so the interval is a t interval on 15 degrees of freedom
  (L'Ecuyer & Lemieux 2002, "Recent advances in randomized quasi-Monte Carlo methods", sec. 4).
- ``"antithetic"``: for laws symmetric about a centre c, pairs (X, 2c - X) (Hammersley &
  Morton 1956; Robert & Casella 2004, sec. 4.2.1); chosen by "auto" only when a pilot of
  1024 pairs shows a negative correlation within pairs (else the pilot is discarded).
- ``"control"``: for Gaussian p (normal, multivariate normal, independent normals), the
  regression estimator with control variates Z and, for d <= 5, vech(Z Z' - I), Z = L^-1 (X - mu),
  whose means are 0 (Glasserman, *Monte Carlo Methods in Financial Engineering*, 2003, sec. 4.1,
  eq. 4.5); the coefficients are fitted once on a pilot of 1024 draws, and "auto" keeps the
  controls only where that pilot shows they lower the variance by at least 10%.  With antithetic pairs the odd
  controls vanish and only the quadratic ones stay.
- ``"none"``: independent draws.

``details["variance_factor"]`` is the variance of the plain mean over the same number of
draws (the per-draw variance of the raw terms / draws) divided by the reported variance:
the factor by which the method lowered the variance.

The interval is normal on the standard error of the per-term mean (t for QMC).  Where the
terms are heavy-tailed (sample excess kurtosis kappa with (kappa + 2) / n > 0.01: the
relative standard error of the variance estimate, sqrt((kappa + 2) / n), then exceeds 10%;
measured: Student t_3 vs normal and multivariate t_4 vs normal, whose terms have infinite
variance, give 0.1-0.4 at every n from 4096 to 10^6, Gaussian pairs 0.003 at n = 4096),
the interval is unreliable: an :class:`~kullback.AccuracyWarning` says so and
``details["reliable"]`` is False.  Such tails often mean that the divergence is infinite
(p with heavier tails than q): where Hill's index of the upper tail of log p - log q
exceeds 1.4 beyond twice its error (:func:`_divergent_tail`), the mean diverges and the
answer is D = inf, ci (0, inf), with a warning giving the index (Cauchy vs normal).

``rng=None`` is seed 0, as for the kNN estimators: the same call gives the same answer.
"""

from __future__ import annotations

import math
import os
import sys
import warnings

import numpy as np
from scipy import special
from scipy import stats as sst

from .._warnings import AccuracyWarning
from . import _access as A
from ._result import Estimate

__all__ = ["kl_mc", "entropy_mc", "cross_entropy_mc", "js_mc", "DEFAULT_RTOL", "DEFAULT_MAX_DRAWS"]

DEFAULT_RTOL = 1e-2
DEFAULT_MAX_DRAWS = 10**6
_FIRST = 4096
_PILOT = 1024
_REPLICATES = 16
_METHODS = ("auto", "none", "qmc", "antithetic", "control")
_LOG2 = math.log(2.0)
_KURTOSIS_LIMIT = 0.01  # (excess kurtosis + 2) / n above this: the interval is flagged unreliable
_QUADRATIC_MAX_D = 5  # quadratic control variates only up to this dimension (d(d+3)/2 controls)
_CONTROLS_PAY = 0.9  # keep control variates where the pilot's residual variance is at most this part of the raw one


# ---------------------------------------------------------------- the quantities as per-draw terms


def _kl_terms(p, q):
    def terms(x):
        lp, lq = A.log_density(p, x[0]), A.log_density(q, x[0])
        return np.where(lp == -np.inf, 0.0, lp - lq)  # a draw where p's density underflowed: weight 0

    return terms


def _entropy_terms(p):
    def terms(x):
        lp = A.log_density(p, x[0])
        return np.where(lp == -np.inf, 0.0, -lp)

    return terms


def _cross_terms(p, q):
    def terms(x):
        lp, lq = A.log_density(p, x[0]), A.log_density(q, x[0])
        return np.where(lp == -np.inf, 0.0, -lq)

    return terms


def _js_terms(p, q):
    def half(lp, lq):  # log(2p / (p + q)) = log 2 + log p - logaddexp(log p, log q)
        return np.where(lp == -np.inf, 0.0, _LOG2 + lp - np.logaddexp(lp, lq))

    def terms(xy):
        x, y = xy
        a = half(A.log_density(p, x), A.log_density(q, x))
        b = half(A.log_density(q, y), A.log_density(p, y))
        return 0.5 * (a + b)

    return terms


# ---------------------------------------------------------------- public functions


def kl_mc(p, q, *, rng=None, confidence=0.95, rtol=None, atol=None, max_draws=None, variance_reduction="auto", base=None) -> Estimate:
    """Monte Carlo estimate of D(p||q) = E_p[log p(X) - log q(X)] between distribution objects.

    Parameters
    ----------
    p, q : scipy.stats or torch.distributions objects (one law each) over the same space.
    rng : None, a seed, or a numpy Generator: the same seed gives the same estimate.
    confidence : nominal coverage of ``ci``.
    rtol, atol : stop when the interval's half-width is <= max(atol, rtol |value|) (defaults 1e-2, 0).
    max_draws : the draw budget (default 10**6).
    variance_reduction : "auto", "none", "qmc", "antithetic" or "control" (see the module docstring).
    base : None for nats, 2 for bits.

    Returns
    -------
    Estimate with method "monte-carlo"; ``details``: converged, reason, draws, variance_reduction,
    variance_factor, kurtosis, reliable.  +inf (with the point named) where q has no density at a draw of p.
    """
    _check_pair(p, q)
    return _run([p], _kl_terms(p, q), "D(p||q)", rng, confidence, rtol, atol, max_draws, variance_reduction, base, infinite_ok=True)


def entropy_mc(p, *, rng=None, confidence=0.95, rtol=None, atol=None, max_draws=None, variance_reduction="auto", base=None) -> Estimate:
    """Monte Carlo estimate of H(p) = E_p[-log p(X)] (differential entropy for densities); as :func:`kl_mc`."""
    A._require(p, "p")
    return _run([p], _entropy_terms(p), "H(p)", rng, confidence, rtol, atol, max_draws, variance_reduction, base)


def cross_entropy_mc(
    p, q, *, rng=None, confidence=0.95, rtol=None, atol=None, max_draws=None, variance_reduction="auto", base=None
) -> Estimate:
    """Monte Carlo estimate of H(p, q) = E_p[-log q(X)]; as :func:`kl_mc`."""
    _check_pair(p, q)
    return _run([p], _cross_terms(p, q), "H(p, q)", rng, confidence, rtol, atol, max_draws, variance_reduction, base, infinite_ok=True)


def js_mc(p, q, *, rng=None, confidence=0.95, rtol=None, atol=None, max_draws=None, variance_reduction="auto", base=None) -> Estimate:
    """Monte Carlo estimate of the Jensen-Shannon divergence JS(p, q) = 1/2 D(p||m) + 1/2 D(q||m), m = (p + q)/2.

    One term is 1/2 [log(2p(X)/(p(X)+q(X))) + log(2q(Y)/(p(Y)+q(Y)))], X ~ p and Y ~ q
    independent (``logaddexp`` for log(p + q)); 0 <= JS <= log 2.  Otherwise as :func:`kl_mc`.
    """
    _check_pair(p, q)
    return _run([p, q], _js_terms(p, q), "JS(p, q)", rng, confidence, rtol, atol, max_draws, variance_reduction, base)


def _check_pair(p, q):
    A._require(p, "p")
    A._require(q, "q")
    if A.is_discrete(p) != A.is_discrete(q):
        msg = "p and q must both be discrete or both be continuous: a mass function and a density have no common reference measure"
        raise TypeError(msg)
    dp, dq = A.event_dim(p), A.event_dim(q)
    if dp != dq:
        msg = f"p and q live in different dimensions ({dp} and {dq}; 0 means univariate)"
        raise ValueError(msg)


# ---------------------------------------------------------------- the adaptive loop


def _options(confidence, rtol, atol, max_draws, variance_reduction):
    if not 0 < confidence < 1:
        msg = f"`confidence` must be in (0, 1), not {confidence!r}"
        raise ValueError(msg)
    rtol = DEFAULT_RTOL if rtol is None else float(rtol)
    atol = 0.0 if atol is None else float(atol)
    max_draws = DEFAULT_MAX_DRAWS if max_draws is None else int(max_draws)
    if rtol < 0 or atol < 0 or not (math.isfinite(rtol) and math.isfinite(atol)):
        msg = f"`rtol` and `atol` must be finite and non-negative, not {rtol!r} and {atol!r}"
        raise ValueError(msg)
    if max_draws < 64:
        msg = f"`max_draws` must be at least 64, not {max_draws}"
        raise ValueError(msg)
    if variance_reduction not in _METHODS:
        msg = f"`variance_reduction` must be one of {_METHODS}, not {variance_reduction!r}"
        raise ValueError(msg)
    return rtol, atol, max_draws


def _run(laws, terms, quantity, rng, confidence, rtol, atol, max_draws, vr, base, infinite_ok=False):
    rtol, atol, max_draws = _options(confidence, rtol, atol, max_draws, vr)
    rng = A.as_generator(0 if rng is None else rng)  # None is seed 0, as for every estimator: same call, same answer
    design = _design(laws, terms, vr, rng, max_draws)
    z = special.ndtri(0.5 + confidence / 2)
    batch = min(_FIRST, max_draws)
    while True:
        design.add(batch)
        if design.infinite is not None:
            return _infinite(design, laws, quantity, confidence, base, infinite_ok)
        if quantity == "D(p||q)" and (xi := _divergent_tail(design)) is not None:
            return _divergent(design, xi, quantity, confidence)
        value, se, crit = design.estimate(z, confidence)
        hw = crit * se
        tol = max(atol, rtol * abs(value))
        left = max_draws - design.draws
        if hw <= tol or left < design.min_batch:
            break
        need = design.draws * (hw / tol) ** 2 * 1.1 if tol > 0 else math.inf
        batch = design.next_batch(need, left)
        if batch < design.min_batch:
            break
    converged = hw <= tol
    reason = "tolerance met" if converged else design.budget_reason(max_draws)
    kurt, reliable = design.tails()
    if not reliable:
        warnings.warn(
            f"Monte Carlo estimate of {quantity}: the per-draw terms are heavy-tailed (excess kurtosis {kurt:.3g} over "
            f"{design.draws} draws), so the standard error and the interval are unreliable (the terms may have infinite "
            "variance, or the quantity itself may be infinite)",
            AccuracyWarning,
            stacklevel=_user_stacklevel(),
        )
    scale = 1.0 if base is None else math.log(base)
    details = {
        "converged": converged,
        "reason": reason,
        "draws": design.draws,
        "variance_reduction": design.name,
        "variance_factor": design.factor(se),
        "kurtosis": kurt,
        "reliable": reliable,
        "rtol": rtol,
        "atol": atol,
        "max_draws": max_draws,
    }
    return Estimate(
        value=value / scale,
        stderr=se / scale,
        ci=((value - hw) / scale, (value + hw) / scale),
        method="monte-carlo",
        n=design.draws,
        confidence=confidence,
        interval=design.interval,
        quantity=quantity,
        details=details,
    )


def _user_stacklevel() -> int:
    """The stacklevel of the first frame outside the kullback package (the user's call), for warnings."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(root + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def _infinite(design, laws, quantity, confidence, base, infinite_ok):
    """The answer inf (q has density 0 at a draw of p): stderr inf, ci (0, inf) for D, a warning naming the draw."""
    x = design.infinite
    if not infinite_ok:  # pragma: no cover - entropy/JS terms are finite on draws of p
        msg = f"{quantity}: an infinite Monte Carlo term at x = {x!r}"
        raise ValueError(msg)
    reason = f"q has density 0 at x = {x!r}, a draw of p: {quantity} = inf"
    warnings.warn(
        f"{reason} (p puts mass where q has none). The interval is (0, inf) for D(p||q): the draws bound it only from below",
        AccuracyWarning,
        stacklevel=_user_stacklevel(),
    )
    # the convention of every estimator here (plug-in, kNN, Monte Carlo): value inf, stderr inf, ci (lower bound, inf)
    lo = 0.0 if quantity == "D(p||q)" else -math.inf
    return Estimate(
        value=math.inf,
        stderr=math.inf,
        ci=(lo, math.inf),
        method="monte-carlo",
        n=design.draws,
        confidence=confidence,
        interval="none: q has density 0 at a draw of p",
        quantity=quantity,
        details={"converged": True, "reason": reason, "draws": design.draws, "infinite_at": x},
    )


_XI_DIVERGENT = 1.4


def _hill(t: np.ndarray) -> tuple[float, int]:
    """Hill's (1975, Ann. Statist. 3, eq. (4)) estimate of the upper tail index xi of the terms, and M used.

    xi = mean log(t_(i) / t_(M+1)) over the M largest terms, M = min(n/5, 3 sqrt(n)) (the tail size of
    Vehtari et al. 2024, "Pareto smoothed importance sampling", JMLR 25, sec. 3); nan where t_(M+1) <= 0.
    P(T > t) ~ t^(-1/xi): xi >= 1 means E T = inf.
    """
    n = t.size
    M = int(min(n // 5, 3 * math.sqrt(n)))
    if M < 10:
        return math.nan, M
    top = np.partition(t, n - M - 1)[n - M - 1 :]
    u = float(top.min())
    if not u > 0:
        return math.nan, M
    return float(np.mean(np.log(top / u))), M


def _divergent_tail(design) -> float | None:
    """The Hill index of the raw terms log p - log q where it shows their mean diverges (xi above 1.4 by 2 s.e.).

    Not 1: Hill's estimate is biased up where the tail is regularly varying with a slowly varying factor (t_2.2 vs
    N(0, 1), xi = 0.91 and D finite, gave 1.19-1.25 at 4096 draws); 1.4 keeps such laws finite (their terms' infinite
    variance is flagged by the kurtosis check) and still catches Cauchy (xi = 2) and t_1.2 (1.67) vs normal.
    """
    xi, M = _hill(np.concatenate(design.raw_values))
    if xi == xi and xi * (1 - 2 / math.sqrt(M)) > _XI_DIVERGENT:  # Hill's asymptotic s.e. is xi / sqrt(M)
        return xi
    return None


def _divergent(design, xi, quantity, confidence):
    """D = inf: the terms' upper tail is too heavy for a mean (issue 21, item 7: Cauchy vs normal gave a finite value)."""
    reason = (
        f"the terms log p - log q have an upper tail of index xi = {xi:.3g} (Hill's estimate over {design.draws} draws; "
        f"P(T > t) ~ t^(-1/xi), and xi > 1 beyond its error): their mean diverges, so {quantity} = inf (p's tails are too "
        "heavy for q's)"
    )
    warnings.warn(reason + ". The interval is (0, inf)", AccuracyWarning, stacklevel=_user_stacklevel())
    details = {"converged": True, "reason": reason, "draws": design.draws, "tail_index": xi}
    return Estimate(math.inf, math.inf, (0.0, math.inf), "monte-carlo", design.draws, confidence, "none: divergent tail", quantity, details)


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
