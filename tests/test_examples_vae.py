"""examples/vae_digits.py: its training step runs and lowers the loss (needs scikit-learn, the `examples` extra)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "vae_digits.py"


def _load():
    spec = importlib.util.spec_from_file_location("vae_digits", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vae_training_step_lowers_the_loss():
    vae = _load()
    data = vae.load_data()
    assert tuple(data.shape) == (1797, 64) and float(data.min()) == 0.0 and float(data.max()) == 1.0
    subset = data[:256]
    torch.manual_seed(0)
    model = vae.VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        torch.manual_seed(1)
        before = sum(float(t) for t in vae.loss_terms(model, subset))
    history = [vae.train_epoch(model, optimizer, subset, generator) for _ in range(3)]
    with torch.no_grad():
        torch.manual_seed(1)
        after = sum(float(t) for t in vae.loss_terms(model, subset))
    assert all(math.isfinite(e) and k >= 0.0 for e, k in history)
    # the negative ELBO of an untrained decoder is ~ 64 log 2 = 44 nats per digit; training lowers it
    assert after < before - 1.0
    assert history[-1][0] > history[0][0]  # the ELBO rises
