"""Independent references: log-densities written in mpmath, KL by mpmath quadrature / series.

Nothing here uses scipy, torch or kullback: the densities are typed in from
their textbook definitions.
"""

import math

import mpmath as mp

mp.mp.dps = 30
inf = mp.inf
KINKS = set()  # points where a log-density built here is not smooth (Laplace's loc): quadrature splits there


def _normal(mu, s):
    return lambda x: -mp.log(s) - 0.5 * mp.log(2 * mp.pi) - 0.5 * ((x - mu) / s) ** 2, (-inf, inf)


def logpdf(family, **k):
    """(log-density, (lo, hi)) of a canonical family."""
    m = {key: mp.mpf(v) for key, v in k.items()}
    if family == "normal":
        return _normal(m["loc"], m["scale"])
    if family == "exponential":
        return (lambda x: mp.log(m["rate"]) - m["rate"] * x), (0, inf)
    if family == "gamma":
        a, b = m["concentration"], m["rate"]
        return (lambda x: a * mp.log(b) - mp.loggamma(a) + (a - 1) * mp.log(x) - b * x), (0, inf)
    if family == "beta":
        a, b = m["a"], m["b"]
        return (lambda x: (a - 1) * mp.log(x) + (b - 1) * mp.log(1 - x) - mp.log(mp.beta(a, b))), (0, 1)
    if family == "laplace":
        KINKS.add(m["loc"])
        return (lambda x: -mp.log(2 * m["scale"]) - abs(x - m["loc"]) / m["scale"]), (-inf, inf)
    if family == "uniform":
        return (lambda x: -mp.log(m["high"] - m["low"])), (m["low"], m["high"])
    if family == "gumbel":
        mu, s = m["loc"], m["scale"]
        # below the mode the density is doubly exponentially small: -inf past e^-(10^5) spares mpmath huge exponents
        return (lambda x: -inf if -(x - mu) / s > 1e5 else -mp.log(s) - (x - mu) / s - mp.exp(-(x - mu) / s)), (-inf, inf)
    if family == "halfnormal":
        s = m["scale"]
        return (lambda x: 0.5 * mp.log(2 / mp.pi) - mp.log(s) - x**2 / (2 * s**2)), (0, inf)
    if family == "lognormal":
        mu, s = m["mu"], m["sigma"]
        return (lambda x: -mp.log(x * s) - 0.5 * mp.log(2 * mp.pi) - (mp.log(x) - mu) ** 2 / (2 * s**2)), (0, inf)
    if family == "pareto":
        xm, a = m["scale"], m["alpha"]
        return (lambda x: mp.log(a) + a * mp.log(xm) - (a + 1) * mp.log(x)), (xm, inf)
    if family == "cauchy":
        mu, g = m["loc"], m["scale"]
        return (lambda x: -mp.log(mp.pi * g) - mp.log(1 + ((x - mu) / g) ** 2)), (-inf, inf)
    if family == "t":
        nu, mu, s = m["df"], m["loc"], m["scale"]
        c = mp.loggamma((nu + 1) / 2) - mp.loggamma(nu / 2) - 0.5 * mp.log(nu * mp.pi) - mp.log(s)
        return (lambda x: c - (nu + 1) / 2 * mp.log(1 + ((x - mu) / s) ** 2 / nu)), (-inf, inf)
    if family == "levy":  # standard Levy: x^(-3/2) e^(-1/(2x)) / sqrt(2 pi) on (0, inf)
        return (lambda x: -0.5 * mp.log(2 * mp.pi) - 1.5 * mp.log(x) - 1 / (2 * x)), (0, inf)
    if family == "halfcauchy":
        return (lambda x: mp.log(2 / mp.pi) - mp.log(1 + x * x)), (0, inf)
    if family == "logistic":
        mu, s = m["loc"], m["scale"]
        return (lambda x: -abs(x - mu) / s - 2 * mp.log1p(mp.exp(-abs(x - mu) / s)) - mp.log(s)), (-inf, inf)
    if family == "vonmises":  # on (loc - pi, loc + pi]; integrate over one period
        mu, k = m["loc"], m["concentration"]
        return (lambda x: k * mp.cos(x - mu) - mp.log(2 * mp.pi * mp.besseli(0, k))), (-mp.pi, mp.pi)
    if family == "weibull":
        c, s = m["c"], m["scale"]
        return (lambda x: mp.log(c / s) + (c - 1) * mp.log(x / s) - (x / s) ** c), (0, inf)
    raise KeyError(family)


def logpmf(family, **k):
    m = {key: mp.mpf(v) for key, v in k.items()}
    if family == "poisson":
        lam = m["rate"]
        return (lambda n: n * mp.log(lam) - lam - mp.loggamma(n + 1)), (0, inf)
    if family == "bernoulli":
        p = m["p"]
        return (lambda n: mp.log(p) if n == 1 else mp.log(1 - p)), (0, 1)
    if family == "binomial":
        N, p = m["n"], m["p"]
        return (lambda n: mp.log(mp.binomial(N, n)) + n * mp.log(p) + (N - n) * mp.log(1 - p)), (0, int(N))
    if family == "geometric":
        p, s = m["p"], int(m["start"])
        return (lambda n: mp.log(p) + (n - s) * mp.log(1 - p)), (s, inf)
    if family == "nbinom":  # failures before the r-th success, success probability p (scipy's nbinom)
        r, p = m["n"], m["p"]
        return (lambda n: mp.loggamma(n + r) - mp.loggamma(r) - mp.loggamma(n + 1) + r * mp.log(p) + n * mp.log(1 - p)), (0, inf)
    raise KeyError(family)


def kl_continuous(p, q):
    (lp, (a, b)), (lq, (c, d)) = p, q
    if a < c or b > d:
        return inf

    def f(x):
        a = lp(x)
        if a < -1e5:  # p(x) < 1e-43000: nothing at 30 digits (q's log-density is at most polynomially larger)
            return mp.mpf(0)
        return mp.exp(a) * (a - lq(x))

    # split at a few points so that the tanh-sinh rule sees smooth pieces
    inner = sorted({mp.mpf(x) for x in (-1e8, -1e4, -100, -10, -1, 0, 0.01, 0.1, 1, 10, 100, 1e4, 1e8)} | KINKS)
    pts = [a, *(x for x in inner if a < x < b), b]
    return mp.quad(f, pts)


def kl_discrete(p, q):
    (lp, (a, b)), (lq, (c, d)) = p, q
    if a < c or b > d:
        return inf
    f = lambda n: mp.exp(lp(n)) * (lp(n) - lq(n))  # noqa: E731
    if b != inf:
        return mp.fsum(f(n) for n in range(int(a), int(b) + 1))
    return mp.nsum(f, [a, inf])


# ---------------------------------------------------------------- same-family closed forms (issue 12)
#
# D(p||q) for two laws of one family, in the canonical parameters of kullback.distributions._canonical,
# typed in from the textbook definitions (each derived as E_p[log p - log q] from the log-densities
# above; sources beside each) with no regrouping for accuracy: mpmath's working precision does that
# work instead (``same_kl`` raises it until two precisions agree).  Vector parameters are lists.


def _lin(x):
    return [mp.mpf(v) for v in x]


def _lgamma(z):
    """log Gamma(z); for z < 1e-10 by its Taylor series -log z - gamma z + sum_k zeta(k) (-z)^k / k
    (A&S 6.1.33), which mpmath's general method evaluates slowly at the hundreds of digits tiny z needs."""
    if z >= mp.mpf(10) ** -10:
        return mp.loggamma(z)
    out, k, tol = -mp.log(z) - mp.euler * z, 2, mp.mpf(2) ** (-mp.mp.prec - 10)
    while True:
        t = mp.zeta(k) * (-z) ** k / k
        out += t
        if abs(t) < tol:
            return out
        k += 1


def _digamma(z):
    """psi(z); for z < 1e-10 by -1/z - gamma + sum_k (-1)^k zeta(k) z^(k-1) (A&S 6.3.14)."""
    if z >= mp.mpf(10) ** -10:
        return mp.digamma(z)
    out, k, tol = -1 / z - mp.euler, 2, mp.mpf(2) ** (-mp.mp.prec - 10) / z
    while True:
        t = (-1) ** k * mp.zeta(k) * z ** (k - 1)
        out += t
        if abs(t) < tol:
            return out
        k += 1


def _same_at(family, P, Q):
    """The textbook closed form at the current working precision (mp.inf where p's support leaves q's)."""
    f = family
    if f == "normal":  # Penny (2001) eq. 2
        mp_, sp, mq, sq = P["loc"], P["scale"], Q["loc"], Q["scale"]
        return mp.log(sq / sp) + (sp**2 + (mp_ - mq) ** 2) / (2 * sq**2) - mp.mpf(1) / 2
    if f == "halfnormal":
        return mp.log(Q["scale"] / P["scale"]) + P["scale"] ** 2 / (2 * Q["scale"] ** 2) - mp.mpf(1) / 2
    if f == "lognormal":
        return _same_at("normal", {"loc": P["mu"], "scale": P["sigma"]}, {"loc": Q["mu"], "scale": Q["sigma"]})
    if f == "exponential":  # E_p[log lp - lp x - log lq + lq x], E x = 1/lp
        return mp.log(P["rate"] / Q["rate"]) + Q["rate"] / P["rate"] - 1
    if f == "gamma":  # Penny (2001) eq. 6 (rate form); E log x = psi(k) - log b, E x = k/b
        kp, bp, kq, bq = P["concentration"], P["rate"], Q["concentration"], Q["rate"]
        elog = _digamma(kp) - mp.log(bp)
        lp = kp * mp.log(bp) - _lgamma(kp) + (kp - 1) * elog - kp
        lq = kq * mp.log(bq) - _lgamma(kq) + (kq - 1) * elog - bq * kp / bp
        return lp - lq
    if f in ("beta", "dirichlet"):  # E log x_i = psi(a_i) - psi(a0); log density sum (a_i - 1) log x_i - log B(a)
        ap = [P["a"], P["b"]] if f == "beta" else P["alpha"]
        aq = [Q["a"], Q["b"]] if f == "beta" else Q["alpha"]
        a0 = mp.fsum(ap)
        elog = [_digamma(a) - _digamma(a0) for a in ap]

        def lb(a):
            return mp.fsum(_lgamma(x) for x in a) - _lgamma(mp.fsum(a))

        return -lb(ap) + lb(aq) + mp.fsum((x - y) * e for x, y, e in zip(ap, aq, elog))
    if f == "laplace":  # E_p|x - mq| = |d| + bp exp(-|d|/bp)
        d = abs(P["loc"] - Q["loc"])
        bp, bq = P["scale"], Q["scale"]
        return mp.log(bq / bp) - 1 + (d + bp * mp.exp(-d / bp)) / bq
    if f == "uniform":
        if P["low"] < Q["low"] or P["high"] > Q["high"]:
            return mp.inf
        return mp.log((Q["high"] - Q["low"]) / (P["high"] - P["low"]))
    if f == "gumbel":  # x = mp + sp z, z standard Gumbel: E z = gamma, E e^{-t z} = G(1 + t)
        r, d = P["scale"] / Q["scale"], (P["loc"] - Q["loc"]) / Q["scale"]
        lp = -mp.log(P["scale"]) - mp.euler - 1
        lq = -mp.log(Q["scale"]) - (d + r * mp.euler) - mp.exp(-d) * mp.gamma(1 + r)
        return lp - lq
    if f == "pareto":  # E log x = log xm + 1/a
        if P["scale"] < Q["scale"]:
            return mp.inf
        ap, aq = P["alpha"], Q["alpha"]
        elog = mp.log(P["scale"]) + 1 / ap
        lp = mp.log(ap) + ap * mp.log(P["scale"]) - (ap + 1) * elog
        lq = mp.log(aq) + aq * mp.log(Q["scale"]) - (aq + 1) * elog
        return lp - lq
    if f == "cauchy":  # Chyzak & Nielsen (2019), eq. 1
        gp, gq, d = P["scale"], Q["scale"], P["loc"] - Q["loc"]
        return mp.log(((gp + gq) ** 2 + d**2) / (4 * gp * gq))
    if f == "weibull":  # E log x = log l - gamma/k; E (x/l')^k' = (l/l')^k' G(1 + k'/k); E (x/l)^k = 1
        kp, lp_, kq, lq_ = P["concentration"], P["scale"], Q["concentration"], Q["scale"]
        elog = mp.log(lp_) - mp.euler / kp
        a = mp.log(kp) - kp * mp.log(lp_) + (kp - 1) * elog - 1
        b = mp.log(kq) - kq * mp.log(lq_) + (kq - 1) * elog - (lp_ / lq_) ** kq * mp.gamma(1 + kq / kp)
        return a - b
    if f == "vonmises":  # E_p cos(x - m) = A(kp) cos(mp - m), A = I1/I0 (Mardia & Jupp 2000, 3.5.4)
        kp, kq = P["concentration"], Q["concentration"]
        A = mp.besseli(1, kp) / mp.besseli(0, kp)
        return mp.log(mp.besseli(0, kq) / mp.besseli(0, kp)) + A * (kp - kq * mp.cos(P["loc"] - Q["loc"]))
    if f == "cbernoulli":  # Loaiza-Ganem & Cunningham (2019): C = 2 atanh(1 - 2l)/(1 - 2l), E x = l/(2l - 1) + 1/(2 atanh(1 - 2l))
        lp, lq = P["lam"], Q["lam"]

        def logc(lam):
            return mp.log(2) if lam == mp.mpf(1) / 2 else mp.log(2 * mp.atanh(1 - 2 * lam) / (1 - 2 * lam))

        mean = mp.mpf(1) / 2 if lp == mp.mpf(1) / 2 else lp / (2 * lp - 1) + 1 / (2 * mp.atanh(1 - 2 * lp))
        return logc(lp) - logc(lq) + mean * mp.log(lp / lq) + (1 - mean) * mp.log((1 - lp) / (1 - lq))
    if f == "poisson":
        lp, lq = P["rate"], Q["rate"]
        if lq == 0:
            return mp.mpf(0) if lp == 0 else mp.inf
        return (lp * mp.log(lp / lq) if lp > 0 else 0) - lp + lq
    if f == "bernoulli":
        return _bern(P["p"], Q["p"])
    if f == "binomial":
        if P["n"] > Q["n"]:
            return mp.inf
        return P["n"] * _bern(P["p"], Q["p"])
    if f == "geometric":  # failures: p (1 - p)^k, E k = (1 - p)/p
        a, b = P["p"], Q["p"]
        if a == 1:
            return -mp.log(b)
        if b == 1:
            return mp.inf
        return mp.log(a / b) + (1 - a) / a * mp.log((1 - a) / (1 - b))
    if f == "categorical":
        p, q = P["probs"], Q["probs"]
        sp, sq = mp.fsum(p), mp.fsum(q)
        out = mp.mpf(0)
        for x, y in zip(p, q):
            if x == 0:
                continue
            if y == 0:
                return mp.inf
            out += x / sp * mp.log((x / sp) / (y / sq))
        return out
    if f == "mvn":  # Penny (2001) eq. 2, with S = L L'
        Lp, Lq = mp.matrix(P["scale_tril"]), mp.matrix(Q["scale_tril"])
        Sp, Sq = Lp * Lp.T, Lq * Lq.T
        d = Sp.rows
        diff = mp.matrix(Q["loc"]) - mp.matrix(P["loc"])
        Sqi = mp.inverse(Sq)
        tr = mp.fsum((Sqi * Sp)[i, i] for i in range(d))
        maha = (diff.T * Sqi * diff)[0, 0]
        return (tr + maha - d + mp.log(mp.det(Sq)) - mp.log(mp.det(Sp))) / 2
    raise KeyError(family)


def _bern(a, b):
    out = mp.mpf(0)
    for x, y in ((a, b), (1 - a, 1 - b)):
        if x == 0:
            continue
        if y == 0:
            return mp.inf
        out += x * mp.log(x / y)
    return out


def _convert(v):
    if isinstance(v, (list, tuple)):
        return [_convert(x) for x in v]
    return mp.mpf(v)


def _magnitude(P):
    """Decimal magnitude of the parameters: the digits that lgamma/digamma/besseli of them cancel."""
    out = 0
    for v in P.values():
        vs = v if isinstance(v, (list, tuple)) else [v]
        for x in vs:
            if isinstance(x, (list, tuple)):
                xs = x
            else:
                xs = [x]
            for y in xs:
                if y != 0:
                    out = max(out, int(abs(math.log10(abs(y)))))
    return out


def _same_prec(family, P, Q, dps):
    with mp.workdps(dps):
        return +_same_at(family, {k: _convert(v) for k, v in P.items()}, {k: _convert(v) for k, v in Q.items()})


_SAME_CACHE: dict = {}


def same_kl(family, P, Q):
    """D(p||q) in mpmath for two laws of one family (canonical parameters as Python floats / lists),
    certified by two working precisions agreeing to 1e-30 relative (starting at 60 digits plus half the
    parameters' largest decimal magnitude M, what lgamma/digamma of them may cancel; then 40 + M/2 more
    until two agree; a zero counts only for identical parameters)."""
    key = (family, repr(sorted(P.items())), repr(sorted(Q.items())))
    if key in _SAME_CACHE:
        return _SAME_CACHE[key]
    mag = max(_magnitude(P), _magnitude(Q))
    # von Mises at tiny concentrations: log I0(k) = k^2/4 + ... needs 2 M digits beside 1 (at 60 + M/2 both
    # precisions agreed on log I0(kq)/I0(kp) = 0, i.e. 5e-198 for the true 2.5e-201 at k ~ 1e-97)
    dps = 60 + (2 * mag if family == "vonmises" else mag // 2)
    if family == "binomial" and P.get("n") == Q.get("n") == 0:  # one point mass each: D = 0 whatever p (even p = 1)
        return mp.mpf(0)
    if family == "categorical" and _same_law(P["probs"], Q["probs"]):  # exactly proportional probabilities: D = 0
        return mp.mpf(0)
    a = _same_prec(family, P, Q, dps)
    while True:
        step = 40 + mag // 2
        b = _same_prec(family, P, Q, dps + step)
        if (
            a == b == mp.inf
            or (a == b == 0 and sorted(P.items()) == sorted(Q.items()))
            or (b != 0 and mp.isfinite(a) and abs(a - b) <= mp.mpf(10) ** -30 * abs(b))
        ):
            break
        if dps > 6000:
            raise ArithmeticError(f"mpmath reference for {family} {P} || {Q} did not settle by {dps} digits")
        a, dps = b, dps + step
    _SAME_CACHE[key] = b
    return b


def _same_law(p, q):
    """Whether probs p and q are the same law after normalisation (exactly, in rationals)."""
    from fractions import Fraction

    fp, fq = [Fraction(x) for x in p], [Fraction(y) for y in q]
    sp, sq = sum(fp), sum(fq)
    return len(fp) == len(fq) and all(x * sq == y * sp for x, y in zip(fp, fq))


def same_condition(family, P, Q, ref):
    """kappa = sum_i |theta_i dD/dtheta_i| / D over every scalar parameter (relative perturbations in
    mpmath): the relative error a backward-stable evaluation may make from its inputs' rounding."""
    if ref == 0 or not mp.isfinite(ref):
        return mp.mpf(0)
    dps = 80 + max(_magnitude(P), _magnitude(Q))
    h = mp.mpf(10) ** -25
    kappa = mp.mpf(0)
    for which in ("p", "q"):
        D = P if which == "p" else Q
        for k, v in D.items():
            if family == "binomial" and k == "n":
                continue
            flat = v if isinstance(v, (list, tuple)) else [v]
            nested = bool(flat) and isinstance(flat[0], (list, tuple))
            idxs = [(i, j) for i in range(len(flat)) for j in range(len(flat[i]))] if nested else list(range(len(flat)))
            for ix in idxs:
                with mp.workdps(dps):
                    if nested:
                        new = [list(map(mp.mpf, row)) for row in flat]
                        i, j = ix
                        if new[i][j] == 0:
                            continue
                        new[i][j] *= 1 + h
                        nv = new
                    elif isinstance(v, (list, tuple)):
                        new = list(map(mp.mpf, flat))
                        if new[ix] == 0:
                            continue
                        new[ix] *= 1 + h
                        nv = new
                    else:
                        if v == 0:
                            continue
                        nv = mp.mpf(v) * (1 + h)
                    P2 = dict(P, **{k: nv}) if which == "p" else P
                    Q2 = dict(Q, **{k: nv}) if which == "q" else Q
                    r = _same_prec(family, P2, Q2, dps)
                    if mp.isfinite(r):
                        kappa += abs((r - ref) / h)
    return kappa / abs(ref)
