"""kb.vi on posteriordb posteriors against numpyro SVI, blackjax Pathfinder and numpyro NUTS, side by side in one process.

Usage: python benchmarks/bench_vi.py [--quick]

Per posterior and method: the largest error of the means in reference sds, the largest relative
error of the sds (both on the constrained parameters, from 4000 draws of q, against the
posteriordb reference draws' moments in benchmarks/posteriors/reference.json), Pareto k-hat of
the importance ratios (kullback's PSIS on 4000 draws of q; "-" where q's density is not at hand),
gradient evaluations (per point) and wall time.  Peers (the ``bench`` extra) are skipped if absent.
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
SVI_STEPS = 10_000  # numpyro's SVI examples use 5000-20000 Adam steps
SVI_LR = 0.01


def errors(x, ref):
    mean, sd = np.asarray(ref["mean"]), np.asarray(ref["sd"])
    return float(np.max(np.abs(x.mean(0) - mean) / sd)), float(np.max(np.abs(x.std(0, ddof=1) / sd - 1)))


def khat(log_p, log_q):
    lw = np.asarray(log_p) - np.asarray(log_q)
    return psis(lw)[1] if np.all(np.isfinite(lw)) else math.inf


def run_vi(post, family):
    import torch

    f_lp = post.density(torch)
    t = time.perf_counter()
    f = kb.vi(f_lp, post.dim, family=family, rng=0)
    wall = time.perf_counter() - t
    z = f.distribution.sample((DRAWS,)).numpy()
    d = f.diagnostics
    return post.constrain(z), d["k_hat"], d["evaluations"]["gradient"], wall, "" if f.converged else "not converged"


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
    # maxiter 1000 as Stan's Pathfinder (blackjax's default 30 stopped short on the regressions)
    state, info = blackjax.vi.pathfinder.approximate(jax.random.PRNGKey(0), lp, jnp.zeros(post.dim), num_samples=200, maxiter=1000)
    out = blackjax.vi.pathfinder.sample(jax.random.PRNGKey(1), state, DRAWS)
    z, log_q = out if isinstance(out, tuple) else (out, None)
    z = np.asarray(z)
    wall = time.perf_counter() - t
    iters = int(np.sum(np.isfinite(np.asarray(info.path.elbo)))) if hasattr(info, "path") else 0
    grads = iters * (1 + 200)  # one gradient per L-BFGS iteration (line-search extra not counted) and 200 ELBO draws at each
    k = khat(lp(jnp.asarray(z)), log_q) if log_q is not None else math.nan
    return post.constrain(z), k, grads, wall, "gradients: lower bound"


def run_nuts(post):
    import jax
    import jax.numpy as jnp
    from numpyro.infer import MCMC, NUTS

    lp = post.density(jnp)
    mcmc = MCMC(NUTS(potential_fn=lambda z: -lp(z)), num_warmup=1000, num_samples=1000, progress_bar=False)
    t = time.perf_counter()
    mcmc.run(jax.random.PRNGKey(0), init_params=jnp.zeros(post.dim), extra_fields=("num_steps",))
    z = np.asarray(mcmc.get_samples())
    wall = time.perf_counter() - t
    grads = int(np.sum(mcmc.get_extra_fields()["num_steps"]))  # sampling phase only; warmup adds about as many
    return post.constrain(z), math.nan, grads, wall, "1000 warmup + 1000 draws; gradients of the draws only"


METHODS = {
    "kb.vi gaussian": lambda p: run_vi(p, "gaussian"),
    "kb.vi meanfield": lambda p: run_vi(p, "meanfield"),
    "numpyro SVI AutoMultivariateNormal": lambda p: run_svi(p, "AutoMultivariateNormal"),
    "numpyro SVI AutoNormal": lambda p: run_svi(p, "AutoNormal"),
    "blackjax pathfinder": run_pathfinder,
    "numpyro NUTS": run_nuts,
}


def main(quick=False):
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
    except ImportError:
        pass
    refs = reference()
    rows = []
    for name, post in posteriors().items():
        for method, run in METHODS.items():
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
    main(quick="--quick" in sys.argv)
