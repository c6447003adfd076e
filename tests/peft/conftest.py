"""A small non-graph encoder: PEFT must work on any torch module that says where its layers end."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from molssl.peft import PeftSites


class TokenEncoder(nn.Module):
    """Embedding -> 2 x (Linear, LayerNorm, GELU, Dropout): a stand-in for a text/image encoder.

    Shapes:
        tokens: [B, S] (long) -> [B, S, D]
    """

    def __init__(self, vocab: int = 11, dim: int = 8) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim)) for _ in range(2))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(2))
        self.dropout = nn.Dropout(0.1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.embed(tokens)
        for block, norm in zip(self.blocks, self.norms):
            h = self.dropout(norm(h + block(h)))
        return h


SITES = PeftSites(layer_outputs=("norms.0", "norms.1"), layer_dims=(8, 8), input_features="embed", input_dim=8)


@pytest.fixture
def encoder() -> TokenEncoder:
    torch.manual_seed(0)
    return TokenEncoder().eval()


@pytest.fixture
def tokens() -> torch.Tensor:
    return torch.randint(0, 11, (3, 5), generator=torch.Generator().manual_seed(1))


def assert_trains_only_its_parameters(model: nn.Module, method: str, batch: object, is_norm) -> None:
    """After ``set_trainable(model, method)`` and one backward pass: the pretrained encoder weights are frozen
    (but BitFit's biases and the norms ``is_norm(name)`` names), everything else trains, and both the head and
    some encoder-side parameters receive gradients."""
    from molssl.tasks.model import set_trainable

    set_trainable(model, method)
    model.train()
    model(batch).sum().backward()
    for name, p in model.named_parameters():
        base = name.startswith("encoder.") and not name.startswith("encoder.peft.")
        expected = (name.endswith(".bias") or is_norm(name)) if method == "bitfit" and base else not base
        assert p.requires_grad == expected, name
        if not expected:
            assert p.grad is None, name
    moved = [n for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0]
    assert any(n.startswith("head.") for n in moved) and any(n.startswith("encoder.") for n in moved)


def assert_merged_lora_predicts_the_same(model: nn.Module, batch: object, merged_layers: int) -> None:
    """With non-zero LoRA factors, a copy of ``model`` whose ``merged_layers`` updates are folded into the weights
    predicts what the model does (to float rounding), and merging the copy leaves the model alone."""
    import copy

    from molssl.peft import get_peft, merge_lora

    with torch.no_grad():
        for p in get_peft(model.encoder).parameters():
            p.add_(0.2 * torch.randn_like(p))
    adapted = model(batch)
    merged = copy.deepcopy(model)
    assert merge_lora(merged.encoder) == merged_layers
    torch.testing.assert_close(merged(batch), adapted, rtol=1e-5, atol=1e-5)
    assert torch.equal(model(batch), adapted)
