"""Retrieval metrics against a brute-force ranking written out with Python sorting."""

from __future__ import annotations

import pytest
import torch

from molssl.multimodal.retrieval import cross_modal_retrieval, partner_ranks, retrieval_metrics


def brute_force_rank(queries: torch.Tensor, candidates: torch.Tensor, i: int) -> int:
    """1 + how many candidates are at least as cosine-similar to query i as its partner (ties count against)."""
    q = queries[i] / queries[i].norm()
    scores = [float(q @ (c / c.norm())) for c in candidates]
    return 1 + sum(1 for j, s in enumerate(scores) if j != i and s >= scores[i])


def test_ranks_and_metrics_match_brute_force():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(40, 8, generator=g, dtype=torch.float64)
    b = a + 0.9 * torch.randn(40, 8, generator=g, dtype=torch.float64)  # noisy partners: ranks spread over 1..40
    ranks = [brute_force_rank(a, b, i) for i in range(40)]
    assert partner_ranks(a, b, chunk=7).tolist() == ranks and len(set(ranks)) > 5
    metrics = retrieval_metrics(a, b, ("graph", "smiles"))
    for k in (1, 5, 10):
        assert metrics[f"graph->smiles/recall@{k}"] == pytest.approx(sum(r <= k for r in ranks) / 40)
    assert metrics["graph->smiles/mean_rank"] == pytest.approx(sum(ranks) / 40)
    back = [brute_force_rank(b, a, i) for i in range(40)]
    assert metrics["smiles->graph/mean_rank"] == pytest.approx(sum(back) / 40)
    assert metrics["chance/recall@5"] == 5 / 40 and metrics["chance/mean_rank"] == 20.5


def test_perfect_random_and_tied_embeddings():
    x = torch.randn(50, 16, generator=torch.Generator().manual_seed(1))
    perfect = retrieval_metrics(x, 3 * x)
    assert perfect["a->b/recall@1"] == perfect["b->a/recall@1"] == 1.0 and perfect["a->b/mean_rank"] == 1.0
    shuffled = retrieval_metrics(x, x[torch.randperm(50, generator=torch.Generator().manual_seed(2))])
    assert shuffled["a->b/recall@1"] < 0.2
    tied = retrieval_metrics(torch.ones(4, 3), torch.ones(4, 3))  # every candidate ties: the partner ranks last
    assert tied["a->b/mean_rank"] == 4.0 and tied["a->b/recall@1"] == 0.0
    every = cross_modal_retrieval({"graph": x, "smiles": x, "image": -x})
    assert every["graph->smiles/recall@1"] == 1.0 and every["graph->image/mean_rank"] == 50.0
    with pytest.raises(ValueError, match="both be"):
        retrieval_metrics(x, x[:, :4])
