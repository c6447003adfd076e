"""The CSR segment kernels against the torch reference: given offsets, and after a sort (deterministic)."""

from __future__ import annotations

import pytest
import torch

from molssl.ops import REDUCTIONS, ptr_from_index, scatter, segment, sort_segments
from molssl.ops.reference import scatter_reference, segment_reference
from tests.ops._triton.conftest import (
    CASES,
    DEVICE,
    DTYPES,
    TOLERANCE,
    assert_matches_reference,
    kernels_or_skip,
    make_case,
)

kernels_or_skip()


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_segment_with_offsets_matches_reference(reduce, dtype, case):
    src, index, dim_size = make_case(case, dtype)
    perm, ptr = sort_segments(index, dim_size)
    assert_matches_reference(
        lambda s: segment(s, ptr, reduce, backend="triton"),
        lambda s: segment_reference(s, ptr, reduce),
        src[perm],  # rows of each segment contiguous, as the nodes of each graph in a PyG batch
        exact=reduce in ("max", "min"),
    )


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_with_offsets_runs_the_segment_kernel(reduce, monkeypatch):
    """How the readouts pass ``batch.ptr``: no atomics, no sort."""
    src, index, dim_size = make_case("empty_segments", torch.float32)
    perm, ptr = sort_segments(index, dim_size)
    kernels = kernels_or_skip()
    monkeypatch.setattr(kernels, "scatter_reduce", None)  # must not be reached
    assert_matches_reference(
        lambda s: scatter(s, index[perm], dim_size, reduce, ptr=ptr, backend="triton"),
        lambda s: scatter_reference(s, index[perm], dim_size, reduce),
        src[perm],
        exact=reduce in ("max", "min"),
    )


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_deterministic_scatter_sorts_and_matches_reference(reduce, dtype, case):
    src, index, dim_size = make_case(case, dtype)
    assert_matches_reference(
        lambda s: scatter(s, index, dim_size, reduce, backend="triton", deterministic=True),
        lambda s: scatter_reference(s, index, dim_size, reduce),
        src,
    )


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_deterministic_scatter_is_bitwise_reproducible_and_equals_the_presorted_segment(reduce):
    src, index, dim_size = make_case("many_segments", torch.float32)
    src.requires_grad_(True)
    grad_out = torch.randn(dim_size, *src.shape[1:], device=DEVICE)
    outs, grads = [], []
    for _ in range(3):
        out = scatter(src, index, dim_size, reduce, backend="triton", deterministic=True)
        outs.append(out)
        grads.append(torch.autograd.grad(out, src, grad_out)[0])
    assert all(torch.equal(outs[0], o) for o in outs) and all(torch.equal(grads[0], g) for g in grads)
    # the stable sort keeps each segment's rows in their original order, so the result is exactly the
    # segment reduction of the presorted rows
    perm, ptr = sort_segments(index, dim_size)
    assert torch.equal(outs[0], segment(src.detach()[perm], ptr, reduce, backend="triton"))


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_segment_gradcheck_float64(reduce):
    index = torch.tensor([0, 2, 2, 0, 3, 3, 3, 0, 5, 2, 3, 0], device=DEVICE)  # segments 1 and 4 empty
    _, ptr = sort_segments(index, 6)
    src = torch.randn(12, 3, dtype=torch.float64, device=DEVICE, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: segment(s, ptr, reduce, backend="triton"), (src,), fast_mode=True)
    # float64 scatter takes the (sorted) segment kernel too
    assert torch.autograd.gradcheck(lambda s: scatter(s, index, 6, reduce, backend="triton"), (src,), fast_mode=True)


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_ties_share_the_gradient_evenly(reduce):
    src = torch.tensor([[1.0, 2.0], [3.0, 2.0], [3.0, 0.0], [-1.0, -1.0], [-1.0, -1.0]], device=DEVICE)
    ptr = torch.tensor([0, 3, 5], device=DEVICE)
    assert_matches_reference(
        lambda s: segment(s, ptr, reduce, backend="triton"),
        lambda s: segment_reference(s, ptr, reduce),
        src,
        exact=True,
    )


@pytest.mark.filterwarnings("ignore:All-NaN slice:RuntimeWarning")  # numpy, under the interpreter
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_nan_and_infinity_propagate_as_in_torch(reduce):
    nan, inf = float("nan"), float("inf")
    src = torch.tensor([[1.0, -inf], [nan, -inf], [2.0, 5.0], [-inf, inf], [-nan, 1.0]], device=DEVICE)
    ptr = torch.tensor([0, 2, 4, 5], device=DEVICE)
    out = segment(src, ptr, reduce, backend="triton")
    torch.testing.assert_close(out, segment_reference(src, ptr, reduce), equal_nan=True)
    assert out[0, 0].isnan() and out[2, 0].isnan()


@pytest.mark.parametrize("path", ["atomic", "sorted", "offsets"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_16_bit_inputs_are_accumulated_in_float32(reduce, dtype, path):
    # 3,000 rows of 1.125: a 16-bit running sum goes wrong past 2,048, where 2,048 + 1.125 rounds to
    # 2,048 (bfloat16) or 2,050 (float16); the float32 sum is exact and is rounded once
    src = torch.full((3000, 2), 1.125, dtype=dtype, device=DEVICE)
    index = torch.zeros(3000, dtype=torch.long, device=DEVICE)
    ptr = torch.tensor([0, 3000], device=DEVICE)
    options = {"atomic": {"deterministic": False}, "sorted": {"deterministic": True}, "offsets": {"ptr": ptr}}[path]
    out = scatter(src, index, 1, reduce, backend="triton", **options)
    expected = 3375.0 if reduce == "sum" else 1.125
    assert out.dtype == dtype
    # the interpreter truncates float32 -> bfloat16 where GPUs round to nearest: one unit in the last place
    torch.testing.assert_close(out, torch.full((1, 2), expected, device=DEVICE).to(dtype), **TOLERANCE[dtype])


def test_ptr_from_index_handles_empty_leading_and_trailing_segments():
    index = torch.tensor([1, 1, 2, 4, 4, 4], device=DEVICE)
    assert ptr_from_index(index, 7).tolist() == [0, 0, 2, 3, 3, 6, 6, 6]


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_segment_on_a_molecular_batch(reduce, dtype):
    """Pooling-sized: 256 graphs of 5 to 45 atoms, 300 features."""
    g = torch.Generator().manual_seed(0)
    sizes = torch.randint(5, 46, (256,), generator=g)
    ptr = torch.cat([torch.zeros(1, dtype=torch.long), sizes.cumsum(0)]).to(DEVICE)
    src = torch.randn(int(sizes.sum()), 300, generator=g, dtype=torch.float64).to(dtype).to(DEVICE)
    assert_matches_reference(
        lambda s: segment(s, ptr, reduce, backend="triton"),
        lambda s: segment_reference(s, ptr, reduce),
        src,
        exact=reduce in ("max", "min"),
    )
