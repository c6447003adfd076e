"""Barlow Twins: drive the cross-correlation matrix of two views' embeddings to the identity.

Zbontar et al., "Barlow Twins: Self-Supervised Learning via Redundancy Reduction" (ICML 2021).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from molssl.ssl.checks import check_nonnegative_float, check_pair, check_positive_float


def _standardize(z: Tensor, eps: float) -> Tensor:
    # as the paper's BatchNorm1d(affine=False) in training mode: biased variance, eps inside the root
    centered = z - z.mean(dim=0, keepdim=True)
    return centered / torch.sqrt(centered.square().mean(dim=0, keepdim=True) + eps)


def barlow_twins_loss(z1: Tensor, z2: Tensor, lambda_offdiag: float = 5e-3, eps: float = 1e-5) -> Tensor:
    """Barlow Twins loss (Zbontar et al., ICML 2021, eq. 1-2).

    Each view is standardized per dimension over the batch, and ``C = z1_std^T z2_std / N`` is their
    cross-correlation matrix::

        loss = sum_i (1 - C_ii)^2 + lambda_offdiag * sum_{i != j} C_ij^2

    Swapping the views transposes ``C`` and leaves the loss unchanged.

    Args:
        z1: first view, one embedding per sample.
        z2: second view, row for row the same samples.
        lambda_offdiag: weight of the redundancy-reduction term (paper: 5e-3).
        eps: added to the variance before the square root, as BatchNorm does.

    Shapes:
        z1, z2: [N, D] with N >= 2 -> output: [] scalar

    Raises:
        ValueError: on mismatched shapes, fewer than two samples or negative coefficients.
    """
    check_pair("z1", z1, "z2", z2, min_rows=2)
    check_nonnegative_float("lambda_offdiag", lambda_offdiag)
    check_positive_float("eps", eps)
    n = z1.size(0)
    c = _standardize(z1, eps).t() @ _standardize(z2, eps) / n  # [D, D]
    on_diag = torch.diagonal(c)  # [D]
    on_term = (1 - on_diag).square().sum()
    off_term = c.square().sum() - on_diag.square().sum()
    return on_term + lambda_offdiag * off_term


class BarlowTwinsLoss(nn.Module):
    """Barlow Twins loss (Zbontar et al., ICML 2021); see ``barlow_twins_loss``.

    Args:
        lambda_offdiag: weight of the off-diagonal (redundancy-reduction) term, >= 0 (paper: 5e-3).
        eps: variance epsilon of the per-dimension standardization, > 0.

    Shapes:
        z1, z2: [N, D] with N >= 2 -> output: [] scalar
    """

    def __init__(self, lambda_offdiag: float = 5e-3, eps: float = 1e-5) -> None:
        super().__init__()
        self.lambda_offdiag = check_nonnegative_float("lambda_offdiag", lambda_offdiag)
        self.eps = check_positive_float("eps", eps)

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        return barlow_twins_loss(z1, z2, self.lambda_offdiag, self.eps)

    def extra_repr(self) -> str:
        return f"lambda_offdiag={self.lambda_offdiag}, eps={self.eps}"
