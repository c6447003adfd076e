"""Collapse monitors: cheap statistics of a batch of embeddings that expose a collapsed representation.

A self-supervised loss can be minimized by mapping every input to the same point (complete collapse) or
to a low-dimensional subspace (dimensional collapse, Jing et al., ICLR 2022). These statistics, computed
on one batch every logging step, make both visible in the training log:

* ``emb_std``: mean per-dimension standard deviation of the L2-normalized embeddings (the collapse
  signal of SimSiam, Chen & He, CVPR 2021): about 1/sqrt(D) when the embeddings spread over the sphere,
  0 when collapsed.
* ``effective_rank``: Roy & Vetterli, "The effective rank: a measure of effective dimensionality"
  (EUSIPCO 2007), the exponential of the entropy of the normalized singular values of the centered
  embedding matrix; between 1 and min(B, D), and 0 here for a batch without spread.
* ``uniformity`` and ``alignment``: Wang & Isola, "Understanding Contrastive Representation Learning
  through Alignment and Uniformity on the Hypersphere" (ICML 2020); uniformity is 0 when collapsed and
  more negative the more uniform, alignment (with a second view) is the mean squared distance of
  positive pairs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from molssl.ssl.checks import check_embeddings, check_pair, check_positive_float


def _effective_rank(z: Tensor) -> Tensor:
    """Roy & Vetterli's effective rank of the centered rows of ``z``; 0 when they have no spread.

    Centering a constant matrix leaves rounding noise of the order of eps * |z|, whose singular values
    would have a high entropy; singular values below that tolerance count as exact zeros.

    Shapes:
        z: [B, D] (float32 or float64) -> output: []
    """
    singular = torch.linalg.svdvals(z - z.mean(dim=0, keepdim=True))  # [min(B, D)]
    tolerance = max(z.shape) * torch.finfo(z.dtype).eps * torch.linalg.matrix_norm(z)
    singular = torch.where(singular > tolerance, singular, torch.zeros_like(singular))
    total = singular.sum()
    p = singular / total.clamp(min=torch.finfo(z.dtype).tiny)
    entropy = -torch.where(p > 0, p * torch.log(p.clamp(min=torch.finfo(z.dtype).tiny)), torch.zeros_like(p)).sum()
    return torch.where(total > 0, torch.exp(entropy), torch.zeros_like(entropy))


def _uniformity(normalized: Tensor, t: float) -> Tensor:
    """``log mean_{i<j} exp(-t ||z_i - z_j||^2)`` (Wang & Isola eq. 2), via logsumexp; 0 for one row."""
    b = normalized.size(0)
    if b < 2:
        return normalized.new_zeros(())
    sq_dist = torch.pdist(normalized).square()  # [B (B - 1) / 2]
    return torch.logsumexp(-t * sq_dist, dim=0) - math.log(sq_dist.numel())


@torch.no_grad()
def collapse_metrics(z: Tensor, z2: Tensor | None = None) -> dict[str, float]:
    """Collapse statistics of one batch of embeddings (Roy & Vetterli 2007; Wang & Isola 2020; SimSiam).

    Computed without gradients, in float32 (float64 inputs stay float64), with one device
    synchronization for all values. A batch of one row, or of identical rows, gives ``emb_std`` 0,
    ``effective_rank`` 0 and ``uniformity`` 0, never NaN; non-finite embeddings give NaN.

    Args:
        z: embeddings of one view (e.g. the projections a loss sees).
        z2: optional second view, row for row the same samples; adds ``alignment``.

    Shapes:
        z: [B, D], z2: [B, D] (optional)

    Returns:
        ``{"emb_std", "effective_rank", "uniformity"}`` and ``"alignment"`` when ``z2`` is given, as floats:

        * emb_std: mean over dimensions of the per-dimension (population) std of ``normalize(z)``.
        * effective_rank: exp of the entropy of the normalized singular values of ``z - mean(z)``.
        * uniformity: ``log mean_{i<j} exp(-2 ||u_i - u_j||^2)`` over ``u = normalize(z)``.
        * alignment: ``mean_i ||u_i - v_i||^2`` with ``v = normalize(z2)``.
    """
    check_embeddings("z", z)
    if z2 is not None:
        check_pair("z", z, "z2", z2)
    dtype = torch.float64 if z.dtype == torch.float64 else torch.float32
    views = [z.detach().to(dtype)] + ([z2.detach().to(dtype)] if z2 is not None else [])
    # checked on the device, not with an `if`: the SVD would fail on NaN, and a branch would synchronize
    finite = torch.stack([torch.isfinite(v).all() for v in views]).all()
    views = [torch.where(finite, v, torch.zeros_like(v)) for v in views]
    normalized = F.normalize(views[0], dim=1)
    values = {
        "emb_std": normalized.std(dim=0, correction=0).mean(),
        "effective_rank": _effective_rank(views[0]),
        "uniformity": _uniformity(normalized, 2.0),
    }
    if z2 is not None:
        other = F.normalize(views[1], dim=1)
        values["alignment"] = (normalized - other).square().sum(dim=1).mean()
    stacked = torch.stack(list(values.values()))
    numbers = torch.where(finite, stacked, torch.full_like(stacked, float("nan"))).tolist()  # one synchronization
    return dict(zip(values, numbers))


class CollapseMonitor:
    """Flags a collapsed representation from ``collapse_metrics`` (effective rank, Roy & Vetterli 2007).

    The pretraining loop passes every logged ``collapse_metrics`` dict to ``check`` and warns with the
    message it returns. The effective rank of B centered rows is at most B - 1, so compute the metrics
    on batches well above the threshold (a last batch of one sample always reads 0).

    Args:
        min_effective_rank: effective rank below which the embeddings count as collapsed (> 0).
    """

    def __init__(self, min_effective_rank: float = 2.0) -> None:
        self.min_effective_rank = check_positive_float("min_effective_rank", min_effective_rank)

    def check(self, metrics: dict[str, float], advice: str | None = None) -> str | None:
        """A warning message if ``metrics`` show collapse, else ``None``.

        Args:
            metrics: ``collapse_metrics``' output.
            advice: what to try, in terms of the method that produced the embeddings (its options);
                the message ends with it. Default: lower the learning rate.

        Raises:
            KeyError: if ``metrics`` has no ``"effective_rank"`` (pass ``collapse_metrics``' output).
        """
        if "effective_rank" not in metrics:
            raise KeyError(f"metrics has no 'effective_rank' (got {sorted(metrics)}); pass the dict of collapse_metrics")
        rank = metrics["effective_rank"]
        std = metrics.get("emb_std", float("nan"))
        if math.isnan(rank):
            return "collapse monitor: the embeddings are not finite (NaN or inf); the loss has probably diverged"
        if rank < self.min_effective_rank:
            return (
                f"representation collapse: effective rank {rank:.3g} is below {self.min_effective_rank:g} "
                f"(emb_std {std:.3g}); the embeddings span almost no dimensions. To fix: {advice or 'lower the learning rate'}"
            )
        return None

    def __repr__(self) -> str:
        return f"CollapseMonitor(min_effective_rank={self.min_effective_rank:g})"
