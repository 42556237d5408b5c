"""Fused single-pass NumPy kernels (numba), chosen by :mod:`kullback.discrete`.

Each kernel reads a C-contiguous ``(rows, n)`` pair of float32/float64 arrays
once and returns, per row, the sum of p, the sum of q, the number of negative
values seen and the sum of one per-element term (:func:`rows`), on the weights
as given or scaled by per-row factors (normalised by a first pass of sums).  Rows are cut into fixed
chunks of ``CHUNK`` elements that run in parallel; the per-chunk partial sums
are added afterwards in a fixed order, so the result does not depend on how
many threads ran.

Speed comes from a vectorisable logarithm (:func:`_vlog`, fdlibm's algorithm,
< 1 ulp) and branch-free loops.  Elements it cannot take (q = 0 under p > 0,
subnormals, infinities, NaN, negatives) send their whole chunk to an exact
element-by-element path on libm's ``log``; zeros of p are handled in the fast
loop (0 log 0 = 0).

Nothing here validates: :mod:`kullback.discrete` checks the sums, chooses the
scales and raises on bad input.  numba is imported only when a kernel is first
needed (:func:`available`, :func:`_compile`); kernels compile on first use and
are cached on disk by numba.
"""

from __future__ import annotations

import math
import threading

import numpy as np

__all__ = ["CHUNK", "MIN_SIZE", "available", "prescale", "rows", "normal_kl", "vlog"]

prange = range  # numba's prange once compiled (see _compile)
_f2i = _i2f = None  # bit casts between float64 and int64, numba intrinsics once compiled
CHUNK = 1 << 14  # elements per parallel work item: both arrays' chunk stay in L2 for the second loop
MIN_SIZE = 1 << 14  # below this many elements the array-API path is as fast
_BLOCK = 128  # elements per inner block of the row sums

_TINY = np.finfo(np.float64).tiny
_HUGE = np.finfo(np.float64).max

# Partial-sum slots in the (rows, chunks, 4) work array.
_SP, _SQ, _NNEG, _S = range(4)
_KINDS = {"sums": 0, "kl": 1, "entropy": 2, "cross": 3, "js": 4, "relent": 5}

# ---------------------------------------------------------------- vectorisable log
# log(x) for positive normal doubles: fdlibm's e_log.c (Sun Microsystems, 1993), in
# musl's formulation.  Reduce x = 2^k (1 + f) with 1 + f in [sqrt(2)/2, sqrt(2)); then
# log(1 + f) = f - hfsq + s (hfsq + R(s^2)), s = f / (2 + f), R a minimax polynomial.
# Error < 1 ulp (tests/test_kernels.py checks it against mpmath).
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10


def _vlog(x):  # pragma: no cover - compiled
    u = _f2i(x)
    hx = (u >> 32) + (0x3FF00000 - 0x3FE6A09E)
    k = (hx >> 20) - 0x3FF
    hx = (hx & 0x000FFFFF) + 0x3FE6A09E
    f = _i2f((hx << 32) | (u & 0xFFFFFFFF)) - 1.0
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    r = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7))) + w * (_LG2 + w * (_LG4 + w * _LG6))
    dk = np.float64(k)
    return s * (hfsq + r) + dk * _LN2_LO - hfsq + f + dk * _LN2_HI


def _normal(x):  # pragma: no cover - compiled
    return (x >= _TINY) & (x <= _HUGE)


# ---------------------------------------------------------------- exact element terms
# Every term is of the values x = a sa and y = b sb: the weights as given (sa = sb = 1) or
# normalised, sa = 1 / sum a, a normal number (discrete.py prescales rows whose sums
# overflow or are subnormal).  One product, never reassociated with another factor: the
# loops' fastmath may hoist a product of per-row constants, and 2^-64 / sum would be subnormal.


def _log_scaled(a, s):  # pragma: no cover - compiled
    """log(a s) for a > 0 from its factors, for when a s leaves the normal range."""
    return math.log(a) + math.log(s)


def _term(kind, a, b, sa, sb):  # pragma: no cover - compiled
    """The exact per-element term (libm log), for chunks the fast loop cannot take."""
    if kind == 4:  # 2*JS: x log(2x / (x + y)) + y log(2y / (x + y)); the ratios lie in [x, 2]
        x = a * sa
        y = b * sb
        t = x + y
        m = 0.5 * t
        if _normal(m) and (x == 0.0 or (_normal(x) and _normal(x / m))) and (y == 0.0 or (_normal(y) and _normal(y / m))):
            return _relent_m(x, m, math.log(x / m) if x > 0.0 else 0.0) + _relent_m(y, m, math.log(y / m) if y > 0.0 else 0.0)
        s = 0.0  # subnormal: m = t/2 would round; the ratios lie in [x, 2]
        if x > 0.0:
            s += x * math.log((x + x) / t)
        if y > 0.0:
            s += y * math.log((y + y) / t)
        return s
    if kind == 5 and not a > 0.0:  # x log(x/y) - x + y at x = 0
        return b * sb
    if not a > 0.0:
        return 0.0
    if kind == 1 or kind == 3 or kind == 5:
        if b == 0.0:  # support mismatch: KL is +inf, sum p log q is -inf
            return -math.inf if kind == 3 else math.inf
        y = b * sb
    x = a * sa
    if kind == 1 or kind == 5:  # KL: x log(x / y), one logarithm of the ratio where it is a normal number
        r = x / y
        if _normal(x) and _normal(y) and _normal(r):
            t = x * (math.log(r) + _ratio_fix(x, y, r))
        else:
            t = x * (_log_scaled(a, sa) - _log_scaled(b, sb))
        return t + (y - x) if kind == 5 else t
    if kind == 2:  # entropy: x log x
        return x * (math.log(x) if _normal(x) else _log_scaled(a, sa))
    if kind == 3:  # cross-entropy: x log y
        return x * (math.log(y) if _normal(y) else _log_scaled(b, sb))
    return 0.0


def _ratio_fix(x, y, r):  # pragma: no cover - compiled
    """log(x/y) - log(r) for r = fl(x/y) within a factor 1.5 of 1, else 0.

    Near 1 the rounding of r (eps) is all of log(x/y)'s error, and it is first order in what the divergence sums:
    p log(p/q) for p, q a relative 1e-6 apart lost 1e-5 of D (1e-4 for JS). With d = (x - y)/y (x - y exact by
    Sterbenz's lemma, one rounding) and r - 1 (exact), log(x/y) = log r + log1p((x/y - r)/r) = log r + (d - (r - 1))/r
    to eps |log(x/y)|: the error of the log ratio becomes relative, as that of log1p (Goldberg 1991, ACM Comput.
    Surv. 23(1), Theorem 4, the same correction)."""
    d = (x - y) / y
    c = (d - (r - 1.0)) / r
    return c if abs(d) < 0.5 else 0.0


def _relent_m(x, m, lxm):  # pragma: no cover - compiled
    """x log(x/m) - x + m >= 0 (m for x = 0), lxm = log(fl(x/m)) or 0; m = (x + y)/2 as rounded. Summed over x and y
    it is 2 JS's term plus x + y - 2m, the rounding of m, which enters it only at second order (the sum's derivative in
    m is 2 - (x + y)/m = 0), where x log(2x/(x + y)) + y log(2y/(x + y)) carries that rounding at first order."""
    if x == 0.0:
        return m
    return x * (lxm + _ratio_fix(x, m, x / m)) + (m - x)


# ---------------------------------------------------------------- fast element terms
# (term, ok): branch-free, selects only.  ok is False where only the exact path is right;
# a zero weight (0 log 0 = 0) is taken by the fast loop.


def _ft_kl(a, b, sa, sb):  # pragma: no cover - compiled
    x = a * sa
    y = b * sb
    r = x / y
    ok = _normal(x) & _normal(y) & _normal(r)
    rr = r if ok else 1.0
    return x * (_vlog(rr) + _ratio_fix(x, y, rr)), ok | (a == 0.0)


def _ft_relent(a, b, sa, sb):  # pragma: no cover - compiled
    """x log(x/y) - x + y >= 0: the KL term of normalised values (sum x = sum y = 1 makes the added y - x sum to 0
    exactly; the rounded x and y do not, and their sums' eps-sized misfit would otherwise be all of a small D)."""
    t, ok = _ft_kl(a, b, sa, sb)
    return t + (b * sb - a * sa), ok


def _ft_entropy(a, b, sa, sb):  # pragma: no cover - compiled
    x = a * sa
    ok = _normal(x)
    return x * _vlog(x if ok else 1.0), ok | (a == 0.0)


def _ft_cross(a, b, sa, sb):  # pragma: no cover - compiled
    x = a * sa
    y = b * sb
    ok = _normal(x) & _normal(y)
    return x * _vlog(y if ok else 1.0), ok | (a == 0.0)


def _ft_js(a, b, sa, sb):  # pragma: no cover - compiled
    """2 JS's term as x log(x/m) - x + m + y log(y/m) - y + m (see _relent_m), m = (x + y)/2."""
    x = a * sa
    y = b * sb
    m = 0.5 * (x + y)
    rx = x / m
    ry = y / m
    okm = _normal(m)
    okx = _normal(x) & _normal(rx) & okm
    oky = _normal(y) & _normal(ry) & okm
    v = _relent_m(x, m, _vlog(rx if okx else 1.0)) + _relent_m(y, m, _vlog(ry if oky else 1.0))
    return v, (okx | ((x == 0.0) & okm)) & (oky | ((y == 0.0) & okm))


# ---------------------------------------------------------------- chunk loops
# Every sum is blocked: BLOCK elements into a partial (vectorised), the partials in order,
# so rounding grows as (BLOCK + CHUNK/BLOCK) eps instead of CHUNK eps.
# One loop per kind, because a branch on the kind inside the element loop stops LLVM
# from vectorising it, and numba cannot cache a loop specialised on a function argument.


def _chunk_sums(P, Q, r, lo, hi):  # pragma: no cover - compiled
    """Row sums; the normalised terms inherit their relative error at first order."""
    sp = 0.0
    sq = 0.0
    nneg = 0
    for blo in range(lo, hi, _BLOCK):
        bp = 0.0
        bq = 0.0
        for i in range(blo, min(hi, blo + _BLOCK)):
            a = np.float64(P[r, i])
            b = np.float64(Q[r, i])
            bp += a
            bq += b
            nneg += (a < 0.0) | (b < 0.0)
        sp += bp
        sq += bq
    return sp, sq, nneg


def _chunk_kl(P, Q, r, lo, hi, sa, sb):  # pragma: no cover - compiled
    s = 0.0
    nbad = 0
    for blo in range(lo, hi, _BLOCK):
        bs = 0.0
        for i in range(blo, min(hi, blo + _BLOCK)):
            t, ok = _ft_kl(np.float64(P[r, i]), np.float64(Q[r, i]), sa, sb)
            bs += t if ok else 0.0
            nbad += not ok
        s += bs
    return s, nbad


def _chunk_relent(P, Q, r, lo, hi, sa, sb):  # pragma: no cover - compiled
    s = 0.0
    nbad = 0
    for blo in range(lo, hi, _BLOCK):
        bs = 0.0
        for i in range(blo, min(hi, blo + _BLOCK)):
            t, ok = _ft_relent(np.float64(P[r, i]), np.float64(Q[r, i]), sa, sb)
            bs += t if ok else 0.0
            nbad += not ok
        s += bs
    return s, nbad


def _chunk_entropy(P, Q, r, lo, hi, sa, sb):  # pragma: no cover - compiled
    s = 0.0
    nbad = 0
    for blo in range(lo, hi, _BLOCK):
        bs = 0.0
        for i in range(blo, min(hi, blo + _BLOCK)):
            t, ok = _ft_entropy(np.float64(P[r, i]), 1.0, sa, sb)
            bs += t if ok else 0.0
            nbad += not ok
        s += bs
    return s, nbad


def _chunk_cross(P, Q, r, lo, hi, sa, sb):  # pragma: no cover - compiled
    s = 0.0
    nbad = 0
    for blo in range(lo, hi, _BLOCK):
        bs = 0.0
        for i in range(blo, min(hi, blo + _BLOCK)):
            t, ok = _ft_cross(np.float64(P[r, i]), np.float64(Q[r, i]), sa, sb)
            bs += t if ok else 0.0
            nbad += not ok
        s += bs
    return s, nbad


def _chunk_js(P, Q, r, lo, hi, sa, sb):  # pragma: no cover - compiled
    s = 0.0
    nbad = 0
    for blo in range(lo, hi, _BLOCK):
        bs = 0.0
        for i in range(blo, min(hi, blo + _BLOCK)):
            t, ok = _ft_js(np.float64(P[r, i]), np.float64(Q[r, i]), sa, sb)
            bs += t if ok else 0.0
            nbad += not ok
        s += bs
    return s, nbad


def _partials(kind, P, Q, SA, SB, out):  # pragma: no cover - compiled
    rows, n = P.shape
    nch = out.shape[1]
    for w in prange(rows * nch):
        r = w // nch
        c = w % nch
        lo = c * CHUNK
        hi = min(n, lo + CHUNK)
        sa = SA[r]
        sb = SB[r]
        sp, sq, nneg = _chunk_sums(P, Q, r, lo, hi)
        if kind == 1:
            s, nbad = _chunk_kl(P, Q, r, lo, hi, sa, sb)
        elif kind == 2:
            s, nbad = _chunk_entropy(P, Q, r, lo, hi, sa, sb)
        elif kind == 3:
            s, nbad = _chunk_cross(P, Q, r, lo, hi, sa, sb)
        elif kind == 4:
            s, nbad = _chunk_js(P, Q, r, lo, hi, sa, sb)
        elif kind == 5:
            s, nbad = _chunk_relent(P, Q, r, lo, hi, sa, sb)
        else:
            s, nbad = 0.0, 0
        if nbad > 0:  # rare: redo this chunk exactly, element by element (blocked sums, as above)
            s = 0.0
            for blo in range(lo, hi, _BLOCK):
                bs = 0.0
                for i in range(blo, min(hi, blo + _BLOCK)):
                    bs += _term(kind, np.float64(P[r, i]), np.float64(Q[r, i]), sa, sb)
                s += bs
        out[r, c, _SP] = sp
        out[r, c, _SQ] = sq
        out[r, c, _NNEG] = nneg
        out[r, c, _S] = s


# ---------------------------------------------------------------- KL between batches of normals
# D(N(mp, sp^2) || N(mq, sq^2)) = (r^2 - 1 - 2 log r + z^2) / 2, r = sp/sq, z = (mp - mq)/sq,
# as d^2 + 2 (d - log1p(d)) + z^2 with d = (sp - sq)/sq: non-negative terms, nothing cancels
# (distributions/_closed.py computes the same expression for the other backends).


def _chunk_normal(mp, sp, mq, sq, out, lo, hi):  # pragma: no cover - compiled
    """Fast loop (vectorisable log of the ratio); returns how many ratios left the normal range."""
    bad = 0
    for i in range(lo, hi):
        a = np.float64(sp[i])
        b = np.float64(sq[i])
        d = (a - b) / b
        u = 1.0 + d
        x = a / b
        near = d >= -0.5
        y = u if near else x
        bad += not ((y >= _TINY) & (y <= _HUGE))
        # log r = log1p(d) by Goldberg's correction of log(1 + d), or log(a/b) far from 1
        lr = _vlog(y) - (((u - 1.0) - d) / u if near else 0.0)
        z = (np.float64(mp[i]) - np.float64(mq[i])) / b
        out[i] = 0.5 * (d * d + 2.0 * _g(d, lr) + z * z)
    return bad


def _g(d, lr):  # pragma: no cover - compiled
    """d - log1p(d) given lr = log1p(d): a series for |d| < 1e-3 (as distributions/_closed.py)."""
    ds = d if abs(d) < 1e-3 else 0.0
    series = ds * ds * (0.5 + ds * (-1.0 / 3 + ds * (0.25 + ds * (-0.2 + ds * (1.0 / 6 - ds / 7)))))
    return series if abs(d) < 1e-3 else d - lr


def _chunk_normal_exact(mp, sp, mq, sq, out, lo, hi):  # pragma: no cover - compiled
    for i in range(lo, hi):
        a = np.float64(sp[i])
        b = np.float64(sq[i])
        x = a / b
        d = (a - b) / b
        if d >= -0.5 and d <= _HUGE:
            lr = math.log1p(d)
        elif (x >= _TINY) & (x <= _HUGE):
            lr = math.log(x)
        else:
            lr = math.log(a) - math.log(b)
        z = (np.float64(mp[i]) - np.float64(mq[i])) / b
        out[i] = 0.5 * (d * d + 2.0 * _g(d, lr) + z * z)


def _normal_kl(mp, sp, mq, sq, out):  # pragma: no cover - compiled
    n = out.shape[0]
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        if _chunk_normal(mp, sp, mq, sq, out, lo, hi) > 0:
            _chunk_normal_exact(mp, sp, mq, sq, out, lo, hi)


def _vlog_array(x, out):  # pragma: no cover - compiled
    for i in range(x.shape[0]):
        out[i] = _vlog(x[i])


# ---------------------------------------------------------------- compilation, on first use
# numba (and llvmlite) take ~0.3 s to import, so nothing here imports them until a kernel
# is needed: `import kullback` and small inputs never pay for it.

_STATE = {}  # "available": bool, "compiled": bool


def available() -> bool:
    """Whether numba imports here (tried once, on first call; a missing or broken numba must
    not break the library: the generic path takes everything)."""
    if "available" not in _STATE:
        try:
            import llvmlite  # noqa: F401
            import numba  # noqa: F401
        except Exception:  # pragma: no cover - exercised only where numba cannot import
            _STATE["available"] = False
        else:
            _STATE["available"] = True
    return _STATE["available"]


def __getattr__(name):
    # AVAILABLE is evaluated lazily (module __getattr__, PEP 562) so that importing this module
    # does not import numba; it stays a plain attribute for callers and tests.
    if name == "AVAILABLE":
        return available()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_LOCK = threading.Lock()


def _compile():
    """Wrap the kernels in numba's decorators (compiled on first call, cached on disk), once per process: under
    a lock, since two threads' first calls at once would wrap a kernel twice (numba refuses: TypeError)."""
    if _STATE.get("compiled"):
        return
    with _LOCK:
        if not _STATE.get("compiled"):
            _compile_unlocked()


def _compile_unlocked():
    if not available():  # pragma: no cover - callers check available() first
        raise RuntimeError("numba is not importable; the fused kernels are unavailable")
    from llvmlite import ir
    from numba import njit, prange, types
    from numba.extending import intrinsic

    g = globals()

    @intrinsic
    def _f2i(typingctx, x):  # pragma: no cover - compiled
        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], ir.IntType(64))

        return types.int64(types.float64), codegen

    @intrinsic
    def _i2f(typingctx, x):  # pragma: no cover - compiled
        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], ir.DoubleType())

        return types.float64(types.int64), codegen

    g["_f2i"], g["_i2f"], g["prange"] = _f2i, _i2f, prange
    # error_model="numpy": x / 0 gives inf as in IEEE arithmetic, not ZeroDivisionError.
    strict = njit(cache=True, error_model="numpy")
    for name in (
        "_vlog",
        "_normal",
        "_log_scaled",
        "_term",
        "_vlog_array",
        "_ratio_fix",
        "_relent_m",
        "_ft_kl",
        "_ft_relent",
        "_ft_entropy",
        "_ft_cross",
        "_g",
        "_chunk_normal",
        "_chunk_normal_exact",
    ):
        g[name] = strict(g[name])
    # Too large for LLVM to inline on its own; inlined by numba instead (its few
    # operations may then be reassociated with the loop; the log stays strict).
    g["_ft_js"] = njit(cache=True, error_model="numpy", inline="always")(g["_ft_js"])
    # The loops may reassociate their own sums (so they vectorise); the log and the terms
    # above are separate functions, inlined by LLVM with their own strict arithmetic.
    loop = njit(cache=True, error_model="numpy", fastmath={"reassoc"})
    for name in ("_chunk_sums", "_chunk_kl", "_chunk_relent", "_chunk_entropy", "_chunk_cross", "_chunk_js"):
        g[name] = loop(g[name])
    g["_partials"] = njit(parallel=True, cache=True, nogil=True, error_model="numpy")(g["_partials"])
    g["_normal_kl"] = njit(parallel=True, cache=True, nogil=True, error_model="numpy")(g["_normal_kl"])
    _STATE["compiled"] = True


def prescale(sums):
    """Per row, a power of two c such that sum(a c) and its reciprocal are normal numbers: 1 for
    ordinary sums, 2^-64 where the sum overflows (n max / 2^64 is finite and far below 1/tiny for
    n < 2^40; weights below 2^-958 turn subnormal, and weigh < 1e-596 against such a sum), 2^600
    where it is below 2^-900 (scaling up is exact, and cannot overflow)."""
    sums = np.asarray(sums, dtype=np.float64)
    c = np.ones_like(sums)
    c[~(sums <= 2.0**1000)] = 2.0**-64
    c[sums < 2.0**-900] = 2.0**600
    return c


def rows(kind, P, Q, scales=None):
    """Per row of C-contiguous (rows, n) arrays: (sum a, sum b, number of negatives,
    sum of the kind's term), reading each array once.

    kind is "sums" (no term), "kl" (x log(x/y)), "relent" (x log(x/y) - x + y, for normalised values),
    "entropy" (x log x), "cross" (x log y) or "js" (x log(2x/(x+y)) + y log(2y/(x+y))), with x = a sa and y = b sb;
    scales = (sa, sb) per row, normal numbers; all ones (the weights as given) by default.
    """
    _compile()
    nrows, n = P.shape
    nch = max(1, -(-n // CHUNK))
    if scales is None:
        ones = np.ones(nrows)
        scales = (ones, ones)
    scales = [np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=np.float64), (nrows,))) for x in scales]
    out = np.empty((nrows, nch, 4))
    _partials(_KINDS[kind], P, Q, *scales, out)
    # Fixed-order reduction of the chunk partials: thread-count independent.
    sums = out.sum(axis=1)
    return sums[:, _SP], sums[:, _SQ], sums[:, _NNEG], sums[:, _S]


def normal_kl(mp, sp, mq, sq):
    """Elementwise D(N(mp, sp^2) || N(mq, sq^2)) over broadcast arrays, in one parallel pass.

    Computes in float64; the result is float32 when every input is float32, else float64.
    """
    xs = [np.asarray(a) for a in (mp, sp, mq, sq)]
    dtype = np.float32 if all(x.dtype == np.float32 for x in xs) else np.float64
    arrays = np.broadcast_arrays(*(x.astype(dtype, copy=False) for x in xs))
    shape = arrays[0].shape
    flat = [np.ascontiguousarray(a).reshape(-1) for a in arrays]
    out = np.empty(flat[0].shape[0], dtype=dtype)
    _compile()
    _normal_kl(*flat, out)
    return out.reshape(shape)


def vlog(x):
    """The kernels' vectorisable log over an array of positive normal doubles (for tests)."""
    x = np.ascontiguousarray(x, dtype=np.float64).ravel()
    out = np.empty_like(x)
    _compile()
    _vlog_array(x, out)
    return out
