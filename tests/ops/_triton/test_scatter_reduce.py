"""The atomic scatter kernels (unsorted index, fast mode) against the torch reference."""

from __future__ import annotations

import pytest
import torch

from molssl.ops import REDUCTIONS, scatter
from molssl.ops.reference import scatter_reference
from tests.ops._triton.conftest import (
    CASES,
    DEVICE,
    DTYPES,
    assert_matches_reference,
    kernels_or_skip,
    make_case,
)

kernels = kernels_or_skip()


def atomic_scatter(src, index, dim_size, reduce):
    return scatter(src, index, dim_size, reduce, backend="triton", deterministic=False)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_atomic_scatter_matches_reference(reduce, dtype, case, monkeypatch):
    src, index, dim_size = make_case(case, dtype)
    monkeypatch.setattr(kernels, "segment_reduce", None)  # the atomic kernels, not a sort, must run
    assert_matches_reference(
        lambda s: atomic_scatter(s, index, dim_size, reduce),
        lambda s: scatter_reference(s, index, dim_size, reduce),
        src,
        exact=reduce in ("max", "min"),
    )


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_atomic_max_min_are_deterministic_and_share_ties_evenly(reduce):
    # integers: many exact ties; the result and the tie counts are order-independent
    g = torch.Generator().manual_seed(0)
    src = torch.randint(-3, 4, (200, 3), generator=g).float().to(DEVICE)
    index = torch.randint(0, 10, (200,), generator=g).to(DEVICE)
    assert_matches_reference(
        lambda s: atomic_scatter(s, index, 12, reduce),
        lambda s: scatter_reference(s, index, 12, reduce),
        src,
        exact=True,
    )
    src.requires_grad_(True)
    first = atomic_scatter(src, index, 12, reduce)
    again = atomic_scatter(src, index, 12, reduce)
    assert torch.equal(first, again)
    grad_out = torch.randn_like(first)
    assert torch.equal(torch.autograd.grad(first, src, grad_out)[0], torch.autograd.grad(again, src, grad_out)[0])


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_nan_of_either_sign_and_infinities_propagate_as_in_torch(reduce):
    nan, inf = float("nan"), float("inf")
    src = torch.tensor([[1.0, -inf], [nan, -inf], [2.0, 5.0], [-inf, inf], [-nan, 1.0], [-2.0, 0.0]], device=DEVICE)
    index = torch.tensor([0, 0, 1, 1, 2, 2], device=DEVICE)
    out = atomic_scatter(src, index, 4, reduce)
    torch.testing.assert_close(out, scatter_reference(src, index, 4, reduce), equal_nan=True)
    assert out[0, 0].isnan() and out[2, 0].isnan()
    assert torch.all(out[3] == 0)


def test_non_contiguous_int32_index_and_transposed_src():
    # edge_index[1] of a collated batch is a strided view; src may be a transposed matrix
    g = torch.Generator().manual_seed(0)
    edge_index = torch.randint(0, 9, (30, 2), generator=g).t().to(DEVICE)  # [2, 30], not contiguous rows
    src = torch.randn(4, 30, generator=g).to(DEVICE).t()  # [30, 4], column-major
    assert not edge_index[1].is_contiguous() and not src.is_contiguous()
    for reduce in REDUCTIONS:
        expected = scatter_reference(src, edge_index[1], 9, reduce)
        torch.testing.assert_close(atomic_scatter(src, edge_index[1], 9, reduce), expected)
        torch.testing.assert_close(atomic_scatter(src, edge_index[1].int(), 9, reduce), expected)


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_rows_outside_the_segments_are_masked_out(reduce):
    # no check (it would cost a host sync), but no write out of bounds: such rows reduce nowhere
    g = torch.Generator().manual_seed(0)
    src = torch.randn(8, 3, generator=g).to(DEVICE).requires_grad_(True)
    index = torch.tensor([0, 2, -1, 1, 3, 2, 7, 0], device=DEVICE)
    inside = (index >= 0) & (index < 3)
    out = atomic_scatter(src, index, 3, reduce)
    expected = scatter_reference(src.detach()[inside], index[inside], 3, reduce)
    torch.testing.assert_close(out.detach(), expected)
    (grad,) = torch.autograd.grad(out.sum(), src)
    assert torch.all(grad[~inside] == 0) and torch.all(grad[inside].sum(0) > 0)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_atomic_scatter_on_molecular_messages(reduce, dtype):
    """Message-sized: 2,000 atoms, 4,300 directed bonds, 300 features."""
    g = torch.Generator().manual_seed(0)
    index = torch.randint(0, 2000, (4300,), generator=g).to(DEVICE)
    src = torch.randn(4300, 300, generator=g, dtype=torch.float64).to(dtype).to(DEVICE)
    assert_matches_reference(
        lambda s: atomic_scatter(s, index, 2000, reduce),
        lambda s: scatter_reference(s, index, 2000, reduce),
        src,
        exact=reduce in ("max", "min"),
    )
