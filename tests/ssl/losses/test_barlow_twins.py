"""Barlow Twins against a naive loop over dimensions and samples."""

from __future__ import annotations

import math

import pytest
import torch

from molssl.ssl.losses import BarlowTwinsLoss, barlow_twins_loss


def naive_barlow(z1: torch.Tensor, z2: torch.Tensor, lam: float, eps: float = 1e-5) -> float:
    n, d = z1.shape

    def standardized(z: list[list[float]]) -> list[list[float]]:
        columns = []
        for j in range(d):
            col = [z[i][j] for i in range(n)]
            mean = sum(col) / n
            var = sum((x - mean) ** 2 for x in col) / n
            columns.append([(x - mean) / math.sqrt(var + eps) for x in col])
        return columns  # [D][N]

    a, b = standardized(z1.tolist()), standardized(z2.tolist())
    loss = 0.0
    for i in range(d):
        for j in range(d):
            c = sum(a[i][k] * b[j][k] for k in range(n)) / n
            loss += (1 - c) ** 2 if i == j else lam * c * c
    return loss


def pair(seed: int, n: int = 7, d: int = 4):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, d, generator=g, dtype=torch.float64)
    return z1, z1 + 0.3 * torch.randn(n, d, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("lam", [5e-3, 0.0, 1.0])
def test_matches_loop(seed, lam):
    z1, z2 = pair(seed)
    assert barlow_twins_loss(z1, z2, lam).item() == pytest.approx(naive_barlow(z1, z2, lam), rel=1e-9)


def test_invariances_and_gradients():
    z1, z2 = pair(4, n=9)
    loss = barlow_twins_loss(z1, z2).item()
    perm = torch.randperm(9)
    assert barlow_twins_loss(z1[perm], z2[perm]).item() == pytest.approx(loss, rel=1e-12)
    assert barlow_twins_loss(z2, z1).item() == pytest.approx(loss, rel=1e-12)
    # per-dimension standardization: shifting and scaling a dimension changes nothing
    assert barlow_twins_loss(3 * z1 + 1, z2, eps=1e-12).item() == pytest.approx(barlow_twins_loss(z1, z2, eps=1e-12).item(), rel=1e-8)
    z1.requires_grad_(True)
    z2.requires_grad_(True)
    assert torch.autograd.gradcheck(barlow_twins_loss, (z1, z2), fast_mode=True)


def test_decorrelated_identical_views_reach_zero():
    z = torch.cat([torch.eye(3), -torch.eye(3)]).double()  # each dimension mean 0, variance 1/3, uncorrelated
    assert barlow_twins_loss(z, z, eps=1e-12).item() == pytest.approx(0.0, abs=1e-9)


def test_module_defaults_and_validation():
    z1, z2 = pair(5)
    assert BarlowTwinsLoss()(z1, z2).item() == barlow_twins_loss(z1, z2, 5e-3).item()
    with pytest.raises(ValueError, match="lambda_offdiag"):
        BarlowTwinsLoss(lambda_offdiag=-1)
    with pytest.raises(ValueError, match="eps"):
        BarlowTwinsLoss(eps=0)
    with pytest.raises(ValueError, match="at least 2 rows"):
        barlow_twins_loss(torch.randn(1, 3), torch.randn(1, 3))
