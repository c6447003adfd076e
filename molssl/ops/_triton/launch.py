"""What the kernel launchers and ``autograd.Function``s share: block sizes, dtypes, saved context.

The block choices depend only on tensor shapes (never on values), so a given problem always runs with
the same blocks and therefore the same reduction order: run-to-run determinism does not depend on
tuning. ``save_reduction`` and ``reduction_backward`` are the autograd plumbing of the two reductions
(``SegmentReduce``, ``ScatterReduce``), whose backward reads ``src`` and ``out`` for max and min only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import triton
import triton.language as tl
from torch import Tensor


def accumulator(dtype: torch.dtype) -> tl.dtype:
    """The Triton dtype the kernels accumulate ``dtype`` inputs in."""
    return tl.float64 if dtype == torch.float64 else tl.float32


def _floor_power_of_2(n: int) -> int:
    return 1 << (max(n, 1).bit_length() - 1)


def feature_block(num_features: int) -> int:
    """Features per program: the whole row up to 256, in 256-wide blocks beyond."""
    return min(triton.next_power_of_2(max(num_features, 1)), 256)


@dataclass(frozen=True)
class SegmentBlocks:
    """Tile of a CSR kernel program: ``segments`` segments x ``rows`` rows of each x ``features``.

    A program owns ``segments`` consecutive segments and one block of features, and walks each of its
    segments in order, ``rows`` rows per step, so short segments (2 bonds per atom) are handled many
    per program and long ones (25 atoms per graph) several rows per step.
    """

    segments: int
    rows: int
    features: int
    num_warps: int

    @classmethod
    def for_shape(cls, num_rows: int, num_segments: int, num_features: int) -> SegmentBlocks:
        # Sized from register counts of the sm_90 builds (ptxas): a segment's rows are read up to 16
        # (at most 2,048 elements) per step; several segments share a program only up to 1,024
        # elements, as each extra segment costs registers, except for narrow rows (softmax scores).
        features = feature_block(num_features)
        mean_length = num_rows // max(num_segments, 1)
        rows = max(1, min(_floor_power_of_2(mean_length), 16, 2048 // features))
        segments = _floor_power_of_2(max(1, min(1024 // (rows * features), max(4, 256 // features))))
        num_warps = max(1, min(8, segments * rows * features // 256))
        return cls(segments, rows, features, num_warps)

    def grid(self, num_segments: int, num_features: int) -> tuple[int, int]:
        return (triton.cdiv(num_segments, self.segments), triton.cdiv(num_features, self.features))

    @property
    def meta(self) -> dict[str, int]:
        """The launch keywords of a CSR kernel: ``BLOCK_S``, ``BLOCK_E``, ``BLOCK_F`` and ``num_warps``."""
        return {"BLOCK_S": self.segments, "BLOCK_E": self.rows, "BLOCK_F": self.features, "num_warps": self.num_warps}


@dataclass(frozen=True)
class RowBlocks:
    """Tile of a row-parallel kernel program (the atomic scatter): ``rows`` x ``features``."""

    rows: int
    features: int
    num_warps: int

    @classmethod
    def for_shape(cls, num_features: int) -> RowBlocks:
        features = feature_block(num_features)
        rows = max(1, min(128, 2048 // features))
        return cls(rows, features, max(1, min(8, rows * features // 256)))

    def grid(self, num_rows: int, num_features: int) -> tuple[int, int]:
        return (triton.cdiv(num_rows, self.rows), triton.cdiv(num_features, self.features))

    @property
    def meta(self) -> dict[str, int]:
        """The launch keywords of a row-parallel kernel: ``BLOCK_E``, ``BLOCK_F`` and ``num_warps``."""
        return {"BLOCK_E": self.rows, "BLOCK_F": self.features, "num_warps": self.num_warps}


def save_reduction(ctx: Any, reduce: str, src: Tensor, out: Tensor, *layout: Tensor | None) -> None:
    """Save what a reduction's backward reads: ``layout`` always, ``src`` and ``out`` for max and min only.

    ``layout`` is how rows map to segments (``ptr, perm`` or ``index, count``); sum and mean need no values.
    """
    ctx.reduce, ctx.num_rows, ctx.dtype = reduce, src.size(0), src.dtype
    extreme = reduce in ("max", "min")
    ctx.save_for_backward(*layout, src if extreme else None, out if extreme else None)


def reduction_backward(ctx: Any, grad_out: Tensor, launch: Callable[..., Tensor]) -> tuple[Tensor | None, ...]:
    """The gradients of a reduction saved by ``save_reduction``: ``launch`` for ``src``, None for the rest.

    ``launch(grad_out, *layout, src, out, reduce, num_rows, dtype)`` is the backward launcher.
    """
    others = (None,) * (len(ctx.needs_input_grad) - 1)
    if not ctx.needs_input_grad[0]:
        return (None, *others)
    return (launch(grad_out, *ctx.saved_tensors, ctx.reduce, ctx.num_rows, ctx.dtype), *others)
