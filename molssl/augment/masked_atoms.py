"""Masking atoms (and their bonds) with the scheme's mask tokens, keeping what was hidden as targets.

Shared by the methods that predict masked attributes: attribute masking (Hu et al., ICLR 2020) and
GraphMAE (Hou et al., KDD 2022). GraphCL's attribute-masking augmentation (``attr_mask``) corrupts
without targets and follows GraphCL's own count (``floor(n * ratio)``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from molssl.chem.schemes import FeaturizationSpec
from molssl.ssl.masking import ratio_mask


def mask_row(scheme: FeaturizationSpec, what: str) -> tuple[int, ...]:
    """The scheme's reserved mask row for ``what`` = ``"atom"`` or ``"bond"`` (one value per feature column)."""
    token = scheme.atom_mask_token if what == "atom" else scheme.bond_mask_token
    if token is None:
        raise ValueError(f"featurization scheme {scheme.label} reserves no {what} mask token ({what}_mask_token)")
    return token


def mask_token(scheme: FeaturizationSpec, what: str, like: Tensor) -> Tensor:
    """The scheme's reserved mask row for atoms or bonds, as a tensor on ``like``'s device and dtype.

    Shapes:
        -> [F] (one value per feature column)
    """
    return torch.tensor(mask_row(scheme, what), dtype=like.dtype, device=like.device)


def replace(batch: Any, **attrs: Tensor) -> Any:
    """A shallow copy of a PyG batch with some attributes replaced (the input batch is left as it was)."""
    out = copy.copy(batch)
    for name, value in attrs.items():
        setattr(out, name, value)
    return out


def atom_type_classes(scheme: FeaturizationSpec) -> int:
    """Number of real atom types: the mask token is the last value of the first atom column."""
    return int(mask_row(scheme, "atom")[0])


def bond_type_classes(scheme: FeaturizationSpec) -> int:
    """Number of real bond types: the first column's values below its reserved tokens."""
    reserved = [int(mask_row(scheme, "bond")[0])]
    if scheme.self_loop_token is not None:
        reserved.append(int(scheme.self_loop_token[0]))
    return min(reserved)


@dataclass(frozen=True)
class MaskedBatch:
    """A batch with some atoms (and bonds) masked, and what the heads must predict.

    Attributes:
        batch: the corrupted batch (masked rows hold the scheme's mask tokens).
        atom_index: the masked atoms (global indices), the rows the atom loss scores.
        atom_target: their true atom types.
        bond_index: the masked bonds as [2, M_b] atom pairs (one direction per bond), or empty.
        bond_target: their true bond types.

    Shapes:
        atom_index, atom_target: [M_a]; bond_index: [2, M_b]; bond_target: [M_b]
    """

    batch: Any
    atom_index: Tensor
    atom_target: Tensor
    bond_index: Tensor
    bond_target: Tensor


def mask_attributes(batch: Any, scheme: FeaturizationSpec, rate: float, generator: torch.Generator, mask_edge: bool = False) -> MaskedBatch:
    """Mask ``ceil(rate * n)`` (at least one) random atoms of every molecule, and optionally their bonds.

    The batch's bonds must be stored as consecutive edge pairs (bond k = edges 2k and 2k+1), as
    ``molssl`` featurization and batching store them. The input batch is not modified.
    """
    x, edge_index, edge_attr = batch.x, batch.edge_index, batch.edge_attr
    masked = ratio_mask(batch.ptr, rate, num_elements=x.size(0), rounding="ceil", generator=generator)  # [N]
    atom_index = masked.nonzero().view(-1)
    atom_target = x[atom_index, 0]
    x = torch.where(masked[:, None], mask_token(scheme, "atom", x), x)
    bonds = edge_index[:, 0::2]  # [2, E / 2]
    if mask_edge:
        bond_masked = masked[bonds[0]] | masked[bonds[1]]  # a bond of a masked atom is masked too
        edge_attr = torch.where(bond_masked.repeat_interleave(2)[:, None], mask_token(scheme, "bond", edge_attr), edge_attr)
    else:
        bond_masked = torch.zeros(bonds.size(1), dtype=torch.bool, device=x.device)
    bond_target = batch.edge_attr[0::2][bond_masked, 0]
    return MaskedBatch(replace(batch, x=x, edge_attr=edge_attr), atom_index, atom_target, bonds[:, bond_masked], bond_target)
