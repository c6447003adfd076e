"""Scaled cosine error: GraphMAE's reconstruction loss for masked node features.

Hou et al., "GraphMAE: Self-Supervised Masked Graph Autoencoders" (KDD 2022).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from molssl.ssl.checks import check_pair


def _check_alpha(alpha: object) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 1.0 <= alpha < float("inf"):
        raise ValueError(f"alpha (GraphMAE's scaling factor gamma) must be a finite number >= 1, got {alpha!r}")
    return float(alpha)


def scaled_cosine_error(pred: Tensor, target: Tensor, alpha: float = 2.0) -> Tensor:
    """Scaled cosine error (GraphMAE, Hou et al. KDD 2022, eq. 6), averaged over the reconstructed rows.

    ``loss = mean_i (1 - cos(pred_i, target_i))^alpha``; ``alpha`` >= 1 (the paper's gamma) down-weights
    rows that are already reconstructed well. Gradients flow into both arguments; detach ``target`` if it
    must stay fixed.

    Args:
        pred: decoder outputs of the masked nodes.
        target: their original features.
        alpha: scaling exponent >= 1.

    Shapes:
        pred, target: [N, D] (the masked rows only) -> output: [] scalar

    Raises:
        ValueError: on mismatched shapes, no rows, or ``alpha`` < 1.
    """
    check_pair("pred", pred, "target", target)
    alpha = _check_alpha(alpha)
    # rounding can make 1 - cos slightly negative, and a negative base to a fractional power is NaN
    error = (1 - F.cosine_similarity(pred, target, dim=1)).clamp(min=0)  # [N]
    return error.pow(alpha).mean()


class ScaledCosineError(nn.Module):
    """Scaled cosine error of GraphMAE (Hou et al., KDD 2022); see ``scaled_cosine_error``.

    Args:
        alpha: scaling exponent >= 1 (the paper's gamma).

    Shapes:
        pred, target: [N, D] -> output: [] scalar
    """

    def __init__(self, alpha: float = 2.0) -> None:
        super().__init__()
        self.alpha = _check_alpha(alpha)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return scaled_cosine_error(pred, target, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"
