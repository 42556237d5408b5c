"""Independent references: log-densities written in mpmath, KL by mpmath quadrature / series.

Nothing here uses scipy, torch or kullback: the densities are typed in from
their textbook definitions.
"""

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
