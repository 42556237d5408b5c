"""PyTorch tensors in, PyTorch tensors out, with gradients checked against hand derivations."""

import math

import numpy as np
import pytest
import scipy.stats as st
from scipy.spatial.distance import jensenshannon

import kullback as kb

torch = pytest.importorskip("torch")
F = torch.nn.functional


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(7)


@pytest.mark.parametrize("base", [None, 2])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_values_match_scipy(gen, axis, base):
    p = torch.softmax(torch.randn(4, 6, dtype=torch.float64, generator=gen), dim=axis)
    q = torch.softmax(torch.randn(4, 6, dtype=torch.float64, generator=gen), dim=axis)
    P, Q = p.numpy(), q.numpy()
    d = kb.kl(p, q, axis=axis, base=base)
    assert isinstance(d, torch.Tensor) and d.dtype == torch.float64
    np.testing.assert_allclose(d.numpy(), st.entropy(P, Q, axis=axis, base=base), rtol=1e-10)
    np.testing.assert_allclose(kb.entropy(p, axis=axis, base=base).numpy(), st.entropy(P, axis=axis, base=base), rtol=1e-10)
    np.testing.assert_allclose(kb.js(p, q, axis=axis, base=base).numpy(), jensenshannon(P, Q, axis=axis, base=base) ** 2, rtol=1e-10)
    h = kb.cross_entropy(p, q, axis=axis, base=base).numpy()
    ref = st.entropy(P, axis=axis, base=base) + st.entropy(P, Q, axis=axis, base=base)
    np.testing.assert_allclose(h, ref, rtol=1e-10)


def test_matches_torch_kl_div(gen):
    # torch's kl_div(input=log q, target=p) is D(p || q): note the reversed argument order
    p = torch.softmax(torch.randn(8, 10, dtype=torch.float64, generator=gen), -1)
    q = torch.softmax(torch.randn(8, 10, dtype=torch.float64, generator=gen), -1)
    ref = F.kl_div(q.log(), p, reduction="none").sum(-1)
    torch.testing.assert_close(kb.kl(p, q), ref, rtol=1e-12, atol=0)


def test_float32_and_lists_join_the_tensor(gen):
    p = torch.softmax(torch.randn(5, generator=gen), -1)
    d = kb.kl(p, [0.2] * 5)
    assert isinstance(d, torch.Tensor) and d.dtype == torch.float32
    assert d.item() == pytest.approx(st.entropy(p.numpy().astype(np.float64), [0.2] * 5), rel=1e-5)


def test_gradient_of_distillation_loss_through_softmax(gen):
    # d/dz D(p || softmax(z)) = softmax(z) - p
    p = torch.softmax(torch.randn(3, 7, dtype=torch.float64, generator=gen), -1)
    z = torch.randn(3, 7, dtype=torch.float64, generator=gen, requires_grad=True)
    kb.kl(p, torch.softmax(z, -1)).sum().backward()
    torch.testing.assert_close(z.grad, torch.softmax(z, -1).detach() - p, rtol=1e-12, atol=1e-14)


def test_gradient_with_respect_to_p_through_softmax(gen):
    # d/da D(softmax(a) || q) = p * (log p - log q - D)
    a = torch.randn(6, dtype=torch.float64, generator=gen, requires_grad=True)
    q = torch.softmax(torch.randn(6, dtype=torch.float64, generator=gen), -1)
    d = kb.kl(torch.softmax(a, -1), q)
    d.backward()
    p = torch.softmax(a, -1).detach()
    torch.testing.assert_close(a.grad, p * (p.log() - q.log() - d.detach()), rtol=1e-12, atol=1e-14)


def test_gradient_of_entropy_and_js(gen):
    # d/da H(softmax(a)) = -p (log p + H)
    a = torch.randn(5, dtype=torch.float64, generator=gen, requires_grad=True)
    h = kb.entropy(torch.softmax(a, -1))
    h.backward()
    p = torch.softmax(a, -1).detach()
    torch.testing.assert_close(a.grad, -p * (p.log() + h.detach()), rtol=1e-12, atol=1e-14)
    # d JS / d p_i = ½ log(p_i / m_i); through softmax: p * (g - sum(p g))
    a.grad = None
    q = torch.softmax(torch.randn(5, dtype=torch.float64, generator=gen), -1)
    kb.js(torch.softmax(a, -1), q).backward()
    g = 0.5 * (p / (0.5 * (p + q))).log()
    torch.testing.assert_close(a.grad, p * (g - (p * g).sum()), rtol=1e-12, atol=1e-14)


def test_gradient_is_finite_where_p_has_zeros():
    p = torch.tensor([0.0, 0.25, 0.75], dtype=torch.float64)
    z = torch.tensor([0.1, -0.3, 0.4], dtype=torch.float64, requires_grad=True)
    kb.kl(p, torch.softmax(z, -1)).backward()
    torch.testing.assert_close(z.grad, torch.softmax(z, -1).detach() - p, rtol=1e-12, atol=1e-14)
    a = torch.tensor([0.5, 0.0, 0.5], dtype=torch.float64, requires_grad=True)
    kb.entropy(a).backward()
    assert torch.isfinite(a.grad).all()


def test_gradcheck():
    def f(p, q):
        return kb.kl(p, q, normalize=True)

    p = torch.rand(4, 5, dtype=torch.float64, requires_grad=True) + 0.1
    q = torch.rand(4, 5, dtype=torch.float64, requires_grad=True) + 0.1
    assert torch.autograd.gradcheck(f, (p.detach().requires_grad_(), q.detach().requires_grad_()))
    assert torch.autograd.gradcheck(lambda p, q: kb.js(p, q, normalize=True), (p.detach().requires_grad_(), q.detach().requires_grad_()))


def test_support_mismatch_and_errors():
    assert kb.kl(torch.tensor([0.5, 0.5]), torch.tensor([1.0, 0.0])).item() == math.inf
    with pytest.raises(ValueError, match=r"p has a negative weight \(-0\.5\) at index 1"):
        kb.kl(torch.tensor([1.5, -0.5], requires_grad=True), torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match=r"q sums to .* not 1"):
        kb.kl(torch.tensor([0.5, 0.5]), torch.tensor([0.5, 0.6]))
    with pytest.raises(TypeError, match="different array libraries"):
        kb.kl(torch.tensor([0.5, 0.5]), np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="same number of outcomes"):
        kb.kl(torch.tensor([0.5, 0.5]), torch.tensor([0.2, 0.3, 0.5]))
    counts = torch.tensor([1, 2, 3])
    h = kb.entropy(counts, normalize=True)
    assert h.dtype == torch.get_default_dtype()
    assert h.item() == pytest.approx(st.entropy([1, 2, 3]), rel=1e-6)
