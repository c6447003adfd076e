"""InfoGraph: maximize the mutual information between atom and molecule representations (Sun et al., ICLR 2020).

Sun et al., "InfoGraph: Unsupervised and Semi-supervised Graph-Level Representation Learning via
Mutual Information Maximization" (ICLR 2020), as its unsupervised code (``unsupervised/main.py``)
trains it: node ("local", patch) representations ``h_i`` and the graph's ("global") summary
``g = READOUT(h)`` go through two feed-forward discriminators with a linear shortcut,
``FF(x) = ReLU-MLP_3(x) + Linear(x)`` (all layers D -> D, Xavier-uniform weights and zero biases as
the reference initializes them), and the dot product ``FF_local(h_i) . FF_global(g_G)`` scores
atom i against molecule G. Every atom with its own molecule is a positive pair, with each of the
B - 1 other molecules of the batch a negative pair (``local_global_scores``), and the loss is the
negative Jensen-Shannon MI estimate (``jsd_mi_loss``, the paper's eq. 4: positives averaged over
the N atoms, negatives over the N (B - 1) pairs, exactly the reference's masked sums).

Deviations, all documented choices rather than omissions of the method:

* The encoder is the configured ``GNNEncoder`` (by default Hu et al.'s 5 x 300 GIN, JK ``last``).
  InfoGraph's own encoder concatenates the outputs of all its layers for both ``h`` and ``g``; pass
  an encoder with ``jk="concat"`` to get that (molssl's concat also includes the input atom
  embedding ``h^0``). The readout is a sum (``readout="sum"``), as the reference's
  ``global_add_pool``; ``"mean"`` and ``"max"`` are accepted.
* The optional prior-matching term of the paper (``--prior``, off by default in the reference) is
  not implemented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from molssl.methods.base import MethodConfig, MethodOutput, PretrainMethod
from molssl.nn.encoder import EncoderConfig
from molssl.nn.readout import MaxReadout, MeanReadout, SumReadout
from molssl.ssl.losses import jsd_mi_loss, local_global_scores

#: graph readouts InfoGraph can summarize a molecule with (the reference: sum)
INFOGRAPH_READOUTS = {"sum": SumReadout, "mean": MeanReadout, "max": MaxReadout}


@dataclass(frozen=True, kw_only=True)
class InfoGraphConfig(MethodConfig):
    """Options of InfoGraph.

    Attributes:
        readout: how atom representations become the molecule's, a key of ``INFOGRAPH_READOUTS``
            (reference: ``"sum"``).
    """

    readout: str = "sum"

    def __post_init__(self) -> None:
        if self.readout not in INFOGRAPH_READOUTS:
            raise ValueError(f"unknown readout {self.readout!r}; valid readouts: {', '.join(INFOGRAPH_READOUTS)}")


class ShortcutFF(nn.Module):
    """InfoGraph's discriminator network: three Linear-ReLU layers plus a linear shortcut (Sun et al. 2020).

    ``FF(x) = ReLU(W3 ReLU(W2 ReLU(W1 x))) + W_s x``, every layer D -> D, weights Xavier-uniform and
    biases zero (the reference's ``init_emb``).

    Shapes:
        x: [M, D] -> [M, D]
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim), nn.ReLU()
        )
        self.shortcut = nn.Linear(dim, dim)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.block(x) + self.shortcut(x)


class InfoGraph(PretrainMethod):
    """Score atoms against their own molecule (positive) and the batch's other molecules (negatives).

    Needs batches of at least two molecules (a single one has no negative pairs). The collapse
    monitors see the molecule representations ``g`` (before the global discriminator).

    Shapes:
        batch.x: [N, F_atom], batch.batch: [N], batch.num_graphs: B -> loss []; embeddings: [B, D]
    """

    name = "infograph"
    config_class = InfoGraphConfig
    collapse_advice = "lower the learning rate (lr), or pool with another readout"

    def __init__(self, encoder_config: EncoderConfig, config: InfoGraphConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        dim = self.encoder.out_dim
        self.readout = INFOGRAPH_READOUTS[self.config.readout](dim)
        self.local_discriminator = ShortcutFF(dim)
        self.global_discriminator = ShortcutFF(dim)

    def scores(self, batch: Any) -> tuple[Tensor, Tensor, Tensor]:
        """Positive and negative discriminator scores, and the molecule representations.

        Shapes:
            -> positive [N], negative [N, B - 1], graphs [B, D]
        """
        h = self.encoder(batch)  # [N, D]
        graphs = self.readout(h, batch.batch, int(batch.num_graphs), getattr(batch, "ptr", None))  # [B, D]
        local = self.local_discriminator(h).float()
        global_ = self.global_discriminator(graphs).float()
        positive, negative = local_global_scores(local, global_, batch.batch)
        return positive, negative, graphs

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        positive, negative, graphs = self.scores(batch)
        loss = jsd_mi_loss(positive, negative)
        with torch.no_grad():
            # balanced: the N (B - 1) negatives would otherwise swamp the N positives
            acc = ((positive > 0).float().mean() + (negative < 0).float().mean()) / 2
        return MethodOutput(loss, {"acc": acc}, embeddings=graphs.detach())


__all__ = ["INFOGRAPH_READOUTS", "InfoGraph", "InfoGraphConfig", "ShortcutFF"]
