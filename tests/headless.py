"""A real headless Chromium for the tests: Debian's `chromium` driven over its DevTools pipe, standard library only.

`open_page(url, tmp_path)` loads a page and returns the console errors, uncaught exceptions and failed loads it
reported, with a probe of the loaded page; `chromium()` finds the browser, skips without it outside CI and fails
under CI (`.ci/run` installs it). Used by tests/test_docs.py (the site) and tests/report (the HTML report).
"""

import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",  # containers give /dev/shm 64 MiB, too little for a renderer
]
# what open_page reports of a page by default: its title and first heading, images that did not load, style sheets
PAGE_PROBE = (
    "JSON.stringify({title: document.title, h1: (document.querySelector('h1') || {}).textContent || '',"
    " broken: Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src),"
    " css: Array.from(document.styleSheets).length})"
)


def chromium():
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


def open_page(url, tmp_path, probe=PAGE_PROBE):
    """Load `url` in a fresh headless Chromium; (errors it reported, the JSON value of `probe` evaluated in the page)."""
    browser = DevTools(chromium(), tmp_path / "profile")
    try:
        target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            browser.call(f"{domain}.enable", session=session)
        navigated = browser.call("Page.navigate", session=session, url=url)
        assert "errorText" not in navigated, navigated
        browser.wait_for("Page.loadEventFired", session)
        browser.settle(1.0)
        state = json.loads(browser.call("Runtime.evaluate", session=session, expression=probe, returnByValue=True)["result"]["value"])
        return _errors(browser.events, session), state
    finally:
        browser.close()
