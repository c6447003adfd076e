"""VICReg: variance-invariance-covariance regularization of two views' embeddings.

Bardes, Ponce & LeCun, "VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised
Learning" (ICLR 2022).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from molssl.ssl.checks import check_nonnegative_float, check_pair, check_positive_float


def _variance_term(z: Tensor, gamma: float, eps: float) -> Tensor:
    std = torch.sqrt(z.var(dim=0) + eps)  # [D], unbiased variance as in the paper
    return F.relu(gamma - std).mean()


def _covariance_term(z: Tensor) -> Tensor:
    n, d = z.shape
    centered = z - z.mean(dim=0, keepdim=True)
    cov = centered.t() @ centered / (n - 1)  # [D, D]
    return (cov.square().sum() - torch.diagonal(cov).square().sum()) / d


def vicreg_loss(
    z1: Tensor,
    z2: Tensor,
    invariance_weight: float = 25.0,
    variance_weight: float = 25.0,
    covariance_weight: float = 1.0,
    gamma: float = 1.0,
    eps: float = 1e-4,
) -> Tensor:
    """VICReg loss (Bardes et al., ICLR 2022, eq. 6).

    With ``s`` the mean squared error between the views, ``v(Z) = mean_j relu(gamma - sqrt(Var(z_j) +
    eps))`` the hinge on each dimension's standard deviation and ``c(Z) = sum_{i != j} Cov(Z)_ij^2 / D``
    the off-diagonal covariance penalty::

        loss = lambda * s(Z1, Z2) + mu * (v(Z1) + v(Z2)) + nu * (c(Z1) + c(Z2))

    with the paper's lambda = mu = 25, nu = 1. (The authors' code halves the variance sum, which is
    mu = 12.5 here.) Swapping the views leaves the loss unchanged.

    Args:
        z1: first view, one embedding per sample.
        z2: second view, row for row the same samples.
        invariance_weight: lambda, weight of the mean squared error between the views.
        variance_weight: mu, weight of the variance hinge.
        covariance_weight: nu, weight of the covariance penalty.
        gamma: target standard deviation of each dimension.
        eps: added to the variance before the square root.

    Shapes:
        z1, z2: [N, D] with N >= 2 -> output: [] scalar

    Raises:
        ValueError: on mismatched shapes, fewer than two samples or negative coefficients.
    """
    check_pair("z1", z1, "z2", z2, min_rows=2)
    for name, value in (
        ("invariance_weight", invariance_weight),
        ("variance_weight", variance_weight),
        ("covariance_weight", covariance_weight),
    ):
        check_nonnegative_float(name, value)
    check_positive_float("gamma", gamma)
    check_positive_float("eps", eps)
    invariance = F.mse_loss(z1, z2)
    variance = _variance_term(z1, gamma, eps) + _variance_term(z2, gamma, eps)
    covariance = _covariance_term(z1) + _covariance_term(z2)
    return invariance_weight * invariance + variance_weight * variance + covariance_weight * covariance


class VICRegLoss(nn.Module):
    """VICReg loss (Bardes et al., ICLR 2022); see ``vicreg_loss``.

    Args:
        invariance_weight: lambda >= 0 (paper: 25).
        variance_weight: mu >= 0 (paper: 25).
        covariance_weight: nu >= 0 (paper: 1).
        gamma: target standard deviation > 0 (paper: 1).
        eps: variance epsilon > 0 (paper: 1e-4).

    Shapes:
        z1, z2: [N, D] with N >= 2 -> output: [] scalar
    """

    def __init__(
        self,
        invariance_weight: float = 25.0,
        variance_weight: float = 25.0,
        covariance_weight: float = 1.0,
        gamma: float = 1.0,
        eps: float = 1e-4,
    ) -> None:
        super().__init__()
        self.invariance_weight = check_nonnegative_float("invariance_weight", invariance_weight)
        self.variance_weight = check_nonnegative_float("variance_weight", variance_weight)
        self.covariance_weight = check_nonnegative_float("covariance_weight", covariance_weight)
        self.gamma = check_positive_float("gamma", gamma)
        self.eps = check_positive_float("eps", eps)

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        return vicreg_loss(
            z1, z2, self.invariance_weight, self.variance_weight, self.covariance_weight, self.gamma, self.eps
        )

    def extra_repr(self) -> str:
        return (
            f"invariance_weight={self.invariance_weight}, variance_weight={self.variance_weight}, "
            f"covariance_weight={self.covariance_weight}, gamma={self.gamma}, eps={self.eps}"
        )
