"""Torch gradients of the other same-family closed forms against their partial derivatives in mpmath.

``test_gradients_same.py`` does this for gamma, beta and Dirichlet. Here, for every other scalar family of
``SAME``, Hypothesis draws pairs over the whole domain (the strategies of ``test_fuzz_same``: 10^[-300, 300],
near-identical, identical and narrow-shifted pairs) with leaf tensors, backpropagates ``kb.kl`` and compares
each component with the derivative of the textbook formula, differentiated by hand and evaluated in mpmath (von
Mises' A'(k) = 1 - A/k - A^2 directly, with the 2 log10(k) digits it cancels). The formulas:

    normal / lognormal   log(sq/sp) + (sp^2 + d^2)/(2 sq^2) - 1/2,  d = mp - mq
    half-normal          log(sq/sp) + sp^2/(2 sq^2) - 1/2
    exponential (rate)   log(lp/lq) + lq/lp - 1
    Laplace              log(bq/bp) + |d|/bq + (bp/bq) e^(-|d|/bp) - 1                 [Gil 2011, Table 3.1]
    uniform              log((hq - lq)/(hp - lp)), p's support inside q's
    Gumbel               -log r + z + g (r - 1) + e^-z G(1 + r) - 1,  r = sp/sq, z = d/sq  [Gil 2011]
    Pareto               log(ap/aq) + aq log(mp/mq) + aq/ap - 1,  mp >= mq                [Gil 2011]
    Cauchy               log(((gp + gq)^2 + d^2) / (4 gp gq))                   [Chyzak & Nielsen 2019]
    Weibull              -log rho - kq L + g (rho - 1) + e^(kq L) G(1 + rho) - 1,
                         rho = kq/kp, L = log(lp/lq)                          [Bauckhage 2013, regrouped]
    von Mises            log I0(kq) - log I0(kp) + A(kp) (kp - kq cos d),  A = I1/I0   [Mardia & Jupp 2000]
    Poisson              lp log(lp/lq) - lp + lq
    Bernoulli            p log(p/q) + (1 - p) log((1 - p)/(1 - q));  binomial: n times that
    geometric            log(p/q) + ((1 - p)/p) log((1 - p)/(1 - q))   (failures before the first success)

Bound per component: 64 eps times the sum of the magnitudes of its terms (as in ``test_gradients_same``: each
term formed to a few eps; where they cancel that is the expression's conditioning), plus, where that fails, 16 eps
times the derivative's own condition, sum_j |theta_j d(dD/dtheta_i)/dtheta_j| (as ``test_fuzz_same``'s kappa for the
value: what one rounding of each parameter, or of a difference such as mp - mq, changes), plus the subnormal spacing.
Components whose truth is not a finite float (it overflows, or p's support reaches q's boundary) are not compared; a
finite truth must come with a finite gradient. Working precision: 80 digits plus the parameters' largest decimal
magnitude (three times it for von Mises).
"""

import math

import mpmath as mp
import pytest
import torch
import torch.distributions as TD
from hypothesis import HealthCheck, given, settings

import kullback as kb

from .test_fuzz_same import pair

pytestmark = pytest.mark.fuzz
EPS = 2.0**-52
N = max(10, settings().max_examples // 3)
G = mp.euler

# torch constructor (leaf tensors in the order of NAMES) and parameter names per family
NAMES = {
    "normal": ("loc", "scale"), "lognormal": ("mu", "sigma"), "halfnormal": ("scale",), "exponential": ("rate",),
    "laplace": ("loc", "scale"), "uniform": ("low", "high"), "gumbel": ("loc", "scale"), "pareto": ("scale", "alpha"),
    "cauchy": ("loc", "scale"), "weibull": ("scale", "concentration"), "vonmises": ("loc", "concentration"),
    "poisson": ("rate",), "bernoulli": ("p",), "binomial": ("p",), "geometric": ("p",), "cbernoulli": ("lam",),
}  # fmt: skip
_KW = {"validate_args": False}
# the torch class per family, its leaf tensors passed positionally in the order of NAMES; the probability families
# by keyword (and the binomial with its fixed count)
_CLASS = {
    "normal": TD.Normal, "lognormal": TD.LogNormal, "halfnormal": TD.HalfNormal, "exponential": TD.Exponential,
    "laplace": TD.Laplace, "uniform": TD.Uniform, "gumbel": TD.Gumbel, "pareto": TD.Pareto, "cauchy": TD.Cauchy,
    "weibull": TD.Weibull, "vonmises": TD.VonMises, "poisson": TD.Poisson,
}  # fmt: skip
_BY_PROBS = {"bernoulli": TD.Bernoulli, "geometric": TD.Geometric, "cbernoulli": TD.ContinuousBernoulli}


def make(f, t, P):
    """The torch law of family f from leaf tensors t (and the drawn parameters P, for the binomial's count)."""
    if f in _CLASS:
        return _CLASS[f](*t, **_KW)
    if f == "binomial":
        return TD.Binomial(torch.tensor(P["n"], dtype=torch.float64), probs=t[0], **_KW)
    return _BY_PROBS[f](probs=t[0], **_KW)


def _sgn(x):
    return (x > 0) - (x < 0)


def _normal(P, Q, a="loc", b="scale"):
    mp_, sp, mq, sq = P[a], P[b], Q[a], Q[b]
    d = mp_ - mq
    return {
        ("p", a): [d / sq**2],
        ("p", b): [-1 / sp, sp / sq**2],
        ("q", a): [-d / sq**2],
        ("q", b): [1 / sq, -(sp**2) / sq**3, -(d**2) / sq**3],
    }


def _halfnormal(P, Q):
    sp, sq = P["scale"], Q["scale"]
    return {("p", "scale"): [-1 / sp, sp / sq**2], ("q", "scale"): [1 / sq, -(sp**2) / sq**3]}


def _exponential(P, Q):
    lp, lq = P["rate"], Q["rate"]
    return {("p", "rate"): [1 / lp, -lq / lp**2], ("q", "rate"): [-1 / lq, 1 / lp]}


def _laplace(P, Q):
    d, bp, bq = P["loc"] - Q["loc"], P["scale"], Q["scale"]
    s, x = _sgn(d), abs(d) / bp
    e = mp.exp(-x)
    return {
        ("p", "loc"): [s / bq, -s * e / bq],
        ("q", "loc"): [-s / bq, s * e / bq],
        ("p", "scale"): [-1 / bp, e / bq, x * e / bq],
        ("q", "scale"): [1 / bq, -abs(d) / bq**2, -(bp / bq**2) * e],
    }


def _uniform(P, Q):
    if not (Q["low"] <= P["low"] and P["high"] <= Q["high"]):
        return None
    wp, wq = P["high"] - P["low"], Q["high"] - Q["low"]
    return {("p", "low"): [1 / wp], ("p", "high"): [-1 / wp], ("q", "low"): [-1 / wq], ("q", "high"): [1 / wq]}


def _gumbel(P, Q):
    sp, sq = P["scale"], Q["scale"]
    r, z = sp / sq, (P["loc"] - Q["loc"]) / sq
    E = mp.exp(-z) * mp.gamma(1 + r)
    psi = mp.psi(0, 1 + r)
    return {
        ("p", "loc"): [1 / sq, -E / sq],
        ("q", "loc"): [-1 / sq, E / sq],
        ("p", "scale"): [-1 / sp, G / sq, E * psi / sq],
        ("q", "scale"): [1 / sq, -r * G / sq, -r * E * psi / sq, -z / sq, z * E / sq],
    }


def _pareto(P, Q):
    mp_, ap, mq, aq = P["scale"], P["alpha"], Q["scale"], Q["alpha"]
    if mp_ < mq:
        return None
    return {
        ("p", "alpha"): [1 / ap, -aq / ap**2],
        ("q", "alpha"): [-1 / aq, mp.log(mp_ / mq), 1 / ap],
        ("p", "scale"): [aq / mp_],
        ("q", "scale"): [-aq / mq],
    }


def _cauchy(P, Q):
    gp, gq, d = P["scale"], Q["scale"], P["loc"] - Q["loc"]
    S = (gp + gq) ** 2 + d**2
    return {
        ("p", "loc"): [2 * d / S],
        ("q", "loc"): [-2 * d / S],
        ("p", "scale"): [2 * (gp + gq) / S, -1 / gp],
        ("q", "scale"): [2 * (gp + gq) / S, -1 / gq],
    }


def _weibull(P, Q):
    kp, lp, kq, lq = P["concentration"], P["scale"], Q["concentration"], Q["scale"]
    rho, L = kq / kp, mp.log(lp / lq)
    E = mp.exp(kq * L) * mp.gamma(1 + rho)
    psi = mp.psi(0, 1 + rho)
    return {
        ("p", "concentration"): [1 / kp, -rho * G / kp, -rho * E * psi / kp],
        ("q", "concentration"): [-1 / kq, G / kp, E * psi / kp, -L, E * L],
        ("p", "scale"): [-kq / lp, E * kq / lp],
        ("q", "scale"): [kq / lq, -E * kq / lq],
    }


def _A(k):
    return mp.besseli(1, k) / mp.besseli(0, k)


def _vonmises(P, Q):
    kp, kq, d = P["concentration"], Q["concentration"], P["loc"] - Q["loc"]
    A, Aq = _A(kp), _A(kq)
    A1 = 1 - A / kp - A**2
    c, s = mp.cos(d), mp.sin(d)
    return {
        ("p", "concentration"): [A1 * kp, -A1 * kq * c],
        ("q", "concentration"): [Aq, -A * c],
        ("p", "loc"): [A * kq * s],
        ("q", "loc"): [-A * kq * s],
    }


def _poisson(P, Q):
    lp, lq = P["rate"], Q["rate"]
    if lq == 0:  # D = 0 or inf: no derivative in q's rate
        return None
    return {("p", "rate"): [mp.log(lp / lq) if lp > 0 else -mp.inf], ("q", "rate"): [1, -lp / lq]}


def _bernoulli(P, Q, n=1):
    p, q = P["p"], Q["p"]
    if not (0 < p < 1 and 0 < q < 1):
        return None
    return {("p", "p"): [n * mp.log(p / q), -n * mp.log((1 - p) / (1 - q))], ("q", "p"): [-n * p / q, n * (1 - p) / (1 - q)]}


def _binomial(P, Q):
    return _bernoulli(P, Q, n=P["n"]) if P["n"] == Q["n"] else None


def _geometric(P, Q):
    p, q = P["p"], Q["p"]
    if not (0 < p < 1 and 0 < q < 1):
        return None
    return {("p", "p"): [-mp.log((1 - p) / (1 - q)) / p**2], ("q", "p"): [-1 / q, (1 - p) / (p * (1 - q))]}


def _cb_mean_var(lam):
    """Mean and variance of the continuous Bernoulli law CB(lam) from its natural parameter eta = logit(lam):
    A'(eta) = 1/(1 - e^-eta) - 1/eta, A''(eta) = 1/eta^2 - 1/(4 sinh^2(eta/2)) (A = log((e^eta - 1)/eta))."""
    eta = mp.log(lam / (1 - lam))
    if eta == 0:
        return mp.mpf(1) / 2, mp.mpf(1) / 12
    return 1 / (1 - mp.exp(-eta)) - 1 / eta, 1 / eta**2 - 1 / (4 * mp.sinh(eta / 2) ** 2)


def _cbernoulli(P, Q):
    # D = A(eta_q) - A(eta_p) - A'(eta_p)(eta_q - eta_p), d eta / d lam = 1/(lam (1 - lam))
    lp, lq = P["lam"], Q["lam"]
    (mean_p, var_p), (mean_q, _) = _cb_mean_var(lp), _cb_mean_var(lq)
    deta = mp.log(lq / (1 - lq)) - mp.log(lp / (1 - lp))
    return {("p", "lam"): [-var_p * deta / (lp * (1 - lp))], ("q", "lam"): [mean_q / (lq * (1 - lq)), -mean_p / (lq * (1 - lq))]}


PARTIALS = {
    "normal": _normal, "lognormal": lambda P, Q: _normal(P, Q, "mu", "sigma"), "halfnormal": _halfnormal,
    "exponential": _exponential, "laplace": _laplace, "uniform": _uniform, "gumbel": _gumbel, "pareto": _pareto,
    "cauchy": _cauchy, "weibull": _weibull, "vonmises": _vonmises, "poisson": _poisson, "bernoulli": _bernoulli,
    "binomial": _binomial, "geometric": _geometric, "cbernoulli": _cbernoulli,
}  # fmt: skip


def _leaves(f, P):
    return [torch.tensor(P[k], dtype=torch.float64, requires_grad=True) for k in NAMES[f]]


def _sums(f, P, Q):
    """{(side, name): (derivative, sum of its terms' magnitudes)} in mpmath, or None where D has no derivative."""
    parts = PARTIALS[f]({k: mp.mpf(v) for k, v in P.items()}, {k: mp.mpf(v) for k, v in Q.items()})
    if parts is None:
        return None
    return {key: (mp.fsum(terms), mp.fsum(abs(t) for t in terms)) for key, terms in parts.items()}


def _condition(f, P, Q, base):
    """{(side, name): sum_j |theta_j d(dD/dtheta_i)/dtheta_j|}: the change of each derivative under a relative change
    of every (non-zero) parameter, by central differences of the mpmath partials (step 1e-30 relative, 80 digits and more:
    second-order error 1e-60); one-sided where a side leaves the domain."""
    out = {key: mp.mpf(0) for key in base}
    h = mp.mpf(10) ** -30
    for side, D in (("p", P), ("q", Q)):
        for k in NAMES[f]:
            if D[k] == 0:
                continue
            ends = []
            for sgn in (1, -1):
                X = dict(D)
                X[k] = mp.mpf(D[k]) * (1 + sgn * h)
                ends.append(_sums(f, X, Q) if side == "p" else _sums(f, P, X))
            for key in base:
                vals = [e[key][0] if e is not None else None for e in ends]
                if vals[0] is not None and vals[1] is not None:
                    diff = (vals[0] - vals[1]) / (2 * h)
                elif vals[0] is not None or vals[1] is not None:
                    diff = ((vals[0] - base[key][0]) if vals[0] is not None else (base[key][0] - vals[1])) / h
                else:
                    continue
                if mp.isfinite(diff):
                    out[key] += abs(diff)
    return out


def check_gradient(f, P, Q):
    """Backpropagate kb.kl for (f, P, Q) and compare every component with the mpmath partials (see the module doc)."""
    if f in ("bernoulli", "binomial", "geometric") and not all(0 <= D["p"] <= 1 for D in (P, Q)):
        return  # the near-pair strategy moved a probability out of [0, 1] (kb.kl refuses it: test_fuzz_same)
    if f == "uniform" and not all(D["low"] < D["high"] for D in (P, Q)):
        return  # an empty interval (refused)
    if f == "cbernoulli" and not all(EPS <= D["lam"] <= 1 - EPS for D in (P, Q)):
        return  # torch clamps probs to [eps, 1 - eps] (its clamp's gradient is 0 beyond)
    tp, tq = _leaves(f, P), _leaves(f, Q)
    val = kb.kl(make(f, tp, P), make(f, tq, Q))
    if not torch.isfinite(val):
        return
    val.backward()
    # 40 digits beyond the magnitudes (1 - p at p = 1e-69 needs 69 to keep any) suffice for a bound relative to the
    # terms' sum; von Mises' A' cancels 2 log10(k) more; the central differences of _condition take 30 (step 1e-30)
    mags = [abs(mp.log10(abs(v))) for D in (P, Q) for v in D.values() if isinstance(v, float) and v != 0]
    mag = int(max(mags, default=0))
    with mp.workdps(80 + (3 if f == "vonmises" else 1) * mag):
        base = _sums(f, P, Q)
        if base is None:
            return
        cond, seen = None, []
        for side, leaves in (("p", tp), ("q", tq)):
            for name, leaf in zip(NAMES[f], leaves):
                want, scale = base[(side, name)]
                g = leaf.grad.item() if leaf.grad is not None else 0.0
                seen.append(f"{side}.{name}: torch {g!r}, mpmath {mp.nstr(want, 17)}, terms {mp.nstr(scale, 3)}")
                if not mp.isfinite(want) or abs(want) > 1.7976931348623157e308:
                    continue
                err = abs(mp.mpf(g) - want) if math.isfinite(g) else mp.inf
                if err <= 64 * EPS * scale + 1e-300:
                    continue
                cond = _condition(f, P, Q, base) if cond is None else cond  # only where the plain bound fails
                seen[-1] += f", condition {mp.nstr(cond[(side, name)], 3)}"
                assert err <= 64 * EPS * scale + 16 * EPS * cond[(side, name)] + 1e-300, f"{f} {P} || {Q}: " + "; ".join(seen)


@pytest.mark.parametrize("f", sorted(PARTIALS))
def test_gradient_against_the_textbook_partials(f):
    @settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck))
    @given(pair(f, 300))
    def run(pq):
        check_gradient(f, *pq)

    run()


ORDINARY = {
    "normal": ({"loc": 0.3, "scale": 1.3}, {"loc": -0.5, "scale": 0.7}),
    "lognormal": ({"mu": 0.3, "sigma": 1.3}, {"mu": -0.5, "sigma": 0.7}),
    "halfnormal": ({"scale": 1.3}, {"scale": 0.7}),
    "exponential": ({"rate": 1.3}, {"rate": 0.7}),
    "laplace": ({"loc": 0.3, "scale": 1.3}, {"loc": -0.5, "scale": 0.7}),
    "uniform": ({"low": 0.2, "high": 0.9}, {"low": 0.0, "high": 1.5}),
    "gumbel": ({"loc": 0.3, "scale": 1.3}, {"loc": -0.5, "scale": 0.7}),
    "pareto": ({"scale": 2.0, "alpha": 1.5}, {"scale": 1.0, "alpha": 3.0}),
    "cauchy": ({"loc": 0.3, "scale": 1.3}, {"loc": -0.5, "scale": 0.7}),
    "weibull": ({"scale": 1.3, "concentration": 2.0}, {"scale": 0.8, "concentration": 1.2}),
    "vonmises": ({"loc": 0.3, "concentration": 2.0}, {"loc": -0.4, "concentration": 0.7}),
    "poisson": ({"rate": 2.5}, {"rate": 4.0}),
    "bernoulli": ({"p": 0.3}, {"p": 0.6}),
    "binomial": ({"n": 7.0, "p": 0.3}, {"n": 7.0, "p": 0.6}),
    "geometric": ({"p": 0.3, "start": 0.0}, {"p": 0.6, "start": 0.0}),
    "cbernoulli": ({"lam": 0.3}, {"lam": 0.8}),
}


@pytest.mark.parametrize("f", sorted(ORDINARY))
def test_partials_are_derivatives_of_the_reference(f):
    """The hand-derived partials above against central differences (step 1e-12 relative, absolute at 0) of ``mpref.same_kl``, the
    fuzzers' certified mpmath closed form (to 1e-30 relative), at ordinary parameters: a sign or factor slip in a
    partial fails here. And kb.kl's gradient there to 1e-13 of the same."""
    from . import mpref

    P, Q = ORDINARY[f]
    with mp.workdps(50):
        base = _sums(f, P, Q)
        for side, D in (("p", P), ("q", Q)):
            for k in NAMES[f]:

                def Dk(v, side=side, D=D, k=k):
                    X = dict(D)
                    X[k] = v
                    return mpref.same_kl(f, X, Q) if side == "p" else mpref.same_kl(f, P, X)

                num = mp.diff(Dk, mp.mpf(D[k]), h=max(abs(mp.mpf(D[k])), 1) * mp.mpf(10) ** -12)
                assert float(base[(side, k)][0]) == pytest.approx(float(num), rel=1e-12), (side, k)
    check_gradient(f, P, Q)


@pytest.mark.parametrize(
    "f, P, Q",
    [  # found by this file's fuzzer (long profile) on the autograd of the regrouped values; what torch gave:
        ("bernoulli", {"p": 0.5}, {"p": 1e-155}),  # -inf for -5e154
        ("binomial", {"n": 0.0, "p": 0.5}, {"n": 0.0, "p": 1e-155}),  # NaN for 0
        ("laplace", {"loc": 0.0, "scale": 4.082795969807558e-141}, {"loc": 8.094109594909678, "scale": 1.9554448930045517e-286}),  # NaN
        ("laplace", {"loc": -1000000000.001, "scale": 1e-300}, {"loc": -0.001, "scale": 1.0}),  # |d|/bp overflows: 0 for -1
        ("pareto", {"scale": 1.0, "alpha": 1.0}, {"scale": 1e-155, "alpha": 1.0}),  # -inf for -1e155
        ("uniform", {"low": 0.0, "high": 1e-154}, {"low": 0.0, "high": 1.0}),  # inf for 1e154
        ("vonmises", {"loc": 0.0, "concentration": 1e299}, {"loc": 0.0, "concentration": 3.3450525471840313e-10}),  # NaN
        ("weibull", {"concentration": 1000.0, "scale": 0.5}, {"concentration": 1e226, "scale": 1.0}),  # 9e-14 off, beyond its condition
        ("cbernoulli", {"lam": 0.5625}, {"lam": 0.125}),  # 220 eps off
    ],
)
def test_gradient_regressions(f, P, Q):
    """Each failed on the autograd of the regrouped value; now the closed-form partials (``_autograd.analytic``)."""
    check_gradient(f, P, Q)


def check_categorical_gradient(P, Q):
    """Categorical(probs=p) || Categorical(probs=q) with leaf vectors p, q (torch normalises them; D is that of
    p/sum p and q/sum q): dD/dp_j = (log(p^_j/q^_j) - D)/Sp, dD/dq_j = (q^_j - p^_j)/q_j, p^ = p/Sp, q^ = q/Sq,
    each within 64 eps of the sum of its terms' magnitudes (here |log(p^/q^)|/Sp + D/Sp and q^/q + p^/q), plus, for
    dD/dp_j, 16 eps (6 + 2 sum_k p^_k |log(p^_k/q^_k)|)/Sp: its condition in the probabilities, which torch rounds when
    it normalises them (dD/dp_j of two laws a few units in the last place apart is itself ~1e-17; the rounding of
    p/sum p moves log(p^/q^) by ~eps)."""
    p, q = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (P, Q))
    val = kb.kl(TD.Categorical(probs=p, validate_args=False), TD.Categorical(probs=q, validate_args=False))
    if not torch.isfinite(val):
        return
    val.backward()
    mags = [abs(mp.log10(v)) for v in P + Q if v > 0]
    with mp.workdps(80 + int(max(mags, default=0))):
        pm, qm = [mp.mpf(v) for v in P], [mp.mpf(v) for v in Q]
        sp, sq = mp.fsum(pm), mp.fsum(qm)
        ph, qh = [v / sp for v in pm], [v / sq for v in qm]
        D = mp.fsum(a * mp.log(a / b) for a, b in zip(ph, qh) if a > 0)
        spread = mp.fsum(2 * a * abs(mp.log(a / b)) for a, b in zip(ph, qh) if a > 0)
        cond = (6 + spread) / sp / 4  # 16 eps of it = 64 eps of a quarter: folded into the terms' scale
        want = [((mp.log(a / b) - D) / sp, abs(mp.log(a / b)) / sp + D / sp + cond) if a > 0 else (-mp.inf, 0) for a, b in zip(ph, qh)]
        want += [((b - a) / y, (b + a) / y) if y > 0 else (1 / sq, 1 / sq) for a, b, y in zip(ph, qh, qm)]
        got = p.grad.tolist() + q.grad.tolist()
        k = len(P)
        # a partial beyond the float range at x_j > 0 (1/q_j at a subnormal q_j) meets the other components of its side
        # in torch's normalisation (sum_j g_j x_j / S^2): that side is then not representable, not compared (at x_j = 0,
        # p_j's -inf, the product is 0 and the others must come out right)
        xs = P + Q
        big = [x != 0 and (not mp.isfinite(w) or abs(w) > 1.7976931348623157e308) for x, (w, _) in zip(xs, want)]
        over = [any(big[:k]), any(big[k:])]
        for i, (g, (w, scale)) in enumerate(zip(got, want)):
            if over[i // k] or not mp.isfinite(w) or abs(w) > 1.7976931348623157e308:
                continue
            assert math.isfinite(g) and abs(mp.mpf(g) - w) <= 64 * EPS * scale + 1e-300, (
                f"{P} || {Q}: component {i}: torch {g!r}, mpmath {mp.nstr(w, 17)}, terms {mp.nstr(scale, 3)}"
            )


@settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck))
@given(pair("categorical", 300))
def test_categorical_gradient_against_its_partials(pq):
    check_categorical_gradient(pq[0]["probs"], pq[1]["probs"])


@pytest.mark.parametrize("P, Q", [([0.5, 0.5], [1e-300, 1.0]), ([1.0, 0.0], [1.0, 0.0]), ([0.0, 5e-324, 1.0], [0.5, 1e-323, 0.5])])
def test_categorical_gradient_regression(P, Q):
    """q = [1e-300, 1]: autograd through the relative-entropy form gave NaN for dD/dq_0 = -5e299; p = q = [1, 0]: NaN
    for dD/dp_0 = 0 (the zero partial of log 0 in the log-probabilities' chain, and -inf at p_1 = 0 times x_1 = 0 in
    torch's normalisation); exact subnormal probabilities: their ratio, not the difference of their logs (5e-14 off)."""
    check_categorical_gradient(P, Q)
