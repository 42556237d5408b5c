"""Regression tests for ``kullback kl`` (issue 12, class 12; the CLI side of class 11), each named for what broke.

References: Wikipedia's worked example ("Kullback–Leibler divergence", Basic example: Binomial(2, 0.4) = (0.36, 0.48, 0.16)
against uniform on {0, 1, 2}: D(P||Q) = 0.0852996, D(Q||P) = 0.097455 nats); every other number from
``scipy.stats.entropy`` (a peer: it normalises its inputs and computes sum p log(p/q) itself).
"""

import io
import subprocess
import sys
from pathlib import Path

import pytest
import scipy.stats
from clihelp import plain

import kullback
from kullback.cli import _cli_words, main

WIKI = "x,binomial,uniform\n0,0.36,0.3333333333333333\n1,0.48,0.3333333333333333\n2,0.16,0.3333333333333334\n"
BOM = b"\xef\xbb\xbf"
P, Q = [0.36, 0.48, 0.16], [1 / 3, 1 / 3, 1 / 3]


def _values(out):
    return {line.split("  ")[1].strip(): float(line.split()[-1]) for line in out.splitlines()[1:] if line.startswith("  ")}


def _run(tmp_path, content, *args):
    f = tmp_path / "d.csv"
    if isinstance(content, str):
        f.write_text(content, encoding="utf-8")
    else:
        f.write_bytes(content)
    return main(["kl", str(f), *args])


def _stdin(monkeypatch, data: bytes):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


# --------------------------------------------------------------------------- --p c --q c


def test_same_column_for_p_and_q_is_read_once(tmp_path, capsys):
    """`--p c --q c` reported 6 outcomes for 3 and compared the column with itself doubled; D(p||p) = 0 by definition."""
    assert _run(tmp_path, WIKI, "--p", "binomial", "--q", "binomial") == 0
    out = capsys.readouterr().out
    assert ": 3 outcomes, in nats" in out
    v = _values(out)
    assert v["D(binomial || binomial)"] == 0 and v["JS(binomial, binomial)"] == 0
    assert v["H(binomial)"] == pytest.approx(scipy.stats.entropy(P), rel=1e-9)
    assert v["H(binomial, binomial)"] == pytest.approx(scipy.stats.entropy(P), rel=1e-9)


# --------------------------------------------------------------------------- encodings


def test_utf8_byte_order_mark_is_not_part_of_the_first_column_name(tmp_path, capsys):
    """Excel's "CSV UTF-8" starts with EF BB BF; the first column was '\\ufeffx' and `--p x`-style lookups failed."""
    data = BOM + b"binomial,uniform\n0.36,0.3333333333333333\n0.48,0.3333333333333333\n0.16,0.3333333333333334\n"
    assert _run(tmp_path, data, "--p", "binomial", "--q", "uniform") == 0
    v = _values(capsys.readouterr().out)
    assert v["D(binomial || uniform)"] == pytest.approx(0.0852996, abs=1e-7)
    assert v["D(uniform || binomial)"] == pytest.approx(0.097455, abs=1e-6)


def test_byte_order_mark_through_a_text_stdin_is_dropped(monkeypatch, capsys):
    """A text stream without .buffer (decoded already, mark kept as U+FEFF) still gives the first column its name."""
    monkeypatch.setattr(
        sys, "stdin", io.StringIO("\ufeffbinomial,uniform\n" + "".join(r.split(",", 1)[1] + "\n" for r in WIKI.splitlines()[1:]))
    )
    assert main(["kl", "-", "--p", "binomial", "--q", "uniform"]) == 0
    assert _values(capsys.readouterr().out)["D(binomial || uniform)"] == pytest.approx(0.0852996, abs=1e-7)


def test_non_utf8_file_is_a_data_error_naming_line_and_byte(tmp_path, capsys):
    """Latin-1 'é' (0xE9) on line 4, byte 20 of the file, is not UTF-8."""
    assert _run(tmp_path, b"a,b\n0.5,0.5\n0.5,0.5\n\xe9,1\n", "--p", "a", "--q", "b") == 3
    err = capsys.readouterr().err
    assert "line 4: byte 0xe9 at offset 20 is not UTF-8" in err and "CSV UTF-8" in err


# --------------------------------------------------------------------------- messages in the CLI's words


def test_sum_error_says_normalize_flag_not_keyword(tmp_path, capsys):
    """The library's advice "pass normalize=True" reached the shell user; the CLI names its own flag and the column."""
    assert _run(tmp_path, "a,b\n1,2\n3,4\n", "--p", "a", "--q", "b") == 3
    err = capsys.readouterr().err
    assert "column 'a' sums to 4.0, not 1" in err and "pass --normalize" in err
    assert "normalize=True" not in err


def test_counts_with_normalize_match_scipy(tmp_path, capsys):
    """The same counts with --normalize: scipy.stats.entropy normalises counts itself."""
    assert _run(tmp_path, "a,b\n1,2\n3,4\n", "--p", "a", "--q", "b", "--normalize", "--base", "2") == 0
    v = _values(capsys.readouterr().out)
    assert v["D(a || b)"] == pytest.approx(scipy.stats.entropy([1, 3], [2, 4], base=2), rel=1e-9)
    assert v["D(b || a)"] == pytest.approx(scipy.stats.entropy([2, 4], [1, 3], base=2), rel=1e-9)
    assert v["H(b)"] == pytest.approx(scipy.stats.entropy([2, 4], base=2), rel=1e-9)


def test_library_advice_is_translated_to_cli_flags():
    """Should a library check fire after the CLI's own, its message is rewritten; the library's wording is what we translate."""
    with pytest.raises(ValueError) as info:
        kullback.kl([0.5, 0.6], [0.5, 0.5])
    assert "normalize=True" in str(info.value)
    words = _cli_words(str(info.value))
    assert "--normalize" in words and "normalize=True" not in words


# --------------------------------------------------------------------------- malformed rows and cells


@pytest.mark.parametrize("row, fields", [("0.5,0.5,9", 3), ("0.5", 1)])
def test_row_with_wrong_number_of_fields_is_a_data_error(tmp_path, capsys, row, fields):
    """A row with an extra field (or a missing one) was read silently, the extra value dropped."""
    assert _run(tmp_path, f"a,b\n0.5,0.5\n{row}\n", "--p", "a", "--q", "b") == 3
    assert f"line 3: {fields} fields, but the header has 2" in capsys.readouterr().err


def test_empty_cell_is_a_data_error(tmp_path, capsys):
    assert _run(tmp_path, "a,b\n0.5,0.5\n ,0.5\n", "--p", "a", "--q", "b") == 3
    assert "line 3, column 'a': the cell is empty" in capsys.readouterr().err


@pytest.mark.parametrize("cell, what", [("-0.5", "is negative"), ("nan", "is not finite"), ("inf", "is not finite")])
def test_bad_weight_is_a_data_error_naming_the_cell(tmp_path, capsys, cell, what):
    assert _run(tmp_path, f"a,b\n1.5,0.5\n{cell},0.5\n", "--p", "a", "--q", "b") == 3
    assert f"line 3, column 'a': '{cell}' {what}" in capsys.readouterr().err


def test_all_zero_column_is_a_data_error_even_with_normalize(tmp_path, capsys):
    assert _run(tmp_path, "a,b\n0,0.5\n0,0.5\n", "--p", "a", "--q", "b", "--normalize") == 3
    assert "column 'a' is all zeros" in capsys.readouterr().err


def test_header_only_file_is_a_data_error(tmp_path, capsys):
    assert _run(tmp_path, "a,b\n", "--p", "a", "--q", "b") == 3
    assert "has a header but no rows" in capsys.readouterr().err


def test_empty_file_is_a_data_error(tmp_path, capsys):
    assert _run(tmp_path, "", "--p", "a", "--q", "b") == 3
    assert "is empty; expected a header row" in capsys.readouterr().err


def test_duplicate_requested_column_is_a_data_error(tmp_path, capsys):
    """csv.DictReader kept the last of two 'a' columns silently."""
    assert _run(tmp_path, "a,b,a\n0.5,0.5,0.2\n0.5,0.5,0.8\n", "--p", "a", "--q", "b") == 3
    assert "the header names column 'a' 2 times (fields 1, 3)" in capsys.readouterr().err


def test_duplicate_unrequested_column_is_harmless(tmp_path, capsys):
    """Only an ambiguous request is an error; the values are Wikipedia's example."""
    content = "z,binomial,uniform,z\n0,0.36,0.3333333333333333,0\n1,0.48,0.3333333333333333,1\n2,0.16,0.3333333333333334,2\n"
    assert _run(tmp_path, content, "--p", "binomial", "--q", "uniform") == 0
    assert _values(capsys.readouterr().out)["D(binomial || uniform)"] == pytest.approx(0.0852996, abs=1e-7)


def test_missing_file_is_a_usage_error(capsys):
    assert main(["kl", "/nonexistent/d.csv", "--p", "a", "--q", "b"]) == 2
    assert "cannot read /nonexistent/d.csv" in capsys.readouterr().err


# --------------------------------------------------------------------------- standard input


def test_dash_reads_standard_input(monkeypatch, capsys):
    """`kullback kl - ...` tried to open a file named '-'."""
    _stdin(monkeypatch, WIKI.encode())
    assert main(["kl", "-", "--p", "binomial", "--q", "uniform"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<stdin>: 3 outcomes, in nats")
    v = _values(out)
    assert v["D(binomial || uniform)"] == pytest.approx(0.0852996, abs=1e-7)
    assert v["D(uniform || binomial)"] == pytest.approx(0.097455, abs=1e-6)


def test_installed_entry_point_reads_stdin_with_bom_and_crlf():
    """The console script `kullback` (as pip installs it), fed Excel-style bytes on standard input; values from scipy."""
    exe = Path(sys.executable).with_name("kullback")
    if not exe.exists():
        pytest.skip(f"the package is not installed in this environment ({exe} missing)")
    data = BOM + b"digit,count,model\r\n1,30,0.5\r\n2,15,0.3\r\n3,5,0.2\r\n"
    r = subprocess.run([str(exe), "kl", "-", "--p", "count", "--q", "model", "--normalize", "--base", "2"], input=data, capture_output=True)
    assert r.returncode == 0, r.stderr
    v = _values(r.stdout.decode())
    assert v["D(count || model)"] == pytest.approx(scipy.stats.entropy([30, 15, 5], [0.5, 0.3, 0.2], base=2), rel=1e-9)
    assert v["D(model || count)"] == pytest.approx(scipy.stats.entropy([0.5, 0.3, 0.2], [30, 15, 5], base=2), rel=1e-9)
    assert v["H(count)"] == pytest.approx(scipy.stats.entropy([30, 15, 5], base=2), rel=1e-9)
    bad = subprocess.run([str(exe), "kl", "-", "--p", "count", "--q", "model"], input=data, capture_output=True)
    assert bad.returncode == 3 and b"column 'count' sums to 50.0" in bad.stderr and b"--normalize" in bad.stderr


# --------------------------------------------------------------------------- start-up (class 11)

_HEAVY = ("numpy", "scipy", "scipy.stats", "numba", "torch", "jax")


def _fresh(code: str) -> set[str]:
    """The words `code` prints in a fresh interpreter; it must run to its end."""
    r = subprocess.run([sys.executable, "-c", code + "\nprint('END')"], capture_output=True, text=True, check=True)
    words = r.stdout.split()
    assert words[-1:] == ["END"], r.stdout
    return set(words[:-1])


def test_cli_module_imports_nothing_heavy_beyond_the_package():
    """cli.py imported numpy at the top; now `--version`/`--help` add no module of _HEAVY to what `import kullback` loads."""
    code = (
        "import sys, contextlib, io\nimport kullback\nbefore = set(sys.modules)\nfrom kullback.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    main(['--version']); main(['--help']); main(['kl', '--help'])\n"
        f"print(*sorted(m for m in set(sys.modules) - before if m in {_HEAVY!r}))"
    )
    assert _fresh(code) == set()


def test_version_and_help_import_no_numerics():
    """`kullback --version` took 1.3-1.7 s in a fresh process: the package pulled numpy, scipy and numba."""
    code = (
        "import sys, contextlib, io\nfrom kullback.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    main(['--version']); main(['--help'])\n"
        f"print(*[m for m in {_HEAVY!r} if m in sys.modules])"
    )
    assert _fresh(code) == set()


def test_kl_on_a_small_csv_imports_no_scipy_stats_or_torch():
    """`kullback kl` on three rows needs neither scipy.stats, torch nor numba (numba is for >= 2**14 elements)."""
    code = (
        "import sys, contextlib, io\nfrom kullback.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['kl', {str(Path(__file__).resolve().parents[1] / 'examples' / 'binomial_vs_uniform.csv')!r},"
        " '--p', 'binomial', '--q', 'uniform']) == 0\n"
        "print(*[m for m in ('scipy.stats', 'torch', 'jax', 'numba') if m in sys.modules])"
    )
    assert _fresh(code) == set()


def test_base_below_one_is_a_usage_error(tmp_path, capsys):
    """--base 0.5 printed negative divergences (issue 24, item 11); now exit 2 naming --base."""
    assert _run(tmp_path, "a,b\n1,2\n3,4\n", "--p", "a", "--q", "b", "--normalize", "--base", "0.5") == 2
    assert "Invalid value for '--base': must be a finite number above 1" in plain(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("1_000", "is not a plain decimal number"),
        ("\uff11\uff12", "is not a plain decimal number"),  # full-width 12
        ("\u0663", "is not a plain decimal number"),  # Arabic-Indic 3
        ("1e-400", "is below the smallest positive float64"),
        ("2e-324", "is below the smallest positive float64"),
    ],
)
def test_cells_python_reads_but_csv_writers_do_not_are_refused(tmp_path, capsys, cell, why):
    """float() reads 1_000 as 1000, full-width and other Unicode digits as numbers, and 1e-400 as 0: each was taken
    as a weight (issue 24, item 10). Now exit 3 naming the line, the column and the cell."""
    assert _run(tmp_path, f"a,b\n{cell},1\n1,1\n", "--p", "a", "--q", "b", "--normalize") == 3
    err = capsys.readouterr().err
    assert f"line 2, column 'a': {cell!r} {why}" in err


@pytest.mark.parametrize("cell", ["+.5", "1.", "0", "-0", "0.0e-400", "5e-324", "1E3", " 2.5 "])
def test_plain_decimal_cells_are_still_read(tmp_path, capsys, cell):
    """The forms CSV writers use stay accepted (a zero written with an exponent is 0, not an underflow)."""
    assert _run(tmp_path, f"a,b\n{cell},1\n1,1\n", "--p", "a", "--q", "b", "--normalize") == 0
