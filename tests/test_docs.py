"""The documentation site: it builds with warnings as errors, its pages load in a real browser without
console errors, its internal links resolve, and every example on it is a checked doctest.

The browser is Debian's ``chromium`` driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``,
stdlib only). Without chromium the browser test is skipped, except under CI (``CI`` set), where it fails.
"""

import doctest
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",  # containers give /dev/shm 64 MiB, too little for a renderer
]


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


def _chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
        if path:
            return path
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail("CI is set but chromium is not installed: .ci/run installs it with apt-get install -y chromium")
    pytest.skip("chromium is not installed (apt-get install -y chromium); CI runs this test")


def _above_nine(fd):
    """A duplicate of `fd` numbered 10 or more (close-on-exec, as os.pipe's are); `fd` is closed."""
    import fcntl

    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class DevTools:
    """Chromium's DevTools protocol over --remote-debugging-pipe: JSON messages ending in NUL, fd 3 in, fd 4 out."""

    def __init__(self, chromium, profile):
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()
        # the child's ends move above 9 first, so that placing them at 3 and 4 cannot overwrite one with the other
        to_child, from_child = (_above_nine(fd) for fd in (to_child, from_child))
        script = f'exec "$0" "$@" 3<&{to_child} 4>&{from_child} {to_child}<&- {from_child}>&-'
        args = [*CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"]
        self._log = open(Path(profile).parent / "chromium.log", "w+b")  # a file, not a pipe nobody drains
        self.proc = subprocess.Popen(
            ["bash", "-c", script, chromium, *args],
            pass_fds=(to_child, from_child),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer, self._next, self.events = b"", 0, []

    def _receive(self, deadline):
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self._read], [], [], left)
            if ready:
                chunk = os.read(self._read, 1 << 16)
                if not chunk:
                    self._log.seek(0)
                    raise RuntimeError(f"chromium closed the pipe: {self._log.read().decode(errors='replace')[-2000:]}")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, session=None, timeout=30, **params):
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method, session, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method and event.get("sessionId") == session:
                    return event
            self.events.append(self._receive(deadline))

    def settle(self, seconds):
        """Collect the events that arrive within `seconds` (late script errors)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._receive(deadline))
        except TimeoutError:
            pass

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._write)
        os.close(self._read)
        self._log.close()


def _errors(events, session):
    """Console errors, uncaught exceptions and failed loads that the page reported."""
    found = []
    for event in events:
        if event.get("sessionId") != session:
            continue
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            found.append(
                f"exception: {params['exceptionDetails'].get('text')} {params['exceptionDetails'].get('exception', {}).get('description', '')}"
            )
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append("console.error: " + " ".join(str(a.get("value", a.get("description"))) for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            found.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
    return found


def _open(url, tmp_path):
    """Load `url` in a fresh headless Chromium; (errors it reported, a probe of the loaded page)."""
    browser = DevTools(_chromium(), tmp_path / "profile")
    try:
        target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            browser.call(f"{domain}.enable", session=session)
        navigated = browser.call("Page.navigate", session=session, url=url)
        assert "errorText" not in navigated, navigated
        browser.wait_for("Page.loadEventFired", session)
        browser.settle(1.0)
        probe = (
            "JSON.stringify({title: document.title, h1: (document.querySelector('h1') || {}).textContent || '',"
            " broken: Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src),"
            " css: Array.from(document.styleSheets).length})"
        )
        state = json.loads(browser.call("Runtime.evaluate", session=session, expression=probe, returnByValue=True)["result"]["value"])
        return _errors(browser.events, session), state
    finally:
        browser.close()


@pytest.mark.parametrize("page", ["index.html", "api/generated/kullback.kl.html", "tutorials/space-worms.html"])
def test_page_loads_in_headless_chromium_without_console_errors(site, page, tmp_path):
    errors, state = _open((site / page).as_uri(), tmp_path)
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
    errors, state = _open(page.as_uri(), tmp_path)
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
        _chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set but chromium is not installed"):
        _chromium()


def test_readme_links_resolve():
    """The README's relative links (into docs/) name files of the repository."""
    links = re.findall(r"\]\(([^)\s]+)\)", (ROOT / "README.md").read_text(encoding="utf-8"))
    local = [link for link in links if not urlsplit(link).scheme]
    assert len(local) >= 10, local
    missing = [link for link in local if not (ROOT / unquote(urlsplit(link).path)).exists()]
    assert not missing, f"README links to missing files: {missing}"
