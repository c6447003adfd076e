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

from molssl.augment.base import Augmentation
from molssl.augment.sampling import (
    check_ratio,
    choose_per_segment,
    ratio_count,
    segment_sizes,
)
from molssl.graph.subgraph import induced_subgraph


@dataclass(frozen=True, kw_only=True)
class NodeDrop(Augmentation):
    """Drop ``floor(n * ratio)`` uniformly random atoms of every ``n``-atom graph and their bonds.

    Since ``ratio < 1`` the count is at most ``n - 1``: every non-empty graph keeps at least one atom
    (an empty graph stays empty). Kept atoms keep their order; edges are relabelled.

    Attributes:
        ratio: fraction of each graph's atoms dropped, in [0, 1) (GraphCL's ``aug_ratio``: 0.2).

    Shapes:
        batch.x: [A, F_atom], batch.edge_index: [2, E] -> x: [A', F_atom], edge_index: [2, E'], ptr: [B + 1]
    """

    name: ClassVar[str] = "node_drop"
    ratio: float = 0.2

    def __post_init__(self) -> None:
        check_ratio("ratio", self.ratio)

    def dropped_atoms(self, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        """Which atoms this call drops: exactly ``floor(n * ratio)`` of each graph, uniformly.

        Shapes:
            -> [A] (bool)
        """
        counts = ratio_count(segment_sizes(batch.batch, batch.num_graphs), self.ratio)
        return choose_per_segment(batch.batch, batch.num_graphs, counts, generator)

    def __call__(self, batch: Batch, generator: torch.Generator) -> Batch:
        out, _ = induced_subgraph(batch, ~self.dropped_atoms(batch, generator))
        return out


__all__ = ["NodeDrop"]
