"""The plain-text table a Comparison prints (the repr and ``kullback compare --format table``)."""

from __future__ import annotations

import math

__all__ = ["table"]


def _f(x, digits=4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "inf"
    return f"{x:.{digits}g}" if abs(x) < 1e-3 and x != 0 else f"{x:.{digits}f}"


def _p(x) -> str:
    if isinstance(x, float) and math.isnan(x):
        return "-"
    return f"{x:.2g}" if x < 0.001 else f"{x:.3f}"


def table(c) -> str:
    """Columns sorted by the metric, with its interval, the null floor, the Holm p-value and the decision."""
    m = c.metric
    head = ["column", "kind", "n_ref", "n_cur", m, f"{int(100 * c.confidence)}% CI", "null floor", "p (Holm)", "drift"]
    rows = []
    for r in c.sorted():
        if r.status != "ok":
            rows.append([r.column, r.kind, str(r.n_reference), str(r.n_current), "-", "-", "-", "-", f"error: {r.reason}"])
            continue
        e = r.estimates[m]
        verdict = "DRIFT" if r.drift else ("significant, below threshold" if r.significant else "no")
        ci = f"[{_f(e.ci[0])}, {_f(e.ci[1])}]"
        rows.append(
            [r.column, r.kind, str(r.n_reference), str(r.n_current), _f(e.value), ci, _f(r.null_floor[m]), _p(r.p_value_holm), verdict]
        )
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)]
    widths[-1] = len(head[-1])
    line = lambda cells: "  ".join(s.ljust(w) for s, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    smooth = c.smoothing or "none"
    title = f"kullback compare: {m} (smoothing={smooth}), drift = Holm p < {c.alpha:g} and CI lower end > {c.threshold:g}" + (
        f", base {c.base:g}" if c.base else ", nats"
    )
    out = [title, line(head), line(["-" * w for w in widths])] + [line(r) for r in rows]
    drifted = c.drifted
    out.append(f"{len(drifted)} of {len(c.columns)} column(s) drifted" + (f": {', '.join(drifted)}" if drifted else ""))
    return "\n".join(out)
