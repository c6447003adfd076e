"""Barlow Twins: make the cross-correlation of two views' projections the identity (Zbontar et al., ICML 2021).

Zbontar, Jing, Misra, LeCun & Deny, "Barlow Twins: Self-Supervised Learning via Redundancy Reduction"
(ICML 2021). Two views of each item (the modality's recipe; images: ``"byol"``, the augmentations the
paper takes from BYOL) go through the encoder and a projector of three linear layers of 8,192 units
(BatchNorm and ReLU after the first two); the loss drives the cross-correlation matrix of the
standardized projections to the identity (``molssl.ssl.barlow_twins_loss``, lambda = 5e-3).

Defaults and deviations: the paper's projector and lambda (its code uses 0.0051). The projector is
large (8,192 units, as in the paper, whose ablation shows accuracy rising with its width); pass
``projection_dim``/``projection_hidden_dim`` to shrink it for small encoders. Optimizer and schedule
are the loop's (the paper: LARS, 1,000 epochs). Each view is encoded in its own pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from molssl.methods.base import MethodOutput
from molssl.methods.joint_embedding import ExpanderConfig, JointEmbeddingMethod
from molssl.ssl.checks import check_nonnegative_float
from molssl.ssl.losses import barlow_twins_loss


@dataclass(frozen=True, kw_only=True)
class BarlowTwinsConfig(ExpanderConfig):
    """Options of Barlow Twins.

    Attributes:
        lambda_offdiag: weight of the redundancy-reduction (off-diagonal) term (paper: 5e-3).
        projection_dim, projection_hidden_dim, projection_layers: the projector (``ExpanderConfig``;
            paper: 8192-8192-8192).
    """

    lambda_offdiag: float = 5e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        check_nonnegative_float("lambda_offdiag", self.lambda_offdiag)


class BarlowTwins(JointEmbeddingMethod):
    """Barlow Twins loss between the projections of two augmented views (Zbontar et al., ICML 2021).

    Shapes:
        batch: a modality's batch of B items (B >= 2) -> loss []; embeddings, embeddings2: [B, D]
    """

    name = "barlow_twins"
    config_class = BarlowTwinsConfig
    default_views = {"image": "byol", "audio": "byola"}
    collapse_advice = "use stronger augmentations (views, view_options), lower the learning rate (lr), or raise lambda_offdiag"

    def __init__(self, encoder_config: Any, config: BarlowTwinsConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        self.projector = self.config.build_projector(self.encoder.out_dim)

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        (h1, h2), (z1, z2) = self.project(self.make_views(batch, generator), self.projector)
        loss = barlow_twins_loss(z1, z2, self.config.lambda_offdiag)
        return MethodOutput(loss, {}, embeddings=h1.detach(), embeddings2=h2.detach())


__all__ = ["BarlowTwins", "BarlowTwinsConfig"]
