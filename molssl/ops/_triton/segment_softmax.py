"""Softmax over the rows of each segment (CSR): Triton kernels, launchers and ``autograd.Function``.

Segment ``s`` owns rows ``ptr[s]:ptr[s + 1]`` (through ``perm`` when given: the stable argsort of an
unsorted index). One program owns a few segments and a block of columns (attention heads) and makes
three ordered passes over each segment's rows (maximum, sum of exponentials, output), so the result
is deterministic. Accumulation is in float32 (float64 for float64 inputs).

Forward, with ``m[s]`` the segment maximum (0 where it is not finite, so that a segment of ``-inf``
gets all zeros rather than NaN)::

    out[e] = exp(src[e] - m[s]) / sum_{f in s} exp(src[f] - m[s])

Backward (``g`` the gradient of ``out``)::

    grad[e] = out[e] * (g[e] - sum_{f in s} g[f] out[f])
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor
from torch.autograd.function import once_differentiable

from molssl.ops._triton.launch import SegmentBlocks, accumulator
from molssl.ops._triton.reductions import max_along, sum_along
from molssl.ops._triton.tiles import program_block, segment_bounds, segment_step


@triton.jit
def _segment_softmax_forward_kernel(
    src_ptr, offsets_ptr, perm_ptr, out_ptr,
    num_segments, num_features,
    HAS_PERM: tl.constexpr, ACC: tl.constexpr,
    BLOCK_S: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_F: tl.constexpr,
):  # fmt: skip
    segments, segment_mask, features, feature_mask = program_block(num_segments, num_features, BLOCK_S, BLOCK_F)
    start, length = segment_bounds(offsets_ptr, segments, segment_mask)  # [S] each
    max_length = max_along(length, 0)

    shift = tl.full([BLOCK_S, BLOCK_F], float("-inf"), ACC)
    for step in range(0, max_length, BLOCK_E):
        offsets, mask = segment_step(
            step, start, length, perm_ptr, features, feature_mask, num_features, HAS_PERM, BLOCK_E
        )
        x = tl.load(src_ptr + offsets, mask=mask, other=float("-inf"))
        shift = tl.maximum(shift, max_along(x.to(ACC), 1))
    shift = tl.where((shift == float("inf")) | (shift == float("-inf")), 0.0, shift)

    total = tl.full([BLOCK_S, BLOCK_F], 0, ACC)
    for step in range(0, max_length, BLOCK_E):
        offsets, mask = segment_step(
            step, start, length, perm_ptr, features, feature_mask, num_features, HAS_PERM, BLOCK_E
        )
        x = tl.load(src_ptr + offsets, mask=mask, other=float("-inf"))
        total += sum_along(tl.exp(x.to(ACC) - shift[:, None, :]), 1)
    # the smallest normal float32, as torch.finfo(torch.float32).tiny in the reference
    total = tl.maximum(total, 1.1754943508222875e-38)

    for step in range(0, max_length, BLOCK_E):
        offsets, mask = segment_step(
            step, start, length, perm_ptr, features, feature_mask, num_features, HAS_PERM, BLOCK_E
        )
        x = tl.load(src_ptr + offsets, mask=mask, other=float("-inf"))
        value = tl.exp(x.to(ACC) - shift[:, None, :]) / total[:, None, :]
        tl.store(out_ptr + offsets, value.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _segment_softmax_backward_kernel(
    grad_out_ptr, out_ptr, offsets_ptr, perm_ptr, grad_src_ptr,
    num_segments, num_features,
    HAS_PERM: tl.constexpr, ACC: tl.constexpr,
    BLOCK_S: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_F: tl.constexpr,
):  # fmt: skip
    segments, segment_mask, features, feature_mask = program_block(num_segments, num_features, BLOCK_S, BLOCK_F)
    start, length = segment_bounds(offsets_ptr, segments, segment_mask)  # [S] each
    max_length = max_along(length, 0)

    dot = tl.full([BLOCK_S, BLOCK_F], 0, ACC)
    for step in range(0, max_length, BLOCK_E):
        offsets, mask = segment_step(
            step, start, length, perm_ptr, features, feature_mask, num_features, HAS_PERM, BLOCK_E
        )
        grad = tl.load(grad_out_ptr + offsets, mask=mask, other=0.0).to(ACC)
        out = tl.load(out_ptr + offsets, mask=mask, other=0.0).to(ACC)
        dot += sum_along(grad * out, 1)

    for step in range(0, max_length, BLOCK_E):
        offsets, mask = segment_step(
            step, start, length, perm_ptr, features, feature_mask, num_features, HAS_PERM, BLOCK_E
        )
        grad = tl.load(grad_out_ptr + offsets, mask=mask, other=0.0).to(ACC)
        out = tl.load(out_ptr + offsets, mask=mask, other=0.0).to(ACC)
        value = out * (grad - dot[:, None, :])
        tl.store(grad_src_ptr + offsets, value.to(grad_src_ptr.dtype.element_ty), mask=mask)


def segment_softmax_forward(src: Tensor, ptr: Tensor, perm: Tensor | None) -> Tensor:
    """Launch the forward kernel.

    Shapes:
        src: [E, H] (contiguous), ptr: [S + 1], perm: [E] or None -> [E, H]
    """
    num_rows, num_features = src.shape
    num_segments = ptr.numel() - 1
    out = torch.empty_like(src)
    blocks = SegmentBlocks.for_shape(num_rows, num_segments, num_features)
    _segment_softmax_forward_kernel[blocks.grid(num_segments, num_features)](
        src, ptr, ptr if perm is None else perm, out, num_segments, num_features,
        HAS_PERM=perm is not None, ACC=accumulator(src.dtype), **blocks.meta,
    )  # fmt: skip
    return out


def segment_softmax_backward(grad_out: Tensor, out: Tensor, ptr: Tensor, perm: Tensor | None) -> Tensor:
    """Launch the backward kernel.

    Shapes:
        grad_out: [E, H], out: [E, H], ptr: [S + 1], perm: [E] or None -> [E, H]
    """
    num_rows, num_features = out.shape
    num_segments = ptr.numel() - 1
    grad_out = grad_out.contiguous()
    grad_src = torch.empty_like(out)
    blocks = SegmentBlocks.for_shape(num_rows, num_segments, num_features)
    _segment_softmax_backward_kernel[blocks.grid(num_segments, num_features)](
        grad_out, out, ptr, ptr if perm is None else perm, grad_src, num_segments, num_features,
        HAS_PERM=perm is not None, ACC=accumulator(out.dtype), **blocks.meta,
    )  # fmt: skip
    return grad_src


class SegmentSoftmax(torch.autograd.Function):
    """Softmax over the rows of each CSR segment with the Triton kernels (once differentiable).

    Shapes:
        src: [E, H] (contiguous), ptr: [S + 1], perm: [E] or None -> [E, H]
    """

    @staticmethod
    def forward(ctx, src: Tensor, ptr: Tensor, perm: Tensor | None) -> Tensor:  # type: ignore[override]
        out = segment_softmax_forward(src, ptr, perm)
        ctx.save_for_backward(out, ptr, perm)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor | None, None, None]:  # type: ignore[override]
        if not ctx.needs_input_grad[0]:
            return None, None, None
        out, ptr, perm = ctx.saved_tensors
        return segment_softmax_backward(grad_out, out, ptr, perm), None, None


def segment_softmax(src: Tensor, ptr: Tensor, perm: Tensor | None) -> Tensor:
    """Differentiable softmax over CSR segments of the rows of ``src`` (see ``SegmentSoftmax``)."""
    return SegmentSoftmax.apply(src, ptr, perm)
