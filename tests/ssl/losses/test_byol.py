"""Negative cosine with stop-gradient (BYOL, SimSiam) against a naive loop."""

from __future__ import annotations

import math

import pytest
import torch

from molssl.ssl.losses import NegativeCosineLoss, negative_cosine


def naive_negative_cosine(p: torch.Tensor, z: torch.Tensor) -> float:
    total = 0.0
    for a, b in zip(p.tolist(), z.tolist()):
        dot = sum(x * y for x, y in zip(a, b))
        total += -dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))
    return total / p.shape[0]


@pytest.mark.parametrize("seed", range(3))
def test_matches_loop(seed):
    g = torch.Generator().manual_seed(seed)
    p, z = torch.randn(6, 5, generator=g, dtype=torch.float64), torch.randn(6, 5, generator=g, dtype=torch.float64)
    assert negative_cosine(p, z).item() == pytest.approx(naive_negative_cosine(p, z), rel=1e-10)
    assert NegativeCosineLoss()(p, z).item() == negative_cosine(p, z).item()


def test_range_permutation_and_value_symmetry():
    p = torch.randn(8, 4, dtype=torch.float64)
    assert negative_cosine(p, 3 * p).item() == pytest.approx(-1.0)
    assert negative_cosine(p, -p).item() == pytest.approx(1.0)
    z = torch.randn(8, 4, dtype=torch.float64)
    perm = torch.randperm(8)
    assert negative_cosine(p[perm], z[perm]).item() == pytest.approx(negative_cosine(p, z).item(), rel=1e-12)
    assert negative_cosine(z, p).item() == pytest.approx(negative_cosine(p, z).item(), rel=1e-12)


def test_stop_gradient_on_target_only():
    p = torch.randn(5, 3, requires_grad=True)
    z = torch.randn(5, 3, requires_grad=True)
    negative_cosine(p, z).backward()
    assert z.grad is None
    assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    # the same call with the views swapped sends the gradient the other way
    negative_cosine(z, p).backward()
    assert z.grad is not None and z.grad.abs().sum() > 0


def test_shape_mismatch():
    with pytest.raises(ValueError, match="shapes must match"):
        negative_cosine(torch.randn(3, 4), torch.randn(3, 5))
