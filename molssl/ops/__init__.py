"""Scatter and segment reductions: one public entry point per operation, two backends behind them.

``scatter`` (any index order), ``segment`` (CSR offsets) and ``segment_softmax`` are what every layer
calls. They run the pure-torch reference (``molssl.ops.reference``) on CPU and wherever Triton or
CUDA is missing, and Triton kernels (``molssl.ops._triton``) on CUDA tensors; ``set_backend`` and
``use_backend`` force either one. ``segment_order`` sorts an index once (a ``SegmentOrder``) so that
every later call over it runs the kernels' segment path. The rules are in ``molssl.ops.scatter``.
"""

from __future__ import annotations

from molssl.ops.order import SegmentOrder, segment_order
from molssl.ops.reference import REDUCTIONS
from molssl.ops.scatter import (
    BACKENDS,
    TRITON_DTYPES,
    get_backend,
    resolve_backend,
    scatter,
    segment_softmax,
    set_backend,
    triton_available,
    use_backend,
)
from molssl.ops.segment import ptr_from_index, segment, sort_segments

__all__ = [
    "BACKENDS",
    "REDUCTIONS",
    "TRITON_DTYPES",
    "SegmentOrder",
    "get_backend",
    "ptr_from_index",
    "resolve_backend",
    "scatter",
    "segment",
    "segment_order",
    "segment_softmax",
    "set_backend",
    "sort_segments",
    "triton_available",
    "use_backend",
]
