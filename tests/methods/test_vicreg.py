"""VICReg: the loss against per-dimension loops for its three terms on the recipe's views, and learning on digits."""

from __future__ import annotations

import pytest
import torch

from molssl.methods.vicreg import VICReg, VICRegConfig
from molssl.views import get_views
from tests.methods.images import DIGIT_VIEWS, TINY_RESNET, TINY_VIT, generator, mean, mnist_batch, train

SMALL = dict(projection_dim=12, projection_hidden_dim=24, view_options=DIGIT_VIEWS)


def naive_vicreg(z1: torch.Tensor, z2: torch.Tensor, lam: float, mu: float, nu: float, eps: float = 1e-4) -> float:
    """lam * MSE + mu * (v(z1) + v(z2)) + nu * (c(z1) + c(z2)) with every sum written out."""
    n, d = z1.shape
    a, b = z1.double().tolist(), z2.double().tolist()
    invariance = sum((a[k][j] - b[k][j]) ** 2 for k in range(n) for j in range(d)) / (n * d)

    def variance_and_covariance(z):
        means = [sum(z[k][j] for k in range(n)) / n for j in range(d)]
        cov = [[sum((z[k][i] - means[i]) * (z[k][j] - means[j]) for k in range(n)) / (n - 1) for j in range(d)]
               for i in range(d)]  # fmt: skip
        variance = sum(max(0.0, 1.0 - (cov[j][j] + eps) ** 0.5) for j in range(d)) / d
        covariance = sum(cov[i][j] ** 2 for i in range(d) for j in range(d) if i != j) / d
        return variance, covariance

    va, ca = variance_and_covariance(a)
    vb, cb = variance_and_covariance(b)
    return lam * invariance + mu * (va + vb) + nu * (ca + cb)


def test_loss_matches_per_dimension_loops():
    torch.manual_seed(0)
    config = VICRegConfig(**SMALL, invariance_weight=10.0, variance_weight=20.0, covariance_weight=3.0)
    method = VICReg(TINY_RESNET, config).train()
    batch = mnist_batch(10)
    output = method(batch, generator(4))
    with torch.no_grad():
        views = get_views("image", "byol")(batch, generator(4), **DIGIT_VIEWS)
        z = [method.projector(method.encoder(v)) for v in views]
    assert output.loss.item() == pytest.approx(naive_vicreg(z[0], z[1], 10.0, 20.0, 3.0), rel=1e-5)


def test_defaults_are_the_papers():
    c = VICRegConfig()
    assert (c.invariance_weight, c.variance_weight, c.covariance_weight) == (25.0, 25.0, 1.0)
    assert (c.projection_dim, c.projection_hidden_dim, c.projection_layers) == (8192, 8192, 3)


def test_bad_options():
    with pytest.raises(ValueError, match="variance_weight"):
        VICRegConfig(variance_weight=-1.0)


def test_loss_decreases_on_digits():
    torch.manual_seed(0)
    method = VICReg(TINY_VIT, VICRegConfig(projection_dim=64, projection_hidden_dim=64, view_options=DIGIT_VIEWS))
    losses = train(method, steps=80, batch_size=32, lr=2e-3)
    assert mean(losses[-10:]) < 0.93 * mean(losses[:10]), (losses[:10], losses[-10:])
