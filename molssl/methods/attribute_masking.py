"""Attribute masking (Hu et al., "Strategies for Pre-training Graph Neural Networks", ICLR 2020).

Mask a fraction of each molecule's atoms (their features become the scheme's mask token), encode the
corrupted graph, and predict the masked atoms' types from their node representations. With
``mask_edge`` the bonds touching a masked atom are masked too and their bond types predicted from the
sum of their two atoms' representations. Protocol of the paper: 15% of atoms, at least one per
molecule, a linear head per prediction, cross-entropy. The reference masks ``int(n * rate + 1)``
atoms of an ``n``-atom molecule; here ``ceil(n * rate)`` (at least 1), which is the same count except
when ``n * rate`` is a whole number (e.g. 20 atoms at 15%: 3 here, 4 there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from molssl.augment.masked_atoms import (
    atom_type_classes,
    bond_type_classes,
    mask_attributes,
)
from molssl.methods.base import (
    MethodConfig,
    MethodOutput,
    PretrainMethod,
    accuracy,
    check_fraction,
)
from molssl.nn.encoder import EncoderConfig


@dataclass(frozen=True, kw_only=True)
class AttributeMaskingConfig(MethodConfig):
    """Options of attribute masking.

    Attributes:
        mask_rate: fraction of each molecule's atoms masked (Hu et al.: 0.15): ``ceil(n * rate)`` atoms
            of an ``n``-atom molecule, at least one.
        mask_edge: also mask the bonds of masked atoms and predict their types.
    """

    mask_rate: float = 0.15
    mask_edge: bool = False

    def __post_init__(self) -> None:
        check_fraction("mask_rate", self.mask_rate)
        if not isinstance(self.mask_edge, bool):
            raise ValueError(f"mask_edge must be a bool, got {self.mask_edge!r}")


class AttributeMasking(PretrainMethod):
    """Predict masked atom (and optionally bond) types from the corrupted graph (Hu et al. 2020).

    Shapes:
        batch.x: [N, F_atom], batch.edge_index: [2, E] (bond k as edges 2k and 2k+1),
        batch.ptr: [B + 1] -> loss []
    """

    name = "attr_masking"
    config_class = AttributeMaskingConfig
    collapse_advice = "lower the learning rate (lr), or raise mask_rate (more atoms to tell apart)"

    def __init__(self, encoder_config: EncoderConfig, config: AttributeMaskingConfig | None = None) -> None:
        super().__init__(encoder_config, config)
        dim = self.encoder.out_dim
        self.atom_head = nn.Linear(dim, atom_type_classes(self.scheme))
        self.bond_head = nn.Linear(dim, bond_type_classes(self.scheme)) if self.config.mask_edge else None

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        masked = mask_attributes(batch, self.scheme, self.config.mask_rate, generator, self.config.mask_edge)
        h = self.encoder(masked.batch)  # [N, D]
        logits = self.atom_head(h[masked.atom_index])
        loss = F.cross_entropy(logits.float(), masked.atom_target)
        metrics = {"atom_acc": accuracy(logits, masked.atom_target)}
        if self.bond_head is not None:
            bond_logits = self.bond_head(h[masked.bond_index[0]] + h[masked.bond_index[1]])
            if masked.bond_target.numel():
                bond_loss = F.cross_entropy(bond_logits.float(), masked.bond_target)
                loss = loss + bond_loss
                metrics["bond_loss"] = bond_loss.detach()
            metrics["bond_acc"] = accuracy(bond_logits, masked.bond_target)
        return MethodOutput(loss, metrics, embeddings=h.detach())
