"""The ``kullback`` command line.

    kullback kl FILE.csv --p COLUMN --q COLUMN [--normalize] [--base 2]

reads two columns of non-negative weights from a CSV file with a header row
(one row per outcome; ``-`` reads standard input; a UTF-8 byte-order mark, as
Excel's "CSV UTF-8" writes, is skipped) and prints D(p||q), D(q||p), the
Jensen–Shannon divergence and both entropies.  ``--p`` and ``--q`` may name
the same column (every divergence is then 0).

Exit status (as ``shared/DESIGN.md`` fixes it for every subcommand):

* 0 -- the numbers were printed;
* 1 -- drift above ``--threshold`` (``kullback compare``, in ``_cli_data.py``);
* 2 -- usage error: bad options, a file that cannot be opened, a column
  named on the command line that the header does not have;
* 3 -- data error: the file's contents are not two probability vectors
  (not UTF-8, no header or no rows, a row with more or fewer fields than the
  header, an empty cell, a non-number or a number not written as a plain
  decimal (``1_000``, full-width digits), a weight too small for float64
  (``1e-400``), a negative or non-finite weight, an
  all-zero column, a column that does not sum to 1 without ``--normalize``,
  an ambiguous duplicate column name).

The reason goes to standard error as one line ``kullback: error: ...``; a
usage error that the parser finds (a missing or unknown option) is shown by
typer, with the command's usage line.

The command line is a typer app (``app``; rich draws ``--help``).  Nothing
imports this module but the ``kullback`` script and ``python -m kullback``,
so ``import kullback`` loads neither typer nor rich; the numerical library
(NumPy, kullback's kernels) is imported only when a subcommand computes, never
for ``--help`` or ``--version``.
"""

from __future__ import annotations

import csv
import io
import math
import re
import sys

import typer

from . import __version__
from ._cli_data import finish, register

__all__ = ["app", "main", "EXIT_OK", "EXIT_DRIFT", "EXIT_USAGE", "EXIT_DATA"]

EXIT_OK, EXIT_DRIFT, EXIT_USAGE, EXIT_DATA = 0, 1, 2, 3

# The library accepts a sum within sqrt(eps) of 1 (kullback.discrete._sum_tolerance for float64).
_SUM_TOL = math.sqrt(2.220446049250313e-16)

_EPILOG = """\
exit status:
  0  the numbers were printed
  2  usage error: bad options, a file that cannot be opened, a column the header does not have
  3  data error: the file is not UTF-8, has no rows, a row with the wrong number of fields, an empty cell, a non-number, a negative weight, or a column that does not sum to 1 without --normalize
"""

_TOP_EPILOG = """\
exit status (each command's --help says more):
  0  done (kullback compare: no column drifted)
  1  kullback compare: drift above --threshold
  2  usage error: bad options, a file that cannot be opened, a column that is not there
  3  data error: the contents cannot be read or hold nothing to compute on
"""


class UsageError(Exception):
    """The command line asks for something that cannot be done (exit 2)."""


class DataError(Exception):
    """The input's contents are not what the command needs (exit 3)."""


# --------------------------------------------------------------------------- reading the CSV


def _read_bytes(path: str) -> bytes:
    """The whole input as bytes; ``-`` is standard input."""
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text stream without a buffer (e.g. io.StringIO in tests)
            return sys.stdin.read().encode("utf-8")
        return stream.read()
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror or exc}"
        raise UsageError(msg) from None


def _decode(data: bytes, label: str) -> str:
    """UTF-8 text, a leading byte-order mark dropped; a clear error naming line and byte otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        msg = (
            f"{label}, line {line}: byte 0x{data[exc.start]:02x} at offset {exc.start} is not UTF-8; "
            'save the file as UTF-8 (in Excel: "CSV UTF-8")'
        )
        raise DataError(msg) from None


def _header_index(header: list[str], names: list[str], label: str) -> dict[str, int]:
    """The field index of each requested column (names stripped of surrounding spaces)."""
    stripped = [h.strip() for h in header]
    index = {}
    for name in dict.fromkeys(names):  # --p c --q c: one column, read once
        where = [i for i, h in enumerate(stripped) if h == name.strip()]
        if not where:
            msg = f"{label}: no column {name!r}; the columns are {', '.join(map(repr, stripped))}"
            raise UsageError(msg)
        if len(where) > 1:
            fields = ", ".join(str(i + 1) for i in where)
            msg = f"{label}: the header names column {name!r} {len(where)} times (fields {fields}); rename all but one"
            raise DataError(msg)
        index[name] = where[0]
    return index


# A plain decimal number, as CSV writers write them: ASCII digits, optional sign, point and exponent. Python's
# float() also reads 1_000 (as 1000) and full-width or other Unicode digits, which no CSV writer emits for a number.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _weight(text: str, label: str, line: int, name: str) -> float:
    """One cell as a finite non-negative float, read from a plain decimal number."""
    text = text.strip()
    where = f"{label}, line {line}, column {name!r}"
    if not text:
        msg = f"{where}: the cell is empty; every outcome needs a weight (write 0 for none)"
        raise DataError(msg)
    try:
        value = float(text)
    except ValueError:
        msg = f"{where}: {text!r} is not a number"
        raise DataError(msg) from None
    if not math.isfinite(value):
        msg = f"{where}: {text!r} is not finite; weights must be finite and non-negative"
        raise DataError(msg)
    if not _DECIMAL.fullmatch(text):
        msg = f"{where}: {text!r} is not a plain decimal number (ASCII digits 0-9, an optional sign, point and exponent)"
        raise DataError(msg)
    if value < 0:
        msg = f"{where}: {text!r} is negative; weights must be finite and non-negative"
        raise DataError(msg)
    if value == 0 and any(c in "123456789" for c in text.partition("e")[0].partition("E")[0]):
        msg = f"{where}: {text!r} is below the smallest positive float64 (5e-324) and would be read as 0"
        raise DataError(msg)
    return value


def _read_columns(path: str, names: list[str]) -> tuple[str, dict[str, list[float]]]:
    """The display name of the input and the requested columns, each read once, as lists of floats."""
    label = "<stdin>" if path == "-" else path
    text = _decode(_read_bytes(path), label)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next((row for row in reader if row), None)  # blank lines before the header are skipped
        if header is None:
            msg = f"{label} is empty; expected a header row naming the columns, then one row per outcome"
            raise DataError(msg)
        header[0] = header[0].removeprefix("\ufeff")  # a second mark, or one that came through a text stdin
        index = _header_index(header, names, label)
        cols: dict[str, list[float]] = {n: [] for n in index}
        for row in reader:
            if not row:  # a blank line (csv gives []), e.g. a trailing one
                continue
            line = reader.line_num
            if len(row) != len(header):
                msg = f"{label}, line {line}: {len(row)} fields, but the header has {len(header)}; every row needs one field per column"
                raise DataError(msg)
            for n, i in index.items():
                cols[n].append(_weight(row[i], label, line, n))
    except csv.Error as exc:
        msg = f"{label}, line {reader.line_num}: not valid CSV ({exc})"
        raise DataError(msg) from None
    if not next(iter(cols.values())):
        msg = f"{label} has a header but no rows; give one row per outcome"
        raise DataError(msg)
    return label, cols


def _check_sum(values: list[float], name: str, normalize: bool) -> None:
    """An all-zero column is never a distribution; other sums must be 1 unless --normalize."""
    if not any(values):
        msg = f"column {name!r} is all zeros; a distribution needs positive total weight"
        raise DataError(msg)
    if normalize:
        return
    try:
        total = math.fsum(values)
    except OverflowError:
        total = math.inf
    if abs(total - 1) > _SUM_TOL:
        msg = (
            f"column {name!r} sums to {total!r}, not 1 (tolerance {_SUM_TOL:.1e}); "
            "pass --normalize to treat the values as unnormalised weights (e.g. counts)"
        )
        raise DataError(msg)


def _cli_words(message: str) -> str:
    """The library's advice in the command line's own words."""
    return message.replace("pass normalize=True", "pass --normalize").replace("normalize=True", "--normalize")


# --------------------------------------------------------------------------- kullback kl


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.10g}"


def _cmd_kl(file: str, p_name: str, q_name: str, normalize: bool, base: float | None) -> int:
    label, cols = _read_columns(file, [p_name, q_name])
    for name, values in cols.items():
        _check_sum(values, name, normalize)

    import numpy as np  # here, not at the top: --help and --version must not pay for it

    from ._api import cross_entropy, entropy, js, kl

    p = np.asarray(cols[p_name], dtype=np.float64)
    q = np.asarray(cols[q_name], dtype=np.float64)
    kw = {"base": base, "normalize": normalize}
    unit = "nats" if base is None else ("bits" if base == 2 else f"base-{base:g} units")
    try:
        rows = [
            (f"D({p_name} || {q_name})", float(kl(p, q, **kw))),
            (f"D({q_name} || {p_name})", float(kl(q, p, **kw))),
            (f"JS({p_name}, {q_name})", float(js(p, q, **kw))),
            (f"H({p_name})", float(entropy(p, **kw))),
            (f"H({q_name})", float(entropy(q, **kw))),
            (f"H({p_name}, {q_name})", float(cross_entropy(p, q, **kw))),
        ]
    except (ValueError, TypeError) as exc:  # the checks above should have caught it; say it in CLI terms
        raise DataError(_cli_words(str(exc))) from None
    width = max(len(name) for name, _ in rows)
    print(f"{label}: {len(p)} outcomes, in {unit}")
    for name, value in rows:
        print(f"  {name:<{width}}  {_fmt(value)}")
    if math.isinf(rows[0][1]):
        zero = [i + 1 for i, (a, b) in enumerate(zip(cols[p_name], cols[q_name])) if b == 0 and a > 0]
        print(f"  D({p_name} || {q_name}) is infinite: {q_name} is 0 where {p_name} is not (rows {', '.join(map(str, zero[:10]))})")
    return EXIT_OK


# --------------------------------------------------------------------------- the typer app


def _base(value: float | None) -> float | None:
    """--base: a finite number above 1 (the library's rule: below 1 every divergence turns negative)."""
    if value is not None and not (math.isfinite(value) and value > 1):
        msg = f"must be a finite number above 1 (2 for bits), got {value!r}; below 1 every divergence would be negative"
        raise typer.BadParameter(msg)
    return value


def _version(value: bool) -> None:
    if value:
        print(f"kullback {__version__}")
        raise typer.Exit(EXIT_OK)


app = typer.Typer(
    name="kullback",
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback(epilog=_TOP_EPILOG)
def _kullback(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """How different are two probability distributions?"""


@app.command(
    "kl",
    epilog=_EPILOG,
    short_help="divergences between two columns of weights in a CSV file",
    help="D(p||q), D(q||p), JS(p, q), H(p), H(q) and H(p, q) of two columns of a CSV file (one row per outcome).",
)
def _kl(
    file: str = typer.Argument(
        ..., metavar="FILE", help="CSV file (UTF-8, with a header row, one row per outcome); - reads standard input"
    ),
    p: str = typer.Option(..., "--p", help="column holding p (the reference distribution)"),
    q: str = typer.Option(..., "--q", help="column holding q (the approximation); may be the same column as --p"),
    normalize: bool = typer.Option(False, "--normalize", help="treat the columns as unnormalised weights, e.g. counts"),
    base: float | None = typer.Option(None, "--base", callback=_base, help="logarithm base: 2 for bits (default: nats)"),
) -> None:
    finish(_kl_status, file, p, q, normalize, base)


def _kl_status(*args) -> int:
    """`kullback kl`'s exit status, its errors reported in one line on stderr."""
    try:
        return _cmd_kl(*args)
    except UsageError as exc:
        print(f"kullback: error: {exc} (see kullback kl --help)", file=sys.stderr)
        return EXIT_USAGE
    except DataError as exc:
        print(f"kullback: error: {exc}", file=sys.stderr)
        return EXIT_DATA


register(app)  # compare, profile (issue 27)


def main(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    command = typer.main.get_command(app)
    try:  # standalone: typer prints usage errors (exit 2) and ends every run with SystemExit
        command.main(args=argv, prog_name="kullback", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
