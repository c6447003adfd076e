"""Exact per-graph counts and uniform per-graph choices."""

from __future__ import annotations

import pytest
import torch

from molssl.augment import AttrMask, EdgePerturb, NodeDrop
from molssl.augment.sampling import (
    choose_fraction,
    choose_per_segment,
    random_ranks,
    ratio_count,
    segment_ranks,
)
from tests.augment.conftest import generator


@pytest.mark.parametrize("ratio", [0.0, 0.1, 0.15, 0.2, 0.3, 0.7, 0.9, 0.999])
def test_ratio_count_is_graphcl_int_of_product(ratio):
    sizes = torch.arange(0, 500)
    expected = torch.tensor([int(n * ratio) for n in range(500)])
    assert torch.equal(ratio_count(sizes, ratio), expected)
    # below 1 a non-empty graph always keeps something
    assert bool((ratio_count(sizes[1:], ratio) <= sizes[1:] - 1).all())


def test_choose_per_segment_exact_counts_unsorted_segments_and_empty_ones():
    g = generator(0)
    segment = torch.tensor([2, 0, 2, 2, 0, 4, 2, 4, 4, 4, 4])  # segments 1 and 3 (and 5) empty
    counts = torch.tensor([1, 3, 4, 2, 2, 1])
    chosen = choose_per_segment(segment, 6, counts, g)
    per_segment = torch.bincount(segment[chosen], minlength=6)
    assert per_segment.tolist() == [1, 0, 4, 0, 2, 0]  # min(count, size)


@pytest.mark.parametrize("ratio", [0.2, 0.7])
def test_choose_fraction_chooses_int_n_ratio_of_every_unsorted_segment(ratio):
    # sizes 0..120 in shuffled order; 0.7 * 90 = 62.99999999999999 chooses 62, as GraphCL's int()
    sizes = torch.arange(121)
    segment = torch.repeat_interleave(torch.arange(121), sizes)
    segment = segment[torch.randperm(segment.numel(), generator=generator(5))]
    chosen = choose_fraction(segment, 123, ratio, generator(6))  # two trailing empty segments
    expected = [int(n * ratio) for n in range(121)] + [0, 0]
    assert torch.bincount(segment[chosen], minlength=123).tolist() == expected


def test_random_ranks_are_a_permutation_inside_every_segment():
    segment = torch.randint(0, 7, (200,), generator=generator(1))
    ranks = random_ranks(segment, 9, generator(2))
    for s in range(9):
        inside = ranks[segment == s]
        assert sorted(inside.tolist()) == list(range(inside.numel()))


def test_random_ranks_are_uniform():
    # 3000 segments of 3 items: each item is first in about a third of them
    segment = torch.arange(3000).repeat_interleave(3)
    ranks = random_ranks(segment, 3000, generator(3)).view(3000, 3)
    first = (ranks == 0).float().mean(dim=0)
    assert torch.allclose(first, torch.full((3,), 1 / 3), atol=0.04)


def test_segment_ranks_breaks_ties_by_index():
    segment = torch.tensor([0, 1, 0, 0, 1])
    key = torch.tensor([5, 2, 5, 1, 2])
    assert segment_ranks(segment, 2, key).tolist() == [1, 0, 2, 0, 1]


def test_same_seed_same_choice_other_seed_other_choice():
    segment = torch.arange(50).repeat_interleave(8)
    counts = torch.full((50,), 3)
    a = choose_per_segment(segment, 50, counts, generator(7))
    b = choose_per_segment(segment, 50, counts, generator(7))
    c = choose_per_segment(segment, 50, counts, generator(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, True, "0.2", None])
def test_every_ratio_outside_0_1_is_rejected(bad):
    for build in (lambda: NodeDrop(ratio=bad), lambda: AttrMask(mask_token=(1, 0), ratio=bad),
                  lambda: EdgePerturb(ratio=bad), lambda: EdgePerturb(add_ratio=bad)):  # fmt: skip
        with pytest.raises(ValueError, match=r"ratio must be a number in \[0, 1\)"):
            build()
