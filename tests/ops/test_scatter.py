"""scatter and segment_softmax (the torch reference on CPU) against naive per-segment loops; backend selection."""

from __future__ import annotations

import pytest
import torch

from molssl.ops import (
    REDUCTIONS,
    get_backend,
    resolve_backend,
    scatter,
    segment_softmax,
    set_backend,
    use_backend,
)


def naive_scatter(src: torch.Tensor, index: torch.Tensor, dim_size: int, reduce: str) -> torch.Tensor:
    out = []
    for s in range(dim_size):
        rows = src[index == s]
        if rows.size(0) == 0:
            out.append(src.new_zeros(src.shape[1:]))
        elif reduce == "sum":
            out.append(rows.sum(0))
        elif reduce == "mean":
            out.append(rows.mean(0))
        elif reduce == "max":
            out.append(rows.max(0).values)
        else:
            out.append(rows.min(0).values)
    return torch.stack(out) if out else src.new_zeros((0, *src.shape[1:]))


def naive_softmax(src: torch.Tensor, index: torch.Tensor, dim_size: int) -> torch.Tensor:
    out = torch.zeros_like(src)
    for s in range(dim_size):
        mask = index == s
        if mask.any():
            out[mask] = torch.softmax(src[mask], dim=0)
    return out


def unsorted_index(num_rows: int, dim_size: int, seed: int) -> torch.Tensor:
    """Random segment ids that leave segment 1 and the last two segments empty."""
    g = torch.Generator().manual_seed(seed)
    used = torch.tensor([s for s in range(dim_size - 2) if s != 1])
    return used[torch.randint(len(used), (num_rows,), generator=g)]


@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("shape", [(), (3,), (2, 4)])
def test_scatter_matches_naive_loop(reduce, shape):
    dim_size = 9
    index = unsorted_index(40, dim_size, seed=len(shape))
    src = torch.randn(40, *shape, generator=torch.Generator().manual_seed(7))
    out = scatter(src, index, dim_size, reduce=reduce)
    assert out.shape == (dim_size, *shape)
    torch.testing.assert_close(out, naive_scatter(src, index, dim_size, reduce))
    # empty segments, in the middle and trailing, are 0 for every reduction
    assert torch.all(out[[1, dim_size - 2, dim_size - 1]] == 0)


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_of_negative_values_keeps_empty_segments_at_zero(reduce):
    src = -torch.rand(6, 2) - 1.0  # all < -1, so a max that included the initial 0 would be wrong
    index = torch.tensor([0, 0, 2, 2, 2, 0])
    out = scatter(src, index, 4, reduce=reduce)
    torch.testing.assert_close(out, naive_scatter(src, index, 4, reduce))
    assert torch.all(out[0] < -1) and torch.all(out[[1, 3]] == 0)


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_gradcheck(reduce):
    index = unsorted_index(12, 7, seed=3)
    src = torch.randn(12, 3, dtype=torch.float64, requires_grad=True)  # continuous: no ties for max/min
    assert torch.autograd.gradcheck(lambda s: scatter(s, index, 7, reduce=reduce), (src,))


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_backward_matches_naive_loop(reduce):
    index = unsorted_index(30, 8, seed=5)
    src = torch.randn(30, 4, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(8, 4, dtype=torch.float64)
    (grad,) = torch.autograd.grad((scatter(src, index, 8, reduce) * weight).sum(), src)
    (expected,) = torch.autograd.grad((naive_scatter(src, index, 8, reduce) * weight).sum(), src)
    torch.testing.assert_close(grad, expected)


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_without_rows_gives_zeros(reduce):
    out = scatter(torch.empty(0, 5), torch.empty(0, dtype=torch.long), 3, reduce=reduce)
    assert out.shape == (3, 5) and torch.all(out == 0)


def test_scatter_rejects_bad_arguments():
    src, index = torch.randn(4, 2), torch.tensor([0, 1, 1, 0])
    with pytest.raises(ValueError, match="valid reductions: sum, mean, max, min"):
        scatter(src, index, 2, reduce="median")
    with pytest.raises(TypeError):
        scatter(src, index)  # dim_size is required
    with pytest.raises(ValueError, match="dim_size"):
        scatter(src, index, torch.tensor(2))  # a tensor would need a host sync
    with pytest.raises(ValueError, match="rows"):
        scatter(src, index[:3], 2)
    with pytest.raises(ValueError, match="1-D"):
        scatter(src, index.view(2, 2), 2)


@pytest.mark.parametrize("shape", [(), (1,), (3,)])
def test_segment_softmax_matches_naive_loop(shape):
    index = unsorted_index(50, 10, seed=11)
    src = torch.randn(50, *shape, dtype=torch.float64)
    out = segment_softmax(src, index, 10)
    torch.testing.assert_close(out, naive_softmax(src, index, 10))
    sums = scatter(out, index, 10)
    nonempty = torch.bincount(index, minlength=10) > 0
    torch.testing.assert_close(sums[nonempty], torch.ones_like(sums[nonempty]))


def test_segment_softmax_is_stable_for_large_scores():
    src = torch.tensor([1000.0, 1001.0, -1000.0, -1002.0, 5e4])
    index = torch.tensor([0, 0, 1, 1, 2])
    out = segment_softmax(src, index, 4)
    torch.testing.assert_close(out, naive_softmax(src.double(), index, 4).float())
    assert torch.isfinite(out).all()


def test_segment_softmax_gives_minus_infinity_zero_weight():
    src = torch.tensor([0.0, float("-inf"), float("-inf"), float("-inf")])
    out = segment_softmax(src, torch.tensor([0, 0, 1, 1]), 2)
    assert out.tolist() == [1.0, 0.0, 0.0, 0.0]


def test_segment_softmax_gradcheck():
    index = unsorted_index(15, 6, seed=2)
    src = torch.randn(15, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: segment_softmax(s, index, 6), (src,))


def test_scatter_rejects_bad_index_and_offsets():
    src, index = torch.randn(4, 2), torch.tensor([0, 1, 1, 0])
    with pytest.raises(ValueError, match="integer segment ids"):
        scatter(src, index.float(), 2)
    with pytest.raises(ValueError, match="same device"):
        scatter(src, index.to("meta"), 2)
    with pytest.raises(ValueError, match="dim_size \\+ 1"):
        scatter(src, index, 2, ptr=torch.tensor([0, 4]))
    with pytest.raises(ValueError, match="start at 0 and end at the number of rows"):
        scatter(src, index, 2, ptr=torch.tensor([0, 2, 3]))
    with pytest.raises(ValueError, match="1-D integer"):
        scatter(src, index, 2, ptr=torch.tensor([0.0, 2.0, 4.0]))


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_with_offsets_equals_scatter(reduce):
    index = torch.tensor([0, 0, 2, 2, 2, 3])
    src = torch.randn(6, 3)
    ptr = torch.tensor([0, 2, 2, 5, 6, 6])  # segments 1 and 4 empty
    torch.testing.assert_close(scatter(src, index, 5, reduce, ptr=ptr), scatter(src, index, 5, reduce))


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_extreme_of_exactly_zero_gets_the_whole_gradient(reduce):
    # torch's scatter_reduce backward counts its initial value as a tie when it equals the result;
    # after a ReLU, maxima of exactly 0 are common, and must not get half a gradient
    src = torch.tensor([[-1.0, 0.0], [0.0, -2.0]] if reduce == "max" else [[1.0, 0.0], [0.0, 2.0]], requires_grad=True)
    out = scatter(src, torch.tensor([0, 0]), 2, reduce)
    (grad,) = torch.autograd.grad(out.sum(), src)
    assert grad.tolist() == [[0.0, 1.0], [1.0, 0.0]]


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_16_bit_inputs_are_accumulated_in_float32(reduce, dtype):
    # in bfloat16, 256 + 1 rounds back to 256: a bfloat16 running sum of 300 ones stops at 256
    src = torch.ones(300, 2, dtype=dtype)
    out = scatter(src, torch.zeros(300, dtype=torch.long), 1, reduce)
    assert out.dtype == dtype and out.tolist() == [[300.0, 300.0] if reduce == "sum" else [1.0, 1.0]]


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_nan_propagates(reduce):
    src = torch.tensor([[1.0], [float("nan")], [2.0]])
    out = scatter(src, torch.tensor([0, 0, 1]), 3, reduce)
    assert out[0].isnan().all() and out[1].item() == 2.0 and out[2].item() == 0.0


# backend selection (the Triton side is tested in tests/ops/_triton)


def test_auto_and_torch_run_the_reference_on_cpu():
    x = torch.zeros(3)
    assert resolve_backend(x) == resolve_backend(x, "auto") == resolve_backend(x, "torch") == "torch"
    with use_backend("torch", deterministic=True):
        assert get_backend() == ("torch", True)
        assert resolve_backend(x, "auto") == "torch"
    assert get_backend() == ("auto", None)


def test_backend_settings_are_validated_and_restored():
    with pytest.raises(ValueError, match="valid backends: auto, torch, triton"):
        set_backend("cuda")
    with pytest.raises(ValueError, match="valid backends"):
        scatter(torch.zeros(2), torch.tensor([0, 1]), 2, backend="fast")
    with pytest.raises(RuntimeError, match="boom"), use_backend("torch"):
        raise RuntimeError("boom")
    assert get_backend() == ("auto", None)


def test_forcing_triton_fails_loudly_when_the_kernels_cannot_run(monkeypatch):
    import importlib
    import sys
    from types import SimpleNamespace

    dispatch = importlib.import_module("molssl.ops.dispatch")

    with pytest.raises(TypeError, match="float32"):
        resolve_backend(torch.zeros(3, dtype=torch.long), "triton")
    monkeypatch.setattr(dispatch, "_TRITON", None)
    monkeypatch.setitem(sys.modules, "molssl.ops._triton", None)  # as if triton were not installed
    with pytest.raises(ImportError, match=r"pip install 'molssl\[gpu\]'"):
        scatter(torch.zeros(3), torch.tensor([0, 1, 1]), 2, backend="triton")
    monkeypatch.setattr(dispatch, "_TRITON", SimpleNamespace(INTERPRETED=False))  # compiled for a GPU
    with pytest.raises(RuntimeError, match="TRITON_INTERPRET=1"):
        scatter(torch.zeros(3), torch.tensor([0, 1, 1]), 2, backend="triton")


def test_auto_falls_back_with_a_warning_when_the_kernels_do_not_import(monkeypatch):
    import importlib
    import sys

    dispatch = importlib.import_module("molssl.ops.dispatch")
    monkeypatch.setattr(dispatch, "_TRITON", None)
    monkeypatch.setitem(sys.modules, "molssl.ops._triton", None)  # as if triton failed to import
    dispatch._kernels_importable.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="falls back to the torch backend"):
            assert dispatch._kernels_importable() is False
    finally:
        dispatch._kernels_importable.cache_clear()


def test_deterministic_defaults_to_torchs_setting():
    from molssl.ops.dispatch import resolve_deterministic

    assert resolve_deterministic(None) is False and resolve_deterministic(True) is True
    torch.use_deterministic_algorithms(True)
    try:
        assert resolve_deterministic(None) is True and resolve_deterministic(False) is False
    finally:
        torch.use_deterministic_algorithms(False)


def test_environment_variables_set_the_initial_backend():
    import os
    import subprocess
    import sys

    code = "import molssl.ops as o; print(o.get_backend())"
    env = {**os.environ, "MOLSSL_OPS_BACKEND": "torch", "MOLSSL_OPS_DETERMINISTIC": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "('torch', True)"
    env["MOLSSL_OPS_BACKEND"] = "gpu"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "valid backends: auto, torch, triton" in done.stderr
