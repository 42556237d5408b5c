"""The HTML report of a comparison: one self-contained static file (inline CSS and SVG, no script, no network).

A summary table sorted by the divergence, then per column the two distributions overlaid on the
reference's bins and the per-bin contributions to the metric.
"""

from ._html import render, summary_table_html, write_report

__all__ = ["render", "write_report", "summary_table_html"]
