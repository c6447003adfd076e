"""GraphMAE's scaled cosine error against a naive loop."""

from __future__ import annotations

import math

import pytest
import torch

from molssl.ssl.losses import ScaledCosineError, scaled_cosine_error


def naive_sce(pred: torch.Tensor, target: torch.Tensor, alpha: float) -> float:
    total = 0.0
    for a, b in zip(pred.tolist(), target.tolist()):
        cos = sum(x * y for x, y in zip(a, b)) / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))
        total += (1 - cos) ** alpha
    return total / pred.shape[0]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("alpha", [1.0, 2.0, 2.5, 3])
def test_matches_loop(seed, alpha):
    g = torch.Generator().manual_seed(seed)
    pred, target = torch.randn(9, 6, generator=g, dtype=torch.float64), torch.randn(9, 6, generator=g, dtype=torch.float64)
    assert scaled_cosine_error(pred, target, alpha).item() == pytest.approx(naive_sce(pred, target, alpha), rel=1e-10)
    assert ScaledCosineError(alpha)(pred, target).item() == scaled_cosine_error(pred, target, alpha).item()


def test_invariances_and_gradients():
    pred, target = torch.randn(7, 4, dtype=torch.float64), torch.randn(7, 4, dtype=torch.float64)
    value = scaled_cosine_error(pred, target).item()
    perm = torch.randperm(7)
    assert scaled_cosine_error(pred[perm], target[perm]).item() == pytest.approx(value, rel=1e-12)
    assert scaled_cosine_error(target, pred).item() == pytest.approx(value, rel=1e-12)
    assert scaled_cosine_error(2 * pred, 0.5 * target).item() == pytest.approx(value, rel=1e-12)
    pred.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: scaled_cosine_error(p, target, 2.5), (pred,), fast_mode=True)


@pytest.mark.parametrize("alpha", [1.0, 1.5, 2.0])
def test_perfect_reconstruction_is_zero_with_finite_gradient(alpha):
    target = torch.randn(5, 3)
    pred = target.clone().requires_grad_(True)
    loss = scaled_cosine_error(pred, target, alpha)
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    assert torch.isfinite(pred.grad).all()


def test_alpha_downweights_easy_rows():
    target = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    pred = torch.tensor([[1.0, 0.1], [-1.0, 0.1]])  # one easy row, one hard row
    share = [(1 - torch.cosine_similarity(pred, target)).pow(a) for a in (1.0, 3.0)]
    assert share[1][0] / share[1].sum() < share[0][0] / share[0].sum()


@pytest.mark.parametrize("alpha", [0.5, 0, -1, float("inf"), float("nan"), True])
def test_invalid_alpha(alpha):
    with pytest.raises(ValueError, match="alpha"):
        ScaledCosineError(alpha)


def test_no_rows():
    with pytest.raises(ValueError, match="at least 1 row"):
        scaled_cosine_error(torch.randn(0, 3), torch.randn(0, 3))
