"""The optimisation inside :func:`kullback.vi`: mode and Laplace start, then DADVI stages with a stated stopping rule.

1. The mode of log p by L-BFGS-B; the starting q is the best, by the ELBO, of the Laplace
   approximations (the inverse of minus the Hessian, its eigenvalues made positive) at points
   along that search (Pathfinder's choice along its path); the first stage also runs from N(z0, I)
   and keeps the better of the two by the ELBO on the evaluation draws (a target without a mode, a funnel, pulls the mode search into
   its neck).
2. Stage j fixes M_j draws (antithetic pairs, whitened so that their mean is 0 and their second
   moment the identity exactly: a quadratic log density is then integrated exactly) and maximises
   the fixed-draw ELBO by L-BFGS-B (DADVI: Giordano, Ingram & Broderick, JMLR 2024), which stops when
   five iterations together change that ELBO by less than 1% of its Monte Carlo standard error
   (or at L-BFGS-B's own tolerances).
3. Each stage's q is scored on the same S evaluation draws (fresh, independent of the fit); the
   stages stop when doubling the draws changes this ELBO by less than its standard error.
4. The returned q is scored once more on _FINAL fresh draws, independent of every choice above:
   the reported ELBO, k-hat, log Z and weighted moments come from these.

A step at which log p or its gradient is NaN or infinite is refused: the optimiser is told the
value is worse than the best so far (its line search then retries a smaller step), and the step is
recorded in ``refused``; the returned q is always the best finite one.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.optimize import minimize

__all__ = ["Engine"]

_HALF0 = 15  # antithetic pairs in the first stage (DADVI's default M = 30), at least dim + 1
_STAGES = 5  # the draws double at most this many times
_EVAL = 4000  # evaluation draws: the stages' ELBO and its standard error (at 1000, k-hat on a funnel varied 0.4-1.0 by seed)
# the verdict's draws, fresh after the fit: on the 4000 evaluation draws, which chose the start and stopped the stages,
# k-hat on the centred eight schools ranged 0.53-1.09 over seeds 0-9 (fresh draws of the same q: 0.65-1.16 at 4000,
# 0.76-0.98 at 16 000); PSIS needs S > 10^(1 / (1 - k)) draws for a reliable k-hat (Vehtari et al. 2024, sec. 3.2.4)
_FINAL = 32_000  # at 32 000: see tests/fitting/test_vi.py::test_eight_schools_verdict_is_stable_over_seeds
_MAX_STEPS = 10_000  # optimiser iterations in all when `steps` is None
_MODE_STEPS = 1000  # iterations of the mode search at most
_NEWTON = 10  # Newton steps at most after the L-BFGS mode search
_CANDIDATES = 8  # Laplace approximations along the mode search tried as starts
# the log-scales of q (relative to the start's) stay within +-_LOG_SCALE: a target whose log density changes by 1e59
# across the start's draws (walls far steeper than the Laplace scale) drove one to -1e3, where exp underflows to a
# zero scale and q is no law at all; a step past it is refused, and a fit near it (past 0.9 of it) is not converged
_LOG_SCALE = 200.0
_WINDOW = 5  # a stage has settled when its ELBO moved by less than 1% of its standard error over this many iterations


class Engine:
    """One run of kb.vi on a checked target and family."""

    def __init__(self, target, family, rng, steps):
        self.T, self.F, self.rng, self.torch = target, family, rng, target.torch
        self.steps_left = _MAX_STEPS if steps is None else steps
        self.refused: list = []
        self.trace: list = []
        self.iterations = 0
        self.half0 = max(_HALF0, target.dim + 1)
        self.starts: list = []

    # -- 1. mode and Laplace ----------------------------------------------------------------
    def start(self):
        """(theta, info): the best start, by the fixed-draw ELBO, of Laplace approximations along the path to the mode.

        As Pathfinder (Zhang et al. 2022) chooses among the normal approximations along its
        L-BFGS path, so that a target without a mode (a funnel) or with a far one is not started
        at a degenerate point: up to _CANDIDATES iterates of the mode search, each with the
        covariance from the Hessian there, and N(z0, I), scored on the first stage's draws.
        """
        torch, d = self.torch, self.T.dim
        # Stan's default initialisation, uniform on (-2, 2) in the unconstrained space: 0 itself can be a
        # stationary point that is no mode (the middle of a symmetric bimodal target), where the search would stay
        z0 = self.rng.uniform(-2, 2, d)
        if not math.isfinite(float(self.T(torch.as_tensor(z0)[None], grad=False)[0])):
            z0 = self._finite_start()

        def f(z):
            lp, g = self.T.value_and_grad(torch.as_tensor(z, dtype=torch.float64)[None])
            return -float(lp[0]), -g[0].numpy()

        path = [z0]
        res = self._minimise(f, z0, min(_MODE_STEPS, self.steps_left), ftol=1e-12, stage="mode", path=path)
        path.append(self._newton(res.x))
        picks = sorted({int(round(i)) for i in np.linspace(len(path) - 1, 0, _CANDIDATES)}, reverse=True)
        self.noise0 = self._noise_fit(self.half0, 0)
        best = (-math.inf, z0, np.eye(d))
        for i in picks:
            cov = self._laplace_cov(path[i])
            elbo = self._fixed_elbo(self.F.init(path[i], cov), self.noise0)
            if elbo > best[0]:
                best = (elbo, path[i], cov)
        # the optimiser works in the coordinates that make the chosen start N(0, I) (an affine preconditioner)
        self.F.precondition(best[1], best[2])
        self.unit_start = self.F.init(z0, np.eye(d))
        info = {
            "mode": path[-1],
            "mode_found": bool(res.success),
            "mode_message": str(res.message),
            "mode_iterations": int(res.nit),
            "start": best[1],
            "start_cov": best[2],
        }
        return self.F.init(best[1], best[2]), info

    def _newton(self, z):
        """Newton steps from z towards the mode (L-BFGS stalls in long narrow valleys: a regression's intercept and slope)."""
        torch = self.torch
        lp, g = self.T.value_and_grad(torch.as_tensor(z, dtype=torch.float64)[None])
        lp, g = float(lp[0]), g[0].numpy()
        for _ in range(_NEWTON):
            step = self._laplace_cov(z) @ g
            gain = float(g @ step)
            if not (gain > 1e-10 * (1 + abs(lp))):
                break
            for _ in range(30):
                new_lp, new_g = self.T.value_and_grad(torch.as_tensor(z + step, dtype=torch.float64)[None])
                if math.isfinite(float(new_lp[0])) and float(new_lp[0]) >= lp:
                    z, lp, g = z + step, float(new_lp[0]), new_g[0].numpy()
                    break
                step = step / 2
            else:
                break
        return z

    def _laplace_cov(self, z):
        """The inverse of minus the Hessian of log p at z (its eigenvalues made positive)."""
        torch = self.torch
        zt = torch.as_tensor(z, dtype=torch.float64)
        with torch.enable_grad():
            H = torch.autograd.functional.hessian(lambda z: self.T(z[None], grad=True)[0], zt).numpy()
        self.T.n_gradient += self.T.dim  # forward-over-reverse: one gradient per coordinate
        return _inverse_precision(-H)

    def _fixed_elbo(self, theta, noise) -> float:
        """The ELBO on fixed draws, without gradient (-inf where not finite)."""
        torch, F = self.torch, self.F
        with torch.no_grad():
            t = torch.as_tensor(theta, dtype=torch.float64)
            z = F.draw(t, noise)
            h = F.entropy(t) if F.exact_entropy else -F.log_q(t, z).mean()
            v = float(self.T(z, grad=False).mean() + h)
        return v if math.isfinite(v) else -math.inf

    def _finite_start(self):
        """A start where log p is finite: the best of 0 and 63 standard normal points."""
        torch = self.torch
        z = torch.as_tensor(np.vstack([np.zeros((1, self.T.dim)), self.rng.standard_normal((63, self.T.dim))]), dtype=torch.float64)
        lp = self.T(z, grad=False).detach()
        return z[int(torch.argmax(torch.nan_to_num(lp, nan=-math.inf)))].numpy()

    # -- 2./3. DADVI stages -------------------------------------------------------------------
    def stages(self, theta):
        """Run the stages from theta; (theta, converged, reason, scores on the evaluation draws)."""
        self.eval_noise = self._noise_eval()
        prev = None
        half = self.half0
        for j in range(_STAGES + 1):
            if self.steps_left <= 0:
                reason = f"`steps` reached ({self.iterations} optimiser iterations) before the ELBO settled"
                return theta, False, reason, prev if prev is not None else self.score(theta)
            theta, res = self._stage(theta, half, j)
            score = self.score(theta)
            if j == 0 and self.steps_left > 0:
                # a second start, N(z0, I), guards against a start in a funnel's neck; the better ELBO on the
                # evaluation draws wins (the fixed draws flatter a wide q: they were fitted to)
                other, res2 = self._stage(self.unit_start, half, j)
                score2 = self.score(other)
                self.starts = [{"start": "laplace", "elbo": score["elbo"]}, {"start": "unit", "elbo": score2["elbo"]}]
                if score2["elbo"] > score["elbo"]:
                    theta, res, score = other, res2, score2
            self.trace.append(
                {"stage": j, "draws": 2 * half, "iterations": int(res.nit), "elbo": score["elbo"], "stderr": score["elbo_se"]}
            )
            if not math.isfinite(score["elbo"]):
                return theta, False, "the ELBO is not finite at the fit: q puts mass where log_density is -inf or NaN", score
            if self._log_scale(theta) > 0.9 * _LOG_SCALE:
                reason = (
                    f"a scale of q reached e^-{_LOG_SCALE:g} or e^{_LOG_SCALE:g} times the start's: log_density changes by "
                    "orders of magnitude more across q's draws than a Gaussian can follow (walls far steeper than its curvature at the mode)"
                )
                return theta, False, reason, score
            if prev is not None:
                change, tol = score["elbo"] - prev["elbo"], max(score["elbo_se"], 1e-8 * (1 + abs(score["elbo"])))
                if abs(change) <= tol:
                    return theta, True, None, score
            prev = score
            half *= 2
        reason = (
            f"the ELBO still changed by {change:.3g} (more than its standard error {tol:.3g}) "
            f"when the draws were doubled to {self.trace[-1]['draws']}"
        )
        return theta, False, reason, score

    def _stage(self, theta, half, j):
        torch, F = self.torch, self.F
        noise = self.noise0 if j == 0 else self._noise_fit(half, j)

        def f(th):
            t = torch.as_tensor(th, dtype=torch.float64).requires_grad_(True)
            with torch.enable_grad():
                z = F.draw(t, noise)
                lp = self.T(z, grad=True)
                h = F.entropy(t) if F.exact_entropy else -F.log_q(t, z).mean()
                loss = -(lp.mean() + h)
                (g,) = torch.autograd.grad(loss, t)
            return float(loss.detach()), g.numpy()

        se = self._fixed_se(theta, noise)

        def bounded(th):
            # a step past the log-scale bound is refused as a NaN step is (the line search retries it smaller)
            return (math.inf, np.full_like(th, math.nan)) if self._log_scale(th) > _LOG_SCALE else f(th)

        res = self._minimise(bounded, theta, self.steps_left, ftol=1e-13, stage=j, settle=0.01 * se if math.isfinite(se) else 0.0)
        return res.x, res

    def _log_scale(self, theta) -> float:
        """The largest |log-scale| of q relative to the start's (the Gaussians' theta[d:2d]; 0 for the torch classes)."""
        if not self.F.exact_entropy:
            return 0.0
        return float(np.max(np.abs(np.asarray(theta)[self.F.d : 2 * self.F.d])))

    def _fixed_se(self, theta, noise):
        """The Monte Carlo standard error of the fixed-draw ELBO at theta."""
        torch = self.torch
        with torch.no_grad():
            t = torch.as_tensor(theta, dtype=torch.float64)
            z = self.F.draw(t, noise)
            w = self.T(z, grad=False) - self.F.log_q_draws(t, noise, z)
        w = w.numpy()
        return _sd(w) / math.sqrt(w.size) if np.all(np.isfinite(w)) else math.inf

    def _noise_fit(self, half, j):
        """The stage's fixed draws: whitened antithetic normal pairs (Gaussians) or a seed (torch classes)."""
        if not self.F.exact_entropy:
            return (2 * half, int(self.rng.integers(2**62)))
        e = self.rng.standard_normal((half, self.T.dim))
        C = np.linalg.cholesky(e.T @ e / half)
        e = np.linalg.solve(C, e.T).T  # now e.T @ e / half = I
        return self.torch.as_tensor(np.vstack([e, -e]), dtype=self.torch.float64)

    def _noise_eval(self, n=_EVAL):
        if not self.F.exact_entropy:
            return (n, int(self.rng.integers(2**62)))
        return self.torch.as_tensor(self.rng.standard_normal((n, self.T.dim)), dtype=self.torch.float64)

    def final(self, theta):
        """The score of the returned q on _FINAL fresh draws (the verdict's draws: no choice was made on them)."""
        return self.score(theta, self._noise_eval(_FINAL))

    def score(self, theta, noise=None):
        """ELBO, its standard error and the log importance ratios on the evaluation draws (or on `noise`)."""
        torch = self.torch
        noise = self.eval_noise if noise is None else noise
        with torch.no_grad():
            t = torch.as_tensor(theta, dtype=torch.float64)
            z = self.F.draw(t, noise)
            lp = torch.cat([self.T(c, grad=False) for c in z.split(_EVAL)])  # in blocks: the target's memory is its own
            lw = (lp - self.F.log_q_draws(t, noise, z)).numpy()
        if not np.all(np.isfinite(lw)):
            elbo, se = (math.nan if np.isnan(lw).any() else -math.inf), math.inf
        elif self.F.exact_entropy:
            elbo, se = _regression_mean(lw, noise.numpy())
        else:
            elbo, se = float(np.mean(lw)), _sd(lw, ddof=1) / math.sqrt(lw.size)
        return {"elbo": elbo, "elbo_se": se, "log_ratios": lw, "z": z.numpy()}

    # -- the optimiser with refused steps -------------------------------------------------------
    def _minimise(self, f, x0, maxiter, *, ftol, stage, settle=0.0, path=None):
        """L-BFGS-B on f from x0; a non-finite value or gradient is refused (a worse value than the best, the best's gradient)."""
        best = {"f": math.inf, "x": np.asarray(x0, dtype=np.float64), "g": None}

        def safe(x):
            errors = len(self.T.errors)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                fx, gx = f(x)
            if math.isfinite(fx) and np.all(np.isfinite(gx)):
                if fx < best["f"]:
                    best.update(f=fx, x=x.copy(), g=gx)
                return fx, gx
            what = "NaN" if (math.isnan(fx) or np.isnan(gx).any()) else "infinite"
            self.refused.append(
                {
                    "stage": stage,
                    "what": f"{what} {'value' if not math.isfinite(fx) else 'gradient'}",
                    "error": self.T.errors[-1] if len(self.T.errors) > errors else None,
                    "distance_from_best": float(np.max(np.abs(x - best["x"]))),
                }
            )
            if best["g"] is None:
                msg = f"the log density is {what} at the start of the optimisation ({stage}); give a start where it is finite"
                raise FloatingPointError(msg)
            return best["f"] + 1e3 * (1 + abs(best["f"])), -best["g"]

        values = []

        def settled(intermediate_result):
            # the objective changed by less than `settle` over the last _WINDOW iterations
            values.append(float(intermediate_result.fun))
            if path is not None:
                path.append(intermediate_result.x.copy())
            if len(values) > _WINDOW and abs(values[-1 - _WINDOW] - values[-1]) < settle:
                raise StopIteration

        opts = {"maxiter": max(int(maxiter), 1), "ftol": ftol, "gtol": 1e-8, "maxcor": 20}
        res = minimize(safe, x0, jac=True, method="L-BFGS-B", options=opts, callback=settled)
        self.iterations += int(res.nit)
        self.steps_left -= int(res.nit)
        if best["f"] < math.inf and not (math.isfinite(res.fun) and res.fun <= best["f"]):
            res.x = best["x"]
        return res


def _regression_mean(y, eps):
    """The mean of y(eps), eps ~ N(0, I), with the Hermite polynomials of degree 1 and 2 as control variates.

    The regression estimator (Owen 2013, *Monte Carlo theory, methods and examples*, sec. 8.9):
    y is regressed on features of known mean 0 (eps_i, eps_i eps_j for i < j, eps_i^2 - 1; the
    products left out where they would exceed a tenth of the draws), the intercept is the
    estimate and the residuals' variance its standard error.  It is exact where log p - log q is
    quadratic (a Gaussian target), and never worse than the plain mean by more than O(1/n).
    """
    n, d = eps.shape
    scale = _scale(y)  # log p can be finite and 1e200 far from the mode: its square would overflow
    y = y / scale
    cols = [eps, eps**2 - 1]
    if d * (d - 1) // 2 + 2 * d <= n // 10:
        i, j = np.triu_indices(d, 1)
        cols.append(eps[:, i] * eps[:, j])
    X = np.hstack([np.ones((n, 1)), *cols])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    dof = max(n - X.shape[1], 1)
    return float(beta[0] * scale), float(math.sqrt(resid @ resid / dof / n) * scale)


def _scale(y):
    """The largest magnitude of y (1 where y is all 0): dividing by it keeps y's squares finite."""
    top = float(np.max(np.abs(y)))
    return top if top > 0 else 1.0


def _sd(w, ddof=0):
    """The standard deviation of finite w without overflow in its squares (log p may be -1e200 at a finite point)."""
    scale = _scale(w)
    return float(np.std(w / scale, ddof=ddof) * scale)


def _inverse_precision(P):
    """The covariance from a precision matrix, its eigenvalues' magnitudes kept above 1e-14 x the largest (unit where P is not finite)."""
    d = P.shape[0]
    if not np.all(np.isfinite(P)):
        return np.eye(d)
    lam, V = np.linalg.eigh(0.5 * (P + P.T))
    top = max(float(np.max(np.abs(lam))), 1e-300)
    # negative curvature: its magnitude (a saddle's scale); the floor is low because a regression's
    # intercept-slope valley has eigenvalues 1e-9 of the largest (earnings-earn_height)
    lam = np.clip(np.abs(lam), 1e-14 * top, None)
    cov = (V / lam) @ V.T
    return 0.5 * (cov + cov.T)
