"""Segment (CSR) sum / mean / max / min: Triton kernels, launchers and their ``autograd.Function``.

Segment ``s`` owns rows ``ptr[s]:ptr[s + 1]`` of ``src`` (read through ``perm`` when given, which is
how an unsorted index is reduced deterministically: ``perm`` is its stable argsort). One program owns
a few consecutive segments and a block of features and walks each segment's rows in order, so every
output element is accumulated in a fixed order: the results are bitwise identical run to run, with no
atomics. Accumulation is in float32 (float64 for float64 inputs); the output has the input's dtype.

Forward::

    out[s] = reduce(src[perm[ptr[s]:ptr[s + 1]]])            (0 for an empty segment)

Backward (``g`` the gradient of ``out``)::

    sum:      grad[e] = g[s]
    mean:     grad[e] = g[s] / |s|
    max, min: grad[e] = g[s] / ties[s] where src[e] == out[s], else 0   (ties shared evenly, as torch)
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor
from torch.autograd.function import once_differentiable

from molssl.ops._triton.launch import (
    SegmentBlocks,
    accumulator,
    reduction_backward,
    save_reduction,
)
from molssl.ops._triton.reductions import max_along, min_along, sum_along
from molssl.ops._triton.tiles import (
    program_block,
    segment_bounds,
    segment_step,
    tile_offsets,
)


@triton.jit
def _segment_reduce_forward_kernel(
    src_ptr, offsets_ptr, perm_ptr, out_ptr,
    num_segments, num_features,
    REDUCE: tl.constexpr, HAS_PERM: tl.constexpr, ACC: tl.constexpr,
    BLOCK_S: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_F: tl.constexpr,
):  # fmt: skip
    segments, segment_mask, features, feature_mask = program_block(num_segments, num_features, BLOCK_S, BLOCK_F)
    start, length = segment_bounds(offsets_ptr, segments, segment_mask)  # [S] each

    if REDUCE == "max":
        neutral = float("-inf")
    elif REDUCE == "min":
        neutral = float("inf")
    else:
        neutral = 0.0
    acc = tl.full([BLOCK_S, BLOCK_F], neutral, ACC)
    nan_seen = tl.full([BLOCK_S, BLOCK_F], 0, tl.int32)
    for step in range(0, max_along(length, 0), BLOCK_E):
        offsets, mask = segment_step(
            step, start, length, perm_ptr, features, feature_mask, num_features, HAS_PERM, BLOCK_E
        )
        x = tl.load(src_ptr + offsets, mask=mask, other=neutral).to(ACC)  # [S, E, F]
        if REDUCE == "max" or REDUCE == "min":
            is_nan = x != x  # noqa: PLR0124 (the NaN test that every Triton version compiles)
            nan_seen = nan_seen | max_along(is_nan.to(tl.int32), 1)
        if REDUCE == "max":
            acc = tl.maximum(acc, max_along(x, 1))
        elif REDUCE == "min":
            acc = tl.minimum(acc, min_along(x, 1))
        else:
            acc += sum_along(x, 1)

    if REDUCE == "mean":
        acc = acc / tl.maximum(length.to(ACC), 1.0)[:, None]
    if REDUCE == "max" or REDUCE == "min":
        # GPU max/min instructions drop NaN; torch propagates it, and so do we
        acc = tl.where(nan_seen != 0, float("nan"), acc)
        acc = tl.where(length[:, None] > 0, acc, 0.0)
    out_offsets, out_mask = tile_offsets(segments, segment_mask, features, feature_mask, num_features)
    tl.store(out_ptr + out_offsets, acc.to(out_ptr.dtype.element_ty), mask=out_mask)


@triton.jit
def _segment_reduce_backward_kernel(
    grad_out_ptr, src_ptr, out_ptr, offsets_ptr, perm_ptr, grad_src_ptr,
    num_segments, num_features,
    REDUCE: tl.constexpr, HAS_PERM: tl.constexpr, ACC: tl.constexpr,
    BLOCK_S: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_F: tl.constexpr,
):  # fmt: skip
    segments, segment_mask, features, feature_mask = program_block(num_segments, num_features, BLOCK_S, BLOCK_F)
    start, length = segment_bounds(offsets_ptr, segments, segment_mask)
    out_offsets, out_mask = tile_offsets(segments, segment_mask, features, feature_mask, num_features)
    max_length = max_along(length, 0)

    grad = tl.load(grad_out_ptr + out_offsets, mask=out_mask, other=0.0).to(ACC)  # [S, F]
    if REDUCE == "mean":
        grad = grad / tl.maximum(length.to(ACC), 1.0)[:, None]
    if REDUCE == "max" or REDUCE == "min":
        best = tl.load(out_ptr + out_offsets, mask=out_mask, other=0.0).to(ACC)
        ties = tl.full([BLOCK_S, BLOCK_F], 0, ACC)
        for step in range(0, max_length, BLOCK_E):
            offsets, mask = segment_step(
                step, start, length, perm_ptr, features, feature_mask, num_features, HAS_PERM, BLOCK_E
            )
            x = tl.load(src_ptr + offsets, mask=mask, other=0.0)
            ties += sum_along(((x.to(ACC) == best[:, None, :]) & mask).to(ACC), 1)
        grad = grad / tl.maximum(ties, 1.0)

    for step in range(0, max_length, BLOCK_E):
        offsets, mask = segment_step(
            step, start, length, perm_ptr, features, feature_mask, num_features, HAS_PERM, BLOCK_E
        )
        if REDUCE == "max" or REDUCE == "min":
            x = tl.load(src_ptr + offsets, mask=mask, other=0.0).to(ACC)
            value = tl.where(x == best[:, None, :], grad[:, None, :], 0.0)
        else:
            value = tl.broadcast_to(grad[:, None, :], [BLOCK_S, BLOCK_E, BLOCK_F])
        tl.store(grad_src_ptr + offsets, value.to(grad_src_ptr.dtype.element_ty), mask=mask)


def segment_reduce_forward(src: Tensor, ptr: Tensor, perm: Tensor | None, reduce: str) -> Tensor:
    """Launch the forward kernel.

    Shapes:
        src: [E, F] (contiguous), ptr: [S + 1], perm: [E] or None -> [S, F]
    """
    num_rows, num_features = src.shape
    num_segments = ptr.numel() - 1
    out = src.new_empty((num_segments, num_features))
    blocks = SegmentBlocks.for_shape(num_rows, num_segments, num_features)
    _segment_reduce_forward_kernel[blocks.grid(num_segments, num_features)](
        src, ptr, ptr if perm is None else perm, out, num_segments, num_features,
        REDUCE=reduce, HAS_PERM=perm is not None, ACC=accumulator(src.dtype), **blocks.meta,
    )  # fmt: skip
    return out


def segment_reduce_backward(
    grad_out: Tensor, ptr: Tensor, perm: Tensor | None, src: Tensor | None, out: Tensor | None,
    reduce: str, num_rows: int, dtype: torch.dtype,
) -> Tensor:  # fmt: skip
    """Launch the backward kernel; ``src`` and ``out`` are needed for max and min only.

    Every row that belongs to a segment is written, so ``ptr`` (with ``perm``) must cover all rows.

    Shapes:
        grad_out: [S, F], ptr: [S + 1], perm: [E] or None, src: [E, F], out: [S, F] -> [E, F]
    """
    num_segments, num_features = grad_out.shape
    grad_out = grad_out.contiguous()
    grad_src = grad_out.new_empty((num_rows, num_features), dtype=dtype)
    blocks = SegmentBlocks.for_shape(num_rows, num_segments, num_features)
    _segment_reduce_backward_kernel[blocks.grid(num_segments, num_features)](
        grad_out, grad_out if src is None else src, grad_out if out is None else out, ptr,
        ptr if perm is None else perm, grad_src, num_segments, num_features,
        REDUCE=reduce, HAS_PERM=perm is not None, ACC=accumulator(dtype), **blocks.meta,
    )  # fmt: skip
    return grad_src


class SegmentReduce(torch.autograd.Function):
    """``out[s] = reduce(src[perm[ptr[s]:ptr[s + 1]]])`` with the Triton kernels (once differentiable).

    Shapes:
        src: [E, F] (contiguous), ptr: [S + 1], perm: [E] or None -> [S, F]
    """

    @staticmethod
    def forward(ctx, src: Tensor, ptr: Tensor, perm: Tensor | None, reduce: str) -> Tensor:  # type: ignore[override]
        out = segment_reduce_forward(src, ptr, perm, reduce)
        save_reduction(ctx, reduce, src, out, ptr, perm)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        return reduction_backward(ctx, grad_out, segment_reduce_backward)


def segment_reduce(src: Tensor, ptr: Tensor, perm: Tensor | None, reduce: str) -> Tensor:
    """Differentiable CSR reduction of the rows of ``src`` (see ``SegmentReduce``)."""
    return SegmentReduce.apply(src, ptr, perm, reduce)
