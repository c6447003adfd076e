"""Cross-modal retrieval: find each molecule's partner in another modality among a held-out set.

The evaluation of CLIP-style alignment (Radford et al. 2021, zero-shot retrieval; for molecules e.g.
MoleculeSTM, Liu et al. 2023): embed N held-out molecules in modalities A and B, rank the N
candidates of B for every query of A by cosine similarity, and report the fraction of queries whose
partner is among the top k (recall@k) and the mean rank of the partner (1 = first), in both directions.
Chance is k / N for recall@k and (N + 1) / 2 for the mean rank. Ties count against the query: the
partner's rank is 1 + the number of candidates scored strictly higher, plus those tied with it.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

RECALL_AT = (1, 5, 10)


def partner_ranks(queries: Tensor, candidates: Tensor, chunk: int = 4096) -> Tensor:
    """The rank (1 = best) of candidate i among all candidates for query i, by cosine similarity.

    Shapes:
        queries, candidates: [N, D] (row i of both the same molecule) -> [N] int64
    """
    if queries.dim() != 2 or queries.shape != candidates.shape:
        raise ValueError(f"queries and candidates must both be [N, D], got {tuple(queries.shape)} and {tuple(candidates.shape)}")
    q = F.normalize(queries.float(), dim=1)
    c = F.normalize(candidates.float(), dim=1)
    ranks = []
    for start in range(0, q.size(0), chunk):
        scores = q[start : start + chunk] @ c.t()  # [n, N]
        rows = torch.arange(scores.size(0), device=scores.device)
        partner = scores[rows, rows + start].unsqueeze(1)  # [n, 1]
        beaten = (scores > partner).sum(1)
        tied = (scores == partner).sum(1) - 1  # the partner itself is not a tie
        ranks.append(1 + beaten + tied)
    return torch.cat(ranks)


def retrieval_metrics(a: Tensor, b: Tensor, names: tuple[str, str] = ("a", "b"),
                      recall_at: Sequence[int] = RECALL_AT) -> dict[str, float]:  # fmt: skip
    """Recall@k and mean rank of retrieving each row's partner, ``a -> b`` and ``b -> a``, with chance levels.

    Returns:
        ``{"<a>-><b>/recall@<k>": ..., "<a>-><b>/mean_rank": ..., "<b>-><a>/...", "chance/recall@<k>",
        "chance/mean_rank", "n"}`` as floats.

    Shapes:
        a, b: [N, D_a], [N, D_b] with D_a = D_b (projections into a shared space)
    """
    n = a.size(0)
    if n < 2:
        raise ValueError(f"retrieval needs at least 2 molecules, got {n}")
    out: dict[str, float] = {"n": float(n)}
    for (qname, queries), (cname, candidates) in (((names[0], a), (names[1], b)), ((names[1], b), (names[0], a))):
        ranks = partner_ranks(queries, candidates).float()
        for k in recall_at:
            out[f"{qname}->{cname}/recall@{k}"] = float((ranks <= k).float().mean())
        out[f"{qname}->{cname}/mean_rank"] = float(ranks.mean())
    for k in recall_at:
        out[f"chance/recall@{k}"] = min(k, n) / n
    out["chance/mean_rank"] = (n + 1) / 2
    return out


@torch.no_grad()
def embed_source(method: Any, source: Any, *, batch_size: int = 256, projected: bool = True,
                 device: torch.device | str = "cpu") -> dict[str, Tensor]:  # fmt: skip
    """Every molecule of ``source`` (a built ``MultimodalSource``) embedded in each modality by ``method``.

    ``method`` is a ``molssl.methods.clip_align.CrossModalAlignment``; ``projected`` returns the
    projections the alignment compares (else the encoders' embeddings). Randomized SMILES are drawn
    from a generator seeded 0.

    Shapes:
        -> {modality: [N, D]}
    """
    was_training = method.training
    method.eval()
    generator = torch.Generator().manual_seed(0)
    parts: dict[str, list[Tensor]] = {}
    try:
        for start in range(0, len(source), batch_size):
            indices = torch.arange(start, min(start + batch_size, len(source)))
            batch = source.batch(indices, generator).to(device)
            for modality, z in method.embed(batch, projected=projected).items():
                parts.setdefault(modality, []).append(z.float().cpu())
    finally:
        method.train(was_training)
    return {m: torch.cat(zs) for m, zs in parts.items()}


def cross_modal_retrieval(embeddings: dict[str, Tensor], pairs: Sequence[tuple[str, str]] | None = None) -> dict[str, float]:
    """``retrieval_metrics`` of every pair of modalities (default: all pairs, in the order given)."""
    pairs = list(combinations(embeddings, 2)) if pairs is None else list(pairs)
    out: dict[str, float] = {}
    for a, b in pairs:
        out.update(retrieval_metrics(embeddings[a], embeddings[b], (a, b)))
    return out


__all__ = ["RECALL_AT", "cross_modal_retrieval", "embed_source", "partner_ranks", "retrieval_metrics"]
