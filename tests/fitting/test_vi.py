"""kb.vi against closed forms (Bishop 2006 sec. 10.1.2; the log-gamma reverse fit), funnels, and bad input."""

import math

import mpmath
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import kullback as kb  # noqa: E402

D = torch.distributions
F64 = torch.float64
SIGMA = torch.tensor([[1.0, 0.9], [0.9, 1.0]], dtype=F64)
BISHOP = D.MultivariateNormal(torch.zeros(2, dtype=F64), SIGMA)


def _gauss_kl(m0, S0, m1, S1):
    """D(N(m0, S0) || N(m1, S1)) in mpmath at 40 digits (the closed form, e.g. Bishop eq. 2.? / any text)."""
    mpmath.mp.dps = 40
    S0, S1 = mpmath.matrix(S0.tolist()), mpmath.matrix(S1.tolist())
    dm = mpmath.matrix((np.asarray(m1) - np.asarray(m0)).tolist())
    inv = S1**-1
    d = S0.rows
    tr = sum((inv * S0)[i, i] for i in range(d))
    quad = (dm.T * inv * dm)[0, 0]
    return 0.5 * (tr + quad - d + mpmath.log(mpmath.det(S1) / mpmath.det(S0)))


def test_bishop_meanfield_variances_and_divergence():
    """PRML sec. 10.1.2: the mean-field q has variances 1/Lambda_ii = 1 - 0.9^2 = 0.19 and D(q||p) = 0.830."""
    f = kb.vi(BISHOP.log_prob, 2, family="meanfield", normalized=True, rng=0)
    assert f.direction == "reverse" and f.converged and f.reason is None
    np.testing.assert_allclose(np.diag(f.params["cov"]), [0.19, 0.19], rtol=1e-9)
    np.testing.assert_allclose(f.params["mean"], [0, 0], atol=1e-9)
    exact = float(_gauss_kl(np.zeros(2), np.diag([0.19, 0.19]), np.zeros(2), SIGMA.numpy()))
    assert round(exact, 3) == 0.830
    assert float(f.kl) == pytest.approx(exact, abs=1e-9)
    lo, hi = f.kl.ci
    assert lo <= exact + 1e-9 and exact - 1e-9 <= hi


def test_bishop_full_covariance_is_exact():
    f = kb.vi(BISHOP.log_prob, 2, normalized=True, rng=1)
    assert f.converged and abs(float(f.kl)) < 1e-3
    np.testing.assert_allclose(f.params["cov"], SIGMA.numpy(), atol=1e-8)
    assert f.diagnostics["k_hat"] < 0.5 and f.diagnostics["verdict"].startswith("good")
    assert isinstance(f.distribution, D.MultivariateNormal)


def test_log_gamma_reverse_fit_against_closed_form():
    """q = N(m, s^2) on y = log x for a Gamma(a, b) target: the ELBO a m - b e^(m + s^2/2) + log s + const is
    maximal at s^2 = 1/a, m = log(a/b) - 1/(2a) (both partial derivatives 0), where
    D(q||p) = -ELBO = log Gamma(a) - a log a + a - 1/2 log 2 pi + 1/2 log a (b cancels).  The fit is on fixed draws, so m and
    s carry Monte Carlo error; the tolerance (3%) is about 3 standard errors at 60 draws.
    """
    a, b = 3.0, 2.0
    target = D.Gamma(torch.tensor(a, dtype=F64), torch.tensor(b, dtype=F64))
    f = kb.vi(lambda x: target.log_prob(x[..., 0]), 1, transform=D.biject_to(D.constraints.positive), normalized=True, rng=2)
    m_ref, s2_ref = math.log(a / b) - 1 / (2 * a), 1 / a
    mpmath.mp.dps = 30
    kl_ref = float(mpmath.loggamma(a) - a * mpmath.log(a) + a - 0.5 * mpmath.log(2 * mpmath.pi) + 0.5 * mpmath.log(a))
    assert f.converged
    assert f.params["mean"][0] == pytest.approx(m_ref, abs=0.03)
    assert f.params["cov"][0, 0] == pytest.approx(s2_ref, rel=0.03)
    assert abs(float(f.kl) - kl_ref) < 4 * f.kl.stderr + 2e-3
    x = f.distribution.sample((100,))
    assert bool((x > 0).all())
    # No verdict is asserted.  The target's left tail in y is e^(a y), heavier than q's: P(w > t) ~ exp(-sqrt(2 a log t)) / t,
    # a Pareto shape of 1 reached only asymptotically (the factor is slowly varying).  PSIS k-hat of this q (ArviZ's psislw
    # gives the same numbers) was 2.8-3.4 at 4000 draws (one draw dominating the tail: what the old `> 0.7` rested on),
    # 0.45-0.59 at 32 000 and 0.51-0.61 at 256 000 over seeds 0-5: no verdict holds at every seed.


def test_log_z_bounds_for_an_unnormalised_density():
    """log Z = 3.7.  Full covariance: q is the target, so the ELBO and the importance-sampling estimate both equal
    log Z and D = 0.  Mean-field: the ELBO is log Z - 0.830366 (Bishop's D), and log Z_IS >= ELBO always
    (log mean >= mean log, Jensen)."""
    f = kb.vi(lambda z: BISHOP.log_prob(z) + 3.7, 2, rng=3)
    lz = f.diagnostics["log_z"]
    assert lz["elbo"] == pytest.approx(3.7, abs=1e-9) and lz["is"] == pytest.approx(3.7, abs=1e-9)
    assert abs(float(f.kl)) < 1e-9
    g = kb.vi(lambda z: BISHOP.log_prob(z) + 3.7, 2, family="meanfield", rng=3)
    lz = g.diagnostics["log_z"]
    assert lz["elbo"] == pytest.approx(3.7 - 0.830366, abs=1e-6)
    assert lz["elbo"] <= lz["is"]
    assert g.kl.quantity == "D(q||target)" and "importance sampling" in g.kl.method


def test_importance_weighted_moments_correct_a_narrow_fit():
    """The mean-field sd is sqrt(0.19) = 0.436; importance weighting moves it towards the target's 1 and keeps the mean
    0 within its error (k-hat is about 0.66 here: the weighted moments are usable, not exact)."""
    f = kb.vi(BISHOP.log_prob, 2, family="meanfield", moments=True, rng=4)
    wm = f.diagnostics["weighted_moments"]
    np.testing.assert_allclose(wm["q_sd"], math.sqrt(0.19), rtol=0.1)
    assert np.all(np.abs(wm["sd"] - 1) < np.abs(wm["q_sd"] - 1))
    assert np.all(np.abs(wm["mean"]) < 4 / math.sqrt(wm["ess"]))  # the target's sd is 1: se of the mean ~ 1/sqrt(ESS)


def _neal_funnel(z):
    v, x = z[..., 0], z[..., 1:]
    return D.Normal(0.0, 3.0).log_prob(v) + D.Normal(0.0, (v / 2).exp()[..., None]).log_prob(x).sum(-1)


Y = torch.tensor([28.0, 8, -3, 7, -1, 1, 18, 12], dtype=F64)
SE = torch.tensor([15.0, 10, 16, 11, 9, 11, 10, 18], dtype=F64)


def _eight_schools_centred(z):
    """posteriordb eight_schools-eight_schools_centered on (mu, log tau, theta_1..8)."""
    mu, log_tau, th = z[..., 0], z[..., 1], z[..., 2:]
    tau = log_tau.exp()
    lp = D.Normal(0.0, 5.0).log_prob(mu) + D.HalfCauchy(5.0).log_prob(tau) + log_tau
    return lp + D.Normal(mu[..., None], tau[..., None]).log_prob(th).sum(-1) + D.Normal(th, SE).log_prob(Y).sum(-1)


@pytest.mark.parametrize("seed", range(5))
def test_neal_funnel_k_hat_says_do_not_trust(seed):
    """Neal's funnel in 10 dimensions; on 32 000 fresh draws k-hat was 0.84-1.10 over seeds 0-9 (mean-field; on the
    4000 evaluation draws it had been 0.68-0.94 over seeds 5-9)."""
    f = kb.vi(_neal_funnel, 10, family="meanfield", normalized=True, rng=seed)
    assert f.diagnostics["k_hat"] > 0.7
    assert f.diagnostics["verdict"].startswith("do not trust")
    assert math.isfinite(float(f.kl))


def test_eight_schools_centred_leaves_the_neck_and_is_not_called_good():
    """The mode search dives into the funnel's neck (log tau -> -inf); the unit start finds the better optimum near
    log tau = 1.8 (ELBO about -33.4 against -48.2 in the neck)."""
    f = kb.vi(_eight_schools_centred, 10, family="meanfield", rng=6)
    assert f.params["mean"][1] > 1.0
    assert f.diagnostics["elbo"] > -40


@pytest.mark.parametrize(("family", "seed"), [("gaussian", 3), ("gaussian", 4), *[("meanfield", s) for s in range(5)]])
def test_eight_schools_verdict_is_stable_over_seeds(family, seed):
    """The issue's funnel verdict, k-hat > 0.7, from any seed.  k-hat was computed on the 4000 evaluation draws that had
    chosen the start and stopped the stages: on the centred eight schools (full covariance) it ranged 0.53-1.09 over
    seeds 0-9, below 0.7 at seeds 3 (0.53), 4 (0.67) and 6 (0.65).  On 32 000 fresh draws of the returned q it was
    0.74-0.96 (gaussian) and 0.77-1.05 (meanfield) over seeds 0-9."""
    f = kb.vi(_eight_schools_centred, 10, family=family, rng=seed)
    assert f.diagnostics["k_hat"] > 0.7
    assert f.diagnostics["verdict"].startswith("do not trust")


def test_huge_finite_log_ratios_give_no_overflow():
    """log p finite but near -1e200 where a wide q reaches (arma11's errors grow as theta^T): the ELBO's standard error
    squared it (an overflow RuntimeWarning, an error under -W error).  Exact: y = -1e200 (1 + eps_1^2) has mean -2e200 and
    is a combination of the control variates, so the regression estimate is exact with standard error 0."""
    from kullback.fitting._vi_engine import _regression_mean, _sd

    eps = np.random.default_rng(0).standard_normal((4000, 3))
    y = -1e200 * (1 + eps[:, 0] ** 2)
    mean, se = _regression_mean(y, eps)
    assert mean == pytest.approx(-2e200, rel=1e-12)
    assert se < 1e-10 * 1e200
    assert _sd(y) == pytest.approx(1e200 * np.std(eps[:, 0] ** 2), rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_steep_walls_give_a_law_not_a_crash(seed):
    """log p = -z^2/2 - (10 z)^40 per coordinate: about uniform on [-0.1, 0.1]^2 (sd 0.058), with walls that reach 1e59 at
    the Laplace start's draws (the Hessian at the mode is I: it does not see the walls).  The optimiser drove a log-scale
    to about -1e3, exp underflowed to a zero scale, and torch refused the result (a ValueError from MultivariateNormal).
    Now the log-scales are bounded: q is a law, and the fit is either inside the box or not called good."""
    f = kb.vi(lambda z: (-0.5 * z**2 - (10 * z) ** 40).sum(-1), 2, rng=seed)
    lam = np.linalg.eigvalsh(f.params["cov"])
    assert np.all(np.isfinite(lam)) and np.all(lam > 0)
    inside = bool(np.all(np.abs(f.params["mean"]) < 0.1) and np.all(np.sqrt(lam) < 0.1))
    assert inside or not f.converged or f.diagnostics["verdict"].startswith("do not trust")


def test_diagnostics_record_the_run():
    f = kb.vi(BISHOP.log_prob, 2, rng=7)
    d = f.diagnostics
    assert len(d["elbo_trace"]) >= 2 and all({"elbo", "stderr", "draws"} <= set(r) for r in d["elbo_trace"])
    assert d["evaluations"]["log_density"] > 0 and 0 < d["evaluations"]["gradient"] <= d["evaluations"]["log_density"]
    assert d["refused"] == []
    assert f.to_dict()["diagnostics"]["k_hat"] == d["k_hat"]


def test_same_seed_same_fit():
    f1 = kb.vi(_neal_funnel, 3, family="meanfield", rng=8)
    f2 = kb.vi(_neal_funnel, 3, family="meanfield", rng=8)
    np.testing.assert_array_equal(f1.params["cov"], f2.params["cov"])


def test_steps_is_an_upper_bound():
    f = kb.vi(_neal_funnel, 3, steps=3, rng=9)
    assert not f.converged and "`steps`" in f.reason
    assert f.diagnostics["iterations"] <= 3


def test_nan_steps_are_refused_and_recorded():
    """A density that answers NaN on two optimiser calls (a numerical accident mid-run) is refused there, and the
    fit is the one without the accident (the fixed-draw objective is deterministic)."""
    target = D.Gamma(torch.tensor(3.0, dtype=F64), torch.tensor(2.0, dtype=F64))
    positive = D.biject_to(D.constraints.positive)
    calls = {"n": 0}

    def flaky(x):
        if x.requires_grad and x.shape[0] == 30:  # the first stage's fixed draws
            calls["n"] += 1
            if calls["n"] in (2, 3):
                return target.log_prob(x[..., 0]) * math.nan
        return target.log_prob(x[..., 0])

    clean = kb.vi(lambda x: target.log_prob(x[..., 0]), 1, transform=positive, rng=10)
    f = kb.vi(flaky, 1, transform=positive, rng=10)
    assert [r["what"] for r in f.diagnostics["refused"]] == ["NaN value", "NaN value"]
    assert f.converged
    np.testing.assert_allclose(f.params["mean"], clean.params["mean"], atol=1e-4)
    np.testing.assert_allclose(f.params["cov"], clean.params["cov"], rtol=1e-3)


def test_errors_at_far_points_are_refused_steps():
    """A torch law that raises on an invalid argument (scale 0 or inf at an extreme step) counts as NaN there."""

    def strict(z):
        scale = z[..., 0].exp()
        return D.Normal(0.0, 3.0).log_prob(z[..., 0]) + D.Normal(0.0, scale, validate_args=True).log_prob(z[..., 1])

    f = kb.vi(strict, 2, family="meanfield", rng=13)
    assert math.isfinite(f.diagnostics["elbo"])


def test_density_nan_where_q_reaches_gives_not_converged():
    """log p is NaN beyond z = 3.5 (a bug in the model): q's draws reach it, the ELBO is not finite, converged is False."""

    def broken(z):
        lp = D.Normal(3.0, 1.0).log_prob(z[..., 0])
        return torch.where(z[..., 0] > 3.5, torch.full_like(lp, math.nan), lp)

    f = kb.vi(broken, 1, rng=11)
    assert not f.converged and "not finite" in f.reason
    assert np.all(np.isfinite(f.params["mean"])) and np.all(np.isfinite(f.params["cov"]))


def test_torch_class_family():
    """Independent normals through torch's rsample under a fixed seed: the mean-field answer up to Monte Carlo error."""
    f = kb.vi(BISHOP.log_prob, 2, family=D.Normal, normalized=True, rng=12)
    assert f.family == "Normal"
    np.testing.assert_allclose(f.params["scale"] ** 2, [0.19, 0.19], rtol=0.25)
    assert abs(float(f.kl) - 0.830366) < 4 * f.kl.stderr + 0.02


class TestBadInput:
    def test_nan_density(self):
        with pytest.raises(ValueError, match="NaN"):
            kb.vi(lambda z: z.sum(-1) * math.nan, 2)

    def test_minus_inf_everywhere(self):
        with pytest.raises(ValueError, match="-inf at all"):
            kb.vi(lambda z: z.sum(-1) * 0 - math.inf, 2)

    def test_wrong_shape(self):
        with pytest.raises(ValueError, match="one value per point"):
            kb.vi(lambda z: BISHOP.log_prob(z).sum(), 2)

    def test_no_gradient(self):
        with pytest.raises(TypeError, match="without a gradient"):
            kb.vi(lambda z: torch.as_tensor(-0.5 * (z.detach().numpy() ** 2).sum(-1)), 2)

    def test_dim_mismatch(self):
        with pytest.raises(ValueError, match="`dim`"):
            kb.vi(BISHOP.log_prob, 3)

    def test_unknown_family(self):
        with pytest.raises(ValueError, match="`family`"):
            kb.vi(BISHOP.log_prob, 2, family="gausian")

    def test_family_instance(self):
        with pytest.raises(ValueError, match="not an instance"):
            kb.vi(BISHOP.log_prob, 2, family=BISHOP)

    def test_family_without_rsample_or_off_the_line(self):
        with pytest.raises(ValueError, match="rsample|real line"):
            kb.vi(BISHOP.log_prob, 2, family=D.Gamma)

    def test_transform_domain_mismatch(self):
        with pytest.raises(ValueError, match="domain"):
            kb.vi(lambda x: x.sum(-1), 1, transform=D.biject_to(D.constraints.positive).inv)

    def test_bad_dim_and_steps(self):
        with pytest.raises(ValueError, match="`dim`"):
            kb.vi(BISHOP.log_prob, 0)
        with pytest.raises(ValueError, match="`steps`"):
            kb.vi(BISHOP.log_prob, 2, steps=0)

    def test_not_callable(self):
        with pytest.raises(TypeError, match="`log_density`"):
            kb.vi(BISHOP, 2)


def test_badly_scaled_regression_matches_the_exact_posterior():
    """The shape of earnings-earn_height (y = a + b x, x near 66, a near -60 000: an intercept-slope valley) with a
    flat prior and sigma known, where the posterior is exactly N(beta_hat, sigma^2 (X'X)^-1) (least squares).
    (On earnings itself, with sigma unknown, L-BFGS stalled 6 sd from the mode before the Newton polish and the
    1e-14 eigenvalue floor; this smaller case passes without them too, so benchmarks/bench_vi.py is that check.)"""
    rng = np.random.default_rng(0)
    x = 66 + 4 * rng.standard_normal(200)
    y = -60_000 + 1_250 * x + 19_000 * rng.standard_normal(200)
    X = np.column_stack([np.ones_like(x), x])
    beta = np.linalg.solve(X.T @ X, X.T @ y)
    cov = 19_000.0**2 * np.linalg.inv(X.T @ X)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)

    def log_density(z):
        mu = z[..., 0:1] + z[..., 1:2] * xt
        return -0.5 * (((yt - mu) / 19_000.0) ** 2).sum(-1)

    f = kb.vi(log_density, 2, rng=1)
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(f.params["mean"] - beta) / sd < 1e-3)
    np.testing.assert_allclose(np.sqrt(np.diag(f.params["cov"])), sd, rtol=1e-3)
    assert f.diagnostics["log_z"]["is"] == pytest.approx(f.diagnostics["elbo"], abs=1e-6)


def test_symmetric_bimodal_target_gets_one_mode():
    """Regression: from 0, the stationary middle of 1/2 N(-2, 0.6^2) + 1/2 N(2, 0.6^2), the fit stayed at the middle
    (D = 1.09). The reverse fit is one mode: q = N(+-2, 0.6^2) up to the other mode's overlap, D = log 2."""
    D_ = torch.distributions
    target = D_.MixtureSameFamily(
        D_.Categorical(torch.tensor([0.5, 0.5], dtype=F64)),
        D_.Normal(torch.tensor([-2.0, 2.0], dtype=F64), torch.tensor([0.6, 0.6], dtype=F64)),
    )
    f = kb.vi(lambda z: target.log_prob(z[..., 0]), 1, normalized=True, rng=0)
    # the log density is not quadratic near a mode, so the fixed draws leave an error of a few % of the sd
    assert abs(abs(f.params["mean"][0]) - 2) < 0.02 and f.params["cov"][0, 0] == pytest.approx(0.36, rel=0.05)
    assert abs(float(f.kl) - math.log(2)) < 4 * f.kl.stderr + 1e-3


def test_unnormalised_kl_is_a_lower_bound_that_holds_the_truth():
    """Bishop's mean-field fit of N(0, [[1, .9], [.9, 1]]) through an unnormalised float32 density.

    D(q||p) = 0.830366 (closed form, as in test_bishop...). log Z by importance sampling is biased low when
    q is narrower than the target (before this fix the two-sided interval was [0.34, 0.56], excluding
    0.830); the Estimate must be one-sided, (lower, inf), with the truth above its lower end.
    A float32 log density (torch's default dtype) is accepted: it is evaluated in float32.
    """
    prec = torch.linalg.inv(torch.tensor([[1.0, 0.9], [0.9, 1.0]]))  # float32 on purpose
    f = kb.vi(lambda z: -0.5 * ((z @ prec) * z).sum(-1), 2, family="meanfield", rng=0)
    assert np.allclose(f.params["cov"].diagonal(), 0.19, rtol=1e-4)
    assert f.kl.one_sided and f.kl.ci[1] == math.inf
    assert f.kl.ci[0] <= 0.830366
