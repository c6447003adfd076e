"""Reductions through a precomputed ``SegmentOrder``: the segment kernel, no atomics, no per-call sort."""

from __future__ import annotations

import importlib

import pytest
import torch

from molssl.ops import REDUCTIONS, scatter, segment_order, segment_softmax
from molssl.ops.reference import scatter_reference, softmax_reference
from tests.ops._triton.conftest import (
    CASES,
    DEVICE,
    assert_matches_reference,
    kernels_or_skip,
    make_case,
)

kernels = kernels_or_skip()
dispatch = importlib.import_module("molssl.ops.dispatch")  # where the operations sort an unsorted index


@pytest.fixture
def no_atomics_no_sort(monkeypatch):
    """Make the atomics kernel and the per-call sort unreachable: the order path needs neither."""

    def refuse(*args, **kwargs):
        raise AssertionError("a call with an order must not sort its index again")

    monkeypatch.setattr(kernels, "scatter_reduce", None)
    monkeypatch.setattr(dispatch, "sort_index", refuse)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_with_order_matches_reference(reduce, case):
    src, index, dim_size = make_case(case, torch.float32)
    order = segment_order(index, dim_size)
    assert_matches_reference(
        lambda s: scatter(s, index, dim_size, reduce, order=order, backend="triton"),
        lambda s: scatter_reference(s, index, dim_size, reduce),
        src,
        exact=reduce in ("max", "min"),
    )


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("reduce", ["sum", "max"])
def test_scatter_with_order_accumulates_16_bit_inputs_as_the_reference(reduce, dtype):
    src, index, dim_size = make_case("empty_segments", dtype)
    order = segment_order(index, dim_size)
    assert_matches_reference(
        lambda s: scatter(s, index, dim_size, reduce, order=order, backend="triton"),
        lambda s: scatter_reference(s, index, dim_size, reduce),
        src,
        exact=reduce == "max",
    )


@pytest.mark.parametrize("deterministic", [False, True])
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_with_order_equals_scatter_without_and_never_sorts_again(reduce, deterministic, monkeypatch):
    """Same values and gradients as the per-call paths (atomics, or the deterministic sort), bitwise."""
    src, index, dim_size = make_case("unsorted", torch.float32)
    src.requires_grad_(True)
    grad_out = torch.randn(dim_size, *src.shape[1:], device=DEVICE, generator=torch.Generator().manual_seed(1))
    sort_per_call = scatter(src, index, dim_size, reduce, backend="triton", deterministic=True)
    (grad_per_call,) = torch.autograd.grad(sort_per_call, src, grad_out)
    order = segment_order(index, dim_size)
    monkeypatch.setattr(kernels, "scatter_reduce", None)
    monkeypatch.setattr(dispatch, "sort_index", None)
    out = scatter(src, index, dim_size, reduce, order=order, backend="triton", deterministic=deterministic)
    (grad,) = torch.autograd.grad(out, src, grad_out)
    # the deterministic path sorts and runs the same segment kernel: the order path is that, sorted once
    assert torch.equal(out, sort_per_call) and torch.equal(grad, grad_per_call)


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_order_is_reused_across_calls_and_inputs(reduce, no_atomics_no_sort):
    """One order, many layers: every call over the same index takes it, forward and backward."""
    _, index, dim_size = make_case("many_segments", torch.float32)
    order = segment_order(index, dim_size)
    g = torch.Generator().manual_seed(2)
    for width in (1, 5):
        src = torch.randn(index.numel(), width, generator=g).to(DEVICE).requires_grad_(True)
        out = scatter(src, index, dim_size, reduce, order=order, backend="triton")
        (grad,) = torch.autograd.grad(out.square().sum(), src)
        expected_src = src.detach().clone().requires_grad_(True)
        expected = scatter_reference(expected_src, index, dim_size, reduce)
        (expected_grad,) = torch.autograd.grad(expected.square().sum(), expected_src)
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(grad, expected_grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_with_order_gradcheck_float64(reduce):
    index = torch.tensor([0, 2, 2, 0, 3, 3, 3, 0, 5, 2, 3, 0], device=DEVICE)  # segments 1 and 4 empty
    order = segment_order(index, 6)
    src = torch.randn(12, 3, dtype=torch.float64, device=DEVICE, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda s: scatter(s, index, 6, reduce, order=order, backend="triton"), (src,), fast_mode=True
    )


@pytest.mark.parametrize("case", ["empty_segments", "unsorted", "narrow"])
def test_softmax_with_order_matches_reference_and_the_per_call_sort(case, monkeypatch):
    src, index, dim_size = make_case(case, torch.float32)
    sorted_per_call = segment_softmax(src, index, dim_size, backend="triton")
    order = segment_order(index, dim_size)
    monkeypatch.setattr(dispatch, "sort_index", None)
    assert_matches_reference(
        lambda s: segment_softmax(s, index, dim_size, order=order, backend="triton"),
        lambda s: softmax_reference(s, index, dim_size),
        src,
    )
    assert torch.equal(segment_softmax(src, index, dim_size, order=order, backend="triton"), sorted_per_call)
