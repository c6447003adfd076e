"""segment_order (the sort done once) and how scatter / segment_softmax validate and use an order."""

from __future__ import annotations

import pytest
import torch

from molssl.ops import (
    REDUCTIONS,
    SegmentOrder,
    scatter,
    segment,
    segment_order,
    segment_softmax,
)


def test_segment_order_groups_rows_by_segment_stably():
    index = torch.tensor([3, 0, 3, 2, 0, 3, 2])  # segments 1 and 4 (trailing) empty
    order = segment_order(index, 5)
    assert isinstance(order, SegmentOrder) and (order.num_rows, order.num_segments) == (7, 5)
    assert order.perm.tolist() == [1, 4, 3, 6, 0, 2, 5]  # each segment's rows in their original order
    assert order.ptr.tolist() == [0, 2, 2, 4, 7, 7]
    perm, ptr = order  # a plain pair
    assert torch.equal(index[perm], torch.tensor([0, 0, 2, 2, 3, 3, 3])) and ptr is order.ptr


def test_segment_order_without_rows_or_segments():
    order = segment_order(torch.zeros(0, dtype=torch.long), 3)
    assert order.perm.numel() == 0 and order.ptr.tolist() == [0, 0, 0, 0]
    assert segment_order(torch.zeros(0, dtype=torch.long), 0).ptr.tolist() == [0]


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_segment_of_the_ordered_rows_equals_scatter(reduce):
    g = torch.Generator().manual_seed(0)
    index = torch.randint(0, 6, (30,), generator=g)
    src = torch.randn(30, 4, generator=g)
    order = segment_order(index, 8)
    torch.testing.assert_close(segment(src[order.perm], order.ptr, reduce), scatter(src, index, 8, reduce))


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_the_reference_accepts_an_order_and_gives_the_same_result(reduce):
    g = torch.Generator().manual_seed(1)
    index = torch.randint(0, 5, (20,), generator=g)
    src = torch.randn(20, 3, generator=g)
    order = segment_order(index, 7)
    with_order = scatter(src, index, 7, reduce, order=order, backend="torch")
    assert torch.equal(with_order, scatter(src, index, 7, reduce, backend="torch"))
    scores = torch.randn(20, 2, generator=g)
    assert torch.equal(
        segment_softmax(scores, index, 7, order=order, backend="torch"), segment_softmax(scores, index, 7)
    )


def test_an_order_that_does_not_fit_is_refused_by_its_shapes():
    index = torch.tensor([1, 0, 1, 2])
    src = torch.randn(4, 2)
    order = segment_order(index, 3)
    with pytest.raises(ValueError, match="segment_order"):
        scatter(src, index, 4, order=order)  # 3 segments for dim_size 4
    with pytest.raises(ValueError, match="segment_order"):
        scatter(src[:3], index[:3], 3, order=order)  # 4 rows for 3
    with pytest.raises(ValueError, match="segment_order"):
        segment_softmax(src, index, 4, order=order)
    with pytest.raises(ValueError, match="not both"):
        scatter(src, index, 3, ptr=order.ptr, order=order)
    with pytest.raises(TypeError, match="SegmentOrder"):
        scatter(src, index, 3, order=tuple(order))
    with pytest.raises(ValueError, match="end at the number of rows"):  # ptr values are checked on CPU
        scatter(src, index, 3, order=SegmentOrder(order.perm, torch.tensor([0, 1, 3, 3])))
    with pytest.raises(ValueError, match="1-D integer"):
        segment_order(index.float(), 3)


def test_order_moves_with_to():
    order = segment_order(torch.tensor([1, 0, 1]), 2)
    moved = order.to("cpu")
    assert isinstance(moved, SegmentOrder) and moved.device == torch.device("cpu")
    assert torch.equal(moved.perm, order.perm) and torch.equal(moved.ptr, order.ptr)
