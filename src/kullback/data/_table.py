"""The plain-text table a Comparison prints (the repr and ``kullback compare --format table``)."""

from __future__ import annotations

import math
from html import escape

__all__ = ["table", "summary_table_html"]


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


def summary_table_html(c) -> str:
    """The summary table as an HTML fragment, sorted by the metric (also a notebook's ``_repr_html_``)."""
    m = c.metric
    head = ["column", "kind", "n ref", "n cur", "missing ref", "missing cur", m, f"{int(100 * c.confidence)}% CI",
            "kl", "kl_reverse", "js", "null floor", "p (Holm)", "drift"]  # fmt: skip
    rows = []
    for r in c.sorted():
        if r.status != "ok":
            cells = [r.column, r.kind, r.n_reference, r.n_current, r.missing_reference, r.missing_current]
            tds = "".join(f"<td class=l>{escape(str(v))}</td>" for v in cells[:2]) + "".join(f"<td>{v}</td>" for v in cells[2:])
            rows.append(f"<tr class=error>{tds}<td class=l colspan=8>error: {escape(r.reason)}</td></tr>")
            continue
        e = r.estimates[m]
        verdict = "DRIFT" if r.drift else ("significant, below threshold" if r.significant else "no")
        cells = [r.n_reference, r.n_current, r.missing_reference, r.missing_current, _f(e.value), f"[{_f(e.ci[0])}, {_f(e.ci[1])}]",
                 _f(r.kl.value), _f(r.kl_reverse.value), _f(r.js.value), _f(r.null_floor[m]), _p(r.p_value_holm)]  # fmt: skip
        tds = f"<td class=l><a href='#col-{_id(r.column)}'>{escape(r.column)}</a></td><td class=l>{r.kind}</td>"
        tds += "".join(f"<td>{escape(str(v))}</td>" for v in cells) + f"<td class=l>{verdict}</td>"
        rows.append(f"<tr class={'drift' if r.drift else 'ok'}>{tds}</tr>")
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f"<table id=summary><thead><tr>{th}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _id(name) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(name))
