"""Segment reductions over CSR offsets, and the helpers that turn an index into offsets.

When the rows of each segment are contiguous (the nodes of each graph in a PyG batch, with
``batch.ptr``; messages sorted by target atom once at collate), a reduction needs no atomics: the
Triton backend walks each segment in order, which is faster for short segments and deterministic.

``ptr`` holds S + 1 offsets: segment ``s`` is rows ``ptr[s]:ptr[s + 1]``, ``ptr[0] = 0`` and
``ptr[-1] = src.size(0)``. The number of segments is ``ptr.numel() - 1`` (a shape, so no device
synchronization).
"""

from __future__ import annotations

import torch
from torch import Tensor

from molssl.ops.reference import REDUCTIONS, segment_reference
from molssl.ops.scatter import _kernels, _rows, check_ptr, resolve_backend


def segment(src: Tensor, ptr: Tensor, reduce: str = "sum", *, backend: str | None = None) -> Tensor:
    """Reduce each run of rows ``src[ptr[s]:ptr[s + 1]]``: ``out[s] = reduce(src[ptr[s]:ptr[s + 1]])``.

    The CSR twin of ``molssl.ops.scatter`` (as ``torch_scatter.segment_csr``): same reductions,
    gradients and conventions (an empty segment gives 0, NaN propagates), dispatched by the same
    rules. Deterministic on the Triton backend.

    Args:
        src: values to reduce; the rows of each segment are contiguous.
        ptr: S + 1 offsets, from 0 to ``src.size(0)``, non-decreasing.
        reduce: one of ``"sum"``, ``"mean"``, ``"max"``, ``"min"``.
        backend: ``"auto"``, ``"torch"`` or ``"triton"``; ``None`` uses the process-wide setting.

    Shapes:
        src: [E, *], ptr: [S + 1] (long) -> out: [S, *]
    """
    if src.dim() == 0:
        raise ValueError("src must have at least one dimension (one row per element)")
    if reduce not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduce!r}; valid reductions: {', '.join(REDUCTIONS)}")
    check_ptr(ptr, src.size(0))
    if ptr.device != src.device:
        raise ValueError(f"ptr is on {ptr.device} but src on {src.device}; put them on the same device")
    num_segments = ptr.numel() - 1
    if resolve_backend(src, backend) == "torch" or src.numel() == 0 or num_segments == 0:
        return segment_reference(src, ptr, reduce)
    return _kernels().segment_reduce(_rows(src), ptr.contiguous(), None, reduce).view(num_segments, *src.shape[1:])


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
