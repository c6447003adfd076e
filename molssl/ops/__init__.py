"""Scatter and segment reductions: one public entry point per operation, two backends behind them.

``scatter`` (any index order), ``segment`` (CSR offsets) and ``segment_softmax`` are what every layer
calls. They run the pure-torch reference (``molssl.ops.reference``) on CPU and wherever Triton or
CUDA is missing, and Triton kernels (``molssl.ops._triton``) on CUDA tensors; ``set_backend`` and
``use_backend`` force either one. ``segment_order`` sorts an index once (a ``SegmentOrder``) so that
every later call over it runs the kernels' segment path.

One file per operation (``scatter``, ``segment``, ``softmax``); ``dispatch`` holds the backend rules,
settings and argument checks they share (the rules are in its docstring); ``order`` the sorting of an
index (``SegmentOrder``, ``sort_segments``, ``ptr_from_index``); ``reference`` the pure-torch versions;
``adjacency`` the sparse-matrix path of a GIN layer's neighbour sum on CPU.
"""

from __future__ import annotations

from molssl.ops.dispatch import (
    BACKENDS,
    TRITON_DTYPES,
    get_backend,
    resolve_backend,
    set_backend,
    triton_available,
    use_backend,
)
from molssl.ops.order import SegmentOrder, ptr_from_index, segment_order, sort_segments
from molssl.ops.reference import REDUCTIONS
from molssl.ops.scatter import scatter
from molssl.ops.segment import segment
from molssl.ops.softmax import segment_softmax

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
