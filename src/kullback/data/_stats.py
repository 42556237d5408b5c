"""The statistics of a comparison on fixed bins: estimates, null floor, permutation p-value, Holm.

The divergences and their intervals come from the estimation room's plug-in and Miller-Madow code
(:mod:`kullback.estimation._plugin`); :func:`estimates` is the one place that calls it.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy.special import rel_entr

from ..estimation._plugin import PRIORS, js_counts, kl_counts
from ..estimation._result import Estimate

__all__ = ["estimates", "null_floor", "permutation_pvalue", "holm", "contributions", "METRICS", "STATISTICS"]

METRICS = ("kl", "kl_reverse", "js", "psi")


def estimates(cur, ref, *, smoothing, confidence=0.95) -> dict:
    """kl = D(cur||ref), kl_reverse = D(ref||cur), js and psi = kl + kl_reverse, each an Estimate.

    ``smoothing=None``: the Miller-Madow bias-corrected plug-in on the raw counts (inf where one side has a
    bin the other never shows).  Otherwise the plug-in on counts plus the prior's pseudo-count (Hausser &
    Strimmer 2009): it estimates the *smoothed* divergence, which ``quantity`` says; the Miller-Madow value
    of the raw counts is kept in ``details["corrected"]``.  PSI's interval is the Minkowski sum of the two
    KL intervals: since sd(X + Y) <= sd(X) + sd(Y) for any correlation, it covers at least at the nominal
    level under the normal approximation both intervals rest on.
    """
    x, y = np.asarray(cur, dtype=np.int64), np.asarray(ref, dtype=np.int64)
    correction = smoothing is None
    out = {
        "kl": kl_counts(x, y, correction=correction, smoothing=smoothing, confidence=confidence),
        "kl_reverse": kl_counts(y, x, correction=correction, smoothing=smoothing, confidence=confidence),
        "js": js_counts(x, y, correction=correction, smoothing=smoothing, confidence=confidence),
    }
    for k, e in out.items():
        # the Miller-Madow value of the raw counts: the estimate itself, or the unsmoothed companion a smoothed one carries
        e.details["corrected"] = e.value if correction else e.details["unsmoothed"]
        if not correction:
            out[k] = replace(e, quantity=f"{e.quantity}, smoothed ({smoothing})")
    out["kl"] = replace(out["kl"], quantity=out["kl"].quantity.replace("D(p||q)", "D(current||reference)"))
    out["kl_reverse"] = replace(out["kl_reverse"], quantity=out["kl_reverse"].quantity.replace("D(p||q)", "D(reference||current)"))
    out["psi"] = _psi(out["kl"], out["kl_reverse"], smoothing)
    return out


def _psi(a: Estimate, b: Estimate, smoothing) -> Estimate:
    """PSI = D(cur||ref) + D(ref||cur) (the J-divergence, Jeffreys 1946), interval the sum of the two."""
    value = a.value + b.value
    ci = (a.ci[0] + b.ci[0], a.ci[1] + b.ci[1])
    details = {
        "plugin": a.details.get("plugin", math.inf) + b.details.get("plugin", math.inf),
        "corrected": a.details["corrected"] + b.details["corrected"],
        "smoothing": smoothing,
    }
    quantity = "PSI = D(current||reference) + D(reference||current)" + (f", smoothed ({smoothing})" if smoothing else "")
    se = math.inf if math.isinf(value) else a.stderr + b.stderr
    interval = "sum of the two KL intervals (conservative)"
    return Estimate(
        value=value,
        stderr=se,
        ci=ci,
        method=a.method,
        n=a.n,
        confidence=a.confidence,
        interval=interval,
        quantity=quantity,
        details=details,
    )


def null_floor(metric: str, K: int, n: int, m: int) -> float:
    """What two samples of one law of sizes n and m show on K bins, to first order (the plug-in's mean).

    Under p = q, 2 (n m / (n + m)) D_hat -> chi2_{K-1} for either KL direction (Kullback 1959, ch. 5;
    the G-test), so E D_hat = (K - 1)/2 (1/n + 1/m); PSI is twice that, (K - 1)(1/n + 1/m) (Yurdakul 2018,
    "Statistical properties of population stability index", eq. 11); JS = (K - 1)/8 (1/n + 1/m).
    """
    s = max(K - 1, 0) * (1 / n + 1 / m)
    return {"kl": s / 2, "kl_reverse": s / 2, "psi": s, "js": s / 8}[metric]


# ---------------------------------------------------------------- permutation test


def _freqs(c, total, K):
    # Jeffreys pseudo-count 1/2 keeps the statistic finite; the test's validity does not depend on it
    return (c + 0.5) / (total[..., None] + 0.5 * K)


def _stat_kl(p, q):
    return rel_entr(p, q).sum(-1)


STATISTICS = {
    "kl": lambda p, q: _stat_kl(p, q),
    "kl_reverse": lambda p, q: _stat_kl(q, p),
    "psi": lambda p, q: ((p - q) * (np.log(p) - np.log(q))).sum(-1),
    "js": lambda p, q: 0.5 * (_stat_kl(p, (p + q) / 2) + _stat_kl(q, (p + q) / 2)),
}


def permutation_pvalue(cur, ref, *, metric="psi", permutations=9999, rng=None, stop_after=20) -> tuple[float, int]:
    """Exact permutation p-value of "same law" on fixed bins, and the number of permutations drawn.

    With the bins fixed, shuffling the pooled rows between the two samples draws the current counts from
    the multivariate hypergeometric law of the pooled counts, so each permutation costs O(bins), not O(rows).
    p = (b + 1)/(L + 1) with b the permutations whose statistic reaches the observed one (Phipson & Smyth 2010,
    Stat. Appl. Genet. Mol. Biol. 9, eq. 2); draws stop once b reaches ``stop_after`` and p = b / L
    (Besag & Clifford 1991, Biometrika 78, 301-304: the sequential p-value, valid at every stopping point).
    """
    cur, ref = np.asarray(cur, dtype=np.int64), np.asarray(ref, dtype=np.int64)
    on = (cur + ref) > 0
    cur, ref = cur[on], ref[on]
    K, n, m = cur.size, int(cur.sum()), int(ref.sum())
    if K < 2:
        return 1.0, 0
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    stat = STATISTICS[metric]
    pooled = cur + ref
    obs = float(stat(_freqs(cur, np.asarray(n), K), _freqs(ref, np.asarray(m), K)))
    tol = 1e-12 * max(abs(obs), 1e-300)
    b, drawn, batch = 0, 0, 256
    while drawn < permutations:
        size = min(batch, permutations - drawn)
        C = gen.multivariate_hypergeometric(pooled, n, size=size, method="marginals")
        s = stat(_freqs(C, np.full(size, n), K), _freqs(pooled - C, np.full(size, m), K))
        hits = np.cumsum(s >= obs - tol)
        if b + hits[-1] >= stop_after:
            at = int(np.searchsorted(hits, stop_after - b)) + 1  # the draw that gave the stop_after-th hit
            return stop_after / (drawn + at), drawn + at
        b += int(hits[-1])
        drawn += size
        batch = min(4 * batch, 8192)
    return (b + 1) / (drawn + 1), drawn


def holm(pvalues) -> list[float]:
    """Holm's (1979, Scand. J. Statist. 6, 65-70) step-down adjusted p-values, in the input's order."""
    p = np.asarray(pvalues, dtype=float)
    k = p.size
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((k - np.arange(k)) * p[order]))
    out = np.empty(k)
    out[order] = adj
    return out.tolist()


def contributions(cur, ref, smoothing) -> dict:
    """Per-bin terms that sum to the plug-in values: p log(p/q) for each KL, (p - q) log(p/q) for PSI.

    The pseudo-count is the estimation room's (PRIORS), added to the bins either side shows, as there.
    """
    cur, ref = np.asarray(cur, dtype=float), np.asarray(ref, dtype=float)
    on = (cur + ref) > 0
    pseudocount = 0.0 if smoothing is None else PRIORS[smoothing](int(on.sum()))
    a = np.where(on, cur + pseudocount, 0.0)
    b = np.where(on, ref + pseudocount, 0.0)
    p, q = a / max(a.sum(), 1e-300), b / max(b.sum(), 1e-300)
    kl = rel_entr(p, q)
    klr = rel_entr(q, p)
    mix = (p + q) / 2
    js = 0.5 * (rel_entr(p, mix) + rel_entr(q, mix))
    return {"p_current": p, "p_reference": q, "kl": kl, "kl_reverse": klr, "psi": kl + klr, "js": js}
