"""kullback.losses against mpmath (values and gradients), torch.distributions, F.kl_div, gradcheck and jax.grad.

References: the Gaussian KL per dimension ½[e^d - 1 - d + (mu - mu_q)^2 e^-lvq] (Kingma & Welling
2014, appendix B), evaluated in mpmath at 50 digits; Schulman (2020) for k1, k2, k3.
"""

from __future__ import annotations

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from kullback.losses import gaussian_kl, kl_logits, kl_logprob

torch = pytest.importorskip("torch")
F = torch.nn.functional
mp.mp.dps = 50

finite = hs.floats(-300, 300, allow_nan=False)


def mp_expm1mx(x):
    """e^x - 1 - x at enough digits that the subtraction keeps 50 (about 2 log10(1/|x|) cancel)."""
    x = mp.mpf(x)
    if x == 0:
        return mp.mpf(0)
    extra = max(0, int(-2 * mp.log10(abs(x)))) + 10
    with mp.workdps(mp.mp.dps + extra):
        return +(mp.expm1(x) - x)


def mp_gauss(mu, lv, mq, lq):
    with mp.workdps(mp.mp.dps + 700):  # lv - lq in full, whatever their sizes
        d = mp.mpf(lv) - mp.mpf(lq)
        return mp.mpf(1) / 2 * (mp_expm1mx(d) + (mp.mpf(mu) - mp.mpf(mq)) ** 2 * mp.exp(-mp.mpf(lq)))


def mp_kl_logits(a, b):
    def logsm(x):
        fin = [mp.mpf(v) for v in x if v != -math.inf]
        lse = mp.log(mp.fsum(mp.exp(v) for v in fin))
        return [(-mp.inf if v == -math.inf else mp.mpf(v) - lse) for v in x]

    la, lb = logsm(a), logsm(b)
    total = mp.mpf(0)
    for x, y in zip(la, lb):
        if x == -mp.inf:
            continue
        if y == -mp.inf:
            return mp.inf
        total += mp.exp(x) * (x - y)
    return total


# ---------------------------------------------------------------- gaussian_kl


@settings(max_examples=60, deadline=None)
@given(mu=finite, lv=hs.floats(-600, 600), mq=finite, lq=hs.floats(-600, 600))
def test_gaussian_kl_matches_mpmath_over_its_domain(mu, lv, mq, lq):
    got = float(gaussian_kl(np.array([[mu]]), np.array([[lv]]), np.array([[mq]]), np.array([[lq]])))
    want = mp_gauss(mu, lv, mq, lq)
    if want > 1e307:
        assert got == math.inf or got > 1e300
    else:
        assert got == pytest.approx(float(want), rel=1e-12, abs=1e-300)


@settings(max_examples=80, deadline=None)
@given(lv=hs.floats(-5, 5), eps=hs.floats(-1e-3, 1e-3))
def test_gaussian_kl_exact_when_p_close_to_q(lv, eps):
    """e^d - 1 - d for tiny d: the naive expression loses every digit (it gave 0 or noise); the series keeps them."""
    got = float(gaussian_kl(np.array([[0.0]]), np.array([[lv + eps]]), 0.0, np.array([[lv]])))
    want = mp_gauss(0, lv + eps, 0, lv)
    assert got == pytest.approx(float(want), rel=1e-12, abs=1e-320)


def test_gaussian_kl_against_torch_distributions_and_reductions():
    g = torch.Generator().manual_seed(0)
    mu, lv = torch.randn(8, 5, dtype=torch.float64, generator=g), torch.randn(8, 5, dtype=torch.float64, generator=g)
    mq, lq = torch.randn(8, 5, dtype=torch.float64, generator=g), torch.randn(8, 5, dtype=torch.float64, generator=g)
    p = torch.distributions.Normal(mu, (0.5 * lv).exp())
    q = torch.distributions.Normal(mq, (0.5 * lq).exp())
    ref = torch.distributions.kl_divergence(p, q)  # (8, 5)
    none = gaussian_kl(mu, lv, mq, lq, reduction="none")
    assert none.shape == (8,)
    torch.testing.assert_close(none, ref.sum(-1), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(gaussian_kl(mu, lv, mq, lq), ref.sum() / 8, rtol=1e-12, atol=0)
    torch.testing.assert_close(gaussian_kl(mu, lv, mq, lq, reduction="sum"), ref.sum(), rtol=1e-12, atol=0)
    torch.testing.assert_close(gaussian_kl(mu, lv, mq, lq, reduction="mean"), ref.mean(), rtol=1e-12, atol=0)


def test_gaussian_kl_gradients_gradcheck_and_mpmath():
    mu = torch.tensor([[0.3, -1.2], [2.0, 0.1]], dtype=torch.float64, requires_grad=True)
    lv = torch.tensor([[1e-9, -0.7], [0.4, 3.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda m, v: gaussian_kl(m, v, reduction="sum"), (mu, lv))
    gaussian_kl(mu, lv, reduction="sum").backward()
    for i in range(2):
        for j in range(2):
            m, v = float(mu.detach()[i, j]), float(lv.detach()[i, j])
            dv = mp.diff(lambda t, m=m: mp_gauss(m, t, 0, 0), mp.mpf(v))
            assert float(lv.grad[i, j]) == pytest.approx(float(dv), rel=1e-12)
            assert float(mu.grad[i, j]) == pytest.approx(m, rel=1e-14)


def test_gaussian_kl_jax_grad_matches_torch():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    mu, lv = np.array([[0.5, -1.0, 2.0]]), np.array([[0.3, -2.0, 1e-7]])
    gj = jax.grad(lambda v: gaussian_kl(jnp.asarray(mu), v))(jnp.asarray(lv))
    vt = torch.tensor(lv, requires_grad=True)
    gaussian_kl(torch.tensor(mu), vt).backward()
    np.testing.assert_allclose(np.asarray(gj), vt.grad.numpy(), rtol=1e-13)


# ---------------------------------------------------------------- kl_logits

logit = hs.one_of(hs.floats(-1e4, 1e4), hs.just(-math.inf))


@settings(max_examples=60, deadline=None)
@given(a=hs.lists(logit, min_size=3, max_size=3), b=hs.lists(logit, min_size=3, max_size=3))
def test_kl_logits_matches_mpmath_at_extreme_and_masked_logits(a, b):
    if all(v == -math.inf for v in a) or all(v == -math.inf for v in b):
        return  # no law: not a softmax of anything
    got = float(kl_logits(np.array([a]), np.array([b])))
    want = mp_kl_logits(a, b)
    assert not math.isnan(got)
    if want == mp.inf:
        assert got == math.inf
    else:
        assert got == pytest.approx(float(want), rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(a=hs.lists(logit, min_size=4, max_size=4), b=hs.lists(hs.floats(-1e4, 1e4), min_size=4, max_size=4))
def test_kl_logits_gradients_never_nan(a, b):
    """Masked (-inf) and underflowing classes: torch's own F.kl_div(log_softmax, softmax) gives NaN gradients there."""
    if all(v == -math.inf for v in a):
        return
    ta = torch.tensor([a], dtype=torch.float64, requires_grad=True)
    tb = torch.tensor([b], dtype=torch.float64, requires_grad=True)
    kl_logits(ta, tb).backward()
    assert torch.isfinite(ta.grad).all() and torch.isfinite(tb.grad).all()


def test_kl_logits_is_torch_kl_div_with_arguments_swapped():
    g = torch.Generator().manual_seed(1)
    t, s = torch.randn(6, 10, dtype=torch.float64, generator=g), torch.randn(6, 10, dtype=torch.float64, generator=g)
    for red in ("batchmean", "sum", "mean"):
        with warnings.catch_warnings():  # torch warns that its "mean" divides by the classes too (our "mean" does the same)
            warnings.simplefilter("ignore", UserWarning)
            want = F.kl_div(F.log_softmax(s / 2, -1), F.softmax(t / 2, -1), reduction=red)
        torch.testing.assert_close(kl_logits(t, s, temperature=2.0, reduction=red), want, rtol=1e-12, atol=1e-15)
    want = F.kl_div(F.log_softmax(s, -1), F.softmax(t, -1), reduction="none").sum(-1)
    torch.testing.assert_close(kl_logits(t, s, reduction="none"), want, rtol=1e-12, atol=1e-15)
    want = torch.distributions.kl_divergence(torch.distributions.Categorical(logits=t), torch.distributions.Categorical(logits=s))
    torch.testing.assert_close(kl_logits(t, s, reduction="none"), want, rtol=1e-12, atol=1e-15)


def test_kl_logits_gradcheck_and_jax_grad():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    t = torch.tensor([[1.0, -2.0, 0.5, -math.inf]], dtype=torch.float64, requires_grad=True)
    s = torch.tensor([[0.2, 0.1, -1.0, 3.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: kl_logits(a, b), (t, s))
    kl_logits(t, s).backward()
    gj = jax.grad(lambda b: kl_logits(jax.numpy.asarray(t.detach().numpy()), b))(jax.numpy.asarray(s.detach().numpy()))
    np.testing.assert_allclose(np.asarray(gj), s.grad.numpy(), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- kl_logprob


@settings(max_examples=60, deadline=None)
@given(r=hs.floats(-700, 700))
def test_k3_matches_mpmath_without_cancellation(r):
    got = float(kl_logprob(np.array([0.0]), np.array([r]), estimator="k3"))
    want = mp_expm1mx(r)
    assert got == pytest.approx(float(want), rel=1e-13, abs=1e-320)


def test_k3_is_finite_where_the_true_value_is_and_inf_beyond():
    assert math.isfinite(float(kl_logprob(np.array([0.0]), np.array([709.0]), estimator="k3")))
    assert float(kl_logprob(np.array([0.0]), np.array([710.0]), estimator="k3")) == math.inf
    assert float(kl_logprob(np.array([1000.0]), np.array([0.0]), estimator="k3")) == pytest.approx(999.0 + math.exp(-1000))


def test_estimators_unbiasedness_and_expected_gradients_on_a_categorical():
    """Exact expectations over the support (weights p detached): k1, k3 unbiased for D(p||q), k2 not;
    as losses, k1's gradient is 0, k2's that of D(p||q), k3's that of D(q||p) (Tang & Munos 2025)."""
    lp = torch.log_softmax(torch.tensor([0.3, -1.0, 1.2, 0.1], dtype=torch.float64), 0)
    lq = torch.log_softmax(torch.tensor([-0.5, 0.4, 0.9, -1.3], dtype=torch.float64), 0)
    D = float((lp.exp() * (lp - lq)).sum())
    w = lp.exp()
    for est, unbiased in (("k1", True), ("k2", False), ("k3", True)):
        value = float((w * kl_logprob(lp, lq, estimator=est, reduction="none")).sum())
        assert (value == pytest.approx(D, rel=1e-13)) is unbiased
    theta = torch.tensor([0.3, -1.0, 1.2, 0.1], dtype=torch.float64, requires_grad=True)

    def expected_grad(est):
        logp = torch.log_softmax(theta, 0)
        loss = (logp.exp().detach() * kl_logprob(logp, lq, estimator=est, reduction="none")).sum()
        return torch.autograd.grad(loss, theta)[0]

    logp = torch.log_softmax(theta, 0)
    g_fwd = torch.autograd.grad((logp.exp() * (logp - lq)).sum(), theta)[0]
    logp = torch.log_softmax(theta, 0)
    g_rev = torch.autograd.grad((lq.exp() * (lq - logp)).sum(), theta)[0]
    torch.testing.assert_close(expected_grad("k1"), torch.zeros(4, dtype=torch.float64), atol=1e-15, rtol=0)
    torch.testing.assert_close(expected_grad("k2"), g_fwd, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(expected_grad("k3"), g_rev, rtol=1e-12, atol=1e-15)


def test_kl_logprob_reductions():
    lp = np.log(np.array([[0.5, 0.25], [0.125, 0.5]]))
    lq = np.zeros((2, 2))
    k1 = -(lq - lp)
    assert float(kl_logprob(lp, lq)) == pytest.approx(k1.mean())
    assert float(kl_logprob(lp, lq, reduction="batchmean")) == pytest.approx(k1.sum() / 2)
    assert float(kl_logprob(lp, lq, reduction="sum")) == pytest.approx(k1.sum())
    np.testing.assert_allclose(kl_logprob(lp, lq, estimator="k2", reduction="none"), k1**2 / 2)


# ---------------------------------------------------------------- array libraries and errors


@pytest.mark.parametrize("lib", ["numpy", "torch", "jax", "array_api_strict"])
def test_same_values_across_array_libraries(lib):
    mod = pytest.importorskip(lib)
    if lib == "jax":
        mod.config.update("jax_enable_x64", True)
    mk = {
        "numpy": np.asarray,
        "torch": lambda a: torch.tensor(a, dtype=torch.float64),
        "jax": lambda a: mod.numpy.asarray(a),
        "array_api_strict": lambda a: mod.asarray(a, dtype=mod.float64),
    }[lib]
    a = np.array([[0.5, -1.0, 2.0], [0.0, 3.0, -math.inf]])
    b = np.array([[0.1, 0.2, 0.3], [1.0, -1.0, 0.5]])
    c = 0.3 * b
    want = [float(kl_logits(a, b)), float(gaussian_kl(b, c)), float(kl_logprob(b, c, estimator="k3"))]
    got = [kl_logits(mk(a), mk(b)), gaussian_kl(mk(b), mk(c)), kl_logprob(mk(b), mk(c), estimator="k3")]
    for g, w in zip(got, want):
        assert type(g).__module__.split(".")[0] in (lib.split("_")[0], "jaxlib", "array_api_strict", "numpy")
        assert float(g) == pytest.approx(w, rel=1e-13)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="`reduction`.*'avg'"):
        kl_logits(np.zeros((1, 2)), np.zeros((1, 2)), reduction="avg")
    with pytest.raises(ValueError, match="`estimator`.*'k4'"):
        kl_logprob(np.zeros(2), np.zeros(2), estimator="k4")
    with pytest.raises(ValueError, match="`temperature`.*0"):
        kl_logits(np.zeros((1, 2)), np.zeros((1, 2)), temperature=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_fast_expm1mx_matches_mpmath_on_both_sides_of_the_series_threshold(dtype):
    """The torch path (series weighted by a comparison, 4 terms in float32) stays within 64 eps of mpmath, and its extremes."""
    from kullback.losses import kl_logprob

    eps = torch.finfo(dtype).eps
    r = np.concatenate([-np.logspace(-20, 1.5, 300), np.logspace(-20, 1.5, 300), [-1 / 32, 1 / 32, -0.0316, 0.0316]])
    r = torch.tensor(r, dtype=dtype)
    got = kl_logprob(torch.zeros_like(r), r, estimator="k3", reduction="none")
    for ri, gi in zip(r.tolist(), got.tolist(), strict=True):
        want = mp_expm1mx(ri)
        assert abs(mp.mpf(gi) - want) <= 64 * eps * want, (ri, gi, want)
    ext = torch.tensor([-math.inf, 1000.0, math.nan], dtype=dtype)
    out = kl_logprob(torch.zeros_like(ext), ext, estimator="k3", reduction="none")
    assert out[0] == math.inf and out[1] == math.inf and math.isnan(out[2])


def test_gaussian_kl_standard_prior_fast_path_gradients():
    """The fused N(0, I) path: gradcheck with either argument alone requiring a gradient, and torch.distributions' value."""
    g = torch.Generator().manual_seed(3)
    mu = torch.randn(5, 3, generator=g, dtype=torch.float64)
    lv = torch.randn(5, 3, generator=g, dtype=torch.float64) * 0.05
    assert torch.autograd.gradcheck(lambda v: gaussian_kl(mu, v, reduction="none"), (lv.clone().requires_grad_(),))
    assert torch.autograd.gradcheck(lambda m: gaussian_kl(m, lv, reduction="none"), (mu.clone().requires_grad_(),))
    want = torch.distributions.kl_divergence(torch.distributions.Normal(mu, (0.5 * lv).exp()), torch.distributions.Normal(0.0, 1.0))
    assert torch.allclose(gaussian_kl(mu, lv, reduction="none"), want.sum(-1), rtol=1e-13, atol=0)


def test_torch_float_inputs_skip_the_namespace_lookup(monkeypatch):
    """The torch fast path: no array_namespace call per loss (it was ~20 us of a ~1 ms loss); the values are
    those of the generic path, which integer tensors (converted to float64) and NumPy still take."""
    import array_api_compat

    g = torch.Generator().manual_seed(5)
    mu, lv = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    want = [
        float(gaussian_kl(mu.double().numpy(), lv.double().numpy())),
        float(kl_logprob(mu.double().numpy(), lv.double().numpy(), estimator="k3")),
    ]

    def refuse(*a, **k):
        raise AssertionError("array_namespace called for torch float tensors")

    monkeypatch.setattr(array_api_compat, "array_namespace", refuse)
    out = [gaussian_kl(mu.double(), lv.double(), 0, 0.0), kl_logprob(mu.double(), lv.double(), estimator="k3")]
    assert [float(o) for o in out] == pytest.approx(want, rel=1e-15)
    assert gaussian_kl(mu, lv).dtype == torch.float32 and kl_logits(mu, lv, reduction="none").shape == (6,)
    with pytest.raises(AssertionError, match="array_namespace called"):
        gaussian_kl(torch.ones(2, 3, dtype=torch.int64), torch.zeros(2, 3, dtype=torch.int64))  # integers: the generic path
