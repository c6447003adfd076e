"""InfoNCE and NT-Xent: contrastive cross-entropy over cosine similarities with in-batch negatives.

InfoNCE is from van den Oord et al., "Representation Learning with Contrastive Predictive Coding"
(2018), in the query/key form of He et al., "Momentum Contrast for Unsupervised Visual Representation
Learning" (MoCo, CVPR 2020). NT-Xent is from Chen et al., "A Simple Framework for Contrastive Learning of
Visual Representations" (SimCLR, ICML 2020), the loss GraphCL (You et al., NeurIPS 2020) applies to two
augmented views of a batch of graphs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from molssl.ssl.checks import check_embeddings, check_pair, check_positive_float


def _check_negatives(negatives: Tensor | None, dim: int, device: torch.device) -> None:
    if negatives is None:
        return
    check_embeddings("negatives", negatives)
    if negatives.size(1) != dim:
        raise ValueError(f"negatives must be [K, {dim}] to match the embeddings, got shape {tuple(negatives.shape)}")
    if negatives.device != device:
        raise ValueError(f"negatives are on {negatives.device} but the embeddings on {device}; move them")


def info_nce(
    query: Tensor,
    key: Tensor,
    temperature: float = 0.1,
    negatives: Tensor | None = None,
    *,
    in_batch_negatives: bool = True,
    exclude_positive: bool = False,
) -> Tensor:
    """InfoNCE loss of van den Oord et al. (2018) in MoCo's query/key form (He et al., CVPR 2020).

    With ``q``, ``k`` and ``n`` the L2-normalized query, key and extra-negative rows and ``t`` the
    temperature, query ``i`` scores its own key against the other keys of the batch (when
    ``in_batch_negatives``) and every extra negative::

        loss_i = -log( exp(q_i.k_i / t) / (sum_j exp(q_i.k_j / t) + sum_m exp(q_i.n_m / t)) )

    and the loss is the mean over queries. One direction only (query to key); ``nt_xent`` is the
    symmetric two-view form. With ``exclude_positive`` the positive term leaves the denominator::

        loss_i = -log( exp(q_i.k_i / t) / (sum_{j != i} exp(q_i.k_j / t) + sum_m exp(q_i.n_m / t)) )

    the decoupled form of Yeh et al., "Decoupled Contrastive Learning" (ECCV 2022), and the loss of
    GraphCL's molecular transfer-learning code (You et al., NeurIPS 2020, ``loss_cl`` of
    ``chem/pretrain_graphcl.py``: one direction, cross-view in-batch negatives, positive excluded,
    ``t = 0.1``). It can be negative (a positive more similar than the sum of the negatives).

    Args:
        query: one embedding per sample (not necessarily normalized).
        key: the positive of each query, row for row.
        temperature: softmax temperature ``t`` > 0.
        negatives: optional extra negatives, e.g. ``MemoryQueue.negatives()``.
        in_batch_negatives: use the other keys of the batch as negatives. ``False`` gives MoCo's form,
            where only ``negatives`` are (then they are required).
        exclude_positive: leave each query's positive out of its own denominator (decoupled form);
            every query then needs at least one negative.

    Shapes:
        query, key: [N, D]
        negatives: [K, D], optional
        output: [] scalar

    Raises:
        ValueError: on mismatched shapes or devices, a temperature <= 0, or no negatives at all.
    """
    check_pair("query", query, "key", key)
    if not isinstance(exclude_positive, bool):
        raise TypeError(f"exclude_positive must be a bool, got {exclude_positive!r}")
    check_positive_float("temperature", temperature)
    _check_negatives(negatives, query.size(1), query.device)
    if not in_batch_negatives and negatives is None:
        raise ValueError("in_batch_negatives=False needs extra negatives; pass negatives=[K, D] (e.g. a MemoryQueue)")
    if exclude_positive and negatives is None and query.size(0) < 2:
        raise ValueError(
            "exclude_positive=True leaves a single query without negatives; use batches of two or more "
            "rows or pass extra negatives"
        )
    q = F.normalize(query, dim=1)
    k = F.normalize(key, dim=1)
    if in_batch_negatives:
        logits = q @ k.t()  # [N, N]; the positive of row i is column i
        targets = torch.arange(q.size(0), device=q.device)
    else:
        logits = (q * k).sum(dim=1, keepdim=True)  # [N, 1]; the positive is column 0
        targets = torch.zeros(q.size(0), dtype=torch.long, device=q.device)
    if negatives is not None:
        extra = F.normalize(negatives, dim=1).to(q.dtype)  # a float32 queue may meet float64 or bf16 embeddings
        logits = torch.cat([logits, q @ extra.t()], dim=1)  # [N, N + K] or [N, 1 + K]
    logits = logits / temperature
    if not exclude_positive:
        return F.cross_entropy(logits, targets)
    positive = logits.gather(1, targets.unsqueeze(1)).squeeze(1)  # [N]
    columns = torch.arange(logits.size(1), device=q.device).unsqueeze(0)  # [1, C]
    negative_logits = logits.masked_fill(columns == targets.unsqueeze(1), float("-inf"))  # [N, C]
    return (torch.logsumexp(negative_logits, dim=1) - positive).mean()


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.5, negatives: Tensor | None = None) -> Tensor:
    """NT-Xent, the normalized temperature-scaled cross-entropy of SimCLR (Chen et al., ICML 2020).

    The 2N embeddings of both views are L2-normalized; each one is an anchor whose positive is the other
    view of the same sample and whose negatives are the 2N - 2 other embeddings of the batch (plus the
    extra ``negatives``). With ``z`` the stacked views, ``p(a)`` the positive of anchor ``a`` and ``t``
    the temperature::

        loss_a = -log( exp(z_a.z_p(a) / t) / (sum_{b != a} exp(z_a.z_b / t) + sum_m exp(z_a.n_m / t)) )

    and the loss is the mean over all 2N anchors, so both directions count and swapping the views
    leaves it unchanged.

    Args:
        z1: first view, one embedding per sample.
        z2: second view, row for row the same samples as ``z1``.
        temperature: softmax temperature ``t`` > 0 (SimCLR: 0.5 for CIFAR-10).
        negatives: optional extra negatives, e.g. ``MemoryQueue.negatives()``.

    Shapes:
        z1, z2: [N, D]
        negatives: [K, D], optional
        output: [] scalar

    Raises:
        ValueError: on mismatched shapes or devices, or a temperature <= 0.
    """
    check_pair("z1", z1, "z2", z2)
    check_positive_float("temperature", temperature)
    _check_negatives(negatives, z1.size(1), z1.device)
    n = z1.size(0)
    z = F.normalize(torch.cat([z1, z2], dim=0), dim=1)  # [2N, D]
    logits = z @ z.t()  # [2N, 2N]
    self_pairs = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_pairs, float("-inf"))  # an anchor is never its own negative
    if negatives is not None:
        logits = torch.cat([logits, z @ F.normalize(negatives, dim=1).to(z.dtype).t()], dim=1)  # [2N, 2N + K]
    rows = torch.arange(n, device=z.device)
    targets = torch.cat([rows + n, rows])  # the positive of view-1 row i is view-2 row i, and back
    return F.cross_entropy(logits / temperature, targets)


class InfoNCE(nn.Module):
    """InfoNCE loss (van den Oord et al. 2018; MoCo form, He et al. CVPR 2020); see ``info_nce``.

    Args:
        temperature: softmax temperature > 0.
        in_batch_negatives: use the other keys of the batch as negatives.
        exclude_positive: leave the positive out of its denominator (decoupled form; GraphCL's code).

    Shapes:
        query, key: [N, D]; negatives: [K, D], optional -> output: [] scalar
    """

    def __init__(
        self, temperature: float = 0.1, *, in_batch_negatives: bool = True, exclude_positive: bool = False
    ) -> None:
        super().__init__()
        self.temperature = check_positive_float("temperature", temperature)
        for name, value in (("in_batch_negatives", in_batch_negatives), ("exclude_positive", exclude_positive)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a bool, got {value!r}")
        self.in_batch_negatives = in_batch_negatives
        self.exclude_positive = exclude_positive

    def forward(self, query: Tensor, key: Tensor, negatives: Tensor | None = None) -> Tensor:
        return info_nce(query, key, self.temperature, negatives, in_batch_negatives=self.in_batch_negatives,
                        exclude_positive=self.exclude_positive)  # fmt: skip

    def extra_repr(self) -> str:
        return (f"temperature={self.temperature}, in_batch_negatives={self.in_batch_negatives}, "
                f"exclude_positive={self.exclude_positive}")  # fmt: skip


class NTXentLoss(nn.Module):
    """NT-Xent loss of SimCLR (Chen et al., ICML 2020) and GraphCL (You et al., NeurIPS 2020); see ``nt_xent``.

    Args:
        temperature: softmax temperature > 0.

    Shapes:
        z1, z2: [N, D]; negatives: [K, D], optional -> output: [] scalar
    """

    def __init__(self, temperature: float = 0.5) -> None:
        super().__init__()
        self.temperature = check_positive_float("temperature", temperature)

    def forward(self, z1: Tensor, z2: Tensor, negatives: Tensor | None = None) -> Tensor:
        return nt_xent(z1, z2, self.temperature, negatives)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
