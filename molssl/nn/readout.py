"""Graph readouts: node representations -> one vector per graph, and their registry.

The pooling choices of Hu et al., "Strategies for Pre-training Graph Neural Networks" (ICLR 2020):
mean (their default), sum, max, global attention (Li et al. 2016) and Set2Set (Vinyals et al. 2016).
Every readout is built as ``Readout(in_dim)`` and called as ``readout(h, batch, num_graphs)``, with
``num_graphs`` taken from the batch so that graphs without nodes still get a row (0 for mean, sum,
max and attention). Passing ``ptr=batch.ptr`` as well (the nodes of each graph are contiguous in a PyG
batch) lets the GPU kernels pool each graph in order, without atomics or sorting.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from molssl.ops import scatter, segment_softmax
from molssl.registry import Registry


class Readout(nn.Module):
    """A graph readout: pools the node representations of each graph into one vector.

    Args:
        in_dim: size D of the node representations.

    Call arguments: ``h``, ``batch``, ``num_graphs`` and optionally ``ptr``, the offsets of each graph's
    nodes when they are contiguous (``batch.ptr``); it must agree with ``batch``.

    Shapes:
        h: [N, D], batch: [N] (graph of each node), ptr: [num_graphs + 1] -> [num_graphs, out_dim(D)]
    """

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        if in_dim < 1:
            raise ValueError(f"in_dim must be positive, got {in_dim}")
        self.in_dim = in_dim

    @classmethod
    def out_dim(cls, in_dim: int) -> int:
        """Size of the graph vector for node representations of size ``in_dim``."""
        return in_dim

    def forward(self, h: Tensor, batch: Tensor, num_graphs: int, ptr: Tensor | None = None) -> Tensor:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}"


class MeanReadout(Readout):
    """Mean of each graph's node representations (Hu et al. 2020, default)."""

    def forward(self, h: Tensor, batch: Tensor, num_graphs: int, ptr: Tensor | None = None) -> Tensor:
        return scatter(h, batch, dim_size=num_graphs, reduce="mean", ptr=ptr)


class SumReadout(Readout):
    """Sum of each graph's node representations (Xu et al., "How Powerful are GNNs?", ICLR 2019)."""

    def forward(self, h: Tensor, batch: Tensor, num_graphs: int, ptr: Tensor | None = None) -> Tensor:
        return scatter(h, batch, dim_size=num_graphs, reduce="sum", ptr=ptr)


class MaxReadout(Readout):
    """Feature-wise maximum over each graph's nodes."""

    def forward(self, h: Tensor, batch: Tensor, num_graphs: int, ptr: Tensor | None = None) -> Tensor:
        return scatter(h, batch, dim_size=num_graphs, reduce="max", ptr=ptr)


class AttentionReadout(Readout):
    """Global attention pooling: a gate network scores each node, softmax over the graph's nodes.

    Li et al., "Gated Graph Sequence Neural Networks" (ICLR 2016), as PyG's ``GlobalAttention`` with
    ``gate_nn = Linear(D, 1)`` used by Hu et al. (2020)::

        r_G = sum_{i in G} softmax_{i in G}(w · h_i + b) h_i
    """

    def __init__(self, in_dim: int) -> None:
        super().__init__(in_dim)
        self.gate = nn.Linear(in_dim, 1)

    def forward(self, h: Tensor, batch: Tensor, num_graphs: int, ptr: Tensor | None = None) -> Tensor:
        weight = segment_softmax(self.gate(h), batch, dim_size=num_graphs, ptr=ptr)  # [N, 1]
        return scatter(weight * h, batch, dim_size=num_graphs, reduce="sum", ptr=ptr)


class Set2SetReadout(Readout):
    """Set2Set: an LSTM query attends over the graph's nodes for a few steps; output ``[q || r]``.

    Vinyals et al., "Order Matters: Sequence to sequence for sets" (ICLR 2016), as PyG's ``Set2Set``
    used by Hu et al. (2020) ("set2set2": 2 processing steps). Starting from ``q*_0 = 0``::

        q_t  = LSTM(q*_{t-1})
        a_i  = softmax_{i in G}(h_i · q_t)
        r_t  = sum_{i in G} a_i h_i
        q*_t = [q_t || r_t]

    Args:
        in_dim: size D of the node representations; the output has size 2D.
        steps: number of processing steps T.
    """

    def __init__(self, in_dim: int, steps: int = 2) -> None:
        super().__init__(in_dim)
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        self.steps = steps
        self.lstm = nn.LSTMCell(2 * in_dim, in_dim)

    @classmethod
    def out_dim(cls, in_dim: int) -> int:
        return 2 * in_dim

    def forward(self, h: Tensor, batch: Tensor, num_graphs: int, ptr: Tensor | None = None) -> Tensor:
        q_star = h.new_zeros(num_graphs, 2 * self.in_dim)
        state = (h.new_zeros(num_graphs, self.in_dim), h.new_zeros(num_graphs, self.in_dim))
        for _ in range(self.steps):
            query, cell = self.lstm(q_star, state)  # [B, D] each
            state = (query, cell)
            scores = (h * query.index_select(0, batch)).sum(dim=-1, keepdim=True)  # [N, 1]
            weight = segment_softmax(scores, batch, dim_size=num_graphs, ptr=ptr)
            read = scatter(weight * h, batch, dim_size=num_graphs, reduce="sum", ptr=ptr)  # [B, D]
            q_star = torch.cat([query, read], dim=-1)
        return q_star

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, steps={self.steps}"


READOUTS: Registry[type[Readout]] = Registry("readout", {
    "mean": MeanReadout,
    "sum": SumReadout,
    "max": MaxReadout,
    "attention": AttentionReadout,
    "set2set": Set2SetReadout,
})  # fmt: skip


def get_readout(name: str) -> type[Readout]:
    """The readout class registered under ``name``; build it with ``get_readout(name)(in_dim)``."""
    return READOUTS[name]
