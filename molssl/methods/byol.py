"""BYOL: predict an EMA teacher's projection of another view, without negatives (Grill et al., NeurIPS 2020).

Grill et al., "Bootstrap Your Own Latent: A New Approach to Self-Supervised Learning" (NeurIPS 2020).
Two views of each item (the modality's recipe; images: ``"byol"``, whose two views differ in blur and
solarization probabilities; audio: ``"byola"``, which makes the method BYOL-A, Niizumi et al., IJCNN
2021) go through the online network (encoder, projector ``D -> 4096 -> 256`` with BatchNorm and ReLU,
predictor ``256 -> 4096 -> 256``) and through the target network, an EMA of the online encoder and
projector (``MomentumTeacher``) whose momentum rises from 0.996 to 1 on a cosine schedule over the run.
The online prediction of each view regresses the target's projection of the other view::

    loss = ( negative_cosine(q1, stopgrad(z2')) + negative_cosine(q2, stopgrad(z1')) ) / 2

Defaults and deviations:

* The paper's heads and momentum schedule. Its loss ``2 - 2 cos`` summed over both directions is, up to
  the constant 4 and a factor 4 on the gradient (absorbed by the learning rate), this mean negative
  cosine, which lies in [-1, 1].
* The teacher moves at the start of each training step rather than after it (``molssl.methods.
  joint_embedding``); the momentum schedule needs the run's length (``set_total_steps``, set by the loop).
* Optimizer and schedule are the loop's (the paper: LARS, lr 0.2 x batch / 256, 1,000 epochs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from molssl.methods.base import MethodOutput
from molssl.methods.joint_embedding import JointEmbeddingConfig, JointEmbeddingMethod, MomentumTeacher
from molssl.ssl.checks import check_positive_int, check_unit_interval
from molssl.ssl.heads import PredictionHead, ProjectionHead
from molssl.ssl.losses import negative_cosine


@dataclass(frozen=True, kw_only=True)
class BYOLConfig(JointEmbeddingConfig):
    """Options of BYOL.

    Attributes:
        projection_dim: output size of the projector and predictor (paper: 256).
        projection_hidden_dim: hidden size of the projector (paper: 4096).
        prediction_hidden_dim: hidden size of the predictor (paper: 4096).
        base_momentum: EMA momentum of the target at the start (paper: 0.996).
        final_momentum: momentum at the end of the run (paper: 1).
    """

    projection_dim: int = 256
    projection_hidden_dim: int = 4096
    prediction_hidden_dim: int = 4096
    base_momentum: float = 0.996
    final_momentum: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("projection_dim", "projection_hidden_dim", "prediction_hidden_dim"):
            check_positive_int(name, getattr(self, name))
        check_unit_interval("base_momentum", self.base_momentum)
        check_unit_interval("final_momentum", self.final_momentum)
        if self.base_momentum > self.final_momentum:
            raise ValueError(f"base_momentum {self.base_momentum} exceeds final_momentum {self.final_momentum}")


class BYOL(JointEmbeddingMethod):
    """Online predictions regress an EMA target's projections of the other view (Grill et al., NeurIPS 2020).

    Logs the target's momentum. The collapse monitors see the online encoder's representations of both views.

    Shapes:
        batch: a modality's batch of B items -> loss []; embeddings, embeddings2: [B, D]
    """

    name = "byol"
    config_class = BYOLConfig
    default_views = {"image": "byol", "audio": "byola"}
    collapse_advice = (
        "raise base_momentum (a slower target), use stronger augmentations (views, view_options), or lower the "
        "learning rate (lr)"
    )

    def __init__(self, encoder_config: Any, config: BYOLConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        c = self.config
        self.projector = ProjectionHead(self.encoder.out_dim, c.projection_dim, hidden_dim=c.projection_hidden_dim)
        self.predictor = PredictionHead(c.projection_dim, c.prediction_hidden_dim)
        self.teacher = MomentumTeacher(self.encoder, self.projector, c.base_momentum, c.final_momentum)

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        momentum = None
        if self.training:
            total, step = self.run_length("target momentum"), self.advance()
            momentum = self.teacher.update(self.encoder, self.projector, step, total)
        views = self.make_views(batch, generator)
        (h1, h2), (z1, z2) = self.project(views, self.projector)
        q1, q2 = self.predictor(z1).float(), self.predictor(z2).float()
        t1, t2 = (self.teacher(view).float() for view in views)
        loss = (negative_cosine(q1, t2) + negative_cosine(q2, t1)) / 2
        metrics = {} if momentum is None else {"momentum": loss.new_tensor(momentum).detach()}
        return MethodOutput(loss, metrics, embeddings=h1.detach(), embeddings2=h2.detach())


__all__ = ["BYOL", "BYOLConfig"]
