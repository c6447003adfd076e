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
