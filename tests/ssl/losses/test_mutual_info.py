"""BCE and JSD mutual-information estimators and InfoGraph's local/global pairs against naive loops."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from molssl.ssl.losses import (
    BCEMILoss,
    JSDMILoss,
    bce_mi_loss,
    jsd_mi_loss,
    local_global_scores,
)


def naive_bce(positive: list[float], negative: list[float]) -> float:
    def sigmoid(x: float) -> float:
        return 1 / (1 + math.exp(-x))

    pos = sum(-math.log(sigmoid(x)) for x in positive) / len(positive)
    neg = sum(-math.log(1 - sigmoid(x)) for x in negative) / len(negative)
    return pos + neg


def naive_jsd(positive: list[float], negative: list[float]) -> float:
    def softplus(x: float) -> float:
        return math.log1p(math.exp(x))

    e_pos = sum(math.log(2) - softplus(-x) for x in positive) / len(positive)
    e_neg = sum(softplus(-x) + x - math.log(2) for x in negative) / len(negative)
    return e_neg - e_pos


def scores(seed: int, p: int = 7, q: int = 11):
    g = torch.Generator().manual_seed(seed)
    return 2 * torch.randn(p, generator=g, dtype=torch.float64), 2 * torch.randn(q, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("seed", range(4))
def test_estimators_match_loops(seed):
    positive, negative = scores(seed)
    assert bce_mi_loss(positive, negative).item() == pytest.approx(naive_bce(positive.tolist(), negative.tolist()), rel=1e-10)
    assert jsd_mi_loss(positive, negative).item() == pytest.approx(naive_jsd(positive.tolist(), negative.tolist()), rel=1e-10)


def test_bce_equals_bce_with_logits_and_jsd_is_bce_shifted():
    positive, negative = scores(5)
    expected = F.binary_cross_entropy_with_logits(positive, torch.ones_like(positive)) + F.binary_cross_entropy_with_logits(
        negative, torch.zeros_like(negative)
    )
    assert bce_mi_loss(positive, negative).item() == pytest.approx(expected.item(), rel=1e-12)
    shifted = bce_mi_loss(positive, negative) - 2 * math.log(2)
    assert jsd_mi_loss(positive, negative).item() == pytest.approx(shifted.item(), rel=1e-10)


def test_any_shape_and_permutation_invariance():
    positive, negative = scores(6, p=6, q=12)
    perm_p, perm_q = torch.randperm(6), torch.randperm(12)
    for loss in (bce_mi_loss, jsd_mi_loss):
        value = loss(positive, negative).item()
        assert loss(positive[perm_p], negative[perm_q]).item() == pytest.approx(value, rel=1e-12)
        assert loss(positive.view(2, 3), negative.view(3, 4)).item() == pytest.approx(value, rel=1e-12)


def test_perfect_discriminator_limits():
    big = torch.full((4,), 50.0, dtype=torch.float64)
    assert bce_mi_loss(big, -big).item() == pytest.approx(0.0, abs=1e-12)
    assert jsd_mi_loss(big, -big).item() == pytest.approx(-2 * math.log(2), rel=1e-12)
    zero = torch.zeros(4, dtype=torch.float64)
    assert jsd_mi_loss(zero, zero).item() == pytest.approx(0.0, abs=1e-12)  # a blind discriminator


def test_gradients_finite_and_modules_match():
    positive, negative = scores(7)
    positive.requires_grad_(True)
    negative.requires_grad_(True)
    assert torch.autograd.gradcheck(bce_mi_loss, (positive, negative), fast_mode=True)
    assert torch.autograd.gradcheck(jsd_mi_loss, (positive, negative), fast_mode=True)
    extreme = torch.tensor([1e4, -1e4], requires_grad=True)
    bce_mi_loss(extreme, extreme).backward()
    assert torch.isfinite(extreme.grad).all()
    assert BCEMILoss()(positive, negative).item() == bce_mi_loss(positive, negative).item()
    assert JSDMILoss()(positive, negative).item() == jsd_mi_loss(positive, negative).item()


def test_empty_scores_raise_with_advice():
    with pytest.raises(ValueError, match="no negatives"):
        bce_mi_loss(torch.randn(3), torch.randn(3, 0))
    with pytest.raises(ValueError, match="positive holds no scores"):
        jsd_mi_loss(torch.randn(0), torch.randn(3))
    with pytest.raises(ValueError, match="floating-point"):
        bce_mi_loss(torch.ones(3, dtype=torch.long), torch.randn(3))


def graph_batch(seed: int = 0):
    # four graphs with 3, 1, 0 (empty) and 4 nodes
    g = torch.Generator().manual_seed(seed)
    batch = torch.tensor([0, 0, 0, 1, 3, 3, 3, 3])
    local = torch.randn(8, 5, generator=g, dtype=torch.float64)
    global_ = torch.randn(4, 5, generator=g, dtype=torch.float64)
    return local, global_, batch


def test_local_global_scores_match_loop():
    local, global_, batch = graph_batch()
    positive, negative = local_global_scores(local, global_, batch)
    assert positive.shape == (8,) and negative.shape == (8, 3)
    for i in range(8):
        own = int(batch[i])
        assert positive[i].item() == pytest.approx(sum(a * b for a, b in zip(local[i].tolist(), global_[own].tolist())))
        others = [j for j in range(4) if j != own]  # the empty graph 2 is a negative of every node
        for c, j in enumerate(others):
            assert negative[i, c].item() == pytest.approx(sum(a * b for a, b in zip(local[i].tolist(), global_[j].tolist())))


def test_local_global_node_permutation_invariance_and_gradients():
    local, global_, batch = graph_batch(1)
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(3))
    loss = jsd_mi_loss(*local_global_scores(local, global_, batch))
    permuted = jsd_mi_loss(*local_global_scores(local[perm], global_, batch[perm]))
    assert permuted.item() == pytest.approx(loss.item(), rel=1e-12)
    local.requires_grad_(True)
    global_.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda a, b: bce_mi_loss(*local_global_scores(a, b, batch)), (local, global_), fast_mode=True
    )


def test_local_global_single_graph_has_no_negatives():
    positive, negative = local_global_scores(torch.randn(3, 4), torch.randn(1, 4), torch.zeros(3, dtype=torch.long))
    assert positive.shape == (3,) and negative.shape == (3, 0)
    with pytest.raises(ValueError, match="no negatives"):
        bce_mi_loss(positive, negative)


def test_local_global_validation():
    with pytest.raises(ValueError, match="project them"):
        local_global_scores(torch.randn(3, 4), torch.randn(2, 5), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="batch must be an integer"):
        local_global_scores(torch.randn(3, 4), torch.randn(2, 4), torch.zeros(3))
    with pytest.raises(ValueError, match="batch must be an integer"):
        local_global_scores(torch.randn(3, 4), torch.randn(2, 4), torch.zeros(2, dtype=torch.long))
