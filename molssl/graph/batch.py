"""Collate ``GraphArrays`` into one PyG ``Batch`` with vectorized numpy (no per-graph Python work).

The result is what ``Batch.from_data_list`` would build from the same graphs: global ``edge_index``,
``batch`` and ``ptr`` vectors, ``num_graphs``, and the bookkeeping that makes ``to_data_list()`` and
``batch[i]`` work, at a small fraction of its cost.

With ``edge_order=True`` (off by default, and switched on by no loader of molssl: an opt-in kept until
a GPU run of ``benchmarks/scatter_kernels.py``, contender ``triton, order at collate``, shows whether it
beats the encoder's own sort once per forward; remove it if it does not) the batch also carries the ``molssl.ops.SegmentOrder`` of its messages by
target atom (the stable argsort of ``edge_index[1]`` and the offsets of each atom's incoming edges),
computed here in numpy, off the GPU's critical path. The encoder hands it to every layer when the Triton
kernels run (otherwise it sorts ``edge_index[1]`` once per forward itself; on CPU it needs no order).
It is ``batch._edge_order``, a private attribute like ``_slice_dict``: not one of the batch's tensors,
so PyG's ``Batch.to`` leaves it on the CPU (the encoder moves its E + N + 1 integers) and, above all,
nothing that rebuilds a batch carries it: ``molssl.graph.subgraph.induced_subgraph`` and
``filter_edges`` (hence every augmentation that removes atoms or bonds, and ``EdgePerturb``'s added
bonds) return a new ``Batch`` without it, so a stale order never meets different edges. A shallow copy
(``copy.copy``, ``molssl.augment.masked_atoms.replace``) keeps it, which is right while the edges are the same:
code that replaces ``edge_index`` on such a copy must ``drop_edge_order`` (the encoder only checks that
the shapes fit).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from molssl.graph.arrays import GraphArrays
from molssl.ops import SegmentOrder


def _long(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64))


def edge_order_of(target: np.ndarray, num_nodes: int) -> SegmentOrder:
    """The ``SegmentOrder`` of messages by target atom, in numpy: stable argsort and in-edge offsets.

    Shapes:
        target: [E] (``edge_index[1]``, global) -> perm: [E], ptr: [num_nodes + 1]
    """
    target = np.asarray(target, dtype=np.int64)
    perm = np.argsort(target, kind="stable")
    ptr = np.zeros(num_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(target, minlength=num_nodes), out=ptr[1:])
    return SegmentOrder(_long(perm), torch.from_numpy(ptr))


def attach_edge_order(batch: Batch) -> Batch:
    """Attach the order of ``batch.edge_index[1]`` (``batch._edge_order``) to a CPU batch; returns it.

    For batches not collated by ``to_batch(..., edge_order=True)`` (e.g. ``Batch.from_data_list``).
    """
    edge_index = batch.edge_index
    if edge_index.device.type != "cpu":
        raise ValueError(
            f"attach_edge_order sorts on the CPU at collate time, but the batch is on {edge_index.device}; "
            "attach it before .to(device) (on the GPU the encoder sorts edge_index[1] itself)"
        )
    batch._edge_order = edge_order_of(edge_index[1].numpy(), batch.num_nodes)
    return batch


def drop_edge_order(batch: Batch) -> Batch:
    """Remove an attached edge order (after rewriting ``edge_index`` on a shallow copy); returns the batch."""
    if isinstance(getattr(batch, "_edge_order", None), SegmentOrder):
        del batch._edge_order
    return batch


def to_batch(
    graphs: GraphArrays, graph_attrs: Mapping[str, torch.Tensor] | None = None, *, edge_order: bool = False
) -> Batch:
    """Collate every graph of ``graphs`` into a PyG ``Batch``.

    Args:
        graphs: M graphs with local edge indices.
        graph_attrs: optional per-graph tensors with first dimension M (e.g. ``y`` of shape [M, T]).
        edge_order: also attach the ``SegmentOrder`` of ``edge_index[1]`` as ``batch._edge_order`` (see
            the module docstring), for the Triton kernels' segment path.

    Shapes:
        x: [A, F_atom], edge_index: [2, E] (global), edge_attr: [E, F_bond], batch: [A], ptr: [M + 1]
        _edge_order: perm [E], ptr [A + 1]
    """
    m = len(graphs)
    atom_counts = graphs.num_atoms
    edge_counts = graphs.num_edges
    shift = np.repeat(graphs.atom_ptr[:-1], edge_counts)
    edge_index = graphs.edge_index.astype(np.int64) + shift
    ptr = _long(graphs.atom_ptr)
    edge_ptr = _long(graphs.edge_ptr)
    zeros = torch.zeros(m, dtype=torch.long)
    attrs: dict[str, torch.Tensor] = {
        "x": _long(graphs.x),
        "edge_index": torch.from_numpy(edge_index),
        "edge_attr": _long(graphs.edge_attr),
        "batch": torch.from_numpy(np.repeat(np.arange(m, dtype=np.int64), atom_counts)),
        "ptr": ptr,
    }
    slices = {"x": ptr, "edge_index": edge_ptr, "edge_attr": edge_ptr}
    incs = {"x": zeros, "edge_index": ptr[:-1], "edge_attr": zeros}
    for name, value in (graph_attrs or {}).items():
        if value.shape[0] != m:
            raise ValueError(f"graph attribute {name!r} has {value.shape[0]} rows, expected one per graph ({m})")
        attrs[name] = value
        slices[name] = torch.arange(m + 1, dtype=torch.long)
        incs[name] = zeros
    batch = Batch(_base_cls=Data, **attrs)
    batch._num_graphs = m
    batch._slice_dict = slices
    batch._inc_dict = incs
    if edge_order:
        batch._edge_order = edge_order_of(edge_index[1], int(graphs.atom_ptr[-1]))
    return batch
