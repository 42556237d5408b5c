"""The HTML report: self-contained (no script, no external resource) and rendered by a real headless Chromium
without console errors, with the summary table in the DOM."""

import numpy as np
from headless import open_page

import kullback as kb
from kullback.report import render, write_report


def _comparison(smoothing="none"):
    rng = np.random.default_rng(0)
    ref = {"x": rng.normal(size=1000), "c": rng.choice(list("abc"), 1000)}
    cur = {"x": rng.normal(0.5, size=800), "c": rng.choice(list("abcd"), 800)}
    return kb.compare(ref, cur, smoothing=smoothing)


def test_self_contained():
    c = _comparison("jeffreys")
    assert c["c"].psi.value > c["x"].psi.value
    html = render(c)
    assert "<script" not in html and "<link" not in html and "src=" not in html
    assert html.replace("http://www.w3.org/2000/svg", "").count("http") == 0
    assert html.index("<td class=l><a href='#col-c'>c</a>") < html.index("<a href='#col-x'>x</a>")  # sorted by psi


def test_renders_in_headless_chromium_without_console_errors(tmp_path):
    """The report in real headless Chromium (tests/headless.py: skipped without it outside CI, a failure under CI):
    no console error, exception or failed load, the summary table, the SVG figures and the drift verdict shown."""
    path = tmp_path / "report.html"
    write_report(_comparison(), path)
    probe = (
        "JSON.stringify({summary: !!document.getElementById('summary'), svg: document.querySelectorAll('svg').length,"
        " drift: document.body.innerText.includes('DRIFT')})"
    )
    errors, state = open_page(path.as_uri(), tmp_path, probe)
    assert errors == [], errors
    assert state["summary"] and state["svg"] > 0 and state["drift"], state
