"""Barlow Twins: the loss against an element-by-element cross-correlation loop on the recipe's views, and learning on digits."""

from __future__ import annotations

import pytest
import torch

from molssl.methods.barlow_twins import BarlowTwins, BarlowTwinsConfig
from molssl.views import get_views
from tests.methods.images import DIGIT_VIEWS, TINY_RESNET, TINY_VIT, generator, mean, mnist_batch, train

SMALL = dict(projection_dim=12, projection_hidden_dim=24, view_options=DIGIT_VIEWS)


def naive_barlow_twins(z1: torch.Tensor, z2: torch.Tensor, lambda_offdiag: float, eps: float = 1e-5) -> float:
    """sum_i (1 - C_ii)^2 + lambda sum_{i != j} C_ij^2, with C_ij = sum_b za_bi zb_bj / n over standardized columns."""
    n, d = z1.shape
    a, b = z1.double().tolist(), z2.double().tolist()

    def standardize(z):
        columns = []
        for j in range(d):
            col = [z[k][j] for k in range(n)]
            mu = sum(col) / n
            var = sum((x - mu) ** 2 for x in col) / n
            columns.append([(x - mu) / (var + eps) ** 0.5 for x in col])
        return columns

    sa, sb = standardize(a), standardize(b)
    loss = 0.0
    for i in range(d):
        for j in range(d):
            c = sum(sa[i][k] * sb[j][k] for k in range(n)) / n
            loss += (1 - c) ** 2 if i == j else lambda_offdiag * c**2
    return loss


def test_loss_matches_an_element_by_element_loop():
    torch.manual_seed(0)
    method = BarlowTwins(TINY_RESNET, BarlowTwinsConfig(**SMALL, lambda_offdiag=0.05)).train()
    batch = mnist_batch(10)
    output = method(batch, generator(2))
    with torch.no_grad():
        views = get_views("image", "byol")(batch, generator(2), **DIGIT_VIEWS)
        z = [method.projector(method.encoder(v)) for v in views]
    assert output.loss.item() == pytest.approx(naive_barlow_twins(z[0], z[1], 0.05), rel=1e-5)


def test_defaults_are_the_papers():
    c = BarlowTwinsConfig()
    assert (c.projection_dim, c.projection_hidden_dim, c.projection_layers, c.lambda_offdiag) == (8192, 8192, 3, 5e-3)
    method = BarlowTwins(TINY_VIT, BarlowTwinsConfig(projection_dim=40, projection_hidden_dim=48))
    linears = [m for m in method.projector.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(32, 48), (48, 48), (48, 40)]


def test_bad_options():
    with pytest.raises(ValueError, match="lambda_offdiag"):
        BarlowTwinsConfig(lambda_offdiag=-1.0)
    with pytest.raises(ValueError, match="projection_layers"):
        BarlowTwinsConfig(projection_layers=0)


def test_loss_decreases_on_digits():
    torch.manual_seed(0)
    method = BarlowTwins(TINY_VIT, BarlowTwinsConfig(projection_dim=64, projection_hidden_dim=64, view_options=DIGIT_VIEWS))
    losses = train(method, steps=40, batch_size=32, lr=1e-3)
    assert mean(losses[-8:]) < 0.8 * mean(losses[:8]), (losses[:8], losses[-8:])
