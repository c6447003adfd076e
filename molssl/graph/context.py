"""Substructure / context pairs for context prediction (Hu et al., "Strategies for Pre-training Graph
Neural Networks", ICLR 2020), extracted from a whole collated batch at once.

The reference implementation (snap-stanford/pretrain-gnns, ``ExtractSubstructureContextPair``) works
per molecule in the data loader: it builds a networkx graph, runs ``single_source_shortest_path_length``
from a random centre atom with cutoffs K, r1 and r2, and relabels the induced subgraphs. Here one
vectorized breadth-first search over the batch (``molssl.graph.hops``) gives every atom's hop distance
d from its graph's centre, and the same node sets are selected by comparing d with the radii:

    substructure: 0 <= d <= K                (the K-hop neighbourhood the K-layer encoder sees)
    context:      r1 < d <= r2               (networkx: nodes within r2 hops minus nodes within r1 hops)
    anchors:      r1 < d <= K                (context atoms also in the substructure)

Atoms in another fragment of a disconnected molecule than the centre have no distance and are in
neither graph, as in the reference. Both graphs are induced subgraphs (every bond between two selected
atoms is kept).

Deviation from the reference, only for r1 = 0 or K = 0: the reference replaces a radius of 0 by -1 to
work around networkx 2.x, where a cutoff of -1 returned no nodes at all, so its r1 = 0 context also
contained the centre (d in [0, r2]). Here r1 = 0 means what the paper says (the centre is not context);
pass ``r1=-1`` to include the centre. K must be >= 1 (an encoder has at least one layer).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch_geometric.data import Batch

from molssl.graph.hops import UNREACHED, hop_distances
from molssl.graph.subgraph import induced_subgraph


@dataclass(frozen=True)
class ContextPair:
    """A batch's substructures and context graphs for context prediction (one centre per graph).

    Every field has one entry per graph of the input batch (B = ``num_graphs``), including graphs that
    take no part in the loss; ``has_context`` says which do.

    Attributes:
        substructure: the atoms within K hops of each centre, as a batch of B graphs.
        substructure_index: original atom index of each substructure atom.
        center: index of each graph's centre atom in ``substructure`` (-1 for a graph without atoms).
        center_atom: index of each graph's centre atom in the input batch (-1 for a graph without atoms).
        context: the atoms at r1 < d <= r2 hops from each centre, as a batch of B graphs (some empty).
        context_index: original atom index of each context atom.
        anchor: context atoms that are also substructure atoms, as indices into ``context``.
        anchor_batch: the graph of each anchor (for pooling anchors into one context vector per graph).
        has_context: graphs with a non-empty context and at least one anchor; the reference drops the
            others (single atoms, small molecules, centres far from everything).

    Shapes:
        substructure: A_s atoms, E_s edges; substructure_index: [A_s]; center, center_atom: [B];
        context: A_c atoms, E_c edges; context_index: [A_c]; anchor, anchor_batch: [N_anchor];
        has_context: [B] (bool)
    """

    substructure: Batch
    substructure_index: Tensor
    center: Tensor
    center_atom: Tensor
    context: Batch
    context_index: Tensor
    anchor: Tensor
    anchor_batch: Tensor
    has_context: Tensor


def random_centers(ptr: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """One uniformly random atom per graph, as a global atom index (-1 for graphs without atoms).

    Shapes:
        ptr: [B + 1] -> [B] (long)
    """
    counts = ptr[1:] - ptr[:-1]
    device = generator.device if generator is not None else ptr.device
    u = torch.rand(counts.shape[0], generator=generator, dtype=torch.float64, device=device).to(ptr.device)
    offset = torch.minimum((u * counts).long(), (counts - 1).clamp(min=0))
    return torch.where(counts > 0, ptr[:-1] + offset, -1)


def extract_context_pair(
    batch: Batch,
    num_layers: int,
    r1: int | None = None,
    r2: int | None = None,
    generator: torch.Generator | None = None,
    center_atom: Tensor | None = None,
) -> ContextPair:
    """Pick a random centre atom per graph and extract its substructure, context ring and anchors.

    Hu et al. (2020), Sec. 3.1.1: the substructure is the K-hop neighbourhood of the centre (K = number
    of encoder layers), the context the atoms between r1 and r2 hops from it, and the anchors the atoms
    both share. The paper's defaults are r1 = K - 1 and r2 = r1 + 3 (``--csize 3``). See the module
    docstring for the exact hop conventions.

    Args:
        batch: a collated batch (``to_batch``, ``StoreLoader``, ``Batch.from_data_list``), any device.
        num_layers: K, the substructure radius.
        r1: inner context radius (exclusive), default K - 1; -1 includes the centre.
        r2: outer context radius (inclusive), default r1 + 3.
        generator: random source for the centres (CPU or on the batch's device); same seed, same centres.
        center_atom: use these centres instead of random ones (global atom indices [B], -1 for graphs
            without atoms), e.g. for tests.

    Returns:
        a ``ContextPair``.
    """
    if num_layers < 1:
        raise ValueError(f"num_layers (K) must be >= 1, got {num_layers}")
    r1 = num_layers - 1 if r1 is None else r1
    r2 = r1 + 3 if r2 is None else r2
    if r1 < -1 or r2 <= r1:
        raise ValueError(f"context radii must satisfy -1 <= r1 < r2, got r1={r1}, r2={r2}")
    ptr = batch.ptr
    num_graphs = batch.num_graphs
    num_atoms = batch.num_nodes
    if center_atom is None:
        center_atom = random_centers(ptr, generator)
    elif center_atom.shape != (num_graphs,):
        raise ValueError(f"center_atom must have shape [{num_graphs}], got {tuple(center_atom.shape)}")
    center_atom = center_atom.to(ptr.device)

    # bool mask of the centres, without a nonzero() to drop the -1 of atomless graphs: those write
    # into a spare last slot instead
    present = center_atom >= 0
    is_center = torch.zeros(num_atoms + 1, dtype=torch.bool, device=ptr.device)
    is_center[torch.where(present, center_atom, num_atoms)] = True
    distance = hop_distances(batch.edge_index, num_atoms, is_center[:num_atoms], max(num_layers, r2))
    reached = distance != UNREACHED

    in_substructure = reached & (distance <= num_layers)
    in_context = reached & (distance > r1) & (distance <= r2)
    substructure, substructure_index = induced_subgraph(batch, in_substructure)
    context, context_index = induced_subgraph(batch, in_context)

    # position of each centre among the kept substructure atoms (the centre is always kept): the
    # number of kept atoms before it; the leading zero keeps the lookup valid for an atomless batch
    kept_before = torch.zeros(num_atoms + 1, dtype=torch.long, device=ptr.device)
    torch.cumsum(in_substructure.long(), dim=0, out=kept_before[1:])
    center = torch.where(present, kept_before[center_atom.clamp(min=0)], -1)

    anchor = (distance[context_index] <= num_layers).nonzero().view(-1)
    anchor_batch = context.batch[anchor]
    context_size = context.ptr[1:] - context.ptr[:-1]
    anchor_count = torch.zeros(num_graphs, dtype=torch.long, device=ptr.device)
    anchor_count.index_add_(0, anchor_batch, torch.ones_like(anchor_batch))
    has_context = (context_size > 0) & (anchor_count > 0)
    return ContextPair(
        substructure=substructure,
        substructure_index=substructure_index,
        center=center,
        center_atom=center_atom,
        context=context,
        context_index=context_index,
        anchor=anchor,
        anchor_batch=anchor_batch,
        has_context=has_context,
    )
