"""The site's figures, drawn at build time by conf.py (``python docs/figures.py OUTDIR`` draws them by hand).

Each figure computes its numbers with kullback itself, from the same inputs as the page that shows it.
"""

import sys
from pathlib import Path

import numpy as np
import scipy.optimize
import scipy.stats as st

import kullback as kb

# tutorials/space-worms.md: teeth counted on 100 space worms, as fractions of worms with 0..10 teeth
OBSERVED = np.array([0.02, 0.03, 0.05, 0.14, 0.16, 0.15, 0.12, 0.08, 0.10, 0.08, 0.07])
TEETH = np.arange(11)

# guide/which-way-round.md: p is an equal mixture of N(-3, 1) and N(3, 1), q a single normal, on a grid
GRID = np.linspace(-20, 20, 4001)


def space_worm_models():
    """(uniform, binomial) probability vectors over 0..10 teeth, the binomial with p = mean / 10."""
    uniform = np.full(11, 1 / 11)
    binomial = st.binom.pmf(TEETH, 10, (TEETH * OBSERVED).sum() / 10)
    return uniform, binomial


def bimodal():
    """The target p of the which-way-round figure, as a probability vector on GRID."""
    p = 0.5 * st.norm.pdf(GRID, -3, 1) + 0.5 * st.norm.pdf(GRID, 3, 1)
    return p / p.sum()


def normal_on_grid(mu, sigma):
    q = st.norm.pdf(GRID, mu, sigma)
    return q / q.sum()


def best_normal(p, direction):
    """The normal (mu, sigma) closest to p: forward minimises D(p||q), reverse D(q||p)."""

    def loss(theta):
        q = normal_on_grid(theta[0], np.exp(theta[1]))
        return float(kb.kl(p, q) if direction == "forward" else kb.kl(q, p))

    res = scipy.optimize.minimize(loss, x0=[0.5, 0.0], method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-12})
    return res.x[0], float(np.exp(res.x[1]))


def draw_space_worms(plt, out):
    uniform, binomial = space_worm_models()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.bar(TEETH, OBSERVED, color="#bbbbbb", label="observed")
    d_u, d_b = float(kb.kl(OBSERVED, uniform)), float(kb.kl(OBSERVED, binomial))
    ax.plot(TEETH, uniform, "o-", color="#1f77b4", label=f"uniform: D(observed||q) = {d_u:.4f} nats")
    ax.plot(TEETH, binomial, "s-", color="#d62728", label=f"Binomial(10, 0.544): D = {d_b:.4f} nats")
    ax.set_xlabel("teeth")
    ax.set_ylabel("probability")
    ax.set_xticks(TEETH)
    ax.set_ylim(0, 0.3)
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(out / "space-worms.png", dpi=110)
    plt.close(fig)


def draw_which_way_round(plt, out):
    p = bimodal()
    step = GRID[1] - GRID[0]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.fill_between(GRID, p / step, color="#bbbbbb", label="p: ½N(-3, 1) + ½N(3, 1)")
    for direction, colour in (("forward", "#1f77b4"), ("reverse", "#d62728")):
        mu, sigma = best_normal(p, direction)
        what = "D(p||q)" if direction == "forward" else "D(q||p)"
        ax.plot(GRID, normal_on_grid(mu, sigma) / step, color=colour, label=f"{direction}: min {what}, N({mu:.2f}, {sigma:.2f}²)")
    ax.set_xlim(-7, 7)
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.legend(frameon=False, loc="upper left")
    fig.tight_layout()
    fig.savefig(out / "which-way-round.png", dpi=110)
    plt.close(fig)


def main(out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    draw_space_worms(plt, out)
    draw_which_way_round(plt, out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent / "_generated")
