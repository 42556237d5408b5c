"""The figure of docs/guide/vi.md: a bimodal target, the reverse fit of kb.vi and the forward fit of kb.fit.

Usage: python docs/guide/vi_bimodal.py  (writes docs/guide/vi_bimodal.png)
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy.stats as st  # noqa: E402
import torch  # noqa: E402

import kullback as kb  # noqa: E402

D = torch.distributions
F64 = torch.float64
target = D.MixtureSameFamily(
    D.Categorical(torch.tensor([0.5, 0.5], dtype=F64)), D.Normal(torch.tensor([-2.0, 2.0], dtype=F64), torch.tensor([0.6, 0.6], dtype=F64))
)

reverse = kb.vi(lambda z: target.log_prob(z[..., 0]), 1, normalized=True, rng=0)
torch.manual_seed(0)
forward = kb.fit(target.sample((20_000,)).numpy(), st.norm)

x = np.linspace(-5, 5, 801)
p = target.log_prob(torch.as_tensor(x)).exp().numpy()
m, v = float(reverse.params["mean"][0]), float(reverse.params["cov"][0, 0])
fig, ax = plt.subplots(figsize=(7, 3.6))
ax.fill_between(x, p, color="0.85", label="target: ½N(-2, 0.6²) + ½N(2, 0.6²)")
ax.plot(
    x,
    st.norm(m, np.sqrt(v)).pdf(x),
    lw=2,
    label=f"kb.vi (reverse, D(q||p) = {float(reverse.kl):.2f}): one mode, k-hat {reverse.diagnostics['k_hat']:.2f}",
)
mu, sd = forward.params["loc"], forward.params["scale"]
ax.plot(x, st.norm(mu, sd).pdf(x), lw=2, ls="--", label=f"kb.fit (forward, from 20 000 draws): covers both, sd {sd:.2f}")
ax.set_xlabel("x")
ax.set_ylabel("density")
ax.legend(fontsize=8, loc="upper left", frameon=False)
ax.set_ylim(0, 0.9)
fig.tight_layout()
fig.savefig(Path(__file__).with_suffix(".png"), dpi=110)
print(reverse)
print(forward)
