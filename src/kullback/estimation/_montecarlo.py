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

from .._warnings import AccuracyWarning
from . import _access as A
from ._mc_designs import _design
from ._result import Estimate

__all__ = ["kl_mc", "entropy_mc", "cross_entropy_mc", "js_mc", "DEFAULT_RTOL", "DEFAULT_MAX_DRAWS"]

DEFAULT_RTOL = 1e-2
DEFAULT_MAX_DRAWS = 10**6
_FIRST = 4096
_METHODS = ("auto", "none", "qmc", "antithetic", "control")
_LOG2 = math.log(2.0)


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
