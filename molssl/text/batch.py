"""``TokenBatch``: padded token ids of a batch of SMILES (one or several views of each molecule)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

import torch
from torch import Tensor

from molssl.text.tokenizer import SmilesTokenizer


def pad_ids(sequences: Sequence[Sequence[int]], pad_id: int = SmilesTokenizer.pad_id) -> Tensor:
    """Right-pad id lists to the longest one.

    Shapes:
        -> [N, L_max] int64
    """
    length = max((len(s) for s in sequences), default=0)
    out = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    for row, ids in enumerate(sequences):
        out[row, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
    return out


@dataclass
class TokenBatch:
    """Token ids of B molecules, each written ``views`` times (randomized SMILES), with optional labels.

    Attributes:
        ids: [V * B, L] int64; row ``v * B + i`` is view ``v`` of molecule ``i``; ``[PAD]`` (0) after the end.
        views: number of views V.
        y: [B, T] labels (fine-tuning) or None.
        index: [B] int64 positions of the molecules in their source, or None.
    """

    ids: Tensor
    views: int = 1
    y: Tensor | None = None
    index: Tensor | None = None
    modality: ClassVar[str] = "text"

    def __post_init__(self) -> None:
        if self.ids.dim() != 2 or self.ids.size(0) % self.views:
            raise ValueError(f"ids must be [views * B, L] with views={self.views}, got shape {tuple(self.ids.shape)}")

    @property
    def num_molecules(self) -> int:
        """B, the number of molecules (not rows)."""
        return self.ids.size(0) // self.views

    num_graphs = num_molecules  # the name the fine-tuning loop reads off every batch

    @property
    def attention_mask(self) -> Tensor:
        """[V * B, L] bool, True at real tokens."""
        return self.ids != SmilesTokenizer.pad_id

    def view(self, v: int) -> Tensor:
        """Ids of view ``v`` of every molecule, [B, L] (trailing all-padding columns kept)."""
        if not 0 <= v < self.views:
            raise IndexError(f"view {v} of a batch with {self.views} views")
        b = self.num_molecules
        return self.ids[v * b : (v + 1) * b]

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "TokenBatch":
        move = lambda t: None if t is None else t.to(device, non_blocking=non_blocking)  # noqa: E731
        return TokenBatch(move(self.ids), self.views, move(self.y), move(self.index))
