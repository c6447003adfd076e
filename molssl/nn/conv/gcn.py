"""GCN layer with bond features and symmetric normalization (Kipf & Welling 2017), as Hu et al. and OGB."""

from __future__ import annotations

from typing import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from molssl.nn.conv.self_loops import SelfLoopEmbedding, add_self_loops, self_loop_order
from molssl.nn.embeddings import BondEmbedding
from molssl.ops import SegmentOrder, scatter


class GCNConv(nn.Module):
    """Graph convolution with bond embeddings added to messages and symmetric degree normalization.

    Kipf & Welling, "Semi-Supervised Classification with Graph Convolutional Networks" (ICLR 2017),
    with the edge features of Hu et al., "Strategies for Pre-training Graph Neural Networks" (ICLR
    2020). With ``d_i = 1 + in-degree(i)`` (self-loop counted) and ``W`` a linear map::

        scheme with a self-loop token (hu):  h_i' = sum_{j in N(i) ∪ {i}} (W h_j + e_ji) / sqrt(d_i d_j)
        scheme without one (ogb, OGB's GCNConv):
                                             h_i' = sum_{j in N(i) ∪ {i}} ReLU(W h_j + e_ji) / sqrt(d_i d_j)

    where ``e_ii`` is the embedded self-loop token (hu) or a learned vector (ogb; OGB's ``root_emb``,
    whose separate ``ReLU(W h_i + root) / d_i`` term is exactly the self-loop edge of this sum).

    ``order``, the ``SegmentOrder`` of ``edge_index[1]`` (the encoder computes it once per batch), lets
    the Triton kernels aggregate without atomics or per-call sorts; the layer extends it to the
    self-loop edges it appends (``self_loop_order``, no sort).

    Args:
        dim: node and bond embedding size D.
        bond_vocab: the scheme's ``bond_vocab``.
        self_loop_token: the scheme's ``self_loop_token`` (``None`` selects the OGB form).

    Shapes:
        x: [N, D], edge_index: [2, E], edge_attr: [E, F_bond] (long), order: perm [E], ptr [N + 1] -> [N, D]
    """

    def __init__(self, dim: int, bond_vocab: Sequence[int], self_loop_token: Sequence[int] | None = None) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        self.bond_embedding = BondEmbedding(bond_vocab, dim)
        self.self_loop = SelfLoopEmbedding(dim, bond_vocab, self_loop_token)
        self.relu_messages = self_loop_token is None

    @property
    def variant(self) -> str:
        """``"hu"`` (linear messages) or ``"ogb"`` (ReLU messages, learned self-loop vector)."""
        return "ogb" if self.relu_messages else "hu"

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, order: SegmentOrder | None = None) -> Tensor:
        num_nodes = x.size(0)
        x = self.linear(x)
        edge_index, edge_embedding = add_self_loops(
            edge_index, self.bond_embedding(edge_attr), self.self_loop(self.bond_embedding), num_nodes
        )
        order = None if order is None else self_loop_order(order)  # the order of the [E + N] targets
        source, target = edge_index  # [E + N] each
        if order is None:
            degree = scatter(x.new_ones(target.size(0)), target, dim_size=num_nodes, reduce="sum")  # [N], >= 1
        else:  # the segment sizes are the degrees (exact: small integers)
            degree = order.ptr.diff().to(x.dtype)
        inv_sqrt = degree.rsqrt()
        norm = (inv_sqrt.index_select(0, source) * inv_sqrt.index_select(0, target)).unsqueeze(-1)  # [E + N, 1]
        messages = x.index_select(0, source) + edge_embedding
        if self.relu_messages:
            messages = F.relu(messages)
        return scatter(norm * messages, target, dim_size=num_nodes, reduce="sum", order=order)
