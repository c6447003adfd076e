"""Triton kernels behind ``molssl.ops``: one module per kernel family (kernels + launcher + autograd).

* ``segment_reduce``: sum/mean/max/min over CSR segments (sorted rows, or any rows through a stable
  argsort ``perm``); deterministic by construction.
* ``scatter_reduce``: sum/mean/max/min over an unsorted index with atomics (the fast general path).
* ``segment_softmax``: softmax over CSR segments (through ``perm`` for an unsorted index).

``launch`` holds what the launchers and ``autograd.Function``s share (shape-only block sizes, the
reductions' saved context), ``tiles`` the tile indexing and ``reductions`` the tile reductions the kernels use.

Importing this package imports Triton (``pip install 'molssl[gpu]'``); ``molssl.ops.dispatch`` does so
only when the Triton backend is selected. The kernels run on CUDA tensors, or on CPU tensors under
Triton's interpreter when ``TRITON_INTERPRET=1`` was set before this package was first imported
(``INTERPRETED`` says which).
"""

from __future__ import annotations

import triton
from triton.runtime.interpreter import InterpretedFunction

from molssl.ops._triton.scatter_reduce import (
    ScatterReduce,
    _scatter_forward_kernel,
    scatter_reduce,
)
from molssl.ops._triton.segment_reduce import SegmentReduce, segment_reduce
from molssl.ops._triton.segment_softmax import SegmentSoftmax, segment_softmax

#: whether the kernels were built for Triton's interpreter (CPU tensors) rather than compiled for a GPU
INTERPRETED: bool = isinstance(_scatter_forward_kernel, InterpretedFunction)

TRITON_VERSION: str = triton.__version__

__all__ = [
    "INTERPRETED",
    "TRITON_VERSION",
    "ScatterReduce",
    "SegmentReduce",
    "SegmentSoftmax",
    "scatter_reduce",
    "segment_reduce",
    "segment_softmax",
]
