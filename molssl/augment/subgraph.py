"""GraphCL's subgraph sampling: keep a connected, randomly grown part of each molecule.

You et al., "Graph Contrastive Learning with Augmentations" (NeurIPS 2020), ``subgraph``. The intended
process starts at a uniformly random atom and repeatedly adds a uniformly random atom of the current
frontier (unvisited neighbours of the atoms taken so far) until the subgraph has its size. The
reference code (all four versions, molecular one included) differs twice: it stops at
``int(n * aug_ratio) + 1`` atoms, so ``aug_ratio`` is the fraction *kept* there, and
``idx_neigh.union(...)`` is not in place, so only the seed's direct neighbours are ever candidates
(the view is the seed plus at most its degree of neighbours). Here ``ratio`` is the fraction removed,
like the other augmentations' (``n - floor(n * ratio)`` atoms kept; ``ratio=0.8`` keeps about the
reference's count), and the growth runs over the whole molecule as the paper describes.

Vectorized form: give every atom an independent Exp(1) "joining time" ``w``; an atom joins ``w`` after
its first neighbour did. Because exponential clocks are memoryless, the next atom to join is uniform
over the frontier at every step, exactly the process above, and the order in which atoms join is
their node-weighted shortest-path distance from the seed (``T(seed) = 0``,
``T(v) = w_v + min over neighbours u of T(u)``). The distances of all graphs are found together by
Bellman-Ford relaxation over ``edge_index`` (as many rounds as the longest shortest path has bonds),
and each graph keeps its atoms of smallest distance: exactly ``n - floor(n * ratio)`` of them, and a
connected set, since each kept atom's predecessor is closer (weights are positive).

A disconnected graph (salt, mixture) whose seed's fragment is smaller than the target continues the
growth from a new uniformly random atom of the rest, as often as needed, so the count is exact there
too; the kept set is then the union of whole fragments and one partial fragment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor
from torch_geometric.data import Batch

from molssl.augment.base import AtomRemoval
from molssl.augment.sampling import (
    random_ranks,
    ratio_count,
    segment_ranks,
    segment_sizes,
)

# distances are integers (exact ties and no float round-off): Exp(1) times in units of 2^-16,
# clamped to [2^-16, 16], packed with the seed key in one int64 as key << 40 | distance
WEIGHT_SCALE = 2**16
MAX_WEIGHT = 16 * WEIGHT_SCALE
_DISTANCE_BITS = 40
_MAX_GRAPH_ATOMS = 2**19  # keeps key and distance inside their bits: (n + 1) * MAX_WEIGHT < 2^40


def grow_subgraphs(
    edge_index: Tensor, segment: Tensor, num_graphs: int, keep: Tensor, seed_rank: Tensor, weight: Tensor
) -> Tensor:
    """The ``keep[g]`` atoms of every graph ``g`` that a growth from its seed reaches first.

    Deterministic given the random inputs: within each connected fragment the growth starts at the
    atom of smallest ``seed_rank``; fragments are taken in the order of their smallest ``seed_rank``;
    inside a fragment atoms come in order of node-weighted distance from its seed (sum of ``weight``
    over a path, the seed excluded), ties by atom index.

    Args:
        edge_index: edges of the batch (global atom indices; both directions of every bond).
        segment: graph of every atom (``batch.batch``).
        num_graphs: number of graphs.
        keep: atoms to keep per graph (at most its size).
        seed_rank: rank of every atom inside its graph, distinct within a graph (``random_ranks``).
        weight: positive integer joining time of every atom, at most ``MAX_WEIGHT``.

    Shapes:
        edge_index: [2, E], segment: [A], keep: [B], seed_rank: [A], weight: [A] -> [A] (bool)
    """
    num_atoms = segment.numel()
    if num_atoms == 0:
        return torch.zeros(0, dtype=torch.bool, device=segment.device)
    largest = int(segment_sizes(segment, num_graphs).max())
    if largest >= _MAX_GRAPH_ATOMS:
        raise ValueError(f"subgraph sampling supports graphs of fewer than {_MAX_GRAPH_ATOMS} atoms, got {largest}")
    # (fragment seed key, distance from that seed) as one int64: its integer order is lexicographic
    packed = seed_rank.long() << _DISTANCE_BITS  # [A] every atom starts as its own seed
    source, target = edge_index
    step = weight.long()[target]  # [E] cost of entering the edge's target
    for _ in range(largest):  # a shortest path has fewer bonds than the graph has atoms
        candidate = packed[source] + step  # [E]
        relaxed = packed.scatter_reduce(0, target, candidate, reduce="amin", include_self=True)
        if torch.equal(relaxed, packed):
            break
        packed = relaxed
    return segment_ranks(segment, num_graphs, packed) < keep[segment]


@dataclass(frozen=True, kw_only=True)
class Subgraph(AtomRemoval):
    """Keep a randomly grown connected subgraph of ``n - floor(n * ratio)`` atoms of every graph.

    The kept count is the one ``NodeDrop`` keeps (at least one atom of a non-empty graph); the kept
    set is connected whenever the graph is (see the module docstring for the process and for
    disconnected graphs). ``ratio`` (in [0, 1), GraphCL's ``aug_ratio``: 0.2) and the kept subgraph
    are those of ``AtomRemoval``.
    """

    name: ClassVar[str] = "subgraph"

    def kept_atoms(self, batch: Batch, generator: torch.Generator) -> Tensor:
        """Which atoms this call keeps: a grown subgraph of exactly ``n - floor(n * ratio)`` per graph.

        Shapes:
            -> [A] (bool)
        """
        segment, num_graphs = batch.batch, batch.num_graphs
        sizes = segment_sizes(segment, num_graphs)
        keep = sizes - ratio_count(sizes, self.ratio)
        seed_rank = random_ranks(segment, num_graphs, generator)
        draw_device = generator.device if generator is not None else segment.device
        times = torch.empty(segment.numel(), device=draw_device).exponential_(generator=generator)
        weight = torch.ceil(times * WEIGHT_SCALE).long().clamp_(1, MAX_WEIGHT).to(segment.device)
        return grow_subgraphs(batch.edge_index, segment, num_graphs, keep, seed_rank, weight)


__all__ = ["MAX_WEIGHT", "WEIGHT_SCALE", "Subgraph", "grow_subgraphs"]
