"""posteriordb posteriors written by hand on the unconstrained space, for torch and jax alike.

Each model's log density is written once with the array namespace ``xp`` (``torch`` or
``jax.numpy``): the Stan model's log density (up to a constant) on R^d, with the positive
parameters as logs and their log-Jacobian added.  ``constrain`` maps draws to the reference
draws' parameters.  Data: the posteriordb data files copied here (``*.json.zip``, a few kB each);
reference moments: ``reference.json``, the means and sds of posteriordb's reference draws
(10 chains x 1000 NUTS draws), recomputed by ``python benchmarks/posteriors/make_reference.py PATH``
from a checkout of stan-dev/posteriordb.
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _data(name: str) -> dict:
    with zipfile.ZipFile(HERE / f"{name}.json.zip") as z:
        return json.loads(z.read(z.namelist()[0]))


def normal(xp, x, mu, sd):
    log_sd = math.log(sd) if isinstance(sd, float) else xp.log(sd)
    return -0.5 * ((x - mu) / sd) ** 2 - log_sd - _HALF_LOG_2PI


def half_cauchy(xp, x, s):
    """log of the Cauchy(0, s) density times 2 (a parameter declared <lower=0>)."""
    return -xp.log1p((x / s) ** 2) - math.log(math.pi * s / 2)


@dataclass
class Posterior:
    name: str  # posteriordb's posterior name
    dim: int
    names: list  # the reference draws' parameter names, in the order of constrain's columns
    positive: list  # indices of the coordinates that are logs of positive parameters
    log_density: object  # (xp, z, data) -> (...)
    data: dict

    def density(self, xp):
        data = {k: xp.asarray(np.asarray(v, dtype=np.float64)) if isinstance(v, list) else v for k, v in self.data.items()}
        return lambda z: self.log_density(xp, z, data)

    def constrain(self, z: np.ndarray) -> np.ndarray:
        x = np.array(z, dtype=np.float64)
        x[..., self.positive] = np.exp(x[..., self.positive])
        return x


def _kidscore_interaction(xp, z, d):
    b, log_sigma = z[..., :4], z[..., 4]
    sigma = xp.exp(log_sigma)
    hs, iq = d["mom_hs"], d["mom_iq"]
    mu = b[..., 0:1] + b[..., 1:2] * hs + b[..., 2:3] * iq + b[..., 3:4] * (hs * iq)
    return normal(xp, d["kid_score"], mu, sigma[..., None]).sum(-1) + half_cauchy(xp, sigma, 2.5) + log_sigma


def _earn_height(xp, z, d):
    b1, b2, log_sigma = z[..., 0:1], z[..., 1:2], z[..., 2]
    sigma = xp.exp(log_sigma)
    return normal(xp, d["earn"], b1 + b2 * d["height"], sigma[..., None]).sum(-1) + log_sigma


def _arK(xp, z, d):
    K = 5
    y = d["y"]
    lags = xp.stack([y[K - k - 1 : -k - 1] for k in range(K)], -1)  # lags[t, k] = y[t + K - k - 1]
    alpha, beta, log_sigma = z[..., 0:1], z[..., 1 : 1 + K], z[..., 1 + K]
    sigma = xp.exp(log_sigma)
    mu = alpha + beta @ lags.T
    prior = normal(xp, z[..., 0], 0.0, 10.0) + normal(xp, beta, 0.0, 10.0).sum(-1) + half_cauchy(xp, sigma, 2.5) + log_sigma
    return normal(xp, y[K:], mu, sigma[..., None]).sum(-1) + prior


_Y8 = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]
_S8 = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0]


def _eight_schools_centered(xp, z, d):
    mu, log_tau, th = z[..., 0], z[..., 1], z[..., 2:]
    tau = xp.exp(log_tau)
    prior = normal(xp, mu, 0.0, 5.0) + half_cauchy(xp, tau, 5.0) + log_tau
    return prior + normal(xp, th, mu[..., None], tau[..., None]).sum(-1) + normal(xp, d["y"], th, d["sigma"]).sum(-1)


def posteriors() -> dict:
    kid, earn, ark = _data("kidiq"), _data("earnings"), _data("arK")
    kid = {k: kid[k] for k in ("kid_score", "mom_hs", "mom_iq")}
    earn = {k: earn[k] for k in ("earn", "height")}
    return {
        "kidiq-kidscore_interaction": Posterior(
            "kidiq-kidscore_interaction", 5, ["beta[1]", "beta[2]", "beta[3]", "beta[4]", "sigma"], [4], _kidscore_interaction, kid
        ),
        "earnings-earn_height": Posterior("earnings-earn_height", 3, ["beta[1]", "beta[2]", "sigma"], [2], _earn_height, earn),
        "arK-arK": Posterior("arK-arK", 7, ["alpha", *[f"beta[{k}]" for k in range(1, 6)], "sigma"], [6], _arK, {"y": ark["y"]}),
        "eight_schools-eight_schools_centered": Posterior(
            "eight_schools-eight_schools_centered",
            10,
            ["mu", "tau", *[f"theta[{j}]" for j in range(1, 9)]],
            [1],
            _eight_schools_centered,
            {"y": _Y8, "sigma": _S8},
        ),
    }


def reference() -> dict:
    """{posterior: {"mean": [...], "sd": [...], "names": [...]}} from posteriordb's reference draws."""
    with open(HERE / "reference.json") as fh:
        return json.load(fh)
