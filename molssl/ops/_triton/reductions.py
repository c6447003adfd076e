"""Reductions along one axis of a tile, for the kernels: ``tl.reduce`` with combine functions of ours.

Triton's own ``tl.sum``, ``tl.max``, ``tl.min`` and ``tl.zeros`` are ``@triton.jit`` functions of its
standard library, built for the GPU or for the interpreter once, when Triton is first imported. Under
``TRITON_INTERPRET=1`` set after that import (``import torch_geometric`` imports Triton), interpreted
kernels cannot call them. These helpers are defined with the kernels and so always match their mode;
the kernels use only them and Triton builtins (``tl.reduce``, ``tl.full``, ``tl.maximum``, ...).

They hand ``tl.reduce`` the standard library's own combine functions when it has them: the
interpreter recognizes those and reduces with numpy instead of calling the combine function element
by element (it never calls them, so their mode does not matter), and the compiler builds the same
code as ``tl.sum``/``tl.max``/``tl.min``.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _add(a, b):
    return a + b


@triton.jit
def _maximum(a, b):
    return tl.maximum(a, b)


@triton.jit
def _minimum(a, b):
    return tl.minimum(a, b)


_standard = tl.standard
_ADD = getattr(_standard, "_sum_combine", _add)
_MAXIMUM = getattr(_standard, "_elementwise_max", _maximum)
_MINIMUM = getattr(_standard, "_elementwise_min", _minimum)


@triton.jit
def sum_along(x, axis: tl.constexpr):
    """Sum of ``x`` along ``axis`` (the axis is removed)."""
    return tl.reduce(x, axis, _ADD)


@triton.jit
def max_along(x, axis: tl.constexpr):
    """Maximum of ``x`` along ``axis``; NaN is not propagated (GPU ``max`` semantics)."""
    return tl.reduce(x, axis, _MAXIMUM)


@triton.jit
def min_along(x, axis: tl.constexpr):
    """Minimum of ``x`` along ``axis``; NaN is not propagated (GPU ``min`` semantics)."""
    return tl.reduce(x, axis, _MINIMUM)
