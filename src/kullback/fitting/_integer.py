"""A free integer parameter (binom's ``n``, betabinom's ``n``, zipfian's ``n``, boltzmann's ``N``): its profile.

For each integer value c the other parameters are fitted as usual, giving the profile
f(c) = min over the rest of the objective (D(target||q), D(q||target), or the mean negative
log-likelihood); the answer is the c that minimises it.  f is infinite where q cannot cover the
target (forward: binom's n below the largest count) or puts mass outside it (reverse), finite on
one interval of c.  The search, on the integers of the parameter's domain:

1. the finite interval's near end: c = lo, lo + 1, lo + 2, lo + 4, ... until f is finite, then
   bisection back to the first finite c (coverage is monotone in c);
2. a bracket: steps of 1, 2, 4, ... from there while f falls; the first rise (or infinite value)
   closes it;
3. golden-section search on the integers inside the bracket, then the neighbours of the best.

The profile is taken to be unimodal on its finite interval, as it is for the binomial n
(Olkin, Petkau & Zidek 1981, J. Am. Stat. Assoc. 76, 637-642: the likelihood of n is unimodal, its
maximiser infinite when the sample variance reaches the mean); ``tests/fitting/test_fit.py``
checks the answer against a brute-force scan.  Where f still falls at c = lo + 2^_MAX_DOUBLINGS
no finite c is best (the binomial's limit is the Poisson law): the fit there is returned with
``converged=False`` and that reason.
"""

from __future__ import annotations

import dataclasses
import math

__all__ = ["profile"]

_MAX_DOUBLINGS = 20  # the bracket's search stops at c = first finite + 2^20
_SCAN = 64  # a finite interval of at most this many values is scanned whole


def profile(T, fam, integer: list, optimise) -> tuple:
    """(family with the best c fixed, its optimisation, a record of the search) for one free integer parameter."""
    if len(integer) > 1:
        names = ", ".join(f"`{p.name}`" for p in integer)
        example = ", ".join(f"{p.name!r}: ..." for p in integer[1:])
        msg = (
            f"{fam.name} has {len(integer)} free integer parameters ({names}); kb.fit searches one at a time: "
            f"fix the others in `fixed` (fixed={{{example}}})"
        )
        raise ValueError(msg)
    p = integer[0]
    seen: dict = {}

    def f(c: int) -> float:
        if c not in seen:
            fc = dataclasses.replace(fam, fixed={**fam.fixed, p.name: c})
            seen[c] = (fc, optimise(fc))
        return seen[c][1]["fun"]

    lo = math.ceil(p.lo) if p.inclusive[0] or not float(p.lo).is_integer() else int(p.lo) + 1
    lo = max(lo, -(2**62))
    hi = math.floor(p.hi) if math.isfinite(p.hi) else math.inf
    first = _first_finite(f, lo, hi)
    reason = None
    if first is None:
        best = lo
    else:
        a, b, falling = _bracket(f, first, hi)
        best = b if falling else _golden(f, a, b)
        if falling:
            reason = (
                f"the information lost keeps falling as `{p.name}` grows (up to {p.name} = {best}): no finite {p.name} is best "
                f"(the data are more dispersed than any {fam.name}; its limit as {p.name} -> inf may fit, e.g. the Poisson "
                f"law for binom); the fit at {p.name} = {best} is returned"
            )
    fc, opt = seen.get(best) or (dataclasses.replace(fam, fixed={**fam.fixed, p.name: best}), None)
    opt = opt or optimise(fc)
    record = {
        "parameter": p.name,
        "value": best,
        "evaluated": sorted([c, v[1]["fun"]] for c, v in seen.items()),
        "method": "profile over the integers: bracket by doubling, golden section, neighbours checked",
        "reason": reason,
    }
    return fc, opt, record


def _first_finite(f, lo: int, hi) -> int | None:
    """The smallest c in [lo, hi] with f(c) finite (f finite on an interval), or None if none is found."""
    prev = None
    for k in range(_MAX_DOUBLINGS + 2):
        c = min(lo + (2 ** (k - 1) if k else 0), hi)
        if math.isfinite(f(c)):
            if prev is None:
                return c
            a, b = prev, c  # f(a) = inf, f(b) finite: bisect to the first finite value
            while b - a > 1:
                m = (a + b) // 2
                a, b = (a, m) if math.isfinite(f(m)) else (m, b)
            return b
        if c == hi:
            return None
        prev = c
    return None


def _bracket(f, first: int, hi) -> tuple[int, int, bool]:
    """(a, b, still falling): the minimum of f over [first, hi] lies in [a, b] (f unimodal where finite)."""
    if hi - first <= _SCAN:
        return first, int(hi), False
    pts = [first]
    step = 1
    while step <= 2**_MAX_DOUBLINGS:
        c = min(first + step, hi)
        pts.append(c)
        if not f(c) < f(pts[-2]):  # a rise, a plateau or an infinite value closes the bracket
            return (pts[-3] if len(pts) > 2 else first), c, False
        if c == hi:
            return pts[-2], c, False
        step *= 2
    return pts[-2], pts[-1], True


def _golden(f, a: int, b: int) -> int:
    """argmin of f on the integers of [a, b] by golden-section search, the last few values scanned."""
    r = (math.sqrt(5) - 1) / 2
    while b - a > 6:
        c = b - round(r * (b - a))
        d = a + round(r * (b - a))
        if f(c) <= f(d):
            b = d
        else:
            a = c
    best = min(range(a, b + 1), key=lambda c: (f(c), c))
    for c in (best - 1, best + 1):  # a plateau's neighbour
        if a <= c <= b and f(c) < f(best):
            best = c
    return best
