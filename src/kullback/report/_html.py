"""HTML and inline SVG for :mod:`kullback.report`, drawn here (no plotting library)."""

from __future__ import annotations

import math
from html import escape

from ..data._table import _f, _id, _p, summary_table_html

__all__ = ["render", "write_report", "summary_table_html"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:1rem 0;font-size:.85rem}th,td{padding:.3rem .5rem;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}
th:first-child,td:first-child,td.l{text-align:left}tr.drift td{background:#fde8e8}tr.error td{color:#888}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
section{margin:2rem 0;border-top:2px solid #eee}.note{color:#666;font-size:.9rem}
"""
_REF, _CUR, _POS, _NEG = "#8c8c8c", "#1f77b4", "#d62728", "#2ca02c"


def _bars(series, labels, *, colors, width=760, height=200, signed=False, title="") -> str:
    """Overlaid vertical bars (one colour per series) as an inline SVG; an infinite value is a full bar marked ∞."""
    k = len(labels)
    finite = [abs(v) for s in series for v in s if math.isfinite(v)]
    top = max(finite, default=1.0) or 1.0
    pad_l, pad_b = 48, 70
    w = (width - pad_l - 8) / max(k, 1)
    zero = (height - pad_b) / 2 + 8 if signed else height - pad_b
    scale = (zero - 8) / top
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' aria-label='{escape(title)}'>"]
    out.append(f"<line x1='{pad_l}' y1='{zero:.1f}' x2='{width - 8}' y2='{zero:.1f}' stroke='#999'/>")
    out.append(f"<text x='4' y='14' font-size='10'>{_f(top)}</text>")
    for j, s in enumerate(series):
        for i, v in enumerate(s):
            inf = not math.isfinite(v)
            h = (zero - 8) if inf else abs(v) * scale
            y = zero - h if (v >= 0 or inf) else zero
            color = colors[j] if not signed else (_POS if v >= 0 else _NEG)
            x = pad_l + i * w + (j * w * 0.15 if len(series) > 1 else 0) + w * 0.1
            bw = w * (0.65 if len(series) > 1 else 0.8)
            tip = f"{escape(str(labels[i]))}: {'inf' if inf else _f(v)}"
            out.append(
                f"<rect x='{x:.1f}' y='{y:.1f}' width='{bw:.1f}' height='{h:.1f}' fill='{color}' fill-opacity='0.6'><title>{tip}</title></rect>"
            )
            if inf:
                out.append(f"<text x='{x:.1f}' y='18' font-size='12'>∞</text>")
    for i, lab in enumerate(labels):
        x = pad_l + (i + 0.5) * w
        text = escape(str(lab)[:26])
        out.append(
            f"<text x='{x:.1f}' y='{height - pad_b + 12}' font-size='9' text-anchor='end' transform='rotate(-40 {x:.1f} {height - pad_b + 12})'>{text}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _column_section(r, metric) -> str:
    title = f"<h2 id='col-{_id(r.column)}'>{escape(r.column)} <small>({r.kind})</small></h2>"
    if r.status != "ok":
        return f"<section>{title}<p>Not compared: {escape(r.reason)}</p></section>"
    keep = [i for i in range(len(r.bins)) if r.counts_reference[i] + r.counts_current[i] > 0]
    labels = [r.bins[i] for i in keep]
    pr = [float(r.contributions["p_reference"][i]) for i in keep]
    pc = [float(r.contributions["p_current"][i]) for i in keep]
    contrib = [float(r.contributions[metric][i]) for i in keep]
    e = r.estimates[metric]
    facts = (
        f"{metric} = {_f(e.value)}, {int(100 * e.confidence)}% CI [{_f(e.ci[0])}, {_f(e.ci[1])}] ({escape(e.quantity)}; "
        f"{escape(e.method)}); null floor {_f(r.null_floor[metric])}; permutation p = {_p(r.p_value)} "
        f"({r.permutations} permutations), Holm {_p(r.p_value_holm)}; drift: {'yes' if r.drift else 'no'}"
    )
    expl = e.details.get("explanation", "")
    notes = "".join(f"<li>{escape(n)}</li>" for n in (*r.notes, *([expl] if expl else [])))
    legend = f"<p class=legend><span style='background:{_REF}'></span>reference<span style='background:{_CUR}'></span>current</p>"
    dist = _bars([pr, pc], labels, colors=[_REF, _CUR], title=f"{r.column}: distributions")
    contr = _bars([contrib], labels, colors=[_POS], signed=True, title=f"{r.column}: per-bin contributions to {metric}")
    return (
        f"<section>{title}<p>{facts}</p>{f'<ul class=note>{notes}</ul>' if notes else ''}"
        f"<h3>Distributions on the reference's bins</h3>{legend}{dist}"
        f"<h3>Per-bin contributions to {metric}</h3>{contr}</section>"
    )


def render(c, *, title="kullback: dataset comparison") -> str:
    """The whole report as one HTML string (no script, no external resource)."""
    m = c.metric
    intro = (
        f"<p>Metric {m} (smoothing {c.smoothing or 'none'}); drift = permutation p-value below {c.alpha:g} after Holm's "
        f"correction across {sum(r.status == 'ok' for r in c.columns)} columns, and the lower end of the {m} interval "
        f"above {c.threshold:g}. kl = D(current || reference), kl_reverse = D(reference || current), js the Jensen-Shannon "
        f"divergence, psi = kl + kl_reverse ({'base ' + format(c.base, 'g') if c.base else 'nats'}). "
        f"{len(c.drifted)} of {len(c.columns)} columns drifted.</p>"
    )
    sections = "".join(_column_section(r, m) for r in c.sorted())
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>{intro}{summary_table_html(c)}{sections}</body></html>"
    )


def write_report(c, path, **kw) -> None:
    """Write :func:`render`'s HTML to ``path``."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(render(c, **kw))
