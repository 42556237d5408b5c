"""Helpers of the command-line tests (test_cli*.py): rich's panels read as plain text, the installed script run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def plain(text: str) -> str:
    """Terminal output without rich's panel borders, whitespace collapsed (a message wrapped in a panel reads whole)."""
    return " ".join(text.translate({ord(ch): " " for ch in "╭╮╰╯│─"}).split())


def script() -> str:
    """The console script `kullback` as pip installs it beside this interpreter (skipped where it is not installed)."""
    exe = Path(sys.executable).with_name("kullback")
    if not exe.exists():
        pytest.skip(f"the package is not installed in this environment ({exe} missing)")
    return str(exe)


def run_script(*args, **kw) -> subprocess.CompletedProcess:
    """`kullback ARGS` in a fresh process, this tree's src/ first on the path (the script imports what it finds)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    env.update(kw.pop("env", {}))
    return subprocess.run([script(), *map(str, args)], capture_output=True, text=True, env=env, timeout=120, **kw)
