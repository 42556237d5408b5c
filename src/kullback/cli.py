"""The ``kullback`` command line.

    kullback kl FILE.csv --p COLUMN --q COLUMN [--normalize] [--base 2]

reads two columns of non-negative weights from a CSV file (one row per
outcome) and prints D(p||q), D(q||p), the Jensen–Shannon divergence and both
entropies.  Exit status: 0 on success, 2 for bad input (with the reason on
standard error).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys

import numpy as np

from . import __version__
from ._api import cross_entropy, entropy, js, kl


def _read_columns(path, names):
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [n for n in names if n not in header]
            if missing:
                raise ValueError(f"{path}: no column {', '.join(map(repr, missing))}; the columns are {', '.join(header)}")
            cols = {n: [] for n in names}
            for line, row in enumerate(reader, start=2):
                for n in names:
                    text = (row[n] or "").strip()
                    try:
                        cols[n].append(float(text))
                    except ValueError:
                        raise ValueError(f"{path}, line {line}, column {n!r}: {text!r} is not a number") from None
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    return [np.asarray(cols[n], dtype=np.float64) for n in names]


def _fmt(x):
    return "inf" if math.isinf(x) else f"{x:.10g}"


def _cmd_kl(args):
    p, q = _read_columns(args.file, [args.p, args.q])
    kw = {"base": args.base, "normalize": args.normalize}
    unit = "nats" if args.base is None else ("bits" if args.base == 2 else f"base-{args.base:g} units")
    rows = [
        (f"D({args.p} || {args.q})", float(kl(p, q, **kw))),
        (f"D({args.q} || {args.p})", float(kl(q, p, **kw))),
        (f"JS({args.p}, {args.q})", float(js(p, q, **kw))),
        (f"H({args.p})", float(entropy(p, **kw))),
        (f"H({args.q})", float(entropy(q, **kw))),
        (f"H({args.p}, {args.q})", float(cross_entropy(p, q, **kw))),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{args.file}: {len(p)} outcomes, in {unit}")
    for name, value in rows:
        print(f"  {name:<{width}}  {_fmt(value)}")
    if math.isinf(rows[0][1]):
        zero = np.flatnonzero((q == 0) & (p > 0))
        print(
            f"  D({args.p} || {args.q}) is infinite: {args.q} is 0 where {args.p} is not (rows {', '.join(str(i + 1) for i in zero[:10])})"
        )
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kullback", description="How different are two probability distributions?")
    parser.add_argument("--version", action="version", version=f"kullback {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_kl = sub.add_parser("kl", help="divergences between two columns of weights in a CSV file")
    p_kl.add_argument("file", help="CSV file with a header row, one row per outcome")
    p_kl.add_argument("--p", required=True, help="column holding p (the reference distribution)")
    p_kl.add_argument("--q", required=True, help="column holding q (the approximation)")
    p_kl.add_argument("--normalize", action="store_true", help="treat the columns as unnormalised weights, e.g. counts")
    p_kl.add_argument("--base", type=float, default=None, help="logarithm base: 2 for bits (default: nats)")
    args = parser.parse_args(argv)
    try:
        return _cmd_kl(args)
    except (ValueError, TypeError) as exc:
        print(f"kullback: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
