"""``segment``: reductions over CSR offsets (the rows of each segment contiguous).

When the rows of each segment are contiguous (the nodes of each graph in a PyG batch, with
``batch.ptr``; messages sorted by target atom once at collate), a reduction needs no atomics: the
Triton backend walks each segment in order, which is faster for short segments and deterministic.

``ptr`` holds S + 1 offsets: segment ``s`` is rows ``ptr[s]:ptr[s + 1]``, ``ptr[0] = 0`` and
``ptr[-1] = src.size(0)``. The number of segments is ``ptr.numel() - 1`` (a shape, so no device
synchronization). ``molssl.ops.order`` turns an index into offsets (``ptr_from_index``, ``sort_segments``).
"""

from __future__ import annotations

from torch import Tensor

from molssl.ops import dispatch
from molssl.ops.reference import REDUCTIONS, segment_reference


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
    dispatch.check_ptr(ptr, src.size(0))
    if ptr.device != src.device:
        raise ValueError(f"ptr is on {ptr.device} but src on {src.device}; put them on the same device")
    num_segments = ptr.numel() - 1
    if dispatch.resolve_backend(src, backend) == "torch" or src.numel() == 0 or num_segments == 0:
        return segment_reference(src, ptr, reduce)
    return dispatch.kernels().segment_reduce(dispatch.rows(src), ptr.contiguous(), None, reduce).view(num_segments, *src.shape[1:])


__all__ = ["segment"]
