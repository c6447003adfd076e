"""BGRL: predict an EMA teacher's atom representations of another view, no negatives (Thakoor et al., ICLR 2022).

Thakoor et al., "Large-Scale Representation Learning on Graphs via Bootstrapping" (BGRL, ICLR 2022),
the graph form of BYOL (Grill et al., NeurIPS 2020), applied to batches of molecules. Each view
masks the features of a fraction of every molecule's atoms (``feature_mask``: the scheme's mask
token, ``molssl.augment.AttrMask``) and then drops a fraction of its bonds (``edge_drop``:
``EdgePerturb`` without additions); both augmentations keep every atom, so atom i of one view is
atom i of the other. The online encoder's atom representations of view 1 go through a predictor
(``PredictionHead``: Linear - BatchNorm - PReLU - Linear, D -> D -> D, BGRL's) and regress the EMA
teacher encoder's representations of view 2 (no gradient), and symmetrically::

    loss = ( negative_cosine(q(h1), stopgrad(t2)) + negative_cosine(q(h2), stopgrad(t1)) ) / 2

(``molssl.ssl.negative_cosine``; BGRL's ``-2 cos`` sums, averaged here, so the loss lies in [-1, 1]).
BGRL has no projector and no negatives.

How it differs from the paper, and why:

* BGRL masks feature *columns* shared by all nodes of continuous-featured graphs; molecules have
  categorical features, so a masked atom becomes the scheme's mask token instead (as in
  ``attr_mask``). Defaults 0.2 for both views and both augmentations (BGRL tunes ``p_f``, ``p_e``
  per dataset; none is published for molecules).
* The teacher is the shared ``MomentumTeacher`` (``molssl.methods.joint_embedding``, as BYOL's and
  DINO's; its head is the identity, since BGRL regresses the encoder's own outputs) on BGRL's step
  clock (``ScheduledMethod``): ``t <- m t + (1 - m) s`` with a constant ``momentum`` by default (0.99,
  BGRL's starting value); ``final_momentum=1.0`` gives BGRL's cosine schedule from ``momentum`` to 1.0
  over the run. The constant default keeps the earlier runs' behaviour (the loop could not tell a method
  the run's length when BGRL was written). The teacher moves at the start of every training forward,
  from the student the previous step left (the loop has no hook after the optimizer step): the same
  sequence of teachers, one step later. At the first training step it is copied from the student, so an
  encoder loaded after construction (``init=``) starts teacher and student equal; the persistent step
  count keeps a resumed run from copying again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from molssl.augment import AttrMask, EdgePerturb
from molssl.methods.base import MethodConfig, MethodOutput, check_fraction
from molssl.methods.joint_embedding import MomentumTeacher, ScheduledMethod
from molssl.nn.encoder import EncoderConfig
from molssl.nn.readout import MeanReadout
from molssl.ssl import PredictionHead, negative_cosine
from molssl.ssl.checks import check_unit_interval


@dataclass(frozen=True, kw_only=True)
class BGRLConfig(MethodConfig):
    """Options of BGRL.

    Attributes:
        feature_mask1: fraction of each molecule's atoms masked in view 1, in [0, 1).
        feature_mask2: the same for view 2.
        edge_drop1: fraction of each molecule's bonds dropped in view 1, in [0, 1).
        edge_drop2: the same for view 2.
        momentum: EMA momentum ``m`` of the teacher at the start, in [0, 1) (BGRL starts at 0.99).
        final_momentum: momentum at the end of the run on BYOL's cosine schedule, in [momentum, 1]
            (BGRL: 1.0); ``None`` keeps ``momentum`` constant.
        predictor_hidden_dim: hidden size of the predictor; ``None`` = the encoder's output size.
    """

    feature_mask1: float = 0.2
    feature_mask2: float = 0.2
    edge_drop1: float = 0.2
    edge_drop2: float = 0.2
    momentum: float = 0.99
    final_momentum: float | None = None
    predictor_hidden_dim: int | None = None

    def __post_init__(self) -> None:
        for name in ("feature_mask1", "feature_mask2", "edge_drop1", "edge_drop2", "momentum"):
            check_fraction(name, getattr(self, name), low_open=False)
        hidden = self.predictor_hidden_dim
        if hidden is not None and (isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1):
            raise ValueError(f"predictor_hidden_dim must be a positive int or None, got {hidden!r}")
        if self.final_momentum is not None and check_unit_interval("final_momentum", self.final_momentum) < self.momentum:
            raise ValueError(f"final_momentum {self.final_momentum} is below momentum {self.momentum}; the schedule only rises")


class BGRL(ScheduledMethod):
    """Regress an EMA teacher's atom representations of the other view (Thakoor et al., ICLR 2022).

    The collapse monitors see the mean-pooled online representations of both views.

    Shapes:
        batch.x: [N, F_atom], batch.edge_index: [2, E] (bond k as edges 2k and 2k+1),
        batch.ptr: [B + 1] -> loss []; embeddings, embeddings2: [B, D]
    """

    name = "bgrl"
    config_class = BGRLConfig
    collapse_advice = (
        "check the augmentations (feature_mask1, feature_mask2, edge_drop1, edge_drop2: views too similar), lower "
        "the learning rate (lr), or raise momentum (a slower teacher)"
    )

    def __init__(self, encoder_config: EncoderConfig, config: BGRLConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        dim = self.encoder.out_dim
        self.predictor = PredictionHead(dim, self.config.predictor_hidden_dim, activation="prelu")
        c = self.config
        final = c.momentum if c.final_momentum is None else c.final_momentum
        self.teacher = MomentumTeacher(self.encoder, nn.Identity(), c.momentum, final)
        self.pool = MeanReadout(dim)
        self.augmentations = (
            (AttrMask.from_scheme(self.scheme, c.feature_mask1), EdgePerturb(ratio=c.edge_drop1)),
            (AttrMask.from_scheme(self.scheme, c.feature_mask2), EdgePerturb(ratio=c.edge_drop2)),
        )

    def views(self, batch: Any, generator: torch.Generator) -> tuple[Any, Any]:
        """Two views of ``batch``, each from the original: masked atoms, then dropped bonds."""
        out = []
        for mask, drop in self.augmentations:
            out.append(drop(mask(batch, generator), generator))
        return out[0], out[1]

    @torch.no_grad()
    def update_teacher(self) -> float:
        """Count a training step and move the teacher towards the encoder (copied at the first); the momentum used."""
        constant = self.teacher.final == self.teacher.base  # needs no run length
        total = 1 if constant else self.run_length("target momentum")
        return self.teacher.update(self.encoder, nn.Identity(), self.advance(), total)

    def _predict_and_target(self, view: Any) -> tuple[Tensor, Tensor, Tensor]:
        h = self.encoder(view)  # [N, D]
        target = self.teacher(view)  # [N, D], no gradient
        graphs = self.pool(h, view.batch, int(view.num_graphs), getattr(view, "ptr", None))
        return self.predictor(h).float(), target.float(), graphs

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        if self.training:
            self.update_teacher()
        view1, view2 = self.views(batch, generator)
        q1, t1, g1 = self._predict_and_target(view1)
        q2, t2, g2 = self._predict_and_target(view2)
        loss = (negative_cosine(q1, t2) + negative_cosine(q2, t1)) / 2
        return MethodOutput(loss, {}, embeddings=g1.detach(), embeddings2=g2.detach())


__all__ = ["BGRL", "BGRLConfig"]
