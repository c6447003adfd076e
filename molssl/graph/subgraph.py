"""Induced node subgraphs and edge filtering of a collated PyG ``Batch``, vectorized and device-agnostic.

Both operations keep the batch's graph structure: every graph of the input is a graph of the output
(a graph that loses all its nodes stays as an empty graph), so ``num_graphs`` and per-graph attributes
such as ``y`` line up with the input. The result carries the same bookkeeping as
``molssl.graph.batch.to_batch`` (``ptr``, ``num_graphs``, ``_slice_dict``, ``_inc_dict``), so
``to_data_list()`` and ``batch[i]`` work on it.

Node order and edge order are preserved, so edges stay grouped by graph as PyG expects.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

# keys rebuilt explicitly (a stored ``num_nodes`` would be stale: PyG infers it from ``x`` instead);
# every other attribute is classified as node-, edge- or graph-level
_CORE_KEYS = ("x", "edge_index", "edge_attr", "batch", "ptr", "num_nodes")


def _exclusive_cumsum(mask: Tensor) -> Tensor:
    """``[0, m0, m0+m1, ...]`` of a bool/int vector, shape [N] -> [N + 1] (long)."""
    out = torch.zeros(mask.numel() + 1, dtype=torch.long, device=mask.device)
    torch.cumsum(mask.long(), dim=0, out=out[1:])
    return out


def _counts_to_ptr(index: Tensor, num_groups: int) -> Tensor:
    """Offsets [num_groups + 1] of a group-sorted index vector, without a host sync (no bincount max)."""
    counts = torch.zeros(num_groups, dtype=torch.long, device=index.device)
    counts.index_add_(0, index, torch.ones_like(index))
    return _exclusive_cumsum(counts)


def _node_ptr(batch: Batch) -> Tensor:
    ptr = getattr(batch, "ptr", None)
    if ptr is not None:
        return ptr
    return _counts_to_ptr(batch.batch, batch.num_graphs)


def _edge_ptr(batch: Batch) -> Tensor:
    """Offsets of each graph's edges, from the slice bookkeeping when present, else from the edges."""
    slices = getattr(batch, "_slice_dict", None) or {}
    edge_ptr = slices.get("edge_index")
    if edge_ptr is not None:
        return edge_ptr.to(batch.edge_index.device)
    return _counts_to_ptr(batch.batch[batch.edge_index[0]], batch.num_graphs)


def _attribute_levels(batch: Batch, num_nodes: int, num_edges: int) -> dict[str, str]:
    """Classify the non-core attributes as ``"node"``, ``"edge"`` or ``"graph"`` (copied unchanged).

    With the slice bookkeeping (batches from ``to_batch`` or ``Batch.from_data_list``), an attribute is
    node-level when it is sliced like ``x`` and edge-level when it is sliced like ``edge_index``;
    without it, by its first dimension (A or E, else graph-level).
    """
    slices = getattr(batch, "_slice_dict", None) or {}
    node_slices, edge_slices = slices.get("x"), slices.get("edge_index")
    levels: dict[str, str] = {}
    for key, value in batch:  # a PyG Data iterates over (name, value) pairs
        if key in _CORE_KEYS:
            continue
        if not isinstance(value, Tensor) or value.dim() == 0:
            levels[key] = "graph"
            continue
        own = slices.get(key)
        if own is not None and node_slices is not None and value.shape[0] == num_nodes and torch.equal(own.cpu(), node_slices.cpu()):
            levels[key] = "node"
        elif own is not None and edge_slices is not None and value.shape[0] == num_edges and torch.equal(own.cpu(), edge_slices.cpu()):
            levels[key] = "edge"
        elif own is None and value.shape[0] == num_nodes:
            levels[key] = "node"
        elif own is None and value.shape[0] == num_edges:
            levels[key] = "edge"
        else:
            levels[key] = "graph"
    return levels


def _rebuild(batch: Batch, node_index: Tensor | None, node_ptr: Tensor, edge_keep: Tensor, edge_ptr: Tensor, edge_index: Tensor) -> Batch:
    """A new ``Batch`` with nodes ``node_index`` (None = all) and edges ``edge_keep`` of ``batch``."""
    num_graphs = batch.num_graphs
    levels = _attribute_levels(batch, batch.num_nodes, batch.edge_index.shape[1])
    old_slices = getattr(batch, "_slice_dict", None) or {}
    old_incs = getattr(batch, "_inc_dict", None) or {}
    zeros = torch.zeros(num_graphs, dtype=torch.long, device=node_ptr.device)

    def take_nodes(value: Tensor) -> Tensor:
        return value if node_index is None else value[node_index]

    attrs: dict[str, Tensor] = {
        "x": take_nodes(batch.x),
        "edge_index": edge_index,
        "batch": take_nodes(batch.batch),
        "ptr": node_ptr,
    }
    slices = {"x": node_ptr, "edge_index": edge_ptr}
    incs = {"x": zeros, "edge_index": node_ptr[:-1]}
    if getattr(batch, "edge_attr", None) is not None:
        attrs["edge_attr"] = batch.edge_attr[edge_keep]
        slices["edge_attr"], incs["edge_attr"] = edge_ptr, zeros
    for key, level in levels.items():
        value = batch[key]
        if level == "node":
            attrs[key], slices[key] = take_nodes(value), node_ptr
        elif level == "edge":
            attrs[key], slices[key] = value[edge_keep], edge_ptr
        else:
            attrs[key] = value
            slices[key] = old_slices.get(key, torch.arange(num_graphs + 1, dtype=torch.long))
        incs[key] = old_incs.get(key, zeros)
    out = Batch(_base_cls=Data, **attrs)
    out._num_graphs = num_graphs
    out._slice_dict = slices
    out._inc_dict = incs
    return out


def induced_subgraph(batch: Batch, node_mask: Tensor) -> tuple[Batch, Tensor]:
    """Keep the nodes where ``node_mask`` is True and the edges whose two ends are both kept.

    Edge indices are relabelled into the new node numbering; node-level attributes are gathered,
    edge-level ones filtered, graph-level ones (e.g. ``y``) copied unchanged. Every graph of ``batch``
    remains a graph of the result, possibly empty, so ``num_graphs`` is unchanged and ``ptr`` is the
    offsets of the kept nodes per graph. Pure torch on the batch's device; the only host sync is the
    one any dynamic-size selection needs (the number of kept nodes and edges).

    Args:
        batch: a collated batch (``to_batch``, ``StoreLoader`` or ``Batch.from_data_list``).
        node_mask: which nodes to keep.

    Returns:
        ``(sub, node_index)``: the induced subgraph batch and the original index of each kept node.

    Shapes:
        node_mask: [A] bool -> sub.x: [A', F_atom], sub.edge_index: [2, E'], sub.edge_attr: [E', F_bond],
        sub.batch: [A'], sub.ptr: [B + 1]; node_index: [A'] (long, increasing)
    """
    num_nodes = batch.num_nodes
    if node_mask.dtype != torch.bool or node_mask.shape != (num_nodes,):
        raise ValueError(f"node_mask must be a bool tensor of shape [{num_nodes}], got {node_mask.dtype} {tuple(node_mask.shape)}")
    node_mask = node_mask.to(batch.edge_index.device)
    node_index = node_mask.nonzero().view(-1)
    csum = _exclusive_cumsum(node_mask)  # csum[i] = new index of node i when kept
    edge_mask = node_mask[batch.edge_index[0]] & node_mask[batch.edge_index[1]]
    edge_keep = edge_mask.nonzero().view(-1)
    edge_index = csum[batch.edge_index[:, edge_keep]]
    node_ptr = csum[_node_ptr(batch)]
    edge_ptr = _exclusive_cumsum(edge_mask)[_edge_ptr(batch)]
    return _rebuild(batch, node_index, node_ptr, edge_keep, edge_ptr, edge_index), node_index


def filter_edges(batch: Batch, edge_mask: Tensor) -> tuple[Batch, Tensor]:
    """Keep every node and the edges where ``edge_mask`` is True (edge dropping / perturbation).

    Edges are directed entries of ``edge_index``: to drop an undirected bond, mask both directions.

    Args:
        batch: a collated batch.
        edge_mask: which edges to keep.

    Returns:
        ``(sub, edge_index)``: the batch with fewer edges and the original index of each kept edge.

    Shapes:
        edge_mask: [E] bool -> sub.edge_index: [2, E'], sub.edge_attr: [E', F_bond]; edge_index: [E']
    """
    num_edges = batch.edge_index.shape[1]
    if edge_mask.dtype != torch.bool or edge_mask.shape != (num_edges,):
        raise ValueError(f"edge_mask must be a bool tensor of shape [{num_edges}], got {edge_mask.dtype} {tuple(edge_mask.shape)}")
    edge_mask = edge_mask.to(batch.edge_index.device)
    edge_keep = edge_mask.nonzero().view(-1)
    edge_ptr = _exclusive_cumsum(edge_mask)[_edge_ptr(batch)]
    sub = _rebuild(batch, None, _node_ptr(batch), edge_keep, edge_ptr, batch.edge_index[:, edge_keep])
    return sub, edge_keep
