"""The space-worm teeth example: which simple law loses least information about observed counts?

Observed probabilities of 0..10 teeth in a sample of space worms (W. Kurt, "Kullback-Leibler
Divergence Explained", Count Bayesie, 2017), against the uniform law on {0..10}, a Binomial(10, p)
and a Poisson, each fitted forward (D(obs||q), maximum likelihood) and reverse (D(q||obs)).

    python examples/space_worms.py            # prints the tables, writes docs/guide/space_worms.png
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import scipy.stats as st

import kullback as kb

P = [0.02, 0.03, 0.05, 0.14, 0.16, 0.15, 0.12, 0.08, 0.10, 0.08, 0.07]
FAMILIES = [st.randint, (st.binom, {"n": 10}), st.poisson]
FIGURE = Path(__file__).resolve().parent.parent / "docs" / "guide" / "space_worms.png"


def main() -> None:
    teeth = st.rv_discrete(values=(np.arange(11), P))
    print("Observed probabilities of 0..10 teeth:", P)
    print(f"The post's binomial, p = 0.57: D(obs||q) = {float(kb.kl(teeth, st.binom(10, 0.57))):.6f} nats\n")
    forward = kb.rank(teeth, FAMILIES)
    reverse = kb.rank(teeth, FAMILIES, direction="reverse")
    print(forward, end="\n\n")
    print(reverse, end="\n\n")
    print(f"Least information lost (forward): {forward.best.family}, {forward.best.kl:.4f} nats = {forward.best.kl / math.log(2):.4f} bits")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure")
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    k = np.arange(11)
    for ax, ranking, title in ((axes[0], forward, "forward: D(obs || q)"), (axes[1], reverse, "reverse: D(q || obs)")):
        ax.bar(k, P, color="0.8", label="observed")
        for f, marker in zip(sorted(ranking.fits, key=lambda f: f.family), "os^"):
            label = f"{f.family}: {f.kl:.3f} nats" if math.isfinite(f.kl) else f"{f.family}: inf ({'mass beyond 10'})"
            ax.plot(k, f.distribution.pmf(k), marker=marker, label=label)
        ax.set_title(title)
        ax.set_xlabel("teeth")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("probability")
    fig.tight_layout()
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURE, dpi=110)
    print(f"figure: {FIGURE}")


if __name__ == "__main__":
    main()
