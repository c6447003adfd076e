"""Mutual-information estimators over discriminator scores: binary cross-entropy and Jensen-Shannon.

A discriminator scores positive pairs (samples of the joint distribution: a node and its own graph, a
patch and its own image) and negative pairs (samples of the product of marginals: a node and another
graph); maximizing a lower bound on the mutual information pushes positive scores up and negative
scores down. The BCE form is that of Deep Graph Infomax (Velickovic et al., ICLR 2019) and of the
context-prediction, edge-prediction and graph-infomax objectives of Hu et al., "Strategies for
Pre-training Graph Neural Networks" (ICLR 2020). The Jensen-Shannon form is the estimator of Hjelm et
al., "Learning deep representations by mutual information estimation and maximization" (Deep
InfoMax, ICLR 2019), which InfoGraph (Sun et al., ICLR 2020) uses between node and graph
representations; ``local_global_scores`` builds InfoGraph's pairs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from molssl.ssl.checks import check_embeddings

_LOG_2 = math.log(2.0)


def _check_scores(positive: Tensor, negative: Tensor) -> None:
    for name, scores in (("positive", positive), ("negative", negative)):
        if not isinstance(scores, Tensor) or not scores.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor of scores (logits)")
        if scores.numel() == 0:
            raise ValueError(
                f"{name} holds no scores; a mutual-information estimate needs at least one positive and one "
                "negative pair (a batch of a single graph has no negatives: use batches of two or more)"
            )
    if positive.device != negative.device:
        raise ValueError(f"positive is on {positive.device} but negative on {negative.device}; move them")


def bce_mi_loss(positive: Tensor, negative: Tensor) -> Tensor:
    """Binary cross-entropy mutual-information loss (DGI, Velickovic et al. ICLR 2019; Hu et al. ICLR 2020).

    Positive pairs are labeled 1 and negative pairs 0, each set averaged on its own::

        loss = mean(softplus(-positive)) + mean(softplus(negative))
             = BCEWithLogits(positive, 1).mean() + BCEWithLogits(negative, 0).mean()

    Args:
        positive: discriminator logits of positive pairs.
        negative: discriminator logits of negative pairs (any number, any shape).

    Shapes:
        positive: [P, *], negative: [Q, *] -> output: [] scalar

    Raises:
        ValueError: if either set is empty or not floating point.
    """
    _check_scores(positive, negative)
    return F.softplus(-positive).mean() + F.softplus(negative).mean()


def jsd_mi_loss(positive: Tensor, negative: Tensor) -> Tensor:
    """Negative Jensen-Shannon mutual-information bound of Deep InfoMax (Hjelm et al., ICLR 2019), as in InfoGraph.

    With ``T`` the discriminator logits, InfoGraph (Sun et al., ICLR 2020, eq. 4) maximizes
    ``E_pos[log 2 - softplus(-T)] - E_neg[softplus(-T) + T - log 2]``; this returns its negative::

        loss = mean(softplus(-negative) + negative - log 2) - mean(log 2 - softplus(-positive))

    Since ``softplus(-T) + T = softplus(T)``, this is ``bce_mi_loss(positive, negative) - 2 log 2``: the
    same gradients, shifted so that a perfect discriminator reaches ``-2 log 2`` and a blind one 0.

    Args:
        positive: discriminator logits of positive pairs.
        negative: discriminator logits of negative pairs (any number, any shape).

    Shapes:
        positive: [P, *], negative: [Q, *] -> output: [] scalar

    Raises:
        ValueError: if either set is empty or not floating point.
    """
    _check_scores(positive, negative)
    expected_positive = (_LOG_2 - F.softplus(-positive)).mean()
    expected_negative = (F.softplus(-negative) + negative - _LOG_2).mean()
    return expected_negative - expected_positive


def local_global_scores(local: Tensor, global_: Tensor, batch: Tensor) -> tuple[Tensor, Tensor]:
    """Dot-product scores of every node against every graph, split into InfoGraph's positive and negative pairs.

    InfoGraph (Sun et al., ICLR 2020) pairs each node ("local", a patch representation) with the graph
    it belongs to (positive) and with every other graph of the batch (negatives). The number of graphs
    is ``global_.size(0)`` (a shape, so no device synchronization; graphs without nodes still count as
    negatives). No boolean indexing either: the B - 1 negative columns of each node are gathered.

    Args:
        local: node representations (after InfoGraph's local projection).
        global_: graph representations (after its global projection).
        batch: graph index of each node, in ``[0, B)``.

    Shapes:
        local: [N, D], global_: [B, D], batch: [N] (long)
        output: positive [N] (node i with graph batch[i]), negative [N, B - 1] (node i with each other graph)

    Raises:
        ValueError: on mismatched shapes or devices.
    """
    check_embeddings("local", local)
    check_embeddings("global_", global_)
    if local.size(1) != global_.size(1):
        raise ValueError(f"local is [N, {local.size(1)}] but global_ is [B, {global_.size(1)}]; project them to one size")
    if batch.dim() != 1 or batch.size(0) != local.size(0) or batch.is_floating_point() or batch.dtype == torch.bool:
        raise ValueError(f"batch must be an integer [N] = [{local.size(0)}] graph index, got {batch.dtype} {tuple(batch.shape)}")
    if not local.device == global_.device == batch.device:
        raise ValueError("local, global_ and batch must be on the same device")
    num_graphs = global_.size(0)
    scores = local @ global_.t()  # [N, B]
    batch = batch.long()
    positive = scores.gather(1, batch.unsqueeze(1)).squeeze(1)  # [N]
    # column c of row i skips the node's own graph: c for c < batch[i], c + 1 after
    others = torch.arange(num_graphs - 1, device=batch.device).unsqueeze(0)  # [1, B - 1]
    columns = others + (others >= batch.unsqueeze(1)).long()  # [N, B - 1]
    negative = scores.gather(1, columns)  # [N, B - 1]
    return positive, negative


class BCEMILoss(nn.Module):
    """Binary cross-entropy mutual-information loss (DGI; Hu et al. 2020); see ``bce_mi_loss``.

    Shapes:
        positive: [P, *], negative: [Q, *] -> output: [] scalar
    """

    def forward(self, positive: Tensor, negative: Tensor) -> Tensor:
        return bce_mi_loss(positive, negative)


class JSDMILoss(nn.Module):
    """Negative Jensen-Shannon mutual-information bound (Deep InfoMax; InfoGraph); see ``jsd_mi_loss``.

    Shapes:
        positive: [P, *], negative: [Q, *] -> output: [] scalar
    """

    def forward(self, positive: Tensor, negative: Tensor) -> Tensor:
        return jsd_mi_loss(positive, negative)
