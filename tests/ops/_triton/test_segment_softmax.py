"""The segment softmax kernels against the torch reference, with offsets and after a sort."""

from __future__ import annotations

import pytest
import torch

from molssl.ops import segment_softmax, sort_segments
from molssl.ops.reference import softmax_reference
from tests.ops._triton.conftest import (
    CASES,
    DEVICE,
    DTYPES,
    assert_matches_reference,
    kernels_or_skip,
    make_case,
)

kernels_or_skip()


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_softmax_of_unsorted_index_matches_reference(dtype, case):
    src, index, dim_size = make_case(case, dtype)
    assert_matches_reference(
        lambda s: segment_softmax(s, index, dim_size, backend="triton"),
        lambda s: softmax_reference(s, index, dim_size),
        src,
    )


@pytest.mark.parametrize("case", ["empty_segments", "long_segment", "narrow"])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_softmax_with_offsets_matches_reference(dtype, case):
    src, index, dim_size = make_case(case, dtype)
    perm, ptr = sort_segments(index, dim_size)
    assert_matches_reference(
        lambda s: segment_softmax(s, index[perm], dim_size, ptr=ptr, backend="triton"),
        lambda s: softmax_reference(s, index[perm], dim_size),
        src[perm],
    )


def test_softmax_gradcheck_float64():
    index = torch.tensor([0, 2, 2, 0, 3, 3, 3, 0, 5, 2, 3, 0], device=DEVICE)
    src = torch.randn(12, 2, dtype=torch.float64, device=DEVICE, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: segment_softmax(s, index, 6, backend="triton"), (src,), fast_mode=True)


def test_softmax_is_stable_and_gives_minus_infinity_zero_weight():
    inf = float("inf")
    src = torch.tensor([1000.0, 1001.0, -1000.0, -1002.0, 5e4, -inf, -inf, 0.0, -inf], device=DEVICE)
    index = torch.tensor([0, 0, 1, 1, 2, 3, 3, 4, 4], device=DEVICE)
    out = segment_softmax(src, index, 6, backend="triton")
    torch.testing.assert_close(out, softmax_reference(src, index, 6))
    assert out[5:].tolist() == [0.0, 0.0, 1.0, 0.0]


def test_softmax_is_bitwise_reproducible():
    src, index, dim_size = make_case("many_segments", torch.float32)
    src.requires_grad_(True)
    outs = [segment_softmax(src, index, dim_size, backend="triton") for _ in range(3)]
    grad_out = torch.randn_like(outs[0])
    grads = [torch.autograd.grad(o, src, grad_out)[0] for o in outs]
    assert all(torch.equal(outs[0], o) for o in outs) and all(torch.equal(grads[0], g) for g in grads)
