"""The table a Comparison prints: plain text (the repr; ``kullback compare`` into a pipe or file), a rich Table
(``rich.print(comparison)``; ``kullback compare`` on a terminal, rich imported only then) and HTML (``_repr_html_``)."""

from __future__ import annotations

import math
from html import escape

__all__ = ["table", "rich_table", "summary_table_html"]


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


def _verdict(r) -> str:
    return "DRIFT" if r.drift else ("significant, below threshold" if r.significant else "no")


def _cells(c):
    """The title, the header, one row of cells per column (sorted by the metric) and the closing line."""
    m = c.metric
    head = ["column", "kind", "n_ref", "n_cur", m, f"{int(100 * c.confidence)}% CI", "null floor", "p (Holm)", "drift"]
    rows = []
    for r in c.sorted():
        if r.status != "ok":
            rows.append([r.column, r.kind, str(r.n_reference), str(r.n_current), "-", "-", "-", "-", f"error: {r.reason}"])
            continue
        e = r.estimates[m]
        ci = f"[{_f(e.ci[0])}, {_f(e.ci[1])}]"
        rows.append(
            [r.column, r.kind, str(r.n_reference), str(r.n_current), _f(e.value), ci, _f(r.null_floor[m]), _p(r.p_value_holm), _verdict(r)]
        )
    smooth = c.smoothing or "none"
    title = f"kullback compare: {m} (smoothing={smooth}), drift = Holm p < {c.alpha:g} and CI lower end > {c.threshold:g}" + (
        f", base {c.base:g}" if c.base else ", nats"
    )
    drifted = c.drifted
    footer = f"{len(drifted)} of {len(c.columns)} column(s) drifted" + (f": {', '.join(drifted)}" if drifted else "")
    return title, head, rows, footer


def table(c) -> str:
    """Columns sorted by the metric, with its interval, the null floor, the Holm p-value and the decision."""
    title, head, rows, footer = _cells(c)
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)]
    widths[-1] = len(head[-1])
    line = lambda cells: "  ".join(s.ljust(w) for s, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([title, line(head), line(["-" * w for w in widths])] + [line(r) for r in rows] + [footer])


# The decision's colour in a terminal (rich styles); an error row is red throughout.
_STYLES = {"DRIFT": "bold red", "significant, below threshold": "yellow", "no": "green"}


def rich_table(c):
    """The same table as a ``rich.table.Table`` (``rich.print(comparison)``; ``kullback compare`` on a terminal)."""
    from rich.table import Table
    from rich.text import Text  # every cell a Text: a column named "[b]" is shown, not read as markup

    title, head, rows, footer = _cells(c)
    title = title.replace(", drift = ", "\ndrift = ", 1)  # two short lines: rich wraps a title to the table's width
    t = Table(title=Text(title), caption=Text(footer), title_justify="left", caption_justify="left", box=None, pad_edge=False)
    for i, h in enumerate(head):  # on a narrow terminal the names, the intervals and the verdicts fold, other numbers do not
        wraps = i in (0, 5, len(head) - 1)
        t.add_column(Text(h), justify="right" if 2 <= i <= 7 else "left", no_wrap=not wraps, overflow="fold", header_style="bold")
    for row in rows:
        error = row[-1].startswith("error: ")
        cells = [Text(s) for s in row[:-1]] + [Text(row[-1], style="red" if error else _STYLES[row[-1]])]
        t.add_row(*cells, style="red" if error else None)
    return t


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
        verdict = _verdict(r)
        cells = [r.n_reference, r.n_current, r.missing_reference, r.missing_current, _f(e.value), f"[{_f(e.ci[0])}, {_f(e.ci[1])}]",
                 _f(r.kl.value), _f(r.kl_reverse.value), _f(r.js.value), _f(r.null_floor[m]), _p(r.p_value_holm)]  # fmt: skip
        tds = f"<td class=l><a href='#col-{_id(r.column)}'>{escape(r.column)}</a></td><td class=l>{r.kind}</td>"
        tds += "".join(f"<td>{escape(str(v))}</td>" for v in cells) + f"<td class=l>{verdict}</td>"
        rows.append(f"<tr class={'drift' if r.drift else 'ok'}>{tds}</tr>")
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f"<table id=summary><thead><tr>{th}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _id(name) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(name))
