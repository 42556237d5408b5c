"""Regression tests for probability vectors (issue 12, classes 8, 9 and 11), each named for what broke.

References: mpmath at 50 digits on the exact input values, scipy.stats.entropy, closed forms
(D(p||p) = 0, H(uniform on n) = log n), torch.nn.functional.kl_div and jax.scipy.special.rel_entr
(the gradients of the unnormalised formula), and hand-derived derivatives.
"""

import math
import subprocess
import sys

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st

import kullback as kb


def _mp_kl(p, q, normalize=True):
    """D(p || q) by mpmath at 50 digits on the exact float values."""
    with mp.workdps(50):
        P = [mp.mpf(float(v)) for v in p]
        Q = [mp.mpf(float(v)) for v in q]
        if normalize:
            sP, sQ = mp.fsum(P), mp.fsum(Q)
            P, Q = [x / sP for x in P], [y / sQ for y in Q]
        return mp.fsum(x * mp.log(x / y) for x, y in zip(P, Q) if x > 0)


# --------------------------------------------------------------------------- class 8: vectors at the edges


@pytest.mark.parametrize("n", [10, 20_000])
def test_huge_weights_do_not_overflow_the_sums(path, n):
    """Was AssertionError: unreachable (n = 20 000, kernel) and NaN (n = 10); scipy gives 0.0.

    Identical rows: D = JS = 0 exactly; the uniform law on n outcomes has H = log n.
    """
    w = np.full(n, 1e305)
    assert kb.kl(w, w, normalize=True) == 0.0
    assert kb.js(w, w, normalize=True) == 0.0
    assert float(kb.entropy(w, normalize=True)) == pytest.approx(math.log(n), rel=1e-14)
    assert float(kb.cross_entropy(w, w, normalize=True)) == pytest.approx(math.log(n), rel=1e-14)
    # a non-trivial pair at the top of the range: D is scale-free, so that of the pattern (mpmath)
    pattern = np.resize([1.0, 3.0, 0.5, 1.7], n)
    other = np.resize([2.0, 1.0, 1.0, 0.25], n)
    got = kb.kl(pattern * 5e307, other * 7e307, normalize=True)  # each below the float64 maximum 1.8e308
    assert float(got) == pytest.approx(float(_mp_kl(pattern, other)), rel=1e-12)


def test_subnormal_weights_give_non_negative_divergences(path):
    """Was -2.9e-8 (s / sum p lost every digit of a subnormal sum); truth by mpmath is 1.5e-7."""
    p = np.array([1.230e-321, 4.481e-321, 9.649e-321, 1.324e-321, 3.789e-321])
    q = np.array([1.230e-321, 4.481e-321, 9.649e-321, 1.324e-321, 3.794e-321])
    P, Q = np.tile(p, 4000), np.tile(q, 4000)  # and through the kernel's chunks
    for a, b in ((p, q), (P, Q)):
        got = kb.kl(a, b, normalize=True)
        assert got >= 0
        assert float(got) == pytest.approx(float(_mp_kl(p, q)), rel=1e-10)
        assert kb.js(a, b, normalize=True) >= 0
        assert float(kb.entropy(a, normalize=True)) == pytest.approx(st.entropy(p / p.max()) + math.log(len(a) / len(p)), rel=1e-12)


def test_tiny_normalised_weights_keep_their_logarithm(path):
    """q = [1, 1e-300] normalises to a value whose ratio with p overflows; p = [1e300, 1e-300] to one that
    underflows: D is still finite and right (mpmath), and a zero of q under such a p is still +inf."""
    p = np.array([1.0, 1.0])
    q = np.array([1e300, 1e-300])
    assert float(kb.kl(p, q, normalize=True)) == pytest.approx(float(_mp_kl(p, q)), rel=1e-12)
    assert float(kb.cross_entropy(p, q, normalize=True)) == pytest.approx(float(_mp_kl(p, q) + mp.log(2)), rel=1e-12)
    assert kb.kl(np.array([1e300, 1e-300]), np.array([1.0, 0.0]), normalize=True) == math.inf


def test_float32_beside_a_list_uses_float32_tolerance(path):
    """A list joins the array's dtype: a float32 p whose sum is off by float32 rounding (~1e-7 > sqrt(eps64))
    was refused at float64's tolerance.  Reference: scipy.stats.entropy in float64 on the float32 values."""
    p = np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32)
    p[0] += np.float32(2e-7)  # sum 1 + 2e-7: within sqrt(eps32) = 3.5e-4, outside sqrt(eps64) = 1.5e-8
    q = [0.25, 0.25, 0.25, 0.25]
    d = kb.kl(p, q)
    assert d.dtype == np.float32
    assert float(d) == pytest.approx(st.entropy(p.astype(np.float64), q), rel=1e-5)
    assert kb.kl(q, p).dtype == np.float32


@pytest.mark.parametrize("n", [200, 20_000])
def test_integer_counts_give_the_default_float_at_every_length(path, n):
    """int16 counts gave float64 at n = 200 and float32 at n = 20 000 (kernel); one rule: float64 for NumPy."""
    counts = (np.arange(n) % 7 + 1).astype(np.int16)
    h = kb.entropy(counts, normalize=True)
    assert h.dtype == np.float64
    assert float(h) == pytest.approx(st.entropy(counts.astype(np.float64)), rel=1e-12)
    assert kb.kl(counts, counts[::-1], normalize=True).dtype == np.float64
    assert kb.kl(counts.astype(np.float32), counts, normalize=True).dtype == np.float64  # integers count in float64


def test_pandas_series_and_other_array_likes_are_accepted():
    """pandas Series were refused (scipy accepts them); any array-like works and gives NumPy results."""
    pd = pytest.importorskip("pandas")
    p, q = [0.36, 0.48, 0.16], [1 / 3, 1 / 3, 1 / 3]
    ref = st.entropy(p, q)
    assert float(kb.kl(pd.Series(p), pd.Series(q))) == pytest.approx(ref, rel=1e-14)
    assert float(kb.kl(memoryview(np.array(p)), tuple(q))) == pytest.approx(ref, rel=1e-14)
    frame = pd.DataFrame({"p": p, "q": q})
    d = kb.kl(frame[["p"]], frame[["q"]], axis=0)
    assert isinstance(d, np.ndarray) and float(d[0]) == pytest.approx(ref, rel=1e-14)
    xr = pytest.importorskip("xarray")
    assert float(kb.kl(xr.DataArray(p), xr.DataArray(q))) == pytest.approx(ref, rel=1e-14)


# --------------------------------------------------------------------------- class 9: gradients


def test_unnormalised_gradient_is_that_of_the_formula_torch():
    """normalize=False differentiated as if renormalised (d/dp = log(p/q) - D); now d/dp = log(p/q) + 1,
    d/dq = -p/q, as torch.nn.functional.kl_div(log q, p, reduction='sum') (the peer)."""
    torch = pytest.importorskip("torch")
    p0 = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    q0 = torch.tensor([0.1, 0.6, 0.3], dtype=torch.float64)
    p, q = p0.clone().requires_grad_(), q0.clone().requires_grad_()
    kb.kl(p, q).backward()
    torch.testing.assert_close(p.grad, (p0 / q0).log() + 1, rtol=1e-14, atol=0)
    torch.testing.assert_close(q.grad, -p0 / q0, rtol=1e-14, atol=0)
    pp, qq = p0.clone().requires_grad_(), q0.clone().requires_grad_()
    torch.nn.functional.kl_div(qq.log(), pp, reduction="sum").backward()
    torch.testing.assert_close(p.grad, pp.grad, rtol=1e-14, atol=0)
    torch.testing.assert_close(q.grad, qq.grad, rtol=1e-14, atol=0)
    # and the Hessian (what Fisher information and Newton steps use): diag(1/p) in p, diag(p/q^2) in q
    h_p = torch.autograd.functional.hessian(lambda x: kb.kl(x, q0), p0)
    torch.testing.assert_close(h_p, torch.diag(1 / p0), rtol=1e-13, atol=1e-14)
    h_q = torch.autograd.functional.hessian(lambda y: kb.kl(p0, y), q0)
    torch.testing.assert_close(h_q, torch.diag(p0 / q0**2), rtol=1e-13, atol=1e-14)


def test_unnormalised_gradients_of_entropy_cross_entropy_and_js_torch():
    """Hand-derived: dH/dp = -(log p + 1); dH(p,q)/dp = -log q, /dq = -p/q; dJS/dp = ½ log(2p/(p+q)),
    the JS of the given vectors with m = (p+q)/2 (no renormalisation)."""
    torch = pytest.importorskip("torch")
    p0 = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    q0 = torch.tensor([0.1, 0.6, 0.3], dtype=torch.float64)
    p = p0.clone().requires_grad_()
    kb.entropy(p).backward()
    torch.testing.assert_close(p.grad, -(p0.log() + 1), rtol=1e-14, atol=0)
    p, q = p0.clone().requires_grad_(), q0.clone().requires_grad_()
    kb.cross_entropy(p, q).backward()
    torch.testing.assert_close(p.grad, -q0.log(), rtol=1e-14, atol=0)
    torch.testing.assert_close(q.grad, -p0 / q0, rtol=1e-14, atol=0)
    p, q = p0.clone().requires_grad_(), q0.clone().requires_grad_()
    kb.js(p, q).backward()
    torch.testing.assert_close(p.grad, 0.5 * (2 * p0 / (p0 + q0)).log(), rtol=1e-14, atol=1e-16)
    torch.testing.assert_close(q.grad, 0.5 * (2 * q0 / (p0 + q0)).log(), rtol=1e-14, atol=1e-16)


def test_normalised_gradient_is_that_of_the_normalised_function_torch():
    """normalize=True keeps the gradient of D(p/sum p || q/sum q): hand-derived
    dD/dp_i = (log(pn_i/qn_i) - D)/sum p, dD/dq_i = (1 - pn_i/qn_i)/sum q; and gradcheck."""
    torch = pytest.importorskip("torch")
    p0 = torch.tensor([2.0, 3.0, 5.0], dtype=torch.float64)
    q0 = torch.tensor([1.0, 6.0, 3.0, 0.0][:3], dtype=torch.float64)
    p, q = p0.clone().requires_grad_(), q0.clone().requires_grad_()
    d = kb.kl(p, q, normalize=True)
    d.backward()
    pn, qn = p0 / p0.sum(), q0 / q0.sum()
    torch.testing.assert_close(p.grad, ((pn / qn).log() - d.detach()) / p0.sum(), rtol=1e-13, atol=1e-16)
    torch.testing.assert_close(q.grad, (1 - pn / qn) / q0.sum(), rtol=1e-13, atol=1e-16)
    for f in (kb.entropy, kb.cross_entropy, kb.js):
        args = (p0.clone().requires_grad_(),) if f is kb.entropy else (p0.clone().requires_grad_(), q0.clone().requires_grad_())
        assert torch.autograd.gradcheck(lambda *a, f=f: f(*a, normalize=True), args)


def test_unnormalised_gradient_is_that_of_the_formula_jax():
    """jax.grad matches jax.grad of sum(jax.scipy.special.rel_entr(p, q)) (the formula sum p log(p/q))."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    p = jnp.asarray([0.2, 0.3, 0.5])
    q = jnp.asarray([0.1, 0.6, 0.3])
    for argnum in (0, 1):
        got = jax.grad(lambda p, q: kb.kl(p, q), argnums=argnum)(p, q)
        ref = jax.grad(lambda p, q: jnp.sum(jax.scipy.special.rel_entr(p, q)), argnums=argnum)(p, q)
        np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=1e-14)
    np.testing.assert_allclose(np.asarray(jax.grad(lambda p: kb.entropy(p))(p)), -(np.log(np.asarray(p)) + 1), rtol=1e-14)


# --------------------------------------------------------------------------- class 11: start-up


def test_first_call_on_lists_imports_no_heavy_library():
    """The first kb.kl of two lists imported torch (and numba, scipy.stats): a fresh process must not."""
    code = (
        "import sys, kullback as kb; kb.kl([.5, .5], [.25, .75]); kb.js([.5, .5], [.25, .75]); kb.entropy([1, 2]+[3], normalize=True); "
        "print(' '.join(m for m in ('torch', 'jax', 'numba', 'llvmlite', 'scipy.stats', 'array_api_compat.numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == []


def test_kernels_import_numba_only_when_a_kernel_is_needed():
    """_kernels imported numba at module import (0.3 s at every `import kullback`); now only on first use:
    AVAILABLE is evaluated lazily, a small normal-pair KL (distributions/_fused.py) does not need it, a
    large vector does."""
    code = (
        "import sys, numpy as np, scipy.stats as st, kullback as kb; from kullback import _kernels; "
        "kb.kl(st.norm(0, 1), st.norm(1, 2)); a = 'numba' in sys.modules; "
        "ok = _kernels.AVAILABLE; kb.kl(np.full(1 << 15, 2.0**-15), np.full(1 << 15, 2.0**-15)); "
        "print(a, ok, 'numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.split() == ["False", "True", "True"]


@pytest.mark.parametrize("n", [50, 20_000])
@pytest.mark.parametrize("normalize", [False, True])
def test_near_identical_vectors_keep_their_digits(path, n, normalize):
    """p and q a relative 1e-6 apart: D ~ 1e-12, and the rounding of p/q (eps absolute in its log) was first order in
    it, as were the rounded sums when normalising and the rounding of m = (p + q)/2 in JS: kb.kl lost 2e-6..7e-5 and
    kb.js 1e-4 of the value (scipy.stats.entropy(p, q) 1.6e-3). Now ~eps / 1e-6. Reference: mpmath at 40 digits on the
    exact inputs."""
    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.ones(n))
    q = p * (1 + 1e-6 * rng.standard_normal(n))
    q = q / q.sum() if not normalize else q * 3.0  # counts of another total when normalising
    with mp.workdps(40):
        P, Q = [mp.mpf(float(v)) for v in p], [mp.mpf(float(v)) for v in q]
        if normalize:
            sp, sq = mp.fsum(P), mp.fsum(Q)
            P, Q = [a / sp for a in P], [b / sq for b in Q]
        want_kl = mp.fsum(a * mp.log(a / b) for a, b in zip(P, Q))
        want_js = mp.fsum((a * mp.log(2 * a / (a + b)) + b * mp.log(2 * b / (a + b))) / 2 for a, b in zip(P, Q))
    assert float(kb.kl(p, q, normalize=normalize)) == pytest.approx(float(want_kl), rel=1e-8)
    assert float(kb.js(p, q, normalize=normalize)) == pytest.approx(float(want_js), rel=1e-8)


# --------------------------------------------------------------------------- issue 24, item 7: NaN gradients


def _grads(f, p, q, dtype="float64", **kw):
    torch = pytest.importorskip("torch")
    tp = torch.tensor(p, dtype=getattr(torch, dtype), requires_grad=True)
    tq = torch.tensor(q, dtype=getattr(torch, dtype), requires_grad=True)
    f(tp, tq, **kw).backward()
    return tp.grad.tolist(), tq.grad.tolist()


def test_gradient_of_kl_at_a_tiny_q_is_minus_p_over_q():
    """dD/dq for q = [1, 1e-160] was [-0.5, nan] (the unused branch of a where formed (p - q)/q, and torch's quotient
    rule x/y^2 overflowed), every component NaN with normalize=True; float32 from q ~ 1e-20. Truth: -p/q, and for
    the normalised function (1 - pn/qn)/sum q (hand-derived; mpmath at 30 digits)."""
    _, gq = _grads(kb.kl, [0.5, 0.5], [1.0, 1e-160])
    assert gq == [-0.5, pytest.approx(-5e159, rel=1e-15)]
    _, gq = _grads(kb.kl, [0.5, 0.5], [1.0, 1e-20], "float32")
    assert gq == [-0.5, pytest.approx(-5e19, rel=1e-6)]
    _, gq = _grads(kb.kl, [0.5, 0.5], [1.0, 1e-160], normalize=True)
    with mp.workdps(30):
        s = 1 + mp.mpf(1e-160)
        want = [float((1 - mp.mpf(0.5) * s) / s), float((1 - mp.mpf(0.5) / (mp.mpf(1e-160) / s)) / s)]
    assert gq == pytest.approx(want, rel=1e-14)


def test_gradient_of_kl_at_an_underflowing_ratio_is_finite():
    """p = [1e-300, 1], q = [1, 1e-300]: p/q overflows in the second outcome; dD/dq was [-1e-300, nan]."""
    _, gq = _grads(kb.kl, [1e-300, 1.0], [1.0, 1e-300])
    assert gq == [pytest.approx(-1e-300, rel=1e-15), pytest.approx(-1e300, rel=1e-15)]


def test_gradient_of_js_with_a_padding_class_is_finite():
    """An outcome with weight 0 in p and q (a padding class) made its dJS/dp, dJS/dq NaN, and every component NaN
    with normalize=True. Truth (one-sided partials): dJS/dx = 1/2 log(2x/(x + y)) where x > 0 and 1/2 log 2 where
    x = y = 0 (the term is x log 2 / 2 along x); normalised, (g_i - sum_j pn_j g_j) / sum p."""
    p, q = [0.2, 0.8, 0.0], [0.6, 0.4, 0.0]
    g = [0.5 * math.log(2 * a / (a + b)) if a > 0 else 0.5 * math.log(2) for a, b in zip(p, q)]
    h = [0.5 * math.log(2 * b / (a + b)) if b > 0 else 0.5 * math.log(2) for a, b in zip(p, q)]
    for dtype, rel in (("float64", 1e-14), ("float32", 1e-6)):
        gp, gq = _grads(kb.js, p, q, dtype)
        assert gp == pytest.approx(g, rel=rel) and gq == pytest.approx(h, rel=rel)
    counts_p, counts_q = [2.0, 8.0, 0.0], [3.0, 2.0, 0.0]
    gp, gq = _grads(kb.js, counts_p, counts_q, normalize=True)
    mean_g = sum(a * b for a, b in zip(p, g))
    mean_h = sum(a * b for a, b in zip(q, h))
    assert gp == pytest.approx([(gi - mean_g) / 10 for gi in g], rel=1e-13, abs=1e-16)
    assert gq == pytest.approx([(hi - mean_h) / 5 for hi in h], rel=1e-13, abs=1e-16)


def test_gradient_of_js_at_subnormal_weights_is_finite():
    """p = [1, 5e-320], q = [1, 4e-321]: dJS/dp_2 was -inf (torch's quotient rule squared the subnormal sum);
    truth 1/2 log(2p/(p + q)) (mpmath), to the digits a subnormal weight has (the gradient's p * (1/p) rounds on the
    subnormal grid: smallest subnormal / p = 1e-4)."""
    gp, gq = _grads(kb.js, [1.0, 5e-320], [1.0, 4e-321])
    with mp.workdps(30):
        a, b = mp.mpf(5e-320), mp.mpf(4e-321)
        assert gp[1] == pytest.approx(float(mp.log(2 * a / (a + b)) / 2), rel=1e-3)
        assert gq[1] == pytest.approx(float(mp.log(2 * b / (a + b)) / 2), rel=1e-3)


def test_gradient_of_cross_entropy_in_p_where_p_is_zero_is_minus_log_q():
    """-p log q is linear in p: at p = 0 < q its derivative is -log q, which came out 0."""
    gp, _ = _grads(kb.cross_entropy, [0.0, 1.0], [0.25, 0.75])
    assert gp == pytest.approx([-math.log(0.25), -math.log(0.75)], rel=1e-15)


def test_gradient_of_normalised_kl_with_a_subnormal_total_is_not_nan():
    """Weights whose sum is subnormal: 1/max overflowed in the chain rule and met its negative (inf - inf = NaN in
    every component). D(p||p) = 0 for any scale, and its gradient is 0 (the normalised function is flat there)."""
    w = [3e-320, 5e-320]
    gp, gq = _grads(kb.kl, w, w, normalize=True)
    assert gp == [0.0, 0.0] and gq == [0.0, 0.0]


def test_gradient_of_kl_at_a_tiny_q_is_minus_p_over_q_jax():
    """The same class through jax.grad: dD/dq = -p/q at q = 1e-160 (was NaN)."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    gq = jax.grad(lambda q: kb.kl(jnp.asarray([0.5, 0.5]), q))(jnp.asarray([1.0, 1e-160]))
    np.testing.assert_allclose(np.asarray(gq), [-0.5, -5e159], rtol=1e-15)
    gq = jax.grad(lambda q: kb.js(jnp.asarray([0.5, 0.5, 0.0]), q, normalize=True))(jnp.asarray([0.25, 0.75, 0.0]))
    assert np.all(np.isfinite(np.asarray(gq)))


# --------------------------------------------------------------------------- issue 24, item 11: bases below 1


@pytest.mark.parametrize("base", [0.5, 1, 1.0, 0, -2, 1e-300, 0.999999, float("nan"), float("inf"), np.float32(0.5)])
def test_base_below_or_at_one_is_refused_for_vectors_and_objects(base):
    """base=0.5 made every divergence negative (H = 1 bit came out -1, as scipy.stats.entropy(p, base=0.5) gives),
    against the guarantee that divergences and entropies are never below 0; now every base that is not a finite
    number above 1 is refused, naming `base`, for vectors and for distribution objects alike."""
    assert st.entropy([0.5, 0.5], base=0.5) == pytest.approx(-1.0)  # the peer's answer, which we refuse to give
    p, q = [0.5, 0.5], [0.25, 0.75]
    for call in (
        lambda: kb.kl(p, q, base=base),
        lambda: kb.entropy(p, base=base),
        lambda: kb.cross_entropy(p, q, base=base),
        lambda: kb.js(p, q, base=base),
        lambda: kb.kl(st.norm(0, 1), st.norm(1, 1), base=base),
        lambda: kb.entropy(st.poisson(3), base=base),
        lambda: kb.cross_entropy(st.norm(0, 1), st.norm(1, 1), base=base),
        lambda: kb.js(st.norm(0, 1), st.norm(1, 1), base=base),
    ):
        with pytest.raises(ValueError, match=r"`base` must be a finite number above 1 .*got"):
            call()


@pytest.mark.parametrize("base", [0.5, 1, 0, -2, 0.999999, float("nan"), float("inf")])
def test_base_below_or_at_one_is_refused_by_estimation_fitting_and_compare(base, tmp_path):
    """The siblings of the test above: estimate_kl/entropy/js, fit, rank and compare (and `kullback compare --base`)
    took any positive base other than 1, so base=0.5 gave every estimate, fit's kl and compare's psi a negative sign."""
    from kullback.cli import main

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=200), rng.normal(0.5, 1, size=200)
    for call in (
        lambda: kb.estimate_kl(x, y, base=base),
        lambda: kb.estimate_entropy(x, base=base),
        lambda: kb.estimate_js(x, y, base=base),
        lambda: kb.fit(x, st.norm, base=base),
        lambda: kb.rank(x, [st.norm], base=base),
        lambda: kb.compare({"v": x}, {"v": y}, base=base),
    ):
        with pytest.raises(ValueError, match=r"`base` must be .*a finite number above 1"):
            call()
    ref, cur = tmp_path / "ref.csv", tmp_path / "cur.csv"
    ref.write_text("v\n" + "\n".join(map(str, x)))
    cur.write_text("v\n" + "\n".join(map(str, y)))
    assert main(["compare", str(ref), str(cur), "--base", str(base)]) == 2


def test_bases_above_one_convert_units():
    """Any finite base above 1 divides by its log: base 2 gives bits (H of a fair coin = 1), base 1.5 log_1.5."""
    assert float(kb.entropy([0.5, 0.5], base=2)) == pytest.approx(1.0, rel=1e-15)
    assert float(kb.kl([0.5, 0.5], [0.25, 0.75], base=1.5)) == pytest.approx(
        st.entropy([0.5, 0.5], [0.25, 0.75]) / math.log(1.5), rel=1e-14
    )
    assert float(kb.kl(st.norm(0, 1), st.norm(1, 1), base=np.float32(2))) == pytest.approx(0.5 / math.log(2), rel=1e-12)


# --------------------------------------------------------------------------- issue 24, items 9 and 10: arrays that are not plain data


def test_masked_arrays_with_masked_outcomes_are_refused():
    """A masked array's sum honoured the mask while the terms used the hidden data: kl gave 0.218 for the masked
    vectors below, whose visible parts (scipy.stats.entropy) give 0.1438. Refused, naming `p` and the two remedies;
    .filled(0) then gives scipy's value, and a masked array with nothing masked is plain data."""
    m = np.ma.masked_array([0.5, 0.3, 0.2, 9.0], mask=[0, 0, 0, 1])
    n = np.ma.masked_array([0.25, 0.25, 0.5, 0.0], mask=[0, 0, 0, 1])
    for call in (lambda: kb.kl(m, n), lambda: kb.entropy(m), lambda: kb.js([0.5, 0.3, 0.2, 0.0], m, normalize=True)):
        with pytest.raises(TypeError, match=r"masked array with 1 masked outcome.*\.filled\(0\).*\.compressed\(\)"):
            call()
    assert float(kb.kl(m.filled(0), n.filled(0))) == pytest.approx(st.entropy([0.5, 0.3, 0.2], [0.25, 0.25, 0.5]), rel=1e-14)
    plain = np.ma.masked_array([0.5, 0.3, 0.2], mask=[0, 0, 0])
    assert float(kb.entropy(plain)) == pytest.approx(st.entropy([0.5, 0.3, 0.2]), rel=1e-14)


@pytest.mark.parametrize(
    "w",
    [
        np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]"),
        np.array([1, 2], dtype="timedelta64[s]"),
        np.array([0.5, 0.5], dtype=object),
        np.array(["0.5", "0.5"]),
    ],
)
def test_dates_durations_strings_and_objects_are_not_weights(w):
    """datetime64 and timedelta64 arrays were taken as their integer counts (entropy 0.6931 of two dates), object
    and string arrays parsed; an array of anything but real numbers is now a TypeError naming `p`."""
    with pytest.raises(TypeError, match=r"`p` must hold real numbers, got an array of dtype"):
        kb.entropy(w, normalize=True)
    with pytest.raises(TypeError, match=r"`q` must hold real numbers"):
        kb.kl(np.array([0.5, 0.5]), w, normalize=True)


def test_boolean_weights_are_refused_in_every_form():
    """Decided: True/False are indicators, not weights (1/0 would be a guess); refused as lists, NumPy and torch."""
    torch = pytest.importorskip("torch")
    for w in ([True, False], np.array([True, True]), torch.tensor([True, False])):
        with pytest.raises(TypeError, match="boolean dtype"):
            kb.entropy(w, normalize=True)


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_np_matrix_is_read_as_its_2d_array():
    """np.matrix failed inside NumPy ("matrix.sum() got an unexpected keyword argument 'keepdims'"); it is now the
    same 2-D array, axis keeping its meaning (rows along axis=-1, columns along axis=0). Reference: scipy."""
    P, Q = [[0.5, 0.5], [0.25, 0.75]], [[0.25, 0.75], [0.5, 0.5]]
    got = kb.kl(np.matrix(P), np.matrix(Q))
    assert type(got) is np.ndarray and got.shape == (2,)
    np.testing.assert_allclose(got, st.entropy(np.array(P), np.array(Q), axis=-1), rtol=1e-14)
    got = kb.js(np.matrix(P), np.matrix(Q), axis=0, normalize=True)
    np.testing.assert_allclose(got, kb.js(np.array(P), np.array(Q), axis=0, normalize=True), rtol=0)


def test_meta_tensors_are_refused_with_our_message():
    """A tensor on the meta device failed in torch ("Tensor.item() cannot be called on meta tensors")."""
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"`p` is a tensor on the meta device"):
        kb.kl(torch.empty(3, device="meta"), torch.empty(3, device="meta"))


def test_dask_arrays_of_unknown_size_are_refused_with_our_message():
    """p[p > 0] on a Dask array has shape (nan,): kl said "p has nan, q has nan" outcomes; now it names `p` and says
    to call compute_chunk_sizes(). A single such vector needs no lining up: its entropy still computes (log 2)."""
    da = pytest.importorskip("dask.array")
    x = da.from_array(np.array([0.5, 0.0, 0.5]), chunks=2)
    y = da.from_array(np.array([0.25, 0.0, 0.75]), chunks=2)
    with pytest.raises(ValueError, match=r"`p` has dimensions of unknown size \(shape \(nan,\)\).*compute_chunk_sizes"):
        kb.kl(x[x > 0], y[y > 0])
    assert float(kb.entropy(x[x > 0])) == pytest.approx(math.log(2), rel=1e-15)
    known = x[x > 0].compute_chunk_sizes()
    assert float(kb.kl(known, y[y > 0].compute_chunk_sizes())) == pytest.approx(st.entropy([0.5, 0.5], [0.25, 0.75]), rel=1e-14)


def test_gradient_of_normalised_js_where_a_normalised_weight_underflows():
    """float32 counts p = [5, 7e-45, 5], q = [0, 10, 0]: p's middle weight normalises to 7e-46, below float32's
    smallest subnormal, so the value saw 0 and the gradient gave -0.0347 for the truth -5.19860 (the closed form
    (g_i - sum_j pn_j g_j) / sum p with g_i = 1/2 log(2 pn_i / (pn_i + qn_i)), mpmath at 30 digits)."""
    gp, _ = _grads(kb.js, [5.0, 7e-45, 5.0], [0.0, 10.0, 0.0], "float32", normalize=True)
    with mp.workdps(30):
        w = [mp.mpf(5), mp.mpf(float(np.float32(7e-45))), mp.mpf(5)]
        s = mp.fsum(w)
        pn, qn = [a / s for a in w], [mp.mpf(0), mp.mpf(1), mp.mpf(0)]
        g = [mp.log(2 * a / (a + b)) / 2 for a, b in zip(pn, qn)]
        mean = mp.fsum(a * b for a, b in zip(pn, g))
        want = [float((gi - mean) / s) for gi in g]
    assert gp == pytest.approx(want, rel=1e-5)
