"""Masks: exact counts per segment and per row for fixed seeds, at least one per segment, reproducibility."""

from __future__ import annotations

import math

import pytest
import torch

from molssl.ssl.masking import (
    block_mask,
    random_mask,
    ratio_mask,
    segment_mask_counts,
    span_mask,
)

# molecules of 1, 3, 0 (empty), 7, 20, 2 and 100 atoms
SIZES = [1, 3, 0, 7, 20, 2, 100]
PTR = torch.tensor([0, 1, 4, 4, 11, 31, 33, 133])


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def expected_count(n: int, rate: float, rounding: str, min_count: int) -> int:
    x = round(rate * n, 9)  # the 1e-9 snap, e.g. 0.07 * 100 = 7.000000000000001
    value = {"round": math.floor(x + 0.5), "ceil": math.ceil(x), "floor": math.floor(x)}[rounding]
    return min(max(value, min_count), n)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("rate", [0.0, 0.07, 0.15, 0.25, 0.5, 1.0])
@pytest.mark.parametrize("rounding", ["round", "ceil", "floor"])
def test_ratio_mask_exact_counts_per_segment(seed, rate, rounding):
    mask = ratio_mask(PTR, rate, num_elements=133, rounding=rounding, generator=gen(seed))
    assert mask.shape == (133,) and mask.dtype == torch.bool
    for s, n in enumerate(SIZES):
        count = int(mask[PTR[s] : PTR[s + 1]].sum())
        assert count == expected_count(n, rate, rounding, 1), (s, n)
        assert n == 0 or count >= 1


def test_ratio_mask_known_counts():
    # half up: 0.25 * 2 = 0.5 -> 1
    assert segment_mask_counts(torch.tensor(SIZES), 0.25).tolist() == [1, 1, 0, 2, 5, 1, 25]
    # floating point: 0.07 * 100 = 7.000000000000001 and 0.29 * 100 = 28.999999999999996
    assert segment_mask_counts(torch.tensor([100]), 0.07, rounding="ceil").tolist() == [7]
    assert segment_mask_counts(torch.tensor([100]), 0.29, rounding="floor").tolist() == [29]
    assert segment_mask_counts(torch.tensor([5, 0]), 0.0, min_count=0).tolist() == [0, 0]
    assert segment_mask_counts(torch.tensor([5, 1]), 0.1, min_count=3).tolist() == [3, 1]


def test_ratio_mask_fixed_seed_is_reproducible_and_seeds_differ():
    a = ratio_mask(PTR, 0.3, generator=gen(7))
    b = ratio_mask(PTR, 0.3, generator=gen(7))
    assert torch.equal(a, b)
    assert torch.equal(a, ratio_mask(PTR, 0.3, num_elements=133, generator=gen(7)))
    assert not all(torch.equal(a, ratio_mask(PTR, 0.3, generator=gen(s))) for s in range(8, 12))


def test_ratio_mask_is_uniform_within_each_segment():
    ptr = torch.tensor([0, 4, 10])
    draws = torch.stack([ratio_mask(ptr, 0.5, generator=gen(s)) for s in range(1500)]).double()
    frequency = draws.mean(0)
    # 2 of 4 and 3 of 6 elements: every element hidden half of the time
    assert torch.allclose(frequency, torch.full((10,), 0.5, dtype=torch.float64), atol=0.06)


def test_ratio_mask_many_segments_and_edge_cases():
    sizes = torch.randint(0, 40, (3000,), generator=gen(0))
    ptr = torch.cat([torch.zeros(1, dtype=torch.long), sizes.cumsum(0)])
    mask = ratio_mask(ptr, 0.15, num_elements=int(ptr[-1]), generator=gen(1))
    segment = torch.repeat_interleave(torch.arange(3000), sizes)
    per_segment = torch.zeros(3000, dtype=torch.long).index_add_(0, segment, mask.long())
    assert torch.equal(per_segment, segment_mask_counts(sizes, 0.15))
    assert ratio_mask(torch.tensor([0]), 0.5).shape == (0,)
    assert ratio_mask(torch.tensor([0, 0, 0]), 0.5).shape == (0,)
    assert ratio_mask(PTR.int(), 1.0).all()


def test_ratio_mask_validation():
    with pytest.raises(ValueError, match="ptr must be a 1-D integer"):
        ratio_mask(torch.tensor([0.0, 2.0]), 0.5)
    with pytest.raises(ValueError, match="rate"):
        ratio_mask(PTR, 1.5)
    with pytest.raises(ValueError, match="valid roundings"):
        ratio_mask(PTR, 0.5, rounding="nearest")
    with pytest.raises(ValueError, match="min_count"):
        ratio_mask(PTR, 0.5, min_count=-1)


def test_random_mask():
    a = random_mask((200, 50), 0.3, generator=gen(0))
    assert a.shape == (200, 50) and a.dtype == torch.bool
    assert torch.equal(a, random_mask((200, 50), 0.3, generator=gen(0)))
    assert abs(a.double().mean().item() - 0.3) < 0.02
    assert not random_mask(10, 0.0).any() and random_mask(10, 1.0).all()


def runs(row: list[bool]) -> list[int]:
    lengths, current = [], 0
    for hidden in row + [False]:
        if hidden:
            current += 1
        elif current:
            lengths.append(current)
            current = 0
    return lengths


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("length", "rate", "span", "spans"), [(20, 0.3, 3, 2), (50, 0.5, 5, 5), (10, 0.05, 4, 1), (12, 1.0, 4, 3), (9, 0.4, 1, 4)])
def test_span_mask_exact_contiguous_spans(seed, length, rate, span, spans):
    mask = span_mask(6, length, rate, span, generator=gen(seed))
    assert mask.shape == (6, length)
    assert mask.sum(1).tolist() == [spans * span] * 6
    for row in mask.tolist():
        assert all(r % span == 0 for r in runs(row))  # spans never overlap; touching ones make longer runs
    assert torch.equal(mask, span_mask(6, length, rate, span, generator=gen(seed)))


def test_span_mask_reaches_every_position():
    hits = torch.stack([span_mask(1, 11, 0.3, 3, generator=gen(s))[0] for s in range(300)]).any(0)
    assert hits.all()


def test_span_mask_validation_and_zero_spans():
    assert not span_mask(2, 10, 0.0, 2, min_spans=0).any()
    assert span_mask(2, 10, 0.0, 2).sum(1).tolist() == [2, 2]  # min_spans=1
    with pytest.raises(ValueError, match="exceeds the sequence length"):
        span_mask(2, 4, 0.5, 5)
    with pytest.raises(ValueError, match="span_length"):
        span_mask(2, 4, 0.5, 0)


@pytest.mark.parametrize("seed", range(3))
def test_block_mask_exact_blocks(seed):
    mask = block_mask(4, 8, 12, 0.25, (2, 3), generator=gen(seed))  # a 4 x 4 grid of 2 x 3 blocks
    assert mask.shape == (4, 8, 12)
    assert mask.sum((1, 2)).tolist() == [4 * 6] * 4  # 4 of 16 blocks of 6 patches
    blocks = mask.view(4, 4, 2, 4, 3)
    assert torch.equal(blocks.all(2).all(3), blocks.any(2).any(3))  # each block hidden whole or not at all
    assert torch.equal(mask, block_mask(4, 8, 12, 0.25, (2, 3), generator=gen(seed)))
    patches = block_mask(3, 14, 14, 0.75, generator=gen(seed))  # MAE: 147 of 196 patches
    assert patches.sum((1, 2)).tolist() == [147] * 3


def test_block_mask_validation():
    with pytest.raises(ValueError, match="cannot be tiled"):
        block_mask(1, 7, 8, 0.5, 2)
