"""OneDNNLinear: same numbers as nn.Linear, same state dict, training untouched."""

from __future__ import annotations

import torch
from torch import nn

from molssl.nn import onednn
from molssl.nn.onednn import ONEDNN_MIN_ROWS, OneDNNLinear, onednn_linear_available, use_onednn_linears


def test_matches_linear_in_inference_and_training():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(30, 60), nn.ReLU(), nn.Linear(60, 7))
    x = torch.randn(ONEDNN_MIN_ROWS + 1, 30)
    with torch.no_grad():
        expected = model(x)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    use_onednn_linears(model)
    assert all(type(m) is OneDNNLinear for m in model if isinstance(m, nn.Linear))
    assert model.state_dict().keys() == state.keys() and all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    with torch.no_grad():
        torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=1e-5)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert model(x).dtype == torch.bfloat16  # autocast still applies (F.linear path)
    # with gradients on, the autograd path is the stock one
    out = model(x).sum()
    out.backward()
    assert model[0].weight.grad is not None and torch.isfinite(model[0].weight.grad).all()


def test_probe_is_boolean():
    assert onednn_linear_available() in (True, False)


def test_small_inputs_take_f_linear(monkeypatch):
    """Below ONEDNN_MIN_ROWS rows oneDNN would build a primitive per new shape: F.linear serves them."""
    calls = []
    real = onednn.F.linear
    monkeypatch.setattr(onednn.F, "linear", lambda *a: calls.append(a[0].shape[0]) or real(*a))
    layer = use_onednn_linears(nn.Sequential(nn.Linear(8, 4)))[0]
    with torch.no_grad():
        small, large = layer(torch.randn(21, 8)), layer(torch.randn(ONEDNN_MIN_ROWS, 8))
    assert small.shape == (21, 4) and large.shape == (ONEDNN_MIN_ROWS, 4)
    assert calls[0] == 21 and (ONEDNN_MIN_ROWS in calls) == (not onednn_linear_available())
