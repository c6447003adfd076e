"""Hop distances from source nodes by vectorized breadth-first search over ``edge_index``.

Pure torch on any device: each hop is one gather and one scatter over the E edges, with no host sync
(the search always runs ``max_hops`` hops instead of stopping early when the frontier empties, since
testing for that would read a value back from the device every hop).
"""

from __future__ import annotations

import torch
from torch import Tensor

UNREACHED = -1
"""Distance given to nodes that no source reaches within ``max_hops`` hops."""


def hop_distances(edge_index: Tensor, num_nodes: int, sources: Tensor, max_hops: int) -> Tensor:
    """Shortest-path hop count from the nearest source, for every node (multi-source BFS).

    On a collated batch with one source per graph (e.g. a random centre atom), graphs are disjoint, so
    each node gets its distance to its own graph's source; a source in one fragment of a disconnected
    molecule reaches only that fragment. Edges are followed from ``edge_index[0]`` to
    ``edge_index[1]``; molecular graphs store both directions of every bond, so this is the undirected
    distance there.

    Args:
        edge_index: global edge list of the batch.
        num_nodes: N, the number of nodes (``batch.num_nodes``), passed so trailing isolated nodes count.
        sources: the source nodes, as long indices [S] or a bool mask [N].
        max_hops: search depth; nodes farther than this from every source get ``UNREACHED`` (-1).

    Returns:
        distance: 0 at the sources, ``h`` for nodes first reached at hop ``h <= max_hops``, -1 otherwise.

    Shapes:
        edge_index: [2, E], sources: [S] (long) or [N] (bool) -> [N] (long)
    """
    if max_hops < 0:
        raise ValueError(f"max_hops must be >= 0, got {max_hops}")
    device = edge_index.device
    if sources.dtype == torch.bool:
        if sources.shape != (num_nodes,):
            raise ValueError(f"a bool sources mask must have shape [{num_nodes}], got {tuple(sources.shape)}")
        visited = sources.to(device).clone()
    else:
        visited = torch.zeros(num_nodes, dtype=torch.bool, device=device)
        visited[sources.to(device=device, dtype=torch.long)] = True
    distance = torch.where(visited, 0, UNREACHED)
    frontier = visited.clone()
    src, dst = edge_index[0], edge_index[1]
    for hop in range(1, max_hops + 1):
        # count frontier neighbours per node with a scatter-add: duplicate targets are safe, unlike
        # a boolean scatter, and the result needs no nonzero() (which would sync)
        hits = torch.zeros(num_nodes, dtype=torch.int32, device=device)
        hits.index_add_(0, dst, frontier[src].to(torch.int32))
        frontier = (hits > 0) & ~visited
        visited |= frontier
        distance = torch.where(frontier, hop, distance)
    return distance
