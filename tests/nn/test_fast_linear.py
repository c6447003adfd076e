"""fast_linear: the oneDNN/MKL training path against F.linear, and its fallbacks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import molssl.nn.fast_linear as fast_linear
from molssl.nn.fast_linear import fast_path_applies, linear, run_mlp
from molssl.nn.onednn import onednn_linear_available

needs_onednn = pytest.mark.skipif(not onednn_linear_available(), reason="oneDNN linear op not available here")


def grads(fn, *tensors, grad):
    out = fn(*tensors)
    return (out, *torch.autograd.grad(out, tensors, grad))


@needs_onednn
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("with_bias", [False, True])
def test_matches_f_linear_values_and_gradients(relu, with_bias):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(fast_linear.MIN_ROWS + 3, 30, generator=g, requires_grad=True)
    weight = torch.randn(45, 30, generator=g, requires_grad=True)
    bias = torch.randn(45, generator=g, requires_grad=True) if with_bias else None
    grad = torch.randn(fast_linear.MIN_ROWS + 3, 45, generator=g)
    inputs = (x, weight) + ((bias,) if with_bias else ())

    def fast(x, w, b=None):
        return linear(x, w, b, relu=relu)

    def ref(x, w, b=None):
        out = F.linear(x, w, b)
        return F.relu(out) if relu else out

    got, want = grads(fast, *inputs, grad=grad), grads(ref, *inputs, grad=grad)
    assert "LinearFunction" in type(got[0].grad_fn).__name__  # the fast path really ran
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@needs_onednn
def test_repeatable_bitwise():
    g = torch.Generator().manual_seed(1)
    x, w, b = torch.randn(fast_linear.MIN_ROWS, 64, generator=g), torch.randn(32, 64, generator=g), torch.randn(32, generator=g)
    outs = []
    for _ in range(2):
        w1 = w.clone().requires_grad_(True)
        out = linear(x, w1, b, relu=True)
        out.square().sum().backward()
        outs.append((out, w1.grad))
    assert all(torch.equal(a, b) for a, b in zip(*outs))


def test_falls_back_to_f_linear_for_few_rows_without_the_op_under_autocast_and_for_float64(monkeypatch):
    small = torch.randn(fast_linear.MIN_ROWS - 1, 4, requires_grad=True)
    assert "LinearFunction" not in type(linear(small, torch.randn(3, 4)).grad_fn).__name__
    x, w = torch.randn(fast_linear.MIN_ROWS, 4, requires_grad=True), torch.randn(3, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not fast_path_applies(x)
        assert linear(x, w, relu=True).dtype == torch.bfloat16  # autocast's bf16 product
    x64 = x.detach().double().requires_grad_(True)
    out = linear(x64, w.double(), relu=True)
    assert out.dtype == torch.float64 and torch.equal(out, F.relu(F.linear(x64, w.double())))
    monkeypatch.setattr(fast_linear, "onednn_linear_available", lambda: False)  # a PyTorch without the op
    assert not fast_path_applies(x)
    out = linear(x, w, relu=True)
    assert "LinearFunction" not in type(out.grad_fn).__name__
    assert torch.equal(out, F.relu(F.linear(x, w)))


@pytest.mark.parametrize("form", ["hu", "ogb"])
def test_run_mlp_equals_the_modules(form):
    torch.manual_seed(0)
    if form == "hu":
        mlp = nn.Sequential(nn.Linear(12, 24), nn.ReLU(), nn.Linear(24, 12))
    else:
        mlp = nn.Sequential(nn.Linear(12, 24), nn.BatchNorm1d(24), nn.ReLU(), nn.Linear(24, 12))
    x = torch.randn(fast_linear.MIN_ROWS + 1, 12)
    torch.testing.assert_close(run_mlp(mlp, x), mlp(x), rtol=1e-5, atol=1e-5)
    mlp.eval()
    torch.testing.assert_close(run_mlp(mlp, x), mlp(x), rtol=1e-5, atol=1e-5)
