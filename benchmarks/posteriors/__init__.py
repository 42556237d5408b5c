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


def normal_std(xp, x, mu, sd):
    """normal(mu, sd) log density without its constant (Stan's ``~``)."""
    return -0.5 * ((x - mu) / sd) ** 2 - (math.log(sd) if isinstance(sd, float) else xp.log(sd))


def log_inv_logit(xp, u):
    """log(1 / (1 + e^-u)), the log-Jacobian's pieces of a (0, 1) parameter: log x = log_inv_logit(u), log(1 - x) = log_inv_logit(-u)."""
    return -xp.logaddexp(0.0 * u, -u)


def _recur(xp, step, carry, xs):
    """The values of a first-order recursion carry_t = step(carry_{t-1}, xs[t]), stacked on a new first axis (jax: lax.scan)."""
    if xp.__name__.startswith("jax"):
        import jax

        return jax.lax.scan(lambda c, x: (step(c, x), step(c, x)), carry, xs)[1]
    out = []
    for x in xs:
        carry = step(carry, x)
        out.append(carry)
    return xp.stack(out)


@dataclass
class Posterior:
    name: str  # posteriordb's posterior name
    dim: int
    names: list  # the reference draws' parameter names, in the order of constrain's columns
    log_density: object  # (xp, z, data) -> (...): the Stan model's log density on R^dim, up to a constant
    data: dict
    to_constrained: object = None  # (xp, z) -> x, the reference draws' parameters; None: the identity but `positive`
    positive: tuple = ()  # coordinates that are logs of positive parameters (where to_constrained is None)

    def density(self, xp):
        data = {k: xp.asarray(np.asarray(v, dtype=np.float64)) if isinstance(v, list) else v for k, v in self.data.items()}
        return lambda z: self.log_density(xp, z, data)

    def constrain(self, z: np.ndarray) -> np.ndarray:
        if self.to_constrained is not None:
            return np.asarray(self.to_constrained(np, np.asarray(z, dtype=np.float64)))
        x = np.array(z, dtype=np.float64)
        x[..., list(self.positive)] = np.exp(x[..., list(self.positive)])
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


def _arma11(xp, z, d):
    """arma11.stan: err_1 = y_1 - (mu + phi mu), err_t = y_t - (mu + phi y_{t-1} + theta err_{t-1}); err ~ normal(0, sigma)."""
    y = d["y"]
    mu, phi, theta, log_sigma = z[..., 0], z[..., 1], z[..., 2], z[..., 3]
    sigma = xp.exp(log_sigma)
    err1 = y[0] - (mu + phi * mu)
    rest = _recur(xp, lambda e, yy: yy[0] - (mu + phi * yy[1] + theta * e), err1, xp.stack([y[1:], y[:-1]], -1))
    err = xp.concatenate([err1[None], rest], 0)  # (T, ...)
    prior = normal_std(xp, mu, 0.0, 10.0) + normal_std(xp, phi, 0.0, 2.0) + normal_std(xp, theta, 0.0, 2.0)
    return normal_std(xp, err, 0.0, sigma).sum(0) + prior + half_cauchy(xp, sigma, 2.5) + log_sigma


def _garch11_constrain(xp, z):
    """garch11.stan's bounds: alpha0 > 0, 0 < alpha1 < 1, 0 < beta1 < 1 - alpha1 (Stan's lower/upper transforms)."""
    alpha1 = 1 / (1 + xp.exp(-z[..., 2]))
    return xp.stack([z[..., 0], xp.exp(z[..., 1]), alpha1, (1 - alpha1) / (1 + xp.exp(-z[..., 3]))], -1)


def _garch11(xp, z, d):
    """garch11.stan: sigma_1 = sigma1, sigma_t^2 = alpha0 + alpha1 (y_{t-1} - mu)^2 + beta1 sigma_{t-1}^2; y ~ normal(mu, sigma); flat priors."""
    y = d["y"]
    x = _garch11_constrain(xp, z)
    mu, alpha0, alpha1, beta1 = x[..., 0], x[..., 1], x[..., 2], x[..., 3]
    v1 = 0.0 * mu + d["sigma1"] ** 2
    rest = _recur(xp, lambda v, ylag: alpha0 + alpha1 * (ylag - mu) ** 2 + beta1 * v, v1, y[:-1])
    var = xp.concatenate([v1[None], rest], 0)
    y_t = y.reshape((-1,) + (1,) * len(mu.shape))  # time first, as var
    lik = (-0.5 * (y_t - mu) ** 2 / var - 0.5 * xp.log(var)).sum(0)
    # log-Jacobians: exp; inv_logit (log a + log(1 - a)); (1 - alpha1) inv_logit (log(1 - alpha1) + the same)
    jac = z[..., 1] + log_inv_logit(xp, z[..., 2]) + 2 * log_inv_logit(xp, -z[..., 2])
    jac = jac + log_inv_logit(xp, z[..., 3]) + log_inv_logit(xp, -z[..., 3])
    return lik + jac


def _linear_regression(xp, z, d):
    """y ~ normal(X beta, sigma) with flat priors on beta and sigma > 0 (nes.stan)."""
    beta, log_sigma = z[..., :-1], z[..., -1]
    sigma = xp.exp(log_sigma)
    return normal_std(xp, d["y"], beta @ d["X"].T, sigma[..., None]).sum(-1) + log_sigma


def _blr(xp, z, d):
    """blr.stan: beta ~ normal(0, 10), sigma ~ normal(0, 10) on sigma > 0, y ~ normal(X beta, sigma)."""
    sigma = xp.exp(z[..., -1])
    return _linear_regression(xp, z, d) + normal_std(xp, z[..., :-1], 0.0, 10.0).sum(-1) + normal_std(xp, sigma, 0.0, 10.0)


def _gp_regr(xp, z, d):
    """gp_regr.stan: K = alpha^2 exp(-(x_i - x_j)^2 / (2 rho^2)) + sigma I (sigma, not its square, as the model has it);
    y ~ multi_normal(0, K); rho ~ gamma(25, 4), alpha ~ normal(0, 2), sigma ~ normal(0, 1), all positive."""
    x, y = d["x"], d["y"]
    rho, alpha, sigma = xp.exp(z[..., 0]), xp.exp(z[..., 1]), xp.exp(z[..., 2])
    sq = (x[:, None] - x[None, :]) ** 2
    eye = xp.asarray(np.eye(x.shape[0]))
    K = (alpha**2)[..., None, None] * xp.exp(-sq / (2 * rho[..., None, None] ** 2)) + sigma[..., None, None] * eye
    quad = (y * xp.linalg.solve(K, xp.broadcast_to(y[:, None], K.shape[:-1] + (1,)))[..., 0]).sum(-1)
    lik = -0.5 * quad - 0.5 * xp.linalg.slogdet(K)[1]
    prior = 24 * z[..., 0] - 4 * rho + normal_std(xp, alpha, 0.0, 2.0) + normal_std(xp, sigma, 0.0, 1.0)  # gamma: (a - 1) log rho - b rho
    return lik + prior + z.sum(-1)


def _gauss_mix_constrain(xp, z):
    """low_dim_gauss_mix.stan: ordered mu (mu_2 = mu_1 + e^u), sigma > 0, 0 < theta < 1."""
    return xp.stack([z[..., 0], z[..., 0] + xp.exp(z[..., 1]), xp.exp(z[..., 2]), xp.exp(z[..., 3]), 1 / (1 + xp.exp(-z[..., 4]))], -1)


def _gauss_mix(xp, z, d):
    """y_n ~ theta normal(mu_1, sigma_1) + (1 - theta) normal(mu_2, sigma_2); sigma, mu ~ normal(0, 2); theta ~ beta(5, 5)."""
    x = _gauss_mix_constrain(xp, z)
    y = d["y"]
    log_t, log_1mt = log_inv_logit(xp, z[..., 4]), log_inv_logit(xp, -z[..., 4])
    a = log_t[..., None] + normal_std(xp, y, x[..., 0:1], x[..., 2:3])
    b = log_1mt[..., None] + normal_std(xp, y, x[..., 1:2], x[..., 3:4])
    lik = xp.logaddexp(a, b).sum(-1)
    prior = normal_std(xp, x[..., :4], 0.0, 2.0).sum(-1) + 4 * log_t + 4 * log_1mt
    jac = z[..., 1] + z[..., 2] + z[..., 3] + log_t + log_1mt
    return lik + prior + jac


_Y8 = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]
_S8 = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0]


def _eight_schools_centered(xp, z, d):
    mu, log_tau, th = z[..., 0], z[..., 1], z[..., 2:]
    tau = xp.exp(log_tau)
    prior = normal(xp, mu, 0.0, 5.0) + half_cauchy(xp, tau, 5.0) + log_tau
    return prior + normal(xp, th, mu[..., None], tau[..., None]).sum(-1) + normal(xp, d["y"], th, d["sigma"]).sum(-1)


def _nes_design(nes):
    """nes.stan's regressors: 1, real_ideo, race_adj, age 30-44, 45-64, 65+ (from age_discrete 2, 3, 4), educ1, gender, income."""
    age = np.asarray(nes["age_discrete"])
    cols = [np.ones(len(age)), nes["real_ideo"], nes["race_adj"], age == 2, age == 3, age == 4, nes["educ1"], nes["gender"], nes["income"]]
    return np.column_stack(cols).astype(np.float64).tolist()


def _betas(k):
    return [f"beta[{j}]" for j in range(1, k + 1)]


def posteriors() -> dict:
    kid, earn, ark = _data("kidiq"), _data("earnings"), _data("arK")
    nes, blr, gp = _data("nes2000"), _data("sblrc"), _data("gp_pois_regr")
    P = Posterior
    out = [
        P(
            "kidiq-kidscore_interaction",
            5,
            [*_betas(4), "sigma"],
            _kidscore_interaction,
            {k: kid[k] for k in ("kid_score", "mom_hs", "mom_iq")},
            positive=(4,),
        ),
        P("earnings-earn_height", 3, [*_betas(2), "sigma"], _earn_height, {k: earn[k] for k in ("earn", "height")}, positive=(2,)),
        P("arK-arK", 7, ["alpha", *_betas(5), "sigma"], _arK, {"y": ark["y"]}, positive=(6,)),
        P("arma-arma11", 4, ["mu", "phi", "theta", "sigma"], _arma11, {"y": _data("arma")["y"]}, positive=(3,)),
        P(
            "garch-garch11",
            4,
            ["mu", "alpha0", "alpha1", "beta1"],
            _garch11,
            {k: _data("garch")[k] for k in ("y", "sigma1")},
            _garch11_constrain,
        ),
        P("nes2000-nes", 10, [*_betas(9), "sigma"], _linear_regression, {"y": nes["partyid7"], "X": _nes_design(nes)}, positive=(9,)),
        P("sblrc-blr", 6, [*_betas(5), "sigma"], _blr, {"y": blr["y"], "X": blr["X"]}, positive=(5,)),
        P("gp_pois_regr-gp_regr", 3, ["rho", "alpha", "sigma"], _gp_regr, {"x": gp["x"], "y": gp["y"]}, positive=(0, 1, 2)),
        P(
            "low_dim_gauss_mix-low_dim_gauss_mix",
            5,
            ["mu[1]", "mu[2]", "sigma[1]", "sigma[2]", "theta"],
            _gauss_mix,
            {"y": _data("low_dim_gauss_mix")["y"]},
            _gauss_mix_constrain,
        ),
        P(
            "eight_schools-eight_schools_centered",
            10,
            ["mu", "tau", *[f"theta[{j}]" for j in range(1, 9)]],
            _eight_schools_centered,
            {"y": _Y8, "sigma": _S8},
            positive=(1,),
        ),
    ]
    return {p.name: p for p in out}


def reference() -> dict:
    """{posterior: {"mean": [...], "sd": [...], "names": [...]}} from posteriordb's reference draws."""
    with open(HERE / "reference.json") as fh:
        return json.load(fh)
