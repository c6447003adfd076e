"""The stable sort of a segment index, computed once and reused by every reduction over that index.

Message passing reduces the messages of a batch at their target atom in every layer, forward and
backward, always over the same index ``edge_index[1]``. On the Triton backend an unsorted index means
atomics, or in deterministic mode a stable sort of the index on every call. A ``SegmentOrder`` is that
sort done once: ``scatter(src, index, dim_size, order=segment_order(index, dim_size))`` then runs the
CSR segment kernel, reading ``src`` through ``perm`` (no atomics, no sort, deterministic by
construction). The torch backend ignores it.

Compute it once per batch: the encoder does so once per forward (only when the kernels will run). No
loader computes it at collate time: ``molssl.graph.batch.to_batch(..., edge_order=True)`` can (on the
CPU), but that path is an opt-in kept only until a GPU run of ``benchmarks/scatter_kernels.py``
(contender ``triton, order at collate``) says whether it beats the per-forward sort.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor


class SegmentOrder(NamedTuple):
    """Rows grouped by segment: the stable argsort ``perm`` of an index and the CSR offsets ``ptr``.

    Segment ``s`` is rows ``perm[ptr[s]:ptr[s + 1]]`` of ``src``, in their original order, so
    ``segment(src[perm], ptr, reduce)`` equals ``scatter(src, index, dim_size, reduce)``. A plain pair
    of tensors (a ``NamedTuple``: it unpacks as ``perm, ptr``, and PyG's ``Batch.to`` and
    ``torch.utils._pytree`` see through it).

    Shapes:
        perm: [E] (long), ptr: [S + 1] (long)
    """

    perm: Tensor
    ptr: Tensor

    @property
    def num_rows(self) -> int:
        """E, the number of rows ordered (a shape: no device synchronization)."""
        return self.perm.numel()

    @property
    def num_segments(self) -> int:
        """S, the number of segments (a shape: no device synchronization)."""
        return self.ptr.numel() - 1

    @property
    def device(self) -> torch.device:
        return self.perm.device

    def to(self, device: torch.device | str, non_blocking: bool = False) -> SegmentOrder:
        """The same order on ``device`` (itself when it is already there)."""
        return SegmentOrder(
            self.perm.to(device, non_blocking=non_blocking), self.ptr.to(device, non_blocking=non_blocking)
        )


def ptr_from_index(index: Tensor, dim_size: int) -> Tensor:
    """CSR offsets of a sorted ``index`` (binary search on the device, no synchronization).

    Shapes:
        index: [E] (sorted) -> ptr: [dim_size + 1]
    """
    bounds = torch.arange(dim_size + 1, dtype=index.dtype, device=index.device)
    return torch.searchsorted(index, bounds)


def sort_segments(index: Tensor, dim_size: int) -> tuple[Tensor, Tensor]:
    """The stable argsort of ``index`` and the CSR offsets of the sorted index.

    ``src[perm]`` has the rows of each segment contiguous, in their original order, with segment
    ``s`` at ``ptr[s]:ptr[s + 1]``. Sort once (e.g. messages by target atom at collate) and reuse:
    ``segment(src[perm], ptr, reduce)`` equals ``scatter(src, index, dim_size, reduce)``, and
    ``molssl.ops.segment_order`` wraps the pair as the ``SegmentOrder`` that ``scatter`` and
    ``segment_softmax`` take (``order=``) to read ``src`` through ``perm`` without the copy.

    Shapes:
        index: [E] -> perm: [E], ptr: [dim_size + 1]
    """
    sorted_index, perm = torch.sort(index, stable=True)
    return perm, ptr_from_index(sorted_index, dim_size)


def segment_order(index: Tensor, dim_size: int) -> SegmentOrder:
    """The ``SegmentOrder`` of ``index`` (a stable sort on its device; no host synchronization).

    Args:
        index: segment id of each row, in ``[0, dim_size)``; any order.
        dim_size: number of segments S, from the batch (e.g. ``x.size(0)``), never from ``index``.

    Shapes:
        index: [E] -> perm: [E], ptr: [dim_size + 1]
    """
    if index.dim() != 1 or index.dtype not in (torch.int64, torch.int32):
        raise ValueError(
            f"index must be a 1-D integer tensor of segment ids, got {index.dtype} of shape {tuple(index.shape)}"
        )
    return SegmentOrder(*sort_segments(index, dim_size))


def check_order(order: SegmentOrder, num_rows: int, dim_size: int, device: torch.device) -> None:
    """Check that ``order`` can order ``num_rows`` rows into ``dim_size`` segments on ``device``.

    Shape and device checks only (no device synchronization): that ``order`` was computed from the
    index it is passed with is the caller's contract, as for ``ptr``.
    """
    if not isinstance(order, SegmentOrder):
        raise TypeError(
            f"order must be a molssl.ops.SegmentOrder (from segment_order(index, dim_size)), got {type(order).__name__}"
        )
    perm, ptr = order
    if perm.dim() != 1 or perm.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"order.perm must be a 1-D integer tensor, got {perm.dtype} of shape {tuple(perm.shape)}")
    if ptr.dim() != 1 or ptr.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"order.ptr must be a 1-D integer tensor, got {ptr.dtype} of shape {tuple(ptr.shape)}")
    if perm.numel() != num_rows or ptr.numel() != dim_size + 1:
        raise ValueError(
            f"order orders {perm.numel()} rows into {ptr.numel() - 1} segments, but src has {num_rows} rows and "
            f"dim_size is {dim_size}; compute it from this index with segment_order(index, dim_size)"
        )
    if perm.device != device or ptr.device != device:
        raise ValueError(f"order is on {perm.device} / {ptr.device} but src on {device}; move it with order.to(device)")


__all__ = ["SegmentOrder", "check_order", "ptr_from_index", "segment_order", "sort_segments"]
