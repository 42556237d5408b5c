"""The documentation site: it builds with warnings as errors, its pages load in a real browser without
console errors, its internal links resolve, and every example on it is a checked doctest.

The browser is Debian's ``chromium`` driven over the DevTools protocol on a pipe (``tests/headless.py``,
stdlib only). Without chromium the browser test is skipped, except under CI (``CI`` set), where it fails.
"""

import doctest
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from headless import chromium, open_page

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _load_docs_conftest():
    import importlib.util

    spec = importlib.util.spec_from_file_location("_docs_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- the build


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the site from scratch, as `make docs` does: -W (warnings are errors) --keep-going, a fresh environment."""
    pytest.importorskip("sphinx", reason="the docs extra is not installed (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-E",
        "-W",
        "--keep-going",
        "-q",
        "-b",
        "html",
        "-d",
        str(out / "doctrees"),
        str(DOCS),
        str(out / "html"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, f"sphinx-build failed (warnings are errors):\n{done.stdout}\n{done.stderr}"
    return out / "html"


class _Refs(HTMLParser):
    """The ids of a page, and the local targets its href/src attributes point to."""

    def __init__(self):
        super().__init__()
        self.ids, self.refs = set(), []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name in ("href", "src") and value is not None:
                self.refs.append((tag, value))


def _parse(path):
    parser = _Refs()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_site_has_every_page_and_every_public_name(site):
    import kullback

    for page in ("index", "getting-started", "guide/vectors", "guide/distributions", "guide/estimation", "guide/which-way-round"):
        assert (site / f"{page}.html").is_file(), page
    for page in (
        "guide/fitting",
        "guide/losses",
        "guide/vi",
        "guide/compare",
        "tutorials/space-worms",
        "accuracy",
        "contributing",
        "guide/command-line",
        "measurements",
    ):
        assert (site / f"{page}.html").is_file(), page
    missing = [n for n in kullback.__all__ if not n.startswith("__") and not (site / "api" / "generated" / f"kullback.{n}.html").is_file()]
    assert not missing, f"public names without an API page: {missing}"
    for figure in ("space-worms.png", "which-way-round.png"):
        assert (site / "_images" / figure).stat().st_size > 10_000, figure


def _broken_links(site):
    """(local links checked, those whose file or #fragment does not exist) over the built pages of `site`."""
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)  # _static: theme templates
    parsed, broken, checked = {}, [], 0
    for page in pages:
        for tag, ref in _parse(page).refs:
            parts = urlsplit(ref)
            if parts.scheme or ref.startswith("//"):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            checked += 1
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: <{tag}> {ref} (no file {target})")
                continue
            if parts.fragment and target.suffix == ".html":
                if target not in parsed:
                    parsed[target] = _parse(target).ids
                if unquote(parts.fragment) not in parsed[target]:
                    broken.append(f"{page.relative_to(site)}: <{tag}> {ref} (no id {parts.fragment!r})")
    return checked, broken


def test_internal_links_resolve(site):
    """Every local href/src of every built page names a file that exists, and every #fragment an id on that page."""
    assert len(list(site.rglob("*.html"))) > 20
    checked, broken = _broken_links(site)
    assert checked > 200
    assert not broken, "broken internal links:\n" + "\n".join(broken[:50])


def test_link_check_sees_missing_files_and_fragments(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="sub/a.html#here">a</a> <a href="sub/a.html#gone">a</a> <img src="nope.png"> <a href="https://x.org/y">x</a>'
    )
    (tmp_path / "sub" / "a.html").write_text('<h1 id="here">A</h1><a href="../index.html">up</a><a href="#here">self</a>')
    checked, broken = _broken_links(tmp_path)
    assert checked == 5
    assert [b.split(" (")[0] for b in broken] == ["index.html: <a> sub/a.html#gone", "index.html: <img> nope.png"], broken


# ---------------------------------------------------------------- the browser


@pytest.mark.parametrize("page", ["index.html", "api/generated/kullback.kl.html", "tutorials/space-worms.html"])
def test_page_loads_in_headless_chromium_without_console_errors(site, page, tmp_path):
    errors, state = open_page((site / page).as_uri(), tmp_path)
    assert not errors, f"{page}: " + "\n".join(errors)
    assert "kullback" in state["title"], state
    assert state["h1"].strip(), state
    assert not state["broken"], f"{page}: images that did not load: {state['broken']}"
    assert state["css"] >= 2, f"{page}: the theme's style sheets did not load: {state}"
    if page.startswith("api/"):
        assert state["h1"].startswith("kullback.kl"), state


def test_browser_check_sees_console_errors_and_missing_files(tmp_path):
    """The check above can fail: a page with a console error, an uncaught exception and a missing image."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<html><head><title>bad</title></head><body><h1>bad</h1><img src="missing.png">'
        '<script>console.error("boom"); undefined_function();</script></body></html>'
    )
    errors, state = open_page(page.as_uri(), tmp_path)
    text = "\n".join(errors)
    assert "console.error: boom" in text and "undefined_function" in text and "ERR_FILE_NOT_FOUND" in text, text
    assert state["broken"] == [(tmp_path / "missing.png").as_uri()], state


# ---------------------------------------------------------------- the examples


def _fences(text):
    """(line, language, body) of each fenced block of a Markdown page."""
    blocks, fence = [], None
    for number, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s*(`{3,}|~{3,})\s*\{?([\w-]*)\}?", line)
        if fence is None and m:
            fence, language, start, body = m.group(1), m.group(2).lower(), number, []
        elif fence is not None and line.strip() == fence:
            blocks.append((start, language, "\n".join(body)))
            fence = None
        elif fence is not None:
            body.append(line)
    return blocks


def test_every_python_block_of_the_site_is_a_doctest():
    """A Python block without `>>>` would be shown on the site but never run: none may exist."""
    pages = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]
    assert len(pages) > 15
    untested = [
        f"{page.relative_to(ROOT)}:{line}"
        for page in pages
        for line, language, body in _fences(page.read_text(encoding="utf-8"))
        if language in ("python", "py", "pycon", "ipython") and ">>>" not in body
    ]
    assert not untested, f"Python blocks that are not doctests: {untested}"


def test_a_wrong_number_in_a_page_fails():
    """The collector of conftest.py keeps the examples and drops the prose: a wrong output is a failure."""
    code_only = _load_docs_conftest().code_only
    page = "# A page\n\nProse with 0.5 in it.\n\n```pycon\n>>> import kullback as kb\n>>> round(float(kb.kl([0.5, 0.5], [0.9, 0.1])), 7)\n{}\n```\n\n```sh\nmake test\n```\n"
    for shown, failures in (("0.5108256", 0), ("0.5108257", 1)):
        test = doctest.DocTestParser().get_doctest(code_only(page.format(shown)), {}, "page", "page.md", 0)
        assert [e.lineno for e in test.examples] == [5, 6]  # the page's own line numbers (0-based)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test, out=lambda s: None)
        assert runner.failures == failures, shown


def test_space_worm_numbers_against_mpmath():
    """The tutorial's D(observed||uniform) and D(observed||Binomial(10, 0.544)), against mpmath at 50 digits."""
    import mpmath
    import numpy as np
    import scipy.stats as st

    import kullback as kb

    mp = mpmath.mp
    counts = ["0.02", "0.03", "0.05", "0.14", "0.16", "0.15", "0.12", "0.08", "0.10", "0.08", "0.07"]
    with mpmath.workdps(50):
        obs = [mp.mpf(c) for c in counts]
        p = sum(k * o for k, o in enumerate(obs)) / 10
        binom = [mp.binomial(10, k) * p**k * (1 - p) ** (10 - k) for k in range(11)]
        d_uniform = float(sum(o * mp.log(o * 11) for o in obs))
        d_binomial = float(sum(o * mp.log(o / b) for o, b in zip(obs, binom)))
    observed = np.array([float(c) for c in counts])
    teeth = np.arange(11)
    assert float(kb.kl(observed, np.full(11, 1 / 11))) == pytest.approx(d_uniform, rel=1e-14)
    assert float(kb.kl(observed, st.binom.pmf(teeth, 10, (teeth * observed).sum() / 10))) == pytest.approx(d_binomial, rel=1e-14)
    assert round(d_uniform, 7) == 0.1366797 and round(d_binomial, 7) == 0.4273497  # the page's numbers


def _commands(pages):
    """(page, command, expected output or None) for each `kullback ...` line of the shell blocks of `pages`.

    In a ``console`` block a command follows ``$ `` and the lines up to the next ``$ `` are its output;
    in ``sh``/``bash`` blocks only the command is taken (its output is not shown)."""
    found = []
    for page in pages:
        for _, language, body in _fences(page.read_text(encoding="utf-8")):
            if language == "console":
                for chunk in ("\n" + body).split("\n$ ")[1:]:
                    command, *output = chunk.split("\n")
                    if command.startswith("kullback "):
                        found.append((page, command.strip(), "\n".join(output).rstrip()))
            elif language in ("sh", "bash", "shell"):
                found += [(page, line.split("#")[0].strip(), None) for line in body.splitlines() if line.strip().startswith("kullback ")]
    return found


def test_command_lines_shown_run():
    """Every `kullback ...` command of the site or the README runs, exits 0, and prints the output shown beside it."""
    commands = _commands([*sorted(DOCS.rglob("*.md")), ROOT / "README.md"])
    assert sum(expected is not None for _, _, expected in commands) >= 2, commands
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    for page, command, expected in commands:
        done = subprocess.run(
            [sys.executable, "-m", "kullback", *command.split()[1:]], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
        )
        where = f"{page.relative_to(ROOT)}: `{command}`"
        assert done.returncode == 0, f"{where} exited {done.returncode}: {done.stderr}"
        if expected is None:
            assert done.stdout.strip(), where
        else:
            assert done.stdout.rstrip() == expected, f"{where} printed\n{done.stdout}\nwhere the page shows\n{expected}"


def test_console_blocks_give_each_command_its_output(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```console\n$ kullback kl a.csv --p p --q q\nD  0.1\n  H 0.2\n$ ls\nx\n```\n")
    assert _commands([page]) == [(page, "kullback kl a.csv --p p --q q", "D  0.1\n  H 0.2")]


def test_missing_chromium_skips_only_outside_ci(monkeypatch):
    """Without chromium the browser test is skipped with the reason; under CI it fails instead."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(os.path, "exists", lambda path: False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set but chromium is not installed"):
        chromium()


def test_readme_links_resolve():
    """The README's relative links (into docs/) name files of the repository."""
    links = re.findall(r"\]\(([^)\s]+)\)", (ROOT / "README.md").read_text(encoding="utf-8"))
    local = [link for link in links if not urlsplit(link).scheme]
    assert len(local) >= 10, local
    missing = [link for link in local if not (ROOT / unquote(urlsplit(link).path)).exists()]
    assert not missing, f"README links to missing files: {missing}"
