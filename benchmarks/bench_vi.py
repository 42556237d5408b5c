"""kb.vi on posteriordb posteriors against numpyro SVI, blackjax Pathfinder, gsmvi and numpyro NUTS, side by side in one process.

Usage: python benchmarks/bench_vi.py [--quick] [--posteriors NAME,NAME,...]

Per posterior and method: the largest error of the means in reference sds, the largest relative
error of the sds (both on the constrained parameters, from 4000 draws of q, against the
posteriordb reference draws' moments in benchmarks/posteriors/reference.json), Pareto k-hat of
the importance ratios (kullback's PSIS on 4000 draws of q; "-" where q's density is not at hand),
gradient evaluations (per point) and wall time.  Peers (the ``bench`` extra) are skipped if absent.
``--quick`` runs kb.vi only; ``--posteriors`` a comma-separated subset (prefixes of the names).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from posteriors import posteriors, reference  # noqa: E402

import kullback as kb  # noqa: E402
from kullback.fitting._psis import psis  # noqa: E402

DRAWS = 4000
SVI_STEPS = 5_000  # numpyro's SVI examples use 5000-20000 Adam steps
SVI_LR = 0.01
GSM_BATCH, GSM_CHUNK, GSM_ITERS = 2, 250, 2500  # gsmvi's default batch 2; 2500 of its default 5000 iterations
NUTS_WARMUP, NUTS_DRAWS = 500, 1000


def errors(x, ref):
    mean, sd = np.asarray(ref["mean"]), np.asarray(ref["sd"])
    return float(np.max(np.abs(x.mean(0) - mean) / sd)), float(np.max(np.abs(x.std(0, ddof=1) / sd - 1)))


def khat(log_p, log_q):
    lw = np.asarray(log_p) - np.asarray(log_q)
    return psis(lw)[1] if np.all(np.isfinite(lw)) else math.inf


_FITS: dict = {}


def _vi_fit(post, family):
    """kb.vi's fit, its wall time and 4000 draws of q (torch seeded: the same draws each run), kept for the PSIS row."""
    import torch

    key = (post.name, family)
    if key not in _FITS:
        f_lp = post.density(torch)
        t = time.perf_counter()
        f = kb.vi(f_lp, post.dim, family=family, rng=0)
        wall = time.perf_counter() - t
        torch.manual_seed(0)
        _FITS[key] = (f, wall, f.distribution.sample((DRAWS,)), f_lp)
    return _FITS[key]


def run_vi(post, family):
    f, wall, z, _ = _vi_fit(post, family)
    d = f.diagnostics
    return post.constrain(z.numpy()), d["k_hat"], d["evaluations"]["gradient"], wall, "" if f.converged else "not converged"


def run_vi_psis(post):
    """kb.vi's gaussian q with Pareto-smoothed importance weights (what `moments=True` reports): weighted moments,
    reported as 4000 draws resampled by the weights; the k-hat of those weights (4000 more log-density evaluations)."""
    f, wall, z, f_lp = _vi_fit(post, "gaussian")
    t = time.perf_counter()
    lw = (f_lp(z) - f.distribution.log_prob(z)).detach().numpy()
    lws, k = psis(lw)
    idx = np.random.default_rng(0).choice(DRAWS, DRAWS, p=np.exp(lws) / np.exp(lws).sum())
    wall += time.perf_counter() - t
    return post.constrain(z.numpy()[idx]), k, f.diagnostics["evaluations"]["gradient"], wall, "weighted moments (resampled)"


def run_svi(post, guide_name):
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import SVI, Trace_ELBO, autoguide, init_to_value

    lp = post.density(jnp)

    def model():
        z = numpyro.sample("z", dist.ImproperUniform(dist.constraints.real_vector, (), (post.dim,)))
        numpyro.factor("lp", lp(z))

    guide = getattr(autoguide, guide_name)(model, init_loc_fn=init_to_value(values={"z": jnp.zeros(post.dim)}))
    svi = SVI(model, guide, numpyro.optim.Adam(SVI_LR), Trace_ELBO())
    t = time.perf_counter()
    res = svi.run(jax.random.PRNGKey(0), SVI_STEPS, progress_bar=False)
    if guide_name == "AutoNormal":  # its q: independent normals at the site's loc and scale
        q = dist.Normal(res.params["z_auto_loc"], res.params["z_auto_scale"]).to_event(1)
    else:
        q = guide.get_posterior(res.params)
    z = q.sample(jax.random.PRNGKey(1), (DRAWS,))
    z.block_until_ready()
    wall = time.perf_counter() - t
    k = khat(lp(z), q.log_prob(z))
    return post.constrain(np.asarray(z)), k, SVI_STEPS, wall, ""


def run_pathfinder(post):
    import blackjax
    import jax
    import jax.numpy as jnp

    lp = post.density(jnp)
    t = time.perf_counter()
    # as documented: approximate -> the best state on the L-BFGS path by its ELBO; sample(rng, state, n) -> (draws, log q).
    # ftol 1e-12 as Stan's Pathfinder (its tol_obj), maxiter 200 (Stan: 1000; blackjax scores every padded point of the path): blackjax's defaults (30, an absolute 1e-5)
    # stopped the L-BFGS path in the regressions' intercept-slope valleys, far from the mode, with draws of no spread
    state, info = blackjax.vi.pathfinder.approximate(
        jax.random.PRNGKey(0), lp, jnp.zeros(post.dim), num_samples=200, maxiter=200, ftol=1e-12, gtol=1e-8
    )
    z, log_q = blackjax.vi.pathfinder.sample(jax.random.PRNGKey(1), state, DRAWS)
    z = np.asarray(z)
    wall = time.perf_counter() - t
    iters = int(np.sum(np.isfinite(np.asarray(info.path.elbo))))
    grads = iters * (1 + 200)  # one gradient per L-BFGS iteration (line-search extra not counted) and 200 ELBO draws at each
    return post.constrain(z), khat(lp(jnp.asarray(z)), log_q), grads, wall, "gradients: lower bound"


def run_gsm(post, ref):
    """gsmvi's GSM (Modi et al. 2023) from N(0, I) with its defaults, in chunks: the note gives the gradients after
    which the moments first came within 0.1 sd and 10% (an oracle stop, which GSM itself does not have)."""
    import jax
    import jax.numpy as jnp
    from gsmvi.gsm import GSM

    lp = post.density(jnp)
    lp_g = jax.jit(jax.vmap(jax.grad(lp)))
    gsm = GSM(post.dim, jax.jit(jax.vmap(lp)), lp_g)
    mean, cov = jnp.zeros(post.dim), jnp.eye(post.dim)
    rng = np.random.default_rng(0)
    t, grads, reached = time.perf_counter(), 0, None
    for i in range(GSM_ITERS // GSM_CHUNK):
        mean, cov = gsm.fit(jax.random.PRNGKey(i), mean=mean, cov=cov, batch_size=GSM_BATCH, niter=GSM_CHUNK - 1, verbose=False)
        grads += GSM_CHUNK * GSM_BATCH
        if reached is None and ref is not None and np.all(np.isfinite(np.asarray(cov))):
            x = post.constrain(rng.multivariate_normal(np.asarray(mean), np.asarray(cov), 2000))
            me, se = errors(x, ref)
            if me < 0.1 and se < 0.1:
                reached = grads
    wall = time.perf_counter() - t
    mean, cov = np.asarray(mean), np.asarray(cov)
    if not np.all(np.isfinite(cov)):
        raise FloatingPointError("GSM's covariance is not finite")
    z = rng.multivariate_normal(mean, cov, DRAWS)
    log_q = multivariate_normal_logpdf(z, mean, cov)
    note = f"within 0.1 sd / 10% after {reached} gradients" if reached else ""
    return post.constrain(z), khat(lp(jnp.asarray(z)), log_q), grads, wall, note


def multivariate_normal_logpdf(z, mean, cov):
    from scipy.stats import multivariate_normal

    return multivariate_normal(mean, cov, allow_singular=True).logpdf(z)


def run_nuts(post):
    import jax
    import jax.numpy as jnp
    from numpyro.infer import MCMC, NUTS

    lp = post.density(jnp)
    mcmc = MCMC(NUTS(potential_fn=lambda z: -lp(z)), num_warmup=NUTS_WARMUP, num_samples=NUTS_DRAWS, progress_bar=False)
    t = time.perf_counter()
    mcmc.warmup(jax.random.PRNGKey(0), init_params=jnp.zeros(post.dim), extra_fields=("num_steps",), collect_warmup=True)
    warm = int(np.sum(mcmc.get_extra_fields()["num_steps"]))
    mcmc.run(jax.random.PRNGKey(1), extra_fields=("num_steps",))
    z = np.asarray(mcmc.get_samples())
    wall = time.perf_counter() - t
    grads = warm + int(np.sum(mcmc.get_extra_fields()["num_steps"]))  # leapfrog steps, warmup included
    return post.constrain(z), math.nan, grads, wall, f"{NUTS_WARMUP} warmup + {NUTS_DRAWS} draws"


METHODS = {
    "kb.vi gaussian": lambda p: run_vi(p, "gaussian"),
    "kb.vi meanfield": lambda p: run_vi(p, "meanfield"),
    "kb.vi gaussian + PSIS": run_vi_psis,
    "numpyro SVI AutoMultivariateNormal": lambda p: run_svi(p, "AutoMultivariateNormal"),
    "numpyro SVI AutoNormal": lambda p: run_svi(p, "AutoNormal"),
    "blackjax pathfinder": run_pathfinder,
    "gsmvi GSM": None,  # needs the reference (its note): called with it in main
    "numpyro NUTS": run_nuts,
}


def main(quick=False, only=None):
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
    except ImportError:
        pass
    refs = reference()
    rows = []
    for name, post in posteriors().items():
        if only and not any(name.startswith(o) for o in only):
            continue
        for method, run in METHODS.items():
            if run is None:
                run = lambda p: run_gsm(p, refs.get(p.name))  # noqa: E731
            if quick and not method.startswith("kb.vi"):
                continue
            try:
                x, k, grads, wall, note = run(post)
            except ImportError as exc:
                print(f"# {method}: skipped ({exc})", file=sys.stderr)
                continue
            except Exception as exc:  # a peer's failure is a row, not a crash
                rows.append((name, method, math.nan, math.nan, math.nan, 0, 0.0, f"failed: {type(exc).__name__}: {str(exc)[:60]}"))
                continue
            me, se = errors(x, refs[name]) if name in refs else (math.nan, math.nan)
            rows.append((name, method, me, se, k, grads, wall, note))
            print(rows[-1], file=sys.stderr, flush=True)
    print("| posterior | method | max mean error (ref sd) | max sd error (rel.) | k-hat | gradient evals | wall s | note |")
    print("|---|---|---|---|---|---|---|---|")
    for name, method, me, se, k, grads, wall, note in rows:
        print(f"| {name} | {method} | {me:.3f} | {se:.3f} | {k:.2f} | {grads} | {wall:.2f} | {note} |")


if __name__ == "__main__":
    args = sys.argv[1:]
    only = args[args.index("--posteriors") + 1].split(",") if "--posteriors" in args else None
    main(quick="--quick" in args, only=only)
