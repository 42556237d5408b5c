"""Batches of normal pairs: the fused kernel (NumPy, CPU torch) and the eager formula agree with mpmath."""

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st
import torch
import torch.distributions as D

import kullback as kb


def _hard_batch(rng, n=4000):
    """Scale ratios over the whole float64 range, near-identical pairs, and ordinary ones."""
    mp_, mq = rng.normal(size=n), rng.normal(size=n)
    sp, sq = np.exp(rng.uniform(-700, 700, n)), np.exp(rng.uniform(-700, 700, n))
    k = n // 4
    sp[:k] = sq[:k] * (1 + np.logspace(-15, 0, k) * rng.choice([-0.9, 1.0], k))  # r -> 1
    mq[:k] = mp_[:k]
    sp[k : 2 * k], sq[k : 2 * k] = rng.uniform(0.2, 5, k), rng.uniform(0.2, 5, k)  # ordinary
    return mp_, sp, mq, sq


def _reference(mp_, sp, mq, sq):
    mp.mp.dps = 60
    r = mp.mpf(sp) / mp.mpf(sq)
    z = (mp.mpf(mp_) - mp.mpf(mq)) / mp.mpf(sq)
    return (r * r - 1 - 2 * mp.log(r) + z * z) / 2


def _check(got, batch, every=7):
    worst = 0.0
    for i in range(0, len(got), every):
        ref = _reference(*(x[i] for x in batch))
        assert not math.isnan(got[i])
        if ref > 1.7e308:
            assert got[i] == math.inf
            continue
        worst = max(worst, abs(got[i] - float(ref)) / float(ref))
    # d - log1p(d) from the log is used for |d| >= 1e-3: relative error <= 2 eps / 1e-3
    assert worst < 5e-13


def test_numpy_batches_through_kernel_and_generic_path(path, rng):
    batch = _hard_batch(rng)
    got = kb.kl(st.norm(batch[0], batch[1]), st.norm(batch[2], batch[3]))
    _check(got, batch)


@pytest.mark.parametrize("dtype", [torch.float64])
def test_torch_batches_through_kernel_and_eager_path(path, rng, dtype):
    batch = _hard_batch(rng)
    t = [torch.tensor(x, dtype=dtype) for x in batch]
    got = kb.kl(D.Normal(t[0], t[1]), D.Normal(t[2], t[3]))
    assert got.dtype == dtype
    _check(got.numpy(), batch)


def test_torch_kernel_gradients_match_the_eager_path(monkeypatch):
    from kullback import _kernels

    g = torch.Generator().manual_seed(0)
    n = 3000

    def grads():
        mp_ = torch.randn(n, 1, generator=g, dtype=torch.float64).requires_grad_()
        sp = (torch.rand(n, 1, generator=g, dtype=torch.float64) + 0.3).requires_grad_()
        mq = torch.randn(4, generator=g, dtype=torch.float64).requires_grad_()
        sq = (torch.rand(4, generator=g, dtype=torch.float64) + 0.3).requires_grad_()
        val = kb.kl(D.Normal(mp_, sp), D.Normal(mq, sq))
        assert val.shape == (n, 4)
        return val, torch.autograd.grad((val * torch.linspace(0, 1, 4, dtype=torch.float64)).sum(), [mp_, sp, mq, sq])

    monkeypatch.setattr(_kernels, "MIN_SIZE", 0)
    g.manual_seed(0)
    v1, g1 = grads()
    assert type(v1.grad_fn).__name__ == "NormalKLBackward"
    monkeypatch.setattr(_kernels, "MIN_SIZE", np.iinfo(np.int64).max)
    g.manual_seed(0)
    v2, g2 = grads()
    assert type(v2.grad_fn).__name__ != "NormalKLBackward"
    torch.testing.assert_close(v1, v2, rtol=1e-13, atol=0)
    for a, b in zip(g1, g2):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def test_torch_kernel_second_derivatives(monkeypatch):
    from kullback import _kernels

    monkeypatch.setattr(_kernels, "MIN_SIZE", 0)
    m = torch.tensor([0.3, -1.0], dtype=torch.float64, requires_grad=True)
    s = torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(
        lambda m, s: kb.kl(D.Normal(m, s), D.Normal(torch.tensor(0.1, dtype=torch.float64), torch.tensor(1.3, dtype=torch.float64))), (m, s)
    )


def test_float32_kernel_results_are_float32_and_exact(monkeypatch):
    from kullback import _kernels

    monkeypatch.setattr(_kernels, "MIN_SIZE", 0)
    p = D.Normal(torch.zeros(3), torch.tensor([1e-30, 1.0, 1e30]))
    got = kb.kl(p, D.Normal(torch.tensor(0.0), torch.tensor(1.0)))
    assert got.dtype == torch.float32
    assert got[0].item() == pytest.approx(math.log(1e30) - 0.5, rel=1e-6)
    assert got[1].item() == 0.0 and got[2].item() == math.inf
