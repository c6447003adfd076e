"""GraphCL's attribute masking: a fraction of each graph's atoms get the scheme's mask token.

You et al., "Graph Contrastive Learning with Augmentations" (NeurIPS 2020), ``mask_nodes``. The
reference overwrites ``int(n * aug_ratio)`` atoms of each graph with the mean feature vector, which
for integer (categorical) molecular features is not a valid atom; here they get the featurization
scheme's reserved mask row (``FeaturizationSpec.atom_mask_token``) instead, never a random value.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch_geometric.data import Batch

from molssl.augment.base import Augmentation, check_feature_row
from molssl.augment.masked_atoms import mask_row
from molssl.augment.sampling import choose_fraction
from molssl.chem.schemes import FeaturizationSpec, get_spec
from molssl.ssl.checks import check_fraction


@dataclass(frozen=True, kw_only=True)
class AttrMask(Augmentation):
    """Replace the features of ``floor(n * ratio)`` random atoms of every graph by the mask token.

    Graph structure, edges and bond features are untouched. Build it from a scheme with
    ``AttrMask.from_scheme(scheme, ratio)``.

    Attributes:
        mask_token: the row written into a masked atom, one value per atom feature column
            (``FeaturizationSpec.atom_mask_token``; ``(119, 0)`` for ``hu``).
        ratio: fraction of each graph's atoms masked, in [0, 1) (GraphCL's ``aug_ratio``: 0.2).

    Shapes:
        batch.x: [A, F_atom] -> x: [A, F_atom] (masked rows equal ``mask_token``)
    """

    name: ClassVar[str] = "attr_mask"
    mask_token: tuple[int, ...]
    ratio: float = 0.2

    def __post_init__(self) -> None:
        check_fraction("ratio", self.ratio, low_open=False)
        token = check_feature_row("mask_token", self.mask_token, "atom", " (the spec's atom_mask_token)")
        object.__setattr__(self, "mask_token", token)

    @classmethod
    def from_scheme(cls, scheme: str | FeaturizationSpec, ratio: float = 0.2) -> AttrMask:
        """Attribute masking with the atom mask token of ``scheme`` (a name or a ``FeaturizationSpec``)."""
        return cls(mask_token=mask_row(get_spec(scheme), "atom"), ratio=ratio)

    def mask(self, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        """Which atoms this call masks: exactly ``floor(n * ratio)`` of each graph, uniformly.

        Shapes:
            -> [A] (bool)
        """
        return choose_fraction(batch.batch, batch.num_graphs, self.ratio, generator)

    def __call__(self, batch: Batch, generator: torch.Generator) -> Batch:
        x = batch.x
        if x.dim() != 2 or x.shape[1] != len(self.mask_token):
            raise ValueError(
                f"mask_token {self.mask_token} has {len(self.mask_token)} values but the atoms have "
                f"{x.shape[1] if x.dim() == 2 else tuple(x.shape)} feature columns; build AttrMask from "
                "the batch's own featurization scheme (AttrMask.from_scheme)"
            )
        masked = self.mask(batch, generator)  # [A]
        token = torch.tensor(self.mask_token, dtype=x.dtype, device=x.device)  # [F_atom]
        out = copy.copy(batch)  # shares every other tensor; the input batch keeps its x
        out.x = torch.where(masked[:, None], token, x)
        return out


__all__ = ["AttrMask"]
