"""Exact per-graph random choices over a collated batch: how many items each graph loses, and which.

Every augmentation of ``molssl.augment`` picks "a fraction of each graph's atoms (or bonds)". These
functions do that for all graphs at once, with segment ids instead of a per-graph Python loop:
``ratio_count`` gives the exact number per graph (GraphCL's ``int(n * aug_ratio)``), ``random_ranks``
a uniformly random order of the items inside each graph (``segment_ranks`` any order given by a key),
``choose_per_segment`` the first ``count`` items of that order, and ``choose_fraction`` the two together.

``molssl.ssl.masking.ratio_mask`` draws the same kind of mask for masked modeling but is not used here,
as it differs where the augmentations promise otherwise: it snaps ``rate * n`` within 1e-9 of an
integer before rounding (``0.7 * 90`` counts 63 there, ``int(0.7 * 90) = 62`` here), draws on the
data's device (here on the generator's, as ``Augmentation`` says), takes contiguous segments as ``ptr``
(here any segment ids, e.g. the graphs of candidate bonds), and counts in float64, which MPS lacks.
"""

from __future__ import annotations

import torch
from torch import Tensor


def segment_sizes(segment: Tensor, num_segments: int) -> Tensor:
    """Number of items in each segment, including trailing empty ones (no ``max() + 1`` on the device).

    Shapes:
        segment: [N] -> [num_segments]
    """
    sizes = torch.zeros(num_segments, dtype=torch.long, device=segment.device)
    return sizes.index_add_(0, segment, torch.ones_like(segment))


def ratio_count(sizes: Tensor, ratio: float) -> Tensor:
    """``floor(size * ratio)`` for every segment: GraphCL's ``int(n * aug_ratio)``, computed exactly.

    The product is taken in float64, which rounds exactly as Python's ``int(n * ratio)`` does (the one
    exception is Apple's MPS, which has no float64 and uses float32). With ``ratio < 1`` the count is
    at most ``size - 1``, so a non-empty graph always keeps at least one item.

    Shapes:
        sizes: [S] (long) -> [S] (long)
    """
    dtype = torch.float32 if sizes.device.type == "mps" else torch.float64
    return torch.floor(sizes.to(dtype) * ratio).long()


def _ranks_in_order(segment: Tensor, num_segments: int, order: Tensor) -> Tensor:
    """Rank of every item inside its segment when all items are visited in ``order`` (a permutation)."""
    n = segment.numel()
    device = segment.device
    order = order[torch.sort(segment[order], stable=True).indices]  # [N] grouped by segment, in order inside
    sizes = segment_sizes(segment, num_segments)
    starts = torch.cumsum(sizes, 0) - sizes  # [S]
    ranks = torch.empty(n, dtype=torch.long, device=device)
    ranks[order] = torch.arange(n, device=device) - starts[segment[order]]
    return ranks


def segment_ranks(segment: Tensor, num_segments: int, key: Tensor) -> Tensor:
    """Position of every item when the items of each segment are sorted by ``key`` (0 = smallest).

    Equal keys keep their index order (stable sorts), so the result is deterministic. Segments need
    not be contiguous.

    Shapes:
        segment: [N] (long, values in [0, num_segments)), key: [N] -> [N] (long, in [0, size of its segment))
    """
    return _ranks_in_order(segment, num_segments, torch.sort(key, stable=True).indices)


def random_ranks(segment: Tensor, num_segments: int, generator: torch.Generator | None) -> Tensor:
    """Position of every item in a uniformly random order of its own segment (0 = first), no ties.

    One ``randperm`` over all items, then a stable sort by segment: the items of each segment come
    out in random order. The random numbers are drawn on the generator's device and moved to
    ``segment``'s.

    Shapes:
        segment: [N] (long, values in [0, num_segments)) -> [N] (long, in [0, size of its segment))
    """
    draw_device = generator.device if generator is not None else segment.device
    perm = torch.randperm(segment.numel(), generator=generator, device=draw_device).to(segment.device)
    return _ranks_in_order(segment, num_segments, perm)


def choose_per_segment(
    segment: Tensor, num_segments: int, counts: Tensor, generator: torch.Generator | None
) -> Tensor:
    """Choose exactly ``min(counts[s], size of s)`` items of every segment ``s``, uniformly at random.

    Shapes:
        segment: [N], counts: [num_segments] -> [N] (bool, True = chosen)
    """
    return random_ranks(segment, num_segments, generator) < counts[segment]


def choose_fraction(segment: Tensor, num_segments: int, ratio: float, generator: torch.Generator | None) -> Tensor:
    """Choose exactly ``floor(n * ratio)`` of the ``n`` items of every segment, uniformly at random.

    Shapes:
        segment: [N] (long, values in [0, num_segments)) -> [N] (bool, True = chosen)
    """
    counts = ratio_count(segment_sizes(segment, num_segments), ratio)
    return choose_per_segment(segment, num_segments, counts, generator)


__all__ = [
    "choose_fraction",
    "choose_per_segment",
    "random_ranks",
    "ratio_count",
    "segment_ranks",
    "segment_sizes",
]
