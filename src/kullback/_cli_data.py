"""``kullback compare`` and ``kullback profile``: the dataset subcommands of the command line.

    kullback compare REF CUR [--columns ...] [--bins N] [--smoothing ...] [--threshold T]
                             [--format table|json|csv] [--report out.html]
    kullback profile DATA -o ref.json

REF may be a profile saved by ``kullback profile`` (a ``.json`` file).  Exit status: 0 no drift, 1 drift
in at least one column, 2 usage error (bad options, a file that does not exist), 3 data error (a file
that cannot be read, or no column that can be compared).  Columns that cannot be compared are reported
with their reason and do not stop the others.  Registered by ``cli.py`` through :func:`add_parsers`;
nothing heavy is imported until a subcommand runs.
"""

from __future__ import annotations

import argparse
import csv
import glob
import io
import math
import os
import sys

__all__ = ["add_parsers"]

EXIT_OK, EXIT_DRIFT, EXIT_USAGE, EXIT_DATA = 0, 1, 2, 3

_EPILOG = """\
exit status:
  0  no column drifted
  1  drift: at least one column's change is significant (Holm) and its interval's lower end exceeds --threshold
  2  usage error: bad options, a file that does not exist
  3  data error: a file that cannot be read, or no column that can be compared
"""


def _columns(values):
    if not values:
        return None
    return [c for v in values for c in v.split(",") if c]


def _positive_int(text):
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        msg = f"must be a positive integer, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return v


def add_parsers(sub, formatter_class=argparse.RawDescriptionHelpFormatter) -> None:
    """Add ``compare`` and ``profile`` to the command line's subparsers; each sets ``args._run``."""
    c = sub.add_parser(
        "compare",
        help="which columns of two tables differ, and by how much",
        description="Compare two tables (CSV, Parquet, globs; or a saved profile as REF) column by column: "
        "kl = D(CUR||REF), kl_reverse, js, psi with intervals, a permutation p-value and a drift decision.",
        epilog=_EPILOG,
        formatter_class=formatter_class,
    )
    c.add_argument("reference", metavar="REF", help="reference data (CSV/Parquet/glob) or a profile .json")
    c.add_argument("current", metavar="CUR", help="current data (CSV/Parquet/glob)")
    c.add_argument("--columns", nargs="+", help="columns to compare (space- or comma-separated; default all)")
    c.add_argument("--bins", type=_positive_int, default=None, help="quantile bins per numeric column (default auto: 10)")
    c.add_argument("--smoothing", choices=["jeffreys", "laplace", "perks", "none"], default="jeffreys")
    c.add_argument("--metric", choices=["psi", "kl", "kl_reverse", "js"], default="psi")
    c.add_argument("--threshold", type=float, default=None, help="material change (default 0.1 for psi)")
    c.add_argument("--alpha", type=float, default=0.05, help="test level after Holm's correction (default 0.05)")
    c.add_argument("--seed", type=int, default=0, help="seed of the permutation test (default 0)")
    c.add_argument("--base", type=float, default=None, help="logarithm base: 2 for bits (default nats)")
    c.add_argument("--format", choices=["table", "json", "csv"], default="table")
    c.add_argument("--report", metavar="OUT.html", help="also write the HTML report there")
    c.set_defaults(_run=_cmd_compare)
    p = sub.add_parser(
        "profile",
        help="exact per-column counts of a table, saved as JSON (a reference for compare)",
        description="Profile a table (CSV, Parquet, globs) and save it as versioned JSON.",
        formatter_class=formatter_class,
    )
    p.add_argument("data", metavar="DATA")
    p.add_argument("-o", "--output", required=True, metavar="FILE.json")
    p.add_argument("--columns", nargs="+")
    p.add_argument("--bins", type=_positive_int, default=None)
    p.set_defaults(_run=_cmd_profile)


def _exists(path) -> bool:
    path = os.fspath(path)
    return bool(glob.glob(path)) if any(ch in path for ch in "*?[") else os.path.exists(path)


_SHOW_AFTER = 1.0  # seconds of reading before the progress line appears


class _Progress:
    """A progress line on stderr, only where stderr is a terminal and only once the work has taken more than
    ``_SHOW_AFTER`` seconds (a spinner, the step and the time elapsed; never in pipes or tests)."""

    def __init__(self):
        self.text, self.thread, self.stop = "", None, None

    def set(self, text) -> None:
        import threading
        import time

        if not text:
            return self.clear()
        self.text = text
        if self.thread is None and sys.stderr.isatty():
            self.stop, start = threading.Event(), time.monotonic()
            self.thread = threading.Thread(target=self._draw, args=(start,), daemon=True)
            self.thread.start()

    def _draw(self, start) -> None:
        import time

        frames, i = "|/-\\", 0
        if self.stop.wait(_SHOW_AFTER):
            return
        while not self.stop.wait(0.2):
            i += 1
            print(f"\r\033[K{frames[i % 4]} {self.text} {time.monotonic() - start:.0f} s elapsed", end="", file=sys.stderr, flush=True)

    def clear(self) -> None:
        if self.thread is not None:
            self.stop.set()
            self.thread.join()
            self.thread = None
            print("\r\033[K", end="", file=sys.stderr, flush=True)


_progress = _Progress()
_status = _progress.set


def _fail(code, msg):
    print(f"kullback: error: {msg}", file=sys.stderr)
    return code


def _cmd_compare(args) -> int:
    for path in (args.reference, args.current):
        if not _exists(path):
            return _fail(EXIT_USAGE, f"no such file: {path} (see kullback compare --help)")
    if not (0 < args.alpha < 1) or (args.base is not None and not (args.base > 0 and args.base != 1)):
        return _fail(EXIT_USAGE, "--alpha must be in (0, 1) and --base positive and not 1")
    from .data import Profile, compare
    from .data._compare import profile_present
    from .data._read import DataError

    try:
        if args.reference.lower().endswith(".json"):
            ref = Profile.load(args.reference)
        else:
            _status(f"profiling {args.reference} ...")
            ref = profile_present(args.reference, _columns(args.columns), args.bins or "auto")
        _status(f"counting {args.current} on the reference's bins and comparing ...")
        result = compare(
            ref, args.current, columns=_columns(args.columns), bins=args.bins or "auto", smoothing=args.smoothing,
            metric=args.metric, threshold=args.threshold, alpha=args.alpha, rng=args.seed, base=args.base,
        )  # fmt: skip
    except (DataError, KeyError) as exc:
        _status("")
        return _fail(EXIT_DATA, str(exc).strip("\"'"))
    _status("")
    print(_render(result, args.format))
    if args.report:
        from .report import write_report

        write_report(result, args.report)
    errors = [c for c in result if c.status != "ok"]
    for c in errors:
        print(f"kullback: column {c.column!r} not compared: {c.reason}", file=sys.stderr)
    if len(errors) == len(result.columns):
        return _fail(EXIT_DATA, "no column could be compared")
    return EXIT_DRIFT if result.drift else EXIT_OK


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


def _cmd_profile(args) -> int:
    if not _exists(args.data):
        return _fail(EXIT_USAGE, f"no such file: {args.data} (see kullback profile --help)")
    from .data import profile
    from .data._read import DataError

    try:
        prof = profile(args.data, columns=_columns(args.columns), bins=args.bins or "auto")
        prof.save(args.output)
    except (DataError, KeyError) as exc:
        return _fail(EXIT_DATA, str(exc).strip("\"'"))
    except OSError as exc:
        return _fail(EXIT_USAGE, f"cannot write {args.output}: {exc.strerror or exc}")
    print(f"profiled {len(prof)} column(s) of {prof.n} rows into {args.output}")
    return EXIT_OK
