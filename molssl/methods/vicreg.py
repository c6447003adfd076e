"""VICReg: variance, invariance and covariance terms on two views' projections (Bardes et al., ICLR 2022).

Bardes, Ponce & LeCun, "VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised
Learning" (ICLR 2022). Two views of each item (the modality's recipe; images: ``"byol"``, the paper's
BYOL augmentations) go through the encoder and an expander of three linear layers of 8,192 units
(BatchNorm and ReLU after the first two); the loss is ``molssl.ssl.vicreg_loss`` with the paper's
weights lambda = mu = 25, nu = 1.

Defaults and deviations: the paper's expander and weights (its code halves the variance sum, which is
``variance_weight=12.5`` here). The expander is large, as in the paper; pass ``projection_dim``/
``projection_hidden_dim`` to shrink it for small encoders. Optimizer and schedule are the loop's (the
paper: LARS). Each view is encoded in its own pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from molssl.methods.base import MethodOutput
from molssl.methods.joint_embedding import ExpanderConfig, JointEmbeddingMethod
from molssl.ssl.checks import check_nonnegative_float
from molssl.ssl.losses import VICRegLoss


@dataclass(frozen=True, kw_only=True)
class VICRegConfig(ExpanderConfig):
    """Options of VICReg.

    Attributes:
        invariance_weight: lambda, weight of the mean squared error between the views (paper: 25).
        variance_weight: mu, weight of the standard-deviation hinge (paper: 25).
        covariance_weight: nu, weight of the off-diagonal covariance penalty (paper: 1).
        projection_dim, projection_hidden_dim, projection_layers: the expander (``ExpanderConfig``;
            paper: 8192-8192-8192).
    """

    invariance_weight: float = 25.0
    variance_weight: float = 25.0
    covariance_weight: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("invariance_weight", "variance_weight", "covariance_weight"):
            check_nonnegative_float(name, getattr(self, name))


class VICReg(JointEmbeddingMethod):
    """VICReg loss between the expansions of two augmented views (Bardes et al., ICLR 2022).

    Shapes:
        batch: a modality's batch of B items (B >= 2) -> loss []; embeddings, embeddings2: [B, D]
    """

    name = "vicreg"
    config_class = VICRegConfig
    default_views = {"image": "byol", "audio": "byola"}
    collapse_advice = "raise variance_weight, use stronger augmentations (views, view_options), or lower the learning rate (lr)"

    def __init__(self, encoder_config: Any, config: VICRegConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        c = self.config
        self.projector = c.build_projector(self.encoder.out_dim)
        self.loss = VICRegLoss(c.invariance_weight, c.variance_weight, c.covariance_weight)

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        (h1, h2), (z1, z2) = self.project(self.make_views(batch, generator), self.projector)
        return MethodOutput(self.loss(z1, z2), {}, embeddings=h1.detach(), embeddings2=h2.detach())


__all__ = ["VICReg", "VICRegConfig"]
