"""The HTML report: self-contained (no script, no external resource) and rendered by a real headless Chromium
without console errors, with the summary table in the DOM."""

import os
import shutil
import subprocess

import numpy as np
import pytest

import kullback as kb
from kullback.report import render, write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


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


def _chromium(args, tmp_path):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    flags += ["--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=90, env={**os.environ, "HOME": str(tmp_path)})


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_renders_in_headless_chromium_without_console_errors(tmp_path):
    path = tmp_path / "report.html"
    write_report(_comparison(), path)
    run = _chromium(["--dump-dom", path.as_uri()], tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert 'id="summary"' in run.stdout and "<svg" in run.stdout and ">DRIFT<" in run.stdout
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console
