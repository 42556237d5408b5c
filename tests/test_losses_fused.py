"""The fused CPU kernel of kullback.losses (kullback._loss_kernels) and the torch nodes around it (kullback._losses_torch).

References: e^x - 1 - x and expm1(x) in mpmath at 50 digits (plus the digits the subtraction cancels);
the VAE term ½ sum(e^lv - 1 - lv + mu^2) (Kingma & Welling 2014, appendix B); torch.distributions'
kl_divergence; torch.autograd.gradcheck / gradgradcheck; the plain expression's saved tensors.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from kullback import _kernels
from kullback.losses import gaussian_kl, kl_logprob

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not _kernels.available(), reason="numba is not importable")
mp.mp.dps = 50
BIG = mp.mpf("1.7976931348623157e308")


def mp_expm1mx(x):
    x = mp.mpf(x)
    if x == 0:
        return mp.mpf(0)
    with mp.workdps(mp.mp.dps + max(0, int(-2 * mp.log10(abs(x)))) + 10):
        return +(mp.expm1(x) - x)


def close(got, want, ulps, tiny=2.0**-1072):
    """|got - want| within ulps relative units (2^-52) of want, or within a few subnormal steps of it (underflow)."""
    return abs(mp.mpf(got) - want) <= ulps * 2.0**-52 * abs(want) + tiny


# |x| from 1e-30 to 1e3, both signs, and 0
tiny_to_huge = hs.one_of(
    hs.just(0.0),
    hs.floats(-30, 3).flatmap(lambda e: hs.sampled_from([10.0**e, -(10.0**e)])),
    hs.floats(-1e3, 1e3),
)


@settings(max_examples=150, deadline=None)
@given(x=tiny_to_huge)
def test_fused_expm1mx_and_its_derivative_match_mpmath_in_float64(x):
    """Value and gradient of k3 (e^r - 1 - r) on a contiguous float64 CPU tensor: within 4 ulps of mpmath, inf where they overflow."""
    r = torch.tensor([x], dtype=torch.float64, requires_grad=True)
    out = kl_logprob(torch.zeros(1, dtype=torch.float64), r, estimator="k3", reduction="sum")
    out.backward()
    out = out.detach()
    want, dwant = mp_expm1mx(x), mp.expm1(x)
    if want > BIG:
        assert float(out) == math.inf
    else:
        assert close(float(out), want, 4), (x, float(out), want)
    if abs(dwant) > BIG:
        assert float(r.grad[0]) == math.inf
    else:
        assert close(float(r.grad[0]), dwant, 2)


@settings(max_examples=80, deadline=None)
@given(x=tiny_to_huge)
def test_fused_expm1mx_is_correctly_rounded_in_float32(x):
    """float32 inputs are computed in float64 and rounded once: within 1 float32 ulp of mpmath (the torch-ops path: 64)."""
    x32 = float(np.float32(x))
    got = kl_logprob(torch.zeros(1), torch.tensor([x32]), estimator="k3", reduction="none")
    want = mp_expm1mx(x32)
    if want > mp.mpf(float(np.finfo(np.float32).max)):
        assert float(got[0]) == math.inf
    else:  # within one float32 ulp, or a subnormal step of 2^-149
        assert close(float(got[0]), want, 2.0**29, tiny=2.0**-149), (x32, float(got[0]), want)


@settings(max_examples=60, deadline=None)
@given(
    mu=hs.lists(hs.floats(-1e3, 1e3), min_size=3, max_size=3),
    lv=hs.lists(tiny_to_huge, min_size=3, max_size=3),
)
def test_fused_prior_term_matches_mpmath(mu, lv):
    """gaussian_kl against N(0, I) (the fused row sums) and its gradients, per example, against mpmath."""
    m = torch.tensor([mu], dtype=torch.float64, requires_grad=True)
    v = torch.tensor([lv], dtype=torch.float64, requires_grad=True)
    out = gaussian_kl(m, v, reduction="sum")
    out.backward()
    out = out.detach()
    want = sum(mp_expm1mx(b) + mp.mpf(a) ** 2 for a, b in zip(mu, lv)) / 2
    if want > BIG:
        assert float(out) == math.inf
        return
    # the sum of three non-negative terms: each within 4 ulps, the sum within 3 more roundings
    assert close(float(out), want, 8), (mu, lv, float(out), want)
    for j in range(3):
        assert float(m.grad[0, j]) == mu[j]
        assert close(float(v.grad[0, j]), mp.expm1(lv[j]) / 2, 2)


def test_gaussian_kl_second_derivatives_are_exact():
    """Regression: backward saved expm1(logvar) outside the graph, so a double backward gave d2/dlogvar2 = 0
    (gradgradcheck failed) on every torch path; now expm1(x) is an output of the node, differentiated again."""
    g = torch.Generator().manual_seed(11)
    mu, lv, lq = (torch.randn(4, 3, dtype=torch.float64, generator=g).requires_grad_() for _ in range(3))
    assert torch.autograd.gradgradcheck(lambda m, v: gaussian_kl(m, v), (mu, lv))
    assert torch.autograd.gradgradcheck(lambda m, v, q: gaussian_kl(m, v, 0.3, q), (mu, lv, lq))
    assert torch.autograd.gradgradcheck(lambda a, b: kl_logprob(a, b, estimator="k3"), (mu, lv))
    # the torch-ops path (a strided view, which the kernel does not take) as well
    assert torch.autograd.gradgradcheck(lambda m, v: gaussian_kl(m.t(), v.t()), (mu, lv))
    (h,) = torch.autograd.grad(torch.autograd.grad(gaussian_kl(mu, lv, reduction="sum"), lv, create_graph=True)[0].sum(), lv)
    torch.testing.assert_close(h, 0.5 * lv.detach().exp(), rtol=1e-15, atol=0)


def test_gaussian_kl_under_torch_func_and_compile():
    """Regression: torch.func.grad / vmap / hessian raised (an autograd.Function without setup_context); they now take
    the array-API path, whose first and second derivatives are exact too; torch.compile the same."""
    g = torch.Generator().manual_seed(12)
    mu, lv = torch.randn(5, 3, dtype=torch.float64, generator=g), torch.randn(5, 3, dtype=torch.float64, generator=g)
    lv[0, 0] = 1e-12
    grad = torch.func.grad(lambda v: gaussian_kl(mu, v, reduction="sum"))(lv)
    torch.testing.assert_close(grad, 0.5 * torch.expm1(lv), rtol=1e-15, atol=0)
    hess = torch.func.hessian(lambda v: gaussian_kl(mu[0], v, reduction="sum"))(lv[0])
    torch.testing.assert_close(hess, torch.diag(0.5 * lv[0].exp()), rtol=1e-15, atol=0)
    per = torch.vmap(lambda a, b: gaussian_kl(a, b, reduction="none"))(mu, lv)
    torch.testing.assert_close(per, gaussian_kl(mu, lv, reduction="none"), rtol=1e-15, atol=0)
    compiled = torch.compile(lambda a, b: gaussian_kl(a, b))(mu, lv)
    torch.testing.assert_close(compiled, gaussian_kl(mu, lv), rtol=1e-14, atol=0)


def test_jax_hessian_of_the_array_api_path():
    """The array-API path attaches b (x - x0) + ½ (b + 1)(x - x0)^2: jax.hessian gives e^x / 2 (it gave 0)."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    lv = jnp.asarray([0.3, -2.0, 1e-9])
    h = jax.hessian(lambda v: gaussian_kl(jnp.zeros((1, 3)), v[None, :], reduction="sum"))(lv)
    np.testing.assert_allclose(np.asarray(h), np.diag(0.5 * np.exp(np.asarray(lv))), rtol=1e-15)
    big = jax.grad(lambda v: gaussian_kl(jnp.zeros((1, 1)), v[None, :], reduction="sum"))(jnp.asarray([800.0]))
    assert np.isfinite(np.asarray(big)).all()  # e^800 overflows: the largest float, not inf * 0 = NaN


@pytest.mark.parametrize("shape", [(7,), (2, 3, 5), (4, 0), (0, 3), (1, 1)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_shapes_match_the_torch_ops_path(shape, dtype):
    """Batched, single-example and empty shapes: the kernel's per-example values, gradients and reductions against
    the torch-ops path (the same inputs as strided views) and torch.distributions."""
    g = torch.Generator().manual_seed(13)
    mu, lv = torch.randn(shape, dtype=dtype, generator=g), torch.randn(shape, dtype=dtype, generator=g)
    a = [t.clone().requires_grad_() for t in (mu, lv)]
    b = [torch.stack([t, t], -1).clone().requires_grad_() for t in (mu, lv)]  # [..., 0] is a strided view
    got = gaussian_kl(*a, reduction="none")
    want = gaussian_kl(b[0][..., 0], b[1][..., 0], reduction="none")
    assert got.shape == shape[:-1] and got.dtype == dtype
    tol = {"rtol": 1e-6, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-14, "atol": 1e-14}
    torch.testing.assert_close(got, want, **tol)
    ref = torch.distributions.kl_divergence(torch.distributions.Normal(mu, (0.5 * lv).exp()), torch.distributions.Normal(0.0, 1.0))
    torch.testing.assert_close(got, ref.sum(-1), **tol)
    got.sum().backward()
    want.sum().backward()
    torch.testing.assert_close(a[1].grad, b[1].grad[..., 0], **tol)
    torch.testing.assert_close(a[0].grad, b[0].grad[..., 0], **tol)
    for red in ("sum", "mean", "batchmean"):
        torch.testing.assert_close(
            gaussian_kl(mu, lv, reduction=red), gaussian_kl(mu.double(), lv.double(), reduction=red).to(dtype), equal_nan=True, **tol
        )


def test_fused_keeps_no_more_for_backward_than_the_plain_expression():
    """The bytes saved for backward (saved_tensors_hooks): mu and expm1(logvar), as the plain expression saves mu and exp(logvar)."""
    mu, lv = (torch.randn(64, 16).requires_grad_() for _ in range(2))

    def saved(fn):
        total = []
        with torch.autograd.graph.saved_tensors_hooks(lambda x: total.append(x.numel() * x.element_size()) or x, lambda x: x):
            fn()
        return sum(total)

    plain = saved(lambda: -0.5 * (1 + lv - mu**2 - lv.exp()).sum(-1).mean())
    assert saved(lambda: gaussian_kl(mu, lv)) <= plain == 2 * 64 * 16 * 4
    assert saved(lambda: kl_logprob(mu, lv, estimator="k3")) <= saved(lambda: ((lv - mu).exp() - 1 - (lv - mu)).mean())


def test_fused_extremes():
    """logvar of ±1e3 and NaN: inf, finite, NaN (float64); float32's e^100 overflows as the plain expression does."""
    lv = torch.tensor([[1e3], [-1e3], [math.nan], [710.0], [709.0]], dtype=torch.float64)
    out = gaussian_kl(torch.zeros_like(lv), lv, reduction="none")
    assert out[0] == math.inf and out[1] == 0.5 * (1e3 - 1) and math.isnan(out[2]) and out[3] == math.inf
    assert float(out[4]) == pytest.approx(float(mp.exp(709) / 2), rel=4e-16)
    assert gaussian_kl(torch.zeros(1, 1), torch.full((1, 1), 100.0), reduction="sum") == math.inf
