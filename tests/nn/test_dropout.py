"""``molssl.nn.dropout``: the uniform-draw CPU mask against its definition and against ``F.dropout``'s statistics."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from molssl.nn.dropout import Dropout, dropout


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_mask_is_the_uniform_draw_and_the_gradient_uses_the_same_mask(dtype):
    """Forward and backward equal the written-out definition with the draws of ``torch.rand_like``."""
    x = torch.randn(50, 7, dtype=dtype, requires_grad=True)
    torch.manual_seed(3)
    out = dropout(x, 0.3, training=True)
    out.backward(torch.arange(350, dtype=dtype).reshape(50, 7))
    torch.manual_seed(3)
    keep = (torch.rand_like(x) >= 0.3).to(dtype)
    assert torch.equal(out, x.detach() * keep * (1 / 0.7))
    assert torch.equal(x.grad, torch.arange(350, dtype=dtype).reshape(50, 7) * keep * (1 / 0.7))


def test_kept_fraction_and_mean_match_torch_dropout():
    """Over 10^6 units the kept fraction is 1 - p and the expectation is kept, as with ``F.dropout``."""
    torch.manual_seed(0)
    x = torch.ones(1000, 1000)
    for p in (0.1, 0.5, 0.9):
        ours, theirs = dropout(x, p, training=True), F.dropout(x, p, training=True)
        for out in (ours, theirs):
            assert abs((out != 0).float().mean().item() - (1 - p)) < 2e-3
            assert abs(out.mean().item() - 1.0) < 2e-2
        assert torch.equal(ours[ours != 0], torch.full_like(ours[ours != 0], 1 / (1 - p)))


def test_identity_in_eval_or_at_zero_and_torch_elsewhere():
    x = torch.randn(20, 4)
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0, training=True) is x
    assert torch.equal(dropout(x, 1.0, training=True), torch.zeros_like(x))
    half = x.to(torch.bfloat16)
    torch.manual_seed(5)
    ours = dropout(half, 0.5, training=True)
    torch.manual_seed(5)
    assert torch.equal(ours, F.dropout(half, 0.5, training=True))  # bf16: F.dropout's own draws


def test_module_follows_train_and_eval():
    layer = Dropout(0.5)
    x = torch.randn(100, 10)
    assert torch.equal(layer.eval()(x), x)
    torch.manual_seed(1)
    trained = layer.train()(x)
    torch.manual_seed(1)
    assert torch.equal(trained, dropout(x, 0.5, training=True))
    assert isinstance(layer, torch.nn.Dropout) and layer.state_dict() == {}
