"""kb.compare: two tables (or a saved reference profile and a table), column by column, on fixed bins."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace

import numpy as np

from . import _stats
from ._profile import ColumnProfile, Profile, profile
from ._read import DataError

__all__ = ["compare", "Comparison", "ColumnComparison", "DEFAULT_THRESHOLDS"]

# threshold=None: the PSI rule of thumb (< 0.1 stable, 0.1-0.25 minor, > 0.25 major; Siddiqi 2006, Credit Risk
# Scorecards, ch. 8), and for the others the same shift in their own scale (PSI ~ 2 KL ~ 8 JS for small changes)
DEFAULT_THRESHOLDS = {"psi": 0.1, "kl": 0.05, "kl_reverse": 0.05, "js": 0.0125}
_SMOOTHING = {"none": None, None: None, "jeffreys": "jeffreys", "laplace": "laplace", "perks": "perks"}


@dataclass(frozen=True)
class ColumnComparison:
    """One column's comparison: kind, sizes, the four divergences (Estimates), p-value, drift, per-bin terms."""

    column: str
    kind: str
    status: str  # "ok" or "error"
    reason: str = ""
    n_reference: int = 0
    n_current: int = 0
    missing_reference: int = 0
    missing_current: int = 0
    estimates: dict = field(default_factory=dict)  # metric -> Estimate
    null_floor: dict = field(default_factory=dict)  # metric -> float
    p_value: float = math.nan
    p_value_holm: float = math.nan
    permutations: int = 0
    significant: bool = False
    material: bool = False
    drift: bool = False
    bins: tuple = ()
    counts_reference: tuple = ()
    counts_current: tuple = ()
    contributions: dict = field(default_factory=dict)  # "kl", "kl_reverse", "psi", "js", "p_current", "p_reference"
    notes: tuple = ()

    def __getattr__(self, name):
        if name in _stats.METRICS:
            return self.estimates.get(name)
        raise AttributeError(name)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("column", "kind", "status", "reason", "n_reference", "n_current")}
        d |= {k: getattr(self, k) for k in ("missing_reference", "missing_current", "permutations", "significant")}
        d |= {"material": self.material, "drift": self.drift, "notes": list(self.notes)}
        d["p_value"], d["p_value_holm"] = _num(self.p_value), _num(self.p_value_holm)
        for k, e in self.estimates.items():
            d[k] = _metric_dict(e)
        d["null_floor"] = {k: _num(v) for k, v in self.null_floor.items()}
        d["bins"] = [
            {"bin": str(b), "reference": int(r), "current": int(c)}
            for b, r, c in zip(self.bins, self.counts_reference, self.counts_current, strict=True)
        ]
        for i, row in enumerate(d["bins"]):
            for k in ("kl", "kl_reverse", "psi", "js"):
                if k in self.contributions:
                    v = float(self.contributions[k][i])
                    row[k] = _num(v)
                    if math.isinf(v):
                        row[f"{k}_infinite"] = True
        return d


def _num(v):
    """A float for JSON: inf and NaN become null (the caller marks "infinite")."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _metric_dict(e) -> dict:
    return {
        "value": _num(e.value),
        "infinite": math.isinf(e.value),
        "ci": [_num(e.ci[0]), _num(e.ci[1])],
        "ci_upper_infinite": math.isinf(e.ci[1]),
        "stderr": _num(e.stderr),
        "plugin": _num(e.details.get("plugin")),
        "corrected": _num(e.details.get("corrected")),
        "method": e.method,
        "quantity": e.quantity,
        "explanation": e.details.get("explanation", ""),
    }


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`: one :class:`ColumnComparison` per column, and the decision's settings.

    ``comparison["col"]`` is that column's result; ``.drift`` is True where any column drifted;
    ``.to_frame()`` (pandas), ``.to_dict()``, ``.to_json()``.

    Parameters
    ----------
    columns : tuple of ColumnComparison
        One result per column compared, each with ``kl``, ``kl_reverse``, ``js`` and ``psi``
        (:class:`kullback.Estimate` objects), the null floor, the p-values and ``drift``.
    metric : str
        The divergence the decision used (``"psi"``, ``"kl"``, ``"kl_reverse"`` or ``"js"``).
    threshold : float
        The material-change threshold on the lower end of ``metric``'s interval.
    alpha : float
        The level of the Holm-corrected permutation test.
    smoothing : str or None
        The pseudo-count rule the divergences were computed with (None: the exact plug-in).
    confidence : float
        The coverage of the intervals.
    base : float or None
        The logarithm base of the divergences (None: nats).

    Examples
    --------
    >>> import kullback as kb
    >>> c = kb.compare({"x": [0, 1] * 500}, {"x": [0] * 900 + [1] * 100})
    >>> c.drifted, c.metric, c.threshold
    (['x'], 'psi', 0.1)
    """

    columns: tuple
    metric: str
    threshold: float
    alpha: float
    smoothing: str | None
    confidence: float
    base: float | None = None

    def __getitem__(self, name) -> ColumnComparison:
        for c in self.columns:
            if c.column == name:
                return c
        msg = f"no column {name!r} in this comparison; it has {[c.column for c in self.columns]}"
        raise KeyError(msg)

    def __iter__(self):
        return iter(self.columns)

    def __len__(self):
        return len(self.columns)

    @property
    def drift(self) -> bool:
        return any(c.drift for c in self.columns)

    @property
    def drifted(self) -> list:
        return [c.column for c in self.columns if c.drift]

    def sorted(self):
        """Columns by decreasing value of the metric (errors last)."""

        def key(c):
            e = c.estimates.get(self.metric)
            return (c.status != "ok", -(e.value if e is not None else -math.inf))

        return sorted(self.columns, key=key)

    def rows(self) -> list[dict]:
        """One flat dict per column (what to_frame and the CSV output hold)."""
        out = []
        for c in self.columns:
            r = {"column": c.column, "kind": c.kind, "status": c.status, "n_reference": c.n_reference, "n_current": c.n_current}
            r |= {"missing_reference": c.missing_reference, "missing_current": c.missing_current}
            for k in _stats.METRICS:
                e = c.estimates.get(k)
                r[k] = e.value if e else math.nan
                r[f"{k}_lo"] = e.ci[0] if e else math.nan
                r[f"{k}_hi"] = e.ci[1] if e else math.nan
            r["null_floor"] = c.null_floor.get(self.metric, math.nan)
            r |= {"p_value": c.p_value, "p_value_holm": c.p_value_holm, "significant": c.significant, "material": c.material}
            r |= {"drift": c.drift, "reason": c.reason}
            out.append(r)
        return out

    def to_frame(self):
        """A pandas DataFrame, one row per column."""
        import pandas as pd

        return pd.DataFrame(self.rows())

    def to_dict(self) -> dict:
        return {
            "metric": self.metric,
            "threshold": self.threshold,
            "alpha": self.alpha,
            "smoothing": self.smoothing or "none",
            "confidence": self.confidence,
            "base": self.base,
            "drift": self.drift,
            "columns": [c.to_dict() for c in self.columns],
        }

    def to_json(self, **kw) -> str:
        """JSON; an infinite value is written as null beside ``"infinite": true``."""
        return json.dumps(self.to_dict(), allow_nan=False, **kw)

    def __repr__(self) -> str:
        from ._table import table

        return table(self)

    def _repr_html_(self) -> str:
        from ._table import summary_table_html

        return summary_table_html(self)

    from ._table import rich_table as __rich__  # rich.print(comparison): the table as a rich Table


# ---------------------------------------------------------------- aligning two column profiles


def _align(ref: ColumnProfile, cur: ColumnProfile):
    """(bins, reference counts, current counts, kind) on common bins; or a reason string where impossible."""
    if ref.kind == "null" and cur.kind == "null":
        return "every value is missing on both sides; nothing to compare"
    kind = cur.kind if ref.kind == "null" else ref.kind
    if ref.kind != "null" and cur.kind != "null" and ref.kind != cur.kind:
        return _mismatch(ref, cur)
    if kind in ("numeric", "datetime"):
        if ref.kind == "null":
            return "every value is missing in the reference; there are no bins to count the current data on"
        if cur.kind != "null" and tuple(cur.edges) != tuple(ref.edges):
            return "the current profile was counted on other edges than the reference; profile it with bins=reference"
        bins, rc = ref.bins()
        cc = [0] * (len(rc) - 1) + [cur.n] if cur.kind == "null" else cur.bins()[1]
        return bins, rc, cc, kind
    ra = dict(zip(ref.labels, ref.counts, strict=True))
    ca = dict(zip(cur.labels, cur.counts, strict=True))
    r_other, c_other = ref.other, cur.other
    labels = []
    for k in dict.fromkeys([*ref.labels, *cur.labels]):
        if (k not in ra and ref.other) or (k not in ca and cur.other):  # may hide in the other side's "other"
            r_other += ra.pop(k, 0)
            c_other += ca.pop(k, 0)
        else:
            labels.append(k)
    rc = [int(ra.get(k, 0)) for k in labels] + [r_other, ref.missing]
    cc = [int(ca.get(k, 0)) for k in labels] + [c_other, cur.missing]
    return [*labels, "other", "missing"], rc, cc, kind


def _mismatch(ref, cur) -> str:
    msg = f"type mismatch: {ref.kind} ({ref.dtype}) in the reference, {cur.kind} ({cur.dtype}) in the current data"
    text, other = (cur, ref) if cur.kind == "categorical" else (ref, cur) if ref.kind == "categorical" else (None, None)
    if text is not None and other.kind == "numeric":
        bad = [v for v in text.labels if not _is_number(v)][:3]
        if bad:
            side = "current" if text is cur else "reference"
            msg += f"; the {side} column holds text that is not a number, e.g. {', '.join(map(repr, bad))} (a mixed-type column)"
    return msg


def _is_number(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


# ---------------------------------------------------------------- one column


def _column(name, ref, cur, *, smoothing, metric, confidence, permutations, rng, base):
    """One column's comparison, or its reason for not being compared."""
    if ref is None or cur is None:
        side = "reference" if ref is None else "current data"
        return ColumnComparison(name, "?", "error", f"column missing in the {side}")
    common = dict(n_reference=ref.n, n_current=cur.n, missing_reference=ref.missing, missing_current=cur.missing)
    aligned = _align(ref, cur)
    if isinstance(aligned, str):
        return ColumnComparison(name, ref.kind, "error", aligned, **common)
    bins, rc, cc, kind = aligned
    for side, n in (("reference", ref.n), ("current data", cur.n)):
        if n < 2:
            return ColumnComparison(name, kind, "error", f"the {side} has {n} row(s); a comparison needs at least 2 on each side", **common)
    notes = _notes(ref, cur)
    est = _stats.estimates(cc, rc, smoothing=smoothing, confidence=confidence)
    contrib = _stats.contributions(cc, rc, smoothing)
    if smoothing is None:
        _explain(est, bins, rc, cc)
    K = int(np.count_nonzero(np.asarray(rc) + np.asarray(cc)))
    floor = {k: _stats.null_floor(k, K, cur.n, ref.n) for k in _stats.METRICS}
    p, L = _stats.permutation_pvalue(cc, rc, metric=metric, permutations=permutations, rng=rng)
    if base is not None:
        est, floor, contrib = _in_base(est, floor, contrib, base)
    return ColumnComparison(
        name, kind, "ok", "", **common, estimates=est, null_floor=floor, p_value=p, permutations=L,
        bins=tuple(bins), counts_reference=tuple(int(v) for v in rc), counts_current=tuple(int(v) for v in cc),
        contributions=contrib, notes=notes,
    )  # fmt: skip


def _notes(ref, cur) -> tuple:
    out = []
    for side, c in (("reference", ref), ("current", cur)):
        out += [f"{side}: {t}" for t in c.notes]
        nonfinite = c.nan + c.posinf + c.neginf
        if nonfinite:
            out.append(f"{side}: {c.nan} NaN, {c.posinf} +inf, {c.neginf} -inf, counted in bins of their own")
        if c.kind == "null":
            out.append(f"{side}: every value is missing")
        if c.kind in ("numeric", "datetime") and c.layout == "quantile" and (c.underflow or c.overflow):
            out.append(f"{side}: {c.underflow} value(s) below the reference's minimum, {c.overflow} above its maximum (in the outer bins)")
        if c.kind == "categorical" and c.n >= 1000 and len(c.labels) + c.other > 0.5 * (c.n - c.missing) and c.other:
            out.append(f"{side}: nearly every value is distinct (an identifier?); a divergence of its values means little")
    if ref.kind in ("numeric", "datetime") and len(ref.counts) == 1:
        out.append("reference: constant (one value); any other value falls outside its single bin")
    return tuple(out)


def _explain(est, bins, rc, cc):
    """Name the bins that make each infinite KL infinite (one side has rows where the other has none)."""
    for k, (a, b, who) in {"kl": (cc, rc, "the current data have rows in bins the reference never had"),
                           "kl_reverse": (rc, cc, "the reference has rows in bins the current data never have")}.items():  # fmt: skip
        if math.isinf(est[k].value):
            culprits = [f"{bins[i]} ({a[i]} rows)" for i in range(len(bins)) if a[i] > 0 and b[i] == 0]
            text = f"{k} = inf: {who}: {', '.join(culprits[:6])}" + (" ..." if len(culprits) > 6 else "")
            text += "; smoothing='jeffreys' gives a finite, smoothed value"
            est[k].details["explanation"] = text
    if math.isinf(est["psi"].value):
        est["psi"].details["explanation"] = "; ".join(
            est[k].details.get("explanation", "") for k in ("kl", "kl_reverse") if math.isinf(est[k].value)
        )


def _in_base(est, floor, contrib, base):
    f = 1 / math.log(base)
    est = {k: replace(e, value=e.value * f, stderr=e.stderr * f, ci=(e.ci[0] * f, e.ci[1] * f)) for k, e in est.items()}
    floor = {k: v * f for k, v in floor.items()}
    contrib = {k: (v * f if k in _stats.METRICS else v) for k, v in contrib.items()}
    return est, floor, contrib


# ---------------------------------------------------------------- the public function


def compare(
    reference, current, *, columns=None, bins="auto", smoothing="jeffreys", metric="psi", threshold=None,
    alpha=0.05, confidence=0.95, permutations=None, rng=None, base=None, max_categories=1000,
) -> Comparison:  # fmt: skip
    """Compare two tables column by column: divergences with intervals, a permutation test, a drift decision.

    Parameters
    ----------
    reference : table, path, or :class:`Profile`
        The reference (training data, last month).  Its values fix the bins.
    current : table, path, or :class:`Profile`
        The data compared with it, counted on the reference's bins (out-of-range and missing values in bins
        of their own).
    columns : list of str, optional
        The columns to compare (default: every column of either side).
    bins : "auto" or int
        Quantile bins of numeric and datetime columns ("auto": up to 10).
    smoothing : {"jeffreys", "laplace", "perks", "none"}
        Pseudo-count added to every bin shown by either side before the divergences are computed; the result
        then estimates the smoothed divergence and says so.  ``"none"``: the exact plug-in with the
        Miller-Madow bias correction, inf where one side has rows in a bin the other has none of, the bins named.
    metric : {"psi", "kl", "kl_reverse", "js"}
        The divergence the decision and the permutation test use.
    threshold : float, optional
        Material change: the lower end of ``metric``'s interval must exceed it (default 0.1 for PSI, the
        credit-risk rule of thumb: < 0.1 stable, 0.1-0.25 minor, > 0.25 major; 0.05 for kl, 0.0125 for js).
    alpha : float
        Level of the permutation test after Holm's correction across the columns compared.
    confidence : float
        Coverage of the intervals.
    permutations : int, optional
        Most permutations per column (default ``max(9999, 2 * columns / alpha)``, so that Holm's smallest
        threshold can be reached); fewer are drawn once the p-value is clearly large.
    rng : numpy.random.Generator or int, optional
        Randomness of the permutation test (default seed 0: the same data give the same answer).
    base : float, optional
        Logarithm base of the divergences (default nats; 2 for bits).
    max_categories : int
        Most distinct values a categorical column keeps before the rest are counted in one "other" bin.

    Returns
    -------
    Comparison
        ``drift`` for a column is ``significant and material``: p_value_holm < alpha and the lower end of the
        metric's interval > threshold.  kl is D(current || reference), kl_reverse D(reference || current),
        js the Jensen-Shannon divergence (not its square root), psi = kl + kl_reverse.

    Examples
    --------
    >>> import kullback as kb
    >>> ref = {"x": [0, 1] * 500}
    >>> cur = {"x": [0] * 900 + [1] * 100}
    >>> c = kb.compare(ref, cur, smoothing="none")
    >>> round(c["x"].psi.details["plugin"], 7)  # (0.9 - 0.5) ln(0.9/0.5) + (0.1 - 0.5) ln(0.1/0.5)
    0.8788898
    >>> c["x"].drift, c["x"].p_value < 0.01
    (True, True)
    """
    smoothing_key = _check_options(smoothing, metric, alpha, confidence, base)
    smoothing = _SMOOTHING[smoothing_key]
    threshold = DEFAULT_THRESHOLDS[metric] if threshold is None else float(threshold)
    ref = reference if isinstance(reference, Profile) else profile_present(reference, columns, bins, max_categories)
    cur = current if isinstance(current, Profile) else profile_present(current, columns, ref, max_categories)
    names = list(dict.fromkeys([*ref.columns, *cur.columns])) if columns is None else list(columns)
    if not names:
        msg = "neither table has a column to compare"
        raise DataError(msg)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)
    L = permutations or max(9999, math.ceil(2 * len(names) / alpha))
    opts = dict(smoothing=smoothing, metric=metric, confidence=confidence, permutations=L, rng=gen, base=base)
    results = [_column(k, ref.columns.get(k), cur.columns.get(k), **opts) for k in names]
    results = _decide(results, metric, threshold, alpha)
    return Comparison(tuple(results), metric, threshold, alpha, smoothing, confidence, base)


def profile_present(data, columns, bins, max_categories=1000):
    """The profile of the named columns the data have (one they lack is reported by compare, not raised)."""
    from ._read import frame

    if columns is not None:
        schema = frame(data).collect_schema()
        columns = [c for c in columns if c in schema]
    return profile(data, columns=columns, bins=bins, max_categories=max_categories)


def _decide(results, metric, threshold, alpha):
    """Holm across the columns compared; drift = significant and material."""
    ok = [i for i, r in enumerate(results) if r.status == "ok"]
    adj = _stats.holm([results[i].p_value for i in ok]) if ok else []
    out = list(results)
    for i, p in zip(ok, adj, strict=True):
        r = results[i]
        significant = p < alpha
        material = r.estimates[metric].ci[0] > threshold
        out[i] = replace(r, p_value_holm=p, significant=significant, material=material, drift=significant and material)
    return out


def _check_options(smoothing, metric, alpha, confidence, base):
    if smoothing not in _SMOOTHING:
        msg = f'`smoothing` must be one of "jeffreys", "laplace", "perks" or "none", not {smoothing!r}'
        raise ValueError(msg)
    if metric not in _stats.METRICS:
        msg = f"`metric` must be one of {list(_stats.METRICS)}, not {metric!r}"
        raise ValueError(msg)
    if not (0 < alpha < 1):
        msg = f"`alpha` must be in (0, 1), not {alpha!r}"
        raise ValueError(msg)
    if not (0 < confidence < 1):
        msg = f"`confidence` must be in (0, 1), not {confidence!r}"
        raise ValueError(msg)
    if base is not None and not (math.isfinite(base) and base > 1):
        msg = f"`base` must be a finite number above 1 (2 for bits), not {base!r}; below 1 every divergence would be negative"
        raise ValueError(msg)
    return smoothing
