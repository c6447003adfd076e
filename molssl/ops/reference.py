"""Scatter and segment reductions in pure torch: the CPU path and the reference for the kernels.

The operations of ``molssl.ops`` run these functions on CPU tensors, whenever Triton or CUDA is missing, and
whenever the ``"torch"`` backend is selected; the Triton kernels in ``molssl.ops._triton`` are tested
against them. They are differentiable in ``src`` through torch's own autograd (higher-order gradients
included) and never synchronize with the device.

Conventions (shared with the kernels):

* ``index[e]`` is the segment of row ``e`` of ``src``, any order, each value in ``[0, dim_size)``;
  ``ptr`` is the CSR form of a sorted ``index``: the rows of segment ``s`` are ``ptr[s]:ptr[s + 1]``,
  with ``ptr[0] = 0`` and ``ptr[-1] = src.size(0)``.
* A segment without rows reduces to 0 for every reduction.
* float16 and bfloat16 inputs are accumulated in float32 and rounded once at the end, as the kernels
  do; other dtypes are accumulated in their own dtype.
* NaN propagates: a segment holding a NaN sums, averages, maxes and mins to NaN.
"""

from __future__ import annotations

import torch
from torch import Tensor

#: the reductions ``scatter`` and ``segment`` support
REDUCTIONS = ("sum", "mean", "max", "min")

_SCATTER_REDUCE = {"max": "amax", "min": "amin"}


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype sums are accumulated in: float32 for 16-bit floats, the input dtype otherwise."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _broadcast(index: Tensor, src: Tensor) -> Tensor:
    """``index`` [E] viewed as [E, 1, ..., 1] and expanded to the shape of ``src``."""
    return index.view(-1, *([1] * (src.dim() - 1))).expand_as(src)


def scatter_reference(src: Tensor, index: Tensor, dim_size: int, reduce: str = "sum") -> Tensor:
    """``out[s] = reduce({src[e] : index[e] == s})`` with ``index_add`` / ``scatter_reduce``.

    For ``max``/``min`` the gradient is shared evenly among tied maxima (minima), as
    ``torch.scatter_reduce`` does.

    Shapes:
        src: [E, *], index: [E] -> [dim_size, *]
    """
    out_shape = (dim_size, *src.shape[1:])
    if reduce not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduce!r}; valid reductions: {', '.join(REDUCTIONS)}")
    if reduce == "sum":
        acc = accumulation_dtype(src.dtype)
        return torch.zeros(out_shape, dtype=acc, device=src.device).index_add_(0, index, src.to(acc)).to(src.dtype)
    count_dtype = accumulation_dtype(src.dtype) if src.is_floating_point() else torch.float32
    count = torch.zeros(dim_size, dtype=count_dtype, device=src.device).index_add_(
        0, index, torch.ones(index.shape, dtype=count_dtype, device=src.device)
    )
    count = count.view(-1, *([1] * (src.dim() - 1)))
    if reduce == "mean":
        acc = accumulation_dtype(src.dtype)
        total = torch.zeros(out_shape, dtype=acc, device=src.device).index_add_(0, index, src.to(acc))
        mean = total / count.clamp_min(1)
        return mean.to(src.dtype) if src.is_floating_point() else mean
    # include_self=False keeps the initial values out of the result, but torch's backward still
    # counts an initial value equal to the result as a tie (halving the gradient of a maximum of
    # exactly 0); NaN equals nothing. A max or min is exact in any dtype, so no upcast.
    initial = src.new_full(out_shape, float("nan")) if src.is_floating_point() else src.new_zeros(out_shape)
    out = initial.scatter_reduce(
        0, _broadcast(index.long(), src), src, reduce=_SCATTER_REDUCE[reduce], include_self=False
    )
    return torch.where(count > 0, out, torch.zeros((), dtype=src.dtype, device=src.device))


def index_from_ptr(ptr: Tensor, num_rows: int) -> Tensor:
    """The sorted segment id of every row, from CSR offsets (``repeat_interleave``, no sync).

    Shapes:
        ptr: [S + 1] -> [num_rows]
    """
    counts = ptr[1:] - ptr[:-1]
    segments = torch.arange(counts.numel(), device=ptr.device)
    return torch.repeat_interleave(segments, counts, output_size=num_rows)


def segment_reference(src: Tensor, ptr: Tensor, reduce: str = "sum") -> Tensor:
    """``out[s] = reduce(src[ptr[s]:ptr[s + 1]])``, via the segment id of every row.

    Shapes:
        src: [E, *], ptr: [S + 1] -> [S, *]
    """
    return scatter_reference(src, index_from_ptr(ptr, src.size(0)), ptr.numel() - 1, reduce)


def softmax_reference(src: Tensor, index: Tensor, dim_size: int) -> Tensor:
    """Softmax of ``src`` over the rows of each segment, stabilized by each segment's maximum.

    Entries equal to ``-inf`` get weight 0; a segment whose entries are all ``-inf`` gets all zeros.

    Shapes:
        src: [E, *], index: [E] -> [E, *]
    """
    acc = accumulation_dtype(src.dtype)
    scores = src.to(acc)
    seg_max = scatter_reference(scores.detach(), index, dim_size, reduce="max")
    # a segment of all -inf would give -inf - (-inf) = nan; shifting it by 0 gives exp(-inf) = 0
    seg_max = torch.where(torch.isfinite(seg_max), seg_max, torch.zeros_like(seg_max))
    exp = (scores - seg_max.index_select(0, index)).exp()
    denom = scatter_reference(exp, index, dim_size, reduce="sum").index_select(0, index)
    return (exp / denom.clamp_min(torch.finfo(acc).tiny)).to(src.dtype)
