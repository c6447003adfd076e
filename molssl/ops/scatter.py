"""``scatter``: reduce the rows of ``src`` that share a segment id, over dimension 0.

Message-passing layers, readouts and losses call ``scatter``, ``segment`` (``molssl.ops.segment``)
and ``segment_softmax`` (``molssl.ops.softmax``) and nothing below them; ``molssl.ops.dispatch`` says
which backend runs. Which Triton kernel runs:

* the CSR segment kernel when the caller passes ``ptr`` (the offsets of a sorted ``index``, e.g. PyG's
  ``batch.ptr`` for pooling) or calls ``segment``;
* the same kernel reading ``src`` through ``order.perm`` when the caller passes ``order``, a
  ``molssl.ops.SegmentOrder`` (the stable sort of an unsorted ``index``, computed once with
  ``segment_order(index, dim_size)`` and reused by every call over that index: the encoders sort
  ``edge_index[1]`` once per forward and hand it to every layer). Every reduction, no atomics, no
  per-call sort, deterministic whatever the setting;
* otherwise, for an unsorted ``index``: atomics (sum, mean, max, min), or in deterministic mode a stable
  sort of ``index`` on every call followed by the segment kernel (sum, mean; max and min are
  order-independent, so their atomics are already deterministic). float64 inputs always take the
  sort and the segment kernel.

Conventions shared by every operation:

* ``index[e]`` is the segment (node, graph, ...) that row ``e`` of ``src`` belongs to; it need not be
  sorted, and every value must lie in ``[0, dim_size)``. The reference raises on a value outside it
  (a device assert on CUDA); the kernels do not check (that would be a host synchronization) but
  never read or write out of bounds: such rows reduce nowhere and their gradient is unspecified.
* ``dim_size`` (the number of segments) is always given by the caller, from the batch
  (``x.size(0)``, ``batch.num_graphs``). It is never inferred as ``index.max() + 1``: that would be a
  host-device synchronization and would silently drop trailing segments that receive no rows.
* A segment that receives no rows reduces to 0; NaN propagates.
"""

from __future__ import annotations

import torch
from torch import Tensor

from molssl.ops import dispatch
from molssl.ops.order import SegmentOrder
from molssl.ops.reference import REDUCTIONS, scatter_reference


def scatter(
    src: Tensor,
    index: Tensor,
    dim_size: int,
    reduce: str = "sum",
    *,
    ptr: Tensor | None = None,
    order: SegmentOrder | None = None,
    backend: str | None = None,
    deterministic: bool | None = None,
) -> Tensor:
    """Reduce the rows of ``src`` that share a segment id: ``out[s] = reduce({src[e] : index[e] == s})``.

    The aggregation step of message passing (Gilmer et al., "Neural Message Passing for Quantum
    Chemistry", ICML 2017) and of graph pooling. Differentiable in ``src``; for ``max``/``min`` the
    gradient is shared evenly among tied maxima (minima), as ``torch.scatter_reduce`` does.

    Args:
        src: values to reduce, one row per element (edge, node, ...).
        index: segment id of each row of ``src``, in ``[0, dim_size)``; any order.
        dim_size: number of segments S, taken from the batch (e.g. ``x.size(0)`` or
            ``batch.num_graphs``), never from ``index``.
        reduce: one of ``"sum"``, ``"mean"``, ``"max"``, ``"min"``.
        ptr: optional CSR offsets of ``index`` when it is sorted (PyG's ``batch.ptr`` for pooling):
            segment ``s`` is rows ``ptr[s]:ptr[s + 1]``. Lets the Triton backend use the segment
            kernel (no atomics, no sort); the reference ignores it. Must agree with ``index``.
        order: optional ``SegmentOrder`` of ``index`` (``segment_order(index, dim_size)``), computed
            once and shared by every call over the same ``index``: the Triton backend then runs the
            segment kernel through ``order.perm`` (no atomics, no sort, deterministic); the
            reference ignores it. Must be the order of ``index``; not together with ``ptr``.
        backend: ``"auto"``, ``"torch"`` or ``"triton"``; ``None`` uses the process-wide setting.
        deterministic: bitwise-reproducible Triton results; ``None`` uses the process-wide setting.

    Returns:
        The reduced values; segments that receive no rows are 0 for every reduction.

    Shapes:
        src: [E, *] -> out: [S, *]
        index: [E] (long), ptr: [S + 1] (long), order: perm [E], ptr [S + 1]
    """
    dispatch.check_index(src, index, dim_size)
    if reduce not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduce!r}; valid reductions: {', '.join(REDUCTIONS)}")
    dispatch.check_offsets(src, dim_size, ptr, order)
    if dispatch.resolve_backend(src, backend) == "torch" or src.numel() == 0 or dim_size == 0:
        return scatter_reference(src, index, dim_size, reduce)
    kernels = dispatch.kernels()
    rows = dispatch.rows(src)
    if ptr is not None:
        out = kernels.segment_reduce(rows, ptr.contiguous(), None, reduce)
    elif order is not None:
        out = kernels.segment_reduce(rows, order.ptr.contiguous(), order.perm.contiguous(), reduce)
    elif src.dtype == torch.float64 or (reduce in ("sum", "mean") and dispatch.resolve_deterministic(deterministic)):
        perm, sorted_ptr = dispatch.sort_index(index, dim_size)
        out = kernels.segment_reduce(rows, sorted_ptr, perm, reduce)
    else:
        out = kernels.scatter_reduce(rows, index.contiguous(), dim_size, reduce)
    return out.view(dim_size, *src.shape[1:])


__all__ = ["scatter"]
