"""A small VAE on scikit-learn's bundled 8x8 digits, its KL term by ``kullback.losses.gaussian_kl``.

The 1797 digits of ``sklearn.datasets.load_digits`` (bundled with scikit-learn: no download),
pixels scaled to [0, 1]; an MLP encoder 64 -> 128 -> (mu, logvar) in 8 latent dimensions and a
decoder 8 -> 128 -> 64 with Bernoulli outputs (Kingma & Welling 2014). The loss per example is the
negative ELBO, reconstruction cross-entropy + D(N(mu, e^logvar) || N(0, I)), the divergence summed
over the latent axis (``gaussian_kl``'s default ``reduction="batchmean"``).

    pip install 'kullback[torch,examples]'
    python examples/vae_digits.py      # ~10 s on one CPU core; writes docs/guide/vae_digits.png
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from kullback.losses import gaussian_kl

SEED = 0
EPOCHS = 30
LATENT = 8
BATCH = 64
FIGURE = Path(__file__).resolve().parent.parent / "docs" / "guide" / "vae_digits.png"


def load_data() -> torch.Tensor:
    """The digits as a float32 tensor (1797, 64) with pixels in [0, 1] (the raw values are 0..16)."""
    from sklearn.datasets import load_digits

    return torch.tensor(load_digits().data / 16.0, dtype=torch.float32)


class VAE(nn.Module):
    def __init__(self, latent: int = LATENT, hidden: int = 128) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, 64))

    def forward(self, x: torch.Tensor):
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()  # the reparameterisation trick
        return self.decoder(z), mu, logvar


def loss_terms(model: VAE, x: torch.Tensor):
    """(reconstruction, KL) per example: the negative ELBO is their sum."""
    logits, mu, logvar = model(x)
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
    return recon, gaussian_kl(mu, logvar)


def train_epoch(model: VAE, optimizer: torch.optim.Optimizer, data: torch.Tensor, generator: torch.Generator) -> tuple[float, float]:
    """One pass over ``data`` in shuffled minibatches; returns the epoch's mean (ELBO, KL) per example, in nats."""
    model.train()
    elbo = kl_sum = 0.0
    for idx in torch.randperm(data.shape[0], generator=generator).split(BATCH):
        x = data[idx]
        recon, kl = loss_terms(model, x)
        loss = recon + kl
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        elbo -= float(loss.detach()) * len(idx)
        kl_sum += float(kl.detach()) * len(idx)
    return elbo / data.shape[0], kl_sum / data.shape[0]


def train(data: torch.Tensor, epochs: int = EPOCHS, seed: int = SEED) -> list[tuple[float, float]]:
    """Train a fresh VAE for ``epochs``; the (ELBO, KL) of each epoch."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    return [train_epoch(model, optimizer, data, generator) for _ in range(epochs)]


def plot(history: list[tuple[float, float]], path: Path = FIGURE) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = range(1, len(history) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.2))
    ax1.plot(epochs, [e for e, _ in history], marker=".")
    ax1.set(xlabel="epoch", ylabel="ELBO (nats per digit)", title="ELBO")
    ax2.plot(epochs, [k for _, k in history], marker=".", color="C1")
    ax2.set(xlabel="epoch", ylabel="D(q(z|x) || N(0, I)) (nats)", title="KL term (gaussian_kl)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    torch.set_num_threads(1)
    data = load_data()
    history = train(data)
    for i, (elbo, kl) in enumerate(history, 1):
        print(f"epoch {i:2d}  ELBO {elbo:9.3f}  KL {kl:7.3f}")
    plot(history)
    print(f"wrote {FIGURE}")


if __name__ == "__main__":
    main()
