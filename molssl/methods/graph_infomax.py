"""Graph infomax: the graph-level Deep Graph Infomax of Hu et al. (2020).

Veličković et al., "Deep Graph Infomax" (ICLR 2019), as ``pretrain_deepgraphinfomax.py`` of
pretrain-gnns (Hu et al., "Strategies for Pre-training Graph Neural Networks", ICLR 2020) applies it to
a batch of molecules: a molecule's summary is ``s = sigmoid(mean_i h_i)``; a bilinear discriminator
``D(h, s) = h^T W s`` should score the molecule's own atoms against its summary high (positives) and
against the summary of another molecule of the batch low (negatives: the batch shifted by one). The
loss is the BCE mutual-information estimator of ``molssl.ssl.losses``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from molssl.methods.base import MethodOutput, PretrainMethod, binary_accuracy, shifted
from molssl.nn.encoder import EncoderConfig
from molssl.nn.readout import MeanReadout
from molssl.ssl.losses import bce_mi_loss


class BilinearDiscriminator(nn.Module):
    """``D(h, s) = h^T W s`` (Veličković et al. 2019), W initialized uniform in ±1/sqrt(D).

    Shapes:
        h: [N, D], summary: [N, D] -> [N]
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(dim)
        self.weight = nn.Parameter(torch.empty(dim, dim).uniform_(-bound, bound))

    def forward(self, h: Tensor, summary: Tensor) -> Tensor:
        return ((h @ self.weight) * summary).sum(-1)


class GraphInfomax(PretrainMethod):
    """Discriminate a molecule's atoms against its own summary vs. another molecule's (Hu et al. 2020).

    Shapes:
        batch.x: [N, F_atom], batch.batch: [N], batch.num_graphs: B -> loss []
    """

    name = "infomax"
    collapse_advice = "lower the learning rate (lr)"

    def __init__(self, encoder_config: EncoderConfig, config=None) -> None:
        super().__init__(encoder_config, config)
        self.pool = MeanReadout(self.encoder.out_dim)
        self.discriminator = BilinearDiscriminator(self.encoder.out_dim)

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        h = self.encoder(batch)  # [N, D]
        num_graphs = int(batch.num_graphs)
        summary = torch.sigmoid(self.pool(h, batch.batch, num_graphs, getattr(batch, "ptr", None)))  # [B, D]
        other = summary[shifted(num_graphs, 1, h.device)]  # [B, D]: molecule b paired with b + 1
        positive = self.discriminator(h, summary[batch.batch]).float()
        negative = self.discriminator(h, other[batch.batch]).float()
        loss = bce_mi_loss(positive, negative)
        acc = binary_accuracy(positive, negative)
        return MethodOutput(loss, {"acc": acc}, embeddings=summary.detach())
