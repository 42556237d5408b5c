"""Helpers shared by the benchmark scripts (run as `python benchmarks/<script>.py`)."""

from __future__ import annotations

import platform

import numpy as np

from kullback import _kernels


def kernel_off(fn):
    """fn, run with the fused numba kernels switched off (kullback's array-API / eager path)."""

    def run():
        saved = _kernels.MIN_SIZE
        _kernels.MIN_SIZE = np.iinfo(np.int64).max
        try:
            return fn()
        finally:
            _kernels.MIN_SIZE = saved

    return run


def cpu_name():
    try:
        with open("/proc/cpuinfo") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def publish(text: str, out: str | None) -> None:
    """Write a benchmark's markdown to ``out`` (if given) and print it."""
    if out:
        from pathlib import Path

        Path(out).write_text(text)
    print(text)
