import math
import subprocess
import sys
from pathlib import Path

import pytest

from kullback.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _values(out):
    return {line.split("  ")[1].strip(): line.split()[-1] for line in out.splitlines()[1:] if line.startswith("  ")}


def test_wikipedia_example(capsys):
    assert main(["kl", str(EXAMPLES / "binomial_vs_uniform.csv"), "--p", "binomial", "--q", "uniform"]) == 0
    out = capsys.readouterr().out
    v = _values(out)
    assert "3 outcomes, in nats" in out
    assert float(v["D(binomial || uniform)"]) == pytest.approx(0.0852996, abs=1e-7)
    assert float(v["D(uniform || binomial)"]) == pytest.approx(0.097455, abs=1e-6)


def test_benford_counts_in_bits(capsys):
    assert main(["kl", str(EXAMPLES / "benford.csv"), "--p", "fibonacci_count", "--q", "benford", "--normalize", "--base", "2"]) == 0
    v = _values(capsys.readouterr().out)
    # Benford's entropy in bits, from its definition: -sum log2(P(d)) P(d), P(d) = log10(1 + 1/d)
    benford = [math.log10(1 + 1 / d) for d in range(1, 10)]
    assert float(v["H(benford)"]) == pytest.approx(-sum(b * math.log2(b) for b in benford), rel=1e-9)
    assert 0 < float(v["D(fibonacci_count || benford)"]) < 1e-3


def test_support_mismatch_is_explained(tmp_path, capsys):
    f = tmp_path / "d.csv"
    f.write_text("a,b\n0.5,1\n0.5,0\n")
    assert main(["kl", str(f), "--p", "a", "--q", "b"]) == 0
    out = capsys.readouterr().out
    assert "D(a || b)  inf" in out and "b is 0 where a is not (rows 2)" in out


@pytest.mark.parametrize(
    "content, args, message",
    [
        ("a,b\n0.5,0.5\n0.5,0.6\n", ["--p", "a", "--q", "b"], "q sums to 1.1"),
        ("a,b\n0.5,x\n", ["--p", "a", "--q", "b"], "line 2, column 'b': 'x' is not a number"),
        ("a,b\n0.5,0.5\n", ["--p", "a", "--q", "c"], "no column 'c'"),
    ],
)
def test_bad_input_exits_2(tmp_path, capsys, content, args, message):
    f = tmp_path / "d.csv"
    f.write_text(content)
    assert main(["kl", str(f), *args]) == 2
    assert message in capsys.readouterr().err


def test_missing_file_exits_2(capsys):
    assert main(["kl", "/nonexistent.csv", "--p", "a", "--q", "b"]) == 2
    assert "cannot read /nonexistent.csv" in capsys.readouterr().err


def test_module_entry_point():
    r = subprocess.run(
        [sys.executable, "-m", "kullback", "kl", str(EXAMPLES / "binomial_vs_uniform.csv"), "--p", "binomial", "--q", "uniform"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "D(binomial || uniform)  0.08529960132" in r.stdout
