"""Every Python code block of the site (docs/**/*.md) and of README.md is a doctest: `make test` runs each page's examples.

A page is read top to bottom as one doctest (its blocks share a namespace, as a reader's session would).
Only fenced blocks marked ``python``, ``pycon`` or ``py`` are kept; every other line (prose, the fences
themselves, shell blocks) becomes blank, so an example's expected output ends at its closing fence and a
failure reports the page's own line number. ``tests/test_docs.py`` checks that no Python block lacks ``>>>``.
"""

import re
from pathlib import Path

import pytest
from _pytest.doctest import DoctestItem, DoctestTextfile, _get_checker, _get_continue_on_failure, _get_runner, get_optionflags

ROOT = Path(__file__).resolve().parent
DOCS = ROOT / "docs"
# docs/conf.py configures Sphinx and docs/figures.py draws; neither holds doctests (--doctest-modules would import them)
collect_ignore = ["docs/conf.py", "docs/figures.py", "docs/_build", "docs/_generated", "docs/api/generated", "build"]

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*\{?([\w-]*)\}?")
PYTHON = {"python", "pycon", "py"}


def code_only(text):
    """The page with everything but its Python code blocks blanked out, line for line."""
    out, fence, keep = [], None, False
    for line in text.splitlines():
        m = FENCE.match(line)
        if fence is None and m:
            fence, keep = m.group(2), m.group(3).lower() in PYTHON
            out.append("")
        elif fence is not None and line.strip() == fence:
            fence, keep = None, False
            out.append("")
        else:
            out.append(line if keep else "")
    return "\n".join(out) + "\n"


class MarkdownDoctest(DoctestTextfile):
    def collect(self):
        import doctest

        text = code_only(self.path.read_text(encoding="utf-8"))
        runner = _get_runner(
            verbose=False,
            optionflags=get_optionflags(self.config),
            checker=_get_checker(),
            continue_on_failure=_get_continue_on_failure(self.config),
        )
        test = doctest.DocTestParser().get_doctest(text, {"__name__": "__main__"}, self.path.name, str(self.path), 0)
        if test.examples:
            yield DoctestItem.from_parent(self, name=test.name, runner=runner, dtest=test)


@pytest.fixture(autouse=True)
def _pages_run_from_the_repository_root(request, monkeypatch):
    """A page's examples open files as a reader in a clone would (examples/benford.csv): from the root."""
    if isinstance(request.node, DoctestItem) and request.node.path.suffix == ".md":
        monkeypatch.chdir(ROOT)


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".md" and (file_path.parent == ROOT or DOCS in file_path.parents):
        return MarkdownDoctest.from_parent(parent, path=file_path)
    return None
