"""GAT layer with bond features in the attention scores (Velickovic et al. 2018), as Hu et al."""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from molssl.nn.conv.self_loops import SelfLoopEmbedding, add_self_loops, self_loop_order
from molssl.nn.embeddings import BondEmbedding
from molssl.ops import SegmentOrder, scatter, segment_softmax

#: how attention scores are normalized over a node's incoming edges
GAT_SOFTMAXES = ("standard", "pretrain_gnns_legacy")
#: pretrain-gnns' (PyG 1.0.3) epsilon in the softmax denominator
_LEGACY_EPSILON = 1e-16


class GATConv(nn.Module):
    """Multi-head graph attention whose messages and scores include bond embeddings.

    Velickovic et al., "Graph Attention Networks" (ICLR 2018), with the edge features of Hu et al.,
    "Strategies for Pre-training Graph Neural Networks" (ICLR 2020). For each head k, with ``W`` a
    linear map to H heads of size D and ``e_ji^k`` the bond embedding's k-th slice::

        m_ji^k     = W^k h_j + e_ji^k
        a_ji^k     = softmax_{j in N(i) ∪ {i}} LeakyReLU( att^k · [W^k h_i || m_ji^k] )
        h_i'       = mean_k sum_j a_ji^k m_ji^k + b

    The softmax runs over the edges entering node i (``segment_softmax`` at the target). Self-loops
    carry the embedded self-loop token (hu) or a learned vector (schemes without one, e.g. ogb).

    ``softmax="pretrain_gnns_legacy"`` computes the softmax as the released pretrain-gnns models were
    trained with (PyG 1.0.3's ``softmax`` over torch-scatter 1.1.2's ``scatter_max``, which starts
    from 0): with ``s_ji`` the LeakyReLU scores of node i and ``c_i = max(0, max_j s_ji)``::

        a_ji = exp(s_ji - c_i) / (sum_j exp(s_ji - c_i) + 1e-16)

    When all of a node's scores are far below 0 the weights are ~0 rather than summing to 1, and the
    node's output is about the bias; the released GAT weights depend on it (see ``molssl.zoo``).

    ``order``, the ``SegmentOrder`` of ``edge_index[1]`` (the encoder computes it once per batch), lets
    the Triton kernels aggregate without atomics or per-call sorts; the layer extends it to the
    self-loop edges it appends (``self_loop_order``, no sort).

    Args:
        dim: node embedding size D.
        bond_vocab: the scheme's ``bond_vocab``.
        self_loop_token: the scheme's ``self_loop_token`` (``None``: learned self-loop vector).
        heads: number of attention heads H (Hu et al.: 2).
        negative_slope: slope of the LeakyReLU on the scores.
        softmax: ``"standard"`` or ``"pretrain_gnns_legacy"`` (the normalization above), one of
            ``GAT_SOFTMAXES``.

    Shapes:
        x: [N, D], edge_index: [2, E], edge_attr: [E, F_bond] (long), order: perm [E], ptr [N + 1] -> [N, D]
    """

    def __init__(
        self,
        dim: int,
        bond_vocab: Sequence[int],
        self_loop_token: Sequence[int] | None = None,
        heads: int = 2,
        negative_slope: float = 0.2,
        softmax: str = "standard",
    ) -> None:
        super().__init__()
        if heads < 1:
            raise ValueError(f"heads must be at least 1, got {heads}")
        if softmax not in GAT_SOFTMAXES:
            raise ValueError(f"unknown GAT softmax {softmax!r}; valid: {', '.join(GAT_SOFTMAXES)}")
        self.softmax = softmax
        self.dim = dim
        self.heads = heads
        self.negative_slope = negative_slope
        self.linear = nn.Linear(dim, heads * dim)
        self.att = nn.Parameter(torch.empty(1, heads, 2 * dim))
        self.bias = nn.Parameter(torch.empty(dim))
        self.bond_embedding = BondEmbedding(bond_vocab, heads * dim)
        self.self_loop = SelfLoopEmbedding(heads * dim, bond_vocab, self_loop_token)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = math.sqrt(6.0 / (self.att.size(-2) + self.att.size(-1)))  # Glorot, as PyG's ``glorot``
        nn.init.uniform_(self.att, -bound, bound)
        nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, order: SegmentOrder | None = None) -> Tensor:
        num_nodes = x.size(0)
        x = self.linear(x).view(num_nodes, self.heads, self.dim)  # [N, H, D]
        loop = self.self_loop(self.bond_embedding)  # [1, H * D]
        edge_index, edge_embedding = add_self_loops(edge_index, self.bond_embedding(edge_attr), loop, num_nodes)
        order = None if order is None else self_loop_order(order)  # the order of the [E + N] targets
        source, target = edge_index
        messages = x.index_select(0, source) + edge_embedding.view(-1, self.heads, self.dim)  # [E + N, H, D]
        # att . [x_i || x_j + e_ji] = att_i . x_i + att_j . x_j + att_j . e_ji: the node terms once per node,
        # the bond term once per row of each bond feature's table (e_ji is a sum of table rows), then gathered
        att_target, att_source = self.att[..., : self.dim], self.att[..., self.dim :]  # [1, H, D] each
        node_scores = torch.stack([(x * att_target).sum(dim=-1), (x * att_source).sum(dim=-1)])  # [2, N, H]
        scores = torch.cat([self._bond_scores(edge_attr, att_source), self._head_dot(loop, att_source).expand(num_nodes, -1)])
        scores = scores + node_scores[0].index_select(0, target) + node_scores[1].index_select(0, source)  # [E + N, H]
        scores = F.leaky_relu(scores, self.negative_slope)
        if self.softmax == "standard":
            alpha = segment_softmax(scores, target, dim_size=num_nodes, order=order)
        else:
            alpha = legacy_softmax(scores, target, num_nodes, order)
        weighted = messages * alpha.unsqueeze(-1)  # [E + N, H, D]
        out = scatter(weighted, target, dim_size=num_nodes, reduce="sum", order=order)  # [N, H, D]
        return out.mean(dim=1) + self.bias

    def _head_dot(self, rows: Tensor, att: Tensor) -> Tensor:
        """Per head, the dot product of each row's slice with ``att``. Shapes: rows [R, H * D], att [1, H, D] -> [R, H]"""
        return (rows.view(-1, self.heads, self.dim) * att).sum(dim=-1)

    def _bond_scores(self, edge_attr: Tensor, att: Tensor) -> Tensor:
        """``att . e_ji`` of every edge, from each bond-feature table's rows scored once.

        Shapes: edge_attr [E, F_bond] (long), att [1, H, D] -> [E, H]
        """
        scores = None
        for k, table in enumerate(self.bond_embedding.embeddings):
            term = self._head_dot(table.weight, att).index_select(0, edge_attr[:, k])  # [V_k, H] -> [E, H]
            scores = term if scores is None else scores + term
        return scores


def legacy_softmax(scores: Tensor, index: Tensor, dim_size: int, order: SegmentOrder | None = None) -> Tensor:
    """The softmax of pretrain-gnns' GAT (PyG 1.0.3 ``softmax`` with torch-scatter 1.1.2's ``scatter_max``).

    ``out[e] = exp(s[e] - c) / (sum_f exp(s[f] - c) + 1e-16)`` over the rows f of e's segment, with
    ``c = max(0, max_f s[f])``: torch-scatter 1.1.2 fills the maximum's output with 0 before reducing.
    Unlike a softmax, the weights of a segment whose scores are all far below 0 sum to ~0, not 1.

    Shapes:
        scores: [E, H], index: [E], order: perm [E], ptr [dim_size + 1] -> [E, H]
    """
    shift = scatter(scores, index, dim_size=dim_size, reduce="max", order=order).clamp(min=0)  # [N, H]
    weights = (scores - shift.index_select(0, index)).exp()  # [E, H]
    total = scatter(weights, index, dim_size=dim_size, reduce="sum", order=order)  # [N, H]
    return weights / (total.index_select(0, index) + _LEGACY_EPSILON)
