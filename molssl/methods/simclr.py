"""SimCLR: contrast two augmented views of every image with NT-Xent (Chen et al., ICML 2020).

Chen, Kornblith, Norouzi & Hinton, "A Simple Framework for Contrastive Learning of Visual Representations"
(ICML 2020). Each item is augmented twice by the modality's view recipe (images: ``"simclr"``, random
resized crop, flip, color jitter, grayscale, blur; audio: ``"byola"``), both views go through the encoder
and a projection head ``Linear(D, D) - BatchNorm - ReLU - Linear(D, 128)`` (the paper's 2048 -> 2048 -> 128
for a ResNet-50), and NT-Xent contrasts the 2B projections: each one's positive is the other view of its
item, its negatives the 2B - 2 others (``molssl.ssl.nt_xent``).

Defaults and deviations:

* ``temperature = 0.5``: the paper's CIFAR-10 setting (appendix B.9), which suits the small batches this
  runs with; its ImageNet runs use 0.1 with batches of 4,096 and LARS.
* Each view is encoded in its own pass (its own BatchNorm statistics); the paper's TPU code concatenates
  the views and uses BatchNorm over all devices.
* Optimizer, learning rate and schedule are the loop's (Adam; the paper trains with LARS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from molssl.methods.base import MethodOutput
from molssl.methods.joint_embedding import JointEmbeddingConfig, JointEmbeddingMethod, retrieval_top1
from molssl.ssl.checks import check_positive_float, check_positive_int
from molssl.ssl.heads import ProjectionHead
from molssl.ssl.losses import nt_xent


@dataclass(frozen=True, kw_only=True)
class SimCLRConfig(JointEmbeddingConfig):
    """Options of SimCLR.

    Attributes:
        temperature: NT-Xent temperature (paper: 0.5 on CIFAR-10, 0.1 on ImageNet).
        projection_dim: output size of the projection head (paper: 128).
        projection_hidden_dim: hidden size of the head; ``None`` = the encoder's output size (paper).
    """

    temperature: float = 0.5
    projection_dim: int = 128
    projection_hidden_dim: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_float("temperature", self.temperature)
        check_positive_int("projection_dim", self.projection_dim)
        if self.projection_hidden_dim is not None:
            check_positive_int("projection_hidden_dim", self.projection_hidden_dim)


class SimCLR(JointEmbeddingMethod):
    """NT-Xent between the projections of two augmented views of each item (Chen et al., ICML 2020).

    The collapse monitors see the encoder representations of both views (what downstream tasks use).

    Shapes:
        batch: a modality's batch of B items -> loss []; embeddings, embeddings2: [B, D]
    """

    name = "simclr"
    config_class = SimCLRConfig
    default_views = {"image": "simclr", "audio": "byola"}
    collapse_advice = "use stronger augmentations (views, view_options), lower the learning rate (lr), or raise the temperature"

    def __init__(self, encoder_config: Any, config: SimCLRConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        dim = self.encoder.out_dim
        hidden = self.config.projection_hidden_dim or dim
        self.projector = ProjectionHead(dim, self.config.projection_dim, hidden_dim=hidden, num_layers=2)

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        (h1, h2), (z1, z2) = self.project(self.make_views(batch, generator), self.projector)
        loss = nt_xent(z1, z2, self.config.temperature)
        return MethodOutput(loss, {"top1_acc": retrieval_top1(z1, z2)}, embeddings=h1.detach(), embeddings2=h2.detach())


__all__ = ["SimCLR", "SimCLRConfig"]
