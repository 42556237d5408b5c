"""``kullback compare`` and ``kullback profile``: the dataset subcommands of the command line.

    kullback compare REF CUR [--columns ...] [--bins N] [--smoothing ...] [--threshold T]
                             [--format table|json|csv] [--report out.html]
    kullback profile DATA -o ref.json

REF may be a profile saved by ``kullback profile`` (a ``.json`` file).  Exit status: 0 no drift, 1 drift
in at least one column, 2 usage error (bad options, a file that does not exist), 3 data error (a file
that cannot be read, or no column that can be compared).  Columns that cannot be compared are reported
with their reason and do not stop the others.  ``--format table`` is a rich Table on a terminal and the
plain text of ``repr(comparison)`` elsewhere; while reading takes more than a second, a rich progress bar
shows on stderr if stderr is a terminal.  Registered on ``cli.py``'s typer app by :func:`register`;
nothing heavy (NumPy, the readers, rich) is imported until a subcommand runs.
"""

from __future__ import annotations

import csv
import glob
import io
import math
import os
import sys
import threading
import time
from enum import StrEnum
from typing import NoReturn

import typer

__all__ = ["register", "finish"]

EXIT_OK, EXIT_DRIFT, EXIT_USAGE, EXIT_DATA = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it; click's Abort would exit 1, which means drift here

_EPILOG = """\
exit status:
  0  no column drifted
  1  drift: at least one column's change is significant (Holm) and its interval's lower end exceeds --threshold
  2  usage error: bad options, a file that does not exist
  3  data error: a file that cannot be read, or no column that can be compared
"""


# The choices of the options (typer shows them in --help and refuses others with exit 2); values = names.
Smoothing = StrEnum("Smoothing", ["jeffreys", "laplace", "perks", "none"])
Metric = StrEnum("Metric", ["psi", "kl", "kl_reverse", "js"])
Format = StrEnum("Format", ["table", "json", "csv"])


def _columns(values, extra=()) -> list[str] | None:
    """--columns a,b --columns c plus names written after --columns (``--columns a b``, as argparse took them)."""
    if not values:
        return None
    return [c for v in [*values, *extra] for c in v.split(",") if c]


def _alpha(value: float) -> float:
    if not (0 < value < 1):
        msg = f"must be in (0, 1), got {value!r}"
        raise typer.BadParameter(msg)
    return value


def _base(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 1):  # the library's rule, as `kullback kl --base`
        msg = f"must be a finite number above 1 (2 for bits), got {value!r}; below 1 every divergence would be negative"
        raise typer.BadParameter(msg)
    return value


def _threshold(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value >= 0):
        msg = f"must be a finite number >= 0 (the change that is material; default 0.1 for psi), got {value!r}"
        raise typer.BadParameter(msg)
    return value


_COLUMNS_HELP = "columns to compare: --columns a,b or --columns a b (default: every column)"


def register(app: typer.Typer) -> None:
    """Add ``compare`` and ``profile`` to the command line's typer app."""
    app.command(
        "compare",
        epilog=_EPILOG,
        short_help="which columns of two tables differ, and by how much",
        help="Compare two tables (CSV, Parquet, globs; or a saved profile as REF) column by column: "
        "kl = D(CUR||REF), kl_reverse, js, psi with intervals, a permutation p-value and a drift decision.",
        context_settings={"allow_extra_args": True},  # names after --columns a (see _columns)
    )(_compare)
    app.command(
        "profile",
        short_help="exact per-column counts of a table, saved as JSON (a reference for compare)",
        help="Profile a table (CSV, Parquet, globs) and save it as versioned JSON.",
        context_settings={"allow_extra_args": True},
    )(_profile)


def _compare(
    ctx: typer.Context,
    reference: str = typer.Argument(..., metavar="REF", help="reference data (CSV/Parquet/glob) or a profile .json"),
    current: str = typer.Argument(..., metavar="CUR", help="current data (CSV/Parquet/glob)"),
    columns: list[str] | None = typer.Option(None, "--columns", help=_COLUMNS_HELP),
    bins: int | None = typer.Option(None, "--bins", min=1, help="quantile bins per numeric column (default auto: 10)"),
    smoothing: Smoothing = typer.Option(Smoothing.jeffreys, "--smoothing", help="pseudo-counts; none: the exact plug-in"),
    metric: Metric = typer.Option(Metric.psi, "--metric", help="the divergence the decision uses"),
    threshold: float | None = typer.Option(
        None,
        "--threshold",
        callback=_threshold,
        help="material change: the interval's lower end must exceed it (default 0.1 for psi, 0.05 kl, 0.0125 js)",
    ),
    alpha: float = typer.Option(0.05, "--alpha", callback=_alpha, help="test level after Holm's correction"),
    seed: int = typer.Option(0, "--seed", help="seed of the permutation test"),
    base: float | None = typer.Option(None, "--base", callback=_base, help="logarithm base: 2 for bits (default nats)"),
    fmt: Format = typer.Option(Format.table, "--format", help="table: rich on a terminal, plain text otherwise"),
    report: str | None = typer.Option(None, "--report", metavar="OUT.html", help="also write the HTML report there"),
) -> None:
    names = _columns(columns, _extra(ctx, columns))
    opts = dict(bins=bins or "auto", smoothing=smoothing.value, metric=metric.value, threshold=threshold, alpha=alpha, seed=seed)
    finish(_cmd_compare, reference, current, names, fmt.value, report, base=base, **opts)


def _profile(
    ctx: typer.Context,
    data: str = typer.Argument(..., metavar="DATA", help="the table (CSV/Parquet/glob)"),
    output: str = typer.Option(..., "-o", "--output", metavar="FILE.json", help="where to save the profile"),
    columns: list[str] | None = typer.Option(None, "--columns", help=_COLUMNS_HELP.replace("compare", "profile")),
    bins: int | None = typer.Option(None, "--bins", min=1, help="quantile bins per numeric column (default auto: 10)"),
) -> None:
    finish(_cmd_profile, data, output, _columns(columns, _extra(ctx, columns)), bins or "auto")


def finish(run, *args, **kwargs) -> NoReturn:
    """Run a subcommand and exit with its status; Ctrl-C exits 130 with a word on stderr (click's Abort exits 1: drift)."""
    try:
        code = run(*args, **kwargs)
    except KeyboardInterrupt:
        print("kullback: interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    raise typer.Exit(code)


def _extra(ctx, columns) -> list[str]:
    """Arguments left over by the parser: more column names if --columns was given, a usage error otherwise."""
    if ctx.args and not columns:
        msg = f"unexpected extra argument(s): {' '.join(ctx.args)}"
        ctx.fail(msg)  # a usage error: typer shows it with the usage line, exit 2
    return list(ctx.args)


def _exists(path) -> bool:
    path = os.fspath(path)
    return bool(glob.glob(path)) if any(ch in path for ch in "*?[") else os.path.exists(path)


_SHOW_AFTER = 1.0  # seconds of reading before the progress bar appears


class _Progress:
    """A rich progress bar on stderr, only where stderr is a terminal and only once the work has taken more than
    ``_SHOW_AFTER`` seconds (a spinner, the step, a pulsing bar and the time elapsed; never in pipes or tests).

    The readers report no fraction done, so the bar pulses; it is drawn by rich's own thread while the main
    thread reads, and removed (transient) when the step ends."""

    def __init__(self):
        self.lock = threading.Lock()
        self.timer = self.bar = self.task = None
        self.text, self.start = "", 0.0

    def set(self, text: str) -> None:
        if not sys.stderr.isatty():
            return
        with self.lock:
            self.text = text
            if self.bar is not None:
                self.bar.update(self.task, description=text)
            elif self.timer is None:
                self.start = time.monotonic()
                self.timer = threading.Timer(_SHOW_AFTER, self._show)
                self.timer.daemon = True
                self.timer.start()

    def _show(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn
        from rich.table import Column
        from rich.text import Text

        start = self.start

        class Elapsed(ProgressColumn):  # since the step began, not since the bar appeared
            def render(self, task):
                return Text(f"{time.monotonic() - start:.0f} s elapsed")

        with self.lock:
            if self.timer is None:  # cleared meanwhile
                return
            what = TextColumn("{task.description}", table_column=Column(max_width=50, no_wrap=True, overflow="ellipsis"))
            columns = SpinnerColumn(), what, BarColumn(bar_width=20), Elapsed()
            self.bar = Progress(*columns, console=Console(file=sys.stderr), transient=True)
            self.task = self.bar.add_task(self.text, total=None)
            self.bar.start()

    def clear(self) -> None:
        with self.lock:
            timer, bar, self.timer, self.bar = self.timer, self.bar, None, None
        if timer is not None:
            timer.cancel()
        if bar is not None:
            bar.stop()


def _fail(code, msg):
    print(f"kullback: error: {msg}", file=sys.stderr)
    return code


def _cmd_compare(reference, current, columns, fmt, report, *, bins, smoothing, metric, threshold, alpha, seed, base) -> int:
    for path in (reference, current):
        if not _exists(path):
            return _fail(EXIT_USAGE, f"no such file: {path} (see kullback compare --help)")
    from .data import Profile, compare
    from .data._compare import profile_present
    from .data._read import DataError

    progress = _Progress()
    try:
        if reference.lower().endswith(".json"):
            ref = _load(Profile, reference)
        else:
            progress.set(f"profiling {os.path.basename(reference)}")
            ref = profile_present(reference, columns, bins)
        progress.set(f"counting {os.path.basename(current)} on the reference's bins")
        result = compare(
            ref, current, columns=columns, bins=bins, smoothing=smoothing,
            metric=metric, threshold=threshold, alpha=alpha, rng=seed, base=base,
        )  # fmt: skip
    except (DataError, KeyError) as exc:
        return _fail(EXIT_DATA, str(exc).strip("\"'"))
    finally:
        progress.clear()
    _print(result, fmt)
    if report:
        from .report import write_report

        write_report(result, report)
    errors = [c for c in result if c.status != "ok"]
    for c in errors:
        print(f"kullback: column {c.column!r} not compared: {c.reason}", file=sys.stderr)
    if len(errors) == len(result.columns):
        return _fail(EXIT_DATA, "no column could be compared")
    return EXIT_DRIFT if result.drift else EXIT_OK


def _load(Profile, path):
    """A saved profile; a JSON file that is not one is a data error naming the file."""
    from .data._read import DataError

    try:
        return Profile.load(path)
    except (KeyError, TypeError, AttributeError) as exc:
        msg = f"{path} is not a profile saved by kullback profile ({type(exc).__name__}: {exc})"
        raise DataError(msg) from None


def _print(result, fmt) -> None:
    """The result on stdout: a rich Table if --format table and stdout is a terminal, else plain text."""
    if fmt == "table" and sys.stdout.isatty():
        from rich.console import Console

        from .data._table import rich_table

        Console(file=sys.stdout).print(rich_table(result))
        return
    print(_render(result, fmt))


def _render(result, fmt) -> str:
    if fmt == "json":
        return result.to_json(indent=2)
    if fmt == "csv":
        rows = result.rows()
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("inf" if isinstance(v, float) and math.isinf(v) else v) for k, v in r.items()})
        return buf.getvalue().rstrip("\n")
    return repr(result)


def _cmd_profile(data, output, columns, bins) -> int:
    if not _exists(data):
        return _fail(EXIT_USAGE, f"no such file: {data} (see kullback profile --help)")
    from .data import profile
    from .data._read import DataError

    progress = _Progress()
    try:
        progress.set(f"profiling {os.path.basename(data)}")
        prof = profile(data, columns=columns, bins=bins)
    except (DataError, KeyError) as exc:
        return _fail(EXIT_DATA, str(exc).strip("\"'"))
    finally:
        progress.clear()
    try:
        prof.save(output)
    except OSError as exc:
        return _fail(EXIT_USAGE, f"cannot write {output}: {exc.strerror or exc}")
    print(f"profiled {len(prof)} column(s) of {prof.n} rows into {output}")
    return EXIT_OK
