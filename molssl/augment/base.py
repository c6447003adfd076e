"""What a graph augmentation is: a frozen, validated config that maps a batch to an augmented batch."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch_geometric.data import Batch


@dataclass(frozen=True, kw_only=True)
class Augmentation(ABC):
    """Base of the GraphCL augmentations (You et al., "Graph Contrastive Learning with Augmentations",
    NeurIPS 2020), each run on a whole collated batch at once.

    A subclass is a frozen dataclass whose fields are its configuration (plain data, validated in
    ``__post_init__``) and whose ``__call__`` returns a new batch: the input is never modified,
    ``num_graphs`` and per-graph attributes (``y``) are unchanged, and the result is well formed (no
    dangling edges, both directions of a kept bond kept, ``edge_attr`` aligned with ``edge_index``,
    ``batch``/``ptr`` consistent). All randomness comes from ``generator``, so the same generator
    state gives the same views; its random numbers are drawn on the generator's device.
    """

    name: ClassVar[str]

    @abstractmethod
    def __call__(self, batch: Batch, generator: torch.Generator) -> Batch:
        """The augmented view of every graph of ``batch``."""

    def to_dict(self) -> dict[str, Any]:
        """The augmentation as plain data: its registry name and its options."""
        return {"name": self.name, **dataclasses.asdict(self)}


__all__ = ["Augmentation"]
