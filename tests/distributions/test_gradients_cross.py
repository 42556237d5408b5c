"""Torch gradients of cross-family divergences and entropies against mpmath, at the points where the chain rule
through kullback's cancellation-free values lost them (found by a gradient probe over the pairs of test_fuzz_cross).

Reference: dD/dtheta by central differences of the fuzzer's certified mpmath value (``_ref_at``: the textbook
entropy and expectations at 60+ digits) with a relative step of 1e-20, which leaves some 20 correct digits; the
bound is 1e-12 relative (the points are well conditioned).

Classes found and fixed at their root:
- a coefficient that is exactly 0 (b - 1 at b = 1, k - 1 at k = 1, a - k at a = k): ``_cross._times`` returned the
  constant 0 and dropped its derivative, E log X (Beta(1.5, 1): dH/db -1.04 for 0.25);
- psi(x) - psi(x + y) at tiny x: the recurrence term's derivative in y was formed as two cancelling terms of
  1/(x (x + y)) whose sum absorbed the rest (d/dy at x = 1e-20 was 0 for -psi'(2)); ``_ops.psi_diff`` now
  differentiates its closed-form partials;
- the uniform's E X^c at lo = 0 formed log 0: 0 * -inf = NaN in the derivative in c.
"""

import math

import mpmath as mp
import pytest
import torch
import torch.distributions as D

import kullback as kb
from kullback.distributions._ops import Ops, psi_diff

from .test_fuzz_cross import _digits, _ref_at

F64 = torch.float64


def _reference_gradient(fp, P, fq, Q):
    """dD/dtheta for every parameter of P then Q, by central differences of the certified mpmath value."""
    dps = 60 + _digits(P) + _digits(Q)
    h = mp.mpf(10) ** -20
    out = []
    with mp.workdps(dps):
        for side, d in (("p", P), ("q", Q)):
            for k, v in d.items():
                if v == 0:  # no relative step: not compared (the cases' zeros are supports' ends)
                    out.append(None)
                    continue
                up, dn = dict(d), dict(d)
                up[k], dn[k] = mp.mpf(v) * (1 + h), mp.mpf(v) * (1 - h)
                a = _ref_at(fp, up, fq, Q, dps) if side == "p" else _ref_at(fp, P, fq, up, dps)
                b = _ref_at(fp, dn, fq, Q, dps) if side == "p" else _ref_at(fp, P, fq, dn, dps)
                out.append(float((a - b) / (2 * h * mp.mpf(v))))
    return out


MAKE = {
    "beta": lambda t: D.Beta(t["a"], t["b"]),
    "halfnormal": lambda t: D.HalfNormal(t["scale"]),
    "gamma": lambda t: D.Gamma(t["concentration"], t["rate"]),
    "weibull": lambda t: D.Weibull(t["scale"], t["concentration"]),
    "uniform": lambda t: D.Uniform(t["low"], t["high"]),
}

CASES = [
    # (p family, p's parameters, q family, q's parameters): what broke
    ("beta", {"a": 1.5, "b": 1.0}, "halfnormal", {"scale": 2.0}),  # b - 1 = 0: dD/db lost E log(1 - X)
    ("beta", {"a": 1.0, "b": 1.0}, "halfnormal", {"scale": 3.0}),  # both coefficients 0 (the uniform law)
    ("halfnormal", {"scale": 1.0}, "gamma", {"concentration": 1.0, "rate": 2.0}),  # q's k - 1 = 0: dD/dk lost E log X
    ("gamma", {"concentration": 1.0, "rate": 2.0}, "weibull", {"scale": 0.5, "concentration": 1.5}),  # p's k - 1 = 0
    ("beta", {"a": 2.0, "b": 1e-20}, "uniform", {"low": 0.0, "high": 3.0}),  # psi_diff(b, a) at tiny b: dD/da was 0
    ("beta", {"a": 40.98, "b": 1.38e-280}, "halfnormal", {"scale": 9.3}),  # the same, b near the float range's end
    ("uniform", {"low": 0.0, "high": 0.1}, "weibull", {"scale": 0.1, "concentration": 0.05}),  # log 0: NaN in dD/dk
    ("uniform", {"low": 0.0, "high": 1.0}, "weibull", {"scale": 6.8, "concentration": 1.0000002}),  # the same
]


@pytest.mark.parametrize("fp, P, fq, Q", CASES, ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_cross_gradient_regressions(fp, P, fq, Q):
    tp = {k: torch.tensor(v, dtype=F64, requires_grad=True) for k, v in P.items()}
    tq = {k: torch.tensor(v, dtype=F64, requires_grad=True) for k, v in Q.items()}
    val = kb.kl(MAKE[fp](tp), MAKE[fq](tq))
    got = torch.autograd.grad(val, [*tp.values(), *tq.values()])
    want = _reference_gradient(fp, P, fq, Q)
    for name, g, w in zip([*P, *Q], got, want):
        if w is None:
            continue
        if not math.isfinite(w):  # beyond the float range (d/db ~ 1/b^2 at b = 1e-280)
            assert g.item() == w, f"d/d{name}: {g.item()} where the truth is {w}"
            continue
        assert math.isfinite(g.item()), f"d/d{name}: {g.item()} where the truth is {w}"
        assert g.item() == pytest.approx(w, rel=1e-12, abs=1e-300), f"d/d{name}"


def test_beta_entropy_gradient_at_a_coefficient_of_zero_and_at_tiny_b():
    """dH/da, dH/db of kb.entropy(Beta(a, b)) against mp.diff of H = log B - (a - 1) psi(a) - (b - 1) psi(b)
    + (a + b - 2) psi(a + b) (Cover & Thomas's table; scipy.stats.beta.entropy) at 60 digits."""

    def H(x, y):
        return mp.log(mp.beta(x, y)) - (x - 1) * mp.psi(0, x) - (y - 1) * mp.psi(0, y) + (x + y - 2) * mp.psi(0, x + y)

    for A, B in ((1.5, 1.0), (1.0, 2.5), (2.0, 1e-20), (1.0, 1.4e-160)):
        a, b = (torch.tensor(v, dtype=F64, requires_grad=True) for v in (A, B))
        ga, gb = torch.autograd.grad(kb.entropy(D.Beta(a, b)), [a, b])
        with mp.workdps(400):
            wa = mp.diff(lambda x, B=B: H(x, mp.mpf(B)), mp.mpf(A))
            wb = mp.diff(lambda y, A=A: H(mp.mpf(A), y), mp.mpf(B))
        assert ga.item() == pytest.approx(float(wa), rel=1e-12), (A, B)
        assert gb.item() == pytest.approx(float(wb), rel=1e-12), (A, B)


def test_psi_diff_gradient_at_tiny_x():
    """d/dx [psi(x) - psi(x + y)] = psi'(x) - psi'(x + y), d/dy = -psi'(x + y) (mpmath), x down to 1e-20."""
    o = Ops("torch", torch.tensor(0.0, dtype=F64))
    for X, Y in ((1e-20, 2.0), (1e-3, 2.0), (0.5, 2.0), (3.0, 1e-30)):
        x, y = (torch.tensor(v, dtype=F64, requires_grad=True) for v in (X, Y))
        gx, gy = torch.autograd.grad(psi_diff(o, x, y), [x, y])
        with mp.workdps(60):
            wx = mp.psi(1, mp.mpf(X)) - mp.psi(1, mp.mpf(X) + mp.mpf(Y))
            wy = -mp.psi(1, mp.mpf(X) + mp.mpf(Y))
        assert gx.item() == pytest.approx(float(wx), rel=1e-12), (X, Y)
        assert gy.item() == pytest.approx(float(wy), rel=1e-12), (X, Y)
