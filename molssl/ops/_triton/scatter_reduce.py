"""Scatter sum / mean / max / min over an unsorted index with atomics: kernels, launchers, autograd.

The fast path for an index in any order (messages to their target atoms): each program reads a block
of rows and features and adds (or maxes) them into a float32 buffer with atomics, counting each
segment's rows alongside; a second kernel divides (mean), zeroes empty segments and casts. Float
addition is not associative, so sums and means may differ in the last bits from run to run; max and
min are order-independent and therefore deterministic, and so are the integer row and tie counts. For
bitwise-reproducible sums the dispatch sorts the index and uses the segment kernels instead.

Float atomic max/min are done on the integer bit patterns (signed max for non-negative floats,
unsigned min for negative ones, and the reverse for min), with NaN canonicalized to the pattern that
wins both comparisons, so a NaN propagates as in torch.

Rows whose segment id lies outside ``[0, dim_size)`` are masked out (they reduce nowhere and get a zero
gradient): checking the index would cost a host synchronization, and an unmasked atomic would write
outside the output.

Backward (``g`` the gradient of ``out``, ``s = index[e]``)::

    sum:      grad[e] = g[s]
    mean:     grad[e] = g[s] / count[s]
    max, min: grad[e] = g[s] / ties[s] where src[e] == out[s], else 0   (ties counted by atomics)
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor
from torch.autograd.function import once_differentiable

from molssl.ops._triton.launch import (
    RowBlocks,
    SegmentBlocks,
    reduction_backward,
    save_reduction,
)
from molssl.ops._triton.tiles import program_block, row_segments, tile_offsets


@triton.jit
def _atomic_extreme(pointer, value, mask, IS_MAX: tl.constexpr):
    """Atomic float32 max (``IS_MAX``) or min of ``value`` into ``*pointer``, NaN propagating.

    NaN becomes 0x7FC00000 for max (above every float under signed max / unsigned min) and
    0xFFC00000 (as int32: -0x400000) for min (below every float under signed min / unsigned max).
    """
    bits = value.to(tl.int32, bitcast=True)
    is_nan = value != value  # noqa: PLR0124 (the NaN test that every Triton version compiles)
    if IS_MAX:
        bits = tl.where(is_nan, 0x7FC00000, bits)
    else:
        bits = tl.where(is_nan, -0x00400000, bits)
    sign_set = bits < 0
    sign_clear = bits >= 0
    signed = pointer.to(tl.pointer_type(tl.int32), bitcast=True)
    unsigned = pointer.to(tl.pointer_type(tl.uint32), bitcast=True)
    if IS_MAX:
        tl.atomic_max(signed, bits, mask=mask & sign_clear, sem="relaxed")
        tl.atomic_min(unsigned, bits.to(tl.uint32, bitcast=True), mask=mask & sign_set, sem="relaxed")
    else:
        tl.atomic_min(signed, bits, mask=mask & sign_clear, sem="relaxed")
        tl.atomic_max(unsigned, bits.to(tl.uint32, bitcast=True), mask=mask & sign_set, sem="relaxed")


@triton.jit
def _scatter_forward_kernel(
    src_ptr, index_ptr, acc_ptr, count_ptr,
    num_rows, num_segments, num_features,
    REDUCE: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_F: tl.constexpr,
):  # fmt: skip
    rows, row_mask, features, feature_mask = program_block(num_rows, num_features, BLOCK_E, BLOCK_F)
    segment, in_range = row_segments(index_ptr, rows, row_mask, num_segments)  # never write out of bounds
    row_offsets, _ = tile_offsets(rows, row_mask, features, feature_mask, num_features)
    segment_offsets, mask = tile_offsets(segment, in_range, features, feature_mask, num_features)
    x = tl.load(src_ptr + row_offsets, mask=mask, other=0.0).to(tl.float32)
    target = acc_ptr + segment_offsets
    if REDUCE == "max":
        _atomic_extreme(target, x, mask, True)
    elif REDUCE == "min":
        _atomic_extreme(target, x, mask, False)
    else:
        tl.atomic_add(target, x, mask=mask, sem="relaxed")
    if REDUCE != "sum":  # noqa: SIM102 (a compile-time test around a run-time one)
        if tl.program_id(1) == 0:
            tl.atomic_add(count_ptr + segment, tl.full([BLOCK_E], 1, tl.int32), mask=in_range, sem="relaxed")


@triton.jit
def _scatter_finalize_kernel(
    acc_ptr, count_ptr, out_ptr,
    num_segments, num_features,
    REDUCE: tl.constexpr, BLOCK_S: tl.constexpr, BLOCK_F: tl.constexpr,
):  # fmt: skip
    segments, segment_mask, features, feature_mask = program_block(num_segments, num_features, BLOCK_S, BLOCK_F)
    offsets, mask = tile_offsets(segments, segment_mask, features, feature_mask, num_features)
    acc = tl.load(acc_ptr + offsets, mask=mask, other=0.0)
    if REDUCE != "sum":
        count = tl.load(count_ptr + segments, mask=segment_mask, other=0)[:, None]
        if REDUCE == "mean":
            acc = acc / tl.maximum(count, 1).to(tl.float32)
        else:
            acc = tl.where(count > 0, acc, 0.0)
    tl.store(out_ptr + offsets, acc.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _scatter_ties_kernel(
    src_ptr, index_ptr, out_ptr, ties_ptr,
    num_rows, num_segments, num_features,
    BLOCK_E: tl.constexpr, BLOCK_F: tl.constexpr,
):  # fmt: skip
    rows, row_mask, features, feature_mask = program_block(num_rows, num_features, BLOCK_E, BLOCK_F)
    segment, in_range = row_segments(index_ptr, rows, row_mask, num_segments)
    row_offsets, _ = tile_offsets(rows, row_mask, features, feature_mask, num_features)
    segment_offsets, mask = tile_offsets(segment, in_range, features, feature_mask, num_features)
    x = tl.load(src_ptr + row_offsets, mask=mask, other=0.0)
    best = tl.load(out_ptr + segment_offsets, mask=mask, other=0.0)
    hit = mask & (x.to(tl.float32) == best.to(tl.float32))
    tl.atomic_add(ties_ptr + segment_offsets, tl.full([BLOCK_E, BLOCK_F], 1, tl.int32), mask=hit, sem="relaxed")


@triton.jit
def _scatter_backward_kernel(
    grad_out_ptr, index_ptr, count_ptr, src_ptr, out_ptr, ties_ptr, grad_src_ptr,
    num_rows, num_segments, num_features,
    REDUCE: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_F: tl.constexpr,
):  # fmt: skip
    rows, row_mask, features, feature_mask = program_block(num_rows, num_features, BLOCK_E, BLOCK_F)
    segment, in_range = row_segments(index_ptr, rows, row_mask, num_segments)  # other rows get a zero gradient
    row_offsets, mask = tile_offsets(rows, row_mask, features, feature_mask, num_features)
    segment_offsets, read = tile_offsets(segment, in_range, features, feature_mask, num_features)
    grad = tl.load(grad_out_ptr + segment_offsets, mask=read, other=0.0).to(tl.float32)
    if REDUCE == "mean":
        count = tl.load(count_ptr + segment, mask=in_range, other=1)
        grad = grad / tl.maximum(count, 1).to(tl.float32)[:, None]
    if REDUCE == "max" or REDUCE == "min":
        x = tl.load(src_ptr + row_offsets, mask=mask, other=0.0).to(tl.float32)
        best = tl.load(out_ptr + segment_offsets, mask=read, other=0.0).to(tl.float32)
        ties = tl.load(ties_ptr + segment_offsets, mask=read, other=1)
        grad = tl.where(x == best, grad / tl.maximum(ties, 1).to(tl.float32), 0.0)
    tl.store(grad_src_ptr + row_offsets, grad.to(grad_src_ptr.dtype.element_ty), mask=mask)


def scatter_reduce_forward(src: Tensor, index: Tensor, dim_size: int, reduce: str) -> tuple[Tensor, Tensor | None]:
    """Launch the atomic forward and the finalize kernel; returns the output and the row counts.

    Shapes:
        src: [E, F] (contiguous, 16- or 32-bit float), index: [E] -> [dim_size, F], [dim_size] (int32)
    """
    num_rows, num_features = src.shape
    if reduce == "max":
        acc = torch.full((dim_size, num_features), float("-inf"), dtype=torch.float32, device=src.device)
    elif reduce == "min":
        acc = torch.full((dim_size, num_features), float("inf"), dtype=torch.float32, device=src.device)
    else:
        acc = torch.zeros((dim_size, num_features), dtype=torch.float32, device=src.device)
    count = None if reduce == "sum" else torch.zeros(dim_size, dtype=torch.int32, device=src.device)
    rows = RowBlocks.for_shape(num_features)
    _scatter_forward_kernel[rows.grid(num_rows, num_features)](
        src, index, acc, acc if count is None else count, num_rows, dim_size, num_features,
        REDUCE=reduce, **rows.meta,
    )  # fmt: skip
    if reduce == "sum" and src.dtype == torch.float32:
        return acc, count
    out = acc if src.dtype == torch.float32 else torch.empty_like(acc, dtype=src.dtype)
    blocks = SegmentBlocks.for_shape(dim_size, dim_size, num_features)
    _scatter_finalize_kernel[blocks.grid(dim_size, num_features)](
        acc, acc if count is None else count, out, dim_size, num_features,
        REDUCE=reduce, BLOCK_S=blocks.segments, BLOCK_F=blocks.features, num_warps=blocks.num_warps,
    )  # fmt: skip
    return out, count


def scatter_reduce_backward(
    grad_out: Tensor, index: Tensor, count: Tensor | None, src: Tensor | None, out: Tensor | None,
    reduce: str, num_rows: int, dtype: torch.dtype,
) -> Tensor:  # fmt: skip
    """Launch the backward kernels (tie counting first, for max and min).

    Shapes:
        grad_out: [S, F], index: [E], count: [S], src: [E, F], out: [S, F] -> [E, F]
    """
    num_segments, num_features = grad_out.shape
    grad_out = grad_out.contiguous()
    grad_src = grad_out.new_empty((num_rows, num_features), dtype=dtype)
    rows = RowBlocks.for_shape(num_features)
    grid = rows.grid(num_rows, num_features)
    ties = None
    if reduce in ("max", "min"):
        ties = torch.zeros((num_segments, num_features), dtype=torch.int32, device=grad_out.device)
        _scatter_ties_kernel[grid](
            src, index, out, ties, num_rows, num_segments, num_features, **rows.meta,
        )  # fmt: skip
    _scatter_backward_kernel[grid](
        grad_out, index, grad_out if count is None else count, grad_out if src is None else src,
        grad_out if out is None else out, grad_out if ties is None else ties, grad_src,
        num_rows, num_segments, num_features, REDUCE=reduce, **rows.meta,
    )  # fmt: skip
    return grad_src


class ScatterReduce(torch.autograd.Function):
    """``out[s] = reduce({src[e] : index[e] == s})`` with atomics (once differentiable).

    Shapes:
        src: [E, F] (contiguous, 16- or 32-bit float), index: [E] -> [dim_size, F]
    """

    @staticmethod
    def forward(ctx, src: Tensor, index: Tensor, dim_size: int, reduce: str) -> Tensor:  # type: ignore[override]
        out, count = scatter_reduce_forward(src, index, dim_size, reduce)
        save_reduction(ctx, reduce, src, out, index, count)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        return reduction_backward(ctx, grad_out, scatter_reduce_backward)


def scatter_reduce(src: Tensor, index: Tensor, dim_size: int, reduce: str) -> Tensor:
    """Differentiable atomic scatter of the rows of ``src`` (see ``ScatterReduce``)."""
    return ScatterReduce.apply(src, index, dim_size, reduce)
