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
- the uniform's E X^c at lo = 0 formed log 0: 0 * -inf = NaN in the derivative in c;
- the uniform's E|X - c| at c = lo (a clip's tie: derivative 0 for 1/2), its E log X as (hi log hi - lo log lo)/w
  (1e-4 off on a narrow interval), and the continuous Bernoulli's f/u = (1/atanh(u) - 1/u)/u (3/u^2 of its
  digits cancelled; its derivative 5e-11 off at lam = 0.475), the beta's E X = a/(a + b) at b << a and the
  uniform's log(lo/hi) as a difference of logs (dD/dscale 16% off on a uniform 9e-9 wide): from this file's fuzzer.
"""

import math

import mpmath as mp
import pytest
import torch
import torch.distributions as D
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as hs

import kullback as kb
from kullback.distributions._ops import Ops, psi_diff

from .test_fuzz_cross import NO_SHRINK, TORCH_PAIRS, _digits, _ref_at, build, canonical, draw_pair, torch_object

F64 = torch.float64
N = 2 if settings().max_examples <= 100 else settings().max_examples // 20  # per pair (~139): 2 bounded, 150 long


def torch_object_from(f, t):
    """The torch object of family f on the parameter tensors t (test_fuzz_cross.torch_object builds its own)."""
    orig = torch.tensor
    values = iter(t.values())
    torch.tensor = lambda v, dtype=None, **kw: next(values) if kw == {} and dtype == F64 else orig(v, dtype=dtype, **kw)
    try:
        return torch_object(f, {k: float(v.detach()) for k, v in t.items()}, F64)
    finally:
        torch.tensor = orig


def _reference_gradient(fp, P, fq, Q, h=mp.mpf(10) ** -20, raw=False):
    """dD/dtheta for every parameter of P then Q (None for a parameter of 0: no relative step), by central
    differences of the mpmath value, each certified by a second evaluation 60 digits finer (near lam = 1/2 the
    continuous Bernoulli's formula cancels some 40 digits: at 60 digits the difference read 15.6 for 16.67)."""
    dps0 = 60 + _digits(P) + _digits(Q)

    def diff(side, k, v, dps):
        with mp.workdps(dps):
            d = P if side == "p" else Q
            up, dn = dict(d), dict(d)
            up[k], dn[k] = mp.mpf(v) * (1 + h), mp.mpf(v) * (1 - h)
            a = _ref_at(fp, up, fq, Q, dps) if side == "p" else _ref_at(fp, P, fq, up, dps)
            b = _ref_at(fp, dn, fq, Q, dps) if side == "p" else _ref_at(fp, P, fq, dn, dps)
            return (a - b) / (2 * h * mp.mpf(v))

    out = []
    for side, d in (("p", P), ("q", Q)):
        for k, v in d.items():
            if v == 0:
                out.append(None)
                continue
            dps, g = dps0, diff(side, k, v, dps0)
            for _ in range(4):
                g2 = diff(side, k, v, dps + 60)
                if not (mp.isfinite(g) and mp.isfinite(g2)) or abs(g - g2) <= 1e-20 * abs(g2) + mp.mpf(10) ** -300:
                    break
                dps, g = dps + 60, g2
            g2 = g2.real if isinstance(g2, mp.mpc) else g2
            out.append(g2 if raw else float(g2))
    return out


def _gradient_conditioning(fp, P, fq, Q, i):
    """sum_j |theta_j d(dD/dtheta_i)/dtheta_j|: what relative roundings of eps in the parameters move the i-th
    gradient component by, over eps (the gradient's analogue of the value fuzzer's kappa)."""
    h2 = mp.mpf(10) ** -18  # in mpmath: below the float spacing (a uniform 6e-12 wide at 8.4 needs steps below that)
    total = 0.0
    for side, d in (("p", P), ("q", Q)):
        for k, v in d.items():
            if v == 0:
                continue
            up, dn = dict(d), dict(d)
            up[k], dn[k] = mp.mpf(v) * (1 + h2), mp.mpf(v) * (1 - h2)
            args = ((up, Q), (dn, Q)) if side == "p" else ((P, up), (P, dn))
            gu, gd = (_reference_gradient(fp, a, fq, b, raw=True)[i] for a, b in args)  # in mpmath: the difference
            if gu is None or gd is None or not (mp.isfinite(gu) and mp.isfinite(gd)):  # is 1e-18 of each
                return math.inf
            total += float(abs(gu - gd) / (2 * h2))  # theta_j d(g_i)/d(theta_j): the step is relative
    return total


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
    # found by test_cross_gradient_against_mpmath's long profile:
    ("uniform", {"low": -1.0, "high": 0.0}, "laplace", {"loc": -1.0, "scale": 9.09}),  # E|X - c| at c = lo: 1.0 for 1.055
    ("uniform", {"low": 8.384403035636621, "high": 8.384403035642574}, "pareto", {"scale": 2.56, "alpha": 8.44}),  # E log X
    ("cbernoulli", {"lam": 0.47514975152753836}, "halfnormal", {"scale": 0.475}),  # f/u cancelled 3/u^2: 5e-11 off
    # the last two: gradients of 1e-9..1e-11 left by O(1/theta) terms cancelling, so compared as the fuzzer does
    ("beta", {"a": 11673149085.706068, "b": 1.0}, "gamma", {"concentration": 1.1673e10, "rate": 1.1673e10}),  # E X: 1e-7
    (
        "uniform",
        {"low": 1.1551220282625037, "high": 1.1551220375808964},
        "weibull",
        {"scale": 1.1551220282625037, "concentration": 1.0000006},
    ),
]


@pytest.mark.parametrize("fp, P, fq, Q", CASES, ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_cross_gradient_regressions(fp, P, fq, Q):
    loose = (fp, fq) in (("beta", "gamma"), ("uniform", "weibull")) and P.get("b") != 1e-20 and P.get("low", 1.0) != 0.0
    tp = {k: torch.tensor(v, dtype=F64, requires_grad=True) for k, v in P.items()}
    tq = {k: torch.tensor(v, dtype=F64, requires_grad=True) for k, v in Q.items()}
    val = kb.kl(torch_object_from(fp, tp), torch_object_from(fq, tq))
    got = torch.autograd.grad(val, [*tp.values(), *tq.values()])
    want = _reference_gradient(fp, P, fq, Q)
    for i, (name, g, w) in enumerate(zip([*P, *Q], got, want)):
        if w is None:
            continue
        if not math.isfinite(w):  # beyond the float range (d/db ~ 1/b^2 at b = 1e-280)
            assert g.item() == w, f"d/d{name}: {g.item()} where the truth is {w}"
            continue
        assert math.isfinite(g.item()), f"d/d{name}: {g.item()} where the truth is {w}"
        if loose:  # the fuzzer's bound below: 64 eps times the gradient's conditioning
            cond = _gradient_conditioning(fp, P, fq, Q, i)
            assert abs(g.item() - w) <= 64 * 2.0**-52 * cond, f"d/d{name}: {g.item()} against {w} (conditioning {cond:.3g})"
            continue
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


def _moderate(*ds):
    return all(v == 0 or 1e-30 < abs(v) < 1e30 for d in ds for v in d.values())


@pytest.mark.fuzz
@pytest.mark.parametrize("fp, fq", TORCH_PAIRS)
@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], phases=NO_SHRINK)
@given(data=hs.data())
def test_cross_gradient_against_mpmath(fp, fq, data):
    """Torch float64 gradients of every cross-family pair torch answers, on the value fuzzer's draws (free, common
    affine maps, narrow p, one law in two families) with parameters in 1e-30..1e30, against central differences
    of the certified mpmath value at the parameters kullback holds (torch clamps some, e.g. the continuous
    Bernoulli's to [eps, 1 - eps]: those components are not compared). Bound per component: 1e-11 (|dD/dtheta| +
    (|D| + 1)/|theta|), the second term the size of a rounding-level gradient of an O(|D| + 1) value (near-identical
    laws have true gradients of 0 and computed ones of a few ulps of 1/theta); else 64 eps times the gradient's
    conditioning (Pareto's alpha = 1 + 7e-16, a kink of E|X - c| at the end of a uniform's support). The points where parameters overflow the float range
    (gradients of 1e300 and beyond) are left to the value fuzzer."""
    P, Q = draw_pair(data, fp, fq, F64)
    assume(_moderate(P, Q))
    made = []
    for f, d in ((fp, P), (fq, Q)):
        if build(f, d, F64, "torch") is None:
            return
        t = {k: torch.tensor(v, dtype=F64, requires_grad=True) for k, v in d.items()}
        obj = torch_object_from(f, t)
        fam, held = canonical(obj)
        if fam != f or set(held) != set(d):
            return  # described as another family: its parameters are not these
        made.append((obj, t, {k: held[k] for k in d}))  # in the order of the tensors
    (p, tp, Ph), (q, tq, Qh) = made
    try:
        val = kb.kl(p, q)
    except ValueError as exc:  # parameters where the pair has no closed form: a numeric value refuses gradients
        assert "no closed form" in str(exc)
        return
    if not torch.isfinite(val):
        return
    got = torch.autograd.grad(val, [*tp.values(), *tq.values()], allow_unused=True)
    want = _reference_gradient(fp, Ph, fq, Qh)
    D_ = abs(val.item())
    drawn = [*P.values(), *Q.values()]
    for i, (name, theta, g, w) in enumerate(zip([*Ph, *Qh], [*Ph.values(), *Qh.values()], got, want)):
        if w is None or not math.isfinite(w) or abs(w) > 1e100 or theta != drawn[i]:
            continue  # theta != drawn: torch changed the parameter (a clamp), and its gradient, not kullback
        if name == "p" and theta in (0.0, 1.0):
            continue  # a probability at its end: the central difference steps outside [0, 1] (the truth is infinite)
        g = 0.0 if g is None else g.item()
        note(f"d/d{name}: torch {g!r}, mpmath {w!r}; p {Ph}, q {Qh}")
        assert math.isfinite(g), f"d/d{name}: {g} where the truth is {w}"
        if abs(g - w) <= 1e-11 * (abs(w) + (D_ + 1) / abs(theta)):
            continue
        cond = _gradient_conditioning(fp, Ph, fq, Qh, i)  # only where the plain bound fails: ~100 evaluations
        note(f"conditioning {cond:.3g}")
        assert abs(g - w) <= 64 * 2.0**-52 * cond, f"d/d{name}: {g} against {w} (conditioning {cond:.3g})"
