"""Self-loop edges and their embedded bond features, for convs that aggregate over ``N(i) ∪ {i}``.

Hu et al., "Strategies for Pre-training Graph Neural Networks" (ICLR 2020) add an edge ``i -> i`` to
every node before aggregating, with a bond type reserved for it (``self_loop_token``, bond type 4 in
the ``hu`` scheme) embedded by the layer's own bond embedding. A scheme that reserves no such token
(``ogb``) gets a learned vector for the self-loop instead, as OGB's GCN ``root_emb``.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from molssl.nn.embeddings import BondEmbedding
from molssl.ops import SegmentOrder


class SelfLoopEmbedding(nn.Module):
    """The embedded features of the self-loop edge ``i -> i`` (the same vector for every node).

    Args:
        dim: embedding size D (that of the conv's bond embedding).
        bond_vocab: the scheme's ``bond_vocab``, to validate the token against.
        self_loop_token: the scheme's bond features of a self-loop edge, or ``None`` for a learned
            vector (initialized N(0, 1) like OGB's ``root_emb``).

    Shapes:
        bond_embedding(token) -> [1, D]
    """

    def __init__(self, dim: int, bond_vocab: Sequence[int], self_loop_token: Sequence[int] | None = None) -> None:
        super().__init__()
        if self_loop_token is not None and (
            len(self_loop_token) != len(bond_vocab)
            or any(not 0 <= int(t) < int(v) for t, v in zip(self_loop_token, bond_vocab))
        ):
            raise ValueError(
                f"self_loop_token {list(self_loop_token)} does not fit bond_vocab {list(bond_vocab)}: it needs "
                "one value per bond feature column, each inside its vocabulary"
            )
        self.root: nn.Embedding | None = None
        if self_loop_token is None:
            self.root = nn.Embedding(1, dim)
            self.register_buffer("token", None)
        else:
            # not persistent: the token belongs to the scheme recorded in the config, not to the weights
            self.register_buffer("token", torch.tensor([list(self_loop_token)], dtype=torch.long), persistent=False)

    def forward(self, bond_embedding: BondEmbedding) -> Tensor:
        if self.root is not None:
            return self.root.weight
        return bond_embedding.lookup(self.token)


def add_self_loops(
    edge_index: Tensor, edge_embedding: Tensor, loop_embedding: Tensor, num_nodes: int
) -> tuple[Tensor, Tensor]:
    """Append the edge ``i -> i`` for every node, with embedded features ``loop_embedding``.

    Args:
        edge_index: source (row 0) and target (row 1) of each edge.
        edge_embedding: embedded features of each edge.
        loop_embedding: embedded features of a self-loop, shared by all nodes.
        num_nodes: N, from the batch (``x.size(0)``).

    Shapes:
        edge_index: [2, E] -> [2, E + N]
        edge_embedding: [E, D] -> [E + N, D]
        loop_embedding: [1, D]
    """
    loops = torch.arange(num_nodes, dtype=edge_index.dtype, device=edge_index.device)
    edge_index = torch.cat([edge_index, loops.unsqueeze(0).expand(2, -1)], dim=1)
    edge_embedding = torch.cat([edge_embedding, loop_embedding.expand(num_nodes, -1)], dim=0)
    return edge_index, edge_embedding


def self_loop_order(order: SegmentOrder) -> SegmentOrder:
    """The ``SegmentOrder`` of the targets after ``add_self_loops``, derived from the one before (no sort).

    ``add_self_loops`` appends the loop of node i as edge ``E + i``, after every original edge, so the
    stable sort of the new targets lists each node's incoming edges in their old order followed by its
    loop: segment i grows by one row at its end. This is exactly ``segment_order(edge_index[1], N)`` of
    the extended ``edge_index``, in a few gathers on the device instead of a sort.

    Shapes:
        order: perm [E], ptr [N + 1] -> perm [E + N], ptr [N + 1]
    """
    perm, ptr = order
    num_edges, num_nodes = perm.numel(), ptr.numel() - 1
    nodes = torch.arange(num_nodes, dtype=torch.long, device=ptr.device)
    ptr = ptr.long()
    # the segment of each sorted position (output_size: no host synchronization)
    segment_of = torch.repeat_interleave(nodes, ptr.diff(), output_size=num_edges)  # [E]
    positions = torch.arange(num_edges, dtype=torch.long, device=ptr.device) + segment_of  # each shifts by its node
    loops = ptr[1:] + nodes  # [N] the last row of each grown segment
    new_perm = torch.empty(num_edges + num_nodes, dtype=perm.dtype, device=perm.device)
    new_perm.index_copy_(0, positions, perm)
    new_perm.index_copy_(0, loops, (nodes + num_edges).to(perm.dtype))
    return SegmentOrder(new_perm, torch.cat([ptr[:1], loops + 1]))
