"""Randomized-SMILES contrastive learning: two random atom orderings of a molecule are a positive pair.

The same molecule written from two random atom orderings (Bjerrum, arXiv:1703.07076; drawn by the
data source, ``molssl.text.randomize``) must map to nearby embeddings, other molecules far: the
contrastive pretraining of SMILES encoders in e.g. Pinheiro et al. (2022) and of MolCLR's text-free
cousins, with SimCLR's machinery (Chen et al., ICML 2020): encoder -> pooled embedding -> projection
head ``Linear - ReLU - Linear`` -> loss. ``loss="nt_xent"`` is SimCLR's symmetric NT-Xent over the
2B views; ``loss="info_nce"`` is the one-directional InfoNCE of MoCo (He et al., CVPR 2020) in which
view 1 queries view 2's keys. With ``queue_size > 0`` the keys of past batches (detached, from a
``molssl.ssl.queue.MemoryQueue``) are extra negatives for either loss; without a momentum encoder they
come from the same, slowly changing encoder (a memory bank, Wu et al., CVPR 2018).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from molssl.methods.base import MethodConfig, MethodOutput, PretrainMethod
from molssl.ssl.checks import check_positive_float, check_positive_int
from molssl.ssl.heads import ProjectionHead
from molssl.ssl.losses import info_nce, nt_xent
from molssl.ssl.queue import MemoryQueue

CONTRASTIVE_LOSSES = ("nt_xent", "info_nce")


@dataclass(frozen=True, kw_only=True)
class SmilesContrastiveConfig(MethodConfig):
    """Options of randomized-SMILES contrastive learning.

    Attributes:
        loss: ``"nt_xent"`` (symmetric, SimCLR) or ``"info_nce"`` (view 1 -> view 2, MoCo's form).
        temperature: softmax temperature of the loss.
        projection_dim: output size of the projection head (hidden size = the encoder's).
        queue_size: past keys kept as extra negatives (0: in-batch negatives only).
    """

    loss: str = "nt_xent"
    temperature: float = 0.1
    projection_dim: int = 128
    queue_size: int = 0

    def __post_init__(self) -> None:
        if self.loss not in CONTRASTIVE_LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; valid losses: {', '.join(CONTRASTIVE_LOSSES)}")
        check_positive_float("temperature", self.temperature)
        check_positive_int("projection_dim", self.projection_dim)
        if isinstance(self.queue_size, bool) or not isinstance(self.queue_size, int) or self.queue_size < 0:
            raise ValueError(f"queue_size must be an int >= 0, got {self.queue_size!r}")


class SmilesContrastive(PretrainMethod):
    """Contrast two randomized SMILES of every molecule (see the module docstring).

    The batch must hold two views per molecule: ``prepare_data`` switches the text source to
    ``randomize=True, views=2``.

    Shapes:
        batch.ids: [2B, L] (view 0 rows, then view 1 rows) -> loss []; embeddings, embeddings2: [B, D]
    """

    name = "smiles_contrastive"
    config_class = SmilesContrastiveConfig
    modality: ClassVar[str] = "text"
    default_encoder: ClassVar[dict[str, Any]] = {"kind": "smiles_transformer"}
    collapse_advice = "lower the learning rate (lr), raise the temperature, or keep past keys in a memory queue (queue_size)"

    def __init__(self, encoder_config: Any, config: SmilesContrastiveConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        dim = self.encoder.out_dim
        self.projection = ProjectionHead(dim, self.config.projection_dim, hidden_dim=dim, num_layers=2, batch_norm=False)
        self.queue = MemoryQueue(self.config.queue_size, self.config.projection_dim) if self.config.queue_size else None

    @classmethod
    def prepare_data(cls, data: Any, options: dict[str, Any], workers: int = 1) -> tuple[Any, dict[str, Any]]:
        """The text source, drawing two random atom orderings of each molecule per batch."""
        if not callable(getattr(data, "with_views", None)):
            raise ValueError(f"smiles_contrastive trains on SMILES text (molssl.text.data.SmilesSource), got {type(data).__name__}")
        return (data if data.views == 2 else data.with_views(2)), options

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        if batch.views != 2:
            raise ValueError(f"smiles_contrastive needs two views of every molecule, got {batch.views}; open the text "
                             "source with randomize=True, views=2")  # fmt: skip
        h = self.encoder(batch.ids)  # [2B, D]: both views in one pass (LayerNorm only: no cross-row statistics)
        h1, h2 = h.chunk(2)  # [B, D] each
        z1, z2 = self.projection(h1).float(), self.projection(h2).float()
        negatives = self.queue.negatives().clone() if self.queue is not None and len(self.queue) else None
        if self.config.loss == "nt_xent":
            loss = nt_xent(z1, z2, self.config.temperature, negatives)
        else:
            loss = info_nce(z1, z2, self.config.temperature, negatives)
        with torch.no_grad():
            q, k = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
            positive = (q * k).sum(1).mean()
            top1 = ((q @ k.t()).argmax(1) == torch.arange(q.size(0), device=q.device)).float().mean()
        if self.queue is not None and self.training:
            self.queue.enqueue(z2)
        return MethodOutput(loss, {"positive_cosine": positive, "top1": top1}, h1.detach(), h2.detach())
