"""The result of every estimate: a number, its uncertainty, and how it was made."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Estimate"]


@dataclass(frozen=True)
class Estimate:
    """An estimated divergence or entropy, with its uncertainty and the name of its method.

    Returned by :func:`kullback.estimate_kl`, :func:`kullback.estimate_entropy` and
    :func:`kullback.estimate_js`; not meant to be built by hand.

    Parameters
    ----------
    value : float
        The estimate (nats unless ``base`` says otherwise); ``float(e)`` gives it.
    stderr : float
        Its standard error (how the interval is built is in ``interval``).
    ci : tuple of float
        ``(lo, hi)``, the ``confidence`` interval for the true value; ``(lo, inf)`` where the data
        bound it from below only (``one_sided``: e.g. q's sample does not reach p's mass, with a
        :class:`kullback.UnresolvedWarning`).
    method : str
        The estimator's name, e.g. ``"knn"``, ``"plugin"``, ``"monte-carlo"``; passing it as
        ``method=`` gives the same estimate again.
    n : int or tuple of int
        The sample sizes used: an int, or ``(n_x, n_y)`` for two samples, or the number of draws.
    confidence : float
        The nominal coverage of ``ci``.
    interval : str
        How ``ci`` was built, e.g. ``"normal, jackknife variance"``.
    quantity : str
        What was estimated, e.g. ``"D(p||q)"``, ``"H(p)"``, ``"JS(p, q)"``.
    details : dict
        Anything else the method reports (k, bias correction, draws, warnings).

    Examples
    --------
    >>> import kullback as kb
    >>> e = kb.estimate_kl([0, 0, 1, 1, 1, 2] * 50, [0, 1, 1, 2, 2, 2] * 50)
    >>> e
    Estimate(D(p||q) = 0.242624 ± 0.0537347 (s.e.), 95% CI [0.137306, 0.347942], method='miller-madow', n=(300, 300))
    >>> round(float(e), 6), e.n, e.quantity
    (0.242624, (300, 300), 'D(p||q)')
    >>> d = e.to_dict()
    >>> d["ci"] == list(e.ci), d["n"]
    (True, [300, 300])
    """

    value: float
    stderr: float
    ci: tuple[float, float]
    method: str
    n: Any
    confidence: float = 0.95
    interval: str = ""
    quantity: str = ""
    details: dict = field(default_factory=dict)

    def __float__(self) -> float:
        return float(self.value)

    def __repr__(self) -> str:
        lo, hi = self.ci
        pct = f"{100 * self.confidence:g}%"
        what = f"{self.quantity} = " if self.quantity else ""
        ci = f"{pct} CI [{_fmt(lo)}, {_fmt(hi)}]" if not self.one_sided else f"{pct} one-sided CI [{_fmt(lo)}, inf)"
        return f"Estimate({what}{_fmt(self.value)} ± {_fmt(self.stderr)} (s.e.), {ci}, method={self.method!r}, n={self.n})"

    @property
    def one_sided(self) -> bool:
        """True where the data bound the quantity from below only: a finite estimate with ``ci = (lower, inf)``."""
        return math.isfinite(float(self.value)) and math.isinf(float(self.ci[1]))

    def to_dict(self) -> dict:
        """A plain dict (JSON-ready: tuples become lists)."""
        d = asdict(self)
        d["ci"] = list(self.ci)
        d["one_sided"] = self.one_sided
        if isinstance(d["n"], tuple):
            d["n"] = list(d["n"])
        return d


def _fmt(x) -> str:
    x = float(x)
    if math.isinf(x) or math.isnan(x):
        return str(x)
    return f"{x:.6g}"
