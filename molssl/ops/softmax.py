"""``segment_softmax``: softmax over the rows of each segment (attention over a node's edges or a graph's nodes).

Dispatched as every operation (``molssl.ops.dispatch``), with the conventions of ``molssl.ops.scatter``.
On the Triton backend it always runs the segment kernel: with ``ptr``, through ``order``, else after a
stable sort of an unsorted index on every call.
"""

from __future__ import annotations

from torch import Tensor

from molssl.ops import dispatch
from molssl.ops.order import SegmentOrder
from molssl.ops.reference import softmax_reference


def segment_softmax(
    src: Tensor,
    index: Tensor,
    dim_size: int,
    *,
    ptr: Tensor | None = None,
    order: SegmentOrder | None = None,
    backend: str | None = None,
) -> Tensor:
    """Softmax of ``src`` over the rows of each segment.

    ``out[e] = exp(src[e]) / sum_{f : index[f] = index[e]} exp(src[f])``.

    The normalization of attention coefficients over a node's incoming edges in GAT (Velickovic et
    al., ICLR 2018) and over a graph's nodes in attention pooling (Li et al., ICLR 2016). Computed
    stably by subtracting each segment's maximum (a constant per segment, so it does not change the
    result or its gradient). Trailing dimensions (e.g. attention heads) are normalized independently.
    Entries equal to ``-inf`` get weight 0; a segment whose entries are all ``-inf`` gets all zeros.
    Always deterministic on the Triton backend (segment kernel, after a stable sort of an unsorted
    ``index`` unless ``ptr`` or ``order`` is given).

    Args:
        src: unnormalized scores, one row per element.
        index: segment id of each row, in ``[0, dim_size)``; any order.
        dim_size: number of segments, taken from the batch.
        ptr: optional CSR offsets of ``index`` when it is sorted (saves the Triton backend a sort).
        order: optional ``SegmentOrder`` of an unsorted ``index``, computed once and reused (saves
            the Triton backend the sort; see ``scatter``). Not together with ``ptr``.
        backend: ``"auto"``, ``"torch"`` or ``"triton"``; ``None`` uses the process-wide setting.

    Shapes:
        src: [E, *] -> out: [E, *]
        index: [E] (long), ptr: [S + 1] (long), order: perm [E], ptr [S + 1]
    """
    dispatch.check_index(src, index, dim_size)
    dispatch.check_offsets(src, dim_size, ptr, order)
    if dispatch.resolve_backend(src, backend) == "torch" or src.numel() == 0 or dim_size == 0:
        return softmax_reference(src, index, dim_size)
    kernels = dispatch.kernels()
    perm = None
    if order is not None:
        perm, ptr = order
    elif ptr is None:
        perm, ptr = dispatch.sort_index(index, dim_size)
    return kernels.segment_softmax(dispatch.rows(src), ptr.contiguous(), perm).view(src.shape)


__all__ = ["segment_softmax"]
