"""``kullback compare`` and ``kullback profile``: exit status 0/1/2/3, the three formats, the report, saved profiles."""

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

import kullback as kb
from kullback.cli import main

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
