"""GraphCL's edge perturbation: drop a fraction of each graph's bonds, optionally add random non-bonds.

You et al., "Graph Contrastive Learning with Augmentations" (NeurIPS 2020), ``permute_edges``. In the
reference's molecular transfer-learning code (``transferLearning_MoleculeNet_PPI/chem/loader.py``) it
removes ``int(E * aug_ratio)`` of the E *directed* edges, one direction at a time, and appends as many
random directed node pairs (self-loops and existing bonds included) to ``edge_index`` only, so
``edge_attr`` no longer lines up with the edges. Here bonds are dropped as undirected pairs (both
directions together) and ``edge_attr`` stays aligned; adding edges is opt-in (``add_ratio``), draws
node pairs that are not bonded in the input molecule, and gives them an explicit bond feature row.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor
from torch_geometric.data import Batch

from molssl.augment.base import Augmentation, check_feature_row
from molssl.augment.sampling import (
    choose_fraction,
    choose_per_segment,
    ratio_count,
    segment_sizes,
)
from molssl.graph.subgraph import filter_edges
from molssl.ssl.checks import check_fraction

# attributes the edge addition rebuilds itself; any other edge-level attribute cannot be extended
_CORE_KEYS = ("x", "edge_index", "edge_attr", "batch", "ptr")


def check_bond_pairs(edge_index: Tensor) -> None:
    """Raise ``ValueError`` unless edges ``2k`` and ``2k + 1`` are the two directions of bond ``k``.

    This is the layout of every molssl featurization and batch (bond k gives edges 2k, 2k + 1);
    a batch with self-loops or one-directional edges added does not have it.
    """
    num_edges = edge_index.shape[1]
    if num_edges % 2 or not torch.equal(edge_index[:, 0::2], edge_index.flip(0)[:, 1::2]):
        raise ValueError(
            "edge perturbation needs both directions of every bond as consecutive edges 2k, 2k + 1 "
            "(molssl's layout); augment the batch before adding self-loops or other edges"
        )


def non_bonded_pairs(edge_index: Tensor, ptr: Tensor) -> Tensor:
    """Every unordered pair of distinct atoms of the same graph that no edge joins, as ``(a, b)``, a < b.

    Enumerates all ``n (n - 1) / 2`` pairs of every graph at once (memory grows with the square of
    the largest molecules; small for drug-like ones), then removes the bonded ones.

    Shapes:
        edge_index: [2, E] (global), ptr: [B + 1] -> [2, P] (global atom indices, grouped by graph)
    """
    device = edge_index.device
    num_atoms = int(ptr[-1])
    atom = torch.arange(num_atoms, device=device)
    graph_end = torch.repeat_interleave(ptr[1:], ptr.diff())  # [A] one past the last atom of its graph
    partners = graph_end - 1 - atom  # [A] atoms after this one in its graph
    first = torch.repeat_interleave(atom, partners)  # [P]
    block_start = torch.cumsum(partners, 0) - partners
    second = first + 1 + torch.arange(first.numel(), device=device) - torch.repeat_interleave(block_start, partners)
    pair_key = first * num_atoms + second  # [P]
    bond_key = torch.sort(edge_index.min(dim=0).values * num_atoms + edge_index.max(dim=0).values).values  # [E]
    if bond_key.numel():
        bonded = bond_key[torch.searchsorted(bond_key, pair_key).clamp_max_(bond_key.numel() - 1)] == pair_key
    else:
        bonded = torch.zeros_like(pair_key, dtype=torch.bool)
    return torch.stack([first[~bonded], second[~bonded]])


@dataclass(frozen=True, kw_only=True)
class EdgePerturb(Augmentation):
    """Drop ``floor(m * ratio)`` random bonds of each ``m``-bond graph; optionally add random non-bonds.

    A dropped bond loses both its directed edges. With ``add_ratio > 0``, ``min(floor(m * add_ratio),
    available)`` pairs of atoms of the same graph that are not bonded in the input are joined by a new
    bond (both directions, consecutive, after the graph's kept edges) whose features are
    ``add_bond_attr``; GraphCL adds as many as it drops (``add_ratio = ratio``). Atoms are untouched.

    Attributes:
        ratio: fraction of each graph's bonds dropped, in [0, 1) (GraphCL's ``aug_ratio``: 0.2).
        add_ratio: bonds added, as a fraction of the graph's input bonds, in [0, 1); 0 = drop only.
        add_bond_attr: the feature row of an added bond, one value per bond column (e.g. ``(0, 0)``, a
            plain single bond in ``hu``, or the scheme's ``bond_mask_token``); required with
            ``add_ratio > 0``.

    Shapes:
        batch.edge_index: [2, E], batch.edge_attr: [E, F_bond] -> edge_index: [2, E'], edge_attr: [E', F_bond]
    """

    name: ClassVar[str] = "edge_perturb"
    ratio: float = 0.2
    add_ratio: float = 0.0
    add_bond_attr: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        check_fraction("ratio", self.ratio, low_open=False)
        check_fraction("add_ratio", self.add_ratio, low_open=False)
        row = self.add_bond_attr
        if row is not None:
            row = check_feature_row("add_bond_attr", row, "bond")
            object.__setattr__(self, "add_bond_attr", row)
        if self.add_ratio > 0 and row is None:
            raise ValueError("add_ratio > 0 needs add_bond_attr, the bond feature row of an added bond")

    def dropped_bonds(self, batch: Batch, generator: torch.Generator) -> Tensor:
        """Which bonds (edge pairs) this call drops: exactly ``floor(m * ratio)`` of each graph.

        Shapes:
            -> [E / 2] (bool, bond k = edges 2k and 2k + 1)
        """
        bond_graph = batch.batch[batch.edge_index[0, 0::2]]  # [E / 2]
        return choose_fraction(bond_graph, batch.num_graphs, self.ratio, generator)

    def __call__(self, batch: Batch, generator: torch.Generator) -> Batch:
        check_bond_pairs(batch.edge_index)
        dropped = self.dropped_bonds(batch, generator)  # [E / 2]
        out, _ = filter_edges(batch, (~dropped).repeat_interleave(2))
        if self.add_ratio > 0:
            out = self._add_bonds(batch, out, generator)
        return out

    def _add_bonds(self, batch: Batch, dropped: Batch, generator: torch.Generator) -> Batch:
        """``dropped`` plus new bonds between atoms not bonded in ``batch``, grouped by graph."""
        edge_attr = dropped.edge_attr
        if edge_attr.dim() != 2 or edge_attr.shape[1] != len(self.add_bond_attr):
            raise ValueError(
                f"add_bond_attr {self.add_bond_attr} has {len(self.add_bond_attr)} values but the bonds have "
                f"{edge_attr.shape[1] if edge_attr.dim() == 2 else tuple(edge_attr.shape)} feature columns"
            )
        num_graphs = batch.num_graphs
        kept_edges = dropped.edge_index.shape[1]
        slices = dropped._slice_dict
        for key, value in dropped:
            if key in _CORE_KEYS or not isinstance(value, Tensor) or value.dim() == 0:
                continue
            own = slices.get(key)
            if own is not None and value.shape[0] == kept_edges and torch.equal(own, slices["edge_index"]):
                raise ValueError(f"cannot add edges to a batch with the edge-level attribute {key!r}; use add_ratio=0")
        pairs = non_bonded_pairs(batch.edge_index, batch.ptr)  # [2, P]
        pair_graph = batch.batch[pairs[0]]
        bonds = segment_sizes(batch.batch[batch.edge_index[0, 0::2]], num_graphs)
        chosen = choose_per_segment(pair_graph, num_graphs, ratio_count(bonds, self.add_ratio), generator)
        first, second = pairs[:, chosen]  # [K] each
        added = torch.stack([torch.stack([first, second], 1).view(-1), torch.stack([second, first], 1).view(-1)])
        edge_index = torch.cat([dropped.edge_index, added], dim=1)  # [2, E' + 2K]
        added_attr = torch.tensor(self.add_bond_attr, dtype=edge_attr.dtype, device=edge_attr.device)
        edge_attr = torch.cat([edge_attr, added_attr.expand(added.shape[1], -1)])
        # a stable sort by graph keeps each graph's kept edges first and each new bond's two edges adjacent
        edge_graph = batch.batch[edge_index[0]]
        order = torch.sort(edge_graph, stable=True).indices
        edge_ptr = torch.zeros(num_graphs + 1, dtype=torch.long, device=edge_graph.device)
        torch.cumsum(segment_sizes(edge_graph, num_graphs), 0, out=edge_ptr[1:])
        out = copy.copy(dropped)
        out.edge_index = edge_index[:, order]
        out.edge_attr = edge_attr[order]
        out._slice_dict = {**slices, "edge_index": edge_ptr, "edge_attr": edge_ptr}
        return out


__all__ = ["EdgePerturb", "check_bond_pairs", "non_bonded_pairs"]
