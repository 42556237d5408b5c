"""The ``kullback`` command line: output format, exit status, help.

Reference values: Wikipedia's worked example ("Kullback–Leibler divergence", Basic example:
Binomial(2, 0.4) against the uniform law on {0, 1, 2}, D(P||Q) = 0.0852996, D(Q||P) = 0.097455 nats)
and Benford's law from its definition.  Regression tests for issue 12 are in test_regressions_cli.py.
"""

import math
import subprocess
import sys
from pathlib import Path

import pytest
from clihelp import plain

from kullback.cli import EXIT_DATA, EXIT_USAGE, main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _values(out):
    return {line.split("  ")[1].strip(): line.split()[-1] for line in out.splitlines()[1:] if line.startswith("  ")}


def test_wikipedia_example(capsys):
    """Wikipedia's example: D(P||Q) = 0.0852996, D(Q||P) = 0.097455 nats."""
    assert main(["kl", str(EXAMPLES / "binomial_vs_uniform.csv"), "--p", "binomial", "--q", "uniform"]) == 0
    out = capsys.readouterr().out
    v = _values(out)
    assert "3 outcomes, in nats" in out
    assert float(v["D(binomial || uniform)"]) == pytest.approx(0.0852996, abs=1e-7)
    assert float(v["D(uniform || binomial)"]) == pytest.approx(0.097455, abs=1e-6)


def test_benford_counts_in_bits(capsys):
    """Benford's entropy in bits from its definition: -sum log2(P(d)) P(d), P(d) = log10(1 + 1/d)."""
    assert main(["kl", str(EXAMPLES / "benford.csv"), "--p", "fibonacci_count", "--q", "benford", "--normalize", "--base", "2"]) == 0
    v = _values(capsys.readouterr().out)
    benford = [math.log10(1 + 1 / d) for d in range(1, 10)]
    assert float(v["H(benford)"]) == pytest.approx(-sum(b * math.log2(b) for b in benford), rel=1e-9)
    assert 0 < float(v["D(fibonacci_count || benford)"]) < 1e-3


def test_support_mismatch_is_explained(tmp_path, capsys):
    """q = 0 where p = 0.5: D(p||q) = inf by definition; the row is named."""
    f = tmp_path / "d.csv"
    f.write_text("a,b\n0.5,1\n0.5,0\n")
    assert main(["kl", str(f), "--p", "a", "--q", "b"]) == 0
    out = capsys.readouterr().out
    assert "D(a || b)  inf" in out and "b is 0 where a is not (rows 2)" in out


@pytest.mark.parametrize(
    "content, message",
    [
        ("a,b\n0.5,0.5\n0.5,0.6\n", "column 'b' sums to 1.1, not 1"),
        ("a,b\n0.5,x\n", "line 2, column 'b': 'x' is not a number"),
    ],
)
def test_bad_contents_exit_3(tmp_path, capsys, content, message):
    f = tmp_path / "d.csv"
    f.write_text(content)
    assert main(["kl", str(f), "--p", "a", "--q", "b"]) == EXIT_DATA == 3
    assert message in capsys.readouterr().err


def test_unknown_column_exits_2(tmp_path, capsys):
    f = tmp_path / "d.csv"
    f.write_text("a,b\n0.5,0.5\n0.5,0.5\n")
    assert main(["kl", str(f), "--p", "a", "--q", "c"]) == EXIT_USAGE == 2
    assert "no column 'c'; the columns are 'a', 'b'" in capsys.readouterr().err


def test_missing_file_exits_2(capsys):
    assert main(["kl", "/nonexistent.csv", "--p", "a", "--q", "b"]) == 2
    assert "cannot read /nonexistent.csv: No such file or directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["kl", "f.csv", "--p", "a"], "Missing option '--q'"),
        (["kl", "f.csv", "--p", "a", "--q", "b", "--base", "1"], "Invalid value for '--base': must be a finite number above 1"),
        (["kl", "f.csv", "--p", "a", "--q", "b", "--base", "-2"], "Invalid value for '--base'"),
        (["kl", "f.csv", "--p", "a", "--q", "b", "--base", "nan"], "Invalid value for '--base'"),
        (["kl", "f.csv", "--p", "a", "--q", "b", "--bogus"], "No such option"),
        (["frobnicate"], "No such command 'frobnicate'"),
        ([], "Missing command"),
    ],
)
def test_bad_options_exit_2(capsys, argv, message):
    """Usage errors found by the parser (typer): exit 2, the reason and the usage line on stderr, nothing on stdout."""
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert message in plain(err) and "Usage: kullback" in err and out == ""
    assert all(arg in err for arg in argv if arg.startswith("--b"))  # the option at fault is named


def test_help_documents_exit_status(capsys):
    assert main(["--help"]) == 0
    top = plain(capsys.readouterr().out)
    assert main(["kl", "--help"]) == 0
    sub = plain(capsys.readouterr().out)
    for text in (top, sub):
        assert "exit status" in text
        assert "2 usage error" in text and "3 data error" in text
    assert "1 kullback compare: drift above --threshold" in top
    assert "- reads standard input" in sub and "--normalize" in sub and "--base" in sub
    for command in ("kl", "compare", "profile"):
        assert command in top


def test_version(capsys):
    from kullback import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"kullback {__version__}"


def test_module_entry_point():
    """python -m kullback; Wikipedia's 0.0852996 to 10 digits: 0.36 log 1.08 + 0.48 log 1.44 + 0.16 log 0.48 = 0.0852996013."""
    r = subprocess.run(
        [sys.executable, "-m", "kullback", "kl", str(EXAMPLES / "binomial_vs_uniform.csv"), "--p", "binomial", "--q", "uniform"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "D(binomial || uniform)  0.08529960132" in r.stdout


def test_module_entry_point_exit_status():
    r = subprocess.run(
        [sys.executable, "-m", "kullback", "kl", "-", "--p", "a", "--q", "b"], input="a,b\n1,x\n", capture_output=True, text=True
    )
    assert r.returncode == 3
    assert r.stderr.strip() == "kullback: error: <stdin>, line 2, column 'b': 'x' is not a number"
