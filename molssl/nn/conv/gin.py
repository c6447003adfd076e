"""GIN layer with bond features (Xu et al. 2019), in the forms of Hu et al. (2020) and of OGB."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from molssl.nn.conv.self_loops import SelfLoopEmbedding
from molssl.nn.embeddings import BondEmbedding
from molssl.nn.fast_linear import run_mlp
from molssl.ops import SegmentOrder, scatter
from molssl.ops.adjacency import neighbour_sum


class GINConv(nn.Module):
    """Graph isomorphism network layer with bond embeddings added to messages.

    Xu et al., "How Powerful are Graph Neural Networks?" (ICLR 2019), with the edge-feature extension
    of Hu et al., "Strategies for Pre-training Graph Neural Networks" (ICLR 2020). The form follows the
    featurization scheme:

    * scheme with a self-loop bond token (``hu``), as Hu et al.::

          h_i' = MLP( sum_{j in N(i) ∪ {i}} (h_j + e_ji) ),   e_ii = BondEmbedding(self_loop_token)
          MLP  = Linear(D, 2D) - ReLU - Linear(2D, D)

    * scheme without one (``ogb``), as OGB's ``GINConv`` (Hu et al., "Open Graph Benchmark", 2020)::

          h_i' = MLP( (1 + eps) h_i + sum_{j in N(i)} ReLU(h_j + e_ji) ),   eps learned, initially 0
          MLP  = Linear(D, 2D) - BatchNorm(2D) - ReLU - Linear(2D, D)

    Messages flow along ``edge_index[0] -> edge_index[1]`` and are summed at the target; ``order``,
    the ``SegmentOrder`` of ``edge_index[1]`` (the encoder computes it once per batch), lets the Triton
    kernels sum without atomics or per-call sorts. No edges are added (the Hu form's self-loop is a
    separate term), so the order of ``edge_index[1]`` is the order of every sum.

    Args:
        dim: node and bond embedding size D.
        bond_vocab: the scheme's ``bond_vocab``.
        self_loop_token: the scheme's ``self_loop_token`` (``None`` selects the OGB form).

    Shapes:
        x: [N, D], edge_index: [2, E], edge_attr: [E, F_bond] (long), order: perm [E], ptr [N + 1] -> [N, D]
    """

    def __init__(self, dim: int, bond_vocab: Sequence[int], self_loop_token: Sequence[int] | None = None) -> None:
        super().__init__()
        self.bond_embedding = BondEmbedding(bond_vocab, dim)
        self.self_loop: SelfLoopEmbedding | None = None
        self.eps: nn.Parameter | None = None
        if self_loop_token is not None:
            self.self_loop = SelfLoopEmbedding(dim, bond_vocab, self_loop_token)
            self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim))
        else:
            self.eps = nn.Parameter(torch.zeros(1))
            self.mlp = nn.Sequential(
                nn.Linear(dim, 2 * dim), nn.BatchNorm1d(2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim)
            )

    @property
    def variant(self) -> str:
        """``"hu"`` (self-loop edges) or ``"ogb"`` (learned eps)."""
        return "hu" if self.self_loop is not None else "ogb"

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, order: SegmentOrder | None = None) -> Tensor:
        num_nodes = x.size(0)
        if self.self_loop is not None:
            # The Hu form is linear before the MLP, so the sum splits: neighbour states, the node's own
            # state (its self-loop), incoming bond embeddings (a count matrix times the tables, see
            # ``CategoricalEmbedding.aggregate``) and the self-loop bond embedding. Same value as
            # summing (h_j + e_ji) over N(i) ∪ {i}, without [E + N, D] temporaries.
            # On CPU the neighbour sum is one sparse product (``molssl.ops.adjacency``), and the MLP's
            # products run on the fastest GEMMs with the ReLU fused (``molssl.nn.fast_linear``). The
            # in-place sums write into the fresh [N, D] neighbour sum (no other temporaries).
            total = neighbour_sum(x, edge_index, num_nodes, order=order)  # [N, D]
            total = total.add_(self.bond_embedding.aggregate(edge_attr, edge_index[1], num_nodes, order=order))
            total = total.add_(x).add_(self.self_loop(self.bond_embedding))
            return run_mlp(self.mlp, total)
        edge_embedding = self.bond_embedding(edge_attr)  # [E, D]
        messages = F.relu(x.index_select(0, edge_index[0]) + edge_embedding)  # [E, D]
        neighbours = scatter(messages, edge_index[1], dim_size=num_nodes, reduce="sum", order=order)
        return run_mlp(self.mlp, (1 + self.eps) * x + neighbours)
