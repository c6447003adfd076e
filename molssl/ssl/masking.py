"""Random masks for masked modeling: Bernoulli, exact-ratio per segment, and spans or blocks.

Masked-feature pretraining hides a fraction of the inputs and predicts them: atoms of each molecule in
Hu et al.'s attribute masking ("Strategies for Pre-training Graph Neural Networks", ICLR 2020) and in
GraphMAE (Hou et al., KDD 2022); spans of a sequence in SpanBERT (Joshi et al., TACL 2020) and
wav2vec 2.0 (Baevski et al., NeurIPS 2020); patches or blocks of patches of an image in MAE (He et al.,
CVPR 2022) and BEiT (Bao et al., ICLR 2022). Every function draws from an optional ``torch.Generator``,
so a seed fixes the mask, and is vectorized: no Python loop over samples or segments.

A mask is a bool tensor, ``True`` where the input is hidden.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from molssl.ssl.checks import check_positive_int, check_unit_interval

#: how ``rate * n`` becomes a count: "round" (half up), "ceil" or "floor"
ROUNDINGS = ("round", "ceil", "floor")

# rate * n is snapped to an integer this close, so that 0.07 * 100 (7.000000000000001) counts 7 under "ceil"
_SNAP = 1e-9


def _check_rounding(rounding: str) -> None:
    if rounding not in ROUNDINGS:
        raise ValueError(f"unknown rounding {rounding!r}; valid roundings: {', '.join(ROUNDINGS)}")


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return value


def _round_tensor(x: Tensor, rounding: str) -> Tensor:
    nearest = torch.floor(x + 0.5)
    x = torch.where((x - nearest).abs() < _SNAP, nearest, x)
    if rounding == "ceil":
        return torch.ceil(x)
    if rounding == "floor":
        return torch.floor(x)
    return torch.floor(x + 0.5)


def _round_number(x: float, rounding: str) -> int:
    nearest = math.floor(x + 0.5)
    if abs(x - nearest) < _SNAP:
        x = nearest
    if rounding == "ceil":
        return math.ceil(x)
    if rounding == "floor":
        return math.floor(x)
    return math.floor(x + 0.5)


def _resolve_device(device: torch.device | str | None, generator: torch.Generator | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    return generator.device if generator is not None else torch.device("cpu")


def random_mask(
    shape: int | tuple[int, ...],
    rate: float,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Independent Bernoulli mask: every element is hidden with probability ``rate``.

    The count varies from draw to draw (and may be 0); ``ratio_mask`` hides an exact number per segment.

    Args:
        shape: shape of the mask.
        rate: probability in [0, 1] of hiding an element.
        generator: source of randomness; its device is used when ``device`` is ``None``.
        device: device of the mask.

    Shapes:
        output: ``shape`` (bool)
    """
    rate = check_unit_interval("rate", rate)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return torch.rand(shape, generator=generator, device=_resolve_device(device, generator)) < rate


def segment_mask_counts(counts: Tensor, rate: float, *, rounding: str = "round", min_count: int = 1) -> Tensor:
    """How many elements ``ratio_mask`` hides in each segment: ``clamp(rounding(rate * n), min_count, n)``.

    Shapes:
        counts: [B] (integer sizes n of the segments) -> output: [B] (long)
    """
    rate = check_unit_interval("rate", rate)
    _check_rounding(rounding)
    _check_count("min_count", min_count)
    counts = counts.long()
    wanted = _round_tensor(counts.double() * rate, rounding).long()
    return torch.minimum(wanted.clamp(min=min_count), counts)


def ratio_mask(
    ptr: Tensor,
    rate: float,
    *,
    num_elements: int | None = None,
    rounding: str = "round",
    min_count: int = 1,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Hide exactly ``clamp(rounding(rate * n), min_count, n)`` random elements of every segment.

    Segment ``s`` is elements ``ptr[s]:ptr[s + 1]`` (the atoms of molecule ``s`` with a PyG batch's
    ``ptr``). With the default ``min_count=1`` every non-empty segment has at least one hidden element,
    so every molecule contributes to a masked-atom loss. (Hu et al.'s attribute masking hides
    ``int(rate * n + 1)`` atoms per molecule: ``rounding="ceil"`` except where ``rate * n`` is an
    integer.) Within a segment all subsets of that size are equally
    likely: a random permutation of all elements is stably sorted by segment, and the first ``k`` of
    each segment are hidden.

    Args:
        ptr: B + 1 offsets, ``ptr[0] = 0``, non-decreasing (not checked: that would synchronize).
        rate: fraction in [0, 1] of each segment to hide.
        num_elements: ``ptr[-1]``, the total number of elements (e.g. ``batch.num_nodes``); ``None``
            reads it from ``ptr``, a device synchronization on an accelerator.
        rounding: one of ``ROUNDINGS``; ``rate * n`` within 1e-9 of an integer counts as that integer.
        min_count: fewest elements hidden per segment (never more than the segment holds).
        generator: source of randomness, on ``ptr``'s device.

    Shapes:
        ptr: [B + 1] (integer) -> output: [N] (bool), N = ``num_elements``

    Raises:
        ValueError: for a ``ptr`` that is not a 1-D integer tensor, or invalid ``rate``, ``rounding``
            or ``min_count``.
    """
    if ptr.dim() != 1 or ptr.numel() < 1 or ptr.is_floating_point() or ptr.dtype == torch.bool:
        raise ValueError(f"ptr must be a 1-D integer tensor of B + 1 offsets, got {ptr.dtype} {tuple(ptr.shape)}")
    counts = ptr[1:] - ptr[:-1]  # [B]
    wanted = segment_mask_counts(counts, rate, rounding=rounding, min_count=min_count)  # [B]
    n = int(ptr[-1]) if num_elements is None else _check_count("num_elements", num_elements)
    device = ptr.device
    ptr = ptr.long()
    elements = torch.arange(n, device=device)
    segment = torch.searchsorted(ptr[1:], elements, right=True)  # [N], segment of each element
    perm = torch.randperm(n, generator=generator, device=device)
    order = perm[torch.argsort(segment[perm], stable=True)]  # [N], grouped by segment, shuffled within
    # segment[order] == segment, so element order[j] has rank j - ptr[segment[j]] within its segment
    rank_in_segment = elements - ptr[segment]
    mask = torch.empty(n, dtype=torch.bool, device=device)
    mask[order] = rank_in_segment < wanted[segment]
    return mask


def span_mask(
    batch_size: int,
    length: int,
    rate: float,
    span_length: int = 1,
    *,
    min_spans: int = 1,
    rounding: str = "round",
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Hide ``k`` non-overlapping spans of ``span_length`` positions in every row of a [B, L] sequence batch.

    ``k = clamp(rounding(rate * L / span_length), min_spans, L // span_length)``, so every row hides
    exactly ``k * span_length`` positions (contiguous spans as in SpanBERT and wav2vec 2.0, but of fixed
    length and never overlapping). Every placement is equally likely: ``k`` of the
    ``L - k * (span_length - 1)`` slots of the arrangement "k spans among L - k * span_length visible
    positions" are drawn, and span ``j`` starts at its slot plus ``j * (span_length - 1)``.
    ``span_length=1`` is MAE's random masking of exactly ``k`` patches.

    Args:
        batch_size: number of rows B.
        length: positions per row L.
        rate: target fraction in [0, 1] of each row to hide.
        span_length: positions per span, in [1, L].
        min_spans: fewest spans per row.
        rounding: one of ``ROUNDINGS``.
        generator: source of randomness; its device is used when ``device`` is ``None``.
        device: device of the mask.

    Shapes:
        output: [B, L] (bool)
    """
    check_positive_int("batch_size", batch_size)
    check_positive_int("length", length)
    rate = check_unit_interval("rate", rate)
    check_positive_int("span_length", span_length)
    if span_length > length:
        raise ValueError(f"span_length {span_length} exceeds the sequence length {length}")
    _check_count("min_spans", min_spans)
    _check_rounding(rounding)
    device = _resolve_device(device, generator)
    max_spans = length // span_length
    k = min(max(_round_number(rate * length / span_length, rounding), min_spans), max_spans)
    mask = torch.zeros(batch_size, length, dtype=torch.bool, device=device)
    if k == 0:
        return mask
    slots = length - k * (span_length - 1)
    noise = torch.rand(batch_size, slots, generator=generator, device=device)
    chosen = torch.sort(torch.argsort(noise, dim=1)[:, :k], dim=1).values  # [B, k], distinct, increasing
    starts = chosen + torch.arange(k, device=device) * (span_length - 1)  # [B, k]
    positions = (starts.unsqueeze(2) + torch.arange(span_length, device=device)).reshape(batch_size, -1)  # [B, k*s]
    return mask.scatter_(1, positions, True)


def block_mask(
    batch_size: int,
    height: int,
    width: int,
    rate: float,
    block_size: int | tuple[int, int] = 1,
    *,
    min_blocks: int = 1,
    rounding: str = "round",
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Hide exactly ``k`` random blocks of a grid of image patches (MAE with 1x1 blocks; BEiT-like blocks).

    The ``height x width`` patch grid is tiled by ``block_size`` blocks and
    ``k = clamp(rounding(rate * num_blocks), min_blocks, num_blocks)`` of them are hidden in every image,
    each subset equally likely.

    Args:
        batch_size: number of images B.
        height, width: patches per column and per row; multiples of the block's height and width.
        rate: target fraction in [0, 1] of each image to hide.
        block_size: block height and width in patches (one int for square blocks).
        min_blocks: fewest blocks hidden per image.
        rounding: one of ``ROUNDINGS``.
        generator: source of randomness; its device is used when ``device`` is ``None``.
        device: device of the mask.

    Shapes:
        output: [B, height, width] (bool)
    """
    check_positive_int("height", height)
    check_positive_int("width", width)
    block_h, block_w = (block_size, block_size) if isinstance(block_size, int) else tuple(block_size)
    check_positive_int("block height", block_h)
    check_positive_int("block width", block_w)
    if height % block_h or width % block_w:
        raise ValueError(
            f"a {height}x{width} patch grid cannot be tiled by {block_h}x{block_w} blocks; "
            "choose a block size that divides the grid"
        )
    grid_h, grid_w = height // block_h, width // block_w
    blocks = span_mask(
        batch_size, grid_h * grid_w, rate, 1, min_spans=min_blocks, rounding=rounding, generator=generator, device=device
    ).view(batch_size, grid_h, grid_w)
    return blocks.repeat_interleave(block_h, dim=1).repeat_interleave(block_w, dim=2)
