"""GraphSAGE layer with bond features and mean aggregation (Hamilton et al. 2017), as Hu et al."""

from __future__ import annotations

from typing import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from molssl.nn.conv.self_loops import SelfLoopEmbedding, add_self_loops, self_loop_order
from molssl.nn.embeddings import BondEmbedding
from molssl.ops import SegmentOrder, scatter


class SAGEConv(nn.Module):
    """GraphSAGE-mean with bond embeddings added to messages and L2-normalized output.

    Hamilton et al., "Inductive Representation Learning on Large Graphs" (NeurIPS 2017), in the form
    of Hu et al., "Strategies for Pre-training Graph Neural Networks" (ICLR 2020)::

        h_i' = normalize( mean_{j in N(i) ∪ {i}} (W h_j + e_ji) )

    where ``e_ii`` is the embedded self-loop token of the scheme (hu) or, for a scheme without one
    (ogb), a learned vector.

    ``order``, the ``SegmentOrder`` of ``edge_index[1]`` (the encoder computes it once per batch), lets
    the Triton kernels aggregate without atomics or per-call sorts; the layer extends it to the
    self-loop edges it appends (``self_loop_order``, no sort).

    Args:
        dim: node and bond embedding size D.
        bond_vocab: the scheme's ``bond_vocab``.
        self_loop_token: the scheme's ``self_loop_token`` (``None``: learned self-loop vector).

    Shapes:
        x: [N, D], edge_index: [2, E], edge_attr: [E, F_bond] (long), order: perm [E], ptr [N + 1] -> [N, D]
    """

    def __init__(self, dim: int, bond_vocab: Sequence[int], self_loop_token: Sequence[int] | None = None) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        self.bond_embedding = BondEmbedding(bond_vocab, dim)
        self.self_loop = SelfLoopEmbedding(dim, bond_vocab, self_loop_token)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, order: SegmentOrder | None = None) -> Tensor:
        num_nodes = x.size(0)
        x = self.linear(x)
        edge_index, edge_embedding = add_self_loops(
            edge_index, self.bond_embedding(edge_attr), self.self_loop(self.bond_embedding), num_nodes
        )
        order = None if order is None else self_loop_order(order)  # the order of the [E + N] targets
        messages = x.index_select(0, edge_index[0]) + edge_embedding  # [E + N, D]
        out = scatter(messages, edge_index[1], dim_size=num_nodes, reduce="mean", order=order)  # [N, D]
        return F.normalize(out, p=2, dim=-1)
