"""The variational families of :func:`kullback.vi`, each a flat parameter vector theta on R^k.

- ``"gaussian"``: q = N(m, L L^T), theta = (m, log diag L, the strictly lower entries of L);
- ``"meanfield"``: q = N(m, diag(s^2)), theta = (m, log s);
- a torch.distributions class with ``rsample`` (e.g. ``StudentT``): one such law per coordinate
  (``Independent``), each parameter mapped from R by ``biject_to`` of its constraint.

For the two Gaussians the draws are z = m + L eps with eps fixed (DADVI; Giordano, Ingram &
Broderick 2024) and the entropy is exact, H(q) = sum log L_ii + d/2 (1 + log 2 pi); the torch
classes draw by their own ``rsample`` under a fixed seed and estimate the entropy from the draws.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["family_of", "Gaussian", "MeanField", "TorchClass"]

_LOG_2PI = math.log(2 * math.pi)


class Gaussian:
    """Full-covariance Gaussian: theta = (m, log diag L, strictly lower L)."""

    name = "gaussian"
    exact_entropy = True

    def __init__(self, dim, torch):
        self.d, self.torch = dim, torch
        self.rows, self.cols = np.tril_indices(dim, -1)
        self.size = 2 * dim + len(self.rows)
        self.precondition(np.zeros(dim), np.eye(dim))

    def precondition(self, a, cov):
        """Work in u with z = a + B u, B = chol(cov): m = a + B m_u, L = B L_u (lower triangular times lower triangular)."""
        self.a, self.B = np.asarray(a, dtype=np.float64), np.linalg.cholesky(cov)
        self._a, self._B = self.torch.as_tensor(self.a), self.torch.as_tensor(self.B)
        self._log_det_B = float(np.sum(np.log(np.diag(self.B))))

    def init(self, mean, cov):
        L = np.linalg.solve(self.B, np.linalg.cholesky(cov))
        m = np.linalg.solve(self.B, mean - self.a)
        return np.concatenate([m, np.log(np.diag(L)), L[self.rows, self.cols]])

    def mean(self, theta):
        return self._a + self._B @ theta[: self.d]

    def scale_tril(self, theta):
        torch, d = self.torch, self.d
        L = torch.diag_embed(torch.exp(theta[d : 2 * d]))
        if len(self.rows):
            L = L.index_put((torch.as_tensor(self.rows), torch.as_tensor(self.cols)), theta[2 * d :])
        return self._B @ L

    def draw(self, theta, eps):
        """z = m + L eps for the rows of eps (n, d)."""
        return self.mean(theta) + eps @ self.scale_tril(theta).T

    def entropy(self, theta):
        return theta[self.d : 2 * self.d].sum() + self._log_det_B + 0.5 * self.d * (1 + _LOG_2PI)

    def log_q(self, theta, z):
        return self.law(theta).log_prob(z)

    def log_q_draws(self, theta, eps, z=None):
        """log q at the draws m + L eps, from eps itself: -|eps|^2/2 - sum log L_ii - d/2 log 2 pi (no triangular solve,
        which loses all digits when L is ill-conditioned)."""
        return -0.5 * (eps**2).sum(-1) - (self.entropy(theta) - 0.5 * self.d)

    def law(self, theta):
        return self.torch.distributions.MultivariateNormal(self.mean(theta), scale_tril=self.scale_tril(theta))

    def params(self, theta):
        L = self.scale_tril(theta).detach().numpy()
        return {"mean": self.mean(theta).detach().numpy().copy(), "cov": L @ L.T}


class MeanField(Gaussian):
    """Diagonal Gaussian: theta = (m, log s)."""

    name = "meanfield"

    def __init__(self, dim, torch):
        self.d, self.torch = dim, torch
        self.size = 2 * dim
        self.precondition(np.zeros(dim), np.eye(dim))

    def precondition(self, a, cov):
        """Work in u with z_i = a_i + b_i u_i, b_i^2 = 1 / precision_ii of cov (the mean-field optimum for a Gaussian)."""
        self.a = np.asarray(a, dtype=np.float64)
        self.b = np.sqrt(1.0 / np.diag(np.linalg.inv(cov)))
        self._a, self._b = self.torch.as_tensor(self.a), self.torch.as_tensor(self.b)
        self._log_det_B = float(np.sum(np.log(self.b)))

    def init(self, mean, cov):
        # the mean-field optimum for a Gaussian target has variances 1 / precision_ii (Bishop eq. 10.13)
        s = np.sqrt(1.0 / np.diag(np.linalg.inv(cov)))
        return np.concatenate([(mean - self.a) / self.b, np.log(s / self.b)])

    def mean(self, theta):
        return self._a + self._b * theta[: self.d]

    def scale(self, theta):
        return self._b * self.torch.exp(theta[self.d :])

    def scale_tril(self, theta):
        return self.torch.diag(self.scale(theta))

    def draw(self, theta, eps):
        return self.mean(theta) + eps * self.scale(theta)

    def law(self, theta):
        D = self.torch.distributions
        return D.Independent(D.Normal(self.mean(theta), self.scale(theta)), 1)

    def params(self, theta):
        s = self.scale(theta).detach().numpy()
        return {"mean": self.mean(theta).detach().numpy().copy(), "cov": np.diag(s**2)}


class TorchClass:
    """Independent copies of a torch.distributions class, one per coordinate, drawn by its rsample under a fixed seed."""

    exact_entropy = False

    def __init__(self, cls, dim, torch):
        from torch.distributions import biject_to

        self.cls, self.d, self.torch = cls, dim, torch
        self.name = cls.__name__
        names = [k for k in cls.arg_constraints if k not in ("probs", "logits")]
        self.names = names
        self.maps = [biject_to(cls.arg_constraints[k]) for k in names]
        self.size = dim * len(names)

    def precondition(self, a, cov):
        """No preconditioner: each parameter is mapped from R by its own bijection."""

    def init(self, mean, cov):
        sd = np.sqrt(np.diag(cov))
        out = []
        for k, t in zip(self.names, self.maps):
            v = {"loc": mean, "scale": sd}.get(k, np.ones(self.d))
            out.append(t.inv(self.torch.as_tensor(v, dtype=self.torch.float64)).numpy())
        return np.concatenate(out)

    def law(self, theta):
        parts = theta.reshape(len(self.names), self.d)
        kwargs = {k: t(p) for k, t, p in zip(self.names, self.maps, parts)}
        return self.torch.distributions.Independent(self.cls(**kwargs, validate_args=False), 1)

    def draw(self, theta, seed):
        """n draws (seed = (n, s)): rsample under the seed s, so that the same theta gives the same draws."""
        torch = self.torch
        n, s = seed
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(s)
            return self.law(theta).rsample((n,))

    def log_q(self, theta, z):
        return self.law(theta).log_prob(z)

    def log_q_draws(self, theta, noise, z):
        return self.law(theta).log_prob(z)

    def params(self, theta):
        parts = theta.detach().reshape(len(self.names), self.d)
        return {k: t(p).numpy().copy() for k, t, p in zip(self.names, self.maps, parts)}


_NAMED = {"gaussian": Gaussian, "meanfield": MeanField}


def family_of(family, dim, torch):
    """The family object for ``family``: ``"gaussian"``, ``"meanfield"`` or a torch.distributions class with rsample."""
    if isinstance(family, str):
        if family not in _NAMED:
            msg = f"`family` must be one of {sorted(_NAMED)} or a torch.distributions class with rsample (e.g. StudentT); got {family!r}"
            raise ValueError(msg)
        return _NAMED[family](dim, torch)
    D = torch.distributions
    if isinstance(family, type) and issubclass(family, D.Distribution) and family is not D.Distribution:
        if not family.has_rsample:
            msg = f"`family` {family.__name__} has no reparameterised sampler (rsample); use 'gaussian', 'meanfield' or a class such as StudentT"
            raise ValueError(msg)
        if not family.arg_constraints or getattr(family, "support", None) is not D.constraints.real:
            msg = (
                f"`family` {family.__name__} must be a law on the real line (its support is {getattr(family, 'support', None)}): "
                "kb.vi works on the unconstrained space; map it to the support with `transform`"
            )
            raise ValueError(msg)
        return TorchClass(family, dim, torch)
    msg = f"`family` must be 'gaussian', 'meanfield' or a torch.distributions class (not an instance); got {family!r}"
    raise (ValueError if isinstance(family, D.Distribution) else TypeError)(msg)
