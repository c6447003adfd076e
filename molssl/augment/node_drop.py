"""GraphCL's node dropping: remove a random fraction of each graph's atoms together with their bonds.

You et al., "Graph Contrastive Learning with Augmentations" (NeurIPS 2020), ``drop_nodes``: each
``n``-atom graph loses ``int(n * aug_ratio)`` uniformly chosen atoms and every edge touching them. The
same here, for all graphs of a batch at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch_geometric.data import Batch

from molssl.augment.base import AtomRemoval
from molssl.augment.sampling import choose_fraction


@dataclass(frozen=True, kw_only=True)
class NodeDrop(AtomRemoval):
    """Drop ``floor(n * ratio)`` uniformly random atoms of every ``n``-atom graph and their bonds.

    ``ratio`` (in [0, 1), GraphCL's ``aug_ratio``: 0.2) and the kept subgraph are those of ``AtomRemoval``.
    """

    name: ClassVar[str] = "node_drop"

    def dropped_atoms(self, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        """Which atoms this call drops: exactly ``floor(n * ratio)`` of each graph, uniformly.

        Shapes:
            -> [A] (bool)
        """
        return choose_fraction(batch.batch, batch.num_graphs, self.ratio, generator)

    def kept_atoms(self, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        return ~self.dropped_atoms(batch, generator)


__all__ = ["NodeDrop"]
