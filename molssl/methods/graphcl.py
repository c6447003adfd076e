"""GraphCL: contrast two augmented views of every molecule (You et al., NeurIPS 2020).

You et al., "Graph Contrastive Learning with Augmentations" (NeurIPS 2020), in the protocol of its
transfer-learning code for molecules (``transferLearning_MoleculeNet_PPI/chem/pretrain_graphcl.py``):
each batch is augmented twice (``aug1`` and ``aug2``, each from the original batch; node dropping and
subgraph sampling at ratio 0.2, the paper's best pair for chemistry), both views go through the
encoder, a mean-pool readout and a projection head ``Linear(D, D) - ReLU - Linear(D, D)`` (300 -> 300
-> 300 for the default encoder), and the projections ``z1``, ``z2`` of the B molecules are contrasted.

The default loss (``loss="graphcl"``) is the reference's ``loss_cl`` with ``T = 0.1``::

    loss = -mean_i log( exp(cos(z1_i, z2_i) / T) / sum_{j != i} exp(cos(z1_i, z2_j) / T) )

one direction only (view 1 anchors, view 2 keys), only cross-view negatives, and the positive left
out of the denominator (the decoupled form, which the paper's eq. 3 also writes, its sum running over
``n' != n``; it can go below zero). That is ``info_nce(z1, z2, T, exclude_positive=True)`` of
``molssl.ssl``. ``loss="nt_xent"`` uses SimCLR's NT-Xent instead, which the paper builds on (both
directions, same-view negatives too, positive in the denominator).

Augmentations are those of ``molssl.augment`` (batched; see there how each differs from the
reference's per-graph code: attribute masking writes the scheme's mask token, edge perturbation drops
bonds as undirected pairs and adds none by default). Every ``aug_ratio`` here is the fraction of atoms
or bonds *changed*. For node dropping that is the reference's meaning, but the reference's subgraph
sampling *keeps* ``int(n * aug_ratio) + 1`` atoms and, through a bug, never grows beyond the seed's
direct neighbours (``molssl.augment.subgraph``), so its subgraph views are tiny; here the default
``aug_ratio2 = 0.2`` keeps a connected 80% of each molecule, as the paper describes the augmentation
(``aug_ratio2=0.8`` keeps about the reference's count). The reference trains 99 epochs of 256
molecules with Adam 1e-3 (the loop's defaults otherwise) and transfers the encoder saved at epoch 80.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from molssl.augment import AUGMENTATIONS, augment_pair, build_augmentation
from molssl.methods.base import (
    MethodConfig,
    MethodOutput,
    PretrainMethod,
    check_fraction,
    check_positive_int,
)
from molssl.nn.encoder import EncoderConfig
from molssl.nn.readout import MeanReadout
from molssl.ssl.checks import check_positive_float
from molssl.ssl.heads import ProjectionHead
from molssl.ssl.losses import info_nce, nt_xent

#: the contrastive losses GraphCL can train with (see the module docstring)
GRAPHCL_LOSSES = ("graphcl", "nt_xent")


@dataclass(frozen=True, kw_only=True)
class GraphCLConfig(MethodConfig):
    """Options of GraphCL (names as the reference's command line).

    Attributes:
        aug1: augmentation of the first view, a key of ``molssl.augment.AUGMENTATIONS``
            (``node_drop``, ``edge_perturb``, ``attr_mask``, ``subgraph``, ``identity``).
        aug2: augmentation of the second view.
        aug_ratio1: ratio of the first augmentation (fraction of atoms or bonds changed), in [0, 1).
        aug_ratio2: ratio of the second augmentation.
        temperature: softmax temperature of the loss (reference: 0.1).
        loss: ``"graphcl"`` (the reference's one-directional loss without the positive in the
            denominator) or ``"nt_xent"`` (SimCLR's symmetric loss).
        projection_dim: output (and hidden) size of the projection head; ``None`` = the encoder's
            output size, as the reference's 300 -> 300 -> 300.
    """

    aug1: str = "node_drop"
    aug2: str = "subgraph"
    aug_ratio1: float = 0.2
    aug_ratio2: float = 0.2
    temperature: float = 0.1
    loss: str = "graphcl"
    projection_dim: int | None = None

    def __post_init__(self) -> None:
        for name in ("aug1", "aug2"):
            value = getattr(self, name)
            if value not in AUGMENTATIONS:
                raise ValueError(f"unknown {name} {value!r}; valid augmentations: {', '.join(sorted(AUGMENTATIONS))}")
        check_fraction("aug_ratio1", self.aug_ratio1, low_open=False)
        check_fraction("aug_ratio2", self.aug_ratio2, low_open=False)
        check_positive_float("temperature", self.temperature)
        if self.loss not in GRAPHCL_LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; valid losses: {', '.join(GRAPHCL_LOSSES)}")
        if self.projection_dim is not None:
            check_positive_int("projection_dim", self.projection_dim)


class GraphCL(PretrainMethod):
    """Contrast the projections of two augmented views of each molecule (You et al., NeurIPS 2020).

    The collapse monitors see the mean-pooled encoder representations of both views (what
    fine-tuning builds on), so their alignment is logged too.

    Shapes:
        batch.x: [N, F_atom], batch.edge_index: [2, E] (bond k as edges 2k and 2k+1),
        batch.ptr: [B + 1] -> loss []; embeddings, embeddings2: [B, D]
    """

    name = "graphcl"
    config_class = GraphCLConfig
    collapse_advice = (
        "check the augmentations (aug1, aug2, aug_ratio1, aug_ratio2: views too similar or identical), lower the "
        "learning rate (lr), or raise the temperature"
    )

    def __init__(self, encoder_config: EncoderConfig, config: GraphCLConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        dim = self.encoder.out_dim
        projection_dim = self.config.projection_dim or dim
        self.pool = MeanReadout(dim)
        self.projection = ProjectionHead(dim, projection_dim, hidden_dim=projection_dim, num_layers=2, batch_norm=False)
        self.augmentations = (
            build_augmentation(self.config.aug1, self.config.aug_ratio1, self.scheme),
            build_augmentation(self.config.aug2, self.config.aug_ratio2, self.scheme),
        )

    def views(self, batch: Any, generator: torch.Generator) -> tuple[Any, Any]:
        """The two augmented views of ``batch`` (graph i of one is the positive of graph i of the other)."""
        return augment_pair(batch, self.augmentations, generator)

    def represent(self, view: Any) -> Tensor:
        """Mean-pooled encoder representation of every graph of a view.

        Shapes:
            -> [B, D]
        """
        h = self.encoder(view)  # [N', D]
        return self.pool(h, view.batch, int(view.num_graphs), getattr(view, "ptr", None))

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        return self.contrast(*self.views(batch, generator))

    def contrast(self, view1: Any, view2: Any) -> MethodOutput:
        """The loss and metrics of two views made elsewhere (graph i of one is the positive of graph i of the other).

        ``forward`` makes them with the batched augmentations; a per-graph loader can hand its own
        (``benchmarks/graphcl_epoch.py`` times both ways).
        """
        # one encoder pass per view, as the reference: each view has its own BatchNorm statistics
        g1, g2 = self.represent(view1), self.represent(view2)  # [B, D] each
        z1, z2 = self.projection(g1).float(), self.projection(g2).float()
        if self.config.loss == "graphcl":
            loss = info_nce(z1, z2, self.config.temperature, exclude_positive=True)
        else:
            loss = nt_xent(z1, z2, self.config.temperature)
        with torch.no_grad():
            similarity = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).t()  # [B, B]
            rows = torch.arange(similarity.size(0), device=similarity.device)
            top1 = (similarity.argmax(dim=1) == rows).float().mean()  # positive is the most similar key
        return MethodOutput(loss, {"top1_acc": top1}, embeddings=g1.detach(), embeddings2=g2.detach())


__all__ = ["GRAPHCL_LOSSES", "GraphCL", "GraphCLConfig"]
