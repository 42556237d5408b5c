"""The results of fitting: :class:`Fit` (one family) and :class:`Ranking` (several, least information lost first)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Fit", "Ranking"]

_QUANTITY = {"forward": "D(target||q)", "reverse": "D(q||target)"}


@dataclass(frozen=True)
class Fit:
    """The member q of a family that loses least information about a target, by the KL divergence.

    Returned by :func:`kullback.fit` (and by ``kb.vi``, with ``direction="reverse"``).

    Parameters
    ----------
    distribution : scipy.stats frozen distribution or torch.distributions.Distribution
        The fitted law: a frozen scipy.stats object, or a torch distribution when the
        family is a torch class.
    params : dict
        The parameters of ``distribution`` (fixed ones included), as floats (arrays for
        the multivariate families).
    kl : float or Estimate
        The divergence at the fit, in nats unless ``base`` says otherwise: a float where it is
        exact (a law as target), a :class:`kullback.Estimate` with its interval where it is
        estimated (samples as target); ``inf`` where no member of the family covers the target.
    direction : {"forward", "reverse"}
        ``"forward"``: D(target||q) minimised (mass-covering); ``"reverse"``: D(q||target)
        minimised (mode-seeking).
    converged : bool
        Whether the optimiser met its tolerance at a finite objective.
    reason : str or None
        Why not, when ``converged`` is False (or why ``kl`` is infinite); None otherwise.
    family : str
        The family's name.
    diagnostics : dict
        How the fit was found: ``method``, ``iterations``, ``objective``, ``gradient_norm``,
        ``gradient`` (how it was computed), ``starts`` (every start tried, with where it
        ended), ``evaluations``.
    base : float or None
        The logarithm's base of ``kl`` (None: nats).

    Examples
    --------
    >>> import scipy.stats as st
    >>> import kullback as kb
    >>> f = kb.fit(st.binom(10, 0.3), st.poisson)
    >>> f.direction, f.converged, round(f.params["mu"], 6)
    ('forward', True, 3.0)
    >>> round(float(f.kl), 7)
    0.0294972
    """

    distribution: Any
    params: dict
    kl: Any
    direction: str
    converged: bool
    reason: str | None = None
    family: str = ""
    diagnostics: dict = field(default_factory=dict)
    base: float | None = None

    @property
    def quantity(self) -> str:
        return _QUANTITY.get(self.direction, "")

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        unit = "nats" if self.base is None else ("bits" if self.base == 2 else f"log base {self.base:g}")
        kl = self.kl
        if hasattr(kl, "ci"):
            lo, hi = kl.ci
            value = f"{_fmt(kl.value)} {unit}, {100 * kl.confidence:g}% CI [{_fmt(lo)}, {_fmt(hi)}] ({kl.method})"
        else:
            value = f"{_fmt(kl)} {unit}"
        state = "converged" if self.converged else f"not converged: {self.reason}"
        return f"Fit({self.family}({params}), {self.direction}: {self.quantity} = {value}, {state})"

    def to_dict(self) -> dict:
        """A plain dict (JSON-ready): the estimate as its own dict, arrays as lists."""
        kl = self.kl.to_dict() if hasattr(self.kl, "to_dict") else float(self.kl)
        return {
            "family": self.family,
            "params": {k: _plain(v) for k, v in self.params.items()},
            "kl": kl,
            "quantity": self.quantity,
            "direction": self.direction,
            "converged": bool(self.converged),
            "reason": self.reason,
            "base": self.base,
            "diagnostics": _plain(self.diagnostics),
        }


@dataclass(frozen=True)
class Ranking:
    """Fits of several families to one target, least information lost first.

    Returned by :func:`kullback.rank`; indexing and iteration give the :class:`Fit` objects.

    Parameters
    ----------
    rows : list of dict
        One dict per family: ``rank``, ``family``, ``params``, ``kl``, ``kl_lo``, ``kl_hi``,
        ``gap`` (to the best), ``gap_lo``, ``gap_hi`` (its interval, paired on the same sample;
        equal to ``gap`` where the divergences are exact), ``resolved`` (the gap's interval
        excludes 0: the data say this family loses more than the best; None for the best and
        for exact divergences), ``converged``, ``reason``.
    fits : list of Fit
        The :class:`Fit` of each row, in the same order.
    direction : {"forward", "reverse"}
        The direction every family was fitted in.
    confidence : float
        The confidence level of the intervals.

    Examples
    --------
    >>> import scipy.stats as st
    >>> import kullback as kb
    >>> r = kb.rank(st.binom(10, 0.3), [st.poisson, (st.binom, {"n": 10})])
    >>> [f.family for f in r]
    ['binom', 'poisson']
    >>> round(float(r.best.kl), 7)
    0.0
    """

    rows: list
    fits: list
    direction: str = "forward"
    confidence: float = 0.95

    @property
    def best(self) -> Fit:
        return self.fits[0]

    def __len__(self) -> int:
        return len(self.fits)

    def __iter__(self):
        return iter(self.fits)

    def __getitem__(self, i) -> Fit:
        return self.fits[i]

    def to_frame(self):
        """A pandas DataFrame with one row per family, if pandas is installed; else the list of rows."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is optional
            return [dict(r) for r in self.rows]
        return pd.DataFrame([{**r, "params": _params_text(r["params"])} for r in self.rows])

    def to_dict(self) -> dict:
        return {"direction": self.direction, "confidence": self.confidence, "rows": _plain(self.rows)}

    def __repr__(self) -> str:
        head = ["rank", "family", "params", "kl", "interval", "gap", "gap interval", "resolved"]
        body = []
        for r in self.rows:
            exact = r["kl_lo"] == r["kl_hi"]
            interval = "" if math.isinf(r["kl"]) else "exact" if exact else f"[{_fmt(r['kl_lo'])}, {_fmt(r['kl_hi'])}]"
            gap_iv = "" if r["resolved"] is None or math.isinf(r["gap"]) else f"[{_fmt(r['gap_lo'])}, {_fmt(r['gap_hi'])}]"
            resolved = "" if r["resolved"] is None else ("yes" if r["resolved"] else "no")
            note = "" if r["converged"] else "  (" + str(r["reason"]) + ")"
            body.append(
                [str(r["rank"]), r["family"], _params_text(r["params"]), _fmt(r["kl"]), interval, _fmt(r["gap"]), gap_iv, resolved + note]
            )
        widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)] if body else [len(h) for h in head]
        lines = [f"Ranking ({self.direction}, {_QUANTITY.get(self.direction, '')}, least information lost first)"]
        lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
        lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths)).rstrip() for b in body]
        return "\n".join(lines)


def _params_text(params: dict) -> str:
    return ", ".join(f"{k}={_short(v)}" for k, v in params.items())


def _short(v) -> str:
    if hasattr(v, "tolist") and getattr(v, "ndim", 0):
        return "array(" + str(list(getattr(v, "shape", ()))) + ")"
    try:
        return f"{float(v):.6g}"
    except (TypeError, ValueError):
        return repr(v)


def _fmt(x) -> str:
    x = float(x)
    if math.isinf(x) or math.isnan(x):
        return str(x)
    return f"{x:.6g}"


def _plain(v):
    """v with arrays as lists and numpy/torch scalars as floats, recursively."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "to_dict"):
        return v.to_dict()
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    if hasattr(v, "tolist"):
        return v.tolist()
    return v
