"""Any array-API library: the strict reference implementation, and JAX where installed."""

import numpy as np
import pytest
import scipy.stats as st
from scipy.spatial.distance import jensenshannon

import kullback as kb


def test_array_api_strict():
    xp = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(3)
    P = rng.dirichlet(np.ones(6), size=3)
    Q = rng.dirichlet(np.ones(6), size=3)
    p, q = xp.asarray(P), xp.asarray(Q)
    d = kb.kl(p, q, axis=1, base=2)
    assert type(d).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray([float(d[i]) for i in range(3)]), st.entropy(P, Q, axis=1, base=2), rtol=1e-10)
    j = kb.js(p, q, axis=0, normalize=True)
    np.testing.assert_allclose([float(j[i]) for i in range(6)], jensenshannon(P, Q, axis=0) ** 2, rtol=1e-10)
    with pytest.raises(ValueError, match=r"p has a negative weight \(-1\.0\) at index \(0, 0\)"):
        kb.kl(xp.asarray([[-1.0, 2.0]]), xp.asarray([[0.5, 0.5]]))


def test_jax_values_and_gradients():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    p = jnp.asarray([0.1, 0.2, 0.7])
    z = jnp.asarray([0.3, -1.0, 0.5])
    d = kb.kl(p, jax.nn.softmax(z))
    assert float(d) == pytest.approx(st.entropy(np.asarray(p), np.asarray(jax.nn.softmax(z))), rel=1e-10)
    grad = jax.grad(lambda z: kb.kl(p, jax.nn.softmax(z)))(z)
    np.testing.assert_allclose(grad, jax.nn.softmax(z) - p, rtol=1e-10, atol=1e-14)
    # under jit the values are unknown: checks are skipped, the numbers still right
    jitted = jax.jit(lambda p, q: kb.kl(p, q))(p, jax.nn.softmax(z))
    assert float(jitted) == pytest.approx(float(d), rel=1e-12)
