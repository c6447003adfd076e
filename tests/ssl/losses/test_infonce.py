"""InfoNCE and NT-Xent against naive per-anchor loops; invariances, extra negatives, gradients, validation."""

from __future__ import annotations

import math

import pytest
import torch

from molssl.ssl.losses import InfoNCE, NTXentLoss, info_nce, nt_xent


def unit(v: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v]


def dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


def naive_info_nce(query, key, t, negatives=None, in_batch=True, exclude_positive=False) -> float:
    q = [unit(r) for r in query.tolist()]
    k = [unit(r) for r in key.tolist()]
    extra = [unit(r) for r in negatives.tolist()] if negatives is not None else []
    total = 0.0
    for i in range(len(q)):
        positive = math.exp(dot(q[i], k[i]) / t)
        denominator = 0.0 if exclude_positive else positive
        if in_batch:
            denominator += sum(math.exp(dot(q[i], k[j]) / t) for j in range(len(k)) if j != i)
        denominator += sum(math.exp(dot(q[i], n) / t) for n in extra)
        total += -math.log(positive / denominator)
    return total / len(q)


def naive_nt_xent(z1, z2, t, negatives=None) -> float:
    z = [unit(r) for r in z1.tolist()] + [unit(r) for r in z2.tolist()]
    extra = [unit(r) for r in negatives.tolist()] if negatives is not None else []
    n = z1.shape[0]
    total = 0.0
    for a in range(2 * n):
        p = (a + n) % (2 * n)
        positive = math.exp(dot(z[a], z[p]) / t)
        denominator = sum(math.exp(dot(z[a], z[b]) / t) for b in range(2 * n) if b != a)
        denominator += sum(math.exp(dot(z[a], m) / t) for m in extra)
        total += -math.log(positive / denominator)
    return total / (2 * n)


def views(n: int = 6, d: int = 5, seed: int = 0, k: int = 0):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, d, generator=g, dtype=torch.float64)
    z2 = z1 + 0.5 * torch.randn(n, d, generator=g, dtype=torch.float64)
    negatives = torch.randn(k, d, generator=g, dtype=torch.float64) if k else None
    return z1, z2, negatives


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("temperature", [0.1, 0.5, 2.0])
def test_nt_xent_matches_loop(seed, temperature):
    z1, z2, _ = views(seed=seed)
    assert nt_xent(z1, z2, temperature).item() == pytest.approx(naive_nt_xent(z1, z2, temperature), rel=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_nt_xent_extra_negatives_match_loop_and_raise_the_loss(seed):
    z1, z2, negatives = views(seed=seed, k=7)
    loss = nt_xent(z1, z2, 0.5, negatives)
    assert loss.item() == pytest.approx(naive_nt_xent(z1, z2, 0.5, negatives), rel=1e-10)
    assert loss > nt_xent(z1, z2, 0.5)  # more terms in every denominator
    # negatives are compared by cosine: rescaling them changes nothing
    assert nt_xent(z1, z2, 0.5, 3.0 * negatives).item() == pytest.approx(loss.item(), rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("with_negatives", [False, True])
def test_info_nce_matches_loop(seed, with_negatives):
    q, k, negatives = views(seed=seed, k=4 if with_negatives else 0)
    expected = naive_info_nce(q, k, 0.1, negatives)
    assert info_nce(q, k, 0.1, negatives).item() == pytest.approx(expected, rel=1e-10)


def test_info_nce_moco_form_uses_only_extra_negatives():
    q, k, negatives = views(k=9)
    loss = info_nce(q, k, 0.2, negatives, in_batch_negatives=False)
    assert loss.item() == pytest.approx(naive_info_nce(q, k, 0.2, negatives, in_batch=False), rel=1e-10)
    with pytest.raises(ValueError, match="needs extra negatives"):
        info_nce(q, k, 0.2, in_batch_negatives=False)


def naive_graphcl_loss_cl(x1, x2, t) -> float:
    """GraphCL's chem ``loss_cl`` written out: exp-cosine matrix, positive divided by the row sum without it."""
    a, b = [unit(r) for r in x1.tolist()], [unit(r) for r in x2.tolist()]
    total = 0.0
    for i in range(len(a)):
        row = [math.exp(dot(a[i], b[j]) / t) for j in range(len(b))]
        total += -math.log(row[i] / (sum(row) - row[i]))
    return total / len(a)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("k", [0, 4])
def test_info_nce_without_the_positive_in_the_denominator_matches_loop(seed, k):
    q, key, negatives = views(seed=seed, k=k)
    loss = info_nce(q, key, 0.1, negatives, exclude_positive=True)
    assert loss.item() == pytest.approx(naive_info_nce(q, key, 0.1, negatives, exclude_positive=True), rel=1e-10)
    assert loss < info_nce(q, key, 0.1, negatives)  # every denominator lost a positive term
    if k == 0:
        assert loss.item() == pytest.approx(naive_graphcl_loss_cl(q, key, 0.1), rel=1e-10)
    moco = info_nce(q, key, 0.2, negatives, in_batch_negatives=False, exclude_positive=True) if k else None
    if moco is not None:
        expected = naive_info_nce(q, key, 0.2, negatives, in_batch=False, exclude_positive=True)
        assert moco.item() == pytest.approx(expected, rel=1e-10)


def test_info_nce_without_the_positive_is_permutation_invariant_with_finite_gradients():
    q, key, _ = views(n=7, seed=8)
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(3))
    loss = info_nce(q, key, 0.1, exclude_positive=True)
    assert info_nce(q[perm], key[perm], 0.1, exclude_positive=True).item() == pytest.approx(loss.item(), rel=1e-12)
    q.requires_grad_(True)
    key.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: info_nce(a, b, 0.1, exclude_positive=True), (q, key), fast_mode=True)
    module = InfoNCE(0.1, exclude_positive=True)
    assert module(q, key).item() == loss.item() and "exclude_positive=True" in repr(module)


def test_info_nce_without_the_positive_needs_a_negative():
    z = torch.randn(1, 4)
    with pytest.raises(ValueError, match="without negatives"):
        info_nce(z, z, exclude_positive=True)
    assert torch.isfinite(info_nce(z, z, 0.1, torch.randn(2, 4), exclude_positive=True))
    with pytest.raises(TypeError, match="bool"):
        InfoNCE(exclude_positive=1)


def test_batch_permutation_invariance():
    z1, z2, negatives = views(n=8, seed=3, k=5)
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(1))
    neg_perm = torch.randperm(5, generator=torch.Generator().manual_seed(2))
    assert nt_xent(z1[perm], z2[perm], 0.5, negatives[neg_perm]).item() == pytest.approx(
        nt_xent(z1, z2, 0.5, negatives).item(), rel=1e-12
    )
    assert info_nce(z1[perm], z2[perm], 0.1, negatives[neg_perm]).item() == pytest.approx(
        info_nce(z1, z2, 0.1, negatives).item(), rel=1e-12
    )


def test_nt_xent_view_swap_symmetry_and_info_nce_direction():
    z1, z2, negatives = views(seed=4, k=3)
    assert nt_xent(z2, z1, 0.5, negatives).item() == pytest.approx(nt_xent(z1, z2, 0.5, negatives).item(), rel=1e-12)
    # unlike one-directional InfoNCE, NT-Xent also uses same-view negatives
    assert not math.isclose(nt_xent(z1, z2, 0.5).item(), info_nce(z1, z2, 0.5).item(), rel_tol=1e-6)


def test_perfect_views_beat_random_views():
    z1, _, _ = views(n=16, d=32, seed=5)
    random = torch.randn(16, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    assert nt_xent(z1, z1, 0.1) < nt_xent(z1, random, 0.1)
    assert info_nce(z1, z1, 0.1) < info_nce(z1, random, 0.1)


def test_single_pair_has_no_negatives_and_zero_loss():
    z = torch.randn(1, 4)
    assert nt_xent(z, 2 * z).item() == pytest.approx(0.0, abs=1e-6)


def test_gradients_are_finite_and_correct():
    z1, z2, negatives = views(n=4, d=3, seed=6, k=2)
    z1.requires_grad_(True)
    z2.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: nt_xent(a, b, 0.5, negatives), (z1, z2), fast_mode=True)
    assert torch.autograd.gradcheck(lambda a, b: info_nce(a, b, 0.1, negatives), (z1, z2), fast_mode=True)
    x1 = torch.randn(5, 8, requires_grad=True)
    x2 = torch.randn(5, 8, requires_grad=True)
    NTXentLoss(0.05)(x1, x2, torch.randn(3, 8)).backward()
    assert torch.isfinite(x1.grad).all() and torch.isfinite(x2.grad).all() and x1.grad.abs().sum() > 0


def test_modules_match_functions():
    z1, z2, negatives = views(seed=7, k=3)
    assert NTXentLoss(0.3)(z1, z2, negatives).item() == nt_xent(z1, z2, 0.3, negatives).item()
    assert InfoNCE(0.3)(z1, z2, negatives).item() == info_nce(z1, z2, 0.3, negatives).item()
    assert "temperature=0.3" in repr(NTXentLoss(0.3))


@pytest.mark.parametrize("temperature", [0, -0.1, float("nan"), float("inf"), True, "0.1"])
def test_invalid_temperature(temperature):
    with pytest.raises(ValueError, match="temperature"):
        NTXentLoss(temperature)
    with pytest.raises(ValueError, match="temperature"):
        InfoNCE(temperature)


def test_invalid_shapes():
    with pytest.raises(ValueError, match="shapes must match"):
        nt_xent(torch.randn(4, 3), torch.randn(5, 3))
    with pytest.raises(ValueError, match="2-D"):
        info_nce(torch.randn(4), torch.randn(4))
    with pytest.raises(ValueError, match=r"negatives must be \[K, 3\]"):
        nt_xent(torch.randn(4, 3), torch.randn(4, 3), 0.5, torch.randn(2, 4))
    with pytest.raises(TypeError, match="bool"):
        InfoNCE(in_batch_negatives="yes")
