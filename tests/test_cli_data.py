"""``kullback compare`` and ``kullback profile``: exit status 0/1/2/3, the three formats, the report, saved profiles."""

import csv
import io
import json
import os
import re
import subprocess
import sys

import mpmath
import numpy as np
import pandas as pd
import pytest
from clihelp import ROOT, plain, run_script

import kullback as kb
from kullback.cli import app, main

pytest.importorskip("polars")


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    n = 2000
    ref = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(list("abc"), n)})
    same = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(list("abc"), n)})
    shifted = pd.DataFrame({"x": rng.normal(0.6, size=n), "c": rng.choice(list("abc"), n)})
    ref.to_csv(tmp_path / "ref.csv", index=False)
    same.to_parquet(tmp_path / "same.parquet")
    shifted.to_csv(tmp_path / "shifted.csv", index=False)
    return tmp_path


def test_no_drift_exits_0_drift_exits_1(files, capsys):
    assert main(["compare", str(files / "ref.csv"), str(files / "same.parquet")]) == 0
    assert "0 of 2 column(s) drifted" in capsys.readouterr().out
    assert main(["compare", str(files / "ref.csv"), str(files / "shifted.csv")]) == 1
    assert "1 of 2 column(s) drifted: x" in capsys.readouterr().out


def test_json_and_csv_give_the_library_numbers(files, capsys):
    lib = kb.compare(str(files / "ref.csv"), str(files / "shifted.csv"))
    assert main(["compare", str(files / "ref.csv"), str(files / "shifted.csv"), "--format", "json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["columns"][0]["psi"]["value"] == lib["x"].psi.value and d["drift"] is True
    assert main(["compare", str(files / "ref.csv"), str(files / "shifted.csv"), "--format", "csv", "--columns", "x"]) == 1
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["column"] for r in rows] == ["x"] and float(rows[0]["psi"]) == pytest.approx(lib["x"].psi.value, rel=1e-15)


def test_saved_profile_as_reference(files, capsys):
    assert main(["profile", str(files / "ref.csv"), "-o", str(files / "ref.json")]) == 0
    capsys.readouterr()
    assert main(["compare", str(files / "ref.json"), str(files / "shifted.csv"), "--format", "json"]) == 1
    a = json.loads(capsys.readouterr().out)
    assert main(["compare", str(files / "ref.csv"), str(files / "shifted.csv"), "--format", "json"]) == 1
    assert a == json.loads(capsys.readouterr().out)


def test_report_written(files, capsys):
    out = files / "r.html"
    main(["compare", str(files / "ref.csv"), str(files / "shifted.csv"), "--report", str(out)])
    html = out.read_text()
    assert "<table id=summary>" in html and "<svg" in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


def test_usage_errors_exit_2(files, capsys):
    assert main(["compare", str(files / "nope.csv"), str(files / "ref.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["compare", str(files / "ref.csv"), str(files / "ref.csv"), "--bins", "0"]) == 2
    assert main(["compare", str(files / "ref.csv")]) == 2


def test_nothing_comparable_exits_3_and_bad_columns_do_not_stop_others(files, capsys):
    pd.DataFrame({"y": [1.0, 2.0]}).to_csv(files / "other.csv", index=False)
    assert main(["compare", str(files / "ref.csv"), str(files / "other.csv")]) == 3
    err = capsys.readouterr().err
    assert "column 'x' not compared: column missing in the current data" in err and "no column could be compared" in err
    (files / "corrupt.parquet").write_bytes(b"garbage")
    assert main(["compare", str(files / "ref.csv"), str(files / "corrupt.parquet")]) == 3
    assert "corrupt.parquet" in capsys.readouterr().err


def test_mixed_type_csv_column_reported(files, capsys):
    pd.DataFrame({"x": ["1.5", "oops"] * 1000, "c": list("ab") * 1000}).to_csv(files / "mixed.csv", index=False)
    assert main(["compare", str(files / "ref.csv"), str(files / "mixed.csv")]) in (0, 1)
    assert "type mismatch" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_only_on_a_terminal_and_only_when_slow(files, capsys, monkeypatch):
    """A slow read on a terminal shows rich's bar with the elapsed time on stderr, removed at the end; a pipe (capsys)
    never sees it; a fast read draws nothing even on a terminal."""
    import time

    import kullback.data as data

    real = data.compare
    monkeypatch.setattr(data, "compare", lambda *a, **k: time.sleep(1.6) or real(*a, **k))
    assert main(["compare", str(files / "ref.csv"), str(files / "same.parquet")]) == 0
    assert capsys.readouterr().err == ""  # not a terminal: not one byte
    term = _Terminal()
    monkeypatch.setattr("sys.stderr", term)
    assert main(["compare", str(files / "ref.csv"), str(files / "same.parquet")]) == 0
    drawn = term.getvalue()
    assert "s elapsed" in drawn and "counting" in drawn and "same.parquet" in drawn
    assert drawn.endswith("\x1b[2K") and "\x1b[?25h" in drawn  # transient: the line erased, the cursor shown again
    monkeypatch.setattr(data, "compare", real)  # fast: nothing drawn even on a terminal
    term2 = _Terminal()
    monkeypatch.setattr("sys.stderr", term2)
    assert main(["compare", str(files / "ref.csv"), str(files / "same.parquet")]) == 0
    assert term2.getvalue() == ""


# --------------------------------------------------------------------------- through typer's CliRunner and the script

INF = "x\n" + "0.0\n" * 50 + "1.0\n" * 50, "x\n" + "0.0\n" * 50 + "1.0\n" * 50 + "5.0\n" * 30


def _runner():
    """typer's CliRunner with stdout and stderr apart (click < 8.2 mixes them unless told not to)."""
    from typer.testing import CliRunner

    try:
        return CliRunner(mix_stderr=False)
    except TypeError:
        return CliRunner()


@pytest.fixture
def inf_files(tmp_path):
    """Reference 50 x 0.0, 50 x 1.0; current the same and 30 x 5.0, above the reference's range (its overflow bin)."""
    (tmp_path / "a.csv").write_text(INF[0])
    (tmp_path / "b.csv").write_text(INF[1])
    return tmp_path


def _closed_forms():
    """Plug-in divergences of p = (1/2, 1/2, 0) (reference) and q = (5, 5, 3)/13 (current), by hand in mpmath:
    D(q||p) = inf (q > 0 where p = 0), D(p||q) = ln(0.5 / (5/13)) = ln 1.3, JS = (D(p||m) + D(q||m)) / 2, m = (p + q) / 2."""
    mp = mpmath.mp
    with mpmath.workdps(40):
        p = [mp.mpf(1) / 2, mp.mpf(1) / 2, mp.mpf(0)]
        q = [mp.mpf(5) / 13, mp.mpf(5) / 13, mp.mpf(3) / 13]
        m = [(a + b) / 2 for a, b in zip(p, q)]
        d = lambda a, b: sum(x * mp.log(x / y) for x, y in zip(a, b) if x > 0)  # noqa: E731
        return float(d(p, q)), float((d(p, m) + d(q, m)) / 2)


def test_runner_json_writes_infinity_as_null_with_infinite_true(inf_files):
    """--smoothing none: kl and psi are infinite (30 current rows in a bin the reference never had): null + "infinite"."""
    r = _runner().invoke(app, ["compare", str(inf_files / "a.csv"), str(inf_files / "b.csv"), "--smoothing", "none", "--format", "json"])
    assert r.exit_code == 1, r.output
    col = json.loads(r.stdout)["columns"][0]
    for k in ("kl", "psi"):
        assert col[k]["value"] is None and col[k]["infinite"] is True and col[k]["plugin"] is None
    kl_reverse, js = _closed_forms()
    assert col["kl_reverse"]["infinite"] is False and col["kl_reverse"]["plugin"] == pytest.approx(kl_reverse, rel=1e-13)
    assert col["js"]["plugin"] == pytest.approx(js, rel=1e-13)
    overflow = next(b for b in col["bins"] if b["bin"] == "overflow")
    assert (overflow["reference"], overflow["current"], overflow["kl"], overflow["kl_infinite"]) == (0, 30, None, True)
    assert "overflow (30 rows)" in col["kl"]["explanation"]


def test_runner_csv_writes_inf_and_the_library_numbers(inf_files):
    r = _runner().invoke(app, ["compare", str(inf_files / "a.csv"), str(inf_files / "b.csv"), "--smoothing", "none", "--format", "csv"])
    assert r.exit_code == 1, r.output
    (row,) = csv.DictReader(io.StringIO(r.stdout))
    assert row["kl"] == "inf" and row["psi"] == "inf" and row["drift"] == "True"
    lib = kb.compare(str(inf_files / "a.csv"), str(inf_files / "b.csv"), smoothing="none")
    assert float(row["kl_reverse"]) == lib["x"].kl_reverse.value and float(row["js"]) == lib["x"].js.value


def test_runner_exit_codes(files, inf_files):
    """0 no drift, 1 drift, 2 usage (missing file, --bins 0, an unknown option, a bad choice), 3 data (a corrupt file)."""
    run = lambda *a: _runner().invoke(app, [*map(str, a)])  # noqa: E731
    assert run("compare", files / "ref.csv", files / "same.parquet").exit_code == 0
    assert run("compare", files / "ref.csv", files / "shifted.csv").exit_code == 1
    for argv in (
        ["compare", files / "nope.csv", files / "ref.csv"],
        ["compare", files / "ref.csv", files / "ref.csv", "--bins", "0"],
        ["compare", files / "ref.csv", files / "ref.csv", "--format", "xml"],
        ["compare", files / "ref.csv", files / "ref.csv", "--alpha", "1.5"],
        ["compare", files / "ref.csv", files / "ref.csv", "--threshold", "nan"],
        ["compare", files / "ref.csv", files / "ref.csv", "extra.csv"],
        ["compare", files / "ref.csv", "--bogus"],
        ["profile", files / "ref.csv"],
    ):
        assert run(*argv).exit_code == 2, argv
    (files / "corrupt.parquet").write_bytes(b"garbage")
    r = run("compare", files / "ref.csv", files / "corrupt.parquet")
    assert r.exit_code == 3 and "corrupt.parquet" in r.stderr and r.stdout == ""


def test_columns_comma_repeated_or_space_separated(files):
    """--columns x,c, --columns x --columns c and argparse's --columns x c name the same two columns."""
    out = []
    for cols in (["--columns", "x,c"], ["--columns", "x", "--columns", "c"], ["--columns", "x", "c"]):
        r = _runner().invoke(app, ["compare", str(files / "ref.csv"), str(files / "shifted.csv"), "--format", "json", *cols])
        assert r.exit_code == 1, r.output
        out.append(json.loads(r.stdout))
    assert out[0] == out[1] == out[2] and sorted(c["column"] for c in out[0]["columns"]) == ["c", "x"]
    r = _runner().invoke(app, ["compare", str(files / "ref.csv"), str(files / "shifted.csv"), "--columns", "c", "--format", "json"])
    assert r.exit_code == 0 and [c["column"] for c in json.loads(r.stdout)["columns"]] == ["c"]


def test_runner_table_off_a_terminal_is_the_plain_repr(files):
    """Pipes and files get exactly repr(comparison), the library's plain-text table (no colour, no box)."""
    r = _runner().invoke(app, ["compare", str(files / "ref.csv"), str(files / "shifted.csv")])
    assert r.exit_code == 1
    assert r.stdout == repr(kb.compare(str(files / "ref.csv"), str(files / "shifted.csv"))) + "\n" and "\x1b[" not in r.stdout


def test_runner_profile_then_compare_against_it(files):
    run = lambda *a: _runner().invoke(app, [*map(str, a)])  # noqa: E731
    r = run("profile", files / "ref.csv", "-o", files / "ref.json", "--bins", "7")
    assert r.exit_code == 0 and r.stdout == f"profiled 2 column(s) of 2000 rows into {files / 'ref.json'}\n"
    saved = kb.Profile.load(files / "ref.json")
    assert saved == kb.profile(str(files / "ref.csv"), bins=7) and len(saved["x"].counts) >= 7
    a = run("compare", files / "ref.json", files / "shifted.csv", "--format", "json")
    b = run("compare", files / "ref.csv", files / "shifted.csv", "--bins", "7", "--format", "json")
    assert a.exit_code == b.exit_code == 1 and json.loads(a.stdout) == json.loads(b.stdout)
    (files / "not_a_profile.json").write_text('{"kullback_profile": 1, "columns": [{"nom": 1}]}')
    r = run("compare", files / "not_a_profile.json", files / "shifted.csv")
    assert r.exit_code == 3 and "not a profile saved by kullback profile" in r.stderr


def test_runner_report_writes_html(files):
    out = files / "drift.html"
    r = _runner().invoke(app, ["compare", str(files / "ref.csv"), str(files / "shifted.csv"), "--report", str(out)])
    assert r.exit_code == 1
    html = out.read_text()
    assert html.startswith("<!") and "<table id=summary>" in html and ">x</a>" in html and "DRIFT" in html


@pytest.mark.parametrize("command", ["compare", "profile", "kl"])
def test_runner_help_of_each_command(command):
    r = _runner().invoke(app, [command, "--help"])
    assert r.exit_code == 0
    text = plain(r.stdout)
    assert f"Usage: kullback {command}" in text or f"Usage: root {command}" in text
    expected = {
        "compare": ["--columns", "--bins", "--smoothing", "--threshold", "--format", "--report", "table|json|csv", "exit status"],
        "profile": ["--output", "-o", "--columns", "--bins"],
        "kl": ["--p", "--q", "--normalize", "--base", "exit status"],
    }[command]
    assert all(word in text for word in expected), text


def test_installed_script_exit_codes_json_and_help(files, inf_files):
    """The console script in a fresh process: 0, 1, 2, 3; JSON's infinite kl; --help."""
    assert run_script("compare", files / "ref.csv", files / "same.parquet").returncode == 0
    r = run_script("compare", inf_files / "a.csv", inf_files / "b.csv", "--smoothing", "none", "--format", "json")
    assert r.returncode == 1 and json.loads(r.stdout)["columns"][0]["kl"]["infinite"] is True
    r = run_script("compare", files / "ref.csv", files / "ref.csv", "--bins", "0")
    assert r.returncode == 2 and "Invalid value for '--bins'" in plain(r.stderr) and r.stdout == ""
    (files / "corrupt.parquet").write_bytes(b"garbage")
    r = run_script("compare", files / "ref.csv", files / "corrupt.parquet")
    assert r.returncode == 3 and r.stderr.startswith("kullback: error:")
    r = run_script("--help")
    assert r.returncode == 0 and "compare" in r.stdout and "profile" in r.stdout


def test_import_kullback_loads_neither_typer_nor_rich():
    """The command line's libraries load with the script, not with the package (nothing imports cli.py)."""
    code = "import sys, kullback, kullback.data\nprint(sorted(m for m in ('typer', 'rich', 'click') if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert r.stdout.strip() == "[]"


# --------------------------------------------------------------------------- on a real terminal (a pseudo-terminal)

SLOW = (
    "import sys, time\nimport kullback.data as data\nreal = data.compare\n"
    "data.compare = lambda *a, **k: time.sleep({delay}) or real(*a, **k)\n"
    "from kullback.cli import main\nsys.exit(main(sys.argv[1:]))"
)


def _on_terminal(args, *, stdout_tty, stderr_tty, delay=0.0):
    """Run the command line in a fresh process with stdout and/or stderr on a pseudo-terminal (120 columns);
    the compare step sleeps `delay` s first. Returns (exit status, stdout bytes, stderr bytes)."""
    pty = pytest.importorskip("pty")
    fds, std = [], {}
    for name, tty in (("stdout", stdout_tty), ("stderr", stderr_tty)):
        if tty:
            master, slave = pty.openpty()
            fds.append((name, master, slave))
            std[name] = slave
        else:
            std[name] = subprocess.PIPE
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "120", "LINES": "40", "TERM": "xterm-256color"}
    for k in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(k, None)
    proc = subprocess.Popen([sys.executable, "-c", SLOW.format(delay=delay), *map(str, args)], env=env, **std)
    for _, _, slave in fds:
        os.close(slave)
    got = {}
    for name, master, _ in fds:  # a pty's buffer holds what a short run writes; read it once the process is done
        proc.wait(timeout=120)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other side is closed and everything was read
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        got[name] = b"".join(chunks)
    proc.wait(timeout=120)
    for name in ("stdout", "stderr"):
        if name not in got:
            got[name] = getattr(proc, name).read()
    return proc.returncode, got["stdout"], got["stderr"]


def test_terminal_gets_the_rich_table_with_drift_in_red(files):
    """stdout a terminal: rich's table, DRIFT in bold red, the same cells as the plain table; a pipe gets no escape codes."""
    code, out, err = _on_terminal(["compare", files / "ref.csv", files / "shifted.csv"], stdout_tty=True, stderr_tty=False)
    assert code == 1 and err == b""
    text = out.decode()
    assert "\x1b[1;31mDRIFT" in text  # bold red
    plain_table = repr(kb.compare(str(files / "ref.csv"), str(files / "shifted.csv"))).splitlines()
    visible = [" ".join(line.split()) for line in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).splitlines()]
    assert " ".join(visible[:2]) == plain_table[0].replace(", drift", " drift")  # the title, on two lines
    for line in plain_table[3:]:  # each column's cells, the closing line
        assert " ".join(line.split()) in visible, (line, visible)


def test_progress_bar_on_a_real_terminal_and_never_in_a_pipe(files):
    """A 1.6 s compare: a pseudo-terminal on stderr gets rich's bar (elapsed time, the step), erased at the end; a pipe
    gets not one byte; stdout (a pipe) holds the plain table either way."""
    args = ["compare", files / "ref.csv", files / "same.parquet"]
    code, out, err = _on_terminal(args, stdout_tty=False, stderr_tty=True, delay=1.6)
    assert code == 0 and out.decode().startswith("kullback compare: psi")
    drawn = err.decode()
    assert "1 s elapsed" in drawn and "counting same.parquet" in drawn and "━" in drawn
    assert drawn.endswith("\x1b[2K") and "\x1b[?25h" in drawn  # the bar's line erased, the cursor shown again
    code, out, err = _on_terminal(args, stdout_tty=False, stderr_tty=False, delay=1.6)
    assert code == 0 and err == b""
    code, out, err = _on_terminal(args, stdout_tty=False, stderr_tty=True, delay=0.0)
    assert code == 0 and err == b""  # fast: nothing drawn on the terminal


def test_interrupt_exits_130_not_1_which_means_drift(files, monkeypatch, capsys):
    """Ctrl-C during a compare exits 130 (128 + SIGINT) with a word on stderr, whatever typer's version: click's Abort
    (typer < 0.2x) exits 1, which a pipeline would read as drift; typer 0.29 exits 130 silently."""
    import kullback.data as data

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(data, "compare", interrupted)
    assert main(["compare", str(files / "ref.csv"), str(files / "same.parquet")]) == 130
    assert capsys.readouterr().err == "kullback: interrupted\n"
