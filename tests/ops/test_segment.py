"""segment (CSR offsets) on the torch reference, and the index <-> offsets helpers."""

from __future__ import annotations

import pytest
import torch

from molssl.ops import REDUCTIONS, ptr_from_index, scatter, segment, sort_segments
from tests.ops.test_scatter import naive_scatter, unsorted_index


@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("shape", [(), (3,), (2, 4)])
def test_segment_of_sorted_rows_matches_naive_loop(reduce, shape):
    index = unsorted_index(40, 9, seed=1).sort().values  # segments 1, 7, 8 empty
    src = torch.randn(40, *shape, generator=torch.Generator().manual_seed(2))
    ptr = ptr_from_index(index, 9)
    out = segment(src, ptr, reduce)
    assert out.shape == (9, *shape)
    torch.testing.assert_close(out, naive_scatter(src, index, 9, reduce))
    assert torch.all(out[[1, 7, 8]] == 0)


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_segment_gradcheck(reduce):
    ptr = torch.tensor([0, 3, 3, 7, 12])
    src = torch.randn(12, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: segment(s, ptr, reduce), (src,))


def test_sorted_rows_reduce_as_the_unsorted_scatter():
    index = unsorted_index(30, 6, seed=3)
    src = torch.randn(30, 4, dtype=torch.float64)
    perm, ptr = sort_segments(index, 6)
    assert torch.equal(index[perm], index.sort(stable=True).values)
    assert torch.equal(perm, torch.sort(index, stable=True).indices)  # ties keep their original order
    for reduce in REDUCTIONS:
        torch.testing.assert_close(segment(src[perm], ptr, reduce), scatter(src, index, 6, reduce))


def test_ptr_from_index_counts_empty_leading_and_trailing_segments():
    assert ptr_from_index(torch.tensor([1, 1, 2, 4, 4, 4]), 7).tolist() == [0, 0, 2, 3, 3, 6, 6, 6]
    assert ptr_from_index(torch.tensor([], dtype=torch.long), 2).tolist() == [0, 0, 0]


def test_segment_without_rows_or_segments():
    assert torch.equal(segment(torch.empty(0, 3), torch.zeros(3, dtype=torch.long), "max"), torch.zeros(2, 3))
    assert segment(torch.empty(0, 3), torch.zeros(1, dtype=torch.long)).shape == (0, 3)


def test_segment_rejects_bad_arguments():
    src = torch.randn(5, 2)
    with pytest.raises(ValueError, match="valid reductions"):
        segment(src, torch.tensor([0, 5]), "median")
    with pytest.raises(ValueError, match="start at 0 and end at the number of rows"):
        segment(src, torch.tensor([0, 4]))
    with pytest.raises(ValueError, match="1-D integer"):
        segment(src, torch.tensor([[0, 5]]))
    with pytest.raises(ValueError, match="non-decreasing"):
        segment(src, torch.tensor([0, 4, 2, 5]))
    with pytest.raises(ValueError, match="at least one dimension"):
        segment(torch.tensor(1.0), torch.tensor([0, 1]))
