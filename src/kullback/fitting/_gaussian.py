"""Gaussian fits of multivariate targets: ``"gaussian"`` (full covariance) and ``"meanfield"`` (diagonal).

Both directions have closed forms for a Gaussian target (Bishop 2006, sec. 10.1.2):

- forward, D(p||q) over Gaussians q: q matches p's mean and covariance (moment matching; the
  mean-field q keeps the diagonal of p's covariance); from samples it is maximum likelihood, the
  sample mean and the (1/n) sample covariance;
- reverse, D(q||p) for p = N(mu, Sigma): the full Gaussian is p itself; the mean-field q has mean mu
  and variances 1 / Lambda_ii, Lambda = Sigma^-1 (Bishop eqs. (10.12)-(10.13), (10.15)): it is
  narrower than p's marginals.
"""

from __future__ import annotations

import numpy as np
import scipy.stats as st

from ._fit import exact_kl, shifted
from ._result import Fit
from ._target import Target

__all__ = ["fit_gaussian"]


def fit_gaussian(T: Target, family: str, *, direction: str, fixed=None, init=None, base=None) -> Fit:
    """The Gaussian (``family="gaussian"``) or diagonal Gaussian (``"meanfield"``) closest to a multivariate target."""
    if fixed or init:
        msg = f"`fixed` and `init` are not taken by family={family!r}: its fit is in closed form"
        raise ValueError(msg)
    if T.kind == "samples":
        if direction == "reverse":
            msg = "`direction='reverse'` needs the target's density; samples have none. Fit forward, or give the target as a law"
            raise ValueError(msg)
        mean, cov = T.x.mean(axis=0), np.cov(T.x, rowvar=False, bias=True)
        how = "sample mean and covariance (maximum likelihood)"
    else:
        mean, cov = _moments(T)
        how = "moment matching"
        if direction == "reverse":
            how = "the target itself" if family == "gaussian" else "mean and 1 / diag(precision) (Bishop eq. 10.13)"
    if family == "meanfield":
        var = np.diag(cov) if direction == "forward" or family == "gaussian" else 1.0 / np.diag(np.linalg.inv(cov))
        cov = np.diag(var)
    law = st.multivariate_normal(mean, cov)
    kl = _kl(T, law, direction, family, base)
    diagnostics = {"method": "closed form: " + how, "iterations": 0, "objective": float(kl), "gradient_norm": 0.0, "starts": []}
    return Fit(law, {"mean": mean, "cov": cov}, kl, direction, True, None, family, diagnostics, base)


def _moments(T: Target):
    from .. import distributions
    from ..distributions._canonical import _host

    d = distributions.describe(T.law, "target")
    if d.family != "mvn":
        msg = (
            f"family='gaussian'/'meanfield' fits a multivariate target given as samples or a multivariate normal law; "
            f"got a {d.family} law. Draw samples from it (target.rvs(n)) and fit those"
        )
        raise TypeError(msg)
    L = _host(d.params["scale_tril"])
    return _host(d.params["loc"]), L @ L.T


def _kl(T: Target, law, direction: str, family: str, base):
    from ..estimation._dispatch import estimate_kl

    if T.kind == "distribution":
        return exact_kl(T, law, direction, base)
    n, d = T.x.shape
    k = 2 * d if family == "meanfield" else d + d * (d + 1) // 2
    return shifted(estimate_kl(T.x, law), k, n, base)
