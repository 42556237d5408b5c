"""The benchmark's hand-written posteriordb log densities (benchmarks/posteriors) against an independent evaluation.

Each Stan model is evaluated again here on its constrained parameters with scipy.stats log
densities and plain loops (the recursions of arma11 and garch11 step by step), plus the
log-Jacobian of the benchmark's own map to the constrained space by central differences; the
difference of the log density between two points must agree (Stan's ``~`` drops constants).  And
at the mean of posteriordb's reference draws the log density is higher than 5 reference sds away
along any one coordinate, which a wrong sign or a misplaced parameter would break.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from posteriors import posteriors, reference  # noqa: E402

POST = posteriors()
REF = reference()
norm = stats.norm.logpdf


def _logit(p):
    return np.log(p) - np.log1p(-p)


def _arma(x, d):
    mu, phi, theta, sigma = x
    y, err, lp = d["y"], [], 0.0
    for t in range(len(y)):
        nu = mu + phi * mu if t == 0 else mu + phi * y[t - 1] + theta * err[t - 1]
        err.append(y[t] - nu)
    lp = norm(mu, 0, 10) + norm(phi, 0, 2) + norm(theta, 0, 2) + stats.halfcauchy.logpdf(sigma, scale=2.5)
    return lp + norm(np.array(err), 0, sigma).sum()


def _garch(x, d):
    mu, a0, a1, b1 = x
    y, s = d["y"], [d["sigma1"]]
    for t in range(1, len(y)):
        s.append(np.sqrt(a0 + a1 * (y[t - 1] - mu) ** 2 + b1 * s[t - 1] ** 2))
    return norm(y, mu, np.array(s)).sum()


def _mix(x, d):
    mu1, mu2, s1, s2, th = x
    y = np.asarray(d["y"])
    lik = np.logaddexp(np.log(th) + norm(y, mu1, s1), np.log1p(-th) + norm(y, mu2, s2)).sum()
    return lik + stats.halfnorm.logpdf([s1, s2], scale=2).sum() + norm([mu1, mu2], 0, 2).sum() + stats.beta.logpdf(th, 5, 5)


def _gp(x, d):
    rho, alpha, sigma = x
    xs, y = np.asarray(d["x"]), np.asarray(d["y"])
    K = alpha**2 * np.exp(-((xs[:, None] - xs[None, :]) ** 2) / (2 * rho**2)) + sigma * np.eye(len(xs))
    prior = stats.gamma.logpdf(rho, 25, scale=1 / 4) + stats.halfnorm.logpdf(alpha, scale=2) + stats.halfnorm.logpdf(sigma, scale=1)
    return stats.multivariate_normal.logpdf(y, np.zeros(len(y)), K) + prior


def _regression(x, d, prior=0.0):
    X, y = np.asarray(d["X"]), np.asarray(d["y"])
    return norm(y, X @ x[:-1], x[-1]).sum() + prior


def _kid(x, d):
    b, s = x[:4], x[4]
    hs, iq = np.asarray(d["mom_hs"]), np.asarray(d["mom_iq"])
    return norm(d["kid_score"], b[0] + b[1] * hs + b[2] * iq + b[3] * hs * iq, s).sum() + stats.halfcauchy.logpdf(s, scale=2.5)


def _ark(x, d):
    y, lp = d["y"], norm(x[0], 0, 10) + norm(x[1:6], 0, 10).sum() + stats.halfcauchy.logpdf(x[6], scale=2.5)
    for t in range(5, len(y)):
        lp += norm(y[t], x[0] + sum(x[1 + k] * y[t - k - 1] for k in range(5)), x[6])
    return lp


def _schools(x, d):
    mu, tau, th = x[0], x[1], x[2:]
    return norm(mu, 0, 5) + stats.halfcauchy.logpdf(tau, scale=5) + norm(th, mu, tau).sum() + norm(d["y"], th, d["sigma"]).sum()


def _positive_inverse(idx):
    def inv(x):
        z = np.array(x, dtype=np.float64)
        z[list(idx)] = np.log(z[list(idx)])
        return z

    return inv


# posterior -> (log density of the constrained parameters, the inverse of the benchmark's map to them)
MODELS = {
    "kidiq-kidscore_interaction": (_kid, _positive_inverse([4])),
    "earnings-earn_height": (lambda x, d: norm(d["earn"], x[0] + x[1] * np.asarray(d["height"]), x[2]).sum(), _positive_inverse([2])),
    "arK-arK": (_ark, _positive_inverse([6])),
    "arma-arma11": (_arma, _positive_inverse([3])),
    "garch-garch11": (_garch, lambda x: np.array([x[0], np.log(x[1]), _logit(x[2]), _logit(x[3] / (1 - x[2]))])),
    "nes2000-nes": (_regression, _positive_inverse([9])),
    "sblrc-blr": (
        lambda x, d: _regression(x, d, norm(x[:-1], 0, 10).sum() + stats.halfnorm.logpdf(x[-1], scale=10)),
        _positive_inverse([5]),
    ),
    "gp_pois_regr-gp_regr": (_gp, _positive_inverse([0, 1, 2])),
    "low_dim_gauss_mix-low_dim_gauss_mix": (
        _mix,
        lambda x: np.array([x[0], np.log(x[1] - x[0]), np.log(x[2]), np.log(x[3]), _logit(x[4])]),
    ),
    "eight_schools-eight_schools_centered": (_schools, _positive_inverse([1])),
}


def _independent(post, z):
    """The model's log density at z by scipy.stats plus the log |det| of d constrain / dz by central differences."""
    f, _ = MODELS[post.name]
    h = 1e-6
    J = np.column_stack([(post.constrain(z + h * e) - post.constrain(z - h * e)) / (2 * h) for e in np.eye(post.dim)])
    return f(post.constrain(z), post.data) + np.linalg.slogdet(J)[1]


def _center(post):
    """The reference mean on the unconstrained space (eight schools has no reference draws: a point near its bulk)."""
    if post.name not in REF:
        return np.array([4.0, np.log(3.0), 6, 5, 4, 5, 4, 4, 6, 5])
    return MODELS[post.name][1](np.asarray(REF[post.name]["mean"]))


def test_all_posteriors_have_an_independent_evaluation():
    assert set(POST) == set(MODELS)
    for name, post in POST.items():
        if name in REF:
            assert REF[name]["names"] == post.names, name


@pytest.mark.parametrize("name", sorted(POST))
def test_log_density_matches_scipy(name):
    """lp(z1) - lp(z2) from the benchmark's torch code equals the independent evaluation's, at points near the bulk."""
    post = POST[name]
    rng = np.random.default_rng(1)
    z = _center(post) + 0.1 * rng.standard_normal((3, post.dim))
    lp = post.density(torch)(torch.as_tensor(z)).numpy()
    ref = np.array([_independent(post, zi) for zi in z])
    assert np.all(np.isfinite(lp))
    np.testing.assert_allclose(lp[1:] - lp[0], ref[1:] - ref[0], rtol=1e-6, atol=1e-8 * (1 + np.abs(ref).max()))


@pytest.mark.parametrize("name", sorted(REF))
def test_reference_mean_beats_far_points(name):
    """The reference mean's log density exceeds, by a margin, that of points 5 reference sds away along one coordinate."""
    post, (_, inverse) = POST[name], MODELS[name]
    mean, sd = np.asarray(REF[name]["mean"]), np.asarray(REF[name]["sd"])
    lp = post.density(torch)
    at_mean = float(lp(torch.as_tensor(inverse(mean))))
    for i in range(post.dim):
        for sign in (1, -1):
            x = mean.copy()
            x[i] += sign * 5 * sd[i]
            with np.errstate(invalid="ignore", divide="ignore"):
                z = inverse(x)
            if not np.all(np.isfinite(z)):
                continue  # outside the support
            assert float(lp(torch.as_tensor(z))) < at_mean - 3, (post.names[i], sign)


def test_torch_and_jax_agree():
    """The same code under jax.numpy (the peers' version) gives the same values, batched and single."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    for post in POST.values():
        z = _center(post) + 0.1 * np.random.default_rng(2).standard_normal((2, post.dim))
        a = post.density(torch)(torch.as_tensor(z)).numpy()
        b = np.asarray(post.density(jax.numpy)(jax.numpy.asarray(z)))
        c = float(post.density(jax.numpy)(jax.numpy.asarray(z[0])))
        np.testing.assert_allclose(b, a, rtol=1e-10)
        np.testing.assert_allclose(c, a[0], rtol=1e-10)
