"""Context prediction (Hu et al., "Strategies for Pre-training Graph Neural Networks", ICLR 2020).

Around a random center atom, the K-hop substructure (K = encoder layers) is encoded by the encoder
being pretrained and represented by the center's node vector; the context ring (atoms between r1 and
r2 hops, r1 = K - 1, r2 = r1 + 3 by default) is encoded by a separate context GNN of r2 - r1 layers and
represented by the mean over its anchor atoms (those the substructure shares; the paper's "CBOW"
mode). A molecule's substructure and its own context should score high, and the context of another
molecule of the batch (the batch shifted by one, the reference's negative sampling) low:
``score = <substructure, context>``, BCE. Molecules whose context or anchor set is empty take no part,
as in the reference. Extraction is one vectorized pass over the collated batch
(``molssl.graph.context``), not a per-molecule networkx transform in the data loader.

One Adam over both GNNs is the reference's two Adams (same lr, no decay: Adam's update is per
parameter). Deviation: with ``negatives`` n > 1 the negative term is the mean over all n B' negative
pairs; the reference multiplies it by n (``loss_pos + n * loss_neg``). Early training is slow in both:
the logits are dot products of 300-d BatchNorm outputs, the loss starts near 12 and the accuracy
stays near 0.5 (0.53-0.56) with effective rank 2-4 over the first 150 steps of 256, for molssl and for
an independent per-molecule re-implementation of the reference alike (``benchmarks/RESULTS.md``,
"Context prediction check"): a short run is not a trained context model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch

from molssl.graph.context import extract_context_pair
from molssl.methods.base import (
    MethodConfig,
    MethodOutput,
    PretrainMethod,
    binary_accuracy,
    check_positive_int,
    shifted,
)
from molssl.nn.encoder import EncoderConfig, GNNEncoder
from molssl.ops import scatter
from molssl.ssl.losses import bce_mi_loss


@dataclass(frozen=True, kw_only=True)
class ContextPredictionConfig(MethodConfig):
    """Options of context prediction.

    Attributes:
        context_size: r2 - r1, the width of the context ring and the context GNN's depth (paper: 3).
        inner_radius: r1; ``None`` = K - 1 (the paper's choice, so anchors are the atoms K hops out).
        negatives: negative contexts per substructure (shifts of the batch by 1..n; paper: 1).
    """

    context_size: int = 3
    inner_radius: int | None = None
    negatives: int = 1

    def __post_init__(self) -> None:
        check_positive_int("context_size", self.context_size)
        check_positive_int("negatives", self.negatives)
        if self.inner_radius is not None and (not isinstance(self.inner_radius, int) or self.inner_radius < 0):
            raise ValueError(f"inner_radius must be an int >= 0 or None, got {self.inner_radius!r}")


class ContextPrediction(PretrainMethod):
    """Match each molecule's K-hop substructure with its own surrounding context (Hu et al. 2020).

    Shapes:
        batch: a collated batch of B molecules -> loss []
    """

    name = "context_pred"
    config_class = ContextPredictionConfig
    collapse_advice = "lower the learning rate (lr), or raise negatives (more contexts to tell apart)"

    def __init__(self, encoder_config: EncoderConfig, config: ContextPredictionConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        self.inner_radius = encoder_config.num_layers - 1 if self.config.inner_radius is None else self.config.inner_radius
        self.outer_radius = self.inner_radius + self.config.context_size
        context_config = dataclasses.replace(encoder_config, num_layers=self.config.context_size)
        self.context_encoder = GNNEncoder(context_config)

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        pair = extract_context_pair(batch, self.encoder_config.num_layers, self.inner_radius, self.outer_radius, generator)
        keep = pair.has_context.nonzero().view(-1)  # [B'] molecules with a context
        substructure = self.encoder(pair.substructure)[pair.center[keep]]  # [B', D]
        context_nodes = self.context_encoder(pair.context)[pair.anchor]  # [anchors, D]
        context = scatter(context_nodes, pair.anchor_batch, dim_size=int(batch.num_graphs), reduce="mean")[keep]  # [B', D]
        positive = (substructure * context).sum(-1).float()
        negative = torch.cat([
            (substructure * context[shifted(keep.numel(), k, keep.device)]).sum(-1).float()
            for k in range(1, self.config.negatives + 1)
        ])  # fmt: skip
        loss = bce_mi_loss(positive, negative)
        acc = binary_accuracy(positive, negative)
        metrics = {"acc": acc, "with_context": keep.new_tensor(float(keep.numel()), dtype=torch.float32)}
        return MethodOutput(loss, metrics, embeddings=substructure.detach())
