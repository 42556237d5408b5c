"""Training losses built on the Kullback–Leibler divergence, on the array API (NumPy, PyTorch, JAX, ...).

Three losses, each in the mathematical argument order D(p || q):

- :func:`gaussian_kl` — the VAE term D(N(mu, e^logvar) || N(mu_q, e^logvar_q));
- :func:`kl_logits` — distillation from logits, D(softmax(logits_p / T) || softmax(logits_q / T));
- :func:`kl_logprob` — the per-sample estimators k1, k2, k3 of RL fine-tuning (Schulman 2020).

Unlike ``torch.nn.functional.kl_div(input, target)``, which computes D(target || exp(input))
from the *log* of the second law first and, with ``reduction="mean"``, divides by the number of
elements (not of examples), these take both laws in the same form, in the order of the formula,
and default to ``reduction="batchmean"``: the divergence per example.

Results are arrays of the caller's library; gradients flow (autograd, ``jax.grad``); nothing is
computed as ``x * log(x)`` or ``exp(a) - 1 - a`` with cancellation: no NaN at extreme or ``-inf``
logits, and a value exact to rounding where p is close to q.
"""

from __future__ import annotations

import math
import sys

__all__ = ["gaussian_kl", "kl_logits", "kl_logprob", "REDUCTIONS"]

REDUCTIONS = ("none", "sum", "mean", "batchmean")
ESTIMATORS = ("k1", "k2", "k3")

# 1/k! for k = 2..9: e^x - 1 - x = x^2 sum_k x^(k-2)/k!; below |x| = 1/32 the 8 terms leave a
# relative remainder under 2 (1/32)^8 / 10! ~ 2e-19; above it expm1(x) - x loses at most
# log2(2/|x|) = 6 bits to cancellation (relative error < 64 eps)
_INV_FACT = [1.0]
for _k in range(1, 10):
    _INV_FACT.append(_INV_FACT[-1] / _k)
_SERIES = _INV_FACT[2:10]
_SMALL = 1.0 / 32


def _torch_nodes(*tensors):
    """kullback._losses_torch (imported on first use: torch stays optional) if its autograd nodes can take these tensors, else None."""
    from . import _losses_torch

    return _losses_torch if _losses_torch.usable(*tensors) else None


_TORCH_XP = None


def _torch_floats(*arrays) -> bool:
    """True if every argument is a floating torch tensor or a Python float/int (torch already imported by the caller)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    tensor = torch.Tensor
    return all((isinstance(a, tensor) and a.dtype.is_floating_point) or type(a) in (float, int) for a in arrays)


def _namespace(*arrays):
    """The array namespace of the arrays (Python scalars and lists: NumPy) and the arrays in it."""
    global _TORCH_XP
    if _torch_floats(*arrays) and not all(type(a) in (float, int) for a in arrays):
        # torch tensors of floats, the common case of a training loop: the namespace looked up once, nothing to
        # convert (array_namespace and the per-argument checks cost ~20 us a call against a ~1 ms loss)
        if _TORCH_XP is None:
            import array_api_compat.torch as _TORCH_XP
        return _TORCH_XP, [float(a) if type(a) is int else a for a in arrays]
    import array_api_compat
    import numpy as np

    real = [a for a in arrays if not isinstance(a, (int, float))]
    converted = [np.asarray(a, dtype=np.float64) if isinstance(a, (list, tuple)) else a for a in real]
    xp = array_api_compat.array_namespace(*converted) if converted else array_api_compat.array_namespace(np.empty(0))
    out, it = [], iter(converted)
    for a in arrays:
        out.append(a if isinstance(a, (int, float)) else next(it))
    out = [_floating(xp, a) for a in out]
    return xp, out


def _floating(xp, a):
    if isinstance(a, (int, float)):
        return float(a)
    if not xp.isdtype(a.dtype, "real floating"):
        return xp.astype(a, xp.float64 if hasattr(xp, "float64") else xp.float32)
    return a


def _stop_gradient(xp, x):
    """x without its gradient: the library's own (torch ``detach``, ``jax.lax.stop_gradient``); NumPy has none."""
    if hasattr(x, "detach"):
        return x.detach()
    if type(x).__module__.startswith("jax"):
        import jax

        return jax.lax.stop_gradient(x)
    return x


def _expm1mx(xp, x):
    """e^x - 1 - x without cancellation: the Taylor series below |x| = 1/32, expm1(x) - x above.

    torch: one autograd node (:mod:`kullback._losses_torch`).  Elsewhere the value is computed on x with
    its gradient stopped, and the exact derivatives are attached by terms that are 0 in value,
    b (x - x0) + ½ (b + 1) (x - x0)^2 with b = expm1(x0): first and second derivatives expm1(x) and
    e^x (``jax.grad``, ``jax.hessian``), and a graph that keeps one tensor, as the plain
    ``exp(x) - 1 - x`` does, instead of one per step of the series.  b is capped at the largest float,
    so that no infinity meets the zero (x - x0) (inf * 0 = NaN): where e^x overflows the value is inf
    and the derivative the largest float.
    """
    import numpy as np

    if _is_torch(x):
        nodes = _torch_nodes(x)
        if nodes is not None:
            return nodes.Expm1mx.apply(x)[0]
    x0 = _stop_gradient(xp, x)
    # masks as 0/1 factors, not `where` (slow on CPU with a scalar operand); the series sees x
    # clipped to its interval, so that its unused values stay finite (never inf * 0)
    small = xp.astype(xp.abs(x0) < _SMALL, x0.dtype)
    xs = xp.clip(x0, -_SMALL, _SMALL)
    poly = _SERIES[-1] * xs + _SERIES[-2]
    for c in reversed(_SERIES[:-2]):
        poly = poly * xs + c
    with np.errstate(over="ignore", invalid="ignore"):  # e^x overflows only where e^x - 1 - x exceeds the largest float
        big = xp.expm1(x0)
        large = big - x0
        value = small * (xs * xs * poly) + (1.0 - small) * large
    if x0 is x:
        return value
    b = xp.clip(big, None, float(xp.finfo(x0.dtype).max))
    h = x - x0
    return value + (b * h + (0.5 * (b + 1.0)) * (h * h))


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach") and x.dtype.is_floating_point


def _reduce(xp, per_item, reduction: str, batch: int, elements: int):
    """Reduce per-example values: none, sum, batchmean (sum / batch size), mean (sum / input elements, as torch)."""
    if reduction == "none":
        return per_item
    total = per_item.sum() if _is_torch(per_item) else xp.sum(per_item)  # torch: the same torch.sum, without the wrapper
    if reduction == "sum":
        return total
    return total / (batch if reduction == "batchmean" else elements)


def _check_reduction(reduction):
    if reduction not in REDUCTIONS:
        msg = f"`reduction` must be one of {REDUCTIONS}; got {reduction!r}"
        raise ValueError(msg)


def _size(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def _batch(shape) -> int:
    return int(shape[0]) if len(shape) else 1


def gaussian_kl(mu, logvar, mu_q=0.0, logvar_q=0.0, *, reduction="batchmean"):
    """D(N(mu, e^logvar) || N(mu_q, e^logvar_q)) of diagonal Gaussians, summed over the last axis.

    The KL term of a VAE's loss (Kingma & Welling 2014, appendix B): with the defaults it is the
    divergence of the encoder's N(mu, diag(e^logvar)) from the prior N(0, I).

    Parameters
    ----------
    mu, logvar : array
        Means and log-variances of p, shape (..., latent); any array-API array.
    mu_q, logvar_q : array or float
        Means and log-variances of q (broadcast against ``mu``); 0 gives the standard normal.
    reduction : {"batchmean", "sum", "mean", "none"}
        ``"none"``: one value per example (shape ``mu.shape[:-1]``); ``"sum"``: their sum;
        ``"batchmean"`` (default): the sum over ``mu.shape[0]``, the KL per example;
        ``"mean"``: the sum over all elements of ``mu`` — torch's ``kl_div`` "mean", which also
        divides by the latent dimension (a known source of VAEs whose KL term is too weak).

    Returns
    -------
    array of the inputs' library; gradients flow.

    Notes
    -----
    Per dimension, with d = logvar - logvar_q (Bishop 2006, eq. (10.219) in one dimension):

        D = ½ [ (e^d - 1 - d) + (mu - mu_q)^2 e^(-logvar_q) ],

    with e^d - 1 - d computed without cancellation, so that D is exact to rounding when p is close to q
    (the usual ``exp(d) - 1 - d`` loses all digits there), and finite for any finite logvar whose
    divergence is (e^d overflows only where D itself exceeds the largest float).  On contiguous
    float32/float64 CPU torch tensors one fused pass (:mod:`kullback._loss_kernels`) computes it in
    float64 from e^x = 2^k e^r (Cody & Waite's reduction, the Taylor series of e^r - 1 - r); elsewhere
    the Taylor series of e^d - 1 - d below |d| ~ 1/32 and expm1(d) - d above.  First and second
    derivatives are exact (``torch.autograd.gradgradcheck``, ``jax.hessian``).

    Examples
    --------
    >>> import numpy as np
    >>> from kullback.losses import gaussian_kl
    >>> round(float(gaussian_kl(np.array([[1.0, 0.0]]), np.array([[0.0, np.log(4.0)]]))), 7)  # ½ + ½(4 - 1 - log 4)
    1.3068528
    """
    import numpy as np

    _check_reduction(reduction)
    xp, (mu, logvar, mu_q, logvar_q) = _namespace(mu, logvar, mu_q, logvar_q)
    if (
        type(mu_q) is float
        and type(logvar_q) is float
        and mu_q == 0.0
        and logvar_q == 0.0
        and _is_torch(mu)
        and _is_torch(logvar)
        and mu.shape == logvar.shape
        and mu.dtype == logvar.dtype
        and mu.ndim > 0
    ):  # the VAE's N(0, I) prior on torch: one autograd node, two saved tensors (as the plain expression)
        nodes = _torch_nodes(mu, logvar)
        if nodes is not None:
            per = nodes.PriorTerm.apply(mu, logvar)[0]
            return _reduce(xp, per, reduction, _batch(mu.shape), mu.numel())
    # a scalar prior: no subtraction by 0, no tensor of e^-logvar_q formed or kept
    d = logvar if isinstance(logvar_q, float) and logvar_q == 0.0 else logvar - logvar_q
    dm = mu if isinstance(mu_q, float) and mu_q == 0.0 else mu - mu_q
    inv_var_q = math.exp(-logvar_q) if isinstance(logvar_q, float) else xp.exp(-logvar_q)
    sq = dm**2 if isinstance(inv_var_q, float) and inv_var_q == 1.0 else dm**2 * inv_var_q
    shape = tuple(np.broadcast_shapes(tuple(d.shape), tuple(dm.shape)))
    # the factor ½ applied to the sums over the last axis (one element per example, not per dimension)
    per = 0.5 * xp.sum(_expm1mx(xp, d) + sq, axis=-1)
    return _reduce(xp, per, reduction, _batch(shape), _size(shape))


def _log_softmax(xp, x, axis):
    """x - logsumexp(x) along axis; a row of only -inf gives -inf everywhere (no NaN)."""
    if hasattr(x, "detach") and hasattr(x, "log_softmax"):  # torch: its fused kernel (one saved tensor, not four)
        return x.log_softmax(axis)
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0.0)
    z = x - m
    return z - xp.log(xp.sum(xp.exp(z), axis=axis, keepdims=True))


def kl_logits(logits_p, logits_q, *, temperature=1.0, axis=-1, reduction="batchmean"):
    """D(softmax(logits_p / T) || softmax(logits_q / T)) along ``axis``: distillation from logits.

    p is the teacher (the law whose information is kept), q the student; the argument order is
    the formula's.  ``torch.nn.functional.kl_div(input, target)`` takes the student's
    *log-probabilities* first and the teacher's probabilities second, and computes
    D(target || exp(input)): ``kl_logits(t, s)`` equals
    ``F.kl_div(F.log_softmax(s, -1), F.softmax(t, -1), reduction="batchmean")``.

    Parameters
    ----------
    logits_p, logits_q : array
        Unnormalised log-probabilities, shape (..., classes); ``-inf`` masks a class out.
    temperature : float
        Both laws are softened as softmax(logits / T) (Hinton et al. 2015).  Their gradient
        scales as 1/T^2: multiply the loss by ``temperature**2`` to keep it comparable across T.
    axis : int
        The classes' axis.
    reduction : {"batchmean", "sum", "mean", "none"}
        ``"none"``: one divergence per row; ``"batchmean"`` (default): their sum over the size
        of the first axis, the KL per example; ``"sum"``; ``"mean"``: the sum over the number of
        elements (torch's ``kl_div`` "mean", which also divides by the number of classes).

    Notes
    -----
    D = sum_i p_i (log p_i - log q_i) with log p, log q by a max-shifted logsumexp; classes with
    p_i = 0 (a -inf logit, or underflow) contribute exactly 0 and a zero gradient (the term is
    masked before the product, so 0 * inf never forms); D = inf where q_i = 0 < p_i.

    Examples
    --------
    >>> import numpy as np
    >>> from kullback.losses import kl_logits
    >>> round(float(kl_logits(np.log([[0.36, 0.48, 0.16]]), np.zeros((1, 3)))), 7)  # Kullback (1959), example 2.1
    0.0852996
    """
    _check_reduction(reduction)
    if not (isinstance(temperature, (int, float)) and temperature > 0):
        msg = f"`temperature` must be a positive number; got {temperature!r}"
        raise ValueError(msg)
    xp, (lp, lq) = _namespace(logits_p, logits_q)
    lp = _log_softmax(xp, lp / temperature, axis)
    lq = _log_softmax(xp, lq / temperature, axis)
    p_zero = xp.isinf(lp)  # log p = -inf: p = 0, the term is 0
    q_zero = xp.isinf(lq) & ~p_zero  # q = 0 < p (even where e^log p underflows): the term is inf
    safe = p_zero | q_zero
    diff = xp.where(safe, 0.0, lp - xp.where(safe, 0.0, lq))
    terms = xp.where(q_zero, math.inf, xp.exp(lp) * diff)
    shape = tuple(terms.shape)
    per = xp.sum(terms, axis=axis)
    return _reduce(xp, per, reduction, _batch(shape), _size(shape))


def kl_logprob(logp, logq, *, estimator="k1", reduction="mean"):
    """Per-sample estimators of D(p || q) from log p(x) and log q(x) at samples x ~ p (Schulman 2020).

    The KL penalty of RL fine-tuning: p is the policy that drew the samples, q the reference.
    With r = log q(x) - log p(x):

    - ``"k1"``: -r.  Unbiased for D(p||q); high variance, and negative for single samples.
    - ``"k2"``: r^2 / 2.  Biased (its mean is D plus third-order terms), low variance, >= 0.
    - ``"k3"``: (e^r - 1) - r.  Unbiased (E_p[q/p] = 1) and >= 0 for every sample; computed as
      e^r - 1 - r without cancellation near r = 0 nor overflow below r ~ 709.

    Parameters
    ----------
    logp, logq : array
        log p(x_i) and log q(x_i) at samples x_i ~ p (the same shape, or broadcast).
    estimator : {"k1", "k2", "k3"}
    reduction : {"mean", "sum", "batchmean", "none"}
        ``"mean"`` (default): the mean over all samples, the estimate of D; ``"batchmean"``: the
        sum over the size of the first axis (shape (batch, tokens): the divergence per sequence);
        ``"sum"``; ``"none"``: the per-sample values.

    Notes
    -----
    Used as a loss (the samples held fixed, gradients through log p), their expected gradients
    differ (Tang & Munos 2025): k1's is E_p[grad log p] = 0, no signal at all; k2's is
    E_p[(log p - log q) grad log p], the gradient of D(p||q); k3's is E_p[(1 - q/p) grad log p]
    = -E_q[grad log p], the gradient of D(q||p), the other direction.  To penalise D(p||q) through
    the loss, use k2 (or k1 with the score-function term).

    References
    ----------
    .. [1] J. Schulman, "Approximating KL Divergence", 2020, http://joschu.net/blog/kl-approx.html
    .. [2] Y. Tang and R. Munos, "On a few pitfalls in KL divergence gradient estimation for RL",
       2025, arXiv:2506.09477.

    Examples
    --------
    >>> import numpy as np
    >>> from kullback.losses import kl_logprob
    >>> float(kl_logprob(np.array([0.0]), np.array([1e-9]), estimator="k3"))  # e^r - 1 - r = r^2/2 + ...
    5.000000001666667e-19
    """
    _check_reduction(reduction)
    if estimator not in ESTIMATORS:
        msg = f"`estimator` must be one of {ESTIMATORS}; got {estimator!r}"
        raise ValueError(msg)
    xp, (lp, lq) = _namespace(logp, logq)
    r = lq - lp
    if estimator == "k1":
        k = -r
    elif estimator == "k2":
        k = 0.5 * r * r
    else:
        k = _expm1mx(xp, r)
    shape = tuple(k.shape)
    if reduction == "mean":
        return (k.sum() if _is_torch(k) else xp.sum(k)) / _size(shape)
    return _reduce(xp, k, reduction, _batch(shape), _size(shape))
