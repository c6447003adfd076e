"""Edge prediction (Hu et al., "Strategies for Pre-training Graph Neural Networks", ICLR 2020).

The node representations of bonded atoms should score high and those of sampled non-bonded atom pairs
of the same molecule low: score(u, v) = <h_u, h_v>, binary cross-entropy (the ``NegativeEdge`` transform
and ``pretrain_edgepred.py`` of pretrain-gnns; Hamilton et al. 2017). As the reference, each molecule
gets as many negatives as it has bonds, drawn uniformly from its ordered atom pairs that are neither a
bond nor a self pair, without repeats; a molecule with fewer such pairs gets all it has. Sampling here
is vectorized over the batch: ``candidates`` pairs per bond are drawn, and the first valid ones kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from molssl.methods.base import (
    MethodConfig,
    MethodOutput,
    PretrainMethod,
    binary_accuracy,
    check_positive_int,
)
from molssl.ssl.losses import bce_mi_loss


@dataclass(frozen=True, kw_only=True)
class EdgePredictionConfig(MethodConfig):
    """Options of edge prediction.

    Attributes:
        candidates: random atom pairs drawn per bond, of which the valid ones become negatives
            (the reference draws 5 per directed edge and keeps up to one per bond).
    """

    candidates: int = 5

    def __post_init__(self) -> None:
        check_positive_int("candidates", self.candidates)


def sample_non_edges(edge_index: Tensor, ptr: Tensor, generator: torch.Generator, candidates: int = 5,
                     num_nodes: int | None = None) -> Tensor:  # fmt: skip
    """Random atom pairs of the same molecule that are not bonds, one per bond of the molecule at most.

    Args:
        edge_index: [2, E] global directed edges, both directions of every bond (bond k = edges 2k, 2k+1).
        ptr: [B + 1] atom offsets of the molecules.
        generator: source of randomness.
        candidates: pairs drawn per bond before filtering.
        num_nodes: ``ptr[-1]`` (``batch.num_nodes``); ``None`` reads it from ``ptr``, a device synchronization.

    Returns:
        [2, K] global (u, v) pairs, u != v, (u, v) not an edge, no pair twice, at most as many pairs
        per molecule as it has bonds.
    """
    device = edge_index.device
    num_nodes = int(ptr[-1]) if num_nodes is None else num_nodes
    bonds = edge_index[:, 0::2]  # [2, E/2]
    if bonds.size(1) == 0:
        return edge_index.new_zeros((2, 0))
    graph_of_atom = torch.repeat_interleave(torch.arange(ptr.numel() - 1, device=device), ptr.diff())
    bond_graph = graph_of_atom[bonds[0]]  # [E/2], non-decreasing
    cand_graph = bond_graph.repeat_interleave(candidates)  # [C] grouped by molecule
    start, size = ptr[:-1][cand_graph], ptr.diff()[cand_graph]
    u = start + (torch.rand(cand_graph.shape, generator=generator, device=device) * size).long()
    v = start + (torch.rand(cand_graph.shape, generator=generator, device=device) * size).long()
    key = u * num_nodes + v
    edge_keys = torch.sort(edge_index[0] * num_nodes + edge_index[1]).values
    pos = torch.searchsorted(edge_keys, key).clamp(max=edge_keys.numel() - 1)
    valid = (u != v) & (edge_keys[pos] != key)
    # drop repeats: keep the first draw of each pair (stable sort keeps draw order among equal keys)
    order = torch.sort(key, stable=True).indices
    repeat = torch.zeros_like(valid)
    sorted_key = key[order]
    repeat[order[1:]] = sorted_key[1:] == sorted_key[:-1]
    valid &= ~repeat
    # keep at most (number of bonds) valid draws per molecule, in draw order
    num_graphs = ptr.numel() - 1
    bonds_per_graph = torch.bincount(bond_graph, minlength=num_graphs)
    draws_per_graph = bonds_per_graph * candidates
    valid_before = torch.cat([valid.new_zeros(1, dtype=torch.long), torch.cumsum(valid.long(), 0)])  # [C + 1]
    graph_start = torch.cumsum(draws_per_graph, 0) - draws_per_graph  # first draw of each molecule
    rank = valid_before[1:] - 1 - valid_before[graph_start][cand_graph]  # rank among the molecule's valid draws
    keep = valid & (rank < bonds_per_graph[cand_graph])
    return torch.stack([u[keep], v[keep]])


class EdgePrediction(PretrainMethod):
    """Score bonds above sampled non-bonds with inner products of node representations (Hu et al. 2020).

    Shapes:
        batch.edge_index: [2, E] (bond k as edges 2k and 2k+1), batch.ptr: [B + 1] -> loss []
    """

    name = "edge_pred"
    config_class = EdgePredictionConfig
    collapse_advice = "lower the learning rate (lr), or raise candidates (more non-bonds to tell apart)"

    def forward(self, batch: Any, generator: torch.Generator) -> MethodOutput:
        h = self.encoder(batch)  # [N, D]
        positive_pairs = batch.edge_index[:, 0::2]
        negative_pairs = sample_non_edges(batch.edge_index, batch.ptr, generator, self.config.candidates, h.size(0))
        positive = (h[positive_pairs[0]] * h[positive_pairs[1]]).sum(-1).float()
        negative = (h[negative_pairs[0]] * h[negative_pairs[1]]).sum(-1).float()
        loss = bce_mi_loss(positive, negative)
        metrics = {"acc": binary_accuracy(positive, negative), "negatives": h.new_tensor(float(negative.numel()))}
        return MethodOutput(loss, metrics, embeddings=h.detach())
