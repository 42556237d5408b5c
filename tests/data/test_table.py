"""The tables a Comparison prints (data/_table.py): the rich Table of ``rich.print(comparison)`` and ``kullback compare``
on a terminal holds the plain table's cells; the plain text is unchanged by it."""

import io
import re

import pytest

import kullback as kb

rich = pytest.importorskip("rich")
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402


@pytest.fixture
def comparison():
    """x moves (half 0s and 1s against 90% 0s: PSI 0.8789 unsmoothed), y does not, "[b]" is a name rich could read as markup."""
    ref = {"x": [0, 1] * 500, "y": [0, 1] * 500, "[b]": ["u", "v"] * 500}
    cur = {"x": [0] * 900 + [1] * 100, "y": [1, 0] * 500, "[b]": ["v", "u"] * 500}
    return kb.compare(ref, cur)


def _render(obj, *, color=False, width=200) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, force_terminal=color, color_system="standard" if color else None).print(obj)
    return buf.getvalue()


def test_rich_print_shows_the_plain_tables_cells(comparison):
    """Every row of repr(c), cell for cell, is a row of the rich rendering; the title (on two lines) and the closing line too."""
    assert isinstance(comparison.__rich__(), Table)
    shown = [" ".join(line.split()) for line in _render(comparison).splitlines()]
    lines = repr(comparison).splitlines()
    assert " ".join(shown[:2]) == lines[0].replace(", drift =", " drift =") and shown[-1] == lines[-1]
    for line in lines[3:-1]:
        assert " ".join(line.split()) in shown, (line, shown)
    assert lines[-1] == "1 of 3 column(s) drifted: x"


def test_column_names_are_text_not_markup(comparison):
    """A column named "[b]" is shown as written (as markup it would vanish and bold the rest of the row)."""
    text = _render(comparison)
    assert re.search(r"^\[b\] +categorical +1000 +1000", text, re.M), text


def test_decisions_are_coloured_on_a_terminal(comparison):
    """DRIFT bold red, no green; without a terminal no escape codes at all."""
    text = _render(comparison, color=True)
    assert "\x1b[1;31mDRIFT" in text and "\x1b[32mno" in text
    assert "\x1b[" not in _render(comparison)


def test_error_rows_show_the_reason_in_red():
    c = kb.compare({"x": [0.0, 1.0] * 50, "gone": [1.0, 2.0] * 50}, {"x": [0.0, 1.0] * 50})
    text = _render(c, color=True)
    assert "error: column missing in the current data" in re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert "\x1b[31merror: column missing" in text


def test_narrow_terminal_keeps_every_number(comparison):
    """At 80 columns names and intervals fold, but no number is cut short with an ellipsis."""
    text = _render(comparison, width=80)
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    for r in comparison:
        assert f"{r.psi.value:.4f}" in text
