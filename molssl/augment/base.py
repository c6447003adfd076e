"""What a graph augmentation is: a frozen, validated config that maps a batch to an augmented batch."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch_geometric.data import Batch

from molssl.graph.subgraph import induced_subgraph
from molssl.ssl.checks import check_fraction


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


def check_feature_row(name: str, value: object, columns: str, hint: str = "") -> tuple[int, ...]:
    """``value`` as the feature row it must be: a non-empty sequence of non-negative ints.

    Args:
        name: the option's name, for the error message.
        value: the option's value.
        columns: whose feature columns the row fills (``"atom"`` or ``"bond"``), for the message.
        hint: appended to "must be a sequence of ints" (where to find a valid row).

    Raises:
        ValueError: for anything else (a string, a number, an empty row, a negative or non-int value).
    """
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{name} must be a sequence of ints{hint}, got {value!r}")
    row = tuple(value)
    if not row or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in row):
        raise ValueError(f"{name} must be non-negative ints, one per {columns} feature column, got {row!r}")
    return row


@dataclass(frozen=True, kw_only=True)
class AtomRemoval(Augmentation):
    """Base of the augmentations that remove ``floor(n * ratio)`` atoms of every ``n``-atom graph.

    A subclass chooses which atoms stay (``kept_atoms``); the view is the subgraph they induce: kept
    atoms keep their order, the bonds among them are kept and relabelled, every other bond goes.
    Since ``ratio < 1`` a non-empty graph keeps at least one atom (an empty graph stays empty).

    Attributes:
        ratio: fraction of each graph's atoms removed, in [0, 1) (GraphCL's ``aug_ratio``: 0.2).

    Shapes:
        batch.x: [A, F_atom], batch.edge_index: [2, E] -> x: [A', F_atom], edge_index: [2, E'], ptr: [B + 1]
    """

    ratio: float = 0.2

    def __post_init__(self) -> None:
        check_fraction("ratio", self.ratio, low_open=False)

    @abstractmethod
    def kept_atoms(self, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        """Which atoms this call keeps: ``n - floor(n * ratio)`` of every graph.

        Shapes:
            -> [A] (bool)
        """

    def __call__(self, batch: Batch, generator: torch.Generator) -> Batch:
        out, _ = induced_subgraph(batch, self.kept_atoms(batch, generator))
        return out


__all__ = ["AtomRemoval", "Augmentation", "check_feature_row"]
