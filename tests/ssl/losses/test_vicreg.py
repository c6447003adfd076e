"""VICReg against a naive loop over its three terms."""

from __future__ import annotations

import math

import pytest
import torch

from molssl.ssl.losses import VICRegLoss, vicreg_loss


def naive_vicreg(z1, z2, lam=25.0, mu=25.0, nu=1.0, gamma=1.0, eps=1e-4) -> float:
    a, b = z1.tolist(), z2.tolist()
    n, d = len(a), len(a[0])
    invariance = sum((a[i][j] - b[i][j]) ** 2 for i in range(n) for j in range(d)) / (n * d)

    def variance(z):
        total = 0.0
        for j in range(d):
            mean = sum(z[i][j] for i in range(n)) / n
            var = sum((z[i][j] - mean) ** 2 for i in range(n)) / (n - 1)
            total += max(0.0, gamma - math.sqrt(var + eps))
        return total / d

    def covariance(z):
        means = [sum(z[i][j] for i in range(n)) / n for j in range(d)]
        total = 0.0
        for j in range(d):
            for k in range(d):
                if j != k:
                    cov = sum((z[i][j] - means[j]) * (z[i][k] - means[k]) for i in range(n)) / (n - 1)
                    total += cov * cov
        return total / d

    return lam * invariance + mu * (variance(a) + variance(b)) + nu * (covariance(a) + covariance(b))


def pair(seed: int, n: int = 8, d: int = 4, scale: float = 1.0):
    g = torch.Generator().manual_seed(seed)
    z1 = scale * torch.randn(n, d, generator=g, dtype=torch.float64)
    return z1, z1 + 0.2 * torch.randn(n, d, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("scale", [0.3, 2.0])  # below and above gamma: the hinge active and not
def test_matches_loop(seed, scale):
    z1, z2 = pair(seed, scale=scale)
    assert vicreg_loss(z1, z2).item() == pytest.approx(naive_vicreg(z1, z2), rel=1e-9)
    weights = {"invariance_weight": 1.0, "variance_weight": 0.5, "covariance_weight": 3.0, "gamma": 2.0, "eps": 1e-3}
    expected = naive_vicreg(z1, z2, 1.0, 0.5, 3.0, 2.0, 1e-3)
    assert vicreg_loss(z1, z2, **weights).item() == pytest.approx(expected, rel=1e-9)
    assert VICRegLoss(**weights)(z1, z2).item() == pytest.approx(expected, rel=1e-9)


def test_invariances_and_gradients():
    z1, z2 = pair(4, n=10)
    loss = vicreg_loss(z1, z2).item()
    perm = torch.randperm(10)
    assert vicreg_loss(z1[perm], z2[perm]).item() == pytest.approx(loss, rel=1e-12)
    assert vicreg_loss(z2, z1).item() == pytest.approx(loss, rel=1e-12)
    z1.requires_grad_(True)
    z2.requires_grad_(True)
    assert torch.autograd.gradcheck(vicreg_loss, (z1, z2), fast_mode=True)


def test_collapsed_views_pay_the_variance_term():
    z = torch.zeros(6, 4, dtype=torch.float64)
    # invariance 0, covariance 0, every dimension's std sqrt(eps) below gamma = 1, in both views
    assert vicreg_loss(z, z).item() == pytest.approx(25.0 * 2 * (1 - math.sqrt(1e-4)), rel=1e-12)


def test_validation():
    with pytest.raises(ValueError, match="variance_weight"):
        VICRegLoss(variance_weight=-1.0)
    with pytest.raises(ValueError, match="gamma"):
        VICRegLoss(gamma=0)
    with pytest.raises(ValueError, match="at least 2 rows"):
        vicreg_loss(torch.randn(1, 3), torch.randn(1, 3))
